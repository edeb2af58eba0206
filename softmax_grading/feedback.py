"""Feedback pages, written one student at a time, each checked before anyone can see it.

nbgrader's ``generate_feedback`` renders each autograded notebook as HTML with
the course's preprocessors (scores and check messages, never test code). Every
page is then scanned: a page showing a secret line (a hidden test, a solution,
a mark scheme) that the student did not write and the release does not show,
or larger than the size limit, is withheld: deleted and named in the report.
Everyone else's feedback is written regardless.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nbgrader.apps import NbGraderAPI

from softmax_grading import leaks
from softmax_grading.layout import Course

MAX_PAGE_BYTES = 5_000_000


@dataclass
class FeedbackRun:
    written: list[str] = field(default_factory=list)
    withheld: dict[str, str] = field(default_factory=dict)


def generate(course: Course, assignment: str, students: list[str]) -> FeedbackRun:
    run = FeedbackRun()
    api = NbGraderAPI(coursedir=course.coursedir, config=course.config)
    for notebook in course.notebooks(assignment):
        secrets = leaks.secret_lines(course.source_notebook(assignment, notebook))
        released = leaks.lines_written_in(course.release_notebook(assignment, notebook))
        for student in students:
            if not course.autograded(student, assignment).is_dir():
                continue
            outcome = api.generate_feedback(assignment, student, force=True)
            page = course.feedback(student, assignment) / f"{notebook}.html"
            if not outcome.get("success") or not page.exists():
                run.withheld[student] = "nbgrader could not render the feedback page"
                continue
            reason = _problem(page, secrets, released | leaks.lines_written_in(
                course.submitted(student, assignment) / f"{notebook}.ipynb"))
            if reason:
                page.unlink()
                run.withheld[student] = reason
            elif student not in run.withheld:
                run.written.append(student)
    return run


def _problem(page, secrets: set[str], allowed: set[str]) -> str | None:
    size = page.stat().st_size
    if size > MAX_PAGE_BYTES:
        return f"the page is {size:,} bytes, over the {MAX_PAGE_BYTES:,}-byte limit"
    # The grader's package is public; only solutions, hidden tests and mark schemes are secret.
    found = leaks.find_leaks(page, leaks.readable_text(page), secrets, allowed=allowed, names=())
    if found:
        return "it would show " + "; ".join(repr(leak.secret[:60]) for leak in found[:3])
    return None
