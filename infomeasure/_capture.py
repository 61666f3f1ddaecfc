"""Capturing layer outputs with forward hooks: one probe pass, or one tapped training forward.

A :class:`Capture` registers a forward hook on every probed layer. Each hook selects the tensor
to measure, puts the batch on axis 0, feeds the streaming measures the raw output and keeps a
float32 copy (on the layer's device) of the reduced ``(batch, features)`` rows within the layer's memory budget.
:meth:`Capture.finish` gathers everything over DDP ranks (the same collectives on every rank).
Anything a hook raises is kept, per layer, and becomes an error row when the layer is measured.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np

from . import _ddp
from .measures import reduce_rows

__all__ = ["Capture", "batch_axis", "declared_batch_first", "frozen_state", "select_output", "spread", "unwrap"]


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
    if selector is not None and out is None and isinstance(output, (tuple, list)):
        raise TypeError(
            f"the entry output={selector!r} of the layer output ({type(output).__name__} of {len(output)}) is None: "
            "Hugging Face attention modules return their weights only under attn_implementation='eager'; probe "
            "mode switches to it for attention_entropy, in tap mode load the model with attn_implementation='eager'"
        )
    if not isinstance(out, torch.Tensor):
        raise TypeError(
            f"the layer output ({type(output).__name__}) has no tensor to measure; pass output= "
            "(an index, a key or a function) to pick one"
        )
    return out


def eager_attention(model):
    """Switch a Hugging Face model to eager attention (which returns the weights); returns the undo, or None.

    Models without ``config._attn_implementation`` and ``set_attn_implementation``, or already
    eager, are left alone (None).
    """
    impl = getattr(getattr(model, "config", None), "_attn_implementation", None)
    switch = getattr(model, "set_attn_implementation", None)
    if not isinstance(impl, str) or impl == "eager" or not callable(switch):
        return None
    try:
        switch("eager")
    except (ValueError, NotImplementedError, AttributeError, TypeError):
        return None  # the model has no eager attention: its attention layers give error rows that say so
    return lambda: switch(impl)


def declared_batch_first(module):
    """``batch_first`` as the module declares it (RNNs, attention, transformer layers), else None."""
    for m in (module, getattr(module, "self_attn", None)):
        flag = getattr(m, "batch_first", None)
        if isinstance(flag, bool):
            return flag
    layers = getattr(module, "layers", None)  # nn.TransformerEncoder / Decoder
    if layers is not None and len(layers) and not isinstance(layers, type):
        try:
            return declared_batch_first(layers[0])
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


def spread(n: int, k: int):
    """``min(n, k)`` evenly spaced row indices of ``range(n)`` (deterministic subsampling)."""
    import torch

    if n <= k:
        return torch.arange(n)
    return torch.div(torch.arange(k) * n, k, rounding_mode="floor")


@contextlib.contextmanager
def frozen_state(module):
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


class Capture:
    """The hooks of one probe pass (or one tapped training forward) and what they collect.

    Parameters
    ----------
    probes : Probes
        Supplies ``layers``, ``measures``, ``output``, ``reduce``, ``memory_budget``,
        ``snapshot_every`` and the set of layers already warned about (``_axis_notes``).
    tap_samples : int, optional
        Tap mode: evenly spaced rows kept from each training forward; ``batch`` is then read from
        the model's first tensor argument by a pre-hook.

    Attributes
    ----------
    parts : dict
        Reduced float32 row blocks per layer, on the layer's device (on the CPU under
        torch.distributed).
    states : dict
        ``states[layer][measure name]``: streaming measures' sums.
    errors : dict
        ``errors[layer][None]``: the layer failed; ``errors[layer][name]``: one streaming measure.
    index : list
        Tap mode: ``(rows kept, batch rows)`` of each training forward (first layer).
    batch : int or None
        The batch size of the forward pass under way.
    """

    def __init__(self, probes, tap_samples=None):
        self.probes = probes
        self.tap_samples = tap_samples
        layers = probes.layers
        per_layer = getattr(probes, "layer_measures", None) or dict.fromkeys(layers, probes.measures)
        # every rank keeps a state of every streaming measure on every layer (the same collectives
        # everywhere); a layer feeds only its own, unskipped, ones (the others are marked _NOT_FED)
        self.streaming = [m for m in probes.measures if m.streaming]
        # a layer keeps its reduced rows only for a representation measure of its own (or snapshots)
        self.need_rep = {n: any(not m.streaming for m in per_layer[n]) or bool(probes.snapshot_every) for n in layers}
        self.parts = {n: [] for n in layers}
        self.used = dict.fromkeys(layers, 0)
        self.truncated: set = set()
        self.states = {n: {m.name: m.init() for m in self.streaming} for n in layers}
        self.errors: dict = {n: {} for n in layers}
        skipped = getattr(probes, "_skipped", {})
        for n in layers:
            mine = {m.name for m in per_layer[n]} - set(skipped.get(n, ()))
            self.errors[n].update({m.name: _NOT_FED for m in self.streaming if m.name not in mine})
        self._per_layer = per_layer
        self._skip_notes: list = []
        self.index: list = []
        self.batch = None
        self._first = next(iter(layers))
        # captures stay on the layer's device, except under a process group whose collectives take CPU tensors (gloo)
        self.keep_device = _ddp.world_size() == 1 or _ddp.collective_device().type != "cpu"
        self._handles: list = []

    # -- hooks -------------------------------------------------------------------------------
    def attach(self, model):
        """Register the hooks (and, in tap mode, the batch-size pre-hook on ``model``)."""
        try:
            if self.tap_samples is not None:
                self._handles.append(unwrap(model).register_forward_pre_hook(self._batch_hook, with_kwargs=True))
            if any(getattr(m, "uses_batch", False) for m in self.streaming):
                self._handles.append(unwrap(model).register_forward_pre_hook(self._mask_hook, with_kwargs=True))
            if self.tap_samples is None and any(getattr(m, "needs_attention_weights", False) for m in self.streaming):
                self._restore_attention = eager_attention(unwrap(model))
            for name, mod in self.probes.layers.items():
                self._handles.append(mod.register_forward_hook(self._hook_for(name, mod)))
        except BaseException:
            self.detach()
            raise
        return self

    def detach(self):
        """Remove the hooks and restore the attention implementation (idempotent)."""
        while self._handles:
            self._handles.pop().remove()
        restore, self._restore_attention = getattr(self, "_restore_attention", None), None
        if restore is not None:
            restore()

    def _mask_hook(self, mod, args, kwargs):
        import torch

        # the masks of this forward, for streaming measures that leave out padding (keyword arguments,
        # as model(**batch) passes them)
        self._masks = {k: kwargs[k].detach() for k in ("attention_mask", "labels")
                       if isinstance(kwargs.get(k), torch.Tensor)}

    def _batch_masks(self, t):
        """The forward's masks for ``t`` (tap mode: the same evenly spaced rows), or None."""
        masks = getattr(self, "_masks", None)
        if not masks:
            return None
        if self.tap_samples is None:
            return masks
        return {k: v[spread(v.shape[0], self.tap_samples).to(v.device)] if v.ndim else v for k, v in masks.items()}

    def _batch_hook(self, mod, args, kwargs):
        import torch

        # tap mode: the batch size of the training forward (first tensor argument)
        first = next((a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor) and a.ndim), None)
        self.batch = None if first is None else int(first.shape[0])

    def _hook_for(self, name, module):
        output = self.probes.output
        sel = output.get(name) if isinstance(output, dict) else output
        declared = declared_batch_first(module)

        def hook(mod, inp, out):
            try:
                t = self._batch_first(select_output(out, sel).detach(), name, declared)
                if self.tap_samples is not None:
                    t = self._subsample(t, name)
                if name not in self.probes._skipped:
                    self._check_kinds(name, mod, t)
                self._stream(t, name)
                if self.need_rep[name] and name not in self.truncated:
                    self._keep(reduce_rows(t, self.probes.reduce, rows="batch", what="output"), name)
            except Exception as e:  # noqa: BLE001 - recorded as an error row
                self.errors[name][None] = e

        return hook

    def _check_kinds(self, name, module, t):
        """Decide once per run which measures of one layer get an output of the wrong kind.

        Only with one measure list for every layer (the dict form says what each layer gets) and
        only where the output plainly is of another kind (see :func:`kind_problem`); each skipped
        measure is named in one warning (shown by :meth:`finish`, outside the hook) and never fed or
        measured on this layer again.
        """
        probes = self.probes
        why = {}
        if getattr(probes, "_measures_form", "dict") != "dict":
            for m in self._per_layer[name]:
                problem = kind_problem(m, name, module, t, probes)
                if problem is not None:
                    why[m.name] = problem
        probes._skipped[name] = why
        for mname, problem in why.items():
            self.errors[name][mname] = _NOT_FED
            kind = next(getattr(m, "input", "features") for m in self._per_layer[name] if m.name == mname)
            others = [m.name for m in self._per_layer[name] if m.name not in why]
            # shown by finish(), outside the forward hook (an "error" filter must not fail the layer)
            self._skip_notes.append(
                f"layer {name!r}: {mname} is skipped on this layer for the whole run: it needs "
                f"{_KIND_TEXT.get(kind, kind)}, and {problem}. Give measures per layer to choose where each runs "
                f"(it then runs there as asked), e.g. measures={{{name!r}: {others!r}, '<{kind} layer>': [{mname!r}]}}")

    def _batch_first(self, t, name, declared):
        """``t`` with the batch on axis 0 (sequence-first layers put it on axis 1)."""
        if t.is_complex():
            raise TypeError(f"layer {name!r} gives a complex output; pass output= a function "
                            "that returns real values, e.g. output=lambda o: o.abs()")
        ax = batch_axis(t.shape, self.batch, declared, f"layer {name!r}") if t.ndim else 0
        if not ax:
            return t
        notes = self.probes._axis_notes
        if declared is not False and name not in notes:  # inferred, not declared: say so once
            notes.add(name)
            warnings.warn(f"layer {name!r}: axis {ax} of its output {tuple(t.shape)} is "
                          "the only one of the probe batch size, so it is taken as the batch axis; "
                          "pass output= a function returning a batch-first tensor if that is wrong",
                          UserWarning, stacklevel=3)
        return t.movedim(ax, 0)

    def _subsample(self, t, name):
        rows = t.shape[0]
        idx = spread(rows, self.tap_samples)
        if name == self._first:
            self.index.append((idx, int(rows)))
        return t[idx.to(t.device)]

    def _stream(self, t, name):
        states, errors = self.states[name], self.errors[name]
        batch = None
        for m in self.streaming:
            if m.name not in errors:
                try:
                    if getattr(m, "uses_batch", False):
                        batch = self._batch_masks(t) if batch is None else batch
                        states[m.name] = m.update(states[m.name], t, batch=batch)
                    else:
                        states[m.name] = m.update(states[m.name], t)
                except Exception as e:  # noqa: BLE001 - recorded as an error row
                    errors[m.name] = e

    def _keep(self, z, name):
        """Keep a float32 copy of the reduced rows, within the layer's memory budget."""
        import torch

        # a copy: in-place ops later in the forward cannot change it. It stays on the layer's device
        # (measures with a torch path run there; the others copy it to the CPU once, off the training
        # thread in background mode), except under a gloo process group, whose gathers use CPU tensors.
        device = z.device if self.keep_device else "cpu"
        z = z.reshape(z.shape[0], -1).to(device=device, dtype=torch.float32, copy=True)
        room = int((self.probes.memory_budget - self.used[name]) // max(1, 4 * z.shape[1]))
        if room < z.shape[0]:
            self.truncated.add(name)
            z = z[: max(room, 0)]
        if z.shape[0]:
            self.parts[name].append(z)
            self.used[name] += z.numel() * 4

    # -- the result --------------------------------------------------------------------------
    def finish(self):
        """``(reps, states, errors)`` gathered over ranks; warns about truncated layers.

        ``reps[layer]`` is the ``(n, d)`` float32 tensor of all ranks' rows (``None`` when no
        representation measure needs it); ``states[layer][name]`` the streaming sums added over
        ranks. Every rank makes the same collectives, in layer order.
        """
        import torch

        notes = getattr(self.probes, "_axis_notes", set())
        for name in sorted(self.truncated):
            if ("memory", name) in notes:
                continue  # once per layer for the run, not at every probe step
            notes.add(("memory", name))
            warnings.warn(
                f"probe activations of layer {name!r} exceed memory_budget_mb; only the first "
                f"{sum(p.shape[0] for p in self.parts[name])} rows are measured (at this and later probe steps)",
                UserWarning,
                stacklevel=4,
            )
        reps = {}
        for name, parts in self.parts.items():
            if not self.need_rep[name]:
                reps[name] = None
                continue
            if not parts:
                z = torch.zeros((0, 0))
            else:  # one batch (the common case) is already a copy of its own: no second one
                z = parts[0] if len(parts) == 1 else torch.cat(parts)
            reps[name] = _ddp.gather_rows(z)
        states = {name: {m: _sum_state(s) for m, s in per.items()} for name, per in self.states.items()}
        errors = {name: {m: e for m, e in per.items() if e is not _NOT_FED} for name, per in self.errors.items()}
        while self._skip_notes:  # after the collectives: an "error" filter cannot leave other ranks waiting
            warnings.warn(self._skip_notes.pop(0), UserWarning, stacklevel=4)
        return reps, states, errors


class _NotFed(Exception):
    """Marks, in ``Capture.errors``, a streaming measure that a layer does not feed (not its own, or skipped)."""


_NOT_FED = _NotFed("not measured on this layer")

_KIND_TEXT = {
    "logits": "the model's logits (its final layer, before the softmax)",
    "attention": "attention probabilities of shape (batch, heads, queries, keys), rows summing to 1",
    "features": "layer features",
}

#: Module types whose output is never a model's logits (activations, normalisation, dropout, embeddings).
_NOT_LOGITS = ("activation", "normalization", "batchnorm", "instancenorm", "dropout", "sparse", "pooling", "flatten")

#: Last name parts of modules that may well give logits (classification and language-model heads).
_HEAD_NAMES = ("classifier", "logits", "score", "lm_head", "head", "fc_out", "output_layer")


def kind_problem(measure, name, module, t, probes) -> str | None:
    """Why ``t``, the output of layer ``name`` (``module``), plainly is not what ``measure`` needs (None: it may be).

    Conservative: a measure is only refused what it cannot mean. ``"logits"``: a layer whose
    module is an activation (``LogSoftmax`` aside: log-probabilities have the same softmax),
    normalisation, dropout, pooling or embedding, or which is neither the model's last module,
    nor its last module with parameters (nor one holding either), nor named like a head
    (``classifier``, ``*head``, ...), nor a layer with as many outputs as the probe labels have
    classes or the model's configuration has labels or vocabulary entries. ``"attention"``: an output that is
    not 4-D, or has negative entries, or whose rows (last axis) do not sum to 1 on average (fully
    masked rows that sum to 0 are left out; dropout keeps the average).
    """
    import torch

    kind = getattr(measure, "input", "features")
    if kind == "attention":
        if t.ndim != 4:
            return f"its output has shape {tuple(t.shape)}, not 4 axes"
        a = t.detach()
        low = float(a.amin()) if a.numel() else 0.0  # no float64 or masked copy of the whole map
        if math.isnan(low):  # NaN rows (fully masked queries under some kernels): the finite entries decide
            finite = a[torch.isfinite(a)]
            low = float(finite.min()) if finite.numel() else 0.0
        if low < -1e-3:
            return f"its output {tuple(t.shape)} has negative entries (scores before the softmax?)"
        sums = a.sum(-1, dtype=torch.float64)
        rows = sums[torch.isfinite(sums) & (sums.abs() > 1e-3)]
        if rows.numel() and abs(float(rows.mean()) - 1.0) > 0.1:
            return f"the rows of its output {tuple(t.shape)} sum to {float(rows.mean()):.3g} on average, not 1"
        return None
    if kind == "logits":
        where = type(module).__module__ or ""
        if (where.startswith("torch.nn.modules.") and where.rsplit(".", 1)[-1] in _NOT_LOGITS
                and type(module).__name__ != "LogSoftmax"):  # log-probabilities are logits (same softmax)
            return f"it is a {type(module).__name__} module, which does not give logits"
        if _may_give_logits(name, module, probes):
            return None
        return ("it is not the model's last module, not named like a head and its width matches no number of "
                "classes")
    return None


def _may_give_logits(name, module, probes) -> bool:
    """Whether layer ``name`` may give the model's logits (see :func:`kind_problem`)."""
    last = getattr(probes, "_last_modules", None)
    if last is None:  # the last leaf module, and the last one with parameters (a Dropout may be registered after it)
        root = unwrap(probes.model)
        leaves = [(n, m) for n, m in root.named_modules() if n and not any(True for _ in m.children())]
        weighted = [n for n, m in leaves if any(True for _ in m.parameters(recurse=False))]
        last = probes._last_modules = tuple(n for n in (leaves[-1][0] if leaves else None,
                                                         weighted[-1] if weighted else None) if n)
    if any(n == name or n.startswith(name + ".") for n in last):
        return True
    part = name.rsplit(".", 1)[-1].lower()
    if part in _HEAD_NAMES or part.endswith("head") or part.endswith("classifier"):
        return True
    width = getattr(module, "out_features", None)
    return width is not None and int(width) in _class_counts(probes)


def _class_counts(probes) -> set:
    """Numbers of classes the model may predict: from the probe labels and the model's configuration."""
    counts = set()
    labels = getattr(probes, "_labels", None)
    if labels is not None and labels.numel() and not labels.is_floating_point():
        counts.update({int(labels.max()) + 1, int(labels.unique().numel())})
    config = getattr(unwrap(probes.model), "config", None)
    for key in ("num_labels", "vocab_size"):
        v = getattr(config, key, None)
        if isinstance(v, int):
            counts.add(v)
    return counts


def _sum_state(state):
    """A streaming state added over ranks: named sums (``flat``/``from_flat``) or a plain tensor."""
    if hasattr(state, "flat"):
        return type(state).from_flat(_ddp.sum_over_ranks(state.flat()))
    return _ddp.sum_over_ranks(state)
