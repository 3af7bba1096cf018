"""Small custom RNN cells and sequence layers for the tests: one cell registered for serialization, one not."""

import keras
from keras import ops


class _MinimalCell(keras.layers.Layer):
    """h_t = tanh(x_t W + h_{t-1} U): the smallest cell with the RNN cell protocol."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")

    def call(self, inputs, states):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        h = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(previous, self.recurrent_kernel))
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="bidirlib_tests")
class RegisteredCell(_MinimalCell):
    pass


class UnregisteredCell(_MinimalCell):
    """Not registered: Keras's own wrapper cannot clone an RNN built on it."""


class UnregisteredSequenceLayer(keras.layers.Layer):
    """A non-RNN sequence layer (running mean) with the RNN attributes, not registered, whose call has no
    `initial_state`, `mask` or `training` argument."""

    def __init__(self, units=2, go_backwards=False, return_sequences=False, return_state=False, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.go_backwards = go_backwards
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.input_spec = keras.InputSpec(min_ndim=3)

    def build(self, input_shape):
        self.dense = keras.layers.Dense(self.units, name="project")
        self.dense.build(input_shape)

    def call(self, sequences):
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
        steps = ops.arange(1, ops.shape(sequences)[1] + 1, dtype=sequences.dtype)[None, :, None]
        means = self.dense(ops.cumsum(sequences, axis=1) / steps)
        output = means if self.return_sequences else means[:, -1]
        return (output, means[:, -1]) if self.return_state else output

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            shape = tuple(input_shape[:-1]) + (self.units,)
        else:
            shape = (input_shape[0], self.units)
        return (shape, (input_shape[0], self.units)) if self.return_state else shape

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "go_backwards": self.go_backwards,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
        }


class RunningSum(keras.layers.Layer):
    """A cumulative sum with the RNN attributes and no `compute_output_shape`; subclasses break the criteria."""

    def __init__(self, go_backwards=False, return_sequences=False, return_state=False, **kwargs):
        super().__init__(**kwargs)
        self.go_backwards = go_backwards
        self.return_sequences = return_sequences
        self.return_state = return_state

    def call(self, sequences):
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
        y = ops.cumsum(sequences, axis=1)
        out = y if self.return_sequences else y[:, -1]
        return (out, y[:, -1]) if self.return_state else out

    def get_config(self):
        return {**super().get_config(), "go_backwards": self.go_backwards,
                "return_sequences": self.return_sequences, "return_state": self.return_state}
