"""Every assignment follows the authoring guide (book/authoring_guide.md)."""

from __future__ import annotations

import ast
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
ANSWER_VARIABLE = re.compile(r"^(\w+_answer)\s*=", re.M)
# The visible tests of short answers: they check the form and say the value is graded later.
FORM_CHECKS = {"check_number", "check_option"}


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


def _form_checked(visible_code: str) -> set[str]:
    """The variables that `visible_code` passes to testing.check_number or check_option."""
    return {call.args[0].id for call in ast.walk(ast.parse(visible_code))
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr in FORM_CHECKS and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "testing" and call.args
            and isinstance(call.args[0], ast.Name)}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_short_answer_has_a_visible_form_check(assignment):
    """A wrong value must not pass its visible test silently (issue 11): the visible test of
    every `*_answer` checks its form with check_number or check_option, which say so."""
    cells = _cells(assignment)
    answers = {name for cell, meta in cells
               if meta.get("solution") and not meta.get("grade") and cell.cell_type == "code"
               for name in ANSWER_VARIABLE.findall(cell.source)}
    checked = set()
    for cell, meta in cells:
        if meta.get("grade") and cell.cell_type == "code":
            checked |= _form_checked(cell.source.split("### BEGIN HIDDEN TESTS")[0])
    assert answers, "no *_answer variables found"
    missing = sorted(answers - checked)
    assert not missing, (
        f"{', '.join(missing)}: give each a visible test with testing.check_number (numbers) or "
        "testing.check_option (choices), before the hidden tests")
