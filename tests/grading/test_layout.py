"""The course layout (softmax_grading.layout): a course folder named as a string or a Path."""

from __future__ import annotations

from pathlib import Path

import pytest

from softmax_grading.layout import Course

pytestmark = pytest.mark.grading


def test_a_course_named_by_a_string_is_the_course_named_by_its_path(tmp_path):
    by_string, by_path = Course(str(tmp_path)), Course(tmp_path)
    assert by_string.root == by_path.root
    assert by_string.db_url == by_path.db_url
    assert by_string.folder("submitted", "ada", "ch01_definition") == \
        by_path.folder("submitted", "ada", "ch01_definition") == \
        tmp_path / "submitted" / "ada" / "ch01_definition"


def test_a_course_folder_that_is_not_a_path_is_refused_clearly():
    with pytest.raises(TypeError, match=r"str, bytes or os\.PathLike"):
        Course(None)
    assert Course(Path("somewhere")).root == Path("somewhere")


def test_regression_checkpoints_and_caches_in_solutions_are_not_assignments(tmp_path):
    # Jupyter leaves .ipynb_checkpoints/ (holding notebooks) beside a notebook it opened, and
    # Python __pycache__/: `release` of every assignment took them for assignments, and since
    # each must hold one notebook, refused the whole release.
    config = 'c.CourseDirectory.source_directory = "solutions"\n'
    (tmp_path / "nbgrader_config.py").write_text(config)
    solutions = tmp_path / "solutions"
    for folder in ("ch01_definition", ".ipynb_checkpoints", "__pycache__", ".hidden"):
        (solutions / folder).mkdir(parents=True)
    (solutions / "ch01_definition" / "ch01_definition.ipynb").write_text("{}")
    (solutions / ".ipynb_checkpoints" / "draft-checkpoint.ipynb").write_text("{}")
    (solutions / "a_file.ipynb").write_text("{}")
    assert Course(tmp_path).assignments() == ["ch01_definition"]
