#!/usr/bin/env python
"""The export table: what `model.export` writes for `bidirlib.Bidirectional` and for Keras's wrapper, checked.

For every case of the grid (wrapped kind x merge mode x `return_sequences` x `return_state`), on the backend of
`KERAS_BACKEND`, the script builds a small model holding one wrapper (bidirlib's, then Keras's, with the same
weights), exports it to ONNX and loads the file in onnxruntime, and, where Keras has a SavedModel export on the
backend (TensorFlow and JAX), exports a SavedModel and loads it in TensorFlow; each loaded file is run on the
same batch and compared with the model's own outputs (`bidirlib.export.check_export`, atol 1e-5). It writes one
row a case, wrapper and format to `bench/results/export_<backend>.json`:

- `exported`, `loads`, `equal`: how far it got (an export that raised is neither exported nor loaded);
- `max_abs_difference`: over every output, when it ran;
- `error`: the first line of the error where it failed;
- `kernel` and `kernel_in_export`: the path bidirlib's layer took in the model's own call and while it was
  traced for the export (`last_call_path`), and `fallback_in_export`: why no fast kernel ran then.

A reader takes the JSON's `rows` as a table (`pandas.DataFrame(json.load(f)["rows"])`); `summary` counts the
equal cases per wrapper and format.

    KERAS_BACKEND=torch python bench/export_table.py                 # the whole grid, written to bench/results
    KERAS_BACKEND=jax python bench/export_table.py --kinds gru --merge-modes concat --output /tmp/t.json
"""

import argparse
import contextlib
import io
import itertools
import json
import os
import platform
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import bidirlib  # noqa: E402
from bidirlib.export import check_export  # noqa: E402

#: The wrapped kinds: the three Keras layers, and the generic `keras.layers.RNN` of a cell.
KINDS = ("lstm", "gru", "simple_rnn", "rnn_cell")
MERGE_MODES = ("concat", "sum", "mul", "ave", None)
WRAPPERS = ("bidirlib", "keras")
#: The small sizes of every case: batch, steps, features, units.
BATCH, STEPS, FEATURES, UNITS = 2, 5, 4, 3
ATOL = 1e-5
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def wrapped_layer(kind, return_sequences, return_state):
    """A fresh layer of `kind` with the case's flags."""
    flags = {"return_sequences": return_sequences, "return_state": return_state}
    if kind == "lstm":
        return keras.layers.LSTM(UNITS, **flags)
    if kind == "gru":
        return keras.layers.GRU(UNITS, **flags)
    if kind == "simple_rnn":
        return keras.layers.SimpleRNN(UNITS, **flags)
    if kind == "rnn_cell":
        return keras.layers.RNN(keras.layers.LSTMCell(UNITS), **flags)
    raise ValueError(f"kind must be one of {KINDS}. Received: {kind!r}.")


def case_models(kind, merge_mode, return_sequences, return_state, seed=0):
    """`{"bidirlib": model, "keras": model}`: the case's model with each wrapper, the same weights in both."""
    models = {}
    for wrapper in WRAPPERS:
        keras.utils.set_random_seed(seed)
        cls = bidirlib.Bidirectional if wrapper == "bidirlib" else keras.layers.Bidirectional
        inputs = keras.Input((STEPS, FEATURES))
        outputs = cls(wrapped_layer(kind, return_sequences, return_state), merge_mode=merge_mode)(inputs)
        models[wrapper] = keras.Model(inputs, outputs)
    models["keras"].set_weights(models["bidirlib"].get_weights())
    return models


def case_inputs(seed=0):
    return np.random.default_rng(seed).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")


def formats_for_backend(backend):
    """ONNX everywhere; a SavedModel where Keras exports one on this backend (PyTorch's needs torch_xla)."""
    return ("onnx", "tf_saved_model") if backend in ("tensorflow", "jax") else ("onnx",)


def first_line(error, folder=None):
    """The error's type and the first line of its message, without the temporary folder's name."""
    text = f"{type(error).__name__}: {error}".strip()
    if folder:
        text = text.replace(folder + os.sep, "").replace(folder, ".")
    return text.splitlines()[0][:300]


def check_case(model, x, format, folder):
    """One row's outcome of exporting `model` in `format` and loading it back."""
    row = {"exported": False, "loads": False, "equal": False, "max_abs_difference": None, "error": None}
    path = os.path.join(folder, "model.onnx" if format == "onnx" else "saved_model")
    layer = _bidirectional(model)
    before = {"kernel": getattr(layer, "last_call_path", None)}
    seen = []
    remove = bidirlib.fused.add_dispatch_observer(lambda plan, path_taken: seen.append(path_taken))
    try:
        with _quiet():
            check = check_export(model, x, format=format, path=path, atol=ATOL)
        row.update(exported=True, loads=True, equal=bool(check.equal), max_abs_difference=check.max_abs_difference)
        if not check.equal:
            row["error"] = f"outputs differ: max abs difference {check.max_abs_difference:.3g} > {ATOL}"
    except Exception as error:  # a row records the failure: the table is what each wrapper exports
        row["exported"] = os.path.exists(path)
        row["error"] = first_line(error, folder)
    finally:
        remove()
    if isinstance(layer, bidirlib.Bidirectional):
        # The first dispatch is the model's own call in check_export; what follows is the export's tracing.
        row["kernel"] = seen[0] if seen else before["kernel"]
        row["kernel_in_export"] = seen[-1] if len(seen) > 1 else None
        row["fallback_in_export"] = layer.last_fused_fallback if len(seen) > 1 else None
    return row


def _bidirectional(model):
    for layer in model.layers:
        if isinstance(layer, (bidirlib.Bidirectional, keras.layers.Bidirectional)):
            return layer
    return None


@contextlib.contextmanager
def _quiet():
    """The exporters print their progress and warnings; a table of 160 rows does not need them."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def run_grid(kinds=KINDS, merge_modes=MERGE_MODES, formats=None, folder=None):
    """Every row of the table for the current backend, in grid order (see the module's docstring)."""
    import tempfile

    backend = keras.backend.backend()
    formats = formats or formats_for_backend(backend)
    folder = folder or tempfile.mkdtemp(prefix="export_table_")
    rows = []
    x = case_inputs()
    grid = itertools.product(kinds, merge_modes, (True, False), (False, True))
    for number, (kind, merge_mode, return_sequences, return_state) in enumerate(grid):
        models = case_models(kind, merge_mode, return_sequences, return_state)
        for wrapper, format in itertools.product(WRAPPERS, formats):
            case_folder = os.path.join(folder, f"{number}_{wrapper}_{format}")
            os.makedirs(case_folder, exist_ok=True)
            started = time.perf_counter()
            row = {
                "backend": backend,
                "wrapper": wrapper,
                "kind": kind,
                "merge_mode": merge_mode,
                "return_sequences": return_sequences,
                "return_state": return_state,
                "format": format,
                **check_case(models[wrapper], x, format, case_folder),
            }
            row["seconds"] = round(time.perf_counter() - started, 2)
            rows.append(row)
            mark = "equal" if row["equal"] else (row["error"] or "")[:90]
            print(f"{wrapper:8s} {format:14s} {kind:10s} {str(merge_mode):6s} seq={return_sequences!s:5s} "
                  f"state={return_state!s:5s} {row.get('kernel_in_export') or '':14s} {mark}", flush=True)
    return rows


def summary(rows):
    """`{format: {wrapper: {"equal": n, "cases": n}}}`."""
    counts = {}
    for row in rows:
        entry = counts.setdefault(row["format"], {}).setdefault(row["wrapper"], {"equal": 0, "cases": 0})
        entry["cases"] += 1
        entry["equal"] += int(row["equal"])
    return counts


def versions():
    from importlib import metadata

    found = {"python": platform.python_version()}
    for package in ("keras", "numpy", "tensorflow", "jax", "torch", "onnx", "onnxruntime", "onnxscript", "jax2onnx",
                    "tf2onnx", "protobuf"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--merge-modes", nargs="+", default=[str(m) for m in MERGE_MODES],
                        choices=[str(m) for m in MERGE_MODES])
    parser.add_argument("--formats", nargs="+", default=None, choices=("onnx", "tf_saved_model"))
    parser.add_argument("--output", default=None, help="the JSON's path (default bench/results/export_<backend>.json)")
    args = parser.parse_args(argv)
    merge_modes = [None if m == "None" else m for m in args.merge_modes]
    backend = keras.backend.backend()
    started = time.perf_counter()
    rows = run_grid(args.kinds, merge_modes, args.formats)
    seconds = round(time.perf_counter() - started, 1)
    result = {
        "meta": {
            "backend": backend,
            "atol": ATOL,
            "sizes": {"batch": BATCH, "steps": STEPS, "features": FEATURES, "units": UNITS},
            "versions": versions(),
            "seconds": seconds,
            "command": "KERAS_BACKEND=%s python bench/export_table.py" % backend,
        },
        "summary": summary(rows),
        "rows": rows,
    }
    output = args.output or os.path.join(RESULTS, f"export_{backend}.json")
    with open(output, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    for format, wrappers in result["summary"].items():
        for wrapper, counts in wrappers.items():
            print(f"{backend} {format} {wrapper}: {counts['equal']}/{counts['cases']} equal")
    print(f"{seconds} s; written to {output}")


if __name__ == "__main__":
    main()
