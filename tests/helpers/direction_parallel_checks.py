"""Direction parallelism checked on JAX with four simulated host devices; prints one JSON record of results.

Run by `tests/library/test_direction_parallel.py` in a process of its own, because the devices must be set
before JAX starts (and the test session may run on another backend). Each check records what it saw (the path
a call took, the largest difference to Keras's wrapper, an error's message); the tests assert on the record.
"""

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json  # noqa: E402
import sys  # noqa: E402

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import bidirlib  # noqa: E402

DEVICES = keras.distribution.list_devices()
PAIR = keras.distribution.DeviceMesh((2,), ["direction"], DEVICES[:2])
RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 6, 5)).astype("float32")


def largest_difference(a, b):
    a = a if isinstance(a, (list, tuple)) else [a]
    b = b if isinstance(b, (list, tuple)) else [b]
    assert len(a) == len(b), (len(a), len(b))
    return max(float(np.max(np.abs(np.asarray(p) - np.asarray(q)))) for p, q in zip(a, b))


def against_keras(layer, merge_mode="concat", mesh=PAIR, backward_layer=None, **call):
    """Call bidirlib's wrapper (on `mesh`) and Keras's with the same weights; return the path and difference."""
    kwargs = {} if backward_layer is None else {"backward_layer": backward_layer}
    ours = bidirlib.Bidirectional(layer, merge_mode=merge_mode, direction_mesh=mesh, **kwargs)
    theirs = keras.layers.Bidirectional(layer, merge_mode=merge_mode, **kwargs)
    expected = theirs(X, **call)
    ours(X, **call)
    ours.set_weights(theirs.get_weights())
    got = ours(X, **call)
    return {"path": ours.last_call_path, "reason": ours.last_fused_fallback, "difference": largest_difference(got, expected)}


def outputs_and_gradients():
    results = {}
    layers = {
        "lstm": lambda **kw: keras.layers.LSTM(3, **kw),
        "gru": lambda **kw: keras.layers.GRU(3, **kw),
        "simple_rnn": lambda **kw: keras.layers.SimpleRNN(3, **kw),
    }
    # Every merge mode and output form on the LSTM; the output forms on the GRU; two cases of a SimpleRNN.
    cases = [("lstm", mode, s, r) for mode in ("concat", "sum", None) for s in (True, False) for r in (False, True)]
    cases += [("gru", "concat", s, r) for s in (True, False) for r in (False, True)]
    cases += [("simple_rnn", "ave", True, False), ("simple_rnn", "mul", False, True)]
    for name, merge_mode, return_sequences, return_state in cases:
        key = f"{name}/{merge_mode}/sequences={return_sequences}/state={return_state}"
        layer = layers[name](return_sequences=return_sequences, return_state=return_state)
        results[key] = against_keras(layer, merge_mode)
    # Initial states, and a swapped pair (the layer reads backwards, its backward layer forwards).
    states = [RNG.normal(size=(4, 3)).astype("float32") for _ in range(4)]
    results["lstm/initial_state"] = against_keras(keras.layers.LSTM(3, return_sequences=True), initial_state=states)
    results["gru/swapped_pair"] = against_keras(
        keras.layers.GRU(3, return_sequences=True, go_backwards=True),
        backward_layer=keras.layers.GRU(3, return_sequences=True),
    )
    # The gradient with respect to the weights and the inputs, against the same wrapper with its path off.
    ours = bidirlib.Bidirectional(keras.layers.LSTM(3, return_sequences=True), direction_mesh=PAIR)
    plain = bidirlib.Bidirectional(keras.layers.LSTM(3, return_sequences=True), fused_path="off")
    ours(X), plain(X)
    plain.set_weights(ours.get_weights())

    def loss(layer):
        def value(weights, x):
            y, _ = layer.stateless_call(weights, [v.value for v in layer.non_trainable_variables], x)
            return (y**2).sum()

        return jax.jit(jax.grad(value, argnums=(0, 1)))

    weights = [v.value for v in ours.trainable_variables]
    got, expected = loss(ours)(weights, X), loss(plain)(weights, X)
    results["gradient"] = {
        "path": ours.last_call_path,
        "difference": largest_difference(list(got[0]) + [got[1]], list(expected[0]) + [expected[1]]),
        "backward_kernel_norm": float(np.linalg.norm(np.asarray(got[0][3]))),
    }
    return results


def fallbacks():
    """Calls that the path must leave to the two layers, and what the layer says about them."""
    results = {}
    layer = bidirlib.Bidirectional(keras.layers.LSTM(3, return_sequences=True), direction_mesh=PAIR)
    mask = np.ones((4, 6), bool)
    mask[:, 4:] = False
    layer(X, mask=mask)
    results["mask"] = {"path": layer.last_call_path, "reason": layer.last_fused_fallback}
    dropout = bidirlib.Bidirectional(keras.layers.GRU(3, dropout=0.5), direction_mesh=PAIR)
    dropout(X, training=True)
    results["dropout_training"] = {"path": dropout.last_call_path, "reason": dropout.last_fused_fallback}
    dropout(X, training=False)
    results["dropout_inference"] = {"path": dropout.last_call_path, "reason": dropout.last_fused_fallback}
    off = bidirlib.Bidirectional(keras.layers.LSTM(3), direction_mesh=PAIR, fused_path="off")
    off(X)
    results["off"] = {"path": off.last_call_path, "reason": off.last_fused_fallback}
    unequal = bidirlib.Bidirectional(
        keras.layers.LSTM(3, return_sequences=True),
        backward_layer=keras.layers.LSTM(4, return_sequences=True, go_backwards=True),
        direction_mesh=PAIR,
    )
    unequal(X)
    results["unequal_widths"] = {"path": unequal.last_call_path, "reason": unequal.last_fused_fallback}
    no_mesh = bidirlib.Bidirectional(keras.layers.LSTM(3))
    no_mesh(X)
    results["no_mesh"] = {"path": no_mesh.last_call_path, "reason": no_mesh.last_fused_fallback}
    return results


def bad_meshes():
    results = {}
    attempts = {
        "no_direction_axis": lambda: keras.distribution.DeviceMesh((2,), ["batch"], DEVICES[:2]),
        "direction_of_four": lambda: keras.distribution.DeviceMesh((4,), ["direction"], DEVICES),
        "not_a_mesh": lambda: DEVICES[:2],
    }
    for name, make in attempts.items():
        try:
            bidirlib.Bidirectional(keras.layers.LSTM(3), direction_mesh=make())
            results[name] = {"error": None}
        except Exception as error:  # noqa: BLE001 - the type and message are what is checked
            results[name] = {"error": type(error).__name__, "message": str(error)}
    return results


def training_under_a_distribution():
    """fit() with a ("batch", "direction") mesh of 2 x 2 devices against the same model on one device."""
    x = RNG.normal(size=(16, 6, 5)).astype("float32")
    y = RNG.normal(size=(16, 1)).astype("float32")

    def fit():
        keras.utils.set_random_seed(3)
        model = keras.Sequential(
            [
                keras.Input((6, 5)),
                bidirlib.Bidirectional(keras.layers.GRU(4, return_sequences=True)),
                bidirlib.Bidirectional(keras.layers.LSTM(4)),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer="adam", loss="mse", jit_compile=True)
        history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
        paths = [layer.last_call_path for layer in model.layers[:2]]
        return history.history["loss"], paths, model.predict(x, batch_size=8, verbose=0)

    one_losses, one_paths, one_predictions = fit()
    mesh = keras.distribution.DeviceMesh((2, 2), ["batch", "direction"], DEVICES)
    distribution = keras.distribution.ModelParallel(
        layout_map=keras.distribution.LayoutMap(mesh), batch_dim_name="batch"
    )
    with distribution.scope():
        losses, paths, predictions = fit()
        # A batch of 3 does not split over the 2 devices of the batch axis: every device gets the whole batch.
        odd = bidirlib.Bidirectional(keras.layers.LSTM(3))
        odd_expected = keras.layers.Bidirectional(keras.layers.LSTM(3))
        expected = odd_expected(X[:3])
        odd(X[:3])
        odd.set_weights(odd_expected.get_weights())
        odd_difference = largest_difference(odd(X[:3]), expected)
        odd_path = odd.last_call_path
    return {
        "one_device_losses": one_losses,
        "one_device_paths": one_paths,
        "losses": losses,
        "paths": paths,
        "prediction_difference": largest_difference(predictions, one_predictions),
        "odd_batch": {"path": odd_path, "difference": odd_difference},
    }


def main():
    record = {
        "devices": len(DEVICES),
        "outputs": outputs_and_gradients(),
        "fallbacks": fallbacks(),
        "bad_meshes": bad_meshes(),
        "training": training_under_a_distribution(),
    }
    json.dump(record, sys.stdout)
    print()


if __name__ == "__main__":
    main()
