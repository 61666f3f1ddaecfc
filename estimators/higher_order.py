r"""Higher-order information: O-information, total correlation, dual total
correlation and S-information of a set of variables (Rosas et al. 2019).

For variables :math:`X = (X_1, \dots, X_p)`, each scalar or a vector, with
:math:`X_{-j}` all variables but :math:`X_j`:

.. math::

    TC(X)  &= \sum_{j=1}^{p} H(X_j) - H(X)                       \\
    DTC(X) &= H(X) - \sum_{j=1}^{p} H(X_j \mid X_{-j})
            = \sum_{j=1}^{p} H(X_{-j}) - (p - 1) H(X)             \\
    \Omega(X) &= TC(X) - DTC(X)
               = (p - 2) H(X) + \sum_{j=1}^{p} \left[H(X_j) - H(X_{-j})\right] \\
    S(X) &= TC(X) + DTC(X) = \sum_{j=1}^{p} I(X_j; X_{-j})

Sign convention, everywhere in this module: **Ω > 0 means the dependencies are
dominated by redundancy** (the same information copied across variables),
**Ω < 0 by synergy** (information held only jointly). Ω of two variables is 0
by definition, so the O-information needs at least three variables; TC, DTC
and S-information need at least two.

Methods: ``"gaussian"`` (log-determinants of one covariance matrix),
``"gaussian_copula"`` (ranks → standard normal marginals, then Gaussian),
``"ksg"`` (Kraskov kNN multi-information) and ``"discrete"`` (plug-in).
:func:`o_information_multiplets` evaluates many subsets of the variables at
once, from one covariance matrix, with batched log-determinants; it lives in
:mod:`estimators.multiplets` and is re-exported here. The computations shared by
both modules (the (TC, DTC) pair of each method) are in
:mod:`estimators._higher_order_kernels`.

Every estimator returns nats unless ``base`` is given (``base=2`` gives bits).
"""

from __future__ import annotations

from ._docs import fill, substitute
from ._higher_order_kernels import discrete_tc_dtc, gaussian_tc_dtc, ksg_tc_dtc
from ._registry import MethodRegistry
from ._validation import to_base
from .multiplets import OInformationMultiplets, o_information_multiplets

__all__ = [
    "o_information",
    "total_correlation",
    "dual_total_correlation",
    "s_information",
    "o_information_multiplets",
    "OInformationMultiplets",
    "oinfo_gaussian",
    "oinfo_gaussian_copula",
    "oinfo_ksg",
    "oinfo_discrete",
    "tc_gaussian",
    "tc_gaussian_copula",
    "tc_ksg",
    "tc_discrete",
    "dtc_gaussian",
    "dtc_gaussian_copula",
    "dtc_ksg",
    "dtc_discrete",
    "sinfo_gaussian",
    "sinfo_gaussian_copula",
    "sinfo_ksg",
    "sinfo_discrete",
    "OINFO_METHODS",
    "TC_METHODS",
    "DTC_METHODS",
    "SINFO_METHODS",
]

#: Method names and aliases of :func:`o_information`
#: (``OINFO_METHODS.names``, ``OINFO_METHODS.aliases``).
#:
#: :meta hide-value:
OINFO_METHODS = MethodRegistry("o_information")
#: Method names and aliases of :func:`total_correlation`
#: (``TC_METHODS.names``, ``TC_METHODS.aliases``).
#:
#: :meta hide-value:
TC_METHODS = MethodRegistry("total_correlation")
#: Method names and aliases of :func:`dual_total_correlation`
#: (``DTC_METHODS.names``, ``DTC_METHODS.aliases``).
#:
#: :meta hide-value:
DTC_METHODS = MethodRegistry("dual_total_correlation")
#: Method names and aliases of :func:`s_information`
#: (``SINFO_METHODS.names``, ``SINFO_METHODS.aliases``).
#:
#: :meta hide-value:
SINFO_METHODS = MethodRegistry("s_information")


# ----------------------------------------------------------------------------------------------
# docstring pieces shared by the sixteen method functions
# ----------------------------------------------------------------------------------------------
_X_DOC = """X : array-like of shape (n_samples, n_variables), or list of arrays
        The variables, samples along axis 0: one column per scalar variable, or
        a list (or tuple) of NumPy arrays / torch tensors of shapes
        ``(n_samples,)`` or ``(n_samples, d_i)``, one per (possibly
        multivariate) variable, paired by row. A list of plain Python lists is
        read as rows (samples), like any array-like."""

_SIGN = "Sign convention: Ω > 0 means redundancy dominates, Ω < 0 synergy."

# each quantity: name, definition, what it returns, minimum number of variables
_QUANTITY = {
    "oinfo": (
        "O-information",
        r"\Omega(X) = TC(X) - DTC(X) = (p - 2) H(X) + \sum_{j=1}^{p} [H(X_j) - H(X_{-j})]",
        "O-information in nats (or ``base`` units); Ω > 0: redundancy dominates, Ω < 0: synergy.",
        3,
    ),
    "tc": (
        "total correlation",
        r"TC(X) = \sum_{j=1}^{p} H(X_j) - H(X)",
        "Total correlation (multi-information) in nats (or ``base`` units); 0 iff independent.",
        2,
    ),
    "dtc": (
        "dual total correlation",
        r"DTC(X) = H(X) - \sum_{j=1}^{p} H(X_j \mid X_{-j}) = \sum_{j} H(X_{-j}) - (p - 1) H(X)",
        "Dual total correlation (binding information) in nats (or ``base`` units).",
        2,
    ),
    "sinfo": (
        "S-information",
        r"S(X) = TC(X) + DTC(X) = \sum_{j=1}^{p} I(X_j; X_{-j})",
        "S-information (exogenous information) in nats (or ``base`` units).",
        2,
    ),
}

# each method: title, estimator formula, its parameters, notes, references, errors
_METHOD_DOC = {
    "gaussian": dict(
        title="of jointly Gaussian variables, from log-determinants",
        formula=r"H(X_S) = \tfrac12 \log\det(2\pi e\, \hat\Sigma_S)",
        params=r"""bias_correction : bool, default False
        Replace each :math:`\log\det\hat\Sigma_S` by its unbiased estimate
        under Gaussian sampling, :math:`\log\det\hat\Sigma_S - d_S \log\frac{2}{N-1}
        - \sum_{i=1}^{d_S} \psi(\frac{N-i}{2})` (Wishart; as in
        :func:`estimators.entropy.entropy_gaussian`).""",
        notes=r"""The covariance (ddof = 1) is computed once; the log-determinants of its
    sub-matrices come from Cholesky factors. For non-Gaussian data this is the
    value of the Gaussian with the same covariance: it sees linear dependence
    only. Without the bias correction the plug-in estimates are biased upwards
    by :math:`O(p^2/N)`: about :math:`p(p-1)/(4N)` nats for the TC of *p*
    scalar variables (1.5e-4 nats for three variables at N = 10^4), while the
    biases of TC and DTC nearly cancel in Ω.""",
        refs=r"""N. Misra, H. Singh, E. Demchuk, J. Multivar. Anal. 92 (2005) 324--342.""",
        raises="If N does not exceed the dimension, or a covariance sub-matrix is singular.",
    ),
    "gaussian_copula": dict(
        title="with the Gaussian copula (rank-normalised Gaussian) estimator",
        formula=r"\tilde x_{ij} = \Phi^{-1}\!\left(\frac{\mathrm{rank}(x_{ij})}{N + 1}\right),"
        r"\quad H(\tilde X_S) = \tfrac12 \log\det(2\pi e\, \hat\Sigma_{\tilde X_S})",
        params=r"""bias_correction : bool, default False
        Unbiased log-determinants under Gaussian sampling (Ince et al. 2017
        apply it by default; hoi's ``"gc"`` method does).""",
        notes=r"""Each column is replaced by standard normal scores of its ranks (ties get
    their average rank), then the Gaussian estimator is applied. The result is
    invariant to strictly increasing transforms of each column. It measures the
    dependence of the Gaussian copula with the same rank correlations: exact
    when the copula is Gaussian, and a lower bound on the dependence (for TC,
    which is a mutual information) otherwise, because the Gaussian has the
    largest entropy at a fixed covariance. Dependence that is not monotone
    (e.g. y = x²) is missed.""",
        refs=r"""R. A. A. Ince, B. L. Giordano, C. Kayser, G. A. Rousselet, J. Gross,
    P. G. Schyns, Hum. Brain Mapp. 38 (2017) 1541--1573.""",
        raises=(
            "If N does not exceed the dimension, a column is constant, or a covariance "
            "sub-matrix is singular."
        ),
    ),
    "ksg": dict(
        title="with the Kraskov (KSG) kNN estimator",
        formula=r"\widehat{TC} = \psi(k) + (p - 1)\psi(N)"
        r" - \Big\langle \sum_{j=1}^{p} \psi(n_j + 1) \Big\rangle, \quad"
        r"\hat S = \sum_{j=1}^{p} \Big[\psi(k) + \psi(N)"
        r" - \big\langle \psi(n_j + 1) + \psi(n_{-j} + 1) \big\rangle\Big]",
        params=r"""k : int, default 4
        Neighbour order.
    standardize : bool, default True
        Divide every column by its standard deviation first (the max-norm mixes
        the scales of the variables).
    noise : float, default 0.0
        Relative size of seeded Gaussian jitter against ties (e.g. ``1e-10``).
    seed : int or numpy.random.Generator, optional
        Seed for ``noise``.""",
        notes=r"""One neighbour search in the joint space of all p variables (max-norm)
    gives :math:`\varepsilon_i`, the distance from sample *i* to its *k*-th
    neighbour; :math:`n_j` and :math:`n_{-j}` count the other samples strictly
    closer than :math:`\varepsilon_i` in variable *j* and in all variables but
    *j*. :math:`\widehat{TC}` is KSG estimator 1 for *p* variables and each
    term of :math:`\hat S` is KSG estimator 1 of :math:`I(X_j; X_{-j})`; then
    :math:`\widehat{DTC} = \hat S - \widehat{TC}` and

    .. math::

        \hat\Omega = 2\widehat{TC} - \hat S = (p - 2)\left[\psi(N) - \psi(k)\right]
        + \Big\langle \sum_{j=1}^{p} \left[\psi(n_{-j} + 1) - \psi(n_j + 1)\right] \Big\rangle,

    which is the entropy form of Ω with every entropy evaluated at the same
    :math:`\varepsilon_i`, so the log-volume terms cancel exactly (the KSG
    idea). Sharing one radius halves the spread of :math:`\hat\Omega` compared
    with combining separately estimated total correlations,
    :math:`\Omega = (2 - p)\,TC(X) + \sum_j TC(X_{-j})` (SD 0.006 against
    0.014 nats, and 0.010 against 0.017, for the redundant and synergistic
    three-Gaussian examples at N = 10^4), at the cost of one search. The
    terms carry the usual KSG biases, which depend on the dimension and the
    strength of dependence (for X_3 = X_1 + X_2 + noise at N = 10^4: TC +0.016,
    DTC +0.024, Ω -0.007 nats, mean of 30 seeds); estimates can be negative
    for (nearly) independent variables. Cost: one kNN search plus 2p
    neighbour counts.""",
        refs=r"""A. Kraskov, H. Stögbauer, P. Grassberger, Phys. Rev. E 69, 066138 (2004),
    Sec. II (estimator 1 for m variables).""",
        raises="If ``k`` is not smaller than the number of samples.",
    ),
    "discrete": dict(
        title="of discrete variables, from plug-in entropies",
        formula=r"\hat H(X_S) = -\sum_{s} \hat p_s \log \hat p_s"
        r"\quad\text{over the joint symbols } s \text{ of } X_S",
        params=r"""correction : {None, "miller_madow"}, default None
        Apply the Miller--Madow correction to each entropy term.""",
        notes=r"""Each variable is a symbol per sample (each distinct row of a block is one
    symbol). Plug-in entropies are biased downwards, most for the joint terms,
    so with few samples per joint symbol the estimate drifts (a
    ``UserWarning`` says so when there are fewer than 5 samples per observed
    joint symbol).""",
        refs=r"""G. A. Miller, "Note on the bias of information estimates" (1955).""",
        raises="If ``correction`` is not None or 'miller_madow'.",
    ),
}

_DOC_TEMPLATE = """%(Quantity)s %(title)s.

    .. math:: %(definition)s

    .. math:: %(formula)s

    %(sign)s

    Parameters
    ----------
    %(X)s
    %(params)s
    base : float, optional
        Logarithm base; ``None`` gives nats, ``2`` bits.

    Returns
    -------
    float
        %(returns)s

    Raises
    ------
    ValueError
        If X has fewer than %(minimum)s variables. %(raises)s

    Notes
    -----
    %(notes)s

    References
    ----------
    F. E. Rosas, P. A. M. Mediano, M. Gastpar, H. J. Jensen, "Quantifying
    high-order interdependencies via multivariate extensions of the mutual
    information", Phys. Rev. E 100, 032305 (2019).
    %(refs)s

    Examples
    --------
%(examples)s
"""


_EXAMPLES = {
    "gaussian": """    >>> import numpy as np
    >>> from estimators.higher_order import %(name)s
    >>> C = np.full((3, 3), 0.6) + 0.4 * np.eye(3)   # pairwise correlation 0.6
    >>> X = np.random.default_rng(0).multivariate_normal(np.zeros(3), C, size=20000)
    >>> round(%(name)s(X), 2)   # closed form %(truth)s
    %(value)s""",
    "gaussian_copula": """    >>> import numpy as np
    >>> from estimators.higher_order import %(name)s
    >>> C = np.full((3, 3), 0.6) + 0.4 * np.eye(3)   # pairwise correlation 0.6
    >>> X = np.random.default_rng(0).multivariate_normal(np.zeros(3), C, size=20000)
    >>> X = np.exp(X)   # monotone transforms do not change the copula
    >>> round(%(name)s(X), 2)   # closed form %(truth)s
    %(value)s""",
    "ksg": """    >>> import numpy as np
    >>> from estimators.higher_order import %(name)s
    >>> rng = np.random.default_rng(0)
    >>> x1, x2 = rng.standard_normal((2, 10000))
    >>> x3 = x1 + x2 + 0.5 * rng.standard_normal(10000)   # synergy: Omega = ln 0.6
    >>> round(%(name)s([x1, x2, x3]), 1)   # closed form %(truth)s
    %(value)s""",
    "discrete": """    >>> import numpy as np
    >>> from estimators.higher_order import %(name)s
    >>> x = np.random.default_rng(0).integers(0, 2, size=(4000, 2))
    >>> X = np.column_stack([x, x[:, 0] ^ x[:, 1]])   # third bit = XOR of the first two
    >>> round(%(name)s(X, base=2), 2)   # closed form %(truth)s bit
    %(value)s""",
}


def _method_doc(quantity: str, method: str, truth: str, value: str):
    """Decorator: the docstring of a method function, from its quantity's and method's pieces.

    ``truth`` is the closed form the example is compared with, ``value`` the rounded estimate
    it prints.
    """

    def deco(func):
        name, definition, returns, minimum = _QUANTITY[quantity]
        sign = (
            _SIGN
            if quantity == "oinfo"
            else "Ω = TC - DTC (see :func:`o_information`): Ω > 0 redundancy, Ω < 0 synergy."
        )
        func.__doc__ = substitute(
            _DOC_TEMPLATE,
            Quantity=name[0].upper() + name[1:],
            definition=definition,
            sign=sign,
            X=_X_DOC,
            returns=returns,
            minimum=str(minimum),
            examples=substitute(_EXAMPLES[method], name=func.__name__, truth=truth, value=value),
            **_METHOD_DOC[method],
        )
        return func

    return deco


_OI, _TC, _DTC, _SI = "O-information", "total correlation", "dual total correlation", "S-information"


# ----------------------------------------------------------------------------------------------
# method functions: O-information (minimum 3 variables)
# ----------------------------------------------------------------------------------------------
@OINFO_METHODS.register("gaussian", "gauss", "normal")
@_method_doc("oinfo", "gaussian", "0.147", "0.15")
def oinfo_gaussian(X, *, bias_correction=False, base=None) -> float:
    tc, dtc = gaussian_tc_dtc(X, copula=False, bias_correction=bias_correction, minimum=3, what=_OI)
    return to_base(tc - dtc, base)


@OINFO_METHODS.register("gaussian_copula", "gc", "copula")
@_method_doc("oinfo", "gaussian_copula", "0.147", "0.15")
def oinfo_gaussian_copula(X, *, bias_correction=False, base=None) -> float:
    tc, dtc = gaussian_tc_dtc(X, copula=True, bias_correction=bias_correction, minimum=3, what=_OI)
    return to_base(tc - dtc, base)


@OINFO_METHODS.register("ksg", "kraskov", "knn")
@_method_doc("oinfo", "ksg", "-0.51", "-0.5")
def oinfo_ksg(X, *, k=4, standardize=True, noise=0.0, seed=None, base=None) -> float:
    tc, dtc = ksg_tc_dtc(
        X, k=k, standardize=standardize, noise=noise, seed=seed, minimum=3, what=_OI
    )
    return to_base(tc - dtc, base)


@OINFO_METHODS.register("discrete", "plugin", "plug_in")
@_method_doc("oinfo", "discrete", "-1", "-1.0")
def oinfo_discrete(X, *, correction=None, base=None) -> float:
    tc, dtc = discrete_tc_dtc(X, correction=correction, minimum=3, what=_OI)
    return to_base(tc - dtc, base)


# ----------------------------------------------------------------------------------------------
# total correlation (minimum 2 variables; no leave-one-out terms needed)
# ----------------------------------------------------------------------------------------------
@TC_METHODS.register("gaussian", "gauss", "normal")
@_method_doc("tc", "gaussian", "0.522", "0.52")
def tc_gaussian(X, *, bias_correction=False, base=None) -> float:
    tc, _ = gaussian_tc_dtc(
        X, copula=False, bias_correction=bias_correction, minimum=2, what=_TC, need_dtc=False
    )
    return to_base(tc, base)


@TC_METHODS.register("gaussian_copula", "gc", "copula")
@_method_doc("tc", "gaussian_copula", "0.522", "0.52")
def tc_gaussian_copula(X, *, bias_correction=False, base=None) -> float:
    tc, _ = gaussian_tc_dtc(
        X, copula=True, bias_correction=bias_correction, minimum=2, what=_TC, need_dtc=False
    )
    return to_base(tc, base)


@TC_METHODS.register("ksg", "kraskov", "knn")
@_method_doc("tc", "ksg", "ln 3 = 1.10", "1.1")
def tc_ksg(X, *, k=4, standardize=True, noise=0.0, seed=None, base=None) -> float:
    tc, _ = ksg_tc_dtc(
        X, k=k, standardize=standardize, noise=noise, seed=seed, minimum=2, what=_TC,
        need_dtc=False,
    )
    return to_base(tc, base)


@TC_METHODS.register("discrete", "plugin", "plug_in")
@_method_doc("tc", "discrete", "1", "1.0")
def tc_discrete(X, *, correction=None, base=None) -> float:
    tc, _ = discrete_tc_dtc(X, correction=correction, minimum=2, what=_TC, need_dtc=False)
    return to_base(tc, base)


# ----------------------------------------------------------------------------------------------
# dual total correlation
# ----------------------------------------------------------------------------------------------
@DTC_METHODS.register("gaussian", "gauss", "normal")
@_method_doc("dtc", "gaussian", "0.375", "0.37")
def dtc_gaussian(X, *, bias_correction=False, base=None) -> float:
    _, dtc = gaussian_tc_dtc(X, copula=False, bias_correction=bias_correction, minimum=2, what=_DTC)
    return to_base(dtc, base)


@DTC_METHODS.register("gaussian_copula", "gc", "copula")
@_method_doc("dtc", "gaussian_copula", "0.375", "0.37")
def dtc_gaussian_copula(X, *, bias_correction=False, base=None) -> float:
    _, dtc = gaussian_tc_dtc(X, copula=True, bias_correction=bias_correction, minimum=2, what=_DTC)
    return to_base(dtc, base)


@DTC_METHODS.register("ksg", "kraskov", "knn")
@_method_doc("dtc", "ksg", "ln 5 = 1.61", "1.6")
def dtc_ksg(X, *, k=4, standardize=True, noise=0.0, seed=None, base=None) -> float:
    _, dtc = ksg_tc_dtc(
        X, k=k, standardize=standardize, noise=noise, seed=seed, minimum=2, what=_DTC
    )
    return to_base(dtc, base)


@DTC_METHODS.register("discrete", "plugin", "plug_in")
@_method_doc("dtc", "discrete", "2", "2.0")
def dtc_discrete(X, *, correction=None, base=None) -> float:
    _, dtc = discrete_tc_dtc(X, correction=correction, minimum=2, what=_DTC)
    return to_base(dtc, base)


# ----------------------------------------------------------------------------------------------
# S-information = TC + DTC
# ----------------------------------------------------------------------------------------------
@SINFO_METHODS.register("gaussian", "gauss", "normal")
@_method_doc("sinfo", "gaussian", "0.897", "0.9")
def sinfo_gaussian(X, *, bias_correction=False, base=None) -> float:
    terms = gaussian_tc_dtc(X, copula=False, bias_correction=bias_correction, minimum=2, what=_SI)
    return to_base(sum(terms), base)


@SINFO_METHODS.register("gaussian_copula", "gc", "copula")
@_method_doc("sinfo", "gaussian_copula", "0.897", "0.9")
def sinfo_gaussian_copula(X, *, bias_correction=False, base=None) -> float:
    terms = gaussian_tc_dtc(X, copula=True, bias_correction=bias_correction, minimum=2, what=_SI)
    return to_base(sum(terms), base)


@SINFO_METHODS.register("ksg", "kraskov", "knn")
@_method_doc("sinfo", "ksg", "ln 15 = 2.71", "2.7")
def sinfo_ksg(X, *, k=4, standardize=True, noise=0.0, seed=None, base=None) -> float:
    terms = ksg_tc_dtc(
        X, k=k, standardize=standardize, noise=noise, seed=seed, minimum=2, what=_SI
    )
    return to_base(sum(terms), base)


@SINFO_METHODS.register("discrete", "plugin", "plug_in")
@_method_doc("sinfo", "discrete", "3", "3.0")
def sinfo_discrete(X, *, correction=None, base=None) -> float:
    terms = discrete_tc_dtc(X, correction=correction, minimum=2, what=_SI)
    return to_base(sum(terms), base)


# ----------------------------------------------------------------------------------------------
# front functions
# ----------------------------------------------------------------------------------------------
_CHOOSING = """Choosing a method
    -----------------
    * Gaussian or near-Gaussian data, many variables, or many multiplets:
      ``"gaussian"`` (exact log-determinants; ``bias_correction=True`` removes
      the small-sample bias). It sees linear dependence only.
    * Continuous data with non-Gaussian marginals (skewed, heavy-tailed,
      differently scaled): ``"gaussian_copula"``. Invariant to monotone
      transforms of each variable; exact for a Gaussian copula, a lower bound
      on the dependence for other copulas. The usual choice for neural data
      and activations (it is hoi's default).
    * Continuous data with non-monotone or non-linear dependence, few
      variables (up to about 5 dimensions) and N in the thousands: ``"ksg"``.
      Slower (one neighbour search and 2p neighbour counts per set of
      variables); its terms carry the dimension-dependent KSG biases.
    * Symbols: ``"discrete"`` (plug-in; needs several samples per joint symbol)."""

# The sections the front functions share; o_information describes its parameters at more
# length, so it takes only the Raises and Choosing sections.
_FRONT_PARAMETERS = """Parameters
    ----------
    X : array-like of shape (n_samples, n_variables), or list of arrays
        One column per scalar variable, or a list of ``(n_samples, d_i)`` arrays.
    method : str or callable, default "gaussian"
        ``"gaussian"``, ``"gaussian_copula"``, ``"ksg"``, ``"discrete"``, or a callable.
    base : float, optional
        Logarithm base: ``None`` (nats), ``2`` (bits).
    **kwargs
        Passed to the method."""

_RAISES_AND_CHOOSING = """Raises
    ------
    ValueError
        If X has fewer than %(minimum)s variables, or on the method's own errors.

    %(choosing)s"""


def _raises_and_choosing(minimum: int) -> str:
    return substitute(_RAISES_AND_CHOOSING, minimum=str(minimum), choosing=_CHOOSING)


@fill(raises_and_choosing=_raises_and_choosing(3))
def o_information(X, method="gaussian", *, base=None, **kwargs) -> float:
    r"""O-information Ω of a set of variables (Rosas et al. 2019), in nats by default.

    .. math::

        \Omega(X) = TC(X) - DTC(X)
                  = (p - 2) H(X) + \sum_{j=1}^{p} \left[H(X_j) - H(X_{-j})\right]

    **Sign convention: Ω > 0 means the variables are dominated by redundancy
    (the same information copied across them), Ω < 0 by synergy (information
    that only the whole set carries).** Ω is 0 for independent variables, and
    identically 0 for two variables, so at least three are needed.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables), or list of arrays
        One column per scalar variable (lists, NumPy arrays or torch tensors),
        or a list/tuple of NumPy arrays or tensors of shapes ``(n_samples,)``
        or ``(n_samples, d_i)``, one per (possibly multivariate) variable.
    method : str or callable, default "gaussian"
        ``"gaussian"``, ``"gaussian_copula"`` (alias ``"gc"``), ``"ksg"``,
        ``"discrete"``; or a callable ``f(X, base=..., **kwargs)``.
    base : float, optional
        Logarithm base: ``None`` (nats), ``2`` (bits).
    **kwargs
        Passed to the method (``bias_correction=``, ``k=``, ``correction=``, ...).

    Returns
    -------
    float
        Ω in nats (or ``base`` units). Positive: redundancy; negative: synergy.

    %(raises_and_choosing)s

    See Also
    --------
    oinfo_gaussian, oinfo_gaussian_copula, oinfo_ksg, oinfo_discrete,
    o_information_multiplets, total_correlation, dual_total_correlation, s_information

    References
    ----------
    F. E. Rosas, P. A. M. Mediano, M. Gastpar, H. J. Jensen, Phys. Rev. E 100,
    032305 (2019).

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.higher_order import o_information
    >>> rng = np.random.default_rng(0)
    >>> x1, x2 = rng.standard_normal((2, 20000))
    >>> x3 = x1 + x2 + 0.5 * rng.standard_normal(20000)
    >>> round(o_information([x1, x2, x3]), 2)   # synergy: ln 0.6 = -0.51
    -0.51
    >>> s = rng.standard_normal(20000)
    >>> X = s[:, None] + 0.5 * rng.standard_normal((20000, 3))   # three noisy copies of s
    >>> o_information(X) > 0                                      # redundancy
    True
    """
    return OINFO_METHODS.call(method, X, base=base, **kwargs)


@fill(parameters=_FRONT_PARAMETERS, raises_and_choosing=_raises_and_choosing(2))
def total_correlation(X, method="gaussian", *, base=None, **kwargs) -> float:
    r"""Total correlation (multi-information) of a set of variables, in nats by default.

    .. math:: TC(X) = \sum_{j=1}^{p} H(X_j) - H(X)

    TC is the KL divergence between the joint distribution and the product of
    its marginals: 0 for independent variables, positive otherwise. With
    :func:`dual_total_correlation` it gives the O-information
    Ω = TC − DTC (Ω > 0 redundancy, Ω < 0 synergy).

    %(parameters)s

    Returns
    -------
    float
        TC in nats (or ``base`` units).

    %(raises_and_choosing)s

    See Also
    --------
    tc_gaussian, tc_gaussian_copula, tc_ksg, tc_discrete, o_information

    References
    ----------
    S. Watanabe, IBM J. Res. Dev. 4 (1960) 66--82. Rosas et al., Phys. Rev. E
    100, 032305 (2019).

    Examples
    --------
    >>> from estimators.higher_order import total_correlation
    >>> total_correlation([[0, 0, 0], [1, 1, 1]] * 50, method="discrete", base=2)
    2.0
    """
    return TC_METHODS.call(method, X, base=base, **kwargs)


@fill(parameters=_FRONT_PARAMETERS, raises_and_choosing=_raises_and_choosing(2))
def dual_total_correlation(X, method="gaussian", *, base=None, **kwargs) -> float:
    r"""Dual total correlation (binding information) of a set of variables, in nats by default.

    .. math:: DTC(X) = H(X) - \sum_{j=1}^{p} H(X_j \mid X_{-j})

    The information shared by at least two variables. Ω = TC − DTC
    (Ω > 0 redundancy, Ω < 0 synergy); for two variables DTC = TC = I(X_1; X_2).

    %(parameters)s

    Returns
    -------
    float
        DTC in nats (or ``base`` units).

    %(raises_and_choosing)s

    See Also
    --------
    dtc_gaussian, dtc_gaussian_copula, dtc_ksg, dtc_discrete, o_information

    References
    ----------
    T. S. Han, Inf. Control 36 (1978) 133--156. Rosas et al., Phys. Rev. E 100,
    032305 (2019).

    Examples
    --------
    >>> from estimators.higher_order import dual_total_correlation
    >>> dual_total_correlation([[0, 0, 0], [1, 1, 1]] * 50, method="discrete", base=2)
    1.0
    """
    return DTC_METHODS.call(method, X, base=base, **kwargs)


@fill(parameters=_FRONT_PARAMETERS, raises_and_choosing=_raises_and_choosing(2))
def s_information(X, method="gaussian", *, base=None, **kwargs) -> float:
    r"""S-information (exogenous information) of a set of variables, in nats by default.

    .. math:: S(X) = TC(X) + DTC(X) = \sum_{j=1}^{p} I(X_j; X_{-j})

    The total dependence of each variable on the rest; it complements the
    O-information Ω = TC − DTC (Ω > 0 redundancy, Ω < 0 synergy).

    %(parameters)s

    Returns
    -------
    float
        S-information in nats (or ``base`` units).

    %(raises_and_choosing)s

    See Also
    --------
    sinfo_gaussian, sinfo_gaussian_copula, sinfo_ksg, sinfo_discrete, o_information

    References
    ----------
    Rosas et al., Phys. Rev. E 100, 032305 (2019). R. G. James, C. J. Ellison,
    J. P. Crutchfield, Chaos 21, 037109 (2011).

    Examples
    --------
    >>> from estimators.higher_order import s_information
    >>> s_information([[0, 0, 0], [1, 1, 1]] * 50, method="discrete", base=2)
    3.0
    """
    return SINFO_METHODS.call(method, X, base=base, **kwargs)
