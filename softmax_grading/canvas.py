"""A grades file that Canvas's gradebook import accepts.

Canvas imports a CSV laid out like its own gradebook export: the columns
``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID`` and ``Section``, then one
column per assignment, headed by the assignment's name (an existing Canvas
assignment as ``Name (assignment id)``; a new name creates a new assignment),
and an optional second row, ``Points Possible``, with each assignment's
maximum. Canvas finds each student by ``ID``, its user id, which ``collect``
reads from Canvas's file names (``<name>_<user id>_<attachment id>_<file>``).
A blank score changes nothing in Canvas, so missing work and work still
awaiting manual grading are left blank, and listed.

With ``--roster`` (Canvas's own gradebook export, *Export Entire Gradebook*)
every enrolled student gets a row with their name, SIS ids and section.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from softmax_grading import export
from softmax_grading.layout import Course
from softmax_grading.untrusted import spreadsheet_row

IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "Points Possible"


@dataclass
class CanvasFile:
    path: Path
    scored: int = 0
    left_blank: dict[str, str] = field(default_factory=dict)  # student -> why


def read_roster(path: Path) -> dict[str, dict]:
    """Canvas user id -> the identity columns of Canvas's gradebook export."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        table = list(csv.DictReader(handle))
    if not table or any(column not in table[0] for column in ("Student", "ID")):
        raise SystemExit(f"{path} is not a Canvas gradebook export (no Student and ID columns)")
    return {row["ID"].strip(): {key: row.get(key, "") for key in IDENTITY}
            for row in table if row["ID"].strip().isdigit()}


def write(course: Course, assignment: str, destination: Path, column: str | None = None,
          roster: Path | None = None) -> CanvasFile:
    _, table = export.rows(course, assignment)
    enrolled = read_roster(roster) if roster else {}
    column = column or assignment
    result = CanvasFile(destination)
    lines = {}
    names: dict[str, list[str]] = {}
    for row in table:
        if row["lms_user_id"]:
            names.setdefault(row["lms_user_id"], []).append(row["student_id"])
    shared = {user_id: found for user_id, found in names.items() if len(found) > 1}
    for row in table:
        user_id = row["lms_user_id"]
        if user_id in shared:  # whose score is it? neither is posted, both are named
            result.left_blank[row["student_id"]] = (
                f"Canvas user id {user_id} belongs to several student ids: "
                + ", ".join(shared[user_id]))
            continue
        if not user_id:
            if row["status"] != "missing":
                result.left_blank[row["student_id"]] = "no Canvas user id (not from Canvas)"
            continue
        identity = enrolled.get(user_id) or {
            "Student": _display_name(row), "ID": user_id, "SIS User ID": "",
            "SIS Login ID": "", "Section": ""}
        score = row["score"]
        if row["pending_manual_grading"]:
            result.left_blank[row["student_id"]] = "awaiting manual grading: " + row[
                "pending_manual_grading"]
            score = ""
        result.scored += bool(score)
        lines[user_id] = {**identity, column: score}
    for user_id, identity in enrolled.items():
        lines.setdefault(user_id, {**identity, column: ""})
    max_score = next((row["max_score"] for row in table), "")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with open(destination, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*IDENTITY, column])
        writer.writeheader()
        writer.writerow({"Student": POINTS_POSSIBLE, column: max_score})
        writer.writerows(spreadsheet_row(line) for line in
                         sorted(lines.values(), key=lambda line: line["Student"].lower()))
    return result


def _display_name(row: dict) -> str:
    if row["last_name"] or row["first_name"]:
        return f"{row['last_name']}, {row['first_name']}".strip(", ")
    return row["student_id"]
