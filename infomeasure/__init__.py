"""infomeasure: information measures for data and neural networks.

>>> import infomeasure as im
>>> im.entropy([0, 1, 2, 3], method="discrete", base=2)
2.0

The functional API lives in :mod:`estimators` and is re-exported here.
Importing this package imports neither torch nor matplotlib.
"""

from estimators import (
    CMI_METHODS,
    ENTROPY_METHODS,
    MI_METHODS,
    cmi_discrete,
    cmi_gaussian,
    cmi_ksg,
    conditional_mutual_information,
    entropy,
    entropy_discrete,
    entropy_gaussian,
    entropy_kde,
    entropy_kl,
    entropy_miller_madow,
    entropy_renyi,
    entropy_tsallis,
    mi_binned,
    mi_discrete,
    mi_gaussian,
    mi_ksg,
    mi_mixed,
    mi_ross,
    mutual_information,
)

from ._version import __version__

__all__ = [
    "__version__",
    "entropy",
    "entropy_discrete",
    "entropy_miller_madow",
    "entropy_kl",
    "entropy_gaussian",
    "entropy_kde",
    "entropy_renyi",
    "entropy_tsallis",
    "mutual_information",
    "mi_ksg",
    "mi_gaussian",
    "mi_discrete",
    "mi_binned",
    "mi_mixed",
    "mi_ross",
    "conditional_mutual_information",
    "cmi_ksg",
    "cmi_gaussian",
    "cmi_discrete",
    "ENTROPY_METHODS",
    "MI_METHODS",
    "CMI_METHODS",
]
