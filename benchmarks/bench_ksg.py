"""Benchmark: KSG mutual information against scikit-learn, and KL entropy.

What it measures
----------------
1. KSG mutual information (estimator 1, k = 4) of 1-D ``x`` and ``y`` drawn
   from a bivariate Gaussian with correlation rho = 0.9, whose true MI is
   ``-0.5 * ln(1 - rho**2) = 0.830366`` nats. Two implementations are timed in
   the same process on the same arrays:

   * ours:     ``infomeasure.mutual_information(x, y, method="ksg", k=4)``
   * sklearn:  ``sklearn.feature_selection.mutual_info_regression(
                   x[:, None], y, n_neighbors=4, random_state=0)``

2. Kozachenko-Leonenko (KL) entropy, k = 4, of a 3-D standard Gaussian at
   N = 10**4, whose true entropy is ``1.5 * ln(2 pi e) = 4.256816`` nats.
   There is no scikit-learn peer; the PyPI package ``infomeasure`` 0.6.3 took
   0.018 s on a machine of this project's kind (see the project's PEERS.md).
   That package shares our import name and is never installed or imported here.

Timing: for every case, one untimed warm-up call (numba compiles its kernels
on the first call), then the median of ``--repeats`` calls timed with
``time.perf_counter``. Absolute times move from run to run on shared machines;
the ratio ours/sklearn, measured in one run, is the meaningful figure. Nothing
here asserts a time.

How to run (from the repository root)::

    python benchmarks/bench_ksg.py                      # N = 10^4 and 10^5, 5 repeats
    python benchmarks/bench_ksg.py --repeats 3 --sizes 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

import numba
import numpy as np
import scipy
import sklearn
from sklearn.feature_selection import mutual_info_regression

import infomeasure
from _table import print_header

RHO = 0.9
K = 4
MI_TRUTH = -0.5 * math.log(1.0 - RHO**2)  # 0.830366 nats
KL_DIM = 3
KL_N = 10_000
KL_TRUTH = 0.5 * KL_DIM * math.log(2.0 * math.pi * math.e)  # 4.256816 nats
PEER_KL_SECONDS = 0.018  # PyPI infomeasure 0.6.3, from PEERS.md (not run here)


def time_call(fn, repeats):
    """Warm up once (untimed), then return (median seconds, result of last call)."""
    fn()
    times = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def gaussian_pair(n, rho=RHO, seed=0):
    """1-D x, y from a bivariate standard Gaussian with correlation rho."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = rho * x + math.sqrt(1.0 - rho**2) * rng.standard_normal(n)
    return x, y


def machine_info():
    return [
        f"python {platform.python_version()} on {platform.platform()}",
        f"numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}, "
        f"scikit-learn {sklearn.__version__}, infomeasure {infomeasure.__version__}",
        f"os.cpu_count() = {os.cpu_count()}, numba.get_num_threads() = {numba.get_num_threads()}",
    ]


def bench_mi(sizes, repeats):
    rows = []
    for n in sizes:
        x, y = gaussian_pair(n)
        t_ours, mi_ours = time_call(
            lambda: infomeasure.mutual_information(x, y, method="ksg", k=K), repeats
        )
        t_skl, mi_skl = time_call(
            lambda: mutual_info_regression(x[:, None], y, n_neighbors=K, random_state=0)[0],
            repeats,
        )
        rows.append((n, t_ours, t_skl, t_ours / t_skl, float(mi_ours), float(mi_skl)))
    return rows


def bench_kl(repeats):
    x = np.random.default_rng(0).standard_normal((KL_N, KL_DIM))
    t, h = time_call(lambda: infomeasure.entropy(x, method="kl", k=K), repeats)
    return t, float(h)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="comma-separated sample sizes for the MI table (default 10000,100000)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    print("Machine")
    for line in machine_info():
        print("  " + line)
    print(f"  median of {args.repeats} timed runs after one warm-up call\n")

    print_header(f"KSG mutual information, 1-D Gaussian pair, rho = {RHO}, k = {K} (nats)",
                 f"{'N':>9}", f"{'ours (s)':>9}", f"{'sklearn (s)':>11}", f"{'ours/sklearn':>12}",
                 f"{'ours MI':>9}", f"{'sklearn MI':>10}", f"{'truth':>9}")
    for n, t_ours, t_skl, ratio, mi_ours, mi_skl in bench_mi(sizes, args.repeats):
        print(
            f"{n:>9} | {t_ours:>9.4f} | {t_skl:>11.4f} | {ratio:>12.3f} | "
            f"{mi_ours:>9.6f} | {mi_skl:>10.6f} | {MI_TRUTH:>9.6f}"
        )

    t, h = bench_kl(args.repeats)
    print_header(f"\nKL entropy, {KL_DIM}-D standard Gaussian, N = {KL_N}, k = {K} (nats)",
                 f"{'N':>9}", f"{'ours (s)':>9}", f"{'ours H':>9}", f"{'truth':>9}")
    print(f"{KL_N:>9} | {t:>9.4f} | {h:>9.6f} | {KL_TRUTH:>9.6f}")
    print(
        f"  (no scikit-learn peer; PEERS.md gives {PEER_KL_SECONDS} s for the PyPI "
        "infomeasure package on this kind of machine, not run here)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
