"""Bad input: every error names the argument and the offending value (or both shapes)."""

import re
import time

import numpy as np
import pytest
from numpy.exceptions import AxisError

from softmax_course import (
    cross_entropy,
    cross_entropy_grad,
    entropy,
    gradient_check,
    log_softmax,
    log_softmax_jacobian,
    logsumexp,
    naive_softmax,
    numerical_gradient,
    numerical_jacobian,
    sigmoid,
    softmax,
    softmax_jacobian,
    softmax_jvp,
    softmax_vjp,
)

pytestmark = pytest.mark.filterwarnings("error")

TEMPERATURE_FUNCTIONS = [softmax, log_softmax]
AXIS_FUNCTIONS = [softmax, log_softmax, logsumexp, naive_softmax, entropy]


@pytest.mark.parametrize("function", TEMPERATURE_FUNCTIONS)
@pytest.mark.parametrize(
    ("temperature", "shown"),
    [(0, "0.0"), (0.0, "0.0"), (-1, "-1.0"), (np.inf, "inf"), (-np.inf, "-inf"), (np.nan, "nan")],
)
def test_temperature_must_be_positive_and_finite(function, temperature, shown):
    expected = rf"temperature must be a positive finite number, got {shown}$"
    with pytest.raises(ValueError, match=expected):
        function([1.0, 2.0], temperature=temperature)


@pytest.mark.parametrize("function", TEMPERATURE_FUNCTIONS)
@pytest.mark.parametrize(
    ("temperature", "shown"),
    [("hot", "'hot'"), (None, "None"), (True, "True"), ([1.0], r"\[1.0\]")],
)
def test_temperature_must_be_a_real_number(function, temperature, shown):
    with pytest.raises(TypeError, match=rf"temperature must be a real number, got {shown}$"):
        function([1.0, 2.0], temperature=temperature)


@pytest.mark.parametrize("function", AXIS_FUNCTIONS)
@pytest.mark.parametrize("axis", [2, -3, (0, 5)])
def test_axis_out_of_range_names_the_axis_and_ndim(function, axis):
    bad = axis if isinstance(axis, int) else 5
    with pytest.raises(AxisError, match=rf"axis {bad} is out of bounds for array of dimension 2"):
        function(np.zeros((2, 3)), axis=axis)


@pytest.mark.parametrize("function", AXIS_FUNCTIONS)
def test_repeated_or_non_integer_axis(function):
    with pytest.raises(ValueError, match="repeated axis"):
        function(np.zeros((2, 3)), axis=(1, -1))
    with pytest.raises(TypeError, match=r"axis must be an int, a tuple of ints or None, got 1\.5"):
        function(np.zeros((2, 3)), axis=1.5)


@pytest.mark.parametrize("function", [softmax_jacobian, log_softmax_jacobian])
def test_jacobian_axis_must_be_one_int_in_range(function):
    with pytest.raises(TypeError, match=r"axis must be a single int here, got \(0, 1\)"):
        function(np.zeros((2, 3)), axis=(0, 1))
    with pytest.raises(AxisError, match="axis 2 is out of bounds for array of dimension 2"):
        function(np.zeros((2, 3)), axis=2)


@pytest.mark.parametrize("function", [softmax, log_softmax, logsumexp, sigmoid, entropy])
@pytest.mark.parametrize(
    ("value", "dtype"),
    [(np.array([1 + 2j]), "complex128"), (np.array([1.0], dtype=object), "object"),
     (np.array(["a"]), "<U1")],
)
def test_non_real_input_is_a_type_error_naming_the_dtype(function, value, dtype):
    with pytest.raises(TypeError, match=rf"must be a real numeric array, got dtype {dtype}"):
        function(value)


@pytest.mark.parametrize("function", [softmax, log_softmax, logsumexp])
def test_where_must_be_boolean(function):
    with pytest.raises(TypeError, match=r"^where must be a boolean mask, got dtype float64$"):
        function(np.zeros((2, 3)), where=np.ones((2, 3)))
    with pytest.raises(TypeError, match="got dtype int64"):
        function(np.zeros((2, 3)), where=np.array([1, 0, 1]))


@pytest.mark.parametrize("function", [softmax, log_softmax, logsumexp])
@pytest.mark.parametrize("mask_shape", [(2,), (3, 3), (4, 2, 3)])
def test_where_must_broadcast_to_x(function, mask_shape):
    expected = re.escape(f"where of shape {mask_shape} cannot be broadcast to x of shape (2, 3)")
    with pytest.raises(ValueError, match=expected):
        function(np.zeros((2, 3)), where=np.ones(mask_shape, dtype=bool))


# --- cross-entropy -------------------------------------------------------------------------------


@pytest.mark.parametrize("function", [cross_entropy, cross_entropy_grad])
def test_labels_out_of_range_name_the_label_and_the_range(function):
    logits = np.zeros((2, 3))
    expected = r"target contains label 7, outside the valid range \[0, 3\)"
    with pytest.raises(ValueError, match=expected):
        function(logits, np.array([0, 7]))
    with pytest.raises(ValueError, match=r"label -1, outside the valid range \[0, 3\)"):
        function(logits, np.array([-1, 2]))
    with pytest.raises(ValueError, match=r"label -1, .*\(and not ignore_index=-100\)"):
        function(logits, np.array([-1, -100]), ignore_index=-100)


@pytest.mark.parametrize("function", [cross_entropy, cross_entropy_grad])
def test_target_shape_must_fit_the_logits(function):
    for target in (np.array([0, 1, 2]), np.full((2, 3), 1 / 3)):
        expected = re.escape(f"got target of shape {target.shape} for logits of shape (2, 4)")
        with pytest.raises(ValueError, match=expected):
            function(np.zeros((2, 4)), target)


@pytest.mark.parametrize("function", [cross_entropy, cross_entropy_grad])
def test_bad_reduction_smoothing_ignore_index_and_target_dtype(function):
    logits, labels = np.zeros((2, 3)), np.array([0, 1])
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum', 'none', got 'av"):
        function(logits, labels, reduction="avg")
    for smoothing in (-0.1, 1.5, float("nan")):
        expected = rf"label_smoothing must be in \[0, 1\], got {smoothing}"
        with pytest.raises(ValueError, match=expected):
            function(logits, labels, label_smoothing=smoothing)
    expected = r"label_smoothing must be a real number in \[0, 1\], got 'x'"
    with pytest.raises(TypeError, match=expected):
        function(logits, labels, label_smoothing="x")
    with pytest.raises(ValueError, match="ignore_index=-100 needs integer class-index targets"):
        function(logits, np.full((2, 3), 1 / 3), ignore_index=-100)
    with pytest.raises(TypeError, match=r"ignore_index must be an int or None, got 0\.5"):
        function(logits, labels, ignore_index=0.5)
    with pytest.raises(TypeError, match=r"target must be integer class indices or float .* bool"):
        function(logits, np.array([True, False]))


# --- Jacobians and their products ---------------------------------------------------------------


@pytest.mark.parametrize("function", [softmax_jacobian, log_softmax_jacobian])
def test_oversized_jacobian_is_refused_at_once(function):
    x = np.zeros(50_000)  # the full Jacobian would be 50 000^2 float64 = 18.6 GiB
    start = time.perf_counter()
    with pytest.raises(ValueError) as error:
        function(x)
    assert time.perf_counter() - start < 0.5  # refused before computing anything
    message = str(error.value)
    for part in ("18.6 GiB", "K=50000", "batch size 1", "float64", "softmax_vjp", "softmax_jvp"):
        assert part in message


def test_jacobian_size_counts_the_batch_and_the_dtype():
    expected = r"61\.0 GiB for K=128000 classes, batch size 1, dtype float32"
    with pytest.raises(ValueError, match=expected):
        softmax_jacobian(np.zeros(128_000, dtype=np.float32))
    with pytest.raises(ValueError, match=r"K=12000 classes, batch size 3, dtype float64"):
        softmax_jacobian(np.zeros((3, 12_000)))
    assert softmax_jacobian(np.zeros((2, 100))).shape == (2, 100, 100)  # small ones are fine


@pytest.mark.parametrize(("function", "second"), [(softmax_vjp, "g"), (softmax_jvp, "v")])
def test_vjp_and_jvp_need_matching_shapes(function, second):
    expected = re.escape(f"s and {second} must have the same shape, got s of shape (2, 3) and "
                         f"{second} of shape (3,)")
    with pytest.raises(ValueError, match=expected):
        function(np.full((2, 3), 1 / 3), np.zeros(3))


# --- finite differences --------------------------------------------------------------------------


def test_finite_difference_arguments():
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match=r"eps must be a positive finite number, got 0\.0"):
        numerical_jacobian(np.sin, x, eps=0.0)
    with pytest.raises(ValueError, match=r"scalar-valued f, got output of shape \(2,\)"):
        numerical_gradient(np.sin, x)
    with pytest.raises(ValueError, match=re.escape("grad must have shape (2, 2)")):
        gradient_check(np.sin, x, np.cos(x))
    with pytest.raises(ValueError, match="rtol must be a non-negative finite number, got -1"):
        gradient_check(np.sin, x, np.diag(np.cos(x)), rtol=-1)
