"""Tests of bidirbook.batches.LengthBatches."""

import numpy as np
import pytest

from bidirbook.batches import LengthBatches


def padded(lengths, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((len(lengths), max(lengths)), dtype="int32")
    for row, length in enumerate(lengths):
        x[row, :length] = rng.integers(1, 50, size=length)
    return x


def test_every_sequence_once_trimmed_to_its_batch():
    lengths = [3, 9, 1, 4, 4, 7, 2, 9, 5, 6, 8]
    x = padded(lengths)
    y = x * 10
    batches = LengthBatches(x, y, batch_size=4, seed=0, width_multiple=1)
    assert len(batches) == 3
    seen = []
    for i in range(len(batches)):
        xb, yb, wb = batches[i]
        assert xb.shape == yb.shape == wb.shape
        assert xb.shape[1] == (xb != 0).sum(axis=1).max()  # trimmed to its longest sequence
        np.testing.assert_array_equal(yb, xb * 10)  # targets stay aligned
        np.testing.assert_array_equal(wb, (xb != 0).astype("float32"))
        seen.extend(tuple(row[row != 0]) for row in xb)
    assert sorted(seen) == sorted(tuple(row[row != 0]) for row in x)


def test_batches_hold_similar_lengths_and_less_padding():
    lengths = list(np.random.default_rng(1).integers(1, 35, size=200))
    x = padded(lengths)
    batches = LengthBatches(x, x, batch_size=32, seed=0)
    steps = sum(batches[i][0].size for i in range(len(batches)))
    assert steps < 0.7 * x.size


def test_order_is_seeded_and_reshuffled_each_epoch():
    x = padded(list(range(1, 41)))
    a = LengthBatches(x, x, batch_size=4, seed=3, width_multiple=1)
    b = LengthBatches(x, x, batch_size=4, seed=3, width_multiple=1)
    first = [a[i][0].shape[1] for i in range(len(a))]
    assert first == [b[i][0].shape[1] for i in range(len(b))]
    a.on_epoch_end()
    second = [a[i][0].shape[1] for i in range(len(a))]
    assert sorted(second) == sorted(first) and second != first


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        LengthBatches(np.ones((2, 3), "int32"), np.ones((2, 3)), batch_size=batch_size)


def test_bad_shapes():
    with pytest.raises(ValueError, match="x.shape"):
        LengthBatches(np.ones((2, 3), "int32"), np.ones((3, 3)), batch_size=2)


def test_widths_are_rounded_to_few_shapes():
    lengths = list(np.random.default_rng(2).integers(1, 35, size=300))
    x = padded(lengths)
    batches = LengthBatches(x, x, batch_size=16, seed=0)  # width_multiple=8
    widths = {batches[i][0].shape[1] for i in range(len(batches))}
    assert widths <= {8, 16, 24, 32, x.shape[1]}
    for i in range(len(batches)):
        xb = batches[i][0]
        assert (xb != 0).sum(axis=1).max() <= xb.shape[1]


def test_bad_width_multiple():
    with pytest.raises(ValueError, match="width_multiple"):
        LengthBatches(np.ones((2, 3), "int32"), np.ones((2, 3)), batch_size=2, width_multiple=0)
