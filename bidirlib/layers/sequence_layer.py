"""A base for sequence layers that are not RNNs but can be wrapped by `Bidirectional`.

It gives a subclass the three attributes the API page asks for, with the RNN meaning:

- `go_backwards`: read the sequence from its last step; the returned sequence comes in reading order
  (last input step first), as `keras.layers.RNN` does, so `Bidirectional` flips it back;
- `return_sequences`: the whole sequence of outputs, or only the last one;
- `return_state`: also return the final state(s);

plus an `input_spec` of at least three axes, mask propagation and the config entries for all of them.
A subclass implements `_run(sequences, mask, initial_state, training)`, which reads `sequences` in order and
returns `(outputs, states)`.
"""

import keras
from keras import ops


class SequenceLayer(keras.layers.Layer):
    """Base class for sequence layers with `go_backwards`, `return_sequences` and `return_state`.

    Args:
        go_backwards: if True, read the input sequence from its end and return the outputs in that order.
        return_sequences: if True, return every step's output, else only the last.
        return_state: if True, also return the final state(s) after the output.
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`, ...).
    """

    def __init__(self, go_backwards=False, return_sequences=False, return_state=False, **kwargs):
        super().__init__(**kwargs)
        self.go_backwards = bool(go_backwards)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.stateful = False
        self.input_spec = keras.InputSpec(min_ndim=3)
        self.supports_masking = True

    # Subclasses define the width of one step's output and of each state.
    def _output_width(self):
        raise NotImplementedError

    def _state_widths(self):
        return [self._output_width()]

    def _run(self, sequences, mask, initial_state, training):
        raise NotImplementedError

    def call(self, sequences, initial_state=None, mask=None, training=None):
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
            mask = None if mask is None else ops.flip(mask, axis=1)
        outputs, states = self._run(sequences, mask, initial_state, training)
        output = outputs if self.return_sequences else _last_valid_step(outputs, mask)
        if self.return_state:
            return (output, *states)
        return output

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        width = self._output_width()
        output = (batch, steps, width) if self.return_sequences else (batch, width)
        if self.return_state:
            return (output, *[(batch, w) for w in self._state_widths()])
        return output

    def compute_mask(self, _, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self._state_widths())
        return output_mask

    def get_config(self):
        return {
            **super().get_config(),
            "go_backwards": self.go_backwards,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
        }


def _last_valid_step(outputs, mask):
    """The output at each row's last unmasked step (zeros for a fully masked row)."""
    if mask is None:
        return outputs[:, -1]
    mask = ops.cast(mask, "int32")
    steps = ops.shape(outputs)[1]
    # Index of the last True: position of the first True in the reversed mask, counted from the end.
    last = steps - 1 - ops.argmax(ops.flip(mask, axis=1), axis=1)
    picked = ops.take_along_axis(outputs, ops.reshape(last, (-1, 1, 1)), axis=1)[:, 0]
    any_valid = ops.cast(ops.max(mask, axis=1), outputs.dtype)[:, None]
    return picked * any_valid
