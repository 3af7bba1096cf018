"""Masks as sequence lengths: which masks a kernel that takes lengths can run, and what Keras gives at padding.

A mask is *right-padded* when each row is a run of ones followed by zeros only (a row may be all ones or all
zeros): the row lengths then say all of it, and a kernel that takes sequence lengths (PyTorch's packed
sequences, cuDNN's) runs it. A mask with a hole, or a row that starts with padding, is not: such a kernel would
read the wrong steps. Whether a mask is right-padded is read from its values, so it can be told only where
they are known: in eager mode, not while a function is traced (`torch.compile`, `jax.jit`, `tf.function`).

Under a mask, Keras's rolled loop keeps each state unchanged at a masked step, so a direction's final states
are those after its row's last unmasked step (the initial states for an empty row), and the layer's outputs
are zeros at masked steps when it returns sequences. Without `return_sequences`, the last output is the final
`h`, except for an empty row, where it is what the backend's loop starts from (`empty_row_last_output`).
`finish` gives a kernel's raw outputs these values.
"""

import dataclasses

import keras
import numpy as np
from keras import ops

from bidirlib import keras_internals

#: What `read_mask` can say of a call's mask.
NO_MASK, VALUES_UNKNOWN, RIGHT_PADDED, NOT_RIGHT_PADDED = "none", "unknown", "right_padded", "not_right_padded"


@dataclasses.dataclass(frozen=True)
class MaskLayout:
    """What a mask holds: `kind` (one of the four names above) and, for a right-padded mask, `lengths`, a
    NumPy integer array `(batch,)`."""

    kind: str
    lengths: object = None


def read_mask(mask):
    """The `MaskLayout` of `mask` (None, or `(batch, timesteps)` of booleans or 0/1).

    Example:

    >>> import numpy as np
    >>> from bidirlib.fused.lengths import read_mask
    >>> read_mask(np.array([[1, 1, 0], [1, 1, 1], [0, 0, 0]], bool))
    MaskLayout(kind='right_padded', lengths=array([2, 3, 0]))
    >>> read_mask(np.array([[0, 1, 1]], bool)).kind
    'not_right_padded'
    """
    if mask is None:
        return MaskLayout(NO_MASK)
    if not values_known(mask):
        return MaskLayout(VALUES_UNKNOWN)
    values = np.asarray(ops.convert_to_numpy(mask)).astype(bool)
    lengths = values.sum(axis=1)
    prefix = np.arange(values.shape[1])[None, :] < lengths[:, None]
    if not np.array_equal(values, prefix):
        return MaskLayout(NOT_RIGHT_PADDED)
    return MaskLayout(RIGHT_PADDED, lengths.astype(np.int64))


def values_known(tensor):
    """Whether `tensor`'s values can be read now: an eager tensor or an array, not one being traced."""
    if isinstance(tensor, (np.ndarray, list, tuple)):
        return True
    if isinstance(tensor, keras.KerasTensor):
        return False
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        if not isinstance(tensor, torch.Tensor):
            return False
        tracing = keras_internals.torch_compiling() or torch.jit.is_tracing()
        return not tracing and tensor.device.type != "meta"
    if backend == "jax":
        import jax

        return not isinstance(tensor, jax.core.Tracer)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.executing_eagerly() and hasattr(tensor, "numpy")
    return backend == "numpy"


def empty_row_last_output(initial_h):
    """The last output Keras's rolled loop gives, without `return_sequences`, for a row with no unmasked step.

    JAX's loop carries the previous output in the first state, so it ends on the initial `h`; TensorFlow's
    and PyTorch's start the previous output at zeros.
    """
    if keras.backend.backend() == "jax":
        return initial_h
    return ops.zeros_like(initial_h)


def finish(outputs, mask, initial_states, return_sequences):
    """Give a kernel's outputs under a mask the values of the separate path.

    Args:
        outputs: `(y_forward, y_backward, forward_states, backward_states)` from a kernel, the backward output
            in input order; their values at a row's padded steps, and for an empty row, may be anything.
        mask: the call's mask `(batch, timesteps)`.
        initial_states: `[forward_states, backward_states]` the kernel started from.
        return_sequences: whether the outputs hold every step.

    Returns:
        The outputs with zeros at masked steps (`return_sequences`), and, for a row with no unmasked step, the
        initial states and the backend's last output.
    """
    y_forward, y_backward, forward_states, backward_states = outputs
    mask = ops.cast(ops.convert_to_tensor(mask), "bool")
    empty = ops.expand_dims(ops.logical_not(ops.any(mask, axis=1)), -1)  # (batch, 1)
    forward_states = [ops.where(empty, given, state) for given, state in zip(initial_states[0], forward_states)]
    backward_states = [ops.where(empty, given, state) for given, state in zip(initial_states[1], backward_states)]
    if return_sequences:
        keep = ops.expand_dims(mask, -1)
        y_forward = ops.where(keep, y_forward, ops.zeros_like(y_forward))
        y_backward = ops.where(keep, y_backward, ops.zeros_like(y_backward))
    else:
        y_forward = ops.where(empty, empty_row_last_output(initial_states[0][0]), forward_states[0])
        y_backward = ops.where(empty, empty_row_last_output(initial_states[1][0]), backward_states[0])
    return y_forward, y_backward, forward_states, backward_states
