"""Tests of bidirbook.paper_task: the window-sum task and the exact floors of chapter 13."""

import math

import numpy as np
import pytest

from bidirbook import paper_task


def naive_targets(x, past, future):
    n, steps, _ = x.shape
    y = np.zeros((n, steps, 1))
    for t in range(steps):
        for k in range(-past, future + 1):
            if 0 <= t + k < steps:
                y[:, t, 0] += x[:, t + k, 0]
    return y / math.sqrt(past + 1 + future)


@pytest.mark.parametrize("past, future", [(0, 0), (3, 3), (1, 4), (5, 0)])
def test_targets_follow_the_definition(past, future):
    x, y = paper_task.window_sum_task(5, 12, past, future, seed=2)
    assert x.shape == y.shape == (5, 12, 1) and x.dtype == y.dtype == np.float32
    np.testing.assert_allclose(y, naive_targets(x, past, future), atol=1e-5)


def test_seeded_and_unit_variance_inside():
    a = paper_task.window_sum_task(3, 10, 3, 3, seed=7)
    b = paper_task.window_sum_task(3, 10, 3, 3, seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    _, y = paper_task.window_sum_task(4000, 30, 3, 3, seed=0)
    assert abs(y[:, 3:-3].var() - 1.0) < 0.03


def test_delay_inputs_appends_zeros():
    x = np.arange(6, dtype="float32").reshape(1, 6, 1) + 1
    delayed = paper_task.delay_inputs(x, 3)
    assert delayed.shape == (1, 9, 1)
    np.testing.assert_array_equal(delayed[:, :6], x)
    assert not delayed[:, 6:].any()


@pytest.mark.parametrize("delay", [0, 1, 2, 3])
def test_forward_floor_matches_the_best_predictor_on_data(delay):
    past, future, steps = 3, 3, 20
    x, y = paper_task.window_sum_task(20000, steps, past, future, seed=1)
    padded = np.pad(x[..., 0], ((0, 0), (past, future)))
    seen = sum(padded[:, past + k : past + k + steps] for k in range(-past, min(delay, future) + 1))
    measured = np.mean((seen / math.sqrt(7) - y[..., 0]) ** 2)
    floor = paper_task.lowest_mse(steps, past, future, lambda k: float(k <= delay))
    assert abs(measured - floor) < 0.01


def test_inner_frame_floors():
    n = 10**5
    assert abs(paper_task.lowest_mse(n, 3, 3, lambda k: float(k <= 0)) - 3 / 7) < 1e-4
    assert abs(paper_task.lowest_mse(n, 3, 3, lambda k: 1.0 if k == 0 else 0.5) - 1.5 / 7) < 1e-4
    assert paper_task.lowest_mse(n, 3, 3, lambda k: 1.0) == 0.0


@pytest.mark.parametrize("kwargs", [dict(n_sequences=0), dict(n_steps=1.5), dict(past=-1), dict(future=True)])
def test_bad_arguments(kwargs):
    arguments = dict(n_sequences=2, n_steps=5, past=1, future=1)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        paper_task.window_sum_task(**arguments)


@pytest.mark.parametrize("past, future, delay", [(3, 3, 0), (3, 3, 2), (2, 4, 1)])
def test_best_prediction_is_the_scaled_sum_of_what_is_seen(past, future, delay):
    x, _ = paper_task.window_sum_task(4, 15, past, future, seed=3)
    padded = np.pad(x[..., 0].astype("float64"), ((0, 0), (past, future)))
    seen = sum(padded[:, past + k : past + k + 15] for k in range(-past, delay + 1))
    expected = seen / math.sqrt(past + 1 + future)
    np.testing.assert_allclose(paper_task.best_prediction(x, past, future, lambda k: float(k <= delay))[..., 0],
                               expected, atol=1e-12)


def test_best_prediction_error_scatters_around_the_expected_error():
    # The expected error is not a bound: on small test sets the best predictor lands on both sides of it.
    merge = lambda k: 1.0 if k == 0 else 0.5  # noqa: E731
    expected = paper_task.lowest_mse(20, 3, 3, merge)
    below = above = 0
    for seed in range(20):
        x, y = paper_task.window_sum_task(50, 20, 3, 3, seed=seed)
        error = np.mean((paper_task.best_prediction(x, 3, 3, merge) - y) ** 2)
        below += error < expected
        above += error > expected
    assert below >= 3 and above >= 3
    x, y = paper_task.window_sum_task(20000, 20, 3, 3, seed=99)
    assert abs(np.mean((paper_task.best_prediction(x, 3, 3, merge) - y) ** 2) - expected) < 0.005


def test_best_prediction_checks_its_input():
    with pytest.raises(ValueError, match="shape"):
        paper_task.best_prediction(np.zeros((3, 5)), 1, 1, lambda k: 1.0)


def test_next_step_targets_are_the_next_inputs_and_the_forecast_error_is_known():
    x, y = paper_task.next_step_task(20000, 12, phi=0.8, seed=5)
    assert x.shape == y.shape == (20000, 12, 1) and x.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
    assert abs(x.var() - 1.0) < 0.03 and abs(x[:, 0].var() - 1.0) < 0.05
    assert abs(np.mean((0.8 * x - y) ** 2) - 0.36) < 0.01
    again = paper_task.next_step_task(3, 4, 0.5, seed=1)
    np.testing.assert_array_equal(again[0], paper_task.next_step_task(3, 4, 0.5, seed=1)[0])


@pytest.mark.parametrize("phi", [1.0, -1.0, True, "0.5"])
def test_next_step_rejects_a_series_that_is_not_stationary(phi):
    with pytest.raises(ValueError, match="phi"):
        paper_task.next_step_task(2, 5, phi)
