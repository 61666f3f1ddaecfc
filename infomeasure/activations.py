"""Reading saved activations: ``.safetensors``, ``.npz``, ``.npy``, ``.pt``, run directories, batch folders.

:func:`load_activations` returns a read-only mapping ``layer -> numpy array`` (samples along axis
0). Large files are read lazily where the format allows it: ``.npy`` is memory-mapped
(``np.load(mmap_mode="r")``), ``.npz`` and ``.safetensors`` read one layer when it is accessed
(``safetensors.safe_open``), and ``.pt`` is loaded with ``torch.load(weights_only=True, mmap=True)``
so no pickled code runs. Any problem with a file (missing, truncated, not the format its suffix
says, no arrays in it) raises a ``ValueError`` with a one-line message naming the file.

>>> import numpy as np, tempfile, os
>>> from infomeasure.activations import load_activations
>>> path = os.path.join(tempfile.mkdtemp(), "acts.npz")
>>> np.savez(path, fc1=np.ones((4, 3)), fc2=np.zeros((4, 2)))
>>> acts = load_activations(path)
>>> sorted(acts), acts["fc1"].shape
(['fc1', 'fc2'], (4, 3))
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import numpy as np

from estimators.validation import to_numpy

__all__ = ["ActivationFile", "list_snapshots", "load_activations", "load_array"]

SUFFIXES = (".safetensors", ".npz", ".npy", ".pt", ".pth")
_STEP_RE = re.compile(r"step_(\d+)\.safetensors$")


def _one_line(e: BaseException) -> str:
    msg = str(e).strip().replace("\n", " ") or type(e).__name__
    return msg if len(msg) < 300 else msg[:297] + "..."


class ActivationFile(Mapping):
    """A read-only mapping ``layer -> numpy.ndarray`` over one file; each layer is read on access.

    Attributes
    ----------
    path : str
        The file.
    format : str
        ``"safetensors"``, ``"npz"``, ``"npy"`` or ``"pt"``.
    metadata : dict
        The safetensors header metadata (e.g. ``{"step": "100"}`` in probe snapshots), else ``{}``.
    """

    def __init__(self, path, fmt, keys, reader, metadata=None):
        self.path = path
        self.format = fmt
        self._keys = list(keys)
        self._reader = reader
        self.metadata = dict(metadata or {})

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        try:
            return self._reader(key)
        except Exception as e:  # noqa: BLE001 - re-raised as a one-line ValueError
            raise ValueError(f"cannot read layer {key!r} from {self.path}: {_one_line(e)}") from None

    def __iter__(self):
        return iter(self._keys)

    def __len__(self):
        return len(self._keys)

    def __repr__(self):
        return f"ActivationFile({self.path!r}, format={self.format!r}, layers={self._keys!r})"


def _open_safetensors(path):
    try:
        from safetensors import safe_open
    except ImportError as e:
        raise ValueError(f"reading {path} needs safetensors: pip install safetensors") from e
    with safe_open(path, framework="pt" if _have_torch() else "numpy") as f:
        keys = list(f.keys())
        meta = f.metadata() or {}

    def read(key):
        if _have_torch():
            with safe_open(path, framework="pt") as f:
                return to_numpy(f.get_tensor(key), key)
        with safe_open(path, framework="numpy") as f:
            return f.get_tensor(key)

    return ActivationFile(path, "safetensors", keys, read, meta)


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _open_npz(path):
    z = np.load(path, allow_pickle=False)
    keys = list(z.files)
    z.close()

    def read(key):
        with np.load(path, allow_pickle=False) as f:
            return f[key]

    return ActivationFile(path, "npz", keys, read)


def _open_npy(path):
    arr = np.load(path, mmap_mode="r", allow_pickle=False)
    name = os.path.splitext(os.path.basename(path))[0]
    return ActivationFile(path, "npy", [name], lambda key: arr)


def _open_pt(path):
    try:
        import torch
    except ImportError as e:
        raise ValueError(f"reading {path} needs torch: pip install torch") from e
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # old (non-zip) serialization cannot be memory-mapped
        obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, torch.Tensor):
        tensors = {os.path.splitext(os.path.basename(path))[0]: obj}
    elif isinstance(obj, Mapping):
        tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    elif isinstance(obj, (list, tuple)):
        tensors = {str(i): v for i, v in enumerate(obj) if isinstance(v, torch.Tensor)}
    else:
        tensors = {}
    return ActivationFile(path, "pt", list(tensors), lambda key: to_numpy(tensors[key], key))


_OPENERS = {".safetensors": _open_safetensors, ".npz": _open_npz, ".npy": _open_npy, ".pt": _open_pt, ".pth": _open_pt}


def _open_file(path) -> ActivationFile:
    if not os.path.isfile(path):  # a FIFO, socket or device would block or stream forever
        raise ValueError(f"{path} is not a regular file; pass a saved .safetensors, .npz, .npy or .pt file")
    suffix = os.path.splitext(path)[1].lower()
    opener = _OPENERS.get(suffix)
    if opener is None:
        raise ValueError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; use .safetensors, .npz, .npy or .pt"
        )
    try:
        f = opener(path)
    except ValueError as e:
        if str(e).startswith(("reading ", f"{path}:")):
            raise
        raise ValueError(f"cannot read {path}: not a valid {suffix} file ({_one_line(e)})") from None
    except Exception as e:  # noqa: BLE001 - corrupt files raise many types; one clear message
        raise ValueError(f"cannot read {path}: not a valid {suffix} file ({_one_line(e)})") from None
    if len(f) == 0:
        raise ValueError(f"{path} holds no arrays")
    return f


def list_snapshots(run_dir) -> dict[int, str]:
    """The activation snapshots of a run directory: ``{step: path}`` in step order.

    >>> import tempfile
    >>> from infomeasure.activations import list_snapshots
    >>> list_snapshots(tempfile.mkdtemp())
    {}
    """
    folder = os.path.join(os.fspath(run_dir), "activations")
    if not os.path.isdir(folder):
        return {}
    out = {}
    for name in os.listdir(folder):
        m = _STEP_RE.match(name)
        if m:
            out[int(m.group(1))] = os.path.join(folder, name)
    return dict(sorted(out.items()))


def _load_dir(path, step):
    if os.path.exists(os.path.join(path, "metrics.jsonl")) or os.path.exists(os.path.join(path, "manifest.json")):
        snaps = list_snapshots(path)
        if not snaps:
            raise ValueError(
                f"run directory {path} has no activation snapshots (activations/step_*.safetensors); "
                "probe with snapshot_every=k to save them"
            )
        if step is None:
            step = max(snaps)
        if int(step) not in snaps:
            raise ValueError(f"run directory {path} has no snapshot for step {step}; steps: {sorted(snaps)}")
        return _open_file(snaps[int(step)])
    # a folder of files: one array per layer, or several batches of the same layers; or a folder of
    # batch folders (batch_0/, batch_1/, ... each holding one file per layer or one file of layers)
    names = sorted(os.listdir(path), key=_natural_key)
    files = [os.path.join(path, n) for n in names if os.path.splitext(n)[1].lower() in SUFFIXES
             and os.path.isfile(os.path.join(path, n))]
    batches = []
    if files:
        parts: dict[str, list] = {}
        for fp in files:
            for k, v in _open_file(fp).items():
                parts.setdefault(k, []).append(v)
        batches = [parts]
    else:
        subdirs = [os.path.join(path, n) for n in names if os.path.isdir(os.path.join(path, n))]
        for sd in subdirs:
            sub = [os.path.join(sd, n) for n in sorted(os.listdir(sd), key=_natural_key)
                   if os.path.splitext(n)[1].lower() in SUFFIXES and os.path.isfile(os.path.join(sd, n))]
            if not sub:
                continue
            layers: dict[str, list] = {}
            for fp in sub:
                for k, v in _open_file(fp).items():
                    layers.setdefault(k, []).append(v)
            batches.append(layers)
        if batches:
            layer_sets = [set(b) for b in batches]
            if any(s != layer_sets[0] for s in layer_sets):
                raise ValueError(f"{path}: the batch folders hold different layers "
                                 f"({sorted(layer_sets[0])} vs {sorted(next(s for s in layer_sets if s != layer_sets[0]))})")
            merged: dict[str, list] = {}
            for b in batches:
                for k, arrs in b.items():
                    merged.setdefault(k, []).extend(arrs)
            batches = [merged]
    if not batches:
        raise ValueError(f"{path} holds no .safetensors, .npz, .npy or .pt files (nor batch folders of them)")
    out = {}
    for k, arrs in batches[0].items():
        if len(arrs) == 1:
            out[k] = arrs[0]
            continue
        shapes = {a.shape[1:] for a in arrs}
        if len(shapes) != 1:
            raise ValueError(f"{path}: layer {k!r} has batches of different shapes {sorted(map(tuple, shapes))}")
        out[k] = _concatenate(path, k, arrs)  # batches, in natural name order
    return out


def _concatenate(path, layer, arrs) -> np.ndarray:
    """The batches of one layer as one array; a named error when they do not fit in memory."""
    rows = sum(int(a.shape[0]) for a in arrs)
    nbytes = sum(int(np.prod(a.shape, dtype=np.int64)) * a.dtype.itemsize for a in arrs)
    try:
        return np.concatenate([np.asarray(a) for a in arrs], axis=0)
    except MemoryError:
        raise ValueError(
            f"{path}: layer {layer!r} has {len(arrs)} batches, {rows} rows in all ({nbytes / 2**30:.1f} GiB), too large "
            "to hold in memory; analyse fewer batch files at a time (a folder holding a subset of them) or save "
            "reduced activations (e.g. mean over tokens) instead"
        ) from None


def _natural_key(name: str):
    """Sort key with digit runs compared as numbers: batch_2 before batch_10."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name)]


def load_activations(path, *, step=None) -> Mapping:
    """Saved activations as a mapping ``layer -> numpy.ndarray`` with samples along axis 0.

    Parameters
    ----------
    path : str or os.PathLike
        One of

        * a ``.safetensors`` file (one tensor per layer; read with ``safe_open``, layer by layer);
        * a ``.npz`` archive (one array per layer, read on access);
        * a ``.npy`` file (one layer, named after the file; memory-mapped);
        * a ``.pt``/``.pth`` file holding a tensor, a dict or a list of tensors (``torch.load`` with
          ``weights_only=True``: no pickled code is executed);
        * a probe run directory: the snapshot ``activations/step_XXXXXXXX.safetensors`` of ``step``
          (the last one by default);
        * a folder of such files: layers are collected from every file, and a layer found in several
          files (batches, as written by activation-capture tools) is concatenated along axis 0 in
          natural file-name order (``batch_2`` before ``batch_10``);
        * a folder of batch folders (``batch_0/``, ``batch_1/``, ..., each with one file per layer
          or one file of all layers, as per-batch capture tools such as torchlens-based scripts
          write them): every layer is concatenated over the batch folders in natural order.
    step : int, optional
        The snapshot to read from a run directory.

    Returns
    -------
    Mapping
        ``layer -> array``. For single files an :class:`ActivationFile` that reads each layer when it
        is accessed; for folders a ``dict``.

    Raises
    ------
    ValueError
        One line naming the file: missing, unsupported suffix, corrupt or truncated, or empty.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file or directory")
    if os.path.isdir(path):
        return _load_dir(path, step)
    return _open_file(path)


def load_array(path, name="labels") -> np.ndarray:
    """One array from a file (labels or inputs): ``.npy``, a one-array ``.npz``/``.safetensors``/``.pt``,
    or a text file (``.txt``/``.csv``, one row per sample).

    >>> import numpy as np, tempfile, os
    >>> from infomeasure.activations import load_array
    >>> p = os.path.join(tempfile.mkdtemp(), "y.npy"); np.save(p, np.arange(3))
    >>> load_array(p).tolist()
    [0, 1, 2]
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file ({name})")
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".txt", ".csv", ".tsv"):
        if not os.path.isfile(path):
            raise ValueError(f"{path} is not a regular file ({name}); pass a saved file")
        try:
            return np.loadtxt(path, delimiter="," if suffix == ".csv" else None)
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"cannot read {name} from {path}: {_one_line(e)}") from None
    f = load_activations(path)
    if len(f) != 1:
        raise ValueError(f"{path} holds {len(f)} arrays ({', '.join(list(f)[:5])}); {name} must be a single array")
    return np.asarray(next(iter(f.values())))
