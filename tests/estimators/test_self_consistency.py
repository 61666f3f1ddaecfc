"""Self-consistency checks: exact values with cheap estimators, closed forms, failures caught, errors.

Gaussian MI closed forms: y = x + e with unit variances gives 0.5 ln 2 per
coordinate. The Gaussian estimator's SD at N = 10^4 and MI 0.35 is about
0.007 nats (its asymptotic SD sqrt(rho^2) / sqrt(N) with rho^2 = 0.5).
"""

import math
import warnings

import numpy as np
import pytest

from estimators.mutual_info import mi_gaussian, mi_ksg
from estimators.self_consistency import (
    ConsistencyResult,
    SelfConsistencyReport,
    additivity_check,
    data_processing_check,
    independence_check,
    self_consistency,
)

HALF_LN2 = 0.5 * math.log(2)  # 0.346574


def _noisy_copy(n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    return x, x + rng.standard_normal((n, d))


def _saturating(x, y, **kwargs):
    """A broken estimator that cannot report more than 0.5 nats (like InfoNCE at a small batch)."""
    return min(mi_gaussian(x, y, **kwargs), 0.5)


# ------------------------------------------------------------------ independence
def test_independence_check_shuffles_y_with_the_seed():
    x, y = _noisy_copy(3000, 2, seed=0)
    res = independence_check(mi_gaussian, x, y, tol=0.01, seed=4)
    assert isinstance(res, ConsistencyResult) and res.check == "independence"
    perm = np.random.default_rng(4).permutation(3000)
    assert res.statistic == mi_gaussian(x, y[perm])  # the same computation, exactly
    assert res.estimates == {"shuffled": res.statistic}
    # Gaussian MI of independent samples: bias (d_x d_y)/(2N) = 0.0007, SD about as much
    assert res.passed and abs(res.statistic) < 0.01 and res.tolerance == 0.01


def test_independence_check_catches_an_estimator_that_sees_dependence_everywhere():
    x, y = _noisy_copy(500, 1, seed=1)
    res = independence_check(lambda a, b: 0.2, x, y)
    assert not res.passed and res.statistic == 0.2


def test_independence_check_with_a_method_name_and_kwargs():
    x, y = _noisy_copy(2000, 1, seed=2)
    res = independence_check("ksg", x, y, seed=0, k=6, base=2)
    perm = np.random.default_rng(0).permutation(2000)
    assert res.statistic == mi_ksg(x, y[perm], k=6, base=2)
    assert res.passed  # KSG SD at N = 2000 is about 0.01 nats


# ------------------------------------------------------------------ data processing
def test_data_processing_projection_matches_closed_forms():
    x, y = _noisy_copy(10_000, 2, seed=3)
    res = data_processing_check(mi_gaussian, x, y, transform=lambda v: v[:, :1])
    assert res.check == "data_processing" and res.passed
    assert res.estimates["xy"] == pytest.approx(2 * HALF_LN2, abs=0.03)  # SD 0.01
    assert res.estimates["x_fy"] == pytest.approx(HALF_LN2, abs=0.03)
    assert res.statistic == res.estimates["x_fy"] - res.estimates["xy"]


def test_data_processing_default_is_a_seeded_noisy_channel():
    # y = x + e (var 2); f(y) = y + N(0, var 2): I(x; f(y)) = 0.5 ln(1 + 1/3) = 0.1438
    x, y = _noisy_copy(10_000, 1, seed=5)
    a = data_processing_check(mi_gaussian, x, y, seed=7)
    b = data_processing_check(mi_gaussian, x, y, seed=7)
    assert a == b and a.passed
    assert a.estimates["x_fy"] == pytest.approx(0.5 * math.log(4 / 3), abs=0.02)  # SD 0.005
    assert a.statistic == pytest.approx(0.5 * math.log(4 / 3) - HALF_LN2, abs=0.03)


def test_data_processing_catches_an_estimator_that_gains_information():
    # a "binned"-like estimator whose value grows with the number of columns
    x, y = _noisy_copy(500, 1, seed=6)
    res = data_processing_check(lambda a, b: 0.1 * b.shape[1], x, y, transform=lambda v: np.hstack([v, v**2]))
    assert not res.passed and res.statistic == pytest.approx(0.1)


# ------------------------------------------------------------------ additivity
def test_additivity_split_in_halves():
    x, y = _noisy_copy(20_000, 1, seed=8)
    res = additivity_check(mi_gaussian, x, y, seed=3)
    assert res.check == "additivity" and res.passed
    perm = np.random.default_rng(3).permutation(20_000)
    a, b = perm[:10_000], perm[10_000:]
    assert res.estimates["pair1"] == mi_gaussian(x[a], y[a])
    assert res.estimates["joint"] == mi_gaussian(np.hstack([x[a], x[b]]), np.hstack([y[a], y[b]]))
    assert res.estimates["joint"] == pytest.approx(2 * HALF_LN2, abs=0.03)  # SD 0.01
    assert res.tolerance == pytest.approx(0.02 + 0.1 * (res.estimates["pair1"] + res.estimates["pair2"]))


def test_additivity_with_a_second_pair():
    x1, y1 = _noisy_copy(10_000, 1, seed=9)
    rng = np.random.default_rng(10)
    x2 = rng.standard_normal(10_000)
    y2 = 0.6 * x2 + 0.8 * rng.standard_normal(10_000)  # 0.5 ln(1/0.64) = 0.2231
    res = additivity_check(mi_gaussian, x1, y1, x2, y2)
    assert res.passed
    assert res.estimates["pair2"] == pytest.approx(0.2231, abs=0.03)
    assert res.estimates["joint"] == pytest.approx(HALF_LN2 + 0.2231, abs=0.04)


def test_additivity_catches_saturation():
    # each half 0.35 nats, the joint 0.69: an estimator capped at 0.5 misses 0.19 nats
    x, y = _noisy_copy(20_000, 1, seed=11)
    res = additivity_check(_saturating, x, y, seed=0)
    assert not res.passed
    assert res.statistic == pytest.approx(0.5 - 2 * HALF_LN2, abs=0.02)


def test_additivity_catches_infonce_at_a_small_batch():
    # InfoNCE with batch 8 cannot exceed ln 8 = 2.08 nats, and is pulled down well before:
    # each half (rho = 0.95, 1.16 nats) comes out near 0.87, the stacked pair near 1.42
    # instead of 1.75; the shortfall (0.33) is far outside the tolerance (0.02 + 10%).
    pytest.importorskip("torch")
    from estimators.neural import mi_infonce

    rng = np.random.default_rng(12)
    x = rng.standard_normal(3000)
    y = 0.95 * x + math.sqrt(1 - 0.95**2) * rng.standard_normal(3000)
    kw = dict(batch_size=8, critic="separable", hidden=16, lr=3e-3, max_steps=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ceiling / curve warnings of the short runs
        res = additivity_check(mi_infonce, x, y, seed=0, **kw)
    assert not res.passed
    assert res.estimates["joint"] <= math.log(8)
    assert res.estimates["joint"] < res.estimates["pair1"] + res.estimates["pair2"] - res.tolerance


# ------------------------------------------------------------------ all three
def test_self_consistency_report():
    x, y = _noisy_copy(8000, 2, seed=13)
    rep = self_consistency("gaussian", x, y, seed=0)
    assert isinstance(rep, SelfConsistencyReport) and rep.passed
    assert [r.check for r in rep[:3]] == ["independence", "data_processing", "additivity"]
    assert rep == self_consistency("gaussian", x, y, seed=0)  # seeded
    bad = self_consistency(_saturating, x, y, seed=0)
    assert not bad.passed and bad.independence.passed and not bad.additivity.passed


def test_the_check_seed_seeds_an_estimator_that_takes_one():
    seen = []

    def est(x, y, *, seed=None):
        seen.append(seed)
        return 0.0

    x, y = _noisy_copy(100, 1, seed=16)
    additivity_check(est, x, y, seed=5)
    additivity_check(est, x, y, seed=5)
    assert len(set(seen)) == 1 and isinstance(seen[0], int)  # one integer, reproducible
    independence_check(est, x, y)
    assert seen[-1] is None  # no seed given: the estimator is left unseeded


def test_result_objects_with_a_value_are_accepted():
    class Result:
        value = 0.01

    x, y = _noisy_copy(100, 1, seed=14)
    assert independence_check(lambda a, b: Result(), x, y).statistic == 0.01


# ------------------------------------------------------------------ errors
def test_errors():
    x, y = _noisy_copy(100, 1, seed=15)
    with pytest.raises(TypeError, match="estimator must be a method name"):
        independence_check(3, x, y)
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        independence_check("nope", x, y)
    with pytest.raises(TypeError, match="must return a float"):
        independence_check(lambda a, b: "high", x, y)
    with pytest.raises(ValueError, match="needs finite estimates"):
        independence_check(lambda a, b: float("nan"), x, y)
    with pytest.raises(ValueError, match="tol must be a finite real number >= 0"):
        independence_check(mi_gaussian, x, y, tol=-1)
    with pytest.raises(ValueError, match="same number of samples"):
        independence_check(mi_gaussian, x, y[:-1])
    with pytest.raises(ValueError, match="one row per sample"):
        data_processing_check(mi_gaussian, x, y, transform=lambda v: v[:-1])
    with pytest.raises(ValueError, match="transform\\(y\\) contains"):
        data_processing_check(mi_gaussian, x, y, transform=lambda v: v * np.nan)
    with pytest.raises(TypeError, match="transform must be a callable"):
        data_processing_check(mi_gaussian, x, y, transform="square")
    with pytest.raises(ValueError, match="pass both x2 and y2"):
        additivity_check(mi_gaussian, x, y, x2=x)
    with pytest.raises(ValueError, match="as many samples as x and y"):
        additivity_check(mi_gaussian, x, y, x[:50], y[:50])
    with pytest.raises(ValueError, match="at least 4 samples"):
        additivity_check(mi_gaussian, x[:3], y[:3])
    with pytest.raises(ValueError, match="rtol"):
        additivity_check(mi_gaussian, x, y, rtol=float("inf"))
    with pytest.raises(TypeError, match="does not take 'k'|unexpected keyword"):
        independence_check(mi_gaussian, x, y, k=3)
