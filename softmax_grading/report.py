"""The per-assignment grading report: what the instructor reads after every ``grade``.

For every student: the score of each part, the parts still waiting for a
human, when the work was submitted and how late (with the late penalty, or
why no lateness is counted when the submission time is unknown),
timeouts, integrity flags, a withheld feedback page, and whether the sandbox
was on. Written as ``reports/<assignment>/report.json`` (for programs)
and ``report.txt`` (for people), from the gradebook and the grading results.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from nbgrader.api import Gradebook

from softmax_grading import class_records, deadlines
from softmax_grading.autograde import AutogradeRun, load_result, not_graded_path
from softmax_grading.collect import LATE_TIME_UNKNOWN
from softmax_grading.feedback import FeedbackRun
from softmax_grading.layout import Course
from softmax_grading.scoring import findings_against
from softmax_grading.untrusted import printable


def build(course: Course, assignment: str, run: AutogradeRun,
          feedback: FeedbackRun | None) -> dict:
    path = not_graded_path(course, assignment)
    not_graded = json.loads(path.read_text()) if path.exists() else dict(run.not_graded)
    students = sorted(set(course.students(assignment)) | set(not_graded))
    deadlines.refresh_penalties(course, assignment)
    due = deadlines.due_date(course, assignment)
    report = {"assignment": assignment, "sandbox": run.sandboxed,
              "due": due.isoformat() + "Z" if due else None,
              "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "limits": course.sandbox().limits(), "students": {}}
    notes = deadlines.time_notes(course, assignment)
    with Gradebook(course.db_url) as gradebook:
        submissions = class_records.submissions_of(gradebook, assignment)
        for student in students:
            submission = submissions.get(student)
            entry = _student(submission, course, assignment, student, run, feedback, not_graded)
            entry.update(deadlines.lateness_of(submission))
            entry["time_note"] = notes.get(student)
            report["students"][student] = entry
    return report


def _student(submission, course, assignment, student, run, feedback, not_graded) -> dict:
    """The report's entry for one student; `submission` is theirs from the gradebook, or None."""
    result = load_result(course, assignment, student)
    entry = {"status": "not graded" if student in not_graded else "graded",
             "reason": not_graded.get(student),
             "sandbox": result.sandboxed if result else run.sandboxed,
             "score": 0.0, "max_score": 0.0, "parts": {}, "manual_pending": [],
             "timeouts": list(result.timeouts) if result else [],
             "flags": [f["text"] for f in result.findings] if result else [],
             "edited_locked_cells": run.edited_locked_cells.get(student, []),
             "feedback": "not generated"}
    if submission is None:
        return entry
    entry["score"] = float(submission.score)
    entry["max_score"] = float(submission.max_score)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            part = {"score": float(grade.score), "max": float(grade.max_score),
                    "auto": grade.cell_type == "code"}
            if result and grade.name in result.verdicts:
                voided = findings_against(result.verdicts[grade.name], result.findings)
                part["passed"] = bool(result.verdicts[grade.name]["passed"])
                if voided:
                    part["voided_by"] = voided
            entry["parts"][grade.name] = part
            if grade.needs_manual_grade:
                entry["manual_pending"].append(grade.name)
    if feedback is not None and student in feedback.withheld:
        entry["feedback"] = f"withheld: {feedback.withheld[student]}"
    elif any(course.feedback(student, assignment).glob("*.html")):
        entry["feedback"] = "written"
    return entry


def write(course: Course, report: dict) -> tuple[Path, Path]:
    folder = course.reports(report["assignment"])
    folder.mkdir(parents=True, exist_ok=True)
    json_path, text_path = folder / "report.json", folder / "report.txt"
    json_path.write_text(json.dumps(report, indent=2, sort_keys=True))
    text_path.write_text(as_text(report))
    return json_path, text_path


def as_text(report: dict) -> str:
    lines = [f"Grading report for {report['assignment']} ({report['generated']})",
             "Sandbox: " + ("on" if report["sandbox"] else
                            "OFF (--no-sandbox): student code ran with the grader's rights"),
             "Due: " + (report["due"] or "no due date (nothing counts as late)")]
    unknown = [e for e in report["students"].values() if e.get("time_note")]
    if unknown:
        lines.append(f"Submission time unknown for {len(unknown)} student(s): no late penalty "
                     "for them (collect the zip again with --times FILE to apply the policy)")
    lines.append("")
    lines.append(f"{'student':<32} {'score':>7} {'max':>6}  notes")
    for student, entry in report["students"].items():
        notes = []
        if entry["status"] != "graded":
            notes.append(f"NOT GRADED: {entry['reason']}")
        if not entry["sandbox"]:
            notes.append("SANDBOX OFF")
        if entry["flags"]:
            notes.append(f"INTEGRITY ({len(entry['flags'])})")
        if entry["timeouts"]:
            notes.append(f"timeouts ({len(entry['timeouts'])})")
        if entry.get("seconds_late") and entry["late_penalty"]:
            notes.append(f"LATE {entry['seconds_late'] / 86400:.2f} days, "
                         f"-{entry['late_penalty']:g} points")
        elif entry.get("seconds_late"):
            notes.append(f"late {entry['seconds_late'] / 86400:.2f} days, no penalty")
        elif entry.get("time_note") == LATE_TIME_UNKNOWN:
            notes.append(LATE_TIME_UNKNOWN)
        if entry["manual_pending"]:
            notes.append("manual: " + ", ".join(entry["manual_pending"]))
        if entry["feedback"].startswith("withheld"):
            notes.append("feedback " + entry["feedback"])
        lines.append(f"{student:<32} {entry['score']:>7.2f} {entry['max_score']:>6.1f}  "
                     + "; ".join(notes))
    details = [(s, e) for s, e in report["students"].items()
               if e["flags"] or e["timeouts"] or e["edited_locked_cells"]]
    if details:
        lines += ["", "Details"]
    for student, entry in details:
        lines.append(f"  {student}")
        lines += [f"    integrity: {flag}" for flag in entry["flags"]]
        lines += [f"    timeout: {timeout}" for timeout in entry["timeouts"]]
        lines += [f"    locked cell edited (restored): {cell}"
                  for cell in entry["edited_locked_cells"]]
    return "\n".join(printable(line) for line in lines) + "\n"  # ids are the students'

