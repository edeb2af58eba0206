"""``python -m softmax_grading ...`` for the tests, without paying the command's imports each time.

A grading command started with ``subprocess`` spends about 1.5 s of CPU importing nbgrader,
nbconvert, SQLAlchemy and NumPy before it reads its arguments, and the grading tests run about a
hundred commands: two and a half minutes of CPU on a two-core machine whose cores the suite keeps
busy. :func:`run` runs each command in a process of its own all the same, with its own working
directory, environment, stdout and stderr and exit code, and module state as fresh as a new
interpreter's after its imports: the process is forked from a server process that imported the
command's modules once and never ran a command (multiprocessing's ``forkserver``). It runs the
command's ``__main__`` module as ``python -m`` does, and returns what ``subprocess.run`` would.

Tests that start a command and interrupt it, or set its resource limits, use ``subprocess``.
"""

from __future__ import annotations

import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
from pathlib import Path

COMMAND = [sys.executable, "-m", "softmax_grading"]
_FORKSERVER = multiprocessing.get_context("forkserver")
_FORKSERVER.set_forkserver_preload(["softmax_grading.cli"])


def run(arguments: list[str], *, cwd: Path, env: dict | None = None,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """``subprocess.run(COMMAND + arguments, cwd=cwd, env=env, capture_output=True, text=True,
    errors="replace", timeout=timeout)``, in a process forked from the preloaded server."""
    with tempfile.TemporaryDirectory(prefix="command-") as folder:
        stdout, stderr = Path(folder) / "stdout", Path(folder) / "stderr"
        environment = dict(os.environ if env is None else env)
        process = _FORKSERVER.Process(
            target=_command,
            args=(list(arguments), str(cwd), environment, str(stdout), str(stderr)))
        process.start()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(COMMAND + list(arguments), timeout)
        return subprocess.CompletedProcess(
            COMMAND + list(arguments), process.exitcode,
            stdout.read_text(encoding="utf-8", errors="replace"),
            stderr.read_text(encoding="utf-8", errors="replace"))


def _command(arguments: list[str], cwd: str, env: dict, stdout: str, stderr: str) -> None:
    """In the forked process: become ``python -m softmax_grading ARGUMENTS`` run in `cwd`."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    # File descriptors 1 and 2 themselves, so the command's own subprocesses write there too.
    for descriptor, path in ((1, stdout), (2, stderr)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, descriptor)
        os.close(opened)
    sys.argv = ["softmax_grading", *arguments]
    # SystemExit carries the exit code out: multiprocessing makes it the process's exit code,
    # and an uncaught exception is printed to stderr with exit code 1, as Python does.
    runpy.run_module("softmax_grading", run_name="__main__", alter_sys=True)
