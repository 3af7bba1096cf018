"""bidirlib's fused paths (bidirlib.fused): the numbers of the separate path and of Keras, and the one setting.

Every case compares a fast path against keras.layers.Bidirectional (weights copied across) and against bidirlib's
own separate path (`fused_path = "off"`), and checks which path ran. "auto" is the path bidirlib picks on this
backend; "stacked" (BIDIRLIB_FUSED_PATH=stacked) forces the stacked loop, so that every backend tests it.
"""

import itertools

import keras
import numpy as np
import pytest
from helpers.parity import ATOL, assert_same_outputs, copy_weights, make_mask, make_pair, random_sequences, to_numpy

import bidirlib
from bidirlib.fused import ENVIRONMENT_VARIABLE, fast_path_for, rules

MERGE_MODES = ["concat", "sum", "mul", "ave", None]
BACKEND = keras.backend.backend()


@pytest.fixture(params=["auto", "stacked"])
def mode(request, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, request.param)
    return request.param


def expected_path(mode, kind, standard=True):
    """The path bidirlib takes on this backend's CPU for a plain pair, as the kernel registry says: the forced
    kernel under "stacked", else the first fast kernel registered for this backend and kind (one that needs the
    standard activations only for a `standard` pair)."""
    fast = bidirlib.fused.kernels("fast")
    if mode == "stacked":
        return next(kernel.name for kernel in fast if kernel.forced_by == "stacked" and kind in kernel.kinds)
    for kernel in fast:
        if kernel.runs(kind, BACKEND) and (standard or rules.STANDARD_ACTIVATIONS not in kernel.gates):
            return kernel.name
    return "separate"


def test_the_registry_holds_the_measured_choices():
    """What "auto" runs on each backend's CPU, as measured (bidirlib.fused.dispatch's docstring): pinned here once."""
    tried = {
        (backend, kind): [kernel.name for kernel in bidirlib.fused.kernels("fast") if kernel.runs(kind, backend)]
        for backend in ("tensorflow", "jax", "torch")
        for kind in ("lstm", "gru")
    }
    assert tried == {
        ("tensorflow", "lstm"): ["tf_block_lstm"],
        ("tensorflow", "gru"): [],
        ("jax", "lstm"): [],
        ("jax", "gru"): [],
        ("torch", "lstm"): ["torch_lstm", "stacked_lstm"],
        ("torch", "gru"): ["torch_gru", "stacked_gru"],
    }
    names = [kernel.name for kernel in bidirlib.fused.kernels()]
    assert names[0] == "direction_parallel" and names[1:3] == ["fused_lstm", "fused_gru"]
    assert len(names) == len(set(names))


def make_layer(kind, **kwargs):
    layer_class = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[kind]
    kwargs.setdefault("name", kind)
    return layer_class(kwargs.pop("units", 3), **kwargs)


def assert_fast_matches_separate(wrapper, inputs, **call_kwargs):
    """Call `wrapper` with its fused paths allowed and not; the outputs must agree. Returns the first path."""
    wrapper.fused_path = "auto"
    fast = to_numpy(wrapper(inputs, **call_kwargs))
    fast_path_taken = wrapper.last_call_path
    wrapper.fused_path = "off"
    separate = to_numpy(wrapper(inputs, **call_kwargs))
    assert wrapper.last_call_path == "separate"
    wrapper.fused_path = "auto"
    assert len(fast) == len(separate)
    for index, (f, s) in enumerate(zip(fast, separate)):
        assert f.shape == s.shape, f"output {index}: {f.shape} on the fast path, {s.shape} on the separate one"
        np.testing.assert_allclose(f, s, atol=ATOL, err_msg=f"output {index}: fast path differs from separate")
    return fast_path_taken


def gradients(wrapper, x):
    """Gradients of a fixed scalar function of the wrapper's outputs with respect to its trainable weights."""
    x = x.astype("float32")

    def loss_of(outputs):
        flat = keras.tree.flatten(outputs)
        return sum(keras.ops.sum(keras.ops.sin(3.0 * o) * (index + 1)) for index, o in enumerate(flat))

    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_of(wrapper(x))
        return [g.numpy() for g in tape.gradient(loss, wrapper.trainable_variables)]
    if BACKEND == "torch":
        for variable in wrapper.trainable_variables:
            variable.value.grad = None
        loss_of(wrapper(x)).backward()
        return [variable.value.grad.numpy().copy() for variable in wrapper.trainable_variables]
    if BACKEND == "jax":
        import jax

        def loss(trainable):
            outputs, _ = wrapper.stateless_call(trainable, [v.value for v in wrapper.non_trainable_variables], x)
            return loss_of(outputs)

        return [np.asarray(g) for g in jax.grad(loss)([v.value for v in wrapper.trainable_variables])]
    pytest.skip(f"no gradients on the {BACKEND} backend")


@pytest.mark.parametrize(
    "kind, merge_mode, return_sequences, return_state",
    list(itertools.product(["lstm", "gru"], MERGE_MODES, [False, True], [False, True])),
)
def test_stacked_loop_matches_keras_and_the_separate_path(kind, merge_mode, return_sequences, return_state, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "stacked")
    reference, ours = make_pair(
        lambda: make_layer(kind, return_sequences=return_sequences, return_state=return_state),
        merge_mode=merge_mode,
    )
    x = random_sequences()
    assert_same_outputs(reference, ours, x)
    assert ours.last_call_path == f"stacked_{kind}", ours.last_fused_fallback
    assert ours.last_fused_fallback is None
    assert assert_fast_matches_separate(ours, x) == f"stacked_{kind}"


@pytest.mark.parametrize(
    "kind, merge_mode, return_sequences, return_state",
    list(itertools.product(["lstm", "gru"], ["concat", None], [False, True], [False, True])),
)
def test_automatic_fast_path_matches_keras_and_the_separate_path(kind, merge_mode, return_sequences, return_state):
    reference, ours = make_pair(
        lambda: make_layer(kind, return_sequences=return_sequences, return_state=return_state),
        merge_mode=merge_mode,
    )
    x = random_sequences()
    assert_same_outputs(reference, ours, x)
    assert ours.last_call_path == expected_path("auto", kind), ours.last_fused_fallback
    assert (ours.last_fused_fallback is None) == (ours.last_call_path != "separate")
    assert_fast_matches_separate(ours, x)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_initial_state_on_the_fast_path(kind, mode):
    reference, ours = make_pair(lambda: make_layer(kind, return_sequences=True, return_state=True), merge_mode=None)
    x = random_sequences()
    rng = np.random.default_rng(3)
    initial = [rng.normal(size=(3, 3)).astype("float32") for _ in range(4 if kind == "lstm" else 2)]
    outputs = assert_same_outputs(reference, ours, x, initial_state=initial)
    assert ours.last_call_path == expected_path(mode, kind)
    assert_fast_matches_separate(ours, x, initial_state=initial)
    # The states must have been used: zeros give other numbers.
    assert not np.allclose(outputs[0], to_numpy(ours(x))[0])


@pytest.mark.parametrize(
    "kind, settings",
    [
        ("lstm", {"activation": "relu"}),
        ("lstm", {"recurrent_activation": "hard_sigmoid", "use_bias": False}),
        ("lstm", {"use_bias": False}),
        ("lstm", {"unroll": True}),
        ("gru", {"reset_after": False}),
        ("gru", {"use_bias": False}),
        ("gru", {"activation": "relu", "reset_after": False}),
        ("gru", {"unroll": True}),
    ],
    ids=str,
)
def test_other_cell_settings(kind, settings, mode):
    reference, ours = make_pair(lambda: make_layer(kind, return_sequences=True, return_state=True, **settings))
    x = random_sequences()
    assert_same_outputs(reference, ours, x)
    standard = "activation" not in settings and "recurrent_activation" not in settings
    standard = standard and settings.get("reset_after", True)
    assert ours.last_call_path == expected_path(mode, kind, standard=standard), ours.last_fused_fallback
    assert_fast_matches_separate(ours, x)


def test_large_cell_states_are_not_clipped(mode):
    """Cell states far beyond +-3, where some fused LSTM kernels clip by default (TensorFlow's BlockLSTM)."""
    reference, ours = make_pair(lambda: make_layer("lstm", units=4, return_sequences=True, return_state=True))
    x = 3 * random_sequences(steps=12)
    reference(x)
    weights = reference.get_weights()
    for w in weights:
        if w.ndim == 1:  # biases (input, forget, cell, output gates): always add, never forget
            w[0:8] = 8.0
            w[8:12] = 3.0
    reference.set_weights(weights)
    outputs = assert_same_outputs(reference, ours, x)
    assert ours.last_call_path == expected_path(mode, "lstm")
    assert np.abs(outputs[2]).max() > 5, "the test needs cell states beyond the default clip value"


def test_dropout_runs_the_fast_path_only_at_inference(mode):
    reference, ours = make_pair(lambda: make_layer("lstm", dropout=0.4, recurrent_dropout=0.3, return_sequences=True))
    x = random_sequences()
    assert_same_outputs(reference, ours, x, training=False)
    assert ours.last_call_path == expected_path(mode, "lstm")
    ours(x, training=True)
    assert ours.last_call_path == "separate"
    assert "dropout is set and training is on" in ours.last_fused_fallback


def test_fused_path_off_runs_the_separate_path(mode):
    wrapper = bidirlib.Bidirectional(make_layer("gru", return_sequences=True))
    x = random_sequences()
    wrapper(x)
    assert wrapper.last_call_path == expected_path(mode, "gru")
    wrapper.fused_path = "off"
    wrapper(x)
    assert wrapper.last_call_path == "separate"
    assert wrapper.last_fused_fallback == "fused_path is 'off'"


def test_path_taken_is_reported(monkeypatch):
    """Keras defect 10: the path taken can be found out (last_call_path, and last_fused_fallback says why)."""
    # CI runs the parity files once more with the environment variable set to "off": the reasons below are the
    # layer's own, so the variable is cleared here and its own reason checked at the end.
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    wrapper = bidirlib.Bidirectional(keras.layers.LSTM(3))
    assert wrapper.last_call_path is None
    wrapper(random_sequences())
    # Keras's fused kernel on a GPU; on a CPU, bidirlib's fast path where the backend has one.
    paths = ("separate", "fused_lstm", "torch_lstm", "tf_block_lstm", "stacked_lstm", "direction_parallel")
    assert wrapper.last_call_path in paths
    if wrapper.last_call_path == "separate":
        assert wrapper.last_fused_fallback  # says why
    wrapper.fused_path = "off"
    wrapper(random_sequences())
    assert wrapper.last_call_path == "separate"
    # Under a direction mesh (CI's JAX run) a reason adds "(also for direction parallelism)".
    assert wrapper.last_fused_fallback.startswith("fused_path is 'off'")
    wrapper.fused_path = "auto"
    wrapper(random_sequences(), mask=make_mask("pre"))
    # A mask with leading padding: the stacked loop takes it where it runs by itself (PyTorch, with gradients);
    # elsewhere the reason names the mask (test_mixed_lengths.py has the cases).
    assert wrapper.last_call_path == "stacked_lstm" or "mask" in wrapper.last_fused_fallback
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "off")
    wrapper(random_sequences())
    assert wrapper.last_call_path == "separate"
    assert wrapper.last_fused_fallback.startswith("the environment variable BIDIRLIB_FUSED_PATH is 'off'")


def test_environment_variable_turns_the_fast_path_off(monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "stacked")
    wrapper = bidirlib.Bidirectional(make_layer("lstm", return_sequences=True))
    x = random_sequences()
    fast = to_numpy(wrapper(x))
    assert wrapper.last_call_path == "stacked_lstm"
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "off")
    separate = to_numpy(wrapper(x))
    assert wrapper.last_call_path == "separate"
    assert ENVIRONMENT_VARIABLE in wrapper.last_fused_fallback
    np.testing.assert_allclose(fast[0], separate[0], atol=ATOL)
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "fastest")
    with pytest.raises(ValueError, match="BIDIRLIB_FUSED_PATH must be one of"):
        wrapper(x)


@pytest.mark.parametrize(
    "make_backward, reason",
    [
        (lambda: make_layer("lstm", units=4, go_backwards=True, return_sequences=True), "different units"),
        (
            lambda: make_layer("lstm", activation="relu", go_backwards=True, return_sequences=True),
            "different activations",
        ),
        (lambda: make_layer("gru", go_backwards=True, return_sequences=True), "not both plain LSTM"),
        (lambda: make_layer("lstm", use_bias=False, go_backwards=True, return_sequences=True), "has a bias"),
    ],
    ids=["units", "activation", "type", "bias"],
)
def test_pairs_that_differ_take_the_separate_path(make_backward, reason, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "stacked")
    reference, ours = make_pair(lambda: make_layer("lstm", return_sequences=True), make_backward=make_backward)
    assert_same_outputs(reference, ours, random_sequences())
    assert ours.last_call_path == "separate"
    assert reason in ours.last_fused_fallback


def test_swapped_directions_take_the_separate_path(mode):
    # The "forward" layer reads backwards and the "backward" layer forwards: allowed, but no fused path fits.
    reference, ours = make_pair(
        lambda: make_layer("lstm", go_backwards=True, return_sequences=True),
        make_backward=lambda: make_layer("lstm", return_sequences=True, name="reader"),
    )
    assert_same_outputs(reference, ours, random_sequences())
    assert ours.last_call_path == "separate"
    assert "go_backwards" in ours.last_fused_fallback


def test_stateful_takes_the_separate_path(mode):
    x = random_sequences()
    stateful = bidirlib.Bidirectional(make_layer("lstm", stateful=True))
    stateful(x)
    assert stateful.last_call_path == "separate"
    assert stateful.last_fused_fallback == "the layer is stateful"


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("return_state", [False, True])
def test_gradients_equal_the_separate_path(kind, return_state, mode):
    """Gradients of every output and state, taken outside any training loop (training=None)."""
    wrapper = bidirlib.Bidirectional(
        make_layer(kind, return_sequences=True, return_state=return_state), merge_mode="ave"
    )
    x = random_sequences(batch=4)
    wrapper(x)
    fast = gradients(wrapper, x)
    assert wrapper.last_call_path == expected_path(mode, kind)
    wrapper.fused_path = "off"
    separate = gradients(wrapper, x)
    assert wrapper.last_call_path == "separate"
    assert len(fast) == len(separate) == 6  # kernel, recurrent kernel and bias per direction
    for index, (f, s) in enumerate(zip(fast, separate)):
        assert np.abs(s).max() > 0
        np.testing.assert_allclose(f, s, atol=ATOL, err_msg=f"gradient {index} ({wrapper.weights[index].path})")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("merge_mode", ["concat", "ave"])
def test_training_step_updates_weights_like_keras_and_the_separate_path(kind, merge_mode, mode):
    """One SGD step changes every weight the same way on the fast path, the separate path and Keras."""
    reference, ours = make_pair(lambda: make_layer(kind, return_sequences=True), merge_mode=merge_mode)
    separate = bidirlib.Bidirectional(make_layer(kind, return_sequences=True), merge_mode=merge_mode)
    separate.fused_path = "off"

    def model(wrapper):
        inputs = keras.Input(shape=(6, 4))
        hidden = keras.layers.GlobalAveragePooling1D(name="pool")(wrapper(inputs))
        return keras.Model(inputs, keras.layers.Dense(2, name="head")(hidden))

    models = [model(reference), model(ours), model(separate)]
    copy_weights(models[0], models[1])
    copy_weights(models[0], models[2])
    initial = models[0].get_weights()
    x = random_sequences(batch=8)
    y = np.random.default_rng(5).normal(size=(8, 2)).astype("float32")
    losses = []
    for m in models:
        m.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
        losses.append(float(m.train_on_batch(x, y)))
    assert ours.last_call_path == expected_path(mode, kind)
    assert separate.last_call_path == "separate"
    np.testing.assert_allclose(losses[1:], [losses[0]] * 2, atol=ATOL)
    for start, reference_weight, fast_weight, separate_weight in zip(initial, *(m.get_weights() for m in models)):
        assert not np.allclose(reference_weight, start), "the step should change every weight"
        np.testing.assert_allclose(fast_weight, reference_weight, atol=ATOL)
        np.testing.assert_allclose(separate_weight, reference_weight, atol=ATOL)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_fit_and_predict_with_unknown_batch_and_time(kind, mode):
    """Inside compiled train and predict functions, with the time axis unknown until the data arrives."""
    keras.utils.set_random_seed(0)
    wrapper = bidirlib.Bidirectional(make_layer(kind, return_sequences=True), name="bi")
    model = keras.Sequential([keras.Input(shape=(None, 4)), wrapper, keras.layers.Dense(1, name="head")])
    model.compile(optimizer="sgd", loss="mse")
    x = random_sequences(batch=4, steps=7)
    model.fit(x, np.zeros((4, 7, 1), "float32"), epochs=1, batch_size=2, verbose=0)
    assert wrapper.last_call_path == expected_path(mode, kind)
    for steps in (5, 9):
        sequences = random_sequences(batch=3, steps=steps, seed=steps)
        fast = model.predict(sequences, verbose=0)
        assert wrapper.last_call_path == expected_path(mode, kind)
        assert fast.shape == (3, steps, 1)
        wrapper.fused_path = "off"
        separate = model.predict(sequences, verbose=0)
        wrapper.fused_path = "auto"
        np.testing.assert_allclose(fast, separate, atol=ATOL)


def test_fast_path_for_on_this_backend(mode):
    forward = make_layer("lstm")
    backward = make_layer("lstm", go_backwards=True, name="backward")
    x = random_sequences()
    name, reason = fast_path_for(forward, backward, x)
    path = expected_path(mode, "lstm")
    if path == "separate":
        assert name is None and reason
    else:
        assert reason is None
        assert name == path


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's autograd switch")
def test_torch_runs_the_stacked_loop_only_while_recording_gradients():
    import torch

    wrapper = bidirlib.Bidirectional(make_layer("lstm", activation="relu", return_sequences=True))
    x = random_sequences()
    recorded = to_numpy(wrapper(x))
    assert wrapper.last_call_path == "stacked_lstm"
    with torch.no_grad():
        inferred = to_numpy(wrapper(x))
    assert wrapper.last_call_path == "separate"
    assert "without gradients" in wrapper.last_fused_fallback
    np.testing.assert_allclose(recorded[0], inferred[0], atol=ATOL)


@pytest.mark.skipif(BACKEND != "torch", reason="torch.compile is PyTorch's")
def test_jit_compiled_model_trains_on_pytorch():
    """Stress report item 7: a model compiled with jit_compile=True trains on PyTorch (the fused path steps
    aside for torch.compile and says so)."""
    model = keras.Sequential([keras.Input((5, 2)), bidirlib.Bidirectional(keras.layers.LSTM(3)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    history = model.fit(random_sequences(batch=8, steps=5, features=2), np.ones((8, 1), "float32"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert "torch.compile" in model.layers[0].last_fused_fallback


def call_in_tf_function(**function_kwargs):
    """A bidirlib LSTM wrapper called in a `tf.function(**function_kwargs)`; its outputs must be Keras's.

    Returns the wrapper (after the call) and the inputs.
    """
    import tensorflow as tf

    reference, ours = make_pair(lambda: make_layer("lstm", return_sequences=True))
    x = random_sequences()
    expected = to_numpy(reference(x))
    ours(x)
    copy_weights(reference, ours)
    traced = tf.function(lambda inputs: ours(inputs), **function_kwargs)
    np.testing.assert_allclose(to_numpy(traced(x)), expected, atol=ATOL)
    return ours, x


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's XLA switch")
def test_xla_compiled_functions_take_the_separate_path_on_tensorflow(monkeypatch):
    """BlockLSTM has no XLA kernel: under jit_compile=True the wrapper runs the two layers, with Keras's numbers."""
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "auto")
    ours, x = call_in_tf_function(jit_compile=True)
    assert ours.last_call_path == "separate"
    assert "XLA" in ours.last_fused_fallback
    ours(x)
    assert ours.last_call_path == "tf_block_lstm"


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's BlockLSTM kernel")
def test_block_lstm_is_used_for_float32_only(monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "auto")
    forward = make_layer("lstm", dtype="float64")
    backward = make_layer("lstm", dtype="float64", go_backwards=True, name="backward")
    name, reason = fast_path_for(forward, backward, random_sequences().astype("float64"))
    assert name is None and "float32 only" in reason


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's BlockLSTM kernel")
@pytest.mark.parametrize(
    "batch, features, units, picked",
    [(32, 32, 64, True), (16, 128, 64, True), (32, 128, 64, False), (8, 32, 128, False), (256, 32, 128, False)],
)
def test_block_lstm_is_picked_by_the_work_of_a_step(batch, features, units, picked, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "auto")
    forward = make_layer("lstm", units=units)
    backward = make_layer("lstm", units=units, go_backwards=True, name="backward")
    x = np.zeros((batch, 5, features), "float32")
    name, reason = fast_path_for(forward, backward, x)
    if picked:
        assert (name, reason) == ("tf_block_lstm", None)
    else:
        assert name is None and "measured faster than BlockLSTM" in reason


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's BlockLSTM kernel")
def test_unknown_batch_on_tensorflow_takes_the_separate_path(monkeypatch):
    import tensorflow as tf

    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "auto")
    ours, _ = call_in_tf_function(input_signature=[tf.TensorSpec((None,) + random_sequences().shape[1:])])
    assert ours.last_call_path == "separate"
    assert "batch size" in ours.last_fused_fallback
