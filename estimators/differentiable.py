r"""Differentiable spectral entropies: torch versions of the von Neumann and matrix-based entropies.

:func:`von_neumann_entropy` and :func:`matrix_entropy` compute exactly what
:func:`estimators.spectral.von_neumann_entropy` and :func:`estimators.spectral.matrix_entropy`
compute (same preparation, same round-off threshold, same value to round-off in float64), but
return a 0-d ``torch.Tensor`` that carries gradients, so they can be used as regularisers in a
loss or differentiated with respect to a model's parameters (see
:class:`infomeasure.gradient_probe.GradientAlignment`).

**Stable gradients.** The entropies are spectral functions :math:`\sum_k h(\lambda_k)` of a
symmetric matrix :math:`M` (the smaller Gram matrix, or the kernel matrix). Their gradient is
the matrix function :math:`\partial S / \partial M = U \operatorname{diag}(h'(\lambda)) U^\top`,
which involves no eigenvalue gaps: only eigenvalues are differentiated (``torch.linalg.eigvalsh``,
whose backward is exactly that product), never eigenvectors, so repeated eigenvalues (duplicate
rows, an isotropic representation) are harmless. Where :math:`h'` is infinite, at eigenvalues
that are zero (rank-deficient ``Z``) and at those set to zero as round-off (below
``max(min(n, d), 16) * eps * largest``, as in the NumPy functions), the term is left out: those
directions get zero gradient. That is the exact gradient of the linear-kernel entropies, where
a zero eigenvalue's direction is annihilated by ``Z`` itself (:math:`Z u = 0`, and
:math:`-\lambda\log\lambda` of :math:`\lambda = \sigma^2` has derivative
:math:`-2\sigma(\log\sigma^2 + 1) \to 0` in :math:`\sigma`), and of the Gaussian kernel with
duplicate rows (whose kernel derivative vanishes there). For ``alpha < 0.5`` the true gradient
at a rank-deficient ``Z`` is infinite; it is reported as zero in those directions.

torch is imported inside the functions: ``import estimators`` does not import it.
"""

from __future__ import annotations

import math

from ._docs import fill
from ._gram import CLIP_FLOOR, EPS, _check_degenerate_kernel, check_kernel, check_sigma, ldexp
from ._validation import _is_torch_tensor, check_alpha, log_base, warn

__all__ = ["von_neumann_entropy", "matrix_entropy"]

_REGULARISER = """**As a regulariser.** Add ``-lam * S`` to the loss to spread the representation over more
    directions (decorrelation, against dimensional collapse; Kim et al. 2023 use the von
    Neumann entropy so), or ``+lam * S`` to compress it. The value is between 0 and
    ``log min(n, d)`` (linear kernel) or ``log n`` (Gaussian), so ``lam`` in units of the loss per
    nat; with ``base=2`` it is in bits. The batch is the sample: compute it on a batch of at
    least a few times ``min(n, d)`` rows and compare values at equal batch size. Cost: the Gram
    matrix (:math:`O(n d \\min(n, d))`) and one symmetric eigenproblem of size
    :math:`\\min(n, d)` (:math:`O(\\min(n,d)^3)`), forward and backward, in float64 on the
    tensor's device; the Gaussian kernel costs :math:`O(n^2 d + n^3)`."""


def _matrix(Z, what: str):
    """``Z`` as a float64 ``(n, d)`` tensor on its device, still attached to the autograd graph."""
    if not _is_torch_tensor(Z):
        raise TypeError(
            f"{what}: Z must be a torch.Tensor (these are the differentiable versions); for NumPy arrays "
            f"use estimators.spectral.{what.split('.')[-1]}, which returns a float"
        )
    import torch

    if Z.is_complex():
        raise TypeError(f"{what}: Z is complex; pass real values (e.g. Z.abs() or Z.real)")
    if Z.ndim == 0 or Z.ndim > 2:
        raise ValueError(
            f"{what}: Z must be 1-D (n_samples,) or 2-D (n_samples, n_features); got shape {tuple(Z.shape)}. "
            "Flatten the feature axes first, e.g. Z.reshape(len(Z), -1)"
        )
    if Z.shape[0] == 0 or (Z.ndim == 2 and Z.shape[1] == 0):
        raise ValueError(f"{what}: Z is empty (shape {tuple(Z.shape)}); pass at least one sample and one feature")
    X = (Z if Z.ndim == 2 else Z.reshape(-1, 1)).to(torch.float64)
    finite = torch.isfinite(X.detach())
    if not bool(finite.all()):
        n_nan = int(torch.isnan(X.detach()).sum())
        n_inf = int(X.numel() - int(finite.sum()) - n_nan)
        raise ValueError(
            f"{what}: Z contains {n_nan} NaN and {n_inf} infinite value(s); drop or impute those samples first"
        )
    return X


def _pow2_exponent(x) -> int:
    """The power of two that brings the largest |entry| of ``x`` (detached) into [0.5, 1)."""
    m = float(x.detach().abs().max()) if x.numel() else 0.0
    return 0 if m == 0.0 else math.frexp(m)[1]


def _times_pow2(X, e: int):
    """``X * 2**e`` (exact; two factors so that each is a normal float64)."""
    if e == 0:
        return X
    h = e // 2
    return X * (2.0**h) * (2.0 ** (e - h))


def _unit_rows(X, what: str):
    """Rows divided by their L2 norm (each first rescaled by an exact power of two); zero rows dropped."""
    import torch

    rmax = X.detach().abs().amax(dim=1)
    zero = rmax == 0
    n_zero = int(zero.sum())
    if n_zero:
        if n_zero == X.shape[0]:
            raise ValueError(
                f"{what}: every row of Z is zero; rows cannot be L2-normalised. Check that the layer is not dead "
                "or the input constant"
            )
        warn(
            f"{what}: {n_zero} row(s) of Z are all zero and cannot be L2-normalised; they were dropped (N counts "
            "the remaining rows, and they get zero gradient)")
        X, rmax = X[~zero], rmax[~zero]
    e = torch.frexp(rmax).exponent.to(torch.float64)
    h = torch.floor(e / 2)
    X = X * torch.exp2(-h)[:, None] * torch.exp2(h - e)[:, None]
    return X / torch.linalg.vector_norm(X, dim=1, keepdim=True)


def _gram(X):
    """The smaller of XᵀX and XXᵀ."""
    n, d = X.shape
    return X.T @ X if d <= n else X @ X.T


def _clipped_eigenvalues(M, n: int, d: int):
    """Eigenvalues of the symmetric ``M`` (differentiable) and the mask of those above round-off."""
    import torch

    M = 0.5 * (M + M.T)  # exactly symmetric; the gradient is then symmetric too
    try:
        lam = torch.linalg.eigvalsh(M)
    except torch.linalg.LinAlgError as exc:
        raise ValueError(
            f"the symmetric eigenvalue solver did not converge ({exc}); rescale or standardise the data and retry"
        ) from None
    top = float(lam.detach().max())
    if not top > 0:
        return lam, torch.zeros_like(lam, dtype=torch.bool)
    return lam, lam.detach() >= max(min(n, d), CLIP_FLOOR) * EPS * top


def _shannon(lam, keep):
    """``-Σ λ log λ`` over the kept eigenvalues; the others contribute nothing and get zero gradient."""
    import torch

    safe = torch.where(keep, lam, torch.ones_like(lam))
    return -(torch.where(keep, safe * torch.log(safe), torch.zeros_like(lam))).sum() + 0.0


def _renyi(lam, keep, alpha: float):
    """Rényi entropy (nats) of the kept eigenvalues, normalised to sum 1."""
    import torch

    kept = torch.where(keep, lam, torch.zeros_like(lam))
    p = kept / kept.sum()
    if alpha == 1.0:
        return _shannon(p, keep)
    if alpha == 0.0:
        return torch.log(keep.sum().to(lam.dtype)) + 0.0 * p.sum()  # log rank: zero gradient
    if math.isinf(alpha):
        return -torch.log(p.max()) + 0.0
    safe = torch.where(keep, p, torch.ones_like(p))
    s = torch.where(keep, safe**alpha, torch.zeros_like(p)).sum()
    return torch.log(s) / (1.0 - alpha) + 0.0


def _result(h, Z, base):
    """``h`` (nats, float64) in the requested unit and in ``Z``'s floating dtype."""
    out = h / log_base(base)
    return out.to(Z.dtype) if Z.is_floating_point() else out


@fill(regulariser=_REGULARISER)
def von_neumann_entropy(Z, *, base=None):
    r"""Differentiable von Neumann entropy of the row-normalised autocorrelation (Kim et al. 2023).

    The value of :func:`estimators.spectral.von_neumann_entropy`: rows L2-normalised (not
    centred), :math:`C = Z^\top Z / N` (trace 1), :math:`S = -\sum_k \lambda_k \log \lambda_k`
    over its eigenvalues (computed from the smaller of :math:`Z^\top Z` and :math:`Z Z^\top`),
    as a 0-d tensor with gradients.

    Parameters
    ----------
    Z : torch.Tensor of shape (n_samples, n_features)
        Representations (samples along axis 0), on any device, possibly requiring grad.
        All-zero rows are dropped with a warning (and get zero gradient).
    base : float, optional
        Logarithm base; ``None`` gives nats, ``2`` bits.

    Returns
    -------
    torch.Tensor
        0-d, in ``Z``'s floating dtype (computed in float64), between 0 and ``log min(n, d)``.

    Notes
    -----
    Gradients are stable at repeated and at zero eigenvalues (module docstring). The row
    normalisation makes the value invariant to rescaling each row, so its gradient is
    orthogonal to every row.

    %(regulariser)s

    References
    ----------
    J. Kim, S. Kang, D. Hwang, J. Shin, W. Rhee, "VNE: An effective method for improving deep
    representation by manipulating eigenvalue distribution", CVPR 2023.

    Examples
    --------
    >>> import torch
    >>> from estimators import differentiable as D
    >>> Z = torch.eye(4, dtype=torch.float64).repeat(2, 1).requires_grad_()
    >>> h = D.von_neumann_entropy(Z, base=2)           # 4 orthogonal directions: 2 bits
    >>> round(h.item(), 12)
    2.0
    >>> h.backward(); bool(Z.grad.abs().max() < 1e-12)  # a maximum: zero gradient
    True
    """
    what = "differentiable.von_neumann_entropy"
    log_base(base)
    X = _unit_rows(_matrix(Z, what), what)
    n, d = X.shape
    lam, keep = _clipped_eigenvalues(_gram(X), n, d)
    return _result(_shannon(lam / n, keep), Z, base)


@fill(regulariser=_REGULARISER)
def matrix_entropy(Z, alpha=1.0, *, kernel="linear", sigma=None, base=None):
    r"""Differentiable matrix-based Rényi α-order entropy (Sánchez Giraldo et al. 2015).

    The value of :func:`estimators.spectral.matrix_entropy`: with :math:`K` the Gram matrix of
    the samples (``kernel="linear"``: :math:`Z Z^\top` of the raw ``Z``, its spectrum taken on
    the smaller side; ``"gaussian"``: :math:`\exp(-\lVert z_i - z_j\rVert^2 / 2\sigma^2)`) and
    :math:`\lambda_k` the eigenvalues of :math:`K / \operatorname{tr} K`,

    .. math:: S_\alpha = \frac{1}{1-\alpha} \log \sum_k \lambda_k^\alpha, \qquad
              S_1 = -\sum_k \lambda_k \log \lambda_k,

    as a 0-d tensor with gradients.

    Parameters
    ----------
    Z : torch.Tensor of shape (n_samples, n_features)
        Samples along axis 0, on any device, possibly requiring grad.
    alpha : float, default 1.0
        Order :math:`\alpha \ge 0` (``inf``: :math:`-\log\lambda_{\max}`; ``0``: the log of the
        rank, whose gradient is zero).
    kernel : {"linear", "gaussian"}, default "linear"
    sigma : float, "median" or "rms", optional
        Gaussian bandwidth; ``None`` or ``"median"``: the median distance between distinct
        samples, ``"rms"``: the root-mean-square distance. These rules are functions of ``Z``
        and are differentiated through (the median passes its gradient to the pair of samples
        that attains it), so the value and its gradient are invariant to rescaling ``Z``; a
        number holds the bandwidth fixed (the gradient then also moves the scale).
    base : float, optional
        Logarithm base; ``None`` gives nats, ``2`` bits.

    Returns
    -------
    torch.Tensor
        0-d, in ``Z``'s floating dtype (computed in float64).

    Notes
    -----
    Gradients are stable at repeated and at zero eigenvalues (module docstring). With the linear
    kernel and L2-normalised rows, ``alpha=1`` equals :func:`von_neumann_entropy`.

    %(regulariser)s

    References
    ----------
    L. G. Sánchez Giraldo, M. Rao, J. C. Príncipe, "Measures of entropy from data using
    infinitely divisible kernels", IEEE Trans. Inf. Theory 61 (2015) 535--548.

    Examples
    --------
    >>> import torch
    >>> from estimators import differentiable as D
    >>> Z = torch.randn(64, 8, dtype=torch.float64, requires_grad=True)
    >>> h = D.matrix_entropy(Z, alpha=2)
    >>> from estimators.spectral import matrix_entropy
    >>> abs(h.item() - matrix_entropy(Z.detach().numpy(), alpha=2)) < 1e-12
    True
    >>> (-h).backward()                    # e.g. a term -lam * h of a loss
    >>> Z.grad.shape
    torch.Size([64, 8])
    """
    what = "differentiable.matrix_entropy"
    alpha = check_alpha(alpha)
    check_kernel(kernel)
    sigma = check_sigma(sigma)
    log_base(base)
    X = _matrix(Z, what)
    if kernel == "linear":
        X = _times_pow2(X, -_pow2_exponent(X))
        n, d = X.shape
        if float(X.detach().abs().max()) == 0.0:
            raise ValueError(f"{what}: Z is all zeros; its trace-normalised spectrum is undefined")
        lam, keep = _clipped_eigenvalues(_gram(X), n, d)
    else:
        A = _gaussian_normalized(X, "median" if sigma is None else sigma, what)
        n = A.shape[0]
        lam, keep = _clipped_eigenvalues(A, n, n)
    return _result(_renyi(lam, keep, alpha), Z, base)


def _sq_distances(Xc):
    """Squared distances (differentiable): >= 0, zero diagonal."""
    import torch

    sq = (Xc * Xc).sum(dim=1)
    D2 = (sq[:, None] + sq[None, :] - 2.0 * (Xc @ Xc.T)).clamp(min=0.0)
    off = 1.0 - torch.eye(Xc.shape[0], dtype=Xc.dtype, device=Xc.device)
    return D2 * off


def _safe_sqrt(v):
    """sqrt with a zero (not infinite) gradient at 0."""
    import torch

    pos = v.detach() > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, v, torch.ones_like(v))), torch.zeros_like(v))


def _middle_mean(vals):
    """Mean of the middle value(s) of a 1-D tensor (differentiable through torch.kthvalue)."""
    import torch

    m = vals.shape[0]
    ks = [m // 2 - 1, m // 2] if m % 2 == 0 else [m // 2]
    return torch.stack([torch.kthvalue(vals, k + 1).values for k in ks]).mean()


def _bandwidth(rule: str, Xc, D2, k: int, what: str):
    """The bandwidth of a rule in the rescaled units, as a tensor (None: all samples coincide)."""
    import torch

    n = Xc.shape[0]
    if n < 2:
        return None
    rms = torch.sqrt(2.0 * (Xc * Xc).sum() / (n - 1)) if float((Xc.detach() ** 2).sum()) > 0 else None
    if rule == "rms" or rms is None:
        return rms
    iu = torch.triu_indices(n, n, 1, device=D2.device)
    sq = D2[iu[0], iu[1]]
    # the median of the distances is the root of the middle squared distances (their mean for even counts)
    ks = [sq.shape[0] // 2 - 1, sq.shape[0] // 2] if sq.shape[0] % 2 == 0 else [sq.shape[0] // 2]
    s = torch.stack([_safe_sqrt(torch.kthvalue(sq, j + 1).values) for j in ks]).mean()
    if float(s.detach()) > 0:
        return s
    nz = sq[sq.detach() > 0]
    s = _middle_mean(torch.sqrt(nz))
    warn(
        f"{what}: more than half of the pairwise distances are zero (repeated samples); the bandwidth is the "
        f"median of the non-zero distances ({ldexp(float(s.detach()), k):.4g})")
    return s


def _gaussian_normalized(X, sigma, what: str):
    """K / tr K of the Gaussian kernel, as :func:`estimators._gram.gaussian_gram` computes K (differentiable)."""
    import torch

    k = _pow2_exponent(X)
    Xs = _times_pow2(X, -k)
    Xc = Xs - Xs.mean(dim=0, keepdim=True)
    k2 = _pow2_exponent(Xc)
    Xs = _times_pow2(Xc, -k2)
    k += k2
    D2 = _sq_distances(Xs)
    n = Xs.shape[0]
    if isinstance(sigma, str):
        s = _bandwidth(sigma, Xs, D2, k, what)
        if s is None:
            if n >= 2:
                warn(f"{what}: all samples are identical, so every bandwidth gives the same kernel (all ones); "
                     "sigma is set to 1.0")
            s = torch.ones((), dtype=Xs.dtype, device=Xs.device)
        K = torch.exp(-D2 / (2.0 * s * s))
    else:
        s = ldexp(sigma, -k)
        ss = s * s
        if ss >= 2.2250738585072014e-308 and math.isfinite(2.0 * ss):
            K = torch.exp(-D2 * (1.0 / (2.0 * ss)))
        else:  # D2 / (2 s^2) overflows or underflows, as it should: in the log domain
            log_f = -math.log(2.0) - 2.0 * (math.log(sigma) - k * math.log(2.0))
            pos = D2.detach() > 0
            safe = torch.where(pos, D2, torch.ones_like(D2))
            E = torch.where(pos, torch.exp(torch.log(safe) + log_f), torch.zeros_like(D2))
            K = torch.exp(-E)
        if n >= 2:
            _check_degenerate_kernel(K.detach(), Xs.detach(), k, sigma, what, "warn")
    return K / K.diagonal().sum()

