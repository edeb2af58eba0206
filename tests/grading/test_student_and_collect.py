"""The steps around autograding: a student's self-check, and collecting an LMS download."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from synthetic import Student, submit

from softmax_grading import autograde, manual_grades
from softmax_grading.cli import main as grading_main
from softmax_grading.preprocessors import RestoreLockedCells
from softmax_grading.preprocessors.restore_locked_cells import InstructorNotebook

pytestmark = [pytest.mark.grading, pytest.mark.slow]

PILOT = "ch01_definition"
NAIVE = """def softmax(z, axis=-1):
    exps = np.exp(z)
    return exps / np.sum(exps, axis=axis, keepdims=True)
"""


@pytest.fixture(scope="module")
def course(released_course):
    return released_course


def _nbgrader(course, *arguments):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([sys.executable, "-m", "nbgrader", *arguments], cwd=course.root,
                          env=env, capture_output=True, text=True)


def test_validate_passes_the_reference_solution(course):
    path = submit(course, PILOT, Student("validate-reference"))
    result = _nbgrader(course, "validate", str(path))
    assert result.returncode == 0
    assert "Success! Your notebook passes all the tests." in result.stdout


def test_validate_reports_failures_but_exits_zero(course):
    # The student guide warns about exactly this: read the output, not the exit code.
    path = submit(course, PILOT, Student("validate-naive", answers={"softmax_impl": NAIVE}))
    result = _nbgrader(course, "validate", str(path))
    assert result.returncode == 0
    assert "VALIDATION FAILED" in result.stdout
    assert "did you subtract the max" in result.stdout


def test_validate_flags_an_untouched_release(course):
    path = submit(course, PILOT, Student("validate-blank", based_on="blank"))
    result = _nbgrader(course, "validate", str(path))
    assert result.returncode == 0
    assert "VALIDATION FAILED" in result.stdout
    assert "NotImplementedError" in result.stdout


def test_collect_unpacks_a_canvas_download(course, tmp_path):
    # Two students, one of them late and resubmitted, named the way Canvas names files.
    staging = tmp_path / "staging"
    submit_dir = course.root / "submitted"
    for student in ("ada", "grace"):
        submit(course, PILOT, Student(f"staged-{student}"))
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(submit_dir / "staged-ada" / PILOT / f"{PILOT}.ipynb",
                     f"ada_1234_5678_{PILOT}.ipynb")
        bundle.write(submit_dir / "staged-grace" / PILOT / f"{PILOT}.ipynb",
                     f"grace_LATE_4321_8765_{PILOT}-1.ipynb")
    staging.mkdir()
    cwd = Path.cwd()
    try:
        os.chdir(course.root)
        grading_main(["collect", PILOT, "--zip", str(archive)])
    finally:
        os.chdir(cwd)
    for student in ("ada", "grace"):
        assert (submit_dir / student / PILOT / f"{PILOT}.ipynb").exists(), student
        # The entries carry the zip's build time, not a submission time: none is written.
        assert not (submit_dir / student / PILOT / "timestamp.txt").exists(), student


def _grade(course, *arguments, step="autograde"):
    return _run(course, step, PILOT, "--jobs", "1", *arguments)


def _run(course, *argv):
    """``python -m softmax_grading *argv`` in the course folder, in this process."""
    cwd = Path.cwd()
    try:
        os.chdir(course.root)
        return grading_main(list(argv))
    finally:
        os.chdir(cwd)


def test_regression_regrading_keeps_manual_scores_and_comments(course):
    # The course's regrade keeps manual scores and comments (plain `nbgrader autograde
    # --force` keeps them too, but flags them for marking again: test_instructor_week.py).
    submit(course, PILOT, Student("regrade"))
    _grade(course, "--student", "regrade")
    with Gradebook(course.db_url) as gradebook:
        grade = gradebook.find_grade("confidence_written", PILOT, PILOT, "regrade")
        grade.manual_score = 1.5
        comment = gradebook.find_comment("confidence_written", PILOT, PILOT, "regrade")
        comment.manual_comment = "Good point about calibration."
        gradebook.db.commit()
    _grade(course, "--student", "regrade", "--force")
    with Gradebook(course.db_url) as gradebook:
        grade = gradebook.find_grade("confidence_written", PILOT, PILOT, "regrade")
        comment = gradebook.find_comment("confidence_written", PILOT, PILOT, "regrade")
        assert grade.manual_score == 1.5
        assert comment.manual_comment == "Good point about calibration."


def test_a_regrade_compares_the_answers_only_of_a_submission_someone_marked(course,
                                                                            monkeypatch):
    # The marking is kept across a regrade by comparing the marked answers before and after;
    # a submission nobody marked is recorded without reading its graded notebook at all.
    students = ["--student", "unmarked", "--student", "marked"]
    for name in ("unmarked", "marked"):
        submit(course, PILOT, Student(name))
    _grade(course, *students)
    with Gradebook(course.db_url) as gradebook:
        gradebook.find_grade("confidence_written", PILOT, PILOT, "marked").manual_score = 1
        gradebook.db.commit()
    read = []
    fingerprints = manual_grades.answer_fingerprints

    def counted(course, assignment, student, notebook):
        read.append(student)
        return fingerprints(course, assignment, student, notebook)

    monkeypatch.setattr(manual_grades, "answer_fingerprints", counted)
    _grade(course, *students, "--force")
    assert read == ["marked", "marked"]  # before the regrade and after it
    with Gradebook(course.db_url) as gradebook:
        grade = gradebook.find_grade("confidence_written", PILOT, PILOT, "marked")
        assert (grade.manual_score, grade.needs_manual_grade) == (1, False)


def test_a_second_grade_keeps_only_the_feedback_pages_whose_inputs_did_not_change(course,
                                                                                  capsys):
    # Resuming a class must not render every page again, and no page may go stale: a mark, a
    # comment, a due date or a missing page renders it again; --force renders every one.
    students = ["--student", "pages-same", "--student", "pages-marked"]
    for name in ("pages-same", "pages-marked"):
        submit(course, PILOT, Student(name))

    def grade_and_report(*arguments):
        _grade(course, *students, *arguments, step="grade")
        return capsys.readouterr().out

    def page(name):
        return course.feedback(name, PILOT) / f"{PILOT}.html"

    assert "feedback: 2 page(s) written, 0 unchanged" in grade_and_report()
    written = {name: page(name).stat().st_mtime_ns for name in ("pages-same", "pages-marked")}
    assert "feedback: 0 page(s) written, 2 unchanged" in grade_and_report()
    assert {name: page(name).stat().st_mtime_ns for name in written} == written

    with Gradebook(course.db_url) as gradebook:
        gradebook.find_grade("confidence_written", PILOT, PILOT, "pages-marked").manual_score = 1
        gradebook.find_comment("confidence_written", PILOT, PILOT,
                               "pages-marked").manual_comment = "Name the failure mode."
        gradebook.db.commit()
    assert "feedback: 1 page(s) written, 1 unchanged" in grade_and_report()
    assert "Name the failure mode." in page("pages-marked").read_text()
    assert page("pages-same").stat().st_mtime_ns == written["pages-same"]

    page("pages-same").unlink()
    assert "feedback: 1 page(s) written, 1 unchanged" in grade_and_report()
    assert page("pages-same").is_file()

    _run(course, "due", PILOT, "2099-01-01T00:00Z")  # nobody is late, but the pages say when
    try:
        assert "feedback: 2 page(s) written, 0 unchanged" in grade_and_report()
    finally:
        _run(course, "due", PILOT, "--clear")
    assert "feedback: 2 page(s) written, 0 unchanged" in grade_and_report()  # cleared: changed
    assert "feedback: 2 page(s) written, 0 unchanged" in grade_and_report("--force")


def test_regression_a_resubmission_whose_cell_source_is_not_text_is_named_and_others_graded(
        course, capsys):
    # nbformat only logs a "source" that is a number: sanitizing it failed (not graded), but the
    # feedback step then checked the student's earlier page against the new file and crashed on
    # it, for the whole class, in every later run.
    submit(course, PILOT, Student("resubmit-int-source"))
    submit(course, PILOT, Student("resubmit-classmate"))
    _grade(course, "--student", "resubmit-int-source", "--student", "resubmit-classmate",
           step="grade")
    path = course.submitted("resubmit-int-source", PILOT) / f"{PILOT}.ipynb"
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "setup":
            cell["source"] = 5
    path.write_text(json.dumps(notebook))
    submit(course, PILOT, Student("resubmit-newcomer"))
    capsys.readouterr()
    code = _grade(course, "--student", "resubmit-int-source", "--student", "resubmit-classmate",
                  "--student", "resubmit-newcomer", step="grade")
    out = capsys.readouterr().out
    assert code == 1 and "NOT GRADED: resubmit-int-source" in out
    assert "FEEDBACK WITHHELD: resubmit-int-source: not graded" in out
    assert not (course.feedback("resubmit-int-source", PILOT) / f"{PILOT}.html").exists()
    assert (course.feedback("resubmit-newcomer", PILOT) / f"{PILOT}.html").is_file()
    with open(course.root / "grades" / f"{PILOT}.csv", newline="") as handle:
        status = {row["student_id"]: row["status"] for row in csv.DictReader(handle)}
    assert status["resubmit-int-source"] == "not graded"
    assert status["resubmit-classmate"] == status["resubmit-newcomer"] == "graded"
    assert _run(course, "feedback", PILOT) == 0


def test_a_notebook_of_more_cells_than_any_exercise_is_named_and_not_graded(course, capsys):
    # 50,000 Markdown cells (5 MB, far below collect's size limit) took two minutes of the
    # trusted process, which grades everyone; past 5,000 cells a submission is not graded.
    def many_cells(notebook):
        notebook.cells += [nbformat.v4.new_markdown_cell("padding") for _ in range(6_000)]

    submit(course, PILOT, Student("many-cells", edit=many_cells))
    submit(course, PILOT, Student("many-cells-classmate"))
    code = _grade(course, "--student", "many-cells", "--student", "many-cells-classmate")
    out = capsys.readouterr().out
    assert code == 1
    assert (f"NOT GRADED: many-cells: {PILOT}.ipynb has 6,0" in out
            and "more than the 5,000 a submission may have" in out)
    with Gradebook(course.db_url) as gradebook:
        assert gradebook.find_submission(PILOT, "many-cells").score == 0
        assert gradebook.find_submission(PILOT, "many-cells-classmate").score == 8.0


def test_a_second_run_skips_what_is_graded_and_unchanged(course, capsys):
    submit(course, PILOT, Student("resume-same"))
    submit(course, PILOT, Student("resume-changed", answers={"softmax_impl": NAIVE}))
    _grade(course, "--student", "resume-same", "--student", "resume-changed")
    capsys.readouterr()
    # The student fixes the solution; the other submission is untouched.
    submit(course, PILOT, Student("resume-changed"))
    _grade(course, "--student", "resume-same", "--student", "resume-changed")
    assert "graded 1, skipped 1 already graded and unchanged" in capsys.readouterr().out
    with Gradebook(course.db_url) as gradebook:
        assert gradebook.find_submission(PILOT, "resume-changed").score == 8.0
    _grade(course, "--student", "resume-same", "--force")
    assert "graded 1, skipped 0" in capsys.readouterr().out


def test_a_class_is_prepared_with_one_read_of_the_instructor_notebook(course, monkeypatch):
    # Each submission's sanitizing read the release and queried the gradebook for every locked
    # cell, though they are the same for the whole class: now prepare reads them once.
    names = [f"one-read-{i}" for i in range(3)]
    for name in names:
        submit(course, PILOT, Student(name, edit=_delete_first_locked_cell))
    reads = []
    original = InstructorNotebook.read.__func__

    def counted(cls, *arguments):
        reads.append(arguments[2:])
        return original(cls, *arguments)

    monkeypatch.setattr(InstructorNotebook, "read", classmethod(counted))
    run = autograde.AutogradeRun(PILOT, True)
    jobs = autograde.prepare(course, PILOT, names, sandboxed=True, force=True, run=run)
    assert reads == [(PILOT, PILOT)]
    assert [job.student for job in jobs] == names
    # The deleted locked cell is back in every submission, as without the shared record.
    resources = {"nbgrader": {"student": names[0], "assignment": PILOT, "notebook": PILOT,
                              "db_url": course.db_url}}
    submitted = nbformat.read(course.submitted(names[0], PILOT) / f"{PILOT}.ipynb", 4)
    alone, _ = RestoreLockedCells(config=course.config).preprocess(submitted, resources)
    assert [cell["source"] for cell in jobs[0].cells] == [cell.source for cell in alone.cells]


def _delete_first_locked_cell(notebook):
    locked = next(i for i, cell in enumerate(notebook.cells)
                  if cell.metadata.get("nbgrader", {}).get("locked"))
    del notebook.cells[locked]
