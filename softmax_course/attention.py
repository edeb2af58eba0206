"""Scaled dot-product attention, the place where softmax does most of its work in a transformer.

``scaled_dot_product_attention`` is the plain reference: it builds the whole ``(..., L, S)`` score
matrix, normalises every row with :func:`softmax_course.stable.softmax` and mixes the value rows.
:func:`softmax_course.flash.flash_attention` computes the same thing tile by tile without the score
matrix and is tested against this one.

Shape letters (as in PyTorch): ``L`` queries, ``S`` keys and values, ``d`` query/key width,
``dv`` value width, ``...`` any leading batch and head axes, broadcast together.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ._validation import as_float_array, check_positive_finite
from .stable import softmax

__all__ = ["causal_mask", "scaled_dot_product_attention"]


def _check_length(value, name: str) -> int:
    """A sequence length: a non-negative int (bool is refused although it is an int subclass)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def causal_mask(L, S):
    r"""Boolean causal mask: query ``i`` may attend to key ``j`` exactly when ``j <= i``.

    Parameters
    ----------
    L : int
        Number of queries (rows), ``L >= 0``.
    S : int
        Number of keys (columns), ``S >= 0``.

    Returns
    -------
    numpy.ndarray of bool, shape (L, S)
        True where attention is allowed: the lower triangle including the diagonal, aligned at the
        top-left corner.

    Raises
    ------
    TypeError
        If ``L`` or ``S`` is not an int (bools are refused).
    ValueError
        If ``L`` or ``S`` is negative.

    Notes
    -----
    .. math:: M_{ij} = [\, j \le i \,], \qquad 0 \le i < L,\ 0 \le j < S.

    The alignment is **top-left**, as PyTorch's ``is_causal=True``: query 0 sees key 0 whatever
    ``L`` and ``S`` are. With ``L > S`` the queries ``i >= S`` see every key; with ``L < S`` the
    keys ``j >= L`` are seen by no query. FlashAttention (since version 2.1) aligns the mask
    **bottom-right** instead, :math:`M_{ij} = [\, j \le i + S - L \,]`, which is what a decoder
    with a key/value cache wants: the L new queries are the *last* L positions of the sequence.
    We chose top-left because it is the convention of ``torch.nn.functional.
    scaled_dot_product_attention`` that readers meet first, and because for ``L > S`` the
    bottom-right version leaves the first ``L - S`` queries with no key at all. The two agree when
    ``L == S``, the case of training and of this course's examples.

    Examples
    --------
    >>> from softmax_course import causal_mask
    >>> causal_mask(3, 3).astype(int)
    array([[1, 0, 0],
           [1, 1, 0],
           [1, 1, 1]])
    >>> causal_mask(2, 4).astype(int)  # L < S: keys 2 and 3 are seen by nobody
    array([[1, 0, 0, 0],
           [1, 1, 0, 0]])
    """
    L = _check_length(L, "L")
    S = _check_length(S, "S")
    return np.arange(S)[np.newaxis, :] <= np.arange(L)[:, np.newaxis]  # (1, S) <= (L, 1) -> (L, S)


@dataclass(frozen=True)
class _AttentionInputs:
    """Validated arguments shared by ``scaled_dot_product_attention`` and ``flash_attention``."""

    q: np.ndarray  # (..., L, d) in the compute dtype
    k: np.ndarray  # (..., S, d)
    v: np.ndarray  # (..., S, dv)
    output_dtype: np.dtype
    batch_shape: tuple[int, ...]  # q, k and v leading axes broadcast together
    scale: float
    keep: np.ndarray | None  # bool, broadcastable to (..., L, S); True = attend
    bias: np.ndarray | None  # additive float mask, broadcastable to (..., L, S)
    is_causal: bool

    @property
    def scores_shape(self) -> tuple[int, ...]:
        return (*self.batch_shape, self.q.shape[-2], self.k.shape[-2])


def _prepare_attention(q, k, v, mask, is_causal, scale) -> _AttentionInputs:
    """Check and convert the attention arguments; every error names the shapes involved."""
    arrays, output_dtypes = [], []
    for name, value in (("q", q), ("k", k), ("v", v)):
        array, output_dtype, _ = as_float_array(value, name)
        if array.ndim < 2:
            what = "(..., S, dv)" if name == "v" else f"(..., {'L' if name == 'q' else 'S'}, d)"
            raise ValueError(f"{name} must have at least 2 dimensions {what}, got shape "
                             f"{array.shape}")
        arrays.append(array)
        output_dtypes.append(output_dtype)
    compute_dtype = np.result_type(*arrays)
    q, k, v = (array.astype(compute_dtype, copy=False) for array in arrays)
    output_dtype = np.result_type(*output_dtypes)

    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same last dimension d, got q of shape {q.shape} "
                         f"and k of shape {k.shape}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same number of keys S (axis -2), got k of shape "
                         f"{k.shape} and v of shape {v.shape}")
    try:
        batch_shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"the batch axes of q, k and v do not broadcast: q of shape {q.shape}, "
                         f"k of shape {k.shape}, v of shape {v.shape}") from None

    if not isinstance(is_causal, bool | np.bool_):
        raise TypeError(f"is_causal must be a bool, got {is_causal!r}")
    d = q.shape[-1]
    if scale is None:
        # With d = 0 every score is an empty sum, 0, whatever the scale: 1 avoids 1/sqrt(0).
        scale = 1.0 / math.sqrt(d) if d > 0 else 1.0
    else:
        scale = check_positive_finite(scale, "scale")

    keep = bias = None
    if mask is not None:
        mask = np.asarray(mask)
        scores_shape = (*batch_shape, q.shape[-2], k.shape[-2])
        try:
            broadcast = np.broadcast_shapes(mask.shape, scores_shape)
        except ValueError:
            broadcast = None
        if broadcast != scores_shape:
            raise ValueError(f"mask of shape {mask.shape} cannot be broadcast to the scores of "
                             f"shape {scores_shape} (..., L, S)")
        if mask.dtype == np.bool_:
            keep = mask
        elif mask.dtype.kind == "f":
            # A bias beyond the compute dtype's range (say -1e300 in float32) saturates to -inf,
            # which is what it means; the cast would otherwise warn about the overflow.
            with np.errstate(over="ignore"):
                bias = mask.astype(compute_dtype, copy=False)
        else:
            # 0/1 integers are ambiguous: a boolean mask and an additive mask read them oppositely.
            raise TypeError(f"mask must be a boolean mask (True = attend) or a floating additive "
                            f"mask, got dtype {mask.dtype}")
    return _AttentionInputs(q, k, v, output_dtype, batch_shape, scale, keep, bias,
                            bool(is_causal))


def scaled_dot_product_attention(q, k, v, *, mask=None, is_causal=False, scale=None,
                                 return_weights=False):
    r"""Attention: softmax over keys of the scaled query-key scores, then a weighted mean of values.

    Parameters
    ----------
    q : array_like, shape (..., L, d)
        Queries.
    k : array_like, shape (..., S, d)
        Keys.
    v : array_like, shape (..., S, dv)
        Values.
    mask : array_like, optional
        Either a boolean mask, True where query ``i`` may attend key ``j``, or a floating
        *additive* mask added to the scaled scores (``-inf`` blocks an entry, a finite value biases
        it). Must broadcast to the scores shape ``(..., L, S)``.
    is_causal : bool, default False
        Also apply :func:`causal_mask` ``(L, S)`` (top-left aligned), combined with ``mask`` by a
        logical and.
    scale : float, optional
        Positive finite factor applied to the scores; defaults to :math:`1/\sqrt{d}` (1 when
        ``d = 0``).
    return_weights : bool, default False
        Also return the attention weights.

    Returns
    -------
    out : numpy.ndarray, shape (..., L, dv)
        One weighted mean of value rows per query. The leading axes are the broadcast of those of
        ``q``, ``k``, ``v`` (and never grow because of ``mask``).
    weights : numpy.ndarray, shape (..., L, S)
        Only with ``return_weights=True``: each row sums to 1, or is all zeros for a fully masked
        query.

    Raises
    ------
    TypeError
        If an input is complex or not numeric, ``mask`` is neither boolean nor floating,
        ``is_causal`` is not a bool, or ``scale`` is not a real number.
    ValueError
        If an input has fewer than 2 dimensions, ``q`` and ``k`` differ in ``d``, ``k`` and ``v``
        differ in ``S``, the batch axes or the mask do not broadcast (the message names the shapes),
        or ``scale`` is not positive and finite.

    Notes
    -----
    With scale :math:`\tau` (default :math:`1/\sqrt d`, which keeps the score variance near 1 for
    unit-variance queries and keys), and the set :math:`A_i` of keys query :math:`i` may attend,

    .. math::

        s_{ij} = \tau\, q_i \cdot k_j + b_{ij}, \qquad
        w_{ij} = \frac{[j \in A_i]\, e^{s_{ij}}}{\sum_{l \in A_i} e^{s_{il}}}, \qquad
        o_i = \sum_j w_{ij} v_j,

    with :math:`b` the additive mask (0 without one). Each row :math:`w_{i\cdot}` lies on the
    probability simplex, so every output row is a **convex combination** of value rows: it lies in
    their convex hull, and each coordinate between the smallest and largest value in that column.

    Edge cases, without warnings, inherited from :func:`softmax_course.stable.softmax`:

    * a fully masked query row (no True entry, or every score :math:`-\infty`) has weights 0 and
      output **0** (not NaN, as PyTorch's safe softmax and FlashAttention); with ``S = 0`` every
      row is fully masked;
    * a NaN score at a masked position (boolean mask) is ignored; a NaN at an attended position,
      or under an additive mask (NaN + -inf is NaN), makes its row NaN;
    * :math:`+\infty` scores share the row's weight equally;
    * a NaN or infinite *value* row still propagates through :math:`0 \cdot v_j` even where its
      weight is 0: clean ``v`` or drop the key.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import scaled_dot_product_attention
    >>> q = np.array([[1.0, 0.0]])                 # (L=1, d=2)
    >>> k = np.array([[1.0, 0.0], [0.0, 1.0]])     # (S=2, d=2)
    >>> v = np.array([[10.0], [20.0]])             # (S=2, dv=1)
    >>> out, w = scaled_dot_product_attention(q, k, v, return_weights=True)
    >>> np.round(w, 4)                             # softmax([1, 0] / sqrt(2))
    array([[0.6698, 0.3302]])
    >>> np.round(out, 4)
    array([[13.3024]])
    >>> scaled_dot_product_attention(q, k, v, mask=np.array([[False, False]]))  # fully masked
    array([[0.]])
    """
    inputs = _prepare_attention(q, k, v, mask, is_causal, scale)
    L, S = inputs.q.shape[-2], inputs.k.shape[-2]
    # Scaling the queries costs L*d multiplications instead of L*S for the scores.
    scores = (inputs.q * inputs.scale) @ np.swapaxes(inputs.k, -1, -2)  # (..., L, S)
    scores = np.broadcast_to(scores, inputs.scores_shape)  # the batch axes of v count too
    if inputs.bias is not None:
        scores = scores + inputs.bias  # (..., L, S)
    keep = inputs.keep  # bool, broadcastable to (..., L, S), or None
    if inputs.is_causal:
        causal = causal_mask(L, S)  # (L, S)
        keep = causal if keep is None else keep & causal
    weights = softmax(scores, axis=-1, where=keep)  # (..., L, S); fully masked rows are 0
    out = weights @ inputs.v  # (..., L, S) @ (..., S, dv) -> (..., L, dv)
    out = out.astype(inputs.output_dtype, copy=False)
    if return_weights:
        return out, weights.astype(inputs.output_dtype, copy=False)
    return out
