"""Keep graders' manual work across a regrade.

nbgrader's ``autograde --force`` recreates a submission's grades, which erases
the manual scores, extra credit and comments graders entered in the
formgrader. Regrading after a fix to a test must not cost them that work, so
it is saved before a submission is recorded again and put back after.
"""

from __future__ import annotations

from nbgrader.api import Gradebook, MissingEntry

from softmax_grading.layout import Course

# (notebook, "grade" | "comment", cell name) -> what a grader entered
ManualWork = dict[tuple[str, str, str], object]


def save(course: Course, assignment: str, student: str) -> ManualWork:
    saved: ManualWork = {}
    with Gradebook(course.db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return saved
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.manual_score is not None or grade.extra_credit:
                    saved[(notebook.name, "grade", grade.name)] = (grade.manual_score,
                                                                   grade.extra_credit)
            for comment in notebook.comments:
                if comment.manual_comment:
                    saved[(notebook.name, "comment", comment.name)] = comment.manual_comment
    return saved


def restore(course: Course, assignment: str, student: str, saved: ManualWork) -> list[str]:
    """Put saved work back; returns warnings for cells that no longer exist."""
    warnings = []
    if not saved:
        return warnings
    with Gradebook(course.db_url) as gradebook:
        for (notebook, kind, name), value in saved.items():
            try:
                if kind == "grade":
                    grade = gradebook.find_grade(name, notebook, assignment, student)
                    grade.manual_score, grade.extra_credit = value
                    grade.needs_manual_grade = False
                else:
                    comment = gradebook.find_comment(name, notebook, assignment, student)
                    comment.manual_comment = value
            except MissingEntry:
                warnings.append(f"{student}: {name} no longer exists; its manual {kind} was "
                                f"{value!r}")
        gradebook.db.commit()
    return warnings
