"""Autograde a class: prepare jobs, grade them in sandboxes (in parallel), record them, trusted.

The flow for one assignment:

1. **Prepare** (trusted process). Each submitted notebook is read and sanitized
   with nbgrader's own preprocessors from the course's configuration (locked
   cells and hidden tests restored from the gradebook). An unreadable file is
   named and scored 0. A submission already graded from the same notebook, the
   same tests and the same limits is skipped unless ``force``. Submissions are
   prepared one at a time, as the workers take them, so grading starts with the
   first (preparing a class of 10,000 first would keep Dask's workers waiting
   for minutes).
2. **Grade** (workers: local processes or Dask). :func:`grade_submission` runs
   each job in its own sandbox and returns the outcome as data.
3. **Record** (trusted process, one result at a time, as they arrive). nbgrader's
   ``Autograde`` records the submission, starting from the notebook prepared in
   step 1 rather than sanitizing the file again (:mod:`record_prepared`), with
   the sandboxed result in place of its own execution; manual grades entered
   before a regrade are kept. Only this process writes the gradebook.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from traitlets.utils.importstring import import_item

from softmax_grading import executors, manual_grades, registration, roles, sandbox
from softmax_grading.grade_one import GradingJob, GradingResult, grade_submission
from softmax_grading.layout import Course
from softmax_grading.notebook_lookups import INSTRUCTOR_GRADEBOOK, NotebookLookups
from softmax_grading.preprocessors.apply_grading_result import PENDING
from softmax_grading.preprocessors.restore_locked_cells import InstructorNotebook
from softmax_grading.preprocessors.save_verdicts import TEST_CELLS, tests_of
from softmax_grading.progress import Progress
from softmax_grading.record_prepared import PREPARED, autograde_prepared

RESULTS = "results"
GRADER_FORMAT = "softmax-grading-2"  # bump when a result recorded earlier must be redone
# Exercises have tens of cells. Every step in the trusted process (sanitizing, recording, the
# feedback page) takes time in proportion to the cells, so a notebook of 50,000 Markdown cells
# (5 MB) took two minutes of it: past this many, a submission is named and not graded.
MAX_CELLS_PER_NOTEBOOK = 5_000


class SubmissionTooLarge(ValueError):
    """A notebook with more cells than any exercise needs."""


@dataclass
class AutogradeRun:
    """What one ``autograde`` run did, for the report."""

    assignment: str
    sandboxed: bool
    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_graded: dict[str, str] = field(default_factory=dict)
    edited_locked_cells: dict[str, list[str]] = field(default_factory=dict)


def not_graded_path(course: Course, assignment: str) -> Path:
    return course.reports(assignment) / "not_graded.json"


def remember_not_graded(course: Course, run: AutogradeRun) -> dict[str, str]:
    """Students who could not be graded, this run or an earlier one not since redone."""
    path = not_graded_path(course, run.assignment)
    known = json.loads(path.read_text()) if path.exists() else {}
    for student in run.graded:
        known.pop(student, None)
    known.update(run.not_graded)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known, indent=2, sort_keys=True))
    return known


def result_path(course: Course, assignment: str, student: str) -> Path:
    return course.reports(assignment) / RESULTS / f"{student}.json"


def load_result(course: Course, assignment: str, student: str) -> GradingResult | None:
    path = result_path(course, assignment, student)
    if not path.exists():
        return None
    return GradingResult.from_json(json.loads(path.read_text()))


def _sanitize(course: Course, assignment: str, student: str, notebook: str,
              instructor: InstructorNotebook, gradebook: NotebookLookups
              ) -> tuple[nbformat.NotebookNode, dict]:
    """The submitted notebook as nbgrader's sanitize step leaves it (tests restored).
    `instructor` and `gradebook` are the command's, for every submission: what the gradebook and
    the release say of the notebook, and the gradebook its read-only passes run on."""
    path = course.submitted(student, assignment) / f"{notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)
    if len(nb.cells) > MAX_CELLS_PER_NOTEBOOK:
        raise SubmissionTooLarge(f"{path.name} has {len(nb.cells):,} cells, more than the "
                                 f"{MAX_CELLS_PER_NOTEBOOK:,} a submission may have")
    resources = {"nbgrader": {"student": student, "assignment": assignment,
                              "notebook": notebook, "db_url": course.db_url},
                 "softmax_grading": {"instructor_notebook": instructor,
                                     INSTRUCTOR_GRADEBOOK: gradebook}}
    for name in course.config.Autograde.get("sanitize_preprocessors", []):
        preprocessor_class = import_item(name) if isinstance(name, str) else name
        nb, resources = preprocessor_class(config=course.config).preprocess(nb, resources)
    return nb, resources


def _release_files(course: Course, assignment: str) -> dict[str, bytes]:
    folder = course.folder(course.release, ".", assignment)
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.suffix != ".ipynb"
            and not any(part.startswith(".") for part in path.relative_to(folder).parts)}


def _fingerprint(cells: list[dict], release_files: dict[str, bytes], limits: dict,
                 sandboxed: bool) -> str:
    hasher = hashlib.sha256(GRADER_FORMAT.encode())
    hasher.update(json.dumps([(c["cell_type"], c["source"], c["metadata"].get("nbgrader"))
                              for c in cells], sort_keys=True).encode())
    for name, content in sorted(release_files.items()):
        hasher.update(name.encode() + hashlib.sha256(content).digest())
    hasher.update(json.dumps(limits, sort_keys=True).encode() + str(sandboxed).encode())
    return hasher.hexdigest()


def prepare(course: Course, assignment: str, students: list[str], *, sandboxed: bool,
            force: bool, run: AutogradeRun) -> list[GradingJob]:
    """Jobs for the submissions that need grading; unreadable and unchanged ones are noted."""
    return list(prepared_jobs(course, assignment, students, sandboxed=sandboxed, force=force,
                              run=run))


def prepared_jobs(course: Course, assignment: str, students: list[str], *, sandboxed: bool,
                  force: bool, run: AutogradeRun,
                  left_out: Callable[[str], object] = lambda student: None,
                  ) -> Iterator[GradingJob]:
    """`prepare`, one submission at a time: each job is made as it is asked for, so the
    workers grade the first submissions while the later ones are sanitized.
    ``left_out(student)`` is called for each submission that gets no job: one already graded
    and unchanged (in ``run.skipped``), or one that cannot be graded (in ``run.not_graded``).
    """
    limits = course.sandbox().limits()
    release_files = _release_files(course, assignment)
    # What the gradebook says of the instructor's notebooks and cells is the same for every
    # student: read once per command, into this gradebook (which the sanitizing passes only read)
    # and into the records below, not once per submission.
    with NotebookLookups(course.db_url) as gradebook:
        yield from _jobs(course, assignment, students, gradebook, limits, release_files,
                         sandboxed=sandboxed, force=force, run=run, left_out=left_out)


def _jobs(course: Course, assignment: str, students: list[str], gradebook: NotebookLookups,
          limits: dict, release_files: dict[str, bytes], *, sandboxed: bool, force: bool,
          run: AutogradeRun, left_out: Callable[[str], object]) -> Iterator[GradingJob]:
    # notebook -> what the gradebook and the release say of its instructor cells
    instructor: dict[str, tuple[InstructorNotebook, dict[str, tuple[str, str]]]] = {}

    def instructor_of(notebook: str) -> tuple[InstructorNotebook, dict[str, tuple[str, str]]]:
        if notebook not in instructor:
            record = InstructorNotebook.read(course.db_url, course, assignment, notebook)
            try:
                cells = roles.instructor_cells(gradebook, assignment, notebook)
            finally:
                gradebook.end_read_only_pass()
            instructor[notebook] = (record, cells)
        return instructor[notebook]

    for student in students:
        for notebook in course.notebooks(assignment):
            path = course.submitted(student, assignment) / f"{notebook}.ipynb"
            if not path.exists():
                run.not_graded[student] = f"no file named {path.name} in the submission"
                left_out(student)
                continue
            try:
                record, instructor_cells = instructor_of(notebook)
                nb, resources = _sanitize(course, assignment, student, notebook, record,
                                          gradebook)
            except SubmissionTooLarge as error:
                run.not_graded[student] = str(error)
                left_out(student)
                continue
            except Exception as error:  # any unreadable or unrepairable file: named, scored 0
                run.not_graded[student] = (f"{path.name} is not a readable notebook "
                                           f"({type(error).__name__}: {str(error)[:200]})")
                left_out(student)
                continue
            edited = resources.get("softmax_grading", {}).get("edited_locked_cells", [])
            if edited:
                run.edited_locked_cells[student] = edited
            plain = json.loads(json.dumps(nb))  # plain data for the workers and the writer
            cells = plain.pop("cells")
            cell_roles = roles.assign(cells, instructor_cells)
            fingerprint = _fingerprint(cells, release_files, limits, sandboxed)
            previous = load_result(course, assignment, student)
            if (not force and previous is not None and previous.fingerprint == fingerprint
                    and _recorded(course, assignment, student)):
                run.skipped.append(student)
                left_out(student)
                continue
            yield GradingJob(student, assignment, notebook, cells, cell_roles, release_files,
                             limits, sandboxed, fingerprint, plain)


def _recorded(course: Course, assignment: str, student: str) -> bool:
    if not course.autograded(student, assignment).is_dir():
        return False
    with Gradebook(course.db_url) as gradebook:
        try:
            gradebook.find_submission(assignment, student)
        except MissingEntry:
            return False
    return True


class Writer:
    """The one trusted writer: records results in the gradebook through nbgrader's API."""

    def __init__(self, course: Course, run: AutogradeRun) -> None:
        self.course = course
        self.run = run
        config = copy.deepcopy(course.config)
        # nbconvert validates the whole notebook after every preprocessor (six of them here,
        # a quarter of a record's time); once, after the last, checks the notebook written.
        config.Exporter.optimistic_validation = True
        self.api = NbGraderAPI(coursedir=course.coursedir, config=config)
        # notebook -> its test cells' grade ids, from the gradebook: the same for every student.
        self.tests_by_notebook: dict[str, frozenset[str]] = {}

    def _tests_of(self, assignment: str, notebook: str) -> frozenset[str]:
        if notebook not in self.tests_by_notebook:
            with Gradebook(self.course.db_url) as gradebook:
                self.tests_by_notebook[notebook] = tests_of(gradebook, assignment, notebook)
        return self.tests_by_notebook[notebook]

    def record(self, job: GradingJob, result: GradingResult) -> None:
        path = result_path(self.course, job.assignment, job.student)
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = manual_grades.save(self.course, job.assignment, job.student)
        key = (job.student, job.assignment, job.notebook)
        PENDING[key] = result
        PREPARED[key] = nbformat.from_dict({**job.notebook_header, "cells": job.cells})
        TEST_CELLS[key] = self._tests_of(job.assignment, job.notebook)
        try:
            with _quiet_nbgrader_sessions():
                # The submission was sanitized once, by prepare(): nbgrader records it.
                outcome = autograde_prepared(self.api, job.assignment, job.student)
        finally:
            PENDING.pop(key, None)
            PREPARED.pop(key, None)
            TEST_CELLS.pop(key, None)
        if not outcome.get("success"):
            self.fail(job, RuntimeError(_last_error(outcome)))
            return
        for warning in manual_grades.restore(self.course, job.assignment, job.student, saved):
            print(f"warning: {warning}", flush=True)
        path.write_text(json.dumps(result.to_json()))
        self.run.graded.append(job.student)
        self.run.not_graded.pop(job.student, None)

    def fail(self, job: GradingJob, error: BaseException) -> None:
        self.run.not_graded[job.student] = f"grading failed: {type(error).__name__}: {error}"
        record_zero(self.course, job.assignment, job.student)


def _last_error(outcome: dict) -> str:
    text = outcome.get("error") or outcome.get("log") or "nbgrader's autograde failed"
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "nbgrader's autograde failed"


@contextlib.contextmanager
def _quiet_nbgrader_sessions():
    # nbgrader's own session handling warns about every new submission (harmless).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session.*")
        yield


def record_zero(course: Course, assignment: str, student: str) -> None:
    """A submission that cannot be graded still appears in the gradebook and the CSV, with 0."""
    with _quiet_nbgrader_sessions(), Gradebook(course.db_url) as gradebook:
        gradebook.update_or_create_student(student)
        submission = gradebook.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gradebook.db.commit()


def autograde(course: Course, assignment: str, *, students: list[str] | None = None,
              sandboxed: bool = True, force: bool = False, jobs: int | None = None,
              scheduler: str | None = None) -> AutogradeRun:
    """Grade every submission of `assignment` (or `students`) and record the results: on
    ``jobs`` local worker processes, or on the Dask cluster at `scheduler`."""
    registration.check_gradable(course, assignment)
    run = AutogradeRun(assignment, sandboxed)
    chosen = students if students is not None else course.students(assignment)
    writer = Writer(course, run)
    with Progress(len(chosen), f"grading {assignment}", unit="submission") as progress:

        def left_out(student: str) -> None:
            progress.leave_out()
            if student in run.not_graded:
                record_zero(course, assignment, student)

        # Sanitized one by one as the workers ask for work: grading starts with the first.
        work = prepared_jobs(course, assignment, chosen, sandboxed=sandboxed, force=force,
                             run=run, left_out=left_out)

        def graded(job: GradingJob, result: GradingResult) -> None:
            try:
                writer.record(job, result)
            except Exception as error:  # one submission's record must not end the class's run
                writer.fail(job, error)
            progress.advance(failed=job.student in run.not_graded)

        def failed(job: GradingJob, error: BaseException) -> None:
            writer.fail(job, error)
            progress.advance(failed=True)

        # Each Dask worker must be able to start a sandbox before it is given a submission.
        worker_check = sandbox.check_available if sandboxed and scheduler else None
        executors.run_all(grade_submission, work, jobs=jobs, scheduler=scheduler,
                          on_result=graded, on_failure=failed, worker_check=worker_check)
    remember_not_graded(course, run)
    return run
