"""nbgrader's metadata schema checked once per command (softmax_grading.schema_checked_once):
the same verdicts as nbgrader's own validation, with the schema checked once."""

from __future__ import annotations

import jsonschema
import nbformat
import nbgrader.nbgraderformat.common as nbgrader_format
import pytest
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

from softmax_grading.schema_checked_once import schema_checked_once

pytestmark = pytest.mark.grading

GRADED_CELL = {"grade": True, "grade_id": "softmax_test", "locked": True, "points": 2,
               "schema_version": 3, "solution": False, "task": False}
BROKEN_CELLS = [
    {**GRADED_CELL, "points": "two"},  # a string where a number goes
    {key: value for key, value in GRADED_CELL.items() if key != "grade_id"},  # a key missing
    {**GRADED_CELL, "locked": None},
]


def _cell(metadata: dict) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell("assert True", metadata={"nbgrader": dict(metadata)})


def _verdict(validator, metadata: dict) -> str:
    try:
        validator.validate_cell(_cell(metadata))
    except jsonschema.ValidationError as error:
        return f"{type(error).__name__}: {error.message} at {list(error.absolute_path)}"
    return "valid"


@pytest.mark.parametrize("metadata", [GRADED_CELL, *BROKEN_CELLS])
def test_every_verdict_is_nbgraders_own(metadata):
    expected = _verdict(MetadataValidatorV3(), metadata)
    with schema_checked_once():
        assert _verdict(MetadataValidatorV3(), metadata) == expected
        assert _verdict(MetadataValidatorV3(), metadata) == expected  # from the kept validator
    assert (expected == "valid") == (metadata is GRADED_CELL)


def test_the_schema_is_checked_once_for_many_validators_and_cells(monkeypatch):
    checked = []
    check_schema = jsonschema.Draft202012Validator.check_schema.__func__

    def counting_check_schema(cls, schema, **options):
        checked.append(cls)
        return check_schema(cls, schema, **options)

    validator_class = jsonschema.validators.validator_for(MetadataValidatorV3().schema)
    monkeypatch.setattr(validator_class, "check_schema", classmethod(counting_check_schema))
    with schema_checked_once():
        for _ in range(3):
            cells = [_cell({**GRADED_CELL, "grade_id": f"test_{n}"}) for n in range(4)]
            MetadataValidatorV3().validate_nb(nbformat.v4.new_notebook(cells=cells))
    assert len(checked) == 1


def test_a_broken_schema_is_still_refused():
    with schema_checked_once(), pytest.raises(jsonschema.SchemaError):
        nbgrader_format.jsonschema.validate({}, {"type": 12})


def test_nbgraders_module_is_restored_after_the_block_even_when_it_raises():
    with pytest.raises(RuntimeError), schema_checked_once():
        assert nbgrader_format.jsonschema is not jsonschema
        raise RuntimeError("a failing command")
    assert nbgrader_format.jsonschema is jsonschema



def _counting_validations(monkeypatch) -> list:
    """Each validation of an instance ends in jsonschema's best_match over its errors."""
    validated = []
    best_match = jsonschema.exceptions.best_match

    def counting_best_match(errors, *rest, **options):
        validated.append(1)
        return best_match(errors, *rest, **options)

    monkeypatch.setattr(jsonschema.exceptions, "best_match", counting_best_match)
    return validated


def test_metadata_found_valid_is_not_validated_again(monkeypatch):
    notebooks = [nbformat.v4.new_notebook(cells=[_cell({**GRADED_CELL, "grade_id": f"test_{n}"})
                                                 for n in range(4)])
                 for _ in range(5)]  # a class: every student's copy of the same cells
    validated = _counting_validations(monkeypatch)
    with schema_checked_once():
        for notebook in notebooks:
            MetadataValidatorV3().validate_nb(notebook)
    assert len(validated) == 4


@pytest.mark.parametrize("broken", [*BROKEN_CELLS, {**GRADED_CELL, "points": True},
                                    {**GRADED_CELL, "locked": 1}])
def test_metadata_like_valid_metadata_is_still_refused_every_time(broken):
    expected = _verdict(MetadataValidatorV3(), broken)
    assert expected != "valid"
    with schema_checked_once():
        assert _verdict(MetadataValidatorV3(), GRADED_CELL) == "valid"
        for _ in range(3):  # a refusal is never remembered as a pass
            assert _verdict(MetadataValidatorV3(), broken) == expected
