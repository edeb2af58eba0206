"""What the browser tests share by name: the viewports, what a page load saw (PageVisit), and the
tab that loads pages and records what it saw (Tab).

A module of its own, so that the test modules import it by a name no other folder uses (a
``from conftest import ...`` would get whichever folder's ``conftest`` was imported first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError

VIEWPORT = {"width": 1280, "height": 900}
# A phone (an iPhone 12-15 is 390 CSS pixels wide).
PHONE_VIEWPORT = {"width": 390, "height": 844}
# The widths every page's layout is measured at (``PageVisit.layout``).
LAYOUT_WIDTHS = {"desktop": VIEWPORT, "phone": PHONE_VIEWPORT}
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


class QuietHandler(SimpleHTTPRequestHandler):
    """Serve files without logging every request to stderr."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except ConnectionError:  # the tab went on to the next page before the reply was sent
            pass


@dataclass
class PageVisit:
    """What the browser saw on one page, collected while loading it."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    offsite_requests: list[str] = field(default_factory=list)
    # Filled in after the load:
    images: list[dict] = field(default_factory=list)
    article_text: str = ""
    math_elements: int = 0
    untypeset_math: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    mjx_containers: int = 0
    links: list[str] = field(default_factory=list)
    element_ids: set[str] = field(default_factory=set)
    html_theme: str = ""
    # Width name (LAYOUT_WIDTHS) -> MEASURE_LAYOUT's result; measured by ``load_page`` only.
    layout: dict[str, dict] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Everything that went wrong at the network or script level, one line each."""
        return (
            [f"console error: {text}" for text in self.console_errors]
            + [f"uncaught exception: {text}" for text in self.page_errors]
            + [f"failed request: {text}" for text in self.failed_requests]
            + [f"off-site request (the book must work offline): {u}" for u in self.offsite_requests]
        )


class Tab:
    """A browser tab (a context with one page) that visits pages in turn, recording each visit.

    Requests to any host other than the local server are recorded (the book must display
    without the network), and fail at once: the browser resolves no other host
    (``CHROMIUM_ARGS`` in ``tests/conftest.py``). ``theme`` ("light" or "dark") is stored the
    way the theme's own switcher stores it, before any page script runs. ``viewport`` defaults
    to :data:`VIEWPORT`.

    A tab that goes on to the next page keeps its renderer process and its caches, where a new
    context starts afresh and compiles MathJax and the theme's scripts again: a chapter costs 4
    to 8 CPU seconds in a new context, and the browser tests' 41 page loads took 184 CPU seconds
    in tabs against 272 in new contexts. A failed request or a response is counted for the visit
    that made the request, so one still under way when the tab moves on is not blamed on the
    next page (``test_tab.py``).
    """

    def __init__(
        self, browser: object, *, theme: str | None = None, viewport: dict | None = None
    ) -> None:
        self.context = browser.new_context(viewport=viewport or VIEWPORT, service_workers="block")
        self.visit = PageVisit(url="about:blank")
        self._origin = ""
        self._requests: set[object] = set()  # the current visit's
        if theme is not None:
            self.context.add_init_script(
                f"localStorage.setItem('mode', '{theme}');"
                f" localStorage.setItem('theme', '{theme}');"
            )
        self.page = self.context.new_page()
        self.page.set_default_timeout(PAGE_TIMEOUT_MS)
        # Events, not request interception (``route``): interception sends every request through
        # this process and turns the browser's cache off, which made a chapter's load cost
        # 1.5 to 3 CPU seconds more.
        self.page.on("request", self._on_request)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.visit.page_errors.append(str(error)))
        self.page.on("requestfailed", self._on_request_failed)
        self.page.on("response", self._on_response)

    def open(self, url: str) -> PageVisit:
        """Go to ``url``, wait until it has settled, and return what the visit saw."""
        self.visit = visit = PageVisit(url=url)
        self._origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        self._requests = set()
        self.page.goto(url, wait_until="load")
        self.page.evaluate(WAIT_FOR_MATHJAX)
        self.page.evaluate(WAIT_FOR_IMAGES)
        self.page.wait_for_load_state("networkidle")
        collected = self.page.evaluate(COLLECT_PAGE)
        visit.images = collected["images"]
        visit.article_text = collected["articleText"]
        visit.math_elements = collected["mathElements"]
        visit.untypeset_math = collected["untypesetMath"]
        visit.math_errors = collected["mathErrors"]
        visit.mjx_containers = collected["mjxContainers"]
        visit.links = collected["links"]
        visit.element_ids = set(collected["ids"])
        visit.html_theme = collected["theme"]
        return visit

    def forget(self) -> bool:
        """Undo what a visit may have changed beyond its page: storage, cookies, emulated media
        (scripts that store settings, such as MathJax's menu, would carry them to the next
        visit). False when that cannot be done: the page crashed or left the server."""
        if not self._origin or not self.page.url.startswith(self._origin):
            return False
        try:
            self.page.emulate_media(media="null")
            self.page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
            self.context.clear_cookies()
        except PlaywrightError:
            return False
        return True

    def close(self) -> None:
        self.context.close()

    def _on_request(self, request: object) -> None:
        self._requests.add(request)
        if not (request.url.startswith(self._origin) or request.url.startswith("data:")):
            self.visit.offsite_requests.append(request.url)

    def _on_console(self, message: object) -> None:
        if message.type == "error":
            self.visit.console_errors.append(message.text)

    def _on_request_failed(self, request: object) -> None:
        if request not in self._requests:  # the page before's
            return
        if request.url not in self.visit.offsite_requests:  # already reported as off-site
            self.visit.failed_requests.append(f"{request.url} ({request.failure})")

    def _on_response(self, response: object) -> None:
        if response.request in self._requests and response.status >= 400:
            self.visit.failed_requests.append(f"{response.url} (HTTP {response.status})")
