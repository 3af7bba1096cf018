"""bidirlib.convert: models built or saved with keras.layers.Bidirectional become bidirlib's, and back, same numbers."""

import keras
import numpy as np
import pytest
from helpers.cells import UnregisteredSequenceLayer
from helpers.parity import random_sequences, to_numpy

import bidirlib

ATOL = 1e-6


def _wrappers(model):
    """Every Bidirectional in `model`, nested models included, in order."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += _wrappers(layer)
        elif isinstance(layer, (keras.layers.Bidirectional, bidirlib.Bidirectional)):
            found.append(layer)
    return found


def sequential_stacked():
    return keras.Sequential([
        keras.Input(shape=(6, 4)),
        keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True), merge_mode="sum"),
        keras.layers.Bidirectional(
            keras.layers.GRU(3, return_sequences=True),
            backward_layer=keras.layers.GRU(3, activation="relu", return_sequences=True, go_backwards=True),
        ),
        keras.layers.Bidirectional(keras.layers.SimpleRNN(2), merge_mode="ave"),
        keras.layers.Dense(2, activation="softmax"),
    ], name="stacked")


def functional_merge_none():
    inputs = keras.Input(shape=(6, 4))
    forward, backward = keras.layers.Bidirectional(
        keras.layers.GRU(3, return_sequences=True), merge_mode=None, name="split"
    )(inputs)
    merged = keras.layers.Concatenate()([forward, keras.layers.Dense(3)(backward)])
    outputs = keras.layers.Bidirectional(keras.layers.LSTM(2), merge_mode="mul")(merged)
    return keras.Model(inputs, outputs, name="functional_none")


def functional_return_state():
    inputs = keras.Input(shape=(6, 4))
    output, h_forward, c_forward, h_backward, c_backward = keras.layers.Bidirectional(
        keras.layers.LSTM(3, return_state=True), name="with_states"
    )(inputs)
    states = keras.layers.Concatenate()([h_forward, c_backward])
    return keras.Model(inputs, [output, states, c_forward, h_backward], name="functional_states")


def nested():
    inner = keras.Sequential([
        keras.Input(shape=(6, 4)),
        keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True)),
    ], name="inner")
    inputs = keras.Input(shape=(6, 4))
    hidden = inner(inputs)
    outputs = keras.layers.Bidirectional(keras.layers.GRU(2))(hidden)
    return keras.Model(inputs, keras.layers.Dense(1)(outputs), name="outer")


MODELS = {
    "sequential stacked, custom backward layer": (sequential_stacked, 3),
    "functional, merge_mode None": (functional_merge_none, 2),
    "functional, return_state": (functional_return_state, 1),
    "nested model": (nested, 2),
}


def _predict(model, x):
    return to_numpy(model.predict(x, verbose=0))


@pytest.mark.parametrize("name", list(MODELS))
def test_to_bidirlib_swaps_every_wrapper_and_keeps_the_predictions(name):
    """Keras defect 15: a model built with Keras's wrapper has no way over (custom_objects={"Bidirectional": ...}
    silently keeps Keras's class: test_keras_file_saved_with_keras_wrapper_loads_as_bidirlib); to_bidirlib swaps
    the wrappers, weights kept, and to_keras swaps them back."""
    make, count = MODELS[name]
    model = make()
    x = random_sequences(batch=5)
    expected = _predict(model, x)
    converted = bidirlib.to_bidirlib(model)
    wrappers = _wrappers(converted)
    assert len(wrappers) == count and all(type(w) is bidirlib.Bidirectional for w in wrappers)
    assert all(type(w) is keras.layers.Bidirectional for w in _wrappers(model)), "the original was changed"
    assert [w.name for w in wrappers] == [w.name for w in _wrappers(model)]
    assert type(converted) is type(model)
    actual = _predict(converted, x)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, atol=ATOL)

    back = bidirlib.to_keras(converted)
    assert all(type(w) is keras.layers.Bidirectional for w in _wrappers(back))
    for a, e in zip(_predict(back, x), expected):
        np.testing.assert_allclose(a, e, atol=ATOL)


def test_custom_backward_layer_is_kept():
    converted = bidirlib.to_bidirlib(sequential_stacked())
    backward = converted.layers[1].backward_layer
    assert backward.activation is keras.activations.relu and backward.go_backwards


def test_a_compiled_model_stays_compiled_and_trains():
    model = sequential_stacked()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    converted = bidirlib.to_bidirlib(model)
    assert converted.compiled
    x, y = random_sequences(batch=4), np.eye(2, dtype="float32")[[0, 1, 0, 1]]
    converted.fit(x, y, epochs=1, verbose=0)


def test_keras_file_saved_with_keras_wrapper_loads_as_bidirlib(tmp_path):
    model = sequential_stacked()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x = random_sequences(batch=4)
    model.fit(x, np.eye(2, dtype="float32")[[0, 1, 0, 1]], epochs=1, verbose=0)
    path = tmp_path / "keras_wrapper.keras"
    model.save(path)
    # What the issue reports: custom_objects alone keeps Keras's class.
    plain = keras.saving.load_model(path, custom_objects={"Bidirectional": bidirlib.Bidirectional})
    assert type(plain.layers[0]) is keras.layers.Bidirectional
    loaded = bidirlib.load_as_bidirlib(path)
    assert [type(layer) for layer in loaded.layers[:3]] == [bidirlib.Bidirectional] * 3
    assert loaded.compiled and int(loaded.optimizer.iterations.numpy()) == 1  # the optimizer's state came along
    np.testing.assert_allclose(_predict(loaded, x)[0], _predict(model, x)[0], atol=ATOL)
    # Saved again, it is a bidirlib model for plain load_model (after import bidirlib).
    again = tmp_path / "bidirlib_wrapper.keras"
    loaded.save(again)
    assert type(keras.saving.load_model(again).layers[0]) is bidirlib.Bidirectional


class RunningMean(UnregisteredSequenceLayer):
    """Unregistered, with what Keras's own wrapper also needs: a `stateful` attribute, `initial_state` in call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stateful = False

    def call(self, sequences, initial_state=None):
        return super().call(sequences)


def test_load_as_bidirlib_with_custom_objects(tmp_path):
    inputs = keras.Input(shape=(6, 4))
    with keras.saving.custom_object_scope({"RunningMean": RunningMean}):
        # Keras's own wrapper clones an unregistered layer only inside a scope (its defect 4).
        outputs = keras.layers.Bidirectional(RunningMean(2, return_sequences=True))(inputs)
    path = tmp_path / "custom.keras"
    model = keras.Model(inputs, outputs)
    model.save(path)
    x = random_sequences()
    loaded = bidirlib.load_as_bidirlib(path, custom_objects={"RunningMean": RunningMean})
    assert type(loaded.layers[1]) is bidirlib.Bidirectional
    np.testing.assert_allclose(_predict(loaded, x)[0], _predict(model, x)[0], atol=ATOL)


@pytest.mark.parametrize("function", [bidirlib.to_bidirlib, bidirlib.to_keras])
@pytest.mark.parametrize("value", ["model.keras", keras.layers.LSTM(3), None], ids=["path", "layer", "None"])
def test_anything_but_a_model_is_refused_clearly(function, value):
    with pytest.raises(ValueError, match=rf"{function.__name__} expects `model` to be a `keras.Model`.*Received"):
        function(value)


def test_load_as_bidirlib_refuses_what_is_not_a_keras_file(tmp_path):
    with pytest.raises(ValueError, match=r"`filepath` to be a `\.keras` file.*does not exist"):
        bidirlib.load_as_bidirlib(tmp_path / "missing.keras")
    weights = tmp_path / "model.weights.h5"
    weights.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"`filepath` to be a `\.keras` file"):
        bidirlib.load_as_bidirlib(weights)
