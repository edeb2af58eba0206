"""The built book displays with no network: no page loads a script, style, font or image
from another site, and MathJax is served from the build.

Links a reader may follow (``<a href>``: papers, launch services) are not resources and may
point anywhere. The browser tests check the same thing live, by refusing off-site requests;
this test names the offending file and tag without a browser.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Attributes through which a page loads something, per tag.
RESOURCE_ATTRIBUTES = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
}
OFFSITE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_OFFSITE = re.compile(r"""(url\(\s*['"]?\s*(https?:)?//|@import\s+['"](https?:)?//)""", re.I)




class _ResourceCollector(HTMLParser):
    """Collect (tag, attribute, value) for every resource a page would load."""

    def __init__(self) -> None:
        super().__init__()
        self.resources: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = RESOURCE_ATTRIBUTES.get(tag, ())
        for name, value in attrs:
            if name in wanted and value:
                self.resources.append((tag, name, value))


def offsite_resources(page: Path) -> list[str]:
    """The resources of one HTML page that would be fetched from another site."""
    collector = _ResourceCollector()
    collector.feed(page.read_text(encoding="utf-8", errors="replace"))
    return [
        f"<{tag} {name}={value!r}>"
        for tag, name, value in collector.resources
        if any(OFFSITE.match(part) for part in value.split(","))
    ]


def test_no_page_loads_offsite_resources(built_html: Path) -> None:
    """No <script src>, <link href>, <img src> ... in any built page points off-site."""
    root = built_html
    found = {
        str(page.relative_to(root)): offsite_resources(page)
        for page in sorted(root.rglob("*.html"))
    }
    found = {page: items for page, items in found.items() if items}
    assert found == {}, f"pages that need the network: {found}"


def test_no_stylesheet_imports_offsite_fonts_or_images(built_html: Path) -> None:
    """No CSS in the build pulls a font, image or stylesheet from another site."""
    root = built_html
    offenders = [
        str(css.relative_to(root))
        for css in sorted(root.rglob("*.css"))
        if CSS_OFFSITE.search(css.read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == [], f"stylesheets that load from another site: {offenders}"


def test_mathjax_is_served_from_the_build(built_html: Path) -> None:
    """The local MathJax copy has its entry point, web fonts and TeX packages, and pages use it."""
    root = built_html
    mathjax = built_html / "_static" / "mathjax"
    assert (mathjax / "tex-chtml.js").is_file(), "MathJax entry point missing from the build"
    assert list((mathjax / "output/chtml/fonts/woff-v2").glob("*.woff")), "MathJax fonts missing"
    assert (mathjax / "input/tex/extensions/boldsymbol.js").is_file(), "TeX packages missing"
    assert (mathjax / "LICENSE").is_file(), "MathJax's licence must ship with the copy"
    glossary = (root / "book" / "glossary.html").read_text(encoding="utf-8")
    assert 'src="../_static/mathjax/tex-chtml.js' in glossary, "the glossary does not load it"
