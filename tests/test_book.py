"""The book: every chapter executes, and the built site shows what a reader needs.

The whole book is built once per session (tests/conftest.py), with warnings as
errors, into a temporary folder; every page is executed afresh in its own
kernel. The tests read the notebooks it executed and the pages it wrote.
"""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def chapter_pages() -> list[str]:
    """The chapters: notebook pages outside the appendices (which hold numeric
    demonstrations and reference tables, not figures and exercises)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    appendices = {
        chapter["file"]
        for part in toc.get("parts", [])
        if part["caption"] == "Appendices"
        for chapter in part["chapters"]
    }
    return [page for page in notebook_pages() if page not in appendices]


def notebook_pages() -> list[str]:
    """The pages with code cells (MyST notebooks), as opposed to plain Markdown."""
    return [f for f in toc_files() if "```{code-cell}" in (ROOT / f"{f}.md").read_text()]


def test_every_toc_entry_exists():
    for f in toc_files():
        assert (ROOT / f"{f}.md").exists(), f


@pytest.mark.parametrize("page", notebook_pages())
def test_chapter_executes_with_figures_as_images(book, page):
    """Each page, as the site build executed it in a fresh kernel (an error in
    any cell fails the build at once, with the page and the traceback)."""
    assert book.returncode == 0, book.log[-3000:]
    notebook = nbformat.read(book.executed(page), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kinds = [o.get("output_type") for o in cell.outputs]
        assert "error" not in kinds
        for output in cell.outputs:
            data = output.get("data", {})
            # A figure that reached the page as text, not as an image.
            assert not data.get("text/plain", "").startswith("<Figure") or "image/png" in data
        if ".show()" in cell.source:
            # The controls (with a static text) and the figure as an image.
            data = [
                o.get("data", {}) for o in cell.outputs if o.get("output_type") == "display_data"
            ]
            assert any("optnotes-controls" in d.get("text/html", "") for d in data), cell.source
            assert any("image/png" in d for d in data), cell.source


@pytest.mark.parametrize("page", notebook_pages())
def test_visible_code_fits_the_page(page):
    """Code shown on the page stays within 79 columns (the text column's width)."""
    notebook = jupytext.read(ROOT / f"{page}.md")
    for cell in notebook.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type != "code" or {"remove-input", "remove-cell"} & set(tags):
            continue
        long = [line for line in cell.source.splitlines() if len(line) > 79]
        assert long == [], f"{page}: {long}"


@pytest.fixture(scope="module")
def site(book):
    return book.html, book.returncode, book.log


def test_site_builds_with_zero_warnings(site):
    html, returncode, log = site
    warnings = [
        line for line in log.splitlines() if "WARNING:" in line and "IPKernelApp" not in line
    ]
    assert returncode == 0, log[-3000:]
    assert warnings == []
    assert (html / "index.html").exists()


@pytest.mark.parametrize("page", chapter_pages())
def test_chapter_page_shows_its_figures_without_a_kernel(site, page):
    html, _, _ = site
    path = html / f"{page}.html"
    text = path.read_text()
    images = re.findall(r'<img[^>]+src="([^"]+)"', text)
    figures = [src for src in images if src.endswith(".png")]
    # An experiment's figures are a widget view (its sliders over the frames).
    views = text.count('type="application/vnd.jupyter.widget-view+json"')
    assert figures or views, f"{page} has no figure"
    for src in figures:
        image = (path.parent / src).resolve()
        assert image.exists() and image.stat().st_size > 1000, src
    # Every experiment says what it shows, followed by its sliders (a widget
    # view, tests/test_static_sliders.py) or, without the widget scripts, its image.
    for match in re.finditer(r'class="optnotes-controls"', text):
        following = text[match.end() : match.end() + 2000]
        assert "<img" in following or "application/vnd.jupyter.widget-view+json" in following
    # The widget scripts are served by the site itself, never from a CDN.
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', text)
    assert not [src for src in scripts if "://" in src and "widget" in src], scripts
    assert "cdn.jsdelivr.net/npm/@jupyter-widgets" not in text


@pytest.mark.parametrize("page", notebook_pages())
def test_chapter_page_has_launch_and_download_buttons(site, page):
    html, _, _ = site
    text = (html / f"{page}.html").read_text()
    assert f"mybinder.org/v2/gh/optnotes/optnotes/main?urlpath=tree/{page}.md" in text
    assert f"{Path(page).name}.ipynb" in text


def test_downloaded_notebooks_hold_their_outputs(site):
    """The .ipynb a reader downloads holds what the page shows (MyST-NB wrote
    cached pages without outputs; optnotes.execution_cache writes them in)."""
    html, _, _ = site
    for page in chapter_pages():
        notebook = nbformat.read(html / "_sources" / f"{page}.ipynb", as_version=4)
        outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
        assert any("image/png" in o.get("data", {}) for o in outputs), page


def test_site_typesets_with_the_books_macros(site):
    html, _, _ = site
    text = (html / "book" / "momentum.html").read_text()
    assert '"lr": "\\\\alpha"' in text  # the MathJax configuration holds the macros
    assert "pasted-math" in text  # derivations glued from SymPy


def test_exercises_have_folded_solutions(site):
    html, _, _ = site
    for page in chapter_pages():
        text = (html / f"{page}.html").read_text()
        assert "exercise" in text, page
        assert re.search(r'class="[^"]*solution[^"]*dropdown', text), page


def test_citations_resolve(site):
    html, _, _ = site
    text = (html / "book" / "bibliography.html").read_text()
    for author in (
        "Robbins",
        "Polyak",
        "Nesterov",
        "Sutskever",
        "Duchi",
        "Tieleman",
        "Zeiler",
        "Kingma",
        "Dozat",
        "Reddi",
        "Loshchilov",
    ):
        assert author in text, author
    # A citation in a chapter links to its entry.
    chapter = (html / "book" / "momentum.html").read_text()
    assert re.search(r'href="[^"]*bibliography.html#id\d+"[^>]*>Polyak', chapter)


def test_race_animation_plays_in_the_static_page(site):
    html, _, _ = site
    text = (html / "book" / "practice.html").read_text()
    assert "data:image/jpeg;base64" in text  # the frames are in the page
    assert "Animation" in text  # matplotlib's player script


@pytest.mark.parametrize("page", notebook_pages())
def test_solutions_execute_with_the_page(page):
    """A solution's code runs at build time: solutions use sphinx-exercise's
    gated form, whose code cells the page executes, and hold no code that is
    only shown (a ```python block, or a typed-in result in a comment)."""
    text = (ROOT / f"{page}.md").read_text()
    assert "````{solution}" not in text and "```{solution}" not in text, (
        f"{page}: write solutions as {{solution-start}} ... {{solution-end}} so their code runs"
    )
    starts = [m.end() for m in re.finditer(r"```\{solution-start\}", text)]
    ends = [m.start() for m in re.finditer(r"```\{solution-end\}", text)]
    assert len(starts) == len(ends), f"{page}: unbalanced solution-start/solution-end"
    for start, end in zip(starts, ends, strict=True):
        body = text[start:end]
        assert "```python" not in body, f"{page}: a solution shows code it does not run"
        for cell in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", body, flags=re.S):
            typed = [
                line
                for line in cell.splitlines()
                if re.search(r"#.*\d", line) and "# noqa" not in line
            ]
            assert typed == [], f"{page}: a result typed into a comment: {typed}"


@pytest.mark.parametrize("page", notebook_pages())
def test_printed_lines_fit_the_page(book, page):
    """What a cell prints stays within 80 columns: the output box is as wide as
    the code box, and a longer line is cut off on the page (and in the PDF).
    So does a displayed text the PDF shows as plain text (one with nothing but
    text/plain and text/html: the line above an experiment's figure)."""
    notebook = nbformat.read(book.executed(page), as_version=4)

    def printed(output) -> str:
        if output.get("output_type") == "stream":
            return output.get("text", "")
        data = output.get("data", {})
        return data.get("text/plain", "") if set(data) <= {"text/plain", "text/html"} else ""

    long = [
        line
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        for line in printed(output).splitlines()
        if len(line) > 80
    ]
    assert long == [], f"{page}: {long}"


@pytest.mark.parametrize("page", notebook_pages())
def test_shown_package_code_fits_the_page(book, page):
    """Code a page takes from the package (``display.code``, ``display.rule``)
    stays within 80 columns, as the page's own code does: a longer line is cut
    off in the PDF and scrolls on the page."""
    notebook = nbformat.read(book.executed(page), as_version=4)
    long = [
        line
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        for block in re.findall(
            r"```python\n(.*?)```", output.get("data", {}).get("text/markdown", ""), re.DOTALL
        )
        for line in block.splitlines()
        if len(line) > 80
    ]
    assert long == [], f"{page}: {long}"
