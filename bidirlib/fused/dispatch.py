"""The one dispatch: which path runs a `Bidirectional` call, tried in one order, and why.

`run_fused(plan)` reads the registered kernels (`bidirlib.fused.registry`) stage by stage:

0. `devices`: where a device mesh with a `"direction"` axis is given or set (on JAX), the two layers on two
   devices at once (`direction_parallel`): asked for, so tried first, and for any pair of RNN layers;
1. `keras`: Keras's own fused kernel (cuDNN, on a GPU), exactly where `keras.layers.Bidirectional` tries it,
   and, for a masked LSTM call on JAX's GPU, which Keras's kernel refuses, JAX's cuDNN LSTM over the mask's
   sequence lengths (`jax_cudnn_lstm`);
2. `fast`: bidirlib's CPU fast paths for the backend, each one measured (`bench/bench_bidirectional.py`) against
   the two separate layers and registered only where it was faster: on PyTorch, PyTorch's own bidirectional
   kernel (`torch_lstm`, `torch_gru`) for the standard cells, a right-padded mask packed as sequence lengths,
   and for other cells or other masks, while gradients are recorded, the stacked loop (`stacked_lstm`,
   `stacked_gru`), which takes any mask; on TensorFlow, for a small standard LSTM, `BlockLSTM` once
   per direction (`tf_block_lstm`); on JAX none (`registry.MEASURED_WITHOUT_A_FAST_PATH` says why).

When none applies, the wrapper runs the two directions as separate layers (`"separate"`). Every fused path
computes the numbers of the two layers (to rounding, well within 1e-5). After a call, the layer's
`last_call_path` names the path that ran, and `last_fused_fallback` says why no fused path did; observers
(`registry.add_observer`) are told too.
"""

import dataclasses

from bidirlib.fused import registry, rules
from bidirlib.fused.keras_kernel import KernelUnavailable
from bidirlib.plan import plan_call

#: The path reported when the two directions ran as separate layers.
SEPARATE = "separate"


@dataclasses.dataclass(frozen=True)
class FusedOutcome:
    """What `run_fused` did: the `path` taken (`"separate"` when none), `reason` (why no fused path ran, or
    None) and, for a fused path, `outputs` = `(y_forward, y_backward, forward_states, backward_states)`."""

    path: str
    reason: object = None
    outputs: object = None


def choose_fast_path(plan):
    """bidirlib's CPU fast path for `plan`, as `(kernel, None)`, or `(None, why there is none)`.

    The rules of every fused path (`rules.FUSED`) are assumed to hold; `run_fused` checks them first.
    """
    reason = rules.first_failure(plan, (rules.FAST,))
    if reason is not None:
        return None, reason
    fast = registry.kernels("fast")
    forced = [kernel for kernel in fast if kernel.forced_by == plan.setting and plan.kind in kernel.kinds]
    if forced:
        return forced[0], None
    candidates = [kernel for kernel in fast if kernel.runs(plan.kind, plan.backend)]
    if not candidates:
        key = (plan.backend, plan.kind)
        return None, registry.MEASURED_WITHOUT_A_FAST_PATH.get(key, f"no fast path for the {plan.backend} backend")
    reasons = []
    for kernel in candidates:
        reason = rules.first_failure(plan, kernel.gates, kernel.title)
        if reason is None:
            return kernel, None
        reasons.append((kernel.title, reason))
    if len({reason for _, reason in reasons}) == 1:
        return None, reasons[0][1]
    # Each kernel tried says its own reason (e.g. PyTorch's kernel: the mask; the stacked loop: no gradients).
    return None, "; ".join(f"{title}: {reason}" for title, reason in reasons)


def run_fused(plan):
    """Run `plan` on the first fused path that can take it, or say why none can; observers are told.

    Returns:
        A `FusedOutcome`. With `path == "separate"` nothing ran: the caller runs the two layers.
    """
    outcome = _dispatch(plan)
    registry.notify(plan, outcome.path)
    return outcome


def _dispatch(plan):
    # 0. The two layers on two devices, where a direction mesh is given or set.
    direction_reason = None
    if plan.mesh is not None:
        # Asked for by the mesh: tried on every backend, so that the rules say why where it cannot run.
        for kernel in registry.kernels("devices"):
            direction_reason = rules.first_failure(plan, kernel.gates, kernel.title)
            if direction_reason is None:
                return FusedOutcome(kernel.name, None, kernel.run(plan))

    reason = rules.first_failure(plan, (rules.FUSED,))
    if reason is not None:
        return FusedOutcome(SEPARATE, _joined(direction_reason, reason))

    # 1. Keras's fused kernel.
    keras_reasons = []
    for kernel in registry.kernels("keras"):
        if not kernel.runs(plan.kind, plan.backend):
            continue
        reason = rules.first_failure(plan, kernel.gates, kernel.title)
        if reason is None:
            try:
                return FusedOutcome(kernel.name, None, kernel.run(plan))
            except KernelUnavailable as unavailable:
                reason = str(unavailable)
        keras_reasons.append((kernel.title, reason))
    keras_reason = f"Keras has no fused kernel for {plan.kind}"
    if keras_reasons:
        # Keras's own kernel's reason; under a mask, also why the kernels that take one did not run.
        keras_reason = keras_reasons[0][1]
        if plan.mask is not None and len(keras_reasons) > 1:
            keras_reason += "".join(f"; {title}: {reason}" for title, reason in keras_reasons[1:])

    # 2. bidirlib's CPU fast path.
    kernel, fast_reason = choose_fast_path(plan)
    if kernel is None:
        if keras_reason == fast_reason:  # one reason stopped both (e.g. a mask that no kernel here takes)
            reason = fast_reason
        else:
            reason = f"Keras's fused kernel: {keras_reason}; bidirlib's fast path: {fast_reason}"
        return FusedOutcome(SEPARATE, _joined(direction_reason, reason))
    return FusedOutcome(kernel.name, None, kernel.run(plan))


def _joined(direction_reason, reason):
    """The fallback reason, with why direction parallelism did not run (where a mesh asked for it) first."""
    if direction_reason is None:
        return reason
    if direction_reason == reason:  # one rule stopped both
        return f"{reason} (also for direction parallelism)"
    return f"direction parallelism: {direction_reason}; {reason}"


def fast_path_for(forward_layer, backward_layer, sequences, training=None, fused_path="auto", mask=None):
    """Which CPU fast path a call of this pair on `sequences` (under `mask`) would take, without running it.

    Returns:
        `(name, None)` with the path's name (as `last_call_path` reports it), or `(None, why there is none)`.

    Example:

    >>> import numpy as np, keras
    >>> from bidirlib.fused import fast_path_for
    >>> forward = keras.layers.GRU(4, dropout=0.5)
    >>> backward = keras.layers.GRU(4, dropout=0.5, go_backwards=True)
    >>> fast_path_for(forward, backward, np.zeros((2, 3, 5), "float32"), training=True)
    (None, 'dropout is set and training is on')
    """
    plan = plan_call(forward_layer, backward_layer, sequences, mask=mask, training=training, layer_setting=fused_path)
    kernel, reason = choose_fast_path(plan)
    return (None, reason) if kernel is None else (kernel.name, None)
