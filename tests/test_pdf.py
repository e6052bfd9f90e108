"""The PDF lecture notes: `make pdf`'s build (Jupyter Book's LaTeX builder and
xelatex) of the session's book, read back with pypdf.

The LaTeX build reuses the session build's execution cache, so it executes
nothing. Without TeX Live these tests skip, saying why; in CI
(OPTNOTES_REQUIRE_ALL=1, set by .ci/run after installing it) they fail.
"""

import re
import shutil

import pytest

from tests.conftest import ROOT, jupyter_book_build, skip_or_fail
from tests.test_book import chapter_pages, toc_files


def title(page: str) -> str:
    """A page's top-level heading, as Sphinx typesets it (curly apostrophes)."""
    heading = re.search(r"^# (.+)$", (ROOT / f"{page}.md").read_text(), re.MULTILINE)
    return heading.group(1).replace("'", "\u2019")


@pytest.fixture(scope="module")
def pdf(book):
    for program in ("xelatex", "latexmk"):
        if shutil.which(program) is None:
            skip_or_fail(f"TeX Live is not installed ({program} is missing; see `make pdf`)")
    pypdf = pytest.importorskip("pypdf")
    assert book.returncode == 0, book.log[-3000:]
    returncode, log = jupyter_book_build(
        book.out, "--builder", "pdflatex", "-W", "-n", "--keep-going", timeout=1200
    )
    latex = book.out / "_build" / "latex"
    assert returncode == 0, log[-4000:]
    reader = pypdf.PdfReader(latex / "optnotes.pdf")
    return reader, log, (latex / "optnotes.log").read_text(errors="replace")


def outline(reader, depth: int = 1) -> list[tuple[str, int]]:
    """The PDF's bookmarks down to ``depth`` (0: parts, 1: chapters), in order:
    (title, first page index)."""
    entries = []

    def walk(items, level):
        for item in items:
            if isinstance(item, list):
                if level < depth:
                    walk(item, level + 1)
            else:
                entries.append((item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return entries


def test_the_pdf_build_reuses_the_executed_pages(pdf):
    _, log, _ = pdf
    assert "Executing notebook" not in log


def test_every_page_is_a_chapter_of_the_pdf(pdf):
    reader, _, _ = pdf
    titles = [entry for entry, _ in outline(reader)]
    # The root page is the front matter, under the book's title.
    for page in toc_files()[1:]:
        assert title(page) in titles, page


def test_every_chapter_keeps_its_figures(pdf, book):
    reader, _, _ = pdf
    entries = outline(reader)
    starts = sorted({start for _, start in entries} | {len(reader.pages)})
    for page in chapter_pages():
        first = dict(entries)[title(page)]
        last = next(start for start in starts if start > first)
        html = (book.html / f"{page}.html").read_text()
        figures = len(set(re.findall(r'<img[^>]+src="(\.\./_images/[^"]+\.png)"', html)))
        # An experiment is sliders on the web page, its default figure in the PDF.
        figures += html.count('type="application/vnd.jupyter.widget-view+json"')
        images = sum(len(reader.pages[k].images) for k in range(first, last))
        assert images >= figures > 0, page


def test_glyphs_exercises_and_proofs_come_through(pdf):
    reader, _, latex_log = pdf
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Missing character" not in latex_log  # every glyph is in the fonts
    assert "Exercise 1" in text and "Solution to Exercise 1" in text
    assert "Proposition" in text and "Proof" in text
    # Outputs without a printable form would show as Python reprs.
    assert "object at 0x" not in text and "IPython.core.display" not in text
