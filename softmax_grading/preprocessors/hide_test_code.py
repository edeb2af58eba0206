"""Keep test code, hidden or visible, out of the feedback a student receives."""

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

TRACEBACK_NOTE = (
    "(The traceback is hidden so that the feedback does not show the test code. "
    "Run the visible tests in your notebook to debug.)"
)


class HideTestCode(NbGraderPreprocessor):
    """Keep test code out of the feedback a student receives.

    Plain nbgrader copies the autograded notebook, hidden tests included, into
    the feedback HTML (nbgrader issues #917 and #1363); tracebacks in the
    outputs quote test code too. In the feedback this preprocessor

    * replaces the source of every autograded test cell with a one-line
      summary (the cell's id and points, and for a part that lost points, a
      pointer to the message below), so neither visible nor hidden test code
      is shown;
    * reduces every error output in a test cell to its exception type and
      message, which our checks write to say what went wrong without giving
      away the expected values. (The tests run in the grader's checker, which
      writes exactly these outputs; nothing of the student's is in them.)

    Run it after nbgrader's ``GetGrades`` so the scores are already attached.
    """

    summary_template = Unicode(
        "# Autograder checks for '{grade_id}' ({points:g} {unit}): passed. "
        "Their code is not shown.",
        help="Source shown in place of the code of a test cell that earned full points.",
    ).tag(config=True)
    failed_summary_template = Unicode(
        "# Autograder checks for '{grade_id}' ({points:g} {unit}). "
        "Their code is not shown; the output below says what failed.",
        help="Source shown in place of the code of a test cell that lost points.",
    ).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, cell_index: int):
        if cell.cell_type != "code" or not utils.is_grade(cell):
            return cell, resources
        nbgrader_metadata = cell.metadata["nbgrader"]
        points = float(nbgrader_metadata["points"])
        # GetGrades (run before) puts the part's score in the metadata.
        passed = float(nbgrader_metadata.get("score") or 0.0) >= points
        template = self.summary_template if passed else self.failed_summary_template
        cell.source = template.format(
            grade_id=nbgrader_metadata["grade_id"], points=points,
            unit="point" if points == 1 else "points")
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}", TRACEBACK_NOTE]
        return cell, resources
