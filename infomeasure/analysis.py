"""Offline analysis of saved activations: every measure for every layer (and checkpoint), as a long table.

The measures are the probe measure objects of :mod:`infomeasure.measures` (the math lives once, in
:mod:`estimators`); :func:`analyze` runs them on saved activations and returns rows with the same
columns as ``Probes.results`` (:data:`infomeasure.sinks.COLUMNS`), so the same plots and reports
read both.

>>> import numpy as np
>>> from infomeasure.analysis import analyze
>>> rng = np.random.default_rng(0)
>>> x = rng.standard_normal((200, 4))
>>> acts = {"fc1": x, "fc2": x[:, :1] * np.ones((1, 4))}    # fc2 has collapsed to rank 1
>>> rows = analyze(acts, measures=["rankme"])
>>> [(r["layer"], r["measure"], round(r["value"], 2)) for r in rows]
[('fc1', 'rankme', 4.0), ('fc2', 'rankme', 1.0)]
"""

from __future__ import annotations

import builtins
import sys
import warnings
from collections.abc import Mapping

import numpy as np

from estimators.validation import to_numpy, unmasked

from ._table import ResultRows
from .measures import InputsMI, SpectralMeasure, evaluate, get_measure, reduce_rows

__all__ = ["DEFAULT_MEASURES", "analyze", "analyze_series", "reduce_array"]

#: Measures computed when ``measures`` is not given (label measures are added when labels are).
DEFAULT_MEASURES = ("rankme", "effective_rank", "von_neumann_entropy", "alpha_req")


def reduce_array(a, reduce="mean") -> np.ndarray:
    """A ``(samples, features)`` float64 array from saved activations of shape ``(samples, ...)``.

    The same convention as :func:`infomeasure.probes.reduce_output` (both use
    :func:`infomeasure.measures.reduce_rows`): ``"mean"`` averages conv maps ``(n, C, H, W)`` over
    space and sequences ``(n, T, D)`` over tokens; ``"last"`` takes the last token; ``"flatten"``
    keeps every value.

    >>> from infomeasure.analysis import reduce_array
    >>> import numpy as np
    >>> reduce_array(np.ones((2, 3, 4, 5))).shape, reduce_array(np.ones((2, 7, 5)), "last").shape
    ((2, 3), (2, 5))
    """
    if isinstance(a, np.ma.MaskedArray):
        a = unmasked(a, "activations")
    a = np.asarray(a)
    if a.ndim == 0:
        raise ValueError("activations must have a samples axis; got a scalar")
    if a.dtype.kind == "c":
        raise TypeError("activations are complex; measures need real values: pass np.abs(a), a.real, or "
                        "np.concatenate([a.real, a.imag], axis=-1) to keep both parts")
    if a.dtype.kind not in "biuf":
        raise TypeError(f"activations must hold real numbers; got dtype {a.dtype}")
    a = np.asarray(reduce_rows(a, reduce))
    return np.ascontiguousarray(a, dtype=np.float64)


def _run_job(step, layer, raw, reduce, measures, y, x_in):
    """One job: the measures of one (step, layer) that share a spectrum (or a single measure).

    Returns ``(rows, warnings)``: the warnings raised by the estimators, as ``(category name,
    message)`` pairs, so that they reach the caller from worker processes too.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = _measure_layer(step, layer, raw, reduce, measures, y, x_in)
    seen = []
    for w in caught:
        item = (w.category.__name__, str(w.message))
        if item not in seen:
            seen.append(item)
    return rows, seen


def _measure_layer(step, layer, raw, reduce, measures, y, x_in):
    """Reduce one saved array, feed the streaming measures its raw values, and :func:`evaluate`."""
    z, states, errors = None, {}, {}
    try:
        z = reduce_array(raw, reduce)
    except Exception as e:  # noqa: BLE001 - recorded as error rows
        errors[None] = e
    for m in measures:
        if m.streaming and None not in errors:
            import torch

            try:
                states[m.name] = m.update(m.init(), torch.as_tensor(np.asarray(raw)))
            except Exception as e:  # noqa: BLE001 - recorded as an error row
                errors[m.name] = e
    return evaluate(measures, z, step=step, layer=layer, labels=y, inputs=x_in, states=states, errors=errors)


def _as_checkpoints(activations, step):
    """``{step: {layer: array}}`` from a mapping of layers or a mapping of steps to mappings."""
    if not isinstance(activations, Mapping):
        raise TypeError(
            f"activations must be a mapping layer -> array (see load_activations) or step -> mapping; "
            f"got {type(activations).__name__}"
        )
    if len(activations) == 0:
        raise ValueError("activations is empty: pass at least one layer")
    nested = [isinstance(v, Mapping) for v in activations.values()]
    if all(nested):
        return {k: v for k, v in activations.items()}
    if any(nested):
        raise ValueError("activations mixes layers and checkpoints: pass {layer: array} or {step: {layer: array}}")
    return {step: activations}


def _progress(progress, total):
    if callable(progress):
        return progress
    if not progress:
        return lambda done, total: None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        bar = tqdm(total=total, desc="analyze", unit="job", file=sys.stderr)

        def update(done, total):
            bar.n = done
            bar.refresh()
            if done == total:
                bar.close()

        return update

    def update(done, total):
        sys.stderr.write(f"\ranalyze: {done}/{total} jobs")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return update


def analyze(
    activations,
    measures=None,
    *,
    labels=None,
    inputs=None,
    reduce="mean",
    step=None,
    executor=None,
    progress=False,
) -> list[dict]:
    """Every measure for every layer (and checkpoint) of saved activations, as a long table.

    Parameters
    ----------
    activations : Mapping
        ``{layer: array of shape (n_samples, ...)}`` (e.g. from :func:`load_activations`), or
        ``{step: {layer: array}}`` for several checkpoints. Arrays with more than two axes are
        reduced with ``reduce``; torch tensors are accepted.
    measures : list, optional
        Names from :data:`infomeasure.measures.MEASURES`, ``(name, params)`` pairs or measure
        objects. Default: :data:`DEFAULT_MEASURES`, plus ``mi_labels`` (kNN MI,
        ``estimators.mi_ross``) when ``labels`` are given; a default measure that a layer's shape
        cannot give (:meth:`~infomeasure.measures.Measure.unfit`: ``alpha_req`` fits eigenvalue
        ranks 11-100, so it needs ``min(n - 1, d) >= 13``) is left out on that layer, with no
        error row. Measures asked for by name always run (or give error rows).
    labels : array-like of shape (n_samples,), optional
        Class labels for label measures (``mi_labels``, ``dsmi``); row ``i`` belongs to sample ``i``
        of every layer.
    inputs : array-like of shape (n_samples, ...), optional
        The network inputs: adds ``mi_inputs``, the KSG estimate of I(X; T) (``estimators.mi_ksg``;
        inputs are flattened). kNN MI in many dimensions is biased low; read it as a trend.
    reduce : {"mean", "last", "flatten"} or callable
        How arrays with more than two axes become ``(n_samples, n_features)``.
    step : int, optional
        The ``step`` column for a single checkpoint (``None`` by default).
    executor : concurrent.futures.Executor, optional
        Runs the jobs (``executor.submit``), e.g. a ``ProcessPoolExecutor`` (create it with
        ``mp_context=multiprocessing.get_context("spawn")``: a forked child of a process that
        already runs OpenMP threads, as numba and torch do, can abort) or a Dask ``distributed``
        client's ``get_executor()``. Spectral measures of one (step, layer) with
        the same preparation form one job and share one eigendecomposition; every other measure is
        its own job. Default: sequential, in this process.
    progress : bool or callable
        ``True`` shows a progress bar on stderr (tqdm if installed); a callable receives
        ``(done, total)`` after each job.

    Returns
    -------
    list of dict
        Rows with the keys of :data:`infomeasure.sinks.COLUMNS`, ordered by step, layer, measure.
        A measure that fails (or returns a non-finite value) gives an error row: ``value`` None
        and ``"ExcType: message"`` in ``error``. The list's ``to_pandas()`` gives a
        ``pandas.DataFrame`` (it needs pandas: ``pip install pandas``).

    Raises
    ------
    ValueError
        Empty activations, an unknown measure, or labels/inputs whose length differs from a
        layer's number of samples (a mismatched file).
    """
    checkpoints = _as_checkpoints(activations, step)
    y, x_in = _as_labels(labels), _as_inputs(inputs)
    ms = _measures_for(measures, y, x_in)
    jobs = _plan_jobs(checkpoints, ms, reduce, y, x_in, defaults=measures is None)
    results = _run_jobs(jobs, executor, _progress(progress, len(jobs)))
    # estimator warnings, once each, naming the layer and measures they came from; the same warning
    # at later checkpoints (numbers aside) is counted, not repeated
    from ._warn_once import _key

    seen: dict = {}
    for job, (_, caught) in zip(jobs, results):
        where = f"layer {job[1]!r}" + (f" at step {job[0]}" if job[0] is not None else "")
        names = "/".join(m.name for m in job[4])
        for category, message in caught:
            key = (job[1], names, category, _key(message))
            if key in seen:
                seen[key] += 1
                continue
            seen[key] = 0
            cat = getattr(builtins, category, None)
            cat = cat if isinstance(cat, type) and issubclass(cat, Warning) else UserWarning
            warnings.warn(f"{where}, {names}: {message}", cat, stacklevel=2)
    repeats = sum(seen.values())
    if repeats:
        warnings.warn(f"{repeats} repeat(s) of these warnings at later checkpoints of the same layer and measures "
                      "were not shown", UserWarning, stacklevel=2)
    return ResultRows(_in_order(jobs, [rows for rows, _ in results], ms))


def _as_labels(labels):
    if labels is None:
        return None
    y = np.asarray(labels.numpy() if hasattr(labels, "numpy") else labels)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"labels must be one-dimensional (one label per sample); got shape {y.shape}")
    return y


def _as_inputs(inputs):
    if inputs is None:
        return None
    x_in = np.asarray(inputs.numpy() if hasattr(inputs, "numpy") else inputs, dtype=np.float64)
    return x_in.reshape(x_in.shape[0], -1) if x_in.ndim > 1 else x_in[:, None]


def _measures_for(measures, y, x_in):
    """The measure objects: the defaults (plus ``mi_labels`` with labels, ``mi_inputs`` with inputs)."""
    if measures is None:
        measures = list(DEFAULT_MEASURES) + (["mi_labels"] if y is not None else [])
    elif isinstance(measures, str):
        measures = [m.strip() for m in measures.split(",") if m.strip()]
    ms = [get_measure(m) for m in measures]
    if x_in is not None and not any(m.needs_inputs for m in ms):
        ms.append(InputsMI())
    needs_y = [m.name for m in ms if m.needs_labels]
    if needs_y and y is None:
        raise ValueError(f"measures {needs_y} need labels: pass labels=...")
    needs_x = [m.name for m in ms if m.needs_inputs]
    if needs_x and x_in is None:
        raise ValueError(f"measures {needs_x} need the network inputs: pass inputs=...")
    return ms


def _reduced_shape(shape, reduce):
    """``(n_samples, n_features)`` that :func:`reduce_array` makes of an array of ``shape`` (None: unknown)."""
    shape = tuple(int(s) for s in shape)
    if callable(reduce) or not shape:
        return None
    if len(shape) == 1:
        return shape[0], 1
    if len(shape) == 2:
        return shape
    if reduce == "flatten":
        return shape[0], int(np.prod(shape[1:]))
    if reduce == "last" and len(shape) == 3:
        return shape[0], shape[2]
    if reduce == "mean":
        return shape[0], shape[2] if len(shape) == 3 else shape[1]
    return None


def _plan_jobs(checkpoints, ms, reduce, y, x_in, defaults=False):
    """One job per (step, layer) and group of measures, after checking sample counts against labels/inputs.

    Spectral measures with the same preparation form one group (one eigendecomposition); every
    other measure is its own group. A job carries labels and inputs only when its measures use them.
    With ``defaults`` (the default measure set), measures that a layer's shape cannot give are left out there.
    """
    groups: dict = {}
    for m in ms:
        key = ("spectral", m.prep) if isinstance(m, SpectralMeasure) else ("single", id(m))
        groups.setdefault(key, []).append(m)
    jobs = []
    for st, layers in checkpoints.items():
        for layer, arr in layers.items():
            if hasattr(arr, "detach"):
                arr = to_numpy(arr, f"layer {layer!r}")
            n = int(np.shape(arr)[0]) if np.ndim(arr) else 0
            for what, ref in (("labels", y), ("inputs", x_in)):
                if ref is not None and len(ref) != n:
                    raise ValueError(
                        f"{what} has {len(ref)} rows but layer {layer!r}"
                        + (f" at step {st}" if st is not None else "")
                        + f" has {n} samples; they must match sample for sample"
                    )
            shape = _reduced_shape(np.shape(arr), reduce) if defaults else None
            for group in groups.values():
                if shape is not None:
                    group = [m for m in group if m.unfit(*shape) is None]
                    if not group:
                        continue
                gy = y if any(m.needs_labels for m in group) else None
                gx = x_in if any(m.needs_inputs for m in group) else None
                jobs.append((st, layer, arr, reduce, group, gy, gx))
    return jobs


def _run_jobs(jobs, executor, report):
    """Each job's ``(rows, warnings)``, in job order, run here or on ``executor``."""
    results = [None] * len(jobs)
    if executor is None:
        for i, job in enumerate(jobs):
            results[i] = _run_job(*job)
            report(i + 1, len(jobs))
        return results
    from concurrent.futures import as_completed

    futures = {executor.submit(_run_job, *job): i for i, job in enumerate(jobs)}
    for done, fut in enumerate(as_completed(futures), 1):
        results[futures[fut]] = fut.result()
        report(done, len(jobs))
    return results


def _in_order(jobs, results, ms):
    """The rows in (step, layer, measure order) order, whatever order the jobs finished in."""
    order = {m.name: i for i, m in enumerate(ms)}
    first_job: dict = {}
    for i, job in enumerate(jobs):
        first_job.setdefault((job[0], job[1]), i)

    def key(item):
        i, j, row = item
        return first_job[(jobs[i][0], jobs[i][1])], order.get(row["measure"].split("[")[0], 0), i, j

    flat = [(i, j, row) for i, rows in enumerate(results) for j, row in enumerate(rows)]
    return [row for *_, row in sorted(flat, key=key)]


def analyze_series(series, *, order=3, delay=1, weighted=False, step=None) -> list[dict]:
    """Normalised permutation entropy and statistical complexity of time series, as a long table.

    The rows (``layer`` is the series name; ``measure`` is ``permutation_entropy`` or
    ``statistical_complexity``; both unitless in [0, 1]; the ``order`` and ``delay`` keys record the
    embedding) feed :func:`infomeasure.report.report`, which draws them on the complexity--entropy
    plane, and :func:`infomeasure.plotting.plot_complexity_entropy_plane`.

    Parameters
    ----------
    series : array-like or Mapping
        One series ``(n_times,)``, several ``(n_series, n_times)`` (named ``series0``, ...), or a
        mapping ``name -> series``.
    order, delay, weighted
        As in :func:`estimators.ordinal.statistical_complexity`.
    step : int, optional
        The ``step`` column (``None`` by default).

    Returns
    -------
    list of dict
        Two rows per series; the list's ``to_pandas()`` gives a ``pandas.DataFrame``.

    Examples
    --------
    >>> import numpy as np
    >>> from infomeasure.analysis import analyze_series
    >>> t = np.arange(2000)
    >>> rows = analyze_series({"ramp": t * 1.0, "noise": np.random.default_rng(0).random(2000)})
    >>> [(r["layer"], r["measure"], round(r["value"], 2)) for r in rows]
    [('ramp', 'permutation_entropy', 0.0), ('ramp', 'statistical_complexity', 0.0), ('noise', 'permutation_entropy', 1.0), ('noise', 'statistical_complexity', 0.0)]
    """
    from estimators.ordinal import statistical_complexity

    if isinstance(series, Mapping):
        items = list(series.items())
        if not items:
            raise ValueError("series is empty: pass at least one time series")
    else:
        a = np.asarray(series.numpy() if hasattr(series, "numpy") else series)
        if a.ndim == 1:
            items = [("series", a)]
        elif a.ndim == 2:
            items = [(f"series{i}", row) for i, row in enumerate(a)]
        else:
            raise ValueError(f"series must be (n_times,) or (n_series, n_times), or a mapping; got shape {a.shape}")
    rows = []
    for name, x in items:
        h, c = statistical_complexity(x, order, delay, weighted=weighted)
        n = int(np.shape(x)[0])
        for measure, v in (("permutation_entropy", h), ("statistical_complexity", c)):
            rows.append({"step": step, "layer": str(name), "measure": measure,
                         "method": "weighted_" + measure if weighted else measure, "value": float(v),
                         "n_samples": n, "n_features": 1, "units": "unitless", "error": None,
                         "order": int(order), "delay": int(delay)})
    return ResultRows(rows)
