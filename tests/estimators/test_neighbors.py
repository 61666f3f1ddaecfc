"""The kd-tree and blocked brute-force searches against exhaustive references, exactly.

Every regime must return the same numbers as a direct evaluation: the same k-th distances,
the same neighbours (ordered by distance, then index), the same counts at radii equal to
actual distances, in 1 to 40 dimensions, with ties and duplicated points.
"""

import math

import numba
import numpy as np
import pytest

import estimators as est
from estimators import _kdtree, _kernels, _neighbors
from tests import reference as ref


def _data(kind, n, d, seed):
    rng = np.random.default_rng(seed)
    if kind == "gauss":
        return rng.standard_normal((n, d))
    if kind == "lattice":  # heavy ties: every coordinate in {0, 1, 2}
        return rng.integers(0, 3, (n, d)).astype(float)
    if kind == "rounded":  # ties in single coordinates
        return np.round(rng.standard_normal((n, d)), 1)
    if kind == "duplicates":  # every row four times
        return np.repeat(rng.standard_normal((n // 4, d)), 4, axis=0)
    if kind == "scales":  # columns on very different scales, a dense core
        X = rng.standard_normal((n, d)) * np.logspace(-3, 2, d)
        X[: n // 3] *= 1e-4
        return X
    raise ValueError(kind)


KINDS = ["gauss", "lattice", "rounded", "duplicates", "scales"]
DIMS = [1, 2, 4, 7, 13, 40]
METRICS = ["chebyshev", "euclidean"]


def _keys(X, metric):
    """All pairwise keys: the max-norm, or the squared Euclidean distance summed in column order.

    The searches define the Euclidean distance as ``sqrt`` of that sequential sum (NumPy's
    ``sum`` adds more than 8 terms pairwise, which can differ in the last bit).
    """
    if metric == "chebyshev":
        return ref.pairwise(X, metric)
    D = np.zeros((len(X), len(X)))
    for c in range(X.shape[1]):
        D += (X[:, None, c] - X[None, :, c]) ** 2
    return D


def _dist(X, metric):
    D = _keys(X, metric)
    return D if metric == "chebyshev" else np.sqrt(D)


def _brute_order(X, k, metric):
    """k nearest neighbours by (key, index) (keys a few ulps apart can share a square root)."""
    D = _keys(X, metric)
    np.fill_diagonal(D, np.inf)
    idx = np.lexsort((np.broadcast_to(np.arange(len(X)), D.shape), D), axis=1)[:, :k]
    dist = np.take_along_axis(D, idx, axis=1)
    return (dist if metric == "chebyshev" else np.sqrt(dist)), idx


def _counts(X, radii, strict, metric):
    D = _dist(X, metric)
    np.fill_diagonal(D, np.inf)
    return ((D < radii[:, None]) if strict else (D <= radii[:, None])).sum(axis=1)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("metric", METRICS)
def test_tree_and_block_knn_equal_the_exhaustive_order(kind, d, metric):
    X = _data(kind, 120, d, seed=d)
    cheb = metric == "chebyshev"
    for k in (1, 3, 8):
        want_d, want_i = _brute_order(X, k, metric)
        for leaf in (2, 7, 64):
            dist, idx = _kdtree.knn_tree(X, k, cheb, leaf)
            np.testing.assert_array_equal(dist, want_d)
            np.testing.assert_array_equal(idx, want_i)
        dist, idx = _kernels.knn_block(X, k, cheb)
        np.testing.assert_array_equal(dist, want_d)
        np.testing.assert_array_equal(idx, want_i)
        dist, idx = _kernels.knn_brute(X, k, cheb)
        np.testing.assert_array_equal(idx, want_i)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("strict", [True, False])
def test_tree_and_block_counts_equal_the_direct_count(kind, d, metric, strict):
    X = _data(kind, 140, d, seed=20 + d)
    rng = np.random.default_rng(d)
    # radii equal to actual distances (points on the boundary), random radii, zero radii
    kth = _brute_order(X, 5, metric)[0][:, 4]
    radii = np.concatenate([kth[:70], rng.random(60) * 3, np.zeros(10)])
    want = _counts(X, radii, strict, metric)
    cheb = metric == "chebyshev"
    for leaf in (2, 9, 64):
        np.testing.assert_array_equal(_kdtree.count_tree(X, radii, strict, cheb, leaf), want)
    for regime in ("block", "tree", "brute"):
        got = _neighbors.count_within(X, radii, strict=strict, metric=metric, regime=regime)
        np.testing.assert_array_equal(got, want)


def test_every_regime_gives_identical_neighbours_on_tied_data():
    # ties in the joint distance: all regimes order them by index, so KSG-2 (which uses the
    # neighbours themselves) gets the same value from each
    X = _data("lattice", 900, 3, seed=1)
    X[:, 0] += np.arange(900) * 1e-3  # distinct rows, many equal distances
    base = _neighbors.knn(X, 5, regime="brute")
    for regime in ("block", "tree"):
        dist, idx = _neighbors.knn(X, 5, regime=regime)
        np.testing.assert_array_equal(dist, base[0])
        np.testing.assert_array_equal(idx, base[1])


@pytest.mark.parametrize("strict", [True, False])
def test_key_thresholds_are_exact(strict):
    # key < t must hold exactly when sqrt(key) < r (or <= r), including keys within a few
    # ulps of r**2 and radii whose square is not representable
    rng = np.random.default_rng(3)
    r = np.concatenate([rng.random(200) * 10, [0.0, 1e-300, 1e300, np.inf, 1.0, 2.0, 3.0]])
    t = _kdtree.key_thresholds(r, strict, False)
    for ri, ti in zip(r, t):
        with np.errstate(over="ignore"):
            base = min(ri * ri, np.finfo(float).max)
            keys = [base]
            for _ in range(4):
                keys.append(np.nextafter(keys[-1], np.inf))
        lo = base
        for _ in range(4):
            lo = np.nextafter(lo, 0.0)
            keys.append(lo)
        for key in keys:
            if not np.isfinite(key):  # keys of finite data are finite
                continue
            want = np.sqrt(key) < ri if strict else np.sqrt(key) <= ri
            assert (key < ti) == want, (ri, key, ti)
    tc = _kdtree.key_thresholds(r, strict, True)
    for ri, ti in zip(r, tc):
        for key in (ri, np.nextafter(ri, 0.0), np.nextafter(ri, np.inf)):
            if not np.isfinite(key):
                continue
            assert (key < ti) == ((key < ri) if strict else (key <= ri))


def test_tree_structure_holds_every_point_in_its_boxes():
    X = _data("gauss", 1000, 5, seed=4)
    Xp, XpT, perm, start, end, lo, hi, depth = _kdtree.make_tree(X, 16)
    assert sorted(perm) == list(range(1000))
    np.testing.assert_array_equal(Xp, X[perm])
    np.testing.assert_array_equal(XpT, Xp.T)
    first_leaf = (1 << depth) - 1
    sizes = end[first_leaf:] - start[first_leaf:]
    assert sizes.max() <= 16 and sizes.max() - sizes.min() <= 1
    for node in range(len(start)):
        pts = Xp[start[node]:end[node]]
        np.testing.assert_array_equal(pts.min(axis=0), lo[node])
        np.testing.assert_array_equal(pts.max(axis=0), hi[node])


@pytest.mark.parametrize("n", [1, 2, 3, 65, 129])
def test_tree_depth_and_tiny_inputs(n):
    X = _data("gauss", n, 3, seed=n)
    depth = _kdtree.tree_depth(n, 64)
    assert math.ceil(n / 2**depth) <= 64 and (depth == 0 or math.ceil(n / 2 ** (depth - 1)) > 64)
    if n > 1:
        k = min(2, n - 1)
        np.testing.assert_array_equal(_kdtree.knn_tree(X, k, True)[0], _brute_order(X, k, "chebyshev")[0])
    radii = np.ones(n)
    np.testing.assert_array_equal(_kdtree.count_tree(X, radii, True, True), ref.counts(X, radii))


def test_automatic_choice_follows_n_and_d():
    assert _neighbors._regime(10**5, 1, counting=True) == "sorted"
    assert _neighbors._regime(10**5, 3, counting=False) == "grid"
    assert _neighbors._regime(500, 256, counting=False) == "block"
    assert _neighbors._regime(500, 256, counting=True) == "block"
    assert _neighbors._regime(10**5, 10, counting=False) == "tree"
    assert _neighbors._regime(10**5, 5, counting=True) == "tree"
    assert _neighbors._regime(2000, 10, counting=False) == "block"
    # the crossing grows with the dimension
    assert _neighbors.tree_min_n(16, False) > _neighbors.tree_min_n(8, False)
    assert _neighbors.tree_min_n(8, True) > _neighbors.tree_min_n(4, True)


def test_regime_errors_are_clear():
    X = np.zeros((5, 4))
    with pytest.raises(ValueError, match="unknown regime"):
        _neighbors.knn(X, 1, regime="kdtree")
    with pytest.raises(ValueError, match="grid regime needs at most 3"):
        _neighbors.knn(X, 1, regime="grid")
    with pytest.raises(ValueError, match="sorted regime counts in one dimension only"):
        _neighbors.count_within(X, np.ones(5), regime="sorted")
    with pytest.raises(ValueError, match="no kNN search"):
        _neighbors.knn(X[:, :1], 1, regime="sorted")


def test_one_thread_gives_the_same_results():
    # the probes' thread budget: numba's per-thread count bounds the kernels' threads
    X = _data("gauss", 6000, 6, seed=5)
    eps = _neighbors.kth_distance(X, 4)
    saved = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = (_neighbors.kth_distance(X, 4), _neighbors.count_within(X[:, :3].copy(), eps))
    finally:
        numba.set_num_threads(saved)
    np.testing.assert_array_equal(one[0], eps)
    np.testing.assert_array_equal(one[1], _neighbors.count_within(X[:, :3].copy(), eps))


def test_block_brute_force_parallel_and_serial_paths_agree():
    X = _data("rounded", 700, 40, seed=6)  # 700 * 700 * 40 key terms: the parallel path
    assert not _kernels._serial(X) and _kernels._serial(X[:100])
    dist, idx = _kernels.knn_block(X, 4, True)
    want_d, want_i = _brute_order(X, 4, "chebyshev")
    np.testing.assert_array_equal(dist, want_d)
    np.testing.assert_array_equal(idx, want_i)
    t = _kdtree.key_thresholds(want_d[:, 3], False, True)
    np.testing.assert_array_equal(_kernels.count_block(X, t, True) - 1, ref.counts(X, want_d[:, 3], False))


def test_ksg_on_the_tree_matches_the_slow_reference():
    # 4-D vs 4-D, N = 3000: the joint search runs on the tree; same value as the O(n^2) KSG
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3000, 4))
    y = 0.6 * x + 0.8 * rng.standard_normal((3000, 4))
    assert _neighbors._regime(3000, 8, counting=False) == "tree"
    assert est.mi_ksg(x, y, standardize=False) == pytest.approx(ref.ksg1(x, y, 4), abs=1e-12)
    assert est.mi_ksg(x, y, variant=2, standardize=False) == pytest.approx(ref.ksg2(x, y, 4), abs=1e-12)


def test_ksg_three_by_three_gaussian_closed_form():
    # 3-D vs 3-D, rho = 0.5 per pair, N = 6000 (tree joint search): truth 0.4315 nats;
    # over 8 seeds the estimate is 0.412 +- 0.007 (KSG's known downward bias in 6 dimensions)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6000, 3))
    y = 0.5 * x + math.sqrt(0.75) * rng.standard_normal((6000, 3))
    truth = -1.5 * math.log(0.75)
    assert est.mi_ksg(x, y) == pytest.approx(truth - 0.02, abs=0.03)


def test_repeated_points_error_on_the_tree_path():
    from estimators.mutual_info import RepeatedPointsError

    # duplicated rows in the joint space: the same error whichever search finds them
    rng = np.random.default_rng(9)
    x = np.repeat(rng.standard_normal((1500, 4)), 2, axis=0)
    y = np.repeat(rng.standard_normal((1500, 4)), 2, axis=0)
    with pytest.warns(UserWarning, match="heavy ties"), \
            pytest.raises(RepeatedPointsError, match="repeated points") as on_tree:
        est.mi_ksg(x, y, k=1)
    try:
        _neighbors.FORCE_REGIME = "brute"
        with pytest.warns(UserWarning, match="heavy ties"), \
                pytest.raises(RepeatedPointsError, match="repeated points") as on_brute:
            est.mi_ksg(x, y, k=1)
    finally:
        _neighbors.FORCE_REGIME = None
    assert str(on_tree.value) == str(on_brute.value)


def test_knn_mi_with_labels_high_dimension_matches_brute_force():
    # the probes' measure at d = 256: the blocked search gives the scalar brute force's value
    rng = np.random.default_rng(10)
    labels = rng.integers(0, 10, 500)
    z = rng.standard_normal((500, 256))
    z[:, :8] += 1.5 * rng.standard_normal((10, 8))[labels]
    with pytest.warns(UserWarning, match="fewer than 10 per dimension"):
        fast = est.mi_ross(z, labels)
    try:
        _neighbors.FORCE_REGIME = "brute"
        with pytest.warns(UserWarning, match="fewer than 10 per dimension"):
            slow = est.mi_ross(z, labels)
    finally:
        _neighbors.FORCE_REGIME = None
    assert fast == pytest.approx(slow, abs=1e-12)
    a = est.mi_ross(z[:, :20], labels, metric="euclidean")
    try:
        _neighbors.FORCE_REGIME = "brute"
        b = est.mi_ross(z[:, :20], labels, metric="euclidean")
    finally:
        _neighbors.FORCE_REGIME = None
    assert a == pytest.approx(b, abs=1e-12)
