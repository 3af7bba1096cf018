"""Direction parallelism: the forward direction on one device and the backward direction on another, at once.

The two directions of a bidirectional layer never read each other's results, so on two devices they can run at
the same time. On JAX, given a Keras `DeviceMesh` with an axis named `"direction"` of size 2, this path runs
the wrapper's two layers under `jax.shard_map` over that axis: the device at direction 0 runs the forward
layer, the one at direction 1 the backward layer, each one the layer's own code (`stateless_call`, with the
weights the call sees, so also inside a training step), and their outputs come back stacked on the axis. The
numbers are those of the two layers run one after the other.

The mesh is the layer's own (`Bidirectional(..., direction_mesh=mesh)`) or, failing that, the mesh of the
distribution set with `keras.distribution.set_distribution`, when that mesh has a `"direction"` axis. A
distribution's other axes keep their meaning: its batch axis (`batch_dim_name`) splits the batch as well, so a
mesh of shape `(n, 2)` and axes `("batch", "direction")` is data parallel over n pairs of devices, each pair
running one direction on each device. Without such a mesh, nothing here runs.
"""

import keras
from keras import ops

from bidirlib.export import exporting
from bidirlib.fused import rules
from bidirlib.fused.registry import Kernel
from bidirlib.states import call_takes

#: The mesh axis the two directions are split over.
DIRECTION_AXIS = "direction"


def find_direction_mesh(layer_mesh=None):
    """The mesh to split the directions over, with the axis that splits the batch (or None).

    Returns:
        `(mesh, batch_axis)`: the layer's mesh (`batch_axis` None), else the current distribution's mesh when it
        has a `"direction"` axis of size 2 (`batch_axis` its `batch_dim_name`, if that is another of its axes),
        else `(None, None)`.

    Example:

    >>> from bidirlib.fused.direction_parallel import find_direction_mesh
    >>> find_direction_mesh()  # no distribution is set
    (None, None)
    """
    if layer_mesh is not None:
        return layer_mesh, None
    if keras.backend.backend() != "jax":
        return None, None
    distribution = keras.distribution.distribution()
    mesh = getattr(distribution, "device_mesh", None)
    if mesh is None:
        return None, None
    names = tuple(mesh.axis_names)
    if DIRECTION_AXIS not in names or mesh.shape[names.index(DIRECTION_AXIS)] != 2:
        return None, None
    batch_axis = getattr(distribution, "batch_dim_name", None)
    return mesh, (batch_axis if batch_axis in names and batch_axis != DIRECTION_AXIS else None)


def run_direction_parallel(
    forward_layer, backward_layer, sequences, states, mesh, batch_axis=None, training=None, return_sequences=True
):
    """Run `forward_layer` on one half of `mesh`'s `"direction"` axis and `backward_layer` on the other.

    Args:
        forward_layer, backward_layer: the wrapper's two built layers.
        sequences: a tensor `(batch, timesteps, features)`.
        states: `[forward_states, backward_states]`, each a list of initial states or empty.
        mesh: a `keras.distribution.DeviceMesh` with a `"direction"` axis of size 2.
        batch_axis: another axis of `mesh` that splits the batch, or None to give each device the whole batch.
            It is dropped when the batch does not divide evenly over it.
        training: passed to the layers that take it.
        return_sequences: whether the layers return every step (the backward output is then put back in input
            order).

    Returns:
        `(y_forward, y_backward, forward_states, backward_states)`, the backward output in input order; the
        states are empty lists unless the layers return them.
    """
    import jax
    from jax.sharding import PartitionSpec

    if batch_axis is not None:
        batch = sequences.shape[0]
        size = mesh.shape[tuple(mesh.axis_names).index(batch_axis)]
        if batch is None or batch % size:
            batch_axis = None
    layers = (forward_layer, backward_layer)
    # The values the call sees: inside a training step these are the step's traced weights, not the stored ones.
    variables = [
        ([v.value for v in layer.trainable_variables], [v.value for v in layer.non_trainable_variables])
        for layer in layers
    ]

    def run(index, variables, sequences, states):
        layer = layers[index]
        kwargs = {"initial_state": states[index]} if states[index] else {}
        if call_takes(layer, "training"):
            kwargs["training"] = training
        outputs, _ = layer.stateless_call(*variables[index], sequences, **kwargs)
        # The output, then each state; an RNN of stacked cells nests its states, which `call` does not flatten.
        outputs = keras.tree.flatten(outputs)
        if index == 1 and return_sequences:
            outputs[0] = ops.flip(outputs[0], axis=1)  # the backward layer emits its last input step first
        return [ops.expand_dims(output, 0) for output in outputs]

    # Each device takes the branch of its own position on the direction axis; the other is never run there.
    def on_device(variables, sequences, states):
        forward = jax.lax.axis_index(DIRECTION_AXIS) == 0
        return jax.lax.cond(
            forward,
            lambda: run(0, variables, sequences, states),
            lambda: run(1, variables, sequences, states),
        )

    # Without JAX's replication checks: with them, the gradient of the replicated weights through a branch
    # chosen by `axis_index` came out wrong (zero for the backward layer), and a scan's zero initial state would
    # not type-check against a batch split over devices. The specs say what is replicated.
    if hasattr(jax, "shard_map"):
        shard_map, unchecked = jax.shard_map, {"check_vma": False}
    else:  # older JAX releases have it in jax.experimental, with the older name of the check
        from jax.experimental.shard_map import shard_map

        unchecked = {"check_rep": False}
    sharded = shard_map(
        on_device,
        mesh=mesh.backend_mesh,
        in_specs=(PartitionSpec(), PartitionSpec(batch_axis), PartitionSpec(batch_axis)),
        out_specs=PartitionSpec(DIRECTION_AXIS, batch_axis),
        **unchecked,
    )
    outputs = sharded(variables, sequences, states)
    y_forward, y_backward = outputs[0][0], outputs[0][1]
    forward_states = [state[0] for state in outputs[1:]]
    backward_states = [state[1] for state in outputs[1:]]
    return y_forward, y_backward, forward_states, backward_states


def run_plan(plan):
    """Run a call's plan with one layer on each device of its direction mesh (see `run_direction_parallel`)."""
    states = [list(plan.forward_state or []), list(plan.backward_state or [])]
    return run_direction_parallel(
        plan.forward,
        plan.backward,
        ops.convert_to_tensor(plan.sequences),
        states,
        plan.mesh,
        plan.batch_axis,
        training=plan.training,
        return_sequences=plan.return_sequences,
    )


@rules.rule(rules.DIRECTION_PARALLEL, decisive=True)
def _direction_mesh_given(plan, title):
    if plan.mesh is None:
        return "no device mesh with a 'direction' axis is given or set"
    return None


@rules.rule(rules.DIRECTION_PARALLEL)
def _direction_parallel_on_jax(plan, title):
    if plan.backend != "jax":
        return f"the directions are split over devices on JAX only, not on {plan.backend}"
    return None


@rules.rule(rules.DIRECTION_PARALLEL, decisive=True)
def _direction_pair_is_rnn(plan, title):
    # Each device runs its layer's own code; an RNN layer's outputs and states have known shapes.
    for layer in plan.layers:
        if not isinstance(layer, keras.layers.RNN):
            return f"the directions are split over devices for RNN layers, and one is a {type(layer).__name__}"
    return None


@rules.rule(rules.DIRECTION_PARALLEL)
def _direction_outputs_alike(plan, title):
    # The two devices' results are stacked on one axis: they must have the same shapes.
    shapes = [layer.compute_output_shape(tuple(plan.sequences.shape)) for layer in plan.layers]
    if shapes[0] != shapes[1]:
        return "the two directions' outputs differ in shape, and cannot be stacked over the two devices"
    return None


@rules.rule(rules.DIRECTION_PARALLEL)
def _not_exporting(plan, title):
    # jax2onnx has no conversion for shard_map's axis_index, and jax2tf's SavedModel export crashed the process.
    if plan.backend == "jax" and exporting():
        return "the model is being exported, and jax2onnx and jax2tf cannot take its two devices"
    return None


KERNELS = (
    Kernel(
        "direction_parallel",
        "direction parallelism",
        "devices",
        ("rnn",),
        ("jax",),  # where a mesh asks for it elsewhere, its rules say why it cannot run
        (rules.DIRECTION_PARALLEL,),
        run_plan,
    ),
)
