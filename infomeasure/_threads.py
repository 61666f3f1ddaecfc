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
* optionally the BLAS libraries loaded in the process (OpenBLAS, MKL, BLIS via
  ``threadpoolctl``; process-wide while any budget is active, and the earlier values come back
  when the last ends).

:class:`CoreShare` is what the training thread does while a background worker measures: one BLAS
thread, and torch's intra-op threads lowered by the worker's, restored once the worker is idle.
Synchronous probes never change torch's settings.
"""

from __future__ import annotations

import contextlib
import sys
import threading

__all__ = ["CoreShare", "thread_budget"]

_lock = threading.Lock()
_blas = {"active": [], "limiter": None, "controller": None}


def _blas_limit():
    """Apply the smallest active BLAS budget (the original limits when none is active)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a dependency; without it BLAS keeps its own threads
        return
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    active = _blas["active"]
    if _blas["limiter"] is not None:
        _blas["limiter"].restore_original_limits()
        _blas["limiter"] = None
    if active:
        # one scan of the loaded libraries per process (a scan reads files: 1.5 ms per probe step)
        if _blas["controller"] is None:
            _blas["controller"] = ThreadpoolController()
        _blas["limiter"] = _blas["controller"].limit(limits=min(active), user_api="blas")
    # OpenBLAS can set the OpenMP thread count that torch reads as its own (seen with torch 2.13
    # and SciPy's OpenBLAS): torch's intra-op threads stay what they were.
    if torch_threads is not None and torch.get_num_threads() != torch_threads:
        torch.set_num_threads(torch_threads)


@contextlib.contextmanager
def thread_budget(threads: int, blas: int | None = None):
    """At most ``threads`` numba threads (this thread) and ``blas`` BLAS threads (process-wide) inside the block.

    ``blas=None`` leaves BLAS alone (a worker thread cannot change OpenBLAS's limits once another
    thread has: see :class:`CoreShare`).

    >>> import numba
    >>> from infomeasure._threads import thread_budget
    >>> before = numba.get_num_threads()
    >>> with thread_budget(1, blas=1):
    ...     numba.get_num_threads()
    1
    >>> numba.get_num_threads() == before
    True
    """
    import numba

    threads = max(1, min(int(threads), int(numba.config.NUMBA_NUM_THREADS)))
    saved = numba.get_num_threads()
    numba.set_num_threads(threads)
    if blas is not None:
        blas = max(1, int(blas))
        with _lock:
            _blas["active"].append(blas)
            _blas_limit()
    try:
        yield threads
    finally:
        if blas is not None:
            with _lock:
                _blas["active"].remove(blas)
                _blas_limit()
        numba.set_num_threads(saved)


class CoreShare:
    """Lend the background worker its cores: fewer torch intra-op threads and one BLAS thread while it measures.

    Used in the training thread only: :meth:`lend` when a probe step is handed to the worker
    (torch's thread count drops by ``worker_threads``, to at least 1, and BLAS gets ``blas``
    threads), :meth:`reclaim` once the worker is idle again (both come back; torch's count only
    if the user did not change it meanwhile). The BLAS limit is set here, not in the worker,
    because OpenBLAS's pool is process-wide and ``threadpoolctl`` lets only the thread that first
    limited it change it.
    """

    def __init__(self, worker_threads: int = 1, blas: int = 1):
        self.worker_threads, self.blas = int(worker_threads), int(blas)
        self._saved = self._lent = None
        self.lending = False

    def lend(self):
        import torch

        if self.lending:
            return
        self.lending = True
        n = torch.get_num_threads()
        if n > 1:
            self._saved, self._lent = n, max(1, n - self.worker_threads)
            torch.set_num_threads(self._lent)
        with _lock:
            _blas["active"].append(self.blas)
            _blas_limit()

    def reclaim(self):
        import torch

        if not self.lending:
            return
        self.lending = False
        with _lock:
            _blas["active"].remove(self.blas)
            _blas_limit()
        if self._saved is not None and torch.get_num_threads() == self._lent:  # unchanged by the user
            torch.set_num_threads(self._saved)
        self._saved = self._lent = None
