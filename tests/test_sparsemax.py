"""Tests of sparsemax, its threshold, its Jacobian and its vector-Jacobian product."""

from __future__ import annotations

import itertools

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.exceptions import AxisError

from softmax_course import (
    gradient_check,
    sparsemax,
    sparsemax_jacobian,
    sparsemax_threshold,
    sparsemax_vjp,
)

pytestmark = pytest.mark.filterwarnings("error")

LOGITS = st.floats(-20, 20, allow_subnormal=False)


def brute_force_projection(z):
    """The Euclidean projection of ``z`` onto the simplex, by trying every support.

    For a support S the only candidate on the simplex with that support is
    ``p_S = z_S - (sum(z_S) - 1) / |S|``, 0 elsewhere; the projection is the closest candidate
    with ``p_S >= 0`` (each such candidate lies on the simplex, and the projection's own support
    is among those tried). Exponential in K: small K only.
    """
    z = np.asarray(z, dtype=np.float64)
    best, best_distance = None, np.inf
    for size in range(1, z.size + 1):
        for support in itertools.combinations(range(z.size), size):
            support = list(support)
            candidate = np.zeros_like(z)
            candidate[support] = z[support] - (z[support].sum() - 1.0) / size
            if (candidate >= 0).all():
                distance = np.sum((candidate - z) ** 2)
                if distance < best_distance:
                    best, best_distance = candidate, distance
    return best


@st.composite
def logits_and_axis(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    x = draw(hnp.arrays(np.float64, shape, elements=LOGITS))
    return x, draw(st.integers(-len(shape), len(shape) - 1))


@given(problem=logits_and_axis())
def test_sparsemax_is_a_distribution_along_the_axis(problem):
    x, axis = problem
    p = sparsemax(x, axis=axis)
    assert p.shape == x.shape and p.dtype == np.float64
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-12)


@given(problem=logits_and_axis(), shift=st.floats(-1e3, 1e3))
def test_sparsemax_is_invariant_to_adding_a_constant(problem, shift):
    x, axis = problem
    np.testing.assert_allclose(sparsemax(x + shift, axis=axis), sparsemax(x, axis=axis),
                               atol=1e-10)


@given(z=hnp.arrays(np.float64, st.integers(1, 7), elements=LOGITS))
def test_sparsemax_matches_the_brute_force_projection(z):
    np.testing.assert_allclose(sparsemax(z), brute_force_projection(z), atol=1e-12)


@given(z=hnp.arrays(np.float64, st.integers(1, 7), elements=LOGITS))
def test_sparsemax_satisfies_the_kkt_conditions(z):
    """p = max(z - tau, 0): on the support z_i - p_i = tau, off it z_i <= tau."""
    p = sparsemax(z)
    tau = sparsemax_threshold(z)
    support = p > 0
    np.testing.assert_allclose(z[support] - p[support], tau, atol=1e-12)
    assert (z[~support] <= tau + 1e-12).all()
    np.testing.assert_allclose(p, np.maximum(z - tau, 0.0), atol=1e-12)


def test_sparsemax_gives_exact_zeros_and_one_hot_for_a_large_gap():
    np.testing.assert_array_equal(sparsemax([1.0, 2.0, 3.0]), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(sparsemax([0.0, 0.5, 0.7]), [0.0, 0.4, 0.6], atol=1e-15)
    np.testing.assert_array_equal(sparsemax([5.0, 5.0]), [0.5, 0.5])


def test_sparsemax_over_several_axes_equals_the_flattened_slice():
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    p = sparsemax(x, axis=(1, 2))
    for b in range(2):
        np.testing.assert_allclose(p[b].ravel(), sparsemax(x[b].ravel()), rtol=1e-14)
    np.testing.assert_allclose(sparsemax(x, axis=None).ravel(), sparsemax(x.ravel()),
                               rtol=1e-14)
    np.testing.assert_allclose(sparsemax_threshold(x, axis=(1, 2)),
                               [sparsemax_threshold(x[b].ravel()) for b in range(2)])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sparsemax_keeps_the_floating_dtype(dtype):
    x = np.array([[0.1, 0.5, 0.7], [2.0, -1.0, 0.0]], dtype=dtype)
    assert sparsemax(x).dtype == dtype
    assert sparsemax_threshold(x).dtype == dtype
    assert sparsemax_jacobian(x).dtype == dtype
    np.testing.assert_allclose(sparsemax(x).astype(np.float64),
                               sparsemax(x.astype(np.float64)), atol=2e-3)


def test_integer_and_bool_logits_are_computed_in_float64():
    assert sparsemax([1, 2, 3]).dtype == np.float64
    assert sparsemax(np.array([True, False])).dtype == np.float64


def test_edge_cases_without_warnings():
    np.testing.assert_array_equal(sparsemax([-np.inf, 0.0, -np.inf]), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(sparsemax([-np.inf, -np.inf]), [0.0, 0.0])
    np.testing.assert_array_equal(sparsemax([np.inf, 1.0, np.inf]), [0.5, 0.0, 0.5])
    assert np.isnan(sparsemax([np.nan, 1.0])).all()
    assert sparsemax(np.zeros((0, 3))).shape == (0, 3)
    assert sparsemax(np.zeros((3, 0))).shape == (3, 0)
    # logits spanning more than the largest float: the shifted ones overflow to -inf
    np.testing.assert_array_equal(sparsemax([1e308, -1e308, 1e308]), [0.5, 0.0, 0.5])
    # tau is not subtracted from huge logits: the gaps are what count
    np.testing.assert_allclose(sparsemax([1e300, 1e300 * (1 - 2**-52)]), [1.0, 0.0])
    np.testing.assert_array_equal(sparsemax_threshold(np.zeros((2, 0))), [-np.inf, -np.inf])
    assert sparsemax_threshold([np.inf, 0.0]) == np.inf
    assert np.isnan(sparsemax_threshold([np.nan, 0.0]))
    masked = sparsemax([[0.3, -np.inf, 0.1], [-np.inf, -np.inf, -np.inf]])
    np.testing.assert_allclose(masked, [[0.6, 0.0, 0.4], [0.0, 0.0, 0.0]])


def test_bad_arguments_are_refused_with_a_message():
    with pytest.raises(TypeError, match="real numeric"):
        sparsemax(np.array([1 + 1j, 0]))
    with pytest.raises(AxisError):
        sparsemax(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match="repeated"):
        sparsemax(np.zeros((2, 3)), axis=(0, 0))
    with pytest.raises(TypeError, match="single int"):
        sparsemax_jacobian(np.zeros((2, 3)), axis=(0, 1))
    with pytest.raises(ValueError, match="same shape"):
        sparsemax_vjp(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="GiB"):
        sparsemax_jacobian(np.zeros((1, 20_000)))


def away_from_ties(z):
    """True when no logit is within 1e-4 of the threshold (where sparsemax has a kink)."""
    return np.abs(z - sparsemax_threshold(z)).min() > 1e-4


@given(z=hnp.arrays(np.float64, st.integers(1, 7), elements=st.floats(-3, 3)))
def test_sparsemax_jacobian_matches_finite_differences(z):
    assume(away_from_ties(z))
    result = gradient_check(sparsemax, z, sparsemax_jacobian(z), eps=1e-6, rtol=1e-6,
                            atol=1e-8)
    assert result.passed, str(result)


@given(z=hnp.arrays(np.float64, st.integers(1, 7), elements=st.floats(-3, 3)))
def test_sparsemax_jacobian_is_the_support_projection(z):
    """J = diag(s) - s s^T / |S|: symmetric, J 1 = 0, J^2 = J, trace |S| - 1."""
    jacobian = sparsemax_jacobian(z)
    s = (sparsemax(z) > 0).astype(float)
    np.testing.assert_allclose(jacobian, np.diag(s) - np.outer(s, s) / s.sum(), atol=1e-15)
    np.testing.assert_array_equal(jacobian, jacobian.T)
    np.testing.assert_allclose(jacobian.sum(axis=1), 0.0, atol=1e-15)
    np.testing.assert_allclose(jacobian @ jacobian, jacobian, atol=1e-14)
    np.testing.assert_allclose(np.trace(jacobian), s.sum() - 1, atol=1e-14)


@given(problem=logits_and_axis(), seed=st.integers(0, 2**32 - 1))
def test_sparsemax_vjp_equals_the_jacobian_transpose_product(problem, seed):
    x, axis = problem
    g = np.random.default_rng(seed).normal(size=x.shape)
    vjp = sparsemax_vjp(sparsemax(x, axis=axis), g, axis=axis)
    jacobian = sparsemax_jacobian(x, axis=axis)  # batch + (K, K)
    moved_g = np.moveaxis(g, axis, -1)  # batch + (K,)
    expected = np.einsum("...ij,...i->...j", jacobian, moved_g)
    np.testing.assert_allclose(np.moveaxis(vjp, axis, -1), expected, atol=1e-12)


def test_jacobian_of_a_slice_without_support_is_zero():
    np.testing.assert_array_equal(sparsemax_jacobian([-np.inf, -np.inf]), np.zeros((2, 2)))
    np.testing.assert_array_equal(sparsemax_vjp(np.zeros(2), np.ones(2)), np.zeros(2))
