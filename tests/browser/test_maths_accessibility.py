"""MathJax's accessibility tools work offline too.

A reader who turns on the explorer in MathJax's context menu (to hear or browse a formula)
makes MathJax load more of itself: the MathML input, semantic enrichment, the speech rules.
Those parts are copied into the build by book/_ext/offline_mathjax.py; this test turns the
explorer on the way the menu does and checks every part arrived.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytestmark = pytest.mark.browser

# Flip the menu's "explorer" setting, then wait until MathJax has loaded the explorer.
ENABLE_EXPLORER = """async () => {
  MathJax.startup.document.menu.menu.pool.lookup('explorer').setValue(true);
  for (let waited = 0; waited < 20000; waited += 100) {
    if (MathJax._.a11y && MathJax._.a11y.explorer) { return true; }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  return false;
}"""


def test_explorer_loads_without_the_network(fresh_page: Callable) -> None:
    """Turning on the explorer loads its components and speech rules from the build."""
    page, visit = fresh_page("book/glossary.html")
    assert visit.mjx_containers > 0, "the glossary should show typeset maths"
    loaded = page.evaluate(ENABLE_EXPLORER)
    page.wait_for_load_state("networkidle")
    assert visit.problems() == [], "\n".join(visit.problems())
    assert loaded, "MathJax did not load its explorer"
