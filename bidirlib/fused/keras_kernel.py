"""Keras's own fused two-direction kernel (cuDNN, on a GPU), called as `keras.layers.Bidirectional` calls it."""

from bidirlib import keras_internals


class KernelUnavailable(Exception):
    """Keras's kernel cannot run this case here (no GPU, or a setting its backend does not support)."""


def run_keras_kernel(kind, forward_layer, backward_layer, sequences, states, return_sequences):
    """Both directions through Keras's fused kernel for `kind` ("lstm" or "gru").

    Args:
        kind: `"lstm"` or `"gru"`.
        forward_layer, backward_layer: the built `keras.layers.LSTM` (or `GRU`) pair.
        sequences: a tensor `(batch, timesteps, features)`.
        states: `[forward_states, backward_states]`.
        return_sequences: whether to return every step's output or only the last.

    Returns:
        `(y_forward, y_backward, forward_states, backward_states)`, the backward output in input order.

    Raises:
        KernelUnavailable: when the backend has no fused kernel for this case (on a CPU, always).
    """
    kernel = keras_internals.fused_bidirectional_kernel(kind)
    fc, bc = forward_layer.cell, backward_layer.cell
    extra = {} if kind == "lstm" else {"reset_after": fc.reset_after}
    try:
        forward_out, backward_out = kernel(
            sequences,
            *states[0],
            *states[1],
            mask=None,
            fwd_kernel=fc.kernel,
            fwd_recurrent_kernel=fc.recurrent_kernel,
            fwd_bias=fc.bias,
            bwd_kernel=bc.kernel,
            bwd_recurrent_kernel=bc.recurrent_kernel,
            bwd_bias=bc.bias,
            activation=fc.activation,
            recurrent_activation=fc.recurrent_activation,
            return_sequences=return_sequences,
            unroll=forward_layer.unroll,
            **extra,
        )
    except NotImplementedError as error:
        raise KernelUnavailable(
            f"the backend has no fused kernel for this case ({str(error) or 'no GPU'})"
        ) from None
    forward_last, forward_sequence, forward_states = forward_out
    backward_last, backward_sequence, backward_states = backward_out
    if return_sequences:
        # The fused kernels already return the backward sequence in forward time order.
        return forward_sequence, backward_sequence, forward_states, backward_states
    return forward_last, backward_last, forward_states, backward_states
