"""The ``analyze`` and ``report`` subcommands: outputs, formats, and one-line errors without tracebacks."""

import argparse
import csv
import re
import subprocess
import sys

import numpy as np
import pytest

from estimators import mi_ross, rankme
from infomeasure.cli_analyze import add_subcommands
from infomeasure.run_dir import RunDir


def run_cli(argv):
    """Build a parser the way the ``infomeasure`` command does, register the subcommands, run."""
    parser = argparse.ArgumentParser(prog="infomeasure")
    add_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


def run_subprocess(argv):
    code = "import sys; from infomeasure.cli_analyze import main_for_tests; sys.exit(main_for_tests(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *map(str, argv)], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    h1 = rng.standard_normal((300, 6)) + y[:, None]
    h2 = np.tanh(h1[:, :3])
    np.savez(d / "acts.npz", h1=h1, h2=h2)
    np.save(d / "labels.npy", y)
    np.save(d / "labels_short.npy", y[:100])
    (d / "corrupt.npz").write_bytes(b"PK\x03\x04" + b"\x00garbage" * 50)
    return d, {"h1": h1, "h2": h2}, y


def _table(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_analyze_npz_with_labels_writes_table_and_report(files, tmp_path, capsys):
    d, acts, y = files
    out = tmp_path / "out"
    assert run_cli(["analyze", d / "acts.npz", "--labels", d / "labels.npy", "--measures", "rankme,mi_labels",
                    "-o", out, "-q"]) == 0
    rows = _table(out / "table.csv")
    assert [(r["layer"], r["measure"]) for r in rows] == [
        ("h1", "rankme"), ("h1", "mi_labels"), ("h2", "rankme"), ("h2", "mi_labels")]
    for r in rows:
        z = acts[r["layer"]]
        expected = rankme(z) if r["measure"] == "rankme" else mi_ross(z, y)
        assert float(r["value"]) == pytest.approx(expected, rel=1e-12)  # CSV keeps repr precision
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "https://" not in html
    assert "activations " + str(d / "acts.npz") + ", labels " + str(d / "labels.npy") in html
    assert capsys.readouterr().out == ""  # -q


def test_analyze_safetensors_and_default_measures(files, tmp_path, capsys):
    from safetensors.numpy import save_file

    acts = dict(files[1], wide=np.random.default_rng(5).standard_normal((300, 20)))
    save_file({k: v.astype(np.float32) for k, v in acts.items()}, str(tmp_path / "acts.safetensors"))
    assert run_cli(["analyze", tmp_path / "acts.safetensors", "-o", tmp_path / "o"]) == 0
    rows = _table(tmp_path / "o" / "table.csv")
    # the default set fits each layer: alpha_req's power-law fit needs 13 eigenvalues (h1 has 6, h2 3)
    by_layer = {layer: {r["measure"] for r in rows if r["layer"] == layer} for layer in acts}
    assert by_layer == {"h1": {"rankme", "effective_rank", "von_neumann_entropy"},
                        "h2": {"rankme", "effective_rank", "von_neumann_entropy"},
                        "wide": {"rankme", "effective_rank", "von_neumann_entropy", "alpha_req"}}
    assert all(r["error"] == "" for r in rows)
    h1 = next(r for r in rows if r["layer"] == "h1" and r["measure"] == "rankme")
    assert float(h1["value"]) == pytest.approx(rankme(acts["h1"].astype(np.float32)), rel=1e-12)
    assert "wrote " in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "{d}/corrupt.npz", "-o", "{t}/o"], "cannot read {d}/corrupt.npz: not a valid .npz file"),
        (["analyze", "{d}/missing.npz", "-o", "{t}/o"], "{d}/missing.npz: no such file or directory"),
        (["analyze", "{d}/acts.npz", "--labels", "{d}/labels_short.npy", "-o", "{t}/o"],
         "labels has 100 rows but layer 'h1' has 300 samples"),
        (["analyze", "{d}/acts.npz", "--labels", "{d}/corrupt.npz", "-o", "{t}/o"], "not a valid .npz file"),
        (["analyze", "{d}/acts.npz", "--measures", "rankme,nope", "-o", "{t}/o"], "unknown measure 'nope'"),
        (["report", "{d}", "-o", "{t}/r.html"], "is not a run directory (no metrics.jsonl)"),
        (["report", "{d}/nowhere", "-o", "{t}/r.html"], "nowhere: no such directory"),
    ],
)
def test_bad_files_give_one_line_and_exit_2(files, tmp_path, capsys, args, message):
    d = files[0]
    argv = [a.format(d=d, t=tmp_path) for a in args]
    assert run_cli(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"infomeasure {argv[0]}: error: ") and message.format(d=d) in err


def test_subprocess_corrupt_file_has_no_traceback(files, tmp_path):
    d = files[0]
    p = run_subprocess(["analyze", d / "corrupt.npz", "-o", tmp_path / "o"])
    assert p.returncode == 2
    assert p.stderr == f"infomeasure analyze: error: cannot read {d / 'corrupt.npz'}: not a valid .npz file (File is not a zip file)\n"
    assert not (tmp_path / "o").exists()


def test_report_command_on_a_run_directory(tmp_path, capsys):
    run = RunDir(tmp_path / "run", {"seed": 7})
    run.append([{"step": s, "layer": "fc", "measure": "rankme", "method": "rankme", "value": 5.0 - s,
                 "n_samples": 200, "n_features": 8, "units": "unitless", "error": None} for s in range(4)])
    run.close()
    out = tmp_path / "report.html"
    assert run_cli(["report", run.path, "-o", out]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 1  # rankme over steps (one layer: no depth profile)
    assert "representation collapse on fc: rankme fell from 5 at step 0 to 2" in html
    assert capsys.readouterr().out == f"wrote {out}\n"


def test_report_command_compares_several_run_directories(tmp_path, capsys):
    for name, v in (("a", 5.0), ("b", 2.0)):
        run = RunDir(tmp_path / name, {"seed": 7})
        run.append([{"step": s, "layer": "fc", "measure": "rankme", "method": "rankme", "value": v + s,
                     "n_samples": 200, "n_features": 8, "units": "unitless", "error": None} for s in range(3)])
        run.close()
    out = tmp_path / "cmp.html"
    assert run_cli(["report", str(tmp_path / "a"), str(tmp_path / "b"), "--title", "A vs B", "-o", out]) == 0
    html = out.read_text(encoding="utf-8")
    assert "<title>A vs B</title>" in html and "<th>runs</th><td>a, b</td>" in html
    assert "<td>5 &rarr; <b>7</b></td><td>2 &rarr; <b>4</b></td><td>1.75&times;</td>" in html
    assert run_cli(["report", str(tmp_path / "a"), str(tmp_path / "nope"), "-o", out]) == 2
    assert capsys.readouterr().err.strip().endswith("nope: no such directory")


# ------------------------------------------------------------------------------------------------
# estimator options in --measures, and the measures in `infomeasure methods`
# ------------------------------------------------------------------------------------------------
def test_measure_options_reach_the_estimator(files, tmp_path):
    d, acts, y = files
    out = tmp_path / "out"
    assert run_cli(["analyze", d / "acts.npz", "--labels", d / "labels.npy", "-q", "-o", out,
                    "--measures", "rankme:eps=1e-3, mi_labels:k=5,noise=1e-10,seed=3,metric=euclidean"]) == 0
    rows = _table(out / "table.csv")
    assert [(r["layer"], r["measure"]) for r in rows] == [
        ("h1", "rankme"), ("h1", "mi_labels"), ("h2", "rankme"), ("h2", "mi_labels")]
    for r in rows:
        z = acts[r["layer"]]
        expected = (rankme(z, eps=1e-3) if r["measure"] == "rankme"
                    else mi_ross(z, y, k=5, noise=1e-10, seed=3, metric="euclidean"))
        assert float(r["value"]) == pytest.approx(expected, rel=1e-12)
    # the defaults give other values: the options were used
    assert float(rows[1]["value"]) != pytest.approx(mi_ross(acts["h1"], y), rel=1e-6)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "&quot;noise&quot;: 1e-10" in html  # the report appendix records the options


def test_parse_measures_values_and_errors():
    from infomeasure.cli_analyze import parse_measures

    assert parse_measures(" rankme , mi_labels:k=5,noise=1e-10, standardize=False,seed=None,metric='euclidean',dsmi") == [
        "rankme", ("mi_labels", {"k": 5, "noise": 1e-10, "standardize": False, "seed": None, "metric": "euclidean"}),
        "dsmi"]
    assert parse_measures("rankme:") == ["rankme"]
    assert parse_measures("prediction_entropy:normalize=true,base=2") == [
        ("prediction_entropy", {"normalize": True, "base": 2})]
    bad = {
        "k=5": "option 'k=5' must follow its measure and a colon, e.g. NAME:k=5",
        "rankme,eps=1e-3": "option 'eps=1e-3' must follow its measure and a colon, e.g. rankme:eps=1e-3",
        "mi_labels:k": "'k' in mi_labels's options is not key=value",
        "mi_labels:k=": "'k=' in mi_labels's options is not key=value",
        "mi_labels:k=1,k=2": "option 'k' of mi_labels is given twice",
        "mi_labels:q=1": "mi_labels has no option 'q'; its options are k, metric, standardize, noise, seed, base",
        "effective_rank:eps=1": "effective_rank has no option 'eps'; its options are none",
        "nope:k=1": "unknown measure 'nope'",
        "rankme,rankme": "'rankme' is given twice",
        "mi_labels,mi_ross": "'mi_ross' is given twice (as 'mi_labels')",
        " , ": "names no measure",
    }
    for text, message in bad.items():
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_measures(text)


def test_bad_measure_option_gives_one_line_and_exit_2(files, tmp_path, capsys):
    d = files[0]
    assert run_cli(["analyze", d / "acts.npz", "--measures", "rankme:epz=1", "-o", tmp_path / "o"]) == 2
    err = capsys.readouterr().err
    assert err == "infomeasure analyze: error: --measures: rankme has no option 'epz'; its options are eps\n"
    assert not (tmp_path / "o").exists()


def test_methods_lists_the_probe_measures_with_units_needs_and_options(capsys):
    from infomeasure.cli import main
    from infomeasure.measures import MEASURES

    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "mutual_information:" in out  # the estimator registries, as before
    section = out.split("probe measures (Probes(measures=...), infomeasure analyze --measures NAME[:OPTION=VALUE,...]):\n")[1]
    lines = {line.split()[0]: line for line in section.splitlines()}
    assert set(lines) == {MEASURES[n]().name for n in MEASURES}  # every measure once, aliases beside it
    assert lines["mi_labels"].split()[1:4] == ["nats", "needs", "labels"]
    assert "options: k, metric, standardize, noise, seed, base" in lines["mi_labels"]
    assert "(aliases: mi_ross)" in lines["mi_labels"] and "needs inputs" in lines["mi_inputs"]
    assert lines["rankme"].split() == ["rankme", "unitless", "options:", "eps"]
