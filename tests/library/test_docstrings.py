"""Every example in the docstrings of bidirlib and of the book's helpers (bidirbook) runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import bidirbook
import bidirlib
from helpers.book import agg_pyplot

MODULES = sorted(
    info.name
    for package in (bidirlib, bidirbook)
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    if module_name == "bidirbook.plot":
        plt = agg_pyplot()  # the figures' examples draw off screen
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    if module_name == "bidirbook.plot":
        plt.close("all")
    assert result.attempted > 0 or module_name.startswith("bidirlib."), f"no docstring example ran in {module_name}"
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"


def test_public_names_have_examples():
    """Each public class and function documents an Example section, as Keras's layer files do."""
    from bidirlib import layers

    public = [getattr(bidirlib, name) for name in bidirlib.__all__ if name not in ("__version__", "MERGE_MODES", "layers")]
    public += [getattr(layers, name) for name in layers.__all__]
    lacking = [obj.__name__ for obj in public if "Example" not in (obj.__doc__ or "") and not isinstance(obj, type(bidirlib))]
    # Report classes are plain records; their users read check_sequence_layer's example.
    lacking = [name for name in lacking if name not in ("CriterionResult", "SequenceLayerReport", "SequenceLayer")]
    assert not lacking, f"no Example in the docstring of: {lacking}"
