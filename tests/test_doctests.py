"""Run the Examples sections of every softmax_course module as tests.

Modules are discovered with pkgutil, so a module added to the package is covered without editing
this file. NumPy's print options are pinned (legacy=False, default precision) while the examples
run, so that array reprs do not depend on options another test may have changed.
"""

import doctest
import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import softmax_course

MODULE_NAMES = sorted(
    info.name for info in pkgutil.walk_packages(softmax_course.__path__, prefix="softmax_course.")
)


@pytest.fixture
def pinned_print_options():
    saved = np.get_printoptions()
    np.set_printoptions(legacy=False, precision=8, suppress=False, linewidth=75)
    try:
        yield
    finally:
        np.set_printoptions(**saved)


@pytest.fixture
def headless_matplotlib():
    """Figures in examples (plotting helpers) must render without a display."""
    matplotlib = pytest.importorskip("matplotlib")
    previous = matplotlib.get_backend()
    matplotlib.use("Agg")
    try:
        yield
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
        matplotlib.use(previous)


@pytest.mark.parametrize("module_name", MODULE_NAMES)
def test_module_examples_run(module_name, pinned_print_options, headless_matplotlib):
    module = importlib.import_module(module_name)
    result = doctest.testmod(
        module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


PUBLIC_CALLABLES = [
    name
    for name in softmax_course.__all__
    if inspect.isfunction(getattr(softmax_course, name))
    or inspect.isclass(getattr(softmax_course, name))
]  # constants (palettes, style dicts) have no docstring of their own


@pytest.mark.parametrize("name", PUBLIC_CALLABLES)
def test_every_public_function_and_class_has_an_example(name):
    docstring = inspect.getdoc(getattr(softmax_course, name)) or ""
    assert "Examples\n--------" in docstring, f"{name} has no Examples section"
    assert ">>>" in docstring, f"{name} has no doctest in its Examples section"
