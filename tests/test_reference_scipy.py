"""Comparison with scipy.special and with 50-digit references, on random and extreme inputs.

The tolerance per output dtype is the ``TOLERANCES`` table of ``conftest.py`` (served by the
``tolerance`` fixture), where each entry is justified. References are computed in float64 from the
exact input values (scipy on ``x.astype(float64)``), or with 50 significant digits by ``decimal``.
"""

from decimal import Decimal, localcontext

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import scipy.special
from hypothesis import given
from hypothesis import strategies as st

from softmax_course import entropy, log_softmax, logsumexp, sigmoid, softmax

inf, nan = np.inf, np.nan

pytestmark = pytest.mark.filterwarnings("error")

PAIRS = [
    (softmax, scipy.special.softmax),
    (log_softmax, scipy.special.log_softmax),
    (logsumexp, scipy.special.logsumexp),
]
PAIR_IDS = ["softmax", "log_softmax", "logsumexp"]


def _decimal_log_softmax(row):
    """log_softmax of a 1-D float row with 50 significant digits (exact input values)."""
    with localcontext() as context:
        context.prec = 50
        values = [Decimal(float(v)) for v in row]
        top = max(values)
        log_total = sum((v - top).exp() for v in values).ln()
        return np.array([float(v - top - log_total) for v in values]), float(top + log_total)


def _extreme_rows(rng):
    """Logits around +-1000, where exp overflows (or underflows) without the shift."""
    noise = rng.standard_normal(40)
    return {
        "around +1000": 1000 + noise,
        "around -1000": -1000 + noise,
        "both signs": np.where(rng.random(40) < 0.5, -1000.0, 1000.0) + noise,
        "three far apart": np.array([1000.0, -1000.0, 0.0]),
        "one far above": np.array([1000.0, *noise[:5]]),
    }


EXTREME_ROWS = _extreme_rows(np.random.default_rng(1000))


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=PAIR_IDS)
@given(data=st.data())
def test_matches_scipy_in_float64_on_random_input(data, logits_and_axis, tolerance, ours, theirs):
    x, axis = data.draw(logits_and_axis)
    expected = theirs(x.astype(np.float64), axis=axis)
    result = ours(x, axis=axis)
    np.testing.assert_allclose(np.asarray(result, dtype=np.float64), expected,
                               **tolerance(x.dtype))


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_matches_scipy_in_the_same_dtype(data, logits_and_axis, tolerance, ours, theirs, dtype):
    # scipy computes float32 in float32 too: the two implementations agree, not just the limits.
    x, axis = data.draw(logits_and_axis)
    x = x.astype(dtype)
    result, expected = ours(x, axis=axis), theirs(x, axis=axis)
    assert np.asarray(result).dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(result, expected, **tolerance(dtype))


@pytest.mark.parametrize("name", list(EXTREME_ROWS))
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_extreme_logits_match_a_50_digit_reference_and_scipy(name, dtype, tolerance):
    x = EXTREME_ROWS[name].astype(dtype)
    exact_log_softmax, exact_logsumexp = _decimal_log_softmax(x)
    tol = tolerance(dtype)
    # The logits are within a factor 2 of each other or far apart, so x - m is exact (Sterbenz)
    # or its exp is 0: the TOLERANCES analysis holds although |x| = 1000.
    np.testing.assert_allclose(log_softmax(x).astype(np.float64), exact_log_softmax, **tol)
    np.testing.assert_allclose(softmax(x).astype(np.float64), np.exp(exact_log_softmax), **tol)
    assert float(logsumexp(x)) == pytest.approx(exact_logsumexp, rel=tol["rtol"])
    wide = x.astype(np.float64)
    np.testing.assert_allclose(log_softmax(x).astype(np.float64),
                               scipy.special.log_softmax(wide), **tol)
    np.testing.assert_allclose(softmax(x).astype(np.float64), scipy.special.softmax(wide), **tol)
    assert float(logsumexp(x)) == pytest.approx(scipy.special.logsumexp(wide), rel=tol["rtol"])


@given(data=st.data())
def test_random_rows_match_a_50_digit_reference(data, logits_and_axis, tolerance):
    x, _ = data.draw(logits_and_axis)
    row = x.reshape(-1)
    exact_log_softmax, exact_logsumexp = _decimal_log_softmax(row)
    tol = tolerance(x.dtype)
    np.testing.assert_allclose(log_softmax(row).astype(np.float64), exact_log_softmax, **tol)
    np.testing.assert_allclose(softmax(row).astype(np.float64), np.exp(exact_log_softmax), **tol)
    np.testing.assert_allclose(float(logsumexp(row)), exact_logsumexp, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_sigmoid_matches_expit(data, dtype, tolerance):
    x = data.draw(hnp.arrays(dtype, hnp.array_shapes(max_dims=2),
                             elements=st.floats(-1000, 1000, width=8 * np.dtype(dtype).itemsize)))
    result = sigmoid(x)
    assert result.dtype == dtype
    np.testing.assert_allclose(result, scipy.special.expit(x), **tolerance(dtype))


def test_sigmoid_matches_expit_at_the_extremes():
    x = np.array([-1000.0, -745.0, -709.0, -36.0, 0.0, 36.0, 709.0, 1000.0, np.inf, -np.inf])
    # At -745 the true value, 2.8e-324, lies between 0 and the smallest subnormal 4.9e-324:
    # sigmoid rounds it up (correctly), expit returns 0. Hence one subnormal spacing of atol.
    np.testing.assert_allclose(sigmoid(x), scipy.special.expit(x), rtol=1e-15,
                               atol=np.finfo(np.float64).smallest_subnormal)


@given(data=st.data())
def test_entropy_matches_entr_and_xlogy(data, float64_logits_and_axis, tolerance):
    x, axis = data.draw(float64_logits_and_axis)
    p = softmax(x, axis=axis, where=x > -40)  # some exact zeros: 0 log 0 must be 0
    h = entropy(p, axis=axis)
    np.testing.assert_allclose(h, np.sum(scipy.special.entr(p), axis=axis), **tolerance(p.dtype))
    np.testing.assert_allclose(h, -np.sum(scipy.special.xlogy(p, p), axis=axis),
                               **tolerance(p.dtype))


def test_regression_float16_softmax_computed_in_float16_is_several_ulps_off():
    # scipy.special.softmax keeps float16 input in float16: the shift, exp, the sum of 50 000 terms
    # and the division are each rounded to 11 bits. Ours computes in float32 and rounds once, so
    # every probability is the float64 answer correctly rounded (at most half a spacing off).
    # (The ~12% errors quoted for the smallest probabilities come from float16's subnormal range,
    # below 6.1e-5, where no float16 result can do better: both are equally off there.)
    x = np.random.default_rng(20180529).standard_normal(50_000).astype(np.float16)
    exact = scipy.special.softmax(x.astype(np.float64))
    spacing = np.spacing(exact.astype(np.float16)).astype(np.float64)

    def error_in_spacings(p):
        return np.abs(p.astype(np.float64) - exact) / spacing

    assert np.max(error_in_spacings(scipy.special.softmax(x))) > 1.5
    assert np.max(error_in_spacings(softmax(x))) <= 0.5 * (1 + 1e-3)
    assert abs(float(np.sum(softmax(x), dtype=np.float64)) - 1) < abs(
        float(np.sum(scipy.special.softmax(x), dtype=np.float64)) - 1
    )


# --- SciPy's conventions: scalar results, b= weights and return_sign= ----------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp", "sigmoid"])
def test_a_scalar_gives_a_numpy_scalar_like_scipy(name, dtype):
    ours = {"softmax": softmax, "log_softmax": log_softmax, "logsumexp": logsumexp,
            "sigmoid": sigmoid}[name]
    theirs = {"softmax": scipy.special.softmax, "log_softmax": scipy.special.log_softmax,
              "logsumexp": scipy.special.logsumexp, "sigmoid": scipy.special.expit}[name]
    value = dtype(3)
    result = ours(value)
    assert isinstance(result, np.generic) and not isinstance(result, np.ndarray)
    assert result.dtype == (np.float64 if dtype is np.int64 else dtype)
    np.testing.assert_allclose(float(result), float(theirs(np.float64(value))), rtol=1e-3)


@st.composite
def _weighted_problem(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    a = draw(hnp.arrays(np.float64, shape, elements=st.floats(-30, 30)))
    b = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-2.0, -1.0, -0.5, 0.0,
                                                                       0.5, 1.0, 3.0])))
    ndim = len(shape)
    axis = draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                          st.lists(st.integers(0, ndim - 1), min_size=1, unique=True).map(tuple)))
    return a, b, axis, draw(st.booleans())


@given(problem=_weighted_problem())
def test_weights_and_sign_match_scipy(problem):
    a, b, axis, keepdims = problem
    value, sign = logsumexp(a, axis=axis, keepdims=keepdims, b=b, return_sign=True)
    their_value, their_sign = scipy.special.logsumexp(a, axis=axis, keepdims=keepdims, b=b,
                                                       return_sign=True)
    assert np.shape(value) == np.shape(their_value)
    np.testing.assert_array_equal(sign, their_sign)
    # A sum whose terms nearly cancel is ill-conditioned: both results carry the absolute error
    # of the terms (1e-15 of the largest), so compare in the exponentiated scale.
    largest = scipy.special.logsumexp(a, axis=axis, keepdims=keepdims, b=np.abs(b))
    with np.errstate(invalid="ignore"):  # an empty sum: -inf - -inf on both sides
        np.testing.assert_allclose(np.exp(value - largest), np.exp(their_value - largest),
                                   rtol=1e-12, atol=1e-12, equal_nan=True)
    without_sign = logsumexp(a, axis=axis, keepdims=keepdims, b=b)
    np.testing.assert_array_equal(np.isnan(without_sign), np.isnan(value) | (sign < 0))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([1.0, 2.0], [1.0, -1.0]),  # negative: NaN without return_sign
        ([1.0, 1.0], [1.0, -1.0]),  # the maximal weights cancel: a sum of 0
        ([1.0, 1.0, 0.5], [1.0, -1.0, 1.0]),  # they cancel, the rest remains
        ([inf, 1.0], [0.0, 1.0]),  # a weight of 0 leaves out even an infinity
        ([1.0, 2.0], [0.0, 0.0]),  # nothing left
        ([inf, inf], [1.0, -1.0]),  # inf - inf
        ([-inf, 1.0], [1.0, -1.0]),
        ([-inf, -inf], [1.0, 1.0]),
        ([nan, 1.0], [1.0, 1.0]),
        ([0.0, -40.0], [1.0, 1.0]),
        ([3.0, 3.0], [2.0, 0.5]),
    ],
)
def test_weighted_edge_cases_match_scipy(a, b):
    value, sign = logsumexp(a, b=b, return_sign=True)
    their_value, their_sign = scipy.special.logsumexp(a, b=b, return_sign=True)
    np.testing.assert_array_equal([value, sign], [their_value, their_sign])
    np.testing.assert_array_equal(logsumexp(a, b=b), scipy.special.logsumexp(a, b=b))


def test_return_sign_without_weights():
    assert logsumexp([1.0, 2.0], return_sign=True) == scipy.special.logsumexp(
        [1.0, 2.0], return_sign=True)
