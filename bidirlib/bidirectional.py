"""The `Bidirectional` wrapper: a drop-in for `keras.layers.Bidirectional` without its known defects."""

import copy

import keras
from keras import ops

from bidirlib import errors
from bidirlib.checker import built_shape, require_conforming
from bidirlib.cloning import clone_layer, prefixed_name
from bidirlib.export import reads_a_flipped_copy
from bidirlib.fused.direction_parallel import DIRECTION_AXIS
from bidirlib.fused.dispatch import run_fused
from bidirlib.fused.settings import validate_fused_path
from bidirlib.merge import (
    assemble,
    merge_mode_config,
    merge_mode_from_config,
    merged_shape,
    merged_width,
    validate_merge_mode,
)
from bidirlib.plan import plan_call
from bidirlib.states import call_takes, check_initial_state, check_state_shapes, state_count


@keras.saving.register_keras_serializable(package="bidirlib")
class Bidirectional(keras.layers.Layer):
    """Bidirectional wrapper for RNNs: runs a layer forward and a copy backward over a sequence.

    Same arguments, outputs, config and numbers as `keras.layers.Bidirectional`. Where Keras 3 is wrong, this
    wrapper does the documented, clear thing instead (each line below is a difference from Keras 3.15):

    - `weights` is applied once the layer is built (Keras stores it and never reads it).
    - Output shapes come from both layers, so a backward layer of another width gives the right shape.
    - `initial_state` is checked: a single tensor or a wrong count raises a `ValueError` that says how many
      states each direction expects, and the split follows each direction's state count.
    - Custom layers and cells that are not registered for serialization can be wrapped.
    - A `backward_layer` you pass is copied, never changed; its weights are kept if it was built.
    - `initial_state`, `mask` and `training` go only to sub-layers whose `call` takes them.
    - With `return_sequences=True`, masked steps give zero outputs on every backend (JAX `unroll=True` too),
      and the mask is passed on to the next layer. An RNN with `unroll=True` runs its rolled loop under a mask:
      Keras's unrolled loops give other numbers there (and crash on PyTorch when reading backwards).
    - `stateful=True` with `return_state=True` and a mask works.
    - A swapped pair (`layer` reads backwards) returns its steps last input step first, as in Keras, and passes
      the mask on in that order, so the next layer skips the padded steps (Keras passes it in input order).
    - A `backward_layer` built for another feature size, a layer whose `input_spec` takes no time axis, and a
      layer whose `return_sequences=False` output is not its last step are refused with errors that name them.
    - `reset_states(states)` sets the states; `last_call_path` tells whether a fused kernel ran.
    - `model.export(path, format="onnx")` writes a file onnxruntime loads on JAX (where Keras's backward loop is
      a reverse scan that jax2onnx refuses) and, for SimpleRNN and RNNs of a cell, on PyTorch (where Keras's
      backward loop exports a `ReduceMax` onnxruntime refuses): `bidirlib.export` says how.
    - `use_cudnn` (an LSTM's or GRU's argument its config leaves out) is kept in the config when it is not
      "auto", so a saved model still refuses cuDNN where you said so.

    Two arguments are bidirlib's own: `fused_path` (see `bidirlib.fused`), saved in the config only when it is
    not the default, so configs stay those of Keras; and `direction_mesh`, which places the two directions on
    two devices and, like any device placement, is not saved. And `merge_mode` may also be a function of your
    own.

    Args:
        layer: `keras.layers.RNN` instance, such as `keras.layers.LSTM` or `keras.layers.GRU`, or any
            `keras.layers.Layer` that processes sequences (3D+ inputs), has `go_backwards`,
            `return_sequences` and `return_state` with the RNN meaning, an `input_spec`, and
            `get_config()`/`from_config()`. It is copied: its own weights are not reused.
        merge_mode: how the forward and backward outputs are combined: `"sum"`, `"mul"`, `"concat"`,
            `"ave"` or `None` (a tuple of both, uncombined); or a function `(forward, backward) -> output` of
            the two aligned outputs that returns one tensor with their leading axes and a width of its choice
            (found by running it once on symbolic tensors). To be saved in a config or a `.keras` file, the
            function must be registered with `keras.saving.register_keras_serializable`; `get_config()` raises
            a `ValueError` for one that is not. Defaults to `"concat"`.
        weights: optional list of arrays, the forward layer's weights then the backward layer's, in the order
            of `get_weights()`. Applied when the layer is built.
        backward_layer: optional layer for the backward direction. It must have the opposite `go_backwards`
            and the same `stateful`, `return_sequences` and `return_state` as `layer`. Defaults to a copy of
            `layer` with `go_backwards=True`.
        fused_path: `"auto"` (default): run both directions together on a fused path where one applies (Keras's
            fused kernel on a GPU, or bidirlib's CPU fast path where it was measured faster; under a right-padded
            mask, a kernel that takes sequence lengths, see `bidirlib.fused.lengths`); `"stacked"`:
            bidirlib's stacked loop on every backend (to test or compare it); `"off"`: always two separate
            layers. The environment variable `BIDIRLIB_FUSED_PATH` sets it for every layer ("off" wins).
        direction_mesh: optional `keras.distribution.DeviceMesh` with an axis named `"direction"` of size 2: on
            JAX, the two RNN layers then run at once, the forward one on one device and the backward one on
            the other (`bidirlib.fused.direction_parallel`). Without it, the same happens when the
            distribution set with `keras.distribution.set_distribution` has such an axis. Not saved.
        **kwargs: `keras.layers.Layer` arguments such as `name`, `dtype` and `trainable`.

    Call arguments:
        sequences: a tensor of shape `(batch, timesteps, features)`.
        initial_state: optional list: the forward layer's initial states, then the backward layer's
            (for LSTM: `[h_forward, c_forward, h_backward, c_backward]`).
        mask: optional boolean tensor of shape `(batch, timesteps)`; `True` marks steps to use.
        training: Python boolean, passed to sub-layers that take it (dropout).

    Returns:
        The merged output: `(batch, timesteps, width)` with `return_sequences=True`, else `(batch, width)`;
        with `merge_mode=None` a tuple `(forward, backward)`. With `return_state=True` the forward states and
        then the backward states follow the output(s).

    Example:

    >>> import numpy as np, keras
    >>> from bidirlib import Bidirectional
    >>> model = keras.Sequential([
    ...     keras.Input(shape=(5, 10)),
    ...     Bidirectional(keras.layers.LSTM(10, return_sequences=True)),
    ...     Bidirectional(keras.layers.LSTM(10)),
    ...     keras.layers.Dense(5, activation="softmax"),
    ... ])
    >>> model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    >>> tuple(model(np.zeros((2, 5, 10), "float32")).shape)
    (2, 5)

    With a custom backward layer:

    >>> forward_layer = keras.layers.LSTM(10, return_sequences=True)
    >>> backward_layer = keras.layers.LSTM(10, activation="relu", return_sequences=True, go_backwards=True)
    >>> model = keras.Sequential([
    ...     keras.Input(shape=(5, 10)),
    ...     Bidirectional(forward_layer, backward_layer=backward_layer),
    ...     keras.layers.Dense(5, activation="softmax"),
    ... ])
    >>> model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    >>> tuple(model(np.zeros((2, 5, 10), "float32")).shape)
    (2, 5, 5)
    """

    def __init__(
        self,
        layer,
        merge_mode="concat",
        weights=None,
        backward_layer=None,
        fused_path="auto",
        direction_mesh=None,
        **kwargs,
    ):
        # Validation in Keras's order: layer, backward_layer, merge_mode; then the pair's compatibility.
        given = [("layer", layer)] + ([("backward_layer", backward_layer)] if backward_layer is not None else [])
        for argument, value in given:
            errors.require_layer(value, argument)
        validate_merge_mode(merge_mode)
        errors.require_weights_list(weights)
        validate_fused_path(fused_path)
        errors.require_direction_mesh(direction_mesh, DIRECTION_AXIS)
        for argument, value in given:
            errors.require_direction_attributes(value, argument)
            errors.require_sequence_input_spec(value, argument)
        for argument, value in given:
            require_conforming(value, argument)
        super().__init__(**kwargs)

        self.forward_layer = clone_layer(layer, name=prefixed_name("forward", layer.name))
        self._pending_backward_weights = None
        self._backward_built_features = None
        if backward_layer is None:
            self.backward_layer = clone_layer(
                layer, name=prefixed_name("backward", layer.name), go_backwards=True
            )
        else:
            # A copy, so that the user's object keeps its own settings; its trained weights come along.
            self.backward_layer = clone_layer(backward_layer)
            if backward_layer.built and backward_layer.weights:
                self._pending_backward_weights = backward_layer.get_weights()
                shape = built_shape(backward_layer)
                self._backward_built_features = shape[-1] if shape else None
                self._copy_pending_backward_weights()
        errors.require_opposite_directions(self.forward_layer, self.backward_layer)
        errors.require_matching_attributes(self.forward_layer, self.backward_layer)
        merged_width(_static_width(self.forward_layer), _static_width(self.backward_layer), merge_mode)

        for sublayer in (self.forward_layer, self.backward_layer):
            # The API page promises zero outputs at masked steps whenever sequences are returned.
            if getattr(sublayer, "zero_output_for_mask", None) is not None:
                sublayer.zero_output_for_mask = sublayer.return_sequences

        self.merge_mode = merge_mode
        self._initial_weights = None if weights is None else list(weights)
        self.stateful = bool(getattr(layer, "stateful", False))
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec
        self.fused_path = fused_path
        #: Where the two directions run on two devices at once (see `direction_mesh` above), or None.
        self.direction_mesh = direction_mesh
        #: Which path the last call took (None before any call): "separate"; "fused_lstm" or "fused_gru" (Keras's
        #: fused kernel); "jax_cudnn_lstm" (JAX's cuDNN LSTM over a mask's sequence lengths, on a GPU); or a CPU
        #: fast path of `bidirlib.fused` ("torch_lstm", "torch_gru", "tf_block_lstm", "stacked_lstm",
        #: "stacked_gru"); or "direction_parallel" (the two layers on two devices at once).
        self.last_call_path = None
        #: Why the last call did not take a fused kernel, or None when it did (or none was considered).
        self.last_fused_fallback = None
        if not self.trainable:
            # `trainable=False` reached the Layer before the two directions existed: freeze them now. Keras's
            # setter passes later changes (unfreezing too) on to both.
            for sublayer in (self.forward_layer, self.backward_layer):
                sublayer.trainable = False

    @property
    def fused_path(self):
        """The fused-path setting, one of `"auto"`, `"stacked"` or `"off"` (see `bidirlib.fused`)."""
        return self._fused_path

    @fused_path.setter
    def fused_path(self, value):
        self._fused_path = validate_fused_path(value)

    # ------------------------------------------------------------------ build and shapes

    def __call__(self, *args, **kwargs):
        # Every input is checked here, once: Keras checks `input_spec` before `build` (say which argument is wrong
        # before its generic message), and in a functional model it may not run `call` until later. `call` then
        # only resolves the checked inputs into a plan.
        if not args and "sequences" not in kwargs:
            raise TypeError("Bidirectional was called without `sequences`, its one required argument.")
        sequences = args[0] if args else kwargs.get("sequences")
        errors.require_sequences(sequences)
        shape = tuple(sequences.shape)
        errors.require_features(shape, getattr(self, "_built_features", None))
        errors.require_mask(kwargs.get("mask"), shape)
        initial_state = args[1] if len(args) > 1 else kwargs.get("initial_state")
        check_initial_state(initial_state, self.forward_layer, self.backward_layer)
        if initial_state is not None:
            check_state_shapes(initial_state, self.forward_layer, self.backward_layer, shape[0])
        return super().__call__(*args, **kwargs)

    def build(self, sequences_shape, initial_state_shape=None):
        errors.require_sequence_shape(sequences_shape)
        self._built_features = sequences_shape[-1]
        if self._backward_built_features is not None:
            # The weights of a `backward_layer` that was built before it was passed fix its input size.
            errors.require_built_for(
                self.backward_layer, "backward_layer", self._backward_built_features, sequences_shape[-1]
            )
        for sublayer in (self.forward_layer, self.backward_layer):
            if not sublayer.built:
                sublayer.build(sequences_shape)
        self._copy_pending_backward_weights()
        # Widths that only the input shape reveals (e.g. non-RNN layers) are checked here, before any computation.
        # A layer without compute_output_shape is checked when its outputs are merged instead.
        try:
            self.compute_output_shape(sequences_shape)
        except NotImplementedError:
            pass
        if self._initial_weights is not None:
            weights, self._initial_weights = self._initial_weights, None
            self._set_initial_weights(weights)

    def _copy_pending_backward_weights(self):
        if self._pending_backward_weights is not None and self.backward_layer.built:
            self.backward_layer.set_weights(self._pending_backward_weights)
            self._pending_backward_weights = None

    def _set_initial_weights(self, weights):
        n_forward = len(self.forward_layer.weights)
        errors.require_arrays("weights", weights, self.weights, n_forward, "get_weights()")
        self.set_weights(weights)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        forward = self.forward_layer.compute_output_shape(sequences_shape)
        backward = self.backward_layer.compute_output_shape(sequences_shape)
        forward_states = backward_states = ()
        if self.return_state:
            forward, forward_states = forward[0], tuple(forward[1:])
            backward, backward_states = backward[0], tuple(backward[1:])
        forward, backward = tuple(forward), tuple(backward)
        if self.merge_mode is None:
            outputs = (forward, backward)
        else:
            outputs = (merged_shape(forward, backward, self.merge_mode, self.compute_dtype),)
        if self.return_state:
            return outputs + forward_states + backward_states
        return outputs if self.merge_mode is None else outputs[0]

    # ------------------------------------------------------------------ call

    def call(self, sequences, initial_state=None, mask=None, training=None):
        plan = plan_call(
            self.forward_layer,
            self.backward_layer,
            sequences,
            initial_state,
            mask,
            training,
            stateful=self.stateful,
            return_sequences=self.return_sequences,
            layer_setting=self.fused_path,
            layer_mesh=self.direction_mesh,
        )
        outcome = run_fused(plan)
        self.last_call_path, self.last_fused_fallback = outcome.path, outcome.reason
        if outcome.outputs is not None:
            y, y_reversed, forward_states, backward_states = outcome.outputs
            y = ops.cast(y, self.compute_dtype)
            y_reversed = ops.cast(y_reversed, self.compute_dtype)
            states = tuple(forward_states) + tuple(backward_states)
            return assemble(y, y_reversed, states, self.merge_mode, self.return_state)

        y = self._run_direction(
            self.forward_layer, sequences, _sublayer_kwargs(self.forward_layer, plan.forward_state, mask, training)
        )
        y_reversed = self._run_direction(
            self.backward_layer, sequences, _sublayer_kwargs(self.backward_layer, plan.backward_state, mask, training)
        )
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_reversed[1:])
            y, y_reversed = y[0], y_reversed[0]
        y = ops.cast(y, self.compute_dtype)
        y_reversed = ops.cast(y_reversed, self.compute_dtype)
        if self.return_sequences:
            # The backward layer emits its steps in the order it read them: last input step first.
            y_reversed = ops.flip(y_reversed, axis=1)
            if mask is not None:
                # Each output is zeroed by the mask in its own time order. For a swapped pair (the `layer`
                # reads backwards, the `backward_layer` forwards) both come out last step first, as in Keras.
                y = _zero_masked_steps(y, mask, reversed_order=bool(self.forward_layer.go_backwards))
                y_reversed = _zero_masked_steps(
                    y_reversed, mask, reversed_order=not self.backward_layer.go_backwards
                )
        return assemble(y, y_reversed, states, self.merge_mode, self.return_state)

    def _run_direction(self, layer, sequences, kwargs):
        """Call one direction's layer; an unrolled RNN under a mask runs its rolled loop instead, and a backward
        RNN reads a flipped copy forwards where an exporter cannot take its backward loop (`reads_a_flipped_copy`).

        Keras's unrolled loops disagree with its rolled ones under a mask: with `go_backwards` they crash on
        PyTorch (a tuple is flipped) and zero the outputs by the unreversed mask on TensorFlow; on JAX a row with
        no unmasked step ends on a zero output where the rolled loop ends on the first initial state. The rolled
        loop is the one the API page describes, so it runs (on our own copy of the layer, put back afterwards).
        """
        rnn = isinstance(layer, keras.layers.RNN)
        rolled = rnn and getattr(layer, "unroll", False) and kwargs.get("mask") is not None
        flipped = reads_a_flipped_copy(layer)
        if not (rolled or flipped):
            return layer(sequences, **kwargs)
        if flipped:
            # Reading the reversed sequence forwards is what `go_backwards` does: the same steps, in the same
            # order, so the same numbers; the outputs come out in reading order, as they would have.
            sequences = ops.flip(sequences, axis=1)
            if kwargs.get("mask") is not None:
                kwargs = {**kwargs, "mask": ops.flip(kwargs["mask"], axis=1)}
        settings = {"unroll": False} if rolled else {}
        settings.update({"go_backwards": False} if flipped else {})
        kept = {name: getattr(layer, name) for name in settings}
        for name, value in settings.items():
            setattr(layer, name, value)
        try:
            return layer(sequences, **kwargs)
        finally:
            for name, value in kept.items():
                setattr(layer, name, value)

    # ------------------------------------------------------------------ masks and states

    def compute_mask(self, _, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if output_mask is not None and self.forward_layer.go_backwards:
            # A swapped pair returns its steps last input step first (as Keras's wrapper does): the mask follows.
            output_mask = ops.flip(output_mask, axis=1)
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            n_forward = state_count(self.forward_layer)
            n_backward = state_count(self.backward_layer)
            if n_forward is not None and n_backward is not None:
                masks += [None] * (n_forward + n_backward)
            return masks
        return masks[0] if self.merge_mode is not None else tuple(masks)

    @property
    def states(self):
        if self.forward_layer.states and self.backward_layer.states:
            return tuple(self.forward_layer.states) + tuple(self.backward_layer.states)
        return None

    def reset_state(self):
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self, states=None):
        """Reset the stateful layers' states to zeros, or to `states` (forward states, then backward states)."""
        if states is None:
            self.reset_state()
            return
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if self.states is None:
            raise ValueError(
                "reset_states(states) needs the layer to be built first: call it on a batch, or build the model."
            )
        variables = keras.tree.flatten(self.states)
        values = list(states) if isinstance(states, (list, tuple)) else [states]
        n_forward = len(keras.tree.flatten(self.forward_layer.states))
        errors.require_arrays("states", values, variables, n_forward, "the layers' states")
        for variable, value in zip(variables, values):
            variable.assign(ops.cast(value, variable.dtype))

    # ------------------------------------------------------------------ config

    def get_config(self):
        config = {
            "merge_mode": merge_mode_config(self.merge_mode),
            "layer": _serialized_with_use_cudnn(self.forward_layer),
            "backward_layer": _serialized_with_use_cudnn(self.backward_layer),
        }
        if self.fused_path != "auto":  # bidirlib's own setting; left out by default so configs stay Keras's
            config["fused_path"] = self.fused_path
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if not isinstance(config, dict) or "layer" not in config:
            raise ValueError(
                "Bidirectional.from_config needs a config dict holding `layer` (the forward layer's serialized "
                f"config), as get_config() returns. Received: {config!r}."
            )
        config = copy.deepcopy(config)
        if "merge_mode" in config:
            config["merge_mode"] = merge_mode_from_config(config["merge_mode"], custom_objects)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"], custom_objects=custom_objects)
        backward_config = config.pop("backward_layer", None)
        if backward_config is not None:
            config["backward_layer"] = keras.saving.deserialize_keras_object(
                backward_config, custom_objects=custom_objects
            )
        return cls(**config)


# ---------------------------------------------------------------------- helpers for one sub-layer


def _sublayer_kwargs(layer, state, mask, training):
    kwargs = {}
    if state is not None and len(state) > 0:
        kwargs["initial_state"] = state
    if call_takes(layer, "mask"):
        kwargs["mask"] = mask
    if call_takes(layer, "training"):
        kwargs["training"] = training
    return kwargs


def _serialized_with_use_cudnn(layer):
    """`layer` serialized, with its `use_cudnn` where it is not the default: LSTM and GRU take it as an argument
    but leave it out of their config, so a saved model would forget that it must not run cuDNN (say, to export
    without `CudnnRNNV3`). Keras's own wrapper loads the same config."""
    serialized = keras.saving.serialize_keras_object(layer)
    use_cudnn = getattr(layer, "use_cudnn", "auto")
    if use_cudnn != "auto" and "use_cudnn" not in serialized["config"]:
        serialized = {**serialized, "config": {**serialized["config"], "use_cudnn": use_cudnn}}
    return serialized


def _static_width(layer):
    """The last-axis size of an RNN layer's output, known before it is built, or None."""
    cell = getattr(layer, "cell", None)
    if cell is None:
        return None
    size = getattr(cell, "output_size", None)
    if size is None:
        state_size = getattr(cell, "state_size", None)
        size = state_size[0] if isinstance(state_size, (list, tuple)) and state_size else state_size
    return size if isinstance(size, int) else None


def _zero_masked_steps(y, mask, reversed_order=False):
    """Zero the steps of `y` (batch, time, ...) where `mask` (batch, time) is False.

    With `reversed_order`, `y`'s steps run from the last input step to the first, so the mask is reversed too.
    """
    mask = ops.cast(mask, "bool")
    if reversed_order:
        mask = ops.flip(mask, axis=1)
    while len(mask.shape) < len(y.shape):
        mask = ops.expand_dims(mask, -1)
    return ops.where(mask, y, ops.zeros_like(y))
