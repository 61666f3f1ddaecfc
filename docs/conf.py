"""Sphinx configuration for the infomeasure documentation.

Build locally with::

    python -m sphinx -b html docs docs/_build/html

``tests/test_docs.py`` builds the same site with ``-W`` (warnings are errors).
"""

import importlib.util
import os
import sys

# The repository root, so that ``estimators`` and ``infomeasure`` import from this checkout
# even when the installed copy points elsewhere.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import infomeasure  # noqa: E402

project = "infomeasure"
author = "infomeasure developers"
copyright = "infomeasure developers"
release = infomeasure.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    # MyST Markdown pages and Jupyter notebooks (myst-nb loads myst_parser itself). The
    # notebooks live in ../notebooks (docs/notebooks is a link to it) and are shown with the
    # outputs stored in them: the site build runs no code (tests/test_notebooks.py runs them).
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    # Math in docstrings (:math:) is rendered by MathJax, which Sphinx's HTML builder loads
    # from its CDN when a page is viewed. The Markdown pages write formulas in Unicode.
    "sphinx.ext.mathjax",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints"]

nb_execution_mode = "off"
# Wide cell outputs (the notebooks print tables) scroll inside their box instead of wrapping.
nb_merge_streams = True

# MyST: anchors for "page.md#section" links, as GitHub renders them.
myst_heading_anchors = 4

# autodoc / napoleon: the docstrings are numpydoc style.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# Parameter types such as "array of shape (n_samples, n_features)" are prose, not object
# names: render them as text instead of cross-references (``n_samples`` is also an attribute
# of two result classes, and every such type would be an ambiguous reference).
napoleon_use_param = False
# Our docstrings add two sections of their own; without this they would be read as part of the
# section before them (e.g. "Choosing a method" inside "Returns").
napoleon_custom_sections = ["Choosing a method", "Conventions specific to this module"]
autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
}
# Types are written in the numpydoc sections; annotations stay in the signature.
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
# The framework adapters subclass lightning's and transformers' callbacks. The dev extra
# installs both, and the real classes give the right signatures. A framework that is not
# installed is mocked so that the docs still build (its adapter then shows ``*args, **kwargs``).
autodoc_mock_imports = []
if importlib.util.find_spec("lightning") is None and importlib.util.find_spec("pytorch_lightning") is None:
    autodoc_mock_imports.append("lightning")
if importlib.util.find_spec("transformers") is None:
    autodoc_mock_imports.append("transformers")

html_theme = "alabaster"
html_title = f"infomeasure {release}"
html_static_path = ["_static"]
html_css_files = ["wide_tables.css"]
html_theme_options = {
    # alabaster's default body is 940 px; the benchmark tables have up to ten columns
    "page_width": "1240px",
    "sidebar_width": "230px",
    "description": "information in data and in neural networks",
    "fixed_sidebar": False,
}


def _skip_namedtuple_fields(app, what, name, obj, skip, options):
    """Skip the "Alias for field number N" members of NamedTuple classes.

    The result classes document their fields in an ``Attributes`` section instead, and the
    constructor signature lists them.
    """
    doc = getattr(obj, "__doc__", None) or ""
    if what == "class" and type(obj).__name__ == "_tuplegetter" and doc.startswith("Alias for field"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_namedtuple_fields)
