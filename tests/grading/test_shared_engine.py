"""One SQLAlchemy engine per gradebook for a command (softmax_grading.shared_engine): fast, no
course needed. The end-to-end tests grade through it, since every command runs inside it."""

from __future__ import annotations

import nbgrader.api
import pytest
from nbgrader.api import Gradebook

from softmax_grading.shared_engine import one_engine_per_database

pytestmark = pytest.mark.grading


def test_gradebooks_on_one_database_share_its_engine_only_inside_the_block(tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    other = f"sqlite:///{tmp_path / 'other.db'}"
    create_engine = nbgrader.api.create_engine
    with one_engine_per_database():
        with Gradebook(url) as first, Gradebook(url) as second, Gradebook(other) as third:
            assert first.engine is second.engine
            assert third.engine is not first.engine
    assert nbgrader.api.create_engine is create_engine
    with Gradebook(url) as first, Gradebook(url) as second:
        assert first.engine is not second.engine


def test_what_one_gradebook_commits_the_next_reads_after_the_first_is_closed(tmp_path):
    # Closing a Gradebook disposes of the shared engine's pool; the engine must still work.
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with one_engine_per_database():
        with Gradebook(url) as gradebook:
            gradebook.add_student("ada", first_name="Ada")
        with Gradebook(url) as gradebook:
            assert gradebook.find_student("ada").first_name == "Ada"
            with Gradebook(url) as nested:  # nested, as nbgrader's preprocessors open them
                nested.update_or_create_student("ada", first_name="Augusta")
            gradebook.db.expire_all()
            assert gradebook.find_student("ada").first_name == "Augusta"
            gradebook.add_student("grace")
        with Gradebook(url) as gradebook:
            assert sorted(s.id for s in gradebook.students) == ["ada", "grace"]


def test_an_in_memory_database_is_never_shared():
    # Its data lives in its connection: a shared engine's disposal would lose it.
    with one_engine_per_database(), Gradebook("sqlite://") as first, \
            Gradebook("sqlite://") as second:
        assert first.engine is not second.engine


def test_the_original_is_restored_when_the_block_raises(tmp_path):
    create_engine = nbgrader.api.create_engine
    with pytest.raises(RuntimeError), one_engine_per_database():
        raise RuntimeError("a failing command")
    assert nbgrader.api.create_engine is create_engine
