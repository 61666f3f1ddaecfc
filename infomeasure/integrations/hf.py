"""Hugging Face ``transformers.Trainer`` adapter: probes as a ``TrainerCallback``, values in the Trainer's logs.

>>> from infomeasure.integrations.hf import ProbeCallback   # doctest: +SKIP
>>> trainer = Trainer(model, args, train_dataset=ds,
...                   callbacks=[ProbeCallback(layers=["bert.encoder.layer.?"], measures=["rankme"],
...                                            every=100, probe_data=batch, run_dir="runs/b")])  # doctest: +SKIP

``probe_data`` is typically a dict of tensors (``input_ids``, ``attention_mask``), passed to the
model as keyword arguments; give ``(inputs, labels)`` for label measures. The callback builds
:class:`~infomeasure.probes.Probes` when training begins, probes once before the first optimizer
step (``state.global_step``, 0 for a new run; the schedule decides, and ``every=N`` and
``every="log"`` include 0) and after every optimizer step, and closes the probes when training ends.

**Where the values go.** Each probe step's values become one entry of
``trainer.state.log_history``, ``{"probes/<layer>/<measure>": value, ..., "epoch": ..., "step":
probe_step}``, and go to the ``on_log`` event of every callback, so the ``report_to``
integrations (TensorBoard, W&B, MLflow, ...) and the console printer receive them as they
receive the loss. This is what ``Trainer.log`` does; the callback does it through the Trainer's
callback handler rather than by calling ``Trainer.log``, because Trainer subclasses fold their own
accumulated metrics into every ``log`` call (TRL's trainers do), which a probe entry would take
from them. In background mode the values of a probe step arrive a few steps later; the
integrations read the step from ``state.global_step``, so it is set to the probe step for the
duration of that ``on_log`` call and restored at once (the entry, appended when the values
arrive, has the probe step and the epoch of that step). Error rows (value ``None``) are left out;
they stay in ``probes.results`` and the run directory. Only rank 0 measures, so only rank 0 logs.

A ``TrainerCallback`` is not given the Trainer: the callback finds the callback handler that calls
it (the caller of its ``on_train_begin``, recognised by holding this callback) when training
begins. ``callback.attach(trainer)`` names the Trainer explicitly (and adds the callback to it
if it is not there yet), for Trainers that call their callbacks some other way. If neither finds
a handler, the entries still go to ``state.log_history`` and a warning says that the ``report_to``
integrations do not receive them.
"""

from __future__ import annotations

import contextlib
import sys
import warnings

try:
    from transformers import TrainerCallback as _TrainerCallback
except ImportError:  # pragma: no cover - depends on what is installed

    class _TrainerCallback:  # importing this module works; using the callback says what is missing
        pass

    _MISSING = True
else:
    _MISSING = False

from estimators.validation import check_flag

from .._probe_data import to_device
from ..probes import Probes
from ._rows import RowQueue, check_prefix, metrics_by_step, with_queue

__all__ = ["ProbeCallback"]


class ProbeCallback(_TrainerCallback):
    """Run :class:`~infomeasure.probes.Probes` during ``Trainer.train`` and log the values.

    Parameters
    ----------
    log_values : bool, default True
        Log every probe value to ``trainer.state.log_history`` and the ``report_to``
        integrations at its probe step (see the module notes); ``False``: the values go only to
        ``probes.results``, the run directory and the sinks.
    log_prefix : str, default "probes"
        Metric names are ``<log_prefix>/<layer>/<measure>`` (``""``: ``<layer>/<measure>``).
    **probe_kwargs
        Passed to :class:`~infomeasure.probes.Probes`; the model is the Trainer's model.
    """

    def __init__(self, *, log_values=True, log_prefix="probes", **probe_kwargs):
        if _MISSING:
            raise ImportError("infomeasure.integrations.hf.ProbeCallback needs transformers: pip install transformers")
        if "model" in probe_kwargs:
            raise TypeError("ProbeCallback probes the Trainer's model; do not pass model=")
        self.log_values = check_flag(log_values, "log_values")
        self.log_prefix = check_prefix(log_prefix)
        self.probe_kwargs = probe_kwargs
        self.probes: Probes | None = None
        self._queue = RowQueue()
        self._handler = None  # the Trainer's callback handler: on_log of every callback
        self._attached = None
        self._warned = False
        self._epoch_at: dict = {}  # state.epoch at each probe step whose values are not logged yet

    def attach(self, trainer) -> ProbeCallback:
        """Log through ``trainer`` (adding this callback to it unless it holds it already); returns self.

        >>> cb = ProbeCallback(layers="classifier", measures=["rankme"], probe_data=batch)  # doctest: +SKIP
        >>> trainer = Trainer(model, args, train_dataset=ds)                                  # doctest: +SKIP
        >>> cb.attach(trainer)                                                                # doctest: +SKIP
        """
        handler = getattr(trainer, "callback_handler", None)
        if handler is None or not callable(getattr(handler, "on_log", None)):
            raise TypeError(f"attach needs a transformers.Trainer (with a callback_handler); got {type(trainer).__name__}")
        if not any(cb is self for cb in handler.callbacks):
            trainer.add_callback(self)
        self._attached = handler
        return self

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if model is None:
            raise ValueError("the Trainer passed no model to ProbeCallback.on_train_begin")
        kw = with_queue(self.probe_kwargs, self._queue)
        device = next(model.parameters()).device
        kw["probe_data"] = to_device(kw.get("probe_data"), device)
        if self.probes is not None:  # a second fit/train with this callback continues its own run directory
            kw.setdefault("resume", True)
        self._queue.take()  # rows of an earlier train() that were not logged stay in that run
        self._epoch_at.clear()
        self._handler = self._attached or _calling_handler(self)
        self.probes = Probes(model, **kw)
        # before the first optimizer step: the starting point of the curves
        self._probe(args, state, control)

    def on_step_end(self, args, state, control, **kwargs):
        self._probe(args, state, control)
        if self.probes is not None and control.should_training_stop:
            self.probes.results  # noqa: B018 - waits for the background worker: log the last values now,
            self._log(args, state, control)  # before the integrations close in on_train_end

    def on_train_end(self, args, state, control, **kwargs):
        if self.probes is not None:
            self.probes.close()  # measures and delivers the pending probe steps first
            self._log(args, state, control)

    def _probe(self, args, state, control):
        if self.probes is not None:
            step = int(state.global_step)
            if self.probes.step(step) and self.log_values:
                self._epoch_at[step] = state.epoch
            self._log(args, state, control)

    def _log(self, args, state, control):
        rows = self._queue.take()
        if not (rows and self.log_values):
            return
        epochs = {}  # the epoch of each probe step in these rows (state.epoch is later in background mode)
        for step in dict.fromkeys(int(r["step"]) for r in rows):
            epochs[step] = self._epoch_at.pop(step, state.epoch)
        for step, metrics in metrics_by_step(rows, self.log_prefix):
            logs = dict(metrics)
            epoch = epochs[step]
            if epoch is not None:
                logs["epoch"] = epoch
            state.log_history.append({**logs, "step": step})
            if self._handler is not None:
                with _global_step(state, step), _keep_should_log(control):
                    self._handler.on_log(args, state, control, logs)
            elif getattr(args, "report_to", None) and not self._warned:
                self._warned = True
                warnings.warn(
                    "ProbeCallback did not find the Trainer's callback handler, so probe values reach "
                    "trainer.state.log_history but not the report_to integrations; call "
                    "callback.attach(trainer) before trainer.train()", UserWarning, stacklevel=2)


def _calling_handler(callback):
    """The callback handler that is calling ``callback`` now (a ``transformers`` ``CallbackHandler``
    holding it), found up the call stack; ``None`` if there is none."""
    frame = sys._getframe(1)
    while frame is not None:
        obj = frame.f_locals.get("self")
        callbacks = getattr(obj, "callbacks", None) if obj is not callback else None
        if isinstance(callbacks, list) and any(cb is callback for cb in callbacks) and callable(
                getattr(obj, "on_log", None)):
            return obj
        frame = frame.f_back
    return None


@contextlib.contextmanager
def _keep_should_log(control):
    """The handler's ``on_log`` clears ``control.should_log``: keep a log the Trainer has yet to write
    (a probe step that is also a logging step would otherwise lose the Trainer's loss entry)."""
    pending = control.should_log
    try:
        yield
    finally:
        control.should_log = control.should_log or pending


@contextlib.contextmanager
def _global_step(state, step):
    """``state.global_step`` is ``step`` inside (the integrations log at ``state.global_step``)."""
    saved = state.global_step
    state.global_step = step
    try:
        yield
    finally:
        state.global_step = saved
