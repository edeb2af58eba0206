"""The logistic sigmoid, the two-class special case of softmax, evaluated without overflow."""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array

__all__ = ["sigmoid"]


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
    but for rare double roundings (``tests/accuracy`` measures all three). float64 keeps the
    error of NumPy's vectorised ``exp`` (up to 0.65 ulp, where the C library's is 0.5): computing
    it in long double instead made a 1000-element call eight times slower.

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
    # float16 and float32 in float64, whose error is negligible at their precision; long double
    # stays long double.
    z = z.astype(np.promote_types(z.dtype, np.float64), copy=False)
    with np.errstate(under="ignore"):
        decay = np.exp(-np.abs(z))  # e^{-|x|} in (0, 1]
    denominator = 1.0 + decay
    rounding_error = (1.0 - denominator) + decay  # exact: denominator + error = 1 + decay
    quotient = np.divide(np.where(z >= 0, 1.0, decay), denominator)
    result = quotient - quotient * (rounding_error / denominator)  # q / (1 + error / denominator)
    return result.astype(output_dtype, copy=False)[()]
