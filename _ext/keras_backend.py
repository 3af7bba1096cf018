"""Sphinx extension: the Keras backend the website is built with.

The API page imports bidirlib for autodoc, and importing Keras needs a
backend. The build runs no notebook, so it needs none of TensorFlow's
weight: the `site` extra installs JAX (CPU), and this extension sets
`KERAS_BACKEND` to the `keras_backend` config value (`_config.yml`,
default "jax") before autodoc imports anything, whatever the shell says.
A plain `jupyter-book build .` therefore works with only the `site` extra.
(Keras's NumPy backend would not be lighter: it imports JAX too.)
"""

import os
import sys

from sphinx.errors import ExtensionError


def _set_backend(app, config):
    wanted = config.keras_backend
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != wanted:
        raise ExtensionError(
            f"Keras was imported with the {keras.backend.backend()!r} backend before "
            f"keras_backend={wanted!r} could be set"
        )
    os.environ["KERAS_BACKEND"] = wanted


def setup(app):
    app.add_config_value("keras_backend", "jax", "env", types=[str])
    app.connect("config-inited", _set_backend)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
