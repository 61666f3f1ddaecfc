"""Entropy of predictive distributions and attention maps: update/compute twins over EntropySums."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from estimators.predictive import (  # noqa: E402
    EntropySums,
    attention_entropy_compute,
    attention_entropy_update,
    logit_entropy,
    prediction_entropy_compute,
    prediction_entropy_update,
)


def _entropy_rows(p):
    """-sum p log p of each row of a probability array, in float64 (the slow reference)."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(-1)


def test_prediction_entropy_is_the_mean_softmax_entropy_over_batches():
    g = torch.Generator().manual_seed(0)
    batches = [torch.randn(4, 7, 50, generator=g, dtype=torch.float64) * 3 for _ in range(3)]
    sums = EntropySums.empty()
    for b in batches:
        sums = sums.merge(prediction_entropy_update(b))
    ref = np.concatenate([_entropy_rows(torch.softmax(b, -1).numpy()).ravel() for b in batches])
    assert float(sums.count) == ref.size == 3 * 4 * 7
    assert prediction_entropy_compute(sums) == pytest.approx(ref.mean(), rel=1e-12)
    assert prediction_entropy_compute(sums, base=2) == pytest.approx(ref.mean() / math.log(2), rel=1e-12)
    assert prediction_entropy_compute(sums, normalize=True) == pytest.approx(ref.mean() / math.log(50), rel=1e-12)


def test_sums_add_in_any_grouping_and_survive_the_flat_round_trip():
    g = torch.Generator().manual_seed(1)
    a, b, c = (attention_entropy_update(torch.softmax(torch.randn(2, 3, 5, 6, generator=g), -1)) for _ in range(3))
    left, right = a.merge(b).merge(c), a.merge(b.merge(c))
    assert torch.allclose(left.entropy, right.entropy, rtol=1e-14) and float(left.count) == float(right.count) == 30
    back = EntropySums.from_flat(left.flat())
    assert torch.equal(back.entropy, left.entropy) and float(back.log_support) == float(left.log_support)
    assert left.flat().shape == (2 + 3,)  # count, log support, one sum per head


def test_attention_entropy_per_head_against_a_direct_computation():
    g = torch.Generator().manual_seed(2)
    a = torch.softmax(torch.randn(3, 4, 5, 8, generator=g, dtype=torch.float64), -1)
    a[:, 2] = torch.eye(8, dtype=torch.float64)[:5]  # head 2 attends to one key: entropy 0
    per_head = attention_entropy_compute(attention_entropy_update(a))
    ref = _entropy_rows(a.numpy()).mean(axis=(0, 2))
    assert np.allclose(per_head, ref, rtol=1e-12, atol=0) and per_head[2] == 0.0
    assert attention_entropy_compute(attention_entropy_update(torch.full((1, 1, 2, 4), 0.25)), normalize=True) == [1.0]


def test_logit_entropy_with_minus_infinity_logits_is_finite():
    z = torch.tensor([[0.0, 0.0, -math.inf, -math.inf]])
    assert logit_entropy(z).tolist() == pytest.approx([math.log(2)], rel=1e-7)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="no logits were captured"):
        prediction_entropy_compute(EntropySums.empty())
    with pytest.raises(ValueError, match="attention maps were captured"):
        attention_entropy_compute(EntropySums.empty())
    with pytest.raises(ValueError, match=r"\(batch, heads, queries, keys\)"):
        attention_entropy_update(torch.ones(2, 3))
    with pytest.raises(ValueError, match="different numbers of heads"):
        attention_entropy_update(torch.full((1, 2, 1, 2), 0.5)).merge(attention_entropy_update(torch.full((1, 3, 1, 2), 0.5)))
    with pytest.raises(ValueError, match="base"):
        prediction_entropy_compute(prediction_entropy_update(torch.zeros(2, 3)), base=-1)
