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
