"""Tests of the figure helpers: what they draw, where, and in which style."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from softmax_course import (
    COURSE_PALETTE,
    SIMPLEX_CORNERS,
    course_style,
    plot_attention,
    plot_heatmap,
    plot_jacobian,
    plot_logits_and_probs,
    plot_simplex,
    plot_temperature_sweep,
    simplex_coordinates,
    softmax,
)
from softmax_course.plotting import MAX_FIGURE_WIDTH

pytestmark = pytest.mark.filterwarnings("error")

LOGITS = np.array([2.0, 1.0, 0.1, -1.5])


@pytest.fixture(autouse=True)
def headless_figures(monkeypatch):
    """Agg backend, plt.show forbidden, and every figure closed after the test."""
    previous = matplotlib.get_backend()
    plt.switch_backend("Agg")

    def forbidden_show(*args, **kwargs):
        raise AssertionError("a plotting helper called plt.show()")

    monkeypatch.setattr(plt, "show", forbidden_show)
    monkeypatch.setattr(Figure, "show", forbidden_show)
    yield
    plt.close("all")
    plt.switch_backend(previous)


def saved_png_pixels(figure: Figure) -> np.ndarray:
    """The figure as savefig writes it, read back as RGBA floats in [0, 1]."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    buffer.seek(0)
    return plt.imread(buffer)  # (H, W, 4)


def test_figures_are_drawn_with_agg():
    assert matplotlib.get_backend().lower() == "agg"


def test_new_figures_are_transparent_even_when_saved_outside_the_style():
    # The page shows through a figure, so the dark theme can invert it (figure_theme.js).
    figures = [plot_logits_and_probs(LOGITS), plot_simplex(np.zeros(3)).figure]
    for figure in figures:
        assert figure.get_facecolor() == (0.0, 0.0, 0.0, 0.0)
        assert all(ax.get_facecolor()[3] == 0.0 for ax in figure.axes)
        pixels = saved_png_pixels(figure)
        assert pixels[0, 0, 3] == 0.0  # a transparent corner
        assert np.any(pixels[..., 3] == 1.0)  # and something drawn


def test_a_figure_with_a_heatmap_is_an_opaque_card():
    # Inverted, a heatmap's colours would not match its colormap: the dark theme leaves an
    # opaque figure as it is.
    with course_style():
        mixed, (left, right) = plt.subplots(1, 2)
    right.plot([0, 1])
    plot_heatmap(np.eye(3), ax=left)
    for figure in (mixed, plot_attention(np.eye(2)).figure, plot_jacobian(np.eye(2)).figure):
        pixels = saved_png_pixels(figure)
        np.testing.assert_array_equal(pixels[0, 0], [1.0, 1.0, 1.0, 1.0])  # opaque white corner


def test_figures_fit_the_book_column():
    wide = plot_logits_and_probs(np.arange(20.0))
    assert wide.get_figwidth() == MAX_FIGURE_WIDTH
    assert plot_simplex(np.zeros(3)).figure.get_figwidth() < MAX_FIGURE_WIDTH


def test_course_style_sets_dark_text_and_restores_rcparams():
    before = dict(matplotlib.rcParams)
    with course_style():
        assert matplotlib.rcParams["savefig.transparent"] is True
        assert matplotlib.colors.to_hex(matplotlib.rcParams["text.color"]) == "#1a1a1a"
        cycle = [entry["color"] for entry in matplotlib.rcParams["axes.prop_cycle"]]
        assert [c.upper() for c in cycle] == [c.upper() for c in COURSE_PALETTE]
    assert dict(matplotlib.rcParams) == before


def test_plot_logits_and_probs_draws_two_panels_of_k_bars():
    figure = plot_logits_and_probs(LOGITS, labels=["a", "b", "c", "d"], temperature=2.0)
    assert isinstance(figure, Figure)
    left, right = figure.axes
    assert [patch.get_height() for patch in left.patches] == pytest.approx(LOGITS)
    expected = softmax(LOGITS, temperature=2.0)
    assert [patch.get_height() for patch in right.patches] == pytest.approx(expected)
    assert [label.get_text() for label in right.get_xticklabels()] == ["a", "b", "c", "d"]
    assert "T = 2" in right.get_title()


def test_plot_logits_and_probs_draws_into_given_axes():
    figure, axes = plt.subplots(1, 2)
    result = plot_logits_and_probs(LOGITS, axes=axes)
    assert result is figure
    assert plt.get_fignums() == [figure.number]  # no new figure
    assert len(axes[0].patches) == len(axes[1].patches) == LOGITS.size


def test_plot_temperature_sweep_draws_one_bar_per_class_and_temperature():
    temperatures = [0.25, 1.0, 4.0]
    ax = plot_temperature_sweep(LOGITS, temperatures)
    assert isinstance(ax, Axes)
    assert len(ax.patches) == LOGITS.size * len(temperatures)
    heights = np.array([patch.get_height() for patch in ax.patches]).reshape(3, LOGITS.size)
    for row, temperature in zip(heights, temperatures, strict=True):
        np.testing.assert_allclose(row, softmax(LOGITS, temperature=temperature))
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "$T = 0.25$", "$T = 1$", "$T = 4$"]


def test_plot_simplex_puts_softmax_points_inside_the_triangle():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(50, 3))  # (N, 3)
    _, ax = plt.subplots()
    assert plot_simplex(logits, ax=ax) is ax
    offsets = ax.collections[0].get_offsets()  # (N, 2)
    assert offsets.shape == (50, 2)
    np.testing.assert_allclose(offsets, simplex_coordinates(softmax(logits)))
    # barycentric coordinates of each point with respect to the corners: all >= 0
    corners = np.vstack([SIMPLEX_CORNERS.T, np.ones(3)])  # (3, 3)
    weights = np.linalg.solve(corners, np.vstack([offsets.T, np.ones(50)]))  # (3, N)
    assert np.all(weights >= -1e-12)
    triangle = ax.patches[0].get_xy()
    np.testing.assert_allclose(triangle[:3], SIMPLEX_CORNERS)


def test_plot_simplex_accepts_probabilities_and_checks_them():
    points = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    ax = plot_simplex(points, probabilities=True, vertex_labels=["x", "y", "z"])
    np.testing.assert_allclose(ax.collections[0].get_offsets(),
                               [SIMPLEX_CORNERS[0], SIMPLEX_CORNERS.mean(axis=0)])
    assert {text.get_text() for text in ax.texts} == {"x", "y", "z"}
    with pytest.raises(ValueError, match="sum to 1"):
        plot_simplex([[0.5, 0.6, 0.0]], probabilities=True)
    with pytest.raises(ValueError, match=r"K = 3 classes, got shape \(2, 4\)"):
        plot_simplex(np.zeros((2, 4)))


def test_plot_jacobian_shows_the_matrix_with_a_centred_diverging_scale():
    s = softmax(LOGITS)
    J = np.diag(s) - np.outer(s, s)  # (K, K)
    _, ax = plt.subplots()
    assert plot_jacobian(J, labels=list("abcd"), ax=ax) is ax
    np.testing.assert_array_equal(ax.images[0].get_array(), J)
    norm = ax.images[0].norm
    assert norm.vmin == -norm.vmax == -np.abs(J).max()
    assert len(ax.figure.axes) == 2  # the axes and its colorbar
    with pytest.raises(ValueError, match=r"square 2-D array \(K, K\), got shape \(2, 3\)"):
        plot_jacobian(np.zeros((2, 3)))


def test_plot_attention_shows_the_weights_on_a_fixed_unit_scale():
    weights = softmax(np.random.default_rng(1).normal(size=(3, 5)))  # (L, S)
    ax = plot_attention(weights, query_labels=["q0", "q1", "q2"], key_labels=list("abcde"))
    np.testing.assert_array_equal(ax.images[0].get_array(), weights)
    assert (ax.images[0].norm.vmin, ax.images[0].norm.vmax) == (0.0, 1.0)
    assert [label.get_text() for label in ax.get_yticklabels()] == ["q0", "q1", "q2"]
    assert ax.get_xlabel() == "key" and ax.get_ylabel() == "query"


def test_plot_heatmap_writes_values_only_for_small_matrices():
    small = plot_heatmap(np.arange(6.0).reshape(2, 3))
    assert [text.get_text() for text in small.texts] == ["0.00", "1.00", "2.00", "3.00", "4.00",
                                                         "5.00"]
    large = plot_heatmap(np.zeros((9, 9)), colorbar=False)
    assert len(large.texts) == 0 and len(large.figure.axes) == 1


def test_heatmap_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"matrix must be 2-D, got shape \(2, 2, 2\)"):
        plot_heatmap(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="row_labels has 1 entries but the data has 2"):
        plot_heatmap(np.zeros((2, 2)), row_labels=["only one"])
    with pytest.raises(TypeError, match="complex128"):
        plot_attention(np.zeros((2, 2), complex))
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got str"):
        plot_attention(np.zeros((2, 2)), ax="not an axes")
