"""Due dates in the gradebook, and late penalties that follow the final score.

The due date of an assignment is nbgrader's own (``Assignment.duedate`` in the
gradebook); a submission's time is nbgrader's too (``timestamp.txt``, written
by ``collect``). nbgrader works out the seconds late and applies the course's
late-submission plugin when a submission is autograded, on the score at that
moment, before any written answer is marked. :func:`refresh_penalties` applies
the same plugin again to the current score (manual marks included), and runs
before every feedback page and grades file is written.

A submission whose time is unknown (no ``timestamp.txt``: ``collect`` had no
time it could trust) is never late here, as in nbgrader; :func:`time_notes`
names those students for the report and the grades CSV, and says so plainly
when the LMS named the file late.
"""

from __future__ import annotations

import datetime as dt

from nbgrader.api import Gradebook, SubmittedAssignment
from nbgrader.preprocessors import AssignLatePenalties

from softmax_grading import class_records, collect
from softmax_grading.iso_time import parse_iso_time
from softmax_grading.layout import Course


def parse_due_date(text: str) -> dt.datetime:
    """A due date with an explicit time zone, as a naive UTC datetime (nbgrader's form)."""
    when = parse_iso_time(text)
    if when is None:
        raise SystemExit(f"{text!r} is not a date and time; write it like 2026-12-04T23:59+01:00")
    if when.tzinfo is None:
        raise SystemExit(f"{text!r} has no time zone; add one, like 2026-12-04T23:59+01:00 or "
                         "2026-12-04T22:59Z, so that nobody is late by an hour")
    return when.astimezone(dt.UTC).replace(tzinfo=None)


def set_due_date(course: Course, assignment: str, text: str | None) -> dt.datetime | None:
    """Store (or with None, clear) the assignment's due date in the gradebook."""
    when = parse_due_date(text) if text else None
    with Gradebook(course.db_url) as gradebook:
        gradebook.find_assignment(assignment).duedate = when
        gradebook.db.commit()
    return when


def due_date(course: Course, assignment: str) -> dt.datetime | None:
    with Gradebook(course.db_url) as gradebook:
        return gradebook.find_assignment(assignment).duedate


def refresh_penalties(course: Course, assignment: str) -> None:
    """Apply the late policy to every submission's current time and score (manual marks too)."""
    penalties = AssignLatePenalties(config=course.config)
    penalties.init_plugin()
    with Gradebook(course.db_url) as gradebook:
        for student, submission in class_records.submissions_of(gradebook, assignment).items():
            # The submission time as collected now (a later batch may have replaced the file).
            submission.timestamp = course.coursedir.get_existing_timestamp(
                str(course.submitted(student, assignment)))
            late = submission.total_seconds_late
            for notebook in submission.notebooks:
                if late <= 0:
                    notebook.late_submission_penalty = None
                    continue
                penalty = penalties.plugin_inst.late_submission_penalty(
                    student, notebook.score, late)
                notebook.late_submission_penalty = (
                    None if penalty is None else max(0.0, min(penalty, notebook.score)))
        gradebook.db.commit()


def lateness_of(submission: SubmittedAssignment | None) -> dict:
    """When the student submitted, how late, and the penalty, for the report and the CSV:
    from their submission as the gradebook holds it (None when they have none)."""
    if submission is None:
        return {"submitted_at": None, "seconds_late": 0.0, "late_penalty": 0.0}
    timestamp = submission.timestamp
    return {"submitted_at": timestamp.replace(tzinfo=dt.UTC).isoformat() if timestamp
            else None,
            "seconds_late": float(submission.total_seconds_late),
            "late_penalty": float(submission.late_submission_penalty or 0.0)}


def time_notes(course: Course, assignment: str) -> dict[str, str]:
    """Student -> why no lateness is counted, for each submission without a known time (only
    when the assignment has a due date: without one nothing is late anyway)."""
    if due_date(course, assignment) is None:
        return {}
    newest = collect.newest_per_student(collect.load_versions(course, assignment))
    notes = {}
    for student in course.students(assignment):
        folder = course.submitted(student, assignment)
        if not (folder / collect.TIMESTAMP_FILE).exists():
            version = newest.get(student)
            notes[student] = (collect.LATE_TIME_UNKNOWN if version and version.marked_late
                              else collect.TIME_UNKNOWN)
    return notes
