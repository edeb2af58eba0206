"""One released course per test run, shared by every grading test that needs one.

Releasing creates the gradebook (nbgrader runs its migrations) and generates
every assignment, which is the slow part of building a course; the tests then
add their own students, with names that never collide, and grade them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbgrader.api
import pytest
from synthetic import ASSIGNMENTS, TEST_LIMITS, make_course


@pytest.fixture(scope="session")
def released_course(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("course"), ASSIGNMENTS)
    with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(TEST_LIMITS)
    return course


@pytest.fixture(scope="session")
def grading_env():
    """The environment for `python -m softmax_grading` in a subprocess (nbgrader needs alembic)."""
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture(scope="session")
def alembic_head() -> str:
    return nbgrader.api.get_alembic_version()


@pytest.fixture()
def alembic_head_asked_once(monkeypatch, alembic_head):
    """Every new gradebook asks ``alembic heads`` in a subprocess (1 to 2 s) for a version that is
    the same for one nbgrader: tests that make many databases ask it once."""
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: alembic_head)
