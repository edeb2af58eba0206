"""The logistic sigmoid: accuracy against a 50-digit reference, limits, dtypes, no warnings."""

import importlib
from decimal import Decimal, localcontext
from fractions import Fraction

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from softmax_course import gradient_check, sigmoid, softmax

pytestmark = pytest.mark.filterwarnings("error")

# The module, not the function that `softmax_course.sigmoid` names.
sigmoid_module = importlib.import_module("softmax_course.sigmoid")


def sigmoid_reference(value: float) -> float:
    """1 / (1 + e^-x) with 50 significant digits, then rounded once to float64."""
    with localcontext() as context:
        context.prec = 50
        return float(1 / (1 + (-Decimal(value)).exp()))


@pytest.mark.parametrize(
    "value",
    [-1000.0, -745.0, -700.0, -100.0, -30.0, -1.0, -1e-10, 0.0, 1e-10, 0.5, 1.0, 30.0, 100.0, 1e3],
)
def test_sigmoid_matches_a_50_digit_reference(value):
    expected = sigmoid_reference(value)
    # Two roundings in e^-|x| / (1 + e^-|x|) plus exp's own: a few ulps. Below float64's smallest
    # normal the result is subnormal and only absolutely accurate (spacing 5e-324).
    assert float(sigmoid(value)) == pytest.approx(expected, rel=4 * np.finfo(float).eps,
                                                  abs=np.finfo(float).smallest_subnormal)


def test_sigmoid_limits_and_nan():
    np.testing.assert_array_equal(sigmoid([-np.inf, np.inf]), [0.0, 1.0])
    assert np.isnan(sigmoid(np.nan))


@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=3), elements=st.floats(-800, 800)))
def test_sigmoid_is_symmetric_and_in_the_unit_interval(x):
    s = sigmoid(x)
    assert s.shape == x.shape
    assert np.all((s >= 0) & (s <= 1))
    # sigma(-x) = 1 - sigma(x); absolute error ~eps because 1 - s cancels.
    np.testing.assert_allclose(sigmoid(-x), 1 - s, rtol=0, atol=2 * np.finfo(float).eps)


@given(x=st.floats(-700, 700))
def test_sigmoid_is_the_softmax_of_two_logits(x):
    assert float(sigmoid(x)) == pytest.approx(float(softmax([x, 0.0])[0]), rel=1e-14, abs=1e-300)


@given(x=st.floats(-30, 30))
def test_sigmoid_derivative_is_sigma_times_one_minus_sigma(x, difference_atol):
    s = float(sigmoid(x))
    result = gradient_check(lambda v: sigmoid(v), np.array(x), s * (1 - s), rtol=1e-6,
                            atol=difference_atol(s))
    assert result.passed, str(result)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [(np.bool_, np.float64), (np.int32, np.float64), (np.float16, np.float16),
     (np.float32, np.float32), (np.float64, np.float64)],
)
def test_sigmoid_dtype_policy(dtype, expected):
    assert sigmoid(np.array([0, 1, 1], dtype=dtype)).dtype == expected


def test_float16_sigmoid_is_correctly_rounded():
    x = np.linspace(-12, 12, 241).astype(np.float16)
    exact = np.array([sigmoid_reference(float(v)) for v in x])
    # float32 computation then one rounding to float16: within half a float16 spacing (+ slack for
    # the float32 error).
    half_spacing = np.spacing(exact.astype(np.float16)).astype(np.float64) / 2
    assert np.all(np.abs(sigmoid(x).astype(np.float64) - exact) <= half_spacing * 1.01)


def test_regression_naive_sigmoid_overflows_for_large_inputs():
    x = np.array([-1000.0, 1000.0])
    with pytest.warns(RuntimeWarning):
        textbook = 1 / (1 + np.exp(-x))  # exp(1000) overflows (the answer 0 survives, by luck)
    np.testing.assert_array_equal(textbook, [0.0, 1.0])
    with pytest.warns(RuntimeWarning):
        other_form = np.exp(x) / (1 + np.exp(x))  # inf / inf = nan
    assert np.isnan(other_form[1])
    np.testing.assert_array_equal(sigmoid(x), [0.0, 1.0])  # and no warning


def test_long_double_input_is_computed_in_long_double():
    # It was computed in float64 and widened back, so it had float64's precision at best.
    x = np.longdouble(1) / 3
    expected = 1 / (1 + np.exp(-x))  # long double throughout; no overflow at 1/3
    assert sigmoid(x).dtype == np.longdouble
    assert abs(sigmoid(x) - expected) <= 4 * np.finfo(np.longdouble).eps


def _correctly_rounded_quotient(numerator: float, decay: float) -> float:
    """numerator / (1 + decay) with both taken as exact, rounded once to float64."""
    return float(Fraction(numerator) / (1 + Fraction(decay)))


def test_float64_quotient_is_rounded_once_given_exp():
    # Everything after exp is exact but the last rounding: with e = np.exp(-|x|) taken as the
    # truth, the result is the correctly rounded e / (1 + e) or 1 / (1 + e). Before the exact
    # remainder, the division and the correction each rounded, and the dominant-logit rows of
    # tests/accuracy were at 1.38 ulps against SciPy's 1.31. Three blocks' worth, so the block
    # boundaries are crossed.
    rng = np.random.default_rng(20261129)
    edges = [-740.0, -720.0, -40.0, -37.0, 0.0, 37.0]  # e subnormal, e < 2**-53, d = 1 + e
    x = np.concatenate([rng.normal(0, 10, 3 * sigmoid_module._BLOCK), edges])
    decay = np.exp(-np.abs(x))
    numerators = np.where(x >= 0, 1.0, decay)
    expected = [_correctly_rounded_quotient(n, e) for n, e in zip(numerators, decay, strict=True)]
    np.testing.assert_array_equal(sigmoid(x), expected)


# Exact while the error is a float: the product at least 2**-969, or b == 1 (the sigmoid's
# two cases), or a == 0.
@given(a=st.floats(2.0**-960, 1) | st.just(0.0), b=st.floats(1, 2))
def test_two_product_error_is_exact(a, b):
    a_, b_ = np.array([a]), np.array([b])
    product = a_ * b_
    error = np.empty(1)
    sigmoid_module._two_product_error(a_, b_, product, error, np.empty((4, 1)))
    assert Fraction(a) * Fraction(b) == Fraction(float(product[0])) + Fraction(float(error[0]))


@given(a=st.floats(0, 2.0**-960))
def test_two_product_error_is_exact_for_a_tiny_factor_times_one(a):
    a_, one = np.array([a]), np.array([1.0])
    error = np.empty(1)
    sigmoid_module._two_product_error(a_, one, a_ * one, error, np.empty((4, 1)))
    assert error[0] == 0.0


def test_strided_and_multi_block_input_equals_the_elementwise_results():
    x = np.linspace(-50, 50, 7 * (sigmoid_module._BLOCK // 3)).reshape(-1, 7)[:, ::2]  # strided
    one_at_a_time = np.array([[sigmoid(v) for v in row] for row in x])
    np.testing.assert_array_equal(sigmoid(x), one_at_a_time)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_narrow_input_is_the_float64_result_rounded_once(dtype):
    # Widened block by block into the kernel's own buffer, which the kernel then overwrites:
    # the signs must be read before that, or every negative x would get 1 / (1 + e).
    x = np.linspace(-30, 30, 2 * sigmoid_module._BLOCK + 3).astype(dtype)
    expected = sigmoid(x.astype(np.float64)).astype(dtype)
    result = sigmoid(x)
    assert result.dtype == dtype
    np.testing.assert_array_equal(result, expected)
