"""The shared Gram and kernel machinery (estimators/_gram.py) on its own: NumPy and torch agree,
the bandwidth rules match their definitions, and row selection and SVD work on both backends."""

import math

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from estimators import _gram

from ._spectral_data import offset_data


@pytest.mark.parametrize("n", [2, 3, 7, 8])
def test_median_distance_is_the_median_of_the_pairwise_distances(torch_one_thread, n):
    torch = torch_one_thread
    X = offset_data((n, 3), n)
    D2 = squareform(pdist(X, "sqeuclidean"))
    want = float(np.median(pdist(X)))
    assert _gram._median_distance(D2) == pytest.approx(want, rel=1e-14)
    assert _gram._median_distance(torch.tensor(D2)) == _gram._median_distance(D2)
    assert _gram._median_distance(D2[:1, :1]) == 0.0


def test_rms_distance_is_the_root_mean_square_pairwise_distance():
    X = offset_data((9, 4), 1)
    assert _gram._rms_distance(X) == pytest.approx(math.sqrt(np.mean(pdist(X, "sqeuclidean"))), rel=1e-14)


def test_take_rows_and_singular_values_on_both_backends(torch_one_thread):
    torch = torch_one_thread
    X = offset_data((6, 3), 2)
    idx = np.array([4, 0, 2])
    assert _gram.take_rows(X, None) is X
    np.testing.assert_array_equal(_gram.take_rows(X, idx), X[idx])
    np.testing.assert_array_equal(_gram.take_rows(torch.tensor(X), idx).numpy(), X[idx])
    want = np.linalg.svd(X, compute_uv=False)
    np.testing.assert_allclose(_gram.singular_values(torch.tensor(X)), want, rtol=1e-13)
    np.testing.assert_array_equal(_gram.singular_values(X), want)


def test_check_sigma():
    assert _gram.check_sigma(None) is None
    assert _gram.check_sigma("rms") == "rms"
    assert _gram.check_sigma(2) == 2.0
    with pytest.raises(ValueError, match="'median', 'rms' or None"):
        _gram.check_sigma("mean")
    with pytest.raises(TypeError, match="positive number"):
        _gram.check_sigma(True)
    with pytest.raises(ValueError, match="positive, finite"):
        _gram.check_sigma(-1.0)


@pytest.mark.parametrize("scale", [1.0, 1e-200, 1e200])
def test_unit_rows_and_max_abs_against_the_plain_formulas_and_leave_the_input_alone(torch_one_thread, scale):
    # unit_rows and max_abs avoid |X| temporaries and divide in place: same values as the formulas,
    # and the caller's matrix (as_matrix passes float64 input through uncopied) is never written
    import torch

    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 7)) * scale
    X[5] = -np.abs(X[5])  # a row whose largest |entry| is negative
    X[:, 0] = 0.0
    before = X.copy()
    U = _gram.unit_rows(X, "Z")
    np.testing.assert_array_equal(X, before)
    W = X * 2.0 ** {1.0: 0, 1e-200: 700, 1e200: -700}[scale]  # exact: brings the rows into range
    ref = W / np.linalg.norm(W, axis=1, keepdims=True)
    np.testing.assert_allclose(U, ref, rtol=1e-15, atol=0)
    np.testing.assert_allclose(np.linalg.norm(U, axis=1), 1.0, rtol=1e-15)
    assert _gram.max_abs(X) == np.abs(X).max() and _gram.max_abs(-X) == np.abs(X).max()
    T = torch.from_numpy(X)
    np.testing.assert_allclose(_gram.unit_rows(T, "Z").numpy(), U, rtol=1e-15, atol=0)  # torch's norm: 1 ulp apart
    np.testing.assert_array_equal(X, before)
