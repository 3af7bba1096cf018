"""The checker: does a layer meet the API page's four criteria for `Bidirectional`? A report, criterion by criterion.

The Keras API page lists four criteria for a wrappable layer: it processes sequences (3D+ inputs); it has
`go_backwards`, `return_sequences` and `return_state` with the RNN semantics; it has an `input_spec`; it serializes
with `get_config()`/`from_config()`. `check_sequence_layer` runs copies of a layer to check all four by behaviour
and reports on each; the wrapper's own fail-fast errors are in `bidirlib.errors`.

`check_wrapping` is the cheaper check `Bidirectional` runs when it is built: only what the layer's own
configuration needs (can it be copied, does its `go_backwards` read from the end with its own `return_sequences`
and `return_state`), split into what breaks wrapping and what only deserves a warning.
"""

import dataclasses
import warnings as python_warnings

import keras
import numpy as np

from bidirlib.cloning import clone_layer, without_sharing_ids
from bidirlib.errors import DIRECTION_ATTRIBUTES, describe_layer, missing_attributes, refuse_wrapping, require_layer, wrapping_warning


# ---------------------------------------------------------------------- the behavioural checker

#: The API page's four criteria, numbered as there.
CRITERIA = {
    1: "processes sequences (3D+ inputs)",
    2: "has go_backwards, return_sequences and return_state with the RNN meaning",
    3: "has an input_spec",
    4: "serializes with get_config() and from_config()",
}


@dataclasses.dataclass(frozen=True)
class CriterionResult:
    """One criterion's verdict: its number and name, whether it passed, and why, in a sentence."""

    number: int
    name: str
    passed: bool
    reason: str

    def __str__(self):
        return f"[{'pass' if self.passed else 'FAIL'}] {self.number}. {self.name}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class SequenceLayerReport:
    """What `check_sequence_layer` found: `.ok`, and one `CriterionResult` per criterion in `.criteria`."""

    layer: str
    criteria: tuple

    @property
    def ok(self):
        return all(result.passed for result in self.criteria)

    @property
    def failures(self):
        return tuple(result for result in self.criteria if not result.passed)

    def __str__(self):
        verdict = "can be wrapped by Bidirectional" if self.ok else "cannot be wrapped by Bidirectional"
        lines = [f"{self.layer}: {verdict}"]
        lines += [f"  {result}" for result in self.criteria]
        return "\n".join(lines)


def check_sequence_layer(layer, features=None, timesteps=5, atol=1e-5):
    """Check, by running it, whether `layer` meets the four criteria for `Bidirectional`.

    It tests behaviour, not only attributes: copies of the layer with the same weights are run on a small
    random batch, to see that `go_backwards=True` gives what reading the reversed sequence forwards gives,
    that `return_sequences=False` gives the last step of the sequence, that `return_state=True` adds states
    after that output, and that the config rebuilds an equal layer. The layer itself is never changed.

    Args:
        layer: the `keras.layers.Layer` to check.
        features: size of the last axis of the test input; by default the layer's built input size, or 3.
        timesteps: length of the test sequences.
        atol: tolerance when comparing outputs.

    Returns:
        A `SequenceLayerReport`: `.ok` is True when every criterion passed; `print(report)` explains each.

    Example:

    >>> import keras
    >>> from bidirlib import check_sequence_layer
    >>> check_sequence_layer(keras.layers.GRU(4)).ok
    True
    >>> report = check_sequence_layer(keras.layers.Dense(4))
    >>> report.ok, [result.number for result in report.failures]
    (False, [2])
    """
    require_layer(layer, "layer")
    title = describe_layer(layer)
    shape = (2, timesteps, features) if features else _probe_shape(layer, timesteps)
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    results = {}

    # 4. Serialization first: the behavioural checks run on copies made from the config.
    try:
        copy = clone_layer(layer)
        original_config = without_sharing_ids(layer.get_config())
        copy_config = without_sharing_ids(copy.get_config())
        differing = sorted(
            key for key in set(copy_config) | set(original_config)
            if copy_config.get(key) != original_config.get(key)
        )
        unrecorded = [
            name for name in DIRECTION_ATTRIBUTES
            if hasattr(layer, name) and original_config.get(name) != getattr(layer, name)
        ]
        if unrecorded:
            results[4] = (False, f"get_config() does not record {', '.join(f'`{n}`' for n in unrecorded)}, so a "
                          "copy made from it loses the setting; add it to get_config().")
        elif differing:
            results[4] = (False, f"rebuilding it from get_config() changes {', '.join(differing)}; "
                          "get_config() must return every constructor argument.")
        else:
            results[4] = (True, "from_config(get_config()) rebuilds an equal layer.")
    except Exception as error:  # any failure here is the user's layer's, reported rather than raised
        copy = None
        results[4] = (False, f"rebuilding it from its config failed: {type(error).__name__}: {error}. "
                      "Implement get_config() returning the constructor arguments (and from_config if needed).")

    # 1. Sequence processing.
    if copy is None:
        results[1] = (False, "not checked: the layer could not be copied from its config (criterion 4).")
    else:
        try:
            output = keras.tree.flatten(copy(x))[0]
            shape = tuple(output.shape)
            if len(shape) < 2 or shape[0] != 2:
                results[1] = (False, f"on a {x.shape} input it returned shape {shape}; expected the batch "
                              "axis first.")
            else:
                results[1] = (True, f"on a {x.shape} input it returned shape {shape}.")
        except Exception as error:
            results[1] = (False, f"calling it on a {x.shape} input (batch, timesteps, features) raised "
                          f"{type(error).__name__}: {_first_line(error)}")

    # 2. RNN attributes and their meaning.
    missing = missing_attributes(layer)
    if missing:
        results[2] = (False, missing)
    elif copy is None or not results[1][0]:
        results[2] = (False, "not checked: the layer could not be copied or run (criteria 1 and 4).")
    else:
        results[2] = _check_direction_semantics(layer, x, atol)

    # 3. input_spec.
    if not hasattr(layer, "input_spec"):
        results[3] = (False, "it has no `input_spec` attribute.")
    elif layer.input_spec is None:
        results[3] = (True, "input_spec is None, so Keras will not check the input's rank; "
                      "consider keras.InputSpec(min_ndim=3).")
    else:
        results[3] = (True, f"input_spec is {layer.input_spec}.")

    criteria = tuple(CriterionResult(n, CRITERIA[n], *results[n]) for n in sorted(results))
    return SequenceLayerReport(title, criteria)


def _check_direction_semantics(layer, x, atol):
    def variant(**overrides):
        copy = clone_layer(layer, stateful=False, **overrides) if "stateful" in layer.get_config() else clone_layer(
            layer, **overrides
        )
        copy(x)
        return copy

    def run(copy, inputs):
        return [keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(copy(inputs))]

    try:
        sequence_layer = variant(go_backwards=False, return_sequences=True, return_state=False)
        weights = sequence_layer.get_weights()
        (sequence,) = run(sequence_layer, x)
        if sequence.ndim < 3 or sequence.shape[1] != x.shape[1]:
            return False, (f"with return_sequences=True it returned shape {sequence.shape}; expected one output "
                           f"per step, (2, {x.shape[1]}, ...).")

        last_layer = variant(go_backwards=False, return_sequences=False, return_state=False)
        last_layer.set_weights(weights)
        (last,) = run(last_layer, x)
        if last.shape != sequence[:, -1].shape or not np.allclose(last, sequence[:, -1], atol=atol):
            return False, ("with return_sequences=False the output is not the last step of the "
                           "return_sequences=True output.")

        backward_layer = variant(go_backwards=True, return_sequences=True, return_state=False)
        backward_layer.set_weights(weights)
        (backward,) = run(backward_layer, x)
        (on_reversed,) = run(sequence_layer, x[:, ::-1])
        if backward.shape != on_reversed.shape or not np.allclose(backward, on_reversed, atol=atol):
            return False, ("go_backwards=True does not read the sequence from its end: its outputs differ from "
                           "running the layer forwards on the reversed sequence (outputs in reading order).")

        state_layer = variant(go_backwards=False, return_sequences=False, return_state=True)
        state_layer.set_weights(weights)
        with_states = run(state_layer, x)
        if len(with_states) < 2:
            return False, "return_state=True did not add any state after the output."
        if not np.allclose(with_states[0], last, atol=atol):
            return False, "with return_state=True the first output is not the output without states."
        if any(state.shape[0] != x.shape[0] for state in with_states[1:]):
            return False, "with return_state=True some state has no batch axis first."
    except Exception as error:
        return False, f"checking them raised {type(error).__name__}: {_first_line(error)}"
    return True, ("go_backwards reads from the end, return_sequences=False gives the last step, "
                  f"return_state adds {len(with_states) - 1} state(s).")


def built_shape(layer):
    """The input shape `layer` was built for, or None when it is not built (or built without a shape)."""
    if not layer.built:
        return None
    try:
        config = layer.get_build_config() or {}
    except Exception:  # a custom get_build_config that fails: no shape to go by
        return None
    shape = config.get("input_shape") or config.get("sequences_shape")
    if shape is None and len(config) == 1:
        shape = next(iter(config.values()))
    return tuple(shape) if isinstance(shape, (list, tuple)) else None


def _probe_shape(layer, timesteps):
    """The shape of a small test batch for `layer`: 2 sequences, and the layer's own sizes where it has them.

    A built layer gives its built input shape (its feature axes, and its time axis if that is fixed); an unbuilt
    one its `input_spec`'s last axis if that is fixed; otherwise 3 features.
    """
    shape = built_shape(layer)
    if shape is not None and len(shape) >= 3 and all(isinstance(size, int) for size in shape[2:]):
        steps = shape[1] if isinstance(shape[1], int) else timesteps
        return (2, steps, *shape[2:])
    features = 3
    specs = layer.input_spec if isinstance(layer.input_spec, (list, tuple)) else [layer.input_spec]
    axes = getattr(specs[0], "axes", None) if specs else None
    if axes and isinstance(axes.get(-1), int):
        features = axes[-1]
    return (2, timesteps, features)


# ---------------------------------------------------------------------- the check at construction


@dataclasses.dataclass(frozen=True)
class WrappingCheck:
    """What `check_wrapping` found: criteria that break wrapping (`refusals`) and others that failed (`warnings`)."""

    layer: str
    refusals: tuple
    warnings: tuple


def check_wrapping(layer, timesteps=3, atol=1e-5):
    """Check what `Bidirectional` needs of `layer` in the configuration it was given, and nothing more.

    This is the check `Bidirectional` runs on a layer that is not a `keras.layers.RNN` when it is built. It is
    cheaper than `check_sequence_layer`: two copies of the layer, each called once on a small random batch (the
    layer's built input shape if it is built), with the layer's own `return_sequences` and `return_state`.
    Behaviour the configuration does not use (`return_state=True` when the layer is used without it, the last
    step with `return_sequences=False`) is not checked; `check_sequence_layer` reports on it.

    It refuses (`refusals`) what would make the wrapper wrong: a layer that cannot be copied from its config or
    whose copy differs from it, missing direction attributes, `go_backwards` that does not read the sequence
    from its end, a state count that does not match `return_state`. Anything else that fails, such as a layer
    that raises on the random batch for reasons of its own, goes to `warnings`: it is wrapped all the same.

    Args:
        layer: the `keras.layers.Layer` to check; it is never changed.
        timesteps: length of the test sequences when the layer's built shape does not fix it.
        atol: tolerance when comparing outputs.

    Returns:
        A `WrappingCheck` whose `refusals` and `warnings` are tuples of `CriterionResult`.

    Example:

    >>> import keras
    >>> from bidirlib.checker import check_wrapping
    >>> check_wrapping(keras.layers.Dense(4)).refusals[0].number
    2
    """
    require_layer(layer, "layer")
    refusals, warnings = [], []

    def refuse(number, reason):
        refusals.append(CriterionResult(number, CRITERIA[number], False, reason))
        return WrappingCheck(describe_layer(layer), tuple(refusals), tuple(warnings))

    def warn(number, reason):
        warnings.append(CriterionResult(number, CRITERIA[number], False, reason))

    missing = missing_attributes(layer)
    if missing:
        return refuse(2, missing)
    if not hasattr(layer, "input_spec"):
        warn(3, "it has no `input_spec` attribute.")

    # 4. The wrapper copies the layer from its config, and the copy is what gets saved: it must be the same layer.
    try:
        original_config = without_sharing_ids(layer.get_config())
        unrecorded = [name for name in DIRECTION_ATTRIBUTES if original_config.get(name) != getattr(layer, name)]
        if unrecorded:
            return refuse(4, f"get_config() does not record {', '.join(f'`{n}`' for n in unrecorded)}, so a copy "
                          "made from it loses the setting; add it to get_config().")
        stateless = {"stateful": False} if original_config.get("stateful") else {}
        same = clone_layer(layer, **stateless)
        flipped = clone_layer(layer, go_backwards=not layer.go_backwards, **stateless)
    except Exception as error:  # the user's layer's failure, reported rather than raised
        return refuse(4, f"rebuilding it from its config failed: {type(error).__name__}: {_first_line(error)}. "
                      "Implement get_config() returning the constructor arguments (and from_config if needed).")
    copy_config = {**without_sharing_ids(same.get_config()), **{key: original_config.get(key) for key in stateless}}
    differing = sorted(key for key in set(copy_config) | set(original_config)
                       if copy_config.get(key) != original_config.get(key))
    if differing:
        return refuse(4, f"rebuilding it from get_config() changes {', '.join(differing)}; "
                      "get_config() must return every constructor argument.")
    if bool(flipped.go_backwards) == bool(layer.go_backwards):
        return refuse(4, f"rebuilding it with go_backwards={not layer.go_backwards} from its config did not change "
                      "`go_backwards`; the constructor must take it.")

    # 2. go_backwards: the backward copy on x must give what the forward copy gives on x read from its end.
    forward, backward = (flipped, same) if layer.go_backwards else (same, flipped)
    x = np.random.default_rng(0).normal(size=_probe_shape(layer, timesteps)).astype("float32")
    try:
        expected = _run(forward, x[:, ::-1])
        if not backward.built:
            backward.build(x.shape)
        if len(backward.weights) != len(forward.weights):  # weights made on the first call, not in build()
            _run(backward, x)
        backward.set_weights(forward.get_weights())
        actual = _run(backward, x)
    except Exception as error:  # not one of the criteria: the layer could not run on this batch
        warn(1, f"calling it on a random {x.shape} batch raised {type(error).__name__}: {_first_line(error)}; "
             "its go_backwards could not be checked. Build the layer first so that the check uses its input "
             "shape.")
        return WrappingCheck(describe_layer(layer), tuple(refusals), tuple(warnings))
    if layer.return_state and len(expected) < 2:
        return refuse(2, "return_state=True did not add any state after the output.")
    if not layer.return_state and len(expected) != 1:
        return refuse(2, f"with return_state=False it returned {len(expected)} tensors; expected one.")
    if len(actual) != len(expected) or any(
        a.shape != e.shape or not np.allclose(a, e, atol=atol) for a, e in zip(actual, expected)
    ):
        return refuse(2, "go_backwards=True does not read the sequence from its end: its outputs differ from "
                      "running the layer forwards on the reversed sequence (outputs in reading order).")
    output = expected[0]
    if output.ndim < 2 or output.shape[0] != x.shape[0]:
        warn(1, f"on a {x.shape} input it returned shape {output.shape}; expected the batch axis first.")
    elif layer.return_sequences and (output.ndim < 3 or output.shape[1] != x.shape[1]):
        warn(2, f"with return_sequences=True it returned shape {output.shape}; expected one output per step, "
             f"({x.shape[0]}, {x.shape[1]}, ...).")
    elif not layer.return_sequences:
        # The wrapper merges the two directions' last outputs: each must be its direction's last step.
        try:
            every_step = clone_layer(layer, go_backwards=False, return_sequences=True, return_state=False, **stateless)
            if not every_step.built:
                every_step.build(x.shape)
            every_step.set_weights(forward.get_weights())
            steps = _run(every_step, x[:, ::-1])[0]
        except Exception as error:  # the layer could not return every step: the last one is not checked
            warn(2, f"with return_sequences=True it raised {type(error).__name__}: {_first_line(error)}; whether "
                 "its return_sequences=False output is the last step was not checked.")
        else:
            if steps.ndim < 3 or steps[:, -1].shape != output.shape or not np.allclose(steps[:, -1], output, atol=atol):
                return refuse(2, "with return_sequences=False its output is not the last step of its "
                              "return_sequences=True output, so the wrapper would merge something else than the "
                              "two directions' last steps.")
    return WrappingCheck(describe_layer(layer), tuple(refusals), tuple(warnings))


def require_conforming(layer, argument):
    """Refuse a layer that is not a `keras.layers.RNN` if wrapping it as configured would be wrong; warn otherwise.

    It runs `check_wrapping`, which checks only what the layer's own configuration needs: that it can be copied
    from its config, that `go_backwards` reads the sequence from its end (with the layer's `return_sequences`
    and `return_state`), and, without `return_sequences`, that its output is the last step. A failure there
    raises a `ValueError` naming the criterion. Anything else that fails (for instance the layer raises on the
    random test batch for a reason of its own) is a `UserWarning` naming the criterion, and the layer is
    wrapped. `bidirlib.check_sequence_layer` gives the full report, on behaviour the configuration does not use
    too.

    `keras.layers.RNN` gives every RNN the right semantics whatever its cell, so those are not checked.
    """
    if isinstance(layer, keras.layers.RNN):
        return
    check = check_wrapping(layer)
    if check.refusals:
        refuse_wrapping(argument, check.layer, check.refusals[0])
    for failure in check.warnings:
        python_warnings.warn(wrapping_warning(argument, check.layer, failure), UserWarning, stacklevel=3)


def _run(layer, inputs):
    return [keras.ops.convert_to_numpy(tensor) for tensor in keras.tree.flatten(layer(inputs))]


def _first_line(error):
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
