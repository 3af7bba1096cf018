"""Every error bidirlib raises on bad input, each message written once.

Each `require_*` function checks one thing that can be checked when the wrapper is built or called, and raises
an error that names the argument, what was received and what was expected. The wrapper, its state split, its
merge, its fused-path setting and its direction mesh all raise through here, and the checker
(`bidirlib.checker`) words its criteria with the same sentences (`missing_attributes`).

This module imports nothing from bidirlib: every other module may import it, and it can import none of them.
"""

import keras
import numpy as np

#: Attributes both directions must have, with the meaning they have on `keras.layers.RNN`.
DIRECTION_ATTRIBUTES = ("go_backwards", "return_sequences", "return_state")

#: Attributes the forward and backward layers must agree on.
SHARED_ATTRIBUTES = ("stateful", "return_sequences", "return_state")


def describe(value):
    """`repr(value)`, cut to 120 characters: what a message shows of a value it received."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def missing_attributes(layer):
    """The direction attributes (`DIRECTION_ATTRIBUTES`) `layer` lacks, as a sentence, or None if it has all."""
    missing = [name for name in DIRECTION_ATTRIBUTES if not hasattr(layer, name)]
    if not missing:
        return None
    names = ", ".join(f"`{name}`" for name in missing)
    return (
        f"it has no {names} attribute. A wrapped layer must have `go_backwards`, `return_sequences` and "
        "`return_state` with the same meaning as on keras.layers.RNN (for example, write a custom cell and wrap "
        "keras.layers.RNN(cell))."
    )


def describe_layer(layer):
    """A layer as messages name it: `LSTM(name='lstm')`."""
    return f"{layer.__class__.__name__}(name={layer.name!r})"


def require_layer(value, argument):
    """Raise a `ValueError` unless `value` is a `keras.layers.Layer` instance."""
    if not isinstance(value, keras.layers.Layer):
        raise ValueError(
            f"Bidirectional expects `{argument}` to be a `keras.layers.Layer` instance "
            "(such as keras.layers.LSTM(...)). "
            f"Received: {argument}={describe(value)} of type {type(value).__name__}."
        )


def require_direction_attributes(layer, argument):
    """Raise a `ValueError` naming each of `go_backwards`, `return_sequences`, `return_state` the layer lacks."""
    reason = missing_attributes(layer)
    if reason is not None:
        raise ValueError(f"Bidirectional cannot wrap `{argument}`={describe_layer(layer)}: {reason}")


def require_opposite_directions(forward_layer, backward_layer):
    """Raise a `ValueError` when both layers read the sequence in the same direction."""
    if bool(forward_layer.go_backwards) == bool(backward_layer.go_backwards):
        raise ValueError(
            "The forward and backward layers of Bidirectional must read the sequence in opposite directions, "
            "so they need different `go_backwards` values. "
            f"Received: layer.go_backwards={forward_layer.go_backwards}, "
            f"backward_layer.go_backwards={backward_layer.go_backwards}. "
            "Expected the backward layer to have go_backwards=True."
        )


def require_matching_attributes(forward_layer, backward_layer):
    """Raise a `ValueError` when the layers disagree on `stateful`, `return_sequences` or `return_state`."""
    for name in SHARED_ATTRIBUTES:
        forward_value = getattr(forward_layer, name, False)
        backward_value = getattr(backward_layer, name, False)
        if forward_value != backward_value:
            raise ValueError(
                f"The forward and backward layers of Bidirectional must have the same `{name}`. "
                f"Received: layer.{name}={forward_value}, backward_layer.{name}={backward_value}. "
                f"Expected backward_layer.{name}={forward_value}."
            )


def require_sequence_shape(shape, argument="sequences"):
    """Raise a `ValueError` unless `shape` is (batch, timesteps, features...) with at least three axes."""
    if shape is None or len(shape) < 3:
        raise ValueError(
            f"Bidirectional expects `{argument}` of shape (batch, timesteps, features), with at least 3 axes. "
            f"Received: shape {None if shape is None else tuple(shape)}."
        )


def require_arrays(argument, values, variables, n_forward, order):
    """Raise a `ValueError` unless `values` holds one array per variable, each of the variable's shape.

    Args:
        argument: the argument's name in messages (`"weights"`, `"states"`).
        values: the arrays received.
        variables: the variables they are for: the forward layer's `n_forward`, then the backward layer's.
        n_forward: how many of `variables` belong to the forward layer.
        order: how the arrays are ordered, in words (`"get_weights()"`).
    """
    if len(values) != len(variables):
        raise ValueError(
            f"`{argument}` must hold {len(variables)} arrays: {n_forward} for the forward layer, then "
            f"{len(variables) - n_forward} for the backward layer, in the order of {order}. "
            f"Received: {len(values)} arrays."
        )
    for index, (variable, value) in enumerate(zip(variables, values)):
        shape = tuple(np.shape(value))
        if shape != tuple(variable.shape):
            raise ValueError(
                f"`{argument}[{index}]` is for {variable.path} and must have shape {tuple(variable.shape)}. "
                f"Received: an array of shape {shape}."
            )


# ---------------------------------------------------------------------- what a call is given


def require_sequences(sequences):
    """Raise a `ValueError` unless `sequences` is a tensor (or array) with at least three axes."""
    if sequences is None or not hasattr(sequences, "shape"):
        raise ValueError(
            "Bidirectional expects `sequences` to be a tensor of shape (batch, timesteps, features). "
            f"Received: sequences={describe(sequences)} of type {type(sequences).__name__}."
        )
    require_sequence_shape(tuple(sequences.shape))


def require_features(sequences_shape, built_features):
    """Raise a `ValueError` when `sequences` has another feature size than the layer was built for."""
    features = sequences_shape[-1]
    if built_features is not None and features is not None and int(features) != int(built_features):
        raise ValueError(
            f"`sequences` has {features} features (its last axis), but this Bidirectional layer was built for "
            f"{built_features}. Received: sequences of shape {tuple(sequences_shape)}."
        )


def require_mask(mask, sequences_shape):
    """Raise a `ValueError` unless `mask` is a boolean (or 0/1 numeric) tensor of shape (batch, timesteps)."""
    if mask is None:
        return
    shape = getattr(mask, "shape", None)
    if shape is None:
        raise ValueError(
            "`mask` must be a boolean tensor of shape (batch, timesteps), True at the steps to use. "
            f"Received: mask={describe(mask)} of type {type(mask).__name__}."
        )
    try:
        dtype = keras.backend.standardize_dtype(mask.dtype)
    except Exception:  # an object the backend cannot name a dtype for
        dtype = str(getattr(mask, "dtype", "unknown"))
    if not (dtype == "bool" or dtype.startswith(("int", "uint", "float", "bfloat"))):
        raise ValueError(
            f"`mask` must be boolean (or 0/1 numbers), of shape (batch, timesteps). Received: a mask of dtype {dtype}."
        )
    expected = tuple(sequences_shape[:2])
    shape = tuple(shape)
    matches = len(shape) == 2 and all(
        a is None or b is None or int(a) == int(b) for a, b in zip(_known(shape), _known(expected))
    )
    if not matches:
        raise ValueError(
            f"`mask` must have shape (batch, timesteps) = {expected}, one entry per step of `sequences`. "
            f"Received: a mask of shape {shape}."
        )


def _known(shape):
    """`shape` with each size that is not a number yet as None: a symbolic size (JAX's, while jax2onnx or jax2tf
    traces a model for any batch size) has no value to compare."""
    known = []
    for size in shape:
        try:
            known.append(None if size is None else int(size))
        except Exception:  # e.g. jax's InconclusiveDimensionOperation
            known.append(None)
    return tuple(known)


def require_weights_list(weights):
    """Raise a `ValueError` unless `weights` is None or a list (or tuple) of arrays."""
    if weights is None:
        return
    if not isinstance(weights, (list, tuple)):
        raise ValueError(
            "`weights` must be a list of arrays: the forward layer's weights, then the backward layer's, in the "
            f"order of get_weights(). Received: weights={describe(weights)} of type {type(weights).__name__}."
        )
    for index, value in enumerate(weights):
        if value is None or isinstance(value, (str, bytes, dict)):
            raise ValueError(
                f"`weights[{index}]` must be an array. Received: {describe(value)} of type {type(value).__name__}."
            )
        try:
            np.asarray(value, dtype="float64")
        except (TypeError, ValueError):
            raise ValueError(
                f"`weights[{index}]` must be an array of numbers. Received: {describe(value)}."
            ) from None


def require_positive_integer(name, value):
    """Raise a `ValueError` unless `value` (the argument `name`) is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}.")


def require_model(model, function):
    """Raise a `ValueError` unless `model` is a `keras.Model` (for the converters, named by `function`)."""
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"{function} expects `model` to be a `keras.Model` (Sequential, functional or subclassed with "
            "get_config). To convert a single layer, put it in a model first: keras.Sequential([layer]). "
            f"Received: model={describe(model)} of type {type(model).__name__}."
        )


# ---------------------------------------------------------------------- what a wrapped layer must be


def refuse_wrapping(argument, layer_title, failure):
    """Raise the `ValueError` for a layer that fails a criterion wrapping needs (a `checker.CriterionResult`)."""
    raise ValueError(
        f"Bidirectional cannot wrap `{argument}`={layer_title}: it fails criterion {failure.number} "
        f"({failure.name}): {failure.reason} Run bidirlib.check_sequence_layer(...) for the full report."
    )


def wrapping_warning(argument, layer_title, failure):
    """The warning for a layer wrapped although a criterion it does not need failed."""
    return (
        f"Bidirectional wraps `{argument}`={layer_title}, but criterion {failure.number} ({failure.name}) "
        f"was not met: {failure.reason} Run bidirlib.check_sequence_layer(...) for the full report."
    )


def require_sequence_input_spec(layer, argument):
    """Raise a `ValueError` when `layer`'s `input_spec` refuses every input with a time axis (rank 3 or more)."""
    specs = layer.input_spec if isinstance(layer.input_spec, (list, tuple)) else [layer.input_spec]
    spec = specs[0] if specs else None
    ndim, max_ndim = getattr(spec, "ndim", None), getattr(spec, "max_ndim", None)
    highest = ndim if ndim is not None else max_ndim
    if highest is not None and highest < 3:
        raise ValueError(
            f"Bidirectional cannot wrap `{argument}`={describe_layer(layer)}: its input_spec takes inputs of at "
            f"most {highest} axes, and Bidirectional reads sequences (batch, timesteps, features). Received: "
            f"input_spec={spec}."
        )


def require_built_for(layer, argument, built_features, features):
    """Raise a `ValueError` when `layer` was built for `built_features` features and the wrapper gets `features`."""
    if built_features is not None and features is not None and int(built_features) != int(features):
        raise ValueError(
            f"`{argument}`={describe_layer(layer)} was built for inputs of {built_features} features, but "
            f"`sequences` has {features}. Pass an unbuilt `{argument}`, or one built on inputs like these."
        )


# ---------------------------------------------------------------------- merge mode


def require_merge_mode(merge_mode, modes):
    """Raise a `ValueError` unless `merge_mode` is one of `modes` (compared by identity for None) or a function."""
    # `in` on a tuple would accept 0 == False and the like: strings by equality, None by identity.
    if merge_mode is None or (isinstance(merge_mode, str) and merge_mode in modes):
        return merge_mode
    if callable(merge_mode) and not isinstance(merge_mode, type):
        return merge_mode
    raise ValueError(
        "Invalid `merge_mode` for Bidirectional. "
        f"Received: merge_mode={merge_mode!r}. "
        'Expected one of "sum", "mul", "concat", "ave" or None, or a function (forward, backward) -> output.'
    )


def merge_not_saveable(merge_mode):
    """The error for a `merge_mode` function that Keras could not find again when loading a saved config."""
    name = getattr(merge_mode, "__qualname__", None) or repr(merge_mode)
    return ValueError(
        f"`merge_mode`={name} cannot be saved: Keras finds a function again by its registered name when it loads "
        "a config, and this one is not registered"
        + (" (it is defined inside another function)" if "<locals>" in name else "")
        + ". Define it at the top level of a module and decorate it with "
        '`@keras.saving.register_keras_serializable(package="...")`.'
    )


def require_keras_merge_mode(merge_mode, layer_name):
    """Raise a `ValueError` when a saved `merge_mode` is a function, which Keras's own wrapper cannot take."""
    if isinstance(merge_mode, dict):
        function = merge_mode.get("config")
        raise ValueError(
            f"to_keras: the Bidirectional layer {layer_name!r} merges with a function ({function!r}); Keras's "
            'wrapper takes only "sum", "mul", "concat", "ave" or None. Give it one of these before converting.'
        )


def require_merged_output(output, forward_shape, merge_mode):
    """Raise a `ValueError` unless a `merge_mode` function returned one tensor shaped like a direction's output
    on every axis but the last."""
    name = getattr(merge_mode, "__qualname__", None) or repr(merge_mode)
    shape = getattr(output, "shape", None)
    forward_shape = tuple(forward_shape)
    if shape is None or isinstance(output, (list, tuple, dict)):
        raise ValueError(
            f"`merge_mode`={name} must return one tensor. Received: {type(output).__name__}. "
            "Return a single tensor (merge_mode=None is the way to get both outputs)."
        )
    shape = tuple(shape)
    leading_ok = len(shape) == len(forward_shape) and all(
        a is None or b is None or a == b for a, b in zip(shape[:-1], forward_shape[:-1])
    )
    if not leading_ok:
        raise ValueError(
            f"`merge_mode`={name} must return a tensor of rank {len(forward_shape)} with the directions' "
            f"leading axes {forward_shape[:-1]} (batch{', time' if len(forward_shape) == 3 else ''}) and a width "
            f"of its choice. Received: an output of shape {shape} from outputs of shape {forward_shape}."
        )
    return shape


def require_equal_widths(forward_width, backward_width, merge_mode):
    """Raise a `ValueError` when an element-wise `merge_mode` gets outputs of different widths."""
    if forward_width is not None and backward_width is not None and forward_width != backward_width:
        raise ValueError(
            f'merge_mode="{merge_mode}" combines the forward and backward outputs element by element, '
            "so they must have the same last dimension. "
            f"Received: forward width {forward_width}, backward width {backward_width}. "
            'Use merge_mode="concat" or None, or give both layers the same number of units.'
        )


# ---------------------------------------------------------------------- initial states


def require_initial_state(initial_state, forward_layer, backward_layer, counts, takes):
    """Raise a `ValueError` unless `initial_state` is a list holding each direction's states.

    Args:
        initial_state: what the call was given (not None).
        forward_layer, backward_layer: the two directions.
        counts: `(forward count, backward count)`, each None where a layer does not say.
        takes: `(forward takes initial_state, backward takes it)`.
    """
    n_forward, n_backward = counts
    known = n_forward is not None and n_backward is not None
    if not isinstance(initial_state, (list, tuple)):
        expected = (
            f"{n_forward + n_backward} tensors ({n_forward} for the forward layer, then {n_backward} "
            "for the backward layer)"
            if known
            else "an even number of tensors (the forward layer's states, then the backward layer's)"
        )
        received = (
            f"a single {type(initial_state).__name__} of shape {tuple(initial_state.shape)}"
            if hasattr(initial_state, "shape")
            else repr(initial_state)
        )
        raise ValueError(f"`initial_state` must be a list of {expected}. Received: {received}.")
    count = len(initial_state)
    if known and count != n_forward + n_backward:
        raise ValueError(
            f"`initial_state` must hold {n_forward + n_backward} tensors: {n_forward} for the forward "
            f"layer ({forward_layer.name}), then {n_backward} for the backward layer "
            f"({backward_layer.name}). Received: {count} tensors."
        )
    if not known and count % 2:
        raise ValueError(
            "`initial_state` must hold an even number of tensors: the first half goes to the forward "
            f"layer, the second half to the backward layer. Received: {count} tensors."
        )
    split = n_forward if known else count // 2
    for layer, part, taken in (
        (forward_layer, initial_state[:split], takes[0]),
        (backward_layer, initial_state[split:], takes[1]),
    ):
        if part and not taken:
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


def require_state_shape(index, position, layer, size, shape, batch):
    """Raise a `ValueError` unless a state of `shape` fits state `position` of `layer`: `(batch, size)`.

    A size that is not an int, and a batch that is None, are not checked.
    """
    expected_batch = batch if batch is not None else (shape[0] if shape else None)
    wrong_rank = isinstance(size, int) and len(shape) != 2
    wrong_size = isinstance(size, int) and len(shape) == 2 and shape[1] is not None and shape[1] != size
    state_batch, known_batch = _known((shape[0] if len(shape) >= 1 else None, batch))
    wrong_batch = state_batch is not None and known_batch is not None and state_batch != known_batch
    if wrong_rank or wrong_size or wrong_batch:
        raise ValueError(
            f"`initial_state[{index}]` is state {position} of {layer.name} and must have shape "
            f"({expected_batch}, {size}): the batch of `sequences`, then the state's size. "
            f"Received: a tensor of shape {shape}."
        )


# ---------------------------------------------------------------------- bidirlib's own settings


def require_setting(value, modes, argument="fused_path"):
    """Return `value` if it is one of `modes` (the fused-path settings), else raise a `ValueError`."""
    if not (isinstance(value, str) and value in modes):
        raise ValueError(f"`{argument}` must be one of {modes}. Received: {argument}={value!r}.")
    return value


def bad_environment_setting(variable, value, modes):
    """The `ValueError` for an environment variable set to a value that is not one of `modes`."""
    return ValueError(f"The environment variable {variable} must be one of {modes}. Received: {value!r}.")


def require_direction_mesh(mesh, axis, argument="direction_mesh"):
    """Return `mesh` if it is None or a `keras.distribution.DeviceMesh` with an axis `axis` of size 2, else
    raise a `ValueError` (or a `TypeError`) naming `argument`."""
    if mesh is None:
        return None
    if not isinstance(mesh, keras.distribution.DeviceMesh):
        raise TypeError(
            f"`{argument}` must be a keras.distribution.DeviceMesh or None. Received: {argument}={mesh!r} "
            f"of type {type(mesh).__name__}."
        )
    names = tuple(mesh.axis_names)
    if axis not in names or mesh.shape[names.index(axis)] != 2:
        raise ValueError(
            f"`{argument}` must have an axis named {axis!r} of size 2, one device a direction. "
            f"Received a mesh of shape {tuple(mesh.shape)} and axes {names}."
        )
    return mesh


# ---------------------------------------------------------------------- export


def require_export_format(format, formats):
    """Return `format` if it is one of `formats` (those `bidirlib.export.check_export` can load back)."""
    if not (isinstance(format, str) and format in formats):
        raise ValueError(
            f"`format` must be one of {formats}, the formats check_export can load back and compare; Keras's "
            f"other export formats have no runtime here to compare with. Received: format={format!r}."
        )
    return format


def missing_export_runtime(format, package):
    """The `ImportError` for a check of `format` without the package that loads it."""
    return ImportError(
        f"Checking a {format!r} export needs {package}, which is not installed. Install the export extra: "
        'pip install "bidirlib[export]".'
    )
