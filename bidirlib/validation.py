"""Fail-fast validation: the errors `Bidirectional` raises before it computes anything.

Each `require_*` function checks one thing that can be checked when the wrapper is built or called, and raises
an error that names the argument, what was received and what was expected. The report a user asks for on their
own layer, criterion by criterion, is `bidirlib.checker.check_sequence_layer`.
"""

import warnings

import keras
import numpy as np

#: Attributes both directions must have, with the meaning they have on `keras.layers.RNN`.
DIRECTION_ATTRIBUTES = ("go_backwards", "return_sequences", "return_state")

#: Attributes the forward and backward layers must agree on.
SHARED_ATTRIBUTES = ("stateful", "return_sequences", "return_state")


def _describe(value):
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def require_layer(value, argument):
    """Raise a `ValueError` unless `value` is a `keras.layers.Layer` instance."""
    if not isinstance(value, keras.layers.Layer):
        raise ValueError(
            f"Bidirectional expects `{argument}` to be a `keras.layers.Layer` instance "
            "(such as keras.layers.LSTM(...)). "
            f"Received: {argument}={_describe(value)} of type {type(value).__name__}."
        )


def require_direction_attributes(layer, argument):
    """Raise a `ValueError` naming each of `go_backwards`, `return_sequences`, `return_state` the layer lacks."""
    missing = [name for name in DIRECTION_ATTRIBUTES if not hasattr(layer, name)]
    if missing:
        names = ", ".join(f"`{name}`" for name in missing)
        raise ValueError(
            f"Bidirectional cannot wrap `{argument}`={layer.__class__.__name__}(name={layer.name!r}): "
            f"it has no {names} attribute. A wrapped layer must have `go_backwards`, `return_sequences` "
            "and `return_state` with the same meaning as on keras.layers.RNN (for example, write a custom "
            "cell and wrap keras.layers.RNN(cell))."
        )


def require_conforming(layer, argument):
    """Refuse a layer that is not a `keras.layers.RNN` if wrapping it as configured would be wrong; warn otherwise.

    It runs `bidirlib.checker.check_wrapping`, which checks only what the layer's own configuration needs: that it
    can be copied from its config, and that `go_backwards` reads the sequence from its end (with the layer's
    `return_sequences` and `return_state`). A failure there raises a `ValueError` naming the criterion. Anything
    else that fails (for instance the layer raises on the random test batch for a reason of its own) is a
    `UserWarning` naming the criterion, and the layer is wrapped. `bidirlib.check_sequence_layer` gives the full
    report, on behaviour the configuration does not use too.

    `keras.layers.RNN` gives every RNN the right semantics whatever its cell, so those are not checked.
    """
    if isinstance(layer, keras.layers.RNN):
        return
    from bidirlib.checker import check_wrapping  # the checker reports with this module's errors

    check = check_wrapping(layer)
    if check.refusals:
        failure = check.refusals[0]
        raise ValueError(
            f"Bidirectional cannot wrap `{argument}`={check.layer}: it fails criterion {failure.number} "
            f"({failure.name}): {failure.reason} Run bidirlib.check_sequence_layer(...) for the full report."
        )
    for failure in check.warnings:
        warnings.warn(
            f"Bidirectional wraps `{argument}`={check.layer}, but criterion {failure.number} ({failure.name}) "
            f"was not met: {failure.reason} Run bidirlib.check_sequence_layer(...) for the full report.",
            UserWarning,
            stacklevel=3,
        )


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
            f"Received: sequences={_describe(sequences)} of type {type(sequences).__name__}."
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
            f"Received: mask={_describe(mask)} of type {type(mask).__name__}."
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
        a is None or b is None or int(a) == int(b) for a, b in zip(shape, expected)
    )
    if not matches:
        raise ValueError(
            f"`mask` must have shape (batch, timesteps) = {expected}, one entry per step of `sequences`. "
            f"Received: a mask of shape {shape}."
        )


def require_weights_list(weights):
    """Raise a `ValueError` unless `weights` is None or a list (or tuple) of arrays."""
    if weights is None:
        return
    if not isinstance(weights, (list, tuple)):
        raise ValueError(
            "`weights` must be a list of arrays: the forward layer's weights, then the backward layer's, in the "
            f"order of get_weights(). Received: weights={_describe(weights)} of type {type(weights).__name__}."
        )
    for index, value in enumerate(weights):
        if value is None or isinstance(value, (str, bytes, dict)):
            raise ValueError(
                f"`weights[{index}]` must be an array. Received: {_describe(value)} of type {type(value).__name__}."
            )
        try:
            np.asarray(value, dtype="float64")
        except (TypeError, ValueError):
            raise ValueError(
                f"`weights[{index}]` must be an array of numbers. Received: {_describe(value)}."
            ) from None
