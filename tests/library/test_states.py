"""States: `initial_state` is split between the two directions, stateful layers carry their states across calls,
and `reset_states` sets them. (Their error messages are in test_errors.py; Keras parity of initial_state and
stateful wrappers is in test_parity.py.)"""

import keras
import numpy as np
from helpers.parity import ATOL, random_sequences, to_numpy

from bidirlib import Bidirectional


def test_initial_state_split_follows_each_direction_state_count():
    """Keras defect 3: an LSTM forward takes two of the states, a GRU backward the one after them."""
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


def test_stateful_return_state_with_mask():
    """Keras defect 7: stateful + return_state + a mask, in a functional model."""
    inputs = keras.Input(batch_shape=(3, 6, 4))
    masked = keras.layers.Masking(0.0)(inputs)
    output, *states = Bidirectional(keras.layers.LSTM(3, stateful=True, return_state=True, return_sequences=True))(masked)
    model = keras.Model(inputs, [output, *states])
    x = random_sequences()
    x[0, 4:] = 0.0
    results = model.predict(x, verbose=0)
    assert len(results) == 5
    assert np.all(results[0][0, 4:] == 0)


def test_reset_states_with_values():
    """Keras defect 11: reset_states(states) sets the states, and the next call starts from them."""
    wrapper = Bidirectional(keras.layers.LSTM(3, stateful=True))
    x = random_sequences()
    wrapper(x)
    values = [np.full((3, 3), v, "float32") for v in (0.1, 0.2, 0.3, 0.4)]
    wrapper.reset_states(values)
    np.testing.assert_allclose(to_numpy(wrapper.states), values)
    # The next call starts from them: the same as passing them as initial_state to a twin.
    twin = Bidirectional(keras.layers.LSTM(3), weights=wrapper.get_weights())
    np.testing.assert_allclose(to_numpy(wrapper(x)), to_numpy(twin(x, initial_state=values)), atol=ATOL)
