"""The temperature explorer of chapter 5, driven in Chromium and checked against softmax_course.

The page computes softmax(z / T), its entropy and the top-k / top-p sets in JavaScript
(book/_static/temperature_explorer.js). These tests move its controls and compare every number
it shows with the library's, for the logits the chapter gave it (read from the page itself).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

import softmax_course as sc

pytestmark = pytest.mark.browser

PAGE = "book/05_temperature.html"
EXPLORER = ".temperature-explorer"
# Slider positions: log10 of the temperature, from the coldest to the hottest the slider allows.
LOG10_TEMPERATURES = ["-1.3", "-0.5", "0", "0.37", "1", "1.3"]

READ_STATE = """root => ({
  tokens: JSON.parse(root.dataset.tokens),
  logits: JSON.parse(root.dataset.logits),
  temperature: Number(root.dataset.temperature),
  entropy: Number(root.dataset.entropy),
  k: Number(root.dataset.kValue),
  p: Number(root.dataset.pValue),
  temperatureText: root.querySelector('.te-t-value').textContent,
  entropyText: root.querySelector('.te-entropy').textContent,
  topKText: root.querySelector('.te-top-k-set').textContent,
  topPText: root.querySelector('.te-top-p-set').textContent,
  rows: Array.from(root.querySelectorAll('.te-row')).map(row => ({
    token: row.dataset.token,
    probability: Number(row.dataset.probability),
    probabilityText: row.querySelector('.te-probability').textContent,
    inTopK: row.dataset.inTopK === 'true',
    inTopP: row.dataset.inTopP === 'true',
    barWidth: row.querySelector('.te-bar').style.width,
  })),
})"""

SET_INPUT = """([root, selector, value]) => {
  const input = root.querySelector(selector);
  input.value = value;
  input.dispatchEvent(new Event('input', {bubbles: true}));
}"""


# The explorer's three controls, and what sets each one back as a reader's input would.
CONTROLS = [".te-temperature", ".te-k", ".te-p"]
READ_CONTROLS = "([root, selectors]) => selectors.map(s => root.querySelector(s).value)"
RESET_CONTROLS = """([root, selectors, values]) => {
  selectors.forEach((selector, i) => {
    const input = root.querySelector(selector);
    input.value = values[i];
    input.dispatchEvent(new Event('input', {bubbles: true}));
  });
  if (document.activeElement) { document.activeElement.blur(); }
}"""


@dataclass
class LoadedExplorer:
    page: object
    root: object
    visit: object
    controls: list[str]  # each control's value as the page was loaded
    state: dict  # read_state as the page was loaded


@pytest.fixture(scope="module")
def loaded_explorer(module_tab: object, base_url: str) -> LoadedExplorer:
    """The chapter page, loaded once for this module (its maths and figures take seconds)."""
    visit = module_tab.open(f"{base_url}{PAGE}")
    page = module_tab.page
    page.wait_for_selector(f"{EXPLORER}[data-ready='true']")
    root = page.query_selector(EXPLORER)
    return LoadedExplorer(page, root, visit, page.evaluate(READ_CONTROLS, [root, CONTROLS]),
                          read_state(page, root))


@pytest.fixture
def explorer(loaded_explorer: LoadedExplorer) -> Iterator[tuple[object, object]]:
    """(page, the explorer's element), as a reader first sees it: the controls at the chapter's
    defaults, screen media, nothing focused. Checked, so no test sees what another left."""
    loaded = loaded_explorer
    page, root = loaded.page, loaded.root
    page.emulate_media(media="null")
    page.evaluate(RESET_CONTROLS, [root, CONTROLS, loaded.controls])
    assert read_state(page, root) == loaded.state, "the explorer was not set back"
    assert loaded.visit.problems() == [], "\n".join(loaded.visit.problems())
    yield page, root
    assert loaded.visit.problems() == [], "\n".join(loaded.visit.problems())


def read_state(page: object, root: object) -> dict:
    return page.evaluate(READ_STATE, root)


def set_input(page: object, root: object, selector: str, value: str) -> dict:
    page.evaluate(SET_INPUT, [root, selector, value])
    return read_state(page, root)


def check_against_the_library(state: dict) -> None:
    """Every number and set the explorer shows equals softmax_course's for its T, k and p."""
    logits = np.array(state["logits"])
    temperature, k, p = state["temperature"], state["k"], state["p"]
    probs = sc.softmax(logits, temperature=temperature)
    shown = np.array([row["probability"] for row in state["rows"]])
    np.testing.assert_allclose(shown, probs, rtol=1e-12, atol=1e-300)
    assert [row["probabilityText"] for row in state["rows"]] == [f"{q:.4f}" for q in probs]
    widths = np.array([float(row["barWidth"].rstrip("%")) for row in state["rows"]])
    np.testing.assert_allclose(widths, 100 * probs, atol=0.006)  # per cent, 2 decimals
    entropy = float(sc.entropy(probs))
    assert state["entropy"] == pytest.approx(entropy, rel=1e-12, abs=1e-15)
    assert f"entropy H = {entropy:.4f} nats" in state["entropyText"]
    assert f"log {len(logits)} = {math.log(len(logits)):.4f}" in state["entropyText"]
    # Three significant digits on screen.
    assert float(state["temperatureText"]) == pytest.approx(temperature, rel=5e-3)

    in_top_k = sc.top_k_mask(logits, k)
    in_top_p = sc.top_p_mask(logits, p, temperature=temperature)
    assert [row["inTopK"] for row in state["rows"]] == in_top_k.tolist()
    assert [row["inTopP"] for row in state["rows"]] == in_top_p.tolist()
    tokens = np.array(state["tokens"])
    assert ", ".join(tokens[in_top_k]) in state["topKText"]
    assert f"({in_top_k.sum()} tokens)" in state["topKText"]
    assert ", ".join(tokens[in_top_p]) in state["topPText"]
    assert f"({in_top_p.sum()} tokens)" in state["topPText"]


def test_the_slider_matches_softmax_course_at_every_temperature(explorer) -> None:
    page, root = explorer
    nucleus_sizes = []
    for position in LOG10_TEMPERATURES:
        state = set_input(page, root, ".te-temperature", position)
        assert state["temperature"] == pytest.approx(10 ** float(position), rel=1e-12)
        check_against_the_library(state)
        nucleus_sizes.append(sum(row["inTopP"] for row in state["rows"]))
    # What the reader is meant to see: the nucleus grows with T, top-k stays put.
    assert nucleus_sizes == sorted(nucleus_sizes) and nucleus_sizes[0] < nucleus_sizes[-1]


def test_k_and_p_controls_match_softmax_course(explorer) -> None:
    page, root = explorer
    set_input(page, root, ".te-temperature", "0.2")
    for k in ("1", "2", "5", "8"):
        check_against_the_library(set_input(page, root, ".te-k", k))
    for p in ("0.05", "0.5", "0.83", "1"):
        check_against_the_library(set_input(page, root, ".te-p", p))


def test_the_keyboard_moves_the_slider(explorer) -> None:
    """A reader without a mouse: arrow keys step the temperature and everything follows."""
    page, root = explorer
    before = read_state(page, root)
    root.query_selector(".te-temperature").focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    after = read_state(page, root)
    assert after["temperature"] == pytest.approx(before["temperature"] * 10 ** 0.1, rel=1e-9)
    check_against_the_library(after)


def test_the_explorer_uses_the_chapters_logits_and_defaults(explorer) -> None:
    page, root = explorer
    state = read_state(page, root)
    assert len(state["tokens"]) == len(state["logits"]) == len(state["rows"]) >= 2
    assert json.loads(root.get_attribute("data-logits")) == state["logits"]
    assert state["temperature"] == 1.0
    check_against_the_library(state)


def test_print_shows_the_static_figure_instead(explorer) -> None:
    page, root = explorer
    stand_in = page.query_selector(".tag_temperature-explorer-print")
    assert stand_in is not None and stand_in.query_selector("img") is not None
    assert root.is_visible() and not stand_in.is_visible()
    page.emulate_media(media="print")
    assert stand_in.is_visible() and not root.is_visible()
