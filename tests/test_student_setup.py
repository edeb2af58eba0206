"""A student's setup as the student guide gives it (issue 11, items 1, 2 and 13's first build).

* ``python3 run.py student`` installs the ``student`` extra (the course package, JupyterLab,
  nbgrader) and starts JupyterLab on ``exercises/``; Binder installs the same extra.
* Every chapter and exercise notebook starts with the install cell generated from
  ``repository.url``: it does nothing where ``softmax_course`` is installed, and installs it
  with pip from the repository's archive where it is not (Colab, a downloaded notebook).
* ``python3 run.py book`` says "first build" on a first build.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from packaging.requirements import Requirement

from softmax_grading import install_cell

REPO_ROOT = Path(__file__).resolve().parents[1]


# --- item 1: one command for a student, and Binder the same --------------------------------


def _student_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [Requirement(text) for text in project["project"]["optional-dependencies"]["student"]]


def test_the_student_extra_brings_jupyterlab_and_nbgrader():
    names = {requirement.name for requirement in _student_requirements()}
    assert {"jupyterlab", "nbgrader"} <= names
    # It resolves: the environment the tests run in installed it (the test extra includes it).
    for requirement in _student_requirements():
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            pytest.fail(f"{requirement.name} of the student extra is not installed")
        assert requirement.specifier.contains(installed, prereleases=True), (requirement,
                                                                              installed)
    bin_folder = Path(sys.executable).parent
    for command in ("jupyter-lab", "nbgrader"):
        assert (bin_folder / command).exists(), f"the student extra installs `{command}`"


def test_binder_installs_what_the_student_command_installs(run_py):
    lines = (REPO_ROOT / ".binder" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line.strip() and not line.startswith("#")] == [
        "-e .[student]"]
    # and removes what run.py removes after its install
    post_build = REPO_ROOT / ".binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "repo2docker runs postBuild only if it is executable"
    commands = [line for line in post_build.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith(("#", "set "))]
    assert commands == [f"python -m pip uninstall --yes {' '.join(run_py.UNUSED_SLOW_IMPORTS)}"]


def test_run_py_student_installs_the_extra_then_starts_jupyterlab_on_the_exercises(
        run_py, capsys):
    calls = []
    with mock.patch.object(run_py, "ensure_environment", lambda extra: calls.append(extra)), \
            mock.patch.object(run_py, "run", lambda command, **_: calls.append(command)):
        run_py.student(install_only=True)
        assert calls == ["student"]
        assert "jupyter lab --ServerApp.root_dir=" in capsys.readouterr().out
        run_py.student()
    lab = [str(part) for part in calls[-1]]
    assert calls[1] == "student"
    assert lab[0].endswith("/.venv/bin/jupyter") and lab[1] == "lab"
    assert lab[2] == f"--ServerApp.root_dir={REPO_ROOT / 'exercises'}"


def test_run_py_accepts_the_student_task(run_py):
    with mock.patch.object(sys, "argv", ["run.py", "student", "--install-only"]), \
            mock.patch.object(run_py, "student") as student:
        run_py.main()
    student.assert_called_once_with(install_only=True)


# --- item 2: the install cell ---------------------------------------------------------------


def test_every_notebook_starts_with_the_current_install_cell():
    notebooks = install_cell.notebooks(REPO_ROOT)
    assert len(notebooks) >= 24  # the chapters, the instructor notebooks, the releases
    assert install_cell.main(["--check", "--root", str(REPO_ROOT)]) == 0, (
        "run `python -m softmax_grading.install_cell` (release does it for solutions/)")
    source = install_cell.cell_source(REPO_ROOT)
    for path in notebooks:
        cell = nbformat.read(path, as_version=4).cells[1]
        assert cell.source == source and "remove-cell" in cell.metadata["tags"], path


def test_the_install_cell_follows_repository_url(tmp_path):
    config = (REPO_ROOT / "_config.yml").read_text(encoding="utf-8")
    url = install_cell.yaml.safe_load(config)["repository"]["url"]
    assert install_cell.package_address(REPO_ROOT) == f"{url}/archive/refs/heads/main.zip"
    (tmp_path / "_config.yml").write_text(config.replace(url, "https://github.com/a-fork/course"))
    source = install_cell.cell_source(tmp_path)
    assert "https://github.com/a-fork/course/archive/refs/heads/main.zip" in "".join(
        line.strip().strip('"') for line in source.splitlines())
    assert url not in source
    # Release rewrites the instructor notebooks' cell (and only it) for the fork's address.
    notebook = tmp_path / "solutions" / "ch01_definition" / "ch01_definition.ipynb"
    notebook.parent.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "solutions" / "ch01_definition" / "ch01_definition.ipynb", notebook)
    before = nbformat.read(notebook, as_version=4)
    assert install_cell.update([notebook], tmp_path) == [notebook]
    after = nbformat.read(notebook, as_version=4)
    assert after.cells[1].source == source
    assert [c.source for c in after.cells[2:]] == [c.source for c in before.cells[2:]]
    assert install_cell.update([notebook], tmp_path) == []  # a second run changes nothing


def test_the_install_cell_fits_the_notebooks_line_length():
    assert max(len(line) for line in install_cell.cell_source(REPO_ROOT).splitlines()) <= 79


def _run_cell(missing: bool) -> mock.MagicMock:
    """Run the install cell with softmax_course installed or not; pip is never really run."""
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args):
        return None if missing and name == "softmax_course" else real_find_spec(name, *args)

    with mock.patch("importlib.util.find_spec", find_spec), \
            mock.patch("subprocess.run") as pip, contextlib.redirect_stdout(io.StringIO()):
        exec(compile(install_cell.cell_source(REPO_ROOT), "<install cell>", "exec"), {})
    return pip


def test_the_install_cell_does_nothing_where_the_package_is_installed():
    assert not _run_cell(missing=False).called


def test_the_install_cell_installs_the_package_with_pip_where_it_is_missing():
    pip = _run_cell(missing=True)
    (command,), options = pip.call_args
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert command[-1] == install_cell.package_address(REPO_ROOT)
    assert options == {"check": True}


# --- item 13: the first build says so ---------------------------------------------------------


def test_the_first_build_says_first_build_and_a_changed_input_says_changed(
        run_py, tmp_path, capsys):
    html = tmp_path / "_build" / "html"
    with mock.patch.object(run_py, "BUILD_HTML", html), \
            mock.patch.object(run_py, "STAMPS", tmp_path / ".stamps"), \
            mock.patch.object(run_py, "ensure_environment", lambda extra: None), \
            mock.patch.object(run_py, "run", lambda command, **_: html.mkdir(parents=True,
                                                                             exist_ok=True)):
        run_py.build_book()
        first = capsys.readouterr().out
        (tmp_path / ".stamps" / "book-inputs").write_text("an older fingerprint")
        run_py.build_book()
        changed = capsys.readouterr().out
        run_py.build_book()
        unchanged = capsys.readouterr().out
    assert "first build here: executing every chapter" in first
    assert "changed" not in first
    assert "the package or the book's configuration changed" in changed
    assert "executing every chapter" not in unchanged


# --- items 3 and 4: what `nbgrader validate` shows a student ---------------------------------

GUIDE = REPO_ROOT / "book" / "student_guide.md"
NAIVE_SOFTMAX = """def softmax(z, axis=-1):
    exps = np.exp(z)
    return exps / np.sum(exps, axis=axis, keepdims=True)
"""
LOG_SOFTMAX_WITHOUT_KEEPDIMS = """def log_softmax(z, axis=-1):
    m = np.max(z, axis=axis)
    return z - m - np.log(np.sum(np.exp(z - m), axis=axis))
"""


def _guide_block(first_line: str) -> str:
    """The quoted output in the student guide that starts with `first_line` (dedented)."""
    blocks = GUIDE.read_text(encoding="utf-8").split("```text\n")[1:]
    for block in blocks:
        lines = [line[2:] if line.startswith("  ") else line
                 for line in block.split("```")[0].rstrip().splitlines()]
        if lines and lines[0].strip() == first_line:
            return "\n".join(lines)
    raise AssertionError(f"the student guide quotes no output starting {first_line!r}")


def _validate(tmp_path: Path, assignment: str, answers: dict[str, str]) -> str:
    """`nbgrader validate` on a released notebook with `answers` typed in, as the guide says."""
    notebook_path = tmp_path / f"{assignment}.ipynb"
    notebook = nbformat.read(REPO_ROOT / "exercises" / assignment / notebook_path.name,
                             as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    nbformat.write(notebook, notebook_path)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(["nbgrader", "validate", notebook_path.name], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_validate_shows_the_hint_whole_as_the_guide_quotes_it(tmp_path):
    output = _validate(tmp_path, "ch01_definition", {
        "softmax_impl": NAIVE_SOFTMAX, "ratio_impl": "ratio_answer = 12.0\n",
        "dof_impl": "dof_answer = 4\n", "sharper_impl": 'sharper_answer = "b"\n'})
    assert "VALIDATION FAILED ON 2 CELL(S)!" in output  # the naive softmax and the written answer
    quoted = _guide_block("CheckFailure: softmax returned nan for the logits [1000, 999].")
    assert "\n".join(f"    {line.strip()}" for line in quoted.splitlines()) in output
    # Nothing of a check's message is cut: validate ends a cut line with "...".
    for line in output.splitlines():
        if line.strip().startswith(("CheckFailure:", "Hint:", "NumPy warned:")):
            assert not line.endswith("..."), line


@pytest.mark.slow
def test_validate_explains_a_crash_as_the_guide_quotes_it(tmp_path):
    output = _validate(tmp_path, "ch04_logsumexp",
                       {"log_softmax_impl": LOG_SOFTMAX_WITHOUT_KEEPDIMS})
    quoted = _guide_block(
        "CheckFailure: log_softmax raised ValueError for a batch of 2 rows (axis=-1).")
    assert "\n".join(f"    {line}" for line in quoted.splitlines()) in output
    assert "operands could not be broadcast" in output
