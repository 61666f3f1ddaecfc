"""Entropy estimators: closed forms, exact discrete cases, invariances, errors.

Tolerances: the standard deviations quoted in comments were measured over 30
seeds on this machine; tolerances are about 4 SD plus the known bias.
"""

import math
import warnings

import numpy as np
import pytest

import estimators as est
from tests import reference as ref

H_NORMAL_1D = 0.5 * math.log(2 * math.pi * math.e)


# ---------------------------------------------------------------- discrete
def test_discrete_exact_values():
    assert est.entropy_discrete([0, 1, 2, 3]) == pytest.approx(math.log(4), abs=1e-15)
    assert est.entropy_discrete([5, 5, 5]) == 0.0
    assert est.entropy_discrete(["a", "b", "b", "b"], base=2) == pytest.approx(0.8112781244591328, abs=1e-14)
    # rows of a 2-D input are joint symbols
    assert est.entropy_discrete([[0, 0], [0, 1], [0, 0], [0, 1]], base=2) == pytest.approx(1.0)


def test_discrete_matches_reference_and_is_order_invariant():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 7, 500)
    h = est.entropy_discrete(x)
    assert h == pytest.approx(ref.plugin_entropy(x), abs=1e-13)
    assert est.entropy_discrete(rng.permutation(x)) == pytest.approx(h, abs=1e-13)


def test_miller_madow_adds_first_order_correction():
    x = np.array([0, 1, 1, 2, 2, 2])
    assert est.entropy_miller_madow(x) == pytest.approx(ref.plugin_entropy(x) + 2 / 12, abs=1e-14)


def test_miller_madow_reduces_bias_on_average():
    # 20 equiprobable symbols, N = 40: the plug-in is biased down by about 19/80 nats
    rng = np.random.default_rng(1)
    plug, mm = [], []
    for _ in range(400):
        x = rng.integers(0, 20, 40)
        plug.append(est.entropy_discrete(x))
        mm.append(est.entropy_miller_madow(x))
    truth = math.log(20)
    assert abs(np.mean(mm) - truth) < abs(np.mean(plug) - truth) / 3


# ---------------------------------------------------------------- kNN (KL)
def test_kl_3d_gaussian_within_acceptance():
    # N = 5000, d = 3: bias -0.022, SD 0.019 (30 seeds); acceptance bound 0.08 nats
    x = np.random.default_rng(42).standard_normal((5000, 3))
    assert est.entropy_kl(x) == pytest.approx(3 * H_NORMAL_1D, abs=0.08)


def test_kl_correlated_gaussian_and_scaling():
    rng = np.random.default_rng(3)
    cov = np.array([[2.0, 0.8], [0.8, 1.0]])
    x = rng.multivariate_normal([0, 0], cov, size=20000)
    h = est.entropy_kl(x)
    assert h == pytest.approx(ref.gaussian_entropy(cov), abs=0.04)
    # differential entropy shifts by log|det A| under x -> A x; KL is exactly equivariant to scaling
    assert est.entropy_kl(3.0 * x) == pytest.approx(h + 2 * math.log(3.0), abs=1e-10)


def test_kl_matches_reference_formula_on_small_input():
    from scipy.special import digamma, gammaln

    x = np.random.default_rng(4).standard_normal((60, 2))
    for metric, logv in (("euclidean", math.log(math.pi) - gammaln(2)), ("chebyshev", 2 * math.log(2))):
        rho = ref.kth_distances(x, 3, metric)
        want = digamma(60) - digamma(3) + logv + 2 * np.mean(np.log(rho))
        assert est.entropy_kl(x, k=3, metric=metric) == pytest.approx(want, abs=1e-12)


def test_kl_is_negative_for_concentrated_data():
    x = 1e-3 * np.random.default_rng(5).standard_normal(4000)
    assert est.entropy_kl(x) == pytest.approx(H_NORMAL_1D + math.log(1e-3), abs=0.05)


def test_kl_repeated_points_are_a_clear_error_and_noise_fixes_them():
    x = np.repeat(np.arange(10.0), 10)
    with pytest.warns(UserWarning, match="heavy ties"), pytest.raises(ValueError, match="repeated points"):
        est.entropy_kl(x)
    h1 = est.entropy_kl(x, noise=1e-10, seed=0)
    assert math.isfinite(h1) and h1 == est.entropy_kl(x, noise=1e-10, seed=0)


# ---------------------------------------------------------------- Gaussian
def test_gaussian_closed_form():
    rng = np.random.default_rng(6)
    cov = np.array([[1.0, 0.5, 0.2], [0.5, 2.0, 0.3], [0.2, 0.3, 0.5]])
    x = rng.multivariate_normal(np.zeros(3), cov, size=200000)
    # SD of the estimate is about sqrt(d / (2N)) = 0.003 nats
    assert est.entropy_gaussian(x) == pytest.approx(ref.gaussian_entropy(cov), abs=0.015)


def test_gaussian_bias_correction_is_unbiased():
    # 4-D, N = 12: the plain estimate is biased by about -0.9 nats; the corrected one is not.
    rng = np.random.default_rng(7)
    truth = 4 * H_NORMAL_1D
    plain, corr = [], []
    for _ in range(3000):
        x = rng.standard_normal((12, 4))
        plain.append(est.entropy_gaussian(x))
        corr.append(est.entropy_gaussian(x, bias_correction=True))
    se = np.std(corr) / math.sqrt(len(corr))
    assert abs(np.mean(corr) - truth) < 4 * se
    assert np.mean(plain) - truth < -0.5


def test_gaussian_singular_covariance_is_a_clear_error():
    x = np.random.default_rng(0).standard_normal((100, 1))
    for seed in range(20):  # exact collinearity is caught whatever the rounding
        z = np.random.default_rng(seed).standard_normal((100, 2))
        with pytest.raises(ValueError, match="singular"):
            est.entropy_gaussian(np.column_stack([z, z @ [0.3, -1.7]]))
    with pytest.raises(ValueError, match="singular"):
        est.entropy_gaussian(np.hstack([x, 2 * x]))
    with pytest.raises(ValueError, match="singular"):
        est.entropy_gaussian(np.ones(50))
    with pytest.raises(ValueError, match="more samples than dimensions"):
        est.entropy_gaussian(np.random.default_rng(0).standard_normal((3, 5)))


# ---------------------------------------------------------------- KDE
def test_kde_2d_gaussian():
    # N = 2000 with Scott's rule: bias +0.018, SD 0.016 (15 seeds)
    x = np.random.default_rng(8).standard_normal((2000, 2))
    assert est.entropy_kde(x) == pytest.approx(2 * H_NORMAL_1D, abs=0.09)


def test_kde_matches_direct_formula():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((80, 2)) @ np.array([[1.0, 0.3], [0.0, 0.5]])
    h = 0.7
    C = np.cov(x, rowvar=False)
    Hc = h * h * C
    inv = np.linalg.inv(Hc)
    diff = x[:, None, :] - x[None, :, :]
    q = np.einsum("ijk,kl,ijl->ij", diff, inv, diff)
    dens = np.exp(-0.5 * q) / (2 * math.pi * math.sqrt(np.linalg.det(Hc)))
    np.fill_diagonal(dens, 0)
    want = -np.mean(np.log(dens.sum(1) / 79))
    assert est.entropy_kde(x, bandwidth=h) == pytest.approx(want, abs=1e-10)
    # Silverman's and Scott's factors coincide in 2-D and differ otherwise
    assert est.entropy_kde(x, bandwidth="silverman") == est.entropy_kde(x)
    assert est.entropy_kde(x[:, :1], bandwidth="silverman") != est.entropy_kde(x[:, :1])


def test_kde_bad_bandwidth():
    x = np.random.default_rng(0).standard_normal(50)
    with pytest.raises(ValueError, match="bandwidth"):
        est.entropy_kde(x, bandwidth="wide")
    with pytest.raises(ValueError, match="bandwidth"):
        est.entropy_kde(x, bandwidth=-1.0)


# ---------------------------------------------------------------- Rényi / Tsallis
def test_renyi_discrete_exact():
    p = np.array([0.5, 0.25, 0.25])
    x = [0, 0, 1, 2]
    assert est.entropy_renyi(x, alpha=2) == pytest.approx(-math.log((p**2).sum()), abs=1e-14)
    assert est.entropy_renyi(x, alpha=0) == pytest.approx(math.log(3))
    assert est.entropy_renyi(x, alpha=np.inf) == pytest.approx(math.log(2))
    assert est.entropy_renyi(x, alpha=1) == pytest.approx(est.entropy_discrete(x))
    assert est.entropy_renyi(x, alpha=0.5, base=2) == pytest.approx(
        2 * math.log2(np.sqrt(p).sum()), abs=1e-14
    )


def test_tsallis_discrete_exact():
    x = [0, 0, 1, 2]
    p = np.array([0.5, 0.25, 0.25])
    assert est.entropy_tsallis(x, alpha=2) == pytest.approx(1 - (p**2).sum())
    assert est.entropy_tsallis(x, alpha=3) == pytest.approx((1 - (p**3).sum()) / 2)
    assert est.entropy_tsallis(x, alpha=1, base=2) == pytest.approx(1.5)
    assert est.entropy_tsallis(x, alpha=np.inf) == 0.0


def _renyi_gauss(d, a):
    return 0.5 * d * math.log(2 * math.pi) - 0.5 * d * math.log(a) / (1 - a)


@pytest.mark.parametrize("alpha,k", [(0.5, 4), (2.0, 4), (3.0, 10)])
def test_renyi_knn_gaussian_closed_form(alpha, k):
    # alpha = 2, 2-D, N = 5000: bias -0.007, SD 0.023 (30 seeds). The variance is finite only
    # for k > 2 (alpha - 1), hence k = 10 for alpha = 3.
    x = np.random.default_rng(10).standard_normal((5000, 2))
    assert est.entropy_renyi(x, alpha=alpha, k=k) == pytest.approx(_renyi_gauss(2, alpha), abs=0.1)


def test_tsallis_knn_gaussian_closed_form():
    # q = 2, 2-D, N = 5000: SD 0.0018 (30 seeds)
    x = np.random.default_rng(11).standard_normal((5000, 2))
    integral = (2 * math.pi) ** (-1) / 2  # int f^2 = (2 pi)^{d(1-q)/2} q^{-d/2}
    assert est.entropy_tsallis(x, alpha=2) == pytest.approx(1 - integral, abs=0.008)


def test_renyi_knn_alpha_one_is_kl_and_alpha_limits():
    x = np.random.default_rng(12).standard_normal((500, 2))
    assert est.entropy_renyi(x, alpha=1.0) == pytest.approx(est.entropy_kl(x), abs=1e-12)
    with pytest.raises(ValueError, match="k > alpha - 1"):
        est.entropy_renyi(x, alpha=6, k=4)
    with pytest.raises(ValueError, match="0 < alpha"):
        est.entropy_renyi(x, alpha=0)
    with pytest.raises(ValueError, match="alpha"):
        est.entropy_renyi(x, alpha=-1)


def test_renyi_discrete_flag():
    x = np.array([0.0, 0.0, 1.0, 2.0])  # floats holding symbols
    assert est.entropy_renyi(x, alpha=2, discrete=True) == est.entropy_renyi([0, 0, 1, 2], alpha=2)
    with pytest.raises(ValueError, match="discrete must be"):
        est.entropy_renyi(x, discrete="yes")


# ---------------------------------------------------------------- front function, units
def test_front_function_dispatch_units_and_callable():
    x = np.random.default_rng(13).standard_normal((1000, 2))
    assert est.entropy(x) == est.entropy_kl(x)
    assert est.entropy(x, method="gaussian", base=2) == pytest.approx(est.entropy_gaussian(x) / math.log(2))
    assert est.entropy(x, method="KL", k=3, base=10) == pytest.approx(est.entropy_kl(x, k=3) / math.log(10))
    assert est.entropy([1, 2], method=lambda v, base=None: 7.0) == 7.0
    assert isinstance(est.entropy([0, 1], method="discrete"), float)


def test_front_function_errors():
    with pytest.raises(ValueError, match="unknown method 'foo'.*'discrete'.*'kl'"):
        est.entropy([1.0, 2.0], method="foo")
    with pytest.raises(TypeError, match="does not take 'k'"):
        est.entropy([0, 1], method="discrete", k=3)
    with pytest.raises(ValueError, match="base"):
        est.entropy([0, 1], method="discrete", base=1)
    with pytest.raises(ValueError, match=r"k=5 must be smaller than the number of samples \(5\)"):
        est.entropy(np.arange(5.0), k=5)
    with pytest.raises(ValueError, match="NaN"):
        est.entropy([1.0, np.nan, 2.0, 3.0, 4.0, 5.0], k=1)


def test_small_sample_for_dimension_warns():
    x = np.random.default_rng(0).standard_normal((30, 5))
    with pytest.warns(UserWarning, match="only 30 samples for 5 dimensions"):
        est.entropy_kl(x)


def test_no_warning_on_clean_input():
    x = np.random.default_rng(0).standard_normal((500, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.entropy_kl(x)


# ------------------------------------------------------------------ extreme scales
@pytest.mark.parametrize("scale", [1e155, 1e-155, 1e-170, 1e300, 1e-300])
@pytest.mark.parametrize("metric", ["euclidean", "chebyshev"])
def test_kl_entropy_at_extreme_scales(scale, metric):
    # H(a X) = H(X) + d ln a; before: inf at 1e155 (squared distances overflowed) and a
    # "repeated points" ValueError at 1e-300 (they underflowed)
    x = np.random.default_rng(0).standard_normal((2000, 2))
    want = est.entropy_kl(x, metric=metric) + 2 * math.log(scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = est.entropy_kl(x * scale, metric=metric)
    assert got == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("scale", [1e155, 1e-170, 1e300, 1e-300])
def test_gaussian_kde_and_renyi_entropies_at_extreme_scales(scale):
    # before: the covariance overflowed or underflowed, reported as "singular"
    x = np.random.default_rng(1).standard_normal((600, 2)) @ np.array([[1.0, 0.3], [0.0, 2.0]])
    shift = 2 * math.log(scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert est.entropy_gaussian(x * scale) == pytest.approx(est.entropy_gaussian(x) + shift, rel=1e-12)
        assert est.entropy_gaussian(x * scale, bias_correction=True) == pytest.approx(
            est.entropy_gaussian(x, bias_correction=True) + shift, rel=1e-12)
        assert est.entropy_kde(x * scale) == pytest.approx(est.entropy_kde(x) + shift, rel=1e-12)
        assert est.entropy_renyi(x * scale, 2.0) == pytest.approx(est.entropy_renyi(x, 2.0) + shift, rel=1e-10)
        assert est.entropy_renyi(x * scale, 0.5) == pytest.approx(est.entropy_renyi(x, 0.5) + shift, rel=1e-10)
        # per-column scales: H(D X) = H(X) + log|det D|
        d = np.array([scale, 1.0])
        assert est.entropy_gaussian(x * d) == pytest.approx(est.entropy_gaussian(x) + math.log(scale), rel=1e-12)


def test_tsallis_beyond_float64_range_is_a_named_error():
    x = np.random.default_rng(2).standard_normal((500, 1))
    # I_2 = int f^2 of 1e-300 x is about 1e300 / (2 sqrt(pi)); S_2 = 1 - I_2 still fits
    assert est.entropy_tsallis(x * 1e-300, 2.0) == pytest.approx(
        1.0 - math.exp(-est.entropy_renyi(x * 1e-300, 2.0)), rel=1e-12)
    with pytest.raises(ValueError, match="beyond the float64 range.*entropy_renyi"):
        est.entropy_tsallis(x[:, 0] * 1e-310, 2.0)


def test_euclidean_distances_that_underflow_are_not_called_repeated_points():
    rng = np.random.default_rng(3)
    x = np.r_[rng.standard_normal(298), 1.7e308, -1.7e308]
    with pytest.raises(ValueError, match="underflows to 0 in float64.*metric='chebyshev'"):
        est.entropy_kl(x)
    est.entropy_kl(x, metric="chebyshev")  # the max-norm does not square: fine
    with pytest.warns(UserWarning, match="heavy ties"), pytest.raises(ValueError, match="repeated points"):
        est.entropy_kl(np.r_[np.zeros(10), rng.standard_normal(100)])


def test_kl_refuses_a_constant_column():
    # before: -2.03 nats with a ties warning; the true differential entropy is -inf
    x = np.c_[np.random.default_rng(4).standard_normal(300), np.ones(300)]
    with pytest.raises(ValueError, match=r"x has 1 constant column\(s\) \(index 1\).*-inf"):
        est.entropy_kl(x)
    with pytest.raises(ValueError, match="constant column"):
        est.entropy_renyi(x, 2.0)


# ------------------------------------------------------------------ Rényi in log space
@pytest.mark.parametrize("alpha", [700.0, 1e4, 1e6])
def test_discrete_renyi_large_alpha(alpha):
    # before: "math domain error" (p**alpha underflowed to 0, then log(0)) for alpha >= 1075
    p = np.array([0.5, 0.25, 0.25])
    x = [0, 0, 1, 2]
    exact = (alpha * math.log(0.5) + math.log1p(2 * 0.5**alpha)) / (1 - alpha)
    got = est.entropy_renyi(x, alpha)
    assert got == pytest.approx(exact, rel=1e-13)
    # tends to the min-entropy -log max p, from above
    assert -math.log(p.max()) <= got <= -math.log(p.max()) * alpha / (alpha - 1) + 1e-15
    # a shared maximum: H = (alpha log p_max + log m) / (1 - alpha)
    assert est.entropy_renyi([0, 1, 2, 2, 3, 3], alpha) == pytest.approx(
        (alpha * math.log(1 / 3) + math.log(2)) / (1 - alpha), rel=1e-13)
    assert est.entropy_tsallis(x, alpha) == pytest.approx((1 - 0.5**alpha * (1 + 2 * 0.5**alpha)) / (alpha - 1))


def test_discrete_renyi_and_tsallis_near_alpha_one_keep_precision():
    x = [0, 0, 1, 2, 2, 2, 3]
    p = np.array([2, 1, 3, 1]) / 7
    h1 = float(-(p * np.log(p)).sum())
    for eps in (1e-6, 1e-9, 1e-12):
        # d/d alpha of H_alpha at 1 is -Var(log p) / 2
        slope = -0.5 * float((p * np.log(p) ** 2).sum() - h1**2)
        assert est.entropy_renyi(x, 1 + eps) == pytest.approx(h1 + slope * eps, rel=1e-12)
        assert est.entropy_tsallis(x, 1 - eps) == pytest.approx(h1, rel=1e-5)
    assert est.entropy_renyi(x, 1 + 1e-12) == pytest.approx(h1, rel=1e-11)  # before: rel. error 1e-4


# ------------------------------------------------------------------ KDE: chunked, interruptible, warns
def test_kde_chunks_give_the_unchunked_values(monkeypatch):
    import importlib

    from estimators import _kernels

    ent = importlib.import_module("estimators.entropy")  # the module (estimators.entropy is also a function)
    rng = np.random.default_rng(5)
    U = rng.standard_normal((203, 2))
    ref_sum = _kernels.kde_loo_logsum(U, 0.4)
    for work in (1, 7 * 203 * 2, 50 * 203 * 2, 10**9):  # 1, 7, 50 (not dividing 203) and all rows
        monkeypatch.setattr(ent, "_KDE_CHUNK_WORK", work)
        np.testing.assert_array_equal(ent._kde_loo_logsum_chunked(U, 0.4), ref_sum)
    x = rng.standard_normal((203, 2))
    monkeypatch.setattr(ent, "_KDE_CHUNK_WORK", 10**9)
    h_one = est.entropy_kde(x)
    monkeypatch.setattr(ent, "_KDE_CHUNK_WORK", 13 * 203 * 2)
    assert est.entropy_kde(x) == pytest.approx(h_one, rel=1e-12, abs=0)


def test_kde_warns_about_quadratic_cost_on_large_samples(monkeypatch):
    import importlib

    ent = importlib.import_module("estimators.entropy")
    x = np.random.default_rng(6).standard_normal(400)
    monkeypatch.setattr(ent, "_KDE_WARN_N", 300)
    monkeypatch.setattr(ent, "_KDE_CHUNK_WORK", 40 * 400)  # 10 blocks: the estimate is timed
    with pytest.warns(UserWarning, match=r"KDE entropy of 400 samples costs O\(N\^2\): 1\.6e\+05 kernel "
                      r"evaluations \(about \d+ s on this machine\).*method='kl'"):
        est.entropy_kde(x)
    monkeypatch.setattr(ent, "_KDE_WARN_N", 400)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.entropy_kde(x)
