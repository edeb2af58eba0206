"""A chapter in the theme's light and dark modes: screenshots, and figures that follow the theme.

The figures are drawn with near-black ink on a transparent background (the course's matplotlib
style), sent as PNGs at twice their nominal resolution. In light mode they show as they are; in
dark mode course.css inverts their lightness (and turns the hues back), so the ink is light on
the dark page. Without that filter, the dark ink would vanish into the dark background. Figures
with a heatmap are opaque white cards instead, shown unchanged in both modes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

# A figure drawn on a transparent background: most of its pixels are see-through.
MIN_TRANSPARENT_FRACTION = 0.2

# Wait for the theme's finite CSS transitions (the sidebar slides in) before a screenshot.
SETTLE_ANIMATIONS = """() => Promise.all(document.getAnimations()
  .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
  .map(a => a.finished.catch(() => null)))"""

# Alpha statistics of each figure in the article, read back through a canvas (same origin).
FIGURE_ALPHA = """() => Array.from(document.querySelectorAll('article img'))
  .filter(img => img.src.includes('/_images/'))
  .map(img => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let transparent = 0;
    for (let i = 3; i < data.length; i += 4) { if (data[i] < 255) { transparent += 1; } }
    return {src: img.src, transparentFraction: transparent / (data.length / 4),
            naturalWidth: img.naturalWidth, shownWidth: img.getBoundingClientRect().width,
            filter: getComputedStyle(img).filter};
  })"""


def chapter_with_figures(built_html: Path, toc_pages: list[str]) -> str:
    """The first chapter page (under book/) that shows a figure; else the first chapter."""
    chapters = [name for name in toc_pages if re.fullmatch(r"book/\d\d_\w+", name)]
    assert chapters, "the table of contents lists no chapter notebooks book/NN_name"
    for name in chapters:
        html = built_html.joinpath(f"{name}.html").read_text(encoding="utf-8")
        if "_images/" in html:
            return name
    return chapters[0]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chapter_screenshot_and_legible_figures(
    theme: str,
    fresh_page: Callable,
    built_html: Path,
    toc_pages: list[str],
    artifacts_dir: Path,
) -> None:
    """Render a chapter in ``theme``, save screenshots, and check its figures are opaque."""
    docname = chapter_with_figures(built_html, toc_pages)
    page, visit = fresh_page(f"{docname}.html", theme=theme)
    assert visit.html_theme == theme, f"the page did not switch to {theme} mode"
    assert visit.problems() == [], "\n".join(visit.problems())

    page.evaluate(SETTLE_ANIMATIONS)
    screenshots = artifacts_dir / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / f"chapter-{theme}.png"), full_page=True)
    first_figure = page.locator("article img[src*='_images/']").first
    if first_figure.count():
        first_figure.scroll_into_view_if_needed()
        page.evaluate(SETTLE_ANIMATIONS)
        page.screenshot(path=str(screenshots / f"chapter-figure-{theme}.png"))

    figures = page.evaluate(FIGURE_ALPHA)
    assert figures, f"{docname} shows no figure"
    # Sharp on high-density screens: at least two image pixels per CSS pixel shown.
    blurry = [f for f in figures if f["naturalWidth"] < 2 * f["shownWidth"] - 1]
    assert blurry == [], f"{docname}: figures below 2x resolution: {blurry}"
    see_through = [f for f in figures if f["transparentFraction"] >= MIN_TRANSPARENT_FRACTION]
    cards = [f for f in figures if f["transparentFraction"] == 0.0]
    assert see_through, f"{docname}: no figure on a transparent background"
    assert len(see_through) + len(cards) == len(figures), f"{docname}: {figures}"
    inverted = [f["src"] for f in figures if "invert" in f["filter"]]
    if theme == "dark":
        assert sorted(inverted) == sorted(f["src"] for f in see_through), (
            f"{docname}: in dark mode exactly the transparent figures are inverted: {figures}"
        )
        assert all(f["filter"] == "none" for f in cards), f"{docname}: dimmed cards: {cards}"
    else:
        assert inverted == [], f"{docname}: figures inverted in light mode: {inverted}"
