"""Accuracy against 50-digit references (``reference.npz``), in ulps of the result's dtype.

Error analysis behind the bounds (u = unit roundoff of the dtype the computation runs in; float16
runs in float32 and is rounded once at the end, so its error is that rounding, 1/2 ulp, plus a
float32 error that is a few 2^-13 of a float16 ulp):

* log_softmax and logsumexp: ``d = x - m`` is exact when it matters, the normalizer
  ``log1p(S)`` has the relative error of ``exp``, the sum and ``log1p``, and the final
  subtraction or addition rounds once: 2 ulps.
* softmax: ``exp(fl(x - m))`` is also off by the rounding of ``x - m`` itself, an absolute error
  of at most ``|x - m| u / 2`` in the exponent and so a relative error of the same size in the
  probability (the relative condition number of softmax in its logits is about ``|x_i|``, so any
  method that rounds its input is bound by it). Adding ``exp``'s own error (0.65 ulp for NumPy's
  float64 ``exp``, 2.2 for its float32 ``exp``, measured), the sum and the division: 6 ulps plus
  ``max |x - m|`` ulps (an ulp is between u and 2u of the value).
* sigmoid: float64 keeps ``exp``'s error and one division, 1.5 ulps; float32 and float16 are
  computed in float64 and rounded once, 0.51 ulp.

The comparison with SciPy allows ours 0.1 ulp more than SciPy's for float64 sigmoid only: SciPy's
``expit`` calls the C library's ``exp`` (0.5 ulp), NumPy's float64 ``exp`` is off by up to 0.65.
"""

from __future__ import annotations

import numpy as np
import pytest
from accuracy_data import DTYPES, FAMILIES, FUNCTIONS, OURS, SCIPY, load, max_errors, max_ulp_error

pytestmark = pytest.mark.filterwarnings("error")

CASES = load()


def _bound(function: str, dtype: str, logits: np.ndarray) -> float:
    if dtype == "float16":
        return 0.6
    if function == "softmax":
        with np.errstate(over="ignore"):  # a spread beyond the float range: no bound
            return 6.0 + float(np.max(logits) - np.min(logits))
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
            assert error <= _bound(function, dtype, case.logits), (
                f"{function} in {dtype} on a row of {family!r}: {error:.3g} ulps"
            )


def test_no_worse_than_scipy_on_any_family():
    ours, scipy_errors = max_errors(OURS), max_errors(SCIPY)
    for function in FUNCTIONS:
        for family in FAMILIES:
            for dtype in DTYPES:
                key = (function, family, dtype)
                slack = 0.1 if (function, dtype) == ("sigmoid", "float64") else 0.0
                assert ours[key] <= scipy_errors[key] + slack, (key, ours[key], scipy_errors[key])


def test_the_suite_covers_every_family_in_every_dtype():
    covered = {(case.family, dtype) for case in CASES for dtype in case.dtypes}
    assert covered == {(family, dtype) for family in FAMILIES for dtype in DTYPES}
