"""The language-model demo: a tiny GPT-2 learns the standard library's docstrings, probed as it trains.

``infomeasure demo --lm`` (or :func:`demo_lm`) builds a 4-layer GPT-2 from a
``transformers.GPT2Config`` (random weights, nothing is downloaded) and trains it on the
docstrings of a fixed list of standard-library modules, read from their source files with
:mod:`ast` (so nothing is imported and ``python -OO`` does not empty the corpus), as UTF-8 bytes.
:class:`infomeasure.Probes` follows it on a fixed, padded batch of **held-out modules** at
log-spaced steps:

- ``prediction_entropy`` on ``lm_head``: the entropy of the next-byte distribution over the real
  tokens (positions whose label is not -100), the "token entropy" or policy entropy;
- ``attention_entropy`` (normalised) on every attention module, one row per head: 1 for a head
  that spreads its attention uniformly over the keys it may see, 0 for one that looks at a single
  key;
- ``matrix_entropy`` on the embeddings and on every block's output: the matrix-based entropy of
  the hidden states of the real (not padded) tokens, one value per depth.

The training loss on a fixed training batch and the held-out loss are logged at the same steps
(layer ``"model"``). One run directory and its report are written; the closing table prints the
curves. The model is built with PyTorch's SDPA attention, as ``GPT2LMHeadModel(config)`` gives,
which returns no attention weights: each probe pass switches it to eager attention and back, as
it does for any Hugging Face model (see ``docs/language_models.md``, "Set-up for real models").
"""

from __future__ import annotations

import ast
import math
import os
import sys
import sysconfig
import time
import warnings
from dataclasses import dataclass, field

__all__ = ["LMDemoResult", "STDLIB_MODULES", "demo_lm", "stdlib_docstrings"]

#: The standard-library modules whose docstrings make the corpus, in sorted order. Every fifth
#: one (``STDLIB_MODULES[4::5]``) is held out: the probe batch comes from modules the model never
#: trains on.
STDLIB_MODULES = tuple(sorted("""
abc argparse ast base64 bisect calendar cmd codecs collections colorsys configparser contextlib copy
csv dataclasses datetime difflib dis enum filecmp fileinput fnmatch fractions ftplib functools getopt
gzip heapq hmac imaplib inspect ipaddress json locale logging mailbox mimetypes numbers operator
optparse os pathlib pickle pkgutil platform plistlib poplib pprint queue random re sched selectors
shelve shutil smtplib socket socketserver statistics string subprocess tarfile tempfile textwrap
threading timeit tokenize traceback types typing unittest uuid warnings wave weakref zipfile
""".split()))

#: The byte that pads the probe batch (token ids 0..255 are the bytes of UTF-8 text).
PAD = 256
VOCAB = 257
RUN = "gpt2-docstrings"

#: The model: GPT-2 blocks, no dropout (a short run on a small corpus), exact GELU (``"gelu"``
#: costs a third less CPU time than GPT-2's tanh approximation and trains the same).
MODEL = {"n_layer": 4, "n_head": 4, "n_embd": 64, "n_positions": 64}
SEQ_LEN = 64
BATCH = 16
PROBE_SEQS = 48
LR = 3e-3


@dataclass
class LMDemoResult:
    """What :func:`demo_lm` wrote and measured.

    Attributes
    ----------
    output : str
        The output folder.
    run : str
        The run directory (``output/gpt2-docstrings``).
    report : str
        The report (``output/report.html``).
    table : list of dict
        One dict per probe step: ``step``, ``loss`` (a fixed training batch), ``heldout_loss``,
        ``token_entropy`` (held-out), ``attention`` (list: mean normalised attention entropy per
        layer) and ``matrix_entropy`` (list: embeddings, then each block), in nats.
    corpus : dict
        ``train_bytes``, ``heldout_bytes``, ``train_modules`` and ``heldout_modules``.
    seconds : float
        Wall time of the whole demo, the report included.
    cpu_seconds : float
        CPU time of this process over the same span (all threads).
    probe_timing : dict
        :attr:`infomeasure.Probes.timing` of the run (without the per-step list).
    model : transformers.GPT2LMHeadModel or None
        The trained model (eval mode), e.g. to sample from it or to check the probes' values.
    probe_batch : dict or None
        The held-out probe batch (``input_ids``, ``attention_mask``, ``labels``).
    """

    output: str
    run: str
    report: str
    table: list = field(default_factory=list)
    corpus: dict = field(default_factory=dict)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    probe_timing: dict = field(default_factory=dict)
    model: object = None
    probe_batch: dict = None


# ------------------------------------------------------------------------------------------------
# corpus and tokens
# ------------------------------------------------------------------------------------------------
def _module_source(name, root):
    for path in (os.path.join(root, *name.split(".")) + ".py", os.path.join(root, *name.split("."), "__init__.py")):
        if os.path.isfile(path):
            return path
    return None


def stdlib_docstrings(modules=STDLIB_MODULES) -> dict:
    """``{module: text}``: the docstrings of each standard-library module, read from its source.

    The module's, then every class's and function's docstring in source order (:func:`ast.walk`
    order), cleaned (:func:`inspect.cleandoc`) and joined by blank lines. Nothing is imported, so
    the text is the same under ``python -OO`` and depends only on the Python version.

    Parameters
    ----------
    modules : sequence of str, default STDLIB_MODULES
        Module names (``"json"``, ``"email.utils"``).

    Returns
    -------
    dict
        ``module -> text``, in the order given.

    Raises
    ------
    ValueError
        A name that is not a source module of this interpreter's standard library.

    Examples
    --------
    >>> from infomeasure.demo_lm import stdlib_docstrings
    >>> text = stdlib_docstrings(["bisect"])["bisect"]
    >>> text.splitlines()[0]
    'Bisection algorithms.'
    """
    root = sysconfig.get_paths()["stdlib"]
    out = {}
    for name in modules:
        if not isinstance(name, str) or not name:
            raise TypeError(f"modules must be module names (str); got {name!r}")
        path = _module_source(name, root)
        if path is None:
            raise ValueError(
                f"{name!r} has no source file in this Python's standard library ({root}); pass the name of a "
                "pure-Python standard-library module (some distributions ship the standard library without its "
                ".py files: install the full Python)")
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
        docs = [ast.get_docstring(node, clean=True) for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
        out[name] = "\n\n".join(d for d in docs if d)
    return out


def _corpus():
    """``(train bytes, held-out bytes, train modules, held-out modules)``: every fifth module is held out."""
    import numpy as np

    texts = stdlib_docstrings()
    held = STDLIB_MODULES[4::5]
    train = [m for m in STDLIB_MODULES if m not in held]

    def encode(names):
        return np.frombuffer("\n\n".join(texts[m] for m in names).encode("utf-8"), dtype=np.uint8).astype(np.int64)

    return encode(train), encode(held), train, list(held)


def _windows(data, starts, length):
    import numpy as np

    return np.stack([data[s:s + length] for s in starts])


def _probe_batch(torch, heldout, n_seqs, seq_len):
    """The held-out probe batch: ``n_seqs`` windows at evenly spaced offsets, right-padded to
    ``seq_len`` with a quarter of them shorter (0, 12, 24 or 36 pad tokens), so masks matter."""
    import numpy as np

    starts = np.linspace(0, len(heldout) - seq_len - 1, n_seqs).astype(np.int64)
    ids = torch.from_numpy(_windows(heldout, starts, seq_len))
    lengths = seq_len - 12 * (np.arange(n_seqs) % 4)
    mask = torch.from_numpy((np.arange(seq_len)[None, :] < lengths[:, None]).astype(np.int64))
    ids = ids.masked_fill(mask == 0, PAD)
    labels = ids.masked_fill(mask == 0, -100)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


class _RealTokens:
    """``reduce=`` of the probes: the hidden states of the real tokens of the probe batch,
    ``(batch, tokens, d) -> (n_real_tokens, d)`` (the probe set is passed in one batch)."""

    def __init__(self, mask):
        self.mask = mask.bool()

    def __call__(self, t):
        if t.ndim != 3 or tuple(t.shape[:2]) != tuple(self.mask.shape):
            raise ValueError(f"expected hidden states of shape (batch, tokens, d) matching the probe mask "
                             f"{tuple(self.mask.shape)}; got {tuple(t.shape)}")
        return t[self.mask.to(t.device)]

    def __repr__(self):
        return f"real tokens of the probe batch ({int(self.mask.sum())} of {self.mask.numel()})"


# ------------------------------------------------------------------------------------------------
# model and training
# ------------------------------------------------------------------------------------------------
def _require():
    missing = []
    for mod in ("torch", "transformers", "matplotlib"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise ImportError(
            f"the LM demo needs {', '.join(missing)}: pip install 'infomeasure[dev]' "
            "(or pip install torch transformers matplotlib)")


def _model(seed):
    import torch
    import transformers

    cfg = transformers.GPT2Config(
        vocab_size=VOCAB, bos_token_id=PAD, eos_token_id=PAD, pad_token_id=PAD,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, activation_function="gelu", **MODEL)
    torch.manual_seed(seed)
    # The default attention (SDPA) returns no weights; the probe pass switches to eager and back.
    model = transformers.GPT2LMHeadModel(cfg)
    # transformers infers the loss from the class name, which GPT2LMHeadModel does not match (it
    # warns on the probe pass, whose batch holds labels); the loss is the causal-LM one
    model.loss_type = "ForCausalLM"
    return model


def _lm_loss(torch, logits, ids, mask=None):
    """Mean next-token cross-entropy over real targets (nats)."""
    target = ids[:, 1:]
    if mask is not None:
        target = target.masked_fill(mask[:, 1:] == 0, -100)
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), target.reshape(-1),
                                             ignore_index=-100)


def _layers(n_layer):
    blocks = [f"transformer.h.{i}" for i in range(n_layer)]
    attn = [f"{b}.attn" for b in blocks]
    reps = ["transformer.drop", *blocks]
    return attn, reps


def _train(output, *, steps, seed, bar):
    import numpy as np
    import torch

    from .demo import _Schedule
    from .probes import Probes

    train, heldout, train_mods, held_mods = _corpus()
    model = _model(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    warm = max(1, min(100, steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    rng = np.random.default_rng(seed)
    probe = _probe_batch(torch, heldout, PROBE_SEQS, SEQ_LEN)
    fixed = torch.from_numpy(_windows(train, np.linspace(0, len(train) - SEQ_LEN - 1, PROBE_SEQS).astype(np.int64),
                                      SEQ_LEN))
    attn, reps = _layers(MODEL["n_layer"])
    measures = {"transformer.h.*.attn": [("attention_entropy", {"normalize": True})],
                "lm_head": ["prediction_entropy"]}
    measures.update({name: ["matrix_entropy"] for name in reps})
    probes = Probes(
        model, [*reps, *attn, "lm_head"], measures=measures, every=_Schedule(6, steps), probe_data=probe,
        run_dir=os.path.join(output, RUN), output={a: 1 for a in attn}, reduce=_RealTokens(probe["attention_mask"]),
        seed=seed,
    )
    model.train()
    with probes:
        for step in range(steps + 1):
            if probes.step(step):
                model.eval()
                with torch.no_grad():
                    loss = _lm_loss(torch, model(input_ids=fixed).logits, fixed).item()
                    out = model(input_ids=probe["input_ids"], attention_mask=probe["attention_mask"])
                    held = _lm_loss(torch, out.logits, probe["input_ids"], probe["attention_mask"]).item()
                model.train()
                probes.log(step, units="nats", train_loss=loss, heldout_loss=held)
            if step == steps:
                break
            starts = rng.integers(0, len(train) - SEQ_LEN, BATCH)
            ids = torch.from_numpy(_windows(train, starts, SEQ_LEN))
            loss = _lm_loss(torch, model(input_ids=ids).logits, ids)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if bar is not None:
                bar.update(1)
        rows = probes.results
    corpus = {"train_bytes": int(len(train)), "heldout_bytes": int(len(heldout)),
              "train_modules": train_mods, "heldout_modules": held_mods,
              "probe_tokens": int(probe["attention_mask"].sum()), "probe_positions": int(probe["attention_mask"].numel())}
    timing = {k: v for k, v in probes.timing.items() if k != "steps"}
    return rows, corpus, timing, model.eval(), probe


def _step_table(rows, attn, reps):
    """One dict per probe step from the probe rows (see :attr:`LMDemoResult.table`)."""
    by = {}
    for r in rows:
        by.setdefault(r["step"], {})[(r["layer"], r["measure"])] = r["value"]
    out = []
    for step in sorted(by):
        v = by[step]
        out.append({
            "step": step,
            "loss": v.get(("model", "train_loss")),
            "heldout_loss": v.get(("model", "heldout_loss")),
            "token_entropy": v.get(("lm_head", "prediction_entropy")),
            "attention": [v.get((a, "attention_entropy")) for a in attn],
            "matrix_entropy": [v.get((r, "matrix_entropy")) for r in reps],
        })
    return out


def _short(layer):
    return "emb" if layer == "transformer.drop" else layer.replace("transformer.", "")


def _format_table(table, attn, reps) -> str:
    """The printed table: one line per probe step."""
    def num(x, w, d=3):
        return f"{x:{w}.{d}f}" if x is not None and math.isfinite(x) else f"{'-':>{w}}"

    left = f"{'step':>5}  {'loss':>6}  {'held-out':>8}  {'held-out':>8}"
    left2 = f"{'':>5}  {'':>6}  {'loss':>8}  {'H(token)':>8}"
    att = "  ".join(f"{_short(a)[:-5]:>5}" for a in attn)
    mat = "  ".join(f"{_short(r):>5}" for r in reps)
    head1 = f"{left}  {'attention entropy':^{len(att)}}  {'matrix entropy':^{len(mat)}}"
    head2 = f"{left2}  {att}  {mat}"
    lines = [head1.rstrip(), head2]
    for r in table:
        a = "  ".join(num(x, 5, 2) for x in r["attention"])
        m = "  ".join(num(x, 5, 2) for x in r["matrix_entropy"])
        lines.append(f"{r['step']:>5}  {num(r['loss'], 6)}  {num(r['heldout_loss'], 8)}  "
                     f"{num(r['token_entropy'], 8)}  {a}  {m}")
    return "\n".join(lines)


def _check_arguments(steps, seed, quick):
    import numpy as np

    if steps is None:
        steps = 60 if quick else 1500
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    return int(steps), int(seed)


def _fresh_output(output) -> str:
    """Create the output folder and remove an earlier run directory of this demo in it (refusing anything else)."""
    import shutil

    output = os.fspath(output)
    if os.path.exists(output) and not os.path.isdir(output):
        raise ValueError(f"output {output!r} is a file; pass a folder")
    os.makedirs(output, exist_ok=True)
    path = os.path.join(output, RUN)
    if os.path.isdir(path):
        if not os.path.exists(os.path.join(path, "metrics.jsonl")):
            raise ValueError(f"{path} exists and is not a run directory; choose another output folder")
        shutil.rmtree(path)
    return output


def _parameters(corpus, steps, seed) -> dict:
    m = MODEL
    return {
        "demo": {
            "corpus": (f"docstrings of {len(STDLIB_MODULES)} standard-library modules (Python "
                       f"{sys.version_info.major}.{sys.version_info.minor}), UTF-8 bytes: "
                       f"{corpus['train_bytes']:,} training bytes, {corpus['heldout_bytes']:,} held out"),
            "held-out modules": ", ".join(corpus["heldout_modules"]),
            "model": (f"GPT2LMHeadModel from a GPT2Config: {m['n_layer']} layers, {m['n_head']} heads, "
                      f"d = {m['n_embd']}, context {m['n_positions']}, vocabulary {VOCAB} (bytes + pad), "
                      "no dropout, exact GELU; SDPA attention, eager in probe passes"),
            "optimizer": f"AdamW, lr {LR:g} (warm-up, cosine decay), weight decay 0.01, batch {BATCH} x {SEQ_LEN} bytes",
            "probe batch": (f"{PROBE_SEQS} held-out windows, right-padded: {corpus['probe_tokens']} real tokens of "
                            f"{corpus['probe_positions']}"),
            "loss": f"next-byte cross-entropy on {PROBE_SEQS} fixed training windows (train_loss) and on the probe batch",
            "steps": steps,
            "seed": seed,
        }
    }


def _progress_bar(total):
    from tqdm.auto import tqdm

    tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    return tqdm(total=total, desc="training", unit="step", file=sys.stderr, leave=False, dynamic_ncols=True,
                mininterval=0.1 if tty else 10.0)


def demo_lm(output="infomeasure-demo-lm", *, seed=0, quick=False, steps=None, progress=True,
            verbose=True) -> LMDemoResult:
    r"""Train a tiny GPT-2 on standard-library docstrings, probe it as it learns, and report.

    Parameters
    ----------
    output : str or os.PathLike, default "infomeasure-demo-lm"
        Folder for the run directory ``gpt2-docstrings`` and ``report.html`` (an earlier run
        directory of that name is replaced).
    seed : int, default 0
        Seeds the weights and the training windows (the split and the probe batch are fixed).
    quick : bool, default False
        A smoke test: 60 steps instead of 1,500.
    steps : int, optional
        Training steps (overrides ``quick``).
    progress : bool, default True
        A progress bar on stderr while training.
    verbose : bool, default True
        Print the table and the paths.

    Returns
    -------
    LMDemoResult
        Paths, the per-step table, the corpus sizes and the timings.

    Raises
    ------
    ImportError
        torch, transformers or matplotlib is missing (named, with the install command).
    ValueError
        Bad ``steps``/``seed``, or ``output`` is a file.

    Notes
    -----
    Corpus: :func:`stdlib_docstrings` of :data:`STDLIB_MODULES` as UTF-8 bytes (token ids
    0..255, 256 pads); every fifth module is held out. Model: :data:`MODEL`, a
    ``GPT2LMHeadModel`` from a ``GPT2Config``, trained with AdamW on random windows of
    :data:`SEQ_LEN` bytes, one torch thread (the probes measure in a background thread on the
    other core). Probe batch: 48 windows of held-out text, a quarter of them each padded by 0,
    12, 24 or 36 tokens (``attention_mask`` 0, ``labels`` -100), so the measures that leave
    padding out are exercised. At ``log_spaced(6)`` steps and the last:

    - ``prediction_entropy`` (``lm_head``): mean over real targets of
      :math:`H_t = -\sum_v p_t(v) \log p_t(v)`, nats; it starts near :math:`\log 257 = 5.55`.
    - ``attention_entropy`` with ``normalize=True`` (``transformer.h.i.attn``): per head the
      mean over real queries of the row entropy divided by the log of the number of keys the
      query may see (causal: :math:`\log(q + 1)`), in [0, 1].
    - ``matrix_entropy`` (``transformer.drop``, the embeddings, and each block):
      :math:`-\sum_k \lambda_k \log \lambda_k` of :math:`K / \operatorname{tr} K`,
      :math:`K = H H^\top` over the hidden states :math:`H` of the real tokens (linear kernel,
      not centred), nats, at most :math:`\log d = \log 64 = 4.16`.

    The numbers depend on the Python version (its docstrings) and, in the last digits, on the
    CPU and thread count. With 1,500 steps the held-out loss falls from 5.55 to about 2.1
    nats per byte, with the held-out token entropy.

    Examples
    --------
    A two-step smoke run (the default is 1,500 steps):

    >>> import os, tempfile, warnings
    >>> from infomeasure.demo_lm import demo_lm
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = demo_lm(tempfile.mkdtemp(), steps=2, progress=False, verbose=False)
    >>> [r["step"] for r in res.table], os.path.basename(res.report)
    ([0, 1, 2], 'report.html')
    >>> round(res.table[0]["heldout_loss"], 1)  # log 257 = 5.55: uniform over the bytes at first
    5.5
    """
    t0, c0 = time.perf_counter(), time.process_time()
    _require()
    import torch

    steps, seed = _check_arguments(steps, seed, quick)
    output = _fresh_output(output)
    threads = torch.get_num_threads()
    bar = _progress_bar(steps) if progress else None
    # One intra-op thread: this model gains little from a second one on 2 cores, and the probes'
    # background worker measures on the other core.
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rows, corpus, timing, model, probe = _train(output, steps=steps, seed=seed, bar=bar)
    finally:
        if bar is not None:
            bar.close()
        torch.set_num_threads(threads)
    notes = []
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, UserWarning) and msg not in notes:
            notes.append(msg)
    attn, reps = _layers(MODEL["n_layer"])
    table = _step_table(rows, attn, reps)
    from .report import report

    path = report(
        os.path.join(output, RUN), os.path.join(output, "report.html"),
        title="infomeasure demo --lm: a tiny GPT-2 learning standard-library docstrings",
        description=(f"{steps} AdamW steps on byte-level text; probes on {PROBE_SEQS} padded windows of held-out "
                     "modules: token entropy, attention entropy per head, matrix entropy per layer."),
        parameters=_parameters(corpus, steps, seed), notes=notes)
    result = LMDemoResult(output=output, run=os.path.join(output, RUN), report=path, table=table, corpus=corpus,
                          seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0,
                          probe_timing=timing, model=model, probe_batch=probe)
    if verbose:
        _print_summary(result, steps, attn, reps)
    return result


def _print_summary(result, steps, attn, reps) -> None:
    c = result.corpus
    print(f"infomeasure demo --lm: {steps} steps, {result.seconds:.0f} s ({result.cpu_seconds:.0f} s CPU)")
    print(f"corpus: {c['train_bytes']:,} training bytes from {len(c['train_modules'])} modules' docstrings, "
          f"{c['heldout_bytes']:,} held out ({len(c['heldout_modules'])} modules); probe batch "
          f"{c['probe_tokens']} real tokens of {c['probe_positions']}")
    print("nats per byte; attention entropy normalised (mean over heads, 1 = uniform); matrix entropy of the "
          "real tokens' hidden states\n")
    print(_format_table(result.table, attn, reps))
    first, last = result.table[0], result.table[-1]
    if all(x is not None for x in (first["heldout_loss"], last["heldout_loss"],
                                   first["token_entropy"], last["token_entropy"])):
        print(f"\nheld-out loss {first['heldout_loss']:.2f} -> {last['heldout_loss']:.2f} nats, "
              f"token entropy {first['token_entropy']:.2f} -> {last['token_entropy']:.2f} nats")
    t = result.probe_timing
    if t:
        where = "a background thread" if t.get("mode") == "background" else "the training thread"
        print(f"probes: {t['probe_steps']} probe steps, {t['probe_seconds']:.1f} s of {t['training_seconds']:.1f} s "
              f"of training (measures computed in {where})")
    print(f"\nrun directory: {result.run}")
    print(f"report: {result.report}")
