"""JAX's cuDNN LSTM with sequence lengths, for a masked call on a GPU (where Keras's fused kernel takes no mask).

Keras's JAX backend runs a bidirectional LSTM through `jax.experimental.rnn.lstm` (cuDNN) only without a mask
(keras-team/keras#22399 reads a right-padded mask as lengths in the one-direction layer). Here a right-padded
mask becomes `seq_lengths`: cuDNN reads each row's own steps, the backward direction from the row's last one.
The weights are laid out as Keras lays them out for the same call.

A mask's values are known in eager mode only; under `jax.jit` they are not, and the choice is made inside the
compiled function: a right-padded mask runs cuDNN, any other the stacked loop (`bidirlib.fused.stacked`), with
the same numbers. Only a GPU runs this kernel (its rules say so elsewhere).
"""

from keras import ops

from bidirlib.fused import lengths, rules, stacked
from bidirlib.fused.registry import Kernel

#: This kernel's own gate in the rules.
JAX_CUDNN = "jax_cudnn"


def run_cudnn_lstm(fc, bc, sequences, states, row_lengths, lstm=None):
    """Both directions of an LSTM through `jax.experimental.rnn.lstm` over rows of the given lengths.

    Args:
        fc, bc: the built forward and backward `keras.layers.LSTMCell` (with biases).
        sequences: `(batch, timesteps, features)`, float32.
        states: `[[h, c] forward, [h, c] backward]`.
        row_lengths: `(batch,)` integers, each row's steps (a row of 0 is read over 1: see `lengths.finish`).
        lstm: the function to call in place of `jax.experimental.rnn.lstm` (a test passes its CPU reference).

    Returns:
        `(y_forward, y_backward, forward_states, backward_states)`: the outputs `(batch, timesteps, units)`
        in input order, zeros at padded steps.
    """
    import jax.numpy as jnp

    if lstm is None:
        from jax.experimental.rnn import lstm

    units = fc.units

    def matrices(cell):
        kernel, recurrent = ops.convert_to_tensor(cell.kernel), ops.convert_to_tensor(cell.recurrent_kernel)
        return [jnp.ravel(jnp.transpose(kernel)), jnp.ravel(jnp.transpose(recurrent))]

    def biases(cell):
        # Keras has one bias; cuDNN adds an input and a recurrent one.
        bias = ops.convert_to_tensor(cell.bias)
        return [jnp.ravel(bias), jnp.zeros_like(jnp.ravel(bias))]

    # cuDNN's flat layout (jax.experimental.rnn): every matrix of both directions first, then every bias.
    weights = jnp.concatenate(matrices(fc) + matrices(bc) + biases(fc) + biases(bc)).astype(sequences.dtype)
    h0 = jnp.stack([states[0][0], states[1][0]])
    c0 = jnp.stack([states[0][1], states[1][1]])
    seq_lengths = jnp.maximum(jnp.asarray(row_lengths, jnp.int32), 1)
    y, h_n, c_n = lstm(
        sequences,
        h0,
        c0,
        weights,
        seq_lengths,
        input_size=sequences.shape[-1],
        hidden_size=units,
        num_layers=1,
        dropout=0.0,
        bidirectional=True,
    )
    return y[..., :units], y[..., units:], [h_n[0], c_n[0]], [h_n[1], c_n[1]]


def run_plan(plan, lstm=None):
    """Run a masked call's plan: cuDNN over the mask's lengths, or, under `jax.jit`, whichever of cuDNN and the
    stacked loop the mask's values ask for."""
    import jax
    import jax.numpy as jnp

    sequences, states = plan.kernel_inputs()
    fc, bc = plan.cells[0], plan.cells[-1]
    layout = plan.mask_layout
    if layout.kind == lengths.RIGHT_PADDED:
        outputs = run_cudnn_lstm(fc, bc, sequences, states, layout.lengths, lstm)
        return lengths.finish(outputs, plan.mask, states, plan.return_sequences)

    # Traced: the lengths, and whether the mask is right-padded, are computed in the compiled function.
    mask = jnp.asarray(ops.convert_to_tensor(plan.mask)).astype(bool)
    row_lengths = jnp.sum(mask, axis=1)
    right_padded = jnp.all(mask == (jnp.arange(mask.shape[1])[None, :] < row_lengths[:, None]))

    def by_lengths(_):
        outputs = run_cudnn_lstm(fc, bc, sequences, states, row_lengths, lstm)
        return lengths.finish(outputs, mask, states, plan.return_sequences)

    def by_the_stacked_loop(_):
        return stacked.stacked_loop("lstm", fc, bc, sequences, states, plan.return_sequences, mask=mask)

    return jax.lax.cond(right_padded, by_lengths, by_the_stacked_loop, None)


@rules.rule(JAX_CUDNN)
def _float32(plan, title):
    dtype = str(plan.forward.cell.compute_dtype)
    return None if dtype == "float32" else f"{title} is used for float32 only, not {dtype}"


def has_cudnn_rnn():
    """Whether this JAX has `jax.experimental.rnn` (cuDNN's RNN)."""
    try:
        from jax.experimental import rnn  # noqa: F401
    except ImportError:
        return False
    return True


@rules.rule(JAX_CUDNN)
def _jax_has_it(plan, title):
    return None if has_cudnn_rnn() else "this JAX has no jax.experimental.rnn"


_GATES = (
    rules.MASKED_ON_A_GPU,
    rules.CUDNN,
    rules.CUDNN_SETTINGS,
    rules.STANDARD_ACTIVATIONS,
    rules.RIGHT_PADDED_MASK,
    JAX_CUDNN,
)
KERNELS = (Kernel("jax_cudnn_lstm", "JAX's cuDNN LSTM", "keras", ("lstm",), ("jax",), _GATES, run_plan),)
