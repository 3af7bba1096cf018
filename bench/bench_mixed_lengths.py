#!/usr/bin/env python
"""Benchmark: a training step on a batch of mixed lengths (a right-padded mask), bidirlib against Keras.

The model is a text classifier's shape: `Masking` over zero-padded sequences, the bidirectional layer (last
output only), then `Dense(1)`; adam and mse. The batch holds rows of lengths drawn uniformly from 20 to the
full 100 steps, padded with zeros at the end, so `Masking` gives a right-padded mask. For each backend and cell
it times `train_on_batch` (compiled on TensorFlow and JAX, eager on PyTorch: each backend's usual training step)
of the same model built around:

- `bidirlib`: `bidirlib.Bidirectional` as it comes (`fused_path="auto"`; the path it took is recorded);
- `keras`: `keras.layers.Bidirectional`;
- `bidirlib_separate`: bidirlib with `fused_path="off"`: the two layers, as Keras runs them;
- `bidirlib_stacked`: bidirlib with `fused_path="stacked"`: the stacked loop, which takes any mask, on every
  backend (to see whether it would pay where "auto" does not run it).

The variants run in one process, interleaved: after warm-up, every round times each variant once, in an order
shuffled per round. A ratio such as bidirlib/keras is the median of the per-round ratios. Each backend runs in
its own subprocess (the backend is fixed when Keras is imported), and its results replace that backend's
section of the JSON file, which keeps the others. A benchmark, not a test: nothing is asserted about time.

    python bench/bench_mixed_lengths.py                        # every backend, LSTM and GRU
    python bench/bench_mixed_lengths.py --backend torch --cell lstm --repeats 5
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_bidirectional import (  # noqa: E402 (the house's timing and records)
    _quartiles,
    run_meta,
    time_interleaved,
    write_results,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "bench_mixed_lengths.json"
BACKENDS = ("tensorflow", "jax", "torch")
CELLS = ("lstm", "gru")
#: The batch: its size, padded length, the range of row lengths (inclusive), features and units.
SHAPE = {"batch": 32, "steps": 100, "min_length": 20, "features": 32, "units": 64}
VARIANTS = ("bidirlib", "keras", "bidirlib_separate", "bidirlib_stacked")
#: The fused-path setting of each bidirlib variant.
SETTINGS = {"bidirlib": "auto", "bidirlib_separate": "off", "bidirlib_stacked": "stacked"}
#: Ratios reported: (numerator, denominator).
RATIOS = (
    ("bidirlib", "keras"),
    ("bidirlib", "bidirlib_separate"),
    ("keras", "bidirlib_separate"),
    ("bidirlib_stacked", "bidirlib_separate"),
)


# ---------------------------------------------------------------------- one backend, in this process


def mixed_batch(shape, seed=0):
    """`(x, y, lengths)`: zero-padded sequences of lengths uniform in [min_length, steps], and targets."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = rng.integers(shape["min_length"], shape["steps"] + 1, size=shape["batch"])
    x = rng.normal(size=(shape["batch"], shape["steps"], shape["features"])).astype("float32")
    x[np.arange(shape["steps"])[None, :] >= lengths[:, None]] = 0.0
    y = rng.normal(size=(shape["batch"], 1)).astype("float32")
    return x, y, lengths


def model_for(variant, cell, shape):
    """The benchmarked model around `variant`'s wrapper; weights from seed 0, so every variant starts alike."""
    import keras

    import bidirlib

    layer_class = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    keras.utils.set_random_seed(0)
    recurrent = layer_class(shape["units"], name=cell)
    if variant == "keras":
        wrapper = keras.layers.Bidirectional(recurrent, name="bidirectional")
    else:
        wrapper = bidirlib.Bidirectional(recurrent, name="bidirectional", fused_path=SETTINGS[variant])
    model = keras.Sequential(
        [
            keras.Input(shape=(shape["steps"], shape["features"]), batch_size=shape["batch"], name="x"),
            keras.layers.Masking(0.0, name="masking"),
            wrapper,
            keras.layers.Dense(1, name="head"),
        ],
        name=variant,
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def measure(backend, cell, repeats, warmup, seed=0):
    """Time every variant's training step on the current backend; returns one result record."""
    import keras
    import numpy as np

    from bidirlib.fused import ENVIRONMENT_VARIABLE

    assert keras.backend.backend() == backend, (keras.backend.backend(), backend)
    os.environ.pop(ENVIRONMENT_VARIABLE, None)  # each variant's own setting decides
    x, y, lengths = mixed_batch(SHAPE, seed)
    models = {variant: model_for(variant, cell, SHAPE) for variant in VARIANTS}
    runs = {variant: {"train": (lambda m=m: m.train_on_batch(x, y))} for variant, m in models.items()}
    paths = {}
    for _ in range(warmup):  # tracing, compilation, caches
        for variant in VARIANTS:
            runs[variant]["train"]()
            layer = models[variant].get_layer("bidirectional")
            paths[variant] = {
                "last_call_path": getattr(layer, "last_call_path", "keras"),
                "last_fused_fallback": getattr(layer, "last_fused_fallback", None),
            }
    times = time_interleaved(runs, ("train",), repeats, seed + 1)["train"]
    ratios = {}
    for top, bottom in RATIOS:
        ratios[f"{top}/{bottom}"] = _quartiles(np.array(times[top]) / np.array(times[bottom]))
    return {
        "cell": cell,
        "lengths": {"min": int(lengths.min()), "max": int(lengths.max()), "mean": float(lengths.mean())},
        "paths": paths,
        "times_s": times,
        "summary_s": {variant: _quartiles(values) for variant, values in times.items()},
        "ratios": ratios,
    }


def worker(args):
    """Measure the requested cells on the backend this process imported; write the section as JSON."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    records = []
    for cell in args.cell:
        print(f"  {args.backend}: {cell} ...", file=sys.stderr, flush=True)
        records.append(measure(args.backend, cell, args.repeats, args.warmup))
    pathlib.Path(args.worker_output).write_text(json.dumps(records))


# ---------------------------------------------------------------------- the driver


def print_section(backend, section, out=sys.stdout):
    shape = section["shape"]
    print(
        f"\n{backend}: train step, batch {shape['batch']}, {shape['steps']} steps (lengths "
        f"{shape['min_length']}-{shape['steps']}, right-padded), {shape['features']} features, "
        f"{shape['units']} units",
        file=out,
    )
    for record in section["records"]:
        print(f"  {record['cell'].upper()}", file=out)
        for variant in VARIANTS:
            s, path = record["summary_s"][variant], record["paths"][variant]
            print(
                f"    {variant:<19}{1e3 * s['median']:>9.2f} ms  [{1e3 * s['q1']:.2f}, {1e3 * s['q3']:.2f}]"
                f"  ran: {path['last_call_path']}",
                file=out,
            )
        parts = [f"{name} {r['median']:.2f} [{r['q1']:.2f}, {r['q3']:.2f}]" for name, r in record["ratios"].items()]
        print("    ratios (median of paired ratios [IQR]): " + "; ".join(parts), file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--cell", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--repeats", type=int, default=20, help="timed rounds per variant")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="the JSON results file ('-' for none)")
    parser.add_argument("--worker-output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker_output:  # a subprocess for one backend
        args.backend = args.backend[0]
        return worker(args)

    command = "python bench/bench_mixed_lengths.py " + " ".join(argv if argv is not None else sys.argv[1:])
    path = pathlib.Path(args.output)
    results = json.loads(path.read_text()) if args.output != "-" and path.exists() else {}
    for backend in args.backend:
        load_before, started = os.getloadavg(), time.time()
        with tempfile.TemporaryDirectory() as tmp:
            output = pathlib.Path(tmp) / "records.json"
            env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--backend", backend,
                    "--cell", *args.cell,
                    "--repeats", str(args.repeats),
                    "--warmup", str(args.warmup),
                    "--worker-output", str(output),
                ],
                env=env,
                check=True,
            )
            records = json.loads(output.read_text())
        meta = run_meta(command, args, load_before, started)  # the house's record of a run, for this backend
        meta["model"] = (
            "Input(batch, steps, features) -> Masking(0.0) -> wrapper(layer) -> Dense(1); adam, mse; train_on_batch"
        )
        results[backend] = {**meta, "shape": SHAPE, "records": records}
        print_section(backend, results[backend])
    write_results(args.output, results)


if __name__ == "__main__":
    main()
