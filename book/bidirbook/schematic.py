"""A schematic of the bidirectional layer, unrolled over time, drawn with matplotlib.

The chapters show it where they explain what goes in and comes out of the layer: the two directions
(chapter 1), the merge (chapter 3), the call arguments `initial_state` and `mask` (chapter 6) and the final
states (chapter 9). One function draws it; `highlight` picks the part the chapter is about.
"""

__all__ = ["HIGHLIGHTS", "draw_bidirectional"]

#: The parts of the schematic `draw_bidirectional` can draw in bold.
HIGHLIGHTS = (None, "merge", "call", "states")

# The book's colours for the two directions (the same as bidirbook.plot.COLOURS).
_FORWARD = "tab:blue"
_BACKWARD = "tab:orange"
_MERGE = "tab:green"
_CALL = "tab:purple"
_GREY = "0.35"

# Rows of the drawing, bottom to top.
_Y_MASK, _Y_INPUT, _Y_FORWARD, _Y_BACKWARD, _Y_MERGE, _Y_OUTPUT = -0.95, 0.0, 1.2, 2.4, 3.6, 4.6
_BOX_W, _BOX_H = 0.5, 0.5


def _box(ax, x, y, text, colour, bold=False, fill=None, width=_BOX_W, height=_BOX_H, round_=0.08):
    # Imported here, as in bidirbook.plot: the website's API page imports this module with only the
    # `site` extra installed, which has no matplotlib.
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle=f"round,pad=0.02,rounding_size={round_}",
            linewidth=2.6 if bold else 1.4,
            edgecolor=colour,
            facecolor=fill or "white",
            zorder=3,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=11, zorder=4,
            fontweight="bold" if bold else "normal")


def _arrow(ax, start, end, colour, bold=False, style="-|>", dashed=False, label=None, label_side="above"):
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops=dict(
            arrowstyle=style,
            color=colour,
            linewidth=2.4 if bold else 1.3,
            linestyle="--" if dashed else "-",
            shrinkA=0,
            shrinkB=0,
            mutation_scale=14,
        ),
        zorder=2,
    )
    if label:
        x = (start[0] + end[0]) / 2
        y = (start[1] + end[1]) / 2 + (0.3 if label_side == "above" else -0.3)
        ax.text(x, y, label, ha="center", va="center", fontsize=9, color=colour,
                fontweight="bold" if bold else "normal")


def _route(ax, points, colour, bold=False):
    """A line through `points`, with an arrow head on its last segment."""
    xs, ys = zip(*points[:-1])
    ax.plot(xs, ys, color=colour, linewidth=2.4 if bold else 1.3, zorder=1, solid_capstyle="butt")
    _arrow(ax, points[-2], points[-1], colour, bold=bold)


def draw_bidirectional(steps=4, merge_mode="concat", highlight=None, title=None, ax=None, figsize=(9, 5.6)):
    """Draws `Bidirectional(layer)` unrolled over `steps` time steps.

    Bottom to top: the mask and the inputs x_t; the forward layer's cells, reading left to right from
    `initial_state`'s forward part; the backward layer's cells, reading right to left from its backward part;
    the merge at every step; the outputs o_t. Each layer's final state leaves at the end it reads last: the
    forward one after step T - 1, the backward one after step 0.

    Args:
        steps: Integer, at least 2: how many time steps to draw. The last one is labelled T-1.
        merge_mode: The merge mode to name at each step: `"concat"`, `"sum"`, `"ave"`, `"mul"` or `None`
            (no merge: the layer returns both directions' outputs).
        highlight: Which part to draw in bold: `None`, `"merge"` (the merge), `"call"` (what the call
            arguments `initial_state` and `mask` feed) or `"states"` (the states carried between steps, and
            the final states returned with `return_state=True`).
        title: String, the figure's title (a default one names the steps and the merge mode).
        ax: Matplotlib axes to draw on (default: a new figure).
        figsize: Size of the new figure, in inches.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> from bidirbook.schematic import draw_bidirectional
    >>> figure = draw_bidirectional(steps=3, merge_mode="sum", highlight="merge")
    >>> len(figure.axes), figure.axes[0].get_title() != ""
    (1, True)
    """
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"`steps` must be an integer of at least 2. Received: steps={steps!r}")
    if merge_mode not in ("concat", "sum", "ave", "mul", None):
        raise ValueError(
            "`merge_mode` must be one of 'concat', 'sum', 'ave', 'mul' or None. "
            f"Received: merge_mode={merge_mode!r}"
        )
    if highlight not in HIGHLIGHTS:
        raise ValueError(f"`highlight` must be one of {HIGHLIGHTS}. Received: highlight={highlight!r}")

    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    else:
        fig = ax.figure

    merge_bold = highlight == "merge"
    call_bold = highlight == "call"
    states_bold = highlight == "states"
    xs = list(range(steps))
    labels = [str(t) for t in range(steps - 1)] + ["T-1"]

    for x, label in zip(xs, labels):
        # Mask and input.
        _box(ax, x, _Y_MASK, f"$m_{{{label}}}$", _CALL, bold=call_bold, width=0.42, height=0.38,
             fill="#f3ecf8" if call_bold else None)
        _box(ax, x, _Y_INPUT, f"$x_{{{label}}}$", _GREY)
        _arrow(ax, (x, _Y_MASK + 0.19), (x, _Y_INPUT - 0.25), _CALL, bold=call_bold, dashed=True)
        # Both directions read x_t (the backward arrow passes beside the forward cell).
        _arrow(ax, (x - 0.12, _Y_INPUT + 0.25), (x - 0.12, _Y_FORWARD - 0.25), _GREY)
        _route(ax, [(x + 0.28, _Y_INPUT), (x + 0.38, _Y_INPUT), (x + 0.38, _Y_BACKWARD - 0.4),
                    (x + 0.12, _Y_BACKWARD - 0.4), (x + 0.12, _Y_BACKWARD - 0.25)], _GREY)
        # The cells.
        _box(ax, x, _Y_FORWARD, "$f$", _FORWARD, fill="#e8f0fa")
        _box(ax, x, _Y_BACKWARD, "$g$", _BACKWARD, fill="#fdf0e3")
        # Both cells' outputs go to the merge (the forward one around the backward cell).
        below, above = _Y_BACKWARD - 0.45, _Y_BACKWARD + 0.4
        _route(ax, [(x - 0.12, _Y_FORWARD + 0.25), (x - 0.12, below), (x - 0.38, below), (x - 0.38, above),
                    (x - 0.12, above), (x - 0.12, _Y_MERGE - 0.25)], _FORWARD, bold=merge_bold)
        _arrow(ax, (x + 0.12, _Y_BACKWARD + 0.25), (x + 0.12, _Y_MERGE - 0.25), _BACKWARD, bold=merge_bold)
        merge_text = "both" if merge_mode is None else merge_mode
        _box(ax, x, _Y_MERGE, merge_text, _MERGE, bold=merge_bold, width=0.7, round_=0.2,
             fill="#e6f5e6" if merge_bold else None)
        _arrow(ax, (x, _Y_MERGE + 0.25), (x, _Y_OUTPUT - 0.22), _MERGE, bold=merge_bold)
        _box(ax, x, _Y_OUTPUT, f"$o_{{{label}}}$", _GREY, width=0.5, height=0.42)

    # The states, carried step to step: forward left to right, backward right to left.
    for x in xs[:-1]:
        _arrow(ax, (x + _BOX_W / 2, _Y_FORWARD), (x + 1 - _BOX_W / 2, _Y_FORWARD), _FORWARD, bold=states_bold)
        _arrow(ax, (x + 1 - _BOX_W / 2, _Y_BACKWARD), (x + _BOX_W / 2, _Y_BACKWARD), _BACKWARD,
               bold=states_bold)

    # Where the initial states enter and the final states leave.
    left, right, reach = xs[0] - _BOX_W / 2, xs[-1] + _BOX_W / 2, 1.0
    _arrow(ax, (left - reach, _Y_FORWARD), (left, _Y_FORWARD), _CALL, bold=call_bold,
           label="initial_state\n(forward part)", label_side="above")
    _arrow(ax, (right + reach, _Y_BACKWARD), (right, _Y_BACKWARD), _CALL, bold=call_bold,
           label="initial_state\n(backward part)", label_side="above")
    _arrow(ax, (right, _Y_FORWARD), (right + reach, _Y_FORWARD), _FORWARD, bold=states_bold,
           label="final forward\nstate", label_side="below")
    _arrow(ax, (left, _Y_BACKWARD), (left - reach, _Y_BACKWARD), _BACKWARD, bold=states_bold,
           label="final backward\nstate", label_side="below")

    # Row names on the left.
    rows = [
        (_Y_OUTPUT, "outputs", _GREY),
        (_Y_MERGE, "merge_mode", _MERGE),
        (_Y_BACKWARD, "backward layer\n(reads right to left)", _BACKWARD),
        (_Y_FORWARD, "forward layer\n(reads left to right)", _FORWARD),
        (_Y_INPUT, "inputs", _GREY),
        (_Y_MASK, "mask", _CALL),
    ]
    for y, name, colour in rows:
        ax.text(xs[0] - 1.5, y, name, ha="right", va="center", fontsize=10, color=colour)

    ax.set_xlim(xs[0] - 3.0, xs[-1] + 1.5)
    ax.set_ylim(_Y_MASK - 0.45, _Y_OUTPUT + 0.45)
    ax.set_xticks(xs, [f"$t={label}$" for label in labels])
    ax.set_xlabel("time step")
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    if title is None:
        merged = "not merged" if merge_mode is None else f'merge_mode="{merge_mode}"'
        title = f"Bidirectional unrolled over {steps} steps ({merged})"
    ax.set_title(title)
    return fig
