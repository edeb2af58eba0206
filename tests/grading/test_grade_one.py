"""One submission graded by ``grade_submission`` in this process, as a worker grades it."""

from __future__ import annotations

import pytest
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


def _cell(source: str, grade_id: str | None = None) -> dict:
    metadata = {"nbgrader": {"grade_id": grade_id, "grade": True, "locked": True,
                             "points": 1, "solution": False}} if grade_id else {}
    return {"cell_type": "code", "source": source, "metadata": metadata, "outputs": [],
            "execution_count": None}


def test_regression_the_checks_use_one_blas_thread_and_the_caller_keeps_its_own(tmp_path):
    """With --jobs 2 on two cores, each lane's checks started an OpenBLAS thread per core: ch08
    took 2.5 times the CPU of --jobs 1, and longer on the clock."""
    job = GradingJob("s", "a", "a", [_cell("import numpy as np"), _cell(BLAS_THREADS_TEST,
                                                                        "threads")],
                     [STUDENT, TEST], {}, sandbox.Sandbox().limits(), sandboxed=True)
    grade_submission(job)  # a worker's first submission loads what it needs (SciPy's BLAS)
    before = threadpool_info()
    result = grade_submission(job)
    assert result.verdicts["threads"]["passed"], result.verdicts["threads"]["outputs"]
    assert threadpool_info() == before
