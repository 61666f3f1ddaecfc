r"""Time-series information measures (a re-export of three modules).

The measures of time series live in three family modules; this module re-exports
them, so that ``from estimators.timeseries import ...`` keeps working:

* :mod:`estimators.ordinal`: ``permutation_entropy``, ``multiscale_permutation_entropy``,
  ``missing_patterns``, ``statistical_complexity``, ``complexity_entropy_bounds`` and
  their results ``ComplexityEntropy``, ``ComplexityEntropyBounds``, ``MultiscaleEntropy``;
* :mod:`estimators.transfer`: ``transfer_entropy`` and its methods ``te_ksg``,
  ``te_gaussian``, ``te_discrete``, ``te_ordinal`` (registry ``TE_METHODS``), and
  ``active_information_storage``;
* :mod:`estimators.surrogates`: ``surrogate_test`` and ``SurrogateResult``.

>>> from estimators import timeseries, ordinal, transfer, surrogates
>>> timeseries.statistical_complexity is ordinal.statistical_complexity
True
>>> timeseries.TE_METHODS is transfer.TE_METHODS
True
"""

from __future__ import annotations

from .ordinal import *  # noqa: F401,F403
from .ordinal import __all__ as _ordinal_all
from .transfer import *  # noqa: F401,F403
from .transfer import __all__ as _transfer_all
from .surrogates import *  # noqa: F401,F403
from .surrogates import __all__ as _surrogates_all

__all__ = [*_ordinal_all, *_transfer_all, *_surrogates_all]
