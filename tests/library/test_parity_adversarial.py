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
`$ADVERSARIAL_REPORT` when that is set, once the module's tests are done.

The reported issues themselves, each as reported, are pinned in test_masks.py (swapped pairs and unrolled loops
under masks, half precision), test_wrapping.py (freezing) and test_errors.py (wrong widths and batch sizes).
"""

import json
import os

import keras
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from helpers import adversarial as adv

BACKEND = keras.backend.backend()
KINDS = ("SimpleRNN", "LSTM", "GRU", "Stacked", "Custom")
DTYPES = ("float32", "float64", "mixed_float16", "mixed_bfloat16") if adv.float64_available() else (
    "float32", "mixed_float16", "mixed_bfloat16")
MASKED = ("leading", "holes", "all_false_row")

#: How many configurations each area draws, as a share of the hypothesis profile's `max_examples`
#: (tests/conftest.py): 6/3/3 in the quick default profile, 16/5/5 in CI's (as before the profiles).
SHARE = {"general": 0.64, "swapped_masked": 0.2, "unroll_masked": 0.2}


def examples(area):
    return max(3, round(SHARE[area] * settings.default.max_examples))


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


@pytest.fixture(scope="module")
def counts():
    """How many configurations each area ran on this backend: printed (and written to $ADVERSARIAL_REPORT) once
    the module's tests are done, whichever of them ran."""
    areas = {}
    yield areas
    report = {"backend": BACKEND, "fused_path_env": adv.environment_fused_path(), "areas": areas,
              "seed": "hypothesis derandomize=True"}
    print("\nadversarial configurations:", json.dumps(report))
    path = os.environ.get("ADVERSARIAL_REPORT")
    if path:
        with open(path, "w") as handle:
            json.dump(report, handle, indent=1)


def _record(counts, area, label):
    area_counts = counts.setdefault(area, {"configurations": 0, "keras": 0, "hand_run": 0})
    area_counts["configurations"] += 1
    area_counts["keras" if label == "Keras" else "hand_run"] += 1


def _property(area, counts):
    # No shrinking: a failing configuration is reported as drawn (shrinking one takes many minutes here).
    @settings(max_examples=examples(area), deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], report_multiple_bugs=False, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(configurations(area))
    def check(config):
        keras.backend.clear_session()
        label = adv.run_configuration(config)
        _record(counts, area, label)

    return check


def test_general_configurations(counts):
    """Every configuration not known to be broken matches Keras (or the hand-run layers where Keras is wrong)."""
    _property("general", counts)()


#: Where a reported issue makes an area fail today: {area: {backend: reason}}.
KNOWN = {"swapped_masked": {}, "unroll_masked": {}}


def _known(area):
    reason = KNOWN[area].get(BACKEND)
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


@pytest.mark.parametrize(
    "area", [pytest.param(area, marks=_known(area)) for area in ("swapped_masked", "unroll_masked")]
)
def test_known_issue_areas(area, counts):
    """Swapped pairs under masks (stress report items 1, 2, 4); unroll=True under masks (item 3: bidirlib must
    agree with its rolled loop, checked against hand-run rolled layers since Keras's wrapper is wrong there)."""
    _property(area, counts)()


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
