"""Probe cost: the background worker (infomeasure._worker), the thread budget (infomeasure._threads)
and what Probes does with them (order, memory bound, errors, timing, progress, device dispatch)."""

import io
import json
import threading
import time
import warnings

import numba
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import infomeasure.measures as M
from infomeasure import Probes
from infomeasure import probes as P
from infomeasure._threads import thread_budget
from infomeasure._worker import Worker


def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.ReLU(), torch.nn.Linear(12, 3))


def probe_set(n=120):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 6, generator=g)
    return x, (x[:, 0] > 0).long() + (x[:, 1] > 0).long()


def train(model, probes, steps, log=False):
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(2)
    for step in range(steps):
        x = torch.randn(32, 6, generator=g)
        loss = torch.nn.functional.cross_entropy(model(x), (x[:, 0] > 0).long())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if probes.step(step) and log:
            probes.log(step, loss=loss.item())


MEASURES = ["rankme", "von_neumann_entropy", ("mi_labels", {"noise": 1e-10, "seed": 0}), "dsmi"]


class Slow(M.Measure):
    """A measure that takes ``seconds`` and records the thread budget it ran under."""

    name = "slow"
    method = "none"
    torch_path = False

    def __init__(self, seconds=0.0):
        super().__init__()
        self.seconds = seconds
        self.seen = []

    def compute(self, Z, y=None, spectrum=None):
        from threadpoolctl import threadpool_info

        blas = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
        self.seen.append((threading.current_thread().name, numba.get_num_threads(), blas, type(Z)))
        time.sleep(self.seconds)
        return 1.0


def quiet(**kw):
    warnings.simplefilter("ignore", UserWarning)  # kNN sample-size warnings; not under test here
    return kw


# ------------------------------------------------------------------------------------------------
# background and synchronous modes give the same rows, in the same order
# ------------------------------------------------------------------------------------------------
def test_background_rows_equal_synchronous_rows_in_step_order(tmp_path):
    results = {}
    with warnings.catch_warnings():
        quiet()
        for bg in (False, True):
            model = mlp()
            with Probes(model, ["0", "2"], MEASURES, every=3, probe_data=probe_set(), background=bg,
                        run_dir=tmp_path / str(bg)) as p:
                train(model, p, 13, log=True)
            results[bg] = p.results
    sync, bg = results[False], results[True]
    key = [(r["step"], r["layer"], r["measure"]) for r in sync]
    assert key == [(r["step"], r["layer"], r["measure"]) for r in bg]
    steps = [r["step"] for r in bg]
    assert steps == sorted(steps) and set(steps) == {0, 3, 6, 9, 12}
    # the logged loss comes after the probe rows of its step, as in the synchronous mode
    assert [r["measure"] for r in bg if r["step"] == 3][-1] == "loss"
    for a, b in zip(sync, bg):
        assert a["error"] is None and b["error"] is None
        assert b["value"] == pytest.approx(a["value"], rel=1e-12, abs=1e-12)
    on_disk = [json.loads(line) for line in (tmp_path / "True" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["measure"], r["value"]) for r in on_disk] == [(r["step"], r["measure"], r["value"]) for r in bg]


def test_close_drains_the_queue_and_stops_the_worker(tmp_path):
    slow = Slow(0.05)
    model = mlp()
    p = Probes(model, "0", [slow], every=1, probe_data=probe_set(), background=True, max_pending=3, run_dir=tmp_path)
    worker = p._worker
    train(model, p, 5)
    p.close()
    assert not worker._thread.is_alive()
    assert [r["step"] for r in p.results] == [0, 1, 2, 3, 4]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    timing = manifest["probe_timing"]
    assert timing["mode"] == "background" and timing["probe_steps"] == 5 and timing["dropped_steps"] == 0
    assert [t["step"] for t in timing["steps"]] == [0, 1, 2, 3, 4]
    assert all(t["measure_seconds"] >= 0.05 for t in timing["steps"])  # the measure sleeps 0.05 s
    assert 0 < timing["probe_share"] < 1 and timing["probe_seconds"] <= timing["training_seconds"]


def test_results_wait_for_pending_probe_steps_without_close():
    model = mlp()
    p = Probes(model, "0", [Slow(0.05)], every=1, probe_data=probe_set(), background=True)
    train(model, p, 3)
    assert [r["step"] for r in p.results] == [0, 1, 2]  # results waits for the worker
    p.close()


def test_full_queue_blocks_by_default_and_every_step_is_measured():
    model = mlp()
    with Probes(model, "0", [Slow(0.1)], every=1, probe_data=probe_set(), background=True, max_pending=1) as p:
        train(model, p, 4)
    assert [r["step"] for r in p.results] == [0, 1, 2, 3]
    assert p.timing["blocked_seconds"] > 0 and p.timing["dropped_steps"] == 0


def test_full_queue_drops_with_one_warning_and_a_count_at_close():
    model = mlp()
    p = Probes(model, "0", [Slow(0.3)], every=1, probe_data=probe_set(), background=True, max_pending=1,
               when_full="drop")
    with pytest.warns(UserWarning, match="probe step 1 is skipped") as caught:
        train(model, p, 4)  # step 0 is measured for 0.3 s while steps 1-3 come
    assert len([w for w in caught if "is skipped" in str(w.message)]) == 1
    with pytest.warns(UserWarning, match=r"3 probe step\(s\) were skipped .* steps \[1, 2, 3\]"):
        p.close()
    assert p.dropped_steps == [1, 2, 3] and p.timing["dropped_steps"] == 3
    assert [r["step"] for r in p.results] == [0]


# ------------------------------------------------------------------------------------------------
# failures in the worker
# ------------------------------------------------------------------------------------------------
def test_an_unexpected_failure_in_the_worker_becomes_error_rows(monkeypatch):
    def broken(*a, **k):
        raise MemoryError("out of memory in the worker")

    model = mlp()
    monkeypatch.setattr(P, "evaluate", broken)
    with Probes(model, ["0", "2"], ["rankme", "von_neumann_entropy"], every=2, probe_data=probe_set(),
                background=True) as p:
        train(model, p, 5)  # training goes on
    rows = p.results
    assert [(r["step"], r["layer"], r["measure"]) for r in rows] == [
        (s, la, m) for s in (0, 2, 4) for la in ("0", "2") for m in ("rankme", "von_neumann_entropy")]
    assert all(r["value"] is None and r["error"] == "MemoryError: out of memory in the worker" for r in rows)


def test_a_failing_sink_is_raised_in_the_training_thread():
    class BadSink:
        def write(self, rows):
            raise OSError("disk full")

        def close(self):
            pass

    model = mlp()
    p = Probes(model, "0", ["rankme"], every=1, probe_data=probe_set(), background=True, sinks=[BadSink()])
    p.step(0)
    with pytest.raises(OSError, match="disk full"):
        _ = p.results
    p.close()  # the failure was reported once; closing is clean
    assert p._worker._thread.is_alive() is False


def test_worker_runs_jobs_in_order_and_survives_a_failing_job():
    got = []
    w = Worker(max_pending=2)
    w.submit(lambda: 1, got.append, lambda e: -1)
    w.submit(lambda: 1 / 0, got.append, lambda e: type(e).__name__)
    w.submit(lambda: 3, got.append, lambda e: -1)
    w.close()
    assert got == [1, "ZeroDivisionError", 3]
    with pytest.raises(RuntimeError, match="closed"):
        w.submit(lambda: 4, got.append, lambda e: -1)


# ------------------------------------------------------------------------------------------------
# the thread budget
# ------------------------------------------------------------------------------------------------
def blas_threads():
    from threadpoolctl import threadpool_info

    return {i["filepath"]: i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


def test_thread_budget_limits_numba_and_blas_and_restores_them():
    before_numba, before_blas = numba.get_num_threads(), blas_threads()
    with thread_budget(1, blas=1):
        assert numba.get_num_threads() == 1
        assert set(blas_threads().values()) == {1}
        with thread_budget(2):  # nested, BLAS left alone: the inner budget, then the outer one again
            assert numba.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)
            assert set(blas_threads().values()) == {1}
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before_numba and blas_threads() == before_blas


def test_core_share_lends_a_core_and_gives_it_back(monkeypatch):
    from infomeasure._threads import CoreShare

    saved_torch, saved_blas = torch.get_num_threads(), blas_threads()
    torch.set_num_threads(2)
    try:
        share = CoreShare(1)
        share.lend()
        share.lend()  # idempotent while lending
        assert torch.get_num_threads() == 1 and set(blas_threads().values()) == {1}
        share.reclaim()
        assert torch.get_num_threads() == 2 and blas_threads() == saved_blas
        torch.set_num_threads(3)
        share.lend()
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)  # the user changes it meanwhile: theirs is kept
        share.reclaim()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(saved_torch)


@pytest.mark.parametrize("background", [False, True])
def test_measures_run_within_the_budget_and_settings_come_back(background):
    slow = Slow()
    model = mlp()
    torch_threads, numba_threads, blas = torch.get_num_threads(), numba.get_num_threads(), blas_threads()
    with Probes(model, "0", [slow], every=1, probe_data=probe_set(), background=background) as p:
        train(model, p, 2)
    thread, n_numba, n_blas, kind = slow.seen[0]
    assert (thread == "infomeasure-probes") is background
    assert n_numba == (1 if background else numba.config.NUMBA_NUM_THREADS)
    assert n_blas == {1} and kind is np.ndarray
    assert (torch.get_num_threads(), numba.get_num_threads(), blas_threads()) == (torch_threads, numba_threads, blas)
    with Probes(mlp(), "0", [slow], every=1, probe_data=probe_set(), background=background, threads=2) as p:
        p.step(0)
    assert slow.seen[-1][1] == min(2, numba.config.NUMBA_NUM_THREADS) and slow.seen[-1][2] == {2}


def test_the_worker_never_measures_before_its_cores_are_lent(monkeypatch):
    # the training thread lends the worker its cores (one BLAS thread) before handing it the job:
    # lent after submitting, a fast worker measured the first probe step with every BLAS thread
    # (seen as a flaky failure of the test above); a slow lend makes that order certain to show
    from infomeasure._threads import CoreShare

    real = CoreShare.lend

    def slow_lend(self):
        time.sleep(0.1)
        real(self)

    monkeypatch.setattr(CoreShare, "lend", slow_lend)
    slow = Slow()
    with Probes(mlp(), "0", [slow], every=1, probe_data=probe_set(), background=True) as p:
        p.step(0)
    assert slow.seen[0][0] == "infomeasure-probes" and slow.seen[0][2] == {1}


def test_auto_measures_in_the_background_only_where_a_core_is_free(monkeypatch):
    monkeypatch.setattr(P, "_available_cores", lambda: 4)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)
    assert Probes(mlp(), "0", ["rankme"], probe_data=probe_set()).background is False
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    p = Probes(mlp(), "0", ["rankme"], probe_data=probe_set())
    assert p.background is True and p.timing["mode"] == "background"
    p.close()


@pytest.mark.parametrize(("kw", "exc", "match"), [
    ({"when_full": "wait"}, ValueError, "when_full must be 'block'"),
    ({"max_pending": 0}, ValueError, "max_pending"),
    ({"threads": 0}, ValueError, "threads"),
    ({"progress": "yes"}, TypeError, "progress must be None"),
    ({"background": "maybe"}, (TypeError, ValueError), "background"),
])
def test_bad_arguments_name_the_argument(kw, exc, match):
    with pytest.raises(exc, match=match):
        Probes(mlp(), "0", ["rankme"], probe_data=probe_set(), **kw)


# ------------------------------------------------------------------------------------------------
# signs of life
# ------------------------------------------------------------------------------------------------
def test_progress_lines_in_logs(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    with Probes(mlp(), "0", ["rankme"], every=1, probe_data=probe_set(), background=False, progress=True) as p:
        p.step(0)
        p.step(1)
    lines = err.getvalue().splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["probe step 0", "probe step 1"]
    assert "(1 layers x 1 measures)" in lines[0] and "% of training time" in lines[1]
    err.truncate(0)
    for progress in (None, False):  # fast steps: nothing unless asked for
        with Probes(mlp(), "0", ["rankme"], every=1, probe_data=probe_set(), progress=progress) as p:
            p.step(0)
    assert err.getvalue() == ""


def test_slow_probe_steps_show_up_by_default(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(P._Progress, "SLOW", 0.01)
    with Probes(mlp(), "0", [Slow(0.05)], every=1, probe_data=probe_set(), background=False) as p:
        p.step(0)
    assert err.getvalue().startswith("infomeasure: probe step 0: 0.")


# ------------------------------------------------------------------------------------------------
# the model's device
# ------------------------------------------------------------------------------------------------
def test_measures_with_a_torch_path_get_the_device_tensor_and_the_others_one_host_copy(monkeypatch):
    """On an accelerator, spectral and diffusion measures get the tensor, kNN MI a NumPy copy; the
    values are those of the NumPy path (here with CPU tensors standing in for device tensors)."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((150, 6)).astype(np.float32)
    y = rng.integers(0, 3, 150)
    measures = [M.get_measure(m) for m in ["rankme", "von_neumann_entropy", "diffusion_spectral_entropy", "dsmi",
                                           ("mi_labels", {"noise": 1e-10, "seed": 0})]]
    seen = []
    for m in measures:
        compute = m.compute
        m.compute = lambda Z, *a, _c=compute, **k: seen.append(type(Z)) or _c(Z, *a, **k)
    with warnings.catch_warnings():
        quiet()
        host = M.evaluate(measures, z, labels=y)
        monkeypatch.setattr(M, "_on_accelerator", lambda t: True)
        seen.clear()
        device = M.evaluate(measures, torch.from_numpy(z), labels=y)
    assert seen == [torch.Tensor] * 4 + [np.ndarray]
    for a, b in zip(host, device):
        assert a["error"] is None and b["value"] == pytest.approx(a["value"], rel=1e-10)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_activations_are_measured_on_the_device_and_equal_the_cpu_values():
    x, y = probe_set(400)
    rows = {}
    for device in ("cpu", "cuda"):
        model = mlp().to(device)
        with Probes(model, ["0", "2"], ["rankme", "von_neumann_entropy", "dsmi"], every=1,
                    probe_data=(x.to(device), y.to(device))) as p:
            p.step(0)
        rows[device] = p.results
    for a, b in zip(rows["cpu"], rows["cuda"]):
        assert b["value"] == pytest.approx(a["value"], rel=1e-6)
