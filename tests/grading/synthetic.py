"""Throw-away course folders filled with synthetic students.

The end-to-end grading tests and the autograding benchmark both need a real
nbgrader course: the course's configuration, the instructor notebooks, a
generated release, and submissions made by editing the release the way a
student would. This module builds them.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from softmax_grading.cli import release
from softmax_grading.layout import Course

REPO_ROOT = Path(__file__).resolve().parents[2]
ALL_ASSIGNMENTS = sorted(p.name for p in (REPO_ROOT / "solutions").iterdir() if p.is_dir())
# While writing one assignment, grade only it: SOFTMAX_GRADING_ONLY=ch03_jacobian pytest ...
ASSIGNMENTS = [a for a in ALL_ASSIGNMENTS
               if not os.environ.get("SOFTMAX_GRADING_ONLY")
               or a in os.environ["SOFTMAX_GRADING_ONLY"].split(",")]
# Short CPU limits keep the runaway students cheap; every reference solution needs far less.
# Appended to the configuration of the tests' courses.
TEST_LIMITS = """
c.Sandbox.cpu_seconds_per_cell = 5
c.Sandbox.wall_seconds_per_cell = 120
"""
_SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
_MARK_SCHEME = re.compile(r"=== BEGIN MARK SCHEME ===.*?=== END MARK SCHEME ===", re.S)


@dataclass
class Student:
    """A synthetic submission and the grades it must receive.

    Parameters
    ----------
    name
        The student id (a folder name under ``submitted/``).
    answers
        Answer-cell ``grade_id`` -> the source the student typed there. Cells
        not listed keep the solution (``based_on="reference"``) or the
        untouched release text (``based_on="blank"``).
    scores
        Test-cell ``grade_id`` -> expected points. Cells not listed are
        expected to score full points (reference-based) or 0 (blank-based).
    feedback
        Test-cell ``grade_id`` -> a phrase the feedback page must show.
    edit
        A final change to the whole notebook (delete, duplicate or rewrite cells).
    raw
        If given, the exact text of the submitted file (for broken files).
    """

    name: str
    answers: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    feedback: dict[str, str] = field(default_factory=dict)
    based_on: str = "reference"
    edit: Callable[[NotebookNode], None] | None = None
    raw: str | None = None


def make_course(directory: Path, assignments: list[str] | None = None) -> Course:
    """A course folder with the course's config and instructor notebooks, released."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "nbgrader_config.py", directory / "nbgrader_config.py")
    solutions = REPO_ROOT / "solutions"
    chosen = assignments or sorted(p.name for p in solutions.iterdir() if p.is_dir())
    for assignment in chosen:
        shutil.copytree(REPO_ROOT / "solutions" / assignment, directory / "solutions" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    course = Course(directory)
    release(course, chosen)
    return course


def _cells_by_id(notebook: NotebookNode) -> dict[str, NotebookNode]:
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell
        for cell in notebook.cells
        if "grade_id" in cell.metadata.get("nbgrader", {})
    }


def reference_answers(source_notebook: NotebookNode) -> dict[str, str]:
    """What a student who writes the model solution types into each answer cell."""
    answers = {}
    for grade_id, cell in _cells_by_id(source_notebook).items():
        if not cell.metadata["nbgrader"].get("solution"):
            continue
        if cell.cell_type == "markdown":
            answers[grade_id] = _MARK_SCHEME.sub("", cell.source).strip()
        else:
            kept = [line for line in cell.source.splitlines() if not _SOLUTION_MARKER.match(line)]
            answers[grade_id] = "\n".join(kept)
    return answers


def autograded_points(source_notebook: NotebookNode) -> dict[str, float]:
    """Test-cell ``grade_id`` -> its points, for the autograded (code) cells."""
    return {
        grade_id: float(cell.metadata["nbgrader"]["points"])
        for grade_id, cell in _cells_by_id(source_notebook).items()
        if cell.cell_type == "code" and cell.metadata["nbgrader"].get("grade")
    }


def expected_scores(course: Course, assignment: str, student: Student) -> dict[str, float]:
    """Every autograded cell's expected score for `student`."""
    points = autograded_points(_source(course, assignment))
    baseline = points if student.based_on == "reference" and student.raw is None else {
        grade_id: 0.0 for grade_id in points
    }
    return {**baseline, **student.scores}


def _source(course: Course, assignment: str) -> NotebookNode:
    path = course.root / course.source / assignment / f"{assignment}.ipynb"
    return nbformat.read(path, as_version=4)


def submit(course: Course, assignment: str, student: Student) -> Path:
    """Write `student`'s notebook to ``submitted/<name>/<assignment>/``."""
    folder = course.root / "submitted" / student.name / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    if student.raw is not None:
        path.write_text(student.raw, encoding="utf-8")
        return path
    released = nbformat.read(course.root / course.release / assignment / path.name, as_version=4)
    notebook = copy.deepcopy(released)
    typed = {}
    if student.based_on == "reference":
        typed.update(reference_answers(_source(course, assignment)))
    typed.update(student.answers)
    cells = _cells_by_id(notebook)
    for grade_id, text in typed.items():
        if grade_id not in cells:
            raise KeyError(f"{assignment} has no answer cell {grade_id!r}")
        cells[grade_id].source = text
    if student.edit is not None:
        student.edit(notebook)
    nbformat.write(notebook, path)
    return path


def cell_index(notebook: NotebookNode, grade_id: str) -> int:
    """Position of the cell with `grade_id` (for edits that delete or copy cells)."""
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(grade_id)
