"""Put back the instructor's locked cells, quietly when the student left them as released.

Three repairs before nbgrader's ``OverwriteCells`` runs:

* nbgrader metadata is the student's to edit, so it is reset from the gradebook:
  a cell whose id the gradebook does not know (a forged "locked" cell) loses
  its nbgrader metadata and is graded as the student's own cell, and a known
  cell gets back its gradebook flags (a test cell relabelled as an answer is a
  test again). Both are listed in ``edited_locked_cells``.

* A locked cell the student deleted (the setup cell with the imports, a helper
  cell, a test cell) is reinserted where the release has it, so later parts
  are graded as if it were there. nbgrader's ``add_missing_cells`` only does
  this for graded cells.
* A test cell the student did not touch differs from the gradebook's copy only
  by its hidden tests, which the release left out. nbgrader then warns
  "Attribute 'checksum' ... has changed!" for every test cell of every
  submission, which drowns real tampering. Such a cell is restored silently;
  only a cell that differs from its released version is reported, and listed
  in ``resources['softmax_grading']['edited_locked_cells']``.

What the gradebook and the release say about the notebook is read into an
:class:`InstructorNotebook`. A caller that sanitizes a whole class reads it once and passes it
in ``resources['softmax_grading']['instructor_notebook']``; without it, each call reads its own.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

from softmax_grading.layout import Course


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@dataclass(frozen=True)
class SourceCell:
    """The gradebook's copy of one instructor cell."""

    cell_type: str
    source: str
    locked: bool


@dataclass(frozen=True)
class InstructorNotebook:
    """One notebook as the gradebook and the release have it: plain data, readable by many."""

    assignment: str
    notebook: str
    sources: dict[str, SourceCell]  # grade_id -> the gradebook's cell
    answers: frozenset[str]  # the grade_ids of the answer cells
    points: dict[str, float]  # grade_id -> points, for the graded cells
    released: NotebookNode  # the notebook the students were given

    @classmethod
    def read(cls, db_url: str, course: Course, assignment: str, notebook: str
             ) -> InstructorNotebook:
        with Gradebook(db_url) as gradebook:
            record = gradebook.find_notebook(notebook, assignment)
            sources = {cell.name: SourceCell(cell.cell_type, cell.source, bool(cell.locked))
                       for cell in record.source_cells}
            answers = frozenset(cell.name for cell in record.solution_cells)
            points = {cell.name: cell.max_score for cell in record.grade_cells}
        released = nbformat.read(course.release_notebook(assignment, notebook), as_version=4)
        return cls(assignment, notebook, sources, answers, points, released)


class RestoreLockedCells(NbGraderPreprocessor):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        info = resources["nbgrader"]
        ours = resources.setdefault("softmax_grading", {})
        record = ours.get("instructor_notebook")
        if record is None or (record.assignment, record.notebook) != (info["assignment"],
                                                                      info["notebook"]):
            course = Course(Path(CourseDirectory(config=self.config).root))
            record = InstructorNotebook.read(info["db_url"], course, info["assignment"],
                                             info["notebook"])
        edited: list[str] = ours.setdefault("edited_locked_cells", [])
        self._reset_metadata(nb, record, edited)
        self._reinsert_missing(nb, record.released)
        self._restore_untouched(nb, record, edited)
        return nb, resources

    def _reset_metadata(self, nb, record: InstructorNotebook, edited: list[str]) -> None:
        sources, answers, points = record.sources, record.answers, record.points
        for cell in nb.cells:
            grade_id = _grade_id(cell)
            if "nbgrader" not in cell.metadata:
                continue
            if grade_id not in sources:
                edited.append(f"{grade_id or 'a cell'} (not in the gradebook: graded as the "
                              "student's own cell)")
                del cell.metadata["nbgrader"]
                cell.metadata.pop("deletable", None)
                cell.metadata.pop("editable", None)
                continue
            grading = cell.metadata["nbgrader"]
            truth = {"locked": sources[grade_id].locked, "solution": grade_id in answers,
                     "grade": grade_id in points}
            if any(bool(grading.get(key)) != value for key, value in truth.items()):
                edited.append(f"{grade_id} (its nbgrader flags were changed: reset)")
            grading.update(truth)
            if grade_id in points:
                grading["points"] = points[grade_id]
            else:
                grading.pop("points", None)

    def _restore_untouched(self, nb, record: InstructorNotebook, edited: list[str]) -> None:
        hider = ClearHiddenTests()
        for cell in nb.cells:
            grade_id = _grade_id(cell)
            if grade_id is None or not cell.metadata["nbgrader"].get("locked"):
                continue
            source_cell = record.sources.get(grade_id)
            if source_cell is None:
                continue
            as_released = NotebookNode(cell_type=source_cell.cell_type,
                                       source=source_cell.source, metadata={})
            hider._remove_hidden_test_region(as_released)
            if cell.source == as_released.source:
                cell.source = source_cell.source
            elif cell.source != source_cell.source:
                edited.append(grade_id)

    def _reinsert_missing(self, nb, released) -> None:
        present = {_grade_id(cell) for cell in nb.cells}
        for position, cell in enumerate(released.cells):
            grade_id = _grade_id(cell)
            if grade_id is None or grade_id in present or not cell.metadata["nbgrader"].get(
                    "locked"):
                continue
            # After the cell that precedes it in the release, if the student kept that one.
            previous = {_grade_id(c) for c in released.cells[:position]} - {None}
            index = max((i + 1 for i, c in enumerate(nb.cells) if _grade_id(c) in previous),
                        default=0)
            self.log.warning("Locked cell %s was deleted; putting it back", grade_id)
            restored = copy.deepcopy(cell)
            restored["id"] = f"restored-{grade_id}"[:64]
            nb.cells.insert(index, restored)
            present.add(grade_id)
