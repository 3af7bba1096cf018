"""Ready custom layers that `bidirlib.Bidirectional` can wrap in either direction.

- `MinGRUCell`: a cell for `keras.layers.RNN` (the route the Keras API page recommends);
- `ParallelMinGRU`: the same recurrence as a layer computed with a parallel scan (`prefix_affine_scan`);
- `CausalConv1D`: a convolution that looks only back, or (with `go_backwards`) only ahead;
- `SequenceLayer`: the base class that gives a non-RNN layer `go_backwards`, `return_sequences` and
  `return_state` with the RNN meaning.
"""

from bidirlib.layers.causal_conv1d import CausalConv1D
from bidirlib.layers.min_gru_cell import MinGRUCell
from bidirlib.layers.parallel_min_gru import ParallelMinGRU, prefix_affine_scan
from bidirlib.layers.sequence_layer import SequenceLayer

__all__ = ["CausalConv1D", "MinGRUCell", "ParallelMinGRU", "SequenceLayer", "prefix_affine_scan"]
