"""infomeasure: information measures for data and neural networks.

>>> import infomeasure as im
>>> im.entropy([0, 1, 2, 3], method="discrete", base=2)
2.0

The functional API lives in :mod:`estimators` and is re-exported here.
Importing this package imports neither torch nor matplotlib.
"""

from estimators import *  # noqa: F401,F403
from estimators import __all__ as _estimators_all
from estimators import differentiable  # noqa: F401 - im.differentiable: torch versions with gradients (torch imported on call)

from ._version import __version__
from .measures import *  # noqa: F401,F403
from .measures import __all__ as _measures_all
from .probes import *  # noqa: F401,F403
from .probes import __all__ as _probes_all
from .activations import ActivationFile, list_snapshots, load_activations, load_array
from .analysis import DEFAULT_MEASURES, analyze, analyze_series, reduce_array
from .demo import DemoResult, demo
from .alerts import find_alerts
from .gradient_probe import GradientAlignment
from .report import report
from .run_dir import RunDir, read_metrics
from .sinks import CSVSink, JSONLSink, TensorBoardSink

__all__ = [
    "__version__",
    *_estimators_all,
    *_probes_all,
    *_measures_all,
    "RunDir",
    "read_metrics",
    "CSVSink",
    "JSONLSink",
    "TensorBoardSink",
    "load_activations",
    "load_array",
    "list_snapshots",
    "ActivationFile",
    "analyze",
    "analyze_series",
    "reduce_array",
    "demo",
    "DemoResult",
    "DEFAULT_MEASURES",
    "report",
    "find_alerts",
    "GradientAlignment",
    "integrations",  # noqa: F405 - loaded on first access by __getattr__
]


def __getattr__(name):
    # Framework adapters import their framework: load them only when asked for.
    if name == "integrations":
        import importlib

        return importlib.import_module(".integrations", __name__)
    raise AttributeError(f"module 'infomeasure' has no attribute {name!r}")
