"""One released course per test run, copied for every grading test that needs one.

Releasing creates the gradebook (nbgrader runs ``alembic heads`` in a subprocess) and generates
every assignment, which is the slow part of building a course: about 30 s of CPU. It is done
once per test run, by the first xdist worker that needs it, and never written to afterwards;
each worker, and each test that needs a course of its own, grades in a copy, adding students
whose names never collide.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import alembic.config
import alembic.script
import nbgrader.api
import nbgrader.dbutil
import pytest
from filelock import FileLock
from synthetic import ASSIGNMENTS, TEST_LIMITS, make_course

from softmax_grading.layout import Course

# Written last into the shared release: a worker that finds it knows the release is whole.
RELEASE_DONE = ".released"


@pytest.fixture(scope="session")
def pristine_release(tmp_path_factory, grading_env) -> Path:
    """The course folder as ``release`` leaves it, for this test run. Copy it; never write to it.

    Under xdist every worker's temporary folder sits in one folder per run: the first worker to
    take the lock releases there, and the others wait for it and use the same release.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:  # one process: nobody to share with
        return _release(tmp_path_factory.mktemp("release") / "course", grading_env)
    shared = tmp_path_factory.getbasetemp().parent / "pristine-release"
    with FileLock(f"{shared}.lock"):
        if not (shared / RELEASE_DONE).exists():
            shutil.rmtree(shared, ignore_errors=True)  # a worker that failed half way
            _release(shared, grading_env)
            (shared / RELEASE_DONE).touch()
    return shared


def _release(directory: Path, grading_env: dict) -> Path:
    saved_path = os.environ["PATH"]
    os.environ["PATH"] = grading_env["PATH"]  # nbgrader runs `alembic` for a new gradebook
    try:
        make_course(directory, ASSIGNMENTS)
    finally:
        os.environ["PATH"] = saved_path
    return directory


@pytest.fixture(scope="session")
def copy_of_release(pristine_release):
    """``copy_of_release(directory, settings="")``: a course of its own at `directory` (a new
    folder), with the release, its configuration and its gradebook, and no students;
    `settings` (lines of Python, such as sandbox limits) are appended to its configuration."""

    def copy(directory: Path, settings: str = "") -> Course:
        shutil.copytree(pristine_release, directory,
                        ignore=shutil.ignore_patterns(RELEASE_DONE))
        with open(directory / "nbgrader_config.py", "a", encoding="utf-8") as config:
            config.write(settings)
        return Course(directory)

    return copy


@pytest.fixture(scope="session")
def released_course(copy_of_release, tmp_path_factory) -> Course:
    """This worker's copy of the release, with short sandbox limits; tests add students to it."""
    return copy_of_release(tmp_path_factory.mktemp("course") / "course", TEST_LIMITS)


@pytest.fixture(scope="session")
def grading_env():
    """The environment for `python -m softmax_grading` in a subprocess (nbgrader needs alembic)."""
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture(scope="session")
def alembic_head() -> str:
    """What ``nbgrader.api.get_alembic_version`` answers, read in this process from nbgrader's
    migration scripts: that function runs ``alembic heads`` in a new interpreter, which imports
    nbgrader again (about 5 s of CPU). test_release.py checks the two agree."""
    configuration = alembic.config.Config()
    configuration.set_main_option("script_location", nbgrader.dbutil.ALEMBIC_DIR)
    return alembic.script.ScriptDirectory.from_config(configuration).get_current_head()


@pytest.fixture()
def alembic_head_asked_once(monkeypatch, alembic_head):
    """Every new gradebook asks ``alembic heads`` in a subprocess (about 5 s of CPU: it imports
    nbgrader) for a version that is the same for one nbgrader: tests that make many databases
    ask it once."""
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: alembic_head)
