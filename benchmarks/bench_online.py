"""online_softmax against the two-pass stable softmax, side by side in one run.

    python benchmarks/bench_online.py            # 1e3 .. 1e7 elements (about a minute)
    python benchmarks/bench_online.py --quick    # 1e3 .. 1e5

Both functions get the same 1-D float64 array of standard-normal logits. The online version reads
it in blocks of ``block_size`` with a Python loop over the blocks, so its cost is the vectorised
work (two reads of the input instead of three) plus a fixed cost per block; the table shows how
that fixed cost dominates for small blocks and vanishes for large ones. A ratio online/softmax
above 1 means the online version is slower.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from _timing import best_time, format_seconds, format_table, machine_info, ratio

from softmax_course import online_softmax, softmax

BLOCK_SIZES = (1024, 65_536)  # the default, and a block large enough to hide the loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 1e5 elements")
    parser.add_argument("--repeat", type=int, default=5, help="timing rounds (best is kept)")
    arguments = parser.parse_args()

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(machine_info(("numpy",)) + f" | {os.cpu_count()} logical CPUs | load average {load}")
    sizes = [10**p for p in range(3, 6 if arguments.quick else 8)]
    rng = np.random.default_rng(0)
    header = ["size", "block_size", "blocks", "softmax", "online", "online/softmax", "max |diff|"]
    rows = []
    for size in sizes:
        x = rng.standard_normal(size)  # (K,)
        softmax_time = best_time(lambda x=x: softmax(x), repeat=arguments.repeat)
        for block_size in BLOCK_SIZES:
            def online(x=x, block_size=block_size):
                return online_softmax(x, block_size=block_size)

            online_time = best_time(online, repeat=arguments.repeat)
            difference = float(np.max(np.abs(online() - softmax(x))))
            rows.append([f"{size:.0e}", block_size, -(-size // block_size),
                         format_seconds(softmax_time), format_seconds(online_time),
                         ratio(online_time, softmax_time), f"{difference:.1e}"])
    print(format_table(header, rows))


if __name__ == "__main__":
    main()
