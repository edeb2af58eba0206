"""Fixtures for the browser tests: the built book served locally and read in headless Chromium.

The tests read ``_build/html`` as it is; they never build the book. Each TOC page is loaded once
(``load_page``), one after another in one tab (:class:`Tab`), and what a reader's browser saw is
kept in a :class:`PageVisit`: console errors, failed or refused requests, images, the visible
text of the article, the links. The test modules then assert on those visits, so ~20 pages cost
~20 page loads however many checks there are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from page_visit import LAYOUT_WIDTHS, VIEWPORT, PageVisit, QuietHandler, Tab
from sphinx_external_toc.parsing import parse_toc_yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TOC_PATH = REPO_ROOT / "_toc.yml"
CONFIG_PATH = REPO_ROOT / "_config.yml"
ARTIFACTS_DIR = REPO_ROOT / "artifacts"  # git-ignored


def toc_docnames() -> list[str]:
    """Every page of ``_toc.yml`` in reading order (root first, then depth first)."""
    site_map = parse_toc_yaml(TOC_PATH)
    ordered: list[str] = []

    def walk(docname: str) -> None:
        ordered.append(docname)
        for subtree in site_map[docname].subtrees:
            for item in subtree.items:
                if isinstance(item, str):  # skip glob and URL entries: they are not pages
                    walk(item)

    walk(site_map.root.docname)
    return ordered


def is_notebook_page(docname: str) -> bool:
    """True when the TOC entry is a Jupyter notebook (it gets launch and download buttons)."""
    return REPO_ROOT.joinpath(f"{docname}.ipynb").is_file()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``docname`` over every page in the table of contents."""
    if "docname" in metafunc.fixturenames:
        metafunc.parametrize("docname", toc_docnames())
    if "notebook_docname" in metafunc.fixturenames:
        notebooks = [name for name in toc_docnames() if is_notebook_page(name)]
        metafunc.parametrize("notebook_docname", notebooks)


@pytest.fixture(scope="session")
def toc_pages() -> list[str]:
    """Every page of the table of contents, in reading order."""
    return toc_docnames()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where the browser tests leave screenshots and reports for people to look at."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def repository_url() -> str:
    """The repository URL in _config.yml, from which every launch link is built."""
    config = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


@pytest.fixture(scope="session")
def base_url(built_html: Path) -> Iterator[str]:
    """Serve ``_build/html`` on 127.0.0.1 at a free port, for the whole session."""
    handler = partial(QuietHandler, directory=str(built_html))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# For each display equation and each code box: its size, whether it scrolls and is cued, and
# whether anything is clipped where nobody can scroll to it.
MEASURE_LAYOUT = r"""() => {
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


# Resolves after two animation frames: by then the layout of a resized page is done and the
# ResizeObserver of scroll_cues.js has re-marked the boxes.
SETTLED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


@pytest.fixture(scope="session")
def load_page(browser: object, base_url: str) -> Iterator[Callable[[str], PageVisit]]:
    """``load_page(docname)`` visits a built page once per session and returns its PageVisit,
    its layout measured at every width of ``LAYOUT_WIDTHS``. The pages are visited in one tab,
    one after another, as a reader follows the book."""
    visits: dict[str, PageVisit] = {}
    tab = Tab(browser)

    def load(docname: str) -> PageVisit:
        if docname not in visits:
            tab.page.set_viewport_size(VIEWPORT)  # the last page was left at the last width
            visit = tab.open(f"{base_url}{docname}.html")
            # A page load with MathJax is most of the time, so the page is resized rather
            # than loaded again, as a browser's responsive mode does: the layout is CSS
            # alone (MathJax 3 never re-breaks lines) and the scroll cues follow resizes.
            for width, viewport in LAYOUT_WIDTHS.items():
                tab.page.set_viewport_size(viewport)
                tab.page.evaluate(SETTLED)
                visit.layout[width] = tab.page.evaluate(MEASURE_LAYOUT)
            visits[docname] = visit
        return visits[docname]

    try:
        yield load
    finally:
        tab.close()


@pytest.fixture(scope="session")
def reusable_tabs(browser: object) -> Iterator[dict[str | None, Tab]]:
    """Theme -> the session's tab for ``fresh_page`` (the theme is stored by the tab's context)."""
    tabs: dict[str | None, Tab] = {}
    try:
        yield tabs
    finally:
        for tab in tabs.values():
            tab.close()


@pytest.fixture(scope="module")
def module_tab(browser: object, reusable_tabs: dict[str | None, Tab]) -> Iterator[Tab]:
    """The session's default tab, held by one test module whose tests share one visit of a page:
    a chapter with MathJax costs seconds to load, and what the tests change on it (controls,
    emulated media) each test's fixture sets back and checks. ``fresh_page`` meanwhile opens a
    tab of its own."""
    tab = reusable_tabs.pop(None, None) or Tab(browser)
    try:
        yield tab
    finally:
        if None not in reusable_tabs and tab.forget():
            reusable_tabs[None] = tab
        else:
            tab.close()


@pytest.fixture
def fresh_page(
    browser: object, base_url: str, reusable_tabs: dict[str | None, Tab]
) -> Iterator[Callable[..., tuple[object, PageVisit]]]:
    """``fresh_page(path, theme=..., viewport=...)`` opens a page for one test, as a new reader
    sees it: in the session's tab for that theme, whose storage is cleared and emulated media
    reset after the test. A second page in the same test gets a tab of its own."""
    used: list[Tab] = []
    own: list[Tab] = []

    def open_fresh(
        path: str, *, theme: str | None = None, viewport: dict | None = None
    ) -> tuple[object, PageVisit]:
        tab = reusable_tabs.get(theme)
        if tab is None:
            tab = reusable_tabs[theme] = Tab(browser, theme=theme)
        if tab in used:  # this test still holds that tab's page
            tab = Tab(browser, theme=theme)
            own.append(tab)
        used.append(tab)
        tab.page.set_viewport_size(viewport or VIEWPORT)
        return tab.page, tab.open(f"{base_url}{path}")

    yield open_fresh
    for tab in own:
        tab.close()
    for theme, tab in list(reusable_tabs.items()):
        if tab in used and not tab.forget():
            tab.close()
            del reusable_tabs[theme]
