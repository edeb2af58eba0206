"""The one place that knows the course's layout, read from nbgrader's own configuration.

Folder names, the gradebook's address and the sandbox's limits all come from
``nbgrader_config.py`` in the course folder, through nbgrader's
``CourseDirectory``: nothing else in the package spells a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import is_ignored
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from softmax_grading.sandbox import Sandbox

CONFIG_FILE = "nbgrader_config.py"
REPORTS = "reports"


def load_config(root: Path) -> Config:
    """The course's nbgrader configuration, with the course folder as nbgrader's root."""
    config = Config()
    if (root / CONFIG_FILE).exists():
        config.merge(PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config())
    config.CourseDirectory.root = str(root)
    return config


@dataclass
class Course:
    """A course folder laid out as its ``nbgrader_config.py`` says."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)  # a string names the folder too

    @cached_property
    def config(self) -> Config:
        return load_config(self.root)

    @cached_property
    def coursedir(self) -> CourseDirectory:
        return CourseDirectory(config=self.config)

    def folder(self, step: str, student: str, assignment: str) -> Path:
        """``{root}/{step}/{student}/{assignment}``, as nbgrader formats it."""
        return Path(self.coursedir.format_path(step, student, assignment))

    @property
    def source(self) -> str:
        return self.coursedir.source_directory

    @property
    def release(self) -> str:
        return self.coursedir.release_directory

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    def source_notebook(self, assignment: str, notebook: str) -> Path:
        return self.folder(self.source, ".", assignment) / f"{notebook}.ipynb"

    def release_notebook(self, assignment: str, notebook: str) -> Path:
        return self.folder(self.release, ".", assignment) / f"{notebook}.ipynb"

    def submitted(self, student: str, assignment: str) -> Path:
        return self.folder(self.coursedir.submitted_directory, student, assignment)

    def autograded(self, student: str, assignment: str) -> Path:
        return self.folder(self.coursedir.autograded_directory, student, assignment)

    def feedback(self, student: str, assignment: str) -> Path:
        return self.folder(self.coursedir.feedback_directory, student, assignment)

    def reports(self, assignment: str) -> Path:
        return self.root / REPORTS / assignment

    def sandbox(self) -> Sandbox:
        return Sandbox(config=self.config)

    def assignments(self) -> list[str]:
        """The assignment folders in ``solutions/``: not a hidden folder, nor one that nbgrader
        ignores (``CourseDirectory.ignore``: Jupyter's checkpoints, ``__pycache__``)."""
        folder = self.root / self.source
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir()
                      if p.is_dir() and not p.name.startswith(".")
                      and not is_ignored(str(p), self.coursedir.ignore))

    def notebooks(self, assignment: str) -> list[str]:
        """The assignment's notebooks, by name without ``.ipynb``."""
        return sorted(p.stem for p in self.folder(self.source, ".", assignment).glob("*.ipynb"))

    def students(self, assignment: str) -> list[str]:
        """Students with a submitted folder for `assignment`."""
        submitted = self.root / self.coursedir.submitted_directory
        if not submitted.is_dir():
            return []
        return sorted(s.name for s in submitted.iterdir() if (s / assignment).is_dir())
