"""Saving and loading: .keras files round-trip, and configs written by Keras's wrapper load into bidirlib's."""

import keras
import numpy as np
import pytest
from helpers.cells import UnregisteredCell
from helpers.parity import ATOL, copy_weights, random_sequences, to_numpy

import bidirlib


def _stacked_model():
    return keras.Sequential([
        keras.Input(shape=(6, 4)),
        bidirlib.Bidirectional(keras.layers.LSTM(5, return_sequences=True), merge_mode="sum"),
        bidirlib.Bidirectional(
            keras.layers.GRU(3, return_sequences=True),
            backward_layer=keras.layers.GRU(4, activation="relu", return_sequences=True, go_backwards=True),
        ),
        bidirlib.Bidirectional(keras.layers.SimpleRNN(2), merge_mode="ave"),
        keras.layers.Dense(2, activation="softmax"),
    ])


def test_keras_file_round_trip_gives_identical_predictions(tmp_path):
    model = _stacked_model()
    x = random_sequences(batch=5)
    expected = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert loaded.layers[1].backward_layer.units == 4
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)


def test_unregistered_cell_round_trips_with_custom_objects(tmp_path):
    model = keras.Sequential([
        keras.Input(shape=(6, 4)),
        bidirlib.Bidirectional(keras.layers.RNN(UnregisteredCell(3))),
    ])
    x = random_sequences()
    path = tmp_path / "custom.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, custom_objects={"UnregisteredCell": UnregisteredCell})
    np.testing.assert_array_equal(to_numpy(loaded(x)), to_numpy(model(x)))


@pytest.mark.parametrize("merge_mode", ["concat", "mul", None])
def test_config_written_by_keras_loads_into_bidirlib(merge_mode):
    reference = keras.layers.Bidirectional(
        keras.layers.LSTM(3, return_sequences=True, return_state=True), merge_mode=merge_mode, name="bi"
    )
    x = random_sequences()
    expected = to_numpy(reference(x))
    ours = bidirlib.Bidirectional.from_config(reference.get_config())
    assert ours.get_config() == reference.get_config()
    ours(x)
    copy_weights(reference, ours)
    for actual, wanted in zip(to_numpy(ours(x)), expected):
        np.testing.assert_allclose(actual, wanted, atol=ATOL)


def test_registered_name():
    assert keras.saving.get_registered_name(bidirlib.Bidirectional) == "bidirlib>Bidirectional"


@pytest.mark.parametrize("setting", ["off", "stacked"])
def test_fused_path_setting_survives_config_and_keras_file(setting, tmp_path):
    layer = bidirlib.Bidirectional(keras.layers.LSTM(3, return_sequences=True), fused_path=setting)
    assert layer.get_config()["fused_path"] == setting
    assert bidirlib.Bidirectional.from_config(layer.get_config()).fused_path == setting
    model = keras.Sequential([keras.Input(shape=(6, 4)), layer])
    x = random_sequences()
    expected = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path).layers[0]
    assert loaded.fused_path == setting
    loaded(x)
    assert loaded.last_call_path == ("separate" if setting == "off" else "stacked_lstm")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), expected, atol=ATOL)


def test_default_fused_path_keeps_keras_config():
    layer = bidirlib.Bidirectional(keras.layers.LSTM(3))
    assert "fused_path" not in layer.get_config()
    assert set(layer.get_config()) == set(keras.layers.Bidirectional(keras.layers.LSTM(3)).get_config())
