"""The environment ``run.py`` installs leaves out what nothing uses and every process would pay."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version


def test_unused_slow_imports_are_not_installed(run_py):
    installed = []
    for name in run_py.UNUSED_SLOW_IMPORTS:
        try:
            installed.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    assert installed == [], "run.py removes these after installing"


def test_regression_importing_nbformat_compiles_no_rfc3987_grammar():
    """jsonschema imports rfc3987_syntax whenever it is installed, and that module builds an
    Earley parser at import: 2 to 3 s of CPU in every process that imports nbformat, nbgrader's
    commands and the book's build among them."""
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys, nbformat; print(sorted(m for m in sys.modules if m.split('.')[0] in "
         "{'rfc3987_syntax', 'lark'}))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert loaded == "[]", f"importing nbformat imported {loaded}"
