r"""Mutual information and conditional mutual information estimators.

kNN (Kraskov--Stögbauer--Grassberger, Frenzel--Pompe), Gaussian
(log-determinants), discrete (plug-in), binned, and the mixed
discrete--continuous kNN estimators of Ross (2014) and Gao et al. (2017).

Every estimator returns nats unless ``base`` is given (``base=2`` gives bits).
"""

from __future__ import annotations

import math
import numbers
from functools import partial

import numpy as np
from scipy.special import digamma

from . import _neighbors, _torch_neighbors
from ._registry import MethodRegistry
from ._validation import (
    as_labels,
    check_k,
    check_same_n,
    standardize_columns,
    to_base,
    warn,
)
from ._discrete import bin_codes, check_correction, cmi_codes, h_codes, joint_codes, labels
from ._gaussian import gaussian_cmi, gaussian_logdet
from ._neighbors import RepeatedPointsError  # noqa: F401 (raised by the kNN estimators; importable here)

__all__ = [
    "mutual_information",
    "mi_ksg",
    "mi_gaussian",
    "mi_discrete",
    "mi_binned",
    "mi_mixed",
    "mi_ross",
    "conditional_mutual_information",
    "cmi_ksg",
    "cmi_gaussian",
    "cmi_discrete",
    "MI_METHODS",
    "CMI_METHODS",
]

#: Method names and aliases of :func:`mutual_information`
#: (``MI_METHODS.names``, ``MI_METHODS.aliases``).
#:
#: :meta hide-value:
MI_METHODS = MethodRegistry("mutual_information")
#: Method names and aliases of :func:`conditional_mutual_information`
#: (``CMI_METHODS.names``, ``CMI_METHODS.aliases``).
#:
#: :meta hide-value:
CMI_METHODS = MethodRegistry("conditional_mutual_information")


def _ksg(X: np.ndarray, Y: np.ndarray, k: int, variant: int) -> float:
    """KSG estimator 1 or 2 on prepared arrays (nats)."""
    return _neighbors.ksg_terms(X, Y, k, variant)[0]


@MI_METHODS.register("ksg", "kraskov", "knn")
def mi_ksg(x, y, *, k=4, variant=1, standardize=True, noise=0.0, seed=None, base=None) -> float:
    r"""Kraskov--Stögbauer--Grassberger kNN estimate of mutual information.

    Estimator 1 (default), with :math:`\varepsilon_i` the max-norm distance from
    sample *i* to its *k*-th neighbour in the joint space and :math:`n_{x,i}`,
    :math:`n_{y,i}` the numbers of other samples strictly closer than
    :math:`\varepsilon_i` in each marginal:

    .. math:: \hat I_1 = \psi(k) + \psi(N) - \langle \psi(n_x + 1) + \psi(n_y + 1) \rangle

    Estimator 2 (``variant=2``), with per-marginal radii (the largest marginal
    distance among the *k* joint neighbours) and counts :math:`\le` those radii:

    .. math:: \hat I_2 = \psi(k) - 1/k + \psi(N) - \langle \psi(n_x) + \psi(n_y) \rangle

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_x_features)
    y : array-like of shape (n_samples,) or (n_samples, n_y_features)
        Continuous samples, paired by row.
    k : int, default 4
        Neighbour order (JIDT's default; scikit-learn uses 3).
    variant : {1, 2}, default 1
        KSG estimator 1 or 2.
    standardize : bool, default True
        Divide every column by its standard deviation first. The max-norm mixes
        the variables' scales, so this makes the estimate independent of units.
    noise : float, default 0.0
        Relative size of seeded Gaussian jitter added after standardising, to
        break ties (``1e-10`` is customary; JIDT adds 1e-8). Without it, heavy
        ties trigger a ``UserWarning``, and repeated points in the joint space
        (k-th neighbour at distance 0) a ``ValueError``. Jitter does not make
        discrete data continuous: use ``method="mixed"`` for those.
    seed : int or numpy.random.Generator, optional
        Seed for ``noise``.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        MI in nats (or ``base`` units). Not clipped: small negative values
        happen for independent variables and are kept (clipping biases averages);
        an estimate below ``-max(0.1, 3 SE)`` nats (SE: standard error of the
        per-sample terms) gives a ``UserWarning``, since it is negative beyond
        estimator noise.

    Notes
    -----
    Data at extreme scales (e.g. 1e±155 to 1e±300, where variances and squared
    distances overflow or underflow) are divided by powers of two first, per
    column with ``standardize=True`` and jointly otherwise; the result equals
    that of the data at an ordinary scale.

    Neighbour search: box-assisted (grid) numba kernels in up to 3 joint dimensions,
    exhaustive search for small samples, a kd-tree otherwise; marginal counts in
    1-D by binary search. Counts are exact (strict inequalities as KSG define them).
    KSG underestimates strong dependence in high dimensions (about -0.08 nats for
    a 4-vs-4-dimensional Gaussian with MI 0.89 at N = 10^4).

    References
    ----------
    A. Kraskov, H. Stögbauer, P. Grassberger, "Estimating mutual information",
    Phys. Rev. E 69, 066138 (2004).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import mi_ksg
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(10000)
    >>> y = 0.9 * x + np.sqrt(1 - 0.81) * rng.standard_normal(10000)
    >>> round(mi_ksg(x, y), 2)   # closed form: -0.5 ln(1 - 0.81) = 0.83
    0.83
    """
    if variant not in (1, 2) or isinstance(variant, bool):
        raise ValueError(f"variant must be 1 or 2 (KSG estimator 1 or 2); got {variant!r}")
    dev = _torch_neighbors.search_device(x, y)  # tensors on an accelerator: search there
    arrs, n, k = _neighbors.prepare_scaled(
        {"x": x, "y": y}, k=k, standardize=standardize, noise=noise, seed=seed, what="KSG MI"
    )
    if dev is None:
        mi, terms = _neighbors.ksg_terms(arrs["x"], arrs["y"], k, variant)
    else:
        mi, terms = _torch_neighbors.ksg_terms(arrs["x"], arrs["y"], k, variant, dev)
    _neighbors.warn_negative(mi, terms, "the KSG MI estimate", _neighbors.KSG_NEG_CAUSES)
    return to_base(mi, base)


# ----------------------------------------------------------------------------------------------
# Gaussian
# ----------------------------------------------------------------------------------------------
@MI_METHODS.register("gaussian", "gauss", "normal")
def mi_gaussian(x, y, *, bias_correction=False, base=None) -> float:
    r"""Mutual information of jointly Gaussian variables from log-determinants.

    .. math:: I(X;Y) = \tfrac12 \left[\log\det\Sigma_X + \log\det\Sigma_Y - \log\det\Sigma_{XY}\right]

    Parameters
    ----------
    x, y : array-like of shape (n_samples,) or (n_samples, n_features)
        Samples, paired by row; ``n_samples`` must exceed the joint dimension.
    bias_correction : bool, default False
        Use unbiased log-determinants under Gaussian sampling (Misra et al. 2005).
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        MI in nats (or ``base`` units). For non-Gaussian data this is the MI of
        the Gaussian with the same covariance: it sees linear dependence only.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import mi_gaussian
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(100000)
    >>> y = 0.6 * x + 0.8 * rng.standard_normal(100000)
    >>> round(mi_gaussian(x, y), 2)   # -0.5 ln(1 - 0.36) = 0.22
    0.22
    """
    # per-column powers of two cancel from the MI: rescaling first keeps the log-determinants O(1)
    sc = _neighbors.rescale_inputs({"x": x, "y": y}, True)
    X, Y = sc["x"], sc["y"]
    check_same_n(x=X, y=Y)
    XY = np.hstack([X, Y])
    bc = bias_correction
    mi = 0.5 * (
        gaussian_logdet(X, "x", bc) + gaussian_logdet(Y, "y", bc) - gaussian_logdet(XY, "(x, y)", bc)
    )
    return to_base(mi, base)


# ----------------------------------------------------------------------------------------------
# discrete and binned
# ----------------------------------------------------------------------------------------------
@MI_METHODS.register("discrete", "plugin", "plug_in")
def mi_discrete(x, y, *, correction=None, base=None) -> float:
    r"""Plug-in mutual information of discrete variables.

    .. math:: \hat I = \hat H(X) + \hat H(Y) - \hat H(X, Y)

    Parameters
    ----------
    x, y : array-like of shape (n_samples,) or (n_samples, n_features)
        Symbols (integers, booleans, strings); each distinct row is one symbol.
    correction : {None, "miller_madow"}, default None
        Apply the Miller--Madow correction to each entropy term.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        MI in nats (or ``base`` units); the plug-in value is biased upwards by
        about :math:`(m_{XY} - m_X - m_Y + 1)/(2N)` nats for few samples per cell.

    Examples
    --------
    >>> from estimators import mi_discrete
    >>> mi_discrete([0, 0, 1, 1], [0, 0, 1, 1], base=2)
    1.0
    >>> mi_discrete([0, 0, 1, 1], [0, 1, 0, 1])
    0.0
    """
    check_correction(correction)
    cx = as_labels(x, "x")
    cy = as_labels(y, "y")
    check_same_n(x=cx, y=cy)
    mi = h_codes(cx, correction) + h_codes(cy, correction) - h_codes(joint_codes(cx, cy), correction)
    return to_base(max(mi, 0.0) if correction is None else mi, base)


def _auto_bins(X: np.ndarray, Y: np.ndarray) -> int:
    """Bins per dimension: Hacine-Gharbi et al. (2012) for scalar pairs, Cellucci et al. (2005) else."""
    n = X.shape[0]
    if X.shape[1] == 1 and Y.shape[1] == 1:
        sx, sy = X[:, 0].std(), Y[:, 0].std()
        r = 0.0 if sx == 0 or sy == 0 else float(np.corrcoef(X[:, 0], Y[:, 0])[0, 1])
        r2 = min(r * r, 1.0 - 1e-12)
        b = round(math.sqrt(1.0 + math.sqrt(1.0 + 24.0 * n / (1.0 - r2))) / math.sqrt(2.0))
    else:
        b = math.floor((n / 5.0) ** (1.0 / (X.shape[1] + Y.shape[1])))
    return int(max(2, min(b, math.isqrt(n))))


@MI_METHODS.register("binned", "histogram", "bins")
def mi_binned(x, y, *, bins="auto", strategy="uniform", correction=None, base=None) -> float:
    r"""Mutual information of continuous variables after binning each dimension.

    Each column is cut into ``bins`` bins and the plug-in MI of the bin indices
    is returned (:func:`mi_discrete`).

    Parameters
    ----------
    x, y : array-like of shape (n_samples,) or (n_samples, n_features)
        Continuous samples, paired by row.
    bins : int or "auto", default "auto"
        Bins per dimension. ``"auto"``: for scalar x and y the rule of
        Hacine-Gharbi et al. (2012) for MI,
        :math:`B = \mathrm{round}\big(\tfrac{1}{\sqrt2}\sqrt{1 + \sqrt{1 + 24N/(1-\hat\rho^2)}}\big)`,
        with :math:`\hat\rho` the sample correlation (more bins for stronger
        dependence); otherwise :math:`B = \lfloor (N/5)^{1/(d_x+d_y)} \rfloor`,
        at least five expected samples per joint cell under independence
        (Cellucci et al. 2005). Always between 2 and :math:`\sqrt N`.
    strategy : {"uniform", "quantile"}, default "uniform"
        Equal-width bins over each column's range, or equal-count bins
        (invariant to monotone transforms of each column).
    correction : {None, "miller_madow"}, default None
        Miller--Madow correction of each entropy term.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        MI in nats (or ``base`` units). Binning loses information (bias down)
        while few samples per cell inflate the plug-in value (bias up); the
        result depends on ``bins``.

    References
    ----------
    A. Hacine-Gharbi, P. Ravier, R. Harba, T. Mohamadi, Pattern Recognit. Lett.
    33 (2012) 1302--1308. C. J. Cellucci, A. M. Albano, P. E. Rapp, Phys. Rev. E
    71, 066208 (2005).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import mi_binned
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(100000)
    >>> y = 0.9 * x + np.sqrt(1 - 0.81) * rng.standard_normal(100000)
    >>> round(mi_binned(x, y), 1)   # closed form 0.83
    0.8
    """
    check_correction(correction)
    if strategy not in ("uniform", "quantile"):
        raise ValueError(f"strategy must be 'uniform' or 'quantile'; got {strategy!r}")
    sc = _neighbors.rescale_inputs({"x": x, "y": y}, True)  # binning is scale-free; avoids overflow of ranges
    X, Y = sc["x"], sc["y"]
    n = check_same_n(x=X, y=Y)
    if isinstance(bins, str):
        if bins != "auto":
            raise ValueError(f"bins must be a positive integer or 'auto'; got {bins!r}")
        b = _auto_bins(X, Y)
    elif isinstance(bins, numbers.Integral) and not isinstance(bins, bool) and bins >= 1:
        b = int(bins)
    else:
        err = ValueError if isinstance(bins, numbers.Integral) and not isinstance(bins, bool) else TypeError
        raise err(f"bins must be a positive integer or 'auto'; got {bins!r}")
    cells = float(b) ** (X.shape[1] + Y.shape[1])
    if cells > n:
        warn(
            f"binned MI: {b} bins per dimension give {cells:.3g} joint cells for {n} samples; "
            "the plug-in estimate is inflated when cells outnumber samples. Use fewer bins, "
            "correction='miller_madow', or method='ksg'"
        )
    cx = bin_codes(X, b, strategy)
    cy = bin_codes(Y, b, strategy)
    mi = h_codes(cx, correction) + h_codes(cy, correction) - h_codes(joint_codes(cx, cy), correction)
    return to_base(mi, base)


# ----------------------------------------------------------------------------------------------
# mixed discrete-continuous
# ----------------------------------------------------------------------------------------------
@MI_METHODS.register("mixed", "gao")
def mi_mixed(x, y, *, k=4, form="ksg", standardize=True, base=None) -> float:
    r"""kNN mutual information for discrete, continuous or mixed variables.

    Gao et al. (2017) extend KSG to data with repeated values: with
    :math:`\rho_i` the max-norm distance to the *k*-th joint neighbour, a
    sample whose :math:`\rho_i = 0` (it has at least *k* exact repeats) uses
    :math:`\tilde k_i` = its number of exact joint repeats and counts repeats
    in each marginal; other samples use :math:`\tilde k_i = k`.

    ``form="ksg"`` (default) applies that rule to KSG estimator 1:

    .. math:: \xi_i = \begin{cases}
              \psi(k) + \psi(N) - \psi(n^{<}_{x,i}+1) - \psi(n^{<}_{y,i}+1) & \rho_i > 0 \\
              \psi(\tilde k_i) + \psi(N) - \psi(n^{=}_{x,i}) - \psi(n^{=}_{y,i}) & \rho_i = 0
              \end{cases}

    with strict counts :math:`n^{<}` (as in KSG) and repeat counts
    :math:`n^{=}` (self excluded). On continuous data it equals
    :func:`mi_ksg` (to rounding); on discrete data it approaches the plug-in MI.

    ``form="gao2017"`` is the published formula,
    :math:`\xi_i = \psi(\tilde k_i) + \log N - \log(n_{x,i}+1) - \log(n_{y,i}+1)`
    with counts :math:`\le \rho_i`. It is consistent only as k grows: at
    fixed k its counts include the *k*-th neighbour, which biases it by
    :math:`\psi(k) - \log(k+1)` (about -0.35 nats at k = 4) wherever a
    marginal is as tight as the joint space, e.g. continuous x with class labels y.

    The estimate is :math:`\hat I = \frac1N\sum_i \xi_i`.

    Parameters
    ----------
    x, y : array-like of shape (n_samples,) or (n_samples, n_features)
        Numeric samples; any mix of discrete (repeated) and continuous values.
    k : int, default 4
        Neighbour order.
    form : {"ksg", "gao2017"}, default "ksg"
        The estimator's form (see above).
    standardize : bool, default True
        Divide each column by its standard deviation first.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        MI in nats (or ``base`` units).

    References
    ----------
    W. Gao, S. Kannan, S. Oh, P. Viswanath, "Estimating mutual information for
    discrete-continuous mixtures", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import mi_mixed
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 5000)
    >>> x = y + 2 * rng.random(5000)      # U(y, y + 2): MI = 0.5 ln 2 = 0.35
    >>> round(mi_mixed(x, y), 2)
    0.35
    """
    if form not in ("ksg", "gao2017"):
        raise ValueError(f"form must be 'ksg' or 'gao2017'; got {form!r}")
    sc = _neighbors.rescale_inputs({"x": x, "y": y}, standardize)
    X, Y = sc["x"], sc["y"]
    n = check_same_n(x=X, y=Y)
    k = check_k(k, n)
    if standardize:
        X, Y = standardize_columns(X), standardize_columns(Y)
    X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)
    J = np.ascontiguousarray(np.hstack([X, Y]))
    rho = _neighbors.kth_distance(J, k, "chebyshev")
    zero = rho == 0
    k_tilde = np.full(n, float(k))
    if zero.any():
        k_tilde[zero] = _neighbors.count_within(J, np.zeros(n), strict=False)[zero]
    if form == "gao2017":
        nx = _neighbors.count_within(X, rho, strict=False)
        ny = _neighbors.count_within(Y, rho, strict=False)
        xi = digamma(k_tilde) + math.log(n) - np.log(nx + 1.0) - np.log(ny + 1.0)
    else:
        nx = _neighbors.count_within(X, rho, strict=True) + 1.0
        ny = _neighbors.count_within(Y, rho, strict=True) + 1.0
        if zero.any():
            nx[zero] = _neighbors.count_within(X, np.zeros(n), strict=False)[zero]
            ny[zero] = _neighbors.count_within(Y, np.zeros(n), strict=False)[zero]
        xi = digamma(k_tilde) + digamma(n) - digamma(nx) - digamma(ny)
    mi = float(np.mean(xi))
    _neighbors.warn_negative(
        mi, xi, "the mixed kNN MI estimate",
        "Likely causes: too few samples for the dimension, or (form='gao2017') the fixed-k bias "
        "described in the docstring; compare against shuffled data",
    )
    return to_base(mi, base)


@MI_METHODS.register("ross", "labels", "cd", "knn_discrete")
def mi_ross(x, y, *, k=4, metric="chebyshev", standardize=True, noise=0.0, seed=None, base=None) -> float:
    r"""kNN mutual information between continuous ``x`` and discrete labels ``y`` (Ross 2014).

    For each sample *i* of class :math:`c_i` with :math:`N_{c_i}` members,
    :math:`d_i` is the distance to its :math:`k_i`-th neighbour within the class
    (:math:`k_i = \min(k, N_{c_i}-1)`) and :math:`m_i` the number of samples of
    any class within :math:`d_i` (:math:`\le`, self excluded):

    .. math:: \hat I = \psi(N) - \langle\psi(N_{c_i})\rangle + \langle\psi(k_i)\rangle - \langle\psi(m_i)\rangle

    This is the estimator to use for MI between activations and class labels.
    Classes with a single sample carry no neighbour information and are
    dropped (with a warning), as scikit-learn's ``mutual_info_classif`` does.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_features)
        Continuous samples (e.g. a layer's activations).
    y : array-like of shape (n_samples,)
        Labels (integers, strings, booleans).
    k : int, default 4
        Neighbour order within each class.
    metric : {"chebyshev", "euclidean"}, default "chebyshev"
        Norm in x space. The max-norm matches KSG; Euclidean is common for
        high-dimensional activations.
    standardize : bool, default True
        Divide each column of x by its standard deviation first.
    noise, seed
        Seeded jitter against ties, as in :func:`mi_ksg`.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        MI in nats (or ``base`` units), at most about ``log(number of classes)``.
        An estimate below ``-max(0.1, 3 SE)`` nats gives a ``UserWarning``
        (negative beyond estimator noise).

    Raises
    ------
    ValueError
        If rows of x repeat so often that, for some sample, the k-th neighbour
        within its class is at distance 0 (constant x, dead ReLU units, many
        all-zero rows), where the estimator is undefined (it used to return
        -4.6 nats for a constant x). Pass ``noise=1e-10`` (seeded jitter), drop
        constant or dead features, or use ``method="mixed"`` for genuinely
        discrete x.

    References
    ----------
    B. C. Ross, "Mutual information between discrete and continuous data sets",
    PLoS ONE 9(2): e87357 (2014).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import mi_ross
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 5000)
    >>> x = y + 2 * rng.random(5000)      # U(y, y + 2): MI = 0.5 ln 2 = 0.35
    >>> round(mi_ross(x, y), 2)
    0.35
    """
    dev = _torch_neighbors.search_device(x)  # a tensor on an accelerator: search there
    labels = as_labels(y, "y")
    arrs, n, k = _neighbors.prepare_scaled(
        {"x": x}, k=k, standardize=standardize, noise=noise, seed=seed, what="kNN MI with labels"
    )
    if dev is None:
        knn_radius, count = _neighbors.kth_distance, _neighbors.count_within
    else:
        knn_radius = partial(_torch_neighbors.kth_distance_np, device=dev)
        count = partial(_torch_neighbors.count_within_np, device=dev)
    X = arrs["x"]
    check_same_n(x=X, y=labels)
    class_n = np.bincount(labels)[labels]
    keep = class_n > 1
    if not keep.all():
        warn(
            f"{int((~keep).sum())} sample(s) are the only member of their class and were "
            "dropped: a single sample gives no within-class neighbour"
        )
        X, labels, class_n = X[keep], labels[keep], class_n[keep]
        n = X.shape[0]
        if n < 2:
            raise ValueError("y has no class with two or more samples; MI cannot be estimated")
    X = np.ascontiguousarray(X)
    radius = np.empty(n)
    k_all = np.empty(n)
    for c in np.unique(labels):
        mask = labels == c
        kc = min(k, int(mask.sum()) - 1)
        radius[mask] = knn_radius(np.ascontiguousarray(X[mask]), kc, metric)
        k_all[mask] = kc
    zero = radius <= 0
    if zero.any():
        n_rep = n - int(np.unique(X, axis=0).shape[0])
        raise ValueError(
            f"x has repeated rows: {n_rep} of its {n} rows repeat an earlier row, so for "
            f"{int(zero.sum())} sample(s) the k-th neighbour (k={k}) within their class is at "
            "distance 0, where Ross's estimator is undefined (it returns large negative values "
            "there). Constant or dead features cause this (e.g. ReLU units that output 0 for "
            "most inputs): drop them, or pass noise=1e-10 (seeded jitter, seed=0) to break the "
            "ties. For x with genuinely discrete values use method='mixed' (mi_mixed)"
        )
    m = count(X, radius, strict=False, metric=metric)
    mi = float(digamma(n) - np.mean(digamma(class_n)) + np.mean(digamma(k_all)) - np.mean(digamma(m)))
    terms = digamma(k_all) - digamma(m) - digamma(class_n)
    _neighbors.warn_negative(
        mi, terms, "the kNN MI estimate between x and the labels",
        "Likely causes: many repeated values in x (pass noise=1e-10 or drop constant features), "
        "too few samples per class for the dimension of x; compare against shuffled labels",
    )
    return to_base(mi, base)


def mutual_information(x, y, method="ksg", *, base=None, **kwargs) -> float:
    r"""Mutual information I(X; Y) between paired samples, in nats by default.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_x_features)
    y : array-like of shape (n_samples,) or (n_samples, n_y_features)
        Paired samples along axis 0 (lists, NumPy arrays or torch tensors).
    method : str or callable, default "ksg"
        ``"ksg"`` (Kraskov estimator 1, max-norm; ``variant=2`` for estimator 2),
        ``"gaussian"``, ``"discrete"``, ``"binned"``, ``"mixed"`` (Gao et al.
        2017), ``"ross"`` (continuous x, discrete labels y), the neural bounds
        ``"mine"``, ``"nwj"``, ``"infonce"``, ``"smile"`` (:mod:`estimators.neural`),
        ``"matrix"`` (matrix-based Rényi MI, :mod:`estimators.spectral`) and
        ``"dsmi"`` (diffusion spectral MI with labels y,
        :mod:`estimators.diffusion`); or a callable ``f(x, y, base=..., **kwargs)``.
    base : float, optional
        Logarithm base: ``None`` (nats), ``2`` (bits).
    **kwargs
        Passed to the method (``k=``, ``variant=``, ``bins=``, ...).

    Returns
    -------
    float
        The MI estimate.

    Choosing a method
    -----------------
    * Continuous x and y, low to moderate dimension: ``"ksg"`` (k=4).
    * Continuous x (e.g. activations) and class labels y: ``"ross"``.
    * Data with repeated values or mixed discrete/continuous columns: ``"mixed"``.
    * Symbols on both sides: ``"discrete"`` (``correction="miller_madow"`` when
      cells are sparse).
    * Linear dependence only, or very high dimension with many samples:
      ``"gaussian"`` (exact for Gaussians, a lower bound in spirit otherwise).
    * A quick, assumption-light baseline: ``"binned"`` (depends on the binning).
    * High-dimensional x and y (a layer and its input), where kNN estimators
      fail: the neural bounds; ``"smile"`` or ``"infonce"`` for stability
      (InfoNCE cannot exceed ln(batch size)); transform heavy tails (``np.arcsinh``) first.
    * Representations and labels, robust to noise: ``"dsmi"``; kernel
      (Gram-matrix) dependence without density estimation: ``"matrix"``.

    See Also
    --------
    mi_ksg, mi_gaussian, mi_discrete, mi_binned, mi_mixed, mi_ross,
    conditional_mutual_information

    Examples
    --------
    >>> from estimators import mutual_information
    >>> mutual_information([0, 1, 0, 1], [0, 1, 0, 1], method="discrete", base=2)
    1.0
    """
    return MI_METHODS.call(method, x, y, base=base, **kwargs)


# ----------------------------------------------------------------------------------------------
# conditional mutual information
# ----------------------------------------------------------------------------------------------
@CMI_METHODS.register("ksg", "frenzel_pompe", "fp", "knn")
def cmi_ksg(x, y, z, *, k=4, standardize=True, noise=0.0, seed=None, base=None) -> float:
    r"""Frenzel--Pompe (KSG) kNN estimate of conditional mutual information.

    With :math:`\varepsilon_i` the max-norm distance to the *k*-th neighbour in
    the joint (x, y, z) space and strict counts in the sub-spaces:

    .. math:: \hat I(X;Y|Z) = \psi(k) - \langle \psi(n_{xz}+1) + \psi(n_{yz}+1) - \psi(n_z+1) \rangle

    Parameters
    ----------
    x, y, z : array-like of shape (n_samples,) or (n_samples, n_features)
        Continuous samples, paired by row.
    k : int, default 4
        Neighbour order.
    standardize : bool, default True
        Divide every column by its standard deviation first.
    noise, seed
        Seeded jitter against ties, as in :func:`mi_ksg`.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        CMI in nats (or ``base`` units); may be slightly negative under
        conditional independence.

    References
    ----------
    S. Frenzel and B. Pompe, "Partial mutual information for coupling analysis
    of multivariate time series", Phys. Rev. Lett. 99, 204101 (2007).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import cmi_ksg
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal(5000)
    >>> x = z + rng.standard_normal(5000)
    >>> y = z + rng.standard_normal(5000)
    >>> round(cmi_ksg(x, y, z), 1)   # x and y are independent given z
    0.0
    """
    dev = _torch_neighbors.search_device(x, y, z)  # tensors on an accelerator: search there
    arrs, n, k = _neighbors.prepare_scaled(
        {"x": x, "y": y, "z": z}, k=k, standardize=standardize, noise=noise, seed=seed, what="KSG CMI"
    )
    if dev is None:
        cmi, terms = _neighbors.cmi_ksg_terms(arrs["x"], arrs["y"], arrs["z"], k)
    else:
        cmi, terms = _torch_neighbors.cmi_ksg_terms(arrs["x"], arrs["y"], arrs["z"], k, device=dev)
    _neighbors.warn_negative(cmi, terms, "the KSG CMI estimate", _neighbors.KSG_NEG_CAUSES)
    return to_base(cmi, base)


@CMI_METHODS.register("gaussian", "gauss", "normal")
def cmi_gaussian(x, y, z, *, bias_correction=False, base=None) -> float:
    r"""Conditional mutual information of jointly Gaussian variables.

    .. math:: I(X;Y|Z) = \tfrac12\left[\log\det\Sigma_{XZ} + \log\det\Sigma_{YZ}
              - \log\det\Sigma_{XYZ} - \log\det\Sigma_{Z}\right]

    Parameters
    ----------
    x, y, z : array-like of shape (n_samples,) or (n_samples, n_features)
        Paired samples; ``n_samples`` must exceed the joint dimension.
    bias_correction : bool, default False
        Unbiased log-determinants under Gaussian sampling.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        CMI in nats (or ``base`` units).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators import cmi_gaussian
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal(100000)
    >>> x = z + rng.standard_normal(100000)
    >>> y = x + z + rng.standard_normal(100000)
    >>> round(cmi_gaussian(x, y, z), 2)   # 0.5 ln 2 = 0.35
    0.35
    """
    sc = _neighbors.rescale_inputs({"x": x, "y": y, "z": z}, True)  # powers of two cancel from the CMI
    X, Y, Z = sc["x"], sc["y"], sc["z"]
    check_same_n(x=X, y=Y, z=Z)
    return to_base(gaussian_cmi(X, Y, Z, bias_correction), base)


@CMI_METHODS.register("discrete", "plugin", "plug_in")
def cmi_discrete(x, y, z, *, correction=None, base=None) -> float:
    r"""Plug-in conditional mutual information of discrete variables.

    .. math:: \hat I(X;Y|Z) = \hat H(X,Z) + \hat H(Y,Z) - \hat H(X,Y,Z) - \hat H(Z)

    Parameters
    ----------
    x, y, z : array-like of shape (n_samples,) or (n_samples, n_features)
        Symbols, paired by row.
    correction : {None, "miller_madow"}, default None
        Miller--Madow correction of each entropy term.
    base : float, optional
        Logarithm base; ``None`` gives nats.

    Returns
    -------
    float
        CMI in nats (or ``base`` units).

    Examples
    --------
    >>> from estimators import cmi_discrete
    >>> x = [0, 0, 1, 1]; y = [0, 1, 0, 1]
    >>> z = [0, 1, 1, 0]                     # z = x XOR y
    >>> cmi_discrete(x, y, z, base=2)        # I(x;y) = 0 but I(x;y|z) = 1 bit
    1.0
    """
    check_correction(correction)
    cx, cy, cz = labels(x, "x"), labels(y, "y"), labels(z, "z")
    check_same_n(x=cx, y=cy, z=cz)
    return to_base(cmi_codes(cx, cy, cz, correction), base)


def conditional_mutual_information(x, y, z, method="ksg", *, base=None, **kwargs) -> float:
    r"""Conditional mutual information I(X; Y | Z), in nats by default.

    Parameters
    ----------
    x, y, z : array-like of shape (n_samples,) or (n_samples, n_features)
        Paired samples along axis 0.
    method : str or callable, default "ksg"
        ``"ksg"`` (Frenzel--Pompe), ``"gaussian"``, ``"discrete"``; or a
        callable ``f(x, y, z, base=..., **kwargs)``.
    base : float, optional
        Logarithm base: ``None`` (nats), ``2`` (bits).
    **kwargs
        Passed to the method.

    Returns
    -------
    float
        The CMI estimate.

    Choosing a method
    -----------------
    * Continuous data: ``"ksg"``; its bias grows with the dimension of z.
    * Gaussian or near-Gaussian data, or linear dependence: ``"gaussian"``.
    * Symbols: ``"discrete"``.

    Examples
    --------
    >>> from estimators import conditional_mutual_information
    >>> conditional_mutual_information([0, 0, 1, 1], [0, 1, 0, 1], [0, 1, 1, 0],
    ...                                method="discrete", base=2)
    1.0
    """
    return CMI_METHODS.call(method, x, y, z, base=base, **kwargs)


# methods of mutual_information implemented by other families (imported on first use)
MI_METHODS.declare("matrix", ".spectral:mi_matrix", "matrix_renyi", "renyi_matrix")
MI_METHODS.declare("dsmi", ".diffusion:diffusion_spectral_mutual_information", "diffusion_spectral", "diffusion")
MI_METHODS.declare("mine", ".neural:mi_mine", "dv_ema")
MI_METHODS.declare("nwj", ".neural:mi_nwj", "nguyen_wainwright_jordan")
MI_METHODS.declare("infonce", ".neural:mi_infonce", "nce", "info_nce", "cpc")
MI_METHODS.declare("smile", ".neural:mi_smile")
