"""The ``analyze`` and ``report`` subcommands of the ``infomeasure`` command line.

``infomeasure analyze PATH [--labels FILE] [--inputs FILE] [--measures a,b] [--jobs N] -o OUT`` reads
saved activations, writes ``OUT/table.csv`` (the long table) and ``OUT/report.html``. A measure in
``--measures`` takes estimator options after a colon, ``name:key=value,key=value``
(``mi_labels:k=5,noise=1e-10``; see :func:`parse_measures`); ``infomeasure methods`` lists the
measures and their options.
``infomeasure report RUN_DIR [RUN_DIR ...] -o report.html`` writes the report of a probe run directory,
or the comparison report of several (the runs on the same axes).

A missing, corrupt or mismatched file gives exit code 2 and one line on stderr, no traceback.

>>> import argparse
>>> from infomeasure.cli_analyze import add_subcommands
>>> parser = argparse.ArgumentParser(prog="infomeasure")
>>> add_subcommands(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["analyze", "acts.npz", "--measures", "rankme,mi_labels", "-o", "out"])
>>> args.measures, args.output
('rankme,mi_labels', 'out')
>>> from infomeasure.cli_analyze import parse_measures
>>> parse_measures("rankme,mi_labels:k=5,noise=1e-10")
['rankme', ('mi_labels', {'k': 5, 'noise': 1e-10})]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys

__all__ = ["add_subcommands", "main_for_tests", "measure_options", "parse_measures"]

# errors that mean "this file is wrong", reported in one line
_USER_ERRORS = (ValueError, TypeError, OSError, KeyError, ImportError)


def _fail(command, e) -> int:
    msg = str(e).strip().replace("\n", " ") or type(e).__name__
    if isinstance(e, KeyError):
        msg = f"missing key {msg}"
    print(f"infomeasure {command}: error: {msg}", file=sys.stderr)
    return 2


def _executor(jobs):
    if jobs is None or jobs <= 1:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn: forking a process that already runs OpenMP (numba, torch) can abort the child
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))


def _command(name):
    """Wrap a subcommand body that returns its summary line: print it (unless ``--quiet``) and exit 0,
    or, for a missing, corrupt or mismatched file, print one error line on stderr and exit 2."""

    def wrap(body):
        @functools.wraps(body)
        def run(args) -> int:
            try:
                summary = body(args)
                if not args.quiet:
                    print(summary)
                return 0
            except _USER_ERRORS as e:
                return _fail(name, e)

        return run

    return wrap


def _check_analyze_outputs(args) -> None:
    from .report import check_output_path

    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise ValueError(f"output {args.output!r} is a file; -o takes a folder (table.csv and report.html go there)")
    for name in ("table.csv", "report.html"):
        check_output_path(os.path.join(args.output, name), args.path, args.labels, args.inputs)


def _analysis_parameters(args, measures, rows) -> dict:
    """The report appendix of an analysis: the measures (described, or as found in the rows) and the options."""
    from .measures import get_measure

    used = measures if measures is not None else sorted({(r["measure"], r["method"]) for r in rows})
    return {
        "measures": [get_measure(m).describe() for m in measures] if measures is not None
        else [{"name": n, "method": m} for n, m in used],
        "labels": args.labels, "inputs": args.inputs, "step": args.step, "jobs": args.jobs,
    }


def measure_options(measure) -> list[str] | None:
    """The options (keywords) a measure takes: those of its estimator function, or of its class
    for streaming measures; ``None`` when it takes any keyword.

    >>> from infomeasure.cli_analyze import measure_options
    >>> from infomeasure.measures import get_measure
    >>> measure_options(get_measure("rankme")), measure_options(get_measure("prediction_entropy"))
    (['eps'], ['dim', 'chunk_size', 'vocab_chunk', 'label_shift', 'use_masks', 'normalize', 'base'])
    """
    import inspect

    import estimators

    if measure.streaming:
        fn, skip = type(measure).__init__, {"self"}
    else:
        fn, skip = getattr(estimators, measure.method, None), set()
        if fn is None:
            return None
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.VAR_KEYWORD:
            return None
        keyword = p.kind is p.KEYWORD_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty)
        if keyword and p.name not in skip:
            out.append(p.name)
    return out


def _option_value(text: str):
    """An option value from the command line: bool, None, int, float, or else the string (quotes removed)."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def parse_measures(text: str) -> list:
    """The ``--measures`` list: names, and ``(name, options)`` pairs for ``name:key=value,...``.

    Entries are separated by commas; a measure's options follow a colon, and every further
    ``key=value`` entry belongs to the last measure that opened with a colon
    (``"rankme,mi_labels:k=5,noise=1e-10,dsmi"``). Values become booleans (``true``/``false``),
    ``None`` (``none``), integers, floats or else strings (``metric=euclidean``). Each option is
    checked against the keywords the measure's estimator takes.

    Raises
    ------
    ValueError
        An unknown measure or option, an option without a measure or a value, or a measure or
        option given twice; the message names the entry and what to write instead.

    Examples
    --------
    >>> from infomeasure.cli_analyze import parse_measures
    >>> parse_measures("rankme, mi_labels:k=5,noise=1e-10,standardize=false, dsmi")
    ['rankme', ('mi_labels', {'k': 5, 'noise': 1e-10, 'standardize': False}), 'dsmi']
    >>> parse_measures("mi_labels:q=1")
    Traceback (most recent call last):
    ...
    ValueError: --measures: mi_labels has no option 'q'; its options are k, metric, standardize, noise, seed, base
    """
    from .measures import MEASURES

    entries: list = []  # [name, options or None]
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        eq_at = token.find("=")
        if ":" in token and (eq_at < 0 or token.index(":") < eq_at):  # "name:..." (a value may hold a colon)
            name, _, option = (part.strip() for part in token.partition(":"))
            entries.append([name, {}])
            if not option:
                continue
        elif "=" in token:
            if not entries or entries[-1][1] is None:
                hint = f"{entries[-1][0]}:{token}" if entries else f"NAME:{token}"
                raise ValueError(f"--measures: option {token!r} must follow its measure and a colon, e.g. {hint}")
            option = token
        else:
            entries.append([token, None])
            continue
        key, eq, value = (part.strip() for part in option.partition("="))
        if not eq or not key.isidentifier() or not value:
            raise ValueError(f"--measures: {option!r} in {entries[-1][0]}'s options is not key=value (e.g. k=5)")
        if key in entries[-1][1]:
            raise ValueError(f"--measures: option {key!r} of {entries[-1][0]} is given twice")
        entries[-1][1][key] = _option_value(value)
    if not entries:
        raise ValueError("--measures names no measure; 'infomeasure methods' lists them")
    out, seen = [], {}
    for name, options in entries:
        if name not in MEASURES:
            raise ValueError(f"--measures: unknown measure {name!r}; choose from {', '.join(sorted(MEASURES))} "
                             "('infomeasure methods' lists them with their options)")
        canonical = MEASURES[name]().name
        if canonical in seen:
            same = "" if seen[canonical] == name else f" (as {seen[canonical]!r})"
            raise ValueError(f"--measures: {name!r} is given twice{same}; give each measure once")
        seen[canonical] = name
        accepted = measure_options(MEASURES[name]())
        unknown = [k for k in options or {} if accepted is not None and k not in accepted]
        if unknown:
            raise ValueError(f"--measures: {name} has no option {unknown[0]!r}; its options are "
                             f"{', '.join(accepted) if accepted else 'none'}")
        out.append((name, options) if options else name)
    return out


@_command("analyze")
def _cmd_analyze(args) -> str:
    from .activations import load_activations, load_array
    from .analysis import analyze
    from .report import noting, report
    from .sinks import write_csv

    _check_analyze_outputs(args)
    acts = load_activations(args.path, step=args.step)
    labels = load_array(args.labels, "labels") if args.labels else None
    inputs = load_array(args.inputs, "inputs") if args.inputs else None
    measures = parse_measures(args.measures) if args.measures else None
    ex, caught = _executor(args.jobs), []
    try:
        with noting(caught):
            rows = analyze(acts, measures, labels=labels, inputs=inputs, executor=ex, progress=not args.quiet)
    finally:
        if ex is not None:
            ex.shutdown()
    notes = list(dict.fromkeys(caught))
    os.makedirs(args.output, exist_ok=True)
    table = os.path.join(args.output, "table.csv")
    write_csv(table, rows)
    desc = f"activations {args.path}" + (f", labels {args.labels}" if args.labels else "") + (
        f", inputs {args.inputs}" if args.inputs else "")
    html = report(rows, os.path.join(args.output, "report.html"), description=desc,
                  parameters=_analysis_parameters(args, measures, rows), notes=notes, activations=acts,
                  title=f"infomeasure analysis of {os.path.basename(os.path.normpath(args.path))}")
    n_err = sum(1 for r in rows if r.get("error"))
    return f"wrote {table} ({len(rows)} rows, {n_err} errors, {len(notes)} estimator warnings) and {html}"


@_command("report")
def _cmd_report(args) -> str:
    from .report import is_run_dir, report

    for d in args.run_dir:
        if not os.path.exists(d):
            raise ValueError(f"{d}: no such directory")
        if not is_run_dir(d):
            raise ValueError(f"{d} is not a run directory (no metrics.jsonl); use 'infomeasure analyze' for activations")
    source = args.run_dir[0] if len(args.run_dir) == 1 else list(args.run_dir)
    return f"wrote {report(source, args.output, step=args.step, title=args.title)}"


def add_subcommands(subparsers) -> None:
    """Register ``analyze`` and ``report`` on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "analyze", help="measure saved activations: writes OUT/table.csv and OUT/report.html",
        description="Compute information measures for every layer of saved activations "
        "(.safetensors, .npz, .npy, .pt, a run directory's snapshot or a folder of batch files).",
    )
    p.add_argument("path", help="activations file or folder")
    p.add_argument("--labels", help="labels file (.npy, .npz, .pt, .safetensors, .txt/.csv), one per sample")
    p.add_argument("--inputs", help="inputs file, one row per sample (adds mi_inputs and the information plane)")
    p.add_argument("--measures", help="comma-separated measure names, each with estimator options after a colon "
                   "if wanted: rankme,mi_labels:k=5,noise=1e-10 ('infomeasure methods' lists the measures and "
                   "their options; default: rankme, effective_rank, von_neumann_entropy, alpha_req on layers "
                   "with 13 or more dimensions, and mi_labels with --labels)")
    p.add_argument("--step", type=int, help="snapshot step when PATH is a run directory (default: last)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary line")
    p.set_defaults(func=_cmd_analyze)

    p = subparsers.add_parser("report", help="write the HTML report of a probe run directory (or compare several)",
                              description="Write one self-contained HTML report of a probe run directory; "
                              "with several run directories, a comparison report with the runs on the same axes.")
    p.add_argument("run_dir", nargs="+", help="run directory (metrics.jsonl, manifest.json); several to compare")
    p.add_argument("--title", help="report title")
    p.add_argument("-o", "--output", default="report.html", help="HTML file to write (default report.html)")
    p.add_argument("--step", type=int, help="snapshot step for the eigenspectra (default: last)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    p.set_defaults(func=_cmd_report)


def main_for_tests(argv=None) -> int:
    """Parse ``argv`` with a parser holding only these subcommands and run it (exit code)."""
    parser = argparse.ArgumentParser(prog="infomeasure")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main_for_tests())
