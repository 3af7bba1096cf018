"""Batches of padded sequences of similar length, for training a tagger quickly on a CPU.

Sentences differ in length, and a recurrent layer pays for every step of a padded batch, masked or not. Padding
every sentence to the longest one wastes most of that work when, as in the Turkish treebank, the median sentence
is a third as long as the longest. `LengthBatches` sorts the sequences by length, cuts them into batches of
neighbours, and trims each batch to its own longest sequence, rounded up to a multiple of `width_multiple`; the
order of the batches is shuffled every epoch.

The rounding keeps the number of different batch shapes small. TensorFlow's training step copes with any number
(Keras traces it with `reduce_retracing=True`), but JAX compiles the step again for every new shape, and a
compilation costs far more than a batch.

On TensorFlow, Keras builds the input pipeline of a `PyDataset` from the shapes of its first two batches: a
dimension on which those two agree is fixed for every later batch, and a later batch of another width then fails
("yielded an element of shape (64, 16) where an element of shape (None, 24) was expected"). So the first order of
the batches is a shuffle in which the first two batches differ in width, where the data have two widths at all.
"""

import numbers

import keras
import numpy as np

__all__ = ["LengthBatches"]


class LengthBatches(keras.utils.PyDataset):
    """A `keras.utils.PyDataset` of `(x, y, sample_weight)` batches grouped by sequence length.

    Each batch holds sequences of about the same length, trimmed to the longest of them. The sample weight is 1 on
    real steps and 0 on padding, so padding counts in neither the loss nor a weighted metric.

    Args:
        x: Integer array `(sequences, steps)`, padded at the end with `0` (as `Embedding(mask_zero=True)` expects).
        y: Array `(sequences, steps)` of targets, aligned with `x`.
        batch_size: Integer >= 1, the number of sequences in a batch (the last batch may be smaller).
        seed: Integer >= 0, seeds the shuffling of the batches' order. The same seed gives the same batches in the
            same order, epoch after epoch.
        width_multiple: Integer >= 1. Each batch's width is its longest sequence rounded up to a multiple of this
            (and at most `x`'s width). Defaults to `8`.

    Example:

    >>> x = np.array([[5, 6, 7, 0], [5, 0, 0, 0], [8, 9, 0, 0]])
    >>> batches = LengthBatches(x, x, batch_size=2, seed=0, width_multiple=1)
    >>> len(batches), sorted(batch[0].shape for batch in batches)
    (2, [(1, 3), (2, 2)])
    """

    def __init__(self, x, y, batch_size, seed=0, width_multiple=8):
        super().__init__()
        for name, value in (("batch_size", batch_size), ("width_multiple", width_multiple)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"`{name}` must be an integer >= 1. Received: {name}={value!r}")
        self.width_multiple = int(width_multiple)
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 2 or y.shape[:2] != x.shape:
            raise ValueError(
                f"`x` must be 2-D (sequences, steps) and `y` must start with the same two dimensions. "
                f"Received: x.shape={x.shape}, y.shape={y.shape}"
            )
        self.x, self.y = x, y
        self.lengths = (x != 0).sum(axis=1)
        by_length = np.argsort(self.lengths, kind="stable")
        self.batches = [by_length[i : i + int(batch_size)] for i in range(0, len(by_length), int(batch_size))]
        self._rng = np.random.default_rng(seed)
        self.order = self._first_two_differ(self._rng.permutation(len(self.batches)))

    def _width(self, batch):
        longest = max(int(self.lengths[self.batches[batch]].max()), 1)
        return min(-(-longest // self.width_multiple) * self.width_multiple, self.x.shape[1])

    def _first_two_differ(self, order):
        """`order` with its second batch swapped for the first later one of another width than the first, if needed.

        Keras (TensorFlow backend) takes the input's shape from the first two batches it sees; if they have the
        same width, it fixes that width and later batches fail. Other positions are left as shuffled.
        """
        if len(order) > 2 and self._width(order[0]) == self._width(order[1]):
            other = [i for i in range(2, len(order)) if self._width(order[i]) != self._width(order[0])]
            if other:
                order = order.copy()
                order[1], order[other[0]] = order[other[0]], order[1]
        return order

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        rows = self.batches[self.order[index]]
        width = self._width(self.order[index])
        x = self.x[rows, :width]
        return x, self.y[rows, :width], (x != 0).astype("float32")

    def on_epoch_end(self):
        self.order = self._rng.permutation(len(self.batches))
