"""What the browser tests share by name: the viewports, and what a page load saw (PageVisit).

A module of its own, so that the test modules import it by a name no other folder uses (a
``from conftest import ...`` would get whichever folder's ``conftest`` was imported first).
"""

from __future__ import annotations

from dataclasses import dataclass, field

VIEWPORT = {"width": 1280, "height": 900}
# A phone (an iPhone 12-15 is 390 CSS pixels wide).
PHONE_VIEWPORT = {"width": 390, "height": 844}
# The widths every page's layout is measured at (``PageVisit.layout``).
LAYOUT_WIDTHS = {"desktop": VIEWPORT, "phone": PHONE_VIEWPORT}


@dataclass
class PageVisit:
    """What the browser saw on one page, collected while loading it."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    offsite_requests: list[str] = field(default_factory=list)
    # Filled in after the load:
    images: list[dict] = field(default_factory=list)
    article_text: str = ""
    math_elements: int = 0
    untypeset_math: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    mjx_containers: int = 0
    links: list[str] = field(default_factory=list)
    element_ids: set[str] = field(default_factory=set)
    html_theme: str = ""
    # Width name (LAYOUT_WIDTHS) -> MEASURE_LAYOUT's result; measured by ``load_page`` only.
    layout: dict[str, dict] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Everything that went wrong at the network or script level, one line each."""
        return (
            [f"console error: {text}" for text in self.console_errors]
            + [f"uncaught exception: {text}" for text in self.page_errors]
            + [f"failed request: {text}" for text in self.failed_requests]
            + [f"off-site request (the book must work offline): {u}" for u in self.offsite_requests]
        )
