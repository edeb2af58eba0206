"""Private numerical kernels shared by the package's modules.

``shift_by_max`` is the guarded ``x - m`` that every softmax here is built on, with the limits
of its edge cases (infinite and empty maxima, masks); ``exp_shifted`` is its exponential, which
the running maximum of the online softmax and the tiles of FlashAttention use as it stands, and
``stable.py`` takes the shift itself (log-softmax needs the shifted logits, not their exp).
``top_mask`` and ``probability_complement`` keep derivatives accurate near certainty.
"""

from __future__ import annotations

import math

import numpy as np


def shift_by_max(x, m, where=None, out=None):
    r"""``x - m`` for ``x <= m`` (``m`` broadcasts against ``x``), with the limits at the edges.

    The shifted logits every softmax here exponentiates (or, for log-softmax, keeps):

    * ``m = -inf``: nothing but ``-inf`` has been seen, every ``x`` is ``-inf`` and stays ``-inf``
      (weight 0), where the unguarded ``-inf - (-inf)`` is NaN;
    * ``m = +inf``: the ``+inf`` entries tie for the maximum and become 0 (weight 1 each, the
      limit of equal huge logits), every finite entry becomes ``-inf`` (unguarded: ``inf - inf``
      is NaN again);
    * NaN in ``x`` or ``m`` gives NaN;
    * with ``where``, the False entries become ``-inf`` (weight 0, even a masked ``+inf``).

    ``x - m`` overflowing to ``-inf`` (a spread beyond the float range) is the right limit too.
    ``out`` (which may be ``x`` itself) receives the result, saving a temporary in hot loops.
    """
    infinite_max = np.asarray(m == np.inf)
    tied_at_infinity = None
    if infinite_max.any():  # read before x may be overwritten by out=x
        tied_at_infinity = x == np.inf
    shift = np.where(m == -np.inf, 0.0, m)  # -inf - 0 = -inf: the weight stays exp(-inf) = 0
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is repaired below
        # asarray: for 0-d operands NumPy returns a scalar, which cannot be written into
        difference = np.asarray(np.subtract(x, shift, out=out))
    if tied_at_infinity is not None:
        np.copyto(difference, np.where(tied_at_infinity, 0.0, -np.inf), where=infinite_max)
    if where is not None:
        np.copyto(difference, -np.inf, where=np.logical_not(where))
    return difference


def exp_shifted(x, m, where=None, out=None):
    """``exp(x - m)`` with the limits of ``shift_by_max``: the weights of a softmax.

    Masked entries (``where`` False) get weight 0, ``+inf`` entries tied at an infinite maximum
    get 1 each, a slice of nothing but ``-inf`` gets 0 everywhere. ``out`` as in
    ``shift_by_max``; the result is written there when it is given.
    """
    difference = shift_by_max(x, m, where=where, out=out)
    with np.errstate(under="ignore"):
        return np.exp(difference, out=difference)


def top_mask(s, axes):
    """Boolean mask with one True per slice over ``axes`` (an int or a tuple): the first maximum.

    Only that entry of a probability vector can exceed 1/2, and it is the one whose complement
    ``1 - s`` cancels when it is close to 1 (see ``probability_complement``).
    """
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    ends = tuple(range(s.ndim - len(axes), s.ndim))
    moved = np.moveaxis(s, axes, ends)  # (*batch, *axes)
    classes = math.prod(s.shape[axis] for axis in axes)  # not -1: the batch may be empty
    flat = moved.reshape(*moved.shape[: s.ndim - len(axes)], classes)  # (*batch, K)
    mask = np.zeros(flat.shape, dtype=bool)
    if flat.shape[-1]:
        np.put_along_axis(mask, np.argmax(flat, axis=-1, keepdims=True), True, axis=-1)
    return np.moveaxis(mask.reshape(moved.shape), ends, axes)


def probability_complement(s, axes, top=None):
    r"""``sum_{j != k} s_j`` for every entry ``k`` of the probability vectors ``s`` over ``axes``.

    In exact arithmetic it is ``1 - s_k``; in floating point ``1 - s_k`` loses every digit when
    ``s_k`` is within a few ulps of 1 (``1 - 0.9999999999`` has 6 correct digits in float64 and
    none in float32). Only the largest entry can exceed 1/2, so its complement is the sum of the
    other entries, each small and accurate; every other entry is at most 1/2 and ``1 - s_k`` is
    accurate to an ulp. ``top`` is ``top_mask(s, axes)`` when the caller has it already.
    """
    top = top_mask(s, axes) if top is None else top
    others = np.add.reduce(np.where(top, 0.0, s), axis=axes, keepdims=True)  # (..., 1, ...)
    return np.where(top, others, 1.0 - s).astype(s.dtype, copy=False)
