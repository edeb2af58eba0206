"""Print the accuracy table: max ULP error of ours and of SciPy per function, family and dtype.

Run: ``python tests/accuracy/report.py`` (a few seconds). The references are the 50-digit values
of ``reference.npz`` (see ``make_reference.py``); an error is measured in ulps of the result's
dtype (``accuracy_data.max_ulp_error``). "inf" means a wrong infinity or a NaN.
"""

from __future__ import annotations

import numpy as np
from accuracy_data import DTYPES, FAMILIES, FUNCTIONS, OURS, SCIPY, max_errors


def _format(error: float) -> str:
    return "inf" if not np.isfinite(error) else f"{error:.3g}"


def main() -> None:
    ours, scipy_errors = max_errors(OURS), max_errors(SCIPY)
    header = "| function | family | " + " | ".join(
        f"{dtype} ours | {dtype} SciPy" for dtype in DTYPES) + " |"
    print(header)
    print("|" + "---|" * (2 + 2 * len(DTYPES)))
    for function in FUNCTIONS:
        for family in FAMILIES:
            cells = []
            for dtype in DTYPES:
                key = (function, family, dtype)
                cells += [_format(ours[key]), _format(scipy_errors[key])]
            print(f"| {function} | {family} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
