"""Keep an autograded notebook, and so its feedback page, small whatever the student printed.

nbgrader's ``LimitOutput`` counts lines of text and leaves images and other
display outputs alone, so one cell printing a single 50 MB line, or a loop of
``display(...)``, makes a feedback page no browser will open. This counts
bytes, over every kind of output, and replaces what does not fit with a note.
"""

from __future__ import annotations

import json

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Int

from softmax_grading.output_notes import CUT_NOTE


def _size(output: NotebookNode) -> int:
    return len(json.dumps(output, default=str))


class LimitOutputBytes(NbGraderPreprocessor):
    max_bytes_per_notebook = Int(
        3_000_000, help="Bytes of output kept in a whole notebook.").tag(config=True)
    max_bytes_per_output = Int(
        500_000, help="Bytes kept of a single output.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        budget = self.max_bytes_per_notebook
        cut_cells = []
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            kept = []
            for output in cell.get("outputs", []):
                size = _size(output)
                if size > self.max_bytes_per_output or size > budget:
                    what = (f"{size:,} bytes of {output.get('output_type', 'output')}, more than "
                            f"{'one output' if size > self.max_bytes_per_output else 'a page'} "
                            "may hold")
                    kept.append(from_dict({"output_type": "stream", "name": "stderr",
                                           "text": CUT_NOTE.format(what=what)}))
                    cut_cells.append(index)
                    budget = max(budget - 200, 0)
                    continue
                kept.append(output)
                budget -= size
            cell.outputs = kept
        if cut_cells:
            resources.setdefault("softmax_grading", {})["output_cut_cells"] = sorted(
                set(cut_cells))
        return nb, resources
