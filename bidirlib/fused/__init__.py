"""Fused paths: running both directions of a bidirectional LSTM or GRU together, and deciding when.

- `settings`: the one setting, `fused_path` (and the environment variable `BIDIRLIB_FUSED_PATH`), each one of
  `FUSED_PATH_MODES`;
- `rules`: every eligibility rule, in one list (the gates several paths share here, each kernel's own in its
  module);
- `registry`: the kernels, each declared in its own module, and the observers of the dispatch;
- `dispatch`: the one dispatch, which tries the registered kernels stage by stage and says which path ran or
  why none did;
- `cudnn`: a report on whether one layer's settings allow cuDNN;
- `lengths`: masks as sequence lengths: whether a mask is right-padded (each row a run of ones, then zeros),
  which the kernels that take lengths run, and the separate path's values at padded steps;
- one module per kernel: `direction_parallel` (the two layers on two devices at once, on JAX), `keras_kernel`
  (Keras's own, cuDNN on a GPU), `jax_cudnn` (JAX's cuDNN LSTM over a right-padded mask's lengths, on a GPU),
  `torch_kernel` (PyTorch's; a right-padded mask packed), `tf_block_lstm` (TensorFlow's BlockLSTM) and
  `stacked` (both directions in one loop, any backend, any mask).

Masks: a right-padded mask (mixed lengths) runs PyTorch's kernel, JAX's cuDNN LSTM on a GPU and the stacked loop;
a mask with holes or leading padding runs the stacked loop only; Keras's fused kernels, BlockLSTM and the two
devices take no mask. Where none runs, `last_fused_fallback` says why (e.g. "the mask is not right-padded").

The names below are the public surface; the modules' other names serve the wrapper.
"""

from bidirlib.fused.cudnn import CudnnEligibility, cudnn_eligibility
from bidirlib.fused.direction_parallel import DIRECTION_AXIS, find_direction_mesh
from bidirlib.fused.dispatch import fast_path_for
from bidirlib.fused.lengths import MaskLayout, read_mask
from bidirlib.fused.registry import Kernel, find, kernels
from bidirlib.fused.registry import add_observer as add_dispatch_observer
from bidirlib.fused.settings import ENVIRONMENT_VARIABLE, FUSED_PATH_MODES, environment_setting
from bidirlib.fused.stacked import stacked_loop
from bidirlib.fused.tf_block_lstm import BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS, BLOCK_LSTM_MAX_WEIGHTS, step_multiply_adds

__all__ = [
    "BLOCK_LSTM_MAX_STEP_MULTIPLY_ADDS",
    "BLOCK_LSTM_MAX_WEIGHTS",
    "CudnnEligibility",
    "DIRECTION_AXIS",
    "ENVIRONMENT_VARIABLE",
    "FUSED_PATH_MODES",
    "Kernel",
    "MaskLayout",
    "add_dispatch_observer",
    "cudnn_eligibility",
    "environment_setting",
    "fast_path_for",
    "find",
    "find_direction_mesh",
    "kernels",
    "read_mask",
    "stacked_loop",
    "step_multiply_adds",
]
