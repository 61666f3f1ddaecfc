"""The thread budget of probe measurements: numba, SciPy's kd-tree and BLAS threads, restored afterwards.

A training process already runs torch's intra-op threads on every core. Measurements that start
pools of their own (numba's OpenMP workers, OpenBLAS threads under NumPy's ``eigh``, SciPy's
kd-tree workers) then oversubscribe the cores, and their workers keep spinning after each call,
which slows the training steps that follow. Measured on 2 cores, MLP 784-256-128-10: kNN MI,
RankMe and VNE every 50 steps took the training loop from 1.58 s to 2.56 s afterwards plus 1.32 s
inside the measurements with the default pools, against 1.66 s plus 0.40 s with one BLAS thread
(``benchmarks/bench_probes.py`` has the full comparison).

:func:`thread_budget` limits, for the duration of a ``with`` block:

* numba's threads **for the calling thread** (``numba.set_num_threads`` is per thread), which
  also sizes the kd-tree queries of :mod:`estimators._neighbors`;
* the BLAS libraries loaded in the process (OpenBLAS, MKL, BLIS via ``threadpoolctl``; this limit is
  process-wide while any budget is active, and the earlier values come back when the last ends).

torch's own thread settings (``torch.set_num_threads``) are never changed.
"""

from __future__ import annotations

import contextlib
import threading

__all__ = ["thread_budget"]

_lock = threading.Lock()
_blas = {"active": [], "limiter": None}


def _blas_limit():
    """Apply the smallest active BLAS budget (the original limits when none is active)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a dependency; without it BLAS keeps its own threads
        return
    active = _blas["active"]
    if _blas["limiter"] is not None:
        _blas["limiter"].restore_original_limits()
        _blas["limiter"] = None
    if active:
        _blas["limiter"] = ThreadpoolController().limit(limits=min(active), user_api="blas")


@contextlib.contextmanager
def thread_budget(threads: int, blas: int | None = None):
    """At most ``threads`` numba threads (this thread) and ``blas`` BLAS threads (process-wide) inside the block.

    ``blas`` defaults to ``threads``.

    >>> import numba
    >>> from infomeasure._threads import thread_budget
    >>> before = numba.get_num_threads()
    >>> with thread_budget(1):
    ...     numba.get_num_threads()
    1
    >>> numba.get_num_threads() == before
    True
    """
    import numba

    threads = max(1, min(int(threads), int(numba.config.NUMBA_NUM_THREADS)))
    blas = threads if blas is None else max(1, int(blas))
    saved = numba.get_num_threads()
    numba.set_num_threads(threads)
    with _lock:
        _blas["active"].append(blas)
        _blas_limit()
    try:
        yield threads
    finally:
        with _lock:
            _blas["active"].remove(blas)
            _blas_limit()
        numba.set_num_threads(saved)
