"""Nothing on a page is cut off: display maths and code, measured at 1280 px and on a phone.

MathJax 3 cannot break a long equation, so an equation wider than its column must scroll
sideways inside it, with a cue that there is more (``scroll_cues.js`` marks the box, course.css
fades its hidden side), and its number must sit beside it, never on it. Code cells and their
outputs fit the column at 1280 px (the notebooks are formatted at 79 columns); on a phone they
may scroll, with the same cue. Every measured page is reported in
``artifacts/layout_report.json``, and screenshots of the widest chapter go to artifacts/.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import PHONE_VIEWPORT, VIEWPORT, open_page

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": VIEWPORT, "phone": PHONE_VIEWPORT}

# For each display equation and each code box: its size, whether it scrolls and is cued, and
# whether anything is clipped where nobody can scroll to it.
MEASURE = r"""() => {
  const round = x => Math.round(x);
  const cued = el => el.classList.contains('scrolls-end') || el.classList.contains('scrolls-start');
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const equations = Array.from(document.querySelectorAll('div.math')).map(block => {
    const box = block.querySelector("mjx-container[display='true']");
    const number = block.querySelector('.eqno');
    const label = (number ? number.textContent.replace('#', '').trim() + ' ' : '') +
      (block.id || '');
    if (!box) { return {label, typeset: false}; }
    const boxRect = box.getBoundingClientRect();
    const numberRect = number ? number.getBoundingClientRect() : null;
    return {
      label, typeset: true,
      scrollWidth: box.scrollWidth, clientWidth: box.clientWidth,
      scrollable: scrolls(box), cued: cued(box),
      // The block itself hides its overflow: anything wider than it is cut, not scrollable.
      blockClipped: block.scrollWidth > block.clientWidth + 1,
      numberOverlaps: numberRect !== null && numberRect.width > 0 &&
        numberRect.left < boxRect.right - 1 && numberRect.right > boxRect.left + 1,
      width: round(boxRect.width),
    };
  });
  const codeBoxes = Array.from(document.querySelectorAll(
      'div.cell_input pre, div.cell_output pre, div.highlight pre')).map(box => ({
    kind: box.closest('.cell_output') ? 'output' : 'input',
    text: box.textContent.split('\n')[0].slice(0, 60),
    scrollWidth: box.scrollWidth, clientWidth: box.clientWidth,
    scrollable: scrolls(box) || scrolls(box.parentElement), cued: cued(box),
  }));
  const column = document.querySelector('article.bd-article');
  const firstCode = document.querySelector('div.cell_input pre');
  let codeColumns = null;
  if (firstCode) {
    const probe = document.createElement('span');
    probe.textContent = 'x'.repeat(100);
    probe.style.visibility = 'hidden';
    firstCode.appendChild(probe);
    const charWidth = probe.getBoundingClientRect().width / 100;
    probe.remove();
    const style = getComputedStyle(firstCode);
    const inner = firstCode.clientWidth - parseFloat(style.paddingLeft) -
      parseFloat(style.paddingRight);
    codeColumns = Math.floor(inner / charWidth);
  }
  return {equations, codeBoxes, columnWidth: column ? round(column.clientWidth) : null,
          codeColumns};
}"""


def chapter_pages(toc_pages: list[str]) -> list[str]:
    """The chapters and exercise pages (every page with code cells or numbered maths)."""
    return [name for name in toc_pages if name.startswith(("book/0", "exercises/"))]


@dataclass
class Measured:
    """One chapter page loaded at one width: what went wrong while loading it, and MEASURE."""

    load_problems: list[str]
    result: dict


# Resolves after two animation frames: by then the layout of a resized page is done and the
# ResizeObserver of scroll_cues.js has re-marked the boxes.
SETTLED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


@pytest.fixture(scope="module")
def measured(
    browser: object, base_url: str, toc_pages: list[str], artifacts_dir: Path
) -> dict[str, dict[str, Measured]]:
    """Width -> docname -> Measured, every chapter page measured at every width.

    A page load with MathJax is most of the time, so each page is loaded once, at the first
    width, and then resized, as a browser's responsive mode does: the layout is CSS alone
    (MathJax 3 never re-breaks lines) and the scroll cues follow resizes. The results go to
    artifacts/layout_report.json.
    """
    pages: dict[str, dict[str, Measured]] = {width: {} for width in WIDTHS}
    for docname in chapter_pages(toc_pages):
        context, page, visit = open_page(browser, f"{base_url}{docname}.html")
        try:
            for width, viewport in WIDTHS.items():
                page.set_viewport_size(viewport)
                page.evaluate(SETTLED)
                pages[width][docname] = Measured(visit.problems(), page.evaluate(MEASURE))
        finally:
            context.close()
    report = {width: {name: m.result for name, m in by_page.items()}
              for width, by_page in pages.items()}
    path = artifacts_dir / "layout_report.json"
    path.write_text(json.dumps(report, indent=1, sort_keys=True), encoding="utf-8")
    return pages


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_display_equation_is_visible_or_visibly_scrollable(
    width: str, measured: dict[str, dict[str, Measured]]
) -> None:
    problems = []
    count = 0
    for docname, page in measured[width].items():
        problems += [f"{docname} ({width}): {problem}" for problem in page.load_problems]
        for eq in page.result["equations"]:
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


def test_code_fits_the_column_at_1280px(measured: dict[str, dict[str, Measured]]) -> None:
    problems = []
    columns = []
    for docname, page in measured["desktop"].items():
        if page.result["codeColumns"] is not None:
            columns.append(page.result["codeColumns"])
        for box in page.result["codeBoxes"]:
            if box["scrollWidth"] > box["clientWidth"] + 1:
                problems.append(
                    f"{docname}: code {box['kind']} {box['text']!r} needs {box['scrollWidth']} px "
                    f"in {box['clientWidth']} px"
                )
    # ruff-notebooks.toml formats the notebooks at 79 columns: the code column must hold them.
    assert columns and min(columns) >= 79, f"the code column holds {min(columns)} characters"
    assert problems == [], "\n".join(problems)


def test_code_that_scrolls_on_a_phone_is_cued(measured: dict[str, dict[str, Measured]]) -> None:
    problems = []
    for docname, page in measured["phone"].items():
        for box in page.result["codeBoxes"]:
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
