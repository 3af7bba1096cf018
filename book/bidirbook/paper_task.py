"""A regression task whose targets depend on past and future inputs, for the book's version of the artificial-data
experiments of Schuster and Paliwal (1997), "Bidirectional recurrent neural networks".

The input at each frame is a number drawn from a standard normal distribution. The target at frame `t` is the sum
of the inputs in a window from `past` frames before `t` to `future` frames after it, divided by the square root of
the window's width, so that it has unit variance; inputs beyond either end of the sequence count as zero:

    y[t] = (x[t - past] + ... + x[t] + ... x[t + future]) / sqrt(past + 1 + future)

Because the inputs are independent and the target is linear in them, the best possible prediction from a given
part of the window is known exactly: the scaled sum of the inputs that the predictor can see. `lowest_mse` gives
the expected mean squared error of such a predictor, for any model that reads only part of the window (a forward
network whose output is delayed, a backward network) or that averages two of them (MERGE), and `best_prediction`
the predictor itself. The expected error is not a bound on one test set: on a finite sample the best predictor's
error scatters around it, and a trained network's error can land a little below it by chance.
"""

import math
import numbers

import numpy as np

__all__ = ["window_sum_task", "delay_inputs", "lowest_mse", "best_prediction", "next_step_task"]


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def window_sum_task(n_sequences, n_steps, past, future, seed=0):
    """Sequences whose target at each frame is the scaled sum of a window of past, present and future inputs.

    Args:
        n_sequences: Integer >= 1, the number of sequences.
        n_steps: Integer >= 1, the number of frames per sequence.
        past: Integer >= 0, how many frames before `t` the window starts.
        future: Integer >= 0, how many frames after `t` the window ends.
        seed: Integer >= 0, the seed of the `np.random.default_rng` generator.

    Returns:
        A tuple `(x, y)` of float32 arrays of shape `(n_sequences, n_steps, 1)`.

    Example:

    >>> x, y = window_sum_task(2, 6, past=1, future=2, seed=0)
    >>> padded = np.pad(x[..., 0], ((0, 0), (1, 2)))
    >>> expected = sum(padded[:, k : k + 6] for k in range(4)) / 2.0
    >>> bool(np.allclose(y[..., 0], expected))
    True
    """
    n_sequences = _check_int("n_sequences", n_sequences, 1)
    n_steps = _check_int("n_steps", n_steps, 1)
    past = _check_int("past", past, 0)
    future = _check_int("future", future, 0)
    seed = _check_int("seed", seed, 0)
    x = np.random.default_rng(seed).standard_normal((n_sequences, n_steps)).astype("float32")
    padded = np.pad(x, ((0, 0), (past, future)))
    width = past + 1 + future
    y = sum(padded[:, k : k + n_steps] for k in range(width)) / math.sqrt(width)
    return x[..., None], y.astype("float32")[..., None]


def delay_inputs(x, delay):
    """Appends `delay` frames of zeros to each sequence of `x`, `(sequences, steps, features)`.

    A forward network that reads the result and whose output at step `t + delay` is taken as its prediction for
    frame `t` has read `delay` frames past `t` when it answers, and every frame gets a prediction.

    >>> delay_inputs(np.ones((1, 3, 1)), 2)[0, :, 0]
    array([1., 1., 1., 0., 0.])
    """
    delay = _check_int("delay", delay, 0)
    x = np.asarray(x)
    return np.pad(x, ((0, 0), (0, delay), (0, 0)))


def lowest_mse(n_steps, past, future, coefficient):
    """The expected mean squared error, over all frames, of the best predictor of a given form.

    The predictor multiplies the input at offset `k` from the frame (from `-past` to `future`) by
    `coefficient(k) / sqrt(width)` and adds up. The best forward network with output delay `d` has coefficient 1
    for `k <= d` and 0 beyond; the best backward network 1 for `k >= 0`; averaging the two (MERGE) gives 1 at
    `k = 0` and 1/2 elsewhere. With independent unit-variance inputs the error at frame `t` is the sum of
    `(1 - coefficient(k))**2` over the offsets whose input exists, divided by the window's width.

    Args:
        n_steps: Integer >= 1, the number of frames per sequence.
        past, future: the window, as in `window_sum_task`.
        coefficient: Callable from an offset `k` to a float.

    Returns:
        A float, the mean over the `n_steps` frames.

    Example:

    >>> lowest_mse(100, 2, 2, lambda k: 1.0)  # sees the whole window
    0.0
    >>> round(lowest_mse(10**6, 2, 2, lambda k: float(k <= 0)), 3)  # forward, no delay: 2 of 5 inputs unseen
    0.4
    """
    n_steps = _check_int("n_steps", n_steps, 1)
    width = past + 1 + future
    total = 0.0
    for t in range(n_steps):
        for k in range(-past, future + 1):
            if 0 <= t + k < n_steps:
                total += (1.0 - coefficient(k)) ** 2
    return total / (n_steps * width)


def best_prediction(x, past, future, coefficient):
    """The predictor of `lowest_mse` applied to inputs `x`, `(sequences, steps, 1)`: its prediction at each frame.

    At frame `t` it adds up `coefficient(k) * x[t + k] / sqrt(width)` over the window's offsets `k` whose input
    exists. Its mean squared error against `window_sum_task`'s targets is, in expectation, `lowest_mse`; on a
    finite set of sequences it comes out a little above or below that.

    Args:
        x: Array `(sequences, steps, 1)`, the inputs of `window_sum_task`.
        past, future: the window, as in `window_sum_task`.
        coefficient: Callable from an offset `k` to a float.

    Returns:
        A float64 array of the shape of `x`.

    Example:

    >>> x, y = window_sum_task(3, 8, past=2, future=1, seed=0)
    >>> bool(np.allclose(best_prediction(x, 2, 1, lambda k: 1.0), y, atol=1e-6))  # sees everything: the target
    True
    """
    x = np.asarray(x, dtype="float64")
    if x.ndim != 3 or x.shape[-1] != 1:
        raise ValueError(f"`x` must have shape (sequences, steps, 1). Received: {x.shape}")
    past = _check_int("past", past, 0)
    future = _check_int("future", future, 0)
    steps = x.shape[1]
    padded = np.pad(x[..., 0], ((0, 0), (past, future)))
    total = sum(float(coefficient(k)) * padded[:, past + k : past + k + steps] for k in range(-past, future + 1))
    return (total / math.sqrt(past + 1 + future))[..., None]


def next_step_task(n_sequences, n_steps, phi, seed=0):
    """Windows of a first-order autoregressive series, with the next value as the target at each frame.

    The series is `x[t] = phi * x[t - 1] + e[t]`, with Gaussian `e[t]` scaled so that `x` has unit variance,
    started from its stationary distribution. The input is `x[0], ..., x[n_steps - 1]` and the target at frame `t`
    is `x[t + 1]`: every target but the last is also an input, one frame later. The best forecast of `x[t + 1]`
    from `x[t]` and before is `phi * x[t]`, with expected squared error `1 - phi**2`.

    Args:
        n_sequences: Integer >= 1, the number of windows.
        n_steps: Integer >= 1, the number of frames per window.
        phi: Float in (-1, 1), the autoregression's coefficient.
        seed: Integer >= 0, the seed of the `np.random.default_rng` generator.

    Returns:
        A tuple `(x, y)` of float32 arrays of shape `(n_sequences, n_steps, 1)`, with `y[:, t] == x[:, t + 1]`.

    Example:

    >>> x, y = next_step_task(2, 5, phi=0.8, seed=0)
    >>> bool(np.array_equal(y[:, :-1], x[:, 1:]))
    True
    """
    n_sequences = _check_int("n_sequences", n_sequences, 1)
    n_steps = _check_int("n_steps", n_steps, 1)
    seed = _check_int("seed", seed, 0)
    if isinstance(phi, bool) or not isinstance(phi, numbers.Real) or not -1 < phi < 1:
        raise ValueError(f"`phi` must be a number between -1 and 1, both excluded. Received: phi={phi!r}")
    rng = np.random.default_rng(seed)
    series = np.empty((n_sequences, n_steps + 1))
    series[:, 0] = rng.standard_normal(n_sequences)
    noise = rng.standard_normal((n_sequences, n_steps)) * math.sqrt(1 - phi**2)
    for t in range(n_steps):
        series[:, t + 1] = phi * series[:, t] + noise[:, t]
    series = series.astype("float32")[..., None]
    return series[:, :-1], series[:, 1:]
