"""What the adapters share: a sink that keeps delivered rows until the training thread logs them.

In background mode the worker thread delivers a probe step's rows while training goes on, so the
adapters cannot log them in the hook that took the probe step. :class:`RowQueue` is passed to
``Probes`` as one more sink; the adapters :meth:`~RowQueue.take` what arrived at their next hook
and hand it to the framework's loggers with the probe step the rows belong to.

>>> from infomeasure.integrations._rows import RowQueue, metrics_by_step
>>> q = RowQueue()
>>> q.write([{"step": 0, "layer": "fc", "measure": "rankme", "value": 3.5, "error": None},
...          {"step": 0, "layer": "fc", "measure": "mi_labels", "value": None, "error": "ValueError: ..."},
...          {"step": 5, "layer": "fc", "measure": "rankme", "value": 2.0, "error": None}])
>>> metrics_by_step(q.take(), "probes")
[(0, {'probes/fc/rankme': 3.5}), (5, {'probes/fc/rankme': 2.0})]
>>> q.take()
[]
"""

from __future__ import annotations

import collections
import math

__all__ = ["RowQueue", "check_prefix", "metrics_by_step", "with_queue"]


class RowQueue:
    """A sink (``write(rows)``/``close()``) whose rows wait until :meth:`take` (thread-safe)."""

    def __init__(self):
        self._rows = collections.deque()  # append and popleft are atomic: the worker writes, training takes

    def write(self, rows) -> None:
        self._rows.extend(rows)

    def close(self) -> None:
        """Nothing to close: rows not yet taken stay for the last :meth:`take`."""

    def take(self) -> list[dict]:
        """The rows written since the last call, in the order written."""
        out = []
        while True:
            try:
                out.append(self._rows.popleft())
            except IndexError:
                return out


def metrics_by_step(rows, prefix: str) -> list[tuple[int, dict]]:
    """``[(step, {"<prefix>/<layer>/<measure>": value})]`` in step order of first appearance.

    Error rows and rows without a finite value are left out (the run directory and
    ``probes.results`` keep them, with the message).
    """
    out: dict = {}
    for r in rows:
        v = r.get("value")
        if r.get("error") or v is None or isinstance(v, bool) or not math.isfinite(v):
            continue
        key = f"{r['layer']}/{r['measure']}"
        out.setdefault(int(r["step"]), {})[f"{prefix}/{key}" if prefix else key] = float(v)
    return list(out.items())


def check_prefix(prefix) -> str:
    """The metric-name prefix: a string, without a trailing ``/`` (``""`` for none)."""
    if not isinstance(prefix, str):
        raise TypeError(f"log_prefix must be a string such as 'probes' (or '' for none); got {type(prefix).__name__}")
    return prefix.rstrip("/")


def with_queue(probe_kwargs: dict, queue: RowQueue) -> dict:
    """``probe_kwargs`` with ``queue`` added to its ``sinks`` (a sinks value that is not a list is
    left for ``Probes`` to refuse)."""
    kw = dict(probe_kwargs)
    sinks = kw.get("sinks", ())
    if isinstance(sinks, (list, tuple)):
        kw["sinks"] = [*sinks, queue]
    return kw
