"""``python -m softmax_grading``: the instructor's grading flow.

A command that grades on this machine first starts the server its local workers will be forked
from (:func:`executors.preload_local_workers`), on a core its own start leaves free: the server
imports the grader and builds its first-time tables while this process imports nbgrader (about
a second of one core), and every worker then starts ready, in a fork. On a single core the
server starts with the first worker instead: started now, it would only slow the import down.
"""

import sys

from softmax_grading import arguments as command_line
from softmax_grading.executors import default_jobs, preload_local_workers

# Imported once in that server: what each worker needs before its first submission. By name:
# importing it here would cost this process the very imports the server does meanwhile.
WORKER_PRELOAD = "softmax_grading.worker_preload"

arguments = command_line.parse()
if command_line.grades_here(arguments):
    preload_local_workers(WORKER_PRELOAD, start_now=default_jobs() > 1)
from softmax_grading.cli import run  # noqa: E402  (imports nbgrader)

sys.exit(run(arguments))
