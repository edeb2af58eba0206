"""nbgrader preprocessors for the course, one per file, registered in ``nbgrader_config.py``.

nbgrader itself is used unmodified; these replace or add single steps:

* :class:`DropDuplicateGradeIds`: one copied cell no longer aborts the batch (nbgrader #1083);
* :class:`RestoreLockedCells`: deleted locked cells come back, untouched test cells are restored
  without a false "checksum changed" warning;
* :class:`OverwriteCellsReadOnce`: nbgrader's ``OverwriteCells``, reading the cells' records once;
* :class:`OverwriteKernelspecReadOnce`: nbgrader's ``OverwriteKernelspec``, on the same records;
* :class:`ApplyGradingResult`: the sandboxed result replaces nbgrader's in-kernel execution;
* :class:`LimitOutputBytes`: outputs are capped in bytes, images included;
* :class:`SaveVerdicts`: scores come from the trusted verdicts, not from outputs;
* :class:`HideTestCode`: feedback shows each check's message, never test code (nbgrader #917);
* :class:`ClearHiddenTestsInFeedback`: a student's comment with hidden-test markers does not
  stop their feedback page;
* :class:`MarkPendingGrades`: feedback says "awaiting grading" for unmarked written answers;
* :class:`LinkToBook`: feedback links to the book's chapters work outside the repository.
"""

from softmax_grading.preprocessors.apply_grading_result import ApplyGradingResult
from softmax_grading.preprocessors.clear_hidden_tests_in_feedback import ClearHiddenTestsInFeedback
from softmax_grading.preprocessors.drop_duplicate_grade_ids import DropDuplicateGradeIds
from softmax_grading.preprocessors.hide_test_code import TRACEBACK_NOTE, HideTestCode
from softmax_grading.preprocessors.limit_output_bytes import LimitOutputBytes
from softmax_grading.preprocessors.link_to_book import LinkToBook
from softmax_grading.preprocessors.mark_pending_grades import MarkPendingGrades
from softmax_grading.preprocessors.overwrite_cells import OverwriteCellsReadOnce
from softmax_grading.preprocessors.overwrite_kernelspec import OverwriteKernelspecReadOnce
from softmax_grading.preprocessors.restore_locked_cells import RestoreLockedCells
from softmax_grading.preprocessors.save_verdicts import SaveVerdicts

__all__ = [
    "TRACEBACK_NOTE",
    "ApplyGradingResult",
    "ClearHiddenTestsInFeedback",
    "DropDuplicateGradeIds",
    "HideTestCode",
    "LimitOutputBytes",
    "LinkToBook",
    "MarkPendingGrades",
    "OverwriteCellsReadOnce",
    "OverwriteKernelspecReadOnce",
    "RestoreLockedCells",
    "SaveVerdicts",
]
