"""What a submission's code can and cannot do inside the grading sandbox.

Each test runs cells in a real sandboxed student process (the same
:class:`~softmax_grading.session.Session` the grader uses) and reads what they
printed. None depends on machine speed: limits are CPU time, memory and counts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from softmax_grading import sandbox
from softmax_grading.session import Session, StudentProcessLost

pytestmark = pytest.mark.grading

REPO_ROOT = Path(__file__).resolve().parents[2]


def _limits(**changes) -> dict:
    limits = sandbox.Sandbox().limits()
    limits.update({"cpu_seconds_per_cell": 3.0, "wall_seconds_per_cell": 60.0, **changes})
    return limits


@pytest.fixture()
def release_dir(tmp_path):
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "data.csv").write_text("1,2,3\n")
    folder.chmod(0o755)
    return folder


def _printed(reply: dict) -> str:
    return "".join(o.get("text", "") for o in reply["outputs"] if o["output_type"] == "stream")


def _run(release_dir, source: str, **limits) -> str:
    with Session(release_dir, _limits(**limits), sandboxed=True) as session:
        return _printed(session.run_cell(source))


def test_the_sandbox_is_available_here():
    sandbox.check_available()


def test_no_sandbox_stops_with_instructions(monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: None)
    with pytest.raises(sandbox.SandboxUnavailable) as stop:
        sandbox.check_available()
    message = str(stop.value)
    assert "apt-get install bubblewrap" in message and "--no-sandbox" in message


def test_reads_see_only_the_release_and_the_python_installation(release_dir):
    printed = _run(release_dir, f"""
import os
for path in [{str(REPO_ROOT / 'solutions')!r}, {str(REPO_ROOT / 'nbgrader_config.py')!r},
             {str(REPO_ROOT / 'gradebook.db')!r}, {str(release_dir.parent)!r},
             {str(Path.home() / '.bashrc')!r}, '/etc/passwd', '/etc/shadow']:
    print(path, os.path.exists(path))
print('cwd', sorted(os.listdir('.')))
""")
    assert " True" not in printed, printed
    assert "cwd ['data.csv']" in printed


def test_writes_go_only_to_a_private_scratch_folder(release_dir):
    import softmax_course

    package = Path(softmax_course.__file__).parent
    printed = _run(release_dir, f"""
for path in [{str(package / 'testing.py')!r}, {str(package / 'planted.py')!r}, '/release/x',
             '/usr/lib/planted', 'scratch.txt', '/tmp/scratch.txt']:
    try:
        open(path, 'a').write('x')
        print(path, 'written')
    except OSError as error:
        print(path, 'refused', type(error).__name__)
""")
    assert printed.count("written") == 2, printed
    assert "scratch.txt written" in printed and "/tmp/scratch.txt written" in printed
    assert not (package / "planted.py").exists()


def test_no_network_not_even_the_graders_loopback(release_dir):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        printed = _run(release_dir, f"""
import socket
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=5)
    print('connected')
except OSError as error:
    print('refused', type(error).__name__)
""")
    assert "refused" in printed, printed


def test_memory_is_limited(release_dir):
    printed = _run(release_dir, """
try:
    block = bytearray(3 * 2**30)
    print('allocated')
except MemoryError:
    print('MemoryError')
""", memory_mb=1024)
    assert "MemoryError" in printed, printed


def test_processes_are_limited(release_dir):
    printed = _run(release_dir, """
import os
children = []
try:
    for _ in range(200):
        pid = os.fork()
        if pid == 0:
            import time
            time.sleep(30)
            os._exit(0)
        children.append(pid)
    print('forked', len(children))
except OSError as error:
    print('stopped after', len(children), type(error).__name__)
""", max_processes=16)
    assert "stopped after" in printed, printed


def test_no_process_outlives_its_submission(release_dir):
    marker = f"outlive-{uuid.uuid4().hex}"
    _run(release_dir, f"""
import subprocess
subprocess.Popen(['sh', '-c', 'sleep 300; echo {marker}'], start_new_session=True)
""")
    leftovers = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                command = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in command:
                leftovers.append(entry)
    assert leftovers == []


def test_regression_a_killed_process_tree_has_ended_when_kill_tree_returns():
    """The test above once found the student's `sh` still running in the full suite: SIGKILL
    had been sent, but a process ends only when the kernel next schedules it, and a grandchild
    is not waited for. kill_tree now returns once every process it killed has ended."""
    parent = subprocess.Popen(["sh", "-c", "sleep 300 & echo $!; wait"], stdout=subprocess.PIPE,
                              start_new_session=True)
    grandchild = int(parent.stdout.readline())
    assert sandbox._running(grandchild)
    sandbox.kill_tree(parent)
    assert not sandbox._running(grandchild)


def test_a_zombie_counts_as_ended():
    child = subprocess.Popen(["true"])
    while Path(f"/proc/{child.pid}/stat").read_bytes().split(b") ")[1][:1] != b"Z":
        time.sleep(0.01)  # `true` has exited; it stays a zombie until it is waited for
    try:
        assert not sandbox._running(child.pid)
    finally:
        child.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="a uid of its own is given when grading as root")
def test_student_code_does_not_run_as_root(release_dir):
    printed = _run(release_dir, "import os; print('uid', os.getuid())")
    assert "uid 0" not in printed and "uid " in printed


def test_a_cell_over_its_cpu_time_is_stopped_and_the_next_cell_runs(release_dir):
    with Session(release_dir, _limits(), sandboxed=True) as session:
        session.run_cell("kept = 42")
        reply = session.run_cell("while True:\n    pass")
        assert reply["timed_out"]
        assert "kept 42" in _printed(session.run_cell("print('kept', kept)"))


def test_a_cell_that_swallows_the_timeout_costs_only_that_cell(release_dir):
    from softmax_grading.session import StudentProcessLost

    with Session(release_dir, _limits(cpu_seconds_per_cell=1.0), sandboxed=True) as session:
        session.run_cell("kept = 42")
        with pytest.raises(StudentProcessLost) as lost:
            session.run_cell("import signal\nsignal.signal(signal.SIGPROF, signal.SIG_IGN)\n"
                             "while True:\n    pass")
        assert lost.value.timed_out
        # A fresh process replays the cells that finished; the runaway one is skipped.
        assert "kept 42" in _printed(session.run_cell("print('kept', kept)"))


def test_a_sandbox_that_cannot_start_is_an_error_not_a_zero(release_dir, monkeypatch):
    # A grading worker without a working bwrap must not give every submission 0 with flags:
    # the job fails, and the grader names the submission as not graded.
    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: "/bin/false")
    with Session(release_dir, _limits(), sandboxed=True) as session, \
            pytest.raises(sandbox.SandboxUnavailable, match="could not start"):
        session.run_cell("x = 1")


def test_a_submission_that_sleeps_in_every_cell_stops_at_its_own_wall_clock_budget(release_dir):
    # Each cell has a wall-clock limit, but the number of cells is the student's choice, and a
    # restart replays every cell that ran before it: the submission as a whole has a budget too,
    # after which its cells are stopped without starting a process again. (Wall-clock limits are
    # the point here; each is over ten times what starting a sandbox takes, 0.4 s.)
    limits = _limits(wall_seconds_per_cell=5.0, wall_seconds_per_submission=12.5)
    stopped = []
    with Session(release_dir, limits, sandboxed=True) as session:
        for _ in range(4):
            try:
                session.run_cell("import time\ntime.sleep(10**6)")
            except StudentProcessLost as lost:
                assert lost.timed_out
                stopped.append(str(lost))
    assert len(stopped) == 4
    assert "used up its wall-clock time (12.5 s in all)" in stopped[-1]
    assert "wall-clock limit" in stopped[0]


def test_the_runtime_takes_the_workers_fingerprints_and_leaves_scipy_unimported(release_dir):
    # Each submission would otherwise import scipy.special and fingerprint the course again.
    printed = _run(release_dir, "\n".join([
        "import os, sys",
        "import numpy as np",
        "from softmax_course import testing",
        "print(testing.delegated_calls(lambda z: np.exp(z) / np.exp(z).sum(), np.zeros(2)))",
        "print('scipy.special' in sys.modules, 'SOFTMAX_GRADING_FINGERPRINTS' in os.environ)",
        "print(len(testing._forbidden().fingerprints) > 50)",
    ]))
    assert printed.split("\n")[:3] == ["[]", "False False", "True"], printed


def test_the_students_code_runs_with_the_garbage_collector_on(release_dir):
    # The runtime starts with the collector off (its own start-up makes no garbage): a student
    # whose code made reference cycles would otherwise keep every one of them until the memory
    # limit, and lose marks an IPython kernel would have given.
    printed = _run(release_dir, "import gc\nprint(gc.isenabled(), gc.get_threshold()[0] > 0)")
    assert printed.split() == ["True", "True"]
