"""infomeasure: information measures for data and neural networks.

>>> import infomeasure as im
>>> im.entropy([0, 1, 2, 3], method="discrete", base=2)
2.0

The functional API lives in :mod:`estimators` and is re-exported here.
Importing this package imports neither torch nor matplotlib.
"""

from estimators import *  # noqa: F401,F403
from estimators import __all__ as _estimators_all

from ._version import __version__

__all__ = ["__version__", *_estimators_all]
