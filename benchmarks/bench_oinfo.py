"""Benchmark: O-information of many multiplets, ours against hoi (JAX), same process, same data.

What it measures
----------------
Data: N = 5,000 samples of 20 variables, ``X = Z @ A`` with ``Z`` and ``A`` standard
normal (``numpy.random.default_rng(0)``), so that the multiplets hold a mix of
redundancy (Omega > 0) and synergy (Omega < 0); columns are centred, because hoi's
``"gauss"`` entropy does not centre the data itself.

Cases (ours = ``estimators.higher_order.o_information_multiplets``):

1. all 1,140 triplets, Gaussian: ours ``method="gaussian"`` against hoi
   ``Oinfo(X).fit(minsize=3, maxsize=3, method="gauss")``;
2. all 1,140 triplets, Gaussian copula with the Wishart bias correction: ours
   ``method="gaussian_copula", bias_correction=True`` against hoi ``method="gc"``
   (which bias-corrects by default);
3. all 21,489 multiplets of sizes 3 to 5, Gaussian copula, as in case 2
   (``size=range(3, 6)`` against ``minsize=3, maxsize=5``).

hoi reports bits in float32; ours is asked for ``base=2`` and the largest absolute
difference over all multiplets is printed, after checking that both list the
multiplets in the same order. Timing: one untimed warm-up call per case (JAX compiles,
numba and NumPy warm up), then the median of ``--repeats`` calls timed with
``time.perf_counter``; hoi's time includes building the ``Oinfo`` object, as a user
would. The script prints timings only and never asserts a wall-clock time. If hoi
(or JAX) is not installed, the hoi columns are skipped with a message and the
figures of the project's PEERS.md are printed for comparison instead.

How to run (from the repository root)::

    python benchmarks/bench_oinfo.py                 # 3 repeats, all cases
    python benchmarks/bench_oinfo.py --repeats 5 --skip-large
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

# run against this checkout, whatever is installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from estimators.higher_order import o_information, o_information_multiplets  # noqa: E402
from _table import print_header  # noqa: E402

N, P, SEED = 5000, 20, 0
PEERS_SECONDS = {"triplets gauss": 0.31, "triplets gc": 0.39, "sizes 3-5 gc": 3.8}  # PEERS.md


def time_call(fn, repeats):
    """Warm up once (untimed), then return (median seconds, result of the last call)."""
    fn()
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def make_data(n=N, p=P, seed=SEED):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) @ rng.standard_normal((p, p))
    return X - X.mean(axis=0)


def load_hoi():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import hoi
            from hoi.metrics import Oinfo
    except Exception as exc:  # ImportError, or a broken JAX install
        return None, None, f"{type(exc).__name__}: {exc}"
    logging.getLogger("hoi").setLevel(logging.WARNING)
    return hoi, Oinfo, None


def machine_info(hoi):
    import numba
    import scipy

    lines = [
        f"python {platform.python_version()} on {platform.platform()}",
        f"numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}",
        f"os.cpu_count() = {os.cpu_count()}",
    ]
    if hoi is not None:
        import jax

        lines.append(f"hoi {hoi.__version__}, jax {jax.__version__} ({jax.default_backend()})")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (default 3)")
    parser.add_argument("--skip-large", action="store_true", help="skip the sizes 3-5 case")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    hoi, Oinfo, why = load_hoi()
    print("Machine")
    for line in machine_info(hoi):
        print("  " + line)
    print(f"  median of {args.repeats} timed runs after one warm-up call\n")
    if hoi is None:
        print(f"hoi is not installed or does not import ({why}); timing ours only.\n")

    X = make_data()
    cases = [
        ("triplets gauss", 3, 3, "gaussian", False, "gauss"),
        ("triplets gc", 3, 3, "gaussian_copula", True, "gc"),
    ]
    if not args.skip_large:
        cases.append(("sizes 3-5 gc", 3, 5, "gaussian_copula", True, "gc"))

    print_header(f"O-information of all multiplets of {P} variables, N = {N} (bits)",
                 f"{'case':<15}", f"{'multiplets':>10}", f"{'ours (s)':>9}", f"{'hoi (s)':>9}",
                 f"{'ours/hoi':>8}", f"{'max |diff|':>10}", f"{'min / max Omega (ours)':>24}")
    for label, lo, hi, method, bc, hoi_method in cases:
        size = lo if lo == hi else range(lo, hi + 1)
        def run_ours(size=size, method=method, bc=bc):
            return o_information_multiplets(X, size, method, bias_correction=bc, base=2)

        t_ours, res = time_call(run_ours, args.repeats)
        span = f"{res.values.min():+.4f} / {res.values.max():+.4f}"
        if hoi is not None:

            def run_hoi(lo=lo, hi=hi, hoi_method=hoi_method):
                model = Oinfo(X, verbose=False)
                return model, np.asarray(model.fit(minsize=lo, maxsize=hi, method=hoi_method))

            t_hoi, (model, h) = time_call(run_hoi, args.repeats)
            mults = np.asarray(model.get_combinations(lo, maxsize=hi)[0])
            if not np.array_equal(mults, res.subsets):
                raise SystemExit(f"{label}: hoi and ours list the multiplets in different orders")
            diff = float(np.abs(h[:, 0].astype(np.float64) - res.values).max())
            print(
                f"{label:<15} | {res.values.size:>10} | {t_ours:>9.4f} | {t_hoi:>9.4f} | "
                f"{t_ours / t_hoi:>8.4f} | {diff:>10.2e} | {span:>24}"
            )
        else:
            peer = PEERS_SECONDS[label]
            print(
                f"{label:<15} | {res.values.size:>10} | {t_ours:>9.4f} | {'(' + str(peer) + ')':>9} | "
                f"{t_ours / peer:>8.4f} | {'n/a':>10} | {span:>24}"
            )
    if hoi is None:
        print("  (hoi column: PEERS.md figures for this kind of machine, not run here)")

    # single sets: the first three columns, every method (no peer; for orientation)
    print_header(f"\nO-information of X[:, :3], N = {N}, every method (nats; ours only)",
                 f"{'method':<16}", f"{'time (s)':>9}", f"{'Omega':>9}")
    for method in ("gaussian", "gaussian_copula", "ksg"):
        t, v = time_call(lambda method=method: o_information(X[:, :3], method), args.repeats)
        print(f"{method:<16} | {t:>9.4f} | {v:>+9.5f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
