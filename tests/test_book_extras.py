"""What the build adds around the pages: favicon, meta descriptions, downloads, the PDF.

These read the built book (``_build/html``, or ``SOFTMAX_COURSE_HTML``) without a browser.
The PDF is made by ``python3 run.py pdf`` (``book_pdf.py`` prints the single-page HTML with
Chromium); its tests skip when it has not been built, and say so.
"""

from __future__ import annotations

import json
import re
import unicodedata
from html import unescape
from pathlib import Path

import pytest

PDF_NAME = "softmax-from-first-principles.pdf"
DESCRIPTION = re.compile(r'<meta name="description" content="([^"]*)"')
# Maths that MathJax did not typeset before printing: TeX between \( \), \[ \] or $$ that holds
# a letter, an operator or a command, or a lone $ straight before a TeX command ("$\frac").
# (The guides print "\(1\)" in a shell path and "$$ ... $$" as syntax; printed code holds
# matplotlib labels, r"$\log S$" or r"uniform: $\log 16$", whose maths a quote closes.)
RAW_TEX = re.compile(
    r"\\\([^()]*?[A-Za-z=^_+\\][^()]*?\\\)|\\\[.*?\\\]|\$\$[^$]*[=^_\\][^$]*\$\$"
    r"|(?<!\$)\$\\[A-Za-z]{2,}(?![^$\n]*\$[\"'])",
    re.S,
)
# A collapsed proof or answer in a chapter page: its summary, then its body.
DROPDOWN = re.compile(
    r'<details class="[^"]*sd-dropdown[^"]*">\s*<summary[^>]*>\s*<span class="sd-summary-text">'
    r"([^<]*)</span>.*?</summary>(.*?)</details>",
    re.S,
)
MATHS = re.compile(r'<(span|div) class="math[^"]*">.*?</\1>', re.S)


def chapter_pages(built_html: Path) -> list[Path]:
    return sorted(built_html.glob("book/0*.html"))


def plain(text: str) -> str:
    """``text`` with single spaces, its characters in NFKC form."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def letters_and_digits(text: str) -> str:
    """Only the ASCII letters and digits of ``text``: a PDF's text layer spaces inline code
    apart, and marks a word broken at a line end with U+FFFE where the page had a hyphen."""
    return re.sub(r"[^0-9A-Za-z]+", "", unicodedata.normalize("NFKC", text))


def dropdown_phrases(page: Path) -> list[tuple[str, str]]:
    """(summary, phrase) for every collapsed proof or answer: up to eight words of the longest
    run of plain text in its body (no maths, whose glyphs do not read back as TeX, no list
    number, no markup), which only an opened dropdown prints."""
    phrases = []
    for summary, body in DROPDOWN.findall(page.read_text(encoding="utf-8")):
        runs = re.split(r"<[^>]+>", MATHS.sub("<maths/>", body))
        words = max((plain(unescape(run)).split() for run in runs), key=len)
        if len(words) >= 4:
            phrases.append((summary.strip(), " ".join(words[:8])))
    return phrases


def test_every_page_names_the_favicon_and_it_is_shipped(built_html: Path) -> None:
    pages = [built_html / "book" / "intro.html", *chapter_pages(built_html)]
    for page in pages:
        html = page.read_text(encoding="utf-8")
        match = re.search(r'<link rel="icon" href="([^"]+)"', html)
        assert match, f"{page.name}: no <link rel='icon'>; browsers then ask for /favicon.ico"
        assert (page.parent / match.group(1)).resolve().is_file(), f"{match.group(1)} missing"


def test_every_page_has_its_own_meta_description(built_html: Path) -> None:
    descriptions = {}
    for page in chapter_pages(built_html):
        match = DESCRIPTION.search(page.read_text(encoding="utf-8"))
        assert match, f"{page.name}: no meta description"
        text = match.group(1)
        assert 40 <= len(text) <= 160, f"{page.name}: description of {len(text)} characters"
        assert "\\" not in text and "$" not in text, f"{page.name}: maths in {text!r}"
        descriptions[page.name] = text
    assert len(set(descriptions.values())) == len(descriptions), "chapters share a description"


def test_footer_names_the_authors_readably(built_html: Path) -> None:
    html = (built_html / "book" / "01_definition.html").read_text(encoding="utf-8")
    footer = html[html.index('<footer class="bd-footer-content">') :]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", footer))
    assert "By the course" in text and "By The" not in text, text[:300]


def test_no_proof_index_of_raw_labels(built_html: Path) -> None:
    # sphinx-proof's domain index listed labels such as "thm-attention-convex", linked from
    # nowhere; the proofs are reached from their chapters and the general index instead.
    assert not (built_html / "prf-prf.html").exists()


def test_downloaded_chapters_are_the_executed_notebooks(built_html: Path) -> None:
    chapters = sorted((built_html / "_sources" / "book").glob("0*.ipynb"))
    assert len(chapters) >= 8
    for path in chapters:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        outputs = [out for cell in notebook["cells"] for out in cell.get("outputs", [])]
        assert outputs, f"{path.name}: the download has no outputs"
    figures = [
        out
        for path in chapters
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]
    assert figures, "no downloaded chapter carries its figures"


@pytest.fixture(scope="module")
def book_pdf(built_html: Path) -> Path:
    path = built_html / PDF_NAME
    if not path.is_file():
        pytest.skip(f"{path} is not built: python3 run.py pdf makes it")
    return path


def test_the_home_page_links_the_pdf(built_html: Path) -> None:
    html = (built_html / "book" / "intro.html").read_text(encoding="utf-8")
    assert f'href="../{PDF_NAME}"' in html or f'href="{PDF_NAME}"' in html


def test_pdf_has_every_chapter_rendered_maths_and_figures(built_html: Path, book_pdf: Path) -> None:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(book_pdf)
    try:
        pages = len(document)
        assert 80 <= pages <= 600, f"{pages} pages"
        texts, images = [], 0
        for page in document:
            texts.append(page.get_textpage().get_text_range())
            # max_depth: Chromium may nest an image inside a form object
            images += sum(
                1 for _ in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE], max_depth=15)
            )
    finally:
        document.close()
    text = "\n".join(texts)
    for chapter in range(1, 10):
        assert re.search(rf"\b{chapter}\.\s*[A-Z]", text), f"chapter {chapter} missing"
    raw = sorted({match.group(0) for match in RAW_TEX.finditer(text)})
    assert raw == [], f"TeX left untypeset in the PDF: {raw}"
    assert images >= 15, f"only {images} images in the PDF"
    # Collapsed proofs and answers are printed open: words from inside each one are on paper.
    printed = letters_and_digits(text)
    dropdowns = [
        (page.name, summary, phrase)
        for page in chapter_pages(built_html)
        for summary, phrase in dropdown_phrases(page)
    ]
    assert sum(summary.startswith("Proof") for _, summary, _ in dropdowns) >= 10, dropdowns
    closed = [entry for entry in dropdowns if letters_and_digits(entry[2]) not in printed]
    assert closed == [], f"dropdowns printed closed (or cut): {closed}"


def test_pdf_outline_lists_every_chapter_and_its_sections(built_html: Path, book_pdf: Path) -> None:
    import pypdfium2 as pdfium

    titles = [
        plain(unescape(re.search(r"<title>(.*?) &#8212;", page.read_text("utf-8"))[1]))
        for page in chapter_pages(built_html)
    ]
    assert len(titles) == 9, titles
    document = pdfium.PdfDocument(book_pdf)
    try:
        outline = [(mark.level, plain(mark.get_title() or "")) for mark in document.get_toc()]
    finally:
        document.close()
    for title in titles:
        at = [index for index, (_, name) in enumerate(outline) if name == title]
        assert at, f"no bookmark for {title!r} in the PDF outline: {outline[:40]}"
        level = outline[at[0]][0]
        following = outline[at[0] + 1 : at[0] + 2]
        assert following and following[0][0] == level + 1, f"{title!r} has no section bookmarks"


def test_each_cell_shows_its_printed_output_in_one_box(built_html: Path) -> None:
    # nb_merge_streams: a cell that prints several times (or to stdout and stderr in turn)
    # shows one box, not one per write; and no cell shows an empty box.
    split, empty = [], []
    for page in chapter_pages(built_html):
        html = page.read_text(encoding="utf-8")
        for index, cell in enumerate(html.split('<div class="cell docutils container"')[1:]):
            output = cell.split('<div class="cell_output docutils container">')
            if len(output) < 2:
                continue
            if len(re.findall(r'class="output stream', output[1])) > 1:
                split.append(f"{page.name} cell {index}")
            if re.search(r"<pre>(<span></span>)?\s*</pre>", output[1]):
                empty.append(f"{page.name} cell {index}")
    assert split == [], f"printed output split over several boxes: {split}"
    assert empty == [], f"empty output boxes: {empty}"


def test_proofs_follow_one_convention_collapsed(built_html: Path) -> None:
    # Every chapter collapses its proofs (a dropdown titled "Proof"), so a reader can follow
    # the argument without them; print and the PDF open them all (print_expand.js).
    always_open = {}
    for page in chapter_pages(built_html):
        count = page.read_text(encoding="utf-8").count('<div class="proof admonition"')
        if count:
            always_open[page.name] = count
    assert always_open == {}, f"proofs shown open instead of collapsed: {always_open}"


def test_every_chapter_figure_is_sent_at_twice_its_shown_width(built_html: Path) -> None:
    # A retina PNG carries its nominal size, which myst-nb writes as the image's CSS width; a
    # figure sent at 1x has none and is shown at its pixel width, blurry on phones and HiDPI.
    import struct

    blurry = []
    for page in chapter_pages(built_html):
        html = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<img [^>]*>", html):
            source = re.search(r'src="(\.\./_images/[^"]+\.png)"', tag)
            if not source:
                continue
            png = (page.parent / source.group(1)).read_bytes()
            pixel_width = struct.unpack(">I", png[16:20])[0]  # the PNG's IHDR chunk
            shown = re.search(r'style="width: (\d+)px', tag)
            if not shown or pixel_width < 2 * int(shown.group(1)) - 1:
                blurry.append(f"{page.name}: {source.group(1)} ({pixel_width} px wide)")
    assert blurry == [], f"figures below 2x resolution: {blurry}"
