"""Slow, obviously-correct reference implementations for tests (small inputs only)."""

import numpy as np
from scipy.special import digamma


def pairwise(X, metric="chebyshev"):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    diff = X[:, None, :] - X[None, :, :]
    if metric == "chebyshev":
        return np.abs(diff).max(axis=2)
    return np.sqrt((diff**2).sum(axis=2))


def kth_distances(X, k, metric="chebyshev"):
    D = pairwise(X, metric)
    np.fill_diagonal(D, np.inf)
    return np.sort(D, axis=1)[:, k - 1]


def counts(X, radii, strict=True, metric="chebyshev"):
    D = pairwise(X, metric)
    inside = D < radii[:, None] if strict else D <= radii[:, None]
    np.fill_diagonal(inside, False)
    return inside.sum(axis=1)


def ksg1(X, Y, k):
    X = np.asarray(X, float).reshape(len(X), -1)
    Y = np.asarray(Y, float).reshape(len(Y), -1)
    n = len(X)
    eps = kth_distances(np.hstack([X, Y]), k)
    nx = counts(X, eps)
    ny = counts(Y, eps)
    return digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1))


def ksg2(X, Y, k):
    X = np.asarray(X, float).reshape(len(X), -1)
    Y = np.asarray(Y, float).reshape(len(Y), -1)
    n = len(X)
    D = pairwise(np.hstack([X, Y]))
    np.fill_diagonal(D, np.inf)
    nn = np.argsort(D, axis=1, kind="stable")[:, :k]
    Dx, Dy = pairwise(X), pairwise(Y)
    ex = np.array([Dx[i, nn[i]].max() for i in range(n)])
    ey = np.array([Dy[i, nn[i]].max() for i in range(n)])
    nx = counts(X, ex, strict=False)
    ny = counts(Y, ey, strict=False)
    return digamma(k) - 1.0 / k + digamma(n) - np.mean(digamma(nx) + digamma(ny))


def fp_cmi(X, Y, Z, k):
    X, Y, Z = (np.asarray(a, float).reshape(len(a), -1) for a in (X, Y, Z))
    eps = kth_distances(np.hstack([X, Y, Z]), k)
    nxz = counts(np.hstack([X, Z]), eps)
    nyz = counts(np.hstack([Y, Z]), eps)
    nz = counts(Z, eps)
    return digamma(k) - np.mean(digamma(nxz + 1) + digamma(nyz + 1) - digamma(nz + 1))


def plugin_entropy(labels):
    _, c = np.unique(labels, return_counts=True, axis=0)
    p = c / c.sum()
    return float(-(p * np.log(p)).sum())


def gaussian_entropy(cov):
    cov = np.atleast_2d(cov)
    d = cov.shape[0]
    return 0.5 * (d * np.log(2 * np.pi * np.e) + np.linalg.slogdet(cov)[1])
