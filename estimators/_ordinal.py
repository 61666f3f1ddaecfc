"""Numba kernels for ordinal (Bandt--Pompe) patterns.

A window of ``order`` values spaced ``delay`` apart is mapped to the integer
Lehmer code of its rank vector. With ties broken by position (stable order, as
ordpy and antropy do) the rank of element *i* is
``#{j: x_j < x_i} + #{j < i: x_j == x_i}``, so the Lehmer digit of position *i*,
``L_i = #{j > i: rank_j < rank_i}``, is simply ``#{j > i: x_j < x_i}``. The code
``sum_i L_i (order - 1 - i)!`` (evaluated by Horner's rule in mixed radix) is a
bijection from the ``order!`` patterns onto ``0 .. order! - 1``;
:func:`decode_pattern` inverts it to the argsort of the window.

Kernels take and return arrays and scalars only. The checks of ``order`` and of the
series length that every ordinal measure needs (permutation entropy, statistical
complexity, ordinal transfer entropy and active information storage) live here
too, so that the families share them without importing each other's privates.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._validation import check_positive_int

#: Largest order whose codes fit in int64 (20! < 2**63 < 21!).
MAX_ORDER = 20

#: Windows per parallel work item.
BLOCK = 16384


#: A share of windows holding equal values above this triggers a warning (ties are ordered by
#: position, which over-counts the increasing patterns).
TIE_WARN = 0.05


def check_order(order, name: str = "order") -> int:
    """``order`` as an int between 2 and :data:`MAX_ORDER`; a ``ValueError`` or ``TypeError`` otherwise."""
    order = check_positive_int(order, name, minimum=2)
    if order > MAX_ORDER:
        raise ValueError(
            f"{name} must be between 2 and {MAX_ORDER} ({MAX_ORDER}! is the largest "
            f"pattern count that fits in 64-bit codes); got {order}. Orders above 7 need "
            "more than 5 * order! (over 200,000) windows and are rarely meaningful"
        )
    return order


def check_length(n_times: int, order: int, delay: int, name: str, one_d: bool) -> int:
    """The number of windows of a series of ``n_times`` values; a ``ValueError`` if there is none.

    ``one_d`` says whether the user passed one series (else one series per row, and the
    message says how to pass a series stored as a column).
    """
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


#: Orders up to this use a transition table (order! x order entries; 2.6 MB at order 8).
TABLE_MAX_ORDER = 8


@njit(cache=True, nogil=True)
def _transition_table(order):
    """Code of the next window from the current code and the new value's rank.

    Row ``code``, column ``s``: the code of window ``t + delay`` when window ``t``
    has code ``code`` and the new value ``x_new`` is >= exactly ``s`` of the
    ``order - 1`` values the two windows share. Then ``x_new < x_i`` holds for
    the shared values whose rank among the shared ones is >= ``s`` (ties: the
    later value counts as larger, the stable rule), so
    ``L_i(t + delay) = L_{i+1}(t) + [rank_{i+1} >= s]``.
    """
    n_pat = 1
    for i in range(2, order + 1):
        n_pat *= i
    table = np.empty((n_pat, order), np.int64)
    dig = np.empty(order, np.int64)
    ranks = np.empty(order, np.int64)
    used = np.empty(order, np.bool_)
    for code in range(n_pat):
        c = code
        for i in range(order - 1, -1, -1):  # mixed-radix digits, radix order - i
            dig[i] = c % (order - i)
            c //= order - i
        used[:] = False
        for i in range(order):  # rank_i = the dig[i]-th smallest unused rank
            cnt = -1
            for v in range(order):
                if not used[v]:
                    cnt += 1
                    if cnt == dig[i]:
                        ranks[i] = v
                        used[v] = True
                        break
        for s in range(order):
            new = 0
            for i in range(order - 1):
                q = ranks[i + 1] - (1 if ranks[i + 1] > ranks[0] else 0)  # rank among shared
                new = new * (order - i) + dig[i + 1] + (1 if q >= s else 0)
            table[code, s] = new
    return table


_TABLES = {}


def transition_table(order: int) -> np.ndarray:
    """The (cached) transition table for ``order`` <= TABLE_MAX_ORDER, else an empty array."""
    if order > TABLE_MAX_ORDER:
        return np.empty((0, order), np.int64)
    if order not in _TABLES:
        _TABLES[order] = _transition_table(order)
    return _TABLES[order]


#: Below this many windows (all rows together) the serial kernel is used: a parallel launch
#: waits for its slowest thread, which on a busy machine can cost a whole scheduler time
#: slice (milliseconds) while the serial pass over 10^6 windows takes about 15 ms.
PARALLEL_MIN_WINDOWS = 1 << 21


@njit(cache=True, nogil=True)
def _block(S, order, delay, weighted, row_offset, table, codes, weights, row, start, stop):
    """Codes (and weights) of windows ``start .. stop-1`` of ``row``; returns the tied-window count."""
    nt = 0
    base = row * row_offset
    use_table = table.shape[0] > 0
    dig = np.zeros(order, np.int64)
    for rho in range(min(delay, stop - start)):
        t = start + rho
        last_tie = -1  # largest a over equal pairs (a < b) met on this chain
        code = 0
        for i in range(order - 1):  # first window of the chain: all pairs
            xi = S[row, t + i * delay]
            lehmer = 0
            for j in range(i + 1, order):
                xj = S[row, t + j * delay]
                lehmer += xj < xi
                if xj == xi:
                    last_tie = max(last_tie, t + i * delay)
            dig[i] = lehmer
            code = code * (order - i) + lehmer
        dig[order - 1] = 0
        while True:
            codes[row, t] = code + base
            if last_tie >= t:
                nt += 1
            if weighted:
                m = 0.0
                for i in range(order):
                    m += S[row, t + i * delay]
                m /= order
                v = 0.0
                for i in range(order):
                    d = S[row, t + i * delay] - m
                    v += d * d
                weights[row, t] = v / order
            t += delay
            if t >= stop:
                break
            x_new = S[row, t + (order - 1) * delay]
            if use_table:
                s = 0
                for i in range(order - 1):
                    xi = S[row, t + i * delay]
                    s += xi <= x_new
                    if x_new == xi:
                        last_tie = max(last_tie, t + i * delay)
                code = table[code, s]
            else:
                code = 0
                for i in range(order - 1):
                    xi = S[row, t + i * delay]
                    dig[i] = dig[i + 1] + (x_new < xi)
                    if x_new == xi:
                        last_tie = max(last_tie, t + i * delay)
                    code = code * (order - i) + dig[i]
    return nt


@njit(cache=True, nogil=True)
def _work_item(b, S, order, delay, weighted, block, row_offset, table, codes, weights):
    """Work item ``b``: block ``b % bpr`` of row ``b // bpr`` (``bpr`` blocks per row)."""
    w = codes.shape[1]
    bpr = (w + block - 1) // block
    row = b // bpr
    start = (b % bpr) * block
    stop = min(start + block, w)
    return _block(S, order, delay, weighted, row_offset, table, codes, weights, row, start, stop)


@njit(cache=True, parallel=True, nogil=True)
def _codes_parallel(S, order, delay, weighted, block, row_offset, table, codes, weights, tied_blocks):
    for b in prange(tied_blocks.size):
        tied_blocks[b] = _work_item(b, S, order, delay, weighted, block, row_offset, table, codes, weights)


@njit(cache=True, nogil=True)
def _codes_serial(S, order, delay, weighted, block, row_offset, table, codes, weights, tied_blocks):
    for b in range(tied_blocks.size):
        tied_blocks[b] = _work_item(b, S, order, delay, weighted, block, row_offset, table, codes, weights)


def ordinal_codes(S, order, delay, weighted=False, block=BLOCK, row_offset=0):
    """Ordinal-pattern codes of every window of every row of ``S``.

    Parameters
    ----------
    S : float64 array (n_rows, n_times), C-contiguous
    order, delay : int
    weighted : bool
        Also return the variance (ddof=0) of each window (Fadlallah et al. 2013).
    block : int
        Windows per parallel work item.
    row_offset : int, default 0
        Added to the codes of row ``i`` times ``i`` (pass ``order!`` to count all
        rows with one ``bincount``).

    Returns
    -------
    codes : int64 array (n_rows, n_windows)
    weights : float64 array (n_rows, n_windows), or (n_rows, 0) if not weighted
    tied : int64 array (n_rows,)
        Number of windows holding at least two equal values.

    Notes
    -----
    Windows ``t`` and ``t + delay`` share ``order - 1`` values, and the Lehmer
    digits of the later one follow from those of the earlier one:
    ``L_i(t + delay) = L_{i+1}(t) + [x_new < x_{i+1}]``. Each chain of windows
    ``t, t + delay, ...`` inside a block is started with all
    ``order (order - 1) / 2`` comparisons and continued with ``order - 1``
    comparisons per window: up to order 8 the next code is then read from a
    transition table indexed by the current code and the new value's rank
    (:func:`transition_table`); above, the digits are updated and re-encoded.
    A window holds a tie when the latest start position ``a`` of an equal pair
    ``(a, b)`` met so far on its chain lies inside it. Blocks of windows run in
    parallel from :data:`PARALLEL_MIN_WINDOWS` windows on.
    """
    S = np.ascontiguousarray(S, dtype=np.float64)
    r, n = S.shape
    w = n - (order - 1) * delay
    codes = np.empty((r, w), np.int64)
    weights = np.empty((r, w if weighted else 0), np.float64)
    bpr = (w + block - 1) // block
    tied_blocks = np.zeros(r * bpr, np.int64)
    kernel = _codes_parallel if r * w >= PARALLEL_MIN_WINDOWS else _codes_serial
    kernel(
        S,
        order,
        delay,
        bool(weighted),
        block,
        row_offset,
        transition_table(order),
        codes,
        weights,
        tied_blocks,
    )
    return codes, weights, tied_blocks.reshape(r, bpr).sum(axis=1)


@njit(cache=True, parallel=True, nogil=True)
def coarse_grain(S, scale):
    """Non-overlapping means of ``scale`` consecutive values of each row (Costa et al. 2002)."""
    r, n = S.shape
    m = n // scale
    out = np.empty((r, m), np.float64)
    for row in prange(r):
        for j in range(m):
            acc = 0.0
            for i in range(j * scale, (j + 1) * scale):
                acc += S[row, i]
            out[row, j] = acc / scale
    return out


def decode_pattern(code: int, order: int) -> np.ndarray:
    """The argsort (stable) of a window whose ordinal code is ``code``."""
    digits = []
    c = int(code)
    for i in range(order - 1, -1, -1):  # radices 1, 2, ..., order from the last position
        radix = order - i
        digits.append(c % radix)
        c //= radix
    digits = digits[::-1]  # L_0 .. L_{order-1}
    unused = list(range(order))
    ranks = [unused.pop(d) for d in digits]
    return np.argsort(np.asarray(ranks), kind="stable")


def n_patterns(order: int) -> int:
    return math.factorial(order)
