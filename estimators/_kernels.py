"""Numba kernels: neighbour searches, neighbour counts and kernel sums.

Arrays and scalars in, arrays and scalars out; no Python objects. The public
estimators validate and cast their inputs (C-contiguous float64) before calling
these, and ``estimators/_neighbors.py`` picks which kernel to use.

Distances are computed exactly as a direct NumPy evaluation would:
``max_d |a_d - b_d|`` (max-norm) or ``sqrt(sum_d (a_d - b_d)**2)`` (Euclidean),
so counts near a radius agree with a brute-force reference bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _key_rows(A, i, Bm, j, chebyshev):
    """Monotone key of the distance: the max-norm itself, or the squared Euclidean distance."""
    d = A.shape[1]
    if chebyshev:
        m = 0.0
        for c in range(d):
            v = abs(A[i, c] - Bm[j, c])
            if v > m:
                m = v
        return m
    acc = 0.0
    for c in range(d):
        v = A[i, c] - Bm[j, c]
        acc += v * v
    return acc


@njit(cache=True, inline="always")
def _dist_rows(A, i, Bm, j, chebyshev):
    """Distance between row i of A and row j of Bm (max-norm or Euclidean)."""
    key = _key_rows(A, i, Bm, j, chebyshev)
    return key if chebyshev else np.sqrt(key)


@njit(cache=True, inline="always")
def _keys_to_dist(bd, chebyshev):
    if not chebyshev:
        for q in range(bd.shape[0]):
            bd[q] = np.sqrt(bd[q])


CHUNK = 256  # queries per task in the parallel loops: buffers are allocated once per chunk


@njit(cache=True, inline="always")
def _insert(bd, bi, dd, j):
    """Insert (dd, j) into the ascending top-k buffers if dd is strictly smaller than the last."""
    k = bd.shape[0]
    if not dd < bd[k - 1]:
        return
    p = k - 1
    while p > 0 and bd[p - 1] > dd:
        bd[p] = bd[p - 1]
        bi[p] = bi[p - 1]
        p -= 1
    bd[p] = dd
    bi[p] = j


@njit(cache=True, parallel=True, nogil=True)
def knn_brute(X, k, chebyshev):
    """k nearest neighbours of every row (self excluded) by exhaustive search.

    Returns ``(dist, idx)``, each of shape ``(n, k)``, distances ascending.
    """
    n = X.shape[0]
    dist = np.empty((n, k))
    idx = np.empty((n, k), dtype=np.int64)
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        bd = np.empty(k)
        bi = np.empty(k, dtype=np.int64)
        for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
            bd[:] = np.inf
            bi[:] = -1
            for j in range(n):
                if j != i:
                    _insert(bd, bi, _key_rows(X, i, X, j, chebyshev), j)
            _keys_to_dist(bd, chebyshev)
            dist[i] = bd
            idx[i] = bi
    return dist, idx


@njit(cache=True, parallel=True, nogil=True)
def count_brute(X, radii, strict, chebyshev):
    """For each row i, the number of rows j != i with dist(i, j) < radii[i] (strict) or <=."""
    n = X.shape[0]
    out = np.zeros(n, dtype=np.int64)
    for i in prange(n):
        r = radii[i]
        c = 0
        for j in range(n):
            if j != i:
                dd = _dist_rows(X, i, X, j, chebyshev)
                if (dd < r) if strict else (dd <= r):
                    c += 1
        out[i] = c
    return out


# ---------------------------------------------------------------------------------------------
# Blocked brute force (many dimensions, few samples)
# ---------------------------------------------------------------------------------------------
# The keys from one query to every sample are accumulated column by column over the transposed
# data, so the inner loop runs over samples on contiguous memory and vectorises, while each
# pair's key is still summed (or maximised) in column order: the same numbers as _key_rows.

BLOCK_CHUNK = 16  # queries per task in the blocked loops


@njit(cache=True, inline="always")
def _row_keys(X, Xt, i, acc, chebyshev):
    """``acc[j] = key(X[i], X[j])`` for every j (``Xt`` is ``X.T``, C-contiguous)."""
    d, n = Xt.shape
    acc[:] = 0.0
    if chebyshev:
        for c in range(d):
            qc = X[i, c]
            row = Xt[c]
            for j in range(n):
                v = abs(row[j] - qc)
                a = acc[j]
                acc[j] = v if v > a else a
    else:
        for c in range(d):
            qc = X[i, c]
            row = Xt[c]
            for j in range(n):
                v = row[j] - qc
                acc[j] += v * v


BLOCK_SERIAL_WORK = 1 << 24  # below this many key terms (n * n * d) one thread is faster


@njit(cache=True, nogil=True)
def _knn_block_rows(X, Xt, k, chebyshev, i0, i1, dist, idx):
    """Rows ``i0 .. i1-1`` of ``knn_block``, written into ``dist`` and ``idx``."""
    n = X.shape[0]
    acc = np.empty(n)
    bd = np.empty(k)
    bi = np.empty(k, dtype=np.int64)
    for i in range(i0, i1):
        _row_keys(X, Xt, i, acc, chebyshev)
        bd[:] = np.inf
        bi[:] = -1
        for j in range(n):
            if j != i and acc[j] < bd[k - 1]:
                _insert(bd, bi, acc[j], j)
        _keys_to_dist(bd, chebyshev)
        dist[i] = bd
        idx[i] = bi


@njit(cache=True, parallel=True, nogil=True)
def _knn_block_parallel(X, Xt, k, chebyshev, dist, idx):
    n = X.shape[0]
    for chunk in prange((n + BLOCK_CHUNK - 1) // BLOCK_CHUNK):
        _knn_block_rows(X, Xt, k, chebyshev, chunk * BLOCK_CHUNK, min(n, (chunk + 1) * BLOCK_CHUNK), dist, idx)


@njit(cache=True, nogil=True)
def _count_block_rows(X, Xt, thresholds, chebyshev, i0, i1, out):
    """Rows ``i0 .. i1-1`` of ``count_block``, written into ``out``."""
    n = X.shape[0]
    acc = np.empty(n)
    for i in range(i0, i1):
        _row_keys(X, Xt, i, acc, chebyshev)
        t = thresholds[i]
        c = 0
        for j in range(n):
            if acc[j] < t:
                c += 1
        out[i] = c


@njit(cache=True, parallel=True, nogil=True)
def _count_block_parallel(X, Xt, thresholds, chebyshev, out):
    n = X.shape[0]
    for chunk in prange((n + BLOCK_CHUNK - 1) // BLOCK_CHUNK):
        _count_block_rows(X, Xt, thresholds, chebyshev, chunk * BLOCK_CHUNK, min(n, (chunk + 1) * BLOCK_CHUNK), out)


def _serial(X) -> bool:
    """Small problems run on the calling thread: a parallel launch costs more than it saves
    there, and far more on a busy machine, where the join waits for a descheduled worker."""
    n, d = X.shape
    return n * n * d < BLOCK_SERIAL_WORK


def knn_block(X, k, chebyshev):
    """``knn_brute`` with the keys of each query computed in one vectorised sweep.

    ``X`` is C-contiguous float64. Returns ``(dist, idx)`` of shape ``(n, k)``, the same
    numbers as ``knn_brute``.
    """
    n = X.shape[0]
    Xt = np.ascontiguousarray(X.T)
    dist = np.empty((n, k))
    idx = np.empty((n, k), dtype=np.int64)
    if _serial(X):
        _knn_block_rows(X, Xt, k, chebyshev, 0, n, dist, idx)
    else:
        _knn_block_parallel(X, Xt, k, chebyshev, dist, idx)
    return dist, idx


def count_block(X, thresholds, chebyshev):
    """For each row i, how many rows (i itself included) have ``key < thresholds[i]``.

    Keys are the max-norm (``chebyshev``) or the squared Euclidean distance;
    ``estimators._kdtree.key_thresholds`` turns radii into exact thresholds.
    """
    n = X.shape[0]
    Xt = np.ascontiguousarray(X.T)
    out = np.zeros(n, dtype=np.int64)
    if _serial(X):
        _count_block_rows(X, Xt, thresholds, chebyshev, 0, n, out)
    else:
        _count_block_parallel(X, Xt, thresholds, chebyshev, out)
    return out


# ---------------------------------------------------------------------------------------------
# Box-assisted search on a uniform grid (1 to 3 dimensions)
# ---------------------------------------------------------------------------------------------
# The grid has cells of side ``s`` starting at ``lo``, ``B[c]`` cells along dimension c
# (B padded with 1 up to three dimensions), stored row-major. Points are bucketed with a
# counting sort; a query visits cells ring by ring and stops when no unvisited cell can hold
# a closer point. Bounds carry a small safety margin against rounding in the cell index, so
# the result is exactly the brute-force one.


@njit(cache=True, inline="always")
def _cell_coord(v, lo, s, b):
    f = np.floor((v - lo) / s)
    if f < 0:
        return 0
    if f >= b:
        return b - 1
    return int(f)


@njit(cache=True, nogil=True)
def _grid_build(X, lo, s, B):
    n, d = X.shape
    ncell = B[0] * B[1] * B[2]
    cell = np.empty(n, dtype=np.int64)
    for i in range(n):
        cid = 0
        for c in range(3):
            v = _cell_coord(X[i, c], lo[c], s, B[c]) if c < d else 0
            cid = cid * B[c] + v
        cell[i] = cid
    start = np.zeros(ncell + 1, dtype=np.int64)
    for i in range(n):
        start[cell[i] + 1] += 1
    for c in range(ncell):
        start[c + 1] += start[c]
    pos = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        order[pos[cell[i]]] = i
        pos[cell[i]] += 1
    Xg = np.empty_like(X)
    for p in range(n):
        Xg[p] = X[order[p]]
    return order, start, Xg


@njit(cache=True, parallel=True, nogil=True)
def knn_grid(X, k, chebyshev, lo, s, B):
    """k nearest neighbours (self excluded) by box-assisted search; d <= 3.

    Returns ``(dist, idx)`` of shape ``(n, k)``, distances ascending.
    """
    n, d = X.shape
    order, start, Xg = _grid_build(X, lo, s, B)
    dist = np.empty((n, k))
    idx = np.empty((n, k), dtype=np.int64)
    margin = 1e-9 * s
    for chunk in prange((n + CHUNK - 1) // CHUNK):
        bd = np.empty(k)
        bi = np.empty(k, dtype=np.int64)
        ci = np.zeros(3, dtype=np.int64)
        for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
            bd[:] = np.inf
            bi[:] = -1
            for c in range(d):
                ci[c] = _cell_coord(X[i, c], lo[c], s, B[c])
            r = 0
            while True:
                # visit only the cells on the shell max(|offset|) == r
                # interior rows of a dimension hold shell cells only if a later dimension's
                # shell faces lie inside the grid; otherwise only its two end rows are visited
                in_c = ci[2] - r >= 0 or ci[2] + r <= B[2] - 1
                in_bc = in_c or ci[1] - r >= 0 or ci[1] + r <= B[1] - 1
                a0 = max(ci[0] - r, 0)
                a1 = min(ci[0] + r, B[0] - 1)
                a = a0 if in_bc else ci[0] - r
                while a <= a1:
                    if a < a0:
                        a += 2 * r if r > 0 else 1
                        continue
                    on_a = abs(a - ci[0]) == r
                    b0 = max(ci[1] - r, 0)
                    b1 = min(ci[1] + r, B[1] - 1)
                    b = b0 if (on_a or in_c) else ci[1] - r
                    while b <= b1:
                        if b < b0:
                            b += 2 * r if r > 0 else 1
                            continue
                        on_b = on_a or abs(b - ci[1]) == r
                        c0 = max(ci[2] - r, 0)
                        c1 = min(ci[2] + r, B[2] - 1)
                        step = 1 if on_b else 2 * r
                        if step == 0:
                            step = 1
                        cc = c0 if on_b else ci[2] - r
                        while cc <= c1:
                            if cc >= c0:
                                cid = (a * B[1] + b) * B[2] + cc
                                for p in range(start[cid], start[cid + 1]):
                                    j = order[p]
                                    if j != i:
                                        _insert(bd, bi, _key_rows(X, i, Xg, p, chebyshev), j)
                            cc += step
                        b += 1 if (on_a or in_c or r == 0) else 2 * r
                    a += 1 if (in_bc or r == 0) else 2 * r
                # distance from the query to the nearest unvisited cell
                bound = np.inf
                for c in range(d):
                    if ci[c] - r > 0:
                        g = X[i, c] - (lo[c] + (ci[c] - r) * s)
                        if g < bound:
                            bound = g
                    if ci[c] + r < B[c] - 1:
                        g = lo[c] + (ci[c] + r + 1) * s - X[i, c]
                        if g < bound:
                            bound = g
                if bound == np.inf:
                    break  # the block covers the whole grid
                bound -= margin
                if bound > 0 and bd[k - 1] < (bound if chebyshev else bound * bound):
                    break
                r += 1
            _keys_to_dist(bd, chebyshev)
            dist[i] = bd
            idx[i] = bi
    return dist, idx


@njit(cache=True, parallel=True, nogil=True)
def count_grid(X, radii, strict, chebyshev, lo, s, B):
    """``count_brute`` by box-assisted search; d <= 3."""
    n, d = X.shape
    order, start, Xg = _grid_build(X, lo, s, B)
    out = np.zeros(n, dtype=np.int64)
    for i in prange(n):
        r = radii[i]
        clo = np.zeros(3, dtype=np.int64)
        chi = np.zeros(3, dtype=np.int64)
        for c in range(d):
            clo[c] = max(_cell_coord(X[i, c] - r, lo[c], s, B[c]) - 1, 0)
            chi[c] = min(_cell_coord(X[i, c] + r, lo[c], s, B[c]) + 1, B[c] - 1)
        cnt = 0
        for a in range(clo[0], chi[0] + 1):
            for b in range(clo[1], chi[1] + 1):
                for cc in range(clo[2], chi[2] + 1):
                    cid = (a * B[1] + b) * B[2] + cc
                    for p in range(start[cid], start[cid + 1]):
                        if order[p] != i:
                            dd = _dist_rows(X, i, Xg, p, chebyshev)
                            if (dd < r) if strict else (dd <= r):
                                cnt += 1
        out[i] = cnt
    return out


@njit(cache=True, parallel=True, nogil=True)
def count_sorted_1d(s, q, radii, strict):
    """For each query q[i], how many values of the sorted array ``s`` satisfy
    ``abs(s_j - q_i) < r_i`` (strict) or ``<=``.

    Both boundaries are found by binary search on the exact predicate, which is
    monotone along a sorted array, so the count equals a direct evaluation.
    """
    n = s.shape[0]
    m = q.shape[0]
    out = np.empty(m, dtype=np.int64)
    for i in prange(m):
        x = q[i]
        r = radii[i]
        # left: first j with (x - s[j]) inside the radius
        a = 0
        b = n
        while a < b:
            mid = (a + b) >> 1
            g = x - s[mid]
            if (g < r) if strict else (g <= r):
                b = mid
            else:
                a = mid + 1
        left = a
        # right: first j with (s[j] - x) outside the radius
        a = left
        b = n
        while a < b:
            mid = (a + b) >> 1
            g = s[mid] - x
            if (g < r) if strict else (g <= r):
                a = mid + 1
            else:
                b = mid
        out[i] = a - left if a > left else 0
    return out


@njit(cache=True, inline="always")
def _sq_dist(U, i, j):
    """Squared Euclidean distance between rows i and j of U."""
    s = 0.0
    for c in range(U.shape[1]):
        v = U[i, c] - U[j, c]
        s += v * v
    return s


@njit(cache=True, parallel=True, nogil=True)
def kde_loo_logsum_rows(U, h, start, stop):
    """``kde_loo_logsum(U, h)[start:stop]``: rows ``start .. stop-1`` against all samples.

    Callers loop over row blocks so that each call is short (Ctrl-C is seen between calls);
    every row's value is independent of the blocking. Two passes per row: the largest exponent
    first, then the sum shifted by it (log-sum-exp without a stored row of distances).
    """
    n = U.shape[0]
    out = np.empty(stop - start)
    inv = 1.0 / (2.0 * h * h)
    for r in prange(stop - start):
        i = start + r
        m = -np.inf
        for j in range(n):
            if j != i:
                e = -_sq_dist(U, i, j) * inv
                if e > m:
                    m = e
        if m == -np.inf:
            out[r] = -np.inf
            continue
        acc = 0.0
        for j in range(n):
            if j != i:
                acc += np.exp(-_sq_dist(U, i, j) * inv - m)
        out[r] = m + np.log(acc)
    return out


def kde_loo_logsum(U, h):
    """log sum_{j != i} exp(-|u_i - u_j|^2 / (2 h^2)) for every row i (leave-one-out)."""
    return kde_loo_logsum_rows(U, h, 0, U.shape[0])
