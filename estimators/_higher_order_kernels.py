"""The computations shared by the higher-order modules (:mod:`estimators.higher_order` and
:mod:`estimators.multiplets`): the variables' layout, the Gaussian, KSG and plug-in estimates
of total correlation (TC) and dual total correlation (DTC), and the numba kernel behind the
Gaussian ones.

Every measure of the family is a combination of the pair (TC, DTC): Ω = TC - DTC,
S = TC + DTC. The functions here return that pair in nats (DTC is ``None`` when only TC is
asked for, which skips the leave-one-out terms); the public modules combine, convert units
and document.

``subset_logdets`` evaluates, for many subsets of the variables at once, the
log-determinants of principal sub-matrices of one covariance (or correlation)
matrix with small in-place Cholesky factorisations: no sub-matrix is ever
copied out of the big matrix, and no Python runs per subset.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numba import njit
from scipy.special import digamma, ndtri

from . import _neighbors
from ._discrete import check_correction, h_codes, joint_codes
from ._gaussian import wishart_correction
from ._validation import (
    _is_torch_tensor,
    _to_numpy,
    as_labels,
    as_samples,
    check_flag,
    check_same_n,
    prepare_continuous,
    warn,
)

__all__ = [
    "Vars",
    "continuous_vars",
    "discrete_vars",
    "check_n_vars",
    "copula_normal",
    "correlation",
    "gaussian_correlation",
    "gaussian_multiplets",
    "gaussian_tc_dtc",
    "large_logdets",
    "subset_logdets",
    "ksg_prepared",
    "ksg_blocks_tc_dtc",
    "ksg_tc_dtc",
    "codes_tc_dtc",
    "warn_sparse",
    "discrete_tc_dtc",
]

# Cholesky pivots of a correlation sub-matrix below this are treated as singular: the
# conditional variance of a variable given the others is < 1e-14 of its variance (a
# linear combination up to rounding error), where every log-determinant is rounding noise.
_SINGULAR_PIVOT = 1e-7
_KERNEL_MAX_D = 16  # larger multiplets use the O(D^3) inverse route of large_logdets
_CHUNK = 65536  # multiplets per batched linear-algebra call (bounds memory)


# ----------------------------------------------------------------------------------------------
# input: a 2-D array of scalar variables, or a list of (n, d_i) blocks
# ----------------------------------------------------------------------------------------------
def _is_block_list(X) -> bool:
    return (
        isinstance(X, (list, tuple))
        and len(X) > 0
        and all(isinstance(b, np.ndarray) or _is_torch_tensor(b) for b in X)
    )


class Vars:
    """Variables as one (n, D) array plus the column layout of each variable."""

    def __init__(self, data, dims, blocks: bool):
        self.data = data  # (n, D) float64, or (n, p) int64 codes for discrete data
        self.dims = np.asarray(dims, dtype=np.int64)  # columns of each variable
        self.offsets = np.concatenate([[0], np.cumsum(self.dims)[:-1]]).astype(np.int64)
        self.blocks = blocks

    @property
    def n(self) -> int:
        return self.data.shape[0]

    @property
    def p(self) -> int:
        return self.dims.size

    def name(self, j: int) -> str:
        return f"X[{j}]" if self.blocks else f"X[:, {j}]"

    def columns(self, j: int) -> np.ndarray:
        return self.data[:, self.offsets[j] : self.offsets[j] + self.dims[j]]

    def codes(self) -> list[np.ndarray]:
        """The symbol codes of each discrete variable, one contiguous array each."""
        return [np.ascontiguousarray(self.data[:, j]) for j in range(self.p)]


def continuous_vars(X) -> Vars:
    """``X`` (an (n, p) array, or a list of (n, d_i) blocks) as float64 variables."""
    if _is_block_list(X):
        arrs = [as_samples(b, f"X[{i}]") for i, b in enumerate(X)]
        check_same_n(**{f"X[{i}]": a for i, a in enumerate(arrs)})
        return Vars(np.ascontiguousarray(np.hstack(arrs)), [a.shape[1] for a in arrs], True)
    data = as_samples(X, "X")
    return Vars(data, np.ones(data.shape[1], dtype=np.int64), False)


def discrete_vars(X) -> Vars:
    """``X`` as one integer code per sample and variable (a block's distinct rows are its symbols)."""
    if _is_block_list(X):
        codes = [as_labels(b, f"X[{i}]") for i, b in enumerate(X)]
        check_same_n(**{f"X[{i}]": c for i, c in enumerate(codes)})
        return Vars(np.column_stack(codes), np.ones(len(codes), dtype=np.int64), True)
    arr = _to_numpy(X, "X")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_samples, n_variables) or a list of per-variable arrays; got "
            f"shape {arr.shape}"
        )
    codes = [as_labels(arr[:, j], f"X[:, {j}]") for j in range(arr.shape[1])]
    if not codes:
        raise ValueError(f"X has 0 variables (shape {arr.shape}); pass at least one column")
    return Vars(np.column_stack(codes), np.ones(len(codes), dtype=np.int64), False)


def check_n_vars(p: int, minimum: int, quantity: str) -> None:
    """Refuse fewer than ``minimum`` variables (3 for the O-information, 2 for the others)."""
    if p < minimum:
        extra = (
            " For two variables Omega = TC - DTC = 0 identically; use mutual_information for "
            "their dependence."
            if minimum == 3
            else " Use entropy for a single variable."
        )
        raise ValueError(
            f"{quantity} needs at least {minimum} variables; X has {p}. Pass X of shape "
            f"(n_samples, n_variables) with n_variables >= {minimum} (one column per scalar "
            f"variable), or a list of {minimum} or more (n_samples, d_i) arrays.{extra}"
        )


# ----------------------------------------------------------------------------------------------
# numba: log-determinants of many principal sub-matrices of one matrix
# ----------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


# ----------------------------------------------------------------------------------------------
# Gaussian: one correlation matrix, batched log-determinants of its sub-matrices
# ----------------------------------------------------------------------------------------------
def correlation(V: Vars, what: str) -> np.ndarray:
    """Sample correlation matrix of all columns (the covariance, ddof=1, scaled to unit diagonal)."""
    X = V.data
    const = np.nonzero(X.max(axis=0) == X.min(axis=0))[0]
    if const.size:
        j = int(np.searchsorted(np.cumsum(V.dims), const[0], side="right"))
        raise ValueError(
            f"{V.name(j)} is constant (column {int(const[0])} of the data); its Gaussian entropy "
            f"is -inf and the {what} is undefined. Drop constant variables first"
        )
    C = np.atleast_2d(np.cov(X, rowvar=False))
    sd = np.sqrt(np.diag(C))
    R = C / sd[:, None] / sd[None, :]
    np.fill_diagonal(R, 1.0)
    return R


def _average_ranks(data: np.ndarray) -> np.ndarray:
    """Ranks 1..n of each column, ties sharing their average rank (as scipy.stats.rankdata)."""
    n, p = data.shape
    T = np.ascontiguousarray(data.T)
    order = np.argsort(T, axis=1)
    xs = np.take_along_axis(T, order, axis=1)
    tie = xs[:, 1:] == xs[:, :-1]
    ranks = np.empty((p, n))
    ranks[np.arange(p)[:, None], order] = np.arange(1.0, n + 1.0)
    for j in np.nonzero(tie.any(axis=1))[0]:
        new = np.ones(n, dtype=bool)
        new[1:] = ~tie[j]
        starts = np.flatnonzero(new)
        ends = np.append(starts[1:], n)
        ranks[j, order[j]] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks.T


def copula_normal(data: np.ndarray) -> np.ndarray:
    """Map each column to standard normal scores: average rank / (n + 1) -> inverse normal CDF."""
    n = data.shape[0]
    return ndtri(_average_ranks(data) / (n + 1.0))


def _singular_error(V: Vars, subset, what: str):
    names = ", ".join(V.name(int(j)) for j in subset)
    return ValueError(
        f"the covariance of ({names}) is singular: a variable is constant or a linear "
        f"combination of the others (or there are too few distinct samples). Its Gaussian "
        f"entropy is -inf and the {what} is undefined. Drop redundant variables, or add small "
        "noise"
    )


def large_logdets(R, cols, bounds, need_dtc):
    """As :func:`subset_logdets` for large multiplets, in O(D^3) per multiplet instead of O(p D^3).

    log det of the matrix without block j is log det A + log det (A^-1)_jj (Schur complement).
    """
    m = cols.shape[0]
    full, blocks, loo, pivot = (np.zeros(m) for _ in range(4))
    for r in range(m):
        A = R[np.ix_(cols[r], cols[r])]
        try:
            L = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            continue  # pivot stays 0: reported as singular
        d = np.diag(L)
        pivot[r] = d.min()
        if pivot[r] < _SINGULAR_PIVOT:
            continue
        full[r] = 2.0 * np.log(d).sum()
        Linv = np.linalg.inv(L)  # triangular, well conditioned when the pivots are not tiny
        for lo, hi in itertools.pairwise(bounds):
            if hi - lo == 1:
                blocks[r] += math.log(A[lo, lo])
                if need_dtc:
                    loo[r] += full[r] + math.log(float(Linv[:, lo] @ Linv[:, lo]))
            else:
                blocks[r] += np.linalg.slogdet(A[lo:hi, lo:hi])[1]
                if need_dtc:
                    P = Linv[:, lo:hi].T @ Linv[:, lo:hi]
                    loo[r] += full[r] + np.linalg.slogdet(P)[1]
    return full, blocks, loo, pivot


def _gaussian_group(R, n, V: Vars, subsets, dims, bias_correction, need_dtc, what):
    """TC and DTC (nats) of multiplets that share one layout of block dimensions ``dims``.

    The log-determinants of the principal sub-matrices of the one matrix ``R`` come from
    small in-place Cholesky factorisations, batched over all multiplets in a numba kernel.
    """
    s = len(dims)
    D = int(sum(dims))
    cols = np.hstack([V.offsets[subsets[:, i]][:, None] + np.arange(dims[i]) for i in range(s)])
    bounds = np.cumsum([0, *dims]).astype(np.int64)
    if D <= _KERNEL_MAX_D:
        cols = np.ascontiguousarray(cols, dtype=np.int64)
        full, blocks, loo, pivot = subset_logdets(R, cols, bounds, need_dtc)
    else:
        full, blocks, loo, pivot = large_logdets(R, cols, bounds, need_dtc)
    bad = np.nonzero(pivot < _SINGULAR_PIVOT)[0]
    if bad.size:
        raise _singular_error(V, subsets[bad[0]], what)
    if bias_correction:
        full = full - wishart_correction(D, n)
        blocks = blocks - sum(wishart_correction(d, n) for d in dims)
        loo = loo - sum(wishart_correction(D - d, n) for d in dims)
    tc = 0.5 * (blocks - full)
    if not need_dtc:
        return tc, None
    return tc, 0.5 * (loo - (s - 1) * full)


def gaussian_multiplets(R, n, V: Vars, subsets_by_size, bias_correction, need_dtc, what):
    """TC and DTC arrays for a list of (m_s, s) subset arrays, in the order given."""
    tcs, dtcs = [], []
    for subsets in subsets_by_size:
        m = subsets.shape[0]
        tc = np.empty(m)
        dtc = np.empty(m) if need_dtc else None
        D_max = int(V.dims[subsets].sum(axis=1).max())
        if n <= D_max:
            raise ValueError(
                f"the Gaussian {what} needs more samples than dimensions: {n} samples for "
                f"{D_max} dimensions (the sample covariance is singular otherwise). Pass more "
                "samples or fewer variables"
            )
        sig = V.dims[subsets]
        if np.all(sig == sig[0]):
            groups = [(tuple(int(d) for d in sig[0]), np.arange(m))]
        else:
            uniq, inv = np.unique(sig, axis=0, return_inverse=True)
            inv = inv.reshape(-1)
            groups = [(tuple(int(d) for d in u), np.nonzero(inv == g)[0]) for g, u in enumerate(uniq)]
        for dims, rows in groups:
            for start in range(0, rows.size, _CHUNK):
                r = rows[start : start + _CHUNK]
                t, dt = _gaussian_group(R, n, V, subsets[r], dims, bias_correction, need_dtc, what)
                tc[r] = t
                if need_dtc:
                    dtc[r] = dt
        tcs.append(tc)
        dtcs.append(dtc)
    return tcs, dtcs


def gaussian_correlation(V: Vars, copula: bool, what: str) -> np.ndarray:
    """The correlation matrix of ``V``, of its normal scores for the copula (``V.data`` replaced)."""
    if copula:
        V.data = copula_normal(V.data)
    return correlation(V, what)


def gaussian_tc_dtc(X, *, copula, bias_correction, minimum, what, need_dtc=True):
    """Gaussian (or Gaussian-copula) TC and DTC of all the variables of ``X``, in nats."""
    check_flag(bias_correction, "bias_correction")
    V = continuous_vars(X)
    check_n_vars(V.p, minimum, what)
    R = gaussian_correlation(V, copula, what)
    full = np.arange(V.p)[None, :]
    tc, dtc = gaussian_multiplets(R, V.n, V, [full], bias_correction, need_dtc, what)
    return float(tc[0][0]), (float(dtc[0][0]) if need_dtc else None)


# ----------------------------------------------------------------------------------------------
# KSG multi-information
# ----------------------------------------------------------------------------------------------
def ksg_blocks_tc_dtc(arrs, k: int, need_dtc: bool):
    """KSG estimates of TC and DTC (nats) of the blocks ``arrs``, all from one neighbour search.

    eps_i is the max-norm distance from sample i to its k-th neighbour in the joint space of
    all p blocks; n_j and n_-j count the other samples strictly within eps_i in block j and in
    all blocks but j. Then (estimator 1 of Kraskov et al. 2004 for m blocks, and its MI form)

        TC = psi(k) + (p - 1) psi(N) - < sum_j psi(n_j + 1) >
        S  = sum_j I(X_j; X_-j) = sum_j [psi(k) + psi(N) - < psi(n_j + 1) + psi(n_-j + 1) >]
        DTC = S - TC.
    """
    n = arrs[0].shape[0]
    p = len(arrs)
    J = np.ascontiguousarray(np.hstack(arrs))
    eps = _neighbors.kth_distance(J, k, "chebyshev")
    _neighbors.check_joint_radii(eps, "the variables")
    psi_j = [digamma(_neighbors.count_within(np.ascontiguousarray(B), eps, strict=True) + 1) for B in arrs]
    sum_j = np.sum(psi_j, axis=0)
    tc = float(digamma(k) + (p - 1) * digamma(n) - sum_j.mean())
    if not need_dtc:
        return tc, None
    if p == 2:  # X_-1 = X_2 and X_-2 = X_1
        sum_mj = sum_j
    else:
        sum_mj = np.zeros(n)
        for j in range(p):
            rest = np.ascontiguousarray(np.hstack(arrs[:j] + arrs[j + 1 :]))
            sum_mj += digamma(_neighbors.count_within(rest, eps, strict=True) + 1)
    s_info = float(p * (digamma(k) + digamma(n)) - sum_j.mean() - sum_mj.mean())
    return tc, s_info - tc


def ksg_prepared(V: Vars, *, k, standardize, noise, seed, what):
    """Each variable of ``V`` checked, standardised and jittered for the kNN searches, and k."""
    named = {V.name(j): V.columns(j) for j in range(V.p)}
    arrs, _, k = prepare_continuous(
        named, k=k, standardize=standardize, noise=noise, seed=seed, what=f"KSG {what}"
    )
    return list(arrs.values()), k


def ksg_tc_dtc(X, *, k, standardize, noise, seed, minimum, what, need_dtc=True):
    """KSG TC and DTC of all the variables of ``X``, in nats."""
    V = continuous_vars(X)
    check_n_vars(V.p, minimum, what)
    arrs, k = ksg_prepared(V, k=k, standardize=standardize, noise=noise, seed=seed, what=what)
    return ksg_blocks_tc_dtc(arrs, k, need_dtc)


# ----------------------------------------------------------------------------------------------
# discrete (plug-in)
# ----------------------------------------------------------------------------------------------
def codes_tc_dtc(codes, correction, need_dtc):
    """Plug-in TC and DTC (nats) of the variables whose symbol codes are ``codes``."""
    p = len(codes)
    h_all = h_codes(joint_codes(*codes), correction)
    tc = sum(h_codes(c, correction) for c in codes) - h_all
    if not need_dtc:
        return tc, None
    h_loo = sum(h_codes(joint_codes(*(codes[:j] + codes[j + 1 :])), correction) for j in range(p))
    return tc, h_loo - (p - 1) * h_all


def warn_sparse(codes, what):
    """Warn when the joint symbols of ``codes`` have fewer than 5 samples each on average."""
    n = codes[0].size
    m = int(joint_codes(*codes).max()) + 1
    if n < 5 * m:
        warn(
            f"discrete {what}: {m} distinct joint symbols observed in {n} samples (fewer than 5 "
            "per symbol); plug-in entropies are biased downwards in this regime and the biases "
            "do not cancel between the terms. Use more samples, fewer variables or symbols, or "
            "correction='miller_madow'"
        )


def discrete_tc_dtc(X, *, correction, minimum, what, need_dtc=True):
    """Plug-in TC and DTC of all the variables of ``X``, in nats."""
    check_correction(correction)
    V = discrete_vars(X)
    check_n_vars(V.p, minimum, what)
    codes = V.codes()
    warn_sparse(codes, what)
    return codes_tc_dtc(codes, correction, need_dtc)

