"""The built-in demo: a network that generalises against one that memorises, measured as they train.

``infomeasure demo`` (or :func:`demo`) trains the same small MLP twice on scikit-learn's bundled
digits (1,797 8x8 images, shipped with scikit-learn, so nothing is downloaded): once on the true
labels, once on shuffled labels. :class:`infomeasure.Probes` measures both hidden layers on a fixed
held-out probe set with its **true** labels, on a log-spaced schedule: RankMe, von Neumann entropy,
diffusion spectral entropy (DSE), diffusion spectral mutual information (DSMI) and kNN mutual
information with the labels (Ross 2014). Two run directories (``true-labels`` and
``shuffled-labels``) and one comparison report are written.

What it shows (Liao et al. 2023 for DSMI; Zhang et al. 2017 for memorisation): the network trained
on true labels gains information about the held-out labels as it learns (DSMI rises, its
representation compresses to about as many dimensions as classes), while the one that memorises
shuffled labels fits its training set just as well but its held-out representation carries no more
information about the true labels than at initialisation (DSMI stays flat or falls, the rank
grows).
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field

__all__ = ["DEMO_MEASURES", "DemoResult", "demo"]

#: The probe measures of the demo: (name, parameters). ReLU outputs hold exact zeros; the kNN MI
#: gets a 1e-10 seeded jitter so those ties do not bias it (``noise=``).
DEMO_MEASURES = (
    ("dsmi", {}),
    ("mi_labels", {"noise": 1e-10, "seed": 0}),
    ("rankme", {}),
    ("von_neumann_entropy", {}),
    ("diffusion_spectral_entropy", {}),
)

RUNS = ("true-labels", "shuffled-labels")


@dataclass
class DemoResult:
    """What :func:`demo` wrote and measured.

    Attributes
    ----------
    output : str
        The output folder.
    report : str
        The comparison report (``output/report.html``).
    runs : dict
        ``run name -> run directory``.
    final : dict
        ``run name -> {(layer, measure): value at the last step}``, accuracies under layer ``"model"``.
    seconds : float
        Wall time of the whole demo.
    probe_timing : dict
        ``run name ->`` :attr:`infomeasure.Probes.timing` of that run (without the per-step list):
        how much of the training thread's time the probes took.
    """

    output: str
    report: str
    runs: dict = field(default_factory=dict)
    final: dict = field(default_factory=dict)
    seconds: float = 0.0
    probe_timing: dict = field(default_factory=dict)

    def ratio(self, measure="dsmi", layer="hidden2") -> float:
        """Last value of ``measure`` on ``layer`` in the true-label run over the shuffled-label run."""
        return self.final["true-labels"][(layer, measure)] / self.final["shuffled-labels"][(layer, measure)]


class _Schedule:
    """Log-spaced probe steps plus the last step, so every run ends with a measurement."""

    def __init__(self, per_decade, last):
        from .probes import log_spaced

        self._log = log_spaced(per_decade)
        self.last = int(last)

    def __call__(self, step):
        return step == self.last or (step < self.last and self._log(step))

    def __repr__(self):
        return f"{self._log!r} and step {self.last}"


def _require():
    missing = []
    for mod in ("torch", "sklearn", "matplotlib"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise ImportError(
            f"the demo needs {', '.join(missing)}: pip install 'infomeasure[demo]' "
            "(torch, scikit-learn and matplotlib)"
        )


def _data(seed, n_probe):
    import numpy as np
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # pixel intensities 0..16 -> [0, 1]
    perm = np.random.default_rng(seed).permutation(len(X))
    probe, train = perm[:n_probe], perm[n_probe:]
    return X[train], y[train].astype(np.int64), X[probe], y[probe].astype(np.int64)


def _mlp(torch):
    class MLP(torch.nn.Module):
        """64-256-256-10 with ReLU; ``hidden1`` and ``hidden2`` are the probed representations."""

        def __init__(self):
            super().__init__()
            self.hidden1 = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU())
            self.hidden2 = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.ReLU())
            self.out = torch.nn.Linear(256, 10)

        def forward(self, x):
            return self.out(self.hidden2(self.hidden1(x)))

    return MLP()


def _log_accuracies(torch, model, probes, step, train, heldout):
    """Log train and held-out accuracy and the training loss at a probe step (layer ``"model"``)."""
    (xt, yt), (xp, ypt) = train, heldout
    model.eval()
    with torch.no_grad():
        logits = model(xt)
        train_loss = torch.nn.functional.cross_entropy(logits, yt).item()
        train_acc = (logits.argmax(1) == yt).float().mean().item()
        held_acc = (model(xp).argmax(1) == ypt).float().mean().item()
    model.train()
    probes.log(step, train_accuracy=train_acc, heldout_accuracy=held_acc, train_loss=train_loss)


def _train_run(name, labels, data, out_dir, *, steps, seed, batch_size, lr, per_decade, bar):
    import torch

    from .probes import Probes

    Xtr, _, Xp, yp = data
    torch.manual_seed(seed)
    model = _mlp(torch)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(Xtr), torch.from_numpy(labels)
    xp, ypt = torch.from_numpy(Xp), torch.from_numpy(yp)
    gen = torch.Generator().manual_seed(seed)
    probes = Probes(
        model, ["hidden1", "hidden2"], measures=list(DEMO_MEASURES), every=_Schedule(per_decade, steps),
        probe_data=(xp, ypt), run_dir=os.path.join(out_dir, name), seed=seed,
    )
    n, step, done = len(xt), 0, False
    with probes:
        while not done:
            order = torch.randperm(n, generator=gen)  # one epoch
            for b in range(0, n, batch_size):
                if probes.step(step):
                    _log_accuracies(torch, model, probes, step, (xt, yt), (xp, ypt))
                if step == steps:
                    done = True
                    break
                idx = order[b:b + batch_size]
                loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                if bar is not None:
                    bar.update(1)
        rows = probes.results
    final = {}
    for r in rows:
        if r["value"] is not None and r["step"] == steps:
            final[(r["layer"], r["measure"])] = r["value"]
    timing = {k: v for k, v in probes.timing.items() if k != "steps"}
    return rows, final, timing


def _table_rows(layer="hidden2"):
    """``(layer, measure, label)`` of each row of the printed summary."""
    names = [("model", "train_accuracy", "train accuracy"), ("model", "heldout_accuracy", "held-out accuracy")]
    return names + [(layer, m, f"{m} ({layer})") for m, _ in DEMO_MEASURES]


def _table(final, layer="hidden2"):
    """The printed summary: final values per run, with the ratio of the two runs."""
    names = _table_rows(layer)
    t, s = final["true-labels"], final["shuffled-labels"]
    w = max(len(lbl) for *_, lbl in names)
    lines = [f"{'':{w}}  {'true-labels':>12}  {'shuffled-labels':>15}  {'ratio':>6}"]
    for la, m, lbl in names:
        a, b = t.get((la, m)), s.get((la, m))
        fa = f"{a:12.3f}" if a is not None else f"{'failed':>12}"
        fb = f"{b:15.3f}" if b is not None else f"{'failed':>15}"
        ratio = f"{a / b:6.2f}" if a is not None and b not in (None, 0) and la != "model" else ""
        lines.append(f"{lbl:{w}}  {fa}  {fb}  {ratio:>6}".rstrip())
    return "\n".join(lines)


def _check_arguments(steps, seed, quick):
    """``(steps, seed)`` as ints: ``steps`` defaults to 300 (``quick``) or 3,000; both are checked."""
    import numpy as np

    if steps is None:
        steps = 300 if quick else 3000
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    return int(steps), int(seed)


def _fresh_output(output) -> str:
    """Create the output folder and remove earlier demo run directories in it (refusing anything else)."""
    import shutil

    output = os.fspath(output)
    if os.path.exists(output) and not os.path.isdir(output):
        raise ValueError(f"output {output!r} is a file; pass a folder")
    os.makedirs(output, exist_ok=True)
    for name in RUNS:
        path = os.path.join(output, name)
        if os.path.isdir(path):
            if not os.path.exists(os.path.join(path, "metrics.jsonl")):
                raise ValueError(f"{path} exists and is not a run directory; choose another output folder")
            shutil.rmtree(path)
    return output


def _progress_bar(total):
    from tqdm.auto import tqdm

    tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    # a log file (CI) gets an update every 10 s instead of ten a second
    return tqdm(total=total, desc="training", unit="step", file=sys.stderr, leave=False, dynamic_ncols=True,
                mininterval=0.1 if tty else 10.0)


def _train_runs(data, output, *, steps, seed, progress):
    """Train and probe on the true and on the shuffled labels: ``(finals, notes)``, the final values per run
    and the messages of the UserWarnings raised meanwhile (once each)."""
    import numpy as np
    import torch

    ytr = data[1]
    shuffled = np.random.default_rng(seed + 1).permutation(ytr)
    bar = _progress_bar(2 * steps) if progress else None
    finals, notes, timings = {}, [], {}
    threads = torch.get_num_threads()
    # One intra-op thread: a 64-256-256-10 MLP on batches of 128 gains little from a second one
    # (3,000 steps: 3.2 s with 2 threads, 4.7 s with 1 on an idle 2-core machine), and a second
    # thread stalls whenever another process holds a core (16.6 s against 4.4 s beside one busy
    # process). Values stay within the spread between machines (tests/infomeasure/test_demo.py).
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for name, labels in zip(RUNS, (ytr, shuffled)):
                if bar is not None:
                    bar.set_description(name)
                _, finals[name], timings[name] = _train_run(
                    name, labels, data, output, steps=steps, seed=seed, batch_size=128, lr=1e-3,
                    per_decade=6, bar=bar,
                )
    finally:
        if bar is not None:
            bar.close()
        torch.set_num_threads(threads)
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, UserWarning) and msg not in notes:
            notes.append(msg)
    return finals, notes, timings


def _parameters(data, steps, seed) -> dict:
    """The demo's settings, for the report's appendix."""
    Xtr, _, Xp, _ = data
    return {
        "demo": {
            "data": f"scikit-learn digits: {len(Xtr)} training and {len(Xp)} held-out probe images (seed {seed})",
            "model": "MLP 64-256-256-10, ReLU",
            "optimizer": "Adam, lr 1e-3, batch 128",
            "steps": steps,
            "seed": seed,
            "shuffled labels": "training labels permuted with seed + 1; the probe set keeps its true labels",
            "DSE/DSMI bandwidth": "RMS pairwise distance of the whole probe set (sqrt(2 tr Cov)), reused per class",
        }
    }


def _write_report(output, params, notes, *, steps) -> str:
    """The comparison report of the two runs, ``output/report.html``."""
    from .report import report

    return report(
        {name: os.path.join(output, name) for name in RUNS},
        os.path.join(output, "report.html"),
        title="infomeasure demo: an MLP on true vs shuffled digit labels",
        description=(f"{steps} Adam steps per run; probes on the 500 held-out digits with their true labels. "
                     "Generalising (true labels) vs memorising (shuffled labels)."),
        parameters=params,
        notes=notes,
        n_classes=10,
    )


def _print_summary(result, steps) -> None:
    """The table of final values, the DSMI contrast in words, and where the outputs are."""
    finals = result.final
    print(f"infomeasure demo: {steps} steps per run, {result.seconds:.0f} s")
    print("final values (entropies and MI in nats, rankme in dimensions; ratio = true / shuffled)\n")
    print(_table(finals))
    d = finals["true-labels"].get(("hidden2", "dsmi")), finals["shuffled-labels"].get(("hidden2", "dsmi"))
    if all(v is not None and math.isfinite(v) for v in d) and d[1] > 0:
        print(f"\nDSMI with the true held-out labels (last hidden layer): {d[0]:.2f} nats after training on "
              f"true labels, {d[1]:.2f} after memorising shuffled ones ({d[0] / d[1]:.1f}x).")
    t = result.probe_timing
    if t:
        parts = [f"{name} {t[name]['probe_seconds']:.1f} s of {t[name]['training_seconds']:.1f} s" for name in RUNS if name in t]
        spent = sum(t[n]["probe_seconds"] for n in t)
        total = sum(t[n]["training_seconds"] for n in t)
        steps_n = max(t[n]["probe_steps"] for n in t)
        where = "a background thread" if next(iter(t.values()))["mode"] == "background" else "the training thread"
        print(f"\nprobes: {steps_n} probe steps per run took {100 * spent / total:.1f}% of the training time "
              f"({', '.join(parts)}; measures computed in {where})")
    print(f"\nrun directories: {result.runs['true-labels']}, {result.runs['shuffled-labels']}")
    print(f"report: {result.report}")


def demo(output="infomeasure-demo", *, seed=0, quick=False, steps=None, progress=True, verbose=True) -> DemoResult:
    """Train an MLP on true and on shuffled digit labels, probe both as they learn, and report.

    Parameters
    ----------
    output : str or os.PathLike, default "infomeasure-demo"
        Folder for the run directories ``true-labels`` and ``shuffled-labels`` and ``report.html``
        (existing run directories of the same names are replaced).
    seed : int, default 0
        Seeds the train/probe split, the label shuffle, the weights and the batch order.
    quick : bool, default False
        A smoke test: 300 training steps instead of 3,000 (the contrast is not yet clear then).
    steps : int, optional
        Training steps per run (overrides ``quick``).
    progress : bool, default True
        A progress bar on stderr while training.
    verbose : bool, default True
        Print the table of final values and the report's path.

    Returns
    -------
    DemoResult
        Paths and the final values.

    Notes
    -----
    Data: 1,297 training and 500 held-out probe images (split with ``seed``), pixels scaled to
    [0, 1]. Model: MLP 64-256-256-10 with ReLU, Adam (learning rate 1e-3), batches of 128, on the
    CPU. Probes: both hidden layers (post-ReLU), on the 500 probe images with their true labels,
    at log-spaced steps (6 per decade) and the last step, with :data:`DEMO_MEASURES`. DSE and DSMI
    use the default bandwidth of :func:`estimators.diffusion.diffusion_spectral_entropy`, the RMS
    pairwise distance of the whole probe set, ``sqrt(2 tr Cov(Z))``, computed at each step and
    reused for every class (not the median rule of some reference code). Train and held-out
    accuracy and the training loss are logged at the probe steps (layer ``"model"``). kNN MI with
    10 classes is bounded by ln 10 = 2.303 nats and saturates in 256 dimensions, which is why DSMI
    is the headline.

    Examples
    --------
    A two-step smoke run (the default is 3,000 steps):

    >>> import os, tempfile, warnings, infomeasure as im
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the report lists the estimators' warnings
    ...     res = im.demo(tempfile.mkdtemp(), steps=2, progress=False, verbose=False)
    >>> sorted(res.runs), os.path.basename(res.report)
    (['shuffled-labels', 'true-labels'], 'report.html')
    >>> res.final["true-labels"][("model", "heldout_accuracy")] > 0.0
    True
    """
    t0 = time.perf_counter()
    _require()
    steps, seed = _check_arguments(steps, seed, quick)
    output = _fresh_output(output)
    data = _data(seed, n_probe=500)
    finals, notes, timings = _train_runs(data, output, steps=steps, seed=seed, progress=progress)
    path = _write_report(output, _parameters(data, steps, seed), notes, steps=steps)
    result = DemoResult(output=output, report=path, runs={n: os.path.join(output, n) for n in RUNS},
                        final=finals, seconds=time.perf_counter() - t0, probe_timing=timings)
    if verbose:
        _print_summary(result, steps)
    return result
