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

The same metadata also comes back: every student's copy of a cell carries the metadata it was
released with, validated once when the submission is sanitized and again when it is recorded.
Validating one took 0.16 ms, and a ch01 submission has eleven such cells; so an instance found
valid is remembered (by its JSON text, which tells ``1`` from ``1.0`` and ``true``), up to
:data:`REMEMBERED_VALID` of them, and is not validated again. An invalid one is never
remembered: it is validated, and raises, every time.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator

import jsonschema
import nbgrader.nbgraderformat.common as nbgrader_format

#: How many distinct valid instances a command remembers: a class's metadata is a few dozen;
#: a submission that makes up new metadata for thousands of cells is validated in full.
REMEMBERED_VALID = 10_000


class _SchemaCheckedOnce:
    """``jsonschema``, with a ``validate`` that remembers the schemas it has checked and the
    instances it found valid."""

    def __init__(self) -> None:
        self._validators: dict[str, jsonschema.protocols.Validator] = {}
        self._valid: set[tuple[str, str]] = set()  # (schema, instance), as JSON text

    def validate(self, instance, schema) -> None:
        key = json.dumps(schema, sort_keys=True)  # by content: nbgrader loads it per validator
        validator = self._validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)  # a broken schema still raises SchemaError, every time
            validator = self._validators[key] = cls(copy.deepcopy(schema))
        try:
            seen = (key, json.dumps(instance, sort_keys=True))
        except (TypeError, ValueError):  # not JSON (never from a notebook): validated, not kept
            seen = None
        if seen is not None and seen in self._valid:
            return
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error
        if seen is not None and len(self._valid) < REMEMBERED_VALID:
            self._valid.add(seen)

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
