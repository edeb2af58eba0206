"""Tiny shared timing helpers for the benchmarks (not part of the test run).

Every benchmark times its candidates side by side in the same process with the same inputs, in
turns (``compare_times``), keeps the best of several repeats (the minimum is the least noisy
estimate of the cost of the code itself: noise from other processes only ever adds time), and
prints a plain-text table with ratios. The timing itself is the standard library's ``timeit``:
``Timer.autorange`` picks how many calls make a round, ``Timer.timeit`` times a round with the
garbage collector paused; this module only adds the round-robin order.
"""

from __future__ import annotations

import platform
import time
import timeit
from collections.abc import Callable, Sequence
from importlib import metadata

#: Clocks a benchmark may time with. "wall" is elapsed time (right for multi-threaded code such as
#: BLAS matrix products). "cpu" is the CPU time of this process, which does not count the time
#: the process waits while other processes use the cores: on a busy machine it is far less noisy
#: than wall time, and for single-threaded NumPy code it measures the same work.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def compare_times(
    funcs: Sequence[Callable[[], object]],
    *,
    repeat: int = 5,
    clock: str = "wall",
    calibrate: bool = True,
) -> list[float]:
    """Best time in seconds of one call of each ``func()``, measured side by side.

    With ``calibrate``, ``timeit.Timer.autorange`` first finds for each candidate how many
    back-to-back calls make a round of at least 0.2 s (it also serves as a warm-up: first-touch
    page faults and lazy imports do not belong to the measurement); without it, a round is one
    call (for candidates that take long on their own), after one warm-up call. The candidates
    then take turns within every round (round-robin), so that a burst of load from another
    process slows all of them alike instead of one; the best of ``repeat`` rounds is kept for
    each. ``clock`` is a key of ``CLOCKS``.
    """
    timers = [timeit.Timer(func, timer=CLOCKS[clock]) for func in funcs]
    if calibrate:
        numbers = [timer.autorange()[0] for timer in timers]
    else:
        for func in funcs:
            func()  # the warm-up call
        numbers = [1] * len(funcs)
    best = [float("inf")] * len(funcs)
    for _ in range(repeat):
        for i, (timer, number) in enumerate(zip(timers, numbers, strict=True)):
            best[i] = min(best[i], timer.timeit(number) / number)
    return best


def best_time(func: Callable[[], object], *, repeat: int = 5, clock: str = "wall",
              calibrate: bool = True) -> float:
    """Best time in seconds of one call of ``func()`` over ``repeat`` rounds."""
    return compare_times([func], repeat=repeat, clock=clock, calibrate=calibrate)[0]


def cpu_model() -> str:
    """CPU model name from ``/proc/cpuinfo`` (falls back to ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_info(packages: Sequence[str] = ("numpy", "scipy")) -> str:
    """One line naming the CPU, Python and the versions of ``packages``."""
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return f"CPU: {cpu_model()} | Python {platform.python_version()} | " + ", ".join(versions)


def format_seconds(seconds: float) -> str:
    """Human-readable duration with a unit chosen so that 3 significant digits show."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Plain-text table, columns right-aligned and sized to their widest cell."""
    cells = [[str(cell) for cell in header]] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
             for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def ratio(numerator: float, denominator: float) -> str:
    """``numerator / denominator`` to two decimals (a ratio below 1 means the first is faster)."""
    return f"{numerator / denominator:.2f}"
