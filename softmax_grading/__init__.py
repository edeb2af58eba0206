"""Instructor-side grading pipeline for the course (never shipped to students).

The pipeline is nbgrader 0.9's command-line tools plus two small nbgrader
preprocessors that close holes plain nbgrader has:

* :class:`~softmax_grading.preprocessors.DropDuplicateGradeIds` keeps one
  duplicated cell from aborting the whole autograde batch (nbgrader #1083);
* :class:`~softmax_grading.preprocessors.HideTestCode` keeps hidden tests and
  test code out of the feedback students receive (nbgrader #917, #1363).

Both are switched on in the course's ``nbgrader_config.py``; the
``python -m softmax_grading`` command wraps the whole instructor flow.
"""
