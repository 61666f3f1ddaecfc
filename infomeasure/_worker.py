"""The background measurement worker of probes: one thread, jobs in submission order, a bounded queue.

The training thread captures activations and submits a job; the worker computes the rows and
delivers them (results, run directory, sinks) in the order the jobs were submitted, so the
results are the same as in the synchronous mode. The queue holds at most ``max_pending`` jobs:
when it is full, :meth:`Worker.submit` waits (``when_full="block"``) or refuses the job
(``"drop"``), and the caller counts and reports the drops. An exception in a job never stops the
worker: the job's ``on_error`` turns it into error rows, and an exception while delivering rows
(a failing sink) is kept and raised in the training thread by :meth:`Worker.check`.
"""

from __future__ import annotations

import atexit
import collections
import threading
import weakref

__all__ = ["Worker"]

_live: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _drain_at_exit():  # pragma: no cover - runs at interpreter exit
    for w in list(_live):
        w.close()


class Worker:
    """One daemon thread running ``(compute, deliver, on_error)`` jobs in order.

    Parameters
    ----------
    max_pending : int
        Jobs waiting or running at most (a bound on the captured activations held in memory).
    when_full : {"block", "drop"}
        What :meth:`submit` does when ``max_pending`` jobs are pending.
    name : str
        The thread's name.
    """

    def __init__(self, max_pending=2, when_full="block", name="infomeasure-probes"):
        self.max_pending = int(max_pending)
        self.when_full = when_full
        self._jobs: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self._busy = 0  # jobs submitted and not yet delivered
        self._closing = False
        self._failure: BaseException | None = None
        self.blocked_seconds = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        _live.add(self)

    # -- the training thread -------------------------------------------------------------------
    def submit(self, compute, deliver, on_error, force=False) -> bool:
        """Queue a job; ``False`` if it was dropped (queue full, ``when_full="drop"``).

        ``force=True`` queues it whatever the queue holds (small jobs: logged rows).
        """
        import time

        with self._cond:
            if self._closing:
                raise RuntimeError("the probe worker is closed")
            if self._busy >= self.max_pending and not force:
                if self.when_full == "drop":
                    return False
                t0 = time.perf_counter()
                while self._busy >= self.max_pending:
                    self._cond.wait()
                self.blocked_seconds += time.perf_counter() - t0
            self._jobs.append((compute, deliver, on_error))
            self._busy += 1
            self._cond.notify_all()
        return True

    def drain(self):
        """Wait until every submitted job is delivered."""
        with self._cond:
            while self._busy and self._thread.is_alive():
                self._cond.wait(0.5)

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet delivered."""
        return self._busy

    def check(self):
        """Raise (once) an exception met while delivering rows in the worker."""
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def close(self):
        """Deliver every pending job, then stop the thread (idempotent)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join()
        _live.discard(self)

    # -- the worker thread ----------------------------------------------------------------------
    def _run(self):
        while True:
            with self._cond:
                while not self._jobs and not self._closing:
                    self._cond.wait()
                if not self._jobs:
                    return
                compute, deliver, on_error = self._jobs[0]
            try:
                try:
                    out = compute()
                except BaseException as e:  # noqa: BLE001 - becomes error rows
                    out = on_error(e)
                deliver(out)
            except BaseException as e:  # noqa: BLE001 - raised in the training thread
                if self._failure is None:
                    self._failure = e
            finally:
                with self._cond:
                    self._jobs.popleft()
                    self._busy -= 1
                    self._cond.notify_all()
