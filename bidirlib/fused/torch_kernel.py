"""PyTorch's own bidirectional LSTM/GRU kernel, fed the Keras layers' weights.

`torch.lstm` and `torch.gru` are what `torch.nn.LSTM` and `torch.nn.GRU` run: their loop over time is C++,
not Python, and one call runs both directions. Keras orders the weights and gates differently; this module
maps them, per call, so the numbers are those of the two Keras layers.
"""

from keras import ops

from bidirlib.fused import rules
from bidirlib.fused.registry import Kernel

#: This kernel's own gate in the rules.
TORCH_KERNEL = "torch_kernel"


def run_torch_kernel(kind, fc, bc, sequences, states, return_sequences):
    """Both directions through PyTorch's bidirectional kernel (`torch.lstm`/`torch.gru`, as `nn.LSTM` calls it).

    Args:
        kind: `"lstm"` or `"gru"`.
        fc, bc: the forward and backward cells (`keras.layers.LSTMCell` or `GRUCell`), built.
        sequences: a torch tensor `(batch, timesteps, features)` in the cells' compute dtype.
        states: `[forward_states, backward_states]`, each `[h, c]` (LSTM) or `[h]` (GRU).
        return_sequences: whether to return every step's output or only the last.

    Returns:
        `(y_forward, y_backward, forward_states, backward_states)`, the backward output in input order.
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
    h0 = torch.stack([states[0][0], states[1][0]])
    train = torch.is_grad_enabled()
    if kind == "lstm":
        c0 = torch.stack([states[0][1], states[1][1]])
        # (input, (h0, c0), params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
        outputs, h_n, c_n = torch.lstm(sequences, (h0, c0), params, True, 1, 0.0, train, True, True)
        states_f, states_b = [h_n[0], c_n[0]], [h_n[1], c_n[1]]
    else:
        outputs, h_n = torch.gru(sequences, h0, params, True, 1, 0.0, train, True, True)
        states_f, states_b = [h_n[0]], [h_n[1]]
    if not return_sequences:
        return h_n[0], h_n[1], states_f, states_b
    # (batch, time, 2 * units): forward half first; PyTorch returns the backward half in input order.
    units = fc.units
    return outputs[..., :units], outputs[..., units:], states_f, states_b


def run_plan(plan):
    """Run PyTorch's kernel over a call's plan (see `run_torch_kernel`)."""
    sequences, states = plan.kernel_inputs()
    return run_torch_kernel(plan.kind, plan.cells[0], plan.cells[-1], sequences, states, plan.return_sequences)


@rules.rule(TORCH_KERNEL)
def _torch_dtype(plan, title):
    dtype = str(plan.forward.cell.compute_dtype)
    if dtype not in ("float32", "float64"):
        return f"PyTorch's kernel is used for float32 and float64 only, not {dtype}"
    return None


_GATES = (rules.STANDARD_ACTIVATIONS, rules.GRU_RESETS_AFTER, rules.NOT_UNDER_TORCH_COMPILE, TORCH_KERNEL)
KERNELS = tuple(
    Kernel(f"torch_{kind}", "PyTorch's kernel", "fast", (kind,), ("torch",), _GATES, run_plan) for kind in ("lstm", "gru")
)
