"""Tests of causal_mask and scaled_dot_product_attention."""

from __future__ import annotations

import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from softmax_course import causal_mask, scaled_dot_product_attention

pytestmark = pytest.mark.filterwarnings("error")  # fully masked rows must not warn

TOLERANCE = {np.dtype(np.float32): {"rtol": 1e-5, "atol": 1e-6},
             np.dtype(np.float64): {"rtol": 1e-12, "atol": 1e-13}}


def direct_attention(q, k, v, keep=None, bias=None, scale=None):
    """Attention in float64 straight from the definition, one query at a time (no shared code).

    ``keep`` and ``bias`` must already have the full ``(..., L, S)`` shape.
    """
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    L, S, d, dv = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    q = np.broadcast_to(q, (*batch, L, d))
    k = np.broadcast_to(k, (*batch, S, d))
    v = np.broadcast_to(v, (*batch, S, dv))
    scale = 1 / math.sqrt(d) if scale is None else scale
    out = np.zeros((*batch, L, dv))
    for index in np.ndindex(*batch, L):
        *b, i = index
        scores = scale * (k[(*b,)] @ q[(*b, i)])  # (S,)
        if bias is not None:
            scores = scores + bias[index]
        allowed = np.ones(S, bool) if keep is None else keep[index]  # (S,)
        allowed &= scores > -np.inf
        if not allowed.any():
            continue  # a fully masked query: output row 0
        top = scores[allowed].max()
        weights = np.where(allowed, np.exp(np.where(allowed, scores, top) - top), 0.0)  # (S,)
        out[index] = weights @ v[(*b,)] / weights.sum()
    return out


@st.composite
def attention_problem(draw, float_dtypes=(np.float64, np.float32)):
    """q, k, v with random batch/head axes (broadcastable, not equal), L, S, d, dv and a mask."""
    dtype = draw(st.sampled_from(float_dtypes))
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    # each input drops some of the batch axes or sets them to 1, so broadcasting is exercised
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, base_shape=batch, max_dims=2))
    L, S = draw(st.integers(0, 6)), draw(st.integers(0, 6))
    d, dv = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    elements = st.floats(-3, 3, width=32)
    q = draw(hnp.arrays(dtype, (*shapes.input_shapes[0], L, d), elements=elements))
    k = draw(hnp.arrays(dtype, (*shapes.input_shapes[1], S, d), elements=elements))
    v = draw(hnp.arrays(dtype, (*shapes.input_shapes[2], S, dv), elements=elements))
    scores_shape = (*np.broadcast_shapes(*shapes.input_shapes), L, S)
    mask_kind = draw(st.sampled_from(["none", "bool", "additive"]))
    mask = None
    if mask_kind != "none":
        # the trailing axes of the scores shape, each kept or set to 1
        ndim = draw(st.integers(2, len(scores_shape)))
        mask_shape = tuple(draw(st.sampled_from([n, 1])) for n in scores_shape[-ndim:])
        keep = draw(hnp.arrays(np.bool_, mask_shape))
        if mask_kind == "bool":
            mask = keep
        else:
            bias = draw(hnp.arrays(np.float64, mask_shape, elements=st.floats(-2, 2)))
            mask = np.where(keep, bias, -np.inf)
    return q, k, v, mask, draw(st.booleans())


def full_masks(mask, is_causal, scores_shape):
    """The boolean keep mask and additive bias of the arguments, broadcast to the scores shape."""
    keep = np.ones(scores_shape, bool)
    bias = None
    if mask is not None and mask.dtype == bool:
        keep &= mask
    elif mask is not None:
        bias = np.broadcast_to(mask, scores_shape)
    if is_causal:
        keep &= causal_mask(*scores_shape[-2:])
    return keep, bias


# --------------------------------------------------------------------------------------------------
# causal_mask
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("L", "S"), [(4, 6), (5, 5), (6, 4), (0, 3), (3, 0), (1, 1)])
def test_causal_mask_is_aligned_top_left(L, S):
    mask = causal_mask(L, S)
    assert mask.shape == (L, S) and mask.dtype == np.bool_
    for i in range(L):
        for j in range(S):
            assert mask[i, j] == (j <= i)  # query i sees keys 0..i, whatever L and S are
    if L > S:
        assert mask[S - 1:].all()  # the last L - S + 1 queries see every key
    if L < S:
        assert not mask[:, L:].any()  # keys beyond the last query are seen by nobody


@pytest.mark.parametrize("bad", [-1, 2.0, True, "3", None])
def test_causal_mask_rejects_bad_lengths(bad):
    error = ValueError if bad == -1 else TypeError
    with pytest.raises(error, match=rf"L must be a non-negative int, got {bad!r}"):
        causal_mask(bad, 3)
    with pytest.raises(error, match=rf"S must be a non-negative int, got {bad!r}"):
        causal_mask(3, bad)


@pytest.mark.parametrize(("L", "S"), [(3, 6), (5, 5), (6, 3)])
def test_causal_output_of_query_i_ignores_keys_after_i(L, S):
    rng = np.random.default_rng(L * 10 + S)
    q, k, v = rng.normal(size=(L, 4)), rng.normal(size=(S, 4)), rng.normal(size=(S, 2))
    out = scaled_dot_product_attention(q, k, v, is_causal=True)  # (L, 2)
    for i in range(L):
        changed_k, changed_v = k.copy(), v.copy()
        changed_k[i + 1:] = rng.normal(size=changed_k[i + 1:].shape)  # keys after i
        changed_v[i + 1:] = 100.0
        again = scaled_dot_product_attention(q, changed_k, changed_v, is_causal=True)
        np.testing.assert_allclose(again[i], out[i], rtol=1e-13)
    if L > S:  # queries S-1 .. L-1 see every key: same as no mask at all
        np.testing.assert_allclose(out[S - 1:], scaled_dot_product_attention(q, k, v)[S - 1:])


# --------------------------------------------------------------------------------------------------
# scaled_dot_product_attention: values
# --------------------------------------------------------------------------------------------------


@given(problem=attention_problem())
def test_matches_a_direct_float64_computation(problem):
    q, k, v, mask, is_causal = problem
    out = scaled_dot_product_attention(q, k, v, mask=mask, is_causal=is_causal)
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    keep, bias = full_masks(mask, is_causal, (*batch, q.shape[-2], k.shape[-2]))
    expected = direct_attention(q, k, v, keep=keep, bias=bias)
    assert out.dtype == q.dtype
    assert out.shape == (*batch, q.shape[-2], v.shape[-1])
    np.testing.assert_allclose(out, expected, **TOLERANCE[q.dtype])


@given(problem=attention_problem(float_dtypes=(np.float64,)))
def test_each_output_row_is_a_convex_combination_of_value_rows(problem):
    q, k, v, mask, is_causal = problem
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask, is_causal=is_causal,
                                                return_weights=True)
    assert np.all(weights >= 0)
    row_sums = weights.sum(axis=-1)  # (..., L)
    # each row is a probability vector, or all zeros for a fully masked query
    assert np.all(np.isclose(row_sums, 1.0, rtol=0, atol=1e-12) | (row_sums == 0))
    np.testing.assert_allclose(out, weights @ v, rtol=1e-12, atol=1e-13)
    # hence each output coordinate lies between the extremes of its value column
    if v.shape[-2] > 0:
        low = v.min(axis=-2, keepdims=True)  # (..., 1, dv)
        high = v.max(axis=-2, keepdims=True)
        attended = (row_sums > 0)[..., np.newaxis]  # (..., L, 1)
        assert np.all(~attended | (out >= low - 1e-12))
        assert np.all(~attended | (out <= high + 1e-12))


def test_batch_and_head_axes_broadcast():
    rng = np.random.default_rng(4)
    B, H, L, S, d, dv = 2, 3, 4, 5, 6, 2
    q = rng.normal(size=(B, H, L, d))
    k = rng.normal(size=(B, 1, S, d))  # keys shared by the heads
    v = rng.normal(size=(H, S, dv))  # values shared by the batch
    padding = rng.random((B, 1, 1, S)) < 0.8  # one key-padding mask per batch element
    out = scaled_dot_product_attention(q, k, v, mask=padding)
    assert out.shape == (B, H, L, dv)
    for b in range(B):
        for h in range(H):
            single = scaled_dot_product_attention(q[b, h], k[b, 0], v[h], mask=padding[b, 0])
            np.testing.assert_allclose(out[b, h], single, rtol=1e-13)


@given(problem=attention_problem())
def test_boolean_mask_and_equivalent_additive_mask_agree(problem):
    q, k, v, mask, is_causal = problem
    if mask is None or mask.dtype != bool:
        mask = np.ones((q.shape[-2], k.shape[-2]), bool)
    additive = np.where(mask, 0.0, -np.inf)
    out_bool, w_bool = scaled_dot_product_attention(q, k, v, mask=mask, is_causal=is_causal,
                                                    return_weights=True)
    out_add, w_add = scaled_dot_product_attention(q, k, v, mask=additive, is_causal=is_causal,
                                                  return_weights=True)
    np.testing.assert_allclose(out_bool, out_add, **TOLERANCE[q.dtype])
    np.testing.assert_allclose(w_bool, w_add, **TOLERANCE[q.dtype])


def test_fully_masked_rows_give_zeros_without_warning():
    rng = np.random.default_rng(5)
    q, k, v = rng.normal(size=(4, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    keep = rng.random((4, 5)) < 0.7
    keep[1] = False  # query 1 may attend nothing
    additive = np.where(keep, 0.0, -np.inf)
    for mask in (keep, additive):
        out, weights = scaled_dot_product_attention(q, k, v, mask=mask, return_weights=True)
        np.testing.assert_array_equal(out[1], 0.0)
        np.testing.assert_array_equal(weights[1], 0.0)
        assert np.isfinite(out).all()
    # no keys at all: every row is fully masked
    out, weights = scaled_dot_product_attention(q, np.zeros((0, 3)), np.zeros((0, 2)),
                                                return_weights=True)
    assert weights.shape == (4, 0)
    np.testing.assert_array_equal(out, np.zeros((4, 2)))


def test_padding_mask_equals_dropping_the_padded_keys():
    rng = np.random.default_rng(6)
    lengths = [5, 2, 4]  # real lengths of three sequences padded to S = 5
    B, L, S, d = len(lengths), 3, 5, 4
    q, k, v = rng.normal(size=(B, L, d)), rng.normal(size=(B, S, d)), rng.normal(size=(B, S, 2))
    k[1, 2:] = 1e3  # garbage in the padding must not matter
    padding = (np.arange(S) < np.array(lengths)[:, np.newaxis])[:, np.newaxis, :]  # (B, 1, S)
    out = scaled_dot_product_attention(q, k, v, mask=padding)
    for b, n in enumerate(lengths):
        unpadded = scaled_dot_product_attention(q[b], k[b, :n], v[b, :n])
        np.testing.assert_allclose(out[b], unpadded, rtol=1e-13)


def test_regression_nan_behind_boolean_mask_does_not_leak():
    # PyTorch issue #101967: a NaN score at a masked position leaked into the output.
    q = np.array([[1.0, 0.0], [0.0, 1.0]])  # (L=2, d=2)
    k = np.array([[1.0, 2.0], [np.nan, 0.0], [0.5, 0.5]])  # key 1 is broken: NaN scores
    v = np.array([[1.0], [2.0], [3.0]])  # (S=3, dv=1)
    keep = np.array([True, False, True])  # ... and masked out
    out = scaled_dot_product_attention(q, k, v, mask=keep)
    expected = scaled_dot_product_attention(q, k[[0, 2]], v[[0, 2]])
    np.testing.assert_allclose(out, expected, rtol=1e-14)


def test_causal_and_mask_combine_with_logical_and():
    rng = np.random.default_rng(7)
    q, k, v = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    keep = rng.random((5, 5)) < 0.6
    combined = scaled_dot_product_attention(q, k, v, mask=keep, is_causal=True)
    explicit = scaled_dot_product_attention(q, k, v, mask=keep & causal_mask(5, 5))
    np.testing.assert_array_equal(combined, explicit)


def test_scale_multiplies_the_scores():
    rng = np.random.default_rng(8)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    np.testing.assert_allclose(scaled_dot_product_attention(q, k, v, scale=0.3),
                               scaled_dot_product_attention(0.3 * q, k, v, scale=1.0), rtol=1e-13)
    np.testing.assert_allclose(scaled_dot_product_attention(q, k, v),
                               scaled_dot_product_attention(q, k, v, scale=0.5), rtol=1e-13)


def test_zero_width_scores_are_zero_and_values_are_averaged():
    v = np.array([[1.0, 2.0], [3.0, 6.0]])
    out = scaled_dot_product_attention(np.zeros((3, 0)), np.zeros((2, 0)), v)
    np.testing.assert_allclose(out, np.tile([2.0, 4.0], (3, 1)))


def test_no_queries_give_an_empty_output():
    out = scaled_dot_product_attention(np.zeros((2, 0, 3)), np.zeros((2, 4, 3)), np.ones((4, 5)))
    assert out.shape == (2, 0, 5)


@pytest.mark.parametrize(("dtypes", "expected"), [
    ((np.float16,) * 3, np.float16),
    ((np.float32,) * 3, np.float32),
    ((np.float32, np.float64, np.float32), np.float64),
    ((np.int64,) * 3, np.float64),
])
def test_dtype_policy(dtypes, expected):
    rng = np.random.default_rng(9)
    q, k, v = (rng.integers(-2, 3, size=(3, 4)).astype(dtype) for dtype in dtypes)
    out, weights = scaled_dot_product_attention(q, k, v, return_weights=True)
    assert out.dtype == expected and weights.dtype == expected
    reference = direct_attention(q, k, v)
    np.testing.assert_allclose(out, reference, rtol=2e-3 if expected == np.float16 else 1e-5)


# --------------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("q_shape", "k_shape", "v_shape", "message"), [
    ((2, 3), (4, 5), (4, 2), r"same last dimension d, got q of shape \(2, 3\) and k of shape "
                             r"\(4, 5\)"),
    ((2, 3), (4, 3), (5, 2), r"k of shape \(4, 3\) and v of shape \(5, 2\)"),
    ((2, 2, 3), (3, 4, 3), (4, 2), r"do not broadcast: q of shape \(2, 2, 3\), k of shape "
                                   r"\(3, 4, 3\), v of shape \(4, 2\)"),
    ((3,), (4, 3), (4, 2), r"q must have at least 2 dimensions \(\.\.\., L, d\), got shape "
                           r"\(3,\)"),
    ((2, 3), (3,), (4, 2), r"k must have at least 2 dimensions"),
    ((2, 3), (4, 3), (2,), r"v must have at least 2 dimensions \(\.\.\., S, dv\)"),
])
def test_shape_errors_name_the_shapes(q_shape, k_shape, v_shape, message):
    with pytest.raises(ValueError, match=message):
        scaled_dot_product_attention(np.zeros(q_shape), np.zeros(k_shape), np.zeros(v_shape))


def test_mask_errors_name_the_shapes_and_dtype():
    q, k, v = np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((4, 1))
    with pytest.raises(ValueError, match=r"mask of shape \(3, 4\) cannot be broadcast to the "
                                         r"scores of shape \(2, 4\)"):
        scaled_dot_product_attention(q, k, v, mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match=r"mask of shape \(5, 2, 4\)"):  # may not add batch axes
        scaled_dot_product_attention(q, k, v, mask=np.ones((5, 2, 4), bool))
    with pytest.raises(TypeError, match=r"mask must be a boolean mask .* got dtype int64"):
        scaled_dot_product_attention(q, k, v, mask=np.ones((2, 4), np.int64))


@pytest.mark.parametrize(("scale", "error"), [(0.0, ValueError), (-1.0, ValueError),
                                              (math.inf, ValueError), (math.nan, ValueError),
                                              ("0.5", TypeError), (True, TypeError)])
def test_bad_scale_is_refused(scale, error):
    with pytest.raises(error, match="scale"):
        scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((4, 1)),
                                     scale=scale)


def test_bad_types_are_refused():
    with pytest.raises(TypeError, match="q must be a real numeric array, got dtype complex128"):
        scaled_dot_product_attention(np.zeros((2, 3), complex), np.zeros((4, 3)), np.zeros((4, 1)))
    with pytest.raises(TypeError, match="is_causal must be a bool, got 1"):
        scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((4, 1)),
                                     is_causal=1)
