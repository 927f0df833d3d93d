"""Sphinx configuration of the simglass documentation (``make docs``; output in
docs/_build/html, not committed).  Stack: Sphinx with autodoc + napoleon (numpy-style
docstrings, part of Sphinx) and MyST (the Markdown pages that are also read on GitHub).
The engine options tables are generated here from the engines' declarations."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simglass import __version__  # noqa: E402
from simglass.engines import options_markdown  # noqa: E402

gen = Path(__file__).parent / "_generated"
gen.mkdir(exist_ok=True)
(gen / "engines.md").write_text(options_markdown())

project = "simglass"
author = "the simglass developers"
release = version = __version__
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax",
              "sphinx-mathjax-offline"]   # MathJax served from _static: formulas render offline too
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "figures/README*"]
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath", "amsmath"]   # $...$ and $$...$$ as math (MathJax)
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_custom_sections = ["Raises"]   # written as prose ("ValueError for ..."), not as a type list
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True}
html_theme = "alabaster"
html_theme_options = {"page_width": "1240px", "sidebar_width": "230px"}   # room for the results tables
html_static_path = ["_static"]
html_css_files = ["custom.css"]    # wrap long code lines
html_title = f"simglass {__version__}"
suppress_warnings = ["myst.xref_missing"]   # links to repository files (jobs/, data/) outside the site
nitpicky = False


_LITERAL = re.compile(r"(``.+?``)")


def _escape(text):
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_ ", "\\_ ")


def _plain_text_docstrings(app, what, name, obj, options, lines):
    """The docstrings are written as plain text with formulas (|x|, a*b, Σ_i): escape the
    characters reStructuredText would read as substitutions or emphasis, outside inline
    literals (``**options`` stays as written), doctest blocks (from a ``>>>`` line to
    the next blank line) and literal blocks (the lines indented under a line ending in
    ``::``), which reStructuredText shows as written."""
    literal_under = None     # indentation of the line that opened a literal block
    doctest = False
    for k, line in enumerate(lines):
        body = line.lstrip()
        indent = len(line) - len(body)
        if not body:
            doctest = False
            continue
        if literal_under is not None:
            if indent > literal_under:
                continue
            literal_under = None
        if doctest or body.startswith(">>>"):
            doctest = True
            continue
        lead = line[:indent]
        bullet = "* " if body.startswith("* ") else ""     # keep list bullets
        parts = _LITERAL.split(body[len(bullet):])
        lines[k] = lead + bullet + "".join(p if i % 2 else _escape(p) for i, p in enumerate(parts))
        if body.endswith("::"):
            literal_under = indent


def setup(app):
    app.connect("autodoc-process-docstring", _plain_text_docstrings)
