"""bidirbook.schematic: the picture of the unrolled layer that chapters 1, 3, 6 and 9 show."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from bidirbook.schematic import HIGHLIGHTS, draw_bidirectional  # noqa: E402


@pytest.mark.parametrize("highlight", HIGHLIGHTS)
@pytest.mark.parametrize("merge_mode", ["concat", None])
def test_draws_every_part(highlight, merge_mode):
    fig = draw_bidirectional(steps=3, merge_mode=merge_mode, highlight=highlight)
    try:
        ax = fig.axes[0]
        assert ax.get_title().startswith("Bidirectional unrolled over 3 steps")
        assert ax.get_xlabel() == "time step"
        texts = {text.get_text() for text in ax.texts}
        assert {"$f$", "$g$", "$x_{0}$", "$x_{T-1}$", "$o_{T-1}$", "$m_{0}$"} <= texts
        assert ("both" if merge_mode is None else merge_mode) in texts
        assert any("initial_state" in text for text in texts)
        assert any("final backward" in text for text in texts)
    finally:
        plt.close(fig)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"steps": 1}, "`steps`"), ({"merge_mode": "max"}, "`merge_mode`"), ({"highlight": "x"}, "`highlight`")],
)
def test_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        draw_bidirectional(**kwargs)
