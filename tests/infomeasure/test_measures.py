"""Measures: metadata, the one evaluation path shared by probes and analyze, and reductions."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import estimators as est  # noqa: E402
from infomeasure import measures as M  # noqa: E402
from infomeasure.analysis import analyze  # noqa: E402
from infomeasure.probes import Probes  # noqa: E402


def _data(n=120, d=6, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    z = (y[:, None] + rng.standard_normal((n, d))).astype(np.float32)
    return z, y


#: What each registered measure is (quantity), with the unitless and centred ones.
QUANTITIES = {
    "effective_rank": ("rankme", "effective_rank"),
    "entropy": ("von_neumann_entropy", "matrix_entropy", "diffusion_spectral_entropy", "prediction_entropy",
                "attention_entropy"),
    "mutual_information": ("mi_labels", "dsmi", "mi_inputs"),
    "spectral_decay": ("alpha_req",),
    "coding_rate": ("coding_rate",),
}
UNITLESS = {"rankme", "effective_rank", "alpha_req"}
CENTRED = {"rankme": False, "effective_rank": True, "von_neumann_entropy": False, "matrix_entropy": False,
           "alpha_req": True, "coding_rate": False}


@pytest.mark.parametrize("quantity, name", [(q, n) for q, names in QUANTITIES.items() for n in names])
def test_every_registered_measure_says_what_it_is(quantity, name):
    m = M.get_measure(name)
    assert (m.quantity, m.unitless, m.centred) == (quantity, name in UNITLESS, CENTRED.get(name))
    assert m.describe()["quantity"] == quantity
    # a fall signals collapse for ranks and spectral entropies, not for prediction/attention entropy or MI
    assert m.collapse_signal == (quantity in ("effective_rank", "entropy") and not m.streaming)


def test_every_measure_name_is_covered():
    covered = {n for names in QUANTITIES.values() for n in names}
    aliases = {"diffusion_spectral_mutual_information", "mi_ross", "output_entropy"}
    assert set(M.MEASURES) == covered | aliases


def test_centred_matches_the_estimators_preparation():
    for name, (center, _) in est.spectral.GRAM_PREPARATION.items():
        assert M.SpectralMeasure(name).centred is center


def test_maximum_is_the_rank_or_its_log_in_the_measures_units():
    assert M.get_measure("rankme").maximum(500, 32) == 32.0
    assert M.get_measure("effective_rank").maximum(10, 32) == 10.0
    assert M.get_measure("von_neumann_entropy").maximum(500, 32) == pytest.approx(math.log(32))
    assert M.get_measure(("von_neumann_entropy", {"base": 2})).maximum(500, 32) == pytest.approx(5.0)
    assert M.get_measure("von_neumann_entropy").maximum(500, 1) is None  # log 1 = 0: no useful bound
    assert M.get_measure("mi_labels").maximum(500, 32) is None


@pytest.mark.parametrize(
    "row, kind",
    [
        ({"measure": "my_rank", "method": "rankme"}, ("SpectralMeasure", "effective_rank")),
        ({"measure": "dsmi", "method": "dsmi"}, ("SampleMeasure", "mutual_information")),  # hand-written rows
        ({"measure": "mi_labels", "method": "mi_ross"}, ("SampleMeasure", "mutual_information")),
        ({"measure": "mi_labels", "method": "entropy_kl"}, ("SampleMeasure", "entropy")),  # a reused name
        ({"measure": "attention_entropy[3]", "method": "attention_entropy"}, ("AttentionEntropy", "entropy")),
        ({"measure": "cka", "method": "mi_ksg"}, ("SampleMeasure", "mutual_information")),
    ],
)
def test_measure_for_row_reads_what_a_row_is(row, kind):
    m = M.measure_for_row(row)
    assert (type(m).__name__, m.quantity) == kind


def test_measure_for_row_without_a_known_measure_is_none():
    assert M.measure_for_row({"measure": "loss", "method": "logged"}) is None
    assert M.measure_for_row({"measure": "x", "method": "no_such_estimator"}) is None
    assert M.measure_for_row({"measure": "permutation_entropy", "method": "permutation_entropy"}).quantity is None


def test_evaluate_shares_one_spectrum_per_preparation(monkeypatch):
    z, _ = _data()
    calls = []
    real = M.gram_spectrum

    def counting(Z, **kw):
        calls.append(tuple(kw.values()))
        return real(Z, **kw)

    monkeypatch.setattr(M, "gram_spectrum", counting)
    ms = [M.get_measure(n) for n in ("rankme", "coding_rate", "matrix_entropy", "effective_rank", "von_neumann_entropy")]
    rows = M.evaluate(ms, z, step=3, layer="fc")
    assert sorted(calls) == [(False, False), (False, True), (True, True)]
    for r, m in zip(rows, ms):
        assert (r["step"], r["layer"], r["measure"], r["n_samples"], r["n_features"]) == (3, "fc", m.name, 120, 6)
        assert r["value"] == pytest.approx(getattr(est, m.method)(z), rel=1e-12) and r["error"] is None


def test_evaluate_converts_float32_activations_once_and_gives_the_estimators_values():
    # probes capture float32; evaluate makes one float64 copy per layer for every preparation's
    # spectrum: the values are the estimators' on the float32 input exactly, and z is not written
    import torch

    z, _ = _data()
    z32 = (z * 3.0).astype(np.float32)
    before = z32.copy()
    ms = [M.get_measure(n) for n in ("rankme", "von_neumann_entropy", "effective_rank")]
    for given in (z32, torch.from_numpy(z32)):
        rows = M.evaluate(ms, given, step=0, layer="fc")
        assert [r["value"] for r in rows] == [getattr(est, m.method)(z32) for m in ms]
        np.testing.assert_array_equal(z32, before)


def test_evaluate_error_rows_strict_and_layer_errors():
    z, y = _data()
    ms = [M.get_measure("rankme"), M.get_measure("mi_labels")]
    rows = M.evaluate(ms, z, labels=np.r_[y, y])  # labels longer than n are cut to n
    assert rows[1]["value"] == pytest.approx(est.mi_ross(z, y)) and rows[1]["error"] is None
    rows = M.evaluate(ms, z)  # no labels: an error row, the other measure unaffected
    assert rows[0]["error"] is None and rows[1]["value"] is None and "needs labels" in rows[1]["error"]
    with pytest.raises(ValueError, match="needs labels"):
        M.evaluate(ms, z, strict=True)
    rows = M.evaluate(ms, z, layer="fc", errors={None: RuntimeError("hook\nfailed")})
    assert [r["error"] for r in rows] == ["RuntimeError: hook failed"] * 2  # one line
    rows = M.evaluate(ms, None, layer="fc")
    assert all("no activations were captured for layer 'fc'" in r["error"] for r in rows)


def test_evaluate_turns_non_finite_values_into_error_rows():
    class Bad(M.Measure):
        name = "bad"

        def compute(self, Z, y=None, spectrum=None):
            return math.nan

    (row,) = M.evaluate([Bad()], np.ones((5, 2)))
    assert row["value"] is None and row["error"] == "ValueError: bad gave a non-finite value nan"


def test_evaluate_finalizes_streaming_measures_into_one_row_per_part():
    a = torch.full((2, 2, 3, 4), 0.25)
    a[:, 1] = torch.eye(4)[:3]
    m = M.AttentionEntropy(base=2)
    rows = M.evaluate([m], None, states={m.name: m.update(m.init(), a)}, layer="attn")
    assert [(r["measure"], r["value"]) for r in rows] == [
        ("attention_entropy", 1.0), ("attention_entropy[0]", 2.0), ("attention_entropy[1]", 0.0)]
    rows = M.evaluate([m], None, errors={m.name: ValueError("bad map")})
    assert rows == [dict(rows[0], value=None, error="ValueError: bad map")] and len(rows) == 1


@pytest.mark.filterwarnings("ignore:.*KSG MI. only 96 samples:UserWarning")  # expected: 5 + 5 dimensions
def test_probes_and_analyze_give_the_same_rows_for_the_same_activations():
    z, y = _data(n=96, d=5, seed=3)
    x = torch.from_numpy(z)
    model = torch.nn.Sequential(torch.nn.Identity())  # the layer output is the probe input itself
    names = ["rankme", "von_neumann_entropy", "effective_rank", "alpha_req", "mi_labels", "mi_inputs"]
    with Probes(model, layers=["0"], measures=names, every=1, probe_data=(x, torch.from_numpy(y))) as probes:
        probes.step(0)
    mine = analyze({"0": z}, names, labels=y, inputs=z, step=0)
    key = ("step", "layer", "measure", "method", "n_samples", "n_features", "units", "error")
    assert [tuple(r[k] for k in key) for r in probes.results] == [tuple(r[k] for k in key) for r in mine]
    for a, b in zip(probes.results, mine):
        assert a["value"] == pytest.approx(b["value"], rel=1e-12, abs=1e-12), a["measure"]


@pytest.mark.parametrize(
    "shape, reduce, out",
    [((2, 3, 4, 5), "mean", (2, 3)), ((2, 7, 5), "mean", (2, 5)), ((2, 7, 5), "last", (2, 5)),
     ((2, 3, 4, 5), "flatten", (2, 60)), ((4,), "mean", (4, 1)), ((2, 3, 4), lambda a: a[:, 0], (2, 4))],
)
def test_reduce_rows_is_the_same_on_arrays_and_tensors(shape, reduce, out):
    a = np.random.default_rng(0).standard_normal(shape)
    r_np, r_t = M.reduce_rows(a, reduce), M.reduce_rows(torch.from_numpy(a), reduce)
    assert r_np.shape == tuple(r_t.shape) == out
    assert np.allclose(r_np, r_t.numpy(), rtol=1e-15, atol=1e-15)


def test_input_kinds_and_shape_limits():
    kinds = {name: M.get_measure(name).input for name in M.MEASURES}
    assert kinds["prediction_entropy"] == kinds["output_entropy"] == "logits"
    assert kinds["attention_entropy"] == "attention"
    assert {k for n, k in kinds.items() if n not in ("prediction_entropy", "output_entropy", "attention_entropy")} == {
        "features"}
    assert M.Measure().input == "features" and M.Measure().unfit(10, 2) is None
    # alpha_req fits ranks 11-100 (the estimator's default): it needs min(n - 1, d) >= 13
    a = M.get_measure("alpha_req")
    assert a.unfit(500, 12) is not None and a.unfit(13, 500) is not None
    assert a.unfit(500, 13) is None and a.unfit(14, 500) is None
    z = np.random.default_rng(0).standard_normal((500, 13))
    assert math.isfinite(est.alpha_req(z, fit_range=(11, 13)))  # the boundary is a fit, not an error
    with pytest.raises(ValueError, match="too few for a fit"):
        est.alpha_req(z[:, :12])
    assert M.get_measure(("alpha_req", {"fit_range": (2, 20)})).unfit(500, 4) is None
    assert "needs at least 4" in M.get_measure(("alpha_req", {"fit_range": (2, 20)})).unfit(500, 3)
    assert all(M.get_measure(n).unfit(500, 2) is None for n in M.MEASURES if n != "alpha_req")


def test_evaluate_around_wraps_each_measure():
    import contextlib

    seen = []

    @contextlib.contextmanager
    def around(m):
        seen.append(m.name)
        yield

    z, _ = _data()
    rows = M.evaluate([M.get_measure("rankme"), M.get_measure("von_neumann_entropy")], z, around=around)
    assert seen == ["rankme", "von_neumann_entropy"] and all(r["error"] is None for r in rows)


def test_analyze_shows_a_warning_once_over_checkpoints():
    import warnings

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    acts = {s: {"fc": np.round(rng.standard_normal((300, 3)), 1), "ok": rng.standard_normal((300, 3))} for s in range(4)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = analyze(acts, labels=y, measures=["mi_labels"])
    texts = [str(w.message) for w in caught]
    ties = [t for t in texts if "heavy ties" in t]
    assert len(ties) == 1 and ties[0].startswith("layer 'fc' at step 0, mi_labels: x has heavy ties")
    assert sum("were not shown" in t for t in texts) == 1
    assert len(rows) == 8 and all(r["error"] is None for r in rows)
