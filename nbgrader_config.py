"""nbgrader configuration for the course (read by every ``nbgrader`` command run here).

The folder names follow the course layout: the instructor notebooks (with
solutions and hidden tests) live in ``solutions/`` and the student release in
``exercises/``. The grade database is nbgrader's default ``gradebook.db``.
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
)

from softmax_grading.feedback import FEEDBACK_TEMPLATES
from softmax_grading.feedback_exporter import FeedbackExporter
from softmax_grading.late_policy import PercentPerDay
from softmax_grading.preprocessors import (
    ApplyGradingResult,
    ClearHiddenTestsInFeedback,
    DropDuplicateGradeIds,
    HideTestCode,
    LimitOutputBytes,
    LinkToBook,
    MarkPendingGrades,
    OverwriteCellsReadOnce,
    OverwriteKernelspecReadOnce,
    RestoreLockedCells,
    SaveVerdicts,
)

c = get_config()  # noqa: F821 -- injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "softmax-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Never copy notebook checkpoints or caches into a release or a submission.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

# `python -m softmax_grading collect` reads an LMS download (softmax_grading.collect). Canvas
# names each file `<student>_<user id>_<attachment id>_<file name>`, with `LATE_` after the
# student when late, and `-1`, `-2` ... before the extension on resubmission. The groups:
# student_id and file_id (required, as in nbgrader), and optionally late, lms_user_id (kept
# for the Canvas grades file, and matched with a `collect --times` file), attempt (the
# resubmission number) and timestamp (a submission time in the name, for an LMS that puts it
# there; never one the student's own file name can set). Adapt this pattern to another LMS.
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[^/_]+)_(?P<late>LATE_)?(?P<lms_user_id>\d+)_\d+_"
    r"(?P<file_id>[^/]+?)(?:-(?P<attempt>\d+))?\.ipynb$"
)
# Canvas's zip holds no submission times: each entry has the time the zip was built. For an
# LMS that does store submission times with its files, set this to True (they are read in
# LmsDownload.timezone); otherwise times come from `collect --times FILE`, or are unknown.
c.LmsDownload.zip_times_are_submission_times = False
c.LmsDownload.timezone = "UTC"

# Late work: nbgrader compares each submission's time (timestamp.txt, written by collect)
# with the assignment's due date in the gradebook (`python -m softmax_grading due <id>
# 2026-12-04T23:59+01:00`) and asks this plugin for the penalty. Here: 10 % of the score
# per started day late, after 15 minutes' grace, at most 100 %.
c.AssignLatePenalties.plugin_class = PercentPerDay
c.PercentPerDay.percent_per_day = 10
c.PercentPerDay.grace_minutes = 15
c.PercentPerDay.max_percent = 100

# Student code runs in a bubblewrap sandbox (softmax_grading.sandbox.Sandbox). Each cell, and
# each call of a student's function from a test, may use this much CPU time (not wall time,
# so a busy grading machine does not turn slow cells into zeros); a cell that ignores the
# limit is stopped from outside, and grading goes on with the next cell.
c.Sandbox.cpu_seconds_per_cell = 60
c.Sandbox.memory_mb = 2048
c.Sandbox.max_processes = 64

# `nbgrader validate`, the students' self-check, runs a notebook in an ordinary Jupyter kernel
# (no sandbox: it is the student's own code on the student's own machine). Generous wall-clock
# limits, so a slow or busy machine does not report a timeout for a correct notebook.
c.Execute.timeout = 300
c.Execute.startup_timeout = 300

# A test cell the student deleted is put back from the gradebook and run, so
# deleting a failing test earns nothing and loses nothing.
c.OverwriteCells.add_missing_cells = True

# Sanitizing: repair duplicated cells first, so that one copy-and-paste cannot
# abort the whole batch (nbgrader #1083); put back deleted locked cells and restore
# untouched test cells quietly. The rest is nbgrader's default order.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DropDuplicateGradeIds,
    DeduplicateIds,
    OverwriteKernelspecReadOnce,  # nbgrader's OverwriteKernelspec, on the records read once
    RestoreLockedCells,
    OverwriteCellsReadOnce,  # nbgrader's OverwriteCells, its lookups read once per notebook
    CheckCellMetadata,
]
# Autograding: the student's code already ran in a sandbox (python -m softmax_grading
# grade); its outputs are put in place, capped in bytes, and each part's score is taken
# from the trusted verdict, never from an output. Plain `nbgrader autograde` stops here.
c.Autograde.autograde_preprocessors = [
    ApplyGradingResult,
    ClearMetadataPreprocessor,
    LimitOutputBytes,
    SaveVerdicts,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback: show scores and the checks' messages, never the test code
# (nbgrader #917, #1363); written answers not yet marked say "awaiting grading"; links to
# the book's chapters lead to the book (set c.LinkToBook.book_url to the published book's
# address; without it they lead to the chapter in the course repository).
c.GenerateFeedback.preprocessors = [
    GetGrades,
    MarkPendingGrades,
    ClearHiddenTestsInFeedback,
    HideTestCode,
    LinkToBook,
    CSSHTMLHeaderPreprocessor,
]
# The course's feedback page (softmax_grading/templates/feedback): nbgrader's, with maths
# rendered offline, wrapped messages and named parts.
c.HTMLExporter.extra_template_basedirs = [FEEDBACK_TEMPLATES]
# A student's Markdown and outputs are theirs: their HTML is cleaned (no <script>, no on*
# handlers) and JavaScript outputs are not embedded, so a page runs nothing of theirs.
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {"clean_html": "softmax_grading.feedback_html.clean_html"}
# nbconvert's HTML exporter, without a second parse of every page to give images an alt text
# (a third of a page's time): softmax_grading/feedback_exporter.py gives it.
c.GenerateFeedback.exporter_class = FeedbackExporter
