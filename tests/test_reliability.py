"""Nothing lost, nothing silently wrong: regressions from hostile testing of the user layer.

Each test names the defect it guards (numbers as in the reliability issue). On the code before the
fix each of them failed: data was overwritten or dropped, or a wrong number came back without a word.
"""

import json
import os
import threading
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import infomeasure as im  # noqa: E402
from infomeasure.activations import load_activations  # noqa: E402
from infomeasure.analysis import analyze, reduce_array  # noqa: E402
from infomeasure.cli import main  # noqa: E402
from infomeasure.probes import Probes  # noqa: E402
from infomeasure.report import report  # noqa: E402
from infomeasure.run_dir import RunDir, read_metrics  # noqa: E402
from infomeasure.sinks import CSVSink  # noqa: E402


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))


def _probe_set(n=80):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 6, generator=g), torch.randint(0, 4, (n,), generator=g)


def _run(tmp_path, name="run", steps=3):
    x, y = _probe_set()
    with Probes(_mlp(), ["0", "2"], measures=["rankme"], every=1, probe_data=(x, y), run_dir=tmp_path / name) as p:
        for s in range(steps):
            p.step(s)
    return tmp_path / name


# ------------------------------------------------------------------------------------------------
# 1. reports never overwrite their inputs, and are written atomically
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["metrics.jsonl", "manifest.json"])
def test_report_refuses_to_overwrite_an_input_of_the_run(tmp_path, capsys, target):
    run = _run(tmp_path)
    before = (run / target).read_bytes()
    assert main(["report", str(run), "-o", str(run / target), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"infomeasure report: error: output {str(run / target)!r} is an input")
    assert "choose another file name" in err.lower()
    assert (run / target).read_bytes() == before
    with pytest.raises(ValueError, match="is an input"):
        report(run, run / target)
    # the report next to them is fine, and so is one in the folder of a comparison
    assert main(["report", str(run), "-o", str(run / "report.html"), "-q"]) == 0
    other = _run(tmp_path, "other")
    with pytest.raises(ValueError, match="is an input"):
        report([run, other], other / "metrics.jsonl")


def test_report_refuses_activation_and_label_files_and_folders(tmp_path, capsys):
    acts = tmp_path / "acts.npz"
    np.savez(acts, fc=np.random.default_rng(0).standard_normal((60, 3)))
    before = acts.read_bytes()
    with pytest.raises(ValueError, match="is an input"):
        report(acts, acts, measures=["rankme"])
    assert acts.read_bytes() == before
    with pytest.raises(ValueError, match="is a folder; pass a file path"):
        report(acts, tmp_path, measures=["rankme"])
    # analyze: labels given as the very table.csv it would write
    out = tmp_path / "out"
    out.mkdir()
    np.savetxt(out / "table.csv", np.arange(60) % 2, delimiter=",")
    labels_before = (out / "table.csv").read_bytes()
    assert main(["analyze", str(acts), "--labels", str(out / "table.csv"), "-o", str(out), "-q"]) == 2
    assert "is an input" in capsys.readouterr().err
    assert (out / "table.csv").read_bytes() == labels_before


def test_report_is_replaced_atomically(tmp_path, monkeypatch):
    """A reader polling the report while it is rewritten never sees an empty or partial file."""
    run = _run(tmp_path)
    out = tmp_path / "r.html"
    report(run, out)
    full_size = out.stat().st_size
    seen, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                seen.append(len(out.read_bytes()))
            except FileNotFoundError:
                seen.append(-1)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for _ in range(3):
            report(run, out)
    finally:
        stop.set()
        t.join()
    assert seen and min(seen) > 0.9 * full_size
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


# ------------------------------------------------------------------------------------------------
# 2. a closed Probes refuses instead of dropping rows
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


# ------------------------------------------------------------------------------------------------
# 3. restarted jobs: no silent manifest replacement, partial lines repaired
# ------------------------------------------------------------------------------------------------
def test_existing_run_directory_is_refused_without_resume(tmp_path):
    run = _run(tmp_path)
    manifest = (run / "manifest.json").read_bytes()
    x, y = _probe_set()
    with pytest.raises(ValueError, match="already holds a run.*resume=True"):
        Probes(_mlp(), ["0"], measures=["rankme"], every=1, probe_data=(x, y), run_dir=run)
    assert (run / "manifest.json").read_bytes() == manifest


def test_resume_repairs_a_partial_line_and_keeps_the_earlier_manifest(tmp_path):
    run = _run(tmp_path, steps=3)
    first = json.loads((run / "manifest.json").read_text())
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 3, "layer": "0", "meas')  # killed mid-write (crash, full disk)
    x, y = _probe_set()
    with pytest.warns(UserWarning, match="ended in a partial row"):
        p = Probes(_mlp(), ["0", "2"], measures=["rankme"], every=1, probe_data=(x, y), run_dir=run, resume=True)
    with p:
        p.step(2)  # restarted from a checkpoint before the last probe step
        p.step(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no line is skipped: the partial row is gone
        rows = read_metrics(run)
    assert [(r["step"], r["layer"]) for r in rows] == [(s, la) for s in range(4) for la in ("0", "2")]
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 10  # step 2 twice on disk, once read
    man = json.loads((run / "manifest.json").read_text())
    assert man["previous_runs"][0]["created"] == first["created"] and man["probe_steps"] == 2
    assert man["previous_runs"][0]["probe_steps"] == 3
    with pytest.raises(TypeError, match="resume must be True or False"):
        RunDir(tmp_path / "x", {}, resume="yes")


# ------------------------------------------------------------------------------------------------
# 4. sequence-first layers: samples are the batch, not time steps
# ------------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------------
# 6. complex activations are refused, not silently made real
# ------------------------------------------------------------------------------------------------
def test_complex_activations_are_refused():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((100, 4)) + 1j * rng.standard_normal((100, 4))
    rows = analyze({"fc": z}, measures=["rankme"])
    assert rows[0]["value"] is None and "activations are complex" in rows[0]["error"]
    with pytest.raises(TypeError, match="complex"):
        reduce_array(z)

    class Complex(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = torch.nn.Identity()

        def forward(self, x):
            return self.inner(torch.complex(x, x))

    with Probes(Complex(), ["inner"], measures=["rankme"], every=1, probe_data=torch.randn(40, 6)) as p:
        p.step(0)
    assert "complex output" in p.results[0]["error"]


# ------------------------------------------------------------------------------------------------
# 8. masked arrays: refused where masked, plain data otherwise
# ------------------------------------------------------------------------------------------------
def test_masked_arrays_are_refused_where_masked():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2))
    mx = np.ma.masked_array(x, mask=np.zeros_like(x, dtype=bool))
    mx.mask[5, 1] = True
    for call in (lambda a: im.entropy(a), lambda a: im.rankme(a), lambda a: im.mutual_information(a[:, 0], a[:, 1])):
        with pytest.raises(ValueError, match="masked array with 1 masked value"):
            call(mx)
    with pytest.raises(ValueError, match="masked"):
        reduce_array(mx)
    clean = np.ma.masked_array(x)  # no mask set: the same as the plain array
    assert im.entropy(clean, method="gaussian") == im.entropy(x, method="gaussian")


# ------------------------------------------------------------------------------------------------
# 12. no hang on FIFOs, a named error for batch folders larger than memory
# ------------------------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifos_are_skipped_or_refused_not_read(tmp_path):
    folder = tmp_path / "acts"
    for b in range(2):
        (folder / f"batch_{b}").mkdir(parents=True)
        np.save(folder / f"batch_{b}" / "fc.npy", np.ones((3, 2)) * b)
    os.mkfifo(folder / "batch_1" / "stuck.npy")  # would block np.load forever
    acts = load_activations(folder)
    assert acts["fc"].shape == (6, 2)
    os.mkfifo(tmp_path / "pipe.npy")
    with pytest.raises(ValueError, match="is not a regular file"):
        load_activations(tmp_path / "pipe.npy")


def test_batch_folders_too_large_for_memory_get_a_named_error(tmp_path, monkeypatch):
    import infomeasure.activations as A

    for b in range(3):
        np.savez(tmp_path / f"batch_{b}.npz", fc=np.ones((4, 2)))  # one layer in three batch files

    def no_memory(*a, **k):
        raise MemoryError("Unable to allocate 74.5 TiB for an array")  # as numpy's _ArrayMemoryError

    monkeypatch.setattr(A.np, "concatenate", no_memory)
    with pytest.raises(ValueError, match="layer 'fc' has 3 batches, 12 rows .* too large to hold in memory"):
        load_activations(tmp_path)


# ------------------------------------------------------------------------------------------------
# 13. bad lines and manifests: skipped and counted, or one line and exit 2
# ------------------------------------------------------------------------------------------------
def test_bad_metrics_lines_are_skipped_and_counted(tmp_path, capsys):
    run = _run(tmp_path, steps=2)
    good = read_metrics(run)
    with open(run / "metrics.jsonl", "ab") as f:
        f.write(b"null\n42\n[1, 2]\n\xff\xfe garbage\n")
        f.write(b'{"step": "3", "layer": "0", "measure": "rankme", "value": 1.0}\n')
        f.write(b'{"step": 3, "layer": "0", "measure": "rankme", "value": "1.0"}\n')
        f.write(b'{"step": 3, "layer": "0", "value": 1.0}\n')
    with pytest.warns(UserWarning, match=r"skipped 7 line\(s\) that are not result rows \(first: line 5, a JSON NoneType"):
        assert read_metrics(run) == good
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["report", str(run), "-o", str(tmp_path / "r.html"), "-q"]) == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "skipped 7 line(s)" in html


@pytest.mark.parametrize("content", [b"[1, 2]", b'"text"', b"\xff\xfe{}", b"{not json"])
def test_bad_manifests_give_one_line_and_exit_2(tmp_path, capsys, content):
    run = _run(tmp_path)
    (run / "manifest.json").write_bytes(content)
    assert main(["report", str(run), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("infomeasure report: error: ") and err.count("\n") == 1
    assert "manifest.json" in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


# ------------------------------------------------------------------------------------------------
# 14. names are text in figures, not mathtext
# ------------------------------------------------------------------------------------------------
def test_dollar_signs_in_names_do_not_break_the_report(tmp_path):
    pytest.importorskip("matplotlib")
    rows = []
    for step in range(3):
        for layer in ("$x^{$", "$a$"):
            rows.append({"step": step, "layer": layer, "measure": "rankme", "method": "rankme",
                         "value": 1.0 + step, "n_samples": 100, "n_features": 4, "units": "unitless", "error": None})
    out = report(rows, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 1 and "$x^{$" in html
    from infomeasure.plotting import plot_measure_over_steps

    fig, ax = plot_measure_over_steps(rows, "rankme")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["$x^{$", "$a$"]
    fig.canvas.draw()  # mathtext would raise on "$x^{$" here
    assert all(not t._parse_math for t in ax.get_legend().get_texts())
    assert out


# ------------------------------------------------------------------------------------------------
# 15. Probes arguments are checked at construction
# ------------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------------
# 18. CSV cells that a spreadsheet would run as formulas are quoted
# ------------------------------------------------------------------------------------------------
def test_csv_output_is_safe_from_formula_injection(tmp_path, capsys):
    import csv

    acts = tmp_path / "acts.npz"
    rng = np.random.default_rng(0)
    np.savez(acts, **{'=HYPERLINK("http://evil","x")': rng.standard_normal((50, 3)), "+cmd": rng.standard_normal((50, 3))})
    out = tmp_path / "out"
    assert main(["analyze", str(acts), "--measures", "rankme", "-o", str(out), "-q"]) == 0
    with open(out / "table.csv", newline="") as f:
        cells = [row["layer"] for row in csv.DictReader(f)]
    assert sorted(cells) == sorted(["'+cmd", '\'=HYPERLINK("http://evil","x")'])
    sink = CSVSink(tmp_path / "s.csv")
    sink.write([{"step": 0, "layer": "@SUM(A1)", "measure": "-x", "value": -1.5, "error": "=1+1"}])
    sink.close()
    with open(tmp_path / "s.csv", newline="") as f:
        row = next(csv.DictReader(f))
    assert (row["layer"], row["measure"], row["value"], row["error"]) == ("'@SUM(A1)", "'-x", "-1.5", "'=1+1")


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


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("name", ["metrics.jsonl", "manifest.json"])
def test_run_directory_files_that_are_fifos_are_refused(tmp_path, capsys, name):
    run = _run(tmp_path)
    os.remove(run / name)
    os.mkfifo(run / name)
    assert main(["report", str(run), "-o", str(tmp_path / "r.html")]) == 2
    assert f"{name} is not a regular file" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not a regular file"):
        RunDir(run, {}, resume=True)


def test_atomic_writes_keep_ordinary_file_permissions(tmp_path):
    run = _run(tmp_path)
    out = tmp_path / "r.html"
    report(run, out)
    mask = os.umask(0)
    os.umask(mask)
    assert (out.stat().st_mode & 0o777) == (0o666 & ~mask)  # not mkstemp's 0600
    assert ((run / "manifest.json").stat().st_mode & 0o777) == (0o666 & ~mask)
    os.chmod(out, 0o640)
    report(run, out)  # rewriting keeps the mode the user set
    assert (out.stat().st_mode & 0o777) == 0o640


def test_resuming_with_another_configuration_warns(tmp_path):
    run = _run(tmp_path)
    x, y = _probe_set()
    with pytest.warns(UserWarning, match=r"different layers, measures than the run it continues"):
        Probes(_mlp(), ["0"], measures=["von_neumann_entropy"], every=1, probe_data=(x, y), run_dir=run,
               resume=True).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same configuration resumes quietly
        Probes(_mlp(), ["0"], measures=["von_neumann_entropy"], every=1, probe_data=(x, y), run_dir=run,
               resume=True).close()
