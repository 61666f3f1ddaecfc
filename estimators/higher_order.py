r"""Higher-order information: O-information, total correlation, dual total
correlation and S-information of a set of variables (Rosas et al. 2019).

For variables :math:`X = (X_1, \dots, X_p)`, each scalar or a vector, with
:math:`X_{-j}` all variables but :math:`X_j`:

.. math::

    TC(X)  &= \sum_{j=1}^{p} H(X_j) - H(X)                       \\
    DTC(X) &= H(X) - \sum_{j=1}^{p} H(X_j \mid X_{-j})
            = \sum_{j=1}^{p} H(X_{-j}) - (p - 1) H(X)             \\
    \Omega(X) &= TC(X) - DTC(X)
               = (p - 2) H(X) + \sum_{j=1}^{p} \left[H(X_j) - H(X_{-j})\right] \\
    S(X) &= TC(X) + DTC(X) = \sum_{j=1}^{p} I(X_j; X_{-j})

Sign convention, everywhere in this module: **Ω > 0 means the dependencies are
dominated by redundancy** (the same information copied across variables),
**Ω < 0 by synergy** (information held only jointly). Ω of two variables is 0
by definition, so the O-information needs at least three variables; TC, DTC
and S-information need at least two.

Methods: ``"gaussian"`` (log-determinants of one covariance matrix),
``"gaussian_copula"`` (ranks → standard normal marginals, then Gaussian),
``"ksg"`` (Kraskov kNN multi-information) and ``"discrete"`` (plug-in).
:func:`o_information_multiplets` evaluates many subsets of the variables at
once, from one covariance matrix, with batched log-determinants.

Every estimator returns nats unless ``base`` is given (``base=2`` gives bits).
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
from typing import NamedTuple

import numpy as np
from scipy.special import digamma, ndtri

from . import _neighbors
from ._registry import MethodRegistry
from ._validation import (
    _is_torch_tensor,
    _to_numpy,
    as_labels,
    as_samples,
    check_same_n,
    log_base,
    prepare_continuous,
    to_base,
    warn,
)
from ._discrete import check_correction, h_codes, joint_codes

__all__ = [
    "o_information",
    "total_correlation",
    "dual_total_correlation",
    "s_information",
    "o_information_multiplets",
    "OInformationMultiplets",
    "oinfo_gaussian",
    "oinfo_gaussian_copula",
    "oinfo_ksg",
    "oinfo_discrete",
    "tc_gaussian",
    "tc_gaussian_copula",
    "tc_ksg",
    "tc_discrete",
    "dtc_gaussian",
    "dtc_gaussian_copula",
    "dtc_ksg",
    "dtc_discrete",
    "sinfo_gaussian",
    "sinfo_gaussian_copula",
    "sinfo_ksg",
    "sinfo_discrete",
    "OINFO_METHODS",
    "TC_METHODS",
    "DTC_METHODS",
    "SINFO_METHODS",
]

#: Method names and aliases of :func:`o_information`
#: (``OINFO_METHODS.names``, ``OINFO_METHODS.aliases``).
#:
#: :meta hide-value:
OINFO_METHODS = MethodRegistry("o_information")
#: Method names and aliases of :func:`total_correlation`
#: (``TC_METHODS.names``, ``TC_METHODS.aliases``).
#:
#: :meta hide-value:
TC_METHODS = MethodRegistry("total_correlation")
#: Method names and aliases of :func:`dual_total_correlation`
#: (``DTC_METHODS.names``, ``DTC_METHODS.aliases``).
#:
#: :meta hide-value:
DTC_METHODS = MethodRegistry("dual_total_correlation")
#: Method names and aliases of :func:`s_information`
#: (``SINFO_METHODS.names``, ``SINFO_METHODS.aliases``).
#:
#: :meta hide-value:
SINFO_METHODS = MethodRegistry("s_information")

# Cholesky pivots of a correlation sub-matrix below this are treated as singular: the
# conditional variance of a variable given the others is < 1e-14 of its variance (a
# linear combination up to rounding error), where every log-determinant is rounding noise.
_SINGULAR_PIVOT = 1e-7
_KERNEL_MAX_D = 16  # larger multiplets use the O(D^3) inverse route of _large_logdets
_CHUNK = 65536  # multiplets per batched linear-algebra call (bounds memory)
_MAX_MULTIPLETS = 10**8


class OInformationMultiplets(NamedTuple):
    """Result of :func:`o_information_multiplets`.

    Attributes
    ----------
    subsets : numpy.ndarray of int64, shape (n_multiplets, max_size)
        Variable indices of each multiplet, one row each, ascending within a row
        for generated subsets. Rows of multiplets smaller than ``max_size`` are
        padded on the right with ``-1``.
    values : numpy.ndarray of float64, shape (n_multiplets,)
        The measure of each multiplet (nats unless ``base`` was given).
    """

    subsets: np.ndarray
    values: np.ndarray


# ----------------------------------------------------------------------------------------------
# input: a 2-D array of scalar variables, or a list of (n, d_i) blocks
# ----------------------------------------------------------------------------------------------
def _is_block_list(X) -> bool:
    return (
        isinstance(X, (list, tuple))
        and len(X) > 0
        and all(isinstance(b, np.ndarray) or _is_torch_tensor(b) for b in X)
    )


class _Vars:
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


def _continuous_vars(X) -> _Vars:
    if _is_block_list(X):
        arrs = [as_samples(b, f"X[{i}]") for i, b in enumerate(X)]
        check_same_n(**{f"X[{i}]": a for i, a in enumerate(arrs)})
        return _Vars(np.ascontiguousarray(np.hstack(arrs)), [a.shape[1] for a in arrs], True)
    data = as_samples(X, "X")
    return _Vars(data, np.ones(data.shape[1], dtype=np.int64), False)


def _discrete_vars(X) -> _Vars:
    if _is_block_list(X):
        codes = [as_labels(b, f"X[{i}]") for i, b in enumerate(X)]
        check_same_n(**{f"X[{i}]": c for i, c in enumerate(codes)})
        return _Vars(np.column_stack(codes), np.ones(len(codes), dtype=np.int64), True)
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
    return _Vars(np.column_stack(codes), np.ones(len(codes), dtype=np.int64), False)


def _check_n_vars(p: int, minimum: int, quantity: str) -> None:
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
# Gaussian: one correlation matrix, batched log-determinants of its sub-matrices
# ----------------------------------------------------------------------------------------------
def _wishart_correction(d: int, n: int) -> float:
    """E[log det S] - log det Sigma for a d-dim sample covariance (ddof=1) of n Gaussian samples."""
    if d == 0:
        return 0.0
    return d * math.log(2.0 / (n - 1)) + float(digamma((n - np.arange(1, d + 1)) / 2.0).sum())


def _correlation(V: _Vars, what: str) -> np.ndarray:
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


def _copula_normal(data: np.ndarray) -> np.ndarray:
    """Map each column to standard normal scores: average rank / (n + 1) -> inverse normal CDF."""
    n = data.shape[0]
    return ndtri(_average_ranks(data) / (n + 1.0))


def _singular_error(V: _Vars, subset, what: str):
    names = ", ".join(V.name(int(j)) for j in subset)
    return ValueError(
        f"the covariance of ({names}) is singular: a variable is constant or a linear "
        f"combination of the others (or there are too few distinct samples). Its Gaussian "
        f"entropy is -inf and the {what} is undefined. Drop redundant variables, or add small "
        "noise"
    )


def _large_logdets(R, cols, bounds, need_dtc):
    """As ``subset_logdets`` for large multiplets, in O(D^3) per multiplet instead of O(p D^3).

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


def _gaussian_group(R, n, V: _Vars, subsets, dims, bias_correction, need_dtc, what):
    """TC and DTC (nats) of multiplets that share one layout of block dimensions ``dims``.

    The log-determinants of the principal sub-matrices of the one matrix ``R`` come from
    small in-place Cholesky factorisations, batched over all multiplets in a numba kernel.
    """
    from ._higher_order_kernels import subset_logdets

    s = len(dims)
    D = int(sum(dims))
    cols = np.hstack([V.offsets[subsets[:, i]][:, None] + np.arange(dims[i]) for i in range(s)])
    bounds = np.cumsum([0, *dims]).astype(np.int64)
    if D <= _KERNEL_MAX_D:
        cols = np.ascontiguousarray(cols, dtype=np.int64)
        full, blocks, loo, pivot = subset_logdets(R, cols, bounds, need_dtc)
    else:
        full, blocks, loo, pivot = _large_logdets(R, cols, bounds, need_dtc)
    bad = np.nonzero(pivot < _SINGULAR_PIVOT)[0]
    if bad.size:
        raise _singular_error(V, subsets[bad[0]], what)
    if bias_correction:
        full = full - _wishart_correction(D, n)
        blocks = blocks - sum(_wishart_correction(d, n) for d in dims)
        loo = loo - sum(_wishart_correction(D - d, n) for d in dims)
    tc = 0.5 * (blocks - full)
    if not need_dtc:
        return tc, None
    return tc, 0.5 * (loo - (s - 1) * full)


def _gaussian_multiplets(R, n, V: _Vars, subsets_by_size, bias_correction, need_dtc, what):
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


def _gaussian_terms(X, *, copula, bias_correction, minimum, what, need_dtc=True):
    if not isinstance(bias_correction, (bool, np.bool_)):
        raise TypeError(f"bias_correction must be True or False; got {bias_correction!r}")
    V = _continuous_vars(X)
    _check_n_vars(V.p, minimum, what)
    if copula:
        V.data = _copula_normal(V.data)
    R = _correlation(V, what)
    full = np.arange(V.p)[None, :]
    tc, dtc = _gaussian_multiplets(R, V.n, V, [full], bias_correction, need_dtc, what)
    return float(tc[0][0]), (float(dtc[0][0]) if need_dtc else None)


# ----------------------------------------------------------------------------------------------
# KSG multi-information
# ----------------------------------------------------------------------------------------------
def _ksg_from_blocks(arrs, k: int, need_dtc: bool):
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


def _ksg_prepare(X, k, standardize, noise, seed, minimum, what):
    V = _continuous_vars(X)
    _check_n_vars(V.p, minimum, what)
    named = {V.name(j): V.columns(j) for j in range(V.p)}
    arrs, _, k = prepare_continuous(
        named, k=k, standardize=standardize, noise=noise, seed=seed, what=f"KSG {what}"
    )
    return list(arrs.values()), k


def _ksg_terms(X, *, k, standardize, noise, seed, minimum, what, need_dtc=True):
    arrs, k = _ksg_prepare(X, k, standardize, noise, seed, minimum, what)
    return _ksg_from_blocks(arrs, k, need_dtc)


# ----------------------------------------------------------------------------------------------
# discrete (plug-in)
# ----------------------------------------------------------------------------------------------
def _discrete_from_codes(codes, correction, need_dtc):
    p = len(codes)
    h_all = h_codes(joint_codes(*codes), correction)
    tc = sum(h_codes(c, correction) for c in codes) - h_all
    if not need_dtc:
        return tc, None
    h_loo = sum(h_codes(joint_codes(*(codes[:j] + codes[j + 1 :])), correction) for j in range(p))
    return tc, h_loo - (p - 1) * h_all


def _warn_sparse(codes, what):
    n = codes[0].size
    m = int(joint_codes(*codes).max()) + 1
    if n < 5 * m:
        warn(
            f"discrete {what}: {m} distinct joint symbols observed in {n} samples (fewer than 5 "
            "per symbol); plug-in entropies are biased downwards in this regime and the biases "
            "do not cancel between the terms. Use more samples, fewer variables or symbols, or "
            "correction='miller_madow'"
        )


def _discrete_terms(X, *, correction, minimum, what, need_dtc=True):
    check_correction(correction)
    V = _discrete_vars(X)
    _check_n_vars(V.p, minimum, what)
    codes = [np.ascontiguousarray(V.data[:, j]) for j in range(V.p)]
    _warn_sparse(codes, what)
    return _discrete_from_codes(codes, correction, need_dtc)


# ----------------------------------------------------------------------------------------------
# docstring pieces shared by the sixteen method functions
# ----------------------------------------------------------------------------------------------
_X_DOC = """X : array-like of shape (n_samples, n_variables), or list of arrays
        The variables, samples along axis 0: one column per scalar variable, or
        a list (or tuple) of NumPy arrays / torch tensors of shapes
        ``(n_samples,)`` or ``(n_samples, d_i)``, one per (possibly
        multivariate) variable, paired by row. A list of plain Python lists is
        read as rows (samples), like any array-like."""

_SIGN = (
    "Sign convention: Ω > 0 means redundancy dominates, Ω < 0 synergy."
)

_QUANTITY = {
    "oinfo": (
        "O-information",
        r"\Omega(X) = TC(X) - DTC(X) = (p - 2) H(X) + \sum_{j=1}^{p} [H(X_j) - H(X_{-j})]",
        "O-information in nats (or ``base`` units); Ω > 0: redundancy dominates, Ω < 0: synergy.",
        3,
    ),
    "tc": (
        "total correlation",
        r"TC(X) = \sum_{j=1}^{p} H(X_j) - H(X)",
        "Total correlation (multi-information) in nats (or ``base`` units); 0 iff independent.",
        2,
    ),
    "dtc": (
        "dual total correlation",
        r"DTC(X) = H(X) - \sum_{j=1}^{p} H(X_j \mid X_{-j}) = \sum_{j} H(X_{-j}) - (p - 1) H(X)",
        "Dual total correlation (binding information) in nats (or ``base`` units).",
        2,
    ),
    "sinfo": (
        "S-information",
        r"S(X) = TC(X) + DTC(X) = \sum_{j=1}^{p} I(X_j; X_{-j})",
        "S-information (exogenous information) in nats (or ``base`` units).",
        2,
    ),
}

_METHOD_DOC = {
    "gaussian": dict(
        title="of jointly Gaussian variables, from log-determinants",
        formula=r"H(X_S) = \tfrac12 \log\det(2\pi e\, \hat\Sigma_S)",
        params=r"""bias_correction : bool, default False
        Replace each :math:`\log\det\hat\Sigma_S` by its unbiased estimate
        under Gaussian sampling, :math:`\log\det\hat\Sigma_S - d_S \log\frac{2}{N-1}
        - \sum_{i=1}^{d_S} \psi(\frac{N-i}{2})` (Wishart; as in
        :func:`estimators.entropy.entropy_gaussian`).""",
        notes=r"""The covariance (ddof = 1) is computed once; the log-determinants of its
    sub-matrices come from Cholesky factors. For non-Gaussian data this is the
    value of the Gaussian with the same covariance: it sees linear dependence
    only. Without the bias correction the plug-in estimates are biased upwards
    by :math:`O(p^2/N)`: about :math:`p(p-1)/(4N)` nats for the TC of *p*
    scalar variables (1.5e-4 nats for three variables at N = 10^4), while the
    biases of TC and DTC nearly cancel in Ω.""",
        refs=r"""N. Misra, H. Singh, E. Demchuk, J. Multivar. Anal. 92 (2005) 324--342.""",
        raises="If N does not exceed the dimension, or a covariance sub-matrix is singular.",
    ),
    "gaussian_copula": dict(
        title="with the Gaussian copula (rank-normalised Gaussian) estimator",
        formula=r"\tilde x_{ij} = \Phi^{-1}\!\left(\frac{\mathrm{rank}(x_{ij})}{N + 1}\right),"
        r"\quad H(\tilde X_S) = \tfrac12 \log\det(2\pi e\, \hat\Sigma_{\tilde X_S})",
        params=r"""bias_correction : bool, default False
        Unbiased log-determinants under Gaussian sampling (Ince et al. 2017
        apply it by default; hoi's ``"gc"`` method does).""",
        notes=r"""Each column is replaced by standard normal scores of its ranks (ties get
    their average rank), then the Gaussian estimator is applied. The result is
    invariant to strictly increasing transforms of each column. It measures the
    dependence of the Gaussian copula with the same rank correlations: exact
    when the copula is Gaussian, and a lower bound on the dependence (for TC,
    which is a mutual information) otherwise, because the Gaussian has the
    largest entropy at a fixed covariance. Dependence that is not monotone
    (e.g. y = x²) is missed.""",
        refs=r"""R. A. A. Ince, B. L. Giordano, C. Kayser, G. A. Rousselet, J. Gross,
    P. G. Schyns, Hum. Brain Mapp. 38 (2017) 1541--1573.""",
        raises=(
            "If N does not exceed the dimension, a column is constant, or a covariance "
            "sub-matrix is singular."
        ),
    ),
    "ksg": dict(
        title="with the Kraskov (KSG) kNN estimator",
        formula=r"\widehat{TC} = \psi(k) + (p - 1)\psi(N)"
        r" - \Big\langle \sum_{j=1}^{p} \psi(n_j + 1) \Big\rangle, \quad"
        r"\hat S = \sum_{j=1}^{p} \Big[\psi(k) + \psi(N)"
        r" - \big\langle \psi(n_j + 1) + \psi(n_{-j} + 1) \big\rangle\Big]",
        params=r"""k : int, default 4
        Neighbour order.
    standardize : bool, default True
        Divide every column by its standard deviation first (the max-norm mixes
        the scales of the variables).
    noise : float, default 0.0
        Relative size of seeded Gaussian jitter against ties (e.g. ``1e-10``).
    seed : int or numpy.random.Generator, optional
        Seed for ``noise``.""",
        notes=r"""One neighbour search in the joint space of all p variables (max-norm)
    gives :math:`\varepsilon_i`, the distance from sample *i* to its *k*-th
    neighbour; :math:`n_j` and :math:`n_{-j}` count the other samples strictly
    closer than :math:`\varepsilon_i` in variable *j* and in all variables but
    *j*. :math:`\widehat{TC}` is KSG estimator 1 for *p* variables and each
    term of :math:`\hat S` is KSG estimator 1 of :math:`I(X_j; X_{-j})`; then
    :math:`\widehat{DTC} = \hat S - \widehat{TC}` and

    .. math::

        \hat\Omega = 2\widehat{TC} - \hat S = (p - 2)\left[\psi(N) - \psi(k)\right]
        + \Big\langle \sum_{j=1}^{p} \left[\psi(n_{-j} + 1) - \psi(n_j + 1)\right] \Big\rangle,

    which is the entropy form of Ω with every entropy evaluated at the same
    :math:`\varepsilon_i`, so the log-volume terms cancel exactly (the KSG
    idea). Sharing one radius halves the spread of :math:`\hat\Omega` compared
    with combining separately estimated total correlations,
    :math:`\Omega = (2 - p)\,TC(X) + \sum_j TC(X_{-j})` (SD 0.006 against
    0.014 nats, and 0.010 against 0.017, for the redundant and synergistic
    three-Gaussian examples at N = 10^4), at the cost of one search. The
    terms carry the usual KSG biases, which depend on the dimension and the
    strength of dependence (for X_3 = X_1 + X_2 + noise at N = 10^4: TC +0.016,
    DTC +0.024, Ω -0.007 nats, mean of 30 seeds); estimates can be negative
    for (nearly) independent variables. Cost: one kNN search plus 2p
    neighbour counts.""",
        refs=r"""A. Kraskov, H. Stögbauer, P. Grassberger, Phys. Rev. E 69, 066138 (2004),
    Sec. II (estimator 1 for m variables).""",
        raises="If ``k`` is not smaller than the number of samples.",
    ),
    "discrete": dict(
        title="of discrete variables, from plug-in entropies",
        formula=r"\hat H(X_S) = -\sum_{s} \hat p_s \log \hat p_s"
        r"\quad\text{over the joint symbols } s \text{ of } X_S",
        params=r"""correction : {None, "miller_madow"}, default None
        Apply the Miller--Madow correction to each entropy term.""",
        notes=r"""Each variable is a symbol per sample (each distinct row of a block is one
    symbol). Plug-in entropies are biased downwards, most for the joint terms,
    so with few samples per joint symbol the estimate drifts (a
    ``UserWarning`` says so when there are fewer than 5 samples per observed
    joint symbol).""",
        refs=r"""G. A. Miller, "Note on the bias of information estimates" (1955).""",
        raises="If ``correction`` is not None or 'miller_madow'.",
    ),
}

_DOC_TEMPLATE = """{Quantity} {mtitle}.

    .. math:: {qformula}

    .. math:: {mformula}

    {sign}

    Parameters
    ----------
    {X}
    {mparams}
    base : float, optional
        Logarithm base; ``None`` gives nats, ``2`` bits.

    Returns
    -------
    float
        {returns}

    Raises
    ------
    ValueError
        If X has fewer than {minimum} variables. {raises}

    Notes
    -----
    {mnotes}

    References
    ----------
    F. E. Rosas, P. A. M. Mediano, M. Gastpar, H. J. Jensen, "Quantifying
    high-order interdependencies via multivariate extensions of the mutual
    information", Phys. Rev. E 100, 032305 (2019).
    {mrefs}

    Examples
    --------
{examples}
"""


_EXAMPLES = {
    "gaussian": """    >>> import numpy as np
    >>> from estimators.higher_order import {name}
    >>> C = np.full((3, 3), 0.6) + 0.4 * np.eye(3)   # pairwise correlation 0.6
    >>> X = np.random.default_rng(0).multivariate_normal(np.zeros(3), C, size=20000)
    >>> round({name}(X), 2)   # closed form {truth}
    {value}""",
    "gaussian_copula": """    >>> import numpy as np
    >>> from estimators.higher_order import {name}
    >>> C = np.full((3, 3), 0.6) + 0.4 * np.eye(3)   # pairwise correlation 0.6
    >>> X = np.random.default_rng(0).multivariate_normal(np.zeros(3), C, size=20000)
    >>> X = np.exp(X)   # monotone transforms do not change the copula
    >>> round({name}(X), 2)   # closed form {truth}
    {value}""",
    "ksg": """    >>> import numpy as np
    >>> from estimators.higher_order import {name}
    >>> rng = np.random.default_rng(0)
    >>> x1, x2 = rng.standard_normal((2, 10000))
    >>> x3 = x1 + x2 + 0.5 * rng.standard_normal(10000)   # synergy: Omega = ln 0.6
    >>> round({name}([x1, x2, x3]), 1)   # closed form {truth}
    {value}""",
    "discrete": """    >>> import numpy as np
    >>> from estimators.higher_order import {name}
    >>> x = np.random.default_rng(0).integers(0, 2, size=(4000, 2))
    >>> X = np.column_stack([x, x[:, 0] ^ x[:, 1]])   # third bit = XOR of the first two
    >>> round({name}(X, base=2), 2)   # closed form {truth} bit
    {value}""",
}


def _method_doc(quantity: str, method: str, truth: str, value: str):
    """Decorator: compose the docstring of a method function from the shared pieces."""

    def deco(func):
        qname, qformula, returns, minimum = _QUANTITY[quantity]
        m = _METHOD_DOC[method]
        sign = (
            _SIGN
            if quantity == "oinfo"
            else "Ω = TC - DTC (see :func:`o_information`): Ω > 0 redundancy, Ω < 0 synergy."
        )
        func.__doc__ = _DOC_TEMPLATE.format(
            Quantity=qname[0].upper() + qname[1:],
            mtitle=m["title"],
            qformula=qformula,
            mformula=m["formula"],
            sign=sign,
            X=_X_DOC,
            mparams=m["params"],
            returns=returns,
            minimum=minimum,
            raises=m["raises"],
            mnotes=m["notes"],
            mrefs=m["refs"],
            examples=_EXAMPLES[method].format(name=func.__name__, truth=truth, value=value),
        )
        return func

    return deco


_OI, _TC, _DTC, _SI = "O-information", "total correlation", "dual total correlation", "S-information"


def _gauss(X, bc, copula, minimum, what, need_dtc=True):
    return _gaussian_terms(
        X, copula=copula, bias_correction=bc, minimum=minimum, what=what, need_dtc=need_dtc
    )


def _ksg(X, k, standardize, noise, seed, minimum, what, need_dtc=True):
    return _ksg_terms(
        X, k=k, standardize=standardize, noise=noise, seed=seed, minimum=minimum, what=what,
        need_dtc=need_dtc,
    )


# ----------------------------------------------------------------------------------------------
# method functions: O-information (minimum 3 variables)
# ----------------------------------------------------------------------------------------------
@OINFO_METHODS.register("gaussian", "gauss", "normal")
@_method_doc("oinfo", "gaussian", "0.147", "0.15")
def oinfo_gaussian(X, *, bias_correction=False, base=None) -> float:
    tc, dtc = _gauss(X, bias_correction, False, 3, _OI)
    return to_base(tc - dtc, base)


@OINFO_METHODS.register("gaussian_copula", "gc", "copula")
@_method_doc("oinfo", "gaussian_copula", "0.147", "0.15")
def oinfo_gaussian_copula(X, *, bias_correction=False, base=None) -> float:
    tc, dtc = _gauss(X, bias_correction, True, 3, _OI)
    return to_base(tc - dtc, base)


@OINFO_METHODS.register("ksg", "kraskov", "knn")
@_method_doc("oinfo", "ksg", "-0.51", "-0.5")
def oinfo_ksg(X, *, k=4, standardize=True, noise=0.0, seed=None, base=None) -> float:
    tc, dtc = _ksg(X, k, standardize, noise, seed, 3, _OI)
    return to_base(tc - dtc, base)


@OINFO_METHODS.register("discrete", "plugin", "plug_in")
@_method_doc("oinfo", "discrete", "-1", "-1.0")
def oinfo_discrete(X, *, correction=None, base=None) -> float:
    tc, dtc = _discrete_terms(X, correction=correction, minimum=3, what=_OI)
    return to_base(tc - dtc, base)


# ----------------------------------------------------------------------------------------------
# total correlation (minimum 2 variables; no leave-one-out terms needed)
# ----------------------------------------------------------------------------------------------
@TC_METHODS.register("gaussian", "gauss", "normal")
@_method_doc("tc", "gaussian", "0.522", "0.52")
def tc_gaussian(X, *, bias_correction=False, base=None) -> float:
    return to_base(_gauss(X, bias_correction, False, 2, _TC, need_dtc=False)[0], base)


@TC_METHODS.register("gaussian_copula", "gc", "copula")
@_method_doc("tc", "gaussian_copula", "0.522", "0.52")
def tc_gaussian_copula(X, *, bias_correction=False, base=None) -> float:
    return to_base(_gauss(X, bias_correction, True, 2, _TC, need_dtc=False)[0], base)


@TC_METHODS.register("ksg", "kraskov", "knn")
@_method_doc("tc", "ksg", "ln 3 = 1.10", "1.1")
def tc_ksg(X, *, k=4, standardize=True, noise=0.0, seed=None, base=None) -> float:
    return to_base(_ksg(X, k, standardize, noise, seed, 2, _TC, need_dtc=False)[0], base)


@TC_METHODS.register("discrete", "plugin", "plug_in")
@_method_doc("tc", "discrete", "1", "1.0")
def tc_discrete(X, *, correction=None, base=None) -> float:
    tc, _ = _discrete_terms(X, correction=correction, minimum=2, what=_TC, need_dtc=False)
    return to_base(tc, base)


# ----------------------------------------------------------------------------------------------
# dual total correlation
# ----------------------------------------------------------------------------------------------
@DTC_METHODS.register("gaussian", "gauss", "normal")
@_method_doc("dtc", "gaussian", "0.375", "0.37")
def dtc_gaussian(X, *, bias_correction=False, base=None) -> float:
    return to_base(_gauss(X, bias_correction, False, 2, _DTC)[1], base)


@DTC_METHODS.register("gaussian_copula", "gc", "copula")
@_method_doc("dtc", "gaussian_copula", "0.375", "0.37")
def dtc_gaussian_copula(X, *, bias_correction=False, base=None) -> float:
    return to_base(_gauss(X, bias_correction, True, 2, _DTC)[1], base)


@DTC_METHODS.register("ksg", "kraskov", "knn")
@_method_doc("dtc", "ksg", "ln 5 = 1.61", "1.6")
def dtc_ksg(X, *, k=4, standardize=True, noise=0.0, seed=None, base=None) -> float:
    return to_base(_ksg(X, k, standardize, noise, seed, 2, _DTC)[1], base)


@DTC_METHODS.register("discrete", "plugin", "plug_in")
@_method_doc("dtc", "discrete", "2", "2.0")
def dtc_discrete(X, *, correction=None, base=None) -> float:
    return to_base(_discrete_terms(X, correction=correction, minimum=2, what=_DTC)[1], base)


# ----------------------------------------------------------------------------------------------
# S-information
# ----------------------------------------------------------------------------------------------
@SINFO_METHODS.register("gaussian", "gauss", "normal")
@_method_doc("sinfo", "gaussian", "0.897", "0.9")
def sinfo_gaussian(X, *, bias_correction=False, base=None) -> float:
    return to_base(sum(_gauss(X, bias_correction, False, 2, _SI)), base)


@SINFO_METHODS.register("gaussian_copula", "gc", "copula")
@_method_doc("sinfo", "gaussian_copula", "0.897", "0.9")
def sinfo_gaussian_copula(X, *, bias_correction=False, base=None) -> float:
    return to_base(sum(_gauss(X, bias_correction, True, 2, _SI)), base)


@SINFO_METHODS.register("ksg", "kraskov", "knn")
@_method_doc("sinfo", "ksg", "ln 15 = 2.71", "2.7")
def sinfo_ksg(X, *, k=4, standardize=True, noise=0.0, seed=None, base=None) -> float:
    return to_base(sum(_ksg(X, k, standardize, noise, seed, 2, _SI)), base)


@SINFO_METHODS.register("discrete", "plugin", "plug_in")
@_method_doc("sinfo", "discrete", "3", "3.0")
def sinfo_discrete(X, *, correction=None, base=None) -> float:
    return to_base(sum(_discrete_terms(X, correction=correction, minimum=2, what=_SI)), base)


# ----------------------------------------------------------------------------------------------
# front functions
# ----------------------------------------------------------------------------------------------
_CHOOSING = """Choosing a method
    -----------------
    * Gaussian or near-Gaussian data, many variables, or many multiplets:
      ``"gaussian"`` (exact log-determinants; ``bias_correction=True`` removes
      the small-sample bias). It sees linear dependence only.
    * Continuous data with non-Gaussian marginals (skewed, heavy-tailed,
      differently scaled): ``"gaussian_copula"``. Invariant to monotone
      transforms of each variable; exact for a Gaussian copula, a lower bound
      on the dependence for other copulas. The usual choice for neural data
      and activations (it is hoi's default).
    * Continuous data with non-monotone or non-linear dependence, few
      variables (up to about 5 dimensions) and N in the thousands: ``"ksg"``.
      Slower (one neighbour search and 2p neighbour counts per set of
      variables); its terms carry the dimension-dependent KSG biases.
    * Symbols: ``"discrete"`` (plug-in; needs several samples per joint symbol)."""


def o_information(X, method="gaussian", *, base=None, **kwargs) -> float:
    r"""O-information Ω of a set of variables (Rosas et al. 2019), in nats by default.

    .. math::

        \Omega(X) = TC(X) - DTC(X)
                  = (p - 2) H(X) + \sum_{j=1}^{p} \left[H(X_j) - H(X_{-j})\right]

    **Sign convention: Ω > 0 means the variables are dominated by redundancy
    (the same information copied across them), Ω < 0 by synergy (information
    that only the whole set carries).** Ω is 0 for independent variables, and
    identically 0 for two variables, so at least three are needed.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables), or list of arrays
        One column per scalar variable (lists, NumPy arrays or torch tensors),
        or a list/tuple of NumPy arrays or tensors of shapes ``(n_samples,)``
        or ``(n_samples, d_i)``, one per (possibly multivariate) variable.
    method : str or callable, default "gaussian"
        ``"gaussian"``, ``"gaussian_copula"`` (alias ``"gc"``), ``"ksg"``,
        ``"discrete"``; or a callable ``f(X, base=..., **kwargs)``.
    base : float, optional
        Logarithm base: ``None`` (nats), ``2`` (bits).
    **kwargs
        Passed to the method (``bias_correction=``, ``k=``, ``correction=``, ...).

    Returns
    -------
    float
        Ω in nats (or ``base`` units). Positive: redundancy; negative: synergy.

    Raises
    ------
    ValueError
        If X has fewer than 3 variables, or on the method's own errors.

    {choosing}

    See Also
    --------
    oinfo_gaussian, oinfo_gaussian_copula, oinfo_ksg, oinfo_discrete,
    o_information_multiplets, total_correlation, dual_total_correlation, s_information

    References
    ----------
    F. E. Rosas, P. A. M. Mediano, M. Gastpar, H. J. Jensen, Phys. Rev. E 100,
    032305 (2019).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.higher_order import o_information
    >>> rng = np.random.default_rng(0)
    >>> x1, x2 = rng.standard_normal((2, 20000))
    >>> x3 = x1 + x2 + 0.5 * rng.standard_normal(20000)
    >>> round(o_information([x1, x2, x3]), 2)   # synergy: ln 0.6 = -0.51
    -0.51
    >>> s = rng.standard_normal(20000)
    >>> X = s[:, None] + 0.5 * rng.standard_normal((20000, 3))   # three noisy copies of s
    >>> o_information(X) > 0                                      # redundancy
    True
    """
    return OINFO_METHODS.call(method, X, base=base, **kwargs)


def total_correlation(X, method="gaussian", *, base=None, **kwargs) -> float:
    r"""Total correlation (multi-information) of a set of variables, in nats by default.

    .. math:: TC(X) = \sum_{j=1}^{p} H(X_j) - H(X)

    TC is the KL divergence between the joint distribution and the product of
    its marginals: 0 for independent variables, positive otherwise. With
    :func:`dual_total_correlation` it gives the O-information
    Ω = TC − DTC (Ω > 0 redundancy, Ω < 0 synergy).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables), or list of arrays
        One column per scalar variable, or a list of ``(n_samples, d_i)`` arrays.
    method : str or callable, default "gaussian"
        ``"gaussian"``, ``"gaussian_copula"``, ``"ksg"``, ``"discrete"``, or a callable.
    base : float, optional
        Logarithm base: ``None`` (nats), ``2`` (bits).
    **kwargs
        Passed to the method.

    Returns
    -------
    float
        TC in nats (or ``base`` units).

    Raises
    ------
    ValueError
        If X has fewer than 2 variables, or on the method's own errors.

    {choosing}

    See Also
    --------
    tc_gaussian, tc_gaussian_copula, tc_ksg, tc_discrete, o_information

    References
    ----------
    S. Watanabe, IBM J. Res. Dev. 4 (1960) 66--82. Rosas et al., Phys. Rev. E
    100, 032305 (2019).

    Examples
    --------
    >>> from estimators.higher_order import total_correlation
    >>> total_correlation([[0, 0, 0], [1, 1, 1]] * 50, method="discrete", base=2)
    2.0
    """
    return TC_METHODS.call(method, X, base=base, **kwargs)


def dual_total_correlation(X, method="gaussian", *, base=None, **kwargs) -> float:
    r"""Dual total correlation (binding information) of a set of variables, in nats by default.

    .. math:: DTC(X) = H(X) - \sum_{j=1}^{p} H(X_j \mid X_{-j})

    The information shared by at least two variables. Ω = TC − DTC
    (Ω > 0 redundancy, Ω < 0 synergy); for two variables DTC = TC = I(X_1; X_2).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables), or list of arrays
        One column per scalar variable, or a list of ``(n_samples, d_i)`` arrays.
    method : str or callable, default "gaussian"
        ``"gaussian"``, ``"gaussian_copula"``, ``"ksg"``, ``"discrete"``, or a callable.
    base : float, optional
        Logarithm base: ``None`` (nats), ``2`` (bits).
    **kwargs
        Passed to the method.

    Returns
    -------
    float
        DTC in nats (or ``base`` units).

    Raises
    ------
    ValueError
        If X has fewer than 2 variables, or on the method's own errors.

    {choosing}

    See Also
    --------
    dtc_gaussian, dtc_gaussian_copula, dtc_ksg, dtc_discrete, o_information

    References
    ----------
    T. S. Han, Inf. Control 36 (1978) 133--156. Rosas et al., Phys. Rev. E 100,
    032305 (2019).

    Examples
    --------
    >>> from estimators.higher_order import dual_total_correlation
    >>> dual_total_correlation([[0, 0, 0], [1, 1, 1]] * 50, method="discrete", base=2)
    1.0
    """
    return DTC_METHODS.call(method, X, base=base, **kwargs)


def s_information(X, method="gaussian", *, base=None, **kwargs) -> float:
    r"""S-information (exogenous information) of a set of variables, in nats by default.

    .. math:: S(X) = TC(X) + DTC(X) = \sum_{j=1}^{p} I(X_j; X_{-j})

    The total dependence of each variable on the rest; it complements the
    O-information Ω = TC − DTC (Ω > 0 redundancy, Ω < 0 synergy).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables), or list of arrays
        One column per scalar variable, or a list of ``(n_samples, d_i)`` arrays.
    method : str or callable, default "gaussian"
        ``"gaussian"``, ``"gaussian_copula"``, ``"ksg"``, ``"discrete"``, or a callable.
    base : float, optional
        Logarithm base: ``None`` (nats), ``2`` (bits).
    **kwargs
        Passed to the method.

    Returns
    -------
    float
        S-information in nats (or ``base`` units).

    Raises
    ------
    ValueError
        If X has fewer than 2 variables, or on the method's own errors.

    {choosing}

    See Also
    --------
    sinfo_gaussian, sinfo_gaussian_copula, sinfo_ksg, sinfo_discrete, o_information

    References
    ----------
    Rosas et al., Phys. Rev. E 100, 032305 (2019). R. G. James, C. J. Ellison,
    J. P. Crutchfield, Chaos 21, 037109 (2011).

    Examples
    --------
    >>> from estimators.higher_order import s_information
    >>> s_information([[0, 0, 0], [1, 1, 1]] * 50, method="discrete", base=2)
    3.0
    """
    return SINFO_METHODS.call(method, X, base=base, **kwargs)


for _f in (o_information, total_correlation, dual_total_correlation, s_information):
    _f.__doc__ = _f.__doc__.replace("{choosing}", _CHOOSING)
del _f


# ----------------------------------------------------------------------------------------------
# many multiplets at once
# ----------------------------------------------------------------------------------------------
_MEASURES = {
    "o_information": (OINFO_METHODS, 3, lambda tc, dtc: tc - dtc, "O-information"),
    "total_correlation": (TC_METHODS, 2, lambda tc, dtc: tc, "total correlation"),
    "dual_total_correlation": (DTC_METHODS, 2, lambda tc, dtc: dtc, "dual total correlation"),
    "s_information": (SINFO_METHODS, 2, lambda tc, dtc: tc + dtc, "S-information"),
}

# method function -> (kind, options it takes)
_KIND = {}
for _fam in ("oinfo", "tc", "dtc", "sinfo"):
    for _m in ("gaussian", "gaussian_copula", "ksg", "discrete"):
        _KIND[globals()[f"{_fam}_{_m}"]] = _m
del _fam, _m


def _check_kwargs(func, kwargs, method, quantity):
    params = inspect.signature(func).parameters
    unknown = [k for k in kwargs if k not in params or k in ("X", "base")]
    if unknown:
        accepted = [p for p in params if p not in ("X", "base")]
        raise TypeError(
            f"method {method!r} of {quantity} does not take "
            f"{', '.join(repr(u) for u in unknown)}; it accepts: {', '.join(accepted) or 'nothing'}"
        )


def _sizes(size, p: int, minimum: int, quantity: str) -> list[int]:
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        sizes = [int(size)]
    elif isinstance(size, (range, list, tuple, np.ndarray)):
        sizes = []
        for s in size:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral):
                raise TypeError(f"size must be an int or a range of ints; got an element {s!r}")
            sizes.append(int(s))
        if not sizes:
            raise ValueError("size is empty; pass an int such as 3 or a range such as range(3, 6)")
        sizes = sorted(set(sizes))
    else:
        raise TypeError(f"size must be an int or a range of ints such as range(3, 6); got {size!r}")
    for s in sizes:
        if s < minimum or s > p:
            raise ValueError(
                f"size {s} is out of range: {quantity} multiplets need {minimum} <= size <= "
                f"n_variables ({p})"
            )
    total = sum(math.comb(p, s) for s in sizes)
    if total > _MAX_MULTIPLETS:
        raise ValueError(
            f"{total:.3g} multiplets of sizes {sizes} of {p} variables is too many to evaluate; "
            "pass fewer sizes or an explicit list of subsets="
        )
    return sizes


def _all_subsets(p: int, s: int) -> np.ndarray:
    count = math.comb(p, s)
    combos = itertools.chain.from_iterable(itertools.combinations(range(p), s))
    flat = np.fromiter(combos, np.int64, count * s)
    return flat.reshape(count, s)


def _given_subsets(subsets, p: int, minimum: int, quantity: str) -> list[np.ndarray]:
    if isinstance(subsets, np.ndarray) and subsets.ndim == 2:
        rows = [list(r) for r in subsets]
    else:
        try:
            rows = [list(r) for r in subsets]
        except TypeError:
            raise TypeError(
                "subsets must be a list of index sequences such as [(0, 1, 2), (2, 5, 7, 9)] or "
                f"an int array of shape (n_multiplets, size); got {type(subsets).__name__}"
            ) from None
    if not rows:
        raise ValueError("subsets is empty; pass at least one subset, or subsets=None for all of them")
    out = []
    for i, r in enumerate(rows):
        if any(isinstance(j, bool) or not isinstance(j, numbers.Integral) for j in r):
            raise TypeError(f"subsets[{i}] = {r!r} must hold integer variable indices")
        r = [int(j) for j in r]
        if len(set(r)) != len(r):
            raise ValueError(
                f"subsets[{i}] = {r} repeats a variable; each multiplet needs distinct variables"
            )
        if len(r) < minimum:
            raise ValueError(
                f"subsets[{i}] = {r} has {len(r)} variables; {quantity} needs at least {minimum}"
            )
        if min(r) < 0 or max(r) >= p:
            raise ValueError(f"subsets[{i}] = {r} has an index outside 0..{p - 1} (X has {p} variables)")
        out.append(r)
    return out


def o_information_multiplets(
    X, size=3, method="gaussian", *, subsets=None, measure="o_information", base=None, **kwargs
) -> OInformationMultiplets:
    r"""O-information (or TC, DTC, S-information) of many subsets of the variables at once.

    Evaluates Ω of every subset of ``size`` variables (in
    :func:`itertools.combinations` order; for a range of sizes, the sizes in
    ascending order), or of the given ``subsets``. For ``"gaussian"`` and
    ``"gaussian_copula"`` the data are read once: the correlation matrix of all
    variables is computed once (after one rank transform for the copula), and
    the log-determinants of its sub-matrices are computed in batches with
    stacked Cholesky factorisations, so all 1,140 triplets of 20 variables take
    a few milliseconds. ``"ksg"`` and ``"discrete"`` prepare the data once and
    then evaluate the subsets one by one.

    Sign convention: Ω > 0 redundancy, Ω < 0 synergy.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables), or list of arrays
        One column per scalar variable, or a list of ``(n_samples, d_i)``
        arrays (each multivariate variable is one member of a multiplet).
    size : int or range of int, default 3
        Multiplet size(s), e.g. ``3`` or ``range(3, 6)``. Ignored when
        ``subsets`` is given.
    method : str or callable, default "gaussian"
        ``"gaussian"``, ``"gaussian_copula"``, ``"ksg"``, ``"discrete"``, or a
        callable ``f(X_subset, base=None, **kwargs)`` called once per subset
        with the list of the subset's variables.
    subsets : sequence of sequences of int, optional
        The multiplets to evaluate, e.g. ``[(0, 1, 2), (2, 5, 7, 9)]``.
    measure : {"o_information", "total_correlation", "dual_total_correlation", "s_information"}
        What to compute for each multiplet (default the O-information).
    base : float, optional
        Logarithm base: ``None`` (nats), ``2`` (bits).
    **kwargs
        Passed to the method (``bias_correction=``, ``k=``, ``correction=``, ...).

    Returns
    -------
    OInformationMultiplets
        Named tuple ``(subsets, values)``: ``subsets`` an int64 array of shape
        ``(n_multiplets, max_size)`` (rows of smaller multiplets padded with
        ``-1``), ``values`` a float64 array of shape ``(n_multiplets,)``. Each
        value equals the corresponding single-set call, e.g.
        ``o_information(X[:, row], method)``.

    Raises
    ------
    ValueError
        If a size or subset is out of range, a subset repeats a variable, or a
        Gaussian sub-matrix is singular (the message names the variables).

    Notes
    -----
    The number of multiplets grows fast: :math:`\binom{20}{3} = 1140`,
    sizes 3--5 of 20 variables give 21,489, sizes 3--5 of 100 give about
    79 million (refused above :math:`10^8`). Memory is bounded by evaluating
    the Gaussian methods in chunks of 65,536 multiplets.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.higher_order import o_information_multiplets
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal(5000)
    >>> x1, x2 = rng.standard_normal((2, 5000))
    >>> X = np.column_stack([s + rng.standard_normal(5000), s + rng.standard_normal(5000),
    ...                      s + rng.standard_normal(5000), x1, x2,
    ...                      x1 + x2 + 0.5 * rng.standard_normal(5000)])
    >>> res = o_information_multiplets(X, size=3)
    >>> res.subsets.shape, res.values.shape
    ((20, 3), (20,))
    >>> res.subsets[np.argmax(res.values)], res.subsets[np.argmin(res.values)]
    (array([0, 1, 2]), array([3, 4, 5]))
    >>> res.values.round(2)[[0, -1]]   # closed forms 0.085 (copies of s) and ln 0.6 = -0.511
    array([ 0.08, -0.5 ])
    """
    if measure not in _MEASURES:
        raise ValueError(f"measure must be one of {', '.join(repr(m) for m in _MEASURES)}; got {measure!r}")
    registry, minimum, combine, quantity = _MEASURES[measure]
    func = registry.resolve(method)
    kind = _KIND.get(func)
    if kind is None:  # a user callable: evaluate each subset through it
        V = _continuous_vars(X)
        cols = [V.columns(j) for j in range(V.p)]

        def per_subset(sub):
            return float(func([cols[j] for j in sub], base=None, **kwargs))

        kind_vars = V
    else:
        _check_kwargs(func, kwargs, method, measure)
        kind_vars = _discrete_vars(X) if kind == "discrete" else _continuous_vars(X)
    V = kind_vars
    _check_n_vars(V.p, minimum, quantity)
    if subsets is None:
        groups = [_all_subsets(V.p, s) for s in _sizes(size, V.p, minimum, quantity)]
    else:
        rows = _given_subsets(subsets, V.p, minimum, quantity)
        groups = None
    need_dtc = measure != "total_correlation"

    if kind in ("gaussian", "gaussian_copula"):
        bc = kwargs.get("bias_correction", False)
        if not isinstance(bc, (bool, np.bool_)):
            raise TypeError(f"bias_correction must be True or False; got {bc!r}")
        if kind == "gaussian_copula":
            V.data = _copula_normal(V.data)
        R = _correlation(V, quantity)
        if groups is not None:
            tcs, dtcs = _gaussian_multiplets(R, V.n, V, groups, bc, need_dtc, quantity)
            values = np.concatenate([combine(t, d) for t, d in zip(tcs, dtcs)])
        else:
            # group the given subsets by size (batched), then restore the caller's order
            sizes = np.array([len(r) for r in rows])
            values = np.empty(len(rows))
            for s in np.unique(sizes):
                idx = np.nonzero(sizes == s)[0]
                sub = np.array([rows[i] for i in idx], dtype=np.int64).reshape(idx.size, s)
                tcs, dtcs = _gaussian_multiplets(R, V.n, V, [sub], bc, need_dtc, quantity)
                values[idx] = combine(tcs[0], dtcs[0])
    else:
        if kind == "ksg":
            opts = {k: kwargs[k] for k in ("k", "standardize", "noise", "seed") if k in kwargs}
            named = {V.name(j): V.columns(j) for j in range(V.p)}
            arrs, _, k = prepare_continuous(
                named,
                k=opts.get("k", 4),
                standardize=opts.get("standardize", True),
                noise=opts.get("noise", 0.0),
                seed=opts.get("seed"),
                what=f"KSG {quantity}",
            )
            arrs = list(arrs.values())

            def per_subset(sub):
                return combine(*_ksg_from_blocks([arrs[j] for j in sub], k, need_dtc))

        elif kind == "discrete":
            correction = kwargs.get("correction")
            check_correction(correction)
            codes = [np.ascontiguousarray(V.data[:, j]) for j in range(V.p)]

            def per_subset(sub):
                sub_codes = [codes[j] for j in sub]
                return combine(*_discrete_from_codes(sub_codes, correction, need_dtc))

        if groups is not None:
            rows = [list(r) for g in groups for r in g]
        values = np.array([per_subset(r) for r in rows], dtype=np.float64)
        if kind == "discrete":
            _warn_sparse([codes[j] for j in max(rows, key=len)], quantity)

    if groups is not None:
        width = max(g.shape[1] for g in groups)
        sub_out = np.full((sum(g.shape[0] for g in groups), width), -1, dtype=np.int64)
        start = 0
        for g in groups:
            sub_out[start : start + g.shape[0], : g.shape[1]] = g
            start += g.shape[0]
    else:
        width = max(len(r) for r in rows)
        sub_out = np.full((len(rows), width), -1, dtype=np.int64)
        for i, r in enumerate(rows):
            sub_out[i, : len(r)] = r
    return OInformationMultiplets(sub_out, values / log_base(base))
