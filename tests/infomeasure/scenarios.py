"""A corpus of small training runs whose health is known, for testing the report's alerts against.

Each ``scenario_*`` function trains a tiny model on CPU (seconds, deterministic seeds, one torch
thread) with :class:`infomeasure.Probes` on a fixed held-out probe set, logs train and held-out
accuracy (and the training loss while it is finite) with ``probes.log``, and returns a
:class:`Scenario`: the result rows, the number of classes and the verdict a careful researcher
would give the run. :data:`SCENARIOS` maps names to the functions; ``VERDICTS`` the expected
verdicts in words (the tests in ``test_scenarios.py`` assert the alerts that go with them).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

#: What every representation is measured with: an uncentred and a centred effective rank, the
#: von Neumann entropy (uncentred, rows normalised), DSMI and kNN MI with the held-out labels.
MEASURES = ("rankme", "effective_rank", "von_neumann_entropy", "dsmi", ("mi_labels", {"noise": 1e-10, "seed": 0}))


@dataclass
class Scenario:
    """A probed run: its rows, the number of classes of its labels and its verdict."""

    name: str
    rows: list
    n_classes: int
    verdict: str


VERDICTS = {
    "generalising": "healthy: learns, held-out accuracy rises; the representation compresses towards the class count",
    "memorising": "memorises shuffled labels: train accuracy rises, held-out accuracy stays at chance",
    "label_noise": "healthy learning under 50% label noise: held-out accuracy well above train accuracy",
    "dead_relu": "broken: a bias initialised at -20 kills every ReLU of the first layer; nothing trains",
    "collapse": ("representation collapse: extreme weight decay (0.2) squeezes the last hidden layer onto its mean "
                 "direction (rankme 42 -> 1) and nothing is learned"),
    "divergence": "diverges: SGD with learning rate 1e4 and momentum 0.9 blows the weights up to NaN within a few steps",
    "cnn": "healthy CNN: non-negative ReLU conv features, held-out accuracy about 0.9",
    "transformer": "healthy 2-layer transformer (post-LayerNorm) on a binary task: label MI saturates at ln 2",
}


def _digits(seed=0, n_probe=300):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    perm = np.random.default_rng(seed).permutation(len(X))
    probe, train = perm[:n_probe], perm[n_probe:]
    return X[train], y[train].astype(np.int64), X[probe], y[probe].astype(np.int64)


def _mlp(torch, width=128, bias_init=None):
    model = torch.nn.Sequential()
    model.add_module("hidden1", torch.nn.Sequential(torch.nn.Linear(64, width), torch.nn.ReLU()))
    model.add_module("hidden2", torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.ReLU()))
    model.add_module("out", torch.nn.Linear(width, 10))
    if bias_init is not None:
        with torch.no_grad():
            model.hidden1[0].bias.fill_(bias_init)
    return model


def _accuracy(torch, model, x, y):
    with torch.no_grad():
        out = model(x)
    if not bool(torch.isfinite(out).all()):
        return None
    return float((out.argmax(1) == y).float().mean())


def _train(name, model, opt, train, probe, *, steps, every, batch_size, layers, seed, verdict, n_classes,
           reduce="mean"):
    """Train ``model`` with ``opt`` on ``train`` (inputs, labels), probing ``layers`` every ``every`` steps."""
    import torch

    from infomeasure.probes import Probes

    xt, yt = train
    xp, yp = probe
    gen = torch.Generator().manual_seed(seed)
    n = len(xt)
    probes = Probes(model, layers, measures=list(MEASURES), every=every, probe_data=(xp, yp), seed=seed,
                    background=False, reduce=reduce, progress=False)
    with probes:
        for step in range(steps + 1):
            if probes.step(step):
                model.eval()
                logged = {"train_accuracy": _accuracy(torch, model, xt, yt),
                          "heldout_accuracy": _accuracy(torch, model, xp, yp)}
                with torch.no_grad():
                    loss = float(torch.nn.functional.cross_entropy(model(xt), yt))
                if math.isfinite(loss):
                    logged["train_loss"] = loss
                model.train()
                logged = {k: v for k, v in logged.items() if v is not None and math.isfinite(v)}
                if logged:
                    probes.log(step, **logged)
            if step == steps:
                break
            idx = torch.randint(0, n, (min(batch_size, n),), generator=gen) if batch_size < n else slice(None)
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        rows = list(probes.results)
    return Scenario(name, rows, n_classes, verdict)


def _run(fn):
    """Run ``fn(torch)`` with one torch thread and the earlier thread count restored."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():  # the estimators' sample-size warnings: the alerts give one caveat
            warnings.simplefilter("ignore", UserWarning)
            return fn(torch)
    finally:
        torch.set_num_threads(threads)


def _tensors(torch, *arrays):
    return [torch.from_numpy(a) for a in arrays]


def _mlp_scenario(name, seed, optimizer, *, relabel=None, n_train=None, width=128, bias_init=None, steps=400,
                  every=50, batch_size=128):
    """One of the MLP-on-digits scenarios: the training labels changed by ``relabel(ytr)``, the first
    ``n_train`` training images, and ``optimizer(torch, parameters)``; probes on both hidden layers."""
    def fn(torch):
        Xtr, ytr, Xp, yp = _digits(seed)
        if n_train is not None:
            Xtr, ytr = Xtr[:n_train], ytr[:n_train]
        if relabel is not None:
            ytr = relabel(ytr)
        torch.manual_seed(seed)
        model = _mlp(torch, width=width, bias_init=bias_init)
        xt, yt, xp, ypt = _tensors(torch, Xtr, ytr, Xp, yp)
        return _train(name, model, optimizer(torch, model.parameters()), (xt, yt), (xp, ypt), steps=steps,
                      every=every, batch_size=batch_size, layers=["hidden1", "hidden2"], seed=seed,
                      verdict=VERDICTS[name], n_classes=10)
    return _run(fn)


def _adam(lr):
    return lambda torch, params: torch.optim.Adam(params, lr=lr)


def scenario_generalising(seed=0):
    """An MLP on the true digit labels: held-out accuracy rises to about 0.95."""
    return _mlp_scenario("generalising", seed, _adam(1e-3))


def scenario_memorising(seed=0):
    """The same MLP on 256 training images with shuffled labels, full batch, until it has memorised them."""
    return _mlp_scenario("memorising", seed, _adam(3e-3), n_train=256, width=256, batch_size=256,
                         relabel=lambda y: np.random.default_rng(seed + 1).permutation(y))


def scenario_label_noise(seed=0):
    """The MLP with half of the training labels replaced by uniformly random ones."""
    def relabel(y):
        rng = np.random.default_rng(seed + 2)
        noisy = rng.random(len(y)) < 0.5
        return np.where(noisy, rng.integers(0, 10, len(y)), y)

    return _mlp_scenario("label_noise", seed, _adam(1e-3), relabel=relabel)


def scenario_dead_relu(seed=0):
    """First-layer biases initialised at -20: every ReLU of ``hidden1`` is dead from the start."""
    return _mlp_scenario("dead_relu", seed, _adam(1e-3), bias_init=-20.0, steps=200)


COLLAPSE_WEIGHT_DECAY = 0.2


def scenario_collapse(seed=0):
    """SGD with an extreme weight decay: the last hidden layer collapses onto one direction (its mean)."""
    return _mlp_scenario("collapse", seed, lambda torch, params: torch.optim.SGD(
        params, lr=0.1, weight_decay=COLLAPSE_WEIGHT_DECAY))


def scenario_divergence(seed=0):
    """SGD with learning rate 1e4 and momentum 0.9: the loss explodes and the weights become NaN."""
    return _mlp_scenario("divergence", seed, lambda torch, params: torch.optim.SGD(params, lr=1e4, momentum=0.9),
                         steps=40, every=5)


def scenario_cnn(seed=0):
    """A small CNN on the 8x8 digits; its probed conv layers give non-negative (post-ReLU) features."""
    def fn(torch):
        Xtr, ytr, Xp, yp = _digits(seed)
        torch.manual_seed(seed)
        nn = torch.nn
        model = nn.Sequential()
        model.add_module("conv1", nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU()))
        model.add_module("conv2", nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU()))
        model.add_module("head", nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(128, 10)))
        xt, yt, xp, ypt = _tensors(torch, Xtr.reshape(-1, 1, 8, 8), ytr, Xp.reshape(-1, 1, 8, 8), yp)
        return _train("cnn", model, torch.optim.Adam(model.parameters(), lr=3e-3), (xt, yt), (xp, ypt),
                      steps=300, every=50, batch_size=128, layers=["conv1", "conv2"], seed=seed,
                      verdict=VERDICTS["cnn"], n_classes=10)
    return _run(fn)


#: The transformer's configuration (a post-LayerNorm encoder, as in BERT).
TRANSFORMER_CONFIG = {"vocab_size": 16, "seq_len": 12, "d_model": 32, "n_heads": 4, "d_ff": 64, "n_layers": 2}


def _sequences(rng, n, cfg):
    """Token sequences; label 1 when more tokens come from the lower half of the vocabulary."""
    tokens = rng.integers(0, cfg["vocab_size"], (n, cfg["seq_len"]))
    low = (tokens < cfg["vocab_size"] // 2).sum(1)
    keep = low * 2 != cfg["seq_len"]  # no ties
    return tokens[keep], (low[keep] * 2 > cfg["seq_len"]).astype(np.int64)


def scenario_transformer(seed=0, config=None):
    """A 2-layer transformer encoder built from :data:`TRANSFORMER_CONFIG` on a binary counting task."""
    cfg = dict(TRANSFORMER_CONFIG, **(config or {}))

    def fn(torch):
        nn = torch.nn
        rng = np.random.default_rng(seed)
        tt, yt_ = _sequences(rng, 3000, cfg)
        tp, yp_ = _sequences(rng, 400, cfg)
        torch.manual_seed(seed)

        class Encoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(cfg["vocab_size"], cfg["d_model"])
                self.pos = nn.Parameter(0.02 * torch.randn(cfg["seq_len"], cfg["d_model"]))
                self.layers = nn.ModuleList(
                    nn.TransformerEncoderLayer(cfg["d_model"], cfg["n_heads"], cfg["d_ff"], dropout=0.0,
                                               batch_first=True) for _ in range(cfg["n_layers"]))
                self.head = nn.Linear(cfg["d_model"], 2)

            def forward(self, tokens):
                h = self.embed(tokens) + self.pos
                for layer in self.layers:
                    h = layer(h)
                return self.head(h.mean(1))

        model = Encoder()
        layers = [f"layers.{i}" for i in range(cfg["n_layers"])]
        xt, yt, xp, ypt = _tensors(torch, tt, yt_, tp, yp_)
        return _train("transformer", model, torch.optim.Adam(model.parameters(), lr=2e-3), (xt, yt), (xp, ypt),
                      steps=300, every=50, batch_size=128, layers=layers, seed=seed,
                      verdict=VERDICTS["transformer"], n_classes=2)
    return _run(fn)


SCENARIOS = {
    "generalising": scenario_generalising,
    "memorising": scenario_memorising,
    "label_noise": scenario_label_noise,
    "dead_relu": scenario_dead_relu,
    "collapse": scenario_collapse,
    "divergence": scenario_divergence,
    "cnn": scenario_cnn,
    "transformer": scenario_transformer,
}
