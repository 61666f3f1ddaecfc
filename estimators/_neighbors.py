"""Neighbour searches and counts, with the algorithm chosen by regime.

* 1-D counts: binary search on the sorted values (``count_sorted_1d``).
* kNN and counts in 1 to 3 dimensions: box-assisted search on a uniform grid
  whose cell side is set from a pilot estimate of the typical radius
  (``knn_grid`` / ``count_grid``), as in the original KSG code.
* Few samples in more dimensions: blocked brute force (``knn_block`` /
  ``count_block``), whose inner loop runs over samples and vectorises.
* Many samples in a few dimensions: a numba kd-tree with tight bounding boxes
  (``estimators._kdtree``), whose counts add whole nodes inside the radius.
  Where the tree starts to win grows with the dimension (kd-trees lose their
  pruning there): see ``tree_min_n``, measured in ``benchmarks/bench_ksg.py``.

Every regime returns the same numbers: distances are evaluated as
``max_d |a_d - b_d|`` or ``sqrt(sum_d (a_d - b_d)**2)`` in column order, counts
compare them with the radius exactly (``<`` or ``<=``), and neighbours are ordered
by (distance, index) (the grid keeps its own order among exactly tied distances). All functions exclude the point itself from its neighbours
and counts. The parallel kernels use numba's thread count of the calling thread
(``numba.set_num_threads`` is per thread), so a caller's thread budget holds.

On top of these searches sit the kNN estimates shared by several families, on prepared
(validated, rescaled, standardised) arrays: the KSG sums of mutual information
(``ksg_terms``), the Frenzel--Pompe sums of conditional mutual information (``cmi_ksg_terms``,
also transfer entropy's), the joint-radius check (``check_joint_radii``,
``RepeatedPointsError``), the scale-safe preparation (``rescale_inputs``, ``prepare_scaled``)
and the warning for estimates negative beyond their noise (``warn_negative``).
"""

from __future__ import annotations

import math

import numpy as np

from scipy.special import digamma

from . import _kdtree, _kernels
from ._validation import as_samples, check_flag, pow2_exponents, pow2_rescale, prepare_continuous, warn

GRID_MAX_D = 3
GRID_CELLS_PER_POINT = 8  # the grid never has more than this many cells per sample
GRID_MAX_CELLS = 1 << 24  # nor more than this many in all (128 MB of cell offsets)
GRID_MIN_CROWDED_N = 2000  # below this many samples a crowded grid is still used
REGIMES = ("grid", "block", "tree", "brute", "sorted")
FORCE_REGIME = None  # tests set a regime name here to route every search through it


def tree_min_n(d: int, counting: bool) -> float:
    """Fewest samples for which the kd-tree beats the blocked brute force in ``d`` dimensions.

    Measured on one core with correlated Gaussian data and KSG radii (k = 4), max-norm: for
    the k-NN search the two cross near 150 * 2**(d/2) samples (1,200 at d = 6, 6,000 at
    d = 10, 12,000 at d = 12, about 40,000 at d = 16); counts at KSG radii, which are wide
    in the marginal spaces, cross later, near 300 * 2**d (3,000 at d = 3, 10,000 at
    d = 5, 20,000 at d = 6). Beyond about 20 dimensions the brute force wins at any size
    these estimators are used at.
    """
    return 300.0 * 2.0 ** d if counting else 150.0 * 2.0 ** (d / 2.0)


def _metric(metric: str) -> bool:
    """Return True for the max-norm, False for Euclidean."""
    if metric in ("chebyshev", "max", "maximum", "linf", "inf"):
        return True
    if metric in ("euclidean", "l2"):
        return False
    raise ValueError(f"metric must be 'chebyshev' (max-norm) or 'euclidean'; got {metric!r}")


def _regime(n: int, d: int, counting: bool) -> str:
    if FORCE_REGIME is not None:
        return FORCE_REGIME
    if d <= GRID_MAX_D:
        return "sorted" if (counting and d == 1) else "grid"
    return "tree" if n >= tree_min_n(d, counting) else "block"


def _grid_params(X: np.ndarray, s_target: float):
    """Grid origin, cell side and cells per dimension (padded to 3) for ``X``."""
    n, d = X.shape
    lo = X.min(axis=0)
    span = X.max(axis=0) - lo
    top = float(span.max())
    if top == 0.0:
        s = 1.0
    else:
        s = s_target if (np.isfinite(s_target) and s_target > 0) else top / n ** (1.0 / d)
        s = max(s, top * 1e-9)
        while np.prod(np.floor(span / s) + 1.0) > min(GRID_CELLS_PER_POINT * n + 8, GRID_MAX_CELLS):
            s *= 1.25
    B = np.ones(3, dtype=np.int64)
    B[:d] = (np.floor(span / s) + 1).astype(np.int64)
    lo3 = np.zeros(3)
    lo3[:d] = lo
    return lo3, float(s), B


def _balanced_grid(X: np.ndarray, s_target: float, k: int):
    """Grid parameters, or None when the grid would crowd many points into few cells.

    Heavy-tailed data (a wide bounding box around a dense core) defeat a uniform grid;
    the kd-tree adapts to them, so they go there instead.
    """
    lo, s, B = _grid_params(X, s_target)
    n, d = X.shape
    cells = np.zeros(n, dtype=np.int64)
    for c in range(d):
        cells = cells * B[c] + np.clip(np.floor((X[:, c] - lo[c]) / s), 0, B[c] - 1).astype(np.int64)
    crowded = np.bincount(cells).max()
    if n > GRID_MIN_CROWDED_N and crowded > max(64 * k, 4 * np.sqrt(n)):
        return None
    return lo, s, B


def _pilot_radius(X: np.ndarray, k: int, cheb: bool) -> float:
    """Typical k-th neighbour distance, from a brute-force search on a fixed subsample."""
    n, d = X.shape
    m = min(n, 400)
    sub = X if m == n else X[np.random.default_rng(0).choice(n, m, replace=False)]
    kk = min(k, m - 1)
    eps = _kernels.knn_block(np.ascontiguousarray(sub), kk, cheb)[0][:, kk - 1]
    return float(np.median(eps)) * (m / n) ** (1.0 / d)


def _check_regime(regime: str) -> None:
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}; expected one of {REGIMES}")


def knn(X: np.ndarray, k: int, metric: str = "chebyshev", regime: str | None = None):
    """Distances ``(n, k)`` (ascending) and indices of the k nearest neighbours of each row.

    Ties are broken by the smaller index, in every regime (ties of the key: the max-norm, or
    the squared Euclidean distance summed in column order).
    """
    cheb = _metric(metric)
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = X.shape
    regime = regime or _regime(n, d, counting=False)
    _check_regime(regime)
    if regime == "sorted":
        raise ValueError("the sorted regime only counts (in one dimension); it has no kNN search")
    if regime == "grid":
        if d > GRID_MAX_D:
            raise ValueError(f"the grid regime needs at most {GRID_MAX_D} dimensions; got {d}")
        params = _balanced_grid(X, _pilot_radius(X, k, cheb), k)
        if params is not None:
            return _kernels.knn_grid(X, k, cheb, *params)
        regime = "tree"
    if regime == "brute":
        return _kernels.knn_brute(X, k, cheb)
    if regime == "block":
        return _kernels.knn_block(X, k, cheb)
    return _kdtree.knn_tree(X, k, cheb)


def kth_distance(X: np.ndarray, k: int, metric: str = "chebyshev", regime: str | None = None) -> np.ndarray:
    """Distance from each row to its k-th nearest neighbour (self excluded)."""
    return np.ascontiguousarray(knn(X, k, metric, regime)[0][:, k - 1])


def count_within(
    X: np.ndarray,
    radii: np.ndarray,
    *,
    strict: bool = True,
    metric: str = "chebyshev",
    regime: str | None = None,
) -> np.ndarray:
    """For each row i, the number of rows j != i with ``dist(i, j) < radii[i]`` (or ``<=``)."""
    cheb = _metric(metric)
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = X.shape
    radii = np.ascontiguousarray(radii, dtype=np.float64)
    regime = regime or _regime(n, d, counting=True)
    _check_regime(regime)
    if regime == "sorted" and d != 1:
        raise ValueError(f"the sorted regime counts in one dimension only; got {d}")
    if regime == "sorted":
        x = X[:, 0]
        s = np.sort(x)
        c = _kernels.count_sorted_1d(s, x, radii, strict)
        # the point itself satisfies the predicate unless the test is 0 < 0
        self_in = (radii > 0) | (not strict)
        return c - self_in.astype(np.int64)
    if regime == "grid":
        if d > GRID_MAX_D:
            raise ValueError(f"the grid regime needs at most {GRID_MAX_D} dimensions; got {d}")
        pos = radii[radii > 0]
        params = _balanced_grid(X, float(np.median(pos)) if pos.size else 0.0, 8)
        if params is not None:
            return _kernels.count_grid(X, radii, strict, cheb, *params)
        regime = "tree"
    if regime == "brute":
        return _kernels.count_brute(X, radii, strict, cheb)
    if regime == "block":
        t = _kdtree.key_thresholds(radii, strict, cheb)
        return _kernels.count_block(X, t, cheb) - (t > 0.0)
    return _kdtree.count_tree(X, radii, strict, cheb)


# ----------------------------------------------------------------------------------------------
# KSG and Frenzel--Pompe sums on prepared arrays (shared by MI, CMI, TE and the O-information)
# ----------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------
# KSG
# ----------------------------------------------------------------------------------------------
class RepeatedPointsError(ValueError):
    """Repeated points in the joint space of a KSG estimate (callers may re-word the advice)."""

    def __init__(self, message: str, n_zero: int):
        super().__init__(message)
        self.n_zero = n_zero


def check_joint_radii(eps: np.ndarray, names: str) -> None:
    """KSG needs a positive k-th neighbour distance in the joint space for every sample."""
    n_zero = int(np.count_nonzero(eps <= 0))
    if n_zero:
        raise RepeatedPointsError(
            f"{names} have repeated points: for {n_zero} sample(s) the k-th neighbour in the joint "
            "space is at distance 0, where the KSG estimator is undefined. For discrete or "
            "partly discrete data use method='mixed' (or 'discrete' / 'ross'); for continuous "
            "data recorded with limited precision, add seeded jitter (noise=1e-10, seed=0)",
            n_zero,
        )


def rescale_inputs(arrays: dict, standardize: bool) -> dict:
    """Validate ``arrays`` and divide them by powers of two when at an extreme scale.

    With ``standardize`` every column is later divided by its standard deviation, so each
    column gets its own power of two (the standardised values are then bit for bit the
    same). Without it the max-norm compares the variables' raw scales, so all of them
    share one power of two (distances scale exactly, counts are unchanged). Either way
    the estimate equals that of the data at an ordinary scale, instead of overflowing
    (variances of values beyond about 1e154) or underflowing (below about 1e-154).
    """
    out = {name: as_samples(a, name) for name, a in arrays.items()}
    check_flag(standardize, "standardize")
    if standardize:
        return {name: pow2_rescale(X, per_column=True)[0] for name, X in out.items()}
    peak = np.array([[float(np.abs(X).max()) for X in out.values()]])
    e = pow2_exponents(peak)
    if e.any():
        out = {name: np.ldexp(X, -e) for name, X in out.items()}
    return out


def prepare_scaled(arrays: dict, *, k, standardize, noise, seed, what):
    """:func:`prepare_continuous` after :func:`rescale_inputs` (scale-safe kNN inputs)."""
    return prepare_continuous(
        rescale_inputs(arrays, standardize), k=k, standardize=standardize, noise=noise, seed=seed,
        what=what,
    )


# A kNN MI or CMI estimate below -max(NEG_WARN_NATS, NEG_WARN_SE * standard error) warns.
NEG_WARN_NATS = 0.1


NEG_WARN_SE = 3.0


def warn_negative(value: float, terms: np.ndarray, what: str, causes: str) -> None:
    """Warn when an estimate is negative beyond estimator noise (MI and CMI are never negative).

    ``terms`` are the per-sample terms whose mean is the estimate; their standard error
    ``std / sqrt(N)`` is the noise scale (neighbouring terms are correlated, so this is
    a rough scale, hence the generous multiple).
    """
    n = terms.size
    se = float(np.std(terms)) / math.sqrt(n) if n > 1 else math.inf
    if value < -max(NEG_WARN_NATS, NEG_WARN_SE * se):
        warn(
            f"{what} is {value:.3g} nats, negative beyond estimator noise (standard error about "
            f"{se:.2g} nats); the true value is never negative, so this estimate is not "
            f"trustworthy. {causes}"
        )


KSG_NEG_CAUSES = (
    "Likely causes: heavy ties or discrete values (use method='mixed', or noise=1e-10), too few "
    "samples for the dimension, or strongly non-uniform densities; compare against shuffled data"
)


def ksg_terms(X: np.ndarray, Y: np.ndarray, k: int, variant: int):
    """KSG estimator 1 or 2 on prepared arrays: (estimate in nats, per-sample count terms)."""
    n = X.shape[0]
    J = np.ascontiguousarray(np.hstack([X, Y]))
    if variant == 1:
        eps = kth_distance(J, k, "chebyshev")
        check_joint_radii(eps, "x and y")
        nx = count_within(X, eps, strict=True)
        ny = count_within(Y, eps, strict=True)
        t = digamma(nx + 1) + digamma(ny + 1)
        return float(digamma(k) + digamma(n) - np.mean(t)), t
    dist, idx = knn(J, k, "chebyshev")
    check_joint_radii(dist[:, k - 1], "x and y")
    ex = np.abs(X[idx] - X[:, None, :]).max(axis=(1, 2))
    ey = np.abs(Y[idx] - Y[:, None, :]).max(axis=(1, 2))
    nx = count_within(X, ex, strict=False)
    ny = count_within(Y, ey, strict=False)
    t = digamma(nx) + digamma(ny)
    return float(digamma(k) - 1.0 / k + digamma(n) - np.mean(t)), t


def cmi_ksg_terms(X: np.ndarray, Y: np.ndarray, Z: np.ndarray, k: int, names: str = "x, y and z"):
    """Frenzel--Pompe CMI on prepared arrays: (estimate in nats, per-sample count terms)."""
    J = np.ascontiguousarray(np.hstack([X, Y, Z]))
    eps = kth_distance(J, k, "chebyshev")
    check_joint_radii(eps, names)
    nxz = count_within(np.ascontiguousarray(np.hstack([X, Z])), eps, strict=True)
    nyz = count_within(np.ascontiguousarray(np.hstack([Y, Z])), eps, strict=True)
    nz = count_within(Z, eps, strict=True)
    terms = digamma(nxz + 1) + digamma(nyz + 1) - digamma(nz + 1)
    return float(digamma(k) - np.mean(terms)), terms

