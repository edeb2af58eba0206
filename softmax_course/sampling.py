"""Sampling from a softmax: the Gumbel-max trick, its relaxation, and top-k / top-p truncation.

Three ideas of chapter 5, one small function each:

* ``gumbel_max_sample``: a draw from ``softmax(z / T)`` as ``argmax(z / T + G)`` with ``G`` iid
  Gumbel(0, 1) noise, no normalisation needed;
* ``gumbel_softmax`` and ``gumbel_softmax_vjp``: the relaxed sample ``softmax((z + G) / tau)``
  and its gradient with respect to ``z`` (the noise held fixed: the reparametrisation trick);
  ``one_hot_argmax`` is the forward value of the straight-through estimator;
* ``top_k_mask`` and ``top_p_mask``: which tokens a language-model sampler keeps. The truncated
  distribution is then ``softmax(z, temperature=T, where=mask)``, the softmax renormalised over
  the kept tokens.

Ties are kept together. ``top_k_mask`` keeps a token when fewer than ``k`` tokens have a strictly
larger logit, and ``top_p_mask`` keeps it when the tokens strictly more probable than it hold
less than ``p`` of the mass. Both sets are therefore determined by the values alone, never by the
order in which a sort happened to place equal logits (the book's interactive explorer uses the
same rule).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import as_float_array, check_positive_finite, normalize_single_axis
from .jacobian import softmax_vjp
from .stable import softmax

__all__ = [
    "gumbel_max_sample",
    "gumbel_softmax",
    "gumbel_softmax_vjp",
    "one_hot_argmax",
    "top_k_mask",
    "top_p_mask",
]


def gumbel_max_sample(logits, rng, size=(), *, temperature=1.0):
    r"""Draw class indices from ``softmax(logits / temperature)`` by the Gumbel-max trick.

    Parameters
    ----------
    logits : array_like, shape (..., K)
        Real logits, one distribution per slice along the last axis; ``-inf`` entries are never
        drawn.
    rng : numpy.random.Generator
        The source of the Gumbel(0, 1) noise (``rng.gumbel``).
    size : int or tuple of ints, default ()
        How many independent draws per distribution; the result has shape
        ``size + logits.shape[:-1]``.
    temperature : float, default 1.0
        Positive finite :math:`T`.

    Returns
    -------
    numpy.ndarray of int
        The sampled indices in ``0, ..., K - 1``.

    Raises
    ------
    ValueError
        If ``temperature`` is not positive and finite, or a slice is empty.
    TypeError
        If ``logits`` is not real.

    Notes
    -----
    With :math:`G_i` iid Gumbel(0, 1), :math:`P(\arg\max_i (z_i / T + G_i) = k) =
    \operatorname{softmax}(z / T)_k` (proved in chapter 5). Nothing is exponentiated, so the draw
    cannot overflow whatever the size of :math:`z / T`.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import gumbel_max_sample
    >>> draws = gumbel_max_sample([2.0, 0.0, -np.inf], np.random.default_rng(0), size=10_000)
    >>> sorted(set(draws.tolist()))  # the -inf class is never drawn
    [0, 1]
    >>> float(np.round(np.mean(draws == 0), 2))  # e^2 / (e^2 + 1) = 0.881
    0.88
    """
    z, _, _ = as_float_array(logits, "logits")
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"logits need a non-empty last axis of classes, got shape {z.shape}")
    temperature = check_positive_finite(temperature, "temperature")
    shape = (size,) if isinstance(size, numbers.Integral) else tuple(size)
    noise = rng.gumbel(size=shape + z.shape)  # (*size, ..., K)
    return np.argmax(z / temperature + noise, axis=-1)


def gumbel_softmax(logits, noise, tau=1.0, axis=-1):
    r"""The relaxed (Gumbel-softmax, or Concrete) sample ``softmax((logits + noise) / tau)``.

    Parameters
    ----------
    logits : array_like
        Real logits.
    noise : array_like
        Gumbel(0, 1) noise of the same shape (for example ``rng.gumbel(size=logits.shape)``).
        It is an argument, not drawn here, so that the same draw can be differentiated and
        checked: with the noise fixed, the sample is a smooth function of the logits.
    tau : float, default 1.0
        The relaxation temperature, positive and finite. As ``tau -> 0`` the sample tends to the
        one-hot vector of ``argmax(logits + noise)``, a Gumbel-max draw.
    axis : int, default -1
        The class axis.

    Returns
    -------
    numpy.ndarray
        A point of the probability simplex along ``axis``, the shape of ``logits``.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import gumbel_softmax
    >>> z, g = np.log([0.5, 0.3, 0.2]), np.array([0.1, 1.2, -0.4])
    >>> np.round(gumbel_softmax(z, g, tau=0.1), 3)  # near the one-hot vector of argmax(z + g)
    array([0.003, 0.997, 0.   ])
    """
    z, _, _ = as_float_array(logits, "logits")
    g, _, _ = as_float_array(noise, "noise")
    if z.shape != g.shape:
        raise ValueError(
            f"logits and noise must have the same shape, got {z.shape} and {g.shape}"
        )
    return softmax(z + g, axis=axis, temperature=check_positive_finite(tau, "tau"))


def gumbel_softmax_vjp(sample, grad_output, tau=1.0, axis=-1):
    r"""Gradient with respect to the logits of a loss of the relaxed sample, the noise fixed.

    Parameters
    ----------
    sample : array_like
        The relaxed sample ``y = gumbel_softmax(logits, noise, tau)``.
    grad_output : array_like
        :math:`\partial L / \partial y`, the shape of ``sample``.
    tau : float, default 1.0
        The relaxation temperature the sample was drawn at.
    axis : int, default -1
        The class axis.

    Returns
    -------
    numpy.ndarray
        :math:`\partial L / \partial z = \frac{1}{\tau}\, y \odot (g - \langle y, g \rangle)`.

    Notes
    -----
    ``y = softmax(u)`` with ``u = (z + G) / tau``, so the chain rule is the softmax
    vector-Jacobian product (chapter 3) times :math:`\partial u / \partial z = 1 / \tau`. The
    straight-through estimator uses this same gradient while its forward value is
    :func:`one_hot_argmax` of the sample.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import gradient_check, gumbel_softmax, gumbel_softmax_vjp
    >>> z, g, w = np.array([0.5, -1.0, 2.0]), np.array([0.3, 1.1, -0.2]), np.array([1.0, 0, -1])
    >>> y = gumbel_softmax(z, g, tau=0.5)
    >>> grad = gumbel_softmax_vjp(y, w, tau=0.5)  # of the loss w . y
    >>> gradient_check(lambda u: w @ gumbel_softmax(u, g, tau=0.5), z, grad).passed
    True
    """
    tau = check_positive_finite(tau, "tau")
    return softmax_vjp(sample, grad_output, axis=axis) / tau


def one_hot_argmax(y, axis=-1):
    """The one-hot vector of ``argmax(y)`` along ``axis`` (first index on a tie), in ``y``'s dtype.

    The forward value of the straight-through Gumbel-softmax estimator: a hard sample, whose
    gradient is taken to be that of the relaxed sample ``y`` (:func:`gumbel_softmax_vjp`).

    Examples
    --------
    >>> from softmax_course import one_hot_argmax
    >>> one_hot_argmax([0.2, 0.7, 0.1])
    array([0., 1., 0.])
    """
    values, output_dtype, _ = as_float_array(y, "y")
    axis = normalize_single_axis(axis, values.ndim)
    winner = np.expand_dims(np.argmax(values, axis=axis), axis)
    hard = np.zeros(values.shape, dtype=output_dtype)
    np.put_along_axis(hard, winner, 1, axis=axis)
    return hard


def top_k_mask(logits, k, axis=-1):
    """Which tokens top-k sampling keeps: those with fewer than ``k`` strictly larger logits.

    Parameters
    ----------
    logits : array_like
        Real logits.
    k : int
        At least 1. Tokens tied with the k-th largest logit are all kept, so the mask can hold
        more than ``k`` tokens when there is a tie at the boundary.
    axis : int, default -1
        The class axis.

    Returns
    -------
    numpy.ndarray of bool
        The shape of ``logits``. Dividing the logits by any temperature ``T > 0`` keeps their order,
        so the mask does not depend on the temperature.

    Examples
    --------
    >>> from softmax_course import top_k_mask
    >>> top_k_mask([1.0, 3.0, 2.0, 2.0], 2)  # the tie at the boundary is kept whole
    array([False,  True,  True,  True])
    """
    z, _, _ = as_float_array(logits, "logits")
    axis = normalize_single_axis(axis, z.ndim)
    if isinstance(k, bool | np.bool_) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    k = min(int(k), z.shape[axis])
    # The k-th largest logit of each slice; every token at least that large is kept.
    kth_largest = -np.partition(-z, k - 1, axis=axis).take([k - 1], axis=axis)
    return z >= kth_largest


def _mass_strictly_above(probs):
    """For each entry of ``probs`` (..., K): the total of the entries strictly larger than it."""
    order = np.argsort(-probs, axis=-1, kind="stable")  # (..., K) most probable first
    ranked = np.take_along_axis(probs, order, axis=-1)  # (..., K) non-increasing
    before = np.cumsum(ranked, axis=-1) - ranked  # (..., K) mass of the earlier ranks
    # Within a run of equal values, every member gets the mass before the run's first member.
    positions = np.arange(ranked.shape[-1])
    starts_run = np.ones(ranked.shape, dtype=bool)
    starts_run[..., 1:] = ranked[..., 1:] != ranked[..., :-1]
    run_start = np.maximum.accumulate(np.where(starts_run, positions, 0), axis=-1)
    before_run = np.take_along_axis(before, run_start, axis=-1)  # (..., K)
    result = np.empty_like(before_run)
    np.put_along_axis(result, order, before_run, axis=-1)  # back to the tokens' own order
    return result


def top_p_mask(logits, p, *, temperature=1.0, axis=-1):
    r"""Which tokens nucleus (top-p) sampling keeps from ``softmax(logits / temperature)``.

    Parameters
    ----------
    logits : array_like
        Real logits; ``-inf`` entries have probability 0 and are never kept.
    p : float
        The nucleus mass, ``0 < p <= 1``.
    temperature : float, default 1.0
        Positive finite :math:`T`, applied before the nucleus is chosen: the set depends on it.
    axis : int, default -1
        The class axis.

    Returns
    -------
    numpy.ndarray of bool
        A token is kept when the tokens strictly more probable than it hold less than ``p`` of
        the mass: the smallest set of most probable tokens, ties kept whole, whose total is at
        least ``p``. The most probable token is always kept; ``p = 1`` keeps every token of
        non-zero probability.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import top_p_mask
    >>> z = np.log([0.5, 0.3, 0.15, 0.05])
    >>> top_p_mask(z, 0.75)  # 0.5 < 0.75 <= 0.5 + 0.3
    array([ True,  True, False, False])
    >>> top_p_mask(z, 0.75, temperature=3.0)  # a flatter distribution needs more tokens
    array([ True,  True,  True, False])
    """
    z, _, _ = as_float_array(logits, "logits")
    axis = normalize_single_axis(axis, z.ndim)
    if isinstance(p, bool | np.bool_) or not isinstance(p, numbers.Real) or not 0 < p <= 1:
        raise ValueError(f"p must be a number in (0, 1], got {p!r}")
    probs = np.moveaxis(softmax(z, axis=axis, temperature=temperature), axis, -1)
    keep = probs > 0
    if p < 1:  # p = 1 keeps every possible token, whatever the rounding of the running sums
        keep &= _mass_strictly_above(probs) < p
    return np.moveaxis(keep, -1, axis)
