"""A chapter's setup: seeds, determinism and a report of where it runs.

Every chapter of the book calls `setup()` once, in its setup cell, before it
builds a model. Nothing here imports TensorFlow, JAX or PyTorch at module
import time: each backend is imported only when it is the active one.
"""

import pathlib
import random
import subprocess
import sys

import numpy as np

__all__ = ["setup", "device_report", "repository_checkout", "use_float64"]


def _accelerator_names(backend, devices):
    """A name for each accelerator of `devices` (Keras's names, such as "gpu:0" or "tpu:1"): the model, where the
    backend tells it (TensorFlow names its GPUs, JAX every device), else Keras's name."""
    if backend == "jax":
        import jax

        kinds = {f"{device.platform}:{device.id}": device.device_kind for device in jax.devices()}
        return [kinds.get(device, device) for device in devices]
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = {f"gpu:{i}": gpu for i, gpu in enumerate(tf.config.list_physical_devices("GPU"))}
        details = [tf.config.experimental.get_device_details(gpus[d]) if d in gpus else {} for d in devices]
        return [detail.get("device_name") or device for detail, device in zip(details, devices)]
    return list(devices)


def device_report():
    """Names the accelerator(s) the active Keras backend can use.

    The active backend is asked, and only it. On TensorFlow and JAX, `keras.distribution.list_devices()` says
    which accelerators there are (GPUs or TPUs; on a machine with none it lists the CPU), and the backend gives
    their names. Keras has no distribution library for PyTorch (`keras.distribution.list_devices` fails there),
    so on PyTorch `torch.cuda` is asked. A backend without an accelerator, or one that fails to list its
    devices, is reported as running on the CPU, whatever the CPU, so the report reads the same on every
    machine without one.

    Returns:
        A string, the accelerators' names separated by ", ", or `"CPU"`.

    Example:

    >>> from bidirbook.chapter import device_report
    >>> isinstance(device_report(), str)
    True
    """
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "torch":
            import torch

            count = torch.cuda.device_count() if torch.cuda.is_available() else 0
            names = [torch.cuda.get_device_name(i) for i in range(count)]
        else:
            accelerators = [d for d in keras.distribution.list_devices() if not d.startswith("cpu:")]
            names = _accelerator_names(backend, accelerators)
    except Exception:  # A missing driver must not stop a chapter.
        names = []
    return ", ".join(names) if names else "CPU"


def _sharp_inline_figures():
    """Asks the notebook's inline backend for figures drawn at twice the pixels.

    The "retina" format stores each PNG at 2x with its display size in the
    output's metadata, so figures stay sharp on high-DPI screens in Jupyter,
    Colab and on the website (which shows the recorded outputs). Outside
    IPython, or without matplotlib-inline, it does nothing.
    """
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return False
    if get_ipython() is None:
        return False
    set_matplotlib_formats("retina")
    return True


def setup(seed=0, verbose=True):
    """Seeds everything a chapter uses and reports backend and device.

    Seeds Python's `random`, NumPy's global generator and Keras
    (`keras.utils.set_random_seed`, which also seeds the backend's own
    generator). With the TensorFlow backend it also turns on TensorFlow's
    op determinism, so that a chapter's numbers are the same on every run
    on the same machine. In a notebook it asks for figures at twice the
    pixels ("retina"), sharp on high-DPI screens.

    Args:
        seed: Integer, the seed for every random number generator.
            Defaults to `0`.
        verbose: Boolean, whether to print the report. Defaults to `True`.

    Returns:
        A dict with the keys `"backend"` (the active Keras backend),
        `"keras"` (the Keras version), `"device"` (GPU name(s) or
        `"CPU"`) and `"seed"`.

    Example:

    >>> from bidirbook.chapter import setup
    >>> report = setup(seed=0, verbose=False)
    >>> sorted(report)
    ['backend', 'device', 'keras', 'seed']
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            f"`seed` must be a non-negative integer. Received: seed={seed!r}"
        )
    if seed < 0:
        raise ValueError(
            f"`seed` must be a non-negative integer. Received: seed={seed!r}"
        )
    seed = int(seed)

    import keras

    backend = keras.backend.backend()
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()

    _sharp_inline_figures()

    report = {
        "backend": backend,
        "keras": keras.__version__,
        "device": device_report(),
        "seed": seed,
    }
    if verbose:
        print(f"Keras {report['keras']}, backend: {backend}")
        print(f"Device: {report['device']}")
        print(f"Seed: {seed}")
    return report


def repository_checkout(url, marker="scripts/multi_worker.py"):
    """The folder of the book's repository that a chapter reads scripts and committed results from.

    A chapter opened from a clone runs in its `chapters/` folder: the repository is the nearest folder, from the
    working directory up, that holds `marker`. Colab opens a notebook on its own, with no repository around it:
    there the repository at `url` is cloned once into `./bidirectional-book` (the only download a chapter makes,
    of code and committed results, not of data). Anywhere else a missing repository is an error, not a download.

    Example:

    >>> import pathlib
    >>> from bidirbook.chapter import repository_checkout
    >>> (repository_checkout("https://example.invalid/unused") / "scripts" / "multi_worker.py").is_file()
    True
    """
    here = pathlib.Path.cwd()
    for folder in (here, *here.parents):
        if (folder / marker).is_file():
            return folder
    clone = here / url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    if not (clone / marker).is_file():
        if "google.colab" not in sys.modules:
            raise FileNotFoundError(
                f"no {marker} in {here} or the folders above it: run the chapter from its folder in a clone of {url}"
            )
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", url, str(clone)], check=True)
    return clone


def use_float64():
    """Makes every Keras layer built from now on compute in 64-bit floats, where the backend allows it.

    A chapter whose printed results come from training calls this before it builds its models when the
    models are small: in 32-bit floats, processors of different makes round a matrix product differently
    (TensorFlow picks its kernels by instruction set), and many training steps grow that into the printed
    digits; in 64-bit floats the difference stays far below them. The committed outputs are recorded, and
    compared, on TensorFlow.

    On TensorFlow and PyTorch this is `keras.config.set_floatx("float64")`. On JAX it changes nothing: JAX
    computes in 32 bits unless its 64-bit mode is on before it starts, and in that mode Keras 3.15's recurrent
    layers fail (their loop's state comes back in 32 bits). Nothing compares a chapter's digits on JAX.

    Returns:
        The float type layers now compute in: "float64", or "float32" on JAX.

    Example:

    >>> import keras
    >>> from bidirbook.chapter import use_float64
    >>> before = keras.config.floatx()
    >>> use_float64() == keras.config.floatx()
    True
    >>> keras.config.set_floatx(before)
    """
    import keras

    if keras.backend.backend() != "jax":
        keras.config.set_floatx("float64")
    return keras.config.floatx()
