"""Adversarial, property-based differential tests: bidirlib's wrapper against Keras's, weights copied across.

hypothesis draws configurations (layer kind, backward layer, merge mode, return_sequences / return_state, masks
with leading padding, non-palindromic holes or an all-false row, initial_state, unroll, dropout with
training=False, batch 1, one step, use_bias=False, float64, mixed policies, fused_path "auto" and "off") and
each one is compared output by output, state by state and gradient by gradient (the gradient of the sum of the
outputs w.r.t. the inputs and every trainable weight, with the backend's own autodiff).

The reference is `keras.layers.Bidirectional` with the same weights, except where Keras is known to be wrong
(`helpers.adversarial.keras_is_wrong`): there it is the documented behaviour, two hand-run layers (the forward
layer, and the backward layer run on the reversed sequence), rolled.

The configuration space is split into areas: `general` holds what is not known to be broken; each other area
is the part a reported issue is about, checked with the same machinery, and marked xfail (strict) on the
backends where it fails today, so that a fix turns the mark into a failure to remove. Seeds are fixed
(`derandomize=True`); the number of configurations each area ran is printed (`pytest -s`) and written to
`$ADVERSARIAL_REPORT` when that is set.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import bidirlib
from helpers import adversarial as adv

BACKEND = keras.backend.backend()
KINDS = ("SimpleRNN", "LSTM", "GRU", "Stacked", "Custom")
DTYPES = ("float32", "float64", "mixed_float16", "mixed_bfloat16") if adv.float64_available() else (
    "float32", "mixed_float16", "mixed_bfloat16")
MASKED = ("leading", "holes", "all_false_row")

#: How many configurations each area draws. The file runs in about 3 minutes per backend on 2 busy cores.
EXAMPLES = {"general": 16, "swapped_masked": 5, "unroll_masked": 5}

COUNTS = {}


@st.composite
def configurations(draw, area):
    kind = draw(st.sampled_from(KINDS))
    builtin = kind in ("SimpleRNN", "LSTM", "GRU")
    if area == "swapped_masked":
        backward, mask = "swapped", draw(st.sampled_from(MASKED))
        unroll = draw(st.booleans())
    elif area == "unroll_masked":
        backward = draw(st.sampled_from(["default", "wider", "activation"] if builtin or kind == "Stacked" else
                                        ["default", "wider"]))
        mask, unroll = draw(st.sampled_from(MASKED)), True
    else:
        options = ["default", "swapped", "wider"] + (["activation"] if kind != "Custom" else [])
        backward = draw(st.sampled_from(options))
        mask = "none" if backward == "swapped" else draw(st.sampled_from(("none",) + MASKED))
        unroll = draw(st.booleans()) if mask == "none" else False
    merge_modes = ["concat", None] if backward == "wider" else ["concat", "sum", "mul", "ave", None]
    batch = draw(st.sampled_from([1, 2, 3]))
    steps = draw(st.integers(4, 5)) if mask == "holes" else draw(st.sampled_from([1, 2, 4]))
    if mask == "all_false_row" and steps == 1 and batch == 1:
        steps = 2
    return {
        "kind": kind,
        "units": draw(st.integers(1, 3)),
        "backward": backward,
        "merge_mode": draw(st.sampled_from(merge_modes)),
        "return_sequences": draw(st.booleans()),
        "return_state": draw(st.booleans()),
        "unroll": unroll,
        "use_bias": draw(st.booleans()) if kind != "Custom" else True,
        "dropout": draw(st.booleans()) if builtin else False,
        "initial_state": draw(st.booleans()),
        "batch": batch,
        "steps": steps,
        "features": draw(st.integers(1, 3)),
        "mask": mask,
        "dtype": draw(st.sampled_from(DTYPES)),
        "fused_path": draw(st.sampled_from(["auto", "off"])),
        "seed": draw(st.integers(0, 2**16)),
    }


def _record(area, config, label):
    counts = COUNTS.setdefault(area, {"configurations": 0, "keras": 0, "hand_run": 0})
    counts["configurations"] += 1
    counts["keras" if label == "Keras" else "hand_run"] += 1


def _property(area):
    # No shrinking: a failing configuration is reported as drawn (shrinking one takes many minutes here).
    @settings(max_examples=EXAMPLES[area], deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], report_multiple_bugs=False, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(configurations(area))
    def check(config):
        keras.backend.clear_session()
        label = adv.run_configuration(config)
        _record(area, config, label)

    return check


def test_general_configurations():
    """Every configuration not known to be broken matches Keras (or the hand-run layers where Keras is wrong)."""
    _property("general")()


#: Where a reported issue makes an area fail today: {area: {backend: reason}}.
KNOWN = {"swapped_masked": {}, "unroll_masked": {}}


def _known(area):
    reason = KNOWN[area].get(BACKEND)
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


@pytest.mark.parametrize(
    "area", [pytest.param(area, marks=_known(area)) for area in ("swapped_masked", "unroll_masked")]
)
def test_known_issue_areas(area):
    """Swapped pairs under masks (issue items 1, 2, 4); unroll=True under masks (item 3: bidirlib must agree
    with its rolled loop, checked against hand-run rolled layers since Keras's wrapper is wrong there)."""
    _property(area)()


def test_report_counts():
    """Print (and write to $ADVERSARIAL_REPORT) how many configurations each area ran on this backend."""
    report = {"backend": BACKEND, "fused_path_env": adv.environment_fused_path(), "areas": COUNTS,
              "seed": "hypothesis derandomize=True"}
    print("\nadversarial configurations:", json.dumps(report))
    path = os.environ.get("ADVERSARIAL_REPORT")
    if path:
        with open(path, "w") as handle:
            json.dump(report, handle, indent=1)


# ---------------------------------------------------------------------- the oracle itself


def test_hand_run_reference_equals_keras_where_keras_is_right():
    """The hand-run layers are the oracle where Keras is wrong: check that they give Keras's numbers elsewhere."""
    config = dict(kind="LSTM", units=2, backward="activation", merge_mode="concat", return_sequences=True,
                  return_state=True, unroll=False, use_bias=True, dropout=False, initial_state=True, batch=2,
                  steps=4, features=3, mask="holes", dtype="float32", fused_path="off", seed=7)
    x, mask, states = adv.make_inputs(config)
    reference = adv.make_keras(config)
    kwargs = {"mask": adv.to_backend(mask), "initial_state": [adv.to_backend(s) for s in states]}
    reference(adv.to_backend(x), **kwargs)
    hand = adv.HandRun(config)
    hand.build_like(reference, adv.to_backend(x), kwargs["mask"], kwargs["initial_state"])
    adv.compare(config, hand, reference, x, mask, states, label="Keras")


@pytest.mark.skipif(adv.float64_available(), reason="float64 is in the drawn dtypes on this backend")
def test_float64_needs_jax_enable_x64():
    pytest.skip("float64 left out on JAX: set JAX_ENABLE_X64=1 to draw it")


# ---------------------------------------------------------------------- the reported issues, as reported


def _config(**overrides):
    base = dict(kind="GRU", units=2, backward="swapped", merge_mode=None, return_sequences=True,
                return_state=False, unroll=False, use_bias=True, dropout=False, initial_state=False, batch=1,
                steps=4, features=2, mask="none", dtype="float32", fused_path="auto", seed=0)
    return {**base, **overrides}


@pytest.mark.parametrize("fused_path", ["auto", "off"])
def test_item1_swapped_pair_with_leading_mask_matches_keras(fused_path):
    config = _config(fused_path=fused_path)
    x = np.random.default_rng(0).normal(size=(1, 4, 2)).astype("float32")
    mask = np.array([[False, True, True, True]])
    ours, reference = adv.make_bidirlib(config), adv.make_keras(config)
    reference(x, mask=mask)
    ours(x, mask=mask)
    ours.set_weights(reference.get_weights())
    adv.compare(config, ours, reference, x, mask, None, label="Keras")


def test_item2_swapped_pair_unrolled_under_mask_runs():
    config = _config(unroll=True, mask="leading", batch=2)
    x, mask, _ = adv.make_inputs(config)
    ours = adv.make_bidirlib(config)
    outputs = ours(x, mask=mask)
    assert tuple(outputs[0].shape) == (2, 4, 2)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_item3_unroll_under_mask_agrees_with_rolled_loop(kind):
    """Keras's own wrapper differs between unroll=True and False under a mask (TF: issue item 3; JAX: defect 8);
    bidirlib must give its rolled loop's numbers."""
    config = _config(kind=kind, backward="default", merge_mode="concat", unroll=True, mask="holes", batch=2,
                     steps=5, return_state=True, fused_path="off")
    x, mask, _ = adv.make_inputs(config)
    unrolled, rolled = adv.make_bidirlib(config), adv.make_bidirlib({**config, "unroll": False})
    unrolled(x, mask=mask)
    rolled(x, mask=mask)
    rolled.set_weights(unrolled.get_weights())
    adv.compare(config, unrolled, rolled, x, mask, None, label="bidirlib's rolled loop")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_item4_mixed_policy_swapped_simple_rnn_with_leading_padding(policy):
    config = _config(kind="SimpleRNN", units=3, merge_mode="concat", mask="leading", batch=3, steps=5,
                     features=3, dtype=policy, fused_path="off")
    x, mask, _ = adv.make_inputs(config)
    ours, reference = adv.make_bidirlib(config), adv.make_keras(config)
    reference(x, mask=mask)
    ours(x, mask=mask)
    ours.set_weights(reference.get_weights())
    adv.compare(config, ours, reference, x, mask, None, label="Keras")


def test_item5_trainable_false_freezes_both_directions():
    """Keras does not freeze the sub-layers either (Keras is wrong): check bidirlib's documented behaviour."""
    layer = bidirlib.Bidirectional(keras.layers.LSTM(2), trainable=False)
    layer(np.zeros((1, 3, 2), "float32"))
    assert layer.trainable_weights == []
    assert not layer.forward_layer.trainable and not layer.backward_layer.trainable
    assert len(layer.non_trainable_weights) == 6


def _run_isolated(code):
    """Run `code` in a fresh interpreter on this backend (a crash there must not take the test run down)."""
    env = {**os.environ, "KERAS_BACKEND": BACKEND}
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(here), here, env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=300)


ITEM6 = {
    "features": lambda layer: layer(np.zeros((2, 4, 5), "float32")),
    "state_width": lambda layer: layer(np.zeros((2, 4, 3), "float32"),
                                       initial_state=[np.zeros((2, w), "float32") for w in (3, 3, 2, 3)]),
}


def _item6_layer(fused_path):
    layer = bidirlib.Bidirectional(keras.layers.LSTM(3, return_sequences=True), fused_path=fused_path)
    layer(np.zeros((2, 4, 3), "float32"))
    return layer


@pytest.mark.parametrize("fused_path", ["auto", "off"])
@pytest.mark.parametrize("case", sorted(ITEM6))
def test_item6_wrong_widths_raise_a_value_error(case, fused_path):
    """After a good call, a wrong feature count or state width must raise a ValueError naming the argument,
    not pass silently (as on the PyTorch fast path)."""
    layer = _item6_layer(fused_path)
    with pytest.raises(ValueError, match="sequences|input|initial_state"):
        ITEM6[case](layer)


def test_item6_wrong_state_batch_raises_in_a_subprocess():
    """A wrong initial_state batch size must raise a ValueError naming `initial_state` (on PyTorch's fast path
    it can crash the process, so this runs in a child process)."""
    result = _run_isolated("""
        import numpy as np, keras, bidirlib
        for fused_path in ("auto", "off"):
            layer = bidirlib.Bidirectional(keras.layers.LSTM(3, return_sequences=True), fused_path=fused_path)
            layer(np.zeros((2, 4, 3), "float32"))
            try:
                layer(np.zeros((2, 4, 3), "float32"), initial_state=[np.zeros((5, 3), "float32")] * 4)
            except ValueError as error:
                print(fused_path, "VALUEERROR", "`initial_state" in str(error), str(error)[:300])
            except Exception as error:
                print(fused_path, "OTHER", type(error).__name__, str(error)[:300])
            else:
                print(fused_path, "NOERROR")
    """)
    assert result.returncode == 0, f"the process died (rc {result.returncode}): {result.stderr[-2000:]}"
    lines = [line for line in result.stdout.splitlines() if line.startswith(("auto", "off"))]
    assert len(lines) == 2 and all(" VALUEERROR True" in line for line in lines), result.stdout[-2000:]


@pytest.mark.skipif(BACKEND != "torch", reason="issue item 7 is about PyTorch's compile")
def test_item7_torch_jit_compile_fit():
    model = keras.Sequential([keras.Input((4, 3)), bidirlib.Bidirectional(keras.layers.LSTM(3)),
                              keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd", jit_compile=True)
    history = model.fit(np.ones((4, 4, 3), "float32"), np.ones((4, 1), "float32"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
