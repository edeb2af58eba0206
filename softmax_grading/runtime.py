"""The student's side of grading: runs inside the sandbox, executes the student's cells, answers.

``python -I -m softmax_grading.runtime <released files>`` is started by the
grader inside the sandbox. It copies the assignment's released files into its
scratch working directory, then reads requests on stdin and writes replies on
stdout, one length-prefixed frame each (:mod:`softmax_grading.codec`):

``run_cell``
    run one cell's source in an IPython shell, reply with its outputs;
``describe``
    say what the student's names are: a function, a plain value, or neither;
``call``
    call a student's function with arguments from a test (or measure its
    delegation or memory, through the course's checks) and reply with the
    result as plain data, the warnings it raised, and the arrays it changed;
``scan``
    report the tampering :mod:`softmax_grading.integrity` finds.

The test cells never run here: they run in the grader's checker, which sees
only the data this process sends. Nothing this process prints or returns can
be taken as a score.
"""

from __future__ import annotations

import copy
import functools
import gc
import json
import os
import shutil
import signal
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO

from softmax_grading import codec

FRAME_HEADER = struct.Struct(">Q")
# The fingerprints of the forbidden functions (softmax_course.testing), computed once by the
# worker that starts this process and handed in through the environment: each submission then
# skips importing scipy.special and fingerprinting the course (0.2 s of its delegation checks).
FINGERPRINTS_VARIABLE = "SOFTMAX_GRADING_FINGERPRINTS"
_GRADER_FOLDER = os.path.dirname(os.path.abspath(__file__))
MAX_OUTPUT_BYTES_PER_CELL = 1_000_000


def send(stream: BinaryIO, payload: bytes) -> None:
    stream.write(FRAME_HEADER.pack(len(payload)) + payload)
    stream.flush()


def receive(stream: BinaryIO, limit: int = codec.MAX_BYTES) -> bytes:
    """One frame; EOFError when the other side has gone, CodecError when it is not a frame."""
    header = stream.read(FRAME_HEADER.size)
    if len(header) < FRAME_HEADER.size:
        raise EOFError("the other side closed the channel")
    (size,) = FRAME_HEADER.unpack(header)
    if size > limit:
        raise codec.CodecError(f"a frame of {size} bytes is larger than the limit")
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("the other side closed the channel mid-frame")
    return payload


class CellTimeout(BaseException):
    """Raised when a cell or call uses up its CPU time."""


class _Outputs:
    """The outputs of the cell that is running, in notebook format, bounded in bytes."""

    def __init__(self) -> None:
        self.items: list[dict] = []
        self.size = 0
        self.truncated = False

    def add(self, output: dict, size: int) -> None:
        if self.size + size > MAX_OUTPUT_BYTES_PER_CELL:
            if not self.truncated:
                self.truncated = True
                self.items.append({"output_type": "stream", "name": "stderr",
                                   "text": "[output cut: this cell printed too much]\n"})
            return
        self.size += size
        self.items.append(output)

    def stream(self, name: str, text: str) -> None:
        if self.items and self.items[-1].get("output_type") == "stream" and \
                self.items[-1].get("name") == name and not self.truncated:
            if self.size + len(text) <= MAX_OUTPUT_BYTES_PER_CELL:
                self.items[-1]["text"] += text
                self.size += len(text)
                return
        self.add({"output_type": "stream", "name": name, "text": text}, len(text))


OUTPUTS = _Outputs()


class _Stream:
    """sys.stdout / sys.stderr for student code: text goes into the cell's outputs."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        OUTPUTS.stream(self.name, text)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("this stream has no file descriptor")


def _make_shell():
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    def _size(data: dict) -> int:
        return sum(len(value) if isinstance(value, str) else len(str(value))
                   for value in data.values())

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False,
                    **kwargs):
            OUTPUTS.add({"output_type": "display_data", "data": dict(data),
                         "metadata": dict(metadata or {})}, _size(data))

        def clear_output(self, wait=False):
            OUTPUTS.items.clear()
            OUTPUTS.size = 0

    class ResultHook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            OUTPUTS.add({"output_type": "execute_result", "data": dict(format_dict),
                         "metadata": dict(md_dict or {}),
                         "execution_count": self.shell.execution_count}, _size(format_dict))

    class GradingShell(InteractiveShell):
        def init_completer(self):
            # Nothing asks a grading shell to complete names, and IPython's completer took
            # 30 ms of every submission's start (importing it and building its tables).
            pass

        def enable_gui(self, gui=None):
            # `%matplotlib inline` asks for no event loop; there is no GUI to start here.
            pass

        def _showtraceback(self, etype, evalue, stb):
            # The grader's own frames (the CPU-time signal handler) are not the student's code.
            stb = [frame for frame in stb if _GRADER_FOLDER not in frame]
            text = "\n".join(stb)
            OUTPUTS.add({"output_type": "error", "ename": getattr(etype, "__name__", str(etype)),
                         "evalue": str(evalue)[:2000], "traceback": stb[-20:]}, len(text))

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    return GradingShell.instance(config=config, displayhook_class=ResultHook,
                                 display_pub_class=Publisher)


def _on_cpu_limit(signum, frame):
    raise CellTimeout("this cell used up its CPU time")


class Runtime:
    """Serves the grader's requests for one submission."""

    def __init__(self, release: Path) -> None:
        for item in release.iterdir():
            if item.suffix == ".ipynb":
                continue
            target = Path.cwd() / item.name
            if item.is_dir():
                shutil.copytree(item, target)
            else:
                shutil.copy(item, target)
        sys.path.insert(0, os.getcwd())
        import numpy as np  # noqa: F401 -- loaded before the snapshot, as a kernel would

        import softmax_course
        from softmax_course import testing
        from softmax_grading import integrity

        fingerprints = os.environ.pop(FINGERPRINTS_VARIABLE, None)
        if fingerprints:
            testing._use_precomputed_fingerprints(json.loads(fingerprints))
        self.testing = testing
        self.quiet = testing.quiet
        # The measuring code itself, taken before any student code runs: the public helpers
        # dispatch on a `__grading_remote__` attribute, which a student's function could set.
        self.delegated_calls = testing._delegated_calls_here
        self.watched_call = testing._watched_call
        self.peak_memory = testing._peak_memory_here
        del softmax_course
        self.shell = _make_shell()
        signal.signal(signal.SIGPROF, _on_cpu_limit)
        self.baseline = integrity.Baseline(self.shell)
        self.cpu_limit = 60.0

    # -- requests ---------------------------------------------------------------------

    def run_cell(self, source: str) -> dict:
        OUTPUTS.__init__()
        timed_out = False
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Stream("stdout"), _Stream("stderr")
        try:
            with self._cpu_limit():
                result = self.shell.run_cell(source, store_history=True)
            error = result.error_in_exec or result.error_before_exec
            timed_out = isinstance(error, CellTimeout)
        except CellTimeout:
            timed_out = True
        finally:
            sys.stdout, sys.stderr = saved
        return {"outputs": OUTPUTS.items, "timed_out": timed_out}

    def describe(self, names: list[str]) -> dict:
        described = {}
        for name in names:
            if name not in self.shell.user_ns:
                described[name] = {"kind": "missing"}
                continue
            value = self.shell.user_ns[name]
            if callable(value):
                described[name] = {"kind": "function",
                                   "name": str(getattr(value, "__name__", name))[:100]}
                continue
            lowered: list[str] = []
            try:
                codec.encode(value, lowered=lowered)
            except codec.CodecError:
                described[name] = {"kind": "unsupported",
                                   "description": f"`{name}`, a {type(value).__name__}"}
                continue
            described[name] = {"kind": "value", "value": value, "lowered": lowered}
        return described

    def call(self, name: str, mode: str, args: tuple, kwargs: dict, allow: list[str]) -> dict:
        function = self.shell.user_ns.get(name)
        if not callable(function):
            return {"error": _describe_error(NameError(f"name {name!r} is not defined"))}
        before = {key: copy.deepcopy(value) for key, value in _arrays(args, kwargs)}
        caught: list = []
        # What the delegation watch saw of an ordinary call (nothing, for the checks' own
        # calls). Every call is watched, not only the delegation check's: a function that
        # computes honestly only while it is watched, or only for the check's inputs, would
        # otherwise delegate everywhere else.
        watch: dict[str, Any] = {}
        try:
            with self._cpu_limit():
                if mode in ("delegation", "memory"):
                    # Not the memory check under the delegation watch as well: the two
                    # together made an honest tiled backward pass (chapter 8) take several
                    # times as long, and time limits decide grades too.
                    self.baseline.recording = False  # the checks install their own watchers
                    try:
                        result = (sorted(self.delegated_calls(function, args, kwargs, allow))
                                  if mode == "delegation"
                                  else self.peak_memory(function, args, kwargs))
                    finally:
                        self.baseline.recording = True
                else:
                    with self.quiet() as caught:
                        watched = self.watched_call(function, args, kwargs)
                    watch = {"delegation": watched.labels}
                    if watched.unwatchable is not None:
                        watch["unwatchable"] = watched.unwatchable
                    result = watched.value()
        except CellTimeout:
            return {"error": {"type": "TimeoutError", "builtin": True, "message":
                              f"it used more than {self.cpu_limit:g} s of CPU time"}}
        except BaseException as error:  # the student's exception, whatever it is, goes back
            return {"error": _describe_error(error), **watch}
        # (position or keyword, new value) of every array argument the call modified.
        changed = [[key, value] for key, value in _arrays(args, kwargs)
                   if key in before and not _same(before[key], value)]
        return {"result": result, "warnings": [str(w.message)[:500] for w in caught],
                "changed": changed, **watch}

    def scan(self) -> dict:
        return {"findings": self.baseline.findings()}

    # -- plumbing -----------------------------------------------------------------------

    def _cpu_limit(self):
        runtime = self

        class Limit:
            def __enter__(self):
                signal.setitimer(signal.ITIMER_PROF, runtime.cpu_limit)

            def __exit__(self, *exc):
                signal.setitimer(signal.ITIMER_PROF, 0)
                return False

        return Limit()

    def serve(self, requests: BinaryIO, replies: BinaryIO) -> None:
        while True:
            try:
                request = codec.decode(receive(requests), callables=True)
            except EOFError:
                return
            operation = request.pop("op")
            if operation == "limits":
                self.cpu_limit = float(request["cpu_seconds"])
                reply: dict[str, Any] = {}
            elif operation == "run_cell":
                reply = self.run_cell(request["source"])
            elif operation == "describe":
                reply = self.describe(request["names"])
            elif operation == "call":
                reply = self.call(request["name"], request["mode"], tuple(request["args"]),
                                  request["kwargs"], request.get("allow", []))
            elif operation == "scan":
                reply = self.scan()
            else:
                reply = {"error": _describe_error(ValueError(f"unknown request {operation!r}"))}
            lowered: list[str] = []
            try:
                payload = codec.encode(reply, lowered=lowered)
                if lowered:
                    payload = codec.encode({**reply, "lowered": lowered})
            except codec.CodecError as error:
                # What the delegation watch saw is plain text, and still counts.
                watch = {key: reply[key] for key in ("delegation", "unwatchable") if key in reply}
                payload = codec.encode({"unsupported": str(error), **watch})
            send(replies, payload)


def _describe_error(error: BaseException) -> dict:
    """An exception as data; builtin types are marked so the checker can raise the same type."""
    import builtins

    name = type(error).__name__
    return {"type": name, "message": str(error)[:1000],
            "builtin": getattr(builtins, name, None) is type(error)}


def _arrays(args: tuple, kwargs: dict):
    import numpy as np

    for index, value in enumerate(args):
        if type(value) is np.ndarray:
            yield index, value
    for key, value in kwargs.items():
        if type(value) is np.ndarray:
            yield key, value


def _same(before, after) -> bool:
    import numpy as np

    return before.shape == after.shape and np.array_equal(before, after, equal_nan=True)


@functools.cache
def precomputed_fingerprints() -> str:
    """The value of ``FINGERPRINTS_VARIABLE`` for the runtimes this (worker) process starts."""
    from softmax_course import testing

    return json.dumps(testing._precomputed_fingerprints())


def main() -> None:
    # The grader's own start-up (IPython, the course, the baseline) makes some 50,000 tracked
    # objects and no garbage worth a collection, yet the collector walked them again and again
    # while they were made: a tenth of the start's CPU time, most of an honest submission's.
    # It is off until the runtime is ready, and on for the student's code, as in a kernel. (Not
    # gc.freeze(): that would also hide the runtime from gc.get_objects(), which some hostile
    # cases in the tests use to reach it, and which a student could undo with gc.unfreeze().)
    gc.disable()
    # The channel is this process's stdin and stdout; everything else that writes to file
    # descriptors 0-2 (a stray os.write, a C library) goes to /dev/null instead.
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1, 2):
        os.dup2(null, descriptor)
    if "--uid" in sys.argv:
        # Started by a root grader: become the sandbox's own unprivileged user before
        # anything else runs (bubblewrap left exactly the capabilities to do this).
        uid = int(sys.argv[sys.argv.index("--uid") + 1])
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    runtime = Runtime(Path(sys.argv[1]))
    gc.enable()
    runtime.serve(requests, replies)


if __name__ == "__main__":
    main()
