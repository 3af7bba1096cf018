"""Chapter 12's batches: LengthBatches on the web section's training sentences, as Keras on TensorFlow reads them.

Keras builds a `PyDataset`'s input pipeline on TensorFlow from the shapes of its first two batches: a width on
which those two agree is fixed for every later batch, and a batch of another width then fails. LengthBatches
keeps the first two widths apart; these tests check that for the chapter's batch size and many seeds, and that a
short training run over batches of every width goes through.
"""

import numpy as np
import pytest

from bidirbook import treebank
from bidirbook.batches import LengthBatches


@pytest.fixture(scope="module")
def web_train():
    train = treebank.load_sentences("web", split="train")
    lengths = np.array([len(s.forms) for s in train])
    x = np.zeros((len(train), 34), dtype="int32")
    for row, length in enumerate(lengths):
        x[row, :length] = 1
    return x


@pytest.mark.parametrize("batch_size", [32, 64, 128])
def test_first_two_batches_differ_in_width(web_train, batch_size):
    for seed in range(50):
        batches = LengthBatches(web_train, web_train, batch_size=batch_size, seed=seed)
        assert batches[0][0].shape[1] != batches[1][0].shape[1], seed


def test_order_is_still_a_shuffle_of_every_batch(web_train):
    batches = LengthBatches(web_train, web_train, batch_size=64, seed=1)
    assert sorted(batches.order) == list(range(len(batches)))
    batches.on_epoch_end()
    assert sorted(batches.order) == list(range(len(batches)))


def test_one_width_only_is_left_alone():
    x = np.ones((10, 4), dtype="int32")
    batches = LengthBatches(x, x, batch_size=3, seed=0)
    np.testing.assert_array_equal(batches.order, np.random.default_rng(0).permutation(len(batches)))


def test_keras_trains_over_every_width(web_train):
    keras = pytest.importorskip("keras")
    # Seed 1 with batches of 64 once started with two batches of width 24, and TensorFlow then refused width 16.
    y = np.zeros_like(web_train)
    batches = LengthBatches(web_train, y, batch_size=64, seed=1)
    keras.utils.set_random_seed(0)
    words = keras.Input(shape=(None,), dtype="int32")
    h = keras.layers.Embedding(3, 2, mask_zero=True)(words)
    model = keras.Model(words, keras.layers.Dense(2, activation="softmax")(h))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(batches, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
