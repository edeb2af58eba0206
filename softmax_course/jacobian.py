"""Derivatives of softmax: the full Jacobian (small K only) and its O(K) products.

The Jacobian of softmax is a K x K matrix per slice, so building it costs O(K^2) memory: 18.6 GiB
for K = 50 000 in float64. Backpropagation never needs the matrix, only its product with a vector,
which ``softmax_vjp`` and ``softmax_jvp`` compute in O(K) from the softmax output alone.
"""

from __future__ import annotations

import math

import numpy as np

from ._numerics import probability_complement, top_mask
from ._validation import as_float_array, check_same_shape, normalize_axes, normalize_single_axis
from .stable import softmax

__all__ = ["log_softmax_jacobian", "softmax_jacobian", "softmax_jvp", "softmax_vjp"]

#: Largest Jacobian the functions below agree to build, in bytes (1 GiB).
JACOBIAN_LIMIT_BYTES = 2**30


def _check_jacobian_size(shape, axis, dtype, function_name):
    """Refuse, before allocating anything, a Jacobian larger than ``JACOBIAN_LIMIT_BYTES``."""
    classes = shape[axis]
    batch = math.prod(n for i, n in enumerate(shape) if i != axis)
    needed = batch * classes * classes * dtype.itemsize  # Python ints: no overflow
    if needed > JACOBIAN_LIMIT_BYTES:
        raise ValueError(
            f"{function_name} would need {needed / 2**30:.1f} GiB for K={classes} classes, batch "
            f"size {batch}, dtype {dtype} (limit {JACOBIAN_LIMIT_BYTES / 2**30:.0f} GiB). "
            "Use softmax_vjp(s, g) or softmax_jvp(s, v): they apply the Jacobian in O(K) "
            "without building it."
        )


def _softmax_last(x, axis, function_name):
    """Softmax of ``x`` along ``axis`` moved to the end, plus the output dtype: ``(..., K)``."""
    z, output_dtype, _ = as_float_array(x, "x")
    axis = normalize_single_axis(axis, z.ndim)
    _check_jacobian_size(z.shape, axis, z.dtype, function_name)
    return np.moveaxis(softmax(z, axis=axis), axis, -1), output_dtype


def softmax_jacobian(x, axis=-1):
    r"""Jacobian of softmax along one axis, as an explicit ``(..., K, K)`` array.

    Parameters
    ----------
    x : array_like
        Real logits (bool and integers are computed as float64, float16 in float32).
    axis : int, default -1
        The class axis, of length K.

    Returns
    -------
    numpy.ndarray
        ``J`` of shape ``batch + (K, K)``, where ``batch`` is ``x.shape`` without ``axis`` (batch
        axes keep their order), with ``J[..., i, j]`` the derivative of output ``i`` with respect
        to input ``j``. Output dtype as for :func:`softmax`.

    Raises
    ------
    ValueError
        If the result would exceed 1 GiB (:data:`JACOBIAN_LIMIT_BYTES`); the message names K, the
        batch size, the dtype, the GiB needed, and points to :func:`softmax_vjp`.
    TypeError
        If ``x`` is not real or ``axis`` is not a single int.
    numpy.exceptions.AxisError
        If ``axis`` is out of range.

    Notes
    -----
    With :math:`s = \operatorname{softmax}(x)`, differentiating
    :math:`s_i = e^{x_i} / \sum_k e^{x_k}` by the quotient rule gives

    .. math::

        J_{ij} = \frac{\partial s_i}{\partial x_j} = s_i (\delta_{ij} - s_j),
        \qquad J = \operatorname{diag}(s) - s s^\top .

    :math:`J` is symmetric, its rows and columns sum to 0 (softmax is invariant to adding a
    constant to every logit, so :math:`J \mathbf{1} = 0`) and it is positive semi-definite:
    :math:`v^\top J v = \sum_i s_i v_i^2 - (\sum_i s_i v_i)^2` is the variance of :math:`v` under
    :math:`s`. When every :math:`s_i > 0` its rank is :math:`K - 1`. The formula is applied to
    :math:`s` as :func:`softmax` returns it, so edge-case slices (all :math:`-\infty`: s = 0) give
    the zero matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import softmax_jacobian
    >>> np.round(softmax_jacobian([0.0, 0.0]), 4)
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    >>> softmax_jacobian(np.zeros((2, 5, 3)), axis=1).shape  # (batch, K, K) with K = 5
    (2, 3, 5, 5)
    """
    s, output_dtype = _softmax_last(x, axis, "softmax_jacobian")  # (..., K)
    jacobian = s[..., :, None] * -s[..., None, :]  # (..., K, K): -s_i s_j
    diagonal = np.arange(s.shape[-1])
    # s_i (1 - s_i) written as s_i * sum_{j != i} s_j: no cancellation when s_i is near 1
    jacobian[..., diagonal, diagonal] = s * probability_complement(s, -1)
    return jacobian.astype(output_dtype, copy=False)


def log_softmax_jacobian(x, axis=-1):
    r"""Jacobian of log-softmax along one axis, as an explicit ``(..., K, K)`` array.

    Parameters
    ----------
    x : array_like
        Real logits (bool and integers are computed as float64, float16 in float32).
    axis : int, default -1
        The class axis, of length K.

    Returns
    -------
    numpy.ndarray
        ``J`` of shape ``batch + (K, K)`` (layout as in :func:`softmax_jacobian`).

    Raises
    ------
    ValueError
        If the result would exceed 1 GiB; the message names K, the batch size, the dtype, the GiB
        needed, and points to :func:`softmax_vjp`.
    TypeError
        If ``x`` is not real or ``axis`` is not a single int.
    numpy.exceptions.AxisError
        If ``axis`` is out of range.

    Notes
    -----
    From :math:`\log s_i = x_i - \log \sum_k e^{x_k}` and
    :math:`\partial \log \sum_k e^{x_k} / \partial x_j = s_j`:

    .. math::

        \frac{\partial \log s_i}{\partial x_j} = \delta_{ij} - s_j,
        \qquad J = I - \mathbf{1} s^\top .

    Every row is the same vector minus the identity; unlike the softmax Jacobian it is not
    symmetric, and :math:`J \mathbf{1} = 0`.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import log_softmax_jacobian
    >>> np.round(log_softmax_jacobian([0.0, 0.0]), 4)
    array([[ 0.5, -0.5],
           [-0.5,  0.5]])
    """
    s, output_dtype = _softmax_last(x, axis, "log_softmax_jacobian")  # (..., K)
    classes = s.shape[-1]
    jacobian = np.repeat(-s[..., None, :], classes, axis=-2)  # (..., K, K): -s_j in every row
    diagonal = np.arange(classes)
    # 1 - s_i as sum_{j != i} s_j: no cancellation when s_i is near 1
    jacobian[..., diagonal, diagonal] = probability_complement(s, -1)
    return jacobian.astype(output_dtype, copy=False)


def _apply_jacobian(s, u, axis, names):
    """``s * (u - sum(s * u))`` over ``axis``: the product of the softmax Jacobian with ``u``.

    ``u`` is first shifted by its value at the largest ``s`` (the result does not change:
    ``J 1 = 0``). Unshifted, the top entry is ``s_k (u_k - s_k u_k - ...)``, and when ``s_k`` is
    near 1 the difference cancels to noise; shifted, ``u_k = 0`` and the top entry is
    ``-s_k sum_{i != k} s_i u_i``, a sum of small accurate terms.
    """
    s_array, s_output_dtype, _ = as_float_array(s, names[0])
    u_array, u_output_dtype, _ = as_float_array(u, names[1])
    check_same_shape(s_array, u_array, names)
    axes = normalize_axes(axis, s_array.ndim)
    at_top = np.add.reduce(np.where(top_mask(s_array, axes), u_array, 0.0), axis=axes,
                           keepdims=True)  # (..., 1, ...): u at the largest s
    shifted = u_array - at_top
    mean_under_s = np.add.reduce(s_array * shifted, axis=axes, keepdims=True)  # (..., 1, ...)
    product = s_array * (shifted - mean_under_s)  # same shape as s
    return product.astype(np.result_type(s_output_dtype, u_output_dtype), copy=False)


def softmax_vjp(s, g, axis=-1):
    r"""Vector-Jacobian product of softmax, :math:`J^\top g`, in O(K) memory.

    Parameters
    ----------
    s : array_like
        The softmax OUTPUT ``softmax(x, axis)`` (not the logits).
    g : array_like
        Upstream gradient :math:`\partial L / \partial s`, same shape as ``s``.
    axis : int, tuple of ints or None, default -1
        The axes the softmax was taken over.

    Returns
    -------
    numpy.ndarray
        :math:`\partial L / \partial x`, same shape as ``s``; dtype is the promotion of both
        inputs' output dtypes.

    Raises
    ------
    ValueError
        If ``s`` and ``g`` have different shapes (the message names both), or an axis is repeated.
    TypeError
        If an input is not real.
    numpy.exceptions.AxisError
        If an axis is out of range.

    Notes
    -----
    With :math:`J_{ij} = s_i(\delta_{ij} - s_j)`,

    .. math::

        (J^\top g)_j = \sum_i g_i s_i (\delta_{ij} - s_j)
                     = s_j \Bigl(g_j - \sum_i s_i g_i\Bigr),

    one weighted sum and two elementwise products: the K x K matrix is never formed. Entries with
    :math:`s_j = 0` (masked) get 0.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import softmax, softmax_jacobian, softmax_vjp
    >>> x, g = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, -1.0])
    >>> np.round(softmax_vjp(softmax(x), g), 4)
    array([ 0.1418,  0.1408, -0.2826])
    >>> bool(np.allclose(softmax_vjp(softmax(x), g), softmax_jacobian(x).T @ g))
    True
    """
    return _apply_jacobian(s, g, axis, ("s", "g"))


def softmax_jvp(s, v, axis=-1):
    r"""Jacobian-vector product of softmax, :math:`J v`, in O(K) memory.

    Parameters
    ----------
    s : array_like
        The softmax OUTPUT ``softmax(x, axis)`` (not the logits).
    v : array_like
        Tangent :math:`\dot x` of the logits, same shape as ``s``.
    axis : int, tuple of ints or None, default -1
        The axes the softmax was taken over.

    Returns
    -------
    numpy.ndarray
        :math:`\dot s = J v`, same shape as ``s``; dtype is the promotion of both inputs' output
        dtypes.

    Raises
    ------
    ValueError
        If ``s`` and ``v`` have different shapes (the message names both), or an axis is repeated.
    TypeError
        If an input is not real.
    numpy.exceptions.AxisError
        If an axis is out of range.

    Notes
    -----
    .. math::

        (J v)_i = \sum_j s_i (\delta_{ij} - s_j) v_j = s_i \Bigl(v_i - \sum_j s_j v_j\Bigr).

    This is the same formula as :func:`softmax_vjp` because :math:`J` is symmetric. Adding a
    constant to every :math:`v_i` does not change the result (softmax is shift invariant).

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import softmax, softmax_jacobian, softmax_jvp
    >>> x, v = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.5, 0.5])
    >>> bool(np.allclose(softmax_jvp(softmax(x), v), 0.0))  # a uniform shift changes nothing
    True
    >>> v = np.array([0.0, 0.0, 1.0])
    >>> bool(np.allclose(softmax_jvp(softmax(x), v), softmax_jacobian(x) @ v))
    True
    """
    return _apply_jacobian(s, v, axis, ("s", "v"))
