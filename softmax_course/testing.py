"""Checks for the course's exercises: friendly failures that never give the answer away.

The exercise notebooks test a student's code with these helpers, in the visible
tests and in the hidden ones. Each check raises :class:`AssertionError` with a
message that says *what* went wrong on *which kind of input* and, through a
hint written by the exercise author, *where to look*. No message contains the
expected value, and the checks are generic, so this module can be public: the
specific hidden inputs live only in the instructor's notebooks.

Details that matter for autograding with nbgrader:

* nbgrader scores a test cell 0 if it writes anything to stderr, and a naive
  softmax on large logits makes NumPy warn about overflow. Every call into a
  student's function therefore runs under :func:`quiet`, which records
  warnings instead of printing them; a recorded warning becomes part of the
  failure message when it explains the failure.
* At grading time a student's function may live in another process. The
  grader then hands the test cells a *proxy*: an object with ``__name__``,
  ``__call__`` and a ``__grading_remote__`` attribute whose ``call``,
  ``delegated_calls`` and ``peak_memory`` methods run the matching helper of
  this module in the student's process and send back plain data (or the
  student's exception). Every helper here that runs a student's function
  accepts both a proxy and an ordinary function, and behaves the same, so
  test cells never look inside a student's function themselves: memory is
  measured with :func:`peak_memory`, library calls are found with
  :func:`forbid_delegation`, crashes and warnings come from :func:`call`.
* :func:`compare` gives the student's function and the reference each their
  own deep copy of the arguments, so a function that works in place on its
  input is judged on its result. :func:`delegated_calls` and
  :func:`peak_memory` pass copies too. :func:`call` passes the caller's
  objects, so a test can check whether the student's function modified them.
* A part that asks for an implementation must not be passed by calling a
  library's softmax. :func:`forbid_delegation` watches every call the
  student's function makes and recognises the course's functions (private
  helpers and class methods included) and SciPy's, PyTorch's and JAX's
  softmax family, under any name, and even as a fresh copy of their source.
  A function that starts a thread or a process, or turns off the call
  tracer, fails the check, because its calls cannot be watched. At grading
  time every call the tests make of a student's function is watched (all
  but :func:`peak_memory`'s), and a proxy holds them to the check: the check
  fails if an earlier call delegated, and any later call that delegates
  fails the check that made it.

Examples
--------
>>> import numpy as np
>>> from softmax_course import testing
>>> def naive(z, axis=-1):
...     e = np.exp(z)
...     return e / e.sum(axis=axis, keepdims=True)
>>> def reference(z, axis=-1):
...     e = np.exp(z - z.max(axis=axis, keepdims=True))
...     return e / e.sum(axis=axis, keepdims=True)
>>> testing.compare(naive, reference, np.array([1000.0, 999.0]), case="logits near 1000",
...                 hint="did you subtract the max?")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
softmax_course.testing.CheckFailure: naive returned nan for logits near 1000.
Hint: did you subtract the max?
NumPy warned: ...
>>> testing.forbid_delegation(lambda z: reference(z) * 1.0, np.zeros(3))  # honest: passes
>>> import scipy.special
>>> renamed = scipy.special.softmax
>>> testing.delegated_calls(lambda z: renamed(z), np.zeros(3))
['scipy.special.softmax']
"""

from __future__ import annotations

import _thread
import bisect
import contextlib
import copy
import dataclasses
import dis
import functools
import hashlib
import importlib
import inspect
import linecache
import numbers
import pkgutil
import re
import sys
import textwrap
import threading
import tracemalloc
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

__all__ = [
    "CheckFailure",
    "call",
    "check_answer",
    "check_choice",
    "check_number",
    "check_option",
    "compare",
    "delegated_calls",
    "expect",
    "expect_raises",
    "forbid_delegation",
    "label_of",
    "peak_memory",
    "quiet",
]

# What the visible test of an answer prints when it passes (it cannot check the value).
_GRADED_LATER = "Only the form is checked here: its value is graded after you submit."

# Tolerances for comparing a student's float result with the reference. They
# are loose enough for any reasonable order of operations (the student may sum
# in another order, or divide instead of subtracting logs) and tight enough to
# catch a wrong formula, a wrong axis or a lost digit.
TOLERANCES = {
    np.dtype(np.float16): {"rtol": 1e-2, "atol": 1e-3},
    np.dtype(np.float32): {"rtol": 1e-4, "atol": 1e-6},
    np.dtype(np.float64): {"rtol": 1e-7, "atol": 1e-10},
}


# `nbgrader validate` prints each line of an error indented by 4 and cuts it after 83
# characters (its Validator.width of 90, less the indent and "..."). A failure's first line
# also carries the class name. So every message is laid out as a short first line that says
# what failed, then lines that say on what and where to look, none of them cut.
_LINE_WIDTH = 78
_FIRST_LINE_WIDTH = _LINE_WIDTH - len("CheckFailure: ")
_CLAUSE_END = re.compile(r"(?<=[:;.?])\s+")


def _wrap(text: str, width: int, first_width: int | None = None) -> list[str]:
    """`text` in lines of at most `width` characters (the first of `first_width`)."""
    first_width = width if first_width is None else first_width
    indent = " " * (width - first_width)
    lines = textwrap.wrap(text, width, initial_indent=indent, break_long_words=False,
                          break_on_hyphens=False)
    return [line.strip() for line in lines] or [""]


def layout(message: str) -> str:
    """`message` as a failure shows it: a short first line, then detail lines.

    A message that already has several lines keeps them (each is only wrapped if it
    is too long); a long one-line message is cut after its first clause (at ": ",
    "; ", ". " or "? "), and the rest follows on its own lines. Laying out a message
    twice changes nothing.
    """
    paragraphs = message.strip("\n").split("\n")
    if len(paragraphs) == 1 and len(message) > _FIRST_LINE_WIDTH:
        parts = _CLAUSE_END.split(message, maxsplit=1)
        paragraphs = parts if len(parts) == 2 else paragraphs
    lines = _wrap(paragraphs[0], _LINE_WIDTH, _FIRST_LINE_WIDTH)
    for paragraph in paragraphs[1:]:
        lines += _wrap(paragraph, _LINE_WIDTH)
    return "\n".join(lines)


class CheckFailure(AssertionError):
    """A failed check; the message says what to fix, laid out by :func:`layout`."""

    def __init__(self, message: object = "") -> None:
        super().__init__(layout(str(message)))


def expect(condition: object, message: str) -> None:
    """Fail with `message` unless `condition` is true (an ``assert`` that survives ``-O``)."""
    if not condition:
        raise CheckFailure(message)


@contextlib.contextmanager
def quiet() -> Iterator[list[warnings.WarningMessage]]:
    """Record warnings, NumPy's floating-point warnings included, instead of printing them.

    Yields the list that collects the warnings, so a check can mention them
    ("NumPy warned: overflow encountered in exp"). Nothing reaches stderr,
    which nbgrader would score as a failure. NumPy is set to warn (not raise,
    not ignore) whatever the student's notebook chose, so every student gets
    the same messages.
    """
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        yield caught


def _name_of(function: Callable[..., Any]) -> str:
    return getattr(function, "__name__", None) or type(function).__name__


# --- running a student's function: here, or in the student's process ---------------------


def _dispatch(function: Any, method: str, args: tuple, kwargs: dict, *extra: Any) -> Any:
    """Run the measurement `method` ("call", "delegated_calls" or "peak_memory") on `function`.

    A grading proxy carries ``__grading_remote__``, whose method of the same name runs the
    measurement in the student's process and returns plain data; an ordinary function is
    measured here, by the ``_*_here`` function of the same name.
    """
    remote = getattr(function, "__grading_remote__", None)
    if remote is not None:
        return getattr(remote, method)(args, kwargs, *extra)
    return _HERE[method](function, args, kwargs, *extra)


@dataclasses.dataclass(frozen=True)
class _ReportedWarning:
    """A warning recorded in the student's process, as the grader reports it: its text."""

    message: str
    category: type[Warning] = RuntimeWarning


def _copies(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Deep copies of the arguments; callables (functions, proxies, methods) are not copied."""
    memo = {id(value): value for value in (*args, *kwargs.values()) if callable(value)}
    return copy.deepcopy((args, kwargs), memo)


def _describe_value(value: Any) -> str:
    """An argument as a failure names it: its kind, dtype and shape, never many values."""
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    if isinstance(value, (bool, int, np.integer, type(None))) or (
            isinstance(value, str) and len(value) <= 20):
        return repr(value)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    if callable(value):
        return f"the function {_name_of(value)}"
    return f"a {type(value).__name__}"


def _describe_call(function: Any, args: tuple, kwargs: dict) -> str:
    """``softmax(z=a float64 array of shape (2, 3), axis=0)``: how a check called `function`."""
    names: list[str | None] = [None] * len(args)
    with contextlib.suppress(TypeError, ValueError):
        # A grading proxy has no signature of its own: its arguments stay unnamed.
        if getattr(function, "__grading_remote__", None) is None:
            bound = inspect.signature(function).bind_partial(*args)
            names = [*bound.arguments][: len(args)]
            names += [None] * (len(args) - len(names))
    shown = [f"{n}={_describe_value(a)}" if n else _describe_value(a)
             for n, a in zip(names, args, strict=True)]
    shown += [f"{key}={_describe_value(value)}" for key, value in kwargs.items()]
    return f"{_name_of(function)}({', '.join(shown)})"


# What usually causes an exception in an exercise, by the exception's type name (a grading
# proxy re-raises the student's exception under the same name) and, first, by its message.
_CAUSES_BY_MESSAGE = [
    ("could not be broadcast",
     "two arrays whose shapes do not fit were combined entry by entry (print the "
     "shapes in that line). Often a reduction dropped its axis: pass keepdims=True "
     "to np.max/np.sum, and reduce along `axis`, not a fixed axis."),
    ("mismatch in its core dimension",
     "a matrix product of shapes that do not chain, (n, k) @ (k, m): check which "
     "operand needs transposing (for batches, np.swapaxes(k, -1, -2), not k.T)."),
    ("out of bounds for array of dimension",
     "the array has no such axis: use the `axis` argument you were given, and check "
     "that 1-D input works (its only axis is 0, or -1)."),
    ("unexpected keyword argument",
     "the function's parameters are not the ones the notebook gives: keep their "
     "names and order as in the `def` line of the part."),
    ("positional argument",
     "the function takes a different number of arguments than the notebook's "
     "`def` line: keep its parameters (and their defaults)."),
    ("not subscriptable",
     "a number was indexed like an array: convert inputs with np.asarray, and "
     "remember that a reduction of a 1-D array is a single number."),
    ("object has no attribute",
     "a method was called on a value that does not have it (a list or a number "
     "instead of a NumPy array?): convert inputs with np.asarray first."),
    ("truth value of an array",
     "`if` or `and` was applied to a whole array: use np.where, a boolean mask, "
     "or np.any/np.all."),
]
_CAUSES_BY_TYPE = {
    "IndexError": "an index past the end of an axis, or more indices than the array has "
                  "dimensions: check which axis you index, for 1-D and batched input.",
    "AxisError": "the array has no such axis: use the `axis` argument you were given.",
    "TypeError": "a value of an unexpected type: is an input a list or a number where you "
                 "expect an array (np.asarray converts it), or an argument missing?",
    "ValueError": "an input's shape or value is not what the code expects: check the "
                  "shapes of the intermediate arrays for this input.",
    "NameError": "a name is not defined: a typo, or a variable of another cell. Restart "
                 "the kernel and run all cells to be sure.",
    "UnboundLocalError": "a variable is used before it is assigned on some path through "
                         "the function.",
    "ZeroDivisionError": "a Python number was divided by zero: check the denominator for "
                         "this input.",
    "OverflowError": "a Python number overflowed (math.exp?): use np.exp on arrays, with "
                     "the maximum subtracted first.",
    "RecursionError": "the function calls itself without end.",
    "MemoryError": "the function tried to allocate far more memory than the input needs.",
    "KeyError": "a dictionary lookup with a key that is not there.",
}


def _likely_cause(error: BaseException) -> str:
    text = str(error)
    for fragment, cause in _CAUSES_BY_MESSAGE:
        if fragment in text:
            return cause
    for kind in type(error).__mro__:
        if kind.__name__ in _CAUSES_BY_TYPE:
            return _CAUSES_BY_TYPE[kind.__name__]
    return ""


def _failing_line(function: Any, error: BaseException) -> str:
    """The last line of the student's cell that the exception went through, if it ran here.

    Only lines from the file (the notebook cell) that defines `function` count: NumPy's
    lines and the checks' own are not the student's to fix, and a test's code stays unshown.
    A grading proxy's exception comes from another process, without a traceback.
    """
    origin = getattr(_unwrap(function), "__code__", None)
    if origin is None:
        return ""
    found = ""
    traceback = error.__traceback__
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if code.co_filename == origin.co_filename:
            line = linecache.getline(code.co_filename, traceback.tb_lineno).strip()
            if line:
                found = f"In {code.co_name}, at: {line}"
        traceback = traceback.tb_next
    return found


@contextlib.contextmanager
def _reported(
    function: Any, case: str, args: tuple = (), kwargs: dict | None = None
) -> Iterator[None]:
    """Turn an exception from a student's function into the failure message that explains it.

    The message says which exception, for which `case`, how the function was called (the
    arguments' kinds, dtypes and shapes), where in the student's code it happened (when the
    code ran in this process) and what usually causes it.
    """
    name = _name_of(function)
    try:
        yield
    except CheckFailure:
        raise  # a check inside (a test's wrapper around the student's function) explains itself
    except NotImplementedError:
        raise CheckFailure(
            f"{name} is not implemented yet.\n"
            "Replace `raise NotImplementedError()` with your code."
        ) from None
    except Exception as error:  # a student's bug, reported as a failed check
        cause = _likely_cause(error)
        details = [
            f"{type(error).__name__}: {error}",
            f"Called as {_describe_call(function, args, kwargs or {})}.",
            _failing_line(function, error),
            f"Usual cause: {cause}" if cause else "",
        ]
        raise CheckFailure("\n".join([f"{name} raised {type(error).__name__} for {case}.",
                                      *filter(None, details)])) from None


def _call_here(function: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[Any, list]:
    with quiet() as caught:
        result = function(*args, **kwargs)
    return result, list(caught)


def call(function: Callable[..., Any], *args: Any, case: str, **kwargs: Any) -> tuple[Any, list]:
    """Call a student's function quietly and turn crashes into helpful failures.

    Returns ``(result, warnings)``: each warning has a ``message`` (``str()`` of
    it is the text, such as "overflow encountered in exp") and a ``category``.
    A ``NotImplementedError`` becomes "not implemented yet"; any other exception
    is reported with its type and message together with the `case` that
    triggered it.

    Unlike :func:`compare`, this passes the caller's own objects, not copies, so
    a test can check afterwards whether the function modified its input (a
    grading proxy writes the changes the student's process made to array
    arguments back into the caller's arrays).
    """
    name = _name_of(function)
    expect(callable(function),
           f"{name} should be a function, but it is a {type(function).__name__}.")
    with _reported(function, case, args, kwargs):
        result, caught = _dispatch(function, "call", args, kwargs)
    return result, [w if hasattr(w, "message") else _ReportedWarning(str(w)) for w in caught]


def _warning_note(caught: list) -> str:
    messages = sorted({str(w.message) for w in caught})
    return "".join(f"\nNumPy warned: {message}." for message in messages)


def compare(
    function: Callable[..., Any],
    reference: Callable[..., Any],
    *args: Any,
    case: str,
    hint: str = "",
    check_dtype: bool = False,
    rtol: float | None = None,
    atol: float | None = None,
    **kwargs: Any,
) -> None:
    """Check ``function(*args, **kwargs)`` against ``reference(*args, **kwargs)``.

    The student's function and the reference each get their own deep copy of
    the arguments, so a function that works in place on its input (``z -=
    z.max()``) is judged on what it returns, and the caller's arrays are left
    as they were. The checks run in order, and the first that fails explains
    itself: the call succeeds; the result is an array of the right shape (and
    dtype, if `check_dtype`); it has no NaN or infinity where the reference
    has none; its values are close. Messages name the `case` ("logits near
    1000", "a batch along axis 0") and end with the author's `hint`. They
    report the size of the error, never the expected numbers.
    """
    name = _name_of(function)
    reference_args, reference_kwargs = _copies(args, kwargs)
    student_args, student_kwargs = _copies(args, kwargs)
    result, caught = call(function, *student_args, case=case, **student_kwargs)
    with quiet():
        expected = np.asarray(reference(*reference_args, **reference_kwargs))
    hint_line = f"\nHint: {hint}" if hint else ""
    expect(
        result is not None,
        f"{name} returned None for {case}.\nDid you forget the `return` statement?",
    )
    try:
        actual = np.asarray(result)
    except Exception:
        raise CheckFailure(
            f"{name} returned a {type(result).__name__} for {case}, not an array."
        ) from None
    expect(
        actual.dtype.kind in "biuf",
        f"{name} returned an array of dtype {actual.dtype} for {case}.\n"
        "The result should hold numbers.",
    )
    expect(
        actual.shape == expected.shape,
        f"{name} returned shape {actual.shape} for {case}.\n"
        f"The output should have shape {expected.shape}.{hint_line}",
    )
    if check_dtype:
        expect(
            actual.dtype == expected.dtype,
            f"{name} returned dtype {actual.dtype} for {case}.\n"
            f"With {_input_dtypes(args)} input, keep the input's precision.{hint_line}",
        )
    # NaN or infinity where the reference is finite is the classic symptom of
    # overflow, so it gets its own message (with NumPy's warning, if any).
    for symptom, bad in (("nan", np.isnan), ("inf", np.isinf)):
        unexpected = bad(actual) & ~bad(expected)
        if unexpected.any():
            raise CheckFailure(
                f"{name} returned {symptom} for {case}.{hint_line}{_warning_note(caught)}"
            )
    tolerance = dict(TOLERANCES.get(np.result_type(expected.dtype, np.float16), TOLERANCES[
        np.dtype(np.float64)]))
    if rtol is not None:
        tolerance["rtol"] = rtol
    if atol is not None:
        tolerance["atol"] = atol
    with quiet():
        close = np.isclose(actual, expected, equal_nan=True, **tolerance)
    if not close.all():
        with quiet():
            error = np.nanmax(np.abs(actual.astype(np.float64) - expected.astype(np.float64)))
        raise CheckFailure(
            f"{name} gave wrong values for {case}.\n"
            f"{np.count_nonzero(~close)} of {close.size} entries are off, the largest "
            f"by {error:.2g}.{hint_line}"
        )


def _input_dtypes(args: Iterable[Any]) -> str:
    dtypes = sorted({str(np.asarray(a).dtype) for a in args if isinstance(a, np.ndarray)})
    return "/".join(dtypes) or "this"


def check_answer(
    value: Any,
    expected: float | np.ndarray,
    *,
    name: str,
    hint: str = "",
    rtol: float = 1e-3,
    atol: float = 1e-8,
) -> None:
    """Check a numeric answer stored in a variable, without revealing it.

    The message says whether the answer is missing, not a number, or wrong,
    and points at the idea behind the question through `hint`.
    """
    hint_text = f"\nHint: {hint}" if hint else ""
    expect(value is not Ellipsis and value is not None, f"`{name}` has no answer yet.{hint_text}")
    try:
        number = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailure(
            f"`{name}` should be a number, but it is a {type(value).__name__}.{hint_text}"
        ) from None
    expected = np.asarray(expected, dtype=np.float64)
    expect(
        number.shape == expected.shape,
        f"`{name}` has shape {number.shape}, but the question asks for shape "
        f"{expected.shape}.{hint_text}",
    )
    expect(
        np.allclose(number, expected, rtol=rtol, atol=atol),
        f"`{name}` is not right yet.{hint_text}",
    )


def _is_option(value: Any, option: Any) -> bool:
    """Whether `value` is `option`: the same text, or the same single number (2 and 2.0 alike).

    Compared with the built-in types' own equality, so neither an array (whose ``==`` gives an
    array) nor a subclass that redefines ``==`` can match by accident or on purpose.
    """
    if isinstance(option, str):
        return isinstance(value, str) and str.__eq__(value, option) is True
    if isinstance(value, (str, bytes, bool, np.bool_)) or not isinstance(
            value, (numbers.Real, np.integer, np.floating)):
        return False
    return float(value) == float(option)


def check_choice(
    value: Any, expected: Any, *, name: str, options: Iterable[Any], hint: str = ""
) -> None:
    """Check a multiple-choice answer: `value` must be one of `options` and equal `expected`."""
    options = list(options)
    hint_text = f"\nHint: {hint}" if hint else ""
    expect(
        any(_is_option(value, option) for option in options),
        f"`{name}` should be one of {options!r}, but it is {_describe_value(value)}.{hint_text}",
    )
    expect(_is_option(value, expected), f"`{name}` is not the right choice.{hint_text}")


def check_number(
    value: Any,
    *,
    name: str,
    whole: bool = False,
    low: float | None = None,
    high: float | None = None,
    why: str = "",
    size: int | None = None,
) -> None:
    """The visible test of a numeric answer: its form is checked, never its value.

    Fails if `value` is missing (still ``...``), is not a real number (with `whole`, not a
    whole number; with `size`, not that many numbers), is not finite, or lies outside
    [`low`, `high`]. The range must be one any right answer satisfies by the nature of the
    question (a probability lies in [0, 1]), so passing reveals nothing; `why` says that
    nature in the failure. On success it prints that only the form was checked: the value
    is graded after submission.
    """
    kind = "whole number" if whole else "number"
    wanted = f"{size} {kind}s" if size is not None else f"a single {kind}"
    expect(value is not Ellipsis and value is not None,
           f"`{name}` has no answer yet.\nReplace the `...` with {wanted}.")
    expect(not isinstance(value, (str, bytes, bool, np.bool_)),
           f"`{name}` should be {wanted}, but it is a {type(value).__name__}.")
    try:
        numbers = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailure(
            f"`{name}` should be {wanted}, but it is a {type(value).__name__}."
        ) from None
    if size is None:
        expect(numbers.ndim == 0, f"`{name}` should be {wanted}, not an array of shape "
                                  f"{numbers.shape}.")
    else:
        expect(numbers.shape == (size,),
               f"`{name}` should be {wanted} (a tuple, say), but it has shape {numbers.shape}.")
    expect(np.all(np.isfinite(numbers)), f"`{name}` should be finite, but it is {value!r}.")
    if whole:
        expect(np.all(numbers == np.round(numbers)),
               f"`{name}` should be a whole number, but it has a fractional part.")
    reason = f"\n{why}" if why else ""
    if low is not None:
        expect(np.all(numbers >= low), f"`{name}` cannot be below {low:g}.{reason}")
    if high is not None:
        expect(np.all(numbers <= high), f"`{name}` cannot be above {high:g}.{reason}")
    print(f"`{name}` has the right form ({wanted}).\n{_GRADED_LATER}")


def check_option(value: Any, *, name: str, options: Iterable[Any]) -> None:
    """The visible test of a multiple-choice answer: it is one of `options`, never which.

    Parameters
    ----------
    value : object
        The student's answer, such as ``sharper_answer``.
    name : str
        The answer's variable name, as the messages show it.
    options : iterable
        The choices the question offers: strings, or numbers (then ``2`` and ``2.0`` are
        the same choice).

    Raises
    ------
    CheckFailure
        If `value` is missing (still ``...``) or is not one of `options` (an array, a
        string where a number is asked, ...); the message lists the options.

    Notes
    -----
    On success it prints that only the form was checked: which option is right is graded
    after submission, by :func:`check_choice` in the hidden test.

    Examples
    --------
    >>> from softmax_course import testing
    >>> testing.check_option("b", name="sharper_answer", options=("a", "b"))
    `sharper_answer` is one of the options ('a' or 'b').
    Only the form is checked here: its value is graded after you submit.
    >>> testing.check_option("c", name="sharper_answer", options=("a", "b"))
    Traceback (most recent call last):
    ...
    softmax_course.testing.CheckFailure: `sharper_answer` should be 'a' or 'b', but it is 'c'.
    """
    options = list(options)
    offered = " or ".join(repr(option) for option in options)
    expect(value is not Ellipsis and value is not None,
           f"`{name}` has no answer yet.\nReplace the `...` with {offered}.")
    expect(any(_is_option(value, option) for option in options),
           f"`{name}` should be {offered}, but it is {_describe_value(value)}.")
    print(f"`{name}` is one of the options ({offered}).\n{_GRADED_LATER}")


def expect_raises(
    function: Callable[..., Any],
    *args: Any,
    error: type[Exception],
    case: str,
    hint: str = "",
    **kwargs: Any,
) -> None:
    """Fail unless ``function(*args, **kwargs)`` raises `error` (or a subclass of it).

    The student's exception is recognised by its class name too, since a grading proxy
    re-raises it as a class of the same name. Another exception is named with its message;
    "not implemented yet" is said as :func:`call` says it.
    """
    name = _name_of(function)
    expect(callable(function),
           f"{name} should be a function, but it is a {type(function).__name__}.")
    hint_line = f"\nHint: {hint}" if hint else ""
    try:
        with _reported(function, case, args, kwargs):
            try:
                _dispatch(function, "call", args, kwargs)
            except Exception as raised:
                if error.__name__ in {kind.__name__ for kind in type(raised).__mro__}:
                    return
                raise
    except CheckFailure as failure:
        headline, _, details = str(failure).partition("\n")
        if " raised " not in headline:
            raise
        raise CheckFailure(f"{headline.removesuffix('.')}, not {error.__name__}.\n{details}"
                           f"{hint_line}") from None
    raise CheckFailure(f"{name} raised no {error.__name__} for {case}.{hint_line}")


# --- memory -------------------------------------------------------------------------------


def _peak_memory_here(function: Callable[..., Any], args: tuple, kwargs: dict) -> int:
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        with quiet():
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            function(*args, **kwargs)
            peak = tracemalloc.get_traced_memory()[1]
    finally:
        if not tracing:
            tracemalloc.stop()
    return max(0, peak - before)


def peak_memory(
    function: Callable[..., Any], *args: Any, case: str | None = None, **kwargs: Any
) -> int:
    """Bytes allocated at the peak of ``function(*args, **kwargs)``, beyond what it started with.

    Measured with :mod:`tracemalloc`, which sees NumPy's array buffers and
    Python's objects (started and stopped around the call, or, if it is
    already tracing, left running with only its peak reset). The call runs
    under :func:`quiet` on deep copies of the arguments; its result counts
    while it exists, since it is allocated during the call.

    With a `case`, a crash gives the same failure as :func:`call` ("not
    implemented yet", "raised ValueError for <case>: ..."). Without one the
    student's exception propagates unchanged: that is what the grader's proxy
    runs in the student's process, so that the checks can report the crash
    with its case.
    """
    name = _name_of(function)
    expect(callable(function),
           f"{name} should be a function, but it is a {type(function).__name__}.")
    args, kwargs = _copies(args, kwargs)
    if case is None:
        return int(_dispatch(function, "peak_memory", args, kwargs))
    with _reported(function, case, args, kwargs):
        return int(_dispatch(function, "peak_memory", args, kwargs))


# --- delegation: which functions are forbidden --------------------------------------------

# Library functions an implementation exercise must not call. Modules that are
# not installed are skipped; torch and jax are only checked when the student's
# code has imported them (importing them here would take seconds).
_LIBRARY_FUNCTIONS = {
    "scipy.special": ["softmax", "log_softmax", "logsumexp", "expit", "log_expit", "entr"],
    "torch": ["softmax", "log_softmax", "logsumexp", "sigmoid"],
    "torch.nn.functional": [
        "softmax",
        "log_softmax",
        "cross_entropy",
        "scaled_dot_product_attention",
        "sigmoid",
    ],
    "jax.nn": ["softmax", "log_softmax", "sigmoid", "dot_product_attention"],
    "jax.scipy.special": ["logsumexp"],
}
_ALWAYS_IMPORTABLE = ("scipy.special",)
# Every function of the course's modules is forbidden, except in these two: the checks
# themselves and the figures.
_COURSE_MODULES_NOT_FORBIDDEN = {"testing", "plotting"}
# Methods that construct an object are reported under the class's name.
_CONSTRUCTORS = {"__new__", "__init__", "__post_init__"}
# A forbidden function is also recognised by the structure of its code (see _structure), so
# that running a copy of its source does not hide it. Not for tiny functions: copying them is
# no easier than writing them, and an honest student's few lines could match by chance.
_FINGERPRINT_MIN_INSTRUCTIONS = 20


def _unwrap(function: Any) -> Any:
    return inspect.unwrap(function) if callable(function) else function


_SKIPPED_OPS = {"NOP", "RESUME", "EXTENDED_ARG", "CACHE"}
_LOCAL_OPS = set(dis.haslocal) | set(dis.hasfree)
_JUMP_OPS = set(dis.hasjrel) | set(dis.hasjabs) | set(getattr(dis, "hasjump", ()))
_CONSTANT_OPS = {"LOAD_CONST", "KW_NAMES", "RETURN_CONST"}
# CPython 3.11 compiles `np.exp(x)` to LOAD_ATTR when `np` comes from an import statement of the
# same source, and to LOAD_METHOD when the function's source is run on its own.
_SAME_OPS = {"LOAD_METHOD": "LOAD_ATTR"}


def _constant_key(value: Any) -> Any:
    if isinstance(value, types.CodeType):
        return ("code", _structure(value)[0])
    if isinstance(value, tuple):
        return ("tuple", *map(_constant_key, value))
    if isinstance(value, frozenset):
        return ("frozenset", *sorted(repr(_constant_key(v)) for v in value))
    return (type(value).__name__, repr(value))


@functools.lru_cache(maxsize=8192)
def _structure(code: types.CodeType) -> tuple[str, int]:
    """A hash of what `code` does, and its number of instructions.

    The hash covers the instructions, the global and attribute names they use
    and the constants they load (nested functions by their own hash). It leaves
    out the file and line numbers, the function's name, its docstring, the
    names of its local variables and the difference between a method load and
    an attribute load, so re-running a function's source, alone or with its
    module, with renamed locals or under another name, gives the same hash.
    """
    instructions = [i for i in dis.get_instructions(code) if i.opname not in _SKIPPED_OPS]
    offsets = [i.offset for i in instructions]
    shape = []
    for instruction in instructions:
        if instruction.opcode in _LOCAL_OPS:
            argument = instruction.arg  # the slot, not the variable's name
        elif instruction.opcode in _JUMP_OPS:
            argument = bisect.bisect_left(offsets, instruction.argval)  # the target instruction
        elif instruction.opname in _CONSTANT_OPS:
            argument = _constant_key(instruction.argval)
        elif instruction.arg is None:
            argument = None
        else:
            argument = instruction.argval
        shape.append((_SAME_OPS.get(instruction.opname, instruction.opname), argument))
    digest = hashlib.sha256(repr(shape).encode()).hexdigest()
    return digest, len(instructions)


def _fingerprint(code: types.CodeType) -> str | None:
    digest, size = _structure(code)
    return digest if size >= _FINGERPRINT_MIN_INSTRUCTIONS else None


class _Forbidden:
    """The functions a delegation check looks for: by identity, and by fingerprint."""

    def __init__(self) -> None:
        self.labels: dict[int, str] = {}  # id of a function, its code or a builtin -> label
        self.fingerprints: dict[str, str] = {}
        self._keep: list[Any] = []  # the objects behind the ids, kept alive so ids stay unique

    def add(self, function: Any, label: str, *, fingerprint: bool = True) -> None:
        function = _unwrap(function)
        self._keep.append(function)
        self.labels.setdefault(id(function), label)
        code = getattr(function, "__code__", None)
        if isinstance(code, types.CodeType):
            self.labels.setdefault(id(code), label)
            found = _fingerprint(code) if fingerprint else None
            if found is not None:
                self.fingerprints.setdefault(found, label)

    def keep(self, objects: Iterable[Any]) -> None:
        self._keep.extend(objects)

    def label_of_code(self, code: types.CodeType) -> str | None:
        label = self.labels.get(id(code))
        if label is None:
            found = _fingerprint(code)
            label = self.fingerprints.get(found) if found is not None else None
        return label

    def label_of_object(self, obj: Any) -> str | None:
        obj = _unwrap(obj)
        label = self.labels.get(id(obj))
        if label is None and isinstance(obj, types.FunctionType):
            label = self.label_of_code(obj.__code__)
        return label


@functools.lru_cache(maxsize=1)
def _course_module_names() -> tuple[str, ...]:
    import softmax_course

    return tuple(
        f"softmax_course.{info.name}"
        for info in pkgutil.iter_modules(softmax_course.__path__)
        if info.name not in _COURSE_MODULES_NOT_FORBIDDEN
    )


@functools.cache
def _import_if_installed(module_name: str) -> None:
    with contextlib.suppress(ImportError):
        importlib.import_module(module_name)


# The fingerprints of some modules' functions, handed in from outside (see
# _use_precomputed_fingerprints): module names -> their functions' fingerprints.
_precomputed: tuple[frozenset[str], dict[str, str]] = (frozenset(), {})


def _precomputed_fingerprints() -> dict[str, Any]:
    """The fingerprints this process computes for the course's modules and SciPy's, as plain data
    for :func:`_use_precomputed_fingerprints` in another process running the same code.

    The grader calls it once per worker and hands the result to every sandboxed process it
    starts, which then neither imports ``scipy.special`` (0.15 s) nor fingerprints every course
    function (0.05 s) again: most of the first delegation check's time in each submission.
    """
    table = _forbidden()
    modules = sorted(name for name in (*_course_module_names(), *_ALWAYS_IMPORTABLE)
                     if name in sys.modules)
    return {"modules": modules, "fingerprints": dict(table.fingerprints)}


def _use_precomputed_fingerprints(data: dict[str, Any]) -> None:
    """Take the fingerprints of :func:`_precomputed_fingerprints` (from a process running the same
    code) instead of computing them; functions are still recognised by identity here. Call it
    before the first delegation check."""
    global _precomputed
    modules, fingerprints = data["modules"], data["fingerprints"]
    if not (isinstance(modules, list) and all(type(m) is str for m in modules)
            and isinstance(fingerprints, dict)
            and all(type(k) is str and type(v) is str for k, v in fingerprints.items())):
        raise TypeError("precomputed fingerprints are a list of module names and a dict of str")
    _precomputed = (frozenset(modules), dict(fingerprints))
    _build_forbidden.cache_clear()


def _forbidden() -> _Forbidden:
    """The forbidden functions now: which modules are imported decides what can be called."""
    names = _course_module_names()
    covered = _precomputed[0]
    for module_name in (*names, *_ALWAYS_IMPORTABLE):
        if module_name not in covered:  # a covered module is fingerprinted already
            _import_if_installed(module_name)
    key = tuple((module_name, id(sys.modules.get(module_name)))
                for module_name in (*names, *_LIBRARY_FUNCTIONS))
    return _build_forbidden(key)


def _methods(member: Any) -> Iterator[Any]:
    """The functions behind a class attribute: a method, a static or class method, a property."""
    if isinstance(member, property):
        yield from (f for f in (member.fget, member.fset, member.fdel) if f is not None)
    elif isinstance(member, (staticmethod, classmethod)):
        yield member.__func__
    elif inspect.isfunction(member):
        yield member


@functools.lru_cache(maxsize=8)
def _build_forbidden(key: tuple[tuple[str, int], ...]) -> _Forbidden:
    """Build the table for the modules in `key` (names and ids: a new module is a new table)."""
    import softmax_course

    forbidden = _Forbidden()
    covered, fingerprints = _precomputed
    forbidden.fingerprints.update(fingerprints)
    # The modules stay alive with the table, so no other module can take one's id and key.
    forbidden.keep(sys.modules.get(module_name) for module_name, _ in key)
    public = {id(getattr(softmax_course, n)): n for n in softmax_course.__all__}
    for module_name, _ in key:
        module = sys.modules.get(module_name)
        if module is None or not module_name.startswith("softmax_course."):
            continue
        for member in list(vars(module).values()):
            if getattr(member, "__module__", None) != module_name:
                continue  # imported from elsewhere
            if id(member) in public:
                prefix = f"softmax_course.{public[id(member)]}"
            else:
                prefix = f"{module_name}.{getattr(member, '__qualname__', '')}"
            if inspect.isfunction(member):
                forbidden.add(member, prefix, fingerprint=module_name not in covered)
            elif inspect.isclass(member):
                # A class's methods do the work too (OnlineSoftmaxState.merge, ...).
                for method_name, attribute in vars(member).items():
                    label = prefix if method_name in _CONSTRUCTORS else f"{prefix}.{method_name}"
                    for function in _methods(attribute):
                        # Methods that dataclasses writes (__init__, __repr__, ...) are
                        # the same for any class with these fields: identity only.
                        written_here = getattr(function.__code__, "co_filename", None) == getattr(
                            module, "__file__", "")
                        forbidden.add(function, label,
                                      fingerprint=written_here and module_name not in covered)
    for module_name, function_names in _LIBRARY_FUNCTIONS.items():
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for function_name in function_names:
            if hasattr(module, function_name):
                forbidden.add(getattr(module, function_name), f"{module_name}.{function_name}",
                              fingerprint=module_name not in covered)
    return forbidden


def label_of(function: Callable[..., Any]) -> str:
    """The name a delegation check gives `function`, such as ``"softmax_course.softmax"``.

    Forbidden functions get the label their failure message shows (course
    functions by their public name, private helpers by module, class methods
    by class); any other function gets ``module.qualified_name``. The labels
    are what :func:`delegated_calls` returns and what its `allow` accepts.
    """
    label = _forbidden().label_of_object(function)
    if label is not None:
        return label
    function = _unwrap(function)
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None) or _name_of(function)
    return f"{module}.{qualname}" if module else qualname


# --- delegation: watching the calls -------------------------------------------------------

# Audit events that start a thread or a process, or change the call tracer. CPython 3.11 has
# no audit event for starting a thread (3.13 adds one); the profiler below sees those starts.
_THREAD_EVENTS = {"_thread.start_new_thread", "_thread.start_joinable_thread"}
_PROCESS_EVENTS = {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec",
                   "os.system", "os.startfile", "subprocess.Popen"}
_TRACER_EVENTS = {"sys.setprofile", "sys.settrace",
                  "sys._setprofileallthreads", "sys._settraceallthreads"}
_WATCHED_EVENTS = frozenset(_THREAD_EVENTS | _PROCESS_EVENTS | _TRACER_EVENTS)
_THREAD_STARTERS = {id(getattr(_thread, name)) for name in
                    ("start_new_thread", "start_new", "start_joinable_thread")
                    if hasattr(_thread, name)}

# An audit hook cannot be removed, so one is installed per process, the first time a
# delegation check runs; it records only for the checks running at that moment, and only
# events raised by the thread that runs the check.
_audit_watchers: list[tuple[int, list[str]]] = []
_audit_hook_installed = False


def _audit_hook(event: str, args: tuple) -> None:
    if event in _WATCHED_EVENTS and _audit_watchers:
        ident = _thread.get_ident()
        for owner, events in tuple(_audit_watchers):
            if owner == ident:
                events.append(event)


def _watch_audit_events(events: list[str]) -> tuple[int, list[str]]:
    global _audit_hook_installed
    if not _audit_hook_installed:
        sys.addaudithook(_audit_hook)
        _audit_hook_installed = True
    watcher = (_thread.get_ident(), events)
    _audit_watchers.append(watcher)
    return watcher


def _stop_watching(watcher: tuple[int, list[str]]) -> None:
    for index, entry in enumerate(_audit_watchers):
        if entry is watcher:
            del _audit_watchers[index]
            return


def _referenced_objects(
    function: Any, follow: Callable[[Any], bool], depth: int = 3
) -> Iterator[Any]:
    """Objects a function can reach by name: globals, closure cells and defaults.

    Follows other plain functions found that way a few levels deep, so
    ``helper = scipy.special.softmax`` one function away is still seen; does
    not follow into the functions `follow` rejects (the course's and the
    libraries' own, allowed or not).
    """
    seen: set[int] = set()
    frontier = [function]
    for _ in range(depth):
        next_frontier = []
        for current in frontier:
            current = _unwrap(current)
            if id(current) in seen or not isinstance(current, types.FunctionType):
                continue
            seen.add(id(current))
            found = [current.__globals__.get(n) for n in _all_names(current.__code__)]
            found += [cell.cell_contents for cell in (current.__closure__ or ())
                      if _cell_is_set(cell)]
            found += list(current.__defaults__ or ())
            for obj in found:
                if obj is not None:
                    yield obj
                    if follow(obj):
                        next_frontier.append(obj)
        frontier = next_frontier


def _cell_is_set(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018 -- an empty cell raises ValueError
    except ValueError:
        return False
    return True


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    """`code` and the code nested in it (functions, lambdas, comprehensions)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _all_names(code: types.CodeType) -> Iterator[str]:
    for nested in _codes(code):
        yield from nested.co_names


def _is_module_level_builtin(obj: Any) -> bool:
    """A builtin function of a module or class (torch.softmax), not a method of some object."""
    return isinstance(obj, types.BuiltinFunctionType) and (
        obj.__self__ is None or isinstance(obj.__self__, (types.ModuleType, type)))


def _import_libraries_it_mentions(function: Callable[..., Any]) -> None:
    """Import the always-checked libraries (``scipy.special``) that were left out because their
    fingerprints came precomputed, when the function, or a function it reaches by name, mentions
    them. An import made while the calls are watched fingerprints every function it runs (seconds
    for SciPy), so a function that imports SciPy itself would run out of time instead of being
    told what it uses."""
    missing = [name for name in _ALWAYS_IMPORTABLE
               if name in _precomputed[0] and name not in sys.modules]
    if not missing:
        return
    reached = [function, *_referenced_objects(function, follow=inspect.isfunction)]
    words: set[str] = set()
    for obj in reached:
        obj = _unwrap(obj)
        if isinstance(obj, types.ModuleType):
            words.add(obj.__name__)
        elif isinstance(obj, types.FunctionType):
            # An import's module name is a name or a string: __import__("scipy.special").
            for code in _codes(obj.__code__):
                words.update(code.co_names)
                words.update(const for const in code.co_consts if isinstance(const, str))
    for name in missing:
        package = name.partition(".")[0]
        if any(package in word for word in words):
            _import_if_installed(name)


@dataclasses.dataclass
class _Watched:
    """One call of a function under the delegation watch, and what the watch saw.

    `labels` are the forbidden functions it reached (less the allowed ones); `unwatchable`
    says why its calls could not all be seen ("starts a thread", ...), or is None.
    """

    labels: list[str]
    unwatchable: str | None
    result: Any = None
    error: Exception | None = None

    def value(self) -> Any:
        """The call's result, or the exception it raised, raised again."""
        if self.error is not None:
            raise self.error
        return self.result


_CANNOT_CHECK = "so its calls cannot be checked.\nWrite the computation directly."
# Why a call could not be watched, by priority: what _watched_call reports, and the grader's
# checker accepts from a student's process.
_STARTS_A_THREAD = "starts a thread"
_STARTS_A_PROCESS = "starts a process"
_TURNS_OFF_THE_TRACER = "turns off the call tracer"
_UNWATCHABLE_REASONS = (_STARTS_A_THREAD, _STARTS_A_PROCESS, _TURNS_OFF_THE_TRACER)


def _delegation_failure(name: str, labels: Iterable[str]) -> str:
    """What a check says of a function that used the forbidden functions `labels`."""
    return (f"{name} uses {', '.join(sorted(labels))}.\nThis exercise asks you to write the "
            "computation yourself with NumPy operations (np.exp, np.max, np.sum, ...).")


def _unwatchable_failure(name: str, reason: str) -> str:
    """What a check says of a function whose calls could not be watched, and why."""
    return f"{name} {reason}, {_CANNOT_CHECK}"


def _delegated_calls_here(
    function: Callable[..., Any], args: tuple, kwargs: dict, allow: list[str]
) -> list[str]:
    with quiet():
        watched = _watched_call(function, args, kwargs, allow)
    # Correctness is another check's job: here only the calls matter.
    if watched.unwatchable is not None:
        raise CheckFailure(_unwatchable_failure(_name_of(function), watched.unwatchable))
    return watched.labels


def _callables_in(value: Any, depth: int = 3) -> Iterator[Any]:
    """The callables among `value`, a call's arguments, and in its lists, tuples and dicts."""
    if callable(value):
        yield value
    elif depth and isinstance(value, list | tuple | dict):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _callables_in(item, depth - 1)


def _watched_call(
    function: Callable[..., Any], args: tuple, kwargs: dict, allow: Iterable[str] = ()
) -> _Watched:
    """Call ``function(*args, **kwargs)`` and watch which forbidden functions it reaches.

    Its exceptions are kept in the answer, not raised; the caller decides what to do with
    warnings (the grader's runtime calls this under :func:`quiet`).
    """
    result: Any = None
    error: Exception | None = None
    _import_libraries_it_mentions(function)
    table = _forbidden()
    # A forbidden function the caller passes in (the function to differentiate, say) is the
    # caller's choice, not a delegation: it is allowed for this call. Any other callable passed
    # in is watched inside like the student's own code, since the student chooses what it is
    # called with (an object whose methods call a library, say).
    allowed = set(allow) | {label for label in map(table.label_of_object,
                                                   _callables_in((args, kwargs)))
                            if label is not None}
    owner = _thread.get_ident()
    get_ident = _thread.get_ident
    reached: set[str] = set()
    codes: dict[int, tuple[types.CodeType, str | None]] = {}  # looked up already (kept alive)
    builtins: dict[int, Any] = {}  # module-level builtins called, for a table built later
    outermost: types.FrameType | None = None  # the course or library function running now
    thread_started = False
    finished = False

    def profiler(frame: types.FrameType, event: str, arg: Any) -> None:
        nonlocal outermost, thread_started
        if get_ident() != owner:
            # threading.setprofile hands this profiler to threads started during the call.
            if finished:
                sys.setprofile(None)  # a thread that outlives the check stops being profiled
            else:
                thread_started = True
            return
        if finished:
            return
        if event == "c_call" and id(arg) in _THREAD_STARTERS:
            thread_started = True
        if outermost is not None:
            # Inside a course or library function: what it calls is its own business.
            if event == "return" and frame is outermost:
                outermost = None
            return
        if event == "call":
            code = frame.f_code
            entry = codes.get(id(code))
            if entry is None:
                entry = codes[id(code)] = (code, table.label_of_code(code))
            label = entry[1]
            if label is not None:
                outermost = frame
        elif event == "c_call":
            label = table.labels.get(id(arg))
            if label is None and _is_module_level_builtin(arg):
                builtins[id(arg)] = arg
        else:
            return
        if label is not None and label not in allowed:
            reached.add(label)

    previous_profile, previous_trace = sys.getprofile(), sys.gettrace()
    previous_thread_profile = threading.getprofile()
    audit_events: list[str] = []
    threading.setprofile(profiler)
    sys.setprofile(profiler)
    watcher = _watch_audit_events(audit_events)
    try:
        result = function(*args, **kwargs)
    except Exception as raised:  # the caller's to judge, with the calls it made
        error = raised
    finally:
        finished = True
        _stop_watching(watcher)
        tracer_changed = (sys.getprofile() is not profiler
                          or threading.getprofile() is not profiler
                          or sys.gettrace() is not previous_trace)
        sys.setprofile(previous_profile)
        threading.setprofile(previous_thread_profile)
        if sys.gettrace() is not previous_trace:
            sys.settrace(previous_trace)

    unwatchable = None
    if thread_started or _THREAD_EVENTS.intersection(audit_events):
        unwatchable = _STARTS_A_THREAD
    elif _PROCESS_EVENTS.intersection(audit_events):
        unwatchable = _STARTS_A_PROCESS
    elif tracer_changed or _TRACER_EVENTS.intersection(audit_events):
        unwatchable = _TURNS_OFF_THE_TRACER

    # The student's code may have imported torch or jax during the call: look again.
    latest = _forbidden()
    if latest is not table:
        labels = [latest.label_of_code(code) for code, label in codes.values() if label is None]
        labels += [latest.labels.get(id(builtin)) for builtin in builtins.values()]
        reached |= {label for label in labels if label is not None and label not in allowed}
    # Names resolve to compiled functions too (scipy.special.expit is a ufunc, which the
    # profiler does not report).
    for obj in _referenced_objects(function, follow=lambda o: latest.label_of_object(o) is None):
        label = latest.label_of_object(obj)
        if label is not None and label not in allowed:
            reached.add(label)
    return _Watched(sorted(reached), unwatchable, result, error)


def delegated_calls(
    function: Callable[..., Any],
    *args: Any,
    allow: Iterable[Callable[..., Any] | str] = (),
    **kwargs: Any,
) -> list[str]:
    """The sorted labels of the forbidden functions that ``function(*args, **kwargs)`` uses.

    Forbidden are every function and method of the course's modules (private
    helpers included; not :mod:`checks` and :mod:`plotting`) and the softmax
    family of SciPy, PyTorch and JAX. Two complementary checks find them:
    every call made while the function runs on deep copies of the arguments
    (quietly; its exceptions are ignored, correctness is another check's job)
    is watched with :func:`sys.setprofile`, which identifies a function by its
    code object, or for a fresh copy of a forbidden function's source, by the
    structure of its code; and the names the student's function refers to are
    resolved, which also catches compiled functions the profiler cannot
    attribute. Only the outermost forbidden call is reported: what
    ``softmax_course.flash_attention`` calls inside is its own business.

    `allow` lists functions the part may use, as callables or labels (see
    :func:`label_of`); whatever an allowed function calls inside is allowed too.
    A forbidden function passed in the arguments (the function to differentiate)
    is allowed for that call.

    On a grading proxy the answer also counts the student's earlier calls of
    the function (the grader watches every call), and from then on each call
    that uses a forbidden function fails with the same message.

    Raises :class:`CheckFailure` if the function starts a thread or a process,
    or turns off the call tracer (``sys.setprofile``, ``sys.settrace``,
    ``threading.setprofile``): its calls could then not be watched.
    """
    labels = sorted({item if isinstance(item, str) else label_of(item) for item in allow})
    args, kwargs = _copies(args, kwargs)
    try:
        return sorted(_dispatch(function, "delegated_calls", args, kwargs, labels))
    except Exception as error:
        # A proxy re-raises the check's own failure as an exception class of the same name.
        if type(error).__name__ == CheckFailure.__name__ and not isinstance(error, CheckFailure):
            raise CheckFailure(str(error)) from None
        raise


def forbid_delegation(
    function: Callable[..., Any],
    *args: Any,
    allow: Iterable[Callable[..., Any] | str] = (),
    **kwargs: Any,
) -> None:
    """Fail if ``function(*args, **kwargs)`` calls a library softmax instead of implementing it.

    See :func:`delegated_calls` for what is found and how, and for `allow`.
    Renaming a function first does not hide it, nor does running a copy of its
    source; a function that starts a thread or a process, or turns off the call
    tracer, fails too.
    """
    used = delegated_calls(function, *args, allow=allow, **kwargs)
    expect(not used, _delegation_failure(_name_of(function), used))


_HERE: dict[str, Callable[..., Any]] = {
    "call": _call_here,
    "delegated_calls": _delegated_calls_here,
    "peak_memory": _peak_memory_here,
}
