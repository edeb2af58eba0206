"""The writer's one-pass record leaves the gradebook and the notebook as nbgrader's two passes did.

``record_prepared.AutogradePrepared`` starts nbgrader's ``Autograde`` at its second pass, from the
notebook ``prepare`` sanitized. Until 2026-12-01 the writer ran both passes, the first handing
that same notebook over (a sanitize preprocessor, kept here as the reference). A mixed class is
graded once, in this process, and the results are recorded both ways, in two copies of the
course: the autograded notebooks must be the same, byte for byte, and so must every grade and
comment.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from synthetic import ASSIGNMENTS, submit

from softmax_grading import autograde
from softmax_grading.command_setup import nbgrader_set_up_once
from softmax_grading.grade_one import grade_submission
from softmax_grading.record_prepared import PREPARED, autograde_prepared

pytestmark = pytest.mark.grading

ASSIGNMENT = "ch01_definition"
if ASSIGNMENT not in ASSIGNMENTS:
    pytest.skip(f"{ASSIGNMENT} is not among the selected assignments", allow_module_level=True)

# Full and partial marks, a deleted and a relabelled test, a pasted cell, a forged locked cell,
# and extra cells with outputs of every kind (an image among them).
CHOSEN = ["naive", "wrong_answers", "deleted_test", "duplicated_cell", "exploring",
          "test_relabelled_as_answer", "forged_locked_cell"]


def _cases():
    path = Path(__file__).resolve().parent / "cases" / f"{ASSIGNMENT}.py"
    spec = importlib.util.spec_from_file_location(f"grading_cases_{ASSIGNMENT}_record", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {student.name: student for student in module.STUDENTS}


# Whose notebooks HandOverPrepared handed over: the two-pass record really ran, not ours twice.
HANDED_OVER: list[str] = []


class HandOverPrepared(NbGraderPreprocessor):
    """The writer's sanitize pass until 2026-12-01: the prepared notebook, as it is."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        HANDED_OVER.append(info["student"])
        return PREPARED[(info["student"], info["assignment"], info["notebook"])], resources


def _nbgraders_two_passes(api, assignment: str, student: str) -> dict:
    return api.autograde(assignment, student, force=True, create=True)


def _course_with_class(copy_of_release, directory: Path):
    course = copy_of_release(directory)
    cases = _cases()
    for name in CHOSEN:
        submit(course, ASSIGNMENT, cases[name])
    return course


def _jobs(course) -> dict:
    run = autograde.AutogradeRun(ASSIGNMENT, sandboxed=True)
    jobs = autograde.prepare(course, ASSIGNMENT, CHOSEN, sandboxed=True, force=True, run=run)
    assert not run.not_graded, run.not_graded
    return {job.student: job for job in jobs}


def _record(course, jobs: dict, results: dict, monkeypatch, *, two_passes: bool):
    run = autograde.AutogradeRun(ASSIGNMENT, sandboxed=True)
    writer = autograde.Writer(course, run)
    if two_passes:
        writer.api.config.Autograde.sanitize_preprocessors = [HandOverPrepared]
        monkeypatch.setattr(autograde, "autograde_prepared", _nbgraders_two_passes)
    try:
        for student, job in jobs.items():
            writer.record(job, results[student])
    finally:
        monkeypatch.setattr(autograde, "autograde_prepared", autograde_prepared)
    assert not run.not_graded, run.not_graded
    assert sorted(run.graded) == sorted(CHOSEN)


def _gradebook(course) -> dict:
    """student -> every grade's and comment's fields, and the notebook's late penalty."""
    state = {}
    with Gradebook(course.db_url) as gradebook:
        for student in CHOSEN:
            notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            state[student] = {
                "grades": sorted((grade.name, grade.auto_score, grade.manual_score,
                                  grade.extra_credit, grade.max_score, grade.needs_manual_grade)
                                 for grade in notebook.grades),
                "comments": sorted((comment.name, comment.auto_comment, comment.manual_comment)
                                   for comment in notebook.comments),
                "late_penalty": notebook.late_submission_penalty,
            }
    return state


def _autograded(course) -> dict[str, bytes]:
    return {student: (course.autograded(student, ASSIGNMENT) / f"{ASSIGNMENT}.ipynb").read_bytes()
            for student in CHOSEN}


@pytest.fixture(scope="module")
def recorded_both_ways(copy_of_release, tmp_path_factory):
    """(ours, nbgrader's two passes): each a course with the class recorded that way."""
    monkeypatch = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("record-prepared")
    ours = _course_with_class(copy_of_release, root / "ours")
    theirs = copy_of_release(root / "two-passes")
    shutil.copytree(ours.root / "submitted", theirs.root / "submitted")
    with nbgrader_set_up_once():
        our_jobs, their_jobs = _jobs(ours), _jobs(theirs)
        for student in CHOSEN:  # the same notebooks, so one grading serves both
            assert our_jobs[student].cells == their_jobs[student].cells, student
        results = {student: grade_submission(job) for student, job in our_jobs.items()}
        _record(ours, our_jobs, results, monkeypatch, two_passes=False)
        HANDED_OVER.clear()
        _record(theirs, their_jobs, results, monkeypatch, two_passes=True)
    monkeypatch.undo()
    assert sorted(HANDED_OVER) == sorted(CHOSEN)  # not our way twice
    return ours, theirs


def test_the_one_pass_record_writes_the_notebooks_nbgraders_two_passes_wrote(
        recorded_both_ways):
    ours, theirs = recorded_both_ways
    our_files, their_files = _autograded(ours), _autograded(theirs)
    for student in CHOSEN:
        assert our_files[student] == their_files[student], student


def test_the_one_pass_record_writes_the_grades_nbgraders_two_passes_wrote(recorded_both_ways):
    ours, theirs = recorded_both_ways
    our_gradebook = _gradebook(ours)
    assert our_gradebook == _gradebook(theirs)
    # Not two empty records alike: the class has full marks and missed parts.
    scores = {student: {name: auto for name, auto, *_ in state["grades"]}
              for student, state in our_gradebook.items()}
    assert scores["naive"]["softmax_robust"] == 0 < scores["naive"]["softmax_basic"]
    assert scores["deleted_test"]["softmax_robust"] > 0


def test_the_record_is_of_the_notebook_graded_not_of_the_file_as_it_is_now(
        copy_of_release, tmp_path):
    """Between sanitizing and recording a submission, its file may change (collected again while
    the class is graded) or break: the record is of the notebook that was graded. nbgrader's
    first pass read the file again, so a broken one failed the record."""
    course = _course_with_class(copy_of_release, tmp_path / "course")
    with nbgrader_set_up_once():
        job = _jobs(course)["naive"]
        result = grade_submission(job)
        submitted = course.submitted("naive", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
        submitted.write_text('{"cells": [ not a notebook any more', encoding="utf-8")
        run = autograde.AutogradeRun(ASSIGNMENT, sandboxed=True)
        autograde.Writer(course, run).record(job, result)
    assert run.graded == ["naive"], run.not_graded
    recorded = (course.autograded("naive", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb").read_text()
    assert "exps / np.sum(exps, axis=axis, keepdims=True)" in recorded  # the naive answer


@pytest.mark.filterwarnings("ignore:.*not in session")  # nbgrader's, after a failed record
def test_a_record_without_its_prepared_notebook_fails_and_names_it(copy_of_release, tmp_path):
    course = _course_with_class(copy_of_release, tmp_path / "course")
    with nbgrader_set_up_once():
        run = autograde.AutogradeRun(ASSIGNMENT, sandboxed=True)
        outcome = autograde_prepared(autograde.Writer(course, run).api, ASSIGNMENT, "naive")
    assert not outcome["success"]
    assert "no prepared notebook" in outcome.get("log", "") + outcome["error"]
    assert not (course.autograded("naive", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb").exists()
