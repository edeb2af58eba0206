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

    Accuracy: float64 is computed in blocks of ``_BLOCK`` elements. With :math:`e = e^{-|x|}`,
    the numerator :math:`n` (1 or :math:`e`) and :math:`d = \mathrm{fl}(1 + e)`, the quotient
    :math:`q = \mathrm{fl}(n / d)` is corrected once by its exact remainder. The denominator's
    rounding :math:`d_\ell = (1 - d) + e` is exact (``1 >= e``, so :math:`d + d_\ell = 1 + e`),
    and so is the product :math:`q d`, split by Dekker's algorithm into two floats; the remainder
    of a correctly rounded quotient is itself a float. Then
    :math:`\sigma = q + (n - q d - q d_\ell) / d` is rounded once: what remains is half an ulp
    and the error of NumPy's vectorised ``exp`` (up to 0.65 ulp; the C library's is 0.5), which
    the quotient damps by :math:`1 / (1 + e)` where :math:`x \ge 0`. It costs about three times
    SciPy's ``expit`` (``benchmarks/bench_softmax.py``). float16 and float32 input is computed
    the same way in float64 and rounded once, so it is correctly rounded but for rare double
    roundings. Long double input is computed in long double with the denominator's rounding
    removed to first order, :math:`q (1 - d_\ell / d)`. ``tests/accuracy`` measures float16,
    float32 and float64.

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
    if np.finfo(z.dtype).nmant > np.finfo(np.float64).nmant:  # long double stays long double
        return _sigmoid_first_order(z)[()]
    result = np.empty(z.shape, dtype=output_dtype)
    flat_z, flat_result = z.reshape(-1), result.reshape(-1)  # result is contiguous: a view
    # (rows, block): the kernel's scratch, then float64 values for a float16 or float32 result
    scratch = np.empty((_SCRATCH_ROWS + 1, min(flat_z.size, _BLOCK)))
    for start in range(0, flat_z.size, _BLOCK):
        stop = min(start + _BLOCK, flat_z.size)
        block = scratch[:, : stop - start]
        if result.dtype == np.float64:
            _sigmoid_block(flat_z[start:stop], flat_result[start:stop], block[:-1])
        else:  # computed in float64 and rounded once
            np.copyto(block[-1], flat_z[start:stop])  # widened once: mixed-type ufuncs buffer
            _sigmoid_block(block[-1], block[-1], block[:-1])
            np.copyto(flat_result[start:stop], block[-1], casting="same_kind")
    return result[()]


# Elements per pass: the block's ten scratch rows (64 kB each) stay in cache, and nothing is
# allocated per element, which on a large array costs more than the arithmetic.
_BLOCK = 8192
_SCRATCH_ROWS = 9
# Veltkamp's constant 2**27 + 1: a * C - (a * C - a) is a rounded to its high 26 bits.
_VELTKAMP = 134217729.0


def _sigmoid_block(z, out, scratch):
    """sigma(z) into float64 out (which may be z), each quotient corrected by its remainder."""
    d, d_lo, q, p, error = scratch[:5]  # each (n,)
    nonnegative = z >= 0  # before out, which may be z itself, is written
    # e^{-|x|} underflows for x < -708 (to 0 below -745: sigma's own limit), and so may the
    # corrections, which are then far below an ulp of the result.
    with np.errstate(under="ignore"):
        np.abs(z, out=out)
        np.negative(out, out=out)
        np.exp(out, out=out)  # e = e^{-|x|} in [0, 1]
        np.add(out, 1.0, out=d)  # d = fl(1 + e) in [1, 2]
        np.subtract(1.0, d, out=d_lo)
        d_lo += out  # d + d_lo == 1 + e exactly
        np.copyto(out, 1.0, where=nonnegative)  # the numerator n: 1 for x >= 0, e below
        np.divide(out, d, out=q)
        np.multiply(q, d, out=p)
        _two_product_error(q, d, p, error, scratch[5:])  # q * d == p + error exactly
        out -= p  # n - p is exact: p is within a factor 2 of n
        out -= error  # the remainder n - q d, which is a float
        np.multiply(q, d_lo, out=d_lo)
        out -= d_lo  # n - q (1 + e), to far below an ulp of the remainder
        out /= d
        out += q  # the one rounding of the result


def _two_product_error(a, b, product, error, scratch):
    """``error = a * b - product`` exactly, where ``product = fl(a * b)`` (Dekker, no FMA).

    Each factor is split into halves of at most 26 bits, whose products are exact. The factors
    must stay below about 2**995 (here ``a <= 1`` and ``b <= 2``), and the error must be a
    float, which it is when ``b == 1`` (the error is 0) or the product is at least 2**-969 (its
    error then has no bit below the smallest float). In the sigmoid ``d > 1`` only where
    ``e > 2**-53``, so there ``q > 2**-54``.
    """
    a_hi, a_lo, b_hi, b_lo = scratch
    _split(a, a_hi, a_lo)
    _split(b, b_hi, b_lo)
    np.multiply(a_hi, b_hi, out=error)
    error -= product
    np.multiply(a_hi, b_lo, out=a_hi)
    error += a_hi
    np.multiply(a_lo, b_hi, out=b_hi)
    error += b_hi
    np.multiply(a_lo, b_lo, out=a_lo)
    error += a_lo


def _split(a, hi, lo):
    """Veltkamp: ``hi + lo == a`` exactly, each with at most 26 significant bits."""
    np.multiply(a, _VELTKAMP, out=hi)
    np.subtract(hi, a, out=lo)
    hi -= lo
    np.subtract(a, hi, out=lo)


def _sigmoid_first_order(z):
    """sigma(z) with the denominator's rounding removed to first order, in z's precision."""
    with np.errstate(under="ignore"):
        decay = np.exp(-np.abs(z))  # e^{-|x|} in (0, 1]
    denominator = 1.0 + decay
    rounding_error = (1.0 - denominator) + decay  # exact: denominator + error = 1 + decay
    quotient = np.divide(np.where(z >= 0, 1.0, decay), denominator)
    return quotient - quotient * (rounding_error / denominator)  # q / (1 + error / denominator)
