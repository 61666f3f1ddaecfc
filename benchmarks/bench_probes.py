"""Overhead of training-time probes on a small MLP: probed loop time / plain loop time.

Acceptance (issue 4): at every=50 the probed loop takes at most 1.25x the plain loop. The same
model, data and seeds in both loops; median of several repetitions after a warm-up.

    python benchmarks/bench_probes.py [--steps 1000] [--every 50] [--reps 5]
"""

import argparse
import itertools
import statistics
import time
import warnings

import torch

from infomeasure.probes import Probes

WIDTHS = [784, 256, 128, 10]  # an MNIST-sized MLP; --widths changes it


def make():
    torch.manual_seed(0)
    layers = []
    for a, b in itertools.pairwise(WIDTHS):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def loop(steps, probes=None, model_opt=None):
    """Train ``steps`` steps (calling ``probes.step`` after each if given); seconds taken."""
    model, opt = model_opt if model_opt is not None else make()
    g = torch.Generator().manual_seed(1)
    t0 = time.perf_counter()
    for step in range(steps):
        x = torch.randn(128, WIDTHS[0], generator=g)
        loss = torch.nn.functional.cross_entropy(model(x), (x[:, 0] > 0).long())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if probes is not None:
            probes.step(step)
    return time.perf_counter() - t0


def probed(steps, every, measures, n_probe):
    """The same loop with probes on two layers; (seconds, seconds inside probe steps, rows)."""
    model, opt = make()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(n_probe, WIDTHS[0], generator=g)
    y = (x[:, 0] > 0).long()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kNN undersampling/ties warnings: not timed here
        with Probes(model, layers=["1", "3"], measures=measures, every=every, probe_data=(x, y)) as p:
            t = loop(steps, p, (model, opt))
    return t, p.probe_seconds, len(p.results)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--n-probe", type=int, default=512)
    ap.add_argument("--widths", default="784,256,128,10", help="layer widths, comma-separated")
    args = ap.parse_args()
    WIDTHS[:] = [int(w) for w in args.widths.split(",")]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; MLP {'-'.join(map(str, WIDTHS))}, batch 128, "
          f"{args.steps} steps, probes on 2 layers every {args.every} steps, {args.n_probe} probe samples")
    for measures in (["rankme", "von_neumann_entropy"], ["rankme", "mi_labels"]):
        loop(50)
        probed(50, args.every, measures, args.n_probe)  # warm-up (numba compilation, allocator)
        plain, prob, inside = [], [], []
        for _ in range(args.reps):
            plain.append(loop(args.steps))
            t, ps, nrows = probed(args.steps, args.every, measures, args.n_probe)
            prob.append(t)
            inside.append(ps)
        mp, mq = statistics.median(plain), statistics.median(prob)
        print(f"measures={measures}: plain {mp:.3f} s, probed {mq:.3f} s (probe steps {statistics.median(inside):.3f} s), "
              f"ratio {mq / mp:.3f} (acceptance <= 1.25), {nrows} rows")


if __name__ == "__main__":
    main()
