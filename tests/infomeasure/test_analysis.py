"""Offline analysis: values equal the estimators, reductions, checkpoints, executors, errors."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from estimators import effective_rank, mi_ksg, mi_ross, rankme, von_neumann_entropy
from infomeasure.analysis import DEFAULT_MEASURES, analyze, reduce_array
from infomeasure.sinks import COLUMNS


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    n = 300
    y = rng.integers(0, 3, n)
    x = rng.standard_normal((n, 3))
    h1 = x @ rng.standard_normal((3, 5)) + y[:, None]
    h2 = np.tanh(h1[:, :2])
    return {"h1": h1, "h2": h2}, y, x


def _values(rows):
    return {(r["step"], r["layer"], r["measure"]): r["value"] for r in rows}


def test_values_equal_the_estimators(data):
    acts, y, x = data
    rows = analyze(acts, labels=y, inputs=x)
    assert all(list(r) == COLUMNS for r in rows)
    v = _values(rows)
    # alpha_req (in the defaults) needs min(n - 1, d) >= 13 eigenvalues: left out on these 5- and 2-wide layers
    assert [r["measure"] for r in rows[:5]] == [*[m for m in DEFAULT_MEASURES if m != "alpha_req"], "mi_labels", "mi_inputs"]
    assert not any(r["error"] for r in rows) and not any(r["measure"] == "alpha_req" for r in rows)
    for layer, z in acts.items():
        assert v[(None, layer, "rankme")] == rankme(z)
        assert v[(None, layer, "effective_rank")] == effective_rank(z)
        assert v[(None, layer, "von_neumann_entropy")] == von_neumann_entropy(z)
        assert v[(None, layer, "mi_labels")] == mi_ross(z, y)
        assert v[(None, layer, "mi_inputs")] == mi_ksg(x, z)
    r = next(r for r in rows if r["layer"] == "h2" and r["measure"] == "rankme")
    assert (r["n_samples"], r["n_features"], r["units"], r["error"]) == (300, 2, "unitless", None)


def test_reduce_array_matches_the_probe_convention():
    rng = np.random.default_rng(0)
    conv = rng.standard_normal((4, 3, 2, 2))
    seq = rng.standard_normal((4, 5, 6))
    assert np.allclose(reduce_array(conv), conv.mean(axis=(2, 3)), atol=1e-15)
    assert np.allclose(reduce_array(seq), seq.mean(axis=1), atol=1e-15)
    assert np.array_equal(reduce_array(seq, "last"), seq[:, -1])
    assert reduce_array(seq, "flatten").shape == (4, 30)
    assert reduce_array(np.arange(3.0)).shape == (3, 1)
    with pytest.raises(ValueError, match="reduce='last' needs"):
        reduce_array(conv, "last")
    with pytest.raises(ValueError, match="reduce must be"):
        reduce_array(conv, "max")
    rows = analyze({"conv": conv}, ["rankme"])
    assert rows[0]["value"] == rankme(conv.mean(axis=(2, 3))) and rows[0]["n_features"] == 3


def test_checkpoints_and_measure_specs(data):
    acts = data[0]
    ckpts = {0: acts, 10: {k: 2.0 * v for k, v in acts.items()}}
    rows = analyze(ckpts, "rankme,von_neumann_entropy")
    assert [(r["step"], r["layer"]) for r in rows[::2]] == [(0, "h1"), (0, "h2"), (10, "h1"), (10, "h2")]
    v = _values(rows)
    # scale invariance of both measures: the checkpoints agree
    assert v[(10, "h1", "rankme")] == pytest.approx(v[(0, "h1", "rankme")], rel=1e-12)
    rows = analyze(acts, [("von_neumann_entropy", {"base": 2})])
    assert rows[0]["units"] == "bits"
    assert rows[0]["value"] == pytest.approx(von_neumann_entropy(acts["h1"]) / np.log(2), rel=1e-12)


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_executors_give_the_sequential_table(data, pool):
    acts, y, _ = data
    expected = analyze(acts, ["rankme", "effective_rank", "mi_labels"], labels=y)
    if pool == "thread":
        ex = ThreadPoolExecutor(max_workers=2)
    else:  # spawn: forking a process that already runs OpenMP (numba, torch) aborts the child
        ex = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    with ex:
        got = analyze(acts, ["rankme", "effective_rank", "mi_labels"], labels=y, executor=ex)
    assert got == expected


def test_error_rows_progress_and_warnings():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((50, 3))
    bad = z.copy()
    bad[0, 0] = np.nan
    zero_rows = z.copy()
    zero_rows[:2] = 0.0
    calls = []
    with pytest.warns(UserWarning, match=r"layer 'zr', von_neumann_entropy: 2 row\(s\) of Z are all zero"):
        rows = analyze({"ok": z, "nan": bad, "zr": zero_rows}, ["rankme", "coding_rate", "von_neumann_entropy"],
                       progress=lambda done, total: calls.append((done, total)))
    # two jobs per layer: rankme and coding_rate share the raw spectrum, von Neumann uses normalised rows
    assert calls == [(i, 6) for i in range(1, 7)]
    errs = [r for r in rows if r["error"]]
    assert [(r["layer"], r["value"]) for r in errs] == [("nan", None)] * 3
    assert all(r["error"].startswith("ValueError: ") for r in errs)
    assert all(r["value"] is not None for r in rows if r["layer"] != "nan")


def test_input_errors(data):
    acts, y, _ = data
    with pytest.raises(ValueError, match="labels has 299 rows but layer 'h1' has 300 samples"):
        analyze(acts, labels=y[:-1])
    with pytest.raises(ValueError, match="inputs has 10 rows"):
        analyze(acts, ["rankme"], inputs=np.ones((10, 2)))
    with pytest.raises(ValueError, match=r"\['mi_labels'\] need labels"):
        analyze(acts, ["mi_labels"])
    with pytest.raises(ValueError, match="unknown measure 'nope'"):
        analyze(acts, ["nope"])
    with pytest.raises(ValueError, match="activations is empty"):
        analyze({})
    with pytest.raises(ValueError, match="mixes layers and checkpoints"):
        analyze({"a": np.ones((3, 2)), 1: {"a": np.ones((3, 2))}})
    with pytest.raises(TypeError, match="must be a mapping"):
        analyze(np.ones((3, 2)))
    with pytest.raises(ValueError, match="labels must be one-dimensional"):
        analyze(acts, labels=np.ones((300, 2)))


def test_torch_tensors_and_streaming_measures():
    torch = pytest.importorskip("torch")
    from scipy.special import softmax
    from scipy.stats import entropy

    logits = torch.randn(6, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    rows = analyze({"head": logits}, ["rankme", "prediction_entropy"])
    v = _values(rows)
    expected = entropy(softmax(logits.numpy(), axis=1), axis=1).mean()
    assert v[(None, "head", "prediction_entropy")] == pytest.approx(expected, rel=1e-12)
    assert v[(None, "head", "rankme")] == rankme(logits.numpy())


def test_local_dask_cluster_gives_the_sequential_table(data):
    distributed = pytest.importorskip("distributed")
    acts, y, _ = data
    ckpts = {s: {k: v * (1.0 + s) for k, v in acts.items()} for s in (0, 1)}
    expected = analyze(ckpts, ["rankme", "effective_rank", "mi_labels"], labels=y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client, client.get_executor() as ex:
        got = analyze(ckpts, ["rankme", "effective_rank", "mi_labels"], labels=y, executor=ex)
    assert got == expected


def test_mi_inputs_named_in_measures_gets_the_inputs():
    # analyze(measures=["mi_inputs"], inputs=X) used to give an error row: the inputs never reached it
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 2))
    t = x + 0.3 * rng.standard_normal((300, 2))
    (row,) = analyze({"fc": t}, ["mi_inputs"], inputs=x)
    assert row["error"] is None and row["value"] == pytest.approx(mi_ksg(x, t), rel=1e-12)
    with pytest.raises(ValueError, match="need the network inputs: pass inputs="):
        analyze({"fc": t}, ["mi_inputs"])


def test_analyze_to_pandas_matches_the_rows(data):
    pytest.importorskip("pandas")
    acts, y, _ = data
    rows = analyze(acts, ["rankme", "mi_labels"], labels=y)
    df = rows.to_pandas()
    assert list(df.columns) == COLUMNS and len(df) == 4
    assert df["value"].tolist() == [r["value"] for r in rows]
    assert df["step"].isna().all()  # a single checkpoint without step=: the column is empty, not NaN floats
    assert str(df["step"].dtype) == "Int64"
    from infomeasure.analysis import analyze_series

    series = analyze_series({"a": np.arange(500.0)}, step=3).to_pandas()
    assert series["order"].tolist() == [3, 3] and series["step"].tolist() == [3, 3]
