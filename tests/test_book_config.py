"""The book's configuration: what gets built, how it executes, and what a fork has to change.

These tests read ``_config.yml`` and ``_toc.yml`` and, where it matters, the Sphinx settings
Jupyter Book derives from them (``get_final_config``), so they check what the build really
uses rather than what the YAML seems to say. They need no build.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml
from jupyter_book.config import get_final_config
from pybtex.database import parse_file
from sphinx_external_toc.parsing import parse_toc_yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_PATH = REPO_ROOT / "_config.yml"
TOC_PATH = REPO_ROOT / "_toc.yml"
BINDER_REQUIREMENTS = REPO_ROOT / ".binder" / "requirements.txt"
SOURCE_SUFFIXES = (".md", ".ipynb")
# Folders that must never be read as book sources: solutions above all.
MUST_EXCLUDE = ("solutions", "tests", "benchmarks", ".venv", "_build", "softmax_grading")
# Per-cell execution timeout, seconds: generous for a chapter's heaviest cell, yet a hung cell
# fails the build well before CI gives up on it.
TIMEOUT_RANGE = (60, 600)


@pytest.fixture(scope="module")
def config() -> dict:
    """``_config.yml`` as written."""
    return yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sphinx_config() -> dict:
    """The Sphinx configuration Jupyter Book derives from ``_config.yml``."""
    derived, _meta = get_final_config(
        user_yaml=CONFIG_PATH,
        cli_config={"latex_individualpages": False},
        sourcedir=REPO_ROOT,
        validate=True,
        raise_on_invalid=True,
    )
    return derived


def toc_docnames() -> list[str]:
    """Every page named in ``_toc.yml``."""
    return list(parse_toc_yaml(TOC_PATH).keys())


def source_of(docname: str) -> list[Path]:
    """The source files a TOC entry could mean (Sphinx accepts exactly one)."""
    return [
        REPO_ROOT / f"{docname}{suffix}"
        for suffix in SOURCE_SUFFIXES
        if (REPO_ROOT / f"{docname}{suffix}").is_file()
    ]


def test_repository_url_is_the_only_setting_a_fork_changes(config: dict) -> None:
    """The repository URL is written once; launch buttons and Binder derive from it."""
    repository_url = config["repository"]["url"]
    config_text = CONFIG_PATH.read_text(encoding="utf-8")
    repo_path = urlsplit(repository_url).path.strip("/")  # owner/name
    assert config_text.count(repo_path) == 1, f"{repo_path} must appear once in _config.yml"
    for service, url in config["launch_buttons"].items():
        if isinstance(url, str) and url.startswith("http"):
            assert urlsplit(url).path.strip("/") == "", (
                f"launch_buttons.{service} must be the service's address only, not a link "
                f"into a repository: {url}"
            )
    binder_text = BINDER_REQUIREMENTS.read_text(encoding="utf-8")
    assert repo_path not in binder_text, "Binder installs the checkout itself, not a URL"
    requirements = [
        line.strip() for line in binder_text.splitlines() if line.strip() and line[0] != "#"
    ]
    # Binder installs what `python3 run.py student` installs: the checkout with its extra.
    assert requirements == ["-e .[student]"], requirements


def test_launch_buttons_come_from_repository_settings(config: dict, sphinx_config: dict) -> None:
    """Binder and Colab are on, and the theme gets the repository from one place.

    JupyterHub stays off until a course sets its own hub: a button to someone else's hub
    (it once pointed at datahub.berkeley.edu) sends students to a login they do not have.
    """
    theme = sphinx_config["html_theme_options"]
    assert theme["repository_url"] == config["repository"]["url"]
    assert theme["repository_branch"] == config["repository"]["branch"]
    launch = theme["launch_buttons"]
    for service in ("binderhub_url", "colab_url"):
        assert launch.get(service, "").startswith("https://"), f"{service} is not set"
    assert launch.get("jupyterhub_url", "") == "", "no hub of the course's own: no hub button"
    assert theme.get("use_download_button", True), "readers must be able to download notebooks"


def test_every_toc_page_exists_once() -> None:
    """Each TOC entry has exactly one source file (.md or .ipynb)."""
    problems = {name: source_of(name) for name in toc_docnames() if len(source_of(name)) != 1}
    assert problems == {}, f"TOC entries with no source or two sources: {problems}"


def test_every_chapter_and_exercise_notebook_is_in_the_toc() -> None:
    """No chapter or exercise notebook is silently left out of the book."""
    in_toc = set(toc_docnames())
    notebooks = [*REPO_ROOT.glob("book/*.ipynb"), *REPO_ROOT.glob("exercises/*/*.ipynb")]
    missing = sorted(
        str(path.relative_to(REPO_ROOT))
        for path in notebooks
        if path.relative_to(REPO_ROOT).with_suffix("").as_posix() not in in_toc
    )
    assert missing == [], f"notebooks not in _toc.yml: {missing}"


def test_only_toc_files_are_built(config: dict, sphinx_config: dict) -> None:
    """Sphinx reads only TOC pages, and never walks into solutions or other non-book folders."""
    assert config["only_build_toc_files"] is True
    assert sphinx_config["external_toc_exclude_missing"] is True
    missing = [name for name in MUST_EXCLUDE if name not in sphinx_config["exclude_patterns"]]
    assert missing == [], f"exclude_patterns lacks {missing}"


def test_build_refuses_stale_outputs_and_execution_errors(sphinx_config: dict) -> None:
    """Every build re-runs the chapters, and an exception in any cell fails the build."""
    assert sphinx_config["nb_execution_mode"] == "force"
    assert sphinx_config["nb_execution_allow_errors"] is False
    assert sphinx_config["nb_execution_raise_on_error"] is True
    low, high = TIMEOUT_RANGE
    assert low <= sphinx_config["nb_execution_timeout"] <= high


def test_exercises_are_shown_but_not_executed(sphinx_config: dict) -> None:
    """Exercise notebooks (which raise NotImplementedError) skip execution; chapters do not.

    myst-nb matches each pattern against the notebook's path with ``PurePosixPath.match``.
    """
    patterns = sphinx_config["nb_execution_excludepatterns"]

    def excluded(relative: str) -> bool:
        path = PurePosixPath((REPO_ROOT / relative).as_posix())
        return any(path.match(pattern) for pattern in patterns)

    assert excluded("exercises/ch01_definition/ch01_definition.ipynb")
    assert excluded("exercises/ch08_online_softmax/ch08_online_softmax.ipynb")
    assert not excluded("book/01_definition.ipynb")
    assert not excluded("book/08_online_softmax.ipynb")


def test_maths_and_citations_are_configured(sphinx_config: dict) -> None:
    """MathJax is served by the local extension, and citations are author-year."""
    assert "offline_mathjax" in sphinx_config["extensions"]
    assert "unique_inline_scripts" in sphinx_config["extensions"]
    assert "mathjax_path" not in sphinx_config, "offline_mathjax sets mathjax_path itself"
    assert sphinx_config["bibtex_reference_style"] == "author_year"
    assert sphinx_config["nb_ipywidgets_js"] == {}, "the ipywidgets scripts come from a CDN"


def test_bibliography_entries_are_complete(sphinx_config: dict) -> None:
    """Every BibTeX entry parses and has authors, a title and a year."""
    (bibfile,) = sphinx_config["bibtex_bibfiles"]
    database = parse_file(str(REPO_ROOT / bibfile))
    assert len(database.entries) > 0
    incomplete = [
        key
        for key, entry in database.entries.items()
        if not entry.persons.get("author")
        or "title" not in entry.fields
        or "year" not in entry.fields
    ]
    assert incomplete == [], f"entries lacking author, title or year: {incomplete}"
