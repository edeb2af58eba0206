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
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from softmax_grading import leaks
from softmax_grading.sandbox import Student, expected_scores, make_course, submit

pytestmark = [pytest.mark.grading, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = sorted(p.name for p in (REPO_ROOT / "solutions").iterdir() if p.is_dir())
# While writing one assignment, grade only it: SOFTMAX_GRADING_ONLY=ch03_jacobian pytest ...
if os.environ.get("SOFTMAX_GRADING_ONLY"):
    ASSIGNMENTS = [a for a in ASSIGNMENTS if a in os.environ["SOFTMAX_GRADING_ONLY"].split(",")]
CASES = Path(__file__).parent / "cases"
# Long enough for every reference solution on a slow machine, short enough that
# the infinite-loop student does not dominate the run.
CELL_TIMEOUT_SECONDS = 20


def _load_students(assignment: str) -> list[Student]:
    """The assignment's synthetic students, plus the reference and blank ones."""
    students = [Student("reference"), Student("blank", based_on="blank")]
    path = CASES / f"{assignment}.py"
    if path.exists():
        spec = importlib.util.spec_from_file_location(f"grading_cases_{assignment}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        students += module.STUDENTS
    return students


STUDENTS = {assignment: _load_students(assignment) for assignment in ASSIGNMENTS}
PAIRS = [(a, s) for a in ASSIGNMENTS for s in STUDENTS[a]]


def _student_id(assignment: str, student: Student) -> str:
    # nbgrader's students are global to a course: prefix them per assignment.
    return f"{assignment}-{student.name}"


def _grade_assignment(root: Path, assignment: str):
    """Release, submit and grade one assignment in its own course folder."""
    course = make_course(root / assignment, [assignment])
    for student in STUDENTS[assignment]:
        submit(course, assignment, Student(**{**student.__dict__,
                                              "name": _student_id(assignment, student)}))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        [sys.executable, "-m", "softmax_grading", "grade", assignment,
         "--to", f"grades-{assignment}.csv", f"--Execute.timeout={CELL_TIMEOUT_SECONDS}"],
        cwd=course.root, env=env, capture_output=True, text=True,
    )
    return course, result


@pytest.fixture(scope="module")
def graded_courses(tmp_path_factory):
    """Assignment -> (course, completed `grade` command), graded two at a time."""
    root = tmp_path_factory.mktemp("courses")
    # One course folder per assignment, so two nbgrader runs never share a gradebook.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda a: _grade_assignment(root, a), ASSIGNMENTS)
        return dict(zip(ASSIGNMENTS, results, strict=True))


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
    text = leaks.readable_text(page / f"{assignment}.html")
    for grade_id, phrase in student.feedback.items():
        assert phrase in text, f"the feedback for {grade_id} should say {phrase!r}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_shows_no_tests_or_solutions(graded_courses, assignment):
    course, _ = graded_courses[assignment]
    secrets = leaks.secret_lines(course.root / "solutions" / assignment / f"{assignment}.ipynb")
    pages = sorted((course.root / "feedback").glob(f"{assignment}-*/{assignment}/*.html"))
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
    if not broken and os.environ.get("SOFTMAX_GRADING_ONLY"):
        pytest.skip("the selected assignments have no unreadable submission")
    assert broken, "the pilot must include an unreadable submission"
    for assignment, student in broken:
        _, result = graded_courses[assignment]
        assert result.returncode == 1, "an ungraded submission must make the command fail"
        assert f"NOT GRADED: {_student_id(assignment, student)}" in result.stdout
