"""Find solution code and hidden tests where students can see them.

The instructor notebooks in ``solutions/`` mark what students must never see:
the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, the lines
between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``, and the
mark schemes of written answers. These helpers collect those lines and scan a
text (a released notebook, a feedback page, a built web page) for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


_REGIONS = (
    ("BEGIN SOLUTION", "END SOLUTION"),
    ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
    ("BEGIN MARK SCHEME", "END MARK SCHEME"),
)


def _split(source: str) -> tuple[list[str], list[str]]:
    """(lines inside secret regions, lines outside them) of one cell's source."""
    inside: list[str] = []
    outside: list[str] = []
    end = None
    for line in source.splitlines():
        if end is None:
            begins = [e for b, e in _REGIONS if b in line]
            if begins:
                end = begins[0]
            else:
                outside.append(line)
        elif end in line:
            end = None
        else:
            inside.append(line)
    return inside, outside


def _partition(notebook_path: Path) -> tuple[list[str], list[str]]:
    """(secret lines, public lines) of a source notebook, as written.

    Secret is every line inside a solution, hidden-test or mark-scheme region,
    and the whole of a solution cell without solution markers (nbgrader then
    replaces the entire cell: a written answer, or a code cell answered whole).
    Public is every other line: what the release shows.
    """
    notebook = nbformat.read(notebook_path, as_version=4)
    secret: list[str] = []
    public: list[str] = []
    for cell in notebook.cells:
        grading = cell.metadata.get("nbgrader", {})
        has_markers = "BEGIN SOLUTION" in cell.source or "BEGIN HIDDEN TESTS" in cell.source
        if grading.get("solution") and not has_markers:
            secret.extend(cell.source.splitlines())
            continue
        inside, outside = _split(cell.source)
        secret.extend(inside)
        public.extend(outside)
    return secret, public


def secret_source_lines(notebook_path: Path) -> list[str]:
    """The lines of a source notebook that students must never see, as written."""
    return _partition(notebook_path)[0]


def secret_lines(notebook_path: Path) -> set[str]:
    """The distinctive secret lines of a source notebook, stripped, for scanning.

    This is the one definition of what is secret. Lines too short or too common
    to identify an answer are left out, and so is any line the release also
    shows (a visible test's hint that a hidden test repeats is not a secret).
    """
    secret, public = _partition(notebook_path)
    visible = "\n".join(_normalise(line) for line in public)
    # A line that is part of a visible line (a hint both halves share) is not a secret either.
    return {stripped for stripped in map(_normalise, secret)
            if len(stripped) >= _MIN_SECRET_LENGTH and not _COMMON_LINE.match(stripped)
            and stripped not in visible}


def _normalise(line: str) -> str:
    return line.strip().lstrip("#").strip()


def all_secret_lines(solutions_root: Path) -> set[str]:
    """Secret lines of every instructor notebook under ``solutions/<assignment>/``.

    A hidden test's line that another assignment's release shows (a visible test building
    the same input, say) reveals nothing, so it is not a secret of the course either.
    """
    notebooks = sorted(solutions_root.glob("*/*.ipynb"))
    visible = "\n".join(_normalise(line) for path in notebooks for line in _partition(path)[1])
    return {line for path in notebooks for line in secret_lines(path) if line not in visible}


def find_leaks(
    path: Path, text: str, secrets: Iterable[str], *, allowed: Iterable[str] = (),
    names: Iterable[str] = GRADER_ONLY_NAMES,
) -> list[Leak]:
    """Markers, grader-only names and secret lines that occur in `text`.

    `allowed` lists lines the reader legitimately has (for feedback: every line
    of the student's own submission and of the release); a line of `text` that
    is one of them is not a leak, whatever it contains, so a student's comment
    that says "BEGIN SOLUTION" or a pasted copy of a visible test is not one.
    `names` are words that must not appear at all (what only the grader has).
    """
    allowed_set = {_normalise(line) for line in allowed}
    flagged = (*MARKERS, *names)
    secrets = sorted(set(secrets) - allowed_set)
    found: dict[str, Leak] = {}
    for line in text.splitlines():
        if _normalise(line) in allowed_set:
            continue
        for secret in (*flagged, *secrets):
            if secret in line and secret not in found:
                found[secret] = Leak(str(path), secret)
    return list(found.values())


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
        cells = nbformat.read(notebook_path, as_version=4).cells
        # nbformat only logs a file that breaks its schema: a "source" may be any JSON value
        return {_normalise(line) for cell in cells if isinstance(cell.get("source"), str)
                for line in cell.source.splitlines()}
    except Exception:  # a broken submission: there is nothing the student wrote to allow
        return set()
