"""The HTML filter of the feedback pages: a student's Markdown and HTML outputs, cleaned.

nbconvert's own ``clean_html`` escapes paragraphs, lists and headings (its list
of allowed tags is bleach's inline one), so a cleaned written answer would show
its ``<p>`` tags as text. This one keeps what Markdown renders to (and maths,
which MathJax reads from the text) and removes everything that can run:
``<script>``, ``<style>``, ``<iframe>``, event handlers (``on*``), and
``javascript:`` links. nbgrader_config.py puts it in place of nbconvert's.
"""

from __future__ import annotations

import bleach

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"})
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "data"})  # data: see _allowed
COMMON_ATTRIBUTES = frozenset({"class", "id", "title"})
TAG_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}, "td": {"colspan", "rowspan", "align"},
                  "th": {"colspan", "rowspan", "align"}, "ol": {"start"}}


def _allowed(tag: str, name: str, value: str) -> bool:
    # An image embedded in the notebook (an attachment) is a data: image; nothing else is.
    if value.strip().lower().startswith("data:"):
        return (tag, name) == ("img", "src") and value.startswith("data:image/") and (
            not value.startswith("data:image/svg"))  # an SVG document can carry script
    return name in COMMON_ATTRIBUTES or name in TAG_ATTRIBUTES.get(tag, ())


def clean_html(element: str | bytes) -> str:
    """The HTML with only harmless tags and attributes; the rest is dropped, its text kept."""
    text = element.decode() if isinstance(element, bytes) else str(element)
    return bleach.clean(text, tags=ALLOWED_TAGS, attributes=_allowed,
                        protocols=ALLOWED_PROTOCOLS, strip=True, strip_comments=True)
