"""Shared internals of the discrete (plug-in) estimators: codes, counts and -Σ p log p.

Every family that counts symbols (entropy, mutual information, higher-order measures,
ordinal patterns, transfer entropy, spectral and diffusion entropies) uses these, so that
the plug-in sums are written, and rounded, in one way.

* :func:`neg_xlogx` and :func:`shannon` compute ``-p log p`` with ``0 log 0 = 0``;
* :func:`counts` and :func:`plugin_entropy_counts` turn compact codes into the plug-in entropy;
* :func:`row_codes` folds the columns of an integer block into one compact code per row and
  :func:`joint_codes` folds several code arrays, both in lexicographic order (the order of
  ``np.unique(..., axis=0)``), so that sums over the counts come in the same order whichever
  way the symbols were coded;
* :func:`cmi_codes` is the plug-in conditional mutual information of compact codes.
"""

from __future__ import annotations

import numpy as np

from ._validation import compact_codes, pair_codes

__all__ = [
    "bin_codes",
    "check_correction",
    "cmi_codes",
    "compact_codes",
    "counts",
    "h_codes",
    "joint_codes",
    "neg_xlogx",
    "pair_codes",
    "plugin_entropy_counts",
    "row_codes",
    "shannon",
]


def neg_xlogx(p):
    """Elementwise ``-p log p`` with 0 where ``p <= 0`` (NumPy array or torch tensor)."""
    if hasattr(p, "detach"):  # a torch tensor: computed on its device, in its dtype
        import torch

        return -torch.where(p > 0, p * torch.log(p), torch.zeros((), dtype=p.dtype, device=p.device))
    p = np.asarray(p, dtype=np.float64)
    return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)


def shannon(p) -> float:
    """Shannon entropy ``-Σ p log p`` in nats of a probability vector (zeros allowed)."""
    p = np.asarray(p, dtype=np.float64)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def counts(codes: np.ndarray) -> np.ndarray:
    """The positive counts of non-negative integer codes."""
    c = np.bincount(codes)
    return c[c > 0]


def plugin_entropy_counts(c: np.ndarray) -> float:
    """Plug-in (maximum-likelihood) entropy in nats from symbol counts."""
    return shannon(c[c > 0] / c.sum())


def check_correction(correction):
    """``correction`` must be None or ``"miller_madow"``."""
    if correction not in (None, "miller_madow"):
        raise ValueError(f"correction must be None or 'miller_madow'; got {correction!r}")


def h_codes(codes: np.ndarray, correction=None) -> float:
    """Plug-in entropy (nats) of compact codes, with the Miller--Madow correction if asked."""
    c = counts(codes)
    h = plugin_entropy_counts(c)
    if correction == "miller_madow":
        h += (c.size - 1) / (2.0 * codes.size)
    return h


def joint_codes(*codes: np.ndarray) -> np.ndarray:
    """Compact codes of the joint symbol of several compact code arrays (lexicographic order)."""
    out = codes[0]
    for c in codes[1:]:
        out = pair_codes(out, c)
    return out


def row_codes(block: np.ndarray) -> np.ndarray:
    """One compact code per row of an integer array ``(n, d)``; rows ordered lexicographically.

    The same labels as ``np.unique(block, axis=0, return_inverse=True)``, in O(n d).
    """
    return joint_codes(*(compact_codes(block[:, j]) for j in range(block.shape[1])))


def cmi_codes(cx, cy, cz, correction=None) -> float:
    """Plug-in I(X; Y | Z) in nats of compact 1-D codes.

    ``H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z)``, clipped at 0 without a correction (the plug-in value
    is non-negative up to round-off); with ``"miller_madow"`` each entropy is corrected and the
    sum may be negative.
    """
    val = (
        h_codes(pair_codes(cx, cz), correction)
        + h_codes(pair_codes(cy, cz), correction)
        - h_codes(pair_codes(pair_codes(cx, cy), cz), correction)
        - h_codes(cz, correction)
    )
    return max(val, 0.0) if correction is None else val


def bin_codes(X: np.ndarray, bins: int, strategy: str) -> np.ndarray:
    """Per-column bin indices of X, combined into one code per row."""
    cols = []
    for j in range(X.shape[1]):
        v = X[:, j]
        if strategy == "uniform":
            lo, hi = v.min(), v.max()
            if hi == lo:
                cols.append(np.zeros(v.size, dtype=np.int64))
                continue
            edges = np.linspace(lo, hi, bins + 1)[1:-1]
        else:
            edges = np.unique(np.quantile(v, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
        cols.append(np.searchsorted(edges, v, side="right").astype(np.int64))
    return joint_codes(*cols)
