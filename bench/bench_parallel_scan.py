#!/usr/bin/env python
"""Benchmark: ParallelMinGRU (parallel prefix scan) against an LSTM of the same width on a long sequence.

Both are wrapped in bidirlib.Bidirectional; inference and a training step are timed, interleaved round-robin
after warm-up, and the medians, the spread and the ratios are printed. A benchmark, not a test: nothing is
asserted about time.

    KERAS_BACKEND=tensorflow python bench/bench_parallel_scan.py --steps 1000
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from bidirlib import Bidirectional  # noqa: E402
from bidirlib.layers import ParallelMinGRU  # noqa: E402


def build(kind, steps, features, units):
    layer = (
        keras.layers.LSTM(units, return_sequences=True, name="lstm")
        if kind == "LSTM"
        else ParallelMinGRU(units, return_sequences=True, name="min_gru")
    )
    model = keras.Sequential(
        [keras.Input(shape=(steps, features)), Bidirectional(layer, name="bi"), keras.layers.Dense(1, name="head")]
    )
    model.compile(optimizer="adam", loss="mse", jit_compile=False)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.steps, args.features)).astype("float32")
    y = rng.normal(size=(args.batch, args.steps, 1)).astype("float32")
    models = {kind: build(kind, args.steps, args.features, args.units) for kind in ("LSTM", "ParallelMinGRU")}
    predict = {kind: (lambda m=m: m.predict_on_batch(x)) for kind, m in models.items()}
    train = {kind: (lambda m=m: m.train_on_batch(x, y)) for kind, m in models.items()}
    times = {(task, kind): [] for task in ("inference", "train step") for kind in models}
    for _ in range(3):  # warm-up: tracing and compilation
        for kind in models:
            predict[kind]()
            train[kind]()
    for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
        for kind in models:
            for task, run in (("inference", predict[kind]), ("train step", train[kind])):
                start = time.perf_counter()
                run()
                times[(task, kind)].append(time.perf_counter() - start)

    print(
        f"backend={keras.backend.backend()} batch={args.batch} steps={args.steps} features={args.features} "
        f"units={args.units} repeats={args.repeats} (bidirectional, return_sequences=True)"
    )
    print(f"{'task':<11} {'layer':<15} {'median ms':>10} {'min-max ms':>17}")
    for task in ("inference", "train step"):
        for kind in models:
            values = [1000 * v for v in times[(task, kind)]]
            print(
                f"{task:<11} {kind:<15} {statistics.median(values):>10.1f} "
                f"{min(values):>8.1f}-{max(values):<8.1f}"
            )
        ratio = statistics.median(times[(task, "LSTM")]) / statistics.median(times[(task, "ParallelMinGRU")])
        print(f"{task:<11} LSTM / ParallelMinGRU = {ratio:.1f}x")


if __name__ == "__main__":
    main()
