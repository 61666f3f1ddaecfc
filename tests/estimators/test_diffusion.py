"""Diffusion spectral entropy and DSMI: reference numbers, a direct evaluation, the default kernel's
behaviour (intrinsic dimension, labels vs shuffled labels), invariances and errors.

Standard deviations quoted in comments were measured over 30 seeds on this machine.
"""

import math
import pickle

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

import estimators.diffusion  # noqa: F401  (registers method="dsmi")
from estimators import mutual_information
from estimators.diffusion import DiffusionResult
from estimators.diffusion import diffusion_spectral_entropy as dse
from estimators.diffusion import diffusion_spectral_mutual_information as dsmi

EPS = np.finfo(np.float64).eps
LN2 = math.log(2.0)
TOL = 1e-8


# ---------------------------------------------------------------- direct evaluation of the formula
def ref_sigma(X, rule="rms"):
    d = pdist(np.asarray(X, float).reshape(len(X), -1))
    return float(np.sqrt(np.mean(d**2))) if rule == "rms" else float(np.median(d))


def ref_dse(X, sigma, t=1, reference=False):
    """Random-walk matrix D^-1 G, general (non-symmetric) eigensolver, |lambda|^t."""
    X = np.asarray(X, float).reshape(len(X), -1)
    G = np.exp(-squareform(pdist(X, "sqeuclidean")) / (2 * sigma**2))
    P = G / G.sum(1, keepdims=True)
    lam = np.abs(np.linalg.eigvals(P)) ** t
    p = lam / lam.sum()
    if reference:
        p = p + EPS
    else:
        p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def ref_dsmi(X, y, sigma, t=1, reference=False, n_draws=5, seed=0):
    """DSMI with one bandwidth for all subsets; the random subsets are drawn as the estimator draws them."""
    rng = np.random.default_rng(seed)
    X = np.asarray(X, float).reshape(len(X), -1)
    n = len(X)
    out = 0.0
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        h_rand = np.mean(
            [ref_dse(X[np.sort(rng.choice(n, members.size, replace=False))], sigma, t, reference) for _ in range(n_draws)]
        )
        out += members.size / n * (h_rand - ref_dse(X[members], sigma, t, reference))
    return out


def _cloud(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) * np.linspace(0.5, 2.0, shape[1]) + 3.0


SHAPES = [pytest.param((120, 3), id="tall"), pytest.param((25, 200), id="wide")]
BASES = [pytest.param(None, id="nats"), pytest.param(2, id="bits")]


pytestmark = pytest.mark.usefixtures("one_blas_thread")


# ---------------------------------------------------------------- reference numbers (liao2023 preset)
def test_liao2023_anchor_numbers():
    square = [[0, 0], [0, 1], [1, 0], [1, 1]]
    v = dse(square, sigma=1, t=1, preset="liao2023", base=2)
    assert v == pytest.approx(1.4306983334, abs=1e-10)
    assert v.sigma == 1.0 and v.t == 1.0 and v.n_samples == 4 and v.preset == "liao2023"
    assert dse(np.arange(10.0), sigma=3, t=3, preset="liao2023", base=2) == pytest.approx(0.6629419221, abs=1e-10)
    # the preset's own bandwidth is 10
    X = _cloud((50, 4), 0)
    assert dse(X, preset="liao2023").sigma == 10.0
    assert dse(X, preset="liao2023") == pytest.approx(ref_dse(X, 10.0, reference=True), abs=TOL)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_separated_clusters_at_large_t_give_log2_k(k):
    rng = np.random.default_rng(k)
    centres = 1000.0 * rng.standard_normal((k, 5))
    tight = np.repeat(centres, 20, axis=0) + 0.01 * rng.standard_normal((20 * k, 5))
    assert dse(tight, t=1, preset="liao2023", base=2) == pytest.approx(math.log2(k), abs=1e-3)
    # clusters as wide as the kernel: at t = 1 their inner spectrum adds entropy; diffusion removes it
    wide = np.repeat(centres, 20, axis=0) + 5.0 * rng.standard_normal((20 * k, 5))
    assert dse(wide, t=1, preset="liao2023", base=2) > math.log2(k) + 0.5
    assert dse(wide, t=300, preset="liao2023", base=2) == pytest.approx(math.log2(k), abs=1e-8)
    assert dse(wide, t=300, sigma=10.0, base=2) == pytest.approx(math.log2(k), abs=1e-8)


# ---------------------------------------------------------------- direct evaluation, tall and wide
@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("shape", SHAPES)
def test_dse_matches_direct_evaluation(shape, base):
    X = _cloud(shape, 1)
    scale = 1.0 if base is None else LN2
    s = ref_sigma(X)
    got = dse(X, base=base)
    assert got.sigma == pytest.approx(s, rel=1e-12)
    assert got == pytest.approx(ref_dse(X, s) / scale, abs=TOL)
    for t in (1, 2.5, 10):
        assert dse(X, t=t, base=base) == pytest.approx(ref_dse(X, s, t) / scale, abs=TOL)
        want = ref_dse(X, 7.0, t, reference=True) / scale
        assert dse(X, t=t, sigma=7.0, preset="liao2023", base=base) == pytest.approx(want, abs=TOL)
    m = ref_sigma(X, "median")
    got = dse(X, sigma="median", base=base)
    assert got.sigma == pytest.approx(m, rel=1e-12)
    assert got == pytest.approx(ref_dse(X, m) / scale, abs=TOL)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("shape", SHAPES)
def test_dsmi_matches_direct_evaluation_with_one_bandwidth(shape, base):
    X = _cloud(shape, 2)
    y = np.arange(shape[0]) % 3
    X[y == 1] += 2.0
    scale = 1.0 if base is None else LN2
    s = ref_sigma(X)  # of the whole sample, reused for every class and random subset
    got = dsmi(X, y, base=base, seed=3)
    assert got.sigma == pytest.approx(s, rel=1e-12)
    assert got == pytest.approx(ref_dsmi(X, y, s, seed=3) / scale, abs=TOL)
    want = ref_dsmi(X, y, 10.0, t=2, reference=True, n_draws=2, seed=4) / scale
    assert dsmi(X, y, t=2, preset="liao2023", n_draws=2, seed=4, base=base) == pytest.approx(want, abs=TOL)
    # re-deriving the bandwidth per class would give a different (meaningless) number
    per_class = sum(
        (y == c).mean() * -ref_dse(X[y == c], ref_sigma(X[y == c])) for c in range(3)
    )
    assert abs(got * scale - (ref_dsmi(X, y, s, seed=3) - per_class)) > 0.01


# ---------------------------------------------------------------- the default kernel's behaviour
def _manifold(d, n=400, D=100, noise=0.1, seed=0):
    """d-dimensional Gaussian (total variance 1) on a random d-plane of R^100, plus N(0, 0.1^2) noise."""
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((n, d)) / math.sqrt(d)
    Q, _ = np.linalg.qr(rng.standard_normal((D, d)))
    return L @ Q.T + noise * rng.standard_normal((n, D))


def test_default_dse_rises_with_intrinsic_dimension_under_noise():
    # 30 seeds, bits: means 3.082, 3.260, 3.426, 3.568; steps +0.178 (SD 0.037), +0.166 (SD 0.016),
    # +0.142 (SD 0.013). With sigma="median" the means are 3.810, 3.653, 3.629, 3.673 (not monotone).
    v = [dse(_manifold(d), base=2) for d in (1, 2, 4, 8)]
    assert np.all(np.diff(v) > 0.05), v
    # scale-free: the same data in other units give the same values
    assert dse(250.0 * _manifold(4) - 3.0, base=2) == pytest.approx(v[2], abs=1e-9)


def test_dsmi_true_labels_far_above_shuffled_labels():
    # 4 clusters in R^20, N = 400. Over 30 seeds (bits): true labels 0.711 (SD 0.074, min 0.496);
    # shuffled labels 0.0006 (SD 0.010, max |.| 0.024).
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 400)
    X = rng.standard_normal((4, 20))[y] + rng.standard_normal((400, 20))
    true = dsmi(X, y, base=2)
    shuffled = dsmi(X, np.random.default_rng(1000).permutation(y), base=2)
    assert true > 0.4
    assert abs(shuffled) < 0.04
    assert true.sigma == shuffled.sigma == pytest.approx(ref_sigma(X), rel=1e-12)
    assert mutual_information(X, y, method="dsmi", base=2) == true


# ---------------------------------------------------------------- invariances, inputs, options
def test_default_dse_is_invariant_to_scale_translation_rotation():
    X = _cloud((80, 6), 5)
    Q, _ = np.linalg.qr(np.random.default_rng(6).standard_normal((6, 6)))
    base = dse(X)
    assert dse(0.001 * X @ Q + 40.0) == pytest.approx(base, abs=1e-9)
    assert dse(X[np.random.default_rng(7).permutation(80)]) == pytest.approx(base, abs=1e-10)
    # a fixed bandwidth is not scale-free
    assert abs(dse(10 * X, sigma=10.0) - dse(X, sigma=10.0)) > 0.1


def test_subsampling_to_max_n_is_seeded():
    X = _cloud((300, 4), 8)
    a = dse(X, max_n=100, seed=1)
    assert a.n_samples == 100
    assert dse(X, max_n=100, seed=1) == a
    assert dse(X, max_n=100, seed=np.random.default_rng(1)) == a
    assert dse(X, max_n=100, seed=2) != a
    idx = np.sort(np.random.default_rng(1).choice(300, 100, replace=False))
    assert a == pytest.approx(ref_dse(X[idx], ref_sigma(X[idx])), abs=TOL)
    y = np.arange(300) % 2
    assert dsmi(X, y, max_n=120, seed=5).n_samples == 120


def test_precomputed_affinity_equals_the_gaussian_kernel():
    X = _cloud((40, 3), 9)
    G = np.exp(-squareform(pdist(X, "sqeuclidean")) / (2 * 2.0**2))
    G0 = G.copy()
    got = dse(G, kernel="precomputed", t=2)
    np.testing.assert_array_equal(G, G0)  # the caller's matrix is not overwritten
    assert got.sigma is None
    assert got == pytest.approx(dse(X, sigma=2.0, t=2), abs=1e-12)
    y = np.arange(40) % 2
    assert dsmi(G, y, kernel="precomputed") == pytest.approx(dsmi(X, y, sigma=2.0), abs=1e-12)


def test_continuous_reference_is_binned_or_clustered():
    X = _cloud((150, 3), 10)
    yc = X[:, 0] + 0.1 * np.random.default_rng(11).standard_normal(150)
    edges = np.linspace(yc.min(), yc.max(), 11)[1:-1]
    codes = np.searchsorted(edges, yc, side="right")  # 10 equal-width bins
    assert dsmi(X, yc) == pytest.approx(dsmi(X, codes), abs=1e-12)
    assert dsmi(X, yc, y_bins=4) == pytest.approx(
        dsmi(X, np.searchsorted(np.linspace(yc.min(), yc.max(), 5)[1:-1], yc, side="right")), abs=1e-12
    )
    # float labels with few values are labels; discrete=False forces binning
    assert dsmi(X, codes.astype(float)) == pytest.approx(dsmi(X, codes), abs=1e-12)
    # multi-dimensional continuous y: seeded k-means, reproducible and informative
    Y2 = X[:, :2] + 0.1 * np.random.default_rng(12).standard_normal((150, 2))
    a = dsmi(X, Y2, seed=3)
    assert a == dsmi(X, Y2, seed=3)
    assert a > dsmi(X, np.random.default_rng(13).permutation(Y2), seed=3) + 0.1


def test_torch_tensors_match_numpy(torch_one_thread):
    torch = torch_one_thread
    X = _cloud((60, 5), 14)
    y = np.arange(60) % 3
    T = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    assert dse(T) == pytest.approx(dse(X), abs=1e-10)
    assert dse(T, sigma="median", t=3) == pytest.approx(dse(X, sigma="median", t=3), abs=1e-10)
    assert dsmi(T, torch.tensor(y)) == pytest.approx(dsmi(X, y), abs=1e-10)
    assert dse(T, max_n=30, seed=2) == pytest.approx(dse(X, max_n=30, seed=2), abs=1e-10)
    assert dse(T.float()).sigma == pytest.approx(dse(X.astype(np.float32).astype(np.float64)).sigma, rel=1e-12)


def test_result_is_a_float_that_keeps_its_bandwidth():
    v = dse([[0, 0], [0, 1], [1, 0], [1, 1]], sigma=1, preset="liao2023", base=2)
    assert isinstance(v, float) and isinstance(v, DiffusionResult)
    assert repr(v) == repr(float(v))
    assert v.describe() == "1.4307 log base 2 (sigma=1, t=1, n=4, preset=liao2023)"
    w = pickle.loads(pickle.dumps(v))
    assert w == v and w.sigma == 1.0 and w.preset == "liao2023" and w.base == 2
    assert "sigma=" in dse(np.arange(5.0)).describe()


def test_degenerate_inputs():
    with pytest.warns(UserWarning, match="identical"):
        v = dse(np.ones((6, 2)))
    assert v == pytest.approx(0.0, abs=1e-12) and v.sigma == 1.0
    assert dse([[1.0, 2.0]]) == 0.0  # a single sample
    with pytest.warns(UserWarning, match="its own class"):
        assert dsmi(_cloud((10, 2), 15), np.arange(10)) == pytest.approx(0.0, abs=1e-12)
    # one class: the random subset is the whole sample
    assert dsmi(_cloud((30, 2), 16), np.zeros(30, int)) == pytest.approx(0.0, abs=1e-12)


def test_errors():
    X = _cloud((20, 3), 17)
    with pytest.raises(ValueError, match="diffusion time"):
        dse(X, t=0)
    with pytest.raises(ValueError, match="diffusion time"):
        dse(X, t=math.inf)
    with pytest.raises(ValueError, match="preset must be"):
        dse(X, preset="liao")
    with pytest.raises(ValueError, match="kernel must be"):
        dse(X, kernel="knn")
    with pytest.raises(ValueError, match="no effect"):
        dse(np.eye(3), kernel="precomputed", sigma=1.0)
    with pytest.raises(ValueError, match="Gaussian kernel"):
        dse(np.eye(3), kernel="precomputed", preset="liao2023")
    with pytest.raises(ValueError, match="square"):
        dse(X, kernel="precomputed")
    with pytest.raises(ValueError, match="symmetric"):
        dse(np.triu(np.ones((3, 3))), kernel="precomputed")
    with pytest.raises(ValueError, match="negative"):
        dse(-np.ones((3, 3)), kernel="precomputed")
    with pytest.raises(ValueError, match="sums to 0"):
        dse(np.zeros((3, 3)), kernel="precomputed")
    star = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # leaves isolated within a class
    with pytest.raises(ValueError, match="isolated sample"):
        dsmi(star, [0, 1, 1], kernel="precomputed")
    with pytest.raises(ValueError, match="positive, finite bandwidth"):
        dse(X, sigma=-1.0)
    with pytest.raises(ValueError, match="max_n"):
        dse(X, max_n=1)
    with pytest.raises(ValueError, match="NaN"):
        dse([[0.0, np.nan], [1.0, 1.0]])
    with pytest.raises(TypeError, match="seed"):
        dse(X, max_n=5, seed=1.5)
    with pytest.raises(ValueError, match="same number of samples"):
        dsmi(X, [0, 1, 0])
    with pytest.raises(ValueError, match="n_draws"):
        dsmi(X, np.arange(20) % 2, n_draws=0)
    with pytest.raises(ValueError, match="y_bins"):
        dsmi(X, np.arange(20) % 2, y_bins=1)
    with pytest.raises(ValueError, match="discrete must be"):
        dsmi(X, np.arange(20) % 2, discrete="yes")


# ---------------------------------------------------------------- extreme bandwidths and large N
def test_extreme_fixed_bandwidths_are_named_errors():
    # Before: sigma=1e-300 raised a raw ZeroDivisionError; sigma=1e300 silently gave 0
    X = _cloud((30, 3), 18)
    with pytest.raises(ValueError, match=r"sigma=1e-300 is so small that every off-diagonal affinity .*"
                       r"underflows to 0 .*kernel is the identity.*sigma=None"):
        dse(X, sigma=1e-300)
    with pytest.raises(ValueError, match=r"sigma=1e-05 is so small"):
        dse(X, sigma=1e-5, preset="liao2023")
    with pytest.raises(ValueError, match=r"sigma=1e\+300 is so large that every affinity .* rounds to 1.*sigma=None"):
        dse(X, sigma=1e300)
    with pytest.raises(ValueError, match="is so small"):
        dsmi(X, np.arange(30) % 2, sigma=1e-300)
    with pytest.raises(ValueError, match="is so small"):  # the preset's sigma = 10 for data in units of 1e6
        dse(X * 1e6, preset="liao2023")
    # a fixed bandwidth in the data's own (extreme) units is applied exactly
    for scale in (1e-200, 1e154, 1e200):
        assert dse(X * scale, sigma=2.0 * scale) == pytest.approx(dse(X, sigma=2.0), rel=1e-12)


def test_large_n_warns_with_the_expected_time(monkeypatch):
    import warnings

    import estimators.diffusion as diffusion

    X = np.random.default_rng(19).random((6000, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # stop at the warning, before the O(n^3) work
        with pytest.raises(UserWarning, match=r"6,000 samples .* expect roughly 17 s .*max_n=2000"):
            dse(X, max_n=None)
        with pytest.raises(UserWarning, match=r"diffusion_spectral_mutual_information: 6,000 samples"):
            dsmi(X, np.arange(6000) % 2, max_n=None)

    class Reached(Exception):
        pass

    def stop(*args, **kwargs):
        raise Reached

    monkeypatch.setattr(diffusion, "_affinity", stop)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for kw in ({"max_n": None}, {}):  # 5,000 samples (the threshold) and the default max_n
            with pytest.raises(Reached):
                dse(X[:5000], **kw)
        with pytest.raises(Reached):  # subsampled to 2,000: no warning
            dse(X, max_n=2000)
        with pytest.raises(Reached):  # four classes of 1,500: 6 * 4 * 1500^3 < 5000^3
            dsmi(X, np.arange(6000) % 4, max_n=None)


def test_max_n_none_uses_every_sample_and_max_n_is_deterministic():
    X = _cloud((150, 3), 20)
    assert dse(X, max_n=None) == dse(X) and dse(X, max_n=None).n_samples == 150
    a = dse(X, max_n=60, seed=3)
    idx = np.sort(np.random.default_rng(3).choice(150, 60, replace=False))
    assert a == dse(X, max_n=60, seed=3) == dse(X[idx])
    with pytest.raises(TypeError, match="max_n"):
        dse(X, max_n=2.5)


def test_precomputed_affinities_at_extreme_scales():
    # Before: RuntimeWarning overflow (row sums, G - G^T) for entries near the float64 maximum
    X = _cloud((25, 3), 21)
    G = np.exp(-squareform(pdist(X, "sqeuclidean")) / 8.0)
    y = np.arange(25) % 2
    for scale in (1e-300, 1e300, 1.7e308):
        assert dse(G * scale, kernel="precomputed") == pytest.approx(dse(G, kernel="precomputed"), rel=1e-12)
        assert dsmi(G * scale, y, kernel="precomputed") == pytest.approx(dsmi(G, y, kernel="precomputed"), rel=1e-9)
    with pytest.raises(ValueError, match=r"symmetric \(max \|G - G\^T\| / max \|G\| = 0\.5\)"):
        dse(np.array([[1e300, 2e300], [1e300, 1e300]]), kernel="precomputed")
