"""Whether an LSTM or GRU's settings let Keras run it with the fused cuDNN kernel on an NVIDIA GPU."""

import dataclasses

import keras


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


def _is(function, name):
    return getattr(function, "__name__", None) == name or function is keras.activations.get(name)


def cudnn_eligibility(layer):
    """Say whether `layer`'s settings allow Keras's cuDNN kernel, and if not, why.

    cuDNN implements one fixed LSTM and one fixed GRU: `tanh` activation, `sigmoid` recurrent activation, a
    bias, a rolled loop (`unroll=False`), no recurrent dropout, and for GRU `reset_after=True`. Any other choice
    makes Keras fall back to its generic loop, silently and much slower on a GPU. This checks the settings
    only: a GPU must also be present, and on TensorFlow a mask must be right-padded.

    Args:
        layer: a `keras.layers.LSTM` or `keras.layers.GRU` (anything else is reported as not eligible).

    Returns:
        A `CudnnEligibility` with `.eligible` and `.reasons`.

    Example:

    >>> import keras
    >>> from bidirlib.cudnn import cudnn_eligibility
    >>> print(cudnn_eligibility(keras.layers.LSTM(10, activation="relu", go_backwards=True, name="relu_lstm")))
    relu_lstm: no cuDNN kernel, because activation is relu, cuDNN needs tanh.
    """
    name = layer.name
    if not isinstance(layer, (keras.layers.LSTM, keras.layers.GRU)):
        return CudnnEligibility(
            name, False, (f"it is a {type(layer).__name__} layer, and cuDNN has only LSTM and GRU",)
        )
    cell = layer.cell
    reasons = []
    if layer.use_cudnn is False:
        reasons.append("use_cudnn is False")
    if not _is(cell.activation, "tanh"):
        reasons.append(f"activation is {keras.activations.serialize(cell.activation)}, cuDNN needs tanh")
    if not _is(cell.recurrent_activation, "sigmoid"):
        reasons.append(
            f"recurrent_activation is {keras.activations.serialize(cell.recurrent_activation)}, cuDNN needs sigmoid"
        )
    if layer.unroll:
        reasons.append("unroll is True, cuDNN runs a rolled loop")
    if not cell.use_bias:
        reasons.append("use_bias is False")
    if cell.recurrent_dropout:
        reasons.append(f"recurrent_dropout is {cell.recurrent_dropout}, cuDNN has none")
    if isinstance(layer, keras.layers.GRU) and not cell.reset_after:
        reasons.append("reset_after is False, cuDNN's GRU resets after the matrix product")
    return CudnnEligibility(name, not reasons, tuple(reasons))
