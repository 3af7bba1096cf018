"""Bad input to `Bidirectional`, in one catalogue: each mistake must raise an error of the expected type whose
message names the argument (and, where sensible, what was received or expected), and the layer must still work
on a good input after.

Every error message of the wrapper (constructor, call, weights, config, states) is checked here, and only here.

Each case is one row of `CASES`: (id, action, expected error type, regex, what the action gets). An action
gets either nothing (constructor and config mistakes: afterwards a fresh good layer is built and called) or a
layer that was already called once on a good batch (call-time mistakes: afterwards the same layer is called
on the good batch again and must give the same numbers as before). On PyTorch, cases that might crash the process (a
wrong batch size on PyTorch's fast path) run together in one subprocess.

Cases bidirlib fails today are marked `xfail(strict=True, reason="issue item 9")`, so that what passes is
counted and a fix turns the mark into a failure to remove.
"""

import json
import os
import re
import subprocess
import sys

import keras
from keras import ops
import numpy as np
import pytest

from bidirlib import Bidirectional, check_export
from helpers.cells import UnregisteredSequenceLayer

BACKEND = keras.backend.backend()
BATCH, STEPS, FEATURES, UNITS = 2, 4, 3, 3
GOOD = np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")


def lstm(units=UNITS, **kwargs):
    return keras.layers.LSTM(units, **kwargs)


def built(**kwargs):
    """A bidirlib LSTM wrapper already called on the good batch (return_sequences, so masks show)."""
    layer = Bidirectional(lstm(return_sequences=True), **kwargs)
    layer(GOOD)
    return layer


def built_on(fused_path):
    """`built`, with one fused_path setting: the fast paths must refuse what the separate path refuses."""
    return lambda: built(fused_path=fused_path)


def state(width=UNITS, batch=BATCH):
    return np.zeros((batch, width), "float32")


STATES = [state()] * 4


def received(argument):
    """The message names the argument (in backticks) and says what was received."""
    return rf"(?s)`{re.escape(argument)}`.*Received"


def names(argument):
    return rf"(?s)`{re.escape(argument)}`"


def good_weights():
    return built().get_weights()


def with_weight(index, value):
    weights = good_weights()
    weights[index] = value
    return weights


class Case:
    """`after`: for a case that takes a layer, a check of that layer once the error was raised."""

    def __init__(self, id, action, error, pattern, *, takes_layer=False, layer=built, crash=False, issue=None,
                 after=None):
        self.id, self.action, self.error, self.pattern = id, action, error, pattern
        self.takes_layer, self.layer, self.crash, self.issue = takes_layer, layer, crash, issue
        self.after = after


class NoDirection(keras.layers.Layer):
    """Says whether it returns sequences and states, but not which way it reads."""

    return_sequences = False
    return_state = False


class FlatOnly(UnregisteredSequenceLayer):
    """Has the RNN attributes, but its input_spec takes (batch, features) only: it cannot read sequences."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = keras.InputSpec(ndim=2)


class FirstStepLast(UnregisteredSequenceLayer):
    """Without return_sequences it returns its first step, where the wrapper expects its last."""

    def call(self, sequences):
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
        steps = ops.arange(1, ops.shape(sequences)[1] + 1, dtype=sequences.dtype)[None, :, None]
        means = self.dense(ops.cumsum(sequences, axis=1) / steps)
        output = means if self.return_sequences else means[:, 0]
        return (output, means[:, -1]) if self.return_state else output


def built_backward_lstm(features):
    """A backward LSTM built (and so given weights) on inputs of `features` features."""
    layer = lstm(go_backwards=True, return_sequences=True)
    layer(np.zeros((BATCH, STEPS, features), "float32"))
    return layer


def _sum_over_features(forward, backward):
    return ops.sum(forward + backward, axis=-1)


def _both(forward, backward):
    return forward, backward


def _local_function():
    def add(forward, backward):
        return forward + backward

    return add


def construct(**kwargs):
    return lambda: Bidirectional(**{"layer": lstm(), **kwargs})


def construct_and_call(**kwargs):
    return lambda: Bidirectional(**{"layer": lstm(), **kwargs})(GOOD)


def call(**kwargs):
    return lambda layer: layer(kwargs.pop("sequences", GOOD), **kwargs)


def call_with(sequences, **kwargs):
    return lambda layer: layer(sequences, **kwargs)


def symbolic(build):
    """Call a fresh wrapper on symbolic inputs, as in a functional model."""
    return lambda: build(Bidirectional(lstm(return_sequences=True)))


def from_config(**changes):
    def action():
        config = Bidirectional(lstm()).get_config()
        for key, value in changes.items():
            if value is _DROP:
                config.pop(key, None)
            else:
                config[key] = value
        return Bidirectional.from_config(config)

    return action


_DROP = object()

CASES = [
    # ------------------------------------------------------------ layer
    Case("layer-none", lambda: Bidirectional(None), ValueError, r"(?s)`layer`.*Received: layer=None"),
    Case("layer-str", lambda: Bidirectional("lstm"), ValueError,
         r"(?s)`layer`.*keras\.layers\.Layer.*Received: layer='lstm' of type str"),
    Case("layer-int", lambda: Bidirectional(42), ValueError, r"(?s)`layer`.*Received: layer=42"),
    Case("layer-class", lambda: Bidirectional(keras.layers.LSTM), ValueError, received("layer")),
    Case("layer-list", lambda: Bidirectional([lstm()]), ValueError, received("layer")),
    Case("layer-dense", lambda: Bidirectional(keras.layers.Dense(3)), ValueError,
         r"(?s)`layer`.*no `go_backwards`, `return_sequences`, `return_state` attribute"),
    Case("layer-cell", lambda: Bidirectional(keras.layers.LSTMCell(3)), ValueError, r"(?s)`layer`.*go_backwards"),
    Case("layer-missing", lambda: Bidirectional(), TypeError, r"layer"),
    # ------------------------------------------------------------ backward_layer
    Case("backward-int", construct(backward_layer=42), ValueError,
         r"(?s)`backward_layer`.*Received: backward_layer=42 of type int"),
    Case("backward-str", construct(backward_layer="gru"), ValueError, received("backward_layer")),
    Case("backward-class", construct(backward_layer=keras.layers.GRU), ValueError, received("backward_layer")),
    Case("backward-dense", construct(backward_layer=keras.layers.Dense(3)), ValueError,
         r"(?s)`backward_layer`.*go_backwards"),
    Case("backward-no-go-backwards", construct(backward_layer=NoDirection()), ValueError,
         r"(?s)`backward_layer`.*no `go_backwards` attribute"),
    Case("backward-same-direction", construct(backward_layer=lstm()), ValueError,
         r"(?s)different `go_backwards`.*layer.go_backwards=False, backward_layer.go_backwards=False"),
    *[
        Case(f"backward-{attribute.replace('_', '-')}",
             construct(backward_layer=lstm(go_backwards=True, **{attribute: True})),
             ValueError, rf"(?s)same `{attribute}`.*layer.{attribute}=False, backward_layer.{attribute}=True")
        for attribute in ("return_sequences", "return_state", "stateful")
    ],
    Case("backward-built-on-other-features",
         lambda: Bidirectional(lstm(return_sequences=True), backward_layer=built_backward_lstm(FEATURES + 2))(GOOD),
         ValueError, r"(?s)`backward_layer`.*built for inputs of 5 features.*`sequences` has 3"),
    Case("layer-takes-flat-inputs-only", lambda: Bidirectional(FlatOnly()), ValueError,
         r"(?s)`layer`.*at most 2 axes"),
    Case("layer-last-output-not-its-last-step", lambda: Bidirectional(FirstStepLast()), ValueError,
         r"(?s)`layer`.*not the last step"),
    # ------------------------------------------------------------ the order of the checks follows Keras
    Case("order-layer-before-merge-mode", lambda: Bidirectional(None, merge_mode="bad"), ValueError, r"`layer`"),
    Case("order-merge-mode-before-backward-layer", construct(merge_mode="bad", backward_layer=lstm()), ValueError,
         r"`merge_mode`"),
    # ------------------------------------------------------------ merge_mode
    *[
        Case(f"merge-mode-{label}", construct(merge_mode=value), ValueError,
             r"(?s)`merge_mode`.*Received: merge_mode=.*Expected one of")
        for label, value in [("average", "average"), ("Concat", "Concat"), ("empty", ""), ("zero", 0),
                             ("false", False), ("list", ["sum"]), ("none-string", "None"), ("float", 1.5),
                             ("max", "max"), ("class", keras.layers.Add)]
    ],
    # A function of the user's: one tensor back, the directions' leading axes kept, saveable when saved.
    Case("merge-function-drops-an-axis", construct_and_call(merge_mode=_sum_over_features), ValueError,
         r"(?s)`merge_mode`=_sum_over_features must return a tensor of rank 2.*Received: an output of shape \(2,\)"),
    Case("merge-function-drops-an-axis-symbolic",
         lambda: Bidirectional(lstm(), merge_mode=_sum_over_features)(keras.Input((STEPS, FEATURES))),
         ValueError, r"(?s)`merge_mode`=_sum_over_features must return a tensor of rank 2.*shape \(None,\)"),
    Case("merge-function-returns-a-pair", construct_and_call(merge_mode=_both), ValueError,
         r"(?s)`merge_mode`=_both must return one tensor.*Received: tuple"),
    Case("merge-function-not-saveable", lambda: Bidirectional(lstm(), merge_mode=_local_function()).get_config(),
         ValueError, r"(?s)`merge_mode`=_local_function.<locals>.add cannot be saved.*register_keras_serializable"),
    *[
        Case(f"merge-{mode}-unequal-widths", construct(merge_mode=mode, backward_layer=lstm(5, go_backwards=True)),
             ValueError, rf'(?s)merge_mode="{mode}".*forward width 3, backward width 5')
        for mode in ("sum", "mul", "ave")
    ],
    Case("merge-sum-unequal-widths-at-build",
         lambda: Bidirectional(UnregisteredSequenceLayer(2),
                               backward_layer=UnregisteredSequenceLayer(4, go_backwards=True), merge_mode="sum")(GOOD),
         ValueError, r"forward width 2, backward width 4"),
    # ------------------------------------------------------------ fused_path
    *[
        Case(f"fused-path-{label}", construct(fused_path=value), ValueError,
             r"`fused_path` must be one of \('auto', 'stacked', 'off'\)\. Received: fused_path="
             + re.escape(repr(value)))
        for label, value in [("on", "on"), ("upper", "AUTO"), ("none", None), ("true", True), ("zero", 0),
                             ("fused", "fused"), ("list", ["auto"])]
    ],
    Case("fused-path-attribute", lambda layer: setattr(layer, "fused_path", "fast"), ValueError,
         r"(?s)`fused_path`.*Received: fused_path='fast'", takes_layer=True,
         after=lambda layer: layer.fused_path == "auto"),
    # ------------------------------------------------------------ other constructor arguments
    Case("unknown-kwarg", construct(foo=1), ValueError, r"Unrecognized keyword arguments.*foo"),  # Keras's Layer
    Case("dtype-bad", construct(dtype="floaty"), ValueError, r"floaty"),
    # ------------------------------------------------------------ weights
    # Weights of the wrong form are refused at construction, before any call.
    Case("weights-int", construct(weights=3), ValueError, r"(?s)`weights` must be a list.*Received: weights=3"),
    Case("weights-str", construct(weights="abc"), ValueError, r"(?s)`weights` must be a list.*Received: weights='abc'"),
    Case("weights-dict", construct(weights={"kernel": np.zeros((3, 12))}), ValueError,
         r"(?s)`weights` must be a list.*Received"),
    Case("weights-all-none", construct(weights=[None] * 6), ValueError, r"(?s)`weights\[0\]` must be an array.*None"),
    Case("weights-one-none", lambda: Bidirectional(lstm(), weights=with_weight(5, None))(GOOD), ValueError,
         r"(?s)`weights\[5\]`.*None"),
    Case("weights-count", construct_and_call(weights=[np.zeros((3, 12))]), ValueError,
         r"(?s)`weights` must hold 6 arrays: 3 for the forward layer, then 3 for the backward layer.*Received: 1"),
    Case("weights-too-many", lambda: Bidirectional(lstm(), weights=good_weights() * 2)(GOOD), ValueError,
         r"(?s)`weights` must hold 6 arrays.*Received: 12"),
    Case("weights-shape", lambda: Bidirectional(lstm(), weights=with_weight(4, np.zeros((7, 7))))(GOOD), ValueError,
         r"(?s)`weights\[4\]` is for .*recurrent_kernel and must have shape \(3, 12\).*\(7, 7\)"),
    Case("weights-strings", construct(weights=["a"] * 6), ValueError, r"`weights\[0\]` must be an array"),
    Case("weights-string-inside", construct(weights=[np.zeros(2), "x"]), ValueError,
         r"`weights\[1\]` must be an array"),
    Case("weights-flat-array", construct_and_call(weights=np.zeros(6)), ValueError, r"(?s)`weights(\[0\])?`"),
    Case("weights-nested", lambda: Bidirectional(lstm(), weights=[good_weights()[:3], good_weights()[3:]])(GOOD),
         ValueError, r"(?s)`weights\[0\]` must be an array of numbers"),
    Case("set-weights-count", lambda layer: layer.set_weights([np.zeros((3, 12))]), ValueError, r"(?s)weight",
         takes_layer=True),
    # ------------------------------------------------------------ from_config
    Case("from-config-no-layer", from_config(layer=_DROP), ValueError, r"needs a config dict holding `layer`"),
    Case("from-config-layer-none", from_config(layer=None), ValueError, names("layer")),
    Case("from-config-layer-str", from_config(layer="LSTM"), ValueError, names("layer")),
    Case("from-config-merge-mode", from_config(merge_mode="average"), ValueError, received("merge_mode")),
    Case("from-config-fused-path", from_config(fused_path="fast"), ValueError, received("fused_path")),
    Case("from-config-not-dict", lambda: Bidirectional.from_config("config"), ValueError, names("config")),
    # ------------------------------------------------------------ sequences
    Case("sequences-none", call_with(None), ValueError, r"(?s)`sequences`.*Received: sequences=None", takes_layer=True),
    Case("sequences-str", call_with("abc"), ValueError, received("sequences"), takes_layer=True),
    Case("sequences-scalar", call_with(np.float32(1.0)), ValueError, received("sequences"), takes_layer=True),
    Case("sequences-1d", call_with(np.zeros((4,), "float32")), ValueError, received("sequences"), takes_layer=True),
    Case("sequences-2d", call_with(np.zeros((2, 5), "float32")), ValueError,
         r"(?s)`sequences` of shape \(batch, timesteps, features\).*Received: shape \(2, 5\)", takes_layer=True),
    Case("sequences-4d", call_with(np.zeros((2, 4, 3, 1), "float32")), ValueError, r"(?s)(`sequences`|ndim)",
         takes_layer=True),
    *[
        Case(f"sequences-features{suffix}", call_with(np.zeros((2, 4, 5), "float32")), ValueError,
             r"(?s)`sequences` has 5 features.*\(2, 4, 5\)", takes_layer=True, layer=built_on(fused_path))
        for suffix, fused_path in (("", "auto"), ("-fused-path-stacked", "stacked"), ("-fused-path-off", "off"))
    ],
    Case("sequences-strings", call_with(np.full((2, 4, 3), "a")), ValueError, names("sequences"), takes_layer=True),
    Case("sequences-dict", call_with({"x": GOOD}), ValueError, received("sequences"), takes_layer=True),
    Case("sequences-2d-first-call", lambda: Bidirectional(lstm())(np.zeros((2, 5), "float32")), ValueError,
         r"(?s)`sequences` of shape \(batch, timesteps, features\).*Received: shape \(2, 5\)"),
    Case("sequences-symbolic-2d", lambda: Bidirectional(lstm())(keras.Input((5,))), ValueError,
         r"(?s)`sequences` of shape \(batch, timesteps, features\).*Received: shape \(None, 5\)"),
    Case("sequences-missing", lambda layer: layer(), TypeError, r"sequences", takes_layer=True),
    # ------------------------------------------------------------ initial_state
    Case("initial-state-str", call(initial_state="abc"), ValueError, r"(?s)`initial_state` must be a list.*Received",
         takes_layer=True),
    Case("initial-state-dict", call(initial_state={"h": state()}), ValueError,
         r"(?s)`initial_state` must be a list.*Received", takes_layer=True),
    Case("initial-state-int", call(initial_state=0), ValueError, received("initial_state"), takes_layer=True),
    Case("initial-state-all-none", call(initial_state=[None] * 4), ValueError, r"(?s)`initial_state\[0\]`.*None",
         takes_layer=True),
    Case("initial-state-one-none", call(initial_state=[state(), state(), None, state()]), ValueError,
         r"(?s)`initial_state(\[2\])?`.*None", takes_layer=True),
    Case("initial-state-single-tensor", call(initial_state=state()), ValueError,
         r"(?s)`initial_state` must be a list of 4 tensors \(2 for the forward layer, then 2 for the backward layer\)"
         r".*single", takes_layer=True),
    *[
        Case(f"initial-state-count-{count}", call(initial_state=[state()] * count), ValueError,
             r"(?s)`initial_state` must hold 4 tensors: 2 for the forward layer \(forward_lstm.*\), then 2 for the "
             rf"backward layer .*Received: {count} tensors", takes_layer=True)
        for count in (0, 1, 2, 3, 5, 8)
    ],
    # The same on a layer's first call (its weights not built yet).
    Case("initial-state-single-tensor-first-call", lambda: Bidirectional(lstm())(GOOD, initial_state=state()),
         ValueError, r"(?s)`initial_state` must be a list of 4 tensors \(2 for the forward layer, then 2 for the "
                     r"backward layer\).*single"),
    *[
        Case(f"initial-state-count-{count}-first-call",
             (lambda count: lambda: Bidirectional(lstm())(GOOD, initial_state=[state()] * count))(count), ValueError,
             r"(?s)`initial_state` must hold 4 tensors: 2 for the forward layer \(forward_lstm.*\), then 2 for the "
             rf"backward layer .*Received: {count} tensors")
        for count in (1, 2, 3, 5)
    ],
    # Keras defect 3: the count follows each direction's own states (an LSTM's two, then a GRU's one).
    Case("initial-state-count-per-direction",
         lambda: Bidirectional(lstm(return_state=True), backward_layer=keras.layers.GRU(3, return_state=True,
                                                                                       go_backwards=True))(
             GOOD, initial_state=[state()] * 4),
         ValueError, r"(?s)`initial_state` must hold 3 tensors: 2 for the forward layer .*then 1 for the backward layer"
                     r".*Received: 4 tensors"),
    Case("initial-state-tuple-count", call(initial_state=(state(),) * 3), ValueError,
         r"(?s)`initial_state` must hold 4 tensors.*Received: 3", takes_layer=True),
    Case("initial-state-nested", call(initial_state=[[state(), state()], [state(), state()]]), ValueError,
         names("initial_state"), takes_layer=True),
    *[
        Case(f"initial-state-width-{index}", call(initial_state=[state(4 if i == index else UNITS) for i in range(4)]),
             ValueError,
             rf"(?s)`initial_state\[{index}\]` is state {index % 2} of .* must have shape \(2, 3\).*\(2, 4\)",
             takes_layer=True)
        for index in range(4)
    ],
    *[
        Case(f"initial-state-width-0-fused-path-{fused_path}", call(initial_state=[state(4)] * 4), ValueError,
             r"(?s)`initial_state\[0\]` is state 0 of .* must have shape \(2, 3\).*\(2, 4\)", takes_layer=True,
             layer=built_on(fused_path))
        for fused_path in ("stacked", "off")
    ],
    Case("initial-state-rank-1", call(initial_state=[np.zeros((UNITS,), "float32")] * 4), ValueError,
         r"(?s)`initial_state(\[0\])?`.*\(3,\)", takes_layer=True),
    Case("initial-state-rank-3", call(initial_state=[np.zeros((BATCH, 1, UNITS), "float32")] * 4), ValueError,
         r"(?s)`initial_state(\[0\])?`.*\(2, 1, 3\)", takes_layer=True),
    Case("initial-state-strings", call(initial_state=[np.full((BATCH, UNITS), "a")] * 4), ValueError,
         names("initial_state"), takes_layer=True),
    # A wrong batch size could crash the process on PyTorch's fast path: these run in a child process.
    *[
        Case(f"initial-state-batch{suffix}", call(initial_state=[state(batch=5)] * 4), ValueError,
             r"(?s)`initial_state\[0\]` is state 0 of .* must have shape \(2, 3\).*\(5, 3\)", takes_layer=True,
             crash=True, layer=built_on(fused_path))
        for suffix, fused_path in (("", "auto"), ("-fused-path-stacked", "stacked"), ("-fused-path-off", "off"))
    ],
    Case("initial-state-batch-one", call(initial_state=[state(batch=1)] * 4), ValueError,
         r"(?s)`initial_state(\[0\])?`.*\(1, 3\)", takes_layer=True, crash=True),
    Case("initial-state-symbolic-single", symbolic(lambda layer: layer(keras.Input((STEPS, FEATURES)),
                                                                       initial_state=keras.Input((UNITS,)))),
         ValueError, r"(?s)`initial_state` must be a list of 4 tensors.*single"),
    Case("initial-state-symbolic-count", symbolic(lambda layer: layer(keras.Input((STEPS, FEATURES)),
                                                                      initial_state=[keras.Input((UNITS,))] * 3)),
         ValueError, r"(?s)`initial_state` must hold 4 tensors.*Received: 3"),
    Case("initial-state-symbolic-width", symbolic(lambda layer: layer(keras.Input((STEPS, FEATURES)),
                                                                      initial_state=[keras.Input((5,))] * 4)),
         ValueError, r"(?s)`initial_state(\[0\])?`.*5"),
    # Keras defect 6: initial_state goes only to a layer whose call takes it.
    Case("initial-state-not-taken",
         lambda: Bidirectional(UnregisteredSequenceLayer(2),
                               backward_layer=UnregisteredSequenceLayer(2, go_backwards=True))(
             GOOD, initial_state=[state(2), state(2)]),
         ValueError, r"`initial_state` was given, but .* does not take an `initial_state` argument"),
    Case("initial-state-not-taken-default-backward",
         lambda: Bidirectional(UnregisteredSequenceLayer(2))(GOOD, initial_state=[state(2), state(2)]),
         ValueError, r"`initial_state` was given, but .* does not take an `initial_state` argument"),
    # ------------------------------------------------------------ mask
    Case("mask-str", call(mask="abc"), ValueError, r"(?s)`mask` must be a boolean tensor.*Received", takes_layer=True),
    Case("mask-int", call(mask=1), ValueError, received("mask"), takes_layer=True),
    Case("mask-dict", call(mask={"m": np.ones((BATCH, STEPS), bool)}), ValueError, received("mask"),
         takes_layer=True),
    Case("mask-batch-only", call(mask=np.ones((BATCH,), bool)), ValueError, r"(?s)`mask` must have shape.*\(2,\)",
         takes_layer=True),
    Case("mask-batch-one", call(mask=np.ones((BATCH, 1), bool)), ValueError, r"(?s)`mask` must have shape.*\(2, 1\)",
         takes_layer=True),
    Case("mask-rank-3", call(mask=np.ones((BATCH, STEPS, 1), bool)), ValueError, r"(?s)`mask`.*\(2, 4, 1\)",
         takes_layer=True),
    Case("mask-wrong-batch", call(mask=np.ones((5, STEPS), bool)), ValueError, r"(?s)`mask` must have shape.*\(5, 4\)",
         takes_layer=True, crash=True),
    Case("mask-wrong-length", call(mask=np.ones((BATCH, 6), bool)), ValueError, r"(?s)`mask` must have shape.*\(2, 6\)",
         takes_layer=True, crash=True),
    Case("mask-shorter", call(mask=np.ones((BATCH, 2), bool)), ValueError, r"(?s)`mask`.*\(2, 2\)",
         takes_layer=True, crash=True),
    Case("mask-strings", call(mask=np.full((BATCH, STEPS), "a")), ValueError, r"`mask` must be boolean",
         takes_layer=True),
    Case("mask-list-ragged", call(mask=[[True] * STEPS, [True] * 2]), ValueError, names("mask"), takes_layer=True),
    Case("mask-transposed", call(mask=np.ones((STEPS, BATCH), bool)), ValueError, r"(?s)`mask`.*\(4, 2\)",
         takes_layer=True, crash=True),
    # ------------------------------------------------------------ states
    Case("reset-states-not-stateful", lambda layer: layer.reset_states(), AttributeError, r"Layer must be stateful",
         takes_layer=True),
    Case("reset-states-not-stateful-unbuilt", lambda: Bidirectional(lstm()).reset_states(), AttributeError,
         r"Layer must be stateful\."),
    Case("reset-state-not-stateful", lambda layer: layer.reset_state(), AttributeError, r"Layer must be stateful",
         takes_layer=True),
    Case("reset-states-count", lambda layer: layer.reset_states([state()] * 3), ValueError,
         r"(?s)`states` must hold 4 arrays: 2 for the forward layer, then 2 for the backward layer.*Received: 3",
         takes_layer=True, layer=lambda: _stateful()),
    Case("reset-states-shape", lambda layer: layer.reset_states([state(), state(4), state(), state()]), ValueError,
         r"`states\[1\]` is for .*rnn_state and must have shape \(2, 3\)\. Received: an array of shape \(2, 4\)",
         takes_layer=True, layer=lambda: _stateful()),
    Case("reset-states-str", lambda layer: layer.reset_states("zeros"), ValueError, received("states"),
         takes_layer=True, layer=lambda: _stateful()),
    # ------------------------------------------------------------ check_export (nothing is exported: refused first)
    Case("export-format-torch", lambda: check_export(_model(), GOOD, format="torch"), ValueError,
         r"`format` must be one of \('onnx', 'tf_saved_model'\).*Received: format='torch'"),
    Case("export-format-none", lambda: check_export(_model(), GOOD, format=None), ValueError, received("format")),
    Case("export-a-layer", lambda: check_export(Bidirectional(lstm()), GOOD), ValueError,
         r"(?s)check_export expects `model` to be a `keras.Model`.*Received: model=.*of type Bidirectional"),
]


def _model():
    inputs = keras.Input((STEPS, FEATURES))
    return keras.Model(inputs, Bidirectional(lstm())(inputs))


def test_check_export_without_its_runtime_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed: importing it raises ImportError
    with pytest.raises(ImportError, match=r"needs onnxruntime, which is not installed.*bidirlib\[export\]"):
        check_export(_model(), GOOD)


def _stateful():
    layer = Bidirectional(lstm(return_sequences=True, stateful=True))
    layer(GOOD)
    return layer


#: Cases bidirlib fails today (issue item 9): {id: {backend or "*": what happens instead}}.
FAILING = {
    "from-config-not-dict": {"*": "TypeError: string indices must be integers (Keras reads the config first)"},
    "sequences-strings": {"*": "a backend cast error (UnimplementedError / 'Invalid dtype: str32')"},
    "initial-state-strings": {"*": "a backend cast error"},
}


def run_case(case):
    """Run one case; raise AssertionError (or the unexpected error) when it does not behave."""
    if case.takes_layer:
        layer = case.layer()
        before = [keras.ops.convert_to_numpy(v) for v in keras.tree.flatten(layer(GOOD))]
        with pytest.raises(case.error, match=case.pattern):
            case.action(layer)
        if case.after is not None:
            assert case.after(layer), "the layer changed although the input was refused"
    else:
        with pytest.raises(case.error, match=case.pattern):
            case.action()
        layer = built()
        before = None
    after = [keras.ops.convert_to_numpy(v) for v in keras.tree.flatten(layer(GOOD))]
    assert after[0].shape == (BATCH, STEPS, 2 * UNITS)
    assert all(np.isfinite(a).all() for a in after)
    if before is not None and not getattr(layer, "stateful", False):
        for a, b in zip(after, before):
            np.testing.assert_allclose(a, b, atol=1e-6, err_msg="the layer gives other numbers after the bad input")


def _marks(case):
    reason = FAILING.get(case.id, {}).get(BACKEND) or FAILING.get(case.id, {}).get("*")
    return [pytest.mark.xfail(strict=True, reason=f"issue item 9: {reason}")] if reason else []


def test_catalogue_is_large_and_ids_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 80, len(ids)


#: Only PyTorch has taken the process down on a bad input (a wrong-batch state on its fast path): there the cases
#: that might crash run in a child process; elsewhere with the others, without a second interpreter to start.
ISOLATED = [case for case in CASES if case.crash and BACKEND == "torch"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=_marks(c)) for c in CASES if c not in ISOLATED])
def test_bad_input(case):
    run_case(case)


# ---------------------------------------------------------------------- cases that might crash the process

_CHILD = """
import json, sys
sys.path[:0] = [{tests!r}, {library!r}]
import test_errors as catalogue
for case in catalogue.CASES:
    if case.id not in sys.argv[1:]:
        continue
    print(json.dumps({{"id": case.id, "status": "started"}}), flush=True)
    try:
        catalogue.run_case(case)
    except BaseException as error:
        print(json.dumps({{"id": case.id, "status": "failed", "error": f"{{type(error).__name__}}: {{error}}"[:1500]}}),
              flush=True)
    else:
        print(json.dumps({{"id": case.id, "status": "passed"}}), flush=True)
"""


@pytest.fixture(scope="module")
def isolated_results():
    """Run every crash-prone case in one child process; a case it started and never finished crashed it."""
    library = os.path.dirname(os.path.abspath(__file__))
    tests = os.path.dirname(library)
    env = {**os.environ, "KERAS_BACKEND": BACKEND,
           "PYTHONPATH": os.pathsep.join([os.path.dirname(tests), tests, os.environ.get("PYTHONPATH", "")])}
    results = {}
    remaining = [case.id for case in ISOLATED]
    while remaining:  # after a crash, a fresh child runs the cases the dead one did not reach
        child = subprocess.run([sys.executable, "-c", _CHILD.format(tests=tests, library=library), *remaining],
                               env=env, capture_output=True, text=True, timeout=600)
        for line in child.stdout.splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                results[record["id"]] = record
        for record in results.values():
            if record["status"] == "started":
                record["status"] = "crashed"
                record["error"] = f"the process died (rc {child.returncode}): {child.stderr[-1500:]}"
        remaining = [case_id for case_id in remaining if case_id not in results]
        if child.returncode == 0 and remaining:
            raise RuntimeError(f"the child process skipped {remaining}: {child.stderr[-1500:]}")
    return results


# The default tier, though it starts a process: one short child, whose crash (PyTorch took the process down on a
# wrong-batch state) must fail the run.
@pytest.mark.skipif(not ISOLATED, reason="no case needs its own process on this backend")
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=_marks(c)) for c in ISOLATED] or [None])
def test_bad_input_isolated(case, isolated_results):
    record = isolated_results.get(case.id)
    assert record is not None, "the child process never reached this case"
    assert record["status"] == "passed", record.get("error")
