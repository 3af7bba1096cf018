"""bidirlib.layers: every ready layer can be checked, wrapped, trained one step, saved and loaded."""

import keras
import numpy as np
import pytest
from helpers.parity import ATOL, make_mask, random_sequences, to_numpy

from bidirlib import Bidirectional, check_sequence_layer
from bidirlib.layers import CausalConv1D, MinGRUCell, ParallelMinGRU

READY = {
    "RNN(MinGRUCell)": lambda **kw: keras.layers.RNN(MinGRUCell(4), **kw),
    "ParallelMinGRU": lambda **kw: ParallelMinGRU(4, **kw),
    "CausalConv1D": lambda **kw: CausalConv1D(4, kernel_size=3, **kw),
}


@pytest.mark.parametrize("name", list(READY))
def test_ready_layer_checks_wraps_trains_saves_and_loads(name, tmp_path):
    make = READY[name]
    assert check_sequence_layer(make()).ok
    model = keras.Sequential([
        keras.Input(shape=(6, 4)),
        Bidirectional(make(return_sequences=True), name="bi_seq"),
        Bidirectional(make(), merge_mode="ave", name="bi_last"),
        keras.layers.Dense(1, name="head"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    x = random_sequences(batch=8)
    y = np.random.default_rng(1).normal(size=(8, 1)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(x, y)
    changed = [not np.allclose(a, b) for a, b in zip(before, model.get_weights())]
    assert all(changed), "every weight should move in one training step"
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "post", "holes", "fully_masked_row"])
@pytest.mark.parametrize("with_initial_state", [False, True])
def test_parallel_scan_equals_the_step_by_step_cell(go_backwards, mask_kind, with_initial_state):
    kwargs = dict(return_sequences=True, return_state=True, go_backwards=go_backwards)
    loop = keras.layers.RNN(MinGRUCell(5), **kwargs)
    scan = ParallelMinGRU(5, **kwargs)
    x = random_sequences()
    loop(x)
    scan(x)
    scan.set_weights(loop.get_weights())
    call = {}
    if mask_kind != "none":
        call["mask"] = make_mask(mask_kind)
    if with_initial_state:
        call["initial_state"] = [np.random.default_rng(2).normal(size=(3, 5)).astype("float32")]
    (scan_sequence, scan_state), (loop_sequence, loop_state) = to_numpy(scan(x, **call)), to_numpy(loop(x, **call))
    np.testing.assert_allclose(scan_state, loop_state, atol=ATOL)
    if "mask" in call:
        # Masked steps before the first step read repeat the "previous output": zeros on TensorFlow and torch,
        # the initial state on Keras's JAX backend. ParallelMinGRU follows TensorFlow everywhere.
        reading = call["mask"][:, ::-1] if go_backwards else call["mask"]
        before_first = np.cumsum(reading, axis=1) == 0
        assert np.all(scan_sequence[before_first] == 0)
        loop_sequence[before_first] = 0
    np.testing.assert_allclose(scan_sequence, loop_sequence, atol=ATOL)


def test_parallel_scan_on_a_long_sequence_stays_close_to_the_loop():
    loop = keras.layers.RNN(MinGRUCell(8), return_sequences=True)
    scan = ParallelMinGRU(8, return_sequences=True)
    x = random_sequences(batch=2, steps=512, features=3)
    loop(x)
    scan(x)
    scan.set_weights(loop.get_weights())
    np.testing.assert_allclose(to_numpy(scan(x))[0], to_numpy(loop(x))[0], atol=1e-4)


def test_causal_convolution_looks_only_back_and_its_backward_copy_only_ahead():
    wrapper = Bidirectional(CausalConv1D(2, kernel_size=3, return_sequences=True), merge_mode=None)
    x = random_sequences(batch=1, steps=8)
    forward, backward = to_numpy(wrapper(x))
    changed = x.copy()
    changed[:, 4] += 1.0  # change step 4 only
    forward2, backward2 = to_numpy(wrapper(changed))
    moved_forward = np.abs(forward2 - forward).sum(axis=-1)[0] > 1e-6
    moved_backward = np.abs(backward2 - backward).sum(axis=-1)[0] > 1e-6
    assert moved_forward.tolist() == [False] * 4 + [True] * 3 + [False]  # steps 4..6 read step 4
    assert moved_backward.tolist() == [False] * 2 + [True] * 3 + [False] * 3  # steps 2..4 read step 4


@pytest.mark.parametrize("name", list(READY))
def test_ready_layers_give_zero_outputs_at_masked_steps(name):
    wrapper = Bidirectional(READY[name](return_sequences=True))
    mask = make_mask("holes")
    output = to_numpy(wrapper(random_sequences(), mask=mask))[0]
    assert np.all(output[~mask] == 0) and np.all(np.abs(output[mask]).sum(-1) > 0)


def test_layers_of_different_kinds_in_the_two_directions():
    x = random_sequences()
    mixed = Bidirectional(
        keras.layers.LSTM(4, return_sequences=True),
        backward_layer=ParallelMinGRU(4, return_sequences=True, go_backwards=True),
        merge_mode="sum",
    )
    assert tuple(mixed(x).shape) == (3, 6, 4)
    lstm_gru = Bidirectional(
        keras.layers.LSTM(4, return_state=True),
        backward_layer=keras.layers.GRU(6, return_state=True, go_backwards=True),
    )
    output, h_f, c_f, h_b = lstm_gru(x)
    assert tuple(output.shape) == (3, 10) and tuple(h_b.shape) == (3, 6)
    with pytest.raises(ValueError, match='merge_mode="mul".*forward width 4, backward width 6'):
        Bidirectional(
            keras.layers.LSTM(4), backward_layer=keras.layers.GRU(6, go_backwards=True), merge_mode="mul"
        )


@pytest.mark.parametrize("bad", [0, -1, 2.5, "4"])
def test_ready_layers_refuse_bad_sizes(bad):
    with pytest.raises(ValueError, match="must be a positive integer"):
        ParallelMinGRU(bad)
    with pytest.raises(ValueError, match="must be a positive integer"):
        MinGRUCell(bad)
    with pytest.raises(ValueError, match="`kernel_size` must be a positive integer"):
        CausalConv1D(2, kernel_size=bad)
