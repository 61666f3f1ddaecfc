r"""Diffusion spectral entropy (DSE) and diffusion spectral mutual information (DSMI).

Liao et al. (2023) measure the entropy of a point cloud on its data manifold:
build a Gaussian affinity graph, normalise it into a diffusion operator, and
take the Shannon entropy of its eigenvalue spectrum raised to the diffusion
time *t*. DSMI compares the DSE of the whole cloud with that of each class.

The value depends on the kernel bandwidth as much as on the data: every
result carries the bandwidth it used (``result.sigma``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._discrete import bin_codes, shannon
from ._gram import (
    EPS,
    as_matrix,
    check_sigma,
    eigvalsh,
    gaussian_gram,
    is_torch,
    max_abs,
    take_rows,
    times_pow2,
)
from ._validation import (
    _to_numpy,
    as_labels,
    as_samples,
    check_positive_int,
    check_rng,
    check_same_n,
    to_base,
    warn,
)

__all__ = [
    "DiffusionResult",
    "diffusion_spectral_entropy",
    "diffusion_spectral_mutual_information",
]

PRESETS = ("liao2023",)
LIAO2023_SIGMA = 10.0
#: Above this many samples in one eigenproblem on the CPU, a UserWarning gives the expected time.
SLOW_N = 5_000
#: Measured seconds of one DSE (distances, kernel and the n x n ``eigvalsh``) on one core of
#: the 2-core development VM: 0.08 s at n = 1,000, 0.46 s at 2,000, 10.4 s at 5,000 (126 s at
#: 10,000); the eigenproblem dominates and grows as n^3.
_SECONDS_AT_5000 = 10.0


class DiffusionResult(float):
    """A DSE or DSMI value (a Python ``float``) that also records how it was computed.

    Attributes
    ----------
    sigma : float or None
        The Gaussian bandwidth used (``None`` for ``kernel="precomputed"``).
    t : float
        The diffusion time.
    n_samples : int
        Samples used (after subsampling to ``max_n``).
    kernel : str
        ``"gaussian"`` or ``"precomputed"``.
    preset : str or None
        ``"liao2023"`` or ``None``.
    base : float or None
        The logarithm base of the value (``None``: nats).
    """

    def __new__(cls, value, *, sigma, t, n_samples, kernel, preset, base):
        self = super().__new__(cls, value)
        self.sigma = sigma
        self.t = t
        self.n_samples = n_samples
        self.kernel = kernel
        self.preset = preset
        self.base = base
        return self

    def __reduce__(self):
        return (_rebuild, (float(self), self.sigma, self.t, self.n_samples, self.kernel, self.preset, self.base))

    def describe(self) -> str:
        """One line with the value and the settings that produced it."""
        unit = "nats" if self.base is None else f"log base {self.base:g}"
        sig = "precomputed kernel" if self.sigma is None else f"sigma={self.sigma:.6g}"
        pre = f", preset={self.preset}" if self.preset else ""
        return f"{float(self):.6g} {unit} ({sig}, t={self.t:g}, n={self.n_samples}{pre})"


def _rebuild(value, sigma, t, n_samples, kernel, preset, base):
    return DiffusionResult(value, sigma=sigma, t=t, n_samples=n_samples, kernel=kernel, preset=preset, base=base)


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------
def _check_t(t) -> float:
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not (math.isfinite(t) and t > 0):
        raise ValueError(f"t (the diffusion time) must be a positive finite number such as 1; got {t!r}")
    return float(t)


def _check_common(t, kernel, sigma, preset, max_n):
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"preset must be None or one of {PRESETS}; got {preset!r}")
    if kernel not in ("gaussian", "precomputed"):
        raise ValueError(f"kernel must be 'gaussian' or 'precomputed' (an affinity matrix); got {kernel!r}")
    if preset == "liao2023" and kernel != "gaussian":
        raise ValueError("preset='liao2023' uses the Gaussian kernel; drop kernel= or the preset")
    t = _check_t(t)
    sigma = check_sigma(sigma)
    if kernel == "precomputed" and sigma is not None:
        raise ValueError("sigma has no effect with kernel='precomputed'; drop it")
    if sigma is None and kernel == "gaussian":
        sigma = LIAO2023_SIGMA if preset == "liao2023" else "rms"
    if max_n is not None:
        max_n = check_positive_int(max_n, "max_n", minimum=2)
    return t, sigma, max_n


def _on_cpu(X) -> bool:
    return not is_torch(X) or X.device.type == "cpu"


def _warn_if_slow(X, cost_n3: float, n_total: int, max_n, what: str) -> None:
    """Warn when the eigenproblems (total cost ``cost_n3`` = sum of n_i^3) will take long on a CPU."""
    if not _on_cpu(X) or cost_n3 <= SLOW_N**3:
        return
    seconds = _SECONDS_AT_5000 * cost_n3 / SLOW_N**3
    used = n_total if max_n is None else min(n_total, max_n)
    warn(
        f"{what}: {used:,} samples make O(n^3) eigenproblems; expect roughly "
        f"{seconds:,.0f} s on one CPU core ({_SECONDS_AT_5000:g} s at n = 5,000, growing as n^3; "
        "more cores help somewhat). Pass max_n=2000 (a random subset, reproducible with seed=; "
        "a 2,000-sample DSE takes about 0.5 s) or a CUDA tensor (n = 10,000 in under a second on an H200)")



def _tame(G):
    """``G`` times an even power of two when its largest |entry| is beyond 2**±500, else ``G`` itself.

    The diffusion operator D^-1/2 G D^-1/2 is unchanged (exactly: square roots of even powers
    of two are exact), and row sums can no longer overflow or underflow.
    """
    m = max_abs(G)
    if m == 0.0 or 2.0**-500 <= m <= 2.0**500:
        return G
    e = math.frexp(m)[1]
    return times_pow2(G, -(e - e % 2))


def _check_affinity(X, name="Z"):
    """Validate a precomputed affinity matrix (square, symmetric, non-negative, positive row sums)."""
    n, m = X.shape
    X = _tame(X)
    if n != m:
        raise ValueError(
            f"kernel='precomputed' expects a square (n, n) affinity matrix; {name} has shape {(n, m)}"
        )
    asym = float(abs(X - X.T).max())
    scale = float(abs(X).max())
    if asym > 1e-10 * max(scale, 1e-300):
        raise ValueError(
            f"the precomputed affinity matrix must be symmetric (max |G - G^T| / max |G| = {asym / scale:.3g}); "
            "symmetrise it, e.g. (G + G.T) / 2"
        )
    if float(X.min()) < 0:
        raise ValueError("the precomputed affinity matrix has negative entries; affinities must be >= 0")
    if float(X.sum(1).min()) <= 0:
        raise ValueError("a row of the precomputed affinity matrix sums to 0 (an isolated sample); add self-loops")


def _subsample_index(n: int, max_n, rng) -> np.ndarray | None:
    if max_n is None or n <= max_n:
        return None
    return np.sort(rng.choice(n, size=max_n, replace=False))


def _take2(G, idx):
    """Square submatrix G[idx][:, idx] (NumPy or torch)."""
    if is_torch(G):
        import torch

        i = torch.as_tensor(idx, device=G.device)
        return G[i][:, i]
    return G[np.ix_(idx, idx)]


# ----------------------------------------------------------------------------------------------
# the computation
# ----------------------------------------------------------------------------------------------
def _affinity(X, idx, kernel: str, sigma, what: str):
    """``(G, sigma)``: the affinity of the samples at ``idx`` (all for ``None``) and its bandwidth.

    The Gaussian affinity exp(-d^2 / (2 sigma^2)) with one bandwidth, or the submatrix of a
    precomputed (already validated) matrix, with bandwidth ``None``. A fixed bandwidth that
    makes the kernel the identity (every off-diagonal affinity underflows to 0) or all ones
    raises a ``ValueError``: DSE would then be log n or 0 whatever the data.
    """
    if kernel == "precomputed":
        return (X if idx is None else _take2(X, idx)), None
    return gaussian_gram(take_rows(X, idx), sigma, what, degenerate="raise")


def _dse_of_affinity(G, t: float, reference: bool, inplace: bool = False) -> float:
    """DSE (nats) of the diffusion operator built from affinity G (overwritten if ``inplace``)."""
    n = G.shape[0]
    if n == 1:
        return 0.0
    tamed = _tame(G)
    if tamed is not G:
        G, inplace = tamed, True
    deg = G.sum(1)
    if float(deg.min()) <= 0:
        raise ValueError("an affinity row sums to 0 (an isolated sample); the diffusion operator is undefined")
    r = 1.0 / deg**0.5
    K = G if inplace else G.clone() if is_torch(G) else G.copy()
    K *= r[:, None]
    K *= r[None, :]  # D^-1/2 G D^-1/2: symmetric, eigenvalues of D^-1 G
    lam = np.abs(eigvalsh(K, "the diffusion operator")) ** t
    p = lam / lam.sum()
    if reference:  # as the reference package: machine epsilon added, not renormalised
        p = p + EPS
    return shannon(p)


def diffusion_spectral_entropy(
    Z, *, t=1, kernel="gaussian", sigma=None, preset=None, max_n=10_000, seed=0, base=None
) -> DiffusionResult:
    r"""Diffusion spectral entropy of a point cloud (Liao et al. 2023).

    With :math:`G_{ij} = \exp(-\lVert z_i - z_j\rVert^2 / 2\sigma^2)`, degrees
    :math:`D = \operatorname{diag}(G\mathbf 1)` and
    :math:`K = D^{-1/2} G D^{-1/2}` (same eigenvalues as the diffusion operator
    :math:`D^{-1}G`), with eigenvalues :math:`\lambda_k`:

    .. math:: p_k = \frac{|\lambda_k|^t}{\sum_j |\lambda_j|^t}, \qquad
              \mathrm{DSE}(Z) = -\sum_k p_k \log p_k

    Parameters
    ----------
    Z : array-like or torch.Tensor of shape (n_samples, n_features)
        The point cloud (e.g. a layer's activations), samples along axis 0; or,
        with ``kernel="precomputed"``, a symmetric non-negative ``(n, n)``
        affinity matrix G. A torch tensor is processed on its own device
        (distances, kernel and ``torch.linalg.eigvalsh`` in float64); only the
        spectrum is copied back.
    t : float, default 1
        Diffusion time. Larger *t* suppresses the small eigenvalues (noise and
        fine structure): at large *t*, K well-separated clusters give log K.
    kernel : {"gaussian", "precomputed"}, default "gaussian"
        ``"precomputed"``: ``Z`` is the affinity matrix G itself.
    sigma : float, "rms" or "median", optional
        Gaussian bandwidth. ``None`` (default): ``"rms"``, unless
        ``preset="liao2023"`` (then 10). ``"rms"``: the root-mean-square
        Euclidean distance between distinct samples,
        :math:`\sigma = \sqrt{2\,\operatorname{tr}\widehat{\mathrm{Cov}}(Z)}`,
        derived once from the sample used. ``"median"``: the median pairwise
        distance. A number: that fixed bandwidth.
    preset : {None, "liao2023"}, default None
        ``"liao2023"`` reproduces the reference algorithm: ``sigma=10`` unless
        given, and :math:`p_k = \lambda_k^t / \sum_j \lambda_j^t + \epsilon`
        (machine epsilon, not renormalised). The reference reports bits: pass
        ``base=2`` to compare.
    max_n : int or None, default 10000
        If there are more samples, a random subset of ``max_n`` (drawn with
        ``seed``, so the value is reproducible) is used, as in the reference;
        ``None`` uses every sample. Cost: one ``n x n`` eigenproblem,
        :math:`O(n^3)`. Measured on one core of a 2-core VM: 0.08 s at
        n = 1,000, 0.46 s at 2,000, 10 s at 5,000, about two minutes at
        10,000 (14 s on a 16-core host, under a second for a CUDA tensor on an
        H200). Above n = 5,000 on the CPU a ``UserWarning`` gives the expected
        time and suggests ``max_n=2000``.
    seed : int or numpy.random.Generator, default 0
        Seed of the subsampling.
    base : float, optional
        Logarithm base; ``None`` gives nats, ``2`` bits.

    Raises
    ------
    ValueError
        For a fixed ``sigma`` so small that every off-diagonal affinity
        underflows to 0 (the kernel is the identity: DSE would be log n
        whatever the data), or so large that every affinity rounds to 1
        (DSE 0 whatever the data); the message gives the distances between
        samples and the default (data-derived) bandwidth.

    Warns
    -----
    UserWarning
        When the eigenproblem has more than 5,000 samples on the CPU (see
        ``max_n``), and when all samples are identical.

    Returns
    -------
    DiffusionResult
        A ``float`` (the DSE, between 0 and ``log n``) with attributes
        ``sigma`` (the bandwidth used), ``t``, ``n_samples``, ``kernel``,
        ``preset``, ``base`` and a ``describe()`` method. The value is
        meaningless without its bandwidth: report both.

    Notes
    -----
    *Why the default bandwidth.* A fixed :math:`\sigma` ties the value to the
    data's units: with :math:`\sigma = 10`, data in :math:`[0,1]^{10}` give
    about 0.1 bits, and 64-dimensional unit Gaussians approach
    :math:`\log_2 n`. The default derives :math:`\sigma` from the data, so DSE
    is invariant to rescaling, translating and rotating ``Z``. The RMS distance
    was chosen over the median because off-manifold noise enters the kernel
    through :math:`\exp(-\lVert\text{noise}\rVert^2/2\sigma^2)`, so the
    noise floor of the spectrum stays fixed when :math:`\sigma^2` tracks the
    total variance; the median distance depends on the shape of the distance
    distribution and, for Gaussian data, lets that floor drift with the
    intrinsic dimension (in our checks DSE then *fell* with dimension for
    noisy linear Gaussian manifolds, as it does with per-point kNN bandwidths
    at t = 1). With the default, DSE of noisy data on a d-dimensional manifold
    rises with d. The RMS distance is sensitive to outliers: one far outlier
    widens the kernel for every point; pass ``sigma="median"`` or a number then.

    *Units.* The samples are centred and rescaled by an exact power of two
    before distances are squared, so the default bandwidth gives the same value
    for data at any scale float64 can hold (1e-200 or 1e200 included), and a
    fixed bandwidth is applied exactly, without the overflow of
    :math:`\lVert z_i - z_j\rVert^2`.

    *Scale of the value.* DSE grows with n (at most :math:`\log n`); compare
    values at equal n and equal bandwidth rule. At t = 1 small eigenvalues
    (noise) carry much of the entropy; larger t focuses on coarse structure.

    References
    ----------
    D. Liao, C. Liu, B. W. Christensen, A. Tong, G. Huguet, G. Wolf,
    M. Nickel, I. Adelstein, S. Krishnaswamy, "Assessing neural network
    representations during training using noise-resilient diffusion spectral
    entropy", ICML 2023 TAG-ML workshop; CISS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.diffusion import diffusion_spectral_entropy
    >>> square = [[0, 0], [0, 1], [1, 0], [1, 1]]
    >>> dse = diffusion_spectral_entropy(square, sigma=1, preset="liao2023", base=2)
    >>> round(dse, 10)
    1.4306983334
    >>> dse.describe()
    '1.4307 log base 2 (sigma=1, t=1, n=4, preset=liao2023)'
    >>> round(diffusion_spectral_entropy(np.arange(10.0), sigma=3, t=3, preset="liao2023", base=2), 10)
    0.6629419221
    """
    t, sigma, max_n = _check_common(t, kernel, sigma, preset, max_n)
    rng = check_rng(seed)
    X = as_matrix(Z, "Z")
    idx = _subsample_index(X.shape[0], max_n, rng)
    n_used = X.shape[0] if idx is None else idx.size
    _warn_if_slow(X, float(n_used) ** 3, X.shape[0], max_n, "diffusion_spectral_entropy")
    if kernel == "precomputed":
        _check_affinity(X)
    G, s = _affinity(X, idx, kernel, sigma, "diffusion_spectral_entropy")
    h = _dse_of_affinity(G, t, reference=preset == "liao2023", inplace=G is not X)
    return DiffusionResult(
        to_base(h, base), sigma=s, t=t, n_samples=int(G.shape[0]), kernel=kernel, preset=preset, base=base
    )


def _dsmi_labels(y, n_bins: int, discrete, rng) -> np.ndarray:
    """Class codes of the reference variable: labels as they are, continuous values binned or clustered."""
    if discrete not in ("auto", True, False):
        raise ValueError(f"discrete must be 'auto', True or False; got {discrete!r}")
    arr = _to_numpy(y, "y")
    if discrete == "auto":
        is_float = arr.dtype.kind == "f"
        flat = arr.reshape(len(arr), -1) if arr.ndim else arr
        discrete = not is_float or (flat.size > 0 and len(np.unique(flat, axis=0)) <= n_bins)
    if discrete:
        return as_labels(arr, "y")
    Y = as_samples(arr, "y")
    if Y.shape[1] == 1:
        return bin_codes(Y, n_bins, "uniform")
    from scipy.cluster.vq import kmeans2

    Ys = Y / np.where(Y.std(0) > 0, Y.std(0), 1.0)
    _, codes = kmeans2(Ys, n_bins, seed=rng, minit="++")
    return np.unique(codes, return_inverse=True)[1].reshape(-1).astype(np.int64)


def diffusion_spectral_mutual_information(
    Z,
    y,
    *,
    t=1,
    kernel="gaussian",
    sigma=None,
    preset=None,
    n_draws=5,
    y_bins=10,
    discrete="auto",
    max_n=10_000,
    seed=0,
    base=None,
) -> DiffusionResult:
    r"""Diffusion spectral mutual information between a point cloud and a reference (Liao et al. 2023).

    For discrete *y* with classes *b* of :math:`n_b` samples and
    :math:`p(b) = n_b / n`:

    .. math:: \mathrm{DSMI}(Z; Y) = \sum_b p(b)\,\Big[\,
              \overline{\mathrm{DSE}}(Z_{\text{random } n_b}) - \mathrm{DSE}(Z \mid Y=b)\Big]

    where :math:`\overline{\mathrm{DSE}}(Z_{\text{random } n_b})` is the DSE of
    a random subset of :math:`n_b` samples (any class), averaged over
    ``n_draws`` subsets. Comparing each class with a random subset of the same
    size cancels the growth of DSE with the number of samples.

    **One affinity matrix** is built for the whole sample, with one bandwidth
    (see :func:`diffusion_spectral_entropy`), and every class-conditional and
    random-subset DSE uses its submatrix. Re-deriving the bandwidth per class
    would rescale each class to look like the whole and make DSMI meaningless.

    Parameters
    ----------
    Z : array-like or torch.Tensor of shape (n_samples, n_features)
        The point cloud (or an ``(n, n)`` affinity with ``kernel="precomputed"``).
    y : array-like of shape (n_samples,) or (n_samples, n_y)
        The reference: class labels, or continuous values. Continuous 1-D *y*
        is cut into ``y_bins`` equal-width bins; continuous multi-dimensional
        *y* is clustered into ``y_bins`` clusters by k-means (columns scaled to
        unit variance, seeded). With ``discrete="auto"``, integer, boolean and
        string *y*, and float *y* with at most ``y_bins`` distinct values, are
        labels.
    t, kernel, sigma, preset, max_n, seed
        As in :func:`diffusion_spectral_entropy`. Subsampling keeps *Z* and *y*
        paired; ``seed`` also drives the random subsets.
    n_draws : int, default 5
        Random subsets per class for the unconditional term.
    y_bins : int, default 10
        Bins (1-D) or clusters (multi-dimensional) for continuous *y*.
    discrete : {"auto", True, False}, default "auto"
        Treat *y* as labels?
    base : float, optional
        Logarithm base; ``None`` gives nats, ``2`` bits.

    Returns
    -------
    DiffusionResult
        A ``float`` with the bandwidth used as ``.sigma`` (see
        :class:`DiffusionResult`). Near 0 (either sign) when *Z* does not
        depend on *y*; positive when classes occupy smaller parts of the
        manifold than random subsets of the same size.

    Notes
    -----
    Cost: ``n_draws + 1`` eigenproblems of size :math:`n_b` per class
    (:math:`(n_\text{draws}+1)\sum_b n_b^3`), cheaper than one DSE of the
    whole sample when there are several classes; with the defaults and one
    class it is six. The same ``UserWarning`` as for
    :func:`diffusion_spectral_entropy` is issued when this exceeds one
    5,000-sample eigenproblem on the CPU. Classes of one sample contribute 0.

    References
    ----------
    D. Liao, C. Liu, B. W. Christensen, A. Tong, G. Huguet, G. Wolf,
    M. Nickel, I. Adelstein, S. Krishnaswamy, ICML 2023 TAG-ML workshop;
    CISS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.diffusion import diffusion_spectral_mutual_information as dsmi
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 300)
    >>> Z = 3 * np.eye(5)[y] + rng.standard_normal((300, 5))     # three clusters
    >>> mi = dsmi(Z, y, base=2)
    >>> round(mi, 2), round(mi.sigma, 2)                          # bits, bandwidth
    (0.75, 4.7)
    >>> abs(dsmi(Z, rng.permutation(y), base=2)) < 0.05           # shuffled labels
    True
    """
    t, sigma, max_n = _check_common(t, kernel, sigma, preset, max_n)
    n_draws = check_positive_int(n_draws, "n_draws")
    y_bins = check_positive_int(y_bins, "y_bins", minimum=2)
    rng = check_rng(seed)
    X = as_matrix(Z, "Z")
    labels = _dsmi_labels(y, y_bins, discrete, rng)
    n = check_same_n(Z=X, y=labels)
    if kernel == "precomputed":
        _check_affinity(X)
    idx = _subsample_index(n, max_n, rng)
    if idx is not None:
        labels = labels[idx]
    _, counts = np.unique(labels, return_counts=True)
    cost = float((counts.astype(np.float64) ** 3).sum()) * (n_draws + 1)  # one conditional, n_draws random per class
    _warn_if_slow(X, cost, n, max_n, "diffusion_spectral_mutual_information")
    G, s = _affinity(X, idx, kernel, sigma, "diffusion_spectral_mutual_information")
    n = G.shape[0]
    reference = preset == "liao2023"
    classes, counts = np.unique(labels, return_counts=True)
    if classes.size == n:
        warn(
            "every sample of y is its own class, so DSMI is 0 by construction; pass labels with "
            "repeated values, or continuous y with discrete=False to bin it")
    total = 0.0
    for c, nb in zip(classes, counts):
        members = np.flatnonzero(labels == c)
        h_cond = _dse_of_affinity(_take2(G, members), t, reference)
        h_rand = 0.0
        for _ in range(n_draws):
            h_rand += _dse_of_affinity(_take2(G, np.sort(rng.choice(n, size=nb, replace=False))), t, reference)
        total += (nb / n) * (h_rand / n_draws - h_cond)
    return DiffusionResult(to_base(total, base), sigma=s, t=t, n_samples=int(n), kernel=kernel, preset=preset, base=base)
