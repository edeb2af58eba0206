"""Tell the feedback template which parts still wait for a human.

nbgrader's ``GetGrades`` gives every graded cell its score, and a written
answer nobody has marked yet has the score 0, so the page said
``Score: 0.0 / 2.0`` and a total as if it were final. This preprocessor, run
after ``GetGrades``, marks such cells (``needs_manual_grade`` in the
gradebook) as pending, and adds up their points, so that the page says
"awaiting grading" and gives the total as a total so far.
"""

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor


class MarkPendingGrades(NbGraderPreprocessor):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        info = resources["nbgrader"]
        pending_points = 0.0
        with Gradebook(info["db_url"]) as gradebook:
            for cell in nb.cells:
                if not utils.is_grade(cell):
                    continue
                grade = gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"],
                                             info["notebook"], info["assignment"],
                                             info["student"])
                cell.metadata["nbgrader"]["pending"] = bool(grade.needs_manual_grade)
                if grade.needs_manual_grade:
                    pending_points += float(grade.max_score)
        info["pending_points"] = pending_points
        return nb, resources
