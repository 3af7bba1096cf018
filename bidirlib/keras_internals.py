"""Every use of Keras's, TensorFlow's or an exporter's private modules, in one place, each with a working fallback.

bidirlib uses Keras's public API everywhere else. A few things it needs exist only in private modules
(`keras.src...`, `tensorflow.python...`), which may move or vanish in any release. Each is looked up here,
guarded by the version that has it, and each has a fallback that works (more slowly, or more cautiously) when
the lookup fails, so a new Keras can change only this module's answers, never break an import.
"""

import keras

#: The installed Keras version as a tuple of ints, e.g. (3, 15, 1).
KERAS_VERSION = tuple(int(part) for part in keras.__version__.split(".")[:3] if part.isdigit())


def fused_bidirectional_kernel(kind):
    """Keras's fused two-direction kernel for `"lstm"` or `"gru"` (Keras 3.15 and later), or None.

    Keras tries these (cuDNN, on a GPU) in `keras.layers.Bidirectional`; without them each direction runs alone.
    """
    if KERAS_VERSION < (3, 15):
        return None
    try:
        from keras.src import backend
    except ImportError:  # pragma: no cover - depends on the installed Keras
        return None
    return getattr(backend, f"bidirectional_{kind}", None)


def recurrent_loop(step, inputs, initial_states, unroll=False, return_all_outputs=True):
    """Run `step(inputs_t, states) -> (output, states)` over axis 1 of `inputs` (batch first, then time).

    Returns `(last output, all outputs stacked on axis 1 or None, final states)`. This is the backend's own loop
    (`keras.src.backend.rnn`: a `scan` or `while_loop`, the one every Keras RNN layer uses) where it is there, and
    a Python loop over the time steps otherwise (it needs a known number of steps).
    """
    try:
        from keras.src.backend import rnn
    except ImportError:  # pragma: no cover - every Keras 3 so far has it
        rnn = None
    if rnn is not None and keras.backend.backend() != "torch":
        last, outputs, final = rnn(
            step,
            inputs,
            initial_states,
            unroll=bool(unroll),
            return_all_outputs=return_all_outputs,
        )
        return last, outputs, final
    # PyTorch runs eagerly: a plain loop is what Keras's own loop does there too, without its bookkeeping.
    return python_loop(step, inputs, initial_states, return_all_outputs)


def python_loop(step, inputs, states, return_all_outputs=True):
    """The plain Python loop behind `recurrent_loop` (time on axis 1 of `inputs`)."""
    outputs = []
    output = None
    # unstack, not inputs[:, t]: the gradient of T slices would be T full-size tensors.
    for inputs_t in keras.ops.unstack(inputs, axis=1):
        output, states = step(inputs_t, states)
        if return_all_outputs:
            outputs.append(output)
    stacked = keras.ops.stack(outputs, axis=1) if return_all_outputs else None
    return output, stacked, states


def torch_default_device():
    """The device Keras's PyTorch backend puts new tensors on (`"cpu"`, `"cuda"`, ...)."""
    try:
        from keras.src.backend.torch.core import get_device
    except ImportError:  # pragma: no cover - depends on the installed Keras
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(get_device())


def torch_compiling():
    """Whether PyTorch is tracing the current code for `torch.compile` (Keras's `jit_compile=True`)."""
    import torch

    compiler = getattr(torch, "compiler", None)
    if compiler is not None and hasattr(compiler, "is_compiling"):
        return bool(compiler.is_compiling())
    return False  # pragma: no cover - PyTorch before 2.3 has no public question; assume eager


def tf_in_xla_function():
    """Whether TensorFlow is tracing a function that XLA compiles (`jit_compile=True`).

    Without TensorFlow's private graph utilities this answers True: callers then take the path that is safe
    under XLA.
    """
    try:
        from tensorflow.python.framework import ops as tf_ops
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # pragma: no cover - a TensorFlow without these internals
        return True
    return bool(control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph()))


def output_spec(function, *specs):
    """What `function` returns for the symbolic tensors `specs` (`keras.KerasTensor`s): one traced call.

    Keras's `compute_output_spec` traces with the backend's own placeholder tensors, so the function may use the
    backend's ops as well as `keras.ops`; without it, the function is called on the `KerasTensor`s themselves,
    which only `keras.ops` understand.
    """
    try:
        from keras.src.backend import compute_output_spec
    except ImportError:  # pragma: no cover - depends on the installed Keras
        return function(*specs)
    return compute_output_spec(function, *specs)


def torch_exporting():
    """Whether PyTorch is tracing the current code for an export: `torch.onnx.export` (its TorchScript exporter,
    which Keras's `format="onnx"` runs when the batch size is not fixed) or `torch.export` (its newer ONNX
    exporter, and `format="torch"`). All three questions are public."""
    import torch

    if torch.onnx.is_in_onnx_export() or torch.jit.is_tracing():
        return True
    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and hasattr(compiler, "is_exporting") and compiler.is_exporting())


def jax_exporting():
    """Whether jax2onnx or jax2tf is converting the current trace (Keras's ONNX and SavedModel exports on JAX).

    Neither says so in public; each keeps a state while it converts: jax2onnx the patches it applies to JAX for
    the conversion (`_PATCH_STATE`, empty outside it), jax2tf a list of the TensorFlow functions a conversion
    calls (None outside it). Only modules already imported are read (an export imports them). Where either
    moved, this answers False: a kernel that cannot be exported then fails the export with the exporter's error.
    """
    import sys

    plugin_system = sys.modules.get("jax2onnx.plugins.plugin_system")
    if getattr(plugin_system, "_PATCH_STATE", None):
        return True
    jax2tf = sys.modules.get("jax.experimental.jax2tf.jax2tf")
    state = getattr(jax2tf, "_thread_local_state", None)
    return getattr(state, "call_tf_concrete_function_list", None) is not None
