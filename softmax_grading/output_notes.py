"""The note that stands in for outputs the grader does not keep: one wording for the worker that
receives them (``grade_one``) and the writer that caps them (``LimitOutputBytes``). It imports
nothing, so a worker can use it without nbgrader."""

CUT_NOTE = "[output cut by the grader: {what}]\n"
