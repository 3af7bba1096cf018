#!/usr/bin/env python
"""Benchmark: what building a `bidirlib.Bidirectional` costs, for a custom sequence layer and for an LSTM.

`Bidirectional.__init__` checks a layer that is not a `keras.layers.RNN` before it copies it
(`bidirlib.checker.require_conforming`); an RNN is not checked. This script times, interleaved in one process:

- `Bidirectional(custom)`: wrapping `RunningMean(8)`, a small custom sequence layer (not an RNN) defined here;
- `Bidirectional(LSTM(8))`: wrapping `keras.layers.LSTM(8)`;
- `check_sequence_layer(custom)`: the checker's full report on the same custom layer, for reference (before
  issue 15 the constructor ran exactly this).

Each round times one construction of each (a fresh layer is made outside the timed region), after one warm-up
round; it prints the median, min and max of each over the rounds, side by side. A benchmark, not a test: nothing is
asserted about time.

    python bench/bench_construction.py                 # 20 rounds on the backend of KERAS_BACKEND
    python bench/bench_construction.py --repeats 5
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
from keras import ops  # noqa: E402

import bidirlib  # noqa: E402


class RunningMean(keras.layers.Layer):
    """A non-RNN sequence layer: a projection of the running mean, with the RNN direction attributes."""

    def __init__(self, units=8, go_backwards=False, return_sequences=False, return_state=False, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.go_backwards = go_backwards
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.input_spec = keras.InputSpec(min_ndim=3)

    def build(self, input_shape):
        self.dense = keras.layers.Dense(self.units, name="project")
        self.dense.build(input_shape)

    def call(self, sequences):
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
        steps = ops.arange(1, ops.shape(sequences)[1] + 1, dtype=sequences.dtype)[None, :, None]
        means = self.dense(ops.cumsum(sequences, axis=1) / steps)
        output = means if self.return_sequences else means[:, -1]
        return (output, means[:, -1]) if self.return_state else output

    def compute_output_shape(self, input_shape):
        last = (input_shape[0], self.units)
        output = tuple(input_shape[:-1]) + (self.units,) if self.return_sequences else last
        return (output, last) if self.return_state else output

    def get_config(self):
        return {**super().get_config(), "units": self.units, "go_backwards": self.go_backwards,
                "return_sequences": self.return_sequences, "return_state": self.return_state}


VARIANTS = {
    "Bidirectional(custom)": (lambda: RunningMean(8, return_sequences=True), bidirlib.Bidirectional),
    "Bidirectional(LSTM(8))": (lambda: keras.layers.LSTM(8, return_sequences=True), bidirlib.Bidirectional),
    "check_sequence_layer(custom)": (lambda: RunningMean(8, return_sequences=True), bidirlib.check_sequence_layer),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed rounds (default 20)")
    arguments = parser.parse_args()

    times = {name: [] for name in VARIANTS}
    for round_index in range(arguments.repeats + 1):  # round 0 warms up
        for name, (make_layer, construct) in VARIANTS.items():
            layer = make_layer()
            start = time.perf_counter()
            construct(layer)
            elapsed = time.perf_counter() - start
            if round_index:
                times[name].append(elapsed)

    print(f"construction time, backend {keras.backend.backend()}, keras {keras.__version__}, "
          f"{arguments.repeats} rounds (ms)")
    print(f"{'':32s}{'median':>10s}{'min':>10s}{'max':>10s}")
    for name, values in times.items():
        values_ms = [1000 * value for value in values]
        print(f"{name:32s}{statistics.median(values_ms):10.1f}{min(values_ms):10.1f}{max(values_ms):10.1f}")
    custom, lstm = (statistics.median(times[name]) for name in list(VARIANTS)[:2])
    print(f"Bidirectional(custom) / Bidirectional(LSTM(8)): {custom / lstm:.1f}x")


if __name__ == "__main__":
    main()
