"""Warnings of the measurements, once per (layer, measure, message) for a whole probe run.

An estimator that warns about its input (kNN "heavy ties", a truncated ``alpha_req`` fit) warns
again at every probe step, usually with slightly different numbers. :class:`Once` shows the first
of them, prefixed with the layer and measure, and counts the rest; :meth:`Once.summary` is the
one line that reports the counts when the probes close.

The measurement may run in a background worker thread while the training thread warns about
its own business, so nothing here swaps the process-wide filters (``warnings.catch_warnings`` is
not thread-safe): a router installed in ``warnings.showwarning`` hands the warnings shown *in the
measuring thread, while it measures* to that thread's :class:`Once`, and passes every other
warning on unchanged. Warnings the filters ignore never reach it; ``"error"`` filters still raise
(the measure then gives an error row).

>>> import warnings
>>> from infomeasure._warn_once import Once
>>> once = Once()
>>> with warnings.catch_warnings(record=True) as shown:
...     warnings.simplefilter("always")
...     for step in range(3):
...         with once.measuring("fc", "mi_labels"):
...             warnings.warn(f"heavy ties ({10 + step}% of the values repeat)")
>>> [str(w.message) for w in shown]
["layer 'fc', mi_labels: heavy ties (10% of the values repeat)"]
>>> once.summary()
"2 repeated warning(s) of the measurements were not shown again: layer 'fc', mi_labels: heavy ties (10% of the values repeat) (x2 more)"
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings

__all__ = ["Once"]

_local = threading.local()
_install_lock = threading.Lock()
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


class _Router:
    """``warnings.showwarning`` while probes measure: the measuring thread's warnings go to its sink."""

    def __init__(self, previous):
        self.previous = previous

    def __call__(self, message, category, filename, lineno, file=None, line=None):
        sink = getattr(_local, "sink", None)
        if sink is None:
            return self.previous(message, category, filename, lineno, file, line)
        return sink(self.previous, message, category, filename, lineno, file, line)


def _install():
    """Put a router in ``warnings.showwarning`` (again, if a ``catch_warnings`` block replaced it)."""
    with _install_lock:
        if not isinstance(warnings.showwarning, _Router):
            warnings.showwarning = _Router(warnings.showwarning)


def _key(text: str) -> str:
    """The message with its numbers blanked: the same warning at another step is the same key."""
    return _NUMBER.sub("#", text)


class Once:
    """De-duplicates the warnings of one probe run, per (layer, measure, message without numbers)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen: dict = {}  # key -> [shown text, repeats]

    @contextlib.contextmanager
    def measuring(self, layer, measure):
        """Route the warnings this thread shows inside the block to this run, for ``layer`` and ``measure``."""
        _install()
        where = f"layer {layer!r}, {measure}"

        def sink(show, message, category, filename, lineno, file=None, line=None):
            text = str(message)
            key = (layer, measure, category, _key(text))
            with self._lock:
                entry = self._seen.get(key)
                if entry is not None:
                    entry[1] += 1
                    return None
                shown = f"{where}: {text}"
                self._seen[key] = [shown, 0]
            try:
                message = category(shown)
            except Exception:  # noqa: BLE001 - a warning class with another constructor: show the text
                message = shown
            return show(message, category, filename, lineno, file, line)

        outer = getattr(_local, "sink", None)
        _local.sink = sink
        try:
            yield
        finally:
            _local.sink = outer

    @property
    def repeats(self) -> int:
        """Warnings not shown again, in all."""
        with self._lock:
            return sum(n for _, n in self._seen.values())

    def summary(self, limit: int = 5) -> str | None:
        """One line counting the warnings that were not shown again (None when there were none)."""
        with self._lock:
            repeated = [(text, n) for text, n in self._seen.values() if n]
        if not repeated:
            return None
        total = sum(n for _, n in repeated)
        repeated.sort(key=lambda item: -item[1])
        parts = "; ".join(f"{text} (x{n} more)" for text, n in repeated[:limit])
        more = f"; and {len(repeated) - limit} more" if len(repeated) > limit else ""
        return f"{total} repeated warning(s) of the measurements were not shown again: {parts}{more}"
