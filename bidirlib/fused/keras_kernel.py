"""Keras's own fused two-direction kernel (cuDNN, on a GPU), called as `keras.layers.Bidirectional` calls it."""

from keras import ops

from bidirlib import keras_internals
from bidirlib.fused import rules
from bidirlib.fused.registry import Kernel

#: This kernel's own gate in the rules.
KERAS_KERNEL = "keras_kernel"


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


def run_plan(plan):
    """Run Keras's fused kernel over a call's plan (see `run_keras_kernel`)."""
    sequences = ops.convert_to_tensor(plan.sequences)
    states = plan.kernel_states(sequences.dtype, cast=False)
    return run_keras_kernel(plan.kind, plan.forward, plan.backward, sequences, states, plan.return_sequences)


@rules.rule(KERAS_KERNEL)
def _keras_has_the_kernel(plan, title):
    if keras_internals.fused_bidirectional_kernel("lstm") is None:
        return "this Keras version has no fused bidirectional kernels"
    return None


@rules.rule(KERAS_KERNEL)
def _no_dropout(plan, title):
    # Keras's wrapper tries its fused kernel only without any dropout.
    if any(c.dropout or c.recurrent_dropout for c in plan.cells):
        return "dropout is set"
    return None


_GATES = (rules.NO_MASK, rules.CUDNN_SETTINGS, rules.GRU_RESETS_AFTER, KERAS_KERNEL)
KERNELS = tuple(
    Kernel(f"fused_{kind}", "Keras's fused kernel", "keras", (kind,), (), _GATES, run_plan) for kind in ("lstm", "gru")
)
