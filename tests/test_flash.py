"""Tests of flash_attention and flash_attention_backward against plain attention, finite
differences and their memory use."""

from __future__ import annotations

import re
import tracemalloc

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from softmax_course import (
    causal_mask,
    flash_attention,
    flash_attention_backward,
    logsumexp,
    numerical_gradient,
    scaled_dot_product_attention,
)

pytestmark = pytest.mark.filterwarnings("error")

TOLERANCE = {np.dtype(np.float32): {"rtol": 1e-5, "atol": 1e-6},
             np.dtype(np.float64): {"rtol": 1e-12, "atol": 1e-13}}


def scaled_masked_scores(q, k, *, mask=None, is_causal=False, scale=None):
    """The ``(..., L, S)`` scores flash_attention never builds, with the boolean keep mask."""
    d = q.shape[-1]
    scale = 1 / np.sqrt(d) if scale is None else scale
    scores = (q.astype(np.float64) @ np.swapaxes(k, -1, -2)) * scale  # (..., L, S)
    keep = np.ones(scores.shape[-2:], bool)
    if mask is not None and mask.dtype == bool:
        keep = keep & mask
    elif mask is not None:
        scores = scores + mask
    if is_causal:
        keep = keep & causal_mask(*scores.shape[-2:])
    return scores, np.broadcast_to(keep, scores.shape)


@st.composite
def flash_problem(draw):
    """Random batch/head axes, L and S (often different), block sizes from 1 to beyond L and S."""
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=2))
    L, S = draw(st.integers(0, 9)), draw(st.integers(0, 9))
    d, dv = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    q = rng.normal(size=(*batch, L, d)).astype(dtype)
    k = rng.normal(size=(*batch[1:], S, d)).astype(dtype)  # keys shared along the first axis
    v = rng.normal(size=(*batch, S, dv)).astype(dtype)
    block_q = draw(st.integers(1, L + 2))  # up to larger than L, rarely dividing it
    block_k = draw(st.integers(1, S + 2))
    mask_kind = draw(st.sampled_from(["none", "bool", "additive"]))
    mask = None
    if mask_kind != "none":
        keep = rng.random((L, S)) < draw(st.sampled_from([0.3, 0.8]))
        keep[rng.random(L) < 0.2] = False  # some queries that may attend nothing
        mask = keep if mask_kind == "bool" else np.where(keep, rng.normal(size=(L, S)), -np.inf)
    return q, k, v, mask, draw(st.booleans()), block_q, block_k


@given(problem=flash_problem())
def test_flash_equals_plain_attention_and_lse_equals_logsumexp(problem):
    q, k, v, mask, is_causal, block_q, block_k = problem
    out, lse = flash_attention(q, k, v, block_q=block_q, block_k=block_k, is_causal=is_causal,
                               mask=mask, return_lse=True)
    expected = scaled_dot_product_attention(q, k, v, mask=mask, is_causal=is_causal)
    assert out.dtype == expected.dtype == q.dtype
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, **TOLERANCE[q.dtype])

    scores, keep = scaled_masked_scores(q, k, mask=mask, is_causal=is_causal)
    assert lse.shape == out.shape[:-1] and lse.dtype == q.dtype
    np.testing.assert_allclose(lse, logsumexp(scores, axis=-1, where=keep), **TOLERANCE[q.dtype])


@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize(("L", "S"), [(7, 7), (5, 11), (11, 5), (1, 1), (16, 16)])
@pytest.mark.parametrize(("block_q", "block_k"), [(1, 1), (3, 4), (4, 3), (16, 16), (100, 100)])
def test_flash_equals_plain_attention_for_block_size_edge_cases(is_causal, L, S, block_q, block_k):
    rng = np.random.default_rng(L * 100 + S)
    q, k, v = rng.normal(size=(2, L, 5)), rng.normal(size=(2, S, 5)), rng.normal(size=(2, S, 3))
    out = flash_attention(q, k, v, block_q=block_q, block_k=block_k, is_causal=is_causal)
    expected = scaled_dot_product_attention(q, k, v, is_causal=is_causal)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-13)


def test_broadcasting_over_batch_and_head_axes():
    rng = np.random.default_rng(10)
    q = rng.normal(size=(2, 3, 6, 4))  # (B, H, L, d)
    k = rng.normal(size=(2, 1, 9, 4))  # one key set per batch element, shared by the heads
    v = rng.normal(size=(3, 9, 2))  # one value set per head, shared by the batch
    padding = rng.random((2, 1, 1, 9)) < 0.7  # key-padding mask per batch element
    out = flash_attention(q, k, v, block_q=4, block_k=4, mask=padding)
    assert out.shape == (2, 3, 6, 2)
    np.testing.assert_allclose(out, scaled_dot_product_attention(q, k, v, mask=padding),
                               rtol=1e-12)


def test_fully_masked_rows_and_tiles_give_zeros_and_minus_inf_lse():
    rng = np.random.default_rng(11)
    L, S = 8, 10
    q, k, v = rng.normal(size=(L, 4)), rng.normal(size=(S, 4)), rng.normal(size=(S, 2))
    keep = np.ones((L, S), bool)
    keep[2] = False  # query 2 may attend nothing
    keep[4:, :5] = False  # with block_k = 5 a whole tile of keys is masked for queries 4..7
    for mask in (keep, np.where(keep, 0.0, -np.inf)):
        for is_causal in (False, True):  # causal: query 4 then sees only masked keys 0..4
            out, lse = flash_attention(q, k, v, block_q=3, block_k=5, mask=mask,
                                       is_causal=is_causal, return_lse=True)
            expected = scaled_dot_product_attention(q, k, v, mask=mask, is_causal=is_causal)
            np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-13)
            np.testing.assert_array_equal(out[2], 0.0)
            assert lse[2] == -np.inf
            if is_causal:
                np.testing.assert_array_equal(out[4], 0.0)
                assert lse[4] == -np.inf
            assert np.isfinite(out).all()


def test_no_keys_give_zero_rows():
    out, lse = flash_attention(np.ones((3, 2)), np.ones((0, 2)), np.ones((0, 4)), return_lse=True)
    np.testing.assert_array_equal(out, np.zeros((3, 4)))
    np.testing.assert_array_equal(lse, np.full(3, -np.inf))


def test_regression_nan_behind_boolean_mask_does_not_leak():
    k = np.array([[1.0, 2.0], [np.nan, 0.0], [0.5, 0.5]])  # key 1 gives NaN scores
    q, v = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0], [2.0], [3.0]])
    out = flash_attention(q, k, v, block_q=1, block_k=1, mask=np.array([True, False, True]))
    np.testing.assert_allclose(out, scaled_dot_product_attention(q, k[[0, 2]], v[[0, 2]]))


def test_plus_infinite_scores_share_the_weight_as_in_plain_attention():
    q = np.array([[np.inf, 0.0]])
    k = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]])  # scores +inf, -inf, +inf
    v = np.array([[2.0], [50.0], [4.0]])
    out = flash_attention(q, k, v, block_k=1)
    np.testing.assert_allclose(out, scaled_dot_product_attention(q, k, v))
    np.testing.assert_allclose(out, [[3.0]])


def test_float16_input_gives_float16_output():
    rng = np.random.default_rng(12)
    q, k, v = (rng.normal(size=(5, 8)).astype(np.float16) for _ in range(3))
    out = flash_attention(q, k, v, block_q=2, block_k=3, is_causal=True)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out, scaled_dot_product_attention(q, k, v, is_causal=True),
                               rtol=2.0**-9, atol=2.0**-12)


def test_peak_memory_stays_far_below_the_score_matrix():
    L = S = 1024
    rng = np.random.default_rng(13)
    q, k, v = rng.normal(size=(L, 32)), rng.normal(size=(S, 32)), rng.normal(size=(S, 32))
    score_matrix_bytes = L * S * np.dtype(np.float64).itemsize  # 8 MiB
    tracemalloc.start()
    try:
        flash_attention(q, k, v)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < score_matrix_bytes / 8, f"peak {peak} bytes"


@pytest.mark.parametrize(("name", "value"), [("block_q", 0), ("block_k", -2), ("block_q", 1.5),
                                             ("block_k", True)])
def test_bad_block_sizes_are_value_errors_naming_them(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be an int >= 1, got {value!r}"):
        flash_attention(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), **{name: value})


def test_shape_errors_are_those_of_plain_attention():
    with pytest.raises(ValueError, match=r"q of shape \(2, 3\) and k of shape \(4, 5\)"):
        flash_attention(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"mask of shape \(3, 4\) cannot be broadcast"):
        flash_attention(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((4, 2)),
                        mask=np.ones((3, 4), bool))


# --- the backward pass ----------------------------------------------------------------------


def summed_to_shape_of(gradient, array):
    """``gradient`` summed over the axes along which ``array`` was broadcast."""
    leading = gradient.ndim - array.ndim
    gradient = gradient.sum(axis=tuple(range(leading)))
    ones = tuple(i for i, n in enumerate(array.shape) if n == 1 and gradient.shape[i] != 1)
    return gradient.sum(axis=ones, keepdims=True)


def plain_attention_backward(q, k, v, d_out, *, mask=None, is_causal=False, scale=None):
    """The readable backward pass: it holds the (..., L, S) weights, and goes through each row's
    softmax VJP, P * (dP - rowsum(P * dP)), not the D = rowsum(dO * O) shortcut."""
    _, weights = scaled_dot_product_attention(q, k, v, mask=mask, is_causal=is_causal,
                                              scale=scale, return_weights=True)
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    d_values = np.swapaxes(weights, -1, -2) @ d_out  # P^T dO
    d_weights = d_out @ np.swapaxes(v, -1, -2)  # dP = dO V^T
    d_scores = weights * (d_weights - np.sum(weights * d_weights, axis=-1, keepdims=True))
    d_queries = scale * d_scores @ k
    d_keys = scale * np.swapaxes(d_scores, -1, -2) @ q
    return tuple(summed_to_shape_of(gradient, array) for gradient, array in
                 ((d_queries, q), (d_keys, k), (d_values, v)))


def flash_gradients(q, k, v, d_out, **options):
    """Forward with the lse, then the tiled backward pass."""
    blocks = {name: options.pop(name) for name in ("block_q", "block_k") if name in options}
    out, lse = flash_attention(q, k, v, return_lse=True, **options)
    return flash_attention_backward(q, k, v, out, lse, d_out, **blocks, **options)


BACKWARD_TOLERANCE = {np.dtype(np.float32): {"rtol": 2e-4, "atol": 2e-5},
                      np.dtype(np.float64): {"rtol": 1e-10, "atol": 1e-12}}


@given(problem=flash_problem())
def test_flash_backward_equals_plain_backward(problem):
    q, k, v, mask, is_causal, block_q, block_k = problem
    out = scaled_dot_product_attention(q, k, v, mask=mask, is_causal=is_causal)
    d_out = np.random.default_rng(q.size).normal(size=out.shape).astype(q.dtype)
    expected = plain_attention_backward(q, k, v, d_out, mask=mask, is_causal=is_causal)
    got = flash_gradients(q, k, v, d_out, mask=mask, is_causal=is_causal, block_q=block_q,
                          block_k=block_k)
    for name, gradient, reference, array in zip("qkv", got, expected, (q, k, v), strict=True):
        assert gradient.shape == array.shape, name
        assert gradient.dtype == q.dtype, name
        np.testing.assert_allclose(gradient, reference, err_msg=f"d{name}",
                                   **BACKWARD_TOLERANCE[q.dtype])


@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "bool", "additive"])
@pytest.mark.parametrize(("L", "S"), [(4, 4), (3, 6), (6, 3)])
def test_flash_backward_equals_finite_differences(is_causal, mask_kind, L, S):
    rng = np.random.default_rng(100 * L + S)
    q, k, v = rng.normal(size=(2, L, 3)), rng.normal(size=(S, 3)), rng.normal(size=(2, S, 2))
    mask = None
    if mask_kind != "none":
        keep = rng.random((L, S)) < 0.7
        keep[1] = False  # a query that may attend nothing
        mask = keep if mask_kind == "bool" else np.where(keep, rng.normal(size=(L, S)), -np.inf)
    options = {"mask": mask, "is_causal": is_causal, "scale": 0.7}
    weights_of_out = rng.normal(size=(2, L, 2))  # the loss is sum(out * weights_of_out)

    def loss(q_, k_, v_):
        return np.sum(flash_attention(q_, k_, v_, **options) * weights_of_out)

    d_q, d_k, d_v = flash_gradients(q, k, v, weights_of_out, block_q=2, block_k=2, **options)
    np.testing.assert_allclose(d_q, numerical_gradient(lambda x: loss(x, k, v), q), atol=1e-8)
    np.testing.assert_allclose(d_k, numerical_gradient(lambda x: loss(q, x, v), k), atol=1e-8)
    np.testing.assert_allclose(d_v, numerical_gradient(lambda x: loss(q, k, x), v), atol=1e-8)


def test_flash_backward_broadcast_inputs_get_summed_gradients():
    rng = np.random.default_rng(20)
    q = rng.normal(size=(2, 3, 5, 4))  # (B, H, L, d)
    k = rng.normal(size=(2, 1, 6, 4))  # one key set per batch element, shared by the heads
    v = rng.normal(size=(3, 6, 2))  # one value set per head, shared by the batch
    padding = rng.random((2, 1, 1, 6)) < 0.7
    d_out = rng.normal(size=(2, 3, 5, 2))
    got = flash_gradients(q, k, v, d_out, mask=padding, block_q=2, block_k=4)
    expected = plain_attention_backward(q, k, v, d_out, mask=padding)
    for gradient, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(gradient, reference, rtol=1e-10, atol=1e-12)
    assert [g.shape for g in got] == [q.shape, k.shape, v.shape]


def test_flash_backward_fully_masked_rows_get_no_gradient():
    rng = np.random.default_rng(21)
    q, k, v = rng.normal(size=(5, 3)), rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    keep = np.ones((5, 7), bool)
    keep[2] = False  # query 2 sees no key
    keep[:, 6] = False  # key 6 is seen by no query
    d_q, d_k, d_v = flash_gradients(q, k, v, rng.normal(size=(5, 2)), mask=keep, block_k=3)
    np.testing.assert_array_equal(d_q[2], 0.0)
    np.testing.assert_array_equal(d_k[6], 0.0)
    np.testing.assert_array_equal(d_v[6], 0.0)
    assert all(np.isfinite(g).all() for g in (d_q, d_k, d_v))


def test_flash_backward_without_keys_gives_zero_gradients():
    q, k, v = np.ones((3, 2)), np.ones((0, 2)), np.ones((0, 4))
    out, lse = flash_attention(q, k, v, return_lse=True)
    d_q, d_k, d_v = flash_attention_backward(q, k, v, out, lse, np.ones((3, 4)))
    np.testing.assert_array_equal(d_q, np.zeros((3, 2)))
    assert d_k.shape == (0, 2) and d_v.shape == (0, 4)


def test_flash_backward_float16_gives_float16_gradients():
    rng = np.random.default_rng(22)
    q, k, v = (rng.normal(size=(5, 8)).astype(np.float16) for _ in range(3))
    d_out = rng.normal(size=(5, 8)).astype(np.float16)
    got = flash_gradients(q, k, v, d_out, is_causal=True, block_q=2, block_k=3)
    expected = plain_attention_backward(*(a.astype(np.float64) for a in (q, k, v)),
                                        d_out.astype(np.float64), is_causal=True)
    for gradient, reference in zip(got, expected, strict=True):
        assert gradient.dtype == np.float16
        np.testing.assert_allclose(gradient, reference, rtol=1e-2, atol=1e-2)


def test_flash_backward_peak_memory_stays_far_below_the_score_matrix():
    L = S = 1024
    rng = np.random.default_rng(23)
    q, k, v, d_out = (rng.normal(size=(n, 32)) for n in (L, S, S, L))
    out, lse = flash_attention(q, k, v, return_lse=True)
    score_matrix_bytes = L * S * np.dtype(np.float64).itemsize  # 8 MiB
    tracemalloc.start()
    try:
        flash_attention_backward(q, k, v, out, lse, d_out, block_q=128, block_k=128)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < score_matrix_bytes / 4, f"peak {peak} bytes"


@pytest.mark.parametrize(("name", "shape"), [("out", (4, 3)), ("lse", (3, 1)), ("d_out", (3,))])
def test_flash_backward_names_a_saved_array_of_the_wrong_shape(name, shape):
    arrays = {"out": np.zeros((3, 2)), "lse": np.zeros(3), "d_out": np.zeros((3, 2))}
    arrays[name] = np.zeros(shape)
    with pytest.raises(ValueError, match=rf"{name} must have shape .* got {re.escape(str(shape))}"):
        flash_attention_backward(np.zeros((3, 4)), np.zeros((5, 4)), np.zeros((5, 2)),
                                 arrays["out"], arrays["lse"], arrays["d_out"])


def test_flash_backward_bad_block_size_is_a_value_error():
    with pytest.raises(ValueError, match=r"block_k must be an int >= 1, got 0"):
        flash_attention_backward(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)),
                                 np.ones((2, 2)), np.ones(2), np.ones((2, 2)), block_k=0)
