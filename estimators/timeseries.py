r"""Time-series information measures.

* Permutation entropy (Bandt--Pompe 2002), weighted (Fadlallah et al. 2013)
  and multiscale (Costa et al. 2002; Aziz and Arif 2005), and the count of
  missing ("forbidden") ordinal patterns.
* Statistical complexity (Rosso et al. 2007) and the bounds of the
  complexity--entropy plane (Martin, Plastino and Rosso 2006).
* Transfer entropy (Schreiber 2000), conditional transfer entropy and active
  information storage (Lizier et al. 2012), each computed as the conditional
  mutual information (or mutual information) it is defined as, on the delay
  embedding, with the estimators of :mod:`estimators.mutual_info`.
* A surrogate significance test for transfer entropy and mutual information.

Every estimator returns nats unless ``base`` is given (``base=2`` gives bits).

Conventions specific to this module
-----------------------------------
* Ordinal measures (permutation entropy, statistical complexity, missing
  patterns): a 1-D input is one series and gives a float; a 2-D input holds
  **one series per row** (shape ``(n_series, n_times)``) and gives one value
  per row, computed in one numba pass.
* Transfer entropy and active information storage follow the library-wide
  convention: samples (time) along axis 0, so a 2-D ``source`` of shape
  ``(n_times, d)`` is one d-dimensional series.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import warnings
from collections import namedtuple

import numpy as np

from . import _ordinal
from ._registry import MethodRegistry
from ._validation import (
    _is_torch_tensor,
    _to_numpy,
    add_noise,
    as_labels,
    as_samples,
    check_k,
    check_noise,
    check_positive_int,
    check_rng,
    check_same_n,
    compact_codes,
    log_base,
    pair_codes,
    standardize_columns,
    to_base,
    warn,
    warn_undersampled,
    pow2_rescale,
)
from . import _neighbors
from ._discrete import check_correction, h_codes
from ._neighbors import RepeatedPointsError
from .mutual_info import MI_METHODS, cmi_gaussian, mutual_information

__all__ = [
    "permutation_entropy",
    "multiscale_permutation_entropy",
    "missing_patterns",
    "statistical_complexity",
    "complexity_entropy_bounds",
    "transfer_entropy",
    "te_ksg",
    "te_gaussian",
    "te_discrete",
    "te_ordinal",
    "active_information_storage",
    "surrogate_test",
    "TE_METHODS",
    "ComplexityEntropy",
    "ComplexityEntropyBounds",
    "MultiscaleEntropy",
    "SurrogateResult",
]

#: Method names and aliases of :func:`transfer_entropy`
#: (``TE_METHODS.names``, ``TE_METHODS.aliases``).
#:
#: :meta hide-value:
TE_METHODS = MethodRegistry("transfer_entropy")

ComplexityEntropy = namedtuple("ComplexityEntropy", ["entropy", "complexity"])
ComplexityEntropy.__doc__ = """Normalised permutation entropy and Jensen--Shannon statistical complexity."""

ComplexityEntropyBounds = namedtuple(
    "ComplexityEntropyBounds", ["min_entropy", "min_complexity", "max_entropy", "max_complexity"]
)
ComplexityEntropyBounds.__doc__ = """The lower and upper curves of the complexity--entropy plane.

Each field is a 1-D array; ``(min_entropy, min_complexity)`` traces the lower
curve and ``(max_entropy, max_complexity)`` the upper one, both with entropy
increasing from 0 to 1."""

MultiscaleEntropy = namedtuple("MultiscaleEntropy", ["scales", "entropy"])
MultiscaleEntropy.__doc__ = """Scales (int array) and the permutation entropy at each scale."""

SurrogateResult = namedtuple(
    "SurrogateResult", ["estimate", "p_value", "surrogate_mean", "surrogate_std", "effective"]
)
SurrogateResult.__doc__ = """Result of :func:`surrogate_test`.

estimate : the measure on the original data.
p_value : (1 + #{surrogates >= estimate}) / (1 + n_surrogates).
surrogate_mean, surrogate_std : mean and standard deviation (ddof=1) of the surrogates.
effective : estimate - surrogate_mean, the bias-corrected ("effective") value."""

# Above this many (rows x patterns) cells the pattern counts of all rows are not held in one
# dense histogram; each row is counted with np.unique instead.
_DENSE_CELLS = 1 << 22
# A window share with ties above this triggers a warning.
_TIE_WARN = 0.05
# Rule of thumb: at least this many windows per possible pattern.
_WINDOWS_PER_PATTERN = 5


# ----------------------------------------------------------------------------------------------
# ordinal patterns: validation and counting
# ----------------------------------------------------------------------------------------------
def _as_series(x, name: str = "x"):
    """Return ``x`` as float64 (n_series, n_times) and whether it was 1-D."""
    arr = _to_numpy(x, name)
    one_d = arr.ndim == 1
    S = as_samples(arr, name)
    if one_d:
        S = np.ascontiguousarray(S.T)
    return S, one_d


def _check_order(order, name: str = "order") -> int:
    order = check_positive_int(order, name, minimum=2)
    if order > _ordinal.MAX_ORDER:
        raise ValueError(
            f"{name} must be between 2 and {_ordinal.MAX_ORDER} ({_ordinal.MAX_ORDER}! is the largest "
            f"pattern count that fits in 64-bit codes); got {order}. Orders above 7 need "
            "more than 5 * order! (over 200,000) windows and are rarely meaningful"
        )
    return order


def _check_length(n_times: int, order: int, delay: int, name: str, one_d: bool) -> int:
    span = (order - 1) * delay + 1
    if n_times < span:
        hint = (
            ""
            if one_d
            else f" A 2-D {name} holds one series per row; if {name} is one series stored as "
            f"a column, pass {name}.ravel()."
        )
        raise ValueError(
            f"{name} has {n_times} values per series, but order={order} and delay={delay} need "
            f"windows of {span} values; pass a longer series or lower order or delay.{hint}"
        )
    return n_times - span + 1


def _warn_ordinal(tied: np.ndarray, n_windows: int, order: int, what: str):
    """Warnings shared by the ordinal measures: many tied windows, too few windows per pattern."""
    share = float(np.max(tied)) / n_windows
    if share > _TIE_WARN:
        warn(
            f"{what}: {100 * share:.1f}% of the windows contain equal values. Ties are ordered by "
            "position (the earlier value counts as smaller, as ordpy and antropy do), which "
            "over-counts the increasing patterns and biases the entropy downwards. For discrete or "
            "rounded data, add small seeded noise or use a discrete entropy instead")
    n_pat = math.factorial(order)
    if n_windows < _WINDOWS_PER_PATTERN * n_pat:
        warn(
            f"{what}: {n_windows} windows for {n_pat} possible patterns (order={order}); with fewer "
            f"than {_WINDOWS_PER_PATTERN} windows per pattern the plug-in entropy is biased "
            "downwards and patterns go missing by chance alone. Lower the order or use a "
            "longer series")


def _ordinal_probs(S: np.ndarray, order: int, delay: int, weighted: bool, name: str = "x"):
    """Pattern distribution of every row of ``S`` in sparse (row, probability) form.

    Returns ``(rows, p, n_windows, tied)``: ``p[i]`` is the (weighted) relative
    frequency of one observed pattern of row ``rows[i]``; zero-probability
    patterns are left out.
    """
    r = S.shape[0]
    n_pat = math.factorial(order)
    dense = r * n_pat <= _DENSE_CELLS
    if weighted:
        # Window variances of series beyond about 1e154 overflow and below 1e-154 underflow;
        # dividing each series by a power of two (exact) leaves the patterns and the
        # normalised weights unchanged.
        S = np.ascontiguousarray(pow2_rescale(S.T, per_column=True)[0].T)
    codes, weights, tied = _ordinal.ordinal_codes(
        S, order, delay, weighted, _ordinal.BLOCK, n_pat if dense else 0
    )
    n_windows = codes.shape[1]
    if dense:  # codes of row i are offset by i * order!: one bincount counts every row
        hist = np.bincount(
            codes.reshape(-1), weights=weights.reshape(-1) if weighted else None, minlength=r * n_pat
        )
        hist = hist.reshape(r, n_pat)
        totals = hist.sum(axis=1)
        rows, cols = np.nonzero(hist)
        vals = hist[rows, cols].astype(np.float64)
    else:
        rows_l, vals_l, totals = [], [], np.empty(r)
        for i in range(r):
            uniq, inv = np.unique(codes[i], return_inverse=True)
            c = np.bincount(inv.reshape(-1), weights=weights[i] if weighted else None).astype(np.float64)
            keep = c > 0
            rows_l.append(np.full(int(keep.sum()), i))
            vals_l.append(c[keep])
            totals[i] = c.sum()
        rows, vals = np.concatenate(rows_l), np.concatenate(vals_l)
    if weighted and np.any(totals <= 0):
        bad = int(np.flatnonzero(totals <= 0)[0])
        where = "" if r == 1 else f" (row {bad})"
        raise ValueError(
            f"{name}{where} is constant over every window: all window variances are zero, so the "
            "weighted permutation entropy is 0/0. Drop constant series or use weighted=False"
        )
    return rows, vals / totals[rows], n_windows, tied


def _row_sum(rows: np.ndarray, values: np.ndarray, r: int) -> np.ndarray:
    return np.bincount(rows, weights=values, minlength=r)


def _shannon_rows(rows, p, r) -> np.ndarray:
    return _row_sum(rows, -p * np.log(p), r) + 0.0  # + 0.0 turns -0.0 into 0.0


def _out(values: np.ndarray, one_d: bool):
    return float(values[0]) if one_d else values


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


# ----------------------------------------------------------------------------------------------
# permutation entropy
# ----------------------------------------------------------------------------------------------
def permutation_entropy(x, order=3, delay=1, *, normalize=False, weighted=False, base=None):
    r"""Permutation entropy (Bandt--Pompe) of a series, or of each row of a 2-D array.

    Each window :math:`(x_t, x_{t+\tau}, \dots, x_{t+(m-1)\tau})` of ``order``
    :math:`m` values spaced ``delay`` :math:`\tau` apart is replaced by its
    ordinal pattern :math:`\pi` (the permutation that sorts it), and

    .. math:: \mathrm{PE} = -\sum_{\pi} p(\pi) \log p(\pi),
              \qquad 0 \le \mathrm{PE} \le \log m!

    with :math:`p(\pi)` the share of windows with pattern :math:`\pi`. The
    weighted variant (Fadlallah et al. 2013) weights each window by its variance
    :math:`w_t = \frac1m\sum_i (x_{t+i\tau} - \bar x_t)^2`, so that
    :math:`p_w(\pi) = \sum_{t:\pi_t=\pi} w_t / \sum_t w_t`; it discounts
    patterns formed by small fluctuations (noise) around flat stretches.

    Parameters
    ----------
    x : array-like of shape (n_times,) or (n_series, n_times)
        One series, or **one series per row** (unlike the estimators of i.i.d.
        samples, whose rows are samples). Lists, NumPy arrays or torch tensors.
    order : int, default 3
        Embedding dimension :math:`m` (pattern length), 2 to 20. There are
        :math:`m!` patterns; use at least :math:`5\,m!` windows.
    delay : int, default 1
        Spacing :math:`\tau` of the values in a window.
    normalize : bool, default False
        Divide by :math:`\log m!` so that the result lies in [0, 1] (``base``
        is then irrelevant).
    weighted : bool, default False
        Weighted permutation entropy (window variances as weights).
    base : float, optional
        Logarithm base; ``None`` gives nats, ``2`` bits.

    Returns
    -------
    float or ndarray of shape (n_series,)
        PE in nats (or ``base`` units, or normalised). A float for 1-D input.

    Raises
    ------
    ValueError
        If a series is shorter than one window, or (weighted) is constant.

    Notes
    -----
    *Ties.* Equal values inside a window are ordered by position: the earlier
    one counts as smaller, which is the stable argsort used by ordpy and
    antropy. Ties therefore inflate the increasing patterns and lower PE;
    a ``UserWarning`` is issued when more than 5% of the windows contain ties.

    *Bias.* The plug-in estimate is biased downwards, by about
    :math:`(m! - 1)/(2N)` nats for :math:`N` windows when all patterns occur;
    a ``UserWarning`` is issued below :math:`5\,m!` windows.

    *Implementation.* One parallel numba pass over all rows encodes each window
    as the Lehmer code of its rank vector, without sorting: consecutive windows
    share ``order - 1`` values, so each new window costs ``order - 1``
    comparisons and (up to order 8) one lookup in a precomputed transition
    table. The codes are counted with ``numpy.bincount``. At N = 10^6 and
    order 6 this ran 3.5--5.7 times faster than antropy on a 2-core machine
    (``docs/benchmarks_timeseries.md``).

    References
    ----------
    C. Bandt and B. Pompe, "Permutation entropy: a natural complexity measure
    for time series", Phys. Rev. Lett. 88, 174102 (2002).
    B. Fadlallah, B. Chen, A. Keil, J. Príncipe, "Weighted-permutation entropy:
    a complexity measure for time series incorporating amplitude information",
    Phys. Rev. E 87, 022911 (2013).

    See Also
    --------
    multiscale_permutation_entropy, statistical_complexity, missing_patterns

    Examples
    --------
    The series of Bandt and Pompe's paper has four increasing and two
    decreasing pairs:

    >>> import warnings
    >>> from estimators.timeseries import permutation_entropy
    >>> x = [4, 7, 9, 10, 6, 11, 3]
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")   # 6 windows: too few, and a warning says so
    ...     h = permutation_entropy(x, order=2, normalize=True)
    ...     hw = permutation_entropy(x, order=2, weighted=True, base=2)
    >>> round(h, 6), round(hw, 6)
    (0.918296, 0.912591)

    White noise is close to the maximum, one value per row of a 2-D input:

    >>> import numpy as np
    >>> rows = np.random.default_rng(0).standard_normal((2, 10000))
    >>> permutation_entropy(rows, order=3, normalize=True).round(3)
    array([1., 1.])
    """
    S, one_d = _as_series(x, "x")
    order = _check_order(order)
    delay = check_positive_int(delay, "delay")
    normalize = _check_bool(normalize, "normalize")
    weighted = _check_bool(weighted, "weighted")
    scale = log_base(base)
    n_windows = _check_length(S.shape[1], order, delay, "x", one_d)
    rows, p, _, tied = _ordinal_probs(S, order, delay, weighted, "x")
    _warn_ordinal(tied, n_windows, order, "permutation entropy")
    h = _shannon_rows(rows, p, S.shape[0])
    h = h / math.log(math.factorial(order)) if normalize else h / scale
    return _out(h, one_d)


def missing_patterns(x, order=3, delay=1):
    r"""Number of ordinal patterns that never occur ("forbidden" patterns).

    Deterministic dynamics cannot produce some orderings at all: the logistic
    map at r = 4 never shows the pattern (2, 1, 0) of a strictly decreasing
    triple (Amigó et al. 2007), whereas white noise eventually shows all
    :math:`m!` patterns. Counts are meaningful only when the number of windows
    is well above :math:`m!` (a ``UserWarning`` says when it is not), because
    short series miss patterns by chance.

    Parameters
    ----------
    x : array-like of shape (n_times,) or (n_series, n_times)
        One series, or one series per row.
    order : int, default 3
        Pattern length :math:`m`.
    delay : int, default 1
        Spacing of the values in a window.

    Returns
    -------
    int or ndarray of shape (n_series,)
        :math:`m!` minus the number of distinct patterns observed.

    References
    ----------
    J. M. Amigó, S. Zambrano, M. A. F. Sanjuán, "True and false forbidden
    patterns in deterministic and random dynamics", Europhys. Lett. 79, 50001 (2007).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.timeseries import missing_patterns
    >>> x = np.empty(5000); x[0] = 0.4
    >>> for t in range(1, 5000):
    ...     x[t] = 4 * x[t - 1] * (1 - x[t - 1])
    >>> missing_patterns(x, order=3)
    1
    >>> missing_patterns(np.random.default_rng(0).standard_normal(5000), order=3)
    0
    """
    S, one_d = _as_series(x, "x")
    order = _check_order(order)
    delay = check_positive_int(delay, "delay")
    n_windows = _check_length(S.shape[1], order, delay, "x", one_d)
    rows, _, _, tied = _ordinal_probs(S, order, delay, False, "x")
    _warn_ordinal(tied, n_windows, order, "missing patterns")
    missing = math.factorial(order) - np.bincount(rows, minlength=S.shape[0]).astype(np.int64)
    return int(missing[0]) if one_d else missing


def multiscale_permutation_entropy(
    x, order=3, delay=1, *, scales=10, normalize=False, weighted=False, base=None
):
    r"""Permutation entropy of coarse-grained copies of a series (multiscale PE).

    At scale *s* the series is replaced by the means of consecutive,
    non-overlapping blocks of *s* values (Costa et al. 2002),

    .. math:: y^{(s)}_j = \frac1s \sum_{i=(j-1)s+1}^{js} x_i, \qquad j = 1, \dots, \lfloor N/s \rfloor,

    and :func:`permutation_entropy` is computed on each (Aziz and Arif 2005).

    Parameters
    ----------
    x : array-like of shape (n_times,) or (n_series, n_times)
        One series, or one series per row.
    order, delay : int
        As in :func:`permutation_entropy`.
    scales : int or sequence of int, default 10
        An int *S* means scales 1, ..., *S*; or the scales themselves.
    normalize, weighted, base
        As in :func:`permutation_entropy`.

    Returns
    -------
    MultiscaleEntropy
        Named tuple ``(scales, entropy)``: an int array of the scales and the
        entropies, of shape ``(n_scales,)`` for 1-D input or
        ``(n_series, n_scales)`` for 2-D input.

    Notes
    -----
    The coarse-grained series has :math:`\lfloor N/s\rfloor` values, so the
    downward bias of PE grows with the scale (a ``UserWarning`` says when a
    scale has fewer than 5 windows per possible pattern).

    References
    ----------
    M. Costa, A. L. Goldberger, C.-K. Peng, "Multiscale entropy analysis of
    complex physiologic time series", Phys. Rev. Lett. 89, 068102 (2002).
    W. Aziz and M. Arif, "Multiscale permutation entropy of physiological time
    series", IEEE INMIC (2005).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.timeseries import multiscale_permutation_entropy
    >>> x = np.random.default_rng(0).standard_normal(30000)
    >>> res = multiscale_permutation_entropy(x, order=3, scales=3, normalize=True)
    >>> res.scales
    array([1, 2, 3])
    >>> res.entropy.round(2)     # block means of white noise are white noise
    array([1., 1., 1.])
    """
    S, one_d = _as_series(x, "x")
    order = _check_order(order)
    delay = check_positive_int(delay, "delay")
    normalize = _check_bool(normalize, "normalize")
    weighted = _check_bool(weighted, "weighted")
    unit = log_base(base)
    if isinstance(scales, numbers.Integral) and not isinstance(scales, bool):
        scale_list = np.arange(1, check_positive_int(scales, "scales") + 1)
    else:
        try:
            scale_list = np.asarray(list(scales))
        except TypeError:
            raise TypeError(
                f"scales must be a positive int or a sequence of positive ints; got {scales!r}"
            ) from None
        if scale_list.size == 0:
            raise ValueError("scales is empty; pass a positive int or a non-empty sequence of positive ints")
        for s in scale_list.tolist():
            check_positive_int(s, "every scale")
        scale_list = scale_list.astype(np.int64)
    out = np.empty((S.shape[0], scale_list.size))
    for j, s in enumerate(scale_list.tolist()):
        C = S if s == 1 else _ordinal.coarse_grain(S, s)
        if C.shape[1] < (order - 1) * delay + 1:
            raise ValueError(
                f"scale {s} leaves {C.shape[1]} values per series, fewer than one window of "
                f"order={order} and delay={delay}; use smaller scales or a longer series"
            )
        n_windows = C.shape[1] - (order - 1) * delay
        rows, p, _, tied = _ordinal_probs(C, order, delay, weighted, f"x at scale {s}")
        _warn_ordinal(tied, n_windows, order, f"multiscale permutation entropy (scale {s})")
        h = _shannon_rows(rows, p, S.shape[0])
        out[:, j] = h / math.log(math.factorial(order)) if normalize else h / unit
    return MultiscaleEntropy(scale_list, out[0] if one_d else out)


# ----------------------------------------------------------------------------------------------
# statistical complexity
# ----------------------------------------------------------------------------------------------
def _js_max(n: int) -> float:
    """Largest Jensen--Shannon divergence from the uniform over n states (a delta distribution)."""
    return -0.5 * (((n + 1.0) / n) * math.log(n + 1.0) + math.log(n) - 2.0 * math.log(2.0 * n))


def _xlogx(p):
    p = np.asarray(p, dtype=np.float64)
    return np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)


def _complexity_from_probs(rows, p, r, n):
    """Normalised entropy and complexity of r distributions over n states given sparse probabilities."""
    s_p = _shannon_rows(rows, p, r)
    n_obs = np.bincount(rows, minlength=r)
    u = 1.0 / n
    q = 0.5 * (p + u)
    s_mix = _row_sum(rows, -q * np.log(q), r) + (n - n_obs) * (-0.5 * u * math.log(0.5 * u))
    js = np.maximum(s_mix - 0.5 * s_p - 0.5 * math.log(n), 0.0)
    h = s_p / math.log(n)
    return h, h * js / _js_max(n)


def statistical_complexity(x, order=3, delay=1, *, weighted=False):
    r"""Normalised permutation entropy and Jensen--Shannon statistical complexity.

    With :math:`P` the ordinal-pattern distribution (see
    :func:`permutation_entropy`), :math:`U` the uniform distribution over all
    :math:`n = m!` patterns (patterns that never occur count as zeros) and
    :math:`S` the Shannon entropy,

    .. math::
        H = \frac{S(P)}{\ln n}, \qquad
        C = H \, \frac{\mathrm{JS}(P, U)}{\mathrm{JS}_{\max}}, \qquad
        \mathrm{JS}(P, U) = S\!\left(\tfrac{P+U}{2}\right) - \tfrac12 S(P) - \tfrac12 S(U),

    .. math::
        \mathrm{JS}_{\max} = -\tfrac12\left[\tfrac{n+1}{n}\ln(n+1) + \ln n - 2\ln(2n)\right]

    (Rosso et al. 2007). Both lie in [0, 1]. Regular (periodic) series sit at
    low H, white noise at H near 1 with C near 0, and chaotic series at
    intermediate H with C near the upper curve of
    :func:`complexity_entropy_bounds`.

    Parameters
    ----------
    x : array-like of shape (n_times,) or (n_series, n_times)
        One series, or one series per row.
    order : int, default 3
        Pattern length :math:`m`.
    delay : int, default 1
        Spacing of the values in a window.
    weighted : bool, default False
        Use the weighted pattern distribution (Fadlallah et al. 2013).

    Returns
    -------
    ComplexityEntropy
        Named tuple ``(entropy, complexity)``: floats for 1-D input, arrays of
        shape ``(n_series,)`` for 2-D input.

    Notes
    -----
    Ties and short series bias H and C as described in
    :func:`permutation_entropy` (with the same warnings).

    References
    ----------
    O. A. Rosso, H. A. Larrondo, M. T. Martin, A. Plastino, M. A. Fuentes,
    "Distinguishing noise from chaos", Phys. Rev. Lett. 99, 154102 (2007).

    Examples
    --------
    >>> import warnings
    >>> from estimators.timeseries import statistical_complexity
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")   # a 7-value series is far too short; fine here
    ...     h, c = statistical_complexity([4, 7, 9, 10, 6, 11, 3], order=2)
    >>> round(h, 6), round(c, 6)
    (0.918296, 0.061128)

    The logistic map at r = 4 is chaotic: intermediate entropy, high complexity.

    >>> import numpy as np
    >>> x = np.empty(20000); x[0] = 0.4
    >>> for t in range(1, 20000):
    ...     x[t] = 4 * x[t - 1] * (1 - x[t - 1])
    >>> h, c = statistical_complexity(x, order=4)
    >>> round(h, 2), round(c, 2)
    (0.74, 0.29)
    """
    S, one_d = _as_series(x, "x")
    order = _check_order(order)
    delay = check_positive_int(delay, "delay")
    weighted = _check_bool(weighted, "weighted")
    n_windows = _check_length(S.shape[1], order, delay, "x", one_d)
    rows, p, _, tied = _ordinal_probs(S, order, delay, weighted, "x")
    _warn_ordinal(tied, n_windows, order, "statistical complexity")
    h, c = _complexity_from_probs(rows, p, S.shape[0], math.factorial(order))
    if one_d:
        return ComplexityEntropy(float(h[0]), float(c[0]))
    return ComplexityEntropy(h, c)


def _family_hc(p, a, b, n):
    """H and C of distributions with ``a`` entries p, ``b`` entries q = (1 - a p)/b, the rest 0.

    Vectorised over the arrays ``p``, ``a``, ``b``.
    """
    p = np.asarray(p, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    q = np.where(b > 0, (1.0 - a * p) / np.where(b > 0, b, 1.0), 0.0)
    q = np.maximum(q, 0.0)
    zeros = n - a - b
    u = 1.0 / n
    s_p = -(a * _xlogx(p) + b * _xlogx(q))
    s_mix = -(a * _xlogx(0.5 * (p + u)) + b * _xlogx(0.5 * (q + u)) + zeros * _xlogx(0.5 * u))
    js = np.maximum(s_mix - 0.5 * s_p - 0.5 * math.log(n), 0.0)
    h = np.clip(s_p / math.log(n), 0.0, 1.0)
    return h, h * js / _js_max(n)


def complexity_entropy_bounds(order=3, *, n_points=200):
    r"""The minimum and maximum complexity curves of the complexity--entropy plane.

    For :math:`n = m!` patterns, every distribution's point
    :math:`(H, C)` (see :func:`statistical_complexity`) lies between two curves
    (Martin, Plastino and Rosso 2006):

    * lower curve: one pattern with probability :math:`p \in [1/n, 1]`, the
      other :math:`n-1` sharing :math:`1-p` equally;
    * upper curve: for :math:`k = 2, \dots, n`, distributions with
      :math:`n-k` zeros, one entry :math:`p \in [0, 1/k]` and :math:`k-1`
      entries :math:`(1-p)/(k-1)`.

    Plot both with the points of several series to read them as regular
    (low H), chaotic (intermediate H, near the upper curve) or stochastic
    (H near 1, C near 0).

    Parameters
    ----------
    order : int, default 3
        Pattern length :math:`m`, 2 to 8 (the upper curve has :math:`m! - 1`
        pieces).
    n_points : int, default 200
        Points on the lower curve; the upper curve gets at least this many
        (at least two per piece).

    Returns
    -------
    ComplexityEntropyBounds
        Named tuple ``(min_entropy, min_complexity, max_entropy,
        max_complexity)`` of 1-D arrays, entropy increasing from 0 to 1.

    References
    ----------
    M. T. Martin, A. Plastino, O. A. Rosso, "Generalized statistical complexity
    measures: geometrical and analytical properties", Physica A 369, 439--462 (2006).

    Examples
    --------
    >>> from estimators.timeseries import complexity_entropy_bounds
    >>> b = complexity_entropy_bounds(order=3)
    >>> float(b.min_entropy[0]), float(b.min_entropy[-1]), float(b.max_entropy[-1])
    (0.0, 1.0, 1.0)
    >>> round(float(b.max_complexity.max()), 4) >= round(float(b.min_complexity.max()), 4)
    True
    """
    order = check_positive_int(order, "order", minimum=2)
    if order > 8:
        raise ValueError(
            f"order must be between 2 and 8 for the complexity-entropy bounds (the upper curve has "
            f"order! - 1 pieces); got {order}"
        )
    n_points = check_positive_int(n_points, "n_points", minimum=2)
    n = math.factorial(order)
    # lower curve: p from 1 (H = 0) down to 1/n (H = 1)
    p = np.linspace(1.0, 1.0 / n, n_points)
    h_min, c_min = _family_hc(p, np.ones_like(p), np.full_like(p, n - 1.0), n)
    # upper curve: pieces k = 2..n, p from 0 to 1/k; the first point of each piece after the
    # first repeats the last point of the previous one and is dropped
    per = max(2, -(-n_points // (n - 1)))
    ps, ks = [], []
    for k in range(2, n + 1):
        pk = np.linspace(0.0, 1.0 / k, per)
        if k > 2:
            pk = pk[1:]
        ps.append(pk)
        ks.append(np.full(pk.size, float(k)))
    p = np.concatenate(ps)
    kk = np.concatenate(ks)
    h_max, c_max = _family_hc(p, np.ones_like(p), kk - 1.0, n)
    h_min[-1] = h_max[-1] = 1.0  # the uniform distribution, exactly
    c_min[-1] = c_max[-1] = 0.0
    return ComplexityEntropyBounds(h_min, c_min, h_max, c_max)


# ----------------------------------------------------------------------------------------------
# transfer entropy: embedding
# ----------------------------------------------------------------------------------------------
def _is_series_list(condition) -> bool:
    """A list/tuple whose elements are themselves series (arrays, tensors, lists)."""
    if not isinstance(condition, (list, tuple)) or len(condition) == 0:
        return False
    return all(
        _is_torch_tensor(c) or isinstance(c, (list, tuple)) or (isinstance(c, np.ndarray) and c.ndim >= 1)
        for c in condition
    )


def _condition_parts(condition):
    """Split ``condition`` into named parts: one per series in a list, else one array."""
    if condition is None:
        return []
    if _is_series_list(condition):
        return [(c, f"condition[{i}]") for i, c in enumerate(condition)]
    return [(condition, "condition")]


def _lag_block(X: np.ndarray, first_lag: int, n_lags: int, t0: int) -> np.ndarray:
    """Columns X[t - first_lag], ..., X[t - first_lag - n_lags + 1] for t = t0 .. n-1."""
    n = X.shape[0]
    cols = [X[t0 - lag : n - lag] for lag in range(first_lag, first_lag + n_lags)]
    return np.ascontiguousarray(np.hstack(cols))


def _te_params(history, source_history, delay, condition_history, condition_delay):
    return (
        check_positive_int(history, "history"),
        check_positive_int(source_history, "source_history"),
        check_positive_int(delay, "delay"),
        check_positive_int(condition_history, "condition_history"),
        check_positive_int(condition_delay, "condition_delay"),
    )


def _te_embed(src, tgt, conds, history, source_history, delay, condition_history, condition_delay):
    """Future, source past and conditioning past (target past, then conditions) as 2-D arrays.

    ``src``, ``tgt`` and each element of ``conds`` are 2-D arrays with time along axis 0.
    """
    n = check_same_n(source=src, target=tgt, **{f"condition_{i}": c for i, c in enumerate(conds)})
    t0 = max(history, delay + source_history - 1)
    if conds:
        t0 = max(t0, condition_delay + condition_history - 1)
    if n - t0 < 3:
        raise ValueError(
            f"the series have {n} time points, but history={history}, source_history="
            f"{source_history}, delay={delay} (and any condition lags) use the first {t0} as "
            "past; at least 3 embedded samples are needed. Pass longer series or shorter histories"
        )
    future = np.ascontiguousarray(tgt[t0:])
    source_past = _lag_block(src, delay, source_history, t0)
    past = [_lag_block(tgt, 1, history, t0)]
    past += [_lag_block(c, condition_delay, condition_history, t0) for c in conds]
    return future, source_past, np.ascontiguousarray(np.hstack(past))


def _continuous_inputs(source, target, condition):
    src = as_samples(source, "source")
    tgt = as_samples(target, "target")
    conds = [as_samples(c, name) for c, name in _condition_parts(condition)]
    return src, tgt, conds


def _discrete_inputs(source, target, condition):
    """Integer codes (n, 1) of each series; a 2-D series is one joint symbol per row."""
    src = as_labels(source, "source")[:, None]
    tgt = as_labels(target, "target")[:, None]
    conds = [as_labels(c, name)[:, None] for c, name in _condition_parts(condition)]
    return src, tgt, conds


def _symbolise(X: np.ndarray, order: int, tau: int, name: str) -> np.ndarray:
    """Ordinal-pattern codes of each column of X (n, d), aligned at the window's last value.

    Row t of the result is the pattern of (x_{t}, ..., x_{t + (order-1) tau}); dropping the
    first (order-1) tau time points of every series aligns it with time t + (order-1) tau.
    """
    S = np.ascontiguousarray(X.T)
    n_windows = _check_length(S.shape[1], order, tau, name, True)
    codes, _, tied = _ordinal.ordinal_codes(S, order, tau, False, _ordinal.BLOCK, 0)
    share = float(tied.max()) / n_windows
    if share > _TIE_WARN:
        warn(
            f"{name}: {100 * share:.1f}% of the ordinal windows contain equal values; ties are "
            "ordered by position, which over-counts increasing patterns. Add small seeded noise "
            "for rounded data")
    return np.ascontiguousarray(codes.T)


def _joint_labels(codes: np.ndarray, name: str) -> np.ndarray:
    return _row_codes(codes)[:, None]


_compact = compact_codes
_pair_codes = pair_codes


def _row_codes(block: np.ndarray) -> np.ndarray:
    """One compact code per row of an integer array (n, d); rows ordered lexicographically.

    The same labels as ``np.unique(block, axis=0, return_inverse=True)``, in O(n d).
    """
    code = _compact(block[:, 0])
    for j in range(1, block.shape[1]):
        code = _pair_codes(code, _compact(block[:, j]))
    return code


def _cmi_codes(cx, cy, cz, correction, base) -> float:
    """Plug-in I(X; Y | Z) of compact 1-D codes: the value of ``cmi_discrete`` on the same symbols.

    Joint symbols are coded lexicographically, as ``cmi_discrete`` does with ``np.unique(axis=0)``,
    so the counts, and the sums over them, come in the same order.
    """
    val = (
        h_codes(_pair_codes(cx, cz), correction)
        + h_codes(_pair_codes(cy, cz), correction)
        - h_codes(_pair_codes(_pair_codes(cx, cy), cz), correction)
        - h_codes(cz, correction)
    )
    return to_base(max(val, 0.0) if correction is None else val, base)


def _warn_state_space(future, source_past, past, what: str):
    """Warn when the joint state space of a plug-in TE/CMI is large relative to the sample."""
    n = future.shape[0]

    def alphabet(block):
        return [int(_compact(block[:, j]).max()) + 1 for j in range(block.shape[1])]

    m_y = alphabet(future)[0]
    m_x = math.prod(alphabet(source_past))
    m_z = math.prod(alphabet(past))
    states = m_y * m_x * m_z
    if states * 10 > n:
        bias = (m_y - 1) * (m_x - 1) * m_z / (2.0 * n)
        ceiling = math.log(m_y) if m_y > 1 else 0.0
        if bias < 0.5 * ceiling:
            size = f"under independence the expected value is about {bias:.3g} nats, not 0"
        else:  # the chi-square approximation has broken down: the estimate saturates instead
            size = (
                f"even for independent series the estimate can approach its ceiling, "
                f"ln(target alphabet) = {ceiling:.3g} nats"
            )
        warn(
            f"{what}: the joint state space has {states:,} possible states (alphabets of the "
            f"embedded variables multiplied) for {n:,} samples. Plug-in estimates are biased "
            f"upwards here: {size}. Use fewer states (lower order or history), more samples, "
            "correction='miller_madow', and report surrogate_test's surrogate mean")


# ----------------------------------------------------------------------------------------------
# transfer entropy: methods
# ----------------------------------------------------------------------------------------------
_TE_PARAMS_DOC = r"""source : array-like of shape (n_times,) or (n_times, d_source)
        The driving series; time along axis 0.
    target : array-like of shape (n_times,) or (n_times, d_target)
        The driven series.
    history : int, default 1
        Target history *k*: lags 1, ..., k of the target.
    source_history : int, default 1
        Source history *l*: lags ``delay``, ..., ``delay`` + l - 1 of the source.
    delay : int, default 1
        Source-target lag *u* (the most recent source lag used).
    condition : array-like or list of array-likes, optional
        Series to condition on (conditional TE). A 2-D array of shape
        ``(n_times, m)`` holds m series; a list holds one series per element.
    condition_history : int, default 1
        Lags per conditioning series.
    condition_delay : int, default 1
        The most recent lag of the conditioning series (lags
        ``condition_delay``, ..., ``condition_delay + condition_history - 1``)."""


def _te_doc(func):
    func.__doc__ = func.__doc__.replace("%(te_params)s", _TE_PARAMS_DOC)
    return func


@TE_METHODS.register("ksg", "kraskov", "knn", "frenzel_pompe")
@_te_doc
def te_ksg(
    source,
    target,
    *,
    history=1,
    source_history=1,
    delay=1,
    condition=None,
    condition_history=1,
    condition_delay=1,
    k=4,
    standardize=True,
    noise=0.0,
    seed=None,
    base=None,
) -> float:
    r"""Transfer entropy by the KSG (Frenzel--Pompe) conditional MI of the delay embedding.

    .. math:: T_{X\to Y} = I\big(Y_t ;\, X^{(l)}_{t-u} \,\big|\, Y^{(k)}_{t-1}, Z\big)

    computed exactly as :func:`estimators.mutual_info.cmi_ksg` of the embedded
    variables (see :func:`transfer_entropy` for the embedding).

    Parameters
    ----------
    %(te_params)s
    k : int, default 4
        Neighbour order.
    standardize, noise, seed
        As in :func:`estimators.mutual_info.cmi_ksg`.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        TE in nats (or ``base`` units); may be slightly negative when the true
        value is 0 (below ``-max(0.1, 3 SE)`` nats a ``UserWarning`` says the
        estimate is negative beyond estimator noise). The KSG bias grows with
        the embedding dimension (1 + k + l + conditions).

    Raises
    ------
    ValueError
        If the embedded series repeat points (discrete-valued or heavily
        rounded series), where the KSG estimate is undefined: use
        ``method="discrete"`` (or ``"ordinal"``) for discrete-valued series, or
        ``noise=1e-10`` for rounded continuous ones.

    References
    ----------
    T. Schreiber, Phys. Rev. Lett. 85, 461 (2000). S. Frenzel and B. Pompe,
    Phys. Rev. Lett. 99, 204101 (2007).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.timeseries import te_ksg
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(5000)
    >>> y = np.r_[0.0, 0.8 * x[:-1]] + 0.6 * rng.standard_normal(5000)
    >>> round(te_ksg(x, y), 1)       # 0.5 ln(1 + 0.64 / 0.36) = 0.51
    0.5
    """
    src, tgt, conds = _continuous_inputs(source, target, condition)
    params = _te_params(history, source_history, delay, condition_history, condition_delay)
    fut, sp, past = _te_embed(src, tgt, conds, *params)
    # cmi_ksg(fut, sp, past, ...) step by step, with advice in terms of transfer entropy
    parts = _neighbors.rescale_inputs({"fut": fut, "sp": sp, "past": past}, standardize)
    n = fut.shape[0]
    k = check_k(k, n)
    noise = check_noise(noise)
    rng = check_rng(seed)
    tied = []
    for name, X in parts.items():
        if standardize:
            X = standardize_columns(X)
        if noise:
            X = add_noise(X, noise, rng)
        else:
            share = _tie_share(X)
            if share > _KNN_TIE_WARN:
                tied.append(f"{_TE_PARTS[name]} {100 * share:.1f}%")
        parts[name] = np.ascontiguousarray(X)
    if tied:
        warn(
            f"the series have heavy ties (share of values that repeat an earlier value, worst "
            f"column: {', '.join(tied)}); the KSG transfer entropy assumes continuous values and "
            f"is biased by ties. {_TE_TIE_ADVICE}"
        )
    warn_undersampled(n, sum(X.shape[1] for X in parts.values()), "KSG transfer entropy")
    try:
        te, terms = _neighbors.cmi_ksg_terms(parts["fut"], parts["sp"], parts["past"], k)
    except RepeatedPointsError as exc:
        raise ValueError(
            f"source and target have repeated points: for {exc.n_zero} of the {n} embedded "
            "samples the k-th neighbour in the joint space (target future, source past, target "
            "past and conditions) is at distance 0, where the KSG transfer entropy is undefined. "
            + _TE_TIE_ADVICE
        ) from None
    _neighbors.warn_negative(
        te, terms, "the KSG transfer entropy estimate",
        "Likely causes: ties or discrete values (pass noise=1e-10, or use method='discrete'), too "
        "few time points for the embedding dimension; compare with surrogate_test",
    )
    return to_base(te, base)


# Share of repeated values in a column above which the KSG transfer entropy warns.
_KNN_TIE_WARN = 0.05
_TE_PARTS = {"fut": "target", "sp": "source past", "past": "target past and conditions"}
_TE_TIE_ADVICE = (
    "For discrete-valued series (symbols, states, spike counts) use method='discrete', or "
    "method='ordinal' for continuous series where only the ordering matters; for continuous "
    "series recorded with limited precision, add seeded jitter (noise=1e-10, seed=0)"
)


def _tie_share(X: np.ndarray) -> float:
    """Largest share, over the columns of X, of values that repeat an earlier value."""
    n = X.shape[0]
    worst = 0.0
    for j in range(X.shape[1]):
        s = np.sort(X[:, j])
        worst = max(worst, float(np.count_nonzero(s[1:] == s[:-1])) / n)
    return worst


@TE_METHODS.register("gaussian", "gauss", "linear", "granger")
@_te_doc
def te_gaussian(
    source,
    target,
    *,
    history=1,
    source_history=1,
    delay=1,
    condition=None,
    condition_history=1,
    condition_delay=1,
    bias_correction=False,
    base=None,
) -> float:
    r"""Transfer entropy of jointly Gaussian processes, from covariances.

    .. math:: T_{X\to Y} = \tfrac12 \ln \frac{\operatorname{Var}(Y_t \mid Y^{(k)}_{t-1}, Z)}
              {\operatorname{Var}(Y_t \mid Y^{(k)}_{t-1}, X^{(l)}_{t-u}, Z)}

    (for scalar Y; log-determinants of residual covariances otherwise),
    computed exactly as :func:`estimators.mutual_info.cmi_gaussian` of the
    embedded variables. It equals half the Granger causality statistic
    (Barnett, Barrett and Seth 2009).

    Parameters
    ----------
    %(te_params)s
    bias_correction : bool, default False
        Unbiased log-determinants under Gaussian sampling.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        TE in nats (or ``base`` units). Sees linear dependence only.

    References
    ----------
    L. Barnett, A. B. Barrett, A. K. Seth, "Granger causality and transfer
    entropy are equivalent for Gaussian variables", Phys. Rev. Lett. 103,
    238701 (2009).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.timeseries import te_gaussian
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(100000)
    >>> y = np.r_[0.0, 0.8 * x[:-1]] + 0.6 * rng.standard_normal(100000)
    >>> round(te_gaussian(x, y), 2)   # 0.5 ln(1 + 0.64 / 0.36) = 0.51
    0.51
    """
    src, tgt, conds = _continuous_inputs(source, target, condition)
    params = _te_params(history, source_history, delay, condition_history, condition_delay)
    fut, sp, past = _te_embed(src, tgt, conds, *params)
    return cmi_gaussian(fut, sp, past, bias_correction=bias_correction, base=base)


@TE_METHODS.register("discrete", "plugin", "plug_in")
@_te_doc
def te_discrete(
    source,
    target,
    *,
    history=1,
    source_history=1,
    delay=1,
    condition=None,
    condition_history=1,
    condition_delay=1,
    correction=None,
    base=None,
) -> float:
    r"""Plug-in transfer entropy of symbol sequences.

    .. math:: T_{X\to Y} = \sum p(y_t, \mathbf x, \mathbf y)
              \log \frac{p(y_t \mid \mathbf x, \mathbf y)}{p(y_t \mid \mathbf y)}

    with :math:`\mathbf x = x^{(l)}_{t-u}` and :math:`\mathbf y = y^{(k)}_{t-1}`,
    computed exactly as :func:`estimators.mutual_info.cmi_discrete` of the
    embedded symbols.

    Parameters
    ----------
    %(te_params)s
    correction : {None, "miller_madow"}, default None
        Miller--Madow correction of each entropy term.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        TE in nats (or ``base`` units).

    Notes
    -----
    The plug-in estimate is biased **upwards**: under independence its
    expectation is about :math:`(m_y - 1)(m_x^l - 1)\,m_y^k / (2N)` nats for
    alphabets of :math:`m_x`, :math:`m_y` symbols, and far more once the
    :math:`m_y^{k+1} m_x^l` joint states outnumber the samples (values near
    1 nat between independent series have been reported). A ``UserWarning``
    is issued when the joint states exceed N/10; report
    :func:`surrogate_test`'s surrogate mean or its "effective" TE.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.timeseries import te_discrete
    >>> x = np.random.default_rng(0).integers(0, 2, 10000)
    >>> y = np.r_[0, x[:-1]]            # y copies x with lag 1
    >>> round(te_discrete(x, y, base=2), 2)
    1.0
    """
    check_correction(correction)
    src, tgt, conds = _discrete_inputs(source, target, condition)
    params = _te_params(history, source_history, delay, condition_history, condition_delay)
    fut, sp, past = _te_embed(src, tgt, conds, *params)
    _warn_state_space(fut, sp, past, "discrete transfer entropy")
    return _cmi_codes(_row_codes(fut), _row_codes(sp), _row_codes(past), correction, base)


@TE_METHODS.register("ordinal", "symbolic", "permutation")
@_te_doc
def te_ordinal(
    source,
    target,
    *,
    history=1,
    source_history=1,
    delay=1,
    condition=None,
    condition_history=1,
    condition_delay=1,
    order=3,
    ordinal_delay=1,
    correction=None,
    base=None,
) -> float:
    r"""Symbolic transfer entropy: discrete TE of ordinal-pattern sequences.

    Each series (each column of a multivariate one) is replaced by the
    sequence of its ordinal patterns (Bandt--Pompe symbols; see
    :func:`permutation_entropy`), the symbol at time *t* being the pattern of
    :math:`(x_{t-(m-1)\tau}, \dots, x_t)`, so that it uses no future value.
    Then :func:`te_discrete` is applied to the symbol sequences (Staniek and
    Lehnertz 2008).

    Parameters
    ----------
    %(te_params)s
    order : int, default 3
        Pattern length :math:`m` (:math:`m!` symbols).
    ordinal_delay : int, default 1
        Spacing :math:`\tau` of the values in a pattern window.
    correction : {None, "miller_madow"}, default None
        Miller--Madow correction of each entropy term.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        TE in nats (or ``base`` units).

    Notes
    -----
    Biased upwards on short series: the joint state space has up to
    :math:`(m!)^{1+k+l}` states, 216 at order 3 with unit histories and
    331,776 at order 4 with history 2. A ``UserWarning`` is issued when it
    exceeds N/10. Consecutive symbols share :math:`m-1` values, so a target's
    own history carries most of its next symbol.

    References
    ----------
    M. Staniek and K. Lehnertz, "Symbolic transfer entropy", Phys. Rev. Lett.
    100, 158101 (2008).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.timeseries import te_ordinal
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(20000)
    >>> y = rng.standard_normal(20000)
    >>> round(te_ordinal(x, y), 2)     # independent: plug-in bias about 0.004
    0.0
    """
    order = _check_order(order)
    ordinal_delay = check_positive_int(ordinal_delay, "ordinal_delay")
    check_correction(correction)
    src, tgt, conds = _continuous_inputs(source, target, condition)
    check_same_n(source=src, target=tgt, **{f"condition_{i}": c for i, c in enumerate(conds)})
    src = _joint_labels(_symbolise(src, order, ordinal_delay, "source"), "source")
    tgt = _joint_labels(_symbolise(tgt, order, ordinal_delay, "target"), "target")
    conds = [_joint_labels(_symbolise(c, order, ordinal_delay, "condition"), "condition") for c in conds]
    params = _te_params(history, source_history, delay, condition_history, condition_delay)
    fut, sp, past = _te_embed(src, tgt, conds, *params)
    _warn_state_space(fut, sp, past, f"ordinal transfer entropy (order {order})")
    return _cmi_codes(_row_codes(fut), _row_codes(sp), _row_codes(past), correction, base)


@functools.lru_cache(maxsize=256)
def _accepts(func, name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


@_te_doc
def transfer_entropy(
    source,
    target,
    method="ksg",
    *,
    history=1,
    source_history=1,
    delay=1,
    condition=None,
    k=4,
    base=None,
    **kwargs,
) -> float:
    r"""Transfer entropy from ``source`` to ``target`` (optionally conditional), nats by default.

    .. math:: T_{X\to Y} = I\big(Y_t ;\, X_{t-u}, \dots, X_{t-u-l+1} \,\big|\,
              Y_{t-1}, \dots, Y_{t-k},\, Z\big)

    with target history *k* (``history``), source history *l*
    (``source_history``) ending at lag *u* (``delay``) and, for conditional TE,
    the conditioning series' lags *Z*. Every method computes exactly the
    conditional mutual information of these embedded variables, on the
    :math:`N - \max(k, u + l - 1, \dots)` time points that have a full past.

    Parameters
    ----------
    %(te_params)s
    method : str or callable, default "ksg"
        ``"ksg"`` (Frenzel--Pompe CMI), ``"gaussian"`` (covariances),
        ``"discrete"`` (plug-in, symbols), ``"ordinal"`` (symbolic TE: ordinal
        patterns, then plug-in; ``order=``, ``ordinal_delay=``); or a callable
        ``f(source, target, *, history, source_history, delay, condition, base, **kwargs)``.
    k : int, default 4
        Neighbour order, used by ``"ksg"`` only.
    base : float, optional
        Logarithm base: ``None`` (nats), ``2`` (bits).
    **kwargs
        Passed to the method (``condition_history=``, ``condition_delay=``,
        ``noise=``, ``correction=``, ``order=``, ...).

    Returns
    -------
    float
        The TE estimate.

    Choosing a method
    -----------------
    * Continuous series: ``"ksg"`` (k = 4); its bias grows with
      ``history + source_history`` and the number of conditions.
    * Linear-Gaussian dynamics, or many samples and dimensions: ``"gaussian"``
      (equals half the Granger causality statistic).
    * Symbol sequences (spikes, states, tokens): ``"discrete"``.
    * Continuous series where only the ordering matters (robust to monotone
      distortions and outliers): ``"ordinal"``.
    * ``"discrete"`` and ``"ordinal"`` are biased upwards on short series
      (a ``UserWarning`` says when); always pair them with
      :func:`surrogate_test` and report the surrogate mean or effective TE.

    References
    ----------
    T. Schreiber, "Measuring information transfer", Phys. Rev. Lett. 85, 461 (2000).
    M. Wibral et al., "Measuring information-transfer delays", PLoS ONE 8,
    e55809 (2013) (the source-target delay *u*).

    See Also
    --------
    te_ksg, te_gaussian, te_discrete, te_ordinal, active_information_storage, surrogate_test

    Examples
    --------
    X i.i.d. N(0, 1) and :math:`Y_t = c X_{t-1} + \mathcal N(0, s^2)` give
    :math:`T_{X\to Y} = \tfrac12\ln(1 + c^2/s^2)` and :math:`T_{Y\to X} = 0`:

    >>> import numpy as np
    >>> from estimators.timeseries import transfer_entropy
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(10000)
    >>> y = np.r_[0.0, 0.8 * x[:-1]] + 0.6 * rng.standard_normal(10000)
    >>> round(transfer_entropy(x, y, method="gaussian"), 2)   # 0.5 ln(1 + 0.64/0.36) = 0.51
    0.51
    >>> round(transfer_entropy(y, x, method="gaussian"), 2)
    0.0
    """
    func = TE_METHODS.resolve(method)
    kw = dict(history=history, source_history=source_history, delay=delay, condition=condition, base=base)
    if _accepts(func, "k"):
        kw["k"] = k
    kw.update(kwargs)
    return TE_METHODS.call(func if callable(method) else method, source, target, **kw)


# ----------------------------------------------------------------------------------------------
# active information storage
# ----------------------------------------------------------------------------------------------
def active_information_storage(x, history=1, method="ksg", *, k=4, base=None, **kwargs) -> float:
    r"""Active information storage: the information a series' past holds about its next value.

    .. math:: A_X = I\big(X_t ;\, X_{t-1}, \dots, X_{t-k}\big)

    computed exactly as the mutual information of the embedded variables, with
    any method of :func:`estimators.mutual_info.mutual_information`, or
    ``"ordinal"`` (ordinal patterns, then plug-in MI). It is the companion of
    transfer entropy: the target's own-past information that TE conditions out.

    Parameters
    ----------
    x : array-like of shape (n_times,) or (n_times, d)
        The series; time along axis 0.
    history : int, default 1
        Number of past values *k*.
    method : str or callable, default "ksg"
        ``"ksg"``, ``"gaussian"``, ``"discrete"``, ``"ordinal"`` (``order=``,
        ``ordinal_delay=``), another MI method name, or a callable
        ``f(future, past, base=..., **kwargs)``.
    k : int, default 4
        Neighbour order, for kNN methods only.
    base : float, optional
        Logarithm base; ``None`` gives nats.
    **kwargs
        Passed to the MI method.

    Returns
    -------
    float
        AIS in nats (or ``base`` units). Plug-in methods are biased upwards on
        short series (warned about as in :func:`te_discrete`).

    References
    ----------
    J. T. Lizier, M. Prokopenko, A. Y. Zomaya, "Local measures of information
    storage in complex distributed computation", Inf. Sci. 208, 39--54 (2012).

    Examples
    --------
    An AR(1) process :math:`x_t = a x_{t-1} + \varepsilon_t` stores
    :math:`-\tfrac12\ln(1-a^2)` nats:

    >>> import numpy as np
    >>> from estimators.timeseries import active_information_storage
    >>> rng = np.random.default_rng(0)
    >>> e = rng.standard_normal(100000)
    >>> x = np.empty(100000); x[0] = e[0]
    >>> for t in range(1, 100000):
    ...     x[t] = 0.8 * x[t - 1] + e[t]
    >>> round(active_information_storage(x, method="gaussian"), 2)   # -0.5 ln(0.36) = 0.51
    0.51
    """
    history = check_positive_int(history, "history")
    kwargs = dict(kwargs)
    if isinstance(method, str) and MI_METHODS._normalise(method) in ("ordinal", "symbolic", "permutation"):
        order = _check_order(kwargs.pop("order", 3))
        tau = check_positive_int(kwargs.pop("ordinal_delay", 1), "ordinal_delay")
        X = _joint_labels(_symbolise(as_samples(x, "x"), order, tau, "x"), "x")
        method, discrete = "discrete", True
    else:
        func = MI_METHODS.resolve(method)
        discrete = func is MI_METHODS.resolve("discrete")
        X = as_labels(x, "x")[:, None] if discrete else as_samples(x, "x")
        if _accepts(func, "k"):
            kwargs["k"] = k
    n = X.shape[0]
    if n - history < 3:
        raise ValueError(
            f"x has {n} time points; history={history} leaves fewer than 3 embedded samples. "
            "Pass a longer series or a shorter history"
        )
    future = np.ascontiguousarray(X[history:])
    past = _lag_block(X, 1, history, history)
    if discrete:
        past = _row_codes(past)  # one symbol per past vector (the same labels, found faster)
        m = int(np.unique(future).size)
        states = m ** (history + 1)
        if states * 10 > future.shape[0]:
            warn(
                f"active information storage: {states:,} possible joint states for "
                f"{future.shape[0]:,} samples; the plug-in estimate is biased upwards (about "
                f"{(m - 1) * (m**history - 1) / (2.0 * future.shape[0]):.3g} nats for an "
                "independent sequence). Use a shorter history or more samples")
    return MI_METHODS.call(method, future, past, base=base, **kwargs)


# ----------------------------------------------------------------------------------------------
# surrogate test
# ----------------------------------------------------------------------------------------------
_MEASURES = {
    "transfer_entropy": "te",
    "te": "te",
    "mutual_information": "mi",
    "mi": "mi",
}


def surrogate_test(
    measure,
    source,
    target,
    *,
    n_surrogates=199,
    kind="shift",
    min_shift=None,
    seed=None,
    **kwargs,
) -> SurrogateResult:
    r"""Significance of a dependence measure against surrogates that destroy the dependence.

    The measure is computed on the data and on ``n_surrogates`` copies in which
    the **source** alone is circularly time-shifted (``kind="shift"``, keeping
    its autocorrelation) or randomly permuted (``kind="permute"``, for i.i.d.
    samples); ``target`` (and any ``condition``) stay as they are. Then

    .. math:: p = \frac{1 + \#\{\text{surrogates} \ge \text{estimate}\}}{1 + n_{\text{surrogates}}}

    which is a valid p-value (its false-positive rate is at most the level
    chosen) whenever the surrogates and the data are exchangeable under the
    null hypothesis of no dependence. The surrogate mean estimates the
    estimator's value under independence (its bias), so
    ``effective = estimate - surrogate_mean`` is a bias-corrected estimate,
    which matters most for plug-in TE on short series.

    Parameters
    ----------
    measure : {"transfer_entropy", "te", "mutual_information", "mi"} or callable
        What to test: :func:`transfer_entropy`, :func:`mutual_information`
        (``source`` = x, ``target`` = y), or a callable
        ``f(source, target, **kwargs) -> float``.
    source, target : array-like, time (samples) along axis 0
        The data; only ``source`` is resampled.
    n_surrogates : int, default 199
        Number of surrogates; the smallest attainable p-value is
        ``1 / (n_surrogates + 1)``. For a test at level alpha, choose it so that
        ``alpha * (n_surrogates + 1)`` is an integer (19, 99, 199, 999 for 0.05).
    kind : {"shift", "permute"}, default "shift"
        Circular shift by a random offset in ``[min_shift, n - min_shift]``
        (time series), or a random permutation of the samples (i.i.d. data;
        for autocorrelated series it also destroys the source's own memory).
    min_shift : int, optional
        Smallest shift for ``kind="shift"``; default ``max(1, n // 10)``. Make
        it longer than the series' autocorrelation time.
    seed : int or numpy.random.Generator, optional
        Seed for the surrogates (the same seed gives the same result). It is
        not passed to the measure; bind a measure's own seed with
        ``functools.partial`` when it needs one.
    **kwargs
        Passed to the measure (``method=``, ``history=``, ``condition=``, ...).

    Returns
    -------
    SurrogateResult
        Named tuple ``(estimate, p_value, surrogate_mean, surrogate_std, effective)``.

    Notes
    -----
    Warnings raised by the measure are shown once, for the estimate, and not
    repeated for every surrogate.

    References
    ----------
    T. Schreiber and A. Schmitz, "Surrogate time series", Physica D 142,
    346--382 (2000). M. Lindner, R. Vicente, V. Priesemann, M. Wibral,
    "TRENTOOL", BMC Neurosci. 12, 119 (2011).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.timeseries import surrogate_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = np.r_[0.0, 0.5 * x[:-1]] + rng.standard_normal(2000)
    >>> res = surrogate_test("te", x, y, method="gaussian", n_surrogates=99, seed=1)
    >>> res.p_value            # no surrogate reaches the estimate: 1 / 100
    0.01
    >>> surrogate_test("te", y, x, method="gaussian", n_surrogates=99, seed=1).p_value > 0.05
    True
    """
    if callable(measure):
        func = measure
    elif isinstance(measure, str) and measure.strip().lower() in _MEASURES:
        func = transfer_entropy if _MEASURES[measure.strip().lower()] == "te" else mutual_information
    else:
        raise ValueError(
            f"measure must be 'transfer_entropy' (or 'te'), 'mutual_information' (or 'mi') or a "
            f"callable f(source, target, **kwargs); got {measure!r}"
        )
    n_surrogates = check_positive_int(n_surrogates, "n_surrogates")
    if kind not in ("shift", "permute"):
        raise ValueError(f"kind must be 'shift' (circular time shift) or 'permute'; got {kind!r}")
    rng = check_rng(seed)
    src = _to_numpy(source, "source")
    if src.ndim == 0 or src.shape[0] < 2:
        raise ValueError("source must hold at least 2 samples along axis 0 to build surrogates")
    n = src.shape[0]
    if kind == "shift":
        if min_shift is None:
            min_shift = max(1, n // 10)
        min_shift = check_positive_int(min_shift, "min_shift")
        if 2 * min_shift > n:
            raise ValueError(
                f"min_shift={min_shift} leaves no shift for {n} samples (shifts run from min_shift "
                "to n - min_shift); lower min_shift"
            )
        choices = np.arange(min_shift, n - min_shift + 1)
        if choices.size >= n_surrogates:
            shifts = rng.choice(choices, size=n_surrogates, replace=False)
        else:
            warn(
                f"only {choices.size} distinct shifts exist for {n} samples and min_shift={min_shift}; "
                f"{n_surrogates} surrogates repeat some of them. Lower n_surrogates or min_shift")
            shifts = rng.choice(choices, size=n_surrogates, replace=True)
    estimate = float(func(source, target, **kwargs))
    surr = np.empty(n_surrogates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for i in range(n_surrogates):
            if kind == "shift":
                s = np.roll(src, int(shifts[i]), axis=0)
            else:
                s = src[rng.permutation(n)]
            surr[i] = float(func(s, target, **kwargs))
    if not np.all(np.isfinite(surr)) or not math.isfinite(estimate):
        raise ValueError("the measure returned a non-finite value; check its input and parameters")
    p = (1.0 + float(np.count_nonzero(surr >= estimate))) / (1.0 + n_surrogates)
    mean = float(surr.mean())
    std = float(surr.std(ddof=1)) if n_surrogates > 1 else 0.0
    return SurrogateResult(estimate, p, mean, std, estimate - mean)
