"""Sphinx configuration: ``sphinx-build -W -b html docs docs/_build/html``."""

from __future__ import annotations

import os

import fastvr

os.environ.setdefault("FASTVR_WARMUP", "off")  # the executed examples compile what they call

project = "fastvr"
author = "the fastvr developers"
copyright = "2026, the fastvr developers"
release = version = fastvr.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",  # Markdown pages (MyST) and the executed example pages
]
# .rst first: autosummary writes its pages in the first suffix
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
exclude_patterns = ["_build"]

# API reference: one page per public module, from the numpydoc docstrings
autosummary_generate = True
autodoc_default_options = {
    "members": True,
    # scikit-learn's generated metadata-routing methods: documented by scikit-learn
    "exclude-members": "set_fit_request, set_predict_request, set_score_request",
}
autodoc_typehints = "none"  # the signatures carry them; numpydoc lists the parameters
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# The example pages run at build time on the bundled digits (no download); a failing cell
# fails the build.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"fastvr {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
