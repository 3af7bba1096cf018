"""Merge modes: how the forward and backward outputs of a `Bidirectional` layer are combined.

A merge mode is one of Keras's five names or, in bidirlib, a function `(forward, backward) -> output`: it gets
the two aligned outputs (the backward one already in forward time order) and returns one tensor with the same
leading axes and a width of its own. To be saved in a config or a `.keras` file, the function must be registered
with `keras.saving.register_keras_serializable`, as any custom function in Keras.
"""

import keras
from keras import ops

from bidirlib import errors
from bidirlib.keras_internals import output_spec

#: The merge modes `Bidirectional` accepts, in the order Keras documents them.
MERGE_MODES = ("sum", "mul", "concat", "ave", None)

#: Modes that combine the two outputs element by element, so their widths must match.
ELEMENTWISE_MODES = ("sum", "mul", "ave")


def validate_merge_mode(merge_mode):
    """Return `merge_mode` if it is one of `MERGE_MODES` or a function, else raise a `ValueError`."""
    return errors.require_merge_mode(merge_mode, MERGE_MODES)


def is_function(merge_mode):
    """Whether `merge_mode` is a merge function of the user's rather than one of the five names."""
    return merge_mode is not None and not isinstance(merge_mode, str)


def merged_width(forward_width, backward_width, merge_mode):
    """The last-axis size of the merged output, or `None` where it is not known (always, for a function).

    Raises a `ValueError` when an element-wise mode is asked to combine outputs of different widths.
    """
    if is_function(merge_mode):
        return None
    if merge_mode == "concat":
        if forward_width is None or backward_width is None:
            return None
        return forward_width + backward_width
    if merge_mode in ELEMENTWISE_MODES:
        errors.require_equal_widths(forward_width, backward_width, merge_mode)
    return forward_width


def merged_shape(forward_shape, backward_shape, merge_mode, dtype="float32"):
    """The shape of the merged output for the directions' output shapes (any mode but None).

    A function's output shape is found by running it once on symbolic tensors of these shapes.
    """
    forward_shape, backward_shape = tuple(forward_shape), tuple(backward_shape)
    if not is_function(merge_mode):
        return forward_shape[:-1] + (merged_width(forward_shape[-1], backward_shape[-1], merge_mode),)
    spec = output_spec(
        merge_mode, keras.KerasTensor(forward_shape, dtype=dtype), keras.KerasTensor(backward_shape, dtype=dtype)
    )
    return errors.require_merged_output(spec, forward_shape, merge_mode)


def merge(forward_output, backward_output, merge_mode):
    """Combine two aligned outputs (the backward one already in forward time order)."""
    if is_function(merge_mode):
        output = merge_mode(forward_output, backward_output)
        errors.require_merged_output(output, forward_output.shape, merge_mode)
        return output
    if merge_mode == "concat":
        return ops.concatenate([forward_output, backward_output], axis=-1)
    if merge_mode == "sum":
        return forward_output + backward_output
    if merge_mode == "ave":
        return (forward_output + backward_output) / 2
    if merge_mode == "mul":
        return forward_output * backward_output
    if merge_mode is None:
        return (forward_output, backward_output)
    validate_merge_mode(merge_mode)  # raises


def assemble(forward_output, backward_output, states, merge_mode, return_state):
    """The wrapper's result: the merged output(s), followed by the states when `return_state` is set.

    Args:
        forward_output, backward_output: the two directions' outputs, aligned in time.
        states: the forward layer's final states, then the backward layer's.
        merge_mode: one of `MERGE_MODES`, or a function `(forward, backward) -> output`.
        return_state: whether the states follow the output.

    Returns:
        The merged output; with `merge_mode=None` the tuple `(forward, backward)`; with `return_state` a tuple
        of the output(s) then every state.
    """
    output = merge(forward_output, backward_output, merge_mode)
    if not return_state:
        return output
    if merge_mode is None:
        return output + tuple(states)
    return (output,) + tuple(states)


def merge_mode_config(merge_mode):
    """`merge_mode` as a config holds it: the name (or None) as it is, a function as Keras serializes it.

    Raises a `ValueError` for a function that Keras could not find again when loading (not registered, or
    defined inside another function). A lambda is saved as Keras saves one, to be loaded with `safe_mode=False`.
    """
    if not is_function(merge_mode):
        return merge_mode
    config = keras.saving.serialize_keras_object(merge_mode)
    if isinstance(config, dict) and config.get("class_name") == "__lambda__":
        return config
    try:
        found = keras.saving.deserialize_keras_object(config)
    except (TypeError, ValueError, AttributeError, ImportError):
        found = None
    if found is not merge_mode:
        raise errors.merge_not_saveable(merge_mode)
    return config


def merge_mode_from_config(value, custom_objects=None):
    """The inverse of `merge_mode_config`: a serialized function back to the function, names as they are."""
    if isinstance(value, dict):
        return keras.saving.deserialize_keras_object(value, custom_objects=custom_objects)
    return value
