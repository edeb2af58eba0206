"""Make sure the gradebook knows an assignment before any step that needs it.

Grading takes the tests, hidden ones included, from the gradebook, and only
nbgrader's ``generate_assignment`` stores them there. On a fresh clone the
release is already committed, so the instructor has no reason to run
``release``; every step that needs the gradebook therefore registers the
assignment itself on first use, by generating it from ``solutions/`` into a
throw-away folder (the committed ``exercises/`` is left alone).
"""

from __future__ import annotations

import copy
import tempfile

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from softmax_grading.layout import Course


class UnknownAssignment(SystemExit):
    pass


class NotOneNotebook(SystemExit):
    pass


def check_gradable(course: Course, assignment: str) -> None:
    """A clear error unless `assignment` is a folder of ``solutions/`` holding one notebook.

    Grading keeps one result, one feedback page and one report line per student and assignment,
    and records one notebook at a time: a second notebook failed every student's record, with
    nbgrader's "see the above traceback" as the only reason given, and a folder with no notebook
    graded nobody without saying so.
    """
    known = course.assignments()
    if assignment not in known:
        raise UnknownAssignment(
            f"There is no assignment {assignment!r} in {course.source}/; the assignments are: "
            + ", ".join(known))
    notebooks = course.notebooks(assignment)
    if len(notebooks) != 1:
        held = (f"{len(notebooks)} notebooks ({', '.join(n + '.ipynb' for n in notebooks)})"
                if notebooks else "no notebook")
        raise NotOneNotebook(
            f"{course.source}/{assignment}/ holds {held}; python -m softmax_grading grades "
            "assignments of one notebook. Make each notebook an assignment of its own: "
            f"{course.source}/<name>/<name>.ipynb.")


def is_registered(course: Course, assignment: str) -> bool:
    with Gradebook(course.db_url) as gradebook:
        try:
            stored = {notebook.name for notebook in gradebook.find_assignment(assignment).notebooks}
        except MissingEntry:
            return False
    return set(course.notebooks(assignment)) <= stored


def ensure_registered(course: Course, assignment: str) -> bool:
    """Register `assignment` in the gradebook if it is not; returns whether it had to."""
    check_gradable(course, assignment)
    if is_registered(course, assignment):
        return False
    with tempfile.TemporaryDirectory(prefix="softmax-register-") as scratch:
        config = copy.deepcopy(course.config)
        config.CourseDirectory.release_directory = scratch  # absolute: outside the course
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        outcome = api.generate_assignment(assignment, force=True, create=True)
    if not outcome.get("success"):
        raise SystemExit(f"Could not register {assignment} in the gradebook:\n{outcome.get('log')}")
    print(f"registered {assignment} in the gradebook (from {course.source}/{assignment})",
          flush=True)
    return True
