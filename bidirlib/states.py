"""A bidirectional layer's states: how many each direction has, and which of `initial_state` goes where."""


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


def split_initial_state(initial_state, forward_layer, backward_layer):
    """Split a flat `initial_state` list into the forward layer's states and the backward layer's.

    The split follows each direction's state count (so an LSTM paired with a GRU splits 2 + 1), and falls back
    to halves when a layer does not say how many states it has.

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
    if initial_state is None:
        return None, None
    n_forward = state_count(forward_layer)
    n_backward = state_count(backward_layer)
    if not isinstance(initial_state, (list, tuple)):
        expected = (
            f"{n_forward + n_backward} tensors ({n_forward} for the forward layer, then {n_backward} "
            "for the backward layer)"
            if n_forward is not None and n_backward is not None
            else "an even number of tensors (the forward layer's states, then the backward layer's)"
        )
        raise ValueError(
            f"`initial_state` must be a list of {expected}. "
            f"Received: a single {type(initial_state).__name__} of shape {tuple(initial_state.shape)}."
            if hasattr(initial_state, "shape")
            else f"`initial_state` must be a list of {expected}. Received: {initial_state!r}."
        )
    count = len(initial_state)
    if n_forward is not None and n_backward is not None:
        if count != n_forward + n_backward:
            raise ValueError(
                f"`initial_state` must hold {n_forward + n_backward} tensors: {n_forward} for the forward "
                f"layer ({forward_layer.name}), then {n_backward} for the backward layer "
                f"({backward_layer.name}). Received: {count} tensors."
            )
        split = n_forward
    else:
        if count % 2:
            raise ValueError(
                "`initial_state` must hold an even number of tensors: the first half goes to the forward "
                f"layer, the second half to the backward layer. Received: {count} tensors."
            )
        split = count // 2
    for layer, part in ((forward_layer, initial_state[:split]), (backward_layer, initial_state[split:])):
        if part and not call_takes(layer, "initial_state"):
            raise ValueError(
                f"`initial_state` was given, but {layer.name} ({layer.__class__.__name__}) does not "
                "take an `initial_state` argument in its call()."
            )
    for index, state in enumerate(initial_state):
        # A stacked RNN takes one entry per cell, itself a list of that cell's states: check the leaves.
        leaves = list(state) if isinstance(state, (list, tuple)) else [state]
        for leaf in leaves:
            if leaf is None or not (hasattr(leaf, "shape") or isinstance(leaf, (list, tuple))):
                raise ValueError(
                    f"`initial_state[{index}]` must be a tensor of shape (batch, units). "
                    f"Received: {leaf!r} of type {type(leaf).__name__}."
                )
    return list(initial_state[:split]), list(initial_state[split:])


def require_state_shapes(forward_state, backward_state, forward_layer, backward_layer, batch):
    """Raise a `ValueError` unless each initial state is `(batch, size)` for its layer's state size.

    Sizes that a layer does not state as integers, and a batch that is not known yet, are not checked.
    """
    index = 0
    for layer, states in ((forward_layer, forward_state), (backward_layer, backward_state)):
        sizes = getattr(layer, "state_size", None)
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
        for position, state in enumerate(states or ()):
            if isinstance(state, (list, tuple)):  # one stacked cell's own states: their sizes are the cell's
                index += 1
                continue
            size = sizes[position] if position < len(sizes) else None
            shape = tuple(state.shape)
            expected_batch = batch if batch is not None else (shape[0] if shape else None)
            wrong_rank = isinstance(size, int) and len(shape) != 2
            wrong_size = isinstance(size, int) and len(shape) == 2 and shape[1] is not None and shape[1] != size
            wrong_batch = (
                batch is not None and len(shape) >= 1 and shape[0] is not None and int(shape[0]) != int(batch)
            )
            if wrong_rank or wrong_size or wrong_batch:
                raise ValueError(
                    f"`initial_state[{index}]` is state {position} of {layer.name} and must have shape "
                    f"({expected_batch}, {size}): the batch of `sequences`, then the state's size. "
                    f"Received: a tensor of shape {shape}."
                )
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
