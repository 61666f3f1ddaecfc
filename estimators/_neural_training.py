r"""Training machinery of the neural MI bounds of :mod:`estimators.neural` (private).

What the four estimators (MINE, NWJ, InfoNCE, SMILE) share: the torch helpers
(input tensors, device, threads, standardisation), the critic networks, the
bounds on one batch's :math:`B \times B` score matrix :math:`S_{ij} = T(x_i, y_j)`,
and the training loop of Czyż et al. (2023). :func:`fit` takes checked
:class:`Settings` and returns the :class:`Trace` of the run; judging it
(divergence, convergence, InfoNCE's ceiling) and reporting the value is left
to :mod:`estimators.neural`.

torch is passed in as an argument (see :func:`import_torch`), never imported at
module level: ``import estimators`` stays light.
"""

from __future__ import annotations

import contextlib
import math
from typing import NamedTuple

import numpy as np

from ._validation import _check_shape, _is_torch_tensor, as_samples, warn


class Settings(NamedTuple):
    """The keyword arguments of a neural estimator, checked.

    The fields up to ``return_result`` are the parameters shared by the four estimators, in
    the order of their signatures, with their defaults; ``tau`` (SMILE's clipping) and
    ``ema`` (MINE's moving-average rate) carry the values the other bounds run with.
    """

    critic: str = "joint"
    hidden: int = 64
    layers: int = 2
    embed_dim: int = 32
    batch_size: int = 64
    lr: float = 1e-3
    max_steps: int = 5000
    eval_every: int = 100
    patience: int = 5
    min_delta: float = 0.005
    val_fraction: float = 0.5
    standardize: bool = True
    device: object = None
    num_threads: int | None = None
    seed: object = None
    base: float | None = None
    return_result: bool = False
    tau: float = math.inf
    ema: float = 0.01


class Trace(NamedTuple):
    """The record of one training run (values in nats)."""

    steps: list  # steps at which the critic was evaluated
    train: list  # mean batch value of the bound since the previous evaluation
    heldout: list  # the bound on the held-out half at each evaluation
    n_steps: int  # optimiser steps run
    best: float  # the largest held-out value (-inf when there was none)
    best_step: int  # the step that gave it
    converged: bool  # early stopping ended training
    diverged: bool  # a non-finite estimate ended training
    n_val: int  # held-out samples
    batch_size: int  # the batch size used (the requested one, or the smaller split's size)


# ----------------------------------------------------------------------------------------------
# torch helpers (torch is passed in; it is never imported at module level)
# ----------------------------------------------------------------------------------------------
def import_torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dev dependency
        raise ImportError(
            "the neural MI estimators (mine, nwj, infonce, smile) need PyTorch; install it with "
            "pip install 'infomeasure[torch]'"
        ) from None
    return torch


@contextlib.contextmanager
def _torch_threads(torch, num_threads):
    """Run with ``num_threads`` intra-op threads, restoring the caller's setting on exit."""
    old = torch.get_num_threads()
    if num_threads is not None and num_threads != old:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


def _as_tensor(torch, x, name, device):
    """Validate ``x`` and return a float32 tensor of shape (n, d) on ``device``.

    NumPy input goes through :func:`as_samples`; a torch tensor is checked where
    it lives (no round trip to the host).
    """
    if not _is_torch_tensor(x):
        arr = as_samples(x, name)
        return torch.as_tensor(arr, dtype=torch.float32, device=device)
    t = x.detach()
    if t.is_complex():
        raise TypeError(f"{name} is complex; pass real values (e.g. {name}.abs() or {name}.real)")
    t = _check_shape(t, name)
    t = t.to(device=device, dtype=torch.float32)
    finite = torch.isfinite(t)
    if not bool(finite.all()):
        n_nan = int(torch.isnan(t).sum())
        n_inf = int(t.numel() - int(finite.sum()) - n_nan)
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} infinite value(s); drop or impute "
            "those samples before estimating"
        )
    return t


def _standardize(T):
    """Centre each column and divide it by its standard deviation (constant columns: by 1)."""
    D = T.double()
    sd = D.std(dim=0, unbiased=False)
    sd = sd.masked_fill(sd == 0, 1.0)
    return ((D - D.mean(dim=0)) / sd).float()


# Excess kurtosis above which a column counts as heavy-tailed (Gaussian 0, exponential 6,
# Student-t with 3 degrees of freedom about 25-45 at N = 10^4-10^5, Cauchy in the thousands).
_KURTOSIS_WARN = 50.0


def _warn_heavy_tails(torch, T, name):
    """Warn when a column is so heavy-tailed that standardising it cannot help the critic."""
    D = T.double()
    Z = D - D.mean(dim=0)
    var = (Z * Z).mean(dim=0)
    ok = var > 0
    if not bool(ok.any()):
        return
    kurt = ((Z[:, ok] ** 4).mean(dim=0) / var[ok] ** 2 - 3.0).max()
    k = float(kurt)
    if k > _KURTOSIS_WARN:
        warn(
            f"{name} is heavy-tailed (excess kurtosis {k:.0f} in one column): after "
            "standardising, most samples sit near 0 and a few far out, and neural critics then "
            "often learn little (estimates far too low, or too high for SMILE). Apply an "
            f"invertible transform to each column first, e.g. np.arcsinh({name}) (np.log for "
            "positive data); it leaves the MI unchanged")


def _resolve_device(torch, x, y, device):
    if device is not None:
        try:
            return torch.device(device)
        except (TypeError, RuntimeError) as exc:
            raise ValueError(
                f"device must be a torch device such as 'cpu' or 'cuda:0'; got {device!r} ({exc})"
            ) from None
    devs = {v.device for v in (x, y) if _is_torch_tensor(v)}
    if len(devs) > 1:
        raise ValueError(
            f"x and y are on different devices ({', '.join(sorted(str(d) for d in devs))}); move "
            "them to one device or pass device="
        )
    return devs.pop() if devs else torch.device("cpu")


def _init_linear(torch, fan_in, fan_out, gen, bias=True):
    """Weights and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's default), from ``gen``."""
    bound = 1.0 / math.sqrt(fan_in)
    w = torch.empty(fan_out, fan_in).uniform_(-bound, bound, generator=gen)
    b = torch.empty(fan_out).uniform_(-bound, bound, generator=gen) if bias else None
    return w, b


def _mlp_params(torch, d_in, hidden, layers, d_out, gen):
    sizes = [d_in] + [hidden] * layers + [d_out]
    return [_init_linear(torch, a, b, gen) for a, b in zip(sizes[:-1], sizes[1:])]


def _mlp(torch, params, h, first_done=False):
    """Apply a ReLU MLP given as [(W, b), ...]; ``first_done``: h already holds layer 1's output."""
    F = torch.nn.functional
    start = 1 if first_done else 0
    if first_done:
        h = torch.relu(h)
    for i in range(start, len(params)):
        w, b = params[i]
        h = F.linear(h, w, b)
        if i < len(params) - 1:
            h = torch.relu(h)
    return h


def _make_critic(torch, kind, dx, dy, hidden, layers, embed_dim, gen, device):
    """Return (parameter list, scores(x, y) -> (B_x, B_y) matrix).

    joint:     T(x, y) = MLP([x, y]), layers hidden ReLU layers of width ``hidden``, one output.
               The first layer is split, W [x; y] = W_x x + W_y y, so that all B^2 pairs
               of a batch cost B^2 * hidden additions there instead of B^2 products.
    separable: T(x, y) = g(x)^T h(y), g and h ReLU MLPs (``layers`` x ``hidden``) to ``embed_dim``.
    """
    F = torch.nn.functional
    if kind == "joint":
        raw = _mlp_params(torch, dx + dy, hidden, layers, 1, gen)
        w0, b0 = raw[0]
        wx, wy = w0[:, :dx].contiguous(), w0[:, dx:].contiguous()
        tensors = [wx, wy, b0] + [t for wb in raw[1:] for t in wb]
        tensors = [torch.nn.Parameter(t.to(device)) for t in tensors]
        wx, wy, b0 = tensors[:3]
        rest = [(tensors[3 + 2 * i], tensors[4 + 2 * i]) for i in range(len(raw) - 1)]
        params_for_mlp = [(None, None)] + rest

        def scores(x, y):
            h = F.linear(x, wx, b0)[:, None, :] + F.linear(y, wy)[None, :, :]
            return _mlp(torch, params_for_mlp, h, first_done=True).squeeze(-1)

        return tensors, scores

    gx = _mlp_params(torch, dx, hidden, layers, embed_dim, gen)
    gy = _mlp_params(torch, dy, hidden, layers, embed_dim, gen)
    gx = [(torch.nn.Parameter(w.to(device)), torch.nn.Parameter(b.to(device))) for w, b in gx]
    gy = [(torch.nn.Parameter(w.to(device)), torch.nn.Parameter(b.to(device))) for w, b in gy]
    tensors = [t for wb in gx + gy for t in wb]

    def scores(x, y):
        return _mlp(torch, gx, x) @ _mlp(torch, gy, y).T

    return tensors, scores


# ----------------------------------------------------------------------------------------------
# the bounds, on one B x B score matrix S[i, j] = T(x_i, y_j)
# ----------------------------------------------------------------------------------------------
def _offdiag_lse(torch, S):
    """log sum_{i != j} exp(S_ij)."""
    B = S.shape[0]
    eye = torch.eye(B, dtype=torch.bool, device=S.device)
    return torch.logsumexp(S.masked_fill(eye, -math.inf).reshape(-1), dim=0)


def _batch_terms(torch, S, bound, tau):
    """Sufficient statistics of one batch for the held-out estimate (float64 scalars)."""
    B = S.shape[0]
    S = S.double()
    diag = S.diagonal()
    out = {"sum_diag": diag.sum(), "n_diag": B, "n_off": B * (B - 1)}
    if bound == "infonce":
        out["sum_nce"] = (diag - torch.logsumexp(S, dim=1)).sum() + B * math.log(B)
    elif bound == "smile":
        out["lse_off"] = _offdiag_lse(torch, S.clamp(-tau, tau))
    else:
        out["lse_off"] = _offdiag_lse(torch, S)
    return out


def _combine(bound, parts):
    """Held-out estimate (nats) from the per-batch statistics of :func:`_batch_terms`."""
    n_diag = sum(p["n_diag"] for p in parts)
    joint = sum(float(p["sum_diag"]) for p in parts) / n_diag
    if bound == "infonce":
        return sum(float(p["sum_nce"]) for p in parts) / n_diag
    lses = np.array([float(p["lse_off"]) for p in parts])
    n_off = sum(p["n_off"] for p in parts)
    m = lses.max()
    log_mean = (m + math.log(np.exp(lses - m).sum()) if math.isfinite(m) else m) - math.log(n_off)
    if bound == "nwj":  # exp overflows past 709: report -inf (a diverged critic), not an error
        return joint - math.exp(log_mean - 1.0) if log_mean < 700.0 else -math.inf
    return joint - log_mean  # DV (MINE) and SMILE (clipped)


class _Objective:
    """Training loss and the batch value of one bound."""

    def __init__(self, torch, bound, tau, ema):
        self.torch, self.bound, self.tau, self.ema = torch, bound, tau, ema
        self.log_ema = None  # MINE: log of the moving average of mean exp(T) over shuffled pairs

    def __call__(self, S):
        torch, bound = self.torch, self.bound
        F = torch.nn.functional
        B = S.shape[0]
        diag = S.diagonal()
        joint = diag.mean()
        if bound == "infonce":
            value = (diag - torch.logsumexp(S, dim=1)).mean() + math.log(B)
            return -value, value.detach()
        log_mean = _offdiag_lse(torch, S) - math.log(B * (B - 1))
        if bound == "nwj":
            value = joint - torch.exp(log_mean - 1.0)
            return -value, value.detach()
        if bound == "mine":
            # Belghazi et al. (2018): the gradient of log E_Q[e^T] is E_Q[grad T e^T] / E_Q[e^T];
            # the denominator is replaced by its exponential moving average (kept in logs).
            cur = log_mean.detach()
            if self.log_ema is None:
                self.log_ema = cur
            else:
                self.log_ema = torch.logaddexp(
                    self.log_ema + math.log1p(-self.ema), cur + math.log(self.ema)
                )
            loss = -(joint - torch.exp(log_mean - self.log_ema))
            return loss, (joint - log_mean).detach()
        # SMILE: critic trained with the Jensen-Shannon (f-GAN) bound; value is clipped DV
        B1 = B * (B - 1)
        sp_off = F.softplus(S).sum() - F.softplus(diag).sum()
        js = -F.softplus(-diag).mean() - sp_off / B1
        with torch.no_grad():
            value = joint - (_offdiag_lse(torch, S.clamp(-self.tau, self.tau)) - math.log(B1))
        return -js, value



# ----------------------------------------------------------------------------------------------
# the training loop shared by all four estimators
# ----------------------------------------------------------------------------------------------
def fit(torch, x, y, bound, s: Settings, rng) -> Trace:
    """Train a critic for ``bound`` on the pairs (x, y) with settings ``s``; the record of the run.

    ``rng`` (NumPy) draws, in this order, the held-out split, the seed of the critic's
    initial weights (a local ``torch.Generator``) and each epoch's shuffle of the
    training half, so that one seed gives one number on the CPU.
    """
    dev = _resolve_device(torch, x, y, s.device)
    X, Y = _load_pair(torch, x, y, dev)
    n_val, n_train = _split_sizes(X.shape[0], s.val_fraction)
    for T, name in ((X, "x"), (Y, "y")):
        _warn_heavy_tails(torch, T, name)
    B = _batch_size(bound, s.batch_size, n_train, n_val)
    # small critics: one CPU thread is fastest and does not oversubscribe
    threads = (1 if s.num_threads is None else s.num_threads) if dev.type == "cpu" else None
    with _torch_threads(torch, threads), torch.enable_grad():
        halves = _split(torch, X, Y, s.standardize, n_val, rng, dev)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        params, scores = _make_critic(
            torch, s.critic, X.shape[1], Y.shape[1], s.hidden, s.layers, s.embed_dim, gen, dev
        )
        return _train(torch, halves, params, scores, bound, B, s, rng, dev)


def _load_pair(torch, x, y, dev):
    """x and y as float32 (n, d) tensors on ``dev``, with the same number of rows."""
    X = _as_tensor(torch, x, "x", dev)
    Y = _as_tensor(torch, y, "y", dev)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples (rows): x has {X.shape[0]}, y has "
            f"{Y.shape[0]}. Samples run along axis 0; pair each sample of one variable with one "
            "of the other"
        )
    return X, Y


def _split_sizes(n, val_fraction):
    """(held-out, training) sample counts; each half needs two samples."""
    n_val = int(round(val_fraction * n))
    n_train = n - n_val
    if n_val < 2 or n_train < 2:
        raise ValueError(
            f"{n} samples with val_fraction={val_fraction} leave {n_train} for training and "
            f"{n_val} held out; each needs at least 2. Pass more samples"
        )
    return n_val, n_train


def _batch_size(bound, batch_size, n_train, n_val):
    """The batch size used: ``batch_size``, or the smaller split's size (with a warning)."""
    B = min(batch_size, n_train, n_val)
    if B < batch_size:
        warn(
            f"batch_size={batch_size} exceeds the {min(n_train, n_val)} samples of the smaller "
            f"split; using batches of {B}. Neural MI estimates from so few samples are unreliable"
            + (f" (and InfoNCE cannot exceed ln {B} = {math.log(B):.2f} nats)" if bound == "infonce" else ""))
    return B


class _Halves(NamedTuple):
    """The samples, split: trained on (``t``) and held out for the estimate (``v``)."""

    Xt: object  # training half
    Yt: object
    Xv: object  # held-out half
    Yv: object


def _split(torch, X, Y, standardize, n_val, rng, dev):
    """Standardise (optionally) and split at random into the training and held-out halves."""
    if standardize:  # out of place: X may share memory with the caller's tensor
        X, Y = _standardize(X), _standardize(Y)
    perm = rng.permutation(X.shape[0])
    idx_val = torch.as_tensor(perm[:n_val], device=dev)
    idx_train = torch.as_tensor(perm[n_val:], device=dev)
    Xv, Yv, Xt, Yt = X[idx_val], Y[idx_val], X[idx_train], Y[idx_train]
    return _Halves(Xt, Yt, Xv, Yv)


def _batches(torch, n_train, B, rng, dev):
    """Index batches of B training samples, the half reshuffled every epoch (a short tail is left out)."""
    while True:
        order = torch.as_tensor(rng.permutation(n_train), device=dev)
        for pos in range(0, n_train - B + 1, B):
            yield order[pos : pos + B]


def _step(objective, opt, S):
    """One Adam step on the loss of score matrix ``S``; the batch value of the bound."""
    loss, value = objective(S)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return value


def _heldout(torch, scores, Xv, Yv, B, bound, tau):
    """The bound on the held-out half, in batches of B (shuffled pairs pooled over batches)."""
    parts = []
    with torch.no_grad():
        for s in range(0, max(Xv.shape[0] - B + 1, 1), B):
            S = scores(Xv[s : s + B], Yv[s : s + B])
            parts.append(_batch_terms(torch, S, bound, tau))
    return _combine(bound, parts)


class _EarlyStopping:
    """The best held-out value so far, and whether it has stopped rising.

    Training stops once ``patience`` evaluations in a row have not beaten the best
    value by more than ``min_delta``.
    """

    def __init__(self, patience, min_delta):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_step, self.since_best = -math.inf, 0, 0

    def update(self, value, step):
        """Record the held-out ``value`` at ``step``; True when training should stop."""
        self.since_best = 0 if value > self.best + self.min_delta else self.since_best + 1
        if value > self.best:
            self.best, self.best_step = value, step
        return self.since_best >= self.patience


def _train(torch, halves, params, scores, bound, B, s, rng, dev):
    """Run the optimiser; the record of the run.

    Adam steps on mini-batches of the training half; every ``eval_every`` steps (and at
    the last) the bound is evaluated on the held-out half. Training ends at early stopping,
    at a non-finite estimate (training or held-out) or after ``max_steps`` steps.
    """
    opt = torch.optim.Adam(params, lr=s.lr)
    objective = _Objective(torch, bound, s.tau, s.ema)
    batches = _batches(torch, halves.Xt.shape[0], B, rng, dev)
    stopping = _EarlyStopping(s.patience, s.min_delta)
    steps, train_curve, held_curve = [], [], []
    converged, diverged = False, False
    acc, n_acc, step = 0.0, 0, 0
    while step < s.max_steps:
        bi = next(batches)
        value = _step(objective, opt, scores(halves.Xt[bi], halves.Yt[bi]))
        acc = acc + value  # stays on the device: no synchronisation per step
        n_acc += 1
        step += 1
        if step % s.eval_every == 0 or step == s.max_steps:
            v = _heldout(torch, scores, halves.Xv, halves.Yv, B, bound, s.tau)
            t = float(acc) / n_acc
            if not (math.isfinite(v) and math.isfinite(t)):
                diverged = True
                break
            steps.append(step)
            train_curve.append(t)
            held_curve.append(v)
            acc, n_acc = 0.0, 0
            if stopping.update(v, step):
                converged = True
                break
    return Trace(steps, train_curve, held_curve, step, stopping.best, stopping.best_step,
                 converged, diverged, halves.Xv.shape[0], B)
