"""The documentation site builds without a warning, and its pages hold what they promise.

The site (``docs/``, Sphinx with MyST Markdown and autodoc) is built once per test session in a
subprocess, exactly as a user would build it, with ``-W``: any warning (a broken link, a
malformed docstring, a page missing from the toctree) fails the build.
"""

import html
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_parser")
pytest.importorskip("myst_nb")  # renders notebooks/*.ipynb (docs/notebooks links there) with their stored outputs

import infomeasure as im  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# Modules whose API page the site must have (docs/api/<module>.md).
API_MODULES = [
    "estimators.entropy",
    "estimators.mutual_info",
    "estimators.higher_order",
    "estimators.timeseries",
    "estimators.spectral",
    "estimators.diffusion",
    "estimators.neural",
    "estimators.self_consistency",
    "infomeasure.probes",
    "infomeasure.measures",
    "infomeasure.run_dir",
    "infomeasure.sinks",
    "infomeasure.activations",
    "infomeasure.analysis",
    "infomeasure.report",
    "infomeasure.plotting",
    "infomeasure.integrations",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs_html")
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-E",
           "-d", str(out / ".doctrees"), str(DOCS), str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    return out, proc


def _text(path):
    """The visible text of an HTML page (tags removed, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


def test_site_builds_without_warnings(site):
    _, proc = site
    assert proc.returncode == 0, f"sphinx failed (exit {proc.returncode}):\n{proc.stderr[-5000:]}"
    assert not re.search(r"WARNING|ERROR|CRITICAL|SEVERE", proc.stderr), proc.stderr[-5000:]


def test_key_pages_exist(site):
    out, proc = site
    assert proc.returncode == 0, proc.stderr[-5000:]
    pages = ["index", "choosing", "tables", "estimators", "conventions", "probes", "reports", "api/index"]
    pages += [f"api/{m}" for m in API_MODULES]
    missing = [p for p in pages if not (out / f"{p}.html").is_file()]
    assert not missing, missing
    # every Markdown page of docs/ became an HTML page
    sources = [p.relative_to(DOCS).with_suffix(".html") for p in DOCS.rglob("*.md") if "_build" not in p.parts]
    assert sources and all((out / s).is_file() for s in sources)
    # the API index lists every module page
    api_index = (out / "api" / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{m}.html"' in api_index for m in API_MODULES)


def test_api_page_renders_the_docstrings(site):
    out, proc = site
    assert proc.returncode == 0, proc.stderr[-5000:]
    raw = (out / "api" / "estimators.mutual_info.html").read_text(encoding="utf-8")
    text = _text(out / "api" / "estimators.mutual_info.html")
    assert 'id="estimators.mutual_info.mutual_information"' in raw
    assert 'id="estimators.mutual_info.mi_ksg"' in raw
    # napoleon turned the numpydoc sections into fields, with the parameter names and types
    assert "Parameters" in text and "Returns" in text
    assert re.search(r"variant\s*\(\s*\{1, 2\}, default 1\s*\)", text), "mi_ksg's 'variant' parameter"
    # the :math: and .. math:: of the KSG docstring reach MathJax
    assert r"\psi(k) + \psi(N)" in text
    assert "Kraskov" in text
    # our own "Choosing a method" section is a section of its own, not swallowed by "Returns"
    assert 'rubric">Choosing a method</p>' in raw


def test_every_public_name_is_documented(site):
    out, proc = site
    assert proc.returncode == 0, proc.stderr[-5000:]
    ids = set()
    for page in (out / "api").glob("*.html"):
        ids.update(re.findall(r'id="([\w.]+)"', page.read_text(encoding="utf-8")))
    missing = []
    for name in im.__all__:
        if name in ("__version__", "integrations"):
            continue
        obj = getattr(im, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            ok = f"{obj.__module__}.{obj.__qualname__}" in ids
        else:  # registries and other module data
            ok = any(i.endswith(f".{name}") for i in ids)
        if not ok:
            missing.append(name)
    assert not missing, f"public names without an API entry: {missing}"
    for adapter in ("lightning", "hf"):
        assert f"infomeasure.integrations.{adapter}.ProbeCallback" in ids


def test_tables_page_includes_the_benchmark_tables(site):
    """Every ``{include}`` of tables.md shows the first number of its slice of the source page."""
    out, proc = site
    assert proc.returncode == 0, proc.stderr[-5000:]
    text = _text(out / "tables.html")
    source = (DOCS / "tables.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\{include\} (\S+)\n(.*?)```", source, flags=re.S)
    assert len(blocks) >= 8
    for filename, options in blocks:
        page = (DOCS / filename).read_text(encoding="utf-8")
        start = re.search(r":start-after: (['\"])(.*)\1", options)
        end = re.search(r":end-before: (['\"])(.*)\1", options)
        if start:
            page = page.split(start.group(2), 1)[1]
        if end:
            page = page.split(end.group(2), 1)[0]
        rows = [line for line in page.splitlines() if line.startswith("|") and not set(line) <= set("|-: ")]
        numbers = re.findall(r"\d+\.\d{3,}", "\n".join(rows))
        assert numbers, f"no table numbers in the slice of {filename}"
        assert numbers[0] in text, f"{filename}: {numbers[0]} is not on tables.html"


def test_choosing_page_has_the_decision_table(site):
    out, proc = site
    assert proc.returncode == 0, proc.stderr[-5000:]
    raw = (out / "choosing.html").read_text(encoding="utf-8")
    text = _text(out / "choosing.html")
    assert "Decision table" in text and "<table" in raw
    for section in ("entropy-of-discrete-data", "neural-mi-bounds-mine-nwj-infonce-smile",
                    "time-series-permutation-entropy-complexity-transfer-entropy"):
        assert f'href="#{section}"' in raw and f'id="{section}"' in raw, section


def test_notebooks_are_rendered_with_their_stored_outputs(site):
    """Every notebook of notebooks/ is a page of the site, showing the outputs stored in it (the build runs no code)."""
    nbformat = pytest.importorskip("nbformat")
    out, proc = site
    assert proc.returncode == 0, proc.stderr[-5000:]
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    index = (out / "index.html").read_text(encoding="utf-8")
    for path in notebooks:
        page = out / "notebooks" / f"{path.stem}.html"
        assert page.is_file(), f"{path.name} is not rendered; add it to the Notebooks toctree of docs/index.md"
        assert f'href="notebooks/{path.stem}.html"' in index, f"the landing page does not link {path.name}"
        nb = nbformat.read(path, as_version=4)
        streams = [o["text"] for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream" and o["text"].strip()]
        assert streams, f"{path.name} has no printed output"
        line = next(ln.strip() for ln in streams[-1].splitlines() if ln.strip())
        assert line in _text(page), f"{path.name}: its stored output {line!r} is not on the page"


def test_landing_page_puts_the_ml_tools_first(site):
    out, proc = site
    assert proc.returncode == 0, proc.stderr[-5000:]
    raw = (out / "index.html").read_text(encoding="utf-8")
    order = ["try-it", "probes-in-your-training-loop", "in-a-trainer-pytorch-lightning-and-the-hugging-face-trainer",
             "reports-from-saved-activations", "language-models", "notebooks", "estimator-reference", "benchmarks"]
    found = [raw.find(f'<section id="{s}">') for s in order]
    assert all(i >= 0 for i in found), dict(zip(order, found))
    assert found == sorted(found), dict(zip(order, found))
    try_it = raw[found[0]:found[1]]
    assert "infomeasure demo" in " ".join(re.sub(r"<[^>]+>", "", try_it).split()), try_it[:2000]
    for page in ("probes", "reports", "language_models", "overview", "choosing", "estimators", "tables"):
        assert f'href="{page}.html' in raw, page
