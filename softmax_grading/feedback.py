"""Feedback pages, written one student at a time, each checked before anyone can see it.

nbgrader's ``generate_feedback`` renders each autograded notebook as HTML with
the course's preprocessors (scores and check messages, never test code). Every
page is then scanned: a page showing a secret line (a hidden test, a solution,
a mark scheme) that the student did not write and the release does not show,
or larger than the size limit, is withheld: deleted and named in the report.
Everyone else's feedback is written regardless.

The page renders its formulas with MathJax 3 from a ``mathjax/`` folder beside
it (from the PyPI package django-static-mathjax, as the book does), so maths
reads well offline; the files are hard links to one copy in the feedback
folder where the file system allows it, so a class of 300 costs the space of
one. Send students the whole folder, or use ``nbgrader release_feedback``,
which copies it. Late penalties are brought up to date first
(:func:`softmax_grading.deadlines.refresh_penalties`), so pages show the
penalty on the current score.

``grade`` keeps a page whose inputs have not changed since it was written (the
autograded notebook, the student's grades, comments, time and penalty in the
gradebook, the due date, and the configuration, template and code that render
it: :func:`_page_inputs`), so resuming an interrupted class does not render
every page again; ``feedback`` and ``grade --force`` render them all.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbconvert
import nbgrader
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.converters import GenerateFeedback
from nbgrader.utils import capture_log, temp_attrs
from traitlets import List, Unicode

from softmax_grading import deadlines, leaks
from softmax_grading.command_setup import nbgrader_set_up_once
from softmax_grading.layout import Course
from softmax_grading.one_thread import use_one_blas_thread
from softmax_grading.preprocessors.link_to_book import PACKAGE_REPOSITORY

MAX_PAGE_BYTES = 5_000_000
# Pages a rendering process must have to be worth its start-up (see _render).
PAGES_PER_PROCESS = 40
# The course's feedback template (templates/feedback), which nbgrader_config.py selects.
FEEDBACK_TEMPLATES = str(Path(__file__).parent / "templates")
MATHJAX_FOLDER = "mathjax"  # beside each page; the feedback template loads it from there
# What renders a page besides the gradebook and the notebook: a change to any of these files, or
# to the course's configuration, renders every page again (see _page_inputs).
RENDERING_CODE = (Path(__file__).parent / "templates", Path(__file__).parent / "preprocessors",
                  Path(__file__), Path(__file__).with_name("feedback_html.py"),
                  Path(__file__).with_name("feedback_exporter.py"))
COURSE_CONFIGURATION = ("nbgrader_config.py", "_config.yml")
# MathJax's single-file TeX-to-SVG build, and the TeX packages it loads on first use.
MATHJAX_PARTS = ("tex-svg.js", "input/tex/extensions")


@dataclass
class FeedbackRun:
    written: list[str] = field(default_factory=list)
    withheld: dict[str, str] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)  # pages kept as they were (keep_unchanged)


def generate(course: Course, assignment: str, students: list[str], *,
             keep_unchanged: bool = False, not_graded: dict[str, str] | None = None,
             jobs: int = 1) -> FeedbackRun:
    """Render the students' feedback pages; with ``keep_unchanged``, only those whose inputs
    changed since their pages were written (or that have no page). A student whose current
    submission was not graded (``not_graded``: student -> why) gets no page: the one left from an
    earlier submission would show that submission's work beside this one's zero. Up to ``jobs``
    processes render the pages of a large class (see :func:`_render`); they are started with
    ``spawn``, so a script that calls this with ``jobs > 1`` must do so under
    ``if __name__ == "__main__":``."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    run = FeedbackRun()
    deadlines.refresh_penalties(course, assignment)
    students = [s for s in dict.fromkeys(students) if course.autograded(s, assignment).is_dir()]
    notebooks = course.notebooks(assignment)
    for student in [s for s in students if s in (not_graded or {})]:
        for notebook in notebooks:
            (course.feedback(student, assignment) / f"{notebook}.html").unlink(missing_ok=True)
        _inputs_record(course, assignment, student).unlink(missing_ok=True)
        run.withheld[student] = f"not graded: {not_graded[student]}"
    students = [s for s in students if s not in run.withheld]
    inputs = _page_inputs(course, assignment, students, notebooks)
    for student in students:  # a page may be kept only once it is known to match its inputs
        recorded = _inputs_record(course, assignment, student)
        current = (recorded.is_file() and recorded.read_text() == inputs[student]
                   and all((course.feedback(student, assignment) / f"{notebook}.html").is_file()
                           for notebook in notebooks))
        if keep_unchanged and current:
            run.unchanged.append(student)
        else:
            recorded.unlink(missing_ok=True)
    students = [student for student in students if student not in run.unchanged]
    for student in students:  # a page left by an earlier run must not pass for this run's
        for notebook in notebooks:
            (course.feedback(student, assignment) / f"{notebook}.html").unlink(missing_ok=True)
    if students:
        _render(course, assignment, students, jobs)
    for notebook in notebooks:
        secrets = leaks.secret_lines(course.source_notebook(assignment, notebook))
        released = leaks.lines_written_in(course.release_notebook(assignment, notebook))
        for student in students:
            page = course.feedback(student, assignment) / f"{notebook}.html"
            if not page.exists():
                run.withheld[student] = "nbgrader could not render the feedback page"
                continue
            try:
                reason = _problem(page, secrets, released | leaks.lines_written_in(
                    course.submitted(student, assignment) / f"{notebook}.ipynb"))
            except Exception as error:  # a page that cannot be checked is not shown
                reason = f"the page could not be checked ({type(error).__name__}: {error})"
            if reason:
                page.unlink()
                run.withheld[student] = reason
    run.written = [student for student in students if student not in run.withheld]
    for student in run.written:
        _add_mathjax(course, course.feedback(student, assignment))
        record = _inputs_record(course, assignment, student)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(inputs[student])
    return run


def _inputs_record(course: Course, assignment: str, student: str) -> Path:
    """Where the digest of a student's page inputs is kept: the instructor's reports folder."""
    return course.reports(assignment) / "feedback_inputs" / f"{student}.sha256"


def _page_inputs(course: Course, assignment: str, students: list[str],
                 notebooks: list[str]) -> dict[str, str]:
    """Per student, a digest of everything their feedback pages are rendered from."""
    rendering = hashlib.sha256(f"{nbgrader.__version__} {nbconvert.__version__}".encode())
    configuration = [course.root / name for name in COURSE_CONFIGURATION]
    configuration.append(PACKAGE_REPOSITORY / "_config.yml")  # LinkToBook's fallback
    for path in sorted(_files(RENDERING_CODE)) + configuration:
        rendering.update(str(path).encode() + (path.read_bytes() if path.is_file() else b"-"))
    digests = {}
    with Gradebook(course.db_url) as gradebook:
        duedate = gradebook.find_assignment(assignment).duedate
        for student in students:
            digest = rendering.copy()
            digest.update(json.dumps(_recorded_for(gradebook, assignment, student),
                                     sort_keys=True, default=str).encode())
            digest.update(str(duedate).encode())
            for notebook in notebooks:
                page_source = course.autograded(student, assignment) / f"{notebook}.ipynb"
                digest.update(page_source.read_bytes() if page_source.is_file() else b"-")
            digests[student] = digest.hexdigest()
    return digests


def _recorded_for(gradebook: Gradebook, assignment: str, student: str) -> dict:
    """What the gradebook holds about a student's submission that a page can show."""
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return {}
    person = submission.student
    return {
        "student": [person.first_name, person.last_name, person.email],
        "timestamp": submission.timestamp,
        "notebooks": {
            notebook.name: {
                "penalty": notebook.late_submission_penalty,
                "grades": sorted((g.name, g.auto_score, g.manual_score, g.extra_credit,
                                  g.needs_manual_grade, g.max_score) for g in notebook.grades),
                "comments": sorted((c.name, c.auto_comment, c.manual_comment)
                                   for c in notebook.comments),
            } for notebook in submission.notebooks},
    }


def _files(paths) -> list[Path]:
    """The files among ``paths`` and inside the folders among them (bytecode left out)."""
    found = []
    for path in paths:
        if path.is_dir():
            found += [file for file in path.rglob("*")
                      if file.is_file() and "__pycache__" not in file.parts]
        else:
            found.append(path)
    return found


class _GenerateFeedbackFor(GenerateFeedback):
    """nbgrader's ``generate_feedback`` for the chosen students only, in one run.

    One run has one HTML exporter, so the feedback template is compiled once for the class
    (about 0.35 s per page when every student gets a run of their own, as through
    ``NbGraderAPI.generate_feedback(assignment, student)``). nbgrader renders each student
    separately within the run: one that fails loses only their own pages.
    """

    students = List(Unicode(), help="The student ids whose feedback is generated.")

    def init_notebooks(self) -> None:
        super().init_notebooks()  # every autograded submission of the assignment
        chosen = {os.path.normpath(self._format_source(self.coursedir.assignment_id, student))
                  for student in self.students}
        self.assignments = {folder: found for folder, found in self.assignments.items()
                            if os.path.normpath(folder) in chosen}


def _render(course: Course, assignment: str, students: list[str], jobs: int = 1) -> None:
    """Write the students' feedback pages with the course's nbgrader configuration; a page that
    is missing afterwards could not be rendered (nbgrader logged why).

    A page takes about 0.1 s, and a process of its own costs a renderer about 2 s (importing
    nbgrader, compiling the template), so a class is shared between up to ``jobs`` processes
    only where each gets at least PAGES_PER_PROCESS pages: this one renders the first share
    while started ones render the others: ``generate`` for a class of 128 took 14.1 and 14.8 s
    with two processes, 21.1 and 23.3 s with one (two cores). Rendering only reads the
    gradebook and writes each student's own feedback folder, so the processes share nothing
    else.
    """
    processes = max(1, min(jobs, len(students) // PAGES_PER_PROCESS))
    if processes == 1:
        _render_here(course, assignment, students)
        return
    shares = [students[index::processes] for index in range(processes)]
    with ProcessPoolExecutor(processes - 1, mp_context=multiprocessing.get_context("spawn"),
                             initializer=use_one_blas_thread) as pool:
        started = [pool.submit(_render_in_a_process, course.root, assignment, share)
                   for share in shares[1:]]
        _render_here(course, assignment, shares[0])
        for share, future in zip(shares[1:], started, strict=True):
            try:
                future.result()
            except Exception as error:  # its pages are missing: generate() withholds them
                print(f"warning: feedback for {len(share)} student(s) could not be rendered "
                      f"({type(error).__name__}: {error})", flush=True)


def _render_in_a_process(root: Path, assignment: str, students: list[str]) -> None:
    with nbgrader_set_up_once():  # as in the command that started this process
        _render_here(Course(root), assignment, students)


def _render_here(course: Course, assignment: str, students: list[str]) -> None:
    api = NbGraderAPI(coursedir=course.coursedir, config=course.config)
    with temp_attrs(api.coursedir, assignment_id=assignment, student_id="*"):
        app = _GenerateFeedbackFor(coursedir=api.coursedir, parent=api, students=students)
        app.force = True
        capture_log(app)


def mathjax_source() -> Path:
    """MathJax 3's es5 folder in the installed django-static-mathjax package."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("Feedback pages need MathJax: pip install -e '.[grade]' "
                         "(django-static-mathjax)")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"


def _add_mathjax(course: Course, folder: Path) -> None:
    shared = course.root / course.coursedir.feedback_directory / f".{MATHJAX_FOLDER}"
    if not (shared / MATHJAX_PARTS[0]).exists():
        for part in MATHJAX_PARTS:
            _copy(mathjax_source() / part, shared / part, shutil.copy2)
    for part in MATHJAX_PARTS:
        _copy(shared / part, folder / MATHJAX_FOLDER / part, _link_or_copy)


def _copy(source: Path, destination: Path, copy_file) -> None:
    files = sorted(source.rglob("*")) if source.is_dir() else [source]
    for file in files:
        if file.is_dir():
            continue
        target = destination / file.relative_to(source) if source.is_dir() else destination
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_file(file, target)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _problem(page, secrets: set[str], allowed: set[str]) -> str | None:
    size = page.stat().st_size
    if size > MAX_PAGE_BYTES:
        return f"the page is {size:,} bytes, over the {MAX_PAGE_BYTES:,}-byte limit"
    # The grader's package is public; only solutions, hidden tests and mark schemes are secret.
    found = leaks.find_leaks(page, leaks.readable_text(page), secrets, allowed=allowed, names=())
    if found:
        return "it would show " + "; ".join(repr(leak.secret[:60]) for leak in found[:3])
    return None
