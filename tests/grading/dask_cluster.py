"""A real Dask cluster for the tests: a scheduler and worker processes on 127.0.0.1 over TCP.

``dask scheduler`` and ``dask worker --no-nanny`` run as subprocesses sharing a scheduler file,
so a test can kill one worker process and watch the scheduler reschedule its work. Used by
``test_executors.py`` (toy functions) and ``test_parallel.py`` (whole classes graded).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STARTUP_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15


class DaskCluster:
    """``dask scheduler`` and ``dask worker --no-nanny`` subprocesses sharing a scheduler file.

    ``env`` is the environment of every process (the workers must import the function the test
    runs, and start sandboxes with the course's settings). Their temporary files go to a folder
    inside ``directory``: a worker a test kills cannot remove its own, and they must not be
    left in the machine's /tmp.
    """

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.scheduler_file = directory / "scheduler.json"
        temporary = directory / "tmp"
        temporary.mkdir(exist_ok=True)
        self.env = {**env, "TMPDIR": str(temporary)}
        self.workers: list[subprocess.Popen] = []
        self.client = None
        self.scheduler = self._start(
            "scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--dashboard-address", "127.0.0.1:0",  # its HTTP server (/health) runs regardless
            "--scheduler-file", str(self.scheduler_file),
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            try:  # the scheduler writes the file once it listens (not atomically)
                self.address = json.loads(self.scheduler_file.read_text())["address"]
                break
            except (FileNotFoundError, json.JSONDecodeError) as error:
                if self.scheduler.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Dask scheduler did not start:\n{self.logs()}"
                                       ) from error
                time.sleep(0.05)
        from distributed import Client

        self.client = Client(scheduler_file=str(self.scheduler_file), set_as_default=False,
                             timeout=STARTUP_TIMEOUT_SECONDS)

    def _start(self, name: str, *arguments: str) -> subprocess.Popen:
        with open(self.directory / f"{name}.log", "w") as log:
            return subprocess.Popen([sys.executable, "-m", "dask", *arguments],
                                    cwd=self.directory, env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT)

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text()}" for p in self.directory.glob("*.log"))

    def live_workers(self) -> list[subprocess.Popen]:
        return [worker for worker in self.workers if worker.poll() is None]

    def worker_identities(self) -> dict[str, dict]:
        """Address -> what the scheduler knows of that worker, asked of the scheduler now.

        Not ``Client.scheduler_info()``: it fetches into an attribute and then returns the
        attribute, which the client's own refresh (every 2 s, without the workers) can replace
        in between, so it now and then answered that there were no workers.
        """
        return self.client.sync(self.client.scheduler.identity, n_workers=-1)["workers"]

    def worker_names(self) -> set[str]:
        """Names of the workers the scheduler knows."""
        return {str(info["name"]) for info in self.worker_identities().values()}

    def ensure_workers(self, count: int) -> None:
        """Start workers until ``count`` are alive and the scheduler knows exactly those."""
        while len(self.live_workers()) < count:
            name = f"worker-{len(self.workers)}"
            self.workers.append(self._start(
                name, "worker", "--name", name, "--nthreads", "1",
                "--no-nanny", "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                "--host", "127.0.0.1", "--local-directory", str(self.directory),
                "--scheduler-file", str(self.scheduler_file),
            ))
        alive = {f"worker-{i}" for i, w in enumerate(self.workers) if w.poll() is None}
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while self.worker_names() != alive:
            if time.monotonic() > deadline or len(self.live_workers()) < count:
                raise RuntimeError(f"the Dask workers did not register:\n{self.logs()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        processes = [*self.workers, self.scheduler]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_cluster(directory: Path, env: dict[str, str]) -> Iterator[DaskCluster]:
    """A cluster for the duration of a ``with`` block (a module-scoped fixture's body)."""
    cluster = None
    try:
        cluster = DaskCluster(directory, env)
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop()
