"""Lightning and Hugging Face Trainer adapters: tiny models built from configs, no downloads."""

import json
import math

import pytest

torch = pytest.importorskip("torch")

from infomeasure.run_dir import read_metrics


def _no_hooks(model):
    return all(not m._forward_hooks for m in model.modules())



def _check_run(run, cb, layers, steps):
    """The run directory holds the probed layers and steps: 2 measures x 3 layers per step, all finite."""
    man = json.loads((run / "manifest.json").read_text())
    assert list(man["layers"]) == layers
    rows = read_metrics(run)
    assert sorted({r["step"] for r in rows}) == steps
    assert len(rows) == 2 * 3 * 2 and rows == cb.probes.results
    assert all(r["error"] is None and math.isfinite(r["value"]) for r in rows)
    return man, rows

def test_lightning_probe_callback_writes_run_directory(tmp_path):
    L = pytest.importorskip("lightning.pytorch")
    from infomeasure.integrations.lightning import ProbeCallback

    class Tiny(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU())
            self.head = torch.nn.Linear(16, 3)

        def forward(self, x):
            return self.head(self.encoder(x))

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.cross_entropy(self(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    torch.manual_seed(0)
    x = torch.randn(64, 8)
    y = (x[:, 0] > 0).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    cb = ProbeCallback(layers=["encoder.*", "head"], measures=["rankme", "prediction_entropy"], every=4,
                       probe_data=(x[:40], y[:40]), run_dir=tmp_path / "run")
    model = Tiny()
    trainer = L.Trainer(max_steps=10, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[cb],
                        default_root_dir=tmp_path)
    trainer.fit(model, loader)
    # global_step after batches 1..10 is 1..10; probes at 4 and 8
    man, rows = _check_run(tmp_path / "run", cb, ["encoder.0", "encoder.1", "head"], [4, 8])
    assert man["probe_steps"] == 2 and _no_hooks(model)
    with pytest.raises(TypeError, match="model="):
        ProbeCallback(model=model, layers="head")
    # a second fit with the same callback (more steps) continues its own run directory
    trainer2 = L.Trainer(max_steps=14, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[cb],
                         default_root_dir=tmp_path)
    trainer2.fit(model, loader)
    assert sorted({r["step"] for r in read_metrics(tmp_path / "run")}) == [4, 8, 12]
    man2 = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert man2["previous_runs"][0]["probe_steps"] == 2 and man2["probe_steps"] == 3


def test_hf_trainer_probe_callback_writes_run_directory(tmp_path):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")  # the Trainer needs it
    from infomeasure.integrations.hf import ProbeCallback

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

    cb = ProbeCallback(layers=["bert.encoder.layer.?", "classifier"], measures=["rankme", "prediction_entropy"],
                       every=3, probe_data={"input_ids": ids[:32], "attention_mask": torch.ones(32, 8, dtype=torch.long)},
                       run_dir=tmp_path / "run")
    args = transformers.TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=6, per_device_train_batch_size=8,
                                          report_to=[], save_strategy="no", logging_strategy="no", use_cpu=True,
                                          disable_tqdm=True, dataloader_num_workers=0)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=DS(), callbacks=[cb])
    trainer.train()
    man, rows = _check_run(tmp_path / "run", cb, ["bert.encoder.layer.0", "bert.encoder.layer.1", "classifier"], [3, 6])
    # encoder layers: (batch, tokens, 16) hidden states averaged over tokens
    assert {r["n_features"] for r in rows if r["layer"].startswith("bert")} == {16}
    assert {r["n_samples"] for r in rows} == {32}
    assert _no_hooks(model)
