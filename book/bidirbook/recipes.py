"""Ready-made backward layers, as recipes a reader can call and read."""

import keras


def relu_backward_lstm(units, return_sequences=True, **kwargs):
    """The Keras API page's custom backward layer: an LSTM with `relu` activation that reads backwards.

    `relu` is unbounded, so the backward direction's outputs can grow with the sequence where `tanh` saturates;
    that is the point of the example. The cost: cuDNN implements only the `tanh` LSTM, so on a GPU this
    backward layer runs Keras's generic loop while the forward one uses cuDNN, and the pair is as slow as its
    slow half (see `bidirlib.cudnn.cudnn_eligibility`).

    Args:
        units: size of the state and output.
        return_sequences: as for LSTM; it must match the forward layer's. Defaults to True, as on the API page.
        **kwargs: any other `keras.layers.LSTM` argument (it must keep `go_backwards=True`).

    Returns:
        A `keras.layers.LSTM` with `activation="relu"` and `go_backwards=True`.

    Example:

    >>> import keras
    >>> from bidirlib import Bidirectional
    >>> from bidirbook.recipes import relu_backward_lstm
    >>> forward_layer = keras.layers.LSTM(10, return_sequences=True)
    >>> model = keras.Sequential([
    ...     keras.Input(shape=(5, 10)),
    ...     Bidirectional(forward_layer, backward_layer=relu_backward_lstm(10)),
    ...     keras.layers.Dense(5, activation="softmax"),
    ... ])
    >>> model.output_shape
    (None, 5, 5)
    """
    if kwargs.get("go_backwards", True) is not True:
        raise ValueError(
            "relu_backward_lstm builds a backward layer, so `go_backwards` must stay True. "
            f"Received: go_backwards={kwargs['go_backwards']!r}."
        )
    kwargs.pop("go_backwards", None)
    kwargs.setdefault("name", "relu_backward_lstm")
    return keras.layers.LSTM(
        units, activation="relu", return_sequences=return_sequences, go_backwards=True, **kwargs
    )
