"""Which fused path may run: every eligibility rule, once, in one table.

A *fused path* runs both directions of a `Bidirectional` layer together instead of as two separate layers:
Keras's own fused kernel (cuDNN, on a GPU), or one of bidirlib's CPU fast paths. Each rule below checks one
condition on the layers and the call at hand and returns `None` when it holds, or why not, in a sentence. A
rule names the *gates* it belongs to (a path, or a group of paths); `first_failure(gate, facts)` and
`failures(gate, facts)` read the rules of a gate in table order. The wrapper's dispatch, the cuDNN report
(`cudnn_eligibility`) and the CPU fast paths all read this one table.
"""

import dataclasses
import os

import keras

from bidirlib import keras_internals

# ---------------------------------------------------------------------- the gates

#: Every fused path: the two directions must be one plain LSTM or GRU pair that a two-direction kernel can run.
FUSED = "fused"
#: Keras's fused two-direction kernel, tried where `keras.layers.Bidirectional` tries it.
KERAS_KERNEL = "keras_kernel"
#: cuDNN's fixed LSTM and GRU, judged on one layer's settings (`cudnn_eligibility`).
CUDNN = "cudnn"
#: Every one of bidirlib's CPU fast paths.
FAST = "fast"
#: PyTorch's own bidirectional LSTM/GRU kernel (`torch.lstm`, `torch.gru`).
TORCH_KERNEL = "torch_kernel"
#: TensorFlow's `BlockLSTM` sequence kernel, once per direction.
TF_BLOCK_LSTM = "tf_block_lstm"
#: The stacked loop (`bidirlib.fused.stacked`), where the "auto" setting picks it.
STACKED = "stacked"
#: The two layers on two devices (`bidirlib.fused.direction_parallel`), where a direction mesh is given or set.
DIRECTION_PARALLEL = "direction_parallel"

#: How a rule's message names the kernel a gate stands for.
KERNEL_NAMES = {
    CUDNN: "cuDNN",
    KERAS_KERNEL: "Keras's fused kernel",
    TORCH_KERNEL: "PyTorch's kernel",
    TF_BLOCK_LSTM: "TensorFlow's BlockLSTM kernel",
}

# ---------------------------------------------------------------------- the setting

#: The environment variable that sets the fused path for every layer.
ENVIRONMENT_VARIABLE = "BIDIRLIB_FUSED_PATH"
#: The values of the setting, as a layer's `fused_path` and as the environment variable. "auto" (the default)
#: runs a fused path where one was measured faster; "stacked" forces the stacked loop on every backend (to test
#: or compare it); "off" always runs the two directions as separate layers.
FUSED_PATH_MODES = ("auto", "stacked", "off")


def validate_fused_path(value, argument="fused_path"):
    """Return `value` if it is one of `FUSED_PATH_MODES`, else raise a `ValueError` naming `argument`."""
    if not (isinstance(value, str) and value in FUSED_PATH_MODES):
        raise ValueError(
            f"`{argument}` must be one of {FUSED_PATH_MODES}. Received: {argument}={value!r}."
        )
    return value


def environment_setting():
    """The setting of `BIDIRLIB_FUSED_PATH`: "auto" (also when unset), "stacked" or "off".

    Example:

    >>> import os
    >>> from bidirlib.fused import environment_setting
    >>> os.environ.pop("BIDIRLIB_FUSED_PATH", None) and None
    >>> environment_setting()
    'auto'
    """
    value = os.environ.get(ENVIRONMENT_VARIABLE, "auto").strip().lower() or "auto"
    if value in ("0", "false", "no"):
        value = "off"
    if value not in FUSED_PATH_MODES:
        raise ValueError(
            f"The environment variable {ENVIRONMENT_VARIABLE} must be one of {FUSED_PATH_MODES}. "
            f"Received: {value!r}."
        )
    return value


def effective_setting(layer_setting):
    """The setting a call runs under: "off" if the layer or the environment says "off", else "stacked" if
    either says "stacked", else "auto"."""
    settings = (layer_setting, environment_setting())
    for value in ("off", "stacked"):
        if value in settings:
            return value
    return "auto"


# ---------------------------------------------------------------------- limits measured for BlockLSTM

#: On TensorFlow, BlockLSTM is picked only for a small LSTM, whose weight matrix `(features + units) x 4 units`
#: holds at most this many numbers (its training step lost at every size with 81,920 or more)...
BLOCK_LSTM_MAX_WEIGHTS = 2**16
#: ...and at most this many multiply-adds per step and direction (batch x weights). In a sweep of batch 8-256,
#: units 32-128 and features 32-128 (`bench/sweep_block_lstm.py`), these two limits kept BlockLSTM out of
#: every case where its training step was slower than the two layers', and left it out of one where it
#: was faster.
BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS = 2**20


def step_multiply_adds(batch, features, units):
    """Multiply-adds of one LSTM step in one direction: `batch x (features + units) x 4 units`.

    Example:

    >>> from bidirlib.fused import step_multiply_adds
    >>> step_multiply_adds(32, 32, 64)  # the tutorial size: 32 sequences, 32 features, 64 units
    786432
    """
    return batch * (features + units) * 4 * units


# ---------------------------------------------------------------------- what the rules look at


@dataclasses.dataclass(frozen=True)
class Facts:
    """What the rules look at: the layers (a forward and backward pair, or one layer for a report) and,
    for a call, its inputs and settings."""

    layers: tuple
    sequences: object = None
    mask: object = None
    forward_state: object = None
    stateful: bool = False
    training: object = None
    layer_setting: str = "auto"
    direction_mesh: object = None

    @property
    def forward(self):
        return self.layers[0]

    @property
    def backward(self):
        return self.layers[-1]

    @property
    def cells(self):
        return tuple(layer.cell for layer in self.layers)

    @property
    def kind(self):
        """"lstm" or "gru" when every layer is a plain LSTM or every one a plain GRU, else None."""
        kinds = {keras.layers.LSTM: "lstm", keras.layers.GRU: "gru"}
        found = {kinds.get(type(layer)) for layer in self.layers}
        return found.pop() if len(found) == 1 else None

    @property
    def backend(self):
        return keras.backend.backend()


@dataclasses.dataclass(frozen=True)
class Rule:
    """One condition: `check(facts, gate)` returns None when it holds, else why not. `gates` are the paths it
    gates. A failing `decisive` rule ends the reading of its gate (the rules after it could not be checked)."""

    gates: frozenset
    check: object
    decisive: bool = False


#: The table, in the order the rules are read.
RULES = []


def rule(*gates, decisive=False):
    """Add the decorated check to `RULES`, gating `gates`."""

    def add(check):
        RULES.append(Rule(frozenset(gates), check, decisive))
        return check

    return add


def failures(gate, facts):
    """Every reason, in table order, why `gate`'s conditions do not hold for `facts` (empty when they do)."""
    reasons = []
    for entry in RULES:
        if gate not in entry.gates:
            continue
        reason = entry.check(facts, gate)
        if reason is not None:
            reasons.append(reason)
            if entry.decisive:
                break
    return reasons


def first_failure(gate, facts):
    """The first reason why `gate`'s conditions do not hold for `facts`, or None when they all do."""
    for entry in RULES:
        if gate in entry.gates:
            reason = entry.check(facts, gate)
            if reason is not None:
                return reason
    return None


def is_activation(function, name):
    """Whether `function` is Keras's activation `name` (by identity or by its function name)."""
    return function is keras.activations.get(name) or getattr(function, "__name__", None) == name


def _activation_name(function):
    return keras.activations.serialize(function)


# ---------------------------------------------------------------------- the table: every fused path


@rule(FUSED, DIRECTION_PARALLEL)
def _setting_allows(facts, gate):
    if facts.layer_setting == "off":
        return "fused_path is 'off'"
    if environment_setting() == "off":
        return f"the environment variable {ENVIRONMENT_VARIABLE} is 'off'"
    return None


@rule(FUSED, DIRECTION_PARALLEL)
def _no_mask(facts, gate):
    return "a mask was given" if facts.mask is not None else None


@rule(FUSED, DIRECTION_PARALLEL)
def _not_stateful(facts, gate):
    return "the layer is stateful" if facts.stateful else None


@rule(FUSED, decisive=True)
def _plain_pair(facts, gate):
    if facts.kind is None:
        return "the two directions are not both plain LSTM or both plain GRU"
    return None


@rule(FUSED)
def _state_count_fits(facts, gate):
    state = facts.forward_state
    if state is not None and len(state) != len(facts.forward.state_size):
        return "initial_state does not fit the fused kernel"
    return None


@rule(FUSED)
def _forward_reads_forwards(facts, gate):
    # A fused path reads forwards in the first direction; a swapped pair would give other numbers.
    if facts.forward.go_backwards or not facts.backward.go_backwards:
        return "the forward layer reads backwards (go_backwards is swapped)"
    return None


@rule(FUSED)
def _same_units(facts, gate):
    forward, backward = (layer.cell for layer in (facts.forward, facts.backward))
    return "the two directions have different units" if forward.units != backward.units else None


@rule(FUSED)
def _same_activations(facts, gate):
    forward, backward = (layer.cell for layer in (facts.forward, facts.backward))
    if forward.activation is not backward.activation or forward.recurrent_activation is not backward.recurrent_activation:
        return "the two directions have different activations"
    return None


@rule(FUSED, DIRECTION_PARALLEL)
def _built(facts, gate):
    return "the layers are not built yet" if not (facts.forward.built and facts.backward.built) else None


# ---------------------------------------------------------------------- bidirlib's CPU fast paths, together


@rule(FAST, DIRECTION_PARALLEL)
def _no_dropout_in_training(facts, gate):
    training_on = facts.training is not None and facts.training is not False
    # Read with getattr: direction parallelism checks this on any RNN, whose cell may have no dropout at all.
    cells = [getattr(layer, "cell", None) for layer in facts.layers]
    if training_on and any(getattr(c, "dropout", 0) or getattr(c, "recurrent_dropout", 0) for c in cells):
        return "dropout is set and training is on"
    return None


@rule(FAST)
def _same_reset_after(facts, gate):
    if facts.kind == "gru" and len({c.reset_after for c in facts.cells}) > 1:
        return "the two directions differ in reset_after"
    return None


@rule(FAST)
def _same_use_bias(facts, gate):
    if len({c.use_bias for c in facts.cells}) > 1:
        return "one direction has a bias and the other has not"
    return None


@rule(FAST)
def _same_compute_dtype(facts, gate):
    if len({str(c.compute_dtype) for c in facts.cells}) > 1:
        return "the two directions compute in different dtypes"
    return None


@rule(FAST)
def _on_the_cpu(facts, gate):
    if on_accelerator(facts.sequences):
        return "bidirlib's fast paths are for the CPU; on a GPU each direction runs its own kernel"
    return None


# ---------------------------------------------------------------------- direction parallelism


@rule(DIRECTION_PARALLEL, decisive=True)
def _direction_mesh_given(facts, gate):
    if facts.direction_mesh is None:
        return "no device mesh with a 'direction' axis is given or set"
    return None


@rule(DIRECTION_PARALLEL)
def _direction_parallel_on_jax(facts, gate):
    backend = facts.backend
    if backend != "jax":
        return f"the directions are split over devices on JAX only, not on {backend}"
    return None


@rule(DIRECTION_PARALLEL, decisive=True)
def _direction_pair_is_rnn(facts, gate):
    # Each device runs its layer's own code; an RNN layer's outputs and states have known shapes.
    for layer in facts.layers:
        if not isinstance(layer, keras.layers.RNN):
            return f"the directions are split over devices for RNN layers, and one is a {type(layer).__name__}"
    return None


@rule(DIRECTION_PARALLEL)
def _direction_outputs_alike(facts, gate):
    # The two devices' results are stacked on one axis: they must have the same shapes.
    shapes = [layer.compute_output_shape(tuple(facts.sequences.shape)) for layer in facts.layers]
    if shapes[0] != shapes[1]:
        return "the two directions' outputs differ in shape, and cannot be stacked over the two devices"
    return None


# ---------------------------------------------------------------------- the kernels, one condition at a time


@rule(CUDNN, decisive=True)
def _cudnn_layer_type(facts, gate):
    layer = facts.forward
    if not isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
        return f"it is a {type(layer).__name__} layer, and cuDNN has only LSTM and GRU"
    return None


@rule(TF_BLOCK_LSTM)
def _tf_block_is_an_lstm(facts, gate):
    if facts.kind == "gru":
        return "on TensorFlow, a GRU's two loops, which run at the same time, measured fastest"
    return None


@rule(KERAS_KERNEL)
def _keras_has_the_kernel(facts, gate):
    if keras_internals.fused_bidirectional_kernel("lstm") is None:
        return "this Keras version has no fused bidirectional kernels"
    return None


@rule(KERAS_KERNEL, CUDNN)
def _use_cudnn_allowed(facts, gate):
    if any(getattr(layer, "use_cudnn", "auto") not in (True, "auto") for layer in facts.layers):
        return "use_cudnn is False"
    return None


@rule(KERAS_KERNEL)
def _no_dropout(facts, gate):
    # Keras's wrapper tries its fused kernel only without any dropout.
    if any(c.dropout or c.recurrent_dropout for c in facts.cells):
        return "dropout is set"
    return None


@rule(CUDNN, TORCH_KERNEL, TF_BLOCK_LSTM)
def _tanh_activation(facts, gate):
    for cell in facts.cells:
        if not is_activation(cell.activation, "tanh"):
            return f"activation is {_activation_name(cell.activation)}, {KERNEL_NAMES[gate]} needs tanh"
    return None


@rule(CUDNN, TORCH_KERNEL, TF_BLOCK_LSTM)
def _sigmoid_recurrent_activation(facts, gate):
    for cell in facts.cells:
        if not is_activation(cell.recurrent_activation, "sigmoid"):
            name = _activation_name(cell.recurrent_activation)
            return f"recurrent_activation is {name}, {KERNEL_NAMES[gate]} needs sigmoid"
    return None


@rule(CUDNN)
def _rolled_loop(facts, gate):
    return "unroll is True, cuDNN runs a rolled loop" if any(layer.unroll for layer in facts.layers) else None


@rule(KERAS_KERNEL, CUDNN)
def _has_bias(facts, gate):
    return "use_bias is False" if not all(c.use_bias for c in facts.cells) else None


@rule(CUDNN)
def _no_recurrent_dropout(facts, gate):
    for cell in facts.cells:
        if cell.recurrent_dropout:
            return f"recurrent_dropout is {cell.recurrent_dropout}, cuDNN has none"
    return None


@rule(KERAS_KERNEL, CUDNN, TORCH_KERNEL)
def _gru_resets_after(facts, gate):
    gru = all(isinstance(layer, keras.layers.GRU) for layer in facts.layers)
    if gru and not all(c.reset_after for c in facts.cells):
        return f"reset_after is False, and {KERNEL_NAMES[gate]}'s GRU resets after the matrix product"
    return None


@rule(TORCH_KERNEL, STACKED)
def _not_under_torch_compile(facts, gate):
    # torch.compile (Keras's jit_compile=True on PyTorch) cannot trace PyTorch's fused RNN ops.
    if keras_internals.torch_compiling():
        return "PyTorch's kernels are not used inside torch.compile (jit_compile=True)"
    return None


@rule(TORCH_KERNEL)
def _torch_dtype(facts, gate):
    dtype = str(facts.forward.cell.compute_dtype)
    if dtype not in ("float32", "float64"):
        return f"PyTorch's kernel is used for float32 and float64 only, not {dtype}"
    return None


@rule(TF_BLOCK_LSTM)
def _tf_float32(facts, gate):
    dtype = str(facts.forward.cell.compute_dtype)
    if dtype != "float32":
        return f"TensorFlow's BlockLSTM kernel is used for float32 only, not {dtype}"
    return None


@rule(TF_BLOCK_LSTM)
def _tf_not_under_xla(facts, gate):
    if keras_internals.tf_in_xla_function():
        return "TensorFlow's BlockLSTM kernel cannot run in an XLA-compiled function (jit_compile=True)"
    return None


@rule(TF_BLOCK_LSTM, decisive=True)
def _tf_batch_known(facts, gate):
    batch, features = facts.sequences.shape[0], facts.sequences.shape[-1]
    if batch is None or features is None:
        return "on TensorFlow, BlockLSTM is picked by the batch size, which is unknown where the call is traced"
    return None


@rule(TF_BLOCK_LSTM)
def _tf_block_weights_small(facts, gate):
    features, units = facts.sequences.shape[-1], facts.forward.cell.units
    weights = (features + units) * 4 * units
    if weights > BLOCK_LSTM_MAX_WEIGHTS:
        return (
            f"on TensorFlow with {weights:,} numbers in a direction's weights (over {BLOCK_LSTM_MAX_WEIGHTS:,}), "
            "the two layers' loops measured faster than BlockLSTM"
        )
    return None


@rule(TF_BLOCK_LSTM)
def _tf_block_step_small(facts, gate):
    batch, features = facts.sequences.shape[0], facts.sequences.shape[-1]
    work = step_multiply_adds(batch, features, facts.forward.cell.units)
    if work > BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS:
        return (
            f"on TensorFlow at {work:,} multiply-adds a step (over {BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS:,}), "
            "the two layers' loops measured faster than BlockLSTM"
        )
    return None


@rule(STACKED)
def _stacked_pays(facts, gate):
    # The stacked loop halves the operations per step; that pays in PyTorch's eager mode while gradients are
    # recorded, and nowhere else it was measured.
    import torch

    if not torch.is_grad_enabled():
        return "on PyTorch without gradients, the stacked loop measured no faster than two loops at larger sizes"
    return None


# ---------------------------------------------------------------------- where the computation runs


def on_accelerator(sequences):
    """Whether a computation on `sequences` runs on a GPU (or another accelerator) rather than the CPU."""
    backend = keras.backend.backend()
    try:
        if backend == "torch":
            device = getattr(sequences, "device", None)
            if hasattr(device, "type"):  # a torch tensor
                return device.type != "cpu"
            return keras_internals.torch_default_device() != "cpu"
        if backend == "jax":
            import jax

            return jax.default_backend() != "cpu"
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_logical_devices("GPU"))
    except Exception:  # pragma: no cover - a backend we cannot ask: assume a CPU
        return False
    return False
