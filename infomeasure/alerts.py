"""Alerts: what in a result table (and in the activations) a researcher should look at first.

The checks read each row's measure metadata (:func:`infomeasure.measures.measure_for_row`: what
the value is, whether the data were centred, its bounds, whether a fall signals collapse), not its
name, so a measure renamed by the user, or a new one, is checked as what it is. Logged scalars
(``Probes.log``) carry no metadata; they are read by name: ``*acc*`` with ``train`` is the train
accuracy, ``*acc*`` with ``held``, ``val``, ``test`` or ``eval`` the held-out accuracy, ``*loss*`` a
loss.

The rules were set against a corpus of runs of known health (``tests/infomeasure/scenarios.py``):
healthy MLPs, CNNs and transformers raise no error, and memorisation, dead units, collapse and
divergence are each caught.
"""

from __future__ import annotations

import math
import re

import numpy as np

from .measures import measure_for_row

__all__ = ["LEVELS", "find_alerts", "group_alerts"]

#: Alert levels, most severe first: ``error`` only for what is certainly wrong (non-finite values,
#: failed measures, divergence, dead or constant layers), ``warning`` for what needs a look
#: (memorisation, collapse, negative MI), ``info`` for caveats and saturation.
LEVELS = ("error", "warning", "info")

#: A fall below this fraction of a measure's peak is a large fall (collapse unless the run generalises).
FALL = 0.5
#: Held-out accuracy gain that counts as generalising; train-accuracy gain that counts as fitting.
GAIN, FIT = 0.1, 0.3


def _alert(level, kind, layer, measure, message, count=1) -> dict:
    return {"level": level, "kind": kind, "layer": layer, "measure": measure, "message": message, "count": count}


def _finite_number(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def last_rows(rows):
    """The last row of every (layer, measure), and the step it belongs to."""
    last = {}
    for r in rows:
        key = (r.get("layer"), r.get("measure"))
        s = r.get("step")
        if key not in last or (s is not None and (last[key].get("step") is None or s >= last[key]["step"])):
            last[key] = r
    return last


def _histories(rows) -> dict:
    """``(layer, measure) -> [(step, value), ...]`` (sorted) of the finite values."""
    history = {}
    for r in rows:
        v = r.get("value")
        if _finite_number(v) and not r.get("error"):
            history.setdefault((r.get("layer"), r.get("measure")), []).append((r.get("step") or 0, float(v)))
    return {k: sorted(v) for k, v in history.items()}


def _fmt(v) -> str:
    return f"{v:.3g}"


def _list(names, at_most=6) -> str:
    names = [str(n) for n in names]
    return ", ".join(names[:at_most]) + (f" and {len(names) - at_most} more" if len(names) > at_most else "")


# ------------------------------------------------------------------------------------------------
# the run's context: accuracies and losses logged with Probes.log
# ------------------------------------------------------------------------------------------------
_HELDOUT = re.compile(r"held|val|test|eval", re.IGNORECASE)


def _logged(rows, history):
    """``(train accuracy, held-out accuracy, losses)``: the logged series (``[(step, value)]`` or None)."""
    names = {r.get("measure") for r in rows if r.get("method") == "logged"}
    acc = sorted(str(n) for n in names if "acc" in str(n).lower())
    held = [n for n in acc if _HELDOUT.search(n)]
    train = [n for n in acc if "train" in n.lower() and n not in held]
    series = {n: next((h for (la, m), h in history.items() if m == n), None) for n in names}
    losses = {str(n): series[n] for n in names if "loss" in str(n).lower() and series[n]}
    return (series[train[0]] if train else None), (series[held[0]] if held else None), losses


def _gain(series):
    return series[-1][1] - series[0][1] if series and len(series) > 1 else None


# ------------------------------------------------------------------------------------------------
# checks
# ------------------------------------------------------------------------------------------------
def _is_nonfinite(msg) -> bool:
    return bool(re.search(r"\bNaN\b|infinite|non-finite|not finite", msg or ""))


def _is_zero(msg) -> bool:
    return bool(re.search(r"all zeros|row of Z is zero|is constant", msg or ""))


def _degenerate_layers(rows, infos, activations):
    """``(dead, constant)``: layers whose activations are all 0, or the same for every sample, at their
    last step (``layer -> first step of the run from which it stayed so``)."""
    by_step = {}
    for r in rows:
        if r.get("method") == "logged":
            continue
        s = r.get("step")
        by_step.setdefault(r.get("layer"), {}).setdefault(-1 if s is None else s, []).append(r)
    dead, constant = {}, {}

    def state(rs):
        zero_uncentred = any(r.get("error") and _is_zero(r["error"]) and getattr(infos(r), "centred", None) is False
                             for r in rs)
        if zero_uncentred:
            return "dead"
        centred_zero = any(r.get("error") and _is_zero(r["error"]) and getattr(infos(r), "centred", None) for r in rs)
        rank_zero = any(getattr(infos(r), "quantity", None) == "effective_rank" and r.get("value") == 0.0 for r in rs)
        return "constant" if centred_zero or rank_zero else None

    for layer, steps in by_step.items():
        order = sorted(steps)
        last = state(steps[order[-1]])
        if last is None:
            continue
        since = order[-1]
        for s in reversed(order):
            if state(steps[s]) != last:
                break
            since = s
        (dead if last == "dead" else constant)[layer] = None if since == -1 else since
    if activations is not None:
        from .analysis import reduce_array

        for layer, arr in activations.items():
            try:
                z = reduce_array(arr)
            except Exception:  # noqa: BLE001, S112 - reported as failed rows by analyze
                continue
            if z.shape[0] > 1 and z.size and float(np.max(np.ptp(z, axis=0))) == 0.0 and layer not in dead:
                (dead if not np.any(z) else constant).setdefault(layer, None)
    return dead, constant


def _dead_units(activations) -> list[dict]:
    """Layers of the snapshot where at least half the units are 0 on every sample (but not all)."""
    from .analysis import reduce_array

    out = []
    for layer, arr in (activations or {}).items():
        try:
            z = np.asarray(reduce_array(arr))
        except Exception:  # noqa: BLE001, S112
            continue
        if z.ndim != 2 or z.shape[0] < 2 or z.shape[1] < 4 or not np.any(z):
            continue
        dead = int(np.sum(np.all(z == 0, axis=0)))
        if dead >= 0.5 * z.shape[1]:
            out.append(_alert("warning", "dead_units", layer, None,
                              f"{dead} of {z.shape[1]} units of {layer} are 0 on every probe sample (dead ReLUs?); "
                              "check the initialisation and the learning rate"))
    return out


def _since(step) -> str:
    return "" if step is None else f" since step {step}"


def _failure_alerts(rows, dead, constant):
    """Error rows: non-finite activations (divergence when they were finite before), other failures grouped."""
    out, nonfinite, failed = [], {}, {}
    finite_before = {}
    for r in rows:
        if r.get("method") == "logged":
            continue
        layer, s = r.get("layer"), r.get("step") or 0
        err = r.get("error")
        if not err and _finite_number(r.get("value")):
            finite_before[layer] = min(finite_before.get(layer, s), s)
            continue
        if err and (layer in dead or layer in constant):
            continue  # the dead or constant layer alert explains it (zero or repeated rows)
        if (err and _is_nonfinite(err)) or (not err and r.get("value") is not None):
            nonfinite.setdefault(layer, []).append(s)
        else:
            failed.setdefault((r.get("measure"), (err or "").split(";")[0]), []).append((layer, s))
    if nonfinite:
        first = min(min(v) for v in nonfinite.values())
        earlier = [la for la in nonfinite if finite_before.get(la, math.inf) < min(nonfinite[la])]
        layers = _list(nonfinite)
        if earlier:
            out.append(_alert("error", "divergence", None, None,
                              f"divergence: from step {first} the activations of {layers} hold NaN or inf values "
                              "(finite before); lower the learning rate, clip gradients or check the loss",
                              count=len(nonfinite)))
        else:
            out.append(_alert("error", "nan", None, None,
                              f"the activations of {layers} hold NaN or inf values; the measures cannot be computed",
                              count=len(nonfinite)))
    for (measure, text), where in failed.items():
        layers = list(dict.fromkeys(la for la, _ in where))
        steps = len({s for _, s in where})
        layer = layers[0] if len(layers) == 1 else None
        if text:
            out.append(_alert("error", "failed", layer, measure,
                              f"{measure} failed on {_list(layers)} at {steps} step(s): {text}", count=len(where)))
        else:
            out.append(_alert("error", "nan", layer, measure,
                              f"{measure} on {_list(layers)} has no value at {steps} step(s)", count=len(where)))
    return out


def _loss_alerts(losses):
    out = []
    for name, h in losses.items():
        if len(h) < 2:
            continue
        s0, v0 = h[0]
        sm, vm = max(h[1:], key=lambda t: t[1])
        if v0 > 0 and vm > 5 * v0:
            out.append(_alert("error", "divergence", "model", name,
                              f"divergence: {name} rose from {_fmt(v0)} at step {s0} to {_fmt(vm)} at step {sm}"))
    return out


def _memorisation(train, held, label_info):
    """Train accuracy up while held-out accuracy (or, without it, label information) stays flat or falls."""
    tg = _gain(train)
    if tg is None or tg < FIT:
        return []
    t = f"train accuracy rose from {_fmt(train[0][1])} to {_fmt(train[-1][1])}"
    if held is not None and len(held) > 1:
        hg = _gain(held)
        peak = max(held, key=lambda p: p[1])
        if hg < GAIN and train[-1][1] - held[-1][1] >= FIT:
            extra = f"; {label_info}" if label_info else ""
            return [_alert("warning", "memorisation", "model", None,
                           f"memorisation: {t} while held-out accuracy stayed at {_fmt(held[0][1])} → "
                           f"{_fmt(held[-1][1])}{extra}: the model fits its training labels without generalising "
                           "(shuffled or noisy labels, too little data)")]
        if peak[1] - held[-1][1] >= GAIN and held[-1][0] > peak[0]:
            return [_alert("warning", "overfitting", "model", None,
                           f"overfitting: {t} while held-out accuracy fell from {_fmt(peak[1])} at step {peak[0]} "
                           f"to {_fmt(held[-1][1])}")]
        return []
    if label_info and "falls" in label_info:
        return [_alert("warning", "memorisation", "model", None,
                       f"memorisation: {t} while {label_info} (no held-out accuracy logged)")]
    return []


def _label_information(history, infos_of_key, deepest):
    """``(text, per-layer rise)``: how the label MI measures of the deepest layer changed, and, per layer,
    whether every label MI measure rose."""
    rose, text = {}, None
    for (layer, measure), h in history.items():
        info = infos_of_key((layer, measure))
        if info is None or info.quantity != "mutual_information" or not info.needs_labels or len(h) < 2:
            continue
        up = h[-1][1] > h[0][1] + 0.05 * max(abs(h[0][1]), 1e-12)
        rose[layer] = rose.get(layer, True) and up
        if layer == deepest and (text is None or not up):
            word = "rises" if up else "falls" if h[-1][1] < h[0][1] else "stays flat"
            text = f"{measure} on {layer} {word} ({_fmt(h[0][1])} → {_fmt(h[-1][1])})"
    return text, rose


def _collapse_alerts(history, last, infos_of_key, healthy, skip):
    """One warning per layer whose ranks or entropies fell to about one dimension, or below half their peak,
    without the run generalising (then the fall is compression, not collapse)."""
    falls = {}
    for (layer, measure), h in history.items():
        info = infos_of_key((layer, measure))
        if layer in skip or info is None or not info.collapse_signal or not h:
            continue
        if info.quantity not in ("effective_rank", "entropy"):
            continue
        r = last.get((layer, measure)) or {}
        n, d = r.get("n_samples") or 0, r.get("n_features") or 0
        v = h[-1][1]
        peak = max(h, key=lambda p: p[1])
        if info.centred and min(n, d) >= 4:
            dims = v if info.quantity == "effective_rank" else _exp_in(v, info.units)
            if dims is not None and dims < 1.5:
                falls.setdefault(layer, []).append(f"{measure} = {_fmt(v)} (about one dimension of {min(n, d)})")
                continue
        if len(h) > 1 and peak[1] > 0 and v < FALL * peak[1]:
            falls.setdefault(layer, []).append(f"{measure} fell from {_fmt(peak[1])} at step {peak[0]} to {_fmt(v)}")
    out = []
    for layer, what in falls.items():
        if healthy(layer):
            continue
        out.append(_alert("warning", "collapse", layer, None,
                          f"representation collapse on {layer}: {'; '.join(what)}, with no rise in held-out accuracy "
                          "or label information that would make it compression"))
    return out


def _exp_in(v, units):
    """``exp(H)`` of an entropy ``v`` in ``units``: its effective number of dimensions."""
    base = {"nats": math.e, "bits": 2.0, "hartleys": 10.0}.get(units)
    return None if base is None else base ** v


def _value_alerts(last, infos_of_key, skip, n_classes):
    """Negative MI estimates (warnings), label MI at its bound log C (info), entropies at their maximum (info)."""
    negative, saturated = {}, {}
    for (layer, measure), r in last.items():
        info = infos_of_key((layer, measure))
        v = r.get("value")
        if info is None or layer in skip or not _finite_number(v) or r.get("error"):
            continue
        units = r.get("units") or ""
        if info.quantity == "mutual_information" and v < -1e-9:  # below round-off
            negative.setdefault(measure, []).append((layer, v, units))
        bound = info.label_maximum(n_classes) if hasattr(info, "label_maximum") else None
        n = r.get("n_samples") or 0
        if bound is not None and n > 0:
            se = 1.0 / math.sqrt(n) / (1.0 if units == "nats" else math.log({"bits": 2, "hartleys": 10}.get(units, math.e)))
            if v >= bound - se:
                saturated.setdefault(measure, []).append((layer, v, bound, units, se))
    out = []
    for measure, where in negative.items():
        vals = ", ".join(f"{la} = {_fmt(v)}" for la, v, _ in where)
        out.append(_alert("warning", "negative_mi", where[0][0] if len(where) == 1 else None, measure,
                          f"negative MI: {measure} on {vals} {where[0][2]}; the estimator is biased here (true MI >= 0)",
                          count=len(where)))
    for measure, where in saturated.items():
        layer, _, bound, units, se = where[0]
        vals = ", ".join(f"{la} {_fmt(v)}" for la, v, *_ in where)
        out.append(_alert("info", "saturated", layer if len(where) == 1 else None, measure,
                          f"{measure} is saturated at its bound ln {n_classes} = {bound:.3g} {units} ({vals}; within "
                          f"1/sqrt(n) = {se:.2g} of it): it cannot tell these layers or steps apart; "
                          "compare held-out accuracy or another measure", count=len(where)))
    return out


def _few_samples(last):
    few = {}
    for (layer, _), r in last.items():
        n, d = r.get("n_samples") or 0, r.get("n_features") or 0
        if n and d and n < 10 * d and r.get("method") != "logged":
            few[layer] = (n, d)
    if not few:
        return []
    ns = sorted({n for n, _ in few.values()})
    ds = sorted({d for _, d in few.values()})
    n_text = str(ns[0]) if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"
    d_text = str(ds[0]) if len(ds) == 1 else f"{ds[0]}-{ds[-1]}"
    return [_alert("info", "few_samples", None, None,
                   f"sample size: fewer than 10 samples per dimension on {_list(few)} (n = {n_text}, d = {d_text}); "
                   "kNN and spectral estimates are biased there: compare values across steps and runs rather than "
                   "reading them as absolute", count=len(few))]


def group_alerts(alerts) -> list[dict]:
    """Identical alerts (level, kind and message) merged into one whose ``count`` adds theirs, most severe first.

    >>> from infomeasure.alerts import group_alerts
    >>> a = {"level": "warning", "kind": "x", "layer": None, "measure": None, "message": "m"}
    >>> [(g["message"], g["count"]) for g in group_alerts([a, dict(a), dict(a, level="error")])]
    [('m', 1), ('m', 2)]
    """
    merged = {}
    for a in alerts:
        key = (a["level"], a["kind"], a["message"])
        if key in merged:
            merged[key]["count"] += a.get("count", 1)
        else:
            merged[key] = dict(a, count=a.get("count", 1))
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    return sorted(merged.values(), key=lambda a: rank.get(a["level"], len(LEVELS)))


def find_alerts(rows, activations=None, *, n_classes=None) -> list[dict]:
    """Diagnostics of a result table (and of the activations, when given).

    Each alert is ``{"level": "error" | "warning" | "info", "kind", "layer", "measure", "message",
    "count"}`` (``count``: how many rows or layers it stands for). Kinds:

    * errors, for what is certainly wrong: ``divergence`` (activations that turn NaN/inf after
      finite values, or a logged loss above 5 times its first value), ``nan`` (non-finite
      activations from the start), ``failed`` (a measure raised; one alert per measure and
      message, with the layers and steps), ``dead_units`` (a layer that is 0 on every sample) and
      ``constant`` (a layer with the same activations for every sample);
    * warnings, for what needs a look: ``memorisation`` (train accuracy up by at least 0.3 while
      held-out accuracy gains less than 0.1 and trails it by 0.3; without a held-out accuracy, while
      the deepest layer's label information falls), ``overfitting`` (held-out accuracy 0.1 below its
      peak while train accuracy rose), ``collapse`` (a layer whose centred effective rank or entropy
      is down to about one dimension, or whose ranks or entropies fell below half their peak, in a
      run that does not generalise: compression towards the number of classes while held-out
      accuracy, or label information, rises is healthy), ``negative_mi`` (an MI estimate below 0)
      and ``dead_units`` (half or more of a snapshot layer's units 0 on every sample);
    * info: ``saturated`` (a label MI within 1/sqrt(n) nats of its bound ln C, given
      ``n_classes``) and ``few_samples`` (one caveat for all layers with fewer than 10 samples per
      dimension, n < 10 d).

    Uncentred measures (``rankme``, ``von_neumann_entropy``) are never judged against their maximum:
    the mean of non-negative (ReLU) features takes one direction, so their values are low on healthy
    networks; only their fall over training counts. Identical alerts are grouped
    (:func:`group_alerts`).

    >>> from infomeasure.alerts import find_alerts
    >>> rows = [{"step": 0, "layer": "fc", "measure": "mi_labels", "method": "mi_ross", "value": -0.02,
    ...          "n_samples": 500, "n_features": 4, "units": "nats", "error": None}]
    >>> [a["kind"] for a in find_alerts(rows)]
    ['negative_mi']
    """
    rows = list(rows)
    history = _histories(rows)
    last = {k: r for k, r in last_rows(rows).items() if r.get("method") != "logged"}
    cache: dict = {}

    def infos(r):
        key = (str(r.get("measure")).split("[")[0], r.get("method"), r.get("units"))
        if key not in cache:
            cache[key] = measure_for_row(r) if r.get("method") != "logged" else None
        return cache[key]

    def infos_of_key(k):
        r = last.get(k)
        return None if r is None else infos(r)

    dead, constant = _degenerate_layers(rows, infos, activations)
    alerts = [_alert("error", "dead_units", la, None,
                     f"{la} is dead: every unit is 0 on every probe sample{_since(s)}; ReLUs that never fire get no "
                     "gradient (check the initialisation, e.g. biases, and the learning rate)") for la, s in dead.items()]
    alerts += [_alert("error", "constant", la, None,
                      f"{la} is constant: every probe sample has the same activations{_since(s)}, so it carries no "
                      "information about the input (a complete collapse)") for la, s in constant.items()]
    alerts += _failure_alerts(rows, dead, constant)
    train, held, losses = _logged(rows, history)
    alerts += _loss_alerts(losses)
    from .plotting import layer_order

    layers = [la for la in layer_order([r for r in rows if r.get("method") != "logged"])]
    deepest = next((la for la in reversed(layers) if la not in dead and la not in constant), None)
    label_text, label_rose = _label_information(history, infos_of_key, deepest)
    alerts += _memorisation(train, held, label_text)
    hg = _gain(held)

    def healthy(layer):
        if hg is not None:
            return hg >= GAIN
        return label_rose.get(layer, False)

    broken = {la for la in layers if all(r.get("error") for (la2, _), r in last.items() if la2 == la)}
    skip = set(dead) | set(constant) | broken  # their last values are stale or meaningless
    alerts += _collapse_alerts(history, last, infos_of_key, healthy, skip)
    alerts += _value_alerts(last, infos_of_key, skip, n_classes)
    if activations is not None:
        alerts += [a for a in _dead_units(activations) if a["layer"] not in skip]
    alerts += _few_samples(last)
    return group_alerts(alerts)
