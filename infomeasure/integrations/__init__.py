"""Adapters that attach :class:`infomeasure.probes.Probes` to training frameworks.

* :mod:`infomeasure.integrations.lightning`: ``ProbeCallback`` for PyTorch Lightning
  (``lightning`` or ``pytorch_lightning``).
* :mod:`infomeasure.integrations.hf`: ``ProbeCallback`` for the Hugging Face ``transformers.Trainer``.

Each submodule imports its framework when it is imported; this package imports neither.
"""


def __getattr__(name):
    # ``im.integrations.lightning`` / ``.hf`` load on first access.
    if name in ("lightning", "hf"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'infomeasure.integrations' has no attribute {name!r}")
