"""nbgrader's cell-metadata schema checked against the JSON Schema metaschema once per command.

nbgrader validates the ``nbgrader`` metadata of every graded cell with
``jsonschema.validate(metadata, schema)`` (``nbgrader/nbgraderformat/common.py``), some twenty
times per submission between sanitizing and recording it. ``jsonschema.validate`` first checks
the schema itself against its metaschema, which took 1.2 ms of the 1.3 ms a call took here, for a
schema that is a file shipped with nbgrader and never changes.

Inside :func:`schema_checked_once`, nbgrader's validator module sees a stand-in for ``jsonschema``
whose ``validate`` checks each distinct schema once, keeps its validator, and raises for an
invalid instance exactly what ``jsonschema.validate`` raises (the best match among its errors).
Everything else the module might use is ``jsonschema``'s own.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator

import jsonschema
import nbgrader.nbgraderformat.common as nbgrader_format


class _SchemaCheckedOnce:
    """``jsonschema``, with a ``validate`` that remembers the schemas it has checked."""

    def __init__(self) -> None:
        self._validators: dict[str, jsonschema.protocols.Validator] = {}

    def validate(self, instance, schema) -> None:
        key = json.dumps(schema, sort_keys=True)  # by content: nbgrader loads it per validator
        validator = self._validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)  # a broken schema still raises SchemaError, every time
            validator = self._validators[key] = cls(copy.deepcopy(schema))
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name):
        return getattr(jsonschema, name)


@contextlib.contextmanager
def schema_checked_once() -> Iterator[None]:
    """Within the block, nbgrader's metadata validation checks its schema once."""
    original = nbgrader_format.jsonschema  # the module name common.validate_cell calls through
    nbgrader_format.jsonschema = _SchemaCheckedOnce()
    try:
        yield
    finally:
        nbgrader_format.jsonschema = original
