"""Chapter 8's step-through of the online-softmax recurrence, driven in Chromium.

The page computes the recurrence in JavaScript (``book/_static/online_softmax_stepper.js``); these
tests step through it with the buttons and with the slider's keys, and compare every number shown
at every step with ``softmax_course.OnlineSoftmaxState`` and ``softmax_course.softmax`` computed
here. They also check the page over ``file://``, and that print shows the static table instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import softmax_course as sc

pytestmark = pytest.mark.browser

PAGE = "book/08_online_softmax.html"
STEPPER = ".online-softmax-stepper"
PRINT_TABLE = ".online-softmax-stepper-print"

# What the widget shows at its current step: every quantity's full-precision value and its text.
READ_STEP = """root => {
  const field = name => root.querySelector(`[data-quantity="${name}"]`);
  const value = node => node.getAttribute('data-value');
  return {
    step: Number(root.getAttribute('data-step')),
    fields: Object.fromEntries(['element', 'previous-max', 'max', 'rescale', 'sum']
      .map(name => [name, {value: value(field(name)), text: field(name).textContent}])),
    probabilities: Array.from(root.querySelectorAll('[data-quantity="probability"]'))
      .map(cell => ({value: value(cell), text: cell.textContent})),
  };
}"""


def expected_steps(logits: list[float]) -> list[dict[str, object]]:
    """What the widget must show after 0, 1, ..., K logits, from the course's own classes."""
    steps = []
    state = sc.OnlineSoftmaxState.empty()
    steps.append({"max": -np.inf, "sum": 0.0, "rescale": np.nan, "element": np.nan,
                  "previous-max": np.nan, "probabilities": []})
    for j in range(1, len(logits) + 1):
        new_state = state.update(np.array(logits[j - 1 : j]))
        steps.append({
            "element": logits[j - 1],
            "previous-max": float(state.max),
            "max": float(new_state.max),
            # exp(m_{j-1} - m_j); exp(-inf) = 0 at the first element
            "rescale": float(np.exp(state.max - new_state.max)),
            "sum": float(new_state.normalizer),
            "probabilities": list(sc.softmax(np.array(logits[:j]))),
        })
        state = new_state
    return steps


def shown_number(text: str) -> str:
    """The widget's text with its typographic minus and infinity made plain."""
    return text.replace("\u2212", "-").replace("\u221e", "inf")


def assert_shows(shown: dict, expected: dict, step: int) -> None:
    assert shown["step"] == step
    for name in ("element", "previous-max", "max", "rescale", "sum"):
        value, text = float(shown["fields"][name]["value"]), shown["fields"][name]["text"]
        want = expected[name]
        if np.isnan(want):
            assert np.isnan(value) and text == "\u2014", (step, name, text)
        elif np.isinf(want):
            assert value == want and shown_number(text) == "-inf", (step, name, text)
        else:
            np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-15,
                                       err_msg=f"step {step}, {name}")
            assert shown_number(text) == f"{want:.4f}", (step, name, text)
    read = [cell for cell in shown["probabilities"] if cell["value"] is not None]
    assert len(read) == step
    np.testing.assert_allclose([float(cell["value"]) for cell in read],
                               expected["probabilities"], rtol=1e-12, atol=1e-15)
    assert [cell["text"] for cell in read] == [f"{p:.4f}" for p in expected["probabilities"]]
    unread = shown["probabilities"][step:]
    assert all(cell["text"] == "" for cell in unread)


# Back to step 0 as the slider's Home key goes there, and nothing focused.
RESET = """root => {
  const slider = root.querySelector('input[type=range]');
  slider.value = '0';
  slider.dispatchEvent(new Event('input', {bubbles: true}));
  if (document.activeElement) { document.activeElement.blur(); }
}"""
# The widget's step and every button's state.
READ_WIDGET = f"""root => ({{shown: ({READ_STEP})(root),
  disabled: Array.from(root.querySelectorAll('button')).map(b => b.disabled)}})"""


@dataclass
class LoadedStepper:
    page: object
    stepper: object  # its locator
    visit: object
    widget: dict  # READ_WIDGET as the page was loaded


@pytest.fixture(scope="module")
def loaded_stepper(module_tab: object, base_url: str) -> LoadedStepper:
    """The chapter page, loaded once for this module (its maths takes seconds)."""
    visit = module_tab.open(f"{base_url}{PAGE}")
    page = module_tab.page
    page.wait_for_selector(f"{STEPPER}.oss-ready")
    stepper = page.locator(STEPPER)
    return LoadedStepper(page, stepper, visit, stepper.evaluate(READ_WIDGET))


@pytest.fixture
def stepper_page(loaded_stepper: LoadedStepper) -> Iterator[tuple[object, object]]:
    """(page, the widget's locator) as a reader first sees it: step 0, screen media, nothing
    focused. Checked, so no test sees what another left."""
    loaded = loaded_stepper
    loaded.page.emulate_media(media="null")
    loaded.stepper.evaluate(RESET)
    assert loaded.stepper.evaluate(READ_WIDGET) == loaded.widget, "the stepper was not set back"
    assert loaded.visit.problems() == [], "\n".join(loaded.visit.problems())
    yield loaded.page, loaded.stepper
    assert loaded.visit.problems() == [], "\n".join(loaded.visit.problems())


def test_every_step_matches_online_softmax_state(stepper_page):
    _page, stepper = stepper_page
    logits = json.loads(stepper.get_attribute("data-logits"))
    steps = expected_steps(logits)
    assert len(logits) >= 5
    assert any(s["rescale"] < 1 for s in steps[2:]), "the example should raise its maximum"
    assert any(s["rescale"] == 1 for s in steps[2:]), "and keep it at least once"

    next_button = stepper.locator('[data-action="next"]')
    back_button = stepper.locator('[data-action="back"]')
    assert_shows(stepper.evaluate(READ_STEP), steps[0], 0)
    assert back_button.is_disabled()
    for j in range(1, len(logits) + 1):  # forward with the button
        next_button.click()
        assert_shows(stepper.evaluate(READ_STEP), steps[j], j)
    assert next_button.is_disabled()
    for j in range(len(logits) - 1, -1, -1):  # and back
        back_button.click()
        assert_shows(stepper.evaluate(READ_STEP), steps[j], j)
    stepper.locator('[data-action="end"]').click()
    assert_shows(stepper.evaluate(READ_STEP), steps[-1], len(logits))
    stepper.locator('[data-action="reset"]').click()
    assert_shows(stepper.evaluate(READ_STEP), steps[0], 0)


def test_the_slider_steps_with_its_keys(stepper_page):
    page, stepper = stepper_page
    logits = json.loads(stepper.get_attribute("data-logits"))
    steps = expected_steps(logits)
    slider = stepper.locator("input[type=range]")
    slider.focus()
    for j in range(1, len(logits) + 1):
        page.keyboard.press("ArrowRight")
        assert_shows(stepper.evaluate(READ_STEP), steps[j], j)
    page.keyboard.press("Home")
    assert_shows(stepper.evaluate(READ_STEP), steps[0], 0)
    page.keyboard.press("End")
    assert_shows(stepper.evaluate(READ_STEP), steps[-1], len(logits))


def test_print_shows_the_table_of_every_step_instead(stepper_page):
    page, stepper = stepper_page
    logits = json.loads(stepper.get_attribute("data-logits"))
    steps = expected_steps(logits)
    table = page.locator(PRINT_TABLE)
    assert stepper.is_visible() and not table.is_visible()
    page.emulate_media(media="print")
    assert table.is_visible() and not stepper.is_visible()
    rows = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    assert len(rows) == len(logits)
    for j, row in enumerate(rows, start=1):
        expected = [j, logits[j - 1], steps[j]["max"], steps[j]["rescale"], steps[j]["sum"]]
        np.testing.assert_allclose([float(cell) for cell in row], expected, rtol=5e-4,
                                   err_msg=f"printed row {j}")


def test_the_stepper_works_from_a_file_url(browser: object, built_html: Path):
    page = browser.new_page()
    try:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto((built_html / PAGE).as_uri(), wait_until="load")
        stepper = page.locator(f"{STEPPER}.oss-ready")
        stepper.wait_for()
        stepper.locator('[data-action="end"]').click()
        logits = json.loads(stepper.get_attribute("data-logits"))
        assert_shows(stepper.evaluate(READ_STEP), expected_steps(logits)[-1], len(logits))
        assert errors == []
    finally:
        page.close()
