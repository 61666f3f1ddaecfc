"""Reading saved activations: every format, run-directory snapshots, batch folders, error paths."""

import os
import pickle

import numpy as np
import pytest

import infomeasure as im
from infomeasure.activations import ActivationFile, list_snapshots, load_activations, load_array
from infomeasure.analysis import analyze, reduce_array
from infomeasure.probes import Probes
from infomeasure.run_dir import RunDir


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return {"enc.0": rng.standard_normal((50, 6)).astype(np.float32), "head": rng.standard_normal((50, 3))}


def _same(loaded, arrays):
    assert list(loaded) == list(arrays)
    for k, v in arrays.items():
        got = loaded[k]
        assert got.dtype == v.dtype and np.array_equal(got, v), k


def test_npz_roundtrip_is_exact_and_lazy(tmp_path, arrays):
    p = tmp_path / "a.npz"
    np.savez(p, **arrays)
    f = load_activations(p)
    assert isinstance(f, ActivationFile) and f.format == "npz" and len(f) == 2
    _same(f, arrays)


def test_npy_is_memory_mapped_and_named_after_the_file(tmp_path, arrays):
    p = tmp_path / "layer3.npy"
    np.save(p, arrays["head"])
    f = load_activations(p)
    assert list(f) == ["layer3"]
    assert isinstance(f["layer3"], np.memmap)
    assert np.array_equal(f["layer3"], arrays["head"])


def test_safetensors_roundtrip(tmp_path, arrays):
    from safetensors.numpy import save_file

    p = tmp_path / "a.safetensors"
    save_file(arrays, str(p), metadata={"step": "7"})
    f = load_activations(p)
    assert f.format == "safetensors" and f.metadata == {"step": "7"}
    assert sorted(f) == sorted(arrays)
    for k, v in arrays.items():
        assert f[k].dtype == v.dtype and np.array_equal(f[k], v)


def test_pt_dict_tensor_list_and_bfloat16(tmp_path, arrays):
    torch = pytest.importorskip("torch")
    p = tmp_path / "a.pt"
    torch.save({k: torch.from_numpy(v) for k, v in arrays.items()}, p)
    _same(load_activations(p), arrays)
    p1 = tmp_path / "single.pt"
    torch.save(torch.from_numpy(arrays["head"]), p1)
    assert np.array_equal(load_activations(p1)["single"], arrays["head"])
    p2 = tmp_path / "list.pt"
    torch.save([torch.ones(2, 2), torch.zeros(2, 1)], p2)
    assert list(load_activations(p2)) == ["0", "1"]
    p3 = tmp_path / "bf16.pt"
    torch.save({"x": torch.tensor([[1.5, -2.0]], dtype=torch.bfloat16)}, p3)
    x = load_activations(p3)["x"]
    assert x.dtype == np.float32 and x.tolist() == [[1.5, -2.0]]


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo should-not-run",))


def test_pt_with_pickled_code_is_refused(tmp_path):
    pytest.importorskip("torch")
    p = tmp_path / "evil.pt"
    with open(p, "wb") as f:
        pickle.dump({"x": _Evil()}, f, protocol=2)
    with pytest.raises(ValueError, match="not a valid .pt file"):
        load_activations(p)


def test_run_directory_snapshots(tmp_path):
    torch = pytest.importorskip("torch")
    run = RunDir(tmp_path / "run", {"model": "demo"})
    run.save_snapshot(0, {"fc": torch.zeros(4, 2)})
    run.save_snapshot(5, {"fc": torch.ones(4, 2)})
    run.close()
    assert list(list_snapshots(run.path)) == [0, 5]
    assert load_activations(run.path)["fc"].tolist() == [[1.0, 1.0]] * 4  # the last step by default
    assert load_activations(run.path, step=0)["fc"].sum() == 0
    with pytest.raises(ValueError, match=r"no snapshot for step 3; steps: \[0, 5\]"):
        load_activations(run.path, step=3)
    bare = RunDir(tmp_path / "bare", {})
    bare.close()
    with pytest.raises(ValueError, match="snapshot_every"):
        load_activations(bare.path)


def test_batch_folder_concatenates_in_file_order(tmp_path):
    d = tmp_path / "batches"
    d.mkdir()
    np.savez(d / "batch_000.npz", fc=np.zeros((2, 3)), out=np.zeros((2, 1)))
    np.savez(d / "batch_001.npz", fc=np.ones((3, 3)), out=np.ones((3, 1)))
    (d / "notes.txt").write_text("ignored")
    acts = load_activations(d)
    assert acts["fc"].shape == (5, 3) and acts["fc"][:, 0].tolist() == [0, 0, 1, 1, 1]
    assert acts["out"].shape == (5, 1)
    np.savez(d / "batch_002.npz", fc=np.ones((3, 4)))
    with pytest.raises(ValueError, match="layer 'fc' has batches of different shapes"):
        load_activations(d)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds no .safetensors"):
        load_activations(empty)


def test_batch_folders_of_per_layer_files_in_natural_order(tmp_path):
    torch = pytest.importorskip("torch")
    d = tmp_path / "capture"
    for b in (0, 2, 10):  # batch_10 comes after batch_2, not before it
        sub = d / f"batch_{b}"
        sub.mkdir(parents=True)
        np.save(sub / "fc1.npy", np.full((2, 3), float(b)))
        torch.save(torch.full((2, 4), float(b)), sub / "fc2.pt")
    acts = load_activations(d)
    assert sorted(acts) == ["fc1", "fc2"]
    assert acts["fc1"][:, 0].tolist() == [0, 0, 2, 2, 10, 10]
    assert np.asarray(acts["fc2"])[:, 0].tolist() == [0, 0, 2, 2, 10, 10]
    np.save(d / "batch_10" / "extra.npy", np.zeros((2, 1)))
    with pytest.raises(ValueError, match="the batch folders hold different layers"):
        load_activations(d)
    flat = tmp_path / "flat"
    flat.mkdir()
    for b in (1, 2, 10):
        np.savez(flat / f"part{b}.npz", z=np.full((1, 2), float(b)))
    assert load_activations(flat)["z"][:, 0].tolist() == [1, 2, 10]


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("bad.npz", b"PK\x03\x04" + b"garbage" * 20, "not a valid .npz file"),
        ("bad.npy", b"\x93NUMPY garbage", "not a valid .npy file"),
        ("bad.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}", "not a valid .safetensors file"),
        ("bad.pt", b"not a torch file at all", "not a valid .pt file"),
        ("trunc.safetensors", None, "not a valid .safetensors file"),
        ("acts.h5", b"x", "unsupported file type '.h5'"),
    ],
)
def test_corrupt_files_give_one_line_value_errors(tmp_path, name, content, match):
    p = tmp_path / name
    if content is None:  # a real file cut in half
        from safetensors.numpy import save_file

        save_file({"x": np.ones((100, 10))}, str(p))
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
    else:
        p.write_bytes(content)
    with pytest.raises(ValueError, match=match) as e:
        f = load_activations(p)
        for k in f:  # a truncated body is found when the layer is read
            f[k]
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ValueError, match="no such file or directory"):
        load_activations(tmp_path / "nope.npz")
    np.savez(tmp_path / "empty.npz")
    with pytest.raises(ValueError, match="holds no arrays"):
        load_activations(tmp_path / "empty.npz")


def test_load_array(tmp_path):
    np.savetxt(tmp_path / "y.txt", [0, 1, 2])
    assert load_array(tmp_path / "y.txt").tolist() == [0.0, 1.0, 2.0]
    np.savez(tmp_path / "two.npz", a=np.ones(2), b=np.ones(2))
    with pytest.raises(ValueError, match="holds 2 arrays"):
        load_array(tmp_path / "two.npz")
    with pytest.raises(ValueError, match=r"no such file \(labels\)"):
        load_array(tmp_path / "missing.npy")
    (tmp_path / "bad.csv").write_text("1,2\n3\n")
    with pytest.raises(ValueError, match="cannot read labels"):
        load_array(tmp_path / "bad.csv")

# ------------------------------------------------------------------------------------------------
# hostile input: nothing lost, nothing silently wrong (regressions of the reliability issue)
# ------------------------------------------------------------------------------------------------
def test_complex_activations_are_refused():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z = rng.standard_normal((100, 4)) + 1j * rng.standard_normal((100, 4))
    rows = analyze({"fc": z}, measures=["rankme"])
    assert rows[0]["value"] is None and "activations are complex" in rows[0]["error"]
    with pytest.raises(TypeError, match="complex"):
        reduce_array(z)

    class Complex(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = torch.nn.Identity()

        def forward(self, x):
            return self.inner(torch.complex(x, x))

    with Probes(Complex(), ["inner"], measures=["rankme"], every=1, probe_data=torch.randn(40, 6)) as p:
        p.step(0)
    assert "complex output" in p.results[0]["error"]


def test_masked_arrays_are_refused_where_masked():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2))
    mx = np.ma.masked_array(x, mask=np.zeros_like(x, dtype=bool))
    mx.mask[5, 1] = True
    for call in (lambda a: im.entropy(a), lambda a: im.rankme(a), lambda a: im.mutual_information(a[:, 0], a[:, 1])):
        with pytest.raises(ValueError, match="masked array with 1 masked value"):
            call(mx)
    with pytest.raises(ValueError, match="masked"):
        reduce_array(mx)
    clean = np.ma.masked_array(x)  # no mask set: the same as the plain array
    assert im.entropy(clean, method="gaussian") == im.entropy(x, method="gaussian")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifos_are_skipped_or_refused_not_read(tmp_path):
    folder = tmp_path / "acts"
    for b in range(2):
        (folder / f"batch_{b}").mkdir(parents=True)
        np.save(folder / f"batch_{b}" / "fc.npy", np.ones((3, 2)) * b)
    os.mkfifo(folder / "batch_1" / "stuck.npy")  # would block np.load forever
    acts = load_activations(folder)
    assert acts["fc"].shape == (6, 2)
    os.mkfifo(tmp_path / "pipe.npy")
    with pytest.raises(ValueError, match="is not a regular file"):
        load_activations(tmp_path / "pipe.npy")


def test_batch_folders_too_large_for_memory_get_a_named_error(tmp_path, monkeypatch):
    import infomeasure.activations as A

    for b in range(3):
        np.savez(tmp_path / f"batch_{b}.npz", fc=np.ones((4, 2)))  # one layer in three batch files

    def no_memory(*a, **k):
        raise MemoryError("Unable to allocate 74.5 TiB for an array")  # as numpy's _ArrayMemoryError

    monkeypatch.setattr(A.np, "concatenate", no_memory)
    with pytest.raises(ValueError, match="layer 'fc' has 3 batches, 12 rows .* too large to hold in memory"):
        load_activations(tmp_path)
