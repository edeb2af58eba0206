"""Derivatives stay near-ulp accurate in every regime, including one class at 1 - 1e-10.

References are computed by mpmath at 50 digits from the exact logits. Errors are relative,
entry by entry (entries whose exact value is 0 or subnormal are skipped). The bounds allow a few
dozen ulps of the dtype: the inputs themselves (the rounded softmax output ``s``) carry a relative
error of an ulp or two, and a VJP entry sums K of them.

Before the complement formulas, the diagonal s(1 - s) at s = 1 - 1e-10 was off by 1e-6 relative in
float64 and by 100 % in float32, and the float32 VJP on N(0, 10) logits by a factor of 2.
"""

from __future__ import annotations

import numpy as np
import pytest
from mpmath import mp, mpf

from softmax_course import (
    cross_entropy_grad,
    log_softmax_jacobian,
    softmax,
    softmax_jacobian,
    softmax_jvp,
    softmax_vjp,
)

pytestmark = pytest.mark.filterwarnings("error")

mp.dps = 50
RNG = np.random.default_rng(2026)
K = 8


def _regimes(dtype):
    """Rows of logits: N(0, 1), N(0, 10), and one class at about 1 - 1e-10 (float64) or
    1 - 1e-6 (float32), also shifted off zero."""
    gap = 23.0 if dtype == np.float64 else 14.0
    dominant = np.concatenate([[0.0], -gap - np.abs(RNG.standard_normal(K - 1))])
    rows = {
        "normal, scale 1": RNG.standard_normal((4, K)),
        "normal, scale 10": 10 * RNG.standard_normal((4, K)),
        "one dominant class": np.stack([dominant, dominant + 3.5, np.roll(dominant, 3)]),
    }
    return {name: x.astype(dtype) for name, x in rows.items()}


def _exact_softmax(row):
    values = [mpf(float(v)) for v in row]
    total = mp.fsum(mp.exp(v) for v in values)
    return [mp.exp(v) / total for v in values]


def _relative_error(result, exact):
    """Largest relative error over the entries whose exact value is a normal number of the
    result's dtype (a subnormal result has fewer significant bits, only an absolute accuracy)."""
    exact = np.array([float(e) for e in np.ravel(exact)]).reshape(np.shape(result))
    keep = np.abs(exact) >= np.finfo(result.dtype).smallest_normal
    return float(np.max(np.abs(result[keep] - exact[keep]) / np.abs(exact[keep])))


def _exact_products(s, u):
    """J u = J^T u for the exact softmax s: s_i (u_i - sum_j s_j u_j)."""
    mean = mp.fsum(si * mpf(float(ui)) for si, ui in zip(s, u, strict=True))
    return [si * (mpf(float(ui)) - mean) for si, ui in zip(s, u, strict=True)]


BOUND_ULPS = 32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_jacobians_products_and_gradient_are_accurate_in_every_regime(dtype):
    eps = float(np.finfo(dtype).eps)
    for regime, logits in _regimes(dtype).items():
        for row in logits:
            s_exact = _exact_softmax(row)
            jacobian = [[si * ((i == j) - sj) for j, sj in enumerate(s_exact)]
                        for i, si in enumerate(s_exact)]
            log_jacobian = [[(i == j) - sj for j, sj in enumerate(s_exact)]
                            for i in range(len(s_exact))]
            u = RNG.standard_normal(K).astype(dtype)
            s = softmax(row)
            label = int(np.argmax(row))
            gradient = [sj - (j == label) for j, sj in enumerate(s_exact)]
            errors = {
                "softmax_jacobian": _relative_error(softmax_jacobian(row), jacobian),
                "log_softmax_jacobian": _relative_error(log_softmax_jacobian(row), log_jacobian),
                "softmax_vjp": _relative_error(softmax_vjp(s, u), _exact_products(s_exact, u)),
                "softmax_jvp": _relative_error(softmax_jvp(s, u), _exact_products(s_exact, u)),
                "cross_entropy_grad": _relative_error(
                    cross_entropy_grad(row[None], [label], reduction="sum")[0], gradient),
            }
            for name, error in errors.items():
                assert error <= BOUND_ULPS * eps, f"{name}, {regime}, {dtype.__name__}: {error:.2g}"
