"""Numba kernels for the higher-order (O-information family) estimators.

``subset_logdets`` evaluates, for many subsets of the variables at once, the
log-determinants of principal sub-matrices of one covariance (or correlation)
matrix with small in-place Cholesky factorisations: no sub-matrix is ever
copied out of the big matrix, and no Python runs per subset.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _chol_logdet(R, idx, size, work):
    """log det and smallest Cholesky pivot of ``R[idx[:size]][:, idx[:size]]``.

    Returns (logdet, min_pivot); min_pivot is 0.0 when the matrix is not
    positive definite (the factorisation stopped), and logdet is then 0.0.
    """
    logdet = 0.0
    min_pivot = math.inf
    for i in range(size):
        ri = idx[i]
        for j in range(i + 1):
            s = R[ri, idx[j]]
            for t in range(j):
                s -= work[i, t] * work[j, t]
            if i == j:
                if not s > 0.0:
                    return 0.0, 0.0
                d = math.sqrt(s)
                work[i, i] = d
                logdet += 2.0 * math.log(d)
                if d < min_pivot:
                    min_pivot = d
            else:
                work[i, j] = s / work[j, j]
    return logdet, min_pivot


@njit(cache=True)
def subset_logdets(R, cols, bounds, need_loo):
    """Log-determinants for the multiplets whose columns are the rows of ``cols``.

    Parameters
    ----------
    R : (D_all, D_all) float64, symmetric positive semi-definite
    cols : (m, D) int64, the columns of R that make up each multiplet
    bounds : (s + 1,) int64, block j of a multiplet is ``cols[:, bounds[j]:bounds[j + 1]]``
    need_loo : bool, also compute the leave-one-block-out log-determinants

    Returns
    -------
    full : (m,) log det of the whole multiplet
    blocks : (m,) sum over blocks of log det of the block's own sub-matrix
        (blocks of one column contribute log R[c, c])
    loo : (m,) sum over blocks j of log det of the multiplet without block j
        (zeros when ``need_loo`` is False)
    pivot : (m,) smallest Cholesky pivot of the whole multiplet's matrix,
        0.0 where it is not positive definite (the other outputs are then 0)
    """
    m, D = cols.shape
    s = bounds.size - 1
    full = np.zeros(m)
    blocks = np.zeros(m)
    loo = np.zeros(m)
    pivot = np.zeros(m)
    work = np.empty((D, D))
    idx = np.empty(D, dtype=np.int64)
    for r in range(m):
        for i in range(D):
            idx[i] = cols[r, i]
        ld, mp = _chol_logdet(R, idx, D, work)
        pivot[r] = mp
        if mp == 0.0:
            continue
        full[r] = ld
        acc_b = 0.0
        acc_l = 0.0
        for b in range(s):
            lo = bounds[b]
            hi = bounds[b + 1]
            if hi - lo == 1:
                acc_b += math.log(R[cols[r, lo], cols[r, lo]])
            else:
                for i in range(hi - lo):
                    idx[i] = cols[r, lo + i]
                acc_b += _chol_logdet(R, idx, hi - lo, work)[0]
            if need_loo:
                t = 0
                for i in range(D):
                    if i < lo or i >= hi:
                        idx[t] = cols[r, i]
                        t += 1
                acc_l += _chol_logdet(R, idx, t, work)[0]
        blocks[r] = acc_b
        loo[r] = acc_l
    return full, blocks, loo, pivot
