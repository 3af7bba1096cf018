"""Exporting a model that holds `Bidirectional`, loading the file back, and comparing its outputs with the model's.

`check_export(model, inputs)` is the one call: it runs `model.export(path, format=...)`, loads what was written
in the runtime that serves that format (onnxruntime for `"onnx"`, TensorFlow for `"tf_saved_model"`), runs it on
`inputs` and compares each output with the model's own, and returns an `ExportCheck`. The runtimes are not
bidirlib's dependencies: the `export` extra installs them (`pip install "bidirlib[export]"`), and each is
imported only when a check needs it.

While a model is being exported (`exporting()`), a `Bidirectional` layer gives the exporter what it can take:
a path that cannot be exported steps aside (its rule in `bidirlib.fused.rules` says why, and the layer's
`last_fused_fallback` reads it), and a backward RNN reads a flipped copy of the sequence forwards where the
exporter cannot take a backward loop (`reads_a_flipped_copy`).
"""

import dataclasses
import os
import tempfile

import keras
import numpy as np

from bidirlib import errors, keras_internals

#: The formats `check_export` can load back, and the package each one needs.
RUNTIMES = {"onnx": "onnxruntime", "tf_saved_model": "tensorflow"}


@dataclasses.dataclass(frozen=True, repr=False)
class ExportCheck:
    """What `check_export` found.

    Attributes:
        format: the export format, `"onnx"` or `"tf_saved_model"`.
        path: where the exported file (or SavedModel folder) was written.
        expected: the model's own outputs, flattened, as NumPy arrays.
        loaded: the loaded file's outputs, in the same order.
        max_abs_difference: the largest absolute difference over every output.
        atol: the tolerance `equal` was judged with.
    """

    format: str
    path: str
    expected: tuple
    loaded: tuple
    max_abs_difference: float
    atol: float

    @property
    def equal(self):
        """Whether every output of the loaded file is within `atol` of the model's, shapes included."""
        return len(self.expected) == len(self.loaded) and self.max_abs_difference <= self.atol

    def __repr__(self):
        # One line for a notebook: the arrays are in `expected` and `loaded`.
        verdict = "equal" if self.equal else "NOT equal"
        return (
            f"ExportCheck({self.format}: {len(self.loaded)} of {len(self.expected)} outputs, max abs difference "
            f"{self.max_abs_difference:.3g}, {verdict} within atol={self.atol:g})"
        )


def check_export(model, inputs, format="onnx", path=None, atol=1e-5):
    """Export `model`, load the file in its runtime, run it on `inputs` and compare with `model(inputs)`.

    Args:
        model: a built Keras model (it has been called, or was made with `keras.Input`).
        inputs: a NumPy array (one input) or a list of them, float32.
        format: `"onnx"` (loaded in onnxruntime) or `"tf_saved_model"` (loaded with `tf.saved_model.load`).
        path: where to write the export; a new temporary folder by default.
        atol: the largest absolute difference `ExportCheck.equal` accepts.

    Returns:
        An `ExportCheck`. Errors of the export or of the loading are not caught: they say what failed.

    Example:

    >>> import numpy as np, keras, bidirlib
    >>> from bidirlib.export import check_export
    >>> inputs = keras.Input((5, 4))
    >>> model = keras.Model(inputs, bidirlib.Bidirectional(keras.layers.GRU(3))(inputs))
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    >>> check = check_export(model, x)  # doctest: +SKIP
    >>> check.equal, check.max_abs_difference < 1e-5  # doctest: +SKIP
    (True, True)
    >>> check  # doctest: +SKIP
    ExportCheck(onnx: 1 of 1 outputs, max abs difference ..., equal within atol=1e-05)
    """
    errors.require_export_format(format, tuple(RUNTIMES))
    errors.require_model(model, "check_export")
    _require_runtime(format)
    flat_inputs = [np.asarray(x) for x in keras.tree.flatten(inputs)]
    expected = tuple(np.asarray(keras.ops.convert_to_numpy(y)) for y in keras.tree.flatten(model(inputs)))
    if path is None:
        folder = tempfile.mkdtemp(prefix="bidirlib_export_")
        path = os.path.join(folder, "model.onnx" if format == "onnx" else "saved_model")
    model.export(path, format=format, verbose=False)
    loaded = _run_onnx(path, flat_inputs) if format == "onnx" else _run_saved_model(path, flat_inputs)
    return ExportCheck(format, str(path), expected, loaded, _max_abs_difference(expected, loaded), atol)


def _require_runtime(format):
    package = RUNTIMES[format]
    try:
        __import__(package)
    except ImportError:
        raise errors.missing_export_runtime(format, package) from None


def _run_onnx(path, flat_inputs):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {spec.name: x for spec, x in zip(session.get_inputs(), flat_inputs)}
    return tuple(np.asarray(y) for y in session.run(None, feeds))


def _run_saved_model(path, flat_inputs):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))  # kept: its functions read the variables it holds
    served = loaded.serve(*flat_inputs)
    return tuple(np.asarray(y) for y in tf.nest.flatten(served))


def _max_abs_difference(expected, loaded):
    """The largest absolute difference over outputs of equal shapes; infinity where a shape differs."""
    if len(expected) != len(loaded):
        return float("inf")
    worst = 0.0
    for want, got in zip(expected, loaded):
        if tuple(want.shape) != tuple(got.shape):
            return float("inf")
        if want.size:
            worst = max(worst, float(np.max(np.abs(want.astype("float64") - got.astype("float64")))))
    return worst


def exporting():
    """Whether the current call is being traced for an export, where the backend lets a layer know.

    On PyTorch, inside `torch.onnx.export` or `torch.export` (public questions); on JAX, inside jax2onnx's or
    jax2tf's conversion (Keras's ONNX and SavedModel exports; read from their private state,
    `bidirlib.keras_internals.jax_exporting`). TensorFlow's export traces the same `tf.function` a model runs and
    says nothing; every kernel bidirlib runs there exports (TensorFlow's BlockLSTM included): False.

    Example:

    >>> from bidirlib.export import exporting
    >>> exporting()
    False
    """
    backend = keras.backend.backend()
    if backend == "torch":
        return keras_internals.torch_exporting()
    if backend == "jax":
        return keras_internals.jax_exporting()
    return False


def reads_a_flipped_copy(layer):
    """Whether `Bidirectional` runs `layer`, an RNN that reads backwards, forwards over a flipped copy instead.

    Reading a flipped copy forwards runs the same steps in the same order as `go_backwards=True`, so the numbers
    are the same, and the outputs come out in reading order as they would have. It is done where an exporter
    cannot take the backward loop:

    - on JAX, always: jax2onnx (Keras's ONNX export there) refuses a reverse `lax.scan` ("Reverse scan is not
      supported"), and only its private state says that it is tracing (`exporting`). Always, then, so that
      every call checks these numbers, not only an export's; it costs nothing: Keras flips the outputs of its
      reverse scan, and here the inputs are flipped instead;
    - on PyTorch, while exporting (`exporting()`): there Keras's loop, reading backwards, takes the maximum of
      the traced number of steps, a scalar, along axis 0, which the exported file keeps as a `ReduceMax` that
      onnxruntime refuses to load ("axis must be in [-rank, rank-1]. Input rank was 0").

    Example:

    >>> import keras
    >>> from bidirlib.export import reads_a_flipped_copy
    >>> reads_a_flipped_copy(keras.layers.GRU(2))  # it reads forwards
    False
    """
    if not (isinstance(layer, keras.layers.RNN) and layer.go_backwards):
        return False
    backend = keras.backend.backend()
    return backend == "jax" or (backend == "torch" and keras_internals.torch_exporting())
