"""Figures of result tables and spectra; each function is ``(data, ax=None, ...) -> (fig, ax)``.

``data`` is the long table of ``Probes.results``, :func:`infomeasure.run_dir.read_metrics` or
:func:`infomeasure.analysis.analyze` (a list of dict rows), or for :func:`plot_eigenspectrum` an
activation matrix, a spectrum or a mapping of them. matplotlib is imported only when a function
is called (with the non-interactive Agg backend when no figure is open yet).

>>> from infomeasure.plotting import plot_depth_profile
>>> rows = [{"step": None, "layer": f"l{i}", "measure": "rankme", "value": v} for i, v in enumerate([8.0, 5.0, 2.0])]
>>> fig, ax = plot_depth_profile(rows, "rankme")
>>> ax.lines[0].get_ydata().tolist()
[8.0, 5.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = [
    "layer_order",
    "plot_complexity_entropy_plane",
    "plot_depth_profile",
    "plot_eigenspectrum",
    "plot_information_plane",
    "plot_measure_over_steps",
    "plot_runs_over_steps",
    "run_order",
]

# The two planes are drawn from particular measures, named here once (the report asks for the same
# ones): measure metadata does not single them out (dsmi is a label MI too; the ordinal-pattern
# measures of analyze_series carry no quantity).
#: I(X;T) and I(T;Y) of the information plane: the kNN estimates of analyze and Probes.
PLANE_MEASURES = ("mi_inputs", "mi_labels")
#: Normalised permutation entropy H and statistical complexity C (rows of analyze_series).
ORDINAL_MEASURES = ("permutation_entropy", "statistical_complexity")


def _pyplot():
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not _interactive():
        matplotlib.use("Agg")  # headless by default; an open pyplot session keeps its backend
    import matplotlib.pyplot as plt

    return plt


def literal_text(func):
    """Draw the figure with ``text.parse_math`` off: layer and measure names are user text, and a
    ``$`` in them must show as ``$``, not start mathtext (``$x^{$`` would abort the drawing)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return func(*args, **kwargs)

    return wrapper


def _interactive() -> bool:
    import sys
    return "ipykernel" in sys.modules or hasattr(sys, "ps1")


def _fig_ax(ax, figsize=(6.0, 3.6)):
    if ax is not None:
        return ax.figure, ax
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def layer_order(rows) -> list:
    """Layers in order of first appearance (the model's order in probe and analysis tables)."""
    seen = {}
    for r in rows:
        seen.setdefault(r.get("layer"), None)
    return list(seen)


def run_order(rows) -> list:
    """Runs (the ``run`` key of comparison tables) in order of first appearance; ``[None]`` if absent."""
    seen = {}
    for r in rows:
        seen.setdefault(r.get("run"), None)
    return list(seen)


def _set_step_scale(ax, steps):
    """A symmetric-log step axis when the steps span more than two decades (log-spaced probing)."""
    pos = [s for s in steps if s is not None and s > 0]
    if len(pos) >= 2 and max(pos) / min(pos) > 100:
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(left=0)


def _values(rows, measure):
    """``{(step, layer): value}`` of one measure, skipping error rows."""
    out = {}
    for r in rows:
        if r.get("measure") == measure and r.get("value") is not None and np.isfinite(r["value"]):
            out[(r.get("step"), r.get("layer"))] = float(r["value"])
    return out


def _units(rows, measure):
    for r in rows:
        if r.get("measure") == measure and r.get("units"):
            return r["units"]
    return ""


def _value_label(rows, measure, name=None):
    """The value axis label: ``name`` (default the measure) and the units its rows were recorded in."""
    units = _units(rows, measure)
    return f"{measure if name is None else name}" + (f" ({units})" if units and units != "unitless" else "")


def _bounds(rows, measure, layers, n_classes=None) -> dict:
    """``{layer: largest possible value}`` of ``measure`` where its metadata know one.

    From :meth:`infomeasure.measures.Measure.maximum` at the layer's ``n_samples`` and
    ``n_features`` (its last row with a value): ``ln d`` for spectral entropies, ``d`` for ranks;
    with ``n_classes``, ``ln C`` for label mutual information (``SampleMeasure.label_maximum``).
    """
    from .measures import measure_for_row

    last = {}
    for r in rows:
        if r.get("measure") == measure and r.get("layer") in layers and r.get("value") is not None:
            last[r.get("layer")] = r
    out = {}
    for layer, r in last.items():
        m = measure_for_row(r)
        try:
            bound = None if m is None else m.maximum(r.get("n_samples"), r.get("n_features"))
            if bound is None and n_classes and hasattr(m, "label_maximum"):
                bound = m.label_maximum(n_classes)
        except (TypeError, ValueError):
            bound = None
        if bound is not None and np.isfinite(bound):
            out[layer] = float(bound)
    return out


def _reference_lines(ax, bounds, colors, max_lines=4):
    """Dashed horizontal lines at the bounds, one per distinct value (labelled; at most ``max_lines``)."""
    by_value: dict = {}  # rounded value -> (value, layers): equal bounds share one line
    for layer, v in bounds.items():
        by_value.setdefault(round(v, 9), (v, []))[1].append(layer)
    if not by_value or len(by_value) > max_lines:
        return
    for v, layers in by_value.values():
        color = colors.get(layers[0]) if len(layers) == 1 and len(bounds) > 1 else "0.45"
        which = f" ({', '.join(str(la) for la in layers)})" if len(by_value) > 1 else ""
        ax.axhline(v, linestyle="--", linewidth=0.9, color=color, alpha=0.8, zorder=0, label=f"maximum {v:.3g}{which}")


def _steps(vals):
    return sorted({s for s, _ in vals}, key=lambda s: (s is None, s if s is not None else 0))


@literal_text
def plot_measure_over_steps(rows, measure, ax=None, *, layers=None, reference=True, n_classes=None):
    """One measure against the training step, one line per layer.

    With ``reference`` (the default), a measure with a known largest value
    (:meth:`infomeasure.measures.Measure.maximum`: ``ln d`` for spectral entropies, ``d`` for
    ranks of ``d`` features) gets a dashed line there, labelled, one per distinct value (the
    lines come after the layers' lines in ``ax.lines``).

    Parameters
    ----------
    rows : list of dict
        The long table (``step``, ``layer``, ``measure``, ``value``).
    measure : str
        The measure name (``"rankme"``, ``"attention_entropy[0]"``, ...).
    ax : matplotlib Axes, optional
    layers : list of str, optional
        The layers to draw (all by default).
    reference : bool, default True
        Draw the measure's largest possible value as a dashed line.
    n_classes : int, optional
        The number of label classes C: label mutual information (``mi_labels``) then gets its
        bound ``ln C`` as the reference line.

    >>> from infomeasure.plotting import plot_measure_over_steps
    >>> rows = [{"step": s, "layer": "fc", "measure": "rankme", "method": "rankme", "value": 10.0 - s,
    ...          "n_samples": 100, "n_features": 16} for s in range(3)]
    >>> fig, ax = plot_measure_over_steps(rows, "rankme")
    >>> ax.lines[0].get_xdata().tolist(), ax.lines[0].get_ydata().tolist()
    ([0, 1, 2], [10.0, 9.0, 8.0])
    >>> ax.lines[1].get_label(), [float(v) for v in ax.lines[1].get_ydata()]
    ('maximum 16', [16.0, 16.0])
    """
    fig, ax = _fig_ax(ax)
    vals = _values(rows, measure)
    steps = [s for s in _steps(vals) if s is not None]
    colors, drawn = {}, []
    for layer in layers or layer_order(rows):
        xs = [s for s in steps if (s, layer) in vals]
        if xs:
            (line,) = ax.plot(xs, [vals[(s, layer)] for s in xs], marker="o", markersize=3, label=str(layer))
            colors[layer] = line.get_color()
            drawn.append(layer)
    if reference and drawn:
        _reference_lines(ax, _bounds(rows, measure, drawn, n_classes), colors)
    _set_step_scale(ax, steps)
    ax.set_xlabel("step")
    ax.set_ylabel(_value_label(rows, measure))
    ax.set_title(f"{measure} over training")
    if ax.lines:
        ax.legend(fontsize="small", loc="best")
    return fig, ax


@literal_text
def plot_depth_profile(rows, measure, ax=None, *, steps=None, reference=True, n_classes=None):
    """One measure against layer depth (layers in table order), one line per step.

    ``steps`` chooses the checkpoints; by default the first, middle and last (or the only one).
    A comparison table (rows with several values of ``run``) draws one line per run instead, at
    each run's last step (or at ``steps[0]`` when given). With ``reference``, the measure's
    largest possible value on each layer (``ln d``, ``d``; see
    :meth:`infomeasure.measures.Measure.maximum`; ``ln C`` for label mutual information with
    ``n_classes`` given) is drawn as a dashed line labelled "maximum", after the other lines.

    >>> from infomeasure.plotting import plot_depth_profile
    >>> rows = [{"run": run, "step": s, "layer": la, "measure": "rankme", "value": v + s}
    ...         for run, v in (("a", 1.0), ("b", 5.0)) for s in (0, 9) for la in ("l1", "l2")]
    >>> fig, ax = plot_depth_profile(rows, "rankme")
    >>> [(line.get_label(), line.get_ydata().tolist()) for line in ax.lines]
    [('a (step 9)', [10.0, 10.0]), ('b (step 9)', [14.0, 14.0])]
    """
    fig, ax = _fig_ax(ax)
    runs = run_order(rows)
    by_run = len(runs) > 1
    layers = [la for la in layer_order(rows) if any(
        r.get("layer") == la and r.get("measure") == measure and r.get("value") is not None for r in rows)]
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    lines = []  # (label, {layer: value}, colour)
    if by_run:
        for run in runs:
            vals = _values([r for r in rows if r.get("run") == run], measure)
            run_steps = _steps(vals)
            if not run_steps:
                continue
            s = steps[0] if steps else run_steps[-1]
            lines.append((f"{run} (step {s})" if s is not None else str(run),
                          {la: v for (st, la), v in vals.items() if st == s}, None))
    else:
        vals = _values(rows, measure)
        all_steps = _steps(vals)
        if steps is None:
            steps = all_steps if len(all_steps) <= 3 else [all_steps[0], all_steps[len(all_steps) // 2], all_steps[-1]]
        for i, s in enumerate(steps):
            color = cmap(i / max(len(steps) - 1, 1)) if len(steps) > 1 else None
            lines.append((f"step {s}" if s is not None else None,
                          {la: v for (st, la), v in vals.items() if st == s}, color))
    for label, by_layer, color in lines:
        xs = [j for j, la in enumerate(layers) if la in by_layer]
        if xs:
            ax.plot(xs, [by_layer[layers[j]] for j in xs], marker="o", color=color, label=label)
    bounds = _bounds(rows, measure, layers, n_classes) if reference and ax.lines else {}
    if bounds:
        xs = [j for j, la in enumerate(layers) if la in bounds]
        ax.plot(xs, [bounds[layers[j]] for j in xs], linestyle="--", linewidth=0.9, color="0.45",
                marker="_", zorder=0, label="maximum")
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels([str(la) for la in layers], rotation=30, ha="right", fontsize="small")
    ax.set_ylabel(_value_label(rows, measure))
    ax.set_title(f"{measure} by layer")
    if (bounds or any(label is not None for label, _, _ in lines)) and ax.lines:
        ax.legend(fontsize="small", loc="best")
    return fig, ax


def _eigenvalues(x) -> np.ndarray:
    if hasattr(x, "eigenvalues"):
        return np.asarray(x.eigenvalues, dtype=np.float64)
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        return np.sort(a)[::-1]
    from estimators.spectral import gram_spectrum

    from .analysis import reduce_array

    return gram_spectrum(reduce_array(a), center=True).eigenvalues


@literal_text
def plot_eigenspectrum(data, ax=None):
    """Normalised eigenvalues (share of variance, λ_i / Σλ) against rank, log-log.

    ``data``: an activation matrix ``(n_samples, n_features)`` (centred covariance spectrum via
    :func:`estimators.spectral.gram_spectrum`), a ``GramSpectrum``, a 1-D array of eigenvalues, or a
    mapping ``name -> any of these`` (one line each). A power-law decay appears as a straight line
    (its slope is ``-alpha_req``); a sharp drop after a few ranks is a collapsed representation.

    >>> import numpy as np
    >>> from infomeasure.plotting import plot_eigenspectrum
    >>> fig, ax = plot_eigenspectrum(np.array([4.0, 2.0, 1.0, 1.0]))
    >>> ax.lines[0].get_ydata().tolist()
    [0.5, 0.25, 0.125, 0.125]
    """
    fig, ax = _fig_ax(ax)
    items = data.items() if isinstance(data, Mapping) else [(None, data)]
    for name, x in items:
        ev = _eigenvalues(x)
        ev = ev[ev > 0]
        if ev.size == 0:
            continue
        ax.plot(np.arange(1, ev.size + 1), ev / ev.sum(), label=None if name is None else str(name))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rank i")
    ax.set_ylabel("λ_i / Σλ")
    ax.set_title("eigenspectrum")
    if isinstance(data, Mapping) and ax.lines:
        ax.legend(fontsize="small", loc="best")
    return fig, ax


@literal_text
def plot_information_plane(rows, ax=None, *, x=PLANE_MEASURES[0], y=PLANE_MEASURES[1]):
    """The information plane: I(X;T) (``x`` measure) against I(T;Y) (``y`` measure), coloured by step.

    One marker per (layer, step), with a line joining the steps of each layer.

    >>> from infomeasure.plotting import plot_information_plane
    >>> rows = [{"step": 0, "layer": "fc", "measure": "mi_inputs", "value": 2.0},
    ...         {"step": 0, "layer": "fc", "measure": "mi_labels", "value": 0.5}]
    >>> fig, ax = plot_information_plane(rows)
    >>> ax.collections[0].get_offsets().tolist()
    [[2.0, 0.5]]
    """
    fig, ax = _fig_ax(ax)
    vx, vy = _values(rows, x), _values(rows, y)
    keys = [k for k in vx if k in vy]
    steps = [s for s in _steps(vx) if any(k[0] == s for k in keys)]
    step_num = {s: (i if s is None else s) for i, s in enumerate(steps)}
    for layer in layer_order(rows):
        ks = [(s, layer) for s in steps if (s, layer) in vx and (s, layer) in vy]
        if not ks:
            continue
        xs, ys = [vx[k] for k in ks], [vy[k] for k in ks]
        if len(ks) > 1:
            ax.plot(xs, ys, color="0.7", linewidth=0.8, zorder=1)
        sc = ax.scatter(xs, ys, c=[step_num[k[0]] for k in ks], cmap="viridis", s=18, zorder=2,
                        vmin=min(step_num.values()), vmax=max(step_num.values()))
        ax.annotate(str(layer), (xs[-1], ys[-1]), fontsize="x-small", xytext=(3, 3), textcoords="offset points")
    if keys and len(steps) > 1:
        fig.colorbar(sc, ax=ax, label="step")
    ax.set_xlabel(f"I(X;T)  [{x}]")
    ax.set_ylabel(f"I(T;Y)  [{y}]")
    ax.set_title("information plane")
    return fig, ax


def _run_values(rows, measure, layer):
    """``{run: ([steps], [values])}`` of one measure on one layer, steps ascending."""
    out = {}
    for r in rows:
        if r.get("measure") != measure or r.get("layer") != layer or r.get("step") is None:
            continue
        v = r.get("value")
        if v is None or not np.isfinite(v):
            continue
        out.setdefault(r.get("run"), {})[r["step"]] = float(v)
    return {run: (sorted(d), [d[s] for s in sorted(d)]) for run, d in out.items()}


@literal_text
def plot_runs_over_steps(rows, measures, ax=None, *, layer=None, runs=None, colors=None):
    """Several runs on the same axes: measures against the training step on one layer.

    Colour tells the run apart, line style the measure (solid, dashed, dotted, ...), so one axes
    can hold e.g. train and held-out accuracy of a true-label and a shuffled-label run.

    Parameters
    ----------
    rows : list of dict
        A long table with a ``run`` key (rows without one form a single unnamed run).
    measures : str or list of str
        The measure(s) to draw.
    ax : matplotlib Axes, optional
    layer : str, optional
        The layer (default: the first layer that has the first measure).
    runs : list, optional
        The runs to draw, in legend order (default: all, in table order).
    colors : dict, optional
        ``run -> colour``.

    >>> from infomeasure.plotting import plot_runs_over_steps
    >>> rows = [{"run": run, "step": s, "layer": "fc", "measure": "dsmi", "value": v * s}
    ...         for run, v in (("true", 1.0), ("shuffled", -0.5)) for s in (0, 1, 2)]
    >>> fig, ax = plot_runs_over_steps(rows, "dsmi")
    >>> [line.get_label() for line in ax.lines], ax.lines[1].get_ydata().tolist()
    (['true', 'shuffled'], [-0.0, -0.5, -1.0])
    """
    fig, ax = _fig_ax(ax)
    measures = [measures] if isinstance(measures, str) else list(measures)
    if layer is None:
        layer = next((r.get("layer") for r in rows if r.get("measure") == measures[0]), None)
    runs = list(runs) if runs is not None else run_order(rows)
    styles = ["-", "--", ":", "-."]
    cycle = [c["color"] for c in _pyplot().rcParams["axes.prop_cycle"]]
    all_steps = []
    for i, run in enumerate(runs):
        color = (colors or {}).get(run, cycle[i % len(cycle)])
        for j, m in enumerate(measures):
            data = _run_values(rows, m, layer).get(run)
            if not data or not data[0]:
                continue
            xs, ys = data
            all_steps += xs
            label = " ".join(str(t) for t in ((run if run is not None else None),
                                              (m if len(measures) > 1 else None)) if t is not None)
            ax.plot(xs, ys, styles[j % len(styles)], color=color, marker="o", markersize=2.5,
                    label=label or str(m))
    _set_step_scale(ax, all_steps)
    ax.set_xlabel("step")
    name = measures[0] if len(measures) == 1 else ", ".join(measures)
    ax.set_ylabel(_value_label(rows, measures[0], name))
    ax.set_title(f"{name} on {layer}" if layer is not None else name, fontsize="medium")
    if ax.lines:
        ax.legend(fontsize="small", loc="best")
    return fig, ax


@literal_text
def plot_complexity_entropy_plane(data, ax=None, *, order=None, labels=None):
    """The complexity--entropy plane: statistical complexity C against normalised entropy H.

    ``data``: a result table holding ``permutation_entropy`` (normalised) and
    ``statistical_complexity`` rows per series (``layer``) and step, or a mapping
    ``name -> (H, C)``. With ``order`` (the embedding dimension of the ordinal patterns) the
    minimum and maximum complexity curves of :func:`estimators.timeseries.complexity_entropy_bounds`
    frame the plane: regular series sit at low H, chaotic ones high on the upper curve, noise at
    H near 1 and C near 0.

    >>> from infomeasure.plotting import plot_complexity_entropy_plane
    >>> fig, ax = plot_complexity_entropy_plane({"noise": (0.99, 0.01), "sine": (0.4, 0.2)}, order=3)
    >>> ax.collections[0].get_offsets().tolist()
    [[0.99, 0.01], [0.4, 0.2]]
    """
    fig, ax = _fig_ax(ax, figsize=(5.2, 4.0))
    if isinstance(data, Mapping):
        names = list(data)
        points = [tuple(map(float, data[k])) for k in names]
    else:
        h_name, c_name = ORDINAL_MEASURES
        vh, vc = _values(data, h_name), _values(data, c_name)
        keys = [k for k in vh if k in vc]
        last = {}
        for s, layer in keys:  # the last step of each series
            if layer not in last or (s is not None and (last[layer] is None or s > last[layer])):
                last[layer] = s
        names = [la for la in layer_order(data) if la in last]
        points = [(vh[(last[la], la)], vc[(last[la], la)]) for la in names]
        if order is None:
            order = next((r["order"] for r in data if r.get("measure") == h_name and r.get("order")), None)
    if order is not None:
        from estimators.timeseries import complexity_entropy_bounds

        b = complexity_entropy_bounds(order)
        ax.plot(b.min_entropy, b.min_complexity, color="0.6", linewidth=0.8)
        ax.plot(b.max_entropy, b.max_complexity, color="0.6", linewidth=0.8)
    if points:
        xs, ys = zip(*points)
        ax.scatter(xs, ys, s=22, zorder=3, color="C3")
        for name, (h, c) in zip(labels or names, points):
            ax.annotate(str(name), (h, c), fontsize="x-small", xytext=(3, 3), textcoords="offset points")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("normalised permutation entropy H")
    ax.set_ylabel("statistical complexity C")
    ax.set_title("complexity-entropy plane" + (f" (order {order})" if order else ""))
    return fig, ax
