"""The benchmark scripts in bench/ (not a package), loaded as modules for the tests that use their functions."""

import importlib.util
import pathlib

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"


def load(name):
    """The module `bench/<name>.py`, freshly executed."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
