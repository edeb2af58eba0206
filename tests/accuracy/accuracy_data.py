"""The accuracy suite's inputs, its 50-digit references, and the ULP error measure.

``make_reference.py`` writes ``reference.npz`` with :func:`save`; the test and ``report.py`` read
it with :func:`load` and measure with :func:`max_ulp_error`. Each case is one row of logits. Its
values are stored once per distinct value (``values``) with the row as indices into them
(``inverse``): softmax, log-softmax and sigmoid of a logit depend on the row only through its
log-sum-exp, so one reference per distinct value serves every position holding it. The rows of the
length family are multiples of 1/64 drawn from N(0, 1), about 700 distinct values even for 10^5
logits, which keeps the data small.

A reference is stored as a float64 ``hi`` (the correctly rounded value) and ``residual``, the rest
of the exact value in units of ``np.spacing(hi)`` (a number in [-1/2, 1/2]): float64 results are
then measured to a fraction of an ulp.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.special

import softmax_course

REFERENCE_FILE = Path(__file__).with_name("reference.npz")

FUNCTIONS = ("softmax", "log_softmax", "logsumexp", "sigmoid")
DTYPES = ("float16", "float32", "float64")
FAMILIES = (
    "normal, scale 1",
    "normal, scale 10",
    "normal, scale 100",
    "near the overflow limits",
    "one dominant logit",
    "ties",
    "lengths 2 to 1e5",
)


@dataclass(frozen=True)
class Case:
    """One row of logits, the dtypes it is evaluated in, and its references."""

    family: str
    dtypes: tuple[str, ...]
    values: np.ndarray  # float64, the distinct logits (each exactly representable in dtypes)
    inverse: np.ndarray  # the row: logits = values[inverse]
    references: dict[str, tuple[np.ndarray, np.ndarray]]  # function -> (hi, residual) per value

    @property
    def logits(self) -> np.ndarray:
        return self.values[self.inverse]

    def reference(self, function: str) -> tuple[np.ndarray, np.ndarray]:
        """``(hi, residual)`` of ``function`` at every position of the row (a scalar pair for
        logsumexp)."""
        hi, residual = self.references[function]
        if function == "logsumexp":
            return hi[0], residual[0]
        return hi[self.inverse], residual[self.inverse]


def float64_ulp(hi):
    """``np.spacing(|hi|)``, the unit of the residuals; at the largest float64 (whose spacing
    overflows) the spacing of its binade."""
    magnitude = np.abs(np.asarray(hi, dtype=np.float64))
    with np.errstate(over="ignore"):
        spacing = np.spacing(magnitude)
    return np.where(np.isinf(spacing), magnitude - np.nextafter(magnitude, 0.0), spacing)


def save(cases: list[Case], path: Path = REFERENCE_FILE) -> None:
    index = json.dumps([[case.family, list(case.dtypes)] for case in cases])
    arrays: dict[str, np.ndarray] = {"index": np.array(index)}
    for number, case in enumerate(cases):
        arrays[f"{number}/values"] = case.values
        arrays[f"{number}/inverse"] = case.inverse
        for function, (hi, residual) in case.references.items():
            arrays[f"{number}/{function}/hi"] = hi
            # |residual| <= 1/2 and a few digits of it are plenty: float16 halves the file
            arrays[f"{number}/{function}/residual"] = residual.astype(np.float16)
    np.savez_compressed(path, **arrays)


def load(path: Path = REFERENCE_FILE) -> list[Case]:
    with np.load(path, allow_pickle=False) as data:
        index = json.loads(str(data["index"]))
        return [
            Case(family, tuple(dtypes), data[f"{n}/values"], data[f"{n}/inverse"],
                 {function: (data[f"{n}/{function}/hi"],
                             data[f"{n}/{function}/residual"].astype(np.float64))
                  for function in FUNCTIONS})
            for n, (family, dtypes) in enumerate(index)
        ]


def max_ulp_error(result, hi, residual, dtype) -> float:
    """Largest error of ``result`` in ulps of ``dtype`` at the exact value ``hi + residual ulp``.

    The ulp is the spacing of ``dtype`` at the exact value rounded to ``dtype`` (for results below
    the smallest normal number it is the subnormal spacing: an absolute error). Where the exact
    value rounds to an infinity in ``dtype``, the result must be that infinity; a NaN result, or
    an infinite result for a finite reference, is an infinite error.
    """
    dtype = np.dtype(dtype)
    result = np.asarray(result, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    residual = np.asarray(residual, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = hi.astype(dtype)  # the correctly rounded value, up to double rounding
        ulp = np.spacing(np.abs(rounded)).astype(np.float64)
        error = np.abs((result - hi) - residual * float64_ulp(hi)) / ulp
    error = np.where(np.isinf(rounded), np.where(result == rounded, 0.0, np.inf), error)
    error = np.where(np.isnan(error), np.inf, error)
    return float(np.max(error)) if error.size else 0.0


OURS = {
    "softmax": softmax_course.softmax,
    "log_softmax": softmax_course.log_softmax,
    "logsumexp": softmax_course.logsumexp,
    "sigmoid": softmax_course.sigmoid,
}
SCIPY = {
    "softmax": lambda x: scipy.special.softmax(x, axis=-1),
    "log_softmax": lambda x: scipy.special.log_softmax(x, axis=-1),
    "logsumexp": lambda x: scipy.special.logsumexp(x, axis=-1),
    "sigmoid": scipy.special.expit,
}


def max_errors(implementations) -> dict[tuple[str, str, str], float]:
    """``(function, family, dtype) -> max ULP error`` of ``implementations`` over every case."""
    worst: dict[tuple[str, str, str], float] = {}
    with np.errstate(all="ignore"):  # SciPy's float16 sums overflow on the long rows
        for case in load():
            for dtype in case.dtypes:
                logits = case.logits.astype(dtype)
                for function in FUNCTIONS:
                    # SciPy returns float32 for some float16 input: a float16 user rounds it
                    result = np.asarray(implementations[function](logits)).astype(dtype)
                    error = max_ulp_error(result, *case.reference(function), dtype)
                    key = (function, case.family, dtype)
                    worst[key] = max(worst.get(key, 0.0), error)
    return worst
