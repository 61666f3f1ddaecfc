r"""Surrogate significance test for transfer entropy, mutual information or any dependence measure.

The source alone is circularly time-shifted or permuted, which destroys its dependence on
the target while keeping its own distribution (and, for shifts, its autocorrelation); the
measure on the data is compared with its values on the surrogates.
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple

import numpy as np

from ._validation import _to_numpy, check_positive_int, check_rng, warn
from .mutual_info import mutual_information
from .transfer import transfer_entropy

__all__ = ["surrogate_test", "SurrogateResult"]

SurrogateResult = namedtuple(
    "SurrogateResult", ["estimate", "p_value", "surrogate_mean", "surrogate_std", "effective"]
)
SurrogateResult.__doc__ = """Result of :func:`surrogate_test`.

estimate : the measure on the original data.
p_value : (1 + #{surrogates >= estimate}) / (1 + n_surrogates).
surrogate_mean, surrogate_std : mean and standard deviation (ddof=1) of the surrogates.
effective : estimate - surrogate_mean, the bias-corrected ("effective") value."""

_MEASURES = {
    "transfer_entropy": "te",
    "te": "te",
    "mutual_information": "mi",
    "mi": "mi",
}


def _measure_function(measure):
    """The callable behind ``measure`` (a name of :data:`_MEASURES` or a callable)."""
    if callable(measure):
        return measure
    if isinstance(measure, str) and measure.strip().lower() in _MEASURES:
        return transfer_entropy if _MEASURES[measure.strip().lower()] == "te" else mutual_information
    raise ValueError(
        f"measure must be 'transfer_entropy' (or 'te'), 'mutual_information' (or 'mi') or a "
        f"callable f(source, target, **kwargs); got {measure!r}"
    )


def _draw_shifts(n: int, n_surrogates: int, min_shift, rng: np.random.Generator) -> np.ndarray:
    """Circular shifts in ``[min_shift, n - min_shift]``, distinct while there are enough of them."""
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
        return rng.choice(choices, size=n_surrogates, replace=False)
    warn(
        f"only {choices.size} distinct shifts exist for {n} samples and min_shift={min_shift}; "
        f"{n_surrogates} surrogates repeat some of them. Lower n_surrogates or min_shift")
    return rng.choice(choices, size=n_surrogates, replace=True)


def _surrogate_values(func, src: np.ndarray, target, kind: str, shifts, rng, n_surrogates: int, kwargs):
    """The measure on each surrogate source, its warnings silenced (they were shown for the estimate)."""
    n = src.shape[0]
    surr = np.empty(n_surrogates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for i in range(n_surrogates):
            if kind == "shift":
                s = np.roll(src, int(shifts[i]), axis=0)
            else:
                s = src[rng.permutation(n)]
            surr[i] = float(func(s, target, **kwargs))
    return surr


def _summarise(estimate: float, surr: np.ndarray) -> SurrogateResult:
    """p-value, mean, standard deviation and effective value of the estimate against the surrogates."""
    if not np.all(np.isfinite(surr)) or not math.isfinite(estimate):
        raise ValueError("the measure returned a non-finite value; check its input and parameters")
    n_surrogates = surr.size
    p = (1.0 + float(np.count_nonzero(surr >= estimate))) / (1.0 + n_surrogates)
    mean = float(surr.mean())
    std = float(surr.std(ddof=1)) if n_surrogates > 1 else 0.0
    return SurrogateResult(estimate, p, mean, std, estimate - mean)


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
        What to test: :func:`~estimators.transfer.transfer_entropy`,
        :func:`~estimators.mutual_info.mutual_information`
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
    >>> from estimators.surrogates import surrogate_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = np.r_[0.0, 0.5 * x[:-1]] + rng.standard_normal(2000)
    >>> res = surrogate_test("te", x, y, method="gaussian", n_surrogates=99, seed=1)
    >>> res.p_value            # no surrogate reaches the estimate: 1 / 100
    0.01
    >>> surrogate_test("te", y, x, method="gaussian", n_surrogates=99, seed=1).p_value > 0.05
    True
    """
    func = _measure_function(measure)
    n_surrogates = check_positive_int(n_surrogates, "n_surrogates")
    if kind not in ("shift", "permute"):
        raise ValueError(f"kind must be 'shift' (circular time shift) or 'permute'; got {kind!r}")
    rng = check_rng(seed)
    src = _to_numpy(source, "source")
    if src.ndim == 0 or src.shape[0] < 2:
        raise ValueError("source must hold at least 2 samples along axis 0 to build surrogates")
    # shifts (and min_shift errors) before the estimate, which may be slow
    shifts = _draw_shifts(src.shape[0], n_surrogates, min_shift, rng) if kind == "shift" else None
    estimate = float(func(source, target, **kwargs))
    surr = _surrogate_values(func, src, target, kind, shifts, rng, n_surrogates, kwargs)
    return _summarise(estimate, surr)
