"""TensorFlow's `BlockLSTM` sequence kernel, once per direction, fed the Keras layers' weights.

`BlockLSTM` (the kernel behind TF1's `LSTMBlockFusedCell`) runs a whole LSTM loop in C++, without a graph
operation per step; TensorFlow runs the two directions' calls at the same time, on two cores when it has them.
Its newer twin `BlockLSTMV2` (Keras's gate order) is not used: its gradient is wrong in TensorFlow 2.21.
"""

from bidirlib import keras_internals
from bidirlib.fused import rules
from bidirlib.fused.registry import Kernel

#: This kernel's own gate in the rules.
TF_BLOCK_LSTM = "tf_block_lstm"

#: On TensorFlow, BlockLSTM is picked only for a small LSTM, whose weight matrix `(features + units) x 4 units`
#: holds at most this many numbers (its training step lost at every size with 81,920 or more)...
BLOCK_LSTM_MAX_WEIGHTS = 2**16
#: ...and at most this many multiply-adds per step and direction (batch x weights). In a sweep of batch 8-256,
#: units 32-128 and features 32-128 (`bench/sweep_block_lstm.py`), these two limits kept BlockLSTM out of
#: every case where its training step was slower than the two layers', and left it out of one where it
#: was faster.
BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS = 2**20


def step_multiply_adds(batch, features, units):
    """Multiply-adds of one LSTM step in one direction: `batch x (features + units) x 4 units`.

    Example:

    >>> from bidirlib.fused import step_multiply_adds
    >>> step_multiply_adds(32, 32, 64)  # the tutorial size: 32 sequences, 32 features, 64 units
    786432
    """
    return batch * (features + units) * 4 * units


def run_tf_block_lstm(fc, bc, sequences, states, return_sequences):
    """Each direction through TensorFlow's `BlockLSTM` kernel (the whole sequence in one op).

    Args:
        fc, bc: the forward and backward `keras.layers.LSTMCell`, built.
        sequences: a float32 tensor `(batch, timesteps, features)`.
        states: `[[h, c] forward, [h, c] backward]`.
        return_sequences: whether to return every step's output or only the last.

    Returns:
        `(y_forward, y_backward, forward_states, backward_states)`, the backward output in input order.
    """
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


def run_plan(plan):
    """Run BlockLSTM over a call's plan (see `run_tf_block_lstm`)."""
    sequences, states = plan.kernel_inputs()
    return run_tf_block_lstm(plan.cells[0], plan.cells[-1], sequences, states, plan.return_sequences)


@rules.rule(TF_BLOCK_LSTM)
def _tf_float32(plan, title):
    dtype = str(plan.forward.cell.compute_dtype)
    if dtype != "float32":
        return f"TensorFlow's BlockLSTM kernel is used for float32 only, not {dtype}"
    return None


@rules.rule(TF_BLOCK_LSTM)
def _tf_not_under_xla(plan, title):
    if keras_internals.tf_in_xla_function():
        return "TensorFlow's BlockLSTM kernel cannot run in an XLA-compiled function (jit_compile=True)"
    return None


@rules.rule(TF_BLOCK_LSTM, decisive=True)
def _tf_batch_known(plan, title):
    batch, features = plan.sequences.shape[0], plan.sequences.shape[-1]
    if batch is None or features is None:
        return "on TensorFlow, BlockLSTM is picked by the batch size, which is unknown where the call is traced"
    return None


@rules.rule(TF_BLOCK_LSTM)
def _tf_block_weights_small(plan, title):
    features, units = plan.sequences.shape[-1], plan.forward.cell.units
    weights = (features + units) * 4 * units
    if weights > BLOCK_LSTM_MAX_WEIGHTS:
        return (
            f"on TensorFlow with {weights:,} numbers in a direction's weights (over {BLOCK_LSTM_MAX_WEIGHTS:,}), "
            "the two layers' loops measured faster than BlockLSTM"
        )
    return None


@rules.rule(TF_BLOCK_LSTM)
def _tf_block_step_small(plan, title):
    batch, features = plan.sequences.shape[0], plan.sequences.shape[-1]
    work = step_multiply_adds(batch, features, plan.forward.cell.units)
    if work > BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS:
        return (
            f"on TensorFlow at {work:,} multiply-adds a step (over {BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS:,}), "
            "the two layers' loops measured faster than BlockLSTM"
        )
    return None


KERNELS = (
    Kernel(
        "tf_block_lstm",
        "TensorFlow's BlockLSTM kernel",
        "fast",
        ("lstm",),
        ("tensorflow",),
        (rules.NO_MASK, rules.STANDARD_ACTIVATIONS, TF_BLOCK_LSTM),
        run_plan,
    ),
)
