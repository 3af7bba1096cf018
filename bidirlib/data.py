"""Offline data sets for the book's chapters.

Everything here is generated from a seed with NumPy, so a chapter never
downloads anything and gives the same data on every machine.
"""

import numbers

import numpy as np

__all__ = ["neighbour_sum_task", "reverse_time"]


def _check_positive_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    if value < minimum:
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}"
        )
    return int(value)


def neighbour_sum_task(n_sequences, n_steps, seed=0):
    """Sequences whose per-step label depends on both neighbours.

    Each input value `x[t]` is drawn from a standard normal distribution.
    The label of step `t` is 1 when the sum of its two neighbours is
    positive, `x[t - 1] + x[t + 1] > 0`, and 0 otherwise; a neighbour beyond
    either end of the sequence counts as zero.

    A model that reads left to right has seen `x[t - 1]` but not `x[t + 1]`
    when it must label step `t`; it can only guess the sign of the sum from
    half of it, which is right about 75% of the time. A model that reads
    right to left has the mirror problem. A bidirectional model sees both
    neighbours and can label every step correctly.

    Args:
        n_sequences: Integer >= 1, the number of sequences.
        n_steps: Integer >= 2, the number of time steps per sequence.
        seed: Integer >= 0, the seed of the `np.random.default_rng`
            generator. The same seed gives the same data. Defaults to `0`.

    Returns:
        A tuple `(x, y)` of float32 arrays, both of shape
        `(n_sequences, n_steps, 1)`: the inputs and the 0/1 labels.

    Example:

    >>> x, y = neighbour_sum_task(n_sequences=4, n_steps=6, seed=0)
    >>> x.shape, y.shape
    ((4, 6, 1), (4, 6, 1))
    >>> padded = np.pad(x[..., 0], ((0, 0), (1, 1)))
    >>> bool(np.all(y[..., 0] == (padded[:, :-2] + padded[:, 2:] > 0)))
    True
    """
    n_sequences = _check_positive_int("n_sequences", n_sequences, minimum=1)
    n_steps = _check_positive_int("n_steps", n_steps, minimum=2)
    seed = _check_positive_int("seed", seed, minimum=0)

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_sequences, n_steps)).astype("float32")
    padded = np.pad(x, ((0, 0), (1, 1)))  # a zero beyond each end
    left, right = padded[:, :-2], padded[:, 2:]
    y = (left + right > 0).astype("float32")
    return x[..., np.newaxis], y[..., np.newaxis]


def reverse_time(*arrays):
    """Reverses arrays along their time axis (axis 1).

    Training a left-to-right model on time-reversed inputs and labels gives
    a right-to-left model: at step `t` of the reversed sequence it has seen
    the steps that come after `t` in the original order.

    Args:
        *arrays: One or more arrays of shape `(batch, time, ...)`.

    Returns:
        The reversed array when one array is given, else a tuple of them.

    Example:

    >>> x = np.arange(6).reshape(1, 3, 2)
    >>> reverse_time(x)[0, :, 0].tolist()
    [4, 2, 0]
    """
    if not arrays:
        raise ValueError("`reverse_time` needs at least one array. Received none.")
    reversed_arrays = []
    for i, array in enumerate(arrays):
        array = np.asarray(array)
        if array.ndim < 2:
            raise ValueError(
                "Each array must have a time axis (axis 1), so at least 2 "
                f"dimensions. Received: array {i} of shape {array.shape}"
            )
        reversed_arrays.append(np.ascontiguousarray(np.flip(array, axis=1)))
    if len(reversed_arrays) == 1:
        return reversed_arrays[0]
    return tuple(reversed_arrays)
