"""Time-series measures: permutation entropy, statistical complexity, transfer entropy, surrogates.

Values are checked against slow reference implementations (argsort of every
embedding vector, counted), the published Bandt--Pompe / Rosso anchors of
REFERENCES.md, closed forms of linear-Gaussian processes, and exact identities
(TE is the CMI of the delay embedding). Standard deviations quoted in comments
were measured over 30 seeds on this machine; tolerances are 3-4 SD plus the
measured bias.
"""

import math
import warnings

import numpy as np
import pytest
from scipy.signal import lfilter

from estimators import _ordinal
from estimators import timeseries as ts
from estimators.mutual_info import cmi_discrete, cmi_gaussian, cmi_ksg, mi_discrete, mi_gaussian, mi_ksg
from estimators.timeseries import (
    active_information_storage,
    complexity_entropy_bounds,
    missing_patterns,
    multiscale_permutation_entropy,
    permutation_entropy,
    statistical_complexity,
    surrogate_test,
    transfer_entropy,
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


def ar1(n, a, rng, burn=200):
    e = rng.standard_normal(n + burn)
    return lfilter([1.0], [1.0, -a], e)[burn:]


def ar_pair(n, seed, burn=200):
    """x_t = 0.5 x_{t-1} + e, y_t = 0.5 y_{t-1} + 0.5 x_{t-1} + e' (unit noise)."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n + burn, 2))
    x = lfilter([1.0], [1.0, -0.5], e[:, 0])
    drive = np.r_[0.0, 0.5 * x[:-1]] + e[:, 1]
    y = lfilter([1.0], [1.0, -0.5], drive)
    return x[burn:], y[burn:]


# Closed form for ar_pair: stationary Var(x) = 4/3, Cov(x_t, y_t) = 4/9, Var(y) = 56/27,
# Cov(y_t, y_{t-1}) = 34/27, so Var(y_t | y_{t-1}) = 56/27 - (34/27)^2 / (56/27) = 55/42 while
# Var(y_t | y_{t-1}, x_{t-1}) = 1 (the noise): TE = 0.5 ln(55/42) = 0.134832 nats. A Gaussian
# estimate at N = 2 * 10^6 gave 0.134782.
AR_PAIR_TE = 0.5 * math.log(55.0 / 42.0)


def test_ar_pair_closed_form_from_covariances():
    # independent derivation: the state (x_t, y_t) = A (x_{t-1}, y_{t-1}) + e has stationary
    # covariance S = A S A' + I (discrete Lyapunov equation) and lag-1 covariance A S
    from scipy.linalg import solve_discrete_lyapunov

    A = np.array([[0.5, 0.0], [0.5, 0.5]])
    S = solve_discrete_lyapunov(A, np.eye(2))
    L = A @ S  # L[i, j] = Cov(s_t[i], s_{t-1}[j])
    var_given_y = S[1, 1] - L[1, 1] ** 2 / S[1, 1]
    var_given_xy = S[1, 1] - L[1] @ np.linalg.solve(S, L[1])
    te = 0.5 * math.log(var_given_y / var_given_xy)
    assert var_given_xy == pytest.approx(1.0, abs=1e-12)  # only the noise is left
    assert te == pytest.approx(AR_PAIR_TE, abs=1e-12)
    assert te == pytest.approx(0.1348318, abs=1e-7)
    # the naive 0.5 ln(1 + b^2 Var(x)) = 0.1438 ignores what y_{t-1} knows about x_{t-1}
    assert 0.5 * math.log(1 + 0.25 * S[0, 0]) - te == pytest.approx(0.0090, abs=1e-4)


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
    monkeypatch.setattr(ts, "_DENSE_CELLS", 10)
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


# ----------------------------------------------------------------------------------------------
# transfer entropy: exact identities
# ----------------------------------------------------------------------------------------------
def _manual_embedding(src, tgt, conds, k, ls, u, ch, cd):
    """Embedding written out by hand for the identity tests."""
    n = len(tgt)
    t0 = max(k, u + ls - 1, cd + ch - 1 if conds else 0)
    T = np.arange(t0, n)
    col = lambda a: np.asarray(a, float).reshape(n, -1)  # noqa: E731
    fut = col(tgt)[T]
    sp = np.hstack([col(src)[T - lag] for lag in range(u, u + ls)])
    past = [col(tgt)[T - lag] for lag in range(1, k + 1)]
    for c in conds:
        past += [col(c)[T - lag] for lag in range(cd, cd + ch)]
    return fut, sp, np.hstack(past)


def test_te_is_exactly_the_cmi_of_the_embedding():
    rng = np.random.default_rng(10)
    n = 600
    x, y, z1, z2 = rng.standard_normal((4, n))
    kw = dict(
        history=2, source_history=3, delay=2, condition=[z1, z2], condition_history=2, condition_delay=1
    )
    fut, sp, past = _manual_embedding(x, y, [z1, z2], 2, 3, 2, 2, 1)
    assert transfer_entropy(x, y, "ksg", **kw) == cmi_ksg(fut, sp, past, k=4)
    assert transfer_entropy(x, y, "ksg", k=7, **kw) == cmi_ksg(fut, sp, past, k=7)
    assert transfer_entropy(x, y, "gaussian", **kw) == cmi_gaussian(fut, sp, past)
    # a 2-D condition array holds one series per column: the same as the list
    kw2 = dict(kw, condition=np.column_stack([z1, z2]))  # (columns in another order)
    assert transfer_entropy(x, y, "gaussian", **kw2) == pytest.approx(cmi_gaussian(fut, sp, past), abs=1e-14)
    # discrete
    a, b, c = rng.integers(0, 3, (3, n))
    fut, sp, past = _manual_embedding(a, b, [c], 2, 1, 1, 1, 2)
    with pytest.warns(UserWarning, match="243 possible states"):  # 3 * 3 * 3^2 * 3 for 598 samples
        got = transfer_entropy(a, b, "discrete", history=2, condition=c, condition_delay=2)
    assert got == cmi_discrete(fut, sp, past)
    assert transfer_entropy(a, b, "discrete", correction="miller_madow") == cmi_discrete(
        *_manual_embedding(a, b, [], 1, 1, 1, 1, 1), correction="miller_madow"
    )


def test_ordinal_te_is_discrete_te_of_pattern_sequences():
    rng = np.random.default_rng(11)
    x = rng.standard_normal(3000)
    y = np.r_[0.0, x[:-1]] + rng.standard_normal(3000)

    def symbols(v, order, tau):  # slow: argsort of each window, one label per distinct pattern
        pats = np.argsort(ref_windows(v, order, tau), axis=1, kind="stable")
        return np.unique(pats, axis=0, return_inverse=True)[1].reshape(-1)

    for order, tau in [(3, 1), (3, 2), (2, 1)]:
        sx, sy = symbols(x, order, tau), symbols(y, order, tau)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            got = transfer_entropy(x, y, "ordinal", order=order, ordinal_delay=tau, delay=2)
            want = cmi_discrete(*_manual_embedding(sx, sy, [], 1, 1, 2, 1, 1))
        assert got == pytest.approx(want, abs=1e-12)


def test_te_discrete_copy_equals_conditional_entropy():
    # y_t = x_{t-1}: TE = H(y_t | y_{t-1}) exactly (y_t is a function of x_{t-1})
    rng = np.random.default_rng(12)
    x = rng.integers(0, 2, 5000)
    y = np.r_[0, x[:-1]]
    got = transfer_entropy(x, y, "discrete", base=2)
    pair = y[1:] * 2 + y[:-1]
    h = lambda v: -sum(p * math.log2(p) for p in np.bincount(v) / len(v) if p > 0)  # noqa: E731
    assert got == pytest.approx(h(pair) - h(y[:-1]), abs=1e-12)
    assert got == pytest.approx(1.0, abs=0.01)


def test_te_units_inputs_and_callable_method():
    rng = np.random.default_rng(13)
    x = rng.standard_normal(500)
    y = np.r_[0.0, x[:-1]] + rng.standard_normal(500)
    nats = transfer_entropy(x, y, "gaussian")
    assert transfer_entropy(x, y, "gaussian", base=2) == pytest.approx(nats / math.log(2), abs=1e-15)
    assert transfer_entropy(list(x), list(y), "gaussian") == nats
    assert transfer_entropy(x[:, None], y[:, None], "gaussian") == nats
    torch = pytest.importorskip("torch")
    assert transfer_entropy(torch.tensor(x), torch.tensor(y), "gaussian") == nats

    seen = {}

    def my_te(source, target, *, history, source_history, delay, condition, base, k):
        seen.update(history=history, source_history=source_history, delay=delay, k=k)
        return 1.5

    assert transfer_entropy(x, y, my_te, history=3, k=2) == 1.5
    assert seen == {"history": 3, "source_history": 1, "delay": 1, "k": 2}


# ----------------------------------------------------------------------------------------------
# transfer entropy: closed forms and acceptance
# ----------------------------------------------------------------------------------------------
def test_te_closed_form_iid_source():
    # REFERENCES.md: X iid N(0,1), Y_t = c X_{t-1} + N(0, s^2): TE = 0.5 ln(1 + c^2/s^2), reverse 0
    c, s, n = 0.8, 0.6, 10000
    truth = 0.5 * math.log(1 + c * c / (s * s))  # 0.5108
    rng = np.random.default_rng(14)
    x = rng.standard_normal(n)
    y = np.r_[s * rng.standard_normal(1), c * x[:-1] + s * rng.standard_normal(n - 1)]
    assert transfer_entropy(x, y, "gaussian") == pytest.approx(truth, abs=0.025)  # SD 0.0070, bias -0.001
    assert transfer_entropy(x, y, "ksg") == pytest.approx(truth, abs=0.035)  # SD 0.0090, bias +0.005
    assert transfer_entropy(y, x, "ksg") == pytest.approx(0.0, abs=0.025)  # SD 0.0072
    assert transfer_entropy(y, x, "gaussian") == pytest.approx(0.0, abs=1e-3)  # chi2/2N: mean 1e-4


def test_te_ar_pair_acceptance():
    # issue acceptance, N = 20,000, history 1. Over 30 seeds: Gaussian x->y bias +0.0002,
    # SD 0.0031; KSG x->y bias +0.0014, SD 0.0061; y->x Gaussian SD 4e-5, KSG SD 0.0043.
    x, y = ar_pair(20000, seed=0)
    assert transfer_entropy(x, y, "gaussian") == pytest.approx(AR_PAIR_TE, abs=0.01)
    assert transfer_entropy(x, y, "ksg") == pytest.approx(AR_PAIR_TE, abs=0.03)
    assert transfer_entropy(y, x, "gaussian") == pytest.approx(0.0, abs=0.02)
    assert transfer_entropy(y, x, "ksg") == pytest.approx(0.0, abs=0.02)
    fwd = surrogate_test("te", x, y, method="gaussian", n_surrogates=99, seed=1)
    rev = surrogate_test("te", y, x, method="gaussian", n_surrogates=99, seed=1)
    assert fwd.p_value == 0.01  # smallest attainable: no surrogate reaches the estimate
    assert fwd.effective == pytest.approx(AR_PAIR_TE, abs=0.01)
    assert rev.p_value > 0.05
    assert abs(rev.effective) < 4 * rev.surrogate_std


def test_te_delay_picks_the_right_lag():
    rng = np.random.default_rng(15)
    x = rng.standard_normal(5000)
    y = np.r_[np.zeros(3), x[:-3]] + rng.standard_normal(5000)
    truth = 0.5 * math.log(2.0)  # 0.5 ln(1 + 1/1)
    assert transfer_entropy(x, y, "gaussian", delay=3) == pytest.approx(truth, abs=0.03)  # SD ~0.01
    assert transfer_entropy(x, y, "gaussian", delay=1) == pytest.approx(0.0, abs=2e-3)
    assert transfer_entropy(x, y, "gaussian", delay=1, source_history=3) == pytest.approx(truth, abs=0.03)


def test_conditional_te_removes_a_common_driver():
    # z iid; x_t = z_{t-1} + e, y_t = z_{t-2} + e'. x_{t-1} and y_t share z_{t-2}: TE x->y =
    # I(y_t; x_{t-1}) = -0.5 ln(1 - 0.25) = 0.1438 (y_{t-1} is independent of both); given z_{t-2}
    # it is 0. Over 30 seeds (N = 5000): Gaussian SD 0.0063, conditional SD 8e-5; KSG SD 0.0099,
    # conditional bias -0.003, SD 0.0075.
    rng = np.random.default_rng(16)
    n = 5000
    z = rng.standard_normal(n)
    x = np.r_[0.0, z[:-1]] + rng.standard_normal(n)
    y = np.r_[0.0, 0.0, z[:-2]] + rng.standard_normal(n)
    truth = -0.5 * math.log(1 - 0.25)
    assert transfer_entropy(x, y, "gaussian") == pytest.approx(truth, abs=0.025)
    assert transfer_entropy(x, y, "gaussian", condition=z, condition_delay=2) == pytest.approx(0.0, abs=1e-3)
    assert transfer_entropy(x, y, "ksg") == pytest.approx(truth, abs=0.035)
    assert transfer_entropy(x, y, "ksg", condition=z, condition_delay=2) == pytest.approx(0.0, abs=0.03)
    # conditioning on the wrong lag of z leaves the flow in place
    assert transfer_entropy(x, y, "gaussian", condition=z, condition_delay=1) == pytest.approx(
        truth, abs=0.025
    )


def test_discrete_and_ordinal_te_bias_upwards_on_short_series_and_warn():
    # independent series: the plug-in TE is far above 0 when states rival the sample size
    rng = np.random.default_rng(17)
    x, y = rng.standard_normal((2, 600))
    # 24^3 = 13,824 states for 596 samples: far past the chi-square regime, the estimate
    # saturates towards its ceiling ln 24 = 3.18 nats
    with pytest.warns(UserWarning, match="approach its ceiling, ln.target alphabet. = 3.18 nats"):
        te = transfer_entropy(x, y, "ordinal", order=4)
    assert te > 0.5
    with pytest.warns(UserWarning, match="biased upwards"):  # once, for the estimate
        res = surrogate_test("te", x, y, method="ordinal", order=4, n_surrogates=19, seed=0)
    assert res.surrogate_mean > 0.5 and abs(res.effective) < 0.1 and res.p_value > 0.05
    a, b = rng.integers(0, 4, (2, 300))
    with pytest.warns(UserWarning, match=r"joint state space has 4,096 possible states"):
        transfer_entropy(a, b, "discrete", history=3, source_history=2)
    # chi-square regime: (m_y - 1)(m_x - 1) m_past / 2N = 1 * 1 * 2 / (2 * 59) = 0.0169 nats
    c, d = rng.integers(0, 2, (2, 60))
    with pytest.warns(UserWarning, match=r"8 possible states .* for 59 samples.* about 0.0169 nats"):
        transfer_entropy(c, d, "discrete", history=1)


def test_active_information_storage():
    # AR(1) with a = 0.8 stores -0.5 ln(1 - a^2) = 0.5108 nats; AIS is the MI of the embedding
    rng = np.random.default_rng(18)
    x = ar1(20000, 0.8, rng)
    truth = -0.5 * math.log(1 - 0.64)
    assert active_information_storage(x, method="gaussian") == pytest.approx(truth, abs=0.02)  # SD ~0.005
    assert active_information_storage(x, history=2, method="gaussian") == pytest.approx(truth, abs=0.02)
    xs = x[:3000]
    assert active_information_storage(xs) == mi_ksg(xs[1:], xs[:-1])
    assert active_information_storage(xs, history=3, k=6) == mi_ksg(
        xs[3:], np.column_stack([xs[2:-1], xs[1:-2], xs[:-3]]), k=6
    )
    assert active_information_storage(xs, method="gaussian", base=2) == mi_gaussian(xs[1:], xs[:-1], base=2)
    # a period-2 symbol sequence stores ln 2; ordinal AIS is the plug-in MI of pattern sequences
    alt = np.r_[np.tile([0, 1], 500), 0]  # 1000 embedded samples, half of each symbol
    assert active_information_storage(alt, method="discrete") == pytest.approx(math.log(2), abs=1e-12)
    codes = _ordinal.ordinal_codes(xs[None, :], 3, 1, False, 64)[0][0]
    assert active_information_storage(xs, method="ordinal", order=3) == mi_discrete(codes[1:], codes[:-1])
    with pytest.warns(UserWarning, match="biased upwards"):
        active_information_storage(rng.integers(0, 4, 200), history=3, method="discrete")


def test_te_errors():
    x = np.random.default_rng(19).standard_normal(100)
    with pytest.raises(ValueError, match="same number of samples"):
        transfer_entropy(x, x[:90], "gaussian")
    with pytest.raises(ValueError, match="same number of samples"):
        transfer_entropy(x, x, "gaussian", condition=x[:50])
    with pytest.raises(ValueError, match="history must be an integer >= 1"):
        transfer_entropy(x, x, "gaussian", history=0)
    with pytest.raises(ValueError, match="delay must be an integer >= 1"):
        transfer_entropy(x, x, "gaussian", delay=0)
    with pytest.raises(ValueError, match="unknown method 'nope' for transfer_entropy"):
        transfer_entropy(x, x, "nope")
    with pytest.raises(TypeError, match="does not take 'noise'"):
        transfer_entropy(x, x, "gaussian", noise=1e-10)
    with pytest.raises(ValueError, match="at least 3 embedded samples"):
        transfer_entropy(x[:5], x[:5], "gaussian", history=3)
    with pytest.raises(ValueError, match="NaN"):
        transfer_entropy(np.r_[x[:-1], np.nan], x, "gaussian")
    with pytest.raises(ValueError, match="order must be an integer >= 2"):
        transfer_entropy(x, x, "ordinal", order=1)
    with pytest.raises(ValueError, match="history=5 leaves fewer than 3"):
        active_information_storage(x[:6], history=5)


# ----------------------------------------------------------------------------------------------
# surrogate test
# ----------------------------------------------------------------------------------------------
def test_surrogate_p_value_mean_and_std_are_exact():
    # measure = first source value; n = 20, min_shift = 2: the 17 shifts 2..18 are all used, a
    # shift s puts source[-s] first. With source_t = (t + 10) mod 20, the estimate is 10 and the
    # surrogates are (30 - s) mod 20: 8, 7, ..., 0, 19, ..., 12. Eight of them are >= 10.
    src = (np.arange(20) + 10) % 20
    res = surrogate_test(lambda s, t: float(s[0]), src, np.zeros(20), n_surrogates=17, min_shift=2, seed=0)
    surr = np.array([(30 - s) % 20 for s in range(2, 19)], dtype=float)
    assert res.estimate == 10.0
    assert res.p_value == (1 + 8) / (1 + 17)
    assert res.surrogate_mean == pytest.approx(surr.mean(), abs=1e-12)
    assert res.surrogate_std == pytest.approx(surr.std(ddof=1), abs=1e-12)
    assert res.effective == pytest.approx(10.0 - surr.mean(), abs=1e-12)
    with pytest.warns(UserWarning, match="only 17 distinct shifts"):
        surrogate_test(lambda s, t: float(s[0]), src, np.zeros(20), n_surrogates=18, min_shift=2, seed=0)


def test_surrogate_seed_and_kinds():
    rng = np.random.default_rng(20)
    x = rng.standard_normal(300)
    y = 0.3 * x + rng.standard_normal(300)
    a = surrogate_test("mi", x, y, method="gaussian", n_surrogates=49, seed=3)
    assert a == surrogate_test("mutual_information", x, y, method="gaussian", n_surrogates=49, seed=3)
    assert a != surrogate_test("mi", x, y, method="gaussian", n_surrogates=49, seed=4)
    assert a.p_value == 1 / 50  # dependent: MI 0.04 nats, surrogate SD about 0.002
    p = surrogate_test("mi", x, y, method="gaussian", n_surrogates=49, kind="permute", seed=3)
    assert p.p_value == 1 / 50 and p.estimate == a.estimate and p.surrogate_mean != a.surrogate_mean


@pytest.mark.parametrize("kind", ["shift", "permute"])
def test_surrogate_false_positive_rate_matches_level(kind):
    # 400 independent pairs, 19 surrogates: under the null P(p <= 0.05) = 1/20 exactly for
    # exchangeable surrogates. Binomial SD of the rate: sqrt(0.05 * 0.95 / 400) = 0.011; we allow
    # 3 SD. "shift" is tried on autocorrelated AR(1) pairs (its intended use), "permute" on
    # i.i.d. pairs.
    rng = np.random.default_rng(21 if kind == "shift" else 22)
    rejections = 0
    n_pairs = 400
    for _ in range(n_pairs):
        if kind == "shift":
            x, y = ar1(200, 0.6, rng), ar1(200, 0.6, rng)
        else:
            x, y = rng.standard_normal((2, 200))
        res = surrogate_test("te", x, y, method="gaussian", n_surrogates=19, kind=kind, seed=rng)
        rejections += res.p_value <= 0.05
    rate = rejections / n_pairs
    assert abs(rate - 0.05) < 3 * math.sqrt(0.05 * 0.95 / n_pairs)


def test_surrogate_errors():
    x = np.random.default_rng(23).standard_normal(50)
    with pytest.raises(ValueError, match="measure must be 'transfer_entropy'"):
        surrogate_test("entropy", x, x)
    with pytest.raises(ValueError, match="kind must be 'shift'"):
        surrogate_test("mi", x, x, kind="roll")
    with pytest.raises(ValueError, match="n_surrogates must be an integer >= 1"):
        surrogate_test("mi", x, x, n_surrogates=0)
    with pytest.raises(ValueError, match="min_shift=30 leaves no shift"):
        surrogate_test("mi", x, x, min_shift=30)
    with pytest.raises(TypeError, match="seed"):
        surrogate_test("mi", x, x, seed=1.5)
    with pytest.raises(ValueError, match="non-finite"):
        surrogate_test(lambda s, t: float("nan"), x, x, n_surrogates=3)


# ------------------------------------------------------------------ TE on tied data: TE advice
def test_ksg_te_on_tied_series_gives_te_advice():
    # before: "x, y and z have repeated points ... use method='mixed'", which is no TE method
    rng = np.random.default_rng(0)
    src = rng.integers(0, 3, 500).astype(float)
    tgt = np.r_[0.0, src[:-1]]
    with pytest.warns(UserWarning, match=r"the series have heavy ties \(.*target 99\.4%.*method='discrete'"):
        with pytest.raises(ValueError, match=r"source and target have repeated points: for 499 of the 499 "
                           r"embedded samples") as exc:
            transfer_entropy(src, tgt)
    msg = str(exc.value)
    assert "method='discrete'" in msg and "method='ordinal'" in msg and "noise=1e-10" in msg
    assert "mixed" not in msg and "'ross'" not in msg
    # the advice works: jitter or the discrete method give ln 3 for this copy
    assert transfer_entropy(src, tgt, noise=1e-10, seed=0) == pytest.approx(math.log(3), abs=0.05)
    assert transfer_entropy(src.astype(int), tgt.astype(int), method="discrete") == pytest.approx(
        math.log(3), abs=0.02)


def test_ksg_te_equals_cmi_ksg_of_the_embedding_at_any_scale():
    te_ksg = ts.te_ksg
    rng = np.random.default_rng(1)
    x = rng.standard_normal(2000)
    y = np.r_[0.0, 0.8 * x[:-1]] + 0.6 * rng.standard_normal(2000)
    fut, sp, past = y[2:, None], np.c_[x[1:-1], x[:-2]], np.c_[y[1:-1], y[:-2]]
    want = cmi_ksg(fut, sp, past, noise=1e-10, seed=3)
    assert te_ksg(x, y, history=2, source_history=2, noise=1e-10, seed=3) == want
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert te_ksg(x * 1e300, y * 1e-300) == te_ksg(x, y)  # before: ValueError ("repeated points")


@pytest.mark.parametrize("scale", [1e155, 1e200, 1e307, 1e-310])
def test_weighted_permutation_entropy_at_extreme_scales(scale):
    # before: RuntimeWarning (inf / inf) at 1e307, "x is constant over every window" at 1e-310
    x = np.random.default_rng(2).standard_normal(300)
    want = permutation_entropy(x, weighted=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert permutation_entropy(x * scale, weighted=True) == pytest.approx(want, rel=1e-12)
        np.testing.assert_allclose(permutation_entropy(np.vstack([x, x * scale]), weighted=True), want, rtol=1e-12)
