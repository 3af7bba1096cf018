"""Which fused path may run: every eligibility rule, once, in one list.

A *fused path* runs both directions of a `Bidirectional` layer together instead of as two separate layers:
Keras's own fused kernel (cuDNN, on a GPU), one of bidirlib's CPU fast paths, or the two layers on two devices.
Each rule checks one condition on a call's plan (`bidirlib.plan.CallPlan`) and returns `None` when it holds, or
why not, in a sentence. A rule names the *gates* it belongs to; a gate is a group of conditions that a path, or
the cuDNN report, must pass. This module holds the gates several paths share; a kernel's own conditions are
rules of the same list, written in the kernel's module (`bidirlib.fused.registry` loads them in order).
`first_failure(plan, gates, title)` and `failures(...)` read the rules of the given gates in list order; `title`
names the kernel in the messages that need it.
"""

import dataclasses

import keras

from bidirlib import keras_internals
from bidirlib.fused import lengths

# ---------------------------------------------------------------------- the shared gates

#: Every two-direction kernel (Keras's and bidirlib's): one plain LSTM or GRU pair such a kernel can run.
FUSED = "fused"
#: Every one of bidirlib's CPU fast paths.
FAST = "fast"
#: The two layers on two devices (`bidirlib.fused.direction_parallel`), where a direction mesh is given or set.
DIRECTION_PARALLEL = "direction_parallel"
#: cuDNN's fixed LSTM and GRU, judged on one layer's settings (`cudnn_eligibility`).
CUDNN = "cudnn"
#: The standard activations (tanh, sigmoid) that cuDNN and the C++ kernels hard-code.
STANDARD_ACTIVATIONS = "standard_activations"
#: What Keras needs before it hands an LSTM or GRU to cuDNN: `use_cudnn` allowed, a bias.
CUDNN_SETTINGS = "cudnn_settings"
#: A GRU that resets after the matrix product, as cuDNN's and PyTorch's GRU do.
GRU_RESETS_AFTER = "gru_resets_after"
#: Not inside `torch.compile`, which cannot trace PyTorch's fused RNN ops.
NOT_UNDER_TORCH_COMPILE = "not_under_torch_compile"
#: Kernels that take no mask at all (Keras's fused kernels, BlockLSTM, the two layers on two devices).
NO_MASK = "no_mask"
#: Kernels that take a mask as sequence lengths: a right-padded one (`bidirlib.fused.lengths`). The stacked loop
#: takes any mask, and is in none of these gates.
RIGHT_PADDED_MASK = "right_padded_mask"
#: Kernels that read the mask's values when they are chosen, so not while a call is traced (PyTorch's packs them).
KNOWN_MASK = "known_mask"
#: cuDNN kernels that bidirlib runs for a masked call on a GPU, where Keras's fused kernel takes no mask.
MASKED_ON_A_GPU = "masked_on_a_gpu"

#: The gates of the cuDNN report (`cudnn_eligibility`), and the title its messages use.
CUDNN_REPORT = (CUDNN, CUDNN_SETTINGS, STANDARD_ACTIVATIONS, GRU_RESETS_AFTER)
CUDNN_TITLE = "cuDNN"


@dataclasses.dataclass(frozen=True)
class Rule:
    """One condition: `check(plan, title)` returns None when it holds, else why not. `gates` are the groups it
    belongs to. A failing `decisive` rule ends the reading of its gates (the rules after it could not be
    checked)."""

    gates: frozenset
    check: object
    decisive: bool = False


#: The list, in the order the rules are read.
RULES = []


def rule(*gates, decisive=False):
    """Add the decorated check to `RULES`, in the gates `gates`."""

    def add(check):
        RULES.append(Rule(frozenset(gates), check, decisive))
        return check

    return add


def failures(plan, gates, title=""):
    """Every reason, in list order, why the conditions of `gates` do not hold for `plan` (empty when they do)."""
    reasons = []
    for entry in RULES:
        if entry.gates.isdisjoint(gates):
            continue
        reason = entry.check(plan, title)
        if reason is not None:
            reasons.append(reason)
            if entry.decisive:
                break
    return reasons


def first_failure(plan, gates, title=""):
    """The first reason why the conditions of `gates` do not hold for `plan`, or None when they all do."""
    for entry in RULES:
        if not entry.gates.isdisjoint(gates):
            reason = entry.check(plan, title)
            if reason is not None:
                return reason
    return None


def is_activation(function, name):
    """Whether `function` is Keras's activation `name` (by identity or by its function name)."""
    return function is keras.activations.get(name) or getattr(function, "__name__", None) == name


def _activation_name(function):
    return keras.activations.serialize(function)


# ---------------------------------------------------------------------- every fused path


@rule(FUSED, DIRECTION_PARALLEL)
def _setting_allows(plan, title):
    return plan.off_because if plan.setting == "off" else None


@rule(FUSED, DIRECTION_PARALLEL)
def _not_stateful(plan, title):
    return "the layer is stateful" if plan.stateful else None


@rule(FUSED, decisive=True)
def _plain_pair(plan, title):
    if plan.kind is None:
        return "the two directions are not both plain LSTM or both plain GRU"
    return None


@rule(FUSED)
def _state_count_fits(plan, title):
    state = plan.forward_state
    if state is not None and len(state) != len(plan.forward.state_size):
        return "initial_state does not fit the fused kernel"
    return None


@rule(FUSED)
def _forward_reads_forwards(plan, title):
    # A fused path reads forwards in the first direction; a swapped pair would give other numbers.
    if plan.forward.go_backwards or not plan.backward.go_backwards:
        return "the forward layer reads backwards (go_backwards is swapped)"
    return None


@rule(FUSED)
def _same_units(plan, title):
    forward, backward = plan.cells[0], plan.cells[-1]
    return "the two directions have different units" if forward.units != backward.units else None


@rule(FUSED)
def _same_activations(plan, title):
    forward, backward = plan.cells[0], plan.cells[-1]
    if forward.activation is not backward.activation or forward.recurrent_activation is not backward.recurrent_activation:
        return "the two directions have different activations"
    return None


@rule(FUSED, DIRECTION_PARALLEL)
def _built(plan, title):
    return "the layers are not built yet" if not (plan.forward.built and plan.backward.built) else None


# ---------------------------------------------------------------------- masks


@rule(NO_MASK, DIRECTION_PARALLEL)
def _no_mask(plan, title):
    return "a mask was given" if plan.mask is not None else None


@rule(KNOWN_MASK)
def _mask_values_known(plan, title):
    if plan.mask_layout.kind == lengths.VALUES_UNKNOWN:
        return (
            "the mask's values are not known while the call is traced (torch.compile, jit, tf.function), so "
            "whether it is right-padded cannot be checked"
        )
    return None


@rule(RIGHT_PADDED_MASK)
def _mask_right_padded(plan, title):
    if plan.mask_layout.kind == lengths.NOT_RIGHT_PADDED:
        return "the mask is not right-padded (a row has a hole or starts with padding)"
    return None


@rule(MASKED_ON_A_GPU)
def _for_masked_calls(plan, title):
    # Without a mask, Keras's own fused kernel runs the call on a GPU: these kernels are for masked ones.
    return None if plan.mask is not None else "it runs masked calls only (Keras's kernel runs the others)"


@rule(MASKED_ON_A_GPU)
def _on_a_gpu(plan, title):
    return None if on_accelerator(plan.sequences) else "it runs on a GPU only"


@rule(MASKED_ON_A_GPU)
def _no_dropout_at_all(plan, title):
    # As Keras's fused kernels: cuDNN's dropout is between layers, not on a layer's inputs.
    return "dropout is set" if any(c.dropout or c.recurrent_dropout for c in plan.cells) else None


# ---------------------------------------------------------------------- bidirlib's CPU fast paths, together


@rule(FAST, DIRECTION_PARALLEL)
def _no_dropout_in_training(plan, title):
    training_on = plan.training is not None and plan.training is not False
    # Read with getattr: direction parallelism checks this on any RNN, whose cell may have no dropout at all.
    cells = [getattr(layer, "cell", None) for layer in plan.layers]
    if training_on and any(getattr(c, "dropout", 0) or getattr(c, "recurrent_dropout", 0) for c in cells):
        return "dropout is set and training is on"
    return None


@rule(FAST)
def _same_reset_after(plan, title):
    if plan.kind == "gru" and len({c.reset_after for c in plan.cells}) > 1:
        return "the two directions differ in reset_after"
    return None


@rule(FAST)
def _same_use_bias(plan, title):
    if len({c.use_bias for c in plan.cells}) > 1:
        return "one direction has a bias and the other has not"
    return None


@rule(FAST)
def _same_compute_dtype(plan, title):
    if len({str(c.compute_dtype) for c in plan.cells}) > 1:
        return "the two directions compute in different dtypes"
    return None


@rule(FAST)
def _on_the_cpu(plan, title):
    if on_accelerator(plan.sequences):
        return "bidirlib's fast paths are for the CPU; on a GPU each direction runs its own kernel"
    return None


# ---------------------------------------------------------------------- cuDNN's settings, and what kernels share


@rule(CUDNN, decisive=True)
def _cudnn_layer_type(plan, title):
    layer = plan.forward
    if not isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
        return f"it is a {type(layer).__name__} layer, and cuDNN has only LSTM and GRU"
    return None


@rule(CUDNN_SETTINGS)
def _use_cudnn_allowed(plan, title):
    if any(getattr(layer, "use_cudnn", "auto") not in (True, "auto") for layer in plan.layers):
        return "use_cudnn is False"
    return None


@rule(STANDARD_ACTIVATIONS)
def _tanh_activation(plan, title):
    for cell in plan.cells:
        if not is_activation(cell.activation, "tanh"):
            return f"activation is {_activation_name(cell.activation)}, {title} needs tanh"
    return None


@rule(STANDARD_ACTIVATIONS)
def _sigmoid_recurrent_activation(plan, title):
    for cell in plan.cells:
        if not is_activation(cell.recurrent_activation, "sigmoid"):
            name = _activation_name(cell.recurrent_activation)
            return f"recurrent_activation is {name}, {title} needs sigmoid"
    return None


@rule(CUDNN)
def _rolled_loop(plan, title):
    return "unroll is True, cuDNN runs a rolled loop" if any(layer.unroll for layer in plan.layers) else None


@rule(CUDNN_SETTINGS)
def _has_bias(plan, title):
    return "use_bias is False" if not all(c.use_bias for c in plan.cells) else None


@rule(CUDNN)
def _no_recurrent_dropout(plan, title):
    for cell in plan.cells:
        if cell.recurrent_dropout:
            return f"recurrent_dropout is {cell.recurrent_dropout}, cuDNN has none"
    return None


@rule(GRU_RESETS_AFTER)
def _gru_resets_after(plan, title):
    gru = all(isinstance(layer, keras.layers.GRU) for layer in plan.layers)
    if gru and not all(c.reset_after for c in plan.cells):
        return f"reset_after is False, and {title}'s GRU resets after the matrix product"
    return None


@rule(NOT_UNDER_TORCH_COMPILE)
def _not_under_torch_compile(plan, title):
    # torch.compile (Keras's jit_compile=True on PyTorch) cannot trace PyTorch's fused RNN ops. torch.export (the
    # ONNX export with a fixed batch size) compiles too: say which one it is.
    if keras_internals.torch_compiling():
        if keras_internals.torch_exporting():
            return f"{title} steps aside while torch.export traces the model for an export"
        return "PyTorch's kernels are not used inside torch.compile (jit_compile=True)"
    return None


# ---------------------------------------------------------------------- where the computation runs


def on_accelerator(sequences):
    """Whether a computation on `sequences` runs on a GPU (or another accelerator) rather than the CPU.

    A PyTorch tensor says where it is, and PyTorch's default device otherwise (Keras has no device list for
    PyTorch); on TensorFlow and JAX, whether `keras.distribution.list_devices()` holds any device but a CPU.
    """
    if keras.backend.backend() == "torch":
        device = getattr(sequences, "device", None)
        if hasattr(device, "type"):  # a torch tensor
            return device.type != "cpu"
        return keras_internals.torch_default_device() != "cpu"
    try:
        devices = keras.distribution.list_devices()
    except Exception:  # pragma: no cover - a backend we cannot ask: assume a CPU
        return False
    return any(not device.lower().startswith("cpu") for device in devices)
