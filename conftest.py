"""The notebooks tier's marker for nbval's items (tests/conftest.py describes the tiers).

A notebook's cells are collected by nbval, with no file of ours to carry a marker, so they get it here. This
file sits at the repository's root so that pytest loads it however it is called: `pytest -m notebooks
chapters/01_why_bidirectional.ipynb` never reads tests/conftest.py.
"""

import pytest


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: the marker must be there when it looks
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker("notebooks")
