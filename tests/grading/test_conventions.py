"""Every assignment follows the authoring guide (book/authoring_guide.md)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.grading

REPO_ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO_ROOT / "solutions"
ASSIGNMENTS = sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir())
CHAPTERS = sorted((REPO_ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
POINTS_IN_TEXT = re.compile(r"\((\d+(?:\.\d+)?) points?[,)]")


def _cells(assignment: str):
    notebook = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    return [(cell, cell.metadata.get("nbgrader", {})) for cell in notebook.cells]


def test_one_assignment_per_chapter():
    chapter_numbers = sorted(path.name[:2] for path in CHAPTERS)
    assignment_numbers = sorted(name[2:4] for name in ASSIGNMENTS)
    assert chapter_numbers, "no chapters found in book/"
    assert assignment_numbers == chapter_numbers, "every chapter has exactly one assignment"
    for name in ASSIGNMENTS:
        assert re.fullmatch(r"ch\d\d_[a-z0-9_]+", name), f"{name}: ids look like ch01_definition"
        assert [p.name for p in (SOLUTIONS / name).iterdir()] == [f"{name}.ipynb"], (
            "an assignment folder holds only its notebook: nbgrader ships every other file to "
            "students"
        )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_assignment_mixes_the_three_kinds_of_part(assignment):
    cells = _cells(assignment)
    answer_code = [c for c, m in cells if m.get("solution") and c.cell_type == "code"]
    tests = [c for c, m in cells if m.get("grade") and c.cell_type == "code"]
    written = [c for c, m in cells
               if m.get("solution") and m.get("grade") and c.cell_type == "markdown"]
    implementations = [c for c in answer_code if re.search(r"^\s*def \w+\(", c.source, re.M)]
    values = [c for c in answer_code if re.search(r"^\w+_answer\s*=", c.source, re.M)]
    assert implementations, "at least one function to write"
    assert values, "at least one numeric or short answer stored in a *_answer variable"
    assert written, "at least one written explanation, graded by hand"
    assert tests, "autograded test cells"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_has_hidden_tests_and_uses_the_checks(assignment):
    for cell, meta in _cells(assignment):
        if meta.get("grade") and cell.cell_type == "code":
            grade_id = meta["grade_id"]
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{grade_id} has no hidden tests"
            assert "testing." in cell.source, f"{grade_id}: fail through softmax_course.testing"
            assert "raises-exception" in cell.metadata.get("tags", []), (
                f"{meta['grade_id']}: tag test cells 'raises-exception' (they fail in the release)"
            )
        if meta.get("solution") and cell.cell_type == "code":
            assert "raises-exception" in cell.metadata.get("tags", []), (
                f"{meta['grade_id']}: tag answer cells 'raises-exception' (the release raises "
                "NotImplementedError)"
            )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_points_are_stated_and_add_up(assignment):
    cells = _cells(assignment)
    total = sum(float(m["points"]) for _, m in cells if m.get("grade"))
    intro = cells[0][0].source
    assert re.search(rf"\*\*{total:g} points\*\*", intro), (
        f"the first cell should state the total, **{total:g} points**"
    )
    stated = [float(x) for c, m in cells if c.cell_type == "markdown" and not m
              for x in POINTS_IN_TEXT.findall(c.source)]
    assert stated, "each part states its points, e.g. '(2 points)'"
