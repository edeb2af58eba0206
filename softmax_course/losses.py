"""Entropy and the softmax cross-entropy loss with its gradient (PyTorch conventions).

Cross-entropy is computed from the logits through :func:`~softmax_course.log_softmax`, never as
``log(softmax(logits))``: a probability that rounds to 0 would make the loss infinite although the
log-probability is a perfectly finite number. Integer class indices are turned into the same
``(..., C)`` target distribution as probability targets, so one formula serves both.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from ._numerics import top_mask
from ._validation import (
    as_float_array,
    check_label_smoothing,
    normalize_axes,
    normalize_single_axis,
)
from .stable import log_softmax, softmax

__all__ = ["cross_entropy", "cross_entropy_grad", "entropy"]

_REDUCTIONS = ("mean", "sum", "none")


def entropy(p, axis=-1):
    r"""Shannon entropy in nats, :math:`H(p) = -\sum_i p_i \log p_i`, with :math:`0 \log 0 = 0`.

    Parameters
    ----------
    p : array_like
        Probabilities (not checked to sum to 1). bool/int are computed as float64, float16 in
        float32.
    axis : int, tuple of ints or None, default -1
        Axes that form one distribution; None uses the whole array.

    Returns
    -------
    numpy.ndarray or numpy scalar
        Entropy per distribution, ``axis`` removed, output dtype as for
        :func:`~softmax_course.softmax`.

    Raises
    ------
    TypeError
        If ``p`` is complex, object or string.
    numpy.exceptions.AxisError
        If an axis is out of range.
    ValueError
        If an axis is repeated.

    Notes
    -----
    The term :math:`p \log p \to 0` as :math:`p \to 0^+` (l'Hôpital), so zeros contribute exactly 0
    and emit no warning. An empty distribution has entropy 0. A negative or NaN entry makes its
    slice NaN (it is not a probability). The maximum, :math:`\log K`, is reached by the uniform
    distribution.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import entropy
    >>> float(np.round(entropy([0.5, 0.5]), 4))  # log 2
    0.6931
    >>> float(entropy([1.0, 0.0, 0.0]))  # a certain outcome carries no surprise
    0.0
    """
    q, output_dtype, _ = as_float_array(p, "p")
    axes = normalize_axes(axis, q.ndim)
    log_q = np.log(q, out=np.zeros_like(q), where=q > 0)  # 0 where q == 0 (and q < 0, q NaN)
    np.copyto(log_q, np.nan, where=q < 0)
    terms = q * log_q  # NaN * 0 = NaN keeps NaN entries visible
    # -(sum) + 0.0 turns the -0.0 of an all-zero sum into 0.0.
    return (np.asarray(-np.sum(terms, axis=axes)) + 0.0).astype(output_dtype, copy=False)


def _check_reduction(reduction):
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of 'mean', 'sum', 'none', got {reduction!r}")
    return reduction


class _Targets(NamedTuple):
    """The validated arguments of the cross-entropy, with the class axis moved last."""

    logits_last: np.ndarray  # (..., C)
    target_last: np.ndarray  # (..., C): the smoothed target distribution
    counted: np.ndarray | None  # (...) positions that are not ignored; None: nothing can be
    count: int  # the number of positions a "mean" divides by
    output_dtype: np.dtype


def _target_distribution(logits, target, axis, label_smoothing, ignore_index) -> _Targets:
    """Validate the arguments and build the smoothed target distribution (see ``_Targets``)."""
    z, output_dtype, _ = as_float_array(logits, "logits")
    axis = normalize_single_axis(axis, z.ndim)
    smoothing = check_label_smoothing(label_smoothing)
    logits_last = np.moveaxis(z, axis, -1)  # (..., C)
    classes = logits_last.shape[-1]
    positions_shape = logits_last.shape[:-1]  # (...)
    labels = np.asarray(target)
    counted = None
    if labels.dtype.kind in "iu":
        if labels.shape != positions_shape:
            raise ValueError(
                f"integer target (class indices) must have the shape of logits without axis "
                f"{axis}, {positions_shape}; got target of shape {labels.shape} for logits of "
                f"shape {z.shape}"
            )
        if ignore_index is None:
            counted = np.ones(positions_shape, dtype=bool)
        else:
            if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
                raise TypeError(f"ignore_index must be an int or None, got {ignore_index!r}")
            counted = labels != ignore_index
        out_of_range = counted & ((labels < 0) | (labels >= classes))
        if out_of_range.any():
            ignoring = "" if ignore_index is None else f" (and not ignore_index={ignore_index})"
            raise ValueError(
                f"target contains label {labels[out_of_range].flat[0]}, outside the valid range "
                f"[0, {classes}){ignoring} for logits with {classes} classes along axis {axis}"
            )
        target_last = np.zeros(logits_last.shape, dtype=z.dtype)  # (..., C)
        if classes:
            safe_labels = np.where(counted, labels, 0)[..., None]  # (..., 1)
            np.put_along_axis(target_last, safe_labels, 1.0, axis=-1)
        count = int(np.count_nonzero(counted))
    elif labels.dtype.kind == "f":
        if ignore_index is not None:
            raise ValueError(
                f"ignore_index={ignore_index!r} needs integer class-index targets, got target "
                f"of dtype {labels.dtype}"
            )
        if labels.shape != z.shape:
            raise ValueError(
                f"probability target must have the shape of logits, got target of shape "
                f"{labels.shape} for logits of shape {z.shape}"
            )
        target_last = np.moveaxis(labels, axis, -1).astype(z.dtype)  # (..., C), a fresh copy
        count = math.prod(positions_shape)
    else:
        raise TypeError(
            "target must be integer class indices or float probabilities, got dtype "
            f"{labels.dtype}"
        )
    if smoothing and classes:
        # PyTorch's convention: mix with the uniform distribution, eps / C on every class.
        target_last *= 1.0 - smoothing
        target_last += smoothing / classes
        if counted is not None:
            np.copyto(target_last, 0.0, where=~counted[..., None])
    return _Targets(logits_last, target_last, counted, count, output_dtype)


def _reduce(values, reduction, count, output_dtype):
    """Apply ``reduction`` to per-position values (ignored positions already hold 0)."""
    if reduction == "none":
        return values.astype(output_dtype, copy=False)[()]
    total = float(np.sum(values, dtype=np.float64))
    if reduction == "sum":
        return output_dtype.type(total)
    # Nothing to average (every target ignored, or no positions): 0.0 rather than 0/0 = NaN, so a
    # training loop's running loss is not poisoned by one fully padded batch.
    return output_dtype.type(total / count if count else 0.0)


def cross_entropy(
    logits, target, axis=-1, *, reduction="mean", label_smoothing=0.0, ignore_index=None
):
    r"""Cross-entropy between a target and ``softmax(logits)``, computed from the logits.

    Parameters
    ----------
    logits : array_like
        Real scores, class axis ``axis`` of length C (bool/int computed as float64, float16 in
        float32).
    target : array_like
        Either integer class indices with the shape of ``logits`` without ``axis``, or float
        probabilities with the shape of ``logits`` (not checked to sum to 1).
    axis : int, default -1
        The class axis.
    reduction : {"mean", "sum", "none"}, default "mean"
        "none" returns the per-position losses (0 at ignored positions); "sum" adds them; "mean"
        divides the sum by the number of targets that are not ignored (for probability targets:
        by the number of positions). If nothing is counted, "mean" returns 0.0, not NaN.
    label_smoothing : float, default 0.0
        :math:`\varepsilon \in [0, 1]`; the target becomes
        :math:`(1 - \varepsilon) y + \varepsilon / C` (PyTorch's convention).
    ignore_index : int, optional
        With integer targets only: positions whose label equals it contribute nothing.

    Returns
    -------
    numpy scalar or numpy.ndarray
        The loss, dtype following ``logits``.

    Raises
    ------
    ValueError
        For a label outside ``[0, C)`` that is not ``ignore_index`` (names the label and the
        range), a target shape that does not fit ``logits`` (names both shapes), an unknown
        ``reduction``, ``label_smoothing`` outside [0, 1], or ``ignore_index`` with probability
        targets.
    TypeError
        For non-real logits, a target that is neither integer nor float (e.g. bool), or a
        non-integer ``ignore_index``.
    numpy.exceptions.AxisError
        If ``axis`` is out of range.

    Notes
    -----
    For one position with logits :math:`z`, smoothed target :math:`t` and
    :math:`\log p = \operatorname{log\_softmax}(z)`,

    .. math::

        \ell = -\sum_c t_c \log p_c, \qquad
        t = (1 - \varepsilon)\, y + \varepsilon / C,

    where :math:`y` is the one-hot vector of the label (or the probability target). Terms with
    :math:`t_c = 0` are 0 even if :math:`\log p_c = -\infty` (the :math:`0 \log 0 = 0`
    convention). For a one-hot target and :math:`\varepsilon = 0` this is :math:`-\log p_y`.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import cross_entropy
    >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> float(np.round(cross_entropy(logits, [0, 2]), 4))  # mean of -log p_0 and log 3
    0.6691
    >>> np.round(cross_entropy(logits, [0, -100], reduction="none", ignore_index=-100), 4)
    array([0.2395, 0.    ])
    >>> float(np.round(cross_entropy(logits, [0, 2], label_smoothing=0.1), 4))
    0.7357
    """
    reduction = _check_reduction(reduction)
    logits_last, target_last, counted, count, output_dtype = _target_distribution(
        logits, target, axis, label_smoothing, ignore_index
    )
    log_probabilities = log_softmax(logits_last, axis=-1)  # (..., C)
    terms = np.multiply(
        target_last, log_probabilities, out=np.zeros_like(log_probabilities), where=target_last != 0
    )  # (..., C)
    losses = np.asarray(0.0 - np.sum(terms, axis=-1))  # (...); 0.0 - x never gives -0.0
    if counted is not None:
        np.copyto(losses, 0.0, where=~counted)  # an ignored position with NaN logits stays 0
    return _reduce(losses, reduction, count, output_dtype)


def cross_entropy_grad(
    logits, target, axis=-1, *, reduction="mean", label_smoothing=0.0, ignore_index=None
):
    r"""Gradient of :func:`cross_entropy` with respect to the logits.

    Parameters
    ----------
    logits, target, axis, reduction, label_smoothing, ignore_index
        As for :func:`cross_entropy`.

    Returns
    -------
    numpy.ndarray
        :math:`\partial \ell / \partial z`, the shape of ``logits``, dtype following ``logits``.
        For "none" it is the gradient of the sum of the per-position losses. Ignored positions
        get 0.

    Raises
    ------
    ValueError, TypeError, numpy.exceptions.AxisError
        As for :func:`cross_entropy`.

    Notes
    -----
    With :math:`\partial \log p_c / \partial z_j = \delta_{cj} - p_j`,

    .. math::

        \frac{\partial \ell}{\partial z_j} = -\sum_c t_c (\delta_{cj} - p_j)
        = p_j \sum_c t_c - t_j = p_j - t_j \quad \text{when } \textstyle\sum_c t_c = 1,

    i.e. ``softmax(logits) - target'`` for a distribution. The general form
    :math:`p \sum_c t_c - t` is what is computed, so the result is the exact derivative even for
    a target that does not sum to 1. "mean" divides by the number of counted targets.

    Examples
    --------
    >>> import numpy as np
    >>> from softmax_course import cross_entropy_grad
    >>> np.round(cross_entropy_grad([[0.0, 0.0]], [1]), 4)  # p - y = [0.5, 0.5] - [0, 1]
    array([[ 0.5, -0.5]])
    """
    reduction = _check_reduction(reduction)
    logits_last, target_last, counted, count, output_dtype = _target_distribution(
        logits, target, axis, label_smoothing, ignore_index
    )
    probabilities = softmax(logits_last, axis=-1)  # (..., C)
    target_mass = np.sum(target_last, axis=-1, keepdims=True)  # (..., 1), 1 for distributions
    gradient = probabilities * target_mass - target_last  # (..., C)
    # At the most probable class k, p_k T - t_k cancels when p_k is near 1 (a confident, correct
    # prediction: 1 - p_k is below p_k's rounding error). The same value, written as
    # sum_{j != k} t_j - T sum_{j != k} p_j, has no such cancellation.
    top = top_mask(probabilities, -1)  # (..., C)
    other_probability = np.sum(np.where(top, 0.0, probabilities), axis=-1, keepdims=True)
    other_target = np.sum(np.where(top, 0.0, target_last), axis=-1, keepdims=True)
    np.copyto(gradient, other_target - target_mass * other_probability, where=top)
    if counted is not None:
        np.copyto(gradient, 0.0, where=~counted[..., None])
    if reduction == "mean" and count:
        gradient /= count
    return np.moveaxis(gradient, -1, normalize_single_axis(axis, gradient.ndim)).astype(
        output_dtype, copy=False
    )
