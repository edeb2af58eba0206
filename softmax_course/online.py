"""Online softmax (Milakov & Gimelshein 2018).

The two-pass softmax needs the maximum of a whole slice before it can sum ``exp(x - max)``. The
online version carries a running pair ``(m, d)``, the maximum seen so far and the sum of
``exp(x - m)`` so far, and fixes the sum up whenever the maximum grows. Two such pairs merge
associatively, so a slice can be read in blocks, in any grouping, or by several workers.
FlashAttention (``flash.py``) applies the same bookkeeping to the weighted sum of value rows.

Reading order: ``OnlineSoftmaxState``, then ``online_softmax`` (the paper's loop over blocks,
vectorised). The guarded ``exp(x - m)`` they share is ``_numerics.exp_shifted``. The paper's
loop one element at a time, in plain Python, is in ``tests/test_online.py``, where it checks this
module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._numerics import exp_shifted
from ._validation import as_float_array, check_block_size, check_where, normalize_axes

__all__ = ["OnlineSoftmaxState", "online_softmax"]


# --------------------------------------------------------------------------------------------------
# the running state
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class OnlineSoftmaxState:
    r"""What an online softmax remembers about the logits it has read: running max and normalizer.

    Parameters
    ----------
    max : array_like
        Running maximum :math:`m` per slice (``-inf`` before anything is read).
    normalizer : array_like
        Running normalizer :math:`d = \sum_j e^{x_j - m}` per slice (0 before anything is read),
        same shape as ``max``.

    Attributes
    ----------
    max, normalizer : numpy.ndarray
        Read-only float arrays over the batch shape (the shape of the input with the softmax axes
        removed). Integer and bool input is stored as float64, float16 as float32.

    Raises
    ------
    TypeError
        If ``max`` or ``normalizer`` is complex or not numeric.
    ValueError
        If ``max`` and ``normalizer`` have different shapes.

    Notes
    -----
    After reading :math:`x_1, \dots, x_n` the state is

    .. math::

        m = \max_j x_j, \qquad d = \sum_j e^{x_j - m},

    and :math:`\log \sum_j e^{x_j} = m + \log d` (property :attr:`logsumexp`). Two states of
    disjoint parts of a slice combine into the state of their union (:meth:`merge`):

    .. math::

        M = \max(m, m'), \qquad D = d\, e^{m - M} + d'\, e^{m' - M},

    because :math:`d\,e^{m-M} = \sum_j e^{x_j - M}`. Taking a maximum and adding are associative
    and commutative, so the order and grouping of the merges changes only the rounding. Every
    exponent is :math:`\le 0`, so nothing overflows.

    Edge cases (all without warnings): the **empty** state :math:`(-\infty, 0)` is the identity of
    the merge; merging two empty states gives an empty state, not the NaN of
    :math:`e^{-\infty - (-\infty)}`. A slice with :math:`+\infty` entries has :math:`m = +\infty`
    and :math:`d` = the number of :math:`+\infty` entries (the limit of equal huge logits). A NaN
    makes :math:`m` and :math:`d` NaN for good.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import OnlineSoftmaxState
    >>> state = OnlineSoftmaxState.empty().update([1.0, 2.0]).update([3.0])
    >>> float(state.max), round(float(state.normalizer), 4)  # e^-2 + e^-1 + e^0
    (3.0, 1.5032)
    >>> left = OnlineSoftmaxState.empty().update([1.0, 2.0])
    >>> right = OnlineSoftmaxState.empty().update([3.0])
    >>> bool(np.isclose(left.merge(right).logsumexp, state.logsumexp))
    True
    >>> float(OnlineSoftmaxState.empty().merge(OnlineSoftmaxState.empty()).logsumexp)
    -inf
    """

    max: np.ndarray
    normalizer: np.ndarray

    def __post_init__(self):
        running_max, _, _ = as_float_array(self.max, "max")
        normalizer, _, _ = as_float_array(self.normalizer, "normalizer")
        if running_max.shape != normalizer.shape:
            raise ValueError(f"max and normalizer must have the same shape, got max of shape "
                             f"{running_max.shape} and normalizer of shape {normalizer.shape}")
        dtype = np.result_type(running_max, normalizer)
        for name, value in (("max", running_max), ("normalizer", normalizer)):
            stored = np.array(value, dtype=dtype)  # a private copy, so it can be made read-only
            stored.flags.writeable = False
            object.__setattr__(self, name, stored)

    @classmethod
    def empty(cls, shape=(), dtype=np.float64):
        """The state before any logit is read: ``max = -inf`` and ``normalizer = 0``.

        Parameters
        ----------
        shape : int or tuple of ints, default ()
            Batch shape (one state per slice).
        dtype : floating dtype, default float64
            dtype of the two arrays.

        Returns
        -------
        OnlineSoftmaxState
        """
        return cls(np.full(shape, -np.inf, dtype), np.zeros(shape, dtype))

    @property
    def shape(self) -> tuple[int, ...]:
        """The batch shape."""
        return self.max.shape

    @property
    def logsumexp(self) -> np.ndarray:
        r""":math:`m + \log d`, the log-sum-exp of everything read: ``-inf`` for an empty state."""
        with np.errstate(divide="ignore"):  # log(0) = -inf is the answer for an empty state
            return self.max + np.log(self.normalizer)  # -inf + -inf = -inf; +inf + log n = +inf

    def merge(self, other: OnlineSoftmaxState) -> OnlineSoftmaxState:
        """The state of everything read by ``self`` and ``other`` together.

        Parameters
        ----------
        other : OnlineSoftmaxState
            State of another, disjoint part of the same slices; its shape must broadcast with
            ``self.shape``.

        Returns
        -------
        OnlineSoftmaxState
            With shape the broadcast of both shapes.

        Raises
        ------
        TypeError
            If ``other`` is not an ``OnlineSoftmaxState``.
        ValueError
            If the two shapes do not broadcast; the message names both.
        """
        if not isinstance(other, OnlineSoftmaxState):
            raise TypeError(
                f"can only merge with an OnlineSoftmaxState, got {type(other).__name__}"
            )
        try:
            new_max = np.maximum(self.max, other.max)  # (batch); NaN propagates
        except ValueError:
            raise ValueError(f"cannot merge states of shapes {self.shape} and {other.shape}: "
                             f"they do not broadcast") from None
        # Each normalizer is re-expressed relative to the common maximum; exp_shifted makes an
        # empty side contribute 0 * 0 instead of 0 * nan.
        new_normalizer = (self.normalizer * exp_shifted(self.max, new_max)
                          + other.normalizer * exp_shifted(other.max, new_max))  # (batch)
        return OnlineSoftmaxState(new_max, new_normalizer)

    def update(self, block, axis=-1, *, where=None) -> OnlineSoftmaxState:
        """The state after also reading ``block``.

        Parameters
        ----------
        block : array_like
            Logits; ``block`` with ``axis`` removed must broadcast with ``self.shape``. An empty
            block leaves the state as it is.
        axis : int, tuple of ints or None, default -1
            Axes of ``block`` that belong to the softmax; None means all of them.
        where : array_like of bool, optional
            Mask broadcastable to ``block``; only True entries are read.

        Returns
        -------
        OnlineSoftmaxState
            ``self.merge(state of block alone)``.

        Raises
        ------
        TypeError
            If ``block`` is complex or not numeric, or ``where`` is not boolean.
        numpy.exceptions.AxisError
            If an axis is out of range.
        ValueError
            If an axis is repeated, or a shape does not broadcast.
        """
        logits, _, _ = as_float_array(block, "block")  # (..., n)
        axes = normalize_axes(axis, logits.ndim)
        mask = check_where(where, logits.shape)
        # initial=-inf makes an empty or fully masked block give the empty state instead of
        # raising; where=None would mean "read no entry", hence True
        block_max = logits.max(axis=axes, keepdims=True, initial=-np.inf,
                               where=True if mask is None else mask)  # (..., 1)
        weights = exp_shifted(logits, block_max, where=mask)  # (..., n)
        block_normalizer = weights.sum(axis=axes)  # (...)
        block_state = OnlineSoftmaxState(block_max.squeeze(axis=axes), block_normalizer)
        return self.merge(block_state)


# --------------------------------------------------------------------------------------------------
# online softmax
# --------------------------------------------------------------------------------------------------


def online_softmax(x, axis=-1, block_size=1024, *, where=None):
    r"""Softmax computed by reading ``x`` in blocks with a running max and normalizer.

    Parameters
    ----------
    x : array_like
        Real logits (bool and integers are computed as float64, float16 in float32).
    axis : int, tuple of ints or None, default -1
        Axes that form one distribution; None normalises over the whole array. Several axes are
        read as one flattened axis in C order.
    block_size : int, default 1024
        Number of logits per slice read at a time (the last block may be shorter).
    where : array_like of bool, optional
        Mask broadcastable to ``x.shape``; False entries are excluded and get probability 0.

    Returns
    -------
    numpy.ndarray
        Same values as :func:`softmax_course.stable.softmax` (up to rounding), same shape and
        output dtype as ``x``.

    Raises
    ------
    ValueError
        If ``block_size`` is not an int >= 1 (the message names it and the value), an axis is
        repeated, or ``where`` cannot be broadcast to ``x``.
    TypeError
        If ``x`` is complex, object or string, or ``where`` is not boolean.
    numpy.exceptions.AxisError
        If an axis is out of range.

    Notes
    -----
    Pass 1 folds the blocks :math:`B_1, B_2, \dots` of each slice into an
    :class:`OnlineSoftmaxState` :math:`(m, d)`, starting from :math:`(-\infty, 0)`; after the
    last block :math:`m = \max_j x_j` and :math:`d = \sum_j e^{x_j - m}`. Pass 2 writes

    .. math:: \operatorname{softmax}(x)_i = e^{x_i - m} / d .

    The two-pass stable softmax reads ``x`` three times (max, exp-and-sum, normalise); this
    version reads it twice, which is what matters when ``x`` does not fit in fast memory. In
    NumPy each block costs a few Python-level calls, so small blocks are slow: this function is
    for teaching and for checking, see ``benchmarks/bench_online.py``.

    Edge cases are those of :func:`softmax_course.stable.softmax`, without warnings: an empty
    array gives an empty array; an all :math:`-\infty` or all-masked slice gives zeros; :math:`n`
    unmasked :math:`+\infty` entries get :math:`1/n` each and the rest 0; an unmasked NaN makes
    the whole slice NaN (masked entries included, as in ``softmax``). A block that is entirely
    :math:`-\infty` or masked leaves the state unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import online_softmax, softmax
    >>> x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> np.round(online_softmax(x, block_size=2), 4)
    array([0.0117, 0.0317, 0.0861, 0.2341, 0.6364])
    >>> bool(np.allclose(online_softmax(x, block_size=2), softmax(x)))
    True
    >>> online_softmax([-np.inf, -np.inf], block_size=1)
    array([0., 0.])
    """
    logits, output_dtype, _ = as_float_array(x, "x")
    block_size = check_block_size(block_size, "block_size")
    axes = normalize_axes(axis, logits.ndim)
    mask = check_where(where, logits.shape)
    if logits.size == 0:
        return np.empty(logits.shape, output_dtype)

    # Move the softmax axes to the end and flatten them into one axis of length K.
    reduced = tuple(range(logits.ndim - len(axes), logits.ndim))
    moved = np.moveaxis(logits, axes, reduced)  # (*batch, *softmax axes)
    batch_shape = moved.shape[: logits.ndim - len(axes)]
    flat = moved.reshape(*batch_shape, -1)  # (*batch, K)
    flat_mask = None
    if mask is not None:
        flat_mask = np.moveaxis(np.broadcast_to(mask, logits.shape), axes, reduced)
        flat_mask = flat_mask.reshape(*batch_shape, -1)  # (*batch, K)
    length = flat.shape[-1]
    starts = range(0, length, block_size)

    def block_mask(start):
        return None if flat_mask is None else flat_mask[..., start:start + block_size]

    state = OnlineSoftmaxState.empty(batch_shape, flat.dtype)
    for start in starts:  # pass 1: the running (max, normalizer)
        state = state.update(flat[..., start:start + block_size], where=block_mask(start))

    running_max = state.max[..., np.newaxis]  # (*batch, 1)
    normalizer = state.normalizer[..., np.newaxis]  # (*batch, 1)
    probabilities = np.zeros_like(flat)  # (*batch, K)
    for start in starts:  # pass 2: normalise, written straight into the result when possible
        block_out = probabilities[..., start:start + block_size]  # (*batch, block), a view
        weights = exp_shifted(flat[..., start:start + block_size], running_max,
                               where=block_mask(start), out=block_out)  # (*batch, block)
        # normalizer 0 (nothing to normalise) leaves the zeros; NaN is != 0 and so propagates
        np.divide(weights, normalizer, out=block_out, where=normalizer != 0)
    if flat_mask is not None:
        # as softmax: an unmasked NaN poisons the whole slice, masked entries included
        np.copyto(probabilities, np.nan, where=np.isnan(running_max))
    result = np.moveaxis(probabilities.reshape(moved.shape), reduced, axes)
    return result.astype(output_dtype, copy=False)
