"""Shared internals of the Gaussian estimators: log-determinants of sample covariances.

Entropy, mutual information, conditional mutual information, transfer entropy and the
higher-order measures of Gaussian variables are sums of these log-determinants.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma

from ._validation import pow2_rescale

__all__ = ["SINGULAR_RTOL", "gaussian_cmi", "gaussian_logdet", "wishart_correction"]

SINGULAR_RTOL = 1e-10

def gaussian_logdet(X: np.ndarray, name: str, bias_correction: bool = False) -> float:
    """log det of the sample covariance (ddof=1) of X, optionally bias-corrected.

    With ``bias_correction`` the returned value is an unbiased estimate of
    ``log det Sigma`` for Gaussian data: (n-1) S ~ Wishart(Sigma, n-1) gives
    E[log det S] = log det Sigma + d log(2/(n-1)) + sum_{i=1}^d psi((n-i)/2).

    Columns at extreme scales (beyond 2**±64, where the covariance would overflow
    or underflow) are first divided by a power of two, ``X_j = 2**e_j U_j``
    (exact), and ``log det Cov(X) = log det Cov(U) + 2 log 2 sum_j e_j`` is used.
    """
    n, d = X.shape
    if n <= d:
        raise ValueError(
            f"{name} has {n} samples for {d} dimensions; the Gaussian estimator needs more "
            "samples than dimensions (the sample covariance is singular otherwise)"
        )
    X, e = pow2_rescale(X, per_column=True)
    C = np.atleast_2d(np.cov(X, rowvar=False))
    try:
        L = np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        L = None
    # A column whose variance left after regressing on the columns before it is below
    # SINGULAR_RTOL of its own variance counts as a linear combination of them.
    if L is None or not np.all(np.diag(L) ** 2 > SINGULAR_RTOL * np.diag(C)):
        raise ValueError(
            f"the covariance of {name} is singular (a constant column, or columns that are "
            "linear combinations of others): its log-determinant is -inf, so its Gaussian "
            "entropy is -inf and a Gaussian MI involving it is infinite. Drop redundant columns"
        )
    logdet = 2.0 * float(np.log(np.diag(L)).sum())
    if e.any():
        logdet += 2.0 * math.log(2.0) * float(e.sum())
    if bias_correction:
        logdet -= wishart_correction(d, n)
    return logdet


def wishart_correction(d: int, n: int) -> float:
    """E[log det S] - log det Sigma for a d-dim sample covariance (ddof=1) of n Gaussian samples.

    (n-1) S ~ Wishart(Sigma, n-1) gives d log(2/(n-1)) + sum_{i=1}^d psi((n-i)/2).
    """
    if d == 0:
        return 0.0
    return d * math.log(2.0 / (n - 1)) + float(digamma((n - np.arange(1, d + 1)) / 2.0).sum())


def gaussian_cmi(X: np.ndarray, Y: np.ndarray, Z: np.ndarray, bias_correction: bool = False,
                 names=("x", "y", "z")) -> float:
    """I(X; Y | Z) in nats of validated float64 ``(n, d)`` arrays from four log-determinants."""
    x, y, z = names
    bc = bias_correction
    return 0.5 * (
        gaussian_logdet(np.hstack([X, Z]), f"({x}, {z})", bc)
        + gaussian_logdet(np.hstack([Y, Z]), f"({y}, {z})", bc)
        - gaussian_logdet(np.hstack([X, Y, Z]), f"({x}, {y}, {z})", bc)
        - gaussian_logdet(Z, z, bc)
    )
