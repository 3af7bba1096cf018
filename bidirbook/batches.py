"""Batches of padded sequences of similar length, for training a tagger quickly on a CPU.

Sentences differ in length, and a recurrent layer pays for every step of a padded batch, masked or not. Padding
every sentence to the longest one wastes most of that work when, as in the Turkish treebank, the median sentence
is a third as long as the longest. `LengthBatches` sorts the sequences by length, cuts them into batches of
neighbours, and trims each batch to its own longest sequence; the order of the batches is shuffled every epoch.
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

    Example:

    >>> x = np.array([[5, 6, 7, 0], [5, 0, 0, 0], [8, 9, 0, 0]])
    >>> batches = LengthBatches(x, x, batch_size=2, seed=0)
    >>> len(batches), sorted(batch[0].shape for batch in batches)
    (2, [(1, 3), (2, 2)])
    """

    def __init__(self, x, y, batch_size, seed=0):
        super().__init__()
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"`batch_size` must be an integer >= 1. Received: batch_size={batch_size!r}")
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
        self.order = self._rng.permutation(len(self.batches))

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        rows = self.batches[self.order[index]]
        width = max(int(self.lengths[rows].max()), 1)
        x = self.x[rows, :width]
        return x, self.y[rows, :width], (x != 0).astype("float32")

    def on_epoch_end(self):
        self.order = self._rng.permutation(len(self.batches))
