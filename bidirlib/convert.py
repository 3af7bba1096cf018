"""Moving models between `keras.layers.Bidirectional` and `bidirlib.Bidirectional`, weights included.

A model built or saved with Keras's wrapper does not become bidirlib's by `custom_objects`: Keras saves its own
layers with `module: "keras.layers"` and finds them there first, whatever `custom_objects` says. These functions
rewrite the model's config instead, swapping one wrapper class for the other wherever it is (in a `Sequential`, a
functional model, a model nested in either), rebuild the model and copy every weight across, so the new model
predicts what the old one did.

- `to_bidirlib(model)`: a copy of a model with every `keras.layers.Bidirectional` made a `bidirlib.Bidirectional`;
- `to_keras(model)`: the way back;
- `load_as_bidirlib(filepath)`: load a `.keras` file saved with Keras's wrapper, as bidirlib's.

Both wrappers have the same config and the same weights in the same order, so nothing else changes: layer names,
the other layers and their weights are kept.
"""

import json
import os
import shutil
import tempfile
import warnings
import zipfile

import keras

from bidirlib import errors
from bidirlib.bidirectional import Bidirectional
from bidirlib.cloning import classes_in, without_sharing_ids

#: Config keys bidirlib's wrapper may save that Keras's does not take.
_BIDIRLIB_ONLY_KEYS = ("fused_path",)


def _is_keras_wrapper(entry):
    return (
        entry.get("class_name") == "Bidirectional"
        and str(entry.get("module", "")).split(".")[0] == "keras"
        and entry.get("registered_name") in (None, "Bidirectional")
    )


def _is_bidirlib_wrapper(entry):
    return (
        entry.get("class_name") == "Bidirectional"
        and entry.get("registered_name") == keras.saving.get_registered_name(Bidirectional)
    )


def _swap(serialized, to):
    """A copy of `serialized` with every wrapper entry of the other kind made a `to` ("bidirlib"/"keras") entry.

    Returns the copy and how many entries it swapped.
    """
    count = 0

    def walk(value):
        nonlocal count
        if isinstance(value, list):
            return [walk(item) for item in value]
        if not isinstance(value, dict):
            return value
        value = {key: walk(item) for key, item in value.items()}
        if to == "bidirlib" and _is_keras_wrapper(value):
            count += 1
            value["module"] = Bidirectional.__module__
            value["registered_name"] = keras.saving.get_registered_name(Bidirectional)
        elif to == "keras" and _is_bidirlib_wrapper(value):
            count += 1
            value["module"] = "keras.layers"
            value["registered_name"] = None
            config = dict(value.get("config") or {})
            errors.require_keras_merge_mode(config.get("merge_mode"), config.get("name"))
            for key in _BIDIRLIB_ONLY_KEYS:
                config.pop(key, None)
            value["config"] = config
        return value

    return walk(serialized), count


def _custom_objects(model, custom_objects):
    """The user's classes and functions the model holds (registered or not), then `custom_objects` on top."""
    found = {
        name: obj for name, obj in classes_in(model).items()
        if not getattr(obj, "__module__", "").startswith(("keras", "bidirlib"))
    }
    found.update(custom_objects or {})
    return found


def _convert(model, to, custom_objects, function):
    errors.require_model(model, function)
    objects = _custom_objects(model, custom_objects)
    try:
        serialized = without_sharing_ids(keras.saving.serialize_keras_object(model))
    except Exception as error:
        raise ValueError(
            f"{function} could not read the config of `model`={model.name!r} ({type(model).__name__}): "
            f"{type(error).__name__}: {error}. A subclassed model needs get_config()/from_config()."
        ) from error
    swapped, _ = _swap(serialized, to)
    # A scope, not only an argument: Keras's own wrapper clones its layer with the scope's objects alone.
    try:
        with keras.saving.CustomObjectScope(objects):
            converted = keras.saving.deserialize_keras_object(swapped, custom_objects=objects)
    except Exception as error:
        raise ValueError(
            f"{function} could not rebuild `model`={model.name!r} from its config: {type(error).__name__}: "
            f"{error}"
        ) from error
    _copy_weights(model, converted, function)
    if getattr(model, "compiled", False):
        try:
            converted.compile_from_config(model.get_compile_config())
        except Exception as error:  # a compile setting that does not deserialize: the model is still usable
            warnings.warn(
                f"{function}: the converted model could not be compiled like `model` "
                f"({type(error).__name__}: {error}); compile it yourself.",
                UserWarning,
                stacklevel=3,
            )
    return converted


def _copy_weights(source, target, function):
    values = source.get_weights()
    if not values:
        return
    if not target.built or len(target.weights) != len(values):
        raise ValueError(
            f"{function}: the converted model has {len(target.weights)} weights where `model` has {len(values)}; "
            "it could not be rebuilt with the same structure. Build `model` (call it on data) and try again."
        )
    for variable, value in zip(target.weights, values):
        if tuple(variable.shape) != tuple(value.shape):
            raise ValueError(
                f"{function}: the converted model's weight {variable.path} has shape {tuple(variable.shape)} "
                f"where `model` has {tuple(value.shape)}."
            )
    target.set_weights(values)


def to_bidirlib(model, custom_objects=None):
    """Return a copy of `model` in which every `keras.layers.Bidirectional` is a `bidirlib.Bidirectional`.

    The copy is rebuilt from the model's config, with the wrapper's class swapped wherever it appears (in a
    `Sequential`, a functional model, or a model nested in one), and gets every weight of `model`, so it gives the
    same predictions. Layer names and every other layer are kept. If `model` was compiled, the copy is compiled
    with the same settings (a fresh optimizer: its state is not copied). `model` itself is not changed.

    Custom layers, cells and functions that `model` holds are found in it, registered or not.

    Args:
        model: a `keras.Model` (Sequential, functional, or subclassed with `get_config()`/`from_config()`).
        custom_objects: optional dict of further names to classes or functions the config needs.

    Returns:
        A new `keras.Model` of the same kind.

    Raises:
        ValueError: when `model` is not a `keras.Model`, or cannot be rebuilt from its config.

    Example:

    >>> import numpy as np, keras, bidirlib
    >>> model = keras.Sequential([
    ...     keras.Input(shape=(5, 3)),
    ...     keras.layers.Bidirectional(keras.layers.LSTM(4)),
    ...     keras.layers.Dense(1),
    ... ])
    >>> converted = bidirlib.to_bidirlib(model)
    >>> type(converted.layers[0]).__module__
    'bidirlib.bidirectional'
    >>> x = np.ones((2, 5, 3), "float32")
    >>> bool(np.allclose(converted.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6))
    True
    """
    return _convert(model, "bidirlib", custom_objects, "to_bidirlib")


def to_keras(model, custom_objects=None):
    """Return a copy of `model` in which every `bidirlib.Bidirectional` is a `keras.layers.Bidirectional`.

    The way back from `to_bidirlib`, with the same rules: the copy is rebuilt from the config, gets every weight,
    and gives the same predictions. A non-default `fused_path` (bidirlib's own argument) is left out. Keras's
    wrapper keeps its defects (the book's page on them lists each): a backward layer of another width than the forward one, for
    instance, gives Keras a wrong output shape, and then the copy cannot be rebuilt (a `ValueError`).

    Args:
        model: a `keras.Model` (Sequential, functional, or subclassed with `get_config()`/`from_config()`).
        custom_objects: optional dict of further names to classes or functions the config needs.

    Returns:
        A new `keras.Model` of the same kind.

    Raises:
        ValueError: when `model` is not a `keras.Model`, or cannot be rebuilt from its config.

    Example:

    >>> import numpy as np, keras, bidirlib
    >>> model = keras.Sequential([
    ...     keras.Input(shape=(5, 3)),
    ...     bidirlib.Bidirectional(keras.layers.GRU(4, return_sequences=True), merge_mode="sum"),
    ... ])
    >>> back = bidirlib.to_keras(model)
    >>> type(back.layers[0]) is keras.layers.Bidirectional
    True
    >>> x = np.ones((2, 5, 3), "float32")
    >>> bool(np.allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6))
    True
    """
    return _convert(model, "keras", custom_objects, "to_keras")


def load_as_bidirlib(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a `.keras` file saved with `keras.layers.Bidirectional`, with `bidirlib.Bidirectional` in its place.

    The file's config is rewritten (in a temporary copy; the file is not changed) and loaded with
    `keras.saving.load_model`, so the weights, and with `compile=True` the compile settings and the optimizer's
    state, come from the file as Keras would load them. A file saved with bidirlib's wrapper loads as it is.

    Args:
        filepath: path to a `.keras` file.
        custom_objects: optional dict of names to the custom classes and functions the model needs, as for
            `keras.saving.load_model`.
        compile: whether to compile the model after loading, as for `keras.saving.load_model`.
        safe_mode: as for `keras.saving.load_model` (refuses lambdas saved as code).

    Returns:
        The loaded `keras.Model`.

    Raises:
        ValueError: when `filepath` is not a `.keras` file.

    Example:

    >>> import os, tempfile, numpy as np, keras, bidirlib
    >>> model = keras.Sequential([keras.Input(shape=(5, 3)), keras.layers.Bidirectional(keras.layers.LSTM(2))])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
    >>> model.save(path)
    >>> loaded = bidirlib.load_as_bidirlib(path)
    >>> isinstance(loaded.layers[0], bidirlib.Bidirectional)
    True
    >>> x = np.ones((2, 5, 3), "float32")
    >>> bool(np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6))
    True
    """
    path = os.fspath(filepath)
    if not str(path).endswith(".keras") or not zipfile.is_zipfile(path):
        raise ValueError(
            "load_as_bidirlib expects `filepath` to be a `.keras` file written by model.save(). "
            f"Received: filepath={path!r}"
            + ("" if os.path.exists(path) else ", which does not exist") + "."
        )
    directory = tempfile.mkdtemp(prefix="bidirlib_convert_")
    try:
        rewritten = os.path.join(directory, "model.keras")
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "config.json":
                    config, _ = _swap(json.loads(data), "bidirlib")
                    data = json.dumps(config).encode("utf-8")
                target.writestr(item, data)
        return keras.saving.load_model(
            rewritten, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
