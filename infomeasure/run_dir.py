"""The run directory written by probes: ``manifest.json``, ``metrics.jsonl`` and activation snapshots.

* ``manifest.json``: written when probing starts (model summary, layers, measures with parameters,
  the measures of each layer in ``layer_measures``, library versions, seeds); rewritten on close
  with the number of probe steps (and, in ``skipped_measures``, the measures skipped on a layer
  whose output was of another kind, with the reason).
* ``metrics.jsonl``: one JSON object per result row, appended and flushed after every probe step,
  so a crash loses at most the step in progress.
* ``activations/step_XXXXXXXX.safetensors``: optional snapshots of the reduced activations
  (one tensor per layer), written with :mod:`safetensors` when it is installed.

**Restarted jobs.** A directory that already holds a run is refused, so that a second job pointed
at the same folder cannot mix its rows into another run's file. To continue a run after a crash or
a pre-emption, pass ``resume=True`` (``Probes(..., run_dir=d, resume=True)``): a partial last line
left by the crash is cut off, new rows are appended, and the new manifest keeps the earlier ones
in its ``"previous_runs"`` list. If the job restarts from a checkpoint older than its last probe
step, the re-measured steps appear twice in ``metrics.jsonl``; :func:`read_metrics` keeps the
later row.

>>> import tempfile, json, os
>>> from infomeasure.run_dir import RunDir, read_metrics
>>> d = RunDir(tempfile.mkdtemp(), {"model": "demo"})
>>> d.append([{"step": 0, "layer": "fc", "measure": "rankme", "value": 3.5}])
>>> read_metrics(d.path)[0]["value"]
3.5
>>> d.close()
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import sys
import tempfile
import warnings

from estimators.validation import check_flag

from ._table import ResultRows
from .sinks import JSONLSink

__all__ = ["RunDir", "read_manifest", "read_metrics", "versions"]


def versions() -> dict:
    """Versions of Python and of the libraries that shape the numbers."""
    out = {"python": platform.python_version()}
    for mod in ("numpy", "scipy", "numba", "torch", "estimators", "infomeasure"):
        m = sys.modules.get(mod)
        if m is None:
            try:
                m = __import__(mod)
            except ImportError:
                continue
        out[mod] = getattr(m, "__version__", None)
    return out


def _config(manifest: dict, key: str) -> str:
    """A manifest entry as compared on resume: measures by name, method and parameters only
    (the metadata written beside them may grow between versions without changing the run)."""
    value = manifest[key]
    if key == "measures" and isinstance(value, list):
        value = [{f: m.get(f) for f in ("name", "method", "params")} if isinstance(m, dict) else m for m in value]
    return json.dumps(value, default=repr)


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename.

    A concurrent reader sees the old file or the new one, never a half-written or empty one.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _new_file_mode(path))  # mkstemp makes 0600; keep what open() would give
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _new_file_mode(path) -> int:
    """The permission bits of ``path`` if it exists, else those ``open(path, "w")`` would give."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def read_manifest(path) -> dict | None:
    """The ``manifest.json`` of a run directory as a dict (None if there is none).

    Raises
    ------
    ValueError
        One line if the file cannot be read, is not UTF-8 JSON, or is not a JSON object.
    """
    mpath = os.path.join(os.fspath(path), "manifest.json")
    if not os.path.exists(mpath):
        return None
    if not os.path.isfile(mpath):
        raise ValueError(f"{mpath} is not a regular file")
    try:
        with open(mpath, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        msg = str(e).strip().replace("\n", " ")
        raise ValueError(f"cannot read {mpath}: {msg[:200]}") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{mpath} is not a run manifest: it holds a JSON {type(manifest).__name__}, not an object")
    return manifest


def _repair_partial_line(path) -> int:
    """Cut an unterminated last line (a crash or a full disk mid-write) off ``path``; returns bytes cut."""
    size = os.path.getsize(path)
    if size == 0:
        return 0
    with open(path, "rb+") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return 0
        # find the last newline: everything after it is the partial row
        pos, block = size, 1 << 16
        keep = 0
        while pos > 0:
            start = max(0, pos - block)
            f.seek(start)
            chunk = f.read(pos - start)
            i = chunk.rfind(b"\n")
            if i >= 0:
                keep = start + i + 1
                break
            pos = start
        f.truncate(keep)
        return size - keep


class RunDir:
    """A run directory; creates ``path`` and writes ``manifest.json`` at once.

    Parameters
    ----------
    path : str or os.PathLike
    manifest : dict
        What this run is (model, layers, measures, ...); versions and the creation time are added.
    resume : bool, default False
        A directory that already holds a run (``manifest.json`` or rows in ``metrics.jsonl``) is
        refused unless ``resume=True``: then rows are appended after the existing ones (an
        unterminated last line, left by a crash or a full disk, is cut off first, with a warning),
        and the earlier manifest is kept in the new one's ``"previous_runs"`` list.
    """

    def __init__(self, path, manifest: dict, *, resume: bool = False):
        resume = check_flag(resume, "resume")
        self.path = os.fspath(path)
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ValueError(f"run_dir {self.path!r} is a file; pass a folder")
        os.makedirs(self.path, exist_ok=True)
        metrics = os.path.join(self.path, "metrics.jsonl")
        for f in (metrics, os.path.join(self.path, "manifest.json")):
            if os.path.exists(f) and not os.path.isfile(f):
                raise ValueError(f"run_dir holds {f}, which is not a regular file; choose another run_dir")
        previous = read_manifest(self.path) if resume else None
        has_run = os.path.exists(os.path.join(self.path, "manifest.json")) or (
            os.path.exists(metrics) and os.path.getsize(metrics) > 0)
        if has_run and not resume:
            raise ValueError(
                f"run_dir {self.path!r} already holds a run (manifest.json / metrics.jsonl). Pass resume=True to "
                "continue it (rows are appended; the earlier manifest is kept), or choose a new run_dir"
            )
        self.manifest = {
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(),
            "versions": versions(),
            **manifest,
        }
        if previous is not None:
            earlier = list(previous.pop("previous_runs", []) or [])
            self.manifest["previous_runs"] = [*earlier, previous]
            changed = [k for k in ("layers", "measures", "layer_measures", "reduce", "probe_samples")
                       if k in previous and k in manifest and _config(previous, k) != _config(manifest, k)]
            if "layers" in changed or "measures" in changed:  # the measures per layer change with them
                changed = [k for k in changed if k != "layer_measures"]
            if changed:
                warnings.warn(
                    f"resuming {self.path} with different {', '.join(changed)} than the run it continues; "
                    "metrics.jsonl will mix both configurations (start a new run_dir to keep them apart)",
                    UserWarning, stacklevel=3)
        if resume and os.path.exists(metrics):
            cut = _repair_partial_line(metrics)
            if cut:
                warnings.warn(
                    f"{metrics} ended in a partial row ({cut} bytes, from a crash or a full disk); it was cut off "
                    "before appending", UserWarning, stacklevel=3)
        self._write_manifest()
        self._metrics = JSONLSink(metrics, fsync=True)

    def _write_manifest(self):
        atomic_write_text(os.path.join(self.path, "manifest.json"), json.dumps(self.manifest, indent=2, default=repr))

    @property
    def closed(self) -> bool:
        return self._metrics is None

    def append(self, rows) -> None:
        """Append result rows to ``metrics.jsonl`` and flush them to the operating system."""
        if self._metrics is None:
            raise ValueError("this RunDir is closed")
        self._metrics.write(rows)

    def save_snapshot(self, step: int, tensors: dict) -> str:
        """Write ``{layer: tensor}`` to ``activations/step_<step>.safetensors``; returns the path."""
        try:
            from safetensors.torch import save_file
        except ImportError as e:
            raise ImportError("activation snapshots need safetensors: pip install safetensors") from e
        folder = os.path.join(self.path, "activations")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"step_{int(step):08d}.safetensors")
        save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata={"step": str(int(step))})
        return path

    def close(self, **update) -> None:
        """Close ``metrics.jsonl`` and rewrite the manifest with ``update`` merged in."""
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None
        if update:
            self.manifest.update(update)
            self._write_manifest()


#: Keys every result row must have, and the types their values may take.
_ROW_TYPES = {"step": (int,), "layer": (str,), "measure": (str,), "value": (int, float, type(None))}


def _row_problem(row) -> str | None:
    """Why a parsed line is not a result row (None when it is one)."""
    if not isinstance(row, dict):
        return f"a JSON {type(row).__name__}, not an object"
    for key, types in _ROW_TYPES.items():
        if key not in row:
            return f"no {key!r}"
        v = row[key]
        if isinstance(v, bool) or not isinstance(v, types):
            return f"{key} is {type(v).__name__} {v!r:.40}"
    return None


def read_metrics(path) -> list[dict]:
    """The rows of ``<path>/metrics.jsonl``.

    Lines that are not result rows are skipped and counted in one ``UserWarning``: a truncated
    last line (from a crash), invalid JSON or UTF-8, JSON that is not an object, or a row whose
    ``step`` is not an integer, ``layer``/``measure`` not strings or ``value`` not a number or
    null. A resumed run can hold a step twice (a job restarted from a checkpoint before its last
    probe step): the later row of the same step, layer, measure and method wins.

    Returns a ``list`` of dicts (as ``Probes.results`` does) whose ``to_pandas()`` gives a
    ``pandas.DataFrame`` (it needs pandas: ``pip install pandas``).
    """
    file = os.path.join(os.fspath(path), "metrics.jsonl")
    if os.path.exists(file) and not os.path.isfile(file):  # a FIFO or a folder would block or fail oddly
        raise ValueError(f"{file} is not a regular file")
    rows: dict = {}
    bad, first_bad = 0, None
    with open(file, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
                problem = _row_problem(row)
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                problem = "not valid UTF-8" if isinstance(e, UnicodeDecodeError) else "not valid JSON"
            if problem is not None:
                bad += 1
                if first_bad is None:
                    first_bad = (lineno, problem)
                continue
            key = (row["step"], row["layer"], row["measure"], row.get("method"))
            rows.pop(key, None)  # a re-measured step moves to the end, where it was written
            rows[key] = row
    if bad:
        warnings.warn(
            f"{file}: skipped {bad} line(s) that are not result rows (first: line {first_bad[0]}, {first_bad[1]})",
            UserWarning, stacklevel=2)
    return ResultRows(rows.values())
