"""What every local grading worker needs before its first submission, imported once for all.

``python -m softmax_grading`` names this module to :func:`executors.preload_local_workers`: it
is imported in the server process the local workers are forked from, which then holds

* BLAS libraries set to one thread (:mod:`softmax_grading.one_thread`), set before NumPy is
  imported below;
* the grader's modules (:mod:`softmax_grading.grade_one`: the sandbox, the checks, NumPy);
* its first-time tables (:func:`grade_one.warm_up`).

A failure here is not reported, and must not stop the server (every local worker with it): the
first submission that needs what failed fails the same way, and is named in the report.
"""

import contextlib

from softmax_grading.one_thread import use_one_blas_thread

use_one_blas_thread()  # this process is only ever a grading worker's template

with contextlib.suppress(Exception):
    from softmax_grading import grade_one

    grade_one.warm_up()
