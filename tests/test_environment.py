"""The environment ``run.py`` installs leaves out what nothing uses and every process would pay."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _run_py():
    spec = importlib.util.spec_from_file_location("course_run_py", REPO_ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", _run_py().UNUSED_SLOW_IMPORTS)
def test_unused_slow_imports_are_not_installed(name):
    with pytest.raises(PackageNotFoundError):
        version(name)


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
