"""Which students' code is suspiciously alike, part by part (copydetect's winnowing, as in MOSS).

For every code answer cell of an assignment, each student's code is
fingerprinted with copydetect: tokenized (names and literals normalized, so
renaming variables changes nothing), cut into k-grams, hashed, and winnowed.
Fingerprints of the released skeleton (the code every student was given) are
discarded. Two students' overlap is the share of each one's fingerprinted code
that also appears in the other's; the pairs with the largest overlap come
first. Answers shorter than a k-gram have no fingerprints and never match.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

if TYPE_CHECKING:
    from copydetect import CodeFingerprint

from softmax_grading.layout import Course
from softmax_grading.untrusted import printable, spreadsheet_row

NOISE_TOKENS = 25  # copydetect's default: shorter matches are ignored
GUARANTEE_TOKENS = 30  # copydetect's default: longer matches are always found
WINDOW = GUARANTEE_TOKENS - NOISE_TOKENS + 1
LOCKED = object()  # the key of the release's locked grade ids in _release_answers
UNLABELLED = "unlabelled code"  # code cells that are neither the release's answers nor locked


@dataclass(frozen=True)
class Pair:
    part: str
    first: str
    second: str
    first_overlap: float  # share of the first student's code found in the second's
    second_overlap: float
    shared_tokens: int

    @property
    def overlap(self) -> float:
        return max(self.first_overlap, self.second_overlap)


def answer_cells(notebook_path: Path, release: dict | None = None) -> dict[str, str]:
    """grade id -> source of every code answer cell.

    With `release` (cell id -> grade id of the release's answer cells), a cell is also
    found by the id the release gave it: a student who deletes a cell's nbgrader metadata
    still runs that code when graded, so it cannot leave the comparison either. A cell
    found by neither is compared as the part ``unlabelled code``."""
    notebook = nbformat.read(notebook_path, as_version=4)
    answers: dict[str, list[str]] = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if not isinstance(cell.source, str):
            raise TypeError(f"a code cell's source is {type(cell.source).__name__}, not text")
        nbgrader = cell.metadata.get("nbgrader", {})
        if release is None:
            if nbgrader.get("solution"):
                answers.setdefault(nbgrader["grade_id"], []).append(cell.source)
            continue
        part = (nbgrader.get("grade_id") if nbgrader.get("grade_id") in answers_of(release)
                else release.get(cell.get("id")))
        if part is None and nbgrader.get("grade_id") not in release.get(LOCKED, ()):
            part = UNLABELLED  # grading restores the release's locked cells: not theirs
        if part is not None:
            answers.setdefault(part, []).append(cell.source)
    return {part: "\n\n".join(sources) for part, sources in answers.items()}


def answers_of(release: dict) -> set[str]:
    return {part for key, part in release.items() if key is not LOCKED}


def _release_answers(path: Path) -> dict[str, str]:
    """cell id -> grade id of the release's code answer cells; under LOCKED, the grade ids
    of its locked cells."""
    notebook = nbformat.read(path, as_version=4)
    found = {cell.get("id"): cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells
             if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")}
    found[LOCKED] = {cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells
                     if cell.metadata.get("nbgrader", {}).get("locked")}
    return found


def _fingerprint(name: str, code: str, boilerplate) -> CodeFingerprint:
    # Imported here: copydetect imports matplotlib.pyplot (0.4 s), which every other command of
    # python -m softmax_grading would pay for nothing.
    from copydetect import CodeFingerprint

    return CodeFingerprint(f"{name}.py", NOISE_TOKENS, WINDOW, boilerplate=boilerplate,
                           language="python", fp=io.StringIO(code))


def compare(course: Course, assignment: str, skipped: dict[str, str] | None = None
            ) -> list[Pair]:
    """Every pair of students with any overlap, in any code answer, largest overlap first.
    A student whose notebook cannot be read or fingerprinted is left out and named in
    `skipped` (student -> why); everyone else is compared."""
    from copydetect import compare_files  # see _fingerprint

    skipped = {} if skipped is None else skipped
    pairs = []
    for notebook in course.notebooks(assignment):
        release_path = course.release_notebook(assignment, notebook)
        release = _release_answers(release_path)
        skeleton = answer_cells(release_path, release)
        skeleton.setdefault(UNLABELLED, "")
        code: dict[str, dict[str, str]] = {}
        for student in course.students(assignment):
            path = course.submitted(student, assignment) / f"{notebook}.ipynb"
            try:
                code[student] = answer_cells(path, release)
            except Exception as error:  # one bad submission never stops the class
                skipped[student] = f"{notebook}.ipynb not compared: {error}"
        for part, given in skeleton.items():
            boilerplate = list(_fingerprint("skeleton", given, None).hashes)
            prints = {}
            for student, cells in sorted(code.items()):
                if part not in cells:
                    continue
                try:
                    prints[student] = _fingerprint(student, cells[part], boilerplate)
                except Exception as error:
                    skipped[student] = f"{part} not compared: {error}"
            for (first, a), (second, b) in itertools.combinations(prints.items(), 2):
                if not a.hashes or not b.hashes:
                    continue
                shared, (overlap_a, overlap_b), _ = compare_files(a, b)
                if shared:
                    pairs.append(Pair(part, first, second, float(overlap_a), float(overlap_b),
                                      int(shared)))
    return sorted(pairs, key=lambda p: (-p.overlap, -p.shared_tokens, p.part, p.first))


def write_csv(pairs: list[Pair], destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    with open(destination, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["part", "student_a", "student_b", "overlap_a", "overlap_b",
                         "shared_tokens"])
        for pair in pairs:
            writer.writerow(spreadsheet_row([
                pair.part, pair.first, pair.second, f"{pair.first_overlap:.2f}",
                f"{pair.second_overlap:.2f}", pair.shared_tokens]))
    return destination


def as_table(pairs: list[Pair], top: int) -> str:
    lines = [f"{'part':<20} {'student A':<24} {'student B':<24} {'A in B':>6} {'B in A':>6} "
             f"{'tokens':>6}"]
    for pair in pairs[:top]:
        lines.append(f"{pair.part:<20} {printable(pair.first):<24} {printable(pair.second):<24} "
                     f"{pair.first_overlap:>6.0%} {pair.second_overlap:>6.0%} "
                     f"{pair.shared_tokens:>6}")
    if not pairs:
        lines.append("(no two students share any code beyond the released skeleton)")
    return "\n".join(lines)
