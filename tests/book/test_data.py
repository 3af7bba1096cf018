"""Tests of bidirbook.data (the chapters' generated data) and bidirbook.chapter.setup."""

import operator
import random

import numpy as np
import pytest

from bidirbook import data
from bidirbook.chapter import device_report, setup
from helpers.book import naive_neighbour_labels


@pytest.mark.parametrize("n_sequences, n_steps", [(1, 2), (3, 7), (50, 20)])
def test_shapes_and_dtypes(n_sequences, n_steps):
    x, y = data.neighbour_sum_task(n_sequences, n_steps, seed=0)
    assert x.shape == (n_sequences, n_steps, 1)
    assert y.shape == (n_sequences, n_steps, 1)
    assert x.dtype == np.float32
    assert y.dtype == np.float32


def test_label_rule_matches_the_definition():
    x, y = data.neighbour_sum_task(40, 9, seed=3)
    np.testing.assert_array_equal(y, naive_neighbour_labels(x, operator.add))
    assert set(np.unique(y)) == {0.0, 1.0}


def test_ends_use_a_zero_neighbour():
    x, y = data.neighbour_sum_task(200, 5, seed=1)
    # First step: only the right neighbour; last step: only the left one.
    np.testing.assert_array_equal(y[:, 0, 0], (x[:, 1, 0] > 0).astype("float32"))
    np.testing.assert_array_equal(y[:, -1, 0], (x[:, -2, 0] > 0).astype("float32"))


def test_deterministic_given_seed():
    a = data.neighbour_sum_task(10, 6, seed=7)
    b = data.neighbour_sum_task(10, 6, seed=7)
    c = data.neighbour_sum_task(10, 6, seed=8)
    for first, second in zip(a, b):
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(a[0], c[0])


def test_does_not_touch_global_random_state():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    data.neighbour_sum_task(5, 5, seed=0)
    assert np.random.random() == expected


def test_inputs_are_standard_normal():
    x, _ = data.neighbour_sum_task(2000, 20, seed=0)
    assert abs(float(x.mean())) < 0.02
    assert abs(float(x.std()) - 1.0) < 0.02


def test_one_direction_gets_about_three_quarters():
    # The claim chapter 1 makes: knowing only one neighbour, the best guess
    # is its sign, which is right about 75% of the time.
    x, y = data.neighbour_sum_task(2000, 20, seed=0)
    inner = slice(1, -1)
    guess_from_left = (x[:, :-2, 0] > 0).astype("float32")
    accuracy = float(np.mean(guess_from_left == y[:, inner, 0]))
    assert abs(accuracy - 0.75) < 0.01


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_sequences=0, n_steps=5), "n_sequences"),
        (dict(n_sequences=-1, n_steps=5), "n_sequences"),
        (dict(n_sequences=2.5, n_steps=5), "n_sequences"),
        (dict(n_sequences=True, n_steps=5), "n_sequences"),
        (dict(n_sequences="10", n_steps=5), "n_sequences"),
        (dict(n_sequences=3, n_steps=1), "n_steps"),
        (dict(n_sequences=3, n_steps=None), "n_steps"),
        (dict(n_sequences=3, n_steps=5, seed=-1), "seed"),
        (dict(n_sequences=3, n_steps=5, seed=1.0), "seed"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.neighbour_sum_task(**kwargs)


def test_numpy_integers_are_accepted():
    x, _ = data.neighbour_sum_task(np.int64(3), np.int32(4), seed=np.int64(0))
    assert x.shape == (3, 4, 1)


def test_reverse_time():
    x = np.arange(12).reshape(2, 3, 2)
    reversed_x = data.reverse_time(x)
    np.testing.assert_array_equal(reversed_x, x[:, ::-1])
    assert reversed_x.flags["C_CONTIGUOUS"]
    a, b = data.reverse_time(x, x + 1)
    np.testing.assert_array_equal(b, x[:, ::-1] + 1)
    np.testing.assert_array_equal(data.reverse_time(reversed_x), x)


@pytest.mark.parametrize("bad", [(), (np.zeros(3),)])
def test_reverse_time_bad_arguments(bad):
    with pytest.raises(ValueError):
        data.reverse_time(*bad)


def test_setup_seeds_and_reports(capsys):
    import keras

    report = setup(seed=5)
    printed = capsys.readouterr().out
    assert report["backend"] == keras.backend.backend()
    assert report["keras"] == keras.__version__
    assert report["seed"] == 5
    assert isinstance(report["device"], str) and report["device"]
    assert report["backend"] in printed and report["device"] in printed

    first = (random.random(), np.random.random(), keras.random.uniform((3,)))
    setup(seed=5, verbose=False)
    second = (random.random(), np.random.random(), keras.random.uniform((3,)))
    assert first[0] == second[0]
    assert first[1] == second[1]
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(first[2]), keras.ops.convert_to_numpy(second[2])
    )


def test_setup_quiet_prints_nothing(capsys):
    setup(seed=0, verbose=False)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None, True])
def test_setup_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        setup(seed=seed, verbose=False)


def test_device_report_without_gpu_is_cpu_or_a_name():
    report = device_report()
    assert isinstance(report, str) and report


def test_notebook_module_does_not_import_a_backend():
    # bidirbook.chapter imports a backend only inside setup(); load the file
    # alone (without bidirlib/__init__, which imports keras) to check that.
    import importlib.util
    import subprocess
    import sys

    path = importlib.util.find_spec("bidirbook.chapter").origin
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('nb', {path!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
