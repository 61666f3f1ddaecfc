r"""Entropy of predictive distributions (softmax of logits) and of attention maps, batch by batch.

A language model's next-token entropy (policy entropy in RL fine-tuning) or a classifier's
prediction entropy is the mean, over positions, of :math:`H = -\sum_v p_v \log p_v` with
:math:`p = \operatorname{softmax}(z)`; the attention entropy of a head is the same mean over
its query rows. Vocabularies and attention maps are large, so these are computed in the
torchmetrics pattern: an ``*_update`` function turns one batch into additive sums
(:class:`EntropySums`, named fields), sums of several batches (or DDP ranks) are added with
:meth:`EntropySums.merge`, and a ``*_compute`` function turns the sums into the value. Batch
analysis and training-time probes call the same two functions.

Values are in nats (``base=2`` gives bits); ``normalize=True`` divides by the log of the
support size (vocabulary or keys), giving a unitless value in [0, 1]. Inputs are torch
tensors (computed on their device) or arrays; torch is imported on first use.

>>> import torch
>>> from estimators.predictive import prediction_entropy_update, prediction_entropy_compute
>>> s = prediction_entropy_update(torch.zeros(3, 5, 16))         # uniform over 16 tokens
>>> s = s.merge(prediction_entropy_update(torch.zeros(2, 5, 16)))
>>> prediction_entropy_compute(s, base=2)
4.0
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ._discrete import neg_xlogx
from ._validation import log_base, to_base

__all__ = [
    "EntropySums",
    "attention_entropy_compute",
    "attention_entropy_update",
    "logit_entropy",
    "prediction_entropy_compute",
    "prediction_entropy_update",
]


class EntropySums(NamedTuple):
    """Additive state of a mean entropy: all fields are float64 tensors on the CPU.

    Attributes
    ----------
    entropy : torch.Tensor of shape (groups,)
        Sum of the entropies (nats) of the distributions seen, per group (one group for
        predictions; one per head for attention).
    count : torch.Tensor, scalar
        Number of distributions summed in each group.
    log_support : torch.Tensor, scalar
        Sum over those distributions of the log of their support size (vocabulary, keys),
        for ``normalize=True``.
    """

    entropy: object
    count: object
    log_support: object

    @classmethod
    def empty(cls) -> EntropySums:
        """Sums of no distributions (the number of groups is set by the first batch)."""
        import torch

        z = torch.zeros((), dtype=torch.float64)
        return cls(torch.zeros(0, dtype=torch.float64), z, z.clone())

    def merge(self, other: EntropySums) -> EntropySums:
        """The sums of both (an empty state takes the other's groups)."""
        if self.entropy.numel() == 0:
            entropy = other.entropy.clone()
        elif other.entropy.numel() == 0:
            entropy = self.entropy.clone()
        elif self.entropy.shape != other.entropy.shape:
            raise ValueError(
                f"cannot add entropy sums over {other.entropy.numel()} groups to sums over "
                f"{self.entropy.numel()} (e.g. attention maps with different numbers of heads)"
            )
        else:
            entropy = self.entropy + other.entropy
        return EntropySums(entropy, self.count + other.count, self.log_support + other.log_support)

    def flat(self):
        """One 1-D float64 tensor ``[count, log_support, *entropy]`` (e.g. to sum over DDP ranks)."""
        import torch

        return torch.cat([self.count.reshape(1), self.log_support.reshape(1), self.entropy.reshape(-1)])

    @classmethod
    def from_flat(cls, t) -> EntropySums:
        """The inverse of :meth:`flat`."""
        return cls(t[2:].clone(), t[0].clone(), t[1].clone())


def logit_entropy(logits, *, dim=-1, chunk_size=4096):
    r"""Shannon entropy (nats) of ``softmax(logits)`` along ``dim``, row chunk by row chunk.

    .. math:: H = \operatorname{logsumexp}(z) - \sum_v \operatorname{softmax}(z)_v\, z_v

    which needs one ``(chunk, V)`` temporary at a time instead of a full softmax copy of the whole
    tensor. Accepts a torch tensor (computed on its device in float32 or wider) or an array.

    Parameters
    ----------
    logits : torch.Tensor or array-like
        Logits with the classes (vocabulary) along ``dim``.
    dim : int, default -1
        The class axis.
    chunk_size : int, default 4096
        Rows (distributions) per chunk.

    Returns
    -------
    torch.Tensor
        Entropies, the shape of ``logits`` without ``dim``, float64 on the logits' device.

    Examples
    --------
    >>> import torch
    >>> from estimators.predictive import logit_entropy
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


def prediction_entropy_update(logits, *, dim=-1, chunk_size=4096) -> EntropySums:
    """The sums of one batch of logits: every position other than ``dim`` is one distribution.

    >>> import torch
    >>> from estimators.predictive import prediction_entropy_update
    >>> s = prediction_entropy_update(torch.zeros(4, 8))
    >>> float(s.count), round(float(s.entropy[0]), 4)      # 4 distributions of entropy log 8
    (4.0, 8.3178)
    """
    import torch

    h = logit_entropy(logits, dim=dim, chunk_size=chunk_size)
    n = h.numel()
    v = torch.as_tensor(logits).shape[dim]
    return EntropySums(
        torch.tensor([float(h.sum())], dtype=torch.float64),
        torch.tensor(float(n), dtype=torch.float64),
        torch.tensor(n * math.log(v), dtype=torch.float64),
    )


def _mean_entropies(sums: EntropySums, what: str, items: str, normalize: bool, base) -> list[float]:
    """Per-group mean entropy in ``base`` units, or divided by the mean log support size."""
    log_base(base)
    count = float(sums.count)
    if sums.entropy.numel() == 0 or count == 0:
        raise ValueError(f"{what}: no {items} were captured")
    mean = [float(v) / count for v in sums.entropy]
    if normalize:
        logv = float(sums.log_support) / count
        return [h / logv if logv > 0 else 0.0 for h in mean]
    return [to_base(h, base) for h in mean]


def prediction_entropy_compute(sums: EntropySums, *, normalize=False, base=None) -> float:
    """Mean entropy of the predictive distributions summed in ``sums``.

    Near 0: confident (possibly collapsed) predictions; near log V: uniform. With
    ``normalize=True`` the value is divided by log V (unitless, in [0, 1]).
    """
    return _mean_entropies(sums, "prediction_entropy", "logits", normalize, base)[0]


def attention_entropy_update(attention) -> EntropySums:
    r"""The sums of one batch of attention probabilities of shape ``(batch, heads, queries, keys)``.

    Each query row :math:`a_{q\cdot}` (summing to 1) is one distribution; its entropy
    :math:`-\sum_k a_{qk}\log a_{qk}` is added to its head's sum.

    >>> import torch
    >>> from estimators.predictive import attention_entropy_update, attention_entropy_compute
    >>> a = torch.full((2, 2, 3, 4), 0.25); a[:, 1] = torch.eye(4)[:3]   # head 1 attends to one key
    >>> attention_entropy_compute(attention_entropy_update(a), base=2)
    [2.0, 0.0]
    """
    import torch

    a = torch.as_tensor(attention)
    if a.ndim != 4:
        raise ValueError(
            f"attention_entropy needs attention probabilities of shape (batch, heads, queries, keys); "
            f"got shape {tuple(a.shape)}. Select them with output=..."
        )
    a = a.to(torch.float64)
    per_head = neg_xlogx(a).sum(-1).sum(dim=(0, 2)).cpu()
    count = float(a.shape[0] * a.shape[2])
    return EntropySums(
        per_head,
        torch.tensor(count, dtype=torch.float64),
        torch.tensor(count * math.log(a.shape[-1]), dtype=torch.float64),
    )


def attention_entropy_compute(sums: EntropySums, *, normalize=False, base=None) -> list[float]:
    """Mean attention entropy of each head (a list, head by head).

    Values near 0 flag collapsed heads (one key takes all the attention); near log(keys),
    heads that attend uniformly. ``normalize=True`` divides by log(keys).
    """
    return _mean_entropies(sums, "attention_entropy", "attention maps", normalize, base)
