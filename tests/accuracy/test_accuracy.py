"""Accuracy against 50-digit references (``reference.npz``), in ulps of the result's dtype.

Error analysis behind the bounds (u = unit roundoff of the dtype the computation runs in; float16
runs in float32 and is rounded once at the end, so its error is that rounding, 1/2 ulp, plus a
float32 error that is a few 2^-13 of a float16 ulp):

* log_softmax and logsumexp: ``d = x - m`` is exact when it matters, the normalizer
  ``log1p(S)`` has the relative error of ``exp``, the sum and ``log1p``, and the final
  subtraction or addition rounds once: 2 ulps.
* softmax: arrays of 1024 elements and more shift by a ``c`` for which ``x - c`` is exact
  wherever the probability is a normal number (``c`` is 0, ``m`` or an integer,
  ``stable._lossless_shift``), so the error is ``exp``'s own (0.65 ulp for NumPy's float64
  ``exp``, 2.2 for its float32 ``exp``, measured) in the weight and again, averaged, in the
  normalizer, plus the sum and the division: 6 ulps. Smaller arrays subtract ``m`` with its
  rounding error added back (``stable._softmax_of_a_small_array``): the largest weight is exactly
  1, float32 is computed in float64 and rounded once (0.5 ulp), and float64 keeps ``exp``'s error,
  the normalizer's one rounding and the division's. Subtracting the maximum plainly, as SciPy
  does, would add the rounding of ``x - m``: up to ``|x - m| u / 2`` in the exponent, so the
  same relative error in the probability (438 ulps at scale 100 in float64).
* sigmoid: float64 keeps ``exp``'s error (0.65 ulp of ``e``, up to twice that in ulps of a
  result with a smaller significand) and the one rounding of the corrected quotient, 1.5 ulps;
  float32 and float16 are computed in float64 and rounded once, 0.51 ulp.
"""

from __future__ import annotations

import pytest
from accuracy_data import DTYPES, FAMILIES, FUNCTIONS, OURS, SCIPY, load, max_errors, max_ulp_error

pytestmark = pytest.mark.filterwarnings("error")

CASES = load()



def _bound(function: str, dtype: str) -> float:
    if dtype == "float16":
        return 0.6
    if function == "softmax":
        return 6.0
    if function == "sigmoid":
        return 1.5 if dtype == "float64" else 0.51
    return 2.0


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("family", FAMILIES)
def test_error_is_within_the_analysed_bound(function, family):
    for case in (case for case in CASES if case.family == family):
        for dtype in case.dtypes:
            logits = case.logits.astype(dtype)
            error = max_ulp_error(OURS[function](logits), *case.reference(function), dtype)
            assert error <= _bound(function, dtype), (
                f"{function} in {dtype} on a row of {family!r}: {error:.3g} ulps"
            )


def test_no_worse_than_scipy_on_any_family():
    ours, scipy_errors = max_errors(OURS), max_errors(SCIPY)
    for function in FUNCTIONS:
        for family in FAMILIES:
            for dtype in DTYPES:
                key = (function, family, dtype)
                assert ours[key] <= scipy_errors[key], (key, ours[key], scipy_errors[key])


def test_the_suite_covers_every_family_in_every_dtype():
    covered = {(case.family, dtype) for case in CASES for dtype in case.dtypes}
    assert covered == {(family, dtype) for family in FAMILIES for dtype in DTYPES}
