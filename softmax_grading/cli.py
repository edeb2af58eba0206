"""``python -m softmax_grading``: the instructor's flow, a thin shell over nbgrader's Python API.

Run it from the course folder (the one with ``nbgrader_config.py``)::

    python -m softmax_grading release                  # solutions/ -> exercises/
    python -m softmax_grading collect ch01_definition --zip lms_download.zip
    python -m softmax_grading grade ch01_definition    # autograde, feedback, CSV, report

``grade`` runs every submission's code in a sandbox (bubblewrap), several at a
time (``--jobs``, default: the usable cores) or on a Dask cluster
(``--scheduler tcp://host:8786`` or a scheduler file). Running it again skips
submissions already graded and unchanged (``--force`` regrades them); manual
grades are kept either way. Every run leaves the gradebook, the grades CSV and
``reports/<assignment>/report.{txt,json}`` complete, and names each submission
that could not be graded, was flagged, timed out, or whose feedback was
withheld.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.plugins import CsvExportPlugin

from softmax_grading import autograde, executors, feedback, install_cell, leaks, report, sandbox
from softmax_grading.layout import Course


def release(course: Course, assignments: list[str]) -> None:
    """Generate the student notebooks and refuse to leave a leaking release behind."""
    api = NbGraderAPI(coursedir=course.coursedir, config=course.config)
    for assignment in assignments or course.assignments():
        # The install cell follows _config.yml's repository.url (Colab, downloads).
        install_cell.update(course.folder(course.source, ".", assignment).glob("*.ipynb"),
                            course.root)
        outcome = api.generate_assignment(assignment, force=True, create=True)
        if not outcome.get("success"):
            raise SystemExit(f"generate_assignment {assignment} failed:\n{outcome.get('log')}")
        found = []
        for notebook in course.notebooks(assignment):
            secrets = leaks.secret_lines(course.source_notebook(assignment, notebook))
            folder = course.folder(course.release, ".", assignment)
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    found += leaks.find_leaks(path, leaks.readable_text(path), secrets)
        if found:
            shutil.rmtree(course.folder(course.release, ".", assignment))
            raise SystemExit("The release leaked and was deleted:\n" + "\n".join(map(str, found)))
        print(f"released {assignment}")


def collect(course: Course, assignment: str, archive: Path) -> None:
    """Unpack an LMS download with nbgrader's ``zip_collect`` into ``submitted/``."""
    archive_dir = course.root / "downloaded" / assignment / "archive"
    archive_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(archive, archive_dir / archive.name)
    before = set(course.students(assignment))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    subprocess.run([sys.executable, "-m", "nbgrader", "zip_collect", assignment, "--force"],
                   cwd=course.root, env=env, check=False)
    collected = set(course.students(assignment)) - before
    with zipfile.ZipFile(archive) as bundle:
        notebooks = [name for name in bundle.namelist() if name.endswith(".ipynb")]
    print(f"collected {len(collected)} new student(s) from {len(notebooks)} notebook(s)")
    if notebooks and not collected and not before:
        raise SystemExit(
            "No submission matched FileNameCollectorPlugin.named_regexp in nbgrader_config.py; "
            "adapt the pattern to your LMS's file names.")


def export(course: Course, destination: Path) -> None:
    """Write the grades CSV (every student of every assignment) with nbgrader's exporter."""
    with Gradebook(course.db_url) as gradebook:
        CsvExportPlugin(to=str(destination)).export(gradebook)
    print(f"grades written to {destination}")


def run_autograde(course: Course, arguments: argparse.Namespace) -> autograde.AutogradeRun:
    sandboxed = course.sandbox().enabled and not arguments.no_sandbox
    # On a cluster the workers start the sandboxes: each is checked before grading starts
    # (executors.WorkersNotReady names the workers that cannot).
    if sandboxed and not arguments.scheduler:
        try:
            sandbox.check_available()
        except sandbox.SandboxUnavailable as error:
            raise SystemExit(str(error)) from None
    else:
        print("WARNING: the sandbox is OFF: student code runs with your rights", file=sys.stderr)
    try:
        run = autograde.autograde(course, arguments.assignment,
                                  students=arguments.student or None, sandboxed=sandboxed,
                                  force=arguments.force, jobs=arguments.jobs,
                                  scheduler=arguments.scheduler)
    except executors.WorkersNotReady as error:
        raise SystemExit(str(error)) from None
    for student, reason in run.not_graded.items():
        print(f"NOT GRADED: {student}: {reason}", flush=True)
    print(f"graded {len(run.graded)}, skipped {len(run.skipped)} already graded and unchanged, "
          f"not graded {len(run.not_graded)}", flush=True)
    return run


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
    for name, text in (("autograde", "grade every submission in a sandbox"),
                       ("grade", "autograde, feedback, grades CSV and report in one go")):
        step = steps.add_parser(name, help=text)
        step.add_argument("assignment")
        step.add_argument("--to", type=Path, default=Path("grades.csv"), help="CSV to write")
        step.add_argument("--jobs", type=int, default=None,
                          help="submissions graded at once (default: the usable cores)")
        step.add_argument("--scheduler", default=None,
                          help="a Dask scheduler address (tcp://host:8786) or scheduler file")
        step.add_argument("--student", action="append",
                          help="grade only this student (repeatable)")
        step.add_argument("--force", action="store_true",
                          help="regrade submissions already graded and unchanged")
        step.add_argument("--no-sandbox", action="store_true",
                          help="run student code WITHOUT isolation (trusted submissions only)")
    step = steps.add_parser("feedback", help="write feedback pages without test code")
    step.add_argument("assignment")
    step = steps.add_parser("export", help="write the grades CSV")
    step.add_argument("--to", type=Path, default=Path("grades.csv"))
    arguments = parser.parse_args(argv)
    if getattr(arguments, "jobs", None) is not None and arguments.scheduler:
        parser.error("--jobs and --scheduler exclude each other: the cluster sets the workers")

    course = Course(arguments.course.resolve())
    if arguments.step == "release":
        release(course, arguments.assignments)
    elif arguments.step == "collect":
        collect(course, arguments.assignment, arguments.zip.resolve())
    elif arguments.step == "export":
        export(course, arguments.to)
    elif arguments.step == "feedback":
        pages = feedback.generate(course, arguments.assignment,
                                  course.students(arguments.assignment))
        for student, reason in pages.withheld.items():
            print(f"FEEDBACK WITHHELD: {student}: {reason}")
    else:
        run = run_autograde(course, arguments)
        pages = None
        if arguments.step == "grade":
            pages = feedback.generate(course, arguments.assignment,
                                      arguments.student or course.students(arguments.assignment))
            for student, reason in pages.withheld.items():
                print(f"FEEDBACK WITHHELD: {student}: {reason}", flush=True)
            export(course, arguments.to)
        written = report.write(course, report.build(course, arguments.assignment, run, pages))
        print(f"report written to {written[1]}")
        print(written[1].read_text())
        return 0 if not run.not_graded else 1
    return 0
