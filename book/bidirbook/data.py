"""Offline data sets for the book's chapters.

Everything here is generated from a seed with NumPy, so a chapter never
downloads anything and gives the same data on every machine.
"""

import numbers

import numpy as np

__all__ = ["neighbour_sum_task", "reverse_time", "neighbour_agreement_task", "ends_class_task", "neighbour_class_task"]


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


#: The smallest value each task accepts for each of its integer arguments.
_MINIMUMS = {"n_sequences": 1, "n_steps": 2, "n_classes": 2, "seed": 0}


def _check_sizes(**sizes):
    """Checks each integer argument in the order given; returns them as ints, in that order."""
    return tuple(
        _check_positive_int(name, value, minimum=_MINIMUMS[name])
        for name, value in sizes.items()
    )


def _neighbour_task(n_sequences, n_steps, seed, combine):
    """Standard normal inputs; a step's label is `combine(x[t - 1], x[t + 1]) > 0`.

    A neighbour beyond either end of the sequence counts as zero. `combine`
    is a NumPy ufunc of two arrays (`np.add`, `np.multiply`).
    """
    n_sequences, n_steps, seed = _check_sizes(
        n_sequences=n_sequences, n_steps=n_steps, seed=seed
    )
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_sequences, n_steps)).astype("float32")
    padded = np.pad(x, ((0, 0), (1, 1)))  # a zero beyond each end
    left, right = padded[:, :-2], padded[:, 2:]
    y = (combine(left, right) > 0).astype("float32")
    return x[..., np.newaxis], y[..., np.newaxis]


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
    return _neighbour_task(n_sequences, n_steps, seed, np.add)


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


def neighbour_agreement_task(n_sequences, n_steps, seed=0):
    """Sequences whose per-step label says whether the two neighbours agree in sign.

    Each input value `x[t]` is drawn from a standard normal distribution.
    The label of step `t` is 1 when its two neighbours have the same sign,
    `x[t - 1] * x[t + 1] > 0`, and 0 otherwise; a neighbour beyond either
    end of the sequence counts as zero, so the first and the last step are
    always labelled 0.

    The label is an interaction of the two sides, an exclusive-or of two
    signs: knowing one neighbour says nothing about it (a one-directional
    model is at chance in the middle of a sequence), and no score of the
    form `g(past) + h(future)` can be right more than 75% of the time. A
    bidirectional layer whose merged output goes straight into a linear
    layer computes such a score with `merge_mode="concat"`, `"sum"` or
    `"ave"`, but not with `"mul"`, which multiplies the two directions.

    Args:
        n_sequences: Integer >= 1, the number of sequences.
        n_steps: Integer >= 2, the number of time steps per sequence.
        seed: Integer >= 0, the seed of the `np.random.default_rng`
            generator. The same seed gives the same data. Defaults to `0`.

    Returns:
        A tuple `(x, y)` of float32 arrays, both of shape
        `(n_sequences, n_steps, 1)`: the inputs and the 0/1 labels.

    Example:

    >>> x, y = neighbour_agreement_task(n_sequences=4, n_steps=6, seed=0)
    >>> x.shape, y.shape
    ((4, 6, 1), (4, 6, 1))
    >>> padded = np.pad(x[..., 0], ((0, 0), (1, 1)))
    >>> bool(np.all(y[..., 0] == (padded[:, :-2] * padded[:, 2:] > 0)))
    True
    >>> float(y[:, 0].max()), float(y[:, -1].max())
    (0.0, 0.0)
    """
    return _neighbour_task(n_sequences, n_steps, seed, np.multiply)


def _votes(rng, shape, n_classes):
    """Random votes: a one-hot class scaled by a strength drawn from [0, 1)."""
    classes = rng.integers(0, n_classes, size=shape)
    strengths = rng.uniform(0.0, 1.0, size=shape)
    return np.eye(n_classes)[classes] * strengths[..., np.newaxis]


def _one_hot_winner(votes):
    """The class of the strongest vote along the last axis, one-hot, as float32."""
    return np.eye(votes.shape[-1], dtype="float32")[votes.argmax(axis=-1)]


def _vote_sequences(rng, n_sequences, n_steps, n_classes):
    """Inputs of shape `(n_sequences, n_steps, 2 * n_classes)`: two votes a step."""
    first = _votes(rng, (n_sequences, n_steps), n_classes)
    second = _votes(rng, (n_sequences, n_steps), n_classes)
    return np.concatenate([first, second], axis=-1)


def ends_class_task(n_sequences, n_steps=5, n_classes=5, middle_scale=1.0,
                    seed=0):
    """Sequences with one class each, decided by their first and last steps.

    Every step holds two *votes* of `C = n_classes` features each: a vote is
    one class, picked uniformly, written as a one-hot vector scaled by a
    strength drawn uniformly from [0, 1). So each step has `2 * C`
    features. The class of a sequence is decided by two of its votes, the
    first vote of the first step and the second vote of the last step: the
    stronger one wins, `argmax(x[0, :C] + x[-1, C:])` (when both are for the
    same class, that class). The votes of the steps in between decide
    nothing; they are multiplied by `middle_scale`, so a `middle_scale`
    above 1 makes them louder than the deciding votes.

    Following one of the two deciding votes alone is right when it is the
    stronger one or when both name the same class, `1/2 + 1/(2C)` of the
    time (60% for 5 classes). A model that reads left to right reads both,
    but must carry the first step's vote through all the steps in between
    before it adds the last one; the backward half of a bidirectional layer
    reads the first step last.
    The defaults match the Keras API page's examples: 5 steps of 10
    features and 5 classes.

    Args:
        n_sequences: Integer >= 1, the number of sequences.
        n_steps: Integer >= 2, the number of time steps per sequence.
            Defaults to `5`.
        n_classes: Integer >= 2, the number of classes; each step has
            `2 * n_classes` features. Defaults to `5`.
        middle_scale: Float >= 0, the factor applied to the votes of the
            steps between the first and the last. Defaults to `1.0`.
        seed: Integer >= 0, the seed of the `np.random.default_rng`
            generator. The same seed gives the same data. Defaults to `0`.

    Returns:
        A tuple `(x, y)` of float32 arrays: the inputs, of shape
        `(n_sequences, n_steps, 2 * n_classes)`, and the one-hot classes, of
        shape `(n_sequences, n_classes)` (ready for
        `loss="categorical_crossentropy"`; `y.argmax(-1)` gives the class
        numbers).

    Example:

    >>> x, y = ends_class_task(n_sequences=4, middle_scale=3.0, seed=0)
    >>> x.shape, y.shape
    ((4, 5, 10), (4, 5))
    >>> votes = x[:, 0, :5] + x[:, -1, 5:]
    >>> bool(np.all(y.argmax(-1) == votes.argmax(-1)))
    True
    >>> bool(x[:, 1:-1].max() > 1.0)  # the middle votes are louder
    True
    """
    n_sequences, n_steps, n_classes, seed = _check_sizes(
        n_sequences=n_sequences, n_steps=n_steps, n_classes=n_classes, seed=seed
    )
    if (isinstance(middle_scale, bool) or not isinstance(middle_scale, numbers.Real)
            or not middle_scale >= 0):
        raise ValueError(
            "`middle_scale` must be a number >= 0. "
            f"Received: middle_scale={middle_scale!r}"
        )

    rng = np.random.default_rng(seed)
    x = _vote_sequences(rng, n_sequences, n_steps, n_classes)
    x[:, 1:-1] *= middle_scale
    c = n_classes
    votes = x[:, 0, :c] + x[:, -1, c:]
    return x.astype("float32"), _one_hot_winner(votes)


def neighbour_class_task(n_sequences, n_steps=5, n_classes=5, seed=0):
    """Sequences with a class at every step, decided by the step's two neighbours.

    Every step holds two *votes* of `C = n_classes` features each, as in
    `ends_class_task`: a one-hot class scaled by a strength drawn uniformly
    from [0, 1). The first vote of a step is for the class of the step
    after it, the second vote for the class of the step before it. So the
    class of step `t` is decided by the first vote of step `t - 1` and the
    second vote of step `t + 1`, the stronger one winning,
    `argmax(x[t - 1, :C] + x[t + 1, C:])`. Beyond either end of the
    sequence there is no vote (zeros): the first step's class is the class
    of the second step's second vote, the last step's class that of the
    step before it.

    A model that reads left to right has not seen `x[t + 1]` when it
    answers for step `t`. The best it can do is to follow the vote it has:
    at the first step that is a guess (`1/C`), in the middle it is right
    `1/2 + 1/(2C)` of the time, at the last step always. For 5 classes and
    5 steps that is 60% overall. A bidirectional layer sees both votes of
    every step. The defaults match the Keras API page's examples: 5 steps
    of 10 features and 5 classes.

    Args:
        n_sequences: Integer >= 1, the number of sequences.
        n_steps: Integer >= 2, the number of time steps per sequence.
            Defaults to `5`.
        n_classes: Integer >= 2, the number of classes; each step has
            `2 * n_classes` features. Defaults to `5`.
        seed: Integer >= 0, the seed of the `np.random.default_rng`
            generator. The same seed gives the same data. Defaults to `0`.

    Returns:
        A tuple `(x, y)` of float32 arrays: the inputs, of shape
        `(n_sequences, n_steps, 2 * n_classes)`, and the one-hot classes of
        every step, of shape `(n_sequences, n_steps, n_classes)`.

    Example:

    >>> x, y = neighbour_class_task(n_sequences=4, seed=0)
    >>> x.shape, y.shape
    ((4, 5, 10), (4, 5, 5))
    >>> votes = x[:, 0, :5] + x[:, 2, 5:]  # the neighbours' votes for step 1
    >>> bool(np.all(y[:, 1].argmax(-1) == votes.argmax(-1)))
    True
    """
    n_sequences, n_steps, n_classes, seed = _check_sizes(
        n_sequences=n_sequences, n_steps=n_steps, n_classes=n_classes, seed=seed
    )

    rng = np.random.default_rng(seed)
    x = _vote_sequences(rng, n_sequences, n_steps, n_classes)
    c = n_classes
    padded = np.pad(x, ((0, 0), (1, 1), (0, 0)))  # no votes beyond either end
    votes = padded[:, :-2, :c] + padded[:, 2:, c:]
    return x.astype("float32"), _one_hot_winner(votes)
