r"""Higher-order measures of many multiplets at once: :func:`o_information_multiplets`.

The O-information (or total correlation, dual total correlation, S-information) of every
subset of a given size of the variables, or of a given list of subsets. For the Gaussian
methods the data are read once and the log-determinants of the sub-matrices of one
correlation matrix are computed in batches (the numba kernel of
:mod:`estimators._higher_order_kernels`).

The measures, their sign convention (Ω > 0 redundancy, Ω < 0 synergy) and the estimators
of one set of variables are in :mod:`estimators.higher_order`, which re-exports this
module's names: ``from estimators.higher_order import o_information_multiplets`` works as
before.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import numbers
from typing import Callable, NamedTuple

import numpy as np

from ._discrete import check_correction
from ._higher_order_kernels import (
    Vars,
    check_n_vars,
    codes_tc_dtc,
    continuous_vars,
    discrete_vars,
    gaussian_correlation,
    gaussian_multiplets,
    ksg_blocks_tc_dtc,
    ksg_prepared,
    warn_sparse,
)
from ._registry import MethodRegistry
from ._validation import check_flag, log_base

__all__ = ["o_information_multiplets", "OInformationMultiplets"]

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


class _Measure(NamedTuple):
    """What ``measure=`` selects: its registry, its minimum size and its (TC, DTC) combination."""

    registry: MethodRegistry
    minimum: int
    combine: Callable
    quantity: str


@functools.cache
def _measures() -> dict[str, _Measure]:
    # higher_order imports this module (to re-export it), so its registries are read on
    # first use rather than at import time.
    from . import higher_order as ho

    return {
        "o_information": _Measure(ho.OINFO_METHODS, 3, lambda tc, dtc: tc - dtc, "O-information"),
        "total_correlation": _Measure(ho.TC_METHODS, 2, lambda tc, dtc: tc, "total correlation"),
        "dual_total_correlation": _Measure(
            ho.DTC_METHODS, 2, lambda tc, dtc: dtc, "dual total correlation"
        ),
        "s_information": _Measure(ho.SINFO_METHODS, 2, lambda tc, dtc: tc + dtc, "S-information"),
    }


@functools.cache
def _method_kinds() -> dict[Callable, str]:
    """The sixteen method functions of :mod:`estimators.higher_order` -> their kind."""
    from . import higher_order as ho

    return {
        getattr(ho, f"{family}_{kind}"): kind
        for family in ("oinfo", "tc", "dtc", "sinfo")
        for kind in ("gaussian", "gaussian_copula", "ksg", "discrete")
    }


def _measure(measure) -> _Measure:
    table = _measures()
    if measure not in table:
        raise ValueError(f"measure must be one of {', '.join(repr(m) for m in table)}; got {measure!r}")
    return table[measure]


def _check_kwargs(func, kwargs, method, quantity):
    """Refuse keywords the method function does not take (``X`` and ``base`` are set here)."""
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


def _given_subsets(subsets, p: int, minimum: int, quantity: str) -> list[list[int]]:
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
    spec = _measure(measure)
    func = spec.registry.resolve(method)
    kind = _method_kinds().get(func)  # None: a user callable, evaluated subset by subset
    if kind is not None:
        _check_kwargs(func, kwargs, method, measure)
    V = discrete_vars(X) if kind == "discrete" else continuous_vars(X)
    check_n_vars(V.p, spec.minimum, spec.quantity)
    if subsets is None:
        groups = [_all_subsets(V.p, s) for s in _sizes(size, V.p, spec.minimum, spec.quantity)]
        rows = None
    else:
        groups = None
        rows = _given_subsets(subsets, V.p, spec.minimum, spec.quantity)
    need_dtc = measure != "total_correlation"

    if kind in ("gaussian", "gaussian_copula"):
        values = _gaussian_values(V, kind == "gaussian_copula", kwargs, groups, rows, spec, need_dtc)
    else:
        if groups is not None:
            rows = [list(r) for g in groups for r in g]
        values = _values_one_by_one(V, kind, func, kwargs, rows, spec, need_dtc)
    return OInformationMultiplets(_padded(groups, rows), values / log_base(base))


def _gaussian_values(V: Vars, copula: bool, kwargs, groups, rows, spec: _Measure, need_dtc):
    """Values of all multiplets from one correlation matrix, in batches of one size each."""
    bc = kwargs.get("bias_correction", False)
    check_flag(bc, "bias_correction")
    R = gaussian_correlation(V, copula, spec.quantity)
    if groups is not None:
        tcs, dtcs = gaussian_multiplets(R, V.n, V, groups, bc, need_dtc, spec.quantity)
        return np.concatenate([spec.combine(t, d) for t, d in zip(tcs, dtcs)])
    # group the given subsets by size (batched), then restore the caller's order
    sizes = np.array([len(r) for r in rows])
    values = np.empty(len(rows))
    for s in np.unique(sizes):
        idx = np.nonzero(sizes == s)[0]
        sub = np.array([rows[i] for i in idx], dtype=np.int64).reshape(idx.size, s)
        tcs, dtcs = gaussian_multiplets(R, V.n, V, [sub], bc, need_dtc, spec.quantity)
        values[idx] = spec.combine(tcs[0], dtcs[0])
    return values


def _values_one_by_one(V: Vars, kind, func, kwargs, rows, spec: _Measure, need_dtc):
    """Values of the multiplets ``rows`` evaluated in turn: KSG, plug-in, or a user callable.

    The data are prepared once (standardised and jittered, or coded); a user callable gets
    the list of a subset's variables and computes the measure itself.
    """
    if kind == "ksg":
        arrs, k = ksg_prepared(
            V,
            k=kwargs.get("k", 4),
            standardize=kwargs.get("standardize", True),
            noise=kwargs.get("noise", 0.0),
            seed=kwargs.get("seed"),
            what=spec.quantity,
        )

        def one(sub):
            return spec.combine(*ksg_blocks_tc_dtc([arrs[j] for j in sub], k, need_dtc))

    elif kind == "discrete":
        correction = kwargs.get("correction")
        check_correction(correction)
        codes = V.codes()

        def one(sub):
            return spec.combine(*codes_tc_dtc([codes[j] for j in sub], correction, need_dtc))

    else:
        cols = [V.columns(j) for j in range(V.p)]

        def one(sub):
            return float(func([cols[j] for j in sub], base=None, **kwargs))

    values = np.array([one(r) for r in rows], dtype=np.float64)
    if kind == "discrete":
        warn_sparse([codes[j] for j in max(rows, key=len)], spec.quantity)
    return values


def _padded(groups, rows) -> np.ndarray:
    """The multiplets as one int64 array, rows of smaller multiplets padded with -1."""
    if groups is not None:
        width = max(g.shape[1] for g in groups)
        sub_out = np.full((sum(g.shape[0] for g in groups), width), -1, dtype=np.int64)
        start = 0
        for g in groups:
            sub_out[start : start + g.shape[0], : g.shape[1]] = g
            start += g.shape[0]
        return sub_out
    width = max(len(r) for r in rows)
    sub_out = np.full((len(rows), width), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        sub_out[i, : len(r)] = r
    return sub_out
