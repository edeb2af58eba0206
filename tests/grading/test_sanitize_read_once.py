"""A class sanitized on the command's one gradebook comes out as nbgrader's own passes leave it.

``prepare`` runs every submission's sanitizing passes on one ``NotebookLookups`` opened for the
command (softmax_grading.notebook_lookups.open_for_reading). Here the same submissions, tampered
with in every way those passes repair, also go through nbgrader's ``OverwriteKernelspec`` and
``OverwriteCells``, each opening a gradebook of its own per submission: the notebooks must be
the same, and the tampering undone.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from nbgrader.preprocessors import OverwriteCells, OverwriteKernelspec
from synthetic import Student, submit
from traitlets.utils.importstring import import_item

from softmax_grading.autograde import AutogradeRun, prepare
from softmax_grading.command_setup import nbgrader_set_up_once
from softmax_grading.preprocessors import OverwriteCellsReadOnce, OverwriteKernelspecReadOnce

pytestmark = pytest.mark.grading

ASSIGNMENT = "ch01_definition"
NBGRADERS_OWN = {OverwriteCellsReadOnce: OverwriteCells,
                 OverwriteKernelspecReadOnce: OverwriteKernelspec}
FOREIGN_KERNEL = {"name": "ruby", "display_name": "Ruby", "language": "ruby"}


def _grading(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _tamper(nb) -> None:
    nb.metadata["kernelspec"] = FOREIGN_KERNEL
    tests = [cell for cell in nb.cells if _grading(cell).get("grade") and
             _grading(cell).get("locked")]
    assert len(tests) >= 3, "ch01 has fewer test cells than this test tampers with"
    tests[0].source += "\nassert True  # the student's own test now"
    _grading(tests[1])["points"] = 100
    nb.cells.remove(tests[2])
    written = next(cell for cell in nb.cells  # a written answer, made a code cell
                   if cell.cell_type == "markdown" and _grading(cell).get("grade"))
    written.cell_type, written.outputs, written.execution_count = "code", [], None


STUDENTS = [Student("sanitize_as_released"), Student("sanitize_blank", based_on="blank"),
            Student("sanitize_tampered", edit=_tamper),
            Student("sanitize_tampered_blank", based_on="blank", edit=_tamper)]


def _sanitized_by_nbgrader(course, student: str) -> dict:
    path = course.submitted(student, ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    resources = {"nbgrader": {"student": student, "assignment": ASSIGNMENT,
                              "notebook": ASSIGNMENT, "db_url": course.db_url}}
    for name in course.config.Autograde.sanitize_preprocessors:
        preprocessor_class = import_item(name) if isinstance(name, str) else name
        preprocessor_class = NBGRADERS_OWN.get(preprocessor_class, preprocessor_class)
        nb, resources = preprocessor_class(config=course.config).preprocess(nb, resources)
    return json.loads(json.dumps(nb))


def test_a_class_sanitized_on_one_gradebook_is_what_nbgraders_own_passes_make_of_it(
        released_course):
    course = released_course
    for student in STUDENTS:
        submit(course, ASSIGNMENT, student)
    names = [student.name for student in STUDENTS]
    with nbgrader_set_up_once():
        jobs = prepare(course, ASSIGNMENT, names, sandboxed=True, force=True,
                       run=AutogradeRun(ASSIGNMENT, sandboxed=True))
        ours = {job.student: {**job.notebook_header, "cells": job.cells} for job in jobs}
        theirs = {name: _sanitized_by_nbgrader(course, name) for name in names}
    assert sorted(ours) == names
    for name in names:
        assert ours[name] == theirs[name], name
    released = nbformat.read(course.release_notebook(ASSIGNMENT, ASSIGNMENT), as_version=4)
    tampered = ours["sanitize_tampered"]
    assert tampered["metadata"]["kernelspec"] == released.metadata.kernelspec != FOREIGN_KERNEL
    assert len(tampered["cells"]) == len(ours["sanitize_as_released"]["cells"])
    assert [cell["cell_type"] for cell in tampered["cells"]] == \
        [cell["cell_type"] for cell in ours["sanitize_as_released"]["cells"]]
