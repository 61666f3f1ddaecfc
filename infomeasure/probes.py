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
(``reduce=``) and copied to the CPU batch by batch, within a per-layer memory budget.
"""

from __future__ import annotations

import contextlib
import fnmatch
import math
import numbers
import time
import warnings

import numpy as np

from estimators._validation import check_flag as _flag
from estimators._validation import check_positive_int as _positive_int

from . import _ddp
from .measures import Measure, SpectralMeasure, get_measure
from .sinks import COLUMNS

__all__ = ["Probes", "every_n", "log_spaced", "reduce_output", "select_layers", "select_output"]


# ------------------------------------------------------------------------------------------------
# schedules
# ------------------------------------------------------------------------------------------------
class every_n:
    """Probe at steps ``start, start + n, start + 2n, ...``.

    >>> from infomeasure.probes import every_n
    >>> [s for s in range(12) if every_n(5)(s)]
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


class log_spaced:
    """Probe at about ``per_decade`` log-spaced steps per decade (always including step 0 and 1).

    Dense early, where representations change fastest, sparse later.

    >>> from infomeasure.probes import log_spaced
    >>> [s for s in range(200) if log_spaced(4)(s)]
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


def _schedule(every):
    if callable(every):
        return every
    if every == "log":
        return log_spaced()
    return every_n(every)


# ------------------------------------------------------------------------------------------------
# layers, outputs and reductions
# ------------------------------------------------------------------------------------------------
def unwrap(model):
    """The module under DDP/DataParallel (``.module``) and ``torch.compile`` (``._orig_mod``) wrappers."""
    import torch

    while True:
        if isinstance(model, (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, torch.nn.Module):
            model = model._orig_mod
        else:
            return model


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
        if isinstance(spec, str):
            hit = [n for n, _ in named if n == spec or fnmatch.fnmatchcase(n, spec)]
        elif isinstance(spec, type):
            hit = [n for n, m in named if isinstance(m, spec)]
        elif callable(spec):
            hit = [n for n, m in named if spec(n, m)]
        else:
            raise TypeError(f"a layer spec must be a name/glob, a module type or a predicate; got {spec!r}")
        if not hit:
            some = ", ".join(n for n, _ in named[:12])
            raise ValueError(f"layer spec {spec!r} matches no module; module names include: {some}")
        chosen.update(hit)
    return {n: m for n, m in named if n in chosen}


def select_output(output, selector=None):
    """The tensor to measure from a module output.

    ``selector`` None: the output if it is a tensor, else the first tensor of a tuple/list, or
    ``last_hidden_state``/``logits``/the first tensor value of a dict-like output (HF ``ModelOutput``).
    An int or str indexes the output; a callable is applied to it.
    """
    import torch

    if selector is not None:
        out = selector(output) if callable(selector) else output[selector]
    elif isinstance(output, torch.Tensor):
        out = output
    elif isinstance(output, (tuple, list)):
        out = next((o for o in output if isinstance(o, torch.Tensor)), None)
    elif hasattr(output, "keys"):
        keys = list(output.keys())
        key = next((k for k in ("last_hidden_state", "logits") if k in keys), None)
        if key is None:
            key = next((k for k in keys if isinstance(output[k], torch.Tensor)), None)
        out = None if key is None else output[key]
    else:
        out = None
    if not isinstance(out, torch.Tensor):
        raise TypeError(
            f"the layer output ({type(output).__name__}) has no tensor to measure; pass output= "
            "(an index, a key or a function) to pick one"
        )
    return out


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
    if callable(reduce):
        return reduce(t)
    if t.ndim == 1:
        return t[:, None]
    if t.ndim == 2:
        return t
    if reduce == "flatten":
        return t.reshape(t.shape[0], -1)
    if reduce == "last":
        if t.ndim != 3:
            raise ValueError(f"reduce='last' needs a (batch, tokens, features) output; got shape {tuple(t.shape)}")
        return t[:, -1]
    if reduce == "mean":
        if t.ndim == 3:
            return t.mean(dim=1)
        return t.mean(dim=tuple(range(2, t.ndim)))
    raise ValueError(f"reduce must be 'mean', 'last', 'flatten' or a callable; got {reduce!r}")


def _check_reduce(reduce):
    if callable(reduce) or reduce in ("mean", "last", "flatten"):
        return reduce
    raise ValueError(f"reduce must be 'mean', 'last', 'flatten' or a callable; got {reduce!r}")


def _declared_batch_first(module):
    """``batch_first`` as the module declares it (RNNs, attention, transformer layers), else None."""
    for m in (module, getattr(module, "self_attn", None)):
        flag = getattr(m, "batch_first", None)
        if isinstance(flag, bool):
            return flag
    layers = getattr(module, "layers", None)  # nn.TransformerEncoder / Decoder
    if layers is not None and len(layers) and not isinstance(layers, type):
        try:
            return _declared_batch_first(layers[0])
        except TypeError:
            return None
    return None


def batch_axis(shape, batch_size, declared=None, name="layer"):
    """The axis of a layer output that holds the probe batch.

    Axis 0 when its length is the batch size (unless the module declares ``batch_first=False``
    and axis 1 matches too); axis 1 for a declared sequence-first module; otherwise the only axis
    of that length. No such axis, or several of them none of which is axis 0, raise ``ValueError``.

    >>> from infomeasure.probes import batch_axis
    >>> batch_axis((7, 32, 16), 32), batch_axis((32, 7, 16), 32), batch_axis((32, 32, 16), 32, declared=False)
    (1, 0, 1)
    """
    shape = tuple(int(s) for s in shape)
    if batch_size is None or not shape:
        return 0
    hits = [ax for ax, size in enumerate(shape) if size == batch_size]
    if declared is False and len(shape) > 1 and 1 in hits:
        return 1
    if 0 in hits:
        return 0
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise ValueError(
            f"the output of {name} has shape {shape}, with no axis of the probe batch size {batch_size}, so it "
            "is not one row per sample; pass output= a function that returns a (batch, ...) tensor"
        )
    raise ValueError(
        f"the output of {name} has shape {shape}: axes {hits} all have the probe batch size {batch_size} and "
        "axis 0 does not, so the batch axis is ambiguous; pass output= a function that returns a (batch, ...) "
        "tensor, e.g. output=lambda out: out[0].transpose(0, 1)"
    )


# ------------------------------------------------------------------------------------------------
# probe data
# ------------------------------------------------------------------------------------------------
def _tensors_of(probe_data, model):
    """Probe data with NumPy arrays turned into tensors (float arrays in the model's float dtype).

    A NumPy array is iterable, and would otherwise be read row by row as if it were a DataLoader.
    Labels must be numbers: strings are refused with the fix.
    """
    import torch

    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)

    def conv(x, what):
        if isinstance(x, np.ndarray):
            if x.dtype.kind in "OUS":
                raise TypeError(f"probe {what} must be numbers; got an array of dtype {x.dtype}. Encode categories as "
                                f"integers, e.g. np.unique({what}, return_inverse=True)[1]")
            t = torch.from_numpy(np.ascontiguousarray(x))
            return t.to(dtype) if t.is_floating_point() and what == "inputs" else t
        if isinstance(x, dict):
            return {k: conv(v, what) for k, v in x.items()}
        return x

    def labels_of(y):
        if y is None or isinstance(y, torch.Tensor):
            return y
        arr = np.asarray(y)
        if arr.dtype.kind in "OUS":
            raise TypeError(f"probe labels must be numbers (class ids); got {arr.dtype} values such as {str(arr.flat[0])!r}. "
                            "Encode them, e.g. labels = np.unique(labels, return_inverse=True)[1]")
        return torch.as_tensor(arr)

    if isinstance(probe_data, tuple) and len(probe_data) == 2 and not isinstance(probe_data[0], (tuple, list)):
        return conv(probe_data[0], "inputs"), labels_of(probe_data[1])
    if isinstance(probe_data, list) and len(probe_data) == 2 and isinstance(probe_data[0], (np.ndarray, torch.Tensor, dict)):
        return conv(probe_data[0], "inputs"), labels_of(probe_data[1])
    return conv(probe_data, "inputs")


def _batches_of(probe_data, batch_size):
    """(list of input batches, labels tensor or None) from a tensor, an (inputs, labels) pair or an iterable."""
    import torch

    def split(x, s):
        if isinstance(x, torch.Tensor):
            return x[s]
        if isinstance(x, dict):
            return {k: split(v, s) for k, v in x.items()}
        raise TypeError(f"probe inputs must be a tensor or a dict of tensors; got {type(x).__name__}")

    def length(x):
        return x.shape[0] if isinstance(x, torch.Tensor) else length(next(iter(x.values())))

    if isinstance(probe_data, (torch.Tensor, dict)):
        inputs, labels = probe_data, None
    elif isinstance(probe_data, (tuple, list)) and len(probe_data) == 2 and not isinstance(probe_data[0], (tuple, list)):
        inputs, labels = probe_data
        labels = None if labels is None else torch.as_tensor(labels)
    elif hasattr(probe_data, "__iter__"):  # a DataLoader: materialised once, in its order
        xs, ys = [], []
        for b in probe_data:
            if isinstance(b, (tuple, list)):
                xs.append(b[0])
                ys.append(torch.as_tensor(b[1]) if len(b) > 1 else None)
            else:
                xs.append(b)
                ys.append(None)
        if not xs:
            raise ValueError("probe_data is an empty iterable")
        labels = None if any(y is None for y in ys) else torch.cat(ys)
        return xs, labels
    else:
        raise TypeError("probe_data must be a tensor, a dict of tensors, an (inputs, labels) pair or a DataLoader")
    if isinstance(inputs, dict) and not inputs:
        raise ValueError("probe_data is an empty dict; pass the model's keyword inputs, e.g. {'input_ids': ...}")
    if isinstance(inputs, torch.Tensor) and inputs.ndim == 0:
        raise ValueError("probe inputs are a scalar tensor; pass a (samples, ...) tensor")
    n = length(inputs)
    if n == 0:
        raise ValueError("probe_data holds 0 samples; pass a non-empty probe set (a few hundred samples is typical)")
    if labels is not None and labels.shape[0] != n:
        raise ValueError(f"probe labels have {labels.shape[0]} rows but the inputs have {n}")
    bs = n if batch_size is None else int(batch_size)
    return [split(inputs, slice(s, s + bs)) for s in range(0, n, bs)], labels


def _shard_batches(batches, labels, rank, world):
    """This rank's contiguous share of the probe rows, re-batched with the same batch size."""
    import torch

    def cat(parts):
        if isinstance(parts[0], dict):
            return {k: cat([p[k] for p in parts]) for k in parts[0]}
        return torch.cat(parts)

    def take(x, s):
        return {k: take(v, s) for k, v in x.items()} if isinstance(x, dict) else x[s]

    def length(x):
        return x.shape[0] if not isinstance(x, dict) else length(next(iter(x.values())))

    bs = length(batches[0])
    full = cat(batches)
    sl = _ddp.shard(length(full), rank, world)
    mine = take(full, sl)
    n = length(mine)
    return [take(mine, slice(s, s + bs)) for s in range(0, n, bs)], (None if labels is None else labels[sl])


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
    measures : list
        Names from :data:`infomeasure.measures.MEASURES`, ``(name, params)`` pairs or measure
        objects. Representation measures see the reduced ``(n, d)`` activations; streaming
        measures (``prediction_entropy``, ``attention_entropy``) the raw output, batch by batch.
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

    Notes
    -----
    **The batch axis.** Probe inputs have samples along axis 0. A layer whose output puts the batch
    elsewhere (``nn.LSTM``, ``nn.TransformerEncoderLayer`` or ``nn.MultiheadAttention`` with
    PyTorch's default ``batch_first=False`` give ``(sequence, batch, features)``) is measured along
    its batch axis: the axis the module declares (``batch_first``), else the only axis whose length
    is the probe batch size (with a warning, once per layer). An output with no such axis, or with several and none of them axis 0,
    gives an error row that says to pass ``output=`` (a function returning a batch-first tensor).

    **One run, one object.** A closed ``Probes`` (its ``with`` block ended, or :meth:`close` was
    called) refuses further :meth:`step` and :meth:`log` calls with a ``RuntimeError`` instead of
    dropping rows: put the ``with`` block around the whole training loop, or continue the run
    directory with a new ``Probes(..., resume=True)``.
    """

    def __init__(
        self,
        model,
        layers,
        measures=("rankme", "von_neumann_entropy"),
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
        self.measures: list[Measure] = [get_measure(m) for m in (measures if isinstance(measures, (list, tuple)) else [measures])]
        if not self.measures:
            raise ValueError("measures must name at least one measure")
        names = [m.name for m in self.measures]
        if len(set(names)) != len(names):
            raise ValueError(f"measure names must be unique (give measure objects name=...); got {names}")
        self.schedule = _schedule(every)
        if isinstance(output, dict):
            unknown = sorted(set(output) - set(self.layers))
            if unknown:
                raise ValueError(f"output= names layers that are not probed: {unknown}; probed layers: {list(self.layers)}")
        self.output = output
        self.reduce = _check_reduce(reduce)
        if isinstance(memory_budget_mb, bool) or not isinstance(memory_budget_mb, (int, float, np.integer, np.floating)):
            raise TypeError(f"memory_budget_mb must be a number of megabytes; got {memory_budget_mb!r}")
        if not (0 < memory_budget_mb < math.inf):
            raise ValueError(f"memory_budget_mb must be a finite number > 0 (megabytes per layer); got {memory_budget_mb!r}")
        self.memory_budget = float(memory_budget_mb) * 2**20
        self.strict = _flag(strict, "strict")
        shard_probe_data = _flag(shard_probe_data, "shard_probe_data")
        if not isinstance(sinks, (list, tuple)):
            raise TypeError(f"sinks must be a list of sink objects; got {type(sinks).__name__}")
        for sink in sinks:
            if not (callable(getattr(sink, "write", None)) and callable(getattr(sink, "close", None))):
                raise TypeError(f"a sink needs write(rows) and close() methods; got {type(sink).__name__}")
        self.sinks = list(sinks)
        self.snapshot_every = None if snapshot_every is None else _positive_int(snapshot_every, "snapshot_every")
        if batch_size is not None:
            batch_size = _positive_int(batch_size, "batch_size")
        self.seed = seed
        self._rank, self._world = _ddp.rank(), _ddp.world_size()
        if probe_data is not None:
            probe_data = _tensors_of(probe_data, model)
        batches, labels = _batches_of(probe_data, batch_size) if probe_data is not None else ([], None)
        full_batches = batches  # the whole probe set, in order (what rank 0 measures after gathering)
        if self._world > 1 and shard_probe_data:
            batches, _ = _shard_batches(batches, labels, self._rank, self._world)
        elif self._world > 1 and labels is not None:
            # each rank's own labels, concatenated in rank order as the activations will be
            labels = _ddp.gather_rows(labels.reshape(-1, 1).to(_label_dtype(labels))).reshape(-1)
        self._inputs = None
        if any(getattr(m, "needs_inputs", False) for m in self.measures):
            if mode != "probe":
                raise ValueError("mi_inputs needs the fixed probe inputs: use mode='probe'")
            if self._world > 1 and not shard_probe_data:
                raise ValueError("mi_inputs needs one probe set shared by all ranks: use shard_probe_data=True")
            if not batches or not all(isinstance(b, torch.Tensor) for b in full_batches):
                raise ValueError("mi_inputs needs tensor probe inputs (not a dict of tensors)")
            x = torch.cat([b.detach().reshape(b.shape[0], -1).cpu() for b in full_batches]).to(torch.float64)
            self._inputs = x.numpy()
        self._batches, self._labels = batches, labels
        if labels is None and mode == "probe" and any(m.needs_labels for m in self.measures):
            bad = [m.name for m in self.measures if m.needs_labels]
            raise ValueError(f"measures {bad} need labels: pass probe_data=(inputs, labels)")
        self._rows: list[dict] = []
        self._handles: list = []
        self._n_probe_steps = 0
        self._run = None
        self._closed = False
        self._axis_notes: set = set()
        if run_dir is not None and self._rank == 0:
            from .run_dir import RunDir

            self._run = RunDir(run_dir, self._manifest(), resume=_flag(resume, "resume"))
        self.probe_seconds = 0.0

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
        self._closed = True
        self._remove_hooks()
        if self._run is not None:
            self._run.close(probe_steps=self._n_probe_steps)
            self._run = None
        for s in self.sinks:
            s.close()
        self.sinks = []

    def _check_open(self, what):
        if self._closed:
            raise RuntimeError(
                f"this Probes is closed (its with block ended or close() was called), so it cannot {what}: "
                "rows would no longer reach run_dir and the sinks. Keep one with block around the whole "
                "training loop, or continue the run with a new Probes(..., run_dir=..., resume=True)"
            )

    def _remove_hooks(self):
        while self._handles:
            self._handles.pop().remove()

    # -- results -----------------------------------------------------------------------------
    @property
    def results(self) -> list[dict]:
        """The long table: one dict per (step, layer, measure) with :data:`COLUMNS` keys.

        ``pandas.DataFrame(probes.results)`` gives a data frame. Error rows have ``value`` None
        and the message in ``error``. Empty on ranks other than 0.
        """
        return list(self._rows)

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
            "schedule": repr(self.schedule),
            "reduce": self.reduce if isinstance(self.reduce, str) else repr(self.reduce),
            "probe_samples": int(sum(_len(b) for b in self._batches)) * self._world,
            "world_size": self._world,
            "seed": self.seed,
            "columns": COLUMNS,
        }

    # -- the probe step ----------------------------------------------------------------------
    def _take_tapped(self, step, labels):
        import torch

        tapped, self._tapped = self._tapped, None
        if tapped is not None and tapped[0] == step:
            cap = tapped[1]
        else:  # nothing was tapped at this step: empty capture, the same collectives as the others
            cap = self._start_capture()
            self._remove_hooks()
            cap["errors"].update(
                {(n, None): RuntimeError(f"nothing was tapped at step {step}: run the forward pass inside probes.tap({step})")
                 for n in self.layers}
            )
        self._labels = None
        if labels is not None:
            labels = torch.as_tensor(labels).detach().reshape(-1).cpu()
            if not cap["index"]:
                mine = labels[:0]
            elif len(cap["index"]) != 1:
                raise ValueError(
                    f"labels= needs exactly one training forward inside probes.tap({step}); "
                    f"{len(cap['index'])} were tapped"
                )
            else:
                idx, n = cap["index"][0]
                if labels.shape[0] != n:
                    raise ValueError(f"labels has {labels.shape[0]} rows but the tapped batch had {n}")
                mine = labels[idx]
            self._labels = _ddp.gather_rows(mine.reshape(-1, 1).to(_label_dtype(mine))).reshape(-1)
        return self._finish_capture(cap)

    def step(self, step: int, labels=None) -> bool:
        """Probe if ``step`` is a probe step (a no-op otherwise); returns whether it probed.

        The rows go to :attr:`results`, the run directory and the sinks (on rank 0).
        """
        self._check_open(f"probe step {step}")
        step = _step_of(step)
        if not self.schedule(step):
            return False
        t0 = time.perf_counter()
        if self.mode == "tap":
            reps, streams, capture_errors = self._take_tapped(step, labels)
        else:
            if labels is not None:
                raise ValueError("labels= is for tap mode; in probe mode they come with probe_data")
            reps, streams, capture_errors = self._capture()
        rows = self._measure(step, reps, streams, capture_errors) if self._rank == 0 else []
        self._n_probe_steps += 1
        if self._rank == 0:
            self._rows.extend(rows)
            if self._run is not None:
                self._run.append(rows)
                if self.snapshot_every and (self._n_probe_steps - 1) % int(self.snapshot_every) == 0:
                    self._run.save_snapshot(step, {n: z for n, z in reps.items() if z is not None})
            for s in self.sinks:
                s.write(rows)
        self.probe_seconds += time.perf_counter() - t0
        return True

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
        if self._rank == 0:
            self._rows.extend(rows)
            if self._run is not None:
                self._run.append(rows)
            for s in self.sinks:
                s.write(rows)
        return rows

    @contextlib.contextmanager
    def _frozen_state(self, module):
        """Eval mode, no grad and untouched RNG states for the probe pass; restored afterwards."""
        import torch

        modes = [(m, m.training) for m in module.modules()]
        devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        try:
            with torch.random.fork_rng(devices=devices), torch.no_grad():
                state = np.random.get_state()
                module.eval()
                try:
                    yield
                finally:
                    np.random.set_state(state)
        finally:
            for m, mode in modes:
                m.training = mode

    def _start_capture(self, tap_samples=None):
        """Register the capture hooks; returns the capture record that they fill."""
        import torch

        stream_measures = [m for m in self.measures if m.streaming]
        need_rep = any(not m.streaming for m in self.measures) or bool(self.snapshot_every)
        cap = {
            "parts": {n: [] for n in self.layers},
            "used": dict.fromkeys(self.layers, 0),
            "truncated": set(),
            "states": {(n, m.name): m.init() for n in self.layers for m in stream_measures},
            "errors": {},
            "need_rep": need_rep,
            "index": [],  # tap mode: (rows kept, batch rows) of each training forward (first layer)
        }
        first = next(iter(self.layers))

        def make_hook(name):
            sel = self.output.get(name) if isinstance(self.output, dict) else self.output
            declared = _declared_batch_first(self.layers[name])
            states, errors, parts, used, truncated = (
                cap["states"], cap["errors"], cap["parts"], cap["used"], cap["truncated"]
            )

            def hook(mod, inp, out):
                try:
                    t = select_output(out, sel).detach()
                    if t.is_complex():
                        raise TypeError(f"layer {name!r} gives a complex output; pass output= a function "
                                        "that returns real values, e.g. output=lambda o: o.abs()")
                    # the batch on axis 0 (sequence-first layers put it on axis 1)
                    ax = batch_axis(t.shape, cap.get("batch"), declared, f"layer {name!r}") if t.ndim else 0
                    if ax:
                        t = t.movedim(ax, 0)
                        if declared is not False and name not in self._axis_notes:  # inferred, not declared
                            self._axis_notes.add(name)
                            warnings.warn(f"layer {name!r}: axis {ax} of its output {tuple(t.movedim(0, ax).shape)} is "
                                          "the only one of the probe batch size, so it is taken as the batch axis; "
                                          "pass output= a function returning a batch-first tensor if that is wrong",
                                          UserWarning, stacklevel=2)
                    if tap_samples is not None:
                        out_rows = t.shape[0]
                        idx = _spread(out_rows, tap_samples)
                        t = t[idx.to(t.device)]
                        if name == first:
                            cap["index"].append((idx, int(out_rows)))
                    for m in stream_measures:
                        key = (name, m.name)
                        if key not in errors:
                            try:
                                states[key] = m.update(states[key], t)
                            except Exception as e:  # noqa: BLE001 - recorded as an error row
                                errors[key] = e
                    if need_rep and name not in truncated:
                        z = reduce_output(t, self.reduce)
                        # copy (in-place ops later in the forward cannot change it), float32, CPU
                        z = z.reshape(z.shape[0], -1).to(device="cpu", dtype=torch.float32, copy=True)
                        room = int((self.memory_budget - used[name]) // max(1, 4 * z.shape[1]))
                        if room < z.shape[0]:
                            truncated.add(name)
                            z = z[: max(room, 0)]
                        if z.shape[0]:
                            parts[name].append(z)
                            used[name] += z.numel() * 4
                except Exception as e:  # noqa: BLE001 - recorded as an error row
                    errors[(name, None)] = e

            return hook

        def batch_hook(mod, args, kwargs):
            # tap mode: the batch size of the training forward (first tensor argument)
            first_t = next((a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor) and a.ndim), None)
            cap["batch"] = None if first_t is None else int(first_t.shape[0])

        try:
            if tap_samples is not None:
                self._handles.append(unwrap(self.model).register_forward_pre_hook(batch_hook, with_kwargs=True))
            for name, mod in self.layers.items():
                self._handles.append(mod.register_forward_hook(make_hook(name)))
        except BaseException:
            self._remove_hooks()
            raise
        return cap

    def _capture(self):
        """The probe pass over ``probe_data``; returns the gathered capture."""
        module = unwrap(self.model)
        cap = self._start_capture()
        try:
            with self._frozen_state(module):
                for batch in self._batches:
                    cap["batch"] = _len(batch)
                    if isinstance(batch, dict):
                        module(**batch)
                    else:
                        module(batch)
        finally:
            self._remove_hooks()
        return self._finish_capture(cap)

    def _finish_capture(self, cap):
        """Warn about truncation, gather over ranks (same collectives everywhere)."""
        import torch

        parts = cap["parts"]
        for name in sorted(cap["truncated"]):
            warnings.warn(
                f"probe activations of layer {name!r} exceed memory_budget_mb; only the first "
                f"{sum(p.shape[0] for p in parts[name])} rows are measured",
                UserWarning,
                stacklevel=4,
            )
        reps = {}
        for name in self.layers:
            if not cap["need_rep"]:
                reps[name] = None
                continue
            z = torch.cat(parts[name]) if parts[name] else torch.zeros((0, 0))
            # same collectives on every rank, in layer order
            reps[name] = _ddp.gather_rows(z)
        states = {key: _ddp.sum_over_ranks(state) for key, state in cap["states"].items()}
        return reps, states, cap["errors"]

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
        cap = self._start_capture(tap_samples=self.tap_samples)
        try:
            yield
        finally:
            self._remove_hooks()
        self._tapped = (step, cap)

    def _measure(self, step, reps, states, errors):
        rows = []
        labels = self._labels
        for name in self.layers:
            z = reps.get(name)
            n, d = (int(z.shape[0]), int(z.shape[1])) if z is not None and z.ndim == 2 else (0, 0)
            spectra = {}
            for m in self.measures:
                row = {c: None for c in COLUMNS}
                row.update(step=step, layer=name, measure=m.name, method=m.method, n_samples=n, n_features=d, units=m.units)
                try:
                    if (name, None) in errors:
                        raise errors[(name, None)]
                    if m.streaming:
                        if (name, m.name) in errors:
                            raise errors[(name, m.name)]
                        values = m.finalize(states[(name, m.name)])
                        for suffix, v in values.items():
                            r = dict(row, measure=m.name + suffix, value=_finite(v, m.name))
                            rows.append(r)
                        continue
                    if n == 0:
                        raise ValueError(f"no activations were captured for layer {name!r}")
                    y = None
                    if m.needs_labels:
                        y = labels[:n].cpu().numpy()
                    if getattr(m, "needs_inputs", False):
                        v = m.compute(z, inputs=self._inputs[:n])
                    elif isinstance(m, SpectralMeasure):
                        if m.prep not in spectra:
                            spectra[m.prep] = m.spectrum(z)
                        v = m.compute(z, spectrum=spectra[m.prep])
                    else:
                        v = m.compute(z, y)
                    row["value"] = _finite(v, m.name)
                except Exception as e:
                    if self.strict:
                        raise
                    row["error"] = f"{type(e).__name__}: {e}"
                    row["value"] = None
                rows.append(row)
        return rows


def _step_of(step) -> int:
    """A training step as an int: integers (NumPy, torch scalars) and integral floats; else TypeError."""
    if hasattr(step, "item") and getattr(step, "ndim", 0) == 0:
        step = step.item()
    if isinstance(step, bool) or not isinstance(step, numbers.Real) or not float(step).is_integer():
        raise TypeError(f"step must be an integer training step (e.g. the global step); got {step!r}")
    return int(step)


def _finite(v, name):
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{name} gave a non-finite value {v}")
    return v


def _label_dtype(labels):
    import torch

    return torch.float64 if labels.is_floating_point() else torch.int64


def _len(b):
    return b.shape[0] if not isinstance(b, dict) else _len(next(iter(b.values())))


def _to_device(data, device):
    """Probe data (tensor, dict of tensors or (inputs, labels)) with its inputs on ``device``."""
    import torch

    if isinstance(data, torch.Tensor):
        return data.to(device)
    if isinstance(data, dict):
        return {k: _to_device(v, device) for k, v in data.items()}
    if isinstance(data, tuple) and len(data) == 2:
        return (_to_device(data[0], device), data[1])
    return data


def _spread(n: int, k: int):
    """``min(n, k)`` evenly spaced row indices of ``range(n)`` (deterministic subsampling)."""
    import torch

    if n <= k:
        return torch.arange(n)
    return torch.div(torch.arange(k) * n, k, rounding_mode="floor")
