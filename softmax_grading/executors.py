"""Run one function over many items concurrently, on local worker processes or a Dask cluster.

The grader's unit of work is a picklable job and a module-level function that turns a job into
a picklable result record (``softmax_grading.grade_one.grade_submission``). This module only
knows "call ``function(item)`` somewhere else and bring back the result", so it is tested with
toy functions. Its one entry point is :func:`run_all`::

    run_all(grade_submission, jobs_to_grade,
            on_result=gradebook_writer.record,       # called as on_result(job, result)
            on_failure=gradebook_writer.record_error)  # called as on_failure(job, exception)

Results come back as DATA: the callbacks run in the calling thread, one at a time, in the order
the items finish, so the single trusted writer (which is not thread-safe) consumes them while
the workers never touch the gradebook.

``items`` is read lazily, in the calling thread, as the work goes: an item is read when a worker
can take it, and locally up to ``jobs`` more are read ahead while the workers run. A generator
that does work per item (the grader sanitizes each submission) therefore overlaps the grading
of the items before it, instead of keeping every worker waiting until the last item is ready.

Where the work runs:

* ``scheduler=None`` (the default): a local pool of ``jobs`` worker processes (default: the
  cores this process may use), started with multiprocessing's ``forkserver`` method: each is
  forked from a server process that never ran a job, which is safe when the caller has threads
  (as ``spawn`` is), and a worker gets, as spawn's would, the caller's ``sys.path``, main
  module and environment (as they are when its pool is made). :func:`preload_local_workers`
  makes that server import the job's modules once, so a worker is ready at once instead of
  importing them itself (about 0.4 s of CPU each, on every ``--jobs 2`` command and every
  replaced worker). ``jobs=1`` is the same machinery with one worker process, so a crash is
  contained exactly as with many workers. Each worker process is one core's: its BLAS
  libraries run one thread (:mod:`softmax_grading.one_thread`), whatever this process's
  environment says.
* ``scheduler="tcp://host:8786"`` (any string containing ``://``): a running Dask scheduler at
  that address. Any other string is the path of a Dask scheduler file (the JSON file written by
  ``dask scheduler --scheduler-file PATH``). The workers must be able to import ``function``'s
  module (the course package installed on them).

No job is lost to a dying worker:

* Local pool: every worker slot is its own single-process ``ProcessPoolExecutor``. When a worker
  process dies (killed, out of memory, segfault, ``os._exit``), only its pool breaks
  (``BrokenProcessPool``): the item it was running is charged one crash and queued again on a
  fresh pool, and the items running on the other workers are not disturbed. Because a pool runs
  one item at a time, a crash is charged to the one item that was running, never to a bystander.
  An item that has crashed its worker ``1 + crash_retries`` times is reported to ``on_failure``
  as :class:`WorkerCrashed`; every other item still completes.
* Dask: the scheduler notices a dead worker (its TCP connection closes) and reschedules that
  worker's tasks on the surviving workers. A task that was assigned to more than
  ``distributed.scheduler.allowed-failures`` dying workers (a scheduler setting, 3 by default;
  Dask counts every task assigned to a dying worker, not only the one it was running) is given
  up and arrives at ``on_failure`` as ``distributed.KilledWorker``.

So an item may be started more than once (its worker died while running it; on Dask also when
the worker holding its finished result died before the result was fetched): ``function`` must be
safe to repeat, e.g. work in a fresh sandbox and return its record instead of writing anywhere.

An exception raised by ``function`` itself is not retried anywhere: it goes to ``on_failure``
(for the local pool with the worker's traceback text as its ``__cause__``; from Dask with the
remote traceback attached).

If a callback raises (or the caller is interrupted), :func:`run_all` stops: the local worker
processes are terminated, outstanding Dask tasks are released, and the exception propagates.

A worker imports the caller's main module again (as with ``spawn``), so a script that calls
:func:`run_all` must do so under ``if __name__ == "__main__":`` (``python -m softmax_grading``
is fine as it is).
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.forkserver
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from softmax_grading.one_thread import use_one_blas_thread

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

__all__ = ["WorkerCrashed", "default_jobs", "local_cluster", "preload_local_workers", "run_all"]

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Times an item whose worker process died is run again, on a fresh worker, before it is
#: reported as :class:`WorkerCrashed` (local pool only; Dask uses its own allowed-failures).
DEFAULT_CRASH_RETRIES = 2
_END = object()  # what next() gives for an exhausted source of items


class WorkerCrashed(RuntimeError):
    """The worker process running an item died, on every attempt (local pool).

    ``attempts`` is how many times the item was started; ``__cause__`` is the last
    ``BrokenProcessPool`` error.
    """

    def __init__(self, attempts: int) -> None:
        super().__init__(
            f"the worker process died while running this item, on each of {attempts} "
            f"attempt{'s' if attempts != 1 else ''} (killed, out of memory, crashed or exited)"
        )
        self.attempts = attempts


class WorkersNotReady(RuntimeError):
    """A Dask worker failed ``worker_check`` (or there are none): nothing was sent to grade."""


def default_jobs() -> int:
    """The number of cores this process may run on: the local pool's default size."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_all(
    function: Callable[[Item], Result],
    items: Iterable[Item],
    *,
    on_result: Callable[[Item, Result], object],
    on_failure: Callable[[Item, BaseException], object],
    jobs: int | None = None,
    scheduler: str | None = None,
    crash_retries: int = DEFAULT_CRASH_RETRIES,
    worker_check: Callable[[], object] | None = None,
) -> None:
    """Call ``function(item)`` for every item concurrently; hand each outcome to a callback.

    ``function`` must be a picklable module-level function and every item picklable; results
    and exceptions travel back by pickle too. For each item exactly one of
    ``on_result(item, result)`` and ``on_failure(item, exception)`` is called, in the calling
    thread, one call at a time, in completion order; ``item`` is the caller's own object.
    A local worker that has finished is given its next item before the callbacks for what it
    returned run, so it does not wait while the caller records a result.
    Returns when every item has been reported.

    ``jobs``: number of local worker processes (default :func:`default_jobs`; at most one per
    item). ``scheduler``: run on a Dask cluster instead; a string containing ``://`` is a
    scheduler address (``tcp://host:8786``), any other string the path of a scheduler file.
    ``jobs`` is then not allowed (the cluster's workers set the concurrency).
    ``crash_retries``: local pool only, how many times an item whose worker process died is
    run again on a fresh worker before it is reported as :class:`WorkerCrashed`.
    ``worker_check``: Dask only, a picklable function run once on every worker the scheduler
    knows before any item is sent; if it raises on any worker, :class:`WorkersNotReady` is raised
    naming each such worker and its error, and nothing runs (so a worker without bubblewrap
    cannot turn a whole class into "not graded"). Local workers are this machine, which the
    caller checks itself.

    An item whose worker dies is run again (see the module docstring), so ``function`` must be
    safe to repeat. An exception from ``function`` goes to ``on_failure`` and is not retried.
    An exception from a callback stops the run (workers terminated, pending work dropped) and
    propagates.
    """
    if crash_retries < 0:
        raise ValueError(f"crash_retries must be >= 0, not {crash_retries}")
    if scheduler is not None:
        if jobs is not None:
            raise ValueError(
                "jobs sizes the local pool; with a Dask scheduler the cluster's workers "
                "set the concurrency"
            )
        source = _unless_empty(items)
        if source is not None:  # no cluster is contacted for nothing
            _run_on_dask(function, source, scheduler, on_result, on_failure, worker_check)
        return
    if jobs is None:
        jobs = default_jobs()
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, not {jobs}")
    # A lane's worker process starts with the lane's first item: never more than the items.
    _run_locally(function, iter(items), jobs, crash_retries, on_result, on_failure)


def _unless_empty(items: Iterable[Item]) -> Iterator[Item] | None:
    """The items as an iterator, or None when there are none (the first one is read to know)."""
    iterator = iter(items)
    for first in iterator:
        return itertools.chain([first], iterator)
    return None


# --- Local pool --------------------------------------------------------------------------------


def preload_local_workers(module: str, *, start_now: bool = True) -> None:
    """Have this process's local workers forked from a server that imported ``module`` once.

    Importing ``module`` should do what every worker does before its first job (import the
    job's function, build its first-time tables); each worker then starts ready, in a fork,
    instead of doing it again. An ImportError in ``module`` is ignored there (each worker then
    imports what its job needs itself); ``module`` should catch any other error, which would
    stop the server and every local worker with it.

    With ``start_now`` the server starts now and imports ``module`` on another core while
    this process goes on (a command's own imports take a second); otherwise it starts with
    the first worker. The server is one per process and lives as long as it: once it has
    started, a later call changes nothing.
    """
    multiprocessing.set_forkserver_preload([module])
    if start_now:
        multiprocessing.forkserver.ensure_running()


def _new_pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=1,
                               mp_context=multiprocessing.get_context("forkserver"),
                               initializer=_start_worker, initargs=(dict(os.environ),))


def _start_worker(environment: dict[str, str]) -> None:
    # A fork of the server has the environment this process had when the server started: it
    # takes this process's environment as it was when the pool was made, as a spawned worker
    # would. A lane is one core: its process runs one BLAS thread (softmax_grading/one_thread.py).
    os.environ.clear()
    os.environ.update(environment)
    use_one_blas_thread()


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now, killing the item it is running (used when the run is abandoned)."""
    terminate_workers = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate_workers is not None:
        terminate_workers()
        return
    # Python < 3.14 has no public way to stop a running worker: end the pool's processes
    # ourselves (the pool notices, marks itself broken and cleans up).
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _run_locally(
    function: Callable[[Item], Result],
    source: Iterator[Item],
    jobs: int,
    crash_retries: int,
    on_result: Callable[[Item, Result], object],
    on_failure: Callable[[Item, BaseException], object],
) -> None:
    # One single-process pool per worker slot ("lane"; None until its worker starts): a dying
    # worker breaks only its own pool, so the item to blame is known and the other lanes keep
    # running.
    lanes: list[ProcessPoolExecutor | None] = [None] * jobs
    idle = list(range(jobs - 1, -1, -1))  # lane 0 is taken first
    items: list[Item | None] = []  # every item read so far, by index (None once reported)
    crashes: list[int] = []
    pending: deque[int] = deque()  # read, not running
    running: dict[Future, tuple[int, int]] = {}  # future -> (lane, item index)
    exhausted = False

    def read_ahead(count: int) -> None:
        """Read items from the source until `count` are waiting, or the source ends."""
        nonlocal exhausted
        while not exhausted and len(pending) < count:
            item = next(source, _END)
            if item is _END:
                exhausted = True
                return
            items.append(item)
            crashes.append(0)
            pending.append(len(items) - 1)

    def submit(lane: int, index: int) -> Future:
        pool = lanes[lane]
        if pool is not None:
            try:
                return pool.submit(function, items[index])
            except BrokenProcessPool:
                # Its worker died while idle: not this item's fault.
                pool.shutdown(wait=True)
        lanes[lane] = pool = _new_pool()
        return pool.submit(function, items[index])

    def refill() -> None:
        # One item read at a time: lane 0's worker starts while lane 1's item is being read.
        while idle:
            read_ahead(1)
            if not pending:
                return
            lane, index = idle.pop(), pending.popleft()
            running[submit(lane, index)] = (lane, index)

    try:
        while True:
            refill()
            read_ahead(jobs)  # the next items are read (prepared) while the lanes work
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            outcomes = []  # (index, error or None, result), reported once the lanes are busy
            for future in done:
                lane, index = running.pop(future)
                idle.append(lane)
                error = future.exception()
                if isinstance(error, BrokenProcessPool):
                    broken = lanes[lane]
                    lanes[lane] = None
                    if broken is not None:
                        broken.shutdown(wait=True)
                    crashes[index] += 1
                    if crashes[index] <= crash_retries:
                        pending.appendleft(index)
                        continue
                    error = WorkerCrashed(crashes[index])
                    error.__cause__ = future.exception()
                outcomes.append((index, error, None if error is not None else future.result()))
            # The freed lanes get their next items before the callbacks run, so a worker does
            # not wait while the caller records the result it just returned.
            refill()
            for index, error, result in outcomes:
                item, items[index] = items[index], None  # reported: not kept for the whole run
                if error is not None:
                    on_failure(item, error)
                else:
                    on_result(item, result)
    except BaseException:
        for pool in lanes:
            if pool is not None:
                _terminate(pool)
        raise
    finally:
        for pool in lanes:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


# --- Dask --------------------------------------------------------------------------------------


def _connect(scheduler: str) -> Client:
    from distributed import Client

    if "://" in scheduler:
        return Client(scheduler, set_as_default=False)
    path = Path(scheduler)
    if not path.is_file():
        raise FileNotFoundError(
            f"no Dask scheduler file at {scheduler!r} (a scheduler address needs its "
            "protocol, e.g. tcp://host:8786)"
        )
    return Client(scheduler_file=str(path), set_as_default=False)


def _run_on_dask(
    function: Callable[[Item], Result],
    source: Iterator[Item],
    scheduler: str,
    on_result: Callable[[Item, Result], object],
    on_failure: Callable[[Item, BaseException], object],
    worker_check: Callable[[], object] | None,
) -> None:
    from distributed import as_completed

    prefix = getattr(function, "__name__", "job")
    item_of: dict[str, Item] = {}  # task key -> the caller's item
    futures = []

    def report(future) -> None:
        item = item_of.pop(future.key)
        if future.status == "error":  # raised by function, or KilledWorker
            error = future.exception()
            on_failure(item, error.with_traceback(future.traceback()))
            return
        try:
            result = future.result()
        except Exception as error:  # cancelled, lost, or result cannot be unpickled
            on_failure(item, error)
        else:
            on_result(item, result)
        future.release()  # the scheduler may forget it (and its result) now

    with _connect(scheduler) as client:
        if worker_check is not None:
            _check_workers(client, worker_check)
        finished = as_completed(loop=client.loop)
        try:
            for item in source:
                key = f"{prefix}-{uuid.uuid4().hex}"
                item_of[key] = item
                future = client.submit(function, item, key=key, pure=False)
                futures.append(future)
                finished.add(future)
                # What finished while this item was read is reported before the next is read.
                for done in finished.next_batch(block=False):
                    report(done)
            for done in finished:
                report(done)
        finally:
            client.cancel([future for future in futures if not future.done()])


def _check_workers(client: Client, worker_check: Callable[[], object]) -> None:
    from distributed.comm.core import CommClosedError

    outcomes = client.run(worker_check, on_error="return")  # {worker address: result or error}
    # A worker that died or left while the check ran is not misconfigured, just gone: the
    # scheduler will not send it work (and a replacement grades with the sandbox flag as set,
    # which fails its items, by name, if it cannot start one). Only a worker that answered
    # with the check's own error stops the run.
    answered = {address: outcome for address, outcome in outcomes.items()
                if not isinstance(outcome, CommClosedError)}
    if not answered:
        raise WorkersNotReady("the Dask scheduler has no workers: start some, then run again")
    failed = {address: outcome for address, outcome in answered.items()
              if isinstance(outcome, BaseException)}
    if failed:
        lines = [f"  {address}: {type(error).__name__}: {error}"
                 for address, error in sorted(failed.items())]
        raise WorkersNotReady(f"{len(failed)} of {len(answered)} Dask workers failed the check "
                              "before grading; nothing was graded:\n" + "\n".join(lines))


def local_cluster(n_workers: int = 2) -> LocalCluster:
    """Start a Dask cluster on this machine for tests and benchmarks.

    ``n_workers`` single-threaded worker processes (each under a nanny process) and a
    scheduler, all on 127.0.0.1 over TCP (free ports), no dashboard. Use it as a context
    manager and pass its ``scheduler_address`` as :func:`run_all`'s ``scheduler``::

        with local_cluster(2) as cluster:
            run_all(function, items, scheduler=cluster.scheduler_address, ...)
    """
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        protocol="tcp://",
        dashboard_address=None,
        # The scheduler serves HTTP (/health, metrics) even without a dashboard: keep it local
        # too, on a free port.
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )
