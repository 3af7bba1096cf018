"""bidirbook.plot.plot_bar_panels: small multiples of grouped bars with spreads and reference lines."""

import pytest

from bidirbook import plot
from helpers.book import agg_pyplot

plt = agg_pyplot()

PANELS = {
    "train": {"tensorflow": {"keras": 2.0, "bidirlib": 1.5}, "torch": {"keras": 2.2, "bidirlib": 0.5}},
    "inference": {"tensorflow": {"keras": 1.8, "bidirlib": 1.4}, "torch": {"keras": 2.0}},
}


def test_one_panel_per_entry_with_a_figure_legend():
    fig = plot.plot_bar_panels(PANELS, title="Ratios", ylabel="ratio", lines={"one direction": 1.0}, ncols=2)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["train", "inference"]
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["tensorflow", "torch"]
    assert axes[0].get_ylabel() == "ratio"
    assert fig.get_suptitle() == "Ratios"
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["keras", "bidirlib", "one direction"]
    # A bar missing from a group leaves a gap: 4 bars in the first panel, 3 in the second.
    assert [len(ax.patches) for ax in axes] == [4, 3]
    plt.close(fig)


def test_spreads_draw_whiskers_and_extra_panels_are_hidden():
    spreads = {"train": {"torch": {"bidirlib": (0.4, 0.7)}}}
    fig = plot.plot_bar_panels({"train": PANELS["train"]}, title="t", ylabel="y", spreads=spreads, ncols=1)
    (ax,) = fig.axes
    whiskers = [line for line in ax.get_lines() if list(line.get_ydata()) == [0.4, 0.7]]
    assert len(whiskers) == 1
    plt.close(fig)
    fig = plot.plot_bar_panels(PANELS | {"third": PANELS["train"]}, title="t", ylabel="y", ncols=2)
    assert sum(ax.get_visible() for ax in fig.axes) == 3
    plt.close(fig)


@pytest.mark.parametrize(
    "panels, message",
    [({}, "non-empty mapping"), ({"p": {}}, "Each panel"), ({"p": {"g": 1.0}}, "Each group")],
)
def test_bad_panels_are_refused(panels, message):
    with pytest.raises(ValueError, match=message):
        plot.plot_bar_panels(panels, title="t", ylabel="y")


def test_bad_ncols_is_refused():
    with pytest.raises(ValueError, match="ncols"):
        plot.plot_bar_panels(PANELS, title="t", ylabel="y", ncols=0)
