"""`merge_mode` as a function of the user's: its numbers, its output shape, and its round trips through a config,
a `.keras` file and a SavedModel export (ONNX export: tests/library/test_export.py)."""

import os
import warnings

import keras
from keras import ops
import numpy as np
import pytest

from bidirlib import Bidirectional

BACKEND = keras.backend.backend()
X = np.random.default_rng(0).normal(size=(3, 6, 4)).astype("float32")
MASK = np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4], bool)


@keras.saving.register_keras_serializable(package="bidirlib_tests")
def gated_difference(forward, backward):
    """A merge no name gives: the forward output gated by the backward one, beside their difference."""
    return ops.concatenate([forward * ops.sigmoid(backward), forward - backward], axis=-1)


@keras.saving.register_keras_serializable(package="bidirlib_tests")
def elementwise_max(forward, backward):
    return ops.maximum(forward, backward)


KINDS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple_rnn": keras.layers.SimpleRNN}


def pair(kind="lstm", merge_mode=gated_difference, fused_path="auto", **layer_kwargs):
    """A wrapper with `merge_mode` and one with `merge_mode=None`, sharing one set of weights."""
    layer_kwargs = {"return_sequences": True, **layer_kwargs}
    merged = Bidirectional(KINDS[kind](3, **layer_kwargs), merge_mode=merge_mode, fused_path=fused_path)
    separate = Bidirectional(KINDS[kind](3, **layer_kwargs), merge_mode=None, fused_path=fused_path)
    merged(X)
    separate(X)
    separate.set_weights(merged.get_weights())
    return merged, separate


def numpy(x):
    return ops.convert_to_numpy(x)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("fused_path", ["auto", "off"])
def test_the_function_gets_the_two_aligned_outputs(kind, return_sequences, fused_path):
    merged, separate = pair(kind, return_sequences=return_sequences, fused_path=fused_path)
    forward, backward = separate(X)
    expected = numpy(gated_difference(forward, backward))
    np.testing.assert_allclose(numpy(merged(X)), expected, rtol=1e-6, atol=1e-6)


def test_states_and_masks_pass_through_a_function_merge():
    merged, separate = pair(merge_mode=elementwise_max, return_state=True)
    output, *states = merged(X, mask=MASK)
    forward, backward, *separate_states = separate(X, mask=MASK)
    np.testing.assert_allclose(numpy(output), numpy(ops.maximum(forward, backward)), atol=1e-6)
    for state, separate_state in zip(states, separate_states, strict=True):
        np.testing.assert_allclose(numpy(state), numpy(separate_state), atol=1e-6)
    assert merged.compute_mask(X, ops.convert_to_tensor(MASK))[0] is not None


@pytest.mark.parametrize("return_sequences", [True, False])
def test_the_output_shape_is_found_by_running_the_function_symbolically(return_sequences):
    layer = Bidirectional(keras.layers.GRU(5, return_sequences=return_sequences), merge_mode=gated_difference)
    symbolic = layer(keras.Input((None, 4)))
    expected = (None, None, 10) if return_sequences else (None, 10)
    assert tuple(symbolic.shape) == expected
    assert tuple(layer.compute_output_shape((None, None, 4))) == expected
    assert tuple(layer(X).shape) == ((3, 6, 10) if return_sequences else (3, 10))


def _model(merge_mode=gated_difference):
    inputs = keras.Input((6, 4))
    hidden = Bidirectional(keras.layers.LSTM(3, return_sequences=True), merge_mode=merge_mode)(inputs)
    outputs = keras.layers.Dense(2)(hidden)
    model = keras.Model(inputs, outputs)
    return model


def test_config_round_trip_gives_the_same_function_and_numbers():
    layer, _ = pair()
    config = layer.get_config()
    assert config["merge_mode"]["config"] == "bidirlib_tests>gated_difference"
    copy = Bidirectional.from_config(config)
    assert copy.merge_mode is gated_difference
    copy(X)
    copy.set_weights(layer.get_weights())
    np.testing.assert_allclose(numpy(copy(X)), numpy(layer(X)), atol=1e-6)


def test_a_keras_file_round_trip_keeps_the_function_and_numbers(tmp_path):
    model = _model()
    expected = numpy(model(X))
    path = str(tmp_path / "merge.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.layers[1].merge_mode is gated_difference
    np.testing.assert_allclose(numpy(loaded(X)), expected, atol=1e-6)


def test_a_lambda_is_saved_as_keras_saves_one_and_loads_only_unsafely(tmp_path):
    model = _model(merge_mode=lambda forward, backward: forward - backward)
    expected = numpy(model(X))
    path = str(tmp_path / "lambda.keras")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.save(path)
    assert any("lambda" in str(warning.message) for warning in caught)
    with pytest.raises(ValueError, match="lambda"):
        keras.saving.load_model(path)
    loaded = keras.saving.load_model(path, safe_mode=False)
    np.testing.assert_allclose(numpy(loaded(X)), expected, atol=1e-6)


def test_a_model_with_a_function_merge_trains():
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    target = np.zeros((3, 6, 2), "float32")
    before = float(model.evaluate(X, target, verbose=0))
    model.fit(X, target, epochs=5, verbose=0)
    assert float(model.evaluate(X, target, verbose=0)) < before



@pytest.mark.skipif(
    BACKEND == "torch", reason="Keras 3.15's SavedModel export from PyTorch fails for any model (torch.export's "
    "dynamic shapes), Keras's own wrapper included"
)
def test_a_saved_model_export_runs_the_function(tmp_path):
    import tensorflow as tf

    model = _model()
    expected = numpy(model(X))
    path = os.path.join(tmp_path, "saved")
    model.export(path, format="tf_saved_model", verbose=False)
    served = tf.saved_model.load(path)
    np.testing.assert_allclose(served.serve(X).numpy(), expected, atol=1e-5)


def test_to_keras_refuses_a_function_merge_and_to_bidirlib_keeps_names():
    import bidirlib

    with pytest.raises(ValueError, match=r"(?s)to_keras: the Bidirectional layer .*gated_difference.*takes only"):
        bidirlib.to_keras(_model())
