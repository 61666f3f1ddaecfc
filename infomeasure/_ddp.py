"""torch.distributed helpers for probes: every rank runs the same collectives in the same order.

Probe steps are decided from the global step, which all ranks share, so every rank enters a probe
step together. Activations are gathered to rank 0 with ``all_gather`` (uneven row counts are padded
to the largest and trimmed afterwards), streaming-measure sums with ``all_reduce``. Only rank 0
computes measures and writes.
"""

from __future__ import annotations


def _dist():
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch built without distributed
        return None
    if not dist.is_available() or not dist.is_initialized():
        return None
    return dist


def world_size() -> int:
    """Number of processes (1 outside torch.distributed)."""
    dist = _dist()
    return dist.get_world_size() if dist is not None else 1


def rank() -> int:
    """This process's rank (0 outside torch.distributed)."""
    dist = _dist()
    return dist.get_rank() if dist is not None else 0


def collective_device(dist=None):
    """The device the process group's collectives take tensors on: the CPU unless the backend has
    no CPU path (NCCL and the other accelerator-only backends), then this rank's accelerator.

    >>> from infomeasure._ddp import collective_device
    >>> collective_device().type          # outside torch.distributed
    'cpu'
    """
    import torch

    dist = _dist() if dist is None else dist
    if dist is None:
        return torch.device("cpu")
    backend = str(dist.get_backend()).lower()
    if "gloo" in backend or "mpi" in backend:  # "gloo", "mpi", "cpu:gloo,cuda:nccl": CPU tensors go
        return torch.device("cpu")
    acc = getattr(torch, "accelerator", None)
    if acc is not None and acc.is_available():
        return torch.device(acc.current_accelerator().type, acc.current_device_index())
    return torch.device("cuda", torch.cuda.current_device())


def shard(n: int, rank_: int, world: int) -> slice:
    """The contiguous block of ``range(n)`` that rank ``rank_`` of ``world`` probes.

    Concatenating the blocks in rank order gives ``range(n)`` back, so gathered activations are in
    the same order as in one process.

    >>> from infomeasure._ddp import shard
    >>> [shard(10, r, 3) for r in range(3)]
    [slice(0, 4, None), slice(4, 7, None), slice(7, 10, None)]
    """
    base, extra = divmod(n, world)
    start = rank_ * base + min(rank_, extra)
    return slice(start, start + base + (1 if rank_ < extra else 0))


def gather_rows(t):
    """Concatenate a 2-D tensor over ranks along axis 0, in rank order (uneven counts allowed).

    Every rank calls it (same collectives everywhere) and gets the full result, on the device of
    ``t``; the collectives run on :func:`collective_device` (the CPU for gloo, the rank's GPU for
    NCCL). Outside torch.distributed the tensor is returned unchanged.
    """
    import torch

    dist = _dist()
    if dist is None or dist.get_world_size() == 1:
        return t
    world = dist.get_world_size()
    device, home = collective_device(dist), t.device
    t = t.to(device).contiguous()
    meta = torch.tensor([t.shape[0], t.shape[1] if t.ndim > 1 else 0], dtype=torch.int64, device=device)
    metas = [torch.zeros_like(meta) for _ in range(world)]
    dist.all_gather(metas, meta)
    counts = [int(m[0]) for m in metas]
    widths = {int(m[1]) for m in metas if int(m[0]) > 0}
    if len(widths) > 1:
        raise RuntimeError(f"ranks captured different feature counts {sorted(widths)}; the same layer must give the same width")
    width = widths.pop() if widths else int(meta[1])
    top = max(counts)
    padded = torch.zeros((top, width), dtype=t.dtype, device=device)
    if t.shape[0]:
        padded[: t.shape[0]] = t.reshape(t.shape[0], width)
    parts = [torch.zeros_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded)
    return torch.cat([p[:c] for p, c in zip(parts, counts)], dim=0).to(home)


def sum_over_ranks(t):
    """Element-wise sum of a float64 tensor over ranks, on the device of ``t`` (unchanged outside
    torch.distributed; the collectives run on :func:`collective_device`).

    The tensor may have a different length on ranks that saw nothing (length 0); it is padded to
    the longest first.
    """
    import torch

    dist = _dist()
    if dist is None or dist.get_world_size() == 1:
        return t
    device = collective_device(dist)
    n = torch.tensor([t.numel()], dtype=torch.int64, device=device)
    dist.all_reduce(n, op=dist.ReduceOp.MAX)
    buf = torch.zeros(int(n), dtype=torch.float64, device=device)
    buf[: t.numel()] = t.reshape(-1).to(device)
    dist.all_reduce(buf, op=dist.ReduceOp.SUM)
    return buf.to(t.device)

