r"""Entropy estimators: discrete (plug-in, Miller--Madow), differential
(Kozachenko--Leonenko kNN, Gaussian, KDE) and the Rényi/Tsallis families.

Every estimator returns nats unless ``base`` is given (``base=2`` gives bits).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma, gammaln

from . import _neighbors, _torch_neighbors
from ._discrete import counts, plugin_entropy_counts, shannon
from ._gaussian import SINGULAR_RTOL, gaussian_logdet  # noqa: F401 (SINGULAR_RTOL: documented here)
from ._registry import MethodRegistry
from ._validation import (
    _to_numpy,
    as_labels,
    as_samples,
    check_alpha,
    check_noise,
    prepare_continuous,
    to_base,
    warn,
    warn_undersampled,
    pow2_rescale,
)

__all__ = [
    "entropy",
    "entropy_discrete",
    "entropy_miller_madow",
    "entropy_kl",
    "entropy_gaussian",
    "entropy_kde",
    "entropy_renyi",
    "entropy_tsallis",
    "ENTROPY_METHODS",
]

#: Method names and aliases of :func:`entropy`
#: (``ENTROPY_METHODS.names``, ``ENTROPY_METHODS.aliases``).
#:
#: :meta hide-value:
ENTROPY_METHODS = MethodRegistry("entropy")


def _log_unit_ball(d: int, chebyshev: bool) -> float:
    """log volume of the unit ball in d dimensions (max-norm: side-2 cube)."""
    if chebyshev:
        return d * math.log(2.0)
    return 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1.0)


def _is_discrete_dtype(x) -> bool:
    arr = _to_numpy(x, "x")
    return arr.dtype.kind in "biuUSO"


def _prepare_knn_input(x, name: str, k: int, noise: float, seed, what: str):
    """Validated, jittered samples divided by ``2**e`` (``e`` = 0 unless at an extreme scale), k, e.

    kNN entropies obey H(a X) = H(X) + d log|a|: the caller adds ``d * e * log 2``.
    """
    X, e = pow2_rescale(as_samples(x, name))
    noise = check_noise(noise)
    if X.shape[1] > 1 and X.shape[0] > 1 and not noise:
        const = np.flatnonzero(np.ptp(X, axis=0) == 0)
        if const.size:
            raise ValueError(
                f"{name} has {const.size} constant column(s) (index {', '.join(map(str, const[:5]))}"
                f"{', ...' if const.size > 5 else ''}): the distribution is degenerate, so its "
                "differential entropy is -inf (a kNN estimate would only see the other columns "
                f"and return a meaningless finite value). Drop the constant columns of {name}"
            )
    arrs, _, k = prepare_continuous({name: X}, k=k, standardize=False, noise=noise, seed=seed, what=what)
    return arrs[name], k, int(e[0])


def _check_zero_radii(X: np.ndarray, rho: np.ndarray, k: int, cheb: bool, name: str) -> None:
    """Raise when a k-th neighbour distance is 0: repeated points, or (Euclidean) an underflow.

    Euclidean distances square coordinate differences: differences below about 1e-154
    of the data's largest magnitude square to 0 in float64 although the points differ.
    The max-norm does not square, so it tells the two cases apart.
    """
    zero = rho <= 0
    n_zero = int(np.count_nonzero(zero))
    if not n_zero:
        return
    if not cheb:
        rho_max = _neighbors.kth_distance(X, k, "chebyshev")
        n_rep = int(np.count_nonzero(rho_max[zero] <= 0))
        if n_rep < n_zero:
            raise ValueError(
                f"{name}: for {n_zero - n_rep} sample(s) the Euclidean distance to the k-th neighbour "
                "underflows to 0 in float64 (coordinate differences below about 1e-154 of the "
                f"largest value of {name}), though the points differ. Its columns span more than "
                "float64 can square: rescale the columns to comparable ranges, or pass "
                "metric='chebyshev' (the max-norm does not square differences)"
            )
    raise _zero_distance_error(n_zero, name)


def _zero_distance_error(n_zero: int, name: str):
    return ValueError(
        f"{name} has repeated points: for {n_zero} sample(s) the k-th neighbour is at distance "
        "0, so the kNN entropy is -inf. Discrete data need method='discrete' (differential "
        "entropy does not apply to them). For continuous data recorded with limited precision, "
        "add jitter at the rounding scale (noise=...) or raise k above the number of repeats"
    )


# ----------------------------------------------------------------------------------------------
# discrete
# ----------------------------------------------------------------------------------------------
@ENTROPY_METHODS.register("discrete", "plugin", "plug_in", "mle", "shannon")
def entropy_discrete(x, *, base=None) -> float:
    r"""Plug-in (maximum-likelihood) Shannon entropy of discrete data.

    .. math:: \hat H = -\sum_{s} \hat p_s \log \hat p_s, \qquad \hat p_s = n_s / N

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_features)
        Symbols: integers, booleans, strings or exactly-comparable floats. Each
        distinct row of a 2-D input is one joint symbol.
    base : float, optional
        Logarithm base of the result; ``None`` (default) gives nats, ``2`` bits.

    Returns
    -------
    float
        Entropy in nats (or in ``base`` units); between 0 and ``log(number of symbols)``.

    Notes
    -----
    The plug-in estimate is biased downwards by about ``(m - 1) / (2N)`` nats for
    ``m`` symbols; see :func:`entropy_miller_madow` for the first-order correction.

    Examples
    --------
    >>> from estimators import entropy_discrete
    >>> entropy_discrete([0, 1, 0, 1], base=2)
    1.0
    >>> round(entropy_discrete(["a", "b", "c", "c"]), 6)
    1.039721
    """
    codes = as_labels(x, "x")
    return to_base(plugin_entropy_counts(counts(codes)), base)


@ENTROPY_METHODS.register("miller_madow", "mm")
def entropy_miller_madow(x, *, base=None) -> float:
    r"""Shannon entropy with the Miller--Madow bias correction.

    .. math:: \hat H_{MM} = \hat H_{plug-in} + \frac{\hat m - 1}{2N}

    where :math:`\hat m` is the number of symbols observed at least once.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_features)
        Symbols (each distinct row of a 2-D input is one joint symbol).
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        Entropy estimate in nats (or ``base`` units). It can exceed ``log m``
        for tiny samples.

    References
    ----------
    G. A. Miller, "Note on the bias of information estimates" (1955).

    Examples
    --------
    >>> from estimators import entropy_miller_madow
    >>> round(entropy_miller_madow([0, 1, 0, 1]), 6)  # ln 2 + 1/8
    0.818147
    """
    codes = as_labels(x, "x")
    c = counts(codes)
    h = plugin_entropy_counts(c) + (c.size - 1) / (2.0 * c.sum())
    return to_base(h, base)


# ----------------------------------------------------------------------------------------------
# differential
# ----------------------------------------------------------------------------------------------
@ENTROPY_METHODS.register("kl", "knn", "kozachenko_leonenko")
def entropy_kl(x, *, k=4, metric="euclidean", noise=0.0, seed=None, base=None) -> float:
    r"""Kozachenko--Leonenko kNN estimate of differential entropy.

    .. math::
        \hat H = \psi(N) - \psi(k) + \log V_d + \frac{d}{N} \sum_{i=1}^N \log \rho_i

    where :math:`\rho_i` is the distance from sample *i* to its *k*-th nearest
    neighbour and :math:`V_d` the volume of the unit ball of the metric
    (:math:`\pi^{d/2}/\Gamma(d/2+1)` for Euclidean, :math:`2^d` for the max-norm).

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_features)
        Continuous samples.
    k : int, default 4
        Neighbour order; larger k lowers variance and raises bias.
    metric : {"euclidean", "chebyshev"}, default "euclidean"
        Norm for neighbour distances (the estimate is consistent under either).
    noise : float, default 0.0
        Relative size of seeded Gaussian jitter added to break ties (e.g. ``1e-10``).
    seed : int or numpy.random.Generator, optional
        Seed for ``noise``.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        Differential entropy in nats (or ``base`` units). It can be negative:
        differential entropy is not bounded below.

    Raises
    ------
    ValueError
        If a k-th neighbour distance is zero (repeated points), where the
        estimate would be ``-inf``; if a column of a multi-column ``x`` is
        constant (differential entropy ``-inf``) and ``noise`` is 0; or if
        Euclidean distances underflow because the columns span more than
        float64 can square (use ``metric="chebyshev"`` or rescale columns).

    Notes
    -----
    Consistent for any fixed k; at fixed N the bias grows with the dimension
    (for standard Gaussians at N = 10^4 it overestimates by about 0.79 nats at
    d = 20 and 2.1 nats at d = 30). Repeated values (discrete data) break the
    estimator: use a discrete method.

    Data at extreme scales (e.g. ``x * 1e155``, whose squared distances would
    overflow, or ``x * 1e-170``, whose would underflow) are divided by a power
    of two first (exact) and the estimate uses :math:`H(aX) = H(X) + d \log|a|`,
    so the result equals ``entropy_kl(x) + d * log(1e155)`` to rounding.

    References
    ----------
    L. F. Kozachenko and N. N. Leonenko, "Sample estimate of the entropy of a
    random vector", Problems Inform. Transmission 23 (1987).
    A. Kraskov, H. Stögbauer, P. Grassberger, Phys. Rev. E 69, 066138 (2004), eq. 20.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import entropy_kl
    >>> x = np.random.default_rng(0).standard_normal((5000, 2))
    >>> round(entropy_kl(x), 2)   # closed form: ln(2 pi e) = 2.84
    2.84
    """
    dev = _torch_neighbors.search_device(x)  # a tensor on an accelerator: search there
    X, k, e = _prepare_knn_input(x, "x", k, noise, seed, "KL entropy")
    cheb = _neighbors._metric(metric)
    return to_base(_kl_prepared(X, k, cheb, e, dev), base)


def _kl_prepared(X: np.ndarray, k: int, cheb: bool, e: int, device=None) -> float:
    """KL entropy (nats) of ``2**e * X`` from prepared samples X (searched in torch on ``device``)."""
    n, d = X.shape
    metric = "chebyshev" if cheb else "euclidean"
    if device is None:
        rho = _neighbors.kth_distance(X, k, metric)
    else:
        rho = _torch_neighbors.kth_distance_np(X, k, metric, device)
    _check_zero_radii(X, rho, k, cheb, "x")
    h = digamma(n) - digamma(k) + _log_unit_ball(d, cheb) + d * float(np.mean(np.log(rho)))
    return float(h + d * e * math.log(2.0)) if e else float(h)


@ENTROPY_METHODS.register("gaussian", "gauss", "normal")
def entropy_gaussian(x, *, bias_correction=False, base=None) -> float:
    r"""Differential entropy of a Gaussian with the sample covariance.

    .. math:: H = \tfrac12 \log\det(2\pi e\,\hat\Sigma)

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_features)
        Samples; need ``n_samples > n_features``.
    bias_correction : bool, default False
        Replace :math:`\log\det\hat\Sigma` by its unbiased estimate under
        Gaussian sampling (Misra et al. 2005; as in Ince et al. 2017).
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        Entropy in nats (or ``base`` units). Exact for Gaussian data up to
        sampling error; for other distributions an upper bound on the true
        differential entropy (the Gaussian maximises entropy at fixed covariance).
        Columns at extreme scales are divided by powers of two before the
        covariance is formed (exact), so ``x * 1e300`` gives
        ``entropy_gaussian(x) + d * log(1e300)`` instead of overflowing.

    References
    ----------
    N. Misra, H. Singh, E. Demchuk, J. Multivar. Anal. 92 (2005) 324--342.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import entropy_gaussian
    >>> x = np.random.default_rng(0).standard_normal((100000, 1))
    >>> round(entropy_gaussian(x), 2)   # 0.5 * ln(2 pi e) = 1.42
    1.42
    """
    X = as_samples(x, "x")
    d = X.shape[1]
    logdet = gaussian_logdet(X, "x", bias_correction)
    return to_base(0.5 * (d * math.log(2.0 * math.pi * math.e) + logdet), base)


def _kde_bandwidth(bandwidth, n: int, d: int) -> float:
    if isinstance(bandwidth, str):
        if bandwidth == "scott":
            return n ** (-1.0 / (d + 4))
        if bandwidth == "silverman":
            return (n * (d + 2) / 4.0) ** (-1.0 / (d + 4))
        raise ValueError(f"bandwidth must be 'scott', 'silverman' or a positive float; got {bandwidth!r}")
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, (int, float, np.floating)):
        raise TypeError(f"bandwidth must be 'scott', 'silverman' or a positive float; got {bandwidth!r}")
    if not (bandwidth > 0 and math.isfinite(bandwidth)):
        raise ValueError(f"bandwidth must be a positive finite number; got {bandwidth}")
    return float(bandwidth)


@ENTROPY_METHODS.register("kde", "kernel")
def entropy_kde(x, *, bandwidth="scott", base=None) -> float:
    r"""Leave-one-out Gaussian kernel density (resubstitution) entropy.

    .. math::
        \hat H = -\frac1N \sum_i \log \hat f_{-i}(x_i), \qquad
        \hat f_{-i}(x) = \frac{1}{N-1} \sum_{j \ne i} \mathcal N(x; x_j, h^2 \hat\Sigma)

    The kernel covariance is :math:`h^2\hat\Sigma` (the data's covariance scaled
    by the bandwidth factor *h*), as in :class:`scipy.stats.gaussian_kde`.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_features)
        Continuous samples.
    bandwidth : {"scott", "silverman"} or float, default "scott"
        Bandwidth factor *h*. Scott's rule :math:`h = N^{-1/(d+4)}`;
        Silverman's :math:`h = (N(d+2)/4)^{-1/(d+4)}`; a float is used as *h*.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        Entropy in nats (or ``base`` units).

    Notes
    -----
    The result depends on the bandwidth: too wide a kernel smooths the density
    and overestimates entropy, and so does too narrow a one (the leave-one-out
    density at each sample becomes small and noisy; h = 0.01 gives 1.70 nats
    for a standard normal whose entropy is 1.42). For
    Gaussian data with Scott's rule the bias is small (about :math:`d h^4/4`
    nats from smoothing). Cost is :math:`O(N^2 d)` time (numba kernel), O(N) memory:
    minutes at N = 10^5 and hours at 10^6, so above 50,000 samples a
    ``UserWarning`` gives the estimated time and points to ``method="kl"``
    (O(N log N)). The sums run in blocks of rows, each a fraction of a second,
    so Ctrl-C interrupts the call promptly.

    References
    ----------
    I. Ahmad and P.-E. Lin, IEEE Trans. Inf. Theory 22 (1976) 372--375.
    D. W. Scott, Multivariate Density Estimation (1992).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import entropy_kde
    >>> x = np.random.default_rng(0).standard_normal((2000, 1))
    >>> round(entropy_kde(x), 1)   # 0.5 * ln(2 pi e) = 1.42
    1.4
    """
    X = as_samples(x, "x")
    n, d = X.shape
    if n < 3:
        raise ValueError(f"x has {n} samples; the KDE entropy needs at least 3")
    h = _kde_bandwidth(bandwidth, n, d)
    warn_undersampled(n, d, "KDE entropy")
    # H(D X) = H(X) + log|det D| for the diagonal power-of-two D (exact): keeps the
    # covariance of data at extreme scales finite and nonzero
    X, e = pow2_rescale(X, per_column=True)
    logdet = gaussian_logdet(X, "x")
    C = np.atleast_2d(np.cov(X, rowvar=False))
    L = np.linalg.cholesky(C)
    U = np.ascontiguousarray(np.linalg.solve(L, (X - X.mean(axis=0)).T).T)
    logsum = _kde_loo_logsum_chunked(U, h)
    if not np.all(np.isfinite(logsum)):
        raise ValueError(
            "the kernel density vanished at some samples (bandwidth far too small for the "
            "spread of the data); use a larger bandwidth"
        )
    log_norm = -0.5 * d * math.log(2.0 * math.pi) - d * math.log(h) - 0.5 * logdet - math.log(n - 1)
    hval = -float(np.mean(logsum + log_norm))
    if e.any():
        hval += math.log(2.0) * float(e.sum())
    return to_base(hval, base)


#: Above this many samples :func:`entropy_kde` warns about its O(N^2) cost.
_KDE_WARN_N = 50_000
#: Pair evaluations (rows x samples x dimensions) per numba call of :func:`entropy_kde`:
#: a fraction of a second each, so that Ctrl-C is seen between calls.
_KDE_CHUNK_WORK = 1 << 25


def _kde_loo_logsum_chunked(U: np.ndarray, h: float) -> np.ndarray:
    """``_kernels.kde_loo_logsum(U, h)``, computed in row chunks from Python.

    Each numba call handles a block of query rows against all samples and lasts a
    fraction of a second, so KeyboardInterrupt is honoured between blocks. The values
    are bit for bit those of the one-call kernel. Above ``_KDE_WARN_N`` samples a
    ``UserWarning`` gives the O(N^2) cost, timed on the first blocks.
    """
    import time

    from . import _kernels

    n, d = U.shape
    rows = int(max(1, min(n, _KDE_CHUNK_WORK // max(1, n * d))))
    starts = range(0, n, rows)
    out = np.empty(n)
    warned = n <= _KDE_WARN_N
    t0 = None
    for b, start in enumerate(starts):
        stop = min(n, start + rows)
        if b == 1:  # time from the second block on (the first may load the compiled kernel)
            t0 = time.perf_counter()
        out[start:stop] = _kernels.kde_loo_logsum_rows(U, h, start, stop)
        if not warned and (b == 2 or stop == n):
            timed = stop - rows  # rows computed since t0
            est = ""
            if t0 is not None and timed > 0:
                est = f" (about {_fmt_seconds((time.perf_counter() - t0) / timed * n)} on this machine)"
            warn(
                f"KDE entropy of {n:,} samples costs O(N^2): {float(n) * n * d:.2g} kernel "
                f"evaluations{est}, and the time grows with the square of N. For large samples "
                "use method='kl' (Kozachenko-Leonenko kNN, O(N log N)) or estimate on a random "
                "subsample; Ctrl-C interrupts this call"
            )
            warned = True
    return out


def _fmt_seconds(t: float) -> str:
    if t < 120:
        return f"{t:.0f} s"
    if t < 7200:
        return f"{t / 60:.0f} min"
    return f"{t / 3600:.1f} h"


# ----------------------------------------------------------------------------------------------
# Rényi and Tsallis
# ----------------------------------------------------------------------------------------------
def _resolve_discrete(x, discrete) -> bool:
    if discrete == "auto":
        return _is_discrete_dtype(x)
    if isinstance(discrete, (bool, np.bool_)):
        return bool(discrete)
    raise ValueError(f"discrete must be True, False or 'auto'; got {discrete!r}")


def _log_power_sum(p: np.ndarray, alpha: float) -> float:
    """``log sum_s p_s**alpha`` for probabilities ``p`` (all > 0, summing to 1), without overflow.

    Near alpha = 1 it is ``log1p(sum_s p_s expm1((alpha - 1) log p_s))``, which keeps
    full relative precision as the sum approaches 1; elsewhere it is the log-sum-exp of
    ``alpha log p_s`` (``p**alpha`` underflows to 0 for alpha of several hundred).
    """
    lp = np.log(p)
    if abs(alpha - 1.0) <= 0.5:
        return math.log1p(float((p * np.expm1((alpha - 1.0) * lp)).sum()))
    a = alpha * lp
    m = float(a.max())
    return m + math.log(float(np.exp(a - m).sum()))


def _renyi_discrete(p: np.ndarray, alpha: float) -> float:
    if alpha == 1.0:
        return shannon(p)
    if alpha == 0.0:
        return math.log(p.size)
    if math.isinf(alpha):
        return -math.log(p.max())
    return _log_power_sum(p, alpha) / (1.0 - alpha)


def _lps_log_moment(X: np.ndarray, k: int, q: float, e: int) -> float:
    """log of the Leonenko--Pronzato--Savani estimate of  I_q = integral f^q  (q != 1)
    for the samples ``2**e * X``."""
    n, d = X.shape
    if not q < k + 1:
        raise ValueError(
            f"alpha={q} needs k > alpha - 1 for the kNN estimator (got k={k}); raise k"
        )
    rho = _neighbors.kth_distance(X, k, "euclidean")
    _check_zero_radii(X, rho, k, False, "x")
    # log zeta_i = log(n-1) + log C_k + log V_d + d log rho_i, C_k = [G(k)/G(k+1-q)]^(1/(1-q))
    log_ck = (gammaln(k) - gammaln(k + 1 - q)) / (1.0 - q)
    log_rho = np.log(rho) + e * math.log(2.0) if e else np.log(rho)
    log_zeta = math.log(n - 1) + log_ck + _log_unit_ball(d, False) + d * log_rho
    a = (1.0 - q) * log_zeta
    m = float(a.max())
    return m + math.log(float(np.mean(np.exp(a - m))))  # log mean of zeta^(1-q), overflow-safe


def _entropy_family(x, alpha, discrete, k, noise, seed, kind):
    alpha = check_alpha(alpha)
    if _resolve_discrete(x, discrete):
        codes = as_labels(x, "x")
        p = counts(codes) / codes.size
        if kind == "renyi":
            return _renyi_discrete(p, alpha)
        if alpha == 1.0:
            return _renyi_discrete(p, 1.0)
        if math.isinf(alpha):
            return 0.0  # sum p^q -> 0 (or 1 for a single symbol): the limit is 0
        if abs(alpha - 1.0) <= 0.5:  # 1 - sum p^q = -sum p expm1((q-1) log p), without cancellation
            return float(-(p * np.expm1((alpha - 1.0) * np.log(p))).sum() / (alpha - 1.0))
        return float((1.0 - (p**alpha).sum()) / (alpha - 1.0))
    X, k, e = _prepare_knn_input(x, "x", k, noise, seed, f"kNN {kind} entropy")
    if alpha == 1.0:
        return _kl_prepared(X, k, False, e)
    if math.isinf(alpha) or alpha == 0.0:
        raise ValueError(f"the kNN {kind} estimator needs 0 < alpha < k + 1; got alpha={alpha}")
    log_moment = _lps_log_moment(X, k, alpha, e)
    if kind == "renyi":
        return log_moment / (1.0 - alpha)
    if log_moment > 709.0:
        raise ValueError(
            f"the Tsallis entropy of order {alpha} of x is about -exp({log_moment:.0f}) / "
            f"{alpha - 1.0:g}, beyond the float64 range: x is at an extreme scale, and unlike "
            "the Rényi entropy (which shifts by d log a when x is multiplied by a) the Tsallis "
            "entropy grows like a power of the scale. Rescale x, or use entropy_renyi"
        )
    return float(-math.expm1(log_moment) / (alpha - 1.0))


@ENTROPY_METHODS.register("renyi")
def entropy_renyi(x, alpha=2.0, *, discrete="auto", k=4, noise=0.0, seed=None, base=None) -> float:
    r"""Rényi entropy of order ``alpha``, discrete (plug-in) or continuous (kNN).

    .. math:: H_\alpha = \frac{1}{1-\alpha} \log \sum_s p_s^\alpha
              \quad\text{or}\quad \frac{1}{1-\alpha} \log \int f^\alpha

    Discrete data use the plug-in probabilities (``alpha=0`` gives the log of
    the support size, ``alpha=inf`` the min-entropy ``-log max p``); the sum
    is computed in log space, so any finite ``alpha`` (e.g. 1e4) works and
    approaches the min-entropy. Continuous
    data use the Leonenko--Pronzato--Savani kNN estimator of
    :math:`I_\alpha=\int f^\alpha`:

    .. math:: \hat I_\alpha = \frac1N\sum_i \zeta_i^{1-\alpha},\quad
              \zeta_i = (N-1)\,C_k\,V_d\,\rho_i^d,\quad
              C_k = \left[\frac{\Gamma(k)}{\Gamma(k+1-\alpha)}\right]^{1/(1-\alpha)}

    valid for :math:`0 < \alpha < k+1`; ``alpha=1`` gives the Shannon entropy
    (:func:`entropy_discrete` or :func:`entropy_kl`). Its variance is finite
    only for :math:`k > 2(\alpha - 1)`: raise ``k`` for large orders (k = 10
    for alpha = 3), or the estimate is dominated by the closest pairs.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_features)
        Symbols or continuous samples.
    alpha : float, default 2.0
        Order, ``>= 0``.
    discrete : {"auto", True, False}, default "auto"
        Treat ``x`` as symbols? ``"auto"``: yes for integer, boolean and
        string dtypes, no for floats.
    k : int, default 4
        Neighbour order of the kNN estimator.
    noise, seed
        Seeded jitter against ties (kNN only), as in :func:`entropy_kl`.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        Rényi entropy in nats (or ``base`` units); non-increasing in ``alpha``.

    References
    ----------
    N. Leonenko, L. Pronzato, V. Savani, "A class of Rényi information
    estimators for multidimensional densities", Ann. Statist. 36 (2008) 2153--2182.

    Examples
    --------
    >>> from estimators import entropy_renyi
    >>> round(entropy_renyi([0, 0, 1, 2], alpha=2), 6)   # -ln(0.25 + 0.0625 + 0.0625)
    0.980829
    """
    return to_base(_entropy_family(x, alpha, discrete, k, noise, seed, "renyi"), base)


@ENTROPY_METHODS.register("tsallis")
def entropy_tsallis(x, alpha=2.0, *, discrete="auto", k=4, noise=0.0, seed=None, base=None) -> float:
    r"""Tsallis entropy of order ``alpha`` (the entropic index *q*).

    .. math:: S_q = \frac{1 - \sum_s p_s^q}{q - 1}
              \quad\text{or}\quad \frac{1 - \int f^q}{q-1}

    Estimated like :func:`entropy_renyi` (plug-in for symbols, the
    Leonenko--Pronzato--Savani kNN moment for continuous data).

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_features)
        Symbols or continuous samples.
    alpha : float, default 2.0
        Entropic index *q* ``>= 0``; ``q = 1`` gives the Shannon entropy.
    discrete, k, noise, seed
        As in :func:`entropy_renyi`.
    base : float, optional
        Tsallis entropy is not logarithmic; ``base`` multiplies it by
        ``1/ln(base)`` (the constant *k* of Tsallis' definition), which keeps the
        ``q -> 1`` limit equal to the Shannon entropy in that base.

    Returns
    -------
    float
        Tsallis entropy (nats-scaled unless ``base`` is given).

    References
    ----------
    C. Tsallis, J. Stat. Phys. 52 (1988) 479--487; Leonenko et al. (2008).

    Examples
    --------
    >>> from estimators import entropy_tsallis
    >>> entropy_tsallis([0, 0, 1, 1], alpha=2)   # 1 - (0.25 + 0.25)
    0.5
    """
    return to_base(_entropy_family(x, alpha, discrete, k, noise, seed, "tsallis"), base)


def entropy(x, method="kl", *, base=None, **kwargs) -> float:
    r"""Entropy of a sample, in nats by default.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_features)
        Samples along axis 0: a list, NumPy array or torch tensor.
    method : str or callable, default "kl"
        ``"discrete"`` (plug-in), ``"miller_madow"``, ``"kl"``
        (Kozachenko--Leonenko kNN), ``"gaussian"``, ``"kde"``, ``"renyi"``,
        ``"tsallis"``; or a callable ``f(x, base=..., **kwargs)``.
    base : float, optional
        Logarithm base: ``None`` (nats), ``2`` (bits), ``10`` (hartleys).
    **kwargs
        Passed to the method (e.g. ``k=`` for ``"kl"``, ``alpha=`` for ``"renyi"``).

    Returns
    -------
    float
        The entropy estimate.

    Choosing a method
    -----------------
    * Symbols (labels, tokens, bins): ``"discrete"``; with many symbols
      relative to samples, ``"miller_madow"`` removes the first-order bias.
    * Continuous data, any distribution: ``"kl"`` (k=4). Low variance, biased
      in high dimensions; fails on repeated values (use ``noise=``).
    * Continuous data believed Gaussian, or an upper bound for any data with
      that covariance: ``"gaussian"`` (fast, exact for Gaussians).
    * Smooth low-dimensional densities: ``"kde"`` (bandwidth-dependent, O(N^2)).
    * Generalised entropies: ``"renyi"`` / ``"tsallis"`` with ``alpha=``.

    See Also
    --------
    entropy_discrete, entropy_miller_madow, entropy_kl, entropy_gaussian,
    entropy_kde, entropy_renyi, entropy_tsallis

    Examples
    --------
    >>> from estimators import entropy
    >>> entropy([0, 1, 2, 3], method="discrete", base=2)
    2.0
    """
    return ENTROPY_METHODS.call(method, x, base=base, **kwargs)
