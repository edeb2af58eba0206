"""Entropy, cross-entropy and its gradient: formulas, PyTorch conventions and finite differences."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from softmax_course import (
    cross_entropy,
    cross_entropy_grad,
    entropy,
    gradient_check,
    log_softmax,
    softmax,
)

pytestmark = pytest.mark.filterwarnings("error")

IGNORE = -100  # PyTorch's default ignore_index
REDUCTIONS = ["mean", "sum", "none"]


def _labels_for(logits, axis, seed, ignore_fraction=0.0):
    """Random class indices for ``logits`` (class axis ``axis``), some set to IGNORE."""
    rng = np.random.default_rng(seed)
    positions = np.moveaxis(logits, axis, -1).shape[:-1]
    labels = rng.integers(0, logits.shape[axis], size=positions)
    labels[rng.random(positions) < ignore_fraction] = IGNORE
    return labels


def _one_hot_last(labels, classes):
    """(..., C) one-hot rows; all-zero rows where the label is IGNORE."""
    counted = labels != IGNORE
    return (np.arange(classes) == np.where(counted, labels, -1)[..., None]).astype(float)


def _reference_losses(logits, labels, axis, smoothing):
    """Per-position losses written the PyTorch way: (1 - eps) * nll + eps * mean_c(-log p_c)."""
    log_p = np.moveaxis(log_softmax(logits, axis=axis), axis, -1)  # (..., C)
    counted = labels != IGNORE
    safe = np.where(counted, labels, 0)
    nll = -np.take_along_axis(log_p, safe[..., None], axis=-1)[..., 0]
    uniform = -np.mean(log_p, axis=-1)
    return np.where(counted, (1 - smoothing) * nll + smoothing * uniform, 0.0), counted


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_cross_entropy_matches_the_pytorch_formula_for_every_reduction(
    data, class_problem, seed, smoothing
):
    logits, axis = data.draw(class_problem)
    labels = _labels_for(logits, axis, seed, ignore_fraction=0.3)
    expected, counted = _reference_losses(logits, labels, axis, smoothing)
    options = {"label_smoothing": smoothing, "ignore_index": IGNORE}
    none = cross_entropy(logits, labels, axis, reduction="none", **options)
    np.testing.assert_allclose(none, expected, rtol=1e-13, atol=1e-15)
    total = cross_entropy(logits, labels, axis, reduction="sum", **options)
    assert total == pytest.approx(np.sum(expected), rel=1e-13, abs=1e-15)
    mean = cross_entropy(logits, labels, axis, reduction="mean", **options)
    count = np.count_nonzero(counted)
    assert mean == pytest.approx(np.sum(expected) / count if count else 0.0, rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_cross_entropy_grad_matches_finite_differences(
    data, class_problem, seed, reduction, smoothing, difference_atol
):
    logits, axis = data.draw(class_problem)
    labels = _labels_for(logits, axis, seed, ignore_fraction=0.3)
    options = {"reduction": reduction, "label_smoothing": smoothing, "ignore_index": IGNORE}

    def loss(z):  # for "none" the gradient is that of the sum of the per-position losses
        return np.sum(cross_entropy(z, labels, axis, **options))

    result = gradient_check(loss, logits, cross_entropy_grad(logits, labels, axis, **options),
                            rtol=1e-6, atol=difference_atol(loss(logits)))
    assert result.passed, str(result)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), smoothing=st.floats(0, 1))
def test_cross_entropy_grad_is_p_minus_the_smoothed_target(
    data, class_problem, seed, smoothing, reduction
):
    logits, axis = data.draw(class_problem)
    labels = _labels_for(logits, axis, seed, ignore_fraction=0.3)
    classes = logits.shape[axis]
    counted = (labels != IGNORE)[..., None]  # (..., 1)
    smoothed = (1 - smoothing) * _one_hot_last(labels, classes) + smoothing / classes * counted
    p = np.moveaxis(softmax(logits, axis=axis), axis, -1)
    expected = np.where(counted, p - smoothed, 0.0)  # (..., C)
    if reduction == "mean" and counted.any():
        expected /= np.count_nonzero(counted)
    grad = cross_entropy_grad(logits, labels, axis, reduction=reduction,
                              label_smoothing=smoothing, ignore_index=IGNORE)
    np.testing.assert_allclose(grad, np.moveaxis(expected, -1, axis), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_probability_targets_loss_and_gradient(
    data, class_problem, seed, reduction, smoothing, difference_atol
):
    logits, axis = data.draw(class_problem)
    target = softmax(np.random.default_rng(seed).standard_normal(logits.shape) * 3, axis=axis)
    options = {"reduction": reduction, "label_smoothing": smoothing}
    smoothed = (1 - smoothing) * target + smoothing / logits.shape[axis]
    per_position = -np.sum(smoothed * log_softmax(logits, axis=axis), axis=axis)
    np.testing.assert_allclose(
        cross_entropy(logits, target, axis, reduction="none", label_smoothing=smoothing),
        per_position, rtol=1e-13, atol=1e-15,
    )
    # "mean" for probability targets averages over every position.
    assert cross_entropy(logits, target, axis, reduction="mean", label_smoothing=smoothing) == (
        pytest.approx(np.mean(per_position), rel=1e-13)
    )
    grad = cross_entropy_grad(logits, target, axis, **options)
    loss = np.sum(per_position)
    assert gradient_check(lambda z: np.sum(cross_entropy(z, target, axis, **options)), logits,
                          grad, rtol=1e-6, atol=difference_atol(loss)).passed
    scale = per_position.size if reduction == "mean" else 1
    np.testing.assert_allclose(grad, (softmax(logits, axis=axis) - smoothed) / scale,
                               rtol=1e-12, atol=1e-15)


def test_every_target_ignored_gives_zero_loss_and_zero_gradient():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, np.nan, 0.0]])  # an ignored NaN row stays harmless
    labels = np.array([IGNORE, IGNORE])
    for reduction in REDUCTIONS:
        loss = cross_entropy(logits, labels, reduction=reduction, ignore_index=IGNORE)
        np.testing.assert_array_equal(loss, 0.0)
        grad = cross_entropy_grad(logits, labels, reduction=reduction, ignore_index=IGNORE)
        np.testing.assert_array_equal(grad, np.zeros_like(logits))


def test_mean_divides_by_the_number_of_counted_targets():
    logits = np.zeros((4, 2))  # every loss is log 2
    labels = np.array([0, IGNORE, 1, IGNORE])
    assert cross_entropy(logits, labels, ignore_index=IGNORE) == pytest.approx(math.log(2))
    assert cross_entropy(logits, labels, reduction="sum", ignore_index=IGNORE) == (
        pytest.approx(2 * math.log(2))
    )
    np.testing.assert_allclose(cross_entropy_grad(logits, labels, ignore_index=IGNORE),
                               [[-0.25, 0.25], [0, 0], [0.25, -0.25], [0, 0]])


def test_no_positions_gives_zero_mean():
    assert cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int)) == 0.0
    assert cross_entropy(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0


def test_zero_target_on_a_minus_infinity_logit_contributes_nothing():
    # 0 * log 0 = 0: a class that is impossible and not the target costs nothing.
    logits = np.array([-np.inf, 0.0, 1.0])
    assert cross_entropy(logits, 2) == pytest.approx(-float(log_softmax([0.0, 1.0])[1]))
    assert cross_entropy(logits, np.array([0.0, 0.5, 0.5])) == pytest.approx(
        -0.5 * float(np.sum(log_softmax([0.0, 1.0])))
    )
    expected_grad = [0.0, *(softmax([0.0, 1.0]) - [0.0, 1.0])]
    np.testing.assert_allclose(cross_entropy_grad(logits, 2), expected_grad)
    # With label smoothing the impossible class now has target mass eps / C: infinite loss.
    assert cross_entropy(logits, 2, label_smoothing=0.1) == np.inf


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [(np.float16, np.float16), (np.float32, np.float32), (np.float64, np.float64),
     (np.int64, np.float64)],
)
def test_loss_and_gradient_dtypes_follow_the_logits(dtype, expected):
    logits = np.array([[2, 0, 1], [0, 1, 0]], dtype=dtype)
    for reduction in REDUCTIONS:
        assert np.asarray(cross_entropy(logits, [0, 1], reduction=reduction)).dtype == expected
    assert cross_entropy_grad(logits, [0, 1]).dtype == expected
    assert cross_entropy(logits, np.full((2, 3), 1 / 3)).dtype == expected


def test_float16_loss_is_computed_in_float32():
    logits = np.array([[30.0, -30.0, 0.0]], dtype=np.float16)
    expected = -float(log_softmax(logits.astype(np.float64))[0, 1])  # about 60
    assert float(cross_entropy(logits, [1])) == pytest.approx(expected, rel=2.0**-10)


# --- entropy --------------------------------------------------------------------------------------


def test_entropy_treats_zero_log_zero_as_zero():
    assert entropy([1.0, 0.0, 0.0]) == 0.0
    assert entropy([0.5, 0.5, 0.0]) == pytest.approx(math.log(2))
    assert not np.signbit(entropy([0.0, 1.0]))  # 0.0, not -0.0


@given(classes=st.integers(1, 50))
def test_entropy_of_the_uniform_distribution_is_log_k(classes):
    assert entropy(np.full(classes, 1.0 / classes)) == pytest.approx(math.log(classes), abs=1e-14)


@given(data=st.data())
def test_entropy_is_between_zero_and_log_k(data, float64_logits_and_axis):
    x, axis = data.draw(float64_logits_and_axis)
    p = softmax(x, axis=axis)
    h = entropy(p, axis=axis)
    classes = p.size // np.size(h)
    assert np.all(h >= -1e-12)
    assert np.all(h <= math.log(classes) + 1e-12)


def test_entropy_edge_cases_and_dtypes():
    assert entropy([]) == 0.0
    np.testing.assert_array_equal(entropy(np.zeros((2, 0))), [0.0, 0.0])
    assert np.isnan(entropy([-0.1, 1.1]))  # not a probability vector
    assert np.isnan(entropy([np.nan, 1.0]))
    assert entropy(np.array([0.5, 0.5], dtype=np.float16)).dtype == np.float16
    assert entropy(np.array([1, 0])).dtype == np.float64
    assert entropy(np.full((2, 2), 0.25), axis=None) == pytest.approx(math.log(4))


# --- regression tests -----------------------------------------------------------------------------


def test_regression_cross_entropy_via_log_of_softmax_is_infinite():
    logits = np.array([0.0, 1000.0])
    with pytest.warns(RuntimeWarning):
        composed = -np.log(softmax(logits)[0])  # softmax underflows to exactly 0
    assert composed == np.inf
    assert cross_entropy(logits, 0) == pytest.approx(1000.0, rel=1e-15)


def test_regression_mean_over_fully_ignored_batch_is_zero_not_nan():
    # sum / count with count = 0 would be 0 / 0 = nan and poison a running average of losses.
    loss = cross_entropy(np.ones((3, 4)), np.full(3, IGNORE), ignore_index=IGNORE)
    assert loss == 0.0
