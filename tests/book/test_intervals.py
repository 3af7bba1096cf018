"""bidirbook.intervals: the paired bootstrap the real-data chapters use for their comparisons."""

import numpy as np
import pytest

from bidirbook.intervals import describe, paired_difference


def test_the_interval_covers_a_known_difference_at_about_its_level():
    """Over many simulated test sets whose true mean difference is 0.1, the 90% interval holds 0.1 about 90% of
    the time (a bootstrap percentile interval is a little narrow at n=40: between 80% and 96%)."""
    rng = np.random.default_rng(1)
    covered = 0
    trials = 200
    for trial in range(trials):
        noise = rng.normal(size=40)
        first = noise + 0.1 + rng.normal(scale=0.5, size=40)
        _, low, high = paired_difference(first, noise, level=0.9, resamples=500, seed=trial)
        covered += low <= 0.1 <= high
    assert 0.8 <= covered / trials <= 0.96, covered


def test_pairing_removes_what_both_models_share():
    """Two models whose scores differ by a constant, on items of very different difficulty: the paired interval
    is the constant itself, however wide the items' spread."""
    difficulty = np.random.default_rng(0).exponential(size=50) * 10
    mean, low, high = paired_difference(difficulty + 0.25, difficulty)
    assert mean == pytest.approx(0.25) and low == pytest.approx(0.25) and high == pytest.approx(0.25)


def test_blocks_resample_neighbours_together_and_widen_the_interval():
    """Items that move together in blocks: resampling the items one by one understates the spread."""
    rng = np.random.default_rng(2)
    blocks = np.repeat(np.arange(10), 8)
    differences = np.repeat(rng.normal(size=10), 8) + rng.normal(scale=0.05, size=80)
    zeros = np.zeros(80)
    _, low_items, high_items = paired_difference(differences, zeros)
    _, low_blocks, high_blocks = paired_difference(differences, zeros, blocks=blocks)
    assert high_blocks - low_blocks > 2 * (high_items - low_items)


def test_same_seed_same_interval():
    first, second = np.arange(10.0), np.arange(10.0)[::-1]
    assert paired_difference(first, second, seed=3) == paired_difference(first, second, seed=3)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (([1.0, 2.0], [1.0]), "of one length"),
        (([1.0], [1.0]), "at least 2 items"),
        (([1.0, np.nan], [1.0, 2.0]), "finite"),
        (([1.0, 2.0], [1.0, 2.0], {"level": 1.5}), "between 0 and 1"),
        (([1.0, 2.0], [1.0, 2.0], {"blocks": [0]}), "one label per item"),
        (([1.0, 2.0], [1.0, 2.0], {"resamples": 0}), "positive integer"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(arguments, message):
    first, second, *options = arguments
    with pytest.raises(ValueError, match=message):
        paired_difference(first, second, **(options[0] if options else {}))


def test_describe_prints_mean_and_interval():
    assert describe(0.5, 0.25, 0.75, "ppm", digits=2) == "0.50 [0.25, 0.75] ppm"
    assert describe(-0.5, -0.75, -0.25) == "-0.500 [-0.750, -0.250]"
