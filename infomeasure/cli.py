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
    _print_probe_measures()
    return 0


def _print_probe_measures() -> None:
    """The measures of ``Probes(measures=...)`` and ``infomeasure analyze --measures``, with their options."""
    from .cli_analyze import measure_options
    from .measures import MEASURES

    print("probe measures (Probes(measures=...), infomeasure analyze --measures NAME[:OPTION=VALUE,...]):")
    groups: dict = {}  # canonical name -> (measure, aliases)
    for name, factory in MEASURES.items():
        m = factory()
        groups.setdefault(m.name, (m, []))
        if name != m.name:
            groups[m.name][1].append(name)
    width = max(len(n) for n in groups) + 2
    for name, (m, aliases) in groups.items():
        needs = "needs labels" if m.needs_labels else "needs inputs" if m.needs_inputs else ""
        options = measure_options(m)
        line = f"  {name.ljust(width)}{m.units.ljust(10)}{needs.ljust(14)}"
        line += "options: " + (", ".join(options) if options else "none") if options is not None else "options: any"
        if aliases:
            line += f"  (aliases: {', '.join(sorted(aliases))})"
        print(line.rstrip())


def _cmd_demo(args) -> int:
    try:
        if args.lm:
            from .demo_lm import demo_lm

            demo_lm(args.output or "infomeasure-demo-lm", seed=args.seed, quick=args.quick, steps=args.steps,
                    progress=not args.quiet)
        else:
            from .demo import demo

            demo(args.output or "infomeasure-demo", seed=args.seed, quick=args.quick, steps=args.steps,
                 progress=not args.quiet)
    except (ValueError, ImportError, OSError) as e:
        print(f"infomeasure demo: error: {str(e).strip()}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="infomeasure", description="Information measures for data and neural networks."
    )
    parser.add_argument("--version", action="version", version=f"infomeasure {__version__}")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("methods", help="list the estimators and their method names, and the probe measures "
                       "with their options")
    p.set_defaults(func=_cmd_methods)
    p = sub.add_parser(
        "demo", help="train an MLP on true and shuffled digit labels (or, with --lm, a tiny GPT-2 on docstrings) "
        "with probes, and write a report",
        description="The built-in demo: the same MLP trained on scikit-learn's bundled digits with true and "
        "with shuffled labels, probed on held-out digits (RankMe, von Neumann entropy, DSE, DSMI, kNN MI); "
        "writes two run directories and one comparison report. With --lm: a 4-layer GPT-2 built from a config, "
        "trained on the standard library's docstrings (bytes), probed on held-out modules (token entropy, "
        "attention entropy per head, matrix entropy per layer); needs transformers. Nothing is downloaded.")
    p.add_argument("--lm", action="store_true", help="the language-model demo (a tiny GPT-2 on standard-library "
                   "docstrings, about a minute on 2 cores)")
    p.add_argument("-o", "--output", default=None,
                   help="output folder (default infomeasure-demo, with --lm infomeasure-demo-lm)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, shuffle, weights and batches (default 0)")
    p.add_argument("--quick", action="store_true", help="smoke test: 300 steps per run instead of 3,000 "
                   "(with --lm: 60 instead of 1,500)")
    p.add_argument("--steps", type=int, help="training steps per run (overrides --quick)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_demo)
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
