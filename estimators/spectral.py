r"""Spectral measures of representations and weights.

Every measure here is a function of one eigenvalue spectrum:

* the **Gram spectrum** of a data matrix ``Z`` of shape ``(n_samples, n_features)``:
  the eigenvalues of :math:`Z^\top Z` (``d x d``), which are the non-zero
  eigenvalues of :math:`Z Z^\top` (``n x n``). It is computed once, on the
  smaller side, in float64 (:func:`gram_spectrum`);
* or, for ``kernel="gaussian"`` in the matrix-based Rényi family, the
  eigenvalues of an ``n x n`` kernel matrix.

What separates the measures is how ``Z`` is prepared before the spectrum is
taken (centred or not, rows normalised or not) and how the spectrum is
normalised. Each docstring states its choice; in short:

* :func:`rankme`: raw ``Z``; singular values σ; exp(−Σ p log p), p = σ/Σσ + 1e-7 (0 log 0 = 0).
* :func:`von_neumann_entropy`: rows L2-normalised; eigenvalues of ZᵀZ/N (trace 1);
  −Σ λ log λ.
* :func:`effective_rank` (Diff-eRank's eRank): centred, then rows L2-normalised;
  eigenvalues of ZᵀZ/N; exp(−Σ λ log λ). :func:`diff_erank` is a difference of two.
* :func:`matrix_entropy`: raw ``Z`` (linear kernel) or a Gaussian kernel matrix K;
  eigenvalues of K/tr K; (1/(1−α)) log Σ λ^α.
* :func:`alpha_req`: centred; covariance eigenvalues normalised to sum 1; power-law
  exponent by weighted least squares.
* :func:`coding_rate`: raw ``Z``; eigenvalues of ZᵀZ; ½ Σ log(1 + d λ/(n ε²)).
* :func:`singular_value_summary`: a weight matrix's singular values by a direct SVD.

Torch tensors are processed on their own device (GPU included) with
``torch.linalg`` in float64; only the small spectrum is copied to the host.
Everything else uses NumPy/SciPy. Results are Python floats.

*Extreme scales.* Before anything is squared, ``Z`` (and again after centring)
is multiplied by the power of two that brings its largest entry into
[0.5, 1): exact, and it keeps ZᵀZ and squared distances from overflowing
(entries beyond ~1e154) or underflowing (below ~1e-154). Scale-invariant
measures therefore give the same value for ``Z`` and ``1e-300 * Z`` or
``1e300 * Z``; the coding rate, whose ε fixes a scale, is computed in the log
domain where ``d/(nε²) ZᵀZ`` leaves the float64 range.

*Round-off.* Eigenvalues below ``max(min(n, d), 16) * eps * largest`` (the
backward error of the eigenproblem) are set to exactly zero; larger ones,
however small, are kept.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from ._discrete import shannon
from ._docs import fill
from ._gram import (
    EPS,
    GramSpectrum,
    as_matrix,
    check_kernel,
    check_sigma,
    clip_spectrum,
    eigvalsh,
    gram_spectrum,
    hadamard_normalized,
    ldexp,
    max_abs,
    normalized_gram,
    normalized_grams,
    pow2_normalized,
    rate_direct,
    rate_from_eigenvalues,
    singular_values,
    take_rows,
)
from ._validation import (
    _is_torch_tensor,
    as_labels,
    as_samples,
    check_alpha,
    check_same_n,
    to_base,
    warn,
)

__all__ = [
    "GramSpectrum",
    "gram_spectrum",
    "rankme",
    "von_neumann_entropy",
    "effective_rank",
    "diff_erank",
    "matrix_entropy",
    "matrix_joint_entropy",
    "mi_matrix",
    "alpha_req",
    "coding_rate",
    "rate_reduction",
    "SingularValueSummary",
    "singular_value_summary",
    "condition_number",
]

MCR2_EPS = math.sqrt(0.5)  # ε with ε² = 0.5, the setting of Yu et al. (2020)

#: How each measure that works from a Gram spectrum prepares ``Z`` before the spectrum is
#: taken: ``(center, normalize_rows)``, the arguments of :func:`gram_spectrum`. A spectrum
#: computed with these can be passed in place of ``Z``; :func:`rankme`,
#: :func:`von_neumann_entropy`, :func:`effective_rank` and :func:`alpha_req` reject any other
#: preparation, while :func:`coding_rate` and :func:`matrix_entropy` (linear kernel) accept a
#: spectrum of any preparation and use the raw ``Z`` when given samples. The functions read
#: their preparation from here, so callers that share one spectrum between measures (the
#: probes of :mod:`infomeasure.measures`) can group measures by it.
GRAM_PREPARATION: dict[str, tuple[bool, bool]] = {
    "rankme": (False, False),
    "von_neumann_entropy": (False, True),
    "effective_rank": (True, True),
    "alpha_req": (True, False),
    "coding_rate": (False, False),
    "matrix_entropy": (False, False),
}

_WEI2024 = """L. Wei, Z. Tan, C. Li, J. Wang, W. Huang, "Diff-eRank: A novel rank-based
    metric for evaluating large language models", NeurIPS 2024."""

# GramSpectrum and gram_spectrum live in the private _gram module (the diffusion measures share
# its machinery) but are public here: documented, pickled and shown as estimators.spectral.*.
GramSpectrum.__module__ = gram_spectrum.__module__ = __name__


# ----------------------------------------------------------------------------------------------
# the spectrum a measure is defined on
# ----------------------------------------------------------------------------------------------
def _spectrum(Z, measure: str, *, what: str | None = None, strict: bool = True) -> GramSpectrum:
    """A GramSpectrum of ``Z`` prepared as ``GRAM_PREPARATION[measure]`` says (``Z`` may already be one)."""
    center, normalize_rows = GRAM_PREPARATION[measure]
    what = what or measure
    if isinstance(Z, GramSpectrum):
        if strict and (Z.centered != center or Z.normalized_rows != normalize_rows):
            raise ValueError(
                f"{what} is defined on the spectrum with center={center}, "
                f"normalize_rows={normalize_rows}; got a GramSpectrum with "
                f"center={Z.centered}, normalize_rows={Z.normalized_rows}. Compute it with "
                f"gram_spectrum(Z, center={center}, normalize_rows={normalize_rows})"
            )
        return Z
    return gram_spectrum(Z, center=center, normalize_rows=normalize_rows)


def _renyi(p: np.ndarray, alpha: float) -> float:
    """Rényi entropy (nats) of a probability vector (zeros allowed)."""
    p = p[p > 0]
    if alpha == 1.0:
        return shannon(p)
    if alpha == 0.0:
        return math.log(p.size)
    if math.isinf(alpha):
        return float(-math.log(p.max()))
    return float(math.log(float((p**alpha).sum())) / (1.0 - alpha))


def _trace_normalized(lam: np.ndarray, what: str) -> np.ndarray:
    total = float(lam.sum())
    if total <= 0.0:
        raise ValueError(f"{what}: the matrix is all zeros, so its trace-normalised spectrum is undefined")
    return lam / total


# ----------------------------------------------------------------------------------------------
# RankMe, von Neumann entropy, effective rank, Diff-eRank
# ----------------------------------------------------------------------------------------------
def rankme(Z, eps=1e-7) -> float:
    r"""RankMe: the smooth effective rank of an embedding matrix (Garrido et al. 2023).

    With :math:`\sigma_k` the singular values of the **raw, uncentred** ``Z``
    (``min(n, d)`` of them, zeros included):

    .. math:: p_k = \frac{\sigma_k}{\sum_j \sigma_j} + \varepsilon, \qquad
              \mathrm{RankMe}(Z) = \exp\Big(-\sum_k p_k \log p_k\Big)

    The :math:`p_k` are not renormalised after adding :math:`\varepsilon`, as in
    the paper; this adds about :math:`\varepsilon \min(n,d) \log(1/\varepsilon)`
    to the entropy.

    Parameters
    ----------
    Z : array-like, torch.Tensor or GramSpectrum of shape (n_samples, n_features)
        Embeddings (samples along axis 0), or ``gram_spectrum(Z)``.
    eps : float, default 1e-7
        The constant added to every :math:`p_k`. ``eps=0`` gives the effective
        rank of Roy and Vetterli (2007), with :math:`0 \log 0 = 0` (zero
        singular values contribute nothing: ``diag(1, 1, 0)`` has rank 2).

    Returns
    -------
    float
        Between about 1 (one direction) and ``min(n, d)``. Unitless.

    Notes
    -----
    The singular values come from the eigenvalues of the smaller Gram matrix
    (:func:`gram_spectrum`), so RankMe is exactly invariant to rescaling ``Z``
    (any scale float64 can hold). RankMe is not invariant to a shift of the data:
    a large common offset adds one dominant direction; use
    ``gram_spectrum(Z, center=True)`` and a centred definition if that is not
    wanted (some packages centre silently; this function follows the paper).

    References
    ----------
    Q. Garrido, R. Balestriero, L. Najman, Y. LeCun, "RankMe: Assessing the
    downstream performance of pretrained self-supervised representations by
    their rank", ICML 2023. O. Roy, M. Vetterli, "The effective rank: a
    measure of effective dimensionality", EUSIPCO 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import rankme
    >>> round(rankme(np.eye(10)), 10)
    10.0000130259
    >>> round(rankme(np.diag([3.0, 1.0])), 10)
    1.7547652934
    """
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (eps >= 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a finite number >= 0 (1e-7 in the paper); got {eps!r}")
    spec = _spectrum(Z, "rankme", what="RankMe")
    sigma = np.sqrt(spec.eigenvalues)  # scale-free: spec.log2_scale does not matter
    total = float(sigma.sum())
    if total == 0.0:
        raise ValueError("RankMe: Z is all zeros; its singular values are all 0 and p = sigma / sum is undefined")
    p = sigma / total + float(eps)
    return float(math.exp(shannon(p)))  # 0 log 0 = 0: zero singular values count for nothing at eps=0


def von_neumann_entropy(Z, *, base=None) -> float:
    r"""Von Neumann entropy of the row-normalised autocorrelation (Kim et al. 2023).

    Rows are L2-normalised (not centred), :math:`C = Z^\top Z / N` (trace 1),
    and with :math:`\lambda_k` its eigenvalues:

    .. math:: S(Z) = -\sum_k \lambda_k \log \lambda_k

    Parameters
    ----------
    Z : array-like, torch.Tensor or GramSpectrum of shape (n_samples, n_features)
        Representations (samples along axis 0), or
        ``gram_spectrum(Z, normalize_rows=True)``. All-zero rows are dropped
        with a warning.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        Between 0 (all rows parallel: dimensional collapse) and
        ``log min(n, d)`` (rows spread evenly over ``min(n, d)`` orthogonal
        directions). ``exp`` of it (in nats) is an effective rank.

    Notes
    -----
    :math:`C` is ``d x d``, but its non-zero eigenvalues are those of
    :math:`Z Z^\top / N`, so the smaller matrix is diagonalised. With fewer
    samples than features the maximum is ``log N``: compare values at equal N.

    References
    ----------
    J. Kim, S. Kang, D. Hwang, J. Shin, W. Rhee, "VNE: An effective method for
    improving deep representation by manipulating eigenvalue distribution",
    CVPR 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import von_neumann_entropy
    >>> Z = 5.0 * np.eye(8)                     # 8 orthogonal rows
    >>> round(von_neumann_entropy(Z), 6)        # ln 8
    2.079442
    >>> von_neumann_entropy(Z, base=2)
    3.0
    """
    spec = _spectrum(Z, "von_neumann_entropy")
    lam = spec.eigenvalues / spec.n_samples
    return to_base(shannon(lam), base)


@fill(wei2024=_WEI2024)
def effective_rank(Z) -> float:
    r"""Effective rank of a representation as in Diff-eRank (Wei et al. 2024).

    ``Z`` is centred (column means removed), then its rows are L2-normalised;
    with :math:`\lambda_k` the eigenvalues of :math:`Z^\top Z / N` (trace 1):

    .. math:: \mathrm{eRank}(Z) = \exp\Big(-\sum_k \lambda_k \log \lambda_k\Big)

    Parameters
    ----------
    Z : array-like, torch.Tensor or GramSpectrum of shape (n_samples, n_features)
        Representations, or ``gram_spectrum(Z, center=True, normalize_rows=True)``.

    Returns
    -------
    float
        Between 1 and ``min(n - 1, d)``. Unitless.

    Notes
    -----
    Related quantities: :func:`rankme` is the same exponential of an entropy,
    but of the singular values of the raw matrix (no centring, no row
    normalisation); ``exp(von_neumann_entropy(Z))`` is this without centring.

    References
    ----------
    %(wei2024)s

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import effective_rank
    >>> Z = np.vstack([np.eye(4), -np.eye(4)])  # centred; 4 orthogonal directions
    >>> round(effective_rank(Z), 6)
    4.0
    """
    spec = _spectrum(Z, "effective_rank")
    lam = spec.eigenvalues / spec.n_samples
    return float(math.exp(shannon(lam)))


@fill(wei2024=_WEI2024)
def diff_erank(Z_untrained, Z_trained) -> float:
    r"""Diff-eRank: effective rank of an untrained model's representation minus a trained one's.

    .. math:: \Delta\mathrm{eRank} = \mathrm{eRank}(Z_{\text{untrained}})
              - \mathrm{eRank}(Z_{\text{trained}})

    with :func:`effective_rank` (centred, rows L2-normalised). Positive values
    mean training removed redundant directions ("noise reduction" in Wei et
    al.). The two matrices should come from the same inputs; they may have
    different widths.

    Parameters
    ----------
    Z_untrained, Z_trained : array-like or torch.Tensor of shape (n_samples, n_features)
        Representations of the same inputs from the untrained and the trained model.

    Returns
    -------
    float
        The difference of effective ranks (unitless).

    Notes
    -----
    Wei et al. compute the difference per input sequence (tokens as rows) and
    average over a data set; call this function per sequence and average to
    reproduce that protocol.

    References
    ----------
    %(wei2024)s

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import diff_erank
    >>> spread = np.vstack([np.eye(4), -np.eye(4)])
    >>> collapsed = np.vstack([np.eye(4)[:2], -np.eye(4)[:2]])
    >>> round(diff_erank(spread, collapsed), 6)   # 4 - 2
    2.0
    """
    return effective_rank(Z_untrained) - effective_rank(Z_trained)


# ----------------------------------------------------------------------------------------------
# matrix-based Rényi entropy and mutual information (Sánchez Giraldo et al. 2015)
# ----------------------------------------------------------------------------------------------
def matrix_entropy(Z, alpha=1.0, *, kernel="linear", sigma=None, base=None) -> float:
    r"""Matrix-based Rényi α-order entropy of a Gram matrix (Sánchez Giraldo et al. 2015).

    With :math:`K` the ``n x n`` Gram matrix of the samples and
    :math:`A = K / \operatorname{tr} K`, whose eigenvalues :math:`\lambda_k` are
    non-negative and sum to one:

    .. math:: S_\alpha(A) = \frac{1}{1-\alpha} \log \sum_k \lambda_k^\alpha,
              \qquad S_1(A) = -\sum_k \lambda_k \log \lambda_k

    ``alpha=0`` gives the log of the rank, ``alpha=inf`` gives
    :math:`-\log \lambda_{\max}`.

    Parameters
    ----------
    Z : array-like, torch.Tensor or GramSpectrum of shape (n_samples, n_features)
        Samples along axis 0. For the linear kernel, a :func:`gram_spectrum`
        of any preparation may be passed (the entropy is then that of the
        prepared matrix).
    alpha : float, default 1.0
        Order :math:`\alpha \ge 0`; 1 is the von Neumann limit.
    kernel : {"linear", "gaussian"}, default "linear"
        ``"linear"``: :math:`K = Z Z^\top` (its spectrum is computed on the
        smaller side). ``"gaussian"``:
        :math:`K_{ij} = \exp(-\lVert z_i - z_j\rVert^2 / 2\sigma^2)`, an
        ``n x n`` eigenproblem (:math:`O(n^3)`).
    sigma : float, "median" or "rms", optional
        Gaussian bandwidth. ``None`` (default) or ``"median"``: the median
        Euclidean distance between distinct samples, a scale-free choice (the
        median heuristic of kernel methods). ``"rms"``: the root-mean-square
        distance. Ignored by the linear kernel.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        Between 0 and ``log n`` (Gaussian) or ``log min(n, d)`` (linear);
        non-increasing in ``alpha``.

    Notes
    -----
    With the Gaussian kernel the value depends strongly on the bandwidth: a
    small ``sigma`` pushes it to ``log n``, a large one to 0. Compare values
    computed with the same rule. A fixed ``sigma`` so small that every
    off-diagonal affinity underflows to 0 (the kernel is the identity) or so
    large that every affinity rounds to 1 gives exactly those limits and a
    ``UserWarning``. Both the median/RMS rules and the linear kernel are
    invariant to rescaling ``Z``, at any scale float64 can hold.

    Eigenvalues are clipped to zero only below the round-off of the
    eigenproblem (``max(min(n, d), 16) * eps * largest``), so small genuine
    eigenvalues, which weigh heavily for ``alpha < 1`` (:math:`\lambda^{1/2}`
    of 1e-12 is 1e-6), are kept. With the linear kernel and L2-normalised rows,
    ``alpha=1`` equals :func:`von_neumann_entropy`.

    References
    ----------
    L. G. Sánchez Giraldo, M. Rao, J. C. Príncipe, "Measures of entropy from
    data using infinitely divisible kernels", IEEE Trans. Inf. Theory 61
    (2015) 535--548.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import matrix_entropy
    >>> Z = np.eye(8)                            # K = I_8: 3 bits for every alpha
    >>> [round(matrix_entropy(Z, a, base=2), 12) for a in (0.5, 1, 2)]
    [3.0, 3.0, 3.0]
    """
    alpha = check_alpha(alpha)
    check_kernel(kernel)
    sigma = check_sigma(sigma)
    if kernel == "linear":
        spec = _spectrum(Z, "matrix_entropy", strict=False)
        lam = _trace_normalized(spec.eigenvalues, "matrix_entropy")
    else:
        if isinstance(Z, GramSpectrum):
            raise TypeError(
                "matrix_entropy with kernel='gaussian' needs the samples Z, not a GramSpectrum "
                "(a linear-kernel spectrum)"
            )
        X = as_matrix(Z, "Z")
        A = normalized_gram(X, "gaussian", "median" if sigma is None else sigma, "matrix_entropy")
        lam = clip_spectrum(eigvalsh(A, "matrix_entropy"), *A.shape)
        lam = lam / lam.sum()
    return to_base(_renyi(lam, alpha), base)


def _renyi_of_matrix(A, alpha: float, what: str = "the kernel matrix") -> float:
    lam = clip_spectrum(eigvalsh(A, what), *A.shape)
    return _renyi(lam / lam.sum(), alpha)


def matrix_joint_entropy(variables, alpha=1.0, *, kernel="gaussian", sigma=None, base=None) -> float:
    r"""Matrix-based Rényi α-order joint entropy of several variables.

    With :math:`A_j = K_j / \operatorname{tr} K_j` the normalised Gram matrix
    of variable *j* (all on the same *n* samples), the joint entropy is that of
    their normalised Hadamard product:

    .. math:: S_\alpha(A_1, \dots, A_m) = S_\alpha\!\left(
              \frac{A_1 \circ \cdots \circ A_m}{\operatorname{tr}(A_1 \circ \cdots \circ A_m)}\right)

    Parameters
    ----------
    variables : sequence of array-like of shape (n_samples, n_features_j)
        The variables, paired by row.
    alpha : float, default 1.0
        Order :math:`\alpha \ge 0`.
    kernel : {"gaussian", "linear"}, default "gaussian"
        Kernel for every variable. The default differs from
        :func:`matrix_entropy`: a linear kernel of a scalar variable has rank
        one (entropy 0), which makes joint entropies and MI uninformative.
    sigma : float, "median", "rms", or a sequence of them, optional
        Bandwidth per variable (one value for all, or one each); ``None``: the
        median pairwise distance of each variable.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        At least the largest marginal entropy and at most ``log n``.

    References
    ----------
    S. Yu, L. G. Sánchez Giraldo, R. Jenssen, J. C. Príncipe, "Multivariate
    extension of matrix-based Rényi's α-order entropy functional", IEEE TPAMI
    42 (2020) 2960--2966.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import matrix_joint_entropy
    >>> x = np.eye(4)
    >>> round(matrix_joint_entropy([x, x], kernel="linear", base=2), 12)   # A∘A ∝ I_4
    2.0
    """
    alpha = check_alpha(alpha)
    if isinstance(variables, (str, bytes)) or not isinstance(variables, (list, tuple)) or not variables:
        raise TypeError(
            "matrix_joint_entropy: pass a list of variables, each of shape (n_samples, n_features)"
        )
    names = [f"variables[{i}]" for i in range(len(variables))]
    mats = normalized_grams(list(variables), names, kernel, sigma, "matrix_joint_entropy")
    return to_base(_renyi_of_matrix(hadamard_normalized(mats), alpha), base)


def mi_matrix(x, y, *, alpha=1.0, kernel="gaussian", sigma=None, base=None) -> float:
    r"""Matrix-based Rényi α-order mutual information (Sánchez Giraldo et al. 2015).

    .. math:: I_\alpha(X; Y) = S_\alpha(A) + S_\alpha(B) - S_\alpha\!\left(
              \frac{A \circ B}{\operatorname{tr}(A \circ B)}\right)

    with :math:`A`, :math:`B` the trace-normalised ``n x n`` Gram matrices of
    ``x`` and ``y`` (:func:`matrix_entropy`, :func:`matrix_joint_entropy`).

    Parameters
    ----------
    x, y : array-like or torch.Tensor of shape (n_samples, n_features)
        Samples, paired by row.
    alpha : float, default 1.0
        Order :math:`\alpha \ge 0`.
    kernel : {"gaussian", "linear"}, default "gaussian"
        Kernel for both variables.
    sigma : float, "median", "rms" or a pair of them, optional
        Bandwidths (one for both or ``(sigma_x, sigma_y)``); ``None``: the
        median pairwise distance of each variable, so the estimate does not
        depend on the variables' units.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        Non-negative for ``alpha=1`` in practice, at most
        ``min(S(A), S(B))``. It is a kernel dependence measure in information
        units, not a consistent estimate of Shannon MI: its value depends on the
        bandwidths and on ``n``. Compare values computed the same way.

    Notes
    -----
    Costs three ``n x n`` eigenproblems (:math:`O(n^3)`): subsample to a few
    thousand samples.

    References
    ----------
    L. G. Sánchez Giraldo, M. Rao, J. C. Príncipe, IEEE Trans. Inf. Theory 61
    (2015) 535--548; S. Yu, L. G. Sánchez Giraldo, R. Jenssen, J. C. Príncipe,
    IEEE TPAMI 42 (2020) 2960--2966.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import mi_matrix
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(300)
    >>> dep = mi_matrix(x, x + 0.3 * rng.standard_normal(300))
    >>> ind = mi_matrix(x, rng.standard_normal(300))
    >>> dep > 5 * ind
    True
    """
    alpha = check_alpha(alpha)
    if isinstance(sigma, (tuple, list)) and len(sigma) != 2:
        raise ValueError(f"sigma must be one bandwidth or a pair (sigma_x, sigma_y); got {len(sigma)} values")
    A, B = normalized_grams([x, y], ["x", "y"], kernel, sigma, "mi_matrix")
    s = [_renyi_of_matrix(M, alpha) for M in (A, B, hadamard_normalized([A, B]))]
    return to_base(s[0] + s[1] - s[2], base)


# ----------------------------------------------------------------------------------------------
# alpha-ReQ (Agrawal et al. 2022)
# ----------------------------------------------------------------------------------------------
def _check_fit_range(fit_range):
    if not isinstance(fit_range, (tuple, list)) or len(fit_range) != 2:
        raise TypeError(f"fit_range must be a pair (first_rank, last_rank); got {fit_range!r}")
    lo, hi = fit_range
    if isinstance(lo, bool) or not isinstance(lo, numbers.Integral) or lo < 1:
        raise ValueError(f"fit_range[0] must be an integer rank >= 1 (1 = largest eigenvalue); got {lo!r}")
    if hi is not None and (isinstance(hi, bool) or not isinstance(hi, numbers.Integral) or hi < lo + 2):
        raise ValueError(
            f"fit_range[1] must be None or an integer rank >= fit_range[0] + 2 (a fit needs three "
            f"points); got {hi!r}"
        )
    return int(lo), (None if hi is None else int(hi))


def alpha_req(Z, *, fit_range=(11, 100)) -> float:
    r"""α-ReQ: the power-law decay exponent of the centred covariance eigenspectrum.

    ``Z`` is centred; :math:`\lambda_1 \ge \lambda_2 \ge \dots` are the
    eigenvalues of its covariance normalised to sum 1. The exponent
    :math:`\alpha` is the slope of :math:`\log\lambda_i` against
    :math:`-\log i` fitted by weighted least squares with weights :math:`1/i`
    over the ranks ``fit_range`` (1-based, inclusive):

    .. math:: \hat\alpha = \arg\min_{\alpha, c} \sum_{i=i_0}^{i_1}
              \frac{1}{i}\left(\log \lambda_i - c + \alpha \log i\right)^2

    The default ranks 11--100 are those of the reference fit (the tail of the
    spectrum, skipping the first ten eigenvalues).

    Parameters
    ----------
    Z : array-like, torch.Tensor or GramSpectrum of shape (n_samples, n_features)
        Representations, or ``gram_spectrum(Z, center=True)``.
    fit_range : (int, int or None), default (11, 100)
        First and last rank of the fit; ``None`` as the last rank means every
        non-zero eigenvalue. Ranks beyond the last non-zero eigenvalue (at most
        ``min(n - 1, d)``) are dropped with a ``UserWarning``: the exponent is
        then not comparable with values fitted over the full range.

    Returns
    -------
    float
        :math:`\hat\alpha`. Near 1 for the spectra of well-trained
        representations (Agrawal et al.); larger values mean faster decay
        (fewer effective dimensions), smaller values a flatter spectrum.

    Notes
    -----
    The normalisation to sum 1 shifts the intercept only, not the slope.
    The fit needs at least 3 non-zero eigenvalues in the range.

    References
    ----------
    K. K. Agrawal, A. K. Mondal, A. Ghosh, B. A. Richards, "α-ReQ: Assessing
    representation quality in self-supervised learning by measuring
    eigenspectrum decay", NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import alpha_req
    >>> G = np.random.default_rng(0).standard_normal((300, 150))
    >>> Q, _ = np.linalg.qr(G - G.mean(0))       # orthonormal, centred columns
    >>> Z = Q * np.arange(1, 151) ** -0.6        # covariance eigenvalues exactly i^-1.2
    >>> round(alpha_req(Z), 8)
    1.2
    """
    lo, hi = _check_fit_range(fit_range)
    spec = _spectrum(Z, "alpha_req")
    lam = spec.eigenvalues
    n_pos = int((lam > 0).sum())
    last = n_pos if hi is None else min(hi, n_pos)
    if last - lo + 1 < 3:
        raise ValueError(
            f"alpha_req: only {n_pos} non-zero covariance eigenvalues (at most min(n - 1, d) = "
            f"{min(spec.n_samples - 1, spec.n_features)}), too few for a fit over ranks "
            f"{lo}-{hi if hi is not None else 'end'}; pass more samples or features, or a lower fit_range"
        )
    if hi is not None and last < hi:
        warn(
            f"alpha_req: the spectrum has {n_pos} non-zero eigenvalues, so the fit uses ranks "
            f"{lo}-{last} instead of {lo}-{hi}; the exponent is not comparable with fits over the "
            f"full range. Pass fit_range=({lo}, {last}) to silence this, or use more samples/features")
    ranks = np.arange(lo, last + 1, dtype=np.float64)
    y = np.log(lam[lo - 1 : last] / lam.sum())
    x = -np.log(ranks)
    w = 1.0 / ranks
    xm = float((w * x).sum() / w.sum())
    ym = float((w * y).sum() / w.sum())
    return float((w * (x - xm) * (y - ym)).sum() / (w * (x - xm) ** 2).sum())


# ----------------------------------------------------------------------------------------------
# coding rate and rate reduction (Yu et al. 2020, MCR^2)
# ----------------------------------------------------------------------------------------------
def _check_eps(eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps (the distortion ε) must be a positive finite number; got {eps!r}")
    return float(eps)


def coding_rate(Z, eps=MCR2_EPS, *, base=None) -> float:
    r"""Coding rate of a set of representations (Yu et al. 2020, MCR²).

    For ``Z`` of shape ``(n, d)`` and distortion :math:`\varepsilon`:

    .. math:: R(Z, \varepsilon) = \tfrac12 \log\det\!\Big(I_d
              + \frac{d}{n\varepsilon^2} Z^\top Z\Big)
              = \tfrac12 \sum_k \log\Big(1 + \frac{d}{n\varepsilon^2}\lambda_k\Big)

    with :math:`\lambda_k` the eigenvalues of :math:`Z^\top Z`. The determinant
    is taken on the smaller side (:math:`\det(I_d + c Z^\top Z) = \det(I_n + c Z Z^\top)`),
    by a Cholesky factorisation, or from the eigenvalues when a
    :func:`gram_spectrum` is passed.

    Parameters
    ----------
    Z : array-like, torch.Tensor or GramSpectrum of shape (n_samples, n_features)
        Representations (samples along axis 0), or a :func:`gram_spectrum`.
        MCR² normalises each row to the unit sphere first; this function uses
        ``Z`` as given (pass ``gram_spectrum(Z, normalize_rows=True)`` for that).
    eps : float, default sqrt(0.5)
        The distortion :math:`\varepsilon`, squared in the formula. The default
        :math:`\varepsilon^2 = 0.5` is the value used by Yu et al.; note that
        the MCR² reference code's ``eps`` argument *is* :math:`\varepsilon^2`.
    base : float, optional
        Logarithm base; ``None`` gives nats (Yu et al. use the natural log).

    Returns
    -------
    float
        Non-negative; grows with the spread and the dimension of ``Z`` and
        as :math:`\varepsilon` shrinks.

    Notes
    -----
    Not scale-invariant: ε fixes the scale. It is computed correctly at any
    scale and any ε float64 can hold: ``Z`` is rescaled by a power of two
    (exact), and when :math:`x = d\lambda_{\max}/(n\varepsilon^2)` leaves the
    range where the Cholesky factor of :math:`I + cZ^\top Z` is accurate
    (:math:`x \cdot \max(\min(n,d),16)\,\epsilon > 10^{-6}`, where round-off
    in :math:`Z^\top Z` would add more than 1e-6 nats per null direction, or
    :math:`x < 10^{-2}`), the rate is summed from the singular values of ``Z``
    (a direct SVD) with ``log1p`` or in the log domain, so
    ``coding_rate(1e200 * Z)`` is finite and ``coding_rate(1e-200 * Z)`` keeps
    its relative accuracy. Singular values below
    ``max(n, d) * eps * sigma_max`` count as zeros (rank deficiency).

    References
    ----------
    Y. Yu, K. H. R. Chan, C. You, C. Song, Y. Ma, "Learning diverse and
    discriminative representations via the principle of maximal coding rate
    reduction", NeurIPS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import coding_rate
    >>> Z = np.eye(4)                  # d/(n eps^2) = 2 per direction
    >>> round(coding_rate(Z), 6)       # 0.5 * 4 * ln(1 + 2) = 2 ln 3
    2.197225
    """
    eps = _check_eps(eps)
    if isinstance(Z, GramSpectrum):
        return to_base(rate_from_eigenvalues(Z.eigenvalues, Z.n_samples, Z.n_features, eps, Z.log2_scale), base)
    return to_base(rate_direct(as_matrix(Z, "Z"), eps), base)


def rate_reduction(Z, y, eps=MCR2_EPS, *, base=None) -> float:
    r"""Rate reduction ΔR of representations with class labels (Yu et al. 2020, MCR²).

    .. math:: \Delta R(Z, \Pi, \varepsilon) = R(Z, \varepsilon)
              - \sum_j \frac{n_j}{n} R(Z_j, \varepsilon),
              \qquad R(Z_j, \varepsilon) = \tfrac12\log\det\!\Big(I_d
              + \frac{d}{n_j\varepsilon^2} Z_j^\top Z_j\Big)

    with :math:`Z_j` the :math:`n_j` rows of class *j* (:func:`coding_rate`).
    Large when the whole set is spread out while each class is compressed to a
    low-dimensional subspace.

    Parameters
    ----------
    Z : array-like or torch.Tensor of shape (n_samples, n_features)
        Representations (used as given; MCR² normalises rows to the sphere).
    y : array-like of shape (n_samples,)
        Class labels (integers, strings, booleans).
    eps : float, default sqrt(0.5)
        The distortion :math:`\varepsilon` (see :func:`coding_rate`).
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        ΔR; non-negative (the log-determinant is concave), 0 for a single class.

    References
    ----------
    Y. Yu, K. H. R. Chan, C. You, C. Song, Y. Ma, NeurIPS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import rate_reduction
    >>> Z = np.eye(4)
    >>> round(rate_reduction(Z, [0, 0, 1, 1]), 6)   # 2 ln 3 - ln 5
    0.587787
    """
    eps = _check_eps(eps)
    X = as_matrix(Z, "Z")
    labels = as_labels(y, "y")
    check_same_n(Z=X, y=labels)
    if labels.ndim != 1:
        raise ValueError("y must be one label per sample")
    n = X.shape[0]
    total = rate_direct(X, eps)
    within = 0.0
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        within += (idx.size / n) * rate_direct(take_rows(X, idx), eps)
    return to_base(total - within, base)


# ----------------------------------------------------------------------------------------------
# weight matrices
# ----------------------------------------------------------------------------------------------
class SingularValueSummary(NamedTuple):
    """Singular-value summary of a weight matrix (see :func:`singular_value_summary`)."""

    sigma_max: float
    sigma_min: float
    condition_number: float
    frobenius_norm: float
    nuclear_norm: float
    stable_rank: float
    effective_rank: float
    numerical_rank: int


def _as_weight(W):
    """A weight as a 2-D float64 matrix (NumPy or torch): 1-D -> column, >2-D -> (shape[0], -1)."""
    if _is_torch_tensor(W):
        t = W.detach()
        if t.ndim > 2:
            t = t.reshape(t.shape[0], -1)
        return as_matrix(t, "W")
    arr = np.asarray(W) if not isinstance(W, np.ndarray) else W
    if getattr(arr, "ndim", 0) > 2:
        arr = arr.reshape(arr.shape[0], -1)
    return as_samples(arr, "W")


def singular_value_summary(W) -> SingularValueSummary:
    r"""Singular values of a weight matrix, summarised.

    With :math:`\sigma_1 \ge \dots \ge \sigma_r` the singular values
    (:math:`r = \min(m, n)`) of ``W`` (convolution kernels are reshaped to
    ``(out_channels, -1)``):

    * ``sigma_max`` (spectral norm) and ``sigma_min`` (the r-th singular value);
    * ``condition_number`` :math:`\sigma_1/\sigma_r` (``inf`` when
      :math:`\sigma_r = 0`);
    * ``frobenius_norm`` :math:`\sqrt{\sum\sigma_k^2}`, ``nuclear_norm``
      :math:`\sum\sigma_k`;
    * ``stable_rank`` :math:`\sum\sigma_k^2/\sigma_1^2`;
    * ``effective_rank`` :math:`\exp(-\sum p_k\log p_k)`,
      :math:`p_k = \sigma_k/\sum\sigma_j` (Roy and Vetterli 2007);
    * ``numerical_rank``: the number of :math:`\sigma_k > \sigma_1 \max(m,n)\,\epsilon`.

    Parameters
    ----------
    W : array-like or torch.Tensor
        The weight (1-D vectors are treated as one column).

    Returns
    -------
    SingularValueSummary

    Notes
    -----
    Computed by a direct SVD (``numpy.linalg.svd`` / ``torch.linalg.svdvals``,
    float64, on the tensor's device) rather than the Gram matrix, so small
    singular values and large condition numbers are accurate to machine
    precision. ``W`` is rescaled by an exact power of two first, so the ratios
    (condition number, ranks) are exact at any scale; norms beyond the float64
    range are ``inf``, with a ``UserWarning``.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.spectral import singular_value_summary
    >>> s = singular_value_summary(np.diag([4.0, 2.0, 1.0]))
    >>> s.condition_number, s.stable_rank, s.numerical_rank
    (4.0, 1.3125, 3)
    """
    X, k = pow2_normalized(_as_weight(W))  # W = X * 2**k exactly; the SVD never sees extreme values
    sv = np.sort(np.asarray(singular_values(X), dtype=np.float64))[::-1]
    smax, smin = float(sv[0]), float(sv[-1])
    if smax == 0.0:
        raise ValueError("W is all zeros; its condition number and ranks are undefined")
    p = sv / sv.sum()
    r = sv / smax
    fro, nuc = math.sqrt(float((r * r).sum())) * smax, float(sv.sum())
    with np.errstate(over="ignore", under="ignore"):
        big = [float(np.ldexp(v, k)) for v in (smax, smin, fro, nuc)]
    if math.isinf(big[2]) or math.isinf(big[3]):
        warn(
            "singular_value_summary: the norms of W exceed the float64 range (largest entry "
            f"{ldexp(max_abs(X), k):.3g}); sigma_max, frobenius_norm and nuclear_norm that overflow are "
            "reported as inf. The condition number and the ranks are exact; rescale W to get the norms")
    return SingularValueSummary(
        sigma_max=big[0],
        sigma_min=big[1],
        condition_number=smax / smin if smin > 0 else math.inf,
        frobenius_norm=big[2],
        nuclear_norm=big[3],
        stable_rank=float((r * r).sum()),
        effective_rank=float(math.exp(shannon(p))),
        numerical_rank=int((sv > smax * max(X.shape) * EPS).sum()),
    )


def condition_number(W) -> float:
    r"""Condition number :math:`\sigma_{\max}/\sigma_{\min}` of a weight matrix (2-norm).

    ``inf`` for a rank-deficient matrix (:math:`\sigma_{\min} = 0` exactly);
    see :func:`singular_value_summary` for the other summaries.

    Examples
    --------
    >>> from estimators.spectral import condition_number
    >>> condition_number([[3.0, 0.0], [0.0, 0.5]])
    6.0
    """
    return singular_value_summary(W).condition_number
