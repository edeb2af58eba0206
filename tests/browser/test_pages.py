"""Every page of the table of contents, as a reader's browser shows it, and laid out whole.

Each test is parametrized over the TOC pages; a page is loaded once per session (``load_page``)
and each test checks one thing about it. The layout tests at the end read the measurements of
the same loads, at 1280 px and on a phone.
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
from page_visit import LAYOUT_WIDTHS, PHONE_VIEWPORT, PageVisit

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


# --- Layout: nothing is cut off ------------------------------------------------------------------
# MathJax 3 cannot break a long equation, so an equation wider than its column must scroll
# sideways inside it, with a cue that there is more (``scroll_cues.js`` marks the box, course.css
# fades its hidden side), and its number must sit beside it, never on it. Code cells and their
# outputs fit the column at 1280 px (the notebooks are formatted at 79 columns); on a phone they
# may scroll, with the same cue. Every chapter page is measured in the same load as the checks
# above (``load_page``), at every width of ``LAYOUT_WIDTHS``, and reported in
# ``artifacts/layout_report.json``; screenshots of the widest chapter go to artifacts/.


def chapter_pages(toc_pages: list[str]) -> list[str]:
    """The chapters and exercise pages (every page with code cells or numbered maths)."""
    return [name for name in toc_pages if name.startswith(("book/0", "exercises/"))]


@pytest.fixture(scope="module")
def measured(
    load_page: Callable, toc_pages: list[str], artifacts_dir: Path
) -> dict[str, PageVisit]:
    """Docname -> PageVisit of every chapter page; their layouts go to layout_report.json."""
    visits = {docname: load_page(docname) for docname in chapter_pages(toc_pages)}
    report = {width: {name: visit.layout[width] for name, visit in visits.items()}
              for width in LAYOUT_WIDTHS}
    path = artifacts_dir / "layout_report.json"
    path.write_text(json.dumps(report, indent=1, sort_keys=True), encoding="utf-8")
    return visits


@pytest.mark.parametrize("width", list(LAYOUT_WIDTHS))
def test_every_display_equation_is_visible_or_visibly_scrollable(
    width: str, measured: dict[str, dict[str, PageVisit]]
) -> None:
    problems = []
    count = 0
    for docname, visit in measured.items():
        problems += [f"{docname} ({width}): {problem}" for problem in visit.problems()]
        for eq in visit.layout[width]["equations"]:
            count += 1
            where = f"{docname} ({width}) equation {eq['label']}"
            if not eq["typeset"]:
                problems.append(f"{where}: not typeset")
                continue
            if eq["blockClipped"]:
                problems.append(f"{where}: cut off by its block, not scrollable")
            if eq["numberOverlaps"]:
                problems.append(f"{where}: its number is drawn over the maths")
            if eq["scrollWidth"] > eq["clientWidth"] + 1 and not (
                eq["scrollable"] and eq["cued"]
            ):
                problems.append(
                    f"{where}: {eq['scrollWidth']} px of maths in {eq['clientWidth']} px, "
                    f"scrollable={eq['scrollable']}, cued={eq['cued']}"
                )
    assert count > 50, f"only {count} display equations found: are the chapters built?"
    assert problems == [], "\n".join(problems)


def test_code_fits_the_column_at_1280px(measured: dict[str, PageVisit]) -> None:
    problems = []
    columns = []
    for docname, visit in measured.items():
        desktop = visit.layout["desktop"]
        if desktop["codeColumns"] is not None:
            columns.append(desktop["codeColumns"])
        for box in desktop["codeBoxes"]:
            if box["scrollWidth"] > box["clientWidth"] + 1:
                problems.append(
                    f"{docname}: code {box['kind']} {box['text']!r} needs {box['scrollWidth']} px "
                    f"in {box['clientWidth']} px"
                )
    # ruff-notebooks.toml formats the notebooks at 79 columns: the code column must hold them.
    assert columns and min(columns) >= 79, f"the code column holds {min(columns)} characters"
    assert problems == [], "\n".join(problems)


def test_code_that_scrolls_on_a_phone_is_cued(measured: dict[str, PageVisit]) -> None:
    problems = []
    for docname, visit in measured.items():
        for box in visit.layout["phone"]["codeBoxes"]:
            if box["scrollWidth"] > box["clientWidth"] + 1 and not (
                box["scrollable"] and box["cued"]
            ):
                problems.append(f"{docname}: code {box['kind']} {box['text']!r} scrolls uncued")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_phone_screenshots(
    theme: str, fresh_page: Callable, toc_pages: list[str], artifacts_dir: Path
) -> None:
    """Screenshots of the chapter with the widest maths (8) on a phone, for people to look at."""
    docname = next(name for name in toc_pages if name.startswith("book/08"))
    page, visit = fresh_page(f"{docname}.html", theme=theme, viewport=PHONE_VIEWPORT)
    assert visit.html_theme == theme
    screenshots = artifacts_dir / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / f"phone-{theme}.png"), full_page=True)
    heading = page.locator("article h1").first
    size = float(heading.evaluate("h => parseFloat(getComputedStyle(h).fontSize)"))
    assert size <= 32, f"the page title is {size} px tall on a 390-px screen"
