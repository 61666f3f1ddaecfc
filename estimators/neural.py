r"""Neural (variational) estimators of mutual information: MINE, NWJ, InfoNCE, SMILE.

A small neural network, the *critic* :math:`T(x, y)`, is trained to tell
paired samples :math:`(x_i, y_i) \sim P_{XY}` from shuffled ones
:math:`(x_i, y_j) \sim P_X \otimes P_Y`; a variational bound evaluated with
the trained critic on held-out data is the estimate.

==============  =======================================================  =====================
function        bound (value reported)                                   critic trained with
==============  =======================================================  =====================
``mine``        Donsker--Varadhan (DV)                                   DV, moving-average
                                                                         gradient correction
``mi_nwj``      Nguyen--Wainwright--Jordan (NWJ, f-divergence)           NWJ
``mi_infonce``  InfoNCE (contrastive, at most :math:`\ln B`)             InfoNCE
``mi_smile``    DV with the marginal term clipped at :math:`\pm\tau`     Jensen--Shannon
==============  =======================================================  =====================

All four share one training loop (the private module
``estimators._neural_training``) that follows the protocol of Czyż et al.
(2023): standardised inputs, a random 50 % held-out split on which the
reported value is computed, Adam on mini-batches, early stopping on the
held-out estimate and a step budget. Every batch of :math:`B` samples gives
the full :math:`B \times B` score matrix :math:`S_{ij} = T(x_i, y_j)`: the
diagonal holds the :math:`B` paired samples, the :math:`B(B-1)` off-diagonal
entries the shuffled ones. Memory grows with the batch size, not with n.

torch is imported inside the functions only: ``import estimators`` stays light.
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import NamedTuple

import numpy as np

from . import _neural_training as training
from ._docs import fill
from ._neural_training import Settings
from ._validation import check_flag, check_positive_int, check_rng, log_base, warn

__all__ = [
    "mine",
    "mi_mine",
    "mi_nwj",
    "mi_infonce",
    "mi_smile",
    "NeuralMIResult",
]


class TrainingDivergedError(RuntimeError):
    """A neural MI fit diverged: its estimate is non-finite or far outside the plausible range."""


# InfoNCE warns when its estimate comes within this many nats of ln(batch_size): with the
# optimal critic (Gaussian data) it is about 10% below the truth there (B = 64 to 512).
_NCE_MARGIN = 2.0


class NeuralMIResult(NamedTuple):
    r"""Outcome of a neural MI estimate (``return_result=True``).

    Attributes
    ----------
    value : float
        The estimate (held-out data, best evaluation), in nats or ``base`` units.
    bound : str
        The bound that ``value`` evaluates, e.g. ``"dv"`` or ``"smile(tau=5)"``.
    steps : numpy.ndarray of int
        Training steps at which the critic was evaluated.
    train : numpy.ndarray of float
        Mean of the bound over the training batches since the previous evaluation.
    heldout : numpy.ndarray of float
        The bound on the held-out half at each evaluation (the curve to plot).
    n_steps : int
        Optimiser steps run.
    converged : bool
        True when early stopping ended training (the held-out curve flattened);
        False when the step budget ran out first or training diverged.
    best_step : int
        The step whose critic gave ``value``.
    ceiling : float
        Largest value the bound can take: :math:`\ln B` for InfoNCE (``inf`` otherwise).
    batch_size : int
        The batch size used.
    """

    value: float
    bound: str
    steps: np.ndarray
    train: np.ndarray
    heldout: np.ndarray
    n_steps: int
    converged: bool
    best_step: int
    ceiling: float
    batch_size: int



# ----------------------------------------------------------------------------------------------
# the parameters: one list shared by the four estimators, one parameter of their own
# ----------------------------------------------------------------------------------------------
class _Bound(NamedTuple):
    function: str  # the public function, for argument errors
    label: str  # in warnings and errors
    own: dict  # the parameter it adds in front of the shared ones, with its default


_BOUNDS = {
    "mine": _Bound("mi_mine", "MINE", {"ema": 0.01}),
    "nwj": _Bound("mi_nwj", "NWJ", {}),
    "infonce": _Bound("mi_infonce", "InfoNCE", {}),
    "smile": _Bound("mi_smile", "SMILE", {"tau": 5.0}),
}
# The shared keyword-only parameters, in signature order: every field of Settings but the
# bound-specific tau and ema.
_SHARED = {k: v for k, v in Settings._field_defaults.items() if k not in ("tau", "ema")}


def _explicit(bound):
    """Decorator: give an estimator written as ``f(x, y, **options)`` its full signature.

    ``inspect.signature``, ``help()``, the documentation and ``mutual_information``'s
    check of keyword arguments all read ``__signature__``: ``x, y, *``, the bound's
    own parameter, then the shared ones with their defaults.
    """
    P = inspect.Parameter
    params = [P("x", P.POSITIONAL_OR_KEYWORD), P("y", P.POSITIONAL_OR_KEYWORD)]
    params += [P(k, P.KEYWORD_ONLY, default=v) for k, v in {**_BOUNDS[bound].own, **_SHARED}.items()]

    def deco(func):
        func.__signature__ = inspect.Signature(params)
        return func

    return deco


def _settings(bound, options):
    """The keyword arguments of one call, completed with the defaults (checked by :func:`_check`)."""
    accepted = {**_BOUNDS[bound].own, **_SHARED}
    for key in options:
        if key not in accepted:  # what Python says for an explicit signature
            raise TypeError(f"{_BOUNDS[bound].function}() got an unexpected keyword argument {key!r}")
    return Settings(**{**accepted, **options})


def _check_real(value, name, lo, hi, *, lo_open=True, hi_open=True, allow_inf=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    v = float(value)
    ok = not math.isnan(v) and (allow_inf or math.isfinite(v))
    ok = ok and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        lb = "(" if lo_open else "["
        rb = ")" if hi_open else "]"
        raise ValueError(f"{name} must lie in {lb}{lo}, {hi}{rb}; got {value!r}")
    return v


def _check(s: Settings) -> Settings:
    """``s`` with every argument checked and normalised (device, seed and base are checked later)."""
    if s.critic not in ("joint", "separable"):
        raise ValueError(
            f"critic must be 'joint' (T = MLP([x, y])) or 'separable' (T = g(x)^T h(y)); got {s.critic!r}"
        )
    return s._replace(
        hidden=check_positive_int(s.hidden, "hidden", 1),
        layers=check_positive_int(s.layers, "layers", 1),
        embed_dim=check_positive_int(s.embed_dim, "embed_dim", 1),
        batch_size=check_positive_int(s.batch_size, "batch_size", 2),
        lr=_check_real(s.lr, "lr", 0.0, math.inf),
        max_steps=check_positive_int(s.max_steps, "max_steps", 1),
        eval_every=check_positive_int(s.eval_every, "eval_every", 1),
        patience=check_positive_int(s.patience, "patience", 1),
        min_delta=_check_real(s.min_delta, "min_delta", 0.0, math.inf, lo_open=False),
        val_fraction=_check_real(s.val_fraction, "val_fraction", 0.0, 1.0),
        tau=_check_real(s.tau, "tau", 0.0, math.inf, hi_open=False, allow_inf=True),
        ema=_check_real(s.ema, "ema", 0.0, 1.0, hi_open=False),
        standardize=check_flag(s.standardize, "standardize"),
        return_result=check_flag(s.return_result, "return_result"),
        num_threads=None if s.num_threads is None else check_positive_int(s.num_threads, "num_threads", 1),
    )


# ----------------------------------------------------------------------------------------------
# one estimate: check, train, judge the run, report
# ----------------------------------------------------------------------------------------------
def _estimate(bound, x, y, options):
    """The body of the four public estimators."""
    s = _settings(bound, options)
    torch = training.import_torch()
    s = _check(s)
    unit = log_base(s.base)
    rng = check_rng(s.seed)
    trace = training.fit(torch, x, y, bound, s, rng)
    _raise_if_diverged(bound, s, trace)
    _warn_if_unfinished(bound, s, trace, unit)
    ceiling = math.log(trace.batch_size) if bound == "infonce" else math.inf
    if bound == "infonce" and trace.best >= ceiling - _NCE_MARGIN:
        warn(
            f"InfoNCE: the estimate {trace.best:.3f} nats is within {_NCE_MARGIN:g} nats of its ceiling "
            f"ln(batch_size) = ln {trace.batch_size} = {ceiling:.3f}; InfoNCE saturates towards that ceiling "
            "(about 10% low already 2 nats below it, even with the optimal critic) and "
            "underestimates larger MI. Use a larger batch_size, or mi_smile")
    value = float(trace.best / unit)
    if not s.return_result:
        return value
    return NeuralMIResult(
        value=value,
        bound=_bound_name(bound, s.tau),
        steps=np.asarray(trace.steps, dtype=np.int64),
        train=np.asarray(trace.train) / unit,
        heldout=np.asarray(trace.heldout) / unit,
        n_steps=trace.n_steps,
        converged=trace.converged,
        best_step=trace.best_step,
        ceiling=ceiling / unit,
        batch_size=trace.batch_size,
    )


def _raise_if_diverged(bound, s, trace):
    """Raise :class:`TrainingDivergedError` when no held-out value is finite or the best is implausible."""
    what = _BOUNDS[bound].label
    if not trace.heldout:
        raise TrainingDivergedError(
            f"{what}: training diverged (non-finite estimate) by the first held-out evaluation "
            f"(step {trace.n_steps}); lower lr (now {s.lr:g}) or use mi_smile, whose clipped bound "
            "is the most stable"
        )
    lo_ok, hi_ok, why = _plausible_range(bound, trace.n_val, trace.batch_size)
    if not lo_ok <= trace.best <= hi_ok:
        raise TrainingDivergedError(
            f"{what}: training diverged: the best held-out estimate, {trace.best:.4g} nats (step "
            f"{trace.best_step}), lies far outside the plausible range [{lo_ok:.3g}, {hi_ok:.3g}] nats "
            f"for {trace.n_val} held-out samples ({why}). The optimiser overshot: lower lr (now "
            f"{s.lr:g}; try {s.lr / 10:g}, or the default 1e-3) or use mi_smile, whose clipped "
            "bound is the most stable"
        )


def _warn_if_unfinished(bound, s, trace, unit):
    """Warn when training ended on a non-finite estimate or on the step budget, not early stopping."""
    what = _BOUNDS[bound].label
    if trace.diverged:
        warn(
            f"{what}: training diverged (non-finite estimate) by step {trace.n_steps}; the "
            f"value is the best held-out estimate before that (step {trace.best_step}). Lower lr "
            f"(now {s.lr:g}) or use mi_smile")
    elif not trace.converged:
        held = trace.heldout
        k = min(s.patience, len(held) - 1)
        rise = held[-1] - held[-1 - k] if k > 0 else float("nan")
        warn(
            f"{what}: the held-out estimate had not flattened when the step budget "
            f"(max_steps={s.max_steps}) ran out"
            + (f"; it changed by {rise / unit:+.3g} over the last {k} evaluations" if k > 0 else "")
            + ". The estimate may be too low: raise max_steps (or lr), or inspect the curve "
            "with return_result=True")


def _bound_name(bound, tau):
    """The name of the bound that the reported value evaluates (``NeuralMIResult.bound``)."""
    return {"mine": "dv", "nwj": "nwj", "infonce": "infonce", "smile": f"smile(tau={tau:g})"}[bound]


def _plausible_range(bound, n_val, B):
    """(low, high, reason): where a held-out estimate from a working critic can lie (nats).

    A constant critic scores exactly 0 under every bound, so a best held-out value below
    ``-max(1, ln n_val)`` means the critic is far worse than knowing nothing. InfoNCE
    cannot exceed ``ln B``; for DV, NWJ and SMILE no estimate from ``n_val`` samples can
    credibly exceed about ``ln n_val`` (McAllester & Stratos 2020), and values beyond
    ``2 ln n_val + 10`` only come from a critic that blew up.
    """
    lo = -max(1.0, math.log(n_val))
    zero = "a constant critic scores 0"
    if bound == "infonce":
        # ln B holds exactly; the margin covers float32 round-off of a saturated critic
        return lo, math.log(B) + 1e-4, f"{zero}, and InfoNCE cannot exceed ln(batch size) = ln {B}"
    return lo, 2.0 * math.log(n_val) + 10.0, (
        f"{zero}, and an estimate from n samples cannot credibly exceed about ln n")


# ----------------------------------------------------------------------------------------------
# public functions, their docstrings assembled from the shared pieces below
# ----------------------------------------------------------------------------------------------
_PARAMS_DOC = r"""x : array-like or torch.Tensor of shape (n_samples,) or (n_samples, n_x_features)
    y : array-like or torch.Tensor of shape (n_samples,) or (n_samples, n_y_features)
        Continuous samples, paired by row. Tensors are used on their device
        (a CUDA tensor trains on that GPU); anything else trains on the CPU.
    critic : {"joint", "separable"}, default "joint"
        ``"joint"``: :math:`T(x, y) = \mathrm{MLP}([x, y])`, ``layers`` hidden
        ReLU layers of width ``hidden`` and one output; it sees every
        interaction between x and y. ``"separable"``:
        :math:`T(x, y) = g(x)^\top h(y)` with two ReLU MLPs (``layers`` x
        ``hidden``) into ``embed_dim`` dimensions; the score matrix of a batch
        then costs one matrix product, so it is several times faster, but it
        can only express dependence of that inner-product form.
    hidden : int, default 64
        Width of the hidden layers. A joint critic scores all :math:`B^2`
        pairs of a batch, so its cost grows as :math:`B^2 \cdot \mathrm{hidden}^2`.
    layers : int, default 2
        Number of hidden layers.
    embed_dim : int, default 32
        Output size of g and h (separable critic only).
    batch_size : int, default 64
        Samples per optimiser step (:math:`B`); all :math:`B(B-1)` shuffled
        pairs of a batch serve as samples of :math:`P_X \otimes P_Y`. Memory
        is :math:`O(B^2 \cdot \mathrm{hidden})`, independent of n.
    lr : float, default 1e-3
        Adam learning rate.
    max_steps : int, default 5000
        Step budget. When it runs out before early stopping triggers, a
        ``UserWarning`` says the curve had not flattened.
    eval_every : int, default 100
        Steps between evaluations of the bound on the held-out half.
    patience : int, default 5
        Stop when the held-out estimate has not risen by more than
        ``min_delta`` for this many evaluations (early stopping).
    min_delta : float, default 0.005
        Smallest rise (nats) that counts as progress.
    val_fraction : float, default 0.5
        Fraction of the samples held out (never trained on) for the reported value.
    standardize : bool, default True
        Centre every column and divide it by its standard deviation first.
    device : str or torch.device, optional
        Where to train. Default: the device of a tensor input, else the CPU.
    num_threads : int, optional
        torch intra-op threads on the CPU during the call (the caller's
        setting is restored afterwards). Default 1: these small networks run
        fastest on one thread, and the number is then the same on every
        machine for a given seed.
    seed : int or numpy.random.Generator, optional
        Seeds the split, the batches (NumPy) and the critic's initial weights
        (a local ``torch.Generator``; torch's global generator is untouched).
        The same seed gives exactly the same number on the CPU; GPU kernels may
        differ in the last bits.
    base : float, optional
        Logarithm base; ``None`` gives nats.
    return_result : bool, default False
        Return a :class:`NeuralMIResult` (value, bound, training and held-out
        curves, steps, convergence flag) instead of a float."""

_RETURNS_DOC = r"""float or NeuralMIResult
        The held-out estimate in nats (or ``base`` units): the largest value
        of the held-out curve, i.e. the critic at its best evaluation (early
        stopping). Choosing the best of several evaluations adds a small upward
        bias, of the order of the held-out estimate's standard error; the
        variational bounds themselves lie below the MI unless the critic
        overfits, so the net error is usually negative."""

_TRAINING_NOTES = r"""Training (shared by :func:`mine`, :func:`mi_nwj`, :func:`mi_infonce`,
    :func:`mi_smile`): the inputs are standardised, a random ``val_fraction``
    of the samples is held out, and the critic is trained with Adam on
    mini-batches of the rest (reshuffled every epoch). Every ``eval_every``
    steps the bound is evaluated on the whole held-out half, in batches of
    ``batch_size`` (pooling the shuffled pairs of all batches for the
    log-mean-exp terms), which gives the held-out curve; the training curve
    averages the bound over the training batches in between. This follows
    the protocol of Czyż et al. (2023). Critics overfit: after a few hundred
    steps the training curve keeps rising while the held-out curve falls,
    which is why the value comes from held-out data and training stops early.

    Heavy-tailed inputs (Student-t with few degrees of freedom, Cauchy) defeat
    standardisation: a ``UserWarning`` flags columns with excess kurtosis
    above 50, and an invertible transform of each column (``np.arcsinh``)
    restores the accuracy without changing the MI (see
    ``docs/benchmarks_neural.md``).

    A diverged fit raises ``estimators.neural.TrainingDivergedError`` (a
    ``RuntimeError``) naming the ``lr`` used, never returns a huge number: when
    the held-out estimate is non-finite at the first evaluation, or when the
    best held-out value lies outside :math:`[-\max(1, \ln n_v),\, 2\ln n_v + 10]`
    nats (:math:`n_v` held-out samples; the upper end is :math:`\ln B` for
    InfoNCE). A constant critic scores 0, and no estimate from :math:`n_v`
    samples can credibly exceed about :math:`\ln n_v` (McAllester & Stratos
    2020); values outside come from an optimiser that overshot (e.g.
    ``lr=1e6`` gave -1.5e23 nats). Lower ``lr``."""

_REFS = r"""M. I. Belghazi, A. Baratin, S. Rajeswar, S. Ozair, Y. Bengio, A. Courville,
    R. D. Hjelm, "Mutual information neural estimation", ICML 2018.
    X. Nguyen, M. J. Wainwright, M. I. Jordan, "Estimating divergence
    functionals and the likelihood ratio by convex risk minimization", IEEE
    Trans. Inf. Theory 56 (2010) 5847--5861.
    A. van den Oord, Y. Li, O. Vinyals, "Representation learning with
    contrastive predictive coding", arXiv:1807.03748 (2018).
    B. Poole, S. Ozair, A. van den Oord, A. Alemi, G. Tucker, "On variational
    bounds of mutual information", ICML 2019.
    J. Song, S. Ermon, "Understanding the limitations of variational mutual
    information estimators", ICLR 2020.
    P. Czyż, F. Grabowski, J. E. Vogt, N. Beerenwinkel, A. Marx, "Beyond
    normal: on the evaluation of mutual information estimators", NeurIPS 2023."""

_DOC = dict(params=_PARAMS_DOC, returns=_RETURNS_DOC, training=_TRAINING_NOTES, refs=_REFS)


@fill(**_DOC)
@_explicit("mine")
def mi_mine(x, y, **options):
    r"""MINE: Donsker--Varadhan estimate of mutual information with the moving-average gradient.

    The critic :math:`T` maximises the Donsker--Varadhan (DV) lower bound

    .. math:: I(X;Y) \ge \hat I_{DV}(T) = \mathbb{E}_{P_{XY}}[T] - \log \mathbb{E}_{P_X \otimes P_Y}[e^{T}]

    whose optimum :math:`T^* = \log \frac{p(x,y)}{p(x)p(y)} + c` attains the MI.
    The gradient of the log term, :math:`\mathbb{E}_Q[\nabla T\, e^{T}] /
    \mathbb{E}_Q[e^{T}]`, is biased on mini-batches; MINE (Belghazi et al.
    2018) replaces the denominator by an exponential moving average
    :math:`m_t = (1-\alpha) m_{t-1} + \alpha \cdot \overline{e^{T}}_{\text{batch}}`
    (``ema`` = :math:`\alpha`). The reported value is :math:`\hat I_{DV}` of
    the trained critic on held-out data. ``mine`` and ``mi_mine`` are the same
    function; ``mutual_information(x, y, method="mine")`` gives the same value.

    Parameters
    ----------
    %(params)s
    ema : float, default 0.01
        Rate :math:`\alpha` of the moving average (about the last
        :math:`1/\alpha` batches count).

    Returns
    -------
    %(returns)s

    Notes
    -----
    %(training)s

    The DV bound is not a lower bound on a finite sample: the log of a
    sample mean is biased, and the variance of :math:`e^{T}` grows
    exponentially with the MI (McAllester & Stratos 2020; Song & Ermon
    2020), so MINE can overshoot and fluctuates at high MI. Prefer
    :func:`mi_smile` there. Estimates can be slightly negative for
    independent variables.

    References
    ----------
    %(refs)s

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.neural import mine
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = 0.9 * x + np.sqrt(1 - 0.81) * rng.standard_normal(2000)
    >>> res = mine(x, y, seed=0, return_result=True)   # or just mine(x, y) for the float
    >>> round(res.value, 2), res.bound, res.converged   # closed form: -0.5 ln(1 - 0.81) = 0.83
    (0.84, 'dv', True)
    """
    return _estimate("mine", x, y, options)


mine = mi_mine


@fill(**_DOC)
@_explicit("nwj")
def mi_nwj(x, y, **options):
    r"""NWJ: the Nguyen--Wainwright--Jordan (f-divergence) estimate of mutual information.

    .. math:: I(X;Y) \ge \hat I_{NWJ}(T) = \mathbb{E}_{P_{XY}}[T]
              - e^{-1}\, \mathbb{E}_{P_X \otimes P_Y}[e^{T}]

    The critic maximises this bound by plain gradient ascent; at the optimum
    :math:`T^* = 1 + \log \frac{p(x,y)}{p(x)p(y)}` it equals the MI. Unlike
    the DV bound it is linear in the sample means, so mini-batch gradients
    are unbiased, but its variance still grows exponentially with the MI.

    Parameters
    ----------
    %(params)s

    Returns
    -------
    %(returns)s

    Notes
    -----
    %(training)s

    References
    ----------
    %(refs)s

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.neural import mi_nwj
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = 0.9 * x + np.sqrt(1 - 0.81) * rng.standard_normal(2000)
    >>> round(mi_nwj(x, y, critic="separable", seed=0), 1)   # closed form 0.83
    0.8
    """
    return _estimate("nwj", x, y, options)


@fill(**_DOC)
@_explicit("infonce")
def mi_infonce(x, y, **options):
    r"""InfoNCE: the contrastive (CPC) estimate of mutual information, at most ln(batch_size).

    For a batch of :math:`B` pairs, each :math:`y_i` must be picked out
    among :math:`y_1, \dots, y_B` by the critic:

    .. math:: \hat I_{NCE}(T) = \frac1B \sum_{i=1}^B \log
              \frac{e^{T(x_i, y_i)}}{\frac1B \sum_{j=1}^B e^{T(x_i, y_j)}}
              \;\le\; \ln B

    It is a lower bound with low variance, but it can never exceed
    :math:`\ln B` (``batch_size`` = 64 caps it at 4.16 nats) and it is
    pulled down well before: with the optimal critic it is about 10% low
    when the MI is 2 nats below :math:`\ln B`. A ``UserWarning`` is raised
    when the estimate comes within 2 nats of the ceiling; raise ``batch_size``
    (the ceiling is in the result's ``ceiling`` field).

    Parameters
    ----------
    %(params)s

    Returns
    -------
    %(returns)s

    Notes
    -----
    %(training)s

    The held-out value averages the bound over held-out batches of the same
    size :math:`B`, so it has the same ceiling.

    References
    ----------
    %(refs)s

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.neural import mi_infonce
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = 0.9 * x + np.sqrt(1 - 0.81) * rng.standard_normal(2000)
    >>> res = mi_infonce(x, y, critic="separable", seed=0, return_result=True)
    >>> round(res.value, 1), round(res.ceiling, 2)   # closed form 0.83; ceiling ln 64
    (0.8, 4.16)
    """
    return _estimate("infonce", x, y, options)


@fill(**_DOC)
@_explicit("smile")
def mi_smile(x, y, **options):
    r"""SMILE: the DV estimate with its partition term clipped to [e^-tau, e^tau] (Song & Ermon 2020).

    .. math:: \hat I_{SMILE}(T) = \mathbb{E}_{P_{XY}}[T]
              - \log \mathbb{E}_{P_X \otimes P_Y}\big[\mathrm{clip}(e^{T}, e^{-\tau}, e^{\tau})\big]

    The critic is trained with the Jensen--Shannon (f-GAN) objective
    :math:`\mathbb{E}_P[-\mathrm{softplus}(-T)] - \mathbb{E}_Q[\mathrm{softplus}(T)]`,
    whose optimum is the log density ratio :math:`\log \frac{p(x,y)}{p(x)p(y)}`,
    and the clipped DV bound is evaluated with it. Clipping bounds the
    variance of the partition term (which otherwise grows exponentially with
    the MI) at the cost of a bias; :math:`\tau \to \infty` gives the DV
    estimate of a JS-trained critic. This is the most stable of the four
    estimators at high MI.

    Parameters
    ----------
    %(params)s
    tau : float, default 5.0
        Clipping parameter :math:`\tau > 0` (``math.inf`` disables clipping).
        Song & Ermon report :math:`\tau = 5` as a good trade-off; small
        :math:`\tau` (e.g. 1) has less variance and more bias.

    Returns
    -------
    %(returns)s

    Notes
    -----
    %(training)s

    References
    ----------
    %(refs)s

    Examples
    --------
    >>> import numpy as np
    >>> from estimators.neural import mi_smile
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = 0.9 * x + np.sqrt(1 - 0.81) * rng.standard_normal(2000)
    >>> round(mi_smile(x, y, critic="separable", seed=0), 1)   # closed form 0.83
    0.8
    """
    return _estimate("smile", x, y, options)
