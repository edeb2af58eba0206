"""FlashAttention (Dao et al. 2022; Dao 2023): attention tile by tile with the online softmax.

The online softmax (``online.py``) carries a running maximum and normalizer; FlashAttention
carries the same pair per query, plus the running weighted sum of value rows, so it computes
attention without ever holding the ``L x S`` score matrix. Its backward pass recomputes each tile
of weights from the per-query log-sum-exp that the forward pass saves, so it does not hold the
matrix either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._numerics import exp_shifted
from ._validation import as_float_array, check_block_size
from .attention import _AttentionInputs, _prepare_attention

__all__ = ["flash_attention", "flash_attention_backward"]

# Defaults of flash_attention, chosen with benchmarks/bench_flash.py (--sweep) on the course's
# 2-core machine at L = S = 4096, d = 64: a 128 x 512 score tile gives BLAS matmuls big enough to
# run at full speed and keeps the Python loop short (256 tiles), while the tile is only 512 KiB in
# float64. Smaller tiles (64 x 64 = 4096 tiles) let the per-tile Python overhead dominate; larger
# ones buy little time and cost memory.
DEFAULT_BLOCK_Q = 128
DEFAULT_BLOCK_K = 512


@dataclass(frozen=True)
class _ScoreTiles:
    """The scaled, masked ``(..., L, S)`` scores of one attention problem, one tile at a time.

    Forward and backward passes both recompute the scores tile by tile; this is the one place
    that knows how a tile is scaled, biased and masked.
    """

    keys_t: np.ndarray  # (..., d, S), a view
    keep: np.ndarray | None  # bool view (..., L, S), True = attend
    bias: np.ndarray | None  # additive view (..., L, S)
    is_causal: bool
    n_keys: int

    @classmethod
    def of(cls, inputs: _AttentionInputs) -> _ScoreTiles:
        keep = bias = None
        if inputs.keep is not None:
            keep = np.broadcast_to(inputs.keep, inputs.scores_shape)
        if inputs.bias is not None:
            bias = np.broadcast_to(inputs.bias, inputs.scores_shape)
        return cls(np.swapaxes(inputs.k, -1, -2), keep, bias, inputs.is_causal,
                   inputs.k.shape[-2])

    def key_stop(self, q_stop: int) -> int:
        """End of the keys a query tile ending at ``q_stop`` may see.

        Causal: the last query of the tile is ``q_stop - 1``, so later keys are invisible to all
        of its queries and their tiles are skipped.
        """
        return min(self.n_keys, q_stop) if self.is_causal else self.n_keys

    def tile(self, scaled_queries, q_start, q_stop, k_start, k_stop):
        """Scores ``(..., bq, bk)`` of the scaled query tile against keys ``k_start:k_stop``.

        ``scaled_queries`` must have the full batch shape, so the mask applies in place; masked
        scores are ``-inf`` (which also hides a NaN at a masked place). The array is new.
        """
        scores = scaled_queries @ self.keys_t[..., k_start:k_stop]  # (..., bq, bk)
        if self.bias is not None:
            scores += self.bias[..., q_start:q_stop, k_start:k_stop]
        keep = None if self.keep is None else self.keep[..., q_start:q_stop, k_start:k_stop]
        if self.is_causal and k_stop - 1 > q_start:  # the tile crosses the diagonal
            causal = (np.arange(k_start, k_stop)[np.newaxis, :]
                      <= np.arange(q_start, q_stop)[:, np.newaxis])  # (bq, bk)
            keep = causal if keep is None else keep & causal
        if keep is not None:
            np.copyto(scores, -np.inf, where=~keep)
        return scores


def flash_attention(q, k, v, *, block_q=DEFAULT_BLOCK_Q, block_k=DEFAULT_BLOCK_K, is_causal=False,
                    scale=None, return_lse=False, mask=None):
    r"""Attention computed tile by tile with online softmax, never holding the L x S scores.

    Parameters
    ----------
    q : array_like, shape (..., L, d)
        Queries.
    k : array_like, shape (..., S, d)
        Keys.
    v : array_like, shape (..., S, dv)
        Values.
    block_q : int, default 128
        Queries per tile (>= 1; need not divide L).
    block_k : int, default 512
        Keys per tile (>= 1; need not divide S).
    is_causal : bool, default False
        Query ``i`` attends key ``j`` only when ``j <= i`` (top-left aligned, as
        :func:`softmax_course.attention.causal_mask`). Tiles entirely above the diagonal are
        skipped.
    scale : float, optional
        Positive finite score scale; defaults to :math:`1/\sqrt{d}` (1 when ``d = 0``).
    return_lse : bool, default False
        Also return the per-query log-sum-exp of the scaled, masked scores.
    mask : array_like, optional
        Boolean (True = attend) or floating additive mask broadcastable to ``(..., L, S)``, exactly
        as in :func:`softmax_course.attention.scaled_dot_product_attention`. It is read one tile
        at a time; a broadcast mask such as a key-padding mask ``(..., 1, S)`` costs no
        ``L x S`` memory.

    Returns
    -------
    out : numpy.ndarray, shape (..., L, dv)
        Equal (up to rounding) to ``scaled_dot_product_attention(q, k, v, mask=mask,
        is_causal=is_causal, scale=scale)``; fully masked rows are 0.
    lse : numpy.ndarray, shape (..., L)
        Only with ``return_lse=True``: :math:`\log \sum_{j \in A_i} e^{s_{ij}}`, ``-inf`` for a
        fully masked row. It is what :func:`flash_attention_backward` needs to
        recompute the weights.

    Raises
    ------
    ValueError
        If ``block_q`` or ``block_k`` is not an int >= 1, or for the shape and scale errors of
        ``scaled_dot_product_attention`` (the messages name the shapes).
    TypeError
        As ``scaled_dot_product_attention``.

    Notes
    -----
    For each tile of queries :math:`Q_I` the loop keeps, per query, the running maximum
    :math:`m`, the running normalizer :math:`\ell` and an unnormalised output
    :math:`a` (``acc``), starting at :math:`(-\infty, 0, 0)`. For each tile of keys :math:`J`:

    .. math::

        S = \tau\, Q_I K_J^\top + B_{IJ}, \quad
        m' = \max\big(m, \max_{j \in J} S_{\cdot j}\big), \quad
        \alpha = e^{m - m'}, \quad P = e^{S - m'},

        \ell \leftarrow \alpha\, \ell + \textstyle\sum_j P_{\cdot j}, \qquad
        a \leftarrow \alpha\, a + P V_J, \qquad m \leftarrow m',

    with masked scores set to :math:`-\infty` first. This is the merge of
    :class:`OnlineSoftmaxState` with :math:`a` carried along: after the last tile
    :math:`a_i = \sum_j e^{s_{ij} - m_i} v_j` and :math:`\ell_i = \sum_j e^{s_{ij} - m_i}`, so
    :math:`o_i = a_i / \ell_i` and :math:`\mathrm{lse}_i = m_i + \log \ell_i`. A row with
    :math:`\ell_i = 0` saw no key and gets :math:`o_i = 0`. Dividing once at the end and keeping
    one log-sum-exp per query is the form of FlashAttention-2 (Dao 2023); FlashAttention-1
    normalised the output at every tile and kept :math:`(m, \ell)`. The guards of
    ``_numerics.exp_shifted`` make an entirely masked tile, or a row that has seen nothing yet,
    contribute 0 instead of NaN.

    Memory: besides the inputs and the ``(..., L, dv)`` output, a few ``(..., block_q, block_k)``
    tiles, independent of ``L`` and ``S``; the plain version holds several ``(..., L, S)``
    arrays. The multiplications are the same; in NumPy the loop costs a few Python calls per tile,
    which is why the defaults use large tiles (see ``benchmarks/bench_flash.py``).

    ``mask`` is an addition to the FlashAttention interface: it makes this function a drop-in
    equal of ``scaled_dot_product_attention``, including rows that no key may reach.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import flash_attention, scaled_dot_product_attention
    >>> rng = np.random.default_rng(0)
    >>> q, k, v = rng.normal(size=(5, 4)), rng.normal(size=(7, 4)), rng.normal(size=(7, 3))
    >>> out, lse = flash_attention(q, k, v, block_q=2, block_k=3, is_causal=True, return_lse=True)
    >>> bool(np.allclose(out, scaled_dot_product_attention(q, k, v, is_causal=True)))
    True
    >>> lse.shape
    (5,)
    """
    block_q = check_block_size(block_q, "block_q")
    block_k = check_block_size(block_k, "block_k")
    inputs = _prepare_attention(q, k, v, mask, is_causal, scale)
    L = inputs.q.shape[-2]
    dv = inputs.v.shape[-1]
    batch = inputs.batch_shape
    dtype = inputs.q.dtype
    # Broadcasting q to the full batch (a view, no copy) gives every score tile the full batch
    # shape, so the mask can be applied to it in place.
    queries = np.broadcast_to(inputs.q, (*batch, *inputs.q.shape[-2:]))  # (..., L, d)
    score_tiles = _ScoreTiles.of(inputs)
    values = inputs.v  # (..., S, dv)

    out = np.zeros((*batch, L, dv), dtype)  # (..., L, dv); rows that see no key stay 0
    lse = np.empty((*batch, L), dtype)  # (..., L)
    for q_start in range(0, L, block_q):
        q_stop = min(q_start + block_q, L)
        q_tile = queries[..., q_start:q_stop, :] * inputs.scale  # (..., bq, d)
        running_max = np.full((*batch, q_stop - q_start), -np.inf, dtype)  # (..., bq)
        normalizer = np.zeros((*batch, q_stop - q_start), dtype)  # (..., bq)
        acc = np.zeros((*batch, q_stop - q_start, dv), dtype)  # (..., bq, dv)
        k_end = score_tiles.key_stop(q_stop)
        for k_start in range(0, k_end, block_k):
            k_stop = min(k_start + block_k, k_end)
            scores = score_tiles.tile(q_tile, q_start, q_stop, k_start, k_stop)  # (..., bq, bk)
            new_max = np.maximum(running_max, scores.max(axis=-1))  # (..., bq)
            alpha = exp_shifted(running_max, new_max)  # (..., bq): rescales what came before
            # unnormalised weights, written over the scores: one tile of memory, not two
            probs = exp_shifted(scores, new_max[..., np.newaxis], out=scores)  # (..., bq, bk)
            normalizer = normalizer * alpha + probs.sum(axis=-1)  # (..., bq)
            acc *= alpha[..., np.newaxis]  # (..., bq, dv)
            acc += probs @ values[..., k_start:k_stop, :]  # (..., bq, bk) @ (..., bk, dv)
            running_max = new_max
            del scores, probs  # free this tile before the next one is allocated

        seen = normalizer[..., np.newaxis]  # (..., bq, 1); 0 = the row saw no key
        # rows that saw nothing keep their zeros; NaN != 0, so a NaN row stays NaN
        np.divide(acc, seen, out=out[..., q_start:q_stop, :], where=seen != 0)
        with np.errstate(divide="ignore"):  # log(0) = -inf is the lse of a fully masked row
            lse[..., q_start:q_stop] = running_max + np.log(normalizer)

    out = out.astype(inputs.output_dtype, copy=False)
    if return_lse:
        return out, lse.astype(inputs.output_dtype, copy=False)
    return out


def _saved_array(value, name, shape, dtype):
    """An array of the forward pass (``out``, ``lse``) or ``d_out``, checked against ``shape``."""
    array = as_float_array(value, name)[0]
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (from q, k and v), got {array.shape}")
    return array.astype(dtype, copy=False)


def _sum_to_shape(gradient, shape):
    """Sum a gradient over the axes along which its input was broadcast, back to ``shape``."""
    gradient = gradient.sum(axis=tuple(range(gradient.ndim - len(shape))))
    stretched = tuple(axis for axis, size in enumerate(shape)
                      if size == 1 and gradient.shape[axis] != 1)
    return gradient.sum(axis=stretched, keepdims=True)


def flash_attention_backward(q, k, v, out, lse, d_out, *, block_q=DEFAULT_BLOCK_Q,
                             block_k=DEFAULT_BLOCK_K, is_causal=False, scale=None, mask=None):
    r"""Gradients of attention with respect to q, k and v, tile by tile from the saved lse.

    Parameters
    ----------
    q, k, v : array_like
        The forward pass's inputs, shapes ``(..., L, d)``, ``(..., S, d)``, ``(..., S, dv)``.
    out : array_like, shape (..., L, dv)
        The forward pass's output (``...`` the broadcast batch shape of q, k and v).
    lse : array_like, shape (..., L)
        The per-query log-sum-exp from ``flash_attention(..., return_lse=True)``.
    d_out : array_like, shape (..., L, dv)
        The gradient of the loss with respect to ``out``.
    block_q, block_k : int
        Tile sizes (>= 1), as in :func:`flash_attention`; they need not match the forward's.
    is_causal, scale, mask
        Exactly as given to the forward pass (see :func:`flash_attention`).

    Returns
    -------
    dq, dk, dv : numpy.ndarray
        Gradients of the shapes of ``q``, ``k`` and ``v`` (summed over the batch axes along
        which an input was broadcast), in the dtype of the forward's output.

    Raises
    ------
    ValueError
        If a block size is not an int >= 1, for the shape and scale errors of
        :func:`flash_attention`, or if ``out``, ``lse`` or ``d_out`` does not have the shape
        that q, k and v give (the message names both).
    TypeError
        As :func:`flash_attention`, or if a saved array is not real.

    Notes
    -----
    With :math:`S = \tau Q K^\top + B` (masked entries :math:`-\infty`), :math:`P` its row-wise
    softmax and :math:`O = P V`, the chain rule through :math:`O = PV`, the softmax
    vector-Jacobian product and :math:`S` gives

    .. math::

        dV = P^\top dO, \quad dP = dO\, V^\top, \quad
        D_i = \textstyle\sum_c dO_{ic} O_{ic}, \quad dS = P \circ (dP - D\,\mathbf 1^\top),

        dQ = \tau\, dS\, K, \qquad dK = \tau\, dS^\top Q,

    where :math:`D_i = \sum_j P_{ij}\, dP_{ij}` needs only :math:`O` and :math:`dO`. Each tile
    of :math:`P` is recomputed as :math:`e^{S_{IJ} - \mathrm{lse}_I}`, so besides the inputs and
    the gradients only a few ``(..., block_q, block_k)`` tiles are held, never ``(..., L, S)``.
    This is the backward pass of FlashAttention-2 (Dao 2023), with the loops in the other order.

    A masked score has weight 0 and gets gradient 0; a fully masked row (``lse = -inf``, output
    0) contributes nothing. The derivative exists for finite scores: a ``+inf`` score, or a NaN
    in a key or value row (even a masked one, through :math:`0 \cdot k_j` in :math:`dQ`),
    makes the gradients it touches meaningless, as in the plain backward pass. The additive
    mask gets no gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import flash_attention, flash_attention_backward
    >>> rng = np.random.default_rng(0)
    >>> q, k, v = rng.normal(size=(5, 4)), rng.normal(size=(7, 4)), rng.normal(size=(7, 3))
    >>> out, lse = flash_attention(q, k, v, is_causal=True, return_lse=True)
    >>> d_out = np.ones_like(out)  # the gradient of out.sum()
    >>> dq, dk, dv = flash_attention_backward(q, k, v, out, lse, d_out, block_q=2, block_k=3,
    ...                                       is_causal=True)
    >>> dq.shape, dk.shape, dv.shape
    ((5, 4), (7, 4), (7, 3))
    >>> bool(np.allclose(dv.sum(axis=0), 5.0))  # every query's weights sum to 1
    True
    """
    block_q = check_block_size(block_q, "block_q")
    block_k = check_block_size(block_k, "block_k")
    inputs = _prepare_attention(q, k, v, mask, is_causal, scale)
    L, d = inputs.q.shape[-2:]
    S, dv = inputs.v.shape[-2:]
    batch = inputs.batch_shape
    dtype = inputs.q.dtype
    out = _saved_array(out, "out", (*batch, L, dv), dtype)
    lse = _saved_array(lse, "lse", (*batch, L), dtype)
    d_out = _saved_array(d_out, "d_out", (*batch, L, dv), dtype)

    queries = np.broadcast_to(inputs.q, (*batch, L, d))  # a view, as in the forward pass
    keys, values = inputs.k, inputs.v
    score_tiles = _ScoreTiles.of(inputs)
    delta = np.sum(d_out * out, axis=-1)  # (..., L): D_i = sum_j P_ij dP_ij, without P
    d_queries = np.zeros((*batch, L, d), dtype)
    d_keys = np.zeros((*batch, S, d), dtype)
    d_values = np.zeros((*batch, S, dv), dtype)
    for q_start in range(0, L, block_q):
        q_stop = min(q_start + block_q, L)
        rows = slice(q_start, q_stop)
        q_tile = queries[..., rows, :]  # (..., bq, d)
        scaled_q_tile = q_tile * inputs.scale  # (..., bq, d)
        d_out_tile = d_out[..., rows, :]  # (..., bq, dv)
        k_end = score_tiles.key_stop(q_stop)
        for k_start in range(0, k_end, block_k):
            k_stop = min(k_start + block_k, k_end)
            cols = slice(k_start, k_stop)
            scores = score_tiles.tile(scaled_q_tile, q_start, q_stop, k_start, k_stop)
            # P_IJ = exp(S_IJ - lse_I), written over the scores; lse = -inf (a row that saw no
            # key) has only -inf scores, whose weights the guard makes 0
            probs = exp_shifted(scores, lse[..., rows, np.newaxis], out=scores)  # (..., bq, bk)
            d_values[..., cols, :] += np.swapaxes(probs, -1, -2) @ d_out_tile  # P^T dO
            d_scores = d_out_tile @ np.swapaxes(values[..., cols, :], -1, -2)  # dP (..., bq, bk)
            d_scores -= delta[..., rows, np.newaxis]
            d_scores *= probs  # dS = P * (dP - D), in place: one tile less
            d_queries[..., rows, :] += d_scores @ keys[..., cols, :]  # (..., bq, d)
            d_keys[..., cols, :] += np.swapaxes(d_scores, -1, -2) @ q_tile  # (..., bk, d)
            del scores, probs, d_scores  # free this tile's arrays before the next ones
    d_queries *= inputs.scale
    d_keys *= inputs.scale
    return tuple(_sum_to_shape(gradient, array.shape).astype(inputs.output_dtype, copy=False)
                 for gradient, array in ((d_queries, inputs.q), (d_keys, inputs.k),
                                         (d_values, inputs.v)))
