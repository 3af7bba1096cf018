"""One test (or more) for each Keras 3.15.1 defect that bidirlib fixes; numbers follow the book's page of Keras's wrapper defects (reference/keras_defects.ipynb)."""

import doctest

import keras
import numpy as np
import pytest
from helpers.cells import RunningSum, UnregisteredCell, UnregisteredSequenceLayer
from helpers.parity import ATOL, make_mask, random_sequences, to_numpy

import bidirlib
from bidirlib import Bidirectional


# 1. `weights=` is applied.
def test_1_weights_argument_is_applied():
    source = Bidirectional(keras.layers.GRU(3))
    x = random_sequences()
    expected = to_numpy(source(x))
    layer = Bidirectional(keras.layers.GRU(3), weights=source.get_weights())
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=ATOL)
    for a, b in zip(layer.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)


# 2. Output shapes come from both layers.
def test_2_asymmetric_backward_layer_gives_the_right_shape_and_a_dense_after_it_builds():
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


# 3. `initial_state` is validated (the error cases are in test_errors.py); the split follows each direction.
def test_3_initial_state_split_follows_each_direction_state_count():
    wrapper = Bidirectional(
        keras.layers.LSTM(3, return_state=True),
        backward_layer=keras.layers.GRU(3, return_state=True, go_backwards=True),
    )
    x = random_sequences()
    h_f, c_f, h_b = (np.full((3, 3), v, "float32") for v in (0.5, -0.5, 0.25))
    output, *states = wrapper(x, initial_state=[h_f, c_f, h_b])
    forward_alone = wrapper.forward_layer(x, initial_state=[h_f, c_f])
    backward_alone = wrapper.backward_layer(x, initial_state=[h_b])
    np.testing.assert_allclose(to_numpy(states), to_numpy(forward_alone[1:]) + to_numpy(backward_alone[1:]), atol=ATOL)
    with pytest.raises(ValueError, match="must hold 3 tensors: 2 for the forward layer"):
        wrapper(x, initial_state=[h_f, c_f, h_b, h_b])


# 4. Unregistered custom layers and cells can be wrapped.
def test_4_unregistered_custom_cell_can_be_wrapped():
    with pytest.raises(TypeError, match="Could not locate class"):
        keras.layers.Bidirectional(keras.layers.RNN(UnregisteredCell(3)))  # the Keras defect
    wrapper = Bidirectional(keras.layers.RNN(UnregisteredCell(3), return_sequences=True))
    assert isinstance(wrapper.backward_layer.cell, UnregisteredCell)
    assert wrapper.backward_layer.go_backwards
    assert tuple(wrapper(random_sequences()).shape) == (3, 6, 6)


def test_4_unregistered_sequence_layer_can_be_wrapped():
    wrapper = Bidirectional(UnregisteredSequenceLayer(2, return_sequences=True), merge_mode="sum")
    assert isinstance(wrapper.backward_layer, UnregisteredSequenceLayer)
    assert tuple(wrapper(random_sequences()).shape) == (3, 6, 2)


# 5. The user's backward layer is never mutated.
def test_5_backward_layer_object_is_not_mutated_and_keeps_its_settings():
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


def test_5_a_built_backward_layer_keeps_its_weights():
    backward = keras.layers.GRU(3, go_backwards=True)
    backward(random_sequences())
    wrapper = Bidirectional(keras.layers.GRU(3), backward_layer=backward)
    wrapper(random_sequences())
    for a, b in zip(wrapper.backward_layer.get_weights(), backward.get_weights()):
        np.testing.assert_array_equal(a, b)


# 6. initial_state, mask and training go only to sub-layers whose call takes them.
def test_6_layer_without_mask_or_training_arguments_can_be_called_with_them():
    wrapper = Bidirectional(UnregisteredSequenceLayer(2, return_sequences=True))
    output = wrapper(random_sequences(), mask=make_mask("post"), training=True)
    assert tuple(output.shape) == (3, 6, 4)


def test_6_initial_state_for_a_layer_that_takes_none_is_a_clear_error():
    wrapper = Bidirectional(UnregisteredSequenceLayer(2))
    with pytest.raises(ValueError, match="does not take an `initial_state` argument"):
        wrapper(random_sequences(), initial_state=[np.zeros((3, 2), "float32")] * 2)


# 7. stateful + return_state + mask.
def test_7_stateful_return_state_with_mask():
    inputs = keras.Input(batch_shape=(3, 6, 4))
    masked = keras.layers.Masking(0.0)(inputs)
    output, *states = Bidirectional(keras.layers.LSTM(3, stateful=True, return_state=True, return_sequences=True))(masked)
    model = keras.Model(inputs, [output, *states])
    x = random_sequences()
    x[0, 4:] = 0.0
    results = model.predict(x, verbose=0)
    assert len(results) == 5
    assert np.all(results[0][0, 4:] == 0)


# 8. Masked steps give zero outputs on every backend, unroll=True included.
@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
def test_8_masked_steps_are_zero(unroll, merge_mode):
    wrapper = Bidirectional(keras.layers.GRU(3, unroll=unroll, return_sequences=True), merge_mode=merge_mode)
    mask = make_mask("holes")
    for output in to_numpy(wrapper(random_sequences(), mask=mask)):
        assert np.all(output[~mask] == 0)
        assert np.all(np.abs(output[mask]).sum(axis=-1) > 0)


@pytest.mark.parametrize("kind", [keras.layers.GRU, keras.layers.LSTM])
def test_8_unrolled_and_rolled_loops_agree_under_a_mask(kind):
    # On torch, Keras's own unrolled backward loop crashes under a mask; bidirlib must give the rolled numbers.
    rolled = Bidirectional(kind(3, return_sequences=True, return_state=True))
    x, mask = random_sequences(), make_mask("holes")
    expected = to_numpy(rolled(x, mask=mask))
    unrolled = Bidirectional(kind(3, unroll=True, return_sequences=True, return_state=True), weights=rolled.get_weights())
    for actual, wanted in zip(to_numpy(unrolled(x, mask=mask)), expected):
        np.testing.assert_allclose(actual, wanted, atol=ATOL)


# 9. Masks propagate, so stacked wrappers over Embedding(mask_zero=True) ignore padding.
def test_9_stacked_wrappers_ignore_padding():
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(10, 4, mask_zero=True),
        Bidirectional(keras.layers.LSTM(3, return_sequences=True)),
        Bidirectional(keras.layers.LSTM(3)),
    ])
    tokens = np.array([[4, 2, 7]], "int32")
    padded = np.array([[4, 2, 7, 0, 0]], "int32")
    np.testing.assert_allclose(to_numpy(model(padded)), to_numpy(model(tokens)), atol=ATOL)
    layer = model.layers[1]
    assert layer.compute_mask(None, np.array([[True, False]])) is not None


# 10. The path taken can be found out.
def test_10_path_taken_is_reported(monkeypatch):
    # CI runs this file once more with the environment variable set to "off": the reasons below are the layer's own,
    # so the variable is cleared here and its own reason checked at the end.
    monkeypatch.delenv(bidirlib.fused.ENVIRONMENT_VARIABLE, raising=False)
    wrapper = Bidirectional(keras.layers.LSTM(3))
    assert wrapper.last_call_path is None
    wrapper(random_sequences())
    # Keras's fused kernel on a GPU; on a CPU, bidirlib's fast path where the backend has one.
    paths = ("separate", "fused_lstm", "torch_lstm", "tf_block_lstm", "stacked_lstm", "direction_parallel")
    assert wrapper.last_call_path in paths
    if wrapper.last_call_path == "separate":
        assert wrapper.last_fused_fallback  # says why
    wrapper.fused_path = "off"
    wrapper(random_sequences())
    assert wrapper.last_call_path == "separate"
    # Under a direction mesh (CI's JAX run) a reason adds "(also for direction parallelism)".
    assert wrapper.last_fused_fallback.startswith("fused_path is 'off'")
    wrapper.fused_path = "auto"
    wrapper(random_sequences(), mask=make_mask("post"))
    assert wrapper.last_fused_fallback.startswith("a mask was given")
    monkeypatch.setenv(bidirlib.fused.ENVIRONMENT_VARIABLE, "off")
    wrapper(random_sequences())
    assert wrapper.last_call_path == "separate"
    assert wrapper.last_fused_fallback.startswith("the environment variable BIDIRLIB_FUSED_PATH is 'off'")


# 11. reset_states(states) sets the states.
def test_11_reset_states_with_values():
    wrapper = Bidirectional(keras.layers.LSTM(3, stateful=True))
    x = random_sequences()
    wrapper(x)
    values = [np.full((3, 3), v, "float32") for v in (0.1, 0.2, 0.3, 0.4)]
    wrapper.reset_states(values)
    np.testing.assert_allclose(to_numpy(wrapper.states), values)
    # The next call starts from them: the same as passing them as initial_state to a twin.
    twin = Bidirectional(keras.layers.LSTM(3), weights=wrapper.get_weights())
    np.testing.assert_allclose(to_numpy(wrapper(x)), to_numpy(twin(x, initial_state=values)), atol=ATOL)


# 12. The docstring's examples run (the first one had a missing parenthesis in Keras).
def test_12_docstring_examples_run():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = finder.find(bidirlib.Bidirectional, "Bidirectional", globs={})
    assert tests and sum(len(t.examples) for t in tests) >= 10
    for test in tests:
        runner.run(test)
    assert runner.failures == 0


# 13. trainable=False on the wrapper freezes both directions (Keras's wrapper freezes nothing: the model still
#     trains the sub-layers' weights; tf-keras froze them).
def test_13_trainable_false_freezes_both_directions():
    counts = {}
    for cls in (keras.layers.Bidirectional, Bidirectional):
        model = keras.Sequential([keras.Input((5, 2)), cls(keras.layers.LSTM(3), trainable=False)])
        counts[cls.__module__.split(".")[0]] = len(model.trainable_weights)
    assert counts == {"keras": 6, "bidirlib": 0}


# 14. Unrolled loops give the rolled loop's numbers under a mask that does not read the same reversed (Keras's
#     unrolled TensorFlow loop with go_backwards zeroes outputs by the unreversed mask; on PyTorch it crashes).
def test_14_unrolled_loop_agrees_with_the_rolled_one_under_an_asymmetric_mask():
    mask = np.array([[False, True, True, True, True, True], [True, False, True, True, True, False],
                     [True, True, True, True, False, False]])
    x = random_sequences()
    rolled = Bidirectional(keras.layers.GRU(3, return_sequences=True))
    expected = to_numpy(rolled(x, mask=mask))
    unrolled = Bidirectional(keras.layers.GRU(3, unroll=True, return_sequences=True), weights=rolled.get_weights())
    np.testing.assert_allclose(to_numpy(unrolled(x, mask=mask))[0], expected[0], atol=ATOL)


# 15. A model built with Keras's wrapper has no way over: custom_objects={"Bidirectional": ...} silently keeps
#     Keras's class. bidirlib.to_bidirlib swaps the wrappers, weights kept.
def test_15_a_keras_model_converts_to_bidirlib_with_equal_predictions():
    model = keras.Sequential([keras.Input((6, 4)), keras.layers.Bidirectional(keras.layers.LSTM(3))])
    converted = bidirlib.to_bidirlib(model)
    assert isinstance(converted.layers[0], Bidirectional)
    x = random_sequences()
    np.testing.assert_allclose(to_numpy(converted(x)), to_numpy(model(x)), atol=ATOL)


# 16. A layer with an unregistered custom activation function can be wrapped (Keras refuses it: its copy of the
#     layer is made through the serialization registry).
def _scaled_tanh(x):
    return keras.ops.tanh(x) * 0.5


def test_16_unregistered_activation_function_can_be_wrapped():
    with pytest.raises(Exception):
        keras.layers.Bidirectional(keras.layers.LSTM(3, activation=_scaled_tanh))
    wrapper = Bidirectional(keras.layers.LSTM(3, activation=_scaled_tanh))
    assert wrapper.forward_layer.cell.activation is _scaled_tanh
    assert tuple(wrapper(random_sequences()).shape) == (3, 6)


def test_a_layer_without_compute_output_shape_can_be_called_eagerly():
    wrapper = Bidirectional(RunningSum(return_sequences=True), merge_mode=None)
    forward, backward = to_numpy(wrapper(np.ones((1, 5, 1), "float32")))
    np.testing.assert_array_equal(forward[0, :, 0], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(backward[0, :, 0], [5, 4, 3, 2, 1])
