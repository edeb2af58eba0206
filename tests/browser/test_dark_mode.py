"""A chapter in the theme's light and dark modes: screenshots, and figures that stay legible.

The figures are drawn on an opaque white background (the course's matplotlib style), so in
dark mode each one shows as a white card with dark ink. If a figure had transparent pixels, its
dark text and lines would sit on the dark page background and disappear.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

# Fraction of a figure's pixels allowed to be see-through. Anti-aliased edges of an opaque
# figure are still opaque, so any real transparency means the figure was saved transparent.
MAX_TRANSPARENT_FRACTION = 0.0

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
    return {src: img.src, transparentFraction: transparent / (data.length / 4)};
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
    see_through = [f for f in figures if f["transparentFraction"] > MAX_TRANSPARENT_FRACTION]
    assert see_through == [], (
        f"{docname}: figures with transparent pixels vanish into the {theme} background: "
        f"{see_through}"
    )
