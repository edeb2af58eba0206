"""flash_attention against scaled_dot_product_attention: time and peak memory, side by side.

    python benchmarks/bench_flash.py            # L = S = 4096, d = 64 (about a minute)
    python benchmarks/bench_flash.py --quick    # L = S = 1024, d = 64 (a few seconds)
    python benchmarks/bench_flash.py --sweep    # also time a grid of (block_q, block_k)

The goal of the tiled version: a peak memory at most 1/20 of the plain version's at no more than
1.5 times its time. Time is the best of several runs (``_timing.best_time``). Peak memory is the
largest amount of memory allocated at once during one call beyond what was allocated before it,
measured with ``tracemalloc`` by ``softmax_course.testing.peak_memory`` (NumPy reports its array
buffers to it); the inputs are allocated before the measurement starts and so are not counted.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from _timing import best_time, format_seconds, format_table, machine_info, ratio

from softmax_course import flash_attention, scaled_dot_product_attention, testing
from softmax_course.flash import DEFAULT_BLOCK_K, DEFAULT_BLOCK_Q

GOAL_LENGTH = 4096  # the goals are set for L = S = 4096, d = 64
MEMORY_GOAL = 20.0  # the plain version's peak divided by the tiled one's, at least
TIME_GOAL = 1.5  # the tiled version's time divided by the plain one's, at most


def mebibytes(count: int) -> str:
    return f"{count / 2**20:.1f} MiB"


def make_inputs(length: int, width: int, dtype: type) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    return tuple(rng.standard_normal((length, width)).astype(dtype) for _ in range(3))  # (L, d)


def compare(length: int, width: int, repeat: int) -> None:
    print(f"L = S = {length}, d = dv = {width}, no batch axes; flash_attention with "
          f"block_q = {DEFAULT_BLOCK_Q}, block_k = {DEFAULT_BLOCK_K} (the defaults)")
    header = ["dtype", "causal", "plain time", "flash time", "time ratio", "plain peak",
              "flash peak", "memory ratio", "max |diff|"]
    judged = length == GOAL_LENGTH  # smaller sizes are dominated by the (L, dv) output itself
    if judged:
        header.append("goal met")
    rows = []
    for dtype in (np.float64, np.float32):
        q, k, v = make_inputs(length, width, dtype)
        for causal in (False, True):
            def plain(q=q, k=k, v=v, causal=causal):
                return scaled_dot_product_attention(q, k, v, is_causal=causal)

            def flash(q=q, k=k, v=v, causal=causal):
                return flash_attention(q, k, v, is_causal=causal)

            # Alternate the two so that a slow phase of the machine hits both, then keep the best.
            plain_time = flash_time = float("inf")
            for _ in range(2):
                plain_time = min(plain_time, best_time(plain, repeat=repeat, calibrate=False))
                flash_time = min(flash_time, best_time(flash, repeat=repeat, calibrate=False))
            plain_peak, flash_peak = testing.peak_memory(plain), testing.peak_memory(flash)
            difference = float(np.max(np.abs(plain() - flash())))
            row = [np.dtype(dtype).name, causal, format_seconds(plain_time),
                   format_seconds(flash_time), ratio(flash_time, plain_time),
                   mebibytes(plain_peak), mebibytes(flash_peak),
                   f"{plain_peak / flash_peak:.1f}", f"{difference:.1e}"]
            if judged:
                met = (flash_time / plain_time <= TIME_GOAL
                       and plain_peak / flash_peak >= MEMORY_GOAL)
                row.append("yes" if met else "NO")
            rows.append(row)
    print(format_table(header, rows))
    print(f"time ratio = flash / plain (goal <= {TIME_GOAL}); memory ratio = plain peak / flash "
          f"peak (goal >= {MEMORY_GOAL:g}); the goals apply at L = S = {GOAL_LENGTH}.")


def sweep(length: int, width: int, repeat: int) -> None:
    print(f"\nBlock-size sweep, float64, not causal, L = S = {length}, d = {width} (the plain "
          f"version is timed again beside every row, so each ratio compares neighbours in time):")
    q, k, v = make_inputs(length, width, np.float64)

    def plain():
        return scaled_dot_product_attention(q, k, v)

    plain_peak = testing.peak_memory(plain)
    header = ["block_q", "block_k", "tiles", "plain time", "flash time", "time ratio",
              "flash peak", "memory ratio"]
    rows = []
    for block_q in (64, 128, 256, 512):
        for block_k in (64, 256, 512, 1024):
            if block_q > length or block_k > length:
                continue

            def flash(block_q=block_q, block_k=block_k):
                return flash_attention(q, k, v, block_q=block_q, block_k=block_k)

            plain_time = best_time(plain, repeat=repeat, calibrate=False)
            flash_time = best_time(flash, repeat=repeat, calibrate=False)
            flash_peak = testing.peak_memory(flash)
            tiles = -(-length // block_q) * -(-length // block_k)
            rows.append([block_q, block_k, tiles, format_seconds(plain_time),
                         format_seconds(flash_time), ratio(flash_time, plain_time),
                         mebibytes(flash_peak), f"{plain_peak / flash_peak:.1f}"])
    print(f"plain peak: {mebibytes(plain_peak)}")
    print(format_table(header, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L = S = 1024 instead of 4096")
    parser.add_argument("--sweep", action="store_true", help="also time a grid of block sizes")
    args = parser.parse_args()
    length = 1024 if args.quick else 4096
    repeat = 3
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(machine_info(("numpy",)) + f" | {os.cpu_count()} logical CPUs | load average {load}"
          f" | OPENBLAS_NUM_THREADS={threads}")
    if os.getloadavg()[0] > 1.0:
        # Measured on the course machine: with other processes running, OpenBLAS's threads wait
        # for each other at every matmul, and the tiled version makes one pair of matmuls per
        # tile (256 at the full size) where the plain one makes one pair in all, so its time
        # suffers far more.
        print("WARNING: the machine is busy; threaded BLAS calls wait for each other and the "
              "tiled version, which makes many small ones, suffers most. Rerun when it is idle, "
              "or with OPENBLAS_NUM_THREADS=1 for a contention-proof comparison.")
    compare(length, 64, repeat)
    if args.sweep:
        sweep(length, 64, repeat)


if __name__ == "__main__":
    main()
