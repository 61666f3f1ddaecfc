r"""Exact kNN searches and radius counts in torch, on the device of the data (private).

The kNN estimators (KSG mutual information, Frenzel--Pompe conditional MI and transfer
entropy, Kozachenko--Leonenko entropy, Ross's MI with a discrete variable) search
neighbours with the numba kernels of :mod:`estimators._neighbors` on the CPU. When an
input is a torch tensor on an accelerator (CUDA, MPS, XPU), this module does the
:math:`O(N^2 d)` part there instead: the inputs are validated, standardised and jittered on
the host by the same code as always (:math:`O(N d)`, one copy of the inputs to the host and
one back), then every search runs on the device and only the ``N`` radii or counts come
back. The numbers are those of the CPU path:

* keys are the max-norm :math:`\max_c |a_c - b_c|` (exact in any evaluation order) or the
  squared Euclidean distance summed column by column in column order, as the numba kernels
  do (one elementwise operation per column, so no fused multiply-add can change a bit);
  Euclidean distances are NumPy's correctly rounded ``sqrt`` of the key (torch's CPU ``sqrt``
  is off by an ulp at times), and Euclidean counts compare keys with the exact thresholds of
  :func:`estimators._kdtree.key_thresholds` (both cost a copy of ``N`` values each way);
* the point itself is excluded from its neighbours and counts; duplicates are not;
* the k neighbours are ordered by (key, index), the order of the blocked and tree searches;
* counts compare the distance with the radius exactly (``<`` or ``<=``).

Memory is bounded: queries are processed in blocks of rows whose working set (the
``rows x N`` key matrix and its temporaries) fits :data:`BLOCK_BYTES`; at N = 10^5 a block
is about 60 rows and the search never holds more than about 256 MiB beyond the data.

torch is imported inside the functions, never at module level.
"""

from __future__ import annotations

import numpy as np

from ._validation import _is_torch_tensor

BLOCK_BYTES = 256 << 20  # working set of one block of queries (keys and temporaries), bytes
# bytes per key of the working set: keys + one temporary (float64), plus for an ordered kNN
# the tie-break buffers (two int64, bools), for counts the comparison (bool)
_BYTES_PER_KEY = {"knn": 24, "knn_index": 48, "count": 24}
FORCE_TORCH = False  # tests set True to route the dispatched searches through torch on the CPU


def search_device(*inputs):
    """The device where the kNN search of ``inputs`` runs in torch, or None for the numba path.

    The first torch tensor among ``inputs`` (or in a list or tuple of tensors, as a transfer
    entropy's conditions) that lives on a device other than the CPU decides. With
    :data:`FORCE_TORCH` set (tests) the CPU device is returned for any input.
    """
    for x in inputs:
        items = x if isinstance(x, (list, tuple)) and x and _is_torch_tensor(x[0]) else (x,)
        for v in items:
            if _is_torch_tensor(v) and v.device.type != "cpu":
                return v.device
    if FORCE_TORCH:
        import torch

        return torch.device("cpu")
    return None


def rows_per_block(n: int, kind: str, budget: int | None = None) -> int:
    """Query rows per block so that the ``rows x n`` working set fits ``budget`` bytes."""
    budget = BLOCK_BYTES if budget is None else budget
    return int(max(1, min(n, budget // (_BYTES_PER_KEY[kind] * max(n, 1)))))


def as_device(X, device):
    """``X`` (NumPy or torch) as a float64 torch tensor on ``device``."""
    import torch

    if _is_torch_tensor(X):
        return X.to(device=device, dtype=torch.float64)
    return torch.as_tensor(np.ascontiguousarray(X, dtype=np.float64), device=device)


def _euclidean_keys(Q, XT, out, tmp):
    """``out[i, j]``: squared Euclidean distance from ``Q[i]`` to row j, summed in column order."""
    import torch

    out.zero_()
    for c in range(XT.shape[0]):
        torch.sub(XT[c][None, :], Q[:, c : c + 1], out=tmp)
        tmp.mul_(tmp)
        out.add_(tmp)
    return out


def _block_keys(X, XT, cheb, i0, i1, bufs):
    """Keys of the query rows ``i0:i1`` against every row, the point itself set to +inf."""
    import torch

    b = i1 - i0
    if cheb:
        K = torch.cdist(X[i0:i1][None], X[None], p=float("inf"))[0]
    else:
        out, tmp = bufs
        K = _euclidean_keys(X[i0:i1], XT, out[:b], tmp[:b])
    r = torch.arange(b, device=X.device)
    K[r, r + i0] = float("inf")
    return K


def _buffers(X, rows, cheb):
    import torch

    if cheb:
        return None
    n = X.shape[0]
    return (torch.empty((rows, n), dtype=X.dtype, device=X.device),
            torch.empty((rows, n), dtype=X.dtype, device=X.device))


def _ordered_topk(K, k):
    """The k smallest keys of each row of ``K`` and their columns, ordered by (key, column).

    ``torch.topk`` returns the right keys but leaves the order (and, at a tie across the
    k-th place, the choice) of equal keys unspecified. The k-th key ``t`` fixes the set:
    every key below ``t``, then the lowest columns among those equal to ``t``; a stable sort
    of that set, taken in column order, by key gives the (key, index) order.
    """
    import torch

    vals = torch.topk(K, k, dim=1, largest=False, sorted=True).values
    t = vals[:, k - 1 : k]
    below = K < t
    need = k - below.sum(dim=1, keepdim=True)
    tied = K == t
    chosen = below | (tied & (torch.cumsum(tied, dim=1) <= need))
    del below, tied
    cols = torch.arange(K.shape[1], device=K.device)
    score = torch.where(chosen, cols, cols + K.shape[1])
    del chosen
    idx = torch.topk(score, k, dim=1, largest=False, sorted=True).values
    del score
    kv = K.gather(1, idx)
    kv, order = torch.sort(kv, dim=1, stable=True)
    return kv, idx.gather(1, order)


def knn(X, k: int, cheb: bool = True, *, with_index: bool = True, budget: int | None = None):
    """Distances ``(n, k)`` (ascending) and indices of the k nearest neighbours of each row.

    ``X`` is a float64 tensor; the search runs on its device and returns tensors there.
    Neighbours are ordered by (key, index), the point itself excluded, as in
    :func:`estimators._neighbors.knn` with the blocked or tree search. With
    ``with_index=False`` only the distances are computed (and returned, with None).

    Examples
    --------
    >>> import torch
    >>> from estimators._torch_neighbors import knn
    >>> X = torch.tensor([[0.0], [1.0], [3.0], [4.0]], dtype=torch.float64)
    >>> dist, idx = knn(X, 2)
    >>> dist.tolist(), idx.tolist()
    ([[1.0, 3.0], [1.0, 2.0], [1.0, 2.0], [1.0, 3.0]], [[1, 2], [0, 2], [3, 1], [2, 1]])
    """
    import torch

    n = X.shape[0]
    rows = rows_per_block(n, "knn_index" if with_index else "knn", budget)
    X = X.contiguous()
    XT = None if cheb else X.T.contiguous()
    bufs = _buffers(X, rows, cheb)
    dist = torch.empty((n, k), dtype=X.dtype, device=X.device)
    idx = torch.empty((n, k), dtype=torch.int64, device=X.device) if with_index else None
    for i0 in range(0, n, rows):
        i1 = min(n, i0 + rows)
        K = _block_keys(X, XT, cheb, i0, i1, bufs)
        if with_index:
            kv, ki = _ordered_topk(K, k)
            idx[i0:i1] = ki
        else:
            kv = torch.topk(K, k, dim=1, largest=False, sorted=True).values
        dist[i0:i1] = kv
        del K
    if not cheb:
        dist = _exact_sqrt(dist)
    return dist, idx


def _exact_sqrt(T):
    """Correctly rounded square roots of a float64 tensor (NumPy's; torch's CPU sqrt is not)."""
    return as_device(np.sqrt(T.cpu().numpy()), T.device)


def kth_distance(X, k: int, cheb: bool = True, budget: int | None = None):
    """Distance from each row of the float64 tensor ``X`` to its k-th nearest neighbour."""
    return knn(X, k, cheb, with_index=False, budget=budget)[0][:, k - 1].contiguous()


def count_within(X, radii, *, strict: bool = True, cheb: bool = True, budget: int | None = None):
    """For each row i, the number of rows j != i with ``dist(i, j) < radii[i]`` (or ``<=``).

    ``X`` and ``radii`` are float64 tensors on one device; returns int64 counts there.
    """
    import torch

    n = X.shape[0]
    rows = rows_per_block(n, "count", budget)
    X = X.contiguous()
    XT = None if cheb else X.T.contiguous()
    bufs = _buffers(X, rows, cheb)
    if not cheb:  # key < t exactly when sqrt(key) < r (or <= r); thresholds found on the host
        from ._kdtree import key_thresholds

        host = np.ascontiguousarray(radii.cpu().numpy(), dtype=np.float64)
        radii, strict = as_device(key_thresholds(host, strict, False), X.device), True
    out = torch.empty(n, dtype=torch.int64, device=X.device)
    for i0 in range(0, n, rows):
        i1 = min(n, i0 + rows)
        K = _block_keys(X, XT, cheb, i0, i1, bufs)  # self at +inf: never counted below
        r = radii[i0:i1, None]
        hit = (K < r) if strict else (K <= r)
        if not strict:  # +inf <= +inf: an infinite radius would count the point itself
            rr = torch.arange(i1 - i0, device=X.device)
            hit[rr, rr + i0] = False
        out[i0:i1] = hit.sum(dim=1)
        del K, hit
    return out


# ----------------------------------------------------------------------------------------------
# The estimators' sums on prepared (validated, rescaled, standardised) NumPy arrays, searched on
# ``device``; the same formulas as estimators._neighbors.ksg_terms / cmi_ksg_terms
# ----------------------------------------------------------------------------------------------
def _host(t) -> np.ndarray:
    return t.cpu().numpy()


def kth_distance_np(X: np.ndarray, k: int, metric: str, device) -> np.ndarray:
    """:func:`estimators._neighbors.kth_distance` of a prepared array, searched on ``device``."""
    from ._neighbors import _metric

    return _host(kth_distance(as_device(X, device), k, _metric(metric)))


def count_within_np(X: np.ndarray, radii: np.ndarray, *, strict: bool, metric: str, device) -> np.ndarray:
    """:func:`estimators._neighbors.count_within` of prepared arrays, counted on ``device``."""
    from ._neighbors import _metric

    return _host(count_within(as_device(X, device), as_device(radii, device), strict=strict,
                              cheb=_metric(metric)))


def ksg_terms(X: np.ndarray, Y: np.ndarray, k: int, variant: int, device):
    """:func:`estimators._neighbors.ksg_terms` with the searches on ``device``."""
    import torch
    from scipy.special import digamma

    from ._neighbors import check_joint_radii

    n = X.shape[0]
    Xd, Yd = as_device(X, device), as_device(Y, device)
    J = torch.cat([Xd, Yd], dim=1)
    if variant == 1:
        eps = kth_distance(J, k)
        check_joint_radii(_host(eps), "x and y")
        nx = _host(count_within(Xd, eps, strict=True))
        ny = _host(count_within(Yd, eps, strict=True))
        t = digamma(nx + 1) + digamma(ny + 1)
        return float(digamma(k) + digamma(n) - np.mean(t)), t
    dist, idx = knn(J, k)
    check_joint_radii(_host(dist[:, k - 1]), "x and y")
    ex = (Xd[idx] - Xd[:, None, :]).abs().amax(dim=(1, 2))
    ey = (Yd[idx] - Yd[:, None, :]).abs().amax(dim=(1, 2))
    nx = _host(count_within(Xd, ex, strict=False))
    ny = _host(count_within(Yd, ey, strict=False))
    t = digamma(nx) + digamma(ny)
    return float(digamma(k) - 1.0 / k + digamma(n) - np.mean(t)), t


def cmi_ksg_terms(X: np.ndarray, Y: np.ndarray, Z: np.ndarray, k: int, names: str = "x, y and z", *, device):
    """:func:`estimators._neighbors.cmi_ksg_terms` with the searches on ``device``."""
    import torch
    from scipy.special import digamma

    from ._neighbors import check_joint_radii

    Xd, Yd, Zd = as_device(X, device), as_device(Y, device), as_device(Z, device)
    eps = kth_distance(torch.cat([Xd, Yd, Zd], dim=1), k)
    check_joint_radii(_host(eps), names)
    nxz = _host(count_within(torch.cat([Xd, Zd], dim=1), eps, strict=True))
    nyz = _host(count_within(torch.cat([Yd, Zd], dim=1), eps, strict=True))
    nz = _host(count_within(Zd, eps, strict=True))
    terms = digamma(nxz + 1) + digamma(nyz + 1) - digamma(nz + 1)
    return float(digamma(k) - np.mean(terms)), terms
