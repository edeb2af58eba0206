"""NotebookLookups answers nbgrader's per-cell lookups as nbgrader does, from one read per kind
(softmax_grading.notebook_lookups). No course needed: the gradebook is made with nbgrader's API."""

from __future__ import annotations

import itertools
import types

import pytest
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import event

from softmax_grading.notebook_lookups import (
    INSTRUCTOR_GRADEBOOK,
    NotebookLookups,
    open_for_reading,
)

pytestmark = [pytest.mark.grading, pytest.mark.usefixtures("alembic_head_asked_once"),
              # nbgrader's add_submission warns of every new submission (harmless)
              pytest.mark.filterwarnings("ignore:.*not in session")]

ASSIGNMENT, NOTEBOOK = "hw1", "problems"
STUDENTS = ["ada", "grace"]
# A grade cell and a task cell may share a name (nbgrader's unique key is name and kind), and so
# may a solution cell and a task cell: nbgrader's lookups then prefer the grade or solution cell.
GRADE_CELLS = ["tests_1", "answer_2", "shared_grade"]
SOLUTION_CELLS = ["answer_1", "answer_2", "shared_comment"]
TASK_CELLS = ["task_1", "shared_grade", "shared_comment"]
NAMES = sorted({*GRADE_CELLS, *SOLUTION_CELLS, *TASK_CELLS, "not_a_cell"})


@pytest.fixture()
def db_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        gradebook.add_assignment(ASSIGNMENT)
        gradebook.add_notebook(NOTEBOOK, ASSIGNMENT)
        for name in GRADE_CELLS:
            gradebook.add_grade_cell(name, NOTEBOOK, ASSIGNMENT, max_score=2, cell_type="code")
        for name in SOLUTION_CELLS:
            gradebook.add_solution_cell(name, NOTEBOOK, ASSIGNMENT)
        for name in TASK_CELLS:
            gradebook.add_task_cell(name, NOTEBOOK, ASSIGNMENT, max_score=3,
                                    cell_type="markdown")
        for name in NAMES[:-1]:
            gradebook.add_source_cell(name, NOTEBOOK, ASSIGNMENT, cell_type="code",
                                      source=f"# {name}", checksum=name, locked=True)
        for student in STUDENTS:
            gradebook.add_student(student)
            gradebook.add_submission(ASSIGNMENT, student)
    return url


def _found(lookup, *arguments) -> str:
    """The id of the row a lookup finds, or MissingEntry."""
    try:
        return lookup(*arguments).id
    except MissingEntry:
        return "MissingEntry"


LOOKUPS = {  # finder -> arguments after the cell's name (notebook, assignment[, student])
    "find_source_cell": [(NOTEBOOK, ASSIGNMENT), ("no_notebook", ASSIGNMENT),
                         (NOTEBOOK, "no_assignment")],
    "find_graded_cell": [(NOTEBOOK, ASSIGNMENT), ("no_notebook", ASSIGNMENT)],
    "find_grade": [(NOTEBOOK, ASSIGNMENT, student) for student in [*STUDENTS, "nobody"]],
    "find_comment": [(NOTEBOOK, ASSIGNMENT, student) for student in [*STUDENTS, "nobody"]],
}


@pytest.mark.parametrize("finder", LOOKUPS)
def test_every_lookup_finds_the_row_nbgrader_finds_or_fails_as_it_does(db_url, finder):
    with Gradebook(db_url) as nbgrader_s, NotebookLookups(db_url) as ours:
        for name, rest in itertools.product(NAMES, LOOKUPS[finder]):
            expected = _found(getattr(nbgrader_s, finder), name, *rest)
            assert _found(getattr(ours, finder), name, *rest) == expected, (finder, name, rest)


def test_a_shared_name_is_the_grade_or_solution_cells_as_in_nbgrader(db_url):
    with NotebookLookups(db_url) as ours:
        assert type(ours.find_graded_cell("shared_grade", NOTEBOOK, ASSIGNMENT)).__name__ \
            == "GradeCell"
        assert ours.find_grade("shared_grade", NOTEBOOK, ASSIGNMENT, "ada").cell.type \
            == "GradeCell"
        assert ours.find_comment("shared_comment", NOTEBOOK, ASSIGNMENT, "ada").cell.type \
            == "SolutionCell"
        assert ours.find_grade("task_1", NOTEBOOK, ASSIGNMENT, "ada").cell.type == "TaskCell"


def _selects_while(db_url: str, work) -> int:
    with NotebookLookups(db_url) as gradebook:
        selects = []
        event.listen(gradebook.engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *rest: selects.append(statement)
                     if statement.lstrip().upper().startswith("SELECT") else None)
        work(gradebook)
    return len(selects)


def test_a_pass_reads_each_kind_once_however_many_cells(db_url):
    def one_pass(gradebook):  # as SaveAutoGrades: every grade and comment, set and committed
        for name in GRADE_CELLS + TASK_CELLS:
            grade = gradebook.find_grade(name, NOTEBOOK, ASSIGNMENT, "ada")
            grade.auto_score = grade.max_score  # a deferred column, read with the grades
            gradebook.db.commit()
        for name in SOLUTION_CELLS + TASK_CELLS:
            gradebook.find_comment(name, NOTEBOOK, ASSIGNMENT, "ada").auto_comment = "seen"
            gradebook.db.commit()

    # The notebook, its cells, the submitted notebook, its grades and its comments: five,
    # where nbgrader's finders make one query or two per cell (and one per grade's max_score).
    assert _selects_while(db_url, one_pass) == 5


def test_what_a_pass_commits_is_in_the_gradebook(db_url):
    with NotebookLookups(db_url) as gradebook:
        gradebook.find_grade("tests_1", NOTEBOOK, ASSIGNMENT, "grace").auto_score = 1.5
        gradebook.db.commit()
        gradebook.find_comment("answer_1", NOTEBOOK, ASSIGNMENT, "grace").auto_comment = "ok"
        gradebook.db.commit()
    with Gradebook(db_url) as gradebook:
        assert gradebook.find_grade("tests_1", NOTEBOOK, ASSIGNMENT, "grace").auto_score == 1.5
        assert gradebook.find_comment("answer_1", NOTEBOOK, ASSIGNMENT,
                                      "grace").auto_comment == "ok"
        assert gradebook.find_grade("tests_1", NOTEBOOK, ASSIGNMENT, "ada").auto_score is None


def test_a_pass_commits_once_at_its_end_however_many_cells(db_url):
    commits = []
    with NotebookLookups(db_url) as gradebook:
        event.listen(gradebook.engine, "commit", lambda connection: commits.append(1))
        for name in GRADE_CELLS + TASK_CELLS:  # as SaveAutoGrades: a commit per grade
            gradebook.find_grade(name, NOTEBOOK, ASSIGNMENT, "ada").auto_score = 1
            gradebook.db.commit()
        assert commits == []
        with Gradebook(db_url) as other:  # nothing of the pass is visible before its end
            assert other.find_grade("tests_1", NOTEBOOK, ASSIGNMENT, "ada").auto_score is None
    assert commits == [1]
    with Gradebook(db_url) as gradebook:
        assert gradebook.find_grade("tests_1", NOTEBOOK, ASSIGNMENT, "ada").auto_score == 1


def test_a_pass_that_fails_leaves_the_gradebook_as_it_was(db_url):
    with pytest.raises(RuntimeError, match="stopped mid-pass"):
        with NotebookLookups(db_url) as gradebook:
            gradebook.find_grade("tests_1", NOTEBOOK, ASSIGNMENT, "ada").auto_score = 1
            gradebook.db.commit()
            raise RuntimeError("stopped mid-pass")
    with Gradebook(db_url) as gradebook:
        assert gradebook.find_grade("tests_1", NOTEBOOK, ASSIGNMENT, "ada").auto_score is None


def _sanitizing_pass(gradebook, student):
    """What the sanitize step's passes ask of the gradebook for one submission (OverwriteCells
    and OverwriteKernelspec), through open_for_reading on the command's shared gradebook."""
    resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT,
                              "student": student, "db_url": "not opened"},
                 "softmax_grading": {INSTRUCTOR_GRADEBOOK: gradebook}}
    preprocessor = types.SimpleNamespace()
    with open_for_reading(preprocessor, resources) as lookups:
        assert lookups is gradebook and preprocessor.gradebook is gradebook
        for _ in range(3):  # OverwriteKernelspec once, OverwriteCells' add_missing_* twice
            notebook = lookups.find_notebook(NOTEBOOK, ASSIGNMENT)
            [cell.name for cell in notebook.source_cells + notebook.grade_cells]
        for cell in notebook.source_cells:  # every cell of the submission the gradebook knows
            lookups.find_source_cell(cell.name, NOTEBOOK, ASSIGNMENT)
        for name in GRADE_CELLS:
            lookups.find_graded_cell(name, NOTEBOOK, ASSIGNMENT)


def test_a_class_sanitized_on_one_gradebook_reads_the_instructors_records_once(db_url):
    one_student = _selects_while(db_url, lambda gradebook: _sanitizing_pass(gradebook, "ada"))
    a_class = _selects_while(db_url, lambda gradebook: [_sanitizing_pass(gradebook, student)
                                                        for student in STUDENTS * 10])
    assert a_class == one_student


def test_each_sanitizing_pass_ends_its_transaction(db_url):
    with NotebookLookups(db_url) as gradebook:
        for student in STUDENTS:
            _sanitizing_pass(gradebook, student)
            assert not gradebook.db().in_transaction()  # no snapshot held between submissions
        with Gradebook(db_url) as other:  # a writer meanwhile is not kept waiting
            other.find_grade("tests_1", NOTEBOOK, ASSIGNMENT, "ada").auto_score = 2
            other.db.commit()


def test_a_sanitizing_pass_that_changes_a_record_fails_and_the_change_is_dropped(db_url):
    resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT, "db_url": db_url},
                 "softmax_grading": {}}
    with NotebookLookups(db_url) as gradebook:
        resources["softmax_grading"][INSTRUCTOR_GRADEBOOK] = gradebook
        with pytest.raises(RuntimeError, match="only reads the gradebook changed it"):
            with open_for_reading(types.SimpleNamespace(), resources) as lookups:
                lookups.find_source_cell("answer_1", NOTEBOOK, ASSIGNMENT).source = "changed"
    with Gradebook(db_url) as gradebook:
        assert gradebook.find_source_cell("answer_1", NOTEBOOK, ASSIGNMENT).source == "# answer_1"
