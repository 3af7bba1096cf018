#!/usr/bin/env python
"""On a machine with a CUDA GPU: check bidirlib there and time it, in one command of at most 8 minutes.

    python bench/gpu_check.py                          # JAX and PyTorch, whichever are installed
    python bench/gpu_check.py --backend torch --budget-s 240

For each backend, in a subprocess of its own (the backend is fixed when Keras is imported):

1. **Which kernel ran, and the same numbers.** LSTM and GRU pairs, with no mask, a right-padded mask of mixed
   lengths and a mask with a hole, returning sequences or the last step: a small model (`Masking`, the wrapper,
   `Dense(1)`) is built three times with the same weights: `bidirlib.Bidirectional` as it comes (`auto`), with
   `fused_path="off"` (the two layers run one after the other) and `keras.layers.Bidirectional`. Recorded: the
   path bidirlib took (`last_call_path`, and `last_fused_fallback`), and the largest differences of the
   predictions and of the weights after one SGD step (that is, of the gradients) from the separate path.
2. **Time.** `bench_bidirectional.measure` (a training step and an inference step, interleaved rounds, medians
   of paired ratios) at its tutorial and large sizes, LSTM and GRU: bidirlib, Keras's wrapper, one direction
   alone and, in the PyTorch run, PyTorch's `nn.LSTM`/`nn.GRU(bidirectional=True)` on cuDNN.

Each backend writes `bench/results/gpu_<backend>.json`; the performance chapter shows these files where they
are present. Without a GPU the script stops (`--allow-cpu` runs it anyway, for the smoke test; its results are
then marked as a CPU run and are not written over the committed ones unless `--output-dir` says where).
"""

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

BENCH = pathlib.Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))  # bench_bidirectional, beside this script

BACKENDS = ("jax", "torch")
MASKS = ("none", "right_padded", "holed")
#: Parity-check sizes: big enough for cuDNN to take the call, small enough to be quick.
BATCH, STEPS, FEATURES, UNITS = 8, 12, 16, 32


# ---------------------------------------------------------------------- on the device, in one backend's process


def device_name():
    """The accelerator this process computes on, in words ("cpu" where there is none)."""
    import keras

    if keras.backend.backend() == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    import jax

    device = jax.devices()[0]
    return device.device_kind if device.platform == "gpu" else "cpu"


def padded_inputs(mask_kind, seed=0):
    """A batch whose masked steps are all-zero vectors (what `Masking` reads) and its targets."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    keep = np.ones((BATCH, STEPS), bool)
    if mask_kind == "right_padded":
        lengths = rng.integers(1, STEPS + 1, size=BATCH)
        lengths[0] = STEPS  # one full row
        keep = np.arange(STEPS)[None, :] < lengths[:, None]
    elif mask_kind == "holed":
        keep[1, 3:5] = False  # a hole inside a row
        keep[2, :2] = False  # and a row padded on the left
    x[~keep] = 0.0
    y = rng.normal(size=(BATCH, STEPS, 1)).astype("float32")
    return x, y


def parity_case(kind, mask_kind, return_sequences):
    """One row of the parity table (see the module docstring)."""
    import keras
    import numpy as np

    import bidirlib

    layer_class = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[kind]
    x, y = padded_inputs(mask_kind)
    if not return_sequences:
        y = y[:, 0]

    def model(wrap):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((STEPS, FEATURES))
        hidden = keras.layers.Masking(0.0)(inputs) if mask_kind != "none" else inputs
        hidden = wrap(layer_class(UNITS, return_sequences=return_sequences))(hidden)
        built = keras.Model(inputs, keras.layers.Dense(1)(hidden))
        built.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        return built

    models = {
        "auto": model(lambda layer: bidirlib.Bidirectional(layer, name="bi")),
        "off": model(lambda layer: bidirlib.Bidirectional(layer, fused_path="off", name="bi")),
        "keras": model(lambda layer: keras.layers.Bidirectional(layer, name="bi")),
    }
    weights = models["off"].get_weights()
    for built in models.values():
        built.set_weights(weights)
    predictions = {name: np.asarray(built.predict_on_batch(x)) for name, built in models.items()}
    layer = models["auto"].get_layer("bi")
    path, fallback = layer.last_call_path, layer.last_fused_fallback
    for built in models.values():
        built.train_on_batch(x, y)
    stepped = {name: built.get_weights() for name, built in models.items()}

    def largest(a, b):
        return float(max(np.max(np.abs(u - v)) for u, v in zip(a, b)))

    return {
        "kind": kind,
        "mask": mask_kind,
        "return_sequences": return_sequences,
        "path": path,
        "fallback": fallback,
        "prediction_difference": {
            name: largest([predictions[name]], [predictions["off"]]) for name in ("auto", "keras")
        },
        "weights_after_a_step_difference": {
            name: largest(stepped[name], stepped["off"]) for name in ("auto", "keras")
        },
    }


def worker(args):
    """Parity rows, then timings, on the backend this process imported; write one JSON record."""
    import keras

    import bench_bidirectional as bench

    backend = keras.backend.backend()
    started = time.time()
    record = {"backend": backend, "device": device_name(), "parity": [], "timings": [], "skipped": []}
    if record["device"] == "cpu" and not args.allow_cpu:  # nothing to measure: the driver says so
        pathlib.Path(args.worker_output).write_text(json.dumps(record))
        return
    for kind in args.cell:
        for mask_kind in MASKS:
            for return_sequences in (True, False):
                row = parity_case(kind, mask_kind, return_sequences)
                record["parity"].append(row)
                print(f"  {backend}: {kind} mask={mask_kind} return_sequences={return_sequences}: {row['path']} "
                      f"(auto - off: {row['prediction_difference']['auto']:.1e})", file=sys.stderr, flush=True)
    for size in args.size:
        for cell in args.cell:
            if time.time() - started > args.budget_s:
                record["skipped"].append(f"{size} {cell}: over this backend's budget of {args.budget_s} s")
                continue
            print(f"  {backend}: timing {size} {cell} ...", file=sys.stderr, flush=True)
            record["timings"].append(bench.measure(backend, size, cell, args.repeats, args.warmup))
    record["wall_s"] = round(time.time() - started, 1)
    pathlib.Path(args.worker_output).write_text(json.dumps(record))


# ---------------------------------------------------------------------- the driver


def installed(backend):
    import importlib.util

    return importlib.util.find_spec(backend) is not None


def print_summary(record, out=sys.stdout):
    print(f"\n{record['backend']} on {record['device']} ({record['wall_s']} s)", file=out)
    for row in record["parity"]:
        print(
            f"  {row['kind']:<5} mask={row['mask']:<13} return_sequences={row['return_sequences']!s:<6} "
            f"ran {row['path']:<18} prediction diff auto {row['prediction_difference']['auto']:.1e} "
            f"keras {row['prediction_difference']['keras']:.1e}; after a step auto "
            f"{row['weights_after_a_step_difference']['auto']:.1e}"
            + (f"  ({row['fallback']})" if row["fallback"] else ""),
            file=out,
        )
    for timing in record["timings"]:
        ratios = timing["ratios"]["train"]
        parts = [f"{name} {ratios[name]['median']:.2f}" for name in ("bidirlib/keras", "bidirlib/torch_native")
                 if name in ratios]
        print(f"  train {timing['size']} {timing['cell']}: " + "; ".join(parts), file=out)
    for line in record["skipped"]:
        print(f"  skipped: {line}", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", nargs="+", choices=BACKENDS, default=[b for b in BACKENDS if installed(b)])
    parser.add_argument("--size", nargs="+", default=["tutorial", "large"])
    parser.add_argument("--cell", nargs="+", choices=("lstm", "gru"), default=["lstm", "gru"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--budget-s", type=float, default=180.0, help="seconds a backend may spend before it starts no more timings")
    parser.add_argument("--output-dir", default=str(BENCH / "results"))
    parser.add_argument("--allow-cpu", action="store_true", help="run without a GPU (a smoke test)")
    parser.add_argument("--worker-output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker_output:
        return worker(args)

    command = "python bench/gpu_check.py " + " ".join(argv if argv is not None else sys.argv[1:])
    for backend in args.backend:
        environment = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        with tempfile.TemporaryDirectory() as tmp:
            output = pathlib.Path(tmp) / "record.json"
            worker_command = [
                sys.executable, __file__, "--backend", backend, "--size", *args.size, "--cell", *args.cell,
                "--repeats", str(args.repeats), "--warmup", str(args.warmup),
                "--budget-s", str(args.budget_s), "--worker-output", str(output),
            ] + (["--allow-cpu"] if args.allow_cpu else [])
            # Parity and the first timings fit the budget; the margin covers one timing started just before it.
            subprocess.run(worker_command, env=environment, check=True, timeout=args.budget_s + 180)
            record = json.loads(output.read_text())
        if record["device"] == "cpu" and not args.allow_cpu:
            sys.exit(f"{backend}: no GPU in this process (device: cpu); pass --allow-cpu to run anyway")
        import bench_bidirectional as bench

        record["meta"] = {
            "command": command.strip(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "versions": bench._versions(),
            "repeats": args.repeats,
            "warmup": args.warmup,
        }
        print_summary(record)
        bench.write_results(str(pathlib.Path(args.output_dir) / f"gpu_{backend}.json"), record)


if __name__ == "__main__":
    main()
