"""`MinGRUCell`: the minimal GRU of Feng et al. (2024) as a cell for `keras.layers.RNN`."""

import keras
from keras import ops

from bidirlib import errors


@keras.saving.register_keras_serializable(package="bidirlib")
class MinGRUCell(keras.layers.Layer):
    """A minimal GRU cell: the gate and the candidate depend on the input only, not on the previous state.

    For each step, with input `x_t` and previous state `h_{t-1}`::

        z_t = sigmoid(x_t W_z + b_z)
        c_t = x_t W_h + b_h
        h_t = (1 - z_t) * h_{t-1} + z_t * c_t

    Because `z_t` and `c_t` do not read `h_{t-1}`, the same recurrence can be computed for all steps at once
    with a parallel scan: `bidirlib.layers.ParallelMinGRU` does that and gives the same numbers. This cell is
    the route the Keras API page recommends for a new RNN: write a cell and wrap `keras.layers.RNN(cell)`.

    Args:
        units: size of the state and of the output.
        kernel_initializer: initializer for `W_z` and `W_h`. Defaults to `"glorot_uniform"`.
        bias_initializer: initializer for `b_z` and `b_h`. Defaults to `"zeros"`.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        inputs: a tensor `(batch, features)`, one step.
        states: a list with one tensor `(batch, units)`.

    Returns:
        `(h_t, [h_t])`.

    Example:

    >>> import numpy as np, keras
    >>> from bidirlib import Bidirectional
    >>> from bidirlib.layers import MinGRUCell
    >>> layer = Bidirectional(keras.layers.RNN(MinGRUCell(8), return_sequences=True))
    >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)
    (2, 5, 16)
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        errors.require_positive_integer("units", units)
        self.units = units
        self.state_size = units
        self.output_size = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        features = input_shape[-1]
        # Gate and candidate weights side by side: one matmul a step.
        self.kernel = self.add_weight(
            shape=(features, 2 * self.units), initializer=self.kernel_initializer, name="kernel"
        )
        self.bias = self.add_weight(shape=(2 * self.units,), initializer=self.bias_initializer, name="bias")

    def call(self, inputs, states):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        gate, candidate = ops.split(ops.matmul(inputs, self.kernel) + self.bias, 2, axis=-1)
        z = ops.sigmoid(gate)
        h = (1.0 - z) * previous + z * candidate
        return h, [h]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
