"""The one docstring-templating mechanism of the package.

Shared docstring pieces (parameter blocks, notes, whole templates) are written once and
placed with ``%(name)s`` placeholders (``%`` because docstrings hold LaTeX braces).
:func:`substitute` fills a text; :func:`fill` is the decorator form for a function's own
docstring. An unknown or unfilled placeholder raises at import time, so a typo cannot
reach the rendered documentation.

>>> from estimators._docs import fill
>>> @fill(x="x : array-like\\n        The data.")
... def f(x):
...     '''Do it.
...
...     Parameters
...     ----------
...     %(x)s
...     '''
>>> print(f.__doc__.splitlines()[4:6])
['    x : array-like', '        The data.']
"""

from __future__ import annotations

import re

__all__ = ["fill", "substitute"]

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def substitute(text: str, /, **pieces: str) -> str:
    """``text`` with every ``%(name)s`` replaced by ``pieces[name]``, verbatim.

    A piece spanning several lines carries the indentation its later lines need (four spaces
    deeper than ``def`` for a parameter block), as it will stand in the docstring.
    """

    def repl(m: re.Match) -> str:
        key = m.group(1)
        if key not in pieces:
            raise KeyError(f"docstring placeholder %({key})s has no piece; pieces: {sorted(pieces)}")
        return str(pieces[key])

    return _PLACEHOLDER.sub(repl, text)


def fill(**pieces: str):
    """Decorator: fill the ``%(name)s`` placeholders of the function's docstring."""

    def deco(func):
        if func.__doc__:
            func.__doc__ = substitute(func.__doc__, **pieces)
        return func

    return deco
