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


def test_figures_are_sent_at_twice_their_nominal_resolution():
    # The book shows a figure at FIGURE_DPI CSS pixels per inch; its PNG has twice as many, so
    # it is sharp on high-density screens (the inline backend's "retina" format).
    import base64
    import struct

    from softmax_course.plotting import FIGURE_DPI, MAX_FIGURE_WIDTH

    notebook = nbformat.v4.new_notebook()
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in (
        "import matplotlib.pyplot as plt\nimport softmax_course as sc",
        "ax = sc.plot_simplex([[0.0, 1.0, 2.0]])",
    )]
    nbclient.NotebookClient(notebook, timeout=120).execute()
    (output,) = [o for o in notebook.cells[1].outputs if o.output_type == "display_data"]
    png = base64.b64decode(output.data["image/png"])
    pixel_width, pixel_height = struct.unpack(">II", png[16:24])  # the PNG's IHDR chunk
    shown = output.metadata["image/png"]
    assert pixel_width // 2 == shown["width"] and pixel_height // 2 == shown["height"]
    assert shown["width"] <= MAX_FIGURE_WIDTH * FIGURE_DPI  # fits the book's column


def test_a_notebooks_first_figure_drawn_in_the_style_is_sent_at_twice_its_resolution():
    # matplotlib loads the inline backend only when the first figure is made; course_style()
    # used to look for that module before any figure existed, so the first figure of a chapter
    # drawn by hand inside it was sent at 1x (chapters 2, 4, 6, 7, 8 and 9).
    notebook = nbformat.v4.new_notebook()
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in (
        "import matplotlib.pyplot as plt\nimport softmax_course as sc",
        "with sc.course_style():\n    fig, ax = plt.subplots()\n    ax.plot([1, 2])\nplt.show()",
    )]
    nbclient.NotebookClient(notebook, timeout=120).execute()
    (output,) = [o for o in notebook.cells[1].outputs if o.output_type == "display_data"]
    assert "width" in output.metadata.get("image/png", {}), "the first figure was sent at 1x"
