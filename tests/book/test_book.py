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
from helpers.defects import pinning_tests

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



def test_setup_makes_a_notebooks_figures_sharp_on_high_dpi_screens():
    # A chapter's setup cell asks the inline backend for "retina" PNGs: drawn
    # at twice the pixels, shown at the size the metadata gives.
    import base64
    import os
    import struct

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\n"
        "from bidirbook.chapter import setup\n"
        "setup(seed=0, verbose=False)\n"
        "plt.figure(figsize=(4, 3), dpi=100)\n"
        "plt.plot([0, 1])\n"
        "plt.show()"
    )])
    env = {"KERAS_BACKEND": "jax", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    images = [o for o in nb.cells[0].outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1, nb.cells[0].outputs
    png = base64.b64decode(images[0]["data"]["image/png"])
    pixel_width = struct.unpack(">I", png[16:20])[0]
    shown_width = images[0]["metadata"]["image/png"]["width"]
    assert pixel_width >= 2 * shown_width - 2, (pixel_width, shown_width)


def test_docstrings_single_backticks_are_code_and_streams_merge():
    config = CONFIG["sphinx"]["config"]
    assert config["default_role"] == "literal"
    assert config["nb_merge_streams"] is True


def test_defects_page_shows_each_defect_and_links_the_test_that_pins_it():
    import nbformat

    page = ROOT / "reference" / "keras_defects.ipynb"
    nb = nbformat.read(page, as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    # The library's tests are grouped by behaviour; a test that pins a defect says so in its docstring.
    pins = pinning_tests()
    sections_named = {int(n) for n in re.findall(r"^## (\d+)\. ", markdown, re.M)}
    assert pins and set(pins) == sections_named, (
        f"defects with a section: {sorted(sections_named)}; defects a test pins: {sorted(pins)}"
    )
    repository = CONFIG["repository"]
    base = f"{repository['url'].rstrip('/')}/blob/{repository.get('branch', 'main')}/"
    for number, tests in pins.items():
        section = re.search(rf"^## {number}\. (.*?)(?=^## \d+\. |\Z)", markdown, re.M | re.S).group(1)
        for path, name in tests:
            assert f"`{name}`" in section, f"defect {number}'s section does not name {name}"
            assert f"]({base}{path})" in section, f"defect {number}'s section does not link {base}{path}"
    # Each section shows its defect with code and the output it recorded.
    sections = re.split(r"^## \d+\. ", "\n".join(
        c.source if c.cell_type == "markdown" else "<code>" + ("<output>" if c.outputs else "")
        for c in nb.cells), flags=re.M)[1:]
    for number, section in enumerate(sections, start=1):
        assert "<code><output>" in section, f"defect {number} has no code cell with an output"
    # The book never cites a file its readers cannot see.
    for path in [page, ROOT / "intro.md", *sorted((ROOT / "reference").glob("*.md"))]:
        assert "KERAS_BEHAVIOUR" not in path.read_text(), path


def test_repository_checkout_finds_the_clone_it_runs_in_and_clones_only_on_colab(tmp_path, monkeypatch):
    import subprocess
    import sys
    import types

    from bidirbook.chapter import repository_checkout

    url = "https://github.com/bidirlib/bidirectional-book"
    # From a chapter's folder in a clone: the folder above that holds the script.
    monkeypatch.chdir(ROOT / "chapters")
    assert repository_checkout(url) == ROOT

    # Anywhere else, outside Colab: an error that says where it looked, and no download.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    clones = []
    monkeypatch.setattr(subprocess, "run", lambda command, **options: clones.append(command))
    with pytest.raises(FileNotFoundError, match=r"no scripts/multi_worker\.py in .* clone of https://github"):
        repository_checkout(url)
    assert not clones

    # On Colab (the notebook opened on its own): one shallow clone into ./bidirectional-book, then reused.
    def fake_clone(command, **options):
        clones.append(command)
        (pathlib.Path(command[-1]) / "scripts").mkdir(parents=True)
        (pathlib.Path(command[-1]) / "scripts" / "multi_worker.py").write_text("")

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", fake_clone)
    assert repository_checkout(url) == tmp_path / "bidirectional-book"
    assert repository_checkout(url) == tmp_path / "bidirectional-book"
    assert clones == [["git", "clone", "--quiet", "--depth", "1", url, str(tmp_path / "bidirectional-book")]]


def test_the_package_docstring_names_every_module_and_its_chapters():
    # A reader of a chapter finds the helper it imports from bidirbook's own docstring.
    import pkgutil

    import bidirbook

    modules = {info.name for info in pkgutil.iter_modules(bidirbook.__path__)}
    listed = set(re.findall(r"^- `bidirbook\.(\w+)`: [^[]*\[[^\]]+\]", bidirbook.__doc__, re.M))
    assert listed == modules, f"not listed: {sorted(modules - listed)}; not modules: {sorted(listed - modules)}"
