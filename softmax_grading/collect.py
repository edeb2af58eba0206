"""Collect an LMS's "download all submissions" zip, batch after batch, newest submission winning.

nbgrader's ``zip_collect`` stops at the second batch of an assignment
(``Duplicate submission file. No timestamps for comparison``): a batch of late
work, the same zip downloaded twice (``submissions (1).zip``), or a student's
resubmission (``-1``, ``-2`` before the extension). Here every notebook of
every batch is read with the course's ``FileNameCollectorPlugin.named_regexp``,
kept under ``downloaded/<assignment>/history/<student>/``, and the newest one
of each student becomes ``submitted/<student>/<assignment>/``, with its
submission time in ``timestamp.txt`` (which nbgrader reads to work out
lateness). "Newest" is the latest submission time, then the highest
resubmission number, then the later batch. Nothing collected is ever
overwritten or deleted, and a batch that brings nothing new changes nothing.

The submission time comes from the file name when the pattern has a
``timestamp`` group, and otherwise from the time stored with the file in the
zip (Canvas stores the submission time there), read in
``c.LmsDownload.timezone``. The LMS's user id (Canvas's ``<user id>`` group,
``lms_user_id`` in the pattern) is stored in the gradebook for the LMS export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import FileNameCollectorPlugin
from nbgrader.utils import parse_utc
from traitlets import Int, Unicode
from traitlets.config import Configurable

from softmax_grading.layout import Course
from softmax_grading.untrusted import inside, is_student_id, printable

TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's name; it reads the submission time from it


class LmsDownload(Configurable):
    """How to read an LMS download beyond its file names."""

    timezone = Unicode(
        "UTC", help="time zone of the file times stored in the LMS's zip (Canvas: UTC)"
    ).tag(config=True)
    max_entry_bytes = Int(
        50_000_000, help="largest notebook collected from the zip, in bytes (after "
        "decompression); a larger entry is skipped and named"
    ).tag(config=True)


@dataclass(frozen=True)
class Version:
    """One submitted notebook of one student, as collected from one batch."""

    student: str
    notebook: str
    submitted_at: str  # ISO 8601, UTC
    attempt: int  # the LMS's resubmission number (0 for the first)
    batch: int  # order of the zip among the collected batches
    marked_late: bool  # the LMS named the file late
    lms_user_id: str | None
    sha256: str
    kept_as: str  # path under the history folder

    def order(self) -> tuple:
        return (self.submitted_at, self.attempt, self.batch)


@dataclass
class CollectRun:
    new_versions: int = 0
    students_updated: list[str] | None = None
    unmatched: list[str] | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # entry name -> why
    late_marked: int = 0


def history_folder(course: Course, assignment: str) -> Path:
    return course.root / "downloaded" / assignment / "history"


def manifest_path(course: Course, assignment: str) -> Path:
    return course.root / "downloaded" / assignment / "collected.json"


def load_versions(course: Course, assignment: str) -> list[Version]:
    path = manifest_path(course, assignment)
    if not path.exists():
        return []
    return [Version(**entry) for entry in json.loads(path.read_text())]


def newest_per_student(versions: list[Version]) -> dict[str, Version]:
    newest: dict[str, Version] = {}
    for version in versions:
        current = newest.get(version.student)
        if current is None or version.order() > current.order():
            newest[version.student] = version
    return newest


def _submission_time(groups: dict, info: zipfile.ZipInfo, timezone: str) -> str:
    if groups.get("timestamp"):
        return parse_utc(groups["timestamp"]).replace(tzinfo=dt.UTC).isoformat()
    local = dt.datetime(*info.date_time, tzinfo=ZoneInfo(timezone))
    return local.astimezone(dt.UTC).isoformat()


def collect(course: Course, assignment: str, archive: Path) -> CollectRun:
    """Add one LMS batch; returns what changed. Raises SystemExit on a conflict."""
    if not archive.is_file():
        raise SystemExit(f"{archive} does not exist")
    if not zipfile.is_zipfile(archive):
        raise SystemExit(f"{archive} is not a zip file")
    notebooks = set(course.notebooks(assignment))
    matcher = FileNameCollectorPlugin(config=course.config)
    settings = LmsDownload(config=course.config)
    timezone, max_bytes = settings.timezone, settings.max_entry_bytes
    versions = load_versions(course, assignment)
    known = {(v.student, v.sha256, v.submitted_at) for v in versions}
    batch = 1 + max((v.batch for v in versions), default=0)
    run = CollectRun(students_updated=[], unmatched=[])
    before = newest_per_student(versions)
    fresh: list[tuple[Version, bytes]] = []
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            if info.is_dir() or not info.filename.endswith(".ipynb"):
                continue
            groups = matcher._match(f"{archive.stem}/{info.filename}")
            if not groups or Path(groups["file_id"]).stem not in notebooks:
                run.unmatched.append(info.filename)
                continue
            if not is_student_id(groups["student_id"]):
                run.skipped[info.filename] = (
                    f"the student id {printable(groups['student_id'])!r} cannot be a folder "
                    "name (letters, digits and . = + @ , ' - only, not starting with a dot)")
                continue
            content = _read_capped(bundle, info, max_bytes)
            if content is None:
                run.skipped[info.filename] = (
                    f"larger than LmsDownload.max_entry_bytes ({max_bytes} bytes) once "
                    "unzipped; nothing of it was kept")
                continue
            version = Version(
                student=groups["student_id"], notebook=Path(groups["file_id"]).stem,
                submitted_at=_submission_time(groups, info, timezone),
                attempt=int(groups.get("attempt") or 0), batch=batch,
                marked_late=bool(groups.get("late")), lms_user_id=groups.get("lms_user_id"),
                sha256=hashlib.sha256(content).hexdigest(), kept_as="")
            run.late_marked += version.marked_late
            if (version.student, version.sha256, version.submitted_at) in known:
                continue  # the same file from an earlier batch (a re-downloaded zip)
            known.add((version.student, version.sha256, version.submitted_at))
            stamp = version.submitted_at.replace(":", "").replace("+0000", "Z")
            kept = f"{version.student}/{stamp}_attempt{version.attempt}_{version.sha256[:8]}.ipynb"
            fresh.append((Version(**{**asdict(version), "kept_as": kept}), content))
    _check_lms_ids([v for v, _ in fresh] + versions, course)
    for version, content in fresh:
        path = history_folder(course, assignment) / version.kept_as
        if not inside(history_folder(course, assignment), path):
            raise SystemExit(f"{printable(version.kept_as)} would be written outside "
                             f"{history_folder(course, assignment)}; nothing was collected")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    versions += [v for v, _ in fresh]
    run.new_versions = len(fresh)
    manifest_path(course, assignment).parent.mkdir(parents=True, exist_ok=True)
    manifest_path(course, assignment).write_text(
        json.dumps([asdict(v) for v in versions], indent=1))
    for student, version in sorted(newest_per_student(versions).items()):
        if before.get(student) != version or not _in_submitted(course, assignment, version):
            _install(course, assignment, version)
            run.students_updated.append(student)
    _store_lms_ids(course, versions)
    return run


def _read_capped(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int
                 ) -> bytes | None:
    """The entry's bytes, or None when it is larger than max_bytes: the size in the zip's
    header is checked, and so are the bytes actually inflated (a header can lie)."""
    if info.file_size > max_bytes:
        return None
    with bundle.open(info) as entry:
        content = entry.read(max_bytes + 1)
    return None if len(content) > max_bytes else content


def _check_lms_ids(versions: list[Version], course: Course) -> None:
    """Refuse the batch when one student id would carry two LMS users, in this assignment or
    against the id the gradebook holds from any assignment, or one LMS user two student ids."""
    ids: dict[str, set[str]] = {}
    names: dict[str, set[str]] = {}
    for version in versions:
        if version.lms_user_id:
            ids.setdefault(version.student, set()).add(version.lms_user_id)
            names.setdefault(version.lms_user_id, set()).add(version.student)
    with Gradebook(course.db_url) as gradebook:
        for student in gradebook.students:
            if student.lms_user_id:
                if student.id in ids:
                    ids[student.id].add(student.lms_user_id)
                if student.lms_user_id in names:
                    names[student.lms_user_id].add(student.id)
    clashes = {s: sorted(found) for s, found in ids.items() if len(found) > 1}
    if clashes:
        raise SystemExit(
            "Two LMS users share a student id (the name part of the file names): "
            + "; ".join(f"{printable(s)}: user ids {', '.join(i)}" for s, i in clashes.items())
            + " (counting the ids the gradebook holds from earlier collections). Nothing was "
            "collected. Put the user id into the student id in "
            "FileNameCollectorPlugin.named_regexp (nbgrader_config.py).")
    shared = {user: sorted(found) for user, found in names.items() if len(found) > 1}
    if shared:
        raise SystemExit(
            "One LMS user appears under several student ids (a name changed in the LMS?): "
            + "; ".join(f"user id {u}: {', '.join(map(printable, s))}"
                        for u, s in shared.items())
            + ". Nothing was collected. Rename the files so the user has one student id.")


def _in_submitted(course: Course, assignment: str, version: Version) -> bool:
    path = course.submitted(version.student, assignment) / f"{version.notebook}.ipynb"
    return path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == version.sha256


def _install(course: Course, assignment: str, version: Version) -> None:
    folder = course.submitted(version.student, assignment)
    if not is_student_id(version.student) or not inside(
            course.root / course.coursedir.submitted_directory, folder):
        raise SystemExit(f"{printable(version.student)} cannot be a folder in submitted/")
    folder.mkdir(parents=True, exist_ok=True)
    source = history_folder(course, assignment) / version.kept_as
    (folder / f"{version.notebook}.ipynb").write_bytes(source.read_bytes())
    (folder / TIMESTAMP_FILE).write_text(version.submitted_at + "\n")


def _store_lms_ids(course: Course, versions: list[Version]) -> None:
    with Gradebook(course.db_url) as gradebook:
        for student, version in newest_per_student(versions).items():
            if not version.lms_user_id:
                continue
            try:
                stored = gradebook.find_student(student).lms_user_id
            except MissingEntry:
                stored = None
            if not stored:  # a different stored id was refused by _check_lms_ids: never replace
                gradebook.update_or_create_student(student, lms_user_id=version.lms_user_id)
