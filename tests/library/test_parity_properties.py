"""Property-based parity: random wrapper configurations drawn by hypothesis must match Keras's numbers."""

import keras
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from helpers.parity import assert_same_outputs, make_pair

KINDS = {
    "LSTM": keras.layers.LSTM,
    "GRU": keras.layers.GRU,
    "SimpleRNN": keras.layers.SimpleRNN,
}


@st.composite
def configurations(draw):
    batch = draw(st.integers(1, 4))
    steps = draw(st.integers(1, 7))
    mask = None
    if draw(st.booleans()):
        mask = np.array(draw(st.lists(st.booleans(), min_size=batch * steps, max_size=batch * steps)))
        mask = mask.reshape(batch, steps)
    return {
        "kind": draw(st.sampled_from(sorted(KINDS))),
        "units": draw(st.integers(1, 4)),
        "merge_mode": draw(st.sampled_from(["concat", "sum", "mul", "ave", None])),
        "return_sequences": draw(st.booleans()),
        "return_state": draw(st.booleans()),
        "shape": (batch, steps, draw(st.integers(1, 3))),
        "mask": mask,
        "seed": draw(st.integers(0, 2**16)),
    }


# As many examples as the hypothesis profile draws (tests/conftest.py): 10 by default, 25 in CI.
@settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(configurations())
def test_random_configurations_match_keras(config):
    cls = KINDS[config["kind"]]
    reference, ours = make_pair(
        lambda: cls(
            config["units"],
            return_sequences=config["return_sequences"],
            return_state=config["return_state"],
            name="rnn",
        ),
        merge_mode=config["merge_mode"],
    )
    x = np.random.default_rng(config["seed"]).normal(size=config["shape"]).astype("float32")
    kwargs = {} if config["mask"] is None else {"mask": config["mask"]}
    assert_same_outputs(reference, ours, x, **kwargs)
