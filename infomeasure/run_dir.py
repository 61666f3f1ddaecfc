"""The run directory written by probes: ``manifest.json``, ``metrics.jsonl`` and activation snapshots.

* ``manifest.json``: written when probing starts (model summary, layers, measures with parameters,
  library versions, seeds); rewritten on close with the number of probe steps.
* ``metrics.jsonl``: one JSON object per result row, appended and flushed after every probe step,
  so a crash loses at most the step in progress.
* ``activations/step_XXXXXXXX.safetensors``: optional snapshots of the reduced activations
  (one tensor per layer), written with :mod:`safetensors` when it is installed.

>>> import tempfile, json, os
>>> from infomeasure.run_dir import RunDir, read_metrics
>>> d = RunDir(tempfile.mkdtemp(), {"model": "demo"})
>>> d.append([{"step": 0, "layer": "fc", "measure": "rankme", "value": 3.5}])
>>> read_metrics(d.path)[0]["value"]
3.5
>>> d.close()
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import sys

__all__ = ["RunDir", "read_metrics", "versions"]


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


def _clean(v):
    """JSON-safe value: non-finite floats become None (JSON has no NaN)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class RunDir:
    """A run directory; creates ``path`` and writes ``manifest.json`` at once."""

    def __init__(self, path, manifest: dict):
        self.path = os.fspath(path)
        os.makedirs(self.path, exist_ok=True)
        self.manifest = {
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(),
            "versions": versions(),
            **manifest,
        }
        self._write_manifest()
        self._metrics = open(os.path.join(self.path, "metrics.jsonl"), "a", encoding="utf-8")  # noqa: SIM115 - held open for appends, closed in close()

    def _write_manifest(self):
        tmp = os.path.join(self.path, "manifest.json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.manifest, f, indent=2, default=repr)
        os.replace(tmp, os.path.join(self.path, "manifest.json"))

    def append(self, rows) -> None:
        """Append result rows to ``metrics.jsonl`` and flush them to the operating system."""
        if self._metrics is None:
            raise ValueError("this RunDir is closed")
        for r in rows:
            self._metrics.write(json.dumps({k: _clean(v) for k, v in r.items()}) + "\n")
        self._metrics.flush()
        os.fsync(self._metrics.fileno())

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


def read_metrics(path) -> list[dict]:
    """The rows of ``<path>/metrics.jsonl`` (a truncated last line, from a crash, is skipped)."""
    rows = []
    with open(os.path.join(os.fspath(path), "metrics.jsonl"), encoding="utf-8") as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows
