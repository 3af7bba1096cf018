"""A bidirectional layer from scratch, in a few lines of `keras.ops`.

`bidirectional_from_scratch` is what a bidirectional layer computes, with nothing else: no masks, no initial
states, no returned states, no fused kernels. Chapter 1 prints it and checks it against `bidirlib.Bidirectional`
with the same weights. `reader_like` makes the two readers it needs from an existing wrapper's layers.
"""

import numpy as np
from keras import ops

from bidirlib import MERGE_MODES

__all__ = ["bidirectional_from_scratch", "reader_like"]


def bidirectional_from_scratch(forward_reader, backward_reader, inputs, merge_mode="concat"):
    """Run two readers over `inputs`, one of them on the reversed sequence, and merge their outputs.

    Both readers are ordinary sequence layers reading left to right (`go_backwards=False`); the backward one
    reads right to left because it is given the time-reversed sequence. No masks, initial or returned states.

    Args:
        forward_reader: A sequence layer such as `keras.layers.LSTM`, with `return_state=False`.
        backward_reader: A layer like it (the same `return_sequences`), with its own weights.
        inputs: A tensor or array of shape `(batch, timesteps, features)`.
        merge_mode: `"concat"` (the default, forward first), `"sum"`, `"ave"`, `"mul"`, or `None` for the
            pair `(forward, backward)`.

    Returns:
        The merged outputs, `(batch, timesteps, width)`; with `return_sequences=False`, `(batch, width)`,
        where the backward part is the backward reader's output after reading the whole sequence, which
        belongs to input step 0.

    Raises:
        ValueError: for inputs not of rank 3, a reader with `go_backwards=True` or `return_state=True`,
            readers that disagree on `return_sequences`, or an unknown `merge_mode`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from bidirlib import Bidirectional
    >>> from bidirbook.from_scratch import bidirectional_from_scratch, reader_like
    >>> x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype("float32")
    >>> wrapper = Bidirectional(keras.layers.LSTM(4, return_sequences=True))
    >>> expected = keras.ops.convert_to_numpy(wrapper(x))
    >>> forward_reader = reader_like(wrapper.forward_layer)
    >>> backward_reader = reader_like(wrapper.backward_layer)
    >>> output = bidirectional_from_scratch(forward_reader, backward_reader, x)
    >>> tuple(output.shape)
    (2, 5, 8)
    >>> np.allclose(keras.ops.convert_to_numpy(output), expected, rtol=1e-5, atol=1e-6)
    True
    """
    _check(forward_reader, backward_reader, inputs, merge_mode)
    forward = forward_reader(inputs)
    backward = backward_reader(ops.flip(inputs, axis=1))
    if backward_reader.return_sequences:
        backward = ops.flip(backward, axis=1)
    if merge_mode == "concat":
        return ops.concatenate([forward, backward], axis=-1)
    if merge_mode == "sum":
        return forward + backward
    if merge_mode == "ave":
        return (forward + backward) / 2
    if merge_mode == "mul":
        return forward * backward
    return forward, backward


def reader_like(layer, **overrides):
    """A copy of a built sequence layer that reads left to right, with the layer's weights.

    Args:
        layer: A built sequence layer, such as the `forward_layer` or `backward_layer` of a called
            `bidirlib.Bidirectional`.
        **overrides: Settings of the copy that differ from `layer`'s and leave its weights' shapes alone,
            such as `return_sequences=True`.

    Returns:
        A new layer of the same class and settings, with `go_backwards=False` and `overrides`, built and
        holding copies of `layer`'s weights.

    Raises:
        ValueError: when `layer` is not built yet (it has no weights to copy).

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from bidirbook.from_scratch import reader_like
    >>> backward = keras.layers.GRU(3, go_backwards=True)
    >>> backward.build((None, 7, 2))
    >>> reader = reader_like(backward, return_sequences=True)
    >>> reader.go_backwards, reader.return_sequences
    (False, True)
    >>> all(np.array_equal(a, b) for a, b in zip(reader.get_weights(), backward.get_weights()))
    True
    """
    if not layer.built:
        raise ValueError(
            f"reader_like copies the weights of a built layer; {layer.name!r} is not built yet. "
            "Call it (or the Bidirectional layer holding it) on inputs first."
        )
    config = layer.get_config() | {"go_backwards": False, "name": f"{layer.name}_reader"} | overrides
    reader = layer.__class__.from_config(config)
    reader.build_from_config(layer.get_build_config())
    reader.set_weights(layer.get_weights())
    return reader


def _check(forward_reader, backward_reader, inputs, merge_mode):
    shape = tuple(inputs.shape) if hasattr(inputs, "shape") else np.shape(inputs)
    if len(shape) != 3:
        raise ValueError(
            "bidirectional_from_scratch expects inputs of shape (batch, timesteps, features). "
            f"Received: inputs of rank {len(shape)}, shape {shape}."
        )
    for name, reader in (("forward_reader", forward_reader), ("backward_reader", backward_reader)):
        if getattr(reader, "go_backwards", False):
            raise ValueError(
                f"{name} must read left to right (go_backwards=False): bidirectional_from_scratch reverses "
                f"the backward reader's input itself. Received: {name}.go_backwards=True."
            )
        if getattr(reader, "return_state", False):
            raise ValueError(f"bidirectional_from_scratch returns no states. Received: {name}.return_state=True.")
    if forward_reader.return_sequences != backward_reader.return_sequences:
        raise ValueError(
            "The two readers must agree on `return_sequences`. Received: "
            f"forward_reader.return_sequences={forward_reader.return_sequences}, "
            f"backward_reader.return_sequences={backward_reader.return_sequences}."
        )
    if merge_mode not in MERGE_MODES:
        raise ValueError(
            f"Unknown merge_mode. Received: merge_mode={merge_mode!r}. "
            'Expected one of "sum", "mul", "concat", "ave" or None.'
        )
