"""Semantic entropy: hand-computed values, the clustering rule, log-probability weights, units, errors."""

import math
import warnings

import numpy as np
import pytest

from estimators.semantic import normalize_answer, semantic_clusters, semantic_entropy


def _h(p):
    p = np.asarray(p, dtype=float)
    p = p[p > 0] / p.sum()
    return float(-(p * np.log(p)).sum())


# ---------------------------------------------------------------- discrete semantic entropy
def test_all_same_is_zero_and_all_distinct_is_log_m():
    assert semantic_entropy(["Paris"] * 7) == 0.0
    assert semantic_entropy(["Paris", " paris ", "PARIS.", "the Paris"]) == 0.0
    answers = ["Paris", "Lyon", "Nice", "Lille", "Metz"]
    assert semantic_entropy(answers) == pytest.approx(math.log(5), abs=1e-15)
    assert semantic_entropy(answers, base=2) == pytest.approx(math.log2(5), abs=1e-15)
    assert semantic_entropy(["only one"]) == 0.0


def test_mixed_clusters_by_hand():
    # clusters {Paris x3}, {Lyon x2}, {Nice}: p = 3/6, 2/6, 1/6
    answers = ["Paris", "Lyon", "paris!", "Nice", "LYON", "The Paris"]
    assert semantic_clusters(answers).tolist() == [0, 1, 0, 2, 1, 0]
    expected = -(0.5 * math.log(0.5) + (1 / 3) * math.log(1 / 3) + (1 / 6) * math.log(1 / 6))
    assert semantic_entropy(answers) == pytest.approx(expected, abs=1e-15)
    assert semantic_entropy(answers, base=2) == pytest.approx(expected / math.log(2), abs=1e-15)
    assert semantic_entropy(answers, base=10) == pytest.approx(expected / math.log(10), abs=1e-15)


def test_normalisation_is_squad_style():
    assert normalize_answer("  The  Eiffel Tower!! ") == "eiffel tower"
    assert normalize_answer("Straße") == normalize_answer("STRASSE")  # case folding
    assert normalize_answer("ﬁve") == "five"  # NFKC ligature
    assert normalize_answer("Paris, France") != normalize_answer("Paris")


def test_the_entropy_does_not_depend_on_order_or_labels():
    a = ["x", "y", "x", "z", "y", "x"]
    rng = np.random.default_rng(0)
    ref = semantic_entropy(a)
    for _ in range(5):
        assert semantic_entropy(list(rng.permutation(a))) == pytest.approx(ref, abs=1e-15)


# ---------------------------------------------------------------- user equivalence (entailment)
def test_user_entailment_function_greedy_against_representative():
    # a toy "entailment model": a entails b when every word of b's first word set is in a
    calls = []

    def entails(a, b):
        return set(a.lower().split()) >= set(b.lower().split())

    def bidirectional(a, b):
        calls.append((a, b))
        return entails(a, b) and entails(b, a)

    answers = ["blue whale", "Whale blue", "elephant", "the elephant", "Elephant"]
    ids = semantic_clusters(answers, equivalent=bidirectional)
    assert ids.tolist() == [0, 0, 1, 2, 1]
    # representatives are compared with later unassigned answers only: 4 + 2 calls (answer 4 joined cluster 1)
    assert len(calls) == 6
    assert calls[0] == ("blue whale", "Whale blue")
    p = [2, 2, 1]
    assert semantic_entropy(answers, equivalent=bidirectional) == pytest.approx(_h(p), abs=1e-15)


def test_non_transitive_relation_uses_the_representative():
    # |a - b| <= 1: 0~1 and 1~2 but not 0~2; greedy against the representative 0 gives {0, 1}, {2}
    ids = semantic_clusters([0, 1, 2], equivalent=lambda a, b: abs(a - b) <= 1)
    assert ids.tolist() == [0, 0, 1]


def test_numpy_and_torch_booleans_are_accepted():
    assert semantic_clusters(["a", "b"], equivalent=lambda a, b: np.bool_(a == b)).tolist() == [0, 1]
    assert semantic_clusters(["a", "a"], equivalent=lambda a, b: np.array(a == b)).tolist() == [0, 0]
    torch = pytest.importorskip("torch")
    assert semantic_clusters(["a", "a"], equivalent=lambda a, b: torch.tensor(a == b)).tolist() == [0, 0]


# ---------------------------------------------------------------- probability-weighted variant
def test_log_prob_weighting_by_hand():
    answers = ["Paris", "Lyon", "paris", "Nice"]
    lp = [-0.5, -1.0, -2.0, -3.0]
    w = np.exp(lp)
    p = [w[0] + w[2], w[1], w[3]]
    assert semantic_entropy(answers, log_probs=lp) == pytest.approx(_h(p), abs=1e-14)
    assert semantic_entropy(answers, log_probs=np.array(lp), base=2) == pytest.approx(_h(p) / math.log(2), abs=1e-14)


def test_equal_log_probs_give_the_discrete_variant_and_constants_cancel():
    answers = ["a", "b", "a", "c", "a"]
    assert semantic_entropy(answers, log_probs=[-1.3] * 5) == pytest.approx(semantic_entropy(answers), abs=1e-15)
    lp = np.array([-1.0, -2.0, -0.3, -4.0, -1.1])
    assert semantic_entropy(answers, log_probs=lp - 800.0) == pytest.approx(
        semantic_entropy(answers, log_probs=lp), abs=1e-14)  # no underflow: log-sum-exp


def test_zero_probability_answers_and_point_masses():
    assert semantic_entropy(["a", "b"], log_probs=[-1.0, -math.inf]) == 0.0
    assert semantic_entropy(["a", "b", "c"], log_probs=[-1.0, -1.0, -math.inf]) == pytest.approx(math.log(2))


def test_torch_log_probs():
    torch = pytest.importorskip("torch")
    lp = torch.tensor([-0.2, -1.5, -0.7], requires_grad=True)
    ref = semantic_entropy(["a", "b", "a"], log_probs=lp.detach().numpy().astype(float))
    assert semantic_entropy(["a", "b", "a"], log_probs=lp) == pytest.approx(ref, abs=1e-7)


# ---------------------------------------------------------------- errors
def test_bad_samples():
    with pytest.raises(ValueError, match="samples is empty"):
        semantic_entropy([])
    with pytest.raises(TypeError, match="not one string"):
        semantic_entropy("Paris")
    with pytest.raises(TypeError, match="sequence of sampled answers"):
        semantic_entropy(3)
    with pytest.raises(TypeError, match=r"samples\[1\] is a int"):
        semantic_entropy(["a", 3])
    with pytest.raises(ValueError, match="one-dimensional"):
        semantic_entropy(np.array([["a", "b"]]))


def test_bad_equivalence_functions():
    with pytest.raises(TypeError, match="equivalent must be None"):
        semantic_entropy(["a", "b"], equivalent="entailment")

    def boom(a, b):
        raise RuntimeError("model not loaded")

    with pytest.raises(ValueError, match=r"equivalent\(samples\[0\], samples\[1\]\) raised RuntimeError: model not loaded") as info:
        semantic_entropy(["a", "b"], equivalent=boom)
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(TypeError, match=r"returned 0.93 \(float\); it must return True or False"):
        semantic_entropy(["a", "b"], equivalent=lambda a, b: 0.93)
    with pytest.raises(TypeError, match="returned 'entailment'"):
        semantic_entropy(["a", "b"], equivalent=lambda a, b: "entailment")
    with pytest.raises(TypeError, match="returned 1"):
        semantic_entropy(["a", "b"], equivalent=lambda a, b: 1)


def test_bad_log_probs():
    with pytest.raises(ValueError, match=r"shape \(3,\); got shape \(2,\)"):
        semantic_entropy(["a", "b", "c"], log_probs=[-1.0, -2.0])
    with pytest.raises(ValueError, match=r"log_probs\[1\] is nan"):
        semantic_entropy(["a", "b"], log_probs=[-1.0, float("nan")])
    with pytest.raises(ValueError, match="every log_probs entry is -inf"):
        semantic_entropy(["a", "b"], log_probs=[-math.inf, -math.inf])
    with pytest.raises(TypeError, match="sequence of 2 numbers"):
        semantic_entropy(["a", "b"], log_probs=-1.0)
    with pytest.raises(TypeError, match="sequence of 2 numbers"):
        semantic_entropy(["a", "b"], log_probs=["x", "y"])
    with pytest.warns(UserWarning, match="negative log-likelihoods"):
        semantic_entropy(["a", "b"], log_probs=[2.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        semantic_entropy(["a", "b"], log_probs=[0.0, -3.0])  # log p = 0 is fine


def test_bad_base():
    with pytest.raises(ValueError):
        semantic_entropy(["a", "b"], base=1)
    with pytest.raises(ValueError):
        semantic_entropy(["a", "b"], base=-2)
