"""Fixtures shared by the test modules."""

import pytest


@pytest.fixture(scope="module")
def one_blas_thread():
    """One BLAS thread: as fast for small matrices, and no spin-wait stalls on a busy 2-core machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional (installed with scikit-learn)
        yield
        return
    with threadpool_limits(1):
        yield


@pytest.fixture
def torch_one_thread():
    """torch with one CPU thread: its OpenMP pool stalls on a busy 2-core machine (values are unaffected)."""
    torch = pytest.importorskip("torch")
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(saved)
