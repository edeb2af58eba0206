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
