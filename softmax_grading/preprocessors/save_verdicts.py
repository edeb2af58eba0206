"""Record each part's score from the trusted verdict, never from the notebook's outputs.

nbgrader's ``SaveAutoGrades`` reads a test cell's score from its outputs: an
error means 0, a number in an ``execute_result`` is partial credit, and
anything else is full credit. Outputs are whatever the code wrote, so here the
score of an autograded test cell comes from the checker's verdict instead
(:mod:`softmax_grading.scoring`). Written answers and other cells keep
nbgrader's handling.

The pass runs on a :class:`~softmax_grading.notebook_lookups.NotebookLookups`, which reads the
submission's grades and comments once instead of once per cell. Which cells are tests is the
gradebook's word; the trusted writer reads it once per command and hands it over in
:data:`TEST_CELLS` (four queries less per submission), and without it the pass reads it here.
"""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades

from softmax_grading.notebook_lookups import open_for_pass
from softmax_grading.roles import TEST, instructor_cells
from softmax_grading.scoring import part_score

# (student, assignment, notebook) -> the grade ids of the notebook's test cells, from the
# gradebook, for the record in progress (set by autograde.Writer).
TEST_CELLS: dict[tuple[str, str, str], frozenset[str]] = {}


def tests_of(gradebook, assignment: str, notebook: str) -> frozenset[str]:
    """The grade ids of the notebook's test cells, as the gradebook says."""
    return frozenset(name for name, (role, _) in
                     instructor_cells(gradebook, assignment, notebook).items() if role == TEST)


class SaveVerdicts(SaveAutoGrades):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        self._result = resources["softmax_grading"]["result"]
        self._tests = None
        # nbgrader's SaveAutoGrades.preprocess, on a NotebookLookups instead of a Gradebook.
        with open_for_pass(self, resources):
            return NbGraderPreprocessor.preprocess(self, nb, resources)

    def _add_score(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        # Whether a cell is a test is the gradebook's word, not the cell metadata's.
        if self._tests is None:
            key = (self.student_id, self.assignment_id, self.notebook_id)
            self._tests = (TEST_CELLS[key] if key in TEST_CELLS else
                           tests_of(self.gradebook, self.assignment_id, self.notebook_id))
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        if grade_id not in self._tests:
            super()._add_score(cell, resources)
            return
        grade = self.gradebook.find_grade(grade_id, self.notebook_id, self.assignment_id,
                                          self.student_id)
        grade.auto_score = part_score(self._result.verdicts.get(grade_id), grade.max_score,
                                      self._result.findings)
        grade.needs_manual_grade = grade.manual_score is not None
        self.gradebook.db.commit()
