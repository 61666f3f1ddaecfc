"""The alerts against a corpus of runs of known health (tests/infomeasure/scenarios.py): one test per scenario.

Healthy runs (generalising, 50% label noise, a CNN with non-negative features, a LayerNorm
transformer) get no error and no warning; the broken ones get the alert of what is wrong with
them, and nothing that points elsewhere.
"""

import re

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from infomeasure.alerts import find_alerts  # noqa: E402
from tests.infomeasure import scenarios  # noqa: E402


def _alerts(name):
    sc = scenarios.SCENARIOS[name]()
    alerts = find_alerts(sc.rows, n_classes=sc.n_classes)
    return sc, alerts, {(a["level"], a["kind"]) for a in alerts}


def _accuracy(sc, name):
    return [r["value"] for r in sorted(sc.rows, key=lambda r: r["step"]) if r["measure"] == name]


def test_generalising_run_has_no_alert_but_the_sample_size_caveat():
    sc, alerts, kinds = _alerts("generalising")
    assert _accuracy(sc, "heldout_accuracy")[-1] > 0.9
    # its ranks halve (rankme 42 -> 17 on hidden2): compression towards the class count, not collapse
    rank = [r["value"] for r in sc.rows if r["layer"] == "hidden2" and r["measure"] == "rankme"]
    assert rank[-1] < 0.5 * rank[0]
    assert kinds == {("info", "few_samples")}
    assert len(alerts) == 1 and alerts[0]["count"] == 2  # one caveat for both layers


def test_memorising_run_is_flagged_with_its_numbers():
    sc, alerts, kinds = _alerts("memorising")
    assert kinds == {("warning", "memorisation"), ("info", "few_samples")}
    (m,) = [a for a in alerts if a["kind"] == "memorisation"]
    train, held = _accuracy(sc, "train_accuracy"), _accuracy(sc, "heldout_accuracy")
    assert train[-1] == 1.0 and held[-1] < 0.2
    assert f"train accuracy rose from {train[0]:.3g} to 1" in m["message"]
    assert f"held-out accuracy stayed at {held[0]:.3g} → {held[-1]:.3g}" in m["message"]
    assert "dsmi on hidden2 falls" in m["message"]


def test_label_noise_run_is_healthy():
    sc, _, kinds = _alerts("label_noise")
    train, held = _accuracy(sc, "train_accuracy"), _accuracy(sc, "heldout_accuracy")
    assert held[-1] > train[-1] + 0.3  # the clean held-out labels are predicted better than the noisy ones
    assert kinds == {("info", "few_samples")}


def test_dead_relus_are_errors_on_their_layer_and_nothing_else_fails():
    _, alerts, kinds = _alerts("dead_relu")
    assert kinds == {("error", "dead_units"), ("error", "constant"), ("info", "few_samples")}
    by_kind = {a["kind"]: a for a in alerts}
    assert by_kind["dead_units"]["layer"] == "hidden1" and "since step 0" in by_kind["dead_units"]["message"]
    assert by_kind["constant"]["layer"] == "hidden2"  # relu(bias) after a dead layer
    assert not [a for a in alerts if a["kind"] == "failed"]  # the zero-input errors are said once, as dead units


def test_collapse_is_a_warning_on_the_collapsed_layer():
    _, alerts, kinds = _alerts("collapse")
    assert kinds == {("warning", "collapse"), ("info", "few_samples")}
    (c,) = [a for a in alerts if a["kind"] == "collapse"]
    assert c["layer"] == "hidden2"
    assert re.search(r"rankme fell from 42\.3 at step 0 to 1\.\d+;", c["message"]), c["message"]  # 1.03 at seed 0


def test_divergence_is_one_error():
    sc, alerts, kinds = _alerts("divergence")
    assert kinds == {("error", "divergence"), ("info", "few_samples")}
    (d,) = [a for a in alerts if a["kind"] == "divergence"]
    assert d["message"].startswith("divergence: from step 10 the activations of hidden1, hidden2 hold NaN")
    assert d["count"] == 2
    # the report's headline puts the error first and says which values are the last finite ones
    from infomeasure.report import headline

    head = headline(sc.rows, alerts)
    assert head[0] == "Alerts: 1 error (divergence), look at these first; 1 note (sample size)."
    assert re.search(r"rankme on hidden1, 47 → [\d.]+ \(−\d+%, last finite at step 5\)", head[1]), head[1]


def test_healthy_cnn_with_non_negative_features_has_no_error():
    sc, _, kinds = _alerts("cnn")
    assert _accuracy(sc, "heldout_accuracy")[-1] > 0.85
    # uncentred von Neumann entropy of ReLU maps is tiny from step 0 (0.02-0.07 nats of ln 32): not a collapse
    vne = [r["value"] for r in sc.rows if r["layer"] == "conv2" and r["measure"] == "von_neumann_entropy"]
    assert max(vne) < 0.1
    assert kinds == {("info", "few_samples")}


def test_healthy_transformer_saturates_its_label_mi_at_ln2():
    import math

    sc, alerts, kinds = _alerts("transformer")
    assert sc.n_classes == 2 and _accuracy(sc, "heldout_accuracy")[-1] == 1.0
    # the last layer's centred rank falls to about 1 = C - 1 dimensions on a binary task: healthy
    er = [r["value"] for r in sc.rows if r["layer"] == "layers.1" and r["measure"] == "effective_rank"]
    assert er[-1] < 1.5
    assert kinds == {("info", "saturated"), ("info", "few_samples")}
    (s,) = [a for a in alerts if a["kind"] == "saturated"]
    assert s["measure"] == "mi_labels" and s["count"] == 2
    assert f"ln 2 = {math.log(2):.3g} nats" in s["message"]
    # without the number of classes there is no bound to saturate
    assert "saturated" not in {a["kind"] for a in find_alerts(sc.rows)}


def test_no_healthy_scenario_config_is_left_untested():
    tested = {"generalising", "memorising", "label_noise", "dead_relu", "collapse", "divergence", "cnn", "transformer"}
    assert set(scenarios.SCENARIOS) == tested == set(scenarios.VERDICTS)
