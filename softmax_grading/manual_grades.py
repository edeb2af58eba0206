"""Keep graders' manual work across a regrade, and ask again only about changed answers.

nbgrader's own ``autograde`` keeps the manual scores and comments in the
gradebook (``SaveAutoGrades`` never overwrites ``manual_score``), but flags
every cell that has a manual score as "needs manual grading" again, at every
regrade, whether or not the student changed anything. Here the manual work is
saved before a submission is recorded again and put back after, and a written
answer is flagged again only when its text changed since it was marked: the
answer is compared between the graded notebook before and after the regrade.
A manual score given to an autograded part stays the part's score.
"""

from __future__ import annotations

import hashlib

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from softmax_grading.layout import Course

# (notebook, "grade" | "comment", cell name) -> what a grader entered
ManualWork = dict[tuple[str, str, str], object]
# (notebook, ANSWERS, "") -> the answers' fingerprints when the work was saved
ANSWERS = "answers"


def answer_fingerprints(course: Course, assignment: str, student: str, notebook: str
                        ) -> dict[str, str]:
    """grade id -> sha256 of the answer text, for each answer cell of the graded notebook."""
    path = course.autograded(student, assignment) / f"{notebook}.ipynb"
    if not path.exists():
        return {}
    found = {}
    for cell in nbformat.read(path, as_version=4).cells:
        info = cell.metadata.get("nbgrader", {})
        if info.get("solution") and info.get("grade_id"):
            found[info["grade_id"]] = hashlib.sha256(cell.source.strip().encode()).hexdigest()
    return found


def save(course: Course, assignment: str, student: str) -> ManualWork:
    saved: ManualWork = {}
    with Gradebook(course.db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return saved
        for notebook in submission.notebooks:
            work: ManualWork = {}
            for grade in notebook.grades:
                if grade.manual_score is not None or grade.extra_credit:
                    work[(notebook.name, "grade", grade.name)] = (grade.manual_score,
                                                                  grade.extra_credit)
            for comment in notebook.comments:
                if comment.manual_comment:
                    work[(notebook.name, "comment", comment.name)] = comment.manual_comment
            if work:  # the answers as marked are read only when there is marking to keep
                saved.update(work)
                saved[(notebook.name, ANSWERS, "")] = answer_fingerprints(
                    course, assignment, student, notebook.name)
    return saved


def restore(course: Course, assignment: str, student: str, saved: ManualWork) -> list[str]:
    """Put saved work back; returns warnings for cells that no longer exist."""
    if not saved:  # nothing was marked: most records, which need no second read of the notebook
        return []
    warnings = []
    answers_before = {notebook: value for (notebook, kind, _), value in saved.items()
                      if kind == ANSWERS}
    answers_now = {notebook: answer_fingerprints(course, assignment, student, notebook)
                   for notebook in answers_before}
    with Gradebook(course.db_url) as gradebook:
        for (notebook, kind, name), value in saved.items():
            try:
                if kind == "grade":
                    grade = gradebook.find_grade(name, notebook, assignment, student)
                    grade.manual_score, grade.extra_credit = value
                    before = answers_before.get(notebook, {}).get(name)
                    grade.needs_manual_grade = (
                        before is not None and before != answers_now[notebook].get(name))
                elif kind == "comment":
                    comment = gradebook.find_comment(name, notebook, assignment, student)
                    comment.manual_comment = value
            except MissingEntry:
                warnings.append(f"{student}: {name} no longer exists; its manual {kind} was "
                                f"{value!r}")
        gradebook.db.commit()
    return warnings
