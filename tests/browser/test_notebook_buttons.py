"""Notebook pages offer the notebook for download and launch it on Binder and Colab.

The launch links must be built from ``repository.url`` in ``_config.yml`` and name the page's
own notebook, so that a fork which changes only that setting gets working buttons.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.browser


def owner_and_name(repository_url: str) -> str:
    """``owner/name`` of a GitHub repository URL."""
    return urlsplit(repository_url).path.strip("/")


def test_download_button_serves_the_notebook(notebook_docname: str, load_page: Callable) -> None:
    """The download menu links the page's .ipynb, and the file it serves is a notebook."""
    visit = load_page(notebook_docname)
    site = urlsplit(visit.url).netloc
    downloads = [
        link
        for link in visit.links
        if urlsplit(link).netloc == site and link.endswith(f"/{notebook_docname}.ipynb")
    ]
    assert downloads, f"{notebook_docname}: no download link to {notebook_docname}.ipynb"
    for link in downloads:
        with urllib.request.urlopen(link, timeout=10) as response:
            notebook = json.loads(response.read())
        assert notebook["nbformat"] == 4 and notebook["cells"], f"{link} is not a notebook"
        # A chapter is offered as executed, so a reader sees its results before running it;
        # an exercise is offered as released, to be filled in (it is never executed).
        outputs = sum(len(cell.get("outputs", [])) for cell in notebook["cells"])
        if notebook_docname.startswith("book/"):
            assert outputs > 0, f"{link}: the downloaded chapter has no outputs"


@pytest.mark.parametrize(
    "service, marker",
    [
        ("Binder", "https://mybinder.org/v2/gh/{repo}/"),
        ("Colab", "https://colab.research.google.com/github/{repo}/blob/"),
    ],
)
def test_launch_button_opens_this_notebook(
    notebook_docname: str, load_page: Callable, repository_url: str, service: str, marker: str
) -> None:
    """Each launch service has a link that names this repository and this notebook."""
    visit = load_page(notebook_docname)
    repo = owner_and_name(repository_url)
    prefix = marker.format(repo=repo)
    links = [link for link in visit.links if prefix in link]
    assert links, f"{notebook_docname}: no {service} launch link containing {prefix!r}"
    for link in links:
        assert unquote(link).endswith(f"{notebook_docname}.ipynb") or (
            f"{notebook_docname}.ipynb" in unquote(link)
        ), f"{service} link does not open {notebook_docname}.ipynb: {link}"


def test_no_jupyterhub_button_until_the_course_sets_its_hub(
    notebook_docname: str, load_page: Callable
) -> None:
    """_config.yml sets no jupyterhub_url, so no page links to a hub (nbgitpuller's path)."""
    visit = load_page(notebook_docname)
    hub_links = [link for link in visit.links if "/hub/user-redirect/git-pull" in link]
    assert hub_links == [], f"{notebook_docname}: a JupyterHub button: {hub_links}"
