r"""Shared Gram and kernel machinery of the spectral and diffusion measures (private).

Everything works on a validated float64 matrix that is either a NumPy array or a torch
tensor on its own device (GPU included); only small spectra are copied to the host.

* backend: :func:`as_matrix` (validation), :func:`is_torch`, :func:`take_rows`,
  :func:`singular_values` (a direct SVD on the device);
* exact rescaling by powers of two (:func:`max_abs`, :func:`times_pow2`,
  :func:`pow2_normalized`, :func:`ldexp`), so that nothing squared overflows or underflows;
* preparation: :func:`center_columns`, :func:`unit_rows` (L2-normalised rows);
* eigenvalues: :func:`eigvalsh` (a solver failure named), :func:`gram_matrix` (the smaller of
  ZᵀZ and ZZᵀ), :func:`gram_eigvalsh` and :func:`clip_spectrum` (round-off set to zero);
* the Gaussian kernel: :func:`sq_distances`, the bandwidth rules ("median", "rms") and
  :func:`check_sigma`, :func:`gaussian_gram` with its degenerate-bandwidth check;
* :class:`GramSpectrum` and :func:`gram_spectrum`, documented and re-exported by
  :mod:`estimators.spectral` (their ``__module__`` is set there);
* trace-normalised kernel matrices of the matrix-based Rényi entropies
  (:func:`normalized_gram`, :func:`normalized_grams`, :func:`hadamard_normalized`);
* the coding rate ½ log det(I + a ZᵀZ) by Cholesky or, where that loses accuracy, from the
  singular values (:func:`rate_direct`, :func:`rate_from_eigenvalues`).

The public measures and their documentation are in :mod:`estimators.spectral` and
:mod:`estimators.diffusion`.
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
    as_samples,
    check_flag,
    check_same_n,
    warn,
)

EPS = float(np.finfo(np.float64).eps)


# ----------------------------------------------------------------------------------------------
# backend helpers (NumPy array or torch tensor on its own device)
# ----------------------------------------------------------------------------------------------
def as_matrix(Z, name: str):
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


def is_torch(X) -> bool:
    """Whether a matrix from :func:`as_matrix` is a torch tensor (else a NumPy array)."""
    return not isinstance(X, np.ndarray)


def center_columns(X):
    """``X`` minus its column means (NumPy or torch)."""
    return X - X.mean(0, keepdims=True) if not is_torch(X) else X - X.mean(dim=0, keepdim=True)


def _row_norms(X):
    """L2 norm of every row (NumPy or torch)."""
    if is_torch(X):
        import torch

        return torch.linalg.vector_norm(X, dim=1)
    return np.sqrt(np.einsum("ij,ij->i", X, X))


def max_abs(X) -> float:
    """Largest absolute entry as a Python float (0.0 for an all-zero matrix)."""
    if is_torch(X):
        return float(X.abs().max()) if X.numel() else 0.0
    # two reductions instead of |X|: no temporary the size of X (a fresh allocation of that size
    # page-faults every time once glibc has trimmed the heap: 0.3 ms for 512 x 256 float64)
    return max(float(X.max()), -float(X.min())) if X.size else 0.0


def times_pow2(X, e):
    """``X * 2**e`` exactly (NumPy or torch); ``e`` an int or an integer array of per-row exponents.

    A product by a power of two is exact unless it overflows or leaves the normal range, so
    results computed from the rescaled matrix are those of the original, without the overflow
    (entries beyond ~1e154 overflow when squared) or underflow (below ~1e-154) of squaring.
    """
    if is_torch(X):
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


def pow2_normalized(X):
    """``(X * 2**-k, k)`` with the largest |entry| of the result in [0.5, 1) (``k = 0`` for zeros).

    Every scale-invariant measure is computed from the rescaled matrix, so its value does not
    depend on whether ``Z`` is given in units that make ``Z**2`` overflow or underflow.
    """
    m = max_abs(X)
    if m == 0.0:
        return X, 0
    k = math.frexp(m)[1]
    return times_pow2(X, -k), k


def unit_rows(X, name: str):
    """Divide each row by its L2 norm; all-zero rows are dropped with a warning.

    Each row is first brought to a largest |entry| in [0.5, 1) by an exact power of two, so
    the norm neither overflows (entries ~1e154 and up) nor underflows (~1e-154 and below).
    """
    if is_torch(X):
        import torch

        rmax = X.abs().amax(dim=1)
        e = torch.frexp(rmax).exponent
    else:
        rmax = np.maximum(X.max(axis=1), -X.min(axis=1))  # no |X| temporary (see max_abs)
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
    X = times_pow2(X, -e)  # a new array: divided in place
    X /= _row_norms(X)[:, None]
    return X


def eigvalsh(M, what: str = "the matrix", uplo: str = "L") -> np.ndarray:
    """Eigenvalues of a symmetric matrix (NumPy or torch), ascending, as a float64 NumPy array.

    A solver that does not converge (``LinAlgError``) is reported as a ``ValueError`` naming
    ``what``; with the power-of-two rescaling upstream this should not happen for finite input.
    """
    try:
        if is_torch(M):
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


def singular_values(X) -> np.ndarray:
    """Singular values of ``X`` (NumPy or torch, on its device) by a direct SVD, as a NumPy array."""
    if is_torch(X):
        import torch

        return torch.linalg.svdvals(X).cpu().numpy()
    return np.linalg.svd(X, compute_uv=False)


def take_rows(X, idx):
    """The rows of ``X`` (NumPy or torch) at NumPy indices ``idx`` (all of ``X`` for ``None``)."""
    if idx is None:
        return X
    if is_torch(X):
        import torch

        return X[torch.as_tensor(idx, device=X.device)]
    return X[idx]


def gram_matrix(X):
    """The smaller of ZᵀZ and ZZᵀ (NumPy: upper triangle only, by BLAS syrk)."""
    n, d = X.shape
    if is_torch(X):
        return X.T @ X if d <= n else X @ X.T
    # X.T is Fortran-ordered, so syrk reads X without a copy and does half the work of a GEMM
    return dsyrk(1.0, np.ascontiguousarray(X).T, trans=0 if d <= n else 1)


def gram_eigvalsh(X, what: str = "Z") -> np.ndarray:
    """Eigenvalues of the smaller Gram matrix of X, descending, round-off set to zero."""
    return clip_spectrum(eigvalsh(gram_matrix(X), what, uplo="U"), *X.shape)  # syrk fills the upper triangle


#: Smallest multiple of machine epsilon (times the largest eigenvalue) treated as round-off,
#: whatever the size of the eigenproblem. Measured: round-off eigenvalues of rank-deficient
#: Gram matrices (n up to 1e5, m up to 300, with and without an offset) stay below 2 eps * max.
CLIP_FLOOR = 16


def clip_spectrum(lam: np.ndarray, n: int, d: int) -> np.ndarray:
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
    lam[lam < max(min(n, d), CLIP_FLOOR) * EPS * top] = 0.0
    return lam


def sq_distances(Xc):
    """Squared Euclidean distances ``(n, n)`` of centred rows (NumPy or torch): >= 0, zero diagonal.

    The caller centres (translation does not change distances; centring limits cancellation)
    and rescales so that the squares cannot overflow or underflow (:func:`gaussian_gram`).
    """
    if is_torch(Xc):
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


def _middle_values(vals) -> list[float]:
    """The middle value of a 1-D NumPy array or torch tensor, or the two middle ones for even size."""
    m = vals.shape[0]
    ks = [m // 2 - 1, m // 2] if m % 2 == 0 else [m // 2]
    if is_torch(vals):
        import torch

        return [float(torch.kthvalue(vals, k + 1).values) for k in ks]
    part = np.partition(vals, ks)
    return [float(part[k]) for k in ks]


def _median(vals) -> float:
    """Median of a 1-D NumPy array or torch tensor (mean of the two middle values for even size)."""
    return float(np.mean(_middle_values(vals)))


def _median_distance(D2) -> float:
    """Median of the Euclidean distances over distinct pairs (0.0 for a single sample)."""
    n = D2.shape[0]
    if n < 2:
        return 0.0
    if is_torch(D2):
        import torch

        vals = D2[torch.ones(n, n, dtype=torch.bool, device=D2.device).triu_(1)]
    else:
        vals = D2[np.triu(np.ones((n, n), dtype=bool), 1)]
    return float(np.mean(np.sqrt(_middle_values(vals))))  # squared distances: the root of the middle ones


def _rms_distance(X, centered: bool = False) -> float:
    """Root-mean-square Euclidean distance over distinct pairs: sqrt(2 * trace of the covariance)."""
    n = X.shape[0]
    if n < 2:
        return 0.0
    Xc = X if centered else center_columns(X)
    return math.sqrt(2.0 * float((Xc * Xc).sum()) / (n - 1))


def check_sigma(sigma, name: str = "sigma"):
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
        sigma = _median(vals.sqrt() if is_torch(vals) else np.sqrt(vals))
        warn(
            f"{what}: more than half of the pairwise distances are zero (repeated samples); "
            f"the bandwidth is the median of the non-zero distances ({ldexp(sigma, k):.4g})")
    return sigma


def ldexp(x: float, k: int) -> float:
    """``x * 2**k`` as a Python float, ``inf`` (not OverflowError) beyond the float64 range."""
    try:
        return math.ldexp(x, k)
    except OverflowError:
        return math.inf


def _exp_neg(E):
    """exp(-E) in place (NumPy or torch)."""
    if is_torch(E):
        E.neg_().exp_()
    else:
        np.negative(E, out=E)
        np.exp(E, out=E)
    return E


def gaussian_gram(X, sigma, what: str, degenerate: str = "warn"):
    """Gaussian kernel matrix exp(-d^2 / (2 sigma^2)) (NumPy or torch) and the bandwidth used.

    The rows are centred and rescaled by exact powers of two before the squared distances
    are formed, so the kernel is the same for data at any scale that float64 can hold
    (e.g. 1e-200 or 1e200): the scale-free rules ("median", "rms") give identical values,
    and a fixed bandwidth is applied in the rescaled units. ``degenerate`` says what to do
    when a fixed bandwidth makes every off-diagonal affinity underflow to 0 (the kernel is
    the identity) or round to 1 (all ones), so that the result no longer depends on the
    data: ``"warn"`` or ``"raise"`` (a ``ValueError``).
    """
    Xs, k = pow2_normalized(X)
    Xs, k2 = pow2_normalized(center_columns(Xs))  # centred, then largest |entry| in [0.5, 1) again
    k += k2
    D2 = sq_distances(Xs)
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
            s_user = ldexp(s, k)
        D2 *= 1.0 / (2.0 * s * s)
        return _exp_neg(D2), s_user
    sigma = float(sigma)
    s = ldexp(sigma, -k)  # the bandwidth in the rescaled units (may underflow to 0 or overflow)
    ss = s * s
    if ss >= 2.2250738585072014e-308 and math.isfinite(2.0 * ss):  # the bandwidth in rescaled units is normal
        D2 *= 1.0 / (2.0 * ss)
    else:  # scale in the log domain: D2 / (2 s^2) overflows or underflows, as it should
        log_f = -math.log(2.0) - 2.0 * (math.log(sigma) - k * math.log(2.0))
        if is_torch(D2):
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
    if is_torch(K):
        nnz, ones = int((K != 0).sum()), int((K == 1.0).sum())
    else:
        nnz, ones = int(np.count_nonzero(K)), int(np.count_nonzero(K == 1.0))
    if nnz == n:  # only the diagonal: no two samples are within reach of the kernel
        D2 = sq_distances(Xs)
        dmin = ldexp(math.sqrt(float(D2[D2 > 0].min())), k)
        msg = (
            f"{what}: sigma={sigma:.6g} is so small that every off-diagonal affinity "
            f"exp(-d^2 / (2 sigma^2)) underflows to 0 (the closest two samples are {dmin:.6g} "
            "apart), so the kernel is the identity matrix and the result is log(n) whatever the "
            f"data. Use the default bandwidth (sigma=None, a data-derived scale: here the RMS "
            f"distance is {ldexp(_rms_distance(Xs, centered=True), k):.6g}) or a sigma "
            "comparable to the distances between samples"
        )
    elif ones == n * n and float(Xs.abs().max() if is_torch(Xs) else np.abs(Xs).max()) > 0:
        D2 = sq_distances(Xs)
        dmax = ldexp(math.sqrt(float(D2.max())), k)
        msg = (
            f"{what}: sigma={sigma:.6g} is so large that every affinity "
            f"exp(-d^2 / (2 sigma^2)) rounds to 1 in float64 (the farthest two samples are "
            f"{dmax:.6g} apart), so the kernel is all ones and the result is 0 whatever the data. "
            "Use the default bandwidth (sigma=None, a data-derived scale: here the RMS distance is "
            f"{ldexp(_rms_distance(Xs, centered=True), k):.6g}) or a sigma comparable to the "
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
    check_flag(center, "center")
    check_flag(normalize_rows, "normalize_rows")
    X, k = as_matrix(Z, "Z"), 0
    if center or not normalize_rows:  # row normalisation rescales each row on its own
        X, k = pow2_normalized(X)  # Z = X * 2**k exactly
    if center:
        X, k2 = pow2_normalized(center_columns(X))
        k += k2
    if normalize_rows:
        X, k = unit_rows(X, "Z"), 0
    n, d = X.shape
    lam = gram_eigvalsh(X)
    log2_scale = 2 * k
    if log2_scale and lam[0] > 0:
        top = math.frexp(float(lam[0]))[1] + log2_scale
        if _SPECTRUM_RANGE[0] <= top <= _SPECTRUM_RANGE[1]:  # representable: back to the caller's units
            lam, log2_scale = np.ldexp(lam, log2_scale), 0
    else:
        log2_scale = 0
    return GramSpectrum(lam, int(n), int(d), bool(center), bool(normalize_rows), int(log2_scale))


# ----------------------------------------------------------------------------------------------
# trace-normalised kernel matrices (matrix-based Rényi entropies)
# ----------------------------------------------------------------------------------------------
def check_kernel(kernel):
    """``kernel`` if it is "linear" or "gaussian"; a ``ValueError`` otherwise."""
    if kernel not in ("linear", "gaussian"):
        raise ValueError(f"kernel must be 'linear' or 'gaussian'; got {kernel!r}")
    return kernel


def normalized_gram(X, kernel: str, sigma, what: str):
    """K / tr K (n x n, NumPy or torch); scale-free, so computed from Z rescaled by a power of two."""
    if kernel == "linear":
        X, _ = pow2_normalized(X)
        K = X @ X.T
    else:
        K, _ = gaussian_gram(X, sigma, what)
    tr = float(K.diagonal().sum())
    if tr <= 0.0:
        raise ValueError(f"{what}: the Gram matrix is all zeros (Z is zero); its entropy is undefined")
    return K / tr


def normalized_grams(variables, names, kernel, sigma, what):
    """Trace-normalised n x n Gram matrix of each variable, all in one backend."""
    check_kernel(kernel)
    if isinstance(sigma, (tuple, list)):
        if len(sigma) != len(variables):
            raise ValueError(
                f"{what}: sigma has {len(sigma)} entries for {len(variables)} variables; pass one "
                "bandwidth per variable or a single one"
            )
        sigmas = [check_sigma(s) for s in sigma]
    else:
        sigmas = [check_sigma(sigma)] * len(variables)
    mats = [as_matrix(v, name) for v, name in zip(variables, names)]
    devices = {str(m.device) if is_torch(m) else "numpy" for m in mats}
    if len(devices) > 1:  # mixed inputs: compute on the host
        mats = [m.cpu().numpy() if is_torch(m) else m for m in mats]
    check_same_n(**dict(zip(names, mats)))
    return [normalized_gram(m, kernel, "median" if s is None else s, what) for m, s in zip(mats, sigmas)]


def hadamard_normalized(mats):
    """The elementwise product of kernel matrices, divided by its trace."""
    A = mats[0]
    for B in mats[1:]:
        A = A * B
    return A / float(A.diagonal().sum())


# ----------------------------------------------------------------------------------------------
# the coding rate: ½ log det(I + a ZᵀZ) (Yu et al. 2020)
# ----------------------------------------------------------------------------------------------
def _rate_factor(n: int, d: int, eps: float, log2_scale: int = 0):
    """``d / (n eps²) * 2**log2_scale`` as a normal float64, or ``None`` when it is not one."""
    den = n * eps * eps
    if not (den >= 2.2250738585072014e-308 and math.isfinite(den)):
        return None
    a = ldexp(d / den, log2_scale)
    return a if 2.2250738585072014e-308 <= a < math.inf else None


def _log_rate_factor(n: int, d: int, eps: float, log2_scale: int = 0) -> float:
    return math.log(d) - math.log(n) - 2.0 * math.log(eps) + log2_scale * math.log(2.0)


def rate_from_eigenvalues(lam: np.ndarray, n: int, d: int, eps: float, log2_scale: int = 0) -> float:
    """½ Σ log(1 + a λ), a = d/(n eps²) 2**log2_scale; in the log domain when a λ leaves float64."""
    a = _rate_factor(n, d, eps, log2_scale)
    top = float(lam.max()) if lam.size else 0.0
    if a is not None and a * top < 2.0**1000:
        return 0.5 * float(np.log1p(lam * a).sum())
    pos = lam[lam > 0]
    t = _log_rate_factor(n, d, eps, log2_scale) + np.log(pos)  # log(a λ), finite
    return 0.5 * float(np.logaddexp(0.0, t).sum())  # log(1 + e^t) without overflow or underflow


def _half_logdet_identity_plus(M) -> float:
    """½ log det(I + M) of a symmetric positive semi-definite ``M``, by Cholesky (``M`` is overwritten).

    Raises ``numpy.linalg.LinAlgError`` when I + M is not numerically positive definite.
    """
    if is_torch(M):
        import torch

        M.diagonal().add_(1.0)
        try:
            return float(torch.log(torch.linalg.cholesky(M).diagonal()).sum())
        except torch.linalg.LinAlgError:
            raise np.linalg.LinAlgError from None
    M[np.diag_indices_from(M)] += 1.0
    return float(np.log(cholesky(M, lower=False, overwrite_a=True, check_finite=False).diagonal()).sum())


def rate_direct(X, eps: float) -> float:
    """½ logdet(I + d/(n eps²) G) of the smaller Gram matrix G, by Cholesky (cheaper than eigenvalues).

    ``X`` is rescaled by a power of two first (exact), so ZᵀZ never overflows or underflows.
    When ``a * max(G)`` is so large that round-off in G (about eps * max(G)) would add more
    than ~1e-6 nats per direction, or overflows, or so small (below 1e-2) that log(1 + x)
    of the Cholesky pivots would lose its relative accuracy, the rate is taken from the
    singular values of ``X`` by a direct SVD (accurate to eps * sigma_max; those below the
    numerical-rank threshold are zeros), with log1p or in the log domain.
    """
    n, d = X.shape
    Xs, k = pow2_normalized(X)  # X = Xs * 2**k
    a = _rate_factor(n, d, eps, 2 * k)
    M = gram_matrix(Xs)
    top = float(M.diagonal().max())  # >= the largest eigenvalue / min(n, d)
    if a is not None and 1e-2 <= a * top and a * top * max(min(n, d), CLIP_FLOOR) * EPS <= 1e-6:
        M *= a
        try:
            return _half_logdet_identity_plus(M)
        except np.linalg.LinAlgError:  # not numerically positive definite: fall through to the SVD
            pass
    sv = singular_values(Xs)
    sv = np.where(sv > sv.max(initial=0.0) * max(n, d) * EPS, sv, 0.0)
    return rate_from_eigenvalues(sv * sv, n, d, eps, 2 * k)
