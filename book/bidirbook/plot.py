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
    "plot_bar_panels",
    "plot_curves",
    "plot_grouped_bars",
    "plot_panels",
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


def _check_mapping(value, what, of):
    """Raises the book's error unless `value` is a non-empty mapping."""
    if not isinstance(value, Mapping) or not value:
        raise ValueError(
            f"`{what}` must be a non-empty mapping from {of}. Received: {value!r}"
        )


def _check_named_values(values, what, each=None):
    """Returns `{name: 1D float64 array}` for a non-empty mapping of sequences.

    `each` starts the error message about one bad sequence; it defaults to
    "Each entry of `what`".
    """
    _check_mapping(values, what, "a name to a sequence of floats")
    each = f"Each entry of `{what}`" if each is None else each
    arrays = {}
    for name, sequence in values.items():
        array = np.asarray(sequence, dtype="float64")
        if array.ndim != 1 or array.size == 0:
            raise ValueError(
                f"{each} must be a non-empty 1D sequence of floats. "
                f"Received for {name!r}: an array of shape {array.shape}"
            )
        arrays[name] = array
    return arrays


def _draw_lines(ax, lines, x_start, markersize, colours=None, linewidths=None):
    """Draws each named line, its i-th value at `x = x_start + i`, with a dot a value.

    `colours` and `linewidths` map a line's name to its colour and width;
    a name not in `colours` gets the book's colour (`COLOURS`) or the next
    of matplotlib's cycle. Without `linewidths`, lines take matplotlib's
    default width; with it, a name not in it gets 1.5.

    Returns `{label: Line2D}`, the first line drawn under each label.
    """
    colours = colours or {}
    drawn = {}
    for name, values in lines.items():
        width = {} if linewidths is None else {"linewidth": linewidths.get(name, 1.5)}
        xs = np.arange(x_start, x_start + values.size)
        (line,) = ax.plot(xs, values, marker="o", markersize=markersize,
                          label=str(name),
                          color=colours.get(name, _colour_for(name)), **width)
        drawn.setdefault(str(name), line)
    return drawn


def _panel_grid(n, ncols, panel_size, figsize, **subplots):
    """Returns `(figure, axes)`: a grid for `n` panels, `ncols` of them a row.

    `axes` is a 2D array however many rows and columns there are.
    `panel_size` is the `(width, height)` of a panel when `figsize` is
    `None`; `subplots` goes to `plt.subplots` (`sharex`, `sharey`).
    """
    import matplotlib.pyplot as plt

    ncols = n if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f"`ncols` must be a positive integer. Received: ncols={ncols!r}")
    nrows = math.ceil(n / ncols)
    if figsize is None:
        figsize = (panel_size[0] * ncols, panel_size[1] * nrows)
    return plt.subplots(nrows, ncols, figsize=figsize, squeeze=False,
                        layout="constrained", **subplots)


def _finish_panels(fig, axes, n, title, ylabel, handles, legend_ncols,
                   xlabel=None):
    """Hides the grid's unused panels, labels the axes at the edges, titles the
    figure and names `handles` (`{label: artist}`) in one legend below it."""
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    if xlabel is not None:
        for ax in axes[-1]:
            ax.set_xlabel(xlabel)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    fig.suptitle(title)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncols=legend_ncols)


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
    arrays = _check_named_values(curves, "curves", each="Each curve")
    fig, ax = _new_axes(ax, figsize)
    _draw_lines(ax, arrays, x_start, markersize=3)
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


def plot_panels(
    panels,
    title,
    xlabel,
    ylabel,
    x_start=0,
    ncols=None,
    sharey=True,
    colours=None,
    linewidths=None,
    figsize=None,
):
    """Draws small multiples: one panel per entry, each with named lines.

    Every panel shares the x axis (and, by default, the y axis), so the
    panels can be compared at a glance; one legend for the whole figure
    names the lines. The i-th value of each line is drawn at
    `x = x_start + i`.

    Args:
        panels: Mapping from a panel's title to a mapping from a line's name
            to a non-empty sequence of floats.
        title: String, the title of the whole figure.
        xlabel: String, the label of the x axis (bottom row of panels).
        ylabel: String, the label of the y axis (first column of panels).
        x_start: Integer, the x value of each line's first element.
            Defaults to `0`.
        ncols: Integer, the number of panels in a row. Defaults to all of
            them in one row.
        sharey: Boolean, whether the panels share the y axis. Defaults to
            `True`.
        colours: Optional mapping from a line's name to a matplotlib colour.
            Names not in it get the book's fixed colours (`COLOURS`) or the
            next colour of matplotlib's cycle.
        linewidths: Optional mapping from a line's name to its width, to
            make one line stand out. Defaults to 1.5 for every line.
        figsize: Optional `(width, height)` in inches. Defaults to 3 inches
            wide and 2.8 inches high a panel.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> fig = plot_panels(
    ...     {"sum": {"forward": [0.1, 0.2], "merged": [0.3, 0.5]},
    ...      "mul": {"forward": [0.1, 0.2], "merged": [0.02, 0.06]}},
    ...     title="Merge modes", xlabel="time step t", ylabel="output")
    >>> [ax.get_title() for ax in fig.axes]
    ['sum', 'mul']
    """
    from matplotlib.ticker import MaxNLocator

    _check_mapping(panels, "panels", "a panel title to a mapping of named lines")
    checked = {name: _check_named_values(lines, f"panels[{name!r}]")
               for name, lines in panels.items()}
    fig, axes = _panel_grid(len(checked), ncols, (3, 2.8), figsize,
                            sharex=True, sharey=sharey)
    handles = {}
    for ax, (panel_title, lines) in zip(axes.flat, checked.items()):
        drawn = _draw_lines(ax, lines, x_start, markersize=2.5, colours=colours,
                            linewidths=linewidths or {})
        for label, line in drawn.items():
            handles.setdefault(label, line)
        ax.set_title(panel_title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
    _finish_panels(fig, axes, len(checked), title, ylabel, handles,
                   legend_ncols=len(handles), xlabel=xlabel)
    return fig


def plot_grouped_bars(
    groups,
    title,
    ylabel,
    xlabel="",
    chance=None,
    ylim=None,
    colours=None,
    annotate=True,
    ax=None,
    figsize=(7, 4),
):
    """Draws a bar chart with one group of bars for each group of values.

    For example the validation accuracy of several models (the bars) on
    several tasks (the groups). Every group must name the same bars.

    Args:
        groups: Mapping from a group's name to a mapping from a bar's name
            to a float. The bars are drawn in the order of the first group.
        title: String, the figure's title.
        ylabel: String, the label of the y axis.
        xlabel: String, the label of the x axis. Defaults to none.
        chance: Optional float. When given, a dashed horizontal line marks
            the value of guessing.
        ylim: Optional `(bottom, top)` limits of the y axis.
        colours: Optional mapping from a bar's name to a matplotlib colour.
        annotate: Boolean, whether to write each bar's value above it
            (two decimals). Defaults to `True`.
        ax: Optional matplotlib `Axes` to draw into. Defaults to a new
            figure.
        figsize: Tuple `(width, height)` in inches of a new figure.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> fig = plot_grouped_bars(
    ...     {"task A": {"sum": 0.9, "mul": 0.8}, "task B": {"sum": 0.6, "mul": 0.95}},
    ...     title="Validation accuracy", ylabel="accuracy")
    >>> [label.get_text() for label in fig.axes[0].get_xticklabels()]
    ['task A', 'task B']
    """
    _check_mapping(groups, "groups", "a group name to a mapping of bar names to floats")
    bar_names = None
    for group, bars in groups.items():
        if not isinstance(bars, Mapping) or not bars:
            raise ValueError(
                "Each group must be a non-empty mapping from a bar name to a "
                f"float. Received for {group!r}: {bars!r}"
            )
        if bar_names is None:
            bar_names = list(bars)
        elif set(bars) != set(bar_names):
            raise ValueError(
                "Every group must name the same bars. "
                f"Received: {sorted(map(str, bars))} for {group!r}, "
                f"expected {sorted(map(str, bar_names))}"
            )

    fig, ax = _new_axes(ax, figsize)
    colours = dict(colours or {})
    width = 0.8 / len(bar_names)
    centres = np.arange(len(groups))
    for i, bar in enumerate(bar_names):
        offsets = centres - 0.4 + width * (i + 0.5)
        heights = [float(bars[bar]) for bars in groups.values()]
        drawn = ax.bar(offsets, heights, width=width * 0.95, label=str(bar),
                       color=colours.get(bar, _colour_for(bar)))
        if annotate:
            ax.bar_label(drawn, fmt="%.2f", fontsize=8, padding=2)
    ax.set_xticks(centres, [str(group) for group in groups])
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1,
                   label="chance")
    if ylim is not None:
        ax.set_ylim(*ylim)
    _finish(ax, title, xlabel, ylabel, legend=False)
    # Beside the axes, where it cannot hide a bar.
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.grid(False, axis="x")
    return fig


def plot_bar_panels(
    panels,
    title,
    ylabel,
    spreads=None,
    lines=None,
    ncols=None,
    colours=None,
    ylim=None,
    figsize=None,
):
    """Draws small multiples of grouped bars, with optional spreads and reference lines.

    For example benchmark ratios: one panel per task and size, one group of
    bars per backend, one bar per variant, with its interquartile range as
    a whisker and dashed lines at the values that matter. One legend for
    the whole figure names the bars and the lines.

    Args:
        panels: Mapping from a panel's title to a mapping from a group's
            name to a mapping from a bar's name to a float. A bar missing
            from a group leaves a gap.
        title: String, the title of the whole figure.
        ylabel: String, the label of the y axis (first column of panels).
        spreads: Optional mapping with the structure of `panels` whose
            values are `(low, high)` pairs: a whisker is drawn from `low`
            to `high` over each bar.
        lines: Optional mapping from a label to a y value: a dashed
            horizontal line in every panel, named in the legend.
        ncols: Integer, the number of panels in a row. Defaults to all of
            them in one row.
        colours: Optional mapping from a bar's name to a matplotlib colour.
        ylim: Optional `(bottom, top)` limits of the y axes (shared).
        figsize: Optional `(width, height)` in inches. Defaults to 4.2
            inches wide and 3.2 inches high a panel.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> fig = plot_bar_panels(
    ...     {"train": {"jax": {"a": 2.0, "b": 1.0}, "torch": {"a": 2.1, "b": 0.5}}},
    ...     title="Cost relative to one direction", ylabel="ratio",
    ...     spreads={"train": {"jax": {"a": (1.9, 2.2), "b": (0.9, 1.1)},
    ...                        "torch": {"a": (2.0, 2.3), "b": (0.4, 0.6)}}},
    ...     lines={"one direction": 1.0})
    >>> [label.get_text() for label in fig.axes[0].get_xticklabels()]
    ['jax', 'torch']
    """
    _check_mapping(panels, "panels", "a panel title to a mapping of groups of bars")
    bar_names = []
    for panel, groups in panels.items():
        if not isinstance(groups, Mapping) or not groups:
            raise ValueError(
                "Each panel must be a non-empty mapping from a group name to "
                f"a mapping of bar names to floats. Received for {panel!r}: {groups!r}"
            )
        for bars in groups.values():
            if not isinstance(bars, Mapping):
                raise ValueError(
                    "Each group must be a mapping from a bar name to a float. "
                    f"Received in panel {panel!r}: {bars!r}"
                )
            bar_names += [name for name in bars if name not in bar_names]
    fig, axes = _panel_grid(len(panels), ncols, (4.2, 3.2), figsize, sharey=True)
    colours = dict(colours or {})
    spreads = spreads or {}
    width = 0.8 / len(bar_names)
    handles = {}
    for ax, (panel, groups) in zip(axes.flat, panels.items()):
        centres = np.arange(len(groups))
        for i, bar in enumerate(bar_names):
            for centre, (group, bars) in zip(centres, groups.items()):
                if bar not in bars:
                    continue
                x = centre - 0.4 + width * (i + 0.5)
                drawn = ax.bar(x, float(bars[bar]), width=width * 0.9,
                               color=colours.get(bar, _colour_for(bar) or f"C{i}"),
                               label=str(bar))
                handles.setdefault(str(bar), drawn)
                spread = spreads.get(panel, {}).get(group, {}).get(bar)
                if spread is not None:
                    low, high = (float(v) for v in spread)
                    ax.plot([x, x], [low, high], color="black", linewidth=1)
        for j, (label, y) in enumerate((lines or {}).items()):
            handles.setdefault(
                str(label),
                ax.axhline(float(y), color="grey", linewidth=1,
                           linestyle=("--", ":", "-.")[j % 3], label=str(label)),
            )
        ax.set_xticks(centres, [str(group) for group in groups])
        ax.set_title(panel)
        ax.grid(True, axis="y", alpha=0.3)
        if ylim is not None:
            ax.set_ylim(*ylim)
    _finish_panels(fig, axes, len(panels), title, ylabel, handles,
                   legend_ncols=min(len(handles), 4))
    return fig
