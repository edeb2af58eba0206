"""The feedback exporter writes nbconvert's page, without parsing it a second time.

``softmax_grading.feedback_exporter.FeedbackExporter`` skips the BeautifulSoup pass of
nbconvert's ``HTMLExporter`` and gives images their alt text itself. Rendered with the classic
template and the course's HTML cleaning (as nbgrader_config.py sets them for feedback), a
notebook with every kind of image must come out as the same document: the same tags, attributes
and text, whatever the serialisation.
"""

from __future__ import annotations

import base64
import copy
import re

import nbformat
import pytest
from bs4 import BeautifulSoup, NavigableString
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from softmax_grading.feedback_exporter import NO_DESCRIPTION, FeedbackExporter

pytestmark = pytest.mark.grading

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")).decode()
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
       '<rect width="4" height="4"/></svg>')


def _notebook() -> nbformat.NotebookNode:
    described = new_output("display_data", data={"image/png": PNG},
                           metadata={"image/png": {"alt": "the student's own description"}})
    return new_notebook(cells=[
        new_markdown_cell(
            "A figure ![with alt](data:image/png;base64," + PNG + ") and raw HTML "
            '<img src="data:image/png;base64,' + PNG + '"> without one, '
            "and `<img>` as text, which stays text. $x^2$"),
        new_code_cell("plot()", outputs=[
            new_output("display_data", data={"image/png": PNG}),
            described,
            new_output("display_data", data={"image/jpeg": PNG}),
            new_output("display_data", data={"image/svg+xml": SVG}),
            new_output("stream", name="stdout", text="<img src=x> printed, not a tag\n"),
        ]),
    ], metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})


def _config() -> Config:
    config = Config()
    config.HTMLExporter.template_name = "classic"
    config.HTMLExporter.sanitize_html = True
    config.HTMLExporter.filters = {"clean_html": "softmax_grading.feedback_html.clean_html"}
    return config


def _document(html: str) -> list[tuple]:
    """Every node of the page in order: tags with their attributes (as a set), and text."""
    nodes = []
    for node in BeautifulSoup(html, "html.parser").descendants:
        if isinstance(node, NavigableString):
            nodes.append(("text", str(node)))
        else:
            nodes.append((node.name, frozenset(
                (name, " ".join(value) if isinstance(value, list) else value)
                for name, value in node.attrs.items())))
    return nodes


def test_the_page_is_nbconverts_page_as_a_document():
    notebook = _notebook()  # one notebook: its cells' ids are random
    ours, _ = FeedbackExporter(config=_config()).from_notebook_node(copy.deepcopy(notebook))
    theirs, _ = HTMLExporter(config=_config()).from_notebook_node(copy.deepcopy(notebook))
    assert _document(ours) == _document(theirs)


def test_every_image_has_a_description_and_the_students_own_is_kept():
    ours, _ = FeedbackExporter(config=_config()).from_notebook_node(_notebook())
    images = BeautifulSoup(ours, "html.parser").find_all("img")
    assert len(images) == 6  # two in the Markdown, four outputs
    assert all(image.get("alt") for image in images)
    alts = [image["alt"] for image in images]
    assert "with alt" in alts and "the student's own description" in alts
    assert alts.count(NO_DESCRIPTION) == 4
    assert "&lt;img src=x&gt; printed" in ours
    # one alt per tag: where a tag has two, a browser shows the first, a parser the last
    tags = re.findall(r"<img\b[^>]*>", ours)
    assert len(tags) == 6 and all(len(re.findall(r"\balt=", tag)) == 1 for tag in tags), tags


def test_a_class_of_pages_highlights_each_source_once_and_each_page_is_nbconverts(monkeypatch):
    from nbconvert.filters import highlight

    highlighted: list[str] = []
    pygments_highlight = highlight._pygments_highlight

    def counted(source, *args, **kwargs):
        highlighted.append(source)
        return pygments_highlight(source, *args, **kwargs)

    monkeypatch.setattr(highlight, "_pygments_highlight", counted)
    pages = []
    for student in ("first", "second"):
        notebook = _notebook()
        notebook.cells.append(new_code_cell(f"answer = '{student}'"))
        # the same source in another language (a cell magic) is highlighted as that language
        notebook.cells.append(new_code_cell("plot()", metadata={"magics_language": "bash"}))
        pages.append(notebook)
    exporter = FeedbackExporter(config=_config())
    ours = [exporter.from_notebook_node(copy.deepcopy(page))[0] for page in pages]
    assert sorted(highlighted) == sorted(
        ["plot()", "plot()", "answer = 'first'", "answer = 'second'"])  # plot() as Python, bash
    theirs = [HTMLExporter(config=_config()).from_notebook_node(copy.deepcopy(page))[0]
              for page in pages]
    assert [_document(page) for page in ours] == [_document(page) for page in theirs]
