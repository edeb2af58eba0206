"""Mark written answers without a browser: one file out to the graders, the marks back in.

``export_answers`` writes every graded submission's written answers of an
assignment to one YAML file: per student and part, the question, the mark
scheme, the student's answer, the points available, and blank ``mark`` and
``comment`` fields (filled with the gradebook's marks when there are any).
A grader fills in marks and comments in any text editor. ``import_marks``
checks the whole file before it writes anything: an unknown student or part,
a mark that is not a number from 0 to the part's points, an entry given twice,
or an answer that changed since the export (the student resubmitted and was
regraded) is an error, named with its place in the file, and then nothing is
written. Entries whose mark is left blank are skipped, so a file can be
marked and imported in several sittings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml
from nbgrader.api import Gradebook, MissingEntry

from softmax_grading.layout import Course

MARK_SCHEME = re.compile(r"=== BEGIN MARK SCHEME ===(.*?)=== END MARK SCHEME ===", re.S)
FORMAT = "softmax-written-answers-1"


@dataclass
class Part:
    notebook: str
    name: str
    points: float
    question: str
    mark_scheme: str


def written_parts(course: Course, assignment: str) -> list[Part]:
    """Every hand-graded answer cell of the assignment, with its question and mark scheme."""
    parts = []
    for notebook in course.notebooks(assignment):
        cells = nbformat.read(course.source_notebook(assignment, notebook), as_version=4).cells
        for index, cell in enumerate(cells):
            info = cell.metadata.get("nbgrader", {})
            if not (info.get("grade") and info.get("solution") and cell.cell_type == "markdown"):
                continue
            question = next((c.source for c in reversed(cells[:index])
                             if c.cell_type == "markdown" and not c.metadata.get("nbgrader")), "")
            schemes = MARK_SCHEME.findall(cell.source)
            parts.append(Part(notebook, info["grade_id"], float(info["points"]),
                              question.strip(), "\n".join(s.strip() for s in schemes)))
    return parts


def _answers(course: Course, assignment: str, student: str, notebook: str) -> dict[str, str]:
    """grade id -> the answer text in the graded notebook (what the marks are for)."""
    path = course.autograded(student, assignment) / f"{notebook}.ipynb"
    if not path.exists():
        return {}
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source.strip()
            for cell in nbformat.read(path, as_version=4).cells
            if cell.metadata.get("nbgrader", {}).get("solution")}


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _Literal(str):
    """A multi-line string written as a YAML block, readable and editable."""


yaml.SafeDumper.add_representer(
    _Literal, lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def export_answers(course: Course, assignment: str, destination: Path,
                   only_pending: bool = False) -> int:
    """Write the file; returns the number of answers in it."""
    parts = written_parts(course, assignment)
    entries = []
    with Gradebook(course.db_url) as gradebook:
        for submission in sorted(gradebook.find_assignment(assignment).submissions,
                                 key=lambda s: s.student.id):
            student = submission.student.id
            marks = []
            for part in parts:
                answer = _answers(course, assignment, student, part.notebook).get(part.name)
                if answer is None:
                    continue
                grade = gradebook.find_grade(part.name, part.notebook, assignment, student)
                if only_pending and not grade.needs_manual_grade:
                    continue
                comment = gradebook.find_comment(part.name, part.notebook, assignment, student)
                marks.append({"part": part.name, "points": part.points,
                              "question": _Literal(part.question),
                              "mark_scheme": _Literal(part.mark_scheme),
                              "answer": _Literal(answer),
                              "answer_id": fingerprint(answer),
                              "mark": grade.manual_score,
                              "comment": _Literal(comment.manual_comment or "")})
            if marks:
                entries.append({"student": student, "answers": marks})
    document = {"format": FORMAT, "assignment": assignment,
                "exported": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "how_to_mark": "Give each answer a mark from 0 to its points and, if you like, "
                               "a comment for the student. Leave mark empty to skip an answer. "
                               "Change nothing else.",
                "students": entries}
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True,
                                          width=100), encoding="utf-8")
    return sum(len(entry["answers"]) for entry in entries)


class MarksRejected(SystemExit):
    """The marks file has problems; nothing was written."""


def _read(path: Path) -> dict:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise MarksRejected(f"{path} cannot be read as YAML: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise MarksRejected(f"{path} is not a written-answers file made by `written-export`")
    return document


def _is_mark(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def import_marks(course: Course, assignment: str, path: Path) -> int:
    """Check the whole file, then store its marks and comments; returns how many were stored."""
    document = _read(path)
    if document.get("assignment") != assignment:
        raise MarksRejected(f"{path} holds answers of {document.get('assignment')!r}, "
                            f"not {assignment!r}")
    parts = {part.name: part for part in written_parts(course, assignment)}
    problems, accepted, seen = [], [], set()
    with Gradebook(course.db_url) as gradebook:
        students = document.get("students") or []
        if not isinstance(students, list):
            raise MarksRejected(f"{path}: `students` must be a list")
        for number, entry in enumerate(students, start=1):
            student = entry.get("student") if isinstance(entry, dict) else None
            where = f"students[{number}] ({student})"
            try:
                gradebook.find_submission(assignment, str(student))
            except MissingEntry:
                problems.append(f"{where}: no graded submission of {assignment} by {student!r}")
                continue
            for answer in entry.get("answers") or []:
                name = answer.get("part") if isinstance(answer, dict) else None
                place = f"{where}, part {name}"
                if name not in parts:
                    problems.append(f"{place}: {assignment} has no written part {name!r}")
                    continue
                if (student, name) in seen:
                    problems.append(f"{place}: given twice")
                    continue
                seen.add((student, name))
                mark = answer.get("mark")
                if mark is None:
                    continue
                part = parts[name]
                if not _is_mark(mark) or not 0 <= mark <= part.points:
                    problems.append(f"{place}: mark {mark!r} is not a number from 0 to "
                                    f"{part.points:g}")
                    continue
                current = _answers(course, assignment, student, part.notebook).get(name, "")
                if fingerprint(current) != answer.get("answer_id"):
                    problems.append(f"{place}: the answer changed since the export (the student "
                                    "resubmitted); export again and mark the new answer")
                    continue
                comment = answer.get("comment") or ""
                if not isinstance(comment, str):
                    problems.append(f"{place}: the comment must be text")
                    continue
                accepted.append((student, part, float(mark), comment.strip()))
        if problems:
            raise MarksRejected(f"{path}: nothing was imported, because of {len(problems)} "
                                "problem(s):\n  " + "\n  ".join(problems))
        for student, part, mark, comment in accepted:
            grade = gradebook.find_grade(part.name, part.notebook, assignment, student)
            grade.manual_score = mark
            grade.needs_manual_grade = False
            gradebook.find_comment(part.name, part.notebook, assignment,
                                   student).manual_comment = comment or None
        gradebook.db.commit()
    return len(accepted)
