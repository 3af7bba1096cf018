"""One call of a `Bidirectional` layer, resolved once into a plan that every path reads.

When the wrapper is called, `plan_call` works out everything the choice of a path and the kernels need, once:
the initial states split between the directions, the effective fused-path setting (layer and environment),
the direction mesh and its batch axis, the layer kind, the backend and the state count. The plan is frozen:
the rules (`bidirlib.fused.rules`) and the kernels read it and decide nothing twice. A plan of one layer
(`plan_of_layer`) is what the cuDNN report reads.
"""

import dataclasses

import keras
from keras import ops

from bidirlib.fused.lengths import NO_MASK, MaskLayout, read_mask
from bidirlib.fused.direction_parallel import find_direction_mesh
from bidirlib.fused.settings import effective_setting
from bidirlib.states import split_at, state_counts

#: The plain layers a two-direction kernel can run, by the kind the kernels know them as.
KINDS = {keras.layers.LSTM: "lstm", keras.layers.GRU: "gru"}


@dataclasses.dataclass(frozen=True)
class CallPlan:
    """One call, resolved: what the rules and the kernels read.

    `layers` is the (forward, backward) pair (one layer for a report); `kind` is "lstm" or "gru" when every
    layer is a plain LSTM or every one a plain GRU, else None; `setting` is the effective fused-path setting,
    and `off_because` says who turned it off; `mesh` and `batch_axis` are the direction mesh (None without one)
    and the axis that splits the batch on it.
    """

    layers: tuple
    sequences: object = None
    forward_state: object = None
    backward_state: object = None
    mask: object = None
    training: object = None
    stateful: bool = False
    return_sequences: bool = False
    setting: str = "auto"
    off_because: object = None
    mesh: object = None
    batch_axis: object = None
    kind: object = None
    backend: str = ""
    #: The mask, read once (`bidirlib.fused.lengths.read_mask`): right-padded or not, and its row lengths.
    #: Read when the plan is made, not when a rule asks: inside `torch.compile` a lazy read would break the graph.
    mask_layout: MaskLayout = MaskLayout(NO_MASK)

    @property
    def forward(self):
        return self.layers[0]

    @property
    def backward(self):
        return self.layers[-1]

    @property
    def cells(self):
        return tuple(layer.cell for layer in self.layers)


    def kernel_inputs(self):
        """`(sequences, states)` for a CPU fast path: both in the forward cell's compute dtype."""
        dtype = self.forward.cell.compute_dtype
        sequences = ops.cast(ops.convert_to_tensor(self.sequences), dtype)
        return sequences, self.kernel_states(dtype)

    def kernel_states(self, dtype, cast=True):
        """`[forward_states, backward_states]` for a kernel of this plan's kind: the call's, or zeros."""
        n_states = 2 if self.kind == "lstm" else 1
        zeros = None
        states = []
        for given in (self.forward_state, self.backward_state):
            if not given:
                if zeros is None:
                    batch = ops.shape(self.sequences)[0]
                    zeros = ops.zeros((batch, self.forward.cell.units), dtype=dtype)
                given = [zeros] * n_states
            elif cast:
                given = [ops.cast(ops.convert_to_tensor(state), dtype) for state in given]
            states.append(list(given))
        return states


def kind_of(layers):
    """"lstm" or "gru" when every one of `layers` is a plain LSTM or every one a plain GRU, else None."""
    found = {KINDS.get(type(layer)) for layer in layers}
    return found.pop() if len(found) == 1 else None


def plan_call(
    forward_layer,
    backward_layer,
    sequences,
    initial_state=None,
    mask=None,
    training=None,
    *,
    stateful=False,
    return_sequences=False,
    layer_setting="auto",
    layer_mesh=None,
):
    """The plan of one call of a pair of layers; `initial_state` is the flat list the wrapper was given
    (already checked when it was called)."""
    layers = (forward_layer, backward_layer)
    forward_state, backward_state = split_at(initial_state, state_counts(forward_layer, backward_layer))
    setting, off_because = effective_setting(layer_setting)
    mesh, batch_axis = find_direction_mesh(layer_mesh)
    return CallPlan(
        layers=layers,
        sequences=sequences,
        forward_state=forward_state,
        backward_state=backward_state,
        mask=mask,
        training=training,
        stateful=stateful,
        return_sequences=return_sequences,
        setting=setting,
        off_because=off_because,
        mesh=mesh,
        batch_axis=batch_axis,
        kind=kind_of(layers),
        backend=keras.backend.backend(),
        mask_layout=read_mask(mask),
    )


def plan_of_layer(layer):
    """The plan a report on one layer's settings reads (no call: no inputs, the default setting)."""
    return CallPlan(layers=(layer,), kind=kind_of((layer,)), backend=keras.backend.backend())
