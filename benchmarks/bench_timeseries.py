"""Benchmark: permutation entropy and transfer entropy against antropy, ordpy and pyinform.

What it measures
----------------
All timings use the same arrays for every implementation, in one process.

1. Permutation entropy of white noise (``numpy.random.default_rng(0)``), order 6,
   delay 1, N = 10**6 by default, in nats, not normalised:

   * ours:    ``estimators.ordinal.permutation_entropy(x, order=6)``
   * antropy: ``antropy.perm_entropy(x, order=6)`` (bits; converted to nats here)
   * ordpy:   ``ordpy.permutation_entropy(x, dx=6, normalized=False)`` (nats)

2. Weighted permutation entropy (order 4, N = 10**5): ours vs
   ``ordpy.weighted_permutation_entropy``; statistical complexity (order 4, N = 10**5):
   ours vs ``ordpy.complexity_entropy``.

3. Many series at once: 1,000 rows of 2,000 values, order 4. Ours takes the 2-D array
   in one numba pass; antropy is called row by row.

4. Transfer entropy on the AR pair x_t = 0.5 x_{t-1} + e, y_t = 0.5 y_{t-1} + 0.5 x_{t-1} + e'
   (unit noise), history 1, whose true TE x->y is 0.5 ln(55/42) = 0.134832 nats:
   ours with ``method="ksg"`` and ``"gaussian"`` at N = 10**4. The PyPI package
   ``infomeasure`` 0.6.3 took 0.12 s (estimate 0.1319) for KSG TE on this task on a
   machine of this kind (PEERS.md); it shares our import name and is not run here.

5. Discrete transfer entropy of binary sequences (N = 10**5, history k = 1, 2, 3) against
   ``pyinform.transfer_entropy(source, target, k)`` (bits), and active information storage
   against ``pyinform.active_info(target, k)``, when pyinform is installed. Ours and
   pyinform alternate call by call (``--te-repeats`` rounds, median); the whole part runs
   twice: on the idle machine and beside one busy process (``python -c "while True: pass"``,
   started here and killed by its PID afterwards), and prints ours/pyinform for each.

Timing: one untimed warm-up call (numba compiles on first use), then the median of
``--repeats`` calls (``time.perf_counter``); where ours and a peer are compared, their
calls alternate, so both see the same machine load. Peers that are not installed are skipped with
a message. Absolute times vary on shared machines; the ratios come from one run. Nothing
here asserts a time.

How to run (from the repository root)::

    python benchmarks/bench_timeseries.py
    python benchmarks/bench_timeseries.py --repeats 7 --n 1000000
    python benchmarks/bench_timeseries.py --only 5     # part 5 alone (discrete TE)
    pip install antropy ordpy pyinform    # the peers (not dependencies of the library)
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import numba
import numpy as np
from scipy.signal import lfilter

from estimators.ordinal import permutation_entropy, statistical_complexity
from estimators.transfer import active_information_storage, transfer_entropy

AR_TE = 0.5 * math.log(55.0 / 42.0)


def time_call(fn, repeats):
    """Warm up once (untimed), then return (median seconds, result of the last call)."""
    return time_interleaved({"f": fn}, repeats)["f"]


def time_interleaved(fns, repeats):
    """Time several callables in alternation (same machine load for each).

    Each gets one untimed warm-up call; then ``repeats`` rounds call every function
    once. Returns ``{name: (median seconds, result of the last call)}``.
    """
    results = {name: fn() for name, fn in fns.items()}
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(times[name]), results[name]) for name in fns}


def peer(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        print(f"  ({name} is not installed: skipped; pip install {name} to include it)")
        return None


def ar_pair(n, seed=0, burn=200):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n + burn, 2))
    x = lfilter([1.0], [1.0, -0.5], e[:, 0])
    y = lfilter([1.0], [1.0, -0.5], np.r_[0.0, 0.5 * x[:-1]] + e[:, 1])
    return x[burn:], y[burn:]


def row(cells, widths):
    return " | ".join(f"{c:>{w}}" for c, w in zip(cells, widths))


def bench_pe(n, repeats):
    print(f"\n1. Permutation entropy, white noise, N = {n:,}, order 6, delay 1 (nats)")
    x = np.random.default_rng(0).standard_normal(n)
    fns = {"ours": lambda: permutation_entropy(x, order=6)}
    ant = peer("antropy")
    if ant is not None:  # antropy returns bits
        fns["antropy"] = lambda: ant.perm_entropy(x, order=6) * math.log(2.0)
    res = time_interleaved(fns, repeats)
    t_ours, h_ours = res["ours"]
    widths = (8, 10, 12, 14)
    print(row(("impl", "time (s)", "ours/peer", "estimate"), widths))
    print(row(("ours", f"{t_ours:.4f}", "", f"{h_ours:.10f}"), widths))
    if ant is not None:
        t, h = res["antropy"]
        print(row(("antropy", f"{t:.4f}", f"{t_ours / t:.3f}", f"{h:.10f}"), widths))
    ordpy = peer("ordpy")
    if ordpy is not None:
        reps = max(1, min(repeats, 3))  # ordpy takes seconds per call at 10^6
        t, h = time_call(lambda: ordpy.permutation_entropy(x, dx=6, normalized=False), reps)
        print(row(("ordpy", f"{t:.4f}", f"{t_ours / t:.3f}", f"{h:.10f}"), widths))


def bench_weighted_and_complexity(repeats):
    n = 100_000
    print(f"\n2. Weighted PE and statistical complexity, white noise, N = {n:,}, order 4")
    x = np.random.default_rng(1).standard_normal(n)
    ordpy = peer("ordpy")
    widths = (28, 10, 12, 26)
    print(row(("impl", "time (s)", "ours/peer", "estimate"), widths))
    t_w, h_w = time_call(lambda: permutation_entropy(x, order=4, weighted=True), repeats)
    print(row(("ours weighted PE", f"{t_w:.4f}", "", f"{h_w:.10f}"), widths))
    if ordpy is not None:
        t, h = time_call(lambda: ordpy.weighted_permutation_entropy(x, dx=4, normalized=False), repeats)
        print(row(("ordpy weighted PE", f"{t:.4f}", f"{t_w / t:.3f}", f"{h:.10f}"), widths))
    t_c, hc = time_call(lambda: statistical_complexity(x, order=4), repeats)
    print(row(("ours complexity (H, C)", f"{t_c:.4f}", "", f"({hc[0]:.6f}, {hc[1]:.6f})"), widths))
    if ordpy is not None:
        t, hc2 = time_call(lambda: ordpy.complexity_entropy(x, dx=4), repeats)
        print(
            row(
                ("ordpy complexity (H, C)", f"{t:.4f}", f"{t_c / t:.3f}", f"({hc2[0]:.6f}, {hc2[1]:.6f})"),
                widths,
            )
        )


def bench_rows(repeats):
    r, n = 1000, 2000
    print(f"\n3. Many series: {r:,} rows of {n:,} values, order 4 (nats; first row shown)")
    X = np.random.default_rng(2).standard_normal((r, n))
    widths = (22, 10, 12, 14)
    fns = {"ours": lambda: permutation_entropy(X, order=4)}
    ant = peer("antropy")
    if ant is not None:
        fns["antropy"] = lambda: [ant.perm_entropy(v, order=4) * math.log(2.0) for v in X]
    res = time_interleaved(fns, repeats)
    t_ours, h = res["ours"]
    print(row(("impl", "time (s)", "ours/peer", "row 0"), widths))
    print(row(("ours (one 2-D call)", f"{t_ours:.4f}", "", f"{h[0]:.10f}"), widths))
    if ant is not None:
        t, h2 = res["antropy"]
        print(row(("antropy (row loop)", f"{t:.4f}", f"{t_ours / t:.3f}", f"{h2[0]:.10f}"), widths))


def bench_te(repeats):
    n = 10_000
    print(f"\n4. Transfer entropy, AR pair, N = {n:,}, history 1 (nats; truth x->y {AR_TE:.6f}, y->x 0)")
    x, y = ar_pair(n)
    widths = (10, 10, 12, 12)
    print(row(("method", "time (s)", "TE x->y", "TE y->x"), widths))
    for method in ("ksg", "gaussian"):
        t, fwd = time_call(lambda m=method: transfer_entropy(x, y, m), repeats)
        rev = transfer_entropy(y, x, method)
        print(row((method, f"{t:.4f}", f"{fwd:.6f}", f"{rev:.6f}"), widths))
    print("  PyPI infomeasure 0.6.3, KSG (PEERS.md, not run here): 0.12 s, estimate 0.1319")


def _discrete_te_table(x, y, pyinform, repeats):
    """One table of part 5: ours and pyinform interleaved, for TE and AIS at k = 1, 2, 3."""
    widths = (3, 4, 10, 12, 10, 14, 14)
    print(row(("k", "", "ours (s)", "pyinform (s)", "ours/peer", "ours", "pyinform"), widths))
    for k in (1, 2, 3):
        cases = {
            "TE": (lambda k=k: transfer_entropy(x, y, "discrete", history=k, base=2),
                   lambda k=k: pyinform.transfer_entropy(x, y, k=k)),
            "AIS": (lambda k=k: active_information_storage(y, history=k, method="discrete", base=2),
                    lambda k=k: pyinform.active_info(y, k=k)),
        }
        for what, (ours, theirs) in cases.items():
            if pyinform is None:
                t, v = time_call(ours, repeats)
                print(row((k, what, f"{t:.6f}", "", "", f"{v:.10f}", ""), widths))
                continue
            res = time_interleaved({"ours": ours, "peer": theirs}, repeats)
            (t, v), (tp, vp) = res["ours"], res["peer"]
            print(row((k, what, f"{t:.6f}", f"{tp:.6f}", f"{t / tp:.3f}", f"{v:.10f}", f"{vp:.10f}"), widths))


def bench_discrete_te(repeats):
    n = 100_000
    print(f"\n5. Discrete TE and AIS, binary, N = {n:,}: y_t = x_(t-1) XOR Bernoulli(0.2) (bits; "
          f"median of {repeats} interleaved calls)")
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, n)
    y = np.r_[0, x[:-1]] ^ (rng.random(n) < 0.2).astype(np.int64)
    pyinform = peer("pyinform")
    print("  idle:")
    _discrete_te_table(x, y, pyinform, repeats)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let it start spinning
        print(f"  beside one busy process (pid {busy.pid}):")
        _discrete_te_table(x, y, pyinform, repeats)
    finally:
        busy.kill()
        busy.wait()
    print("  truth: TE (every k) 1 - H2(0.2) = 0.2780719051 bits; AIS 0 (y is iid)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument("--n", type=int, default=1_000_000, help="series length for part 1 (default 10^6)")
    parser.add_argument("--te-repeats", type=int, default=51,
                        help="interleaved rounds per case in part 5 (default 51; calls take ~1 ms)")
    parser.add_argument("--only", type=int, choices=range(1, 6), help="run one part only")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.te_repeats < 1:
        parser.error("--repeats and --te-repeats must be at least 1")
    print("Machine")
    print(f"  python {platform.python_version()} on {platform.platform()}")
    print(f"  numpy {np.__version__}, numba {numba.__version__}")
    print(f"  os.cpu_count() = {os.cpu_count()}, numba.get_num_threads() = {numba.get_num_threads()}")
    print(f"  median of {args.repeats} timed runs after one warm-up call")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # peers' own warnings
        parts = {
            1: lambda: bench_pe(args.n, args.repeats),
            2: lambda: bench_weighted_and_complexity(args.repeats),
            3: lambda: bench_rows(args.repeats),
            4: lambda: bench_te(args.repeats),
            5: lambda: bench_discrete_te(args.te_repeats),
        }
        for number, part in parts.items():
            if args.only in (None, number):
                part()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
