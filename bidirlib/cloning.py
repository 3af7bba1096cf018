"""Making the forward and backward copies of a wrapped layer.

`Bidirectional` never uses the layer it is given: it rebuilds a fresh copy from the layer's config, so the copy has
new weights and the user's object is never changed. Keras does this with its serialization registry alone, which
fails for a custom layer or cell that was not registered; here the classes found in the layer itself are handed to
the deserializer, so unregistered custom classes clone too. So are the plain Python functions and the initializer,
regularizer and constraint objects the layer holds (an `activation=my_function` that was never registered): Keras
saves a function by its name alone and looks that name up when it loads it.
"""

import types

import keras

#: Kinds of object a layer's config records by class name, which the deserializer must then find.
_CONFIG_OBJECT_TYPES = (
    keras.initializers.Initializer,
    keras.regularizers.Regularizer,
    keras.constraints.Constraint,
)


def _objects_held_by(obj):
    """The plain functions and config objects among `obj`'s attributes, one level into lists, tuples and dicts."""
    try:
        values = list(vars(obj).values())
    except TypeError:  # no __dict__
        return
    for value in values:
        if isinstance(value, (list, tuple)):
            candidates = value
        elif isinstance(value, dict):
            candidates = list(value.values())
        else:
            candidates = (value,)
        for candidate in candidates:
            if isinstance(candidate, types.FunctionType) or isinstance(candidate, _CONFIG_OBJECT_TYPES):
                yield candidate


def classes_in(layer):
    """Map names to the classes and functions the deserializer must find to rebuild `layer` from its config.

    That is the class of the layer and of every layer nested in it (cells, stacked cells), and the plain Python
    functions (by `__name__`, as Keras saves them: an unregistered activation, say) and the classes of the
    initializers, regularizers and constraints found on their attributes. Keras's own functions and classes are
    left to Keras's lookup; a lambda is left out (Keras saves it as code, loaded only with `safe_mode=False`).
    """
    found = {}
    stack = [layer]
    seen = set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        cls = type(obj)
        found.setdefault(cls.__name__, cls)
        registered = keras.saving.get_registered_name(cls)
        found.setdefault(registered, cls)
        # Cells are not always tracked as sub-layers before the RNN is built, so look at them explicitly.
        for attribute in ("cell", "layer", "forward_layer", "backward_layer"):
            child = getattr(obj, attribute, None)
            if isinstance(child, keras.layers.Layer):
                stack.append(child)
        for child in getattr(obj, "cells", None) or ():
            if isinstance(child, keras.layers.Layer):
                stack.append(child)
        for child in getattr(obj, "_layers", None) or ():
            stack.append(child)
        for held in _objects_held_by(obj):
            if isinstance(held, types.FunctionType):
                if held.__name__ != "<lambda>" and not held.__module__.startswith("keras"):
                    found.setdefault(held.__name__, held)
            elif not type(held).__module__.startswith("keras"):
                found.setdefault(type(held).__name__, type(held))
                found.setdefault(keras.saving.get_registered_name(type(held)), type(held))
    return found


def without_sharing_ids(serialized):
    """A copy of a serialized object without `shared_object_id` keys, at any depth.

    While Keras loads a model it records every object it serializes; serializing the same layer twice then
    tags both configs with one id, and deserializing returns the first copy again. A clone must be new.
    """
    if isinstance(serialized, dict):
        return {k: without_sharing_ids(v) for k, v in serialized.items() if k != "shared_object_id"}
    if isinstance(serialized, list):
        return [without_sharing_ids(v) for v in serialized]
    return serialized


def clone_layer(layer, name=None, **config_overrides):
    """Return a new, unbuilt layer with `layer`'s config, optionally renamed and with some config entries replaced.

    Args:
        layer: a `keras.layers.Layer` with `get_config`/`from_config`.
        name: the clone's name; `None` keeps the original's.
        **config_overrides: config entries to replace, e.g. `go_backwards=True`.

    Returns:
        A fresh layer of the same class; its weights are new and `layer` is left untouched.
    """
    serialized = without_sharing_ids(keras.saving.serialize_keras_object(layer))
    config = dict(serialized["config"])
    if name is not None:
        config["name"] = name
    config.update(config_overrides)
    serialized = {**serialized, "config": config}
    clone = keras.saving.deserialize_keras_object(serialized, custom_objects=classes_in(layer))
    # `use_cudnn` is a constructor argument of LSTM and GRU that their config leaves out.
    if hasattr(layer, "use_cudnn") and hasattr(clone, "use_cudnn"):
        clone.use_cudnn = layer.use_cudnn
    return clone


def prefixed_name(prefix, name):
    """`forward_lstm` from ("forward", "lstm"), without doubling a prefix that is already there."""
    head = f"{prefix}_"
    return name if name.startswith(head) else head + name
