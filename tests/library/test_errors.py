"""Bad input: each mistake raises an error, before any computation, naming the argument, what was received and
what was expected."""

import keras
import numpy as np
import pytest
from helpers.parity import random_sequences

from bidirlib import Bidirectional


def lstm(**kwargs):
    return keras.layers.LSTM(3, **kwargs)


def test_layer_must_be_a_layer():
    with pytest.raises(ValueError, match=r"`layer`.*keras\.layers\.Layer.*Received: layer='lstm' of type str"):
        Bidirectional("lstm")


def test_backward_layer_must_be_a_layer():
    with pytest.raises(ValueError, match=r"`backward_layer`.*Received: backward_layer=42 of type int"):
        Bidirectional(lstm(), backward_layer=42)


@pytest.mark.parametrize("merge_mode", ["average", "Concat", "", 0, False, ["sum"]])
def test_unknown_merge_mode(merge_mode):
    with pytest.raises(ValueError, match=r"`merge_mode`.*Received: merge_mode=.*Expected one of"):
        Bidirectional(lstm(), merge_mode=merge_mode)


def test_validation_order_follows_keras():
    # Not a layer is reported before a bad merge mode, as in Keras.
    with pytest.raises(ValueError, match="`layer`"):
        Bidirectional(None, merge_mode="bad")
    with pytest.raises(ValueError, match="`merge_mode`"):
        Bidirectional(lstm(), merge_mode="bad", backward_layer=lstm())


def test_layer_without_rnn_attributes_is_refused_by_name():
    with pytest.raises(ValueError, match=r"no `go_backwards`, `return_sequences`, `return_state` attribute"):
        Bidirectional(keras.layers.Dense(3))


def test_backward_layer_without_go_backwards_is_refused_by_name():
    class NoDirection(keras.layers.Layer):
        return_sequences = False
        return_state = False

    with pytest.raises(ValueError, match=r"`backward_layer`.*no `go_backwards` attribute"):
        Bidirectional(lstm(), backward_layer=NoDirection())


def test_backward_layer_must_read_backwards():
    with pytest.raises(ValueError, match=r"different `go_backwards`.*layer.go_backwards=False, backward_layer.go_backwards=False"):
        Bidirectional(lstm(), backward_layer=lstm())


@pytest.mark.parametrize("attribute", ["stateful", "return_sequences", "return_state"])
def test_backward_layer_must_match(attribute):
    with pytest.raises(ValueError, match=rf"same `{attribute}`.*layer.{attribute}=False, backward_layer.{attribute}=True"):
        Bidirectional(lstm(), backward_layer=lstm(go_backwards=True, **{attribute: True}))


@pytest.mark.parametrize("merge_mode", ["sum", "mul", "ave"])
def test_elementwise_merge_needs_equal_widths(merge_mode):
    wide = keras.layers.LSTM(5, go_backwards=True)
    with pytest.raises(ValueError, match=rf'merge_mode="{merge_mode}".*forward width 3, backward width 5'):
        Bidirectional(lstm(), merge_mode=merge_mode, backward_layer=wide)


def test_elementwise_merge_width_checked_for_non_rnn_layers_at_build():
    from helpers.cells import UnregisteredSequenceLayer

    layer = Bidirectional(
        UnregisteredSequenceLayer(2), backward_layer=UnregisteredSequenceLayer(4, go_backwards=True), merge_mode="sum"
    )
    with pytest.raises(ValueError, match="forward width 2, backward width 4"):
        layer(random_sequences())


def test_initial_state_single_tensor():
    layer = Bidirectional(lstm())
    with pytest.raises(ValueError, match=r"`initial_state` must be a list of 4 tensors \(2 for the forward layer, then 2 for the backward layer\).*single"):
        layer(random_sequences(), initial_state=np.zeros((3, 3), "float32"))


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_initial_state_wrong_count(count):
    layer = Bidirectional(lstm())
    states = [np.zeros((3, 3), "float32")] * count
    with pytest.raises(ValueError, match=rf"must hold 4 tensors: 2 for the forward layer \(forward_lstm.*\), then 2 for the backward layer .*Received: {count} tensors"):
        layer(random_sequences(), initial_state=states)


def test_weights_wrong_count():
    layer = Bidirectional(lstm(), weights=[np.zeros((4, 12))])
    with pytest.raises(ValueError, match=r"`weights` must hold 6 arrays: 3 for the forward layer, then 3 for the backward layer.*Received: 1"):
        layer(random_sequences())


def test_weights_wrong_shape():
    good = Bidirectional(lstm())
    good(random_sequences())
    weights = good.get_weights()
    weights[4] = np.zeros((7, 7), "float32")
    with pytest.raises(ValueError, match=r"`weights\[4\]` is for .*recurrent_kernel and must have shape \(3, 12\).*\(7, 7\)"):
        Bidirectional(lstm(), weights=weights)(random_sequences())


def test_reset_states_wrong_count():
    layer = Bidirectional(lstm(stateful=True))
    layer(random_sequences())
    with pytest.raises(ValueError, match=r"`states` must hold 4 arrays: 2 for the forward layer, then 2 for the backward layer.*Received: 3"):
        layer.reset_states([np.zeros((3, 3))] * 3)


def test_reset_states_wrong_shape():
    layer = Bidirectional(lstm(stateful=True))
    layer(random_sequences())
    with pytest.raises(ValueError, match=r"`states\[1\]` is for .*rnn_state and must have shape \(3, 3\). Received: an array of shape \(3, 4\)"):
        layer.reset_states([np.zeros((3, 3)), np.zeros((3, 4)), np.zeros((3, 3)), np.zeros((3, 3))])


def test_reset_state_when_not_stateful():
    with pytest.raises(AttributeError, match="Layer must be stateful."):
        Bidirectional(lstm()).reset_states()


@pytest.mark.parametrize("symbolic", [False, True])
def test_two_dimensional_input(symbolic):
    layer = Bidirectional(lstm())
    inputs = keras.Input(shape=(5,)) if symbolic else np.zeros((2, 5), "float32")
    with pytest.raises(ValueError, match=r"`sequences` of shape \(batch, timesteps, features\).*Received: shape \((None|2), 5\)"):
        layer(inputs)
