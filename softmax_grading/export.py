"""The grades of one assignment as a CSV file: totals, lateness, parts, and what still waits.

One row per student the gradebook knows (everyone who handed in any
assignment), for the assignment asked for only. Work never collected is blank,
not 0, so that it cannot be mistaken for a real zero. Each graded part has a
column of its own (blank while a written answer awaits a human, or for a part added to the
assignment after the submission was graded), and
``pending_manual_grading`` names the parts still waiting. The score is
nbgrader's: the parts' total less the late penalty. A submission whose time
is unknown has ``submitted_at`` and ``days_late`` blank and says why in
``lateness_note`` (no penalty is applied to it).
"""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook

from softmax_grading import class_records, deadlines
from softmax_grading.layout import Course
from softmax_grading.untrusted import spreadsheet_row

FIXED_COLUMNS = ["assignment", "student_id", "lms_user_id", "last_name", "first_name", "email",
                 "status", "submitted_at", "days_late", "lateness_note", "raw_score",
                 "late_penalty", "score",
                 "max_score", "pending_manual_grading"]


def default_path(course: Course, assignment: str) -> Path:
    return course.root / "grades" / f"{assignment}.csv"


def part_names(course: Course, assignment: str) -> list[tuple[str, str, float]]:
    """(notebook, part, points) of every graded cell, in notebook order."""
    parts = []
    with Gradebook(course.db_url) as gradebook:
        for notebook in gradebook.find_assignment(assignment).notebooks:
            cells = sorted(notebook.grade_cells, key=lambda cell: _position(notebook, cell.name))
            parts += [(notebook.name, cell.name, float(cell.max_score)) for cell in cells]
    return parts


def _position(notebook, name: str) -> int:
    for index, cell in enumerate(notebook.source_cells):
        if cell.name == name:
            return index
    return len(notebook.source_cells)


def part_column(name: str, points: float) -> str:
    return f"{name} (/{points:g})"


def rows(course: Course, assignment: str) -> tuple[list[str], list[dict]]:
    """The header and one row per student, after applying the late policy to current scores."""
    deadlines.refresh_penalties(course, assignment)
    notes = deadlines.time_notes(course, assignment)
    parts = part_names(course, assignment)
    header = FIXED_COLUMNS + [part_column(name, points) for _, name, points in parts]
    table = []
    with Gradebook(course.db_url) as gradebook:
        max_score = float(gradebook.find_assignment(assignment).max_score)
        submissions = class_records.submissions_of(gradebook, assignment)
        for student in sorted(gradebook.students, key=lambda s: s.id):
            row = dict.fromkeys(header, "")
            row.update(assignment=assignment, student_id=student.id,
                       lms_user_id=student.lms_user_id or "", last_name=student.last_name or "",
                       first_name=student.first_name or "", email=student.email or "",
                       max_score=f"{max_score:g}", status="missing")
            submission = submissions.get(student.id)
            if submission is None:
                table.append(row)
                continue
            grades = class_records.grades_by_part(submission)
            pending = []
            for notebook, name, points in parts:
                grade = grades.get((notebook, name))
                if grade is None:  # a part added to the assignment after this was graded
                    continue
                if grade.needs_manual_grade:
                    pending.append(name)
                else:
                    row[part_column(name, points)] = f"{float(grade.score):g}"
            penalty = float(submission.late_submission_penalty or 0.0)
            late = float(submission.total_seconds_late)
            row.update(status="graded", raw_score=f"{float(submission.score):g}",
                       late_penalty=f"{penalty:g}",
                       score=f"{max(0.0, float(submission.score) - penalty):g}",
                       days_late=f"{late / 86400:.2f}" if late > 0 else
                       "" if student.id in notes else "0",
                       lateness_note=notes.get(student.id, ""),
                       submitted_at=submission.timestamp.isoformat() + "Z"
                       if submission.timestamp else "",
                       pending_manual_grading=" ".join(pending))
            table.append(row)
    return header, table


def write(course: Course, assignment: str, destination: Path,
          not_graded: dict[str, str] | None = None) -> Path:
    header, table = rows(course, assignment)
    for row in table:
        if not_graded and row["student_id"] in not_graded:
            row["status"] = "not graded"
    destination.parent.mkdir(parents=True, exist_ok=True)
    with open(destination, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(spreadsheet_row(row) for row in table)
    return destination
