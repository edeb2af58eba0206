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
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

from softmax_grading.layout import Course


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


class RestoreLockedCells(NbGraderPreprocessor):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        info = resources["nbgrader"]
        course = Course(Path(CourseDirectory(config=self.config).root))
        released = nbformat.read(course.release_notebook(info["assignment"], info["notebook"]),
                                 as_version=4)
        edited: list[str] = resources.setdefault("softmax_grading", {}).setdefault(
            "edited_locked_cells", [])
        with Gradebook(info["db_url"]) as gradebook:
            self._reset_metadata(nb, gradebook, info, edited)
            self._reinsert_missing(nb, released, info)
            self._restore_untouched(nb, gradebook, info, edited)
        return nb, resources

    def _reset_metadata(self, nb, gradebook, info, edited: list[str]) -> None:
        record = gradebook.find_notebook(info["notebook"], info["assignment"])
        sources = {cell.name: cell for cell in record.source_cells}
        answers = {cell.name for cell in record.solution_cells}
        points = {cell.name: cell.max_score for cell in record.grade_cells}
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

    def _restore_untouched(self, nb, gradebook, info, edited: list[str]) -> None:
        hider = ClearHiddenTests()
        for cell in nb.cells:
            grade_id = _grade_id(cell)
            if grade_id is None or not cell.metadata["nbgrader"].get("locked"):
                continue
            try:
                source_cell = gradebook.find_source_cell(grade_id, info["notebook"],
                                                         info["assignment"])
            except MissingEntry:
                continue
            as_released = NotebookNode(cell_type=source_cell.cell_type,
                                       source=source_cell.source, metadata={})
            hider._remove_hidden_test_region(as_released)
            if cell.source == as_released.source:
                cell.source = source_cell.source
            elif cell.source != source_cell.source:
                edited.append(grade_id)

    def _reinsert_missing(self, nb, released, info) -> None:
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
