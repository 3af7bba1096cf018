"""The CPU fast path of a bidirectional LSTM or GRU: which kernel runs both directions, and why.

`bidirlib.Bidirectional` runs a plain `LSTM` or `GRU` pair (same units and activations, no mask, not
stateful) on a *fused path* when it can: first Keras's own fused kernel (cuDNN, on a GPU), exactly where
`keras.layers.Bidirectional` tries it; on a CPU, where Keras has none, the one this module picks for the
backend. Each choice was measured (`bench/bench_bidirectional.py`) against the two separate layers, and kept
only where it was faster:

- PyTorch: PyTorch's own bidirectional LSTM/GRU kernel (`torch.lstm`/`torch.gru`, what `nn.LSTM` runs),
  whose loop over time is C++ instead of Python, for the standard cells (`tanh`/`sigmoid`, a GRU with
  `reset_after=True`); for other cells, while gradients are recorded, the stacked loop of
  `bidirlib.stacked`, which halves the operations (and the gradient bookkeeping) per step.
- TensorFlow: for a small LSTM with the standard activations (see `BLOCK_LSTM_MAX_WEIGHTS` and
  `BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS`), TensorFlow's own sequence kernel `BlockLSTM` (the kernel behind
  TF1's `LSTMBlockFusedCell`), once per direction: each runs its whole loop in C++, without a graph
  operation per step, and TensorFlow runs the two at the same time, on two cores when it has them. For
  larger LSTMs, where the arithmetic and not the per-operation cost dominates, the two separate layers
  measured faster. Its newer twin `BlockLSTMV2` (Keras's gate order) is not used: its gradient is wrong in
  TensorFlow 2.21. For a GRU there is no such kernel; the two separate layers, which TensorFlow also runs
  at the same time, measured faster than one stacked loop.
- JAX: the two separate layers. XLA compiles each loop into tight code whose time is arithmetic, so a stacked
  loop, which does the same arithmetic, measured no faster (within a few percent for a GRU, up to 2.5 times
  slower for an LSTM).

Every fast path computes the same numbers as the two layers (to rounding, well within 1e-5). Switch it off
with `layer.allow_fused = False`, or everywhere with the environment variable `BIDIRLIB_FAST_PATH=off`;
`BIDIRLIB_FAST_PATH=stacked` runs the stacked loop on every backend (to test it or compare it). After a call,
`layer.last_call_path` names the path that ran.
"""

import os

import keras
from keras import ops

from bidirlib.stacked import stacked_loop

#: The environment variable that picks the fast path, one of "auto" (the default), "stacked" or "off".
MODE_VARIABLE = "BIDIRLIB_FAST_PATH"
MODES = ("auto", "stacked", "off")
#: On TensorFlow, BlockLSTM is picked only for a small LSTM, whose weight matrix `(features + units) x 4 units`
#: holds at most this many numbers (its training step lost at every size with 81,920 or more)...
BLOCK_LSTM_MAX_WEIGHTS = 2**16
#: ...and at most this many multiply-adds per step and direction (batch x weights). In a sweep of batch 8-256,
#: units 32-128 and features 32-128 (`bench/sweep_block_lstm.py`), these two limits kept BlockLSTM out of
#: every case where its training step was slower than the two layers', and left it out of one where it
#: was faster.
BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS = 2**20


def fast_path_mode():
    """The mode set by `BIDIRLIB_FAST_PATH`: `"auto"` (default), `"stacked"` or `"off"`.

    Returns:
        One of `MODES`.

    Example:

    >>> import os
    >>> from bidirlib.fast_path import fast_path_mode
    >>> os.environ.pop("BIDIRLIB_FAST_PATH", None) and None
    >>> fast_path_mode()
    'auto'
    """
    mode = os.environ.get(MODE_VARIABLE, "auto").strip().lower() or "auto"
    if mode in ("0", "false", "no"):
        mode = "off"
    if mode not in MODES:
        raise ValueError(f"The environment variable {MODE_VARIABLE} must be one of {MODES}. Received: {mode!r}.")
    return mode


def step_multiply_adds(batch, features, units):
    """Multiply-adds of one LSTM step in one direction: `batch x (features + units) x 4 units`.

    Example:

    >>> from bidirlib.fast_path import step_multiply_adds
    >>> step_multiply_adds(32, 32, 64)  # the tutorial size: 32 sequences, 32 features, 64 units
    786432
    """
    return batch * (features + units) * 4 * units


def choose_fast_path(kind, forward_layer, backward_layer, sequences, training=None):
    """Pick the CPU fast path for a plain LSTM or GRU pair, or say why there is none.

    The caller has checked what every fused path needs (both plain `LSTM` or both plain `GRU`, the same units
    and activations, no mask, not stateful, built, the forward layer reading forwards).

    Args:
        kind: `"lstm"` or `"gru"`.
        forward_layer: the built forward layer.
        backward_layer: the built backward layer of the same type.
        sequences: the input tensor (its dtype and device matter).
        training: the call's `training` argument; dropout only acts when it is true.

    Returns:
        `(name, None)` with `name` `"torch_kernel"`, `"tf_block_lstm"` or `"stacked"`, or `(None, reason)`.

    Example:

    >>> import numpy as np, keras
    >>> from bidirlib.fast_path import choose_fast_path
    >>> forward = keras.layers.GRU(4, dropout=0.5)
    >>> backward = keras.layers.GRU(4, dropout=0.5, go_backwards=True)
    >>> x = np.zeros((2, 3, 5), "float32")
    >>> choose_fast_path("gru", forward, backward, x, training=True)
    (None, 'dropout is set and training is on')
    """
    mode = fast_path_mode()
    if mode == "off":
        return None, f"the environment variable {MODE_VARIABLE} is 'off'"
    fc, bc = forward_layer.cell, backward_layer.cell
    training_on = training is not None and training is not False
    if training_on and any((fc.dropout, fc.recurrent_dropout, bc.dropout, bc.recurrent_dropout)):
        return None, "dropout is set and training is on"
    if kind == "gru" and fc.reset_after != bc.reset_after:
        return None, "the two directions differ in reset_after"
    if fc.use_bias != bc.use_bias:
        return None, "one direction has a bias and the other has not"
    if fc.compute_dtype != bc.compute_dtype:
        return None, "the two directions compute in different dtypes"
    if _on_accelerator(sequences):
        return None, "bidirlib's fast paths are for the CPU; on a GPU each direction runs its own kernel"
    if mode == "stacked":
        return "stacked", None
    backend = keras.backend.backend()
    dtype = str(fc.compute_dtype)
    standard = _is(fc.activation, "tanh") and _is(fc.recurrent_activation, "sigmoid")
    if backend == "torch":
        if standard and dtype in ("float32", "float64") and (kind == "lstm" or fc.reset_after):
            return "torch_kernel", None
        import torch

        if torch.is_grad_enabled():
            return "stacked", None
        return None, "on PyTorch without gradients, the stacked loop measured no faster than two loops at larger sizes"
    if backend == "tensorflow":
        if kind == "gru":
            return None, "on TensorFlow, a GRU's two loops, which run at the same time, measured fastest"
        if not standard:
            return None, "TensorFlow's BlockLSTM kernel computes only the tanh/sigmoid LSTM"
        if dtype != "float32":
            return None, f"TensorFlow's BlockLSTM kernel is used for float32 only, not {dtype}"
        if _in_xla_function():
            return None, "TensorFlow's BlockLSTM kernel cannot run in an XLA-compiled function (jit_compile=True)"
        batch, features = sequences.shape[0], sequences.shape[-1]
        if batch is None or features is None:
            return None, "on TensorFlow, BlockLSTM is picked by the batch size, which is unknown where the call is traced"
        weights = (features + fc.units) * 4 * fc.units
        if weights > BLOCK_LSTM_MAX_WEIGHTS:
            return None, (
                f"on TensorFlow with {weights:,} numbers in a direction's weights (over {BLOCK_LSTM_MAX_WEIGHTS:,}), "
                "the two layers' loops measured faster than BlockLSTM"
            )
        work = step_multiply_adds(batch, features, fc.units)
        if work > BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS:
            return None, (
                f"on TensorFlow at {work:,} multiply-adds a step (over {BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS:,}), "
                "the two layers' loops measured faster than BlockLSTM"
            )
        return "tf_block_lstm", None
    if backend == "jax":
        return None, "on JAX, a stacked loop measured no faster than the two layers' compiled loops"
    return None, f"no fast path for the {backend} backend"


def run_fast_path(name, kind, forward_layer, backward_layer, sequences, forward_state, backward_state, return_sequences):
    """Run the fast path `name` (from `choose_fast_path`) over `sequences`.

    Args:
        name: `"torch_kernel"`, `"tf_block_lstm"` or `"stacked"`.
        kind: `"lstm"` or `"gru"`.
        forward_layer: the built forward layer.
        backward_layer: the built backward layer.
        sequences: a tensor of shape `(batch, timesteps, features)`.
        forward_state: the forward layer's initial states (`[h, c]` or `[h]`), or None for zeros.
        backward_state: the same for the backward layer.
        return_sequences: whether to return the outputs at every step or only the last one.

    Returns:
        `(path, y_forward, y_backward, forward_states, backward_states)`: `path` is what
        `Bidirectional.last_call_path` reports (`"torch_lstm"`, `"torch_gru"`, `"tf_block_lstm"`,
        `"stacked_lstm"` or `"stacked_gru"`); the backward output is in the input's time order.

    Example:

    >>> import numpy as np, keras
    >>> from bidirlib.fast_path import run_fast_path
    >>> forward = keras.layers.GRU(3, return_sequences=True)
    >>> backward = keras.layers.GRU(3, return_sequences=True, go_backwards=True)
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    >>> _ = forward(x), backward(x)  # build both
    >>> path, y_f, y_b, _, _ = run_fast_path("stacked", "gru", forward, backward, x, None, None, True)
    >>> path, tuple(y_f.shape), tuple(y_b.shape)
    ('stacked_gru', (2, 5, 3), (2, 5, 3))
    """
    fc, bc = forward_layer.cell, backward_layer.cell
    dtype = fc.compute_dtype
    sequences = ops.cast(ops.convert_to_tensor(sequences), dtype)
    n_states = 2 if kind == "lstm" else 1
    states, zeros = [], None
    for given in (forward_state, backward_state):
        if not given:
            if zeros is None:
                zeros = ops.zeros((ops.shape(sequences)[0], fc.units), dtype=dtype)
            given = [zeros] * n_states
        states.append([ops.cast(ops.convert_to_tensor(s), dtype) for s in given])
    if name == "torch_kernel":
        return (f"torch_{kind}",) + _torch_kernel(kind, fc, bc, sequences, states, return_sequences)
    if name == "tf_block_lstm":
        return ("tf_block_lstm",) + _tf_block_lstm(fc, bc, sequences, states, return_sequences)
    if name == "stacked":
        outputs = stacked_loop(kind, fc, bc, sequences, states, return_sequences, unroll=forward_layer.unroll)
        return (f"stacked_{kind}",) + outputs
    raise ValueError(f"`name` must be 'torch_kernel', 'tf_block_lstm' or 'stacked'. Received: {name!r}.")


# ---------------------------------------------------------------------- PyTorch's own kernel


def _torch_kernel(kind, fc, bc, sequences, states, return_sequences):
    """PyTorch's bidirectional LSTM/GRU kernel (`torch.lstm`/`torch.gru`, as `nn.LSTM` calls it)."""
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


# ---------------------------------------------------------------------- TensorFlow's own kernel


def _tf_block_lstm(fc, bc, sequences, states, return_sequences):
    """Each direction through TensorFlow's `BlockLSTM` kernel (whole sequence in one op); TF runs both at once."""
    import tensorflow as tf

    dtype = sequences.dtype
    time_major = tf.transpose(sequences, (1, 0, 2))
    steps = tf.cast(tf.shape(time_major)[0], tf.int64)
    results = []
    for cell, (h0, c0), reverse in ((fc, states[0], False), (bc, states[1], True)):
        units = cell.units
        weights = tf.concat([tf.cast(cell.kernel, dtype), tf.cast(cell.recurrent_kernel, dtype)], axis=0)
        bias = tf.cast(cell.bias, dtype) if cell.use_bias else tf.zeros((4 * units,), dtype)
        no_peephole = tf.zeros((units,), dtype)
        _, cell_states, _, _, _, _, outputs = tf.raw_ops.BlockLSTM(
            seq_len_max=steps,
            x=tf.reverse(time_major, [0]) if reverse else time_major,
            cs_prev=c0,
            h_prev=h0,
            w=_keras_to_block_gate_order(weights),
            wci=no_peephole,
            wcf=no_peephole,
            wco=no_peephole,
            b=_keras_to_block_gate_order(bias),
            forget_bias=0.0,  # Keras puts any forget bias into the bias weights
            cell_clip=-1.0,  # no clipping (the kernel's default clips cell states to +-3)
            use_peephole=False,
        )
        # (time, batch, units); the backward direction's steps are in reading order, last input first.
        results.append((outputs, [outputs[-1], cell_states[-1]]))
    (outputs_f, states_f), (outputs_b, states_b) = results
    if not return_sequences:
        return states_f[0], states_b[0], states_f, states_b
    y_f = tf.transpose(outputs_f, (1, 0, 2))
    y_b = tf.reverse(tf.transpose(outputs_b, (1, 0, 2)), [1])
    return y_f, y_b, states_f, states_b


def _keras_to_block_gate_order(weights):
    """Keras orders an LSTM's gates (input, forget, cell, output); BlockLSTM wants (input, cell, forget, output)."""
    import tensorflow as tf

    i, f, c, o = tf.split(weights, 4, axis=-1)
    return tf.concat([i, c, f, o], axis=-1)


def _in_xla_function():
    """Whether TensorFlow is tracing a function that XLA compiles (`jit_compile=True`)."""
    try:
        from tensorflow.python.framework import ops as tf_ops
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # pragma: no cover - a TensorFlow without these internals: assume XLA, stay safe
        return True
    return bool(control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph()))


# ---------------------------------------------------------------------- where the computation runs


def _is(function, name):
    return function is keras.activations.get(name) or getattr(function, "__name__", None) == name


def _on_accelerator(sequences):
    """Whether this computation runs on a GPU (or another accelerator) rather than the CPU."""
    backend = keras.backend.backend()
    try:
        if backend == "torch":
            device = getattr(sequences, "device", None)
            if hasattr(device, "type"):  # a torch tensor
                return device.type != "cpu"
            from keras.src.backend.torch.core import get_device

            return get_device() != "cpu"
        if backend == "jax":
            import jax

            return jax.default_backend() != "cpu"
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_logical_devices("GPU"))
    except Exception:  # pragma: no cover - a backend we cannot ask: assume a CPU
        return False
    return False
