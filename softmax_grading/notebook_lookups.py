"""A gradebook that answers one notebook's per-cell lookups from one query per kind.

nbgrader's preprocessors look each cell's record up on its own, with a query of three to seven
joins that SQLAlchemy builds afresh in Python every time: sanitizing one ch01 submission made
17 such lookups (``OverwriteCells``) and recording it 11 more (``SaveAutoGrades``). That time is
the trusted process's, and with two workers on two cores every second of it is taken from the
grading. Measured in one process, the two ways taking turns, 80 submissions each (CPU time,
median): sanitizing and recording a ch01 submission took 34 and 70 ms instead of 41 and 77 ms,
and a ch07 submission 49 and 94 ms instead of 65 and 114 ms.

:class:`NotebookLookups` is nbgrader's ``Gradebook`` with those lookups answered from the
notebook's records, read at the first lookup: the notebook and its cells (two queries), and a
student's submitted notebook, its grades and its comments (three more). It returns the same
objects nbgrader's queries return (rows of its own session), by the same rules (a grade cell's
name before a task cell's, a solution cell's before a task cell's), and anything it does not
hold is looked up by nbgrader, which raises nbgrader's ``MissingEntry`` as before.

What it has read is not read again, so it is only for a pass that adds and removes no cell,
grade or comment of the notebook while it is open: one preprocessor's pass over one notebook
(:mod:`~softmax_grading.preprocessors.overwrite_cells`,
:mod:`~softmax_grading.preprocessors.save_verdicts`).

A pass is also one transaction. nbgrader commits after every grade and comment it sets, eleven
times for a ch01 submission; here each of those commits does nothing, and the pass flushes and
commits its changes once, when it ends, or rolls back if it fails. A record took 57 ms of wall
time instead of 64 ms (one process, the two ways taking turns, 80 records each, median), and a
submission's scores now land in the gradebook together or not at all. (Those commits first
flushed, each a unit of work of its own, and each grade's ``max_score``, a deferred column,
was one more query; without both, recording a ch01 submission again took 40.0 ms of CPU instead
of 43.7 ms, measured the same way.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from nbgrader.api import (
    Comment,
    Grade,
    Gradebook,
    GradeCell,
    MissingEntry,
    Notebook,
    SolutionCell,
    SourceCell,
    TaskCell,
)
from sqlalchemy.orm import undefer

#: The key, in ``resources["softmax_grading"]``, of the ``NotebookLookups`` a caller that sanitizes
#: a whole class opens once for every submission's read-only passes (:func:`open_for_reading`).
INSTRUCTOR_GRADEBOOK = "instructor_gradebook"


class NotebookLookups(Gradebook):
    """``Gradebook`` whose ``find_source_cell``, ``find_graded_cell``, ``find_grade`` and
    ``find_comment`` read a notebook's records once (see the module docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._read: dict[tuple, object] = {}  # what was read: rows by name, and the records
        # nbgrader commits after every grade and comment it sets; here that commit only flushes,
        # and the pass commits once, at its end (see the module docstring). So the rows read stay
        # as read for the pass: a commit would mark them all stale, to be read again, and a third
        # of a SaveAutoGrades pass was that re-reading. Only the trusted writer grades; an UPDATE
        # writes only the columns the pass set, so a TA's manual score saved meanwhile on a
        # shared database is not overwritten.
        self._session = self.db
        self.db = _CommitAtTheEnd(self._session)

    def end_read_only_pass(self) -> None:
        """End the transaction of a pass that only read, keeping what it read for the next pass
        (see :func:`open_for_reading`); a pass that changed a record fails, its change dropped."""
        session = self._session()
        if session.new or session.dirty or session.deleted:
            session.rollback()
            raise RuntimeError("a pass that only reads the gradebook changed it; the change "
                               "was dropped")
        session.expire_on_commit = False  # ends the transaction; what was read stays loaded
        session.commit()

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        # The pass's one commit; on an error, closing the session rolls the whole pass back.
        if exc_type is None:
            self._session.commit()
        self.db = self._session
        super().__exit__(exc_type, exc_value, traceback)

    def find_notebook(self, name: str, assignment: str) -> Notebook:
        # nbgrader's OverwriteCells asks for the notebook three times per pass, and its cell lists
        # (loaded on first use) are then kept with it.
        return self._kept(super().find_notebook, name, assignment)

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> SourceCell:
        found = self._by_name("source cells", notebook, assignment).get(name)
        return found if found is not None else super().find_source_cell(name, notebook,
                                                                          assignment)

    def find_graded_cell(self, name: str, notebook: str, assignment: str
                         ) -> GradeCell | TaskCell:
        found = self._by_name("graded cells", notebook, assignment).get(name)
        return found if found is not None else super().find_graded_cell(name, notebook,
                                                                         assignment)

    def find_grade(self, grade_cell: str, notebook: str, assignment: str, student: str
                   ) -> Grade:
        found = self._by_name("grades", notebook, assignment, student).get(grade_cell)
        return found if found is not None else super().find_grade(grade_cell, notebook,
                                                                   assignment, student)

    def find_comment(self, solution_cell: str, notebook: str, assignment: str, student: str
                     ) -> Comment:
        found = self._by_name("comments", notebook, assignment, student).get(solution_cell)
        return found if found is not None else super().find_comment(solution_cell, notebook,
                                                                    assignment, student)

    def _by_name(self, what: str, notebook: str, assignment: str, student: str | None = None
                 ) -> dict:
        key = (what, notebook, assignment, student)
        if key not in self._read:
            self._read[key] = self._read_by_name(what, notebook, assignment, student)
        return self._read[key]

    def _read_by_name(self, what: str, notebook: str, assignment: str, student: str | None
                      ) -> dict:
        # Read with nbgrader's own finders (kept, like the rows, for the rest of the pass), so
        # a missing notebook or submission is simply nothing held here: the caller's lookup then
        # goes to nbgrader and fails as it did.
        try:
            if what == "source cells":
                record = self.find_notebook(notebook, assignment)
                return {cell.name: cell for cell in record.source_cells}
            # Every graded, solution and task cell of the notebook, in one query. A grade's or a
            # comment's cell is one of them, so it is then found in this session, not queried.
            cells = self.find_notebook(notebook, assignment)._base_cells
            if what == "graded cells":  # nbgrader tries a grade cell first, then a task cell
                return _first_kind_wins(cells, lambda cell: cell, GradeCell, TaskCell)
            submitted = self._kept(self.find_submission_notebook, notebook, assignment, student)
        except MissingEntry:
            return {}
        if what == "grades":  # a grade cell's grade first, then a task cell's
            # With each grade's max_score (a deferred column that nbgrader's SaveAutoGrades
            # reads for every grade): in this query, not in one more query per grade.
            grades = (self.db.query(Grade).filter(Grade.notebook == submitted)
                      .options(undefer(Grade.max_score)).all())
            return _first_kind_wins(grades, lambda grade: grade.cell, GradeCell, TaskCell)
        # comments: a solution cell's first, then a task cell's
        return _first_kind_wins(submitted.comments, lambda comment: comment.cell, SolutionCell,
                                TaskCell)

    def _kept(self, finder, *names: str):
        key = (finder.__name__, *names)
        if key not in self._read:
            self._read[key] = finder(*names)
        return self._read[key]


class _CommitAtTheEnd:
    """nbgrader's session for one pass: ``commit()`` waits, and the pass commits at its end."""

    def __init__(self, session) -> None:
        self._session = session

    def __getattr__(self, name: str):
        return getattr(self._session, name)

    def __call__(self):
        return self._session()

    def commit(self) -> None:
        # Nothing yet: the pass's changes are flushed and committed together when it ends
        # (and the session's autoflush writes them first if a query of the pass could see them).
        pass


def open_for_pass(preprocessor, resources) -> NotebookLookups:
    """What nbgrader's per-notebook preprocessors (``OverwriteCells``, ``SaveAutoGrades``) do
    before their pass, with a ``NotebookLookups`` for nbgrader's ``Gradebook``: take the
    notebook's ids from the resources, and open the gradebook as ``preprocessor.gradebook``.
    Use it as nbgrader does: ``with open_for_pass(self, resources): ...``."""
    _take_ids(preprocessor, resources)
    preprocessor.gradebook = NotebookLookups(preprocessor.db_url)
    return preprocessor.gradebook


@contextlib.contextmanager
def open_for_reading(preprocessor, resources) -> Iterator[NotebookLookups]:
    """:func:`open_for_pass` for a pass that only reads the instructor's records (sanitizing).

    A caller that sanitizes a class opens one ``NotebookLookups`` for all of it and passes it in
    ``resources["softmax_grading"][INSTRUCTOR_GRADEBOOK]``: the pass then runs on that one, and
    the notebook and cells it read are read once per command, not once per submission. Each
    pass still ends its own transaction (so no snapshot or connection is held between passes),
    and one that changed a record is rolled back and fails. Without it, this is
    :func:`open_for_pass`."""
    shared = resources.get("softmax_grading", {}).get(INSTRUCTOR_GRADEBOOK)
    if shared is None:
        with open_for_pass(preprocessor, resources) as gradebook:
            yield gradebook
        return
    _take_ids(preprocessor, resources)
    preprocessor.gradebook = shared
    try:
        yield shared
    finally:
        shared.end_read_only_pass()


def _take_ids(preprocessor, resources) -> None:
    ids = resources["nbgrader"]
    preprocessor.notebook_id = ids["notebook"]
    preprocessor.assignment_id = ids["assignment"]
    preprocessor.student_id = ids.get("student")  # sanitizing knows it too; SaveAutoGrades needs it
    preprocessor.db_url = ids["db_url"]


def _first_kind_wins(rows, cell_of, first: type, second: type) -> dict:
    """name -> row, for the rows whose cell is of kind `first` or `second`; where both kinds
    have a cell of the same name, `first`'s row (nbgrader's lookups try `first` first)."""
    by_name = {cell_of(row).name: row for row in rows if isinstance(cell_of(row), second)}
    by_name.update({cell_of(row).name: row for row in rows if isinstance(cell_of(row), first)})
    return by_name
