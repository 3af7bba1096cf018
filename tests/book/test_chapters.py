"""Structural checks of every chapter notebook (chapters/*.ipynb).

nbval checks that a chapter's committed outputs are what its code gives; these
tests check that the chapter is built the way the book promises: a title and
an overview, an install cell that is safe on Colab, a seeded setup cell, a GPU
request for Colab, outputs recorded top to bottom, figures with captions and
alt text, exercises with hidden solutions, one markup that the website,
JupyterLab and Colab all render, and a place in the table of contents.

The rules shared with scripts/record_notebooks.py live in notebook_rules.py, at the repository's root.
"""

import ast
import copy
import pathlib
import re
import shlex

import nbformat
import pytest
import yaml

from notebook_rules import (
    FIGURE_DESCRIPTION,
    error_traceback,
    figure_description,
    ignores_output,
    machine_paths,
    marked_to_raise,
    myst_syntax,
    nbval_comments,
    solution_blocks,
    text_outside_details,
)

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
REPOSITORY_URL = CONFIG["repository"]["url"].rstrip("/")

# Data packages a chapter may install on Colab beside bidirlib and bidirbook: those bidirbook's `chapters` extra
# pins with `==` (the real-data chapters read files that these exact wheels ship).
BOOK_DATA_PACKAGES = {
    requirement.split(";")[0].strip()
    for requirement in tomllib.loads((ROOT / "book" / "pyproject.toml").read_text())
    ["project"]["optional-dependencies"]["chapters"]
    if "==" in requirement
}
# Packages Colab already has; reinstalling them there breaks its runtime.
PREINSTALLED = re.compile(r"\b(tensorflow|tf-nightly|keras|numpy|jax|torch)\b", re.I)


def test_there_are_chapters():
    assert CHAPTERS, "no notebooks in chapters/"


@pytest.fixture(params=CHAPTERS, ids=[p.name for p in CHAPTERS])
def chapter(request):
    return request.param


@pytest.fixture
def nb(chapter):
    return nbformat.read(chapter, as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_file_name_is_numbered(chapter):
    assert re.fullmatch(r"\d{2}_[a-z0-9_]+\.ipynb", chapter.name), chapter.name


def test_first_cell_is_title_and_overview(nb):
    first = nb.cells[0]
    assert first.cell_type == "markdown", "the first cell must be markdown"
    lines = [line for line in first.source.splitlines() if line.strip()]
    assert lines and re.match(r"# \S", lines[0]), "the first cell must open with a '# ' title"
    assert len(lines) > 1, "the first cell must say what the reader will learn"


def test_second_cell_installs_bidirlib_only_on_colab(nb):
    cell = nb.cells[1]
    assert cell.cell_type == "code", "the second cell must be the install cell"
    lines = cell.source.splitlines()
    assert "import sys" in (line.strip() for line in lines)
    guard = [i for i, line in enumerate(lines) if line.strip() == 'if "google.colab" in sys.modules:']
    assert len(guard) == 1, "the install must be guarded by `if \"google.colab\" in sys.modules:`"

    installs = [(i, line) for i, line in enumerate(lines) if "pip" in line and "install" in line]
    assert len(installs) == 1, "exactly one pip install line"
    index, line = installs[0]
    assert index > guard[0] and line.startswith((" ", "\t")), "the install must be inside the guard"
    words = shlex.split(line.strip())
    assert words[:2] == ["%pip", "install"], "use the %pip magic (it installs into the kernel)"
    options = [w for w in words[2:] if w.startswith("-")]
    requirements = [w for w in words[2:] if not w.startswith("-")]
    assert "--no-deps" in options, "--no-deps keeps Colab's TensorFlow, Keras and NumPy"
    assert set(options) <= {"-q", "--quiet", "--no-deps"}, options
    # bidirlib, then bidirbook from the same repository (its book/ folder); after them, only data packages that
    # bidirbook's `chapters` extra pins (a real-data chapter's data).
    assert len(requirements) >= 2, "install bidirlib and bidirbook"
    for extra in requirements[2:]:
        assert extra in BOOK_DATA_PACKAGES, (
            f"the install cell may add only a data package that bidirbook's chapters extra pins "
            f"({sorted(BOOK_DATA_PACKAGES)}); got {extra!r}"
        )
    branch = CONFIG["repository"].get("branch", "main")
    sources = [f"git+{REPOSITORY_URL}", f"git+{REPOSITORY_URL}.git", f"git+{REPOSITORY_URL}@{branch}"]
    allowed = {(f"bidirlib @ {source}", f"bidirbook @ {source}#subdirectory=book") for source in sources}
    assert tuple(requirements[:2]) in allowed, (
        f"install bidirlib, then bidirbook (#subdirectory=book), from the repository in _config.yml "
        f"({REPOSITORY_URL}); got {requirements[:2]!r}"
    )
    code = "\n".join(line for line in lines if not line.strip().startswith("#"))
    assert not PREINSTALLED.search(code), "never (re)install TensorFlow, Keras or NumPy"
    assert not cell.outputs, "on this machine the install cell does nothing and prints nothing"


INSTALLS = re.compile(r"\b(pip|conda|mamba|micromamba|apt-get|apt)\b.*\binstall\b")


def test_only_the_install_cell_installs(nb):
    # On Colab the book installs bidirlib, and nothing else, once: in the second cell.
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or index == 1:
            continue
        for line in cell.source.splitlines():
            if line.strip().startswith("#"):
                continue
            assert not INSTALLS.search(line) and not re.match(r"\s*[%!]\s*(pip|conda)\b", line), (
                f"cell {index} installs something: {line.strip()!r}; only the second cell installs, "
                "and only bidirlib"
            )


def test_third_cell_is_the_setup_cell(chapter, nb):
    cell = nb.cells[2]
    assert cell.cell_type == "code"
    assert ignores_output(cell), (
        "the setup cell prints versions and devices: tag it nbval-ignore-output"
    )
    source = cell.source
    backend = source.find('os.environ.setdefault("KERAS_BACKEND"')
    log_level = source.find('os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL"')
    assert backend >= 0 and log_level >= 0, "set KERAS_BACKEND and TF_CPP_MIN_LOG_LEVEL by default"
    first_import = min(
        (m.start() for m in re.finditer(r"^\s*(import|from)\s+(keras|bidirlib|tensorflow)\b",
                                        source, re.M)),
        default=len(source),
    )
    assert backend < first_import and log_level < first_import, (
        "the environment must be set before Keras or bidirlib is imported"
    )
    assert re.search(r"\bsetup\(\s*seed=", source), "call bidirbook.chapter.setup(seed=...)"


def test_install_and_setup_cells_are_folded_on_the_website(nb):
    # The two cells every chapter opens with are boilerplate: the website folds their code behind a toggle
    # (myst-nb's hide-input tag), so that a reader meets the chapter's subject first. They still run on
    # Colab and in JupyterLab, and the setup cell's report (backend, device) still shows.
    for index in (1, 2):
        assert "hide-input" in nb.cells[index].metadata.get("tags", []), f"cell {index}: tag it hide-input"


def test_colab_asks_for_a_gpu(nb):
    assert nb.metadata.get("accelerator") == "GPU"
    colab = nb.metadata.get("colab")
    assert isinstance(colab, dict) and colab.get("gpuType"), "Colab metadata must request a GPU"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def test_no_empty_code_cells(nb):
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.source.strip(), f"cell {index} is an empty code cell"


def test_executed_top_to_bottom(nb):
    counts = [cell.execution_count for cell in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), (
        f"execution counts {counts}: re-record with scripts/record_notebooks.py"
    )


def test_no_unexpected_errors(nb):
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if marked_to_raise(cell):
            assert errors, f"cell {index} is marked to raise but has no error output"
        else:
            assert not errors, f"cell {index} raised {errors[0].ename}: {errors[0].evalue}"


def test_outputs_hold_no_machine_paths(nb):
    for index, cell in enumerate(code_cells(nb)):
        for output in cell.outputs:
            found = machine_paths(output)
            assert not found, f"code cell {index + 1} prints a machine path: {found[0][1]!r}"


def test_no_nbval_comments(chapter, nb):
    # nbval's markers are cell tags, so the code a reader sees is clean.
    for index, cell in enumerate(nb.cells):
        comments = nbval_comments(cell)
        assert not comments, f"cell {index} holds {comments}: use the cell tags raises-exception, nbval-ignore-output"


def test_error_outputs_show_type_and_message(chapter, nb):
    # The website (myst-nb) and nbconvert draw an error output from its traceback alone: an empty one is an
    # empty box. scripts/record_notebooks.py keeps one line, without machine paths.
    for index, cell in enumerate(code_cells(nb)):
        for output in cell.outputs:
            if output.output_type == "error":
                assert output.traceback == error_traceback(output.ename, output.evalue), (
                    f"code cell {index + 1}: re-record with scripts/record_notebooks.py"
                )


def test_ignored_outputs_never_hide_checks(nb):
    # (A chapter not yet converted may still mark a cell with a # NBVAL_IGNORE_OUTPUT comment.)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (ignores_output(cell) or "# NBVAL_IGNORE_OUTPUT" in nbval_comments(cell)):
            assert not re.search(r"^\s*assert\b|assert_allclose|assert_array", cell.source, re.M), (
                f"cell {index} ignores its output and makes a check: never hide a check"
            )


def test_training_is_quiet(nb):
    for index, cell in enumerate(code_cells(nb)):
        if re.search(r"\.fit\(", cell.source):
            assert "verbose=0" in cell.source, f"code cell {index + 1}: fit with verbose=0"


def test_figures_have_show_alt_text_and_caption(nb):
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if not any("image/png" in o.get("data", {}) for o in cell.outputs):
            continue
        assert cell.source.strip().splitlines()[-1].strip() == "plt.show()", (
            f"cell {index} draws a figure: end it with plt.show()"
        )
        following = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
        assert following is not None and following.cell_type == "markdown" and (
            following.source.lstrip().startswith("**Figure")
        ), f"cell {index}: follow the figure with a markdown caption starting '**Figure'"
        # The description is written once, in the caption, where JupyterLab and Colab show it too; the website
        # makes it the image's alt text (_ext/figure_descriptions.py). Cell metadata would be a second copy.
        description = figure_description(following.source) or ""
        assert len(description) > 20, (
            f"cell {index + 1}: describe the figure in its caption, in a "
            f"<details><summary>{FIGURE_DESCRIPTION}</summary> ... </details> block"
        )
        assert "alt" not in cell.metadata.get("mystnb", {}).get("image", {}), (
            f"cell {index}: the alt text is the caption's description; remove mystnb.image.alt"
        )


def test_ends_with_exercises_and_hidden_solutions(chapter, nb):
    sources = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    positions = [i for i, s in enumerate(sources) if re.search(r"^## Exercises", s, re.M)]
    assert positions, "a chapter ends with an '## Exercises' section"
    after = "\n".join(sources[positions[-1]:])
    exercises = re.findall(r"\*\*Exercise \d", after)
    assert exercises, "no exercise found"
    assert len(solution_blocks(after)) == len(exercises), (
        "each exercise has its solution in a <details><summary>Solution</summary> ... </details> block"
    )


def test_literalincludes_point_at_real_code(chapter, nb):
    pattern = re.compile(r"^(`{3,}|:{3,})\{literalinclude\}\s+(\S+)\s*\n((?::\w+:.*\n)*)", re.M)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for match in pattern.finditer(cell.source + "\n"):
            path = (chapter.parent / match.group(2)).resolve()
            assert path.is_file(), f"literalinclude of a missing file: {match.group(2)}"
            options = dict(re.findall(r":(\w+):\s*(.*)", match.group(3)))
            if "pyobject" in options:
                tree = ast.parse(path.read_text())
                names = {
                    node.name
                    for node in ast.walk(tree)
                    if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                }
                assert options["pyobject"].split(".")[-1] in names, (
                    f"{match.group(2)} has no {options['pyobject']}"
                )


def toc_files(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root") and isinstance(value, str):
                yield value
            else:
                yield from toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from toc_files(item)


def test_chapter_is_in_the_toc(chapter):
    listed = {str(pathlib.PurePosixPath(f).with_suffix("")) for f in toc_files(TOC)}
    relative = chapter.relative_to(ROOT).with_suffix("").as_posix()
    assert relative in listed, f"{relative} is not listed in _toc.yml"


def test_toc_entries_exist():
    for entry in toc_files(TOC):
        candidates = [ROOT / entry] + [ROOT / f"{entry}{suffix}" for suffix in (".md", ".ipynb")]
        assert any(c.is_file() for c in candidates), f"_toc.yml lists a missing page: {entry}"


def test_colab_button_is_configured():
    # sphinx-book-theme adds the Colab button to notebook pages only when both are set.
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPOSITORY_URL)
    assert CONFIG["execute"]["execute_notebooks"] == "off", "the book renders committed outputs"


def test_markdown_has_no_myst_syntax(chapter, nb):
    # Directives, roles and equation labels show as raw text in JupyterLab and Colab. Use plain Markdown:
    # inline code for API names, links to NN_name.ipynb for chapters, \\tag{n} for equation numbers,
    # <details> for solutions, a bold lead-in or a blockquote for notes, a show_source cell for source.
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            found = myst_syntax(cell.source)
            assert not found, f"cell {index} holds MyST syntax: {found}"


# What MyST looks like once a renderer that does not know it has drawn it as HTML: a role's name before its
# code span, a directive's name as a code block's language, a label as text.
RENDERED_MYST = re.compile(
    r"\{[\w-]+(?::[\w-]+)*\}<code>"
    r"|language-\{[\w-]+\}"
    r"|\{(?:literalinclude|admonition|note|tip|warning|toggle|dropdown|math|eq|doc|ref|numref)\}"
    r"|^\s*\([\w-]+\)=\s*$"
    r"|\$\$\s*\([\w-]+\)",
    re.M,
)


@pytest.fixture(scope="module")
def html_exporter():
    # nbconvert's own HTML exporter, with no MyST extension: the notebook as JupyterLab shows it.
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab")


def test_renders_without_myst_as_jupyterlab_shows_it(chapter, nb, html_exporter):
    plain = nbformat.from_dict(copy.deepcopy(nb))
    # Only the markdown is in question; outputs (the printed source, error messages) are not markup.
    for cell in plain.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    page, _ = html_exporter.from_notebook_node(plain)
    body = page[page.index("<body"):]
    found = RENDERED_MYST.findall(body)
    assert not found, f"the page shows MyST as raw text: {found[:5]}"

    # Every solution is drawn inside a <details> element, and nothing of it shows outside one.
    solutions = [block for cell in plain.cells if cell.cell_type == "markdown"
                 for block in solution_blocks(cell.source)]
    descriptions = [cell for cell in plain.cells if cell.cell_type == "markdown" and figure_description(cell.source)]
    assert body.count("<details>") == len(solutions) + len(descriptions), (
        "a solution or figure description block was not rendered as <details>"
    )
    everything = words(text_outside_details(body.replace("<details>", "").replace("</details>", "")))
    outside = words(text_outside_details(body))
    for solution in solutions:
        # The first words of the solution's first line of prose, as they read once rendered.
        prose = next(line for line in solution.splitlines() if line.strip() and not line.startswith("```"))
        snippet = words(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", prose))[:8]
        assert snippet and contains(everything, snippet), f"cannot find the solution text {snippet} on the page"
        assert not contains(outside, snippet), f"solution text {' '.join(snippet)!r} shows outside a <details> block"


def words(text):
    return re.sub(r"\W+", " ", text).split()


def contains(haystack, needle):
    return any(haystack[i:i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def test_links_to_chapters_exist(chapter, nb):
    # A link to another chapter is a relative link to its notebook, which the website (myst-nb turns it into
    # a link to the page), JupyterLab and Colab (it opens the sibling notebook from the same repository) follow.
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for target in re.findall(r"\]\(([^)\s]+)\)", cell.source):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = target.split("#")[0]
            assert path.endswith(".ipynb") and (chapter.parent / path).is_file(), (
                f"cell {index} links to {target!r}: link a chapter as NN_name.ipynb"
            )


def test_the_rules_examples_run_as_written():
    # notebook_rules.py is in no package, so tests/library/test_docstrings.py does not reach it.
    import doctest

    import notebook_rules

    result = doctest.testmod(notebook_rules)
    assert result.attempted and not result.failed, result
