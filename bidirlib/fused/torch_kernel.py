"""PyTorch's own bidirectional LSTM/GRU kernel, fed the Keras layers' weights.

`torch.lstm` and `torch.gru` are what `torch.nn.LSTM` and `torch.nn.GRU` run: their loop over time is C++,
not Python, and one call runs both directions. Keras orders the weights and gates differently; this module
maps them, per call, so the numbers are those of the two Keras layers.

A right-padded mask becomes sequence lengths: the batch is packed (`pack_padded_sequence`, as `nn.LSTM` takes
a `PackedSequence`), so each direction reads only its row's steps, the backward one from the row's last step,
and the outputs are unpacked back to `(batch, timesteps, ...)`. On a CPU this is one of bidirlib's fast paths
(`torch_lstm`, `torch_gru`); on a GPU, where Keras's fused kernel takes no mask, the same call is cuDNN's, and
bidirlib runs it for a masked call (`torch_cudnn_lstm`, `torch_cudnn_gru`).
"""

import numpy as np
from keras import ops

from bidirlib.fused import lengths, rules
from bidirlib.fused.registry import Kernel

#: This kernel's own gate in the rules.
TORCH_KERNEL = "torch_kernel"


def run_torch_kernel(kind, fc, bc, sequences, states, return_sequences, row_lengths=None):
    """Both directions through PyTorch's bidirectional kernel (`torch.lstm`/`torch.gru`, as `nn.LSTM` calls it).

    Args:
        kind: `"lstm"` or `"gru"`.
        fc, bc: the forward and backward cells (`keras.layers.LSTMCell` or `GRUCell`), built.
        sequences: a torch tensor `(batch, timesteps, features)` in the cells' compute dtype.
        states: `[forward_states, backward_states]`, each `[h, c]` (LSTM) or `[h]` (GRU).
        return_sequences: whether to return every step's output or only the last.
        row_lengths: optional NumPy integer array `(batch,)`: each row's number of steps, the rest padding.
            A row of length 0 is run over its first step (packing takes no empty row): `lengths.finish` then
            gives it the separate path's values.

    Returns:
        `(y_forward, y_backward, forward_states, backward_states)`, the backward output in input order; with
        `row_lengths`, zeros at the padded steps, and the last output and states after each row's own steps.
    """
    import torch

    dtype, device = sequences.dtype, sequences.device
    params = []
    for cell in (fc, bc):
        kernel = ops.convert_to_tensor(cell.kernel).to(dtype)
        recurrent = ops.convert_to_tensor(cell.recurrent_kernel).to(dtype)
        gates = kernel.shape[-1]
        input_bias = recurrent_bias = None
        if cell.use_bias:
            bias = ops.convert_to_tensor(cell.bias).to(dtype)
            input_bias, recurrent_bias = (bias[0], bias[1]) if bias.dim() == 2 else (bias, None)
        if input_bias is None:
            input_bias = torch.zeros(gates, dtype=dtype, device=device)
        if recurrent_bias is None:
            recurrent_bias = torch.zeros(gates, dtype=dtype, device=device)
        if kind == "gru":
            # Keras orders a GRU's gates (update, reset, candidate); PyTorch orders them (reset, update, candidate).
            kernel, recurrent, input_bias, recurrent_bias = (
                torch.cat([w.chunk(3, dim=-1)[i] for i in (1, 0, 2)], dim=-1)
                for w in (kernel, recurrent, input_bias, recurrent_bias)
            )
        params += [kernel.T, recurrent.T, input_bias, recurrent_bias]
    initial = [torch.stack([forward, backward]) for forward, backward in zip(*states)]  # each (2, batch, units)
    steps = sequences.shape[1]
    if row_lengths is not None and int(np.min(row_lengths)) < steps:
        outputs, final = _run_packed(kind, sequences, initial, params, row_lengths)
    else:
        outputs, final = _call(kind, sequences, initial, params)
    h_n = final[0]
    states_f, states_b = [s[0] for s in final], [s[1] for s in final]
    if not return_sequences:
        return h_n[0], h_n[1], states_f, states_b
    # (batch, time, 2 * units): forward half first; PyTorch returns the backward half in input order.
    units = fc.units
    return outputs[..., :units], outputs[..., units:], states_f, states_b


def _call(kind, inputs, initial, params, *batch_sizes):
    """`torch.lstm`/`torch.gru` over a padded batch (batch first), or over a packed one (`batch_sizes` given)."""
    import torch

    train = torch.is_grad_enabled()
    hidden = tuple(initial) if kind == "lstm" else initial[0]
    function = torch.lstm if kind == "lstm" else torch.gru
    if batch_sizes:
        # (data, batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidirectional)
        result = function(inputs, *batch_sizes, hidden, params, True, 1, 0.0, train, True)
    else:
        # (input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
        result = function(inputs, hidden, params, True, 1, 0.0, train, True, True)
    return result[0], list(result[1:])


def _run_packed(kind, sequences, initial, params, row_lengths):
    import torch
    from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

    # Packing sorts the rows by length; the states follow the same order there and back, as in `nn.LSTM`.
    steps_read = torch.as_tensor(np.maximum(row_lengths, 1), dtype=torch.int64)
    packed = pack_padded_sequence(sequences, steps_read, batch_first=True, enforce_sorted=False)
    order, back = packed.sorted_indices, packed.unsorted_indices
    initial = [state.index_select(1, order) for state in initial]
    data, final = _call(kind, packed.data, initial, params, packed.batch_sizes)
    outputs, _ = pad_packed_sequence(
        PackedSequence(data, packed.batch_sizes, order, back), batch_first=True, total_length=sequences.shape[1]
    )
    return outputs, [state.index_select(1, back) for state in final]


def run_plan(plan):
    """Run PyTorch's kernel over a call's plan (see `run_torch_kernel`); a mask is right-padded here (its rules)."""
    sequences, states = plan.kernel_inputs()
    fc, bc = plan.cells[0], plan.cells[-1]
    outputs = run_torch_kernel(
        plan.kind, fc, bc, sequences, states, plan.return_sequences, row_lengths=plan.mask_layout.lengths
    )
    if plan.mask is None:
        return outputs
    return lengths.finish(outputs, plan.mask, states, plan.return_sequences)


@rules.rule(TORCH_KERNEL)
def _torch_dtype(plan, title):
    dtype = str(plan.forward.cell.compute_dtype)
    if dtype not in ("float32", "float64"):
        return f"PyTorch's kernel is used for float32 and float64 only, not {dtype}"
    return None


_GATES = (
    rules.STANDARD_ACTIVATIONS,
    rules.GRU_RESETS_AFTER,
    rules.NOT_UNDER_TORCH_COMPILE,
    rules.KNOWN_MASK,
    rules.RIGHT_PADDED_MASK,
    TORCH_KERNEL,
)
_GPU_GATES = (rules.MASKED_ON_A_GPU, rules.CUDNN, rules.CUDNN_SETTINGS) + _GATES
KERNELS = tuple(
    Kernel(f"torch_{kind}", "PyTorch's kernel", "fast", (kind,), ("torch",), _GATES, run_plan) for kind in ("lstm", "gru")
) + tuple(
    Kernel(f"torch_cudnn_{kind}", "PyTorch's cuDNN kernel", "keras", (kind,), ("torch",), _GPU_GATES, run_plan)
    for kind in ("lstm", "gru")
)
