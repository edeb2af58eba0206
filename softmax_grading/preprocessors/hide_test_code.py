"""Keep test code, hidden or visible, out of the feedback a student receives."""

import re

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
      summary (the cell's id and points), so neither visible nor hidden test
      code is shown;
    * reduces every error output in a test cell to its exception type and
      message, which our checks write to say what went wrong without giving
      away the expected values.

    Run it after nbgrader's ``GetGrades`` so the scores are already attached.
    """

    summary_template = Unicode(
        "# Autograder checks for '{grade_id}' ({points:g} points). "
        "Their code is not shown; the output below says what failed.",
        help="Source shown in place of a test cell's code.",
    ).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, cell_index: int):
        if cell.cell_type != "code" or not utils.is_grade(cell):
            return cell, resources
        nbgrader_metadata = cell.metadata["nbgrader"]
        cell.source = self.summary_template.format(
            grade_id=nbgrader_metadata["grade_id"], points=float(nbgrader_metadata["points"])
        )
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}", TRACEBACK_NOTE]
            elif output.output_type == "stream" and output.name == "stderr":
                output.text = _warning_summary(output.text)
        return cell, resources


def _warning_summary(stderr_text: str) -> str:
    """Keep the warning messages of a stderr stream, drop the source lines.

    Python's warning format is ``path:line: Category: message`` followed by the
    offending source line, which may be test code.
    """
    messages = []
    for line in stderr_text.splitlines():
        match = _WARNING_LINE.match(line)
        if match:
            messages.append(f"{match['category']}: {match['message']}")
    header = "This check wrote to stderr, which nbgrader scores as a failure"
    if not messages:
        return header + ".\n"
    return header + ":\n" + "\n".join(messages) + "\n"


_WARNING_LINE = re.compile(r"^.*?:\d+: (?P<category>\w+(?:Warning|Error)): (?P<message>.*)$")
