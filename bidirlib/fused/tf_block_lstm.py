"""TensorFlow's `BlockLSTM` sequence kernel, once per direction, fed the Keras layers' weights.

`BlockLSTM` (the kernel behind TF1's `LSTMBlockFusedCell`) runs a whole LSTM loop in C++, without a graph
operation per step; TensorFlow runs the two directions' calls at the same time, on two cores when it has them.
Its newer twin `BlockLSTMV2` (Keras's gate order) is not used: its gradient is wrong in TensorFlow 2.21.
"""


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
