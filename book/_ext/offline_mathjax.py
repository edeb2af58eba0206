"""Serve MathJax 3 from the built book, so maths renders with no network.

Sphinx's ``sphinx.ext.mathjax`` loads MathJax from a CDN by default. This extension takes the
MathJax files from the PyPI package ``django-static-mathjax`` (import name ``mathjax``), copies
the parts the pages use into ``_static/mathjax/`` of the build and points ``mathjax_path`` at
that copy. MathJax finds its lazily loaded parts (fonts, TeX packages, the accessibility
tools) relative to the URL of ``tex-chtml.js``, so they are served from the same copy.

Enable it in ``_config.yml``::

    sphinx:
      local_extensions:
        offline_mathjax: book/_ext
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

# Import name of the PyPI package django-static-mathjax, and where its MathJax tree lives.
MATHJAX_PACKAGE = "mathjax"
PACKAGE_ROOT_PARTS = ("static", "mathjax")
EXPECTED_VERSION = "3.2.2"

# Folder under the build's _static/ that receives the copy; mathjax_path is relative to _static.
STATIC_FOLDER = "mathjax"
ENTRY_POINT = "tex-chtml.js"

# What the pages load, relative to MathJax's es5/ folder. Everything else in the package
# (the SVG output, the MathML input, 11 speech locales) is left out to keep the build small.
COMPONENTS = (
    # The entry point: TeX input, CommonHTML output, the context menu.
    ENTRY_POINT,
    # CommonHTML asks for one web font per glyph style (bold, calligraphic, ...) on first use.
    "output/chtml/fonts/woff-v2",
    # The autoload extension fetches a TeX package the first time one of its macros appears
    # (\boldsymbol, \cancel, \mathclap, ...).
    "input/tex/extensions",
    # Loaded by the context menu when a reader turns on assistive MathML or the explorer;
    # the explorer's semantic enrichment also needs the MathML input and its entity table.
    "a11y",
    "ui",
    "input/mml.js",
    "input/mml/entities.js",
    # The speech rules the explorer reads maths with: the shared base and English.
    "sre/mathmaps/base.json",
    "sre/mathmaps/en.json",
)


def find_mathjax_root() -> Path:
    """Return the folder holding MathJax's ``es5/`` tree and its ``package.json``.

    Raises
    ------
    sphinx.errors.ExtensionError
        If django-static-mathjax is not installed, or its layout is not the expected one.
    """
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(
            "offline_mathjax: the package 'django-static-mathjax' (import name 'mathjax') is "
            "not installed; install the book dependencies with: pip install -e '.[book]'"
        )
    root = Path(next(iter(spec.submodule_search_locations))).joinpath(*PACKAGE_ROOT_PARTS)
    if not root.joinpath("es5", ENTRY_POINT).is_file():
        raise ExtensionError(f"offline_mathjax: no es5/{ENTRY_POINT} under {root}")
    return root


def mathjax_version(root: Path) -> str:
    """Return the MathJax version recorded in the package's ``package.json``."""
    return json.loads(root.joinpath("package.json").read_text(encoding="utf-8"))["version"]


def stage_components(root: Path, staging: Path) -> None:
    """Copy the components the pages need, and MathJax's licence, into ``staging``.

    ``staging`` is emptied first, so a component dropped from the list does not linger.
    """
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    es5 = root / "es5"
    for component in COMPONENTS:
        source = es5 / component
        target = staging / component
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        elif source.is_file():
            shutil.copy2(source, target)
        else:
            raise ExtensionError(f"offline_mathjax: MathJax component missing: {source}")
    # MathJax is Apache-2.0: ship its licence with the copy we redistribute.
    shutil.copy2(root / "LICENSE", staging / "LICENSE")


def setup_offline_mathjax(app: Sphinx) -> None:
    """At ``builder-inited``: stage the MathJax copy and point ``mathjax_path`` at it."""
    if app.builder.format != "html":
        return
    root = find_mathjax_root()
    version = mathjax_version(root)
    if version != EXPECTED_VERSION:
        logger.warning(
            "offline_mathjax: found MathJax %s, expected %s; check that the pages still "
            "render and update EXPECTED_VERSION",
            version,
            EXPECTED_VERSION,
        )
    # Stage beside the HTML output (never inside a source folder) and let Sphinx's own static
    # file copy put it at _static/mathjax/.
    static_root = Path(app.outdir).parent / "offline_mathjax_static"
    stage_components(root, static_root / STATIC_FOLDER)
    app.config.html_static_path = [*app.config.html_static_path, str(static_root)]
    app.config.mathjax_path = f"{STATIC_FOLDER}/{ENTRY_POINT}"


def setup(app: Sphinx) -> dict[str, object]:
    """Register the extension with Sphinx."""
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("builder-inited", setup_offline_mathjax)
    return {"version": EXPECTED_VERSION, "parallel_read_safe": True, "parallel_write_safe": True}
