"""Two small additions to every page of the book.

* **Executed notebooks as downloads.** The theme's download button offers each chapter's source
  notebook from ``_sources/``, and the chapters are stored without outputs. After the build, the
  executed copy that myst-nb wrote to ``jupyter_execute/`` replaces it, so a reader who downloads
  a chapter sees its results before running anything. Pages that are not executed (the exercise
  notebooks, released to be filled in) keep their source.
* **A meta description** for search engines and link previews: the page's first paragraph,
  shortened to about 160 characters (the site's description where a page has none).

Enable it in ``_config.yml``::

    sphinx:
      local_extensions:
        page_extras: book/_ext
"""

from __future__ import annotations

import re
import shutil
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

SITE_DESCRIPTION = (
    "An open course on softmax, from its definition to FlashAttention: every formula derived "
    "and checked in code, with graded exercises."
)
DESCRIPTION_LENGTH = 160
# Inline maths in a paragraph's text, \(...\) or $...$: a description has no maths renderer.
INLINE_MATHS = re.compile(r"\\\(.*?\\\)|\$[^$]*\$")


def first_paragraph_text(doctree: nodes.document) -> str:
    """The text of the document's first paragraph with some words in it, maths left out."""
    for paragraph in doctree.findall(nodes.paragraph):
        parts = []
        for node in paragraph.findall(nodes.Text):
            if not isinstance(node.parent, nodes.math):
                parts.append(node.astext())
        text = " ".join(" ".join(parts).split())
        text = INLINE_MATHS.sub("", text)
        if len(text.split()) >= 8:
            return text
    return ""


def shorten(text: str, limit: int = DESCRIPTION_LENGTH) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def add_description(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: nodes.document | None
) -> None:
    """At ``html-page-context``: add ``<meta name="description">`` to the page's head."""
    text = first_paragraph_text(doctree) if doctree is not None else ""
    description = shorten(text) if text else SITE_DESCRIPTION
    tag = f'<meta name="description" content="{escape(description, quote=True)}" />\n'
    context["metatags"] = context.get("metatags", "") + tag


def ship_executed_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """At ``build-finished``: put the executed notebooks where the download button points."""
    if exception is not None or app.builder.format != "html":
        return
    executed_root = Path(app.outdir).parent / "jupyter_execute"
    sources_root = Path(app.outdir) / "_sources"
    shipped = 0
    for docname in app.env.found_docs:
        executed = executed_root / f"{docname}.ipynb"
        source = sources_root / f"{docname}.ipynb"
        if executed.is_file() and source.is_file():
            shutil.copyfile(executed, source)
            shipped += 1
    logger.info("page_extras: %d executed notebooks offered as downloads", shipped)


def setup(app: Sphinx) -> dict[str, object]:
    """Register the extension with Sphinx."""
    app.connect("html-page-context", add_description)
    app.connect("build-finished", ship_executed_notebooks)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
