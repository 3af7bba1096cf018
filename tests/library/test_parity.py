"""Differential tests: bidirlib.Bidirectional gives Keras's numbers, given the same weights.

Each case builds `keras.layers.Bidirectional` and `bidirlib.Bidirectional` from the same arguments, copies the
weights across, feeds the same inputs and compares every output and state (atol 1e-5).
"""

import itertools

import keras
import numpy as np
import pytest
from helpers.cells import RegisteredCell
from helpers.parity import ATOL, assert_same_outputs, copy_weights, make_mask, make_pair, random_sequences, to_numpy

import bidirlib

MERGE_MODES = ["concat", "sum", "mul", "ave", None]

LAYER_KINDS = {
    "LSTM": lambda **kw: keras.layers.LSTM(3, name="lstm", **kw),
    "GRU": lambda **kw: keras.layers.GRU(3, name="gru", **kw),
    "SimpleRNN": lambda **kw: keras.layers.SimpleRNN(3, name="simple_rnn", **kw),
    "RNN(custom cell)": lambda **kw: keras.layers.RNN(RegisteredCell(3), name="rnn", **kw),
    "RNN(stacked cells)": lambda **kw: keras.layers.RNN(
        [keras.layers.GRUCell(4), keras.layers.LSTMCell(3)], name="stacked", **kw
    ),
}


def _is_jax_unrolled(**layer_kwargs):
    return keras.backend.backend() in ("jax", "numpy") and layer_kwargs.get("unroll")


@pytest.mark.parametrize(
    "kind, merge_mode, return_sequences, return_state",
    list(itertools.product(LAYER_KINDS, MERGE_MODES, [False, True], [False, True])),
)
def test_outputs_and_states_match_keras(kind, merge_mode, return_sequences, return_state):
    make = LAYER_KINDS[kind]
    reference, ours = make_pair(
        lambda: make(return_sequences=return_sequences, return_state=return_state), merge_mode=merge_mode
    )
    assert_same_outputs(reference, ours, random_sequences())


@pytest.mark.parametrize("mask_kind", ["post", "pre", "holes", "fully_masked_row"])
@pytest.mark.parametrize("kind", list(LAYER_KINDS))
@pytest.mark.parametrize("return_sequences", [False, True])
def test_masks_match_keras(kind, mask_kind, return_sequences):
    make = LAYER_KINDS[kind]
    reference, ours = make_pair(lambda: make(return_sequences=return_sequences, return_state=True))
    mask = make_mask(mask_kind)
    outputs = assert_same_outputs(reference, ours, random_sequences(), mask=mask)
    if return_sequences:
        assert np.all(outputs[0][~mask] == 0), "masked steps must give zero outputs"


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN", "RNN(stacked cells)"])
def test_initial_state_is_split_forward_then_backward(kind):
    make = LAYER_KINDS[kind]
    reference, ours = make_pair(lambda: make(return_sequences=True, return_state=True), merge_mode=None)
    x = random_sequences()
    reference(x)
    flat_states = keras.tree.flatten(reference(x)[2:])
    rng = np.random.default_rng(3)
    initial = [rng.normal(size=tuple(s.shape)).astype("float32") for s in flat_states]
    if kind == "RNN(stacked cells)":
        # A stacked RNN takes one entry per cell: [h_gru] and [h_lstm, c_lstm] for each direction.
        initial = [initial[0], initial[1:3], initial[3], initial[4:6]]
    outputs = assert_same_outputs(reference, ours, x, initial_state=initial)
    # The states the call returns start from the given ones: a zero initial state gives other numbers.
    assert not np.allclose(outputs[0], to_numpy(ours(x))[0])


@pytest.mark.parametrize("merge_mode", MERGE_MODES)
def test_stateful_across_batches_matches_keras(merge_mode):
    reference, ours = make_pair(
        lambda: keras.layers.LSTM(3, stateful=True, return_sequences=True, name="lstm"), merge_mode=merge_mode
    )
    first, second = random_sequences(seed=1), random_sequences(seed=2)
    reference(first)
    ours(first)
    copy_weights(reference, ours)
    reference.reset_states()
    ours.reset_states()
    for batch in (first, second, first):
        np.testing.assert_allclose(to_numpy(ours(batch)), to_numpy(reference(batch)), atol=ATOL)
    np.testing.assert_allclose(to_numpy(ours.states), to_numpy(reference.states), atol=ATOL)
    reference.reset_states()
    ours.reset_states()
    assert all(np.all(s == 0) for s in to_numpy(ours.states))
    np.testing.assert_allclose(to_numpy(ours(first)), to_numpy(reference(first)), atol=ATOL)


@pytest.mark.parametrize("merge_mode", ["concat", None, "sum"])
def test_custom_backward_layer_with_other_activation(merge_mode):
    reference, ours = make_pair(
        lambda: keras.layers.LSTM(3, return_sequences=True, name="lstm"),
        make_backward=lambda: keras.layers.LSTM(
            3, activation="relu", return_sequences=True, go_backwards=True, name="relu_lstm"
        ),
        merge_mode=merge_mode,
    )
    assert_same_outputs(reference, ours, random_sequences())


@pytest.mark.parametrize("merge_mode", ["concat", None])
def test_custom_backward_layer_with_other_units(merge_mode):
    reference, ours = make_pair(
        lambda: keras.layers.GRU(3, return_sequences=True, return_state=True, name="gru"),
        make_backward=lambda: keras.layers.GRU(
            5, return_sequences=True, return_state=True, go_backwards=True, name="wide_gru"
        ),
        merge_mode=merge_mode,
    )
    outputs = assert_same_outputs(reference, ours, random_sequences())
    if merge_mode == "concat":
        assert outputs[0].shape[-1] == 8


def test_dropout_is_off_at_inference():
    reference, ours = make_pair(
        lambda: keras.layers.LSTM(3, dropout=0.4, recurrent_dropout=0.3, return_sequences=True, name="lstm")
    )
    assert_same_outputs(reference, ours, random_sequences(), training=False)


@pytest.mark.parametrize("unroll", [False, True])
def test_unrolled_layers_match_keras_without_mask(unroll):
    reference, ours = make_pair(lambda: keras.layers.GRU(3, unroll=unroll, return_sequences=True, name="gru"))
    assert_same_outputs(reference, ours, random_sequences())


def _model(wrapper, steps=6, features=4):
    inputs = keras.Input(shape=(steps, features))
    hidden = wrapper(inputs)
    if isinstance(hidden, (list, tuple)):
        hidden = keras.layers.Concatenate(name="join")(list(hidden))
    if len(hidden.shape) == 3:
        hidden = keras.layers.GlobalAveragePooling1D(name="pool")(hidden)
    outputs = keras.layers.Dense(2, name="head")(hidden)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    "kind, merge_mode",
    [(kind, "concat") for kind in LAYER_KINDS] + [("LSTM", mode) for mode in MERGE_MODES if mode != "concat"],
)
def test_one_training_step_updates_weights_like_keras(kind, merge_mode):
    make = LAYER_KINDS[kind]
    reference, ours = make_pair(lambda: make(return_sequences=True), merge_mode=merge_mode)
    models = [_model(reference), _model(ours)]
    copy_weights(models[0], models[1])
    x = random_sequences(batch=8)
    y = np.random.default_rng(5).normal(size=(8, 2)).astype("float32")
    for model in models:
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.train_on_batch(x, y)
    for before, after in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(after, before, atol=ATOL)


def test_functional_output_shapes_match_keras():
    for merge_mode in MERGE_MODES:
        for return_state in (False, True):
            shapes = []
            for cls in (keras.layers.Bidirectional, bidirlib.Bidirectional):
                layer = cls(keras.layers.LSTM(3, return_sequences=True, return_state=return_state), merge_mode=merge_mode)
                outputs = layer(keras.Input(shape=(6, 4), batch_size=2))
                shapes.append([tuple(t.shape) for t in keras.tree.flatten(outputs)])
                shapes.append(keras.tree.flatten(layer.compute_output_shape((2, 6, 4))))
            assert shapes[0] == shapes[2], (merge_mode, return_state)
            assert shapes[1] == shapes[3], (merge_mode, return_state)


def test_config_matches_keras():
    reference, ours = make_pair(
        lambda: keras.layers.GRU(3, return_sequences=True, name="gru"), merge_mode="ave", name="bi"
    )
    expected = reference.get_config()
    actual = ours.get_config()
    assert actual == expected
    reference.build((2, 6, 4))
    ours.build((2, 6, 4))
    assert [w.shape for w in ours.weights] == [w.shape for w in reference.weights]
    assert [w.name for w in ours.weights] == [w.name for w in reference.weights]


def test_mixed_precision_matches_keras():
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16" if keras.backend.backend() != "jax" else "mixed_bfloat16")
    try:
        reference, ours = make_pair(lambda: keras.layers.LSTM(3, return_sequences=True, name="lstm"))
        outputs = assert_same_outputs(reference, ours, random_sequences(), atol=1e-2)
        assert str(outputs[0].dtype) in ("float16", "bfloat16")
        assert ours.compute_dtype == reference.compute_dtype
    finally:
        keras.config.set_dtype_policy(policy)
