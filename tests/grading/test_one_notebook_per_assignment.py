"""An assignment of two notebooks, or of none, is refused by name before anything is released or
graded, by the command line and by the Python API alike.

Grading keeps one result, one feedback page and one report line per student and assignment, and
records one notebook at a time. Until 2026-12-01 a second notebook in an assignment's folder was
released, and then every student's record failed with nbgrader's "see the above traceback" as
the only reason, each scored 0; an assignment folder with no notebook graded nobody, silently.
"""

from __future__ import annotations

import re
import shutil

import preloaded_commands
import pytest
from synthetic import ASSIGNMENTS, Student, submit

from softmax_grading import autograde
from softmax_grading.registration import NotOneNotebook

pytestmark = pytest.mark.grading

ASSIGNMENT = "ch01_definition"
if ASSIGNMENT not in ASSIGNMENTS:
    pytest.skip(f"{ASSIGNMENT} is not among the selected assignments", allow_module_level=True)


@pytest.fixture(params=["two notebooks", "no notebook"])
def misshapen_course(request, copy_of_release, tmp_path):
    """A released course with one submission, then its assignment's sources given a second
    notebook, or left with none; and the list of notebooks the error must name."""
    course = copy_of_release(tmp_path / "course")
    submit(course, ASSIGNMENT, Student("someone"))
    folder = course.root / course.source / ASSIGNMENT
    if request.param == "two notebooks":
        shutil.copy(folder / f"{ASSIGNMENT}.ipynb", folder / "part2.ipynb")
        return course, "2 notebooks (ch01_definition.ipynb, part2.ipynb)"
    (folder / f"{ASSIGNMENT}.ipynb").rename(tmp_path / "moved away.ipynb")
    return course, "no notebook"


def _snapshot(course) -> dict[str, bytes]:
    return {str(path.relative_to(course.root)): path.read_bytes()
            for path in sorted(course.root.rglob("*"))
            if path.is_file() and path.relative_to(course.root).parts[0] != course.source}


@pytest.mark.parametrize("step", [["release", ASSIGNMENT], ["release"],  # every assignment
                                  ["grade", ASSIGNMENT, "--jobs", "1"]])
def test_an_assignment_not_of_one_notebook_is_refused_by_name_and_nothing_changes(
        misshapen_course, grading_env, step):
    course, named = misshapen_course
    before = _snapshot(course)
    process = preloaded_commands.run(step, cwd=course.root, env=grading_env)
    assert process.returncode != 0
    message = process.stderr + process.stdout
    assert f"{course.source}/{ASSIGNMENT}/ holds {named};" in message, message
    assert "assignments of one notebook" in message, message
    assert "Traceback" not in message, message
    assert _snapshot(course) == before  # the release, the gradebook and the grades as they were


def test_the_python_api_refuses_it_too(misshapen_course):
    course, named = misshapen_course
    before = _snapshot(course)
    with pytest.raises(NotOneNotebook, match=re.escape(f"holds {named};")):
        autograde.autograde(course, ASSIGNMENT, jobs=1)
    assert _snapshot(course) == before
