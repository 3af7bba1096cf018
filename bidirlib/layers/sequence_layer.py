"""A base for sequence layers that are not RNNs but can be wrapped by `Bidirectional`.

It gives a subclass the three attributes the API page asks for, with the RNN meaning:

- `go_backwards`: read the sequence from its last step; the returned sequence comes in reading order
  (last input step first), as `keras.layers.RNN` does, so `Bidirectional` flips it back;
- `return_sequences`: the whole sequence of outputs, or only the last one;
- `return_state`: also return the final state(s);

plus an `input_spec` of at least three axes, mask propagation and the config entries for all of them.

A subclass provides two things, both public:

- `read_sequence(sequences, mask, initial_state, training)`: read `sequences` in the order given and return
  `(outputs, states)`, outputs for every step; the base class reverses the input for `go_backwards` and picks
  the last step for `return_sequences=False`;
- `output_size` (and `state_size` when its states are not one vector of the output's width), as on a Keras RNN
  cell.

It may narrow `call_arguments`, the call arguments it takes: `Bidirectional` passes a sub-layer only those, and
`call` refuses an `initial_state` the layer does not take. Subclasses do not restate `call`.
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

    Example: a running mean over the steps read so far, projected to `units`, wrapped both ways.

    >>> import numpy as np, keras
    >>> from bidirlib import Bidirectional
    >>> from bidirlib.layers import SequenceLayer
    >>> class RunningMean(SequenceLayer):
    ...     call_arguments = ("mask", "training")  # it takes no initial_state
    ...     def __init__(self, units, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.units = units
    ...         self.output_size = units
    ...         self.project = keras.layers.Dense(units)
    ...     def build(self, sequences_shape):
    ...         self.project.build(sequences_shape)
    ...     def read_sequence(self, sequences, mask=None, initial_state=None, training=None):
    ...         steps = keras.ops.arange(1, sequences.shape[1] + 1, dtype=sequences.dtype)[None, :, None]
    ...         means = self.project(keras.ops.cumsum(sequences, axis=1) / steps)
    ...         return means, [means[:, -1]]
    ...     def get_config(self):
    ...         return {**super().get_config(), "units": self.units}
    >>> layer = Bidirectional(RunningMean(4, return_sequences=True))
    >>> tuple(layer(np.ones((2, 6, 3), "float32")).shape)
    (2, 6, 8)
    """

    #: The call arguments this layer takes. `Bidirectional` passes a sub-layer only these; narrow it in a
    #: subclass that has no use for one (a convolution takes no `initial_state`).
    call_arguments = ("initial_state", "mask", "training")

    def __init__(self, go_backwards=False, return_sequences=False, return_state=False, **kwargs):
        super().__init__(**kwargs)
        self.go_backwards = bool(go_backwards)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.stateful = False
        self.input_spec = keras.InputSpec(min_ndim=3)
        self.supports_masking = True

    #: The width of one step's output; a subclass sets it (as a Keras RNN cell does).
    output_size = None

    @property
    def state_size(self):
        """Each state's width; by default one state as wide as the output. A subclass may set it."""
        return getattr(self, "_state_size", None) or self.output_size

    @state_size.setter
    def state_size(self, value):
        self._state_size = value

    def read_sequence(self, sequences, mask=None, initial_state=None, training=None):
        """Read `sequences` `(batch, timesteps, features)` in the order given; return `(outputs, states)`.

        `outputs` holds every step's output, `(batch, timesteps, output_size)`; `states` is a list of the final
        states. A masked step must not change the state. Subclasses implement this.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement read_sequence().")

    def call(self, sequences, initial_state=None, mask=None, training=None):
        if initial_state is not None and "initial_state" not in self.call_arguments:
            raise ValueError(
                f"{self.name} ({type(self).__name__}) takes no `initial_state` (its call_arguments are "
                f"{self.call_arguments}). Received: initial_state={initial_state!r}."
            )
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
            mask = None if mask is None else ops.flip(mask, axis=1)
        outputs, states = self.read_sequence(sequences, mask=mask, initial_state=initial_state, training=training)
        output = outputs if self.return_sequences else _last_valid_step(outputs, mask)
        if self.return_state:
            return (output, *states)
        return output

    def _state_widths(self):
        size = self.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        width = self.output_size
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
