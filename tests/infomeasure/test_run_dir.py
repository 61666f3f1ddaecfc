"""The run directory: manifest, metrics.jsonl, resuming, and files that are not what they seem."""

import json
import os
import warnings

import pytest

torch = pytest.importorskip("torch")

from infomeasure.cli import main  # noqa: E402
from infomeasure.probes import Probes  # noqa: E402
from infomeasure.report import report  # noqa: E402
from infomeasure.run_dir import RunDir, read_metrics  # noqa: E402
from tests.infomeasure._runs import _mlp, _probe_set, _run  # noqa: E402


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


def test_resuming_a_run_written_before_the_measure_metadata_is_quiet(tmp_path):
    # manifests of earlier versions describe measures without quantity/centred: not a configuration change
    run = _run(tmp_path)
    man = json.loads((run / "manifest.json").read_text())
    for m in man["measures"]:
        del m["quantity"], m["centred"]
    (run / "manifest.json").write_text(json.dumps(man))
    x, y = _probe_set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Probes(_mlp(), ["0", "2"], measures=["rankme"], every=1, probe_data=(x, y), run_dir=run, resume=True).close()
    with pytest.warns(UserWarning, match="different measures"):  # a real change still warns
        Probes(_mlp(), ["0", "2"], measures=[("rankme", {"eps": 0.0})], every=1, probe_data=(x, y), run_dir=run,
               resume=True).close()


def test_read_metrics_to_pandas_matches_the_rows(tmp_path):
    pytest.importorskip("pandas")
    rows = read_metrics(_run(tmp_path, steps=3))
    assert type(rows) is not list and isinstance(rows, list)  # the list of dicts, with to_pandas()
    df = rows.to_pandas()
    assert len(df) == len(rows) == 6
    assert df["value"].tolist() == [r["value"] for r in rows]
    assert df[["step", "layer", "measure"]].to_dict("records") == [
        {"step": r["step"], "layer": r["layer"], "measure": r["measure"]} for r in rows]
