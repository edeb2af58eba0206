"""The trusted side of grading: the test cells run here, against the student's code at arm's length.

A test cell never runs in the student's interpreter. It runs in this process,
in a fresh namespace, after the assignment's own locked cells (its imports and
helpers). Each student name the tests use is looked up in the student's
process: a function becomes a :class:`StudentFunction` that forwards calls
across the sandbox wall and gets back plain data (:mod:`softmax_grading.codec`);
a value becomes its plain copy. So the checks, NumPy and Python that decide a
verdict are the grader's own, untouched by anything the student ran, and a
part passes exactly when its test cell finishes without an exception.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import io
import keyword
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from softmax_course import testing
from softmax_grading.codec import Unsupported
from softmax_grading.session import Session, StudentProcessLost

MAX_TEST_OUTPUT_CHARS = 20_000
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
_STUDENT_EXCEPTION_TYPES: dict[str, type[Exception]] = {}


@dataclass
class Verdict:
    """The outcome of one test cell."""

    passed: bool
    outputs: list[dict] = field(default_factory=list)
    student_names: list[str] = field(default_factory=list)
    timed_out: bool = False


@dataclass
class Finding:
    """A sign of tampering; `scope` is the student name it concerns, or None for the whole run."""

    text: str
    scope: str | None = None


class _WarningRecord:
    """What checks.call reports for a warning raised in the student's process."""

    category = RuntimeWarning

    def __init__(self, message: str) -> None:
        self.message = message


def _student_exception(error: dict) -> Exception:
    """The exception the student's code raised, rebuilt in this process as plain data."""
    name = str(error.get("type", "Exception"))
    message = str(error.get("message", ""))
    builtin = getattr(builtins, name, None)
    if error.get("builtin") and isinstance(builtin, type) and issubclass(builtin, Exception):
        return builtin(message)
    if not _IDENTIFIER.match(name) or keyword.iskeyword(name):
        name = "StudentError"
    if name not in _STUDENT_EXCEPTION_TYPES:
        _STUDENT_EXCEPTION_TYPES[name] = type(name, (Exception,), {"__module__": "student"})
    return _STUDENT_EXCEPTION_TYPES[name](message)


def strings(value: Any) -> list[str]:
    """A list of strings from the student's process, or a finding-worthy refusal."""
    if type(value) is not list or not all(type(item) is str for item in value):
        raise MalformedReply("the student's process sent a malformed reply")
    return value


class MalformedReply(ValueError):
    """A reply from the student's process that is data, but not the data that was asked for."""


def _malformed(checker: Checker, name: str) -> MalformedReply:
    checker.findings.append(Finding("the student's process sent a malformed reply"))
    return MalformedReply(f"the reply to a call of {name} was malformed")


class _Remote:
    """The calls the course's checks can make on a student's function (``__grading_remote__``)."""

    def __init__(self, checker: Checker, name: str, display_name: str) -> None:
        self.checker = checker
        self.name = name
        self.display_name = display_name

    def _request(self, mode: str, args: tuple, kwargs: dict, allow: list[str] = ()) -> dict:
        self.checker.used_names.add(self.name)
        if self.name in self.checker.stopped_functions:
            # It ignored its time limit once and had to be killed (or it killed its process):
            # not called again, so one runaway function costs its own parts, not minutes.
            reason, timed_out = self.checker.stopped_functions[self.name]
            self.checker.timed_out |= timed_out
            raise (TimeoutError if timed_out else RuntimeError)(reason)
        try:
            reply = self.checker.session.request({
                "op": "call", "name": self.name, "mode": mode, "args": list(args),
                "kwargs": dict(kwargs), "allow": list(allow)})
        except StudentProcessLost as lost:
            self.checker.timed_out |= lost.timed_out
            self.checker.stopped_functions[self.name] = (str(lost), lost.timed_out)
            error = TimeoutError if lost.timed_out else RuntimeError
            raise error(str(lost)) from None
        if type(reply) is not dict:
            raise _malformed(self.checker, self.name)
        try:
            lowered = strings(reply.get("lowered", []))
        except MalformedReply:
            raise _malformed(self.checker, self.name) from None
        for text in lowered:
            self.checker.findings.append(Finding(f"{self.name} returned {text}", self.name))
        if mode == "call":
            self._judge_delegation(reply)
        if "error" in reply:
            if type(reply["error"]) is not dict:
                raise _malformed(self.checker, self.name)
            if reply["error"].get("type") == "TimeoutError":
                self.checker.timed_out = True
            raise _student_exception(reply["error"])
        if "unsupported" in reply:
            return {"result": Unsupported(f"the value {self.name} returned"), "warnings": []}
        changed = reply.get("changed", [])
        for entry in changed if type(changed) is list else []:
            # The call modified an array argument in place: so do the caller's arrays, as they
            # would have been modified had the function run here.
            if type(entry) is not list or len(entry) != 2:
                continue
            key, value = entry
            if type(key) is int and 0 <= key < len(args):
                original = args[key]
            elif type(key) is str:
                original = kwargs.get(key)
            else:
                continue
            if isinstance(original, np.ndarray) and isinstance(value, np.ndarray) and \
                    value.shape == original.shape and original.flags.writeable:
                np.copyto(original, value, casting="unsafe")
        return reply

    def _judge_delegation(self, reply: dict) -> None:
        """Note what the watch saw of an ordinary call; fail the call if a delegation check
        has already forbidden it for this function."""
        try:
            labels = strings(reply.get("delegation", []))
        except MalformedReply:
            raise _malformed(self.checker, self.name) from None
        unwatchable = reply.get("unwatchable")
        if unwatchable is not None and unwatchable not in testing._UNWATCHABLE_REASONS:
            raise _malformed(self.checker, self.name)
        self.checker.delegated.setdefault(self.name, set()).update(labels)
        if unwatchable is not None:
            self.checker.unwatchable.setdefault(self.name, unwatchable)
        allowed = self.checker.delegation_allowed.get(self.name)
        if allowed is None:
            return  # no check has forbidden it a library (yet: see delegated_calls)
        if unwatchable is not None:
            raise testing.CheckFailure(testing._unwatchable_failure(self.display_name,
                                                                    unwatchable))
        used = set(labels) - allowed
        if used:
            raise testing.CheckFailure(testing._delegation_failure(self.display_name, used))

    def call(self, args: tuple, kwargs: dict) -> tuple[Any, list[_WarningRecord]]:
        reply = self._request("call", args, kwargs)
        return reply["result"], [_WarningRecord(text) for text in reply.get("warnings", [])]

    def delegated_calls(self, args: tuple, kwargs: dict, allow: list[str]) -> list[str]:
        """The forbidden functions this call uses, and those earlier calls used that none
        of the function's delegation checks allows.

        From now on every call of the function is held to the same rule: it fails if it uses
        a forbidden function that none of those checks allows.
        """
        # Held to it from the check on, even when the check's own call fails.
        allowed = self.checker.delegation_allowed.setdefault(self.name, set())
        allowed.update(allow)
        labels = self._request("delegation", args, kwargs, allow)["result"]
        if type(labels) is not list or not all(type(label) is str for label in labels):
            raise TypeError("the delegation check returned something other than names")
        unwatchable = self.checker.unwatchable.get(self.name)
        if unwatchable is not None:
            raise testing.CheckFailure(testing._unwatchable_failure(self.display_name,
                                                                    unwatchable))
        earlier = self.checker.delegated.get(self.name, set()) - allowed
        return sorted(set(labels) | earlier)

    def peak_memory(self, args: tuple, kwargs: dict) -> int:
        peak = self._request("memory", args, kwargs)["result"]
        if type(peak) is not int or peak < 0:
            raise TypeError("the memory measurement returned something other than a byte count")
        return peak


class StudentFunction:
    """A student's function as the tests see it: calls go to the student's process."""

    def __init__(self, checker: Checker, name: str, display_name: str) -> None:
        self.__name__ = self.__qualname__ = display_name
        self.__grading_remote__ = _Remote(checker, name, display_name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result, _ = self.__grading_remote__.call(args, kwargs)
        return result

    def __repr__(self) -> str:
        return f"<function {self.__name__} (the student's)>"


# The cells these read are the instructor's, the same for every submission a worker grades:
# each is parsed once per worker, not twice per submission (about 7 ms of CPU per ch01 submission).
@functools.lru_cache(maxsize=4096)
def names_loaded(source: str) -> frozenset[str]:
    """Every name a cell reads, at any depth (a syntax error reads nothing)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    return frozenset(node.id for node in ast.walk(tree)
                     if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load))


@functools.lru_cache(maxsize=4096)
def names_bound(source: str) -> frozenset[str]:
    """Names a cell binds at module level: assignments, imports, functions, classes."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    bound: set[str] = set()
    for node in tree.body:
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                bound.add(child.id)
            elif isinstance(child, ast.alias):
                bound.add((child.asname or child.name).split(".")[0])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
    return frozenset(bound)


class Checker:
    """Runs an assignment's locked cells and test cells in a fresh namespace of this process."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.findings: list[Finding] = []
        self.used_names: set[str] = set()
        self.stopped_functions: dict[str, tuple[str, bool]] = {}
        # The delegation watch, over every call of each student function: the forbidden
        # functions its calls reached, why one could not be watched, and for the functions a
        # delegation check has run on, what its checks allow.
        self.delegated: dict[str, set[str]] = {}
        self.unwatchable: dict[str, str] = {}
        self.delegation_allowed: dict[str, set[str]] = {}
        self.timed_out = False

    def student_namespace(self, trusted_sources: list[str]) -> dict[str, Any]:
        """The student's names that the trusted cells use and do not define themselves."""
        bound = set().union(*(names_bound(s) for s in trusted_sources))
        wanted = set().union(*(names_loaded(s) for s in trusted_sources)) - bound - set(
            dir(builtins))
        if not wanted:
            return {}
        try:
            described = self.session.request({"op": "describe", "names": sorted(wanted)})
        except StudentProcessLost as lost:
            self.findings.append(Finding(f"the student's process was lost: {lost}"))
            return {}
        namespace: dict[str, Any] = {}
        if type(described) is not dict:
            self.findings.append(Finding("the student's process sent a malformed reply"))
            return namespace
        for name, entry in described.items():
            if name not in wanted or type(entry) is not dict:
                continue
            kind = entry.get("kind")
            if kind == "function":
                namespace[name] = StudentFunction(self, name, str(entry.get("name", name)))
            elif kind == "value":
                try:
                    lowered = strings(entry.get("lowered", []))
                except MalformedReply:
                    self.findings.append(Finding("the student's process sent a malformed reply"))
                    continue
                namespace[name] = entry.get("value")
                for text in lowered:
                    self.findings.append(Finding(f"`{name}` is {text}", name))
            elif kind == "unsupported":
                namespace[name] = Unsupported(str(entry.get("description", name)))
        return namespace

    def run(self, cells: list[tuple[str, str | None]]) -> dict[str, Verdict]:
        """Run (source, grade_id) cells in order; grade_id marks a test cell. Returns verdicts."""
        namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        injected = self.student_namespace([source for source, _ in cells])
        namespace.update(injected)
        verdicts: dict[str, Verdict] = {}
        for source, grade_id in cells:
            self.used_names = set()
            self.timed_out = False
            outputs = _run_trusted(source, namespace, f"<test {grade_id or 'setup'}>")
            if grade_id is not None:
                verdicts[grade_id] = Verdict(
                    passed=not any(o["output_type"] == "error" for o in outputs),
                    outputs=outputs, timed_out=self.timed_out,
                    student_names=sorted((names_loaded(source) & injected.keys())
                                         | self.used_names))
        return verdicts


def _run_trusted(source: str, namespace: dict, filename: str) -> list[dict]:
    """Execute trusted cell code; its outputs as notebook outputs (an error last, if any)."""
    printed = io.StringIO()
    outputs: list[dict] = []
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(compile(source, filename, "exec"), namespace)
        except Exception as error:  # a failed check, or any other error in the test: a fail
            outputs.append({"output_type": "error", "ename": type(error).__name__,
                            "evalue": str(error), "traceback": []})
    text = printed.getvalue()
    if text:
        outputs.insert(0, {"output_type": "stream", "name": "stdout",
                           "text": text[:MAX_TEST_OUTPUT_CHARS]})
    return outputs
