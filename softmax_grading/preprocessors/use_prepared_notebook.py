"""The trusted writer's sanitize step: the notebook that was graded, sanitized once already.

``python -m softmax_grading grade`` sanitizes every submission before grading it, with the
course's ``Autograde.sanitize_preprocessors`` (``autograde.prepare``), and the sandboxed result
belongs to exactly that notebook. When the writer then records the result through nbgrader's
``autograde``, this preprocessor stands in for those sanitize preprocessors and hands nbgrader
the same notebook again, instead of sanitizing the submitted file a second time (about a fifth
of a second per submission, in the one process that cannot run in parallel).

Only the writer's configuration uses it (``autograde.Writer``); the course's configuration keeps
the real sanitize steps, so plain ``nbgrader autograde`` still sanitizes (and then stops at
:class:`~softmax_grading.preprocessors.apply_grading_result.ApplyGradingResult`).
"""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

# (student, assignment, notebook) -> the sanitized notebook the writer is recording, built for
# that one record (so nbgrader may change it in place).
PREPARED: dict[tuple[str, str, str], NotebookNode] = {}


class UsePreparedNotebook(NbGraderPreprocessor):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        info = resources["nbgrader"]
        key = (info["student"], info["assignment"], info["notebook"])
        if key not in PREPARED:
            raise RuntimeError(f"{key}: no prepared notebook; grade with python -m "
                               "softmax_grading grade")
        return PREPARED[key], resources
