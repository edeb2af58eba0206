"""Properties and edge cases of logsumexp, softmax, log_softmax and naive_softmax.

Every test here runs with warnings turned into errors: the stable functions promise that no
RuntimeWarning escapes, on ordinary input and on every documented edge case.
"""

import fractions
import math
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from softmax_course import log_softmax, logsumexp, naive_softmax, softmax, stable

pytestmark = pytest.mark.filterwarnings("error")

inf, nan = np.inf, np.nan
LOG2 = math.log(2.0)


LOGIT_SCALE = 100.0  # |x - logsumexp(x)| <= 2 * 50 + log(125): absolute error scale of log-values


def _as64(array):
    return np.asarray(array, dtype=np.float64)


# --- properties over random shapes, axes and dtypes -----------------------------------------------


@given(data=st.data())
def test_softmax_is_a_distribution_with_the_shape_and_dtype_policy(
    data, logits_and_axis, tolerance, output_dtype
):
    x, axis = data.draw(logits_and_axis)
    p = softmax(x, axis=axis)
    assert p.shape == x.shape
    assert p.dtype == output_dtype(x.dtype)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(np.sum(p, axis=axis, dtype=np.float64), 1.0, **tolerance(x.dtype))


@given(data=st.data())
def test_log_softmax_is_non_positive_and_normalised(data, logits_and_axis, tolerance, output_dtype):
    x, axis = data.draw(logits_and_axis)
    log_p = log_softmax(x, axis=axis)
    assert log_p.shape == x.shape
    assert log_p.dtype == output_dtype(x.dtype)
    assert np.all(log_p <= 0)
    # logsumexp of a log-distribution is log 1 = 0; each log_p carries an absolute error of about
    # rtol * |log_p|, so the tolerance scales with the largest |log_p| in play.
    tol = tolerance(x.dtype)
    slack = tol["rtol"] * (1 + float(np.max(np.abs(_as64(log_p))))) + tol["atol"]
    np.testing.assert_allclose(logsumexp(_as64(log_p), axis=axis), 0.0, atol=slack)


@given(data=st.data())
def test_exp_of_log_softmax_is_softmax(data, logits_and_axis, tolerance):
    x, axis = data.draw(logits_and_axis)
    log_p = _as64(log_softmax(x, axis=axis))
    p = _as64(softmax(x, axis=axis))
    tol = tolerance(x.dtype)
    # An absolute error e in log_p is a relative error e in exp(log_p); e <= rtol |log_p| + atol.
    bound = 2 * p * (tol["rtol"] * (1 + np.abs(log_p)) + tol["atol"]) + tol["atol"]
    assert np.all(np.abs(np.exp(log_p) - p) <= bound)


@given(data=st.data())
def test_log_softmax_is_logits_minus_logsumexp(data, float64_logits_and_axis, tolerance):
    x, axis = data.draw(float64_logits_and_axis)
    expected = x - logsumexp(x, axis=axis, keepdims=True)
    tol = tolerance(x.dtype)
    np.testing.assert_allclose(log_softmax(x, axis=axis), expected, rtol=tol["rtol"],
                               atol=tol["rtol"] * LOGIT_SCALE)


@given(data=st.data(), shift_numerator=st.integers(-512, 512))
def test_shift_invariance_holds_to_rounding_and_exactly_for_log_softmax(
    data, dyadic_logits_and_axis, shift_numerator, tolerance
):
    x, axis = data.draw(dyadic_logits_and_axis)
    shift = x.dtype.type(shift_numerator / 64)
    moved = x + shift  # exact: see the dyadic_logits_and_axis fixture
    # softmax exponentiates x - c for a c chosen from the maximum (0 when nothing can overflow),
    # so both sides carry exp's own error, a few ulps each, on different exponents.
    max_ulp = 1 if x.dtype == np.float16 else 8  # float16 is computed in float32, rounded once
    np.testing.assert_array_max_ulp(softmax(moved, axis=axis), softmax(x, axis=axis), max_ulp)
    # log_softmax subtracts the maximum itself: x + c - max(x + c) == x - max(x) exactly, so
    # every later operation sees identical numbers.
    np.testing.assert_array_equal(log_softmax(moved, axis=axis), log_softmax(x, axis=axis))
    # logsumexp moves with the shift; the two sides are rounded at magnitudes up to |lse| + |c|.
    moved_lse = _as64(logsumexp(moved, axis=axis))
    lse = _as64(logsumexp(x, axis=axis))
    tol = tolerance(x.dtype)
    slack = tol["rtol"] * (np.abs(lse) + abs(float(shift)) + 1) + tol["atol"]
    assert np.all(np.abs(moved_lse - (lse + float(shift))) <= slack)


@given(data=st.data())
def test_axis_none_and_tuples_mean_one_distribution_over_those_axes(
    data, float64_logits_and_axis, tolerance
):
    x, axis = data.draw(float64_logits_and_axis)
    axes = tuple(range(x.ndim)) if axis is None else np.atleast_1d(axis) % x.ndim
    axes = tuple(int(a) for a in axes)
    kept = [a for a in range(x.ndim) if a not in axes]
    # Reference: move the reduced axes last, flatten them into one, softmax over it, undo.
    moved = np.moveaxis(x, axes, range(x.ndim - len(axes), x.ndim))
    flat = moved.reshape([x.shape[a] for a in kept] + [-1])
    expected = np.moveaxis(
        softmax(flat, axis=-1).reshape(moved.shape), range(x.ndim - len(axes), x.ndim), axes
    )
    np.testing.assert_allclose(softmax(x, axis=axis), expected, **tolerance(x.dtype))


@given(data=st.data(), mask_seed=st.integers(0, 2**32 - 1))
def test_where_equals_setting_masked_logits_to_minus_infinity(
    data, float64_logits_and_axis, mask_seed, tolerance
):
    x, axis = data.draw(float64_logits_and_axis)
    mask = np.random.default_rng(mask_seed).random(x.shape) < 0.7
    blocked = np.where(mask, x, -inf)
    # Bit for bit: chapter 7 checks a boolean mask against an additive -inf mask with
    # assert_array_equal (a masked softmax once took another shift than the -inf one).
    np.testing.assert_array_equal(softmax(x, axis=axis, where=mask), softmax(blocked, axis=axis))
    np.testing.assert_allclose(log_softmax(x, axis=axis, where=mask),
                               log_softmax(blocked, axis=axis), **tolerance(x.dtype))
    np.testing.assert_allclose(logsumexp(x, axis=axis, where=mask),
                               logsumexp(blocked, axis=axis), **tolerance(x.dtype))
    assert np.all(softmax(x, axis=axis, where=mask)[~mask] == 0)
    assert np.all(log_softmax(x, axis=axis, where=mask)[~mask] == -inf)


def test_where_broadcasts_a_mask_over_rows():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]])
    keep_first_two = np.array([True, True, False])
    expected = np.stack([softmax(row[:2]) for row in x])
    p = softmax(x, where=keep_first_two)
    np.testing.assert_allclose(p[:, :2], expected, rtol=1e-15)
    np.testing.assert_array_equal(p[:, 2], [0.0, 0.0])


@given(data=st.data())
def test_naive_softmax_agrees_with_softmax_on_moderate_logits(
    data, float64_logits_and_axis, tolerance
):
    # The reference implementation beside the fast one: |x| <= 50 cannot overflow exp.
    x, axis = data.draw(float64_logits_and_axis)
    np.testing.assert_allclose(naive_softmax(x, axis=axis), softmax(x, axis=axis),
                               **tolerance(x.dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int64])
def test_the_input_array_is_never_modified(dtype):
    x = np.array([[3.0, 1.0, -2.0], [0.5, 0.5, 7.0]]).astype(dtype)
    original = x.copy()
    softmax(x)
    log_softmax(x, temperature=0.5)
    logsumexp(x, where=np.array([True, False, True]))
    softmax(x, temperature=3.0, where=np.array([[True, True, False], [False, True, True]]))
    np.testing.assert_array_equal(x, original)


# --- temperature --------------------------------------------------------------------------------


def test_temperature_to_zero_splits_the_mass_between_tied_maxima():
    np.testing.assert_array_equal(softmax([1.0, 3.0, 3.0], temperature=1e-3), [0.0, 0.5, 0.5])
    np.testing.assert_allclose(log_softmax([1.0, 3.0, 3.0], temperature=1e-3),
                               [-2000.0 - LOG2, -LOG2, -LOG2], rtol=1e-15)


@given(
    x=hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                 elements=st.integers(-3, 3)),
    axis=st.sampled_from([-1, 0, None]),
)
def test_temperature_to_zero_gives_the_uniform_distribution_on_the_argmax(x, axis):
    # Integer logits differ by at least 1, so at T = 1e-3 every loser has weight exp(-1000) = 0.
    is_max = x == np.max(x, axis=axis, keepdims=True)
    expected = is_max / np.sum(is_max, axis=axis, keepdims=True)
    np.testing.assert_allclose(softmax(x, axis=axis, temperature=1e-3), expected, rtol=1e-15)


@given(data=st.data())
def test_temperature_to_infinity_gives_the_uniform_distribution(data, float64_logits_and_axis):
    x, axis = data.draw(float64_logits_and_axis)
    size_of_slice = x.size // np.sum(np.ones_like(x), axis=axis, keepdims=True).size
    # exp((x - m) / T) = 1 - O(100 / T): at T = 1e12 every entry is 1/K to about 1e-10.
    np.testing.assert_allclose(softmax(x, axis=axis, temperature=1e12), 1.0 / size_of_slice,
                               rtol=1e-9)


@pytest.mark.parametrize("temperature", [0.25, 0.5, 2.0, 10.0])
@given(data=st.data())
def test_temperature_divides_the_logits(data, float64_logits_and_axis, temperature):
    x, axis = data.draw(float64_logits_and_axis)
    # |x / T| <= 200: the error analysis of TOLERANCES scaled by 4.
    np.testing.assert_allclose(softmax(x, axis=axis, temperature=temperature),
                               softmax(x / temperature, axis=axis), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(log_softmax(x, axis=axis, temperature=temperature),
                               log_softmax(x / temperature, axis=axis), rtol=1e-12, atol=1e-12)


# --- edge cases from the API decisions ------------------------------------------------------------


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4), (2, 0, 3)])
@pytest.mark.parametrize("axis", [-1, 0, None])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int64])
def test_empty_arrays(shape, axis, dtype, output_dtype):
    x = np.zeros(shape, dtype=dtype)
    for function in (softmax, log_softmax):
        result = function(x, axis=axis)
        assert result.shape == shape
        assert result.dtype == output_dtype(dtype)
    # logsumexp of an empty slice is log(0) = -inf: the sum of no terms is 0.
    expected_shape = np.sum(x, axis=axis).shape
    result = logsumexp(x, axis=axis)
    assert np.shape(result) == expected_shape
    assert result.dtype == output_dtype(dtype)
    assert np.all(result == -inf)
    assert logsumexp(x, axis=axis, keepdims=True).shape == np.sum(x, axis=axis, keepdims=True).shape


def test_positive_infinity_entries_share_the_mass_equally():
    x = np.array([[inf, 0.0, inf, -inf], [1.0, inf, 2.0, 3.0]])
    np.testing.assert_array_equal(softmax(x), [[0.5, 0.0, 0.5, 0.0], [0.0, 1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(log_softmax(x),
                                  [[-LOG2, -inf, -LOG2, -inf], [-inf, 0.0, -inf, -inf]])
    np.testing.assert_array_equal(logsumexp(x), [inf, inf])


def test_positive_infinity_under_a_temperature_and_a_mask():
    x = np.array([inf, inf, inf, 5.0])
    mask = np.array([True, False, True, True])
    np.testing.assert_array_equal(softmax(x, temperature=7.0, where=mask), [0.5, 0.0, 0.5, 0.0])
    np.testing.assert_array_equal(softmax(x, where=np.array([False, False, False, True])),
                                  [0.0, 0.0, 0.0, 1.0])
    # 1e300 / 1e-10 overflows to inf, but it is not an infinite logit: it gets no share.
    np.testing.assert_array_equal(softmax([inf, 1e300], temperature=1e-10), [1.0, 0.0])


def test_a_positive_infinity_slice_beside_an_all_negative_infinity_slice():
    # The fast path's finite test adds the slice maxima: inf + -inf must not warn.
    x = np.array([[inf, 0.0], [-inf, -inf]])
    np.testing.assert_array_equal(softmax(x), [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(log_softmax(x), [[0.0, -inf], [-inf, -inf]])
    np.testing.assert_array_equal(logsumexp(x), [inf, -inf])


def test_edge_cases_even_when_numpy_raises_on_every_floating_point_error():
    x = np.array([[inf, 0.0, inf], [-inf, -inf, -inf], [1e300, -1e300, 0.0], [0.0, -1000.0, 3.0]])
    with np.errstate(all="raise"):
        p = softmax(x, temperature=1e-10)
        log_p = log_softmax(x)
        lse = logsumexp(x, where=np.array([True, False, True]))
    np.testing.assert_array_equal(p[:3], [[0.5, 0.0, 0.5], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    assert log_p[3, 1] == pytest.approx(-1003.0 - math.log1p(math.exp(-3.0)), rel=1e-15)
    assert lse[1] == -inf


def test_negative_infinity_entries_get_zero():
    x = np.array([-inf, 0.0, 0.0])
    np.testing.assert_array_equal(softmax(x), [0.0, 0.5, 0.5])
    np.testing.assert_array_equal(log_softmax(x), [-inf, -LOG2, -LOG2])
    assert logsumexp(x) == pytest.approx(LOG2, rel=1e-15)


def test_all_negative_infinity_slice_gives_zeros_and_minus_infinity():
    x = np.array([[-inf, -inf, -inf], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(softmax(x), [[0.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_array_equal(log_softmax(x)[0], [-inf, -inf, -inf])
    np.testing.assert_array_equal(logsumexp(x), [-inf, math.log(3.0)])


def test_all_masked_slice_gives_zeros_and_minus_infinity():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    mask = np.array([[False, False], [True, True]])
    np.testing.assert_array_equal(softmax(x, where=mask)[0], [0.0, 0.0])
    np.testing.assert_array_equal(log_softmax(x, where=mask)[0], [-inf, -inf])
    assert logsumexp(x, where=mask)[0] == -inf
    np.testing.assert_allclose(softmax(x, where=mask)[1], softmax(x[1]), rtol=1e-15)


def test_nan_poisons_its_whole_slice_and_only_it():
    x = np.array([[nan, 0.0, 1.0], [0.0, 0.0, 0.0]])
    for function in (softmax, log_softmax):
        result = function(x)
        assert np.all(np.isnan(result[0]))
        assert not np.any(np.isnan(result[1]))
    result = logsumexp(x)
    assert np.isnan(result[0]) and result[1] == pytest.approx(math.log(3.0), rel=1e-15)
    assert np.all(np.isnan(softmax(x, axis=None)))  # one slice: the whole array


def test_nan_in_a_masked_entry_is_ignored():
    x = np.array([nan, 0.0, 1.0])
    mask = np.array([False, True, True])
    np.testing.assert_allclose(softmax(x, where=mask), [0.0, *softmax([0.0, 1.0])], rtol=1e-15)
    np.testing.assert_allclose(logsumexp(x, where=mask), logsumexp([0.0, 1.0]), rtol=1e-15)
    assert log_softmax(x, where=mask)[0] == -inf


def test_scalar_input_with_axis_none():
    assert softmax(4.0, axis=None) == 1.0
    assert log_softmax(np.float32(4.0), axis=None) == 0.0
    assert logsumexp(-2.5, axis=None) == -2.5
    assert softmax(-inf, axis=None) == 0.0  # an all -inf slice of one entry


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.bool_, np.float64),
        (np.int8, np.float64),
        (np.uint8, np.float64),
        (np.int32, np.float64),
        (np.int64, np.float64),
        (np.float16, np.float16),
        (np.float32, np.float32),
        (np.float64, np.float64),
    ],
)
def test_dtype_policy(dtype, expected):
    x = np.array([[1, 0, 1], [0, 1, 1]], dtype=dtype)
    for function in (softmax, log_softmax, naive_softmax):
        assert function(x).dtype == expected
    assert logsumexp(x).dtype == expected
    assert logsumexp(x, axis=None).dtype == expected


def test_float16_computes_in_float32_so_50_000_logits_stay_a_distribution():
    rng = np.random.default_rng(20180529)
    x = rng.standard_normal(50_000).astype(np.float16)
    p = softmax(x)
    assert p.dtype == np.float16
    exact = softmax(x.astype(np.float64))  # the same logits, float64 throughout
    # float16 resolution at 1 is 2**-11 below and 2**-10 above.
    assert abs(float(np.sum(p, dtype=np.float64)) - 1.0) <= 2.0**-11
    # Every probability, however small, is the float64 answer correctly rounded to float16: off by
    # at most half a float16 spacing at its magnitude (subnormal ones included).
    half_spacing = np.spacing(exact.astype(np.float16)).astype(np.float64) / 2
    assert np.all(np.abs(_as64(p) - exact) <= half_spacing * (1 + 1e-3))
    smallest = exact <= np.quantile(exact, 0.01)
    assert np.all(p[smallest] > 0)


# --- regression tests, named after the bug each one pins ------------------------------------------


def test_regression_naive_softmax_overflows_to_nan():
    with pytest.warns(RuntimeWarning):
        naive = naive_softmax([1000.0, 1001.0])  # exp(1000) = inf, inf / inf = nan
    assert np.all(np.isnan(naive))
    np.testing.assert_allclose(softmax([1000.0, 1001.0]), softmax([0.0, 1.0]), rtol=1e-15)


def test_regression_naive_softmax_underflows_to_nan():
    with pytest.warns(RuntimeWarning):
        naive = naive_softmax([-1000.0, -1000.0])  # exp(-1000) = 0, 0 / 0 = nan
    assert np.all(np.isnan(naive))
    np.testing.assert_array_equal(softmax([-1000.0, -1000.0]), [0.5, 0.5])


def test_regression_float32_naive_softmax_overflows_near_89():
    # float32 exp overflows above about 88.72, long before float64's 709.78.
    with pytest.warns(RuntimeWarning):
        naive = naive_softmax(np.array([89.0, 0.0], dtype=np.float32))
    assert np.isnan(naive[0])
    assert softmax(np.array([89.0, 0.0], dtype=np.float32))[0] == pytest.approx(1.0)


def test_regression_log_of_softmax_underflows_to_minus_infinity():
    with pytest.warns(RuntimeWarning):
        composed = np.log(softmax([0.0, -1000.0]))  # softmax gives exactly 0 for the second
    assert composed[1] == -inf
    np.testing.assert_allclose(log_softmax([0.0, -1000.0]), [0.0, -1000.0], rtol=1e-15)


def test_regression_all_masked_slice_is_zero_not_nan():
    # Subtracting the max of an empty slice computes -inf - (-inf) = nan unless guarded.
    p = softmax(np.zeros((2, 3)), where=np.array([[False] * 3, [True] * 3]))
    assert not np.any(np.isnan(p))
    np.testing.assert_array_equal(p[0], 0.0)


def test_regression_positive_infinity_logit_is_not_nan():
    # inf - max = inf - inf = nan in the textbook shift; the limit is a one-hot vector.
    np.testing.assert_array_equal(softmax([inf, 0.0]), [1.0, 0.0])


def test_regression_large_logits_over_a_small_temperature_do_not_tie():
    # Dividing first, x / T overflows both logits to inf and they would share the mass; shifting
    # first, (x - m) / T = [-inf, 0] keeps the true limit.
    np.testing.assert_array_equal(softmax([1e300, 2e300], temperature=1e-10), [0.0, 1.0])


# 50-digit values of the examples below (mpmath): log(1 + e^-40), and log(1 + e^-40 + e^-40)
# for a tie at the top beside the small term.
LOG1P_EXP_MINUS_40 = 4.248354255291589e-18
LOG1P_TWO_EXP_MINUS_40 = 8.496708510583178e-18


def test_regression_logsumexp_near_zero_keeps_its_relative_accuracy():
    # SciPy's gh-18295: m + log(1 + tiny) rounded the tiny term away and returned 0.0.
    np.testing.assert_allclose(logsumexp([0.0, -40.0]), LOG1P_EXP_MINUS_40, rtol=4e-16)
    np.testing.assert_allclose(logsumexp([-40.0, 0.0, -40.0]), LOG1P_TWO_EXP_MINUS_40,
                               rtol=4e-16)
    np.testing.assert_allclose(logsumexp(np.float32([0.0, -40.0])), LOG1P_EXP_MINUS_40,
                               rtol=4e-7)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: logsumexp(x, where=np.ones(x.shape, bool)),  # the masked path
        lambda x: logsumexp(x[None, :], axis=None),  # several axes
        lambda x: logsumexp(np.concatenate([x, [-np.inf]])),  # -inf entries
        lambda x: -log_softmax(x)[0],  # the top log-probability is -logsumexp(x - max)
        lambda x: -log_softmax(x, where=np.ones(x.shape, bool))[0],
        lambda x: -log_softmax(2 * x, temperature=2.0)[0],
    ],
    ids=["where", "axis None", "minus infinity", "log_softmax", "log_softmax where",
         "log_softmax temperature"],
)
def test_regression_log_normalizer_near_zero_on_every_path(call):
    np.testing.assert_allclose(call(np.array([0.0, -40.0])), LOG1P_EXP_MINUS_40, rtol=4e-16)


def test_ties_at_the_top_count_once_each():
    np.testing.assert_allclose(logsumexp([3.0, 3.0, 3.0]), 3.0 + np.log(3.0), rtol=1e-16)
    np.testing.assert_allclose(logsumexp([[3.0, 3.0], [3.0, 3.0]], axis=None),
                               3.0 + np.log(4.0), rtol=1e-16)
    np.testing.assert_allclose(log_softmax([1.0, 1.0]), -np.log([2.0, 2.0]), rtol=1e-16)


def test_a_scalar_with_the_default_axis_is_one_distribution_of_one_entry():
    for function, expected in ((softmax, 1.0), (log_softmax, 0.0), (logsumexp, 2.5),
                               (naive_softmax, 1.0)):
        result = function(2.5)
        assert result == expected and isinstance(result, np.float64), function.__name__


def _is_exact_difference(x: float, m: float) -> bool:
    return fractions.Fraction(x) - fractions.Fraction(m) == fractions.Fraction(x - m)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_maximum_is_subtracted_only_where_that_is_exact(dtype):
    # The rare paths of softmax's shift (a maximum below 0 or near the overflow limit) use c = m
    # when _subtracting_the_maximum_is_exact says so: then x - m must be exact for every logit
    # whose weight exp(x - m) does not underflow to 0. Full-precision logits, so that most
    # differences round unless a rule makes them exact.
    info = np.finfo(dtype)
    rng = np.random.default_rng(7)
    verdicts = set()
    for top in (-1.0, -7.5, -300.0, float(np.log(info.max)) + 2.0, float(info.max) / 4):
        for spread in (0.5, 3.0, 40.0, abs(top) * 0.75, abs(top) * 3):
            for _ in range(20):
                logits = rng.uniform(top - spread, top, 6).astype(dtype)
                x_max, x_min = logits.max(keepdims=True), logits.min(keepdims=True)
                exact = stable._subtracting_the_maximum_is_exact(x_max, x_min).item()
                verdicts.add(exact)
                m = float(x_max[0])
                counted = [float(x) for x in logits if float(x) - m > -stable._exp_underflow(dtype)]
                if exact:
                    assert all(_is_exact_difference(x, m) for x in counted), (logits, m)
    assert verdicts == {True, False}


@pytest.fixture(params=["small array", "lossless shift"])
def softmax_path(request, monkeypatch):
    """Runs a test through both ways softmax computes with T = 1: the maximum subtracted exactly
    (arrays below stable._EXACT_SHIFT_BELOW elements) and the lossless shift (larger arrays),
    on the same small inputs."""
    if request.param == "lossless shift":
        monkeypatch.setattr(stable, "_EXACT_SHIFT_BELOW", 0)
    return request.param


def test_regression_tied_negative_logits_give_the_exact_uniform_distribution(softmax_path):
    # Shifting [-7.5] * 5 by the integer ceil(-7.5) = -7 exponentiated -0.5 five times and
    # divided by a rounded sum; x - m is exact here, so every weight is exactly 1.
    for dtype in (np.float32, np.float64):
        assert np.all(softmax(np.full(5, -7.5, dtype)) == dtype(0.2))


def test_regression_near_the_overflow_limit_the_top_weight_is_exactly_one(softmax_path):
    # Logits within a factor 2 of each other above log(largest float): x - m is exact (Sterbenz),
    # so softmax subtracts m itself, as SciPy does. The lossless shift then agrees with SciPy's
    # method bit for bit; a small array's normalizer is summed in long double, which rounds the
    # sum once where long double is wider.
    x = np.array([714.0, 706.25, 709.125, 713.5])
    weights = np.exp(x - x.max())
    wide_sum = softmax_path == "small array" and np.finfo(np.longdouble).nmant > 52
    normalizer = math.fsum(weights) if wide_sum else weights.sum()
    np.testing.assert_array_equal(softmax(x), weights / normalizer)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_batch_shifts_every_row_as_it_would_shift_that_row_alone(dtype, softmax_path):
    # One row per rule of _lossless_shift: c = m (ties below 0, near the overflow limit), an
    # integer below 0, 0, an integer above the limit, and c = m at a quarter of the largest float.
    largest = float(np.finfo(dtype).max)
    rows = np.array([
        [-7.5] * 5,
        [88.5, 86.25, 87.125, 88.25, 87.0] if dtype == np.float32 else
        [714.0, 706.25, 709.125, 713.5, 710.0],
        [0.3, -1.2, 2.5, 0.0, 1.1],
        [-300.5, -301.0, -310.25, -300.75, -1000.0],
        [largest / 4, largest / 5, largest / 8, 1.0, -largest / 4],
        [200.0, 1.0, 2.0, 3.0, 199.0],
    ], dtype=dtype)
    batch = softmax(rows)
    np.testing.assert_array_equal(batch, np.stack([softmax(row) for row in rows]))
    np.testing.assert_allclose(batch.sum(axis=1), 1.0, rtol=4 * np.finfo(dtype).eps)


SMALL_ARRAY_EDGE_CASES = [
    ([0.0, -np.inf, 1.0], -1, None),  # a -inf logit: weight 0, nothing to add back
    ([1.0, np.inf, 2.0, np.nan], -1, [True, False, True, False]),  # masked +inf and NaN
    ([[3.0, -2.0], [0.5, 0.5]], (0, 1), None),  # one distribution over two axes
    ([[3.0, -2.0, 7.25], [0.5, 0.5, -1e3]], 0, None),
    ([[-7.5, -7.5, -8.0], [30.0, 29.0, -30.0]], -1, [[True, True, False], [True, True, True]]),
]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble])
@pytest.mark.parametrize(("logits", "axis", "where"), SMALL_ARRAY_EDGE_CASES)
def test_small_arrays_meet_every_edge_case_as_the_lossless_shift_does(dtype, logits, axis, where,
                                                                       monkeypatch):
    x = np.array(logits, dtype=dtype)
    small = softmax(x, axis=axis, where=where)
    monkeypatch.setattr(stable, "_EXACT_SHIFT_BELOW", 0)
    lossless = softmax(x, axis=axis, where=where)
    assert small.dtype == lossless.dtype == np.result_type(dtype, np.float16)
    assert np.array_equal(small == 0, lossless == 0)
    np.testing.assert_allclose(small, lossless, rtol=8 * np.finfo(small.dtype).eps, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_spread_wider_than_the_float_range_gives_the_limit_in_a_small_array(dtype):
    # x - m overflows to -inf: TwoSum's error is then NaN, and the weight must stay 0.
    largest = np.finfo(dtype).max
    np.testing.assert_array_equal(softmax(np.array([largest, -largest, 0.0], dtype)),
                                  np.array([1.0, 0.0, 0.0], dtype))


def test_regression_float32_ties_are_rounded_once():
    # Ten logits tied at 3.25 above ninety others: the lossless shift (c = 0) gave the tied
    # weights e^3.25 float32 exp's error, which went into the normalizer: 3.9 ulps, where SciPy's
    # shift by the maximum has 2.7. A small float32 array is now computed in float64 and rounded
    # once, so each probability is the float32 nearest the float64 one.
    rng = np.random.default_rng(3)
    x = np.concatenate([np.full(10, 3.25), 2.25 - 3 * rng.random(90)]).astype(np.float32)
    in_float64 = softmax(x.astype(np.float64))
    np.testing.assert_array_equal(softmax(x), in_float64.astype(np.float32))


def test_regression_a_small_float64_array_keeps_its_largest_weight_exactly_one():
    # One logit 3.5 above 99 logits at 6 to 9 below it: summed in float64, the normalizer (just
    # above 1) collected 1.6 ulps of rounding, 4.4 ulps in a probability against an exact
    # reference. With the shift by the maximum made exact and the sum rounded once, each
    # probability is within 2 ulps of the exact one (mpmath, 40 digits).
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    rng = np.random.default_rng(11)
    x = np.concatenate([[3.5], 3.5 - 6.0 - 3.0 * rng.random(99)])
    weights = [mpmath.exp(mpmath.mpf(float(value)) - mpmath.mpf(3.5)) for value in x]
    total = mpmath.fsum(weights)
    expected = np.array([float(weight / total) for weight in weights])
    np.testing.assert_array_max_ulp(softmax(x), expected, maxulp=2)


def test_regression_long_double_logits_below_zero_warn_of_nothing():
    # The underflow margin was log(smallest long double subnormal) taken in float64, where that
    # number is 0: log(0) warned of a division by zero and made the margin infinite.
    stable._exp_underflow.cache_clear()  # computed afresh, under the filter below
    x = np.full(2000, -7.5, dtype=np.longdouble)  # a negative maximum: the rule that needs it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probabilities = softmax(x)
    assert np.all(probabilities == np.longdouble(1) / 2000)


@pytest.mark.parametrize("on_a_masked_path", [False, True])
def test_regression_tied_maxima_do_not_take_the_c_librarys_log1p_error(on_a_masked_path):
    # glibc's log1p(2) is 0.59 ulp from log 3 and rounds to the double below the nearest one;
    # NumPy calls it on CPUs without AVX-512, so three tied maxima gave log 3 one ulp low there.
    # Now the error is that of the C library's log (glibc: below 0.52 ulp).
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    for ties in range(2, 40):
        x = np.zeros(ties)
        where = np.ones(ties, bool) if on_a_masked_path else None
        exact = mpmath.log(ties)
        for got in (logsumexp(x, where=where), -log_softmax(x, where=where)[0]):
            error = abs(mpmath.mpf(float(got)) - exact) / np.spacing(float(exact))
            assert error <= 0.55, (ties, float(error))


def test_log_one_plus_is_within_an_ulp_on_both_sides_of_one():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    rng = np.random.default_rng(7)
    s = np.concatenate([[0.0, 1e-300, 1e-18, 0.5, 1.0, 1.5, 2.0, 1e6, 1e300],
                        rng.uniform(0, 4, 500), 10.0 ** rng.uniform(-20, 20, 500)])
    result = stable._log_one_plus(s)
    for value, got in zip(s, result, strict=True):
        exact = mpmath.log1p(mpmath.mpf(float(value)))
        assert abs(mpmath.mpf(float(got)) - exact) <= np.spacing(float(exact)), value
    with np.errstate(divide="ignore"):  # log1p(-1): the callers silence it the same way
        edge = stable._log_one_plus(np.array([-1.0, np.nan]))
    np.testing.assert_array_equal(edge, [-np.inf, np.nan])  # an empty sum, a NaN slice
