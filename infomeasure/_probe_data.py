"""Probe data: the fixed probe set as batches of tensors (and labels), sharded over DDP ranks.

Accepted forms: a tensor, a dict of tensors (keyword inputs, ``model(**batch)``), an
``(inputs, labels)`` pair, NumPy arrays of these, or an iterable of batches such as a DataLoader
(read once, in its order).
"""

from __future__ import annotations

import numpy as np

from . import _ddp

# ------------------------------------------------------------------------------------------------
# probe data
# ------------------------------------------------------------------------------------------------
def tensors_of(probe_data, model):
    """Probe data with NumPy arrays turned into tensors (float arrays in the model's float dtype).

    A NumPy array is iterable, and would otherwise be read row by row as if it were a DataLoader.
    Labels must be numbers: strings are refused with the fix.
    """
    import torch

    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)

    def conv(x, what):
        if isinstance(x, np.ndarray):
            if x.dtype.kind in "OUS":
                raise TypeError(f"probe {what} must be numbers; got an array of dtype {x.dtype}. Encode categories as "
                                f"integers, e.g. np.unique({what}, return_inverse=True)[1]")
            t = torch.from_numpy(np.ascontiguousarray(x))
            return t.to(dtype) if t.is_floating_point() and what == "inputs" else t
        if isinstance(x, dict):
            return {k: conv(v, what) for k, v in x.items()}
        return x

    def labels_of(y):
        if y is None or isinstance(y, torch.Tensor):
            return y
        arr = np.asarray(y)
        if arr.dtype.kind in "OUS":
            raise TypeError(f"probe labels must be numbers (class ids); got {arr.dtype} values such as {str(arr.flat[0])!r}. "
                            "Encode them, e.g. labels = np.unique(labels, return_inverse=True)[1]")
        return torch.as_tensor(arr)

    if isinstance(probe_data, tuple) and len(probe_data) == 2 and not isinstance(probe_data[0], (tuple, list)):
        return conv(probe_data[0], "inputs"), labels_of(probe_data[1])
    if isinstance(probe_data, list) and len(probe_data) == 2 and isinstance(probe_data[0], (np.ndarray, torch.Tensor, dict)):
        return conv(probe_data[0], "inputs"), labels_of(probe_data[1])
    return conv(probe_data, "inputs")


def batches_of(probe_data, batch_size):
    """(list of input batches, labels tensor or None) from a tensor, an (inputs, labels) pair or an iterable."""
    import torch

    def split(x, s):
        if isinstance(x, torch.Tensor):
            return x[s]
        if isinstance(x, dict):
            return {k: split(v, s) for k, v in x.items()}
        raise TypeError(f"probe inputs must be a tensor or a dict of tensors; got {type(x).__name__}")

    if isinstance(probe_data, (torch.Tensor, dict)):
        inputs, labels = probe_data, None
    elif isinstance(probe_data, (tuple, list)) and len(probe_data) == 2 and not isinstance(probe_data[0], (tuple, list)):
        inputs, labels = probe_data
        labels = None if labels is None else torch.as_tensor(labels)
    elif hasattr(probe_data, "__iter__"):  # a DataLoader: materialised once, in its order
        xs, ys = [], []
        for b in probe_data:
            if isinstance(b, (tuple, list)):
                xs.append(b[0])
                ys.append(torch.as_tensor(b[1]) if len(b) > 1 else None)
            else:
                xs.append(b)
                ys.append(None)
        if not xs:
            raise ValueError("probe_data is an empty iterable")
        labels = None if any(y is None for y in ys) else torch.cat(ys)
        return xs, labels
    else:
        raise TypeError("probe_data must be a tensor, a dict of tensors, an (inputs, labels) pair or a DataLoader")
    if isinstance(inputs, dict) and not inputs:
        raise ValueError("probe_data is an empty dict; pass the model's keyword inputs, e.g. {'input_ids': ...}")
    if isinstance(inputs, torch.Tensor) and inputs.ndim == 0:
        raise ValueError("probe inputs are a scalar tensor; pass a (samples, ...) tensor")
    n = batch_len(inputs)
    if n == 0:
        raise ValueError("probe_data holds 0 samples; pass a non-empty probe set (a few hundred samples is typical)")
    if labels is not None and labels.shape[0] != n:
        raise ValueError(f"probe labels have {labels.shape[0]} rows but the inputs have {n}")
    bs = n if batch_size is None else int(batch_size)
    return [split(inputs, slice(s, s + bs)) for s in range(0, n, bs)], labels


def shard_batches(batches, labels, rank, world):
    """This rank's contiguous share of the probe rows, re-batched with the same batch size."""
    import torch

    def cat(parts):
        if isinstance(parts[0], dict):
            return {k: cat([p[k] for p in parts]) for k in parts[0]}
        return torch.cat(parts)

    def take(x, s):
        return {k: take(v, s) for k, v in x.items()} if isinstance(x, dict) else x[s]

    bs = batch_len(batches[0])
    full = cat(batches)
    sl = _ddp.shard(batch_len(full), rank, world)
    mine = take(full, sl)
    n = batch_len(mine)
    return [take(mine, slice(s, s + bs)) for s in range(0, n, bs)], (None if labels is None else labels[sl])


def label_dtype(labels):
    """The dtype labels are gathered in: float64 for float labels, int64 otherwise."""
    import torch

    return torch.float64 if labels.is_floating_point() else torch.int64


def batch_len(b):
    """The number of samples in a batch (a tensor or a dict of tensors)."""
    return b.shape[0] if not isinstance(b, dict) else batch_len(next(iter(b.values())))


def to_device(data, device):
    """Probe data (tensor, dict of tensors or (inputs, labels)) with its inputs on ``device``."""
    import torch

    if isinstance(data, torch.Tensor):
        return data.to(device)
    if isinstance(data, dict):
        return {k: to_device(v, device) for k, v in data.items()}
    if isinstance(data, tuple) and len(data) == 2:
        return (to_device(data[0], device), data[1])
    return data
