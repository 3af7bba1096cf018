"""Direction parallelism (`bidirlib.fused.direction_parallel`): the two layers on two devices at once, on JAX.

The checks run in one subprocess (`tests/helpers/direction_parallel_checks.py`) with four simulated host
devices, which must be set before JAX starts; these tests read its record. They run in every backend's test
session (the subprocess picks JAX itself) but once is enough: on the other backends they skip. About a minute.
CI also runs the whole parity suite on this path (`BIDIRLIB_TEST_DIRECTION_MESH=1`, see tests/conftest.py).
"""

import json
import os
import pathlib
import subprocess
import sys

import keras
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECKS = ROOT / "tests" / "helpers" / "direction_parallel_checks.py"

pytestmark = [
    pytest.mark.integration,  # the checks run in a subprocess
    pytest.mark.skipif(
        keras.backend.backend() != "tensorflow",
        reason="runs once, in the TensorFlow backend's test run; the checks start their own JAX process",
    ),
]


@pytest.fixture(scope="module")
def record():
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    environment.pop("BIDIRLIB_FUSED_PATH", None)
    result = subprocess.run(
        [sys.executable, str(CHECKS)], env=environment, capture_output=True, text=True, timeout=400, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_four_simulated_devices(record):
    assert record["devices"] == 4


def test_outputs_equal_keras_on_the_direction_parallel_path(record):
    outputs = {key: value for key, value in record["outputs"].items() if key != "gradient"}
    assert len(outputs) == 20
    for key, seen in outputs.items():
        assert seen["path"] == "direction_parallel", (key, seen)
        assert seen["difference"] <= 1e-6, (key, seen)


def test_gradients_equal_the_separate_path(record):
    seen = record["outputs"]["gradient"]
    assert seen["path"] == "direction_parallel"
    assert seen["difference"] <= 1e-6
    # Not zero: the backward layer's weights receive their gradient from the other device.
    assert seen["backward_kernel_norm"] > 1e-3


@pytest.mark.parametrize(
    "case, reason",
    [
        # A mask stops direction parallelism and Keras's fused kernel; the kernels that take one say why not.
        ("mask", "direction parallelism: a mask was given; Keras's fused kernel: a mask was given; "),
        ("dropout_training", "direction parallelism: dropout is set and training is on; "),
        ("off", "fused_path is 'off' (also for direction parallelism)"),
        ("unequal_widths", "direction parallelism: the two directions' outputs differ in shape"),
    ],
)
def test_calls_it_cannot_take_fall_back_and_say_why(record, case, reason):
    seen = record["fallbacks"][case]
    assert seen["path"] == "separate"
    assert seen["reason"].startswith(reason), seen["reason"]


def test_dropout_at_inference_and_no_mesh(record):
    assert record["fallbacks"]["dropout_inference"]["path"] == "direction_parallel"
    without = record["fallbacks"]["no_mesh"]
    assert without["path"] == "separate" and "direction" not in without["reason"]


@pytest.mark.parametrize(
    "case, error, words",
    [
        ("no_direction_axis", "ValueError", "axis named 'direction' of size 2"),
        ("direction_of_four", "ValueError", "Received a mesh of shape (4,)"),
        ("not_a_mesh", "TypeError", "must be a keras.distribution.DeviceMesh"),
    ],
)
def test_a_wrong_mesh_is_refused(record, case, error, words):
    seen = record["bad_meshes"][case]
    assert seen["error"] == error and words in seen["message"], seen


def test_fit_under_a_batch_and_direction_mesh_equals_one_device(record):
    training = record["training"]
    assert training["one_device_paths"] == ["separate", "separate"]
    assert training["paths"] == ["direction_parallel", "direction_parallel"]
    for ours, one in zip(training["losses"], training["one_device_losses"]):
        assert abs(ours - one) <= 1e-5 * max(1.0, abs(one))
    assert training["prediction_difference"] <= 1e-5
    # A batch that does not split over the batch axis: the whole batch on every device, same numbers.
    assert training["odd_batch"]["path"] == "direction_parallel"
    assert training["odd_batch"]["difference"] <= 1e-6
