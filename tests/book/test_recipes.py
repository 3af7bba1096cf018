"""The API page's relu backward LSTM recipe, and why it cannot use cuDNN."""

import keras
import pytest
from helpers.parity import random_sequences

from bidirlib import Bidirectional
from bidirlib import cudnn_eligibility
from bidirbook.recipes import relu_backward_lstm


def test_api_page_example_with_the_recipe():
    forward_layer = keras.layers.LSTM(10, return_sequences=True)
    model = keras.Sequential([
        keras.Input(shape=(5, 10)),
        Bidirectional(forward_layer, backward_layer=relu_backward_lstm(10)),
        keras.layers.Dense(5, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    assert model.output_shape == (None, 5, 5)
    wrapper = model.layers[0]
    assert wrapper.backward_layer.go_backwards
    assert keras.activations.serialize(wrapper.backward_layer.cell.activation) == "relu"
    assert tuple(model(random_sequences(batch=2, steps=5, features=10)).shape) == (2, 5, 5)


def test_relu_backward_layer_is_not_cudnn_eligible_and_the_forward_one_is():
    forward = cudnn_eligibility(keras.layers.LSTM(10, name="forward_lstm"))
    backward = cudnn_eligibility(relu_backward_lstm(10))
    assert forward.eligible and not forward.reasons
    assert not backward.eligible
    assert backward.reasons == ("activation is relu, cuDNN needs tanh",)
    assert str(backward) == "relu_backward_lstm: no cuDNN kernel, because activation is relu, cuDNN needs tanh."


@pytest.mark.parametrize(
    "layer, reason",
    [
        (keras.layers.GRU(3, reset_after=False), "reset_after is False"),
        (keras.layers.LSTM(3, unroll=True), "unroll is True"),
        (keras.layers.LSTM(3, recurrent_dropout=0.1), "recurrent_dropout is 0.1"),
        (keras.layers.LSTM(3, use_bias=False), "use_bias is False"),
        (keras.layers.LSTM(3, use_cudnn=False), "use_cudnn is False"),
        (keras.layers.LSTM(3, recurrent_activation="hard_sigmoid"), "recurrent_activation is hard_sigmoid"),
        (keras.layers.SimpleRNN(3), "it is a SimpleRNN"),
    ],
)
def test_each_reason_is_named(layer, reason):
    result = cudnn_eligibility(layer)
    assert not result.eligible
    assert any(r.startswith(reason) for r in result.reasons), result.reasons


def test_recipe_refuses_a_forward_direction():
    with pytest.raises(ValueError, match="`go_backwards` must stay True"):
        relu_backward_lstm(4, go_backwards=False)
