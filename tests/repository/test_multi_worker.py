"""Two worker processes on loopback train one bidirlib model as one job (`scripts/multi_worker.py`).

Each test runs the script, which starts its own processes with the backend they need (TensorFlow's
MultiWorkerMirroredStrategy, or JAX joined by `keras.distribution.initialize`) and asserts inside itself; these
tests check its exit status and its JSON summary. They run once, in the TensorFlow backend's test run (the
processes they start choose their own backend), and skip an engine whose package is not installed.
About 2-3 minutes in all on 2 shared cores.
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
SCRIPT = ROOT / "scripts" / "multi_worker.py"

pytestmark = [
    pytest.mark.integration,  # worker processes: the integration tier
    pytest.mark.skipif(
        keras.backend.backend() != "tensorflow",
        reason="runs once, in the TensorFlow backend's test run; the workers pick their own backends",
    ),
]


def needs(module):
    return pytest.mark.skipif(importlib.util.find_spec(module) is None, reason=f"{module} is not installed")


def run(tmp_path, *arguments, limit=240):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--workdir", str(tmp_path), "--worker-timeout", "150", *arguments],
        env=environment, capture_output=True, text=True, timeout=limit, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("engine", [pytest.param("jax", marks=needs("jax"))])
def test_two_workers_end_with_one_process_weights(tmp_path, engine):
    summary = run(tmp_path, "--engine", engine)
    for i in range(2):
        assert summary[f"worker_{i}_vs_single"] <= 1e-5
        assert summary[f"worker_{i}_losses"] == pytest.approx(summary["single_losses"], abs=1e-4)


@needs("tensorflow")
def test_killed_worker_stops_its_peer_and_backup_and_restore_loses_nothing(tmp_path):
    # TensorFlow's two workers: the survivor of a killed peer ends with an error in bounded time, and the two
    # restarted workers resume at the cut epoch and end with the weights of one uninterrupted process.
    summary = run(tmp_path, "--engine", "tf", "--fault", "--collective-timeout", "30")
    assert summary["survivor_exit_code"] == 2, summary  # the worker's own error exit, not its watchdog (3)
    assert summary["survivor_seconds_after_peer_died"] < 60, summary
    assert "unhealthy" in summary["survivor_error"] or "aborted" in summary["survivor_error"].lower(), summary
    for i in range(2):
        assert summary[f"resumed_{i}_epochs_run"] == [1, 2]
        assert summary[f"resumed_{i}_vs_uninterrupted"] <= 1e-5
