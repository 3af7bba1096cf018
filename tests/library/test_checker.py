"""The sequence-layer checker: `check_sequence_layer`'s full report (which criterion failed and why), and what
`Bidirectional` checks when it is built, only what the requested configuration needs.

A layer is refused when wrapping it as configured would be wrong (it cannot be copied from its config, its
`go_backwards` does not read from the end, `return_state=True` gives no state); behaviour the configuration does
not use is not checked, and a layer that fails on the random test batch for reasons of its own is wrapped with a
`UserWarning` naming the criterion. `check_sequence_layer` stays the full report.
"""

import warnings

import keras
import numpy as np
import pytest
from helpers.cells import RegisteredCell, RunningSum, UnregisteredSequenceLayer
from helpers.parity import random_sequences, to_numpy
from keras import ops

from bidirlib import Bidirectional, check_sequence_layer
from bidirlib import checker
from bidirlib.layers import CausalConv1D, MinGRUCell, ParallelMinGRU

# ---------------------------------------------------------------------- test layers: a running sum, each one
# wrong in one way


class IgnoresGoBackwards(RunningSum):
    def call(self, sequences):
        y = ops.cumsum(sequences, axis=1)
        out = y if self.return_sequences else y[:, -1]
        return (out, y[:, -1]) if self.return_state else out


class FirstStepInsteadOfLast(RunningSum):
    """Wrong with return_sequences=False (and return_state=False) only."""

    def call(self, sequences):
        out = super().call(sequences)
        if not self.return_sequences and not self.return_state:
            return ops.cumsum(sequences, axis=1)[:, 0]
        return out


class NoStates(RunningSum):
    """Conforms, except that return_state=True adds no state."""

    def call(self, sequences):
        out = super().call(sequences)
        return out[0] if self.return_state else out


class StatesNotImplemented(RunningSum):
    def call(self, sequences):
        if self.return_state:
            raise NotImplementedError("this layer has no states")
        return super().call(sequences)


class ForgetsGoBackwards(RunningSum):
    def get_config(self):
        config = super().get_config()
        del config["go_backwards"]
        return config


class ForgetsReturnSequences(RunningSum):
    def get_config(self):
        config = super().get_config()
        del config["return_sequences"]
        return config


class NotSequences(RunningSum):
    def call(self, sequences):
        return ops.sum(sequences)  # a scalar: no batch axis


class NoFromConfig(RunningSum):
    def __init__(self, width, **kwargs):  # `width` is not in the config, so from_config fails
        super().__init__(**kwargs)
        self.width = width


class FixedSize(UnregisteredSequenceLayer):
    """A layer built for one input shape: 7 features and exactly 10 steps, and nothing else."""

    def build(self, input_shape):
        if input_shape[-1] != 7:
            raise ValueError(f"FixedSize needs 7 features, got {input_shape[-1]}")
        super().build(input_shape)

    def call(self, sequences):
        if sequences.shape[1] != 10:
            raise ValueError(f"FixedSize needs 10 steps, got {sequences.shape[1]}")
        return super().call(sequences)


class CountingSum(RunningSum):
    calls = 0

    def call(self, sequences):
        CountingSum.calls += 1
        return super().call(sequences)


# ---------------------------------------------------------------------- check_sequence_layer: the full report

CONFORMING = {
    "LSTM": lambda: keras.layers.LSTM(3),
    "GRU": lambda: keras.layers.GRU(3),
    "SimpleRNN": lambda: keras.layers.SimpleRNN(3),
    "RNN(custom cell)": lambda: keras.layers.RNN(RegisteredCell(3)),
    "RNN(MinGRUCell)": lambda: keras.layers.RNN(MinGRUCell(3)),
    "ParallelMinGRU": lambda: ParallelMinGRU(3),
    "CausalConv1D": lambda: CausalConv1D(3, kernel_size=2),
    "unregistered sequence layer": lambda: UnregisteredSequenceLayer(2),
}


@pytest.mark.parametrize("name", list(CONFORMING))
def test_conforming_layers_pass_every_criterion(name):
    report = check_sequence_layer(CONFORMING[name]())
    assert report.ok, str(report)
    assert [result.number for result in report.criteria] == [1, 2, 3, 4]
    assert "can be wrapped" in str(report)


def test_dense_is_rejected_and_missing_go_backwards_is_named():
    report = check_sequence_layer(keras.layers.Dense(3))
    assert not report.ok
    (failure,) = report.failures
    assert failure.number == 2
    assert "`go_backwards`" in failure.reason
    assert "[FAIL] 2." in str(report) and "cannot be wrapped" in str(report)


@pytest.mark.parametrize(
    "layer_class, number, words",
    [
        (IgnoresGoBackwards, 2, "go_backwards=True does not read the sequence from its end"),
        (FirstStepInsteadOfLast, 2, "return_sequences=False the output is not the last step"),
        (NoStates, 2, "return_state=True did not add any state"),
        (ForgetsGoBackwards, 4, "does not record `go_backwards`"),
        (NotSequences, 1, "expected the batch axis first"),
    ],
)
def test_behavioural_failures_are_named(layer_class, number, words):
    report = check_sequence_layer(layer_class())
    assert not report.ok
    assert report.failures[0].number == number
    assert words in report.failures[0].reason, str(report)


def test_the_conforming_base_passes():
    assert check_sequence_layer(RunningSum()).ok


def test_checker_does_not_change_the_layer():
    layer = keras.layers.LSTM(3, return_sequences=True)
    before = layer.get_config()
    check_sequence_layer(layer)
    assert layer.get_config() == before and not layer.built


def test_checker_needs_a_layer():
    with pytest.raises(ValueError, match="`layer`"):
        check_sequence_layer("LSTM")


# ---------------------------------------------------------------------- Bidirectional's own check, at construction

def _no_warnings(make):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the wrapper's own warnings, not the backends'
        return make()


@pytest.mark.parametrize("make_layer", [
    lambda: NoStates(return_sequences=True),
    lambda: StatesNotImplemented(return_sequences=True),
    lambda: FirstStepInsteadOfLast(return_sequences=True),
], ids=["no states", "return_state raises", "first step without return_sequences"])
def test_a_layer_that_conforms_as_configured_is_wrapped_without_warning(make_layer):
    wrapper = _no_warnings(lambda: Bidirectional(make_layer(), merge_mode=None))
    x = random_sequences()
    forward, backward = to_numpy(wrapper(x))
    np.testing.assert_allclose(forward, np.cumsum(x, axis=1), atol=1e-5)
    np.testing.assert_allclose(backward, np.cumsum(x[:, ::-1], axis=1)[:, ::-1], atol=1e-5)
    # The full report still names what the configuration does not use.
    assert not check_sequence_layer(make_layer()).ok


def test_go_backwards_is_checked_in_the_configuration_given():
    # Without return_sequences a running sum's total is the same in both reading orders: ignoring go_backwards
    # changes nothing the wrapper returns, so it is wrapped; the full report still names the criterion.
    wrapper = _no_warnings(lambda: Bidirectional(IgnoresGoBackwards()))
    x = random_sequences()
    np.testing.assert_allclose(to_numpy(wrapper(x))[0], np.concatenate([x.sum(1), x.sum(1)], -1), atol=1e-5)
    assert [failure.number for failure in check_sequence_layer(IgnoresGoBackwards()).failures] == [2]


def test_what_the_configuration_uses_is_still_refused():
    with pytest.raises(ValueError, match=r"fails criterion 2 .*return_state=True did not add any state"):
        Bidirectional(NoStates(return_state=True))
    # With return_sequences=True: without it the last step of a running sum is the same in both reading orders.
    with pytest.raises(ValueError,
                       match=r"fails criterion 2 \(has go_backwards.*\): go_backwards=True does not read the sequence"):
        Bidirectional(IgnoresGoBackwards(return_sequences=True))
    with pytest.raises(ValueError,
                       match=r"`backward_layer`.*fails criterion 2 \(has go_backwards.*\): go_backwards=True does not read"):
        Bidirectional(RunningSum(return_sequences=True),
                      backward_layer=IgnoresGoBackwards(go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match=r"fails criterion 4 .*rebuilding it from its config failed: TypeError"):
        Bidirectional(NoFromConfig(3))
    with pytest.raises(ValueError, match=r"fails criterion 4 .*does not record `return_sequences`"):
        Bidirectional(ForgetsReturnSequences(return_sequences=True))


def test_a_built_layer_is_checked_on_its_built_input_shape():
    layer = FixedSize(3, return_sequences=True)
    layer.build((None, 10, 7))
    wrapper = _no_warnings(lambda: Bidirectional(layer))
    x = random_sequences(batch=2, steps=10, features=7)
    assert tuple(wrapper(x).shape) == (2, 10, 6)


def test_a_layer_that_cannot_run_on_the_test_batch_is_wrapped_with_a_warning():
    with pytest.warns(UserWarning, match=r"`layer`=FixedSize.*criterion 1 .*raised ValueError: FixedSize needs 7"):
        wrapper = Bidirectional(FixedSize(3, return_sequences=True))
    x = random_sequences(batch=2, steps=10, features=7)
    assert tuple(wrapper(x).shape) == (2, 10, 6)


def test_construction_calls_the_layer_at_most_twice():
    CountingSum.calls = 0
    Bidirectional(CountingSum(return_sequences=True))
    assert CountingSum.calls <= 2
    CountingSum.calls = 0
    check_sequence_layer(CountingSum())
    assert CountingSum.calls > 2  # the full report checks more


def test_rnn_layers_are_not_run_at_construction():
    check = checker.check_wrapping(keras.layers.LSTM(3))  # the checker itself works on them...
    assert not check.refusals and not check.warnings
    _no_warnings(lambda: Bidirectional(keras.layers.LSTM(3)))  # ...but the wrapper does not run it


def test_check_wrapping_leaves_the_layer_alone():
    layer = UnregisteredSequenceLayer(2, return_sequences=True)
    before = layer.get_config()
    check = checker.check_wrapping(layer)
    assert not check.refusals and not check.warnings
    assert layer.get_config() == before and not layer.built
