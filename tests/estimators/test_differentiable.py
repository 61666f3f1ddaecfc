"""Differentiable spectral entropies: the NumPy values to round-off, gradcheck, finite differences, degenerate inputs."""

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from estimators import differentiable as D  # noqa: E402
from estimators import spectral as S  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")

ALPHAS = [0.0, 0.5, 1.0, 2.0, math.inf]
KERNELS = [("linear", None), ("gaussian", None), ("gaussian", "rms"), ("gaussian", 1.7)]
SHAPES = [(40, 6), (6, 40), (20, 20)]


def _rand(shape, seed=0, offset=0.3):
    return np.random.default_rng(seed).standard_normal(shape) + offset


def _t(Z, grad=True):
    return torch.tensor(Z, dtype=torch.float64, requires_grad=grad)


def _fd(f, Z, h=1e-6):
    """Central finite differences of a float-valued f at Z."""
    G = np.zeros_like(Z)
    for idx in np.ndindex(*Z.shape):
        E = np.zeros_like(Z)
        E[idx] = h
        G[idx] = (f(Z + E) - f(Z - E)) / (2 * h)
    return G


def _grad(f, Z):
    t = _t(Z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f(t).backward()
    return t.grad.numpy()


# ---------------------------------------------------------------- values: the NumPy functions
@pytest.mark.parametrize("shape", SHAPES)
def test_von_neumann_entropy_matches_numpy(shape):
    Z = _rand(shape)
    h = D.von_neumann_entropy(_t(Z))
    assert h.ndim == 0 and h.dtype == torch.float64 and h.requires_grad
    assert abs(h.item() - S.von_neumann_entropy(Z)) < 1e-10
    assert abs(D.von_neumann_entropy(_t(Z), base=2).item() - S.von_neumann_entropy(Z, base=2)) < 1e-10


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("kernel,sigma", KERNELS)
def test_matrix_entropy_matches_numpy(shape, alpha, kernel, sigma):
    Z = _rand(shape, seed=1)
    h = D.matrix_entropy(_t(Z), alpha, kernel=kernel, sigma=sigma)
    assert abs(h.item() - S.matrix_entropy(Z, alpha, kernel=kernel, sigma=sigma)) < 1e-10


def test_closed_forms_and_extreme_scales():
    eye = np.eye(8)
    assert D.von_neumann_entropy(_t(5 * eye), base=2).item() == pytest.approx(3.0, abs=1e-12)
    for a in (0.5, 1.0, 2.0):
        assert D.matrix_entropy(_t(eye), a, base=2).item() == pytest.approx(3.0, abs=1e-12)
    Z = _rand((30, 5), seed=2)
    for scale in (1e-200, 1e200):
        assert D.von_neumann_entropy(_t(Z * scale)).item() == pytest.approx(S.von_neumann_entropy(Z), abs=1e-10)
        assert D.matrix_entropy(_t(Z * scale)).item() == pytest.approx(S.matrix_entropy(Z), abs=1e-10)
        g = D.matrix_entropy(_t(Z * scale), kernel="gaussian").item()
        assert g == pytest.approx(S.matrix_entropy(Z, kernel="gaussian"), abs=1e-10)
    # linear kernel with unit rows at alpha=1 is the von Neumann entropy
    U = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    assert D.matrix_entropy(_t(U)).item() == pytest.approx(D.von_neumann_entropy(_t(Z)).item(), abs=1e-12)


def test_dtype_device_and_a_1d_input():
    Z = _rand((25, 4), seed=3)
    h32 = D.von_neumann_entropy(torch.tensor(Z, dtype=torch.float32))
    assert h32.dtype == torch.float32
    assert h32.item() == pytest.approx(S.von_neumann_entropy(Z.astype(np.float32)), abs=1e-6)
    x = _rand((30,), seed=4)
    assert D.matrix_entropy(_t(x), kernel="gaussian").item() == pytest.approx(
        S.matrix_entropy(x, kernel="gaussian"), abs=1e-10)


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("shape", [(10, 4), (4, 10)])
def test_gradcheck_random_float64(shape):
    Z = _t(_rand(shape, seed=5))
    assert torch.autograd.gradcheck(D.von_neumann_entropy, (Z,))
    for alpha in (0.5, 1.0, 2.0, math.inf):
        assert torch.autograd.gradcheck(lambda x, a=alpha: D.matrix_entropy(x, a), (Z,))
    for sigma in (None, "rms", 1.3):
        assert torch.autograd.gradcheck(lambda x, s=sigma: D.matrix_entropy(x, 2.0, kernel="gaussian", sigma=s), (Z,))
        assert torch.autograd.gradcheck(lambda x, s=sigma: D.matrix_entropy(x, kernel="gaussian", sigma=s), (Z,))


def test_gradient_matches_finite_differences_of_the_numpy_function():
    Z = _rand((9, 5), seed=6)
    pairs = [
        (D.von_neumann_entropy, S.von_neumann_entropy),
        (lambda x: D.matrix_entropy(x, 1.0), lambda x: S.matrix_entropy(x, 1.0)),
        (lambda x: D.matrix_entropy(x, 2.0, kernel="gaussian"), lambda x: S.matrix_entropy(x, 2.0, kernel="gaussian")),
    ]
    for df, nf in pairs:
        assert np.abs(_grad(df, Z) - _fd(nf, Z)).max() < 1e-7


def test_invariances_of_the_gradient():
    Z = _rand((20, 6), seed=7)
    # VNE is invariant to rescaling each row: its gradient is orthogonal to every row
    g = _grad(D.von_neumann_entropy, Z)
    assert np.abs((g * Z).sum(axis=1)).max() < 1e-12
    # the linear matrix entropy and the Gaussian one with a data-derived bandwidth are scale-invariant
    for f in (D.matrix_entropy, lambda x: D.matrix_entropy(x, kernel="gaussian", sigma="rms")):
        assert abs((_grad(f, Z) * Z).sum()) < 1e-10
    # a fixed bandwidth is not: the gradient moves the scale
    assert abs((_grad(lambda x: D.matrix_entropy(x, kernel="gaussian", sigma=1.0), Z) * Z).sum()) > 1e-3


DEGENERATE = {
    "duplicate rows": np.repeat(_rand((5, 3), seed=8), 2, axis=0),
    "rank-deficient, tall": _rand((12, 2), seed=9) @ _rand((2, 5), seed=10),
    "rank-deficient, wide": _rand((5, 2), seed=11) @ _rand((2, 12), seed=12),
    "isotropic (all eigenvalues equal)": np.tile(np.eye(4), (3, 1)),
}


@pytest.mark.parametrize("name", list(DEGENERATE))
def test_degenerate_inputs_give_the_finite_difference_gradient(name):
    Z = DEGENERATE[name]
    pairs = [
        (D.von_neumann_entropy, S.von_neumann_entropy),
        (lambda x: D.matrix_entropy(x, 1.0), lambda x: S.matrix_entropy(x, 1.0)),
        (lambda x: D.matrix_entropy(x, 2.0), lambda x: S.matrix_entropy(x, 2.0)),
        (lambda x: D.matrix_entropy(x, kernel="gaussian", sigma=1.5),
         lambda x: S.matrix_entropy(x, kernel="gaussian", sigma=1.5)),
        (lambda x: D.matrix_entropy(x, kernel="gaussian", sigma="rms"),
         lambda x: S.matrix_entropy(x, kernel="gaussian", sigma="rms")),
    ]
    for df, nf in pairs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert abs(df(_t(Z)).item() - nf(Z)) < 1e-10
            g = _grad(df, Z)
            assert np.isfinite(g).all()
            assert np.abs(g - _fd(nf, Z)).max() < 1e-6


@pytest.mark.parametrize("name", list(DEGENERATE))
def test_degenerate_inputs_give_finite_gradients_everywhere(name):
    # where the function has kinks (alpha < 1 at a zero eigenvalue; the median of tied distances)
    # the gradient is still finite: never NaN or inf
    Z = DEGENERATE[name]
    for f in (lambda x: D.matrix_entropy(x, 0.5), lambda x: D.matrix_entropy(x, 0.0),
              lambda x: D.matrix_entropy(x, math.inf), lambda x: D.matrix_entropy(x, kernel="gaussian"),
              lambda x: D.matrix_entropy(x, 0.5, kernel="gaussian")):
        assert np.isfinite(_grad(f, Z)).all()


def test_naive_eigh_gradient_is_nan_where_ours_is_finite():
    # the gradient through eigenvectors (torch.linalg.eigh) divides by eigenvalue gaps: NaN for an
    # isotropic representation; the eigenvalue-only formulation has none
    Z = _t(np.tile(np.eye(4), (3, 1)))
    X = Z / Z.norm(dim=1, keepdim=True)
    lam, U = torch.linalg.eigh(X.T @ X / X.shape[0])
    lam = torch.diagonal(U.T @ (X.T @ X / X.shape[0]) @ U)
    (-(lam * lam.log()).sum()).backward()
    assert not torch.isfinite(Z.grad).all()
    assert np.isfinite(_grad(D.von_neumann_entropy, Z.detach().numpy())).all()


def test_zero_rows_are_dropped_with_zero_gradient():
    Z = _rand((10, 4), seed=13)
    Z[3] = 0.0
    t = _t(Z)
    with pytest.warns(UserWarning, match="1 row"):
        h = D.von_neumann_entropy(t)
    with pytest.warns(UserWarning):
        assert h.item() == pytest.approx(S.von_neumann_entropy(Z), abs=1e-12)
    h.backward()
    assert torch.all(t.grad[3] == 0) and torch.isfinite(t.grad).all()


def test_as_a_regulariser_gradient_ascent_spreads_a_collapsed_representation():
    rng = np.random.default_rng(14)
    Z = _t(rng.standard_normal((64, 1)) @ rng.standard_normal((1, 8)) + 0.01 * rng.standard_normal((64, 8)))
    start = D.von_neumann_entropy(Z).item()
    opt = torch.optim.SGD([Z], lr=0.5)
    for _ in range(50):
        opt.zero_grad()
        (-D.von_neumann_entropy(Z)).backward()
        opt.step()
    end = D.von_neumann_entropy(Z).item()
    assert start < 0.2 and end > start + 1.0 and end <= math.log(8) + 1e-12


# ---------------------------------------------------------------- errors
def test_errors():
    with pytest.raises(TypeError, match="must be a torch.Tensor.*estimators.spectral.von_neumann_entropy"):
        D.von_neumann_entropy(np.eye(3))
    with pytest.raises(TypeError, match="complex"):
        D.matrix_entropy(torch.eye(3, dtype=torch.complex128))
    with pytest.raises(ValueError, match="1-D .* or 2-D"):
        D.matrix_entropy(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="empty"):
        D.von_neumann_entropy(torch.zeros(0, 3))
    bad = torch.eye(3, dtype=torch.float64)
    bad[0, 1] = float("nan")
    with pytest.raises(ValueError, match="1 NaN and 0 infinite"):
        D.matrix_entropy(bad)
    with pytest.raises(ValueError, match="every row of Z is zero"):
        D.von_neumann_entropy(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="all zeros"):
        D.matrix_entropy(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="kernel must be"):
        D.matrix_entropy(torch.eye(3), kernel="rbf")
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        D.matrix_entropy(torch.eye(3), -1.0)
    with pytest.raises(ValueError, match="sigma must be"):
        D.matrix_entropy(torch.eye(3), kernel="gaussian", sigma=-1.0)
    with pytest.raises(ValueError, match="base must be"):
        D.von_neumann_entropy(torch.eye(3), base=1)


def test_degenerate_bandwidth_warns_like_numpy():
    Z = _rand((10, 3), seed=15)
    with pytest.warns(UserWarning, match="so small that every off-diagonal affinity"):
        h = D.matrix_entropy(_t(Z), kernel="gaussian", sigma=1e-6)
    assert h.item() == pytest.approx(math.log(10), abs=1e-12)
    with pytest.warns(UserWarning, match="all samples are identical"):
        assert D.matrix_entropy(_t(np.ones((5, 2))), kernel="gaussian").item() == pytest.approx(0.0, abs=1e-12)


def test_import_does_not_import_torch():
    code = "import sys, estimators.differentiable, infomeasure; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
