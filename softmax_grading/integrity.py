"""Signs that a submission tried to tamper with the grading machinery.

Runs inside the student's process. The verdicts do not depend on it: the
tests run in another process, so a patched ``np.allclose`` or an IPython hook
in the student's interpreter cannot change a score. What this module does is
make the attempt visible: after the student's code has run, it compares the
interpreter with a snapshot taken before, and names every change to the
machinery a grader relies on. The grader scores such a submission's
autograded parts 0 and flags it for the instructor.

The snapshot covers builtins, ``sys.modules``, the functions of NumPy and
the course package (and their code objects), IPython's event hooks, input
and AST transformers and the shell's own methods, tracing and profiling
hooks, audit hooks, import hooks, signal handlers, threads and processes.
"""

from __future__ import annotations

import builtins
import os
import signal
import sys
import threading
import types
from collections.abc import Iterable

# Modules whose functions the checks (or a student's attempt on them) depend on.
WATCHED_MODULE_PREFIXES = ("numpy", "softmax_course", "math", "operator", "copy", "warnings",
                           "json", "IPython.core", "traceback", "inspect", "tracemalloc")
# Event callbacks that ordinary notebooks register (inline figures, %autoreload).
ALLOWED_CALLBACK_MODULES = ("matplotlib_inline.", "IPython.extensions.autoreload",
                            "IPython.core.")
SHELL_METHODS = ("run_cell", "run_cell_async", "run_code", "run_ast_nodes", "showtraceback",
                 "_showtraceback", "showsyntaxerror", "transform_cell", "ex", "ev")
# Ways to reach below Python's object model (and so around any check) or to watch the grader.
AUDITED_EVENTS = ("sys.addaudithook", "ctypes.dlopen", "ctypes.dlsym", "ctypes.addressof",
                  "ctypes.cdata", "ctypes.PyObj_FromPtr", "ctypes.call_function")
SIGNALS = ("SIGPROF", "SIGXCPU", "SIGALRM", "SIGTERM", "SIGINT")


def _label(obj: object) -> str:
    module = getattr(obj, "__module__", None) or type(obj).__module__
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}.{name}"


class Baseline:
    """A snapshot of the interpreter's grading-relevant state, taken before student code runs."""

    def __init__(self, shell) -> None:
        self.shell = shell
        self.audit_events: list[str] = []
        self.recording = True
        sys.addaudithook(self._audit)
        self.builtins = dict(vars(builtins))
        self.modules = dict(sys.modules)
        self.functions = dict(self._watched_functions())
        self.callbacks = {event: list(callbacks) for event, callbacks in
                          shell.events.callbacks.items()}
        self.transformers = self._transformers()
        self.shell_attributes = {name: vars(shell).get(name) for name in SHELL_METHODS}
        self.displayhook = sys.displayhook
        self.excepthook = sys.excepthook
        self.meta_path = list(sys.meta_path)
        self.path_hooks = list(sys.path_hooks)
        self.signals = {name: signal.getsignal(getattr(signal, name)) for name in SIGNALS}
        self.threads = self._native_threads()

    def _audit(self, event: str, args: tuple) -> None:
        # Audit hooks cannot be removed, so this one only takes notes (and not while the
        # grader's own checks run in this process: they install profilers themselves).
        if self.recording and event in AUDITED_EVENTS:
            self.audit_events.append(event)

    def _watched_functions(self) -> Iterable[tuple[str, object]]:
        for module_name, module in list(sys.modules.items()):
            if not isinstance(module, types.ModuleType):
                continue
            if not module_name.startswith(WATCHED_MODULE_PREFIXES):
                continue
            for name, value in list(vars(module).items()):
                if callable(value) and not isinstance(value, type):
                    yield f"{module_name}.{name}", value
                    code = getattr(value, "__code__", None)
                    if code is not None:
                        yield f"{module_name}.{name}.__code__", code
                elif isinstance(value, type) and value.__module__ == module_name:
                    for attribute, member in list(vars(value).items()):
                        if isinstance(member, types.FunctionType):
                            yield f"{module_name}.{name}.{attribute}", member
                            yield f"{module_name}.{name}.{attribute}.__code__", member.__code__

    def _transformers(self) -> dict[str, list]:
        shell = self.shell
        return {
            "input transformer": list(shell.input_transformers_cleanup)
            + list(shell.input_transformers_post),
            "AST transformer": list(shell.ast_transformers),
            "input transformer manager": [shell.input_transformer_manager],
        }

    @staticmethod
    def _native_threads() -> int:
        try:
            return len(os.listdir("/proc/self/task"))
        except OSError:
            return threading.active_count()

    def findings(self) -> list[str]:
        """Every change to the watched machinery since the snapshot, in words."""
        found: list[str] = []
        found += _changed("builtins", self.builtins, dict(vars(builtins)))
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module and name.startswith(WATCHED_MODULE_PREFIXES):
                found.append(f"sys.modules[{name!r}] was replaced or removed")
        current = dict(self._watched_functions())
        for name, value in self.functions.items():
            if name in current and current[name] is not value:
                found.append(f"{name} was replaced")
        for event, callbacks in self.shell.events.callbacks.items():
            before = self.callbacks.get(event, [])
            for callback in callbacks:
                if callback not in before and not _label(callback).startswith(
                        ALLOWED_CALLBACK_MODULES):
                    found.append(f"an IPython {event!r} hook was registered: {_label(callback)}")
        for kind, items in self._transformers().items():
            before = self.transformers[kind]
            for item in items:
                if not any(item is old for old in before):
                    found.append(f"an IPython {kind} was added: {_label(item)}")
        for name, before in self.shell_attributes.items():
            if vars(self.shell).get(name) is not before:
                found.append(f"the IPython shell's {name} was replaced")
        if sys.displayhook is not self.displayhook:
            found.append("sys.displayhook was replaced")
        if sys.excepthook is not self.excepthook:
            found.append("sys.excepthook was replaced")
        if sys.gettrace() is not None or threading.gettrace() is not None:
            found.append("a trace function is installed (sys.settrace)")
        if sys.getprofile() is not None or threading.getprofile() is not None:
            found.append("a profile function is installed (sys.setprofile)")
        if sys.meta_path != self.meta_path or sys.path_hooks != self.path_hooks:
            found.append("the import system was hooked (sys.meta_path or sys.path_hooks)")
        for name, before in self.signals.items():
            if signal.getsignal(getattr(signal, name)) is not before:
                found.append(f"the {name} signal handler was changed")
        for event in sorted(set(self.audit_events)):
            found.append(f"used {event}")
        extra_threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
        if extra_threads or self._native_threads() > self.threads:
            found.append("left a thread running" + (f": {', '.join(extra_threads)}"
                                                    if extra_threads else ""))
        found += [f"left a process running: {command}" for command in _other_processes()]
        return found


def _changed(where: str, before: dict, after: dict) -> list[str]:
    found = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            found.append(f"{where}.{name} was removed")
        elif name not in before:
            found.append(f"{where}.{name} was added")
        elif after[name] is not before[name]:
            found.append(f"{where}.{name} was replaced")
    return found


def _other_processes() -> list[str]:
    """Processes in this sandbox other than this one and its init (a pid namespace of its own)."""
    own = {os.getpid(), os.getppid(), 1}
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit() or int(entry) in own:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
            with open(f"/proc/{entry}/status") as handle:
                uid_line = next(line for line in handle if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(uid_line.split()[1]) == os.getuid():
            found.append(command[:120] or f"pid {entry}")
    return found
