"""Keep one copied cell from aborting the whole autograde batch (nbgrader #1083)."""

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor


class DropDuplicateGradeIds(NbGraderPreprocessor):
    """Turn every repeat of an nbgrader cell into an ordinary cell.

    A student who duplicates a cell (copy and paste in Jupyter) submits two
    cells with the same ``grade_id``. nbgrader's own ``DeduplicateIds`` blanks
    the metadata of all but the last copy, and ``CheckCellMetadata`` then
    rejects the blank metadata as "an old version", which aborts autograding
    for the *whole batch* (nbgrader issue #1083).

    This preprocessor runs first in the sanitize step. It keeps the first cell
    with each ``grade_id`` as the graded cell and strips the nbgrader metadata
    from later copies, so they run as ordinary cells: a student's code in a
    duplicated answer cell still executes in order, and a duplicated test cell
    only runs its (visible) asserts once more without counting twice.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        self._seen_grade_ids: set[str] = set()
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, cell_index: int):
        nbgrader_metadata = cell.metadata.get("nbgrader")
        if not nbgrader_metadata:
            return cell, resources
        grade_id = nbgrader_metadata.get("grade_id")
        if grade_id is None:
            return cell, resources
        if grade_id in self._seen_grade_ids:
            self.log.warning(
                "Cell %d repeats grade_id %r; grading the first copy and running this one "
                "as an ordinary cell.",
                cell_index,
                grade_id,
            )
            del cell.metadata["nbgrader"]
            # Jupyter's own lock flags came from the copied cell; an ordinary cell keeps neither.
            cell.metadata.pop("deletable", None)
            cell.metadata.pop("editable", None)
        else:
            self._seen_grade_ids.add(grade_id)
        return cell, resources
