"""Set-up shared by the tests of the book's helpers (bidirbook): figures off screen, and the label rules written out."""

import numpy as np


def agg_pyplot():
    """Returns `matplotlib.pyplot` on the Agg backend, which draws without a display, the same on every machine."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def naive_neighbour_labels(x, rule):
    """A neighbour task's labels written out step by step: 1 where `rule(x[t - 1], x[t + 1]) > 0`.

    `x` has shape `(n, steps, 1)`; a neighbour beyond either end counts as zero, as the tasks' docstrings state.
    """
    n, steps, _ = x.shape
    y = np.zeros((n, steps, 1), dtype="float32")
    for i in range(n):
        for t in range(steps):
            left = x[i, t - 1, 0] if t > 0 else 0.0
            right = x[i, t + 1, 0] if t + 1 < steps else 0.0
            y[i, t, 0] = float(rule(left, right) > 0)
    return y
