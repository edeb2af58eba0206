"""Finite differences: shapes, accuracy, and the gradient of logsumexp being softmax."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from softmax_course import (
    GradientCheck,
    gradient_check,
    logsumexp,
    numerical_gradient,
    numerical_jacobian,
    softmax,
)

pytestmark = pytest.mark.filterwarnings("error")


def test_numerical_jacobian_of_a_linear_map_is_its_matrix():
    matrix = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, 4.0]])
    jacobian = numerical_jacobian(lambda v: matrix @ v, np.array([0.3, -1.0, 2.0]))
    np.testing.assert_allclose(jacobian, matrix, rtol=1e-9, atol=1e-9)


def test_numerical_jacobian_shape_is_output_shape_then_input_shape():
    x = np.arange(6.0).reshape(2, 3)
    jacobian = numerical_jacobian(lambda v: np.stack([v.sum(axis=0), v.max(axis=0)]), x)
    assert jacobian.shape == (2, 3, 2, 3)
    # d(sum over rows of column j) / d x[i, k] = [j == k]
    np.testing.assert_allclose(jacobian[0], np.broadcast_to(np.eye(3)[:, None, :], (3, 2, 3)),
                               atol=1e-9)
    assert numerical_jacobian(lambda v: 2 * v, 1.5).shape == ()
    assert numerical_jacobian(lambda v: np.sum(v), np.zeros(4)).shape == (4,)


@given(x=st.lists(st.floats(-3, 3), min_size=1, max_size=6).map(np.array))
def test_numerical_gradient_of_sum_of_squares_is_twice_x(x):
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v**2), x), 2 * x,
                               rtol=1e-8, atol=1e-8)


def test_step_is_the_rounded_difference_not_two_eps():
    # At 1e10 the spacing of float64 is 1.9e-6, so x +- 1e-6 land 3.8e-6 apart, not 2e-6 apart;
    # dividing by 2e-6 would report a slope of 0.95 for the function x / 4 (a power-of-two scaling,
    # so f itself adds no rounding).
    gradient = numerical_gradient(lambda v: 0.25 * v[0], np.array([1e10]))
    assert gradient[0] == 0.25


@given(data=st.data())
def test_gradient_of_logsumexp_is_softmax(data, float64_logits_and_axis, difference_atol):
    # Each entry belongs to exactly one slice, so the gradient of the SUM of the slice-wise
    # logsumexps is softmax over those slices.
    x, axis = data.draw(float64_logits_and_axis)
    atol = difference_atol(logsumexp(x, axis=axis))  # f is a sum of up to 125 of these
    result = gradient_check(lambda z: np.sum(logsumexp(z, axis=axis)), x, softmax(x, axis=axis),
                            rtol=1e-6, atol=atol)
    assert result.passed, str(result)


def test_gradient_check_catches_a_wrong_gradient():
    x = np.array([0.5, -1.0, 2.0])
    right = gradient_check(logsumexp, x, softmax(x))
    assert right.passed
    assert right.max_abs_error < 1e-8 and right.max_rel_error < 1e-7
    wrong = gradient_check(logsumexp, x, softmax(x) + np.array([0.0, 1e-3, 0.0]))
    assert not wrong.passed
    assert wrong.max_abs_error == pytest.approx(1e-3, rel=1e-4)


def test_gradient_check_of_a_jacobian_and_of_nan():
    x = np.array([1.0, 2.0])
    good = gradient_check(lambda v: v**3, x, np.diag(3 * x**2), rtol=1e-6)
    assert good.passed
    broken = gradient_check(lambda v: v**3, x, np.full((2, 2), np.nan))
    assert not broken.passed
    assert np.isnan(broken.max_abs_error)


def test_gradient_check_result_is_frozen_and_readable():
    result = gradient_check(lambda v: np.sum(v**2), np.array([1.0]), np.array([2.0]))
    assert isinstance(result, GradientCheck)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.passed = False
    text = str(result)
    assert text.startswith("gradient check passed: max abs error ")
    assert "max rel error" in text
    assert str(GradientCheck(0.5, 1.0, False)) == (
        "gradient check FAILED: max abs error 0.5, max rel error 1"
    )


def test_f_cannot_change_the_evaluation_point():
    def destructive(v):
        total = np.sum(v**2)
        v[...] = 1e6  # a careless f that writes into its argument
        return total

    np.testing.assert_allclose(numerical_gradient(destructive, np.array([1.0, 2.0])), [2.0, 4.0],
                               rtol=1e-8)
