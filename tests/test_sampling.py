"""Sampling from a softmax: Gumbel-max draws, the relaxed sample and its gradient, top-k, top-p."""

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from softmax_course import (
    gradient_check,
    gumbel_max_sample,
    gumbel_softmax,
    gumbel_softmax_vjp,
    one_hot_argmax,
    softmax,
    top_k_mask,
    top_p_mask,
)

pytestmark = pytest.mark.filterwarnings("error")

# Small integer logits make ties frequent, which is where the set rules differ.
TIED_LOGITS = hnp.arrays(np.float64, st.integers(1, 8), elements=st.integers(-3, 3).map(float))


def hoeffding_bound(n_draws, n_classes, failure_probability=1e-9):
    """A bound every class frequency stays within, except with the given probability.

    Hoeffding: P(|freq_k - p_k| >= e) <= 2 exp(-2 n e^2) per class, and a union bound over K.
    """
    return np.sqrt(np.log(2 * n_classes / failure_probability) / (2 * n_draws))


@pytest.mark.parametrize("temperature", [0.3, 1.0, 4.0])
def test_gumbel_max_frequencies_match_the_tempered_softmax(temperature):
    logits = np.array([2.0, 1.0, 0.0, -1.0, 0.5])
    n_draws = 40_000
    draws = gumbel_max_sample(logits, np.random.default_rng(1), n_draws, temperature=temperature)
    frequencies = np.bincount(draws, minlength=logits.size) / n_draws
    gap = np.abs(frequencies - softmax(logits, temperature=temperature)).max()
    assert gap < hoeffding_bound(n_draws, logits.size)


def test_gumbel_max_shapes_infinities_and_huge_logits():
    rng = np.random.default_rng(2)
    batch = np.array([[0.0, -np.inf, 1.0], [5.0, 5.0, -np.inf]])
    draws = gumbel_max_sample(batch, rng, (100, 7))
    assert draws.shape == (100, 7, 2)
    assert not np.any(draws[..., 0] == 1) and not np.any(draws[..., 1] == 2)
    # Nothing is exponentiated: logits of size 1e300 at a tiny temperature still give a draw.
    assert gumbel_max_sample([1e300, 0.0], rng, 5, temperature=1e-3).tolist() == [0] * 5
    with pytest.raises(ValueError, match="temperature"):
        gumbel_max_sample([1.0, 2.0], rng, temperature=0.0)
    with pytest.raises(ValueError, match="non-empty"):
        gumbel_max_sample(np.zeros(0), rng)


def test_gumbel_softmax_is_on_the_simplex_and_tends_to_the_gumbel_max_draw():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4, 6))
    noise = rng.gumbel(size=logits.shape)
    for tau in (0.05, 1.0, 10.0):
        sample = gumbel_softmax(logits, noise, tau)
        np.testing.assert_allclose(sample.sum(axis=-1), 1.0)
    cold = gumbel_softmax(logits, noise, 1e-4)
    np.testing.assert_array_equal(one_hot_argmax(cold), one_hot_argmax(logits + noise))
    np.testing.assert_allclose(cold, one_hot_argmax(logits + noise), atol=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        gumbel_softmax(logits, noise[:, :3])


@pytest.mark.parametrize("tau", [0.2, 1.0, 3.0])
def test_gumbel_softmax_gradient_matches_finite_differences(tau):
    rng = np.random.default_rng(4)
    logits, noise, weights = rng.normal(size=5), rng.gumbel(size=5), rng.normal(size=5)

    def loss(z):
        return weights @ gumbel_softmax(z, noise, tau)

    grad = gumbel_softmax_vjp(gumbel_softmax(logits, noise, tau), weights, tau)
    result = gradient_check(loss, logits, grad, rtol=1e-6)
    assert result.passed, str(result)


def test_one_hot_argmax_takes_the_first_of_a_tie_along_any_axis():
    np.testing.assert_array_equal(one_hot_argmax([1.0, 3.0, 3.0]), [0.0, 1.0, 0.0])
    y = np.array([[0.1, 0.9], [0.7, 0.3]], dtype=np.float32)
    hard = one_hot_argmax(y, axis=0)
    assert hard.dtype == np.float32
    np.testing.assert_array_equal(hard, [[0.0, 1.0], [1.0, 0.0]])


@given(logits=TIED_LOGITS, k=st.integers(1, 10))
def test_top_k_mask_follows_its_definition(logits, k):
    mask = top_k_mask(logits, k)
    larger = (logits[None, :] > logits[:, None]).sum(axis=1)  # per token: strictly larger logits
    np.testing.assert_array_equal(mask, larger < k)
    assert mask.sum() >= min(k, logits.size)
    # Temperature keeps the order of the logits, so the set cannot depend on it.
    np.testing.assert_array_equal(top_k_mask(logits / 0.37, k), mask)


@given(logits=TIED_LOGITS, p=st.floats(0.01, 0.99), temperature=st.floats(0.1, 10.0))
def test_top_p_mask_follows_its_definition(logits, p, temperature):
    probs = softmax(logits, temperature=temperature)
    mask = top_p_mask(logits, p, temperature=temperature)
    above = np.array([probs[probs > q].sum() for q in probs])
    # Sums in another order may differ in the last bits: skip draws at the boundary.
    if np.any(np.abs(above - p) < 1e-12):
        return
    np.testing.assert_array_equal(mask, above < p)
    assert probs[mask].sum() >= p - 1e-12  # the nucleus holds at least p
    assert mask[np.argmax(logits)]


def test_top_p_nucleus_grows_with_the_temperature():
    logits = -1.5 * np.log(np.arange(1, 41))
    sizes = [top_p_mask(logits, 0.9, temperature=t).sum() for t in np.geomspace(0.05, 20, 60)]
    assert sizes == sorted(sizes)
    assert sizes[0] == 1 and sizes[-1] == 36  # the argmax; ceil(0.9 * 40) tokens when flat


def test_top_p_edges():
    logits = np.array([[1.0, 2.0, -np.inf], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(top_p_mask(logits, 1.0), [[True, True, False], [True] * 3])
    # The tie at the top is kept whole, and axis=0 works like the last axis transposed.
    np.testing.assert_array_equal(top_p_mask(logits, 0.1, axis=-1)[1], [True] * 3)
    np.testing.assert_array_equal(top_p_mask(logits.T, 0.5, axis=0), top_p_mask(logits, 0.5).T)
    for bad in (0.0, 1.5, True, "0.5"):
        with pytest.raises(ValueError, match="p must be"):
            top_p_mask(logits, bad)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="k must be"):
            top_k_mask(logits, bad)
