"""Checks for the course's exercises: friendly failures that never give the answer away.

The exercise notebooks test a student's code with these helpers, in the visible
tests and in the hidden ones. Each check raises :class:`AssertionError` with a
message that says *what* went wrong on *which kind of input* and, through a
hint written by the exercise author, *where to look*. No message contains the
expected value, and the checks are generic, so this module can be public: the
specific hidden inputs live only in the instructor's notebooks.

Two details matter for autograding with nbgrader:

* nbgrader scores a test cell 0 if it writes anything to stderr, and a naive
  softmax on large logits makes NumPy warn about overflow. Every call into a
  student's function therefore runs under :func:`quiet`, which records
  warnings instead of printing them; a recorded warning becomes part of the
  failure message when it explains the failure.
* A part that asks for an implementation must not be passed by calling a
  library's softmax. :func:`forbid_delegation` watches every call the
  student's function makes, so renaming a library function first does not
  hide it.

Examples
--------
>>> import numpy as np
>>> from softmax_course import checks
>>> def naive(z, axis=-1):
...     e = np.exp(z)
...     return e / e.sum(axis=axis, keepdims=True)
>>> def reference(z, axis=-1):
...     e = np.exp(z - z.max(axis=axis, keepdims=True))
...     return e / e.sum(axis=axis, keepdims=True)
>>> checks.compare(naive, reference, np.array([1000.0, 999.0]), case="logits near 1000",
...                hint="did you subtract the max?")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
softmax_course.checks.CheckFailure: naive returned nan for logits near 1000: did you subtract...
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import sys
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
    "compare",
    "expect",
    "forbid_delegation",
    "quiet",
]

# Tolerances for comparing a student's float result with the reference. They
# are loose enough for any reasonable order of operations (the student may sum
# in another order, or divide instead of subtracting logs) and tight enough to
# catch a wrong formula, a wrong axis or a lost digit.
TOLERANCES = {
    np.dtype(np.float16): {"rtol": 1e-2, "atol": 1e-3},
    np.dtype(np.float32): {"rtol": 1e-4, "atol": 1e-6},
    np.dtype(np.float64): {"rtol": 1e-7, "atol": 1e-10},
}


class CheckFailure(AssertionError):
    """A failed check; the message says what to fix."""


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


def call(function: Callable[..., Any], *args: Any, case: str, **kwargs: Any) -> tuple[Any, list]:
    """Call a student's function quietly and turn crashes into helpful failures.

    Returns ``(result, warnings)``. A ``NotImplementedError`` becomes "not
    implemented yet"; any other exception is reported with its type and
    message together with the `case` that triggered it.
    """
    name = _name_of(function)
    expect(callable(function),
           f"{name} should be a function, but it is a {type(function).__name__}.")
    with quiet() as caught:
        try:
            result = function(*args, **kwargs)
        except NotImplementedError:
            raise CheckFailure(
                f"{name} is not implemented yet: replace `raise NotImplementedError()` "
                "with your code."
            ) from None
        except Exception as error:  # a student's bug, reported as a failed check
            raise CheckFailure(
                f"{name} raised {type(error).__name__} for {case}: {error}"
            ) from None
    return result, list(caught)


def _warning_note(caught: list[warnings.WarningMessage]) -> str:
    messages = sorted({str(w.message) for w in caught})
    return f" (NumPy warned: {'; '.join(messages)})" if messages else ""


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

    The checks run in order, and the first that fails explains itself:
    the call succeeds; the result is an array of the right shape (and dtype,
    if `check_dtype`); it has no NaN or infinity where the reference has
    none; its values are close. Messages name the `case` ("logits near
    1000", "a batch along axis 0") and end with the author's `hint`. They
    report the size of the error, never the expected numbers.
    """
    name = _name_of(function)
    result, caught = call(function, *args, case=case, **kwargs)
    with quiet():
        expected = np.asarray(reference(*args, **kwargs))
    hint_text = f": {hint}" if hint else "."
    expect(
        result is not None,
        f"{name} returned None for {case}. Did you forget the `return` statement?",
    )
    try:
        actual = np.asarray(result)
    except Exception:
        raise CheckFailure(
            f"{name} returned a {type(result).__name__} for {case}, not an array."
        ) from None
    expect(
        actual.dtype.kind in "biuf",
        f"{name} returned an array of dtype {actual.dtype} for {case}, not numbers.",
    )
    expect(
        actual.shape == expected.shape,
        f"{name} returned shape {actual.shape} for {case}; "
        f"the output should have shape {expected.shape}{hint_text}",
    )
    if check_dtype:
        expect(
            actual.dtype == expected.dtype,
            f"{name} returned dtype {actual.dtype} for {case} with {_input_dtypes(args)} input; "
            f"keep the input's precision{hint_text}",
        )
    # NaN or infinity where the reference is finite is the classic symptom of
    # overflow, so it gets its own message (with NumPy's warning, if any).
    for symptom, bad in (("nan", np.isnan), ("inf", np.isinf)):
        unexpected = bad(actual) & ~bad(expected)
        if unexpected.any():
            raise CheckFailure(
                f"{name} returned {symptom} for {case}{hint_text}{_warning_note(caught)}"
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
            f"{name} gave wrong values for {case} "
            f"({np.count_nonzero(~close)} of {close.size} entries off, largest error "
            f"{error:.2g}){hint_text}"
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
    hint_text = f" Hint: {hint}" if hint else ""
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


def check_choice(
    value: Any, expected: Any, *, name: str, options: Iterable[Any], hint: str = ""
) -> None:
    """Check a multiple-choice answer: `value` must be one of `options` and equal `expected`."""
    options = list(options)
    hint_text = f" Hint: {hint}" if hint else ""
    expect(
        value in options,
        f"`{name}` should be one of {options!r}, but it is {value!r}.{hint_text}",
    )
    expect(value == expected, f"`{name}` is not the right choice.{hint_text}")


# --- delegation -----------------------------------------------------------------------

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
_ALWAYS_IMPORTABLE = {"scipy.special"}


def _forbidden_callables(allow: Iterable[Callable[..., Any]]) -> dict[object, str]:
    """Map each forbidden function (and its code object) to a readable name."""
    import softmax_course  # the course's own reference implementations

    allowed = {id(_unwrap(f)) for f in allow}
    forbidden: dict[object, str] = {}

    def add(function: Any, label: str) -> None:
        function = _unwrap(function)
        if id(function) in allowed:
            return
        forbidden[id(function)] = label
        code = getattr(function, "__code__", None)
        if code is not None:
            forbidden[id(code)] = label

    for public_name in softmax_course.__all__:
        member = getattr(softmax_course, public_name)
        if inspect.isfunction(member):
            add(member, f"softmax_course.{public_name}")
        elif inspect.isclass(member):
            # A reference class's methods do the work too (OnlineSoftmaxState.merge, ...).
            for method_name, method in vars(member).items():
                function = getattr(method, "__func__", method)
                if isinstance(method, property):
                    function = method.fget
                if inspect.isfunction(function):
                    add(function, f"softmax_course.{public_name}.{method_name}")
    for module_name, names in _LIBRARY_FUNCTIONS.items():
        module = sys.modules.get(module_name)
        if module is None and module_name in _ALWAYS_IMPORTABLE:
            with contextlib.suppress(ImportError):
                module = importlib.import_module(module_name)
        if module is None:
            continue
        for function_name in names:
            if hasattr(module, function_name):
                add(getattr(module, function_name), f"{module_name}.{function_name}")
    return forbidden


def _unwrap(function: Any) -> Any:
    return inspect.unwrap(function) if callable(function) else function


def _referenced_objects(function: Any, depth: int = 3) -> Iterator[Any]:
    """Objects a function can reach by name: globals, closure cells and defaults.

    Follows other plain functions found that way a few levels deep, so
    ``helper = scipy.special.softmax`` one function away is still seen.
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
                    next_frontier.append(obj)
        frontier = next_frontier


def _cell_is_set(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018 -- an empty cell raises ValueError
    except ValueError:
        return False
    return True


def _all_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _all_names(const)


def forbid_delegation(
    function: Callable[..., Any],
    *args: Any,
    allow: Iterable[Callable[..., Any]] = (),
    **kwargs: Any,
) -> None:
    """Fail if `function` calls a library softmax instead of implementing it.

    Two complementary checks: every function called (at any depth) while
    ``function(*args, **kwargs)`` runs is watched with :func:`sys.setprofile`,
    which identifies functions by their code object, so a renamed alias is
    still recognised; and the names the student's function refers to are
    resolved, which also catches compiled functions the profiler cannot
    attribute. Functions in `allow` may be used.
    """
    name = _name_of(function)
    called_code: set[int] = set()
    called_builtins: set[int] = set()
    # Whatever an allowed function does inside is its own business: a course
    # function may call other course functions.
    allowed_code = {id(_unwrap(f).__code__) for f in allow if hasattr(_unwrap(f), "__code__")}
    depth_inside_allowed = 0

    def profiler(frame: types.FrameType, event: str, arg: Any) -> None:
        nonlocal depth_inside_allowed
        if event == "call":
            if id(frame.f_code) in allowed_code:
                depth_inside_allowed += 1
            elif not depth_inside_allowed:
                called_code.add(id(frame.f_code))
        elif event == "return":
            if id(frame.f_code) in allowed_code:
                depth_inside_allowed -= 1
        elif event == "c_call" and not depth_inside_allowed:
            called_builtins.add(id(arg))

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        with quiet():
            function(*args, **kwargs)
    except Exception:
        # Correctness is another check's job; here only the calls matter.
        pass
    finally:
        sys.setprofile(previous)

    # Build the list after the call: the student's code may have imported torch.
    forbidden = _forbidden_callables(allow)
    used = {forbidden[i] for i in (called_code | called_builtins) if i in forbidden}
    used |= {forbidden[id(_unwrap(obj))] for obj in _referenced_objects(function)
             if id(_unwrap(obj)) in forbidden}
    expect(
        not used,
        f"{name} uses {', '.join(sorted(used))}. This exercise asks you to write the "
        "computation yourself with NumPy operations (np.exp, np.max, np.sum, ...).",
    )
