"""MI and CMI estimators: closed forms, reference implementations, peers, invariances, errors.

Standard deviations quoted in comments were measured over 30 seeds on this
machine; tolerances are about 3-4 SD plus the known bias.
"""

import math
import warnings

import numpy as np
import pytest

import estimators as est
from tests import reference as ref

RHO = 0.9
MI_RHO = -0.5 * math.log(1 - RHO**2)  # 0.830366 nats


def _bivariate(n, rho=RHO, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)


def _gauss_blocks(n, seed):
    """2-D x and 2-D y with corr 0.6 between x_j and y_j: MI = -ln(1 - 0.36)."""
    C = np.eye(4)
    C[0, 2] = C[2, 0] = C[1, 3] = C[3, 1] = 0.6
    X = np.random.default_rng(seed).multivariate_normal(np.zeros(4), C, size=n)
    return X[:, :2], X[:, 2:], -math.log(1 - 0.36)


def _cmi_data(n, seed):
    """z ~ N(0,1), x = z + e1, y = x + z + e2: I(x; y | z) = 0.5 ln 2."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    x = z + rng.standard_normal(n)
    y = x + z + rng.standard_normal(n)
    return x, y, z, 0.5 * math.log(2)


# ---------------------------------------------------------------- KSG
def test_ksg_bivariate_gaussian_within_acceptance():
    # N = 10^4: bias +0.005, SD 0.011 (30 seeds); acceptance bound 0.03 nats
    x, y = _bivariate(10000, seed=1)
    assert est.mi_ksg(x, y) == pytest.approx(MI_RHO, abs=0.03)
    assert est.mi_ksg(x, y, variant=2) == pytest.approx(MI_RHO, abs=0.04)  # SD 0.012


def test_ksg_multivariate_gaussian():
    # 2-D vs 2-D, N = 10^4: bias +0.006, SD 0.012 (30 seeds)
    x, y, truth = _gauss_blocks(10000, seed=2)
    assert est.mi_ksg(x, y) == pytest.approx(truth, abs=0.05)


@pytest.mark.parametrize("variant", [1, 2])
def test_ksg_every_search_regime_gives_the_same_value(variant):
    # 3-D vs 2-D, N = 2500: the automatic choice, the kd-tree, the blocked and the plain
    # brute force give the same neighbours and counts, hence the same estimate
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2500, 3))
    y = x[:, :2] + rng.standard_normal((2500, 2))
    from estimators import _neighbors

    values = {None: est.mi_ksg(x, y, variant=variant)}
    try:
        for regime in ("tree", "block", "brute"):
            _neighbors.FORCE_REGIME = regime
            values[regime] = est.mi_ksg(x, y, variant=variant)
    finally:
        _neighbors.FORCE_REGIME = None
    for regime, v in values.items():
        assert v == pytest.approx(values["brute"], abs=1e-12), regime


@pytest.mark.parametrize("dx,dy", [(1, 1), (2, 1), (2, 3)])
@pytest.mark.parametrize("variant", [1, 2])
def test_ksg_equals_slow_reference(dx, dy, variant):
    rng = np.random.default_rng(dx * 10 + dy)
    x = rng.standard_normal((200, dx))
    y = x[:, :1] + rng.standard_normal((200, dy))
    f = ref.ksg1 if variant == 1 else ref.ksg2
    want = f(x, y, 5)
    got = est.mi_ksg(x, y, k=5, variant=variant, standardize=False)
    assert got == pytest.approx(want, abs=1e-12)


def test_ksg_agrees_with_scikit_learn():
    sklearn_fs = pytest.importorskip("sklearn.feature_selection")
    x, y = _bivariate(3000, seed=4)
    # sklearn scales by the std (ddof=0) and adds 1e-10 jitter; feed pre-scaled data
    x, y = x / x.std(), y / y.std()
    theirs = sklearn_fs.mutual_info_regression(x[:, None], y, n_neighbors=3, random_state=0)[0]
    assert est.mi_ksg(x, y, k=3) == pytest.approx(theirs, abs=1e-9)


def test_ksg_invariances():
    x, y = _bivariate(2000, seed=5)
    mi = est.mi_ksg(x, y)
    perm = np.random.default_rng(0).permutation(2000)
    assert est.mi_ksg(x[perm], y[perm]) == pytest.approx(mi, abs=1e-12)  # sample order
    assert est.mi_ksg(y, x) == pytest.approx(mi, abs=1e-12)  # symmetry
    assert est.mi_ksg(5 * x + 3, -0.1 * y) == pytest.approx(mi, abs=1e-9)  # affine, standardised
    assert est.mi_ksg(x, y, base=2) == pytest.approx(mi / math.log(2), abs=1e-12)


def test_ksg_independent_is_near_zero_and_can_be_negative():
    # SD 0.007 at N = 10^4 (30 seeds)
    rng = np.random.default_rng(6)
    vals = [est.mi_ksg(rng.standard_normal(10000), rng.standard_normal(10000)) for _ in range(5)]
    assert abs(np.mean(vals)) < 0.015
    assert min(vals) < 0.0 or max(vals) > 0.0


def test_ksg_ties_warn_and_noise_is_seeded():
    x = np.repeat(np.arange(20.0), 25)
    y = x + np.random.default_rng(0).standard_normal(500)
    with pytest.warns(UserWarning, match="heavy ties"):
        est.mi_ksg(x, y)
    a = est.mi_ksg(x, y, noise=1e-10, seed=1)
    assert a == est.mi_ksg(x, y, noise=1e-10, seed=1)
    assert a == est.mi_ksg(x, y, noise=1e-10, seed=np.random.default_rng(1))


# ---------------------------------------------------------------- CMI
def test_cmi_ksg_3d_gaussian_within_acceptance():
    # N = 10^4: bias +0.003, SD 0.010 (30 seeds); acceptance bound 0.03 nats
    x, y, z, truth = _cmi_data(10000, seed=7)
    assert est.cmi_ksg(x, y, z) == pytest.approx(truth, abs=0.03)


@pytest.mark.parametrize("dims", [(1, 1, 1), (1, 2, 2), (2, 1, 3)])
def test_cmi_ksg_equals_slow_reference(dims):
    dx, dy, dz = dims
    rng = np.random.default_rng(sum(dims))
    z = rng.standard_normal((180, dz))
    x = z[:, :1] + rng.standard_normal((180, dx))
    y = x[:, :1] + rng.standard_normal((180, dy))
    got = est.cmi_ksg(x, y, z, k=4, standardize=False)
    assert got == pytest.approx(ref.fp_cmi(x, y, z, 4), abs=1e-12)


def test_cmi_conditional_independence_and_chain_rule():
    x, y, z, _ = _cmi_data(8000, seed=8)
    # x and z-only-dependent w: I(w; x | z) = 0
    w = z + np.random.default_rng(9).standard_normal(8000)
    assert est.cmi_ksg(w, x, z) == pytest.approx(0.0, abs=0.03)
    # I(x; y | z) is symmetric in x and y
    assert est.cmi_ksg(x, y, z) == pytest.approx(est.cmi_ksg(y, x, z), abs=1e-12)


def test_cmi_gaussian_closed_form():
    x, y, z, truth = _cmi_data(200000, seed=10)
    assert est.cmi_gaussian(x, y, z) == pytest.approx(truth, abs=0.01)
    assert est.conditional_mutual_information(x, y, z, method="gaussian", base=2) == pytest.approx(
        est.cmi_gaussian(x, y, z) / math.log(2)
    )


def test_cmi_gaussian_equals_logdet_formula():
    rng = np.random.default_rng(11)
    A = rng.standard_normal((500, 5)) @ rng.standard_normal((5, 5))
    x, y, z = A[:, :2], A[:, 2:3], A[:, 3:]

    def ld(*cols):
        return np.linalg.slogdet(np.atleast_2d(np.cov(np.hstack(cols), rowvar=False)))[1]

    want = 0.5 * (ld(x, z) + ld(y, z) - ld(x, y, z) - ld(z))
    assert est.cmi_gaussian(x, y, z) == pytest.approx(want, abs=1e-10)


def test_cmi_discrete_exact_xor():
    x = [0, 0, 1, 1] * 25
    y = [0, 1, 0, 1] * 25
    z = [0, 1, 1, 0] * 25
    assert est.cmi_discrete(x, y, z, base=2) == pytest.approx(1.0)
    assert est.mi_discrete(x, y) == pytest.approx(0.0, abs=1e-15)
    assert est.cmi_discrete(x, z, y, base=2) == pytest.approx(1.0)


def _ref_cmi(x, y, z, correction=None):
    """Slow plug-in I(X; Y | Z) from dictionaries of counts of the raw symbols (rows as tuples)."""
    from collections import Counter

    rows = lambda a: [tuple(r) for r in np.asarray(a).reshape(len(a), -1).tolist()]  # noqa: E731
    xs, ys, zs = rows(x), rows(y), rows(z)
    n = len(xs)
    c_xyz, c_xz, c_yz, c_z = Counter(zip(xs, ys, zs)), Counter(zip(xs, zs)), Counter(zip(ys, zs)), Counter(zs)
    val = sum(c * math.log(c * c_z[zz] / (c_xz[xx, zz] * c_yz[yy, zz])) for (xx, yy, zz), c in c_xyz.items()) / n
    if correction == "miller_madow":
        return val + (len(c_xz) + len(c_yz) - len(c_xyz) - len(c_z)) / (2 * n)
    return max(val, 0.0)


@pytest.mark.parametrize("dense", [True, False], ids=["dense table", "general path"])
def test_cmi_discrete_equals_slow_reference_on_arbitrary_symbols(dense, monkeypatch):
    from estimators import _discrete

    if not dense:  # joint compact codes instead of the dense count table
        monkeypatch.setattr(_discrete, "dense_fits", lambda cells, n: False)
    rng = np.random.default_rng(60)
    for case in range(40):
        n = int(rng.choice([3, 10, 64, 65, 500, 3000]))
        m = [int(v) for v in rng.integers(1, 6, 3)]
        x, y, z = (rng.integers(0, mm, n) for mm in m)
        y = (y + x * (case % 3 == 0)) % max(m[1], 1)  # some dependence
        kind = case % 5
        if kind == 1:
            x = np.array([f"a{v}" for v in x])
        elif kind == 2:
            y = y * 10**14 - 3  # a wide range: sorted labels
        elif kind == 3:
            z = np.column_stack([z, rng.integers(0, 2, n)])  # one joint symbol per row
        elif kind == 4:
            x = x.astype(np.uint8)[::-1]  # another dtype, a non-contiguous view
        corr = (None, "miller_madow")[case % 2]
        got = est.cmi_discrete(x, y, z, correction=corr)
        assert got == pytest.approx(_ref_cmi(x, y, z, corr), abs=1e-12), case
        assert est.cmi_discrete(x, y, z, correction=corr, base=2) == pytest.approx(got / math.log(2), abs=1e-14)


def test_discrete_labels_equal_sorted_unique_labels():
    # the O(n) codes of integer arrays are those of np.unique(return_inverse=True)
    from estimators._discrete import coded

    rng = np.random.default_rng(61)
    cases = [
        rng.integers(0, 2, 1000),                       # every value present: the array itself
        rng.integers(-5, 5, 1000),                      # negative values: offset table
        rng.integers(0, 50, 30) * 7,                    # gaps in the range
        rng.integers(0, 3, 200).astype(np.int8)[::2],   # another dtype, non-contiguous
        rng.integers(0, 3, 200).astype(np.uint64) + np.uint64(2**63),  # beyond int64: sorted
        rng.integers(0, 2, 50) == 1,                    # booleans
        rng.integers(0, 10**12, 40),                    # a range far wider than n: sorted
        rng.integers(0, 4, (60, 1)),                    # one column
        np.array([7]),
    ]
    for v in cases:
        codes, m = coded(v)
        want = np.unique(v.reshape(-1), return_inverse=True)[1].reshape(-1)
        assert np.array_equal(codes, want) and m == int(want.max()) + 1
        assert codes.dtype == np.int64
    with pytest.raises(ValueError, match="x is empty"):
        coded(np.array([], dtype=np.int64))
    with pytest.raises(ValueError, match="z contains NaN"):
        est.cmi_discrete([0, 1, 0], [1, 1, 0], [0.0, np.nan, 1.0])
    with pytest.raises(ValueError, match="correction must be None or 'miller_madow'"):
        est.cmi_discrete([0, 1, 0], [1, 1, 0], [0, 1, 1], correction="MM")
    with pytest.raises(ValueError, match="x and y and z must have the same number of samples"):
        est.cmi_discrete([0, 1, 0], [1, 1], [0, 1, 1])


# ---------------------------------------------------------------- Gaussian MI
def test_mi_gaussian_closed_form_and_bias_correction():
    x, y, truth = _gauss_blocks(200000, seed=12)
    assert est.mi_gaussian(x, y) == pytest.approx(truth, abs=0.01)
    # independent data in 5 + 5 dimensions with N = 40: plug-in MI is biased up, the correction
    # removes it on average
    rng = np.random.default_rng(13)
    plain, corr = [], []
    for _ in range(400):
        a, b = rng.standard_normal((40, 5)), rng.standard_normal((40, 5))
        plain.append(est.mi_gaussian(a, b))
        corr.append(est.mi_gaussian(a, b, bias_correction=True))
    assert np.mean(plain) > 0.3
    assert abs(np.mean(corr)) < 4 * np.std(corr) / math.sqrt(400)


# ---------------------------------------------------------------- discrete and binned
def test_mi_discrete_exact_and_reference():
    assert est.mi_discrete([0, 0, 1, 1], [0, 0, 1, 1], base=2) == 1.0
    assert est.mi_discrete(["a", "b", "c", "d"], [1, 2, 3, 4]) == pytest.approx(math.log(4))
    rng = np.random.default_rng(14)
    a = rng.integers(0, 5, 1000)
    b = (a + rng.integers(0, 3, 1000)) % 5
    want = ref.plugin_entropy(a) + ref.plugin_entropy(b) - ref.plugin_entropy(np.column_stack([a, b]))
    assert est.mi_discrete(a, b) == pytest.approx(want, abs=1e-13)
    mm = est.mi_discrete(a, b, correction="miller_madow")
    assert mm == pytest.approx(want + (5 - 1 + 5 - 1 - 15 + 1) / 2000, abs=1e-13)


def test_mi_binned_equals_discrete_on_bin_codes():
    x, y = _bivariate(5000, seed=15)
    for strategy in ("uniform", "quantile"):
        if strategy == "uniform":
            bx = np.minimum(((x - x.min()) / (x.max() - x.min()) * 8).astype(int), 7)
            by = np.minimum(((y - y.min()) / (y.max() - y.min()) * 8).astype(int), 7)
        else:
            bx = np.searchsorted(np.quantile(x, np.linspace(0, 1, 9)[1:-1]), x, side="right")
            by = np.searchsorted(np.quantile(y, np.linspace(0, 1, 9)[1:-1]), y, side="right")
        got = est.mi_binned(x, y, bins=8, strategy=strategy)
        assert got == pytest.approx(est.mi_discrete(bx, by), abs=1e-12)


def test_mi_binned_auto_rule_accuracy_and_monotone_invariance():
    # N = 10^5, auto rule: bias -0.013, SD 0.003 (10 seeds)
    x, y = _bivariate(100000, seed=16)
    assert est.mi_binned(x, y) == pytest.approx(MI_RHO, abs=0.03)
    q = est.mi_binned(x, y, strategy="quantile", bins=20)
    assert est.mi_binned(np.exp(x), y**3, strategy="quantile", bins=20) == pytest.approx(q, abs=1e-12)


def test_mi_binned_too_many_cells_warns_and_bad_args():
    x, y = _bivariate(50, seed=0)
    with pytest.warns(UserWarning, match="joint cells"):
        est.mi_binned(x, y, bins=20)
    with pytest.raises(ValueError, match="bins"):
        est.mi_binned(x, y, bins=0)
    with pytest.raises(ValueError, match="strategy"):
        est.mi_binned(x, y, strategy="kmeans")


# ---------------------------------------------------------------- mixed and labels
def _uniform_mixture(n, seed):
    """Y ~ Bernoulli(1/2), X | Y ~ U(Y, Y + 2): I(X; Y) = 0.5 ln 2."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y + 2 * rng.random(n), y, 0.5 * math.log(2)


def test_ross_closed_form_and_scikit_learn():
    # N = 5000: bias -0.002, SD 0.007 (30 seeds)
    x, y, truth = _uniform_mixture(5000, seed=17)
    assert est.mi_ross(x, y) == pytest.approx(truth, abs=0.03)
    sklearn_fs = pytest.importorskip("sklearn.feature_selection")
    xs = (x / x.std())[:, None]
    theirs = sklearn_fs.mutual_info_classif(xs, y, n_neighbors=3, random_state=0)[0]
    assert est.mi_ross(xs, y, k=3) == pytest.approx(theirs, abs=1e-9)


def test_ross_multiclass_and_high_dimensional_labels():
    rng = np.random.default_rng(18)
    y = rng.integers(0, 4, 4000)
    x = np.column_stack([y + rng.standard_normal(4000), rng.standard_normal(4000)])
    mi = est.mi_ross(x, y)
    assert 0.3 < mi < math.log(4)
    assert est.mi_ross(x, y.astype(str)) == pytest.approx(mi, abs=1e-12)  # labels of any type
    with pytest.warns(UserWarning, match="only member of their class"):
        est.mi_ross(np.r_[x, [[0.0, 0.0]]], np.r_[y, 99])


def test_mixed_closed_form_continuous_equivalence_and_discrete_limit():
    x, y, truth = _uniform_mixture(5000, seed=19)
    assert est.mi_mixed(x, y) == pytest.approx(truth, abs=0.03)  # SD 0.007 (30 seeds)
    a, b = _bivariate(500, seed=20)
    assert est.mi_mixed(a, b) == pytest.approx(est.mi_ksg(a, b), abs=1e-12)
    rng = np.random.default_rng(21)
    c = rng.integers(0, 4, 20000)
    d = (c + rng.integers(0, 2, 20000)) % 4
    assert est.mi_mixed(c, d) == pytest.approx(est.mi_discrete(c, d), abs=0.005)


def test_mixed_gao2017_form_matches_formula():
    from scipy.special import digamma

    rng = np.random.default_rng(22)
    x = np.r_[rng.standard_normal(60), np.zeros(40)]
    y = np.r_[x[:60] + rng.standard_normal(60), np.ones(40)]
    X, Y = x[:, None] / x.std(), y[:, None] / y.std()
    J = np.hstack([X, Y])
    rho = ref.kth_distances(J, 3)
    kt = np.where(rho == 0, ref.counts(J, np.zeros(100), strict=False), 3)
    nx = ref.counts(X, rho, strict=False)
    ny = ref.counts(Y, rho, strict=False)
    want = np.mean(digamma(kt) + math.log(100) - np.log(nx + 1) - np.log(ny + 1))
    assert est.mi_mixed(x, y, k=3, form="gao2017") == pytest.approx(want, abs=1e-12)
    with pytest.raises(ValueError, match="form"):
        est.mi_mixed(x, y, form="other")


# ---------------------------------------------------------------- front functions and errors
def test_front_dispatch_and_aliases():
    x, y = _bivariate(1000, seed=23)
    assert est.mutual_information(x, y) == est.mi_ksg(x, y)
    assert est.mutual_information(x, y, method="kraskov", variant=2) == est.mi_ksg(x, y, variant=2)
    assert est.mutual_information(x, y, method="Gaussian") == est.mi_gaussian(x, y)
    assert est.conditional_mutual_information(x, y, x + y, method="fp") == est.cmi_ksg(x, y, x + y)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: est.mutual_information([1.0, 2.0, 3.0], [1.0, 2.0], k=1), ValueError, "same number of samples"),
        (lambda: est.mutual_information(np.zeros((10, 2, 2)), np.zeros(10)), ValueError, "1-D .* or 2-D"),
        (lambda: est.mutual_information([], []), ValueError, "empty"),
        (lambda: est.mutual_information([1.0, np.inf, 2.0], [1.0, 2.0, 3.0], k=1), ValueError, "infinite"),
        (lambda: est.mutual_information(np.arange(4.0), np.arange(4.0), k=4), ValueError, "k=4 must be smaller"),
        (lambda: est.mutual_information(np.arange(9.0), np.arange(9.0), k=0), ValueError, "k must be an integer"),
        (lambda: est.mutual_information(np.arange(9.0), np.arange(9.0), k=2.5), TypeError, "k must be an integer"),
        (lambda: est.mutual_information([1, 2], [1, 2], method="nope"), ValueError, "valid methods: 'ksg'"),
        (lambda: est.mutual_information([1, 2], [1, 2], method=3), TypeError, "method must be a string"),
        (lambda: est.mutual_information(np.arange(9.0), np.arange(9.0), variant=3), ValueError, "variant"),
        (lambda: est.mutual_information(["a", "b"], ["c", "d"]), TypeError, "real numbers"),
        (lambda: est.mutual_information("abc", [1, 2, 3]), TypeError, "array-like"),
        (lambda: est.mutual_information([1, 2], [1, 2], method="discrete", correction="x"), ValueError, "correction"),
        (lambda: est.mutual_information(np.arange(9.0), np.arange(9.0), standardize="yes"), TypeError, "standardize"),
        (lambda: est.mutual_information(np.arange(9.0), np.arange(9.0), noise=-1), ValueError, "noise"),
        (lambda: est.mutual_information(np.arange(9.0), np.arange(9.0), noise="a"), TypeError, "noise"),
        (lambda: est.mutual_information(np.arange(9.0), np.arange(9.0), method="binned", bins=2.5), TypeError, "bins"),
        (lambda: est.mi_ksg(np.repeat(np.arange(5.0), 10), np.repeat(np.arange(5.0), 10)), ValueError, "repeated points.*method='mixed'"),
        (lambda: est.mi_ksg(np.repeat(np.arange(5.0), 10), np.repeat(np.arange(5.0), 10), variant=2), ValueError, "repeated points"),
        (lambda: est.cmi_ksg(*(np.repeat(np.arange(5.0), 10),) * 3), ValueError, "x, y and z have repeated points"),
        (lambda: est.mutual_information(np.arange(9.0), np.arange(9.0), seed="a"), TypeError, "seed"),
        (lambda: est.mutual_information(np.arange(9.0), np.arange(9.0), base=-2), ValueError, "base"),
        (lambda: est.mutual_information(np.arange(9.0), np.arange(9.0), base="2"), TypeError, "base"),
        (lambda: est.cmi_ksg(np.arange(9.0), np.arange(9.0), np.arange(8.0)), ValueError, "x, y and z|x and y and z"),
        (lambda: est.mi_gaussian(np.ones(20), np.arange(20.0)), ValueError, "singular"),
        (lambda: est.mi_discrete([0, 1, np.nan], [0, 1, 1]), ValueError, "NaN"),
        (lambda: est.mi_ross(np.arange(4.0), [0, 1, 2, 3], k=1), ValueError, "no class with two"),
    ],
)
def test_errors_name_the_argument(call, exc, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=match):
            call()


# ------------------------------------------------------------------ Ross: ties and negative values
def _ross_tied_inputs(n=1000, seed=0):
    """Constant x, a dead-ReLU-like layer (all zeros but five rows), and 60% zero rows; y independent."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    const = np.ones((n, 4))
    dead = np.zeros((n, 8))
    dead[:5] = rng.random((5, 8))
    zero60 = rng.standard_normal((n, 3))
    zero60[rng.random(n) < 0.6] = 0.0
    return y, {"constant": const, "dead_relu": dead, "zero_60pct": zero60}


@pytest.mark.parametrize("case,n_rep", [("constant", 999), ("dead_relu", 994), ("zero_60pct", 591)])
def test_ross_refuses_repeated_rows_with_the_fix(case, n_rep):
    # before: -4.55, -4.55 and -2.42 nats (with only a ties warning) for data independent of y
    y, xs = _ross_tied_inputs()
    with pytest.warns(UserWarning, match="heavy ties"):
        with pytest.raises(ValueError, match=rf"x has repeated rows: {n_rep} of its 1000 rows") as exc:
            est.mi_ross(xs[case], y)
    msg = str(exc.value)
    assert "noise=1e-10" in msg and "drop them" in msg and "dead features" in msg
    with pytest.warns(UserWarning, match="heavy ties"), pytest.raises(ValueError, match="repeated rows"):
        est.mutual_information(xs[case], y, method="labels")


@pytest.mark.parametrize("case", ["constant", "dead_relu", "zero_60pct"])
def test_ross_with_jitter_is_near_the_true_zero(case):
    # x is independent of y (MI = 0); over 20 seeds the jittered estimates have sd 0.011-0.020
    # nats at n = 1000, so 0.08 nats is four standard errors
    y, xs = _ross_tied_inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = est.mi_ross(xs[case], y, noise=1e-10, seed=0)
    assert abs(v) < 0.08


@pytest.mark.parametrize("case", ["constant", "dead_relu"])
def test_mixed_on_constant_and_dead_features_is_near_zero(case):
    # Gao et al.'s estimator handles the repeats: constant x gives psi(n) - psi(n-1) = 1/(n-1)
    y, xs = _ross_tied_inputs()
    v = est.mi_mixed(xs[case], y)
    assert 0.0 <= v < 0.005
    if case == "constant":
        assert v == pytest.approx(1.0 / 999, rel=1e-9)


def test_negative_estimates_beyond_noise_warn(monkeypatch):
    from estimators import _neighbors as mi  # the check shared by the kNN MI, CMI and TE estimators

    terms = np.zeros(100)
    with pytest.warns(UserWarning, match=r"is -0\.5 nats, negative beyond estimator noise .* never negative"):
        mi.warn_negative(-0.5, terms, "the estimate", "Causes.")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mi.warn_negative(-0.05, terms, "the estimate", "")  # within 0.1 nats: quiet
        mi.warn_negative(-0.3, np.r_[np.zeros(5), 10.0 * np.ones(5)], "x", "")  # SE 1.6: quiet
    # wired into the kNN estimators: with no tolerance, a slightly negative estimate warns
    monkeypatch.setattr(mi, "NEG_WARN_NATS", 0.0)
    monkeypatch.setattr(mi, "NEG_WARN_SE", 0.0)
    rng = np.random.default_rng(2)  # independent x, y and labels; all three estimates < 0
    x, y = rng.standard_normal(400), rng.standard_normal(400)
    lab = rng.integers(0, 2, 400)
    with pytest.warns(UserWarning, match="kNN MI estimate between x and the labels is"):
        assert est.mi_ross(x, lab) < 0
    with pytest.warns(UserWarning, match="the KSG CMI estimate is"):
        est.cmi_ksg(x, y, lab + 0.1 * rng.standard_normal(400))
    with pytest.warns(UserWarning, match="the KSG MI estimate is"):
        assert est.mi_ksg(x, y) < 0
    with pytest.warns(UserWarning, match="the mixed kNN MI estimate is"):
        est.mi_mixed(x, y)


# ------------------------------------------------------------------ extreme scales
SCALES = [1e155, 1e-155, 1e-170, 1e300, 1e-300]


@pytest.mark.parametrize("scale", SCALES)
def test_knn_mi_estimates_do_not_depend_on_scale(scale):
    # before: at 1e155 and 1e300 the standard deviation overflowed, the standardised data were all 0
    # ("99.7% ties", then a ValueError); mi_ross returned -5.2 nats
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 2))
    a, b = x[:, 0], x[:, 0] + x[:, 1]
    lab = rng.integers(0, 3, 2000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert est.mi_ksg(a * scale, b * scale) == est.mi_ksg(a, b)
        assert est.mi_ksg(a * scale, b / scale) == est.mi_ksg(a, b)  # standardised per variable
        assert est.mi_ksg(a * scale, b * scale, standardize=False) == est.mi_ksg(a, b, standardize=False)
        assert est.mi_ksg(a * scale, b * scale, variant=2) == est.mi_ksg(a, b, variant=2)
        assert est.mi_mixed(a * scale, b * scale) == est.mi_mixed(a, b)
        assert est.mi_ross(x * scale, lab) == est.mi_ross(x, lab)
        assert est.mi_ross(x * scale, lab, metric="euclidean") == est.mi_ross(x, lab, metric="euclidean")
        assert est.mi_binned(a * scale, b * scale) == est.mi_binned(a, b)
        assert est.cmi_ksg(a * scale, x[:, 1] * scale, b * scale) == est.cmi_ksg(a, x[:, 1], b)
        assert est.mi_gaussian(a * scale, b * scale) == pytest.approx(est.mi_gaussian(a, b), abs=1e-14)
        z = b + rng.standard_normal(2000)
        assert est.cmi_gaussian(a * scale, x[:, 1], z / scale) == pytest.approx(
            est.cmi_gaussian(a, x[:, 1], z), abs=1e-14)
