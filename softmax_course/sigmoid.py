"""The logistic sigmoid, the two-class special case of softmax, evaluated without overflow."""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array

__all__ = ["sigmoid"]

# Where long double carries more digits than float64 (x86: 64 significant bits against 53), a
# float64 array of fewer elements than this is computed in it and rounded once: its exp (the C
# library's, scalar) costs a few microseconds there, and NumPy's vectorised float64 exp errs by
# up to 0.65 ulp, which the result would keep.
_WIDE_BELOW = 1024
_LONG_DOUBLE_IS_WIDER = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant


def sigmoid(x):
    r"""Logistic sigmoid :math:`\sigma(x) = 1 / (1 + e^{-x})`, elementwise and overflow-free.

    Parameters
    ----------
    x : array_like
        Real input (bool and integers are computed as float64, float16 in float32).

    Returns
    -------
    numpy.ndarray
        Values in :math:`[0, 1]`, same shape as ``x`` (a NumPy scalar for scalar input), in its
        output dtype (float16 in gives float16 out, bool/int in gives float64).

    Raises
    ------
    TypeError
        If ``x`` is complex, object or string.

    Notes
    -----
    Both forms below equal :math:`\sigma(x)`; each is used where its exponent is
    :math:`\le 0`, so ``exp`` is only ever evaluated at :math:`-|x|` and cannot overflow:

    .. math::

        \sigma(x) = \frac{1}{1 + e^{-|x|}} \quad (x \ge 0), \qquad
        \sigma(x) = \frac{e^{-|x|}}{1 + e^{-|x|}} \quad (x < 0).

    The second form keeps full relative accuracy for very negative :math:`x`, where
    :math:`1 - \sigma(-x)` would cancel to 0. It is the softmax of two logits:
    :math:`\sigma(x) = \operatorname{softmax}([x, 0])_0`. Limits: :math:`\sigma(+\infty) = 1`,
    :math:`\sigma(-\infty) = 0`, NaN gives NaN; no warning is emitted.

    Accuracy: the denominator :math:`1 + e^{-|x|}` is rounded, and that rounding error
    :math:`t = (1 - \mathrm{fl}(1 + e)) + e` is recovered exactly (``1 >= e``, so the sum and its
    error are both floats) and removed to first order, :math:`q (1 - t / \mathrm{fl}(1 + e))`.
    What remains is the error of ``exp`` and of one division, about 1 ulp in float64. float16 and
    float32 input is computed in float64 and rounded once, so its result is correctly rounded
    but for rare double roundings (``tests/accuracy`` measures all three); so is float64 input
    of fewer than 1024 elements where long double is wider than float64 (x86), computed in it.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import sigmoid
    >>> np.round(sigmoid([-1000.0, -1.0, 0.0, 1.0, 1000.0]), 4)
    array([0.    , 0.2689, 0.5   , 0.7311, 1.    ])
    >>> float(sigmoid(-800.0)) > 0.0  # e^-800 ~ 3.7e-348 is below float64's smallest subnormal
    False
    >>> float(sigmoid(-700.0))  # but small values keep full relative precision
    9.85967654375977e-305
    """
    z, output_dtype, _ = as_float_array(x, "x")
    if z.dtype == np.float64 and z.size < _WIDE_BELOW and _LONG_DOUBLE_IS_WIDER:
        z = z.astype(np.longdouble)  # a small float64 array: rounded once, like float32 below
    z = z.astype(np.promote_types(z.dtype, np.float64), copy=False)  # float16, float32: float64
    with np.errstate(under="ignore"):
        decay = np.exp(-np.abs(z))  # e^{-|x|} in (0, 1]
    denominator = 1.0 + decay
    rounding_error = (1.0 - denominator) + decay  # exact: denominator + error = 1 + decay
    quotient = np.divide(np.where(z >= 0, 1.0, decay), denominator)
    result = quotient - quotient * (rounding_error / denominator)  # q / (1 + error / denominator)
    return result.astype(output_dtype, copy=False)[()]
