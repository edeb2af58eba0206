"""Every page of the table of contents, as a reader's browser shows it.

Each test is parametrized over the TOC pages; a page is loaded once per session (``load_page``)
and each test checks one thing about it.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

pytestmark = pytest.mark.browser

# LaTeX that MathJax should have replaced. Code blocks are left out of the text checked, so a
# page may still show LaTeX source as code.
RAW_LATEX = ("$$", "\\frac", "\\begin{", "\\(", "\\[")
# Inline maths that Markdown never saw as maths: a "$" and then a TeX command before the next
# "$" (a paragraph line that starts with "+ " or "- " opens a list and splits a $...$ in two).
RAW_INLINE_TEX = re.compile(r"\$[^$]{0,80}?\\[A-Za-z]{2,}")
# Largest acceptable page: its HTML plus every image it shows. A reader on a slow connection
# waits for all of it; a figure saved at a needlessly high resolution shows up here first.
PAGE_WEIGHT_BUDGET_BYTES = 5 * 2**20


def test_no_console_errors_or_failed_requests(docname: str, load_page: Callable) -> None:
    """The page loads without script errors, 404s, refused requests or off-site requests."""
    visit = load_page(docname)
    assert visit.problems() == [], f"{docname}: " + "\n".join(visit.problems())


def test_images_load_and_have_alt_text(docname: str, load_page: Callable) -> None:
    """Every image decoded (naturalWidth > 0) and has non-empty alt text for screen readers."""
    visit = load_page(docname)
    broken = [img["src"] for img in visit.images if img["naturalWidth"] == 0]
    # Sphinx writes an image's own path as its alt text when the notebook gives none.
    without_alt = [
        img["src"]
        for img in visit.images
        if not img["alt"] or re.fullmatch(r"\S+\.(png|svg|jpe?g|gif)", img["alt"])
    ]
    assert broken == [], f"{docname}: images that did not load: {broken}"
    assert without_alt == [], f"{docname}: images without alt text: {without_alt}"


def test_maths_is_typeset(docname: str, load_page: Callable) -> None:
    """MathJax typeset every formula: no raw LaTeX in the text and no MathJax error boxes."""
    visit = load_page(docname)
    raw = [token for token in RAW_LATEX if token in visit.article_text]
    raw += [match.group(0)[:60] for match in RAW_INLINE_TEX.finditer(visit.article_text)]
    assert raw == [], f"{docname}: raw LaTeX left in the visible text: {raw}"
    assert visit.untypeset_math == [], f"{docname}: maths not typeset: {visit.untypeset_math}"
    assert visit.math_errors == [], f"{docname}: MathJax errors: {visit.math_errors}"
    if visit.math_elements:
        assert visit.mjx_containers >= visit.math_elements, (
            f"{docname}: {visit.math_elements} formulas but {visit.mjx_containers} typeset"
        )


class _IdCollector(HTMLParser):
    """Collect every ``id`` (and legacy ``<a name>``) in an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


@cache
def fetch(url: str) -> tuple[int, bytes]:
    """Status and body of a same-origin URL (cached: many pages link to the same targets)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


@cache
def ids_of(url: str) -> frozenset[str]:
    """The element ids of the HTML page at ``url``."""
    status, body = fetch(url)
    collector = _IdCollector()
    if status == 200:
        collector.feed(body.decode("utf-8", errors="replace"))
    return frozenset(collector.ids)


def broken_internal_links(visit) -> list[str]:
    """Links of ``visit`` to the same site whose target is missing or lacks its anchor."""
    origin = urlsplit(visit.url).netloc
    broken = []
    for link in sorted(set(visit.links)):
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or parts.netloc != origin:
            continue  # off-site links (launch services, papers) are not checked offline
        target, fragment = urldefrag(link)
        status, _body = fetch(target)
        if status != 200:
            broken.append(f"{link} (HTTP {status})")
            continue
        if not fragment:
            continue
        anchor = unquote(fragment)
        page_url, _ = urldefrag(visit.url)
        ids = visit.element_ids if target == page_url else ids_of(target)
        if anchor not in ids:
            broken.append(f"{link} (no element with id {anchor!r})")
    return broken


def test_internal_links_resolve(docname: str, load_page: Callable) -> None:
    """Every same-site link answers 200, and its #anchor exists on the target page."""
    visit = load_page(docname)
    broken = broken_internal_links(visit)
    assert broken == [], f"{docname}: broken internal links:\n" + "\n".join(broken)


def page_weight(built_html: Path, visit) -> int:
    """Bytes of the page's HTML plus the images it shows (served from the build, not cached)."""
    site_root = urlsplit(visit.url)._replace(path="/", query="", fragment="").geturl()
    html_path = built_html / urlsplit(visit.url).path.lstrip("/")
    total = html_path.stat().st_size
    for src in {img["src"] for img in visit.images}:
        if src.startswith(site_root):
            image_path = built_html / unquote(urlsplit(src).path.lstrip("/"))
            total += image_path.stat().st_size
    return total


def test_page_weight_within_budget(
    built_html: Path, load_page: Callable, toc_pages: list[str], artifacts_dir: Path
) -> None:
    """Record every page's weight (HTML + images) and keep the largest under the budget."""
    weights = {name: page_weight(built_html, load_page(name)) for name in toc_pages}
    report = artifacts_dir / "page_weights.json"
    report.write_text(json.dumps(weights, indent=2) + "\n", encoding="utf-8")
    heaviest = max(weights, key=weights.get)
    print(f"heaviest page: {heaviest}, {weights[heaviest]} bytes (HTML + images)")
    assert weights[heaviest] <= PAGE_WEIGHT_BUDGET_BYTES, (
        f"{heaviest} weighs {weights[heaviest]} bytes with its images, over the "
        f"{PAGE_WEIGHT_BUDGET_BYTES} byte budget: save its figures smaller"
    )


def test_glossary_defines_terms(load_page: Callable) -> None:
    """The glossary page renders a definition list whose terms other pages can link to."""
    visit = load_page("book/glossary")
    term_ids = sorted(i for i in visit.element_ids if re.fullmatch(r"term-[\w-]+", i))
    assert "term-softmax" in term_ids and "term-logit" in term_ids, term_ids
