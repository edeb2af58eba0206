"""The steps of ``python -m softmax_grading``, a thin shell over nbgrader's Python API.

The command line itself (usage, options, their checks) is :mod:`softmax_grading.arguments`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI

from softmax_grading import arguments as arguments_module
from softmax_grading import (
    autograde,
    canvas,
    deadlines,
    executors,
    feedback,
    install_cell,
    leaks,
    registration,
    report,
    sandbox,
    similarity,
    written,
)
from softmax_grading import collect as collect_module
from softmax_grading import export as export_module
from softmax_grading.command_setup import nbgrader_set_up_once
from softmax_grading.layout import CONFIG_FILE, Course
from softmax_grading.untrusted import printable


def release(course: Course, assignments: list[str]) -> None:
    """Generate the student notebooks and refuse to leave a leaking release behind."""
    chosen = assignments or course.assignments()
    for assignment in chosen:  # all checked before any is released
        registration.check_gradable(course, assignment)
    api = NbGraderAPI(coursedir=course.coursedir, config=course.config)
    for assignment in chosen:
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


def collect(course: Course, assignment: str, archive: Path, times: Path | None = None) -> None:
    """Add one LMS download to the assignment's submissions (newest per student wins)."""
    run = collect_module.collect(course, assignment, archive, times)
    print(f"collected {run.new_versions} new notebook(s); {len(run.students_updated)} "
          f"student(s) now have a newer submission in submitted/", flush=True)
    if run.times_updated:
        print(f"{run.times_updated} notebook(s) collected before now have a known (or "
              "earlier) submission time", flush=True)
    for student, entry in run.late_time_unknown.items():
        print(f"LATE, TIME UNKNOWN: {printable(student)} ({printable(entry)}): "
              f"{collect_module.LATE_TIME_UNKNOWN}", flush=True)
    if run.time_unknown and times:
        print(f"NOTE: {run.time_unknown} student(s) of this zip are not in {times.name} and "
              "have no known submission time (nbgrader counts them on time)", flush=True)
    elif run.time_unknown:
        print(f"NOTE: {run.time_unknown} student(s) of this zip have no known submission time "
              "(nbgrader counts them on time): give the LMS's times with --times FILE, see "
              "the instructor guide's 'Due dates and late work'", flush=True)
    for name, reason in run.skipped.items():
        print(f"SKIPPED: {printable(name)}: {reason}", flush=True)
    for name in run.unmatched:
        print(f"SKIPPED: {printable(name)}: its name does not match "
              "FileNameCollectorPlugin.named_regexp (nbgrader_config.py) or names no notebook "
              "of the assignment", flush=True)
    if run.unmatched and not collect_module.load_versions(course, assignment):
        raise SystemExit("No file matched FileNameCollectorPlugin.named_regexp in "
                         "nbgrader_config.py; adapt the pattern to your LMS's file names.")
    if run.late_marked and deadlines.due_date(course, assignment) is None:
        print(f"NOTE: the LMS marked {run.late_marked} file(s) late, but {assignment} has no due "
              f"date here: set one with `python -m softmax_grading due {assignment} "
              "2026-12-04T23:59+01:00` to apply the late policy", flush=True)


def export(course: Course, assignment: str, destination: Path,
           not_graded: dict[str, str] | None = None) -> None:
    """Write the assignment's grades CSV (totals, lateness, parts, pending manual grading)."""
    export_module.write(course, assignment, destination, not_graded)
    print(f"grades written to {destination}", flush=True)


def run_autograde(course: Course, arguments: argparse.Namespace) -> autograde.AutogradeRun:
    sandboxed = course.sandbox().enabled and not arguments.no_sandbox
    # On a cluster the workers start the sandboxes: each is checked before grading starts
    # (executors.WorkersNotReady names the workers that cannot).
    if not sandboxed:
        print("WARNING: the sandbox is OFF: student code runs with your rights", file=sys.stderr)
    elif not arguments.scheduler:
        try:
            sandbox.check_available()
        except sandbox.SandboxUnavailable as error:
            raise SystemExit(str(error)) from None
    try:
        run = autograde.autograde(course, arguments.assignment,
                                  students=arguments.student or None, sandboxed=sandboxed,
                                  force=arguments.force, jobs=arguments.jobs,
                                  scheduler=arguments.scheduler)
    except executors.WorkersNotReady as error:
        raise SystemExit(str(error)) from None
    for student, reason in run.not_graded.items():
        print(f"NOT GRADED: {printable(student)}: {printable(reason)}", flush=True)
    print(f"graded {len(run.graded)}, skipped {len(run.skipped)} already graded and unchanged, "
          f"not graded {len(run.not_graded)}", flush=True)
    return run


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: this process's) here."""
    return run(arguments_module.parse(argv))


def run(arguments: argparse.Namespace) -> int:
    """Run the step `arguments` name."""
    with nbgrader_set_up_once():
        return _run(arguments)


def _run(arguments: argparse.Namespace) -> int:
    course = Course(arguments.course.resolve())
    if not (course.root / CONFIG_FILE).exists():
        arguments_module.build_parser().error(
            f"{course.root} has no {CONFIG_FILE}: run this from the course folder or give "
            "--course")
    if arguments.step == "release":
        release(course, arguments.assignments)
        return 0
    assignment = arguments.assignment
    registration.ensure_registered(course, assignment)
    if arguments.step == "collect":
        collect(course, assignment, arguments.zip.resolve(),
                arguments.times.resolve() if arguments.times else None)
    elif arguments.step == "due":
        due_date(course, assignment, arguments.date, arguments.clear)
        if arguments.date or arguments.clear:  # the late penalties changed
            export(course, assignment, export_module.default_path(course, assignment),
                   _not_graded(course, assignment))
    elif arguments.step == "export":
        export(course, assignment, arguments.to or export_module.default_path(course, assignment),
               _not_graded(course, assignment))
        if arguments.canvas:
            canvas_file = canvas.write(course, assignment, arguments.canvas,
                                       arguments.canvas_column, arguments.roster)
            print(f"Canvas gradebook file written to {arguments.canvas} "
                  f"({canvas_file.scored} score(s))", flush=True)
            for student, why in canvas_file.left_blank.items():
                print(f"LEFT BLANK for Canvas: {printable(student)}: {printable(why)}",
                      flush=True)
    elif arguments.step == "feedback":
        pages = feedback.generate(course, assignment, course.students(assignment),
                                  not_graded=_not_graded(course, assignment),
                                  jobs=executors.default_jobs())
        for student, reason in pages.withheld.items():
            print(f"FEEDBACK WITHHELD: {printable(student)}: {printable(reason)}")
    elif arguments.step == "written-export":
        destination = arguments.to or course.root / "marking" / f"{assignment}.yaml"
        count = written.export_answers(course, assignment, destination, arguments.pending)
        print(f"{count} written answer(s) written to {destination}")
    elif arguments.step == "written-import":
        count = written.import_marks(course, assignment, arguments.marks)
        print(f"{count} mark(s) imported into the gradebook; run `python -m softmax_grading "
              f"feedback {assignment}` to show them to the students")
        export(course, assignment, export_module.default_path(course, assignment),
               _not_graded(course, assignment))
    elif arguments.step == "similarity":
        not_compared: dict[str, str] = {}
        pairs = similarity.compare(course, assignment, not_compared)
        for student, why in not_compared.items():
            print(f"NOT COMPARED: {printable(student)}: {printable(why)}", flush=True)
        path = similarity.write_csv(pairs, course.reports(assignment) / "similarity.csv")
        print(similarity.as_table(pairs, arguments.top))
        print(f"all {len(pairs)} pair(s) with any overlap written to {path}")
    else:
        run = run_autograde(course, arguments)
        pages = None
        if arguments.step == "grade":
            pages = feedback.generate(course, assignment,
                                      arguments.student or course.students(assignment),
                                      keep_unchanged=not arguments.force,
                                      not_graded=_not_graded(course, assignment),
                                      jobs=arguments.jobs or executors.default_jobs())
            for student, reason in pages.withheld.items():
                print(f"FEEDBACK WITHHELD: {printable(student)}: {printable(reason)}", flush=True)
            print(f"feedback: {len(pages.written)} page(s) written, {len(pages.unchanged)} "
                  "unchanged since they were written", flush=True)
            export(course, assignment,
                   arguments.to or export_module.default_path(course, assignment),
                   _not_graded(course, assignment))
        written_report = report.write(course, report.build(course, assignment, run, pages))
        print(f"report written to {written_report[1]}")
        print(written_report[1].read_text())
        return 0 if not run.not_graded else 1
    return 0


def _not_graded(course: Course, assignment: str) -> dict[str, str]:
    path = autograde.not_graded_path(course, assignment)
    return json.loads(path.read_text()) if path.exists() else {}


def due_date(course: Course, assignment: str, text: str | None, clear: bool) -> None:
    if clear:
        deadlines.set_due_date(course, assignment, None)
        print(f"{assignment} has no due date now; nothing counts as late")
    elif text:
        when = deadlines.set_due_date(course, assignment, text)
        print(f"{assignment} is due {when.isoformat()}Z; the late policy applies from the next "
              "`grade`, `feedback` or `export`")
    else:
        when = deadlines.due_date(course, assignment)
        print(f"{assignment} is due {when.isoformat()}Z" if when else
              f"{assignment} has no due date")
