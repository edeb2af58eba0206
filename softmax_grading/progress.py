"""A progress display for long grading runs: done/total, failures so far, rate and ETA.

On a terminal it is a tqdm bar, redrawn in place::

    grading:  45%|████▌     | 18/40 [00:31<00:38,  1.74s/submission, 2 failed]

Anywhere else (a log file, CI, a pipe) nothing is drawn while the run goes, and closing prints
one summary line::

    grading: 40/40 done, 2 failed, in 01:09 (0.58 submission/s)

Use it as a context manager in the thread that consumes results::

    with Progress(len(jobs), "grading", unit="submission") as progress:

        def graded(job, result):
            gradebook.record(job, result)
            progress.advance()

        def not_graded(job, error):
            gradebook.record_error(job, error)
            progress.advance(failed=True)
            progress.note(f"{job}: {error}")

        run_all(grade_submission, jobs, on_result=graded, on_failure=not_graded)
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import TextIO

from tqdm import tqdm

__all__ = ["Progress"]


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _terminal_columns(stream: TextIO) -> int:
    """The terminal's width, or 0 when unknown (not a terminal, or one that reports no size)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


class Progress:
    """Count finished items and show how far a run is.

    ``total``: how many items the run has. ``description``: a short label ("grading").
    ``unit``: what an item is called in the rate. ``file``: where to write (default: the
    current ``sys.stderr``). ``live``: draw the bar (True) or stay quiet until the one-line
    summary at :meth:`close` (False); default: live exactly when ``file`` is a terminal.
    """

    def __init__(
        self,
        total: int,
        description: str = "",
        *,
        unit: str = "job",
        file: TextIO | None = None,
        live: bool | None = None,
    ) -> None:
        self.total = total
        self.description = description
        self.unit = unit
        self.file = sys.stderr if file is None else file
        self.live = _is_terminal(self.file) if live is None else live
        self.done = 0
        self.failed = 0
        self._started = time.monotonic()
        self._closed = False
        self._bar: tqdm | None = None
        if self.live:
            # Follow the terminal's width as it is resized; a terminal that reports a width of 0
            # (a fresh pseudo-terminal, some containers) would get an empty bar: use 80 there.
            follow_width = _terminal_columns(self.file) > 0
            self._bar = tqdm(
                total=total,
                desc=description,
                unit=unit,
                file=self.file,
                dynamic_ncols=follow_width,
                ncols=None if follow_width else 80,
                smoothing=0,  # rate = average since the start: steadier ETA for uneven jobs
                leave=True,
                postfix="0 failed",
            )

    def advance(self, failed: bool = False) -> None:
        """Count one finished item; ``failed=True`` also counts it as a failure."""
        self.done += 1
        if failed:
            self.failed += 1
        if self._bar is not None:
            if failed:
                self._bar.set_postfix_str(f"{self.failed} failed", refresh=False)
            self._bar.update(1)

    def leave_out(self) -> None:
        """One item of the total will not run after all (found done already, or refused before
        it started): the total shrinks by one."""
        self.total -= 1
        if self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()

    def note(self, message: str) -> None:
        """Print a line of text without breaking the bar (e.g. which submission failed)."""
        if self._bar is not None:
            self._bar.write(message, file=self.file)
        else:
            print(message, file=self.file, flush=True)

    def summary(self) -> str:
        """One line: done/total, failures, elapsed time and the average rate."""
        elapsed = time.monotonic() - self._started
        rate = f"{self.done / elapsed:.2f} {self.unit}/s" if elapsed > 0 else "n/a"
        label = f"{self.description}: " if self.description else ""
        return (
            f"{label}{self.done}/{self.total} done, {self.failed} failed, "
            f"in {tqdm.format_interval(elapsed)} ({rate})"
        )

    def close(self) -> None:
        """Finish the display: leave the bar's final state, or print the summary line."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        else:
            print(self.summary(), file=self.file, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
