"""A grading worker stays light: it imports the sandbox machinery, not nbgrader.

Every local worker process imports ``softmax_grading.grade_one``; importing nbgrader there cost
about 3 s per worker (its server extensions pull in Jupyter's web stack), which the benchmark
measured as most of a small class's fixed cost. Only the trusted writer needs nbgrader.
"""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_worker_function_does_not_import_nbgrader() -> None:
    probe = ("import sys, softmax_grading.grade_one\n"
             "print(sorted(name for name in sys.modules if name.split('.')[0] == 'nbgrader'))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]", result.stdout
