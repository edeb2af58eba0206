"""The tab the browser tests load pages in: each visit's problems are its own.

A tab goes from page to page (``load_page`` visits the whole book in one), so a request the page
before left unfinished fails when the tab moves on. That failure must not be blamed on the next
page, while the next page's own problems must all still be seen. ``fresh_page`` reuses tabs
between tests, so what a test leaves in the tab must be gone for the next.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from page_visit import QuietHandler, Tab

pytestmark = pytest.mark.browser

# Each page names its icon, as the book's pages do: otherwise the browser asks for /favicon.ico,
# and its 404 is a console error.
ICON = "<link rel='icon' href='data:,'>"
PAGES = {
    "quiet.html": f"<!doctype html><title>quiet</title>{ICON}<p>Nothing goes wrong here.</p>",
    "broken.html": (
        f"<!doctype html><title>broken</title>{ICON}"
        "<img src='missing.png' alt='missing'>"
        "<img src='http://example.invalid/elsewhere.png' alt='elsewhere'>"
        "<script>console.error('a script failed');</script>"
    ),
}
# The server answers this path only once the test releases it: a request that is surely still
# under way when the tab moves on.
HELD = "/held"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, threading.Event]]:
    for name, text in PAGES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    release = threading.Event()

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if self.path == HELD:
                release.wait(30)
                self.send_error(503)  # to nobody: the tab has gone on
                return
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", release
    finally:
        release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def tab(browser: object) -> Iterator[Tab]:
    opened = Tab(browser)
    try:
        yield opened
    finally:
        opened.close()


def test_regression_a_request_left_unfinished_is_not_blamed_on_the_next_page(tab, site) -> None:
    base, release = site
    first = tab.open(f"{base}quiet.html")
    with tab.page.expect_request(f"**{HELD}"):
        tab.page.evaluate(f"() => {{ fetch('{HELD}').catch(() => null); }}")
    second = tab.open(f"{base}quiet.html")
    release.set()
    assert first.problems() == [] and second.problems() == []


def test_a_page_visited_after_others_still_shows_its_own_problems(tab, site) -> None:
    base, _ = site
    tab.open(f"{base}quiet.html")
    visit = tab.open(f"{base}broken.html")
    assert "a script failed" in visit.console_errors
    assert [line for line in visit.failed_requests if "missing.png" in line], visit.problems()
    # Chromium may ask again for an image it could not get (the eager reload of WAIT_FOR_IMAGES).
    assert set(visit.offsite_requests) == {"http://example.invalid/elsewhere.png"}


def test_forget_leaves_no_storage_or_emulated_media_for_the_next_test(tab, site) -> None:
    base, _ = site
    tab.open(f"{base}quiet.html")
    tab.page.evaluate("() => { localStorage.setItem('mode', 'dark'); "
                      "sessionStorage.setItem('step', '3'); document.cookie = 'seen=1'; }")
    tab.page.emulate_media(media="print")
    assert tab.forget()
    tab.open(f"{base}quiet.html")
    state = tab.page.evaluate("() => [localStorage.length, sessionStorage.length, "
                              "document.cookie, matchMedia('print').matches]")
    assert state == [0, 0, "", False]


def test_a_tab_that_left_the_server_is_not_reused(tab, site) -> None:
    base, _ = site
    tab.open(f"{base}quiet.html")
    tab.page.goto("about:blank")
    assert not tab.forget()
