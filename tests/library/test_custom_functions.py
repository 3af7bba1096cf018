"""Plain Python functions a wrapped layer holds (an unregistered activation, regularizer, initializer) clone too.

Keras saves a function by its name alone; cloning the layer must hand that function to the deserializer, as it
hands the layer's unregistered classes. Keras's own wrapper refuses these layers (`could not be deserialized`).
"""

import keras
import numpy as np
import pytest
from helpers.cells import UnregisteredCell
from helpers.parity import random_sequences, to_numpy

import bidirlib
from bidirlib.cloning import clone_layer


def half_tanh(x):
    """An activation that is not registered for serialization."""
    return keras.ops.tanh(x) * 0.5


def hard_gate(x):
    return keras.ops.clip(x * 0.2 + 0.5, 0.0, 1.0)


def small_kernel_penalty(weights):
    return 1e-3 * keras.ops.sum(keras.ops.square(weights))


class ScaledNormal(keras.initializers.Initializer):
    """An initializer class that is not registered for serialization."""

    def __init__(self, scale=0.1):
        self.scale = scale

    def __call__(self, shape, dtype=None):
        return keras.random.normal(shape, stddev=self.scale, dtype=dtype)

    def get_config(self):
        return {"scale": self.scale}


LAYERS = {
    "LSTM(activation)": lambda **kw: keras.layers.LSTM(4, activation=half_tanh, **kw),
    "GRU(recurrent_activation)": lambda **kw: keras.layers.GRU(4, recurrent_activation=hard_gate, **kw),
    "SimpleRNN(regularizer, initializer)": lambda **kw: keras.layers.SimpleRNN(
        4, activation=half_tanh, kernel_regularizer=small_kernel_penalty, kernel_initializer=ScaledNormal(0.2), **kw
    ),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_clone_keeps_the_unregistered_functions(name):
    layer = LAYERS[name]()
    clone = clone_layer(layer, go_backwards=True)
    assert clone.go_backwards
    assert {**clone.get_config(), "go_backwards": False} == layer.get_config()
    for attribute in ("activation", "recurrent_activation", "kernel_regularizer"):
        assert getattr(clone.cell, attribute, None) is getattr(layer.cell, attribute, None)
    assert type(clone.cell.kernel_initializer) is type(layer.cell.kernel_initializer)


@pytest.mark.parametrize("name", list(LAYERS))
def test_wrapping_gives_the_two_hand_built_layers_outputs(name):
    """Keras defect 16: a layer holding an unregistered function can be wrapped (Keras refuses it: its copy of the
    layer is made through the serialization registry), and the wrapper gives the two layers' numbers."""
    with pytest.raises(Exception):
        keras.layers.Bidirectional(LAYERS[name](return_sequences=True))
    x = random_sequences()
    wrapper = bidirlib.Bidirectional(LAYERS[name](return_sequences=True))
    actual = keras.ops.convert_to_numpy(wrapper(x))
    forward = LAYERS[name](return_sequences=True)
    backward = LAYERS[name](return_sequences=True, go_backwards=True)
    forward(x)
    backward(x)
    forward.set_weights(wrapper.forward_layer.get_weights())
    backward.set_weights(wrapper.backward_layer.get_weights())
    assert wrapper.forward_layer.cell.activation is forward.cell.activation
    assert wrapper.backward_layer.cell.activation is backward.cell.activation
    expected = np.concatenate(
        [keras.ops.convert_to_numpy(forward(x)), keras.ops.convert_to_numpy(backward(x))[:, ::-1]], axis=-1
    )
    np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_keras_file_round_trip_with_custom_objects(tmp_path):
    model = keras.Sequential([
        keras.Input(shape=(6, 4)),
        bidirlib.Bidirectional(keras.layers.LSTM(4, activation=half_tanh, return_sequences=True)),
        bidirlib.Bidirectional(
            keras.layers.GRU(3, recurrent_activation=hard_gate, kernel_initializer=ScaledNormal()),
            backward_layer=keras.layers.GRU(3, activation=half_tanh, go_backwards=True),
        ),
    ])
    x = random_sequences()
    path = tmp_path / "functions.keras"
    model.save(path)
    loaded = keras.saving.load_model(
        path, custom_objects={"half_tanh": half_tanh, "hard_gate": hard_gate, "ScaledNormal": ScaledNormal}
    )
    assert loaded.layers[0].forward_layer.cell.activation is half_tanh
    assert loaded.layers[1].backward_layer.cell.activation is half_tanh
    np.testing.assert_allclose(to_numpy(loaded(x))[0], to_numpy(model(x))[0], atol=1e-6)


def test_unregistered_cell_with_an_unregistered_function_in_it():
    class CellWithActivation(UnregisteredCell):
        def __init__(self, units, activation=None, **kwargs):
            super().__init__(units, **kwargs)
            self.activation = keras.activations.get(activation)

        def get_config(self):
            return {**super().get_config(), "activation": keras.activations.serialize(self.activation)}

        @classmethod
        def from_config(cls, config):
            config = dict(config)
            config["activation"] = keras.activations.deserialize(config["activation"])
            return cls(**config)

    wrapper = bidirlib.Bidirectional(keras.layers.RNN(CellWithActivation(3, activation=half_tanh)))
    assert wrapper.backward_layer.cell.activation is half_tanh
    assert tuple(wrapper(random_sequences()).shape) == (3, 6)
