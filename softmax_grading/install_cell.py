"""The install cell: the one code cell that lets a notebook run on Colab or from a download.

Every chapter (``book/NN_*.ipynb``) and every exercise (``solutions/`` and
its release in ``exercises/``) starts, right after its title, with the same
code cell. Where ``softmax_course`` is importable (the course's ``.venv``,
Binder, a JupyterHub, the book's build, nbval, the grading sandbox) it does
nothing; elsewhere (Colab, a notebook downloaded from the book) it installs
the package with pip from the course repository's archive, which needs
neither git nor any editing by the student.

The address is built from ``repository.url`` and ``repository.branch`` in
``_config.yml``, the setting a fork changes, so the cell's text is generated,
never typed. ``python -m softmax_grading release`` rewrites the cell in the
instructor notebooks before releasing them; for the chapters, and to check
everything at once::

    python -m softmax_grading.install_cell          # rewrite every notebook's cell
    python -m softmax_grading.install_cell --check  # exit 1 if any cell is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
# The cell is found by this tag; "remove-cell" keeps it off the book's pages (the page
# runs where the package is installed) while the downloaded notebook keeps it.
TAG = "install-course"
TAGS = [TAG, "remove-cell"]
# Lines of the generated code stay within the notebooks' 79 columns (ruff-notebooks.toml).
_URL_PIECE = 60


def package_address(root: Path = ROOT) -> str:
    """What pip installs: the branch's archive on GitHub, otherwise ``git+URL@branch``."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repository = config["repository"]
    url = str(repository["url"]).rstrip("/").removesuffix(".git")
    branch = str(repository.get("branch") or "main")
    if url.startswith("https://github.com/"):
        # A zip of the branch: pip installs it without git, which a student's laptop may lack.
        return f"{url}/archive/refs/heads/{branch}.zip"
    return f"git+{url}@{branch}"


def _string_literal(text: str) -> str:
    """`text` as a Python string, split into pieces that keep every line short."""
    pieces = [""]
    for part in re.split(r"(?<=/)", text):  # break after a slash
        if pieces[-1] and len(pieces[-1]) + len(part) > _URL_PIECE:
            pieces.append("")
        pieces[-1] += part
    if len(pieces) == 1:
        return f'"{text}"'
    body = "".join(f'        "{piece}"\n' for piece in pieces)
    return f"(\n{body}    )"


def cell_source(root: Path = ROOT) -> str:
    """The install cell's code, for the repository named in `root`/_config.yml."""
    return (
        "# On Colab or from a downloaded notebook, install the course package\n"
        "# first; where softmax_course is installed already, this does nothing.\n"
        "import importlib.util\n"
        "\n"
        'if importlib.util.find_spec("softmax_course") is None:\n'
        "    import subprocess\n"
        "    import sys\n"
        "\n"
        f"    COURSE_PACKAGE = {_string_literal(package_address(root))}\n"
        "    pip = [sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\"]\n"
        "    subprocess.run([*pip, COURSE_PACKAGE], check=True)\n"
        "    importlib.invalidate_caches()"
    )


def notebooks(root: Path = ROOT) -> list[Path]:
    """Every notebook that gets the cell: the chapters, the instructor notebooks, the releases."""
    found = [*root.glob("book/[0-9][0-9]_*.ipynb"), *root.glob("solutions/*/*.ipynb"),
             *root.glob("exercises/*/*.ipynb")]
    return sorted(path for path in found if ".ipynb_checkpoints" not in path.parts)


def install_cells(notebook: nbformat.NotebookNode) -> list[int]:
    """Indexes of the cells tagged as install cells."""
    return [index for index, cell in enumerate(notebook.cells)
            if TAG in cell.get("metadata", {}).get("tags", [])]


def is_current(path: Path, source: str) -> bool:
    """Whether `path` has exactly one install cell, right after the title, with `source`."""
    notebook = nbformat.read(path, as_version=4)
    found = install_cells(notebook)
    return found == [1] and notebook.cells[1].source == source and notebook.cells[1].get(
        "cell_type") == "code"


def write(path: Path, source: str) -> bool:
    """Put the install cell with `source` right after the title of `path`; True if changed.

    Reads, edits and writes the file in one step, so edits other people make to other
    cells of the same notebook are kept.
    """
    if is_current(path, source):
        return False
    notebook = nbformat.read(path, as_version=4)
    for index in reversed(install_cells(notebook)):
        del notebook.cells[index]
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": list(TAGS)})
    cell.id = TAG  # a fixed id: rewriting the cell changes nothing else in the file
    notebook.cells.insert(1, cell)
    nbformat.write(notebook, path)
    return True


def update(paths: Iterable[Path], root: Path = ROOT) -> list[Path]:
    """Rewrite the install cell of every notebook in `paths`; the ones changed.

    A course folder without the book's ``_config.yml`` (a grading copy) keeps the cells
    its notebooks have.
    """
    if not (root / "_config.yml").exists():
        return []
    source = cell_source(root)
    return [path for path in paths if write(path, source)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m softmax_grading.install_cell",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="the course folder")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook's install cell is stale")
    arguments = parser.parse_args(argv)
    root = arguments.root.resolve()
    if arguments.check:
        source = cell_source(root)
        stale = [path for path in notebooks(root) if not is_current(path, source)]
        for path in stale:
            print(f"stale install cell: {path.relative_to(root)}")
        return 1 if stale else 0
    for path in update(notebooks(root), root):
        print(f"install cell written: {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
