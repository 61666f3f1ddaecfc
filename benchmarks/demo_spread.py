"""Spread of the demo's printed numbers over seeds and thread counts (the README check's tolerances).

Training on shuffled labels is chaotic and float summation order differs between CPUs and thread
counts, so the same seed does not give bit-equal numbers on every machine. This script measures
how far the demo's final values move:

* over torch's intra-op thread count (1 and 2) at seed 0: what another CPU does to the README's run;
* over seeds 0..4 at the default thread count: the chaotic spread of each number.

It prints, for every row of the demo's table, the seed-0 values, the thread spread, the seed SD
and the tolerance ``max(4 * seed SD, 2 * thread spread, 0.002)`` that ``tests/infomeasure/test_demo.py`` uses
(``README_TOLERANCE`` in ``tests/infomeasure/test_demo.py``).

How to run (a few minutes on 2 cores)::

    python benchmarks/demo_spread.py --seeds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile

import torch


def _run(seed, threads):
    from infomeasure.demo import demo

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        res = demo(tempfile.mkdtemp(), seed=seed, progress=False, verbose=False)
    finally:
        torch.set_num_threads(old)
    return {run: {f"{la}/{m}": v for (la, m), v in final.items()} for run, final in res.final.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--json", help="write the raw values here")
    args = ap.parse_args()
    default_threads = torch.get_num_threads()
    by_threads = {t: _run(0, t) for t in sorted({1, 2, default_threads})}
    by_seed = {0: by_threads[default_threads]}
    for s in range(1, args.seeds):
        by_seed[s] = _run(s, default_threads)
    raw = {"threads": by_threads, "seeds": by_seed}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)
    print(f"{'run/row':55s} {'seed0':>8s} {'thr.spread':>10s} {'seed SD':>8s} {'tol':>8s}")
    for run in by_seed[0]:
        for key in sorted(by_seed[0][run]):
            vals_t = [by_threads[t][run][key] for t in by_threads if key in by_threads[t][run]]
            vals_s = [by_seed[s][run][key] for s in by_seed if key in by_seed[s][run]]
            spread = max(vals_t) - min(vals_t)
            sd = statistics.stdev(vals_s) if len(vals_s) > 1 else float("nan")
            print(f"{run + ' ' + key:55s} {by_seed[0][run][key]:8.3f} {spread:10.4f} {sd:8.4f} "
                  f"{max(4 * sd, 2 * spread, 0.002):8.3f}")


if __name__ == "__main__":
    main()
