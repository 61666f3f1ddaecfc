"""PyTorch Lightning adapter: probes as a callback, their values in every Lightning logger.

>>> from infomeasure.integrations.lightning import ProbeCallback   # doctest: +SKIP
>>> trainer = L.Trainer(logger=CSVLogger("logs"),
...                     callbacks=[ProbeCallback(layers=["encoder.*"], measures=["rankme"],
...                                              every=100, probe_data=x_probe, run_dir="runs/a")])  # doctest: +SKIP

The callback builds :class:`~infomeasure.probes.Probes` on the LightningModule when fitting starts,
probes once before the first optimizer step (``trainer.global_step``, 0 for a new run; the schedule
decides, and ``every=N`` and ``every="log"`` include 0) and after every training batch (the global
step is the same on every DDP rank, and counts optimizer steps), and closes the probes when
training ends or raises. ``callback.probes.results`` holds the table afterwards.

**Where the values go.** Every probe value is also written to each of ``trainer.loggers``
(TensorBoard, W&B, MLflow, CSV, ...) as ``probes/<layer>/<measure>`` at the probe step, with
``logger.log_metrics(metrics, step=probe_step)``: the way Lightning's own ``LearningRateMonitor``
logs. Not through ``LightningModule.log``, for three reasons: Lightning refuses step-level
``self.log`` in ``on_train_start`` (so the step-0 values could not be logged at their step),
``self.log`` values reach the loggers only on steps that are multiples of ``log_every_n_steps``
(probe values on other steps would be lost), and in background mode rows arrive a few steps after
the step they belong to, which ``self.log`` would record at the current step. In the loggers, the
step of a probe value is the number of optimizer steps taken before it was measured, the same
x-axis as the training loss that Lightning logs (the loss computed with the same weights). Error
rows (value ``None``) are left out; they stay in ``probes.results`` and the run directory. Only
rank 0 measures, so only rank 0 logs (Lightning's loggers write on rank 0 only anyway); the
values are not in ``trainer.callback_metrics``, so they cannot be monitored by ``EarlyStopping``
or ``ModelCheckpoint``.
"""

from __future__ import annotations

try:
    from lightning.pytorch import Callback as _Callback
except ImportError:  # pragma: no cover - depends on what is installed
    try:
        from pytorch_lightning import Callback as _Callback
    except ImportError:

        class _Callback:  # importing this module works; using the callback says what is missing
            def __init__(self, *args, **kwargs):
                raise ImportError("infomeasure.integrations.lightning.ProbeCallback needs PyTorch Lightning: pip install lightning")

from estimators.validation import check_flag

from .._probe_data import to_device
from ..probes import Probes
from ._rows import RowQueue, check_prefix, metrics_by_step, with_queue

__all__ = ["ProbeCallback"]


class ProbeCallback(_Callback):
    """Run :class:`~infomeasure.probes.Probes` during ``Trainer.fit`` and log the values.

    Parameters
    ----------
    log_values : bool, default True
        Write every probe value to each of ``trainer.loggers`` at its probe step (see the module
        notes); ``False``: the values go only to ``probes.results``, the run directory and the sinks.
    log_prefix : str, default "probes"
        Metric names are ``<log_prefix>/<layer>/<measure>`` (``""``: ``<layer>/<measure>``).
    **probe_kwargs
        Passed to :class:`~infomeasure.probes.Probes` (``layers``, ``measures``, ``every``,
        ``probe_data``, ``run_dir``, ...); the model is the LightningModule. The probe data is moved
        to the module's device at the start of fitting.
    """

    def __init__(self, *, log_values=True, log_prefix="probes", **probe_kwargs):
        super().__init__()
        if "model" in probe_kwargs:
            raise TypeError("ProbeCallback probes the LightningModule being fitted; do not pass model=")
        self.log_values = check_flag(log_values, "log_values")
        self.log_prefix = check_prefix(log_prefix)
        self.probe_kwargs = probe_kwargs
        self.probes: Probes | None = None
        self._queue = RowQueue()
        self._last_step = None

    def on_fit_start(self, trainer, pl_module):
        kw = with_queue(self.probe_kwargs, self._queue)
        kw["probe_data"] = to_device(kw.get("probe_data"), pl_module.device)
        if self.probes is not None:  # a second fit/train with this callback continues its own run directory
            kw.setdefault("resume", True)
        self._queue.take()  # rows of an earlier fit that were not logged stay in that fit
        self.probes = Probes(pl_module, **kw)
        self._last_step = None

    def on_train_start(self, trainer, pl_module):
        # before the first optimizer step: the starting point of the curves
        self._probe(trainer, int(trainer.global_step))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = int(trainer.global_step)
        if step != self._last_step:  # accumulation: one probe per optimizer step
            self._probe(trainer, step)
        else:
            self._log(trainer)  # rows measured in the background since

    def on_train_end(self, trainer, pl_module):
        # here, not in on_fit_end: the loggers are finalized (CSVLogger writes its file) before that
        self._close(trainer)

    def on_fit_end(self, trainer, pl_module):
        if self.probes is not None:
            self.probes.close()

    def on_exception(self, trainer, pl_module, exception):
        self._close(trainer)  # the loggers are finalized after this hook: the values so far reach them

    def _probe(self, trainer, step):
        if self.probes is None:
            return
        self._last_step = step
        self.probes.step(step)
        self._log(trainer)

    def _close(self, trainer):
        if self.probes is not None:
            self.probes.close()  # measures and delivers the pending probe steps first
            self._log(trainer)

    def _log(self, trainer):
        rows = self._queue.take()
        if not (rows and self.log_values and trainer.loggers):
            return
        for step, metrics in metrics_by_step(rows, self.log_prefix):
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=step)
        for logger in trainer.loggers:
            logger.save()
