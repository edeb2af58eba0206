"""Autograding throughput: plain nbgrader against the sandboxed pipeline, serial and parallel.

Four candidates grade the same N copies of the chapter-1 reference solution (``--students``,
default 64: a class, so that what a command pays once is a small share of it, as in a real
course of hundreds; with 16 the start-up was a third of the parallel runs), each in a course
folder of its own (so no gradebook is shared), built before any timing starts:

1. ``plain nbgrader``: ``python -m nbgrader autograde <a> --force`` in a course folder with
   nbgrader's DEFAULT preprocessors (only the folder names set): student code runs unsandboxed
   in a Jupyter kernel with the instructor's rights, one notebook at a time;
2. ``ours --jobs 1``: ``python -m softmax_grading autograde <a> --jobs 1 --force``, sandbox on;
3. ``ours --jobs 2``: the same with two local worker processes;
4. ``ours on Dask (2 workers)``: the same with ``--scheduler`` pointing at a 2-worker Dask
   ``LocalCluster`` started by this script for each of this candidate's turns, and warmed up by
   an untimed start run before its timed runs (so its workers are warm, as a long-lived
   cluster's are; the scheduler runs in this process). It is stopped after the turn: idle, it
   keeps 0.08 of a core busy (heartbeats), which the other candidates' runs paid when it stayed
   up for all rounds (until 2026-11-30);
5. ``ours --jobs 1 on one core``: candidate 2 confined to one core (``sched_setaffinity``, which
   its worker and sandboxes inherit). Candidate 2 is one worker, but its trusted process
   sanitizes and records on the second core meanwhile; this one has a single core for
   everything, so candidate 3 against it is the scaling from one core to two.

Every run is a whole command, so each figure includes the command's start-up (imports, the
gradebook checks, starting the local workers) spread over the N submissions: what a user waits
for. Each candidate's start run is first run once untimed, as a warm-up (disk cache, the
cluster's imports). Then the candidates take turns: ``--rounds`` rounds (default 3), each
running every candidate once on its start run (below) and once on the class, in the order
above, reversed every other round (plain nbgrader, ``--jobs 1``, ``--jobs 2``, Dask, one core;
then one core, Dask, ``--jobs 2``, ``--jobs 1``, plain nbgrader), so that a slow drift of the
machine falls on all candidates alike rather than on whichever ran at that moment. Each
candidate's BEST round is kept: other processes only ever add time to a run (they never make one
faster), so the minimum is the estimate least disturbed by them, and with interleaved rounds
every candidate had the same chances at a quiet moment. The median is printed next to it to
show the spread.

Best rounds may come from different phases of the machine (on a virtual machine its speed can
change by a quarter within minutes, and its second core's share too). So the per-core
efficiency is also given PAIRED: in every round ``--jobs 1``, ``--jobs 2`` and Dask run one
right after the other, and the round's own figure uses its own runs only; the median over the
rounds is printed with each round's figure. After every run the gradebook must give each
student full marks, so a candidate cannot be fast by failing.

Reported: seconds per submission (wall), throughput relative to plain nbgrader (plain s/nb ÷
candidate s/nb: above 1 is faster), per-core efficiency from 1 to 2 workers
(throughput(2 workers) / (2 × throughput(jobs=1)), the goal's figure), the same from one core to
two (throughput(--jobs 2) / (2 × throughput(--jobs 1 on one core))), the machine's CPU seconds
per submission
(every core's busy time during the run: the sandboxes and the Dask workers included, but on a
busy machine other people's processes too, so it means something only on a quiet one), and the
load average before and after; a warning is printed when the 1-minute load exceeds 0.5 per
core. The goals: at least 1.7 times plain nbgrader's throughput on a 2-core machine with the
sandbox on, and a per-core efficiency of at least 80 %.

Each round starts by measuring the machine itself: a Python loop alone, then two copies at once
(``machine_two_core_efficiency``). On a virtual machine the second core may deliver much less
than the first, and differently from minute to minute; the per-core efficiency of the grader
should be read against it.

The start run grades the first student per worker (one for ``--jobs 1``, two for two workers,
so that every worker starts in it) and splits a command in two: what it pays once (its best
time: imports, the gradebook checks, every worker's start, a submission each), and what each
further submission adds ((best class time - best start-run time) / (N - workers)). The per-core
efficiency of that second part is printed too: it is what a class of any size tends to. (When
the start run had one student for every candidate, a two-worker command started its second
worker in the class run only, and that start, about 0.5 s, counted as the submissions' cost.)

Then one submission's cost is broken down, timed on its own (median of ``--repeats``): sandbox
start (``bwrap ... /bin/true``), the runtime's start (the first reply of a sandboxed
``Session``, sandbox included), the student's cells, the checks, the rest of
``grade_submission`` (integrity scan, teardown), sanitizing the submission (``prepare``), and the
gradebook write (``Writer.record``, nbgrader's ``autograde`` with the result in place).

    python benchmarks/bench_autograde.py [--students 64] [--rounds 3] [--repeats 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
from _timing import format_table, machine_info
from nbgrader.api import Gradebook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "grading"))

from synthetic import Student, autograded_points, make_course, submit

from softmax_grading import autograde, executors, sandbox
from softmax_grading.command_setup import nbgrader_set_up_once
from softmax_grading.grade_one import grade_submission
from softmax_grading.layout import Course
from softmax_grading.session import Session

PLAIN_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "softmax-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
"""
THROUGHPUT_GOAL = 1.7
EFFICIENCY_GOAL = 0.80
BUSY_LOAD_PER_CORE = 0.5


@dataclass
class Candidate:
    label: str
    course: Course
    command: list[str]
    workers: int
    cores: set[int] | None = None  # the cores it may run on (None: all)
    on_dask: bool = False  # runs on a LocalCluster started for each of its turns
    scheduler: str | None = None  # that cluster's address, during a turn
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    start_seconds: list[float] = field(default_factory=list)  # the start runs (one per round)

    @property
    def best(self) -> float:
        return min(self.seconds)

    def start_run(self, students: list[str]) -> list[str]:
        """The students of its start run: one per worker, so that each worker starts in it."""
        return students[:self.workers]

    def per_added_submission(self, count: int) -> float:
        """Seconds each submission adds past the start run: the whole class's best run less the
        start run's best, over the other submissions. The command's start-up is not in it."""
        return (self.best - min(self.start_seconds)) / (count - self.workers)


def only(students: list[str]) -> list[str]:
    """The command's arguments that grade these students alone."""
    return [argument for student in students for argument in ("--student", student)]


def _environment() -> dict[str, str]:
    # nbgrader runs `alembic` from PATH when it creates a gradebook.
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (every process, not only ours).

    Counting the whole machine is the one way to include everything a run costs: the sandboxes
    are killed rather than reaped by their parents, and the Dask workers are not children of
    the command. On a quiet machine the difference over a run is the run's own CPU time.
    """
    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq


# Runs argv[2:] confined to the cores listed in argv[1] (what `taskset -c` does).
CONFINED = ("import os, sys; os.sched_setaffinity(0, map(int, sys.argv[1].split(','))); "
            "os.execv(sys.argv[2], sys.argv[2:])")


def run_candidate(candidate: Candidate, extra: list[str]) -> tuple[float, float]:
    """Wall seconds and machine CPU seconds of one whole run of the candidate's command."""
    cpu_before = machine_busy_seconds()
    started = time.perf_counter()
    command = [*candidate.command, *extra]
    if candidate.on_dask:
        if candidate.scheduler is None:
            raise RuntimeError(f"{candidate.label} runs only during its turn(), on its cluster")
        command += ["--scheduler", candidate.scheduler]
    if candidate.cores:  # confined before it starts: whatever it starts inherits the confinement
        command = [sys.executable, "-c", CONFINED, ",".join(map(str, candidate.cores)), *command]
    done = subprocess.run(command, cwd=candidate.course.root, env=_environment(),
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    cpu = machine_busy_seconds() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"{candidate.label} failed (exit code {done.returncode}):\n"
                         f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return wall, cpu


@contextlib.contextmanager
def turn(candidate: Candidate, students: list[str]) -> Iterator[None]:
    """A candidate's turn at running. A Dask candidate's cluster is up during its turns only
    (idle, it would take CPU from the other candidates' runs), and its workers are warmed up by
    an untimed start run before the timed ones."""
    if not candidate.on_dask:
        yield
        return
    with executors.local_cluster(2) as cluster:
        candidate.scheduler = cluster.scheduler_address
        try:
            run_candidate(candidate, only(candidate.start_run(students)))  # warm-up, untimed
            yield
        finally:
            candidate.scheduler = None


def check_full_marks(course: Course, assignment: str, students: list[str], label: str) -> None:
    notebook = course.root / course.source / assignment / f"{assignment}.ipynb"
    expected = sum(autograded_points(nbformat.read(notebook, as_version=4)).values())
    with Gradebook(course.db_url) as gradebook:
        for student in students:
            score = gradebook.find_submission(assignment, student).code_score
            if abs(score - expected) > 1e-9:
                raise SystemExit(f"{label}: {student} scored {score} of {expected} autograded "
                                 "points: the benchmark's submissions should all pass")


def code_version() -> str:
    """The commit measured, and whether the grading code had uncommitted changes."""
    repo = Path(__file__).resolve().parents[1]
    git = ["git", "-C", str(repo)]
    try:
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        changed = subprocess.run([*git, "status", "--porcelain", "softmax_grading"],
                                 capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "code: not a git checkout"
    changed = [line for line in changed if line.strip()]
    return f"code: commit {commit}" + (f", with {len(changed)} uncommitted change(s) in "
                                       "softmax_grading/" if changed else "")


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min; {executors.default_jobs()} cores)"


def warn_if_busy(cores: int) -> None:
    one = os.getloadavg()[0]
    if one > BUSY_LOAD_PER_CORE * cores:
        print(f"WARNING: the 1-minute load average is {one:.2f} on {cores} cores: other processes "
              "are running, so the parallel candidates in particular will look worse than they "
              "are. Rerun on a quiet machine for numbers to publish.", file=sys.stderr, flush=True)


def paired_efficiencies(one: Candidate, two: Candidate, count: int) -> list[tuple[float, float]]:
    """Per round: the per-core efficiency from `one` (one worker) to `two` (two workers) on the
    class, and per added submission, from that round's runs of the two alone."""
    return [(one_class / (2 * two_class),
             ((one_class - one_start) / (count - one.workers))
             / (2 * (two_class - two_start) / (count - two.workers)))
            for one_class, one_start, two_class, two_start in zip(
                one.seconds, one.start_seconds, two.seconds, two.start_seconds, strict=True)]


# A Python loop of about a second: the machine's own reference for running two things at once.
REFERENCE_LOOP = [sys.executable, "-c", "total = 0\nfor i in range(20_000_000): total += i"]


def machine_two_core_efficiency(repeats: int = 3) -> float:
    """What the machine itself gives from one busy core to two: one reference loop's wall time
    over the wall time of two started together (the median of ``repeats`` such pairs of runs).
    1.0 when two cores do twice the work; on a virtual machine whose two cores share a physical
    one, or are slowed when both are busy, less. No grader can do better in the same minute."""
    ratios = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(REFERENCE_LOOP, check=True)
        alone = time.perf_counter() - started
        started = time.perf_counter()
        pair = [subprocess.Popen(REFERENCE_LOOP) for _ in range(2)]
        for process in pair:
            process.wait()
        ratios.append(alone / (time.perf_counter() - started))
    return statistics.median(ratios)


# --- one submission, broken down -----------------------------------------------------------------


def _measure(function: Callable[[], object], repeats: int) -> tuple[float, float, list]:
    """Median wall seconds and median machine CPU seconds of ``function()``, and its returns."""
    walls, cpus, returned = [], [], []
    for _ in range(repeats):
        cpu = machine_busy_seconds()
        started = time.perf_counter()
        returned.append(function())
        walls.append(time.perf_counter() - started)
        cpus.append(machine_busy_seconds() - cpu)
    return statistics.median(walls), statistics.median(cpus), returned


def breakdown(course: Course, assignment: str, student: str, repeats: int) -> list[list[str]]:
    """One submission's cost, step by step, each step timed on its own in this process.

    Wall seconds, and the machine's CPU seconds (every process: the sandbox's too) where a step
    can be timed alone; the student's cells and the checks are timed inside
    ``grade_submission`` (``GradingResult.seconds``), wall only.
    """
    limits = course.sandbox().limits()
    run = autograde.AutogradeRun(assignment, sandboxed=True)

    def prepare() -> list:
        return autograde.prepare(course, assignment, [student], sandboxed=True, force=True,
                                 run=run)

    (job,) = prepare()
    prepared = _measure(prepare, repeats)

    with tempfile.TemporaryDirectory(prefix="release-") as release:
        release_dir = Path(release)
        for relative, content in job.release_files.items():
            (release_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (release_dir / relative).write_bytes(content)
        release_dir.chmod(0o755)
        bwrap = [*sandbox._bwrap_command(sandbox.bwrap_executable(), release_dir, limits=limits),
                 "/bin/true"]
        sandbox_alone = _measure(lambda: subprocess.run(bwrap, check=True), repeats)

        def first_reply() -> Session:
            session = Session(release_dir, limits, sandboxed=True)
            session.request({"op": "limits", "cpu_seconds": limits["cpu_seconds_per_cell"]})
            return session

        started = _measure(first_reply, repeats)
        for session in started[2]:
            session.close()

    graded = _measure(lambda: grade_submission(job), repeats)
    results = graded[2]
    start, cells, checks = (statistics.median(r.seconds[part] for r in results)
                            for part in ("start", "cells", "checks"))

    writer = autograde.Writer(course, run)
    written = _measure(lambda: writer.record(job, results[-1]), repeats)
    if run.not_graded:
        raise SystemExit(f"the gradebook write failed: {run.not_graded}")

    rows = [
        ["sanitize the submission (prepare)", "trusted", prepared[0], prepared[1]],
        ["sandbox + runtime start (to the first reply)", "worker", start, started[1]],
        ["of which: the sandbox alone (bwrap /bin/true)", "worker", *sandbox_alone[:2]],
        ["student's cells", "worker", cells, None],
        ["checks (test cells against the student's code)", "worker", checks, None],
        ["rest: released files, integrity scan, teardown", "worker",
         graded[0] - start - cells - checks, None],
        ["grade_submission in all", "worker", *graded[:2]],
        ["gradebook write (Writer.record: nbgrader autograde)", "trusted", *written[:2]],
    ]
    wall = prepared[0] + graded[0] + written[0]
    cpu = prepared[1] + graded[1] + written[1]
    table = [[name, where, f"{seconds:.3f}", f"{seconds / wall:.0%}",
              "" if cpu_seconds is None else f"{cpu_seconds:.3f}"]
             for name, where, seconds, cpu_seconds in rows]
    table.append(["one submission (prepare + grade_submission + write)", "", f"{wall:.3f}",
                  "100%", f"{cpu:.3f}"])
    return table


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5,
                        help="repeats of each step of the breakdown (median kept)")
    parser.add_argument("--assignment", default="ch01_definition")
    arguments = parser.parse_args()
    assignment, count = arguments.assignment, arguments.students
    cores = executors.default_jobs()
    load_at_start = load_line()
    warn_if_busy(cores)

    python = sys.executable
    ours = [python, "-m", "softmax_grading", "autograde", assignment, "--force"]
    students = [f"s{index:03d}" for index in range(count)]
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as scratch:
        one_core = {min(os.sched_getaffinity(0))}
        specs = [("plain nbgrader (default preprocessors, no sandbox)",
                  [python, "-m", "nbgrader", "autograde", assignment, "--force"], 1, None, False),
                 ("ours --jobs 1 (sandbox on)", [*ours, "--jobs", "1"], 1, None, False),
                 ("ours --jobs 2 (sandbox on)", [*ours, "--jobs", "2"], 2, None, False),
                 ("ours on Dask, 2 workers (sandbox on)", ours, 2, None, True),
                 ("ours --jobs 1 on one core (sandbox on)", [*ours, "--jobs", "1"], 1, one_core,
                  False)]
        print(f"building {len(specs)} course folders with {count} submissions each ...",
              flush=True)
        candidates = []
        for index, (label, command, workers, cores, on_dask) in enumerate(specs):
            course = make_course(Path(scratch) / f"course{index}", [assignment])
            if index == 0:
                (course.root / "nbgrader_config.py").write_text(PLAIN_CONFIG)
                course = Course(course.root)  # re-read the configuration
            for student in students:
                submit(course, assignment, Student(student))
            candidates.append(Candidate(label, course, command, workers, cores, on_dask))

        print("warm-up: each candidate's start run (untimed) ...", flush=True)
        for candidate in candidates:
            with turn(candidate, students):  # a Dask turn warms its own cluster up
                if not candidate.on_dask:
                    run_candidate(candidate, only(candidate.start_run(students)))

        load_before = load_line()
        machine = []
        for round_index in range(arguments.rounds):
            machine.append(machine_two_core_efficiency())
            print(f"  round {round_index + 1}: the machine itself, one core to two: "
                  f"{machine[-1]:.0%}", flush=True)
            order = candidates if round_index % 2 == 0 else candidates[::-1]
            for candidate in order:
                with turn(candidate, students):
                    first = candidate.start_run(students)
                    start, _ = run_candidate(candidate, only(first))
                    check_full_marks(candidate.course, assignment, first, candidate.label)
                    candidate.start_seconds.append(start)
                    wall, cpu = run_candidate(candidate, [])
                check_full_marks(candidate.course, assignment, students, candidate.label)
                candidate.seconds.append(wall)
                candidate.cpu_seconds.append(cpu)
                print(f"  round {round_index + 1}: {candidate.label}: {wall:.1f} s "
                      f"({wall / count:.2f} s/nb, {cpu / count:.2f} CPU s/nb; start run "
                      f"{start:.1f} s), load {os.getloadavg()[0]:.2f}", flush=True)
        load_after = load_line()

        print(f"breaking one submission down ({arguments.repeats} repeats per step) ...",
              flush=True)
        with nbgrader_set_up_once():  # as the command runs every step
            parts = breakdown(candidates[1].course, assignment, students[0], arguments.repeats)

    plain, serial, parallel, serial_one_core = (candidates[0], candidates[1], candidates[2],
                                                candidates[4])
    per_nb = {id(c): c.best / count for c in candidates}
    added = {id(c): c.per_added_submission(count) for c in candidates}
    rows = []
    for candidate in candidates:
        seconds = per_nb[id(candidate)]
        speedup = per_nb[id(plain)] / seconds
        efficiency = (per_nb[id(serial)] / (candidate.workers * seconds)
                      if candidate.workers > 1 else None)
        added_efficiency = (added[id(serial)] / (candidate.workers * added[id(candidate)])
                            if candidate.workers > 1 else None)
        cpu = candidate.cpu_seconds[candidate.seconds.index(candidate.best)] / count
        rows.append([candidate.label, candidate.workers, f"{candidate.best:.1f}",
                     f"{seconds:.3f}", f"{statistics.median(candidate.seconds) / count:.3f}",
                     f"{cpu:.2f}", f"{speedup:.2f}",
                     "" if efficiency is None else f"{efficiency:.0%}",
                     f"{min(candidate.start_seconds):.1f}", f"{added[id(candidate)]:.3f}",
                     "" if added_efficiency is None else f"{added_efficiency:.0%}"])

    print()
    print(f"Autograding {count} copies of the {assignment} reference solution, best of "
          f"{arguments.rounds} interleaved rounds, on {time.strftime('%Y-%m-%d')}")
    print(machine_info(("nbgrader", "distributed", "numpy")))
    print(code_version())
    print(f"load average at start:  {load_at_start}")
    print(f"load average before timing: {load_before}")
    print(f"load average after timing:  {load_after}")
    print("the machine's own efficiency from one busy core to two (a Python loop, once per "
          f"round): {', '.join(f'{value:.0%}' for value in machine)}")
    print(format_table(["candidate", "workers", "best total s", "s / nb", "median s / nb",
                        "machine CPU s / nb", "throughput vs plain", "per-core efficiency",
                        "start run s", "s per added nb", "efficiency per added nb"], rows))
    for candidate in (parallel, candidates[3]):
        speedup = per_nb[id(plain)] / per_nb[id(candidate)]
        efficiency = per_nb[id(serial)] / (2 * per_nb[id(candidate)])
        added_efficiency = added[id(serial)] / (2 * added[id(candidate)])
        print(f"{candidate.label}: {speedup:.2f}x plain nbgrader's throughput (goal >= "
              f"{THROUGHPUT_GOAL}: {'met' if speedup >= THROUGHPUT_GOAL else 'MISSED'}), "
              f"per-core efficiency {efficiency:.0%} on the class of {count} (goal >= "
              f"{EFFICIENCY_GOAL:.0%}: {'met' if efficiency >= EFFICIENCY_GOAL else 'MISSED'}), "
              f"{added_efficiency:.0%} per added submission")
    for candidate in (parallel, candidates[3]):
        rounds = paired_efficiencies(serial, candidate, count)
        print(f"{candidate.label}, paired with --jobs 1 in each round: per-core efficiency "
              f"{statistics.median(r for r, _ in rounds):.0%} on the class (rounds: "
              f"{', '.join(f'{r:.0%}' for r, _ in rounds)}), "
              f"{statistics.median(a for _, a in rounds):.0%} per added submission (rounds: "
              f"{', '.join(f'{a:.0%}' for _, a in rounds)})")
    cores_efficiency = per_nb[id(serial_one_core)] / (2 * per_nb[id(parallel)])
    cores_added = added[id(serial_one_core)] / (2 * added[id(parallel)])
    print(f"from one core to two ({serial_one_core.label} against {parallel.label}): "
          f"{cores_efficiency:.0%} on the class of {count}, {cores_added:.0%} per added submission")
    print()
    print("One submission's cost (ours, sandbox on), each step timed alone, median of "
          f"{arguments.repeats}:")
    print(format_table(["step", "runs in", "wall s", "share", "machine CPU s"], parts))


if __name__ == "__main__":
    main()
