"""Finite-difference derivatives, to check analytic gradients and Jacobians against.

Central differences in float64: the truncation error is :math:`O(h^2)` and the rounding error
about :math:`\\epsilon_{64} |f| / h`; with :math:`h = 10^{-6}` both are near :math:`10^{-10}` to
:math:`10^{-12}` for the smooth, O(1) functions of this course.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ._validation import as_float_array, check_positive_finite

__all__ = ["GradientCheck", "gradient_check", "numerical_gradient", "numerical_jacobian"]


@dataclass(frozen=True)
class GradientCheck:
    """Result of :func:`gradient_check`.

    Attributes
    ----------
    max_abs_error : float
        Largest ``|analytic - numerical|`` over all entries.
    max_rel_error : float
        Largest ``|analytic - numerical| / max(|analytic|, |numerical|)`` (0 where both are 0).
    passed : bool
        Whether every entry satisfied ``|analytic - numerical| <= atol + rtol * |numerical|``.

    Examples
    --------
    >>> from softmax_course import GradientCheck
    >>> result = GradientCheck(max_abs_error=2e-11, max_rel_error=4e-10, passed=True)
    >>> print(result)
    gradient check passed: max abs error 2e-11, max rel error 4e-10
    """

    max_abs_error: float
    max_rel_error: float
    passed: bool

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"gradient check {verdict}: max abs error {self.max_abs_error:.3g}, "
            f"max rel error {self.max_rel_error:.3g}"
        )


def _evaluate(f, x):
    """``f(x)`` as a float64 array; ``x`` is passed as a copy so ``f`` cannot alter our point."""
    return np.asarray(f(x.copy()), dtype=np.float64)


def numerical_jacobian(f, x, eps=1e-6):
    r"""Jacobian of ``f`` at ``x`` by central differences in float64.

    Parameters
    ----------
    f : callable
        Maps an array of the shape of ``x`` to an array (or scalar) of real numbers.
    x : array_like
        Point of evaluation (converted to a float64 copy).
    eps : float, default 1e-6
        Step :math:`h`, positive and finite, added to one entry of ``x`` at a time.

    Returns
    -------
    numpy.ndarray
        Shape ``f(x).shape + x.shape``; entry ``[i..., j...]`` approximates
        :math:`\partial f_{i} / \partial x_{j}`.

    Raises
    ------
    ValueError
        If ``eps`` is not positive and finite, or ``f`` changes its output shape.
    TypeError
        If ``x`` is not real or ``eps`` is not a number.

    Notes
    -----
    .. math::

        \frac{\partial f}{\partial x_j} \approx
        \frac{f(x + h e_j) - f(x - h e_j)}{(x_j + h) - (x_j - h)}

    The denominator is the difference of the two perturbed values as actually rounded, not
    :math:`2h`, so that a large :math:`|x_j|` (where :math:`x_j \pm h` is not exact) does not bias
    the quotient. The cost is :math:`2 \cdot \mathrm{size}(x)` evaluations of ``f``.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import numerical_jacobian
    >>> np.round(numerical_jacobian(lambda v: v**2, np.array([1.0, 3.0])), 6)
    array([[2., 0.],
           [0., 6.]])
    """
    point = as_float_array(x, "x")[0].astype(np.float64)  # a private copy
    step = check_positive_finite(eps, "eps")
    output_shape = _evaluate(f, point).shape
    jacobian = np.empty((math.prod(output_shape), point.size))  # (size of f(x), size of x)
    for j in range(point.size):
        original = point.flat[j]
        point.flat[j] = original + step
        upper, forward = point.flat[j], _evaluate(f, point)
        point.flat[j] = original - step
        lower, backward = point.flat[j], _evaluate(f, point)
        point.flat[j] = original
        if forward.shape != output_shape or backward.shape != output_shape:
            raise ValueError(
                f"f changed its output shape from {output_shape} to {forward.shape} / "
                f"{backward.shape} when x moved by eps"
            )
        jacobian[:, j] = (forward - backward).reshape(-1) / (upper - lower)
    return jacobian.reshape(output_shape + point.shape)


def numerical_gradient(f, x, eps=1e-6):
    r"""Gradient of a scalar-valued ``f`` at ``x`` by central differences in float64.

    Parameters
    ----------
    f : callable
        Maps an array of the shape of ``x`` to a real scalar (0-d output).
    x : array_like
        Point of evaluation.
    eps : float, default 1e-6
        Step, as in :func:`numerical_jacobian`.

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``.

    Raises
    ------
    ValueError
        If ``f(x)`` is not a scalar (use :func:`numerical_jacobian`) or ``eps`` is invalid.

    Notes
    -----
    This is :func:`numerical_jacobian` for an output of shape ``()``, so the result has the shape
    of ``x``: :math:`(\nabla f)_j \approx (f(x + h e_j) - f(x - h e_j)) / 2h`.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import logsumexp, numerical_gradient, softmax
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> bool(np.allclose(numerical_gradient(logsumexp, x), softmax(x)))  # grad of LSE is softmax
    True
    """
    point = as_float_array(x, "x")[0].astype(np.float64)
    output_shape = _evaluate(f, point).shape
    if output_shape != ():
        raise ValueError(
            f"numerical_gradient needs a scalar-valued f, got output of shape {output_shape}; "
            "use numerical_jacobian"
        )
    return numerical_jacobian(f, point, eps)


def gradient_check(f, x, grad, *, eps=1e-6, rtol=1e-5, atol=1e-8):
    r"""Compare an analytic gradient or Jacobian with central differences.

    Parameters
    ----------
    f : callable
        The function; scalar-valued (then ``grad`` has the shape of ``x``) or array-valued (then
        ``grad`` has shape ``f(x).shape + x.shape``).
    x : array_like
        Point of evaluation.
    grad : array_like
        The analytic derivative at ``x``.
    eps : float, default 1e-6
        Finite-difference step.
    rtol, atol : float, default 1e-5 and 1e-8
        Tolerances, non-negative: an entry passes when
        ``|grad - numerical| <= atol + rtol * |numerical|`` (the rule of :func:`numpy.allclose`).

    Returns
    -------
    GradientCheck
        ``max_abs_error``, ``max_rel_error`` and ``passed`` (False if any entry is NaN).

    Raises
    ------
    ValueError
        If ``grad`` does not have the expected shape (the message names both shapes), or a
        tolerance or ``eps`` is invalid.

    Notes
    -----
    The relative error of an entry is :math:`|a - n| / \max(|a|, |n|)`, which is symmetric in the
    analytic value :math:`a` and the numerical value :math:`n` and lies in :math:`[0, 2]`.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import gradient_check, logsumexp, softmax
    >>> x = np.array([0.5, -1.0, 2.0])
    >>> result = gradient_check(logsumexp, x, softmax(x))
    >>> result.passed
    True
    >>> gradient_check(logsumexp, x, np.zeros(3)).passed  # a wrong gradient is caught
    False
    """
    for name, value in (("rtol", rtol), ("atol", atol)):
        is_real = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not (is_real and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    point = as_float_array(x, "x")[0].astype(np.float64)
    if _evaluate(f, point).shape == ():
        numerical = numerical_gradient(f, point, eps)  # same shape as x
    else:
        numerical = numerical_jacobian(f, point, eps)  # f(x).shape + x.shape
    analytic = np.asarray(grad, dtype=np.float64)
    if analytic.shape != numerical.shape:
        raise ValueError(
            f"grad must have shape {numerical.shape} (f(x).shape + x.shape, or x.shape for a "
            f"scalar f), got grad of shape {analytic.shape}"
        )
    error = np.abs(analytic - numerical)
    scale = np.maximum(np.abs(analytic), np.abs(numerical))
    relative = np.divide(error, scale, out=np.zeros_like(error), where=scale > 0)
    relative[np.isnan(error)] = np.nan
    passed = bool(np.all(error <= atol + rtol * np.abs(numerical)))
    return GradientCheck(
        max_abs_error=float(np.max(error, initial=0.0)),
        max_rel_error=float(np.max(relative, initial=0.0)),
        passed=passed,
    )
