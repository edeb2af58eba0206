"""Private numerical kernels shared by the package's modules.

``exp_shifted`` is the guarded ``exp(x - m)`` that every softmax here is built on: the running
maximum of the online softmax and the tiles of FlashAttention use it as it stands.
"""

from __future__ import annotations

import numpy as np


def exp_shifted(x, m, where=None, out=None):
    r"""``exp(x - m)`` for ``x <= m`` (``m`` broadcasts against ``x``), with the edge-case limits.

    * ``m = -inf``: nothing but ``-inf`` has been seen, every ``x`` is ``-inf`` and its weight is 0
      (the unguarded formula computes ``exp(-inf - (-inf)) = exp(nan)``);
    * ``x = m = +inf``: the ``+inf`` entries tie for the maximum and each counts 1, the limit of
      equal huge logits (unguarded: ``exp(inf - inf) = nan`` again); finite ``x`` gives 0;
    * NaN in ``x`` or ``m`` gives NaN.

    With ``where``, only the True entries are computed; the others are 0 (so a masked logit
    larger than ``m`` cannot overflow). ``out`` (which may be ``x`` itself) receives the result
    when there is no ``where`` and no ``+inf`` maximum, saving a temporary in the hot loops;
    callers must use the returned array, which is ``out`` only in that case.
    """
    infinite_max = np.asarray(m == np.inf)
    tied_at_infinity = None
    if infinite_max.any():  # looked at before x may be overwritten by out=x
        tied_at_infinity = x == np.inf if where is None else (x == np.inf) & where
    shift = np.where(m == -np.inf, 0.0, m)  # -inf - 0 = -inf keeps the weight at exp(-inf) = 0
    # +inf - +inf = nan is repaired below; x - m overflowing to -inf (a spread beyond the float
    # range) has the right weight, exp(-inf) = 0
    with np.errstate(invalid="ignore", over="ignore"):
        # asarray: for 0-d operands NumPy returns a scalar, which cannot be an out= buffer
        difference = np.asarray(np.subtract(x, shift, out=out if where is None else None))
        if where is None:
            weights = np.exp(difference, out=difference)
        else:
            weights = np.exp(difference, out=np.zeros_like(difference), where=where)
    if tied_at_infinity is not None:
        weights = np.where(infinite_max, tied_at_infinity, weights)
    return weights


def top_mask(s, axes):
    """Boolean mask with one True per slice over ``axes`` (an int or a tuple): the first maximum.

    Only that entry of a probability vector can exceed 1/2, and it is the one whose complement
    ``1 - s`` cancels when it is close to 1 (see ``probability_complement``).
    """
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    ends = tuple(range(s.ndim - len(axes), s.ndim))
    moved = np.moveaxis(s, axes, ends)  # (*batch, *axes)
    flat = moved.reshape(*moved.shape[: s.ndim - len(axes)], -1)  # (*batch, K)
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
