"""Grading processes stay light: a worker imports the sandbox machinery, not nbgrader, and a
command does not import what nbgrader imports but never uses here.

Every local worker process imports ``softmax_grading.grade_one``; importing nbgrader there cost
about 3 s per worker (its server extensions pull in Jupyter's web stack), which the benchmark
measured as most of a small class's fixed cost. Only the trusted writer needs nbgrader.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import softmax_grading


def test_importing_the_worker_function_does_not_import_nbgrader() -> None:
    probe = ("import sys, softmax_grading.grade_one\n"
             "print(sorted(name for name in sys.modules if name.split('.')[0] == 'nbgrader'))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_what_the_command_reads_before_starting_its_workers_does_not_import_nbgrader() -> None:
    # `python -m softmax_grading` parses its arguments and starts its local workers' server with
    # these two modules, and imports nbgrader (a second of one core) while the server starts.
    probe = ("import sys, softmax_grading.arguments, softmax_grading.executors\n"
             "print(sorted({name.split('.')[0] for name in sys.modules}\n"
             "             & {'nbgrader', 'nbconvert', 'sqlalchemy', 'numpy'}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_a_grading_command_imports_neither_setuptools_nor_rfc3987_syntax() -> None:
    probe = ("import sys, softmax_grading.cli\n"
             "print(sorted(name for name in sys.modules if name.split('.')[0] in "
             "('setuptools', 'pkg_resources') and sys.modules[name] is not None\n"
             "             and not getattr(sys.modules[name], '__doc__', '').endswith("
             "'(see softmax_grading/__init__.py)')))\n"
             "print(sys.modules.get('rfc3987_syntax', 'absent'))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split("\n")[:2] == ["[]", "None"], result.stdout


def test_nbgraders_unzip_still_unpacks_with_the_real_setuptools(tmp_path) -> None:
    probe = """
import sys, zipfile
from pathlib import Path
import softmax_grading.cli
from nbgrader.utils import unzip
folder = Path(sys.argv[1])
with zipfile.ZipFile(folder / "submission.zip", "w") as archive:
    archive.writestr("ch01/answer.txt", "softmax")
(folder / "out").mkdir()
unzip(str(folder / "submission.zip"), str(folder / "out"))
print((folder / "out" / "ch01" / "answer.txt").read_text())
print(sys.modules["setuptools.archive_util"].__file__.endswith("archive_util.py"))
"""
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["softmax", "True"], result.stdout + result.stderr


def test_the_worker_preload_leaves_a_ready_worker_set_to_one_blas_thread() -> None:
    # `python -m softmax_grading` has its local workers forked from a server that imported
    # this module (softmax_grading/__main__.py): each then starts with the grader imported,
    # its first-time tables built, and one BLAS thread, and without nbgrader.
    probe = ("import os, sys\n"
             "import softmax_grading.worker_preload\n"
             "from softmax_course import testing\n"
             "print(os.environ['OPENBLAS_NUM_THREADS'], 'softmax_grading.grade_one' in sys.modules,"
             " testing._build_forbidden.cache_info().currsize,"
             " sorted(name for name in sys.modules if name.split('.')[0] == 'nbgrader'))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "4"})
    assert result.stdout.split() == ["1", "True", "1", "[]"], result.stdout + result.stderr
    command = Path(softmax_grading.__file__).with_name("__main__.py").read_text()
    assert '"softmax_grading.worker_preload"' in command  # the module the command preloads
