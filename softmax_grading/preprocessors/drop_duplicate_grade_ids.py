"""Keep one copied cell from aborting the whole autograde batch (nbgrader #1083)."""

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor


class DropDuplicateGradeIds(NbGraderPreprocessor):
    """Turn every repeat of an nbgrader cell into an ordinary cell.

    A student who duplicates a cell (copy and paste in Jupyter) submits two
    cells with the same ``grade_id``. nbgrader's own ``DeduplicateIds`` blanks
    the metadata of all but the last copy, and ``CheckCellMetadata`` then
    rejects the blank metadata as "an old version", which aborts autograding
    for the *whole batch* (nbgrader issue #1083).

    This preprocessor runs first in the sanitize step. It keeps one cell with
    each ``grade_id`` as the graded cell and strips the nbgrader metadata from
    the other copies, so they run as ordinary cells: a student's code in a
    duplicated answer cell still executes in order, and a duplicated test cell
    only runs its (visible) asserts once more without counting twice. The
    first copy is kept, except that for a locked cell a copy still as released
    (its checksum matches) wins over an edited one: an emptied copy of a test
    pasted above the setup cell must not become the test.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        copies: dict[str, list[int]] = {}
        for index, cell in enumerate(nb.cells):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id is not None:
                copies.setdefault(grade_id, []).append(index)
        for grade_id, indices in copies.items():
            if len(indices) == 1:
                continue
            keep = next((i for i in indices if _as_released(nb.cells[i])), indices[0])
            for index in indices:
                if index != keep:
                    self.log.warning("Cell %d repeats grade_id %r; grading cell %d and running "
                                     "this one as an ordinary cell.", index, grade_id, keep)
                    _make_ordinary(nb.cells[index])
        return nb, resources


def _as_released(cell: NotebookNode) -> bool:
    grading = cell.metadata["nbgrader"]
    if not grading.get("locked") or "checksum" not in grading:
        return False
    try:
        return utils.compute_checksum(cell) == grading["checksum"]
    except (KeyError, ValueError):  # metadata too broken to checksum: not as released
        return False


def _make_ordinary(cell: NotebookNode) -> None:
    del cell.metadata["nbgrader"]
    # Jupyter's own lock flags came from the copied cell; an ordinary cell keeps neither.
    cell.metadata.pop("deletable", None)
    cell.metadata.pop("editable", None)
