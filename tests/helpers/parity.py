"""Differential testing: build Keras's wrapper and bidirlib's from the same arguments and compare them."""

import keras
import numpy as np

import bidirlib

ATOL = 1e-5


def to_numpy(values):
    return [keras.ops.convert_to_numpy(v) for v in keras.tree.flatten(values)]


def make_pair(make_layer, make_backward=None, **wrapper_kwargs):
    """Return (keras wrapper, bidirlib wrapper), each built from freshly made, identical arguments."""
    wrappers = []
    for cls in (keras.layers.Bidirectional, bidirlib.Bidirectional):
        kwargs = dict(wrapper_kwargs)
        if make_backward is not None:
            kwargs["backward_layer"] = make_backward()
        wrappers.append(cls(make_layer(), **kwargs))
    return tuple(wrappers)


def copy_weights(source, target):
    """Copy every weight from `source` to `target`, checking that both list the same shapes in the same order."""
    values = source.get_weights()
    assert [v.shape for v in values] == [tuple(w.shape) for w in target.weights]
    target.set_weights(values)


def assert_same_outputs(reference, ours, inputs, atol=ATOL, **call_kwargs):
    """Build both wrappers on `inputs`, copy the weights across, call both and compare every output and state."""
    reference(inputs, **call_kwargs)
    ours(inputs, **call_kwargs)
    copy_weights(reference, ours)
    expected = to_numpy(reference(inputs, **call_kwargs))
    actual = to_numpy(ours(inputs, **call_kwargs))
    assert len(expected) == len(actual), f"{len(expected)} outputs from Keras, {len(actual)} from bidirlib"
    for index, (e, a) in enumerate(zip(expected, actual)):
        assert e.shape == a.shape, f"output {index}: shape {a.shape}, Keras gives {e.shape}"
        np.testing.assert_allclose(a, e, atol=atol, err_msg=f"output {index} differs from Keras")
    return actual


def random_sequences(batch=3, steps=6, features=4, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, steps, features)).astype("float32")


def make_mask(kind, batch=3, steps=6):
    """Boolean (batch, steps) masks of the kinds the parity matrix covers."""
    mask = np.ones((batch, steps), dtype=bool)
    if kind == "none":
        return None
    if kind == "post":  # real steps first, padding at the end
        for row, length in enumerate(range(steps, 0, -max(1, steps // batch))):
            if row < batch:
                mask[row, length:] = False
    elif kind == "pre":  # padding first
        for row in range(batch):
            mask[row, : row + 1] = False
    elif kind == "holes":
        mask[:, 1::3] = False
    elif kind == "fully_masked_row":
        mask[1, :] = False
        mask[2, -2:] = False
    else:
        raise ValueError(kind)
    return mask
