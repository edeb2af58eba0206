"""Figure helpers shared by the chapters, all drawn in one course style.

Every helper takes an optional ``ax`` (or ``axes``) to draw into; when it is ``None`` the helper
makes a new figure with :func:`matplotlib.pyplot.subplots`, so the figure shows up in a notebook.
Single-panel helpers return the :class:`~matplotlib.axes.Axes` they drew on; the two-panel
:func:`plot_logits_and_probs` returns the :class:`~matplotlib.figure.Figure`. No helper calls
``plt.show()``: showing and saving are the caller's business.

The style has to read well in the book's light *and* dark themes. Every figure has a transparent
background and near-black text and lines; in the dark theme the book inverts the lightness of a
transparent figure (``book/_static/figure_theme.js`` and ``course.css``), which turns that into
light text on the dark page while keeping the hues. A heatmap's colours carry its data, and
inverted they would no longer match the colormap a reader knows, so a figure with a heatmap is an
opaque white card (:data:`HEATMAP_CARD_COLOR`), which the dark theme shows unchanged. In a
notebook the figures are shown as PNGs at twice their nominal resolution
(:data:`INLINE_FIGURE_FORMAT`), sharp on high-density screens and phones, at :data:`FIGURE_DPI`
CSS pixels per inch, so a figure :data:`MAX_FIGURE_WIDTH` inches wide fills the book's text
column at full size. Colours come from the Okabe-Ito palette, which stays
distinguishable under the common forms of colour blindness; the colormaps (viridis, RdBu) are
perceptually ordered and colour-blind friendly as well.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .stable import softmax

# matplotlib is imported inside the functions: importing it (and pyplot) takes about a second,
# which every ``import softmax_course`` would otherwise pay even when it draws nothing.
if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

__all__ = [
    "COURSE_PALETTE",
    "COURSE_STYLE",
    "FIGURE_DPI",
    "HEATMAP_CARD_COLOR",
    "INLINE_FIGURE_FORMAT",
    "MAX_FIGURE_WIDTH",
    "SIMPLEX_CORNERS",
    "course_style",
    "plot_attention",
    "plot_heatmap",
    "plot_jacobian",
    "plot_logits_and_probs",
    "plot_simplex",
    "plot_temperature_sweep",
    "simplex_coordinates",
]

#: Okabe & Ito (2008) colour-blind-safe palette, ordered so that the colours with the most contrast
#: against white come first (the yellow, weakest on white, is kept for last but one).
COURSE_PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

_TEXT_COLOR = "#1a1a1a"  # near-black; the dark theme inverts it to near-white
_SEQUENTIAL_CMAP = "viridis"
_DIVERGING_CMAP = "RdBu_r"  # red = positive, blue = negative, white = 0
_ANNOTATE_MAX_CELLS = 64  # write the numbers into heatmaps up to 8 x 8; beyond that they are noise

#: Background of a figure that holds a heatmap (see the module docstring).
HEATMAP_CARD_COLOR = "white"
#: CSS pixels per figure inch in the book (matplotlib's default figure dpi).
FIGURE_DPI = 100
#: Widest figure, in inches, that the book's text column shows at full size on a 1280-px screen
#: (the column is 740 CSS pixels wide there; tests/browser measures it).
MAX_FIGURE_WIDTH = 7.4
#: How Jupyter's inline backend sends figures: "retina" is a PNG at twice :data:`FIGURE_DPI`,
#: displayed at its nominal size (the notebook output carries the halved width and height).
INLINE_FIGURE_FORMAT = "retina"

#: rcParams applied by :func:`course_style` (and so by every helper here).
COURSE_STYLE: dict[str, object] = {
    # transparent backgrounds: the page shows through, light or dark (see the module docstring)
    "figure.facecolor": "none",
    "figure.edgecolor": "none",
    "axes.facecolor": "none",
    "savefig.facecolor": "none",
    "savefig.edgecolor": "none",
    "savefig.transparent": True,
    # a legend keeps an opaque box, so lines behind it do not run through its text
    "legend.facecolor": "white",
    "legend.framealpha": 1.0,
    "legend.edgecolor": "#cccccc",
    # dark text and lines
    "text.color": _TEXT_COLOR,
    "axes.labelcolor": _TEXT_COLOR,
    "axes.titlecolor": _TEXT_COLOR,
    "axes.edgecolor": _TEXT_COLOR,
    "xtick.color": _TEXT_COLOR,
    "ytick.color": _TEXT_COLOR,
    # a string that matplotlib parses into a cycler, so defining the style needs no import
    "axes.prop_cycle": f"cycler(color={list(COURSE_PALETTE)!r})",
    "image.cmap": _SEQUENTIAL_CMAP,
    "axes.spines.top": False,
    "axes.spines.right": False,
    # sized for a figure of at most MAX_FIGURE_WIDTH inches, which a phone shows at about half
    # size: 12-point text is then still 8 CSS pixels tall
    "font.size": 12,
    "axes.titlesize": 13,
    "figure.dpi": FIGURE_DPI,
    "savefig.dpi": 2 * FIGURE_DPI,
    "figure.constrained_layout.use": True,
}


@contextlib.contextmanager
def course_style() -> Iterator[None]:
    """Temporarily apply the course's matplotlib style (:data:`COURSE_STYLE`).

    Yields
    ------
    None
        Inside the ``with`` block new figures get a transparent background, dark text and the
        colour-blind-safe :data:`COURSE_PALETTE` as the colour cycle; in a Jupyter kernel, figures
        are sent as :data:`INLINE_FIGURE_FORMAT` PNGs from then on. On exit, even after an
        exception, the rcParams the style set get their previous values back; others (such as
        ``interactive``, which a notebook backend may switch on meanwhile) are left alone.

    Notes
    -----
    The helpers in this module use it internally, so calling them needs no setup. Use it yourself
    for a figure drawn by hand that should match the rest of the book.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from softmax_course.plotting import course_style
    >>> with course_style():
    ...     fig, ax = plt.subplots()
    >>> fig.get_facecolor()
    (0.0, 0.0, 0.0, 0.0)
    >>> plt.close(fig)
    """
    import matplotlib as mpl

    _use_sharp_inline_figures()

    # Save and restore only the keys the style sets. ``mpl.rc_context`` would restore *every*
    # rcParam, including ``interactive``, which Jupyter's inline backend switches on when the
    # session's first figure is made: if that happened inside the block, leaving it would switch
    # interactive mode off again and every later figure in the notebook would go undisplayed.
    previous = {key: mpl.rcParams[key] for key in COURSE_STYLE}
    mpl.rcParams.update(COURSE_STYLE)
    try:
        yield
    finally:
        mpl.rcParams.update(previous)


def _use_sharp_inline_figures() -> None:
    """In a Jupyter kernel with the inline backend, send figures as :data:`INLINE_FIGURE_FORMAT`.

    matplotlib imports the inline backend only when the session's first figure is made, so
    before that a kernel is recognised by the backend ipykernel puts in ``MPLBACKEND`` (without
    this, a notebook's first figure drawn inside :func:`course_style` was sent at 1x). Outside
    Jupyter (no inline backend named or loaded) this does nothing and imports nothing.
    """
    inline = "matplotlib_inline.backend_inline"
    if inline not in sys.modules and os.environ.get("MPLBACKEND") != f"module://{inline}":
        return
    from IPython import get_ipython
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    if get_ipython() is not None:
        set_matplotlib_formats(INLINE_FIGURE_FORMAT)


# --------------------------------------------------------------------------------------------------
# small private helpers
# --------------------------------------------------------------------------------------------------


def _new_axes(ncols: int = 1, figsize: tuple[float, float] | None = (5.0, 3.5)) -> list[Axes]:
    """Make a new figure (through pyplot, so notebooks display it) with ``ncols`` panels.

    ``figsize`` is capped at :data:`MAX_FIGURE_WIDTH` inches wide: a wider figure would be shrunk
    to the column, and its text with it. ``None`` takes matplotlib's default size.
    """
    import matplotlib.pyplot as plt  # imported late: importing the package should not need pyplot

    if figsize is not None:
        figsize = (min(figsize[0], MAX_FIGURE_WIDTH), figsize[1])
    # Made in the style, the figure and its axes store their transparent facecolors, so a later
    # savefig (whose rcParams default "auto" is the figure's colour) stays transparent too.
    with course_style():
        _figure, axes = plt.subplots(1, ncols, figsize=figsize, squeeze=False)
    return list(axes[0])


def _check_axes(ax: object, name: str) -> Axes:
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"{name} must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def _real_array(values: object, name: str) -> np.ndarray:
    """``values`` as a float64 array; complex and object input are refused (nothing to draw)."""
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    return array.astype(np.float64)


def _check_labels(labels: Sequence[str] | None, count: int, name: str) -> list[str] | None:
    if labels is None:
        return None
    labels = [str(label) for label in labels]
    if len(labels) != count:
        raise ValueError(f"{name} has {len(labels)} entries but the data has {count}")
    return labels


def _finish_axes(ax: Axes) -> None:
    # Tick objects are created lazily at draw time, possibly after the style context has ended;
    # tick_params stores the colour on the axis so the late ticks are dark too.
    ax.tick_params(colors=_TEXT_COLOR)


def _text_color_for(rgba: Sequence[float]) -> str:
    """White text on dark cells and dark text on light ones (relative luminance, sRGB weights)."""
    red, green, blue = rgba[:3]
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "white" if luminance < 0.5 else _TEXT_COLOR


# --------------------------------------------------------------------------------------------------
# heatmaps
# --------------------------------------------------------------------------------------------------


def plot_heatmap(
    matrix: object,
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    cmap: str = _SEQUENTIAL_CMAP,
    norm: Normalize | None = None,
    colorbar: bool = True,
    colorbar_label: str | None = None,
    annotate: bool | None = None,
    fmt: str = ".2f",
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Axes:
    """Draw a 2-D array as a heatmap: the generic helper the other heatmaps build on.

    Parameters
    ----------
    matrix : array_like, shape (M, N)
        Real values to draw; row ``i`` is drawn at height ``i`` from the top. NaN cells are left
        blank.
    row_labels, col_labels : sequence of str, optional
        Tick labels for the rows (length M) and the columns (length N). Without them the axes show
        integer indices.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on. If None, a new figure is created.
    cmap : str, default "viridis"
        Colormap name.
    norm : matplotlib.colors.Normalize, optional
        Maps values to colours; the default stretches the colormap over the data range.
    colorbar : bool, default True
        Add a colorbar next to the axes (it is a second Axes of the same figure).
    colorbar_label : str, optional
        Label of the colorbar.
    annotate : bool, optional
        Write each value into its cell. The default does so for at most 64 cells.
    fmt : str, default ".2f"
        Format specification of the written values.
    title, xlabel, ylabel : str, optional
        Axes title and axis labels.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on; ``ax.images[0].get_array()`` holds ``matrix``.

    Raises
    ------
    TypeError
        If ``matrix`` is complex or not numeric, or ``ax`` is not an Axes.
    ValueError
        If ``matrix`` is not 2-D, or a label list does not match its side of the matrix.

    Notes
    -----
    The cell in row :math:`i` and column :math:`j` has colour :math:`\\mathrm{cmap}(\\mathrm{norm}(
    A_{ij}))`. Written values switch between dark and white text by the relative luminance
    :math:`0.2126 R + 0.7152 G + 0.0722 B` of the cell colour, so they stay legible on both ends of
    the colormap.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from softmax_course.plotting import plot_heatmap
    >>> ax = plot_heatmap([[0.0, 1.0], [2.0, 3.0]], row_labels=["a", "b"], col_labels=["x", "y"])
    >>> ax.images[0].get_array().tolist()
    [[0.0, 1.0], [2.0, 3.0]]
    >>> len(ax.texts)  # 4 cells, 4 written values
    4
    >>> plt.close(ax.figure)
    """
    values = _real_array(matrix, "matrix")  # (M, N)
    if values.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {values.shape}")
    n_rows, n_cols = values.shape
    row_labels = _check_labels(row_labels, n_rows, "row_labels")
    col_labels = _check_labels(col_labels, n_cols, "col_labels")
    if ax is None:
        (ax,) = _new_axes(figsize=(0.6 * n_cols + 2.5, 0.5 * n_rows + 1.5) if values.size else None)
    _check_axes(ax, "ax")
    if annotate is None:
        annotate = values.size <= _ANNOTATE_MAX_CELLS

    with course_style():
        # A heatmap's colours are its data: its figure is an opaque white card, which the dark
        # theme shows as it is instead of inverting (see the module docstring).
        ax.figure.set_facecolor(HEATMAP_CARD_COLOR)
        image = ax.imshow(values, cmap=cmap, norm=norm, interpolation="nearest")
        if row_labels is not None:
            ax.set_yticks(np.arange(n_rows), labels=row_labels)
        elif 0 < n_rows <= 20:
            ax.set_yticks(np.arange(n_rows))
        if col_labels is not None:
            ax.set_xticks(np.arange(n_cols), labels=col_labels)
        elif 0 < n_cols <= 20:
            ax.set_xticks(np.arange(n_cols))
        # the grid is the cells; spines around an image only add clutter
        for spine in ax.spines.values():
            spine.set_visible(False)
        if annotate:
            for (row, col), value in np.ndenumerate(values):
                if np.isnan(value):
                    continue
                color = _text_color_for(image.cmap(image.norm(value)))
                # at the style's text size, like the tick labels: legible on a phone too
                ax.text(col, row, format(value, fmt), ha="center", va="center", color=color,
                        fontsize="medium")
        if colorbar:
            bar = ax.figure.colorbar(image, ax=ax)
            if colorbar_label is not None:
                bar.set_label(colorbar_label)
            bar.ax.tick_params(colors=_TEXT_COLOR)
        if title is not None:
            ax.set_title(title)
        if xlabel is not None:
            ax.set_xlabel(xlabel)
        if ylabel is not None:
            ax.set_ylabel(ylabel)
        _finish_axes(ax)
    return ax


def plot_jacobian(
    J: object,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> Axes:
    """Draw a (softmax) Jacobian as a heatmap with a diverging colormap centred on zero.

    Parameters
    ----------
    J : array_like, shape (K, K)
        ``J[i, j]`` is the derivative of output ``i`` with respect to input ``j``.
    labels : sequence of str, optional
        Names of the K components, used for both axes.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on. If None, a new figure is created.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on (the colorbar is a second Axes of the same figure).

    Raises
    ------
    TypeError
        If ``J`` is complex or not numeric.
    ValueError
        If ``J`` is not a square 2-D array, or ``labels`` does not have K entries.

    Notes
    -----
    For the softmax :math:`s = \\mathrm{softmax}(z)` the Jacobian is

    .. math::

        J_{ij} = \\frac{\\partial s_i}{\\partial z_j} = s_i (\\delta_{ij} - s_j),

    positive on the diagonal and negative off it. The colour scale is symmetric,
    :math:`[-h, h]` with :math:`h = \\max_{ij} |J_{ij}|`, so white means exactly zero and equal
    magnitudes get equally strong reds and blues. An all-zero ``J`` uses :math:`h = 1`.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from softmax_course.plotting import plot_jacobian
    >>> s = np.array([0.7, 0.2, 0.1])
    >>> J = np.diag(s) - np.outer(s, s)
    >>> ax = plot_jacobian(J, labels=["cat", "dog", "fox"])
    >>> ax.images[0].norm.vmin == -ax.images[0].norm.vmax
    True
    >>> plt.close(ax.figure)
    """
    from matplotlib.colors import CenteredNorm

    values = _real_array(J, "J")  # (K, K)
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(f"J must be a square 2-D array (K, K), got shape {values.shape}")
    finite = np.abs(values[np.isfinite(values)])
    halfrange = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    return plot_heatmap(
        values,
        row_labels=labels,
        col_labels=labels,
        ax=ax,
        cmap=_DIVERGING_CMAP,
        norm=CenteredNorm(vcenter=0.0, halfrange=halfrange),
        colorbar_label=r"$\partial\,\mathrm{out}_i / \partial\,\mathrm{in}_j$",
        title=title,
        xlabel="input $j$",
        ylabel="output $i$",
    )


def plot_attention(
    weights: object,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> Axes:
    """Draw attention weights: one row per query, one column per key.

    Parameters
    ----------
    weights : array_like, shape (L, S)
        Attention weights, for example the second result of
        ``scaled_dot_product_attention(..., return_weights=True)`` for one batch element and head.
    query_labels : sequence of str, optional
        L row labels (e.g. the query tokens).
    key_labels : sequence of str, optional
        S column labels (e.g. the key tokens).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on. If None, a new figure is created.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on (the colorbar is a second Axes of the same figure).

    Raises
    ------
    TypeError
        If ``weights`` is complex or not numeric.
    ValueError
        If ``weights`` is not 2-D or a label list has the wrong length.

    Notes
    -----
    Row :math:`i` shows :math:`A_{ij} = \\mathrm{softmax}_j(q_i \\cdot k_j / \\sqrt{d})`, which sums
    to 1 (or to 0 for a fully masked query). The colour scale is fixed to :math:`[0, 1]` instead of
    the data range, so two attention maps drawn side by side can be compared by colour.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from softmax_course.plotting import plot_attention
    >>> ax = plot_attention([[1.0, 0.0], [0.25, 0.75]], ["I", "am"], ["I", "am"])
    >>> ax.images[0].get_array().tolist()
    [[1.0, 0.0], [0.25, 0.75]]
    >>> plt.close(ax.figure)
    """
    from matplotlib.colors import Normalize

    values = _real_array(weights, "weights")  # (L, S)
    if values.ndim != 2:
        raise ValueError(f"weights must be 2-D (L, S), got shape {values.shape}")
    return plot_heatmap(
        values,
        row_labels=query_labels,
        col_labels=key_labels,
        ax=ax,
        cmap=_SEQUENTIAL_CMAP,
        norm=Normalize(vmin=0.0, vmax=1.0),
        colorbar_label="attention weight",
        title=title,
        xlabel="key",
        ylabel="query",
    )


# --------------------------------------------------------------------------------------------------
# bar charts
# --------------------------------------------------------------------------------------------------


def _logit_vector(logits: object) -> np.ndarray:
    values = _real_array(logits, "logits")  # (K,)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"logits must be a non-empty 1-D array (K,), got shape {values.shape}")
    return values


def _default_labels(count: int) -> list[str]:
    return [f"$z_{{{i + 1}}}$" for i in range(count)]


def plot_logits_and_probs(
    logits: object,
    labels: Sequence[str] | None = None,
    *,
    temperature: float = 1.0,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Two bar charts side by side: the logits, and the probabilities softmax turns them into.

    Parameters
    ----------
    logits : array_like, shape (K,)
        The scores :math:`z`.
    labels : sequence of str, optional
        K class names; defaults to :math:`z_1, \\dots, z_K`.
    temperature : float, default 1.0
        Softmax temperature :math:`T` (real, positive and finite).
    axes : pair of matplotlib.axes.Axes, optional
        Left and right axes to draw on. If None, a new figure with two panels is created.

    Returns
    -------
    matplotlib.figure.Figure
        The figure of the left axes (``fig.axes[0]`` logits, ``fig.axes[1]`` probabilities when the
        helper made the figure). Each panel has K bars.

    Raises
    ------
    TypeError
        If ``logits`` is complex or not numeric, or ``axes`` does not hold Axes.
    ValueError
        If ``logits`` is not a non-empty 1-D array, ``labels`` has the wrong length, ``axes`` is
        not a pair, or ``temperature`` is invalid.

    Notes
    -----
    The right panel shows

    .. math::

        p_i = \\frac{e^{z_i / T}}{\\sum_{j=1}^{K} e^{z_j / T}},

    on a fixed :math:`[0, 1]` axis. Softmax depends only on the differences of the logits, so the
    right panel does not change when a constant is added to every bar of the left panel.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from softmax_course.plotting import plot_logits_and_probs
    >>> fig = plot_logits_and_probs([2.0, 1.0, 0.1], labels=["cat", "dog", "fox"])
    >>> [len(ax.patches) for ax in fig.axes]
    [3, 3]
    >>> plt.close(fig)
    """
    values = _logit_vector(logits)  # (K,)
    count = values.size
    names = _check_labels(labels, count, "labels") or _default_labels(count)
    probabilities = softmax(values, temperature=temperature)  # (K,)
    if axes is None:
        left, right = _new_axes(ncols=2, figsize=(max(7.0, 1.2 * count + 3.0), 3.2))
    else:
        axes = list(axes)
        if len(axes) != 2:
            raise ValueError(f"axes must be a pair of Axes (left, right), got {len(axes)}")
        left, right = (_check_axes(a, "axes[i]") for a in axes)

    positions = np.arange(count)
    with course_style():
        left.bar(positions, values, color=COURSE_PALETTE[0])
        left.axhline(0.0, color=_TEXT_COLOR, linewidth=0.8)
        left.set_title("logits $z$")
        left.set_ylabel("score")
        bars = right.bar(positions, probabilities, color=COURSE_PALETTE[1])
        right.bar_label(bars, fmt="%.2f", fontsize="medium")
        right.set_ylim(0.0, 1.05)
        right.set_ylabel("probability")
        title = "softmax$(z)$" if temperature == 1 else f"softmax$(z / T)$, $T = {temperature:g}$"
        right.set_title(title)
        for ax in (left, right):
            ax.set_xticks(positions, labels=names)
            _finish_axes(ax)
    return left.figure


def plot_temperature_sweep(
    logits: object,
    temperatures: Sequence[float],
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Grouped bars: the softmax probabilities of the same logits at several temperatures.

    Parameters
    ----------
    logits : array_like, shape (K,)
        The scores :math:`z`.
    temperatures : sequence of float, length n_T
        Temperatures to compare (each real, positive and finite), drawn in the given order.
    labels : sequence of str, optional
        K class names; defaults to :math:`z_1, \\dots, z_K`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on. If None, a new figure is created.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on: K groups of n_T bars (``K * n_T`` bars in total) and a legend of the
        temperatures.

    Raises
    ------
    TypeError
        If ``logits`` is complex or not numeric.
    ValueError
        If ``logits`` is not a non-empty 1-D array, ``temperatures`` is empty or not 1-D, a
        temperature is invalid, or ``labels`` has the wrong length.

    Notes
    -----
    Bar :math:`i` of the group for temperature :math:`T` has height
    :math:`\\mathrm{softmax}(z / T)_i`. As :math:`T \\to 0^+` the distribution tends to the one-hot
    vector of the largest logit (uniform over ties); as :math:`T \\to \\infty` it tends to the
    uniform :math:`1/K`. The bar colours follow viridis from dark (cold) to light (hot), an order
    that survives greyscale printing and colour blindness.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from softmax_course.plotting import plot_temperature_sweep
    >>> ax = plot_temperature_sweep([2.0, 1.0, 0.1], [0.5, 1.0, 5.0])
    >>> len(ax.patches)  # 3 classes x 3 temperatures
    9
    >>> plt.close(ax.figure)
    """
    import matplotlib as mpl

    values = _logit_vector(logits)  # (K,)
    count = values.size
    sweep = _real_array(temperatures, "temperatures")  # (n_T,)
    if sweep.ndim != 1 or sweep.size == 0:
        raise ValueError(f"temperatures must be a non-empty 1-D sequence, got shape {sweep.shape}")
    names = _check_labels(labels, count, "labels") or _default_labels(count)
    probabilities = [softmax(values, temperature=float(t)) for t in sweep]  # n_T x (K,)
    if ax is None:
        (ax,) = _new_axes(figsize=(max(5.0, 0.4 * count * sweep.size + 2.0), 3.5))
    _check_axes(ax, "ax")

    group_width = 0.8  # leave a 0.2 gap between the groups of bars
    bar_width = group_width / sweep.size
    colors = mpl.colormaps[_SEQUENTIAL_CMAP](np.linspace(0.05, 0.85, sweep.size))  # (n_T, 4)
    positions = np.arange(count)  # (K,)
    with course_style():
        for index, (temperature, probs) in enumerate(zip(sweep, probabilities, strict=True)):
            offset = (index + 0.5) * bar_width - group_width / 2
            ax.bar(positions + offset, probs, width=bar_width, color=colors[index],
                   label=f"$T = {temperature:g}$")
        ax.set_xticks(positions, labels=names)
        ax.set_ylim(0.0, 1.05)
        ax.set_ylabel("probability")
        ax.legend(title="temperature", frameon=True)
        _finish_axes(ax)
    return ax


# --------------------------------------------------------------------------------------------------
# the probability simplex
# --------------------------------------------------------------------------------------------------

#: Corners of the 2-D drawing of the simplex {p in R^3 : p >= 0, sum p = 1}: an equilateral
#: triangle with unit sides, corner i being the one-hot vector e_i.
SIMPLEX_CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0]])  # (3, 2)


def simplex_coordinates(probabilities: object) -> np.ndarray:
    """Map probability vectors over 3 classes to 2-D points inside the simplex triangle.

    Parameters
    ----------
    probabilities : array_like, shape (..., 3)
        Rows on the probability simplex (non-negative, summing to 1).

    Returns
    -------
    numpy.ndarray, shape (..., 2)
        The points :math:`p_1 c_1 + p_2 c_2 + p_3 c_3` with :math:`c_i` the triangle corners
        :data:`SIMPLEX_CORNERS`.

    Raises
    ------
    ValueError
        If the last axis does not have length 3.

    Notes
    -----
    The map is linear (barycentric coordinates), so it sends the corner :math:`e_i` to
    :math:`c_i`, the uniform distribution to the centroid, and the segment between two
    distributions to the segment between their points. It is one-to-one on the simplex, so no two
    distributions share a point.

    Examples
    --------
    >>> from softmax_course.plotting import simplex_coordinates
    >>> simplex_coordinates([1.0, 0.0, 0.0]).tolist()
    [0.0, 0.0]
    >>> simplex_coordinates([1 / 3, 1 / 3, 1 / 3]).round(4).tolist()
    [0.5, 0.2887]
    """
    p = _real_array(probabilities, "probabilities")  # (..., 3)
    if p.ndim == 0 or p.shape[-1] != 3:
        raise ValueError(f"probabilities must have shape (..., 3), got shape {p.shape}")
    return p @ SIMPLEX_CORNERS  # (..., 3) @ (3, 2) -> (..., 2)


def plot_simplex(
    logits_or_points: object,
    ax: Axes | None = None,
    *,
    probabilities: bool = False,
    vertex_labels: Sequence[str] | None = None,
    color: str | None = None,
    size: float = 20.0,
) -> Axes:
    """Draw the probability triangle for K = 3 classes with the points softmax maps logits to.

    Parameters
    ----------
    logits_or_points : array_like, shape (N, 3) or (3,)
        Logit vectors (the default), each mapped through softmax; or, with
        ``probabilities=True``, probability vectors drawn as they are.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on. If None, a new figure is created.
    probabilities : bool, default False
        Whether the rows are already probability vectors. They are then checked: non-negative and
        summing to 1 within ``1e-6``.
    vertex_labels : sequence of 3 str, optional
        Names of the corners (the one-hot distributions); defaults to :math:`p_1, p_2, p_3`.
    color : str, optional
        Colour of the points; defaults to the first colour of :data:`COURSE_PALETTE`.
    size : float, default 20
        Marker area in points squared.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on. The triangle is ``ax.patches[0]`` and the points are the offsets of
        ``ax.collections[0]`` (N of them).

    Raises
    ------
    TypeError
        If the input is complex or not numeric.
    ValueError
        If the input does not have 3 columns, or (with ``probabilities=True``) a row is not a
        probability vector, or ``vertex_labels`` does not have 3 entries.

    Notes
    -----
    Softmax maps :math:`\\mathbb{R}^3` onto the *open* simplex
    :math:`\\{p : p_i > 0, \\sum_i p_i = 1\\}`, a 2-D triangle. A point :math:`p` is drawn at
    :math:`p_1 c_1 + p_2 c_2 + p_3 c_3` (see :func:`simplex_coordinates`): the corner :math:`c_i`
    is the one-hot :math:`e_i`, reached only in the limit :math:`z_i - z_j \\to \\infty`. Logits
    that differ by a constant, :math:`z` and :math:`z + c\\mathbf{1}`, land on the same point.
    With finite logits in floating point a point may still round onto an edge; it never leaves
    the triangle.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from softmax_course.plotting import plot_simplex
    >>> ax = plot_simplex([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    >>> ax.collections[0].get_offsets().shape
    (3, 2)
    >>> plt.close(ax.figure)
    """
    from matplotlib.patches import Polygon

    values = _real_array(logits_or_points, "logits_or_points")
    if values.ndim == 1:
        values = values[np.newaxis, :]  # (1, 3)
    if values.ndim != 2 or values.shape[1] != 3:
        raise ValueError(
            f"logits_or_points must have shape (N, 3) or (3,) for K = 3 classes, "
            f"got shape {np.shape(logits_or_points)}"
        )
    if probabilities:
        row_sums = values.sum(axis=1)  # (N,)
        if np.any(values < 0) or not np.allclose(row_sums, 1.0, rtol=0.0, atol=1e-6):
            raise ValueError(
                "with probabilities=True every row must be non-negative and sum to 1; "
                f"row sums are {row_sums.tolist()}"
            )
        points = values  # (N, 3)
    else:
        points = softmax(values, axis=-1)  # (N, 3)
    names = _check_labels(vertex_labels, 3, "vertex_labels") or ["$p_1$", "$p_2$", "$p_3$"]
    xy = simplex_coordinates(points)  # (N, 2)
    if ax is None:
        (ax,) = _new_axes(figsize=(4.5, 4.2))
    _check_axes(ax, "ax")

    with course_style():
        ax.add_patch(Polygon(SIMPLEX_CORNERS, closed=True, facecolor="#f2f2f2",
                             edgecolor=_TEXT_COLOR, linewidth=1.0, zorder=0))
        ax.scatter(xy[:, 0], xy[:, 1], s=size, color=color or COURSE_PALETTE[0], zorder=2)
        centroid = SIMPLEX_CORNERS.mean(axis=0)  # (2,)
        for corner, name in zip(SIMPLEX_CORNERS, names, strict=True):
            # push each label a little away from the centre so it clears the corner
            position = corner + 0.08 * (corner - centroid) / np.linalg.norm(corner - centroid)
            ax.text(*position, name, ha="center", va="center")
        ax.set_aspect("equal")
        ax.set_xlim(-0.12, 1.12)
        ax.set_ylim(-0.1, np.sqrt(3.0) / 2.0 + 0.1)
        ax.set_axis_off()
    return ax
