"""The ``infomeasure`` command line."""

from __future__ import annotations

import argparse
import sys


def _cmd_methods(args) -> int:
    import estimators

    registries = [getattr(estimators, name) for name in estimators.__all__ if name.endswith("_METHODS")]
    for reg in registries:
        print(f"{reg.quantity}:")
        aliases = reg.aliases
        for name in reg.names:
            alts = sorted(a for a, t in aliases.items() if t == name)
            print(f"  {name}" + (f"  (aliases: {', '.join(alts)})" if alts else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="infomeasure", description="Information measures for data and neural networks."
    )
    parser.add_argument("--version", action="version", version=f"infomeasure {__version__}")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("methods", help="list the estimators and their method names")
    p.set_defaults(func=_cmd_methods)
    from .cli_analyze import add_subcommands

    add_subcommands(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
