"""Collect an LMS's "download all submissions" zip, batch after batch, newest submission winning.

nbgrader's ``zip_collect`` stops at the second batch of an assignment
(``Duplicate submission file. No timestamps for comparison``): a batch of late
work, the same zip downloaded twice (``submissions (1).zip``), or a student's
resubmission (``-1``, ``-2`` before the extension). Here every notebook of
every batch is read with the course's ``FileNameCollectorPlugin.named_regexp``,
kept under ``downloaded/<assignment>/history/<student>/``, and the newest one
of each student becomes ``submitted/<student>/<assignment>/``, with its
submission time, when known, in ``timestamp.txt`` (which nbgrader reads to
work out lateness). Nothing collected is ever overwritten or deleted. The same
notebook bytes from the same student are one submission, whatever batch or
zip entry brings them again: a re-downloaded zip adds nothing, and the
earliest known time of the submission is kept.

What Canvas gives: its file names are ``<name>[_LATE]_<user id>_<attachment
id>_<file name>`` (``LATE`` when Canvas counts the submission late), and every
entry of its zip carries the moment the zip was built, not the submission
time. The submission time therefore comes from, in this order
(:func:`submission_time`, the one rule):

1. a ``timestamp`` group in the file-name pattern, for an LMS that puts the
   time in the name (never in Canvas's pattern: the rest of the name is the
   student's own file name);
2. a times file given to ``collect --times``: one line per LMS user id (or
   student id) with its ISO 8601 submission time, such as the ``submitted_at``
   of Canvas's Submissions API (:func:`read_times`);
3. the time stored with the entry in the zip, read in
   ``c.LmsDownload.timezone``, only when the course sets
   ``c.LmsDownload.zip_times_are_submission_times = True`` (for an LMS that
   stores submission times there; Canvas does not);
4. otherwise the time is unknown: the notebook is collected without a
   ``timestamp.txt``, so nbgrader counts it on time and no late penalty is
   applied; a notebook the LMS named late is named in collect's output, the
   report and the grades CSV (:data:`LATE_TIME_UNKNOWN`).

"Newest" is the latest submission time when every version of the student has
one; otherwise, and on a tie, the highest resubmission number, then the later
batch. The LMS's user id (Canvas's ``<user id>``, ``lms_user_id`` in the
pattern) is stored in the gradebook for the LMS export.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import zipfile
import zlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import FileNameCollectorPlugin
from nbgrader.utils import parse_utc
from traitlets import Bool, Int, Unicode
from traitlets.config import Configurable

from softmax_grading.iso_time import parse_iso_time
from softmax_grading.layout import Course
from softmax_grading.untrusted import inside, is_student_id, printable

# A resubmission number is the LMS's count of a student's uploads; more digits than this is a
# file name the student chose (it once reached a history file name too long for the disk).
MAX_ATTEMPT_DIGITS = 6
# What a damaged, encrypted or oddly compressed entry raises when it is read.
UNREADABLE_ENTRY = (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error)
TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's name; it reads the submission time from it
# What a notebook the LMS named late, with no known submission time, is shown with.
LATE_TIME_UNKNOWN = ("late per the LMS (LATE in its file name), submission time unknown: no "
                     "late penalty applied; collect the zip again with --times FILE")
TIME_UNKNOWN = "submission time unknown: no late penalty applied"
# The columns of a times file: one of the ids, and the time.
TIMES_ID_COLUMNS = {"user_id": "lms_user_id", "student_id": "student_id"}
TIMES_TIME_COLUMN = "submitted_at"


class LmsDownload(Configurable):
    """How to read an LMS download beyond its file names."""

    zip_times_are_submission_times = Bool(
        False, help="take a notebook's submission time from the time stored with it in the "
        "zip. Only for an LMS that stores submission times there: Canvas does not (every "
        "entry carries the moment the zip was built)").tag(config=True)
    timezone = Unicode(
        "UTC", help="time zone of the file times stored in the LMS's zip (used with "
        "zip_times_are_submission_times)").tag(config=True)
    max_entry_bytes = Int(
        50_000_000, help="largest notebook collected from the zip, in bytes (after "
        "decompression); a larger entry is skipped and named"
    ).tag(config=True)


@dataclass(frozen=True)
class Version:
    """One submitted notebook of one student, as collected from one batch."""

    student: str
    notebook: str
    submitted_at: str | None  # ISO 8601, UTC; None when unknown
    attempt: int  # the LMS's resubmission number (0 for the first)
    batch: int  # order of the zip among the collected batches
    marked_late: bool  # the LMS named the file late
    lms_user_id: str | None
    sha256: str
    kept_as: str  # path under the history folder
    time_source: str = ""  # where submitted_at came from ("" when unknown)

    def when(self) -> dt.datetime | None:
        return dt.datetime.fromisoformat(self.submitted_at) if self.submitted_at else None


@dataclass(frozen=True)
class SubmissionTimes:
    """A times file: submission time (ISO 8601, UTC) per LMS user id or per student id."""

    path: Path
    key: str  # the Version field the ids match: "lms_user_id" or "student_id"
    times: dict[str, str]
    lines: dict[str, int]  # id -> its line in the file, for messages

    def time_of(self, version: Version) -> str | None:
        return self.times.get(getattr(version, "student" if self.key == "student_id"
                                      else "lms_user_id") or "")


@dataclass
class CollectRun:
    new_versions: int = 0
    students_updated: list[str] | None = None
    unmatched: list[str] | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # entry name -> why
    late_marked: int = 0
    times_updated: int = 0  # submissions collected before whose time is now known or earlier
    late_time_unknown: dict[str, str] = field(default_factory=dict)  # student -> entry name
    time_unknown: int = 0  # students of this batch whose newest submission has no time


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
    """Each student's newest version: by submission time when all of the student's versions
    have one, then (or else) by resubmission number, then by batch."""
    by_student: dict[str, list[Version]] = {}
    for version in versions:
        by_student.setdefault(version.student, []).append(version)
    newest = {}
    for student, own in by_student.items():
        timed = all(v.submitted_at for v in own)
        newest[student] = max(own, key=lambda v: ((v.when(),) if timed else ())
                              + (v.attempt, v.batch))
    return newest


def read_times(path: Path) -> SubmissionTimes:
    """Read and check a times file (CSV: ``user_id`` or ``student_id``, and ``submitted_at``)."""
    if not path.is_file():
        raise SystemExit(f"{path} does not exist")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [name.strip() for name in reader.fieldnames or []]
            ids = [name for name in TIMES_ID_COLUMNS if name in columns]
            if len(ids) != 1 or TIMES_TIME_COLUMN not in columns:
                raise SystemExit(
                    f"{path}: the first line must name one id column, user_id (the LMS's "
                    f"user id) or student_id, and {TIMES_TIME_COLUMN}; it names "
                    f"{', '.join(map(printable, columns)) or 'none'}. Nothing was collected.")
            reader.fieldnames = columns
            times: dict[str, str] = {}
            lines: dict[str, int] = {}
            errors = []
            for row in reader:
                line = reader.line_num
                key, text = (row.get(ids[0]) or "").strip(), (
                    row.get(TIMES_TIME_COLUMN) or "").strip()
                when = _parse_time(text)
                if not key:
                    errors.append(f"line {line}: no {ids[0]}")
                elif key in lines:
                    errors.append(f"line {line}: {ids[0]} {printable(key)} is given twice "
                                  f"(lines {lines[key]} and {line})")
                elif when is None:
                    errors.append(f"line {line}: {printable(text)!r} is not an ISO 8601 time "
                                  "with a time zone, like 2026-12-04T22:59:00Z")
                else:
                    times[key], lines[key] = when, line
    except UnicodeDecodeError:
        raise SystemExit(f"{path} is not a UTF-8 text file. Nothing was collected.") from None
    except csv.Error as error:
        raise SystemExit(f"{path} is not a readable CSV file ({error}). Nothing was "
                         "collected.") from None
    if errors:
        raise SystemExit(f"{path}:\n  " + "\n  ".join(errors) + "\nNothing was collected.")
    return SubmissionTimes(path, TIMES_ID_COLUMNS[ids[0]], times, lines)


def _parse_time(text: str) -> str | None:
    """An ISO 8601 time with a time zone, as ISO 8601 in UTC; None if it is not one."""
    when = parse_iso_time(text)
    if when is None or when.tzinfo is None:
        return None
    try:
        return when.astimezone(dt.UTC).isoformat()
    except OverflowError:  # a time at the very edge of the calendar: not a submission time
        return None


def submission_time(groups: dict, info: zipfile.ZipInfo, version: Version,
                    times: SubmissionTimes | None, settings: LmsDownload
                    ) -> tuple[str | None, str]:
    """The submission time of one zip entry and where it came from (the module's rule)."""
    if groups.get("timestamp"):
        return (parse_utc(groups["timestamp"]).replace(tzinfo=dt.UTC).isoformat(),
                "file name")
    if times is not None:
        found = times.time_of(version)
        return (found, "times file") if found else (None, "")
    if settings.zip_times_are_submission_times:
        local = dt.datetime(*info.date_time, tzinfo=ZoneInfo(settings.timezone))
        return local.astimezone(dt.UTC).isoformat(), "zip entry"
    return None, ""


def collect(course: Course, assignment: str, archive: Path,
            times_file: Path | None = None) -> CollectRun:
    """Add one LMS batch; returns what changed. Raises SystemExit on a conflict."""
    if not archive.is_file():
        raise SystemExit(f"{archive} does not exist")
    if not zipfile.is_zipfile(archive):
        raise SystemExit(f"{archive} is not a zip file")
    times = read_times(times_file) if times_file else None
    notebooks = set(course.notebooks(assignment))
    matcher = FileNameCollectorPlugin(config=course.config)
    if times is not None and times.key == "lms_user_id" and "(?P<lms_user_id>" not in (
            matcher.named_regexp):
        raise SystemExit(f"{times.path} gives user ids, but FileNameCollectorPlugin."
                         "named_regexp has no lms_user_id group to match them with; give "
                         "student_id instead. Nothing was collected.")
    settings = LmsDownload(config=course.config)
    versions = load_versions(course, assignment)
    known = {(v.student, v.sha256): index for index, v in enumerate(versions)}
    batch = 1 + max((v.batch for v in versions), default=0)
    run = CollectRun(students_updated=[], unmatched=[])
    before = newest_per_student(versions)
    fresh: list[tuple[Version, zipfile.ZipInfo]] = []  # new versions, and their entries
    seen_ids: set[str] = set()
    entry_of: dict[str, str] = {}  # student -> an entry name of theirs in this zip
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, UnicodeDecodeError, OSError) as error:
        raise SystemExit(f"{archive} is not a readable zip ({type(error).__name__}: "
                         f"{printable(error)}); nothing was collected") from None
    with bundle:
        for info in bundle.infolist():
            if info.is_dir():
                continue
            if not info.filename.endswith(".ipynb"):
                # Not collected, but named; and a student who uploaded only this (a PDF, an
                # .IPYNB) did submit something, which a times file may list.
                groups = matcher._match(f"{archive.stem}/{info.filename}.ipynb")
                if groups:
                    seen_ids.add(groups.get(times.key if times else "student_id") or "")
                run.unmatched.append(info.filename)
                continue
            groups = matcher._match(f"{archive.stem}/{info.filename}")
            if groups:  # a times file may name any student whose file name matches
                seen_ids.add(groups.get(times.key if times else "student_id") or "")
            if not groups or Path(groups["file_id"]).stem not in notebooks:
                run.unmatched.append(info.filename)
                continue
            if not is_student_id(groups["student_id"]):
                run.skipped[info.filename] = (
                    f"the student id {printable(groups['student_id'])!r} cannot be a folder "
                    "name (letters, digits and . = + @ , ' - only, not starting with a dot, "
                    "at most 100 bytes)")
                continue
            if len(groups.get("attempt") or "") > MAX_ATTEMPT_DIGITS:
                run.skipped[info.filename] = (f"its resubmission number has more than "
                                              f"{MAX_ATTEMPT_DIGITS} digits")
                continue
            try:
                content = _read_capped(bundle, info, settings.max_entry_bytes)
            except UNREADABLE_ENTRY as error:
                run.skipped[info.filename] = (f"unreadable in the zip ({type(error).__name__}: "
                                              f"{printable(error)})")
                continue
            if content is None:
                run.skipped[info.filename] = (
                    f"larger than LmsDownload.max_entry_bytes ({settings.max_entry_bytes} "
                    "bytes) once unzipped; nothing of it was kept")
                continue
            version = Version(
                student=groups["student_id"], notebook=Path(groups["file_id"]).stem,
                submitted_at=None, attempt=int(groups.get("attempt") or 0), batch=batch,
                marked_late=bool(groups.get("late")), lms_user_id=groups.get("lms_user_id"),
                sha256=hashlib.sha256(content).hexdigest(), kept_as="")
            when, source = submission_time(groups, info, version, times, settings)
            version = replace(version, submitted_at=when, time_source=source)
            entry_of.setdefault(version.student, info.filename)
            run.late_marked += version.marked_late
            key = (version.student, version.sha256)
            if key in known:  # the same submission again (a re-downloaded zip): nothing new,
                run.times_updated += _keep_earliest_time(versions, fresh, known[key], version)
                continue  # but an earlier known time is kept
            known[key] = len(versions) + len(fresh)
            # (student, sha256) is new, so this name is unique; the attempt stays in the manifest
            kept = f"{version.student}/batch{batch}_{version.sha256[:16]}.ipynb"
            fresh.append((replace(version, kept_as=kept), info))
        if times is not None:
            _check_times_match(times, seen_ids, archive)
        _check_lms_ids([v for v, _ in fresh] + versions, course)
        # Each new entry is read again as it is written, so memory holds one entry at a time,
        # however many a zip holds (50 MB each at most, and a zip of 5 MB may inflate to GBs).
        for version, info in fresh:
            path = history_folder(course, assignment) / version.kept_as
            if not inside(history_folder(course, assignment), path):
                raise SystemExit(f"{printable(version.kept_as)} would be written outside "
                                 f"{history_folder(course, assignment)}; nothing was collected")
            content = _read_capped(bundle, info, settings.max_entry_bytes)
            if content is None or hashlib.sha256(content).hexdigest() != version.sha256:
                raise SystemExit(f"{printable(info.filename)} read differently the second time: "
                                 f"is {archive} being changed? Collect it again.")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    versions += [v for v, _ in fresh]
    run.new_versions = len(fresh)
    manifest_path(course, assignment).parent.mkdir(parents=True, exist_ok=True)
    manifest_path(course, assignment).write_text(
        json.dumps([asdict(v) for v in versions], indent=1))
    newest = newest_per_student(versions)
    for student, version in sorted(newest.items()):
        if before.get(student) != version or not _in_submitted(course, assignment, version):
            _install(course, assignment, version)
            if getattr(before.get(student), "sha256", None) != version.sha256:
                run.students_updated.append(student)  # not when only the time is new
    for student, entry in sorted(entry_of.items()):
        if newest[student].submitted_at is None:
            run.time_unknown += 1
            if newest[student].marked_late:
                run.late_time_unknown[student] = entry
    _store_lms_ids(course, versions)
    return run


def _keep_earliest_time(versions: list[Version], fresh: list[tuple[Version, zipfile.ZipInfo]],
                        index: int, again: Version) -> bool:
    """Give the collected version `index` the time of `again` if that is earlier (or the first
    known); True when a version of an earlier batch changed."""
    in_fresh = index >= len(versions)
    current = fresh[index - len(versions)][0] if in_fresh else versions[index]
    if again.submitted_at is None or (current.submitted_at is not None
                                      and current.when() <= again.when()):
        return False
    updated = replace(current, submitted_at=again.submitted_at, time_source=again.time_source)
    if in_fresh:
        fresh[index - len(versions)] = (updated, fresh[index - len(versions)][1])
    else:
        versions[index] = updated
    return not in_fresh


def _check_times_match(times: SubmissionTimes, seen: set[str], archive: Path) -> None:
    """Refuse a times file with ids that name no notebook of this zip (another assignment's
    or course's file, or student ids given as user ids)."""
    stray = sorted((line, key) for key, line in times.lines.items() if key not in seen)
    if stray:
        name = "user id" if times.key == "lms_user_id" else "student id"
        raise SystemExit(
            f"{times.path}:\n  " + "\n  ".join(
                f"line {line}: {name} {printable(key)} has no notebook in {archive.name}"
                for line, key in stray)
            + "\nIs it the times file of this assignment and download? Remove the lines of "
            "students who handed in no notebook. Nothing was collected.")


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
    """Whether submitted/ holds exactly this version: its bytes and its time (or none)."""
    folder = course.submitted(version.student, assignment)
    path, stamp = folder / f"{version.notebook}.ipynb", folder / TIMESTAMP_FILE
    written = stamp.read_text().strip() if stamp.exists() else None
    return (path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == version.sha256
            and written == version.submitted_at)


def _install(course: Course, assignment: str, version: Version) -> None:
    folder = course.submitted(version.student, assignment)
    if not is_student_id(version.student) or not inside(
            course.root / course.coursedir.submitted_directory, folder):
        raise SystemExit(f"{printable(version.student)} cannot be a folder in submitted/")
    folder.mkdir(parents=True, exist_ok=True)
    source = history_folder(course, assignment) / version.kept_as
    (folder / f"{version.notebook}.ipynb").write_bytes(source.read_bytes())
    if version.submitted_at:
        (folder / TIMESTAMP_FILE).write_text(version.submitted_at + "\n")
    else:  # no time: nbgrader then counts no lateness (an older version's time must not stay)
        (folder / TIMESTAMP_FILE).unlink(missing_ok=True)


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
