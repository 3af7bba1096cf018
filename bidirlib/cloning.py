"""Making the forward and backward copies of a wrapped layer.

`Bidirectional` never uses the layer it is given: it rebuilds a fresh copy from the layer's config, so the copy has
new weights and the user's object is never changed. Keras does this with its serialization registry alone, which
fails for a custom layer or cell that was not registered; here the classes found in the layer itself are handed to
the deserializer, so unregistered custom classes clone too.
"""

import keras


def _classes_in(layer):
    """Map class names to classes for the layer and every layer nested in it (cells, stacked cells)."""
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
    clone = keras.saving.deserialize_keras_object(serialized, custom_objects=_classes_in(layer))
    # `use_cudnn` is a constructor argument of LSTM and GRU that their config leaves out.
    if hasattr(layer, "use_cudnn") and hasattr(clone, "use_cudnn"):
        clone.use_cudnn = layer.use_cudnn
    return clone


def prefixed_name(prefix, name):
    """`forward_lstm` from ("forward", "lstm"), without doubling a prefix that is already there."""
    head = f"{prefix}_"
    return name if name.startswith(head) else head + name
