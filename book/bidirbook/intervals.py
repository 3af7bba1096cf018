"""Paired differences with bootstrap intervals: how the real-data chapters compare two models on one test set.

Two models scored on the same test items (sentences, stretches, sequences) are compared item by item: the
difference of their scores on each item, averaged. Its interval comes from resampling the items (or blocks of
neighbouring items, where neighbours are alike) with replacement, so it says how much the comparison could
move with another test set of the same kind. Seeds are a second source of spread, reported beside it.
"""

import numpy as np


def paired_difference(first, second, *, blocks=None, resamples=2000, level=0.95, seed=0):
    """The mean of `first - second` over paired test items, with a percentile bootstrap interval.

    Args:
        first, second: one score per test item, same length and order (e.g. each stretch's error under two
            fillers). The difference is `first - second`: negative when `first` has the lower score.
        blocks: optional label per item; items with the same label are resampled together (a block
            bootstrap: use it when neighbouring items are not independent, e.g. stretches in the same year).
        resamples: how many bootstrap resamples.
        level: the interval's coverage, between 0 and 1.
        seed: the resampling's random seed, so an interval is the same on every run.

    Returns:
        `(mean, low, high)`: the mean difference and the interval's ends, as floats.

    Example:

    >>> from bidirbook.intervals import paired_difference
    >>> mean, low, high = paired_difference([1.0, 2.0, 3.0, 4.0], [0.5, 1.5, 2.0, 4.0])
    >>> round(mean, 3), low <= mean <= high
    (0.5, True)
    """
    first = np.asarray(first, dtype=float)
    second = np.asarray(second, dtype=float)
    if first.ndim != 1 or first.shape != second.shape:
        raise ValueError(
            f"`first` and `second` must be 1-D and of one length. Received shapes {first.shape} and {second.shape}."
        )
    if len(first) < 2:
        raise ValueError(f"A paired interval needs at least 2 items. Received: {len(first)}.")
    if not 0 < level < 1:
        raise ValueError(f"`level` must be between 0 and 1. Received: {level}.")
    if int(resamples) < 1:
        raise ValueError(f"`resamples` must be a positive integer. Received: {resamples}.")
    differences = first - second
    if not np.all(np.isfinite(differences)):
        raise ValueError("The scores must be finite: a NaN or infinite score has no difference to average.")
    if blocks is None:
        groups = [np.array([index]) for index in range(len(differences))]
    else:
        blocks = np.asarray(blocks)
        if blocks.shape != differences.shape:
            raise ValueError(f"`blocks` must hold one label per item ({len(differences)}). Received: {blocks.shape}.")
        groups = [np.flatnonzero(blocks == label) for label in np.unique(blocks)]
    # Sum and count per group: a resample of groups is then two dot products, not a concatenation.
    sums = np.array([differences[group].sum() for group in groups])
    counts = np.array([len(group) for group in groups], dtype=float)
    rng = np.random.default_rng(seed)
    chosen = rng.integers(0, len(groups), size=(int(resamples), len(groups)))
    means = sums[chosen].sum(axis=1) / counts[chosen].sum(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(differences.mean()), float(low), float(high)


def describe(mean, low, high, unit="", digits=3):
    """`mean [low, high] unit`, the way the chapters print a paired difference.

    >>> from bidirbook.intervals import describe
    >>> describe(-0.01234, -0.02, -0.004, "ppm")
    '-0.012 [-0.020, -0.004] ppm'
    """
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}] {unit}".rstrip()
