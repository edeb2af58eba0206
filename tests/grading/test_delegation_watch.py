"""Every call the tests make of a student's function is watched for delegation, not only one.

A student's cells run in a real sandboxed process (the grader's own
:class:`~softmax_grading.session.Session`); the test cells run in the grader's
:class:`~softmax_grading.checker.Checker`, as in grading. A function that is honest only
while it is watched, only for the check's inputs, or only on its first call, fails; so does
a check that comes after a delegating call. A course function the tests pass in, and
functions no check forbids, are not held to it; what a test's own function runs for the
student is.
"""

from __future__ import annotations

import pytest

from softmax_grading import sandbox
from softmax_grading.checker import Checker
from softmax_grading.session import Session

pytestmark = pytest.mark.grading

SETUP = "import numpy as np\nimport softmax_course\nfrom softmax_course import testing"
HONEST = """
def softmax(z, axis=-1):
    shifted = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)
"""
STUDENTS = {
    "honest": HONEST,
    "profiler_aware": """
import sys

def softmax(z, axis=-1):
    if sys.getprofile() is not None:
        return np.zeros(np.shape(z))
    return softmax_course.softmax(z, axis=axis)
""",
    "input_aware": HONEST.replace("def softmax", "def _own") + """
def softmax(z, axis=-1):
    if np.shape(z) == (3,):
        return _own(z, axis=axis)
    return softmax_course.softmax(z, axis=axis)
""",
    "first_call_honest": HONEST.replace("def softmax", "def _own") + """
_calls = []

def softmax(z, axis=-1):
    _calls.append(1)
    return _own(z, axis=axis) if len(_calls) == 1 else softmax_course.softmax(z, axis=axis)
""",
}
CHECK_FIRST = """
testing.forbid_delegation(softmax, np.array([1.0, 2.0, 3.0]))
testing.compare(softmax, softmax_course.softmax, np.array([1.0, 2.0, 3.0]), case="three")
testing.compare(softmax, softmax_course.softmax, np.zeros(5), case="five zeros")
"""


def _limits() -> dict:
    return {**sandbox.Sandbox().limits(), "cpu_seconds_per_cell": 5.0}


@pytest.fixture()
def release_dir(tmp_path):
    folder = tmp_path / "release"
    folder.mkdir()
    folder.chmod(0o755)
    return folder


def _grade(release_dir, student_source: str, tests: list[tuple[str, str]]) -> dict:
    """Verdicts of the test cells (grade_id, source) on the student's cell, as in grading."""
    with Session(release_dir, _limits(), sandboxed=True) as session:
        session.run_cell(SETUP)
        reply = session.run_cell(student_source)
        assert not [o for o in reply["outputs"] if o["output_type"] == "error"], reply
        checker = Checker(session)
        cells = [(SETUP, None), *((source, grade_id) for grade_id, source in tests)]
        return checker.run(cells)


def _message(verdict) -> str:
    return " ".join(o.get("evalue", "") for o in verdict.outputs if o["output_type"] == "error")


@pytest.mark.parametrize("student", ["profiler_aware", "input_aware", "first_call_honest"])
def test_a_function_honest_only_when_watched_fails_its_part(release_dir, student):
    verdicts = _grade(release_dir, STUDENTS[student], [("part", CHECK_FIRST)])
    assert not verdicts["part"].passed
    if student != "profiler_aware":  # that one returns zeros, which the comparison finds first
        assert "softmax uses softmax_course.softmax" in _message(verdicts["part"])


def test_a_function_that_hides_its_calls_in_a_thread_outside_the_check_fails(release_dir):
    student = HONEST.replace("def softmax", "def _own") + """
import threading

def softmax(z, axis=-1):
    if np.shape(z) == (3,):
        return _own(z, axis=axis)
    out = {}
    worker = threading.Thread(target=lambda: out.update(p=softmax_course.softmax(z, axis=axis)))
    worker.start()
    worker.join()
    return out["p"]
"""
    verdicts = _grade(release_dir, student, [("part", CHECK_FIRST)])
    assert not verdicts["part"].passed
    assert "softmax starts a thread, so its calls cannot be checked" in " ".join(
        _message(verdicts["part"]).split())


@pytest.mark.xfail(strict=True, reason="the memory check's own call is not watched for "
                   "delegation (both at once made honest tiled code several times slower)")
def test_a_function_that_delegates_only_while_its_memory_is_measured_fails(release_dir):
    student = HONEST.replace("def softmax", "def _own") + """
import tracemalloc

def softmax(z, axis=-1):
    if tracemalloc.is_tracing():
        return softmax_course.softmax(z, axis=axis)
    return _own(z, axis=axis)
"""
    verdicts = _grade(release_dir, student, [("part", CHECK_FIRST + (
        'testing.expect(testing.peak_memory(softmax, np.zeros(1000), case="a thousand") >= 0, '
        '"measured")'))])
    assert not verdicts["part"].passed
    assert "softmax uses softmax_course.softmax" in _message(verdicts["part"])


def test_the_honest_function_passes(release_dir):
    verdicts = _grade(release_dir, STUDENTS["honest"], [("part", CHECK_FIRST)])
    assert verdicts["part"].passed, _message(verdicts["part"])


def test_a_check_after_a_delegating_call_fails_even_when_its_own_call_is_honest(release_dir):
    verdicts = _grade(release_dir, STUDENTS["input_aware"], [
        ("values", 'testing.compare(softmax, softmax_course.softmax, np.zeros(5), case="five")'),
        ("delegation", "testing.forbid_delegation(softmax, np.array([1.0, 2.0, 3.0]))"),
    ])
    # No check forbade it yet when the values were compared: that part stands.
    assert verdicts["values"].passed
    assert not verdicts["delegation"].passed
    assert "softmax uses softmax_course.softmax" in _message(verdicts["delegation"])


def test_what_a_check_allows_and_what_the_test_passes_in_are_not_delegation(release_dir):
    student = """
def attention_weights(scores):
    return softmax_course.softmax(scores, axis=-1)

def apply(function, z):
    return function(z) * 1.0
"""
    verdicts = _grade(release_dir, student, [
        ("allowed", "testing.forbid_delegation(attention_weights, np.zeros((2, 3)), "
                    "allow=(softmax_course.softmax,))\n"
                    "testing.compare(attention_weights, softmax_course.softmax, np.ones((2, 4)), "
                    "case='ones')"),
        ("passed_in", "testing.forbid_delegation(apply, softmax_course.softmax, np.zeros(3))\n"
                      "result = apply(softmax_course.log_softmax, np.zeros(3))\n"
                      "testing.expect(np.allclose(result, -np.log(3)), 'log of a third')"),
    ])
    for part in ("allowed", "passed_in"):
        assert verdicts[part].passed, _message(verdicts[part])


def test_what_one_check_allows_a_function_stays_allowed_in_its_other_checks(release_dir):
    student = """
def weights(z):
    if np.ndim(z) == 2:
        return softmax_course.softmax(z, axis=-1)
    shifted = np.exp(z - np.max(z))
    return shifted / np.sum(shifted)
"""
    verdicts = _grade(release_dir, student, [
        ("batches", "testing.forbid_delegation(weights, np.zeros((2, 3)), "
                    "allow=(softmax_course.softmax,))\n"
                    "testing.compare(weights, softmax_course.softmax, np.ones((2, 4)), "
                    "case='ones')"),
        ("vectors", "testing.forbid_delegation(weights, np.zeros(3))"),
    ])
    for part in ("batches", "vectors"):
        assert verdicts[part].passed, _message(verdicts[part])


def test_what_a_test_function_passed_in_runs_for_the_student_is_watched(release_dir):
    # The student chooses what the test's function is called with: here an object whose
    # multiplication calls the library.
    student = """
class _Trick:
    def __init__(self, z):
        self.z = z

    def __mul__(self, other):
        return softmax_course.softmax(self.z) * other

def apply(function, z):
    return function(_Trick(z))
"""
    verdicts = _grade(release_dir, student, [
        ("tricked", "testing.forbid_delegation(apply, lambda v: v * 1.0, np.zeros(3))"),
    ])
    assert not verdicts["tricked"].passed
    assert "apply uses softmax_course.softmax" in _message(verdicts["tricked"])


def test_a_function_no_check_forbids_may_call_the_library(release_dir):
    student = "def weights(z):\n    return softmax_course.softmax(z)\n"
    verdicts = _grade(release_dir, student, [
        ("values", "testing.compare(weights, softmax_course.softmax, np.zeros(4), case='four')"),
    ])
    assert verdicts["values"].passed, _message(verdicts["values"])
