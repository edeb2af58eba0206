"""Shared test settings: the hypothesis profile, the tolerance table and the array strategies.

Strategies and the tolerance table are handed to tests as session-scoped fixtures (a test with
``@given(data=st.data())`` draws from them), so no test module imports this file by name: other
test folders have their own ``conftest.py`` and ``import conftest`` would be ambiguous.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterator
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# "softmax-course" keeps the package tests well under a minute on 2 cores and, being derandomized,
# makes every run draw the same examples (a red test is reproducible by anyone). "thorough" is for
# a hunt: HYPOTHESIS_PROFILE=thorough pytest tests/...
settings.register_profile(
    "softmax-course",
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "softmax-course"))

# Tolerances for comparing a result with a float64 or exact reference, by OUTPUT dtype.
#
# float32/float64, relative part: the strategies' logits are bounded by 50, so the shifted exponent
# y = x - m (|y| <= 100) is rounded with an absolute error of at most 100 * eps / 2, which exp turns
# into the same relative error (d exp(y) = exp(y) dy); exp, the pairwise sum (O(log K) roundings)
# and the division add a few eps more. 128 eps covers this with margin.
# float32/float64, absolute part: log-domain values near 0 (log_softmax of a dominant entry, a
# logsumexp near 0) carry the error of log(sum) as an ABSOLUTE error. The sum's relative error is at
# most sum_i e^{y_i} |y_i| eps / 2 <= K eps / (2e) (as max y e^-y = 1/e), about 23 eps for K = 125,
# plus its own rounding; 32 eps covers it.
#
# float16: the computation runs in float32 (errors as above, ~1e-5 at most) and the result is
# rounded ONCE to float16, relative error 2**-11; rtol 2**-10 allows both. Outputs below float16's
# smallest normal (6.1e-5) are subnormal and only absolutely accurate (spacing 2**-24); atol 2**-16
# covers them and the float32 absolute error of log-domain values near 0.
#
# Integer and bool inputs are computed and returned in float64, so they use the float64 row.
TOLERANCES = {
    np.dtype(np.float16): {"rtol": 2.0**-10, "atol": 2.0**-16},
    np.dtype(np.float32): {"rtol": 128 * float(np.finfo(np.float32).eps),
                           "atol": 32 * float(np.finfo(np.float32).eps)},
    np.dtype(np.float64): {"rtol": 128 * float(np.finfo(np.float64).eps),
                           "atol": 32 * float(np.finfo(np.float64).eps)},
}

FLOAT_DTYPES = (np.float16, np.float32, np.float64)
INPUT_DTYPES = (*FLOAT_DTYPES, np.int64, np.int32)
LOGIT_BOUND = 50  # see TOLERANCES: the error analysis assumes |logit| <= 50


def output_dtype_of(dtype) -> np.dtype:
    """The dtype policy of the package: bool/int -> float64, floats keep their dtype."""
    dtype = np.dtype(dtype)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def _elements(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return st.integers(-LOGIT_BOUND, LOGIT_BOUND)
    return st.floats(-LOGIT_BOUND, LOGIT_BOUND, width=8 * dtype.itemsize)


def _axis_for(ndim: int):
    """An axis argument valid for ``ndim``: None, an int (maybe negative) or a tuple of ints."""
    single = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(
        lambda axes: tuple(axis - ndim if i % 2 else axis for i, axis in enumerate(axes))
    )  # mixes negative and non-negative spellings
    return st.one_of(st.none(), single, several)


_SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


@st.composite
def _logits_and_axis(draw, dtypes=INPUT_DTYPES):
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(_SHAPES)
    x = draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))
    return x, draw(_axis_for(len(shape)))


@st.composite
def _dyadic_logits_and_axis(draw):
    dtype = np.dtype(draw(st.sampled_from(FLOAT_DTYPES)))
    shape = draw(_SHAPES)
    numerators = draw(hnp.arrays(np.int64, shape, elements=st.integers(-512, 512)))
    return (numerators / 64).astype(dtype), draw(_axis_for(len(shape)))


@pytest.fixture(scope="session")
def tolerance():
    """``tolerance(dtype) -> {"rtol": ..., "atol": ...}`` for an output dtype (see TOLERANCES)."""
    return lambda dtype: TOLERANCES[output_dtype_of(dtype)]


@pytest.fixture(scope="session")
def output_dtype():
    """``output_dtype(input_dtype)``: the dtype the package returns for that input dtype."""
    return output_dtype_of


@pytest.fixture(scope="session")
def logits_and_axis():
    """Strategy for ``(x, axis)``: x of 1-3 dims, sides 1-5, any input dtype, |x| <= 50."""
    return _logits_and_axis()


@pytest.fixture(scope="session")
def float64_logits_and_axis():
    """Strategy for ``(x, axis)`` as ``logits_and_axis`` but always float64 (for derivatives)."""
    return _logits_and_axis(dtypes=(np.float64,))


@pytest.fixture(scope="session")
def dyadic_logits_and_axis():
    """Strategy for ``(x, axis)`` with x a multiple of 1/64 in [-8, 8], any float dtype.

    Such values and their sums with a shift of the same kind (|x + c| <= 16, 10 significant bits)
    are exact even in float16, so shift invariance can be tested for exact equality.
    """
    return _dyadic_logits_and_axis()


@pytest.fixture(scope="session")
def class_problem():
    """Strategy for a cross-entropy problem: float64 logits ``(..., C, ...)`` and the class axis."""

    @st.composite
    def strategy(draw):
        shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
        logits = draw(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)))
        axis = draw(st.integers(-len(shape), len(shape) - 1))
        return logits, axis

    return strategy()


@pytest.fixture(scope="session")
def difference_atol():
    """``difference_atol(f_value)``: absolute tolerance for a central difference with h = 1e-6.

    Rounding f(x + h) and f(x - h) costs about eps * |f| each, divided by 2h: a few
    eps / h = 2.2e-10 times |f|. A tolerance that ignores |f| fails for large losses or sums.
    """
    return lambda f_value: 1e-9 * (1.0 + float(np.sum(np.abs(f_value))))


# The built book the tests read: `python3 run.py book` writes _build/html. SOFTMAX_COURSE_HTML
# points the tests at another build (one made with `jupyter-book build . --path-output DIR`).
BUILD_HTML = Path(
    os.environ.get("SOFTMAX_COURSE_HTML", Path(__file__).resolve().parents[1] / "_build" / "html")
)


@pytest.fixture
def run_py():
    """A fresh copy of run.py as a module, for a test to call its functions or patch them."""
    spec = importlib.util.spec_from_file_location(
        "course_run_py", Path(__file__).resolve().parents[1] / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# `python3 run.py test` builds the book while the tests run, and names here the file where it
# writes "built" or "failed" when the build ends.
BOOK_STATUS = os.environ.get("SOFTMAX_COURSE_BOOK_STATUS")
BOOK_WAIT_SECONDS = 1800  # a safety net: the build takes two to three minutes
BOOK_POLL_SECONDS = 1.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reads the built book, however indirectly, ``built_book``, and run
    the files that hold one last (whole, as xdist's --dist loadfile hands out files), so that
    the book can build while the others run."""
    last_files = set()
    for item in items:
        if "built_html" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.built_book)
            last_files.add(item.path)
    items[:] = ([item for item in items if item.path not in last_files]
                + [item for item in items if item.path in last_files])


# Each test process loads a built page once and keeps the visit (tests/browser/conftest.py,
# load_page). These files read the same visits: under --dist loadfile they are one work unit, so
# every page is loaded once in the run, not once in each worker (72 s of a worker's time).
SHARED_PAGE_VISITS = ("tests/browser/test_pages.py", "tests/browser/test_notebook_buttons.py")


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """xdist's --dist loadfile, with the files of SHARED_PAGE_VISITS handed out together."""
    if config.getoption("dist", None) != "loadfile":
        return None  # xdist's own scheduler for the mode asked
    from xdist.scheduler import LoadFileScheduling

    class SharedVisitsTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return SHARED_PAGE_VISITS[0] if scope in SHARED_PAGE_VISITS else scope

    return SharedVisitsTogether(config, log)


def _wait_for_the_book_build(status: Path) -> None:
    deadline = time.monotonic() + BOOK_WAIT_SECONDS
    while not status.is_file() or not status.read_text().strip():
        if time.monotonic() > deadline:
            pytest.fail(f"the book build has not ended after {BOOK_WAIT_SECONDS} s", pytrace=False)
        time.sleep(BOOK_POLL_SECONDS)
    if status.read_text().strip() != "built":
        pytest.fail(f"the book did not build: see {status.with_suffix('.log')}", pytrace=False)


@pytest.fixture(scope="session")
def built_html() -> Path:
    """The built book; fail (not skip) when it is missing, since then nothing was checked."""
    if BOOK_STATUS:
        _wait_for_the_book_build(Path(BOOK_STATUS))
    if not BUILD_HTML.joinpath("index.html").is_file():
        pytest.fail(
            f"The built book is missing ({BUILD_HTML / 'index.html'} does not exist). "
            "Build it first with: python3 run.py book",
            pytrace=False,
        )
    return BUILD_HTML


CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; Playwright never downloads a browser here
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Offline, whatever the machine: every host but the tests' server fails to resolve, at once.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


# Here rather than in browser/conftest.py: Playwright's sync API cannot be started twice in one
# process (the second start finds the first one's event loop running), so every test that needs
# a browser, whichever folder it is in and whichever xdist worker runs it, shares this one.
@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the whole session.

    ``launch`` starts Chromium on a new, empty user data directory that Playwright creates and
    removes itself. The browser tests' tabs (``tests/browser/page_visit.py``) go from page to
    page, and clear what a test may leave behind (storage, cookies, the stored light/dark
    choice, emulated media) before the next test uses the tab.
    """
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's browser with 'apt-get install chromium'",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()
