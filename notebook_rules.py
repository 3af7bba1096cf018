"""Checks of the book's chapter notebooks, shared by the recorder, the tests and the website's build.

`scripts/record_notebooks.py` refuses to write a notebook that breaks these rules, and
`tests/book/test_chapters.py` checks the committed notebooks against the same rules, so the two cannot drift
apart; `tests/book/test_solutions.py` runs the chapters in the recorder's environment, and
`_ext/figure_descriptions.py` (the website's build) and `tests/site/test_site.py` read a figure's description
from its caption with `figure_description`. Nothing here imports Keras; it needs only the standard library (and
works on `nbformat` cells, which are dictionaries with attribute access).

Why a module at the repository's root: its users are tooling that runs from a checkout, and no chapter imports
it, so it belongs in neither installed package (bidirlib's or bidirbook's wheel). Each user finds it without
installing anything: pytest puts the root on `sys.path` (for the root `conftest.py`), and the recorder and the
Sphinx extension put it there themselves. `tests/book/test_chapters.py` runs the examples below.

The rules, in short:

- nbval markers are cell tags (`raises-exception`, `nbval-ignore-output`), never `# NBVAL_...` comments, so
  the code a reader sees is clean;
- an error output keeps a one-line traceback, `ExceptionType: message`, which is what a renderer draws
  (myst-nb and nbconvert draw an error from its traceback alone);
- no output holds a machine path;
- a notebook's markdown holds no MyST directive or role (they show as raw text in JupyterLab and Colab);
- exercise solutions live in HTML `<details>` blocks, and so does each figure's description, in its caption.
"""

import html.parser
import re

__all__ = [
    "IGNORE_OUTPUT_TAG",
    "FIGURE_DESCRIPTION",
    "RECORDING_ENVIRONMENT",
    "MACHINE_PATH",
    "NBVAL_COMMENT",
    "RAISES_TAGS",
    "error_traceback",
    "figure_description",
    "ignores_output",
    "machine_paths",
    "marked_to_raise",
    "myst_syntax",
    "nbval_comments",
    "output_texts",
    "solution_blocks",
    "solution_code",
    "text_outside_details",
]

#: The environment every chapter is recorded in (scripts/record_notebooks.py), and run in by the tests that
#: execute chapters: TensorFlow on the CPU, fixed hash seed, deterministic ops. The kernel inherits it.
RECORDING_ENVIRONMENT = {
    "KERAS_BACKEND": "tensorflow",
    "PYTHONHASHSEED": "0",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "CUDA_VISIBLE_DEVICES": "",
    "TF_DETERMINISTIC_OPS": "1",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}

#: The tags nbval reads as "this cell raises" (both spellings nbval 0.11 knows).
RAISES_TAGS = frozenset({"raises-exception", "nbval-raises-exception"})

#: The tag nbval reads as "do not compare this cell's output".
IGNORE_OUTPUT_TAG = "nbval-ignore-output"

#: A comment nbval would read as a marker. Markers are tags in this book.
NBVAL_COMMENT = re.compile(r"^\s*#\s*NBVAL_\w+", re.M)

#: Text that must never be committed in an output, since it differs between machines and leaks where the
#: notebook was recorded.
MACHINE_PATH = re.compile(r"/root/|/tmp/|/work/|/home/|site-packages")

#: MyST syntax that only the website understands, such as a directive fence (```{name} or :::{name}), a role
#: ({name}`text`), a target label ("(label)=" on its own line) or a labelled equation ("$$ (label)").
MYST_SYNTAX = re.compile(
    r"^\s*(`{3,}|:{3,})\{[\w-]+\}"          # ```{directive}  :::{directive}
    r"|\{[\w-]+(:[\w-]+)*\}`"               # {role}`...`  {py:func}`...`
    r"|^\s*\([\w-]+\)=\s*$"                 # (label)=
    r"|^\s*\$\$\s*\([\w-]+\)\s*$",          # $$ (label)
    re.M,
)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


def marked_to_raise(cell):
    """Whether nbval expects the code cell to raise (it is tagged `raises-exception`)."""
    return bool(_tags(cell) & RAISES_TAGS)


def ignores_output(cell):
    """Whether nbval leaves the code cell's output uncompared (it is tagged `nbval-ignore-output`)."""
    return IGNORE_OUTPUT_TAG in _tags(cell)


def nbval_comments(cell):
    """The `# NBVAL_...` comment lines of a code cell (there should be none: use tags)."""
    if cell.get("cell_type") != "code":
        return []
    return [match.group(0).strip() for match in NBVAL_COMMENT.finditer(cell.get("source", ""))]


def error_traceback(ename, evalue):
    """The traceback an error output is committed with: one line, `ename: evalue`, without colours.

    A renderer (myst-nb on the website, nbconvert, JupyterLab) draws an error output from its traceback, so
    an empty traceback shows an empty box; the full one lists library files by their machine paths. nbval
    does not compare tracebacks (it compares `ename` and `evalue`), so this line is for readers only.

    Example:

    >>> from notebook_rules import error_traceback
    >>> error_traceback("ValueError", "`merge_mode` must be one of ...")
    ['ValueError: `merge_mode` must be one of ...']
    """
    return [f"{ename}: {_ANSI.sub('', evalue)}"]


def output_texts(output):
    """Yields every piece of text an output holds (streams, errors, text and JSON data)."""
    kind = output.get("output_type")
    if kind == "stream":
        yield output.get("text", "")
    elif kind == "error":
        yield output.get("ename", "")
        yield output.get("evalue", "")
        yield from output.get("traceback", [])
    else:
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/") or mime.endswith("json"):
                yield value if isinstance(value, str) else str(value)


def machine_paths(output):
    """The machine paths (`/root/`, `/tmp/`, ...) an output holds, each with the text around it."""
    found = []
    for text in output_texts(output):
        for match in MACHINE_PATH.finditer(text):
            start = max(match.start() - 80, 0)
            found.append((match.group(0), text[start:match.end() + 80]))
    return found


def myst_syntax(markdown):
    """The MyST directives, roles and labels in a markdown text, as the matched snippets."""
    return [match.group(0).strip() for match in MYST_SYNTAX.finditer(markdown)]


_DETAILS = re.compile(r"<details>\s*<summary>\s*Solution\s*</summary>(.*?)</details>", re.S)
_FENCE = re.compile(r"^(`{3,})(python|py|ipython3?)?[ \t]*\n(.*?)^\1[ \t]*$", re.S | re.M)


def solution_blocks(markdown):
    """The contents of the markdown's `<details><summary>Solution</summary> ... </details>` blocks.

    Example:

    >>> from notebook_rules import solution_blocks
    >>> solution_blocks("**Exercise 1.** Why? <details><summary>Solution</summary>Because.</details>")
    ['Because.']
    """
    return [match.group(1) for match in _DETAILS.finditer(markdown)]


#: The summary line of the block, in a figure's caption cell, that describes the figure in words.
FIGURE_DESCRIPTION = "Description of the figure"
_DESCRIPTION = re.compile(
    r"<details>\s*<summary>\s*" + re.escape(FIGURE_DESCRIPTION) + r"\s*</summary>(.*?)</details>", re.S
)


def figure_description(markdown):
    """The text of a caption's `<details><summary>Description of the figure</summary> ... </details>` block.

    A figure's description is written once, in its caption cell, where JupyterLab, Colab and the website all
    show it (folded); the website also gives it to the image as its alt text (`_ext/figure_descriptions.py`).
    Returns the text with its whitespace collapsed, or None when the markdown has no such block.

    Example:

    >>> from notebook_rules import figure_description
    >>> figure_description("**Figure 1.** Loss. <details><summary>Description of the figure</summary>"
    ...                    "A line  falling.</details>")
    'A line falling.'
    """
    match = _DESCRIPTION.search(markdown)
    return None if match is None else re.sub(r"\s+", " ", match.group(1)).strip()


def solution_code(markdown):
    """The Python code blocks inside the markdown's solution blocks, in order.

    A fenced block counts as Python when its info string is `python` (or `py`, `ipython3`) or empty.
    """
    blocks = []
    for solution in solution_blocks(markdown):
        for match in _FENCE.finditer(solution):
            blocks.append(match.group(3))
    return blocks


class _OutsideDetails(html.parser.HTMLParser):
    """Collects the text of an HTML page that is not inside a `<details>` element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.outside = []

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "details" and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.outside.append(data)


def text_outside_details(page):
    """The text of an HTML page outside its `<details>` elements, whitespace collapsed."""
    parser = _OutsideDetails()
    parser.feed(page)
    parser.close()
    return re.sub(r"\s+", " ", " ".join(parser.outside))
