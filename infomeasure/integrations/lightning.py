"""PyTorch Lightning adapter: probes as a callback.

>>> from infomeasure.integrations.lightning import ProbeCallback   # doctest: +SKIP
>>> trainer = L.Trainer(callbacks=[ProbeCallback(layers=["encoder.*"], measures=["rankme"],
...                                              every=100, probe_data=x_probe, run_dir="runs/a")])  # doctest: +SKIP

The callback builds :class:`~infomeasure.probes.Probes` on the LightningModule when fitting starts,
calls ``probes.step(trainer.global_step)`` after every training batch (the global step is the same
on every DDP rank, and counts optimizer steps), and closes the probes when fitting ends or raises.
``callback.probes.results`` holds the table afterwards.
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

from .._probe_data import to_device
from ..probes import Probes

__all__ = ["ProbeCallback"]


class ProbeCallback(_Callback):
    """Run :class:`~infomeasure.probes.Probes` during ``Trainer.fit``.

    Parameters
    ----------
    **probe_kwargs
        Passed to :class:`~infomeasure.probes.Probes` (``layers``, ``measures``, ``every``,
        ``probe_data``, ``run_dir``, ...); the model is the LightningModule. The probe data is moved
        to the module's device at the start of fitting.
    """

    def __init__(self, **probe_kwargs):
        super().__init__()
        if "model" in probe_kwargs:
            raise TypeError("ProbeCallback probes the LightningModule being fitted; do not pass model=")
        self.probe_kwargs = probe_kwargs
        self.probes: Probes | None = None
        self._last_step = None

    def on_fit_start(self, trainer, pl_module):
        kw = dict(self.probe_kwargs)
        kw["probe_data"] = to_device(kw.get("probe_data"), pl_module.device)
        if self.probes is not None:  # a second fit/train with this callback continues its own run directory
            kw.setdefault("resume", True)
        self.probes = Probes(pl_module, **kw)
        self._last_step = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = int(trainer.global_step)
        if self.probes is not None and step != self._last_step:  # accumulation: one probe per step
            self._last_step = step
            self.probes.step(step)

    def on_fit_end(self, trainer, pl_module):
        if self.probes is not None:
            self.probes.close()

    def on_exception(self, trainer, pl_module, exception):
        if self.probes is not None:
            self.probes.close()

