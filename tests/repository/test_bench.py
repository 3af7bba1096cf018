"""The benchmarks still run: each script, at its smallest, on the backend of this test run.

Nothing here is about time (benchmarks are not tests); these catch a script that an API change broke before
someone needs its numbers.
"""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import keras
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration  # each test runs a benchmark script in a subprocess
BACKEND = keras.backend.backend()


def run_script(name, *arguments, backend=BACKEND):
    environment = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), *arguments],
        env=environment, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_bench_bidirectional_writes_every_variant_for_this_backend(tmp_path):
    output = tmp_path / "results.json"
    printed = run_script("bench_bidirectional.py", "--backend", BACKEND, "--size", "tutorial", "--cell", "gru",
                         "--repeats", "1", "--warmup", "1", "--output", str(output))
    results = json.loads(output.read_text())
    (record,) = results["records"]
    assert (record["backend"], record["size"], record["cell"]) == (BACKEND, "tutorial", "gru")
    expected = {"bidirlib", "bidirlib_stacked", "bidirlib_separate", "keras", "unidirectional"}
    if BACKEND == "torch":
        expected.add("torch_native")
    assert set(record["times_s"]["train"]) == expected
    assert record["paths"]["bidirlib_separate"]["train"]["last_call_path"] == "separate"
    assert record["paths"]["bidirlib_stacked"]["inference"]["last_call_path"] == "stacked_gru"
    assert "bidirlib/unidirectional" in printed


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="BlockLSTM is a TensorFlow kernel")
def test_sweep_block_lstm_runs():
    printed = run_script("sweep_block_lstm.py", "--batch", "8", "--units", "32", "--features", "32", "--steps", "5",
                         "--repeats", "1", "--warmup", "1", "--output", "-", backend="tensorflow")
    assert "BlockLSTM/separate train" in printed
    assert "they pick BlockLSTM in 1 of 1 cases" in printed


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="a pure JAX benchmark")
def test_jax_loop_variants_run_and_agree():
    # The script asserts that the one-loop layouts give the two loops' outputs before it times them.
    printed = run_script("jax_loop_variants.py", "--steps", "4", "--repeats", "1", "--output", "-")
    for name in ("one_direction", "two_loops", "stacked_batched", "stacked_two_products", "block_diagonal",
                 "recurrent_product_only"):
        assert name in printed


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="direction parallelism is a JAX path")
def test_bench_direction_parallel_runs_on_two_devices(tmp_path):
    output = tmp_path / "results.json"
    printed = run_script("bench_direction_parallel.py", "--size", "tutorial", "--cell", "gru", "--repeats", "1",
                         "--warmup", "1", "--output", str(output))
    (record,) = json.loads(output.read_text())["records"]
    assert len(record["devices"]) == 2
    assert record["paths"]["direction_parallel"] == {"train": "direction_parallel", "inference": "direction_parallel"}
    assert record["max_abs_difference_to_keras"] <= 1e-5
    assert "direction_parallel/keras" in printed


@pytest.mark.skipif(BACKEND == "tensorflow", reason="the GPU check runs JAX and PyTorch (no TensorFlow on the GPU machines)")
def test_gpu_check_runs_on_a_cpu_when_told_to_and_refuses_otherwise(tmp_path):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    script = [sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--backend", BACKEND, "--output-dir", str(tmp_path)]
    refused = subprocess.run(script, env=environment, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert refused.returncode != 0 and "no GPU" in refused.stderr
    assert not list(tmp_path.iterdir())
    printed = run_script("gpu_check.py", "--backend", BACKEND, "--allow-cpu", "--size", "tutorial", "--cell", "gru",
                         "--repeats", "1", "--warmup", "1", "--output-dir", str(tmp_path))
    record = json.loads((tmp_path / f"gpu_{BACKEND}.json").read_text())
    assert record["device"] == "cpu" and len(record["parity"]) == 6  # GRU: 3 masks x return_sequences
    assert {row["path"] for row in record["parity"] if row["mask"] == "none"} <= {
        "torch_lstm", "torch_gru", "separate", "fused_lstm", "fused_gru", "stacked_lstm", "stacked_gru"}
    for row in record["parity"]:
        assert row["prediction_difference"]["auto"] < 1e-4, row
        assert row["weights_after_a_step_difference"]["auto"] < 1e-4, row
    # One timing, or (on a slow machine) its place in the skipped list: the budget is the script's.
    assert len(record["timings"]) + len(record["skipped"]) == 1
    assert f"{BACKEND} on cpu" in printed


def test_bench_mixed_lengths_runs_every_variant_for_this_backend(tmp_path):
    output = tmp_path / "results.json"
    printed = run_script("bench_mixed_lengths.py", "--backend", BACKEND, "--cell", "lstm", "--repeats", "1",
                         "--warmup", "1", "--output", str(output))
    section = json.loads(output.read_text())[BACKEND]
    (record,) = section["records"]
    assert record["cell"] == "lstm" and section["shape"]["min_length"] < section["shape"]["steps"]
    assert set(record["times_s"]) == {"bidirlib", "keras", "bidirlib_separate", "bidirlib_stacked"}
    assert record["paths"]["bidirlib_separate"]["last_call_path"] == "separate"
    assert record["paths"]["bidirlib_stacked"]["last_call_path"] == "stacked_lstm"
    assert "bidirlib/keras" in printed


def test_committed_mixed_lengths_results_are_well_formed():
    """The committed results that chapter 11 reads: a section per backend, each with its command, the paths that
    ran and the medians of the paired ratios."""
    results = json.loads((ROOT / "bench" / "results" / "bench_mixed_lengths.json").read_text())
    assert set(results) == {"tensorflow", "jax", "torch"}
    for backend, section in results.items():
        assert section["command"].startswith("python bench/bench_mixed_lengths.py")
        assert section["shape"]["batch"] >= 32 and section["shape"]["steps"] >= 100
        cells = [record["cell"] for record in section["records"]]
        assert sorted(cells) == ["gru", "lstm"], backend
        for record in section["records"]:
            paths = {variant: path["last_call_path"] for variant, path in record["paths"].items()}
            assert paths["bidirlib_separate"] == "separate"
            assert paths["bidirlib_stacked"] == f"stacked_{record['cell']}"
            assert len(record["times_s"]["bidirlib"]) == section["repeats"] >= 10
            for name in ("bidirlib/keras", "bidirlib/bidirlib_separate", "bidirlib_stacked/bidirlib_separate"):
                ratio = record["ratios"][name]
                assert 0 < ratio["q1"] <= ratio["median"] <= ratio["q3"], (backend, name)
        if backend == "torch":  # eager: the mask is read, and PyTorch's kernel takes it
            assert all(r["paths"]["bidirlib"]["last_call_path"].startswith("torch_") for r in section["records"])
