"""Find solution code and hidden tests where students can see them.

The instructor notebooks in ``solutions/`` mark what students must never see:
the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, the lines
between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``, and the
mark schemes of written answers. These helpers collect those lines and scan a
text (a released notebook, a feedback page, a built web page) for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat

MARKERS = (
    "BEGIN SOLUTION",
    "END SOLUTION",
    "BEGIN HIDDEN TESTS",
    "END HIDDEN TESTS",
    "BEGIN MARK SCHEME",
    "END MARK SCHEME",
)
GRADER_ONLY_NAMES = ("softmax_grading",)

# A line this short, or one of these shapes, is too common to be evidence of a
# leak (`return out`, `else:`, an import the student writes too).
_MIN_SECRET_LENGTH = 25
_COMMON_LINE = re.compile(
    r"^(import |from \S+ import |return\b|pass$|else:|try:|except\b|[\)\]\}]+$)"
)


@dataclass(frozen=True)
class Leak:
    """A secret line found in a file."""

    path: str
    secret: str

    def __str__(self) -> str:
        return f"{self.path}: contains {self.secret!r}"


def _regions(source: str, begin: str, end: str) -> Iterator[str]:
    inside = False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            yield line


def secret_source_lines(notebook_path: Path) -> list[str]:
    """The lines of a source notebook that students must never see, as written.

    That is every line inside a solution, hidden-test or mark-scheme region,
    and the whole of a solution cell without solution markers (nbgrader then
    replaces the entire cell: a written answer, or a code cell answered whole).
    """
    notebook = nbformat.read(notebook_path, as_version=4)
    lines: list[str] = []
    for cell in notebook.cells:
        grading = cell.metadata.get("nbgrader", {})
        has_markers = "BEGIN SOLUTION" in cell.source or "BEGIN HIDDEN TESTS" in cell.source
        if grading.get("solution") and not has_markers:
            lines.extend(cell.source.splitlines())
            continue
        for begin, end in (
            ("BEGIN SOLUTION", "END SOLUTION"),
            ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
            ("BEGIN MARK SCHEME", "END MARK SCHEME"),
        ):
            lines.extend(_regions(cell.source, begin, end))
    return lines


def secret_lines(notebook_path: Path) -> set[str]:
    """The distinctive secret lines of a source notebook, stripped, for scanning.

    Lines too short or too common to identify an answer are left out.
    """
    secrets = set()
    for line in secret_source_lines(notebook_path):
        stripped = line.strip().lstrip("#").strip()
        if len(stripped) >= _MIN_SECRET_LENGTH and not _COMMON_LINE.match(stripped):
            secrets.add(stripped)
    return secrets


def all_secret_lines(solutions_root: Path) -> set[str]:
    """Secret lines of every instructor notebook under ``solutions/<assignment>/``."""
    secrets: set[str] = set()
    for notebook_path in sorted(solutions_root.glob("*/*.ipynb")):
        secrets |= secret_lines(notebook_path)
    return secrets


def find_leaks(
    path: Path, text: str, secrets: Iterable[str], *, allowed: Iterable[str] = ()
) -> list[Leak]:
    """Markers, grader-only names and secret lines that occur in `text`.

    `allowed` lists lines the reader legitimately has (for feedback: the
    student's own submission, which may coincide with the solution).
    """
    allowed_set = set(allowed)
    found = [Leak(str(path), marker) for marker in (*MARKERS, *GRADER_ONLY_NAMES) if marker in text]
    found += [Leak(str(path), s) for s in sorted(secrets) if s not in allowed_set and s in text]
    return found


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML page, including code blocks, without markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "style":
            self._skip_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "style" and self._skip_depth:
            self._skip_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(page: str) -> str:
    """The text of an HTML page, so syntax-highlighted code reads as it was written."""
    extractor = _TextExtractor()
    extractor.feed(page)
    extractor.close()
    return "".join(extractor.parts)


def readable_text(path: Path) -> str:
    """A file's text as a reader sees it: HTML without markup, anything else as is."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    return html_to_text(raw) if path.suffix in {".html", ".htm"} else raw


def lines_written_in(notebook_path: Path) -> set[str]:
    """Every line of a submitted notebook (a student's own code may equal the solution's).

    An unreadable file has no lines.
    """
    try:
        notebook = nbformat.read(notebook_path, as_version=4)
    except Exception:  # a broken submission: there is nothing the student wrote to allow
        return set()
    return {
        line.strip().lstrip("#").strip()
        for cell in notebook.cells
        for line in cell.source.splitlines()
    }
