"""nbgrader's ``OverwriteKernelspec``, reading the notebook's record where ``OverwriteCells`` does.

``OverwriteKernelspec`` opens a gradebook of its own for every submission, only to read the
notebook's kernelspec. Here it reads it through
:func:`~softmax_grading.notebook_lookups.open_for_reading`: from the gradebook the caller opened
for the whole class when there is one, so the notebook's record is read once per command. What
it does with the kernelspec is nbgrader's.
"""

from __future__ import annotations

import json

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import OverwriteKernelspec

from softmax_grading.notebook_lookups import open_for_reading


class OverwriteKernelspecReadOnce(OverwriteKernelspec):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        # nbgrader's OverwriteKernelspec.preprocess, with the gradebook of open_for_reading.
        with open_for_reading(self, resources) as gradebook:
            kernelspec = gradebook.find_notebook(self.notebook_id, self.assignment_id).kernelspec
        if kernelspec is not None:
            kernelspec = json.loads(kernelspec)
        if kernelspec:
            nb.metadata["kernelspec"] = kernelspec
        return nb, resources
