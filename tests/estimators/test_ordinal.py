"""Ordinal measures: permutation entropy (plain, weighted, multiscale), missing patterns, statistical complexity.

Values are checked against slow reference implementations (argsort of every
embedding vector, counted) and the published Bandt--Pompe / Rosso anchors of
REFERENCES.md.
"""

import math
import warnings

import numpy as np
import pytest

from estimators import _ordinal
from estimators import ordinal
from estimators.ordinal import (
    complexity_entropy_bounds,
    missing_patterns,
    multiscale_permutation_entropy,
    permutation_entropy,
    statistical_complexity,
)

BP = [4, 7, 9, 10, 6, 11, 3]  # Bandt and Pompe's example series


# ----------------------------------------------------------------------------------------------
# slow references
# ----------------------------------------------------------------------------------------------
def ref_windows(x, order, delay):
    x = np.asarray(x, dtype=float)
    n_w = len(x) - (order - 1) * delay
    return np.array([x[t : t + (order - 1) * delay + 1 : delay] for t in range(n_w)])


def ref_distribution(x, order, delay, weighted=False):
    """Pattern probabilities: stable argsort of each embedding vector, counted (zeros left out)."""
    W = ref_windows(x, order, delay)
    pats = np.argsort(W, axis=1, kind="stable")
    uniq, inv = np.unique(pats, axis=0, return_inverse=True)
    w = W.var(axis=1) if weighted else np.ones(len(W))
    mass = np.bincount(inv.reshape(-1), weights=w)
    return mass[mass > 0] / mass.sum()


def ref_pe(x, order, delay, weighted=False):
    p = ref_distribution(x, order, delay, weighted)
    return float(-(p * np.log(p)).sum())


def ref_complexity(p, n):
    """Rosso et al. (2007) with the full distribution over n states (zeros included)."""
    P = np.zeros(n)
    P[: len(p)] = p
    U = np.full(n, 1.0 / n)

    def S(q):
        q = q[q > 0]
        return float(-(q * np.log(q)).sum())

    js = S((P + U) / 2) - S(P) / 2 - S(U) / 2
    js_max = -0.5 * ((n + 1) / n * math.log(n + 1) + math.log(n) - 2 * math.log(2 * n))
    h = S(P) / math.log(n)
    return h, h * js / js_max


def ref_lehmer(window):
    """Lehmer code of the stable rank vector, by the definition."""
    order = len(window)
    code = 0
    for i in range(order):
        digit = sum(1 for j in range(i + 1, order) if window[j] < window[i])
        code += digit * math.factorial(order - 1 - i)
    return code


# ----------------------------------------------------------------------------------------------
# ordinal kernel
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("order", [2, 3, 4, 5, 7, 8, 9, 10])
@pytest.mark.parametrize("delay", [1, 2, 3])
@pytest.mark.parametrize("block", [1, 5, 16384])
def test_kernel_codes_equal_lehmer_definition(order, delay, block):
    # tied values (integers in 0..3) exercise the stable tie rule and the tie count; small blocks
    # restart the incremental chains often. Orders <= 8 use the transition table, 9 and 10 the
    # digit update.
    rng = np.random.default_rng(order * 100 + delay)
    x = rng.integers(0, 4, 120).astype(float)
    x2 = rng.standard_normal(120)
    S = np.vstack([x, x2])
    codes, weights, tied = _ordinal.ordinal_codes(S, order, delay, True, block)
    for row, v in enumerate((x, x2)):
        W = ref_windows(v, order, delay)
        np.testing.assert_array_equal(codes[row], [ref_lehmer(w) for w in W])
        np.testing.assert_allclose(weights[row], W.var(axis=1), rtol=0, atol=1e-12)
        assert tied[row] == sum(len(set(w.tolist())) < order for w in W)
    assert tied[1] == 0
    offset = _ordinal.ordinal_codes(S, order, delay, False, block, 1000)[0]
    np.testing.assert_array_equal(offset, codes + np.array([[0], [1000]]))


@pytest.mark.parametrize("order", [3, 6, 9])
def test_parallel_kernel_equals_serial(order, monkeypatch):
    # large inputs run blocks in parallel; force that path on a small one
    rng = np.random.default_rng(order)
    S = np.vstack([rng.standard_normal(5000), rng.integers(0, 3, 5000).astype(float)])
    serial = _ordinal.ordinal_codes(S, order, 2, True, 97)
    monkeypatch.setattr(_ordinal, "PARALLEL_MIN_WINDOWS", 0)
    parallel = _ordinal.ordinal_codes(S, order, 2, True, 97)
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("order", range(2, 9))
def test_decode_inverts_codes_to_the_stable_argsort(order):
    rng = np.random.default_rng(order)
    W = rng.integers(0, 3, (300, order)).astype(float)
    codes, _, _ = _ordinal.ordinal_codes(np.ascontiguousarray(W), order, 1, False, 64)
    for w, c in zip(W, codes[:, 0]):
        np.testing.assert_array_equal(_ordinal.decode_pattern(c, order), np.argsort(w, kind="stable"))
    # the codes are a bijection onto 0 .. order! - 1
    perms = np.array([np.random.default_rng(i).permutation(order) for i in range(200)], dtype=float)
    c = _ordinal.ordinal_codes(np.ascontiguousarray(perms), order, 1, False, 64)[0][:, 0]
    assert c.min() >= 0 and c.max() < math.factorial(order)
    assert len(set(c.tolist())) == len({tuple(p) for p in perms.tolist()})


# ----------------------------------------------------------------------------------------------
# permutation entropy
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("order", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("delay", [1, 2, 5])
def test_pe_equals_slow_reference(order, delay):
    x = np.random.default_rng(order + 10 * delay).standard_normal(4000)
    want = ref_pe(x, order, delay)
    assert permutation_entropy(x, order, delay) == pytest.approx(want, abs=1e-12)
    assert permutation_entropy(x, order, delay, base=2) == pytest.approx(want / math.log(2), abs=1e-12)
    norm = want / math.log(math.factorial(order))
    assert permutation_entropy(x, order, delay, normalize=True) == pytest.approx(norm, abs=1e-12)
    wpe = ref_pe(x, order, delay, weighted=True)
    assert permutation_entropy(x, order, delay, weighted=True) == pytest.approx(wpe, abs=1e-12)


def test_pe_with_ties_follows_the_stable_rule_and_warns():
    x = np.random.default_rng(0).integers(0, 5, 3000)
    with pytest.warns(UserWarning, match="contain equal values"):
        got = permutation_entropy(x, order=3)
    assert got == pytest.approx(ref_pe(x, 3, 1), abs=1e-12)
    with pytest.warns(UserWarning, match="equal values"):  # constant: one pattern, PE 0
        assert permutation_entropy(np.ones(100), order=3) == 0.0


def test_bandt_pompe_anchors():
    # REFERENCES.md: order 2 -> (H, C) = (0.918296, 0.061128); order 3 -> (0.588762, 0.289954);
    # weighted PE, order 2, bits = 0.912591. Worked by hand: order 2 has 4 increasing and
    # 2 decreasing pairs; weights (window variances) 2.25+1+0.25+6.25 up, 4+16 down.
    with pytest.warns(UserWarning, match="windows for 2 possible patterns"):
        h2 = permutation_entropy(BP, order=2, normalize=True)
    assert h2 == pytest.approx(0.918296, abs=5e-7)
    p_up = 9.75 / 29.75
    by_hand = -(p_up * math.log2(p_up) + (1 - p_up) * math.log2(1 - p_up))
    with pytest.warns(UserWarning):
        w2 = permutation_entropy(BP, order=2, weighted=True, base=2)
    assert w2 == pytest.approx(by_hand, abs=1e-12)
    assert w2 == pytest.approx(0.912591, abs=5e-7)
    with pytest.warns(UserWarning):
        sc2 = statistical_complexity(BP, order=2)
        sc3 = statistical_complexity(BP, order=3)
    assert sc2.entropy == pytest.approx(0.918296, abs=5e-7)
    assert sc2.complexity == pytest.approx(0.061128, abs=5e-7)
    assert sc3 == pytest.approx((0.588762, 0.289954), abs=5e-7)
    assert isinstance(sc3.entropy, float) and isinstance(sc3.complexity, float)


def test_pe_rows_in_one_pass_equal_each_row():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((7, 2000))
    X[3] = np.cumsum(X[3])  # a random walk: lower PE than noise
    got = permutation_entropy(X, order=4, delay=2, normalize=True)
    assert isinstance(got, np.ndarray) and got.shape == (7,)
    for i in range(7):
        assert got[i] == permutation_entropy(X[i], order=4, delay=2, normalize=True)
    assert got[3] < got[0]
    h, c = statistical_complexity(X, order=4)
    for i in range(7):
        assert (h[i], c[i]) == statistical_complexity(X[i], order=4)
    np.testing.assert_array_equal(missing_patterns(X, 4), [missing_patterns(r, 4) for r in X])


def test_pe_sparse_counting_path_equals_dense(monkeypatch):
    # many rows x many patterns are counted row by row with np.unique instead of one bincount
    X = np.random.default_rng(2).standard_normal((3, 3000))
    dense = permutation_entropy(X, order=5, weighted=True)
    dense_sc = statistical_complexity(X, order=5)
    monkeypatch.setattr(ordinal, "_DENSE_CELLS", 10)
    np.testing.assert_allclose(permutation_entropy(X, order=5, weighted=True), dense, rtol=0, atol=1e-12)
    np.testing.assert_allclose(statistical_complexity(X, order=5), dense_sc, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(missing_patterns(X, 5), [0, 0, 0])


def test_pe_invariances():
    x = np.random.default_rng(3).standard_normal(5000)
    h = permutation_entropy(x, order=4)
    assert permutation_entropy(np.exp(x), order=4) == pytest.approx(h, abs=1e-12)  # monotone map
    assert permutation_entropy(-x, order=4) == pytest.approx(h, abs=1e-12)  # patterns relabelled
    assert permutation_entropy(x[::-1], order=4) == pytest.approx(h, abs=1e-12)
    assert permutation_entropy(3 * x + 1, order=4, weighted=True) == pytest.approx(
        permutation_entropy(x, order=4, weighted=True), abs=1e-12
    )  # weights scale together
    assert permutation_entropy(np.arange(100.0), order=3) == 0.0  # one pattern only
    assert permutation_entropy(list(x), order=4) == h
    torch = pytest.importorskip("torch")
    assert permutation_entropy(torch.tensor(x), order=4) == h


def test_pe_of_white_noise_is_near_the_maximum():
    # plug-in bias -(m! - 1) / (2N) = -5 / 2e5 nats at order 3, N = 10^5
    x = np.random.default_rng(4).standard_normal(100000)
    assert permutation_entropy(x, order=3) == pytest.approx(math.log(6) - 2.5e-5, abs=3e-4)


def test_pe_short_series_warns_and_weighted_constant_raises():
    x = np.random.default_rng(5).standard_normal(200)
    with pytest.warns(UserWarning, match="720 possible patterns"):
        permutation_entropy(x, order=6)
    with pytest.raises(ValueError, match="weighted permutation entropy is 0/0"):
        permutation_entropy(np.ones(50), order=3, weighted=True)
    with pytest.raises(ValueError, match=r"\(row 1\)"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        permutation_entropy(np.vstack([x[:50], np.ones(50)]), order=3, weighted=True)


def test_pe_errors():
    x = np.random.default_rng(6).standard_normal(100)
    with pytest.raises(ValueError, match="order must be an integer >= 2"):
        permutation_entropy(x, order=1)
    with pytest.raises(TypeError, match="order must be an integer"):
        permutation_entropy(x, order=2.5)
    with pytest.raises(ValueError, match="order must be between 2 and 20"):
        permutation_entropy(x, order=21)
    with pytest.raises(ValueError, match="delay must be an integer >= 1"):
        permutation_entropy(x, order=3, delay=0)
    with pytest.raises(ValueError, match="need windows of 11 values"):
        permutation_entropy(x[:10], order=3, delay=5)
    with pytest.raises(ValueError, match=r"one series per row.*x.ravel\(\)"):
        permutation_entropy(x[:, None], order=3)
    with pytest.raises(ValueError, match="NaN"):
        permutation_entropy(np.r_[x, np.nan], order=3)
    with pytest.raises(ValueError, match="1-D"):
        permutation_entropy(np.zeros((2, 2, 5)), order=3)
    with pytest.raises(TypeError, match="normalize must be True or False"):
        permutation_entropy(x, order=3, normalize="yes")
    with pytest.raises(ValueError, match="base must be positive"):
        permutation_entropy(x, order=3, base=1)


# ----------------------------------------------------------------------------------------------
# missing patterns and multiscale PE
# ----------------------------------------------------------------------------------------------
def _logistic(n, x0=0.4):
    x = np.empty(n)
    x[0] = x0
    for t in range(1, n):
        x[t] = 4.0 * x[t - 1] * (1.0 - x[t - 1])
    return x


def test_missing_patterns_logistic_map_and_noise():
    x = _logistic(20000)
    assert missing_patterns(x, order=3) == 1
    codes = _ordinal.ordinal_codes(x[None, :], 3, 1, False, _ordinal.BLOCK)[0][0]
    (absent,) = set(range(6)) - set(codes.tolist())
    np.testing.assert_array_equal(_ordinal.decode_pattern(absent, 3), [2, 1, 0])  # no x0 > x1 > x2
    # every order-4 pattern that contains a strictly decreasing consecutive triple is forbidden
    # too: 4 + 4 - 1 = 7 of them at least
    assert missing_patterns(x, order=4) >= 7
    assert missing_patterns(np.random.default_rng(7).standard_normal(20000), order=4) == 0
    assert isinstance(missing_patterns(x, order=3), int)


def test_multiscale_pe_equals_pe_of_block_means():
    rng = np.random.default_rng(8)
    x = np.cumsum(rng.standard_normal(30001))
    res = multiscale_permutation_entropy(x, order=3, scales=[1, 2, 5], normalize=True)
    np.testing.assert_array_equal(res.scales, [1, 2, 5])
    assert res.entropy[0] == permutation_entropy(x, order=3, normalize=True)
    for j, s in enumerate([2, 5]):
        m = len(x) // s
        coarse = x[: m * s].reshape(m, s).mean(axis=1)
        want = ref_pe(coarse, 3, 1) / math.log(6)
        assert res.entropy[j + 1] == pytest.approx(want, abs=1e-12)
    X = rng.standard_normal((2, 6000))
    res2 = multiscale_permutation_entropy(X, order=3, scales=4)
    assert res2.entropy.shape == (2, 4)
    np.testing.assert_array_equal(
        res2.entropy[1], multiscale_permutation_entropy(X[1], order=3, scales=4).entropy
    )
    with pytest.raises(ValueError, match="scale 5000 leaves 1 values"):
        multiscale_permutation_entropy(x[:5000], order=3, scales=[5000])
    with pytest.raises(ValueError, match="scales is empty"):
        multiscale_permutation_entropy(x, scales=[])
    with pytest.raises(ValueError, match="every scale must be an integer >= 1"):
        multiscale_permutation_entropy(x, scales=[1, 0])


# ----------------------------------------------------------------------------------------------
# statistical complexity and the complexity-entropy plane
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("order,delay", [(3, 1), (4, 2), (5, 1)])
def test_complexity_equals_reference(order, delay):
    x = np.cumsum(np.random.default_rng(order).standard_normal(3000)) ** 2 % 7
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = statistical_complexity(x, order=order, delay=delay)
    want = ref_complexity(ref_distribution(x, order, delay), math.factorial(order))
    assert got == pytest.approx(want, abs=1e-12)


def test_complexity_of_extremes_and_known_regimes():
    assert statistical_complexity(np.arange(50.0), order=3) == (0.0, 0.0)
    noise = statistical_complexity(np.random.default_rng(9).standard_normal(100000), order=4)
    assert noise.entropy > 0.999 and noise.complexity < 0.002
    # the logistic map (chaotic) sits near the upper curve of the plane: H 0.739, C 0.292, where
    # the curves give 0.167 (lower) and 0.304 (upper)
    h, c = statistical_complexity(_logistic(50000), order=4)
    b = complexity_entropy_bounds(4, n_points=4000)
    lower = np.interp(h, b.min_entropy, b.min_complexity)
    upper = np.interp(h, b.max_entropy, b.max_complexity)
    assert 0.5 < h < 0.9 and c > lower + 0.8 * (upper - lower) and c <= upper


@pytest.mark.parametrize("order", [3, 4])
def test_random_distributions_lie_between_the_bounds(order):
    n = math.factorial(order)
    b = complexity_entropy_bounds(order, n_points=4000)
    assert (b.min_entropy[0], b.min_complexity[0]) == (0.0, 0.0)
    assert (b.min_entropy[-1], b.max_entropy[-1], b.max_complexity[-1]) == (1.0, 1.0, 0.0)
    assert np.all(np.diff(b.min_entropy) > 0) and np.all(np.diff(b.max_entropy) > 0)
    rng = np.random.default_rng(order)
    hs, cs = [], []
    for alpha in (0.05, 0.3, 1.0, 5.0):
        P = rng.dirichlet(np.full(n, alpha), size=400)
        P[rng.random(P.shape) < 0.2] = 0.0  # some missing patterns
        P = P[P.sum(axis=1) > 0]
        P /= P.sum(axis=1, keepdims=True)
        for p in P:
            h, c = ref_complexity(np.sort(p[p > 0])[::-1], n)
            hs.append(h)
            cs.append(c)
    hs, cs = np.array(hs), np.array(cs)
    lower = np.interp(hs, b.min_entropy, b.min_complexity)
    upper = np.interp(hs, b.max_entropy, b.max_complexity)
    assert np.all(cs >= lower - 1e-3)
    assert np.all(cs <= upper + 1e-3)
    # the curves are attained: they are the H, C of the distributions that define them
    p = 0.7
    want = ref_complexity(np.r_[p, np.full(n - 1, (1 - p) / (n - 1))], n)
    got_c = np.interp(want[0], b.min_entropy, b.min_complexity)
    assert got_c == pytest.approx(want[1], abs=1e-4)


def test_complexity_and_bounds_agree_with_ordpy():
    # optional cross-check against ordpy (MIT), when installed: same definitions
    ordpy = pytest.importorskip("ordpy")
    x = np.random.default_rng(24).standard_normal(5000)
    assert statistical_complexity(x, order=4, delay=2) == pytest.approx(
        tuple(ordpy.complexity_entropy(x, dx=4, taux=2)), abs=1e-12
    )
    assert permutation_entropy(x, order=4, weighted=True) == pytest.approx(
        ordpy.weighted_permutation_entropy(x, dx=4, normalized=False), abs=1e-12
    )
    b = complexity_entropy_bounds(3, n_points=2000)
    lo = ordpy.minimum_complexity_entropy(dx=3, size=50)
    hi = ordpy.maximum_complexity_entropy(dx=3, m=20)
    hi = hi[np.argsort(hi[:, 0])]
    # interpolation error of our 2000-point curves: about 4e-7
    np.testing.assert_allclose(np.interp(lo[:, 0], b.min_entropy, b.min_complexity), lo[:, 1], atol=1e-5)
    np.testing.assert_allclose(np.interp(hi[:, 0], b.max_entropy, b.max_complexity), hi[:, 1], atol=1e-5)


def test_bounds_errors():
    with pytest.raises(ValueError, match="between 2 and 8"):
        complexity_entropy_bounds(9)
    with pytest.raises(ValueError, match="n_points must be an integer >= 2"):
        complexity_entropy_bounds(3, n_points=1)


@pytest.mark.parametrize("scale", [1e155, 1e200, 1e307, 1e-310])
def test_weighted_permutation_entropy_at_extreme_scales(scale):
    # before: RuntimeWarning (inf / inf) at 1e307, "x is constant over every window" at 1e-310
    x = np.random.default_rng(2).standard_normal(300)
    want = permutation_entropy(x, weighted=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert permutation_entropy(x * scale, weighted=True) == pytest.approx(want, rel=1e-12)
        np.testing.assert_allclose(permutation_entropy(np.vstack([x, x * scale]), weighted=True), want, rtol=1e-12)
