"""Benchmark: neural MI estimators (MINE, NWJ, InfoNCE, SMILE) beside KSG on tasks with known MI.

What it measures
----------------
The "Beyond Normal" tasks of Czyż et al. (NeurIPS 2023) that have a closed-form
mutual information, rebuilt here from their published generating formulas:

* bivariate normal, rho = 0.75 (0.4133 nats), and the same after an invertible
  transform of every coordinate (normal CDF, x*sqrt|x| "half-cube", asinh),
  which leaves the MI unchanged;
* dense multinormal, all correlations 0.5: 2x2 (0.2939), 3x3 (0.4133),
  5x5 (0.5928) (25x25, 1.2922, with ``--tasks`` including ``dense-25``);
* "two pairs": corr(x1, y1) = corr(x2, y2) = 0.8, every other coordinate
  independent, 3x3 and 5x5 (1.0217 at any dimension);
* uniform additive noise, X ~ U(0, 1), Y = X + U(-eps, eps): eps = 0.1
  (eps - ln 2eps = 1.7094) and eps = 0.75 (1/(4 eps) = 0.3333);
* Student-t with identity dispersion, nu = 1, 1x1 (0.2242) and nu = 2, 2x2
  (0.1931); X and Y are uncorrelated but dependent through the shared scale.
  Both again after asinh of every coordinate ("student-1-asinh", ...), the
  preprocessing that the neural estimators' heavy-tail warning recommends.

Each task draws N samples (default 10,000) with a fixed seed. Estimators, all
in nats, on the same arrays in one process:

* ``estimators.mutual_info.mi_ksg`` (KSG estimator 1, k = 4), the kNN baseline;
* ``estimators.neural.mine``, ``mi_nwj``, ``mi_infonce``, ``mi_smile`` with
  their defaults (joint critic, hidden 64 x 2, batch 64, Adam 1e-3, 50 %
  held out, early stopping), one thread.

Reported per estimator: the estimate (mean over ``--seeds`` critic seeds), the
signed relative error, whether the task counts as solved by the criterion of
Czyż et al. (|ln(estimate / truth)| < ln 1.5), whether the call warned, and
the time of one call.
KSG times are the median of ``--repeats`` calls after a warm-up call (numba
compiles on the first one); a neural estimate trains a network and stops
early, so its time is the median over its seeds, after one untimed warm-up fit
that loads torch. Nothing here asserts a time.

How to run (from the repository root)::

    python benchmarks/bench_neural.py                     # all default tasks, N = 10^4, ~5 min
    python benchmarks/bench_neural.py --seeds 3 --n 5000
    python benchmarks/bench_neural.py --tasks normal-0.75,student-1 --estimators ksg,smile
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
import warnings

import numpy as np
from scipy.special import digamma, gammaln, ndtr

import estimators.neural as neural
from estimators.mutual_info import mi_ksg


# ----------------------------------------------------------------------------------------------
# tasks: (name, sampler(n, rng) -> (x, y), true MI in nats)
# ----------------------------------------------------------------------------------------------
def _gaussian_mi(cov, dx):
    ld = lambda a: np.linalg.slogdet(a)[1]  # noqa: E731
    return 0.5 * (ld(cov[:dx, :dx]) + ld(cov[dx:, dx:]) - ld(cov))


def _gaussian_task(cov, dx, transform=None):
    chol = np.linalg.cholesky(cov)

    def sample(n, rng):
        z = rng.standard_normal((n, cov.shape[0])) @ chol.T
        if transform is not None:
            z = transform(z)
        return z[:, :dx], z[:, dx:]

    return sample, _gaussian_mi(cov, dx)


def _dense(dx, dy, c=0.5):
    cov = np.full((dx + dy, dx + dy), c)
    np.fill_diagonal(cov, 1.0)
    return cov


def _two_pairs(d, c=0.8):
    cov = np.eye(2 * d)
    for j in range(2):
        cov[j, d + j] = cov[d + j, j] = c
    return cov


def _uniform_noise(eps):
    def sample(n, rng):
        x = rng.random((n, 1))
        return x, x + rng.uniform(-eps, eps, size=(n, 1))

    truth = eps - math.log(2 * eps) if eps <= 0.5 else 1.0 / (4 * eps)
    return sample, truth


def _t_entropy(nu, d):
    """Differential entropy (nats) of a d-dimensional Student-t with identity dispersion."""
    return (
        gammaln(nu / 2) + d / 2 * math.log(nu * math.pi) - gammaln((nu + d) / 2)
        + (nu + d) / 2 * (digamma((nu + d) / 2) - digamma(nu / 2))
    )


def _student(nu, dx, dy):
    def sample(n, rng):
        z = rng.standard_normal((n, dx + dy)) / np.sqrt(rng.chisquare(nu, size=(n, 1)) / nu)
        return z[:, :dx], z[:, dx:]

    return sample, _t_entropy(nu, dx) + _t_entropy(nu, dy) - _t_entropy(nu, dx + dy)


def _tasks():
    rho = np.array([[1.0, 0.75], [0.75, 1.0]])
    return {
        "normal-0.75": ("bivariate normal rho=0.75, 1x1", *_gaussian_task(rho, 1)),
        "normal-cdf": ("normal CDF of bivariate normal, 1x1", *_gaussian_task(rho, 1, ndtr)),
        "half-cube": (
            "x*sqrt|x| of bivariate normal, 1x1",
            *_gaussian_task(rho, 1, lambda z: z * np.sqrt(np.abs(z))),
        ),
        "asinh": ("asinh of bivariate normal, 1x1", *_gaussian_task(rho, 1, np.arcsinh)),
        "dense-2": ("dense multinormal 0.5, 2x2", *_gaussian_task(_dense(2, 2), 2)),
        "dense-3": ("dense multinormal 0.5, 3x3", *_gaussian_task(_dense(3, 3), 3)),
        "dense-5": ("dense multinormal 0.5, 5x5", *_gaussian_task(_dense(5, 5), 5)),
        "dense-25": ("dense multinormal 0.5, 25x25", *_gaussian_task(_dense(25, 25), 25)),
        "two-pairs-3": ("two pairs corr 0.8, 3x3", *_gaussian_task(_two_pairs(3), 3)),
        "two-pairs-5": ("two pairs corr 0.8, 5x5", *_gaussian_task(_two_pairs(5), 5)),
        "uniform-0.1": ("uniform additive noise eps=0.1, 1x1", *_uniform_noise(0.1)),
        "uniform-0.75": ("uniform additive noise eps=0.75, 1x1", *_uniform_noise(0.75)),
        "student-1": ("Student-t nu=1, 1x1", *_student(1, 1, 1)),
        "student-2": ("Student-t nu=2, 2x2", *_student(2, 2, 2)),
        "student-1-asinh": ("asinh of Student-t nu=1, 1x1", *_asinh(*_student(1, 1, 1))),
        "student-2-asinh": ("asinh of Student-t nu=2, 2x2", *_asinh(*_student(2, 2, 2))),
    }


def _asinh(sample, truth):
    """The same task after asinh of every coordinate: an invertible map, so the MI is unchanged."""

    def transformed(n, rng):
        x, y = sample(n, rng)
        return np.arcsinh(x), np.arcsinh(y)

    return transformed, truth


DEFAULT_TASKS = [
    "normal-0.75", "normal-cdf", "half-cube", "asinh", "dense-2", "dense-3", "dense-5",
    "two-pairs-3", "two-pairs-5", "uniform-0.1", "uniform-0.75", "student-1", "student-2",
    "student-1-asinh", "student-2-asinh",
]

NEURAL = {"mine": neural.mine, "nwj": neural.mi_nwj, "infonce": neural.mi_infonce, "smile": neural.mi_smile}


def solved(estimate, truth):
    """Czyż et al. (2023): an estimate within a factor 1.5 of the truth."""
    return estimate > 0 and abs(math.log(estimate / truth)) < math.log(1.5)


def run_ksg(x, y, repeats):
    mi_ksg(x, y)  # warm-up: numba compiles on the first call
    times, value = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = mi_ksg(x, y)
        times.append(time.perf_counter() - t0)
    return value, statistics.median(times), 0, True


def run_neural(fn, x, y, seeds):
    values, times, steps, conv = [], [], [], []
    for s in range(seeds):
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = fn(x, y, seed=s, return_result=True)
        times.append(time.perf_counter() - t0)
        values.append(r.value)
        steps.append(r.n_steps)
        conv.append(r.converged and not caught)
    return float(np.mean(values)), statistics.median(times), int(np.median(steps)), all(conv)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="samples per task (default 10000)")
    ap.add_argument("--seeds", type=int, default=1, help="critic seeds per neural estimate (default 1)")
    ap.add_argument("--repeats", type=int, default=3, help="timed KSG calls (median; default 3)")
    ap.add_argument("--tasks", default=",".join(DEFAULT_TASKS), help="comma-separated task names")
    ap.add_argument("--estimators", default="ksg,mine,nwj,infonce,smile")
    args = ap.parse_args(argv)

    import torch

    tasks = _tasks()
    names = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in names if t not in tasks]
    if unknown:
        raise SystemExit(f"unknown task(s) {unknown}; choose from {sorted(tasks)}")
    ests = [e.strip() for e in args.estimators.split(",") if e.strip()]
    bad = [e for e in ests if e != "ksg" and e not in NEURAL]
    if bad:
        raise SystemExit(f"unknown estimator(s) {bad}; choose from ksg, {', '.join(NEURAL)}")

    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"os.cpu_count() = {os.cpu_count()}; N = {args.n}, neural seeds = {args.seeds}, "
          f"KSG repeats = {args.repeats}")
    # warm-up fit: loads torch and its kernels once, outside the timings
    wx, wy = tasks["normal-0.75"][1](2000, np.random.default_rng(99))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        neural.mi_nwj(wx, wy, seed=0, critic="separable", max_steps=50)

    rows = []
    t_all = time.perf_counter()
    for name in names:
        label, sampler, truth = tasks[name]
        x, y = sampler(args.n, np.random.default_rng(2023))
        for e in ests:
            if e == "ksg":
                value, sec, steps, ok = run_ksg(x, y, args.repeats)
            else:
                value, sec, steps, ok = run_neural(NEURAL[e], x, y, args.seeds)
            rel = (value - truth) / truth
            rows.append((name, label, truth, e, value, rel, solved(value, truth), sec, steps, ok))
            print(f"{name:13s} {e:8s} truth {truth:.4f}  est {value:8.4f}  rel.err {100 * rel:+6.1f}%  "
                  f"{'solved' if solved(value, truth) else 'FAILED'}  {sec:7.2f} s"
                  + (f"  steps {steps}{'' if ok else ' (warned)'}" if e != "ksg" else ""),
                  flush=True)
    total = time.perf_counter() - t_all

    # Markdown tables: estimates with relative error, then times
    print("\n### Estimates (nats; relative error; * = not solved, |ln(est/truth)| >= ln 1.5; "
          "w = the call warned: heavy tails, no convergence or InfoNCE ceiling)\n")
    print("| task | truth | " + " | ".join(ests) + " |")
    print("|---|---|" + "---|" * len(ests))
    for name in names:
        sub = {r[3]: r for r in rows if r[0] == name}
        cells = []
        for e in ests:
            r = sub[e]
            cells.append(f"{r[4]:.3f} ({100 * r[5]:+.0f}%){'' if r[6] else ' *'}{'' if r[9] else ' w'}")
        print(f"| {sub[ests[0]][1]} | {sub[ests[0]][2]:.4f} | " + " | ".join(cells) + " |")
    print("\n### Time per call (s)\n")
    print("| task | " + " | ".join(ests) + " |")
    print("|---|" + "---|" * len(ests))
    for name in names:
        sub = {r[3]: r for r in rows if r[0] == name}
        print(f"| {name} | " + " | ".join(f"{sub[e][7]:.2f}" for e in ests) + " |")
    print("\n### Summary\n")
    for e in ests:
        sub = [r for r in rows if r[3] == e]
        print(f"- {e}: solved {sum(r[6] for r in sub)}/{len(sub)}, median |rel. err| "
              f"{100 * statistics.median(abs(r[5]) for r in sub):.0f}%, total time "
              f"{sum(r[7] for r in sub):.1f} s")
    print(f"\nwall time of the benchmark: {total:.0f} s")


if __name__ == "__main__":
    main()
