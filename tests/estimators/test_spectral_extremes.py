"""Spectral and diffusion measures at the edges of float64: extreme scales, rank deficiency,
small genuine eigenvalues, solver failures and other hostile inputs.

Scale-free measures must give the value of the unscaled data (to round-off of the scaled
entries, ~1e-15 relative) at any scale float64 can hold; measures with a fixed scale
(coding rate) are checked against a 50-digit evaluation of their formula.
"""

import math
import warnings

import mpmath as mp
import numpy as np
import pytest

from estimators import _gram
from estimators import spectral as sp
from estimators.diffusion import diffusion_spectral_entropy as dse
from estimators.diffusion import diffusion_spectral_mutual_information as dsmi

from ._spectral_data import offset_data as _data

pytestmark = pytest.mark.usefixtures("one_blas_thread")

SCALES = [1e-300, 1e-200, 1e-150, 1e150, 1e154, 1e200, 1e300]
REL = 1e-12


_Y = np.arange(80) % 3

SCALE_FREE = {
    "rankme": sp.rankme,
    "rankme_eps0": lambda z: sp.rankme(z, eps=0),
    "von_neumann_entropy": sp.von_neumann_entropy,
    "effective_rank": sp.effective_rank,
    "diff_erank": lambda z: sp.diff_erank(z, z[:, ::2]),
    "matrix_entropy_linear": lambda z: sp.matrix_entropy(z, 0.5),
    "matrix_entropy_gaussian_median": lambda z: sp.matrix_entropy(z, 2.0, kernel="gaussian"),
    "matrix_entropy_gaussian_rms": lambda z: sp.matrix_entropy(z, kernel="gaussian", sigma="rms"),
    "mi_matrix": lambda z: sp.mi_matrix(z[:, :4], z[:, 4:]),
    "matrix_joint_entropy": lambda z: sp.matrix_joint_entropy([z[:, :4], z[:, 4:]]),
    "mi_matrix_linear": lambda z: sp.mi_matrix(z[:, :4], z[:, 4:], kernel="linear"),
    "alpha_req": lambda z: sp.alpha_req(z, fit_range=(2, 11)),
    "dse": dse,
    "dse_median_t3": lambda z: dse(z, sigma="median", t=3),
    "dsmi": lambda z: dsmi(z, _Y),
    "condition_number": sp.condition_number,
    "stable_rank": lambda z: sp.singular_value_summary(z).stable_rank,
}


# ---------------------------------------------------------------- A: scale-free measures at any scale
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", list(SCALE_FREE))
def test_scale_free_measures_are_unchanged_at_extreme_scales(name, scale):
    # Before: -0.0 (VNE) and 1.0 (effective rank) at 1e154, LinAlgError "Eigenvalues did not
    # converge" (RankMe, matrix entropy, alpha-ReQ, DSE, DSMI), "Z is all zeros" at 1e-200.
    f = SCALE_FREE[name]
    Z = _data()
    want = f(Z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either: nothing is degenerate here
        got = f(Z * scale)
    assert got == pytest.approx(want, rel=REL, abs=1e-13)


def test_the_default_dse_bandwidth_is_reported_in_the_callers_units():
    Z = _data()
    for scale in (1e-200, 1e200):
        assert dse(Z * scale).sigma == pytest.approx(dse(Z).sigma * scale, rel=1e-14)


@pytest.mark.parametrize("scale", [1e-200, 1e154, 1e300])
def test_torch_tensors_at_extreme_scales(torch_one_thread, scale):
    torch = torch_one_thread
    Z = _data((40, 6), 1)
    T = torch.tensor(Z * scale, requires_grad=True)
    for f in (sp.rankme, sp.von_neumann_entropy, sp.effective_rank, sp.matrix_entropy, dse,
              lambda z: sp.matrix_entropy(z, kernel="gaussian"), lambda z: sp.alpha_req(z, fit_range=(1, 5)),
              lambda z: sp.singular_value_summary(z).condition_number):
        assert f(T) == pytest.approx(f(Z), rel=REL, abs=1e-13)
    assert sp.coding_rate(T) == pytest.approx(sp.coding_rate(Z * scale), rel=1e-12, abs=1e-300)


def test_gram_spectrum_keeps_extreme_spectra_in_range():
    Z = _data((30, 5), 2)
    s = sp.gram_spectrum(Z)
    assert s.log2_scale == 0
    big = sp.gram_spectrum(Z * 2.0**600)  # eigenvalues ~2**1200: beyond float64
    assert big.log2_scale != 0
    np.testing.assert_allclose(big.eigenvalues * 2.0 ** (big.log2_scale - 1200), s.eigenvalues, rtol=1e-13)
    small = sp.gram_spectrum(Z * 2.0**-600)
    np.testing.assert_allclose(small.eigenvalues * 2.0 ** (small.log2_scale + 1200), s.eigenvalues, rtol=1e-13)
    # in range: the caller's units, exactly scaled
    mid = sp.gram_spectrum(Z * 2.0**100)
    assert mid.log2_scale == 0
    np.testing.assert_allclose(mid.eigenvalues, s.eigenvalues * 2.0**200, rtol=1e-13)


# ---------------------------------------------------------------- A: fixed-scale measures, computed exactly
def _mp_rate(Z, eps, scale):
    """½ Σ log(1 + d/(n eps²) scale² λ) in 50 digits from the float64 eigenvalues of ZᵀZ (d x d)."""
    n, d = Z.shape
    lam = np.linalg.eigvalsh(Z.T @ Z)
    with mp.workdps(50):
        c = mp.mpf(d) / (n * mp.mpf(eps) ** 2) * mp.mpf(scale) ** 2
        return mp.mpf(0.5) * mp.fsum(mp.log1p(c * mp.mpf(float(v))) for v in lam)


@pytest.mark.parametrize("scale", SCALES)
def test_coding_rate_and_rate_reduction_at_extreme_scales(scale):
    # Before: inf at 1e154 (ZᵀZ overflows), NaN for the rate reduction (inf - inf).
    Z = _data((60, 6), 3)
    want = _mp_rate(Z, math.sqrt(0.5), scale)
    got = sp.coding_rate(Z * scale)
    assert got == pytest.approx(float(want), rel=1e-12, abs=1e-300)
    assert sp.coding_rate(sp.gram_spectrum(Z * scale)) == pytest.approx(float(want), rel=1e-12, abs=1e-300)
    y = np.arange(60) % 2
    want_rr = want - sum(
        mp.mpf(int((y == c).sum())) / 60 * _mp_rate(Z[y == c], math.sqrt(0.5), scale) for c in (0, 1)
    )
    assert sp.rate_reduction(Z * scale, y) == pytest.approx(float(want_rr), rel=1e-10, abs=1e-12)


def test_coding_rate_with_extreme_eps():
    # Before: ZeroDivisionError for eps=1e-200 (eps² underflows to 0).
    Z = _data((30, 4), 4)
    for eps in (1e-200, 1e-100, 1e100, 1e200):
        want = float(_mp_rate(Z, eps, 1.0))
        assert sp.coding_rate(Z, eps) == pytest.approx(want, rel=1e-12, abs=1e-300)


def test_rank_deficient_coding_rate_at_large_scale_counts_only_the_rank():
    # rank 2 in R^6: 1 + a λ for the 4 null directions must stay 1, not round-off times 1e300
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((40, 2)) @ rng.standard_normal((2, 6))
    s = np.linalg.svd(Z, compute_uv=False)[:2]
    for scale in (1e100, 1e154):
        with mp.workdps(50):
            c = mp.mpf(6) / (40 * mp.mpf(0.5)) * mp.mpf(scale) ** 2
            want = float(mp.mpf(0.5) * mp.fsum(mp.log1p(c * mp.mpf(float(v)) ** 2) for v in s))
        assert sp.coding_rate(Z * scale) == pytest.approx(want, rel=1e-9)


def test_eigensolver_failure_is_a_named_value_error(monkeypatch):
    def fail(*args, **kwargs):
        raise np.linalg.LinAlgError("Eigenvalues did not converge")

    monkeypatch.setattr(np.linalg, "eigvalsh", fail)
    Z = _data((20, 4), 6)
    with pytest.raises(ValueError, match=r"Z: the symmetric eigenvalue solver did not converge.*rescale"):
        sp.rankme(Z)
    with pytest.raises(ValueError, match=r"matrix_entropy: the symmetric eigenvalue solver.*rescale"):
        sp.matrix_entropy(Z, kernel="gaussian")
    with pytest.raises(ValueError, match=r"diffusion operator: the symmetric eigenvalue solver.*rescale"):
        dse(Z)


# ---------------------------------------------------------------- B: RankMe with eps = 0
def test_rankme_eps0_of_a_rank_deficient_matrix_is_roy_vetterli():
    # Before: NaN (0 log 0 after p = sigma / sum), RuntimeWarning "divide by zero"
    assert sp.rankme(np.diag([1.0, 1.0, 0.0]), eps=0) == 2.0
    rng = np.random.default_rng(7)
    Z = rng.standard_normal((40, 3)) @ rng.standard_normal((3, 30))
    s = np.linalg.svd(Z, compute_uv=False)[:3]
    p = s / s.sum()
    assert sp.rankme(Z, eps=0) == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-12)
    assert sp.rankme(np.ones((10, 3)), eps=0) == pytest.approx(1.0, abs=1e-15)


# ---------------------------------------------------------------- C: small genuine eigenvalues
def _mp_renyi(s, alpha):
    with mp.workdps(50):
        lam = [mp.mpf(float(v)) ** 2 for v in s]
        total = mp.fsum(lam)
        p = [v / total for v in lam]
        if alpha == 1.0:
            return float(-mp.fsum(q * mp.log(q) for q in p))
        a = mp.mpf(alpha)
        return float(mp.log(mp.fsum(q**a for q in p)) / (1 - a))


@pytest.mark.parametrize("shape", [(5000, 20), (20, 5000), (2000, 10)])
def test_matrix_entropy_keeps_small_genuine_eigenvalues(shape):
    # Singular values 1 .. 1e-6 (1e-7 for 10 columns): eigenvalues down to 1e-12 (1e-14), far above
    # the round-off of the Gram matrix (~1e-16 of the largest). Before, a threshold of
    # max(n, d) * eps * max (1.1e-12 at n = 5000) zeroed the smallest: 9.8e-7 relative error at
    # alpha = 0.5 (3.5e-6 for 2000 x 10), where plain float64 eigenvalues are ~1e-11 off.
    n, d = shape
    m = min(n, d)
    rng = np.random.default_rng(8)
    U, _ = np.linalg.qr(rng.standard_normal((n, m)))
    V, _ = np.linalg.qr(rng.standard_normal((d, m)))
    s = np.logspace(0, -6 if m == 20 else -7, m)
    Z = (U * s) @ V.T
    for alpha in (0.5, 1.0, 2.0):
        want = _mp_renyi(s, alpha)
        assert sp.matrix_entropy(Z, alpha) == pytest.approx(want, rel=1e-9)
    assert (sp.gram_spectrum(Z).eigenvalues > 0).all()


# ---------------------------------------------------------------- other hostile inputs
def test_singular_value_summary_at_extreme_scales():
    # Before: RuntimeWarning overflow / OverflowError (sigma_max**2) and NaN stable rank
    W = _data((20, 8), 9)
    ref = sp.singular_value_summary(W)
    for scale in (1e-310, 1e-200, 1e200, 1e300):
        s = sp.singular_value_summary(W * scale)
        assert s.condition_number == pytest.approx(ref.condition_number, rel=1e-10)
        assert s.stable_rank == pytest.approx(ref.stable_rank, rel=1e-10)
        assert s.effective_rank == pytest.approx(ref.effective_rank, rel=1e-10)
        assert s.numerical_rank == ref.numerical_rank
        assert s.sigma_max == pytest.approx(ref.sigma_max * scale, rel=1e-10)
    with pytest.warns(UserWarning, match="exceed the float64 range"):
        s = sp.singular_value_summary(np.full((4, 2), 1.7e308))
    assert s.frobenius_norm == math.inf and s.stable_rank == pytest.approx(1.0) and s.numerical_rank == 1


def test_rows_of_very_different_size_are_all_normalised():
    # a row 1e-320 (subnormal) and a row 1e300: both are directions for VNE
    Z = np.array([[1e300, 0.0], [0.0, 1e-320]])
    assert sp.von_neumann_entropy(Z) == pytest.approx(math.log(2), rel=1e-15)


def test_values_near_the_float64_maximum():
    # Before: NaN RankMe and rate reduction, RuntimeWarning overflow in the kernels
    Z = np.array([[1.7e308, -1.7e308], [-1.7e308, 1.7e308], [1.7e308, 1.0], [3.0, -1.7e308]])
    ref = Z / 1.7e308
    for f in (sp.rankme, sp.von_neumann_entropy, sp.matrix_entropy, dse, lambda z: sp.matrix_entropy(z, kernel="gaussian")):
        assert f(Z) == pytest.approx(f(ref), rel=1e-12)
    assert math.isfinite(sp.rate_reduction(Z, [0, 0, 1, 1]))


def test_float16_input_equals_its_float64_values(torch_one_thread):
    torch = torch_one_thread
    Z16 = _data((30, 4), 10).astype(np.float16)
    Z64 = Z16.astype(np.float64)
    for f in (sp.rankme, sp.von_neumann_entropy, dse):
        assert f(Z16) == f(Z64)
        assert f(torch.tensor(Z16)) == pytest.approx(f(Z64), rel=1e-12)


def test_helpers_rescale_exactly(torch_one_thread):
    torch = torch_one_thread
    X = np.array([[3.0, -1.5], [5e-324, 0.25]])
    for e in (-1070, -600, 0, 600, 1020):
        got = _gram.times_pow2(X / 4.0, e) if e > 0 else _gram.times_pow2(X, e)
        want = np.ldexp(X / 4.0, e) if e > 0 else np.ldexp(X, e)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(_gram.times_pow2(torch.tensor(X), e).numpy(), np.ldexp(X, e))
    Y = np.array([[3.0, -1.5], [1e-10, 0.25]]) * 1e300
    Xs, k = _gram.pow2_normalized(Y)
    assert 0.5 <= np.abs(Xs).max() < 1.0 and np.array_equal(np.ldexp(Xs, k), Y)


def test_extreme_fixed_bandwidths_for_the_matrix_renyi_family_warn():
    # Before: ZeroDivisionError (2 sigma^2 underflows to 0) for sigma=1e-300
    Z = _data((20, 3), 11)
    with pytest.warns(UserWarning, match=r"sigma=1e-300 is so small .* kernel is the identity"):
        assert sp.matrix_entropy(Z, kernel="gaussian", sigma=1e-300) == pytest.approx(math.log(20), rel=1e-14)
    with pytest.warns(UserWarning, match=r"sigma=1e\+300 is so large .* kernel is all ones"):
        assert sp.matrix_entropy(Z, kernel="gaussian", sigma=1e300) == pytest.approx(0.0, abs=1e-12)
    with pytest.warns(UserWarning, match="kernel is the identity"):
        sp.mi_matrix(Z, Z, sigma=1e-300)
    # a fixed bandwidth at extreme data scales is applied exactly
    for scale in (1e-200, 1e200):
        assert sp.matrix_entropy(Z * scale, kernel="gaussian", sigma=2.0 * scale) == pytest.approx(
            sp.matrix_entropy(Z, kernel="gaussian", sigma=2.0), rel=1e-12)
