"""Sphinx configuration of the funnelkit documentation.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (``tests/test_docs.py``
builds it with warnings as errors). Pages are Markdown (MyST) or reStructuredText;
every top-level page of ``docs/`` joins the table of contents by itself (a glob in
``index.md``). The API reference is generated from the numpydoc docstrings by
autodoc; the gallery's figures are drawn at build time by matplotlib's plot
directive, so no image is committed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the plot directive draws without a display

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("FUNNELKIT_NUM_THREADS", "1")  # quiet, reproducible builds on shared machines

import funnelkit  # noqa: E402

project = "funnelkit"
author = "funnelkit developers"
copyright = "funnelkit developers"
release = funnelkit.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

# MyST: the Markdown pages (other engineers' semantics pages among them) as they are written
# for GitHub: heading anchors for `page.md#section` links, $math$, ::: fences, tables.
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "amsmath", "attrs_inline"]
myst_heading_anchors = 4
myst_dmath_double_inline = True

# autodoc / numpydoc: the docstrings as they are, without executing the library's work.
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections already give the types
autosummary_generate = False  # no generated stub files in the source tree
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

# The gallery: small figures drawn at build time from the bundled sample.
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 90)]
plot_rcparams = {"figure.figsize": (8.0, 4.2)}
plot_pre_code = "import matplotlib.pyplot as plt\nimport funnelkit as fk\n"
plot_working_directory = str(ROOT)

html_theme = "alabaster"
html_title = f"funnelkit {release}"
html_static_path: list[str] = []
html_theme_options = {"description": "Clickstream funnel analytics: testea y optimiza", "fixed_sidebar": True}
html_show_sourcelink = False


def _repository_links(app, doctree):  # noqa: ANN001 - Sphinx event signature
    """Links of a page to files of the repository outside ``docs/`` (``../CONTRIBUTING.md``,
    ``../src/funnelkit/...``) work on GitHub but are no pages of the site: shown as the
    path in code type instead of a broken link. A link to a file that does not exist is
    left alone, so the build still warns about it (and ``tests/test_links.py`` fails)."""
    from docutils import nodes
    from sphinx import addnodes

    src = Path(app.srcdir)
    page = src / app.env.docname
    for node in list(doctree.findall(addnodes.pending_xref)):
        if node.get("reftype") != "myst":
            continue
        target = str(node.get("reftarget", "")).split("#", 1)[0]
        if not target or "://" in target:
            continue
        # "doc" references carry a document path without its suffix (absolute, or from docs/)
        bases = [Path(target), src / target.lstrip("/"), page.parent / target]
        found = [b.with_name(b.name + suf) for b in bases for suf in ("", ".md", ".rst")]
        dest = next((f.resolve() for f in found if f.is_absolute() and f.exists()), None)
        if dest is None:
            continue  # a missing file: left for Sphinx to warn about
        try:
            dest.relative_to(src)
            continue  # inside docs: Sphinx resolves it (or warns)
        except ValueError:
            pass
        text = node.astext() or target
        node.replace_self(nodes.literal(text, text))


def setup(app):  # noqa: ANN001, ANN201 - Sphinx's hook
    app.connect("doctree-read", _repository_links)
    return {"parallel_read_safe": True}
