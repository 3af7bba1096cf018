"""Differential oracles for the adversarial suite: build a configuration three ways (Keras's wrapper, bidirlib's
wrapper, and two hand-run layers), and take the gradient of the sum of the outputs with the backend's own autodiff.

A configuration is a plain dict (see `tests/library/test_parity_adversarial.py` for the strategy that draws it):

    kind             "SimpleRNN", "LSTM", "GRU", "Stacked" (keras.layers.RNN over [SimpleRNNCell, GRUCell]),
                     "Custom" (keras.layers.RNN over the unregistered cell of helpers.cells)
    units            forward width
    backward         "default" (a copy of `layer` reading backwards), "swapped" (`layer` reads backwards,
                     `backward_layer` reads forwards), "wider" (a backward layer one unit wider),
                     "activation" (a backward layer with relu)
    merge_mode, return_sequences, return_state, unroll, use_bias, dropout (training=False), initial_state
    batch, steps, features, mask ("none", "leading", "holes", "all_false_row"), dtype (a dtype policy name),
    fused_path ("auto" or "off"), seed
"""

import os

import keras
import numpy as np

import bidirlib
from helpers.cells import UnregisteredCell

BACKEND = keras.backend.backend()

#: (atol, rtol) for outputs and for gradients, per dtype policy.
TOLERANCES = {
    "float32": {"outputs": (1e-5, 1e-5), "gradients": (1e-4, 1e-4)},
    "float64": {"outputs": (1e-10, 1e-10), "gradients": (1e-9, 1e-9)},
    "mixed_float16": {"outputs": (1e-2, 1e-2), "gradients": (5e-2, 5e-2)},
    "mixed_bfloat16": {"outputs": (8e-2, 5e-2), "gradients": (3e-1, 1e-1)},
}


def float64_available():
    """float64 computes in float64 on TensorFlow and PyTorch; on JAX only with JAX_ENABLE_X64."""
    if BACKEND != "jax":
        return True
    import jax

    return bool(jax.config.jax_enable_x64)


# ---------------------------------------------------------------------- the layers of a configuration


def make_rnn(config, *, go_backwards, units=None, activation=None, unroll=None, zero_output_for_mask=False,
             name=None):
    """One recurrent layer of `config` (the forward one by default)."""
    units = config["units"] if units is None else units
    unroll = config["unroll"] if unroll is None else unroll
    common = dict(
        return_sequences=config["return_sequences"],
        return_state=config["return_state"],
        go_backwards=go_backwards,
        unroll=unroll,
        zero_output_for_mask=zero_output_for_mask,
        dtype=config["dtype"],
        name=name,
    )
    kind = config["kind"]
    cell_kwargs = {"use_bias": config["use_bias"]}
    if activation is not None:
        cell_kwargs["activation"] = activation
    if kind in ("SimpleRNN", "LSTM", "GRU"):
        dropout = {"dropout": 0.3, "recurrent_dropout": 0.3} if config["dropout"] else {}
        return getattr(keras.layers, kind)(units, **cell_kwargs, **dropout, **common)
    if kind == "Stacked":
        cells = [keras.layers.SimpleRNNCell(units, **cell_kwargs), keras.layers.GRUCell(units, **cell_kwargs)]
        return keras.layers.RNN(cells, **common)
    if kind == "Custom":
        return keras.layers.RNN(UnregisteredCell(units), **common)
    raise ValueError(kind)


def direction_specs(config):
    """[(go_backwards, units, activation)] of the wrapper's `layer` and of its `backward_layer` (None: default)."""
    units = config["units"]
    backward = config["backward"]
    if backward == "default":
        return (False, units, None), None
    if backward == "swapped":
        return (True, units, None), (False, units, None)
    if backward == "wider":
        return (False, units, None), (True, units + 1, None)
    if backward == "activation":
        return (False, units, None), (True, units, "relu")
    raise ValueError(backward)


def make_wrapper(cls, config, **kwargs):
    layer_spec, backward_spec = direction_specs(config)
    layer = make_rnn(config, go_backwards=layer_spec[0], units=layer_spec[1], activation=layer_spec[2], name="rnn")
    if backward_spec is not None:
        kwargs["backward_layer"] = make_rnn(
            config, go_backwards=backward_spec[0], units=backward_spec[1], activation=backward_spec[2],
            name="backward_rnn",
        )
    return cls(layer, merge_mode=config["merge_mode"], dtype=config["dtype"], **kwargs)


def make_bidirlib(config):
    return make_wrapper(bidirlib.Bidirectional, config, fused_path=config["fused_path"])


def make_keras(config):
    return make_wrapper(keras.layers.Bidirectional, config)


def state_widths(config, units):
    kind = config["kind"]
    return {"LSTM": [units, units], "Stacked": [units, units]}.get(kind, [units])


# ---------------------------------------------------------------------- the data of a configuration


def make_mask(kind, batch, steps):
    mask = np.ones((batch, steps), dtype=bool)
    if kind == "none":
        return None
    if kind == "leading":  # padding first: row r starts with min(r + 1, steps - 1) padded steps
        for row in range(batch):
            mask[row, : min(row + 1, max(steps - 1, 1))] = False
    elif kind == "holes":  # holes that do not read the same reversed
        assert steps >= 4
        mask[:, 1] = False
        mask[batch // 2:, steps - 1] = False
        assert (mask != mask[:, ::-1]).any()
    elif kind == "all_false_row":
        mask[0, :] = False
        if batch > 1:
            mask[1:, 0] = False
    else:
        raise ValueError(kind)
    return mask


def make_inputs(config):
    """(x, mask, initial_state) as NumPy arrays (initial_state a list, or None)."""
    rng = np.random.default_rng(config["seed"])
    dtype = "float64" if config["dtype"] == "float64" else "float32"
    x = rng.normal(size=(config["batch"], config["steps"], config["features"])).astype(dtype)
    mask = make_mask(config["mask"], config["batch"], config["steps"])
    states = None
    if config["initial_state"]:
        layer_spec, backward_spec = direction_specs(config)
        backward_units = layer_spec[1] if backward_spec is None else backward_spec[1]
        widths = state_widths(config, layer_spec[1]) + state_widths(config, backward_units)
        states = [(0.5 * rng.normal(size=(config["batch"], w))).astype(dtype) for w in widths]
    return x, mask, states


# ---------------------------------------------------------------------- the hand-run reference


class HandRun:
    """The documented behaviour, computed without any Bidirectional wrapper: each direction is its own layer
    with the wrapper's weights, run rolled (`unroll=False`) and always reading forwards; a layer that reads
    backwards is run on the reversed sequence and reversed mask (so its sequence output comes out in its
    reading order, last input step first, as a `go_backwards` layer's does). Then, as Keras's wrapper does,
    the `backward_layer`'s sequence output is flipped back to input order, and masked steps are zero in
    each layer's own reading order (`zero_output_for_mask`)."""

    def __init__(self, config):
        self.config = config
        layer_spec, backward_spec = direction_specs(config)
        if backward_spec is None:
            backward_spec = (True, layer_spec[1], layer_spec[2])
        self.specs = (layer_spec, backward_spec)
        # Rolled under a mask (where unroll=True is wrong in Keras); without a mask the configuration's own
        # setting, which also keeps away from Keras's JAX GRU kernel, whose scan fails under mixed_bfloat16
        # with an initial_state (carry bfloat16 in, float32 out).
        unroll = config["unroll"] if config["mask"] == "none" else False
        self.layers = [
            make_rnn(config, go_backwards=False, units=units, activation=activation, unroll=unroll,
                     zero_output_for_mask=config["return_sequences"], name=f"hand_{index}")
            for index, (_, units, activation) in enumerate(self.specs)
        ]

    @property
    def trainable_weights(self):
        return self.layers[0].trainable_weights + self.layers[1].trainable_weights

    def build_like(self, wrapper, x, mask, states):
        self(x, mask=mask, initial_state=states)
        values = wrapper.get_weights()
        n_forward = len(self.layers[0].weights)
        assert len(values) == n_forward + len(self.layers[1].weights)
        self.layers[0].set_weights(values[:n_forward])
        self.layers[1].set_weights(values[n_forward:])

    def __call__(self, x, mask=None, initial_state=None, training=False):
        ops = keras.ops
        n_forward = len(state_widths(self.config, self.specs[0][1]))
        parts = [None, None] if initial_state is None else [initial_state[:n_forward], initial_state[n_forward:]]
        results = []
        for layer, (go_backwards, _, _), state in zip(self.layers, self.specs, parts):
            seq, m = x, mask
            if go_backwards:
                seq = ops.flip(seq, axis=1)
                m = None if mask is None else ops.flip(ops.convert_to_tensor(mask), axis=1)
            kwargs = {"training": training}
            if m is not None:
                kwargs["mask"] = m
            if state is not None:
                kwargs["initial_state"] = state
            out = layer(seq, **kwargs)
            results.append(list(out) if self.config["return_state"] else [out])
        forward, backward = results
        y_f, y_b = forward[0], backward[0]
        if self.config["return_sequences"]:
            y_b = ops.flip(y_b, axis=1)
        y_f = ops.cast(y_f, layer.compute_dtype)
        y_b = ops.cast(y_b, layer.compute_dtype)
        merge_mode = self.config["merge_mode"]
        if merge_mode is None:
            outputs = [y_f, y_b]
        elif merge_mode == "concat":
            outputs = [ops.concatenate([y_f, y_b], axis=-1)]
        elif merge_mode == "sum":
            outputs = [y_f + y_b]
        elif merge_mode == "ave":
            outputs = [(y_f + y_b) / 2]
        elif merge_mode == "mul":
            outputs = [y_f * y_b]
        if self.config["return_state"]:
            outputs += forward[1:] + backward[1:]
        return outputs[0] if len(outputs) == 1 else outputs


# ---------------------------------------------------------------------- calling, and the gradients


def to_backend(value):
    return None if value is None else keras.ops.convert_to_tensor(value)


def flat_numpy(outputs):
    return [np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(o, "float64"))) for o in keras.tree.flatten(outputs)]


def _total(outputs, dtype):
    ops = keras.ops
    return sum(ops.sum(ops.cast(o, dtype)) for o in keras.tree.flatten(outputs))


def gradients(call, x, variables):
    """Gradient of the sum of every output of `call(x)` w.r.t. `x` and each of `variables`, with the backend's
    own autodiff (`tf.GradientTape`, `jax.grad`, `torch.autograd.grad`). NumPy arrays; zeros where unused."""
    dtype = "float64" if x.dtype == np.float64 else "float32"
    if BACKEND == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = _total(call(xt), dtype)
        grads = tape.gradient(loss, [xt] + [v.value for v in variables])
    elif BACKEND == "jax":
        import jax

        def loss_of(xj, values):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return _total(call(xj), dtype)

        gx, gv = jax.grad(loss_of, argnums=(0, 1))(jax.numpy.asarray(x), [v.value for v in variables])
        grads = [gx] + list(gv)
    elif BACKEND == "torch":
        import torch

        xt = torch.tensor(x, requires_grad=True)
        loss = _total(call(xt), dtype)
        grads = torch.autograd.grad(loss, [xt] + [v.value for v in variables], allow_unused=True)
    else:
        raise NotImplementedError(BACKEND)
    shapes = [x.shape] + [tuple(v.shape) for v in variables]
    return [
        np.zeros(shape) if g is None else np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(g, "float64")))
        for g, shape in zip(grads, shapes)
    ]


def compare(config, ours, reference, x, mask, states, *, check_gradients=True, label="reference"):
    """Call both on the same inputs (the reference already holds the same weights) and compare every output
    and state, then the gradients of the sum of the outputs w.r.t. the inputs and the trainable weights."""
    kwargs = {"training": False}
    if mask is not None:
        kwargs["mask"] = to_backend(mask)
    if states is not None:
        kwargs["initial_state"] = [to_backend(s) for s in states]
    atol, rtol = TOLERANCES[config["dtype"]]["outputs"]
    expected = flat_numpy(reference(to_backend(x), **kwargs))
    actual = flat_numpy(ours(to_backend(x), **kwargs))
    assert len(actual) == len(expected), f"{len(actual)} outputs, {label} gives {len(expected)}"
    for index, (a, e) in enumerate(zip(actual, expected)):
        assert a.shape == e.shape, f"output {index}: shape {a.shape}, {label} gives {e.shape}"
        np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, err_msg=f"output {index} differs from {label}")
    if not check_gradients:
        return
    ours_vars, ref_vars = ours.trainable_weights, reference.trainable_weights
    assert [tuple(v.shape) for v in ours_vars] == [tuple(v.shape) for v in ref_vars]
    atol, rtol = TOLERANCES[config["dtype"]]["gradients"]
    g_ours = gradients(lambda t: ours(t, **kwargs), x, ours_vars)
    g_ref = gradients(lambda t: reference(t, **kwargs), x, ref_vars)
    names = ["inputs"] + [v.path for v in ours_vars]
    for name, a, e in zip(names, g_ours, g_ref):
        np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, err_msg=f"gradient w.r.t. {name} differs from {label}")


def keras_is_wrong(config):
    """Why Keras's own wrapper cannot be the reference for `config` (None when it can), per KERAS_BEHAVIOUR.md
    and the issue list: there the hand-run layers give the documented behaviour instead."""
    if config["kind"] == "Custom":
        return "Keras cannot wrap an unregistered cell (KERAS_BEHAVIOUR defect 4)"
    if config["backward"] == "wider":
        return "Keras takes its output shape from the forward layer only (KERAS_BEHAVIOUR defect 2)"
    if config["unroll"] and config["mask"] != "none":
        return "Keras's unroll=True under a mask differs from its rolled loop (defect 8 on JAX, issue item 3 on TF)"
    return None


def run_configuration(config):
    """Check bidirlib on `config` against Keras's wrapper, or against the hand-run layers where Keras is wrong.
    Returns which reference was used."""
    x, mask, states = make_inputs(config)
    ours = make_bidirlib(config)
    call_kwargs = {"mask": to_backend(mask), "initial_state": None if states is None else [to_backend(s) for s in states]}
    ours(to_backend(x), **call_kwargs)
    if keras_is_wrong(config):
        reference = HandRun(config)
        reference.build_like(ours, to_backend(x), call_kwargs["mask"], call_kwargs["initial_state"])
        label = "the hand-run layers"
    else:
        reference = make_keras(config)
        reference(to_backend(x), **call_kwargs)
        ours.set_weights(reference.get_weights())
        label = "Keras"
    compare(config, ours, reference, x, mask, states, label=label)
    return label


def environment_fused_path():
    return os.environ.get("BIDIRLIB_FUSED_PATH", "")
