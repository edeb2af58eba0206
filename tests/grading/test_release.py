"""The committed student release is what nbgrader makes from the sources, and it is clean."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pytest
from synthetic import ASSIGNMENTS

from softmax_grading import leaks

pytestmark = pytest.mark.grading

REPO_ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO_ROOT / "solutions"
EXERCISES = REPO_ROOT / "exercises"

# Fields that may differ between two releases of the same source without any
# change a student could see: the Python version Jupyter records, for one.
VOLATILE_METADATA = ("language_info", "widgets")


def _comparable(path: Path) -> dict:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for key in VOLATILE_METADATA:
        notebook.get("metadata", {}).pop(key, None)
    return notebook


@pytest.fixture(scope="module")
def fresh_release(released_course):
    return released_course


def test_every_source_has_a_release():
    released = sorted(p.name for p in EXERCISES.iterdir() if p.is_dir())
    sources = sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir())
    assert released == sources, "run `python3 run.py release` and commit exercises/"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_matches_a_fresh_one(fresh_release, assignment):
    generated = fresh_release.root / "exercises" / assignment
    committed = EXERCISES / assignment
    generated_files = sorted(p.relative_to(generated) for p in generated.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert committed_files == generated_files
    for relative in generated_files:
        if relative.suffix == ".ipynb":
            same = _comparable(committed / relative) == _comparable(generated / relative)
        else:
            same = (committed / relative).read_bytes() == (generated / relative).read_bytes()
        assert same, f"exercises/{assignment}/{relative} is stale: run `python3 run.py release`"


def test_exercises_contain_no_solutions_or_hidden_tests():
    secrets = leaks.all_secret_lines(SOLUTIONS)
    found = []
    for path in sorted(EXERCISES.rglob("*")):
        if path.is_file():
            found += leaks.find_leaks(path, leaks.readable_text(path), secrets)
    assert found == []


def test_the_gradebook_revision_the_tests_use_is_the_one_nbgrader_stamps(released_course,
                                                                         alembic_head):
    """The release's gradebook was stamped by nbgrader itself (``alembic heads``, in a
    subprocess); the tests that make many gradebooks use conftest's in-process reading."""
    with contextlib.closing(sqlite3.connect(released_course.root / "gradebook.db")) as database:
        (stamped,) = database.execute("SELECT version_num FROM alembic_version").fetchone()
    assert stamped == alembic_head
