"""The chapter "Scaling out": one small bidirectional model, trained on one device or data-parallel on several.

`python -m bidirbook.scaling` trains it on one JAX device, then with `keras.distribution.DataParallel` on every
JAX device of this process, then with its two directions on two devices (bidirlib's direction parallelism),
and prints the runs' losses and largest weight differences as JSON. Start it with
`XLA_FLAGS=--xla_force_host_platform_device_count=2` and `KERAS_BACKEND=jax` for two simulated devices.
`scripts/multi_worker.py` trains the same model on the same data in two processes.
"""

import json

import numpy as np

SAMPLES, STEPS, FEATURES, UNITS, GLOBAL_BATCH, EPOCHS = 64, 6, 3, 4, 16, 3


def make_data(seed=0):
    """A generated task: the label of a sequence is its first step's first feature minus its last step's.

    Example:

    >>> import numpy as np
    >>> from bidirbook.scaling import make_data
    >>> x, y = make_data()
    >>> bool(np.allclose(y[:, 0], x[:, 0, 0] - x[:, -1, 0]))
    True
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(SAMPLES, STEPS, FEATURES)).astype("float32")
    y = (x[:, 0, :1] - x[:, -1, :1]).astype("float32")
    return x, y


def make_model(seed=1):
    """`bidirlib.Bidirectional(GRU)` and a dense head, with starting weights drawn by NumPy (the same on every
    device, process and backend)."""
    import keras

    import bidirlib

    inputs = keras.Input((STEPS, FEATURES), name="sequence")
    hidden = bidirlib.Bidirectional(keras.layers.GRU(UNITS, name="gru"), name="bidirectional")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(hidden), name="scaled_out")
    rng = np.random.default_rng(seed)
    model.set_weights([(0.3 * rng.normal(size=w.shape)).astype("float32") for w in model.get_weights()])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def train(model, x, y):
    """`EPOCHS` epochs in order (no shuffling), global batches of `GLOBAL_BATCH`; returns the losses."""
    history = model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    return [float(v) for v in history.history["loss"]]


def jax_data_parallel():
    """Train on one JAX device, then data-parallel on all of them; return what the chapter prints."""
    import jax
    import keras

    x, y = make_data()
    single = make_model()
    single_losses = train(single, x, y)
    devices = jax.devices()
    with keras.distribution.DataParallel(devices=devices).scope():
        parallel = make_model()
        parallel_losses = train(parallel, x, y)
    kernel = parallel.get_layer("bidirectional").forward_layer.cell.kernel
    return {
        "devices": len(devices),
        "single_losses": single_losses,
        "parallel_losses": parallel_losses,
        "largest_weight_difference": largest_difference(single, parallel),
        "kernel_sharding": str(kernel.value.sharding.spec),
    }


def jax_direction_parallel():
    """Train on one JAX device, then with the two directions on two devices; return what the chapter prints.

    The mesh has a "batch" axis (of size 1 here; with more devices it splits the batch as `DataParallel` does)
    and a "direction" axis of size 2, which `bidirlib.Bidirectional` splits its two layers over.
    """
    import jax
    import keras

    x, y = make_data()
    single = make_model()
    single_losses = train(single, x, y)
    mesh = keras.distribution.DeviceMesh((1, 2), ("batch", "direction"), jax.devices()[:2])
    distribution = keras.distribution.ModelParallel(
        layout_map=keras.distribution.LayoutMap(mesh), batch_dim_name="batch"
    )
    with distribution.scope():
        parallel = make_model()
        parallel_losses = train(parallel, x, y)
    layer = parallel.get_layer("bidirectional")
    return {
        "single_path": single.get_layer("bidirectional").last_call_path,
        "path": layer.last_call_path,
        "single_losses": single_losses,
        "parallel_losses": parallel_losses,
        "largest_weight_difference": largest_difference(single, parallel),
    }


def largest_difference(model, other):
    """The largest absolute difference between two models' weights."""
    return max(float(np.max(np.abs(a - b))) for a, b in zip(model.get_weights(), other.get_weights()))


if __name__ == "__main__":
    print(json.dumps({"data_parallel": jax_data_parallel(), "direction_parallel": jax_direction_parallel()}))
