"""The kernels: each declares itself in its own module, and the dispatch reads them here, in one order.

A kernel module holds the kernel's run function, the rules only it needs (written with `rules.rule`, in the one
list of rules) and, at its end, `KERNELS`: a tuple of `Kernel` records that say what the dispatch needs to know
of it (the name it is reported by, where "auto" tries it, which gates it must pass). Adding a kernel is one
module and one line in `KERNEL_MODULES`. The dispatch, the tests, chapter 11 and the benchmarks ask `kernels()`
and `find(name)` instead of restating them.

The registry also takes *observers*: functions called with `(plan, path)` after every dispatch, so that a test
or a tool can see which path each call took without replacing any of bidirlib's functions.
"""

import dataclasses
import importlib

#: The kernel modules of `bidirlib.fused`, in the order their kernels are tried within a stage.
KERNEL_MODULES = ("direction_parallel", "keras_kernel", "jax_cudnn", "torch_kernel", "tf_block_lstm", "stacked")

#: The stages of the dispatch, in the order it tries them: the two layers on two devices where a mesh asks for
#: it; Keras's own fused kernel where `keras.layers.Bidirectional` tries it; bidirlib's CPU fast paths.
STAGES = ("devices", "keras", "fast")

#: Where "auto" has no fast path for a (backend, kind) and why: each of these was measured, and the two
#: separate layers were as fast or faster (`bench/bench_bidirectional.py`).
MEASURED_WITHOUT_A_FAST_PATH = {
    ("tensorflow", "gru"): "on TensorFlow, a GRU's two loops, which run at the same time, measured fastest",
    ("jax", "lstm"): "on JAX, a stacked loop measured no faster than the two layers' compiled loops",
    ("jax", "gru"): "on JAX, a stacked loop measured no faster than the two layers' compiled loops",
}


@dataclasses.dataclass(frozen=True)
class Kernel:
    """One way to run both directions of a call together.

    Attributes:
        name: what `Bidirectional.last_call_path` reports when it ran.
        title: how messages name it ("PyTorch's kernel").
        stage: one of `STAGES`.
        kinds: the layer kinds it runs, "lstm" and/or "gru", or "rnn" for any pair of RNN layers.
        backends: the backends where the "auto" setting tries it (empty: every backend).
        gates: the gates of `bidirlib.fused.rules` whose rules must hold, read in list order.
        run: `run(plan)` -> `(y_forward, y_backward, forward_states, backward_states)`, the backward output in
            input order.
        forced_by: a setting under which it runs on every backend (the stacked loop's "stacked"), or None.
    """

    name: str
    title: str
    stage: str
    kinds: tuple
    backends: tuple
    gates: tuple
    run: object
    forced_by: object = None

    def runs(self, kind, backend):
        """Whether "auto" tries this kernel for a pair of `kind` on `backend`."""
        kind_fits = kind in self.kinds or "rnn" in self.kinds
        return kind_fits and (not self.backends or backend in self.backends)


_loaded = []
_observers = []


def kernels(stage=None):
    """Every registered kernel (of `stage`, if given), in the order the dispatch tries them."""
    if not _loaded:
        found = []
        for module_name in KERNEL_MODULES:
            module = importlib.import_module(f"bidirlib.fused.{module_name}")
            found.extend(module.KERNELS)
        _loaded.extend(sorted(found, key=lambda kernel: STAGES.index(kernel.stage)))  # stable within a stage
    return tuple(kernel for kernel in _loaded if stage is None or kernel.stage == stage)


def find(name):
    """The kernel reported as `name`; a `ValueError` names the registered ones otherwise."""
    for kernel in kernels():
        if kernel.name == name:
            return kernel
    raise ValueError(f"No kernel is named {name!r}. Registered: {[kernel.name for kernel in kernels()]}.")


def add_observer(observer):
    """Call `observer(plan, path)` after every dispatch from now on; returns a function that removes it.

    Example:

    >>> import numpy as np, keras, bidirlib
    >>> from bidirlib.fused import add_dispatch_observer
    >>> paths = []
    >>> remove = add_dispatch_observer(lambda plan, path: paths.append(path))
    >>> _ = bidirlib.Bidirectional(keras.layers.SimpleRNN(2))(np.zeros((1, 3, 2), "float32"))
    >>> remove()
    >>> paths
    ['separate']
    """
    _observers.append(observer)
    return lambda: _observers.remove(observer) if observer in _observers else None


def notify(plan, path):
    """Tell every observer which path `plan` took."""
    for observer in tuple(_observers):
        observer(plan, path)
