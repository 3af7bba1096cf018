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


def _is_bidirectional(test):
    """The docstrings of bidirlib.Bidirectional and its methods: run by test_bidirectional_examples_run_on_their_own."""
    name = f"{bidirlib.Bidirectional.__module__}.Bidirectional"
    return test.name == name or test.name.startswith(name + ".")


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    if module_name == "bidirbook.plot":
        plt = agg_pyplot()  # the figures' examples draw off screen
    module = importlib.import_module(module_name)
    # What doctest.testmod(module) runs, less Bidirectional's own examples (run, more strictly, below).
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    for test in doctest.DocTestFinder().find(module, module.__name__):
        if not _is_bidirectional(test):
            runner.run(test)
    result = runner.summarize(verbose=False)
    if module_name == "bidirbook.plot":
        plt.close("all")
    assert result.attempted > 0 or module_name.startswith("bidirlib."), f"no docstring example ran in {module_name}"
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"


def test_bidirectional_examples_run_on_their_own():
    """Keras defect 12: the docstring's examples run (the first one had a missing parenthesis in Keras). Each
    example imports what it uses (empty globals) and prints exactly what it shows (no whitespace folding)."""
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = finder.find(bidirlib.Bidirectional, "Bidirectional", globs={})
    assert tests and sum(len(t.examples) for t in tests) >= 10
    for test in tests:
        runner.run(test)
    assert runner.failures == 0


def test_public_names_have_examples():
    """Each public class and function documents an Example section, as Keras's layer files do."""
    from bidirlib import layers

    public = [getattr(bidirlib, name) for name in bidirlib.__all__ if name not in ("__version__", "MERGE_MODES", "layers")]
    public += [getattr(layers, name) for name in layers.__all__]
    lacking = [obj.__name__ for obj in public if "Example" not in (obj.__doc__ or "") and not isinstance(obj, type(bidirlib))]
    # Report classes are plain records; their users read check_sequence_layer's (or check_export's) example.
    records = ("CriterionResult", "SequenceLayerReport", "SequenceLayer", "ExportCheck")
    lacking = [name for name in lacking if name not in records]
    assert not lacking, f"no Example in the docstring of: {lacking}"
