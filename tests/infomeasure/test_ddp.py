"""Probes under torch.distributed: two gloo processes on the CPU give the numbers of one process."""

import json
import os

import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")

from infomeasure import _ddp
from infomeasure.probes import Probes

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch built without torch.distributed")

N_PROBE = 123  # odd: ranks get 62 and 61 rows (uneven counts are padded in the gather)
# prediction_entropy only on the output layer "2" (on the Tanh layer "1" it would be skipped, with a warning)
MEASURES = {"*": ["rankme", "von_neumann_entropy", "mi_labels"], "2": ["prediction_entropy"]}


def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.Tanh(), torch.nn.Linear(12, 3))


def probe_set():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(N_PROBE, 6, generator=g)
    return x, (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()


def _worker(rank, world, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        torch.set_num_threads(1)
        model = torch.nn.parallel.DistributedDataParallel(make_model())
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        g = torch.Generator().manual_seed(100 + rank)  # each rank its own training data
        probes = Probes(model, layers=["1", "2"], measures=MEASURES, every=3, probe_data=probe_set(),
                        run_dir=os.path.join(out_dir, "run"), batch_size=16)
        with probes:
            for step in range(7):
                x = torch.randn(32, 6, generator=g)
                loss = torch.nn.functional.cross_entropy(model(x), (x[:, 0] > 0).long())
                opt.zero_grad()
                loss.backward()
                opt.step()
                if probes.step(step) and rank == 0:  # weights at this probe step, for the comparison
                    torch.save(model.module.state_dict(), os.path.join(out_dir, f"w{step}.pt"))
        with open(os.path.join(out_dir, f"rows{rank}.json"), "w") as f:
            json.dump(probes.results, f)
        with open(os.path.join(out_dir, f"shard{rank}.json"), "w") as f:
            json.dump(sum(b.shape[0] for b in probes._batches), f)
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_match_one_process(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    rows0 = json.loads((tmp_path / "rows0.json").read_text())
    assert json.loads((tmp_path / "rows1.json").read_text()) == []  # only rank 0 measures and writes
    assert [json.loads((tmp_path / f"shard{r}.json").read_text()) for r in (0, 1)] == [62, 61]
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == len(rows0)
    assert sorted({r["step"] for r in rows0}) == [0, 3, 6]
    assert all(r["error"] is None for r in rows0)
    for step in (0, 3, 6):
        model = make_model()
        model.load_state_dict(torch.load(tmp_path / f"w{step}.pt", weights_only=True))
        with Probes(model, layers=["1", "2"], measures=MEASURES, every=1, probe_data=probe_set(), batch_size=16) as p:
            p.step(step)
        ddp = [r for r in rows0 if r["step"] == step]
        assert [(r["layer"], r["measure"], r["n_samples"]) for r in ddp] == [
            (r["layer"], r["measure"], r["n_samples"]) for r in p.results
        ]
        assert all(r["n_samples"] == N_PROBE for r in ddp)
        for a, b in zip(ddp, p.results):
            # the same rows in the same order through the same float32 forward: equal to round-off
            assert a["value"] == pytest.approx(b["value"], rel=1e-6, abs=1e-9), (a, b)


def test_shard_and_helpers_outside_distributed():
    assert [_ddp.shard(5, r, 2) for r in (0, 1)] == [slice(0, 3), slice(3, 5)]
    assert [_ddp.shard(2, r, 3) for r in range(3)] == [slice(0, 1), slice(1, 2), slice(2, 2)]
    t = torch.ones(3, 2)
    assert _ddp.gather_rows(t) is t and _ddp.sum_over_ranks(t) is t
    assert (_ddp.rank(), _ddp.world_size()) == (0, 1)


class _FakeGroup:
    """A stand-in process group of two identical ranks that records the device of each collective."""

    class ReduceOp:
        MAX, SUM = "max", "sum"

    def __init__(self, backend):
        self.backend, self.devices = backend, []

    def get_backend(self):
        return self.backend

    def get_world_size(self):
        return 2

    def all_gather(self, out, t):
        self.devices.append(t.device.type)
        for o in out:
            o.copy_(t)

    def all_reduce(self, t, op=None):
        self.devices.append(t.device.type)
        if op == self.ReduceOp.SUM:
            t.mul_(2)


@pytest.mark.parametrize(("backend", "expected"), [
    ("gloo", "cpu"), ("mpi", "cpu"), ("cpu:gloo,cuda:nccl", "cpu"), ("nccl", "accelerator"), ("NCCL", "accelerator"),
])
def test_collectives_run_on_the_cpu_for_gloo_and_on_the_accelerator_for_nccl(monkeypatch, backend, expected):
    # NCCL takes no CPU tensors: captures, labels and streaming sums must meet it on the rank's GPU
    class Acc:
        @staticmethod
        def is_available():
            return True

        @staticmethod
        def current_accelerator():
            return torch.device("cuda")

        @staticmethod
        def current_device_index():
            return 3

    monkeypatch.setattr(torch, "accelerator", Acc, raising=False)
    device = _ddp.collective_device(_FakeGroup(backend))
    assert device == (torch.device("cpu") if expected == "cpu" else torch.device("cuda", 3))


def test_gather_and_sum_return_on_the_input_device_with_the_collectives_on_the_group_device(monkeypatch):
    group = _FakeGroup("gloo")
    monkeypatch.setattr(_ddp, "_dist", lambda: group)
    t = torch.arange(6.0).reshape(3, 2)
    out = _ddp.gather_rows(t)
    assert out.device == t.device and torch.equal(out, torch.cat([t, t]))
    s = _ddp.sum_over_ranks(torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert torch.equal(s, torch.tensor([2.0, 4.0], dtype=torch.float64))
    assert set(group.devices) == {"cpu"} and len(group.devices) == 4  # 2 gathers, 2 reductions
