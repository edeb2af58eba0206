"""The instructor's flow in one command: release, collect, autograde, feedback, export.

Run it from the course folder (the one with ``nbgrader_config.py``)::

    python -m softmax_grading release                 # solutions/ -> exercises/
    python -m softmax_grading collect ch01_definition --zip lms_download.zip
    python -m softmax_grading grade ch01_definition   # autograde + feedback + export

Each step is nbgrader's own command-line tool, run with the course's
configuration. Around them this module adds the checks that keep a class's
grades safe: unreadable submissions are reported by name instead of being lost
in a log, every submitted student is accounted for after autograding, and the
feedback is scanned for hidden tests and solution code before anyone sees it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from softmax_grading import leaks


@dataclass
class Course:
    """A course folder laid out as ``nbgrader_config.py`` says."""

    root: Path
    source: str = "solutions"
    release: str = "exercises"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def assignments(self) -> list[str]:
        return sorted(p.name for p in (self.root / self.source).iterdir() if p.is_dir())

    def submissions(self, assignment: str) -> dict[str, Path]:
        """Student id -> submitted folder for `assignment`."""
        submitted = self.root / "submitted"
        if not submitted.is_dir():
            return {}
        return {
            student.name: student / assignment
            for student in sorted(submitted.iterdir())
            if (student / assignment).is_dir()
        }


def nbgrader(course: Course, *arguments: str, check: bool = True) -> int:
    """Run an nbgrader command in the course folder; return its exit code."""
    env = dict(os.environ)
    # nbgrader starts `alembic` by name, so this interpreter's scripts come first.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [sys.executable, "-m", "nbgrader", *arguments]
    print("$ nbgrader " + " ".join(arguments), flush=True)
    completed = subprocess.run(command, cwd=course.root, env=env)
    if check and completed.returncode != 0:
        raise SystemExit(f"nbgrader {arguments[0]} failed with exit code {completed.returncode}")
    return completed.returncode


def release(course: Course, assignments: list[str]) -> None:
    """Generate the student notebooks and refuse to leave a leaking release behind."""
    for assignment in assignments or course.assignments():
        nbgrader(course, "generate_assignment", assignment, "--force")
        source = course.root / course.source / assignment / f"{assignment}.ipynb"
        secrets = leaks.secret_lines(source)
        found = []
        for path in sorted((course.root / course.release / assignment).rglob("*")):
            if path.is_file():
                found += leaks.find_leaks(path, leaks.readable_text(path), secrets)
        if found:
            shutil.rmtree(course.root / course.release / assignment)
            raise SystemExit("The release leaked and was deleted:\n" + "\n".join(map(str, found)))


def collect(course: Course, assignment: str, archive: Path) -> None:
    """Unpack an LMS download with ``nbgrader zip_collect`` into ``submitted/``."""
    archive_dir = course.root / "downloaded" / assignment / "archive"
    archive_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(archive, archive_dir / archive.name)
    before = set(course.submissions(assignment))
    nbgrader(course, "zip_collect", assignment, "--force")
    collected = set(course.submissions(assignment)) - before
    notebooks_in_archive = [name for name in _archive_names(archive) if name.endswith(".ipynb")]
    print(f"collected {len(collected)} new student(s) from {len(notebooks_in_archive)} notebook(s)")
    if notebooks_in_archive and not collected and not before:
        raise SystemExit(
            "No submission matched FileNameCollectorPlugin.named_regexp in nbgrader_config.py; "
            "adapt the pattern to your LMS's file names."
        )


def _archive_names(archive: Path) -> list[str]:
    with zipfile.ZipFile(archive) as bundle:
        return bundle.namelist()


def unreadable_submissions(course: Course, assignment: str) -> dict[str, str]:
    """Students whose notebook is missing or cannot be read, with the reason."""
    problems = {}
    for student, folder in course.submissions(assignment).items():
        notebook_path = folder / f"{assignment}.ipynb"
        if not notebook_path.exists():
            problems[student] = f"no file named {notebook_path.name} in the submission"
            continue
        try:
            nbformat.read(notebook_path, as_version=4)
        except Exception as error:  # any reason a notebook cannot be read is reported the same way
            problems[student] = f"not a readable notebook ({type(error).__name__}: {error})"
    return problems


def autograde(course: Course, assignment: str, extra: list[str]) -> bool:
    """Autograde every submission; report each student who could not be graded.

    Returns True when every submission was graded. nbgrader keeps going after
    a broken submission and gives it 0; this summary makes sure the
    instructor hears about each one by name.
    """
    problems = unreadable_submissions(course, assignment)
    for student, reason in problems.items():
        print(f"warning: {student}: {reason}; it will score 0", flush=True)
    manual_work = save_manual_grading(course, assignment)
    nbgrader(course, "autograde", assignment, "--force", *extra, check=False)
    # A readable submission can still fail for a passing reason (a kernel that died or did not
    # start on a loaded machine): grade each such student once more, alone, before giving up.
    for student in course.submissions(assignment):
        if student not in problems and not _autograded_path(course, assignment, student).exists():
            print(f"retrying {student}: autograding failed in the batch", flush=True)
            nbgrader(course, "autograde", assignment, "--force", f"--student={student}", *extra,
                     check=False)
    restored = restore_manual_grading(course, assignment, manual_work)
    if restored:
        print(f"kept {restored} manual score(s) and comment(s) from before this run", flush=True)

    not_graded = {}
    with Gradebook(course.db_url) as gradebook:
        for student in course.submissions(assignment):
            autograded = _autograded_path(course, assignment, student)
            try:
                gradebook.find_submission(assignment, student)
            except MissingEntry:
                not_graded[student] = "missing from the gradebook"
                continue
            if not autograded.exists():
                not_graded[student] = problems.get(student, "autograding failed (see the log)")
        print_scores(gradebook, assignment, course.submissions(assignment))
    for student, reason in not_graded.items():
        print(f"NOT GRADED: {student}: {reason}", flush=True)
    return not not_graded


def _autograded_path(course: Course, assignment: str, student: str) -> Path:
    return course.root / "autograded" / student / assignment / f"{assignment}.ipynb"


ManualWork = dict[tuple[str, str, str, str], object]


def save_manual_grading(course: Course, assignment: str) -> ManualWork:
    """Manual scores, extra credit and comments already given for `assignment`.

    ``nbgrader autograde --force`` recreates a submission's grades, which
    erases what graders entered in the formgrader. Regrading after a test fix
    must not cost the graders their work, so it is saved here and put back.
    """
    saved: ManualWork = {}
    if not (course.root / "gradebook.db").exists():
        return saved
    with Gradebook(course.db_url) as gradebook:
        try:
            submissions = gradebook.find_assignment(assignment).submissions
        except MissingEntry:
            return saved
        for submission in submissions:
            for notebook in submission.notebooks:
                key = (submission.student.id, notebook.name)
                for grade in notebook.grades:
                    if grade.manual_score is not None or grade.extra_credit:
                        saved[(*key, "grade", grade.name)] = (grade.manual_score,
                                                              grade.extra_credit)
                for comment in notebook.comments:
                    if comment.manual_comment:
                        saved[(*key, "comment", comment.name)] = comment.manual_comment
    return saved


def restore_manual_grading(course: Course, assignment: str, saved: ManualWork) -> int:
    """Put saved manual work back; returns how many entries were restored."""
    restored = 0
    with Gradebook(course.db_url) as gradebook:
        for (student, notebook, kind, name), value in saved.items():
            try:
                if kind == "grade":
                    grade = gradebook.find_grade(name, notebook, assignment, student)
                    grade.manual_score, grade.extra_credit = value
                else:
                    comment = gradebook.find_comment(name, notebook, assignment, student)
                    comment.manual_comment = value
            except MissingEntry:
                print(f"warning: {student}: {name} no longer exists; its manual {kind} was "
                      f"{value!r}", flush=True)
                continue
            restored += 1
        gradebook.db.commit()
    return restored


def print_scores(gradebook: Gradebook, assignment: str, students) -> None:
    print(f"\n{'student':<24} {'score':>8} {'max':>6}  needs manual grading")
    for student in students:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            continue
        manual = "yes" if submission.needs_manual_grade else "no"
        print(f"{student:<24} {submission.score:>8.2f} {submission.max_score:>6.1f}  {manual}")
    print(flush=True)


def feedback(course: Course, assignment: str) -> None:
    """Generate feedback and check that it shows no hidden tests or solutions."""
    nbgrader(course, "generate_feedback", assignment, "--force", check=False)
    source = course.root / course.source / assignment / f"{assignment}.ipynb"
    secrets = leaks.secret_lines(source)
    found = []
    for student, folder in course.submissions(assignment).items():
        page = course.root / "feedback" / student / assignment / f"{assignment}.html"
        if not page.exists():
            continue
        own_lines = leaks.lines_written_in(folder / f"{assignment}.ipynb")
        found += leaks.find_leaks(page, leaks.readable_text(page), secrets, allowed=own_lines)
    if found:
        for leak in found:
            Path(leak.path).unlink(missing_ok=True)
        raise SystemExit("Feedback leaked and was deleted:\n" + "\n".join(map(str, found)))


def export(course: Course, destination: Path) -> None:
    nbgrader(course, "export", "--to", str(destination))
    print(f"grades written to {destination}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m softmax_grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=Path.cwd(),
                        help="course folder with nbgrader_config.py (default: here)")
    steps = parser.add_subparsers(dest="step", required=True)
    step = steps.add_parser("release", help="generate exercises/ from solutions/")
    step.add_argument("assignments", nargs="*")
    step = steps.add_parser("collect", help="unpack an LMS zip into submitted/")
    step.add_argument("assignment")
    step.add_argument("--zip", type=Path, required=True)
    for name, text in (("autograde", "autograde every submission"),
                       ("feedback", "write feedback HTML without test code"),
                       ("grade", "autograde, feedback and export in one go")):
        step = steps.add_parser(name, help=text)
        step.add_argument("assignment")
        step.add_argument("--to", type=Path, default=Path("grades.csv"))
    step = steps.add_parser("export", help="write the grades CSV")
    step.add_argument("--to", type=Path, default=Path("grades.csv"))
    arguments, extra = parser.parse_known_args(argv)

    course = Course(arguments.course.resolve())
    if arguments.step == "release":
        release(course, arguments.assignments)
    elif arguments.step == "collect":
        collect(course, arguments.assignment, arguments.zip.resolve())
    elif arguments.step == "autograde":
        return 0 if autograde(course, arguments.assignment, extra) else 1
    elif arguments.step == "feedback":
        feedback(course, arguments.assignment)
    elif arguments.step == "export":
        export(course, arguments.to)
    elif arguments.step == "grade":
        all_graded = autograde(course, arguments.assignment, extra)
        feedback(course, arguments.assignment)
        export(course, arguments.to)
        return 0 if all_graded else 1
    return 0
