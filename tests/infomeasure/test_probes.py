"""Training-time probes: schedules, capture, reductions, measures, errors, run directory, sinks."""

import json
import math
import os
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import infomeasure as im  # noqa: E402
from estimators import (  # noqa: E402
    coding_rate,
    diffusion_spectral_mutual_information,
    mi_ross,
    rankme,
    von_neumann_entropy,
)
from infomeasure.analysis import analyze  # noqa: E402
from infomeasure.measures import (  # noqa: E402
    AttentionEntropy,
    get_measure,
    logit_entropy,
    Measure,
    PredictionEntropy,
    SampleMeasure,
    SpectralMeasure,
    StreamingMeasure,
)
from infomeasure.probes import (  # noqa: E402
    every_n,
    log_spaced,
    Probes,
    reduce_output,
    select_layers,
    select_output,
)
from infomeasure.report import report  # noqa: E402
from infomeasure.run_dir import read_metrics  # noqa: E402
from infomeasure.sinks import CSVSink, JSONLSink  # noqa: E402
from tests.infomeasure._runs import _mlp, _probe_set  # noqa: E402


def mlp(seed=0, dropout=0.0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(10, 32),
        torch.nn.ReLU(),
        torch.nn.Dropout(dropout),
        torch.nn.Linear(32, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 3),
    )


def data(n=96, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 10, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    return x, y


def no_hooks(model):
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def train(model, probes=None, steps=200, raise_at=None):
    x, y = data(256, seed=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for step in range(steps):
        idx = torch.randint(0, 256, (32,))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if raise_at is not None and step == raise_at:
            raise RuntimeError("boom")
        if probes is not None:
            probes.step(step)
            assert no_hooks(model)
    return losses


# ------------------------------------------------------------------------------------------------
# acceptance: 200 steps, 2 layers x 2 measures every 20 steps
# ------------------------------------------------------------------------------------------------
def test_acceptance_200_steps(tmp_path):
    model = mlp()
    px, py = data()
    with Probes(model, layers=["1", "4"], measures=["rankme", "von_neumann_entropy"], every=20,
                probe_data=(px, py), run_dir=tmp_path / "run") as probes:
        train(model, probes)
    rows = probes.results
    expected = {(s, layer, m) for s in range(0, 200, 20) for layer in ("1", "4") for m in ("rankme", "von_neumann_entropy")}
    assert len(rows) == 40 and {(r["step"], r["layer"], r["measure"]) for r in rows} == expected
    assert all(r["error"] is None and math.isfinite(r["value"]) for r in rows)
    assert all(r["n_samples"] == 96 for r in rows)
    assert {r["n_features"] for r in rows if r["layer"] == "1"} == {32}
    assert no_hooks(model)
    assert read_metrics(tmp_path / "run") == [{k: v for k, v in r.items()} for r in rows]


def test_acceptance_hooks_removed_when_loop_raises(tmp_path):
    model = mlp()
    px, _ = data()
    probes = Probes(model, layers=["1", "4"], measures=["rankme", "coding_rate"], every=20, probe_data=px, run_dir=tmp_path)
    with pytest.raises(RuntimeError, match="boom"), probes:
        train(model, probes, raise_at=150)
    assert no_hooks(model)
    assert sorted({r["step"] for r in probes.results}) == list(range(0, 141, 20))
    # every completed probe step reached metrics.jsonl before the crash
    assert len(read_metrics(tmp_path)) == 8 * 4
    assert json.loads((tmp_path / "manifest.json").read_text())["probe_steps"] == 8


def test_hooks_removed_when_forward_raises():
    class Bad(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 3)

        def forward(self, x):
            self.fc(x)
            raise KeyError("inside forward")

    model = Bad()
    probes = Probes(model, layers="fc", measures=["rankme"], every=1, probe_data=torch.randn(8, 3))
    with pytest.raises(KeyError):
        probes.step(0)
    assert no_hooks(model) and model.training


# ------------------------------------------------------------------------------------------------
# values, state and RNG
# ------------------------------------------------------------------------------------------------
def test_values_equal_direct_estimators_on_eval_activations():
    model = mlp(dropout=0.5)
    px, py = data(240)  # 15 samples per dimension of layer 3: no undersampling warning
    with Probes(model, layers=["3"], measures=["rankme", "von_neumann_entropy", "mi_labels", "dsmi"],
                every=1, probe_data=(px, py)) as probes:
        probes.step(0)
    model.eval()
    with torch.no_grad():
        z = model[:4](px).float()
    model.train()
    got = {r["measure"]: r["value"] for r in probes.results}
    assert got["rankme"] == pytest.approx(rankme(z), rel=1e-12)
    assert got["von_neumann_entropy"] == pytest.approx(von_neumann_entropy(z), rel=1e-12)
    assert got["mi_labels"] == pytest.approx(mi_ross(z, py.numpy()), rel=1e-12)
    assert got["dsmi"] == pytest.approx(diffusion_spectral_mutual_information(z, py.numpy()), rel=1e-12)


def test_training_unchanged_by_probes_mode_and_rng_restored():
    model0 = mlp(dropout=0.3)
    torch.manual_seed(5)
    plain = train(model0, steps=60)
    model = mlp(dropout=0.3)
    torch.manual_seed(5)
    with Probes(model, layers=["3"], measures=["rankme"], every=7, probe_data=data()[0]) as probes:
        probed = train(model, probes, steps=60)
    assert plain == probed  # identical losses: dropout masks and batches drew the same numbers
    assert model.training and all(m.training for m in model.modules())
    assert len(probes.results) == 9


def test_eval_mode_submodules_keep_their_mode():
    model = mlp()
    model[2].eval()  # a frozen submodule in an otherwise training model
    with Probes(model, layers=["1"], measures=["rankme"], every=1, probe_data=data()[0]) as probes:
        probes.step(0)
    assert model.training and model[0].training and not model[2].training


def test_capture_is_a_copy_before_inplace_ops():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(inplace=True), torch.nn.Linear(6, 2))
    x = torch.randn(40, 4)
    seen = {}
    rec = SampleMeasure("rankme", name="keep")
    rec.compute = lambda Z, y=None, spectrum=None: seen.setdefault("z", np.array(Z, copy=True)) is not None and 1.0
    with Probes(model, layers=["0"], measures=[rec], every=1, probe_data=x) as probes:
        probes.step(0)
    with torch.no_grad():
        expected = model[0](x)
    assert (expected < 0).any()  # the in-place ReLU would have zeroed these
    assert np.array_equal(seen["z"], expected.numpy())  # built-in measures get NumPy copies of CPU activations


def test_compiled_and_wrapped_models_are_unwrapped():
    model = mlp()
    compiled = torch.compile(model)  # the probe pass runs through the uncompiled module
    px = data()[0]
    with Probes(compiled, layers=["1"], measures=["rankme"], every=1, probe_data=px) as p1:
        p1.step(0)
    with Probes(model, layers=["1"], measures=["rankme"], every=1, probe_data=px) as p2:
        p2.step(0)
    assert p1.results == p2.results


# ------------------------------------------------------------------------------------------------
# layers, outputs, reductions, probe data
# ------------------------------------------------------------------------------------------------
def test_layer_selection():
    model = torch.nn.Sequential()
    model.add_module("encoder", torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh()))
    model.add_module("head", torch.nn.Linear(2, 1))
    assert list(select_layers(model, ["encoder.*", "head"])) == ["encoder.0", "encoder.1", "head"]
    assert list(select_layers(model, torch.nn.Tanh)) == ["encoder.1"]
    assert list(select_layers(model, lambda n, m: n.startswith("enc"))) == ["encoder", "encoder.0", "encoder.1"]
    with pytest.raises(ValueError, match="matches no module.*encoder"):
        select_layers(model, "decoder")
    with pytest.raises(TypeError, match="layer spec"):
        select_layers(model, [3])
    with pytest.raises(ValueError, match="at least one"):
        select_layers(model, [])


def test_select_output_and_reduce():
    t = torch.arange(24.0).reshape(2, 3, 4)
    assert select_output((t, None)) is t
    assert select_output({"a": 1, "last_hidden_state": t}) is t
    assert select_output((None, t), 1) is t
    assert select_output({"x": t}, lambda o: o["x"] * 2).sum() == 2 * t.sum()
    with pytest.raises(TypeError, match="output="):
        select_output((None, 3))
    assert torch.equal(reduce_output(t, "mean"), t.mean(1))
    assert torch.equal(reduce_output(t, "last"), t[:, -1])
    assert reduce_output(t, "flatten").shape == (2, 12)
    conv = torch.randn(2, 5, 3, 3)
    assert torch.allclose(reduce_output(conv), conv.mean(dim=(2, 3)))
    with pytest.raises(ValueError, match="reduce must"):
        reduce_output(t, "max")
    with pytest.raises(ValueError, match="last"):
        reduce_output(conv, "last")


def test_lstm_tuple_output_and_last_token():
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(3, 5, batch_first=True)

        def forward(self, x):
            return self.lstm(x)[0]

    model = Net()
    x = torch.randn(30, 7, 3)
    with Probes(model, layers="lstm", measures=["rankme"], every=1, probe_data=x, reduce="last") as p:
        p.step(0)
    with torch.no_grad():
        z = model.lstm(x)[0][:, -1]
    assert p.results[0]["value"] == pytest.approx(rankme(z), rel=1e-12)
    # the hidden state h_n through an output selector: the same numbers for a 1-layer LSTM
    with Probes(model, layers="lstm", measures=["rankme"], every=1, probe_data=x, output=lambda o: o[1][0][0]) as p2:
        p2.step(0)
    assert p2.results[0]["value"] == pytest.approx(p.results[0]["value"], rel=1e-6)


def test_conv_maps_mean_over_space_and_batches():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 6, 3), torch.nn.ReLU())
    x = torch.randn(50, 2, 8, 8)
    with Probes(model, layers="1", measures=["rankme"], every=1, probe_data=x, batch_size=16) as p:
        p.step(0)
    with torch.no_grad():
        z = model(x).mean(dim=(2, 3))
    r = p.results[0]
    assert (r["n_samples"], r["n_features"]) == (50, 6)
    assert r["value"] == pytest.approx(rankme(z), rel=1e-9)


def test_dataloader_and_dict_probe_data():
    model = mlp()
    px, py = data(200)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(px, py), batch_size=25)
    with Probes(model, layers="3", measures=["mi_labels"], every=1, probe_data=loader) as p1:
        p1.step(0)
    with Probes(model, layers="3", measures=["mi_labels"], every=1, probe_data=(px, py)) as p2:
        p2.step(0)
    assert p1.results[0]["value"] == pytest.approx(p2.results[0]["value"], rel=1e-12)

    class KW(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(10, 4)

        def forward(self, inputs, scale=1.0):
            return self.fc(inputs * scale)

    kw = KW()
    with Probes(kw, layers="fc", measures=["rankme"], every=1, probe_data={"inputs": px, "scale": torch.ones(200)[:, None]}) as p3:
        p3.step(0)
    with torch.no_grad():
        assert p3.results[0]["value"] == pytest.approx(rankme(kw.fc(px)), rel=1e-12)


def test_memory_budget_truncates_with_warning():
    model = mlp()
    budget_rows = 10
    mb = budget_rows * 32 * 4 / 2**20
    p = Probes(model, layers="1", measures=["rankme"], every=1, probe_data=data()[0], batch_size=8, memory_budget_mb=mb)
    with p, pytest.warns(UserWarning, match="memory_budget_mb"):
        p.step(0)
    assert p.results[0]["n_samples"] == budget_rows


def test_probe_argument_errors():
    model = mlp()
    px, py = data()
    with pytest.raises(ValueError, match="probe_data is required"):
        Probes(model, layers="1")
    with pytest.raises(ValueError, match="need labels"):
        Probes(model, layers="1", measures=["mi_labels"], probe_data=px)
    with pytest.raises(ValueError, match="3 rows"):
        Probes(model, layers="1", probe_data=(px, py[:3]))
    with pytest.raises(ValueError, match="unknown measure"):
        Probes(model, layers="1", measures=["rank_me"], probe_data=px)
    with pytest.raises(ValueError, match="unique"):
        Probes(model, layers="1", measures=["rankme", "rankme"], probe_data=px)
    with pytest.raises(ValueError, match="positive integer"):
        Probes(model, layers="1", every=0, probe_data=px)
    with pytest.raises(TypeError, match="nn.Module"):
        Probes(lambda x: x, layers="1", probe_data=px)
    with pytest.raises(TypeError, match="probe_data"):
        Probes(model, layers="1", probe_data=3)


# ------------------------------------------------------------------------------------------------
# schedules
# ------------------------------------------------------------------------------------------------
def test_schedules():
    assert [s for s in range(40) if every_n(10, start=5)(s)] == [5, 15, 25, 35]
    steps = [s for s in range(1001) if log_spaced(10)(s)]
    expected = sorted({0, 1} | {round(10 ** (k / 10)) for k in range(31)})
    assert steps == expected
    model = mlp()
    with Probes(model, layers="1", measures=["rankme"], every="log", probe_data=data()[0]) as p:
        for s in range(12):
            p.step(s)
    assert [r["step"] for r in p.results] == [0, 1, 2, 3, 4, 5, 6, 8, 10]
    with Probes(model, layers="1", measures=["rankme"], every=lambda s: s in (3, 7), probe_data=data()[0]) as p:
        for s in range(12):
            p.step(s)
    assert [r["step"] for r in p.results] == [3, 7]
    with pytest.raises(ValueError):
        log_spaced(0)


# ------------------------------------------------------------------------------------------------
# measures
# ------------------------------------------------------------------------------------------------
def test_spectral_measures_share_one_spectrum_per_preparation(monkeypatch):
    calls = []
    orig = SpectralMeasure.spectrum

    def counting(self, Z):
        calls.append(self.prep)
        return orig(self, Z)

    monkeypatch.setattr(SpectralMeasure, "spectrum", counting)
    model = mlp()
    px = data()[0]
    with Probes(model, layers=["1", "4"], measures=["rankme", "coding_rate", "von_neumann_entropy", "effective_rank"],
                every=1, probe_data=px) as p:
        p.step(0)
    # rankme and coding_rate share (False, False): 3 spectra per layer, not 4
    assert sorted(calls) == sorted([(False, False), (False, True), (True, True)] * 2)
    with torch.no_grad():
        z = model[:2](px)
    got = {r["measure"]: r["value"] for r in p.results if r["layer"] == "1"}
    assert got["coding_rate"] == pytest.approx(coding_rate(z), rel=1e-9)
    assert got["rankme"] == pytest.approx(rankme(z), rel=1e-9)


def test_measure_objects_metadata_and_errors():
    m = get_measure(("von_neumann_entropy", {"base": 2}))
    assert (m.units, m.higher_is_better, m.needs_labels) == ("bits", True, False)
    assert get_measure("mi_labels").needs_labels and get_measure("dsmi").needs_labels
    assert get_measure("alpha_req").units == "unitless"
    assert get_measure(m) is m
    d = m.describe()
    assert d["params"] == {"base": 2} and d["method"] == "von_neumann_entropy"
    with pytest.raises(TypeError, match="measure must be"):
        get_measure(3)
    with pytest.raises(ValueError, match="method must be one of"):
        SpectralMeasure("mi_ross")
    with pytest.raises(ValueError, match="SampleMeasure"):
        SpectralMeasure("matrix_entropy", kernel="gaussian")
    with pytest.raises(ValueError, match="function of estimators"):
        SampleMeasure("no_such_function")
    with pytest.raises(ValueError, match="needs labels"):
        get_measure("mi_labels").compute(np.zeros((5, 2)))


def test_logit_entropy_chunks_equal_full_softmax():
    g = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(7, 5, 50, generator=g, dtype=torch.float64)
    logits[0, 0, :10] = -math.inf  # masked classes contribute nothing
    p = torch.softmax(logits, -1)
    ref = -(torch.where(p > 0, p * torch.log(p), torch.zeros(()))).sum(-1)
    got = logit_entropy(logits, chunk_size=3)
    assert got.shape == (7, 5)
    assert torch.allclose(got, ref, rtol=0, atol=1e-12)
    assert torch.allclose(logit_entropy(logits.transpose(1, 2), dim=1), ref, atol=1e-12)
    with pytest.raises(ValueError, match="dimension"):
        logit_entropy(torch.tensor(1.0))


def test_prediction_entropy_of_model_outputs():
    model = mlp()
    px = data()[0]
    with Probes(model, layers="5", measures=[PredictionEntropy(chunk_size=7)], every=1, probe_data=px, batch_size=40) as p:
        p.step(0)
    with torch.no_grad():
        q = torch.softmax(model(px).double(), -1)
    ref = float(-(q * q.log()).sum(-1).mean())
    assert p.results[0]["value"] == pytest.approx(ref, rel=1e-6)  # float32 logits
    m = PredictionEntropy(normalize=True)
    assert m.finalize(m.update(m.init(), torch.zeros(4, 9)))[""] == pytest.approx(1.0, abs=1e-7)
    assert m.units == "unitless"


def test_attention_entropy_per_head():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(6, 3, 4, 5, generator=g)
    probs = torch.softmax(scores, -1)

    class Attn(torch.nn.Module):
        def forward(self, s):
            return torch.softmax(s, -1)

    model = torch.nn.Sequential(Attn())
    with Probes(model, layers="0", measures=["attention_entropy", "rankme"], every=1, probe_data=scores, batch_size=4) as p:
        p.step(0)
    got = {r["measure"]: r for r in p.results}
    ref = -(probs.double() * probs.double().log()).sum(-1).mean(dim=(0, 2))
    for h in range(3):
        assert got[f"attention_entropy[{h}]"]["value"] == pytest.approx(float(ref[h]), rel=1e-6)
    assert got["attention_entropy"]["value"] == pytest.approx(float(ref.mean()), rel=1e-6)
    # rankme on the same 4-D output sees its (batch, heads) mean reduction
    assert got["rankme"]["n_features"] == 3
    bad = AttentionEntropy()
    with pytest.raises(ValueError, match="batch, heads, queries, keys"):
        bad.update(bad.init(), torch.ones(2, 3))


class Exploding(Measure):
    name = "exploding"
    method = "none"

    def compute(self, Z, y=None, spectrum=None):
        raise ArithmeticError("the measure failed")


def test_failing_measure_is_an_error_row_and_strict_raises(tmp_path):
    model = mlp()
    px = data()[0]
    with Probes(model, layers="1", measures=["rankme", Exploding()], every=5, probe_data=px, run_dir=tmp_path) as p:
        train(model, p, steps=11)
    rows = p.results
    assert len(rows) == 6
    errs = [r for r in rows if r["measure"] == "exploding"]
    assert all(r["value"] is None and r["error"] == "ArithmeticError: the measure failed" for r in errs)
    assert all(math.isfinite(r["value"]) for r in rows if r["measure"] == "rankme")
    assert [r["error"] for r in read_metrics(tmp_path) if r["measure"] == "exploding"] == [errs[0]["error"]] * 3
    strict = Probes(model, layers="1", measures=[Exploding()], every=1, probe_data=px, strict=True, background=False)
    with pytest.raises(ArithmeticError):
        strict.step(0)
    assert no_hooks(model)
    # in background mode the measure's exception is raised in the training thread: at the first
    # step/log after the worker met it, or when results are read (they wait for the worker)
    strict = Probes(model, layers="1", measures=[Exploding()], every=1, probe_data=px, strict=True, background=True)
    strict.step(0)
    with pytest.raises(ArithmeticError):
        _ = strict.results
    strict.step(1)
    with pytest.raises(ArithmeticError):
        strict.close()
    assert no_hooks(model)
    # a streaming measure given to a layer whose output it cannot use (2-D, not attention maps) is an
    # error row (the dict form runs it as asked; one list for all layers skips it, see test_wrong_input_kind...)
    with Probes(model, layers="1", measures={"1": ["attention_entropy"]}, every=1, probe_data=px) as p2:
        p2.step(0)
    assert "batch, heads" in p2.results[0]["error"]


# ------------------------------------------------------------------------------------------------
# run directory, snapshots, sinks
# ------------------------------------------------------------------------------------------------
def test_run_directory_manifest_and_snapshots(tmp_path):
    safetensors = pytest.importorskip("safetensors.torch")
    model = mlp()
    px, py = data(400)  # >= 10 samples per dimension of the 32-wide layer
    with Probes(model, layers=["0", "3"], measures=["rankme", ("mi_labels", {"k": 5})], every=10,
                probe_data=(px, py), run_dir=tmp_path, snapshot_every=2, seed=7) as p:
        for s in range(25):
            p.step(s)
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert man["layers"] == {"0": "Linear", "3": "Linear"}
    assert [m["name"] for m in man["measures"]] == ["rankme", "mi_labels"]
    assert man["measures"][1]["params"] == {"k": 5}
    assert man["seed"] == 7 and man["probe_steps"] == 3 and man["probe_samples"] == 400
    assert man["model"]["parameters"] == sum(q.numel() for q in model.parameters())
    assert "torch" in man["versions"] and "numpy" in man["versions"]
    assert sorted(os.listdir(tmp_path / "activations")) == ["step_00000000.safetensors", "step_00000020.safetensors"]
    snap = safetensors.load_file(tmp_path / "activations" / "step_00000020.safetensors")
    with torch.no_grad():
        assert torch.equal(snap["3"], model[:4](px))
    assert len(read_metrics(tmp_path)) == 12


def test_csv_jsonl_and_tensorboard_sinks(tmp_path):
    model = mlp()
    sinks = [CSVSink(tmp_path / "m.csv"), JSONLSink(tmp_path / "m.jsonl")]
    tb = None
    try:
        from infomeasure.sinks import TensorBoardSink

        tb = TensorBoardSink(tmp_path / "tb")
        sinks.append(tb)
    except ImportError:
        pass
    with Probes(model, layers="1", measures=["rankme", Exploding()], every=3, probe_data=data()[0], sinks=sinks) as p:
        for s in range(7):
            p.step(s)
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert lines[0] == "step,layer,measure,method,value,n_samples,n_features,units,error"
    assert len(lines) == 7
    assert float(lines[1].split(",")[4]) == p.results[0]["value"]
    js = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert js == p.results
    if tb is not None:
        from tensorboard.backend.event_processing.event_accumulator import (
            EventAccumulator,
        )

        acc = EventAccumulator(str(tmp_path / "tb"))
        acc.Reload()
        ev = acc.Scalars("probes/1/rankme")
        assert [e.step for e in ev] == [0, 3, 6]
        assert ev[0].value == pytest.approx(p.results[0]["value"], rel=1e-6)
        assert "probes/1/exploding" not in acc.Tags()["scalars"]


# ------------------------------------------------------------------------------------------------
# tap mode
# ------------------------------------------------------------------------------------------------
def test_tap_mode_records_the_training_forward_subsampled():
    model = mlp()
    x, y = data(200, seed=4)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    seen = {}
    with Probes(model, layers=["3"], measures=["rankme", "mi_labels"], every=5, mode="tap", tap_samples=160) as p:
        for step in range(11):
            with p.tap(step):
                out = model(x)
                assert no_hooks(model) != p.schedule(step)  # hooks only inside tap() on probe steps
            if step == 5:
                with torch.no_grad():
                    seen["z"] = model[:4](x)[(torch.arange(160) * 200) // 160]  # before the update
            loss = torch.nn.functional.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            p.step(step, labels=y)
    assert no_hooks(model) and model.training
    rows = {(r["step"], r["measure"]): r for r in p.results}
    assert sorted({s for s, _ in rows}) == [0, 5, 10]
    r5 = rows[(5, "rankme")]
    assert (r5["n_samples"], r5["n_features"], r5["error"]) == (160, 16, None)
    assert r5["value"] == pytest.approx(rankme(seen["z"]), rel=1e-9)
    ysub = y[(torch.arange(160) * 200) // 160].numpy()
    assert rows[(5, "mi_labels")]["value"] == pytest.approx(mi_ross(seen["z"], ysub), rel=1e-9)


def test_tap_mode_errors():
    model = mlp()
    x, y = data(50)
    with Probes(model, layers=["3"], measures=["rankme"], every=1, mode="tap") as p:
        p.step(0)  # no forward inside tap(): error rows, not an exception
        assert "probes.tap(0)" in p.results[0]["error"]
        with p.tap(1):
            model(x)
        with pytest.raises(ValueError, match="tapped batch had 50"):
            p.step(1, labels=y[:10])
        with p.tap(2):
            model(x)
            model(x)
        with pytest.raises(ValueError, match="exactly one"):
            p.step(2, labels=y)
    probe = Probes(model, layers=["3"], measures=["rankme"], every=1, probe_data=x)
    with pytest.raises(ValueError, match="mode='tap'"), probe.tap(0):
        pass
    with pytest.raises(ValueError, match="tap mode"):
        probe.step(0, labels=y)
    with pytest.raises(ValueError, match="mode must be"):
        Probes(model, layers=["3"], mode="hooks", probe_data=x)
    with pytest.raises(ValueError, match="tap_samples"):
        Probes(model, layers=["3"], mode="tap", tap_samples=0)
    assert no_hooks(model)


def test_log_records_model_level_scalars(tmp_path):
    model = mlp()
    x, y = data()
    sink = JSONLSink(tmp_path / "s.jsonl")
    probes = Probes(model, ["1"], measures=["rankme"], every=2, probe_data=(x, y), run_dir=tmp_path / "run", sinks=[sink])
    with probes:
        for step in range(4):
            if probes.step(step):
                probes.log(step, accuracy=torch.tensor(0.25 * step), loss=1.0 / (step + 1))
    logged = [r for r in probes.results if r["method"] == "logged"]
    assert [(r["step"], r["layer"], r["measure"], r["value"]) for r in logged] == [
        (0, "model", "accuracy", 0.0), (0, "model", "loss", 1.0), (2, "model", "accuracy", 0.5), (2, "model", "loss", 1 / 3)]
    on_disk = [r for r in read_metrics(tmp_path / "run") if r["method"] == "logged"]
    assert on_disk == logged
    assert sum(1 for _ in open(tmp_path / "s.jsonl")) == len(probes.results)
    with pytest.raises(ValueError, match="loss is nan at step 3"):
        probes.log(3, loss=float("nan"))
    with pytest.raises(TypeError, match="accuracy must be a real number; got str"):
        probes.log(3, accuracy="high")
    with pytest.raises(ValueError, match="at least one value"):
        probes.log(3)


@pytest.mark.filterwarnings("ignore::UserWarning")  # 96 samples in 42 dimensions: biased, and said so
def test_mi_inputs_puts_probe_runs_on_the_information_plane(tmp_path):
    from estimators import mi_ksg

    model = mlp()
    x, y = data()
    probes = Probes(model, ["1", "4"], measures=["mi_inputs", "mi_labels"], every=1, probe_data=(x, y),
                    run_dir=tmp_path / "run", batch_size=40, strict=True)
    with probes:
        probes.step(0)
        with torch.no_grad():
            h1 = model[1](model[0](x)).numpy()
    got = {r["layer"]: r["value"] for r in probes.results if r["measure"] == "mi_inputs"}
    assert got["1"] == mi_ksg(x.numpy().astype(np.float64), h1.astype(np.float32).astype(np.float64))
    html = open(report(tmp_path / "run", tmp_path / "r.html"), encoding="utf-8").read()
    assert 'id="plane"' in html
    with pytest.raises(ValueError, match="mi_inputs needs tensor probe inputs"):
        Probes(model, ["1"], measures=["mi_inputs"], probe_data={"input": x})
    with pytest.raises(ValueError, match="use mode='probe'"):
        Probes(model, ["1"], measures=["mi_inputs"], mode="tap")

# ------------------------------------------------------------------------------------------------
# hostile input: nothing lost, nothing silently wrong (regressions of the reliability issue)
# ------------------------------------------------------------------------------------------------
def test_closed_probes_refuse_steps_instead_of_dropping_rows(tmp_path):
    x, y = _probe_set()
    probes = Probes(_mlp(), ["0"], measures=["rankme"], every=1, probe_data=(x, y), run_dir=tmp_path / "run")
    with probes:  # epoch 1
        probes.step(0)
    with pytest.raises(RuntimeError, match="this Probes is closed .*resume=True"):
        probes.step(1)
    with pytest.raises(RuntimeError, match="this Probes is closed"):
        with probes:  # epoch 2: refused at the start, not after a silent epoch
            pass
    with pytest.raises(RuntimeError, match="this Probes is closed"):
        probes.log(1, accuracy=0.5)
    assert len(probes.results) == len(read_metrics(tmp_path / "run")) == 1
    # after an exception inside the block, too
    p2 = Probes(_mlp(), ["0"], measures=["rankme"], every=1, probe_data=(x, y))
    with pytest.raises(KeyError), p2:
        raise KeyError("crash in the loop")
    with pytest.raises(RuntimeError, match="closed"):
        p2.step(0)


class _SeqFirst(torch.nn.Module):
    """Batch-first inputs, sequence-first inner layers (PyTorch's default batch_first=False)."""

    def __init__(self, d=8):
        super().__init__()
        self.embed = torch.nn.Linear(3, d)
        self.encoder = torch.nn.TransformerEncoderLayer(d, 2, dim_feedforward=16, dropout=0.0)
        self.lstm = torch.nn.LSTM(d, d)

    def forward(self, x):  # x: (batch, time, 3)
        h = self.embed(x).transpose(0, 1)  # (time, batch, d)
        h = self.encoder(h)
        out, _ = self.lstm(h)
        return out


@pytest.mark.filterwarnings("ignore:kNN MI with labels. only:UserWarning")
def test_sequence_first_layers_are_measured_along_the_batch(tmp_path):
    torch.manual_seed(0)
    model = _SeqFirst()
    x = torch.randn(48, 7, 3)  # 48 sequences of 7 steps
    y = torch.arange(48) % 3
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*batch axis")  # declared batch_first=False: no guess, no warning
        with Probes(model, ["encoder", "lstm"], measures=["rankme", "mi_labels"], every=1, probe_data=(x, y)) as p:
            p.step(0)
    assert {r["n_samples"] for r in p.results} == {48} and not [r for r in p.results if r["error"]]
    # the values are those of the batch-first activations, averaged over time
    with torch.no_grad():
        h = model.encoder(model.embed(x).transpose(0, 1)).transpose(0, 1).mean(1)
    got = next(r["value"] for r in p.results if r["layer"] == "encoder" and r["measure"] == "rankme")
    assert got == pytest.approx(im.rankme(h.double().numpy()), rel=1e-5)
    # ambiguous: a custom module whose output has two axes of the batch size, neither axis 0
    class Ambiguous(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = torch.nn.Identity()

        def forward(self, x):  # x (48, 6)
            return self.inner(x[None, :, None, :1].expand(2, 48, 48, 1))

    class Guessed(torch.nn.Module):  # a custom sequence-first block that declares nothing
        def __init__(self):
            super().__init__()
            self.inner = torch.nn.Identity()

        def forward(self, x):  # x (48, 7, 3) -> (7, 48, 3)
            return self.inner(x.transpose(0, 1))

    with pytest.warns(UserWarning, match=r"axis 1 of its output \(7, 48, 3\) is the only one of the probe batch size") as rec:
        with Probes(Guessed(), ["inner"], measures=["rankme"], every=1, probe_data=x) as pg:
            pg.step(0)
            pg.step(1)
    assert sum("probe batch size" in str(w.message) for w in rec) == 1  # once per layer
    assert [r["n_samples"] for r in pg.results] == [48, 48]
    assert pg.results[0]["value"] == pytest.approx(im.rankme(x.mean(1).double().numpy()), rel=1e-5)
    with Probes(Ambiguous(), ["inner"], measures=["rankme"], every=1, probe_data=torch.randn(48, 6)) as p2:
        p2.step(0)
    assert "batch axis is ambiguous" in p2.results[0]["error"] and p2.results[0]["value"] is None


def test_outputs_without_a_batch_axis_are_error_rows():
    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = torch.nn.Identity()

        def forward(self, x):
            return self.inner(x.mean(0, keepdim=True).expand(5, -1))  # 5 rows from a batch of 40

    with Probes(Pooled(), ["inner"], measures=["rankme"], every=1, probe_data=torch.randn(40, 6)) as p:
        p.step(0)
    assert "no axis of the probe batch size 40" in p.results[0]["error"]


@pytest.mark.parametrize("kwargs, err, match", [
    ({"snapshot_every": 0.5}, TypeError, "snapshot_every must be an integer >= 1; got 0.5"),
    ({"snapshot_every": "x"}, TypeError, "snapshot_every must be an integer >= 1"),
    ({"snapshot_every": -1}, ValueError, "snapshot_every must be an integer >= 1; got -1"),
    ({"batch_size": 0}, ValueError, "batch_size must be an integer >= 1; got 0"),
    ({"batch_size": -5}, ValueError, "batch_size must be an integer >= 1; got -5"),
    ({"memory_budget_mb": float("inf")}, ValueError, "memory_budget_mb must be a finite number > 0"),
    ({"memory_budget_mb": "big"}, TypeError, "memory_budget_mb must be a number of megabytes"),
    ({"reduce": "bogus"}, ValueError, "reduce must be 'mean', 'last', 'flatten' or a callable; got 'bogus'"),
    ({"strict": "no"}, TypeError, "strict must be True or False"),
    ({"sinks": [object()]}, TypeError, "a sink needs write"),
    ({"output": {"nope": 0}}, ValueError, "output= names layers that are not probed"),
])
def test_probes_arguments_are_checked_at_construction(tmp_path, kwargs, err, match):
    x, y = _probe_set()
    with pytest.raises(err, match=match):
        Probes(_mlp(), ["0"], measures=["rankme"], every=1, probe_data=(x, y), run_dir=tmp_path / "run", **kwargs)
    assert not (tmp_path / "run").exists()  # nothing written before the error


def test_probe_data_forms_are_checked_or_converted():
    model = _mlp()
    with pytest.raises(ValueError, match="probe_data holds 0 samples"):
        Probes(model, ["0"], every=1, probe_data=torch.zeros(0, 6))
    with pytest.raises(ValueError, match="empty dict"):
        Probes(model, ["0"], every=1, probe_data={})
    with pytest.raises(TypeError, match=r"probe labels must be numbers .*np.unique"):
        Probes(model, ["0"], measures=["mi_labels"], every=1,
               probe_data=(torch.randn(40, 6), np.array(["cat", "dog"] * 20)))
    # NumPy probe data is a probe set, not a DataLoader of rows
    rng = np.random.default_rng(0)
    xn, yn = rng.standard_normal((40, 6)), rng.integers(0, 2, 40)
    with Probes(model, ["0"], measures=["rankme"], every=1, probe_data=(xn, yn)) as p:
        p.step(0)
    with Probes(model, ["0"], measures=["rankme"], every=1, probe_data=torch.from_numpy(xn).float()) as q:
        q.step(0)
    assert p.results[0]["n_samples"] == 40 and p.results[0]["value"] == pytest.approx(q.results[0]["value"], rel=1e-6)


def test_step_must_be_an_integer():
    x, y = _probe_set()
    with Probes(_mlp(), ["0"], measures=["rankme"], every=2, probe_data=(x, y)) as p:
        for bad in (1.5, float("nan"), "3", True, None):
            with pytest.raises(TypeError, match="step must be an integer training step"):
                p.step(bad)
        assert p.step(np.int64(2)) and p.step(torch.tensor(4)) and p.step(6.0) and not p.step(7)
        with pytest.raises(TypeError, match="step must be an integer"):
            p.log(0.5, loss=1.0)
    assert [r["step"] for r in p.results] == [2, 4, 6]


def test_nested_tap_blocks_leave_no_hooks_behind():
    model = mlp()
    x = torch.randn(16, 10)
    probes = Probes(model, layers=["0"], measures=["rankme"], every=1, mode="tap")
    with probes.tap(0):
        with probes.tap(0):
            model(x)
        model(x)
    assert not model[0]._forward_hooks and not model._forward_pre_hooks
    with pytest.raises(RuntimeError, match="boom"), probes.tap(1):  # left by an exception
        raise RuntimeError("boom")
    assert not model[0]._forward_hooks and not model._forward_pre_hooks
    probes.close()


def test_a_users_streaming_measure_with_a_plain_tensor_state_still_works():
    class MaxAbs(StreamingMeasure):  # the state API of earlier versions: init/update/finalize on a tensor
        name = "max_abs"

        def __init__(self):
            super().__init__()

        def init(self):
            return torch.zeros(1, dtype=torch.float64)

        def update(self, state, output):
            return torch.maximum(state, output.abs().max().to(torch.float64).reshape(1))

        def finalize(self, state):
            return {"": float(state[0])}

    model = mlp()
    x = torch.randn(32, 10)
    with Probes(model, layers=["0"], measures=[MaxAbs()], every=1, probe_data=x) as probes:
        probes.step(0)
    with torch.no_grad():
        expected = float(model[0](x).abs().max())
    assert [(r["measure"], r["value"], r["error"]) for r in probes.results] == [("max_abs", pytest.approx(expected), None)]
    assert analyze({"0": model[0](x).detach().numpy()}, [MaxAbs()])[0]["value"] == pytest.approx(expected)


# ------------------------------------------------------------------------------------------------
# the results table as a pandas DataFrame
# ------------------------------------------------------------------------------------------------
def test_results_to_pandas_has_the_rows_columns_and_dtypes(tmp_path):
    pd = pytest.importorskip("pandas")
    from infomeasure.sinks import COLUMNS

    model = mlp()
    px, py = data()
    with Probes(model, layers=["1", "4"], measures=["rankme", "von_neumann_entropy"], every=5, probe_data=(px, py),
                run_dir=tmp_path / "run", background=False) as probes:
        for step in range(11):
            probes.step(step)
        probes.log(10, accuracy=0.5)
    rows = probes.results
    assert isinstance(rows, list) and rows == read_metrics(tmp_path / "run")  # still the list of dicts
    df = rows.to_pandas()
    assert list(df.columns) == COLUMNS and len(df) == len(rows) == 3 * 2 * 2 + 1
    assert {c: str(t) for c, t in df.dtypes.items() if c in ("step", "value", "n_samples", "n_features")} == {
        "step": "Int64", "value": "float64", "n_samples": "Int64", "n_features": "Int64"}
    for r, (_, d) in zip(rows, df.iterrows()):
        assert (d["step"], d["layer"], d["measure"], d["value"]) == (r["step"], r["layer"], r["measure"], r["value"])
    logged = df[df["method"] == "logged"].iloc[0]
    assert logged["value"] == 0.5 and pd.isna(logged["n_samples"])  # logged rows have no sample count
    wide = df[df["layer"] != "model"].pivot(index="step", columns=["layer", "measure"], values="value")
    assert wide.shape == (3, 4) and wide.loc[5, ("1", "rankme")] == next(
        r["value"] for r in rows if (r["step"], r["layer"], r["measure"]) == (5, "1", "rankme"))
    # an empty table still has the columns
    assert list(type(rows)().to_pandas().columns) == COLUMNS


def test_to_pandas_without_pandas_says_how_to_install(monkeypatch):
    import sys

    from infomeasure._table import ResultRows

    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with pytest.raises(ImportError, match=r"pip install pandas"):
        ResultRows([{"step": 0, "layer": "a", "measure": "m", "value": 1.0}]).to_pandas()


# ------------------------------------------------------------------------------------------------
# measures per layer: the dict form, input kinds, defaults, repeated warnings
# ------------------------------------------------------------------------------------------------
def _pairs(rows):
    return sorted({(r["layer"], r["measure"]) for r in rows})


@pytest.mark.parametrize("background", [False, True])
def test_measures_per_layer_dict_form(tmp_path, background):
    model = mlp()
    px, py = data()
    spec = {"[03]": ["rankme", "von_neumann_entropy"], torch.nn.ReLU: ["rankme"], "5": [PredictionEntropy()],
            "?": ["rankme"]}  # "?" adds rankme again to every layer: each measure once per layer
    with Probes(model, layers=["0", "1", "3", "5"], measures=spec, every=2, probe_data=(px, py), run_dir=tmp_path,
                background=background) as p:
        train(model, p, steps=5)
    rows = p.results
    assert _pairs(rows) == [("0", "rankme"), ("0", "von_neumann_entropy"), ("1", "rankme"), ("3", "rankme"),
                            ("3", "von_neumann_entropy"), ("5", "prediction_entropy"), ("5", "rankme")]
    assert sorted({r["step"] for r in rows}) == [0, 2, 4] and len(rows) == 3 * 7
    assert [m.name for m in p.measures] == ["rankme", "von_neumann_entropy", "prediction_entropy"]
    assert [m.name for m in p.layer_measures["5"]] == ["prediction_entropy", "rankme"]
    # the values are those of the same measures given to one layer alone
    with torch.no_grad():
        z = model[:2](px).double().numpy()
    assert next(r["value"] for r in rows if r["layer"] == "1" and r["step"] == 4) == pytest.approx(rankme(z), rel=1e-5)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["layer_measures"] == {"0": ["rankme", "von_neumann_entropy"], "1": ["rankme"],
                                          "3": ["rankme", "von_neumann_entropy"], "5": ["prediction_entropy", "rankme"]}
    assert [m["name"] for m in manifest["measures"]] == ["rankme", "von_neumann_entropy", "prediction_entropy"]


def test_a_layer_with_only_streaming_measures_keeps_no_activations():
    model = mlp()
    px = data()[0]
    p = Probes(model, layers=["3", "5"], measures={"3": ["rankme"], "5": ["prediction_entropy"]}, every=1,
               probe_data=px, background=False)
    reps, _, _ = p._capture()
    assert reps["5"] is None and tuple(reps["3"].shape) == (96, 16)
    p.close()


def test_measures_dict_errors():
    model, px = mlp(), data()[0]
    layers = ["0", "1", "5"]
    with pytest.raises(ValueError, match=r"gives no measure to the probed layers \['1', '5'\]"):
        Probes(model, layers=layers, measures={"0": ["rankme"]}, probe_data=px)
    with pytest.raises(ValueError, match=r"match no probed layer: \['encoder\.\*'\]"):
        Probes(model, layers=layers, measures={"*": ["rankme"], "encoder.*": ["rankme"]}, probe_data=px)
    with pytest.raises(ValueError, match="match no probed layer"):  # "3" is a module, but not a probed one
        Probes(model, layers=layers, measures={"*": ["rankme"], "3": ["rankme"]}, probe_data=px)
    with pytest.raises(ValueError, match="given twice with different parameters"):
        Probes(model, layers=layers, measures={"0": [("mi_labels", {"k": 3})], "*": [("mi_labels", {"k": 5})]},
               probe_data=data())
    with pytest.raises(ValueError, match="names no layer"):
        Probes(model, layers=layers, measures={}, probe_data=px)
    with pytest.raises(ValueError, match="unknown measure"):
        Probes(model, layers=layers, measures={"*": ["rank_me"]}, probe_data=px)
    with pytest.raises(ValueError, match="need labels"):
        Probes(model, layers=layers, measures={"*": ["rankme"], "5": ["mi_labels"]}, probe_data=px)


@pytest.mark.parametrize("background", [False, True])
def test_wrong_input_kind_is_skipped_with_one_warning(background, tmp_path):
    model = mlp()
    px, py = data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Probes(model, layers=["1", "3", "5"], measures=["rankme", "prediction_entropy", "attention_entropy"],
                    every=1, probe_data=(px, py), background=background, run_dir=tmp_path) as p:
            for step in range(4):
                p.step(step)
    skipped = sorted(str(w.message).split(":")[0] + " " + str(w.message).split()[2] for w in caught
                     if "is skipped on this layer" in str(w.message))
    # the ReLU "1" and the hidden Linear "3" are no logits; none of them gives attention maps; "5" (the last
    # module, 3 outputs for 3 label classes) does give logits: one warning per (layer, measure) for the run
    assert skipped == ["layer '1' attention_entropy", "layer '1' prediction_entropy", "layer '3' attention_entropy",
                       "layer '3' prediction_entropy", "layer '5' attention_entropy"]
    text = next(str(w.message) for w in caught if "layer '1': prediction_entropy" in str(w.message))
    assert "needs the model's logits" in text and "ReLU" in text and "measures={'1': ['rankme']" in text
    assert _pairs(p.results) == [("1", "rankme"), ("3", "rankme"), ("5", "prediction_entropy"), ("5", "rankme")]
    assert not any(r["error"] for r in p.results) and len(p.results) == 4 * 4
    skipped = json.loads((tmp_path / "manifest.json").read_text())["skipped_measures"]
    assert {n: sorted(why) for n, why in skipped.items()} == {
        "1": ["attention_entropy", "prediction_entropy"], "3": ["attention_entropy", "prediction_entropy"],
        "5": ["attention_entropy"]}
    assert "ReLU" in skipped["1"]["prediction_entropy"]
    # the warning is raised outside the forward hooks: an "error" filter stops the step, not the layer's rows
    with Probes(model, layers=["1"], measures=["rankme", "prediction_entropy"], every=1, probe_data=px,
                background=background) as p2:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(UserWarning, match="prediction_entropy is skipped"):
                p2.step(0)
            p2.step(1)
    assert [(r["step"], r["measure"], r["error"]) for r in p2.results] == [(1, "rankme", None)]
    assert no_hooks(model)


def test_input_kinds_never_refuse_a_valid_use():
    from infomeasure._capture import kind_problem

    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(4, 2, 5, 6, generator=g), -1)
    probs[0, 0, -1] = 0.0  # a fully masked query row
    attn, logits_m = AttentionEntropy(), PredictionEntropy()
    model = mlp()
    p = Probes(model, layers=["0", "3", "5"], measures=["rankme"], probe_data=data()[0])
    assert kind_problem(attn, "x", torch.nn.Identity(), probs, p) is None
    dropped = torch.nn.functional.dropout(probs, 0.1, training=True, generator=None) if False else probs * 1.0
    assert kind_problem(attn, "x", torch.nn.Identity(), dropped, p) is None
    assert "negative" in kind_problem(attn, "x", torch.nn.Identity(), torch.randn(4, 2, 5, 6, generator=g), p)
    assert "sum to" in kind_problem(attn, "x", torch.nn.Identity(), probs * 3, p)
    assert "not 4 axes" in kind_problem(attn, "x", torch.nn.Identity(), probs[0], p)
    # logits: the last module, a layer named like a head, or one as wide as the label classes
    assert kind_problem(logits_m, "5", model[5], torch.zeros(3, 3), p) is None
    assert kind_problem(logits_m, "3", model[3], torch.zeros(3, 16), p) is not None
    head = torch.nn.Linear(16, 7)
    assert kind_problem(logits_m, "encoder.lm_head", head, torch.zeros(3, 7), p) is None
    assert kind_problem(logits_m, "classifier", head, torch.zeros(3, 7), p) is None
    pl = Probes(model, layers=["0"], measures=["rankme"], probe_data=(data()[0], data()[1] * 0 + 6))
    assert kind_problem(logits_m, "hidden", head, torch.zeros(3, 7), pl) is None  # 7 outputs, labels 0..6
    assert "Softmax" in kind_problem(logits_m, "5", torch.nn.Softmax(-1), torch.zeros(3, 3), p)  # probabilities
    # log-probabilities (a model ending in LogSoftmax, for NLLLoss) have the softmax of their logits
    nll = torch.nn.Sequential(torch.nn.Linear(10, 3), torch.nn.LogSoftmax(-1))
    pn = Probes(nll, layers=["1"], measures=["prediction_entropy"], every=1, probe_data=data()[0])
    assert kind_problem(logits_m, "1", nll[1], torch.zeros(3, 3), pn) is None

    class Net(torch.nn.Module):  # the output layer registered before a Dropout, no labels to count classes
        def __init__(self):
            super().__init__()
            self.fc1, self.out, self.drop = torch.nn.Linear(10, 8), torch.nn.Linear(8, 5), torch.nn.Dropout(0.1)

        def forward(self, x):
            return self.out(self.drop(torch.relu(self.fc1(x))))

    net = Net()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Probes(net, layers=["fc1", "out"], measures=["prediction_entropy"], every=1, probe_data=data()[0]) as pn:
            pn.step(0)
    assert [r["layer"] for r in pn.results] == ["out"]
    assert [str(w.message)[:42] for w in caught] == ["layer 'fc1': prediction_entropy is skipped"]
    # the dict form runs a measure where it is given, whatever the output
    with Probes(model, layers=["1"], measures={"1": ["prediction_entropy"]}, every=1, probe_data=data()[0]) as p2:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            p2.step(0)
    assert p2.results[0]["measure"] == "prediction_entropy" and p2.results[0]["value"] > 0


def test_default_measures_fit_the_layer_shape(monkeypatch):
    import infomeasure.probes as P

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(20, 40), torch.nn.ReLU(), torch.nn.Linear(40, 4))
    px = torch.randn(200, 20, generator=torch.Generator().manual_seed(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Probes(model, layers=["0", "2"], every=1, probe_data=px) as p:
            p.step(0)
            p.step(1)
    assert _pairs(p.results) == [("0", "rankme"), ("0", "von_neumann_entropy"), ("2", "rankme"),
                                 ("2", "von_neumann_entropy")]
    # a default set with alpha_req: left out on the 4-wide layer (no error rows), measured on the 40-wide one
    # (of rank 20: its fit-range warning is shown once, not at every step)
    monkeypatch.setattr(P, "DEFAULT_MEASURES", ("rankme", "alpha_req"))
    with pytest.warns(UserWarning) as caught:
        with Probes(model, layers=["0", "2"], every=1, probe_data=px) as p:
            p.step(0)
            p.step(1)
    fit = [str(w.message) for w in caught if "alpha_req" in str(w.message) and "not shown again" not in str(w.message)]
    assert len(fit) == 1 and fit[0].startswith("layer '0', alpha_req: alpha_req: the spectrum has 20 non-zero")
    assert _pairs(p.results) == [("0", "alpha_req"), ("0", "rankme"), ("2", "rankme")]
    assert not any(r["error"] for r in p.results)
    # asked for by name, alpha_req gives its error rows on the narrow layer, as asked
    with Probes(model, layers=["2"], measures=["alpha_req"], every=1, probe_data=px) as p:
        p.step(0)
    assert "too few for a fit" in p.results[0]["error"]
    # analyze's defaults on a 4-wide layer: no error rows either
    rows = analyze({"narrow": px[:, :4].numpy()})
    assert [r["measure"] for r in rows] == ["rankme", "effective_rank", "von_neumann_entropy"]
    assert not any(r["error"] for r in rows)


class Grumbling(Measure):
    """A measure that warns at every call, with a number that changes (as kNN tie shares do)."""

    name = "grumbling"
    method = "none"
    calls = 0

    def compute(self, Z, y=None, spectrum=None):
        Grumbling.calls += 1
        warnings.warn(f"Z has heavy ties ({40 + Grumbling.calls}.5% of the values repeat)", UserWarning)
        return 1.0


@pytest.mark.parametrize("background", [False, True])
def test_a_repeated_estimator_warning_is_shown_once(background):
    model = mlp()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Probes(model, layers=["0", "3"], measures=["rankme", Grumbling()], every=1, probe_data=data()[0],
                    background=background) as p:
            for step in range(5):
                p.step(step)
            warnings.warn("the training thread's own warning", UserWarning)  # passes unchanged
    texts = [str(w.message) for w in caught]
    ties = [t for t in texts if "heavy ties" in t and "not shown again" not in t]
    assert len(ties) == 2 and ties[0].startswith("layer '0', grumbling: Z has heavy ties")
    assert ties[1].startswith("layer '3', grumbling:")
    summary = [t for t in texts if "not shown again" in t]
    assert len(summary) == 1 and summary[0].startswith("8 repeated warning(s)") and "(x4 more)" in summary[0]
    assert "the training thread's own warning" in texts
    assert len(p.results) == 20 and all(r["error"] is None for r in p.results)


def test_resume_with_other_measures_per_layer_warns(tmp_path):
    model = mlp()
    px = data()[0]
    kw = dict(layers=["0", "3"], every=1, probe_data=px, run_dir=tmp_path)
    with Probes(model, measures={"0": ["rankme", "von_neumann_entropy"], "3": ["von_neumann_entropy"]}, **kw) as p:
        p.step(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same per-layer sets: no warning
        with Probes(model, measures={"0": ["rankme", "von_neumann_entropy"], "3": "von_neumann_entropy"},
                    resume=True, **kw) as p:
            p.step(1)
    # the same measures in all (the manifest's "measures"), on other layers
    with pytest.warns(UserWarning, match="different layer_measures than the run"):
        with Probes(model, measures={"0": ["rankme"], "3": ["rankme", "von_neumann_entropy"]}, resume=True, **kw) as p:
            p.step(2)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["previous_runs"][0]["layer_measures"] == {"0": ["rankme", "von_neumann_entropy"],
                                                              "3": ["von_neumann_entropy"]}


def test_attention_kind_check_with_nan_rows_and_low_precision():
    from infomeasure._capture import kind_problem

    g = torch.Generator().manual_seed(1)
    probs = torch.softmax(torch.randn(2, 3, 4, 8, generator=g), -1)
    p = Probes(mlp(), layers=["0"], measures=["rankme"], probe_data=data()[0])
    with_nan = probs.clone()
    with_nan[0, 1, 2] = float("nan")  # a fully masked query row, as some attention kernels give it
    for t in (with_nan, probs.half(), probs.bfloat16()):
        assert kind_problem(AttentionEntropy(), "a", torch.nn.Identity(), t, p) is None
    scores = torch.randn(2, 3, 4, 8, generator=g)
    scores[0, 0, 0] = float("nan")
    assert "negative" in kind_problem(AttentionEntropy(), "a", torch.nn.Identity(), scores, p)
