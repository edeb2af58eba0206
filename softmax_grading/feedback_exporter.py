"""The feedback pages' exporter: nbconvert's HTMLExporter without its second pass over the page.

nbconvert's ``HTMLExporter.from_notebook_node`` renders the page, then parses all of it again
with BeautifulSoup for two things: an alt text for every image that has none, and ``tabindex``
on the lab template's cells. That pass took a third of each feedback page's time (151 against
105 ms a page for a class of 32, 2026-12-01), and grading renders a page for every student.
The course's feedback template is the classic one, which has no lab cells, so only the alt text
is left to give, and it is given here to each ``<img>`` tag that has none.
``tests/grading/test_feedback_exporter.py`` checks that the pages are nbconvert's otherwise.
"""

from __future__ import annotations

import re
from typing import Any

from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

# nbconvert's own words for an image without a description.
NO_DESCRIPTION = "No description has been provided for this image"
# An <img> tag whose attributes name no alt. In the rendered page a literal "<img" can only be a
# tag: text, code and attribute values are escaped, and cleaned HTML keeps real tags only. An
# alt this misses, or one it adds beside the student's own (the browser keeps the first), costs
# a screen reader a description, never anything a page can run.
_IMAGE_WITHOUT_ALT = re.compile(r"<img\b(?![^<>]*\balt\s*=)", re.IGNORECASE)


class FeedbackExporter(HTMLExporter):
    """``HTMLExporter`` with the alt texts given by a search instead of a parse of the page."""

    def from_notebook_node(self, nb, resources: dict[str, Any] | None = None, **kw: Any):
        # HTMLExporter.from_notebook_node (nbconvert 7) up to its BeautifulSoup pass: the same
        # two filters, then the template.
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        highlight_code = self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMAGE_WITHOUT_ALT.sub(f'<img alt="{NO_DESCRIPTION}"', html), resources
