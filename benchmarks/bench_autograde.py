"""Autograding throughput: seconds per submitted notebook, with and without the course's safeguards.

Builds two throw-away course folders with the same N copies of the reference solution of every
assignment (default: the chapter-1 pilot): one with the course's ``nbgrader_config.py``, one with
nbgrader's default preprocessors (only the folder names changed). Both are autograded in turns,
so the ratio shows what the safeguards (duplicate-cell repair, restored test cells, manual-grade
preservation) cost. Kernel start-up dominates: nbgrader grades serially.

    python benchmarks/bench_autograde.py [--students 8] [--assignment ch01_definition]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import format_table, machine_info, ratio

from softmax_grading.sandbox import Student, make_course, submit

PLAIN_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "softmax-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
"""


def _grading_seconds(root: Path, command: list[str]) -> float:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    started = time.perf_counter()
    subprocess.run(command, cwd=root, env=env, capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--assignment", default="ch01_definition")
    arguments = parser.parse_args()
    assignment, count = arguments.assignment, arguments.students

    with tempfile.TemporaryDirectory() as scratch:
        ours = make_course(Path(scratch) / "ours", [assignment])
        plain = make_course(Path(scratch) / "plain", [assignment])
        (plain.root / "nbgrader_config.py").write_text(PLAIN_CONFIG)
        for course in (ours, plain):
            for index in range(count):
                submit(course, assignment, Student(f"student{index:03d}"))

        ours_seconds = _grading_seconds(
            ours.root, [sys.executable, "-m", "softmax_grading", "autograde", assignment]
        )
        plain_seconds = _grading_seconds(
            plain.root, [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"]
        )

    print(f"Autograding {count} submissions of {assignment}")
    print(machine_info(("nbgrader", "numpy")))
    rows = [
        ["course pipeline (python -m softmax_grading autograde)", f"{ours_seconds:.1f}",
         f"{ours_seconds / count:.2f}", ratio(ours_seconds, plain_seconds)],
        ["plain nbgrader autograde (default preprocessors)", f"{plain_seconds:.1f}",
         f"{plain_seconds / count:.2f}", "1.00"],
    ]
    print(format_table(["pipeline", "total s", "s / notebook", "ratio to plain"], rows))


if __name__ == "__main__":
    main()
