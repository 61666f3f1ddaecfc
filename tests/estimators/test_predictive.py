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
    assert all(torch.equal(x, y) for x, y in zip(back, left))
    assert left.flat().shape == (2 + 2 * 3,)  # count, n_normalized, two sums per head


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


# ------------------------------------------------------------------------------------------------
# issue 18: accurate token entropy on real (padded) batches
# ------------------------------------------------------------------------------------------------
from estimators.predictive import (  # noqa: E402
    attention_entropy,
    entropy_change,
    high_entropy_share,
    logp_advantage_covariance,
    token_entropy,
    token_entropy_from_scores,
    token_log_probs,
    windowed_entropy,
)


def _mp_entropy(row):
    """Entropy of softmax(row) in 40-digit arithmetic (the reference)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    z = [mpmath.mpf(float(x)) for x in row.tolist()]
    m = max(z)
    e = [mpmath.exp(x - m) for x in z]
    s = mpmath.fsum(e)
    return mpmath.log(s) + mpmath.fsum(ei * (m - x) for ei, x in zip(e, z)) / s


def test_float32_logits_at_gpt2_vocabulary_agree_with_mpmath_from_1e_minus_11_to_log_v():
    v = 50257
    g = torch.Generator().manual_seed(0)
    rows = []
    for gap in (0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0):  # one logit `gap + 10` above N(0, 1) noise
        r = torch.randn(v, generator=g)
        if gap:
            r[7] = gap + 10.0
        rows.append(r)
    z = torch.stack(rows).float()
    got = logit_entropy(z, chunk_size=3, vocab_chunk=10000)
    ref = np.array([float(_mp_entropy(r)) for r in z])
    assert ref.min() < 1e-10 and ref.max() > 10.0  # the range collapse is tracked in, up to log V
    assert np.max(np.abs(got.numpy() - ref)) <= 1e-14
    assert np.max(np.abs(got.numpy() - ref) / ref) <= 1e-14  # relative accuracy, even at 1e-11 nats
    # the float32 textbook form lse - sum p z loses ~1e-3 nats on the same rows
    naive = (torch.logsumexp(z, -1) - (torch.softmax(z, -1) * z).sum(-1)).double().numpy()
    assert np.max(np.abs(naive - ref)) > 1e-5


def test_one_hot_and_uniform_rows_are_exact():
    v = 50257
    z = torch.zeros(4, v)
    z[1, 1:] = -math.inf
    z[2, 3] = 1e4
    z[3, :] = -3.5
    h = logit_entropy(z)
    log_v = float(torch.log1p(torch.tensor(v - 1.0, dtype=torch.float64)))
    assert h.tolist() == [log_v, 0.0, 0.0, log_v]
    assert log_v == pytest.approx(math.log(v), rel=1e-15)
    assert logit_entropy(z.bfloat16()).tolist() == [log_v, 0.0, 0.0, log_v]
    assert token_entropy(torch.zeros(2, 3, 16), normalize=True) == 1.0


def test_chunking_and_log_probs_do_not_change_the_value():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(5, 6, 97, generator=g) * 4
    ref = logit_entropy(z, chunk_size=1000, vocab_chunk=1000)
    assert torch.allclose(logit_entropy(z, chunk_size=4, vocab_chunk=7), ref, rtol=1e-14, atol=0)
    lp = torch.log_softmax(z.double(), -1)
    assert token_entropy(log_probs=lp, reduce="none").allclose(ref, rtol=1e-13)
    slow = _entropy_rows(torch.softmax(z.double(), -1).numpy())
    assert np.allclose(ref.numpy(), slow, rtol=1e-12)


def test_masked_means_equal_the_mean_over_real_tokens_exactly():
    g = torch.Generator().manual_seed(4)
    z = torch.randn(3, 7, 40, generator=g) * 3
    am = torch.tensor([[0, 0, 1, 1, 1, 1, 1], [1] * 7, [1, 1, 1, 1, 0, 0, 0]])  # left and right padding
    h = logit_entropy(z)
    real = h[am.bool()]
    assert token_entropy(z, mask=am) == float(real.sum() / real.numel())
    assert token_entropy(z, mask=am) != token_entropy(z)  # padding would move the mean
    none = token_entropy(z, mask=am, reduce="none")
    assert torch.isnan(none[~am.bool()]).all() and torch.equal(none[am.bool()], real)
    seq = token_entropy(z, mask=am, reduce="sequence")
    assert torch.allclose(seq, torch.stack([h[i][am[i].bool()].mean() for i in range(3)]), rtol=1e-15)
    q = token_entropy(z.numpy(), mask=am.numpy(), reduce=[0.1, 0.5, 0.9])
    assert np.allclose(q, np.quantile(real.numpy(), [0.1, 0.5, 0.9]), rtol=1e-15)
    assert isinstance(token_entropy(z, mask=am, reduce=0.5), float)
    # labels: the logits at t predict labels[t + 1] (HF causal LM); -100 marks prompt and padding
    labels = torch.full((3, 7), -100)
    labels[0, 4:] = 5
    labels[2, 1:3] = 2
    keep = torch.zeros(3, 7, dtype=torch.bool)
    keep[0, 3:6] = True
    keep[2, 0:2] = True
    assert token_entropy(z, labels=labels) == float(h[keep].sum() / keep.sum())
    assert token_entropy(z, labels=labels, label_shift=0) == float(h[labels != -100].mean())
    assert token_entropy(z, labels=labels, mask=am) == float(h[keep & am.bool()].sum() / (keep & am.bool()).sum())
    s = prediction_entropy_update(z, mask=am).merge(prediction_entropy_update(z[:1], labels=labels[:1]))
    n = real.numel() + int(keep[0].sum())
    assert float(s.count) == n == 19
    assert prediction_entropy_compute(s) == pytest.approx(float((real.sum() + h[0][keep[0]].sum()) / n), rel=1e-15)
    assert prediction_entropy_compute(s, base=2, normalize=True) == pytest.approx(
        float((real.sum() + h[0][keep[0]].sum()) / n) / math.log(40), rel=1e-14)


def test_token_entropy_errors():
    z = torch.zeros(2, 3, 5)
    with pytest.raises(ValueError, match="exactly one of logits= and log_probs="):
        token_entropy()
    with pytest.raises(ValueError, match="mask has shape"):
        token_entropy(z, mask=torch.ones(2, 4))
    with pytest.raises(ValueError, match="labels has shape"):
        token_entropy(z, labels=torch.ones(3, 3))
    with pytest.raises(ValueError, match="selects no positions"):
        token_entropy(z, mask=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="reduce must be"):
        token_entropy(z, reduce="median")
    with pytest.raises(ValueError, match="quantiles"):
        token_entropy(z, reduce=1.5)
    with pytest.raises(ValueError, match="label_shift"):
        token_entropy(z, labels=torch.ones(2, 3), label_shift=-1)
    bad = z.clone()
    bad[0, 1, 2] = math.nan
    with pytest.raises(ValueError, match="1 real positions have NaN"):
        token_entropy(bad)
    assert token_entropy(bad, mask=torch.tensor([[1, 0, 1], [1, 1, 1]])) == pytest.approx(math.log(5))
    with pytest.raises(ValueError, match="counted positions have NaN"):
        prediction_entropy_update(bad)
    with pytest.raises(ValueError, match="chunk_size"):
        logit_entropy(z, chunk_size=0)


def test_summaries_against_explicit_loops():
    g = torch.Generator().manual_seed(5)
    z = torch.randn(4, 9, 30, generator=g) * 2
    am = torch.ones(4, 9, dtype=torch.int64)
    am[1, :3] = 0
    am[3, 6:] = 0
    h = token_entropy(z, mask=am, reduce="none").numpy()
    real = [(i, t) for i in range(4) for t in range(9) if am[i, t]]
    thr = 2.5
    assert high_entropy_share(h, thr) == sum(h[i, t] > thr for i, t in real) / len(real)
    w = windowed_entropy(h, 4)
    for k in range(3):
        vals = [h[i, t] for i, t in real if k * 4 <= t < (k + 1) * 4]
        assert w[k] == pytest.approx(np.mean(vals), rel=1e-14)
    h2 = token_entropy(z * 0.5, mask=am, reduce="none").numpy()
    assert entropy_change(h, h2) == pytest.approx(np.mean([h2[i, t] - h[i, t] for i, t in real]), rel=1e-14)
    tokens = torch.randint(0, 30, (4, 9), generator=g)
    lp = token_log_probs(z, tokens, vocab_chunk=7)
    ref = torch.log_softmax(z.double(), -1).gather(-1, tokens[..., None]).squeeze(-1)
    assert torch.allclose(lp, ref, rtol=0, atol=1e-13)
    adv = torch.randn(4, generator=g).double()
    x = np.array([float(lp[i, t]) for i, t in real])
    y = np.array([float(adv[i]) for i, t in real])
    assert logp_advantage_covariance(lp, adv, mask=am) == pytest.approx(np.cov(x, y, bias=True)[0, 1], rel=1e-12)
    per_token = adv[:, None].expand(4, 9)
    assert logp_advantage_covariance(lp, per_token, mask=am) == pytest.approx(np.cov(x, y, bias=True)[0, 1], rel=1e-12)
    with pytest.raises(ValueError, match="advantages must have shape"):
        logp_advantage_covariance(lp, torch.ones(3))
    with pytest.raises(ValueError, match="threshold"):
        high_entropy_share(h, None)
    with pytest.raises(ValueError, match="no token is counted at both"):
        entropy_change(np.full((2, 2), np.nan), np.ones((2, 2)))


def test_entropy_from_generate_scores_stops_at_each_sequences_end():
    g = torch.Generator().manual_seed(6)
    scores = tuple(torch.randn(3, 20, generator=g) for _ in range(4))
    seqs = torch.tensor([[7, 7, 3, 4, 5, 6], [7, 7, 0, 1, 1, 1], [7, 7, 3, 1, 1, 1]])  # eos = 1
    h = token_entropy_from_scores(scores, sequences=seqs, eos_token_id=1)
    ref = torch.stack([logit_entropy(s) for s in scores], dim=1)
    keep = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]], dtype=torch.bool)
    assert torch.isnan(h[~keep]).all() and torch.equal(h[keep], ref[keep])
    assert token_entropy_from_scores(scores, sequences=seqs, eos_token_id=1, reduce="mean") == float(ref[keep].mean())
    with pytest.raises(ValueError, match="pass both"):
        token_entropy_from_scores(scores, sequences=seqs)
    with pytest.raises(TypeError, match="output_scores"):
        token_entropy_from_scores(torch.zeros(3, 4, 20))


# ------------------------------------------------------------------------------------------------
# attention entropy under padding and causal masks
# ------------------------------------------------------------------------------------------------
def _attention_loop(a, mask, causal):
    """Per-head (mean H, mean H / log n) over real queries, with an explicit loop (the reference)."""
    a = np.asarray(a, dtype=np.float64)
    b, nh, q, k = a.shape
    out, norm = np.zeros(nh), np.zeros(nh)
    n_rows = n_norm = 0
    for i in range(b):
        for t in range(q):
            if not mask[i][t]:
                continue
            keys = [j for j in range(k) if mask[i][j] and (not causal or j <= t)]
            n_rows += 1
            if len(keys) > 1:
                n_norm += 1
            for h in range(nh):
                p = a[i, h, t, keys]
                p = p / p.sum()
                e = -sum(x * math.log(x) for x in p if x > 0)
                out[h] += e
                if len(keys) > 1:
                    norm[h] += e / math.log(len(keys))
    return out / n_rows, norm / n_norm


def _masked_causal_softmax(scores, mask, causal=True):
    b, nh, q, k = scores.shape
    allowed = mask[:, None, None, :].bool()
    if causal:
        allowed = allowed & torch.tril(torch.ones(q, k, dtype=torch.bool))
    s = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    return torch.softmax(s, -1)  # padded queries: masked everywhere -> uniform over all keys, as in HF


def test_padded_queries_are_left_out_and_keys_masked_with_left_and_right_padding():
    g = torch.Generator().manual_seed(7)
    scores = torch.randn(3, 2, 6, 6, generator=g) * 2
    for mask in (torch.tensor([[0, 0, 1, 1, 1, 1], [1] * 6, [0, 0, 0, 1, 1, 1]]),
                 torch.tensor([[1, 1, 1, 1, 0, 0], [1] * 6, [1, 1, 1, 0, 0, 0]])):
        a = _masked_causal_softmax(scores, mask)
        ref, ref_norm = _attention_loop(a, mask.tolist(), causal=True)
        assert np.allclose(attention_entropy(a, mask=mask), ref, rtol=1e-6)  # causal inferred from the zeros
        assert np.allclose(attention_entropy(a, mask=mask, causal=True, normalize=True), ref_norm, rtol=1e-6)
        assert np.allclose(attention_entropy(a.double(), mask=mask), _attention_loop(a.double(), mask.tolist(), True)[0],
                           rtol=1e-12)
        # without the mask the padded rows (uniform over all keys) raise the value
        assert all(x > y for x, y in zip(attention_entropy(a), ref))
    bidir = _masked_causal_softmax(scores, mask, causal=False)
    assert np.allclose(attention_entropy(bidir, mask=mask), _attention_loop(bidir, mask.tolist(), False)[0], rtol=1e-6)


def test_a_uniform_causal_head_scores_exactly_one_normalised():
    q = 9
    c = torch.tril(torch.ones(q, q))
    a = (c / c.sum(-1, keepdim=True)).expand(2, 3, q, q)
    assert attention_entropy(a, normalize=True) == [1.0, 1.0, 1.0]
    assert attention_entropy(a.double(), normalize=True) == [1.0, 1.0, 1.0]
    mean_log = sum(math.log(t + 1) for t in range(q)) / q
    assert attention_entropy(a) == pytest.approx([mean_log] * 3, rel=1e-7)
    # with left padding: query t of a row with p pads sees t - p + 1 keys, still exactly 1
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1, 1], [1] * 9])
    allowed = (mask[:, None, :].bool() & torch.tril(torch.ones(q, q, dtype=torch.bool))).double()
    u = allowed / allowed.sum(-1, keepdim=True).clamp(min=1)
    u = torch.where(allowed.sum(-1, keepdim=True) > 0, u, torch.full_like(u, 1 / q))[:, None].expand(2, 2, q, q)
    assert attention_entropy(u, mask=mask, normalize=True) == [1.0, 1.0]


def test_nan_rows_of_real_queries_raise_and_padded_nan_rows_do_not():
    a = torch.full((1, 2, 4, 4), 0.25)
    a[0, 0, 1] = math.nan
    with pytest.raises(ValueError, match="1 attention rows of real queries contain NaN"):
        attention_entropy(a)
    assert attention_entropy(a, mask=torch.tensor([[1, 0, 1, 1]]), causal=False) == pytest.approx(
        [math.log(3)] * 2, rel=1e-7)
    with pytest.raises(ValueError, match="no probability on the keys"):
        attention_entropy(torch.eye(4)[None, None].flip(-1), causal=True)
    with pytest.raises(TypeError, match="causal"):
        attention_entropy(a, causal="yes")
    with pytest.raises(ValueError, match="mask must have shape"):
        attention_entropy(a, mask=torch.ones(1, 3))


def test_attention_chunks_kv_cache_offset_and_query_mask():
    g = torch.Generator().manual_seed(8)
    mask = torch.tensor([[0, 1, 1, 1, 1], [1, 1, 1, 1, 1]])
    a = _masked_causal_softmax(torch.randn(2, 3, 5, 5, generator=g, dtype=torch.float64), mask)
    one = attention_entropy_update(a, mask=mask, chunk_elements=1)  # one head at a time
    full = attention_entropy_update(a, mask=mask)
    assert all(torch.allclose(x, y, rtol=1e-15, atol=0) for x, y in zip(one, full))
    # a KV cache: the 2 queries are the last 2 positions of 5 keys; query i sees keys <= i + 3
    last = a[:, :, 3:, :]
    def row_entropy(i, h, t):  # over the real keys <= t (key 0 of sequence 0 is padding, at probability 0)
        p = a[i, h, t, : t + 1]
        return float(_entropy_rows((p / p.sum()).numpy()[None])[0])

    ref = [np.mean([row_entropy(i, h, t) for i in range(2) for t in (3, 4)]) for h in range(3)]
    assert np.allclose(attention_entropy(last, mask=mask, query_mask=torch.ones(2, 2)), ref, rtol=1e-12)
    assert np.allclose(attention_entropy(last, mask=mask), ref, rtol=1e-12)  # all queries count by default
    ref_q = [row_entropy(1, h, 4) for h in range(3)]
    assert np.allclose(attention_entropy(last, mask=mask, query_mask=torch.tensor([[0, 0], [0, 1]])), ref_q,
                       rtol=1e-12)
