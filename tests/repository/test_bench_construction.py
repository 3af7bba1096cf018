"""bench/bench_construction.py still runs and prints its three medians side by side (nothing about time)."""

import os
import pathlib
import subprocess
import sys

import keras
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration  # each test runs a benchmark script in a subprocess


def test_bench_construction_prints_each_variant():
    environment = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_construction.py"), "--repeats", "1"],
        env=environment, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in ("Bidirectional(custom)", "Bidirectional(LSTM(8))", "check_sequence_layer(custom)", "median"):
        assert name in result.stdout
