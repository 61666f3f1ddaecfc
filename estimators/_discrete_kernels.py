"""Numba kernels of the plug-in (discrete) estimators: dense symbol codes and joint counts.

Arrays and scalars in, arrays and scalars out. :mod:`estimators._discrete` and
:mod:`estimators.transfer` check the inputs and pick between these kernels and the general
(compacting) code path.

* :func:`dense_codes` maps integers in a small range ``[lo, lo + size)`` to the codes
  ``0 .. m-1`` of their sorted distinct values (the labels of ``np.unique(x,
  return_inverse=True)``) without sorting;
* :func:`window_counts` counts, in one dense table, the joint symbol of a source window, a
  precomputed condition code and a target window (future and past) at every time step;
* :func:`horner_codes` is the joint code of delayed columns of code series (the condition
  code of :func:`window_counts`);
* :func:`cmi_from_counts` is the plug-in conditional mutual information of such a table;
* :func:`slice_alphabets` counts the distinct symbols of each delayed column on the samples
  that are used (for the state-space warnings).

Window codes
------------
The window of series ``s`` of length ``L`` ending at lag ``u`` is
``w(t) = sum_{j<L} s[t - u - j] * A^j`` (lag ``u`` least significant). It rolls in O(1):
``w(t+1) = s[t+1-u] + A * (w(t) - s[t-u-L+1] * A^(L-1))``. A rolling window is a chain of
dependent operations, so :func:`window_counts` walks four stretches of the series at once
(four independent chains, and four count tables summed at the end while tables are small) and indexes with unsigned
integers (no negative-index wraparound test).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def dense_codes(x, lo, size):
    """Codes ``0 .. m-1`` of int64 ``x`` with values in ``[lo, lo + size)``, in sorted order.

    Returns ``(codes, m, identity)``. When ``lo == 0`` and every value ``0 .. size-1`` occurs
    (found by a scan that stops as soon as all have been seen), ``x`` already holds its codes:
    ``codes`` is ``x`` itself and ``identity`` is True.
    """
    n = x.shape[0]
    table = np.full(size, -1, dtype=np.int64)
    seen = 0
    for i in range(n):
        v = x[i] - lo
        if table[v] < 0:
            table[v] = 0
            seen += 1
            if seen == size:
                break
    if seen == size and lo == 0:
        return x, size, True
    m = 0  # the table now marks every value present (all seen, or the scan ran to the end)
    for v in range(size):
        if table[v] == 0:
            table[v] = m
            m += 1
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = table[x[i] - lo]
    return out, m, False


@njit(cache=True, nogil=True, inline="always")
def _window(row, t, lag, length, a):
    """``sum_{j<length} row[t - lag - j] * a^j`` (Horner from the oldest value)."""
    c = 0
    for j in range(length - 1, -1, -1):
        c = c * a + row[t - lag - j]
    return c


@njit(cache=True, nogil=True, inline="always")
def _cell(src, tgt, zc, t, a_s, l, u, a_t, k, m_c, span_t, has_cond):
    """Cell ``(x_src * M_c + z_cond) * A_t^(k+1) + w_tgt`` of time t, without rolling."""
    c = _window(src, t, u, l, a_s) * m_c
    if has_cond:
        c += zc[t]
    return c * span_t + _window(tgt, t, 0, k + 1, a_t)


@njit(cache=True, nogil=True)
def window_counts(src, a_s, l, u, tgt, a_t, k, zc, m_c, t0):
    """Counts of the joint symbol (source window, condition code, target window), t = t0 .. n-1.

    ``src`` (codes ``0 .. a_s-1``) enters through its window of length ``l`` ending at lag
    ``u`` (``l = 0``: no source); ``tgt`` (codes ``0 .. a_t-1``) through its window of lags
    ``0 .. k``, the future ``tgt[t]`` being the least significant digit; ``zc`` holds a code
    ``0 .. m_c-1`` per time step (``m_c = 1``: no condition, ``zc`` is not read). The cell of
    time t is ``(x * m_c + zc[t]) * a_t^(k+1) + w``: Y = ``w mod a_t`` (the future), the
    target past ``w div a_t``, the source window x. Returns the table of
    ``a_s^l * m_c * a_t^(k+1)`` counts.
    """
    n = tgt.shape[0]
    has_cond = m_c > 1
    span_s = 1
    for _ in range(l):
        span_s *= a_s
    top_t = 1
    for _ in range(k):
        top_t *= a_t
    span_t = top_t * a_t
    top_s = span_s // a_s if l > 0 else 0
    cells = span_s * m_c * span_t
    m = n - t0
    q = m // 4
    if q < 16:  # short series: no rolling
        counts = np.zeros(cells, dtype=np.int64)
        for t in range(t0, n):
            counts[_cell(src, tgt, zc, t, a_s, l, u, a_t, k, m_c, span_t, has_cond)] += 1
        return counts
    n_tab = 4 if cells <= 65536 else 1  # four tables while they are small; one table else
    c4 = np.zeros(n_tab * cells, dtype=np.int64)
    starts = np.array([t0, t0 + q, t0 + 2 * q, t0 + 3 * q], dtype=np.int64)
    ws = np.zeros(4, dtype=np.uint64)
    xs = np.zeros(4, dtype=np.uint64)
    for g in range(4):
        ws[g] = np.uint64(_window(tgt, starts[g], 0, k + 1, a_t))
        xs[g] = np.uint64(_window(src, starts[g], u, l, a_s))
    w0, w1, w2, w3 = ws[0], ws[1], ws[2], ws[3]
    x0, x1, x2, x3 = xs[0], xs[1], xs[2], xs[3]
    b0 = np.uint64(starts[0])
    b1 = np.uint64(starts[1])
    b2 = np.uint64(starts[2])
    b3 = np.uint64(starts[3])
    ua_t = np.uint64(a_t)
    ua_s = np.uint64(a_s)
    utop_t = np.uint64(top_t)
    utop_s = np.uint64(top_s)
    uspan_t = np.uint64(span_t)
    um_c = np.uint64(m_c)
    ucells = np.uint64(cells)
    back_t = np.uint64(k + 1)  # tgt[t + 1 - (k + 1)] leaves the target window
    uu = np.uint64(u)
    back_s = np.uint64(u + l)  # src[t + 1 - (u + l)] leaves the source window
    one = np.uint64(1)
    off1 = ucells if n_tab == 4 else np.uint64(0)
    off2 = off1 + off1
    off3 = off2 + off1
    has_src = l > 0
    one_src = l == 1
    for ii in range(q - 1):  # count time t of each stretch, then roll its windows to t + 1
        i = np.uint64(ii)
        t_0 = b0 + i
        t_1 = b1 + i
        t_2 = b2 + i
        t_3 = b3 + i
        if has_cond:
            c4[(x0 * um_c + np.uint64(zc[t_0])) * uspan_t + w0] += 1
            c4[off1 + (x1 * um_c + np.uint64(zc[t_1])) * uspan_t + w1] += 1
            c4[off2 + (x2 * um_c + np.uint64(zc[t_2])) * uspan_t + w2] += 1
            c4[off3 + (x3 * um_c + np.uint64(zc[t_3])) * uspan_t + w3] += 1
        else:
            c4[x0 * uspan_t + w0] += 1
            c4[off1 + x1 * uspan_t + w1] += 1
            c4[off2 + x2 * uspan_t + w2] += 1
            c4[off3 + x3 * uspan_t + w3] += 1
        w0 = np.uint64(tgt[t_0 + one]) + ua_t * (w0 - np.uint64(tgt[t_0 + one - back_t]) * utop_t)
        w1 = np.uint64(tgt[t_1 + one]) + ua_t * (w1 - np.uint64(tgt[t_1 + one - back_t]) * utop_t)
        w2 = np.uint64(tgt[t_2 + one]) + ua_t * (w2 - np.uint64(tgt[t_2 + one - back_t]) * utop_t)
        w3 = np.uint64(tgt[t_3 + one]) + ua_t * (w3 - np.uint64(tgt[t_3 + one - back_t]) * utop_t)
        if one_src:  # a window of one value: read it
            x0 = np.uint64(src[t_0 + one - uu])
            x1 = np.uint64(src[t_1 + one - uu])
            x2 = np.uint64(src[t_2 + one - uu])
            x3 = np.uint64(src[t_3 + one - uu])
        elif has_src:
            x0 = np.uint64(src[t_0 + one - uu]) + ua_s * (x0 - np.uint64(src[t_0 + one - back_s]) * utop_s)
            x1 = np.uint64(src[t_1 + one - uu]) + ua_s * (x1 - np.uint64(src[t_1 + one - back_s]) * utop_s)
            x2 = np.uint64(src[t_2 + one - uu]) + ua_s * (x2 - np.uint64(src[t_2 + one - back_s]) * utop_s)
            x3 = np.uint64(src[t_3 + one - uu]) + ua_s * (x3 - np.uint64(src[t_3 + one - back_s]) * utop_s)
    # the last time step of each stretch (windows rolled there, not beyond)
    last = np.uint64(q - 1)
    ends = (b0 + last, b1 + last, b2 + last, b3 + last)
    wl = (w0, w1, w2, w3)
    xl = (x0, x1, x2, x3)
    offs = (np.uint64(0), off1, off2, off3)
    for g in range(4):
        zg = np.uint64(zc[ends[g]]) if has_cond else np.uint64(0)
        c4[offs[g] + (xl[g] * um_c + zg) * uspan_t + wl[g]] += 1
    if n_tab == 4:
        counts = np.empty(cells, dtype=np.int64)
        for j in range(cells):
            counts[j] = c4[j] + c4[cells + j] + c4[2 * cells + j] + c4[3 * cells + j]
    else:
        counts = c4
    for t in range(t0 + 4 * q, n):  # the remainder, m mod 4 samples
        counts[_cell(src, tgt, zc, t, a_s, l, u, a_t, k, m_c, span_t, has_cond)] += 1
    return counts


@njit(cache=True, nogil=True)
def horner_codes(S, alph, col_series, col_lag, t0):
    """Joint code ``sum_c S[col_series[c], t - col_lag[c]] * (place value)`` for t = 0 .. n-1.

    Columns in order, the first most significant (base ``alph`` of each column's series);
    entries before ``t0`` are 0 (not read by :func:`window_counts`).
    """
    n = S.shape[1]
    out = np.zeros(n, dtype=np.int64)
    for c in range(col_series.shape[0]):
        row = S[col_series[c]]
        a = alph[col_series[c]]
        lag = col_lag[c]
        for t in range(t0, n):
            out[t] = out[t] * a + row[t - lag]
    return out


@njit(cache=True, nogil=True)
def cmi_from_counts(counts, mx, mz, my):
    """Plug-in I(X; Y | Z) in nats of a count table with cell ``(x * M_z + z) * M_y + y``.

    Returns ``(cmi, m_xyz, m_xz, m_yz, m_z)``: the plug-in CMI
    ``sum c(x,y,z) ln(c(x,y,z) c(z) / (c(x,z) c(y,z))) / N`` (not clipped) and the numbers of
    non-empty cells of each marginal (for the Miller--Madow correction).
    """
    cxz = np.zeros(mx * mz, dtype=np.int64)
    cyz = np.zeros(mz * my, dtype=np.int64)
    czz = np.zeros(mz, dtype=np.int64)
    m_xyz = 0
    total_n = 0
    for x in range(mx):
        for z in range(mz):
            base = (x * mz + z) * my
            acc = 0
            for y in range(my):
                v = counts[base + y]
                if v > 0:
                    m_xyz += 1
                    acc += v
                    cyz[z * my + y] += v
            cxz[x * mz + z] = acc
            czz[z] += acc
            total_n += acc
    m_xz = 0
    for i in range(mx * mz):
        if cxz[i] > 0:
            m_xz += 1
    m_yz = 0
    for i in range(mz * my):
        if cyz[i] > 0:
            m_yz += 1
    m_z = 0
    for z in range(mz):
        if czz[z] > 0:
            m_z += 1
    total = 0.0
    for x in range(mx):
        for z in range(mz):
            fxz = float(cxz[x * mz + z])
            if fxz == 0.0:
                continue
            fz = float(czz[z])
            base = (x * mz + z) * my
            for y in range(my):
                v = counts[base + y]
                if v > 0:
                    fv = float(v)
                    total += fv * np.log((fv * fz) / (fxz * float(cyz[z * my + y])))
    return total / total_n, m_xyz, m_xz, m_yz, m_z


@njit(cache=True, nogil=True)
def slice_alphabets(S, alph, col_series, col_lag, t0):
    """Number of distinct codes of each delayed column over the samples ``t0 .. n-1``."""
    n = S.shape[1]
    ncol = col_series.shape[0]
    out = np.zeros(ncol, dtype=np.int64)
    for c in range(ncol):
        s = col_series[c]
        seen = np.zeros(alph[s], dtype=np.bool_)
        m = 0
        for t in range(t0 - col_lag[c], n - col_lag[c]):
            v = S[s, t]
            if not seen[v]:
                seen[v] = True
                m += 1
        out[c] = m
    return out
