"""A module for test_executors to preload in the local workers' server: it notes where it was
imported, and a job function reports that with the worker it runs in."""

import os

IMPORTED_IN = os.getpid()


def where_imported(item: int) -> tuple[int, int]:
    """(the process that imported this module, the worker running this job)."""
    return IMPORTED_IN, os.getpid()


def blas_threads(item: int) -> list[int]:
    """The threads of every BLAS library loaded in this worker, NumPy's at least."""
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info

    return [library["num_threads"] for library in threadpool_info()]
