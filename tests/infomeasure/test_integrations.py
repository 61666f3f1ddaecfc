"""Lightning and Hugging Face Trainer adapters: tiny models built from configs, no downloads."""

import csv
import json
import math
import time
import types
import warnings

import pytest

torch = pytest.importorskip("torch")

from infomeasure.measures import Measure
from infomeasure.run_dir import read_metrics

LIGHTNING_LAYERS = ["encoder.0", "encoder.1", "head"]
BERT_LAYERS = ["bert.encoder.layer.0", "bert.encoder.layer.1", "classifier"]


def _no_hooks(model):
    return all(not m._forward_hooks for m in model.modules())


def _check_run(run, cb, layers, steps):
    """The run directory holds the probed layers and steps: 2 measures x 3 layers per step, all finite."""
    man = json.loads((run / "manifest.json").read_text())
    assert list(man["layers"]) == layers
    rows = read_metrics(run)
    assert sorted({r["step"] for r in rows}) == steps
    assert len(rows) == 2 * 3 * len(steps) and rows == cb.probes.results
    assert all(r["error"] is None and math.isfinite(r["value"]) for r in rows)
    return man, rows


class Late(Measure):
    """A measure that takes 0.1 s (the value is 1): in background mode its rows arrive steps after their probe step."""

    name, method, torch_path = "late", "none", False

    def compute(self, Z, y=None, spectrum=None):
        time.sleep(0.1)
        return 1.0


def _measures(background):
    # passed as {"*": [...]}: the dict form runs prediction_entropy on every layer (one list skips it on hidden layers)
    return ["rankme", "prediction_entropy", *([Late()] if background else [])]


def _expected_metrics(rows, prefix="probes"):
    """``{step: {"probes/<layer>/<measure>": value}}`` of result rows: what the loggers must receive."""
    out = {}
    for r in rows:
        out.setdefault(r["step"], {})[f"{prefix}/{r['layer']}/{r['measure']}"] = r["value"]
    return out


# ------------------------------------------------------------------------------------------------
# Lightning
# ------------------------------------------------------------------------------------------------
def _lightning():
    """A tiny LightningModule (it logs ``train_loss``), its data, and a Trainer factory."""
    L = pytest.importorskip("lightning.pytorch")

    class Tiny(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU())
            self.head = torch.nn.Linear(16, 3)

        def forward(self, x):
            return self.head(self.encoder(x))

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.cross_entropy(self(x), y)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    torch.manual_seed(0)
    x = torch.randn(64, 8)
    y = (x[:, 0] > 0).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)

    def trainer(tmp_path, cb, max_steps=10, logger=False):
        return L.Trainer(max_steps=max_steps, accelerator="cpu", devices=1, logger=logger, log_every_n_steps=1,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[cb], default_root_dir=tmp_path)

    return Tiny, (x, y), loader, trainer


def test_lightning_probe_callback_writes_run_directory(tmp_path):
    from infomeasure.integrations.lightning import ProbeCallback

    Tiny, (x, y), loader, make_trainer = _lightning()
    cb = ProbeCallback(layers=["encoder.*", "head"], measures={"*": ["rankme", "prediction_entropy"]}, every=4,
                       probe_data=(x[:40], y[:40]), run_dir=tmp_path / "run")
    model = Tiny()
    make_trainer(tmp_path, cb).fit(model, loader)
    # step 0 before the first optimizer step; global_step after batches 1..10 is 1..10: probes at 4 and 8
    man, rows = _check_run(tmp_path / "run", cb, LIGHTNING_LAYERS, [0, 4, 8])
    assert man["probe_steps"] == 3 and _no_hooks(model)
    with pytest.raises(TypeError, match="model="):
        ProbeCallback(model=model, layers="head")
    # a second fit with the same callback (more steps) continues its own run directory
    make_trainer(tmp_path, cb, max_steps=14).fit(model, loader)
    assert sorted({r["step"] for r in read_metrics(tmp_path / "run")}) == [0, 4, 8, 12]
    man2 = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert man2["previous_runs"][0]["probe_steps"] == 3 and man2["probe_steps"] == 4


@pytest.mark.parametrize("background", [False, True])
def test_lightning_csv_logger_receives_the_probe_values_at_their_steps(tmp_path, background):
    from lightning.pytorch.loggers import CSVLogger

    from infomeasure.integrations.lightning import ProbeCallback

    Tiny, (x, y), loader, make_trainer = _lightning()
    cb = ProbeCallback(layers=["encoder.*", "head"], measures={"*": _measures(background)}, every=4,
                       probe_data=(x[:40], y[:40]), background=background)
    logger = CSVLogger(tmp_path, name="csv", version=0)
    make_trainer(tmp_path, cb, logger=logger).fit(Tiny(), loader)
    with open(tmp_path / "csv" / "version_0" / "metrics.csv", newline="") as f:
        table = list(csv.DictReader(f))
    expected = _expected_metrics(cb.probes.results)
    assert sorted(expected) == [0, 4, 8] and len(expected[0]) == 3 * len(_measures(background))
    probe_rows = [r for r in table if r["probes/head/rankme"]]
    if background:  # the values of step 4 arrived (and were logged) after the loss of later steps
        assert table.index(probe_rows[1]) > table.index(next(r for r in table if r["train_loss"] and r["step"] == "5"))
    # one CSV row per probe step, at that step (in background mode too, where the values arrive later)
    assert [int(r["step"]) for r in probe_rows] == [0, 4, 8]
    for r in probe_rows:
        assert {k: float(v) for k, v in r.items() if k.startswith("probes/")} == expected[int(r["step"])]
    # the user's own metric is still there, one per optimizer step (log_every_n_steps=1) from step 0
    assert [int(r["step"]) for r in table if r["train_loss"]] == list(range(10))


def test_lightning_log_options(tmp_path):
    from lightning.pytorch.loggers import CSVLogger

    from infomeasure.integrations.lightning import ProbeCallback

    Tiny, (x, y), loader, make_trainer = _lightning()
    cb = ProbeCallback(layers="head", measures=["rankme", "von_neumann_entropy"], every=5, probe_data=x[:40],
                       log_prefix="im/")
    logger = CSVLogger(tmp_path, name="csv", version=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # few samples per dimension for kNN MI
        make_trainer(tmp_path, cb, logger=logger).fit(Tiny(), loader)
    header = (tmp_path / "csv" / "version_0" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"im/head/rankme", "im/head/von_neumann_entropy"} <= set(header)
    cb = ProbeCallback(layers="head", measures=["rankme"], every=5, probe_data=x[:40], log_values=False)
    logger = CSVLogger(tmp_path, name="csv", version=1)
    make_trainer(tmp_path, cb, logger=logger).fit(Tiny(), loader)
    assert not any("rankme" in h for h in (tmp_path / "csv" / "version_1" / "metrics.csv").read_text().splitlines()[0].split(","))
    assert len(cb.probes.results) == 3  # steps 0, 5, 10: measured all the same
    with pytest.raises(TypeError, match="log_prefix"):
        ProbeCallback(layers="head", log_prefix=1)
    with pytest.raises(TypeError, match="log_values"):
        ProbeCallback(layers="head", log_values="yes")


# ------------------------------------------------------------------------------------------------
# Hugging Face Trainer
# ------------------------------------------------------------------------------------------------
def _bert():
    """A 2-layer BERT classifier from a config, a dataset made here, probe inputs, and a Trainer factory."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")  # the Trainer needs it
    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=16, num_labels=3)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 50, (48, 8), generator=g)
    labels = ids[:, 0] % 3

    class DS(torch.utils.data.Dataset):
        def __len__(self):
            return 48

        def __getitem__(self, i):
            return {"input_ids": ids[i], "attention_mask": torch.ones(8, dtype=torch.long), "labels": labels[i]}

    probe = {"input_ids": ids[:32], "attention_mask": torch.ones(32, 8, dtype=torch.long)}

    def trainer(tmp_path, callbacks, **kw):
        kw = {"logging_strategy": "no", **kw}
        args = transformers.TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=6, per_device_train_batch_size=8,
                                              report_to=[], save_strategy="no", use_cpu=True, disable_tqdm=True,
                                              dataloader_num_workers=0, **kw)
        return transformers.Trainer(model=model, args=args, train_dataset=DS(), callbacks=callbacks)

    return transformers, model, probe, trainer


def test_hf_trainer_probe_callback_writes_run_directory(tmp_path):
    from infomeasure.integrations.hf import ProbeCallback

    transformers, model, probe, make_trainer = _bert()
    cb = ProbeCallback(layers=["bert.encoder.layer.?", "classifier"], measures={"*": ["rankme", "prediction_entropy"]},
                       every=3, probe_data=probe, run_dir=tmp_path / "run")
    make_trainer(tmp_path, [cb]).train()
    man, rows = _check_run(tmp_path / "run", cb, BERT_LAYERS, [0, 3, 6])
    # encoder layers: (batch, tokens, 16) hidden states averaged over tokens
    assert {r["n_features"] for r in rows if r["layer"].startswith("bert")} == {16}
    assert {r["n_samples"] for r in rows} == {32}
    assert _no_hooks(model)


@pytest.mark.parametrize("background", [False, True])
def test_hf_log_history_and_on_log_receive_the_probe_values(tmp_path, background):
    from infomeasure.integrations.hf import ProbeCallback

    transformers, model, probe, make_trainer = _bert()

    class Spy(transformers.TrainerCallback):  # stands for a report_to integration: it logs at state.global_step
        def __init__(self):
            self.seen = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            self.seen.append((state.global_step, dict(logs)))

    spy = Spy()
    cb = ProbeCallback(layers=["bert.encoder.layer.?", "classifier"], measures={"*": _measures(background)},
                       every=3, probe_data=probe, background=background)
    trainer = make_trainer(tmp_path, [cb, spy], logging_strategy="steps", logging_steps=2)
    trainer.train()
    expected = _expected_metrics(cb.probes.results)
    assert sorted(expected) == [0, 3, 6] and len(expected[0]) == 3 * len(_measures(background))
    history = trainer.state.log_history
    probe_entries = [e for e in history if "probes/classifier/rankme" in e]
    if background:  # the values of step 3 arrived (and were logged) after the loss of step 4
        assert history.index(probe_entries[1]) > history.index(next(e for e in history if e.get("loss") and e["step"] == 4))
    assert [e["step"] for e in probe_entries] == [0, 3, 6]
    for e in probe_entries:
        assert {k: v for k, v in e.items() if k.startswith("probes/")} == expected[e["step"]]
        assert set(e) == {*expected[e["step"]], "epoch", "step"}
        assert e["epoch"] == e["step"] / 6  # 6 batches an epoch: the epoch of the probe step, also in background mode
    # the Trainer's own entries are all there, also at steps where probe values were logged (6; 4 in background
    # mode, where the values of step 3 arrive then)
    assert [e["step"] for e in history if "loss" in e] == [2, 4, 6]
    seen = [(step, {k: v for k, v in logs.items() if k.startswith("probes/")}) for step, logs in spy.seen
            if "probes/classifier/rankme" in logs]
    assert seen == [(s, expected[s]) for s in (0, 3, 6)]  # on_log at the probe step, background mode too
    assert trainer.state.global_step == 6


def test_hf_attach_and_the_fallback_without_a_handler(tmp_path):
    from infomeasure.integrations.hf import ProbeCallback

    transformers, model, probe, make_trainer = _bert()
    trainer = make_trainer(tmp_path, [])
    cb = ProbeCallback(layers="classifier", measures=["rankme"], every=3, probe_data=probe)
    assert cb.attach(trainer) is cb and cb.attach(trainer) is cb  # added once
    assert sum(c is cb for c in trainer.callback_handler.callbacks) == 1
    trainer.train()
    assert [e["step"] for e in trainer.state.log_history if "probes/classifier/rankme" in e] == [0, 3, 6]
    with pytest.raises(TypeError, match="attach needs a transformers.Trainer"):
        cb.attach(object())
    # called by hand (no Trainer up the stack): the entries still reach log_history, with one warning
    # when report_to integrations are configured
    cb = ProbeCallback(layers="classifier", measures=["rankme"], every=1, probe_data=probe)
    state, control = transformers.TrainerState(), transformers.TrainerControl()
    args = types.SimpleNamespace(report_to=["tensorboard"])
    with pytest.warns(UserWarning, match=r"callback.attach\(trainer\)"):
        cb.on_train_begin(args, state, control, model=model)
    state.global_step = 1
    cb.on_step_end(args, state, control)
    cb.on_train_end(args, state, control)
    assert [e["step"] for e in state.log_history] == [0, 1]
    assert state.log_history[1]["probes/classifier/rankme"] == cb.probes.results[1]["value"]
