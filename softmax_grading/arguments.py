"""``python -m softmax_grading``: the instructor's flow, a thin shell over nbgrader's Python API.

Run it from the course folder (the one with ``nbgrader_config.py``)::

    python -m softmax_grading release                  # solutions/ -> exercises/
    python -m softmax_grading due ch01_definition 2026-12-04T23:59+01:00
    python -m softmax_grading collect ch01_definition --zip lms_download.zip
    python -m softmax_grading grade ch01_definition    # autograde, feedback, CSV, report
    python -m softmax_grading written-export ch01_definition   # mark, then written-import
    python -m softmax_grading export ch01_definition --canvas canvas.csv
    python -m softmax_grading similarity ch01_definition

Every step but ``release`` registers the assignment in the gradebook on first
use (a fresh clone has an empty one).

``grade`` runs every submission's code in a sandbox (bubblewrap), several at a
time (``--jobs``, default: the usable cores) or on a Dask cluster
(``--scheduler tcp://host:8786`` or a scheduler file). Running it again skips
submissions already graded and unchanged (``--force`` regrades them); manual
grades are kept either way. Every run leaves the gradebook, the grades CSV and
``reports/<assignment>/report.{txt,json}`` complete, and names each submission
that could not be graded, was flagged, timed out, or whose feedback was
withheld.
"""

# This module is the command line alone (argparse and the standard library; its docstring is
# the --help text), so that `python -m softmax_grading` can read it, and start its grading
# workers, before it imports nbgrader (softmax_grading/__main__.py).

from __future__ import annotations

import argparse
from pathlib import Path

#: The steps that grade submissions (and take --jobs, --scheduler, --student, --force).
GRADING_STEPS = ("autograde", "grade")


def _assignment_steps() -> dict[str, str]:
    return {
        "collect": "add an LMS download (zip) to submitted/; the newest submission wins",
        "due": "show, set or clear the assignment's due date (for the late policy)",
        "autograde": "grade every submission in a sandbox and write the report",
        "grade": "autograde, feedback, grades CSV and report in one go",
        "feedback": "write feedback pages without test code",
        "export": "write the assignment's grades CSV, and a file for Canvas's gradebook",
        "written-export": "write the written answers to one file graders can mark",
        "written-import": "read marks and comments from that file into the gradebook",
        "similarity": "list the pairs of students whose code is most alike, part by part",
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m softmax_grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=Path.cwd(),
                        help="course folder with nbgrader_config.py (default: here)")
    steps = parser.add_subparsers(dest="step", required=True)
    step = steps.add_parser("release", help="generate exercises/ from solutions/")
    step.add_argument("assignments", nargs="*")
    parsers = {name: steps.add_parser(name, help=text)
               for name, text in _assignment_steps().items()}
    for step in parsers.values():
        step.add_argument("assignment")
    parsers["collect"].add_argument("--zip", type=Path, required=True,
                                    help="the LMS's 'download all submissions' zip")
    parsers["collect"].add_argument(
        "--times", type=Path, default=None,
        help="CSV of submission times: user_id (or student_id) and submitted_at (ISO 8601), "
             "e.g. from Canvas's Submissions API")
    due = parsers["due"].add_mutually_exclusive_group()
    due.add_argument("date", nargs="?", help="e.g. 2026-12-04T23:59+01:00 (a time zone is "
                                             "required)")
    due.add_argument("--clear", action="store_true", help="remove the due date")
    for name in GRADING_STEPS:
        step = parsers[name]
        step.add_argument("--jobs", type=int, default=None,
                          help="submissions graded at once on this machine, and processes "
                               "rendering a large class's feedback pages (default: the usable "
                               "cores)")
        step.add_argument("--scheduler", default=None,
                          help="a Dask scheduler address (tcp://host:8786) or scheduler file")
        step.add_argument("--student", action="append",
                          help="grade only this student (repeatable)")
        step.add_argument("--force", action="store_true",
                          help="regrade submissions already graded and unchanged")
        step.add_argument("--no-sandbox", action="store_true",
                          help="run student code WITHOUT isolation (trusted submissions only)")
    for name in ("grade", "export"):
        parsers[name].add_argument("--to", type=Path, default=None,
                                   help="the grades CSV (default: grades/<assignment>.csv)")
    export_step = parsers["export"]
    export_step.add_argument("--canvas", type=Path, default=None,
                             help="also write this file for Canvas's gradebook import")
    export_step.add_argument("--canvas-column", default=None,
                             help="the Canvas assignment column, e.g. 'Exercise 1 (123456)' "
                                  "(default: the assignment id, a new Canvas assignment)")
    export_step.add_argument("--roster", type=Path, default=None,
                             help="Canvas's gradebook export: names, SIS ids and sections")
    parsers["written-export"].add_argument(
        "--to", type=Path, default=None,
        help="the file to write (default: marking/<assignment>.yaml)")
    parsers["written-export"].add_argument(
        "--pending", action="store_true", help="only answers that still need a mark")
    parsers["written-import"].add_argument("marks", type=Path, help="the marked file")
    parsers["similarity"].add_argument("--top", type=int, default=20,
                                       help="pairs to print (all go to the CSV)")
    return parser


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line `argv` (default: this process's), checked; exits with usage if wrong."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if getattr(arguments, "jobs", None) is not None and arguments.scheduler:
        parser.error("--jobs and --scheduler exclude each other: the cluster sets the workers")
    if getattr(arguments, "jobs", None) is not None and arguments.jobs < 1:
        parser.error("--jobs must be at least 1")
    if (arguments.step == "export" and arguments.canvas is None
            and (arguments.canvas_column or arguments.roster)):
        parser.error("--canvas-column and --roster go with --canvas FILE")
    return arguments


def grades_here(arguments: argparse.Namespace) -> bool:
    """Whether the command grades submissions on this machine's worker processes."""
    return arguments.step in GRADING_STEPS and not arguments.scheduler
