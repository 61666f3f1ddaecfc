"""Every numba kernel against a slow NumPy reference, exactly, on small inputs."""

import numpy as np
import pytest

from estimators import _kernels, _neighbors
from estimators._validation import pow2_rescale
from tests import reference as ref

METRICS = ["chebyshev", "euclidean"]


def _data(kind, n, d, seed):
    rng = np.random.default_rng(seed)
    if kind == "gauss":
        return rng.standard_normal((n, d))
    if kind == "ties":  # heavy ties: a coarse lattice
        return rng.integers(0, 4, (n, d)).astype(float)
    if kind == "skewed":  # very different scales and a dense cluster
        X = rng.standard_normal((n, d)) * np.logspace(-2, 1, d)
        X[: n // 3] *= 1e-3
        return X
    raise ValueError(kind)


CASES = [(kind, d) for kind in ("gauss", "ties", "skewed") for d in (1, 2, 3, 5)]


KNN_CASES = [(kind, d, r) for kind, d in CASES for r in ("brute", "grid", "tree") if not (r == "grid" and d > 3)]
COUNT_CASES = [
    (kind, d, r)
    for kind, d in CASES
    for r in ("brute", "grid", "tree", "sorted")
    if not ((r == "grid" and d > 3) or (r == "sorted" and d > 1))
]


@pytest.mark.parametrize("kind,d,regime", KNN_CASES)
@pytest.mark.parametrize("metric", METRICS)
def test_kth_distance_matches_reference(kind, d, metric, regime):
    X = _data(kind, 150, d, seed=d)
    for k in (1, 4, 9):
        got = _neighbors.kth_distance(X, k, metric, regime=regime)
        np.testing.assert_allclose(got, ref.kth_distances(X, k, metric), rtol=1e-12, atol=0)


@pytest.mark.parametrize("kind,d,regime", COUNT_CASES)
@pytest.mark.parametrize("strict", [True, False])
def test_counts_match_reference_exactly(kind, d, strict, regime):
    X = _data(kind, 160, d, seed=10 + d)
    rng = np.random.default_rng(d)
    # radii equal to actual pairwise distances put points exactly on the boundary
    eps = ref.kth_distances(X, 3, "chebyshev")
    radii = np.concatenate([eps[:80], rng.random(70) * 2, np.zeros(10)])
    got = _neighbors.count_within(X, radii, strict=strict, metric="chebyshev", regime=regime)
    want = ref.counts(X, radii, strict=strict, metric="chebyshev")
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("regime", ["brute", "grid"])
def test_counts_euclidean_match_reference(regime):
    X = _data("gauss", 200, 2, seed=3)
    radii = ref.kth_distances(X, 5, "euclidean")
    for strict in (True, False):
        got = _neighbors.count_within(X, radii, strict=strict, metric="euclidean", regime=regime)
        np.testing.assert_array_equal(got, ref.counts(X, radii, strict, "euclidean"))


def test_counts_euclidean_tree_exact_at_the_boundary():
    # radii equal to actual Euclidean distances: the tree compares squared distances,
    # the counts must still equal a direct evaluation
    X = _data("gauss", 1500, 4, seed=4)
    radii = ref.kth_distances(X, 5, "euclidean")
    for strict in (True, False):
        got = _neighbors.count_within(X, radii, strict=strict, metric="euclidean", regime="tree")
        np.testing.assert_array_equal(got, ref.counts(X, radii, strict, "euclidean"))


def test_knn_indices_are_true_neighbours():
    X = _data("gauss", 300, 2, seed=5)
    D = ref.pairwise(X)
    np.fill_diagonal(D, np.inf)
    for regime in ("brute", "grid", "tree"):
        dist, idx = _neighbors.knn(X, 6, "chebyshev", regime=regime)
        assert not (idx == np.arange(300)[:, None]).any()
        np.testing.assert_array_equal(np.take_along_axis(D, idx, axis=1), dist)
        np.testing.assert_array_equal(dist, np.sort(D, axis=1)[:, :6])


def test_knn_tree_never_returns_self_with_duplicates():
    X = np.repeat(np.arange(50.0), 4)[:, None] * np.ones((1, 4))
    dist, idx = _neighbors.knn(np.ascontiguousarray(X), 3, "chebyshev", regime="tree")
    assert not (idx == np.arange(len(X))[:, None]).any()
    np.testing.assert_array_equal(dist, 0.0)


def test_count_sorted_1d_kernel_directly():
    rng = np.random.default_rng(1)
    s = np.sort(rng.integers(0, 20, 300).astype(float) / 7.0)
    q = rng.choice(s, 100)
    r = np.abs(rng.choice(s, 100) - q)
    for strict in (True, False):
        got = _kernels.count_sorted_1d(s, q, r, strict)
        d = np.abs(s[None, :] - q[:, None])
        want = (d < r[:, None]).sum(1) if strict else (d <= r[:, None]).sum(1)
        np.testing.assert_array_equal(got, want)


def test_kde_kernel_matches_reference():
    rng = np.random.default_rng(2)
    U = rng.standard_normal((120, 3))
    h = 0.4
    D2 = ((U[:, None, :] - U[None, :, :]) ** 2).sum(-1)
    E = np.exp(-D2 / (2 * h * h))
    np.fill_diagonal(E, 0.0)
    np.testing.assert_allclose(_kernels.kde_loo_logsum(U, h), np.log(E.sum(1)), rtol=1e-12)


def test_grid_handles_degenerate_spread():
    # all points on a line in 2-D, and a constant column
    x = np.linspace(0, 1, 100)
    X = np.column_stack([x, np.zeros(100)])
    np.testing.assert_allclose(_neighbors.kth_distance(X, 2, regime="grid"), ref.kth_distances(X, 2))
    X = np.zeros((20, 2))
    np.testing.assert_array_equal(_neighbors.kth_distance(X, 3, regime="grid"), 0.0)


def test_unknown_metric_is_a_clear_error():
    with pytest.raises(ValueError, match="metric must be"):
        _neighbors.kth_distance(np.zeros((5, 1)), 1, "manhattan")


@pytest.mark.parametrize("d", [1, 2, 3])
def test_heavy_tails_and_automatic_regime_match_reference(d):
    # Cauchy data crowd a uniform grid; the automatic choice must stay exact (it moves to the tree)
    X = np.random.default_rng(d).standard_cauchy((2500, d))
    np.testing.assert_array_equal(_neighbors.kth_distance(X, 4), ref.kth_distances(X, 4))
    eps = ref.kth_distances(X, 4)
    np.testing.assert_array_equal(_neighbors.count_within(X, eps), ref.counts(X, eps))


def test_kde_row_blocks_equal_the_one_call_kernel():
    U = np.random.default_rng(7).standard_normal((157, 3))
    full = _kernels.kde_loo_logsum(U, 0.3)
    for start, stop in [(0, 157), (0, 1), (10, 47), (150, 157), (156, 157)]:
        np.testing.assert_array_equal(_kernels.kde_loo_logsum_rows(U, 0.3, start, stop), full[start:stop])


@pytest.mark.parametrize("per_column", [False, True])
def test_pow2_rescale_is_exact_and_leaves_ordinary_data_alone(per_column):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((50, 3))
    same, e = pow2_rescale(X, per_column)
    assert same is X and not e.any()
    big = X * (np.array([1e300, 1.0, 1e-300]) if per_column else 1e300)
    Y, e = pow2_rescale(big, per_column)
    np.testing.assert_array_equal(np.ldexp(Y, e), big)  # exact round trip
    peak = np.abs(Y).max(axis=0)[[0, 2]] if per_column else np.abs(Y).max()
    assert np.all((peak >= 0.5) & (peak < 1.0))
    if per_column:
        assert e[1] == 0 and e[0] > 900 and e[2] < -900
