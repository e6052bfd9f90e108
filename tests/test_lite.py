"""The chapters live in the browser: the JupyterLite app built into the site.

The session's site build (tests/conftest.py) holds the Lite app in
``_build/html/lite/`` (jupyterlite-sphinx; contents and wheel staged by
optnotes/lite.py). These tests read it back: every chapter as a notebook, the
``optnotes`` wheel in the app's package index, the widgets extension, and each
chapter page's "Live in the browser" button pointing at its notebook. Then, in
headless Chromium with the browser test's set-up (no network), a chapter's
button opens the notebook with no script error.

The Pyodide kernel itself cannot start here: JupyterLite loads Pyodide (and
numpy, matplotlib, ...) from Pyodide's CDN when the kernel starts, in the
reader's browser, and these tests refuse every request off the site (MathJax
comes from its local copy, as in the browser test). So nothing runs in
Pyodide here: the wheel is checked by installing and importing it with this
machine's Python, and a chapter's Lite copy is run in an ordinary kernel with
MyST-NB made unimportable, as it is in Pyodide.
"""

import json
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from optnotes import display
from tests.conftest import ROOT
from tests.test_book import notebook_pages
from tests.test_browser import (  # noqa: F401 (browser and served are fixtures)
    ARTIFACTS,
    browser,
    offline_route,
    served,
)

LIVE_BUTTON = re.compile(
    r'<a href="([^"]*lite/[^"]*)"[^>]*>(?:(?!</a>).)*Live in the browser', re.DOTALL
)
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
PYODIDE_EXTENSION = "@jupyterlite/pyodide-kernel-extension"


@pytest.fixture(scope="module")
def lite(book) -> Path:
    assert book.returncode == 0, book.log[-3000:]
    return book.html / "lite"


@pytest.fixture(scope="module")
def lite_config(lite) -> dict:
    return json.loads((lite / "jupyter-lite.json").read_text())["jupyter-config-data"]


def test_site_holds_the_lite_app(lite, lite_config):
    for app in ("notebooks", "lab", "tree"):
        assert (lite / app / "index.html").is_file(), app
    assert lite_config["defaultKernelName"] == "python"
    # No source maps (optnotes/lite.py's build options keep the app small).
    assert not list(lite.rglob("*.js.map"))


def test_lite_has_the_widgets_and_pyodide_extensions(lite, lite_config):
    """ipywidgets' lab extension, from the build environment, is in the app."""
    extensions = {e["name"]: e for e in lite_config["federated_extensions"]}
    for name in (WIDGETS_EXTENSION, PYODIDE_EXTENSION):
        assert name in extensions, sorted(extensions)
        assert (lite / "extensions" / name / extensions[name]["load"]).is_file()


@pytest.mark.parametrize("page", notebook_pages())
def test_every_chapter_is_a_notebook_in_lite(lite, page):
    """The Lite copy: the chapter's cells, after a note and an install cell."""
    notebook = nbformat.read(lite / "files" / f"{page}.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python"  # Pyodide's kernel
    note, install, *cells = notebook.cells
    assert note.cell_type == "markdown" and r"\newcommand{\mom}{\mu}" in note.source
    assert install.cell_type == "code"
    assert re.search(r"^%pip install -q optnotes ", install.source, re.M)
    # Not shipped by Pyodide: from PyPI, at the version of the app's widget manager.
    assert f"ipywidgets=={metadata.version('ipywidgets')} " in install.source
    source = jupytext.read(ROOT / f"{page}.md")
    assert [c.source for c in cells] == [c.source for c in source.cells]
    # Listed in the app's contents (what its file browser shows).
    listing = json.loads((lite / "api" / "contents" / Path(page).parent / "all.json").read_text())
    assert f"{page}.ipynb" in {item["path"] for item in listing["content"]}


def test_network_chapter_installs_scikit_learn(lite):
    notebook = nbformat.read(lite / "files" / "book" / "network.ipynb", as_version=4)
    assert "scikit-learn" in notebook.cells[1].source


def test_optnotes_wheel_is_served_from_the_site(lite, lite_config, tmp_path):
    """The wheel is in the app's package index, holds the package's sources,
    and installs and imports (pip reads its metadata and RECORD)."""
    index = json.loads((lite / "pypi" / "all.json").read_text())
    (release,) = index["optnotes"]["releases"].values()
    wheel = lite / "pypi" / release[0]["url"].removeprefix("./")
    assert wheel.is_file()
    urls = lite_config["litePluginSettings"][f"{PYODIDE_EXTENSION}:kernel"]["pipliteUrls"]
    assert any(url.startswith("./pypi/all.json") for url in urls), urls
    with zipfile.ZipFile(wheel) as archive:
        rules = "optnotes/rules/adam.py"
        assert archive.read(rules) == (ROOT / rules).read_bytes()
        names = {n for n in archive.namelist() if n.startswith("optnotes/")}
    sources = (ROOT / "optnotes").rglob("*.py")
    assert names == {p.relative_to(ROOT).as_posix() for p in sources}
    assert "optnotes/rules/__init__.py" in names
    target = tmp_path / "site-packages"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run([*pip, "--target", str(target), str(wheel)], check=True)
    check = (
        "import optnotes, optnotes.rules; "
        f"assert optnotes.__file__.startswith({str(target)!r}), optnotes.__file__; "
        "print(optnotes.Adam(lr=0.1))"
    )
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=tmp_path,  # not the repository, whose optnotes/ would shadow the wheel's
        env={"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Adam" in result.stdout


@pytest.mark.parametrize("page", notebook_pages())
def test_chapter_page_has_a_live_button_to_its_notebook(book, lite, page):
    html = book.html / f"{page}.html"
    text = html.read_text()
    links = LIVE_BUTTON.findall(text)
    assert len(links) == 1, links
    assert text.index("Live in the browser") < text.index("mybinder.org")  # Binder second
    url = urlsplit(urljoin(f"http://site/{page}.html", links[0]))
    app = book.html / unquote(url.path.lstrip("/"))
    assert app == lite / "notebooks" / "index.html" and app.is_file()
    assert parse_qs(url.query)["path"] == [f"{page}.ipynb"]
    assert (lite / "files" / f"{page}.ipynb").is_file()


def test_no_page_links_google_fonts(book):
    """jupyterlite-sphinx adds a Google Fonts stylesheet to every page;
    optnotes/lite.py drops it (the browser test refuses any such fetch)."""
    linked = [p.name for p in book.html.rglob("*.html") if "fonts.googleapis" in p.read_text()]
    assert linked == []


def test_glue_without_myst_nb_shows_displayed_math(monkeypatch, capsys):
    """In JupyterLite there is no MyST-NB: gluing shows what it would display
    and drops what only the book's text reads, instead of failing the cell."""
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import raises ModuleNotFoundError
    from optnotes import derivations

    display.glue_numbers("x-", a=1.5)
    assert capsys.readouterr().out == ""
    display.glue_derivation("sup", derivations.momentum_forms(), display=True)
    assert "Math" in capsys.readouterr().out


def test_lite_copy_runs_without_myst_nb(lite, tmp_path):
    """The Lite copy of a chapter that glues derivations and numbers runs in a
    fresh kernel with MyST-NB made unimportable, as in Pyodide (here in
    CPython, with the install cell doing just that instead)."""
    notebook = nbformat.read(lite / "files" / "book" / "momentum.ipynb", as_version=4)
    assert any("display.glue_" in cell.source for cell in notebook.cells)
    notebook.cells[1].source = "import sys\nsys.modules['myst_nb'] = None"
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError, with the traceback, on an error


def test_lite_notebook_opens_in_chromium(browser, served, lite):  # noqa: F811
    """A chapter's live button opens its notebook in JupyterLite with no script error.

    The only request off the site is the Pyodide kernel's import of
    pyodide.mjs from Pyodide's CDN, refused here (no network). It fails in the
    kernel's web worker, and Chromium reports the worker's error to the page
    as a script error whose message is that URL, and a console error for the
    failed load; exactly those are expected and allowed (and Chromium's own
    request for the site's favicon, see below).
    """
    base, _ = served
    schema = lite / "extensions" / PYODIDE_EXTENSION / "static" / "schema" / "kernel.v0.schema.json"
    pyodide_url = json.loads(schema.read_text())["properties"]["pyodideUrl"]["default"]
    off_site, errors = [], []

    route = offline_route(base, off_site)

    def console(message):
        # Besides the kernel's fetch: the file browser's page names no icon, so
        # Chromium asks for the site's /favicon.ico, which a book need not have.
        expected = message.location.get("url") in (pyodide_url, base + "favicon.ico")
        if message.type == "error" and not expected:
            errors.append(f"console {message.text} ({message.location.get('url')})")

    def page_error(error):
        if str(error).strip() != pyodide_url:
            errors.append(f"script error: {error}")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", route)
    chapter = context.new_page()  # its own checks are test_browser.py's
    chapter.goto(base + "book/momentum.html", wait_until="load")
    href = chapter.get_attribute("a:has-text('Live in the browser')", "href")
    lite_url = urljoin(chapter.url, href)
    chapter.close()
    off_site.clear()
    page = context.new_page()
    page.on("pageerror", page_error)
    page.on("console", console)
    page.goto(lite_url, wait_until="load")
    cells = page.locator(".jp-Notebook .jp-Cell")
    cells.filter(has_text="%pip install -q optnotes").wait_for(timeout=60_000)
    cells.filter(has=page.locator("h1", has_text="Momentum")).wait_for(timeout=60_000)
    assert page.url.endswith("/lite/notebooks/index.html?path=book/momentum.ipynb"), page.url
    for _ in range(60):  # the kernel starts with the notebook: wait for its fetch
        if off_site:
            break
        page.wait_for_timeout(500)
    page.wait_for_timeout(2000)  # and for the errors its failure reports
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "lite_momentum.jpg", quality=70)
    # The file browser lists every chapter in book/.
    page.goto(base + "lite/tree/index.html", wait_until="load")
    page.locator(".jp-DirListing-item[title^='Name: book']").dblclick(timeout=60_000)
    page.locator(".jp-DirListing-item[title^='Name: momentum.ipynb']").wait_for(timeout=60_000)
    listed = set(page.locator(".jp-DirListing-itemText").all_inner_texts())
    context.close()
    assert {f"{Path(p).name}.ipynb" for p in notebook_pages()} <= listed, listed
    assert errors == []
    assert set(off_site) == {pyodide_url}, off_site  # tried, and refused here
