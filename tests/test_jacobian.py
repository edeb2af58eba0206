"""The softmax and log-softmax Jacobians and the O(K) products softmax_vjp and softmax_jvp."""

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from softmax_course import (
    gradient_check,
    log_softmax,
    log_softmax_jacobian,
    numerical_jacobian,
    softmax,
    softmax_jacobian,
    softmax_jvp,
    softmax_vjp,
)

pytestmark = pytest.mark.filterwarnings("error")

EPS64 = float(np.finfo(np.float64).eps)


@st.composite
def logits_and_class_axis(draw):
    """float64 logits in [-5, 5] (every probability >= e^-10 / K) and one int class axis."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    x = draw(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)))
    return x, draw(st.integers(-len(shape), len(shape) - 1))


def _slices(x, axis):
    """Yield (batch index, 1-D slice along axis) in the layout of the Jacobian's batch axes."""
    moved = np.moveaxis(x, axis, -1)
    for index in np.ndindex(moved.shape[:-1]):
        yield index, moved[index]


@given(problem=logits_and_class_axis())
def test_softmax_jacobian_is_diag_s_minus_s_s_transpose(problem):
    x, axis = problem
    jacobian = softmax_jacobian(x, axis=axis)
    classes = x.shape[axis]
    assert jacobian.shape == (*np.moveaxis(x, axis, -1).shape[:-1], classes, classes)
    for index, row in _slices(x, axis):
        s = softmax(row)
        # atol: this reference's diagonal s_i - s_i^2 cancels, by up to a few ulps of s_i
        np.testing.assert_allclose(jacobian[index], np.diag(s) - np.outer(s, s),
                                   rtol=1e-14, atol=1e-15)


@given(problem=logits_and_class_axis())
def test_softmax_jacobian_is_symmetric_psd_with_zero_row_sums_and_rank_k_minus_1(problem):
    x, axis = problem
    for index, row in _slices(x, axis):
        jacobian = softmax_jacobian(x, axis=axis)[index]
        s = softmax(row)
        np.testing.assert_array_equal(jacobian, jacobian.T)
        np.testing.assert_allclose(jacobian.sum(axis=1), 0.0, atol=4 * EPS64)
        eigenvalues = np.linalg.eigvalsh(jacobian)
        assert eigenvalues.min() >= -4 * EPS64  # v^T J v is a variance: never negative
        # J = diag(s) - s s^T is a rank-one downdate of diag(s): its eigenvalues interlace the s_i,
        # so all but one are >= min(s) > 0, and J 1 = 0 gives the zero one. Rank K - 1.
        assert np.linalg.matrix_rank(jacobian, tol=s.min() / 1e3) == row.size - 1


@given(x=hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-5, 5)))
def test_softmax_jacobian_matches_finite_differences(x):
    result = gradient_check(softmax, x, softmax_jacobian(x), rtol=1e-6, atol=1e-9)
    assert result.passed, str(result)


@given(x=hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-5, 5)))
def test_log_softmax_jacobian_is_identity_minus_ones_s_transpose(x):
    s = softmax(x)
    jacobian = log_softmax_jacobian(x)
    np.testing.assert_allclose(jacobian, np.eye(x.size) - np.outer(np.ones(x.size), s),
                               rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(jacobian.sum(axis=1), 0.0, atol=4 * EPS64)
    assert gradient_check(log_softmax, x, jacobian, rtol=1e-6, atol=1e-9).passed


def test_jacobian_batch_axes_keep_their_order():
    x = np.random.default_rng(1).standard_normal((2, 5, 3))
    jacobian = softmax_jacobian(x, axis=1)
    assert jacobian.shape == (2, 3, 5, 5)
    np.testing.assert_allclose(jacobian[1, 2], softmax_jacobian(x[1, :, 2]), rtol=1e-15)
    assert log_softmax_jacobian(x, axis=1).shape == (2, 3, 5, 5)


@pytest.mark.parametrize("function", [softmax_jacobian, log_softmax_jacobian])
def test_jacobian_dtype_policy_and_empty_class_axis(function):
    assert function(np.zeros(3, dtype=np.float16)).dtype == np.float16
    assert function(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert function(np.zeros(3, dtype=np.int64)).dtype == np.float64
    assert function(np.zeros((4, 0))).shape == (4, 0, 0)


def test_jacobian_of_an_all_minus_infinity_slice_is_zero():
    # softmax is 0 on such a slice (nothing to normalise), and so is the formula s_i (d_ij - s_j).
    np.testing.assert_array_equal(softmax_jacobian([-np.inf, -np.inf]), np.zeros((2, 2)))


@given(problem=logits_and_class_axis(), seed=st.integers(0, 2**32 - 1))
def test_vjp_is_jacobian_transpose_times_g_and_jvp_is_jacobian_times_v(problem, seed):
    x, axis = problem
    rng = np.random.default_rng(seed)
    g, v = rng.standard_normal((2, *x.shape))
    s = softmax(x, axis=axis)
    jacobian = softmax_jacobian(x, axis=axis)  # (..., K, K)
    g_last, v_last = np.moveaxis(g, axis, -1), np.moveaxis(v, axis, -1)  # (..., K)
    expected_vjp = np.moveaxis(np.einsum("...ij,...i->...j", jacobian, g_last), -1, axis)
    expected_jvp = np.moveaxis(np.einsum("...ij,...j->...i", jacobian, v_last), -1, axis)
    np.testing.assert_allclose(softmax_vjp(s, g, axis=axis), expected_vjp, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(softmax_jvp(s, v, axis=axis), expected_jvp, rtol=1e-12, atol=1e-15)


@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_vjp_and_jvp_match_finite_differences_for_any_axis(
    data, float64_logits_and_axis, seed, difference_atol
):
    # Also covers tuple axes and None, where no explicit Jacobian exists.
    x, axis = data.draw(float64_logits_and_axis)
    x = x / 10  # |x| <= 5 keeps every probability away from 0
    rng = np.random.default_rng(seed)
    g, v = rng.standard_normal((2, *x.shape))
    s = softmax(x, axis=axis)
    # VJP: the gradient of <g, softmax(x)> with respect to x.
    assert gradient_check(lambda z: np.sum(g * softmax(z, axis=axis)), x,
                          softmax_vjp(s, g, axis=axis), rtol=1e-6,
                          atol=difference_atol(g * s)).passed
    # JVP: the derivative of t -> softmax(x + t v) at t = 0.
    directional = numerical_jacobian(lambda t: softmax(x + t * v, axis=axis), 0.0)
    np.testing.assert_allclose(softmax_jvp(s, v, axis=axis), directional, rtol=1e-6, atol=1e-9)


def test_vjp_works_in_o_k_where_the_jacobian_is_refused():
    x = np.random.default_rng(2).standard_normal(50_000)
    s, g = softmax(x), np.linspace(-1, 1, x.size)
    with pytest.raises(ValueError, match="softmax_vjp"):
        softmax_jacobian(x)
    np.testing.assert_allclose(softmax_vjp(s, g), s * (g - np.dot(s, g)), rtol=1e-12, atol=1e-18)


def test_vjp_is_zero_on_masked_entries_and_promotes_dtypes():
    s = softmax(np.array([1.0, 2.0, 3.0]), where=np.array([True, False, True]))
    g = np.array([5.0, 7.0, -1.0])
    assert softmax_vjp(s, g)[1] == 0.0
    assert softmax_vjp(s.astype(np.float32), g.astype(np.float32)).dtype == np.float32
    assert softmax_vjp(s.astype(np.float32), g).dtype == np.float64
    assert softmax_jvp(s.astype(np.float16), g.astype(np.float16)).dtype == np.float16


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0,), (2, 0, 3)])
def test_empty_batches_and_empty_slices(shape):
    s = np.zeros(shape)
    assert softmax_vjp(s, s).shape == shape
    assert softmax_jvp(s, s).shape == shape
    assert softmax_jacobian(s).shape == (*shape, shape[-1])
    assert log_softmax_jacobian(s).shape == (*shape, shape[-1])
    assert softmax_vjp(s, s, axis=None).shape == shape
