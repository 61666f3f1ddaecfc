"""Benchmark: every row of issue 19 (scale) against its peer, in one run, as one markdown table.

Rows (ours against the peer named in the issue; the target is the issue's acceptance bar)
---------------------------------------------------------------------------------------
* KSG MI, 5-D vs 5-D Gaussian (rho = 0.6 per pair, k = 4), N = 10^4 and 10^5:
  ``estimators.mi_ksg(x, y, k=4, standardize=False)`` against the fastest of NPEET
  (``npeet_plus.mi``) and the PyPI package ``infomeasure`` 0.6.3 (in a subprocess, from
  ``--peer-infomeasure DIR``, default ``/tmp/peer_im`` when it exists; see ``bench_ksg.py``
  for how to install it). Target: ours <= 0.5x the fastest peer, estimates equal to 1e-6.
  ennemi has no 5-D vs 5-D estimate (``bench_ksg.py`` says why) and is not a row.
* The probes' kNN MI with labels (``estimators.mi_ross``, d = 256, N = 500, 10 classes)
  against the search it used before issue 19 (the scalar brute force, forced through
  ``_neighbors.FORCE_REGIME = "brute"``). Target: <= 0.5x.
* Discrete TE, binary, N = 10^5, history 1 and 3 (``transfer_entropy(..., "discrete")``)
  against ``pyinform.transfer_entropy``. Target: <= 1x.
* RankMe and von Neumann entropy of a 2,000 x 512 float32 matrix against the user's one-liner
  on ``torch.linalg.svdvals`` (RankMe of Garrido et al.; the VNE from the same singular values).
  Target: <= 1x.
* DSE at N = 20,000, d = 256 (uniform [0, 1]^256), ``diffusion_spectral_entropy`` with its
  defaults, alone (no peer: the issue's bar is an absolute time): target < 60 s. It runs in a
  subprocess with a time limit (``--dse-limit``, default 120 s, plus 30 s for its start and
  warm-up), so a slow path reports
  "> limit" instead of stalling the run.

Timing: every implementation of a row gets one untimed warm-up call (numba compiles; trees and
caches warm), then ``rounds`` interleaved rounds (each round times ours, then each peer, once:
they see the same machine load). The table gives the median time of each, the median of the
per-round ratios ours/peer and their spread (min-max over rounds). Nothing here asserts a time.

``--busy`` starts one busy process (``python -c "while True: pass"``) before the first row and
kills it by its PID at the end, also when a row fails. ``--quick`` runs small rounds and skips
the N = 10^5 KSG row (well under a minute after compiling); the full run takes about 6-8 minutes
on 2 cores (the peers take about 40 s per call at N = 10^5).

How to run (from the repository root)::

    python benchmarks/bench_scale.py --quick
    python benchmarks/bench_scale.py                    # full size
    python benchmarks/bench_scale.py --busy             # beside one busy process
    pip install npeet-plus pyinform                     # peers (not dependencies of the library)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba  # noqa: E402
import numpy as np  # noqa: E402

import estimators  # noqa: E402
from bench_ksg import K, Worker, gaussian_blocks, in_process, machine_info, probe_data  # noqa: E402
from bench_timeseries import peer  # noqa: E402
from estimators import _neighbors  # noqa: E402
from estimators.diffusion import diffusion_spectral_entropy  # noqa: E402
from estimators.spectral import rankme, von_neumann_entropy  # noqa: E402
from estimators.transfer import transfer_entropy  # noqa: E402

DSE_N, DSE_D = 20_000, 256

DSE_WORKER = r"""
import json, sys, time, warnings
import numpy as np
sys.path.insert(0, sys.argv[3])
warnings.simplefilter("ignore")
from estimators.diffusion import diffusion_spectral_entropy
n, d = int(sys.argv[1]), int(sys.argv[2])
X = np.random.default_rng(3).uniform(0, 1, (n, d))
diffusion_spectral_entropy(X[:500])
t0 = time.perf_counter()
v = float(diffusion_spectral_entropy(X))
print(json.dumps({"t": time.perf_counter() - t0, "v": v}), flush=True)
"""


def timed(f):
    """A callable returning {"t": seconds, "v": value} for one call of f."""
    def run():
        t0 = time.perf_counter()
        v = f()
        return {"t": time.perf_counter() - t0, "v": v}
    return run


def interleave(impls, rounds, warm=None):
    """Warm each (or those named in ``warm``) up once, then ``rounds`` rounds timing each once in
    turn: {name: (times, value)}."""
    for name, run in impls.items():
        if warm is None or name in warm:
            run()
    res = {name: ([], None) for name in impls}
    for _ in range(rounds):
        for name, run in impls.items():
            r = run()
            res[name][0].append(r["t"])
            res[name] = (res[name][0], r["v"])
    return res


class Table:
    """The rows of the final markdown table."""

    def __init__(self):
        self.rows = []

    def ratio_row(self, what, res, peer_name, target, extra=""):
        """Ours against ``peer_name`` (both keys of ``res``); ``target`` is the largest ratio met."""
        ours, theirs = res["ours"][0], res[peer_name][0]
        ratios = [a / b for a, b in zip(ours, theirs)]
        r = statistics.median(ratios)
        self.rows.append((
            what, f"{statistics.median(ours):.4g} s", f"{peer_name}: {statistics.median(theirs):.4g} s",
            f"{r:.3f} [{min(ratios):.3f}-{max(ratios):.3f}]", f"<= {target:g}x" + extra,
            "yes" if r <= target else "no",
        ))

    def absolute_row(self, what, seconds, limit, note=""):
        met = not isinstance(seconds, str) and seconds < limit  # a string says it was stopped
        self.rows.append((what, seconds, note or "-", "-", f"< {limit:g} s", "yes" if met else "no"))

    def skip(self, what, why):
        self.rows.append((what, "-", why, "-", "-", "not run"))

    def print(self):
        head = ("row", "ours (median)", "peer (median)", "ours/peer median [spread]", "target", "met?")
        print("\n| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for r in self.rows:
            cells = [f"{c:.4g} s" if isinstance(c, float) else str(c) for c in r]
            print("| " + " | ".join(cells) + " |")


def row_ksg(table, n, rounds, worker, tmp):
    x, y = gaussian_blocks(n)
    impls = {"ours": in_process(lambda: estimators.mi_ksg(x, y, k=K, standardize=False))}
    if importlib.util.find_spec("npeet_plus") is not None:
        import npeet_plus

        impls["NPEET"] = in_process(lambda: npeet_plus.mi(x, y, k=K, base=math.e))
    if worker is not None:
        file = os.path.join(tmp, f"gauss5_{n}.npz")
        np.savez(file, x=x, y=y)
        impls["PyPI infomeasure"] = lambda: worker("ksg", file)
    if len(impls) == 1:
        table.skip(f"KSG MI 5-D vs 5-D, N = {n:,}", "no peer installed (npeet-plus, --peer-infomeasure)")
        return
    estimators.mi_ksg(x[:2000], y[:2000], k=K)
    # at N = 10^5 a warm-up call of a peer costs as much as a timed one: only ours warms up
    # (NPEET compiles nothing; the PyPI worker warms itself on a slice)
    res = interleave(impls, rounds, warm=list(impls) if n <= 20_000 else ["ours"])
    peers = [p for p in impls if p != "ours"]
    fastest = min(peers, key=lambda p: statistics.median(res[p][0]))
    diff = max(abs(res["ours"][1] - res[p][1]) for p in peers)
    for p in peers:
        print(f"  KSG N = {n}: {p} estimate {res[p][1]:.10f} (ours {res['ours'][1]:.10f})")
    table.ratio_row(f"KSG MI 5-D vs 5-D, N = {n:,} (fastest peer)", res, fastest, 0.5,
                    f", estimates within 1e-6 (differ by {diff:.1e})")
    if diff > 1e-6:
        table.rows[-1] = table.rows[-1][:5] + ("no (estimates differ)",)


def row_probe(table, rounds):
    z, labels = probe_data()

    def previous_search():
        _neighbors.FORCE_REGIME = "brute"
        try:
            return estimators.mi_ross(z, labels, k=K)
        finally:
            _neighbors.FORCE_REGIME = None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 500 samples in 256 dimensions warn (as they should)
        res = interleave({"ours": in_process(lambda: estimators.mi_ross(z, labels, k=K)),
                          "previous search": in_process(previous_search)}, rounds)
    assert res["ours"][1] == res["previous search"][1], "the searches must give the same estimate"
    table.ratio_row("probe kNN MI with labels (mi_ross), d = 256, N = 500", res, "previous search", 0.5)


def row_discrete_te(table, rounds):
    pyinform = peer("pyinform")
    if pyinform is None:
        table.skip("discrete TE, binary, N = 100,000", "pyinform not installed")
        return
    n = 100_000
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, n)
    y = np.r_[0, x[:-1]] ^ (rng.random(n) < 0.2).astype(np.int64)
    for k in (1, 3):
        res = interleave({
            "ours": timed(lambda k=k: float(transfer_entropy(x, y, "discrete", history=k, base=2))),
            "pyinform": timed(lambda k=k: float(pyinform.transfer_entropy(x, y, k=k))),
        }, rounds)
        assert abs(res["ours"][1] - res["pyinform"][1]) < 1e-9, (res["ours"][1], res["pyinform"][1])
        table.ratio_row(f"discrete TE, binary, N = {n:,}, history {k}", res, "pyinform", 1.0)


def row_spectral(table, rounds):
    import torch

    rng = np.random.default_rng(1)
    Z = (rng.standard_normal((2000, 512)) * np.arange(1, 513) ** -0.5).astype(np.float32)
    Zt = torch.from_numpy(Z)

    def svdvals_rankme():  # the user's one-liner on the float32 tensor (Garrido et al.: p = s / sum s + 1e-7)
        s = torch.linalg.svdvals(Zt)
        p = s / s.sum() + 1e-7
        return float(torch.exp(-(p * torch.log(p)).sum()))

    def svdvals_vne():  # Kim et al.: unit-norm rows, eigenvalues of Zn^T Zn / N from the singular values
        s = torch.linalg.svdvals(Zt / torch.linalg.norm(Zt, dim=1, keepdim=True))
        lam = s.double() ** 2 / Zt.shape[0]
        lam = lam[lam > 0]
        return float(-(lam * torch.log(lam)).sum())

    res = interleave({"ours": timed(lambda: float(rankme(Z))), "torch.linalg.svdvals": timed(svdvals_rankme)},
                     rounds)
    print(f"  RankMe: ours {res['ours'][1]:.6f}, svdvals {res['torch.linalg.svdvals'][1]:.6f}")
    table.ratio_row("RankMe, 2,000 x 512 float32", res, "torch.linalg.svdvals", 1.0)
    res = interleave({"ours": timed(lambda: float(von_neumann_entropy(Z))),
                      "torch.linalg.svdvals": timed(svdvals_vne)}, rounds)
    print(f"  VNE: ours {res['ours'][1]:.6f}, svdvals {res['torch.linalg.svdvals'][1]:.6f} (nats)")
    table.ratio_row("von Neumann entropy, 2,000 x 512 float32", res, "torch.linalg.svdvals", 1.0)


def row_dse(table, n, limit, tmp):
    script = os.path.join(tmp, "dse_worker.py")
    with open(script, "w") as fh:
        fh.write(DSE_WORKER)
    what = f"DSE, N = {n:,}, d = {DSE_D}, defaults (uniform data)"
    root = str(Path(__file__).resolve().parents[1])
    try:
        out = subprocess.run([sys.executable, script, str(n), str(DSE_D), root], capture_output=True,
                             text=True, timeout=limit + 30, check=True)
    except subprocess.TimeoutExpired:
        table.absolute_row(what, f"> {limit:g} s (stopped)", 60.0)
        return
    except subprocess.CalledProcessError as exc:
        table.skip(what, "failed: " + exc.stderr.strip().splitlines()[-1][:80])
        return
    r = json.loads(out.stdout.strip().splitlines()[-1])
    table.absolute_row(what, r["t"], 60.0, f"(no peer) DSE = {r['v']:.4f} nats")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small rounds, no N = 10^5 KSG row, DSE at N = 2,000")
    parser.add_argument("--busy", action="store_true", help="run beside one busy process (started and killed here)")
    parser.add_argument("--rounds", type=int, default=0, help="interleaved rounds of the fast rows (default 5; quick 2)")
    default_peer = os.environ.get("INFOMEASURE_PEER_PATH", "/tmp/peer_im" if os.path.isdir("/tmp/peer_im") else "")
    parser.add_argument("--peer-infomeasure", default=default_peer,
                        help="directory holding the PyPI infomeasure package (default /tmp/peer_im if present)")
    parser.add_argument("--dse-limit", type=float, default=120.0, help="seconds the DSE row may take (default 120)")
    args = parser.parse_args(argv)
    if args.rounds < 0 or args.dse_limit <= 0:
        parser.error("--rounds must be positive and --dse-limit above 0")
    if args.peer_infomeasure and not os.path.isdir(args.peer_infomeasure):
        parser.error(f"--peer-infomeasure: {args.peer_infomeasure!r} is not a directory")
    rounds = args.rounds or (2 if args.quick else 5)
    busy = None
    t_start = time.perf_counter()
    table = Table()
    try:
        if args.busy:
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.5)
        print("Machine")
        for line in machine_info():
            print("  " + line)
        print(f"  {f'beside one busy process (pid {busy.pid})' if busy else 'idle apart from this run'}; "
              f"{rounds} interleaved rounds ({'quick' if args.quick else 'full'} mode), "
              f"numba threads {numba.get_num_threads()}")
        with tempfile.TemporaryDirectory() as tmp:
            worker = Worker("pypi", args.peer_infomeasure, tmp) if args.peer_infomeasure else None
            try:
                row_ksg(table, 10_000, rounds, worker, tmp)
                if not args.quick:
                    row_ksg(table, 100_000, 2, worker, tmp)
            finally:
                if worker is not None:
                    worker.close()
            row_probe(table, rounds * 4)
            row_discrete_te(table, rounds * 25)
            row_spectral(table, rounds)
            row_dse(table, 2000 if args.quick else DSE_N, args.dse_limit, tmp)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    table.print()
    print(f"\n(total {time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
