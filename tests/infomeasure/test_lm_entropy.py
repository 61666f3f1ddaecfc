"""Token and attention entropy probes on tiny Hugging Face models built from configs (issue 18).

Padding is left out (left and right padding), labels of -100 are left out, and attention weights
are the same whether the model was loaded with eager or SDPA attention: the probe pass switches
to eager and back.
"""

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from estimators.predictive import logit_entropy, token_entropy  # noqa: E402
from infomeasure import Probes  # noqa: E402
from infomeasure.measures import AttentionEntropy, PredictionEntropy  # noqa: E402

transformers.logging.set_verbosity_error()

LEFT = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1]])
RIGHT = LEFT.flip(-1)


def gpt2(impl, seed=0):
    torch.manual_seed(seed)
    cfg = transformers.GPT2Config(n_layer=2, n_head=2, n_embd=16, vocab_size=50, n_positions=32, bos_token_id=0,
                                  eos_token_id=0, attn_implementation=impl)
    m = transformers.GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():  # sharper attention than the tiny init gives, so heads differ
        for blk in m.transformer.h:
            blk.attn.c_attn.weight.mul_(8.0)
    return m


def ids():
    return torch.randint(1, 50, (3, 6), generator=torch.Generator().manual_seed(1))


def reference_attention(model, input_ids, mask):
    """Per layer and head: the mean entropy over real queries of their rows over real keys <= q (a loop)."""
    with torch.no_grad():
        out = model(input_ids=input_ids, attention_mask=mask, output_attentions=True)
    refs = []
    for a in out.attentions:
        a = a.double().numpy()
        b, nh, q, _ = a.shape
        tot, n = np.zeros(nh), 0
        for i in range(b):
            for t in range(q):
                if not mask[i, t]:
                    continue
                keys = [j for j in range(t + 1) if mask[i, j]]
                n += 1
                for h in range(nh):
                    p = a[i, h, t, keys] / a[i, h, t, keys].sum()
                    tot[h] += -sum(x * math.log(x) for x in p if x > 0)
        refs.append(tot / n)
    return refs


def probe_attention(model, batch, **kw):
    with Probes(model, layers="transformer.h.*.attn", output=1, measures=[AttentionEntropy(**kw)], every=1,
                probe_data=batch, background=False) as p:
        p.step(0)
    return {(r["layer"], r["measure"]): r for r in p.results}


@pytest.mark.parametrize("mask", [LEFT, RIGHT], ids=["left_padding", "right_padding"])
def test_attention_entropy_on_gpt2_leaves_padding_out_and_is_the_same_under_eager_and_sdpa(mask):
    batch = {"input_ids": ids(), "attention_mask": mask}
    got = {}
    for impl in ("eager", "sdpa"):
        model = gpt2(impl)
        got[impl] = probe_attention(model, batch)
        assert model.config._attn_implementation == impl  # switched back after the probe pass
        assert all(r["error"] is None for r in got[impl].values())
    refs = reference_attention(gpt2("eager"), batch["input_ids"], mask)
    for layer, ref in enumerate(refs):
        name = f"transformer.h.{layer}.attn"
        for h in range(2):
            e = got["eager"][(name, f"attention_entropy[{h}]")]["value"]
            s = got["sdpa"][(name, f"attention_entropy[{h}]")]["value"]
            assert e == pytest.approx(ref[h], rel=1e-6) and s == pytest.approx(ref[h], rel=1e-6)
            assert abs(e - s) <= 1e-6
    # the rows of padded queries (uniform over all keys in HF) would have raised the value
    unmasked = probe_attention(gpt2("sdpa"), batch, use_masks=False)
    key = ("transformer.h.0.attn", "attention_entropy")
    assert unmasked[key]["value"] > got["sdpa"][key]["value"] + 0.05


def test_normalised_attention_entropy_of_gpt2_is_in_0_1_and_near_1_for_uniform_heads():
    model = gpt2("sdpa")
    with torch.no_grad():  # zero queries and keys: every real row is uniform over its allowed keys
        for blk in model.transformer.h:
            blk.attn.c_attn.weight.zero_()
            blk.attn.c_attn.bias.zero_()
    rows = probe_attention(model, {"input_ids": ids(), "attention_mask": LEFT}, normalize=True)
    for r in rows.values():
        assert r["value"] == pytest.approx(1.0, abs=1e-6) and r["units"] == "unitless"


def test_prediction_entropy_probe_leaves_out_padding_and_ignored_labels():
    model = gpt2("sdpa")
    with torch.no_grad():  # tied embeddings and head: sharper, position-dependent predictions
        model.transformer.wte.weight.mul_(40.0)
    input_ids = ids()
    labels = input_ids.clone()
    labels[:, :2] = -100  # prompt tokens
    labels[LEFT == 0] = -100
    batch = {"input_ids": input_ids, "attention_mask": LEFT}
    with torch.no_grad():
        logits = model(**batch).logits
    h = logit_entropy(logits)
    for data, keep in ((batch, LEFT.bool()),
                       ({**batch, "labels": labels}, LEFT.bool() & torch.cat([labels[:, 1:] != -100,
                                                                              torch.zeros(3, 1, dtype=torch.bool)], 1))):
        with Probes(model, layers="lm_head", measures=[PredictionEntropy()], every=1, probe_data=data,
                    background=False, batch_size=2) as p:
            p.step(0)
        (row,) = p.results
        assert row["error"] is None
        assert row["value"] == pytest.approx(float(h[keep].mean()), rel=1e-6)  # float32 logits of two batches
        assert row["value"] == pytest.approx(token_entropy(logits, mask=data["attention_mask"],
                                                           labels=data.get("labels")), rel=1e-6)
    assert abs(float(h[LEFT.bool()].mean()) - float(h.mean())) > 1e-3  # padding would move it


def test_tap_mode_with_sdpa_gives_one_error_row_with_the_fix():
    model = gpt2("sdpa")
    batch = {"input_ids": ids(), "attention_mask": RIGHT}
    p = Probes(model, layers="transformer.h.0.attn", output=1, measures=["attention_entropy"], every=1,
               mode="tap", tap_samples=3, background=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with p.tap(0):
            model(**batch)
        p.step(0)
    p.close()
    errors = {r["error"] for r in p.results}
    assert len(errors) == 1 and "attn_implementation='eager'" in errors.pop()
    # loaded with eager, tap mode measures it, padding left out
    model = gpt2("eager")
    with Probes(model, layers="transformer.h.0.attn", output=1, measures=["attention_entropy"], every=1,
                mode="tap", tap_samples=3, background=False) as p:
        with p.tap(0):
            model(**batch)
        p.step(0)
    ref = reference_attention(model, batch["input_ids"], RIGHT)[0]
    got = {r["measure"]: r["value"] for r in p.results}
    assert [got["attention_entropy[0]"], got["attention_entropy[1]"]] == pytest.approx(list(ref), rel=1e-6)


def test_prediction_entropy_measure_uses_token_labels_only_and_refuses_a_mismatched_mask():
    m = PredictionEntropy()
    z = torch.randn(2, 4, 7, generator=torch.Generator().manual_seed(2))
    h = logit_entropy(z)
    s = m.update(m.init(), z, batch={"labels": torch.tensor([1, 0])})  # sequence labels: not a token mask
    assert m.finalize(s)[""] == pytest.approx(float(h.mean()), rel=1e-15)
    with pytest.raises(ValueError, match="attention_mask has shape"):
        m.update(m.init(), z, batch={"attention_mask": torch.ones(2, 5)})
    s = m.update(m.init(), z[:, 0], batch={"attention_mask": torch.ones(2, 5)})  # (batch, classes): no positions
    assert m.finalize(s)[""] == pytest.approx(float(h[:, 0].mean()), rel=1e-15)
    with pytest.raises(TypeError, match="causal"):
        AttentionEntropy(causal=1)


def test_bidirectional_bert_attention_with_right_padding_is_the_same_under_eager_and_sdpa():
    def bert(impl):
        torch.manual_seed(0)
        cfg = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                      intermediate_size=32, max_position_embeddings=16, attn_implementation=impl)
        m = transformers.BertModel(cfg).eval()
        with torch.no_grad():
            for blk in m.encoder.layer:
                blk.attention.self.query.weight.mul_(8.0)
        return m

    batch = {"input_ids": ids(), "attention_mask": RIGHT}
    got = {}
    for impl in ("eager", "sdpa"):
        model = bert(impl)
        with Probes(model, layers="encoder.layer.*.attention.self", output=1, measures=["attention_entropy"],
                    every=1, probe_data=batch, background=False) as p:
            p.step(0)
        got[impl] = {(r["layer"], r["measure"]): r["value"] for r in p.results}
        assert model.config._attn_implementation == impl
    with torch.no_grad():
        atts = bert("eager")(**batch, output_attentions=True).attentions
    for layer, a in enumerate(atts):
        a = a.double()
        for h in range(2):
            vals = []
            for i in range(3):
                real = RIGHT[i].bool()
                for t in torch.nonzero(real).flatten().tolist():
                    p = a[i, h, t][real]
                    p = p / p.sum()
                    vals.append(float(-(p * p.log()).sum()))
            key = (f"encoder.layer.{layer}.attention.self", f"attention_entropy[{h}]")
            assert got["eager"][key] == pytest.approx(np.mean(vals), rel=1e-6)
            assert abs(got["eager"][key] - got["sdpa"][key]) <= 1e-6
