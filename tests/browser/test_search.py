"""The search page finds chapters, using only the search index shipped with the build."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytestmark = pytest.mark.browser

RESULT_SELECTOR = "#search-results ul.search li"


def test_search_lists_results_for_jacobian(fresh_page: Callable) -> None:
    """``search.html?q=Jacobian`` lists pages, each a link into the book, with no errors."""
    page, visit = fresh_page("search.html?q=Jacobian")
    page.wait_for_selector(RESULT_SELECTOR)
    results = page.eval_on_selector_all(
        RESULT_SELECTOR + " > a", "links => links.map(a => a.getAttribute('href'))"
    )
    assert results, "the search for 'Jacobian' listed no pages"
    assert any("glossary" in href for href in results), results
    assert visit.problems() == [], "\n".join(visit.problems())
