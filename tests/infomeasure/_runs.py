"""A small MLP, a probe set and a short probed run, shared by the tests of probes, reports and run directories."""

import torch

from infomeasure.probes import Probes


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))


def _probe_set(n=80):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 6, generator=g), torch.randint(0, 4, (n,), generator=g)


def _run(tmp_path, name="run", steps=3):
    x, y = _probe_set()
    with Probes(_mlp(), ["0", "2"], measures=["rankme"], every=1, probe_data=(x, y), run_dir=tmp_path / name) as p:
        for s in range(steps):
            p.step(s)
    return tmp_path / name
