r"""Transfer entropy and active information storage of time series.

* Transfer entropy (Schreiber 2000), conditional transfer entropy and active
  information storage (Lizier et al. 2012), each computed as the conditional
  mutual information (or mutual information) it is defined as, on the delay
  embedding, by the same sums as the estimators of :mod:`estimators.mutual_info`
  (the shared internals :mod:`estimators._neighbors`, :mod:`estimators._gaussian`
  and :mod:`estimators._discrete`), so that the values agree with ``cmi_ksg``,
  ``cmi_gaussian``, ``cmi_discrete`` and ``mi_*`` of the embedded variables
  while checks and messages speak of the series (target future, source past,
  target past).

Every estimator returns nats unless ``base`` is given (``base=2`` gives bits).
The significance test for transfer entropy is :func:`estimators.surrogates.surrogate_test`.

Conventions specific to this module
-----------------------------------
Transfer entropy and active information storage follow the library-wide
convention: samples (time) along axis 0, so a 2-D ``source`` of shape
``(n_times, d)`` is one d-dimensional series.
"""

from __future__ import annotations

import functools
import inspect
import math

import numpy as np

from . import _neighbors, _ordinal, _torch_neighbors
from ._discrete import (
    check_correction,
    cmi_codes,
    cmi_table,
    coded,
    compact_codes,
    dense_fits,
    h_codes,
    joint_codes,
    row_codes,
)
from ._discrete_kernels import horner_codes, slice_alphabets, window_counts
from ._docs import fill
from ._gaussian import gaussian_cmi, gaussian_logdet
from ._neighbors import RepeatedPointsError
from ._ordinal import check_length, check_order
from ._registry import MethodRegistry
from ._validation import (
    _is_torch_tensor,
    add_noise,
    as_samples,
    check_k,
    check_noise,
    check_positive_int,
    check_rng,
    check_same_n,
    pow2_rescale,
    standardize_columns,
    to_base,
    warn,
    warn_undersampled,
)
from .mutual_info import MI_METHODS

__all__ = [
    "transfer_entropy",
    "te_ksg",
    "te_gaussian",
    "te_discrete",
    "te_ordinal",
    "active_information_storage",
    "TE_METHODS",
]

#: Method names and aliases of :func:`transfer_entropy`
#: (``TE_METHODS.names``, ``TE_METHODS.aliases``).
#:
#: :meta hide-value:
TE_METHODS = MethodRegistry("transfer_entropy")


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
    """The five lags of the embedding, checked in this order."""
    return (
        check_positive_int(history, "history"),
        check_positive_int(source_history, "source_history"),
        check_positive_int(delay, "delay"),
        check_positive_int(condition_history, "condition_history"),
        check_positive_int(condition_delay, "condition_delay"),
    )


def _te_start(src, tgt, conds, history, source_history, delay, condition_history, condition_delay):
    """The series' common length n and the first time t0 with a full past (n - t0 >= 3 checked)."""
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
    return n, t0


def _te_embed(src, tgt, conds, history, source_history, delay, condition_history, condition_delay):
    """Future, source past and conditioning past (target past, then conditions) as 2-D arrays.

    ``src``, ``tgt`` and each element of ``conds`` are 2-D arrays with time along axis 0.
    """
    n, t0 = _te_start(src, tgt, conds, history, source_history, delay, condition_history, condition_delay)
    future = np.ascontiguousarray(tgt[t0:])
    source_past = _lag_block(src, delay, source_history, t0)
    past = [_lag_block(tgt, 1, history, t0)]
    past += [_lag_block(c, condition_delay, condition_history, t0) for c in conds]
    return future, source_past, np.ascontiguousarray(np.hstack(past))


def _continuous_inputs(source, target, condition):
    """Float64 arrays (n, d) of each series (lists, arrays or tensors; NaN and inf refused)."""
    src = as_samples(source, "source")
    tgt = as_samples(target, "target")
    conds = [as_samples(c, name) for c, name in _condition_parts(condition)]
    return src, tgt, conds


def _discrete_inputs(source, target, condition):
    """Integer codes (n, 1) of each series (a 2-D series is one joint symbol per row), and alphabets.

    Returns ``(src, tgt, conds, alph)`` with ``alph`` the number of symbols of source, target
    and each condition, in that order.
    """
    parts = [coded(source, "source"), coded(target, "target")]
    parts += [coded(c, name) for c, name in _condition_parts(condition)]
    codes = [c[:, None] for c, _ in parts]
    return codes[0], codes[1], codes[2:], [m for _, m in parts]


def _ordinal_inputs(source, target, condition, *, order: int, tau: int):
    """Ordinal-pattern labels (n - (order-1) tau, 1) of each series (each column a symbol, joined)."""
    src, tgt, conds = _continuous_inputs(source, target, condition)
    check_same_n(source=src, target=tgt, **{f"condition_{i}": c for i, c in enumerate(conds)})
    src = _pattern_labels(src, order, tau, "source")
    tgt = _pattern_labels(tgt, order, tau, "target")
    return src, tgt, [_pattern_labels(c, order, tau, "condition") for c in conds]


def _te_variables(source, target, condition, lags, read=_continuous_inputs):
    """The checked, embedded variables of a TE: target future, source past, target past (+ conditions).

    ``read(source, target, condition)`` checks the series and returns them as 2-D arrays (time
    along axis 0); ``lags`` are ``(history, source_history, delay, condition_history,
    condition_delay)``, checked after the series.
    """
    src, tgt, conds = read(source, target, condition)
    return _te_embed(src, tgt, conds, *_te_params(*lags))


def _symbolise(X: np.ndarray, order: int, tau: int, name: str) -> np.ndarray:
    """Ordinal-pattern codes of each column of X (n, d), aligned at the window's last value.

    Row t of the result is the pattern of (x_{t}, ..., x_{t + (order-1) tau}); dropping the
    first (order-1) tau time points of every series aligns it with time t + (order-1) tau.
    """
    S = np.ascontiguousarray(X.T)
    n_windows = check_length(S.shape[1], order, tau, name, True)
    codes, _, tied = _ordinal.ordinal_codes(S, order, tau, False, _ordinal.BLOCK, 0)
    share = float(tied.max()) / n_windows
    if share > _ordinal.TIE_WARN:
        warn(
            f"{name}: {100 * share:.1f}% of the ordinal windows contain equal values; ties are "
            "ordered by position, which over-counts increasing patterns. Add small seeded noise "
            "for rounded data")
    return np.ascontiguousarray(codes.T)


def _pattern_labels(X: np.ndarray, order: int, tau: int, name: str) -> np.ndarray:
    """One label (n_windows, 1) per time point for the joint ordinal patterns of the columns of X."""
    return row_codes(_symbolise(X, order, tau, name))[:, None]


def _plugin_te_series(src, tgt, conds, lags, correction, base, what: str, alph=None) -> float:
    """Plug-in TE of code series ``(n, 1)`` (codes ``0..m-1``): ``cmi_discrete`` of the embedding.

    When the joint table of the embedded symbols is small (:func:`estimators._discrete.
    dense_fits`), one numba pass (:func:`estimators._discrete_kernels.window_counts`) counts
    the joint symbol (source window, condition pasts, target past and future) straight from
    the series, rolling the windows, and the plug-in CMI is summed over the non-empty cells
    of the table; otherwise the embedding is built and its joint symbols are compacted
    (:func:`_plugin_te`). Both give the same value (to round-off). ``alph``: the numbers of
    symbols of source, target and conditions, when known.
    """
    history, source_history, delay, condition_history, condition_delay = _te_params(*lags)
    n, t0 = _te_start(src, tgt, conds, history, source_history, delay, condition_history, condition_delay)
    series = [np.ascontiguousarray(v[:, 0], dtype=np.int64) for v in [src, tgt, *conds]]
    if alph is None:
        alph = [int(v.max()) + 1 for v in series]
    a_s, a_t = alph[0], alph[1]
    m_c = math.prod(a**condition_history for a in alph[2:])
    span_s, top_t = a_s**source_history, a_t**history
    cells = span_s * m_c * top_t * a_t
    if not dense_fits(cells, n - t0):
        lagged = (history, source_history, delay, condition_history, condition_delay)
        return _plugin_te(*_te_embed(src, tgt, conds, *lagged), correction, base, what)
    # columns of the embedding: target future, source past, target past, each condition's past
    col_series = [1] + [0] * source_history + [1] * history
    col_lag = [0] + list(range(delay, delay + source_history)) + list(range(1, history + 1))
    for i in range(len(conds)):
        col_series += [2 + i] * condition_history
        col_lag += list(range(condition_delay, condition_delay + condition_history))
    as_int = lambda v: np.asarray(v, dtype=np.int64)  # noqa: E731
    S = None
    if conds or cells * 10 > n - t0:
        S = np.vstack(series)
    if cells * 10 > n - t0:  # the warning can apply: the alphabets of the columns on the samples used
        m = slice_alphabets(S, as_int(alph), as_int(col_series), as_int(col_lag), t0)
        m_x = math.prod(int(v) for v in m[1:1 + source_history])
        _warn_states(int(m[0]), m_x, math.prod(int(v) for v in m[1 + source_history:]), n - t0, what)
    if conds:  # one code per time step for all condition lags
        c0 = 1 + source_history + history
        zc = horner_codes(S, as_int(alph), as_int(col_series[c0:]), as_int(col_lag[c0:]), t0)
    else:
        zc = series[1]  # not read (m_c = 1)
    counts = window_counts(series[0], a_s, source_history, delay, series[1], a_t, history, zc, m_c, t0)
    # cell (x * M_z + z) * M_y + y: X the source window, Z (conditions, target past), Y the future
    te = cmi_table(counts, span_s, m_c * top_t, a_t, correction)
    return to_base(te, base)


def _plugin_te(future, source_past, past, correction, base, what: str) -> float:
    """Plug-in TE of embedded symbols: the value of ``cmi_discrete`` on the same symbols.

    Joint symbols are coded lexicographically (:func:`estimators._discrete.row_codes`), as
    ``cmi_discrete`` does with ``np.unique(axis=0)``, so the counts, and the sums over them,
    come in the same order.
    """
    _warn_state_space(future, source_past, past, what)
    te = cmi_codes(row_codes(future), row_codes(source_past), row_codes(past), correction)
    return to_base(te, base)


def _warn_state_space(future, source_past, past, what: str):
    """Warn when the joint state space of a plug-in TE/CMI is large relative to the sample."""

    def alphabet(block):
        return [int(compact_codes(block[:, j]).max()) + 1 for j in range(block.shape[1])]

    m_y = alphabet(future)[0]
    _warn_states(m_y, math.prod(alphabet(source_past)), math.prod(alphabet(past)), future.shape[0], what)


def _warn_states(m_y: int, m_x: int, m_z: int, n: int, what: str):
    """The state-space warning for alphabets m_y (future), m_x (source past), m_z (past), n samples."""
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

_BASE_DOC = """base : float, optional
        Logarithm base; ``None`` gives nats."""
_te_doc = fill(te_params=_TE_PARAMS_DOC, base=_BASE_DOC)


@TE_METHODS.register("ksg", "kraskov", "knn", "frenzel_pompe")
@_te_doc
def te_ksg(source, target, *, history=1, source_history=1, delay=1, condition=None,
           condition_history=1, condition_delay=1, k=4, standardize=True, noise=0.0, seed=None,
           base=None) -> float:
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
    %(base)s

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
    >>> from estimators.transfer import te_ksg
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(5000)
    >>> y = np.r_[0.0, 0.8 * x[:-1]] + 0.6 * rng.standard_normal(5000)
    >>> round(te_ksg(x, y), 1)       # 0.5 ln(1 + 0.64 / 0.36) = 0.51
    0.5
    """
    # cmi_ksg(fut, sp, past, ...) step by step, with advice in terms of transfer entropy
    lags = (history, source_history, delay, condition_history, condition_delay)
    dev = _torch_neighbors.search_device(source, target, condition)  # accelerator tensors: search there
    fut, sp, past = _te_variables(source, target, condition, lags)
    parts, n, k = _ksg_parts({"fut": fut, "sp": sp, "past": past}, k, standardize, noise, seed)
    cmi_terms = (_neighbors.cmi_ksg_terms if dev is None
                 else functools.partial(_torch_neighbors.cmi_ksg_terms, device=dev))
    try:
        te, terms = cmi_terms(
            parts["fut"], parts["sp"], parts["past"], k, "target future, source past and target past"
        )
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


def _ksg_parts(parts: dict, k, standardize, noise, seed):
    """``prepare_continuous`` for the embedded TE variables, its tie warning in terms of the series.

    Returns the prepared arrays, the number of samples and the checked ``k``.
    """
    parts = _neighbors.rescale_inputs(parts, standardize)
    n = parts["fut"].shape[0]
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
    return parts, n, k


@TE_METHODS.register("gaussian", "gauss", "linear", "granger")
@_te_doc
def te_gaussian(source, target, *, history=1, source_history=1, delay=1, condition=None,
                condition_history=1, condition_delay=1, bias_correction=False, base=None) -> float:
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
    %(base)s

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
    >>> from estimators.transfer import te_gaussian
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(100000)
    >>> y = np.r_[0.0, 0.8 * x[:-1]] + 0.6 * rng.standard_normal(100000)
    >>> round(te_gaussian(x, y), 2)   # 0.5 ln(1 + 0.64 / 0.36) = 0.51
    0.51
    """
    # cmi_gaussian(fut, sp, past) step by step, with names of the TE's variables in its messages
    lags = (history, source_history, delay, condition_history, condition_delay)
    fut, sp, past = _te_variables(source, target, condition, lags)
    # per-column powers of two cancel from the CMI and keep the log-determinants O(1)
    X, Y, Z = (pow2_rescale(A, per_column=True)[0] for A in (fut, sp, past))
    past_name = "target past" if condition is None else "target past and conditions"
    names = ("target future", "source past", past_name)
    return to_base(gaussian_cmi(X, Y, Z, bias_correction, names=names), base)


@TE_METHODS.register("discrete", "plugin", "plug_in")
@_te_doc
def te_discrete(source, target, *, history=1, source_history=1, delay=1, condition=None,
                condition_history=1, condition_delay=1, correction=None, base=None) -> float:
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
    %(base)s

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
    :func:`~estimators.surrogates.surrogate_test`'s surrogate mean or its "effective" TE.

    Integer series with a small range are coded without sorting, and when the
    joint table has at most :math:`2^{22}` cells one numba pass counts the
    joint symbol straight from the series (binary series at N = 10⁵ take
    about 0.2 ms, faster than pyinform's C code; see the time-series
    benchmarks). Strings, floats, wide integer ranges and larger state spaces
    take a general path that sorts and compacts the joint codes; both give the
    same value to round-off.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.transfer import te_discrete
    >>> x = np.random.default_rng(0).integers(0, 2, 10000)
    >>> y = np.r_[0, x[:-1]]            # y copies x with lag 1
    >>> round(te_discrete(x, y, base=2), 2)
    1.0
    """
    check_correction(correction)
    lags = (history, source_history, delay, condition_history, condition_delay)
    src, tgt, conds, alph = _discrete_inputs(source, target, condition)
    return _plugin_te_series(src, tgt, conds, lags, correction, base, "discrete transfer entropy", alph)


@TE_METHODS.register("ordinal", "symbolic", "permutation")
@_te_doc
def te_ordinal(source, target, *, history=1, source_history=1, delay=1, condition=None,
               condition_history=1, condition_delay=1, order=3, ordinal_delay=1, correction=None,
               base=None) -> float:
    r"""Symbolic transfer entropy: discrete TE of ordinal-pattern sequences.

    Each series (each column of a multivariate one) is replaced by the
    sequence of its ordinal patterns (Bandt--Pompe symbols; see
    :func:`~estimators.ordinal.permutation_entropy`), the symbol at time *t* being the pattern of
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
    %(base)s

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
    >>> from estimators.transfer import te_ordinal
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(20000)
    >>> y = rng.standard_normal(20000)
    >>> round(te_ordinal(x, y), 2)     # independent: plug-in bias about 0.004
    0.0
    """
    order = check_order(order)
    ordinal_delay = check_positive_int(ordinal_delay, "ordinal_delay")
    check_correction(correction)
    lags = (history, source_history, delay, condition_history, condition_delay)
    read = functools.partial(_ordinal_inputs, order=order, tau=ordinal_delay)
    src, tgt, conds = read(source, target, condition)
    return _plugin_te_series(src, tgt, conds, lags, correction, base, f"ordinal transfer entropy (order {order})")


@functools.lru_cache(maxsize=256)
def _takes_all(func, names: tuple) -> bool:
    """Whether ``func`` accepts every keyword in ``names`` (cached: ``inspect.signature`` is slow).

    False also where the signature cannot be read; the caller then lets the registry check.
    """
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return True
    return all(name in params for name in names)


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
      :func:`~estimators.surrogates.surrogate_test` and report the surrogate mean or effective TE.

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
    >>> from estimators.transfer import transfer_entropy
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
    if _takes_all(func, tuple(kw)):  # what the registry's call does, without its signature read
        return func(source, target, **kw)
    return TE_METHODS.call(func if callable(method) else method, source, target, **kw)


# ----------------------------------------------------------------------------------------------
# active information storage
# ----------------------------------------------------------------------------------------------
# The MI methods whose sums active information storage runs itself on the embedded series (the
# same operations as mi_ksg, mi_gaussian and mi_discrete, with messages about future and past);
# other MI methods are called through MI_METHODS.
_AIS_METHODS = MethodRegistry("active_information_storage")


@_AIS_METHODS.register("ksg")
def _ais_ksg(future, past, *, k=4, variant=1, standardize=True, noise=0.0, seed=None, base=None) -> float:
    """:func:`estimators.mutual_info.mi_ksg` of the embedded series."""
    if variant not in (1, 2) or isinstance(variant, bool):
        raise ValueError(f"variant must be 1 or 2 (KSG estimator 1 or 2); got {variant!r}")
    arrs, n, k = _neighbors.prepare_scaled(
        {"future": future, "past": past}, k=k, standardize=standardize, noise=noise, seed=seed,
        what="KSG active information storage",
    )
    try:
        ais, terms = _neighbors.ksg_terms(arrs["future"], arrs["past"], k, variant)
    except RepeatedPointsError as exc:
        raise ValueError(
            f"x has repeated points: for {exc.n_zero} of the {n} embedded samples the k-th "
            "neighbour in the joint (future, past) space is at distance 0, where the KSG active "
            "information storage is undefined. " + _TE_TIE_ADVICE
        ) from None
    _neighbors.warn_negative(
        ais, terms, "the KSG active information storage estimate", _neighbors.KSG_NEG_CAUSES
    )
    return to_base(ais, base)


@_AIS_METHODS.register("gaussian")
def _ais_gaussian(future, past, *, bias_correction=False, base=None) -> float:
    """:func:`estimators.mutual_info.mi_gaussian` of the embedded series."""
    # per-column powers of two cancel from the MI: rescaling first keeps the log-determinants O(1)
    X, Y = (pow2_rescale(A, per_column=True)[0] for A in (future, past))
    bc = bias_correction
    ais = 0.5 * (
        gaussian_logdet(X, "future", bc) + gaussian_logdet(Y, "past", bc)
        - gaussian_logdet(np.hstack([X, Y]), "(future, past)", bc)
    )
    return to_base(ais, base)


@_AIS_METHODS.register("discrete")
def _ais_discrete(codes, history, *, correction=None, base=None) -> float:
    """:func:`estimators.mutual_info.mi_discrete` of the future symbol and the past vector.

    ``codes`` is the series as codes ``0..m-1`` of shape ``(n, 1)``. Counted in one dense table
    of the ``m^(history+1)`` joint states when that is small (:func:`estimators._discrete.
    dense_fits`), else from the compacted codes of the embedding; the same value either way.
    """
    check_correction(correction)
    x = np.ascontiguousarray(codes[:, 0], dtype=np.int64)
    n_emb = x.size - history
    m = int(x.max()) + 1
    top = m**history
    if dense_fits(top * m, n_emb):  # cell past * m + future: X the past, Y the future, no Z
        counts = window_counts(x, 1, 0, 0, x, m, history, x, 1, history)
        m_future = int(np.count_nonzero(counts.reshape(top, m).any(axis=0)))  # symbols of x[history:]
        _warn_ais_states(m_future, n_emb, history)
        return to_base(cmi_table(counts, top, 1, m, correction), base)
    _warn_ais_states(int(np.count_nonzero(np.bincount(x[history:]))), n_emb, history)
    future = compact_codes(x[history:])
    past = row_codes(_lag_block(codes, 1, history, history))  # one symbol per past vector
    h_joint = h_codes(joint_codes(future, past), correction)
    ais = h_codes(future, correction) + h_codes(past, correction) - h_joint
    return to_base(max(ais, 0.0) if correction is None else ais, base)


_ORDINAL_NAMES = ("ordinal", "symbolic", "permutation")


def _ais_series(x, method, kwargs: dict):
    """The checked series (n, d), the AIS method's own name (None: another MI method) and its function.

    ``"ordinal"`` turns x into ordinal-pattern labels (popping ``order`` and ``ordinal_delay``
    from ``kwargs``) and estimates their plug-in MI.
    """
    if isinstance(method, str) and MethodRegistry.normalise(method) in _ORDINAL_NAMES:
        order = check_order(kwargs.pop("order", 3))
        tau = check_positive_int(kwargs.pop("ordinal_delay", 1), "ordinal_delay")
        return _pattern_labels(as_samples(x, "x"), order, tau, "x"), "discrete", _ais_discrete
    func = MI_METHODS.resolve(method)
    own = next((name for name in _AIS_METHODS.names if func is MI_METHODS.resolve(name)), None)
    if own == "discrete":
        return coded(x, "x")[0][:, None], own, func
    return as_samples(x, "x"), own, func


def _warn_ais_states(m: int, n: int, history: int) -> None:
    """Warn when the plug-in AIS of n samples of a future with m symbols has many joint states."""
    states = m ** (history + 1)
    if states * 10 > n:
        warn(
            f"active information storage: {states:,} possible joint states for "
            f"{n:,} samples; the plug-in estimate is biased upwards (about "
            f"{(m - 1) * (m**history - 1) / (2.0 * n):.3g} nats for an "
            "independent sequence). Use a shorter history or more samples")


@_te_doc
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
    %(base)s
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
    >>> from estimators.transfer import active_information_storage
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
    X, own, func = _ais_series(x, method, kwargs)
    if own is not None:
        func = _AIS_METHODS.resolve(own)
    if _accepts(func, "k"):
        kwargs["k"] = k
    n = X.shape[0]
    if n - history < 3:
        raise ValueError(
            f"x has {n} time points; history={history} leaves fewer than 3 embedded samples. "
            "Pass a longer series or a shorter history"
        )
    if own == "discrete":
        func = _AIS_METHODS.resolve(own)
        if _takes_all(func, ("base", *kwargs)):  # the registry's call, without its signature read
            return func(X, history, base=base, **kwargs)
        return _AIS_METHODS.call(own, X, history, base=base, **kwargs)
    future = np.ascontiguousarray(X[history:])
    past = _lag_block(X, 1, history, history)
    if own is None:
        return MI_METHODS.call(method, future, past, base=base, **kwargs)
    return _AIS_METHODS.call(own, future, past, base=base, **kwargs)
