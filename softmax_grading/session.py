"""One submission's student process, driven from the grader's side, with time limits that hold.

The student's process (:mod:`softmax_grading.runtime`) enforces a CPU-time
limit on each cell and call itself. This side enforces it again from outside,
where the student's code cannot reach: it measures the CPU time of the whole
sandbox (every process in it) and kills the sandbox when a request runs past
its budget, or when it sleeps past the wall-clock limit. Measuring CPU time
rather than wall time means a busy grading machine does not turn slow cells
into timeouts.

A killed or crashed process costs only the request it was serving: the
session starts a fresh process and replays the cells that had run, skipping
the ones that had to be stopped, so the rest of the notebook is still graded.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from softmax_grading import codec, sandbox
from softmax_grading.runtime import receive, send

POLL_SECONDS = 0.1


class StudentProcessLost(RuntimeError):
    """The student's process was stopped (over its limits) or died while serving a request."""

    def __init__(self, reason: str, *, timed_out: bool) -> None:
        super().__init__(reason)
        self.timed_out = timed_out


@dataclass
class Session:
    """Runs cells and serves calls in a sandboxed student process, restarting it when needed."""

    release_dir: Path
    limits: dict
    sandboxed: bool
    replay: list[str] = field(default_factory=list)  # sources of the cells that ran to the end
    restarts: int = 0
    startup_seconds: float = 0.0

    def __post_init__(self) -> None:
        self._started_at: float | None = None  # the submission's wall-clock time counts from here
        self._last_errors = ""
        self._stack: contextlib.ExitStack | None = None
        self._process = None
        self._replies: queue.Queue = queue.Queue()

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()
        self._stack = self._process = None

    def _remaining_wall_seconds(self) -> float:
        """What is left of the submission's wall-clock time. Each cell has its own limit, but a
        student choosing how many cells sleep, and each restart replaying every cell that ran
        before it, would otherwise keep a worker for hours."""
        budget = self.limits.get("wall_seconds_per_submission", float("inf"))
        if self._started_at is None:
            return budget
        return budget - (time.monotonic() - self._started_at)

    def _ensure_started(self) -> None:
        if self._process is not None:
            return
        if self._started_at is None:
            self._started_at = time.monotonic()
        if self._remaining_wall_seconds() <= 0:
            raise StudentProcessLost("the submission used up its wall-clock time "
                                     f"({self.limits['wall_seconds_per_submission']:g} s in all)",
                                     timed_out=True)
        started = time.perf_counter()
        self._stack = contextlib.ExitStack()
        self._process = self._stack.enter_context(
            sandbox.student_process(self.release_dir, self.limits, sandboxed=self.sandboxed))
        self._replies = queue.Queue()
        threading.Thread(target=self._read_replies, args=(self._process, self._replies),
                         daemon=True).start()
        try:
            # No code of the student's runs before this reply: the process is starting (Python,
            # NumPy, IPython: 0.2 to 0.3 s) and running only the grader's and the course's code,
            # so its CPU time is not watched (the wall-clock limit still holds). Watching it cost
            # two scans of /proc per submission, beside the start.
            self._exchange({"op": "limits", "cpu_seconds": self.limits["cpu_seconds_per_cell"]},
                           watch_cpu=False)
        except StudentProcessLost as lost:
            if self._remaining_wall_seconds() <= 0:  # the submission's time ran out meanwhile
                raise lost from None
            # Nothing of the student's has run yet: the sandbox itself could not start here.
            raise sandbox.SandboxUnavailable(
                f"the sandbox could not start on {socket.gethostname()}: {self._last_errors}"
            ) from None
        for source in self.replay:
            self._exchange({"op": "run_cell", "source": source})
        self.startup_seconds += time.perf_counter() - started

    @staticmethod
    def _read_replies(process, replies: queue.Queue) -> None:
        try:
            while True:
                replies.put(receive(process.stdout))
        except (EOFError, OSError, ValueError) as error:
            replies.put(error)

    def _lose(self, reason: str, *, timed_out: bool) -> StudentProcessLost:
        errors = getattr(self._process, "startup_errors", None)
        if errors is not None:
            errors.seek(0)
            self._last_errors = errors.read(2000).decode(errors="replace").strip() or "no output"
        self.close()
        self.restarts += 1
        return StudentProcessLost(reason, timed_out=timed_out)

    # -- requests -----------------------------------------------------------------------

    def request(self, message: dict) -> dict:
        """Send one request and wait for its reply, within the limits."""
        self._ensure_started()
        return self._exchange(message)

    def _exchange(self, message: dict, *, watch_cpu: bool = True) -> dict:
        process = self._process
        try:
            send(process.stdin, codec.encode(message, callables=True))
        except (BrokenPipeError, OSError):
            raise self._lose("the student's process exited", timed_out=False) from None
        cpu_budget = self.limits["cpu_seconds_per_cell"] * 1.5 + 5.0
        # The process tree's CPU time is read from /proc, which costs as much as a whole
        # request (a scan of every process): it is read only once a reply is late, so most
        # requests never read it. The first poll interval's CPU (at most POLL_SECONDS per
        # core) is then not counted, which the budget's 5 s of slack covers.
        cpu_start = None
        wall_start = time.monotonic()
        wall_limit = min(self.limits["wall_seconds_per_cell"], self._remaining_wall_seconds())
        while True:
            try:
                reply = self._replies.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if watch_cpu:
                    cpu_now = sandbox.tree_cpu_seconds(process.pid)
                    cpu_start = cpu_now if cpu_start is None else cpu_start
                    if cpu_now - cpu_start > cpu_budget:
                        raise self._lose("it kept running past its CPU time limit and was "
                                         "stopped", timed_out=True) from None
                if time.monotonic() - wall_start > wall_limit:
                    raise self._lose("it waited past the wall-clock limit and was stopped",
                                     timed_out=True) from None
                continue
            if isinstance(reply, BaseException):
                raise self._lose("the student's process exited", timed_out=False)
            try:
                return codec.decode(reply)
            except codec.CodecError:
                raise self._lose("the student's process sent a malformed reply",
                                 timed_out=False) from None

    def run_cell(self, source: str) -> dict[str, Any]:
        """Run one cell; on success it is replayed after any restart."""
        reply = self.request({"op": "run_cell", "source": source})
        if not reply.get("timed_out"):
            self.replay.append(source)
        return reply
