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
