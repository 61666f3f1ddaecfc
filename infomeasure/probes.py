"""Training-time probes: per-layer information measures every N steps, with one call in the loop.

>>> import torch, infomeasure.probes as P
>>> _ = torch.manual_seed(0)
>>> model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
>>> x = torch.randn(64, 8)
>>> with P.Probes(model, layers=["0", "2"], measures=["rankme"], every=10, probe_data=x) as probes:
...     for step in range(30):
...         _ = probes.step(step)
>>> [(r["step"], r["layer"]) for r in probes.results]
[(0, '0'), (0, '2'), (10, '0'), (10, '2'), (20, '0'), (20, '2')]

On a probe step, :meth:`Probes.step` runs a no-grad forward pass of the fixed ``probe_data``
through the unwrapped module (no DDP, no ``torch.compile`` wrapper) in eval mode, with hooks that
exist only during that pass; the train/eval mode of every submodule and the global RNG states are
restored afterwards, so the training run is the same with or without probes (apart from the time).
Captured outputs are selected (``output=``), detached, reduced to ``(n_samples, n_features)``
(``reduce=``) and copied as float32 on their device batch by batch, within a per-layer memory
budget. The measures then run in the training thread or in a background worker thread
(``background=``), within a thread budget that does not fight torch's threads (see
:class:`Probes`, Notes); :attr:`Probes.timing` says what the probes cost.
"""

from __future__ import annotations

import contextlib
import fnmatch
import math
import numbers
import time
import warnings

import numpy as np

from estimators.validation import check_flag as _flag
from estimators.validation import check_positive_int as _positive_int

from . import _ddp
from ._capture import Capture, batch_axis, frozen_state, select_output, unwrap

# Implemented beside the hooks that use them, documented and imported here.
batch_axis.__module__ = select_output.__module__ = __name__
from ._probe_data import batch_len, batches_of, label_dtype, shard_batches, tensors_of
from ._warn_once import Once as _Once
from .measures import Measure, evaluate, get_measure, reduce_rows
from .sinks import COLUMNS

__all__ = ["Probes", "every_n", "log_spaced", "reduce_output", "select_layers", "select_output"]


# ------------------------------------------------------------------------------------------------
# schedules
# ------------------------------------------------------------------------------------------------
class EveryN:
    """Probe at steps ``start, start + n, start + 2n, ...`` (also available as ``every_n``).

    >>> from infomeasure.probes import EveryN
    >>> [s for s in range(12) if EveryN(5)(s)]
    [0, 5, 10]
    """

    def __init__(self, n: int, start: int = 0):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"every must be a positive integer number of steps; got {n!r}")
        self.n, self.start = int(n), int(start)

    def __call__(self, step: int) -> bool:
        return step >= self.start and (step - self.start) % self.n == 0

    def __repr__(self):
        return f"every_n({self.n}, start={self.start})"


class LogSpaced:
    """Probe at about ``per_decade`` log-spaced steps per decade (always including step 0 and 1).

    Dense early, where representations change fastest, sparse later. Also available as
    ``log_spaced``.

    >>> from infomeasure.probes import LogSpaced
    >>> [s for s in range(200) if LogSpaced(4)(s)]
    [0, 1, 2, 3, 6, 10, 18, 32, 56, 100, 178]
    """

    def __init__(self, per_decade: int = 10):
        if isinstance(per_decade, bool) or not isinstance(per_decade, (int, np.integer)) or per_decade < 1:
            raise ValueError(f"per_decade must be a positive integer; got {per_decade!r}")
        self.per_decade = int(per_decade)

    def __call__(self, step: int) -> bool:
        if step <= 1:
            return step >= 0
        k = math.ceil(math.log10(step) * self.per_decade - 1e-9)
        # the steps are round(10 ** (k / per_decade)), k = 0, 1, ...; test the two candidates
        return any(round(10 ** (j / self.per_decade)) == step for j in (k - 1, k, k + 1) if j >= 0)

    def __repr__(self):
        return f"log_spaced({self.per_decade})"


#: The schedules under their earlier names (``every_n(100)``, ``log_spaced(4)``), kept for existing code.
every_n = EveryN
log_spaced = LogSpaced


def _schedule(every):
    if callable(every):
        return every
    if every == "log":
        return LogSpaced()
    return EveryN(every)


def select_layers(model, layers) -> dict:
    """``{name: module}`` for the layer specs, in ``named_modules`` order.

    A spec is an exact name or glob (``"encoder.*"``), a module type (``torch.nn.Linear``) or a
    predicate ``f(name, module) -> bool``; a list combines specs. Names are those of the unwrapped
    model (no ``module.`` or ``_orig_mod.`` prefix). Every spec must match at least one layer.

    >>> import torch
    >>> from infomeasure.probes import select_layers
    >>> m = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    >>> list(select_layers(m, torch.nn.Linear))
    ['0', '2']
    >>> list(select_layers(m, ["1", lambda name, mod: name == "2"]))
    ['1', '2']
    """
    model = unwrap(model)
    named = [(n, m) for n, m in model.named_modules() if n]
    specs = layers if isinstance(layers, (list, tuple)) else [layers]
    if not specs:
        raise ValueError("layers must name at least one layer")
    chosen = set()
    for spec in specs:
        hit = _matching(spec, named)
        if not hit:
            some = ", ".join(n for n, _ in named[:12])
            raise ValueError(f"layer spec {spec!r} matches no module; module names include: {some}")
        chosen.update(hit)
    return {n: m for n, m in named if n in chosen}


def _matching(spec, named) -> list:
    """The names among ``named`` (``(name, module)`` pairs) that one layer spec matches."""
    if isinstance(spec, str):
        return [n for n, _ in named if n == spec or fnmatch.fnmatchcase(n, spec)]
    if isinstance(spec, type):
        return [n for n, m in named if isinstance(m, spec)]
    if callable(spec):
        return [n for n, m in named if spec(n, m)]
    raise TypeError(f"a layer spec must be a name/glob, a module type or a predicate; got {spec!r}")


def reduce_output(t, reduce="mean"):
    """A ``(batch, features)`` view of a layer output of shape ``(batch, ...)``.

    ``"mean"``: average over the middle axes — spatial positions of a conv map
    ``(batch, channels, H, W)`` (channel-first) and tokens of ``(batch, tokens, features)``
    (channel-last: 3-D outputs are treated as sequences); ``"last"``: the last token of a
    ``(batch, tokens, features)`` output; ``"flatten"``: all but the batch axis; a callable is applied.

    >>> import torch
    >>> from infomeasure.probes import reduce_output
    >>> reduce_output(torch.ones(2, 3, 4, 5)).shape, reduce_output(torch.ones(2, 7, 5), "last").shape
    (torch.Size([2, 3]), torch.Size([2, 5]))
    """
    return reduce_rows(t, reduce, rows="batch", what="output")


def _check_reduce(reduce):
    if callable(reduce) or reduce in ("mean", "last", "flatten"):
        return reduce
    raise ValueError(f"reduce must be 'mean', 'last', 'flatten' or a callable; got {reduce!r}")


def _measures_of(measures) -> list:
    ms = [get_measure(m) for m in (measures if isinstance(measures, (list, tuple)) else [measures])]
    if not ms:
        raise ValueError("measures must name at least one measure")
    names = [m.name for m in ms]
    if len(set(names)) != len(names):
        raise ValueError(f"measure names must be unique (give measure objects name=...); got {names}")
    return ms


#: What probes measure on every layer when ``measures`` is not given (see ``Probes(measures=)``).
DEFAULT_MEASURES = ("rankme", "von_neumann_entropy")


def _layer_measures(layers, measures):
    """``({layer: [Measure, ...]}, form)`` from the ``measures`` argument of :class:`Probes`.

    ``form`` is ``"default"`` (``measures=None``), ``"list"`` (one list for every layer) or
    ``"dict"`` (layer specs mapped to lists). In the dict form a layer matched by several specs
    gets their measures in order; one name means one measure (the same parameters) everywhere.
    """
    if measures is None:
        ms = _measures_of(list(DEFAULT_MEASURES))
        return {n: list(ms) for n in layers}, "default"
    if not isinstance(measures, dict):
        ms = _measures_of(measures)
        return {n: list(ms) for n in layers}, "list"
    if not measures:
        raise ValueError("measures={} names no layer; pass {layer spec: [measure, ...]} or one list for all layers")
    named = list(layers.items())
    per = {n: [] for n in layers}
    by_name: dict = {}
    unmatched = []
    for spec, spec_measures in measures.items():
        hit = _matching(spec, named)
        if not hit:
            unmatched.append(spec)
            continue
        items = spec_measures if isinstance(spec_measures, (list, tuple)) else [spec_measures]
        for item in items:
            m = get_measure(item)
            first = by_name.setdefault(m.name, m)
            if first is not m and first.describe() != m.describe():
                raise ValueError(
                    f"measure {m.name!r} is given twice with different parameters ({first!r} and {m!r}); "
                    "give one of them another name (a measure object with name=...)")
            for n in hit:
                if all(x.name != m.name for x in per[n]):
                    per[n].append(first)
    if unmatched:
        raise ValueError(
            f"measures= names layer specs that match no probed layer: {unmatched!r}; probed layers: {list(layers)}")
    bare = [n for n, ms in per.items() if not ms]
    if bare:
        raise ValueError(
            f"measures= gives no measure to the probed layers {bare}: add a spec for them (e.g. '*': [...] for every "
            "layer), or leave them out of layers=")
    return per, "dict"


def _union(per_layer) -> list:
    """The measures of every layer, each once, in order of first appearance."""
    out, seen = [], set()
    for ms in per_layer.values():
        for m in ms:
            if m.name not in seen:
                seen.add(m.name)
                out.append(m)
    return out


def _budget_bytes(memory_budget_mb) -> float:
    if isinstance(memory_budget_mb, bool) or not isinstance(memory_budget_mb, (int, float, np.integer, np.floating)):
        raise TypeError(f"memory_budget_mb must be a number of megabytes; got {memory_budget_mb!r}")
    if not (0 < memory_budget_mb < math.inf):
        raise ValueError(f"memory_budget_mb must be a finite number > 0 (megabytes per layer); got {memory_budget_mb!r}")
    return float(memory_budget_mb) * 2**20


def _check_sinks(sinks) -> list:
    if not isinstance(sinks, (list, tuple)):
        raise TypeError(f"sinks must be a list of sink objects; got {type(sinks).__name__}")
    for sink in sinks:
        if not (callable(getattr(sink, "write", None)) and callable(getattr(sink, "close", None))):
            raise TypeError(f"a sink needs write(rows) and close() methods; got {type(sink).__name__}")
    return list(sinks)


# ------------------------------------------------------------------------------------------------
# Probes
# ------------------------------------------------------------------------------------------------
class Probes:
    """Per-layer information measures over the course of training.

    Parameters
    ----------
    model : torch.nn.Module
        The model (DDP- and ``torch.compile``-wrapped models are unwrapped for hooks and names).
    layers : str, type, callable or list of them
        Names or globs, module types, or predicates ``f(name, module)`` (see :func:`select_layers`).
    measures : list or dict, optional
        Names from :data:`infomeasure.measures.MEASURES`, ``(name, params)`` pairs or measure
        objects. Representation measures see the reduced ``(n, d)`` activations; streaming
        measures (``prediction_entropy``, ``attention_entropy``) the raw output, batch by batch.
        One list applies to every layer; a dict maps layer specs (names, globs, module types or
        predicates, as in ``layers``) to lists, e.g. ``{"encoder.*": ["rankme"], "classifier":
        ["prediction_entropy"]}``: every probed layer must get a measure and every spec must
        match a probed layer. Each measure declares the output it is meant for
        (:attr:`~infomeasure.measures.Measure.input`); with one list, a measure is skipped, with one
        warning for the run, on a layer that plainly gives another kind (``prediction_entropy``
        on a layer that cannot be the model's logits, ``attention_entropy`` on an output that is
        not ``(batch, heads, queries, keys)`` probabilities); measures given to a layer in the dict
        form always run there. Default (``None``): :data:`DEFAULT_MEASURES` (``rankme`` and
        ``von_neumann_entropy``) on every layer, leaving out any that the layer's shape cannot
        give (:meth:`~infomeasure.measures.Measure.unfit`). :attr:`layer_measures` holds each
        layer's list and :attr:`measures` all of them, each once.
    every : int, "log" or callable, default 100
        Probe when ``every_n(every)(step)``, ``log_spaced()(step)`` or ``every(step)`` is true.
        In DDP, pass the global step (the same on every rank).
    probe_data : tensor, dict of tensors, (inputs, labels) or DataLoader
        The fixed probe set; a dict is passed as keyword arguments (``model(**batch)``). A
        DataLoader is read once, at construction. Labels are needed by label measures.
    run_dir : path, optional
        Write ``manifest.json``, ``metrics.jsonl`` (and snapshots) there (rank 0 only).
    output : int, str or callable, optional
        Picks the tensor from tuple/dict outputs (see :func:`select_output`); a dict maps layer
        names to selectors.
    reduce : {"mean", "last", "flatten"} or callable, default "mean"
        How outputs with more than two axes become ``(n, d)`` (see :func:`reduce_output`).
    batch_size : int, optional
        Probe forward batch size (default: the whole probe set in one pass).
    memory_budget_mb : float, default 256
        Largest reduced activation kept per layer (float32, CPU); rows beyond it are dropped with a
        warning and ``n_samples`` says how many were used.
    sinks : list, optional
        Objects with ``write(rows)``/``close()`` (see :mod:`infomeasure.sinks`).
    snapshot_every : int, optional
        Save the reduced activations as safetensors every this many probe steps.
    strict : bool, default False
        Raise measure errors instead of recording them as error rows.
    seed : int, optional
        Recorded in the manifest (probes draw no random numbers of their own; measures take
        their own ``seed=`` parameters).
    mode : {"probe", "tap"}, default "probe"
        ``"probe"``: a separate no-grad eval-mode pass over ``probe_data`` on probe steps.
        ``"tap"``: record from the training forward pass run inside ``with probes.tap(step):``
        (train mode, the current batch: cheaper, but batches differ between steps, so values are
        noisier over time); ``probe_data`` is then optional and labels come with
        ``probes.step(step, labels=y)``.
    tap_samples : int, default 256
        Tap mode: evenly spaced rows kept from each training forward.
    shard_probe_data : bool, default True
        Under torch.distributed, each rank probes its contiguous share of ``probe_data`` and rank 0
        measures the gathered whole: the same numbers as one process. ``False``: each rank's
        ``probe_data`` is its own and all are concatenated in rank order.
    resume : bool, default False
        ``run_dir`` may already hold a run only with ``resume=True`` (a restarted job): rows are then
        appended after the existing ones and the earlier manifest is kept (see
        :class:`infomeasure.run_dir.RunDir`). Without it an existing run is refused, never replaced.
    background : bool or "auto", default "auto"
        ``True``: the training thread only captures; a worker thread computes the measures and
        writes the rows, in step order, while training goes on. ``False``: measured in the
        training thread, in :meth:`step`. ``"auto"``: background when a core is free for the
        worker (the model is on an accelerator, or torch uses fewer threads than there are
        cores), else synchronous, which is faster when torch's threads hold every core (see Notes).
    max_pending : int, default 2
        Background mode: probe steps captured and not yet measured, at most (bounds the memory
        held: each holds its layers' activations).
    when_full : {"block", "drop"}, default "block"
        Background mode, ``max_pending`` reached: wait for the worker, or skip the probe step
        (one warning, the count at :meth:`close` and in ``timing["dropped_steps"]``).
    threads : int, optional
        Threads for the measurements (numba kernels, SciPy kd-trees and BLAS). Default: one in
        background mode; in synchronous mode numba's thread count and one BLAS thread. In
        background mode, while the worker measures, torch's intra-op thread count is lowered by
        this many (to at least 1) so that the worker has its cores, and restored at the first
        :meth:`step` after it is done.
    progress : bool, optional
        Show probe steps as they are measured: ``None`` (default) once a probe step takes over a
        second, ``True`` always, ``False`` never (a tqdm bar on a terminal, a line at most every
        30 s in logs).

    Notes
    -----
    **The batch axis.** Probe inputs have samples along axis 0. A layer whose output puts the batch
    elsewhere (``nn.LSTM``, ``nn.TransformerEncoderLayer`` or ``nn.MultiheadAttention`` with
    PyTorch's default ``batch_first=False`` give ``(sequence, batch, features)``) is measured along
    its batch axis: the axis the module declares (``batch_first``), else the only axis whose length
    is the probe batch size (with a warning, once per layer). An output with no such axis, or with several and none of them axis 0,
    gives an error row that says to pass ``output=`` (a function returning a batch-first tensor).

    **What probes cost, and what they change.** The training thread pays for the capture (a
    no-grad forward pass over ``probe_data``); the measurements run in the worker thread or, in
    synchronous mode, in :meth:`step`. They run within a thread budget (``threads``): numba's
    thread count for the measuring thread (``numba.set_num_threads`` is per thread) and, while a
    measurement runs, the process's BLAS thread limit (``threadpoolctl``); both come back to their
    earlier values afterwards. Without it, OpenBLAS and numba start pools beside torch's threads
    and keep them spinning after each call, which slowed the training steps after a probe step by
    60% on 2 cores. Synchronous probes never change torch's settings; in background mode the
    training thread lends the worker a core while it measures (torch's intra-op threads minus
    ``threads``, restored at the first :meth:`step` after), so the last bits of a training run
    can differ from one without probes. :attr:`timing` (and the run
    manifest's ``probe_timing``) says how long each probe step took and the probes' share of the
    training time; results are read after :meth:`close` or through :attr:`results`, which waits for
    the worker.

    **One run, one object.** A closed ``Probes`` (its ``with`` block ended, or :meth:`close` was
    called) refuses further :meth:`step` and :meth:`log` calls with a ``RuntimeError`` instead of
    dropping rows: put the ``with`` block around the whole training loop, or continue the run
    directory with a new ``Probes(..., resume=True)``.
    """

    def __init__(
        self,
        model,
        layers,
        measures=None,
        every=100,
        probe_data=None,
        run_dir=None,
        *,
        output=None,
        reduce="mean",
        batch_size=None,
        memory_budget_mb=256.0,
        sinks=(),
        snapshot_every=None,
        strict=False,
        seed=None,
        shard_probe_data=True,
        mode="probe",
        tap_samples=256,
        resume=False,
        background="auto",
        max_pending=2,
        when_full="block",
        threads=None,
        progress=None,
    ):
        import torch

        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        if mode not in ("probe", "tap"):
            raise ValueError(f"mode must be 'probe' or 'tap'; got {mode!r}")
        self.mode = mode
        self.tap_samples = _positive_int(tap_samples, "tap_samples")
        self._tapped = None
        if probe_data is None and mode == "probe":
            raise ValueError("probe_data is required: a fixed probe set makes estimates comparable over steps")
        self.model = model
        self.layers = select_layers(model, layers)
        self.layer_measures, self._measures_form = _layer_measures(self.layers, measures)
        self.measures: list[Measure] = _union(self.layer_measures)
        self._skipped: dict = {}  # layer -> {measure name: why skipped}, decided at the layer's first capture
        self._once = _Once()
        self.schedule = _schedule(every)
        if isinstance(output, dict):
            unknown = sorted(set(output) - set(self.layers))
            if unknown:
                raise ValueError(f"output= names layers that are not probed: {unknown}; probed layers: {list(self.layers)}")
        self.output = output
        self.reduce = _check_reduce(reduce)
        self.memory_budget = _budget_bytes(memory_budget_mb)
        self.strict = _flag(strict, "strict")
        self.sinks = _check_sinks(sinks)
        self.snapshot_every = None if snapshot_every is None else _positive_int(snapshot_every, "snapshot_every")
        self.seed = seed
        self._rank, self._world = _ddp.rank(), _ddp.world_size()
        self._setup_probe_data(probe_data, batch_size, _flag(shard_probe_data, "shard_probe_data"))
        self._needs_model = any(getattr(m, "needs_model", False) for m in self.measures)
        if self._needs_model:
            from .gradient_probe import check_probes

            check_probes(self)
        self._rows: list[dict] = []
        self._open_captures: list = []  # tap blocks under way (their hooks are removed on close)
        self._n_probe_steps = 0
        self._run = None
        self._closed = False
        self._axis_notes: set = set()
        self.background = _background(background, model)
        self.max_pending = _positive_int(max_pending, "max_pending")
        if when_full not in ("block", "drop"):
            raise ValueError(f"when_full must be 'block' (wait for the worker) or 'drop' (skip the probe step); got {when_full!r}")
        self.when_full = when_full
        self.threads = None if threads is None else _positive_int(threads, "threads")
        if progress is not None and not isinstance(progress, bool):
            raise TypeError(f"progress must be None (automatic), True or False; got {progress!r}")
        self.probe_seconds = 0.0
        self.dropped_steps: list[int] = []
        self._steps_timing: list[dict] = []
        self._first_step_at = self._closed_at = None
        self._progress = _Progress(progress)
        self._worker = None
        if run_dir is not None and self._rank == 0:
            from .run_dir import RunDir

            self._run = RunDir(run_dir, self._manifest(), resume=_flag(resume, "resume"))
        if self.background and self._rank == 0:
            from ._worker import Worker

            self._worker = Worker(self.max_pending, self.when_full)
        from ._threads import CoreShare

        self._share = CoreShare(self.threads or 1, blas=self.threads or 1)

    def _setup_probe_data(self, probe_data, batch_size, shard):
        """This rank's probe batches and labels, and the flattened inputs for ``mi_inputs``."""
        import torch

        if batch_size is not None:
            batch_size = _positive_int(batch_size, "batch_size")
        if probe_data is not None:
            probe_data = tensors_of(probe_data, self.model)
        batches, labels = batches_of(probe_data, batch_size) if probe_data is not None else ([], None)
        full_batches = batches  # the whole probe set, in order (what rank 0 measures after gathering)
        if self._world > 1 and shard:
            batches, _ = shard_batches(batches, labels, self._rank, self._world)
        elif self._world > 1 and labels is not None:
            # each rank's own labels, concatenated in rank order as the activations will be
            labels = _ddp.gather_rows(labels.reshape(-1, 1).to(label_dtype(labels))).reshape(-1)
        self._inputs = None
        if any(m.needs_inputs for m in self.measures):
            if self.mode != "probe":
                raise ValueError("mi_inputs needs the fixed probe inputs: use mode='probe'")
            if self._world > 1 and not shard:
                raise ValueError("mi_inputs needs one probe set shared by all ranks: use shard_probe_data=True")
            if not batches or not all(isinstance(b, torch.Tensor) for b in full_batches):
                raise ValueError("mi_inputs needs tensor probe inputs (not a dict of tensors)")
            x = torch.cat([b.detach().reshape(b.shape[0], -1).cpu() for b in full_batches]).to(torch.float64)
            self._inputs = x.numpy()
        self._batches, self._labels = batches, labels
        if labels is None and self.mode == "probe" and any(m.needs_labels for m in self.measures):
            bad = [m.name for m in self.measures if m.needs_labels]
            raise ValueError(f"measures {bad} need labels: pass probe_data=(inputs, labels)")

    # -- context manager ---------------------------------------------------------------------
    def __enter__(self):
        self._check_open("enter its with block again")
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Remove any hooks and close the run directory and sinks (idempotent).

        A closed ``Probes`` refuses :meth:`step` and :meth:`log` (``RuntimeError``); its
        :attr:`results` stay readable.
        """
        if self._closed:
            return
        self._closed = True
        self._closed_at = time.perf_counter()
        while self._open_captures:
            self._open_captures.pop().detach()
        failure = None
        if self._worker is not None:
            self._worker.close()  # measures and delivers every pending probe step first
            self._share.reclaim()
            try:
                self._worker.check()
            except Exception as e:  # noqa: BLE001 - raised after the files are closed
                failure = e
        self._progress.close()
        if self.dropped_steps:
            warnings.warn(
                f"{len(self.dropped_steps)} probe step(s) were skipped because {self.max_pending} earlier ones were "
                f"still being measured (when_full='drop'): steps {self.dropped_steps[:10]}"
                f"{' ...' if len(self.dropped_steps) > 10 else ''}. Probe less often, measure less, or use "
                "when_full='block'", UserWarning, stacklevel=2)
        repeated = self._once.summary()
        if repeated is not None:
            warnings.warn(repeated, UserWarning, stacklevel=2)
        if self._run is not None:
            skipped = {n: dict(why) for n, why in self._skipped.items() if why}
            self._run.close(probe_steps=self._n_probe_steps, probe_timing=self.timing,
                            **({"skipped_measures": skipped} if skipped else {}))
            self._run = None
        for s in self.sinks:
            s.close()
        self.sinks = []
        if failure is not None:
            raise failure

    def _check_open(self, what):
        if self._closed:
            raise RuntimeError(
                f"this Probes is closed (its with block ended or close() was called), so it cannot {what}: "
                "rows would no longer reach run_dir and the sinks. Keep one with block around the whole "
                "training loop, or continue the run with a new Probes(..., run_dir=..., resume=True)"
            )

    # -- results -----------------------------------------------------------------------------
    @property
    def results(self) -> list[dict]:
        """The long table: one dict per (step, layer, measure) with :data:`COLUMNS` keys.

        A copy: a ``list`` of dicts with one method more, ``probes.results.to_pandas()``, which
        gives a ``pandas.DataFrame`` (pandas is imported then). Error rows have ``value`` None and
        the message in ``error``. Empty on ranks other than 0. In background mode, reading it
        waits until the probe steps taken so far are measured.
        """
        from ._table import ResultRows

        if self._worker is not None:
            self._worker.drain()
            if not self._closed:
                self._worker.check()
        return ResultRows(self._rows)

    def _training_seconds(self) -> float:
        end = self._closed_at if self._closed and self._closed_at is not None else time.perf_counter()
        return 0.0 if self._first_step_at is None else end - self._first_step_at

    def _share_of_training(self):
        training = self._training_seconds()
        return self.probe_seconds / training if training > 0 else None

    @property
    def timing(self) -> dict:
        """Where probe time went, in seconds (also written to the run manifest as ``probe_timing``).

        ``probe_steps``; ``training_seconds``: wall time from the first :meth:`step` call until now
        (or :meth:`close`); ``probe_seconds``: time the training thread spent in probe steps
        (capture, waiting for a full queue, and the measurements themselves when
        ``background=False``); ``probe_share``: their ratio; ``capture_seconds``,
        ``measure_seconds`` (in the worker, in background mode), ``blocked_seconds`` (waiting
        for the worker) and ``dropped_steps``; ``steps``: per probe step
        ``{step, capture_seconds, measure_seconds}``.
        """
        steps = [dict(t) for t in self._steps_timing]
        training = self._training_seconds()
        return {
            "mode": "background" if self._worker is not None else "synchronous",
            "probe_steps": self._n_probe_steps,
            "training_seconds": round(training, 6),
            "probe_seconds": round(self.probe_seconds, 6),
            "probe_share": round(self.probe_seconds / training, 6) if training > 0 else None,
            "capture_seconds": round(sum(t["capture_seconds"] for t in steps), 6),
            "measure_seconds": round(sum(t["measure_seconds"] or 0.0 for t in steps), 6),
            "blocked_seconds": round(self._worker.blocked_seconds if self._worker is not None else 0.0, 6),
            "dropped_steps": len(self.dropped_steps),
            "steps": steps,
        }

    def _manifest(self) -> dict:
        m = unwrap(self.model)
        return {
            "model": {
                "class": type(m).__name__,
                "parameters": int(sum(p.numel() for p in m.parameters())),
                "trainable_parameters": int(sum(p.numel() for p in m.parameters() if p.requires_grad)),
            },
            "layers": {n: type(mod).__name__ for n, mod in self.layers.items()},
            "measures": [mm.describe() for mm in self.measures],
            "layer_measures": {n: [mm.name for mm in ms] for n, ms in self.layer_measures.items()},
            "schedule": repr(self.schedule),
            "reduce": self.reduce if isinstance(self.reduce, str) else repr(self.reduce),
            "probe_samples": int(sum(batch_len(b) for b in self._batches)) * self._world,
            "world_size": self._world,
            "seed": self.seed,
            "columns": COLUMNS,
        }

    def _active(self, layer) -> list:
        """The measures of ``layer`` less those skipped there (wrong input kind, decided once)."""
        skipped = self._skipped.get(layer, {})
        return [m for m in self.layer_measures[layer] if m.name not in skipped]

    # -- the probe step ----------------------------------------------------------------------
    def _take_tapped(self, step, labels):
        import torch

        tapped, self._tapped = self._tapped, None
        if tapped is not None and tapped[0] == step:
            cap = tapped[1]
        else:  # nothing was tapped at this step: empty capture, the same collectives as the others
            cap = Capture(self)
            for n in self.layers:
                cap.errors[n][None] = RuntimeError(
                    f"nothing was tapped at step {step}: run the forward pass inside probes.tap({step})"
                )
        self._labels = None
        if labels is not None:
            labels = torch.as_tensor(labels).detach().reshape(-1).cpu()
            if not cap.index:
                mine = labels[:0]
            elif len(cap.index) != 1:
                raise ValueError(
                    f"labels= needs exactly one training forward inside probes.tap({step}); "
                    f"{len(cap.index)} were tapped"
                )
            else:
                idx, n = cap.index[0]
                if labels.shape[0] != n:
                    raise ValueError(f"labels has {labels.shape[0]} rows but the tapped batch had {n}")
                mine = labels[idx]
            self._labels = _ddp.gather_rows(mine.reshape(-1, 1).to(label_dtype(mine))).reshape(-1)
        return cap.finish()

    def step(self, step: int, labels=None) -> bool:
        """Probe if ``step`` is a probe step (a no-op otherwise); returns whether it probed.

        The training thread runs the capture (the forward pass over the probe set, or the tapped
        outputs); in background mode (see ``Probes(background=)``) the measurements run in a worker thread and
        the rows reach :attr:`results`, the run directory and the sinks (on rank 0) in step order
        as they are done; with ``background=False`` they are measured before this returns.
        """
        self._check_open(f"probe step {step}")
        self._check_worker()
        step = _step_of(step)
        t0 = time.perf_counter()
        if self._first_step_at is None:
            self._first_step_at = t0
        if not self.schedule(step):
            return False
        if self.mode == "tap":
            reps, streams, capture_errors = self._take_tapped(step, labels)
        else:
            if labels is not None:
                raise ValueError("labels= is for tap mode; in probe mode they come with probe_data")
            reps, streams, capture_errors = self._capture()
        self._n_probe_steps += 1
        timing = {"step": step, "capture_seconds": round(time.perf_counter() - t0, 6), "measure_seconds": None}
        self._steps_timing.append(timing)
        if self._rank == 0:
            job = _Job(self, step, reps, streams, capture_errors, timing)
            if self._worker is None:
                job.deliver(job.compute_within_budget())
            else:
                # lend the worker its cores before it can start: the BLAS limit is the training
                # thread's to set (CoreShare), and a job measured before it would run with every core
                self._share.lend()
                if not self._worker.submit(job.compute_within_budget, job.deliver, job.on_error):
                    self._drop(step, timing)  # the queue is full: the worker is busy, the cores stay lent
        self.probe_seconds += time.perf_counter() - t0
        return True

    def _drop(self, step, timing):
        timing["dropped"] = True
        if not self.dropped_steps:
            warnings.warn(
                f"probe step {step} is skipped: {self.max_pending} earlier probe steps are still being measured "
                "(when_full='drop'); later skips are counted and reported when the probes close",
                UserWarning, stacklevel=3)
        self.dropped_steps.append(step)

    def _check_worker(self):
        if self._worker is not None:
            if self._share.lending and not self._worker.pending:
                self._share.reclaim()
            self._worker.check()

    def _deliver(self, rows, step=None, reps=None):
        """Rows to results, run directory and sinks (the worker thread in background mode)."""
        self._rows.extend(rows)
        if self._run is not None:
            self._run.append(rows)
            if reps is not None and self.snapshot_every and (step[1] - 1) % int(self.snapshot_every) == 0:
                self._run.save_snapshot(step[0], {n: z.cpu() for n, z in reps.items() if z is not None})
        for s in self.sinks:
            s.write(rows)

    def log(self, step: int, *, layer: str = "model", units: str = "unitless", **values) -> list[dict]:
        """Record scalars of your own (accuracy, loss, ...) next to the probe rows.

        Each keyword becomes a row ``{step, layer, measure: name, method: "logged", value, units}``
        in :attr:`results`, the run directory and the sinks (on rank 0; pass values that are the
        same on every rank, or rank 0's). The layer ``"model"`` marks model-level values: reports
        draw them together in a "Training" figure. Unlike :meth:`step`, this ignores the schedule;
        call it on the steps you choose (e.g. ``if probes.step(step): probes.log(step, ...)``).

        Returns the rows written. Non-finite values raise ``ValueError`` (a NaN loss is worth
        stopping for, not recording silently).
        """
        if not values:
            raise ValueError("log needs at least one value, e.g. probes.log(step, accuracy=0.93)")
        step = _step_of(step)
        rows = []
        for name, v in values.items():
            if hasattr(v, "item"):
                v = v.item()
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TypeError(f"{name} must be a real number; got {type(v).__name__}")
            if not math.isfinite(v):
                raise ValueError(f"{name} is {v} at step {step}; log finite values only")
            row = {c: None for c in COLUMNS}
            row.update(step=step, layer=str(layer), measure=name, method="logged", value=float(v), units=units)
            rows.append(row)
        self._check_open(f"log step {step}")
        self._check_worker()
        if self._rank == 0:
            if self._worker is not None:  # after the probe rows already queued, in order
                self._worker.submit(lambda: rows, self._deliver, _raise, force=True)
            else:
                self._deliver(rows)
        return rows

    def _capture(self):
        """The probe pass over ``probe_data``; returns the gathered capture."""
        module = unwrap(self.model)
        cap = Capture(self).attach(self.model)
        try:
            with frozen_state(module):
                for batch in self._batches:
                    cap.batch = batch_len(batch)
                    if isinstance(batch, dict):
                        module(**batch)
                    else:
                        module(batch)
        finally:
            cap.detach()
        captured = cap.finish()
        if self._needs_model:  # gradient measures: from the model itself, on the probe set
            from .gradient_probe import measure_model

            measure_model(self, captured[1], captured[2])
        return captured

    @contextlib.contextmanager
    def tap(self, step: int):
        """Tap mode: on probe steps, record the layers from the training forward pass run inside.

        ``tap_samples`` evenly spaced rows of every forward are kept (no random numbers drawn).
        The hooks exist only inside the ``with`` block. Call :meth:`step` with the same step
        (and ``labels=`` the batch labels, for label measures) afterwards::

            with probes.tap(step):
                loss = loss_fn(model(x), y)
            ...
            probes.step(step, labels=y)
        """
        if self.mode != "tap":
            raise ValueError("probes.tap(step) needs Probes(..., mode='tap')")
        self._check_open(f"tap step {step}")
        step = _step_of(step)
        if not self.schedule(step):
            yield
            return
        cap = Capture(self, tap_samples=self.tap_samples).attach(self.model)
        self._open_captures.append(cap)
        try:
            yield
        finally:
            cap.detach()
            self._open_captures.remove(cap)
        self._tapped = (step, cap)



class _Job:
    """The measurement of one probe step: what was captured, computed into rows and delivered."""

    def __init__(self, probes, step, reps, states, errors, timing):
        self.probes, self.step, self.reps, self.states, self.errors = probes, step, reps, states, errors
        self.timing = timing
        self.index = probes._n_probe_steps  # 1 for the first probe step (snapshots every k-th)
        labels = probes._labels  # the labels of this step (tap mode sets them per step)
        self.labels = None if labels is None else labels.cpu().numpy()
        # each layer's measures, as decided by this step's capture (the worker must not read them later)
        self.measures = {n: probes._active(n) for n in probes.layers}

    def compute(self) -> list[dict]:
        p, t0 = self.probes, time.perf_counter()
        rows = []
        for name in p.layers:
            z = self.reps.get(name)
            z = z if z is not None and z.ndim == 2 and z.shape[0] else None
            ms = self.measures[name]
            if z is not None and p._measures_form == "default":  # the defaults the layer's shape can give
                ms = [m for m in ms if m.unfit(int(z.shape[0]), int(z.shape[1])) is None]
            if not ms:
                continue
            rows += evaluate(
                ms, z, step=self.step, layer=name, labels=self.labels, inputs=p._inputs, states=self.states[name],
                errors=self.errors[name], strict=p.strict,
                around=lambda m, name=name: p._once.measuring(name, m.name),
            )
        self.timing["measure_seconds"] = round(time.perf_counter() - t0, 6)
        return rows

    def compute_within_budget(self) -> list[dict]:
        """:meth:`compute` within the thread budget of the mode (see ``Probes(threads=)``)."""
        import numba

        from ._threads import thread_budget

        p = self.probes
        if p.background:  # BLAS is limited by the training thread (CoreShare.lend)
            with thread_budget(p.threads or 1):
                return self.compute()
        with thread_budget(p.threads or numba.config.NUMBA_NUM_THREADS, blas=p.threads or 1):
            return self.compute()

    def on_error(self, e):
        """Error rows for every layer and measure (an unexpected failure in the worker).

        Built here rather than by :func:`evaluate`, which may be what failed.
        """
        if self.probes.strict:
            raise e
        from .measures import _error_text

        rows = []
        for name in self.probes.layers:
            base = dict.fromkeys(COLUMNS)
            base.update(step=self.step, layer=name)
            rows += [dict(base, measure=m.name, method=m.method, units=m.units, error=_error_text(e))
                     for m in self.measures[name]]
        return rows

    def deliver(self, rows):
        self.probes._deliver(rows, (self.step, self.index), self.reps)
        self.probes._progress.update(self.probes, self.timing)


def _raise(e):
    raise e


class _Progress:
    """Signs of life: probe steps that take over a second are shown (tqdm on a terminal, lines in logs).

    ``enabled=None`` shows them only once a probe step took longer than :attr:`SLOW` seconds;
    ``True`` shows every probe step; ``False`` nothing. Log files get at most a line every
    :attr:`LOG_EVERY` seconds.
    """

    SLOW = 1.0
    LOG_EVERY = 30.0

    def __init__(self, enabled=None):
        self.enabled = enabled
        self._bar = None
        self._last_line = None

    def update(self, probes, timing):
        if self.enabled is False:
            return
        seconds = (timing["capture_seconds"] or 0.0) + (timing["measure_seconds"] or 0.0)
        if self.enabled is None and seconds <= self.SLOW and self._bar is None and self._last_line is None:
            return
        share = probes._share_of_training()
        share = "" if share is None else f", probes {100 * share:.1f}% of training time"
        text = f"probe step {timing['step']}: {seconds:.1f} s ({len(probes.layers)} layers x {len(probes.measures)} measures){share}"
        import sys

        if hasattr(sys.stderr, "isatty") and sys.stderr.isatty():
            if self._bar is None:
                from tqdm.auto import tqdm

                self._bar = tqdm(desc="infomeasure probes", unit="probe step", file=sys.stderr, leave=False)
            self._bar.set_postfix_str(text, refresh=False)
            self._bar.update(1)
            return
        now = time.monotonic()
        if self._last_line is None or now - self._last_line >= self.LOG_EVERY or self.enabled:
            self._last_line = now
            print(f"infomeasure: {text}", file=sys.stderr, flush=True)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _available_cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _background(background, model) -> bool:
    """Resolve ``background``: ``"auto"`` measures in a worker thread only where a core is free for it.

    A core is free when the model is on an accelerator or when torch uses fewer intra-op threads
    than the process has cores. Otherwise a worker would share the cores of torch's threads, and
    each of torch's parallel regions waits for the thread it displaced: on 2 cores with 2 torch
    threads (MLP 784-256-128-10, probes every 50 steps) the worker made the training loop 1.2x
    (RankMe + VNE) to 1.8x (kNN MI) slower than measuring in the training thread did
    (``benchmarks/bench_probes.py``).
    """
    if background == "auto":
        import torch

        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        return device.type != "cpu" or torch.get_num_threads() < _available_cores()
    return _flag(background, "background")


def _step_of(step) -> int:
    """A training step as an int: integers (NumPy, torch scalars) and integral floats; else TypeError."""
    if hasattr(step, "item") and getattr(step, "ndim", 0) == 0:
        step = step.item()
    if isinstance(step, bool) or not isinstance(step, numbers.Real) or not float(step).is_integer():
        raise TypeError(f"step must be an integer training step (e.g. the global step); got {step!r}")
    return int(step)


