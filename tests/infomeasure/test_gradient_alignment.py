"""GradientAlignment: the cosine against a hand computation, training left untouched, rows, errors."""

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import infomeasure as im  # noqa: E402
from estimators import spectral as S  # noqa: E402
from infomeasure.gradient_probe import GradientAlignment  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _fd(f, Z, h=1e-6):
    G = np.zeros_like(Z)
    for idx in np.ndindex(*Z.shape):
        E = np.zeros_like(Z)
        E[idx] = h
        G[idx] = (f(Z + E) - f(Z - E)) / (2 * h)
    return G


def _tiny(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)).double()
    x = torch.randn(20, 3, dtype=torch.float64)
    y = torch.randint(0, 2, (20,))
    return model, x, y


def _by_hand(model, x, y, entropy, scope):
    """The cosine from closed-form gradients of a linear-linear model and finite differences of the NumPy entropy."""
    W1, b1 = model[0].weight.detach().numpy(), model[0].bias.detach().numpy()
    W2, b2 = model[1].weight.detach().numpy(), model[1].bias.detach().numpy()
    X, Y = x.numpy(), y.numpy()
    Z = X @ W1.T + b1
    logits = Z @ W2.T + b2
    P = np.exp(logits - logits.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    G = (P - np.eye(2)[Y]) / len(Y)  # d mean CE / d logits
    dZ = G @ W2
    gL = {"W1": dZ.T @ X, "b1": dZ.sum(0), "W2": G.T @ Z, "b2": G.sum(0)}
    dS = _fd(entropy, Z)  # d S / d Z
    gS = {"W1": dS.T @ X, "b1": dS.sum(0), "W2": np.zeros_like(W2), "b2": np.zeros_like(b2)}
    names = ["W1", "b1"] if scope == "upstream" else ["W1", "b1", "W2", "b2"]
    dot = sum((gL[k] * gS[k]).sum() for k in names)
    nl = math.sqrt(sum((gL[k] ** 2).sum() for k in names))
    ns = math.sqrt(sum((gS[k] ** 2).sum() for k in names))
    return dot / (nl * ns)


def _probe(model, x, y, measures, **kw):
    with im.Probes(model, layers=["0"], measures=measures, every=1, probe_data=(x, y), background=False,
                   **kw) as probes:
        probes.step(0)
    return {r["measure"]: r for r in probes.results}


@pytest.mark.parametrize("scope", ["upstream", "all"])
def test_cosine_matches_a_hand_computation(scope):
    model, x, y = _tiny()
    measures = [
        GradientAlignment(parameters=scope, name="me1"),
        GradientAlignment(alpha=2.0, parameters=scope, name="me2"),
        GradientAlignment(entropy="von_neumann_entropy", parameters=scope, name="vne"),
        GradientAlignment(kernel="gaussian", sigma="rms", parameters=scope, name="gauss"),
    ]
    rows = _probe(model, x, y, measures)
    refs = {
        "me1": lambda Z: S.matrix_entropy(Z),
        "me2": lambda Z: S.matrix_entropy(Z, 2.0),
        "vne": S.von_neumann_entropy,
        "gauss": lambda Z: S.matrix_entropy(Z, kernel="gaussian", sigma="rms"),
    }
    for name, f in refs.items():
        row = rows[name]
        assert row["error"] is None, row["error"]
        assert row["method"] == "gradient_alignment" and row["units"] == "unitless" and row["layer"] == "0"
        assert row["value"] == pytest.approx(_by_hand(model, x, y, f, scope), abs=1e-7)
    if scope == "all":  # downstream parameters only add to the loss gradient's norm
        up = _probe(model, x, y, [GradientAlignment(name="me1")])["me1"]["value"]
        assert abs(rows["me1"]["value"]) < abs(up)


def test_several_probe_batches_give_the_same_cosine():
    model, x, y = _tiny(1)
    one = _probe(model, x, y, [GradientAlignment()])["gradient_alignment"]["value"]
    three = _probe(model, x, y, [GradientAlignment()], batch_size=7)["gradient_alignment"]["value"]
    assert three == pytest.approx(one, abs=1e-12)


def test_a_custom_loss_function():
    model, x, y = _tiny(2)
    target = torch.randn(20, 2, dtype=torch.float64)

    def mse(out, labels):
        return ((out - target[: out.shape[0]]) ** 2).mean()

    row = _probe(model, x, y, [GradientAlignment(loss_fn=mse)])["gradient_alignment"]
    # by hand: d mean((logits - t)^2) / d logits = 2 (logits - t) / (n * 2)
    with torch.enable_grad():
        Z = model[0](x)
        loss = mse(model[1](Z), y)
        gl = torch.autograd.grad(loss, list(model[0].parameters()))
    Zn = Z.detach().numpy()
    dS = _fd(lambda z: S.matrix_entropy(z), Zn)
    gs = [dS.T @ x.numpy(), dS.sum(0)]
    dot = sum(float((a.numpy() * b).sum()) for a, b in zip(gl, gs))
    ref = dot / (math.sqrt(sum(float((a ** 2).sum()) for a in gl)) * math.sqrt(sum(float((b ** 2).sum()) for b in gs)))
    assert row["value"] == pytest.approx(ref, abs=1e-7)


def _train(with_probe, steps=6):
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                torch.nn.Dropout(0.3), torch.nn.Linear(8, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(4)
    xp, yp = torch.randn(32, 5, generator=gen), torch.randint(0, 3, (32,), generator=gen)
    probes = None
    if with_probe:
        probes = im.Probes(model, layers=["2"], measures=[GradientAlignment(), "rankme"], every=2,
                           probe_data=(xp, yp), background=False)
    grads_after = []
    for step in range(steps):
        xb, yb = torch.randn(16, 5, generator=gen), torch.randint(0, 3, (16,), generator=gen)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xb), yb).backward()
        if probes is not None:
            probes.step(step)  # between backward and the optimiser step: .grad must be untouched
        grads_after.append([p.grad.clone() for p in model.parameters()])
        opt.step()
    if probes is not None:
        probes.close()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    return state, grads_after, model.training, (probes.results if probes is not None else None)


def test_training_is_identical_with_and_without_the_probe():
    plain, grads_plain, mode_plain, _ = _train(False)
    probed, grads_probed, mode_probed, rows = _train(True)
    assert mode_plain and mode_probed
    assert plain.keys() == probed.keys()
    for k in plain:  # parameters, BatchNorm running statistics and counters
        assert torch.equal(plain[k], probed[k]), k
    for a, b in zip(grads_plain, grads_probed):
        assert all(torch.equal(u, v) for u, v in zip(a, b))
    ga = [r for r in rows if r["measure"] == "gradient_alignment"]
    assert [r["step"] for r in ga] == [0, 2, 4]
    assert all(r["error"] is None and -1.0 <= r["value"] <= 1.0 for r in ga)


def test_background_mode_and_run_dir(tmp_path):
    model, x, y = _tiny(5)
    with im.Probes(model, layers=["0"], measures=[GradientAlignment()], every=1, probe_data=(x, y),
                   background=True, run_dir=tmp_path / "run") as probes:
        probes.step(0)
        probes.step(1)
    ref = _probe(model, x, y, [GradientAlignment()])["gradient_alignment"]["value"]
    assert [r["value"] for r in probes.results] == pytest.approx([ref, ref], abs=1e-12)
    stored = im.read_metrics(tmp_path / "run")
    assert [r["measure"] for r in stored] == ["gradient_alignment"] * 2


def test_a_layer_without_upstream_parameters_gives_an_error_row():
    torch.manual_seed(6)
    model = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(3, 2))
    x, y = torch.randn(10, 3), torch.randint(0, 2, (10,))
    with im.Probes(model, layers=["0"], measures=[GradientAlignment()], every=1, probe_data=(x, y),
                   background=False) as probes:
        probes.step(0)
    (row,) = probes.results
    assert row["value"] is None and "does not depend on any trainable parameter" in row["error"]
    with pytest.raises(ValueError, match="does not depend on any trainable parameter"):
        with im.Probes(model, layers=["0"], measures=[GradientAlignment()], every=1, probe_data=(x, y),
                       background=False, strict=True) as probes:
            probes.step(0)


def test_saved_activations_say_that_the_model_is_needed():
    rows = im.analyze({"fc": np.random.default_rng(0).standard_normal((30, 4))}, measures=[GradientAlignment()])
    assert rows[0]["value"] is None and "needs the model" in rows[0]["error"]


def test_construction_errors():
    model, x, y = _tiny()
    with pytest.raises(ValueError, match="entropy must be one of"):
        GradientAlignment(entropy="rankme")
    with pytest.raises(ValueError, match="takes no alpha"):
        GradientAlignment(entropy="von_neumann_entropy", alpha=2.0)
    with pytest.raises(ValueError, match="alpha must be"):
        GradientAlignment(alpha=-1)
    with pytest.raises(ValueError, match="kernel must be"):
        GradientAlignment(kernel="rbf")
    with pytest.raises(ValueError, match="sigma must be"):
        GradientAlignment(kernel="gaussian", sigma=0.0)
    with pytest.raises(TypeError, match="loss_fn must be a function"):
        GradientAlignment(loss_fn="cross_entropy")
    with pytest.raises(ValueError, match="parameters must be"):
        GradientAlignment(parameters="some")
    with pytest.raises(ValueError, match="use the cross-entropy against the probe labels"):
        im.Probes(model, layers=["0"], measures=[GradientAlignment()], probe_data=x)
    with pytest.raises(ValueError, match="mode='probe'"):
        im.Probes(model, layers=["0"], measures=[GradientAlignment()], mode="tap")
    # with a loss of its own, no labels are needed
    im.Probes(model, layers=["0"], measures=[GradientAlignment(loss_fn=lambda out, _: out.pow(2).mean())],
              probe_data=x).close()


def test_a_bad_loss_gives_error_rows():
    model, x, y = _tiny()
    rows = _probe(model, x, y, [GradientAlignment(loss_fn=lambda out, labels: out.sum(0))])
    assert "the loss must be a scalar tensor" in rows["gradient_alignment"]["error"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = _probe(model, x, y, [GradientAlignment(loss_fn=lambda out, labels: out.detach().sum())])
    assert "does not depend on any trainable parameter" in rows["gradient_alignment"]["error"]
