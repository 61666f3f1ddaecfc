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
    "plot_depth_profile",
    "plot_eigenspectrum",
    "plot_information_plane",
    "plot_measure_over_steps",
]


def _pyplot():
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not _interactive():
        matplotlib.use("Agg")  # headless by default; an open pyplot session keeps its backend
    import matplotlib.pyplot as plt

    return plt


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


def _steps(vals):
    return sorted({s for s, _ in vals}, key=lambda s: (s is None, s if s is not None else 0))


def plot_measure_over_steps(rows, measure, ax=None, *, layers=None):
    """One measure against the training step, one line per layer.

    Parameters
    ----------
    rows : list of dict
        The long table (``step``, ``layer``, ``measure``, ``value``).
    measure : str
        The measure name (``"rankme"``, ``"attention_entropy[0]"``, ...).
    ax : matplotlib Axes, optional
    layers : list of str, optional
        The layers to draw (all by default).

    >>> from infomeasure.plotting import plot_measure_over_steps
    >>> rows = [{"step": s, "layer": "fc", "measure": "rankme", "value": 10.0 - s} for s in range(3)]
    >>> fig, ax = plot_measure_over_steps(rows, "rankme")
    >>> ax.lines[0].get_xdata().tolist(), ax.lines[0].get_ydata().tolist()
    ([0, 1, 2], [10.0, 9.0, 8.0])
    """
    fig, ax = _fig_ax(ax)
    vals = _values(rows, measure)
    steps = [s for s in _steps(vals) if s is not None]
    for layer in layers or layer_order(rows):
        xs = [s for s in steps if (s, layer) in vals]
        if xs:
            ax.plot(xs, [vals[(s, layer)] for s in xs], marker="o", markersize=3, label=str(layer))
    ax.set_xlabel("step")
    units = _units(rows, measure)
    ax.set_ylabel(f"{measure}" + (f" ({units})" if units and units != "unitless" else ""))
    ax.set_title(f"{measure} over training")
    if ax.lines:
        ax.legend(fontsize="small", loc="best")
    return fig, ax


def plot_depth_profile(rows, measure, ax=None, *, steps=None):
    """One measure against layer depth (layers in table order), one line per step.

    ``steps`` chooses the checkpoints; by default the first, middle and last (or the only one).
    """
    fig, ax = _fig_ax(ax)
    vals = _values(rows, measure)
    layers = [la for la in layer_order(rows) if any(k[1] == la for k in vals)]
    all_steps = _steps(vals)
    if steps is None:
        steps = all_steps if len(all_steps) <= 3 else [all_steps[0], all_steps[len(all_steps) // 2], all_steps[-1]]
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    for i, s in enumerate(steps):
        xs = [j for j, la in enumerate(layers) if (s, la) in vals]
        if not xs:
            continue
        color = cmap(i / max(len(steps) - 1, 1)) if len(steps) > 1 else None
        ax.plot(xs, [vals[(s, layers[j])] for j in xs], marker="o", color=color,
                label=f"step {s}" if s is not None else None)
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels([str(la) for la in layers], rotation=30, ha="right", fontsize="small")
    units = _units(rows, measure)
    ax.set_ylabel(f"{measure}" + (f" ({units})" if units and units != "unitless" else ""))
    ax.set_title(f"{measure} by layer")
    if any(s is not None for s in steps) and ax.lines:
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


def plot_information_plane(rows, ax=None, *, x="mi_inputs", y="mi_labels"):
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
