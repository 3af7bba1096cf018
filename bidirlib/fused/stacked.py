"""Both directions of a bidirectional LSTM or GRU in one recurrent loop, their weights stacked on a direction axis.

Run as two layers, a bidirectional LSTM pays for a recurrent loop twice. Here the forward and the backward
cell's weights are stacked along a leading *direction* axis of size 2; one matrix product projects the inputs
of both directions, the backward half is reversed in time, and ONE loop carries a state of shape
`(2, batch, units)`: each step does one batched matrix product and one set of gate operations for both
directions. The numbers are those of the two separate layers, to rounding.

This halves the number of operations per step, not the arithmetic. It pays where each operation has a fixed
cost that dwarfs its arithmetic, as in PyTorch's eager mode, where every operation (and its gradient) goes
through Python; its rules below say where the "auto" setting runs it.

It takes any mask, as Keras's own loop does: the mask rides along with the inputs (the backward half's reversed
like its inputs) and, at a masked step, each direction keeps its states. That costs one select per state and
step whatever the mask holds, so a mask with holes or leading padding runs here too.
"""

from keras import ops

from bidirlib.fused import lengths, rules
from bidirlib.fused.registry import Kernel
from bidirlib.keras_internals import recurrent_loop

#: This kernel's own gate in the rules.
STACKED = "stacked"


def stacked_loop(
    kind, forward_cell, backward_cell, sequences, states, return_sequences=True, unroll=False, mask=None
):
    """Run a forward and a backward `LSTMCell` (or `GRUCell`) over `sequences` in one loop.

    Args:
        kind: `"lstm"` or `"gru"`.
        forward_cell: the built forward `keras.layers.LSTMCell` or `keras.layers.GRUCell`.
        backward_cell: a built cell of the same type, units, activations, `use_bias` (and `reset_after`).
        sequences: a tensor of shape `(batch, timesteps, features)` in the cells' compute dtype.
        states: `[forward_states, backward_states]`, each a list of `(batch, units)` tensors (`[h, c]` for an
            LSTM, `[h]` for a GRU).
        return_sequences: whether to return the outputs at every step or only the last one.
        unroll: whether to unroll the loop (it needs a known number of steps).
        mask: optional `(batch, timesteps)` booleans, True at the steps to read. At a masked step a direction
            keeps its states, and its output is zero (`return_sequences`); see `bidirlib.fused.lengths.finish`.

    Returns:
        `(y_forward, y_backward, forward_states, backward_states)`. With `return_sequences` the outputs are
        `(batch, timesteps, units)` and the backward one is in the input's time order (its step t holds the
        backward state after reading x[T-1], ..., x[t]); without it, `(batch, units)`: each direction's last
        output.

    Example:

    >>> import numpy as np, keras
    >>> from bidirlib.fused import stacked_loop
    >>> forward = keras.layers.LSTM(3, return_sequences=True)
    >>> backward = keras.layers.LSTM(3, return_sequences=True, go_backwards=True)
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    >>> y_forward = keras.ops.convert_to_numpy(forward(x))
    >>> y_backward = np.flip(keras.ops.convert_to_numpy(backward(x)), axis=1)  # back in input order
    >>> zeros = [np.zeros((2, 3), "float32")] * 2
    >>> y_f, y_b, _, _ = stacked_loop("lstm", forward.cell, backward.cell, x, [zeros, zeros])
    >>> y_f, y_b = keras.ops.convert_to_numpy(y_f), keras.ops.convert_to_numpy(y_b)
    >>> bool(np.allclose(y_f, y_forward, atol=1e-5) and np.allclose(y_b, y_backward, atol=1e-5))
    True
    """
    dtype = sequences.dtype
    kernel, recurrent, input_bias, recurrent_bias = _stacked_weights(forward_cell, backward_cell, dtype)
    # The backward direction reads the sequence reversed: reverse the inputs (features wide, cheaper than
    # the projections, 4 or 3 units wide), then ONE batched matrix product projects both directions, straight
    # into the (2, time, batch, gates) layout the loop reads.
    time_major = ops.transpose(sequences, (1, 0, 2))
    steps, batch, features = ops.shape(time_major)
    both = ops.stack([time_major, ops.flip(time_major, axis=0)])  # (2, time, batch, features)
    inputs = ops.matmul(ops.reshape(both, (2, -1, features)), kernel)  # (2, time * batch, gates)
    if input_bias is not None:
        inputs = inputs + ops.expand_dims(input_bias, 1)
    inputs = ops.reshape(inputs, (2, steps, batch, kernel.shape[-1]))
    if mask is not None:
        # The mask as one more input channel, each half in the order its direction reads.
        time_mask = ops.cast(ops.transpose(ops.convert_to_tensor(mask), (1, 0)), dtype)  # (time, batch)
        both_masks = ops.expand_dims(ops.stack([time_mask, ops.flip(time_mask, axis=0)]), -1)
        inputs = ops.concatenate([inputs, both_masks], axis=-1)
    initial = [ops.stack([f, b]) for f, b in zip(*states)]  # each (2, batch, units)
    if recurrent_bias is not None:
        recurrent_bias = ops.expand_dims(recurrent_bias, 1)  # (2, 1, gates)

    cell = forward_cell
    if kind == "lstm":
        step = lstm_step(recurrent, cell.activation, cell.recurrent_activation)
    else:
        step = gru_step(recurrent, recurrent_bias, cell.activation, cell.recurrent_activation, cell.reset_after)
    if mask is not None:
        step = masked(step)
    last, outputs, final = recurrent_loop(step, inputs, initial, unroll=unroll, return_all_outputs=return_sequences)
    states_f = [s[0] for s in final]
    states_b = [s[1] for s in final]
    if return_sequences:
        # (2, time, batch, units) -> per direction (batch, time, units), the backward one back in input order.
        y_f = ops.transpose(outputs[0], (1, 0, 2))
        y_b = ops.flip(ops.transpose(outputs[1], (1, 0, 2)), axis=1)
    else:
        y_f, y_b = last[0], last[1]
    if mask is not None:
        return lengths.finish((y_f, y_b, states_f, states_b), mask, states, return_sequences)
    return y_f, y_b, states_f, states_b


def masked(step):
    """`step` over inputs whose last channel is the mask: at a masked step the states stay as they were.

    The output is the first state, `h`, as kept: Keras's loop without zero outputs gives that output.
    """

    def masked_step(projected_t, states):
        keep = projected_t[..., -1:] > 0.5  # (2, batch, 1)
        _, new_states = step(projected_t[..., :-1], states)
        states = [ops.where(keep, new, old) for new, old in zip(new_states, states)]
        return states[0], states

    return masked_step


def _stacked_weights(fc, bc, dtype):
    """Kernels stacked on a leading direction axis: input (2, features, gates), recurrent (2, units, gates)."""
    kernel = ops.stack([ops.cast(fc.kernel, dtype), ops.cast(bc.kernel, dtype)])
    recurrent = ops.stack([ops.cast(fc.recurrent_kernel, dtype), ops.cast(bc.recurrent_kernel, dtype)])
    input_bias = recurrent_bias = None
    if fc.use_bias:
        fb, bb = ops.cast(fc.bias, dtype), ops.cast(bc.bias, dtype)
        if len(fb.shape) == 2:  # GRU with reset_after: row 0 for the inputs, row 1 for the recurrent part
            input_bias = ops.stack([fb[0], bb[0]])
            recurrent_bias = ops.stack([fb[1], bb[1]])
        else:
            input_bias = ops.stack([fb, bb])
    return kernel, recurrent, input_bias, recurrent_bias


def lstm_step(recurrent, activation, recurrent_activation):
    """One LSTM step for both directions, the gates in Keras's order (input, forget, cell, output).

    Python's operators and slices act on the backend's tensors directly: on an eager backend each step costs a
    few operations, not a few `keras.ops` dispatches.
    """
    units = recurrent.shape[1]

    def step(projected_t, states):
        h, c = states[0], states[1]
        z = projected_t + h @ recurrent  # (2, batch, 4*units): both directions in one batched product
        i = recurrent_activation(z[..., :units])
        f = recurrent_activation(z[..., units : 2 * units])
        c = f * c + i * activation(z[..., 2 * units : 3 * units])
        h = recurrent_activation(z[..., 3 * units :]) * activation(c)
        return h, [h, c]

    return step


def gru_step(recurrent, recurrent_bias, activation, recurrent_activation, reset_after):
    """One GRU step for both directions, the gates in Keras's order (update, reset, candidate)."""
    units = recurrent.shape[1]

    def step(projected_t, states):
        h = states[0]
        if reset_after:
            inner = h @ recurrent
            if recurrent_bias is not None:
                inner = inner + recurrent_bias
        else:
            inner = h @ recurrent[..., : 2 * units]
        z = recurrent_activation(projected_t[..., :units] + inner[..., :units])
        r = recurrent_activation(projected_t[..., units : 2 * units] + inner[..., units : 2 * units])
        if reset_after:
            r_h = r * inner[..., 2 * units :]
        else:
            r_h = (r * h) @ recurrent[..., 2 * units :]
        h = z * h + (1 - z) * activation(projected_t[..., 2 * units :] + r_h)
        return h, [h]

    return step


def run_plan(plan):
    """Run the stacked loop over a call's plan (see `stacked_loop`)."""
    sequences, states = plan.kernel_inputs()
    cells = plan.cells
    return stacked_loop(
        plan.kind,
        cells[0],
        cells[-1],
        sequences,
        states,
        plan.return_sequences,
        unroll=plan.forward.unroll,
        mask=plan.mask,
    )


@rules.rule(STACKED)
def _stacked_pays(plan, title):
    # The stacked loop halves the operations per step; that pays in PyTorch's eager mode while gradients are
    # recorded, and nowhere else it was measured.
    import torch

    if not torch.is_grad_enabled():
        return "on PyTorch without gradients, the stacked loop measured no faster than two loops at larger sizes"
    return None


KERNELS = tuple(
    Kernel(
        f"stacked_{kind}",
        "the stacked loop",
        "fast",
        (kind,),
        ("torch",),
        (rules.NOT_UNDER_TORCH_COMPILE, STACKED),
        run_plan,
        forced_by="stacked",
    )
    for kind in ("lstm", "gru")
)
