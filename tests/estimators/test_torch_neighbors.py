"""The torch neighbour search (the path of tensors on an accelerator), checked on CPU tensors.

Every number must equal the numba path's: distances to the last bit, neighbour indices in
(key, index) order, counts exactly, and the estimators built on them (KSG MI 1 and 2, CMI,
transfer entropy, KL entropy, Ross's MI with labels) to 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest

import estimators as est
from estimators import _neighbors, _torch_neighbors as tn
from estimators.entropy import entropy_kl
from estimators.mutual_info import RepeatedPointsError, cmi_ksg, mi_ksg, mi_ross
from estimators.transfer import te_ksg

torch = pytest.importorskip("torch")

SMALL_BUDGET = 100_000  # bytes: a few rows per block, so blocks and their tails are exercised


def _data(kind, n, d, rng):
    if kind == "continuous":
        return rng.standard_normal((n, d))
    if kind == "integers":  # ties everywhere, exact integer distances
        return rng.integers(0, 3, (n, d)).astype(float)
    X = rng.standard_normal((n, d))  # duplicated rows
    X[n // 2 :] = X[: n - n // 2]
    return X


@pytest.fixture
def force_torch(monkeypatch):
    monkeypatch.setattr(tn, "FORCE_TORCH", True)


@pytest.mark.parametrize("metric", ["chebyshev", "euclidean"])
@pytest.mark.parametrize("kind", ["continuous", "integers", "duplicates"])
@pytest.mark.parametrize("d", [1, 5, 20])
def test_knn_equals_the_blocked_search(d, kind, metric):
    rng = np.random.default_rng(d)
    X = _data(kind, 1037, d, rng)  # 1037: not a multiple of any block size
    cheb = metric == "chebyshev"
    for k in (1, 4, 9):
        want_d, want_i = _neighbors.knn(X, k, metric, regime="block")
        got_d, got_i = tn.knn(torch.tensor(X), k, cheb, budget=SMALL_BUDGET)
        np.testing.assert_array_equal(got_d.numpy(), want_d)  # to the last bit
        np.testing.assert_array_equal(got_i.numpy(), want_i)  # (key, index) order
        np.testing.assert_array_equal(tn.kth_distance(torch.tensor(X), k, cheb).numpy(), want_d[:, k - 1])
    if d >= 5:  # the tree gives the same neighbours
        tree_d, tree_i = _neighbors.knn(X, 4, metric, regime="tree")
        got_d, got_i = tn.knn(torch.tensor(X), 4, cheb)
        np.testing.assert_array_equal(got_d.numpy(), tree_d)
        np.testing.assert_array_equal(got_i.numpy(), tree_i)


@pytest.mark.parametrize("metric", ["chebyshev", "euclidean"])
@pytest.mark.parametrize("kind", ["continuous", "integers", "duplicates"])
@pytest.mark.parametrize("d", [1, 5, 20])
def test_counts_equal_the_blocked_counts(d, kind, metric):
    rng = np.random.default_rng(10 + d)
    X = _data(kind, 1037, d, rng)
    cheb = metric == "chebyshev"
    kth = _neighbors.kth_distance(X, 4, metric, regime="block")
    radii = {
        "k-th distances (points on the boundary)": kth,
        "random": rng.random(X.shape[0]) * 2 * kth.max(),
        "zero": np.zeros(X.shape[0]),
        "infinite": np.full(X.shape[0], np.inf),
    }
    for label, r in radii.items():
        for strict in (True, False):
            want = _neighbors.count_within(X, r, strict=strict, metric=metric, regime="block")
            got = tn.count_within(torch.tensor(X), torch.tensor(r), strict=strict, cheb=cheb,
                                  budget=SMALL_BUDGET)
            assert got.dtype == torch.int64
            np.testing.assert_array_equal(got.numpy(), want, err_msg=f"{label}, strict={strict}")
    # the point itself is never counted, duplicates are
    inf_count = tn.count_within(torch.tensor(X), torch.full((X.shape[0],), np.inf, dtype=torch.float64),
                                strict=False, cheb=cheb)
    assert (inf_count.numpy() == X.shape[0] - 1).all()


def test_blocks_respect_the_memory_budget():
    # N = 10^5, d = 10: one block's working set stays within BLOCK_BYTES (256 MiB)
    n = 100_000
    for kind in ("knn", "knn_index", "count"):
        rows = tn.rows_per_block(n, kind)
        assert rows >= 1
        assert rows * n * tn._BYTES_PER_KEY[kind] <= tn.BLOCK_BYTES <= 300 * 2**20
    assert tn.rows_per_block(10, "count") == 10  # small problems: one block
    assert tn.rows_per_block(n, "count", budget=1) == 1  # never fewer than one row
    # a budget smaller than a row still gives exact results
    X = np.random.default_rng(3).standard_normal((50, 3))
    got = tn.knn(torch.tensor(X), 3, True, budget=1)
    want = _neighbors.knn(X, 3, "chebyshev", regime="block")
    np.testing.assert_array_equal(got[0].numpy(), want[0])
    np.testing.assert_array_equal(got[1].numpy(), want[1])


def test_search_device_dispatch(monkeypatch):
    x = np.zeros(5)
    assert tn.search_device(x, torch.zeros(5)) is None  # NumPy and CPU tensors: numba path
    meta = torch.empty(5, device="meta")  # stands in for an accelerator
    assert tn.search_device(x, meta) == torch.device("meta")
    assert tn.search_device(x, x, [torch.zeros(5), meta]) == torch.device("meta")  # TE conditions
    assert tn.search_device([1.0, 2.0]) is None  # a plain list is data, not tensors
    monkeypatch.setattr(tn, "FORCE_TORCH", True)
    assert tn.search_device(x) == torch.device("cpu")


def _gaussian_pair(n, dx, dy, rho, rng):
    x = rng.standard_normal((n, dx))
    y = rho * x[:, :dy] + np.sqrt(1 - rho**2) * rng.standard_normal((n, dy))
    return x, y


def _both(fn, *args, monkeypatch, **kwargs):
    """``fn`` on the numba path, then on the torch path (CPU tensors)."""
    want = fn(*args, **kwargs)
    with monkeypatch.context() as m:
        m.setattr(tn, "FORCE_TORCH", True)
        got = fn(*[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args], **kwargs)
    return want, got


@pytest.mark.parametrize("dims", [(1, 1), (3, 2), (5, 5)])
@pytest.mark.parametrize("variant", [1, 2])
def test_ksg_mi_equals_the_numba_path(dims, variant, monkeypatch):
    rng = np.random.default_rng(sum(dims) + variant)
    x, y = _gaussian_pair(1500, *dims, 0.6, rng)
    want, got = _both(mi_ksg, x, y, variant=variant, monkeypatch=monkeypatch)
    assert got == pytest.approx(want, abs=1e-12)
    want, got = _both(mi_ksg, x, y, variant=variant, k=1, base=2, monkeypatch=monkeypatch)
    assert got == pytest.approx(want, abs=1e-12)


def test_ksg_mi_on_tied_marginals_equals_the_blocked_search(monkeypatch):
    # x integer-valued (ties in the marginal counts), y continuous: KSG-2 depends on which
    # neighbours are chosen among equal distances, so the (key, index) order must match
    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, (800, 5)).astype(float)
    y = x[:, :2] + rng.standard_normal((800, 2))
    for variant in (1, 2):
        with monkeypatch.context() as m:
            m.setattr(_neighbors, "FORCE_REGIME", "block")
            with pytest.warns(UserWarning, match="ties"):
                want = mi_ksg(x, y, variant=variant)
        with monkeypatch.context() as m:
            m.setattr(tn, "FORCE_TORCH", True)
            with pytest.warns(UserWarning, match="ties"):
                got = mi_ksg(torch.tensor(x), torch.tensor(y), variant=variant)
        assert got == pytest.approx(want, abs=1e-12)


def test_cmi_te_entropy_and_labels_mi_equal_the_numba_path(monkeypatch):
    rng = np.random.default_rng(11)
    z = rng.standard_normal((1200, 2))
    x = z[:, :1] + rng.standard_normal((1200, 1))
    y = z[:, 1:] + 0.5 * x + rng.standard_normal((1200, 1))
    want, got = _both(cmi_ksg, x, y, z, monkeypatch=monkeypatch)
    assert got == pytest.approx(want, abs=1e-12)

    s = rng.standard_normal(2000)
    t = np.r_[0.0, 0.8 * s[:-1]] + 0.6 * rng.standard_normal(2000)
    c = rng.standard_normal(2000)
    want, got = _both(te_ksg, s, t, history=2, monkeypatch=monkeypatch)
    assert got == pytest.approx(want, abs=1e-12)
    want = te_ksg(s, t, condition=[c])
    with monkeypatch.context() as m:
        m.setattr(tn, "FORCE_TORCH", True)
        got = te_ksg(torch.tensor(s), torch.tensor(t), condition=[torch.tensor(c)])
    assert got == pytest.approx(want, abs=1e-12)

    X = rng.standard_normal((1500, 6))
    for metric in ("euclidean", "chebyshev"):
        want, got = _both(entropy_kl, X, metric=metric, monkeypatch=monkeypatch)
        assert got == pytest.approx(want, abs=1e-12)
    want, got = _both(est.entropy, X[:, :2], monkeypatch=monkeypatch)  # the public dispatcher
    assert got == pytest.approx(want, abs=1e-12)

    labels = rng.integers(0, 5, 1000)
    Z = rng.standard_normal((1000, 20))
    Z[:, :3] += rng.standard_normal((5, 3))[labels]
    for metric in ("chebyshev", "euclidean"):
        want, got = _both(mi_ross, Z, labels, metric=metric, monkeypatch=monkeypatch)
        assert got == pytest.approx(want, abs=1e-12)


def test_repeated_points_raise_the_same_error(monkeypatch):
    x = np.repeat(np.arange(50.0), 4)
    y = np.repeat(np.arange(50.0), 4)
    with pytest.warns(UserWarning, match="ties"), pytest.raises(RepeatedPointsError) as numba_err:
        mi_ksg(x, y, k=2)
    monkeypatch.setattr(tn, "FORCE_TORCH", True)
    with pytest.warns(UserWarning, match="ties"), pytest.raises(RepeatedPointsError) as torch_err:
        mi_ksg(torch.tensor(x), torch.tensor(y), k=2)
    assert str(torch_err.value) == str(numba_err.value)
    with pytest.warns(UserWarning, match="ties"), pytest.raises(ValueError, match="repeated points"):
        entropy_kl(torch.tensor(np.repeat(np.arange(20.0), 6)[:, None]))
