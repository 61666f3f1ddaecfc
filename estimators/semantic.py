r"""Semantic entropy of sampled answers: entropy over meaning clusters (Kuhn et al. 2023, Farquhar et al. 2024).

A language model is asked the same question ``M`` times; the answers are grouped into clusters of
answers that mean the same thing, and the entropy of the distribution over clusters is the
model's uncertainty about the *meaning* of its answer (rather than about its wording):

* :func:`semantic_clusters`: the cluster id of every answer, from an equivalence function
  (bidirectional entailment in the papers; exact match after normalisation by default);
* :func:`semantic_entropy`: the entropy over clusters, from cluster frequencies ("discrete
  semantic entropy") or from the answers' sequence log-probabilities.

Pure Python and NumPy; the equivalence function (e.g. an NLI model) is the user's.
"""

from __future__ import annotations

import math
import numbers
import re
import string
import unicodedata

import numpy as np

from ._discrete import shannon
from ._docs import fill
from ._validation import log_base, to_base, warn

__all__ = ["semantic_clusters", "semantic_entropy"]

_REFERENCES = """L. Kuhn, Y. Gal, S. Farquhar, "Semantic uncertainty: Linguistic invariances for
    uncertainty estimation in natural language generation", ICLR 2023.
    S. Farquhar, J. Kossen, L. Kuhn, Y. Gal, "Detecting hallucinations in large language models
    using semantic entropy", Nature 630 (2024) 625--630."""

_PUNCT = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """The key of the default equivalence: NFKC, case-folded, punctuation and English articles removed, spaces collapsed.

    This is the normalisation of the SQuAD exact-match score (Rajpurkar et al. 2016), with
    Unicode NFKC and case folding in place of ``lower()``.

    >>> from estimators.semantic import normalize_answer
    >>> normalize_answer("  The Eiffel  Tower.")
    'eiffel tower'
    """
    s = unicodedata.normalize("NFKC", text).casefold()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _as_samples(samples) -> list:
    if isinstance(samples, (str, bytes)):
        raise TypeError(
            "samples must be a sequence of sampled answers (e.g. a list of strings), not one string; "
            "wrap a single answer in a list"
        )
    if isinstance(samples, np.ndarray):
        if samples.ndim != 1:
            raise ValueError(f"samples must be one-dimensional (one answer per entry); got shape {samples.shape}")
        samples = samples.tolist()
    try:
        out = list(samples)
    except TypeError:
        raise TypeError(
            f"samples must be a sequence of sampled answers (e.g. a list of strings); got {type(samples).__name__}"
        ) from None
    if not out:
        raise ValueError("samples is empty; pass the answers sampled for one question (5 to 20 in the papers)")
    return out


def _check_equivalent(equivalent):
    if equivalent is not None and not callable(equivalent):
        raise TypeError(
            "equivalent must be None (exact match after normalisation) or a function "
            f"equivalent(a, b) -> bool; got {type(equivalent).__name__}"
        )
    return equivalent


def _call(equivalent, answers, rep: int, j: int) -> bool:
    """``equivalent(answers[rep], answers[j])`` as a bool; clear errors for failures and non-bools."""
    try:
        out = equivalent(answers[rep], answers[j])
    except Exception as e:
        raise ValueError(
            f"equivalent(samples[{rep}], samples[{j}]) raised {type(e).__name__}: {e}. The equivalence "
            "function must accept two answers and return True or False"
        ) from e
    if isinstance(out, (bool, np.bool_)):
        return bool(out)
    if hasattr(out, "ndim") and getattr(out, "ndim", 1) == 0 and str(getattr(out, "dtype", "")) in ("bool", "torch.bool"):
        return bool(out)  # a 0-d NumPy or torch boolean
    raise TypeError(
        f"equivalent(samples[{rep}], samples[{j}]) returned {out!r} ({type(out).__name__}); it must return "
        "True or False (e.g. `return label_ab == 'entailment' and label_ba == 'entailment'`, not a score or label)"
    )


@fill(refs=_REFERENCES)
def semantic_clusters(samples, *, equivalent=None) -> np.ndarray:
    r"""The meaning cluster of every sampled answer: integer ids 0, 1, ... in order of first appearance.

    With ``equivalent=None``, two answers are in the same cluster when their normalised texts are
    equal (:func:`normalize_answer`: case, punctuation, English articles and extra spaces do not
    count), so ``"Paris."`` and ``"paris"`` are one cluster and ``"Paris, France"`` another.

    With a function ``equivalent(a, b) -> bool``, answers are clustered greedily as in Kuhn et al.
    (2023) and the reference code of Farquhar et al. (2024): the first answer not yet in a cluster
    opens a new one and is its representative; every later unassigned answer ``b`` for which
    ``equivalent(representative, b)`` is true joins it. The papers' relation is bidirectional
    entailment (``a`` entails ``b`` and ``b`` entails ``a`` under an NLI model, e.g. DeBERTa-large
    fine-tuned on MNLI, possibly given the question as context). Answers are compared only with
    representatives, so ``equivalent`` is called at most ``M (M - 1) / 2`` times and need not be
    transitive; it should be symmetric (it is called with the representative first).

    Parameters
    ----------
    samples : sequence of str (or of any objects, with ``equivalent``)
        The answers sampled for one question.
    equivalent : callable, optional
        ``equivalent(a, b) -> bool`` (Python or NumPy/torch 0-d booleans). A function that raises
        gives a ``ValueError`` naming the pair (the original exception chained); one that returns
        anything else (a score, a label) gives a ``TypeError``.

    Returns
    -------
    numpy.ndarray of int64, shape (M,)

    References
    ----------
    %(refs)s

    Examples
    --------
    >>> from estimators.semantic import semantic_clusters
    >>> semantic_clusters(["Paris", "paris.", "Lyon", "The Paris"]).tolist()
    [0, 0, 1, 0]
    >>> same_city = lambda a, b: a.split(",")[0] == b.split(",")[0]
    >>> semantic_clusters(["Paris", "Paris, France", "Lyon"], equivalent=same_city).tolist()
    [0, 0, 1]
    """
    answers = _as_samples(samples)
    equivalent = _check_equivalent(equivalent)
    m = len(answers)
    ids = np.full(m, -1, dtype=np.int64)
    if equivalent is None:
        keys: dict = {}
        for i, a in enumerate(answers):
            if not isinstance(a, str):
                raise TypeError(
                    f"samples[{i}] is a {type(a).__name__}, not a string; the default equivalence compares "
                    "normalised texts: pass strings, or an equivalent(a, b) function for other answers"
                )
            ids[i] = keys.setdefault(normalize_answer(a), len(keys))
        return ids
    n_clusters = 0
    for i in range(m):
        if ids[i] >= 0:
            continue
        ids[i] = n_clusters
        for j in range(i + 1, m):
            if ids[j] < 0 and _call(equivalent, answers, i, j):
                ids[j] = n_clusters
        n_clusters += 1
    return ids



def _log_probs(log_probs, m: int) -> np.ndarray:
    if isinstance(log_probs, (str, bytes)) or isinstance(log_probs, numbers.Number):
        raise TypeError(f"log_probs must be a sequence of {m} numbers (one per sample); got {log_probs!r}")
    if hasattr(log_probs, "detach"):  # a torch tensor
        log_probs = log_probs.detach().cpu().numpy()
    try:
        lp = np.asarray(log_probs, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"log_probs must be a sequence of {m} numbers (one per sample)") from None
    if lp.ndim != 1 or lp.shape[0] != m:
        raise ValueError(
            f"log_probs must have one entry per sample: shape ({m},); got shape {lp.shape}"
        )
    if np.isnan(lp).any() or np.isposinf(lp).any():
        bad = int(np.flatnonzero(np.isnan(lp) | np.isposinf(lp))[0])
        raise ValueError(
            f"log_probs[{bad}] is {lp[bad]}; pass finite sequence log-probabilities (-inf is allowed for an "
            "answer of probability 0)"
        )
    if np.isneginf(lp).all():
        raise ValueError("every log_probs entry is -inf (every answer has probability 0); the weights are undefined")
    if (lp > 1e-9).any():
        warn(
            f"log_probs has {int((lp > 1e-9).sum())} positive value(s) (largest {lp.max():.4g}); log-probabilities "
            "are <= 0. If these are negative log-likelihoods (losses), pass their negatives"
        )
    return lp


@fill(refs=_REFERENCES)
def semantic_entropy(samples, *, equivalent=None, log_probs=None, base=None) -> float:
    r"""Semantic entropy of sampled answers (Kuhn et al. 2023; Farquhar et al. 2024).

    The ``M`` answers sampled for one question are grouped into meaning clusters
    :math:`C_1, \dots, C_K` (:func:`semantic_clusters`). Semantic entropy is the entropy of the
    model's distribution over meanings,

    .. math:: \mathrm{SE}(x) = -\sum_{c} p(c \mid x) \log p(c \mid x), \qquad
              p(c \mid x) = \sum_{s \in c} p(s \mid x),

    estimated from the samples in one of two ways:

    * ``log_probs=None``, **discrete semantic entropy** (Farquhar et al. 2024): each cluster's
      probability is its share of the samples, :math:`\hat p(C_k) = |C_k| / M`.
    * ``log_probs`` given, the **probability-weighted** estimate: with :math:`\ell_i` the
      log-probability of answer *i*,

      .. math:: \hat p(C_k) = \frac{\sum_{i \in C_k} e^{\ell_i}}{\sum_{i=1}^{M} e^{\ell_i}},
                \qquad \widehat{\mathrm{SE}} = -\sum_{k=1}^{K} \hat p(C_k) \log \hat p(C_k),

      the normalisation over the sampled clusters of Farquhar et al. (2024) and of their
      reference code (computed with log-sum-exp). Every sample counts, so an answer sampled
      twice contributes its probability twice, as in that code.

    Parameters
    ----------
    samples : sequence of str (or of any objects, with ``equivalent``)
        The answers sampled for one question (Kuhn et al. use 10, Farquhar et al. 10 at
        temperature 1). Call once per question for a data set.
    equivalent : callable, optional
        ``equivalent(a, b) -> bool``: whether two answers mean the same (the papers:
        bidirectional entailment under an NLI model). Default: exact match after
        :func:`normalize_answer` (case, punctuation, English articles and spacing ignored).
        See :func:`semantic_clusters` for how clusters are formed and for its errors.
    log_probs : sequence of float, optional
        The log-probability of each sampled answer under the model, :math:`\log p(s_i \mid x)`.
        This function does not normalise for length: pass the sum of the token log-probabilities
        (the sequence probability of the definition above) or their mean over the answer's
        tokens (length-normalised, what Kuhn et al. (2023) and the reference code of Farquhar
        et al. (2024) use, following Malinin and Gales (2021), so that long answers are not
        penalised); the two give different values for answers of different lengths. Only
        differences between entries matter (a common constant cancels). ``-inf`` (probability 0)
        is allowed; NaN is an error; positive values get a ``UserWarning``
        (negative log-likelihoods passed by mistake?).
    base : float, optional
        Logarithm base; ``None`` gives nats, ``2`` bits.

    Returns
    -------
    float
        Between 0 (every answer means the same) and :math:`\log M` (every answer different,
        equally weighted).

    Notes
    -----
    Kuhn et al. (2023) estimated SE as :math:`-\frac{1}{K}\sum_k \log \hat p(C_k)` (an average
    over the sampled clusters, unweighted); Farquhar et al. (2024) weight by :math:`\hat p(C_k)`
    as here, which makes the estimate a proper entropy of the normalised cluster distribution.
    The discrete variant needs no log-probabilities (black-box models) and in their experiments
    detected confabulations about as well as the weighted one. With few samples both are biased
    low (a plug-in entropy of ``M`` draws is at most :math:`\log M`): compare values obtained with
    the same ``M``. Clustering costs up to :math:`M(M-1)/2` calls of ``equivalent``; with the
    default equivalence, ``M`` normalisations.

    References
    ----------
    %(refs)s
    A. Malinin, M. Gales, "Uncertainty estimation in autoregressive structured prediction",
    ICLR 2021.

    Examples
    --------
    >>> from estimators.semantic import semantic_entropy
    >>> semantic_entropy(["Paris", "paris", "Paris."])                  # one meaning
    0.0
    >>> semantic_entropy(["Paris", "Lyon", "Paris", "Lyon"], base=2)    # two meanings, half each
    1.0
    >>> round(semantic_entropy(["Paris", "Lyon"], log_probs=[-0.1, -2.4]), 6)   # weighted by probability
    0.305128
    """
    answers = _as_samples(samples)
    log_base(base)
    ids = semantic_clusters(answers, equivalent=equivalent)
    k = int(ids.max()) + 1
    if log_probs is None:
        p = np.bincount(ids, minlength=k) / ids.size
        return to_base(shannon(p), base)
    lp = _log_probs(log_probs, len(answers))
    top = float(lp.max())
    w = np.exp(lp - top)  # in (0, 1]: exp of the largest is 1, no overflow or total underflow
    p = np.bincount(ids, weights=w, minlength=k)
    p /= p.sum()
    return to_base(shannon(p), base)

