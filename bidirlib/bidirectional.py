"""The `Bidirectional` wrapper: a drop-in for `keras.layers.Bidirectional` without its known defects."""

import copy

import keras
import numpy as np
from keras import ops

from bidirlib import checks
from bidirlib.cloning import clone_layer, prefixed_name
from bidirlib.merge import merge, merged_width, validate_merge_mode

try:  # Fused two-direction kernels appeared in Keras 3.15; older versions simply do not have them.
    from keras.src.backend import bidirectional_gru as _fused_gru_kernel
    from keras.src.backend import bidirectional_lstm as _fused_lstm_kernel
except ImportError:  # pragma: no cover - depends on the installed Keras
    _fused_lstm_kernel = _fused_gru_kernel = None


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
      and the mask is passed on to the next layer.
    - `stateful=True` with `return_state=True` and a mask works.
    - `reset_states(states)` sets the states; `last_call_path` tells whether a fused kernel ran.

    Args:
        layer: `keras.layers.RNN` instance, such as `keras.layers.LSTM` or `keras.layers.GRU`, or any
            `keras.layers.Layer` that processes sequences (3D+ inputs), has `go_backwards`,
            `return_sequences` and `return_state` with the RNN meaning, an `input_spec`, and
            `get_config()`/`from_config()`. It is copied: its own weights are not reused.
        merge_mode: how the forward and backward outputs are combined: `"sum"`, `"mul"`, `"concat"`,
            `"ave"` or `None` (a tuple of both, uncombined). Defaults to `"concat"`.
        weights: optional list of arrays, the forward layer's weights then the backward layer's, in the order
            of `get_weights()`. Applied when the layer is built.
        backward_layer: optional layer for the backward direction. It must have the opposite `go_backwards`
            and the same `stateful`, `return_sequences` and `return_state` as `layer`. Defaults to a copy of
            `layer` with `go_backwards=True`.
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

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        # Validation in Keras's order: layer, backward_layer, merge_mode; then the pair's compatibility.
        checks.require_layer(layer, "layer")
        if backward_layer is not None:
            checks.require_layer(backward_layer, "backward_layer")
        validate_merge_mode(merge_mode)
        checks.require_direction_attributes(layer, "layer")
        if backward_layer is not None:
            checks.require_direction_attributes(backward_layer, "backward_layer")
        checks.require_conforming(layer, "layer")
        if backward_layer is not None:
            checks.require_conforming(backward_layer, "backward_layer")
        super().__init__(**kwargs)

        self.forward_layer = clone_layer(layer, name=prefixed_name("forward", layer.name))
        self._pending_backward_weights = None
        if backward_layer is None:
            self.backward_layer = clone_layer(
                layer, name=prefixed_name("backward", layer.name), go_backwards=True
            )
        else:
            # A copy, so that the user's object keeps its own settings; its trained weights come along.
            self.backward_layer = clone_layer(backward_layer)
            if backward_layer.built and backward_layer.weights:
                self._pending_backward_weights = backward_layer.get_weights()
                self._copy_pending_backward_weights()
        checks.require_opposite_directions(self.forward_layer, self.backward_layer)
        checks.require_matching_attributes(self.forward_layer, self.backward_layer)
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
        #: Set this to False to always run the two directions as separate layers.
        self.allow_fused = True
        #: Which path the last call took (None before any call): "separate"; "fused_lstm" or "fused_gru" (Keras's
        #: fused kernel); or a CPU fast path of `bidirlib.fast_path` ("torch_lstm", "torch_gru", "tf_block_lstm",
        #: "stacked_lstm", "stacked_gru").
        self.last_call_path = None
        #: Why the last call did not take a fused kernel, or None when it did (or none was considered).
        self.last_fused_fallback = None

    # ------------------------------------------------------------------ build and shapes

    def build(self, sequences_shape, initial_state_shape=None):
        checks.require_sequence_shape(sequences_shape)
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

    def _assert_input_compatibility(self, arg_0):
        # Keras checks `input_spec` before `build`; say which argument is wrong before its generic message.
        shape = getattr(arg_0, "shape", None)
        if shape is not None:
            checks.require_sequence_shape(tuple(shape))
        super()._assert_input_compatibility(arg_0)

    def _copy_pending_backward_weights(self):
        if self._pending_backward_weights is not None and self.backward_layer.built:
            self.backward_layer.set_weights(self._pending_backward_weights)
            self._pending_backward_weights = None

    def _set_initial_weights(self, weights):
        variables = self.weights
        n_forward = len(self.forward_layer.weights)
        n_backward = len(self.backward_layer.weights)
        if len(weights) != len(variables):
            raise ValueError(
                f"`weights` must hold {len(variables)} arrays: {n_forward} for the forward layer, then "
                f"{n_backward} for the backward layer, in the order of get_weights(). "
                f"Received: {len(weights)} arrays."
            )
        for index, (variable, value) in enumerate(zip(variables, weights)):
            shape = tuple(np.shape(value))
            if shape != tuple(variable.shape):
                raise ValueError(
                    f"`weights[{index}]` is for {variable.path} and must have shape {tuple(variable.shape)}. "
                    f"Received: an array of shape {shape}."
                )
        self.set_weights(weights)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        forward = self.forward_layer.compute_output_shape(sequences_shape)
        backward = self.backward_layer.compute_output_shape(sequences_shape)
        forward_states = backward_states = ()
        if self.return_state:
            forward, forward_states = forward[0], tuple(forward[1:])
            backward, backward_states = backward[0], tuple(backward[1:])
        forward, backward = tuple(forward), tuple(backward)
        width = merged_width(forward[-1], backward[-1], self.merge_mode)
        if self.merge_mode is None:
            outputs = (forward, backward)
        else:
            outputs = (forward[:-1] + (width,),)
        if self.return_state:
            return outputs + forward_states + backward_states
        return outputs if self.merge_mode is None else outputs[0]

    # ------------------------------------------------------------------ call

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state, backward_state = self._split_initial_state(initial_state)

        fused = self._call_fused(sequences, forward_state, backward_state, mask, training)
        if fused is not None:
            return fused

        self.last_call_path = "separate"
        y = self.forward_layer(
            sequences, **_sublayer_kwargs(self.forward_layer, forward_state, mask, training)
        )
        y_reversed = self._call_backward(
            sequences, _sublayer_kwargs(self.backward_layer, backward_state, mask, training)
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
                y = _zero_masked_steps(y, mask)
                y_reversed = _zero_masked_steps(y_reversed, mask)
        return self._assemble(y, y_reversed, states)

    def _call_backward(self, sequences, kwargs):
        layer = self.backward_layer
        if (
            keras.backend.backend() == "torch"
            and getattr(layer, "unroll", False)
            and kwargs.get("mask") is not None
            and isinstance(layer, keras.layers.RNN)
        ):
            # Keras's torch `rnn` crashes on go_backwards + unroll + mask (it flips a tuple). Reading the
            # reversed sequence forwards is the same computation, so do that on our own copy of the layer.
            kwargs = {**kwargs, "mask": ops.flip(kwargs["mask"], axis=1)}
            layer.go_backwards = False
            try:
                return layer(ops.flip(sequences, axis=1), **kwargs)
            finally:
                layer.go_backwards = True
        return layer(sequences, **kwargs)

    def _assemble(self, y, y_backward, states):
        output = merge(y, y_backward, self.merge_mode)
        if not self.return_state:
            return output
        if self.merge_mode is None:
            return output + tuple(states)
        return (output,) + tuple(states)

    def _split_initial_state(self, initial_state):
        if initial_state is None:
            return None, None
        n_forward = _state_count(self.forward_layer)
        n_backward = _state_count(self.backward_layer)
        if not isinstance(initial_state, (list, tuple)):
            expected = (
                f"{n_forward + n_backward} tensors ({n_forward} for the forward layer, then {n_backward} "
                "for the backward layer)"
                if n_forward is not None and n_backward is not None
                else "an even number of tensors (the forward layer's states, then the backward layer's)"
            )
            raise ValueError(
                f"`initial_state` must be a list of {expected}. "
                f"Received: a single {type(initial_state).__name__} of shape {tuple(initial_state.shape)}."
                if hasattr(initial_state, "shape")
                else f"`initial_state` must be a list of {expected}. Received: {initial_state!r}."
            )
        count = len(initial_state)
        if n_forward is not None and n_backward is not None:
            if count != n_forward + n_backward:
                raise ValueError(
                    f"`initial_state` must hold {n_forward + n_backward} tensors: {n_forward} for the forward "
                    f"layer ({self.forward_layer.name}), then {n_backward} for the backward layer "
                    f"({self.backward_layer.name}). Received: {count} tensors."
                )
            split = n_forward
        else:
            if count % 2:
                raise ValueError(
                    "`initial_state` must hold an even number of tensors: the first half goes to the forward "
                    f"layer, the second half to the backward layer. Received: {count} tensors."
                )
            split = count // 2
        for sublayer, part in ((self.forward_layer, initial_state[:split]), (self.backward_layer, initial_state[split:])):
            if part and not _call_takes(sublayer, "initial_state"):
                raise ValueError(
                    f"`initial_state` was given, but {sublayer.name} ({sublayer.__class__.__name__}) does not "
                    "take an `initial_state` argument in its call()."
                )
        return list(initial_state[:split]), list(initial_state[split:])

    # ------------------------------------------------------------------ fused kernels

    def _fused_kind(self, mask, forward_state):
        """Return ("lstm" or "gru", None) when a fused path may be tried, else (None, reason).

        A fused path runs both directions at once: Keras's fused kernel (cuDNN, on a GPU) or, where that
        cannot run, bidirlib's CPU fast path (`bidirlib.fast_path`). This checks what both need.
        """
        forward, backward = self.forward_layer, self.backward_layer
        if not self.allow_fused:
            return None, "allow_fused is False"
        if mask is not None:
            return None, "a mask was given"
        if self.stateful:
            return None, "the layer is stateful"
        kinds = {keras.layers.LSTM: "lstm", keras.layers.GRU: "gru"}
        kind = kinds.get(type(forward))
        if kind is None or type(backward) is not type(forward):
            return None, "the two directions are not both plain LSTM or both plain GRU"
        if forward_state is not None and len(forward_state) != len(forward.state_size):
            return None, "initial_state does not fit the fused kernel"
        if forward.go_backwards or not backward.go_backwards:
            # A fused path reads forwards in the first direction; a swapped pair would give other numbers.
            return None, "the forward layer reads backwards (go_backwards is swapped)"
        fc, bc = forward.cell, backward.cell
        if fc.units != bc.units:
            return None, "the two directions have different units"
        if fc.activation is not bc.activation or fc.recurrent_activation is not bc.recurrent_activation:
            return None, "the two directions have different activations"
        if not (forward.built and backward.built):
            return None, "the layers are not built yet"
        return kind, None

    def _call_fused(self, sequences, forward_state, backward_state, mask, training=None):
        from bidirlib import fast_path

        kind, reason = self._fused_kind(mask, forward_state)
        self.last_fused_fallback = reason
        if kind is None:
            return None
        forward, backward = self.forward_layer, self.backward_layer
        fc, bc = forward.cell, backward.cell

        # 1. Keras's own fused kernel, tried exactly where keras.layers.Bidirectional tries it (cuDNN on a GPU).
        if _fused_lstm_kernel is None:
            keras_reason = "this Keras version has no fused bidirectional kernels"
        elif forward.use_cudnn not in (True, "auto") or backward.use_cudnn not in (True, "auto"):
            keras_reason = "use_cudnn is False"
        elif fc.dropout or fc.recurrent_dropout or bc.dropout or bc.recurrent_dropout:
            keras_reason = "dropout is set"
        elif not (fc.use_bias and bc.use_bias):
            keras_reason = "a direction has no bias"
        elif kind == "gru" and not (fc.reset_after and bc.reset_after):
            keras_reason = "reset_after is False"
        else:
            fused, keras_reason = self._call_keras_kernel(kind, sequences, forward_state, backward_state)
            if fused is not None:
                self.last_call_path = f"fused_{kind}"
                return fused

        # 2. Otherwise bidirlib's CPU fast path for this backend (bidirlib.fast_path), where one was measured faster.
        name, fast_reason = fast_path.choose_fast_path(kind, forward, backward, sequences, training)
        if name is None:
            self.last_fused_fallback = f"Keras's fused kernel: {keras_reason}; bidirlib's fast path: {fast_reason}"
            return None
        path, y, y_backward, forward_states, backward_states = fast_path.run_fast_path(
            name, kind, forward, backward, sequences, forward_state, backward_state, self.return_sequences
        )
        self.last_call_path = path
        self.last_fused_fallback = None
        y = ops.cast(y, self.compute_dtype)
        y_backward = ops.cast(y_backward, self.compute_dtype)
        return self._assemble(y, y_backward, tuple(forward_states) + tuple(backward_states))

    def _call_keras_kernel(self, kind, sequences, forward_state, backward_state):
        """Return (merged outputs, None) from Keras's fused kernel, or (None, why it could not run)."""
        fc, bc = self.forward_layer.cell, self.backward_layer.cell
        sequences = ops.convert_to_tensor(sequences)
        if forward_state is None:
            zeros = ops.zeros((ops.shape(sequences)[0], fc.units), dtype=sequences.dtype)
            forward_state = [zeros] * len(self.forward_layer.state_size)
            backward_state = [zeros] * len(self.backward_layer.state_size)
        kernel = _fused_lstm_kernel if kind == "lstm" else _fused_gru_kernel
        extra = {} if kind == "lstm" else {"reset_after": fc.reset_after}
        try:
            forward_out, backward_out = kernel(
                sequences,
                *forward_state,
                *backward_state,
                mask=None,
                fwd_kernel=fc.kernel,
                fwd_recurrent_kernel=fc.recurrent_kernel,
                fwd_bias=fc.bias,
                bwd_kernel=bc.kernel,
                bwd_recurrent_kernel=bc.recurrent_kernel,
                bwd_bias=bc.bias,
                activation=fc.activation,
                recurrent_activation=fc.recurrent_activation,
                return_sequences=self.return_sequences,
                unroll=self.forward_layer.unroll,
                **extra,
            )
        except NotImplementedError as error:
            return None, f"the backend has no fused kernel for this case ({str(error) or 'no GPU'})"
        forward_last, forward_sequence, forward_states = forward_out
        backward_last, backward_sequence, backward_states = backward_out
        if self.return_sequences:
            # The fused kernels already return the backward sequence in forward time order.
            y, y_backward = forward_sequence, backward_sequence
        else:
            y, y_backward = forward_last, backward_last
        y = ops.cast(y, self.compute_dtype)
        y_backward = ops.cast(y_backward, self.compute_dtype)
        return self._assemble(y, y_backward, tuple(forward_states) + tuple(backward_states)), None

    # ------------------------------------------------------------------ masks and states

    def compute_mask(self, _, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            n_forward = _state_count(self.forward_layer)
            n_backward = _state_count(self.backward_layer)
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
        if len(values) != len(variables):
            raise ValueError(
                f"`states` must hold {len(variables)} arrays: {n_forward} for the forward layer, then "
                f"{len(variables) - n_forward} for the backward layer. Received: {len(values)}."
            )
        for index, (variable, value) in enumerate(zip(variables, values)):
            shape = tuple(np.shape(value))
            if shape != tuple(variable.shape):
                raise ValueError(
                    f"`states[{index}]` must have shape {tuple(variable.shape)}. Received: shape {shape}."
                )
        for variable, value in zip(variables, values):
            variable.assign(ops.cast(value, variable.dtype))

    # ------------------------------------------------------------------ config

    def get_config(self):
        config = {
            "merge_mode": self.merge_mode,
            "layer": keras.saving.serialize_keras_object(self.forward_layer),
            "backward_layer": keras.saving.serialize_keras_object(self.backward_layer),
        }
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"], custom_objects=custom_objects)
        backward_config = config.pop("backward_layer", None)
        if backward_config is not None:
            config["backward_layer"] = keras.saving.deserialize_keras_object(
                backward_config, custom_objects=custom_objects
            )
        return cls(**config)


# ---------------------------------------------------------------------- helpers for one sub-layer


def _call_takes(layer, argument):
    """Whether `layer.call` has a parameter called `argument`."""
    parameters = getattr(layer, "call_signature_parameters", None)
    if parameters is None:  # pragma: no cover - every Keras 3 layer has it
        import inspect

        parameters = inspect.signature(layer.call).parameters
    return argument in parameters


def _sublayer_kwargs(layer, state, mask, training):
    kwargs = {}
    if state is not None and len(state) > 0:
        kwargs["initial_state"] = state
    if _call_takes(layer, "mask"):
        kwargs["mask"] = mask
    if _call_takes(layer, "training"):
        kwargs["training"] = training
    return kwargs


def _state_count(layer):
    """How many state tensors `layer` takes and returns, or None when it does not say."""
    state_size = getattr(layer, "state_size", None)
    if isinstance(state_size, int):
        return 1
    if isinstance(state_size, (list, tuple)):
        return len(state_size)
    return None


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


def _zero_masked_steps(y, mask):
    """Zero the steps of `y` (batch, time, ...) where `mask` (batch, time) is False."""
    mask = ops.cast(mask, "bool")
    while len(mask.shape) < len(y.shape):
        mask = ops.expand_dims(mask, -1)
    return ops.where(mask, y, ops.zeros_like(y))
