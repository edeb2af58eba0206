"""softmax_grading.class_records: a class's submissions read in a fixed number of queries, holding
what nbgrader's own lookups give. Fast: a gradebook made with nbgrader's API, no course."""

from __future__ import annotations

import datetime as dt

import pytest
from nbgrader.api import Gradebook
from sqlalchemy import event

from softmax_grading.class_records import grades_by_part, submissions_of

pytestmark = [pytest.mark.grading, pytest.mark.usefixtures("alembic_head_asked_once"),
              # nbgrader's add_submission warns about its own session (harmless)
              pytest.mark.filterwarnings("ignore:.*not in session")]

DUE = dt.datetime(2026, 12, 4, 22, 59)
# (cell name, cell kind, points, cell type): a task cell may share a grade cell's name
CELLS = [("code_part", "grade", 2.0, "code"), ("written_part", "grade", 3.0, "markdown"),
         ("task_part", "task", 1.0, "markdown"), ("code_part", "task", 4.0, "markdown")]


def _class(url: str, students: int) -> None:
    """Two notebooks, each with the CELLS; students on time, late, with an extension, with
    manual marks, and one without a submission."""
    with Gradebook(url) as gradebook:
        gradebook.add_assignment("week1", duedate=DUE)
        gradebook.add_assignment("week2", duedate=DUE)
        for notebook in ("part_a", "part_b"):
            for assignment in ("week1", "week2"):
                gradebook.add_notebook(notebook, assignment)
                for name, kind, points, cell_type in CELLS:
                    add = gradebook.add_grade_cell if kind == "grade" else gradebook.add_task_cell
                    add(name, notebook, assignment, max_score=points, cell_type=cell_type)
                gradebook.add_solution_cell("written_part", notebook, assignment)
        for index in range(students):
            student = f"s{index:03d}"
            gradebook.add_student(student)
            if index == 0:
                continue  # never submitted
            for assignment in ("week1", "week2"):
                gradebook.add_submission(assignment, student,
                                         timestamp=DUE + dt.timedelta(hours=index - 3))
            submission = gradebook.find_submission("week1", student)
            if index % 4 == 1:
                submission.extension = dt.timedelta(days=1)
            for notebook in submission.notebooks:
                notebook.late_submission_penalty = 0.5 if index % 3 == 0 else None
                for grade in notebook.grades:
                    grade.auto_score = (index % 3) * 0.5
                    grade.needs_manual_grade = index % 2 == 0 and grade.cell_type == "markdown"
                    if index % 5 == 0:
                        grade.manual_score, grade.extra_credit = 1.0, 0.25
            gradebook.db.commit()


def _as_nbgrader_finds_it(gradebook: Gradebook, student: str) -> tuple:
    """One student's submission of week1 through nbgrader's lookups and lazy relationships."""
    submission = gradebook.find_submission("week1", student)
    grades = [(notebook.name, grade.name, grade.score, grade.max_score, grade.cell_type,
               grade.needs_manual_grade)
              for notebook in submission.notebooks for grade in notebook.grades]
    found = {(notebook, name): gradebook.find_grade(name, notebook, "week1", student).id
             for notebook in ("part_a", "part_b")
             for name in ("code_part", "written_part", "task_part")}
    return (submission.score, submission.max_score, submission.late_submission_penalty,
            submission.total_seconds_late, submission.timestamp, grades, found)


def _as_read_here(submission) -> tuple:
    grades = [(notebook.name, grade.name, grade.score, grade.max_score, grade.cell_type,
               grade.needs_manual_grade)
              for notebook in submission.notebooks for grade in notebook.grades]
    found = {key: grade.id for key, grade in grades_by_part(submission).items()}
    return (submission.score, submission.max_score, submission.late_submission_penalty,
            submission.total_seconds_late, submission.timestamp, grades, found)


def test_each_submission_holds_what_nbgraders_lookups_give(tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    _class(url, 8)
    with Gradebook(url) as gradebook:
        expected = {f"s{index:03d}": _as_nbgrader_finds_it(gradebook, f"s{index:03d}")
                    for index in range(1, 8)}
    with Gradebook(url) as gradebook:
        read = {student: _as_read_here(submission)
                for student, submission in submissions_of(gradebook, "week1").items()}
    assert read == expected  # s000 never submitted: not there
    assert {late for _, _, _, late, *_ in read.values()} != {0}  # some were late


def _queries_to_read_a_class(tmp_path, students: int) -> list[str]:
    url = f"sqlite:///{tmp_path / f'gradebook{students}.db'}"
    _class(url, students)
    with Gradebook(url) as gradebook:
        queries = []
        event.listen(gradebook.engine, "before_cursor_execute",
                     lambda *arguments: queries.append(arguments[2]))
        for submission in submissions_of(gradebook, "week1").values():
            _as_read_here(submission)
    return queries


def test_a_class_is_read_in_four_queries_whatever_its_size(tmp_path):
    # The report and the grades CSV walked nbgrader's lazy relationships: a query per student,
    # per notebook, per grade and per computed score (0.5 s of a 30-student report).
    small, large = (_queries_to_read_a_class(tmp_path, students) for students in (3, 12))
    assert len(small) == len(large) == 4, "\n\n".join(large)
