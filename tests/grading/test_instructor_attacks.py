"""A hostile (or careless) student against the instructor's commands around grading.

The sandbox and the scoring have their own hostile suite (test_hostile.py); this
one probes what came after them: ``collect`` (LMS zips), the grades CSV and the
Canvas file, the written-answers file (``written-export`` / ``written-import``),
the feedback pages and ``similarity``. Each test drives
``python -m softmax_grading <step>`` as the instructor guide shows, in a private
copy of the session's released course. A test marked ``xfail(strict=True)`` is
a hole that is still open: its reason says what goes wrong.
"""

from __future__ import annotations

import copy
import json
import shutil
import stat
import subprocess
import sys
import tracemalloc
import uuid
import zipfile
from pathlib import Path

import nbformat
import preloaded_commands
import pytest
import yaml
from nbgrader.api import Gradebook
from synthetic import Student, reference_answers, submit

from softmax_grading import collect as collect_module
from softmax_grading.layout import Course

pytestmark = [pytest.mark.grading, pytest.mark.slow]

PILOT = "ch01_definition"
OTHER = "ch02_sigmoid"
WRITTEN = "confidence_written"
ON_TIME = (2026, 12, 4, 20, 0, 0)
FORMULA_STARTS = ("=", "+", "-", "@")

# Written answers that try to break the YAML file graders edit by hand.
YAML_BLOCK_ANSWER = """Softmax outputs are not calibrated probabilities.
---
...
- student: atk-ada
  answers:
  - part: confidence_written
    mark: 2.0
    answer_id: 0000000000000000
mark: 2.0
comment: full marks, well done
&anchor text
*anchor
!!python/object/apply:os.system ['touch /tmp/pwned-by-yaml']
# a comment
%YAML 1.1
"quoted" 'single' \\ back: slash | pipe > fold"""
YAML_ESCAPED_ANSWER = ("tab\there; trailing space \nnext line\r\ncarriage return; "
                       "NEL\x85here; line separator\u2028here; bom\ufeff; bell\x07")

SCRIPT_IN_MARKDOWN = ('Calibration must be measured. <script>window.PWNED_MD = 1</script>'
                      '<img src="x" onerror="window.PWNED_IMG = 1">')
HTML_OUTPUTS = '''from IPython.display import HTML, Javascript, display
display(HTML("<script>window.PWNED_HTML = 1</script>"))
display(Javascript("window.PWNED_JS = 1"))
print("<script>window.PWNED_STREAM = 1</script>")
# <script>window.PWNED_SOURCE = 1</script>
'''
COPIED_SOFTMAX = '''def softmax(z, axis=-1):
    """Softmax of the logits `z` along `axis`."""
    z = np.asarray(z, dtype=float)
    largest = np.max(z, axis=axis, keepdims=True)
    shifted_values = z - largest
    exponentials = np.exp(shifted_values)
    normaliser = np.sum(exponentials, axis=axis, keepdims=True)
    probabilities = exponentials / normaliser
    if not np.all(np.isfinite(probabilities)):
        raise FloatingPointError("softmax produced a non-finite value")
    return probabilities
'''


# --- helpers --------------------------------------------------------------------------------


def private_course(released_course: Course, directory: Path) -> Course:
    """A copy of the released course (config, two assignments, gradebook) for these tests."""
    directory.mkdir(parents=True)
    shutil.copy(released_course.root / "nbgrader_config.py", directory / "nbgrader_config.py")
    for folder in ("solutions", "exercises"):
        for assignment in (PILOT, OTHER):
            shutil.copytree(released_course.root / folder / assignment,
                            directory / folder / assignment)
    shutil.copy(released_course.root / "gradebook.db", directory / "gradebook.db")
    return Course(directory)


def cli(course: Course, env: dict, *arguments: str) -> subprocess.CompletedProcess:
    return preloaded_commands.run(list(arguments), cwd=course.root, env=env)


def notebook_bytes(course: Course, student: Student, assignment: str = PILOT) -> bytes:
    """The file a student would hand in, made with the test suite's synthetic students."""
    staged = Student(**{**student.__dict__, "name": f"staging-{uuid.uuid4().hex[:8]}"})
    path = submit(course, assignment, staged)
    data = path.read_bytes()
    shutil.rmtree(path.parent.parent)
    return data


def lms_zip(path: Path, entries: list[tuple[str, bytes, tuple]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data, when in entries:
            bundle.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return path


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def csv_cells(path: Path) -> list[str]:
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def references(course: Course) -> dict[str, str]:
    return reference_answers(nbformat.read(course.source_notebook(PILOT, PILOT), as_version=4))


def manual_scores(course: Course, students: list[str]) -> dict[str, float | None]:
    with Gradebook(course.db_url) as gradebook:
        return {s: gradebook.find_grade(WRITTEN, PILOT, PILOT, s).manual_score for s in students}


def failure(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


# --- collect: the LMS zip -------------------------------------------------------------------


@pytest.fixture(scope="module")
def collect_course(released_course, tmp_path_factory) -> Course:
    return private_course(released_course, tmp_path_factory.mktemp("attacks") / "collect")


@pytest.fixture(scope="module")
def release_bytes(collect_course) -> bytes:
    return notebook_bytes(collect_course, Student("x", based_on="blank"))


def test_traversal_and_absolute_entry_names_write_nothing_outside(collect_course, grading_env,
                                                                  release_bytes, tmp_path):
    # collect never extracts by entry name: only the name's student and notebook are used.
    outside = collect_course.root.parent / "escaped"
    archive = lms_zip(tmp_path / "submissions.zip", [
        (f"../../escaped/atk-trav_101_1_{PILOT}.ipynb", release_bytes, ON_TIME),
        (f"/tmp/atk-escaped/atk-abs_102_1_{PILOT}.ipynb", release_bytes, ON_TIME)])
    result = cli(collect_course, grading_env, "collect", PILOT, "--zip", str(archive))
    assert result.returncode == 0, failure(result)
    assert not outside.exists() and not Path("/tmp/atk-escaped").exists()
    for student in ("atk-trav", "atk-abs"):
        assert (collect_course.submitted(student, PILOT) / f"{PILOT}.ipynb").exists()


def test_a_symlink_entry_is_stored_as_its_text_never_followed(collect_course, grading_env,
                                                              tmp_path):
    archive = tmp_path / "symlink.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        info = zipfile.ZipInfo(f"atk-link_103_1_{PILOT}.ipynb", date_time=ON_TIME)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(info, "/etc/passwd")
    cli(collect_course, grading_env, "collect", PILOT, "--zip", str(archive))
    kept = collect_course.submitted("atk-link", PILOT) / f"{PILOT}.ipynb"
    assert not kept.is_symlink() and kept.read_bytes() == b"/etc/passwd"


def test_a_dot_dot_student_id_stays_inside_submitted_and_history(collect_course, grading_env,
                                                                  release_bytes, tmp_path):
    before = files_under(collect_course.root)
    archive = lms_zip(tmp_path / "dots.zip", [
        (f".._104_1_{PILOT}.ipynb", release_bytes, ON_TIME),
        (f"._105_1_{PILOT}.ipynb", release_bytes, ON_TIME)])
    cli(collect_course, grading_env, "collect", PILOT, "--zip", str(archive))
    stray = []
    for path in files_under(collect_course.root) - before:
        parts = path.relative_to(collect_course.root).parts
        in_submitted = len(parts) == 4 and parts[0] == "submitted" and parts[2] == PILOT
        in_history = len(parts) == 5 and parts[:3] == ("downloaded", PILOT, "history")
        if not (in_submitted or in_history or parts == ("downloaded", PILOT, "collected.json")):
            stray.append(str(path))
    assert not stray, f"collect wrote outside a student's folders: {sorted(map(str, stray))}"


def test_an_uploaded_name_that_imitates_another_student_is_skipped(collect_course, grading_env,
                                                                   release_bytes, tmp_path):
    # Canvas keeps the student's own file name after its prefix; mallory names hers after ada.
    victim = notebook_bytes(collect_course, Student("x"))
    lms_zip_path = lms_zip(tmp_path / "victim.zip", [
        (f"atk-victim_201_1_{PILOT}.ipynb", victim, ON_TIME)])
    cli(collect_course, grading_env, "collect", PILOT, "--zip", str(lms_zip_path))
    forged = lms_zip(tmp_path / "forged.zip", [
        (f"atk-mallory_202_2_atk-victim_201_1_{PILOT}.ipynb", release_bytes,
         (2026, 12, 4, 23, 0, 0)),
        (f"atk-mallory_202_2_{PILOT}-99.ipynb", release_bytes, (2026, 12, 4, 19, 0, 0))])
    result = cli(collect_course, grading_env, "collect", PILOT, "--zip", str(forged))
    assert result.returncode == 0, failure(result)
    assert f"SKIPPED: atk-mallory_202_2_atk-victim_201_1_{PILOT}.ipynb" in result.stdout
    kept = collect_course.submitted("atk-victim", PILOT) / f"{PILOT}.ipynb"
    assert kept.read_bytes() == victim


def test_a_forged_resubmission_number_does_not_beat_a_later_submission(
        released_course, grading_env, release_bytes, tmp_path):
    # The student names the early upload ch01_definition-99.ipynb; the LMS's time decides
    # (here an LMS that stores submission times in its zip, and a course that says so).
    course = private_course(released_course, tmp_path / "course")
    with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write("c.LmsDownload.zip_times_are_submission_times = True\n")
    later = notebook_bytes(course, Student("x"))
    archive = lms_zip(tmp_path / "attempts.zip", [
        (f"atk-eager_301_1_{PILOT}-99.ipynb", release_bytes, (2026, 12, 4, 10, 0, 0)),
        (f"atk-eager_LATE_301_2_{PILOT}-1.ipynb", later, (2026, 12, 6, 10, 0, 0))])
    assert cli(course, grading_env, "collect", PILOT, "--zip", str(archive)).returncode == 0
    folder = course.submitted("atk-eager", PILOT)
    assert (folder / f"{PILOT}.ipynb").read_bytes() == later
    # The submission time is the LMS's, whatever the name says: this one was late.
    assert (folder / "timestamp.txt").read_text().startswith("2026-12-06T10:00:00")


def test_a_file_name_sets_no_time_and_entry_times_count_only_when_the_course_says_so(
        collect_course, grading_env, release_bytes, tmp_path):
    # Canvas's pattern has no timestamp group: a time in the student's own file name, or the
    # zip's entry time (the download's), gives no submission time, so no lateness either way.
    archive = lms_zip(tmp_path / "clock.zip", [
        (f"atk-clock_302_1_2026-12-01T00:00:00Z_{PILOT}.ipynb", release_bytes, ON_TIME),
        (f"atk-clock_302_1_{PILOT}.ipynb", release_bytes, (2030, 1, 1, 0, 0, 0))])
    result = cli(collect_course, grading_env, "collect", PILOT, "--zip", str(archive))
    assert result.returncode == 0, failure(result)
    assert f"SKIPPED: atk-clock_302_1_2026-12-01T00:00:00Z_{PILOT}.ipynb" in result.stdout
    folder = collect_course.submitted("atk-clock", PILOT)
    assert (folder / f"{PILOT}.ipynb").exists() and not (folder / "timestamp.txt").exists()


def test_a_student_file_that_is_skipped_does_not_void_the_times_file(
        collect_course, grading_env, release_bytes, tmp_path):
    # A careless (or hostile) upload under another name is skipped; the instructor's times
    # file still names that student, and everyone else's time must still be taken.
    archive = lms_zip(tmp_path / "careless.zip", [
        ("atk-careless_303_1_my_homework.ipynb", release_bytes, ON_TIME),
        (f"atk-careful_304_2_{PILOT}.ipynb", release_bytes, ON_TIME),
        (f"atk-untimed_305_3_{PILOT}.ipynb", release_bytes, ON_TIME)])
    times = tmp_path / "times.csv"
    times.write_text("user_id,submitted_at\n303,2026-12-04T20:00:00Z\n"
                     "304,2026-12-04T21:00:00Z\n", encoding="utf-8")
    result = cli(collect_course, grading_env, "collect", PILOT, "--zip", str(archive),
                 "--times", str(times))
    assert result.returncode == 0, failure(result)
    assert "SKIPPED: atk-careless_303_1_my_homework.ipynb" in result.stdout
    stamp = collect_course.submitted("atk-careful", PILOT) / "timestamp.txt"
    assert stamp.read_text().startswith("2026-12-04T21:00:00")
    # Not in the times file: collected, with no time, and said so.
    assert "1 student(s) of this zip are not in times.csv" in result.stdout
    assert not (collect_course.submitted("atk-untimed", PILOT) / "timestamp.txt").exists()


def test_a_second_lms_user_under_the_same_name_stops_collection(collect_course, grading_env,
                                                                release_bytes, tmp_path):
    mine = notebook_bytes(collect_course, Student("x"))
    first = lms_zip(tmp_path / "one.zip", [(f"atk-twin_401_1_{PILOT}.ipynb", mine, ON_TIME)])
    assert cli(collect_course, grading_env, "collect", PILOT, "--zip",
               str(first)).returncode == 0
    second = lms_zip(tmp_path / "two.zip", [
        (f"atk-twin_402_2_{PILOT}.ipynb", release_bytes, (2026, 12, 5, 9, 0, 0))])
    result = cli(collect_course, grading_env, "collect", PILOT, "--zip", str(second))
    assert result.returncode == 1 and "Two LMS users share a student id" in result.stderr
    assert (collect_course.submitted("atk-twin", PILOT) / f"{PILOT}.ipynb").read_bytes() == mine


def test_a_second_lms_user_under_the_same_name_in_another_assignment_is_refused(
        collect_course, grading_env, tmp_path):
    mine = notebook_bytes(collect_course, Student("x"))
    first = lms_zip(tmp_path / "a1.zip", [(f"atk-same_501_1_{PILOT}.ipynb", mine, ON_TIME)])
    assert cli(collect_course, grading_env, "collect", PILOT, "--zip",
               str(first)).returncode == 0
    other = notebook_bytes(collect_course, Student("x", based_on="blank"), OTHER)
    second = lms_zip(tmp_path / "a2.zip", [(f"atk-same_502_2_{OTHER}.ipynb", other, ON_TIME)])
    result = cli(collect_course, grading_env, "collect", OTHER, "--zip", str(second))
    with Gradebook(collect_course.db_url) as gradebook:
        stored = gradebook.find_student("atk-same").lms_user_id
    assert stored == "501", f"atk-same's Canvas id is now {stored}"
    assert result.returncode != 0


def test_skipped_names_reach_the_terminal_without_control_characters(
        collect_course, grading_env, release_bytes, tmp_path):
    archive = lms_zip(tmp_path / "escapes.zip", [
        ("atk-esc_601_1_\x1b[1A\x1b[2Khidden.ipynb", release_bytes, ON_TIME),
        (f"atk-esc_601_1_{PILOT}.ipynb", release_bytes, ON_TIME)])
    result = cli(collect_course, grading_env, "collect", PILOT, "--zip", str(archive))
    assert result.returncode == 0, failure(result)
    assert "\x1b" not in result.stdout + result.stderr


def _deflated_zeros_zip(path: Path, name: str, size: int, small: tuple[str, bytes]) -> Path:
    """A zip whose first entry inflates to `size` zero bytes from a few MB, built without
    holding it: one full-flush deflate block of 1 MiB of zeros, repeated."""
    import struct
    import zlib

    mib = 1 << 20
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(mib)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)  # an empty final block
    body = block * (size // mib) + tail
    crc = 0
    for _ in range(size // mib):
        crc = zlib.crc32(bytes(mib), crc)
    encoded = name.encode()
    dos_time, dos_date = (20 << 11), ((2026 - 1980) << 9) | (12 << 5) | 4
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, dos_time, dos_date, crc,
                        len(body), size, len(encoded), 0) + encoded
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, dos_time, dos_date,
                          crc, len(body), size, len(encoded), 0, 0, 0, 0, 0, 0) + encoded
    with open(path, "wb") as handle:
        handle.write(local + body)
        end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local + body),
                          0)
        handle.write(central + end)
    with zipfile.ZipFile(path, "a") as bundle:  # rewrites the directory with both entries
        bundle.writestr(zipfile.ZipInfo(small[0], date_time=ON_TIME), small[1])
    return path


def test_a_zip_bomb_entry_does_not_kill_collect(collect_course, grading_env, release_bytes,
                                                tmp_path):
    import resource

    archive = _deflated_zeros_zip(tmp_path / "bomb.zip", f"atk-bomb_701_1_{PILOT}.ipynb",
                                  3 << 30, (f"atk-bystander_702_1_{PILOT}.ipynb", release_bytes))

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    env = dict(grading_env, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-m", "softmax_grading", "collect", PILOT, "--zip",
                             str(archive)], cwd=collect_course.root, env=env,
                            capture_output=True, text=True, preexec_fn=limit_memory)
    assert "Traceback" not in result.stderr, result.stderr[-1500:]
    assert (collect_course.submitted("atk-bystander", PILOT) / f"{PILOT}.ipynb").exists()


# --- grading a hostile class: CSV files, feedback pages, the written-answers file ----------


@pytest.fixture(scope="module")
def graded(released_course, tmp_path_factory, grading_env):
    """One hostile class, collected from a Canvas zip and graded once."""
    base = tmp_path_factory.mktemp("attacks-graded")
    course = private_course(released_course, base / "course")
    reference = references(course)
    students = {
        "atk-ada": ("111", Student("x")),
        "=2+5": ("222", Student("x")),  # a name an LMS may let a student choose
        "atk-xss": ("333", Student("x", answers={
            WRITTEN: SCRIPT_IN_MARKDOWN, "dof_impl": HTML_OUTPUTS + reference["dof_impl"]})),
        "atk-yaml": ("444", Student("x", answers={WRITTEN: YAML_BLOCK_ANSWER})),
        "atk-yaml2": ("555", Student("x", answers={WRITTEN: YAML_ESCAPED_ANSWER})),
    }
    archive = lms_zip(base / "submissions.zip", [
        (f"{name}_{user}_9{user}_{PILOT}.ipynb", notebook_bytes(course, student), ON_TIME)
        for name, (user, student) in students.items()])
    steps = {"collect": cli(course, grading_env, "collect", PILOT, "--zip", str(archive))}
    steps["grade"] = cli(course, grading_env, "grade", PILOT, "--jobs", "2")
    steps["canvas"] = cli(course, grading_env, "export", PILOT, "--canvas", "canvas.csv")
    steps["written-export"] = cli(course, grading_env, "written-export", PILOT)
    return course, steps


def test_the_hostile_class_is_collected_and_graded(graded):
    course, steps = graded
    for step in ("collect", "grade", "canvas", "written-export"):
        assert steps[step].returncode == 0, f"{step}: {failure(steps[step])}"
    assert set(course.students(PILOT)) == {"atk-ada", "=2+5", "atk-xss", "atk-yaml", "atk-yaml2"}


def test_grade_files_have_no_cell_a_spreadsheet_reads_as_a_formula(graded):
    course, _ = graded
    for path in (course.root / "grades" / f"{PILOT}.csv", course.root / "canvas.csv"):
        cells = [c for c in csv_cells(path) if c.startswith(FORMULA_STARTS)]
        assert not cells, f"{path.name}: {cells}"


def _page(course: Course, student: str) -> str:
    return (course.feedback(student, PILOT) / f"{PILOT}.html").read_text(encoding="utf-8")


def _runnable(page: str) -> list[str]:
    """What a browser would run: the text of every <script> and every on* attribute."""
    from html.parser import HTMLParser

    found = []

    class Scripts(HTMLParser):
        in_script = False

        def handle_starttag(self, tag, attrs):
            self.in_script = tag == "script"
            found.extend(value or "" for name, value in attrs if name.startswith("on"))

        def handle_endtag(self, tag):
            self.in_script = False

        def handle_data(self, data):
            if self.in_script:
                found.append(data)

    Scripts().feed(page)
    return found


def test_feedback_escapes_printed_text_and_code(graded):
    page = _page(graded[0], "atk-xss")
    assert "PWNED_STREAM" in page and "<script>window.PWNED_STREAM" not in page
    assert "PWNED_SOURCE" in page and "<script>window.PWNED_SOURCE" not in page


def test_feedback_does_not_run_html_from_a_written_answer(graded):
    page = _page(graded[0], "atk-xss")
    assert "<script>window.PWNED_MD" not in page and 'onerror="window.PWNED_IMG' not in page
    assert not [code for code in _runnable(page) if "PWNED" in code]


def test_feedback_does_not_run_html_or_javascript_outputs(graded):
    page = _page(graded[0], "atk-xss")
    # The code cell shows its own source (escaped); what must not be there is the output.
    assert "<script>window.PWNED_HTML" not in page
    assert not [code for code in _runnable(page) if "PWNED" in code]


def test_feedback_pages_still_render_maths(graded):
    page = _page(graded[0], "atk-xss")
    assert 'src="mathjax/tex-svg.js"' in page  # the course's own script stays
    assert r"$\mathbf z = (2.0,\ 1.0,\ -0.5)$" in page  # maths text reaches MathJax intact
    assert "&lt;p&gt;" not in page  # the cleaned Markdown still renders as paragraphs


def _export(course: Course) -> dict:
    return yaml.safe_load((course.root / "marking" / f"{PILOT}.yaml").read_text("utf-8"))


def _graded_answer(course: Course, student: str) -> str:
    notebook = nbformat.read(course.autograded(student, PILOT) / f"{PILOT}.ipynb", as_version=4)
    return next(c.source.strip() for c in notebook.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == WRITTEN)


def test_hostile_answers_keep_the_written_file_structure(graded):
    course, _ = graded
    document = _export(course)
    by_student = {entry["student"]: entry["answers"] for entry in document["students"]}
    assert set(by_student) == set(course.students(PILOT))
    for student, answers in by_student.items():
        assert [a["part"] for a in answers] == [WRITTEN], student
        assert answers[0]["mark"] is None
    assert by_student["atk-yaml"][0]["answer"] == _graded_answer(course, "atk-yaml")
    assert not Path("/tmp/pwned-by-yaml").exists()


def test_the_written_file_shows_the_answer_exactly(graded):
    course, _ = graded
    by_student = {entry["student"]: entry["answers"] for entry in _export(course)["students"]}
    assert by_student["atk-yaml2"][0]["answer"] == _graded_answer(course, "atk-yaml2")


def _marked(document: dict, marks: dict[str, float]) -> dict:
    marked = copy.deepcopy(document)
    for entry in marked["students"]:
        for answer in entry["answers"]:
            answer["mark"] = marks.get(entry["student"])
    return marked


BAD_FILES = {
    "mark above the points": lambda d, e: e["answers"][0].update(mark=99),
    "negative mark": lambda d, e: e["answers"][0].update(mark=-1),
    "NaN mark": lambda d, e: e["answers"][0].update(mark=float("nan")),
    "infinite mark": lambda d, e: e["answers"][0].update(mark=float("inf")),
    "boolean mark": lambda d, e: e["answers"][0].update(mark=True),
    "text mark": lambda d, e: e["answers"][0].update(mark="2"),
    "unknown student": lambda d, e: e.update(student="atk-nobody"),
    "autograded part": lambda d, e: e["answers"][0].update(part="softmax_basic"),
    "answer changed since export": lambda d, e: e["answers"][0].update(answer_id="0" * 16),
    "entry given twice": lambda d, e: d["students"].append(copy.deepcopy(e)),
    "marks of another student's answer": lambda d, e: e["answers"][0].update(
        answer_id=next(x for x in d["students"] if x["student"] == "atk-ada")["answers"][0][
            "answer_id"]),
}


@pytest.mark.parametrize("problem", BAD_FILES)
def test_a_bad_marks_file_imports_nothing(graded, grading_env, tmp_path, problem):
    course, _ = graded
    students = course.students(PILOT)
    before = manual_scores(course, students)
    document = _marked(_export(course), {"atk-ada": 1.0, "atk-yaml": 1.5})
    target = next(e for e in document["students"] if e["student"] == "atk-yaml")
    BAD_FILES[problem](document, target)
    path = tmp_path / "marks.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    result = cli(course, grading_env, "written-import", PILOT, str(path))
    assert result.returncode == 1 and "nothing was imported" in result.stderr, failure(result)
    assert manual_scores(course, students) == before


def test_a_marks_file_with_python_tags_is_refused_not_run(graded, grading_env, tmp_path):
    course, _ = graded
    marker = tmp_path / "ran"
    path = tmp_path / "marks.yaml"
    path.write_text(f"!!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    result = cli(course, grading_env, "written-import", PILOT, str(path))
    assert result.returncode == 1 and not marker.exists()


def test_marks_land_on_the_student_they_were_given_to(graded, grading_env, tmp_path):
    course, _ = graded
    marks = {"atk-ada": 2.0, "=2+5": 0.25, "atk-xss": 0.5, "atk-yaml": 1.0, "atk-yaml2": 1.5}
    path = tmp_path / "marks.yaml"
    path.write_text(yaml.safe_dump(_marked(_export(course), marks), sort_keys=False),
                    encoding="utf-8")
    result = cli(course, grading_env, "written-import", PILOT, str(path))
    assert result.returncode == 0, failure(result)
    assert manual_scores(course, list(marks)) == marks


@pytest.fixture(scope="module")
def one_user_two_names(released_course, tmp_path_factory, grading_env):
    """One Canvas user under two name parts (a name changed during the term), both graded."""
    base = tmp_path_factory.mktemp("attacks-canvas")
    course = private_course(released_course, base / "course")
    archive = lms_zip(base / "submissions.zip", [
        (f"atk-smithjane_888_1_{PILOT}.ipynb", notebook_bytes(course, Student("x")), ON_TIME),
        (f"atk-doejane_888_2_{PILOT}.ipynb",
         notebook_bytes(course, Student("x", based_on="blank")), (2026, 12, 4, 21, 0, 0))])
    steps = {"collect": cli(course, grading_env, "collect", PILOT, "--zip", str(archive))}
    if steps["collect"].returncode == 0:
        steps["grade"] = cli(course, grading_env, "autograde", PILOT, "--jobs", "2")
        steps["canvas"] = cli(course, grading_env, "export", PILOT, "--canvas", "canvas.csv")
    return course, steps


def test_one_canvas_user_under_two_names_is_refused_or_named(one_user_two_names):
    _, steps = one_user_two_names
    if steps["collect"].returncode != 0:
        return  # refused at collect: nothing can be posted to the wrong row
    output = steps["canvas"].stdout + steps["canvas"].stderr
    assert steps["canvas"].returncode != 0 or (
        "atk-smithjane" in output and "atk-doejane" in output), output


# --- written answers that are not valid Unicode --------------------------------------------


@pytest.fixture(scope="module")
def surrogate_course(released_course, tmp_path_factory, grading_env):
    course = private_course(released_course, tmp_path_factory.mktemp("attacks-surrogate") / "c")
    submit(course, PILOT, Student("atk-plain"))
    path = submit(course, PILOT, Student("atk-surrogate"))
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == WRITTEN:
            cell["source"] = "A lone surrogate \ud800 in my answer."
    path.write_text(json.dumps(notebook), encoding="utf-8")  # ensure_ascii: valid JSON text
    grade = cli(course, grading_env, "grade", PILOT, "--jobs", "2")
    return course, grade


def test_a_lone_surrogate_in_one_answer_does_not_stop_the_class(surrogate_course, grading_env):
    course, grade = surrogate_course
    assert "Traceback" not in grade.stderr, grade.stderr[-2000:]
    result = cli(course, grading_env, "written-export", PILOT)
    assert result.returncode == 0, failure(result)
    exported = yaml.safe_load((course.root / "marking" / f"{PILOT}.yaml").read_text("utf-8"))
    assert "atk-plain" in {entry["student"] for entry in exported["students"]}


# --- similarity ----------------------------------------------------------------------------


def _similarity_course(released_course, directory: Path, copiers: dict) -> Course:
    course = private_course(released_course, directory)
    submit(course, PILOT, Student("atk-author", answers={"softmax_impl": COPIED_SOFTMAX}))
    for name, edit in copiers.items():
        submit(course, PILOT, Student(name, answers={"softmax_impl": COPIED_SOFTMAX}, edit=edit))
    return course


def _strip_answer_metadata(notebook) -> None:
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "softmax_impl":
            del cell.metadata["nbgrader"]


@pytest.fixture(scope="module")
def similarity_run(released_course, tmp_path_factory, grading_env):
    course = _similarity_course(released_course, tmp_path_factory.mktemp("attacks-sim") / "c", {
        "atk-plain-copy": None,
        "atk-stripped-copy": _strip_answer_metadata,
        "=1+1": None,
    })
    result = cli(course, grading_env, "similarity", PILOT)
    return course, result


def _pairs(course: Course) -> set[frozenset]:
    import csv

    with open(course.reports(PILOT) / "similarity.csv", newline="", encoding="utf-8") as handle:
        return {frozenset((row["student_a"], row["student_b"])) for row in csv.DictReader(handle)
                if row["part"] == "softmax_impl"}


def test_similarity_finds_a_plain_copy(similarity_run):
    course, result = similarity_run
    assert result.returncode == 0, failure(result)
    assert frozenset(("atk-author", "atk-plain-copy")) in _pairs(course)


def test_similarity_finds_a_copy_whose_answer_cell_lost_its_metadata(similarity_run):
    course, _ = similarity_run
    assert frozenset(("atk-author", "atk-stripped-copy")) in _pairs(course)


def test_similarity_csv_has_no_formula_cells(similarity_run):
    course, _ = similarity_run
    cells = [c for c in csv_cells(course.reports(PILOT) / "similarity.csv")
             if c.startswith(FORMULA_STARTS)]
    assert not cells, cells


def _source_not_text(notebook) -> None:
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "softmax_impl":
            cell.source = 12345


def _huge_and_binary(notebook) -> None:
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "softmax_impl":
            cell.source = COPIED_SOFTMAX + "\x00\x01\ufffd\u202e" + "x = 1\n" * 30000


def test_an_answer_that_is_not_text_does_not_crash_similarity(released_course, tmp_path,
                                                              grading_env):
    course = _similarity_course(released_course, tmp_path / "c", {
        "atk-plain-copy": None, "atk-number": _source_not_text})
    result = cli(course, grading_env, "similarity", PILOT)
    assert result.returncode == 0, failure(result)
    assert frozenset(("atk-author", "atk-plain-copy")) in _pairs(course)


def test_a_huge_answer_with_control_characters_is_compared(released_course, tmp_path,
                                                            grading_env):
    course = _similarity_course(released_course, tmp_path / "c", {
        "atk-huge": _huge_and_binary})
    result = cli(course, grading_env, "similarity", PILOT)
    assert result.returncode == 0, failure(result)
    assert frozenset(("atk-author", "atk-huge")) in _pairs(course)


def test_regression_one_students_odd_entries_never_stop_collect_for_the_class(
        collect_course, grading_env, release_bytes, tmp_path):
    # Found by a red-team pass. A resubmission number of 230 digits made a history file name too
    # long for the file system, a damaged entry raised, and a student whose only upload was a PDF
    # made the times file (which lists everyone who handed anything in) refuse the class. Each
    # stopped collect for everyone, on every rerun.
    archive = tmp_path / "odd.zip"
    entries = [(f"atk-honest_110_1_{PILOT}.ipynb", release_bytes),
               (f"atk-long_111_1_{PILOT}-{'9' * 230}.ipynb", release_bytes),
               (f"atk-pdf_112_1_{PILOT}.pdf", b"%PDF-1.4 my answers"),
               (f"atk-crc_113_1_{PILOT}.ipynb", b'{"damaged-entry": 1}')]
    with zipfile.ZipFile(archive, "w") as bundle:  # stored, so the bytes can be damaged below
        for name, data in entries:
            bundle.writestr(zipfile.ZipInfo(name, date_time=ON_TIME), data)
    archive.write_bytes(archive.read_bytes().replace(b"damaged-entry", b"DAMAGED-ENTRY"))
    times = tmp_path / "times.csv"
    times.write_text("user_id,submitted_at\n110,2026-12-04T20:00:00Z\n111,2026-12-04T20:00:00Z\n"
                     "112,2026-12-04T20:00:00Z\n113,2026-12-04T20:00:00Z\n")
    for _ in range(2):  # and again: nothing left behind stops a rerun
        result = cli(collect_course, grading_env, "collect", PILOT, "--zip", str(archive),
                     "--times", str(times))
        assert result.returncode == 0, failure(result)
        assert f"SKIPPED: atk-long_111_1_{PILOT}-999" in result.stdout
        assert "has more than 6 digits" in result.stdout
        assert f"SKIPPED: atk-pdf_112_1_{PILOT}.pdf" in result.stdout
        assert f"SKIPPED: atk-crc_113_1_{PILOT}.ipynb: unreadable in the zip" in result.stdout
    assert (collect_course.submitted("atk-honest", PILOT) / f"{PILOT}.ipynb").is_file()
    for student in ("atk-long", "atk-pdf", "atk-crc"):
        assert not collect_course.submitted(student, PILOT).exists()


def test_collect_holds_one_entry_in_memory_at_a_time(collect_course, tmp_path):
    # A few MB of zip may inflate to many entries of up to 50 MB each (LmsDownload's cap): they
    # were all kept in memory until written. Six entries of 20 MB now peak near one of them.
    # (LMS user ids 9100 to 9105: this module's course gives every user id one student.)
    archive = tmp_path / "big.zip"
    entry_bytes = 20_000_000
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for number in range(6):
            bundle.writestr(zipfile.ZipInfo(f"atk-mem{number}_{9100 + number}_1_{PILOT}.ipynb",
                                            date_time=ON_TIME),
                            b" " * entry_bytes + bytes([number]))
    tracemalloc.start()
    try:
        collect_module.collect(collect_course, PILOT, archive)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * entry_bytes, f"collect peaked at {peak:,} bytes"
    for number in range(6):
        assert (collect_course.submitted(f"atk-mem{number}", PILOT) / f"{PILOT}.ipynb").is_file()
