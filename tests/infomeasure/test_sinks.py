"""Sinks: CSV, JSON lines and TensorBoard outputs of the probes."""


import numpy as np
import pytest

torch = pytest.importorskip("torch")

from infomeasure.cli import main  # noqa: E402
from infomeasure.sinks import CSVSink  # noqa: E402


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
