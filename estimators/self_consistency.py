r"""Self-consistency checks for any mutual information estimator (Song & Ermon 2020).

Without ground truth, an MI estimator can still be checked against three
properties that every correct estimate must have:

* **independence**: shuffling the rows of y destroys the dependence, so
  :math:`\hat I(X; Y_\pi) \approx 0`;
* **data processing**: a transformation of y cannot add information,
  :math:`\hat I(X; f(Y)) \le \hat I(X; Y)`;
* **additivity**: for two independent pairs,
  :math:`\hat I([X_1, X_2]; [Y_1, Y_2]) = \hat I(X_1; Y_1) + \hat I(X_2; Y_2)`.

Each check takes the estimator as a method name of
:func:`~estimators.mutual_info.mutual_information` (``"ksg"``, ``"mine"``, ...)
or as any callable ``f(x, y, **kwargs) -> float`` and returns a
:class:`ConsistencyResult` with the estimates, the statistic compared, the
tolerance and whether the check passed. The check's ``seed`` seeds its own
shuffles and, when the estimator takes a ``seed`` argument (all neural
estimators do), the estimator too; other keyword arguments are passed to the
estimator unchanged. Tolerances are in the estimator's
units (nats unless ``base`` is passed through ``kwargs``) and should be a few
standard errors of the estimator at the given sample size.
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import NamedTuple

import numpy as np

from ._docs import fill
from ._validation import as_samples, check_rng, check_same_n

__all__ = [
    "ConsistencyResult",
    "SelfConsistencyReport",
    "independence_check",
    "data_processing_check",
    "additivity_check",
    "self_consistency",
]


class ConsistencyResult(NamedTuple):
    r"""Outcome of one self-consistency check.

    Attributes
    ----------
    check : str
        ``"independence"``, ``"data_processing"`` or ``"additivity"``.
    passed : bool
        Whether ``statistic`` is within ``tolerance`` of what it should be.
    statistic : float
        The quantity checked: the estimate on shuffled data (independence,
        should be 0); :math:`\hat I(X; f(Y)) - \hat I(X; Y)` (data processing,
        should be <= 0); :math:`\hat I_{12} - (\hat I_1 + \hat I_2)`
        (additivity, should be 0).
    tolerance : float
        The allowed deviation, in the estimator's units.
    estimates : dict
        Every MI estimate that went into the statistic, by name.
    """

    check: str
    passed: bool
    statistic: float
    tolerance: float
    estimates: dict


class SelfConsistencyReport(NamedTuple):
    """The three checks of :func:`self_consistency`; ``passed`` is True when all pass."""

    independence: ConsistencyResult
    data_processing: ConsistencyResult
    additivity: ConsistencyResult
    passed: bool


def _estimator(estimator):
    """A function f(x, y, **kwargs) -> float from a method name or a callable."""
    if isinstance(estimator, str):
        from .mutual_info import MI_METHODS

        func = MI_METHODS.resolve(estimator)  # raises a ValueError listing the valid names
    elif callable(estimator):
        func = estimator
    else:
        raise TypeError(
            "estimator must be a method name of mutual_information (e.g. 'ksg', 'mine') or a "
            f"callable f(x, y, **kwargs) -> float; got {type(estimator).__name__}"
        )

    try:
        params = inspect.signature(func).parameters
        takes_seed = "seed" in params  # named explicitly: **kwargs may not forward it anywhere
    except (TypeError, ValueError):  # builtins and odd callables
        takes_seed = False

    def call(x, y, kwargs, seed):
        if takes_seed and seed is not None:
            kwargs = {**kwargs, "seed": seed}
        out = func(x, y, **kwargs)
        value = getattr(out, "value", out)  # result objects (return_result=True) carry .value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"the estimator returned {type(out).__name__}; it must return a float (or an "
                "object with a float .value)"
            )
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(
                f"the estimator returned {value}; a self-consistency check needs finite estimates"
            )
        return value

    return call


def _estimator_seed(seed, rng):
    """The seed handed to an estimator that takes ``seed=``: drawn from the check's generator.

    ``None`` (no seed given) leaves the estimator unseeded.
    """
    return None if seed is None else int(rng.integers(2**32))


def _check_tol(value, name):
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    if not (ok and value >= 0 and math.isfinite(value)):
        raise ValueError(
            f"{name} must be a finite real number >= 0 (in the estimator's units); got {value!r}"
        )
    return float(value)


def _samples(x, y, seed):
    """The checked pairs as (n, d) arrays, their number and the check's generator."""
    X, Y = as_samples(x, "x"), as_samples(y, "y")
    return X, Y, check_same_n(x=X, y=Y), check_rng(seed)


# docstring pieces shared by the checks
_DOC = dict(
    estimator="""estimator : str or callable
        A method name of ``mutual_information`` or ``f(x, y, **kwargs) -> float``.""",
    xy="""x, y : array-like of shape (n_samples,) or (n_samples, n_features)
        Paired samples.""",
)


@fill(**_DOC)
def independence_check(estimator, x, y, *, tol=0.05, seed=None, **kwargs) -> ConsistencyResult:
    r"""Check that the estimate vanishes once the pairing of x and y is destroyed.

    The rows of ``y`` are permuted at random (seeded), which makes the pairs
    independent while keeping both marginals, and the estimate
    :math:`\hat I(X; Y_\pi)` must satisfy :math:`|\hat I| \le` ``tol``.

    Parameters
    ----------
    %(estimator)s
    %(xy)s
    tol : float, default 0.05
        Allowed absolute deviation from 0, in the estimator's units.
    seed : int or numpy.random.Generator, optional
        Seed for the permutation; an estimator that takes ``seed=`` gets an
        integer drawn from it, so one seed makes the whole check reproducible.
    **kwargs
        Passed to the estimator (``k=``, ``seed=``, ``base=``, ...).

    Returns
    -------
    ConsistencyResult
        ``statistic`` is the estimate on the shuffled data; ``estimates`` holds
        it as ``"shuffled"``.

    References
    ----------
    J. Song, S. Ermon, "Understanding the limitations of variational mutual
    information estimators", ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.self_consistency import independence_check
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = x + rng.standard_normal(2000)
    >>> res = independence_check("ksg", x, y, tol=0.03, seed=1)
    >>> res.passed, round(res.statistic, 2)
    (True, 0.0)
    """
    f = _estimator(estimator)
    tol = _check_tol(tol, "tol")
    X, Y, n, rng = _samples(x, y, seed)
    Yp = Y[rng.permutation(n)]
    est_seed = _estimator_seed(seed, rng)
    v = f(X, Yp, kwargs, est_seed)
    return ConsistencyResult("independence", abs(v) <= tol, v, tol, {"shuffled": v})


@fill(**_DOC)
def data_processing_check(
    estimator, x, y, transform=None, *, tol=0.02, seed=None, **kwargs
) -> ConsistencyResult:
    r"""Check the data-processing inequality :math:`\hat I(X; f(Y)) \le \hat I(X; Y)`.

    Any transformation of y, deterministic or with noise independent of x,
    forms a Markov chain :math:`X \to Y \to f(Y)`, so it cannot raise the MI.
    The check passes when :math:`\hat I(X; f(Y)) - \hat I(X; Y) \le` ``tol``.

    Parameters
    ----------
    %(estimator)s
    %(xy)s
    transform : callable, optional
        ``transform(y) -> array`` with one row per sample (y is passed as a
        float64 array of shape (n, d)). Default: add independent Gaussian noise
        with each column's standard deviation (a seeded noisy channel, which
        halves the signal-to-noise ratio of every column).
    tol : float, default 0.02
        Allowed excess of :math:`\hat I(X; f(Y))` over :math:`\hat I(X; Y)`.
    seed : int or numpy.random.Generator, optional
        Seed for the default transform's noise and, through an integer drawn
        from it, for an estimator that takes ``seed=``.
    **kwargs
        Passed to the estimator.

    Returns
    -------
    ConsistencyResult
        ``statistic`` is :math:`\hat I(X; f(Y)) - \hat I(X; Y)`; ``estimates``
        holds ``"xy"`` and ``"x_fy"``.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.self_consistency import data_processing_check
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((5000, 2))
    >>> y = x + rng.standard_normal((5000, 2))
    >>> res = data_processing_check("gaussian", x, y, transform=lambda v: v[:, :1])
    >>> res.passed, round(res.estimates["xy"], 2), round(res.estimates["x_fy"], 2)
    (True, 0.69, 0.35)
    """
    f = _estimator(estimator)
    tol = _check_tol(tol, "tol")
    X, Y, n, rng = _samples(x, y, seed)
    if transform is None:
        fY = Y + Y.std(axis=0) * rng.standard_normal(Y.shape)
    elif callable(transform):
        fY = as_samples(transform(Y.copy()), "transform(y)")
        if fY.shape[0] != n:
            raise ValueError(
                f"transform(y) must return one row per sample ({n}); got shape {np.shape(fY)}"
            )
    else:
        raise TypeError(f"transform must be a callable transform(y) -> array or None; got {transform!r}")
    est_seed = _estimator_seed(seed, rng)
    i_xy = f(X, Y, kwargs, est_seed)
    i_xfy = f(X, fY, kwargs, est_seed)
    stat = i_xfy - i_xy
    return ConsistencyResult("data_processing", stat <= tol, stat, tol, {"xy": i_xy, "x_fy": i_xfy})


@fill(**_DOC)
def additivity_check(
    estimator, x, y, x2=None, y2=None, *, atol=0.02, rtol=0.1, seed=None, **kwargs
) -> ConsistencyResult:
    r"""Check additivity under independence: I([X1, X2]; [Y1, Y2]) = I(X1; Y1) + I(X2; Y2).

    For two pairs :math:`(X_1, Y_1)` and :math:`(X_2, Y_2)` independent of
    each other the MI of the stacked variables is the sum. Without ``x2`` and
    ``y2`` the samples are shuffled (seeded) and split into two halves, which
    are independent draws of the same pair: then the joint estimate should be
    twice the single one, the test of Song & Ermon (2020). The check passes
    when :math:`|\hat I_{12} - (\hat I_1 + \hat I_2)| \le` ``atol`` +
    ``rtol`` :math:`\cdot |\hat I_1 + \hat I_2|`.

    Parameters
    ----------
    %(estimator)s
    x, y : array-like of shape (n_samples,) or (n_samples, n_features)
        The first pair (or the only one, to be split in halves).
    x2, y2 : array-like, optional
        A second pair with the same number of samples, independent of the first.
    atol, rtol : float, default 0.02 and 0.1
        Absolute and relative tolerance.
    seed : int or numpy.random.Generator, optional
        Seed for the shuffle before splitting and, through an integer drawn
        from it, for an estimator that takes ``seed=``.
    **kwargs
        Passed to the estimator.

    Returns
    -------
    ConsistencyResult
        ``statistic`` is :math:`\hat I_{12} - (\hat I_1 + \hat I_2)`;
        ``estimates`` holds ``"pair1"``, ``"pair2"`` and ``"joint"``;
        ``tolerance`` is the resulting absolute bound.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.self_consistency import additivity_check
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(20000)
    >>> y = x + rng.standard_normal(20000)       # 0.5 ln 2 = 0.35 nats per half
    >>> res = additivity_check("gaussian", x, y, seed=0)
    >>> res.passed, round(res.estimates["joint"], 2)
    (True, 0.69)
    """
    f = _estimator(estimator)
    atol = _check_tol(atol, "atol")
    rtol = _check_tol(rtol, "rtol")
    X, Y, n, rng = _samples(x, y, seed)
    if (x2 is None) != (y2 is None):
        raise ValueError(
            "pass both x2 and y2 (a second, independent pair), or neither to split x, y in halves"
        )
    if x2 is None:
        if n < 4:
            raise ValueError(f"additivity_check needs at least 4 samples to split in halves; got {n}")
        perm = rng.permutation(n)
        h = n // 2
        X1, Y1, X2, Y2 = X[perm[:h]], Y[perm[:h]], X[perm[h : 2 * h]], Y[perm[h : 2 * h]]
    else:
        X1, Y1 = X, Y
        X2, Y2 = as_samples(x2, "x2"), as_samples(y2, "y2")
        n2 = check_same_n(x2=X2, y2=Y2)
        if n2 != n:
            raise ValueError(
                f"x2 and y2 must have as many samples as x and y ({n}); got {n2}. The stacked "
                "variables pair sample i of the first pair with sample i of the second"
            )
    est_seed = _estimator_seed(seed, rng)
    i1 = f(X1, Y1, kwargs, est_seed)
    i2 = f(X2, Y2, kwargs, est_seed)
    i12 = f(np.hstack([X1, X2]), np.hstack([Y1, Y2]), kwargs, est_seed)
    stat = i12 - (i1 + i2)
    bound = atol + rtol * abs(i1 + i2)
    return ConsistencyResult(
        "additivity", abs(stat) <= bound, stat, bound, {"pair1": i1, "pair2": i2, "joint": i12}
    )


@fill(**_DOC)
def self_consistency(
    estimator, x, y, *, transform=None, tol=0.05, dpi_tol=0.02, atol=0.02, rtol=0.1, seed=None, **kwargs
) -> SelfConsistencyReport:
    r"""Run the three self-consistency checks of Song & Ermon (2020) on one data set.

    Parameters
    ----------
    %(estimator)s
    %(xy)s
    transform : callable, optional
        The processing of y for :func:`data_processing_check` (default: noise).
    tol : float, default 0.05
        Tolerance of :func:`independence_check`.
    dpi_tol : float, default 0.02
        Tolerance of :func:`data_processing_check`.
    atol, rtol : float, default 0.02 and 0.1
        Tolerances of :func:`additivity_check`.
    seed : int or numpy.random.Generator, optional
        Seeds the shuffles, the split, the default transform's noise and an
        estimator that takes ``seed=``.
    **kwargs
        Passed to the estimator in every call.

    Returns
    -------
    SelfConsistencyReport
        The three :class:`ConsistencyResult` objects and ``passed`` (all three).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.self_consistency import self_consistency
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((4000, 2))
    >>> y = x + rng.standard_normal((4000, 2))
    >>> report = self_consistency("gaussian", x, y, seed=0)
    >>> report.passed, [r.passed for r in report[:3]]
    (True, [True, True, True])
    """
    rng = check_rng(seed)
    ind = independence_check(estimator, x, y, tol=tol, seed=rng, **kwargs)
    dpi = data_processing_check(estimator, x, y, transform, tol=dpi_tol, seed=rng, **kwargs)
    add = additivity_check(estimator, x, y, atol=atol, rtol=rtol, seed=rng, **kwargs)
    return SelfConsistencyReport(ind, dpi, add, ind.passed and dpi.passed and add.passed)
