"""Where probe result rows go besides the run directory: CSV, JSON lines, TensorBoard.

A sink is any object with ``write(rows)`` (called once per probe step with that step's rows, on
rank 0 only) and ``close()``. Error rows (``value`` None) are written to CSV/JSONL and skipped by
TensorBoard.

>>> import tempfile, os
>>> from infomeasure.sinks import CSVSink
>>> path = os.path.join(tempfile.mkdtemp(), "m.csv")
>>> s = CSVSink(path)
>>> s.write([{"step": 0, "layer": "fc", "measure": "rankme", "value": 2.5}])
>>> s.close()
>>> open(path).read().splitlines()[1].split(",")[:5]
['0', 'fc', 'rankme', '', '2.5']
"""

from __future__ import annotations

import csv
import json
import math
import os

__all__ = ["COLUMNS", "CSVSink", "JSONLSink", "TensorBoardSink", "csv_cell", "write_csv"]

#: The columns of a result row, in the order the CSV sink writes them.
COLUMNS = ["step", "layer", "measure", "method", "value", "n_samples", "n_features", "units", "error"]


#: First characters that make a spreadsheet read a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(v):
    """A CSV cell for a row value: None is empty; text that a spreadsheet would run as a formula
    (``=HYPERLINK(...)``, ``+``, ``-``, ``@``) gets a leading ``'`` so it is shown as text.

    Numbers are written as they are (negative values stay numbers).

    >>> from infomeasure.sinks import csv_cell
    >>> csv_cell("=1+2"), csv_cell("-1"), csv_cell(-1.5), csv_cell(None), csv_cell("fc1")
    ("'=1+2", "'-1", -1.5, '', 'fc1')
    """
    if v is None:
        return ""
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


def write_csv(path, rows) -> str:
    """Write ``rows`` (with the :data:`COLUMNS` keys) to a new CSV file at ``path``, atomically.

    The file is written to a temporary name and renamed, so a reader never sees a partial table.
    """
    import io

    from .run_dir import atomic_write_text

    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({c: csv_cell(r.get(c)) for c in COLUMNS})
    atomic_write_text(path, buf.getvalue())
    return os.fspath(path)


class CSVSink:
    """Rows appended to a CSV file with the columns of :data:`COLUMNS`, flushed per step.

    Text cells that a spreadsheet would evaluate as formulas are prefixed with ``'`` (see :func:`csv_cell`).
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        self._f = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - held open for appends, closed in close()
        self._w = csv.DictWriter(self._f, fieldnames=COLUMNS, extrasaction="ignore")
        if new:
            self._w.writeheader()

    def write(self, rows) -> None:
        for r in rows:
            self._w.writerow({c: csv_cell(r.get(c)) for c in COLUMNS})
        self._f.flush()

    def close(self) -> None:
        self._f.close()


class JSONLSink:
    """Rows appended to a JSON-lines file, flushed per step (non-finite values as null).

    ``fsync=True`` also asks the operating system to put every step on disk (what the run
    directory's ``metrics.jsonl`` does, so that a crash loses at most the step being written).
    """

    def __init__(self, path, *, fsync=False):
        self.path = os.fspath(path)
        self.fsync = bool(fsync)
        self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held open for appends, closed in close()

    @property
    def closed(self) -> bool:
        return self._f.closed

    def write(self, rows) -> None:
        for r in rows:
            clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
            self._f.write(json.dumps(clean) + "\n")
        self._f.flush()
        if self.fsync:
            os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


class TensorBoardSink:
    """Scalars ``<layer>/<measure>`` at each probe step, via ``torch.utils.tensorboard``.

    Needs the ``tensorboard`` package; pass ``writer=`` to reuse an existing ``SummaryWriter``
    (it is then not closed by :meth:`close`).
    """

    def __init__(self, log_dir=None, *, writer=None, prefix="probes"):
        if writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as e:
                raise ImportError("TensorBoardSink needs tensorboard: pip install tensorboard") from e
            writer = SummaryWriter(log_dir=None if log_dir is None else os.fspath(log_dir))
            self._owned = True
        else:
            self._owned = False
        self.writer = writer
        self.prefix = prefix

    def write(self, rows) -> None:
        for r in rows:
            v = r.get("value")
            if v is None or not math.isfinite(v):
                continue
            self.writer.add_scalar(f"{self.prefix}/{r['layer']}/{r['measure']}", v, global_step=r["step"])
        self.writer.flush()

    def close(self) -> None:
        if self._owned:
            self.writer.close()
