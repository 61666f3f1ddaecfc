"""A small registry from method names (and aliases) to estimator functions.

Each front function (``entropy``, ``mutual_information``, ...) owns one
registry; ``method=`` is resolved through it, and a callable may be passed
instead of a name. The registry's home module declares every method: its own
functions with :meth:`MethodRegistry.register`, methods of other families
(e.g. the neural bounds of mutual information) with
:meth:`MethodRegistry.declare`, resolved on first use, so that a registry is
complete without importing the other families and no module fills another's
registry as a side effect of being imported.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Callable


class MethodRegistry:
    """Map method names and aliases of one quantity to functions."""

    def __init__(self, quantity: str):
        self.quantity = quantity
        self._funcs: dict[str, Callable] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, *aliases: str):
        """Decorator: register ``func`` under ``name`` and optional aliases."""

        def deco(func: Callable) -> Callable:
            key = self.normalise(name)
            if key in self._funcs or key in self._aliases:
                raise RuntimeError(f"method {name!r} registered twice for {self.quantity}")
            self._funcs[key] = func
            for alias in aliases:
                self._aliases[self.normalise(alias)] = key
            return func

        return deco

    def declare(self, name: str, target: str, *aliases: str) -> None:
        """Declare method ``name`` implemented by ``target`` (``"module:function"`` in this package).

        The module is imported when the method is first resolved.
        """
        self.register(name, *aliases)(target)

    def _load(self, key: str) -> Callable:
        func = self._funcs[key]
        if isinstance(func, str):
            module, attr = func.split(":")
            func = getattr(importlib.import_module(module, __package__), attr)
            self._funcs[key] = func
        return func

    @staticmethod
    def normalise(name: str) -> str:
        """The key a method name is looked up by: lower case, with "-" and spaces as "_"."""
        return name.strip().lower().replace("-", "_").replace(" ", "_")

    @property
    def names(self) -> list[str]:
        """The canonical method names, in registration order."""
        return list(self._funcs)

    @property
    def aliases(self) -> dict[str, str]:
        return dict(self._aliases)

    def resolve(self, method) -> Callable:
        """Return the function for ``method`` (a name, alias or callable)."""
        if callable(method):
            return method
        if not isinstance(method, str):
            raise TypeError(
                f"method must be a string or a callable; got {type(method).__name__}. "
                f"Valid methods for {self.quantity}: {self._valid()}"
            )
        key = self.normalise(method)
        key = self._aliases.get(key, key)
        try:
            return self._load(key)
        except KeyError:
            raise ValueError(
                f"unknown method {method!r} for {self.quantity}; valid methods: {self._valid()}"
            ) from None

    def _valid(self) -> str:
        text = ", ".join(repr(n) for n in self._funcs)
        if self._aliases:
            text += " (aliases: " + ", ".join(f"{a!r}->{t!r}" for a, t in self._aliases.items()) + ")"
        return text

    def call(self, method, *args, **kwargs):
        """Resolve ``method`` and call it, rejecting keywords the method does not take."""
        func = self.resolve(method)
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):  # builtins and odd callables: let Python check
            return func(*args, **kwargs)
        params = sig.parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            unknown = [k for k in kwargs if k not in params]
            if unknown:
                name = method if isinstance(method, str) else getattr(func, "__name__", "callable")
                accepted = [
                    p.name
                    for p in params.values()
                    if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                ][len(args):]
                raise TypeError(
                    f"method {name!r} of {self.quantity} does not take "
                    f"{', '.join(repr(u) for u in unknown)}; it accepts: {', '.join(accepted) or 'nothing'}"
                )
        return func(*args, **kwargs)


def _keywords(func, skip=()) -> str:
    """``k=4, standardize=True, ...``: the keyword parameters of ``func`` with their defaults.

    Parameters named in ``skip`` (those the front function itself shows, and ``base``) are left out.
    """
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return ""
    shown = [p for p in params if p.default is not inspect.Parameter.empty and p.name not in skip
             and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    return ", ".join(f"{p.name}={p.default!r}" for p in shown)


def document_keywords(front, registry: MethodRegistry) -> None:
    """List each method's keywords and defaults under ``**kwargs`` in the front function's docstring.

    The front functions (``entropy``, ``mutual_information``, ...) pass ``**kwargs`` to the chosen
    method, so ``help()`` would not show, e.g., that ``k`` defaults to 4; this writes the defaults
    from the methods' own signatures (the one source) into the docstring. Called once all families
    are imported (lazily declared methods are resolved here).
    """
    doc = front.__doc__ or ""
    marker = "\n    **kwargs\n"
    at = doc.find(marker)
    if at < 0:
        raise RuntimeError(f"{front.__name__}'s docstring has no **kwargs entry to document")
    end = doc.find("\n\n", at + len(marker))
    end = len(doc) if end < 0 else end
    shown = {"base", *inspect.signature(front).parameters}
    lines = [f'        * ``"{name}"``: ``{_keywords(registry.resolve(name), shown)}``' for name in registry.names
             if _keywords(registry.resolve(name), shown)]
    table = "\n\n        Each method's keywords and their defaults:\n\n" + "\n".join(lines)
    front.__doc__ = doc[:end] + table + doc[end:]
