"""Measure objects for training-time probes: a name, parameters and metadata around one estimator.

Each measure wraps a function of :mod:`estimators` (the math lives there, once) and adds what a
probe needs to know about it, in the style of torchmetrics: ``higher_is_better``, ``units``,
``needs_labels`` and, for spectral measures, which Gram spectrum preparation it uses, so that the
measures of one layer at one step share a single eigendecomposition.

Two kinds of measure exist:

* **representation measures** (:class:`SpectralMeasure`, :class:`SampleMeasure`) receive the layer's
  activations reduced to a ``(n_samples, n_features)`` matrix (plus the labels where needed);
* **streaming measures** (:class:`PredictionEntropy`, :class:`AttentionEntropy`) receive the raw layer
  output batch by batch (logits, attention probabilities) and keep a few running sums, so a large
  vocabulary or many attention maps never have to be stored.

>>> from infomeasure.measures import get_measure
>>> m = get_measure("rankme")
>>> m.name, m.higher_is_better, m.needs_labels, m.units
('rankme', True, False, 'unitless')
>>> import numpy as np
>>> round(m.compute(np.eye(4)), 4)
4.0
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

import estimators as _est
from estimators._validation import log_base, to_base
from estimators.spectral import GramSpectrum, gram_spectrum

__all__ = [
    "MEASURES",
    "AttentionEntropy",
    "Measure",
    "PredictionEntropy",
    "InputsMI",
    "SampleMeasure",
    "SpectralMeasure",
    "StreamingMeasure",
    "get_measure",
    "logit_entropy",
]


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
    needs_labels : bool
        Whether the measure needs probe labels.
    streaming : bool
        ``True`` for measures fed the raw layer output batch by batch.
    """

    name = "measure"
    method = ""
    higher_is_better: bool | None = None
    unitless = False
    needs_labels = False
    needs_inputs = False
    streaming = False

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

    def describe(self) -> dict:
        """Name, method and parameters (JSON-friendly), as written to the run manifest."""
        return {
            "name": self.name,
            "class": type(self).__name__,
            "method": self.method,
            "params": {k: _jsonable(v) for k, v in self.params.items()},
            "units": self.units,
            "higher_is_better": self.higher_is_better,
            "needs_labels": self.needs_labels,
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

    ``prep = (center, normalize_rows)`` names the preparation; measures with the same ``prep`` on
    the same layer and step share one :func:`estimators.spectral.gram_spectrum`.

    >>> from infomeasure.measures import SpectralMeasure
    >>> import numpy as np
    >>> m = SpectralMeasure("von_neumann_entropy", higher_is_better=True, base=2)
    >>> m.units, m.prep
    ('bits', (False, True))
    >>> round(m.compute(np.eye(4)), 6)
    2.0
    """

    _PREP: ClassVar[dict] = {
        "rankme": (False, False),
        "von_neumann_entropy": (False, True),
        "effective_rank": (True, True),
        "alpha_req": (True, False),
        "coding_rate": (False, False),
        "matrix_entropy": (False, False),
    }
    _UNITLESS: ClassVar[frozenset] = frozenset({"rankme", "effective_rank", "alpha_req"})

    def __init__(self, method: str, *, name: str | None = None, higher_is_better=None, **params):
        if method not in self._PREP:
            raise ValueError(f"method must be one of {sorted(self._PREP)}; got {method!r}")
        if method == "matrix_entropy" and params.get("kernel", "linear") != "linear":
            raise ValueError(
                "SpectralMeasure('matrix_entropy') shares the linear-kernel spectrum; use "
                "SampleMeasure('matrix_entropy', kernel='gaussian') for a Gaussian kernel"
            )
        super().__init__(**params)
        self.method = method
        self.name = name or method
        self.higher_is_better = higher_is_better
        self.unitless = method in self._UNITLESS
        self._fn = getattr(_est, method)

    @property
    def prep(self) -> tuple[bool, bool]:
        return self._PREP[self.method]

    def spectrum(self, Z) -> GramSpectrum:
        center, normalize_rows = self.prep
        return gram_spectrum(Z, center=center, normalize_rows=normalize_rows)

    def compute(self, Z, y=None, spectrum: GramSpectrum | None = None) -> float:
        """The measure of ``Z`` (or of a matching precomputed ``spectrum``)."""
        return float(self._fn(spectrum if spectrum is not None else self.spectrum(Z), **self.params))


class SampleMeasure(Measure):
    """A measure computed from the samples themselves (kNN, diffusion, kernels), optionally with labels.

    >>> from infomeasure.measures import SampleMeasure
    >>> import numpy as np
    >>> m = SampleMeasure("mi_ross", needs_labels=True, k=3)
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200)
    >>> Z = y[:, None] + 0.5 * rng.standard_normal((200, 2))
    >>> from estimators import mi_ross
    >>> m.compute(Z, y) == mi_ross(Z, y, k=3)     # the same function, wrapped
    True
    """

    def __init__(self, method: str, *, name: str | None = None, needs_labels=False, higher_is_better=None, **params):
        fn = getattr(_est, method, None)
        if fn is None or not callable(fn):
            raise ValueError(f"method must name a function of estimators; got {method!r}")
        super().__init__(**params)
        self.method = method
        self.name = name or method
        self.needs_labels = bool(needs_labels)
        self.higher_is_better = higher_is_better
        self._fn = fn

    def compute(self, Z, y=None, spectrum=None) -> float:
        if self.needs_labels:
            if y is None:
                raise ValueError(f"{self.name} needs labels: pass probe_data=(inputs, labels)")
            return float(self._fn(Z, y, **self.params))
        return float(self._fn(Z, **self.params))


class InputsMI(Measure):
    """I(X; T): KSG mutual information (``estimators.mi_ksg``) between the probe inputs and a layer.

    With ``mi_labels`` it places each layer on the information plane (I(X;T) against I(T;Y)).
    Probes pass the flattened probe inputs (tensor inputs, probe mode). kNN MI in many
    dimensions is biased low and saturates; read it as a trend over training, not a level.

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

    def compute(self, Z, y=None, spectrum=None, *, inputs=None) -> float:
        if inputs is None:
            raise ValueError("mi_inputs needs the probe inputs: probe mode with tensor probe_data")
        from estimators import mi_ksg

        return float(mi_ksg(inputs, Z, **self.params))


# ------------------------------------------------------------------------------------------------
# streaming measures on raw outputs
# ------------------------------------------------------------------------------------------------
def logit_entropy(logits, *, dim=-1, chunk_size=4096):
    r"""Shannon entropy (nats) of ``softmax(logits)`` along ``dim``, row chunk by row chunk.

    .. math:: H = \operatorname{logsumexp}(z) - \sum_v \operatorname{softmax}(z)_v\, z_v

    which needs one ``(chunk, V)`` temporary at a time instead of a full softmax copy of the whole
    tensor. Accepts a torch tensor (computed on its device in float32 or wider) or an array.

    Returns
    -------
    torch.Tensor
        Entropies, the shape of ``logits`` without ``dim``, float64 on the logits' device.

    >>> import torch
    >>> from infomeasure.measures import logit_entropy
    >>> [round(v, 6) for v in logit_entropy(torch.zeros(2, 8)).tolist()]    # log 8
    [2.079442, 2.079442]
    """
    import torch

    z = torch.as_tensor(logits)
    if z.ndim == 0:
        raise ValueError("logits must have at least one dimension (the classes)")
    z = z.movedim(dim, -1)
    lead = z.shape[:-1]
    flat = z.reshape(-1, z.shape[-1])
    dtype = torch.float64 if flat.dtype == torch.float64 else torch.float32
    out = torch.empty(flat.shape[0], dtype=torch.float64, device=flat.device)
    for s in range(0, flat.shape[0], int(chunk_size)):
        c = flat[s : s + int(chunk_size)].to(dtype)
        lse = torch.logsumexp(c, dim=-1)
        p = torch.softmax(c, dim=-1)
        # p * z with p == 0 and z == -inf would give nan: those terms are 0
        pz = torch.where(p > 0, p * c, torch.zeros((), dtype=dtype, device=c.device))
        out[s : s + c.shape[0]] = (lse - pz.sum(-1)).to(torch.float64)
    return out.reshape(lead)


class StreamingMeasure(Measure):
    """A measure fed the raw layer output batch by batch: ``init`` → ``update`` per batch → ``finalize``.

    The state is a float64 tensor of sums, so that it can be summed across DDP ranks.
    """

    streaming = True

    def init(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def update(self, state, output):  # pragma: no cover - overridden
        raise NotImplementedError

    def finalize(self, state) -> dict[str, float]:  # pragma: no cover - overridden
        raise NotImplementedError


class PredictionEntropy(StreamingMeasure):
    r"""Mean entropy of the model's predictive distribution ``softmax(logits)`` (token/prediction entropy).

    The layer output holds logits with classes (vocabulary) along ``dim``; every other position
    (sample, token) is one distribution and the value is the mean of their entropies, computed in
    chunks of ``chunk_size`` rows (see :func:`logit_entropy`). Near 0: confident (possibly
    collapsed) predictions; near log V: uniform. ``normalize=True`` divides by log V.

    >>> import torch
    >>> from infomeasure.measures import PredictionEntropy
    >>> m = PredictionEntropy(base=2)
    >>> s = m.update(m.init(), torch.zeros(3, 5, 16))
    >>> m.finalize(s)
    {'': 4.0}
    """

    name = "prediction_entropy"
    method = "logit_entropy"
    higher_is_better = None

    def __init__(self, *, dim=-1, chunk_size=4096, normalize=False, base=None):
        log_base(base)
        super().__init__(dim=dim, chunk_size=chunk_size, normalize=normalize, base=base)
        if normalize:
            self.unitless = True

    def init(self):
        import torch

        return torch.zeros(3, dtype=torch.float64)  # sum of H, count, count * log V (all additive)

    def update(self, state, output):
        h = logit_entropy(output, dim=self.params["dim"], chunk_size=self.params["chunk_size"])
        state[0] += float(h.sum())
        state[1] += h.numel()
        state[2] += h.numel() * math.log(output.shape[self.params["dim"]])
        return state

    def finalize(self, state):
        total, count, nlogv = (float(v) for v in state)
        if count == 0:
            raise ValueError("prediction_entropy: no logits were captured")
        logv = nlogv / count
        mean = total / count
        if self.params["normalize"]:
            return {"": mean / logv if logv > 0 else 0.0}
        return {"": to_base(mean, self.params["base"])}


class AttentionEntropy(StreamingMeasure):
    r"""Entropy of attention distributions, averaged per head (Zhai et al. 2023, "attention entropy collapse").

    The layer output holds attention probabilities of shape ``(batch, heads, queries, keys)``
    (rows sum to 1). For each head the value is the mean over batch and queries of
    :math:`-\sum_k a_{qk} \log a_{qk}`; one row per head (``measure="attention_entropy[h]"``) plus
    their mean (``"attention_entropy"``). Values near 0 flag collapsed heads (one key takes all the
    attention); near log(keys) heads that attend uniformly (overload). ``normalize=True`` divides
    by log(keys).

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

    def __init__(self, *, normalize=False, base=None):
        log_base(base)
        super().__init__(normalize=normalize, base=base)
        if normalize:
            self.unitless = True

    def init(self):
        import torch

        return torch.zeros(0, dtype=torch.float64)

    def update(self, state, output):
        import torch

        a = torch.as_tensor(output)
        if a.ndim != 4:
            raise ValueError(
                f"attention_entropy needs attention probabilities of shape (batch, heads, queries, keys); "
                f"got shape {tuple(a.shape)}. Select them with output=..."
            )
        a = a.to(torch.float64)
        ent = -torch.where(a > 0, a * torch.log(a), torch.zeros((), dtype=a.dtype, device=a.device)).sum(-1)
        per_head = ent.sum(dim=(0, 2)).cpu()  # (heads,)
        count = float(a.shape[0] * a.shape[2])
        if state.numel() == 0:
            state = torch.zeros(a.shape[1] + 2, dtype=torch.float64)
        state[:-2] += per_head
        state[-2] += count
        state[-1] += count * math.log(a.shape[-1])
        return state

    def finalize(self, state):
        if state.numel() == 0 or float(state[-2]) == 0:
            raise ValueError("attention_entropy: no attention maps were captured")
        h = (state[:-2] / state[-2]).tolist()
        logk = float(state[-1] / state[-2])
        if self.params["normalize"]:
            h = [v / logk if logk > 0 else 0.0 for v in h]
        else:
            h = [to_base(v, self.params["base"]) for v in h]
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
    "diffusion_spectral_entropy": lambda **kw: SampleMeasure("diffusion_spectral_entropy", **kw),
    "dsmi": lambda **kw: SampleMeasure(
        "diffusion_spectral_mutual_information", name="dsmi", needs_labels=True, higher_is_better=True, **kw
    ),
    "mi_labels": lambda **kw: SampleMeasure("mi_ross", name="mi_labels", needs_labels=True, higher_is_better=True, **kw),
    "mi_inputs": lambda **kw: InputsMI(**kw),
    "prediction_entropy": lambda **kw: PredictionEntropy(**kw),
    "attention_entropy": lambda **kw: AttentionEntropy(**kw),
}
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
