"""Write ``reference.npz``: the accuracy suite's logits and their values computed by mpmath.

Run once (``python tests/accuracy/make_reference.py``, about a minute) and commit the file; the
tests only read it. The logits are drawn with a fixed seed, rounded to the dtype they are meant for
(so they are exact inputs), and every reference is computed from those exact values with 50
significant digits, then stored as its correctly rounded float64 plus the residual in ulps
(``accuracy_data``).

Families, per dtype (the length family is shared: its logits are exact in all three dtypes):

* normal, scale 1, 10, 100: two rows of 500 logits from N(0, scale^2);
* near the overflow limits: logits around +-log(largest float), where ``exp`` overflows or
  underflows, and logits of +-1/8 and 1/4 of the largest float, whose differences nearly overflow;
* one dominant logit: a top logit 0 (or 3.5) and 99 others below it by a gap that makes their
  share of the mass run from 1e-2 down to below the dtype's rounding error;
* ties: several logits equal to the maximum, with and without a dominant gap below them;
* lengths 2 to 1e5: one row of multiples of 1/64 from N(0, 1) at each length 2, 10, ..., 10^5.
"""

from __future__ import annotations

import numpy as np
from accuracy_data import DTYPES, Case, float64_ulp, save
from mpmath import mp, mpf

mp.dps = 50

SEED = 20261129

# Gaps below the dominant logit, per dtype: 99 e^-gap runs from about 1e-2 to below eps.
DOMINANT_GAPS = {"float16": (6.0, 9.0, 12.0, 16.0), "float32": (6.0, 12.0, 18.0, 24.0),
                 "float64": (6.0, 20.0, 35.0, 45.0)}


def _split(value) -> tuple[float, float]:
    """``(hi, residual)``: the correctly rounded float64 and the rest in ulps of it."""
    hi = float(value)  # mpmath rounds to nearest
    if not np.isfinite(hi):
        return hi, 0.0
    return hi, float((value - mpf(hi)) / mpf(float(float64_ulp(hi))))


def _references(values: np.ndarray, inverse: np.ndarray) -> dict[str, np.ndarray]:
    exact = [mpf(float(v)) for v in values]
    counts = np.bincount(inverse, minlength=len(values))
    log_total = mp.log(mp.fsum(int(n) * mp.exp(v) for v, n in zip(exact, counts, strict=True)))
    per_value = {
        "softmax": [mp.exp(v - log_total) for v in exact],
        "log_softmax": [v - log_total for v in exact],
        "sigmoid": [1 / (1 + mp.exp(-v)) for v in exact],
        "logsumexp": [log_total],
    }
    return {name: tuple(np.array([_split(v) for v in column]).T)
            for name, column in per_value.items()}


def _case(family: str, dtypes: tuple[str, ...], row: np.ndarray) -> Case:
    values, inverse = np.unique(row, return_inverse=True)
    inverse = inverse.astype(np.uint16 if len(values) < 2**16 else np.int32)
    return Case(family, dtypes, values, inverse, _references(values, inverse))


def _rows(dtype: str, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    info = np.finfo(dtype)
    exp_limit = float(np.log(info.max))  # exp overflows above it
    rows = []
    for scale in (1, 10, 100):
        rows += [(f"normal, scale {scale}", scale * rng.standard_normal(500)) for _ in range(2)]
    rows += [
        ("near the overflow limits", exp_limit + rng.standard_normal(100)),
        ("near the overflow limits", exp_limit - 4 + 8 * rng.random(100)),
        ("near the overflow limits", -exp_limit + rng.standard_normal(100)),
        ("near the overflow limits",
         float(info.max) * np.array([0.25, -0.25, 0.125, -0.125, 0.0, 1.0, -1.0])),
    ]
    for gap in DOMINANT_GAPS[dtype]:
        for top in (0.0, 3.5):
            others = top - gap - np.abs(rng.standard_normal(99))
            rows.append(("one dominant logit", np.concatenate([[top], others])))
    for top, ties, gap in ((0.0, 2, 1.0), (3.25, 10, 1.0), (-7.5, 100, 0.0), (0.0, 3, 40.0)):
        others = top - gap - np.abs(rng.standard_normal(100 - ties))
        rows.append(("ties", np.concatenate([np.full(ties, top), others])))
    # Round to the dtype (what the user would pass), then keep the exact value in float64.
    return [(family, row.astype(dtype).astype(np.float64)) for family, row in rows]


def main() -> None:
    rng = np.random.default_rng(SEED)
    cases = []
    for length in (2, 10, 100, 1000, 10_000, 100_000):
        row = np.round(64 * rng.standard_normal(length)) / 64  # exact in float16 for |x| < 32
        cases.append(_case("lengths 2 to 1e5", DTYPES, row))
    for dtype in DTYPES:
        cases += [_case(family, (dtype,), row) for family, row in _rows(dtype, rng)]
    save(cases)
    print(f"wrote {len(cases)} cases")


if __name__ == "__main__":
    main()
