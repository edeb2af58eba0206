"""The HTML filter of the feedback pages: a student's Markdown and HTML outputs, cleaned.

nbconvert's own ``clean_html`` escapes paragraphs, lists and headings (its list
of allowed tags is bleach's inline one), so a cleaned written answer would show
its ``<p>`` tags as text. This one keeps what Markdown renders to (and maths,
which MathJax reads from the text) and removes everything that can run:
``<script>``, ``<style>``, ``<iframe>``, event handlers (``on*``), and
``javascript:`` links. nbgrader_config.py puts it in place of nbconvert's.

html5lib, under bleach, takes time growing with the square of the nesting (30,000
nested ``<div>`` in one Markdown cell took a minute), and pages are rendered one
after another for the whole class: markup nested deeper than any Markdown renders
to, or with more tags than a page needs, is shown as text instead, escaped.
"""

from __future__ import annotations

import functools
import html
import re

import bleach

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"})
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "data"})  # data: see _allowed
COMMON_ATTRIBUTES = frozenset({"class", "id", "title"})
TAG_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}, "td": {"colspan", "rowspan", "align"},
                  "th": {"colspan", "rowspan", "align"}, "ol": {"start"}}


# Bounds far beyond what Markdown renders to, and within which bleach takes milliseconds.
MAX_TAGS = 5_000
MAX_DEPTH = 100
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^<>]*?(/?)>")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"})
AS_TEXT_NOTE = "<p><em>[shown as text by the grader: too much nested markup]</em></p>"


def _allowed(tag: str, name: str, value: str) -> bool:
    # An image embedded in the notebook (an attachment) is a data: image; nothing else is.
    if value.strip().lower().startswith("data:"):
        return (tag, name) == ("img", "src") and value.startswith("data:image/") and (
            not value.startswith("data:image/svg"))  # an SVG document can carry script
    return name in COMMON_ATTRIBUTES or name in TAG_ATTRIBUTES.get(tag, ())


def _too_much_markup(text: str) -> bool:
    """Whether ``text`` has more than ``MAX_TAGS`` tags or nests them deeper than
    ``MAX_DEPTH``, counted in one linear pass (an unclosed tag counts as open)."""
    if text.count("<") > MAX_TAGS:
        return True
    depth = 0
    for closing, name, self_closing in _TAG.findall(text):
        if name.lower() in _VOID or self_closing:
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        if depth > MAX_DEPTH:
            return True
    return False


def clean_html(element: str | bytes) -> str:
    """The HTML with only harmless tags and attributes; the rest is dropped, its text kept.
    Markup too large or too deep to clean in bounded time is shown escaped, as text."""
    text = element.decode() if isinstance(element, bytes) else str(element)
    return _clean_once(text) if len(text) <= MAX_REMEMBERED_CHARACTERS else _clean(text)


def _clean(text: str) -> str:
    if _too_much_markup(text):
        return f"{AS_TEXT_NOTE}<pre>{html.escape(text)}</pre>"
    return bleach.clean(text, tags=ALLOWED_TAGS, attributes=_allowed,
                        protocols=ALLOWED_PROTOCOLS, strip=True, strip_comments=True)


# Every page of a class repeats the release's Markdown cells, and cleaning them again was about
# a seventh of a page's rendering (146 against 126 ms a page): a text is cleaned once per
# process (the result depends on the text alone). What is remembered is bounded: texts of a few
# pages each, the latest 1024.
MAX_REMEMBERED_CHARACTERS = 20_000
_clean_once = functools.lru_cache(maxsize=1024)(_clean)
