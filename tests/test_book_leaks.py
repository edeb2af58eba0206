"""No built page and no downloadable file gives away solutions, hidden tests or grader code.

Everything under ``_build/html`` is scanned: the pages, ``_sources`` (the notebooks readers
download), ``_downloads``, the search index, the inventory, the printed book's text. A leak is
either

* one of the region markers (nbgrader's, and the course's mark scheme), or the name of the
  instructor-only package, or
* a line from inside a solution, hidden-test or mark-scheme region of ``solutions/*/*.ipynb``.

Two pages are written for the people who author and grade the exercises; they have to name the
markers and the grading package to explain them, so the marker scan lets those two pages (and
the search index and the printed book, which hold only what pages that are scanned themselves
say) mention them. The scan for solution and hidden-test code makes no exception.

The tests read the book as built; build it first with ``python3 run.py book``.
"""

from __future__ import annotations

import functools
import html
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import ahocorasick
import nbformat
import pytest

from softmax_grading.leaks import GRADER_ONLY_NAMES, MARKERS, secret_source_lines

REPO_ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO_ROOT / "solutions"
EXERCISES = REPO_ROOT / "exercises"

# nbgrader's region markers, the mark scheme's, and the instructor-only package's name.
FORBIDDEN_STRINGS = (*MARKERS, *GRADER_ONLY_NAMES)

# Pages that document nbgrader's markers and the grading package by name: their HTML and their
# downloadable source. Nothing else may mention them.
DOCUMENTATION_PAGES = ("book/authoring_guide", "book/instructor_guide")
MAY_NAME_GRADER_MATERIAL = frozenset(
    [f"{page}.html" for page in DOCUMENTATION_PAGES]
    + [f"_sources/{page}{suffix}" for page in DOCUMENTATION_PAGES for suffix in (".md", ".ipynb")]
    + ["searchindex.js"]
)
# The printed book (run.py pdf), the build's one PDF: the articles of all the pages, which are
# scanned themselves, put end to end; so it names the markers where the two pages above do.
PRINTED_BOOK_SUFFIX = ".pdf"

# Files that hold no text: images and fonts.
BINARY_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".woff", ".woff2", ".ttf", ".otf", ".eot"}
)
# A secret line shorter than this is too generic to mean anything when found ("x = x - m").
MIN_SECRET_LINE_CHARS = 25
# Lines that say nothing about the answer, however long.
TRIVIAL_LINE = re.compile(
    r"""^(
        (from\s+\S+\s+)?import\s.*   # imports
      | return | pass | \.\.\.       # bare keywords
      | [\[\](){}]+,?                # lone brackets
      | \#+                          # empty comments
    )$""",
    re.VERBOSE,
)
TAG = re.compile(r"<[^>]*>")
WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Collapse every run of whitespace to one space, so indentation never hides a match."""
    return WHITESPACE.sub(" ", text).strip()


def json_strings(value: object) -> Iterator[str]:
    """Every string inside a parsed JSON value (a notebook: sources, outputs, metadata)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            yield "".join(value)  # notebook sources are lists of lines
        else:
            for item in value:
                yield from json_strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_strings(item)


def readable_texts(path: Path) -> list[str]:
    """The file's text in every form a reader could see it: raw, tag-free, decoded."""
    if path.suffix == PRINTED_BOOK_SUFFIX:
        # The printed book: its page contents are compressed streams, so its bytes show nothing
        # (scanning them took 17 of this module's 22 s of CPU); its text is what readers see.
        return [pdf_text(path)]
    raw_bytes = path.read_bytes()
    if path.name == "objects.inv":
        # Sphinx's inventory: four header lines, then a zlib stream.
        header_end = 0
        for _ in range(4):
            header_end = raw_bytes.index(b"\n", header_end) + 1
        raw_bytes = raw_bytes[:header_end] + zlib.decompress(raw_bytes[header_end:])
    raw = raw_bytes.decode("utf-8", errors="replace")
    texts = [raw]
    if path.suffix in {".html", ".htm", ".svg", ".xml"}:
        # Highlighted code is split into <span>s; without the tags it reads as written.
        texts.append(html.unescape(TAG.sub("", raw)))
    if path.suffix in {".ipynb", ".json"}:
        try:
            texts.extend(json_strings(json.loads(raw)))
        except json.JSONDecodeError:
            pass
    return texts


def pdf_text(path: Path) -> str:
    """The text of every page of a PDF, as a reader's viewer extracts it."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def built_text_files(root: Path, skip=lambda path: False) -> Iterator[tuple[Path, list[str]]]:
    """Every non-binary file of the build with its readable texts, but those `skip` names."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() not in BINARY_SUFFIXES and not skip(path):
            yield path, readable_texts(path)


def may_name_grader_material(path: Path, root: Path) -> bool:
    """The guides that document the markers, and the files that hold only what pages say."""
    return (path.relative_to(root).as_posix() in MAY_NAME_GRADER_MATERIAL
            or path.suffix == PRINTED_BOOK_SUFFIX)


def public_text() -> str:
    """All the released exercise notebooks say, normalised: students already have this."""
    sources = [
        cell.source
        for notebook_path in sorted(EXERCISES.glob("*/*.ipynb"))
        for cell in nbformat.read(notebook_path, as_version=4).cells
    ]
    return normalise("\n".join(sources))


def secret_lines() -> dict[str, Path]:
    """Distinctive secret lines (normalised), each with the solution notebook it comes from.

    Dropped: lines too short or too generic to identify an answer; the region delimiters
    themselves (the marker scan covers them); and lines the released exercise notebooks show
    anyway, whole or inside a longer line (a visible test may repeat part of a hidden one).
    """
    already_public = public_text()
    secrets: dict[str, Path] = {}
    for notebook_path in sorted(SOLUTIONS.glob("*/*.ipynb")):
        for line in secret_source_lines(notebook_path):
            text = normalise(line)
            if (
                len(text) >= MIN_SECRET_LINE_CHARS
                and not TRIVIAL_LINE.match(text)
                and not any(marker in text for marker in MARKERS)
                and text not in already_public
            ):
                secrets.setdefault(text, notebook_path)
    return secrets


def test_build_has_no_solutions_or_grader_files(built_html: Path) -> None:
    """Nothing from solutions/ or the grading package reaches the build, not even a download."""
    root = built_html
    forbidden_names = {"solutions", "softmax_grading"}
    paths = [
        relative
        for relative in (path.relative_to(root) for path in root.rglob("*"))
        if forbidden_names & {part.split(".")[0] for part in relative.parts}
    ]
    assert paths == [], f"solution or grader files in the build: {paths[:20]}"


def test_build_has_no_nbgrader_markers_or_grader_package(built_html: Path) -> None:
    """No built file contains an nbgrader region marker or names the grader-only package."""
    root = built_html
    leaks = []
    # The exempt files are not even read: the printed book's text is most of the reading.
    exempt = functools.partial(may_name_grader_material, root=root)
    for path, texts in built_text_files(root, skip=exempt):
        for forbidden in FORBIDDEN_STRINGS:
            if any(forbidden in text for text in texts):
                leaks.append(f"{path.relative_to(root)}: {forbidden!r}")
    assert leaks == [], "grader-only material in the built book:\n" + "\n".join(leaks)


def test_build_has_no_solution_or_hidden_test_code(built_html: Path) -> None:
    """No line from a solution or hidden-test region appears anywhere in the build."""
    root = built_html
    secrets = secret_lines()
    assert secrets, "found no solution or hidden-test lines in solutions/*/*.ipynb to look for"
    # Every occurrence of any secret line, found in one pass over each text.
    automaton = ahocorasick.Automaton()
    for line in secrets:
        automaton.add_word(line, line)
    automaton.make_automaton()
    leaks = []
    for path, texts in built_text_files(root):
        found = {line for text in texts for _, line in automaton.iter(normalise(text))}
        leaks += [f"{path.relative_to(root)}: {line!r} "
                  f"(from {secrets[line].relative_to(REPO_ROOT)})" for line in sorted(found)]
    assert leaks == [], "solution or hidden-test code in the built book:\n" + "\n".join(leaks)


def test_regression_the_printed_book_is_read_as_text_not_as_compressed_bytes(
    built_html: Path,
) -> None:
    """The scan once read the PDF's bytes, where every page is a compressed stream: it could find
    nothing there. It reads the text a PDF viewer extracts, code included."""
    printed = sorted(built_html.glob(f"*{PRINTED_BOOK_SUFFIX}"))
    if not printed:
        pytest.skip("no printed book in the build (python3 run.py pdf makes it)")
    (book,) = printed
    assert "import numpy as np" not in book.read_bytes().decode("latin-1")
    (text,) = readable_texts(book)
    assert "import numpy as np" in text and "Softmax" in text


def test_secret_line_extraction_finds_regions_and_marker_free_solution_cells(
    tmp_path: Path,
) -> None:
    """The extractor reads both region kinds and whole marker-free solution cells."""
    notebook = nbformat.v4.new_notebook()
    solution_meta = {"nbgrader": {"solution": True, "grade": False, "locked": False}}
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "def f(x):\n    ### BEGIN SOLUTION\n    secret = x * 2\n    ### END SOLUTION\n"
        ),
        nbformat.v4.new_code_cell(
            "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS"
        ),
        nbformat.v4.new_markdown_cell("The answer is 42.", metadata=solution_meta),
        nbformat.v4.new_code_cell("visible = True"),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook, path)
    expected = ["    secret = x * 2", "assert f(2) == 4", "The answer is 42."]
    assert secret_source_lines(path) == expected


def test_html_text_is_read_without_highlighting_tags(tmp_path: Path) -> None:
    """A code line split into highlighted spans is still found in the page's text."""
    page = tmp_path / "page.html"
    page.write_text(
        '<pre><span class="n">shifted</span> <span class="o">=</span> '
        '<span class="n">z</span> <span class="o">-</span> <span class="n">np</span>'
        '<span class="o">.</span><span class="n">max</span>(<span class="n">z</span>)</pre>',
        encoding="utf-8",
    )
    assert any("shifted = z - np.max(z)" in normalise(t) for t in readable_texts(page))
