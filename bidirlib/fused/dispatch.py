"""The one dispatch: which path runs a `Bidirectional` call, tried in one order, and why.

For each call, `run_fused` reads the rules of `bidirlib.fused.rules` and tries, in this order:

0. where a device mesh with a `"direction"` axis is given or set (on JAX), the two layers on two devices at
   once (`direction_parallel`; `bidirlib.fused.direction_parallel`): asked for, so tried first, and for any
   pair of RNN layers, not only LSTM and GRU;
1. Keras's own fused kernel (cuDNN, on a GPU), exactly where `keras.layers.Bidirectional` tries it;
2. bidirlib's CPU fast path for the backend, each one measured (`bench/bench_bidirectional.py`) against the two
   separate layers and kept only where it was faster:

   - PyTorch: PyTorch's own bidirectional kernel (`torch_lstm`, `torch_gru`: what `nn.LSTM` runs, its loop in
     C++) for the standard cells; for other cells, while gradients are recorded, the stacked loop
     (`stacked_lstm`, `stacked_gru`), which halves the operations per step;
   - TensorFlow: for a small standard LSTM (`BLOCK_LSTM_MAX_WEIGHTS`, `BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS`),
     TensorFlow's `BlockLSTM` kernel once per direction (`tf_block_lstm`). For larger LSTMs and for GRUs the two
     separate layers, which TensorFlow also runs at the same time, measured faster;
   - JAX: none. XLA compiles each layer's loop into tight code whose time is arithmetic, so a stacked loop,
     doing the same arithmetic, measured no faster.

When none applies, the wrapper runs the two directions as separate layers (`"separate"`). Every fused path
computes the numbers of the two layers (to rounding, well within 1e-5).

The setting is one concept with one name: a layer's `fused_path` argument and attribute, and the environment
variable `BIDIRLIB_FUSED_PATH` for every layer, each "auto" (the default), "stacked" (the stacked loop on every
backend, to test or compare it) or "off". After a call, the layer's `last_call_path` names the path that ran,
as the names above, and `last_fused_fallback` says why no fused path did.
"""

import dataclasses

from keras import ops

from bidirlib.fused import rules
from bidirlib.fused.direction_parallel import find_direction_mesh, run_direction_parallel
from bidirlib.fused.keras_kernel import KernelUnavailable, run_keras_kernel
from bidirlib.fused.stacked import stacked_loop
from bidirlib.fused.tf_block_lstm import run_tf_block_lstm
from bidirlib.fused.torch_kernel import run_torch_kernel

#: The path reported when the two directions ran as separate layers.
SEPARATE = "separate"
#: The path reported when the two directions ran on two devices at once.
DIRECTION_PARALLEL = "direction_parallel"

#: bidirlib's CPU fast paths worth trying, per backend and kind, in order.
CANDIDATES = {
    ("torch", "lstm"): ("torch_lstm", "stacked_lstm"),
    ("torch", "gru"): ("torch_gru", "stacked_gru"),
    ("tensorflow", "lstm"): ("tf_block_lstm",),
}

#: Why a backend has no fast path for a kind (where `CANDIDATES` has none).
NO_CANDIDATE = {
    ("tensorflow", "gru"): "on TensorFlow, a GRU's two loops, which run at the same time, measured fastest",
    ("jax", "lstm"): "on JAX, a stacked loop measured no faster than the two layers' compiled loops",
    ("jax", "gru"): "on JAX, a stacked loop measured no faster than the two layers' compiled loops",
}

#: The gate of the rules table each path must pass.
GATES = {
    "fused_lstm": rules.KERAS_KERNEL,
    "fused_gru": rules.KERAS_KERNEL,
    "torch_lstm": rules.TORCH_KERNEL,
    "torch_gru": rules.TORCH_KERNEL,
    "tf_block_lstm": rules.TF_BLOCK_LSTM,
    "stacked_lstm": rules.STACKED,
    "stacked_gru": rules.STACKED,
    "direction_parallel": rules.DIRECTION_PARALLEL,
}


@dataclasses.dataclass(frozen=True)
class FusedCall:
    """One call of a `Bidirectional` layer, as the fused paths see it."""

    forward_layer: object
    backward_layer: object
    sequences: object
    forward_state: object = None
    backward_state: object = None
    mask: object = None
    training: object = None
    stateful: bool = False
    return_sequences: bool = False
    setting: str = "auto"
    #: The layer's own `direction_mesh` (None: the distribution's, where it has a "direction" axis).
    direction_mesh: object = None

    def facts(self):
        return rules.Facts(
            layers=(self.forward_layer, self.backward_layer),
            sequences=self.sequences,
            mask=self.mask,
            forward_state=self.forward_state,
            stateful=self.stateful,
            training=self.training,
            layer_setting=self.setting,
            direction_mesh=find_direction_mesh(self.direction_mesh)[0],
        )


@dataclasses.dataclass(frozen=True)
class FusedOutcome:
    """What `run_fused` did: the `path` taken (`"separate"` when none), `reason` (why no fused path ran, or
    None) and, for a fused path, `outputs` = `(y_forward, y_backward, forward_states, backward_states)`."""

    path: str
    reason: object = None
    outputs: object = None


def choose_fast_path(call):
    """The CPU fast path for `call`, as `(path, None)`, or `(None, why there is none)`.

    The rules of every fused path (`rules.FUSED`) are assumed to hold; `run_fused` checks them first.

    Example:

    >>> import numpy as np, keras
    >>> from bidirlib.fused import FusedCall, choose_fast_path
    >>> forward = keras.layers.GRU(4, dropout=0.5)
    >>> backward = keras.layers.GRU(4, dropout=0.5, go_backwards=True)
    >>> x = np.zeros((2, 3, 5), "float32")
    >>> choose_fast_path(FusedCall(forward, backward, x, training=True))
    (None, 'dropout is set and training is on')
    """
    facts = call.facts()
    reason = rules.first_failure(rules.FAST, facts)
    if reason is not None:
        return None, reason
    kind, backend = facts.kind, facts.backend
    if rules.effective_setting(call.setting) == "stacked":
        return f"stacked_{kind}", None
    candidates = CANDIDATES.get((backend, kind), ())
    if not candidates:
        return None, NO_CANDIDATE.get((backend, kind), f"no fast path for the {backend} backend")
    for path in candidates:
        reason = rules.first_failure(GATES[path], facts)
        if reason is None:
            return path, None
    return None, reason


def run_fused(call):
    """Run `call` on the first fused path that can take it, or say why none can.

    Returns:
        A `FusedOutcome`. With `path == "separate"` nothing ran: the caller runs the two layers.
    """
    facts = call.facts()
    # 0. The two layers on two devices, where a direction mesh is given or set.
    direction_reason = None
    if facts.direction_mesh is not None:
        direction_reason = rules.first_failure(rules.DIRECTION_PARALLEL, facts)
        if direction_reason is None:
            return FusedOutcome(DIRECTION_PARALLEL, None, direction_parallel_outputs(call))

    reason = rules.first_failure(rules.FUSED, facts)
    if reason is not None:
        return FusedOutcome(SEPARATE, _joined(direction_reason, reason))
    kind = facts.kind

    # 1. Keras's fused kernel.
    keras_reason = rules.first_failure(rules.KERAS_KERNEL, facts)
    if keras_reason is None:
        sequences = ops.convert_to_tensor(call.sequences)
        states = initial_states(call, kind, sequences.dtype, cast=False)
        try:
            outputs = run_keras_kernel(
                kind, call.forward_layer, call.backward_layer, sequences, states, call.return_sequences
            )
            return FusedOutcome(f"fused_{kind}", None, outputs)
        except KernelUnavailable as unavailable:
            keras_reason = str(unavailable)

    # 2. bidirlib's CPU fast path.
    path, fast_reason = choose_fast_path(call)
    if path is None:
        reason = f"Keras's fused kernel: {keras_reason}; bidirlib's fast path: {fast_reason}"
        return FusedOutcome(SEPARATE, _joined(direction_reason, reason))
    return FusedOutcome(path, None, run_fast_path(path, call))


def _joined(direction_reason, reason):
    """The fallback reason, with why direction parallelism did not run (where a mesh asked for it) first."""
    if direction_reason is None:
        return reason
    if direction_reason == reason:  # one rule stopped both
        return f"{reason} (also for direction parallelism)"
    return f"direction parallelism: {direction_reason}; {reason}"


def direction_parallel_outputs(call):
    """Run `call` with one layer on each device of its direction mesh (`bidirlib.fused.direction_parallel`).

    Returns:
        `(y_forward, y_backward, forward_states, backward_states)`, the backward output in input order.
    """
    mesh, batch_axis = find_direction_mesh(call.direction_mesh)
    states = [list(call.forward_state or []), list(call.backward_state or [])]
    return run_direction_parallel(
        call.forward_layer,
        call.backward_layer,
        ops.convert_to_tensor(call.sequences),
        states,
        mesh,
        batch_axis,
        training=call.training,
        return_sequences=call.return_sequences,
    )


def run_fast_path(path, call):
    """Run the CPU fast path `path` (a name `choose_fast_path` returns) over `call`.

    Returns:
        `(y_forward, y_backward, forward_states, backward_states)`, the backward output in input order.
    """
    kind = "lstm" if path.endswith("lstm") else "gru"
    fc, bc = call.forward_layer.cell, call.backward_layer.cell
    dtype = fc.compute_dtype
    sequences = ops.cast(ops.convert_to_tensor(call.sequences), dtype)
    states = initial_states(call, kind, dtype)
    if path.startswith("torch_"):
        return run_torch_kernel(kind, fc, bc, sequences, states, call.return_sequences)
    if path == "tf_block_lstm":
        return run_tf_block_lstm(fc, bc, sequences, states, call.return_sequences)
    if path.startswith("stacked_"):
        unroll = call.forward_layer.unroll
        return stacked_loop(kind, fc, bc, sequences, states, call.return_sequences, unroll=unroll)
    raise ValueError(f"`path` must be one of {sorted(GATES)} but fused_*. Received: {path!r}.")


def initial_states(call, kind, dtype, cast=True):
    """`[forward_states, backward_states]` for the kernels: the call's, or zeros where it gave none."""
    n_states = 2 if kind == "lstm" else 1
    units = call.forward_layer.cell.units
    zeros = None
    states = []
    for given in (call.forward_state, call.backward_state):
        if not given:
            if zeros is None:
                zeros = ops.zeros((ops.shape(call.sequences)[0], units), dtype=dtype)
            given = [zeros] * n_states
        elif cast:
            given = [ops.cast(ops.convert_to_tensor(state), dtype) for state in given]
        states.append(list(given))
    return states

