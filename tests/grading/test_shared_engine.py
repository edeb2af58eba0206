"""One SQLAlchemy engine per gradebook for a command (softmax_grading.shared_engine): fast, no
course needed. The end-to-end tests grade through it, since every command runs inside it."""

from __future__ import annotations

import sqlite3

import nbgrader.api
import pytest
import sqlalchemy
from nbgrader.api import Gradebook

from softmax_grading.shared_engine import one_engine_per_database

pytestmark = [pytest.mark.grading, pytest.mark.usefixtures("alembic_head_asked_once")]


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
    # Closing a Gradebook returns its connection to the shared engine's pool.
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


def test_a_closed_gradebooks_connection_is_kept_for_the_next_and_its_work_not(tmp_path):
    # Gradebook.close() disposed of the pool: eight new connections per recorded submission.
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    connections = []

    def remember(connection, _record):
        connections.append(connection)

    sqlalchemy.event.listen(sqlalchemy.pool.Pool, "connect", remember)
    try:
        with one_engine_per_database():
            with Gradebook(url) as gradebook:
                gradebook.add_student("ada")
                engine = gradebook.engine
            opened = len(connections)
            with Gradebook(url) as gradebook:
                gradebook.db.execute(sqlalchemy.text("DELETE FROM student"))  # not committed
            with Gradebook(url) as gradebook:
                assert [student.id for student in gradebook.students] == ["ada"]
            assert len(connections) == opened
            assert engine.pool.checkedin() == 1
        assert "dispose" not in vars(engine)  # the engine's own dispose again, and it was called
        assert engine.pool.checkedin() == 0
    finally:
        sqlalchemy.event.remove(sqlalchemy.pool.Pool, "connect", remember)


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


def _statements_to_open(url: str) -> list[str]:
    """The SQL a Gradebook runs when it is opened (and closed) on ``url``, its engine and the
    database already made."""
    Gradebook(url).close()
    statements = []

    def remember(_connection, _cursor, statement, *_):
        statements.append(statement)

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", remember)
    try:
        with Gradebook(url):
            pass
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", remember)
    return statements


def test_the_tables_are_checked_by_the_first_gradebook_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with one_engine_per_database():
        with Gradebook(url) as gradebook:  # a new database: its tables are created here
            gradebook.add_student("ada")
        inside = _statements_to_open(url)
        with Gradebook(url) as gradebook:
            assert [student.id for student in gradebook.students] == ["ada"]
    outside = _statements_to_open(url)
    assert not any("sqlite_master" in s or "PRAGMA" in s for s in inside), inside
    assert any("PRAGMA" in s for s in outside), outside
    assert len(inside) < len(outside) / 4, (inside, outside)
    assert nbgrader.api.inspect is sqlalchemy.inspect
    assert "create_all" not in vars(nbgrader.api.Base.metadata)


def test_the_course_is_looked_up_by_the_first_gradebook_only(tmp_path):
    # Each Gradebook selected its course and committed, some twelve times per submission.
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    check_course = Gradebook.check_course
    with one_engine_per_database():
        Gradebook(url).close()
        inside = _statements_to_open(url)
        with Gradebook(url, course_id="another") as other:  # another course: looked up once
            assert other.course_id == "another"
        again = _statements_to_open(url)
    outside = _statements_to_open(url)
    assert not any("FROM course" in s for s in inside + again), inside + again
    assert any("FROM course" in s for s in outside), outside
    assert Gradebook.check_course is check_course
    database = sqlite3.connect(tmp_path / "gradebook.db")
    try:
        courses = {row[0] for row in database.execute("SELECT id FROM course")}
    finally:
        database.close()
    assert courses == {"default_course", "another"}


def test_a_new_database_opened_inside_gets_nbgraders_tables_and_version(tmp_path,
                                                                         alembic_head):
    path = tmp_path / "gradebook.db"
    with one_engine_per_database():
        for name in ("ada", "grace"):
            with Gradebook(f"sqlite:///{path}") as gradebook:
                gradebook.add_student(name)
    database = sqlite3.connect(path)
    try:
        tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master")}
        assert set(nbgrader.api.Base.metadata.tables) | {"alembic_version"} <= tables
        assert database.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (alembic_head,)]
        assert database.execute("SELECT count(*) FROM student").fetchone() == (2,)
    finally:
        database.close()


def test_nested_blocks_restore_what_the_outer_one_set(tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with one_engine_per_database():
        outer = (nbgrader.api.create_engine, nbgrader.api.inspect,
                 nbgrader.api.Base.metadata.create_all, Gradebook.check_course)
        with one_engine_per_database(), Gradebook(url):
            pass
        assert (nbgrader.api.create_engine, nbgrader.api.inspect,
                nbgrader.api.Base.metadata.create_all, Gradebook.check_course) == outer
        with Gradebook(url) as first, Gradebook(url) as second:
            assert first.engine is second.engine
            assert "dispose" in vars(first.engine)  # the inner block left the pool kept
    assert "create_all" not in vars(nbgrader.api.Base.metadata)
    assert "dispose" not in vars(first.engine)
