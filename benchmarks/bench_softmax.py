"""Time softmax, log_softmax, logsumexp and sigmoid against scipy.special, naive formulas, np.exp.

Run: ``python benchmarks/bench_softmax.py`` (about five minutes; ``--quick`` stops at 1e6).

For every size (1e3 .. 1e7 elements by default; ``--sizes 1 2`` adds 10 and 100), dtype
(float32, float64), layout (1-D, and from 100 elements up 2-D rows of 100 reduced along the
default axis=-1) and function, four candidates are timed side by side in the same process on the
same array, in turns. "naive" is the unshifted textbook formula (it only works
here because the logits are standard normal). "exp" is one ``np.exp`` pass over the same array
into a new one: the floor, since every softmax must at least do that. A ratio ours/scipy <= 1.00
means ours is at least as fast; ours/exp is how many exp passes ours costs. By default the clock
is the process CPU time (see ``_timing.CLOCKS``): NumPy's elementwise functions run on one thread,
and CPU time is not inflated by other processes on a busy machine.
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.special
from _timing import compare_times, format_seconds, format_table, machine_info, ratio

import softmax_course as sc

ROW_LENGTH = 100  # K of the 2-D layout: many short rows stress the per-row overhead


def naive_log_softmax(x):
    exponentials = np.exp(x)
    return np.log(exponentials / np.sum(exponentials, axis=-1, keepdims=True))


def naive_logsumexp(x):
    return np.log(np.sum(np.exp(x), axis=-1))


def naive_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


CANDIDATES = {
    # function: (ours, scipy, naive), each called with the default axis=-1
    "softmax": (sc.softmax, lambda x: scipy.special.softmax(x, axis=-1), sc.naive_softmax),
    "log_softmax": (
        sc.log_softmax,
        lambda x: scipy.special.log_softmax(x, axis=-1),
        naive_log_softmax,
    ),
    "logsumexp": (sc.logsumexp, lambda x: scipy.special.logsumexp(x, axis=-1), naive_logsumexp),
    # elementwise: the 2-D layout times the same work as the 1-D one
    "sigmoid": (sc.sigmoid, scipy.special.expit, naive_sigmoid),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 1e6 elements")
    parser.add_argument("--sizes", type=int, nargs="+", metavar="P",
                        help="time only 10**P elements for these P (default 3 to 7)")
    parser.add_argument("--functions", nargs="+", choices=list(CANDIDATES),
                        default=list(CANDIDATES), help="time only these functions (default: all)")
    parser.add_argument("--repeat", type=int, default=5, help="timing rounds (best is kept)")
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                        help="cpu: process CPU time, robust on a busy machine (default); wall")
    arguments = parser.parse_args()

    powers = arguments.sizes or range(3, 7 if arguments.quick else 8)
    sizes = [10**p for p in powers]
    rng = np.random.default_rng(0)
    rows = []
    for size in sizes:
        base = rng.standard_normal(size)
        for dtype in (np.float32, np.float64):
            for layout in ("1-D", "2-D") if size >= ROW_LENGTH else ("1-D",):
                x = base.astype(dtype)
                if layout == "2-D":
                    x = x.reshape(size // ROW_LENGTH, ROW_LENGTH)
                for name in arguments.functions:
                    ours, reference, naive = CANDIDATES[name]
                    # The same answer first: a fast wrong function would be no result at all.
                    np.testing.assert_allclose(ours(x), reference(x), rtol=1e-4, atol=1e-6)
                    times = compare_times(
                        [lambda f=f, x=x: f(x) for f in (ours, reference, naive, np.exp)],
                        repeat=arguments.repeat,
                        clock=arguments.clock,
                    )
                    rows.append(
                        [
                            f"{size:.0e}",
                            np.dtype(dtype).name,
                            layout,
                            name,
                            *(format_seconds(t) for t in times),
                            ratio(times[0], times[1]),
                            ratio(times[0], times[2]),
                            ratio(times[0], times[3]),
                        ]
                    )
    print(machine_info())
    print(f"{arguments.clock} time per call, best of {arguments.repeat} rounds taken in turns")
    print(
        format_table(
            ["size", "dtype", "shape", "function", "ours", "scipy", "naive", "exp",
             "ours/scipy", "ours/naive", "ours/exp"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
