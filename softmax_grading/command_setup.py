"""What a grading command runs in, and every process it starts to do nbgrader's work for it.

nbgrader repeats some set-up work on every ``Gradebook`` it opens and every cell it validates.
Inside :func:`nbgrader_set_up_once` that work is done once: one database engine per gradebook
(:mod:`softmax_grading.shared_engine`) and nbgrader's metadata schema checked once
(:mod:`softmax_grading.schema_checked_once`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from softmax_grading.schema_checked_once import schema_checked_once
from softmax_grading.shared_engine import one_engine_per_database


@contextlib.contextmanager
def nbgrader_set_up_once() -> Iterator[None]:
    """nbgrader's per-Gradebook and per-cell set-up work, done once inside the block."""
    with one_engine_per_database(), schema_checked_once():
        yield
