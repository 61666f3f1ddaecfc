r"""Spectral measures of representations and weights.

Every measure here is a function of one eigenvalue spectrum:

* the **Gram spectrum** of a data matrix ``Z`` of shape ``(n_samples, n_features)``:
  the eigenvalues of :math:`Z^\top Z` (``d x d``), which are the non-zero
  eigenvalues of :math:`Z Z^\top` (``n x n``). It is computed once, on the
  smaller side, in float64 (:func:`gram_spectrum`);
* or, for ``kernel="gaussian"`` in the matrix-based Rényi family, the
  eigenvalues of an ``n x n`` kernel matrix.

What separates the measures is how ``Z`` is prepared before the spectrum is
taken (centred or not, rows normalised or not) and how the spectrum is
normalised. Each docstring states its choice; in short:

* :func:`rankme`: raw ``Z``; singular values σ; exp(−Σ p log p), p = σ/Σσ + 1e-7 (0 log 0 = 0).
* :func:`von_neumann_entropy`: rows L2-normalised; eigenvalues of ZᵀZ/N (trace 1);
  −Σ λ log λ.
* :func:`effective_rank` (Diff-eRank's eRank): centred, then rows L2-normalised;
  eigenvalues of ZᵀZ/N; exp(−Σ λ log λ). :func:`diff_erank` is a difference of two.
* :func:`matrix_entropy`: raw ``Z`` (linear kernel) or a Gaussian kernel matrix K;
  eigenvalues of K/tr K; (1/(1−α)) log Σ λ^α.
* :func:`alpha_req`: centred; covariance eigenvalues normalised to sum 1; power-law
  exponent by weighted least squares.
* :func:`coding_rate`: raw ``Z``; eigenvalues of ZᵀZ; ½ Σ log(1 + d λ/(n ε²)).
* :func:`singular_value_summary`: a weight matrix's singular values by a direct SVD.

Torch tensors are processed on their own device (GPU included) with
``torch.linalg`` in float64; only the small spectrum is copied to the host.
Everything else uses NumPy/SciPy. Results are Python floats.

*Extreme scales.* Before anything is squared, ``Z`` (and again after centring)
is multiplied by the power of two that brings its largest entry into
[0.5, 1): exact, and it keeps ZᵀZ and squared distances from overflowing
(entries beyond ~1e154) or underflowing (below ~1e-154). Scale-invariant
measures therefore give the same value for ``Z`` and ``1e-300 * Z`` or
``1e300 * Z``; the coding rate, whose ε fixes a scale, is computed in the log
domain where ``d/(nε²) ZᵀZ`` leaves the float64 range.

*Round-off.* Eigenvalues below ``max(min(n, d), 16) * eps * largest`` (the
backward error of the eigenproblem) are set to exactly zero; larger ones,
however small, are kept.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
from scipy.linalg import cholesky
from scipy.linalg.blas import dsyrk

from ._validation import (
    _check_shape,
    _is_torch_tensor,
    as_labels,
    as_samples,
    check_alpha,
    check_same_n,
    to_base,
    warn,
)

__all__ = [
    "GramSpectrum",
    "gram_spectrum",
    "rankme",
    "von_neumann_entropy",
    "effective_rank",
    "diff_erank",
    "matrix_entropy",
    "matrix_joint_entropy",
    "mi_matrix",
    "alpha_req",
    "coding_rate",
    "rate_reduction",
    "SingularValueSummary",
    "singular_value_summary",
    "condition_number",
]

_EPS = float(np.finfo(np.float64).eps)
MCR2_EPS = math.sqrt(0.5)  # ε with ε² = 0.5, the setting of Yu et al. (2020)

#: How each measure that works from a Gram spectrum prepares ``Z`` before the spectrum is
#: taken: ``(center, normalize_rows)``, the arguments of :func:`gram_spectrum`. A spectrum
#: computed with these can be passed in place of ``Z``; :func:`rankme`,
#: :func:`von_neumann_entropy`, :func:`effective_rank` and :func:`alpha_req` reject any other
#: preparation, while :func:`coding_rate` and :func:`matrix_entropy` (linear kernel) accept a
#: spectrum of any preparation and use the raw ``Z`` when given samples. The functions read
#: their preparation from here, so callers that share one spectrum between measures (the
#: probes of :mod:`infomeasure.measures`) can group measures by it.
GRAM_PREPARATION: dict[str, tuple[bool, bool]] = {
    "rankme": (False, False),
    "von_neumann_entropy": (False, True),
    "effective_rank": (True, True),
    "alpha_req": (True, False),
    "coding_rate": (False, False),
    "matrix_entropy": (False, False),
}


# ----------------------------------------------------------------------------------------------
# backend helpers (NumPy array or torch tensor on its own device)
# ----------------------------------------------------------------------------------------------
def _as_matrix(Z, name: str):
    """Validated float64 matrix ``(n, d)``: a NumPy array, or a torch tensor on its own device."""
    if not _is_torch_tensor(Z):
        return as_samples(Z, name)
    import torch

    t = Z.detach()
    if t.is_complex():
        raise TypeError(f"{name} is complex; pass real values (e.g. {name}.abs() or {name}.real)")
    t = _check_shape(t, name).to(torch.float64)
    if not bool(torch.isfinite(t).all()):
        n_nan = int(torch.isnan(t).sum())
        n_inf = int(t.numel() - int(torch.isfinite(t).sum()) - n_nan)
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} infinite value(s); drop or impute "
            "those samples before estimating"
        )
    return t


def _is_t(X) -> bool:
    return not isinstance(X, np.ndarray)


def _center(X):
    return X - X.mean(0, keepdims=True) if not _is_t(X) else X - X.mean(dim=0, keepdim=True)


def _row_norms(X):
    if _is_t(X):
        import torch

        return torch.linalg.vector_norm(X, dim=1)
    return np.sqrt(np.einsum("ij,ij->i", X, X))


def _max_abs(X) -> float:
    """Largest absolute entry as a Python float (0.0 for an all-zero matrix)."""
    if _is_t(X):
        return float(X.abs().max()) if X.numel() else 0.0
    return float(np.abs(X).max()) if X.size else 0.0


def _times_pow2(X, e):
    """``X * 2**e`` exactly (NumPy or torch); ``e`` an int or an integer array of per-row exponents.

    A product by a power of two is exact unless it overflows or leaves the normal range, so
    results computed from the rescaled matrix are those of the original, without the overflow
    (entries beyond ~1e154 overflow when squared) or underflow (below ~1e-154) of squaring.
    """
    if _is_t(X):
        import torch

        if isinstance(e, int):
            if e == 0:
                return X
            h = e // 2  # two factors, each a normal float64 even for |e| up to 2098
            return X * (2.0**h) * (2.0 ** (e - h))
        e = e.to(torch.float64)
        h = torch.floor(e / 2)
        return X * torch.exp2(h)[:, None] * torch.exp2(e - h)[:, None]
    if isinstance(e, int):
        return X if e == 0 else np.ldexp(X, e)
    return np.ldexp(X, np.asarray(e)[:, None])


def _pow2_normalized(X):
    """``(X * 2**-k, k)`` with the largest |entry| of the result in [0.5, 1) (``k = 0`` for zeros).

    Every scale-invariant measure is computed from the rescaled matrix, so its value does not
    depend on whether ``Z`` is given in units that make ``Z**2`` overflow or underflow.
    """
    m = _max_abs(X)
    if m == 0.0:
        return X, 0
    k = math.frexp(m)[1]
    return _times_pow2(X, -k), k


def _normalize_rows(X, name: str):
    """Divide each row by its L2 norm; all-zero rows are dropped with a warning.

    Each row is first brought to a largest |entry| in [0.5, 1) by an exact power of two, so
    the norm neither overflows (entries ~1e154 and up) nor underflows (~1e-154 and below).
    """
    if _is_t(X):
        import torch

        rmax = X.abs().amax(dim=1)
        e = torch.frexp(rmax).exponent
    else:
        rmax = np.abs(X).max(axis=1)
        e = np.frexp(rmax)[1]
    zero = rmax == 0
    n_zero = int(zero.sum())
    if n_zero:
        if n_zero == X.shape[0]:
            raise ValueError(
                f"every row of {name} is zero (after centring, if any); rows cannot be "
                "L2-normalised. Check that the layer is not dead or the input constant"
            )
        warn(
            f"{n_zero} row(s) of {name} are all zero and cannot be L2-normalised; they were "
            "dropped (N counts the remaining rows)")
        keep = ~zero
        X, e = X[keep], e[keep]
    X = _times_pow2(X, -e)
    return X / _row_norms(X)[:, None]


def _eigvalsh(M, what: str = "the matrix", uplo: str = "L") -> np.ndarray:
    """Eigenvalues of a symmetric matrix (NumPy or torch), ascending, as a float64 NumPy array.

    A solver that does not converge (``LinAlgError``) is reported as a ``ValueError`` naming
    ``what``; with the power-of-two rescaling upstream this should not happen for finite input.
    """
    try:
        if _is_t(M):
            import torch

            try:
                return torch.linalg.eigvalsh(M).cpu().numpy()  # the one device-to-host copy
            except torch.linalg.LinAlgError as exc:
                raise np.linalg.LinAlgError(str(exc)) from None
        return np.linalg.eigvalsh(M, UPLO=uplo)
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            f"{what}: the symmetric eigenvalue solver did not converge ({exc}). The input is "
            "finite, so its entries are probably extreme (near the float64 limits) or "
            "ill-scaled across columns; rescale or standardise the data (e.g. Z / Z.std()) "
            "and retry"
        ) from None


def _gram(X):
    """The smaller of ZᵀZ and ZZᵀ (NumPy: upper triangle only, by BLAS syrk)."""
    n, d = X.shape
    if _is_t(X):
        return X.T @ X if d <= n else X @ X.T
    # X.T is Fortran-ordered, so syrk reads X without a copy and does half the work of a GEMM
    return dsyrk(1.0, np.ascontiguousarray(X).T, trans=0 if d <= n else 1)


def _gram_eigvalsh(X, what: str = "Z") -> np.ndarray:
    """Eigenvalues of the smaller Gram matrix of X, descending, round-off set to zero."""
    return _clip_spectrum(_eigvalsh(_gram(X), what, uplo="U"), *X.shape)  # syrk fills the upper triangle


#: Smallest multiple of machine epsilon (times the largest eigenvalue) treated as round-off,
#: whatever the size of the eigenproblem. Measured: round-off eigenvalues of rank-deficient
#: Gram matrices (n up to 1e5, m up to 300, with and without an offset) stay below 2 eps * max.
_CLIP_FLOOR = 16


def _clip_spectrum(lam: np.ndarray, n: int, d: int) -> np.ndarray:
    """Descending copy with round-off set to exactly zero.

    The threshold is ``max(min(n, d), 16) * eps * max``: ``min(n, d)`` is the size of the
    eigenproblem, whose backward error bounds the absolute error of every computed
    eigenvalue (the Gram product itself adds ~eps * max in practice, not ``max(n, d)`` times
    that). Negative values are round-off of a PSD matrix; smaller positive ones cannot be told
    from round-off. Larger eigenvalues are kept untouched, however small.
    """
    lam = np.ascontiguousarray(lam[::-1], dtype=np.float64)
    top = lam[0] if lam.size else 0.0
    if not top > 0:
        return np.zeros_like(lam)
    lam[lam < max(min(n, d), _CLIP_FLOOR) * _EPS * top] = 0.0
    return lam


def _sq_distances(Xc):
    """Squared Euclidean distances ``(n, n)`` of centred rows (NumPy or torch): >= 0, zero diagonal.

    The caller centres (translation does not change distances; centring limits cancellation)
    and rescales so that the squares cannot overflow or underflow (:func:`_gaussian_gram`).
    """
    if _is_t(Xc):
        sq = (Xc * Xc).sum(dim=1)
        D2 = sq[:, None] + sq[None, :] - 2.0 * (Xc @ Xc.T)
        D2.clamp_(min=0.0)
        D2.fill_diagonal_(0.0)
        return D2
    sq = np.einsum("ij,ij->i", Xc, Xc)
    D2 = Xc @ Xc.T
    D2 *= -2.0
    D2 += sq[:, None]
    D2 += sq[None, :]
    np.maximum(D2, 0.0, out=D2)
    np.fill_diagonal(D2, 0.0)
    return D2


def _median(vals) -> float:
    """Median of a 1-D NumPy array or torch tensor (mean of the two middle values for even size)."""
    m = vals.shape[0]
    ks = [m // 2 - 1, m // 2] if m % 2 == 0 else [m // 2]
    if _is_t(vals):
        import torch

        picked = [float(torch.kthvalue(vals, k + 1).values) for k in ks]
    else:
        part = np.partition(vals, ks)
        picked = [float(part[k]) for k in ks]
    return float(np.mean(picked))


def _median_distance(D2) -> float:
    """Median of the Euclidean distances over distinct pairs (0.0 for a single sample)."""
    n = D2.shape[0]
    m = n * (n - 1) // 2
    if m == 0:
        return 0.0
    ks = [m // 2 - 1, m // 2] if m % 2 == 0 else [m // 2]
    if _is_t(D2):
        import torch

        mask = torch.ones(n, n, dtype=torch.bool, device=D2.device).triu_(1)
        vals = D2[mask]
        picked = [float(torch.kthvalue(vals, k + 1).values) for k in ks]
    else:
        vals = D2[np.triu(np.ones((n, n), dtype=bool), 1)]
        part = np.partition(vals, ks)
        picked = [float(part[k]) for k in ks]
    return float(np.mean(np.sqrt(picked)))


def _rms_distance(X, centered: bool = False) -> float:
    """Root-mean-square Euclidean distance over distinct pairs: sqrt(2 * trace of the covariance)."""
    n = X.shape[0]
    if n < 2:
        return 0.0
    Xc = X if centered else _center(X)
    return math.sqrt(2.0 * float((Xc * Xc).sum()) / (n - 1))


def _check_sigma(sigma, name: str = "sigma"):
    """Validate a bandwidth: None, a rule name ("median", "rms") or a positive finite number."""
    if sigma is None:
        return None
    if isinstance(sigma, str):
        if sigma not in ("median", "rms"):
            raise ValueError(f"{name} must be a positive number, 'median', 'rms' or None; got {sigma!r}")
        return sigma
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real):
        raise TypeError(f"{name} must be a positive number, 'median', 'rms' or None; got {sigma!r}")
    sigma = float(sigma)
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"{name} must be a positive, finite bandwidth; got {sigma}")
    return sigma


def _resolve_rule(rule: str, Xc, D2, k: int, what: str) -> float:
    """Bandwidth of a rule ("median" or "rms") for centred rows ``Xc`` = data * 2**-k, in those units.

    Returns 0.0 when all samples coincide (or there is one sample): the kernel is then all
    ones whatever the bandwidth.
    """
    if Xc.shape[0] < 2:
        return 0.0
    if rule == "rms":
        return _rms_distance(Xc, centered=True)
    sigma = _median_distance(D2)
    if sigma == 0.0 and _rms_distance(Xc, centered=True) > 0.0:  # more than half of the pairs coincide
        vals = D2[D2 > 0]
        sigma = _median(vals.sqrt() if _is_t(vals) else np.sqrt(vals))
        warn(
            f"{what}: more than half of the pairwise distances are zero (repeated samples); "
            f"the bandwidth is the median of the non-zero distances ({_ldexp(sigma, k):.4g})")
    return sigma


def _ldexp(x: float, k: int) -> float:
    """``x * 2**k`` as a Python float, ``inf`` (not OverflowError) beyond the float64 range."""
    try:
        return math.ldexp(x, k)
    except OverflowError:
        return math.inf


def _exp_neg(E):
    """exp(-E) in place (NumPy or torch)."""
    if _is_t(E):
        E.neg_().exp_()
    else:
        np.negative(E, out=E)
        np.exp(E, out=E)
    return E


def _gaussian_gram(X, sigma, what: str, degenerate: str = "warn"):
    """Gaussian kernel matrix exp(-d^2 / (2 sigma^2)) (NumPy or torch) and the bandwidth used.

    The rows are centred and rescaled by exact powers of two before the squared distances
    are formed, so the kernel is the same for data at any scale that float64 can hold
    (e.g. 1e-200 or 1e200): the scale-free rules ("median", "rms") give identical values,
    and a fixed bandwidth is applied in the rescaled units. ``degenerate`` says what to do
    when a fixed bandwidth makes every off-diagonal affinity underflow to 0 (the kernel is
    the identity) or round to 1 (all ones), so that the result no longer depends on the
    data: ``"warn"`` or ``"raise"`` (a ``ValueError``).
    """
    Xs, k = _pow2_normalized(X)
    Xs, k2 = _pow2_normalized(_center(Xs))  # centred, then largest |entry| in [0.5, 1) again
    k += k2
    D2 = _sq_distances(Xs)
    n = Xs.shape[0]
    if isinstance(sigma, str):
        s = _resolve_rule(sigma, Xs, D2, k, what)
        if s == 0.0:
            if n >= 2:
                warn(
                    f"{what}: all samples are identical, so every bandwidth gives the same kernel "
                    "(all ones); sigma is set to 1.0")
            s_user, s = 1.0, 1.0
        else:
            s_user = _ldexp(s, k)
        D2 *= 1.0 / (2.0 * s * s)
        return _exp_neg(D2), s_user
    sigma = float(sigma)
    s = _ldexp(sigma, -k)  # the bandwidth in the rescaled units (may underflow to 0 or overflow)
    ss = s * s
    if ss >= 2.2250738585072014e-308 and math.isfinite(2.0 * ss):  # the bandwidth in rescaled units is normal
        D2 *= 1.0 / (2.0 * ss)
    else:  # scale in the log domain: D2 / (2 s^2) overflows or underflows, as it should
        log_f = -math.log(2.0) - 2.0 * (math.log(sigma) - k * math.log(2.0))
        if _is_t(D2):
            D2.log_().add_(log_f).exp_()
        else:
            with np.errstate(divide="ignore", over="ignore", under="ignore"):
                np.log(D2, out=D2)
                D2 += log_f
                np.exp(D2, out=D2)
    K = _exp_neg(D2)
    if n >= 2:
        _check_degenerate_kernel(K, Xs, k, sigma, what, degenerate)
    return K, sigma


def _check_degenerate_kernel(K, Xs, k: int, sigma: float, what: str, degenerate: str) -> None:
    """Warn or raise when a fixed bandwidth makes the kernel the identity or all ones."""
    n = K.shape[0]
    if _is_t(K):
        nnz, ones = int((K != 0).sum()), int((K == 1.0).sum())
    else:
        nnz, ones = int(np.count_nonzero(K)), int(np.count_nonzero(K == 1.0))
    if nnz == n:  # only the diagonal: no two samples are within reach of the kernel
        D2 = _sq_distances(Xs)
        dmin = _ldexp(math.sqrt(float(D2[D2 > 0].min())), k)
        msg = (
            f"{what}: sigma={sigma:.6g} is so small that every off-diagonal affinity "
            f"exp(-d^2 / (2 sigma^2)) underflows to 0 (the closest two samples are {dmin:.6g} "
            "apart), so the kernel is the identity matrix and the result is log(n) whatever the "
            f"data. Use the default bandwidth (sigma=None, a data-derived scale: here the RMS "
            f"distance is {_ldexp(_rms_distance(Xs, centered=True), k):.6g}) or a sigma "
            "comparable to the distances between samples"
        )
    elif ones == n * n and float(Xs.abs().max() if _is_t(Xs) else np.abs(Xs).max()) > 0:
        D2 = _sq_distances(Xs)
        dmax = _ldexp(math.sqrt(float(D2.max())), k)
        msg = (
            f"{what}: sigma={sigma:.6g} is so large that every affinity "
            f"exp(-d^2 / (2 sigma^2)) rounds to 1 in float64 (the farthest two samples are "
            f"{dmax:.6g} apart), so the kernel is all ones and the result is 0 whatever the data. "
            "Use the default bandwidth (sigma=None, a data-derived scale: here the RMS distance is "
            f"{_ldexp(_rms_distance(Xs, centered=True), k):.6g}) or a sigma comparable to the "
            "distances between samples"
        )
    else:
        return
    if degenerate == "raise":
        raise ValueError(msg)
    warn(msg)


# ----------------------------------------------------------------------------------------------
# the Gram spectrum
# ----------------------------------------------------------------------------------------------
class GramSpectrum(NamedTuple):
    """Eigenvalues of ZᵀZ for one (prepared) data matrix, shared by every spectral measure.

    Attributes
    ----------
    eigenvalues : numpy.ndarray of shape (min(n_samples, n_features),)
        Eigenvalues of :math:`Z^\\top Z` (not divided by N), descending, float64,
        times ``2**-log2_scale`` (``log2_scale`` is 0 unless they overflow or
        underflow float64). Round-off below
        ``max(min(n, d), 16) * machine eps * largest`` is set to 0.
    n_samples : int
        Rows of the prepared matrix (all-zero rows dropped by ``normalize_rows``).
    n_features : int
        Columns of the matrix.
    centered : bool
        Whether the column means were subtracted first.
    normalized_rows : bool
        Whether each row was divided by its L2 norm (after centring).
    log2_scale : int, default 0
        The eigenvalues of :math:`Z^\\top Z` are ``eigenvalues * 2.0**log2_scale``.
        Non-zero only when those are beyond the float64 range (entries of ``Z``
        above about 1e150 or below about 1e-150): the spectrum is then kept in
        units where its largest value is representable. Every measure except
        :func:`coding_rate` is scale-invariant and ignores it.
    """

    eigenvalues: np.ndarray
    n_samples: int
    n_features: int
    centered: bool
    normalized_rows: bool
    log2_scale: int = 0


#: The spectrum is reported in the caller's units when its largest value lies in
#: [2**-900, 2**1000]: there, everything down to the round-off threshold is a normal float64.
_SPECTRUM_RANGE = (-900, 1000)


def gram_spectrum(Z, *, center=False, normalize_rows=False) -> GramSpectrum:
    r"""The spectrum of a data matrix, computed once on its smaller side.

    The non-zero eigenvalues of :math:`Z^\top Z` (``d x d``) and
    :math:`Z Z^\top` (``n x n``) coincide (the dual-Gram identity), so the
    smaller of the two is formed and diagonalised: a 200 x 20,000 matrix costs
    one 200 x 200 eigenproblem.

    Pass the result to :func:`rankme`, :func:`coding_rate`,
    :func:`matrix_entropy` (linear kernel), :func:`von_neumann_entropy`,
    :func:`effective_rank` or :func:`alpha_req` in place of ``Z`` to compute
    several measures from one spectrum; each checks that the preparation matches
    its definition.

    Parameters
    ----------
    Z : array-like or torch.Tensor of shape (n_samples, n_features)
        Samples along axis 0. A torch tensor is processed on its own device
        (float64, ``torch.linalg.eigvalsh``); only the spectrum is copied back.
    center : bool, default False
        Subtract the column means first.
    normalize_rows : bool, default False
        Divide every row by its L2 norm (after centring). All-zero rows cannot
        be normalised; they are dropped with a ``UserWarning``.

    Returns
    -------
    GramSpectrum
        Eigenvalues (descending, length ``min(n_samples, n_features)``) and how
        they were obtained.

    Notes
    -----
    Singular values are the square roots of these eigenvalues. Forming the Gram
    matrix squares the condition number: singular values below about
    :math:`\sqrt{\max(\min(n,d),16)\,\epsilon}\,\sigma_{\max}` (2e-7 of the
    largest for d = 200) are not resolved and are reported as exact zeros,
    which is what a rank-deficient matrix should give. Larger ones are kept as
    computed, however small. Use :func:`singular_value_summary` (a direct SVD)
    where tiny singular values matter.

    ``Z`` is first multiplied by a power of two (exact) that brings its largest
    entry into [0.5, 1), so squaring neither overflows nor underflows: data at
    1e-200 or 1e200 give the spectrum of the same data at 1, scaled. When the
    scaled-back eigenvalues would leave the float64 range they stay in the
    rescaled units and ``log2_scale`` records the factor.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import gram_spectrum
    >>> s = gram_spectrum(np.diag([3.0, 1.0]))
    >>> s.eigenvalues.tolist(), s.n_samples, s.n_features
    ([9.0, 1.0], 2, 2)
    >>> big = gram_spectrum(np.diag([3.0, 1.0]) * 2.0**600)   # eigenvalues 9 * 2**1200: beyond float64
    >>> big.log2_scale, (big.eigenvalues * 2.0 ** (big.log2_scale - 1200)).tolist()
    (1204, [9.0, 1.0])
    """
    for flag, fname in ((center, "center"), (normalize_rows, "normalize_rows")):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{fname} must be True or False; got {flag!r}")
    X, k = _as_matrix(Z, "Z"), 0
    if center or not normalize_rows:  # row normalisation rescales each row on its own
        X, k = _pow2_normalized(X)  # Z = X * 2**k exactly
    if center:
        X, k2 = _pow2_normalized(_center(X))
        k += k2
    if normalize_rows:
        X, k = _normalize_rows(X, "Z"), 0
    n, d = X.shape
    lam = _gram_eigvalsh(X)
    log2_scale = 2 * k
    if log2_scale and lam[0] > 0:
        top = math.frexp(float(lam[0]))[1] + log2_scale
        if _SPECTRUM_RANGE[0] <= top <= _SPECTRUM_RANGE[1]:  # representable: back to the caller's units
            lam, log2_scale = np.ldexp(lam, log2_scale), 0
    else:
        log2_scale = 0
    return GramSpectrum(lam, int(n), int(d), bool(center), bool(normalize_rows), int(log2_scale))


def _spectrum(Z, measure: str, *, what: str | None = None, strict: bool = True) -> GramSpectrum:
    """A GramSpectrum of ``Z`` prepared as ``GRAM_PREPARATION[measure]`` says (``Z`` may already be one)."""
    center, normalize_rows = GRAM_PREPARATION[measure]
    what = what or measure
    if isinstance(Z, GramSpectrum):
        if strict and (Z.centered != center or Z.normalized_rows != normalize_rows):
            raise ValueError(
                f"{what} is defined on the spectrum with center={center}, "
                f"normalize_rows={normalize_rows}; got a GramSpectrum with "
                f"center={Z.centered}, normalize_rows={Z.normalized_rows}. Compute it with "
                f"gram_spectrum(Z, center={center}, normalize_rows={normalize_rows})"
            )
        return Z
    return gram_spectrum(Z, center=center, normalize_rows=normalize_rows)


def _shannon(p: np.ndarray) -> float:
    """-sum p log p over the positive entries (nats)."""
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _renyi(p: np.ndarray, alpha: float) -> float:
    """Rényi entropy (nats) of a probability vector (zeros allowed)."""
    p = p[p > 0]
    if alpha == 1.0:
        return float(-(p * np.log(p)).sum())
    if alpha == 0.0:
        return math.log(p.size)
    if math.isinf(alpha):
        return float(-math.log(p.max()))
    return float(math.log(float((p**alpha).sum())) / (1.0 - alpha))


def _trace_normalized(lam: np.ndarray, what: str) -> np.ndarray:
    total = float(lam.sum())
    if total <= 0.0:
        raise ValueError(f"{what}: the matrix is all zeros, so its trace-normalised spectrum is undefined")
    return lam / total


# ----------------------------------------------------------------------------------------------
# RankMe, von Neumann entropy, effective rank, Diff-eRank
# ----------------------------------------------------------------------------------------------
def rankme(Z, eps=1e-7) -> float:
    r"""RankMe: the smooth effective rank of an embedding matrix (Garrido et al. 2023).

    With :math:`\sigma_k` the singular values of the **raw, uncentred** ``Z``
    (``min(n, d)`` of them, zeros included):

    .. math:: p_k = \frac{\sigma_k}{\sum_j \sigma_j} + \varepsilon, \qquad
              \mathrm{RankMe}(Z) = \exp\Big(-\sum_k p_k \log p_k\Big)

    The :math:`p_k` are not renormalised after adding :math:`\varepsilon`, as in
    the paper; this adds about :math:`\varepsilon \min(n,d) \log(1/\varepsilon)`
    to the entropy.

    Parameters
    ----------
    Z : array-like, torch.Tensor or GramSpectrum of shape (n_samples, n_features)
        Embeddings (samples along axis 0), or ``gram_spectrum(Z)``.
    eps : float, default 1e-7
        The constant added to every :math:`p_k`. ``eps=0`` gives the effective
        rank of Roy and Vetterli (2007), with :math:`0 \log 0 = 0` (zero
        singular values contribute nothing: ``diag(1, 1, 0)`` has rank 2).

    Returns
    -------
    float
        Between about 1 (one direction) and ``min(n, d)``. Unitless.

    Notes
    -----
    The singular values come from the eigenvalues of the smaller Gram matrix
    (:func:`gram_spectrum`), so RankMe is exactly invariant to rescaling ``Z``
    (any scale float64 can hold). RankMe is not invariant to a shift of the data:
    a large common offset adds one dominant direction; use
    ``gram_spectrum(Z, center=True)`` and a centred definition if that is not
    wanted (some packages centre silently; this function follows the paper).

    References
    ----------
    Q. Garrido, R. Balestriero, L. Najman, Y. LeCun, "RankMe: Assessing the
    downstream performance of pretrained self-supervised representations by
    their rank", ICML 2023. O. Roy, M. Vetterli, "The effective rank: a
    measure of effective dimensionality", EUSIPCO 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import rankme
    >>> round(rankme(np.eye(10)), 10)
    10.0000130259
    >>> round(rankme(np.diag([3.0, 1.0])), 10)
    1.7547652934
    """
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (eps >= 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a finite number >= 0 (1e-7 in the paper); got {eps!r}")
    spec = _spectrum(Z, "rankme", what="RankMe")
    sigma = np.sqrt(spec.eigenvalues)  # scale-free: spec.log2_scale does not matter
    total = float(sigma.sum())
    if total == 0.0:
        raise ValueError("RankMe: Z is all zeros; its singular values are all 0 and p = sigma / sum is undefined")
    p = sigma / total + float(eps)
    return float(math.exp(_shannon(p)))  # 0 log 0 = 0: zero singular values count for nothing at eps=0


def von_neumann_entropy(Z, *, base=None) -> float:
    r"""Von Neumann entropy of the row-normalised autocorrelation (Kim et al. 2023).

    Rows are L2-normalised (not centred), :math:`C = Z^\top Z / N` (trace 1),
    and with :math:`\lambda_k` its eigenvalues:

    .. math:: S(Z) = -\sum_k \lambda_k \log \lambda_k

    Parameters
    ----------
    Z : array-like, torch.Tensor or GramSpectrum of shape (n_samples, n_features)
        Representations (samples along axis 0), or
        ``gram_spectrum(Z, normalize_rows=True)``. All-zero rows are dropped
        with a warning.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        Between 0 (all rows parallel: dimensional collapse) and
        ``log min(n, d)`` (rows spread evenly over ``min(n, d)`` orthogonal
        directions). ``exp`` of it (in nats) is an effective rank.

    Notes
    -----
    :math:`C` is ``d x d``, but its non-zero eigenvalues are those of
    :math:`Z Z^\top / N`, so the smaller matrix is diagonalised. With fewer
    samples than features the maximum is ``log N``: compare values at equal N.

    References
    ----------
    J. Kim, S. Kang, D. Hwang, J. Shin, W. Rhee, "VNE: An effective method for
    improving deep representation by manipulating eigenvalue distribution",
    CVPR 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import von_neumann_entropy
    >>> Z = 5.0 * np.eye(8)                     # 8 orthogonal rows
    >>> round(von_neumann_entropy(Z), 6)        # ln 8
    2.079442
    >>> von_neumann_entropy(Z, base=2)
    3.0
    """
    spec = _spectrum(Z, "von_neumann_entropy")
    lam = spec.eigenvalues / spec.n_samples
    return to_base(_shannon(lam), base)


def effective_rank(Z) -> float:
    r"""Effective rank of a representation as in Diff-eRank (Wei et al. 2024).

    ``Z`` is centred (column means removed), then its rows are L2-normalised;
    with :math:`\lambda_k` the eigenvalues of :math:`Z^\top Z / N` (trace 1):

    .. math:: \mathrm{eRank}(Z) = \exp\Big(-\sum_k \lambda_k \log \lambda_k\Big)

    Parameters
    ----------
    Z : array-like, torch.Tensor or GramSpectrum of shape (n_samples, n_features)
        Representations, or ``gram_spectrum(Z, center=True, normalize_rows=True)``.

    Returns
    -------
    float
        Between 1 and ``min(n - 1, d)``. Unitless.

    Notes
    -----
    Related quantities: :func:`rankme` is the same exponential of an entropy,
    but of the singular values of the raw matrix (no centring, no row
    normalisation); ``exp(von_neumann_entropy(Z))`` is this without centring.

    References
    ----------
    L. Wei, Z. Tan, C. Li, J. Wang, W. Huang, "Diff-eRank: A novel rank-based
    metric for evaluating large language models", NeurIPS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import effective_rank
    >>> Z = np.vstack([np.eye(4), -np.eye(4)])  # centred; 4 orthogonal directions
    >>> round(effective_rank(Z), 6)
    4.0
    """
    spec = _spectrum(Z, "effective_rank")
    lam = spec.eigenvalues / spec.n_samples
    return float(math.exp(_shannon(lam)))


def diff_erank(Z_untrained, Z_trained) -> float:
    r"""Diff-eRank: effective rank of an untrained model's representation minus a trained one's.

    .. math:: \Delta\mathrm{eRank} = \mathrm{eRank}(Z_{\text{untrained}})
              - \mathrm{eRank}(Z_{\text{trained}})

    with :func:`effective_rank` (centred, rows L2-normalised). Positive values
    mean training removed redundant directions ("noise reduction" in Wei et
    al.). The two matrices should come from the same inputs; they may have
    different widths.

    Parameters
    ----------
    Z_untrained, Z_trained : array-like or torch.Tensor of shape (n_samples, n_features)
        Representations of the same inputs from the untrained and the trained model.

    Returns
    -------
    float
        The difference of effective ranks (unitless).

    Notes
    -----
    Wei et al. compute the difference per input sequence (tokens as rows) and
    average over a data set; call this function per sequence and average to
    reproduce that protocol.

    References
    ----------
    L. Wei, Z. Tan, C. Li, J. Wang, W. Huang, "Diff-eRank: A novel rank-based
    metric for evaluating large language models", NeurIPS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import diff_erank
    >>> spread = np.vstack([np.eye(4), -np.eye(4)])
    >>> collapsed = np.vstack([np.eye(4)[:2], -np.eye(4)[:2]])
    >>> round(diff_erank(spread, collapsed), 6)   # 4 - 2
    2.0
    """
    return effective_rank(Z_untrained) - effective_rank(Z_trained)


# ----------------------------------------------------------------------------------------------
# matrix-based Rényi entropy and mutual information (Sánchez Giraldo et al. 2015)
# ----------------------------------------------------------------------------------------------
def _check_kernel(kernel):
    if kernel not in ("linear", "gaussian"):
        raise ValueError(f"kernel must be 'linear' or 'gaussian'; got {kernel!r}")
    return kernel


def _normalized_gram(X, kernel: str, sigma, what: str):
    """K / tr K (n x n, NumPy or torch); scale-free, so computed from Z rescaled by a power of two."""
    if kernel == "linear":
        X, _ = _pow2_normalized(X)
        K = X @ X.T
    else:
        K, _ = _gaussian_gram(X, sigma, what)
    tr = float(K.diagonal().sum())
    if tr <= 0.0:
        raise ValueError(f"{what}: the Gram matrix is all zeros (Z is zero); its entropy is undefined")
    return K / tr


def matrix_entropy(Z, alpha=1.0, *, kernel="linear", sigma=None, base=None) -> float:
    r"""Matrix-based Rényi α-order entropy of a Gram matrix (Sánchez Giraldo et al. 2015).

    With :math:`K` the ``n x n`` Gram matrix of the samples and
    :math:`A = K / \operatorname{tr} K`, whose eigenvalues :math:`\lambda_k` are
    non-negative and sum to one:

    .. math:: S_\alpha(A) = \frac{1}{1-\alpha} \log \sum_k \lambda_k^\alpha,
              \qquad S_1(A) = -\sum_k \lambda_k \log \lambda_k

    ``alpha=0`` gives the log of the rank, ``alpha=inf`` gives
    :math:`-\log \lambda_{\max}`.

    Parameters
    ----------
    Z : array-like, torch.Tensor or GramSpectrum of shape (n_samples, n_features)
        Samples along axis 0. For the linear kernel, a :func:`gram_spectrum`
        of any preparation may be passed (the entropy is then that of the
        prepared matrix).
    alpha : float, default 1.0
        Order :math:`\alpha \ge 0`; 1 is the von Neumann limit.
    kernel : {"linear", "gaussian"}, default "linear"
        ``"linear"``: :math:`K = Z Z^\top` (its spectrum is computed on the
        smaller side). ``"gaussian"``:
        :math:`K_{ij} = \exp(-\lVert z_i - z_j\rVert^2 / 2\sigma^2)`, an
        ``n x n`` eigenproblem (:math:`O(n^3)`).
    sigma : float, "median" or "rms", optional
        Gaussian bandwidth. ``None`` (default) or ``"median"``: the median
        Euclidean distance between distinct samples, a scale-free choice (the
        median heuristic of kernel methods). ``"rms"``: the root-mean-square
        distance. Ignored by the linear kernel.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        Between 0 and ``log n`` (Gaussian) or ``log min(n, d)`` (linear);
        non-increasing in ``alpha``.

    Notes
    -----
    With the Gaussian kernel the value depends strongly on the bandwidth: a
    small ``sigma`` pushes it to ``log n``, a large one to 0. Compare values
    computed with the same rule. A fixed ``sigma`` so small that every
    off-diagonal affinity underflows to 0 (the kernel is the identity) or so
    large that every affinity rounds to 1 gives exactly those limits and a
    ``UserWarning``. Both the median/RMS rules and the linear kernel are
    invariant to rescaling ``Z``, at any scale float64 can hold.

    Eigenvalues are clipped to zero only below the round-off of the
    eigenproblem (``max(min(n, d), 16) * eps * largest``), so small genuine
    eigenvalues, which weigh heavily for ``alpha < 1`` (:math:`\lambda^{1/2}`
    of 1e-12 is 1e-6), are kept. With the linear kernel and L2-normalised rows,
    ``alpha=1`` equals :func:`von_neumann_entropy`.

    References
    ----------
    L. G. Sánchez Giraldo, M. Rao, J. C. Príncipe, "Measures of entropy from
    data using infinitely divisible kernels", IEEE Trans. Inf. Theory 61
    (2015) 535--548.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import matrix_entropy
    >>> Z = np.eye(8)                            # K = I_8: 3 bits for every alpha
    >>> [round(matrix_entropy(Z, a, base=2), 12) for a in (0.5, 1, 2)]
    [3.0, 3.0, 3.0]
    """
    alpha = check_alpha(alpha)
    _check_kernel(kernel)
    sigma = _check_sigma(sigma)
    if kernel == "linear":
        spec = _spectrum(Z, "matrix_entropy", strict=False)
        lam = _trace_normalized(spec.eigenvalues, "matrix_entropy")
    else:
        if isinstance(Z, GramSpectrum):
            raise TypeError(
                "matrix_entropy with kernel='gaussian' needs the samples Z, not a GramSpectrum "
                "(a linear-kernel spectrum)"
            )
        X = _as_matrix(Z, "Z")
        A = _normalized_gram(X, "gaussian", "median" if sigma is None else sigma, "matrix_entropy")
        lam = _clip_spectrum(_eigvalsh(A, "matrix_entropy"), *A.shape)
        lam = lam / lam.sum()
    return to_base(_renyi(lam, alpha), base)


def _normalized_grams(variables, names, kernel, sigma, what):
    """Trace-normalised n x n Gram matrix of each variable, all in one backend."""
    _check_kernel(kernel)
    if isinstance(sigma, (tuple, list)):
        if len(sigma) != len(variables):
            raise ValueError(
                f"{what}: sigma has {len(sigma)} entries for {len(variables)} variables; pass one "
                "bandwidth per variable or a single one"
            )
        sigmas = [_check_sigma(s) for s in sigma]
    else:
        sigmas = [_check_sigma(sigma)] * len(variables)
    mats = [_as_matrix(v, name) for v, name in zip(variables, names)]
    devices = {str(m.device) if _is_t(m) else "numpy" for m in mats}
    if len(devices) > 1:  # mixed inputs: compute on the host
        mats = [m.cpu().numpy() if _is_t(m) else m for m in mats]
    check_same_n(**dict(zip(names, mats)))
    return [_normalized_gram(m, kernel, "median" if s is None else s, what) for m, s in zip(mats, sigmas)]


def _hadamard_normalized(mats):
    A = mats[0]
    for B in mats[1:]:
        A = A * B
    return A / float(A.diagonal().sum())


def _renyi_of_matrix(A, alpha: float, what: str = "the kernel matrix") -> float:
    lam = _clip_spectrum(_eigvalsh(A, what), *A.shape)
    return _renyi(lam / lam.sum(), alpha)


def matrix_joint_entropy(variables, alpha=1.0, *, kernel="gaussian", sigma=None, base=None) -> float:
    r"""Matrix-based Rényi α-order joint entropy of several variables.

    With :math:`A_j = K_j / \operatorname{tr} K_j` the normalised Gram matrix
    of variable *j* (all on the same *n* samples), the joint entropy is that of
    their normalised Hadamard product:

    .. math:: S_\alpha(A_1, \dots, A_m) = S_\alpha\!\left(
              \frac{A_1 \circ \cdots \circ A_m}{\operatorname{tr}(A_1 \circ \cdots \circ A_m)}\right)

    Parameters
    ----------
    variables : sequence of array-like of shape (n_samples, n_features_j)
        The variables, paired by row.
    alpha : float, default 1.0
        Order :math:`\alpha \ge 0`.
    kernel : {"gaussian", "linear"}, default "gaussian"
        Kernel for every variable. The default differs from
        :func:`matrix_entropy`: a linear kernel of a scalar variable has rank
        one (entropy 0), which makes joint entropies and MI uninformative.
    sigma : float, "median", "rms", or a sequence of them, optional
        Bandwidth per variable (one value for all, or one each); ``None``: the
        median pairwise distance of each variable.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        At least the largest marginal entropy and at most ``log n``.

    References
    ----------
    S. Yu, L. G. Sánchez Giraldo, R. Jenssen, J. C. Príncipe, "Multivariate
    extension of matrix-based Rényi's α-order entropy functional", IEEE TPAMI
    42 (2020) 2960--2966.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import matrix_joint_entropy
    >>> x = np.eye(4)
    >>> round(matrix_joint_entropy([x, x], kernel="linear", base=2), 12)   # A∘A ∝ I_4
    2.0
    """
    alpha = check_alpha(alpha)
    if isinstance(variables, (str, bytes)) or not isinstance(variables, (list, tuple)) or not variables:
        raise TypeError(
            "matrix_joint_entropy: pass a list of variables, each of shape (n_samples, n_features)"
        )
    names = [f"variables[{i}]" for i in range(len(variables))]
    mats = _normalized_grams(list(variables), names, kernel, sigma, "matrix_joint_entropy")
    return to_base(_renyi_of_matrix(_hadamard_normalized(mats), alpha), base)


def mi_matrix(x, y, *, alpha=1.0, kernel="gaussian", sigma=None, base=None) -> float:
    r"""Matrix-based Rényi α-order mutual information (Sánchez Giraldo et al. 2015).

    .. math:: I_\alpha(X; Y) = S_\alpha(A) + S_\alpha(B) - S_\alpha\!\left(
              \frac{A \circ B}{\operatorname{tr}(A \circ B)}\right)

    with :math:`A`, :math:`B` the trace-normalised ``n x n`` Gram matrices of
    ``x`` and ``y`` (:func:`matrix_entropy`, :func:`matrix_joint_entropy`).

    Parameters
    ----------
    x, y : array-like or torch.Tensor of shape (n_samples, n_features)
        Samples, paired by row.
    alpha : float, default 1.0
        Order :math:`\alpha \ge 0`.
    kernel : {"gaussian", "linear"}, default "gaussian"
        Kernel for both variables.
    sigma : float, "median", "rms" or a pair of them, optional
        Bandwidths (one for both or ``(sigma_x, sigma_y)``); ``None``: the
        median pairwise distance of each variable, so the estimate does not
        depend on the variables' units.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        Non-negative for ``alpha=1`` in practice, at most
        ``min(S(A), S(B))``. It is a kernel dependence measure in information
        units, not a consistent estimate of Shannon MI: its value depends on the
        bandwidths and on ``n``. Compare values computed the same way.

    Notes
    -----
    Costs three ``n x n`` eigenproblems (:math:`O(n^3)`): subsample to a few
    thousand samples.

    References
    ----------
    L. G. Sánchez Giraldo, M. Rao, J. C. Príncipe, IEEE Trans. Inf. Theory 61
    (2015) 535--548; S. Yu, L. G. Sánchez Giraldo, R. Jenssen, J. C. Príncipe,
    IEEE TPAMI 42 (2020) 2960--2966.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import mi_matrix
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(300)
    >>> dep = mi_matrix(x, x + 0.3 * rng.standard_normal(300))
    >>> ind = mi_matrix(x, rng.standard_normal(300))
    >>> dep > 5 * ind
    True
    """
    alpha = check_alpha(alpha)
    if isinstance(sigma, (tuple, list)) and len(sigma) != 2:
        raise ValueError(f"sigma must be one bandwidth or a pair (sigma_x, sigma_y); got {len(sigma)} values")
    A, B = _normalized_grams([x, y], ["x", "y"], kernel, sigma, "mi_matrix")
    s = [_renyi_of_matrix(M, alpha) for M in (A, B, _hadamard_normalized([A, B]))]
    return to_base(s[0] + s[1] - s[2], base)


# ----------------------------------------------------------------------------------------------
# alpha-ReQ (Agrawal et al. 2022)
# ----------------------------------------------------------------------------------------------
def _check_fit_range(fit_range):
    if not isinstance(fit_range, (tuple, list)) or len(fit_range) != 2:
        raise TypeError(f"fit_range must be a pair (first_rank, last_rank); got {fit_range!r}")
    lo, hi = fit_range
    if isinstance(lo, bool) or not isinstance(lo, numbers.Integral) or lo < 1:
        raise ValueError(f"fit_range[0] must be an integer rank >= 1 (1 = largest eigenvalue); got {lo!r}")
    if hi is not None and (isinstance(hi, bool) or not isinstance(hi, numbers.Integral) or hi < lo + 2):
        raise ValueError(
            f"fit_range[1] must be None or an integer rank >= fit_range[0] + 2 (a fit needs three "
            f"points); got {hi!r}"
        )
    return int(lo), (None if hi is None else int(hi))


def alpha_req(Z, *, fit_range=(11, 100)) -> float:
    r"""α-ReQ: the power-law decay exponent of the centred covariance eigenspectrum.

    ``Z`` is centred; :math:`\lambda_1 \ge \lambda_2 \ge \dots` are the
    eigenvalues of its covariance normalised to sum 1. The exponent
    :math:`\alpha` is the slope of :math:`\log\lambda_i` against
    :math:`-\log i` fitted by weighted least squares with weights :math:`1/i`
    over the ranks ``fit_range`` (1-based, inclusive):

    .. math:: \hat\alpha = \arg\min_{\alpha, c} \sum_{i=i_0}^{i_1}
              \frac{1}{i}\left(\log \lambda_i - c + \alpha \log i\right)^2

    The default ranks 11--100 are those of the reference fit (the tail of the
    spectrum, skipping the first ten eigenvalues).

    Parameters
    ----------
    Z : array-like, torch.Tensor or GramSpectrum of shape (n_samples, n_features)
        Representations, or ``gram_spectrum(Z, center=True)``.
    fit_range : (int, int or None), default (11, 100)
        First and last rank of the fit; ``None`` as the last rank means every
        non-zero eigenvalue. Ranks beyond the last non-zero eigenvalue (at most
        ``min(n - 1, d)``) are dropped with a ``UserWarning``: the exponent is
        then not comparable with values fitted over the full range.

    Returns
    -------
    float
        :math:`\hat\alpha`. Near 1 for the spectra of well-trained
        representations (Agrawal et al.); larger values mean faster decay
        (fewer effective dimensions), smaller values a flatter spectrum.

    Notes
    -----
    The normalisation to sum 1 shifts the intercept only, not the slope.
    The fit needs at least 3 non-zero eigenvalues in the range.

    References
    ----------
    K. K. Agrawal, A. K. Mondal, A. Ghosh, B. A. Richards, "α-ReQ: Assessing
    representation quality in self-supervised learning by measuring
    eigenspectrum decay", NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import alpha_req
    >>> G = np.random.default_rng(0).standard_normal((300, 150))
    >>> Q, _ = np.linalg.qr(G - G.mean(0))       # orthonormal, centred columns
    >>> Z = Q * np.arange(1, 151) ** -0.6        # covariance eigenvalues exactly i^-1.2
    >>> round(alpha_req(Z), 8)
    1.2
    """
    lo, hi = _check_fit_range(fit_range)
    spec = _spectrum(Z, "alpha_req")
    lam = spec.eigenvalues
    n_pos = int((lam > 0).sum())
    last = n_pos if hi is None else min(hi, n_pos)
    if last - lo + 1 < 3:
        raise ValueError(
            f"alpha_req: only {n_pos} non-zero covariance eigenvalues (at most min(n - 1, d) = "
            f"{min(spec.n_samples - 1, spec.n_features)}), too few for a fit over ranks "
            f"{lo}-{hi if hi is not None else 'end'}; pass more samples or features, or a lower fit_range"
        )
    if hi is not None and last < hi:
        warn(
            f"alpha_req: the spectrum has {n_pos} non-zero eigenvalues, so the fit uses ranks "
            f"{lo}-{last} instead of {lo}-{hi}; the exponent is not comparable with fits over the "
            f"full range. Pass fit_range=({lo}, {last}) to silence this, or use more samples/features")
    ranks = np.arange(lo, last + 1, dtype=np.float64)
    y = np.log(lam[lo - 1 : last] / lam.sum())
    x = -np.log(ranks)
    w = 1.0 / ranks
    xm = float((w * x).sum() / w.sum())
    ym = float((w * y).sum() / w.sum())
    return float((w * (x - xm) * (y - ym)).sum() / (w * (x - xm) ** 2).sum())


# ----------------------------------------------------------------------------------------------
# coding rate and rate reduction (Yu et al. 2020, MCR^2)
# ----------------------------------------------------------------------------------------------
def _check_eps(eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps (the distortion ε) must be a positive finite number; got {eps!r}")
    return float(eps)


def _rate_factor(n: int, d: int, eps: float, log2_scale: int = 0):
    """``d / (n eps²) * 2**log2_scale`` as a normal float64, or ``None`` when it is not one."""
    den = n * eps * eps
    if not (den >= 2.2250738585072014e-308 and math.isfinite(den)):
        return None
    a = _ldexp(d / den, log2_scale)
    return a if 2.2250738585072014e-308 <= a < math.inf else None


def _log_rate_factor(n: int, d: int, eps: float, log2_scale: int = 0) -> float:
    return math.log(d) - math.log(n) - 2.0 * math.log(eps) + log2_scale * math.log(2.0)


def _rate_from_eigs(lam: np.ndarray, n: int, d: int, eps: float, log2_scale: int = 0) -> float:
    """½ Σ log(1 + a λ), a = d/(n eps²) 2**log2_scale; in the log domain when a λ leaves float64."""
    a = _rate_factor(n, d, eps, log2_scale)
    top = float(lam.max()) if lam.size else 0.0
    if a is not None and a * top < 2.0**1000:
        return 0.5 * float(np.log1p(lam * a).sum())
    pos = lam[lam > 0]
    t = _log_rate_factor(n, d, eps, log2_scale) + np.log(pos)  # log(a λ), finite
    return 0.5 * float(np.logaddexp(0.0, t).sum())  # log(1 + e^t) without overflow or underflow


def _rate_direct(X, eps: float) -> float:
    """½ logdet(I + d/(n eps²) G) of the smaller Gram matrix G, by Cholesky (cheaper than eigenvalues).

    ``X`` is rescaled by a power of two first (exact), so ZᵀZ never overflows or underflows.
    When ``a * max(G)`` is so large that round-off in G (about eps * max(G)) would add more
    than ~1e-6 nats per direction, or overflows, or so small (below 1e-2) that log(1 + x)
    of the Cholesky pivots would lose its relative accuracy, the rate is taken from the
    singular values of ``X`` by a direct SVD (accurate to eps * sigma_max; those below the
    numerical-rank threshold are zeros), with log1p or in the log domain.
    """
    n, d = X.shape
    Xs, k = _pow2_normalized(X)  # X = Xs * 2**k
    a = _rate_factor(n, d, eps, 2 * k)
    M = _gram(Xs)
    top = float(M.diagonal().max())  # >= the largest eigenvalue / min(n, d)
    if a is not None and 1e-2 <= a * top and a * top * max(min(n, d), _CLIP_FLOOR) * _EPS <= 1e-6:
        M *= a
        try:
            if _is_t(M):
                import torch

                M.diagonal().add_(1.0)
                try:
                    return float(torch.log(torch.linalg.cholesky(M).diagonal()).sum())
                except torch.linalg.LinAlgError:
                    raise np.linalg.LinAlgError from None
            M[np.diag_indices_from(M)] += 1.0
            return float(np.log(cholesky(M, lower=False, overwrite_a=True, check_finite=False).diagonal()).sum())
        except np.linalg.LinAlgError:  # not numerically positive definite: fall through to the SVD
            pass
    if _is_t(Xs):
        import torch

        sv = torch.linalg.svdvals(Xs).cpu().numpy()
    else:
        sv = np.linalg.svd(Xs, compute_uv=False)
    sv = np.where(sv > sv.max(initial=0.0) * max(n, d) * _EPS, sv, 0.0)
    return _rate_from_eigs(sv * sv, n, d, eps, 2 * k)


def coding_rate(Z, eps=MCR2_EPS, *, base=None) -> float:
    r"""Coding rate of a set of representations (Yu et al. 2020, MCR²).

    For ``Z`` of shape ``(n, d)`` and distortion :math:`\varepsilon`:

    .. math:: R(Z, \varepsilon) = \tfrac12 \log\det\!\Big(I_d
              + \frac{d}{n\varepsilon^2} Z^\top Z\Big)
              = \tfrac12 \sum_k \log\Big(1 + \frac{d}{n\varepsilon^2}\lambda_k\Big)

    with :math:`\lambda_k` the eigenvalues of :math:`Z^\top Z`. The determinant
    is taken on the smaller side (:math:`\det(I_d + c Z^\top Z) = \det(I_n + c Z Z^\top)`),
    by a Cholesky factorisation, or from the eigenvalues when a
    :func:`gram_spectrum` is passed.

    Parameters
    ----------
    Z : array-like, torch.Tensor or GramSpectrum of shape (n_samples, n_features)
        Representations (samples along axis 0), or a :func:`gram_spectrum`.
        MCR² normalises each row to the unit sphere first; this function uses
        ``Z`` as given (pass ``gram_spectrum(Z, normalize_rows=True)`` for that).
    eps : float, default sqrt(0.5)
        The distortion :math:`\varepsilon`, squared in the formula. The default
        :math:`\varepsilon^2 = 0.5` is the value used by Yu et al.; note that
        the MCR² reference code's ``eps`` argument *is* :math:`\varepsilon^2`.
    base : float, optional
        Logarithm base; ``None`` gives nats (Yu et al. use the natural log).

    Returns
    -------
    float
        Non-negative; grows with the spread and the dimension of ``Z`` and
        as :math:`\varepsilon` shrinks.

    Notes
    -----
    Not scale-invariant: ε fixes the scale. It is computed correctly at any
    scale and any ε float64 can hold: ``Z`` is rescaled by a power of two
    (exact), and when :math:`x = d\lambda_{\max}/(n\varepsilon^2)` leaves the
    range where the Cholesky factor of :math:`I + cZ^\top Z` is accurate
    (:math:`x \cdot \max(\min(n,d),16)\,\epsilon > 10^{-6}`, where round-off
    in :math:`Z^\top Z` would add more than 1e-6 nats per null direction, or
    :math:`x < 10^{-2}`), the rate is summed from the singular values of ``Z``
    (a direct SVD) with ``log1p`` or in the log domain, so
    ``coding_rate(1e200 * Z)`` is finite and ``coding_rate(1e-200 * Z)`` keeps
    its relative accuracy. Singular values below
    ``max(n, d) * eps * sigma_max`` count as zeros (rank deficiency).

    References
    ----------
    Y. Yu, K. H. R. Chan, C. You, C. Song, Y. Ma, "Learning diverse and
    discriminative representations via the principle of maximal coding rate
    reduction", NeurIPS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import coding_rate
    >>> Z = np.eye(4)                  # d/(n eps^2) = 2 per direction
    >>> round(coding_rate(Z), 6)       # 0.5 * 4 * ln(1 + 2) = 2 ln 3
    2.197225
    """
    eps = _check_eps(eps)
    if isinstance(Z, GramSpectrum):
        return to_base(_rate_from_eigs(Z.eigenvalues, Z.n_samples, Z.n_features, eps, Z.log2_scale), base)
    return to_base(_rate_direct(_as_matrix(Z, "Z"), eps), base)


def rate_reduction(Z, y, eps=MCR2_EPS, *, base=None) -> float:
    r"""Rate reduction ΔR of representations with class labels (Yu et al. 2020, MCR²).

    .. math:: \Delta R(Z, \Pi, \varepsilon) = R(Z, \varepsilon)
              - \sum_j \frac{n_j}{n} R(Z_j, \varepsilon),
              \qquad R(Z_j, \varepsilon) = \tfrac12\log\det\!\Big(I_d
              + \frac{d}{n_j\varepsilon^2} Z_j^\top Z_j\Big)

    with :math:`Z_j` the :math:`n_j` rows of class *j* (:func:`coding_rate`).
    Large when the whole set is spread out while each class is compressed to a
    low-dimensional subspace.

    Parameters
    ----------
    Z : array-like or torch.Tensor of shape (n_samples, n_features)
        Representations (used as given; MCR² normalises rows to the sphere).
    y : array-like of shape (n_samples,)
        Class labels (integers, strings, booleans).
    eps : float, default sqrt(0.5)
        The distortion :math:`\varepsilon` (see :func:`coding_rate`).
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        ΔR; non-negative (the log-determinant is concave), 0 for a single class.

    References
    ----------
    Y. Yu, K. H. R. Chan, C. You, C. Song, Y. Ma, NeurIPS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import rate_reduction
    >>> Z = np.eye(4)
    >>> round(rate_reduction(Z, [0, 0, 1, 1]), 6)   # 2 ln 3 - ln 5
    0.587787
    """
    eps = _check_eps(eps)
    X = _as_matrix(Z, "Z")
    labels = as_labels(y, "y")
    check_same_n(Z=X, y=labels)
    if labels.ndim != 1:
        raise ValueError("y must be one label per sample")
    n = X.shape[0]
    total = _rate_direct(X, eps)
    within = 0.0
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if _is_t(X):
            import torch

            Xc = X[torch.as_tensor(idx, device=X.device)]
        else:
            Xc = X[idx]
        nc = idx.size
        within += (nc / n) * _rate_direct(Xc, eps)
    return to_base(total - within, base)


# ----------------------------------------------------------------------------------------------
# weight matrices
# ----------------------------------------------------------------------------------------------
class SingularValueSummary(NamedTuple):
    """Singular-value summary of a weight matrix (see :func:`singular_value_summary`)."""

    sigma_max: float
    sigma_min: float
    condition_number: float
    frobenius_norm: float
    nuclear_norm: float
    stable_rank: float
    effective_rank: float
    numerical_rank: int


def _as_weight(W):
    """A weight as a 2-D float64 matrix (NumPy or torch): 1-D -> column, >2-D -> (shape[0], -1)."""
    if _is_torch_tensor(W):
        t = W.detach()
        if t.ndim > 2:
            t = t.reshape(t.shape[0], -1)
        return _as_matrix(t, "W")
    arr = np.asarray(W) if not isinstance(W, np.ndarray) else W
    if getattr(arr, "ndim", 0) > 2:
        arr = arr.reshape(arr.shape[0], -1)
    return as_samples(arr, "W")


def singular_value_summary(W) -> SingularValueSummary:
    r"""Singular values of a weight matrix, summarised.

    With :math:`\sigma_1 \ge \dots \ge \sigma_r` the singular values
    (:math:`r = \min(m, n)`) of ``W`` (convolution kernels are reshaped to
    ``(out_channels, -1)``):

    * ``sigma_max`` (spectral norm) and ``sigma_min`` (the r-th singular value);
    * ``condition_number`` :math:`\sigma_1/\sigma_r` (``inf`` when
      :math:`\sigma_r = 0`);
    * ``frobenius_norm`` :math:`\sqrt{\sum\sigma_k^2}`, ``nuclear_norm``
      :math:`\sum\sigma_k`;
    * ``stable_rank`` :math:`\sum\sigma_k^2/\sigma_1^2`;
    * ``effective_rank`` :math:`\exp(-\sum p_k\log p_k)`,
      :math:`p_k = \sigma_k/\sum\sigma_j` (Roy and Vetterli 2007);
    * ``numerical_rank``: the number of :math:`\sigma_k > \sigma_1 \max(m,n)\,\epsilon`.

    Parameters
    ----------
    W : array-like or torch.Tensor
        The weight (1-D vectors are treated as one column).

    Returns
    -------
    SingularValueSummary

    Notes
    -----
    Computed by a direct SVD (``numpy.linalg.svd`` / ``torch.linalg.svdvals``,
    float64, on the tensor's device) rather than the Gram matrix, so small
    singular values and large condition numbers are accurate to machine
    precision. ``W`` is rescaled by an exact power of two first, so the ratios
    (condition number, ranks) are exact at any scale; norms beyond the float64
    range are ``inf``, with a ``UserWarning``.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import singular_value_summary
    >>> s = singular_value_summary(np.diag([4.0, 2.0, 1.0]))
    >>> s.condition_number, s.stable_rank, s.numerical_rank
    (4.0, 1.3125, 3)
    """
    X, k = _pow2_normalized(_as_weight(W))  # W = X * 2**k exactly; the SVD never sees extreme values
    if _is_t(X):
        import torch

        sv = torch.linalg.svdvals(X).cpu().numpy()
    else:
        sv = np.linalg.svd(X, compute_uv=False)
    sv = np.sort(np.asarray(sv, dtype=np.float64))[::-1]
    smax, smin = float(sv[0]), float(sv[-1])
    if smax == 0.0:
        raise ValueError("W is all zeros; its condition number and ranks are undefined")
    p = sv / sv.sum()
    r = sv / smax
    fro, nuc = math.sqrt(float((r * r).sum())) * smax, float(sv.sum())
    with np.errstate(over="ignore", under="ignore"):
        big = [float(np.ldexp(v, k)) for v in (smax, smin, fro, nuc)]
    if math.isinf(big[2]) or math.isinf(big[3]):
        warn(
            "singular_value_summary: the norms of W exceed the float64 range (largest entry "
            f"{_ldexp(_max_abs(X), k):.3g}); sigma_max, frobenius_norm and nuclear_norm that overflow are "
            "reported as inf. The condition number and the ranks are exact; rescale W to get the norms")
    return SingularValueSummary(
        sigma_max=big[0],
        sigma_min=big[1],
        condition_number=smax / smin if smin > 0 else math.inf,
        frobenius_norm=big[2],
        nuclear_norm=big[3],
        stable_rank=float((r * r).sum()),
        effective_rank=float(math.exp(_shannon(p))),
        numerical_rank=int((sv > smax * max(X.shape) * _EPS).sum()),
    )


def condition_number(W) -> float:
    r"""Condition number :math:`\sigma_{\max}/\sigma_{\min}` of a weight matrix (2-norm).

    ``inf`` for a rank-deficient matrix (:math:`\sigma_{\min} = 0` exactly);
    see :func:`singular_value_summary` for the other summaries.

    Examples
    --------
    >>> from estimators.spectral import condition_number
    >>> condition_number([[3.0, 0.0], [0.0, 0.5]])
    6.0
    """
    return singular_value_summary(W).condition_number
