"""The course style inside a real Jupyter kernel, where the inline backend decides what shows."""

import nbclient
import nbformat
import pytest

pytestmark = pytest.mark.slow


def test_regression_figures_after_course_style_still_display():
    # The session's first figure is drawn inside course_style(). An earlier version used
    # mpl.rc_context, which reset the `interactive` flag the inline backend had just set,
    # so every later figure of the notebook silently went undisplayed.
    notebook = nbformat.v4.new_notebook()
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in (
        "import matplotlib.pyplot as plt\nfrom softmax_course.plotting import course_style",
        "with course_style():\n    fig, ax = plt.subplots()\n    ax.plot([1, 2])",
        "fig, ax = plt.subplots()\nax.plot([2, 1])",
        "with course_style():\n    fig, ax = plt.subplots()\n    ax.plot([1, 1])",
    )]
    nbclient.NotebookClient(notebook, timeout=120).execute()
    shown = [sum(o.output_type == "display_data" for o in cell.outputs) for cell in notebook.cells]
    assert shown == [0, 1, 1, 1]
