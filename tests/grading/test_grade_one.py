"""One submission graded by ``grade_submission`` in this process, as a worker grades it."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell
from threadpoolctl import threadpool_info

from softmax_grading import sandbox
from softmax_grading.grade_one import GradingJob, grade_submission
from softmax_grading.roles import STUDENT, TEST

pytestmark = pytest.mark.grading

# Runs in the checker, the worker's own process, where the tests compute their references. Every
# BLAS library loaded by then counts: NumPy's, and SciPy's (the delegation checks import it).
BLAS_THREADS_TEST = """
from threadpoolctl import threadpool_info
threads = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
assert threads and set(threads) == {1}, threads
"""


def test_regression_the_checks_use_one_blas_thread_and_the_caller_keeps_its_own():
    """With --jobs 2 on two cores, each lane's checks started an OpenBLAS thread per core: ch08
    took 2.5 times the CPU of --jobs 1, and longer on the clock."""
    test_cell = new_code_cell(BLAS_THREADS_TEST, metadata={"nbgrader": {
        "grade_id": "threads", "grade": True, "locked": True, "points": 1, "solution": False}})
    job = GradingJob("s", "a", "a", [new_code_cell("import numpy as np"), test_cell],
                     [STUDENT, TEST], {}, sandbox.Sandbox().limits(), sandboxed=True)
    grade_submission(job)  # a worker's first submission loads what it needs (SciPy's BLAS)
    before = threadpool_info()
    result = grade_submission(job)
    assert result.verdicts["threads"]["passed"], result.verdicts["threads"]["outputs"]
    assert threadpool_info() == before
