"""Whether an LSTM or GRU's settings let Keras run it with the fused cuDNN kernel on an NVIDIA GPU."""

import dataclasses

from bidirlib.fused import rules
from bidirlib.plan import plan_of_layer


@dataclasses.dataclass(frozen=True)
class CudnnEligibility:
    """`eligible` is True when nothing in the layer's settings rules cuDNN out; `reasons` lists what does."""

    layer: str
    eligible: bool
    reasons: tuple

    def __str__(self):
        if self.eligible:
            return f"{self.layer}: its settings allow the cuDNN kernel on a GPU."
        return f"{self.layer}: no cuDNN kernel, because " + "; ".join(self.reasons) + "."


def cudnn_eligibility(layer):
    """Say whether `layer`'s settings allow Keras's cuDNN kernel, and if not, why.

    cuDNN implements one fixed LSTM and one fixed GRU: `tanh` activation, `sigmoid` recurrent activation, a
    bias, a rolled loop (`unroll=False`), no recurrent dropout, and for GRU `reset_after=True`. Any other choice
    makes Keras fall back to its generic loop, silently and much slower on a GPU. This checks the settings
    only: a GPU must also be present, and on TensorFlow a mask must be right-padded. The conditions are rules of
    the one list in `bidirlib.fused.rules` (the gates of `rules.CUDNN_REPORT`), which the wrapper's own dispatch
    reads too.

    Args:
        layer: a `keras.layers.LSTM` or `keras.layers.GRU` (anything else is reported as not eligible).

    Returns:
        A `CudnnEligibility` with `.eligible` and `.reasons`.

    Example:

    >>> import keras
    >>> from bidirlib import cudnn_eligibility
    >>> print(cudnn_eligibility(keras.layers.LSTM(10, activation="relu", go_backwards=True, name="relu_lstm")))
    relu_lstm: no cuDNN kernel, because activation is relu, cuDNN needs tanh.
    """
    reasons = rules.failures(plan_of_layer(layer), rules.CUDNN_REPORT, rules.CUDNN_TITLE)
    return CudnnEligibility(layer.name, not reasons, tuple(reasons))
