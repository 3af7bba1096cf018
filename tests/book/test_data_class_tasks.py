"""Tests of the five-class vote tasks of chapter 8: bidirbook.data.ends_class_task and neighbour_class_task."""

import numpy as np
import pytest

from bidirbook import data

TASKS = [data.ends_class_task, data.neighbour_class_task]


def naive_ends_classes(x, n_classes):
    """The ends rule written out sequence by sequence: the stronger deciding vote wins."""
    classes = []
    for sequence in x:
        totals = [sequence[0, k] + sequence[-1, n_classes + k] for k in range(n_classes)]
        classes.append(int(np.argmax(totals)))
    return np.array(classes)


def naive_neighbour_classes(x, n_classes):
    """The neighbour rule written out step by step, with no votes beyond the ends."""
    n, steps, _ = x.shape
    classes = np.zeros((n, steps), dtype=int)
    for i in range(n):
        for t in range(steps):
            totals = np.zeros(n_classes)
            if t > 0:
                totals += x[i, t - 1, :n_classes]  # the step before votes with its first vote
            if t + 1 < steps:
                totals += x[i, t + 1, n_classes:]  # the step after votes with its second vote
            classes[i, t] = int(np.argmax(totals))
    return classes


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("n, steps, classes", [(1, 2, 2), (7, 5, 5), (30, 9, 3)])
def test_inputs_are_two_votes_per_step(task, n, steps, classes):
    x, _ = task(n, steps, classes, seed=3)
    assert x.shape == (n, steps, 2 * classes) and x.dtype == np.float32
    for block in (x[..., :classes], x[..., classes:]):
        assert np.all(block >= 0) and np.all(block < 1)
        assert np.all((block > 0).sum(-1) <= 1)  # one class per vote


@pytest.mark.parametrize("n, steps, classes", [(1, 2, 2), (7, 5, 5), (30, 9, 3)])
def test_ends_task_labels(n, steps, classes):
    x, y = data.ends_class_task(n, steps, classes, seed=3)
    assert y.shape == (n, classes) and y.dtype == np.float32
    np.testing.assert_array_equal(y.sum(-1), 1.0)
    np.testing.assert_array_equal(y.argmax(-1), naive_ends_classes(x, classes))


@pytest.mark.parametrize("n, steps, classes", [(1, 2, 2), (7, 5, 5), (30, 9, 3)])
def test_neighbour_task_labels(n, steps, classes):
    x, y = data.neighbour_class_task(n, steps, classes, seed=3)
    assert y.shape == (n, steps, classes) and y.dtype == np.float32
    np.testing.assert_array_equal(y.sum(-1), 1.0)
    np.testing.assert_array_equal(y.argmax(-1), naive_neighbour_classes(x, classes))


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_same_data_other_seed_other_data(task):
    first, second, other = task(20, seed=5), task(20, seed=5), task(20, seed=6)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("task", TASKS)
def test_classes_are_balanced(task):
    _, y = task(5000, seed=0)
    np.testing.assert_allclose(y.reshape(-1, 5).mean(0), 0.2, atol=0.02)


def test_ends_task_one_deciding_vote_alone_is_right_60_percent():
    x, y = data.ends_class_task(20000, seed=1)
    classes = y.argmax(-1)
    for vote in (x[:, 0, :5], x[:, -1, 5:]):
        assert abs(np.mean(vote.argmax(-1) == classes) - 0.6) < 0.01
    # The middle steps never decide: changing them leaves the classes alone.
    x_changed = x.copy()
    x_changed[:, 1:-1] = 0
    totals = x_changed[:, 0, :5] + x_changed[:, -1, 5:]
    np.testing.assert_array_equal(totals.argmax(-1), classes)


def test_neighbour_task_forward_rule_limits():
    x, y = data.neighbour_class_task(20000, seed=1)
    before = np.pad(x, ((0, 0), (1, 0), (0, 0)))[:, :-1, :5]
    per_step = np.mean(before.argmax(-1) == y.argmax(-1), axis=0)
    np.testing.assert_allclose(per_step, [0.2, 0.6, 0.6, 0.6, 1.0], atol=0.015)
    # The ends: one neighbour decides alone.
    np.testing.assert_array_equal(y[:, 0].argmax(-1), x[:, 1, 5:].argmax(-1))
    np.testing.assert_array_equal(y[:, -1].argmax(-1), x[:, -2, :5].argmax(-1))


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_sequences": 0}, "`n_sequences` must be an integer >= 1"),
        ({"n_sequences": 2, "n_steps": 1}, "`n_steps` must be an integer >= 2"),
        ({"n_sequences": 2, "n_classes": 1}, "`n_classes` must be an integer >= 2"),
        ({"n_sequences": 2, "seed": -1}, "`seed` must be an integer >= 0"),
        ({"n_sequences": 2.5}, "`n_sequences` must be an integer"),
        ({"n_sequences": True}, "`n_sequences` must be an integer"),
    ],
)
def test_bad_arguments_are_named(task, kwargs, message):
    with pytest.raises(ValueError, match=message):
        task(**kwargs)


def test_middle_scale_scales_only_the_middle_votes():
    plain, y_plain = data.ends_class_task(500, seed=4)
    loud, y_loud = data.ends_class_task(500, middle_scale=3.0, seed=4)
    quiet, _ = data.ends_class_task(500, middle_scale=0.0, seed=4)
    np.testing.assert_allclose(loud[:, 1:-1], 3.0 * plain[:, 1:-1], rtol=1e-6)
    np.testing.assert_array_equal(loud[:, [0, -1]], plain[:, [0, -1]])
    assert np.all(quiet[:, 1:-1] == 0)
    np.testing.assert_array_equal(y_loud, y_plain)  # the middle never decides


@pytest.mark.parametrize("scale", [-1.0, "loud", True, float("nan")])
def test_bad_middle_scale(scale):
    with pytest.raises(ValueError, match="`middle_scale` must be a number >= 0"):
        data.ends_class_task(2, middle_scale=scale)
