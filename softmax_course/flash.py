"""FlashAttention (Dao et al. 2022): attention tile by tile with the online softmax.

The online softmax (``online.py``) carries a running maximum and normalizer; FlashAttention
carries the same pair per query, plus the running weighted sum of value rows, so it computes
attention without ever holding the ``L x S`` score matrix.
"""

from __future__ import annotations

import numpy as np

from ._numerics import exp_shifted
from ._validation import check_block_size
from .attention import _prepare_attention

__all__ = ["flash_attention"]

# Defaults of flash_attention, chosen with benchmarks/bench_flash.py (--sweep) on the course's
# 2-core machine at L = S = 4096, d = 64: a 128 x 512 score tile gives BLAS matmuls big enough to
# run at full speed and keeps the Python loop short (256 tiles), while the tile is only 512 KiB in
# float64. Smaller tiles (64 x 64 = 4096 tiles) let the per-tile Python overhead dominate; larger
# ones buy little time and cost memory.
DEFAULT_BLOCK_Q = 128
DEFAULT_BLOCK_K = 512



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
        fully masked row. It is what a backward pass keeps to recompute the weights.

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
    :math:`\ell_i = 0` saw no key and gets :math:`o_i = 0`. The guards of
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
    L, S = inputs.q.shape[-2], inputs.k.shape[-2]
    dv = inputs.v.shape[-1]
    batch = inputs.batch_shape
    dtype = inputs.q.dtype
    # Broadcasting q to the full batch (a view, no copy) gives every score tile the full batch
    # shape, so the mask can be applied to it in place.
    queries = np.broadcast_to(inputs.q, (*batch, *inputs.q.shape[-2:]))  # (..., L, d)
    keys_t = np.swapaxes(inputs.k, -1, -2)  # (..., d, S), a view
    values = inputs.v  # (..., S, dv)
    keep = bias = None
    if inputs.keep is not None:
        keep = np.broadcast_to(inputs.keep, inputs.scores_shape)  # view (..., L, S)
    if inputs.bias is not None:
        bias = np.broadcast_to(inputs.bias, inputs.scores_shape)  # view (..., L, S)

    out = np.zeros((*batch, L, dv), dtype)  # (..., L, dv); rows that see no key stay 0
    lse = np.empty((*batch, L), dtype)  # (..., L)
    for q_start in range(0, L, block_q):
        q_stop = min(q_start + block_q, L)
        q_tile = queries[..., q_start:q_stop, :] * inputs.scale  # (..., bq, d)
        running_max = np.full((*batch, q_stop - q_start), -np.inf, dtype)  # (..., bq)
        normalizer = np.zeros((*batch, q_stop - q_start), dtype)  # (..., bq)
        acc = np.zeros((*batch, q_stop - q_start, dv), dtype)  # (..., bq, dv)
        # Causal: the last query of this tile is q_stop - 1, so later keys are invisible to all
        # of its queries and their tiles are skipped.
        k_end = min(S, q_stop) if inputs.is_causal else S
        for k_start in range(0, k_end, block_k):
            k_stop = min(k_start + block_k, k_end)
            scores = q_tile @ keys_t[..., k_start:k_stop]  # (..., bq, bk)
            if bias is not None:
                scores += bias[..., q_start:q_stop, k_start:k_stop]
            tile_keep = None if keep is None else keep[..., q_start:q_stop, k_start:k_stop]
            if inputs.is_causal and k_stop - 1 > q_start:  # the tile crosses the diagonal
                causal = (np.arange(k_start, k_stop)[np.newaxis, :]
                          <= np.arange(q_start, q_stop)[:, np.newaxis])  # (bq, bk)
                tile_keep = causal if tile_keep is None else tile_keep & causal
            if tile_keep is not None:
                np.copyto(scores, -np.inf, where=~tile_keep)  # also hides NaN at masked places

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
