"""Transfer entropy and active information storage.

Values are checked against closed forms of linear-Gaussian processes and exact
identities (TE is the CMI of the delay embedding, AIS the MI). Standard
deviations quoted in comments were measured over 30 seeds on this machine;
tolerances are 3-4 SD plus the measured bias.
"""

import math
import warnings
from collections import Counter

import numpy as np
import pytest
from scipy.signal import lfilter

from estimators import _ordinal
from estimators import transfer
from estimators.mutual_info import cmi_discrete, cmi_gaussian, cmi_ksg, mi_discrete, mi_gaussian, mi_ksg
from estimators.surrogates import surrogate_test
from estimators.transfer import active_information_storage, transfer_entropy


def ref_windows(x, order, delay):
    x = np.asarray(x, dtype=float)
    n_w = len(x) - (order - 1) * delay
    return np.array([x[t : t + (order - 1) * delay + 1 : delay] for t in range(n_w)])


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
    # the same sums over the same counts, in another order: equal to round-off
    assert got == pytest.approx(cmi_discrete(fut, sp, past), abs=1e-12)
    assert transfer_entropy(a, b, "discrete", correction="miller_madow") == pytest.approx(cmi_discrete(
        *_manual_embedding(a, b, [], 1, 1, 1, 1, 1), correction="miller_madow"
    ), abs=1e-12)


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
    assert active_information_storage(xs, method="ordinal", order=3) == pytest.approx(
        mi_discrete(codes[1:], codes[:-1]), abs=1e-12)
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
    te_ksg = transfer.te_ksg
    rng = np.random.default_rng(1)
    x = rng.standard_normal(2000)
    y = np.r_[0.0, 0.8 * x[:-1]] + 0.6 * rng.standard_normal(2000)
    fut, sp, past = y[2:, None], np.c_[x[1:-1], x[:-2]], np.c_[y[1:-1], y[:-2]]
    want = cmi_ksg(fut, sp, past, noise=1e-10, seed=3)
    assert te_ksg(x, y, history=2, source_history=2, noise=1e-10, seed=3) == want
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert te_ksg(x * 1e300, y * 1e-300) == te_ksg(x, y)  # before: ValueError ("repeated points")


# ----------------------------------------------------------------------------------------------
# discrete TE and AIS: closed form, slow reference on arbitrary symbols, both counting paths
# ----------------------------------------------------------------------------------------------
def _symbols(a):
    """Each sample of a series as one hashable symbol (a row of a 2-D series is one symbol)."""
    a = np.asarray(a)
    return [tuple(r) for r in a.reshape(len(a), -1).tolist()]


def ref_plugin_cmi(xs, ys, zs, correction=None):
    """Slow plug-in I(X; Y | Z) in nats from dictionaries of counts of the raw symbols."""
    n = len(xs)
    c_xyz = Counter(zip(xs, ys, zs))
    c_xz, c_yz, c_z = Counter(zip(xs, zs)), Counter(zip(ys, zs)), Counter(zs)
    val = sum(c * math.log(c * c_z[z] / (c_xz[x, z] * c_yz[y, z])) for (x, y, z), c in c_xyz.items()) / n
    if correction == "miller_madow":  # (cells - 1) / 2N on each of the four entropies
        return val + (len(c_xz) + len(c_yz) - len(c_xyz) - len(c_z)) / (2 * n)
    return max(val, 0.0)


def ref_te(src, tgt, conds=(), k=1, l=1, u=1, ch=1, cd=1, correction=None):
    """Slow discrete TE: the embedding written out sample by sample, then ref_plugin_cmi."""
    S, T, C = _symbols(src), _symbols(tgt), [_symbols(c) for c in conds]
    t0 = max(k, u + l - 1, cd + ch - 1 if conds else 0)
    ts = range(t0, len(T))
    fut = [T[t] for t in ts]
    sp = [tuple(S[t - j] for j in range(u, u + l)) for t in ts]
    past = [tuple(T[t - j] for j in range(1, k + 1)) + tuple(c[t - j] for c in C for j in range(cd, cd + ch))
            for t in ts]
    return ref_plugin_cmi(fut, sp, past, correction)


def ref_ais(x, k, correction=None):
    X = _symbols(x)
    fut = [X[t] for t in range(k, len(X))]
    past = [tuple(X[t - j] for j in range(1, k + 1)) for t in range(k, len(X))]
    return ref_plugin_cmi(fut, past, [()] * len(fut), correction)


def _random_series(rng, kind, n, m):
    v = rng.integers(0, m, n)
    if kind == "int":
        return v
    if kind == "offset":  # negative integers, small range: the table lookup with an offset
        return v * 3 - 40
    if kind == "large":  # a range far wider than n: sorted labels (np.unique)
        return v * 10**15 + 7
    if kind == "str":
        return np.array([f"s{t}" for t in v])
    if kind == "bool":
        return v % 2 == 1
    if kind == "int8":
        return v.astype(np.int8)[::-1]  # a non-contiguous view
    return np.column_stack([v, rng.integers(0, 2, n)])  # "2d": one joint symbol per row


KINDS = ("int", "offset", "large", "str", "bool", "int8", "2d")


def _force_general_path(monkeypatch):
    """Make every plug-in TE/AIS/CMI take the general (embedding, compacted codes) path."""
    from estimators import _discrete

    monkeypatch.setattr(transfer, "dense_fits", lambda cells, n: False)
    monkeypatch.setattr(_discrete, "dense_fits", lambda cells, n: False)


@pytest.mark.parametrize("dense", [True, False], ids=["dense table", "general path"])
def test_te_and_ais_discrete_equal_slow_reference_on_arbitrary_symbols(dense, monkeypatch):
    if not dense:
        _force_general_path(monkeypatch)
    rng = np.random.default_rng(30)
    for case in range(70):
        kind = KINDS[case % len(KINDS)]
        n = int(rng.choice([6, 11, 40, 70, 300, 1500]))
        x, y = _random_series(rng, kind, n, int(rng.integers(1, 5))), _random_series(rng, kind, n, 3)
        conds = [_random_series(rng, "int", n, 2) for _ in range(int(rng.integers(0, 3)))]
        k, l, u, ch, cd = (int(v) for v in rng.integers(1, 3, 5))
        corr = (None, "miller_madow")[case % 2]
        kw = dict(history=k, source_history=l, delay=u, condition_history=ch, condition_delay=cd,
                  condition=conds or None, correction=corr)
        if n - max(k, u + l - 1, cd + ch - 1 if conds else 0) < 3:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # state-space warnings of short series
            got = transfer_entropy(x, y, "discrete", **kw)
            ais = active_information_storage(y, history=k, method="discrete", correction=corr)
        assert got == pytest.approx(ref_te(x, y, conds, k, l, u, ch, cd, corr), abs=1e-12), (case, kind)
        assert ais == pytest.approx(ref_ais(y, k, corr), abs=1e-12), (case, kind)


def test_te_discrete_dense_and_general_paths_agree_and_warn_alike(monkeypatch):
    rng = np.random.default_rng(32)
    a, b, c = rng.integers(0, 3, (3, 800))
    kw = dict(history=2, source_history=2, delay=2, condition=c, condition_history=2, condition_delay=1)
    with pytest.warns(UserWarning) as dense_warns:
        dense = [transfer_entropy(a, b, "discrete", correction=cr, **kw) for cr in (None, "miller_madow")]
    _force_general_path(monkeypatch)
    with pytest.warns(UserWarning) as general_warns:
        general = [transfer_entropy(a, b, "discrete", correction=cr, **kw) for cr in (None, "miller_madow")]
    assert dense == pytest.approx(general, abs=1e-12)
    assert [str(w.message) for w in dense_warns] == [str(w.message) for w in general_warns]
    # future 3 x source past 3^2 x target past 3^2 x condition past 3^2 states
    assert "2,187 possible states" in str(dense_warns[0].message)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_te_discrete_xor_channel_closed_form(k):
    # x iid uniform bits and y_t = x_{t-1} XOR Bernoulli(p): y_t is uniform and independent of
    # y's own past, and H(y_t | x_{t-1}, y's past) = H_b(p), so TE = ln 2 - H_b(p) for every
    # history k. The plug-in bias is about (m_y - 1)(m_x - 1) m_y^k / 2N = 2^k / 2N, the SD
    # sqrt(p (1-p) ln((1-p)/p)^2 / N) = 0.00175 nats at p = 0.2, N = 10^5 (local TE values
    # ln 2(1-p) and ln 2p).
    p, n = 0.2, 100_000
    rng = np.random.default_rng(40 + k)
    x = rng.integers(0, 2, n)
    y = np.r_[0, x[:-1]] ^ (rng.random(n) < p)
    truth = math.log(2) + p * math.log(p) + (1 - p) * math.log(1 - p)
    bias = 2**k / (2 * n)
    sd = math.sqrt(p * (1 - p) * math.log((1 - p) / p) ** 2 / n)
    te = transfer_entropy(x, y, "discrete", history=k)
    assert te - bias == pytest.approx(truth, abs=4 * sd)
    assert transfer_entropy(x, y, "discrete", history=k, base=2) == pytest.approx(te / math.log(2), abs=1e-15)
    # y -> x: x_t is independent of everything before it; 2N TE is about chi-square with 2^k
    # degrees of freedom (mean 2^k, SD sqrt(2^(k+1)))
    rev = transfer_entropy(y, x, "discrete", history=k)
    assert 0.0 <= rev <= (2**k + 5 * math.sqrt(2 ** (k + 1))) / (2 * n)
    # the AIS of y is about 0 (y is iid); a period-3 sequence stores ln 3 (3,000 embedded samples)
    assert active_information_storage(y, history=k, method="discrete") <= (
        2**k + 5 * math.sqrt(2 ** (k + 1))) / (2 * n)
    per3 = np.tile([5, -2, 9], 1001)[: 3000 + k]
    assert active_information_storage(per3, history=k, method="discrete") == pytest.approx(math.log(3), abs=1e-12)


def test_te_discrete_equals_pyinform():
    pyinform = pytest.importorskip("pyinform")  # not a dependency: checked where installed
    rng = np.random.default_rng(43)
    x = rng.integers(0, 2, 20000)
    y = np.r_[0, x[:-1]] ^ (rng.random(20000) < 0.3)
    for k in (1, 2, 3):
        assert transfer_entropy(x, y, "discrete", history=k, base=2) == pytest.approx(
            pyinform.transfer_entropy(x, y, k=k), abs=1e-12)
        assert active_information_storage(y, history=k, method="discrete", base=2) == pytest.approx(
            pyinform.active_info(y, k=k), abs=1e-12)
    a, b = rng.integers(0, 4, (2, 5000))  # alphabet 4
    assert transfer_entropy(a, b, "discrete", history=2, base=2) == pytest.approx(
        pyinform.transfer_entropy(a, b, k=2), abs=1e-12)


def test_te_discrete_errors():
    rng = np.random.default_rng(44)
    x, y = rng.integers(0, 2, (2, 100))
    with pytest.raises(ValueError, match="correction must be None or 'miller_madow'; got 'mm'"):
        transfer_entropy(x, y, "discrete", correction="mm")
    with pytest.raises(ValueError, match="correction must be None or 'miller_madow'"):
        active_information_storage(x, method="discrete", correction="mm")
    with pytest.raises(TypeError, match="method 'discrete' of transfer_entropy does not take 'bins'"):
        transfer_entropy(x, y, "discrete", bins=3)
    with pytest.raises(TypeError, match="does not take 'bins'"):
        active_information_storage(x, method="discrete", bins=3)
    with pytest.raises(ValueError, match="source contains NaN"):
        transfer_entropy(np.r_[x[:-1], np.nan], y, "discrete")
    with pytest.raises(TypeError, match="target is complex"):
        transfer_entropy(x, y + 1j, "discrete")
    with pytest.raises(ValueError, match="must be 1-D .* or 2-D"):
        transfer_entropy(x.reshape(10, 5, 2), y, "discrete")
    with pytest.raises(ValueError, match="source and target and condition_0 must have the same number"):
        transfer_entropy(x, y, "discrete", condition=x[:50])
    with pytest.raises(ValueError, match="at least 3 embedded samples"):
        transfer_entropy(x[:5], y[:5], "discrete", history=3)
    with pytest.raises(TypeError, match="history must be an integer >= 1; got True"):
        transfer_entropy(x, y, "discrete", history=True)
    with pytest.raises(ValueError, match="source is empty"):
        transfer_entropy(x[:0], y[:0], "discrete")
