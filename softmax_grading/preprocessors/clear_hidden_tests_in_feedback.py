"""nbgrader's ``ClearHiddenTests`` for feedback pages, where a student's own cell may say anything.

In a release, a hidden-test region outside a test cell is an authoring mistake
and nbgrader rightly stops. In a student's submission it is text the student
typed (``### BEGIN HIDDEN TESTS`` in a comment), and stopping would cost that
student their feedback page. Here such a region is simply left out.
"""

from nbgrader.preprocessors import ClearHiddenTests
from traitlets import Bool


class ClearHiddenTestsInFeedback(ClearHiddenTests):
    enforce_metadata = Bool(
        False, help="Do not stop at hidden-test markers in cells that are not tests."
    ).tag(config=True)
