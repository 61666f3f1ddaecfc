r"""Gradient alignment: the cosine between the gradients of the loss and of a layer's spectral entropy.

:class:`GradientAlignment` is a probe measure (``Probes(measures=[GradientAlignment()])``) that
asks, at each probe step, whether the training loss pushes a layer's representation towards
lower or higher spectral entropy. On the fixed probe set, with the model in eval mode,

.. math:: \cos\angle\big(\nabla_\theta L_{\mathrm{CE}},\ \nabla_\theta S(Z_\ell)\big)
          = \frac{\langle \nabla_\theta L, \nabla_\theta S\rangle}
                 {\lVert \nabla_\theta L\rVert\, \lVert \nabla_\theta S\rVert}

where :math:`Z_\ell` is the layer's reduced ``(n_samples, n_features)`` output,
:math:`S` its matrix-based or von Neumann entropy (:mod:`estimators.differentiable`) and
:math:`\theta` the model's trainable parameters. A gradient-descent step moves the parameters
along :math:`-\nabla_\theta L`, which changes :math:`S` at the rate
:math:`-\langle\nabla L, \nabla S\rangle`: a **positive** cosine means training is compressing the
layer (its entropy falls), a **negative** one that it is expanding it, near 0 that the loss is
indifferent to the layer's spread. This is the quantity followed over pretraining in studies of
matrix entropy and the loss (e.g. the compression phases of Skean et al. 2025, and the entropy /
loss gradient interplay studied by Li et al. 2025).

The gradients come from ``torch.autograd.grad``: nothing is accumulated into the parameters'
``.grad``, no optimiser state is touched, the train/eval mode of every module and the RNG states
are restored, so training is exactly the same with or without the probe. Cost per probe step:
one forward pass with autograd over the probe set (its graph is kept until both gradients are
taken) and two backward passes per layer measured, in the training thread.
"""

from __future__ import annotations

import math
import numbers

from ._capture import batch_axis, declared_batch_first, frozen_state, select_output, unwrap
from ._probe_data import batch_len
from .measures import Measure, reduce_rows

__all__ = ["GradientAlignment"]

_ENTROPIES = ("matrix_entropy", "von_neumann_entropy")


class GradientAlignment(Measure):
    r"""Cosine between the gradients of the loss and of a layer's spectral entropy w.r.t. the parameters.

    See the module docstring for the definition and its sign: positive when a gradient-descent
    step on the loss lowers the layer's entropy. Probes compute it in probe mode on the fixed
    ``probe_data`` (one row per layer and probe step, ``measure="gradient_alignment"``, unitless,
    between -1 and 1); it cannot be computed from saved activations (it needs the model).

    Parameters
    ----------
    entropy : {"matrix_entropy", "von_neumann_entropy"}, default "matrix_entropy"
        The entropy of the layer's representation, as in :mod:`estimators.differentiable`.
    alpha : float, default 1.0
        Order of the matrix-based entropy.
    kernel : {"linear", "gaussian"}, default "linear"
    sigma : float, "median" or "rms", optional
        Gaussian bandwidth (see :func:`estimators.differentiable.matrix_entropy`).
    loss_fn : callable, optional
        ``loss_fn(output, labels) -> scalar tensor`` of the model's output on a probe batch and
        that batch's labels. Default: the model's own ``output.loss`` when it returns one (Hugging
        Face models given ``labels`` in a dict probe batch), else the cross-entropy of the logits
        (``select_output(output)``, classes on the last axis, positions flattened; targets -100
        ignored) against the probe labels. With several probe batches the loss is the mean of the
        batch losses weighted by batch size.
    parameters : {"upstream", "all"}, default "upstream"
        The parameters the cosine is taken over. ``"upstream"``: those the layer's output depends
        on (the only ones the entropy has a gradient for); ``"all"``: every trainable parameter
        (the loss gradient of later layers then only enlarges its norm).
    name : str, optional
        The ``measure`` column (default ``"gradient_alignment"``); give different names to two
        variants probed together.

    Notes
    -----
    The representation is the layer's output as probes see it (``output=`` and ``reduce=`` of
    :class:`~infomeasure.probes.Probes`), over the whole probe set at once: the entropy of
    ``n`` samples is not a sum over batches, so every probe batch's graph is kept until the
    gradients are taken; keep the probe set to a few hundred samples. A zero gradient (a layer
    the loss does not reach, a dead layer) gives an error row, not a cosine. Not available in tap
    mode or under ``torch.distributed`` with more than one process (construction raises).

    References
    ----------
    O. Skean, M. R. Arefin, D. Zhao, N. Patel, J. Naghiyev, Y. LeCun, R. Shwartz-Ziv, "Layer by
    layer: uncovering hidden representations in language models", ICML 2025.
    M. Z. Li, K. K. Agrawal, A. Ghosh, K. K. Teru, A. Santoro, G. Lajoie, B. A. Richards,
    "Tracing the representation geometry of language models from pretraining to post-training",
    NeurIPS 2025.

    Examples
    --------
    >>> import torch, infomeasure as im
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    >>> x, y = torch.randn(128, 8), torch.randint(0, 3, (128,))
    >>> with im.Probes(model, layers=["1"], measures=[im.GradientAlignment()], every=10,
    ...                probe_data=(x, y), background=False) as probes:
    ...     _ = probes.step(0)
    >>> row = probes.results[0]
    >>> row["measure"], -1.0 <= row["value"] <= 1.0
    ('gradient_alignment', True)
    """

    name = "gradient_alignment"
    method = "gradient_alignment"
    higher_is_better = None
    unitless = True
    quantity = None
    lower = -1.0
    #: Fed by the probes from the model (:func:`measure_model`), not from the captured outputs:
    #: it travels the streaming measures' path (``finalize`` of a state), with ``update`` a no-op.
    streaming = True
    #: Probes compute it from the model on the probe set, in the training thread.
    needs_model = True

    def __init__(self, *, entropy="matrix_entropy", alpha=1.0, kernel="linear", sigma=None, loss_fn=None,
                 parameters="upstream", name=None):
        if entropy not in _ENTROPIES:
            raise ValueError(f"entropy must be one of {list(_ENTROPIES)}; got {entropy!r}")
        if entropy == "von_neumann_entropy" and (alpha != 1.0 or kernel != "linear" or sigma is not None):
            raise ValueError("entropy='von_neumann_entropy' takes no alpha, kernel or sigma; use "
                             "entropy='matrix_entropy' for those")
        if loss_fn is not None and not callable(loss_fn):
            raise TypeError(f"loss_fn must be a function loss_fn(output, labels) -> scalar tensor; got {loss_fn!r}")
        if parameters not in ("upstream", "all"):
            raise ValueError(f"parameters must be 'upstream' or 'all'; got {parameters!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"name must be a non-empty string; got {name!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not float(alpha) >= 0:
            raise ValueError(f"alpha must be a real number >= 0 (or inf); got {alpha!r}")
        if kernel not in ("linear", "gaussian"):
            raise ValueError(f"kernel must be 'linear' or 'gaussian'; got {kernel!r}")
        if not (sigma is None or sigma in ("median", "rms") or (
                isinstance(sigma, numbers.Real) and not isinstance(sigma, bool) and 0 < float(sigma) < math.inf)):
            raise ValueError(f"sigma must be a positive number, 'median', 'rms' or None; got {sigma!r}")
        super().__init__(entropy=entropy, alpha=float(alpha), kernel=kernel, sigma=sigma, loss_fn=loss_fn,
                         parameters=parameters)
        if name is not None:
            self.name = name

    def maximum(self, n_samples, n_features):
        return 1.0

    # the streaming path: the state is what measure_model computed ({"": cosine}), or None
    def init(self):
        return None

    def update(self, state, output, batch=None):
        return state

    def finalize(self, state) -> dict:
        if not isinstance(state, dict):
            raise ValueError(
                f"{self.name} needs the model (gradients w.r.t. its parameters): it is computed by "
                "Probes(..., mode='probe') during training, not from saved activations"
            )
        return state

    def entropy_of(self, Z):
        """The differentiable entropy of a representation ``Z`` (a 0-d tensor, nats)."""
        from estimators import differentiable

        p = self.params
        if p["entropy"] == "von_neumann_entropy":
            return differentiable.von_neumann_entropy(Z)
        return differentiable.matrix_entropy(Z, p["alpha"], kernel=p["kernel"], sigma=p["sigma"])


# ------------------------------------------------------------------------------------------------
# the probes' side
# ------------------------------------------------------------------------------------------------
def check_probes(probes) -> None:
    """Refuse, at construction, probes whose gradient measures cannot run (tap mode, several processes, no labels)."""
    names = [m.name for m in probes.measures if getattr(m, "needs_model", False)]
    if not names:
        return
    if probes.mode != "probe":
        raise ValueError(f"{names} need the fixed probe set and the model: use mode='probe'")
    if probes._world > 1:
        raise ValueError(
            f"{names} are computed on one process: under torch.distributed with {probes._world} processes "
            "leave them out (or probe them in a single-process run)"
        )
    default_loss = [m.name for m in probes.measures
                    if getattr(m, "needs_model", False) and m.params.get("loss_fn") is None]
    in_batch = all(isinstance(b, dict) and "labels" in b for b in probes._batches)
    if default_loss and probes._labels is None and not in_batch:
        raise ValueError(
            f"{default_loss} use the cross-entropy against the probe labels by default: pass "
            "probe_data=(inputs, labels), a dict batch with 'labels' (models that return .loss), or loss_fn="
        )


def _loss(output, labels, loss_fn):
    import torch

    if loss_fn is not None:
        loss = loss_fn(output, labels)
    else:
        own = getattr(output, "loss", None) if not isinstance(output, torch.Tensor) else None
        if own is None and hasattr(output, "keys") and "loss" in output.keys():
            own = output["loss"]
        if isinstance(own, torch.Tensor):
            loss = own
        else:
            if labels is None:
                raise ValueError("the default loss needs probe labels: pass probe_data=(inputs, labels) or loss_fn=")
            logits = select_output(output)
            if logits.ndim < 2:
                raise ValueError(
                    f"the default loss is the cross-entropy of logits with classes on the last axis; the model output "
                    f"has shape {tuple(logits.shape)}: pass loss_fn=")
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]).float(), labels.to(logits.device).reshape(-1).long(),
                ignore_index=-100)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise TypeError(f"the loss must be a scalar tensor; got {type(loss).__name__}"
                        f"{'' if not isinstance(loss, torch.Tensor) else ' of shape ' + str(tuple(loss.shape))}")
    if not loss.requires_grad:
        raise ValueError("the loss does not depend on any trainable parameter (requires_grad is False)")
    return loss.reshape(())


def _cosine(g_loss, g_ent, scope: str, what: str) -> float:
    """The cosine of two gradient lists over the parameters (``None``: not reached), in float64."""
    dot = n_loss = n_ent = 0.0
    for a, b in zip(g_loss, g_ent):
        if b is None and scope == "upstream":
            continue
        if a is not None:
            a = a.detach().double()
            n_loss += float((a * a).sum())
        if b is not None:
            b = b.detach().double()
            n_ent += float((b * b).sum())
        if a is not None and b is not None:
            dot += float((a * b).sum())
    if not (n_ent > 0):
        raise ValueError(f"{what}: the gradient of the entropy w.r.t. the parameters is zero (a dead layer, or one "
                         "without trainable parameters upstream); the cosine is undefined")
    if not (n_loss > 0):
        raise ValueError(f"{what}: the gradient of the loss w.r.t. the parameters{' upstream of the layer' * (scope == 'upstream')} "
                         "is zero; the cosine is undefined")
    value = dot / (math.sqrt(n_loss) * math.sqrt(n_ent))
    if not math.isfinite(value):
        raise ValueError(f"{what}: the gradients are not finite")
    return max(-1.0, min(1.0, value))


def measure_model(probes, states, errors) -> None:
    """Compute every gradient measure of ``probes`` on its probe set; results go into ``states``.

    ``states[layer][name]`` becomes ``{"": cosine}``; a failure becomes ``errors[layer][name]`` (an
    error row; raised with ``strict=True``). Called by :class:`~infomeasure.probes.Probes` after
    each probe-mode capture.
    """
    import torch

    todo = {n: [m for m in probes._active(n) if getattr(m, "needs_model", False)] for n in probes.layers}
    todo = {n: ms for n, ms in todo.items() if ms}
    if not todo:
        return
    module = unwrap(probes.model)
    params = [p for p in module.parameters() if p.requires_grad]
    reps: dict = {n: [] for n in todo}
    batches: list = []  # (rows, output, labels) of each probe batch, graphs attached
    current = [None]

    def hook_for(name, mod):
        sel = probes.output.get(name) if isinstance(probes.output, dict) else probes.output
        declared = declared_batch_first(mod)

        def hook(_mod, _inp, out):
            t = select_output(out, sel)
            ax = batch_axis(t.shape, current[0], declared, f"layer {name!r}") if t.ndim else 0
            t = t.movedim(ax, 0) if ax else t
            reps[name].append(reduce_rows(t, probes.reduce, rows="batch", what="output"))

        return hook

    def fail(e):
        if probes.strict:
            raise e
        for name, ms in todo.items():
            for m in ms:
                errors[name][m.name] = e

    loss_grads: dict = {}

    def gradient_of_loss(loss_fn):
        key = id(loss_fn)
        if key not in loss_grads:
            try:
                total = sum(nb for nb, _, _ in batches)
                loss = sum(nb * _loss(out, y, loss_fn) for nb, out, y in batches) / total
                loss_grads[key] = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
            except Exception as e:  # noqa: BLE001 - the error row of every measure with this loss
                loss_grads[key] = e
        g = loss_grads[key]
        if isinstance(g, Exception):
            raise g
        return g

    handles = []
    try:
        with frozen_state(module), torch.enable_grad():
            try:
                for n in todo:
                    handles.append(probes.layers[n].register_forward_hook(hook_for(n, probes.layers[n])))
                start = 0
                for batch in probes._batches:
                    nb = current[0] = batch_len(batch)
                    out = module(**batch) if isinstance(batch, dict) else module(batch)
                    y = None if probes._labels is None else probes._labels[start:start + nb]
                    batches.append((nb, out, y))
                    start += nb
            except Exception as e:  # noqa: BLE001 - the forward pass failed: error rows
                fail(e)
                return
            finally:
                while handles:
                    handles.pop().remove()
            for name, ms in todo.items():
                for m in ms:
                    try:
                        g_loss = gradient_of_loss(m.params["loss_fn"])
                        if not reps[name]:
                            raise ValueError(f"layer {name!r} gave no output in the probe pass")
                        Z = reps[name][0] if len(reps[name]) == 1 else torch.cat(reps[name])
                        H = m.entropy_of(Z)
                        if not H.requires_grad:
                            raise ValueError(f"layer {name!r}: its output does not depend on any trainable parameter")
                        g_ent = torch.autograd.grad(H, params, retain_graph=True, allow_unused=True)
                        states[name][m.name] = {"": _cosine(g_loss, g_ent, m.params["parameters"], m.name)}
                    except Exception as e:  # noqa: BLE001 - an error row
                        if probes.strict:
                            raise
                        errors[name][m.name] = e
    finally:
        while handles:
            handles.pop().remove()
        batches.clear()
        reps.clear()
        loss_grads.clear()
