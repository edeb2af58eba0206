"""The machinery that runs a job function over many items: local process pool and Dask over TCP.

The job functions here are toys defined in this module: worker processes import them by
module name (the local pool's forked children get this process's ``sys.path``; the Dask
workers get this folder on ``PYTHONPATH``). ``distributed`` is imported only where a test needs
it, so that a local worker importing this module starts fast.

The fault tests kill a worker from inside the job, the first time it sees a marker item, so the
kill always lands while that worker is running an item, however fast or slow the machine is;
the marker file makes the retry succeed.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import multiprocessing
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from dask_cluster import STOP_TIMEOUT_SECONDS, running_cluster

from softmax_grading.executors import (
    WorkerCrashed,
    WorkersNotReady,
    local_cluster,
    run_all,
)
from softmax_grading.one_thread import ONE_BLAS_THREAD
from softmax_grading.progress import Progress

pytestmark = pytest.mark.grading

HERE = Path(__file__).resolve().parent
# Each round asks the scheduler once while the client refreshes every millisecond: with the race,
# a few hundred rounds found an empty answer (checked against the old worker_names).
REFRESH_RACE_ROUNDS = 300


# --- Toy job functions (module level, so they pickle by reference) ----------------------------


def square(x: int) -> int:
    return x * x


def square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def blas_variables_and_threads(x: int) -> tuple[dict[str, str | None], list[int]]:
    """The worker's BLAS thread variables, and the threads of its BLAS libraries."""
    from preload_probe import blas_threads

    return {name: os.environ.get(name) for name in ONE_BLAS_THREAD}, blas_threads(x)


def variable(name: str) -> str | None:
    return os.environ.get(name)


def _record_attempt(log: str) -> None:
    with open(log, "a") as file:
        file.write(f"{os.getpid()}\n")


def fail_on_three(job: tuple[int, str]) -> int:
    """Raises for item 3, after writing one line per attempt to the log file."""
    x, log = job
    if x == 3:
        _record_attempt(log)
        raise ValueError("three is not allowed")
    return x * x


def kill_once(job: tuple[int, str | None]) -> tuple[int, int]:
    """SIGKILLs its own process the first time it runs a marked item; then computes normally."""
    x, marker = job
    if marker is not None and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return x * x, os.getpid()


def kill_always(job: tuple[int, str | None]) -> tuple[int, int]:
    """SIGKILLs its own process every time it runs a marked item (logging each attempt)."""
    x, log = job
    if log is not None:
        _record_attempt(log)
        os.kill(os.getpid(), signal.SIGKILL)
    return x * x, os.getpid()


def square_and_record(job: tuple[int, str]) -> int:
    x, log = job
    _record_attempt(log)
    return x * x


def note_start(job: tuple[int, str]) -> int:
    """Leaves a file named after the item as it starts."""
    x, folder = job
    Path(folder, f"started-{x}").touch()
    return x


def refuse_on(name: str, dask_worker=None) -> None:
    """A worker check that fails on the worker called `name` (as one without bubblewrap would).

    ``Client.run`` passes the worker itself as ``dask_worker``.
    """
    if str(dask_worker.name) == name:
        raise RuntimeError("bubblewrap (bwrap) is not installed")


def accept_every_worker() -> None:
    return None


def die_on(name: str, dask_worker=None) -> None:
    """A worker check during which the worker called `name` is killed (as a node lost mid-check)."""
    if str(dask_worker.name) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def appears(path: Path) -> bool:
    """Whether `path` exists within a minute (only a failing run waits that long)."""
    for _ in range(6000):
        if path.exists():
            return True
        time.sleep(0.01)
    return path.exists()


def items_read_while_the_first_runs(folder: Path, count: int, seen: list[bool]):
    """Yields `count` note_start items; before the second, waits for the first to have started.

    ``seen`` gets whether it had: a runner that read every item before starting any (as
    ``list(items)`` would) leaves this generator waiting, and records False.
    """
    yield (0, str(folder))
    seen.append(appears(folder / "started-0"))
    for x in range(1, count):
        yield (x, str(folder))


# --- Helpers -----------------------------------------------------------------------------------


class Collector:
    """Callbacks that record what run_all reports, and the thread each call came from."""

    def __init__(self) -> None:
        self.results: dict = {}
        self.failures: dict = {}
        self.threads: set[int] = set()

    def on_result(self, item, result) -> None:
        assert item not in self.results and item not in self.failures
        self.threads.add(threading.get_ident())
        self.results[item] = result

    def on_failure(self, item, error: BaseException) -> None:
        assert item not in self.results and item not in self.failures
        self.threads.add(threading.get_ident())
        self.failures[item] = error

    def run(self, function, items, **options) -> Collector:
        run_all(function, items, on_result=self.on_result, on_failure=self.on_failure, **options)
        assert self.threads <= {threading.get_ident()}
        return self


# --- Local process pool ------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2])
def test_local_results_equal_a_serial_run(jobs):
    items = list(range(12))
    outcome = Collector().run(square_and_pid, items, jobs=jobs)
    assert not outcome.failures
    assert {x: r[0] for x, r in outcome.results.items()} == {x: square(x) for x in items}
    pids = {pid for _, pid in outcome.results.values()}
    assert os.getpid() not in pids  # jobs=1 too runs in a worker process
    assert len(pids) <= jobs
    assert not multiprocessing.active_children()  # every worker was shut down


@pytest.mark.parametrize("jobs", [1, 2])
def test_local_workers_run_one_blas_thread_whatever_the_caller_set(monkeypatch, jobs):
    for name in ONE_BLAS_THREAD:
        monkeypatch.setenv(name, "4")
    outcome = Collector().run(blas_variables_and_threads, [1, 2, 3], jobs=jobs)
    assert not outcome.failures
    for variables, threads in outcome.results.values():
        assert variables == ONE_BLAS_THREAD
        assert threads and set(threads) == {1}
    assert {name: os.environ[name] for name in ONE_BLAS_THREAD} == dict.fromkeys(
        ONE_BLAS_THREAD, "4")  # the caller's environment is left as it was


def test_local_workers_see_the_callers_environment_as_it_is_now_not_as_the_server_saw_it(
        monkeypatch):
    Collector().run(square, [1], jobs=1)  # the server runs from here on, if it did not already
    monkeypatch.setenv("SOFTMAX_GRADING_TEST_MARK", "set after the server started")
    outcome = Collector().run(variable, ["SOFTMAX_GRADING_TEST_MARK"], jobs=2)
    assert outcome.results == {"SOFTMAX_GRADING_TEST_MARK": "set after the server started"}


def test_local_exception_goes_to_on_failure_once_and_the_others_complete(tmp_path):
    log = str(tmp_path / "attempts")
    items = [(x, log) for x in range(8)]
    outcome = Collector().run(fail_on_three, items, jobs=2)
    assert set(outcome.failures) == {(3, log)}
    error = outcome.failures[(3, log)]
    assert isinstance(error, ValueError) and "three" in str(error)
    assert "fail_on_three" in str(error.__cause__)  # the worker's traceback comes along
    assert outcome.results == {(x, log): x * x for x in range(8) if x != 3}
    assert len(Path(log).read_text().splitlines()) == 1  # a raising job is not retried


def test_local_killed_worker_its_item_is_graded_on_a_fresh_worker(tmp_path):
    marker = str(tmp_path / "killed-once")
    items = [(x, marker if x == 5 else None) for x in range(10)]
    outcome = Collector().run(kill_once, items, jobs=2)
    assert not outcome.failures
    assert {x: r[0] for (x, _), r in outcome.results.items()} == {x: x * x for x in range(10)}
    killed = int(Path(marker).read_text())
    assert outcome.results[(5, marker)][1] != killed  # finished by another process
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("jobs", [1, 2])
def test_local_item_that_always_kills_its_worker_is_reported_after_bounded_retries(
    tmp_path, jobs
):
    log = str(tmp_path / "attempts")
    items = [(x, log if x == 2 else None) for x in range(6)]
    outcome = Collector().run(kill_always, items, jobs=jobs, crash_retries=1)
    assert set(outcome.failures) == {(2, log)}
    error = outcome.failures[(2, log)]
    assert isinstance(error, WorkerCrashed) and error.attempts == 2
    assert len(Path(log).read_text().splitlines()) == 2  # first try + crash_retries
    assert {x for x, _ in outcome.results} == {0, 1, 3, 4, 5}


def test_local_the_next_item_runs_while_the_caller_handles_the_last(tmp_path):
    # With one worker, item 1 must be running while the callback for item 0 runs: a worker
    # that waited for the caller to record each result would leave this callback waiting.
    seen = []

    def on_result(item, result):
        x, _ = item
        if x == 0:
            seen.append(appears(tmp_path / "started-1"))

    items = [(x, str(tmp_path)) for x in range(3)]
    run_all(note_start, items, jobs=1, on_result=on_result, on_failure=on_result)
    assert seen == [True]
    assert {path.name for path in tmp_path.iterdir()} == {"started-0", "started-1", "started-2"}


@pytest.mark.parametrize("jobs", [1, 2])
def test_local_items_are_read_as_the_workers_need_them(tmp_path, jobs):
    seen: list[bool] = []
    outcome = Collector().run(note_start, items_read_while_the_first_runs(tmp_path, 4, seen),
                              jobs=jobs)
    assert seen == [True]
    assert sorted(x for x, _ in outcome.results) == [0, 1, 2, 3] and not outcome.failures


# The server local workers are forked from is one per process, and this one's may be running
# already: each preload test runs in a new interpreter. It prints the server's children before
# any run (the server itself, if started), then each job's result.
PRELOADED_RUN = """
import json, sys
import psutil
from softmax_grading import executors
module, start_now, function = sys.argv[1], sys.argv[2] == "now", sys.argv[3]
executors.preload_local_workers(module, start_now=start_now)
started = [child.pid for child in psutil.Process().children()]
import preload_probe
results = []
executors.run_all(getattr(preload_probe, function), range(4), jobs=2,
                  on_result=lambda item, result: results.append(result),
                  on_failure=lambda item, error: results.append(repr(error)))
print(json.dumps({"started": started, "results": results}))
"""


def preloaded_run(module: str, start: str, function: str = "where_imported",
                  env: dict | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", PRELOADED_RUN, module, start, function],
                          cwd=HERE, env={**os.environ, "PYTHONPATH": str(HERE), **(env or {})},
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("start", ["now", "later"])
def test_preloaded_module_is_imported_once_in_the_server_the_workers_are_forked_from(start):
    outcome = preloaded_run("preload_probe", start)
    imported_in = {where for where, _ in outcome["results"]}
    workers = {worker for _, worker in outcome["results"]}
    assert len(outcome["results"]) == 4 and len(workers) == 2
    assert len(imported_in) == 1 and not imported_in & workers  # not by the workers themselves
    # Started now, the server is running before any run; otherwise it starts with the first.
    # (Another child may be there too: multiprocessing's resource tracker.)
    assert (imported_in <= set(outcome["started"])) == (start == "now")


def test_a_preload_module_that_cannot_be_imported_leaves_each_worker_to_import_its_own():
    outcome = preloaded_run("no_such_module_anywhere", "now")
    assert len(outcome["results"]) == 4
    assert all(imported_in == worker for imported_in, worker in outcome["results"])


def test_workers_forked_from_a_server_with_numpy_loaded_run_one_blas_thread():
    # The server imported NumPy under the caller's environment, which asked for 4 threads.
    outcome = preloaded_run("numpy", "now", "blas_threads", env=dict.fromkeys(ONE_BLAS_THREAD,
                                                                                "4"))
    assert len(outcome["results"]) == 4
    assert all(threads and set(threads) == {1} for threads in outcome["results"])


def test_local_callback_error_stops_the_run_and_its_workers():
    def on_result(item, result):
        raise RuntimeError("the gradebook is full")

    with pytest.raises(RuntimeError, match="gradebook"):
        run_all(square, range(6), jobs=2, on_result=on_result, on_failure=on_result)
    assert not multiprocessing.active_children()


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="jobs"):
        run_all(square, [1], jobs=0, on_result=print, on_failure=print)
    with pytest.raises(ValueError, match="jobs"):
        run_all(square, [1], jobs=2, scheduler="tcp://127.0.0.1:1", on_result=print,
                on_failure=print)
    with pytest.raises(FileNotFoundError, match="tcp://"):
        run_all(square, [1], scheduler=str(tmp_path / "missing.json"), on_result=print,
                on_failure=print)
    run_all(square, [], on_result=print, on_failure=print)  # nothing to do, nothing started
    # No items: no scheduler is contacted, so even a missing scheduler file is no error.
    run_all(square, iter([]), scheduler=str(tmp_path / "missing.json"), on_result=print,
            on_failure=print)


# --- Dask: a real scheduler and worker processes on 127.0.0.1 over TCP -----------------------


def _worker_environment() -> dict[str, str]:
    """The workers import this module's toy functions."""
    python_path = [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(python_path)}


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("dask"), _worker_environment()) as cluster:
        yield cluster


@pytest.fixture
def dask(dask_cluster):
    """The module's cluster with two live worker processes (a test may kill one)."""
    dask_cluster.ensure_workers(2)
    return dask_cluster


def test_dask_runs_on_separate_worker_processes_over_tcp(dask):
    workers = dask.worker_identities()
    assert len(workers) == 2
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
    pids = set(dask.client.run(os.getpid).values())
    assert pids == {w.pid for w in dask.live_workers()}  # our subprocesses
    assert len(pids) == 2 and os.getpid() not in pids

    items = list(range(12))
    outcome = Collector().run(square_and_pid, items, scheduler=str(dask.scheduler_file))
    assert not outcome.failures
    assert {x: r[0] for x, r in outcome.results.items()} == {x: square(x) for x in items}
    assert {pid for _, pid in outcome.results.values()} <= pids


def test_dask_by_address_exception_goes_to_on_failure(dask, tmp_path):
    assert dask.address.startswith("tcp://127.0.0.1:")
    log = str(tmp_path / "attempts")
    items = [(x, log) for x in range(8)]
    outcome = Collector().run(fail_on_three, items, scheduler=dask.address)
    assert set(outcome.failures) == {(3, log)}
    assert isinstance(outcome.failures[(3, log)], ValueError)
    assert outcome.results == {(x, log): x * x for x in range(8) if x != 3}
    assert len(Path(log).read_text().splitlines()) == 1


def test_dask_items_are_read_as_the_workers_need_them(dask, tmp_path):
    seen: list[bool] = []
    outcome = Collector().run(note_start, items_read_while_the_first_runs(tmp_path, 4, seen),
                              scheduler=dask.address)
    assert seen == [True]
    assert sorted(x for x, _ in outcome.results) == [0, 1, 2, 3] and not outcome.failures


def test_dask_killed_worker_its_items_complete_on_the_other(dask, tmp_path):
    marker = str(tmp_path / "killed-once")
    items = [(x, marker if x == 4 else None) for x in range(10)]
    outcome = Collector().run(kill_once, items, scheduler=dask.address)
    assert not outcome.failures
    assert {x: r[0] for (x, _), r in outcome.results.items()} == {x: x * x for x in range(10)}

    killed = int(Path(marker).read_text())
    victim = next(w for w in dask.workers if w.pid == killed)
    assert victim.wait(timeout=STOP_TIMEOUT_SECONDS) == -signal.SIGKILL
    survivor = outcome.results[(4, marker)][1]
    assert survivor != killed
    assert survivor in {w.pid for w in dask.live_workers()}


def test_dask_worker_that_fails_the_check_stops_the_run_before_anything_runs(dask, tmp_path):
    log = tmp_path / "attempts"
    items = [(x, str(log)) for x in range(6)]
    collector = Collector()
    with pytest.raises(WorkersNotReady) as refused:
        collector.run(square_and_record, items, scheduler=dask.address,
                      worker_check=functools.partial(refuse_on, min(dask.worker_names())))
    message = str(refused.value)
    assert "1 of 2 Dask workers" in message and "bubblewrap (bwrap) is not installed" in message
    assert not log.exists() and not collector.results and not collector.failures

    outcome = Collector().run(square_and_record, items, scheduler=dask.address,
                              worker_check=accept_every_worker)
    assert outcome.results == {item: item[0] ** 2 for item in items}


def test_dask_worker_lost_during_the_check_does_not_stop_the_run(dask, tmp_path):
    """Regression: a worker killed while the check ran stopped the whole class
    (CommClosedError counted as a failed check); only a worker that answers "no" should."""
    items = [(x, str(tmp_path / "attempts")) for x in range(6)]
    outcome = Collector().run(square_and_record, items, scheduler=dask.address,
                              worker_check=functools.partial(die_on, min(dask.worker_names())))
    assert not outcome.failures
    assert outcome.results == {item: item[0] ** 2 for item in items}
    assert len(dask.live_workers()) == 1


def test_regression_the_workers_named_survive_the_clients_own_refresh(dask):
    """``min(dask.worker_names())`` once failed on an empty set: ``Client.scheduler_info()``
    returned an attribute that the client's periodic refresh, which leaves the workers out, had
    just replaced. Here that refresh runs every millisecond."""
    from dask import config as dask_config
    from distributed import Client

    with dask_config.set({"distributed.client.scheduler-info-interval": "1ms"}):
        refreshing = Client(scheduler_file=str(dask.scheduler_file), set_as_default=False)
    try:
        cluster = copy.copy(dask)
        cluster.client = refreshing
        for _ in range(REFRESH_RACE_ROUNDS):
            assert len(cluster.worker_names()) == 2
    finally:
        refreshing.close()


def test_dask_item_that_kills_its_workers_is_reported_as_killed_worker(tmp_path):
    """Past the scheduler's allowed-failures, Dask gives the item up: on_failure, KilledWorker."""
    from distributed import KilledWorker

    env = {**_worker_environment(), "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    with running_cluster(tmp_path, env) as cluster:
        cluster.ensure_workers(2)
        log = str(tmp_path / "attempts")
        outcome = Collector().run(kill_always, [(1, log)], scheduler=cluster.address)
    assert set(outcome.failures) == {(1, log)}
    assert isinstance(outcome.failures[(1, log)], KilledWorker)
    assert len(Path(log).read_text().splitlines()) == 1


def test_local_cluster_helper_starts_worker_processes_over_tcp():
    from distributed import Client

    with local_cluster(2) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        outcome = Collector().run(square_and_pid, range(6), scheduler=cluster.scheduler_address)
        with Client(cluster, set_as_default=False) as client:
            pids = set(client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids
    assert {x: r[0] for x, r in outcome.results.items()} == {x: x * x for x in range(6)}
    assert {pid for _, pid in outcome.results.values()} <= pids


# --- Progress ----------------------------------------------------------------------------------


def test_progress_is_quiet_off_a_terminal_then_prints_one_summary(capsys):
    with Progress(3, "grading", unit="submission") as progress:  # the captured, non-tty stderr
        progress.advance()
        progress.advance(failed=True)
        assert capsys.readouterr().err == ""
        progress.advance()
    err = capsys.readouterr().err
    assert "\r" not in err and err.count("\n") == 1
    assert err.startswith("grading: 3/3 done, 1 failed, in ")
    assert "submission/s" in err


def test_progress_draws_a_bar_on_a_real_terminal():
    controller, terminal = pty.openpty()  # reports a width of 0: the bar must still show
    try:
        with open(terminal, "w", closefd=False) as stream:
            with Progress(2, "grading", file=stream) as progress:
                assert progress.live
                progress.advance()
                progress.advance(failed=True)
        output = b""
        while select.select([controller], [], [], 5)[0]:
            chunk = os.read(controller, 65536)
            output += chunk
            if b"2/2" in output and output.endswith(b"\n"):
                break
    finally:
        os.close(terminal)
        os.close(controller)
    assert b"\r" in output and b"2/2" in output and b"1 failed" in output


def test_progress_draws_a_bar_when_forced():
    stream = io.StringIO()
    with Progress(4, "grading", file=stream, live=True) as progress:
        for failed in (False, True, True, False):
            progress.advance(failed=failed)
        progress.note("one line for the log")
    text = stream.getvalue()
    assert "\r" in text
    final = text.rsplit("\r", 1)[-1]
    assert "grading" in final and "4/4" in final and "2 failed" in final
    assert "one line for the log" in text


def test_progress_total_shrinks_for_items_left_out():
    stream = io.StringIO()
    with Progress(4, "grading", file=stream) as progress:
        progress.leave_out()  # found graded already
        progress.advance()
        progress.advance(failed=True)
        progress.leave_out()  # refused before it started
    assert stream.getvalue().startswith("grading: 2/2 done, 1 failed, in ")
