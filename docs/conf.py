"""Sphinx configuration of simdask's documentation site (``make docs``; tests/test_docs_site.py builds it with -W).

The pages are Markdown (myst-parser): the existing pages of ``docs/`` as they are, and the site's own pages
(index, quick start, guides, architecture, API) that include parts of README.md instead of copying them. The API
reference is autodoc over the numpydoc docstrings (napoleon), documented under the names users import
(``simdask.Client``, not ``simdask.client.client.Client``), so no object is described twice.
"""

from __future__ import annotations

import simdask

project = "simdask"
author = "the simdask developers"
copyright = "the simdask developers"
release = version = simdask.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# Headings get anchors, so that pages can link to a section ("protocol.md#runs").
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Summary tables only: no stub pages are generated into the source folder.
autosummary_generate = False

html_theme = "alabaster"
html_title = f"simdask {release}"
html_theme_options = {"description": "simulations, Dask, xarray and ML through an in-memory tensor store"}
