"""Print the whole built book to one PDF with Chromium, offline.

``python3 run.py pdf`` (and ``python3 run.py book``, after the HTML) runs, with the course's
Python::

    python book/_ext/book_pdf.py _build/html _build/html/softmax-from-first-principles.pdf

The HTML build is served from 127.0.0.1 (so MathJax's fonts load as they do on the web) and its
home page is opened in Debian's Chromium through Playwright, which never downloads a browser.
The script then makes the home page the whole book: it appends the article of every page the
navigation lists, in its order, each starting on a new page; image sources are resolved, and
links between pages become links within the document. (Sphinx's ``singlehtml`` builder would do
the same, but it executes every chapter again and cannot write sphinx-design's dropdowns.)
The first page carries the book's title and a printed contents of every page, as the navigation
lists them; the PDF is tagged and its outline (the reader's bookmarks) follows the headings: each
page's title, then its sections. Chromium names a bookmark after the glyphs it painted, which
loses the space where a heading wraps, repeats a heading that starts a page and drops its maths;
the bookmarks are renamed, with pikepdf, after the headings' text.
Before printing it waits for MathJax, opens every collapsed proof and answer (it dispatches the
``beforeprint`` event that ``print_expand.js`` and sphinx-togglebutton listen to), and scales
down any display equation still wider than the printed column, so nothing is cut at the margin.
``print.css`` wraps code and keeps figures and equations whole on a page.
"""

from __future__ import annotations

import argparse
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
PAGE_TIMEOUT_MS = 180_000
# A4 with 18 mm margins; the page number goes in the footer. Chromium lays the printed page
# out at the width between the margins: 174 mm, 658 CSS pixels at 96 per inch.
PRINTED_WIDTH_PX = round((210 - 2 * 18) / 25.4 * 96)
PDF_OPTIONS = {
    "format": "A4",
    "print_background": True,
    "margin": {"top": "18mm", "bottom": "20mm", "left": "18mm", "right": "18mm"},
    "display_header_footer": True,
    # A tagged PDF, whose headings Chromium turns into the outline: bookmarks for every chapter
    # and section, which a PDF reader shows as a navigable table of contents.
    "tagged": True,
    "outline": True,
    "header_template": "<span></span>",
    "footer_template": (
        '<div style="font-size: 8px; width: 100%; text-align: center; color: #555;">'
        '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
    ),
}

# Append every page the navigation lists to the home page's article, in reading order.
ASSEMBLE_BOOK = """async () => {
  const article = document.querySelector('article.bd-article');
  const home = new URL(window.location.href);
  const pages = [];
  document.querySelectorAll('nav.bd-docs-nav a.reference.internal').forEach(a => {
    const url = new URL(a.getAttribute('href'), home);
    url.hash = '';
    if (url.href !== home.href && !pages.includes(url.href)) { pages.push(url.href); }
  });
  const anchorOf = url => 'page-' + new URL(url).pathname.replace(/[^A-Za-z0-9]+/g, '-');
  const ownPages = new Set([home.href, ...pages]);
  const pointInside = (element, attribute, base) => {
    const target = new URL(element.getAttribute(attribute), base);
    const hash = target.hash; target.hash = '';
    if (ownPages.has(target.href)) {
      element.setAttribute(attribute, hash || '#' + anchorOf(target.href));
    }
  };
  for (const page of pages) {
    const html = await (await fetch(page)).text();
    const parsed = new DOMParser().parseFromString(html, 'text/html');
    const content = parsed.querySelector('article.bd-article');
    if (!content) { continue; }
    content.querySelectorAll('[src]').forEach(el =>
      el.setAttribute('src', new URL(el.getAttribute('src'), page).href));
    content.querySelectorAll('a[href]').forEach(a => {
      if (!a.getAttribute('href').startsWith('#')) { pointInside(a, 'href', page); }
    });
    const part = document.createElement('section');
    part.className = 'book-pdf-page';
    part.id = anchorOf(page);
    part.style.breakBefore = 'page';
    part.append(...Array.from(content.childNodes).map(node => document.importNode(node, true)));
    article.appendChild(part);
  }
  article.querySelectorAll('a[href]').forEach(a => {
    if (!a.getAttribute('href').startsWith('#')) { pointInside(a, 'href', home.href); }
  });
  // The theme prints the home page's title and a "Contents" of the home page's own sections.
  // For the whole book the title is the book's, and the printed contents lists its pages as the
  // navigation does (chapters with their exercises, guides, reference), linked within the PDF;
  // the outline gives the same in a reader, but paper has no bookmarks.
  const bookTitle = document.querySelector('.logo__title').textContent.trim();
  document.title = bookTitle;
  const printTitle = document.querySelector('#jb-print-docs-body h1');
  if (printTitle) { printTitle.textContent = bookTitle; }
  const listOf = entries => {
    const list = document.createElement('ul');
    entries.querySelectorAll(':scope > li').forEach(entry => {
      const source = entry.querySelector(':scope > a');
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.textContent = source.textContent.trim();
      link.setAttribute('href', source.getAttribute('href'));
      pointInside(link, 'href', home.href);
      item.appendChild(link);
      const children = entry.querySelector(':scope > details > ul, :scope > ul');
      if (children) { item.appendChild(listOf(children)); }
      list.appendChild(item);
    });
    return list;
  };
  // The contents have the first page(s) to themselves; the introduction follows under its own
  // title, which the theme hides in print as it does every page's first (print.css shows the
  // appended pages' titles).
  const front = document.getElementById('jb-print-docs-body');
  if (front) { front.style.breakAfter = 'page'; }
  const introduction = article.querySelector('h1');
  if (introduction) { introduction.style.display = 'block'; }
  const contents = document.querySelector('#jb-print-toc nav');
  if (contents) {
    contents.replaceChildren();
    document.querySelectorAll(
      'nav.bd-docs-nav p.caption, nav.bd-docs-nav ul.bd-sidenav:not(.bd-sidenav__home-link)'
    ).forEach(node => {
      if (node.matches('p.caption')) {
        const caption = document.createElement('p');
        caption.className = 'book-pdf-contents-caption';
        caption.textContent = node.textContent.trim();
        contents.appendChild(caption);
      } else {
        const list = listOf(node);
        list.className = 'section-nav';
        contents.appendChild(list);
      }
    });
  }
  await window.MathJax.typesetPromise([article]);
  return pages.length;
}"""

PREPARE_FOR_PRINT = """async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; }
  document.querySelectorAll('img').forEach(img => { img.loading = 'eager'; });
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
    new Promise(done => { img.onload = done; img.onerror = done; })));
  window.dispatchEvent(new Event('beforeprint'));
  await document.fonts.ready;
}"""

# In the print layout: shrink each display equation that is wider than its box to fit.
FIT_WIDE_EQUATIONS = """() => {
  let scaled = 0;
  document.querySelectorAll("div.math mjx-container[display='true']").forEach(box => {
    const available = box.clientWidth, needed = box.scrollWidth;
    if (needed > available + 1) {
      box.style.fontSize = `${Math.floor(100 * available / needed)}%`;
      scaled += 1;
    }
  });
  return scaled;
}"""


# The text of every heading the printed page shows, in order: Chromium's outline has one bookmark
# for each. Maths is read from MathJax's assistive MathML (a square root keeps its sign). With each
# title comes the text before its first maths, which Chromium's bookmark starts with.
HEADING_TITLES = r"""() => {
  const mathText = node => {
    if (node.nodeType === Node.TEXT_NODE) { return node.textContent; }
    const inner = Array.from(node.childNodes).map(mathText).join('');
    if (node.localName !== 'msqrt') { return inner; }
    return '\u221a' + (inner.length > 1 ? `(${inner})` : inner);
  };
  return Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6'))
    .filter(heading => heading.getClientRects().length > 0)
    .map(heading => {
      const copy = heading.cloneNode(true);
      copy.querySelectorAll('.headerlink').forEach(link => link.remove());
      const before = copy.cloneNode(true);
      const firstMaths = before.querySelector('mjx-container');
      if (firstMaths) {
        const range = document.createRange();
        range.setStartBefore(firstMaths);
        range.setEndAfter(before.lastChild);
        range.deleteContents();
      }
      copy.querySelectorAll('mjx-container').forEach(maths => {
        const mathml = maths.querySelector('mjx-assistive-mml math');
        maths.replaceWith(mathml ? mathText(mathml) : '');
      });
      return [copy.textContent.replace(/\s+/g, ' ').trim(), before.textContent];
    });
}"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def find_chromium() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    sys.exit("book_pdf: Chromium is missing; install Debian's package: apt-get install chromium")


# A heading that wraps has a first line longer than this (spaces aside): Chromium can repeat a
# line in a bookmark, but not inside the first one.
BOOKMARK_CHECKED_CHARACTERS = 16


def _squeezed(text: str) -> str:
    return "".join(text.split())


def name_bookmarks(pdf: Path, headings: list[tuple[str, str]]) -> None:
    """Give the PDF's bookmarks, in outline order, the titles of the printed ``headings``.

    ``headings`` holds (title, text before its first maths). Each bookmark must start with the
    first characters of that text (spaces aside; a repeated line can follow the heading's first),
    or the outline and the headings do not correspond and the PDF is left as Chromium wrote it,
    with an error.
    """
    import pikepdf

    # qpdf (through pikepdf) reads the 17 MB book and writes it again in under a second, where
    # pypdf's incremental update took 11 s, reading every one of its objects first.
    with pikepdf.open(pdf) as document:
        bookmarks, pending = [], []
        outline = document.Root.get("/Outlines")
        if outline is not None:
            pending.append(outline.get("/First"))
        while pending:
            bookmark = pending.pop()
            if bookmark is None:
                continue
            bookmarks.append(bookmark)
            # depth first, as the outline reads: the next sibling after the children
            pending.extend([bookmark.get("/Next"), bookmark.get("/First")])
        if len(bookmarks) != len(headings):
            sys.exit(f"book_pdf: {len(bookmarks)} bookmarks for {len(headings)} printed headings")
        for bookmark, (title, before_maths) in zip(bookmarks, headings, strict=True):
            painted = _squeezed(str(bookmark.get("/Title", "")))
            if not painted.startswith(_squeezed(before_maths)[:BOOKMARK_CHECKED_CHARACTERS]):
                sys.exit(f"book_pdf: the bookmark {painted!r} is not the heading {title!r}")
            bookmark.Title = pikepdf.String(title)
        renamed = pdf.with_suffix(".renamed.pdf")
        document.save(renamed)
    renamed.replace(pdf)


def print_book(site: Path, output: Path) -> tuple[int, int]:
    """Print the book built in ``site`` to ``output``.

    Returns the number of pages appended to the home page and of equations scaled down.
    """
    from playwright.sync_api import sync_playwright

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=find_chromium(), args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                page = browser.new_page()
                page.set_default_timeout(PAGE_TIMEOUT_MS)
                origin = f"http://127.0.0.1:{server.server_address[1]}/"
                # The book makes no request to another host; refuse any, so printing is offline.
                page.route(
                    "**/*",
                    lambda route: route.continue_()
                    if route.request.url.startswith((origin, "data:"))
                    else route.abort(),
                )
                page.goto(f"{origin}book/intro.html", wait_until="load")
                page.evaluate(PREPARE_FOR_PRINT)
                # The print layout before the 400 pages arrive: laid out at the screen's width
                # first, the whole book then took some 10 s more to be laid out again.
                page.emulate_media(media="print", color_scheme="light")
                page.set_viewport_size({"width": PRINTED_WIDTH_PX, "height": 900})
                appended = page.evaluate(ASSEMBLE_BOOK)
                page.evaluate(PREPARE_FOR_PRINT)
                scaled = page.evaluate(FIT_WIDE_EQUATIONS)
                headings = page.evaluate(HEADING_TITLES)
                output.parent.mkdir(parents=True, exist_ok=True)
                page.pdf(path=str(output), **PDF_OPTIONS)
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    name_bookmarks(output, headings)
    return appended, scaled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the HTML build (holds book/intro.html)")
    parser.add_argument("output", type=Path, help="the PDF to write")
    arguments = parser.parse_args()
    if not (arguments.site / "book" / "intro.html").is_file():
        sys.exit(f"book_pdf: no book/intro.html in {arguments.site}; build the book first")
    appended, scaled = print_book(arguments.site, arguments.output)
    size = arguments.output.stat().st_size / 1e6
    print(
        f"book_pdf: wrote {arguments.output} ({size:.1f} MB): the home page and {appended} "
        f"more pages; {scaled} wide equations scaled to the printed column"
    )


if __name__ == "__main__":
    main()
