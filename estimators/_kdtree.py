"""Exact kd-tree neighbour searches and counts in numba (max-norm and Euclidean).

The tree is a complete binary tree stored implicitly: node 0 is the root, the children of
node ``t`` are ``2t + 1`` and ``2t + 2``, and every leaf sits at depth ``depth``. Each node
holds a contiguous range ``start[t]:end[t]`` of the points, which are permuted into tree
order (``Xp = X[perm]``): a node is split at the median of its widest dimension, so the
leaves hold ``n / 2**depth`` points (``leaf_size`` or fewer). Every node stores the tight
bounding box of its points (``lo``, ``hi``), which in several dimensions is much smaller
than the cell left by the splits and prunes more.

Exactness. Distances are the same floating-point numbers as in ``_kernels``:
``max_c |q_c - p_c|`` or the squared-Euclidean key ``sum_c (q_c - p_c)**2`` summed in column
order. Rounded subtraction, multiplication and addition are monotone, so the distance from a
query to a box computed with the same operations is a lower (or upper) bound of the rounded
distance to every point inside it, and pruning never drops a point that a brute-force
evaluation would count. Counts compare keys with a threshold ``t`` such that ``key < t``
holds exactly when the brute-force predicate (``dist < r`` or ``dist <= r``, with
``dist = sqrt(key)`` for Euclidean) holds; whole nodes whose upper bound is below ``t`` are
counted without visiting their points. Nearest neighbours are ordered by (key, index), as
the brute-force search orders them, so even ties give the same neighbours.

Queries are the tree's own points, processed in tree order (neighbouring queries visit the
same nodes, which keeps them in cache), in parallel over chunks with ``prange``: numba's
thread count of the calling thread bounds the threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

LEAF_SIZE = 64  # leaves are swept vectorised: larger ones than a scalar search would use
CHUNK = 128  # queries per parallel task (in tree order)


def tree_depth(n: int, leaf_size: int = LEAF_SIZE) -> int:
    """Depth of the complete tree whose leaves hold at most ``leaf_size`` of ``n`` points."""
    depth = 0
    while (n + (1 << depth) - 1) >> depth > leaf_size:
        depth += 1
    return depth


@njit(cache=True, nogil=True)
def _select(perm, X, dim, s, e, m):
    """Reorder ``perm[s:e]`` so that ``X[perm[m], dim]`` has rank ``m - s`` (Hoare/Wirth).

    Afterwards ``X[perm[a], dim] <= X[perm[m], dim] <= X[perm[b], dim]`` for ``a < m < b``.
    """
    lo = s
    hi = e - 1
    while hi > lo:
        a = X[perm[lo], dim]
        b = X[perm[(lo + hi) >> 1], dim]
        c = X[perm[hi], dim]
        if a > b:
            a, b = b, a
        pivot = b if b <= c else (c if c >= a else a)
        i = lo
        j = hi
        while i <= j:
            while X[perm[i], dim] < pivot:
                i += 1
            while X[perm[j], dim] > pivot:
                j -= 1
            if i <= j:
                t = perm[i]
                perm[i] = perm[j]
                perm[j] = t
                i += 1
                j -= 1
        if m <= j:
            hi = j
        elif m >= i:
            lo = i
        else:
            break


@njit(cache=True, nogil=True)
def _node_box(X, perm, s, e, lo, hi, node):
    d = X.shape[1]
    for c in range(d):
        lo[node, c] = X[perm[s], c]
        hi[node, c] = X[perm[s], c]
    for p in range(s + 1, e):
        q = perm[p]
        for c in range(d):
            v = X[q, c]
            if v < lo[node, c]:
                lo[node, c] = v
            elif v > hi[node, c]:
                hi[node, c] = v


@njit(cache=True, nogil=True)
def build(X, depth):
    """Build the tree: ``(Xp, perm, start, end, lo, hi)`` (see the module docstring)."""
    n, d = X.shape
    nnodes = (1 << (depth + 1)) - 1
    perm = np.arange(n)
    start = np.zeros(nnodes, dtype=np.int64)
    end = np.zeros(nnodes, dtype=np.int64)
    lo = np.empty((nnodes, d))
    hi = np.empty((nnodes, d))
    end[0] = n
    for level in range(depth + 1):
        first = (1 << level) - 1
        count = 1 << level
        for t in range(count):  # serial: O(n d log n) is small, parallel regions per level are not
            node = first + t
            s = start[node]
            e = end[node]
            if e > s:
                _node_box(X, perm, s, e, lo, hi, node)
            else:  # an empty node (fewer points than leaves): a box no query reaches
                for c in range(d):
                    lo[node, c] = np.inf
                    hi[node, c] = -np.inf
            if level < depth:
                m = (s + e) >> 1
                best = 0
                spread = -1.0
                if e > s:
                    for c in range(d):
                        w = hi[node, c] - lo[node, c]
                        if w > spread:
                            spread = w
                            best = c
                    if e - s > 1:
                        _select(perm, X, best, s, e, m)
                left = 2 * node + 1
                start[left] = s
                end[left] = m
                start[left + 1] = m
                end[left + 1] = e
    Xp = np.empty_like(X)
    for p in range(n):
        for c in range(d):
            Xp[p, c] = X[perm[p], c]
    return Xp, perm, start, end, lo, hi


@njit(cache=True, inline="always")
def _lower_key(Xp, p, lo, hi, node, chebyshev):
    """Key of the distance from point ``p`` to the box of ``node`` (a lower bound)."""
    d = Xp.shape[1]
    acc = 0.0
    for c in range(d):
        x = Xp[p, c]
        v = 0.0
        if x < lo[node, c]:
            v = lo[node, c] - x
        elif x > hi[node, c]:
            v = x - hi[node, c]
        if chebyshev:
            if v > acc:
                acc = v
        else:
            acc += v * v
    return acc


@njit(cache=True, inline="always")
def _bounds_key(Xp, p, lo, hi, node, chebyshev):
    """Lower and upper bounds of the key from point ``p`` to any point in ``node``."""
    d = Xp.shape[1]
    lb = 0.0
    ub = 0.0
    for c in range(d):
        x = Xp[p, c]
        a = x - lo[node, c]
        b = hi[node, c] - x
        v = 0.0
        if a < 0.0:
            v = -a
        elif b < 0.0:
            v = -b
        w = a if a > b else b
        if chebyshev:
            if v > lb:
                lb = v
            if w > ub:
                ub = w
        else:
            lb += v * v
            ub += w * w
    return lb, ub


@njit(cache=True, inline="always")
def _better(dd, j, bd, bi, k):
    """(dd, j) precedes the current k-th neighbour in (distance, index) order."""
    last = bd[k - 1]
    return dd < last or (dd == last and j < bi[k - 1])


@njit(cache=True, inline="always")
def _insert_ordered(bd, bi, dd, j):
    k = bd.shape[0]
    p = k - 1
    while p > 0 and (bd[p - 1] > dd or (bd[p - 1] == dd and bi[p - 1] > j)):
        bd[p] = bd[p - 1]
        bi[p] = bi[p - 1]
        p -= 1
    bd[p] = dd
    bi[p] = j


@njit(cache=True, inline="always")
def _largest_leaf(start, end, first_leaf):
    """The most points any leaf holds (the size of the per-thread key buffer)."""
    maxleaf = 0
    for t in range(first_leaf, 2 * first_leaf + 1):
        if end[t] - start[t] > maxleaf:
            maxleaf = end[t] - start[t]
    return maxleaf


@njit(cache=True, inline="always")
def _leaf_keys(Xp, XpT, p, s, m, chebyshev, acc):
    """``acc[:m]``: the keys (max-norm distance, or squared Euclidean) from point ``p`` to the leaf's
    points ``s .. s+m-1``, one feature at a time over the contiguous rows of ``XpT``."""
    d = Xp.shape[1]
    acc[:m] = 0.0
    if chebyshev:
        for c in range(d):
            x = Xp[p, c]
            for q in range(m):
                v = abs(XpT[c, s + q] - x)
                a = acc[q]
                acc[q] = v if v > a else a
    else:
        for c in range(d):
            x = Xp[p, c]
            for q in range(m):
                v = XpT[c, s + q] - x
                acc[q] += v * v


@njit(cache=True, nogil=True)
def key_thresholds(radii, strict, chebyshev):
    """Thresholds ``t`` in key space: ``key < t`` exactly when ``dist < r`` (strict) or ``dist <= r``.

    For the max-norm the key is the distance: ``t = r`` (strict) or the next float above
    ``r``. For Euclidean the key is the squared distance and ``dist = sqrt(key)``; ``t`` is
    the smallest float with ``sqrt(t) >= r`` (strict) or ``sqrt(t) > r``, found by stepping
    from ``r * r`` (sqrt is correctly rounded and monotone, so the predicate on keys is a
    threshold).
    """
    out = np.empty(radii.shape[0])
    for i in range(radii.shape[0]):
        r = radii[i]
        if chebyshev:
            out[i] = r if strict else np.nextafter(r, np.inf)
            continue
        if r == np.inf:
            out[i] = np.inf
            continue
        if r < 0.0 or (strict and r == 0.0):
            out[i] = 0.0
            continue
        t = r * r
        while not ((np.sqrt(t) >= r) if strict else (np.sqrt(t) > r)):
            t = np.nextafter(t, np.inf)
        while t > 0.0:
            b = np.nextafter(t, -np.inf)
            if (np.sqrt(b) >= r) if strict else (np.sqrt(b) > r):
                t = b
            else:
                break
        out[i] = t
    return out


@njit(cache=True, parallel=True, nogil=True)
def knn(Xp, XpT, perm, start, end, lo, hi, depth, k, chebyshev):
    """k nearest neighbours (self excluded) of every point, in the original order.

    ``XpT`` is ``Xp.T`` (C-contiguous): a leaf's keys are computed in one vectorised sweep
    over its columns. Returns ``(dist, idx)`` of shape ``(n, k)``, ascending in
    (distance, index), as ``_kernels.knn_brute`` orders them.
    """
    n, d = Xp.shape
    first_leaf = (1 << depth) - 1
    dist = np.empty((n, k))
    idx = np.empty((n, k), dtype=np.int64)
    maxleaf = _largest_leaf(start, end, first_leaf)
    nchunks = (n + CHUNK - 1) // CHUNK
    for chunk in prange(nchunks):
        bd = np.empty(k)
        bi = np.empty(k, dtype=np.int64)
        acc = np.empty(maxleaf)
        st_node = np.empty(2 * depth + 4, dtype=np.int64)
        st_key = np.empty(2 * depth + 4)
        for p in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
            me = perm[p]
            bd[:] = np.inf
            bi[:] = n
            sp = 1
            st_node[0] = 0
            st_key[0] = 0.0
            while sp > 0:
                sp -= 1
                node = st_node[sp]
                if st_key[sp] > bd[k - 1]:
                    continue
                if node >= first_leaf:
                    s = start[node]
                    m = end[node] - s
                    _leaf_keys(Xp, XpT, p, s, m, chebyshev, acc)
                    for q in range(m):
                        if s + q != p and acc[q] <= bd[k - 1]:
                            j = perm[s + q]
                            if _better(acc[q], j, bd, bi, k):
                                _insert_ordered(bd, bi, acc[q], j)
                else:
                    left = 2 * node + 1
                    kl = _lower_key(Xp, p, lo, hi, left, chebyshev)
                    kr = _lower_key(Xp, p, lo, hi, left + 1, chebyshev)
                    last = bd[k - 1]
                    if kl <= kr:
                        if kr <= last:
                            st_node[sp] = left + 1
                            st_key[sp] = kr
                            sp += 1
                        if kl <= last:
                            st_node[sp] = left
                            st_key[sp] = kl
                            sp += 1
                    else:
                        if kl <= last:
                            st_node[sp] = left
                            st_key[sp] = kl
                            sp += 1
                        if kr <= last:
                            st_node[sp] = left + 1
                            st_key[sp] = kr
                            sp += 1
            if not chebyshev:
                for q in range(k):
                    bd[q] = np.sqrt(bd[q])
            for q in range(k):
                dist[me, q] = bd[q]
                idx[me, q] = bi[q]
    return dist, idx


@njit(cache=True, parallel=True, nogil=True)
def count(Xp, XpT, perm, start, end, lo, hi, depth, thresholds, chebyshev):
    """For every point (original order), how many points, itself included, have key < threshold.

    ``thresholds`` is in the original order and in key space (see ``key_thresholds``): the
    max-norm itself for ``chebyshev``, else the squared Euclidean distance. Nodes whose
    upper bound is below the threshold count whole; leaves are swept vectorised over ``XpT``.
    """
    n, d = Xp.shape
    first_leaf = (1 << depth) - 1
    out = np.zeros(n, dtype=np.int64)
    maxleaf = _largest_leaf(start, end, first_leaf)
    nchunks = (n + CHUNK - 1) // CHUNK
    for chunk in prange(nchunks):
        stack = np.empty(depth + 2, dtype=np.int64)
        acc = np.empty(maxleaf)
        for p in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
            me = perm[p]
            t = thresholds[me]
            cnt = 0
            sp = 1
            stack[0] = 0
            while sp > 0:
                sp -= 1
                node = stack[sp]
                lb, ub = _bounds_key(Xp, p, lo, hi, node, chebyshev)
                if not lb < t:
                    continue
                if ub < t:
                    cnt += end[node] - start[node]
                    continue
                if node >= first_leaf:
                    s = start[node]
                    m = end[node] - s
                    _leaf_keys(Xp, XpT, p, s, m, chebyshev, acc)
                    for q in range(m):
                        if acc[q] < t:
                            cnt += 1
                else:
                    stack[sp] = 2 * node + 1
                    stack[sp + 1] = 2 * node + 2
                    sp += 2
            out[me] = cnt
    return out


def make_tree(X: np.ndarray, leaf_size: int = LEAF_SIZE):
    """Build the tree of the C-contiguous float64 array ``X``: the arguments of ``knn``/``count``."""
    depth = tree_depth(X.shape[0], leaf_size)
    Xp, perm, start, end, lo, hi = build(X, depth)
    return Xp, np.ascontiguousarray(Xp.T), perm, start, end, lo, hi, depth


def knn_tree(X: np.ndarray, k: int, chebyshev: bool, leaf_size: int = LEAF_SIZE):
    """k nearest neighbours of every row (self excluded): ``(dist, idx)``, each ``(n, k)``."""
    return knn(*make_tree(X, leaf_size), k, chebyshev)


def count_tree(X: np.ndarray, radii: np.ndarray, strict: bool, chebyshev: bool, leaf_size: int = LEAF_SIZE):
    """For each row i, how many rows j != i have ``dist < radii[i]`` (strict) or ``<=``."""
    t = key_thresholds(radii, strict, chebyshev)
    return count(*make_tree(X, leaf_size), t, chebyshev) - (t > 0.0)

