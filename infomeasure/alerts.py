"""Alerts: what in a result table (and in the activations) a researcher should look at first.

The checks read each row's measure metadata (:func:`infomeasure.measures.measure_for_row`: what
the value is, its range, whether a fall signals collapse), not its name, so a measure renamed
by the user, or a new one, is checked as what it is.
"""

from __future__ import annotations

import math

import numpy as np

from .measures import measure_for_row

__all__ = ["find_alerts"]


def _alert(level, kind, layer, measure, message) -> dict:
    return {"level": level, "kind": kind, "layer": layer, "measure": measure, "message": message}


def _finite_number(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def last_rows(rows):
    """The last row of every (layer, measure), and the step it belongs to."""
    last = {}
    for r in rows:
        key = (r.get("layer"), r.get("measure"))
        s = r.get("step")
        if key not in last or (s is not None and (last[key].get("step") is None or s >= last[key]["step"])):
            last[key] = r
    return last


def _failed(rows) -> list[dict]:
    failed = {}
    for r in rows:
        if r.get("error"):
            failed.setdefault((r.get("layer"), r.get("measure")), []).append(r)
    out = []
    for (layer, measure), rs in failed.items():
        where = f" at {len(rs)} step(s)" if any(r.get("step") is not None for r in rs) else ""
        out.append(_alert("error", "failed", layer, measure, f"{measure} failed on {layer}{where}: {rs[-1]['error']}"))
    return out


def _constant_layers(activations) -> list[dict]:
    from .analysis import reduce_array

    out = []
    for layer, arr in activations.items():
        try:
            z = reduce_array(arr)
        except Exception:  # noqa: BLE001, S112 - reported as failed rows by analyze
            continue
        if z.shape[0] > 1 and float(np.max(np.ptp(z, axis=0))) == 0.0:
            out.append(_alert("error", "constant", layer, None, f"layer {layer} is constant: every sample has the same activations"))
    return out


def _histories(rows) -> dict:
    """``(layer, measure) -> [(step, value), ...]`` of the finite values with a step."""
    history = {}
    for r in rows:
        v = r.get("value")
        if _finite_number(v) and r.get("step") is not None:
            history.setdefault((r.get("layer"), r.get("measure")), []).append((r["step"], float(v)))
    return history


def _value_alerts(r, info, v, peak, constant_layers) -> list[dict]:
    """The alerts of one (layer, measure)'s last value ``v`` (``peak``: its largest (step, value) so far)."""
    layer, m = r.get("layer"), str(r.get("measure"))
    n, d = r.get("n_samples") or 0, r.get("n_features") or 0
    if info is None:
        return []
    out = []
    if info.quantity == "effective_rank" and v == 0.0:
        if layer not in constant_layers:
            constant_layers.add(layer)
            out.append(_alert("error", "constant", layer, m, f"layer {layer} looks constant: {m} is 0"))
    elif info.quantity == "effective_rank":
        if v < 1.5 and min(n, d) >= 4:
            out.append(_alert("error", "rank_collapse", layer, m,
                              f"rank collapse on {layer}: {m} = {v:.3g} of at most {min(n, d)} dimensions"))
        elif peak is not None and v < 0.5 * peak[1]:
            out.append(_alert("warning", "rank_collapse", layer, m,
                              f"rank collapse on {layer}: {m} fell to {v:.3g} from its peak of {peak[1]:.3g} (step {peak[0]})"))
    elif info.quantity == "entropy" and info.collapse_signal:
        hmax = info.maximum(n, d)
        if hmax is not None and v < 0.1 * hmax:
            out.append(_alert("error", "entropy_collapse", layer, m,
                              f"entropy collapse on {layer}: {m} = {v:.3g} {r.get('units')}, below 10% of its maximum {hmax:.3g}"))
        elif peak is not None and peak[1] > 0 and v < 0.5 * peak[1]:
            out.append(_alert("warning", "entropy_collapse", layer, m,
                              f"entropy collapse on {layer}: {m} fell to {v:.3g} from its peak of {peak[1]:.3g} (step {peak[0]})"))
    if info.quantity == "mutual_information" and v < -1e-9:  # below round-off
        out.append(_alert("warning", "negative_mi", layer, m,
                          f"negative MI on {layer}: {m} = {v:.3g} {r.get('units') or ''}; the estimator is biased here (true MI >= 0)"))
    return out


def find_alerts(rows, activations=None) -> list[dict]:
    """Diagnostics of a result table (and of the activations, when given).

    Each alert is ``{"level": "error" | "warning", "kind", "layer", "measure", "message"}``. Kinds:

    * ``failed``: error rows (a measure raised, or gave a non-finite value);
    * ``nan``: a value that is missing or not finite without an error message;
    * ``constant``: a layer whose activations do not vary over samples (or whose effective rank,
      e.g. ``rankme``, is 0);
    * ``rank_collapse``: an effective rank (``rankme``, ``effective_rank``) below 1.5 (with at
      least 4 dimensions), or, over training, below half its maximum;
    * ``entropy_collapse``: a spectral entropy below 10 % of its maximum log(min(n, d)), or an
      entropy whose fall signals collapse (spectral and diffusion spectral entropies, not
      prediction entropy) below half its maximum over training;
    * ``negative_mi``: a mutual information estimate below 0 (estimator bias; the true MI is >= 0);
    * ``few_samples``: fewer than 10 samples per dimension (n < 10 d): spectral and kNN estimates
      are biased there.

    Checks on values use each (layer, measure)'s last step; what a value is comes from its
    measure's metadata (:func:`infomeasure.measures.measure_for_row`).

    >>> from infomeasure.alerts import find_alerts
    >>> rows = [{"step": 0, "layer": "fc", "measure": "mi_labels", "method": "mi_ross", "value": -0.02,
    ...          "n_samples": 500, "n_features": 4, "units": "nats", "error": None}]
    >>> [a["kind"] for a in find_alerts(rows)]
    ['negative_mi']
    """
    alerts = _failed(rows)
    constant = _constant_layers(activations) if activations is not None else []
    alerts += constant
    constant_layers = {a["layer"] for a in constant}
    history = _histories(rows)
    infos: dict = {}
    few = {}
    for (layer, measure), r in last_rows(rows).items():
        n, d = r.get("n_samples") or 0, r.get("n_features") or 0
        if n and d and n < 10 * d:
            few[layer] = (n, d)
        if r.get("error"):
            continue
        v = r.get("value")
        if not _finite_number(v):
            alerts.append(_alert("error", "nan", layer, measure, f"{measure} on {layer} has no finite value ({v})"))
            continue
        key = (str(measure).split("[")[0], r.get("method"), r.get("units"))
        if key not in infos:
            infos[key] = measure_for_row(r)
        hist = sorted(history.get((layer, measure), []))
        peak = max(hist, key=lambda t: t[1]) if len(hist) > 1 else None
        alerts += _value_alerts(r, infos[key], float(v), peak, constant_layers)
    for layer, (n, d) in few.items():
        alerts.append(_alert("warning", "few_samples", layer, None,
                             f"too few samples for the dimension on {layer}: n = {n} < 10 d = {10 * d}; estimates are biased"))
    return sorted(alerts, key=lambda a: a["level"] != "error")  # errors first, stable otherwise
