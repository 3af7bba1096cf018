"""Fused paths: running both directions of a bidirectional LSTM or GRU together, and deciding when.

- `rules`: every eligibility rule, once, in one table (read by all below);
- `dispatch`: the one dispatch, which tries direction parallelism (where a mesh asks for it), Keras's fused
  kernel, then bidirlib's CPU fast path, and says which path ran or why none did;
- `cudnn`: a report on whether one layer's settings allow cuDNN;
- one module per kernel: `keras_kernel` (Keras's own, cuDNN on a GPU), `torch_kernel` (PyTorch's),
  `tf_block_lstm` (TensorFlow's BlockLSTM) and `stacked` (both directions in one loop, any backend);
- `direction_parallel`: the two layers on two devices at once (JAX, given a mesh with a "direction" axis).

The setting has one name everywhere: `Bidirectional(..., fused_path=...)`, the layer's `fused_path` attribute,
and the environment variable `BIDIRLIB_FUSED_PATH`, each one of `FUSED_PATH_MODES`.
"""

from bidirlib.fused.cudnn import CudnnEligibility, cudnn_eligibility
from bidirlib.fused.direction_parallel import DIRECTION_AXIS, find_direction_mesh, run_direction_parallel
from bidirlib.fused.dispatch import FusedCall, FusedOutcome, choose_fast_path, run_fast_path, run_fused
from bidirlib.fused.rules import (
    BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS,
    BLOCK_LSTM_MAX_WEIGHTS,
    ENVIRONMENT_VARIABLE,
    FUSED_PATH_MODES,
    environment_setting,
    step_multiply_adds,
)
from bidirlib.fused.stacked import stacked_loop

__all__ = [
    "BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS",
    "BLOCK_LSTM_MAX_WEIGHTS",
    "CudnnEligibility",
    "DIRECTION_AXIS",
    "ENVIRONMENT_VARIABLE",
    "FUSED_PATH_MODES",
    "FusedCall",
    "FusedOutcome",
    "choose_fast_path",
    "cudnn_eligibility",
    "environment_setting",
    "find_direction_mesh",
    "run_fast_path",
    "run_direction_parallel",
    "run_fused",
    "stacked_loop",
    "step_multiply_adds",
]
