"""Sphinx extension: show a Keras layer's real constructor signature.

`keras.layers.Layer` defines `__new__(cls, *args, **kwargs)`, and autodoc
takes the signature of `__new__` before that of `__init__`, so every layer
class would be documented as `Layer(*args, **kwargs)`. This replaces that
signature with the one of the class's `__init__` (without annotations,
as `autodoc_typehints: none` asks).
"""

import inspect


def _init_signature(cls):
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return None
    parameters = list(signature.parameters.values())[1:]  # drop `self`
    parameters = [p.replace(annotation=inspect.Parameter.empty) for p in parameters]
    return str(signature.replace(parameters=parameters,
                                 return_annotation=inspect.Signature.empty))


def _process_signature(app, what, name, obj, options, signature, return_annotation):
    if what != "class" or not isinstance(obj, type):
        return None
    if signature not in ("(*args, **kwargs)", None):
        return None
    if "__init__" not in vars(obj) and not any(
        "__init__" in vars(base) for base in obj.__mro__[1:-1]
    ):
        return None
    replacement = _init_signature(obj)
    if replacement is None or replacement == "(*args, **kwargs)":
        return None
    return replacement, return_annotation


def setup(app):
    app.connect("autodoc-process-signature", _process_signature)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
