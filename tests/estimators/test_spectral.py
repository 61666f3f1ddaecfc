"""Spectral measures: closed forms, direct NumPy evaluation of each formula, invariances, errors.

"Direct" references below form the matrix the formula names (the d x d
covariance, the n x n Gram, the full SVD, slogdet of I + c ZᵀZ) with no dual-Gram
shortcut, so they also check that the spectrum is taken on the right side.
"""

import math
import pickle
import warnings

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from estimators import _gram, mutual_information
from estimators.spectral import (
    GramSpectrum,
    alpha_req,
    coding_rate,
    condition_number,
    diff_erank,
    effective_rank,
    gram_spectrum,
    matrix_entropy,
    matrix_joint_entropy,
    mi_matrix,
    rankme,
    rate_reduction,
    singular_value_summary,
    von_neumann_entropy,
)

from ._spectral_data import offset_data as _data

LN2 = math.log(2.0)
TOL = 1e-8  # the acceptance tolerance for "agrees with a direct evaluation of its formula"


TALL = (300, 12)
WIDE = (15, 250)
SHAPES = [pytest.param(TALL, id="tall"), pytest.param(WIDE, id="wide")]
BASES = [pytest.param(None, id="nats"), pytest.param(2, id="bits")]


pytestmark = pytest.mark.usefixtures("one_blas_thread")


# ---------------------------------------------------------------- direct references
def _ent(lam, alpha=1.0):
    lam = lam[lam > 1e-12 * lam.max()]
    if alpha == 1.0:
        return float(-(lam * np.log(lam)).sum())
    if math.isinf(alpha):
        return float(-np.log(lam.max()))
    return float(np.log((lam**alpha).sum()) / (1 - alpha))


def ref_rankme(Z, eps=1e-7):
    s = np.linalg.svd(Z, compute_uv=False)
    p = s / s.sum() + eps
    return math.exp(-(p * np.log(p)).sum())


def ref_vne(Z):
    Zn = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    C = Zn.T @ Zn / len(Z)  # d x d, as Kim et al. write it
    return _ent(np.linalg.eigvalsh(C))


def ref_erank(Z):
    Zc = Z - Z.mean(0)
    Zn = Zc / np.linalg.norm(Zc, axis=1, keepdims=True)
    C = Zn.T @ Zn / len(Z)
    return math.exp(_ent(np.linalg.eigvalsh(C)))


def ref_gauss_gram(Z, sigma):
    D = squareform(pdist(Z))
    if sigma is None:
        sigma = np.median(pdist(Z))
    return np.exp(-(D**2) / (2 * sigma**2))


def ref_matrix_entropy(Z, alpha, kernel="linear", sigma=None):
    K = Z @ Z.T if kernel == "linear" else ref_gauss_gram(Z, sigma)  # n x n
    return _ent(np.linalg.eigvalsh(K / np.trace(K)), alpha)


def ref_mi_matrix(x, y, alpha, sigma=None):
    A = ref_gauss_gram(x, sigma)
    B = ref_gauss_gram(y, sigma)
    A, B = A / np.trace(A), B / np.trace(B)
    AB = A * B / np.trace(A * B)
    return sum(s * _ent(np.linalg.eigvalsh(M), alpha) for s, M in ((1, A), (1, B), (-1, AB)))


def ref_alpha_req(Z, lo=11, hi=100):
    lam = np.sort(np.linalg.eigvalsh(np.cov(Z.T, bias=True)))[::-1]
    lam = lam / lam.sum()
    i = np.arange(lo, hi + 1)
    # np.polyfit minimises sum (w r)^2, so w = sqrt(1/i) gives weights 1/i on squared residuals
    return float(np.polyfit(-np.log(i), np.log(lam[lo - 1 : hi]), 1, w=np.sqrt(1.0 / i))[0])


def ref_coding_rate(Z, eps):
    n, d = Z.shape
    return 0.5 * np.linalg.slogdet(np.eye(d) + d / (n * eps**2) * Z.T @ Z)[1]  # d x d


def ref_rate_reduction(Z, y, eps):
    out = ref_coding_rate(Z, eps)
    d = Z.shape[1]
    for c in np.unique(y):
        Zc = Z[y == c]
        out -= len(Zc) / len(Z) * 0.5 * np.linalg.slogdet(np.eye(d) + d / (len(Zc) * eps**2) * Zc.T @ Zc)[1]
    return out


# ---------------------------------------------------------------- closed forms
def test_rankme_closed_forms():
    # exp(-10 (0.1 + 1e-7) ln(0.1 + 1e-7)) and the diag(3, 1) value from REFERENCES.md
    assert rankme(np.eye(10)) == pytest.approx(10.0000130259, abs=1e-10)
    assert rankme(np.diag([3.0, 1.0])) == pytest.approx(1.7547652934, abs=1e-10)
    p = np.array([0.75, 0.25]) + 1e-7
    assert rankme(np.diag([3.0, 1.0])) == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-14)
    assert rankme(np.eye(10), eps=0) == pytest.approx(10.0, rel=1e-14)  # Roy-Vetterli effective rank


def test_vne_of_orthonormal_rows_is_log_n():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((50, 8)))
    Z = Q.T * rng.uniform(0.5, 4.0, (8, 1))  # 8 orthogonal rows of any length
    assert von_neumann_entropy(Z) == pytest.approx(math.log(8), abs=1e-12)
    assert von_neumann_entropy(Z, base=2) == pytest.approx(3.0, abs=1e-12)
    # all rows parallel: dimensional collapse gives 0
    assert von_neumann_entropy(np.outer(rng.uniform(1, 2, 30), rng.standard_normal(20))) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 2.0, 5.0, math.inf])
def test_matrix_renyi_of_identity_is_three_bits(alpha):
    assert matrix_entropy(np.eye(8), alpha, base=2) == pytest.approx(3.0, abs=1e-12)
    # a Gaussian kernel of far-apart points is the identity too (and says that it ignores the data)
    with pytest.warns(UserWarning, match="kernel is the identity"):
        assert matrix_entropy(100.0 * np.eye(8), alpha, kernel="gaussian", sigma=1.0, base=2) == pytest.approx(3.0, abs=1e-12)


@pytest.mark.parametrize("alpha_true", [0.8, 1.0, 1.7])
def test_alpha_req_recovers_exact_power_law(alpha_true):
    G = np.random.default_rng(1).standard_normal((200, 110))
    Q, _ = np.linalg.qr(G - G.mean(0))  # orthonormal and centred columns
    Z = Q * np.arange(1, 111) ** (-alpha_true / 2) + 5.0  # covariance eigenvalues i^-alpha
    assert alpha_req(Z) == pytest.approx(alpha_true, abs=1e-10)
    assert alpha_req(Z, fit_range=(1, None)) == pytest.approx(alpha_true, abs=1e-10)
    assert alpha_req(Z, fit_range=(30, 60)) == pytest.approx(alpha_true, abs=1e-10)


def test_coding_rate_and_rate_reduction_closed_forms():
    # Z = I_4, eps^2 = 0.5: c = d / (n eps^2) = 2, R = 2 ln 3; classes of two rows: R_j = ln 5
    assert coding_rate(np.eye(4)) == pytest.approx(2 * math.log(3), abs=1e-14)
    assert rate_reduction(np.eye(4), [0, 0, 1, 1]) == pytest.approx(2 * math.log(3) - math.log(5), abs=1e-14)
    assert rate_reduction(np.eye(4), [0, 0, 0, 0]) == pytest.approx(0.0, abs=1e-14)
    assert coding_rate(np.eye(4), eps=1.0, base=2) == pytest.approx(2 * math.log2(2), abs=1e-14)


def test_effective_rank_and_diff_erank_closed_forms():
    spread = np.vstack([np.eye(6), -np.eye(6)])
    collapsed = np.vstack([np.eye(6)[:3], -np.eye(6)[:3]])
    assert effective_rank(spread) == pytest.approx(6.0, abs=1e-12)
    assert effective_rank(collapsed) == pytest.approx(3.0, abs=1e-12)
    assert diff_erank(spread, collapsed) == pytest.approx(3.0, abs=1e-12)


def test_singular_value_summary_closed_form():
    s = singular_value_summary(np.diag([4.0, 2.0, 1.0]))
    p = np.array([4, 2, 1]) / 7
    assert s == (4.0, 1.0, 4.0, math.sqrt(21), 7.0, 21 / 16, pytest.approx(math.exp(-(p * np.log(p)).sum())), 3)
    assert condition_number(np.diag([2.0, 0.0])) == math.inf
    assert singular_value_summary(np.diag([2.0, 0.0])).numerical_rank == 1


# ---------------------------------------------------------------- direct evaluation, tall and wide
@pytest.mark.parametrize("shape", SHAPES)
def test_rankme_matches_direct_svd(shape):
    Z = _data(shape, 1)
    assert rankme(Z) == pytest.approx(ref_rankme(Z), abs=TOL)
    assert rankme(Z, eps=0.0) == pytest.approx(ref_rankme(Z, 0.0), abs=TOL)


def test_rankme_rank_deficient_matches_svd():
    # 40 x 30 of rank 3: 27 zero singular values, each contributing p = eps. Round-off in the
    # Gram eigenvalues (~1e-8 sigma_max after sqrt) would shift RankMe by ~1e-5 unless cleared.
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((40, 3)) @ rng.standard_normal((3, 30))
    assert rankme(Z) == pytest.approx(ref_rankme(Z), abs=TOL)
    assert rankme(Z.T) == pytest.approx(ref_rankme(Z), abs=TOL)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("shape", SHAPES)
def test_vne_matches_direct_covariance(shape, base):
    Z = _data(shape, 3)
    scale = 1.0 if base is None else LN2
    assert von_neumann_entropy(Z, base=base) == pytest.approx(ref_vne(Z) / scale, abs=TOL)


@pytest.mark.parametrize("shape", SHAPES)
def test_effective_rank_matches_direct(shape):
    Z = _data(shape, 4)
    assert effective_rank(Z) == pytest.approx(ref_erank(Z), abs=TOL)
    Z2 = _data(shape, 5)[:, ::2]
    assert diff_erank(Z, Z2) == pytest.approx(ref_erank(Z) - ref_erank(Z2), abs=TOL)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, math.inf])
@pytest.mark.parametrize("shape", SHAPES)
def test_matrix_entropy_linear_matches_direct_gram(shape, alpha, base):
    Z = _data(shape, 6)
    scale = 1.0 if base is None else LN2
    assert matrix_entropy(Z, alpha, base=base) == pytest.approx(ref_matrix_entropy(Z, alpha) / scale, abs=TOL)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("alpha", [1.0, 2.0])
@pytest.mark.parametrize("shape", [pytest.param((120, 6), id="tall"), pytest.param((15, 250), id="wide")])
def test_matrix_entropy_gaussian_matches_direct(shape, alpha, base):
    Z = _data(shape, 7)
    scale = 1.0 if base is None else LN2
    want = ref_matrix_entropy(Z, alpha, "gaussian") / scale
    assert matrix_entropy(Z, alpha, kernel="gaussian", base=base) == pytest.approx(want, abs=TOL)
    want = ref_matrix_entropy(Z, alpha, "gaussian", sigma=2.5) / scale
    assert matrix_entropy(Z, alpha, kernel="gaussian", sigma=2.5, base=base) == pytest.approx(want, abs=TOL)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("shape", [pytest.param((150, (2, 3)), id="tall"), pytest.param((12, (300, 200)), id="wide")])
def test_mi_matrix_matches_direct(shape, base):
    n, (dx, dy) = shape
    rng = np.random.default_rng(8)
    x = rng.standard_normal((n, dx))
    y = x[:, :1] @ np.ones((1, dy)) + rng.standard_normal((n, dy))
    scale = 1.0 if base is None else LN2
    for alpha in (1.0, 2.0):
        want = ref_mi_matrix(x, y, alpha) / scale
        assert mi_matrix(x, y, alpha=alpha, base=base) == pytest.approx(want, abs=TOL)
        assert mutual_information(x, y, method="matrix", alpha=alpha, base=base) == pytest.approx(want, abs=TOL)
    # the joint entropy is the Hadamard-product entropy the MI subtracts
    hx = matrix_entropy(x, kernel="gaussian", base=base)
    hy = matrix_entropy(y, kernel="gaussian", base=base)
    hxy = matrix_joint_entropy([x, y], base=base)
    assert hx + hy - hxy == pytest.approx(mi_matrix(x, y, base=base), abs=1e-12)
    assert max(hx, hy) - 1e-12 <= hxy <= hx + hy + 1e-12


def test_mi_matrix_orders_dependence():
    # independent: near 0; dependent: clearly positive (kernel dependence measure, not Shannon MI)
    rng = np.random.default_rng(9)
    x = rng.standard_normal(300)
    ind = mi_matrix(x, rng.standard_normal(300))
    weak = mi_matrix(x, x + 1.0 * rng.standard_normal(300))
    strong = mi_matrix(x, x + 0.1 * rng.standard_normal(300))
    assert abs(ind) < 0.05 < weak < strong
    # linear kernel: K_x = x xᵀ has rank 1, so every term is 0 for scalars (why the MI default is gaussian)
    assert mi_matrix(x, x, kernel="linear") == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("shape", [pytest.param((400, 120), id="tall"), pytest.param((115, 300), id="wide")])
def test_alpha_req_matches_direct_weighted_fit(shape):
    Z = _data(shape, 10) @ np.diag(np.arange(1, shape[1] + 1) ** -0.7)
    assert alpha_req(Z) == pytest.approx(ref_alpha_req(Z), abs=TOL)
    assert alpha_req(Z, fit_range=(3, 40)) == pytest.approx(ref_alpha_req(Z, 3, 40), abs=TOL)


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("shape", SHAPES)
def test_coding_rate_matches_direct_logdet(shape, base):
    Z = _data(shape, 11)
    scale = 1.0 if base is None else LN2
    for eps in (math.sqrt(0.5), 0.1):
        assert coding_rate(Z, eps, base=base) == pytest.approx(ref_coding_rate(Z, eps) / scale, abs=TOL)
    y = np.arange(shape[0]) % 3
    want = ref_rate_reduction(Z, y, 0.5) / scale
    assert rate_reduction(Z, y, 0.5, base=base) == pytest.approx(want, abs=TOL)
    assert rate_reduction(Z, y.astype(str), 0.5, base=base) == pytest.approx(want, abs=TOL)


@pytest.mark.parametrize("shape", SHAPES)
def test_singular_value_summary_matches_numpy(shape):
    W = _data(shape, 12)
    s = singular_value_summary(W)
    sv = np.linalg.svd(W, compute_uv=False)
    assert s.sigma_max == pytest.approx(sv[0], rel=1e-12)
    assert s.sigma_min == pytest.approx(sv[-1], rel=1e-10)
    assert s.condition_number == pytest.approx(np.linalg.cond(W), rel=1e-10)
    assert s.frobenius_norm == pytest.approx(np.linalg.norm(W), rel=1e-12)
    assert s.nuclear_norm == pytest.approx(np.linalg.norm(W, "nuc"), rel=1e-12)
    assert s.stable_rank == pytest.approx(np.linalg.norm(W) ** 2 / sv[0] ** 2, rel=1e-12)
    assert s.effective_rank == pytest.approx(ref_rankme(W, 0.0), rel=1e-12)
    assert s.numerical_rank == np.linalg.matrix_rank(W)
    # a conv kernel (out, in, kh, kw) is summarised as (out, in*kh*kw)
    K = np.random.default_rng(13).standard_normal((8, 3, 3, 3))
    assert condition_number(K) == pytest.approx(np.linalg.cond(K.reshape(8, -1)), rel=1e-10)


def test_ill_conditioned_weight_is_accurate():
    # condition number 1e12: the Gram route would lose it entirely; the direct SVD keeps it
    Q1, _ = np.linalg.qr(np.random.default_rng(14).standard_normal((50, 50)))
    Q2, _ = np.linalg.qr(np.random.default_rng(15).standard_normal((50, 50)))
    W = Q1 @ np.diag(np.logspace(0, -12, 50)) @ Q2.T
    assert condition_number(W) == pytest.approx(1e12, rel=1e-3)


# ---------------------------------------------------------------- one spectrum, dual Gram
def test_one_spectrum_serves_several_measures():
    Z = _data(WIDE, 16)
    s = gram_spectrum(Z)
    assert isinstance(s, GramSpectrum) and s.eigenvalues.shape == (15,)
    assert rankme(s) == rankme(Z)
    assert coding_rate(s) == pytest.approx(coding_rate(Z), abs=1e-12)  # eigenvalues vs Cholesky
    assert matrix_entropy(s, 2.0) == matrix_entropy(Z, 2.0)
    sn = gram_spectrum(Z, normalize_rows=True)
    assert von_neumann_entropy(sn) == von_neumann_entropy(Z)
    # VNE is the alpha = 1 matrix entropy of the row-normalised matrix
    assert matrix_entropy(sn) == pytest.approx(von_neumann_entropy(Z), abs=1e-13)
    assert effective_rank(gram_spectrum(Z, center=True, normalize_rows=True)) == effective_rank(Z)
    assert alpha_req(gram_spectrum(_data((300, 150), 17), center=True)) == alpha_req(_data((300, 150), 17))
    with pytest.raises(ValueError, match="normalize_rows=True"):
        von_neumann_entropy(s)
    with pytest.raises(ValueError, match="center=False"):
        rankme(sn)
    with pytest.raises(ValueError, match="center=True"):
        alpha_req(s)
    with pytest.raises(TypeError, match="GramSpectrum"):
        matrix_entropy(s, kernel="gaussian")


def test_spectrum_is_taken_on_the_smaller_side(monkeypatch):
    shapes = []
    real = _gram.gram_matrix

    def spy(X):
        G = real(X)
        shapes.append(G.shape)
        return G

    monkeypatch.setattr(_gram, "gram_matrix", spy)
    Z = np.random.default_rng(18).standard_normal((20, 5000)).astype(np.float32)
    von_neumann_entropy(Z)
    rankme(Z)
    rankme(Z.T)
    assert shapes == [(20, 20)] * 3
    # eigenvalues of ZᵀZ and ZZᵀ coincide (the dual-Gram identity)
    Z64 = Z.astype(np.float64)
    np.testing.assert_allclose(
        gram_spectrum(Z).eigenvalues, np.sort(np.linalg.eigvalsh(Z64 @ Z64.T))[::-1], rtol=1e-12
    )


def test_spectrum_clears_round_off_only():
    Z = np.random.default_rng(19).standard_normal((10, 4)) @ np.diag([1.0, 1.0, 1e-3, 0.0])
    lam = gram_spectrum(Z).eigenvalues
    assert lam[-1] == 0.0 and lam[2] > 0  # a true zero is exact, a small genuine value is kept


# ---------------------------------------------------------------- invariances and inputs
def test_invariances():
    rng = np.random.default_rng(20)
    Z = _data((200, 10), 21)
    Q, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    # rotations of feature space leave every Gram spectrum unchanged
    for f in (rankme, von_neumann_entropy, effective_rank, alpha_req_small := (lambda z: alpha_req(z, fit_range=(2, 9)))):
        assert f(Z @ Q) == pytest.approx(f(Z), abs=1e-10)
    # VNE ignores row lengths; effective rank and alpha-ReQ ignore translation
    assert von_neumann_entropy(Z * rng.uniform(0.1, 10, (200, 1))) == pytest.approx(von_neumann_entropy(Z), abs=1e-12)
    assert effective_rank(Z + 50.0) == pytest.approx(effective_rank(Z), abs=1e-9)
    assert alpha_req_small(Z - 50.0) == pytest.approx(alpha_req_small(Z), abs=1e-9)
    # RankMe is not translation invariant: a common offset adds one dominant direction
    assert rankme(Z + 50.0) < rankme(Z) - 1
    # the median-bandwidth Gaussian matrix entropy is unit-free
    assert matrix_entropy(3.7 * Z + 1.0, 2.0, kernel="gaussian") == pytest.approx(
        matrix_entropy(Z, 2.0, kernel="gaussian"), abs=1e-12
    )
    # sample order does not matter
    perm = rng.permutation(200)
    assert coding_rate(Z[perm]) == pytest.approx(coding_rate(Z), abs=1e-10)


def test_lists_float32_and_torch_give_the_same_numbers(torch_one_thread):
    torch = torch_one_thread
    Z = _data((60, 25), 22)
    y = np.arange(60) % 4
    T = torch.tensor(Z, requires_grad=True)
    for f in (rankme, von_neumann_entropy, effective_rank, coding_rate, matrix_entropy,
              lambda z: matrix_entropy(z, 2.0, kernel="gaussian"), lambda z: alpha_req(z, fit_range=(2, 20)),
              lambda z: rate_reduction(z, y), condition_number):
        want = f(Z)
        got = f(T)
        assert isinstance(got, float)
        assert got == pytest.approx(want, abs=1e-10)
        assert f(Z.tolist()) == pytest.approx(want, abs=1e-12)
    assert mi_matrix(T[:, :3], T[:, 3:5]) == pytest.approx(mi_matrix(Z[:, :3], Z[:, 3:5]), abs=1e-10)
    assert mi_matrix(T[:, :3], Z[:, 3:5]) == pytest.approx(mi_matrix(Z[:, :3], Z[:, 3:5]), abs=1e-10)
    # float32 and bfloat16 tensors are widened to float64 before the Gram matrix is formed
    Z32 = torch.tensor(Z, dtype=torch.float32)
    assert rankme(Z32) == pytest.approx(rankme(Z32.double().numpy()), abs=1e-10)
    assert math.isfinite(von_neumann_entropy(Z32.to(torch.bfloat16)))
    s = singular_value_summary(torch.tensor(Z))
    assert s.condition_number == pytest.approx(np.linalg.cond(Z), rel=1e-10)


def test_zero_rows_are_dropped_with_a_warning():
    Z = np.vstack([np.eye(4), np.zeros((2, 4))])
    with pytest.warns(UserWarning, match="2 row"):
        assert von_neumann_entropy(Z) == pytest.approx(math.log(4), abs=1e-12)
    with pytest.warns(UserWarning, match="all zero"):
        assert gram_spectrum(Z, normalize_rows=True).n_samples == 4


def test_alpha_req_truncated_range_warns():
    Z = _data((300, 40), 23)
    with pytest.warns(UserWarning, match="ranks 11-40 instead of 11-100"):
        a = alpha_req(Z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert alpha_req(Z, fit_range=(11, 40)) == a


def test_results_are_plain_floats_and_pickle():
    Z = _data((30, 5), 24)
    for v in (rankme(Z), von_neumann_entropy(Z), matrix_entropy(Z), coding_rate(Z), alpha_req(Z, fit_range=(1, 5))):
        assert type(v) is float
    s = singular_value_summary(Z)
    assert pickle.loads(pickle.dumps(s)) == s


# ---------------------------------------------------------------- errors
def test_errors():
    Z = _data((20, 5), 25)
    with pytest.raises(ValueError, match="NaN"):
        rankme([[1.0, np.nan], [0.0, 1.0]])
    with pytest.raises(ValueError, match="2-D"):
        von_neumann_entropy(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="all zeros"):
        rankme(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="every row"):
        von_neumann_entropy(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="all zeros"):
        matrix_entropy(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="all zeros"):
        singular_value_summary(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="eps must be"):
        rankme(Z, eps=-1.0)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        matrix_entropy(Z, -1.0)
    with pytest.raises(ValueError, match="kernel must be"):
        matrix_entropy(Z, kernel="rbf")
    with pytest.raises(ValueError, match="positive, finite bandwidth"):
        matrix_entropy(Z, kernel="gaussian", sigma=0.0)
    with pytest.raises(ValueError, match="'median', 'rms'"):
        matrix_entropy(Z, kernel="gaussian", sigma="silverman")
    with pytest.raises(TypeError, match="True or False"):
        gram_spectrum(Z, center="yes")
    with pytest.raises(TypeError, match="fit_range must be a pair"):
        alpha_req(Z, fit_range=11)
    with pytest.raises(ValueError, match="fit_range\\[0\\]"):
        alpha_req(Z, fit_range=(0, 10))
    with pytest.raises(ValueError, match="fit_range\\[1\\]"):
        alpha_req(Z, fit_range=(5, 6))
    with pytest.raises(ValueError, match="too few for a fit"):
        alpha_req(Z, fit_range=(4, None))
    with pytest.raises(ValueError, match="distortion"):
        coding_rate(Z, eps=0.0)
    with pytest.raises(ValueError, match="same number of samples"):
        rate_reduction(Z, [0, 1])
    with pytest.raises(ValueError, match="same number of samples"):
        mi_matrix(Z, Z[:10])
    with pytest.raises(ValueError, match="pair"):
        mi_matrix(Z, Z, sigma=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="3 entries for 2 variables"):
        matrix_joint_entropy([Z, Z], sigma=[1.0, 1.0, 1.0])
    with pytest.raises(TypeError, match="list of variables"):
        matrix_joint_entropy(Z)
    with pytest.raises(TypeError, match="does not take"):
        mutual_information(Z, Z, method="matrix", k=3)


def test_constant_input_for_the_gaussian_kernel_warns_not_nan():
    with pytest.warns(UserWarning, match="identical"):
        assert matrix_entropy(np.ones((10, 3)), kernel="gaussian") == pytest.approx(0.0, abs=1e-12)


def test_a_point_mass_has_entropy_plus_zero_not_minus_zero():
    # -sum p log p of p = [1] is -0.0 in floating point; tables and CSV files showed "-0.0"
    import math

    import estimators as est

    for v in (est.von_neumann_entropy(np.ones((5, 1))), est.matrix_entropy(np.ones((5, 1))),
              est.entropy(np.zeros(10, dtype=int), method="discrete")):
        assert v == 0.0 and math.copysign(1.0, v) == 1.0
