"""nbgrader's ``OverwriteCells``, with the notebook's cell records read once per pass.

``OverwriteCells`` puts the instructor's version of every locked cell back and looks up each
cell's record with a query of its own. Here the pass runs on a
:class:`~softmax_grading.notebook_lookups.NotebookLookups`, which reads the notebook's cells
once; every decision is still nbgrader's. Its options (``add_missing_cells``) are configured
under ``OverwriteCells`` as before.
"""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells

from softmax_grading.notebook_lookups import open_for_reading


class OverwriteCellsReadOnce(OverwriteCells):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        # nbgrader's OverwriteCells.preprocess, on a NotebookLookups instead of a Gradebook.
        with open_for_reading(self, resources):
            nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)
            if self.add_missing_cells:
                nb, resources = self.add_missing_grade_cells(nb, resources)
                nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources
