"""Measure objects: a name, parameters and metadata around one estimator, and the one path that evaluates them.

Each measure wraps a function of :mod:`estimators` (the math lives there, once) and adds what
probes, :func:`infomeasure.analyze` and the reports need to know about it, in the style of
torchmetrics: ``higher_is_better``, ``units``, ``needs_labels``, what it measures
(``quantity``), whether it centres the data (``centred``), its range (``lower`` and
:meth:`Measure.maximum`) and whether a fall of it signals collapse (``collapse_signal``); spectral
measures also say which Gram spectrum preparation they use, so that the measures of one layer at
one step share a single eigendecomposition.

Two kinds of measure exist:

* **representation measures** (:class:`SpectralMeasure`, :class:`SampleMeasure`, :class:`InputsMI`)
  receive the layer's activations reduced to a ``(n_samples, n_features)`` matrix (plus the labels
  or inputs where needed);
* **streaming measures** (:class:`PredictionEntropy`, :class:`AttentionEntropy`) receive the raw layer
  output batch by batch (logits, attention probabilities) and keep additive sums
  (:class:`estimators.predictive.EntropySums`), so a large vocabulary or many attention maps never
  have to be stored.

:func:`evaluate` turns the inputs of one (step, layer) into result rows; probes and
:func:`infomeasure.analyze` both call it, so a measure gives the same row, or the same error
row, in both.

>>> from infomeasure.measures import get_measure
>>> m = get_measure("rankme")
>>> m.name, m.higher_is_better, m.needs_labels, m.units, m.quantity
('rankme', True, False, 'unitless', 'effective_rank')
>>> import numpy as np
>>> round(m.compute(np.eye(4)), 4)
4.0
"""

from __future__ import annotations

import contextlib
import inspect
import math
from typing import ClassVar

import numpy as np

import estimators as _est
from estimators import predictive as _pred
from estimators.spectral import GRAM_PREPARATION, GramSpectrum, gram_spectrum
from estimators.validation import log_base

from .sinks import COLUMNS

__all__ = [
    "MEASURES",
    "AttentionEntropy",
    "InputsMI",
    "Measure",
    "PredictionEntropy",
    "SampleMeasure",
    "SpectralMeasure",
    "StreamingMeasure",
    "get_measure",
    "logit_entropy",
]
# evaluate, measure_for_row and reduce_rows are public in this module (``infomeasure.measures``) but
# not re-exported at the top level, whose names are frozen (tests/test_public_api.py).

logit_entropy = _pred.logit_entropy

_LOG = {"nats": math.log, "bits": math.log2, "hartleys": math.log10}


class Measure:
    """Base class: a named measure with metadata.

    Attributes
    ----------
    name : str
        The name used in result rows.
    method : str
        The estimator function (in :mod:`estimators`) that computes it.
    higher_is_better : bool or None
        Direction in which the measure improves (``None``: neither; a diagnostic).
    units : str
        ``"nats"``, ``"bits"`` (with ``base=2``) or ``"unitless"``.
    quantity : str or None
        What the value is: ``"effective_rank"`` (a number of dimensions), ``"entropy"``,
        ``"mutual_information"``, ``"spectral_decay"`` (a power-law exponent) or
        ``"coding_rate"``; ``None`` when unknown.
    lower : float or None
        The smallest value the true quantity can take (0 for ranks, entropies of spectra and
        mutual information; estimates may still fall below it).
    centred : bool or None
        Whether the data are centred before measuring (``None``: not applicable).
    collapse_signal : bool
        Whether a fall of the value over training signals representation collapse (ranks and
        spectral entropies: yes; prediction entropy, which falls as a model learns: no).
    needs_labels, needs_inputs : bool
        Whether the measure needs probe labels, or the probe inputs.
    streaming : bool
        ``True`` for measures fed the raw layer output batch by batch.
    torch_path : bool or None
        What array a representation measure receives from probes. ``True``: the estimator has a
        torch path, so activations captured on an accelerator are measured there as a tensor
        (on the CPU it gets a NumPy array, whose BLAS threads the probes' thread budget
        limits); ``False``: always a NumPy array (one CPU copy per layer and step); ``None``
        (the default of measures written by users): the captured torch tensor as it is.
    input : {"features", "logits", "attention"}
        The kind of layer output the measure is meant for: ``"features"`` (any representation,
        reduced to ``(n_samples, n_features)``), ``"logits"`` (the model's predictions before the
        softmax: ``prediction_entropy``) or ``"attention"`` (attention probabilities
        ``(batch, heads, queries, keys)``: ``attention_entropy``). Probes given one measure list
        for all layers skip a measure on a layer whose output is plainly of another kind, with
        one warning (see ``Probes(measures=)``).
    """

    name = "measure"
    method = ""
    higher_is_better: bool | None = None
    unitless = False
    quantity: str | None = None
    lower: float | None = None
    centred: bool | None = None
    collapse_signal = False
    needs_labels = False
    needs_inputs = False
    streaming = False
    torch_path: bool | None = None
    input = "features"

    def __init__(self, **params):
        self.params = dict(params)

    @property
    def units(self) -> str:
        if self.unitless:
            return "unitless"
        base = self.params.get("base")
        if base is None or base == math.e:
            return "nats"
        if base == 2:
            return "bits"
        if base == 10:
            return "hartleys"
        return f"log base {base}"

    def maximum(self, n_samples, n_features) -> float | None:
        """The largest value the measure can take for ``n_samples`` rows of ``n_features`` (or None)."""
        return None

    def unfit(self, n_samples, n_features) -> str | None:
        """Why the measure cannot be computed on ``n_samples`` rows of ``n_features`` (None: it can).

        Only a shape that makes the estimator fail for certain counts (e.g. ``alpha_req`` with
        fewer eigenvalues than its fit range needs); default measure sets leave such measures
        out on that layer instead of giving an error row at every step.

        >>> from infomeasure.measures import get_measure
        >>> get_measure("alpha_req").unfit(500, 8)
        'alpha_req fits eigenvalue ranks 11-100 and needs at least 13 (min(n - 1, d) = 8)'
        >>> get_measure("rankme").unfit(500, 8) is None
        True
        """
        return None

    def describe(self) -> dict:
        """Name, method, parameters and metadata (JSON-friendly), as written to the run manifest."""
        return {
            "name": self.name,
            "class": type(self).__name__,
            "method": self.method,
            "params": {k: _jsonable(v) for k, v in self.params.items()},
            "units": self.units,
            "higher_is_better": self.higher_is_better,
            "needs_labels": self.needs_labels,
            "quantity": self.quantity,
            "centred": self.centred,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def _jsonable(v):
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    return repr(v)


class SpectralMeasure(Measure):
    """A measure computed from the Gram spectrum of the activations.

    ``prep = (center, normalize_rows)`` is the preparation the estimator uses
    (``estimators.spectral.GRAM_PREPARATION``); measures with the same ``prep`` on the same layer
    and step share one :func:`estimators.spectral.gram_spectrum`.

    >>> from infomeasure.measures import SpectralMeasure
    >>> import numpy as np
    >>> m = SpectralMeasure("von_neumann_entropy", higher_is_better=True, base=2)
    >>> m.units, m.prep, m.maximum(100, 8)
    ('bits', (False, True), 3.0)
    >>> round(m.compute(np.eye(4)), 6)
    2.0
    """

    #: method -> (quantity, unitless, maximum: "dims" = min(n, d), "log_dims" = its log, or None)
    _KINDS: ClassVar[dict] = {
        "rankme": ("effective_rank", True, "dims"),
        "effective_rank": ("effective_rank", True, "dims"),
        "von_neumann_entropy": ("entropy", False, "log_dims"),
        "matrix_entropy": ("entropy", False, "log_dims"),
        "alpha_req": ("spectral_decay", True, None),
        "coding_rate": ("coding_rate", False, None),
    }

    def __init__(self, method: str, *, name: str | None = None, higher_is_better=None, **params):
        if method not in GRAM_PREPARATION or method not in self._KINDS:
            raise ValueError(f"method must be one of {sorted(self._KINDS)}; got {method!r}")
        if method == "matrix_entropy" and params.get("kernel", "linear") != "linear":
            raise ValueError(
                "SpectralMeasure('matrix_entropy') shares the linear-kernel spectrum; use "
                "SampleMeasure('matrix_entropy', kernel='gaussian') for a Gaussian kernel"
            )
        super().__init__(**params)
        self.method = method
        self.name = name or method
        self.higher_is_better = higher_is_better
        self.quantity, self.unitless, self._max = self._KINDS[method]
        self.lower = None if self.quantity == "spectral_decay" else 0.0
        self.centred = self.prep[0]
        self.collapse_signal = self.quantity in ("effective_rank", "entropy")
        self.torch_path = True
        self._fn = getattr(_est, method)

    @property
    def prep(self) -> tuple[bool, bool]:
        return GRAM_PREPARATION[self.method]

    def maximum(self, n_samples, n_features):
        r = min(int(n_samples or 0), int(n_features or 0))
        if self._max is None or r < 1:
            return None
        if self._max == "dims":
            return float(r)
        log = _LOG.get(self.units)
        return None if log is None or r < 2 else log(r)

    def unfit(self, n_samples, n_features):
        if self.method != "alpha_req" or not n_samples or not n_features:
            return None
        lo, hi = self.params.get("fit_range", _ALPHA_REQ_FIT_RANGE)
        rank = min(int(n_samples) - 1, int(n_features))
        if isinstance(lo, int) and rank < lo + 2:
            end = "end" if hi is None else hi
            return f"alpha_req fits eigenvalue ranks {lo}-{end} and needs at least {lo + 2} (min(n - 1, d) = {rank})"
        return None

    def spectrum(self, Z) -> GramSpectrum:
        center, normalize_rows = self.prep
        return gram_spectrum(Z, center=center, normalize_rows=normalize_rows)

    def compute(self, Z, y=None, spectrum: GramSpectrum | None = None, *, inputs=None) -> float:
        """The measure of ``Z`` (or of a matching precomputed ``spectrum``)."""
        return float(self._fn(spectrum if spectrum is not None else self.spectrum(Z), **self.params))


#: alpha_req's default fit range (first and last eigenvalue rank), read from the estimator.
_ALPHA_REQ_FIT_RANGE = inspect.signature(_est.alpha_req).parameters["fit_range"].default


def _quantity_of(fn) -> str | None:
    """What an estimator function estimates, from the method registry that lists it."""
    for registry, quantity in ((_est.MI_METHODS, "mutual_information"), (_est.CMI_METHODS, "mutual_information"),
                               (_est.ENTROPY_METHODS, "entropy")):
        if any(registry.resolve(name) is fn for name in registry.names):
            return quantity
    return None


#: Sample-measure estimators that compute on a torch tensor's device (the diffusion family).
_TORCH_METHODS = frozenset({"diffusion_spectral_entropy", "diffusion_spectral_mutual_information"})


class SampleMeasure(Measure):
    """A measure computed from the samples themselves (kNN, diffusion, kernels), optionally with labels.

    ``quantity`` (and so how reports check the value) is taken from the method registry that lists
    the function (``MI_METHODS`` → mutual information, ``ENTROPY_METHODS`` → entropy) unless given.

    >>> from infomeasure.measures import SampleMeasure
    >>> import numpy as np
    >>> m = SampleMeasure("mi_ross", needs_labels=True, k=3)
    >>> m.quantity
    'mutual_information'
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200)
    >>> Z = y[:, None] + 0.5 * rng.standard_normal((200, 2))
    >>> from estimators import mi_ross
    >>> m.compute(Z, y) == mi_ross(Z, y, k=3)     # the same function, wrapped
    True
    """

    def __init__(self, method: str, *, name: str | None = None, needs_labels=False, higher_is_better=None,
                 quantity=None, collapse_signal=False, **params):
        fn = getattr(_est, method, None)
        if fn is None or not callable(fn):
            raise ValueError(f"method must name a function of estimators; got {method!r}")
        super().__init__(**params)
        self.method = method
        self.name = name or method
        self.needs_labels = bool(needs_labels)
        self.higher_is_better = higher_is_better
        self.quantity = quantity if quantity is not None else _quantity_of(fn)
        self.lower = 0.0 if self.quantity in ("mutual_information", "entropy") else None
        self.collapse_signal = bool(collapse_signal)
        self.torch_path = method in _TORCH_METHODS
        self._fn = fn

    def label_maximum(self, n_classes) -> float | None:
        """The bound of a label mutual information with ``n_classes`` classes, in the measure's units.

        ``I(T; Y) <= H(Y) <= log C``. ``None`` for measures that are not a Shannon mutual
        information with the labels (DSMI, a difference of diffusion spectral entropies, has no
        such bound) or fewer than 2 classes.

        >>> from infomeasure.measures import get_measure
        >>> round(get_measure("mi_labels").label_maximum(2), 4), get_measure("dsmi").label_maximum(2)
        (0.6931, None)
        """
        if (not self.needs_labels or self.quantity != "mutual_information" or self.method.startswith("diffusion")
                or not n_classes or int(n_classes) < 2):
            return None
        log = _LOG.get(self.units)
        return None if log is None else log(int(n_classes))

    def compute(self, Z, y=None, spectrum=None, *, inputs=None) -> float:
        if self.needs_labels:
            if y is None:
                raise ValueError(f"{self.name} needs labels: pass probe_data=(inputs, labels)")
            return float(self._fn(Z, y, **self.params))
        return float(self._fn(Z, **self.params))


class InputsMI(Measure):
    """I(X; T): KSG mutual information (``estimators.mi_ksg``) between the probe inputs and a layer.

    With ``mi_labels`` it places each layer on the information plane (I(X;T) against I(T;Y)).
    Probes pass the flattened probe inputs (tensor inputs, probe mode); :func:`infomeasure.analyze`
    the ``inputs=`` array. kNN MI in many dimensions is biased low and saturates; read it as a
    trend over training, not a level.

    >>> import numpy as np
    >>> from infomeasure.measures import InputsMI
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((400, 2)); t = x + 0.1 * rng.standard_normal((400, 2))
    >>> from estimators import mi_ksg
    >>> InputsMI().compute(t, inputs=x) == mi_ksg(x, t)
    True
    """

    name = "mi_inputs"
    method = "mi_ksg"
    needs_inputs = True
    torch_path = False
    quantity = "mutual_information"
    lower = 0.0

    def compute(self, Z, y=None, spectrum=None, *, inputs=None) -> float:
        if inputs is None:
            raise ValueError("mi_inputs needs the probe inputs: probe mode with tensor probe_data")
        return float(_est.mi_ksg(inputs, Z, **self.params))


# ------------------------------------------------------------------------------------------------
# streaming measures on raw outputs
# ------------------------------------------------------------------------------------------------
class StreamingMeasure(Measure):
    """A measure fed the raw layer output batch by batch: ``init`` → ``update`` per batch → ``finalize``.

    The state is an :class:`estimators.predictive.EntropySums` of additive float64 tensors, so
    that it can be summed across batches and DDP ranks; ``finalize`` returns ``{suffix: value}``
    (suffix ``""`` for the measure itself, ``"[i]"`` for its parts, e.g. heads).
    """

    streaming = True
    quantity = "entropy"
    lower = 0.0

    def __init__(self, *, normalize=False, base=None, **params):
        log_base(base)
        super().__init__(**params, normalize=normalize, base=base)
        self.unitless = bool(normalize)

    def init(self):
        return _pred.EntropySums.empty()

    def update(self, state, output):
        return state.merge(self._update(output))

    def finalize(self, state) -> dict[str, float]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _update(self, output):  # pragma: no cover - overridden
        raise NotImplementedError


class PredictionEntropy(StreamingMeasure):
    r"""Mean entropy of the model's predictive distribution ``softmax(logits)`` (token/prediction/policy entropy).

    The layer output holds logits with classes (vocabulary) along ``dim``; every other position
    (sample, token) is one distribution and the value is the mean of their entropies over the
    **real** tokens, accumulated in float64 over vocabulary chunks (see
    :func:`estimators.predictive.token_entropy`: exact for one-hot and uniform rows, within
    1e-12 nats of an mpmath reference at V = 50,257). Near 0: confident (possibly collapsed)
    predictions; near log V: uniform. ``normalize=True`` divides by log V.

    In probes, a probe batch given as a dict (``model(**batch)``) or a training forward called
    with keyword arguments supplies the masks: for logits with a position axis ``(batch, tokens,
    V)``, positions where ``attention_mask`` is 0 and positions whose target in ``labels`` is -100
    (the target of position ``t`` is ``labels[:, t + label_shift]``; labels of another shape, one
    per sequence, are not used) are left out. An ``attention_mask`` that does not match the
    logits' positions gives an error row.

    Parameters
    ----------
    dim : int, default -1
        The class axis.
    label_shift : int, default 1
        1 for causal LMs (HF shifts labels inside the loss), 0 when labels align with the logits.
    use_masks : bool, default True
        Use the batch's ``attention_mask`` and ``labels``; False counts every position.
    chunk_size, vocab_chunk : int
        Rows and classes per float64 chunk.
    normalize : bool, default False
    base : float, optional

    >>> import torch
    >>> from infomeasure.measures import PredictionEntropy
    >>> m = PredictionEntropy(base=2)
    >>> s = m.update(m.init(), torch.zeros(3, 5, 16))
    >>> m.finalize(s)
    {'': 4.0}
    >>> z = torch.zeros(1, 3, 4); z[0, 0, 1:] = -float("inf")      # position 0 one-hot, then padding
    >>> m.finalize(m.update(m.init(), z, batch={"attention_mask": torch.tensor([[1, 1, 0]])}))
    {'': 1.0}
    """

    name = "prediction_entropy"
    method = "logit_entropy"
    higher_is_better = None
    #: ``update`` takes ``batch=``, the masks of the forward pass (``attention_mask``, ``labels``).
    uses_batch = True

    def __init__(self, *, dim=-1, chunk_size=512, vocab_chunk=8192, label_shift=1, use_masks=True,
                 normalize=False, base=None):
        super().__init__(dim=dim, chunk_size=chunk_size, vocab_chunk=vocab_chunk, label_shift=label_shift,
                         use_masks=use_masks, normalize=normalize, base=base)

    def update(self, state, output, batch=None):
        """``state`` plus the sums of one batch; ``batch`` holds the forward's ``attention_mask``/``labels``."""
        return state.merge(self._update(output, batch))

    def _update(self, output, batch=None):
        import torch

        p = self.params
        mask = labels = None
        if p["use_masks"] and batch and output.ndim >= 3:  # logits with a position axis
            positions = tuple(output.movedim(p["dim"], -1).shape[:-1])
            for key in ("attention_mask", "labels"):
                t = batch.get(key)
                if not isinstance(t, torch.Tensor) or (key == "labels" and tuple(t.shape) != positions):
                    continue  # labels of another shape are one per sequence (classification), not per token
                if tuple(t.shape) != positions:
                    raise ValueError(
                        f"prediction_entropy: the batch's {key} has shape {tuple(t.shape)} but the logits have "
                        f"positions {positions}; probe the layer whose output is the (batch, tokens, vocabulary) "
                        "logits, or pass PredictionEntropy(use_masks=False)"
                    )
                if key == "labels":
                    labels = t
                else:
                    mask = t
        return _pred.prediction_entropy_update(output, dim=p["dim"], chunk_size=p["chunk_size"],
                                               vocab_chunk=p["vocab_chunk"], mask=mask, labels=labels,
                                               label_shift=p["label_shift"])

    def finalize(self, state):
        p = self.params
        return {"": _pred.prediction_entropy_compute(state, normalize=p["normalize"], base=p["base"])}


class AttentionEntropy(StreamingMeasure):
    r"""Entropy of attention distributions, averaged per head over real queries (Zhai et al. 2023).

    The layer output holds attention probabilities of shape ``(batch, heads, queries, keys)``
    (rows sum to 1). For each head the value is the mean over batch and real queries of
    :math:`-\sum_k a_{qk} \log a_{qk}` over the keys the query may attend to; one row per head
    (``measure="attention_entropy[h]"``) plus their mean (``"attention_entropy"``). Values near 0
    flag collapsed heads (one key takes all the attention); near the maximum, heads that attend
    uniformly. ``normalize=True`` divides each row by log(the number of keys it may attend to):
    :math:`\log(q+1)` for query ``q`` of a causal head, so a uniform head scores 1.

    In probes, the batch's ``attention_mask`` (a dict probe batch, or a training forward with
    keyword arguments) marks padded keys, which are ignored, and padded queries, whose rows are
    left out (HF gives them a uniform row over all keys). A row of a real query with NaN is an
    error row, not a zero. Hugging Face models compute attention weights only with
    ``attn_implementation="eager"``: in probe mode the probe pass switches a model loaded with
    SDPA (the default) or another implementation to eager and back; in tap mode load the model
    with ``attn_implementation="eager"``. Probe the attention modules with ``output=1`` (their
    ``(output, weights)`` tuple).

    Parameters
    ----------
    causal : bool or None, default None
        Whether query ``q`` sees keys up to ``q`` only; None infers it from the zeros above the
        diagonal.
    use_masks : bool, default True
        Use the batch's ``attention_mask``.
    normalize : bool, default False
    base : float, optional

    >>> import torch
    >>> from infomeasure.measures import AttentionEntropy
    >>> a = torch.full((2, 2, 3, 4), 0.25); a[:, 1] = torch.eye(4)[:3]
    >>> m = AttentionEntropy(base=2)
    >>> m.finalize(m.update(m.init(), a))
    {'': 1.0, '[0]': 2.0, '[1]': 0.0}
    """

    name = "attention_entropy"
    method = "attention_entropy"
    higher_is_better = None
    #: ``update`` takes ``batch=``, the masks of the forward pass (``attention_mask``).
    uses_batch = True
    #: Probe passes switch Hugging Face models to eager attention, which returns the weights.
    needs_attention_weights = True

    def __init__(self, *, causal=None, use_masks=True, normalize=False, base=None):
        if causal is not None and not isinstance(causal, bool):
            raise TypeError(f"causal must be True, False or None (inferred); got {causal!r}")
        super().__init__(causal=causal, use_masks=use_masks, normalize=normalize, base=base)

    def update(self, state, output, batch=None):
        """``state`` plus the sums of one batch; ``batch`` holds the forward's ``attention_mask``."""
        return state.merge(self._update(output, batch))

    def _update(self, output, batch=None):
        import torch

        p = self.params
        mask = None
        if p["use_masks"] and batch and getattr(output, "ndim", 0) == 4:
            am = batch.get("attention_mask")
            if isinstance(am, torch.Tensor) and am.ndim == 2 and am.shape[0] == output.shape[0]:
                if am.shape[1] != output.shape[-1]:
                    raise ValueError(
                        f"attention_entropy: the batch's attention_mask has {am.shape[1]} positions but the "
                        f"attention maps have {output.shape[-1]} keys (cross-attention?); pass "
                        "AttentionEntropy(use_masks=False)"
                    )
                mask = am
        return _pred.attention_entropy_update(output, mask=mask, causal=p["causal"])

    def finalize(self, state):
        p = self.params
        h = _pred.attention_entropy_compute(state, normalize=p["normalize"], base=p["base"])
        out = {"": float(np.mean(h))}
        out.update({f"[{i}]": float(v) for i, v in enumerate(h)})
        return out


# ------------------------------------------------------------------------------------------------
# registry
# ------------------------------------------------------------------------------------------------
def _spectral(method, hib):
    return lambda **kw: SpectralMeasure(method, higher_is_better=hib, **kw)


#: Measure names (and aliases) accepted by ``Probes(measures=...)`` and :func:`get_measure`,
#: each mapped to a factory of its :class:`Measure`.
#:
#: :meta hide-value:
MEASURES = {
    "rankme": _spectral("rankme", True),
    "von_neumann_entropy": _spectral("von_neumann_entropy", True),
    "effective_rank": _spectral("effective_rank", True),
    "alpha_req": _spectral("alpha_req", False),
    "coding_rate": _spectral("coding_rate", True),
    "matrix_entropy": _spectral("matrix_entropy", True),
    "diffusion_spectral_entropy": lambda **kw: SampleMeasure(
        "diffusion_spectral_entropy", quantity="entropy", collapse_signal=True, **kw
    ),
    "dsmi": lambda **kw: SampleMeasure(
        "diffusion_spectral_mutual_information", name="dsmi", needs_labels=True, higher_is_better=True, **kw
    ),
    "mi_labels": lambda **kw: SampleMeasure("mi_ross", name="mi_labels", needs_labels=True, higher_is_better=True, **kw),
    "mi_inputs": lambda **kw: InputsMI(**kw),
    "prediction_entropy": lambda **kw: PredictionEntropy(**kw),
    "attention_entropy": lambda **kw: AttentionEntropy(**kw),
}
# The input kinds of the two streaming measures, declared beside the registry (see Measure.input).
PredictionEntropy.input = "logits"
AttentionEntropy.input = "attention"

MEASURES["diffusion_spectral_mutual_information"] = MEASURES["dsmi"]
MEASURES["mi_ross"] = MEASURES["mi_labels"]
MEASURES["output_entropy"] = MEASURES["prediction_entropy"]


def get_measure(spec) -> Measure:
    """A :class:`Measure` from a name in :data:`MEASURES`, a ``(name, params)`` pair or a measure object.

    >>> from infomeasure.measures import get_measure
    >>> get_measure(("mi_labels", {"k": 5}))
    SampleMeasure(k=5)
    """
    if isinstance(spec, Measure):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], dict):
        name, params = spec
    elif isinstance(spec, str):
        name, params = spec, {}
    else:
        raise TypeError(
            f"a measure must be a name, a (name, params) pair or a Measure object; got {type(spec).__name__}"
        )
    if name not in MEASURES:
        raise ValueError(f"unknown measure {name!r}; choose from {sorted(MEASURES)} or pass a Measure object")
    return MEASURES[name](**params)


def measure_for_row(row) -> Measure | None:
    """The measure (with its metadata) behind a result row, from its ``method`` and ``measure`` name.

    Rows read back from files carry names, not objects: a spectral estimator in ``method``
    decides, then a registered measure name (unless ``method`` names another estimator), then any
    estimator function in ``method``, whose method registry gives the quantity. Logged scalars
    and unknown names give ``None``.

    >>> from infomeasure.measures import measure_for_row
    >>> m = measure_for_row({"measure": "my_rank", "method": "rankme", "units": "unitless"})
    >>> m.quantity, m.maximum(500, 32)
    ('effective_rank', 32.0)
    >>> measure_for_row({"measure": "mi_labels", "method": "mi_ross"}).quantity
    'mutual_information'
    >>> measure_for_row({"measure": "loss", "method": "logged"}) is None
    True
    >>> measure_for_row({"measure": "permutation_entropy", "method": "permutation_entropy", "units": "unitless"}).units
    'unitless'
    """
    m = _measure_for_row(row)
    if m is not None and row.get("units") == "unitless":
        m.unitless = True  # e.g. normalised permutation entropy: the row says what its numbers are
    return m


def _measure_for_row(row) -> Measure | None:
    name = str(row.get("measure") or "").split("[")[0]
    method = str(row.get("method") or "")
    base = {"bits": 2, "hartleys": 10}.get(row.get("units"))
    try:
        if method in SpectralMeasure._KINDS:
            m = SpectralMeasure(method, name=name)
            if base and not m.unitless:
                m.params["base"] = base
            return m
        known = bool(method) and callable(getattr(_est, method, None))
        if name in MEASURES:
            m = MEASURES[name]()
            if m.method == method or not known:  # a registered measure (unless its name was reused)
                return m
        if known:
            return SampleMeasure(method, name=name)
    except (TypeError, ValueError):
        return None
    return None


# ------------------------------------------------------------------------------------------------
# evaluation: the one path from captured activations to result rows
# ------------------------------------------------------------------------------------------------
def reduce_rows(x, reduce="mean", *, rows="samples", what="activations"):
    """A ``(rows, features)`` view of an array or tensor of shape ``(rows, ...)``.

    ``"mean"`` averages the middle axes — spatial positions of a conv map ``(n, C, H, W)``
    (channel-first) and tokens of ``(n, T, D)`` (3-D arrays are read as sequences, channel-last);
    ``"last"`` takes the last token of ``(n, T, D)``; ``"flatten"`` keeps every value; a callable is
    applied. NumPy arrays and torch tensors alike (``reduce_array`` and ``reduce_output`` wrap this).
    """
    if callable(reduce):
        return reduce(x)
    if x.ndim == 1:
        return x[:, None]
    if x.ndim == 2:
        return x
    if reduce == "flatten":
        return x.reshape(x.shape[0], -1)
    if reduce == "last":
        if x.ndim != 3:
            raise ValueError(f"reduce='last' needs ({rows}, tokens, features) {what}; got shape {tuple(x.shape)}")
        return x[:, -1]
    if reduce == "mean":
        return x.mean(1) if x.ndim == 3 else x.mean(tuple(range(2, x.ndim)))
    raise ValueError(f"reduce must be 'mean', 'last', 'flatten' or a callable; got {reduce!r}")


def _finite(v, name) -> float:
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{name} gave a non-finite value {v}")
    return v


def _error_text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}".replace("\n", " ")


def _on_accelerator(z) -> bool:
    """Whether ``z`` is a torch tensor on a device other than the CPU."""
    return z is not None and not isinstance(z, np.ndarray) and getattr(getattr(z, "device", None), "type", "cpu") != "cpu"


class _HostCopy:
    """``z`` as a NumPy array, made once (torch tensors are copied from their device once)."""

    def __init__(self, z):
        self._z, self._host = z, None

    def get(self):
        if self._host is None and self._z is not None:
            z = self._z
            self._host = z if isinstance(z, np.ndarray) else z.detach().cpu().numpy()
        return self._host


def _float64(z):
    """``z`` in float64 (C-contiguous NumPy, or a torch tensor on its device): converted once, so the
    Gram spectra of several preparations do not each copy the float32 activations again."""
    if isinstance(z, np.ndarray) and z.dtype.kind == "f":
        return np.ascontiguousarray(z, dtype=np.float64)
    if getattr(getattr(z, "dtype", None), "is_floating_point", False) and hasattr(z, "detach"):
        import torch

        return z.detach().to(torch.float64)
    return z  # anything else (complex, integers, lists): the estimator validates it as given


def _values(m, z, layer, labels, inputs, states, errors, spectra):
    """``{suffix: value}`` of one measure (raises what the measure raises)."""
    if m.streaming:
        if m.name in errors:
            raise errors[m.name]
        return {suffix: _finite(v, m.name) for suffix, v in m.finalize(states[m.name]).items()}
    if z is None:
        raise ValueError(f"no activations were captured for layer {layer!r}")
    n = int(z.shape[0])
    if isinstance(m, SpectralMeasure):
        if m.prep not in spectra:
            if "float64" not in spectra:  # one float64 copy of the layer for every preparation
                spectra["float64"] = _float64(z)
            spectra[m.prep] = m.spectrum(spectra["float64"])
        return {"": _finite(m.compute(z, spectrum=spectra[m.prep]), m.name)}
    if m.needs_inputs:
        return {"": _finite(m.compute(z, inputs=None if inputs is None else inputs[:n]), m.name)}
    y = labels[:n] if m.needs_labels and labels is not None else None
    return {"": _finite(m.compute(z, y), m.name)}  # compute(Z, y) as user measures define it


def evaluate(measures, z=None, *, step=None, layer=None, labels=None, inputs=None, states=None, errors=None,
             strict=False, around=None) -> list[dict]:
    """The result rows of ``measures`` on one layer at one step.

    Parameters
    ----------
    measures : list of Measure
    z : array or tensor of shape (n_samples, n_features), optional
        The reduced activations (``None``: none were captured).
    step, layer
        The ``step`` and ``layer`` columns.
    labels, inputs : array, optional
        Labels and flattened inputs, row ``i`` for sample ``i`` (longer ones are cut to ``n``).
    states : dict, optional
        Streaming measures' accumulated states, by measure name.
    errors : dict, optional
        Exceptions met while capturing: ``errors[None]`` fails the whole layer, ``errors[name]``
        one streaming measure.
    strict : bool, default False
        Raise a measure's exception instead of recording an error row.
    around : callable, optional
        ``around(measure)`` returns a context manager entered while that measure is computed
        (probes use it to tell which measure a warning came from).

    Returns
    -------
    list of dict
        One row per measure (streaming measures: one per part, e.g. head) with the keys of
        :data:`infomeasure.sinks.COLUMNS`. Spectral measures with the same preparation share one
        eigendecomposition. A measure that raises, or gives a non-finite value, gives an error
        row: ``value`` None and ``"ExcType: message"`` in ``error``.

    >>> import numpy as np
    >>> from infomeasure.measures import evaluate, get_measure
    >>> rows = evaluate([get_measure("rankme"), get_measure("mi_labels")], np.eye(4), step=0, layer="fc")
    >>> [(r["measure"], r["value"], r["error"]) for r in rows]
    [('rankme', 4.0, None), ('mi_labels', None, 'ValueError: mi_labels needs labels: pass probe_data=(inputs, labels)')]
    """
    states, errors = states or {}, errors or {}
    n, d = (int(z.shape[0]), int(z.shape[1])) if z is not None and z.ndim == 2 else (0, 0)
    base = dict.fromkeys(COLUMNS)
    base.update(step=step, layer=layer, n_samples=n, n_features=d)
    rows, spectra = [], {}
    on_device = _on_accelerator(z)
    host = _HostCopy(z)
    for m in measures:
        row = dict(base, measure=m.name, method=m.method, units=m.units)
        try:
            if None in errors:
                raise errors[None]
            zm = z if m.torch_path is None or (on_device and m.torch_path) else host.get()
            with around(m) if around is not None else contextlib.nullcontext():
                values = _values(m, zm, layer, labels, inputs, states, errors, spectra)
        except Exception as e:  # noqa: BLE001 - an error row, unless strict
            if strict:
                raise
            rows.append(dict(row, error=_error_text(e)))
            continue
        rows.extend(dict(row, measure=m.name + suffix, value=v) for suffix, v in values.items())
    return rows
