#!/usr/bin/env python
"""Benchmark: direction parallelism (forward and backward on two devices) against one direction and Keras.

On JAX with two simulated host devices (`XLA_FLAGS=--xla_force_host_platform_device_count=2`, set here before
JAX starts), it times a training step (`train_on_batch`) and inference (`predict_on_batch`) of the model of
`bench_bidirectional.py` (the recurrent layer with `return_sequences=True`, then `Dense(1)`) built around:

- `direction_parallel`: `bidirlib.Bidirectional(..., direction_mesh=mesh)`, a mesh of the two devices on an
  axis named "direction": one direction on each device;
- `bidirlib`: `bidirlib.Bidirectional` without a mesh (on JAX's CPU: the two layers, one after the other);
- `keras`: `keras.layers.Bidirectional`;
- `unidirectional`: the forward layer alone.

Direction parallelism is JAX's only: TensorFlow's and PyTorch's CPU runtimes have no second device to place a
direction on, and TensorFlow already runs the two layers' loops at the same time on one.

Rounds are interleaved and shuffled as in `bench_bidirectional.py`; ratios are medians of per-round ratios. On
this project's 2-core machine the two simulated devices share the two cores with everything else, so a ratio
near 1.0 against one direction is the best it can show. A benchmark, not a test: nothing is asserted about time.

    python bench/bench_direction_parallel.py                      # both sizes, LSTM and GRU
    python bench/bench_direction_parallel.py --size tutorial --cell lstm --repeats 10
"""

import os

# Both before JAX starts: two host devices, and the JAX backend for Keras.
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_bidirectional import (  # noqa: E402
    CELLS,
    ROOT,
    SIZES,
    TASKS,
    _quartiles,
    print_load,
    run_meta,
    small_model,
    time_interleaved,
    write_results,
)

DEFAULT_OUTPUT = ROOT / "bench" / "results" / "bench_direction_parallel.json"
VARIANTS = ("direction_parallel", "bidirlib", "keras", "unidirectional")
RATIOS = (
    ("direction_parallel", "unidirectional"),
    ("direction_parallel", "keras"),
    ("direction_parallel", "bidirlib"),
    ("keras", "unidirectional"),
)


def _models(cell, size, mesh):
    import keras

    import bidirlib

    wraps = {
        "direction_parallel": lambda r: bidirlib.Bidirectional(r, direction_mesh=mesh, name="bidirectional"),
        "bidirlib": lambda r: bidirlib.Bidirectional(r, name="bidirectional"),
        "keras": lambda r: keras.layers.Bidirectional(r, name="bidirectional"),
        "unidirectional": lambda r: r,
    }
    return {name: small_model(name, wrap, cell, size) for name, wrap in wraps.items()}


def measure(size_name, cell, repeats, warmup, seed=0):
    """Time every variant; returns one result record."""
    import keras
    import numpy as np

    devices = keras.distribution.list_devices()
    assert len(devices) >= 2, devices
    mesh = keras.distribution.DeviceMesh((2,), ["direction"], devices[:2])
    size = SIZES[size_name]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(size["batch"], size["steps"], size["features"])).astype("float32")
    y = rng.normal(size=(size["batch"], size["steps"], 1)).astype("float32")
    models = _models(cell, size, mesh)
    runs = {
        name: {"train": (lambda m=m: m.train_on_batch(x, y)), "inference": (lambda m=m: m.predict_on_batch(x))}
        for name, m in models.items()
    }

    paths = {}
    for _ in range(warmup):
        for name in runs:
            for task in TASKS:
                runs[name][task]()
                if name in ("direction_parallel", "bidirlib"):
                    paths.setdefault(name, {})[task] = models[name].get_layer("bidirectional").last_call_path
    # The same numbers on both: the check that the timed path computes what the two layers compute.
    weights = models["keras"].get_weights()
    models["direction_parallel"].set_weights(weights)
    gap = float(np.max(np.abs(models["direction_parallel"].predict_on_batch(x) - models["keras"].predict_on_batch(x))))

    times = time_interleaved(runs, TASKS, repeats, seed + 1)

    ratios = {}
    for task in TASKS:
        ratios[task] = {}
        for top, bottom in RATIOS:
            paired = np.array(times[task][top]) / np.array(times[task][bottom])
            ratios[task][f"{top}/{bottom}"] = _quartiles(paired)
    return {
        "backend": "jax",
        "devices": [str(d) for d in devices[:2]],
        "size": size_name,
        "cell": cell,
        "shape": size,
        "paths": paths,
        "max_abs_difference_to_keras": gap,
        "summary_s": {task: {name: _quartiles(v) for name, v in times[task].items()} for task in TASKS},
        "ratios": ratios,
    }


def print_table(records, out=sys.stdout):
    for record in records:
        shape = record["shape"]
        print(
            f"\njax on {len(record['devices'])} host devices / {record['size']} (batch {shape['batch']}, "
            f"{shape['steps']} steps, {shape['features']} features, {shape['units']} units) / "
            f"{record['cell'].upper()}",
            file=out,
        )
        for name, taken in record["paths"].items():
            print(f"  {name} ran: " + ", ".join(f"{task} {path}" for task, path in taken.items()), file=out)
        print(f"  largest difference to Keras's outputs: {record['max_abs_difference_to_keras']:.1e}", file=out)
        print(f"  {'task':<10}{'variant':<20}{'median ms':>10}{'IQR ms':>17}", file=out)
        for task in TASKS:
            for name, s in record["summary_s"][task].items():
                print(
                    f"  {task:<10}{name:<20}{1e3 * s['median']:>10.2f}{1e3 * s['q1']:>9.2f}-{1e3 * s['q3']:<7.2f}",
                    file=out,
                )
        for task in TASKS:
            parts = [f"{n} {r['median']:.2f} [{r['q1']:.2f}, {r['q3']:.2f}]" for n, r in record["ratios"][task].items()]
            print(f"  ratios, {task} (median of paired ratios [IQR]): " + "; ".join(parts), file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", nargs="+", choices=sorted(SIZES), default=list(SIZES))
    parser.add_argument("--cell", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--repeats", type=int, default=30, help="timed rounds per variant and task")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="the JSON results file ('-' for none)")
    args = parser.parse_args(argv)

    command = "python bench/bench_direction_parallel.py " + " ".join(argv if argv is not None else sys.argv[1:])
    load_before = os.getloadavg()
    started = time.time()
    records = []
    for size_name in args.size:
        for cell in args.cell:
            print(f"  {size_name} {cell} ...", file=sys.stderr, flush=True)
            records.append(measure(size_name, cell, args.repeats, args.warmup))
    meta = run_meta(command, args, load_before, started)
    print_table(records)
    print_load(meta)
    write_results(args.output, {"meta": meta, "records": records})


if __name__ == "__main__":
    main()
