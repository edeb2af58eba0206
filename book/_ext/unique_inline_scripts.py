"""Write each inline ``<script>`` once per page.

sphinx-thebe adds an inline script (``const THEBE_JS_URL = ...``) while Sphinx reads the
sources, after the HTML builder has started. Sphinx 7.4 keeps that script twice: once as added
(file name ``None``) and once re-read from its registry when writing starts (file name ``""``);
the two compare unequal, so both reach every page. The second ``const`` declaration then throws
"Identifier 'THEBE_JS_URL' has already been declared" in every reader's browser console.

This extension drops the repeated copies from each page's script list, keeping the first.

Enable it in ``_config.yml``::

    sphinx:
      local_extensions:
        unique_inline_scripts: book/_ext
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

# Run after the other html-page-context handlers (default priority 500), which may add scripts.
LATE_PRIORITY = 900


def script_identity(script: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What makes two scripts the same: the file (None and "" both mean inline) and attributes."""
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {})
    return str(filename), tuple(sorted((key, str(value)) for key, value in attributes.items()))


def drop_repeated_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Replace the page's script list by one without repeats (the builder's list is shared)."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    unique = []
    for script in scripts:
        identity = script_identity(script)
        if identity not in seen:
            seen.add(identity)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, object]:
    """Register the extension with Sphinx."""
    app.connect("html-page-context", drop_repeated_scripts, priority=LATE_PRIORITY)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
