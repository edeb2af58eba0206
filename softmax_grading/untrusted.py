"""Rules for text a student controls (ids, file names, answers) leaving the grading pipeline.

A student chooses their LMS name part (the student id), their uploaded file
names and every character of their notebook. That text becomes folder names,
spreadsheet cells and terminal lines on the instructor's side; each use goes
through one rule here.
"""

from __future__ import annotations

import re
from pathlib import Path

# A student id becomes one folder name: letters, digits and a few marks an LMS puts in
# names, never a path separator, a control character or a leading dot ('.', '..', hidden).
STUDENT_ID = re.compile(r"[\w=+@,'-][\w.=+@,'-]{0,99}")
# A spreadsheet reads a cell starting with one of these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_student_id(text: str) -> bool:
    # At most 100 characters, and at most 100 bytes: it names folders, and a file system allows
    # 255 bytes a name (100 letters of a non-Latin script would be 200 to 400).
    return STUDENT_ID.fullmatch(text) is not None and len(text.encode("utf-8")) <= 100


def inside(folder: Path, path: Path) -> bool:
    """Whether `path`, resolved, stays inside `folder` (resolved)."""
    return path.resolve().is_relative_to(folder.resolve())


def printable(text: object) -> str:
    """The text with every non-printable character escaped (\\x1b, \\n, ...): safe for a
    terminal or a report line."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in str(text))


def spreadsheet_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a formula start gets a leading apostrophe.
    Numbers (and text that reads as a number, such as '-0.5') are kept as they are."""
    if isinstance(value, (int, float)) or not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def spreadsheet_row(row: dict | list) -> dict | list:
    if isinstance(row, dict):
        return {key: spreadsheet_cell(value) for key, value in row.items()}
    return [spreadsheet_cell(value) for value in row]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text
