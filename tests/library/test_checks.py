"""check_sequence_layer: accepts conforming layers, rejects others, and says which criterion failed and why."""

import keras
import pytest
from helpers.cells import RegisteredCell, RunningSum, UnregisteredSequenceLayer

from bidirlib import Bidirectional, check_sequence_layer
from bidirlib.layers import CausalConv1D, MinGRUCell, ParallelMinGRU

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


class IgnoresGoBackwards(RunningSum):
    def call(self, sequences):
        y = keras.ops.cumsum(sequences, axis=1)
        out = y if self.return_sequences else y[:, -1]
        return (out, y[:, -1]) if self.return_state else out


class FirstStepInsteadOfLast(RunningSum):
    def call(self, sequences):
        out = super().call(sequences)
        if not self.return_sequences and not self.return_state:
            return keras.ops.cumsum(sequences, axis=1)[:, 0]
        return out


class NoStates(RunningSum):
    def call(self, sequences):
        out = super().call(sequences)
        return out[0] if self.return_state else out


class ForgetsItsConfig(RunningSum):
    def get_config(self):
        config = super().get_config()
        del config["go_backwards"]
        return config


class NotSequences(RunningSum):
    def call(self, sequences):
        return keras.ops.sum(sequences)  # a scalar: no batch axis


@pytest.mark.parametrize(
    "layer_class, number, words",
    [
        (IgnoresGoBackwards, 2, "go_backwards=True does not read the sequence from its end"),
        (FirstStepInsteadOfLast, 2, "return_sequences=False the output is not the last step"),
        (NoStates, 2, "return_state=True did not add any state"),
        (ForgetsItsConfig, 4, "does not record `go_backwards`"),
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


def test_bidirectional_refuses_a_non_conforming_layer_naming_the_criterion():
    # With return_sequences=True: the wrapper checks the configuration it is given, and without it the last step of
    # a running sum is the same in both reading orders, so ignoring go_backwards would do no harm there.
    with pytest.raises(ValueError, match=r"fails criterion 2 \(has go_backwards.*\): go_backwards=True does not read"):
        Bidirectional(IgnoresGoBackwards(return_sequences=True))
    with pytest.raises(ValueError, match=r"`backward_layer`.*fails criterion 2"):
        Bidirectional(RunningSum(return_sequences=True),
                      backward_layer=IgnoresGoBackwards(go_backwards=True, return_sequences=True))


def test_checker_does_not_change_the_layer():
    layer = keras.layers.LSTM(3, return_sequences=True)
    before = layer.get_config()
    check_sequence_layer(layer)
    assert layer.get_config() == before and not layer.built


def test_checker_needs_a_layer():
    with pytest.raises(ValueError, match="`layer`"):
        check_sequence_layer("LSTM")
