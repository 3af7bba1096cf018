"""The bidirectional layer from scratch (bidirbook.from_scratch) computes what bidirlib.Bidirectional does."""

import keras
import numpy as np
import pytest

from bidirlib import Bidirectional
from bidirbook.from_scratch import bidirectional_from_scratch, reader_like

RNNS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def _inputs(batch=3, steps=7, features=4, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, steps, features)).astype("float32")


def _numpy(output):
    if isinstance(output, tuple):
        return tuple(keras.ops.convert_to_numpy(part) for part in output)
    return keras.ops.convert_to_numpy(output)


def _wrapper_and_readers(rnn, merge_mode, return_sequences, x):
    keras.utils.set_random_seed(0)
    wrapper = Bidirectional(
        RNNS[rnn](5, return_sequences=return_sequences, name=rnn), merge_mode=merge_mode, name="wrapper"
    )
    expected = _numpy(wrapper(x))
    return wrapper, expected, reader_like(wrapper.forward_layer), reader_like(wrapper.backward_layer)


@pytest.mark.parametrize("rnn", sorted(RNNS))
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_equal_to_bidirectional_with_the_same_weights(rnn, merge_mode, return_sequences):
    x = _inputs()
    _, expected, forward, backward = _wrapper_and_readers(rnn, merge_mode, return_sequences, x)
    output = _numpy(bidirectional_from_scratch(forward, backward, x, merge_mode=merge_mode))
    if merge_mode is None:
        assert isinstance(output, tuple) and len(output) == 2
        for got, want in zip(output, expected):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)


def test_last_backward_output_belongs_to_step_zero():
    """With return_sequences=False the backward reader's output is the one of input step 0, not of step T-1."""
    x = _inputs()
    _, _, forward, backward = _wrapper_and_readers("lstm", None, True, x)
    forward_steps, backward_steps = _numpy(bidirectional_from_scratch(forward, backward, x, merge_mode=None))
    last_readers = [reader_like(reader, return_sequences=False) for reader in (forward, backward)]
    forward_last, backward_last = _numpy(bidirectional_from_scratch(*last_readers, x, merge_mode=None))
    np.testing.assert_allclose(forward_last, forward_steps[:, -1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(backward_last, backward_steps[:, 0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(backward_last, backward_steps[:, -1], atol=1e-3)


def test_backward_output_at_a_step_depends_only_on_that_step_and_later():
    x = _inputs()
    _, _, forward, backward = _wrapper_and_readers("gru", None, True, x)
    changed = x.copy()
    changed[:, -1] += 3.0  # only the last step changes
    before = _numpy(bidirectional_from_scratch(forward, backward, x, merge_mode=None))
    after = _numpy(bidirectional_from_scratch(forward, backward, changed, merge_mode=None))
    np.testing.assert_allclose(after[0][:, :-1], before[0][:, :-1], rtol=1e-6, atol=1e-7)  # forward: causal
    assert np.abs(after[1][:, 0] - before[1][:, 0]).max() > 1e-4  # backward: step 0 has read step T-1


@pytest.mark.parametrize(
    "inputs, match",
    [
        (np.zeros((3, 4), "float32"), r"shape \(batch, timesteps, features\).*rank 2, shape \(3, 4\)"),
        (np.zeros((2, 3, 4, 1), "float32"), r"rank 4"),
        ([[1.0, 2.0]], r"rank 2, shape \(1, 2\)"),
    ],
)
def test_inputs_of_the_wrong_rank_are_refused(inputs, match):
    forward = keras.layers.LSTM(2, return_sequences=True)
    backward = keras.layers.LSTM(2, return_sequences=True)
    with pytest.raises(ValueError, match=match):
        bidirectional_from_scratch(forward, backward, inputs)


def test_a_reader_that_goes_backwards_is_refused():
    forward = keras.layers.GRU(2, return_sequences=True)
    backward = keras.layers.GRU(2, return_sequences=True, go_backwards=True)
    with pytest.raises(ValueError, match=r"backward_reader must read left to right.*go_backwards=True"):
        bidirectional_from_scratch(forward, backward, _inputs())


def test_readers_must_agree_on_return_sequences():
    forward = keras.layers.LSTM(2, return_sequences=True)
    backward = keras.layers.LSTM(2)
    with pytest.raises(ValueError, match="must agree on `return_sequences`"):
        bidirectional_from_scratch(forward, backward, _inputs())


def test_states_are_refused():
    forward = keras.layers.LSTM(2, return_state=True)
    backward = keras.layers.LSTM(2)
    with pytest.raises(ValueError, match=r"returns no states.*forward_reader.return_state=True"):
        bidirectional_from_scratch(forward, backward, _inputs())


def test_unknown_merge_mode_is_refused():
    forward = keras.layers.LSTM(2, return_sequences=True)
    backward = keras.layers.LSTM(2, return_sequences=True)
    with pytest.raises(ValueError, match=r"merge_mode='max'"):
        bidirectional_from_scratch(forward, backward, _inputs(), merge_mode="max")


def test_reader_like_copies_weights_and_reads_forwards():
    layer = keras.layers.GRU(3, go_backwards=True, return_sequences=True, name="gru")
    layer.build((None, 6, 2))
    reader = reader_like(layer)
    assert reader.go_backwards is False and reader.return_sequences is True and reader.units == 3
    assert reader_like(layer, return_sequences=False).return_sequences is False
    for got, want in zip(reader.get_weights(), layer.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_reader_like_needs_a_built_layer():
    with pytest.raises(ValueError, match="not built yet"):
        reader_like(keras.layers.LSTM(2, name="unbuilt"))
