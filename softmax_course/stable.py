"""Numerically stable softmax, log-softmax and log-sum-exp, plus the naive softmax they replace.

All three stable functions share one idea: shift every slice by a constant before
exponentiating, chosen from the slice maximum ``m``. Softmax is invariant to adding a constant to
every logit, so the shift can keep ``exp`` from overflowing and the sum from underflowing to zero.

``log_softmax`` and ``logsumexp`` subtract ``m`` itself (``_shift``): the largest term is then
exactly ``exp(0) = 1``, which ``log1p`` needs. ``softmax`` shifts by the constant that loses nothing
(``_lossless_shift``): rounding ``x - m`` costs up to ``|x - m|`` ulps in the probability, so it
exponentiates the logits as they are when they cannot overflow, and otherwise subtracts ``m``
where that happens to be exact, or else an integer for which ``x - c`` is exact. It is then as
accurate as ``exp`` itself and one pass cheaper. Small arrays, where a few more passes cost
microseconds, subtract ``m`` and add its rounding error back (``_softmax_of_a_small_array``), so
that their largest weight is exactly 1 too.

The fast paths (no mask and a finite maximum in every slice, checked on the reduced array only) do
one max, at most one subtraction into a buffer the function owns and nothing else; everything
about masks, infinities and NaN lives in ``_shift_edge_cases``.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from ._numerics import shift_by_max
from ._validation import as_float_array, check_positive_finite, check_where, normalize_axes

__all__ = ["log_softmax", "logsumexp", "naive_softmax", "softmax"]


# The floating-point conditions the stable functions meet on purpose, silenced around them:
# overflow can only send a shifted logit to -inf (exp = 0, the right limit), exp underflowing to 0
# is the right value for very negative logits, and "invalid" can only come from the finite test in
# _shift (inf + -inf). Every such case ends in the documented result, so none deserves a warning.
_QUIET = {"over": "ignore", "under": "ignore", "invalid": "ignore"}


# Below this many elements (and at T = 1) softmax subtracts the maximum itself, its rounding error
# added back (``_softmax_of_a_small_array``). The extra passes cost 3 to 16 microseconds there, on
# calls of some ten microseconds whatever they compute; from here up, where the time of one pass
# grows with the data (and speed is promised from 10^4 elements), ``_lossless_shift`` does with one
# pass fewer.
_EXACT_SHIFT_BELOW = 1024


class _Arguments(NamedTuple):
    """The validated arguments shared by the stable functions."""

    z: np.ndarray  # the input as a float array, in the compute dtype
    output_dtype: np.dtype
    owned: bool  # z is a buffer allocated by the conversion: it may be overwritten
    axes: int | tuple[int, ...]  # one int when there is a single axis (ufunc.reduce is faster)
    temperature: float
    mask: np.ndarray | None


class _Shifted(NamedTuple):
    """The logits shifted so that every slice's largest unmasked entry is 0 (see ``_shift``)."""

    shifted: np.ndarray  # (z - x_max) / T, a buffer of our own, same shape as z
    x_max: np.ndarray  # the slice maxima, reduced axes kept with size 1
    exact: bool  # the fast path: every slice had a finite maximum, so sum(exp(shifted)) >= 1
    top_index: np.ndarray | None  # on the fast path with one axis: where one maximum sits
    top_flat: np.ndarray | None  # the same as positions in z.reshape(-1), when that is a view


def _axis_of_a_scalar(z, axis):
    """A scalar is one distribution of one entry, as in SciPy: axis 0 or -1 (the default) of a
    0-d array means all of its (no) axes."""
    return None if z.ndim == 0 and type(axis) is int and axis in (0, -1) else axis


def _prepare(x, axis, temperature, where) -> _Arguments:
    """Validate the arguments shared by the stable functions (all checks are O(1))."""
    z, output_dtype, owned = as_float_array(x, "x")
    axes = normalize_axes(_axis_of_a_scalar(z, axis), z.ndim)
    temperature = check_positive_finite(temperature, "temperature")
    mask = check_where(where, z.shape)
    return _Arguments(z, output_dtype, owned, axes[0] if len(axes) == 1 else axes, temperature,
                      mask)


def _shift(z, axes, temperature, mask, owned, *, find_top=False) -> _Shifted:
    """Shift every slice by its maximum: ``shifted = (z - x_max) / temperature``.

    Every non-NaN slice of ``shifted`` has maximum 0 over its unmasked entries unless it has no
    finite mass (see ``_shift_edge_cases``). Callers run this under ``np.errstate(**_QUIET)``: see
    the comments on the finite test and the subtraction.

    With ``find_top``, one axis and no mask, the maximum is found by ``argmax``, which costs about
    as much as ``max`` and also says where one maximal entry is: ``_sum_beside_top`` needs that to
    leave it out.
    """
    top_index = top_flat = None
    if mask is None:
        if find_top and isinstance(axes, int):
            top_index = np.argmax(z, axis=axes, keepdims=True)  # (..., 1, ...); NaN counts as max
            top_flat = _flat_positions(z, axes, top_index)
            if top_flat is None:
                x_max = np.take_along_axis(z, top_index, axis=axes)
            else:  # take_along_axis without its index building (a fifth of a 100 x 100 call)
                x_max = z.reshape(-1)[top_flat]
        else:
            x_max = _slice_maxima(z, axes, None)
        if _all_finite(x_max):
            # Subtracting first and dividing by T after (rather than max(x / T)) means x / T
            # cannot overflow for a tiny T: (x - m) / T <= 0 can only overflow to -inf, whose exp
            # is the exact limit 0. (So can x - m, for a slice spanning more than the largest
            # float.) That is why the callers silence overflow warnings.
            shifted = np.subtract(z, x_max, out=z if owned else np.empty_like(z))
            if temperature != 1.0:
                shifted /= temperature
            return _Shifted(shifted, x_max, True, top_index, top_flat)
    else:
        x_max = _slice_maxima(z, axes, mask)
    return _Shifted(_shift_edge_cases(z, temperature, mask, x_max, owned), x_max, False, None,
                    None)


def _flat_positions(z, axis, index):
    """``index`` (from ``argmax(z, axis, keepdims=True)``) as positions in ``z.reshape(-1)``,
    when ``axis`` is the last one of a C-contiguous ``z`` (the usual batch of rows); else None.
    Row ``r`` starts at ``r * K``, so the position is that plus the index within the row."""
    if axis != z.ndim - 1 or not z.flags.c_contiguous:
        return None
    row_starts = np.arange(0, z.size, z.shape[-1]).reshape(index.shape)  # (..., 1)
    return row_starts + index


def _slice_maxima(z, axes, mask):
    """The largest unmasked entry of every slice, reduced axes kept with size 1 (-inf for an
    all-masked slice). ``np.maximum.reduce`` is ``np.max`` without its Python-level dispatch."""
    if mask is None:
        return np.maximum.reduce(z, axis=axes, keepdims=True)  # (..., 1, ...)
    return np.maximum.reduce(z, axis=axes, keepdims=True, initial=-np.inf, where=mask)


def _all_finite(x_max):
    """Whether every slice maximum is finite, by one cheap test on the reduced array: their sum
    is finite only if every one is (a NaN or an infinity makes it NaN or infinite; inf + -inf is
    NaN, with an "invalid" warning the callers silence). If the sum overflows, the callers merely
    take their general path, which is correct for finite input too."""
    return math.isfinite(np.add.reduce(x_max, axis=None))


def _lossless_shift(z, axes, mask, x_max, temperature):
    r"""The constant ``c`` per slice (reduced axes kept) that ``softmax`` exponentiates
    ``(x - c) / T`` with: no overflow, a largest weight that cannot underflow, and for ``T = 1``
    no rounding in ``x - c`` wherever the probability is a normal number. ``None`` when some
    maximum is not finite (the edge cases). One slice gets a Python float, and no shift at all
    the float 0.0: at 10^4 entries, array arithmetic on one number would cost a fifth of the
    softmax.

    With ``L = log(largest float) - log(K) - 1`` (``K`` entries per slice), exponents up to ``L``
    leave the sum of the ``K`` weights finite, and

    * ``0 <= m <= L``: ``c = 0``. The logits are exponentiated as they are, with no rounding
      before ``exp``, and the largest weight is :math:`e^m \ge 1`. (The common case costs no
      pass beyond the maximum: the minimum the two rules below need is not computed.)
    * ``m < 0`` (``T = 1``): ``c = m`` when ``x - m`` is exact for every logit whose weight does
      not underflow (``_subtracting_the_maximum_is_exact``), so the largest weight is exactly
      1; otherwise ``c = ceil(m)``, an integer with ``x <= m <= c <= 0``. Then ``|x - c| <= |x|``
      and ``x - c`` lies on the grid of ``x`` (a multiple of its ulp, which divides every integer
      below 2^53), so it is exact. The largest weight is :math:`e^{m - c} > e^{-1}`.
    * ``m > L`` (``T = 1``): ``c = m`` when that is exact as above; otherwise
      ``c = ceil(m - L)``, so the largest exponent is between ``L - 1`` and ``L``. For ``x >= c``,
      ``0 <= x - c <= x`` is exact by the same argument; every other ``x`` has a probability
      below :math:`e^{1 - L}`, at the bottom of the normal range.
    * ``T != 1``: ``(x - c) / T`` rounds anyway, so ``c = 0`` when ``0 <= m / T <= L`` (one
      rounding, in ``x / T``) and otherwise ``c = m``, whose largest weight is exactly 1.
    """
    slice_size = z.size // x_max.size
    largest_exponent = _log_largest(x_max.dtype) - math.log(slice_size) - 1.0
    if x_max.size == 1:
        m = x_max.item()
        if not math.isfinite(m):
            return None
        if temperature != 1.0:
            return 0.0 if 0.0 <= m / temperature <= largest_exponent else m
        if 0.0 <= m <= largest_exponent:
            return 0.0
        x_min = _slice_minima(z, axes, mask)
        if _subtracting_the_maximum_is_exact(x_max, x_min).item():
            return m
        if m < 0.0:
            return float(math.ceil(m))
        return float(math.ceil(m - largest_exponent))
    # Two reductions over the maxima settle the common case (every slice unshifted), and with it
    # finiteness: a NaN fails every comparison, an infinity the bounds.
    lowest = np.minimum.reduce(x_max, axis=None).item() / temperature
    highest = np.maximum.reduce(x_max, axis=None).item() / temperature
    if 0.0 <= lowest and highest <= largest_exponent:
        return 0.0
    if not (math.isfinite(lowest) and math.isfinite(highest)):
        return None
    if temperature != 1.0:
        scaled = x_max / temperature
        unshifted = (scaled >= 0.0) & (scaled <= largest_exponent)
        shift = np.where(unshifted, 0.0, x_max).astype(x_max.dtype, copy=False)
    else:
        integer_shift = np.where(x_max < 0.0, np.ceil(x_max),
                                 np.ceil(np.maximum(x_max - largest_exponent, 0.0)))
        exact = _subtracting_the_maximum_is_exact(x_max, _slice_minima(z, axes, mask))
        exact &= (x_max < 0.0) | (x_max > largest_exponent)  # the rest stay unshifted
        shift = np.where(exact, x_max, integer_shift)
    return shift if shift.any() else 0.0


def _softmax_of_a_small_array(z, axes, mask, x_max):
    r"""Softmax shifted by the maximum ``m`` itself, made exact: arrays below
    ``_EXACT_SHIFT_BELOW`` elements, ``T = 1``, every slice maximum finite.

    Every largest weight is then exactly :math:`e^0 = 1`, so ``exp``'s error stays out of the
    normalizer's largest term (``_lossless_shift``'s ``c = 0`` leaves it in: :math:`e^m` is
    rounded), and every other weight has ``exp``'s own error only.

    * float32 logits (and float16, computed in float32) are shifted, exponentiated, summed and
      divided in float64; ``z - m`` errs there by at most :math:`2^{-53}` relative, and the
      caller rounds the result to float32 once.
    * float64 (and wider): ``d = fl(z - m)`` and its rounding error :math:`e = (z - m) - d` are
      computed exactly by Knuth's TwoSum (six additions, no branch), and
      :math:`e^{d + e} = e^{d}(1 + e)` to first order; :math:`|e|` is at most half an ulp of
      ``d``, so the second-order term is far below an ulp. ``-inf`` logits, and a ``z - m`` that
      overflows to ``-inf``, have weight 0 and nothing to add. The weights are summed in long
      double where it is wider (x86: 64 significant bits), so that the normalizer is rounded
      once: summed in float64, a normalizer just above 1 (the largest relative ulp there is)
      collected up to 2 ulps of rounding, 4 in a probability.

    Returns a new array (float64 for float32 logits).
    """
    if z.dtype.itemsize < np.dtype(np.float64).itemsize:
        weights = np.exp(z.astype(np.float64) - x_max)  # same shape as z, in float64
        sum_dtype = np.float64
    else:
        difference = z - x_max
        back = difference - z  # TwoSum(z, -m): difference + error == z - m exactly
        error = np.subtract(z, difference - back)
        error += -x_max - back
        if not math.isfinite(np.add.reduce(error, axis=None)):  # NaN from -inf - (-inf)
            np.copyto(error, 0.0, where=~np.isfinite(error))  # those weights are 0 anyway
        weights = np.exp(difference)
        weights += weights * error  # not weights * (1 + error): 1 + error rounds back to 1
        sum_dtype = np.promote_types(z.dtype, np.longdouble)
    if mask is not None:
        np.copyto(weights, 0.0, where=np.logical_not(mask))  # a masked +inf or NaN included
    normalizer = np.add.reduce(weights, axis=axes, keepdims=True, dtype=sum_dtype)
    weights /= normalizer.astype(weights.dtype)  # >= 1: each slice has a weight of exactly 1
    return weights


def _subtracting_the_maximum_is_exact(x_max, x_min):
    """Per slice, whether ``x - m`` is exact for every logit ``x`` whose weight ``exp(x - m)``
    does not underflow to 0, so that ``c = m`` loses nothing and the largest weight is exactly
    ``exp(0) = 1`` (SciPy's shift, where it happens to be exact).

    Logits more than ``U`` (beyond ``exp``'s underflow to 0) below ``m`` get weight 0 however
    ``x - m`` rounds, and their probabilities round to 0 too, so only ``[max(n, m - U), m]``
    counts, ``n`` the slice minimum. Within it ``x - m`` is exact

    * by Sterbenz's lemma when every such ``x`` is within a factor 2 of ``m`` (``x >= m / 2`` for
      ``m > 0``, ``x >= 2 m`` for ``m < 0``); for ``m > 0`` that holds whenever ``m >= 2 U``;
    * for ``m < 0``, when ``m`` is a multiple of the ulp of the lowest such ``x``: it is then a
      multiple of every such ulp (powers of 2), and ``|x - m| <= |x|`` puts ``x - m`` on the
      grid of ``x``.
    """
    underflow = _exp_underflow(x_max.dtype)
    lowest_counted = np.maximum(x_min, x_max - underflow)
    positive = (x_max > 0.0) & ((lowest_counted >= x_max / 2) | (x_max >= 2 * underflow))
    on_grid = np.fmod(x_max, np.spacing(np.abs(lowest_counted))) == 0.0
    negative = (x_max < 0.0) & ((lowest_counted >= 2 * x_max) | on_grid)
    return positive | negative


def _slice_minima(z, axes, mask):
    """The smallest unmasked entry of every slice, reduced axes kept with size 1 (the rare
    paths of ``_lossless_shift`` alone need it)."""
    if mask is None:
        return np.minimum.reduce(z, axis=axes, keepdims=True)  # (..., 1, ...)
    return np.minimum.reduce(z, axis=axes, keepdims=True, initial=np.inf, where=mask)


@functools.cache
def _exp_underflow(dtype):
    """A margin past the exponent below which ``exp`` is 0 in ``dtype`` (log of its smallest
    subnormal, minus 1), computed in ``dtype``: long double's smallest subnormal is 0 in float64."""
    return 1.0 - float(np.log(np.finfo(dtype).smallest_subnormal))


@functools.cache
def _log_largest(dtype):
    """log of the largest finite value of a float dtype (computed in it: long double's largest
    value does not fit a Python float)."""
    return float(np.log(np.finfo(dtype).max))


def _to_output_dtype(values, output_dtype):
    """Round the float32 results of float16 input back to float16, where a log-probability or a
    log-sum-exp beyond +-65504 becomes +-inf, its correct rounding, without an overflow warning."""
    with np.errstate(over="ignore"):
        return values.astype(output_dtype, copy=False)


def _sum_beside_top(weights, shifted, axes):
    r"""``sum(exp(shifted)) - 1`` per slice, computed without the cancellation of ``- 1``.

    ``weights`` is ``exp(shifted)`` (it is overwritten). Each slice's maximal entries have
    ``shifted = 0`` and weight exactly 1, so :math:`\log \sum_i e^{y_i} = \log(1 + S)` with
    :math:`S` the sum of every weight but one maximal one, and ``log1p(S)`` is accurate to a few
    ulp even when :math:`S` is far below the rounding error of :math:`1 + S` (``logsumexp([0,
    -40])`` is :math:`4.25 \times 10^{-18}`, where ``log(1 + S)`` gives 0). Ties stay in
    :math:`S` (each adds 1). Keeps the reduced axes.

    On the fast path ``shifted.top_index`` says which entry to leave out. Elsewhere (masks,
    several axes, infinities) every weight below 1 is summed and the entries of weight 1 are
    counted: :math:`S` = (sum below 1) + (count - 1). A term whose weight rounds up to 1 is then
    counted as 1, its rounded value. An empty-mass slice (all weights 0) gives :math:`S = -1`,
    whose ``log1p`` is the intended :math:`-\infty`; a NaN slice gives NaN through ``x_max``.
    """
    if shifted.top_flat is not None and weights.flags.c_contiguous:  # reshape is then a view
        weights.reshape(-1)[shifted.top_flat] = 0.0
        return np.add.reduce(weights, axis=axes, keepdims=True)
    if shifted.top_index is not None:
        np.put_along_axis(weights, shifted.top_index, 0.0, axis=axes)
        return np.add.reduce(weights, axis=axes, keepdims=True)
    below_top = np.add.reduce(weights, axis=axes, keepdims=True, where=weights < 1)
    top_count = np.add.reduce(weights == 1, axis=axes, keepdims=True, dtype=weights.dtype)
    return below_top + (top_count - 1)


def _log_one_plus(s):
    r"""``log(1 + s)`` for the sum ``s`` beside a slice's maximum (in [-1, K - 1], or NaN).

    Below 1 this is ``log1p``, which keeps a tiny ``s`` (``log1p(1e-18)`` is not 0). From 1 up,
    ``1 + s`` loses at most half an ulp, and the bits it loses are recovered exactly (Knuth's
    two-sum): :math:`\log(1 + s) = \log h + \log(1 + \ell / h) \approx \log h + \ell / h`,
    :math:`h = \mathrm{fl}(1 + s)`, with :math:`|\ell / h| \le 2^{-53}`, so the neglected
    term is below :math:`2^{-107}`. The point of this branch: C libraries round ``log`` nearly
    correctly but ``log1p`` less so (glibc's ``log1p(2)`` is 0.59 ulp from :math:`\log 3`, one
    ulp below the double nearest it), and NumPy uses the C library's ``log1p`` on some CPUs (an
    AMD EPYC without AVX-512, for one). Ties at the maximum put ``s`` at 1, 2, ... exactly, so
    they would carry that error: float64 ``log_softmax`` on the tied rows of
    ``tests/accuracy`` was 0.93 ulp off there, against SciPy's 0.71.
    """
    result = np.log1p(s)  # s = -1 (an empty sum) gives -inf: the caller silences that warning
    from_one = s >= 1.0
    if from_one.any():  # a test on the reduced array, so the common case pays two passes only
        high = np.where(from_one, s + 1.0, 1.0)  # 1 where unused, so log and / cannot warn
        low = 1.0 - (high - s)  # exact where used, s >= 1 (Dekker's fast two-sum)
        np.copyto(result, np.log(high) + low / high, where=from_one)
    return result


def _shift_edge_cases(z, temperature, mask, x_max, owned):
    """The slow path of ``_shift``: masks, and slices whose maximum is +inf, -inf or NaN.

    ``_numerics.shift_by_max`` gives the shifted logits their limits, so that ``exp`` and one sum
    give the documented results: masked entries -inf; with n entries at +inf, those 0 and the rest
    -inf (they share the mass equally); a slice with nothing but -inf stays -inf (the sum is 0 and
    the callers return zeros or -inf). Dividing by the temperature afterwards keeps 0 and -inf.
    A NaN in an unmasked entry makes the whole slice NaN, masked entries included.
    """
    with np.errstate(over="ignore"):  # (x - m) / T may overflow to -inf: exp gives the limit 0
        shifted = shift_by_max(z, x_max, where=mask, out=z if owned else np.empty_like(z))
        if temperature != 1.0:
            shifted /= temperature
    np.copyto(shifted, np.nan, where=np.isnan(x_max))
    return shifted


def logsumexp(x, axis=-1, keepdims=False, *, where=None, b=None, return_sign=False):
    r"""Logarithm of the sum of exponentials, computed without overflow.

    Parameters
    ----------
    x : array_like
        Real input (bool and integers are computed as float64, float16 in float32).
    axis : int, tuple of ints or None, default -1
        Axes to reduce; None reduces all axes.
    keepdims : bool, default False
        Keep the reduced axes with size 1.
    where : array_like of bool, optional
        Mask broadcastable to ``x.shape``; only True entries are summed.
    b : array_like, optional
        Weights broadcastable with ``x`` (SciPy's ``b``): the result is
        ``log(|sum(b * exp(x))|)``. Entries with ``b = 0`` are left out, even if ``x`` is
        infinite there. Without ``return_sign``, a negative sum gives NaN.
    return_sign : bool, default False
        Also return the sign of ``sum(b * exp(x))`` (1, -1, or 0 for a sum of 0), as SciPy does.

    Returns
    -------
    numpy.ndarray or numpy scalar
        ``log(sum(exp(x)))`` over ``axis``, in the output dtype of ``x`` (float16 in gives float16
        out, bool/int in gives float64; with ``b``, the promotion of both). A 0-d result is a NumPy
        scalar. With ``return_sign``, the pair ``(result, sign)``.

    Raises
    ------
    TypeError
        If ``x`` is complex, object or string, or ``where`` is not boolean.
    numpy.exceptions.AxisError
        If an axis is out of range.
    ValueError
        If an axis is repeated or ``where`` cannot be broadcast to ``x``.

    Notes
    -----
    With :math:`m = \max_i x_i`,

    .. math::

        \log \sum_i e^{x_i} = m + \log \sum_i e^{x_i - m},

    where every exponent is :math:`\le 0` (no overflow) and the term with :math:`x_i = m` is 1, so
    the sum lies in :math:`[1, K]` (no underflow, no log of zero). The logarithm is taken as
    :math:`\log(1 + S)` with ``log1p``, :math:`S` the sum of every term but one maximal one, so a
    result near 0 keeps its relative accuracy (``logsumexp([0, -40])`` is
    :math:`4.25 \times 10^{-18}`, not 0). With weights, as in SciPy, the weights of the maximal
    entries :math:`B` are factored out: :math:`m + \log|B| + \log(1 + S / B)`.

    Edge cases, per slice and without warnings: an empty, all-masked or all :math:`-\infty` slice
    gives :math:`-\infty` (the log of an empty sum); any unmasked :math:`+\infty` gives
    :math:`+\infty`; any unmasked NaN gives NaN. Masked entries are ignored even if they are NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import logsumexp
    >>> float(np.round(logsumexp([1000.0, 1000.0]), 4))  # log(2 e^1000) = 1000 + log 2
    1000.6931
    >>> float(logsumexp([-np.inf, -np.inf]))
    -inf
    >>> np.round(logsumexp([[0.0, 1.0], [2.0, 5.0]], where=np.array([True, False])), 4)
    array([0., 2.])
    >>> float(logsumexp([0.0, -40.0]))  # log(1 + e^-40), not 0
    4.248354255291589e-18
    >>> value, sign = logsumexp([1.0, 2.0], b=[1.0, -3.0], return_sign=True)
    >>> float(np.round(value, 4)), float(sign)  # log|e - 3 e^2| and the sign of e - 3 e^2
    (2.9678, -1.0)
    """
    arguments = _prepare(x, axis, 1.0, where)
    z, axes = arguments.z, arguments.axes
    if b is not None or return_sign:
        return _weighted_logsumexp(arguments, b, keepdims, return_sign)
    if z.size == 0:
        # The sum of no terms is 0 and its log is -inf; np.add.reduce gives the reduced shape.
        empty_sum = np.add.reduce(z, axis=axes, keepdims=keepdims)
        return np.full(np.shape(empty_sum), -np.inf, arguments.output_dtype)[()]
    with np.errstate(**_QUIET):
        shifted = _shift(z, axes, 1.0, arguments.mask, arguments.owned, find_top=True)
        weights = np.exp(shifted.shifted, out=shifted.shifted)
        beside_top = _sum_beside_top(weights, shifted, axes)
    # An empty sum (all -inf or masked) has beside_top = -1 and log1p(-1) = -inf is the intended
    # answer; -inf + -inf = -inf, inf + log n = inf, NaN stays NaN.
    with np.errstate(divide="ignore"):
        result = _log_one_plus(beside_top) + shifted.x_max
    if not keepdims:
        result = np.squeeze(result, axis=axes)
    return _to_output_dtype(result, arguments.output_dtype)[()]


def softmax(x, axis=-1, *, temperature=1.0, where=None):
    r"""Softmax: exponentiate and normalise so that each slice along ``axis`` sums to 1.

    Parameters
    ----------
    x : array_like
        Real logits (bool and integers are computed as float64, float16 in float32).
    axis : int, tuple of ints or None, default -1
        Axes that form one distribution; None normalises over the whole array.
    temperature : float, default 1.0
        Positive finite scalar :math:`T`; the softmax is taken of ``x / T``.
    where : array_like of bool, optional
        Mask broadcastable to ``x.shape``; False entries are excluded and get probability 0.

    Returns
    -------
    numpy.ndarray or numpy scalar
        Probabilities, same shape as ``x``, in its output dtype (float16 in gives float16 out,
        bool/int in gives float64). A scalar ``x`` gives a NumPy scalar, as in SciPy.

    Raises
    ------
    TypeError
        If ``x`` is complex, object or string, ``temperature`` is not a real number, or ``where``
        is not boolean.
    ValueError
        If ``temperature`` is not positive and finite, an axis is repeated, or ``where`` cannot be
        broadcast to ``x``.
    numpy.exceptions.AxisError
        If an axis is out of range.

    Notes
    -----
    .. math::

        \operatorname{softmax}(x)_i = \frac{e^{x_i / T}}{\sum_j e^{x_j / T}}
                                   = \frac{e^{(x_i - c)/T}}{\sum_j e^{(x_j - c)/T}}

    for any constant :math:`c`. The one computed is chosen from the slice maximum
    :math:`m = \max_j x_j` so that nothing overflows and nothing is lost: :math:`c = 0` when
    :math:`e^{m/T}` times the slice length cannot overflow (the logits are exponentiated as they
    are), otherwise an integer near :math:`m` for which :math:`x_i - c` is exact. Subtracting
    :math:`m` itself, as SciPy does, rounds :math:`x_i - m` and costs up to :math:`|x_i - m|`
    ulps in the probability; this way the error is that of ``exp``, a few ulps. Arrays of fewer
    than 1024 entries (with :math:`T = 1`) do subtract :math:`m`, and add its rounding error
    back, so that their largest weight is exactly 1 as well. As
    :math:`T \to 0^+` the result tends to the uniform distribution over the arg-max entries (ties
    share the mass equally); as :math:`T \to \infty` it tends to the uniform distribution.

    Edge cases, per slice and without warnings: an empty array returns an empty array of the same
    shape; a slice that is all :math:`-\infty` or all masked returns zeros (it sums to 0, not 1:
    there is nothing to normalise, as JAX with an all-False ``where`` and PyTorch's safe softmax);
    a slice with :math:`n` unmasked :math:`+\infty` entries gives :math:`1/n` to each of them and
    0 elsewhere (the limit as they grow together); an unmasked NaN makes the whole slice NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import softmax
    >>> np.round(softmax([1.0, 2.0, 3.0]), 4)
    array([0.09  , 0.2447, 0.6652])
    >>> np.round(softmax([1000.0, 1001.0]), 4)  # the naive formula gives nan here
    array([0.2689, 0.7311])
    >>> np.round(softmax([1.0, 3.0, 3.0], temperature=1e-3), 4)  # ties split the mass
    array([0. , 0.5, 0.5])
    >>> softmax([np.inf, 0.0, np.inf])
    array([0.5, 0. , 0.5])
    >>> softmax([[-np.inf, -np.inf], [0.0, 0.0]])  # nothing to normalise in the first row
    array([[0. , 0. ],
           [0.5, 0.5]])
    """
    z, output_dtype, owned, axes, temperature, mask = _prepare(x, axis, temperature, where)
    if z.size == 0:
        return np.empty(z.shape, output_dtype)[()]
    x_max = _slice_maxima(z, axes, mask)
    with np.errstate(**_QUIET):
        if temperature == 1.0 and z.size < _EXACT_SHIFT_BELOW and _all_finite(x_max):
            probabilities = _softmax_of_a_small_array(z, axes, mask, x_max)
            return probabilities.astype(output_dtype, copy=False)[()]
        # None unless every slice has a finite maximum: no unmasked +inf or NaN, some mass.
        shift = _lossless_shift(z, axes, mask, x_max, temperature)
        exact = shift is not None
        if exact:
            buffer = z if owned else np.empty_like(z)
            no_shift = type(shift) is float and shift == 0.0  # cheaper than np.any on a float
            shifted = z if no_shift else np.subtract(z, shift, out=buffer)
            if temperature != 1.0:
                shifted = np.divide(shifted, temperature, out=buffer)
            probabilities = np.exp(shifted, out=buffer)  # same shape as x
            if mask is not None:
                # After exp, so that the caller's z is never written; a masked +inf or NaN,
                # whose exp is inf or NaN, gets weight 0 like any masked entry. The result is
                # then the same as with -inf at the masked entries, bit for bit.
                np.copyto(probabilities, 0.0, where=np.logical_not(mask))
        else:
            shifted = _shift_edge_cases(z, temperature, mask, x_max, owned)
            probabilities = np.exp(shifted, out=shifted)
    # No log here, so no cancellation to avoid: each probability is a weight over a normalizer
    # with a relative error of a few ulp.
    normalizer = np.add.reduce(probabilities, axis=axes, keepdims=True)  # (..., 1, ...)
    if exact:
        probabilities /= normalizer  # normalizer > 1/e: see _lossless_shift
    else:
        # Empty-mass slices (normalizer 0) keep their zeros; NaN slices are already all NaN.
        np.divide(probabilities, normalizer, out=probabilities, where=normalizer > 0)
    return probabilities.astype(output_dtype, copy=False)[()]  # [()]: a 0-d result is a scalar


def log_softmax(x, axis=-1, *, temperature=1.0, where=None):
    r"""Logarithm of the softmax, computed directly (never as ``log(softmax(x))``).

    Parameters
    ----------
    x : array_like
        Real logits (bool and integers are computed as float64, float16 in float32).
    axis : int, tuple of ints or None, default -1
        Axes that form one distribution; None normalises over the whole array.
    temperature : float, default 1.0
        Positive finite scalar :math:`T`; the log-softmax is taken of ``x / T``.
    where : array_like of bool, optional
        Mask broadcastable to ``x.shape``; False entries are excluded and get -inf.

    Returns
    -------
    numpy.ndarray or numpy scalar
        Log-probabilities, same shape and output dtype rules as :func:`softmax`.

    Raises
    ------
    TypeError
        If ``x`` is complex, object or string, ``temperature`` is not a real number, or ``where``
        is not boolean.
    ValueError
        If ``temperature`` is not positive and finite, an axis is repeated, or ``where`` cannot be
        broadcast to ``x``.
    numpy.exceptions.AxisError
        If an axis is out of range.

    Notes
    -----
    .. math::

        \log \operatorname{softmax}(x)_i = \frac{x_i - m}{T} - \log \sum_j e^{(x_j - m)/T},
        \qquad m = \max_j x_j .

    Unlike ``log(softmax(x))`` this does not round tiny probabilities to 0 first: for
    ``x = [0, -1000]`` it returns ``[0, -1000]`` where the composition returns ``[0, -inf]``.

    Edge cases, per slice and without warnings: an empty array returns an empty array; an all
    :math:`-\infty` or all-masked slice is all :math:`-\infty`; :math:`n` unmasked
    :math:`+\infty` entries get :math:`-\log n` and the others :math:`-\infty`; an unmasked NaN
    makes the whole slice NaN; masked entries are :math:`-\infty`.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import log_softmax
    >>> np.round(log_softmax([0.0, -1000.0]), 4)
    array([    0., -1000.])
    >>> np.round(log_softmax([1.0, 2.0, 3.0], where=np.array([True, True, False])), 4)
    array([-1.3133, -0.3133,    -inf])
    """
    z, output_dtype, owned, axes, temperature, mask = _prepare(x, axis, temperature, where)
    if z.size == 0:
        return np.empty(z.shape, output_dtype)
    with np.errstate(**_QUIET):
        shifted = _shift(z, axes, temperature, mask, owned, find_top=True)
        # log of the normalizer as log1p of the terms beside one maximum: for a dominant logit
        # the normalizer is 1 + (something below its rounding error), and log(normalizer) would
        # give the top log-probability as 0 instead of -(that something).
        beside_top = _sum_beside_top(np.exp(shifted.shifted), shifted, axes)  # (..., 1, ...)
    log_probabilities = shifted.shifted
    if shifted.exact:
        log_probabilities -= _log_one_plus(beside_top)  # beside_top in [0, K - 1]
    else:
        # An empty-mass slice (beside_top = -1) is already all -inf: subtract 0 instead of
        # log1p(-1) = -inf, which would give -inf - (-inf) = NaN. (NaN slices are already all
        # NaN, so leaving their log normalizer at 0 is harmless.)
        with np.errstate(divide="ignore"):  # log1p(-1), replaced by 0 on the next line
            log_normalizer = _log_one_plus(beside_top)
        log_probabilities -= np.where(beside_top > -1, log_normalizer, 0.0)
    return _to_output_dtype(log_probabilities, output_dtype)[()]


def _weighted_logsumexp(arguments, b, keepdims, return_sign):
    """``logsumexp`` with SciPy's ``b=`` weights and ``return_sign=`` (see its docstring).

    ``log|sum_i b_i e^{x_i}|`` = ``m + log|B| + log1p(S / B)``, where ``B`` sums the weights of
    the entries equal to the maximum ``m`` and ``S`` the other weighted terms ``b_i e^{x_i - m}``:
    SciPy's formula. A negative ``1 + S / B`` flips the sign and ``log1p`` takes its absolute
    value. Weights of 0 leave their entry out; when the maximal weights cancel (``B = 0``) the
    total is ``S`` alone, or NaN if ``m`` is +inf (inf - inf).
    """
    z, axes, mask = arguments.z, arguments.axes, arguments.mask
    weights, weights_dtype, _ = as_float_array(np.ones((), z.dtype) if b is None else b, "b")
    output_dtype = np.result_type(arguments.output_dtype, weights_dtype)
    try:
        z, weights = np.broadcast_arrays(z, weights)
    except ValueError:
        raise ValueError(f"b of shape {np.shape(b)} does not broadcast with x of shape "
                         f"{z.shape}") from None
    if z.size == 0:
        empty_sum = np.add.reduce(z, axis=axes, keepdims=keepdims)
        result = np.full(np.shape(empty_sum), -np.inf, output_dtype)
        return (result[()], np.zeros_like(result)[()]) if return_sign else result[()]
    axes = normalize_axes(axes, z.ndim)
    counted = weights != 0 if mask is None else (weights != 0) & mask
    with np.errstate(**_QUIET, divide="ignore"):
        x_max = np.maximum.reduce(z, axis=axes, keepdims=True, initial=-np.inf, where=counted)
        at_max = counted & (z == x_max)
        top_weight = np.add.reduce(np.where(at_max, weights, 0.0), axis=axes, keepdims=True)
        shift = np.where(np.isfinite(x_max), x_max, 0.0)
        terms = np.where(counted & ~at_max, weights * np.exp(z - shift), 0.0)
        others = np.add.reduce(terms, axis=axes, keepdims=True)
        ratio = np.divide(others, top_weight, out=np.zeros_like(others), where=top_weight != 0)
        sign = np.sign(ratio + 1.0) * np.sign(top_weight)
        result = np.log1p(np.where(ratio < -1.0, -ratio - 2.0, ratio)) + np.log(
            np.abs(top_weight)) + x_max
        # The maximal weights cancel: the total is the other terms alone (NaN for inf - inf)
        cancelled = top_weight == 0
        result = np.where(cancelled, np.log(np.abs(others)) + shift, result)
        sign = np.where(cancelled, np.sign(others), sign)
        sign = np.where(x_max == -np.inf, 0.0, sign)  # a sum of zeros: every term is e^-inf
        infinite_cancel = cancelled & (x_max == np.inf)
        result = np.where(infinite_cancel, np.nan, result)
        sign = np.where(infinite_cancel, np.nan, sign)
    if not keepdims:
        result, sign = np.squeeze(result, axis=axes), np.squeeze(sign, axis=axes)
    result, sign = _to_output_dtype(result, output_dtype), sign.astype(output_dtype)
    if return_sign:
        return result[()], sign[()]
    return np.where(sign < 0, np.nan, result).astype(output_dtype, copy=False)[()]


def naive_softmax(x, axis=-1):
    r"""Textbook softmax ``exp(x) / sum(exp(x))`` with no shift: kept to show why the shift exists.

    Parameters
    ----------
    x : array_like
        Real logits (bool and integers are computed as float64, float16 in float32).
    axis : int, tuple of ints or None, default -1
        Axes that form one distribution; None normalises over the whole array.

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``. Correct only while every ``exp(x)`` is finite and the sum is not 0.

    Raises
    ------
    TypeError
        If ``x`` is complex, object or string.
    numpy.exceptions.AxisError
        If an axis is out of range.

    Notes
    -----
    .. math:: \operatorname{softmax}(x)_i = e^{x_i} \big/ \textstyle\sum_j e^{x_j}

    ``exp`` overflows to inf above about 709.78 in float64 and 88.72 in float32 (also the limit
    for float16 input, computed in float32), and then inf / inf = NaN; when every logit of a slice
    is below about -745 (-104 in float32) every ``exp`` underflows to 0 and 0 / 0 = NaN. NumPy
    emits a RuntimeWarning in both cases. Use :func:`softmax`.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import naive_softmax
    >>> np.round(naive_softmax([1.0, 2.0, 3.0]), 4)
    array([0.09  , 0.2447, 0.6652])
    >>> with np.errstate(over="ignore", invalid="ignore"):  # silence the warnings it emits
    ...     naive_softmax([1000.0, 1001.0])
    array([nan, nan])
    """
    z, output_dtype, _ = as_float_array(x, "x")
    axes = normalize_axes(_axis_of_a_scalar(z, axis), z.ndim)
    exponentials = np.exp(z)  # same shape as x
    return (exponentials / np.sum(exponentials, axis=axes, keepdims=True)).astype(
        output_dtype, copy=False
    )[()]
