#!/usr/bin/env python
"""Benchmark: bidirlib.Bidirectional against keras.layers.Bidirectional, a unidirectional layer and PyTorch.

For each backend, size and cell (LSTM, GRU) it times a training step (`train_on_batch`) and inference
(`predict_on_batch`) of the same small model -- the recurrent layer with `return_sequences=True`, then a
`Dense(1)` head -- built around:

- `bidirlib`: `bidirlib.Bidirectional` as it comes (its fast path on; the path it took is recorded);
- `bidirlib_stacked`: the same with `BIDIRLIB_FUSED_PATH=stacked`: the stacked loop on every backend;
- `bidirlib_separate`: the same with `fused_path = "off"` (two layers, as Keras runs them);
- `keras`: `keras.layers.Bidirectional`;
- `unidirectional`: the forward layer alone (`keras.layers.LSTM` or `GRU`, same units);
- `torch_native`: PyTorch's `nn.LSTM`/`nn.GRU(bidirectional=True)` with a `Linear` head, in the PyTorch run
  only (in the same process as TensorFlow or JAX, PyTorch's busy-waiting threads slow the others down).

Variants are measured interleaved in one process: after warm-up, every round times each (task, variant) once,
in an order shuffled per round, so that machine noise hits all of them alike. It prints medians, the spread
(interquartile range and min-max) and ratios; a ratio such as bidirlib/unidirectional is the median of the
per-round ratios (each round's two times were taken moments apart). Results go to a JSON file that the
performance chapter plots. A benchmark, not a test: nothing is asserted about time.

    python bench/bench_bidirectional.py                             # every backend, both sizes, LSTM and GRU
    python bench/bench_bidirectional.py --backend jax --size tutorial --cell lstm --repeats 10

The backend is fixed when Keras is imported, so each backend runs in its own subprocess.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "bench_bidirectional.json"
BACKENDS = ("tensorflow", "jax", "torch")
SIZES = {
    # The size of the tutorial measurement, and a larger one.
    "tutorial": {"batch": 32, "steps": 100, "features": 32, "units": 64},
    "large": {"batch": 256, "steps": 50, "features": 32, "units": 128},
}
CELLS = ("lstm", "gru")
TASKS = ("train", "inference")
VARIANTS = ("bidirlib", "bidirlib_stacked", "bidirlib_separate", "keras", "unidirectional", "torch_native")
#: The fused-path setting (BIDIRLIB_FUSED_PATH) each bidirlib variant runs under.
MODES = {"bidirlib": "auto", "bidirlib_stacked": "stacked"}
#: Ratios reported: (numerator, denominator).
RATIOS = (
    ("bidirlib", "keras"),
    ("bidirlib", "unidirectional"),
    ("keras", "unidirectional"),
    ("bidirlib_stacked", "bidirlib_separate"),
    ("bidirlib_separate", "unidirectional"),
    ("torch_native", "unidirectional"),
    ("bidirlib", "torch_native"),
)


# ---------------------------------------------------------------------- one backend, in this process


def small_model(name, wrap, cell, size):
    """The benchmarked model: `wrap(LSTM or GRU)` returning sequences, then `Dense(1)`; adam and mse. The
    recurrent layer's weights are drawn from seed 0, so every variant starts from the same ones."""
    import keras

    layer_class = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    keras.utils.set_random_seed(0)
    recurrent = layer_class(size["units"], return_sequences=True, name=cell)
    model = keras.Sequential(
        [
            keras.Input(shape=(size["steps"], size["features"]), batch_size=size["batch"], name="x"),
            wrap(recurrent),
            keras.layers.Dense(1, name="head"),
        ],
        name=name,
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def time_interleaved(runs, tasks, repeats, seed):
    """Time `runs[name][task]()` `repeats` times each, every round in an order shuffled by `seed`; returns
    `{task: {name: [seconds, ...]}}`."""
    import numpy as np

    keys = [(task, name) for task in tasks for name in runs]
    times = {task: {name: [] for name in runs} for task in tasks}
    order_rng = np.random.default_rng(seed)
    for _ in range(repeats):
        for index in order_rng.permutation(len(keys)):
            task, name = keys[index]
            start = time.perf_counter()
            runs[name][task]()
            times[task][name].append(time.perf_counter() - start)
    return times


def _keras_models(cell, size):
    import keras

    import bidirlib

    def model(name, wrap):
        return small_model(name, wrap, cell, size)

    models = {
        "bidirlib": model("bidirlib", lambda r: bidirlib.Bidirectional(r, name="bidirectional")),
        "bidirlib_stacked": model("bidirlib_stacked", lambda r: bidirlib.Bidirectional(r, name="bidirectional")),
        "bidirlib_separate": model("bidirlib_separate", lambda r: bidirlib.Bidirectional(r, name="bidirectional")),
        "keras": model("keras", lambda r: keras.layers.Bidirectional(r, name="bidirectional")),
        "unidirectional": model("unidirectional", lambda r: r),
    }
    models["bidirlib_separate"].get_layer("bidirectional").fused_path = "off"
    return models


def _torch_native(cell, size, x, y):
    """Train-step and inference callables for PyTorch's own bidirectional layer, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    # On a GPU (cuDNN), as Keras's models run there; a timed call waits for the device, as Keras's calls
    # (which return numpy arrays) do.
    device = "cuda" if torch.cuda.is_available() else "cpu"
    wait = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    rnn_class = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    rnn = rnn_class(size["features"], size["units"], batch_first=True, bidirectional=True).to(device)
    head = torch.nn.Linear(2 * size["units"], 1).to(device)
    parameters = list(rnn.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(parameters)
    tx, ty = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)

    def train():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(head(rnn(tx)[0]), ty)
        loss.backward()
        optimizer.step()
        wait()

    def inference():
        with torch.no_grad():
            head(rnn(tx)[0])
        wait()

    return {"train": train, "inference": inference}


def _quartiles(values):
    import numpy as np

    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return {"median": float(median), "q1": float(q1), "q3": float(q3), "min": float(min(values)), "max": float(max(values))}


def measure(backend, size_name, cell, repeats, warmup, seed=0):
    """Time every variant on the current backend; returns one result record."""
    import keras
    import numpy as np

    assert keras.backend.backend() == backend, (keras.backend.backend(), backend)
    size = SIZES[size_name]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(size["batch"], size["steps"], size["features"])).astype("float32")
    y = rng.normal(size=(size["batch"], size["steps"], 1)).astype("float32")

    models = _keras_models(cell, size)
    runs = {
        name: {"train": (lambda m=m: m.train_on_batch(x, y)), "inference": (lambda m=m: m.predict_on_batch(x))}
        for name, m in models.items()
    }
    native = _torch_native(cell, size, x, y) if backend == "torch" else None
    if native is not None:
        runs["torch_native"] = native

    from bidirlib.fused import ENVIRONMENT_VARIABLE

    def call(name, task):
        # The fast-path mode is read when a call is traced (TensorFlow, JAX) or run (PyTorch): set it each time.
        os.environ[ENVIRONMENT_VARIABLE] = MODES.get(name, "auto")
        runs[name][task]()

    paths = {}
    for _ in range(warmup):  # tracing, compilation, caches
        for name in runs:
            for task in TASKS:
                call(name, task)
                if name in models and name != "unidirectional":
                    layer = models[name].get_layer("bidirectional")
                    path = getattr(layer, "last_call_path", "keras")
                    paths.setdefault(name, {})[task] = {
                        "last_call_path": path,
                        "last_fused_fallback": getattr(layer, "last_fused_fallback", None),
                    }

    timed = {name: {task: (lambda name=name, task=task: call(name, task)) for task in TASKS} for name in runs}
    times = time_interleaved(timed, TASKS, repeats, seed + 1)

    summary = {task: {name: _quartiles(values) for name, values in times[task].items()} for task in TASKS}
    ratios = {}
    for task in TASKS:
        ratios[task] = {}
        for top, bottom in RATIOS:
            if top in times[task] and bottom in times[task]:
                paired = np.array(times[task][top]) / np.array(times[task][bottom])
                ratios[task][f"{top}/{bottom}"] = _quartiles(paired)
    return {
        "backend": backend,
        "size": size_name,
        "cell": cell,
        "shape": size,
        "paths": paths,
        "times_s": times,
        "summary_s": summary,
        "ratios": ratios,
    }


def worker(args):
    """Measure the requested sizes and cells on the backend this process imported; write JSON records."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    records = []
    for size_name in args.size:
        for cell in args.cell:
            print(f"  {args.backend}: {size_name} {cell} ...", file=sys.stderr, flush=True)
            records.append(measure(args.backend, size_name, cell, args.repeats, args.warmup))
    pathlib.Path(args.worker_output).write_text(json.dumps(records))


# ---------------------------------------------------------------------- the driver


def _versions():
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for package in ("keras", "tensorflow", "jax", "torch", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def print_table(records, out=sys.stdout):
    for record in records:
        shape = record["shape"]
        print(
            f"\n{record['backend']} / {record['size']} (batch {shape['batch']}, {shape['steps']} steps, "
            f"{shape['features']} features, {shape['units']} units) / {record['cell'].upper()}",
            file=out,
        )
        for name in ("bidirlib", "bidirlib_stacked"):
            taken = ", ".join(f"{task} {p['last_call_path']}" for task, p in record["paths"][name].items())
            print(f"  {name} ran: {taken}", file=out)
        print(f"  {'task':<10}{'variant':<19}{'median ms':>10}{'IQR ms':>17}{'min-max ms':>19}", file=out)
        for task in TASKS:
            for name, s in record["summary_s"][task].items():
                print(
                    f"  {task:<10}{name:<19}{1e3 * s['median']:>10.2f}"
                    f"{1e3 * s['q1']:>9.2f}-{1e3 * s['q3']:<7.2f}{1e3 * s['min']:>10.2f}-{1e3 * s['max']:<8.2f}",
                    file=out,
                )
        for task in TASKS:
            parts = [
                f"{name} {r['median']:.2f} [{r['q1']:.2f}, {r['q3']:.2f}]" for name, r in record["ratios"][task].items()
            ]
            print(f"  ratios, {task} (median of paired ratios [IQR]): " + "; ".join(parts), file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--size", nargs="+", choices=sorted(SIZES), default=list(SIZES))
    parser.add_argument("--cell", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--repeats", type=int, default=30, help="timed rounds per variant and task")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="the JSON results file ('-' for none)")
    parser.add_argument("--worker-output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker_output:  # a subprocess for one backend
        args.backend = args.backend[0]
        return worker(args)

    command = "python bench/bench_bidirectional.py " + " ".join(argv if argv is not None else sys.argv[1:])
    load_before = os.getloadavg()
    started = time.time()
    records = []
    for backend in args.backend:
        with tempfile.TemporaryDirectory() as tmp:
            output = pathlib.Path(tmp) / "records.json"
            env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--backend", backend,
                    "--size", *args.size,
                    "--cell", *args.cell,
                    "--repeats", str(args.repeats),
                    "--warmup", str(args.warmup),
                    "--worker-output", str(output),
                ],
                env=env,
                check=True,
            )
            records += json.loads(output.read_text())
    meta = run_meta(command, args, load_before, started)
    print_table(records)
    print_load(meta)
    write_results(args.output, {"meta": meta, "records": records})


def run_meta(command, args, load_before, started):
    """What a results file records about its run: the command, date, machine, versions, rounds and load."""
    return {
        "command": command.strip(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "versions": _versions(),
        "repeats": args.repeats,
        "warmup": args.warmup,
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "wall_s": round(time.time() - started, 1),
        "model": "Input(batch, steps, features) -> layer(return_sequences=True) -> Dense(1); adam, mse",
    }


def print_load(meta, out=sys.stdout):
    print(
        f"\nload average before {meta['load_average_before']}, after {meta['load_average_after']} "
        f"on {meta['cpu_count']} CPUs; {meta['wall_s']} s",
        file=out,
    )


def write_results(output, results):
    """Write `results` as JSON to the path `output` (nothing for "-"), and say where."""
    if output == "-":
        return
    path = pathlib.Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results written to {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
