"""estimators: the numerical core of infomeasure.

Pure functions over arrays: one module per family, numba kernels in private
modules, and a registry per quantity from method names to functions. No I/O,
no plotting, no hooks. Users normally import these through ``infomeasure``.
"""

from .entropy import (
    ENTROPY_METHODS,
    entropy,
    entropy_discrete,
    entropy_gaussian,
    entropy_kde,
    entropy_kl,
    entropy_miller_madow,
    entropy_renyi,
    entropy_tsallis,
)
from .mutual_info import (
    CMI_METHODS,
    MI_METHODS,
    cmi_discrete,
    cmi_gaussian,
    cmi_ksg,
    conditional_mutual_information,
    mi_binned,
    mi_discrete,
    mi_gaussian,
    mi_ksg,
    mi_mixed,
    mi_ross,
    mutual_information,
)

__all__ = [
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
