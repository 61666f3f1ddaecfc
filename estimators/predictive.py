r"""Entropy of predictive distributions (softmax of logits) and of attention maps, on real batches.

A language model's next-token entropy (policy entropy in RL fine-tuning) or a classifier's
prediction entropy is the mean, over positions, of :math:`H = -\sum_v p_v \log p_v` with
:math:`p = \operatorname{softmax}(z)`; the attention entropy of a head is the same mean over
its query rows. Batches of text are padded, so both are taken over **real** positions only: a
mask from ``attention_mask``, from ``labels != -100`` or an explicit response mask (prompt
tokens excluded) selects them, and attention rows of padded queries are left out, with masked
keys ignored and a causal head's row ``q`` normalised by :math:`\log(q+1)` (the keys it may see).

Accuracy: every entropy is accumulated in float64 over vocabulary chunks, in the form

.. math:: H = \log s + \frac{1}{s}\sum_v e^{z_v - m}\,(m - z_v), \qquad m = \max_v z_v,\;
          s = \sum_v e^{z_v - m},

whose two terms are both non-negative, so nothing cancels (the textbook
:math:`\operatorname{lse}(z) - \sum_v p_v z_v` in float32 loses up to :math:`10^{-3}` nats at
:math:`V = 50{,}257`, exactly where entropy collapse is tracked). One-hot rows give exactly 0 and
uniform rows exactly :math:`\log V`; float32 logits at :math:`V = 50{,}257` agree with an mpmath
reference to better than :math:`10^{-12}` nats for entropies from :math:`10^{-8}` to :math:`\log V`.

Streaming: an ``*_update`` function turns one batch into additive float64 sums
(:class:`EntropySums`), sums of several batches (or DDP ranks) are added with
:meth:`EntropySums.merge`, and a ``*_compute`` function turns them into the value; training-time
probes and batch analysis call the same functions. The one-call forms are :func:`token_entropy`
and :func:`attention_entropy`; the summaries of per-token entropies (quantiles, share of
high-entropy "forking" tokens, windowed entropy over positions, paired change between steps) and
the covariance of sampled tokens' log-probabilities with their advantages (what drives the policy
entropy in policy-gradient RL) take their output.

Values are in nats (``base=2`` gives bits); ``normalize=True`` divides each distribution's
entropy by the log of its support size (vocabulary, or the keys a query may attend to), giving
a unitless value in [0, 1]. Inputs are torch tensors (computed on their device) or arrays; torch
is imported on first use.

>>> import torch
>>> from estimators.predictive import prediction_entropy_update, prediction_entropy_compute
>>> s = prediction_entropy_update(torch.zeros(3, 5, 16))         # uniform over 16 tokens
>>> s = s.merge(prediction_entropy_update(torch.zeros(2, 5, 16)))
>>> prediction_entropy_compute(s, base=2)
4.0
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from ._validation import log_base, to_base

__all__ = [
    "EntropySums",
    "attention_entropy",
    "attention_entropy_compute",
    "attention_entropy_update",
    "entropy_change",
    "high_entropy_share",
    "logit_entropy",
    "logp_advantage_covariance",
    "prediction_entropy_compute",
    "prediction_entropy_update",
    "token_entropy",
    "token_entropy_from_scores",
    "token_log_probs",
    "windowed_entropy",
]

_IGNORE = -100


class EntropySums(NamedTuple):
    """Additive state of a mean entropy: all fields are float64 tensors on the CPU.

    Attributes
    ----------
    entropy : torch.Tensor of shape (groups,)
        Sum of the entropies (nats) of the distributions seen, per group (one group for
        predictions; one per head for attention).
    count : torch.Tensor, scalar
        Number of distributions summed in each group.
    normalized : torch.Tensor of shape (groups,)
        Sum of each distribution's entropy divided by the log of its support size (vocabulary,
        allowed keys), over the distributions with at least two outcomes.
    n_normalized : torch.Tensor, scalar
        Number of distributions in ``normalized`` (a causal head's first query, which can see one
        key only, has entropy 0 whatever the head does and is left out).
    """

    entropy: object
    count: object
    normalized: object
    n_normalized: object

    @classmethod
    def empty(cls) -> EntropySums:
        """Sums of no distributions (the number of groups is set by the first batch)."""
        import torch

        z = torch.zeros((), dtype=torch.float64)
        g = torch.zeros(0, dtype=torch.float64)
        return cls(g, z, g.clone(), z.clone())

    @property
    def groups(self) -> int:
        """The number of groups (0 for an empty state)."""
        return int(self.entropy.numel())

    def merge(self, other: EntropySums) -> EntropySums:
        """The sums of both (an empty state takes the other's groups)."""
        if self.groups == 0 and float(self.count) == 0:
            return EntropySums(*(t.clone() for t in other))
        if other.groups == 0 and float(other.count) == 0:
            return EntropySums(*(t.clone() for t in self))
        if self.entropy.shape != other.entropy.shape:
            raise ValueError(
                f"cannot add entropy sums over {other.groups} groups to sums over "
                f"{self.groups} (e.g. attention maps with different numbers of heads)"
            )
        return EntropySums(*(a + b for a, b in zip(self, other)))

    def flat(self):
        """One 1-D float64 tensor ``[count, n_normalized, *entropy, *normalized]`` (to sum over DDP ranks)."""
        import torch

        return torch.cat([self.count.reshape(1), self.n_normalized.reshape(1), self.entropy.reshape(-1),
                          self.normalized.reshape(-1)])

    @classmethod
    def from_flat(cls, t) -> EntropySums:
        """The inverse of :meth:`flat`."""
        g = (t.numel() - 2) // 2
        return cls(t[2 : 2 + g].clone(), t[0].clone(), t[2 + g :].clone(), t[1].clone())


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def _as_tensor(x, what):
    import torch

    if isinstance(x, torch.Tensor):
        return x.detach()  # measurements: no autograd graph is built or kept
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numbers (a tensor or an array); got dtype {arr.dtype}")
    return torch.from_numpy(np.ascontiguousarray(arr))


def _out(t, like_torch):
    """``t`` as a torch tensor (input was torch) or a NumPy array."""
    return t if like_torch else t.detach().cpu().numpy()


def _check_chunk(chunk_size, what="chunk_size"):
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise ValueError(f"{what} must be a positive integer; got {chunk_size!r}")
    return int(chunk_size)


def _token_mask(shape, device, mask=None, labels=None, label_shift=1, ignore_index=_IGNORE):
    """Boolean mask (``shape``, on ``device``) of the positions that count, or None for all of them."""
    import torch

    out = None
    if mask is not None:
        m = _as_tensor(mask, "mask").to(device)
        if tuple(m.shape) != tuple(shape):
            raise ValueError(
                f"mask has shape {tuple(m.shape)} but the logits have positions of shape {tuple(shape)}; "
                "pass one entry per position (e.g. attention_mask, or a response mask of the same shape)"
            )
        out = m.bool() if m.dtype == torch.bool else m != 0
    if labels is not None:
        y = _as_tensor(labels, "labels").to(device)
        if tuple(y.shape) != tuple(shape):
            raise ValueError(
                f"labels has shape {tuple(y.shape)} but the logits have positions of shape {tuple(shape)}"
            )
        if isinstance(label_shift, bool) or not isinstance(label_shift, numbers.Integral) or label_shift < 0:
            raise ValueError(f"label_shift must be a non-negative integer (1 for causal LMs, 0 for masked LMs); "
                             f"got {label_shift!r}")
        keep = y != ignore_index
        if label_shift:
            # the logits at position t predict token t + shift (HF causal LMs shift inside the loss)
            keep = torch.cat([keep[..., label_shift:],
                              torch.zeros((*keep.shape[:-1], min(label_shift, keep.shape[-1])),
                                          dtype=torch.bool, device=device)], dim=-1)[..., : keep.shape[-1]]
        out = keep if out is None else out & keep
    return out


# ------------------------------------------------------------------------------------------------
# token / prediction entropy
# ------------------------------------------------------------------------------------------------
def logit_entropy(logits, *, dim=-1, chunk_size=512, vocab_chunk=8192):
    r"""Shannon entropy (nats) of ``softmax(logits)`` along ``dim``, in float64, chunk by chunk.

    With :math:`m = \max_v z_v`, :math:`e_v = \exp(z_v - m)` and :math:`s = \sum_v e_v`,

    .. math:: H = \log s + \frac{1}{s} \sum_v e_v\,(m - z_v),

    both terms non-negative (no cancellation), with :math:`\log s` taken as
    :math:`\operatorname{log1p}(s - 1)` from the sum without the maximum's term 1 (so even an
    entropy of :math:`10^{-12}` keeps its relative accuracy), summed in float64 over ``vocab_chunk`` classes at
    a time, so the largest temporary is ``(chunk_size, vocab_chunk)`` float64 and never a float64
    copy of the whole tensor. One-hot rows (the other logits ``-inf`` or so far below that
    :math:`e_v` underflows) give exactly 0, uniform rows exactly :math:`\log V`. Log-probabilities
    may be passed as they are (their softmax is the distribution itself).

    Parameters
    ----------
    logits : torch.Tensor or array-like
        Logits (or log-probabilities) with the classes (vocabulary) along ``dim``; any float
        dtype (float16/bfloat16 are widened exactly).
    dim : int, default -1
        The class axis.
    chunk_size : int, default 512
        Rows (distributions) per chunk.
    vocab_chunk : int, default 8192
        Classes per chunk.

    Returns
    -------
    torch.Tensor
        Entropies, the shape of ``logits`` without ``dim``, float64 on the logits' device
        (detached: a measurement, not a loss term); NaN for rows with a NaN or ``+inf`` logit or
        all logits ``-inf``.

    Examples
    --------
    >>> import torch
    >>> from estimators.predictive import logit_entropy
    >>> [round(v, 6) for v in logit_entropy(torch.zeros(2, 8)).tolist()]    # log 8
    [2.079442, 2.079442]
    >>> logit_entropy(torch.tensor([[0.0, -float("inf")], [1e4, 0.0]])).tolist()   # one-hot
    [0.0, 0.0]
    """
    import torch

    z = _as_tensor(logits, "logits")
    if z.ndim == 0:
        raise ValueError("logits must have at least one dimension (the classes)")
    if z.shape[dim] == 0:
        raise ValueError("logits have no classes along dim")
    rows_per, cols_per = _check_chunk(chunk_size), _check_chunk(vocab_chunk, "vocab_chunk")
    if not z.is_floating_point():
        z = z.to(torch.float64)
    z = z.movedim(dim, -1)
    lead, v = z.shape[:-1], z.shape[-1]
    flat = z.reshape(-1, v)
    out = torch.empty(flat.shape[0], dtype=torch.float64, device=flat.device)
    zero = torch.zeros((), dtype=torch.float64, device=flat.device)
    for r in range(0, flat.shape[0], rows_per):
        c = flat[r : r + rows_per]
        mx = c.max(dim=-1, keepdim=True)
        m, top = mx.values.to(torch.float64), mx.indices  # m exact in the input dtype
        rest = torch.zeros(c.shape[0], dtype=torch.float64, device=c.device)  # s - 1: the max's term left out
        t = torch.zeros_like(rest)
        for k in range(0, v, cols_per):
            d = c[:, k : k + cols_per].to(torch.float64) - m  # <= 0
            e = torch.exp(d)
            cols = torch.arange(k, k + d.shape[1], device=c.device)
            rest += torch.where(cols[None, :] == top, zero, e).sum(-1)
            t -= torch.where(e > 0, e * d, zero).sum(-1)  # e * d is nan for d = -inf, where e = 0
        # log s = log1p(r) keeps full relative accuracy for entropies down to 1e-300
        h = torch.log1p(rest) + t / (1.0 + rest)
        bad = ~torch.isfinite(m.squeeze(-1))
        if bool(bad.any()):  # all -inf, a nan or a +inf logit: no distribution
            h = torch.where(bad, torch.full_like(h, math.nan), h)
        out[r : r + c.shape[0]] = h
    return out.reshape(lead)


def _reduce_tokens(h, keep, reduce, base, normalize, v, like_torch):
    """``h`` (float64 entropies) reduced over the kept positions as ``reduce`` asks."""
    import torch

    if keep is not None:
        bad = torch.isnan(h) & keep
    else:
        bad = torch.isnan(h)
    if bool(bad.any()):
        raise ValueError(f"token_entropy: {int(bad.sum())} real positions have NaN, +inf or all -inf logits")
    scale = math.log(v) if normalize else log_base(base)
    if normalize and v < 2:
        raise ValueError("normalize=True needs at least 2 classes (log V = 0)")
    h = h / scale
    if keep is None:
        keep = torch.ones_like(h, dtype=torch.bool)
    n = keep.sum()
    if isinstance(reduce, str):
        if reduce == "mean":
            if int(n) == 0:
                raise ValueError("token_entropy: the mask selects no positions")
            return float(h[keep].sum() / n)
        if reduce == "none":
            return _out(torch.where(keep, h, torch.full((), math.nan, dtype=h.dtype, device=h.device)), like_torch)
        if reduce == "sequence":
            if h.ndim == 0:
                raise ValueError("reduce='sequence' needs logits of shape (..., positions, classes)")
            tot = torch.where(keep, h, torch.zeros((), dtype=h.dtype, device=h.device)).sum(-1)
            cnt = keep.sum(-1)
            mean = torch.where(cnt > 0, tot / cnt.clamp(min=1), torch.full((), math.nan, dtype=h.dtype, device=h.device))
            return _out(mean, like_torch)
        raise ValueError(f"reduce must be 'mean', 'none', 'sequence', a quantile in [0, 1] or a list of them; "
                         f"got {reduce!r}")
    qs = np.atleast_1d(np.asarray(reduce, dtype=np.float64))
    if qs.ndim != 1 or qs.size == 0 or not np.all((qs >= 0) & (qs <= 1)):
        raise ValueError(f"quantiles (reduce=) must lie in [0, 1]; got {reduce!r}")
    if int(n) == 0:
        raise ValueError("token_entropy: the mask selects no positions")
    vals = np.quantile(h[keep].detach().cpu().numpy(), qs)
    return float(vals[0]) if np.ndim(reduce) == 0 else vals


def token_entropy(logits=None, *, log_probs=None, mask=None, labels=None, label_shift=1, ignore_index=_IGNORE,
                  reduce="mean", normalize=False, base=None, dim=-1, chunk_size=512, vocab_chunk=8192):
    r"""Entropy of each position's predictive distribution (token / policy entropy), over real tokens.

    :math:`H_t = -\sum_v p_{t,v}\log p_{t,v}` with :math:`p_t = \operatorname{softmax}(z_t)`,
    computed by :func:`logit_entropy` (float64, chunked over the vocabulary). Positions that do
    not count (padding, prompt tokens) are left out of every reduction: a position counts if
    ``mask`` is nonzero there **and** its label is not ``ignore_index``.

    Parameters
    ----------
    logits : torch.Tensor or array-like, optional
        ``(..., positions, V)`` logits (classes along ``dim``).
    log_probs : torch.Tensor or array-like, optional
        Log-probabilities instead of logits (exactly one of the two).
    mask : array-like, optional
        One entry per position (the logits' shape without ``dim``), nonzero where the position
        counts: ``attention_mask``, or a response mask that is 0 on prompt tokens.
    labels : array-like, optional
        Token labels of the same shape; positions whose target is ``ignore_index`` (-100, the HF
        convention) are left out. The logits at position ``t`` predict label ``t + label_shift``.
    label_shift : int, default 1
        1 for causal LMs (HF shifts labels inside the loss, and the last position predicts
        nothing), 0 for masked LMs and classifiers whose labels align with the logits.
    reduce : {"mean", "none", "sequence"} or float or list of float, default "mean"
        ``"mean"``: the mean over counted positions (a float); ``"none"``: the entropies with NaN
        at positions that do not count; ``"sequence"``: the mean of each sequence over its last
        position axis (NaN for a sequence with no counted position); a quantile or list of
        quantiles in [0, 1] of the counted entropies.
    normalize : bool, default False
        Divide by :math:`\log V` (unitless, in [0, 1]).
    base : float, optional
        Unit base (None: nats, 2: bits).
    dim, chunk_size, vocab_chunk
        The class axis and the chunk sizes of :func:`logit_entropy`.

    Returns
    -------
    float, numpy.ndarray or torch.Tensor
        Per ``reduce``; arrays are torch tensors (float64, on the logits' device) for torch input,
        NumPy arrays otherwise.

    Notes
    -----
    The mean over counted positions is ``sum(H * keep) / sum(keep)``, exactly the mean of the
    entropies of the real tokens (padding does not enter). A position with NaN, ``+inf`` or all
    ``-inf`` logits that counts raises ``ValueError``.

    Examples
    --------
    >>> import torch
    >>> from estimators.predictive import token_entropy
    >>> z = torch.zeros(1, 3, 4); z[0, 0, 1:] = -float("inf")   # position 0 is one-hot
    >>> round(token_entropy(z, base=2), 4)                    # (0 + 2 + 2) / 3 bits
    1.3333
    >>> round(token_entropy(z, mask=[[0, 1, 1]], base=2), 4)  # padding at position 0 left out
    2.0
    >>> token_entropy(z, mask=[[1, 1, 0]], reduce="none", base=2).tolist()
    [[0.0, 2.0, nan]]
    """
    import torch

    if (logits is None) == (log_probs is None):
        raise ValueError("pass exactly one of logits= and log_probs=")
    src = logits if logits is not None else log_probs
    like_torch = isinstance(src, torch.Tensor)
    z = _as_tensor(src, "logits" if logits is not None else "log_probs")
    if z.ndim == 0:
        raise ValueError("logits must have at least one dimension (the classes)")
    h = logit_entropy(z, dim=dim, chunk_size=chunk_size, vocab_chunk=vocab_chunk)
    keep = _token_mask(h.shape, h.device, mask, labels, label_shift, ignore_index)
    return _reduce_tokens(h, keep, reduce, base, normalize, z.shape[dim], like_torch)


def prediction_entropy_update(logits, *, dim=-1, chunk_size=512, vocab_chunk=8192, mask=None, labels=None,
                              label_shift=1, ignore_index=_IGNORE) -> EntropySums:
    """The sums of one batch of logits: every counted position other than ``dim`` is one distribution.

    ``mask``, ``labels``, ``label_shift`` and ``ignore_index`` select the counted positions as in
    :func:`token_entropy`.

    >>> import torch
    >>> from estimators.predictive import prediction_entropy_update
    >>> s = prediction_entropy_update(torch.zeros(4, 8))
    >>> float(s.count), round(float(s.entropy[0]), 4)      # 4 distributions of entropy log 8
    (4.0, 8.3178)
    >>> s = prediction_entropy_update(torch.zeros(2, 3, 8), mask=[[1, 1, 0], [0, 1, 1]])
    >>> float(s.count)                                     # padded positions left out
    4.0
    """
    import torch

    z = _as_tensor(logits, "logits")
    if z.ndim == 0:
        raise ValueError("logits must have at least one dimension (the classes)")
    h = logit_entropy(z, dim=dim, chunk_size=chunk_size, vocab_chunk=vocab_chunk)
    keep = _token_mask(h.shape, h.device, mask, labels, label_shift, ignore_index)
    if keep is not None:
        h = h[keep]
    h = h.reshape(-1)
    if bool(torch.isnan(h).any()):
        raise ValueError(f"prediction_entropy: {int(torch.isnan(h).sum())} counted positions have NaN, +inf "
                         "or all -inf logits")
    v = z.shape[dim]
    logv = torch.log(torch.tensor(float(v), dtype=torch.float64))
    n = float(h.numel())
    f64 = {"dtype": torch.float64}
    return EntropySums(
        torch.tensor([float(h.sum())], **f64),
        torch.tensor(n, **f64),
        torch.tensor([float((h / logv).sum()) if v > 1 else 0.0], **f64),
        torch.tensor(n if v > 1 else 0.0, **f64),
    )


def _mean_entropies(sums: EntropySums, what: str, items: str, normalize: bool, base) -> list[float]:
    """Per-group mean entropy in ``base`` units, or the mean normalised entropy."""
    log_base(base)
    count = float(sums.count)
    if sums.groups == 0 or count == 0:
        raise ValueError(f"{what}: no {items} were captured")
    if normalize:
        n = float(sums.n_normalized)
        if n == 0:
            raise ValueError(f"{what}: normalize=True needs distributions over at least 2 outcomes; none were "
                             "captured")
        return [float(v) / n for v in sums.normalized]
    return [to_base(float(v) / count, base) for v in sums.entropy]


def prediction_entropy_compute(sums: EntropySums, *, normalize=False, base=None) -> float:
    """Mean entropy of the predictive distributions summed in ``sums``.

    Near 0: confident (possibly collapsed) predictions; near log V: uniform. With
    ``normalize=True`` the value is the mean of :math:`H/\\log V` (unitless, in [0, 1]).
    """
    return _mean_entropies(sums, "prediction_entropy", "logits", normalize, base)[0]


# ------------------------------------------------------------------------------------------------
# summaries of per-token entropies
# ------------------------------------------------------------------------------------------------
def _entropies(entropies, mask):
    """(float64 tensor, keep mask) from per-token entropies (NaN = not counted) and an optional mask."""
    import torch

    h = _as_tensor(entropies, "entropies").to(torch.float64)
    keep = ~torch.isnan(h)
    if mask is not None:
        m = _as_tensor(mask, "mask").to(h.device)
        if tuple(m.shape) != tuple(h.shape):
            raise ValueError(f"mask has shape {tuple(m.shape)}; the entropies have shape {tuple(h.shape)}")
        keep = keep & (m != 0)
    return h, keep


def high_entropy_share(entropies, threshold, *, mask=None) -> float:
    r"""Share of counted tokens whose entropy exceeds ``threshold`` (the "forking tokens").

    In RL for reasoning, a minority of high-entropy tokens decide the branch a rollout takes
    (Wang et al. 2025, "Beyond the 80/20 rule"); their share falls as the policy collapses.

    Parameters
    ----------
    entropies : array-like
        Per-token entropies, e.g. ``token_entropy(..., reduce="none")`` (NaN: not counted).
    threshold : float
        In the entropies' units (e.g. nats). A quantile of an earlier step's entropies
        (``reduce=0.8``) makes the share comparable across steps.
    mask : array-like, optional
        Nonzero where a token counts (in addition to the NaN).

    Examples
    --------
    >>> from estimators.predictive import high_entropy_share
    >>> high_entropy_share([[0.1, 2.0, float("nan")], [0.0, 0.5, 3.0]], 1.0)
    0.4
    """
    h, keep = _entropies(entropies, mask)
    if not isinstance(threshold, numbers.Real) or isinstance(threshold, bool) or not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number (nats, or the entropies' units); got {threshold!r}")
    n = int(keep.sum())
    if n == 0:
        raise ValueError("high_entropy_share: no counted tokens")
    return float(((h > threshold) & keep).sum()) / n


def windowed_entropy(entropies, window, *, mask=None):
    r"""Mean entropy over windows of ``window`` consecutive positions (the last axis), over all sequences.

    Window :math:`w` covers positions :math:`[w\cdot\text{window}, (w+1)\cdot\text{window})`;
    its value is the mean of the counted entropies there (NaN where none counts). It shows where
    in a response the entropy sits (e.g. high at the start of reasoning, low in the answer).

    Returns
    -------
    numpy.ndarray of shape (ceil(positions / window),)

    Examples
    --------
    >>> from estimators.predictive import windowed_entropy
    >>> windowed_entropy([[1.0, 3.0, 0.0, float("nan")], [2.0, 2.0, 1.0, 5.0]], 2).tolist()
    [2.0, 2.0]
    """
    import torch

    h, keep = _entropies(entropies, mask)
    window = _check_chunk(window, "window")
    if h.ndim == 0:
        raise ValueError("windowed_entropy needs entropies with a position axis")
    t = h.shape[-1]
    nw = -(-t // window)
    pad = nw * window - t
    hz = torch.where(keep, h, torch.zeros((), dtype=h.dtype))
    kz = keep.to(torch.float64)
    if pad:
        hz = torch.nn.functional.pad(hz, (0, pad))
        kz = torch.nn.functional.pad(kz, (0, pad))
    tot = hz.reshape(-1, nw, window).sum(dim=(0, 2))
    cnt = kz.reshape(-1, nw, window).sum(dim=(0, 2))
    out = (tot / cnt.clamp(min=1)).cpu().numpy()
    out[cnt.cpu().numpy() == 0] = np.nan
    return out


def entropy_change(before, after, *, mask=None) -> float:
    r"""Mean paired change :math:`\Delta H = H_\text{after} - H_\text{before}` on the same tokens.

    ``before`` and ``after`` are per-token entropies of the same batch at two steps (e.g. the
    policy before and after an update); the mean runs over tokens counted in both (not NaN in
    either, and ``mask`` nonzero), so padding or a changed response mask cannot fake a change.

    Examples
    --------
    >>> from estimators.predictive import entropy_change
    >>> entropy_change([[1.0, 2.0, float("nan")]], [[0.5, 1.0, 4.0]])
    -0.75
    """
    h0, k0 = _entropies(before, mask)
    h1, k1 = _entropies(after, mask)
    if h0.shape != h1.shape:
        raise ValueError(f"before and after must have the same shape; got {tuple(h0.shape)} and {tuple(h1.shape)}")
    keep = k0 & k1
    n = int(keep.sum())
    if n == 0:
        raise ValueError("entropy_change: no token is counted at both steps")
    return float((h1 - h0)[keep].sum()) / n


def token_log_probs(logits, tokens, *, dim=-1, chunk_size=512, vocab_chunk=8192):
    r"""Log-probability :math:`\log p(a_t) = z_{t,a_t} - \operatorname{lse}(z_t)` of the given tokens, in float64.

    ``logits`` of shape ``(..., V)`` (classes along ``dim``) and ``tokens`` of the leading shape;
    the log-sum-exp is accumulated in float64 over vocabulary chunks. Returns the leading shape
    (torch for torch input, else NumPy).

    >>> import torch
    >>> from estimators.predictive import token_log_probs
    >>> [round(v, 6) for v in token_log_probs(torch.zeros(1, 4), torch.tensor([2])).tolist()]  # log 1/4
    [-1.386294]
    """
    import torch

    like_torch = isinstance(logits, torch.Tensor)
    z = _as_tensor(logits, "logits")
    if not z.is_floating_point():
        z = z.to(torch.float64)
    z = z.movedim(dim, -1)
    a = _as_tensor(tokens, "tokens").to(z.device)
    if tuple(a.shape) != tuple(z.shape[:-1]):
        raise ValueError(f"tokens has shape {tuple(a.shape)}; the logits' positions have shape {tuple(z.shape[:-1])}")
    if a.is_floating_point() or bool(((a < 0) | (a >= z.shape[-1])).any()):
        raise ValueError(f"tokens must be integer ids in [0, {z.shape[-1]})")
    rows_per, cols_per = _check_chunk(chunk_size), _check_chunk(vocab_chunk, "vocab_chunk")
    flat, ids = z.reshape(-1, z.shape[-1]), a.reshape(-1).long()
    out = torch.empty(flat.shape[0], dtype=torch.float64, device=flat.device)
    for r in range(0, flat.shape[0], rows_per):
        c = flat[r : r + rows_per]
        m = c.max(dim=-1, keepdim=True).values.to(torch.float64)
        s = torch.zeros(c.shape[0], dtype=torch.float64, device=c.device)
        for k in range(0, c.shape[-1], cols_per):
            s += torch.exp(c[:, k : k + cols_per].to(torch.float64) - m).sum(-1)
        picked = c.gather(1, ids[r : r + c.shape[0], None]).squeeze(1).to(torch.float64)
        out[r : r + c.shape[0]] = picked - m.squeeze(-1) - torch.log(s)
    return _out(out.reshape(a.shape), like_torch)


def logp_advantage_covariance(token_logp, advantages, *, mask=None) -> float:
    r"""Covariance over counted tokens of the sampled tokens' log-probabilities and their advantages.

    .. math:: \operatorname{Cov}(\log\pi(a_t\mid s_t), A_t) = \frac{1}{n}\sum_t
              (\log\pi_t - \overline{\log\pi})(A_t - \bar A)

    Under a (natural) policy-gradient step of size :math:`\eta`, the policy entropy changes by
    about :math:`-\eta` times this covariance (Cui et al. 2025, "The entropy mechanism of
    reinforcement learning for reasoning language models"): a positive covariance (confident
    tokens rewarded) drives entropy down, the usual path to entropy collapse.

    Parameters
    ----------
    token_logp : array-like of shape (batch, positions)
        Log-probabilities of the sampled tokens (see :func:`token_log_probs`).
    advantages : array-like of shape (batch,) or (batch, positions)
        Per-sequence advantages (broadcast over positions) or per-token ones.
    mask : array-like of shape (batch, positions), optional
        Nonzero on the tokens that count (response tokens); NaN log-probabilities do not count.

    Examples
    --------
    >>> from estimators.predictive import logp_advantage_covariance
    >>> logp_advantage_covariance([[-0.1, -2.0], [-0.2, -3.0]], [1.0, -1.0])   # confident and rewarded
    0.275
    """
    import torch

    lp, keep = _entropies(token_logp, mask)
    a = _as_tensor(advantages, "advantages").to(torch.float64).to(lp.device)
    if a.ndim == lp.ndim - 1 and tuple(a.shape) == tuple(lp.shape[:-1]):
        a = a.unsqueeze(-1).expand_as(lp)
    if tuple(a.shape) != tuple(lp.shape):
        raise ValueError(f"advantages must have shape {tuple(lp.shape[:-1])} (one per sequence) or "
                         f"{tuple(lp.shape)} (one per token); got {tuple(a.shape)}")
    keep = keep & ~torch.isnan(a)
    n = int(keep.sum())
    if n < 2:
        raise ValueError("logp_advantage_covariance needs at least 2 counted tokens")
    x, y = lp[keep], a[keep]
    return float(((x - x.mean()) * (y - y.mean())).sum()) / n


def token_entropy_from_scores(scores, *, sequences=None, eos_token_id=None, mask=None, reduce="none", base=None,
                              normalize=False, vocab_chunk=8192):
    r"""Token entropy of generated rollouts from ``model.generate(..., output_scores=True)``.

    ``scores`` is the tuple of ``(batch, V)`` tensors, one per generated step (``output.scores``,
    the processed scores the tokens were sampled from, so temperature and top-k/top-p are
    included; ``output.logits`` with ``output_logits=True`` gives the raw model distribution). The
    steps are measured one at a time (no ``(batch, steps, V)`` tensor is built). Tokens after a
    sequence's first ``eos_token_id`` (padding of finished sequences) are left out when
    ``sequences`` (``output.sequences``) and ``eos_token_id`` are given; ``mask`` of shape
    ``(batch, steps)`` selects tokens explicitly. ``reduce`` as in :func:`token_entropy`.

    Examples
    --------
    >>> import torch
    >>> from estimators.predictive import token_entropy_from_scores
    >>> scores = (torch.zeros(2, 4), torch.tensor([[0.0, -float("inf"), -float("inf"), -float("inf")]] * 2))
    >>> seqs = torch.tensor([[5, 9, 3, 1], [5, 9, 1, 3]])  # 2 prompt tokens; row 1 ends (eos=1) at step 0
    >>> token_entropy_from_scores(scores, sequences=seqs, eos_token_id=1, base=2).tolist()
    [[2.0, 0.0], [2.0, nan]]
    """
    import torch

    if isinstance(scores, torch.Tensor) or not isinstance(scores, (tuple, list)) or not scores:
        raise TypeError("scores must be the non-empty tuple of (batch, V) tensors of generate(output_scores=True)")
    hs = [logit_entropy(s, vocab_chunk=vocab_chunk) for s in scores]
    if any(h.ndim != 1 for h in hs):
        raise ValueError("each score must be a (batch, V) tensor")
    h = torch.stack(hs, dim=1)
    keep = None
    if sequences is not None and eos_token_id is not None:
        seq = _as_tensor(sequences, "sequences").to(h.device)
        gen = seq[:, -h.shape[1] :]
        eos_ids = torch.as_tensor(eos_token_id, device=h.device).reshape(-1)
        is_eos = torch.isin(gen, eos_ids)
        # a token counts if no eos came strictly before it (the eos itself was sampled and counts)
        before = torch.cumsum(is_eos.long(), dim=1) - is_eos.long()
        keep = before == 0
    elif (sequences is None) != (eos_token_id is None):
        raise ValueError("pass both sequences= and eos_token_id= to leave out the padding after each sequence's end")
    if mask is not None:
        km = _token_mask(h.shape, h.device, mask)
        keep = km if keep is None else keep & km
    return _reduce_tokens(h, keep, reduce, base, normalize, scores[0].shape[-1], True)


# ------------------------------------------------------------------------------------------------
# attention entropy
# ------------------------------------------------------------------------------------------------
def _bool_mask(m, shape, what):
    import torch

    t = _as_tensor(m, what)
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"{what} must have shape {tuple(shape)} (batch, positions); got {tuple(t.shape)}")
    return t.bool() if t.dtype == torch.bool else t != 0


def attention_entropy_update(attention, *, mask=None, query_mask=None, causal=None, chunk_elements=1 << 23) -> EntropySums:
    r"""The sums of one batch of attention probabilities of shape ``(batch, heads, queries, keys)``.

    Each counted query row is one distribution over the keys it may attend to; its entropy

    .. math:: H_q = \log S_q - \frac{1}{S_q}\sum_{k \in K_q} a_{qk}\log a_{qk}, \qquad
              S_q = \sum_{k\in K_q} a_{qk}

    (the entropy of the row renormalised over its allowed keys :math:`K_q`; :math:`S_q = 1` for
    a correctly masked row) is added to its head's sum, and :math:`H_q/\log|K_q|` to the
    normalised sum when :math:`|K_q| \ge 2`.

    Parameters
    ----------
    attention : torch.Tensor or array-like of shape (batch, heads, queries, keys)
        Attention probabilities (rows sum to 1), e.g. an HF attention module's weights under
        ``attn_implementation="eager"``.
    mask : array-like of shape (batch, keys), optional
        Key padding mask (``attention_mask``): keys where it is 0 are not attended to. With as
        many queries as keys it also marks the padded queries, whose rows are left out.
    query_mask : array-like of shape (batch, queries), optional
        Which query rows count, when they are not the keys (cross-attention, a KV cache).
    causal : bool or None, default None
        Whether query ``q`` may only see keys up to its own position (keys ``<= q + keys -
        queries``). ``None`` infers it: causal when every counted row puts exactly 0 on the keys
        after its position (as a causal softmax does).
    chunk_elements : int, default 2**23
        Attention entries converted to float64 at a time (whole heads of one batch item; 64 MiB).

    Returns
    -------
    EntropySums
        One group per head.

    Raises
    ------
    ValueError
        For a counted row with NaN or with no probability on its allowed keys (an error row in
        probes, never a silent 0).

    Examples
    --------
    >>> import torch
    >>> from estimators.predictive import attention_entropy_update, attention_entropy_compute
    >>> a = torch.full((2, 2, 3, 4), 0.25); a[:, 1] = torch.eye(4)[:3]   # head 1 attends to one key
    >>> attention_entropy_compute(attention_entropy_update(a), base=2)
    [2.0, 0.0]
    >>> c = torch.tril(torch.ones(4, 4)); c = (c / c.sum(-1, keepdim=True)).expand(1, 1, 4, 4)
    >>> attention_entropy_compute(attention_entropy_update(c), normalize=True)   # uniform causal head
    [1.0]
    """
    import torch

    a = _as_tensor(attention, "attention")
    if a.ndim != 4:
        raise ValueError(
            f"attention_entropy needs attention probabilities of shape (batch, heads, queries, keys); "
            f"got shape {tuple(a.shape)}. Select them with output=..."
        )
    b, nh, q, k = a.shape
    dev = a.device
    keym = None if mask is None else _bool_mask(mask, (b, k), "mask").to(dev)
    if query_mask is not None:
        qm = _bool_mask(query_mask, (b, q), "query_mask").to(dev)
    elif keym is not None and q == k:
        qm = keym
    else:
        qm = torch.ones((b, q), dtype=torch.bool, device=dev)
    if causal is not None and not isinstance(causal, bool):
        raise TypeError(f"causal must be True, False or None (inferred); got {causal!r}")
    off = k - q
    later = (torch.arange(k, device=dev)[None, :] > torch.arange(q, device=dev)[:, None] + off)  # (q, k)
    if causal is None:  # causal when no counted row puts probability on a later (unmasked) key
        causal = q * k > 1 and bool(later.any())
        for i in range(b) if causal else ():
            look = later & qm[i][:, None]
            if keym is not None:
                look = look & keym[i][None, :]
            if bool(look.any()) and bool((a[i][:, look] != 0).any()):
                causal = False
                break
    f64 = torch.float64
    zero = torch.zeros((), dtype=f64, device=dev)
    ent = torch.zeros(nh, dtype=f64, device=dev)
    nrm = torch.zeros(nh, dtype=f64, device=dev)
    count = torch.zeros((), dtype=f64, device=dev)
    n_nrm = torch.zeros((), dtype=f64, device=dev)
    per = max(1, _check_chunk(chunk_elements, "chunk_elements") // max(1, q * k))  # heads per float64 chunk
    for i in range(b):
        allowed = torch.ones((q, k), dtype=torch.bool, device=dev)
        if keym is not None:
            allowed = allowed & keym[i][None, :]
        if causal:
            allowed = allowed & ~later
        n_allowed = allowed.sum(-1)  # (q,)
        rows = qm[i] & (n_allowed > 0)  # the counted query rows
        if not bool(rows.any()):
            continue
        al, n_al = allowed[rows], n_allowed[rows]  # (r, k), (r,)
        two = n_al >= 2
        logn = torch.where(two, torch.log(n_al.to(f64)), torch.ones((), dtype=f64, device=dev))
        count += rows.sum()
        n_nrm += two.sum()
        for h0 in range(0, nh, per):
            ab = a[i, h0 : h0 + per][:, rows].to(f64)  # (heads, r, k)
            nan_rows = (torch.isnan(ab) & al).any(-1)
            if bool(nan_rows.any()):
                raise ValueError(f"attention_entropy: {int(nan_rows.sum())} attention rows of real queries contain "
                                 "NaN (an overflow in the attention scores?)")
            pmat = torch.where(al & (ab > 0), ab, zero)
            ssum = pmat.sum(-1)  # (heads, r)
            if bool((ssum <= 0).any()):
                raise ValueError("attention_entropy: some real query rows put no probability on the keys they may "
                                 "attend to; check mask= and causal=")
            plogp = torch.where(pmat > 0, pmat * torch.log(torch.where(pmat > 0, pmat, 1.0)), zero).sum(-1)
            h = (torch.log(ssum) - plogp / ssum).clamp(min=0.0)  # (heads, r)
            ent[h0 : h0 + per] += h.sum(-1)
            nrm[h0 : h0 + per] += torch.where(two, h / logn, zero).sum(-1)
    return EntropySums(ent.cpu(), count.cpu(), nrm.cpu(), n_nrm.cpu())


def attention_entropy_compute(sums: EntropySums, *, normalize=False, base=None) -> list[float]:
    """Mean attention entropy of each head (a list, head by head).

    Values near 0 flag collapsed heads (one key takes all the attention); near log(keys),
    heads that attend uniformly. ``normalize=True`` gives the mean over query rows of
    ``H_q / log(keys q may attend to)`` (1 for a uniform head, causal or not).
    """
    return _mean_entropies(sums, "attention_entropy", "attention maps", normalize, base)


def attention_entropy(attention, *, mask=None, query_mask=None, causal=None, normalize=False, base=None) -> list[float]:
    r"""Per-head entropy of attention rows ``(batch, heads, queries, keys)``, over real queries.

    The one-call form of :func:`attention_entropy_update` and :func:`attention_entropy_compute`:
    padded queries are left out, masked keys ignored, and with ``normalize=True`` each row is
    divided by the log of the number of keys it may attend to (:math:`\log(q+1)` for a causal
    head without padding), so a uniform head scores 1.

    Parameters
    ----------
    attention : array-like of shape (batch, heads, queries, keys)
    mask : array-like of shape (batch, keys), optional
        ``attention_mask`` (also the query mask when queries are the keys).
    query_mask : array-like of shape (batch, queries), optional
    causal : bool or None
        None infers it from the zeros above the diagonal.
    normalize : bool, default False
    base : float, optional
        None: nats; 2: bits (ignored with ``normalize=True``).

    Returns
    -------
    list of float
        One value per head.

    Examples
    --------
    >>> import torch
    >>> from estimators.predictive import attention_entropy
    >>> a = torch.full((1, 1, 3, 3), 1 / 3)        # uniform, but the first key is padding
    >>> a[..., 0] = 0; a[..., 1:] = 0.5
    >>> attention_entropy(a, mask=[[0, 1, 1]], base=2)   # the padded query row is left out
    [1.0]
    """
    s = attention_entropy_update(attention, mask=mask, query_mask=query_mask, causal=causal)
    return attention_entropy_compute(s, normalize=normalize, base=base)
