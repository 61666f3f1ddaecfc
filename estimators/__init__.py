"""estimators: the numerical core of infomeasure.

Pure functions over arrays: one module per family, numba kernels in private
modules, and a registry per quantity from method names to functions. No I/O,
no plotting, no hooks. Users normally import these through ``infomeasure``.
"""

from .entropy import *  # noqa: F401,F403
from .entropy import __all__ as _entropy_all
from .mutual_info import *  # noqa: F401,F403
from .mutual_info import __all__ as _mutual_info_all
from .higher_order import *  # noqa: F401,F403
from .higher_order import __all__ as _higher_order_all
from .ordinal import *  # noqa: F401,F403
from .ordinal import __all__ as _ordinal_all
from .transfer import *  # noqa: F401,F403
from .transfer import __all__ as _transfer_all
from .surrogates import *  # noqa: F401,F403
from .surrogates import __all__ as _surrogates_all
from .spectral import *  # noqa: F401,F403
from .spectral import __all__ as _spectral_all
from .diffusion import *  # noqa: F401,F403
from .diffusion import __all__ as _diffusion_all
from .neural import *  # noqa: F401,F403
from .neural import __all__ as _neural_all
from .self_consistency import *  # noqa: F401,F403
from .self_consistency import __all__ as _self_consistency_all
from .semantic import *  # noqa: F401,F403
from .semantic import __all__ as _semantic_all
from .predictive import (  # noqa: F401 - the one-call language-model measures (the streaming twins stay in .predictive)
    attention_entropy,
    entropy_change,
    high_entropy_share,
    logp_advantage_covariance,
    token_entropy,
    token_entropy_from_scores,
    token_log_probs,
    windowed_entropy,
)

_predictive_all = [
    "attention_entropy",
    "entropy_change",
    "high_entropy_share",
    "logp_advantage_covariance",
    "token_entropy",
    "token_entropy_from_scores",
    "token_log_probs",
    "windowed_entropy",
]

__all__ = [
    *_entropy_all,
    *_mutual_info_all,
    *_higher_order_all,
    *_ordinal_all,
    *_transfer_all,
    *_surrogates_all,
    *_spectral_all,
    *_diffusion_all,
    *_neural_all,
    *_self_consistency_all,
    *_predictive_all,
    *_semantic_all,
]

# help() on a front function lists every method's keywords and defaults (e.g. k=4 for "ksg"),
# read from the methods' own signatures now that every family is imported.
from . import _registry  # noqa: E402

for _front, _methods in (
    (entropy, ENTROPY_METHODS),  # noqa: F405
    (mutual_information, MI_METHODS),  # noqa: F405
    (conditional_mutual_information, CMI_METHODS),  # noqa: F405
    (transfer_entropy, TE_METHODS),  # noqa: F405
    (o_information, OINFO_METHODS),  # noqa: F405
    (total_correlation, TC_METHODS),  # noqa: F405
    (dual_total_correlation, DTC_METHODS),  # noqa: F405
    (s_information, SINFO_METHODS),  # noqa: F405
):
    _registry.document_keywords(_front, _methods)
del _front, _methods
