"""Tests of OnlineSoftmaxState and of online_softmax against the two-pass softmax."""

from __future__ import annotations

import dataclasses
import itertools
import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.exceptions import AxisError

from softmax_course import OnlineSoftmaxState, logsumexp, online_softmax, softmax

pytestmark = pytest.mark.filterwarnings("error")  # every edge case must be warning-free

INF, NAN = math.inf, math.nan


def _exp_shifted_scalar(x: float, m: float) -> float:
    """``exp(x - m)`` with the edge-case limits of ``_numerics.exp_shifted``, for one float.

    Written separately, in plain Python, so that the reference does not share the code it
    checks."""
    if m == -math.inf:
        return 0.0
    if x == m == math.inf:
        return 1.0
    return math.exp(x - m)


def _online_softmax_reference(x):
    """Algorithm 3 of Milakov & Gimelshein (2018), one element at a time: the readable version.

    ``x`` is a 1-D sequence of floats; returns a list of floats. The tests below check the
    vectorised ``online_softmax`` against it.
    """
    values = [float(value) for value in x]
    if any(math.isnan(value) for value in values):
        return [math.nan] * len(values)  # a NaN poisons the whole slice, as in softmax
    running_max, normalizer = -math.inf, 0.0
    # pass 1: m_j = max(m_{j-1}, x_j) and d_j = d_{j-1} e^{m_{j-1} - m_j} + e^{x_j - m_j}
    for value in values:
        new_max = max(running_max, value)
        normalizer = (normalizer * _exp_shifted_scalar(running_max, new_max)
                      + _exp_shifted_scalar(value, new_max))
        running_max = new_max
    if normalizer == 0.0:
        return [0.0] * len(values)  # nothing but -inf: nothing to normalise
    return [_exp_shifted_scalar(value, running_max) / normalizer for value in values]  # pass 2

# Named 1-D inputs covering the edge cases of the API: every block split must handle them.
EDGE_CASES = {
    "ordinary": [0.5, -1.0, 3.0, 2.0, -0.25, 1.5, 0.0],
    "huge logits": [1000.0, 999.0, -1000.0, 1001.0, 998.5],
    "a -inf block": [1.0, -INF, -INF, -INF, -INF, 2.0, 0.5],
    "leading -inf": [-INF, -INF, -INF, 3.0],
    "all -inf": [-INF, -INF, -INF, -INF, -INF],
    "one +inf": [1.0, INF, 2.0, -INF],
    "two +inf": [INF, 0.0, -3.0, INF, 5.0],
    "all +inf": [INF, INF, INF],
    "NaN": [1.0, 2.0, NAN, 3.0],
    "NaN after +inf": [INF, 1.0, NAN],
    "single": [4.0],
}


def _assert_same(actual, desired, rtol=1e-13, atol=1e-15):
    """Equal up to rounding, with NaN in the same places."""
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol, equal_nan=True)


# --------------------------------------------------------------------------------------------------
# online_softmax == softmax
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EDGE_CASES)
def test_online_softmax_equals_softmax_for_every_block_split(name):
    x = np.array(EDGE_CASES[name])  # (K,)
    expected = softmax(x)
    for block_size in range(1, x.size + 2):  # 1 .. K+1: every split, down to one element a block
        _assert_same(online_softmax(x, block_size=block_size), expected)


@pytest.mark.parametrize("name", EDGE_CASES)
def test_reference_loop_agrees_with_vectorised_version(name):
    x = EDGE_CASES[name]
    _assert_same(_online_softmax_reference(x), online_softmax(x, block_size=2))


@given(values=st.lists(st.one_of(st.floats(-50, 50), st.sampled_from([-INF, INF, NAN])),
                       min_size=1, max_size=12))
def test_reference_loop_agrees_with_softmax_on_random_input(values):
    _assert_same(_online_softmax_reference(values), softmax(np.array(values)))


@pytest.mark.parametrize("axis", [0, 1, -1, (0, 2), (2, 0), None, ()])
def test_online_softmax_equals_softmax_along_axis_variants(axis):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4, 5)) * 4  # (3, 4, 5)
    x[1, :, 2] = -INF  # an all -inf fibre along axis 1
    x[0, 0, :] = -INF  # and one along axis 2
    x[2, 3, 4] = INF
    expected = softmax(x, axis=axis)
    for block_size in (1, 2, 3, 7, 60, 61):
        _assert_same(online_softmax(x, axis=axis, block_size=block_size), expected)


@given(data=st.data(), block_size=st.integers(1, 9), special=st.booleans(), masked=st.booleans())
def test_online_softmax_equals_softmax_on_random_arrays(
    data, logits_and_axis, tolerance, output_dtype, block_size, special, masked
):
    x, axis = data.draw(logits_and_axis)
    if special and x.dtype.kind == "f":
        # sprinkle -inf, +inf and NaN over the logits
        codes = data.draw(hnp.arrays(np.int8, x.shape, elements=st.integers(0, 9)))
        x = np.where(codes == 0, -INF, np.where(codes == 1, INF, x)).astype(x.dtype)
        x[codes == 2] = NAN
    where = data.draw(hnp.arrays(np.bool_, x.shape)) if masked else None
    result = online_softmax(x, axis=axis, block_size=block_size, where=where)
    assert result.dtype == output_dtype(x.dtype)
    assert result.shape == x.shape
    np.testing.assert_allclose(result, softmax(x, axis=axis, where=where), equal_nan=True,
                               **tolerance(x.dtype))


def test_empty_input_gives_empty_output():
    for shape, axis in [((0,), -1), ((3, 0), -1), ((0, 4), 0), ((2, 0, 3), None)]:
        result = online_softmax(np.zeros(shape), axis=axis, block_size=2)
        assert result.shape == shape
        assert result.dtype == np.float64


def test_all_masked_or_all_minus_inf_slices_give_zeros():
    x = np.array([[1.0, 2.0, 3.0], [-INF, -INF, -INF], [4.0, 5.0, 6.0]])  # (3, 3)
    where = np.array([[True, True, True], [True, True, True], [False, False, False]])
    result = online_softmax(x, block_size=2, where=where)
    np.testing.assert_array_equal(result[1:], 0.0)
    _assert_same(result[0].sum(), 1.0)


def test_masked_nan_is_ignored_but_unmasked_nan_poisons_the_slice():
    x = np.array([[1.0, NAN, 2.0], [1.0, NAN, 2.0]])  # (2, 3)
    where = np.array([[True, False, True], [True, True, False]])
    result = online_softmax(x, block_size=1, where=where)
    _assert_same(result[0], softmax([1.0, -INF, 2.0]))
    assert np.isnan(result[1]).all()  # masked entries included, as softmax does


def test_masked_logit_above_the_maximum_does_not_overflow():
    x = np.array([0.0, 1e308, 1.0])  # the masked 1e308 would overflow exp(x - m)
    result = online_softmax(x, block_size=1, where=np.array([True, False, True]))
    _assert_same(result, softmax([0.0, -INF, 1.0]))


@pytest.mark.parametrize(("dtype", "expected"), [(np.float16, np.float16),
                                                 (np.float32, np.float32),
                                                 (np.float64, np.float64),
                                                 (np.int32, np.float64), (np.bool_, np.float64)])
def test_dtype_policy(dtype, expected):
    x = np.arange(6).astype(dtype)
    result = online_softmax(x, block_size=4)
    assert result.dtype == expected
    np.testing.assert_allclose(result, softmax(x), rtol=1e-3 if dtype == np.float16 else 1e-6)


def test_float16_is_computed_in_float32():
    # 70 000 equal logits: the normalizer, 70 000, exceeds float16's largest finite number (65 504),
    # so a float16 computation would divide by inf and return zeros. Computed in float32 and
    # rounded once, each probability is 1/70 000 to within float16's subnormal spacing 2**-24.
    x = np.zeros(70_000, np.float16)  # (K,)
    result = online_softmax(x, block_size=4096)
    assert result.dtype == np.float16
    np.testing.assert_allclose(result.astype(np.float64), 1 / 70_000, rtol=0, atol=2.0**-24)


@pytest.mark.parametrize("block_size", [0, -3, 2.5, True, "4", None])
def test_bad_block_size_is_a_value_error_naming_it(block_size):
    with pytest.raises(ValueError, match=rf"block_size must be an int >= 1, got {block_size!r}"):
        online_softmax([1.0, 2.0], block_size=block_size)


def test_bad_arguments_are_reported():
    with pytest.raises(TypeError, match="complex128"):
        online_softmax(np.array([1j, 2.0]))
    with pytest.raises(AxisError, match="axis 2 is out of bounds for array of dimension 2"):
        online_softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(TypeError, match="where must be a boolean mask, got dtype float64"):
        online_softmax(np.zeros(3), where=np.ones(3))
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        online_softmax(np.zeros(3), where=np.array([True, False]))


# --------------------------------------------------------------------------------------------------
# OnlineSoftmaxState
# --------------------------------------------------------------------------------------------------


def _fold(states):
    total = OnlineSoftmaxState.empty()
    for state in states:
        total = total.merge(state)
    return total


@st.composite
def _partitioned_vector(draw):
    """A float64 vector (maybe with -inf) and a random partition of it into contiguous parts."""
    values = draw(st.lists(st.one_of(st.floats(-30, 30), st.just(-INF)), min_size=1, max_size=20))
    cuts = sorted(draw(st.lists(st.integers(0, len(values)), max_size=6)))
    bounds = [0, *cuts, len(values)]
    parts = [values[a:b] for a, b in itertools.pairwise(bounds)]  # some parts may be empty
    return np.array(values), parts


@given(case=_partitioned_vector(), data=st.data())
def test_merge_is_associative_and_commutative_up_to_rounding(case, data):
    x, parts = case
    states = [OnlineSoftmaxState.empty().update(np.array(part)) for part in parts]
    expected = logsumexp(x)

    left_fold = _fold(states)
    right_fold = OnlineSoftmaxState.empty()
    for state in reversed(states):  # ((s_n + s_{n-1}) + ...): both the grouping and order differ
        right_fold = state.merge(right_fold)
    shuffled = _fold(data.draw(st.permutations(states)))
    # a random binary tree: merge two random neighbours until one state is left
    pool = list(states)
    while len(pool) > 1:
        i = data.draw(st.integers(0, len(pool) - 2))
        pool[i:i + 2] = [pool[i].merge(pool[i + 1])]
    tree = pool[0]

    for state in (left_fold, right_fold, shuffled, tree):
        assert state.max == np.max(x)  # the maximum is exact whatever the order
        np.testing.assert_allclose(state.logsumexp, expected, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(state.normalizer, left_fold.normalizer, rtol=1e-13)


def test_regression_merge_of_empty_states_is_not_nan():
    # The unguarded merge computes 0 * exp(-inf - (-inf)) = 0 * nan = nan (with a warning).
    empty = OnlineSoftmaxState.empty((2, 3))
    merged = empty.merge(empty)
    assert np.all(merged.max == -INF)
    np.testing.assert_array_equal(merged.normalizer, 0.0)
    np.testing.assert_array_equal(merged.logsumexp, -INF)


def test_empty_state_is_the_identity_of_merge():
    state = OnlineSoftmaxState.empty().update([0.5, 2.0, -1.0])
    empty = OnlineSoftmaxState.empty()
    for merged in (state.merge(empty), empty.merge(state)):
        assert merged.max == state.max
        assert merged.normalizer == state.normalizer


def test_update_with_an_empty_or_minus_inf_block_changes_nothing():
    state = OnlineSoftmaxState.empty().update([1.0, 3.0])
    for block in ([], [-INF, -INF]):
        after = state.update(block)
        assert after.max == state.max
        assert after.normalizer == state.normalizer


def test_state_after_reading_everything():
    x = np.array([[1.0, 2.0, 3.0], [0.0, -INF, 0.0]])  # (2, 3)
    state = OnlineSoftmaxState.empty().update(x[:, :1]).update(x[:, 1:])  # () broadcasts to (2,)
    assert state.shape == (2,)
    np.testing.assert_array_equal(state.max, [3.0, 0.0])
    np.testing.assert_allclose(state.normalizer, [np.exp(-2) + np.exp(-1) + 1, 2.0])
    np.testing.assert_allclose(state.logsumexp, logsumexp(x, axis=-1))


def test_state_counts_plus_infinities_and_keeps_nan():
    state = OnlineSoftmaxState.empty().update([INF, 1.0]).update([INF, INF, -INF])
    assert state.max == INF
    assert state.normalizer == 3.0  # three +inf entries share the mass
    assert state.logsumexp == INF
    poisoned = state.merge(OnlineSoftmaxState.empty().update([NAN]))
    assert np.isnan(poisoned.max) and np.isnan(poisoned.normalizer)


def test_update_along_several_axes_and_with_a_mask():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 4))  # (2, 3, 4)
    where = rng.random((2, 3, 4)) < 0.6
    state = OnlineSoftmaxState.empty((3,)).update(x, axis=(0, 2), where=where)
    np.testing.assert_allclose(state.logsumexp, logsumexp(x, axis=(0, 2), where=where))


def test_state_is_frozen_and_its_arrays_are_read_only():
    state = OnlineSoftmaxState.empty((2,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.max = np.zeros(2)
    with pytest.raises(ValueError, match="read-only"):
        state.normalizer[0] = 1.0


def test_state_errors_name_the_shapes_and_types():
    with pytest.raises(ValueError, match=r"max of shape \(2,\) and normalizer of shape \(3,\)"):
        OnlineSoftmaxState(np.zeros(2), np.zeros(3))
    with pytest.raises(TypeError, match="OnlineSoftmaxState, got tuple"):
        OnlineSoftmaxState.empty().merge((0.0, 1.0))
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3,\)"):
        OnlineSoftmaxState.empty((2,)).merge(OnlineSoftmaxState.empty((3,)))
    with pytest.raises(TypeError, match="complex128"):
        OnlineSoftmaxState.empty().update(np.array([1j]))
