"""Sphinx extension: numbered display equations that hold a line break typeset on the site.

The book numbers its display equations with `\\tag{n}`, which JupyterLab, Colab and the site all
understand. But Sphinx's MathJax writer wraps any display equation holding a `\\\\` line break (a
`cases`, `aligned` or matrix row) in a `split` environment, and `\\tag` is not allowed inside
`split`: MathJax then shows a red error instead of the equation. For those equations this
extension writes the LaTeX exactly as the notebook has it, between the display delimiters, as
JupyterLab does; every other equation is left to Sphinx.
"""

from docutils import nodes


def _write_tagged_equations_as_written(app, doctree):
    opening, closing = app.config.mathjax_display
    for block in doctree.findall(nodes.math_block):
        latex = block.astext()
        if r"\tag" not in latex or r"\\" not in latex or block.get("nowrap"):
            continue
        # With nowrap, the MathJax writer emits the text as it is, inside the same
        # <div class="math">, which MathJax's configuration already processes.
        block["nowrap"] = True
        block.children = [nodes.Text(f"{opening}{latex.strip()}{closing}")]


def setup(app):
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("doctree-read", _write_tagged_equations_as_written)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
