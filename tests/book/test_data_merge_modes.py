"""Tests of the helpers chapter 3 (merge modes) adds: the neighbour-agreement task and two figures."""

import operator

import numpy as np
import pytest

from bidirbook import data, plot
from helpers.book import agg_pyplot, naive_neighbour_labels

plt = agg_pyplot()


@pytest.mark.parametrize("n_sequences, n_steps", [(1, 2), (3, 7), (50, 20)])
def test_agreement_shapes_and_dtypes(n_sequences, n_steps):
    x, y = data.neighbour_agreement_task(n_sequences, n_steps, seed=0)
    assert x.shape == y.shape == (n_sequences, n_steps, 1)
    assert x.dtype == y.dtype == np.float32


def test_agreement_labels_match_the_definition():
    x, y = data.neighbour_agreement_task(40, 9, seed=3)
    np.testing.assert_array_equal(y, naive_neighbour_labels(x, operator.mul))


def test_agreement_ends_are_zero_and_middle_is_balanced():
    x, y = data.neighbour_agreement_task(4000, 10, seed=1)
    assert y[:, 0].max() == 0 and y[:, -1].max() == 0
    assert abs(y[:, 1:-1].mean() - 0.5) < 0.02


def test_agreement_is_deterministic_and_seeded():
    a = data.neighbour_agreement_task(5, 6, seed=7)
    b = data.neighbour_agreement_task(5, 6, seed=7)
    c = data.neighbour_agreement_task(5, 6, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_agreement_uses_the_same_inputs_as_the_sum_task():
    x_agree, _ = data.neighbour_agreement_task(3, 8, seed=2)
    x_sum, _ = data.neighbour_sum_task(3, 8, seed=2)
    np.testing.assert_array_equal(x_agree, x_sum)


def test_one_neighbour_says_nothing_about_agreement():
    x, y = data.neighbour_agreement_task(4000, 12, seed=0)
    left_positive = x[:, :-2, 0] > 0  # x[t - 1] for t = 1 .. T-2
    inner = y[:, 1:-1, 0]
    # Whatever the sign of one neighbour, the label is 1 half of the time.
    assert abs(inner[left_positive].mean() - 0.5) < 0.02
    assert abs(inner[~left_positive].mean() - 0.5) < 0.02


@pytest.mark.parametrize("bad", [dict(n_sequences=0, n_steps=4), dict(n_sequences=2, n_steps=1),
                                 dict(n_sequences=2, n_steps=4, seed=-1), dict(n_sequences=2.5, n_steps=4)])
def test_agreement_refuses_bad_sizes(bad):
    with pytest.raises(ValueError, match="must be an integer"):
        data.neighbour_agreement_task(**bad)


def test_panels_layout_titles_and_legend():
    panels = {
        mode: {"forward": [0.1, 0.2, 0.3], "backward": [0.3, 0.2, 0.1], "merged": [0.4, 0.4, 0.4]}
        for mode in ("sum", "ave", "mul", "concat", "None")
    }
    fig = plot.plot_panels(panels, title="Merge modes", xlabel="time step t", ylabel="output",
                           ncols=3, linewidths={"merged": 3}, colours={"merged": "black"})
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == list(panels)
    assert fig.get_suptitle() == "Merge modes"
    assert len(fig.axes) == 6 and not fig.axes[5].get_visible()
    (legend,) = fig.legends
    assert [text.get_text() for text in legend.get_texts()] == ["forward", "backward", "merged"]
    merged = [line for line in visible[0].lines if line.get_label() == "merged"][0]
    assert merged.get_linewidth() == 3 and merged.get_color() == "black"
    forward = [line for line in visible[0].lines if line.get_label() == "forward"][0]
    assert forward.get_color() == plot.COLOURS["forward"]
    np.testing.assert_array_equal(forward.get_xdata(), [0, 1, 2])
    assert visible[0].get_ylabel() == "output" and visible[3].get_xlabel() == "time step t"
    plt.close(fig)


@pytest.mark.parametrize("bad", [{}, {"a": {}}, {"a": {"line": []}}, {"a": {"line": [[1.0, 2.0]]}}])
def test_panels_refuse_bad_input(bad):
    with pytest.raises(ValueError):
        plot.plot_panels(bad, title="t", xlabel="x", ylabel="y")


def test_grouped_bars_heights_order_and_labels():
    groups = {"sum task": {"concat": 0.9, "mul": 0.8}, "agreement task": {"concat": 0.6, "mul": 0.95}}
    fig = plot.plot_grouped_bars(groups, title="Accuracy", ylabel="accuracy", chance=0.5, ylim=(0, 1))
    (ax,) = fig.axes
    assert ax.get_title() == "Accuracy" and ax.get_ylabel() == "accuracy"
    assert [label.get_text() for label in ax.get_xticklabels()] == ["sum task", "agreement task"]
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == [0.9, 0.6, 0.8, 0.95]  # all "concat" bars, then all "mul" bars
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert sorted(labels) == ["chance", "concat", "mul"]
    assert [text.get_text() for text in ax.texts] == ["0.90", "0.60", "0.80", "0.95"]
    plt.close(fig)


def test_grouped_bars_need_the_same_bars_in_every_group():
    with pytest.raises(ValueError, match="same bars"):
        plot.plot_grouped_bars({"a": {"x": 1.0}, "b": {"y": 1.0}}, title="t", ylabel="y")
    with pytest.raises(ValueError):
        plot.plot_grouped_bars({}, title="t", ylabel="y")
