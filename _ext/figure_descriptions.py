"""Sphinx extension: a figure's alt text on the website is the description written in its caption cell.

Each figure of the book is followed by a markdown caption cell that holds a folded block,
`<details><summary>Description of the figure</summary> ... </details>`, describing the figure in words.
JupyterLab and Colab show that block (they read no cell metadata), and so does the website. So that the
description is written once, this extension copies it, as the notebook is read, into the metadata myst-nb
reads for the image's alt text (`mystnb.image.alt` of the cell that draws the figure).
"""

import json
import pathlib
import sys

# notebook_rules.py sits at the repository's root, beside this folder, in no installed package.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from notebook_rules import figure_description  # noqa: E402


def _has_image(cell):
    return any("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


def describe_figures(notebook_json):
    """The notebook JSON with each figure's caption description set as its image's alt text."""
    notebook = json.loads(notebook_json)
    cells = notebook.get("cells", [])
    for cell, following in zip(cells, cells[1:]):
        if cell.get("cell_type") != "code" or not _has_image(cell) or following.get("cell_type") != "markdown":
            continue
        description = figure_description("".join(following.get("source", "")))
        if description:
            mystnb = cell.setdefault("metadata", {}).setdefault("mystnb", {})
            mystnb.setdefault("image", {})["alt"] = description
    return json.dumps(notebook)


def _on_source_read(app, docname, source):
    # doc2path gives a str on Sphinx 7 and a Path on Sphinx 8.
    if str(app.env.doc2path(docname)).endswith(".ipynb"):
        source[0] = describe_figures(source[0])


def setup(app):
    app.connect("source-read", _on_source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
