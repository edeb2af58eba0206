"""nbgrader configuration for the course (read by every ``nbgrader`` command run here).

The folder names follow the course layout: the instructor notebooks (with
solutions and hidden tests) live in ``solutions/`` and the student release in
``exercises/``. The grade database is nbgrader's default ``gradebook.db``.
"""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    OverwriteCells,
    OverwriteKernelspec,
)

from softmax_grading.preprocessors import DropDuplicateGradeIds, HideTestCode

c = get_config()  # noqa: F821 -- injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "softmax-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Never copy notebook checkpoints or caches into a release or a submission.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

# `nbgrader zip_collect` reads an LMS download. Canvas names each file
# `<student>_<user id>_<submission id>_<file name>` (with `LATE_` after the student
# when late, and `-1`, `-2` ... before the extension on resubmission).
# Adapt this pattern to another LMS's naming.
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[^/_]+)_(?:LATE_)?\d+_\d+_(?P<file_id>[^/]+?)(?:-\d+)?\.ipynb$"
)

# Every cell of a student's notebook gets this long to run before it is stopped
# with a timeout error; grading goes on with the next cell and the next student.
c.Execute.timeout = 60
# Starting a kernel takes a second on an idle machine but can take far longer
# on a loaded grading server; a slow start must not cost a student the grade.
c.Execute.startup_timeout = 300

# A test cell the student deleted is put back from the gradebook and run, so
# deleting a failing test earns nothing and loses nothing.
c.OverwriteCells.add_missing_cells = True

# Sanitizing: repair duplicated cells first, so that one copy-and-paste cannot
# abort the whole batch (nbgrader #1083). The rest is nbgrader's default order.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DropDuplicateGradeIds,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]

# Feedback: show scores and the checks' messages, never the test code
# (nbgrader #917, #1363).
c.GenerateFeedback.preprocessors = [
    GetGrades,
    ClearHiddenTests,
    HideTestCode,
    CSSHTMLHeaderPreprocessor,
]
