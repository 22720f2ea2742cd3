"""Sphinx configuration of the freqmaps documentation (``make docs``; see docs/contributing.md)."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

project = "freqmaps"
author = "the freqmaps developers"
copyright = "the freqmaps developers, MIT licence"
release = importlib.metadata.version("freqmaps")  # the one version: pyproject.toml's
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
    "schema_reference",  # docs/_ext: the configuration reference, generated from the JSON schema
    "internal_links",  # docs/_ext: every internal link and anchor of the built site (and README.md) resolves
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# guide/_numbers: the run numbers the guide includes (freqmaps.docs_numbers), not pages of their own
exclude_patterns = ["_build", "tutorials/README.rst", "**/sg_execution_times.rst", "guide/_numbers"]

# MyST: heading anchors for [text](page.md#anchor) links, $...$ maths, ::: fences
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3

# API reference: annotations in the signatures (their own names resolve; see nitpick_ignore_regex)
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "no-value": True}  # registries: names, not reprs
autosummary_generate = False
napoleon_google_docstring = True
napoleon_numpy_docstring = True

# Nitpicky (-n) checks every cross-reference to freqmaps' own names, so a renamed function fails the build.
# Other libraries' names cannot be resolved offline (no intersphinx inventories without internet).
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|np|numpy|nn|scipy|matplotlib|jsonschema|yaml|pathlib|collections|typing)(\..*)?"),
    (r"py:class", r"(Path|Any|Callable|Mapping|Iterable|Sequence|Tensor|optional|BatchAttack)"),
    # the reduced sides of CKA and SVCCA: internal types in the annotations of public functions
    (r"py:class", r"freqmaps\.stats\.similarity\.(CkaSide|SvccaSide)"),
]

# The tutorials: plain Python scripts executed at build time (no Jupyter kernel), see docs/contributing.md.
sphinx_gallery_conf = {
    "examples_dirs": ["tutorials"],
    "gallery_dirs": ["auto_tutorials"],
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "write_computation_times": False,
    "show_signature": False,
}

html_theme = "furo"
html_title = f"freqmaps {release}"
html_static_path = ["_static"]
html_show_sourcelink = False
html_last_updated_fmt = None


def _describe_data(app, what, name, obj, options, lines) -> None:  # noqa: ANN001 - Sphinx's event signature
    """A registry or constant has no docstring of its own: drop the one its type lends it (dict's, tuple's) and
    list what it holds instead, read from the code at build time (a registry's keys are the config's names)."""
    if what not in ("data", "attribute"):
        return
    inherited = (type(obj).__doc__ or "").strip().splitlines()
    if lines and inherited and lines[0].strip() == inherited[0].strip():
        lines.clear()
    if isinstance(obj, dict) and obj:
        lines += ["", "Entries: " + ", ".join(f"``{key}``" for key in obj) + "."]
    elif isinstance(obj, tuple) and obj and all(isinstance(v, str) for v in obj):
        lines += ["", "Values: " + ", ".join(f"``{v}``" for v in obj) + "."]
    elif isinstance(obj, (int, float, str)) and not isinstance(obj, bool):
        lines += ["", f"Value: ``{obj!r}``."]


def setup(app) -> None:  # noqa: ANN001
    app.connect("autodoc-process-docstring", _describe_data)
