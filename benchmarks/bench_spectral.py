"""Benchmark: spectral representation measures and diffusion spectral entropy against their peers.

What it measures (same process, same data; median of ``--repeats`` timed calls after one
untimed warm-up call; nothing here asserts a time)
------------------------------------------------------------------------------------------
1. ``rankme`` and ``von_neumann_entropy`` of a 200 x 20,000 float32 matrix (the acceptance
   case: the spectrum comes from the 200 x 200 Gram matrix, never a 20,000 x 20,000 one).
   Baselines: RankMe from a full ``numpy.linalg.svd`` of the matrix; reptrix's ``get_rankme``
   (which, unlike Garrido et al., uses the centred covariance spectrum, so its value differs);
   the von Neumann entropy written as Kim et al. write it (d x d matrix ``ZᵀZ/N``), at
   200 x 2,000 because 20,000 x 20,000 is out of reach.
2. ``alpha_req`` against reptrix's ``get_alpha`` (PCA spectrum, WLS fit over ranks 11-100).
3. ``coding_rate`` and ``rate_reduction`` against the ``mcr2`` package (``R``, ``DeltaR``).
4. ``diffusion_spectral_entropy`` / ``diffusion_spectral_mutual_information`` with
   ``preset="liao2023"`` against the reference package ``dse-dsmi`` (sigma = 10, t = 1), on
   uniform data in [0, 1]^256 as in that package's README. DSMI values differ by the random
   class-sized subsets (each package draws its own).
5. No timing: why the default DSE bandwidth is the RMS pairwise distance. DSE (t = 1) of noisy
   data on d-dimensional manifolds in R^100 (d = 1, 2, 4, 8) with the RMS and the median
   pairwise distance as bandwidth; the issue's check is that DSE rises with d.

Peers are optional: a peer that is not installed is skipped with a message
(``pip install reptrix mcr2 dse-dsmi``; reptrix is imported without its torchvision dependency).

``--device cuda`` also runs cases 1 and 4 on CUDA tensors (our torch path: distances, kernel,
Gram matrix and eigensolver on the GPU, float64) and prints their agreement with the NumPy path.

How to run (from the repository root)::

    python benchmarks/bench_spectral.py                       # about a minute on 2 cores
    python benchmarks/bench_spectral.py --repeats 3 --dse-sizes 1000,2000,4000
    python benchmarks/bench_spectral.py --device cuda --dse-sizes 2000,10000
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import platform
import statistics
import time

import numpy as np
import scipy

from estimators.diffusion import (
    diffusion_spectral_entropy,
    diffusion_spectral_mutual_information,
)
from estimators.spectral import (
    alpha_req,
    coding_rate,
    gram_spectrum,
    rankme,
    rate_reduction,
    von_neumann_entropy,
)


def time_call(fn, repeats, sync=None):
    """Warm up once (untimed), then return (median seconds, result of the last call)."""
    fn()
    times = []
    result = None
    for _ in range(repeats):
        if sync:
            sync()
        t0 = time.perf_counter()
        result = fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def peer(module):
    try:
        return importlib.import_module(module)
    except Exception as exc:  # missing package or a broken optional dependency
        print(f"  [skipped: peer {module!r} not importable: {type(exc).__name__}: {exc}]")
        return None


def row(name, t, value, ref_t=None):
    ratio = f"{t / ref_t:8.3f}" if ref_t else " " * 8
    v = f"{value:.10f}" if isinstance(value, float) else str(value)
    print(f"  {name:<58} {t:9.4f} s  {ratio}  {v}")


def header(title, ref_name):
    print(f"\n{title}")
    print(f"  {'implementation':<58} {'time':>11}  {'/' + ref_name:>8}  value")


def machine_info():
    import torch

    lines = [
        f"python {platform.python_version()} on {platform.platform()}",
        f"numpy {np.__version__}, scipy {scipy.__version__}, torch {torch.__version__}",
        f"os.cpu_count() = {os.cpu_count()}",
    ]
    if torch.cuda.is_available():
        lines.append(f"cuda device: {torch.cuda.get_device_name(0)}")
    return lines


# ----------------------------------------------------------------------------------------------
def bench_rankme_vne(repeats, device):
    import torch

    Z = np.random.default_rng(0).standard_normal((200, 20_000)).astype(np.float32)
    header("1. RankMe and von Neumann entropy, 200 x 20,000 float32", "ours")
    t_rm, v_rm = time_call(lambda: rankme(Z), repeats)
    row("ours rankme (NumPy, 200 x 200 Gram)", t_rm, v_rm)
    t, v = time_call(lambda: rankme(torch.from_numpy(Z)), repeats)
    row("ours rankme (torch CPU tensor)", t, v, t_rm)
    t, v = time_call(lambda: float(_ref_rankme_svd(Z)), repeats)
    row("direct: numpy.linalg.svd of the matrix", t, v, t_rm)
    rp = peer("reptrix.rankme")
    if rp is not None:
        t, v = time_call(lambda: float(rp.get_rankme(torch.from_numpy(Z))), repeats)
        row("reptrix get_rankme (centred covariance: another quantity)", t, v, t_rm)
    t_v, v_v = time_call(lambda: von_neumann_entropy(Z), repeats)
    row("ours von_neumann_entropy (NumPy)", t_v, v_v)
    t, v = time_call(lambda: von_neumann_entropy(torch.from_numpy(Z)), repeats)
    row("ours von_neumann_entropy (torch CPU tensor)", t, v, t_v)
    t, s = time_call(lambda: gram_spectrum(Z), repeats)
    row("ours gram_spectrum once (then any measure costs ~0)", t, f"{s.eigenvalues.size} eigenvalues", t_v)
    Zs = Z[:, :2000]
    t_s, v_s = time_call(lambda: von_neumann_entropy(Zs), repeats)
    row("ours von_neumann_entropy, 200 x 2,000", t_s, v_s)
    t, v = time_call(lambda: _ref_vne_primal(Zs), max(1, repeats // 2))
    row("direct (Kim et al.): eig of the 2,000 x 2,000 ZᵀZ/N", t, v, t_s)
    if device == "cuda":
        Zc = torch.from_numpy(Z).cuda()
        sync = torch.cuda.synchronize
        t, v = time_call(lambda: rankme(Zc), repeats, sync)
        row("ours rankme (CUDA tensor)", t, v, t_rm)
        print(f"      |CUDA - NumPy| = {abs(v - v_rm):.2e}")
        t, v = time_call(lambda: von_neumann_entropy(Zc), repeats, sync)
        row("ours von_neumann_entropy (CUDA tensor)", t, v, t_v)
        print(f"      |CUDA - NumPy| = {abs(v - v_v):.2e}")


def _ref_rankme_svd(Z):
    s = np.linalg.svd(Z.astype(np.float64), compute_uv=False)
    p = s / s.sum() + 1e-7
    return math.exp(-(p * np.log(p)).sum())


def _ref_vne_primal(Z):
    Z = Z.astype(np.float64)
    Zn = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    lam = np.linalg.eigvalsh(Zn.T @ Zn / len(Zn))
    lam = lam[lam > 0]
    return float(-(lam * np.log(lam)).sum())


def bench_alpha(repeats):
    import torch

    rng = np.random.default_rng(1)
    Z = (rng.standard_normal((2000, 512)) * np.arange(1, 513) ** -0.5).astype(np.float32)
    header("2. alpha-ReQ, 2,000 x 512, ranks 11-100", "ours")
    t0, v0 = time_call(lambda: alpha_req(Z), repeats)
    row("ours alpha_req", t0, v0)
    ra = peer("reptrix.alpha")
    if ra is not None:
        t, v = time_call(lambda: float(ra.get_alpha(torch.from_numpy(Z))[0]), repeats)
        row("reptrix get_alpha (sklearn PCA, float32 weights)", t, v, t0)
        print(f"      |ours - reptrix| = {abs(v - v0):.2e}")


def bench_mcr2(repeats):
    import torch

    rng = np.random.default_rng(2)
    y = rng.integers(0, 10, 4096)
    Z = rng.standard_normal((10, 512))[y] + rng.standard_normal((4096, 512))
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)  # MCR^2 works on the unit sphere
    eps = math.sqrt(0.5)
    header("3. coding rate and rate reduction, 4,096 x 512 on the sphere, 10 classes, eps^2 = 0.5", "ours")
    t_r, v_r = time_call(lambda: coding_rate(Z, eps), repeats)
    row("ours coding_rate", t_r, v_r)
    t_d, v_d = time_call(lambda: rate_reduction(Z, y, eps), repeats)
    row("ours rate_reduction", t_d, v_d)
    cr = peer("mcr2.primitives.coding_rate")
    if cr is not None:
        Zt = torch.from_numpy(Z)
        onehot = torch.nn.functional.one_hot(torch.from_numpy(y)).double()
        t, v = time_call(lambda: float(cr.R(Zt, eps)), repeats)
        row("mcr2 R (float64)", t, v, t_r)
        print(f"      |ours - mcr2| = {abs(v - v_r):.2e}")
        t, v = time_call(lambda: float(cr.DeltaR(Zt, onehot, eps)), repeats)
        row("mcr2 DeltaR (float64)", t, v, t_d)
        print(f"      |ours - mcr2| = {abs(v - v_d):.2e}")


def bench_dse(sizes, repeats, device):
    import torch

    ref = peer("dse_dsmi")
    for n in sizes:
        rng = np.random.default_rng(3)
        X = rng.uniform(0, 1, (n, 256))
        y = rng.integers(0, 10, n)
        reps = repeats if n <= 2000 else 1
        header(f"4. DSE / DSMI, uniform [0, 1]^256, N = {n:,}, sigma = 10, t = 1 (bits)", "ours")
        t0, v0 = time_call(lambda: float(diffusion_spectral_entropy(X, preset="liao2023", base=2)), reps)
        row("ours DSE, preset='liao2023' (NumPy)", t0, v0)
        if ref is not None:
            t, v = time_call(lambda: float(ref.diffusion_spectral_entropy(X, gaussian_kernel_sigma=10, t=1)), reps)
            row("dse-dsmi diffusion_spectral_entropy", t, v, t0)
            print(f"      |ours - dse-dsmi| = {abs(v - v0):.2e}")
        t1, v1 = time_call(lambda: float(diffusion_spectral_mutual_information(X, y, preset="liao2023", base=2)), reps)
        row("ours DSMI (10 classes, 5 draws), preset='liao2023'", t1, v1)
        if ref is not None:
            t, v = time_call(
                lambda: float(ref.diffusion_spectral_mutual_information(X, y[:, None], gaussian_kernel_sigma=10, t=1)[0]),
                reps,
            )
            row("dse-dsmi diffusion_spectral_mutual_information", t, v, t1)
        d = diffusion_spectral_entropy(X, base=2)
        print(f"      ours default (data-derived bandwidth): {d.describe()}")
        if device == "cuda":
            Xc = torch.from_numpy(X).cuda()
            sync = torch.cuda.synchronize
            t, v = time_call(lambda: float(diffusion_spectral_entropy(Xc, preset="liao2023", base=2)), reps, sync)
            row("ours DSE (CUDA tensor)", t, v, t0)
            print(f"      |CUDA - NumPy| = {abs(v - v0):.2e}")
            yc = torch.from_numpy(y).cuda()
            t, v = time_call(
                lambda: float(diffusion_spectral_mutual_information(Xc, yc, preset="liao2023", base=2)), reps, sync
            )
            row("ours DSMI (CUDA tensor)", t, v, t1)
            print(f"      |CUDA - NumPy| = {abs(v - v1):.2e}")


def _manifold(kind, d, n, noise, seed=0, D=100):
    """Points on a d-dimensional manifold of total variance about 1, randomly embedded in R^100, plus noise."""
    rng = np.random.default_rng(seed)
    if kind == "gaussian":  # d-dimensional Gaussian on a random d-plane
        L = rng.standard_normal((n, d)) / math.sqrt(d)
    elif kind == "cube":
        L = (rng.random((n, d)) - 0.5) * math.sqrt(12.0 / d)
    elif kind == "sphere":  # the unit d-sphere in R^(d+1)
        L = rng.standard_normal((n, d + 1))
        L /= np.linalg.norm(L, axis=1, keepdims=True)
    else:  # flat d-torus: (cos, sin) of d angles
        A = rng.random((n, d)) * 2 * math.pi
        L = np.hstack([np.cos(A), np.sin(A)]) / math.sqrt(d)
    Q, _ = np.linalg.qr(rng.standard_normal((D, L.shape[1])))
    return L @ Q.T + noise * rng.standard_normal((n, D))


def bench_bandwidth(n=500):
    """DSE (bits, t = 1) against intrinsic dimension d = 1, 2, 4, 8, for two data-derived bandwidths."""
    print(f"\n5. DSE vs intrinsic dimension under noise: N = {n}, R^100, t = 1, bits, seed 0")
    print(f"  {'manifold':<9} {'noise':>5}  {'sigma = RMS distance (default)':<40} {'sigma = median distance':<40}")
    for kind in ("gaussian", "cube", "sphere", "torus"):
        for noise in (0.01, 0.03, 0.1, 0.3):
            cells = []
            for rule in ("rms", "median"):
                v = [float(diffusion_spectral_entropy(_manifold(kind, d, n, noise), sigma=rule, base=2)) for d in (1, 2, 4, 8)]
                mark = "rises" if np.all(np.diff(v) > 0) else "NOT monotone"
                cells.append(" ".join(f"{x:.3f}" for x in v) + f"  {mark}")
            print(f"  {kind:<9} {noise:>5}  {cells[0]:<40} {cells[1]:<40}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument("--dse-sizes", default="1000,2000", help="sample sizes for DSE (default 1000,2000)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="also run CUDA tensors")
    parser.add_argument("--only", default="1,2,3,4,5", help="comma-separated cases to run (default all)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            parser.error("--device cuda: torch sees no CUDA device")
    only = {s.strip() for s in args.only.split(",")}
    print("Machine")
    for line in machine_info():
        print("  " + line)
    print(f"  median of {args.repeats} timed runs after one warm-up call (1 run for DSE above N = 2,000)")
    if "1" in only:
        bench_rankme_vne(args.repeats, args.device)
    if "2" in only:
        bench_alpha(args.repeats)
    if "3" in only:
        bench_mcr2(args.repeats)
    if "4" in only:
        bench_dse([int(s) for s in args.dse_sizes.split(",") if s.strip()], args.repeats, args.device)
    if "5" in only:
        bench_bandwidth()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
