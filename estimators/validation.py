"""The argument checks of the estimators, for code built on them (the ``infomeasure`` layer, plugins).

The estimators validate every argument at their public boundary with these functions; code that
wraps them (measures, probes, analysis) uses the same ones, so that one bad value gets one message
wherever it is passed. Each raises ``TypeError``/``ValueError`` naming the argument and the fix.

>>> from estimators.validation import check_flag, check_positive_int, to_base
>>> check_flag(True, "strict"), check_positive_int(3, "every"), round(to_base(1.0, 2), 6)
(True, 3, 1.442695)
>>> check_flag("yes", "strict")
Traceback (most recent call last):
...
TypeError: strict must be True or False; got 'yes'
"""

from __future__ import annotations

from ._validation import _to_numpy as to_numpy
from ._validation import _unmasked as unmasked
from ._validation import check_flag, check_positive_int, log_base, to_base

__all__ = ["check_flag", "check_positive_int", "log_base", "to_base", "to_numpy", "unmasked"]
