"""The book's website: its API page covers bidirlib's public names, it builds
with warnings as errors, and its chapter pages carry their figures and a Colab
button (checked in the built HTML and, where Debian's chromium is installed,
in a real headless browser).
"""

import ast
import html
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

import bidirlib
import bidirlib.layers

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
API = (ROOT / "api.md").read_text()
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def documented_names():
    return set(re.findall(r"^\.\. (?:auto\w+|py:\w+):: ([\w.]+)", API, re.M))


@pytest.mark.parametrize("name", sorted(set(bidirlib.__all__) - {"__version__", "layers"}))
def test_api_page_documents_public_name(name):
    assert f"bidirlib.{name}" in documented_names(), f"api.md does not document bidirlib.{name}"


@pytest.mark.parametrize("name", sorted(bidirlib.layers.__all__))
def test_api_page_documents_ready_layer(name):
    assert f"bidirlib.layers.{name}" in documented_names(), (
        f"api.md does not document bidirlib.layers.{name}"
    )


@pytest.mark.parametrize("module", ["bidirlib.data", "bidirlib.plot", "bidirlib.notebook"])
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


def jupyter_book_command():
    candidate = pathlib.Path(sys.executable).with_name("jupyter-book")
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which("jupyter-book")
    if found is None:
        pytest.skip("jupyter-book is not installed (pip install -e .[book])")
    return [found]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Builds the book once, with warnings as errors, into a temporary folder."""
    out = tmp_path_factory.mktemp("book")
    env = dict(os.environ, KERAS_BACKEND=os.environ.get("KERAS_BACKEND", "tensorflow"),
               TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        jupyter_book_command() + ["build", "-W", "-n", "--keep-going", str(ROOT),
                                  "--path-output", str(out)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert result.returncode == 0, (
        "jupyter-book build -W -n --keep-going failed:\n" + result.stdout[-6000:]
        + result.stderr[-3000:]
    )
    html_dir = out / "_build" / "html"
    assert (html_dir / "index.html").is_file()
    return html_dir


def colab_url(chapter):
    repository = CONFIG["repository"]
    owner_repo = repository["url"].rstrip("/").removeprefix("https://github.com/")
    relative = chapter.relative_to(ROOT).as_posix()
    return (f"{CONFIG['launch_buttons']['colab_url']}/github/{owner_repo}/blob/"
            f"{repository['branch']}/{relative}")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.name for c in CHAPTERS])
def test_chapter_page_has_colab_button_and_figures(site, chapter):
    page = site / chapter.relative_to(ROOT).with_suffix(".html")
    assert page.is_file(), f"{page.name} was not built"
    text = page.read_text()
    assert colab_url(chapter) in html.unescape(text), "no Colab button for this chapter"
    images = re.findall(r'<img alt="([^"]*)" src="\.\./_images/([^"]+\.png)"', text)
    import nbformat

    nb = nbformat.read(chapter, as_version=4)
    n_figures = sum(
        1 for cell in nb.cells if cell.cell_type == "code"
        for output in cell.outputs if "image/png" in output.get("data", {})
    )
    assert len(images) == n_figures, f"{n_figures} figures in the notebook, {len(images)} on the page"
    for alt, name in images:
        assert len(alt) > 20, f"figure {name} has no alt text"
        assert (site / "_images" / name).stat().st_size > 1000


def test_api_page_shows_real_signatures(site):
    text = html.unescape(re.sub(r"<[^>]+>", "", (site / "api.html").read_text()))
    assert "Bidirectional(layer, merge_mode='concat', weights=None, backward_layer=None" in text
    assert "(*args, **kwargs)" not in text


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
@pytest.mark.parametrize("chapter", CHAPTERS[:1], ids=[c.name for c in CHAPTERS[:1]])
def test_chapter_page_in_headless_chromium(site, chapter, tmp_path):
    page = (site / chapter.relative_to(ROOT).with_suffix(".html")).as_uri()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking"]
    dom = subprocess.run(["chromium", *flags, "--dump-dom", page],
                         capture_output=True, text=True, timeout=120).stdout
    assert colab_url(chapter) in html.unescape(dom)
    assert "_images/" in dom
    screenshot = tmp_path / "page.png"
    subprocess.run(["chromium", *flags, f"--screenshot={screenshot}",
                    "--window-size=1280,2000", page], capture_output=True, timeout=120)
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000
