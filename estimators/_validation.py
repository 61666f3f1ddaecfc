"""Input coercion and validation shared by every estimator.

Every public estimator calls these helpers at its boundary, so that all of them
accept the same inputs (lists, NumPy arrays, torch tensors) and reject bad
input with the same, actionable messages.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings

import numpy as np

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside this package."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame = frame.f_back
        level += 1
    return level


def warn(message: str) -> None:
    """Issue a ``UserWarning`` attributed to the user's call, not to library internals."""
    warnings.warn(message, UserWarning, stacklevel=user_stacklevel())

__all__ = [
    "as_samples",
    "as_labels",
    "check_same_n",
    "check_k",
    "check_positive_int",
    "check_flag",
    "check_alpha",
    "log_base",
    "to_base",
    "check_rng",
    "warn_undersampled",
    "warn_ties",
    "standardize_columns",
    "pow2_exponents",
    "pow2_rescale",
    "add_noise",
    "check_noise",
    "compact_codes",
    "pair_codes",
    "warn",
    "prepare_continuous",
]


def _is_torch_tensor(x) -> bool:
    # Detect torch tensors without importing torch.
    mod = type(x).__module__
    return mod.split(".", 1)[0] == "torch" and hasattr(x, "detach")


def _to_numpy(x, name: str):
    """Convert lists, tuples, NumPy arrays and torch tensors to a NumPy array."""
    if _is_torch_tensor(x):
        t = x.detach()
        if t.is_floating_point() and t.element_size() < 4:  # float16 / bfloat16
            t = t.float()
        return t.cpu().numpy()  # one device-to-host copy at most
    if isinstance(x, np.ma.MaskedArray):
        return _unmasked(x, name)
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(
            f"{name} must be array-like (a list, NumPy array or torch tensor) of shape "
            f"(n_samples,) or (n_samples, n_features); got {type(x).__name__}"
        )
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise TypeError(
            f"{name} could not be converted to a rectangular array ({exc}); pass a list of "
            "equal-length rows, a NumPy array or a torch tensor"
        ) from None


def _unmasked(x: np.ma.MaskedArray, name: str) -> np.ndarray:
    """The data of a masked array without masked entries; masked entries are refused.

    Estimators need complete samples, and ``np.asarray`` would silently return the values under
    the mask. An array whose mask is all False is accepted as plain data.
    """
    mask = np.ma.getmaskarray(x)
    n_masked = int(mask.sum())
    if n_masked:
        rows = int(mask.reshape(mask.shape[0], -1).any(axis=1).sum()) if mask.ndim else 1
        raise ValueError(
            f"{name} is a masked array with {n_masked} masked value(s) in {rows} sample(s); estimators "
            f"do not read masks. Drop those samples first, e.g. {name}[~np.ma.getmaskarray({name})"
            f"{'.any(axis=1)' if mask.ndim > 1 else ''}], or fill them ({name}.filled(value))"
        )
    return np.asarray(x.data)


def _check_shape(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.ndim == 0:
        raise ValueError(
            f"{name} is a scalar; pass one value per sample, shape (n_samples,) or "
            "(n_samples, n_features)"
        )
    if arr.ndim > 2:
        raise ValueError(
            f"{name} must be 1-D (n_samples,) or 2-D (n_samples, n_features); got shape "
            f"{arr.shape}. Flatten the feature axes first, e.g. {name}.reshape(len({name}), -1)"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 samples); pass at least one sample")
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 features (shape {arr.shape}); pass at least one column")
    return arr if arr.ndim == 2 else arr.reshape(-1, 1)


def as_samples(x, name: str = "x") -> np.ndarray:
    """Return ``x`` as a C-contiguous float64 array of shape ``(n_samples, n_features)``.

    Raises
    ------
    TypeError
        If ``x`` is not numeric array-like.
    ValueError
        If ``x`` is empty, has more than two dimensions, or holds NaN or inf.
    """
    arr = _to_numpy(x, name)
    if arr.dtype == object or arr.dtype.kind in "USVMm":
        raise TypeError(
            f"{name} must hold real numbers; got dtype {arr.dtype}. Encode categories as "
            "integers and use a discrete method (e.g. method='discrete')"
        )
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} is complex; pass real values (e.g. np.abs({name}) or its real part)")
    arr = _check_shape(arr, name)
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(arr.size - finite.sum() - n_nan)
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} infinite value(s); drop or impute "
            "those samples before estimating"
        )
    return arr


def as_labels(x, name: str = "x") -> np.ndarray:
    """Return discrete data as int64 codes ``0..m-1`` of shape ``(n_samples,)``.

    Each distinct row of a 2-D input is one symbol. Integers, booleans, strings
    and floats (compared exactly) are accepted; NaN is rejected.
    """
    arr = _to_numpy(x, name)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} is complex; discrete symbols must be real numbers or strings")
    arr = _check_shape(arr, name)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(
            f"{name} contains NaN or infinite values; encode missing values as their own "
            "symbol (e.g. -1) or drop those samples"
        )
    if arr.dtype == object:
        try:
            arr = arr.astype(str)
        except (TypeError, ValueError):
            raise TypeError(f"{name} holds objects that cannot be compared as symbols") from None
    codes = np.unique(arr[:, 0], return_inverse=True)[1].reshape(-1).astype(np.int64)
    for j in range(1, arr.shape[1]):
        codes = pair_codes(codes, np.unique(arr[:, j], return_inverse=True)[1].reshape(-1))
    n = codes.size
    if arr.dtype.kind == "f" and n >= 20:
        m = int(codes.max()) + 1
        if m > n // 2:
            warn(
                f"{name} looks continuous: its {n} float samples form {m} distinct symbols, so plug-in "
                f"(discrete) estimates approach log({n}) whatever the data. For continuous data use a "
                "continuous method (e.g. 'kl', 'ksg', 'ross') or bin it first (method='binned')"
            )
    return np.ascontiguousarray(codes)


def compact_codes(c: np.ndarray) -> np.ndarray:
    """Relabel integer codes as 0 .. m-1, keeping their order."""
    c = np.asarray(c, dtype=np.int64)
    lo, hi = int(c.min()), int(c.max())
    if hi - lo <= 4 * c.size + 1024:  # small range: O(n) table lookup
        present = np.zeros(hi - lo + 1, dtype=bool)
        present[c - lo] = True
        return (np.cumsum(present) - 1)[c - lo]
    return np.unique(c, return_inverse=True)[1].reshape(-1).astype(np.int64)


def pair_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Compact code of the pair (a, b), in lexicographic order, for compact codes a and b.

    Equal to the labels of ``np.unique(np.column_stack([a, b]), axis=0, return_inverse=True)``
    in O(n) for small code ranges.
    """
    return compact_codes(np.asarray(a, dtype=np.int64) * (int(np.max(b)) + 1) + b)


def check_same_n(**arrays) -> int:
    """Check that all arrays have the same number of samples (rows); return it."""
    ns = {k: len(v) for k, v in arrays.items()}
    if len(set(ns.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in ns.items())
        names = " and ".join(ns)
        raise ValueError(
            f"{names} must have the same number of samples (rows): {desc}. Samples run along "
            "axis 0; pair each sample of one variable with one of the other"
        )
    return next(iter(ns.values()))


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return value


def check_flag(value, name: str) -> bool:
    """``value`` if it is ``True`` or ``False`` (NumPy booleans included); a ``TypeError`` otherwise."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_k(k, n: int, name: str = "k") -> int:
    """Validate a neighbour count against the number of samples."""
    k = check_positive_int(k, name)
    if k >= n:
        raise ValueError(
            f"{name}={k} must be smaller than the number of samples ({n}); lower {name} or "
            "pass more samples"
        )
    return k


def check_alpha(alpha, name: str = "alpha") -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"{name} must be a real number >= 0; got {alpha!r}")
    alpha = float(alpha)
    if math.isnan(alpha) or alpha < 0:
        raise ValueError(f"{name} must be >= 0 (or inf); got {alpha}")
    return alpha


def log_base(base) -> float:
    """Natural log of the unit base: 1.0 for nats (``base=None`` or e)."""
    if base is None:
        return 1.0
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise TypeError(f"base must be a positive number such as 2 (bits) or None (nats); got {base!r}")
    base = float(base)
    if not math.isfinite(base) or base <= 0 or base == 1.0:
        raise ValueError(
            f"base must be positive, finite and not 1; got {base}. Use None for nats, 2 for bits"
        )
    return math.log(base)


def to_base(value_nats: float, base) -> float:
    """Convert a value in nats to the requested unit; return a Python float."""
    return float(value_nats / log_base(base))


def check_rng(seed) -> np.random.Generator:
    """Turn ``seed`` (None, int or Generator) into a ``numpy.random.Generator``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {seed}")
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be None, a non-negative int or a numpy.random.Generator; got {seed!r}")


def warn_undersampled(n: int, d: int, what: str, factor: int = 10) -> None:
    """Warn when ``n`` is small for dimension ``d`` (kNN and kernel estimators)."""
    if n < factor * d:
        warn(
            f"{what}: only {n} samples for {d} dimensions (fewer than {factor} per dimension); "
            "nonparametric estimates are strongly biased in this regime. Use more samples, "
            "reduce the dimension, or compare against shuffled data"
        )


def warn_ties(X: np.ndarray, name: str, threshold: float = 0.05) -> None:
    """Warn when a column of continuous data has many repeated values.

    kNN estimators assume continuous data: repeated values make neighbour
    distances zero and the counts ambiguous.
    """
    n = X.shape[0]
    if n < 2:
        return
    worst = 0.0
    for j in range(X.shape[1]):
        s = np.sort(X[:, j])
        worst = max(worst, float(np.count_nonzero(s[1:] == s[:-1])) / n)
    if worst > threshold:
        warn(
            f"{name} has heavy ties ({100 * worst:.1f}% of the values in one column repeat an "
            "earlier value); kNN estimators assume continuous data and are biased by ties. Pass "
            "noise=1e-10 (seeded jitter), or use method='discrete' / 'mixed' for discrete or "
            "mixed data"
        )


# Data whose largest magnitude lies within 2**-SAFE_LOG2 .. 2**SAFE_LOG2 are used as they are:
# squared distances and variances of such data neither overflow nor underflow in float64.
SAFE_LOG2 = 64


def pow2_exponents(X: np.ndarray, per_column: bool = False) -> np.ndarray:
    """Exponents ``e`` such that ``X * 2**-e`` has its largest magnitude in [0.5, 1).

    One exponent per column (``per_column``) or one for the whole array (shape ``(1,)``).
    Exponents are 0 where the magnitude already lies within ``2**±SAFE_LOG2`` (and for
    all-zero columns), so ordinary data are never touched.
    """
    m = np.abs(X).max(axis=0) if per_column else np.array([np.abs(X).max()])
    e = np.frexp(m)[1].astype(np.int64)  # m = f * 2**e with f in [0.5, 1)
    e[(m == 0) | (np.abs(e) <= SAFE_LOG2)] = 0
    return e


def pow2_rescale(X: np.ndarray, per_column: bool = False):
    """``(X * 2**-e, e)`` with ``e`` from :func:`pow2_exponents`.

    Multiplying by a power of two is exact in floating point (unless a value falls
    into the subnormal range), and so are the sums, differences, products and
    square roots computed from the rescaled data (each is the original one times a
    power of two): kNN counts, orderings and Cholesky factors do not change. This
    keeps data at scales such as 1e±155 .. 1e±300 away from overflow and
    underflow of squared distances and variances.
    """
    e = pow2_exponents(X, per_column)
    if not e.any():
        return X, e
    return np.ascontiguousarray(np.ldexp(X, -e)), e


def standardize_columns(X: np.ndarray) -> np.ndarray:
    """Divide each column by its standard deviation (constant columns are left as they are).

    Each column is first divided by a power of two near its largest magnitude (exact in binary
    floating point), so the squares inside the standard deviation neither overflow (values beyond
    about 1e154) nor underflow (below about 1e-154).
    """
    X = pow2_rescale(X, per_column=True)[0]  # bit-identical result; ordinary data are not touched
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    return X / sd


def check_noise(noise, name: str = "noise") -> float:
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise TypeError(f"{name} must be a real number >= 0 (e.g. 1e-10); got {noise!r}")
    if not noise >= 0 or math.isinf(noise):
        raise ValueError(f"{name} must be a finite number >= 0 (e.g. 1e-10); got {noise!r}")
    return float(noise)


def add_noise(X: np.ndarray, noise: float, rng: np.random.Generator, name: str = "noise") -> np.ndarray:
    """Add seeded Gaussian jitter of relative size ``noise`` to break ties.

    The jitter of column j has standard deviation ``noise * max(1, mean|X_j|)``.
    """
    if check_noise(noise, name) == 0:
        return X
    scale = np.maximum(np.abs(X).mean(axis=0), 1.0) * float(noise)
    return X + scale * rng.standard_normal(X.shape)


def prepare_continuous(arrays: dict, *, k, standardize, noise, seed, what: str):
    """Validate, standardise and jitter the continuous inputs of a kNN estimator.

    Parameters
    ----------
    arrays : dict
        Argument name -> array-like; all must have the same number of samples.
    k : int
        Neighbour order, checked against the number of samples.
    standardize : bool
        Divide every column by its standard deviation.
    noise : float
        Relative size of seeded jitter (0 disables it; heavy ties then warn).
    seed : None, int or numpy.random.Generator
        Seed for the jitter.
    what : str
        The estimator's name, for warnings.

    Returns
    -------
    (dict, int, int)
        The prepared C-contiguous float64 arrays, the number of samples, and k.
    """
    out = {name: as_samples(a, name) for name, a in arrays.items()}
    n = check_same_n(**out)
    k = check_k(k, n)
    check_flag(standardize, "standardize")
    noise = check_noise(noise)
    rng = check_rng(seed)
    for name in out:
        X = out[name]
        if standardize:
            X = standardize_columns(X)
        if noise:
            X = add_noise(X, noise, rng)
        else:
            warn_ties(X, name)
        out[name] = np.ascontiguousarray(X)
    d = sum(X.shape[1] for X in out.values())
    warn_undersampled(n, d, what)
    return out, n, k
