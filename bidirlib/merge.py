"""Merge modes: how the forward and backward outputs of a `Bidirectional` layer are combined."""

from keras import ops

from bidirlib import errors

#: The merge modes `Bidirectional` accepts, in the order Keras documents them.
MERGE_MODES = ("sum", "mul", "concat", "ave", None)

#: Modes that combine the two outputs element by element, so their widths must match.
ELEMENTWISE_MODES = ("sum", "mul", "ave")


def validate_merge_mode(merge_mode):
    """Return `merge_mode` if it is one of `MERGE_MODES`, else raise a `ValueError`."""
    return errors.require_merge_mode(merge_mode, MERGE_MODES)


def merged_width(forward_width, backward_width, merge_mode):
    """The last-axis size of the merged output, or `None` where it is not known.

    Raises a `ValueError` when an element-wise mode is asked to combine outputs of different widths.
    """
    if merge_mode == "concat":
        if forward_width is None or backward_width is None:
            return None
        return forward_width + backward_width
    if merge_mode in ELEMENTWISE_MODES:
        errors.require_equal_widths(forward_width, backward_width, merge_mode)
    return forward_width


def merge(forward_output, backward_output, merge_mode):
    """Combine two aligned outputs (the backward one already in forward time order)."""
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
        merge_mode: one of `MERGE_MODES`.
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
