"""The feedback pages' exporter: nbconvert's HTMLExporter without its second pass over the page.

nbconvert's ``HTMLExporter.from_notebook_node`` renders the page, then parses all of it again
with BeautifulSoup for two things: an alt text for every image that has none, and ``tabindex``
on the lab template's cells. That pass took a third of each feedback page's time (151 against
105 ms a page for a class of 32, 2026-12-01), and grading renders a page for every student.
The course's feedback template is the classic one, which has no lab cells, so only the alt text
is left to give, and it is given here to each ``<img>`` tag that has none.

Every page of a class also repeats the release's code cells (the given code, the visible tests),
and nbconvert highlights each cell again for each page: the exporter remembers what it has
highlighted. ``tests/grading/test_feedback_exporter.py`` checks that the pages are nbconvert's
otherwise.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

# What an exporter remembers of its highlighting: a release's code cells many times over, each
# source of up to 4,000 characters. Its HTML is about 5 times longer for the course's code and
# at most about 25 times (a token every two characters: 96 kB for "a," 2,000 times), so at
# most some 50 MB whatever the class.
MAX_REMEMBERED_SOURCES = 512
MAX_REMEMBERED_SOURCE_CHARACTERS = 4_000

# nbconvert's own words for an image without a description.
NO_DESCRIPTION = "No description has been provided for this image"
# An <img> tag whose attributes name no alt. In the rendered page a literal "<img" can only be a
# tag: text, code and attribute values are escaped, and cleaned HTML keeps real tags only. An
# alt this misses, or one it adds beside the student's own (the browser keeps the first), costs
# a screen reader a description, never anything a page can run.
_IMAGE_WITHOUT_ALT = re.compile(r"<img\b(?![^<>]*\balt\s*=)", re.IGNORECASE)


class RememberedHighlight(Highlight2HTML):
    """nbconvert's ``highlight_code`` filter, which highlights each source once.

    Highlighting took about 5 ms a code cell (a Pygments formatter and its style sheet are made
    for every call), and a page of chapter 1 has a dozen. What it gives depends on the source,
    the language and the cell's magics language alone (the formatter's options are this
    filter's settings), so anything else, or a longer source, is highlighted every time as
    before.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._highlight_once = functools.lru_cache(maxsize=MAX_REMEMBERED_SOURCES)(
            self._highlight)

    def __call__(self, source, language=None, metadata=None):
        if metadata is None:
            magics = None
        elif isinstance(metadata, dict) and type(metadata.get("magics_language", "")) is str:
            magics = metadata.get("magics_language")
        else:  # metadata nbconvert would read otherwise
            return super().__call__(source, language, metadata)
        if type(source) is not str or len(source) > MAX_REMEMBERED_SOURCE_CHARACTERS or (
                language is not None and type(language) is not str):
            return super().__call__(source, language, metadata)
        return self._highlight_once(source, language, magics)

    def _highlight(self, source: str, language: str | None, magics: str | None) -> str:
        # The cell's metadata matters to nbconvert only through its magics language.
        return super().__call__(source, language,
                                None if magics is None else {"magics_language": magics})


class FeedbackExporter(HTMLExporter):
    """``HTMLExporter`` with the alt texts given by a search instead of a parse of the page,
    and each code cell highlighted once for all the pages it renders."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._highlighters: dict[str | None, RememberedHighlight] = {}

    def from_notebook_node(self, nb, resources: dict[str, Any] | None = None, **kw: Any):
        # HTMLExporter.from_notebook_node (nbconvert 7) up to its BeautifulSoup pass: the same
        # two filters, then the template.
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        highlight_code = self.filters.get("highlight_code") or self._highlighter(lexer)
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMAGE_WITHOUT_ALT.sub(f'<img alt="{NO_DESCRIPTION}"', html), resources

    def _highlighter(self, lexer: object) -> Highlight2HTML:
        """This exporter's highlighting filter for the notebook language's lexer."""
        if lexer is not None and type(lexer) is not str:  # as nbconvert would, unremembered
            return Highlight2HTML(pygments_lexer=lexer, parent=self)
        if lexer not in self._highlighters:
            self._highlighters[lexer] = RememberedHighlight(pygments_lexer=lexer, parent=self)
        return self._highlighters[lexer]
