"""The fused-path setting: one name (`fused_path`), three values, and the environment variable that sets it.

A layer's `fused_path` argument and attribute and the environment variable `BIDIRLIB_FUSED_PATH` (for every
layer) each take one of `FUSED_PATH_MODES`. A call runs under the *effective* setting, worked out once when
the call's plan is made (`bidirlib.plan`): "off" if either says "off", else "stacked" if either says
"stacked", else "auto".
"""

import os

from bidirlib import errors

#: The environment variable that sets the fused path for every layer.
ENVIRONMENT_VARIABLE = "BIDIRLIB_FUSED_PATH"
#: The values of the setting, as a layer's `fused_path` and as the environment variable. "auto" (the default)
#: runs a fused path where one was measured faster; "stacked" forces the stacked loop on every backend (to test
#: or compare it); "off" always runs the two directions as separate layers.
FUSED_PATH_MODES = ("auto", "stacked", "off")


def validate_fused_path(value, argument="fused_path"):
    """Return `value` if it is one of `FUSED_PATH_MODES`, else raise a `ValueError` naming `argument`."""
    return errors.require_setting(value, FUSED_PATH_MODES, argument)


def environment_setting():
    """The setting of `BIDIRLIB_FUSED_PATH`: "auto" (also when unset), "stacked" or "off".

    Example:

    >>> import os
    >>> from bidirlib.fused import environment_setting
    >>> os.environ.pop("BIDIRLIB_FUSED_PATH", None) and None
    >>> environment_setting()
    'auto'
    """
    value = os.environ.get(ENVIRONMENT_VARIABLE, "auto").strip().lower() or "auto"
    if value in ("0", "false", "no"):
        value = "off"
    if value not in FUSED_PATH_MODES:
        raise errors.bad_environment_setting(ENVIRONMENT_VARIABLE, value, FUSED_PATH_MODES)
    return value


def effective_setting(layer_setting):
    """`(setting, why)`: the setting a call runs under, and, when it is "off", who said so (else None).

    "off" if the layer or the environment says "off", else "stacked" if either says "stacked", else "auto".
    """
    environment = environment_setting()
    if layer_setting == "off":
        return "off", "fused_path is 'off'"
    if environment == "off":
        return "off", f"the environment variable {ENVIRONMENT_VARIABLE} is 'off'"
    if "stacked" in (layer_setting, environment):
        return "stacked", None
    return "auto", None
