"""An instructor's week on a fresh clone, driven through the commands the instructor guide gives.

One course folder is made the way a clone has it (solutions, the committed
release, ``nbgrader_config.py``, no gradebook) and taken through a week of
Canvas: a due date, a first download, the same zip downloaded again, a batch of
late work with a resubmission, grading, the written answers marked in a file
and imported, feedback, a resubmission with a changed written answer and a
regrade, the Canvas grades file, and the similarity check. Every step is
``python -m softmax_grading <step> ...`` in a subprocess, as the guide shows.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import preloaded_commands
import pytest
import yaml
from nbgrader.api import Gradebook
from synthetic import REPO_ROOT, TEST_LIMITS, Student, submit

from softmax_grading.collect import LATE_TIME_UNKNOWN, TIME_UNKNOWN, load_versions
from softmax_grading.late_policy import PercentPerDay
from softmax_grading.layout import Course

pytestmark = [pytest.mark.grading, pytest.mark.slow]

PILOT = "ch01_definition"
WRITTEN = "confidence_written"
DUE = "2026-12-04T23:59+00:00"
NAIVE = """def softmax(z, axis=-1):
    exps = np.exp(z)
    return exps / np.sum(exps, axis=axis, keepdims=True)
"""
CHANGED_ANSWER = "Softmax only ranks the classes; calibration must be measured."
# Canvas's columns before the assignments (its gradebook export and import).
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_COLUMN = "Exercise 1 (4242)"
# Marks a grader types into the written-answers file.
MARKS = {"ada": (2.0, "Both points."), "bob": (1.0, "Say what calibration means."),
         "carl": (1.5, ""), "dan": (0.5, "Too short.")}


@dataclass
class Week:
    course: Course
    steps: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)
    marking_file: Path | None = None
    env: dict | None = None
    csv_before_marks: list[dict] = field(default_factory=list)
    snapshots: dict[str, dict[str, bytes]] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    csvs: dict[str, list[dict]] = field(default_factory=dict)
    times: Path | None = None

    def run(self, name: str, *arguments: str) -> subprocess.CompletedProcess:
        result = preloaded_commands.run(list(arguments), cwd=self.course.root, env=self.env)
        self.steps[name] = result
        return result

    def page(self, student: str) -> str:
        path = self.course.feedback(student, PILOT) / f"{PILOT}.html"
        return path.read_text(encoding="utf-8")

    def csv(self, name: str) -> list[dict]:
        with open(self.course.root / name, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))


def fresh_clone(directory: Path) -> Course:
    """What a clone holds: the configuration, solutions/ and the committed release, no gradebook."""
    directory.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "nbgrader_config.py", directory / "nbgrader_config.py")
    with open(directory / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(TEST_LIMITS)
    for folder in ("solutions", "exercises"):
        shutil.copytree(REPO_ROOT / folder / PILOT, directory / folder / PILOT)
    return Course(directory)


def canvas_zip(course: Course, path: Path, entries: list[tuple[str, Student]],
               built: tuple = (2026, 12, 7, 9, 0, 0)) -> Path:
    """A Canvas 'download submissions' zip: Canvas's file names, and every entry stamped with
    the moment the zip was built (rubyzip's default; Canvas stores no submission time)."""
    with zipfile.ZipFile(path, "w") as bundle:
        for name, student in entries:
            notebook = submit(course, PILOT, Student(**{**student.__dict__,
                                                        "name": "staging"}))
            bundle.writestr(zipfile.ZipInfo(name, date_time=built), notebook.read_bytes())
            shutil.rmtree(notebook.parent.parent)
    return path


def times_file(path: Path, times: dict[str, str]) -> Path:
    """What the guide's snippet writes from Canvas's Submissions API: user id, submitted_at."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "submitted_at"])
        writer.writerows(times.items())
    return path


def snapshot(course: Course) -> dict[str, bytes]:
    """Every file collect writes: the history, its manifest and submitted/."""
    return {str(path.relative_to(course.root)): path.read_bytes()
            for folder in ("downloaded", "submitted")
            for path in sorted((course.root / folder).rglob("*")) if path.is_file()}


def _changed_written_answer(notebook) -> None:
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == WRITTEN:
            cell.source = CHANGED_ANSWER


@pytest.fixture(scope="module")
def week(tmp_path_factory, grading_env) -> Week:
    base = tmp_path_factory.mktemp("week")
    course = fresh_clone(base / "course")
    week = Week(course, env=grading_env)
    reference, naive = Student("x"), Student("x", answers={"softmax_impl": NAIVE})
    blank = Student("x", based_on="blank")
    first_entries = [(f"ada_111_901_{PILOT}.ipynb", reference),
                     (f"bob_222_902_{PILOT}.ipynb", naive),
                     (f"carl_333_903_{PILOT}.ipynb", reference),
                     (f"fay_666_906_{PILOT}.ipynb", blank)]
    first = canvas_zip(course, base / "submissions.zip", first_entries,
                       built=(2026, 12, 5, 8, 0, 0))
    first_times = times_file(base / "times.csv", {
        "111": "2026-12-04T20:00:00Z", "222": "2026-12-04T21:00:00Z",
        "333": "2026-12-04T23:00:00+01:00", "666": "2026-12-04T22:30:00Z"})
    # The same submissions downloaded again a day later: every entry has a new time.
    again = canvas_zip(course, base / "submissions (1).zip", first_entries,
                       built=(2026, 12, 6, 8, 0, 0))
    late = canvas_zip(course, base / "late.zip", [
        (f"bob_LATE_222_902_{PILOT}-1.ipynb", reference),
        (f"dan_LATE_444_904_{PILOT}.ipynb", naive)])
    late_times = times_file(base / "late-times.csv", {
        "222": "2026-12-06T10:00:00Z",  # 34 hours late: two started days, 20 % off
        "444": "2026-12-05T00:10:00Z"})  # 11 minutes late: inside the 15 minutes' grace
    week.run("due", "due", PILOT, DUE)
    week.run("collect", "collect", PILOT, "--zip", str(first), "--times", str(first_times))
    week.snapshots["collect"] = snapshot(course)
    week.run("collect again", "collect", PILOT, "--zip", str(again), "--times",
             str(first_times))
    week.snapshots["collect again"] = snapshot(course)
    week.run("collect late", "collect", PILOT, "--zip", str(late), "--times", str(late_times))
    with Gradebook(course.db_url) as gradebook:  # on the roster, never handed anything in
        gradebook.update_or_create_student("eve", first_name="Eve", last_name="Ng",
                                           lms_user_id="555")
    week.run("grade", "grade", PILOT, "--jobs", "2")
    week.pages["bob before marks"] = week.page("bob")
    week.pages["dan before marks"] = week.page("dan")
    week.csv_before_marks = week.csv(f"grades/{PILOT}.csv")
    week.run("written-export", "written-export", PILOT)
    exported = course.root / "marking" / f"{PILOT}.yaml"
    document = yaml.safe_load(exported.read_text())
    for entry in document["students"]:
        for answer in entry["answers"]:
            answer["mark"], answer["comment"] = MARKS.get(entry["student"], (None, ""))
    week.marking_file = base / "marked.yaml"
    week.marking_file.write_text(yaml.safe_dump(document, sort_keys=False))
    week.run("written-import", "written-import", PILOT, str(week.marking_file))
    week.run("feedback", "feedback", PILOT)
    week.pages["bob after marks"] = week.page("bob")
    # carl resubmits twice in one minute: -2 (a new written answer) is the newer one.
    changed = Student("x", edit=_changed_written_answer)
    week.run("collect resubmission", "collect", PILOT, "--zip", str(canvas_zip(
        course, base / "resubmission.zip", [
            (f"carl_333_903_{PILOT}-1.ipynb", naive),
            (f"carl_333_903_{PILOT}-2.ipynb", changed)])), "--times", str(times_file(
                base / "resubmission-times.csv", {"333": "2026-12-04T23:00:00Z"})))
    week.run("regrade", "grade", PILOT, "--jobs", "1")
    week.run("force", "grade", PILOT, "--jobs", "1", "--force", "--student", "ada")
    week.run("export", "export", PILOT, "--canvas", "canvas.csv", "--canvas-column",
             CANVAS_COLUMN)
    week.run("similarity", "similarity", PILOT)
    return week


def _ok(week: Week, step: str) -> subprocess.CompletedProcess:
    result = week.steps[step]
    assert result.returncode == 0, f"{step}: {result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def _grade(week: Week, student: str, part: str):
    with Gradebook(week.course.db_url) as gradebook:
        grade = gradebook.find_grade(part, PILOT, PILOT, student)
        return grade.score, grade.manual_score, grade.needs_manual_grade


# --- 13: a fresh clone needs no release ---------------------------------------------------------


def test_a_fresh_clone_grades_without_release(week):
    assert f"registered {PILOT} in the gradebook" in _ok(week, "due").stdout
    assert "grades written to" in week.steps["due"].stdout
    _ok(week, "grade")
    released = week.course.root / "exercises" / PILOT / f"{PILOT}.ipynb"
    assert released.read_bytes() == (REPO_ROOT / "exercises" / PILOT / f"{PILOT}.ipynb"
                                     ).read_bytes(), "registering must not rewrite the release"


@pytest.mark.parametrize("step", ["autograde", "feedback"])
def test_to_is_refused_where_nothing_is_written(week, step):
    result = week.run(f"{step} --to", step, PILOT, "--to", "x.csv")
    assert result.returncode == 2 and "unrecognized arguments: --to" in result.stderr


@pytest.mark.parametrize(("arguments", "message"), [
    (["grade", "ch99_nothing"], "There is no assignment 'ch99_nothing'"),
    (["due", PILOT, "2026-12-04 23:59"], "has no time zone"),
    (["due", PILOT, "next friday"], "is not a date and time"),
    (["collect", PILOT, "--zip", "missing.zip"], "does not exist"),
])
def test_bad_arguments_get_clear_errors(week, arguments, message):
    result = week.run("bad", *arguments)
    assert result.returncode == 1 and message in result.stderr, result.stderr[-1500:]


# --- 6: batch after batch ------------------------------------------------------------------------


def test_every_batch_is_collected_and_the_newest_submission_wins(week):
    assert "collected 4 new notebook(s); 4 student(s)" in _ok(week, "collect").stdout
    assert "collected 0 new notebook(s); 0 student(s)" in _ok(week, "collect again").stdout
    assert "collected 2 new notebook(s); 2 student(s)" in _ok(week, "collect late").stdout
    assert "1 student(s) now have a newer" in _ok(week, "collect resubmission").stdout
    history = week.course.root / "downloaded" / PILOT / "history"
    assert len(list((history / "bob").glob("*.ipynb"))) == 2, "bob's first version is kept"
    assert len(list((history / "carl").glob("*.ipynb"))) == 3
    submitted = nbformat.read(week.course.submitted("carl", PILOT) / f"{PILOT}.ipynb", 4)
    assert any(cell.source == CHANGED_ANSWER for cell in submitted.cells), "-2 must win over -1"
    assert (week.course.submitted("bob", PILOT) / "timestamp.txt").read_text().startswith(
        "2026-12-06T10:00:00")
    carl = [v for v in load_versions(week.course, PILOT) if v.student == "carl"]
    assert sorted((v.attempt, v.submitted_at) for v in carl) == [
        (0, "2026-12-04T22:00:00+00:00"),  # given as 23:00+01:00: read in its zone
        (1, "2026-12-04T23:00:00+00:00"), (2, "2026-12-04T23:00:00+00:00")]
    with Gradebook(week.course.db_url) as gradebook:
        assert gradebook.find_student("bob").lms_user_id == "222"


def test_a_second_download_of_the_same_submissions_changes_nothing(week):
    """Canvas stamps every entry with the moment it built the zip: a download a day later
    brings the same notebooks with new entry times, and must add nothing."""
    assert "collected 0 new notebook(s); 0 student(s)" in _ok(week, "collect again").stdout
    first, again = week.snapshots["collect"], week.snapshots["collect again"]
    assert any(path.endswith("timestamp.txt") for path in first)
    assert again == first


# --- 7: late work --------------------------------------------------------------------------------


def test_late_work_pays_the_configured_penalty_on_the_final_score(week):
    rows = {row["student_id"]: row for row in week.csv(f"grades/{PILOT}.csv")}
    bob, dan = rows["bob"], rows["dan"]
    # bob: all tests (8) and a mark of 1, two started days late at 10 % a day.
    assert (bob["raw_score"], bob["late_penalty"], bob["score"]) == ("9", "1.8", "7.2")
    assert bob["submitted_at"] == "2026-12-06T10:00:00Z" and bob["days_late"] == "1.42"
    assert dan["late_penalty"] == "0", "11 minutes late is inside the grace period"
    report = (week.course.root / "reports" / PILOT / "report.txt").read_text()
    assert "Due: 2026-12-04T23:59:00Z" in report
    assert "LATE 1.42 days, -1.8 points" in report


# --- 7: a Canvas download made after the due date ------------------------------------------------

CANVAS_CLASS = [(f"ann_701_71_{PILOT}.ipynb", "701", "2026-12-04T22:00:00Z"),      # on time
                (f"ben_LATE_702_72_{PILOT}.ipynb", "702", "2026-12-06T10:00:00Z"),  # 34 hours
                (f"cat_LATE_703_73_{PILOT}.ipynb", "703", "2026-12-05T00:05:00Z")]  # 6 minutes


@pytest.fixture(scope="module")
def canvas_class(tmp_path_factory, grading_env) -> Week:
    """Three students downloaded from Canvas four days after the due date (every entry has the
    download's time), two named LATE by Canvas; graded without times, then given the times."""
    base = tmp_path_factory.mktemp("canvas-class")
    course = fresh_clone(base / "course")
    week = Week(course, env=grading_env)
    entries = [(name, Student("x")) for name, _, _ in CANVAS_CLASS]
    download = canvas_zip(course, base / "submissions.zip", entries, built=(2026, 12, 9, 8, 0, 0))
    week.run("due", "due", PILOT, DUE)
    week.run("collect", "collect", PILOT, "--zip", str(download))
    week.run("grade", "grade", PILOT, "--jobs", "2")
    week.reports["without times"] = (course.root / "reports" / PILOT / "report.txt").read_text()
    week.csvs["without times"] = week.csv(f"grades/{PILOT}.csv")
    again = canvas_zip(course, base / "submissions (1).zip", entries,
                       built=(2026, 12, 10, 8, 0, 0))
    week.snapshots["collect"] = snapshot(course)
    week.run("collect again", "collect", PILOT, "--zip", str(again))
    week.snapshots["collect again"] = snapshot(course)
    week.times = times_file(base / "times.csv", {user: when for _, user, when in CANVAS_CLASS})
    week.run("collect with times", "collect", PILOT, "--zip", str(again), "--times",
             str(week.times))
    week.snapshots["collect with times"] = snapshot(course)
    week.run("grade with times", "grade", PILOT, "--jobs", "1")
    week.reports["with times"] = (course.root / "reports" / PILOT / "report.txt").read_text()
    week.csvs["with times"] = week.csv(f"grades/{PILOT}.csv")
    return week


def test_without_a_submission_time_nobody_is_penalised_and_canvas_late_is_named(canvas_class):
    collected = _ok(canvas_class, "collect").stdout
    assert "collected 3 new notebook(s); 3 student(s)" in collected
    for student in ("ben", "cat"):
        assert f"LATE, TIME UNKNOWN: {student} ({student}_LATE_" in collected
    assert "LATE, TIME UNKNOWN: ann" not in collected
    assert "3 student(s) of this zip have no known submission time" in collected
    collected_files = canvas_class.snapshots["collect"]
    assert not [path for path in collected_files if path.endswith("timestamp.txt")]
    assert f"submitted/ben/{PILOT}/{PILOT}.ipynb" in collected_files
    _ok(canvas_class, "grade")
    rows = {row["student_id"]: row for row in canvas_class.csvs["without times"]}
    assert set(rows) == {"ann", "ben", "cat"}
    for student, row in rows.items():
        assert (row["late_penalty"], row["submitted_at"], row["days_late"]) == ("0", "", ""), (
            student)
        assert row["score"] == row["raw_score"] == "8"
    assert rows["ben"]["lateness_note"] == rows["cat"]["lateness_note"] == LATE_TIME_UNKNOWN
    assert rows["ann"]["lateness_note"] == TIME_UNKNOWN
    report = canvas_class.reports["without times"]
    assert "Submission time unknown for 3 student(s): no late penalty" in report
    lines = {line.split()[0]: line for line in report.splitlines() if line[:3] in
             ("ann", "ben", "cat")}
    assert LATE_TIME_UNKNOWN in lines["ben"] and LATE_TIME_UNKNOWN in lines["cat"]
    assert "late" not in lines["ann"].lower() and "LATE" not in report.replace(
        LATE_TIME_UNKNOWN, "")


def test_a_redownload_without_times_adds_nothing(canvas_class):
    output = _ok(canvas_class, "collect again").stdout
    assert "collected 0 new notebook(s); 0 student(s)" in output
    assert canvas_class.snapshots["collect again"] == canvas_class.snapshots["collect"]


def test_with_the_times_file_exactly_the_late_ones_pay_by_the_policy(canvas_class):
    output = _ok(canvas_class, "collect with times").stdout
    assert "collected 0 new notebook(s); 0 student(s)" in output
    assert "3 notebook(s) collected before now have a known (or earlier) submission time" in (
        output)
    assert "TIME UNKNOWN" not in output
    history = canvas_class.course.root / "downloaded" / PILOT / "history"
    assert len(list(history.rglob("*.ipynb"))) == 3, "a time is no new submission"
    assert "graded 0, skipped 3" in _ok(canvas_class, "grade with times").stdout
    policy = PercentPerDay(percent_per_day=10, grace_minutes=15, max_percent=100)
    due = dt.datetime.fromisoformat(DUE)
    rows = {row["student_id"]: row for row in canvas_class.csvs["with times"]}
    for name, _, when in CANVAS_CLASS:
        student, row = name.split("_")[0], rows[name.split("_")[0]]
        late = max(0.0, (dt.datetime.fromisoformat(when) - due).total_seconds())
        penalty = policy.late_submission_penalty(student, 8.0, late)
        assert row["submitted_at"] == when and row["lateness_note"] == ""
        assert row["late_penalty"] == f"{penalty:g}", student
        assert row["score"] == f"{8.0 - penalty:g}"
    assert rows["ben"]["late_penalty"] == "1.6", "34 hours: two started days, 20 % of 8"
    assert rows["cat"]["late_penalty"] == rows["ann"]["late_penalty"] == "0"
    report = canvas_class.reports["with times"]
    assert "LATE 1.42 days, -1.6 points" in report and "unknown" not in report
    assert "late 0.00 days, no penalty" in report  # cat, 6 minutes: inside the grace


@pytest.mark.parametrize(("lines", "message"), [
    (["user_id,submitted_at", "701,2026-12-04T22:00:00Z", "999,2026-12-04T22:00:00Z"],
     "line 3: user id 999 has no notebook in submissions (1).zip"),
    (["user_id,submitted_at", "701,2026-12-04 22:00", "702,yesterday"],
     "line 2: '2026-12-04 22:00' is not an ISO 8601 time with a time zone"),
    (["user_id,submitted_at", "701,2026-12-04T22:00:00Z", "701,2026-12-04T23:00:00Z"],
     "line 3: user_id 701 is given twice (lines 2 and 3)"),
    (["id,time", "701,2026-12-04T22:00:00Z"], "the first line must name one id column"),
])
def test_a_bad_times_file_is_refused_whole(canvas_class, tmp_path, lines, message):
    before = snapshot(canvas_class.course)
    path = tmp_path / "times.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    again = canvas_class.course.root.parent / "submissions (1).zip"
    result = canvas_class.run("bad times", "collect", PILOT, "--zip", str(again),
                              "--times", str(path))
    assert result.returncode == 1 and message in result.stderr, result.stderr[-1500:]
    assert "Nothing was collected" in result.stderr
    assert snapshot(canvas_class.course) == before


def test_zip_entry_times_count_only_when_the_course_says_so(tmp_path, grading_env):
    """For an LMS that stores submission times in its zip: c.LmsDownload's opt-in."""
    course = fresh_clone(tmp_path / "course")
    with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write("c.LmsDownload.zip_times_are_submission_times = True\n"
                     "c.LmsDownload.timezone = 'Europe/Paris'\n")
    week = Week(course, env=grading_env)
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(zipfile.ZipInfo(f"gil_LATE_801_81_{PILOT}.ipynb",
                                        date_time=(2026, 12, 5, 11, 0, 0)),
                        (REPO_ROOT / "exercises" / PILOT / f"{PILOT}.ipynb").read_bytes())
    output = _ok_run(week.run("collect", "collect", PILOT, "--zip", str(archive)))
    assert "TIME UNKNOWN" not in output and "no known submission time" not in output
    stamp = (course.submitted("gil", PILOT) / "timestamp.txt").read_text()
    assert stamp.strip() == "2026-12-05T10:00:00+00:00", "11:00 in Paris is 10:00 UTC"


def _ok_run(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


# --- 8: grades for the LMS ----------------------------------------------------------------------


def test_the_grades_csv_holds_the_assignment_with_parts_and_missing_work_blank(week):
    rows = week.csv(f"grades/{PILOT}.csv")
    assert {row["assignment"] for row in rows} == {PILOT}
    by_student = {row["student_id"]: row for row in rows}
    assert by_student["eve"]["status"] == "missing" and by_student["eve"]["score"] == ""
    assert by_student["fay"]["score"] == "0" and by_student["fay"]["status"] == "graded"
    assert by_student["ada"]["softmax_robust (/3)"] == "3"
    assert by_student["dan"]["softmax_robust (/3)"] == "0"
    assert by_student["ada"][f"{WRITTEN} (/2)"] == "2"
    before = {row["student_id"]: row for row in week.csv_before_marks}
    assert before["ada"]["pending_manual_grading"] == WRITTEN
    assert before["ada"][f"{WRITTEN} (/2)"] == "", "a pending answer is blank, not 0"


def test_the_canvas_file_follows_canvas_import_format(week):
    _ok(week, "export")
    with open(week.course.root / "canvas.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert table[0] == [*CANVAS_IDENTITY, CANVAS_COLUMN]
    assert table[1][0] == "Points Possible" and table[1][-1] == "10"
    assert all(len(line) == len(table[0]) for line in table)
    lines = {line[1]: line for line in table[2:]}
    assert set(lines) == {"111", "222", "333", "444", "555", "666"}
    assert all(user_id.isdigit() for user_id in lines)
    assert lines["222"][-1] == "7.2" and lines["555"][-1] == ""
    assert lines["555"][0] == "Ng, Eve"
    # carl's changed answer waits for a mark again: blank, and said so.
    assert lines["333"][-1] == ""
    assert f"LEFT BLANK for Canvas: carl: awaiting manual grading: {WRITTEN}" in week.steps[
        "export"].stdout


# --- 9: feedback ---------------------------------------------------------------------------------


def test_feedback_says_awaiting_grading_until_a_mark_is_given(week):
    before, after = week.pages["bob before marks"], week.pages["bob after marks"]
    assert "awaiting grading, 2.0 points" in before and "Score so far: 6.4 / 10.0" in before
    assert "awaiting grading" not in after and "Score: 7.2 / 10.0" in after
    assert "Say what calibration means." in after


def test_feedback_names_the_parts_and_says_what_failed_only_where_something_did(week):
    page = week.pages["dan before marks"]
    assert "Test cell" not in page
    for part in ("softmax_basic", "softmax_robust", "ratio_test"):
        assert f"Tests: <code>{part}</code>" in page
    assert page.count("the output below says what failed") == 1  # softmax_robust only
    assert "Autograder checks for 'softmax_basic' (2 points): passed." in html.unescape(
        re.sub(r"<[^>]+>", "", page))
    assert "white-space: pre-wrap" in page


def test_feedback_links_and_maths_work_offline(week):
    page = week.pages["bob after marks"]
    assert "../../book/" not in page
    assert ("https://github.com/softmax-course/softmax-from-first-principles/blob/main/book/"
            "01_definition.ipynb") in page
    assert "cdnjs" not in page and 'src="mathjax/tex-svg.js"' in page
    folder = week.course.feedback("bob", PILOT) / "mathjax"
    assert (folder / "tex-svg.js").stat().st_size > 1_000_000
    assert (folder / "input" / "tex" / "extensions").is_dir()


@pytest.mark.browser
def test_feedback_maths_renders_offline_in_a_browser(week, browser):
    page_path = week.course.feedback("bob", PILOT) / f"{PILOT}.html"
    context = browser.new_context(offline=True)
    try:
        page = context.new_page()
        page.goto(page_path.as_uri())
        page.wait_for_selector("mjx-container svg", timeout=60_000)
        rendered = page.locator("mjx-container").count()
        raw = page.locator("text=\\approx").count()
    finally:
        context.close()
    assert rendered > 5 and raw == 0


# --- 10: regrading -------------------------------------------------------------------------------


def test_a_regrade_asks_again_only_about_changed_written_answers(week):
    assert "graded 1, skipped 4" in _ok(week, "regrade").stdout, "only carl changed"
    assert "graded 1, skipped 0" in _ok(week, "force").stdout
    _, manual, pending = _grade(week, "carl", WRITTEN)
    assert (manual, pending) == (1.5, True), "carl's answer changed: mark kept, asked again"
    assert _grade(week, "ada", WRITTEN)[1:] == (2.0, False), "ada's answer did not change"
    report = (week.course.root / "reports" / PILOT / "report.txt").read_text()
    assert [line.split()[0] for line in report.splitlines() if "manual:" in line] == ["carl"]


def test_plain_nbgrader_force_keeps_manual_marks_but_flags_them_again(tmp_path, grading_env):
    """What the guide says about `nbgrader autograde --force`, checked on nbgrader itself."""
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    shutil.copytree(REPO_ROOT / "solutions" / PILOT, tmp_path / "source" / PILOT)

    def nbgrader(*arguments):
        result = subprocess.run([sys.executable, "-m", "nbgrader", *arguments], cwd=tmp_path,
                                env=grading_env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]

    nbgrader("generate_assignment", PILOT)
    (tmp_path / "submitted" / "bob" / PILOT).mkdir(parents=True)
    shutil.copy(tmp_path / "release" / PILOT / f"{PILOT}.ipynb",
                tmp_path / "submitted" / "bob" / PILOT)
    nbgrader("autograde", PILOT)
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        grade = gradebook.find_grade(WRITTEN, PILOT, PILOT, "bob")
        grade.manual_score, grade.needs_manual_grade = 1.5, False
        gradebook.find_comment(WRITTEN, PILOT, PILOT, "bob").manual_comment = "kept?"
        gradebook.db.commit()
    nbgrader("autograde", PILOT, "--force")
    with Gradebook(url) as gradebook:
        grade = gradebook.find_grade(WRITTEN, PILOT, PILOT, "bob")
        comment = gradebook.find_comment(WRITTEN, PILOT, PILOT, "bob")
        assert (grade.manual_score, comment.manual_comment) == (1.5, "kept?")
        assert grade.needs_manual_grade is True


# --- 11: written answers in a file ---------------------------------------------------------------


def test_written_answers_go_out_and_marks_come_back(week):
    assert "written answer(s) written to" in _ok(week, "written-export").stdout
    document = yaml.safe_load((week.course.root / "marking" / f"{PILOT}.yaml").read_text())
    entry = next(e for e in document["students"] if e["student"] == "ada")["answers"][0]
    assert entry["part"] == WRITTEN and entry["points"] == 2.0
    assert "calibration" in entry["question"] and "1 point" in entry["mark_scheme"]
    assert entry["mark"] is None and entry["answer"]
    imported = _ok(week, "written-import").stdout
    assert "4 mark(s) imported into the gradebook" in imported
    assert f"grades written to {week.course.root / 'grades' / PILOT}.csv" in imported


def _break(week: Week, tmp_path: Path, change) -> subprocess.CompletedProcess:
    document = yaml.safe_load(week.marking_file.read_text())
    change(document)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return week.run("bad import", "written-import", PILOT, str(path))


def _set(document, student, key, value):
    for entry in document["students"]:
        if entry["student"] == student:
            entry["answers"][0][key] = value


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["students"].append({"student": "zed", "answers": []}),
     "no graded submission of ch01_definition by 'zed'"),
    (lambda d: _set(d, "bob", "part", "nonsense"), "has no written part 'nonsense'"),
    (lambda d: _set(d, "bob", "mark", 3), "mark 3 is not a number from 0 to 2"),
    (lambda d: _set(d, "bob", "mark", "two"), "mark 'two' is not a number"),
    (lambda d: _set(d, "ada", "answer_id", "0" * 16), "the answer changed since the export"),
    (lambda d: d["students"].append(d["students"][0]), "given twice"),
])
def test_a_bad_marks_file_is_refused_whole(week, tmp_path, change, message):
    before = {student: _grade(week, student, WRITTEN) for student in MARKS}

    def with_a_good_change(document):
        _set(document, "dan", "mark", 2.0)  # a valid change that must not be written either
        change(document)

    result = _break(week, tmp_path, with_a_good_change)
    assert result.returncode == 1 and message in result.stderr, result.stderr[-1500:]
    assert "nothing was imported" in result.stderr
    assert {student: _grade(week, student, WRITTEN) for student in MARKS} == before


# --- 12: similarity ------------------------------------------------------------------------------


def test_similarity_lists_alike_pairs_and_ignores_the_skeleton(week):
    output = _ok(week, "similarity").stdout
    table = list(csv.DictReader(open(week.course.root / "reports" / PILOT / "similarity.csv")))
    pairs = {(row["part"], row["student_a"], row["student_b"]): row for row in table}
    assert float(pairs[("softmax_impl", "ada", "bob")]["overlap_a"]) == 1.0
    assert float(pairs[("softmax_impl", "ada", "carl")]["overlap_a"]) == 1.0
    assert not any("fay" in key for key in pairs), "the untouched skeleton matches nobody"
    assert output.splitlines()[1].split()[0] == "softmax_impl"


# --- the guide's other commands ------------------------------------------------------------------


def test_due_shows_and_clears_the_due_date_and_the_csv_follows(week):
    assert f"{PILOT} is due 2026-12-04T23:59:00Z" in _ok_run(week.run("due show", "due", PILOT))
    try:
        cleared = _ok_run(week.run("due clear", "due", PILOT, "--clear"))
        assert f"{PILOT} has no due date now; nothing counts as late" in cleared
        assert f"{PILOT} has no due date" in _ok_run(week.run("due show", "due", PILOT))
        bob = {row["student_id"]: row for row in week.csv(f"grades/{PILOT}.csv")}["bob"]
        assert (bob["late_penalty"], bob["days_late"], bob["score"]) == ("0", "0", "9")
    finally:
        _ok_run(week.run("due again", "due", PILOT, DUE))
    bob = {row["student_id"]: row for row in week.csv(f"grades/{PILOT}.csv")}["bob"]
    assert (bob["late_penalty"], bob["score"]) == ("1.8", "7.2")


def test_export_with_the_roster_gives_every_enrolled_student_a_row(week, tmp_path):
    roster = tmp_path / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*CANVAS_IDENTITY, "Exercise 1 (4242)"])
        writer.writerow(["    Points Possible", "", "", "", "", "10"])
        writer.writerow(["Lovelace, Ada", "111", "S111", "ada@uni", "Section A", ""])
        writer.writerow(["Zed, Zoe", "777", "S777", "zoe@uni", "Section B", ""])
    result = week.run("export roster", "export", PILOT, "--canvas", "canvas-roster.csv",
                      "--canvas-column", CANVAS_COLUMN, "--roster", str(roster))
    assert "Canvas gradebook file written to canvas-roster.csv" in _ok_run(result)
    with open(week.course.root / "canvas-roster.csv", newline="", encoding="utf-8") as handle:
        lines = {line[1]: line for line in list(csv.reader(handle))[2:]}
    assert lines["111"] == ["Lovelace, Ada", "111", "S111", "ada@uni", "Section A", "10"]
    assert lines["777"] == ["Zed, Zoe", "777", "S777", "zoe@uni", "Section B", ""]
    assert lines["222"][-1] == "7.2", "a student missing from the roster still gets a row"


def test_written_export_pending_lists_only_answers_awaiting_a_mark(week, tmp_path):
    destination = tmp_path / "pending.yaml"
    result = week.run("written-export pending", "written-export", PILOT, "--pending",
                      "--to", str(destination))
    assert f"1 written answer(s) written to {destination}" in _ok_run(result)
    document = yaml.safe_load(destination.read_text())
    assert [entry["student"] for entry in document["students"]] == ["carl"]
    assert document["students"][0]["answers"][0]["answer"] == CHANGED_ANSWER


def test_similarity_top_limits_the_printed_pairs_not_the_csv(week):
    output = _ok_run(week.run("similarity top", "similarity", PILOT, "--top", "1"))
    printed = output.splitlines()
    table = printed[:next(i for i, line in enumerate(printed) if line.startswith("all "))]
    assert table[0].split()[:3] == ["part", "student", "A"] and len(table) == 2, output
    with open(week.course.root / "reports" / PILOT / "similarity.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 1 and f"all {len(rows)} pair(s) with any overlap written to" in output


# --- 13: the instructor's own setup command -------------------------------------------------------


def test_run_py_instructor_installs_the_grade_tools_and_checks_the_sandbox(run_py, monkeypatch):
    calls = []
    monkeypatch.setattr(run_py, "ensure_environment", lambda extra: calls.append(extra))
    monkeypatch.setattr(run_py, "run", lambda command, **_: calls.append(command))
    monkeypatch.setattr(sys, "argv", ["run.py", "instructor"])
    run_py.main()
    assert calls[0] == "grade", "the instructor needs the grade extra, not the test suite"
    assert "check_available()" in " ".join(map(str, calls[1]))


def test_run_py_instructor_on_this_machine(run_py):
    """The real command, where its environment is installed already (it then installs nothing)."""
    stamp = run_py.install_stamp("grade")
    if not stamp.exists():
        pytest.skip("the grade tools are not installed in .venv yet; installing them is "
                    "`python3 run.py instructor`'s first run, not a test's")
    result = subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), "instructor"],
                            capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "the grading sandbox starts on this machine" in result.stdout


# --- 7: the late policy alone ---------------------------------------------------------------------


@pytest.mark.parametrize(("seconds_late", "penalty"), [
    (0, 0.0),                # on time
    (14 * 60, 0.0),          # inside the 15 minutes' grace
    (16 * 60, 1.0),          # a started day: 10 % of 10 points
    (86400 + 15 * 60, 1.0),  # exactly one day after the grace period
    (3 * 86400, 3.0),
    (30 * 86400, 10.0),      # capped at the whole score
])
def test_percent_per_day(seconds_late, penalty):
    policy = PercentPerDay(percent_per_day=10, grace_minutes=15, max_percent=100)
    assert policy.late_submission_penalty("x", 10.0, seconds_late) == pytest.approx(penalty)
