"""Shared test set-up: the test tiers, hypothesis's profiles, quiet TensorFlow logging before Keras is imported,
and a fixed seed per test.

Tiers. A test's tier is named for what it costs, and is a pytest marker, so `-m` picks a tier:
- default (no marker): library and book-helper unit tests; what a bare `pytest` runs (minutes);
- `notebooks`: strict nbval over every notebook in chapters/ and reference/ (each notebook is one file, and
  xdist hands out whole files, so two kernels run at once); `solutions` re-runs each chapter, then its
  solutions;
- `site`: the website built with -W and read in headless Chromium;
- `integration`: worker processes, subprocesses that bring up their own runtime, the benchmark scripts;
- `colab_stack`: every chapter in a fresh venv with Colab's versions (downloads them; run by hand);
- `export`: models exported to ONNX and SavedModel, loaded back and compared (needs the `export` extra).
Every test carries its tier's marker in its own file; nbval's notebook items get theirs from the repository's
root conftest.py, which pytest loads whatever paths it is given.
The default tier's deselection is in pyproject.toml's addopts, and so is xdist (`-n auto`, at most 4 workers,
whole files to a worker); `-n 0` runs in one process. The README lists each tier's command.

Hypothesis. The `quick` profile (the default) draws few examples, so that the inner loop stays fast; CI sets
`HYPOTHESIS_PROFILE=ci` for more. A test that sets `max_examples` itself scales it by the profile's factor.

With `BIDIRLIB_TEST_DIRECTION_MESH=1` (JAX only), every test runs under a distribution whose mesh has a
"direction" axis over two simulated host devices, so every bidirlib call that direction parallelism can take
runs its two layers on two devices: CI runs the parity suite this way. The devices must exist before JAX
starts, hence here, before Keras is imported. The session reports how many calls took that path, and fails if
none did.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
DIRECTION_MESH = os.environ.get("BIDIRLIB_TEST_DIRECTION_MESH") == "1"
if DIRECTION_MESH:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()

import keras  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("quick", max_examples=10)
settings.register_profile("ci", max_examples=25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))


DIRECTION_PARALLEL_CALLS = []

if DIRECTION_MESH:
    if keras.backend.backend() != "jax":
        raise RuntimeError("BIDIRLIB_TEST_DIRECTION_MESH=1 needs KERAS_BACKEND=jax")
    import bidirlib

    _mesh = keras.distribution.DeviceMesh((1, 2), ["batch", "direction"], keras.distribution.list_devices()[:2])
    keras.distribution.set_distribution(
        keras.distribution.ModelParallel(layout_map=keras.distribution.LayoutMap(_mesh), batch_dim_name="batch")
    )

    def _count(plan, path):
        if path == "direction_parallel":
            DIRECTION_PARALLEL_CALLS.append(type(plan.forward).__name__)

    bidirlib.fused.add_dispatch_observer(_count)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield


def pytest_configure(config):
    # The count of calls on two devices lives in this process: with xdist's workers it would be theirs.
    if DIRECTION_MESH and getattr(config.option, "numprocesses", None):
        raise pytest.UsageError("BIDIRLIB_TEST_DIRECTION_MESH=1 counts its calls in one process: add -n 0")


def pytest_terminal_summary(terminalreporter):
    if DIRECTION_MESH:
        kinds = sorted(set(DIRECTION_PARALLEL_CALLS))
        terminalreporter.write_line(
            f"direction parallelism: {len(DIRECTION_PARALLEL_CALLS)} calls ran on two devices ({', '.join(kinds)})"
        )


def pytest_sessionfinish(session, exitstatus):
    if DIRECTION_MESH and not DIRECTION_PARALLEL_CALLS and session.testscollected:
        session.exitstatus = 1  # the suite never reached the path it was run to check
