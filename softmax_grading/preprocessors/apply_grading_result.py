"""Take a sandboxed grading result in place of nbgrader's own execution.

nbgrader's ``Execute`` runs the student's code and the tests in one kernel,
with the instructor's rights. Here that step is done beforehand, in a sandbox,
by :func:`softmax_grading.grade_one.grade_submission`; this preprocessor puts
its outputs into the notebook nbgrader is autograding and hands the verdicts
to :class:`~softmax_grading.preprocessors.save_verdicts.SaveVerdicts`.

Running plain ``nbgrader autograde`` with the course's configuration therefore
stops with a message instead of running student code unsandboxed.
"""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.preprocessors import NbGraderPreprocessor

from softmax_grading.grade_one import GradingResult
from softmax_grading.roles import TEST
from softmax_grading.scoring import findings_against

# (student, assignment, notebook) -> the result the trusted writer is recording.
PENDING: dict[tuple[str, str, str], GradingResult] = {}


class NotGradedHere(RuntimeError):
    """nbgrader was asked to autograde without a sandboxed result."""


class ApplyGradingResult(NbGraderPreprocessor):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        info = resources["nbgrader"]
        key = (info["student"], info["assignment"], info["notebook"])
        result = PENDING.get(key)
        if result is None:
            raise NotGradedHere(
                "This course autogrades in a sandbox: run `python -m softmax_grading grade "
                f"{info['assignment']}` instead of `nbgrader autograde`.")
        if len(result.roles) != len(nb.cells):
            raise RuntimeError(f"{key}: the notebook changed since it was graded; grade again")
        for index, (cell, role) in enumerate(zip(nb.cells, result.roles, strict=True)):
            if cell.cell_type != "code":
                continue
            cell.execution_count = None
            if role == TEST:
                verdict = result.verdicts.get(cell.metadata["nbgrader"]["grade_id"])
                outputs = list(verdict["outputs"]) if verdict else [_not_run()]
                voided = findings_against(verdict, result.findings) if verdict else []
                if voided:
                    outputs.append(_voided(voided))
            else:
                outputs = result.cell_outputs.get(index, [])
            cell.outputs = [from_dict(output) for output in outputs]
        resources.setdefault("softmax_grading", {})["result"] = result
        return nb, resources


def _voided(findings: list[str]) -> dict:
    """Tells the student why a part scored 0 although its checks may have passed."""
    return {"output_type": "error", "ename": "IntegrityFlag", "traceback": [],
            "evalue": "This part scores 0: the grader found code that tampers with grading ("
                      + "; ".join(findings[:5]) + "). Your instructor has been told."}


def _not_run() -> dict:
    return {"output_type": "error", "ename": "NotRun", "traceback": [],
            "evalue": "The grader could not run this test (see the grading report)."}
