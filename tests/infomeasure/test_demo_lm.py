"""The LM demo (``infomeasure demo --lm``): the corpus and its split, falling held-out loss and token
entropy, the probes' values against direct computations on the trained model, outputs, CLI, errors."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("matplotlib")

import torch

import infomeasure as im
from infomeasure.cli import main
from infomeasure.demo_lm import PAD, STDLIB_MODULES, _corpus, _probe_batch, demo_lm, stdlib_docstrings
from infomeasure.run_dir import read_metrics

SHORT = 200  # steps of the suite's run: the full demo (1,500 steps) takes about a minute


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    return demo_lm(tmp_path_factory.mktemp("lm"), steps=SHORT, progress=False, verbose=False)


def test_corpus_is_fixed_split_by_module_and_small():
    assert list(STDLIB_MODULES) == sorted(set(STDLIB_MODULES))
    a, b = stdlib_docstrings(["json", "bisect"]), stdlib_docstrings(["bisect"])
    assert a["bisect"] == b["bisect"] and a["bisect"].startswith("Bisection algorithms.")
    assert "JSON" in a["json"] and '"""' not in a["json"]
    train, held, train_mods, held_mods = _corpus()
    assert held_mods == list(STDLIB_MODULES[4::5]) and not set(held_mods) & set(train_mods)
    assert set(held_mods) | set(train_mods) == set(STDLIB_MODULES)
    # a few hundred KB of bytes, about a quarter held out
    assert 200_000 < len(train) < 700_000 and 0.15 < len(held) / (len(train) + len(held)) < 0.35
    assert train.dtype == np.int64 and 0 <= train.min() and train.max() < 256
    t2, h2, *_ = _corpus()
    assert np.array_equal(train, t2) and np.array_equal(held, h2)


def test_probe_batch_is_padded_and_masked():
    _, held, *_ = _corpus()
    batch = _probe_batch(torch, held, 8, 64)
    ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
    assert ids.shape == mask.shape == labels.shape == (8, 64)
    assert mask.sum(1).tolist() == [64, 52, 40, 28] * 2  # right padding of 0, 12, 24, 36 tokens
    assert bool((ids[mask == 0] == PAD).all()) and bool((labels[mask == 0] == -100).all())
    assert torch.equal(labels[mask == 1], ids[mask == 1]) and int(ids[mask == 1].max()) < 256


# Seed spread, measured on a 2-core machine (seeds 0, 1, 2; one torch thread, as the demo runs):
# every seed starts at a held-out loss of 5.538 and a token entropy of 5.534 nats (log 257 = 5.549).
# After 200 steps the held-out loss is 3.059 / 3.256 / 3.023 (seed 1 is still leaving the plateau at
# the byte-frequency entropy, 3.24 nats) and the token entropy 3.200 / 3.266 / 3.232; after the
# demo's 1,500 steps 2.013 / 2.146 / 2.177 and 1.967 / 2.125 / 2.119. The drops asserted below (1.5
# nats at 200 steps) sit more than 4 seed-to-seed SDs (0.13 nats at most) under the smallest one (2.28).
def test_heldout_loss_and_token_entropy_fall(short):
    first, last = short.table[0], short.table[-1]
    assert first["step"] == 0 and last["step"] == SHORT
    # at initialisation the model is near uniform over the 257 tokens
    assert abs(first["heldout_loss"] - math.log(257)) < 0.03
    assert abs(first["token_entropy"] - math.log(257)) < 0.03
    assert last["heldout_loss"] < first["heldout_loss"] - 1.5  # 5.54 -> 3.02 .. 3.26
    assert last["token_entropy"] < first["token_entropy"] - 1.5  # 5.53 -> 3.20 .. 3.27
    assert last["loss"] < first["loss"] - 1.5  # the fixed training windows: 5.54 -> 3.07 .. 3.28
    # and they keep falling: the last third of the schedule is below the first probe after step 10
    later = [r for r in short.table if r["step"] >= SHORT // 3]
    early = next(r for r in short.table if r["step"] >= 10)
    assert all(r["heldout_loss"] < early["heldout_loss"] for r in later)
    assert all(r["token_entropy"] < early["token_entropy"] for r in later)
    # heads start uniform (normalised attention entropy 1) and the first layer's specialise
    assert all(abs(a - 1.0) < 0.01 for a in first["attention"])
    assert last["attention"][0] < 0.97
    assert all(0 < m <= math.log(64) for m in first["matrix_entropy"] + last["matrix_entropy"])


def _hooked(model, names):
    outs = {}
    handles = [model.get_submodule(n).register_forward_hook(
        lambda mod, i, o, n=n: outs.__setitem__(n, o[0] if isinstance(o, tuple) else o)) for n in names]
    return outs, handles


def test_probe_values_equal_direct_computations_on_the_trained_model(short):
    """The last step's rows are the measures of the final model on the probe batch, computed here
    without probes: HF's own loss, im.token_entropy, im.attention_entropy under eager attention and
    im.matrix_entropy of the real tokens' hidden states."""
    model, batch = short.model, short.probe_batch
    mask = batch["attention_mask"]
    last = {(r["layer"], r["measure"]): r["value"] for r in read_metrics(short.run) if r["step"] == SHORT}
    blocks = ["transformer.drop"] + [f"transformer.h.{i}" for i in range(4)]
    outs, handles = _hooked(model, blocks)
    model.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            out = model(**batch, output_attentions=True)
    finally:
        for h in handles:
            h.remove()
        model.set_attn_implementation("sdpa")
    assert last[("model", "heldout_loss")] == pytest.approx(out.loss.item(), rel=1e-5)
    tok = im.token_entropy(out.logits, labels=batch["labels"])
    assert last[("lm_head", "prediction_entropy")] == pytest.approx(tok, rel=1e-5)
    assert short.table[-1]["token_entropy"] == last[("lm_head", "prediction_entropy")]
    for i, att in enumerate(out.attentions):
        per_head = im.attention_entropy(att, mask=mask, normalize=True)
        for h in range(4):
            assert last[(f"transformer.h.{i}.attn", f"attention_entropy[{h}]")] == pytest.approx(per_head[h], abs=1e-5)
        assert short.table[-1]["attention"][i] == pytest.approx(np.mean(per_head), abs=1e-5)
    for j, name in enumerate(blocks):
        real = outs[name][mask.bool()]
        assert real.shape == (int(mask.sum()), 64)
        assert last[(name, "matrix_entropy")] == pytest.approx(im.matrix_entropy(real.double().numpy()), abs=1e-5)
        assert short.table[-1]["matrix_entropy"][j] == last[(name, "matrix_entropy")]


def test_run_directory_and_report_show_heads_and_depth(short):
    rows = read_metrics(short.run)
    assert not [r for r in rows if r["error"]]
    steps = sorted({r["step"] for r in rows})
    assert steps == [r["step"] for r in short.table] and steps[0] == 0 and steps[-1] == SHORT and len(steps) >= 12
    measures = {r["measure"] for r in rows}
    assert {f"attention_entropy[{h}]" for h in range(4)} <= measures
    assert {"prediction_entropy", "matrix_entropy", "train_loss", "heldout_loss"} <= measures
    html = Path(short.report).read_text(encoding="utf-8")
    without_data = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    assert "http" not in without_data and "<script" not in without_data
    assert 'id="depth"' in html and "matrix_entropy by layer" in html and "attention_entropy by layer" in html
    assert "heldout_loss" in html and "held-out modules" in html


def test_cli_prints_the_table_and_is_deterministic(tmp_path, capsys):
    out_dir = tmp_path / "lm"
    tables = []
    for _ in range(2):  # the second run replaces the run directory
        assert main(["demo", "--lm", "-q", "--steps", "3", "-o", str(out_dir)]) == 0
        out = capsys.readouterr().out
        assert out.strip().endswith(f"report: {out_dir / 'report.html'}")
        lines = out.splitlines()
        head = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["step"])
        assert lines[head].split() == ["step", "loss", "held-out", "held-out", "attention", "entropy", "matrix",
                                       "entropy"]
        assert lines[head + 1].split() == ["loss", "H(token)", "h.0", "h.1", "h.2", "h.3", "emb", "h.0", "h.1", "h.2",
                                           "h.3"]
        body = lines[head + 2:head + 6]
        assert [int(ln.split()[0]) for ln in body] == [0, 1, 2, 3]
        assert all(len(ln.split()) == 13 for ln in body)
        tables.append(body)
    assert tables[0] == tables[1]  # seeded: the same numbers twice
    steps = sorted({r["step"] for r in read_metrics(out_dir / "gpt2-docstrings")})
    assert steps == [0, 1, 2, 3]


def test_bad_arguments(tmp_path, capsys):
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        demo_lm(tmp_path, steps=0)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        demo_lm(tmp_path, steps=2, seed=-1)
    (tmp_path / "file").write_text("x")
    assert main(["demo", "--lm", "-q", "-o", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err == (f"infomeasure demo: error: output {str(tmp_path / 'file')!r} is a file; "
                                       "pass a folder\n")
    (tmp_path / "o" / "gpt2-docstrings").mkdir(parents=True)
    with pytest.raises(ValueError, match="exists and is not a run directory"):
        demo_lm(tmp_path / "o", steps=2)
    with pytest.raises(ValueError, match="has no source file in this Python's standard library"):
        stdlib_docstrings(["no_such_module"])
    with pytest.raises(TypeError, match="modules must be module names"):
        stdlib_docstrings([3])


def test_missing_transformers_is_named(monkeypatch, tmp_path, capsys):
    import builtins

    real_import = builtins.__import__

    def no_transformers(name, *args, **kwargs):
        if name == "transformers" or name.startswith("transformers."):
            raise ImportError("No module named 'transformers'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_transformers)
    assert main(["demo", "--lm", "-q", "-o", str(tmp_path / "d")]) == 2
    assert capsys.readouterr().err == ("infomeasure demo: error: the LM demo needs transformers: pip install "
                                       "'infomeasure[dev]' (or pip install torch transformers matplotlib)\n")
    assert not (tmp_path / "d").exists()
