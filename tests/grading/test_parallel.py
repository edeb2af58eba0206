"""Grading a whole class fast changes nothing: serial, parallel and Dask runs give the same grades.

One mixed class on chapter 1 (honest, wrong, broken and hostile submissions) is submitted three
times under disjoint names (``par-serial-*``, ``par-jobs2-*``, ``par-dask-*``) and graded by
``python -m softmax_grading grade`` with ``--jobs 1``, ``--jobs 2`` and ``--scheduler`` (a real
Dask scheduler and two ``dask worker`` processes over TCP on 127.0.0.1). Every trace a run
leaves (the gradebook, the result records, the report, the CSV, the feedback pages) must be
the same for the same notebook, whoever graded it. Then a worker is SIGKILLed while it grades,
and no grade may be lost; finally nothing started here may still be running.

Everything this module starts carries a marker in its environment (the sandboxed student
process, whose environment is cleared, dies with its ``bwrap`` parent), so leftovers are
found in /proc by the marker, not by guessing names.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import importlib.util
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import preloaded_commands
import pytest
from dask_cluster import STOP_TIMEOUT_SECONDS, running_cluster
from nbgrader.api import Gradebook
from synthetic import ASSIGNMENTS, TEST_LIMITS, Student, cell_index, expected_scores, submit

from softmax_grading import autograde, feedback

pytestmark = pytest.mark.grading

ASSIGNMENT = "ch01_definition"
if ASSIGNMENT not in ASSIGNMENTS:
    pytest.skip(f"{ASSIGNMENT} is not among the selected assignments", allow_module_level=True)

HERE = Path(__file__).resolve().parent
# Safety nets only: nothing here waits for a duration to pass.
GRADE_TIMEOUT_SECONDS = 600
POLL_SECONDS = 0.02
MARKER = "SOFTMAX_GRADING_TEST_PARALLEL"
MARK = f"{MARKER}={uuid.uuid4().hex}"  # this test run's processes, and only them


# --- The class ---------------------------------------------------------------------------------


def _cases() -> dict[str, Student]:
    spec = importlib.util.spec_from_file_location(f"grading_cases_{ASSIGNMENT}_parallel",
                                                  HERE / "cases" / f"{ASSIGNMENT}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {student.name: student for student in module.STUDENTS}


def _delete_setup_cell(notebook) -> None:
    del notebook.cells[cell_index(notebook, "setup")]


# Rigs the comparison the tests rely on and listens to every cell: flagged, every part voided.
HOSTILE = '''sharper_answer = "b"
np.allclose = lambda *args, **kwargs: True
get_ipython().events.register("post_run_cell", lambda result: None)
'''
# A top-level loop is stopped once it has used the CPU limit per cell (COURSE_LIMITS).
RUNAWAY = '''while True:
    pass
ratio_answer = float(np.exp(2.5))
'''
AUTOGRADED = ("softmax_basic", "softmax_robust", "ratio_test", "dof_test", "sharper_test")

CASES = _cases()
CLASS = [
    Student("honest"),
    CASES["naive"],
    CASES["wrong_axis"],
    CASES["syntax_error"],
    CASES["not_json"],
    # The setup cell (the imports) is put back from the release: nothing lost.
    Student("no_setup", edit=_delete_setup_cell),
    Student("hostile", answers={"sharper_impl": HOSTILE},
            scores=dict.fromkeys(AUTOGRADED, 0)),
    Student("runaway", answers={"ratio_impl": RUNAWAY}, scores={"ratio_test": 0}),
]
NAMES = [student.name for student in CLASS]
MODES = ("serial", "jobs2", "dask")
COMPARED = ("jobs2", "dask")  # each compared with "serial"


def _prefix(mode: str) -> str:
    return f"par-{mode}-"


def _ids(mode: str) -> dict[str, str]:
    """Student name in CLASS -> its id in the gradebook for `mode`."""
    return {name: _prefix(mode) + name for name in NAMES}


# The class's other cells and calls take hundredths of a CPU second, and the runaway student
# spends the whole limit in each of the three runs: one second a cell, not TEST_LIMITS' five.
COURSE_LIMITS = TEST_LIMITS + "c.Sandbox.cpu_seconds_per_cell = 1\n"


@pytest.fixture(scope="module")
def course(copy_of_release, tmp_path_factory):
    """This module's own copy of the release, graded under COURSE_LIMITS."""
    return copy_of_release(tmp_path_factory.mktemp("parallel") / "course", COURSE_LIMITS)


# --- Processes ---------------------------------------------------------------------------------


def _environment(base: dict[str, str]) -> dict[str, str]:
    name, value = MARK.split("=")
    return {**base, name: value}


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command name) of every process."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read().decode(errors="replace")
        except OSError:
            continue
        command = stat[stat.index("(") + 1:stat.rindex(")")]
        table[int(entry.name)] = (int(stat[stat.rindex(")") + 2:].split()[1]), command)
    return table


def _descendants(pid: int, table: dict[int, tuple[int, str]]) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, (ppid, _) in table.items() if ppid == parent]
        found += children
        frontier += children
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode(errors="replace")
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _marked_processes() -> list[int]:
    """Live processes whose environment carries this run's marker (everything started here)."""
    marked = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as handle:
                environment = handle.read().split(b"\0")
        except OSError:
            continue
        if MARK.encode() in environment and _alive(int(entry.name)):
            marked.append(int(entry.name))
    return marked


def _wait_until_gone(pids: list[int]) -> list[int]:
    """The pids still alive after a grace period (killing takes a moment)."""
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    return [pid for pid in pids if _alive(pid)]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory, grading_env):
    with running_cluster(tmp_path_factory.mktemp("dask"), _environment(grading_env)) as cluster:
        yield cluster


@pytest.fixture
def dask(dask_cluster):
    """The module's cluster with two live worker processes (a test may kill one)."""
    dask_cluster.ensure_workers(2)
    return dask_cluster


# --- Grading -----------------------------------------------------------------------------------


def _grade_arguments(step: str, students: list[str], options: list[str]) -> list[str]:
    arguments = [step, ASSIGNMENT, *options]
    for student in students:
        arguments += ["--student", student]
    return arguments


def _grade(course, env, csv_name: str, students: list[str], how: list[str]
           ) -> subprocess.CompletedProcess:
    return preloaded_commands.run(_grade_arguments("grade", students, ["--to", csv_name, *how]),
                                  cwd=course.root, env=_environment(env),
                                  timeout=GRADE_TIMEOUT_SECONDS)


@dataclasses.dataclass
class Run:
    """What one `grade` run left, with this run's student ids turned back into CLASS names."""

    mode: str
    process: subprocess.CompletedProcess
    report: dict[str, dict]
    whole_report: dict[str, dict]  # every student of the assignment, as the run left it
    csv_rows: dict[str, dict]
    feedback: dict[str, str | None]
    gradebook: dict[str, dict] = dataclasses.field(default_factory=dict)
    results: dict[str, dict | None] = dataclasses.field(default_factory=dict)
    task_stream: list[dict] = dataclasses.field(default_factory=list)

    def summary(self) -> list[str]:
        """The command's lines about this run's students, with their CLASS names."""
        own = tuple(f"{what}: {_prefix(self.mode)}" for what in ("NOT GRADED",
                                                                 "FEEDBACK WITHHELD"))
        return [line.replace(_prefix(self.mode), "") for line in self.process.stdout.splitlines()
                if line.startswith((*own, "graded "))]

    def log(self) -> str:
        return f"{self.mode}: exit {self.process.returncode}\n{self.process.stdout[-4000:]}"


def _unprefixed(data, mode: str):
    """`data` with this mode's student ids replaced by the plain CLASS names."""
    return json.loads(json.dumps(data).replace(_prefix(mode), ""))


def _snapshot(course, mode: str, process: subprocess.CompletedProcess, csv_name: str) -> Run:
    """The report, CSV and feedback pages as this run wrote them (the next run rewrites them)."""
    ids = _ids(mode)
    report = json.loads((course.reports(ASSIGNMENT) / "report.json").read_text())
    with open(course.root / csv_name, newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)
                if row["assignment"] == ASSIGNMENT}
    return Run(
        mode, process,
        report=_unprefixed({name: report["students"].get(i) for name, i in ids.items()}, mode),
        whole_report=report["students"],
        csv_rows=_unprefixed({name: rows.get(i) for name, i in ids.items()}, mode),
        feedback=_feedback_pages(course, mode),
    )


def _feedback_pages(course, mode: str) -> dict[str, str | None]:
    """CLASS name -> this mode's feedback page as it is now (None where there is none)."""
    pages = {}
    for name, student_id in _ids(mode).items():
        page = course.feedback(student_id, ASSIGNMENT) / f"{ASSIGNMENT}.html"
        pages[name] = page.read_text() if page.exists() else None
    return _unprefixed(pages, mode)


def _gradebook(course, students: dict[str, str]) -> dict[str, dict]:
    """CLASS name -> part -> (score, auto score, manual score, max, needs a human)."""
    scores = {}
    with Gradebook(course.db_url) as gradebook:
        for name, student_id in students.items():
            notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student_id)
            scores[name] = {grade.name: (grade.score, grade.auto_score, grade.manual_score,
                                         grade.max_score, grade.needs_manual_grade)
                            for grade in notebook.grades}
    return scores


def _result(course, student_id: str) -> dict | None:
    """The result record minus what may differ between two gradings of one notebook."""
    path = course.reports(ASSIGNMENT) / "results" / f"{student_id}.json"
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    return {key: value for key, value in record.items() if key not in ("student", "seconds")}


@pytest.fixture(scope="module")
def runs(course, grading_env, dask_cluster) -> dict[str, Run]:
    """Mode -> the class graded that way (one after the other: one gradebook, one report)."""
    dask_cluster.ensure_workers(2)
    how = {"serial": ["--jobs", "1"], "jobs2": ["--jobs", "2"],
           "dask": ["--scheduler", str(dask_cluster.scheduler_file)]}
    graded = {}
    for mode in MODES:
        for student in CLASS:
            submit(course, ASSIGNMENT, dataclasses.replace(student, name=_prefix(mode)
                                                           + student.name))
        if mode == "dask":
            dask_cluster.client.get_task_stream()  # starts recording which worker ran what
        csv_name = f"grades-par-{mode}.csv"
        process = _grade(course, grading_env, csv_name, list(_ids(mode).values()), how[mode])
        graded[mode] = _snapshot(course, mode, process, csv_name)
        if mode == "dask":
            graded[mode].task_stream = dask_cluster.client.get_task_stream()
    for mode, run in graded.items():
        run.gradebook = _gradebook(course, _ids(mode))
        run.results = _unprefixed({name: _result(course, i) for name, i in _ids(mode).items()},
                                  mode)
    return graded


# --- 1. Parallel = serial ----------------------------------------------------------------------


def test_the_serial_run_grades_the_class_as_expected(course, runs):
    """The reference run is right, so that "the same as serial" means "right"."""
    serial = runs["serial"]
    assert serial.process.returncode == 1, serial.log()  # not_json could not be graded
    assert "NOT GRADED: par-serial-not_json" in serial.process.stdout
    for student in CLASS:
        expected = expected_scores(course, ASSIGNMENT, student)
        actual = {part: grades[0] for part, grades in serial.gradebook[student.name].items()
                  if part in expected}
        assert actual == expected, (student.name, serial.log())
    report = serial.report
    assert report["not_json"]["status"] == "not graded"
    assert {name for name, entry in report.items() if entry["flags"]} == {"hostile"}
    assert {name for name, entry in report.items() if entry["timeouts"]} == {"runaway"}
    # "runaway" is left out: see test_a_student_whose_cell_ran_out_of_time_gets_feedback.
    assert {name for name, entry in report.items() if entry["feedback"] == "written"} >= (
        set(NAMES) - {"not_json", "runaway"})


@pytest.mark.parametrize("mode", COMPARED)
def test_same_exit_status_and_summary(runs, mode):
    serial, other = runs["serial"], runs[mode]
    assert other.process.returncode == serial.process.returncode, other.log()
    assert other.summary() == serial.summary()


@pytest.mark.parametrize("mode", COMPARED)
def test_same_scores_per_part_in_the_gradebook(runs, mode):
    assert runs[mode].gradebook == runs["serial"].gradebook


@pytest.mark.parametrize("mode", COMPARED)
def test_same_verdicts_findings_timeouts_and_outputs(runs, mode):
    assert runs[mode].results == runs["serial"].results


@pytest.mark.parametrize("mode", COMPARED)
def test_same_report_entries(runs, mode):
    assert runs[mode].report == runs["serial"].report


@pytest.mark.parametrize("mode", COMPARED)
def test_same_csv_rows(runs, mode):
    assert runs[mode].csv_rows == runs["serial"].csv_rows
    assert all(runs[mode].csv_rows.values())


def _difference(expected: str | None, actual: str | None) -> str:
    lines = difflib.unified_diff(str(expected).splitlines(), str(actual).splitlines(),
                                 "serial", "parallel", lineterm="", n=1)
    return "\n".join(list(lines)[:40])


def _assert_same_pages(expected: dict[str, str | None], actual: dict[str, str | None]) -> None:
    assert actual.keys() == expected.keys()
    for name, page in expected.items():
        assert actual[name] == page, f"{name}:\n{_difference(page, actual[name])}"


@pytest.mark.parametrize("mode", COMPARED)
def test_same_feedback_pages(runs, mode):
    """Byte for byte, once the student ids are the same."""
    _assert_same_pages(runs["serial"].feedback, runs[mode].feedback)


def test_feedback_shared_between_processes_is_the_same_page(course, runs, monkeypatch):
    """A large class's pages are rendered by several processes (feedback._render): the pages
    are the serial run's, byte for byte. The class is made "large" by asking for one page per
    process."""
    monkeypatch.setattr(feedback, "PAGES_PER_PROCESS", 1)
    rendered_here = []
    render_here = feedback._render_here

    def record_render_here(course, assignment, students):
        rendered_here.append(list(students))
        render_here(course, assignment, students)

    monkeypatch.setattr(feedback, "_render_here", record_render_here)
    students = _ids("jobs2")
    for student_id in students.values():  # rendered afresh, not kept from the `grade` run
        (course.feedback(student_id, ASSIGNMENT) / f"{ASSIGNMENT}.html").unlink(
            missing_ok=True)
    not_graded = json.loads(autograde.not_graded_path(course, ASSIGNMENT).read_text())
    pages = feedback.generate(course, ASSIGNMENT, list(students.values()),
                              not_graded=not_graded, jobs=2)
    # This process rendered half of the class; a second process rendered the other half.
    assert len(rendered_here) == 1 and 0 < len(rendered_here[0]) < len(pages.written)
    _assert_same_pages(runs["serial"].feedback, _feedback_pages(course, "jobs2"))


# --- Found on the way ---------------------------------------------------------------------------


def test_regression_a_student_whose_cell_ran_out_of_time_gets_feedback(runs):
    """The timeout's traceback showed the grader's own frame, and the page was withheld."""
    assert runs["serial"].report["runaway"]["feedback"] == "written", runs["serial"].summary()


def test_a_later_run_still_reports_an_earlier_unreadable_submission(runs):
    """Each run's report covers the whole class, not only the students it was asked to grade."""
    for later in COMPARED:
        entry = runs[later].whole_report[_prefix("serial") + "not_json"]
        assert entry["status"] == "not graded" and "not a readable notebook" in entry["reason"]


# --- 2. Dask over TCP does the grading ---------------------------------------------------------


def test_the_dask_run_graded_on_both_worker_processes(runs, dask_cluster):
    """Each of the two `dask worker` processes (ours, not the test's) graded submissions."""
    pids = dask_cluster.client.run(os.getpid)  # worker address -> pid
    assert all(address.startswith("tcp://127.0.0.1:") for address in pids)
    assert sorted(pids.values()) == sorted(w.pid for w in dask_cluster.live_workers())
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()

    tasks = [t for t in runs["dask"].task_stream if t["key"].startswith("grade_submission-")]
    assert {t["worker"] for t in tasks} == set(pids), "every worker must have graded"
    graded = len(NAMES) - 1  # not_json never reaches a worker
    assert len({t["key"] for t in tasks}) == graded
    assert f"graded {graded}, skipped 0" in runs["dask"].process.stdout


def test_a_sandboxed_dask_run_does_not_warn_that_the_sandbox_is_off(runs):
    """Regression: with --scheduler the CLI printed "the sandbox is OFF" although every worker
    had checked that its sandbox starts and graded in it."""
    assert "sandbox is OFF" not in runs["dask"].process.stderr


# --- 3. A killed worker loses no grade ---------------------------------------------------------


def _worker_grading(workers: list[subprocess.Popen]) -> tuple[subprocess.Popen, list[int]] | None:
    """A worker with a student's Python in a sandbox under it (so: grading now, not the
    bubblewrap probe of the check before grading, which runs /bin/true) and its descendants."""
    table = _process_table()
    for worker in workers:
        below = _descendants(worker.pid, table)
        sandboxes = [pid for pid in below if pid in table and table[pid][1] == "bwrap"]
        if any(table[pid][1].startswith("python")
               for box in sandboxes for pid in _descendants(box, table) if pid in table):
            return worker, below
    return None


def test_a_worker_killed_while_grading_loses_no_grade(course, grading_env, dask, tmp_path):
    ids = [f"par-kill-{i}" for i in range(6)]
    for student_id in ids:
        submit(course, ASSIGNMENT, Student(student_id))
    log = tmp_path / "grade.log"
    with open(log, "w") as output:
        grading = subprocess.Popen(
            [*preloaded_commands.COMMAND,
             *_grade_arguments("grade", ids, ["--to", "grades-par-kill.csv",
                                              "--scheduler", str(dask.scheduler_file)])],
            cwd=course.root, env=_environment(grading_env), stdout=output,
            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + GRADE_TIMEOUT_SECONDS
        while (found := _worker_grading(dask.live_workers())) is None:
            assert grading.poll() is None, "the run ended before a worker was seen grading"
            assert time.monotonic() < deadline, "no worker started grading"
            time.sleep(POLL_SECONDS)
        victim, its_processes = found
        os.kill(victim.pid, signal.SIGKILL)
        returncode = grading.wait(timeout=GRADE_TIMEOUT_SECONDS)
    finally:
        if grading.poll() is None:
            grading.kill()
            grading.wait()
    output = log.read_text()
    assert victim.wait(timeout=STOP_TIMEOUT_SECONDS) == -signal.SIGKILL
    assert returncode == 0, output[-4000:]
    assert "graded 6, skipped 0 already graded and unchanged, not graded 0" in output

    full = expected_scores(course, ASSIGNMENT, Student("reference"))
    with Gradebook(course.db_url) as gradebook:
        for student_id in ids:
            notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student_id)
            assert {g.name: g.score for g in notebook.grades if g.name in full} == full, (
                student_id, output[-4000:])
    report = json.loads((course.reports(ASSIGNMENT) / "report.json").read_text())
    for student_id in ids:
        entry = report["students"][student_id]
        assert entry["status"] == "graded" and not entry["flags"] and not entry["timeouts"]
    # The sandbox the killed worker was running died with it.
    assert _wait_until_gone(its_processes) == []


# --- 4. Nothing is left running ----------------------------------------------------------------


def test_nothing_started_here_is_left_running(dask_cluster):
    """Run last: stop the cluster, then no process of this module may remain."""
    started = [dask_cluster.scheduler, *dask_cluster.workers]
    running = {process.pid for process in started if process.poll() is None}
    assert running and running <= set(_marked_processes())  # the marker does find ours
    dask_cluster.stop()
    assert all(process.returncode is not None for process in started)
    assert _wait_until_gone(_marked_processes()) == []
