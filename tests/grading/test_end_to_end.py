"""The whole instructor flow on synthetic students, checked grade by grade.

One course folder is built for the session: every assignment in
``solutions/`` is released with nbgrader, every student of
``tests/grading/cases/<assignment>.py`` (plus a reference and a blank
submission for every assignment) is submitted, and the course's
``python -m softmax_grading grade`` command autogrades, writes feedback and
exports the grades. The tests then read the gradebook through nbgrader's API.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import preloaded_commands
import pytest
from nbgrader.api import Gradebook
from synthetic import ASSIGNMENTS, Student, expected_scores, submit

from softmax_grading import leaks

pytestmark = [pytest.mark.grading, pytest.mark.end_to_end, pytest.mark.slow]

CASES = Path(__file__).parent / "cases"


def _load_cases(assignment: str):
    """The module of the assignment's synthetic students, or None."""
    path = CASES / f"{assignment}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"grading_cases_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASE_MODULES = {assignment: _load_cases(assignment) for assignment in ASSIGNMENTS}


def _load_students(assignment: str) -> list[Student]:
    """The assignment's synthetic students, plus the reference and blank ones."""
    students = [Student("reference"), Student("blank", based_on="blank")]
    if CASE_MODULES[assignment] is not None:
        students += CASE_MODULES[assignment].STUDENTS
    return students


STUDENTS = {assignment: _load_students(assignment) for assignment in ASSIGNMENTS}
PAIRS = [(a, s) for a in ASSIGNMENTS for s in STUDENTS[a]]


def _student_id(assignment: str, student: Student) -> str:
    # nbgrader's students are global to a course: prefix them per assignment.
    return f"e2e-{assignment}-{student.name}"


@pytest.fixture(scope="module")
def graded_courses(released_course, grading_env):
    """Assignment -> (course, completed `grade` command); each graded with the parallel grader."""
    course = released_course
    results = {}
    for assignment in ASSIGNMENTS:
        students = STUDENTS[assignment]
        for student in students:
            submit(course, assignment, Student(**{**student.__dict__,
                                                  "name": _student_id(assignment, student)}))
        command = ["grade", assignment, "--to", f"grades-{assignment}.csv", "--jobs", "2"]
        for student in students:
            command += ["--student", _student_id(assignment, student)]
        results[assignment] = (course, preloaded_commands.run(command, cwd=course.root,
                                                              env=grading_env))
    return results


@pytest.mark.parametrize(("assignment", "student"), PAIRS,
                         ids=[_student_id(a, s) for a, s in PAIRS])
def test_scores_per_part(graded_courses, assignment, student):
    course, result = graded_courses[assignment]
    student_id = _student_id(assignment, student)
    expected = expected_scores(course, assignment, student)
    actual = {}
    with Gradebook(course.db_url) as gradebook:
        submission = gradebook.find_submission_notebook(assignment, assignment, student_id)
        for grade in submission.grades:
            if grade.name in expected:
                actual[grade.name] = grade.score
    assert actual == expected, _log_about(result, student_id)


def _log_about(result, student_id: str) -> str:
    """The grading command's summary and every log line from errors onwards, for a failure."""
    errors = [line for line in result.stderr.splitlines()
              if "ERROR" in line or "Error" in line or student_id in line]
    return result.stdout[-3000:] + "\n".join(errors[-60:])


@pytest.mark.parametrize(("assignment", "student"),
                         [(a, s) for a, s in PAIRS if s.feedback],
                         ids=[_student_id(a, s) for a, s in PAIRS if s.feedback])
def test_feedback_points_at_the_mistake(graded_courses, assignment, student):
    course, _ = graded_courses[assignment]
    page = course.root / "feedback" / _student_id(assignment, student) / assignment
    # Failure messages are laid out in lines short enough for nbgrader validate, so a phrase
    # may continue on the next line: compare the words, not the line breaks.
    words = " ".join(leaks.readable_text(page / f"{assignment}.html").split())
    for grade_id, phrase in student.feedback.items():
        assert " ".join(phrase.split()) in words, (
            f"the feedback for {grade_id} should say {phrase!r}")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_shows_no_tests_or_solutions(graded_courses, assignment):
    course, _ = graded_courses[assignment]
    secrets = leaks.secret_lines(course.root / "solutions" / assignment / f"{assignment}.ipynb")
    pages = sorted((course.root / "feedback").glob(f"e2e-{assignment}-*/{assignment}/*.html"))
    assert pages, "no feedback was generated"
    for page in pages:
        student_id = page.parent.parent.name
        submitted = course.root / "submitted" / student_id / assignment / f"{assignment}.ipynb"
        own = leaks.lines_written_in(submitted)
        assert leaks.find_leaks(page, leaks.readable_text(page), secrets, allowed=own) == []
        assert "BEGIN HIDDEN TESTS" not in page.read_text()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_student_is_in_the_export(graded_courses, assignment):
    course, _ = graded_courses[assignment]
    with open(course.root / f"grades-{assignment}.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)
                if row["assignment"] == assignment}
    for student in STUDENTS[assignment]:
        student_id = _student_id(assignment, student)
        assert student_id in rows, f"{student_id} is missing from the grades CSV"
        expected_total = sum(expected_scores(course, assignment, student).values())
        assert float(rows[student_id]["score"]) == pytest.approx(expected_total)


def test_broken_submission_is_reported_by_name(graded_courses):
    broken = [(a, s) for a, s in PAIRS if s.raw is not None]
    if not broken and len(ASSIGNMENTS) < 8:
        pytest.skip("the selected assignments have no unreadable submission")
    assert broken, "the pilot must include an unreadable submission"
    for assignment, student in broken:
        _, result = graded_courses[assignment]
        assert result.returncode == 1, "an ungraded submission must make the command fail"
        assert f"NOT GRADED: {_student_id(assignment, student)}" in result.stdout


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_submissions_raise_no_flags_and_no_timeouts(graded_courses, assignment):
    """Honest students look honest: no integrity flag, timeout or edited-cell note."""
    course, result = graded_courses[assignment]
    report = json.loads((course.root / "reports" / assignment / "report.json").read_text())
    honest = ["reference", "blank"] + (["exploring"] if assignment == "ch01_definition" else [])
    for name in honest:
        entry = report["students"][f"e2e-{assignment}-{name}"]
        assert entry["flags"] == [] and entry["timeouts"] == [], entry
        assert entry["edited_locked_cells"] == [] and entry["sandbox"] is True, entry
        assert entry["feedback"] == "written", entry
    assert "has changed" not in result.stderr + result.stdout


def test_regression_a_cell_claiming_to_be_locked_runs_in_the_sandbox(graded_courses):
    if "ch01_definition" not in graded_courses:
        pytest.skip("the pilot assignment is not selected")
    assert not Path(CASE_MODULES["ch01_definition"].FORGED_MARKER).exists()
