"""Plain data across the sandbox wall: the only things a student's process may hand back.

A student's process answers the trusted checker with values: arrays, numbers,
strings and containers of them. Nothing else crosses, so no object of the
student's making (a ``str`` whose ``==`` is always true, an array subclass, a
lazy proxy) ever reaches the code that decides a score.

The encoding is JSON with NumPy arrays as ``.npy`` bytes (read back with
``allow_pickle=False``). :func:`decode` is strict and bounded: it rebuilds
exact built-in types only and refuses anything deeper, larger or stranger
than the limits below. :func:`encode` runs on both sides; on the student's
side it lowers subclasses of the plain types to the plain value and reports
them, so the grader can name an object with rigged comparisons.

Callables only travel the other way (the checker passes a test's function to
the student's code, as in ``numerical_jacobian(f, z)``): they are pickled by
the trusted side with cloudpickle and loaded by the student's process, never
the reverse.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np

MAX_DEPTH = 16
MAX_ITEMS = 100_000
MAX_BYTES = 256 * 2**20
_NUMERIC_KINDS = "biufc"
# NumPy's own scalar types; a subclass of one (whatever its __module__ says) is lowered.
_NUMPY_SCALAR_TYPES = frozenset(np.sctypeDict.values())


class CodecError(ValueError):
    """A value that cannot cross the sandbox wall, or a message that is not valid data."""


class Unsupported:
    """Stands in for a student's value that is not plain data (a class instance, a module...).

    Every use of it fails with a message naming what it was, so a test that
    touches it fails the way a wrong answer does.
    """

    def __init__(self, description: str) -> None:
        self.description = description

    def __repr__(self) -> str:
        return f"<{self.description}>"

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"the grader cannot use {self.description}: use plain numbers, "
                        "strings, lists, tuples or NumPy arrays")

    __call__ = __getitem__ = __iter__ = __len__ = __float__ = __int__ = __index__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _refuse
    __array__ = _refuse

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


def encode(value: Any, *, lowered: list[str] | None = None, callables: bool = False) -> bytes:
    """Bytes for `value`; subclasses of plain types are lowered and listed in `lowered`.

    With `callables`, functions are pickled (trusted side only). A value that
    cannot be sent, whatever the reason (more items or bytes than :func:`decode`
    accepts, an integer too long to write out, a value too large for the memory
    left), raises :class:`CodecError`, so the sender can answer "unsupported"
    for that one value instead of sending what the other side must refuse, or
    dying.
    """
    try:
        tree = _to_json(value, lowered if lowered is not None else [], callables, 0, [0])
        data = json.dumps(tree, allow_nan=True).encode()
    except CodecError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as error:
        raise CodecError(f"the value cannot be sent ({type(error).__name__})") from None
    if len(data) > MAX_BYTES:
        raise CodecError(f"a value of {len(data)} bytes is larger than the limit")
    return data


def decode(data: bytes, *, callables: bool = False) -> Any:
    """The value encoded in `data`, built from exact plain types only.

    With `callables`, pickled functions are loaded (student side only: the
    bytes come from the trusted checker).
    """
    if len(data) > MAX_BYTES:
        raise CodecError(f"a value of {len(data)} bytes is larger than the limit")
    try:
        tree = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise CodecError(f"not valid data: {error}") from None
    counter = [0]
    try:
        return _from_json(tree, callables, 0, counter)
    except CodecError:
        raise
    except (ValueError, TypeError, OverflowError) as error:  # {"__float__": "x"}, a huge int...
        raise CodecError(f"not valid data: {type(error).__name__}") from None


def _to_json(value: Any, lowered: list[str], callables: bool, depth: int,
             counter: list[int]) -> Any:
    counter[0] += 1  # as decode counts, so that what is sent can be received
    if depth > MAX_DEPTH or counter[0] > MAX_ITEMS:
        raise CodecError("the value is nested too deeply or has too many items")
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return {"__int__": str(value)} if abs(value) >= 2**53 else value
    if kind is float:
        return {"__float__": repr(value)}
    if kind is complex:
        return {"__complex__": [repr(value.real), repr(value.imag)]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if kind is np.ndarray:
        return _array_to_json(value)
    if kind in _NUMPY_SCALAR_TYPES:
        return {"__npscalar__": _array_to_json(np.asarray(value))}
    if kind in (list, tuple):
        items = [_to_json(item, lowered, callables, depth + 1, counter) for item in value]
        return {"__tuple__": items} if kind is tuple else {"__list__": items}
    if kind is dict:
        if not all(type(key) is str for key in value):
            raise CodecError("only dictionaries with string keys can be passed")
        return {"__dict__": {key: _to_json(item, lowered, callables, depth + 1, counter)
                             for key, item in value.items()}}
    if callables and callable(value):
        import cloudpickle  # trusted side only: a test's helper function for the student's code

        return {"__callable__": base64.b64encode(cloudpickle.dumps(value)).decode()}
    plain = _lower(value)
    if plain is not None:
        lowered.append(f"a {kind.__name__} (a subclass of {type(plain).__name__})")
        return _to_json(plain, lowered, callables, depth, counter)
    raise CodecError(f"a value of type {kind.__name__} is not plain data")


def _lower(value: Any) -> Any:
    """The plain value inside a subclass of a plain type, or None if it is not one."""
    # The base type's own __repr__/__str__, so an override in the subclass is not consulted, and
    # the real type (issubclass), not isinstance, which a `__class__` property can fool.
    kind = type(value)
    if issubclass(kind, np.generic):
        return np.asarray(value)[()]  # NumPy's scalar of the same dtype; no override is called
    if issubclass(kind, str):
        return str.__str__(value)
    for base in (int, float, complex):
        if issubclass(kind, base):
            return base(base.__repr__(value))
    if issubclass(kind, np.ndarray):
        return np.array(np.ndarray.view(value, np.ndarray), copy=True)
    if issubclass(kind, tuple):
        return tuple(tuple.__iter__(value))
    if issubclass(kind, list):
        return list(list.__iter__(value))
    if issubclass(kind, dict):
        return dict(dict.items(value))
    return None


def _array_to_json(array: np.ndarray) -> dict:
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise CodecError(f"an array of dtype {array.dtype} is not an array of numbers")
    if array.nbytes > MAX_BYTES // 4 * 3 - 2**16:  # base64 makes 4 bytes of every 3
        raise CodecError(f"an array of {array.nbytes} bytes is larger than the limit")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return {"__ndarray__": base64.b64encode(buffer.getvalue()).decode()}


def _from_json(tree: Any, callables: bool, depth: int, counter: list[int]) -> Any:
    counter[0] += 1
    if depth > MAX_DEPTH or counter[0] > MAX_ITEMS:
        raise CodecError("the value is nested too deeply or has too many items")
    if tree is None or type(tree) in (bool, str, int):
        return tree
    if type(tree) is float:
        return tree
    if type(tree) is not dict or len(tree) != 1:
        raise CodecError("not valid data")
    ((tag, body),) = tree.items()
    if tag == "__float__" and type(body) is str:
        return float(body)
    if tag == "__int__" and type(body) is str and len(body) < 5000:
        return int(body)
    if tag == "__complex__" and type(body) is list and len(body) == 2:
        return complex(float(body[0]), float(body[1]))
    if tag == "__ellipsis__":
        return Ellipsis
    if tag == "__ndarray__" and type(body) is str:
        return _array_from_json(body)
    if tag == "__npscalar__" and type(body) is dict and set(body) == {"__ndarray__"}:
        array = _array_from_json(body["__ndarray__"])
        if array.ndim != 0:
            raise CodecError("not valid data")
        return array[()]
    if tag in ("__list__", "__tuple__") and type(body) is list:
        items = [_from_json(item, callables, depth + 1, counter) for item in body]
        return tuple(items) if tag == "__tuple__" else items
    if tag == "__dict__" and type(body) is dict:
        return {key: _from_json(item, callables, depth + 1, counter) for key, item in body.items()}
    if tag == "__callable__" and callables and type(body) is str:
        import pickle

        return pickle.loads(base64.b64decode(body))
    raise CodecError("not valid data")


def _array_from_json(body: str) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(base64.b64decode(body, validate=True)), allow_pickle=False)
    except Exception as error:  # malformed bytes of any kind are refused the same way
        raise CodecError(f"not a valid array: {error}") from None
    if type(array) is not np.ndarray or array.dtype.kind not in _NUMERIC_KINDS:
        raise CodecError("not an array of numbers")
    return array
