"""Wrapping: what `Bidirectional` accepts as its two layers and how it builds them: `weights=`, a backward layer
of another shape or kind, unregistered custom layers and cells, the user's backward layer left untouched, layers
without mask or training arguments, and `trainable=False`. (Unregistered functions inside a layer:
test_custom_functions.py; error messages: test_errors.py.)"""

import keras
import numpy as np
import pytest
from helpers.cells import RunningSum, UnregisteredCell, UnregisteredSequenceLayer
from helpers.parity import ATOL, make_mask, random_sequences, to_numpy

import bidirlib
from bidirlib import Bidirectional


def test_weights_argument_is_applied():
    """Keras defect 1: `weights=` is applied."""
    source = Bidirectional(keras.layers.GRU(3))
    x = random_sequences()
    expected = to_numpy(source(x))
    layer = Bidirectional(keras.layers.GRU(3), weights=source.get_weights())
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=ATOL)
    for a, b in zip(layer.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_asymmetric_backward_layer_gives_the_right_shape_and_a_dense_after_it_builds():
    """Keras defect 2: output shapes come from both layers."""
    forward = keras.layers.LSTM(3, return_sequences=True)
    backward = keras.layers.LSTM(5, return_sequences=True, go_backwards=True)
    wrapper = Bidirectional(forward, backward_layer=backward)
    assert wrapper.compute_output_shape((2, 6, 4)) == (2, 6, 8)
    model = keras.Sequential([keras.Input(shape=(6, 4)), wrapper, keras.layers.Dense(2)])
    assert model.layers[-1].kernel.shape == (8, 2)
    assert tuple(model(random_sequences(batch=2)).shape) == (2, 6, 2)
    none_merge = Bidirectional(
        keras.layers.LSTM(3, return_state=True), merge_mode=None,
        backward_layer=keras.layers.LSTM(5, return_state=True, go_backwards=True),
    )
    assert none_merge.compute_output_shape((2, 6, 4)) == ((2, 3), (2, 5), (2, 3), (2, 3), (2, 5), (2, 5))


def test_unregistered_custom_cell_can_be_wrapped():
    """Keras defect 4: unregistered custom cells can be wrapped (Keras's wrapper cannot locate the class)."""
    with pytest.raises(TypeError, match="Could not locate class"):
        keras.layers.Bidirectional(keras.layers.RNN(UnregisteredCell(3)))  # the Keras defect
    wrapper = Bidirectional(keras.layers.RNN(UnregisteredCell(3), return_sequences=True))
    assert isinstance(wrapper.backward_layer.cell, UnregisteredCell)
    assert wrapper.backward_layer.go_backwards
    assert tuple(wrapper(random_sequences()).shape) == (3, 6, 6)


def test_unregistered_sequence_layer_can_be_wrapped():
    """Keras defect 4: unregistered custom layers can be wrapped."""
    wrapper = Bidirectional(UnregisteredSequenceLayer(2, return_sequences=True), merge_mode="sum")
    assert isinstance(wrapper.backward_layer, UnregisteredSequenceLayer)
    assert tuple(wrapper(random_sequences()).shape) == (3, 6, 2)


def test_backward_layer_object_is_not_mutated_and_keeps_its_settings():
    """Keras defect 5: the user's backward layer is never mutated."""
    forward = keras.layers.LSTM(3, return_sequences=True, use_cudnn=True)
    backward = keras.layers.LSTM(
        3, activation="relu", return_sequences=True, go_backwards=True, zero_output_for_mask=False, use_cudnn=False
    )
    before = backward.get_config()
    wrapper = Bidirectional(forward, backward_layer=backward)
    assert backward.zero_output_for_mask is False and backward.use_cudnn is False
    assert backward.get_config() == before
    assert wrapper.backward_layer is not backward
    assert wrapper.backward_layer.use_cudnn is False  # its own choice, not the forward layer's
    assert wrapper.forward_layer.use_cudnn is True
    assert wrapper.backward_layer.zero_output_for_mask is True  # on the copy, as the API page promises


@pytest.mark.parametrize("cls", [keras.layers.LSTM, keras.layers.GRU])
def test_the_copies_keep_every_setting_and_use_cudnn(cls, tmp_path):
    """keras-team/keras#21533: `use_cudnn` is an argument that LSTM's and GRU's config leaves out, so a copy made
    from the config loses it, and a model that must not run cuDNN (to export without CudnnRNNV3) cannot say so.
    Both copies keep it and every entry of the config (`zero_output_for_mask` is given as the wrapper sets it); the
    wrapper's config, and a `.keras` file, carry it."""
    layer = cls(
        3, use_cudnn=False, activation="relu", dropout=0.25, unroll=True, return_sequences=True,
        zero_output_for_mask=True,
    )
    wrapper = Bidirectional(layer)
    original = layer.get_config()
    for copy, changed in ((wrapper.forward_layer, {"name"}), (wrapper.backward_layer, {"name", "go_backwards"})):
        assert copy.use_cudnn is False
        config = copy.get_config()
        assert {key for key in original if config[key] != original[key]} == changed
    assert wrapper.get_config()["layer"]["config"]["use_cudnn"] is False
    inputs = keras.Input((6, 5))
    model = keras.Model(inputs, wrapper(inputs))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras").layers[1]
    assert loaded.forward_layer.use_cudnn is False and loaded.backward_layer.use_cudnn is False
    # The default is left out, so that configs stay those of Keras's wrapper.
    assert "use_cudnn" not in Bidirectional(cls(3)).get_config()["layer"]["config"]


def test_a_built_backward_layer_keeps_its_weights():
    """Keras defect 5: a built backward layer's weights are kept."""
    backward = keras.layers.GRU(3, go_backwards=True)
    backward(random_sequences())
    wrapper = Bidirectional(keras.layers.GRU(3), backward_layer=backward)
    wrapper(random_sequences())
    for a, b in zip(wrapper.backward_layer.get_weights(), backward.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_layer_without_mask_or_training_arguments_can_be_called_with_them():
    """Keras defect 6: mask and training go only to sub-layers whose call takes them (initial_state: the
    catalogue's initial-state-not-taken cases in test_errors.py)."""
    wrapper = Bidirectional(UnregisteredSequenceLayer(2, return_sequences=True))
    output = wrapper(random_sequences(), mask=make_mask("post"), training=True)
    assert tuple(output.shape) == (3, 6, 4)


def test_a_layer_without_compute_output_shape_can_be_called_eagerly():
    wrapper = Bidirectional(RunningSum(return_sequences=True), merge_mode=None)
    forward, backward = to_numpy(wrapper(np.ones((1, 5, 1), "float32")))
    np.testing.assert_array_equal(forward[0, :, 0], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(backward[0, :, 0], [5, 4, 3, 2, 1])


def test_trainable_false_freezes_both_directions_and_unfreezing_restores_them():
    """Keras defect 13 and stress report item 5: trainable=False on the wrapper freezes both directions (Keras's
    wrapper freezes nothing: the model still trains the sub-layers' weights; tf-keras froze them)."""
    counts = {}
    for cls in (keras.layers.Bidirectional, Bidirectional):
        model = keras.Sequential([keras.Input((5, 2)), cls(keras.layers.LSTM(3), trainable=False)])
        counts[cls.__module__.split(".")[0]] = len(model.trainable_weights)
    assert counts == {"keras": 6, "bidirlib": 0}

    wrapper = bidirlib.Bidirectional(keras.layers.LSTM(3), trainable=False)
    wrapper(np.zeros((1, 5, 2), "float32"))
    assert wrapper.trainable_weights == []
    assert not wrapper.forward_layer.trainable and not wrapper.backward_layer.trainable
    assert len(wrapper.non_trainable_weights) == 6
    model = keras.Sequential([keras.Input((5, 2)), wrapper, keras.layers.Dense(1)])
    assert len(model.trainable_weights) == 2  # the Dense layer's only
    model.compile(optimizer="sgd", loss="mse")
    before = wrapper.get_weights()
    model.fit(random_sequences(batch=4, steps=5, features=2), np.ones((4, 1), "float32"), epochs=1, verbose=0)
    for b, a in zip(before, wrapper.get_weights()):
        np.testing.assert_array_equal(a, b)
    wrapper.trainable = True
    assert len(model.trainable_weights) == 8
