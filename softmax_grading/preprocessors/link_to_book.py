"""Make the exercise's links to the book's chapters work from a feedback page.

The exercises link to their chapter with a path relative to the repository
(``../../book/04_logsumexp.ipynb``), which works in the repository and in the
book, but not from ``feedback/<student>/<assignment>/``, nor in a page a
student downloads. In the feedback such a link points at the chapter's page
in the published book when ``c.LinkToBook.book_url`` is set, and otherwise at
the chapter's notebook in the course repository (``repository.url`` and
``repository.branch`` in ``_config.yml``, which GitHub shows rendered; the
course folder's ``_config.yml``, or else the one beside the installed package).
"""

import os
import re
from pathlib import Path

import yaml
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

# A Markdown link target that climbs to the repository's book/ folder.
PACKAGE_REPOSITORY = Path(__file__).resolve().parents[2]
BOOK_LINK = re.compile(r"\]\((?:\.\./)+book/(?P<page>[\w.-]+?)\.(?:ipynb|md)(?P<anchor>#[^)]*)?\)")


class LinkToBook(NbGraderPreprocessor):
    book_url = Unicode(
        "", help="the published book's address, e.g. https://course.example.org/softmax/ "
                 "(empty: link to the notebooks in the course repository)"
    ).tag(config=True)
    book_config = Unicode(
        "_config.yml", help="the book's configuration, relative to the course folder"
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._targets = {}  # course folder -> how a chapter's link is written (or None)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        root = Path(self.config.CourseDirectory.get("root") or os.getcwd())
        # One feedback run renders a whole class with this one preprocessor: read the book's
        # configuration once (parsing it took a tenth of every page's rendering).
        if root not in self._targets:
            self._targets[root] = self._target(root)
        target = self._targets[root]
        if target is None:
            return nb, resources
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = BOOK_LINK.sub(
                    lambda m: f"]({target(m['page'])}{m['anchor'] or ''})", cell.source)
        return nb, resources

    def _target(self, root: Path):
        if self.book_url:
            base = self.book_url.rstrip("/")
            return lambda page: f"{base}/book/{page}.html"
        candidates = [root / self.book_config, PACKAGE_REPOSITORY / self.book_config]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            return None
        config = yaml.safe_load(found.read_text(encoding="utf-8"))
        url = str(config["repository"]["url"]).rstrip("/").removesuffix(".git")
        branch = str(config["repository"].get("branch") or "main")
        return lambda page: f"{url}/blob/{branch}/book/{page}.ipynb"
