"""HTML reports and plots: alerts, self-containment, embedded figures, size budget, Chromium rendering."""

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import base64
from estimators.spectral import gram_spectrum
from infomeasure.plotting import (
    plot_depth_profile,
    plot_eigenspectrum,
    plot_information_plane,
    plot_measure_over_steps,
)
from infomeasure.report import find_alerts, report
from infomeasure.run_dir import read_metrics, RunDir


STEPS = [0, 10, 20, 30, 40]

import os
import threading

from infomeasure.cli import main  # noqa: E402
from tests.infomeasure._runs import _run  # noqa: E402


def _row(step, layer, measure, value, n=500, d=8, units="unitless", error=None, method=None):
    return {"step": step, "layer": layer, "measure": measure, "method": method or measure, "value": value,
            "n_samples": n, "n_features": d, "units": units, "error": error}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    torch = pytest.importorskip("torch")
    path = tmp_path_factory.mktemp("run") / "exp"
    run = RunDir(path, {"model": {"class": "MLP"}, "seed": 123, "measures": [{"name": "rankme"}]})
    for i, s in enumerate(STEPS):
        run.append([
            _row(s, "fc1", "rankme", 7.0 - 0.1 * i),
            _row(s, "fc2", "rankme", [8.0, 6.0, 4.0, 2.0, 1.2][i]),  # collapses
            _row(s, "fc1", "von_neumann_entropy", 2.0, units="nats"),
            _row(s, "fc2", "von_neumann_entropy", 2.0 - 0.4 * i, units="nats"),
            _row(s, "fc1", "mi_labels", -0.05, units="nats", method="mi_ross"),
            _row(s, "fc2", "mi_labels", None if s == 40 else 0.3, units="nats", method="mi_ross",
                 error="ValueError: boom" if s == 40 else None),
        ])
    g = torch.Generator().manual_seed(0)
    run.save_snapshot(40, {"fc1": torch.randn(100, 8, generator=g), "fc2": torch.randn(100, 1, generator=g) * torch.ones(1, 8)})
    run.close(probe_steps=len(STEPS))
    return str(path)


class _Imgs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])


def _check_self_contained(html):
    without_data = re.sub(r"data:[a-z/+.-]+;base64,[A-Za-z0-9+/=]+", "", html)
    for ref in ("http://", "https://", 'src="/', "href=", "<script", "<link", "@import", "url("):
        assert ref not in without_data, ref
    p = _Imgs()
    p.feed(html)
    for src in p.srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    return p.srcs


def test_run_directory_report(run_dir, tmp_path):
    out = report(run_dir, tmp_path / "sub" / "r.html")
    html = Path(out).read_text(encoding="utf-8")
    srcs = _check_self_contained(html)
    # 3 measures over steps + 3 depth profiles + 1 eigenspectrum from the step-40 snapshot
    assert len(srcs) == 7
    assert "snapshot at step 40" in html
    assert len(html.encode()) < 600_000
    for text in ("representation collapse on fc2: rankme fell from 8 at step 0 to 1.2; von_neumann_entropy fell "
                 "from 2 at step 0 to 0.4, with no rise in held-out accuracy or label information",
                 "negative MI: mi_labels on fc1 = -0.05", "mi_labels failed on fc2 at 1 step(s): ValueError: boom",
                 "<b>error</b> (failed)", "1 error, 2 warnings, 0 notes",
                 "Values at the last step (40)",
                 "&quot;seed&quot;: 123", "&quot;numpy&quot;: &quot;" + np.__version__):
        assert text in html, text
    assert "collapse on fc1" not in html  # 7.0 -> 6.6 is not a collapse
    # the headline opens the report, before the overview
    head = html.split('<div class="headline" id="headline">', 1)[1].split("</div>", 1)[0]
    assert html.index('id="headline"') < html.index('id="overview"')
    assert ("<p>Largest changes from the first to the last step, by measure family: effective rank: rankme on fc2, "
            "8 → 1.2 (−85%); entropy: von_neumann_entropy on fc2, 2 → 0.4 (−80%)") in head
    assert head.startswith("<p>Alerts: 1 error (failed on fc2), look at these first; "
                           "2 warnings (collapse on fc2; negative MI on fc1).</p>")


def test_find_alerts_kinds():
    healthy = [_row(s, "fc", "rankme", 6.0) for s in STEPS] + [_row(0, "fc", "mi_labels", 0.4, units="nats", method="mi_ross")]
    assert find_alerts(healthy) == []
    rows = [
        _row(0, "a", "effective_rank", 1.2),                         # centred rank of about 1: collapse
        _row(0, "a2", "rankme", 1.2),                                # uncentred: the mean direction, no alert
        _row(0, "b", "effective_rank", 5.0, n=40, d=8),              # few samples
        _row(0, "c", "von_neumann_entropy", 0.1, units="nats"),       # uncentred entropy: never against its maximum
        _row(0, "e", "dsmi", -0.2, units="nats", method="diffusion_spectral_mutual_information"),
        _row(0, "f", "rankme", None),                                 # no value, no error
        _row(0, "g", "rankme", None, error="ValueError: x"),
        _row(0, "h", "mi_labels", -1e-12, units="nats", method="mi_ross"),  # round-off, no alert
        _row(0, "z", "rankme", None, error="ValueError: RankMe: Z is all zeros; its singular values are all 0"),
        _row(0, "k", "rankme", 1.0),                                  # a constant layer: uncentred rank 1 ...
        _row(0, "k", "effective_rank", None, error="ValueError: every row of Z is zero (after centring, if any)"),
    ]
    kinds = [(a["level"], a["kind"], a["layer"]) for a in find_alerts(rows)]
    assert kinds == [
        ("error", "dead_units", "z"), ("error", "constant", "k"), ("error", "nan", "f"), ("error", "failed", "g"),
        ("warning", "collapse", "a"), ("warning", "negative_mi", "e"), ("info", "few_samples", None),
    ]
    acts = {"dead": np.full((20, 3), 0.5), "alive": np.arange(60.0).reshape(20, 3)}
    assert [(a["kind"], a["layer"]) for a in find_alerts([], acts)] == [("constant", "dead")]
    half = np.abs(np.random.default_rng(0).standard_normal((50, 8)))
    half[:, :5] = 0.0  # 5 of 8 units never fire
    (a,) = find_alerts([], {"h": half})
    assert (a["level"], a["kind"]) == ("warning", "dead_units") and a["message"].startswith("5 of 8 units of h are 0 on")


def test_alerts_are_grouped_and_saturation_needs_the_class_count():
    import math

    from infomeasure.alerts import group_alerts

    rows = [_row(s, la, "mi_labels", math.log(2) - 0.01, n=400, units="nats", method="mi_ross")
            for s in (0, 10) for la in ("l1", "l2")]
    (sat,) = find_alerts(rows, n_classes=2)
    assert (sat["level"], sat["kind"], sat["count"]) == ("info", "saturated", 2)
    assert "saturated at its bound ln 2 = 0.693 nats (l1 0.683, l2 0.683; within 1/sqrt(n) = 0.05" in sat["message"]
    assert find_alerts(rows, n_classes=10) == [] and find_alerts(rows) == []
    bits = [dict(r, units="bits", value=0.99) for r in rows]  # log2(2) = 1 bit
    assert [a["kind"] for a in find_alerts(bits, n_classes=2)] == ["saturated"]
    a = {"level": "warning", "kind": "k", "layer": None, "measure": None, "message": "m", "count": 2}
    assert group_alerts([a, dict(a), dict(a, level="info")]) == [dict(a, count=4), dict(a, level="info")]


def test_memorisation_overfitting_and_divergence_from_logged_scalars():
    def logged(s, **values):
        return [_row(s, "model", k, v, n=None, d=None, method="logged") for k, v in values.items()]

    mem = [r for s, (t, h) in enumerate([(0.1, 0.1), (0.6, 0.1), (1.0, 0.12)]) for r in logged(s, train_acc=t, val_acc=h)]
    (m,) = find_alerts(mem)
    assert (m["level"], m["kind"]) == ("warning", "memorisation")
    assert "train accuracy rose from 0.1 to 1 while held-out accuracy stayed at 0.1 → 0.12" in m["message"]
    over = [r for s, (t, h) in enumerate([(0.1, 0.1), (0.8, 0.8), (1.0, 0.6)]) for r in logged(s, train_accuracy=t,
                                                                                                  test_accuracy=h)]
    assert [a["kind"] for a in find_alerts(over)] == ["overfitting"]
    healthy = [r for s, (t, h) in enumerate([(0.1, 0.1), (0.8, 0.7), (1.0, 0.9)]) for r in logged(s, train_accuracy=t,
                                                                                                     heldout_accuracy=h)]
    assert find_alerts(healthy) == []
    loss = [r for s, v in enumerate([2.3, 30.0, 18.0]) for r in logged(s, train_loss=v)]
    (d,) = find_alerts(loss)
    assert (d["level"], d["kind"], d["message"]) == ("error", "divergence", "divergence: train_loss rose from 2.3 at step 0 to 30 at step 1")
    # a fall of rank with held-out accuracy rising is compression, with it flat a collapse
    ranks = [_row(s, "fc", "rankme", v) for s, v in zip((0, 1, 2), (40.0, 20.0, 10.0))]
    assert find_alerts(ranks + healthy) == []
    assert [a["kind"] for a in find_alerts(ranks + mem)] == ["memorisation", "collapse"]


def test_activations_report_with_labels(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    np.savez(tmp_path / "acts.npz", fc=rng.standard_normal((400, 4)) + y[:, None], dead=np.zeros((400, 3)))
    np.save(tmp_path / "y.npy", y)
    out = report(str(tmp_path / "acts.npz"), tmp_path / "r.html", labels=str(tmp_path / "y.npy"))
    html = Path(out).read_text(encoding="utf-8")
    srcs = _check_self_contained(html)
    # depth profiles of the 3 default measures these 4- and 3-wide layers can give (not alpha_req) + mi_labels,
    # and 1 eigenspectrum
    assert len(srcs) == 4 + 1
    assert "dead is dead: every unit is 0 on every probe sample;" in html
    assert "failed on dead" not in html  # mi_labels fails on its repeated rows: the dead layer says why
    assert "labels&quot;: &quot;" + str(tmp_path / "y.npy") in html  # in the appendix
    assert "Measures over training" not in html  # a single checkpoint


def test_size_budget_and_errors(run_dir, tmp_path):
    with pytest.warns(UserWarning, match="over max_bytes=1000"):
        out = report(run_dir, tmp_path / "r.html", max_bytes=1000)
    small = report(run_dir, tmp_path / "r2.html", max_figures=2)
    assert len(_check_self_contained(Path(small).read_text(encoding="utf-8"))) == 2
    assert Path(out).stat().st_size > Path(small).stat().st_size
    with pytest.raises(ValueError, match="no such file or directory"):
        report(tmp_path / "missing", tmp_path / "x.html")
    with pytest.raises(TypeError, match="source must be"):
        report(3.0, tmp_path / "x.html")
    bad = tmp_path / "badrun"
    bad.mkdir()
    (bad / "metrics.jsonl").write_text(json.dumps(_row(0, "fc", "rankme", 3.0)) + "\n")
    (bad / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot read .*manifest.json"):
        report(bad, tmp_path / "x.html")


def test_plots_draw_the_table_values():
    rows = [_row(s, la, "rankme", v + s) for s in (0, 1, 2, 3) for la, v in (("a", 1.0), ("b", 5.0))]
    rows.append(_row(3, "c", "rankme", None, error="ValueError: x"))  # no value: not drawn
    fig, ax = plot_measure_over_steps(rows, "rankme")
    assert [ln.get_label() for ln in ax.lines] == ["a", "b", "maximum 8"]  # the dashed rank bound d comes last
    assert ax.lines[1].get_ydata().tolist() == [5.0, 6.0, 7.0, 8.0]
    fig2, ax2 = plot_depth_profile(rows, "rankme", ax=ax.figure.add_subplot(2, 1, 2))
    assert fig2 is fig
    assert [ln.get_label() for ln in ax2.lines] == ["step 0", "step 2", "step 3", "maximum"]  # first, middle, last
    assert ax2.lines[2].get_ydata().tolist() == [4.0, 8.0]
    assert [t.get_text() for t in ax2.get_xticklabels()] == ["a", "b"]
    z = np.random.default_rng(0).standard_normal((30, 5))
    _, ax3 = plot_eigenspectrum({"z": z})
    ev = gram_spectrum(z, center=True).eigenvalues
    assert np.allclose(ax3.lines[0].get_ydata(), ev / ev.sum(), rtol=1e-12)
    plane = [_row(s, "a", m, v) for s in (0, 1) for m, v in (("mi_inputs", 2.0 + s), ("mi_labels", 0.5 * s))]
    _, ax4 = plot_information_plane(plane)
    assert ax4.collections[0].get_offsets().tolist() == [[2.0, 0.0], [3.0, 0.5]]
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    out = report(run_dir, tmp_path / "r.html")
    png = tmp_path / "shot.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--screenshot={png}",
         "--window-size=1000,1400", f"file://{out}"],
        capture_output=True, timeout=90, check=False,
    )
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (w, h) == (1000, 1400)
    assert len(data) > 50_000  # text and figures, not a blank page (a blank page is ~10 kB)


def _two_runs(tmp_path):
    """Two run directories with known values: a rising and a falling dsmi, and accuracies."""
    paths = {}
    for name, slope in (("good", 0.1), ("bad", -0.15)):
        run = RunDir(tmp_path / name, {"seed": 1})
        for i, s in enumerate(STEPS):
            run.append([
                _row(s, "fc1", "dsmi", 0.5 + slope * i, units="nats"),
                _row(s, "fc2", "dsmi", 1.0 + slope * i, units="nats"),
                _row(s, "model", "train_accuracy", 0.2 + 0.2 * i, n=None, d=None, method="logged"),
                _row(s, "model", "heldout_accuracy", (0.2 + 0.15 * i) if slope > 0 else 0.1, n=None, d=None, method="logged"),
            ])
        run.close()
        paths[name] = str(run.path)
    return paths


def test_comparison_report_of_two_runs(tmp_path):
    from infomeasure.report import _comparison_table

    paths = _two_runs(tmp_path)
    out = report(paths, tmp_path / "cmp.html")
    html = Path(out).read_text(encoding="utf-8")
    srcs = _check_self_contained(html)
    # training (accuracies together), dsmi over steps (one figure, a panel per layer), dsmi by layer
    assert len(srcs) == 3
    assert "<th>runs</th><td>good, bad</td>" in html
    # first -> last per run, and the ratio of the last values: fc2 1.4 / 0.4
    assert "<td>1 &rarr; <b>1.4</b></td><td>1 &rarr; <b>0.4</b></td><td>3.50&times;</td>" in html
    # alerts carry their run's name: the bad run ends with dsmi = -0.1 on fc1
    assert "(negative_mi): [bad] negative MI: dsmi on fc1 = -0.1 nats" in html
    assert "[good]" not in html
    assert ("<p>Main contrast: dsmi on fc2, the deepest probed layer, ends at 1.4 nats in good against 0.4 in bad "
            "(3.50×); heldout_accuracy 0.8 against 0.1.</p>") in html
    assert "<p>Alerts: 2 warnings (memorisation [bad]; negative MI [bad]).</p>" in html
    rows = [dict(r, run=n) for n, p in paths.items() for r in read_metrics(p)]
    table = _comparison_table(rows, ["good", "bad"], ["dsmi"])
    assert table.count("<tr>") == 3  # header + fc1 + fc2
    # a list of paths names the runs by folder; the same report
    out2 = report([paths["good"], paths["bad"]], tmp_path / "cmp2.html")
    assert "3.50&times;" in Path(out2).read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="distinct names"):
        report([paths["good"], paths["good"]], tmp_path / "x.html")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="is not a run directory"):
        report([paths["good"], tmp_path / "plain"], tmp_path / "x.html")


def test_runs_and_complexity_plots_draw_the_values():
    from estimators.timeseries import complexity_entropy_bounds, statistical_complexity
    from infomeasure.analysis import analyze_series
    from infomeasure.plotting import plot_complexity_entropy_plane, plot_runs_over_steps

    rows = [dict(_row(s, "fc", m, v * s + (m == "b")), run=run)
            for run, v in (("r1", 1.0), ("r2", 2.0)) for s in (0, 1, 1000) for m in ("a", "b")]
    _, ax = plot_runs_over_steps(rows, ["a", "b"], layer="fc")
    assert [ln.get_label() for ln in ax.lines] == ["r1 a", "r1 b", "r2 a", "r2 b"]
    assert ax.lines[3].get_ydata().tolist() == [1.0, 3.0, 2001.0]
    assert ax.lines[0].get_color() == ax.lines[1].get_color() != ax.lines[2].get_color()
    assert ax.get_xscale() == "symlog"  # steps spanning three decades
    rng = np.random.default_rng(0)
    series = {"noise": rng.random(3000), "logistic": np.empty(3000)}
    series["logistic"][0] = 0.4
    for i in range(1, 3000):
        series["logistic"][i] = 4.0 * series["logistic"][i - 1] * (1.0 - series["logistic"][i - 1])
    ts_rows = analyze_series(series, order=4)
    _, ax2 = plot_complexity_entropy_plane(ts_rows)
    expected = [list(statistical_complexity(series[k], 4)) for k in ("noise", "logistic")]
    assert np.allclose(ax2.collections[0].get_offsets(), expected, rtol=0, atol=1e-15)
    b = complexity_entropy_bounds(4)
    assert np.array_equal(ax2.lines[1].get_ydata(), b.max_complexity)  # order read from the rows
    import matplotlib.pyplot as plt

    plt.close("all")


def test_report_of_time_series_has_the_complexity_entropy_plane(tmp_path):
    from infomeasure.analysis import analyze_series

    x = np.sin(np.arange(2000) * 0.1) + 0.01 * np.random.default_rng(1).standard_normal(2000)
    out = report(analyze_series({"sine": x, "noise": np.random.default_rng(2).random(2000)}), tmp_path / "ts.html")
    html = Path(out).read_text(encoding="utf-8")
    assert 'id="complexity"' in html and len(_check_self_contained(html)) == 1
    with pytest.raises(ValueError, match="series must be"):
        analyze_series(np.zeros((2, 3, 4)))

# ------------------------------------------------------------------------------------------------
# hostile input: nothing lost, nothing silently wrong (regressions of the reliability issue)
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
    assert labels == ["$x^{$", "$a$", "maximum 4"]
    fig.canvas.draw()  # mathtext would raise on "$x^{$" here
    assert all(not t._parse_math for t in ax.get_legend().get_texts())
    assert out


def test_reference_lines_at_the_bounds():
    # spectral entropy of d features: at most log d in the rows' units; ranks: at most min(n, d)
    rows = [_row(s, la, "von_neumann_entropy", 1.0 + s, d=d, units="bits") for s in (0, 1) for la, d in (("a", 8), ("b", 32))]
    fig, ax = plot_measure_over_steps(rows, "von_neumann_entropy")
    refs = [ln for ln in ax.lines if ln.get_label().startswith("maximum")]
    assert [ln.get_label() for ln in refs] == ["maximum 3 (a)", "maximum 5 (b)"]
    assert [float(ln.get_ydata()[0]) for ln in refs] == [3.0, 5.0] and refs[0].get_linestyle() == "--"
    assert refs[0].get_color() == ax.lines[0].get_color()  # one layer's bound in its colour
    fig, ax = plot_depth_profile(rows, "von_neumann_entropy")
    assert ax.lines[-1].get_label() == "maximum" and ax.lines[-1].get_ydata().tolist() == [3.0, 5.0]
    nats = [_row(0, "a", "von_neumann_entropy", 1.0, d=64, units="nats")]
    assert plot_measure_over_steps(nats, "von_neumann_entropy")[1].lines[-1].get_label() == "maximum 4.16"  # ln 64
    # label MI: ln C once the number of classes is known
    mi = [_row(s, "a", "mi_labels", 0.5, units="nats", method="mi_ross") for s in (0, 1)]
    assert [ln.get_label() for ln in plot_measure_over_steps(mi, "mi_labels")[1].lines] == ["a"]
    ref = plot_measure_over_steps(mi, "mi_labels", n_classes=10)[1].lines[-1]
    assert ref.get_label() == "maximum 2.3" and float(ref.get_ydata()[0]) == pytest.approx(np.log(10), abs=1e-12)
    assert plot_depth_profile(mi, "mi_labels", n_classes=10)[1].lines[-1].get_label() == "maximum"
    # no bound known (alpha_req, logged values), or reference=False: no line
    for r, kw in (([_row(0, "a", "alpha_req", 1.1)], {}), ([_row(0, "a", "rankme", 3.0)], {"reference": False}),
                  ([dict(_row(0, "model", "loss", 0.3), method="logged")], {})):
        _, ax = plot_measure_over_steps(r, r[0]["measure"], **kw)
        assert [ln.get_label() for ln in ax.lines] == [r[0]["layer"]]


def test_report_of_a_run_with_measures_per_layer(tmp_path):
    import torch

    from infomeasure.probes import Probes

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    x = torch.randn(80, 6)
    with Probes(model, ["0", "1", "2"], measures={"?": ["rankme"], "0": ["von_neumann_entropy"],
                                                  "2": ["prediction_entropy"]},
                every=1, probe_data=x, run_dir=tmp_path / "run") as p:
        for s in range(3):
            p.step(s)
    out = report(tmp_path / "run", tmp_path / "r.html")
    html = Path(out).read_text(encoding="utf-8")
    assert len(_check_self_contained(html)) >= 3
    assert "layer_measures" in html and "prediction_entropy" in html


def test_log_axis_ticks_are_plain_text_in_reports():
    """Reports draw with text.parse_math off (names are literal): log-axis ticks must not show '$10^{3}$'."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from infomeasure.report import _plain_log_ticks

    with matplotlib.rc_context({"text.parse_math": False}):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 10, 100, 3000], [1, 2, 3, 4, 5])
        ax.set_xscale("symlog")
        _plain_log_ticks(fig)
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        plt.close(fig)
    assert labels and not any("$" in t for t in labels)
    assert {"0", "10", "100", "1000"} <= set(labels)


def test_headline_of_a_comparison_without_label_information_uses_held_out_accuracy():
    from infomeasure.report import headline

    rows = [dict(_row(s, "model", "heldout_accuracy", v, n=None, d=None, method="logged"), run=run)
            for run, (a, b) in (("a", (0.1, 0.9)), ("b", (0.1, 0.3))) for s, v in ((0, a), (10, b))]
    assert headline(rows, [], runs=["a", "b"]) == [
        "Main contrast: heldout_accuracy ends at 0.9 in a against 0.3 in b (3.00×).", "No errors or warnings."]
