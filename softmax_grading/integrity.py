"""Signs that a submission tried to tamper with the grading machinery.

Runs inside the student's process. The verdicts do not depend on it: the
tests run in another process, so a patched ``np.allclose`` or an IPython hook
in the student's interpreter cannot change a score. What this module does is
make the attempt visible: after the student's code has run, it compares the
interpreter with a snapshot taken before, and names every change to the
machinery a grader relies on. The grader scores such a submission's
autograded parts 0 and flags it for the instructor.

The snapshot covers builtins, ``sys.modules``, the functions of NumPy, the
course package and the grader's own modules (and their code objects), the
settings and tables of the course package and the grader (``checks``'s
tolerances, its table of measurements...), IPython's event hooks, input and
AST transformers and the shell's own methods (on the shell and its class),
tracing and profiling hooks, audit hooks, import hooks, signal handlers,
and processes. Objects are compared by identity, never with ``==``,
which a student's object could rig.
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
WATCHED_MODULE_PREFIXES = ("numpy", "softmax_course", "softmax_grading", "math", "operator",
                           "copy", "warnings", "json", "IPython.core", "traceback", "inspect",
                           "tracemalloc")
# Modules whose settings and tables (module-level values that are not functions) are watched too:
# `checks._FINGERPRINT_MIN_INSTRUCTIONS = 10**9` or an edit of the table `checks` dispatches its
# measurements through switches a check off as surely as replacing a function. Flags (bools) are
# left out: the checks flip their own (`_audit_hook_installed`) the first time they run.
WATCHED_DATA_PREFIXES = ("softmax_course", "softmax_grading")
# Event callbacks that ordinary notebooks register (inline figures, `import matplotlib.pyplot`,
# %autoreload), when they are the genuine functions of these modules.
ALLOWED_CALLBACK_MODULES = ("matplotlib_inline.", "matplotlib.pyplot.",
                            "IPython.extensions.autoreload", "IPython.core.")
SHELL_METHODS = ("run_cell", "run_cell_async", "run_code", "run_ast_nodes", "showtraceback",
                 "_showtraceback", "showsyntaxerror", "transform_cell", "ex", "ev", "displayhook",
                 "display_pub")
# Ways to reach below Python's object model (and so around any check) or to watch the grader.
AUDITED_EVENTS = ("sys.addaudithook", "ctypes.dlopen", "ctypes.dlsym", "ctypes.addressof",
                  "ctypes.cdata", "ctypes.PyObj_FromPtr", "ctypes.call_function")
SIGNALS = ("SIGPROF", "SIGXCPU", "SIGALRM", "SIGTERM", "SIGINT")


def _label(obj: object) -> str:
    module = getattr(obj, "__module__", None) or type(obj).__module__
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}.{name}"


def _is_genuine(obj: object) -> bool:
    """Whether `obj` is the function its module and qualified name say it is.

    A student's function can claim any ``__module__`` and ``__qualname__``; it
    cannot make ``module.qualname`` resolve to itself without replacing that
    module's function, which is watched (for IPython's own modules).
    """
    function = getattr(obj, "__func__", obj)
    module = sys.modules.get(str(getattr(function, "__module__", None) or ""))
    qualname = getattr(function, "__qualname__", None)
    if module is None or not isinstance(qualname, str):
        return False
    target: object = module
    for part in qualname.split("."):
        target = vars(target).get(part) if hasattr(target, "__dict__") else None
        if target is None:
            return False
    return getattr(target, "__func__", target) is function


def _class_attribute(cls: type, name: str) -> object:
    """The attribute `name` as the class and its bases define it (no descriptor is run)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


def _data_shape(value: object, keep: list, depth: int = 0) -> object:
    """A comparable picture of a module-level value: containers by content, the rest by identity.

    Leaves are pictured by ``id`` (and kept alive in `keep`, so an id cannot be reused), so no
    ``__eq__`` of any object is ever called.
    """
    kind = type(value)
    if depth < 4 and kind in (dict, list, tuple, set, frozenset):
        keep.append(value)
        if kind is dict:
            items = [(id(key), _data_shape(item, keep, depth + 1)) for key, item in
                     list(value.items())]
            keep.extend(value)
            return ("dict", tuple(items))
        members = [_data_shape(item, keep, depth + 1) for item in list(value)]
        if kind in (set, frozenset):
            members.sort(key=repr)
        return (kind.__name__, tuple(members))
    keep.append(value)
    return id(value)


class Baseline:
    """A snapshot of the interpreter's grading-relevant state, taken before student code runs."""

    def __init__(self, shell) -> None:
        self.shell = shell
        self.audit_events: list[str] = []
        self.recording = True
        # Fixed now, so that rebinding the module's constants later changes nothing here.
        self.prefixes = WATCHED_MODULE_PREFIXES
        self.data_prefixes = WATCHED_DATA_PREFIXES
        self.builtins = dict(vars(builtins))
        self.modules = dict(sys.modules)
        # One walk of the modules for both tables: each walk was about two fifths of the snapshot.
        self.functions: dict[str, object] = {}
        self.function_modules: dict[str, str] = {}
        for module, key, value in self._watched_functions():
            self.functions[key] = value
            self.function_modules[key] = module
        # The course's own code may add an audit hook (the delegation check does, once).
        self.course_code = {id(code) for name, code in self.functions.items()
                            if name.startswith("softmax_course.") and name.endswith(".__code__")}
        self._kept: list = []
        self.data = dict(self._watched_data(self._kept))
        sys.addaudithook(self._audit)
        self.callbacks = {event: list(callbacks) for event, callbacks in
                          shell.events.callbacks.items()}
        self.transformers = self._transformers()
        self.shell_class = type(shell)
        self.shell_attributes = {name: (vars(shell).get(name),
                                        _class_attribute(type(shell), name))
                                 for name in SHELL_METHODS}
        self.displayhook = sys.displayhook
        self.excepthook = sys.excepthook
        self.meta_path = list(sys.meta_path)
        self.path_hooks = list(sys.path_hooks)
        self.signals = {name: signal.getsignal(getattr(signal, name)) for name in SIGNALS}

    def _audit(self, event: str, args: tuple) -> None:
        # Audit hooks cannot be removed, so this one only takes notes (and not while the
        # grader's own checks run in this process: they install profilers themselves).
        if self.recording and event in AUDITED_EVENTS:
            if event == "sys.addaudithook" and self._called_by_course_code():
                return  # the course's checks, called from a student's cell (a pasted test)
            self.audit_events.append(event)

    def _called_by_course_code(self) -> bool:
        """Whether the code that raised the event being audited is the course package's own."""
        try:
            caller = sys._getframe(2)  # 0: this method, 1: _audit, 2: the caller of the event
        except ValueError:
            return False
        return id(caller.f_code) in self.course_code

    def _watched_data(self, keep: list) -> Iterable[tuple[str, object]]:
        for module_name, module in list(sys.modules.items()):
            if not isinstance(module, types.ModuleType) or not module_name.startswith(
                    self.data_prefixes):
                continue
            for name, value in list(vars(module).items()):
                if name.startswith("__") and name != "__path__":
                    continue
                if type(value) is bool or callable(value):
                    continue  # functions and classes are watched as functions
                yield f"{module_name}.{name}", _data_shape(value, keep)

    def _watched_functions(self) -> Iterable[tuple[str, object]]:
        for module_name, module in list(sys.modules.items()):
            if not isinstance(module, types.ModuleType):
                continue
            if not module_name.startswith(self.prefixes):
                continue
            for name, value in list(vars(module).items()):
                if callable(value) and not isinstance(value, type):
                    yield module_name, f"{module_name}.{name}", value
                    code = getattr(value, "__code__", None)
                    if code is not None:
                        yield module_name, f"{module_name}.{name}.__code__", code
                elif isinstance(value, type) and value.__module__ == module_name:
                    for attribute, member in list(vars(value).items()):
                        if isinstance(member, types.FunctionType):
                            yield module_name, f"{module_name}.{name}.{attribute}", member
                            yield (module_name, f"{module_name}.{name}.{attribute}.__code__",
                                   member.__code__)

    def _transformers(self) -> dict[str, list]:
        shell = self.shell
        return {
            "input transformer": list(shell.input_transformers_cleanup)
            + list(shell.input_transformers_post),
            "AST transformer": list(shell.ast_transformers),
            "input transformer manager": [shell.input_transformer_manager],
        }

    def findings(self) -> list[str]:
        """Every change to the watched machinery since the snapshot, in words."""
        found: list[str] = []
        found += _changed("builtins", self.builtins, dict(vars(builtins)))
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module and name.startswith(self.prefixes):
                found.append(f"sys.modules[{name!r}] was replaced or removed")
        current = {key: value for _, key, value in self._watched_functions()}
        for name, value in self.functions.items():
            if name in current:
                if current[name] is not value:
                    found.append(f"{name} was replaced")
            elif sys.modules.get(self.function_modules[name]) is self.modules.get(
                    self.function_modules[name]) and not name.endswith(".__code__"):
                found.append(f"{name} was removed")  # from a module that is still there
        data = dict(self._watched_data([]))
        for name, shape in self.data.items():
            if name in data and data[name] != shape:
                found.append(f"{name} was changed")
        for event, callbacks in self.shell.events.callbacks.items():
            before = self.callbacks.get(event, [])
            for callback in callbacks:
                if any(callback is old for old in before):
                    continue
                if not (_label(callback).startswith(ALLOWED_CALLBACK_MODULES)
                        and _is_genuine(callback)):
                    found.append(f"an IPython {event!r} hook was registered: {_label(callback)}")
        for kind, items in self._transformers().items():
            before = self.transformers[kind]
            for item in items:
                if not any(item is old for old in before):
                    found.append(f"an IPython {kind} was added: {_label(item)}")
        if type(self.shell) is not self.shell_class:
            found.append("the IPython shell's class was replaced")
        for name, (on_shell, on_class) in self.shell_attributes.items():
            if (vars(self.shell).get(name) is not on_shell
                    or _class_attribute(type(self.shell), name) is not on_class):
                found.append(f"the IPython shell's {name} was replaced")
        if sys.displayhook is not self.displayhook:
            found.append("sys.displayhook was replaced")
        if sys.excepthook is not self.excepthook:
            found.append("sys.excepthook was replaced")
        if sys.gettrace() is not None or threading.gettrace() is not None:
            found.append("a trace function is installed (sys.settrace)")
        if sys.getprofile() is not None or threading.getprofile() is not None:
            found.append("a profile function is installed (sys.setprofile)")
        if not (_same_items(sys.meta_path, self.meta_path)
                and _same_items(sys.path_hooks, self.path_hooks)):
            found.append("the import system was hooked (sys.meta_path or sys.path_hooks)")
        for name, before in self.signals.items():
            if signal.getsignal(getattr(signal, name)) is not before:
                found.append(f"the {name} signal handler was changed")
        for event in sorted(set(self.audit_events)):
            found.append(f"used {event}")
        # A thread left running is not a finding: the verdicts are computed in another process,
        # and libraries start their own (tqdm's monitor). A thread started while the grader's
        # delegation or memory check runs fails that check (softmax_course.testing).
        found += [f"left a process running: {command}" for command in _other_processes()]
        return found


def _same_items(now: list, before: list) -> bool:
    return len(now) == len(before) and all(a is b for a, b in zip(now, before, strict=True))


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
