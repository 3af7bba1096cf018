"""A bidirectional layer's states: how many each direction has, and which of `initial_state` goes where."""

from bidirlib import errors



def state_count(layer):
    """How many state tensors `layer` takes and returns, or None when it does not say.

    Read from `layer.state_size` (an int for one state, a list for several), as Keras's RNN layers and
    `bidirlib.layers.SequenceLayer` give it.

    Example:

    >>> import keras
    >>> from bidirlib.states import state_count
    >>> state_count(keras.layers.LSTM(3)), state_count(keras.layers.GRU(3)), state_count(keras.layers.Dense(3))
    (2, 1, None)
    """
    state_size = getattr(layer, "state_size", None)
    if isinstance(state_size, int):
        return 1
    if isinstance(state_size, (list, tuple)):
        return len(state_size)
    return None


def state_counts(forward_layer, backward_layer):
    """`(forward count, backward count)`: how many states each direction takes (`state_count`; None: unknown)."""
    return state_count(forward_layer), state_count(backward_layer)


def check_initial_state(initial_state, forward_layer, backward_layer):
    """Raise a `ValueError` unless `initial_state` (None, or a flat list) holds each direction's states.

    The count follows each direction's state count (so an LSTM paired with a GRU takes 2 + 1), or an even
    count where a layer does not say; states for a layer whose `call` takes none are refused.
    """
    if initial_state is None:
        return
    takes = (call_takes(forward_layer, "initial_state"), call_takes(backward_layer, "initial_state"))
    errors.require_initial_state(
        initial_state, forward_layer, backward_layer, state_counts(forward_layer, backward_layer), takes
    )


def split_at(initial_state, counts):
    """`initial_state` (a checked flat list) as `(forward_states, backward_states)`, split after the forward
    layer's count (`counts[0]`), or in halves where the counts are not known; `(None, None)` for None."""
    if initial_state is None:
        return None, None
    split = counts[0] if None not in counts else len(initial_state) // 2
    return list(initial_state[:split]), list(initial_state[split:])


def split_initial_state(initial_state, forward_layer, backward_layer):
    """Split a flat `initial_state` list into the forward layer's states and the backward layer's.

    The split follows each direction's state count (so an LSTM paired with a GRU splits 2 + 1), and falls back
    to halves when a layer does not say how many states it has. The wrapper checks `initial_state` when it is
    called (`check_initial_state`) and splits it once, as its call plan is made (`split_at`); this function
    does both, for use outside the wrapper.

    Args:
        initial_state: None, or a list or tuple of tensors: the forward layer's states, then the backward's.
        forward_layer, backward_layer: the two directions.

    Returns:
        `(forward_states, backward_states)`, two lists, or `(None, None)` when `initial_state` is None.

    Raises:
        ValueError: for a single tensor, a wrong count, or states for a layer whose `call` takes none.

    Example:

    >>> import keras, numpy as np
    >>> from bidirlib.states import split_initial_state
    >>> forward, backward = keras.layers.LSTM(4), keras.layers.GRU(4, go_backwards=True)
    >>> h_f, c_f, h_b = (np.zeros((2, 4), "float32") for _ in range(3))
    >>> forward_states, backward_states = split_initial_state([h_f, c_f, h_b], forward, backward)
    >>> len(forward_states), len(backward_states)
    (2, 1)
    """
    check_initial_state(initial_state, forward_layer, backward_layer)
    return split_at(initial_state, state_counts(forward_layer, backward_layer))


def check_state_shapes(initial_state, forward_layer, backward_layer, batch):
    """Raise a `ValueError` unless each state of a checked `initial_state` is `(batch, size)` for its layer.

    Sizes that a layer does not state as integers, and a batch that is not known yet, are not checked.
    """
    forward_state, backward_state = split_at(initial_state, state_counts(forward_layer, backward_layer))
    index = 0
    for layer, states in ((forward_layer, forward_state), (backward_layer, backward_state)):
        sizes = getattr(layer, "state_size", None)
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
        for position, state in enumerate(states or ()):
            if not isinstance(state, (list, tuple)):  # a stacked cell's own states: their sizes are the cell's
                size = sizes[position] if position < len(sizes) else None
                errors.require_state_shape(index, position, layer, size, tuple(state.shape), batch)
            index += 1


def call_takes(layer, argument):
    """Whether `layer`'s call takes `argument` (`"initial_state"`, `"mask"` or `"training"`).

    A layer may say so itself with a `call_arguments` attribute (as `bidirlib.layers.SequenceLayer` does);
    otherwise its `call` signature decides.
    """
    declared = getattr(layer, "call_arguments", None)
    if declared is not None:
        return argument in declared
    parameters = getattr(layer, "call_signature_parameters", None)
    if parameters is None:  # pragma: no cover - every Keras 3 layer has it
        import inspect

        parameters = inspect.signature(layer.call).parameters
    return argument in parameters
