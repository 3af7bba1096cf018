"""The export tier: models holding `bidirlib.Bidirectional`, exported on the backend of this run, loaded back and
compared with the model's own outputs (atol 1e-5); the fast paths in an export; `check_export`'s example.

Needs the `export` extra (`pip install -e ".[export]"`: onnx, onnxruntime, jax2onnx, onnxscript, tf2onnx); run
with `pytest -m export` on each backend. A missing package fails the tests (check_export says which to
install) rather than skipping them: the tier exists to run these. The whole grid, beside Keras's wrapper, is
`bench/export_table.py`'s (its committed tables are checked by tests/repository/test_export_tables.py).
"""

import doctest
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import bidirlib
from bidirlib.export import check_export, exporting
from helpers import bench_scripts

pytestmark = pytest.mark.export

ROOT = pathlib.Path(__file__).resolve().parents[2]
BACKEND = keras.backend.backend()
ATOL = 1e-5
TABLE = bench_scripts.load("export_table")

#: A representative subset of the grid: every kind, every merge mode, both `return_sequences`, both
#: `return_state`.
CASES = [
    ("lstm", "concat", True, False),
    ("gru", "sum", False, True),
    ("simple_rnn", "mul", True, True),
    ("simple_rnn", "ave", False, False),
    ("rnn_cell", None, True, False),
    ("lstm", None, False, True),
]


def paths_during(function):
    """`(result, [(path, exporting()) of each dispatch while function() ran])`."""
    seen = []
    remove = bidirlib.fused.add_dispatch_observer(lambda plan, path: seen.append((path, exporting())))
    try:
        return function(), seen
    finally:
        remove()


@pytest.mark.parametrize("kind, merge_mode, return_sequences, return_state", CASES)
def test_onnx_export_loads_in_onnxruntime_and_equals_the_model(
    tmp_path, kind, merge_mode, return_sequences, return_state
):
    model = TABLE.case_models(kind, merge_mode, return_sequences, return_state)["bidirlib"]
    check = check_export(model, TABLE.case_inputs(), path=tmp_path / "model.onnx", atol=ATOL)
    states = 2 * (2 if kind in ("lstm", "rnn_cell") else 1) if return_state else 0  # an LSTM cell has h and c
    assert len(check.loaded) == (2 if merge_mode is None else 1) + states
    assert check.equal, f"max abs difference {check.max_abs_difference}"


@pytest.mark.skipif(BACKEND == "torch", reason="Keras's SavedModel export on PyTorch needs torch_xla")
@pytest.mark.parametrize("kind, merge_mode, return_sequences, return_state", [CASES[2], CASES[5]])
def test_saved_model_export_loads_in_tensorflow_and_equals_the_model(
    tmp_path, kind, merge_mode, return_sequences, return_state
):
    model = TABLE.case_models(kind, merge_mode, return_sequences, return_state)["bidirlib"]
    check = check_export(model, TABLE.case_inputs(), format="tf_saved_model", path=tmp_path / "sm", atol=ATOL)
    assert check.equal, f"max abs difference {check.max_abs_difference}"


def test_a_mask_initial_states_and_a_swapped_pair_export_too(tmp_path):
    """The flipped copy (`reads_a_flipped_copy`) flips the mask with the sequence; a swapped pair reads the
    flipped copy in its forward layer; the mask's and the states' checks take a batch size that is a symbol (as
    jax2onnx traces it)."""
    inputs, forward_state, backward_state = keras.Input((5, 4)), keras.Input((3,)), keras.Input((3,))
    masked = keras.layers.Masking(0.0)(inputs)
    swapped = keras.layers.SimpleRNN(3, return_sequences=True, go_backwards=True)
    backward = keras.layers.SimpleRNN(3, return_sequences=True)
    wrapper = bidirlib.Bidirectional(swapped, backward_layer=backward, merge_mode="sum")
    outputs = wrapper(masked, initial_state=[forward_state, backward_state])
    model = keras.Model([inputs, forward_state, backward_state], outputs)
    x = TABLE.case_inputs()
    x[0, 3:] = 0.0  # a padded row
    states = np.random.default_rng(1).normal(size=(2, TABLE.BATCH, 3)).astype("float32")
    check = check_export(model, [x, states[0], states[1]], path=tmp_path / "model.onnx")
    assert check.equal, f"max abs difference {check.max_abs_difference}"


@keras.saving.register_keras_serializable(package="bidirlib_export_tests")
def gated_difference(forward, backward):
    return keras.ops.concatenate([forward * keras.ops.sigmoid(backward), forward - backward], axis=-1)


@pytest.mark.parametrize("format", ["onnx", "tf_saved_model"])
def test_a_merge_function_exports_and_round_trips_through_a_keras_file(tmp_path, format):
    if format == "tf_saved_model" and BACKEND == "torch":
        pytest.skip("Keras's SavedModel export on PyTorch needs torch_xla")
    inputs = keras.Input((5, 4))
    hidden = bidirlib.Bidirectional(keras.layers.LSTM(3, return_sequences=True), merge_mode=gated_difference)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.layers[1].merge_mode is gated_difference
    for exported in (model, loaded):
        check = check_export(exported, TABLE.case_inputs(), format=format, path=tmp_path / f"{id(exported)}.{format}")
        assert check.equal, f"max abs difference {check.max_abs_difference}"


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's exporters")
def test_torch_kernel_is_exported_by_the_torchscript_exporter_and_steps_aside_in_torch_export(tmp_path):
    import torch

    model = TABLE.case_models("lstm", "concat", True, False)["bidirlib"]
    layer = model.layers[1]
    x = TABLE.case_inputs()
    # Keras's ONNX export with an unknown batch size traces the model with TorchScript, which takes torch.lstm.
    check, seen = paths_during(lambda: check_export(model, x, path=tmp_path / "model.onnx"))
    assert check.equal
    assert ("torch_lstm", True) in seen, seen
    # torch.export (the ONNX export with a fixed batch size, and format="torch") compiles: the kernel steps aside.
    program, seen = paths_during(lambda: torch.export.export(model, (torch.tensor(x),)))
    assert seen == [("separate", True)], seen
    assert "steps aside while torch.export traces the model" in layer.last_fused_fallback
    exported = keras.ops.convert_to_numpy(program.module()(torch.tensor(x)))
    np.testing.assert_allclose(exported, check.expected[0], atol=ATOL)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's BlockLSTM")
@pytest.mark.parametrize("format", ["onnx", "tf_saved_model"])
def test_block_lstm_is_exported_where_the_batch_size_is_fixed(tmp_path, format):
    inputs = keras.Input((TABLE.STEPS, TABLE.FEATURES), batch_size=TABLE.BATCH)
    model = keras.Model(inputs, bidirlib.Bidirectional(keras.layers.LSTM(TABLE.UNITS))(inputs))
    check, seen = paths_during(lambda: check_export(model, TABLE.case_inputs(), format=format, path=tmp_path / "m"))
    assert check.equal
    assert seen[0][0] == "tf_block_lstm" and seen.count(("tf_block_lstm", False)) >= 2, seen  # the call, the trace


DIRECTION_PARALLEL_EXPORT = """
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
import numpy as np, keras, bidirlib
from bidirlib.export import check_export

mesh = keras.distribution.DeviceMesh((2,), ["direction"], keras.distribution.list_devices()[:2])
inputs = keras.Input((5, 4))
layer = bidirlib.Bidirectional(keras.layers.GRU(3, return_sequences=True), direction_mesh=mesh)
model = keras.Model(inputs, layer(inputs))
x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
paths = []
bidirlib.fused.add_dispatch_observer(lambda plan, path: paths.append(path))
for format in ("onnx", "tf_saved_model"):
    del paths[:]
    check = check_export(model, x, format=format)
    assert check.equal, (format, check.max_abs_difference)
    assert paths[0] == "direction_parallel" and "separate" in paths, paths
    assert "the model is being exported" in layer.last_fused_fallback, layer.last_fused_fallback
print("ok")
"""


@pytest.mark.skipif(BACKEND != "jax", reason="direction parallelism runs on JAX")
def test_direction_parallelism_steps_aside_while_jax2onnx_or_jax2tf_converts():
    """jax2onnx cannot convert shard_map's axis_index, and jax2tf's SavedModel crashed the process: both need
    the two separate layers. Two simulated devices must exist before JAX starts, hence a subprocess."""
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(DIRECTION_PARALLEL_EXPORT)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]


def test_check_exports_example_runs():
    """`check_export`'s docstring example (skipped by the default tier, which has no onnxruntime) runs here."""
    test = doctest.DocTestFinder().find(check_export, "check_export", globs={})[0]
    for example in test.examples:
        example.options.pop(doctest.SKIP, None)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 7


def test_the_table_script_writes_a_row_a_case_wrapper_and_format(tmp_path):
    """bench/export_table.py on a corner of its grid (its whole grid takes minutes: it is a benchmark)."""
    output = tmp_path / "table.json"
    TABLE.main(["--kinds", "simple_rnn", "--merge-modes", "sum", "--formats", "onnx", "--output", str(output)])
    table = json.loads(output.read_text())
    rows = table["rows"]
    assert len(rows) == 4 * 2 and table["meta"]["backend"] == BACKEND
    assert table["summary"]["onnx"]["bidirlib"] == {"equal": 4, "cases": 4}
    for row in rows:
        assert row["equal"] or row["error"]
        if row["wrapper"] == "bidirlib":
            assert row["kernel"] == row["kernel_in_export"] == "separate"
