"""`ParallelMinGRU`: the minimal GRU computed over all steps at once with a parallel scan."""

import keras
from keras import ops

from bidirlib import errors

from bidirlib.layers.sequence_layer import SequenceLayer


def _shift_in(x, shift, fill):
    """`x` moved `shift` steps later along the time axis, the first `shift` steps filled with `fill`."""
    head = ops.full_like(x[:, :shift], fill)
    return ops.concatenate([head, x[:, :-shift]], axis=1)


def prefix_affine_scan(a, b):
    """For the maps h -> a_t * h + b_t, return (A_t, B_t) with h_t = A_t * h_0 + B_t, over axis 1.

    With a static number of steps T this is a parallel (Hillis-Steele) scan: ceil(log2 T) rounds, each
    composing every step with the one `shift` steps before it, on whole tensors. With an unknown T it falls
    back to a step-by-step `keras.ops.scan`, which gives the same numbers more slowly.

    Example:

    >>> import keras
    >>> from bidirlib.layers import prefix_affine_scan
    >>> a = keras.ops.full((1, 3, 1), 0.5)  # h_t = a_t * h_{t-1} + b_t = h_{t-1} / 2 + 1
    >>> b = keras.ops.ones((1, 3, 1))
    >>> big_a, big_b = (keras.ops.convert_to_numpy(v).ravel().tolist() for v in prefix_affine_scan(a, b))
    >>> big_a, big_b
    ([0.5, 0.25, 0.125], [1.0, 1.5, 1.75])
    """
    steps = a.shape[1]
    if steps is None:
        return _sequential_affine_scan(a, b)
    shift = 1
    while shift < steps:
        # Compose the map ending `shift` steps earlier (identity before the start) with the current one.
        b = a * _shift_in(b, shift, 0.0) + b
        a = a * _shift_in(a, shift, 1.0)
        shift *= 2
    return a, b


def _sequential_affine_scan(a, b):
    def step(carry, ab):
        big_a, big_b = carry
        a_t, b_t = ab
        carry = (a_t * big_a, a_t * big_b + b_t)
        return carry, carry

    time_major = (ops.moveaxis(a, 1, 0), ops.moveaxis(b, 1, 0))
    start = (ops.ones_like(a[:, 0]), ops.zeros_like(b[:, 0]))
    _, (big_a, big_b) = ops.scan(step, start, time_major)
    return ops.moveaxis(big_a, 0, 1), ops.moveaxis(big_b, 0, 1)


@keras.saving.register_keras_serializable(package="bidirlib")
class ParallelMinGRU(SequenceLayer):
    """A minimal GRU layer whose recurrence runs as a parallel scan rather than a step-by-step loop.

    Each step is the affine map `h_t = a_t * h_{t-1} + b_t` with `a_t = 1 - z_t` and `b_t = z_t * c_t`, where
    `z_t = sigmoid(x_t W_z + b_z)` and `c_t = x_t W_h + b_h` read the input only (Feng et al., 2024, "Were RNNs
    All We Needed?"). Affine maps compose associatively, so a parallel prefix scan computes every `h_t` in
    about log2(T) rounds of whole-sequence tensor operations instead of T dependent steps. The numbers are those
    of `keras.layers.RNN(MinGRUCell(units))` with the same weights.

    Masked steps keep the previous state (`a = 1`, `b = 0`), as an RNN skips them.

    Args:
        units: size of the state and of the output.
        go_backwards: read the sequence from its end (outputs come in reading order, as for `keras.layers.RNN`).
        return_sequences: return every step's output, or only the last.
        return_state: also return the final state.
        kernel_initializer: initializer for the input weights. Defaults to `"glorot_uniform"`.
        bias_initializer: initializer for the biases. Defaults to `"zeros"`.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        sequences: a tensor `(batch, timesteps, features)`.
        initial_state: optional list with one tensor `(batch, units)`.
        mask: optional boolean tensor `(batch, timesteps)`.

    Returns:
        `(batch, timesteps, units)` or `(batch, units)`; with `return_state`, the final state follows.

    Example:

    >>> import numpy as np
    >>> from bidirlib import Bidirectional
    >>> from bidirlib.layers import ParallelMinGRU
    >>> layer = Bidirectional(ParallelMinGRU(8, return_sequences=True), merge_mode="sum")
    >>> tuple(layer(np.zeros((2, 100, 3), "float32")).shape)
    (2, 100, 8)
    """

    def __init__(
        self,
        units,
        go_backwards=False,
        return_sequences=False,
        return_state=False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(go_backwards, return_sequences, return_state, **kwargs)
        errors.require_positive_integer("units", units)
        self.units = units
        self.output_size = units
        self.state_size = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, sequences_shape, initial_state_shape=None):
        features = sequences_shape[-1]
        self.kernel = self.add_weight(
            shape=(features, 2 * self.units), initializer=self.kernel_initializer, name="kernel"
        )
        self.bias = self.add_weight(shape=(2 * self.units,), initializer=self.bias_initializer, name="bias")

    def read_sequence(self, sequences, mask=None, initial_state=None, training=None):
        gate, candidate = ops.split(ops.matmul(sequences, self.kernel) + self.bias, 2, axis=-1)
        z = ops.sigmoid(gate)
        a, b = 1.0 - z, z * candidate
        if mask is not None:
            keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
            a = ops.where(keep, a, ops.ones_like(a))
            b = ops.where(keep, b, ops.zeros_like(b))
        a_prefix, b_prefix = prefix_affine_scan(a, b)
        h = b_prefix
        if initial_state is not None:
            h0 = initial_state[0] if isinstance(initial_state, (list, tuple)) else initial_state
            h = h + a_prefix * ops.expand_dims(ops.cast(h0, h.dtype), 1)
        final_state = h[:, -1]  # the scan carries the state through masked steps
        if mask is not None:
            # As keras.layers.RNN: a masked step repeats the previous *output*, which is zero before the first
            # step read (even when the initial state is not).
            started = ops.expand_dims(ops.cumsum(ops.cast(mask, "int32"), axis=1) > 0, -1)
            h = ops.where(started, h, ops.zeros_like(h))
        return h, [final_state]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
