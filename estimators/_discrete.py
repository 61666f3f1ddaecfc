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
* :func:`cmi_codes` is the plug-in conditional mutual information of compact codes;
* :func:`labels` is :func:`estimators._validation.as_labels` without sorting for integer
  arrays with a small range; :func:`dense_fits` says when a dense table of joint counts
  (:mod:`estimators._discrete_kernels`) is small enough, and :func:`cmi_table` is the plug-in
  CMI of such a table (used by transfer entropy, active information storage and
  ``cmi_discrete``).
"""

from __future__ import annotations

import numpy as np

from ._discrete_kernels import cmi_from_counts, dense_codes, window_counts
from ._validation import as_labels, compact_codes, pair_codes

__all__ = [
    "bin_codes",
    "check_correction",
    "cmi_codes",
    "cmi_table",
    "coded",
    "compact_codes",
    "counts",
    "dense_fits",
    "h_codes",
    "joint_codes",
    "labels",
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
    return float(-(p * np.log(p)).sum()) + 0.0  # + 0.0: a point mass gives 0.0, not -0.0


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


#: Largest dense table of joint counts (cells; 32 MiB of int64 counts).
DENSE_MAX_CELLS = 1 << 22


def dense_fits(cells: int, n: int) -> bool:
    """Whether a dense table of ``cells`` joint states is worth counting ``n`` samples in.

    Scanning the table costs O(cells) and the general path O(n) per variable, so the table is
    used up to :data:`DENSE_MAX_CELLS` cells and at most ``64 n + 65536`` of them.
    """
    return cells <= DENSE_MAX_CELLS and cells <= 64 * n + 65536


def coded(x, name: str = "x") -> tuple[np.ndarray, int]:
    """:func:`~estimators._validation.as_labels` of ``x`` and its number of symbols m.

    Codes ``0..m-1`` (int64) in the sorted order of the symbols. For a 1-D (or one-column)
    integer or boolean NumPy array whose values span at most ``4 n + 1024`` integers they come
    from a table lookup in O(n) instead of a sort, and when ``x`` is a contiguous int64 array
    holding every value ``0 .. max`` it is returned itself (no copy: callers must not write
    to the codes). Any other input (strings, floats, several columns, lists, tensors, wide
    ranges) goes through ``as_labels``. The codes are the same either way.
    """
    if (
        isinstance(x, np.ndarray)
        and not isinstance(x, np.ma.MaskedArray)
        and x.dtype.kind in "biu"
        and x.size > 0
        and (x.ndim == 1 or (x.ndim == 2 and x.shape[1] == 1))
    ):
        v = x.reshape(-1)
        lo, hi = int(v.min()), int(v.max())
        if hi - lo <= 4 * v.size + 1024 and hi <= np.iinfo(np.int64).max:
            codes, m, _ = dense_codes(np.ascontiguousarray(v, dtype=np.int64), lo, hi - lo + 1)
            return codes, int(m)
    codes = as_labels(x, name)
    return codes, int(codes.max()) + 1


def labels(x, name: str = "x") -> np.ndarray:
    """The codes of :func:`coded` (those of ``as_labels``; may share memory with ``x``)."""
    return coded(x, name)[0]


def cmi_table(counts, mx: int, mz: int, my: int, correction=None) -> float:
    """Plug-in I(X; Y | Z) in nats of a dense count table with cell ``(x * mz + z) * my + y``.

    The sum ``sum c ln(c c_z / (c_xz c_yz)) / N`` over the non-empty cells (the value of
    ``H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z)``, as :func:`cmi_codes`), clipped at 0 without a
    correction; with ``"miller_madow"`` each of the four entropies gets ``(cells - 1) / 2N``.
    """
    cmi, m_xyz, m_xz, m_yz, m_z = cmi_from_counts(counts, int(mx), int(mz), int(my))
    if correction == "miller_madow":
        return cmi + (m_xz + m_yz - m_xyz - m_z) / (2.0 * int(counts.sum()))
    return max(cmi, 0.0)


def cmi_codes(cx, cy, cz, correction=None) -> float:
    """Plug-in I(X; Y | Z) in nats of compact 1-D codes.

    ``H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z)``, clipped at 0 without a correction (the plug-in value
    is non-negative up to round-off); with ``"miller_madow"`` each entropy is corrected and the
    sum may be negative. Counted in one dense table (:func:`cmi_columns`) when the product of
    the three alphabets is small (:func:`dense_fits`, :func:`cmi_table`), else from joint
    compact codes.
    """
    mx, my, mz = (int(c.max()) + 1 for c in (cx, cy, cz))
    if dense_fits(mx * my * mz, cx.size):
        cx, cy, cz = (np.ascontiguousarray(c, dtype=np.int64) for c in (cx, cy, cz))
        counts = window_counts(cx, mx, 1, 0, cy, my, 0, cz, mz, 0)  # cell (x * mz + z) * my + y
        return cmi_table(counts, mx, mz, my, correction)
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
