"""The book's website, as a reader meets it: in a real headless browser.

The site is built once per test session, with warnings as errors, into a
temporary folder, and served over HTTP on 127.0.0.1. Chromium, driven by
Playwright, then checks that

- every page reachable from index.html loads without an error from the
  site's own files, and every internal link, anchor and image resolves;
- every chapter page has a Colab button for its notebook, and its figures
  are on the page, load, and have alt text;
- the search page finds the chapters, and the API page documents every
  public name of bidirlib;
- the pages are readable on a phone (390 x 844): no sideways scrolling, no
  text cut off.

- no page asks another host for anything (MathJax, fonts, scripts and
  styles are served by the site itself);
- every page reads as written: equations are typeset by MathJax (no raw
  LaTeX left), no nbval marker and no raw MyST markup shows, and every error
  output shows its exception's type and message.

The browser never leaves 127.0.0.1: requests to other hosts are blocked
(Playwright's routing) and listed in the report, so the tests give the same
answer online and offline. Screenshots and the report (site-report.json)
land in _build/screenshots/.

Needs Chromium or Chrome (Debian: `apt-get install chromium`; or set
BOOK_CHROMIUM to a browser binary) and the `playwright` Python package (in
the test extra; `playwright install` is not needed). Without a browser the
build test still runs and the browser tests are skipped.
"""

import contextlib
import functools
import http.server
import inspect
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import nbformat
import pytest
import yaml

import bidirlib
import bidirlib.layers
from notebook_rules import figure_description

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
# Every notebook page of the book: the chapters, and the notebooks in Reference.
NOTEBOOKS = CHAPTERS + sorted((ROOT / "reference").glob("*.ipynb"))
ARTEFACTS = ROOT / "_build" / "screenshots"

# The flags Chromium needs as root on a machine with no network but the
# package registries: without the background-networking ones it keeps
# trying to reach Google's hosts.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def find_chromium():
    configured = os.environ.get("BOOK_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


pytestmark = pytest.mark.site  # the site tier: pytest -m site

CHROMIUM = find_chromium()
needs_browser = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium or Chrome found (Debian: apt-get install chromium; or set BOOK_CHROMIUM "
           "to a browser binary): the website's browser tests are skipped",
)


# ---------------------------------------------------------------- the site


def jupyter_book_command():
    candidate = pathlib.Path(sys.executable).with_name("jupyter-book")
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which("jupyter-book")
    if found is None:
        pytest.fail("jupyter-book is not installed: pip install -e '.[test]'")
    return [found]


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """Builds the book once per session, warnings as errors, into a temporary folder.

    With `BOOK_BUILT_SITE` set to a folder of HTML, reads that build instead: CI sets it to what the README's
    site command (the same `jupyter-book build -W -n --keep-going`) built from this checkout minutes before, so
    the book is not built twice.
    """
    built = os.environ.get("BOOK_BUILT_SITE")
    if built:
        html_dir = pathlib.Path(built).resolve()
        assert (html_dir / "index.html").is_file(), f"BOOK_BUILT_SITE={built} holds no built site"
        return html_dir
    out = tmp_path_factory.mktemp("book")
    # The build picks its own Keras backend (_ext/keras_backend.py, `keras_backend` in
    # _config.yml), as a reader's plain `jupyter-book build` does.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    result = subprocess.run(
        jupyter_book_command() + ["build", "-W", "-n", "--keep-going", str(ROOT),
                                  "--path-output", str(out)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, (
        "jupyter-book build -W -n --keep-going failed:\n" + result.stdout[-6000:]
        + result.stderr[-3000:]
    )
    html_dir = out / "_build" / "html"
    assert (html_dir / "index.html").is_file()
    print(f"\nbuilt the book with -W -n in {seconds:.1f} s")
    return html_dir


def test_site_builds_with_warnings_as_errors(site):
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    missing = [c.name for c in CHAPTERS if page_path(c) not in pages]
    assert not missing, f"chapters not on the site (are they in _toc.yml?): {missing}"
    assert {"intro.html", "api.html", "search.html", "genindex.html"} <= pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="session")
def server(site):
    """Serves the built site on 127.0.0.1, on a free port; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


# Module scope: Playwright's event loop is gone before nbval's kernels start.
@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the website's browser tests need Playwright: pip install -e '.[test]' "
                    "(the Python package only; `playwright install` is not needed)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


REDIRECTS = "document.querySelector('meta[http-equiv=\"refresh\" i]') !== null"


class Tab:
    """A browser page that records what went wrong while it loaded.

    Requests to hosts other than the local server are blocked and listed in
    `external`; errors they cause in the console are expected offline and
    are not counted in `problems`.
    """

    def __init__(self, browser, base, **context_options):
        self.base = base
        self.context = browser.new_context(**context_options)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.external = set()
        self.problems = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"uncaught error: {error}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def own(self, url):
        return url.startswith(self.base)

    def _route(self, route):
        url = route.request.url
        if self.own(url) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.external.add(url)
            route.abort("blockedbyclient")

    def _console(self, message):
        if message.type != "error":
            return
        source = (message.location or {}).get("url", "")
        if source and not self.own(source) and source in self.external:
            return  # a blocked request to another host: expected offline
        self.problems.append(f"console error: {message.text} (at {source or '?'})")

    def _failed(self, request):
        if self.own(request.url):
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response):
        if self.own(response.url) and response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def open(self, path):
        """Loads `path` (relative to the site), follows a redirect, waits until nothing loads."""
        from playwright.sync_api import Error as PlaywrightError

        self.problems.clear()
        url = urllib.parse.urljoin(self.base, path)
        self.page.goto(url, wait_until="load")
        for _ in range(5):
            try:
                # Scripts and web fonts go on loading after the load event; leaving
                # the page before they arrive would count as failed requests.
                self.page.wait_for_load_state("networkidle")
                if self.page.evaluate(REDIRECTS) is False:
                    return self.page
                self.page.wait_for_url(lambda now: now != url)  # index.html -> intro.html
            except PlaywrightError as error:
                if "navigation" not in str(error):
                    raise
            self.page.wait_for_load_state("load")
        return self.page

    def close(self):
        self.context.close()


@contextlib.contextmanager
def tab(browser, server, **options):
    options.setdefault("viewport", DESKTOP)
    opened = Tab(browser, server, **options)
    try:
        yield opened
    finally:
        opened.close()


def screenshot(page, name, full_page=False):
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=full_page)


def page_path(chapter):
    return chapter.relative_to(ROOT).with_suffix(".html").as_posix()


def built(site, chapter):
    assert (site / page_path(chapter)).is_file(), (
        f"{chapter.name} is not on the site: is it in _toc.yml?"
    )


# ---------------------------------------------------------------- the crawl

COLLECT_LINKS = """() => ({
    links: Array.from(document.querySelectorAll('a[href]'), a => a.href),
    images: Array.from(document.images, img => ({
        src: img.currentSrc || img.src, alt: img.getAttribute('alt'),
        loaded: img.complete && img.naturalWidth > 0})),
    ids: Array.from(document.querySelectorAll('[id], a[name]'), e => e.id || e.name),
})"""


CRAWL_FROM = ["index.html", "search.html", "genindex.html", "py-modindex.html"]


@pytest.fixture(scope="module")
def crawl(browser, server):
    """Visits every page reachable from index.html; returns what each page showed."""
    pages = {}
    # index.html, and the pages Sphinx writes that no page links to.
    queue = [urllib.parse.urljoin(server, name) for name in CRAWL_FROM]
    external = set()
    with tab(browser, server) as visit:
        while queue:
            url = queue.pop(0)
            if url in pages:
                continue
            page = visit.open(url)
            if url.endswith("py-modindex.html") and "HTTP 404" in " ".join(visit.problems):
                continue  # no Python module index in this build
            final = page.url.split("#")[0].split("?")[0]  # index.html redirects to intro.html
            found = page.evaluate(COLLECT_LINKS)
            pages[url] = {
                "final": final,
                "problems": list(visit.problems),
                "links": found["links"],
                "images": found["images"],
                "ids": set(found["ids"]),
            }
            pages.setdefault(final, pages[url])
            for link in found["links"]:
                target = link.split("#")[0].split("?")[0]
                if target.startswith(server) and target.endswith(".html") and target not in pages:
                    queue.append(target)
        external |= visit.external

    report = {
        "pages": sorted({p["final"].removeprefix(server) for p in pages.values()}),
        "external_requests_blocked": sorted(external),
        "problems": {u.removeprefix(server): p["problems"] for u, p in pages.items() if p["problems"]},
    }
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "site-report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\ncrawled {len(report['pages'])} pages; requests to other hosts, blocked "
          f"(expected offline): {report['external_requests_blocked']}")
    return {"server": server, "pages": pages, "external": external}


@needs_browser
def test_every_page_loads_without_errors_from_the_sites_own_files(crawl):
    server = crawl["server"]
    problems = [f"{url.removeprefix(server)}: {problem}"
                for url, page in crawl["pages"].items() for problem in page["problems"]]
    assert not problems, "\n".join(problems)


@needs_browser
def test_no_page_asks_another_host_for_anything(crawl):
    # The site is self-contained: MathJax, fonts, scripts and styles are all
    # served from it, so it reads the same offline as online.
    assert not crawl["external"], (
        "pages ask other hosts for: " + ", ".join(sorted(crawl["external"]))
    )


@needs_browser
def test_crawl_reaches_every_book_page(crawl):
    server = crawl["server"]
    reached = {page["final"].removeprefix(server) for page in crawl["pages"].values()}
    expected = {"intro.html", "api.html"} | {page_path(chapter) for chapter in CHAPTERS}
    assert expected <= reached, f"not linked from index.html: {sorted(expected - reached)}"


@needs_browser
def test_every_internal_link_and_anchor_resolves(crawl):
    server = crawl["server"]
    pages = crawl["pages"]
    broken = []
    checked = {}
    for url, page in pages.items():
        for link in page["links"]:
            if not link.startswith(server):
                continue
            target, _, fragment = link.partition("#")
            target = target.split("?")[0]
            if target in pages:
                if fragment and urllib.parse.unquote(fragment) not in pages[target]["ids"]:
                    broken.append(f"{url.removeprefix(server)} -> {link.removeprefix(server)}: "
                                  "no such anchor")
                continue
            if target not in checked:  # not a page: a notebook download, a source file
                try:
                    with urllib.request.urlopen(target, timeout=10) as response:
                        checked[target] = response.status
                except urllib.error.HTTPError as error:
                    checked[target] = error.code
            if checked[target] != 200:
                broken.append(f"{url.removeprefix(server)} -> {link.removeprefix(server)}: "
                              f"HTTP {checked[target]}")
    assert not broken, "\n".join(sorted(set(broken)))


@needs_browser
def test_every_image_loads_and_has_alt_text(crawl):
    server = crawl["server"]
    bad = []
    for url, page in crawl["pages"].items():
        for image in page["images"]:
            where = f"{url.removeprefix(server)}: {image['src'].removeprefix(server)}"
            if image["src"].startswith(server) and not image["loaded"]:
                bad.append(f"{where} does not load")
            if not (image["alt"] or "").strip():
                bad.append(f"{where} has no alt text")
    assert not bad, "\n".join(sorted(set(bad)))


# ---------------------------------------------------------------- chapter pages


def colab_url(chapter):
    repository = CONFIG["repository"]
    owner_repo = repository["url"].rstrip("/").removeprefix("https://github.com/").removesuffix(".git")
    relative = chapter.relative_to(ROOT).as_posix()
    return (f"https://colab.research.google.com/github/{owner_repo}/blob/"
            f"{repository.get('branch', 'main')}/{relative}")


def notebook_figures(chapter):
    nb = nbformat.read(chapter, as_version=4)
    return sum(1 for cell in nb.cells if cell.cell_type == "code"
               for output in cell.outputs if "image/png" in output.get("data", {}))


def figure_descriptions(chapter):
    """The description in the caption cell after each figure-drawing cell, in the page's order."""
    nb = nbformat.read(chapter, as_version=4)
    return [figure_description(following.source) for cell, following in zip(nb.cells, nb.cells[1:])
            if cell.cell_type == "code" and following.cell_type == "markdown"
            and any("image/png" in output.get("data", {}) for output in cell.outputs)]


def notebook_title(chapter):
    nb = nbformat.read(chapter, as_version=4)
    for line in nb.cells[0].source.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return chapter.stem


@needs_browser
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.name for c in CHAPTERS])
def test_chapter_page_has_colab_button_and_its_figures(site, browser, server, chapter):
    built(site, chapter)
    with tab(browser, server) as visit:
        page = visit.open(page_path(chapter))
        assert not visit.problems, "\n".join(visit.problems)

        # The rocket menu opens and shows "Colab", which opens this chapter's notebook.
        page.get_by_role("button", name="Launch interactive content").click()
        colab = page.locator(".dropdown-launch-buttons a.dropdown-item", has_text="Colab")
        colab.wait_for(state="visible")
        assert colab.get_attribute("href") == colab_url(chapter)
        assert colab.get_attribute("target") == "_blank"

        # One search field on the page: the sidebar's (pydata-sphinx-theme's header adds a second one unless
        # _config.yml turns it off).
        fields = page.locator(".search-button-field:visible, .bd-search:visible")
        assert fields.count() == 1, f"{fields.count()} search fields on the page"

        # Each figure the notebook draws is on the page, has loaded, and has for alt text the description
        # written in its caption cell (_ext/figure_descriptions.py).
        figures = page.locator("article.bd-article .cell_output img")
        assert figures.count() == notebook_figures(chapter), (
            f"{notebook_figures(chapter)} figures in the notebook, {figures.count()} on the page"
        )
        descriptions = figure_descriptions(chapter)
        for index in range(figures.count()):
            figure = figures.nth(index)
            alt = (figure.get_attribute("alt") or "").strip()
            assert len(alt) > 20, f"figure {index + 1} has no alt text"
            assert alt == descriptions[index], f"figure {index + 1}'s alt text is not its caption's description"
            assert figure.evaluate("img => img.complete && img.naturalWidth > 100"), (
                f"figure {index + 1} did not load"
            )
        if chapter == CHAPTERS[0]:
            page.keyboard.press("Escape")
            screenshot(page, f"desktop-{chapter.stem}", full_page=True)


# ---------------------------------------------------------------- search

SEARCH_DONE = """() => {
    const summary = document.querySelector('#search-results .search-summary');
    return summary !== null && /found|did not match/i.test(summary.textContent);
}"""


def search(visit, query):
    page = visit.open("search.html?q=" + urllib.parse.quote(query))
    page.wait_for_function(SEARCH_DONE)
    hrefs = page.eval_on_selector_all("#search-results ul.search li a",
                                      "links => links.map(a => a.href)")
    return page, {href.split("#")[0].split("?")[0].removeprefix(visit.base) for href in hrefs}


@needs_browser
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.name for c in CHAPTERS])
def test_search_finds_each_chapter_by_its_title(site, browser, server, chapter):
    built(site, chapter)
    query = re.sub(r"[^\w\s]", " ", notebook_title(chapter))
    with tab(browser, server) as visit:
        _, found = search(visit, query)
        assert page_path(chapter) in found, f"searching {query!r} found {sorted(found)}"
        assert not visit.problems, "\n".join(visit.problems)


@needs_browser
def test_search_finds_the_merge_mode_chapter(browser, server):
    matches = [chapter for chapter in CHAPTERS if "merge_mode" in chapter.stem]
    if not matches:
        pytest.skip("no chapter named *merge_mode* in chapters/ yet "
                    f"(there are: {', '.join(c.name for c in CHAPTERS)})")
    with tab(browser, server) as visit:
        page, found = search(visit, "merge_mode")
        screenshot(page, "desktop-search-merge_mode")
        for chapter in matches:
            assert page_path(chapter) in found, f"searching 'merge_mode' found {sorted(found)}"
        assert not visit.problems, "\n".join(visit.problems)


# ---------------------------------------------------------------- API page


def public_names():
    names = []
    for name in bidirlib.__all__:
        if name.startswith("__"):
            continue
        target = getattr(bidirlib, name)
        names.append(f"module-bidirlib.{name}" if inspect.ismodule(target) else f"bidirlib.{name}")
    names += [f"bidirlib.layers.{name}" for name in bidirlib.layers.__all__]
    return names


@needs_browser
def test_api_page_documents_every_public_name(browser, server):
    with tab(browser, server) as visit:
        page = visit.open("api.html")
        assert not visit.problems, "\n".join(visit.problems)
        ids = set(page.eval_on_selector_all("[id]", "elements => elements.map(e => e.id)"))
        missing = [name for name in public_names() if name not in ids]
        assert not missing, f"the API page does not document: {missing}"
        for name in public_names():
            if not name.startswith("module-"):
                entry = page.locator(f"dt[id='{name}']")
                assert entry.is_visible(), f"{name} is on the API page but hidden"
                description = entry.locator("xpath=following-sibling::dd[1]").inner_text()
                assert len(description.strip()) > 20, f"{name} has no description"
        signature = page.locator("dt[id='bidirlib.Bidirectional']").inner_text()
        assert "merge_mode='concat', weights=None, backward_layer=None" in signature, signature
        assert "(*args, **kwargs)" not in page.locator("article.bd-article").inner_text()
        screenshot(page, "desktop-api")


# ---------------------------------------------------------------- phone

# A text element in the article counts as cut if it sticks out of the screen,
# or out of an ancestor that clips it, unless it sits in a box that scrolls
# sideways on its own (code cells, wide tables, long equations do that).
CUT_TEXT = """() => {
    const width = window.innerWidth;
    const cut = [];
    const selector = 'article.bd-article :is(p, li, h1, h2, h3, h4, dt, dd, figcaption, td, th, summary)';
    for (const element of document.querySelectorAll(selector)) {
        const box = element.getBoundingClientRect();
        if (box.width === 0 || box.height === 0) continue;
        let scrolls = false;
        let clipped = false;
        for (let up = element.parentElement; up && up !== document.body; up = up.parentElement) {
            const style = getComputedStyle(up);
            if (['auto', 'scroll'].includes(style.overflowX)) { scrolls = true; break; }
            if (['hidden', 'clip'].includes(style.overflowX)) {
                const outer = up.getBoundingClientRect();
                if (box.right > outer.right + 1 || box.left < outer.left - 1) clipped = true;
            }
        }
        if (scrolls) continue;
        if (clipped || box.right > width + 1 || box.left < -1) {
            cut.push(element.tagName + ': ' + element.textContent.trim().slice(0, 80));
        }
    }
    return cut;
}"""


PHONE_PAGES = [
    "intro.html", "api.html", "search.html?q=bidirectional", "genindex.html",
    "_modules/bidirlib/bidirectional.html", "reference/keras_defects.html",
    "reference/glossary.html", "reference/references.html",
] + [page_path(chapter) for chapter in CHAPTERS]


@needs_browser
@pytest.mark.parametrize("path", PHONE_PAGES)
def test_page_is_readable_on_a_phone(site, browser, server, path):
    assert (site / path.split("?")[0]).is_file(), f"{path} is not on the site"
    with tab(browser, server, viewport=PHONE, device_scale_factor=2, is_mobile=True,
             has_touch=True) as visit:
        page = visit.open(path)
        assert not visit.problems, "\n".join(visit.problems)
        widths = page.evaluate("""() => ({inner: window.innerWidth,
            html: document.documentElement.scrollWidth, body: document.body.scrollWidth})""")
        assert widths["inner"] == PHONE["width"], widths
        assert widths["html"] <= widths["inner"] and widths["body"] <= widths["inner"], (
            f"the page scrolls sideways on a phone: {widths}"
        )
        cut = page.evaluate(CUT_TEXT)
        assert not cut, "text cut off at phone width:\n" + "\n".join(cut[:20])
        if path in ("intro.html", "api.html", page_path(CHAPTERS[0]) if CHAPTERS else None):
            screenshot(page, f"phone-{pathlib.PurePosixPath(path).stem}")
        # The table of contents is one tap away: the menu button opens it as a drawer
        # (_static/sidebar-toggles.js makes the visible button work).
        menu = page.locator("button.primary-toggle:visible")
        assert menu.count() >= 1, "no menu button on a phone"
        menu.first.tap()
        drawer = page.locator("dialog#pst-primary-sidebar-modal[open]")
        drawer.wait_for(state="visible", timeout=5_000)
        listed = set(drawer.locator("a.reference.internal:visible").evaluate_all(
            "links => links.map(a => a.href.split('#')[0])"))
        on_site = [c for c in CHAPTERS if (site / page_path(c)).is_file()]
        missing = [page_path(c) for c in on_site if visit.base + page_path(c) not in listed]
        assert not missing, f"the menu does not list {missing}"


# ---------------------------------------------------------------- the book as written

# Waits for MathJax to finish typesetting (if the page loads it), then reads
# the article: its math elements, its text outside code blocks and math
# ("prose"), all its text, and the text of each error output.
READ_ARTICLE = """async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        await MathJax.startup.promise;
    }
    const article = document.querySelector('article.bd-article') || document.body;
    const math = Array.from(article.querySelectorAll('.math'));
    const untypeset = math.filter(e => e.querySelector('mjx-container') === null)
                          .map(e => e.textContent.trim().slice(0, 80));
    const prose = [];
    const all = [];
    const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const element = walker.currentNode.parentElement;
        if (!element || element.closest('script, style, mjx-container')) continue;
        all.push(walker.currentNode.textContent);
        if (!element.closest('pre, .highlight')) prose.push(walker.currentNode.textContent);
    }
    // MathJax draws an equation it cannot typeset as its source in red: an mjx-merror element (or, with
    // some settings, an element carrying data-mjx-error). It is inside an mjx-container all the same.
    const mathErrors = Array.from(article.querySelectorAll('mjx-merror, [data-mjx-error]'),
        e => (e.getAttribute('data-mjx-error') || e.textContent).trim().slice(0, 120));
    // An output box whose text runs past its right edge: the reader sees it cut off (the box scrolls
    // sideways, with nothing to say so).
    const cutOutputs = Array.from(article.querySelectorAll('.cell_output pre'))
        .filter(e => e.getBoundingClientRect().width > 0 && e.scrollWidth > e.clientWidth + 1)
        .map(e => e.textContent.trim().slice(0, 100));
    return {
        math: math.length,
        typeset: article.querySelectorAll('mjx-container').length,
        untypeset,
        mathErrors,
        cutOutputs,
        prose: prose.join(''),
        all: all.join(''),
        errors: Array.from(article.querySelectorAll('.cell_output .output.traceback'),
                           e => e.textContent),
    };
}"""

# LaTeX a reader should never see as text: \( \) \[ \] delimiters, $$, a
# TeX command or a sub/superscript between dollars, a bare \begin{...}.
RAW_LATEX = re.compile(
    r"\\\(|\\\)|\\\[|\\\]|\$\$|\$[^$\n]*(?:\\[A-Za-z]+|[_^]\{?\w)[^$\n]*\$"
    r"|\\(?:begin|end)\{\w+\*?\}|\\(?:frac|mathbf|mathrm|odot|overrightarrow|overleftarrow)\b"
)
# nbval's comment markers (# NBVAL_IGNORE_OUTPUT ...): the book uses cell tags.
NBVAL_MARKER = re.compile(r"NBVAL_[A-Z_]+")
# MyST that was not parsed: a directive fence, or a role before its backticks.
RAW_MYST = re.compile(
    r"(?:```|:::)\{[\w:-]+\}|\{[a-z]+(?::[a-z-]+)*\}`[^`\n]*`"
    r"|\{(?:admonition|note|warning|tip|important|figure|glossary|bibliography|code-cell"
    r"|eval-rst|dropdown|tableofcontents)\}"
)
# Inline or display math in a page's Markdown source.
SOURCE_MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$[^$\s][^$\n]*?(?<![\\\s])\$", re.S)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def source_of(page):
    """The Markdown a page is built from: a .md file, or a notebook's Markdown cells."""
    stem = ROOT / page.removesuffix(".html")
    if stem.with_suffix(".ipynb").is_file():
        nb = nbformat.read(stem.with_suffix(".ipynb"), as_version=4)
        return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    if stem.with_suffix(".md").is_file():
        return stem.with_suffix(".md").read_text()
    return None


def book_pages():
    """The pages written for the book: every file in _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part.get("chapters", [])]
    return [f"{name}.html" for name in files]


BOOK_PAGES = book_pages()


@pytest.fixture(scope="module")
def as_read(browser, server):
    """What a reader sees on each of the book's pages once MathJax is done."""
    seen = {}
    with tab(browser, server) as visit:
        for path in BOOK_PAGES:
            page = visit.open(path)
            seen[path] = page.evaluate(READ_ARTICLE)
            if path == "chapters/01_why_bidirectional.html":
                first = page.locator("article.bd-article mjx-container[display='true']").first
                if first.count():
                    first.scroll_into_view_if_needed()
                screenshot(page, "desktop-math-01_why_bidirectional")
    return seen


@needs_browser
@pytest.mark.parametrize("path", BOOK_PAGES)
def test_math_is_typeset_with_no_network(as_read, path):
    seen = as_read[path]
    source = source_of(path)
    has_math = source is not None and SOURCE_MATH.search(source) is not None
    if has_math:
        assert seen["math"] > 0, f"{path}: its source has math, the page has no math element"
        assert seen["typeset"] >= seen["math"], (
            f"{path}: MathJax typeset {seen['typeset']} of {seen['math']} equations"
        )
    assert not seen["untypeset"], f"{path}: equations left as LaTeX: {seen['untypeset'][:5]}"
    assert not seen["mathErrors"], f"{path}: MathJax shows errors in red instead of equations: {seen['mathErrors']}"
    raw = sorted(set(RAW_LATEX.findall(seen["prose"])))
    assert not raw, f"{path}: raw LaTeX visible in the text: {raw[:10]}"


@needs_browser
@pytest.mark.parametrize("path", BOOK_PAGES)
def test_no_nbval_marker_or_raw_myst_shows(as_read, path):
    seen = as_read[path]
    markers = sorted(set(NBVAL_MARKER.findall(seen["all"])))
    assert not markers, f"{path}: nbval markers visible: {markers} (use cell tags)"
    myst = sorted(set(RAW_MYST.findall(seen["prose"])))
    assert not myst, f"{path}: MyST markup shown as text: {myst[:10]}"


# Characters a page should never hold in its text: a browser draws them as a box or nothing (an ESC
# left over from a terminal colour code, say). Tab, newline and carriage return are text.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@needs_browser
@pytest.mark.parametrize("path", BOOK_PAGES)
def test_every_output_shows_whole_with_no_control_characters(as_read, path):
    seen = as_read[path]
    assert not seen["cutOutputs"], (
        f"{path}: outputs wider than their box at {DESKTOP['width']} px, cut off at its edge:\n"
        + "\n".join(seen["cutOutputs"][:10])
    )
    found = sorted({f"U+{ord(c):04X}" for c in CONTROL_CHARACTERS.findall(seen["all"])})
    assert not found, f"{path}: control characters in the page's text: {found}"


def error_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    return [output for cell in nb.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.output_type == "error"]


@needs_browser
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.name for n in NOTEBOOKS])
def test_every_error_output_shows_its_type_and_message(as_read, notebook):
    path = page_path(notebook)
    expected = error_outputs(notebook)
    shown = as_read[path]["errors"]
    assert len(shown) == len(expected), (
        f"{path}: {len(expected)} error outputs in the notebook, {len(shown)} on the page"
    )
    blank = []
    for index, (output, text) in enumerate(zip(expected, shown), start=1):
        text = ANSI.sub("", text)
        message = ANSI.sub("", output.evalue).strip().splitlines()
        first_line = next((line.strip() for line in message if line.strip()), "")
        if output.ename not in text or first_line[:60] not in text:
            blank.append(f"error {index} ({output.ename}: {first_line[:60]!r}) shows "
                         f"{text.strip()[:80]!r}")
    assert not blank, (f"{path}: error outputs without their type and message (a traceback "
                       "kept empty when recorded shows nothing):\n" + "\n".join(blank))


@needs_browser
def test_api_page_shows_docstrings_inline_code_as_code(browser, server):
    # Docstrings write `initial_state` in single backticks: it must show as
    # code, not in italics (reStructuredText's default role, <cite>).
    with tab(browser, server) as visit:
        page = visit.open("api.html")
        article = page.locator("article.bd-article")
        cited = article.locator("cite").all_inner_texts()
        assert not cited, f"inline code shown in italics on the API page: {cited[:10]}"
        entry = page.locator("dt[id='bidirlib.Bidirectional'] + dd")
        code = entry.locator("code").all_inner_texts()
        assert "initial_state" in code, f"`initial_state` is not set as code: {code}"
        style = entry.locator("code", has_text="initial_state").first.evaluate(
            "e => getComputedStyle(e).fontFamily")
        assert "mono" in style.lower(), style


@needs_browser
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.name for n in NOTEBOOKS])
def test_figures_are_sharp_on_high_dpi_screens(site, browser, server, notebook):
    # A chapter's setup asks matplotlib for "retina" PNGs (bidirbook.chapter):
    # each figure holds at least twice the pixels it is shown at, so a 2x
    # screen draws it without upscaling.
    with tab(browser, server, device_scale_factor=2) as visit:
        page = visit.open(page_path(notebook))
        sizes = page.eval_on_selector_all(
            "article.bd-article .cell_output img",
            "images => images.map(i => [i.naturalWidth, i.getBoundingClientRect().width])")
    blurry = [f"figure {index}: {natural} px shown {shown:.0f} px wide"
              for index, (natural, shown) in enumerate(sizes, start=1)
              if natural < 1.9 * shown]
    assert not blurry, (f"{page_path(notebook)}: figures drawn at 1x (re-record the notebook "
                        "with scripts/record_notebooks.py):\n" + "\n".join(blurry))
