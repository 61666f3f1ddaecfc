"""GPU check: run the CUDA paths on torch tensors and compare them with the CPU.

Run on a machine with a CUDA device, from the repository root::

    PYTHONPATH=. python benchmarks/gpu_check.py

For each case it prints the CPU value, the CUDA value, their difference and the
CUDA wall time (after one warm-up call). Cases:

* input coercion: KSG MI and KL entropy of CUDA tensors (copied to the host once);
* spectra: RankMe, von Neumann entropy, matrix entropy, alpha-ReQ on a 200 x 20,000
  float32 matrix (dual Gram on the device), and a 4,096 x 16,384 one (GPU only);
* diffusion spectral entropy and DSMI at N = 2,000 (the eigensolver on the device);
* neural MI (MINE, InfoNCE) trained on the device, 3 pairs with rho = 0.6 (truth 0.669);
* probes on a CUDA MLP: RankMe, VNE and DSMI values against the same model on the CPU
  (rel. 1e-6), and the training overhead at every = 50.

It exits non-zero if a CPU/CUDA difference exceeds its tolerance. Nothing here is
part of the test suite (CI has no GPU).
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np


def _timed(fn, *args, **kwargs):
    import torch

    fn(*args, **kwargs)  # warm-up (compilation, cuBLAS/cuSOLVER handles)
    torch.cuda.synchronize()
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    torch.cuda.synchronize()
    return out, time.perf_counter() - t


def main() -> int:
    import torch

    import infomeasure as im

    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        return 0
    dev = torch.device("cuda")
    print(f"torch {torch.__version__}, device {torch.cuda.get_device_name(0)}")
    rng = np.random.default_rng(0)
    failures = []

    def compare(name, cpu, gpu, seconds, tol):
        diff = abs(float(cpu) - float(gpu))
        flag = "ok" if diff <= tol else "FAIL"
        if flag == "FAIL":
            failures.append(name)
        print(f"{name:42s} cpu {float(cpu): .10f}  cuda {float(gpu): .10f}  diff {diff:.2e}  {seconds:.4f} s  {flag}")

    # input coercion
    x = rng.standard_normal(20000)
    y = 0.9 * x + math.sqrt(0.19) * rng.standard_normal(20000)
    xt, yt = torch.tensor(x, device=dev), torch.tensor(y, device=dev)
    v, s = _timed(im.mutual_information, xt, yt)
    compare("KSG MI of CUDA tensors", im.mutual_information(x, y), v, s, 0.0)
    X3 = rng.standard_normal((10000, 3))
    v, s = _timed(im.entropy, torch.tensor(X3, device=dev))
    compare("KL entropy of a CUDA tensor", im.entropy(X3), v, s, 0.0)

    # spectra
    Z = rng.standard_normal((200, 20000)).astype(np.float32)
    Zt = torch.tensor(Z, device=dev)
    for name, fn in (
        ("rankme 200x20000", im.rankme),
        ("von_neumann_entropy 200x20000", im.von_neumann_entropy),
        ("matrix_entropy alpha=2 200x20000", lambda a: im.matrix_entropy(a, 2.0)),
    ):
        v, s = _timed(fn, Zt)
        compare(name, fn(Z), v, s, 1e-8)
    W = rng.standard_normal((4096, 512)) @ rng.standard_normal((512, 16384)) / 30
    Wt = torch.tensor(W, device=dev, dtype=torch.float32)
    v, s = _timed(im.alpha_req, Wt)
    compare("alpha_req 4096x16384 (rank 512)", im.alpha_req(W.astype(np.float32)), v, s, 1e-6)
    v, s = _timed(im.rankme, Wt)
    print(f"{'rankme 4096x16384 (cuda only)':42s} {float(v):.4f}  {s:.4f} s")

    # diffusion spectral entropy / DSMI
    centers = rng.standard_normal((4, 20)) * 3
    labels = rng.integers(0, 4, 2000)
    P = centers[labels] + rng.standard_normal((2000, 20))
    Pt = torch.tensor(P, device=dev)
    v, s = _timed(im.diffusion_spectral_entropy, Pt)
    compare("DSE N=2000 (default bandwidth)", im.diffusion_spectral_entropy(P), v, s, 1e-8)
    v, s = _timed(im.diffusion_spectral_mutual_information, Pt, labels)
    compare("DSMI N=2000, 4 classes", im.diffusion_spectral_mutual_information(P, labels), v, s, 1e-8)

    # neural MI on the device
    C = np.eye(6)
    for j in range(3):
        C[j, j + 3] = C[j + 3, j] = 0.6
    D = rng.multivariate_normal(np.zeros(6), C, size=10000)
    truth = -1.5 * math.log(1 - 0.36)
    Dt = torch.tensor(D, device=dev, dtype=torch.float32)
    for name, fn in (("mine", im.mine), ("infonce", im.mi_infonce)):
        t = time.perf_counter()
        v = fn(Dt[:, :3], Dt[:, 3:], seed=0)
        torch.cuda.synchronize()
        s = time.perf_counter() - t
        rel = abs(v - truth) / truth
        ok = rel < 0.25
        if not ok:
            failures.append(name)
        print(f"{name + ' on cuda, 3 pairs rho=0.6':42s} {v:.4f} (truth {truth:.4f}, {100 * rel:.1f}% off)  {s:.2f} s  {'ok' if ok else 'FAIL'}")
    _probes_on_the_device(torch, dev, compare)
    print("FAILED: " + ", ".join(failures) if failures else "all CUDA checks passed")
    return 1 if failures else 0


def _probes_on_the_device(torch, dev, compare):
    """Probes on a CUDA model: values against the same model on the CPU, and the training overhead."""
    from infomeasure import Probes

    def mlp(device):
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(784, 2048), torch.nn.ReLU(), torch.nn.Linear(2048, 2048),
                                   torch.nn.ReLU(), torch.nn.Linear(2048, 10)).to(device)

    g = torch.Generator().manual_seed(1)
    xp = torch.randn(1000, 784, generator=g)
    yp = xp[:, :10].argmax(1)
    measures = ["rankme", "von_neumann_entropy", "dsmi"]
    rows = {}
    for device in ("cpu", dev):
        with Probes(mlp(device), ["1", "3"], measures, every=1, probe_data=(xp.to(device), yp.to(device))) as p:
            p.step(0)
        rows[str(device)] = p.results
    for a, b in zip(rows["cpu"], rows[str(dev)]):
        compare(f"probe {a['measure']} layer {a['layer']} (rel.)", 1.0, b["value"] / a["value"], 0.0, 1e-6)

    def loop(steps, probes=None):
        model = mlp(dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        p = Probes(model, ["1", "3"], measures, every=50, probe_data=(xp.to(dev), yp.to(dev))) if probes else None
        torch.cuda.synchronize()
        t = time.perf_counter()
        for step in range(steps):
            x = torch.randn(256, 784, device=dev)
            loss = torch.nn.functional.cross_entropy(model(x), x[:, :10].argmax(1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if p is not None:
                p.step(step)
        if p is not None:
            p.close()
        torch.cuda.synchronize()
        return time.perf_counter() - t, (p.timing if p is not None else None)

    loop(100, True)  # warm-up
    plain, _ = loop(1000)
    probed, timing = loop(1000, True)
    print(f"{'probes every 50 on cuda (rankme, vne, dsmi)':42s} plain {plain:.2f} s, probed {probed:.2f} s, "
          f"ratio {probed / plain:.3f}, mode {timing['mode']}, probe share {100 * timing['probe_share']:.1f}%")


if __name__ == "__main__":
    sys.exit(main())
