"""The notebooks' code fits the book's column and a printed page.

``ruff-notebooks.toml`` holds the rules: the project's ruff rules at 79 columns, which the code
column of the book holds at 1280 px (tests/browser/test_pages.py measures it). ``python3 run.py
test`` also runs both ruff commands in its lint step; this module names every offending cell when
run on its own. Figures are drawn at most ``MAX_FIGURE_WIDTH`` inches wide, the width the book's
column shows at full size: a wider one is shrunk, and its text with it.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from softmax_course.plotting import MAX_FIGURE_WIDTH

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_FOLDERS = ["book", "solutions", "exercises"]
CONFIG = "ruff-notebooks.toml"


def ruff() -> str:
    found = shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not on PATH; install the test tools: pip install -e '.[test]'")
    return found


def run_ruff(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ruff(), *arguments, "--config", CONFIG, *NOTEBOOK_FOLDERS],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_notebooks_pass_ruff_check() -> None:
    result = run_ruff("check", "--output-format", "concise")
    assert result.returncode == 0, result.stdout + result.stderr


def test_notebooks_are_ruff_formatted() -> None:
    result = run_ruff("format", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def figure_widths(source: str) -> list[float]:
    """The widths of every literal ``figsize=(width, height)`` in a cell's code."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: nothing to measure there
        return []
    widths = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "figsize":
            value = node.value
            if isinstance(value, ast.Tuple) and isinstance(value.elts[0], ast.Constant):
                widths.append(float(value.elts[0].value))
    return widths


def test_chapter_figures_fit_the_column() -> None:
    too_wide = []
    for path in sorted(REPO_ROOT.glob("book/*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            for width in figure_widths(cell.source):
                if width > MAX_FIGURE_WIDTH:
                    too_wide.append(f"{path.name} cell {index}: figsize width {width}")
    assert too_wide == [], (
        f"figures wider than {MAX_FIGURE_WIDTH} in are shrunk to the column:\n"
        + "\n".join(too_wide)
    )


# Every character below a space but the newline, and DEL. A LaTeX command written through a
# Python string without r"" loses its backslash this way (\big becomes a backspace and "ig",
# \text a tab and "ext"), and MathJax then fails on the page with an unhelpful message.
CONTROL_CHARACTER = re.compile("[\x00-\x09\x0b-\x1f\x7f]")


def test_no_cell_holds_a_control_character() -> None:
    found = []
    for folder in NOTEBOOK_FOLDERS:
        for path in sorted((REPO_ROOT / folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            notebook = nbformat.read(path, as_version=4)
            for index, cell in enumerate(notebook.cells):
                for match in CONTROL_CHARACTER.finditer(cell.source):
                    context = cell.source[max(0, match.start() - 20):match.end() + 20]
                    found.append(f"{path.relative_to(REPO_ROOT)} cell {index}: {context!r}")
    assert found == [], "control characters in cell sources:\n" + "\n".join(found)
