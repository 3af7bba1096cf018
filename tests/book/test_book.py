"""The book's sources: what api.md and _config.yml must say, checked without
building anything.

The built website (it builds with warnings as errors; every page, link,
figure, Colab button, the search and the API page in a real browser, at
desktop and phone width) is checked by tests/site/test_site.py.
"""

import ast
import re
import pathlib

import pytest
import yaml

import bidirlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
API = (ROOT / "api.md").read_text()


@pytest.mark.parametrize("module", ["bidirbook.data", "bidirbook.plot", "bidirbook.schematic", "bidirbook.chapter"])
def test_api_page_documents_helper_modules(module):
    assert re.search(rf"^\.\. automodule:: {re.escape(module)}\n\s+:members:", API, re.M)


def test_merge_modes_value_on_api_page_is_current():
    match = re.search(r"py:data:: bidirlib\.MERGE_MODES\n\s+:value: (.+)", API)
    assert match, "api.md should state MERGE_MODES' value"
    assert tuple(ast.literal_eval(match.group(1))) == tuple(bidirlib.MERGE_MODES)


def test_build_ignores_what_is_not_the_book():
    excluded = set(CONFIG["exclude_patterns"])
    for pattern in ("README.md", "_build", ".venv", "venv", ".ci", "tests", "bench", "scripts"):
        assert pattern in excluded, f"_config.yml should exclude {pattern}"
    assert CONFIG["only_build_toc_files"] is True

