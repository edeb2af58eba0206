"""An assignment of two notebooks is refused by name, before anything is released or graded.

Grading keeps one result, one feedback page and one report line per student and assignment, and
records one notebook at a time. Until 2026-12-01 a second notebook in an assignment's folder was
released, and then every student's record failed with nbgrader's "see the above traceback" as
the only reason, each scored 0.
"""

from __future__ import annotations

import shutil

import preloaded_commands
import pytest
from synthetic import ASSIGNMENTS, Student, submit

pytestmark = pytest.mark.grading

ASSIGNMENT = "ch01_definition"
if ASSIGNMENT not in ASSIGNMENTS:
    pytest.skip(f"{ASSIGNMENT} is not among the selected assignments", allow_module_level=True)


@pytest.fixture()
def two_notebook_course(copy_of_release, tmp_path):
    """A released course, then a second notebook added to its sources."""
    course = copy_of_release(tmp_path / "course")
    folder = course.root / course.source / ASSIGNMENT
    shutil.copy(folder / f"{ASSIGNMENT}.ipynb", folder / "part2.ipynb")
    return course


def _snapshot(course) -> dict[str, bytes]:
    return {str(path.relative_to(course.root)): path.read_bytes()
            for path in sorted(course.root.rglob("*"))
            if path.is_file() and path.relative_to(course.root).parts[0] != course.source}


@pytest.mark.parametrize("step", [["release", ASSIGNMENT], ["release"],  # every assignment
                                  ["grade", ASSIGNMENT, "--jobs", "1"]])
def test_an_assignment_of_two_notebooks_is_refused_by_name_and_nothing_changes(
        two_notebook_course, grading_env, step):
    course = two_notebook_course
    submit(course, ASSIGNMENT, Student("someone"))
    before = _snapshot(course)
    process = preloaded_commands.run(step, cwd=course.root, env=grading_env)
    assert process.returncode != 0
    message = process.stderr + process.stdout
    assert "ch01_definition.ipynb, part2.ipynb" in message, message
    assert "assignments of one notebook" in message, message
    assert "Traceback" not in message, message
    assert _snapshot(course) == before  # the release, the gradebook and the grades as they were
