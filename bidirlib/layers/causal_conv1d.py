"""`CausalConv1D`: a 1-D convolution that only looks back (or, with `go_backwards`, only ahead)."""

import keras
from keras import ops

from bidirlib import errors

from bidirlib.layers.sequence_layer import SequenceLayer


@keras.saving.register_keras_serializable(package="bidirlib")
class CausalConv1D(SequenceLayer):
    """A causal 1-D convolution with the RNN attributes, so `Bidirectional` can run it both ways.

    Step t's output reads input steps t - (kernel_size - 1) * dilation_rate .. t only. With `go_backwards=True`
    the layer reads the sequence from its end, so step t then sees t and the steps after it; as for an RNN the
    outputs come back in reading order and `Bidirectional` flips them into place. A convolution has no
    recurrent state: its "state" (with `return_state=True`) is the output at the last step read, and it takes
    no `initial_state`. Masked steps are read as zeros.

    Args:
        filters: number of output channels.
        kernel_size: how many steps each output reads.
        dilation_rate: spacing between the steps read. Defaults to 1.
        activation: activation of the outputs. Defaults to `"tanh"`.
        go_backwards, return_sequences, return_state: as for `keras.layers.RNN`.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        sequences: a tensor `(batch, timesteps, features)`.
        mask: optional boolean tensor `(batch, timesteps)`.

    Returns:
        `(batch, timesteps, filters)` or `(batch, filters)`; with `return_state`, the last output follows.

    Example:

    >>> import numpy as np
    >>> from bidirlib import Bidirectional
    >>> from bidirlib.layers import CausalConv1D
    >>> layer = Bidirectional(CausalConv1D(4, kernel_size=3, return_sequences=True))
    >>> tuple(layer(np.zeros((2, 10, 3), "float32")).shape)
    (2, 10, 8)
    """

    #: A convolution has no recurrent state to start from.
    call_arguments = ("mask", "training")

    def __init__(
        self,
        filters,
        kernel_size,
        dilation_rate=1,
        activation="tanh",
        go_backwards=False,
        return_sequences=False,
        return_state=False,
        **kwargs,
    ):
        super().__init__(go_backwards, return_sequences, return_state, **kwargs)
        for name, value in (("filters", filters), ("kernel_size", kernel_size), ("dilation_rate", dilation_rate)):
            errors.require_positive_integer(name, value)
        self.filters = filters
        self.output_size = filters
        self.kernel_size = kernel_size
        self.dilation_rate = dilation_rate
        self.activation = keras.activations.get(activation)
        self.conv = keras.layers.Conv1D(
            filters, kernel_size, dilation_rate=dilation_rate, padding="causal", activation=activation, name="conv"
        )

    def build(self, sequences_shape):
        self.conv.build(sequences_shape)

    def read_sequence(self, sequences, mask=None, initial_state=None, training=None):
        if mask is not None:
            sequences = sequences * ops.expand_dims(ops.cast(mask, sequences.dtype), -1)
        outputs = self.conv(sequences)
        last = outputs[:, -1]
        return outputs, [last]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dilation_rate": self.dilation_rate,
            "activation": keras.activations.serialize(self.activation),
        }
