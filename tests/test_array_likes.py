"""No public function writes to memory its caller can reach, whatever array-like it is given.

Each array-like below shares its buffer with the caller: ``np.asarray`` of it returns that buffer
(or a view of it), never a copy. Every public function of the package is called on each of them,
and then (1) every byte the caller can reach is unchanged, and (2) the result is the one the same
function returns for a private ndarray copy of the same values.
"""

from __future__ import annotations

import tempfile

import hypothesis.extra.numpy as hnp
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_course import (
    OnlineSoftmaxState,
    cross_entropy,
    cross_entropy_grad,
    entropy,
    flash_attention,
    gradient_check,
    gumbel_softmax,
    gumbel_softmax_vjp,
    log_softmax,
    log_softmax_jacobian,
    logsumexp,
    naive_softmax,
    numerical_gradient,
    numerical_jacobian,
    one_hot_argmax,
    online_softmax,
    scaled_dot_product_attention,
    sigmoid,
    softmax,
    softmax_jacobian,
    softmax_jvp,
    softmax_vjp,
    sparsemax,
    sparsemax_jacobian,
    sparsemax_threshold,
    sparsemax_vjp,
    top_k_mask,
    top_p_mask,
)

pytestmark = pytest.mark.filterwarnings("error")


# The files behind the memory maps; each file is unlinked at once, its mapping outlives it.
_MEMMAP_FOLDER = tempfile.TemporaryDirectory(prefix="softmax-course-memmap-")


class _TaggedArray(np.ndarray):
    """An ndarray subclass that adds nothing: ``np.asarray`` returns a base-class view of it."""


class _OwnBuffer:
    """An array-like whose ``__array__`` hands out its own buffer (as xarray and pandas do)."""

    def __init__(self, array):
        self.array = array

    def __array__(self, dtype=None, copy=None):
        return self.array


def _plain(array):
    return array, array


def _subclass(array):
    return array.view(_TaggedArray), array


def _read_only(array):
    array.flags.writeable = False
    return array, array


def _strided_view(array):
    """A non-contiguous view: every other element (along every axis) of a larger buffer."""
    parent = np.zeros(tuple(2 * n for n in array.shape), array.dtype)
    view = parent[(slice(None, None, 2),) * array.ndim]
    view[...] = array
    return view, parent


def _memmap(array):
    with tempfile.NamedTemporaryFile(dir=_MEMMAP_FOLDER.name) as backing:
        mapped = np.memmap(backing.name, dtype=array.dtype, mode="w+", shape=array.shape)
    mapped[...] = array
    return mapped, mapped


def _memoryview(array):
    return memoryview(array), array


def _own_buffer(array):
    return _OwnBuffer(array), array


def _data_array(array):
    wrapped = xr.DataArray(array)
    return wrapped, wrapped.values


def _series_or_frame(array):
    wrapped = pd.Series(array, copy=False) if array.ndim == 1 else pd.DataFrame(array, copy=False)
    return wrapped, array


ARRAY_LIKES = {
    "ndarray": _plain,
    "ndarray subclass": _subclass,
    "read-only ndarray": _read_only,
    "non-contiguous view": _strided_view,
    "np.memmap": _memmap,
    "memoryview": _memoryview,
    "__array__ returning its buffer": _own_buffer,
    "xarray.DataArray": _data_array,
    "pandas Series / DataFrame": _series_or_frame,
}


def _tiny_loss(x):
    return float(np.sum(logsumexp(x)))


# name -> (function of the wrapped arrays, number of array arguments it takes). Every array
# argument is passed as the same kind of array-like.
PUBLIC_FUNCTIONS = {
    "softmax": (lambda x: softmax(x), 1),
    "softmax with temperature": (lambda x: softmax(x, temperature=0.5), 1),
    "softmax with where": (lambda x: softmax(x, where=np.ones(np.shape(x), bool)), 1),
    "softmax over all axes": (lambda x: softmax(x, axis=None), 1),
    "log_softmax": (lambda x: log_softmax(x), 1),
    "log_softmax with temperature": (lambda x: log_softmax(x, temperature=2.0), 1),
    "logsumexp": (lambda x: logsumexp(x), 1),
    "logsumexp with b": (lambda x, b: logsumexp(x, b=b, return_sign=True), 2),
    "logsumexp with where": (lambda x: logsumexp(x, where=np.ones(np.shape(x), bool)), 1),
    "naive_softmax": (lambda x: naive_softmax(x), 1),
    "sigmoid": (lambda x: sigmoid(x), 1),
    "online_softmax": (lambda x: online_softmax(x, block_size=2), 1),
    "OnlineSoftmaxState.update": (lambda x: OnlineSoftmaxState.empty().update(x, axis=None), 1),
    "OnlineSoftmaxState": (lambda m, d: OnlineSoftmaxState(m, d), 2),
    "softmax_jacobian": (lambda x: softmax_jacobian(x), 1),
    "log_softmax_jacobian": (lambda x: log_softmax_jacobian(x), 1),
    "softmax_vjp": (lambda s, g: softmax_vjp(s, g), 2),
    "softmax_jvp": (lambda s, v: softmax_jvp(s, v), 2),
    "entropy": (lambda p: entropy(p), 1),
    "cross_entropy": (lambda z, t: cross_entropy(z, t), 2),
    "cross_entropy_grad": (lambda z, t: cross_entropy_grad(z, t), 2),
    "scaled_dot_product_attention": (
        lambda q, k, v: scaled_dot_product_attention(np.atleast_2d(q), k, v), 3),
    "flash_attention": (lambda q, k, v: flash_attention(q, k, v, block_q=1, block_k=2), 3),
    "numerical_gradient": (lambda x: numerical_gradient(_tiny_loss, x), 1),
    "numerical_jacobian": (lambda x: numerical_jacobian(softmax, x), 1),
    "gradient_check": (lambda x, g: gradient_check(_tiny_loss, x, g).max_abs_error, 2),
    "sparsemax": (lambda x: sparsemax(x), 1),
    "sparsemax_threshold": (lambda x: sparsemax_threshold(x), 1),
    "sparsemax_jacobian": (lambda x: sparsemax_jacobian(x), 1),
    "sparsemax_vjp": (lambda p, g: sparsemax_vjp(p, g), 2),
    "gumbel_softmax": (lambda x, noise: gumbel_softmax(x, noise), 2),
    "gumbel_softmax_vjp": (lambda y, g: gumbel_softmax_vjp(y, g), 2),
    "one_hot_argmax": (lambda x: one_hot_argmax(x), 1),
    "top_k_mask": (lambda x: top_k_mask(x, 1), 1),
    "top_p_mask": (lambda x: top_p_mask(x, 0.5), 1),
}

_NEEDS_MATRICES = {"scaled_dot_product_attention", "flash_attention"}
_TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def _comparable(result):
    if isinstance(result, OnlineSoftmaxState):
        return [result.max, result.normalizer]
    return [np.asarray(result, dtype=np.float64)]


@pytest.mark.parametrize("kind", ARRAY_LIKES)
@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
@settings(max_examples=6)  # over 300 function and array-like pairs
@given(data=st.data())
def test_the_callers_memory_is_never_written(data, name, kind):
    function, arity = PUBLIC_FUNCTIONS[name]
    dtype = np.dtype(data.draw(st.sampled_from([np.float32, np.float64])))
    ndim = 2 if name in _NEEDS_MATRICES else data.draw(st.integers(1, 2))
    shape = data.draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=1, max_side=4))
    elements = st.floats(-20, 20, width=8 * dtype.itemsize)
    values = [data.draw(hnp.arrays(dtype, shape, elements=elements)) for _ in range(arity)]
    wrapped, reachable = zip(*(ARRAY_LIKES[kind](value.copy()) for value in values), strict=True)
    before = [buffer.tobytes() for buffer in reachable]

    result = function(*wrapped)

    after = [buffer.tobytes() for buffer in reachable]
    assert after == before, f"{name} wrote to the caller's {kind}"
    expected = function(*(value.copy() for value in values))
    for got, want in zip(_comparable(result), _comparable(expected), strict=True):
        np.testing.assert_allclose(got, want, rtol=_TOLERANCE[dtype], atol=_TOLERANCE[dtype],
                                   equal_nan=True)
