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

import sys

# jsonschema (under nbformat and nbgrader) imports rfc3987_syntax when it is installed, and that
# package compiles 38 Lark grammars at import: about 2 s of CPU in every grading command and every
# worker process, for "iri" string formats that no notebook or gradebook schema uses. A None entry
# in sys.modules makes that optional import fail at once, as if the package were absent; it only
# takes effect when softmax_grading is imported before jsonschema, as our commands and workers do.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
