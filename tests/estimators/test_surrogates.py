"""Surrogate significance test: exact p-values, seeds and kinds, false-positive rate, errors."""

import math

import numpy as np
import pytest
from scipy.signal import lfilter

from estimators.surrogates import surrogate_test


def ar1(n, a, rng, burn=200):
    e = rng.standard_normal(n + burn)
    return lfilter([1.0], [1.0, -a], e)[burn:]


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
