"""Sparsemax: the Euclidean projection of the logits onto the probability simplex.

Softmax never returns an exact zero; sparsemax (Martins and Astudillo, 2016) does. It is

    sparsemax(z) = argmin_{p in simplex} ||p - z||^2 = max(z - tau(z), 0),

with one threshold ``tau(z)`` per slice, found by sorting the slice (O(K log K)). On the support
``S = {i : p_i > 0}`` the output moves with the logits like ``z_i - mean_S(z)``, so its Jacobian
is ``diag(s) - s s^T / |S|`` with ``s`` the 0/1 indicator of the support: it depends on the
support alone, not on the probabilities.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import as_float_array, check_same_shape, normalize_axes, normalize_single_axis
from .jacobian import _check_jacobian_size

__all__ = ["sparsemax", "sparsemax_jacobian", "sparsemax_threshold", "sparsemax_vjp"]


def _as_rows(x, axis):
    """``x`` with the axes of one distribution flattened into the last axis: ``(n, K)``.

    Returns the rows, the output dtype, the shape of ``x`` without the class axes, and a function
    that puts an ``(n, K)`` array back into the layout of ``x``.
    """
    z, output_dtype, _ = as_float_array(x, "x")
    axes = normalize_axes(axis, z.ndim)
    others = [i for i in range(z.ndim) if i not in axes]
    moved = np.transpose(z, others + list(axes))  # (..., class axes)
    moved_shape = moved.shape
    classes = math.prod(z.shape[i] for i in axes)
    rows = moved.reshape(math.prod(moved_shape[: len(others)]), classes)  # (n, K)
    inverse = np.argsort(others + list(axes))

    def restore(values):
        return np.transpose(values.reshape(moved_shape), inverse)

    return rows, output_dtype, moved_shape[: len(others)], restore


def _threshold_rows(rows):
    """The threshold of each row of an ``(n, K)`` array, ``K >= 1``, relative to the row maximum.

    Returns ``(row_max, gap, support)``, each of shape ``(n,)``: ``tau = row_max + gap``, and
    ``support`` counts the entries above ``tau``. Sparsemax is ``max((z - row_max) - gap, 0)``,
    computed on the shifted logits so that ``tau`` never has to be subtracted from logits much
    larger than the gaps between them. Rows are handled by their maximum: finite (the sort-based
    algorithm), +inf (``gap = +inf``: the +inf entries share the mass), -inf (``support = 0``:
    nothing to normalise) or NaN (``gap = NaN``).
    """
    n = rows.shape[0]
    row_max = np.max(rows, axis=-1, initial=-np.inf)  # (n,); NaN if the row has a NaN
    gap = np.full(n, np.nan, dtype=rows.dtype)
    support = np.zeros(n, dtype=np.intp)
    finite = np.isfinite(row_max)
    # Logits spanning more than the largest float overflow to -inf when shifted (weight 0, the
    # right limit), which makes NumPy warn; nothing else here can overflow.
    with np.errstate(over="ignore"):
        _threshold_finite_rows(rows, row_max, finite, gap, support)
    positive_infinite = row_max == np.inf
    gap[positive_infinite] = np.inf
    support[positive_infinite] = np.count_nonzero(rows[positive_infinite] == np.inf, axis=-1)
    gap[row_max == -np.inf] = 0.0  # support stays 0: an all -inf (or empty) row
    return row_max, gap, support


def _threshold_finite_rows(rows, row_max, finite, gap, support):
    """Fill ``gap`` and ``support`` of the rows with a finite maximum (sort-based algorithm)."""
    if not finite.any():
        return
    classes = rows.shape[-1]
    # Shifting by the maximum changes nothing (shift invariance); the largest shifted logit is
    # exactly 0 and the cumulative sums stay near the size of the gaps.
    shifted = rows[finite] - row_max[finite, None]  # (f, K), max 0; -inf stays -inf
    descending = -np.sort(-shifted, axis=-1)  # (f, K): z_(1) >= z_(2) >= ...
    cumulative = np.cumsum(descending, axis=-1)  # (f, K): z_(1) + ... + z_(k)
    ranks = np.arange(1, classes + 1, dtype=rows.dtype)  # (K,): k
    # z_(k) is in the support iff 1 + k z_(k) > z_(1) + ... + z_(k); the condition holds exactly
    # for k = 1 .. k(z) (it is monotone), and for k = 1 because z_(1) = 0.
    in_support = 1.0 + ranks * descending > cumulative  # (f, K); False for -inf entries
    k = np.count_nonzero(in_support, axis=-1)  # (f,), >= 1
    top_sum = np.take_along_axis(cumulative, (k - 1)[:, None], axis=-1)[:, 0]  # (f,)
    gap[finite] = (top_sum - 1.0) / k
    support[finite] = k


def _sparsemax_rows(rows):
    """Sparsemax of every row of an ``(n, K)`` array (see :func:`sparsemax` for edge cases)."""
    if rows.shape[-1] == 0:
        return rows.copy()
    row_max, gap, support = _threshold_rows(rows)
    finite = np.isfinite(row_max)[:, None]  # (n, 1)
    # inf - inf (rows with +inf or all -inf) gives NaN here; those rows are overwritten below.
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = np.where(finite, rows - row_max[:, None], rows)  # (n, K)
        probabilities = np.maximum(shifted - gap[:, None], 0.0)  # (n, K); NaN rows stay NaN
    infinite_rows = row_max == np.inf
    if infinite_rows.any():
        shares = rows[infinite_rows] == np.inf  # (r, K)
        probabilities[infinite_rows] = shares / support[infinite_rows, None]
    probabilities[row_max == -np.inf] = 0.0
    return probabilities


def sparsemax(x, axis=-1):
    r"""Sparsemax: the closest point of the probability simplex to the logits.

    Parameters
    ----------
    x : array_like
        Real logits (bool and integers are computed as float64, float16 in float32).
    axis : int, tuple of ints or None, default -1
        Axes that form one distribution; None projects the whole array.

    Returns
    -------
    numpy.ndarray
        Probabilities, same shape as ``x``, in its output dtype (float16 in gives float16 out,
        bool/int in gives float64). Entries below the threshold are exactly 0.

    Raises
    ------
    TypeError
        If ``x`` is complex, object or string, or ``axis`` is not an int, a tuple or None.
    ValueError
        If an axis is repeated.
    numpy.exceptions.AxisError
        If an axis is out of range.

    Notes
    -----
    .. math::

        \operatorname{sparsemax}(z) = \operatorname*{arg\,min}_{p \in \Delta^{K-1}}
            \lVert p - z \rVert^2 = \max(z - \tau(z), 0),

    where, with the logits sorted as :math:`z_{(1)} \ge \dots \ge z_{(K)}`,

    .. math::

        k(z) = \max\Bigl\{k : 1 + k z_{(k)} > \sum_{j \le k} z_{(j)}\Bigr\}, \qquad
        \tau(z) = \frac{\sum_{j \le k(z)} z_{(j)} - 1}{k(z)} .

    The KKT conditions of the projection give this form (see :func:`sparsemax_threshold`). Like
    softmax it is invariant to adding a constant to every logit; unlike softmax it is
    piecewise linear and returns exact zeros.

    Edge cases, per slice and without warnings: an empty array returns an empty array; a slice
    that is all :math:`-\infty` returns zeros (as :func:`softmax_course.softmax`); :math:`-\infty`
    entries get 0 (a mask); :math:`n` entries equal to :math:`+\infty` get :math:`1/n` each and
    the others 0; a NaN makes the whole slice NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import sparsemax
    >>> sparsemax([1.0, 2.0, 3.0])  # 3 - 2 > 1: all the mass on the largest logit
    array([0., 0., 1.])
    >>> sparsemax([0.0, 0.5, 0.7])  # 0.0 lies below the threshold 0.1
    array([0. , 0.4, 0.6])
    >>> sparsemax([[0.0, 0.0], [0.0, -np.inf]])
    array([[0.5, 0.5],
           [1. , 0. ]])
    """
    rows, output_dtype, _, restore = _as_rows(x, axis)
    return restore(_sparsemax_rows(rows)).astype(output_dtype, copy=False)


def sparsemax_threshold(x, axis=-1):
    r"""The threshold :math:`\tau(z)` of sparsemax, one per slice.

    Parameters
    ----------
    x : array_like
        Real logits (bool and integers are computed as float64, float16 in float32).
    axis : int, tuple of ints or None, default -1
        Axes that form one distribution; they are removed from the result.

    Returns
    -------
    numpy.ndarray or numpy scalar
        :math:`\tau` of every slice, in the output dtype of ``x``: ``sparsemax(x)`` is
        ``max(x - tau, 0)`` with ``tau`` broadcast back along ``axis``. An empty or all
        :math:`-\infty` slice gives :math:`-\infty`; a slice with a :math:`+\infty` entry gives
        :math:`+\infty`; a NaN gives NaN.

    Raises
    ------
    TypeError
        If ``x`` is complex, object or string.
    ValueError
        If an axis is repeated.
    numpy.exceptions.AxisError
        If an axis is out of range.

    Notes
    -----
    The projection minimises :math:`\tfrac12 \lVert p - z\rVert^2` subject to
    :math:`\mathbf 1^\top p = 1` and :math:`p \ge 0`. With multipliers :math:`\tau` and
    :math:`\mu \ge 0`, stationarity reads :math:`p_i - z_i + \tau - \mu_i = 0` and complementary
    slackness :math:`\mu_i p_i = 0`. Where :math:`p_i > 0`, :math:`p_i = z_i - \tau`; where
    :math:`p_i = 0`, :math:`\mu_i = \tau - z_i \ge 0`. So :math:`p = \max(z - \tau, 0)`, and
    :math:`\sum_i p_i = 1` fixes :math:`\tau`: the mean of the support's logits minus
    :math:`1 / |S|`.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import sparsemax_threshold
    >>> round(float(sparsemax_threshold([0.0, 0.5, 0.7])), 12)  # (0.5 + 0.7 - 1) / 2
    0.1
    """
    rows, output_dtype, reduced_shape, _ = _as_rows(x, axis)
    if rows.shape[-1] == 0:
        return np.full(reduced_shape, -np.inf, output_dtype)[()]
    row_max, gap, _ = _threshold_rows(rows)
    with np.errstate(invalid="ignore"):  # inf + inf is inf; -inf + 0 is -inf; NaN stays NaN
        tau = row_max + gap  # (n,)
    return tau.reshape(reduced_shape).astype(output_dtype, copy=False)[()]


def sparsemax_jacobian(x, axis=-1):
    r"""Jacobian of sparsemax along one axis, as an explicit ``(..., K, K)`` array.

    Parameters
    ----------
    x : array_like
        Real logits (bool and integers are computed as float64, float16 in float32).
    axis : int, default -1
        The class axis, of length K.

    Returns
    -------
    numpy.ndarray
        ``J`` of shape ``batch + (K, K)``, where ``batch`` is ``x.shape`` without ``axis``, with
        ``J[..., i, j]`` the derivative of output ``i`` with respect to input ``j``. Output dtype
        as for :func:`sparsemax`.

    Raises
    ------
    ValueError
        If the result would exceed 1 GiB; use :func:`sparsemax_vjp` instead.
    TypeError
        If ``x`` is not real or ``axis`` is not a single int.
    numpy.exceptions.AxisError
        If ``axis`` is out of range.

    Notes
    -----
    Let :math:`S` be the support and :math:`s` its 0/1 indicator. Away from ties with the
    threshold the support does not change under a small perturbation, and on it
    :math:`p_i = z_i - \tau` with :math:`\tau = (\sum_{l \in S} z_l - 1) / |S|`, so
    :math:`\partial p_i / \partial z_j = \delta_{ij} - 1/|S|` for :math:`i, j \in S` and 0
    otherwise:

    .. math::

        J = \operatorname{diag}(s) - \frac{s s^\top}{|S|} .

    It is symmetric, :math:`J \mathbf 1 = 0` and :math:`J^2 = J`: an orthogonal projection (onto
    the vectors supported on :math:`S` with zero sum), of rank :math:`|S| - 1`. Where some
    :math:`z_i = \tau` exactly, sparsemax is not differentiable; this formula is then the
    derivative from the side where :math:`i` leaves the support. Slices with no support (all
    :math:`-\infty`) give the zero matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import sparsemax_jacobian
    >>> sparsemax_jacobian([0.0, 0.5, 0.7])
    array([[ 0. ,  0. ,  0. ],
           [ 0. ,  0.5, -0.5],
           [ 0. , -0.5,  0.5]])
    """
    z, output_dtype, _ = as_float_array(x, "x")
    axis = normalize_single_axis(axis, z.ndim)
    _check_jacobian_size(z.shape, axis, z.dtype, "sparsemax_jacobian")
    p = np.moveaxis(sparsemax(z, axis=axis), axis, -1)  # (..., K)
    s = (p > 0).astype(z.dtype)  # (..., K): the support
    size = np.maximum(s.sum(axis=-1), 1.0)[..., None, None]  # (..., 1, 1); no support: J = 0
    jacobian = -(s[..., :, None] * s[..., None, :]) / size  # (..., K, K)
    diagonal = np.arange(s.shape[-1])
    jacobian[..., diagonal, diagonal] += s
    jacobian += 0.0  # -0.0 (off the support) becomes 0.0
    return jacobian.astype(output_dtype, copy=False)


def sparsemax_vjp(p, g, axis=-1):
    r"""Vector-Jacobian product of sparsemax, :math:`J^\top g`, in O(K) memory.

    Parameters
    ----------
    p : array_like
        The sparsemax OUTPUT ``sparsemax(x, axis)`` (not the logits): only its support is used.
    g : array_like
        Upstream gradient :math:`\partial L / \partial p`, same shape as ``p``.
    axis : int, tuple of ints or None, default -1
        The axes the sparsemax was taken over.

    Returns
    -------
    numpy.ndarray
        :math:`\partial L / \partial x`, same shape as ``p``; dtype is the promotion of both
        inputs' output dtypes.

    Raises
    ------
    ValueError
        If ``p`` and ``g`` have different shapes (the message names both), or an axis is
        repeated.
    TypeError
        If an input is not real.
    numpy.exceptions.AxisError
        If an axis is out of range.

    Notes
    -----
    With :math:`J = \operatorname{diag}(s) - s s^\top / |S|` (symmetric),

    .. math::

        (J^\top g)_j = s_j \Bigl(g_j - \frac{1}{|S|} \sum_{i \in S} g_i\Bigr):

    on the support, the upstream gradient minus its mean over the support; 0 elsewhere. Compare
    softmax, :math:`s_j (g_j - \sum_i s_i g_i)` with the probabilities as weights.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import sparsemax, sparsemax_vjp
    >>> p = sparsemax([0.0, 0.5, 0.7])
    >>> sparsemax_vjp(p, np.array([1.0, 2.0, 0.0]))
    array([ 0.,  1., -1.])
    """
    p_array, p_output_dtype, _ = as_float_array(p, "p")
    g_array, g_output_dtype, _ = as_float_array(g, "g")
    check_same_shape(p_array, g_array, ("p", "g"))
    axes = normalize_axes(axis, p_array.ndim)
    support = p_array > 0  # (..., K, ...)
    size = np.count_nonzero(support, axis=axes, keepdims=True)  # (..., 1, ...)
    total = np.sum(g_array, axis=axes, keepdims=True, where=support)  # (..., 1, ...)
    mean = np.divide(total, size, out=np.zeros_like(total), where=size > 0)
    product = np.where(support, g_array - mean, 0.0)
    return product.astype(np.result_type(p_output_dtype, g_output_dtype), copy=False)
