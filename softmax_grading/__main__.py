"""``python -m softmax_grading``: the instructor's grading flow.

A command that grades on this machine starts workers first, on the cores its own start leaves
free: they start, and do their first-time work, while this process imports nbgrader (about a
second of one core). With one core left to this process, grading begins about 0.3 s sooner;
a worker started on that core too would only slow the import down.
"""

import argparse
import contextlib
import sys

from softmax_grading import arguments as command_line
from softmax_grading.executors import LocalWorkers, default_jobs

# What a worker started ahead does first, by name: importing it here would cost this process the
# very imports the worker does meanwhile.
WORKER_WARM_UP = ("softmax_grading.grade_one", "warm_up")


def _workers_started_ahead(arguments: argparse.Namespace) -> contextlib.AbstractContextManager:
    if not command_line.grades_here(arguments):
        return contextlib.nullcontext()
    cores = default_jobs()
    jobs = arguments.jobs or cores
    ahead = min(jobs, cores - 1)  # one core for this process
    if ahead < 1:
        return contextlib.nullcontext()
    return LocalWorkers(jobs, WORKER_WARM_UP, ahead)


arguments = command_line.parse()
with _workers_started_ahead(arguments) as workers:
    from softmax_grading.cli import run  # imports nbgrader

    status = run(arguments, workers)
sys.exit(status)
