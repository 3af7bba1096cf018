"""Mixed lengths: a right-padded mask on the fast paths, and the masks that fall back (bidirlib.fused.lengths).

A right-padded mask (each row a run of ones, then zeros; here a full row, an empty one and two in between) runs
the kernels that take sequence lengths (PyTorch's, packed) and the stacked loop (any mask); every output, state
and gradient must be the separate path's (`fused_path="off"`), as `helpers.adversarial.compare` checks them:
outputs and states at 1e-5, the gradients w.r.t. the inputs and every weight at 1e-4. A mask with leading padding
or holes runs the stacked loop, or falls back to the separate path with a reason.
"""

import contextlib
import itertools

import keras
import numpy as np
import pytest
from helpers import adversarial as adv
from helpers.parity import ATOL, copy_weights, to_numpy

import bidirlib
from bidirlib.fused import ENVIRONMENT_VARIABLE, fast_path_for, lengths, rules
from bidirlib.plan import plan_call

BACKEND = keras.backend.backend()
FLOAT32 = {"dtype": "float32"}  # what helpers.adversarial.compare reads: the tolerances
NOT_RIGHT_PADDED = "the mask is not right-padded (a row has a hole or starts with padding)"

MASKS = {
    # A full row, a row of three steps, an empty row, a row of one step.
    "right_padded": np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]], bool),
    "left_padded": np.array([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1], [1, 1, 1, 1, 1, 1]], bool),
    "holes": np.array([[1, 1, 1, 1, 1, 1], [1, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1], [0, 1, 1, 0, 0, 0]], bool),
}


@pytest.fixture(params=["auto", "stacked"])
def mode(request, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, request.param)
    return request.param


def expected_path(mode, kind, mask_name):
    """The path a call under `mask_name` takes on this backend's CPU with gradients recorded, as the registry
    says: the stacked loop under "stacked"; under "auto", the first fast kernel for this backend that takes the
    mask (the stacked loop takes any; a kernel in the RIGHT_PADDED_MASK gate a right-padded one)."""
    fast = bidirlib.fused.kernels("fast")
    if mode == "stacked":
        return f"stacked_{kind}"
    for kernel in fast:
        if not kernel.runs(kind, BACKEND) or rules.NO_MASK in kernel.gates:
            continue
        if rules.RIGHT_PADDED_MASK not in kernel.gates or mask_name == "right_padded":
            return kernel.name
    return "separate"


def make_layer(kind, **kwargs):
    layer_class = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[kind]
    return layer_class(kwargs.pop("units", 3), name=kind, **kwargs)


def fast_and_separate(kind, merge_mode="concat", **kwargs):
    """Two wrappers of the same weights: "auto" (the environment's setting applies) and "off"."""
    fast = bidirlib.Bidirectional(make_layer(kind, **kwargs), merge_mode=merge_mode)
    separate = bidirlib.Bidirectional(make_layer(kind, **kwargs), merge_mode=merge_mode, fused_path="off")
    x = sequences(MASKS["right_padded"])
    fast(x)
    separate(x)
    copy_weights(fast, separate)
    return fast, separate


def sequences(mask, features=4, seed=0):
    batch, steps = mask.shape
    return np.random.default_rng(seed).normal(size=(batch, steps, features)).astype("float32")


def initial_states(kind, batch=4, units=3):
    rng = np.random.default_rng(7)
    return [rng.normal(size=(batch, units)).astype("float32") for _ in range(4 if kind == "lstm" else 2)]


def without_gradients():
    """A context in which no gradients are recorded: PyTorch's switch, or nothing elsewhere."""
    if BACKEND == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


@pytest.mark.parametrize(
    "kind, return_sequences, return_state, given_states",
    list(itertools.product(["lstm", "gru"], [True, False], [False, True], [False, True])),
)
def test_right_padded_mask_takes_a_fast_path_with_the_separate_paths_numbers(
    kind, return_sequences, return_state, given_states, mode
):
    merge_mode = None if return_state else "concat"
    fast, separate = fast_and_separate(
        kind, merge_mode=merge_mode, return_sequences=return_sequences, return_state=return_state
    )
    mask = MASKS["right_padded"]
    states = initial_states(kind) if given_states else None
    adv.compare(FLOAT32, fast, separate, sequences(mask), mask, states, label="the separate path")
    assert fast.last_call_path == expected_path(mode, kind, "right_padded"), fast.last_fused_fallback
    assert separate.last_call_path == "separate"
    assert (fast.last_fused_fallback is None) == (fast.last_call_path != "separate")


@pytest.mark.parametrize("mask_name", ["left_padded", "holes"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_other_masks_run_the_stacked_loop_or_the_separate_path(kind, mask_name, return_sequences, mode):
    """The stacked loop takes any mask (a state kept per masked step); with gradients recorded, "auto" runs it
    where it runs the stacked loop at all (PyTorch)."""
    fast, separate = fast_and_separate(kind, merge_mode=None, return_sequences=return_sequences, return_state=True)
    mask = MASKS[mask_name]
    adv.compare(FLOAT32, fast, separate, sequences(mask), mask, initial_states(kind), label="the separate path")
    assert fast.last_call_path == expected_path(mode, kind, mask_name), fast.last_fused_fallback


@pytest.mark.parametrize("mask_name", ["left_padded", "holes"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_other_masks_fall_back_with_the_reason(kind, mask_name, monkeypatch):
    """Without gradients (where the stacked loop does not run by itself), a mask that is not right-padded runs
    the separate path; where a kernel could take lengths, the reason says what is wrong with the mask."""
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "auto")
    fast, separate = fast_and_separate(kind, return_sequences=True)
    mask = MASKS[mask_name]
    x = sequences(mask)
    with without_gradients():
        outputs = to_numpy(fast(x, mask=mask))
    assert fast.last_call_path == "separate"
    if BACKEND == "torch":
        assert f"PyTorch's kernel: {NOT_RIGHT_PADDED}" in fast.last_fused_fallback
        assert "the stacked loop: on PyTorch without gradients" in fast.last_fused_fallback
    else:  # no kernel here takes a mask by itself
        assert "a mask was given" in fast.last_fused_fallback
    np.testing.assert_allclose(outputs[0], to_numpy(separate(x, mask=mask))[0], atol=ATOL)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_right_padded_mask_without_gradients(kind, monkeypatch):
    """Inference: PyTorch's kernel takes a right-padded mask without gradients too; nothing changes elsewhere."""
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "auto")
    fast, separate = fast_and_separate(kind, merge_mode=None, return_sequences=True, return_state=True)
    mask = MASKS["right_padded"]
    x = sequences(mask)
    with without_gradients():
        outputs = to_numpy(fast(x, mask=mask))
    expected = expected_path("auto", kind, "right_padded")
    assert fast.last_call_path == (expected if expected.startswith("torch") else "separate")
    for index, (f, s) in enumerate(zip(outputs, to_numpy(separate(x, mask=mask)))):
        np.testing.assert_allclose(f, s, atol=ATOL, err_msg=f"output {index}")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_masking_layer_in_a_training_step(kind, mode):
    """A right-padded mask from `keras.layers.Masking`, in the backend's training step: the loss and the updated
    weights equal the separate path's."""
    mask = MASKS["right_padded"]
    x = sequences(mask) * mask[..., None]  # zeros at the padded steps, as Masking reads them
    y = np.random.default_rng(3).normal(size=(4, 1)).astype("float32")
    models, wrappers = [], []
    for setting in ("auto", "off"):
        keras.utils.set_random_seed(0)
        wrapper = bidirlib.Bidirectional(make_layer(kind), name="bi", fused_path=setting)
        model = keras.Sequential([keras.Input((6, 4)), keras.layers.Masking(0.0), wrapper, keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
        models.append(model)
        wrappers.append(wrapper)
    copy_weights(models[0], models[1])
    start = models[0].get_weights()
    losses = [float(model.train_on_batch(x, y)) for model in models]
    np.testing.assert_allclose(losses[0], losses[1], atol=ATOL)
    for initial, fast, separate in zip(start, models[0].get_weights(), models[1].get_weights()):
        assert not np.allclose(fast, initial)
        np.testing.assert_allclose(fast, separate, atol=ATOL)
    if BACKEND == "torch":  # eager: the mask's values are read, and the fast path runs
        assert wrappers[0].last_call_path == expected_path(mode, kind, "right_padded")
    assert wrappers[1].last_call_path == "separate"


def test_fast_path_for_reads_the_mask(mode):
    forward, backward = make_layer("lstm"), make_layer("lstm", go_backwards=True)
    x = sequences(MASKS["right_padded"])
    forward(x), backward(x)  # built
    for mask_name, mask in MASKS.items():
        name, reason = fast_path_for(forward, backward, x, mask=mask)
        expected = expected_path(mode, "lstm", mask_name)
        assert (name or "separate") == expected, reason


def test_kernels_that_take_a_mask():
    """Which kernels take which masks, pinned here once: PyTorch's kernel (on a CPU, and its cuDNN twin on a GPU)
    and JAX's cuDNN LSTM a right-padded one (as lengths), the stacked loop any, and Keras's fused kernels,
    BlockLSTM and the two devices none."""
    takes = {}
    for kernel in bidirlib.fused.kernels():
        if rules.RIGHT_PADDED_MASK in kernel.gates:
            takes[kernel.name] = "right-padded"
        elif rules.NO_MASK in kernel.gates or rules.DIRECTION_PARALLEL in kernel.gates:
            takes[kernel.name] = "none"
        else:
            takes[kernel.name] = "any"
    assert takes == {
        "direction_parallel": "none",
        "fused_lstm": "none",
        "fused_gru": "none",
        "jax_cudnn_lstm": "right-padded",
        "torch_cudnn_lstm": "right-padded",
        "torch_cudnn_gru": "right-padded",
        "torch_lstm": "right-padded",
        "torch_gru": "right-padded",
        "tf_block_lstm": "none",
        "stacked_lstm": "any",
        "stacked_gru": "any",
    }


def test_read_mask():
    layout = lengths.read_mask(MASKS["right_padded"])
    assert layout.kind == lengths.RIGHT_PADDED
    np.testing.assert_array_equal(layout.lengths, [6, 3, 0, 1])
    assert lengths.read_mask(MASKS["right_padded"].astype("int32")).kind == lengths.RIGHT_PADDED
    assert lengths.read_mask(keras.ops.convert_to_tensor(MASKS["right_padded"])).kind == lengths.RIGHT_PADDED
    for name in ("left_padded", "holes"):
        assert lengths.read_mask(MASKS[name]) == lengths.MaskLayout(lengths.NOT_RIGHT_PADDED)
    assert lengths.read_mask(None).kind == lengths.NO_MASK
    assert lengths.read_mask(keras.KerasTensor((4, 6), dtype="bool")).kind == lengths.VALUES_UNKNOWN


@pytest.mark.skipif(BACKEND not in ("jax", "tensorflow"), reason="a traced function of JAX or TensorFlow")
def test_a_traced_mask_cannot_be_read():
    """While a function is traced the mask's values are not known: a kernel that takes lengths steps aside."""
    forward, backward = make_layer("lstm"), make_layer("lstm", go_backwards=True)
    x = sequences(MASKS["right_padded"])
    forward(x), backward(x)
    reasons = []

    def traced(mask):
        plan = plan_call(forward, backward, x, mask=mask)
        reasons.append(rules.first_failure(plan, (rules.KNOWN_MASK,)))
        return mask

    if BACKEND == "jax":
        import jax

        jax.jit(traced)(MASKS["right_padded"])
    else:
        import tensorflow as tf

        tf.function(traced)(tf.constant(MASKS["right_padded"]))
    assert reasons and "the mask's values are not known while the call is traced" in reasons[0]
    plan = plan_call(forward, backward, x, mask=MASKS["right_padded"])
    assert rules.first_failure(plan, (rules.KNOWN_MASK,)) is None


@pytest.mark.skipif(BACKEND != "torch", reason="torch.compile is PyTorch's")
def test_torch_compile_steps_aside_under_a_mask():
    """Inside torch.compile the mask is not read: the compiled call runs the separate path, and says why."""
    kernel = bidirlib.fused.find("torch_gru")
    seen = []

    def observe(plan, path):
        seen.append((path, rules.first_failure(plan, kernel.gates, kernel.title)))

    model = keras.Sequential([keras.Input((6, 4)), keras.layers.Masking(0.0), bidirlib.Bidirectional(make_layer("gru")),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    mask = MASKS["right_padded"]
    remove = bidirlib.fused.add_dispatch_observer(observe)
    try:
        history = model.fit(sequences(mask) * mask[..., None], np.ones((4, 1), "float32"), epochs=1, verbose=0)
    finally:
        remove()
    assert np.isfinite(history.history["loss"][0])
    compiled = [reason for path, reason in seen if path == "separate"]
    assert compiled and "torch.compile" in compiled[0], seen


# ---------------------------------------------------------------------- JAX's cuDNN LSTM, as far as a CPU can check it


def cudnn_on_the_cpu(monkeypatch):
    """Make this CPU look like a GPU to the rules, and stand JAX's CPU reference of its cuDNN LSTM
    (`jax.experimental.rnn.lstm_ref`, which reads `seq_lengths` as cuDNN does) in for the cuDNN call: what runs is
    then the kernel's weight layout, lengths and outputs. Whether cuDNN itself gives these numbers only a GPU
    can tell."""
    from jax.experimental import rnn

    def reference(x, h_0, c_0, weights, seq_lengths, *, input_size, hidden_size, num_layers, dropout, bidirectional):
        unpacked = rnn.unpack_lstm_weights(weights, input_size, hidden_size, num_layers, bidirectional)
        return rnn.lstm_ref(x, h_0, c_0, *unpacked, seq_lengths, input_size, hidden_size, num_layers, dropout,
                            bidirectional)

    monkeypatch.setattr(rnn, "lstm", reference)
    monkeypatch.setattr(rules, "on_accelerator", lambda sequences: True)
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "auto")


@pytest.mark.skipif(BACKEND != "jax", reason="JAX's cuDNN LSTM")
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("given_states", [False, True])
def test_jax_cudnn_lstm_takes_a_right_padded_mask(return_sequences, given_states, monkeypatch):
    cudnn_on_the_cpu(monkeypatch)
    fast, separate = fast_and_separate("lstm", merge_mode=None, return_sequences=return_sequences, return_state=True)
    mask = MASKS["right_padded"]
    states = initial_states("lstm") if given_states else None
    adv.compare(FLOAT32, fast, separate, sequences(mask), mask, states, label="the separate path")
    assert fast.last_call_path == "jax_cudnn_lstm", fast.last_fused_fallback


@pytest.mark.skipif(BACKEND != "jax", reason="JAX's cuDNN LSTM")
@pytest.mark.parametrize("mask_name", ["right_padded", "left_padded", "holes"])
def test_jax_cudnn_lstm_under_jit_chooses_by_the_masks_values(mask_name, monkeypatch):
    """Under jax.jit the mask is not known when the path is chosen: the compiled function runs cuDNN for a
    right-padded mask and the stacked loop for any other, both with the separate path's numbers."""
    import jax

    cudnn_on_the_cpu(monkeypatch)
    fast, separate = fast_and_separate("lstm", merge_mode=None, return_sequences=True, return_state=True)
    mask, states = MASKS[mask_name], initial_states("lstm")
    x = sequences(mask)

    frozen = [v.value for v in fast.non_trainable_variables]

    def call(trainable, x, mask, states):
        outputs, _ = fast.stateless_call(trainable, frozen, x, mask=mask, initial_state=states)
        return outputs

    trainable = [v.value for v in fast.trainable_variables]
    outputs = to_numpy(jax.jit(call)(trainable, x, mask, states))
    assert fast.last_call_path == "jax_cudnn_lstm", fast.last_fused_fallback
    expected = to_numpy(separate(x, mask=mask, initial_state=states))
    for index, (f, s) in enumerate(zip(outputs, expected)):
        np.testing.assert_allclose(f, s, atol=ATOL, err_msg=f"output {index}")
    gradient = jax.jit(jax.grad(lambda t: sum(keras.ops.sum(o) for o in call(t, x, mask, states))))(trainable)
    assert all(np.isfinite(np.asarray(g)).all() for g in gradient)


@pytest.mark.skipif(BACKEND != "jax", reason="JAX's cuDNN LSTM")
def test_jax_cudnn_lstm_rules(monkeypatch):
    """Where the kernel does not run, and why: on a CPU; a mask that is not right-padded (known in eager mode);
    settings cuDNN has not; and without a mask, where Keras's own fused kernel is the one tried."""
    forward, backward = make_layer("lstm"), make_layer("lstm", go_backwards=True)
    mask = MASKS["right_padded"]
    x = sequences(mask)
    forward(x), backward(x)
    kernel = bidirlib.fused.find("jax_cudnn_lstm")

    def reason(layers=(forward, backward), mask=mask):
        return rules.first_failure(plan_call(*layers, x, mask=mask), kernel.gates, kernel.title)

    assert reason() == "it runs on a GPU only"
    monkeypatch.setattr(rules, "on_accelerator", lambda sequences: True)
    assert reason() is None
    assert reason(mask=MASKS["holes"]) == NOT_RIGHT_PADDED
    assert "runs masked calls only" in reason(mask=None)
    relu = (make_layer("lstm", activation="relu"), make_layer("lstm", activation="relu", go_backwards=True))
    for layer in relu:
        layer(x)
    assert "needs tanh" in reason(layers=relu)


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's cuDNN kernel")
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_torch_cudnn_kernel_takes_a_right_padded_mask_on_a_gpu(kind, monkeypatch):
    """On a GPU, Keras's fused kernel takes no mask, and bidirlib runs PyTorch's (cuDNN's) packed call for a
    right-padded one. Here the CPU is made to look like a GPU to the rules: the same call runs on PyTorch's CPU
    kernel, so the choice and the numbers are checked; cuDNN's own numbers only a GPU can check."""
    monkeypatch.setattr(rules, "on_accelerator", lambda sequences: True)
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "auto")
    fast, separate = fast_and_separate(kind, merge_mode=None, return_sequences=True, return_state=True)
    mask = MASKS["right_padded"]
    adv.compare(FLOAT32, fast, separate, sequences(mask), mask, initial_states(kind), label="the separate path")
    assert fast.last_call_path == f"torch_cudnn_{kind}", fast.last_fused_fallback
    fast(sequences(mask), mask=MASKS["holes"])
    assert fast.last_call_path == "separate"  # on a GPU the CPU's fast paths are off
    assert NOT_RIGHT_PADDED in fast.last_fused_fallback
    fast(sequences(mask))
    assert "it runs masked calls only" not in fast.last_fused_fallback  # without a mask, Keras's kernel's reason
