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
    # The chapter titled "The Jacobian" comes first, and only once (search_results.js).
    assert results[0] == "book/03_jacobian.html", results
    chapter_3 = [href for href in results if href.split("#")[0] == "book/03_jacobian.html"]
    assert len(chapter_3) == 1, results


def test_search_snippets_show_maths_as_text(fresh_page: Callable) -> None:
    """Snippets quote the page with its maths as text ("2 × 2"), never as TeX source."""
    page, visit = fresh_page("search.html?q=Jacobian")
    page.wait_for_selector(RESULT_SELECTOR + " .context")
    page.wait_for_function(
        "() => document.querySelector('#search-progress') === null || "
        "!document.querySelector('#search-progress').textContent.includes('Preparing')"
    )
    snippets = page.eval_on_selector_all(
        RESULT_SELECTOR + " .context", "nodes => nodes.map(n => n.textContent)"
    )
    assert len(snippets) >= 5, snippets
    raw = [text for text in snippets if "\\" in text or "$" in text]
    assert raw == [], f"snippets with TeX source: {raw}"
    assert visit.problems() == [], "\n".join(visit.problems())
