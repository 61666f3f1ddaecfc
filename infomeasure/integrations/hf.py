"""Hugging Face ``transformers.Trainer`` adapter: probes as a ``TrainerCallback``.

>>> from infomeasure.integrations.hf import ProbeCallback   # doctest: +SKIP
>>> trainer = Trainer(model, args, train_dataset=ds,
...                   callbacks=[ProbeCallback(layers=["bert.encoder.layer.?"], measures=["rankme"],
...                                            every=100, probe_data=batch, run_dir="runs/b")])  # doctest: +SKIP

``probe_data`` is typically a dict of tensors (``input_ids``, ``attention_mask``), passed to the
model as keyword arguments; give ``(inputs, labels)`` for label measures. The callback builds
:class:`~infomeasure.probes.Probes` when training begins, calls ``probes.step(state.global_step)``
after every optimizer step and closes the probes when training ends.
"""

from __future__ import annotations

try:
    from transformers import TrainerCallback as _TrainerCallback
except ImportError:  # pragma: no cover - depends on what is installed

    class _TrainerCallback:  # importing this module works; using the callback says what is missing
        pass

    _MISSING = True
else:
    _MISSING = False

from .._probe_data import to_device
from ..probes import Probes

__all__ = ["ProbeCallback"]


class ProbeCallback(_TrainerCallback):
    """Run :class:`~infomeasure.probes.Probes` during ``Trainer.train``.

    Parameters
    ----------
    **probe_kwargs
        Passed to :class:`~infomeasure.probes.Probes`; the model is the Trainer's model.
    """

    def __init__(self, **probe_kwargs):
        if _MISSING:
            raise ImportError("infomeasure.integrations.hf.ProbeCallback needs transformers: pip install transformers")
        if "model" in probe_kwargs:
            raise TypeError("ProbeCallback probes the Trainer's model; do not pass model=")
        self.probe_kwargs = probe_kwargs
        self.probes: Probes | None = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if model is None:
            raise ValueError("the Trainer passed no model to ProbeCallback.on_train_begin")
        kw = dict(self.probe_kwargs)
        device = next(model.parameters()).device
        kw["probe_data"] = to_device(kw.get("probe_data"), device)
        if self.probes is not None:  # a second fit/train with this callback continues its own run directory
            kw.setdefault("resume", True)
        self.probes = Probes(model, **kw)

    def on_step_end(self, args, state, control, **kwargs):
        if self.probes is not None:
            self.probes.step(int(state.global_step))

    def on_train_end(self, args, state, control, **kwargs):
        if self.probes is not None:
            self.probes.close()
