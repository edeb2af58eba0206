"""Fixtures for the browser tests: the built book served locally and read in headless Chromium.

The tests read ``_build/html`` as it is; they never build the book. Each TOC page is loaded once
(``load_page``) and what a reader's browser saw is kept in a :class:`PageVisit`: console errors,
failed or refused requests, images, the visible text of the article, the links. The test modules
then assert on those visits, so ~20 pages cost ~20 page loads however many checks there are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from page_visit import LAYOUT_WIDTHS, VIEWPORT, PageVisit
from sphinx_external_toc.parsing import parse_toc_yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TOC_PATH = REPO_ROOT / "_toc.yml"
CONFIG_PATH = REPO_ROOT / "_config.yml"
ARTIFACTS_DIR = REPO_ROOT / "artifacts"  # git-ignored
# A page has finished when MathJax has typeset it, its images have loaded and the network has
# been quiet for 0.5 s (MathJax fetches fonts and TeX packages lazily, after its first pass).
# A page takes 1-2 s; the limit is generous because CI shares two cores with other jobs.
PAGE_TIMEOUT_MS = 60_000
WAIT_FOR_MATHJAX = """async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; }
}"""
# Lazy images below the fold would never load in a headless viewport: load them all, so that
# naturalWidth tells a broken image from one that was simply not scrolled to.
WAIT_FOR_IMAGES = """async () => {
  await Promise.all(Array.from(document.images).map(img => {
    img.loading = 'eager';
    if (img.complete) { return null; }
    return new Promise(done => { img.addEventListener('load', done);
                                 img.addEventListener('error', done); });
  }));
}"""


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


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serve files without logging every request to stderr."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def base_url(built_html: Path) -> Iterator[str]:
    """Serve ``_build/html`` on 127.0.0.1 at a free port, for the whole session."""
    handler = partial(_QuietHandler, directory=str(built_html))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# Collected in the page after load. Maths counts as typeset when every Sphinx maths element
# holds an mjx-container; the visible text excludes code, where LaTeX source may be shown.
COLLECT_PAGE = r"""() => {
  const article = document.querySelector('main article') || document.querySelector('article')
                  || document.body;
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight')
       .forEach(node => node.remove());
  const maths = Array.from(document.querySelectorAll('.math'));
  return {
    images: Array.from(document.images).map(img => ({
      src: img.currentSrc || img.src,
      alt: (img.getAttribute('alt') || '').trim(),
      complete: img.complete,
      naturalWidth: img.naturalWidth,
      inArticle: article.contains(img),
    })),
    articleText: clone.textContent,
    mathElements: maths.length,
    untypesetMath: maths.filter(m => !m.querySelector('mjx-container'))
                        .map(m => m.textContent.trim().slice(0, 80)),
    // Errors: MathJax's error boxes, and macros it did not know, which its noundefined
    // package shows as red "\name" text (found in the assistive MathML it adds to every formula).
    mathErrors: Array.from(document.querySelectorAll('mjx-merror'))
                     .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80))
                     .concat(Array.from(document.querySelectorAll('mjx-assistive-mml mtext'))
                     .filter(t => t.textContent.startsWith('\\'))
                     .map(t => `undefined macro ${t.textContent}`)),
    mjxContainers: document.querySelectorAll('mjx-container').length,
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    ids: Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.name),
    theme: document.documentElement.dataset.theme || '',
  };
}"""


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


def open_page(
    browser: object, url: str, *, theme: str | None = None, viewport: dict | None = None
) -> tuple[object, object, PageVisit]:
    """Open ``url`` in a new context and page, recording problems; returns (context, page, visit).

    Requests to any host other than the local server are refused and recorded: the book must
    display without the network. ``theme`` ("light" or "dark") is stored the way the theme's own
    switcher stores it, before any page script runs. ``viewport`` defaults to :data:`VIEWPORT`.
    """
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    context = browser.new_context(viewport=viewport or VIEWPORT, service_workers="block")
    visit = PageVisit(url=url)

    def guard(route: object) -> None:
        request_url = route.request.url
        if request_url.startswith(origin) or request_url.startswith("data:"):
            route.continue_()
        else:
            visit.offsite_requests.append(request_url)
            route.abort()

    context.route("**/*", guard)
    if theme is not None:
        context.add_init_script(
            f"localStorage.setItem('mode', '{theme}'); localStorage.setItem('theme', '{theme}');"
        )
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)

    def on_console(message: object) -> None:
        if message.type == "error":
            visit.console_errors.append(message.text)

    def on_request_failed(request: object) -> None:
        if request.url not in visit.offsite_requests:  # already reported as off-site
            visit.failed_requests.append(f"{request.url} ({request.failure})")

    def on_response(response: object) -> None:
        if response.status >= 400:
            visit.failed_requests.append(f"{response.url} (HTTP {response.status})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)
    page.goto(url, wait_until="load")
    page.evaluate(WAIT_FOR_MATHJAX)
    page.evaluate(WAIT_FOR_IMAGES)
    page.wait_for_load_state("networkidle")
    collected = page.evaluate(COLLECT_PAGE)
    visit.images = collected["images"]
    visit.article_text = collected["articleText"]
    visit.math_elements = collected["mathElements"]
    visit.untypeset_math = collected["untypesetMath"]
    visit.math_errors = collected["mathErrors"]
    visit.mjx_containers = collected["mjxContainers"]
    visit.links = collected["links"]
    visit.element_ids = set(collected["ids"])
    visit.html_theme = collected["theme"]
    return context, page, visit


@pytest.fixture(scope="session")
def load_page(browser: object, base_url: str) -> Iterator[Callable[[str], PageVisit]]:
    """``load_page(docname)`` visits a built page once per session and returns its PageVisit,
    its layout measured at every width of ``LAYOUT_WIDTHS``."""
    visits: dict[str, PageVisit] = {}

    def load(docname: str) -> PageVisit:
        if docname not in visits:
            context, page, visit = open_page(browser, f"{base_url}{docname}.html")
            try:
                # A page load with MathJax is most of the time, so the page is resized rather
                # than loaded again, as a browser's responsive mode does: the layout is CSS
                # alone (MathJax 3 never re-breaks lines) and the scroll cues follow resizes.
                for width, viewport in LAYOUT_WIDTHS.items():
                    page.set_viewport_size(viewport)
                    page.evaluate(SETTLED)
                    visit.layout[width] = page.evaluate(MEASURE_LAYOUT)
            finally:
                context.close()
            visits[docname] = visit
        return visits[docname]

    yield load


@pytest.fixture
def fresh_page(browser: object, base_url: str) -> Iterator[Callable[..., tuple[object, PageVisit]]]:
    """``fresh_page(path, theme=..., viewport=...)`` opens a page for one test, closed after it."""
    contexts: list[object] = []

    def open_fresh(
        path: str, *, theme: str | None = None, viewport: dict | None = None
    ) -> tuple[object, PageVisit]:
        context, page, visit = open_page(
            browser, f"{base_url}{path}", theme=theme, viewport=viewport
        )
        contexts.append(context)
        return page, visit

    yield open_fresh
    for context in contexts:
        context.close()
