"""What training-time probes cost: probed loop time / plain loop time, idle and beside a busy process.

For each model (the acceptance MLP 784-256-128-10, the demo's MLP 64-256-256-10, a small CNN),
each measure set (RankMe + VNE; DSMI; kNN MI with labels) and each mode (background worker, the
default; synchronous), the same training loop runs with and without probes at ``every`` = 50,
``--reps`` times, plain and probed one after the other in alternating order. The table gives the
median ratio of wall times (and the ratio of the fastest runs: other processes only ever add
time), the probes' own share of the training thread's time, and the training step time in the 20
steps after each probe step, over the same steps of the plain loop and over the steps of the same
loop furthest from a probe step (25-49 after it; this one cancels the drift between whole loops,
which on a shared 2-core machine reaches tens of percent). A "plain" row per model compares two
plain loops the same way: that is the noise floor of the ratios. Everything is measured twice: on
an idle machine, and with one competing busy process (a ``while True`` loop pinned to one core).
Then the demo's wall time, idle and busy.

Acceptance (issue 16): MLP 784-256-128-10 with RankMe + VNE <= 1.10x idle and <= 1.25x busy;
with kNN MI <= 1.5x in background mode in both; steps after a probe step within 5% of plain;
``infomeasure demo`` <= 40 s idle and <= 60 s busy on 2 cores.

    python benchmarks/bench_probes.py                 # everything (about 15 minutes on 2 cores)
    python benchmarks/bench_probes.py --quick         # fewer steps and repetitions
    python benchmarks/bench_probes.py --models mlp --measures rankme+vne --no-demo
"""

from __future__ import annotations

import argparse
import atexit
import inspect
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import torch

from infomeasure.probes import Probes

MEASURES = {
    "rankme+vne": ["rankme", "von_neumann_entropy"],
    "dsmi": ["dsmi"],
    "knn-mi": [("mi_labels", {"noise": 1e-10, "seed": 0})],
}
AFTER = 20  # training steps after each probe step whose time is compared with the plain loop


# ------------------------------------------------------------------------------------------------
# models: (make model, batch maker, probed layer names)
# ------------------------------------------------------------------------------------------------
def _mlp(widths):
    layers = []
    for a, b in itertools.pairwise(widths):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def _cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 10),
    )


MODELS = {
    # name: (factory, input shape, batch size, probed layers)
    "mlp": (lambda: _mlp([784, 256, 128, 10]), (784,), 128, ["1", "3"]),
    "demo-mlp": (lambda: _mlp([64, 256, 256, 10]), (64,), 128, ["1", "3"]),
    "cnn": (_cnn, (1, 28, 28), 64, ["1", "4"]),
}


def _labels(x):
    """Ten classes from a fixed random projection of the inputs (learnable, deterministic)."""
    w = torch.randn(x[0].numel(), 10, generator=torch.Generator().manual_seed(7))
    return (x.reshape(len(x), -1) @ w).argmax(1)


def run_loop(model_name, steps, probes_kw=None, every=50, n_probe=512):
    """Train ``steps`` steps; ``(seconds, per-step seconds, probe timing or None)``."""
    factory, shape, batch, layers = MODELS[model_name]
    torch.manual_seed(0)
    model = factory()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    probes = None
    if probes_kw is not None:
        xp = torch.randn(n_probe, *shape, generator=torch.Generator().manual_seed(2))
        probes = Probes(model, layers=layers, every=every, probe_data=(xp, _labels(xp)), **probes_kw)
    per_step = []
    t0 = time.perf_counter()
    for step in range(steps):
        ts = time.perf_counter()
        x = torch.randn(batch, *shape, generator=g)
        loss = torch.nn.functional.cross_entropy(model(x), _labels(x))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if probes is not None:
            probes.step(step)
        per_step.append(time.perf_counter() - ts)
    if probes is not None:
        probes.close()  # waits for the last measurements: they are part of the cost
    total = time.perf_counter() - t0
    return total, per_step, (probes.timing if probes is not None else None)


def _after_probe(per_step, every, steps):
    """Indices of the AFTER steps following each probe step (the probe step itself excluded)."""
    return [s for p in range(0, steps, every) for s in range(p + 1, min(p + 1 + AFTER, steps))]


def _far_from_probe(every, steps):
    """Indices of the steps of the same loop furthest from any probe step (offsets AFTER + 5 .. every - 1)."""
    return [s for p in range(0, steps, every) for s in range(p + AFTER + 5, min(p + every, steps))]


def _supports(name):
    return name in inspect.signature(Probes).parameters


def measure(model_name, measure_set, mode, *, steps, reps, every):
    """Ratios of ``reps`` (plain, probed) pairs, run one after the other in alternating order.

    ``measure_set=None`` is the A/A check: the "probed" loop is a second plain loop, so its ratios
    show how far two identical loops differ on this machine (the noise floor of the other rows).
    Returns the median pair ratio with its spread, the ratio of the fastest runs (noise from other
    processes only ever adds time), the probes' share of the training thread, and two views of the
    steps after a probe step: over the same steps of the plain loop, and over the steps furthest
    from a probe step in the same loop (which cancels the loop-to-loop drift of a busy machine).
    """
    if measure_set is None:
        kw = None
    else:
        kw = {"measures": MEASURES[measure_set]}
        if _supports("background"):
            kw["background"] = mode == "background"
        elif mode == "background":
            return None
        run_loop(model_name, 2 * every, kw, every)  # warm-up: numba compilation, allocator
    run_loop(model_name, 2 * every)
    plains, probeds, shares, after, within = [], [], [], [], []
    idx, far = _after_probe(None, every, steps), _far_from_probe(every, steps)
    for rep in range(reps):
        runs = {}
        for which in (("plain", "probed") if rep % 2 == 0 else ("probed", "plain")):
            runs[which] = run_loop(model_name, steps, kw if which == "probed" else None, every)
        (plain, plain_steps, _), (probed, probed_steps, timing) = runs["plain"], runs["probed"]
        plains.append(plain)
        probeds.append(probed)
        shares.append(timing["probe_share"] if timing else float("nan"))
        near = statistics.median(probed_steps[i] for i in idx)
        after.append(near / statistics.median(plain_steps[i] for i in idx))
        within.append(near / statistics.median(probed_steps[i] for i in far))
    ratios = [b / a for a, b in zip(plains, probeds)]
    return {"ratio": statistics.median(ratios), "spread": (min(ratios), max(ratios)),
            "fastest": min(probeds) / min(plains), "share": statistics.median(shares),
            "after": statistics.median(after), "within": statistics.median(within)}


# ------------------------------------------------------------------------------------------------
# load
# ------------------------------------------------------------------------------------------------
class Busy:
    """One competing process: a ``while True`` loop pinned to core 0 (``with Busy(): ...``)."""

    def __enter__(self):
        code = "import os\ntry:\n    os.sched_setaffinity(0, {0})\nexcept (AttributeError, OSError):\n    pass\nwhile True:\n    pass\n"
        self.proc = subprocess.Popen([sys.executable, "-c", code])
        atexit.register(self.proc.kill)
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def demo_seconds():
    """Wall time of ``infomeasure demo -q`` in a fresh process, and its printed probe share line."""
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "infomeasure", "demo", "-q", "--output", out],
                           capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
    if p.returncode:
        raise RuntimeError(f"the demo failed:\n{p.stderr[-2000:]}")
    share = next((line.strip() for line in p.stdout.splitlines() if "probe" in line.lower() and "%" in line), "")
    return wall, share


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--models", default="mlp,demo-mlp,cnn")
    ap.add_argument("--measures", default="rankme+vne,dsmi,knn-mi")
    ap.add_argument("--modes", default="background,sync")
    ap.add_argument("--loads", default="idle,busy")
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument("--no-aa", dest="aa", action="store_false", help="skip the plain-vs-plain noise rows")
    ap.add_argument("--quick", action="store_true", help="500 steps, 2 repetitions")
    args = ap.parse_args()
    warnings.simplefilter("ignore", UserWarning)  # kNN sample-size warnings (also from the worker thread)
    if args.quick:
        args.steps, args.reps = 500, 2
    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, {os.cpu_count()} CPUs; "
          f"{args.steps} steps, probes every {args.every} on 2 layers, 512 probe samples, {args.reps} repetitions "
          "(median; spread in brackets)")
    from infomeasure.probes import _available_cores

    auto = "background" if torch.get_num_threads() < _available_cores() else "sync"
    print(f"background='auto' (the default) picks {auto} here: CPU models, {torch.get_num_threads()} torch threads "
          f"on {_available_cores()} cores")
    print("ratio: probed / plain loop wall time, median of the pairs [spread]; fastest: fastest probed run / fastest "
          "plain run; after/plain: the 20 steps after each probe step over the same steps of the plain loop; "
          "after/far: over the steps 25-49 after each probe step of the same loop. The 'plain' rows compare two "
          "plain loops: the noise floor.")
    print(f"{'load':5} {'model':9} {'measures':11} {'mode':11} {'ratio':>6} {'spread':>13} {'fastest':>7} "
          f"{'probe share':>11} {'after/plain':>11} {'after/far':>9}")
    for load in args.loads.split(","):
        ctx = Busy() if load == "busy" else _Null()
        with ctx:
            for model_name in args.models.split(","):
                sets = ([None] if args.aa else []) + args.measures.split(",")
                for ms in sets:
                    for mode in (["-"] if ms is None else args.modes.split(",")):
                        r = measure(model_name, ms, mode, steps=args.steps, reps=args.reps, every=args.every)
                        if r is None:
                            continue
                        lo, hi = r["spread"]
                        share = "-" if ms is None else f"{100 * r['share']:.1f}%"
                        print(f"{load:5} {model_name:9} {ms or 'plain':11} {mode:11} {r['ratio']:6.3f} "
                              f"[{lo:5.3f}, {hi:5.3f}] {r['fastest']:7.3f} {share:>11} {r['after']:11.3f} "
                              f"{r['within']:9.3f}", flush=True)
            if not args.no_demo:
                wall, share = demo_seconds()
                print(f"{load:5} infomeasure demo: {wall:.1f} s wall  {share}", flush=True)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()
