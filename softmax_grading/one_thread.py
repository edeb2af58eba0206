"""One BLAS thread per grading process: the environment that says so, defined once.

NumPy's OpenBLAS (and SciPy's own copy) start a thread per core when they are imported, and
MKL and OpenMP do the same on first use. A grading process is given one core: the student's
process in its sandbox, and each local grading lane (``--jobs N`` runs N of them on N cores).
With a BLAS thread per core in each, N lanes run N times as many threads as there are cores,
which spin against each other; starting them also cost each lane 0.2 s of CPU (0.42 s instead
of 0.62 s to import NumPy and SciPy, here). Dask's nanny gives its workers the same variables,
for the same reason (``distributed.nanny.pre-spawn-environ``).
"""

from __future__ import annotations

import os
import sys

ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def use_one_blas_thread() -> None:
    """Set this process's BLAS libraries to one thread: the ones it loads from now on, through
    the environment, and any it has loaded already (a local worker is forked from a server
    process, which may have imported NumPy before anyone set the environment)."""
    os.environ.update(ONE_BLAS_THREAD)
    if "numpy" in sys.modules or "scipy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)  # for the rest of this process, not a `with` block
