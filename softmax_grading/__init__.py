"""Instructor-side grading pipeline for the course (never shipped to students).

The pipeline is nbgrader 0.9's command-line tools plus two small nbgrader
preprocessors that close holes plain nbgrader has:

* :class:`~softmax_grading.preprocessors.DropDuplicateGradeIds` keeps one
  duplicated cell from aborting the whole autograde batch (nbgrader #1083);
* :class:`~softmax_grading.preprocessors.HideTestCode` keeps hidden tests and
  test code out of the feedback students receive (nbgrader #917, #1363).

Both are switched on in the course's ``nbgrader_config.py``; the
``python -m softmax_grading`` command wraps the whole instructor flow.
"""

import importlib
import sys
import types

# jsonschema (under nbformat and nbgrader) imports rfc3987_syntax when it is installed, and that
# package compiles 38 Lark grammars at import: about 2 s of CPU in every grading command and every
# worker process, for "iri" string formats that no notebook or gradebook schema uses. A None entry
# in sys.modules makes that optional import fail at once, as if the package were absent; it only
# takes effect when softmax_grading is imported before jsonschema, as our commands and workers do.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


# nbgrader.utils imports three functions of setuptools.archive_util for its `unzip` (nbgrader's
# zip_collect), which this course never calls; importing setuptools and pkg_resources for them
# took 0.34 s of the 1.8 s of imports of every grading command. Until one of them is called, a
# stand-in module answers the import; the first call (or any other attribute) imports the real
# module in its place and uses it.
_ARCHIVE_UTIL = "setuptools.archive_util"


def _real_archive_util() -> types.ModuleType:
    if sys.modules.get(_ARCHIVE_UTIL) is _archive_util_stand_in:
        del sys.modules[_ARCHIVE_UTIL]
    return importlib.import_module(_ARCHIVE_UTIL)


def _calls_the_real(name: str):
    def call(*args, **kwargs):
        return getattr(_real_archive_util(), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


_archive_util_stand_in = types.ModuleType(_ARCHIVE_UTIL, "setuptools.archive_util, imported on "
                                          "first use (see softmax_grading/__init__.py)")
for _name in ("unpack_archive", "unpack_tarfile", "unpack_zipfile"):
    setattr(_archive_util_stand_in, _name, _calls_the_real(_name))


def _other_attribute(name: str):
    if name.startswith("__"):  # the import system asks for __path__ and the like: not a use
        raise AttributeError(name)
    return getattr(_real_archive_util(), name)


_archive_util_stand_in.__getattr__ = _other_attribute
sys.modules.setdefault(_ARCHIVE_UTIL, _archive_util_stand_in)
