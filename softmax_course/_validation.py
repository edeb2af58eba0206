"""Argument checks shared by every public function of the package.

Each check costs O(1) (it looks at dtypes, shapes and scalars, never at the data) except where a
docstring says otherwise, so that the fast paths of ``stable.py`` stay as fast as a bare NumPy
expression. Every error names the argument and the offending value.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.exceptions import AxisError

try:  # NumPy >= 2.0
    from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple
except ImportError:  # NumPy 1.26 keeps them in numpy.core
    from numpy.core.multiarray import normalize_axis_index
    from numpy.core.numeric import normalize_axis_tuple

__all__ = [
    "AxisError",
    "as_float_array",
    "check_label_smoothing",
    "check_positive_finite",
    "check_same_shape",
    "check_where",
    "normalize_axes",
    "normalize_single_axis",
]

# float16 has an 11-bit significand and overflows at 65504: summing tens of thousands of small
# probabilities in it loses the distribution, so float16 input is computed in float32 and rounded
# back once at the end (the policy of JAX attention and of FlashAttention's accumulators).
_COMPUTE_DTYPE_OF_FLOAT16 = np.dtype(np.float32)


def as_float_array(x, name: str) -> tuple[np.ndarray, np.dtype, bool]:
    """Convert ``x`` to the floating array the computation runs in.

    Returns ``(array, output_dtype, owned)``. bool and integer input is computed and returned as
    float64; float16 is computed in float32 and returned as float16; other real floating dtypes are
    kept. ``owned`` is True only when ``array`` is a buffer allocated here by a dtype conversion,
    which the caller may overwrite. Whatever ``np.asarray`` returns is never owned: an ndarray
    subclass, a read-only array, a view, an ``np.memmap``, a ``memoryview`` or any object whose
    ``__array__`` hands out its own buffer (xarray, pandas) all share memory with the caller.

    Raises
    ------
    TypeError
        For complex, object, string and other non-real dtypes, naming ``name`` and the dtype.
    """
    array = np.asarray(x)
    kind = array.dtype.kind
    if kind == "f":
        output_dtype = array.dtype
        if array.dtype != np.float16:
            return array, output_dtype, False
        compute_dtype = _COMPUTE_DTYPE_OF_FLOAT16
    elif kind in "biu":
        output_dtype = compute_dtype = np.dtype(np.float64)
    else:
        raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    return array.astype(compute_dtype), output_dtype, True  # astype copies: a buffer of our own


def normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    """Normalise ``axis`` (int, tuple of ints or None for all axes) to a tuple of non-negative ints.

    Raises
    ------
    numpy.exceptions.AxisError
        If an axis is out of range; the message names the axis and ``ndim``.
    ValueError
        If an axis is repeated.
    TypeError
        If ``axis`` is not an int, a tuple of ints or None.
    """
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int:  # the common case, without normalize_axis_tuple's generality
        return (normalize_axis_index(axis, ndim, "axis"),)
    try:
        return normalize_axis_tuple(axis, ndim, argname="axis")  # AxisError, ValueError pass on
    except TypeError:
        raise TypeError(
            f"axis must be an int, a tuple of ints or None, got {axis!r}"
        ) from None


def normalize_single_axis(axis, ndim: int) -> int:
    """Normalise a single int ``axis`` (functions that need one class axis, e.g. a Jacobian).

    Raises
    ------
    numpy.exceptions.AxisError
        If ``axis`` is out of range; the message names the axis and ``ndim``.
    TypeError
        If ``axis`` is not an int.
    """
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis must be a single int here, got {axis!r}")
    return normalize_axis_index(int(axis), ndim, "axis")


def check_positive_finite(value, name: str) -> float:
    """Return ``value`` as a Python float after checking it is a real, positive, finite scalar.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (strings, bools, arrays with more than one element).
    ValueError
        If ``value`` is zero, negative, infinite or NaN.
    """
    if type(value) is float and 0.0 < value < math.inf:  # the common case, checked first
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number > 0.0):
        raise ValueError(f"{name} must be a positive finite number, got {number!r}")
    return number


def check_label_smoothing(value) -> float:
    """Return ``value`` as a float after checking it lies in the closed interval [0, 1].

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is outside [0, 1] or NaN.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"label_smoothing must be a real number in [0, 1], got {value!r}")
    number = float(value)
    if not 0.0 <= number <= 1.0:  # also rejects NaN
        raise ValueError(f"label_smoothing must be in [0, 1], got {number!r}")
    return number


def check_where(where, shape: tuple[int, ...]) -> np.ndarray | None:
    """Check a ``where=`` mask: boolean and broadcastable to ``shape`` (the shape of ``x``).

    Returns the mask as an array (not broadcast: NumPy reductions broadcast it themselves), or None.

    Raises
    ------
    TypeError
        If the mask is not of dtype bool.
    ValueError
        If the mask cannot be broadcast to ``shape``; the message names both shapes.
    """
    if where is None:
        return None
    mask = np.asarray(where)
    if mask.dtype != np.bool_:
        raise TypeError(f"where must be a boolean mask, got dtype {mask.dtype}")
    try:
        broadcast = np.broadcast_shapes(mask.shape, shape)
    except ValueError:
        broadcast = None
    if broadcast != tuple(shape):
        raise ValueError(
            f"where of shape {mask.shape} cannot be broadcast to x of shape {tuple(shape)}"
        )
    return mask


def check_same_shape(first: np.ndarray, second: np.ndarray, names: tuple[str, str]) -> None:
    """Raise ValueError naming both shapes unless ``first`` and ``second`` have the same shape."""
    if first.shape != second.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {names[0]} of shape "
            f"{first.shape} and {names[1]} of shape {second.shape}"
        )


def check_block_size(value, name: str) -> int:
    """A tile or block length: an int >= 1 (bools are not sizes)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)
