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

3. KSG mutual information in more dimensions: 5-D ``x`` against 5-D ``y``,
   ``y_i = rho x_i + sqrt(1 - rho**2) z_i`` with rho = 0.6 per coordinate pair (true MI
   ``-2.5 ln(1 - rho**2) = 1.115718`` nats), k = 4, at ``--sizes-5d`` (10^4 and 10^5), against
   every peer that is available, in one run with interleaved repetitions (each round times
   every implementation once, in turn); the table gives the median time and the median of
   the per-round ratios ours/peer, and each implementation's estimate:

   * ours (numba's threads, and one thread): ``estimators.mi_ksg(x, y, k=4, standardize=False)``,
     the same estimator on the same numbers as the peers, which do not rescale columns;
     and the default ``standardize=True`` (each column divided by its standard deviation)
   * NPEET (``pip install npeet-plus``, MIT): ``npeet_plus.mi(x, y, k=4, base=e)``
     (scikit-learn's single-threaded KDTree; adds noise of size 1e-10)
   * the PyPI package ``infomeasure`` 0.6.3 (AGPL; it shares our import name), from a
     separate directory in a subprocess: ``pip install --no-deps --target /tmp/peer_im
     infomeasure==0.6.3 sparse``, then ``--peer-infomeasure /tmp/peer_im``. Its code is
     never read or imported here; the subprocess calls its documented
     ``mutual_information(x, y, approach="ksg", k=4)``
   * a previous version of this repository, the same way (``--previous DIR`` where DIR holds
     e.g. ``git archive <commit> | tar -x -C DIR``)
   * ennemi (``pip install ennemi``) estimates MI between a 1-D ``y`` and each column of
     ``x`` separately, so it has no 5-D against 5-D estimate; it is reported as skipped.

4. The probe measure ``mi_labels`` (``estimators.mi_ross``: kNN MI between a continuous
   representation and class labels, k = 4, max-norm) at d = 256, N = 500 with 10 classes,
   against the previous search (``FORCE_REGIME = "brute"``: the scalar brute force every
   search in more than 3 dimensions used below 2,000 samples before the blocked and tree
   searches) and, with ``--previous``, against that version.

``--busy`` starts one busy process (``python -c "while True: pass"``) for the duration of
the run and stops it at the end, to time the same cases beside another process.
``--crossover`` prints where the kd-tree starts to beat the blocked brute force (one thread),
which sets ``estimators._neighbors.tree_min_n``.

How to run (from the repository root)::

    python benchmarks/bench_ksg.py                      # N = 10^4 and 10^5, 5 repeats
    python benchmarks/bench_ksg.py --repeats 3 --sizes 10000,100000,1000000
    python benchmarks/bench_ksg.py --only 5d,probe --rounds 5 --peer-infomeasure /tmp/peer_im
    python benchmarks/bench_ksg.py --only 5d,probe --busy
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numba
import numpy as np
import scipy
import sklearn
from sklearn.feature_selection import mutual_info_regression

import estimators
import infomeasure
from _table import print_header
from estimators import _kdtree, _kernels, _neighbors

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


# ---------------------------------------------------------------------------------------------
# 5-D against 5-D KSG and the probe's kNN MI with labels, against peers, interleaved
# ---------------------------------------------------------------------------------------------
D5 = 5
RHO5 = 0.6
MI5_TRUTH = -0.5 * D5 * math.log(1.0 - RHO5**2)  # 1.115718 nats
PROBE_N, PROBE_D, PROBE_CLASSES = 500, 256, 10

# The subprocess worker: loads one implementation from a directory put first on sys.path,
# then times one call per line read from stdin ("ksg <file.npz>" or "ross <file.npz>").
WORKER = r"""
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
kind, path = sys.argv[1], sys.argv[2]
sys.path.insert(0, path)
if kind == "pypi":
    import infomeasure as im
    def ksg(x, y):
        return im.mutual_information(x, y, approach="ksg", k=4)
    ross = None
else:
    from estimators import mi_ksg, mi_ross
    def ksg(x, y):
        return mi_ksg(x, y, k=4, standardize=False)
    def ross(z, labels):
        return mi_ross(z, labels, k=4)
print(json.dumps({"ready": True, "version": getattr(sys.modules.get("infomeasure"), "__version__", "")}), flush=True)
warm = set()
for line in sys.stdin:
    what, file = line.split()
    data = np.load(file)
    f = ksg if what == "ksg" else ross
    if f is None:
        print(json.dumps({"skip": "no such estimator"}), flush=True)
        continue
    a, b = (data["x"], data["y"]) if what == "ksg" else (data["z"], data["labels"])
    if what not in warm:  # numba compiles on the first call
        f(a[:300], b[:300])
        warm.add(what)
    t0 = time.perf_counter()
    v = float(f(a, b))
    print(json.dumps({"t": time.perf_counter() - t0, "v": v}), flush=True)
"""


class Worker:
    """One implementation in a subprocess whose sys.path starts with ``path``."""

    def __init__(self, kind, path, tmp):
        script = os.path.join(tmp, "worker.py")
        with open(script, "w") as fh:
            fh.write(WORKER)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.proc = subprocess.Popen(
            [sys.executable, script, kind, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, cwd=tmp, env=env,
        )
        self.ready = json.loads(self.proc.stdout.readline())

    def __call__(self, what, file):
        self.proc.stdin.write(f"{what} {file}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def gaussian_blocks(n, d=D5, rho=RHO5, seed=0):
    """d-D x and y, each coordinate pair a bivariate standard Gaussian with correlation rho."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = rho * x + math.sqrt(1.0 - rho**2) * rng.standard_normal((n, d))
    return x, y


def probe_data(seed=0):
    """A 256-D representation whose first coordinates carry the class, and 10 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, PROBE_CLASSES, PROBE_N)
    z = rng.standard_normal((PROBE_N, PROBE_D))
    z[:, :8] += 1.5 * rng.standard_normal((PROBE_CLASSES, 8))[labels]
    return z, labels


def in_process(f, threads=None):
    """A timed call of f in this process (``threads``: numba threads of this thread)."""
    def run():
        saved = numba.get_num_threads()
        if threads is not None:
            numba.set_num_threads(threads)
        try:
            t0 = time.perf_counter()
            v = float(f())
            return {"t": time.perf_counter() - t0, "v": v}
        finally:
            numba.set_num_threads(saved)
    return run


def interleaved(impls, rounds):
    """Time each implementation once per round, in turn: {name: (times, estimate)}."""
    res = {name: ([], None) for name in impls}
    for _ in range(rounds):
        for name, run in impls.items():
            r = run()
            if "skip" in r:
                res[name] = (None, r["skip"])
                continue
            res[name][0].append(r["t"])
            res[name] = (res[name][0], r["v"])
    return res


def print_interleaved(title, res, ours="ours", truth=None):
    print_header(title, f"{'implementation':<34}", f"{'median (s)':>10}", f"{'ours/impl':>9}",
                 f"{'estimate':>10}")
    base = res[ours][0]
    for name, (times, v) in res.items():
        if times is None:
            print(f"{name:<34} | {'skipped':>10} | {'':>9} | {v}")
            continue
        ratio = statistics.median(a / b for a, b in zip(base, times))
        print(f"{name:<34} | {statistics.median(times):>10.4f} | {ratio:>9.3f} | {v:>10.6f}")
    if truth is not None:
        print(f"{'truth':<34} | {'':>10} | {'':>9} | {truth:>10.6f}")
    peers = {name: times for name, (times, _) in res.items()
             if times is not None and not name.startswith(("ours", "previous"))}
    if peers:
        fastest = min(peers, key=lambda name: statistics.median(peers[name]))
        ratio = statistics.median(a / b for a, b in zip(base, peers[fastest]))
        print(f"  ours / fastest peer ({fastest}): {ratio:.3f}")


def bench_5d(sizes, rounds, workers, tmp):
    import importlib.util

    for n in sizes:
        x, y = gaussian_blocks(n)
        file = os.path.join(tmp, f"gauss5_{n}.npz")
        np.savez(file, x=x, y=y)
        # the peers do not rescale the columns: ours with standardize=False is the same
        # estimator on the same numbers (the default, standardize=True, divides each column
        # by its standard deviation first, which moves the estimate by about 1e-4 here)
        impls = {
            "ours": in_process(lambda: estimators.mi_ksg(x, y, k=K, standardize=False)),
            "ours, 1 thread": in_process(lambda: estimators.mi_ksg(x, y, k=K, standardize=False), threads=1),
            "ours, standardize=True (default)": in_process(lambda: estimators.mi_ksg(x, y, k=K)),
        }
        if importlib.util.find_spec("npeet_plus") is not None:
            import npeet_plus

            impls["NPEET (npeet-plus)"] = in_process(lambda: npeet_plus.mi(x, y, k=K, base=math.e))
        else:
            impls["NPEET (npeet-plus)"] = lambda: {"skip": "not installed (pip install npeet-plus)"}
        for name, w in workers.items():
            impls[name] = lambda w=w: w("ksg", file)
        skip = ("estimates MI of a 1-D y with each x column separately: no 5-D vs 5-D estimate"
                if importlib.util.find_spec("ennemi") is not None else "not installed (pip install ennemi)")
        impls["ennemi"] = lambda skip=skip: {"skip": skip}
        for run in impls.values():  # warm-up: numba compiles, trees get cached
            if n <= 20000:
                run()
        estimators.mi_ksg(x[:3000], y[:3000], k=K)
        res = interleaved(impls, rounds)
        print_interleaved(f"\nKSG MI, {D5}-D vs {D5}-D Gaussian, rho = {RHO5} per pair, N = {n}, k = {K} "
                          f"(nats; median of {rounds} interleaved rounds)", res, truth=MI5_TRUTH)


def bench_probe(rounds, workers, tmp):
    z, labels = probe_data()
    file = os.path.join(tmp, "probe.npz")
    np.savez(file, z=z, labels=labels)

    def previous_search():
        _neighbors.FORCE_REGIME = "brute"
        try:
            return estimators.mi_ross(z, labels, k=K)
        finally:
            _neighbors.FORCE_REGIME = None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 500 samples in 256 dimensions warn (as they should)
        impls = {
            "ours": in_process(lambda: estimators.mi_ross(z, labels, k=K)),
            "ours, 1 thread": in_process(lambda: estimators.mi_ross(z, labels, k=K), threads=1),
            "previous search (scalar brute)": in_process(previous_search),
        }
        for name, w in workers.items():
            if "PyPI" not in name:
                impls[name] = lambda w=w: w("ross", file)
        for run in impls.values():
            run()
        res = interleaved(impls, rounds * 5)
    print_interleaved(f"\nProbe mi_labels (mi_ross), d = {PROBE_D}, N = {PROBE_N}, {PROBE_CLASSES} classes, "
                      f"k = {K} (nats; median of {rounds * 5} interleaved rounds)", res)


def bench_crossover():
    """Where the kd-tree overtakes the blocked brute force (one thread, max-norm, k = 4)."""
    saved = numba.get_num_threads()
    numba.set_num_threads(1)
    rng = np.random.default_rng(0)
    print_header("\nkd-tree / blocked brute force, one thread (below 1: the tree is faster)",
                 f"{'d':>4}", f"{'n':>7}", f"{'kNN in d dims':>13}", f"{'counts in d/2 dims':>18}",
                 f"{'tree_min_n kNN':>14}", f"{'tree_min_n counts':>17}")
    try:
        for d in (4, 6, 8, 10, 12, 16, 20, 32):
            for n in (1000, 3000, 10000, 30000):
                if n * n * d > 1.2e10:
                    continue
                h = d // 2
                X = rng.standard_normal((n, d))
                X[:, h:] = RHO5 * X[:, :h] + math.sqrt(1 - RHO5**2) * X[:, h:]
                X = np.ascontiguousarray(X / X.std(axis=0))
                t_block = time_call(lambda: _kernels.knn_block(X, K, True), 2)[0]
                t_tree, (dist, _) = time_call(lambda: _kdtree.knn_tree(X, K, True), 2)
                M = np.ascontiguousarray(X[:, :h])
                eps = dist[:, K - 1]
                thr = _kdtree.key_thresholds(eps, True, True)
                c_block = time_call(lambda: _kernels.count_block(M, thr, True), 2)[0]
                c_tree = time_call(lambda: _kdtree.count_tree(M, eps, True, True), 2)[0]
                print(f"{d:>4} | {n:>7} | {t_tree / t_block:>13.2f} | {c_tree / c_block:>18.2f} | "
                      f"{_neighbors.tree_min_n(d, False):>14.0f} | {_neighbors.tree_min_n(h, True):>17.0f}")
    finally:
        numba.set_num_threads(saved)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="comma-separated sample sizes for the 1-D MI table (default 10000,100000)",
    )
    parser.add_argument("--sizes-5d", default="10000,100000",
                        help="sample sizes for the 5-D vs 5-D table (default 10000,100000)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds for the peer tables (default 3; the probe row runs 5x as many)")
    parser.add_argument("--only", default="1d,kl,5d,probe",
                        help="comma-separated tables to run: 1d, kl, 5d, probe, crossover (default all but crossover)")
    parser.add_argument("--crossover", action="store_true", help="also print the tree/brute crossover table")
    parser.add_argument("--peer-infomeasure", default=os.environ.get("INFOMEASURE_PEER_PATH", ""),
                        help="directory holding the PyPI infomeasure package (pip install --target DIR)")
    parser.add_argument("--previous", default="", help="directory holding a previous version of this repository")
    parser.add_argument("--busy", action="store_true", help="run beside one busy process")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.rounds < 1:
        parser.error("--repeats and --rounds must be at least 1")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    sizes5 = [int(s) for s in args.sizes_5d.split(",") if s.strip()]
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - {"1d", "kl", "5d", "probe", "crossover"}
    if unknown:
        parser.error(f"--only: unknown table(s) {sorted(unknown)}; choose from 1d, kl, 5d, probe, crossover")
    for flag, path in (("--peer-infomeasure", args.peer_infomeasure), ("--previous", args.previous)):
        if path and not os.path.isdir(path):
            parser.error(f"{flag}: {path!r} is not a directory")

    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        print("Machine")
        for line in machine_info():
            print("  " + line)
        print(f"  {'beside one busy process' if busy else 'idle apart from this run'}; "
              f"median of {args.repeats} timed runs after one warm-up call\n")

        if "1d" in only:
            print_header(f"KSG mutual information, 1-D Gaussian pair, rho = {RHO}, k = {K} (nats)",
                         f"{'N':>9}", f"{'ours (s)':>9}", f"{'sklearn (s)':>11}", f"{'ours/sklearn':>12}",
                         f"{'ours MI':>9}", f"{'sklearn MI':>10}", f"{'truth':>9}")
            for n, t_ours, t_skl, ratio, mi_ours, mi_skl in bench_mi(sizes, args.repeats):
                print(
                    f"{n:>9} | {t_ours:>9.4f} | {t_skl:>11.4f} | {ratio:>12.3f} | "
                    f"{mi_ours:>9.6f} | {mi_skl:>10.6f} | {MI_TRUTH:>9.6f}"
                )

        if "kl" in only:
            t, h = bench_kl(args.repeats)
            print_header(f"\nKL entropy, {KL_DIM}-D standard Gaussian, N = {KL_N}, k = {K} (nats)",
                         f"{'N':>9}", f"{'ours (s)':>9}", f"{'ours H':>9}", f"{'truth':>9}")
            print(f"{KL_N:>9} | {t:>9.4f} | {h:>9.6f} | {KL_TRUTH:>9.6f}")
            print(
                f"  (no scikit-learn peer; PEERS.md gives {PEER_KL_SECONDS} s for the PyPI "
                "infomeasure package on this kind of machine, not run here)"
            )

        if only & {"5d", "probe"}:
            with tempfile.TemporaryDirectory() as tmp:
                workers = {}
                if args.peer_infomeasure:
                    workers["PyPI infomeasure (subprocess)"] = Worker("pypi", args.peer_infomeasure, tmp)
                    print(f"PyPI infomeasure {workers['PyPI infomeasure (subprocess)'].ready['version']} "
                          f"from {args.peer_infomeasure}")
                else:
                    print("PyPI infomeasure: skipped (pass --peer-infomeasure DIR)")
                if args.previous:
                    workers["previous version (subprocess)"] = Worker("snapshot", args.previous, tmp)
                try:
                    if "5d" in only:
                        bench_5d(sizes5, args.rounds, workers, tmp)
                    if "probe" in only:
                        bench_probe(args.rounds, workers, tmp)
                finally:
                    for w in workers.values():
                        w.close()

        if args.crossover or "crossover" in only:
            bench_crossover()
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
