"""The book's figures, drawn with matplotlib.

Each function draws one kind of figure and returns its `Figure`; it never
calls `plt.show()`, so a chapter ends its plot cell with `plt.show()` itself
and a script can save the figure instead. Every figure has a title, labelled
axes and, when it shows more than one line, a legend. The same direction
always gets the same colour, in every chapter.
"""

import math
from collections.abc import Mapping

import numpy as np

__all__ = [
    "COLOURS",
    "plot_accuracy_curves",
    "plot_accuracy_per_step",
    "plot_curves",
]

#: Colours for the lines of the book's recurring models, by name. Any other
#: name gets the next colour of matplotlib's default cycle.
COLOURS = {
    "forward": "tab:blue",
    "backward": "tab:orange",
    "bidirectional": "tab:green",
}


def _new_axes(ax, figsize):
    """Returns `(figure, axes)`: the given axes' figure, or a new figure."""
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def _finish(ax, title, xlabel, ylabel, legend=True):
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend()


def _colour_for(name):
    return COLOURS.get(str(name).lower())


def plot_curves(
    curves,
    title,
    xlabel,
    ylabel,
    x_start=1,
    chance=None,
    ylim=None,
    ax=None,
    figsize=(7, 4),
):
    """Draws one line for each named sequence of values.

    The general figure behind `plot_accuracy_curves` and
    `plot_accuracy_per_step`: the i-th value of each sequence is drawn at
    `x = x_start + i`.

    Args:
        curves: Mapping from a name to a non-empty sequence of floats. The
            names label the legend; `"forward"`, `"backward"` and
            `"bidirectional"` get the book's fixed colours (`COLOURS`).
        title: String, the figure's title.
        xlabel: String, the label of the x axis.
        ylabel: String, the label of the y axis.
        x_start: Integer, the x value of each sequence's first element.
            Defaults to `1`.
        chance: Optional float. When given, a dashed horizontal line marks
            the value of guessing.
        ylim: Optional `(bottom, top)` limits of the y axis.
        ax: Optional matplotlib `Axes` to draw into. Defaults to a new
            figure.
        figsize: Tuple `(width, height)` in inches of a new figure.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> fig = plot_curves({"loss": [0.9, 0.5, 0.4]}, title="Loss",
    ...                   xlabel="epoch", ylabel="loss")
    >>> fig.axes[0].get_xlabel()
    'epoch'
    """
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(
            "`curves` must be a non-empty mapping from a name to a sequence "
            f"of floats. Received: {curves!r}"
        )
    arrays = {}
    for name, values in curves.items():
        values = np.asarray(values, dtype="float64")
        if values.ndim != 1 or values.size == 0:
            raise ValueError(
                "Each curve must be a non-empty 1D sequence of floats. "
                f"Received for {name!r}: an array of shape {values.shape}"
            )
        arrays[name] = values

    fig, ax = _new_axes(ax, figsize)
    for name, values in arrays.items():
        xs = np.arange(x_start, x_start + values.size)
        ax.plot(xs, values, marker="o", markersize=3, label=str(name),
                color=_colour_for(name))
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1,
                   label="chance")
    longest = max(values.size for values in arrays.values())
    ax.set_xlim(x_start - 0.5, x_start + longest - 0.5)
    step = max(1, math.ceil(longest / 10))
    ax.set_xticks(range(x_start, x_start + longest, step))
    if ylim is not None:
        ax.set_ylim(*ylim)
    _finish(ax, title, xlabel, ylabel)
    return fig


def plot_accuracy_curves(
    histories,
    title="Validation accuracy per epoch",
    ylabel="validation accuracy",
    xlabel="epoch",
    chance=None,
    ylim=None,
    ax=None,
    figsize=(7, 4),
):
    """Draws one accuracy-per-epoch line for each model.

    Args:
        histories: Mapping from a model's name to its accuracy per epoch,
            a sequence of floats (for example
            `history.history["val_accuracy"]`). The names label the legend;
            `"forward"`, `"backward"` and `"bidirectional"` get the book's
            fixed colours (`COLOURS`).
        title: String, the figure's title.
        ylabel: String, the label of the y axis.
        xlabel: String, the label of the x axis.
        chance: Optional float. When given, a dashed horizontal line marks
            the accuracy of guessing.
        ylim: Optional `(bottom, top)` limits of the y axis.
        ax: Optional matplotlib `Axes` to draw into. Defaults to a new
            figure.
        figsize: Tuple `(width, height)` in inches of a new figure.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> fig = plot_accuracy_curves(
    ...     {"forward": [0.6, 0.7], "bidirectional": [0.8, 0.95]},
    ...     chance=0.5,
    ... )
    >>> fig.axes[0].get_title()
    'Validation accuracy per epoch'
    """
    return plot_curves(histories, title=title, xlabel=xlabel, ylabel=ylabel,
                       x_start=1, chance=chance, ylim=ylim, ax=ax,
                       figsize=figsize)


def plot_accuracy_per_step(
    accuracies,
    title="Accuracy at each time step",
    ylabel="accuracy",
    xlabel="time step t",
    chance=None,
    ylim=None,
    ax=None,
    figsize=(7, 4),
):
    """Draws, for each model, its accuracy at each time step.

    Shows where in a sequence a model has the information it needs: a
    left-to-right model is sure near the end, a right-to-left one near the
    start.

    Args:
        accuracies: Mapping from a model's name to its accuracy at each
            time step, a sequence of floats indexed from step 0.
        title: String, the figure's title.
        ylabel: String, the label of the y axis.
        xlabel: String, the label of the x axis.
        chance: Optional float. When given, a dashed horizontal line marks
            the accuracy of guessing.
        ylim: Optional `(bottom, top)` limits of the y axis.
        ax: Optional matplotlib `Axes` to draw into. Defaults to a new
            figure.
        figsize: Tuple `(width, height)` in inches of a new figure.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> fig = plot_accuracy_per_step({"forward": [0.7, 0.7, 1.0]})
    >>> fig.axes[0].get_xlabel()
    'time step t'
    """
    return plot_curves(accuracies, title=title, xlabel=xlabel, ylabel=ylabel,
                       x_start=0, chance=chance, ylim=ylim, ax=ax,
                       figsize=figsize)
