"""No page of the built book prints the answer to an autograded question.

Every numeric answer an exercise grades automatically is the value its solution cell assigns
to a ``*_answer`` variable in ``solutions/*/*.ipynb``. The test runs each of those solution
regions (after the notebook's locked setup cell) to get the values, writes each value in the
forms a chapter would print it (fixed-point with 1 to 6 decimals, ``%g`` and scientific
notation, ``repr``), and fails if any of those forms appears as a number of its own in the
text of a built page.

Only values that carry information are searched for: a value that two significant digits
write exactly (0.25, 64, 4, 1e6) is also a common number in any text, and finding it would say
nothing. A form is searched for only if it has at least four significant digits, so
"12.18" counts for 12.182494 but "12.2" does not.

The tests read the book as built; build it first with ``python3 run.py book`` (or point
``SOFTMAX_COURSE_HTML`` at another build).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest

from softmax_grading.leaks import html_to_text

REPO_ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO_ROOT / "solutions"

# ``name_answer = ...`` opens every numeric or short-answer cell (see the authoring guide).
ANSWER_NAME = re.compile(r"^(\w+_answer)\s*=\s*\.\.\.\s*$", re.MULTILINE)
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)

# Generated pages that list every word of the book, not pages a reader reads.
NOT_PAGES = {"genindex.html", "search.html"}


@dataclass(frozen=True)
class Answer:
    """One autograded number: where it is graded, and its value."""

    assignment: str
    name: str
    value: float

    def __str__(self) -> str:
        return f"{self.assignment}: {self.name} = {self.value!r}"


def _setup_source(notebook) -> str:
    """The locked setup cell (imports) that every answer cell of a notebook runs after."""
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup":
            return cell.source
    return ""


def _numbers(value) -> Iterator[float]:
    """The real numbers an answer consists of (a number, or a tuple or array of numbers)."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        return  # a multiple-choice letter or a word: nothing numeric to look for
    for number in np.ravel(np.asarray(value, dtype=np.float64)):
        yield float(number)


def autograded_answers() -> list[Answer]:
    """Every numeric answer of every assignment, computed by its solution region."""
    answers = []
    for path in sorted(SOLUTIONS.glob("*/*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        setup = _setup_source(notebook)
        for cell in notebook.cells:
            names = ANSWER_NAME.findall(cell.source) if cell.cell_type == "code" else []
            if not names:
                continue
            namespace: dict = {}
            exec(compile(setup, f"{path.name}:setup", "exec"), namespace)
            for region in SOLUTION_REGION.findall(cell.source):
                exec(compile(region, f"{path.name}:{names[0]}", "exec"), namespace)
            for name in names:
                answers += [Answer(path.parent.name, name, number)
                            for number in _numbers(namespace[name])]
    return answers


def _significant_digits(text: str) -> int:
    """How many significant digits a printed number has ("0.0340" has 3, "128.0" has 4)."""
    mantissa = re.split(r"[eE]", text.lstrip("+-"))[0]
    return len(mantissa.replace(".", "").lstrip("0"))


def is_informative(value: float) -> bool:
    """Whether a value needs more than two significant digits to write exactly."""
    mantissa = f"{abs(value):.12e}".split("e")[0]  # 1e6 -> "1.000000000000"
    return len(mantissa.replace(".", "").strip("0")) > 2


def printed_forms(value: float) -> set[str]:
    """The ways a chapter would print `value` that pin it down (four significant digits or
    more). The sign is left out, so "-0.8808" is found as "0.8808"."""
    magnitude = abs(value)
    candidates = {repr(magnitude), f"{magnitude:.6g}", f"{magnitude:.5g}", f"{magnitude:.4g}"}
    candidates |= {f"{magnitude:.{decimals}f}" for decimals in range(1, 7)}
    candidates |= {f"{magnitude:.{decimals}e}" for decimals in range(3, 6)}
    if magnitude == round(magnitude):  # a whole number may also print without decimals
        candidates |= {f"{magnitude:.0f}", f"{magnitude:,.0f}"}
    return {form for form in candidates if _significant_digits(form) >= 4}


def _as_a_number(form: str) -> re.Pattern:
    """`form` standing alone: no digit or decimal point right before it, no digit after."""
    return re.compile(r"(?<![\d.])" + re.escape(form) + r"(?!\d)")


def pages(root: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(root.rglob("*.html")):
        if path.name not in NOT_PAGES and "_sources" not in path.parts:
            yield path, html_to_text(path.read_text(encoding="utf-8", errors="replace"))


def test_the_answers_are_found_and_some_are_informative() -> None:
    """Guards the test itself: if no answer were found, or none searched for, it would pass
    without checking anything."""
    answers = autograded_answers()
    assignments = {answer.assignment for answer in answers}
    assert len(assignments) >= 8, f"answers found only in {sorted(assignments)}"
    assert sum(is_informative(answer.value) for answer in answers) >= 8


def test_printed_forms_of_a_value() -> None:
    forms = printed_forms(12.182493960703473)
    assert {"12.18", "12.182", "12.182494", "1.218e+01"} <= forms
    assert "12.2" not in forms  # three digits are not enough to pin it down
    assert "128.0" in printed_forms(128.0) and "128" not in printed_forms(128.0)
    assert {"4194304", "4,194,304"} <= printed_forms(4194304.0)
    assert not is_informative(0.25) and not is_informative(64.0) and is_informative(128.0)
    assert not is_informative(1e6) and is_informative(4194304.0)
    finds = _as_a_number("12.18").search
    assert finds("p_1 / p_3 = 12.18") and finds("[12.18, 3]")
    assert not finds("112.18") and not finds("12.185") and not finds("0.12.18")


def test_no_page_prints_an_autograded_answer(built_html: Path) -> None:
    searched = [(answer, form, _as_a_number(form))
                for answer in autograded_answers() if is_informative(answer.value)
                for form in sorted(printed_forms(answer.value))]
    found = []
    for path, text in pages(built_html):
        for answer, form, pattern in searched:
            # The pattern starts with a look-behind, so re tries it at every position of the
            # page: look for the bare digits first (132 forms over 28 pages took 5 s of CPU).
            match = pattern.search(text) if form in text else None
            if match:
                context = text[max(match.start() - 60, 0):match.end() + 20].replace("\n", " ")
                found.append(f"{path.relative_to(built_html)} prints {form!r} ({answer}): "
                             f"...{context}...")
    if found:
        pytest.fail("These pages give away graded answers; change the exercise's inputs or "
                    "the chapter's example:\n" + "\n".join(found), pytrace=False)
