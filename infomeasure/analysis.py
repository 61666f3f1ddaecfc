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
import math
import sys
import warnings
from collections.abc import Mapping

import numpy as np

from estimators._validation import _unmasked

from .measures import Measure, SpectralMeasure, get_measure
from .sinks import COLUMNS

__all__ = ["DEFAULT_MEASURES", "analyze", "analyze_series", "reduce_array"]

#: Measures computed when ``measures`` is not given (label measures are added when labels are).
DEFAULT_MEASURES = ("rankme", "effective_rank", "von_neumann_entropy", "alpha_req")


def reduce_array(a, reduce="mean") -> np.ndarray:
    """A ``(samples, features)`` float64 array from saved activations of shape ``(samples, ...)``.

    The same convention as :func:`infomeasure.probes.reduce_output`: ``"mean"`` averages conv maps
    ``(n, C, H, W)`` over space and sequences ``(n, T, D)`` over tokens; ``"last"`` takes the last
    token; ``"flatten"`` keeps every value.

    >>> from infomeasure.analysis import reduce_array
    >>> import numpy as np
    >>> reduce_array(np.ones((2, 3, 4, 5))).shape, reduce_array(np.ones((2, 7, 5)), "last").shape
    ((2, 3), (2, 5))
    """
    if isinstance(a, np.ma.MaskedArray):
        a = _unmasked(a, "activations")
    a = np.asarray(a)
    if a.ndim == 0:
        raise ValueError("activations must have a samples axis; got a scalar")
    if a.dtype.kind == "c":
        raise TypeError("activations are complex; measures need real values: pass np.abs(a), a.real, or "
                        "np.concatenate([a.real, a.imag], axis=-1) to keep both parts")
    if a.dtype.kind not in "biuf":
        raise TypeError(f"activations must hold real numbers; got dtype {a.dtype}")
    if callable(reduce):
        a = np.asarray(reduce(a))
    elif a.ndim == 1:
        a = a[:, None]
    elif a.ndim == 2:
        pass
    elif reduce == "flatten":
        a = a.reshape(a.shape[0], -1)
    elif reduce == "last":
        if a.ndim != 3:
            raise ValueError(f"reduce='last' needs (samples, tokens, features) activations; got shape {a.shape}")
        a = a[:, -1]
    elif reduce == "mean":
        a = a.mean(axis=1) if a.ndim == 3 else a.mean(axis=tuple(range(2, a.ndim)))
    else:
        raise ValueError(f"reduce must be 'mean', 'last', 'flatten' or a callable; got {reduce!r}")
    return np.ascontiguousarray(a, dtype=np.float64)


class _InputsMeasure(Measure):
    """I(X; T): kNN mutual information (``estimators.mi_ksg``) between the inputs and a layer."""

    name = "mi_inputs"
    method = "mi_ksg"
    higher_is_better = None
    needs_labels = True

    def compute(self, Z, y=None, spectrum=None) -> float:
        from estimators import mi_ksg

        return float(mi_ksg(y, Z, **self.params))


def _finite(v, name):
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{name} gave a non-finite value {v}")
    return v


def _run_job(step, layer, raw, reduce, measures, y):
    """One job: the measures of one (step, layer) that share a spectrum (or a single measure).

    Returns ``(rows, warnings)``: the warnings raised by the estimators, as ``(category name,
    message)`` pairs, so that they reach the caller from worker processes too.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = _run_measures(step, layer, raw, reduce, measures, y)
    seen = []
    for w in caught:
        item = (w.category.__name__, str(w.message))
        if item not in seen:
            seen.append(item)
    return rows, seen


def _run_measures(step, layer, raw, reduce, measures, y):
    rows = []
    z = None
    spectrum = None
    base = {c: None for c in COLUMNS}
    try:
        z = reduce_array(raw, reduce)
        n, d = z.shape
        prep_error = None
    except Exception as e:  # noqa: BLE001 - recorded as error rows
        n = d = 0
        prep_error = e
    for m in measures:
        row = dict(base, step=step, layer=layer, measure=m.name, method=m.method, n_samples=n, n_features=d, units=m.units)
        try:
            if prep_error is not None:
                raise prep_error
            if m.streaming:
                import torch

                values = m.finalize(m.update(m.init(), torch.as_tensor(np.asarray(raw))))
                for suffix, v in values.items():
                    rows.append(dict(row, measure=m.name + suffix, value=_finite(v, m.name)))
                continue
            if isinstance(m, SpectralMeasure):
                if spectrum is None:
                    spectrum = m.spectrum(z)
                v = m.compute(z, spectrum=spectrum)
            else:
                v = m.compute(z, y if m.needs_labels else None)
            row["value"] = _finite(v, m.name)
        except Exception as e:  # noqa: BLE001 - an error row, as in probes
            row["error"] = f"{type(e).__name__}: {e}".replace("\n", " ")
        rows.append(row)
    return rows


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
        ``estimators.mi_ross``) when ``labels`` are given.
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
        and ``"ExcType: message"`` in ``error``.

    Raises
    ------
    ValueError
        Empty activations, an unknown measure, or labels/inputs whose length differs from a
        layer's number of samples (a mismatched file).
    """
    checkpoints = _as_checkpoints(activations, step)
    y = None
    if labels is not None:
        y = np.asarray(labels.numpy() if hasattr(labels, "numpy") else labels)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"labels must be one-dimensional (one label per sample); got shape {y.shape}")
    x_in = None
    if inputs is not None:
        x_in = np.asarray(inputs.numpy() if hasattr(inputs, "numpy") else inputs, dtype=np.float64)
        x_in = x_in.reshape(x_in.shape[0], -1) if x_in.ndim > 1 else x_in[:, None]

    if measures is None:
        measures = list(DEFAULT_MEASURES) + (["mi_labels"] if y is not None else [])
    elif isinstance(measures, str):
        measures = [m.strip() for m in measures.split(",") if m.strip()]
    ms = [get_measure(m) for m in measures]
    if x_in is not None and not any(m.name == "mi_inputs" for m in ms):
        ms.append(_InputsMeasure())
    needs_y = [m for m in ms if m.needs_labels and not isinstance(m, _InputsMeasure)]
    if needs_y and y is None:
        raise ValueError(f"measures {[m.name for m in needs_y]} need labels: pass labels=...")

    # the jobs, after checking every layer's sample count against labels/inputs
    jobs = []
    for st, layers in checkpoints.items():
        for layer, arr in layers.items():
            if hasattr(arr, "detach"):
                from .activations import _tensor_to_numpy

                arr = _tensor_to_numpy(arr)
            n = int(np.shape(arr)[0]) if np.ndim(arr) else 0
            for what, ref in (("labels", y), ("inputs", x_in)):
                if ref is not None and len(ref) != n:
                    raise ValueError(
                        f"{what} has {len(ref)} rows but layer {layer!r}"
                        + (f" at step {st}" if st is not None else "")
                        + f" has {n} samples; they must match sample for sample"
                    )
            groups: dict = {}
            for m in ms:
                key = ("spectral", m.prep) if isinstance(m, SpectralMeasure) else ("single", id(m))
                groups.setdefault(key, []).append(m)
            for group in groups.values():
                target = x_in if isinstance(group[0], _InputsMeasure) else y
                jobs.append((st, layer, arr, reduce, group, target))

    report = _progress(progress, len(jobs))
    results = [None] * len(jobs)
    if executor is None:
        for i, job in enumerate(jobs):
            results[i] = _run_job(*job)
            report(i + 1, len(jobs))
    else:
        from concurrent.futures import as_completed

        futures = {executor.submit(_run_job, *job): i for i, job in enumerate(jobs)}
        for done, fut in enumerate(as_completed(futures), 1):
            results[futures[fut]] = fut.result()
            report(done, len(jobs))

    # estimator warnings, once each, naming the layer and measures they came from
    for i, job in enumerate(jobs):
        for category, message in results[i][1]:
            where = f"layer {job[1]!r}" + (f" at step {job[0]}" if job[0] is not None else "")
            cat = getattr(builtins, category, None)
            cat = cat if isinstance(cat, type) and issubclass(cat, Warning) else UserWarning
            warnings.warn(f"{where}, {'/'.join(m.name for m in job[4])}: {message}", cat, stacklevel=2)
    results = [r[0] for r in results]

    # rows in (step, layer, measure-order) order regardless of completion order
    order = {m.name: i for i, m in enumerate(ms)}
    rows = []
    for i, job in enumerate(jobs):
        rows.extend((i, order.get(r["measure"].split("[")[0], 0), j, r) for j, r in enumerate(results[i]))
    layer_jobs: dict = {}
    for i, job in enumerate(jobs):
        layer_jobs.setdefault((job[0], job[1]), i)
    rows.sort(key=lambda t: (layer_jobs[(jobs[t[0]][0], jobs[t[0]][1])], t[1], t[0], t[2]))
    return [r for *_, r in rows]


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
        As in :func:`estimators.timeseries.statistical_complexity`.
    step : int, optional
        The ``step`` column (``None`` by default).

    >>> import numpy as np
    >>> from infomeasure.analysis import analyze_series
    >>> t = np.arange(2000)
    >>> rows = analyze_series({"ramp": t * 1.0, "noise": np.random.default_rng(0).random(2000)})
    >>> [(r["layer"], r["measure"], round(r["value"], 2)) for r in rows]
    [('ramp', 'permutation_entropy', 0.0), ('ramp', 'statistical_complexity', 0.0), ('noise', 'permutation_entropy', 1.0), ('noise', 'statistical_complexity', 0.0)]
    """
    from estimators.timeseries import statistical_complexity

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
    return rows
