"""The experiments' sliders on the static page: no kernel, no network.

The session's site build (tests/conftest.py) is served on localhost and opened
in headless Chromium, with test_browser.py's fixtures: every request off the
site is refused but MathJax's (served from the npm copy). On every chapter
with an experiment, each slider is moved with the keyboard through three
positions; the figure shown must change to the frame for that value, and the
slider's readout must show the value. The time from the key press to the new
figure decoded is written to _build/test-artifacts/static-sliders.json and
the slowest is printed; it is not asserted (``python -m optnotes.bench
sliders`` measures it).

The frames must be the experiment's own (the PNG bytes ``update`` renders),
and a slider offers only grid values. Without Chromium or the widget scripts
these tests skip, saying why; in CI (OPTNOTES_REQUIRE_ALL=1) they fail.
"""

import base64
import json
import re

import nbformat
import numpy as np
import pytest

from optnotes import experiments, widgets
from optnotes.bench import (
    PAGE_WEIGHT_LIMIT,
    frame_urls,
    move_slider,
    page_weight,
    slider_key,
    slider_positions,
    static_experiments,
)
from optnotes.static_sliders import scripts_installed
from tests.conftest import ROOT, skip_or_fail
from tests.test_book import chapter_pages
from tests.test_browser import ARTIFACTS, browser, offline_route, served  # noqa: F401

SHOWN = re.compile(r'experiments\.make\("([^"]+)"\)\.show\(\)')


def experiment_pages() -> dict[str, list[str]]:
    """Chapter pages with experiments, and the experiments each shows, in order."""
    found = {page: SHOWN.findall((ROOT / f"{page}.md").read_text()) for page in chapter_pages()}
    return {page: names for page, names in found.items() if names}


@pytest.fixture(scope="module")
def pages(book) -> dict[str, list[dict]]:
    """The static sliders of every page with experiments, as the build stored them."""
    assert book.returncode == 0, book.log[-3000:]
    if not scripts_installed():
        skip_or_fail("the widget scripts are not installed (npm ci --prefix book/widgets)")
    return {
        page: static_experiments(nbformat.read(book.executed(page), as_version=4))
        for page in experiment_pages()
    }


def frame_at(experiment: dict, index: list[int]) -> str:
    frames = experiment["frames"]
    for i in index:
        frames = frames[i]
    return frames


def test_every_experiment_is_in_the_registry():
    shown = [name for names in experiment_pages().values() for name in names]
    assert sorted(shown) == sorted(experiments.REGISTRY)


@pytest.mark.parametrize("page", experiment_pages())
def test_every_experiment_has_sliders_over_its_grid(pages, page):
    """One slider per static control, offering exactly the grid's values (no
    value between grid points), starting at the default, and one frame per
    grid point."""
    assert [e["name"] for e in pages[page]] == experiment_pages()[page]
    for shown in pages[page]:
        experiment = experiments.make(shown["name"])
        grid = experiment.grid()
        assert len(shown["labels"]) == len(experiment.static)
        for key, labels, index in zip(grid, shown["labels"], shown["index"], strict=True):
            control = experiment.controls[key]
            assert labels == [control.label_of(v) for v in grid[key]]
            assert grid[key][index] == control.default
            if control.kind in ("float", "log", "int"):
                every_int = control.high - control.low + 1
                points = widgets.GRID_POINTS if len(grid) == 1 else widgets.GRID_POINTS_2D
                assert len(labels) >= points or len(labels) == every_int
        assert len(frame_urls(shown)) == int(np.prod([len(v) for v in grid.values()]))


def test_grid_includes_default_and_ends():
    control = experiments.make("momentum-ravine").controls["lr"]
    values = control.grid()
    assert len(values) == widgets.GRID_POINTS == 10 and control.default in values
    assert values[0] == control.low and values[-1] == control.high
    ratios = np.diff(np.log(values))
    assert np.all(ratios > 0)  # log-spaced, increasing
    two = experiments.make("momentum-ravine").grid()  # lr and mu move together
    assert [len(v) for v in two.values()] == [widgets.GRID_POINTS_2D] * 2 == [6, 6]
    assert experiments.make("gd-ravine").grid()["lr"] == experiments.make("gd-ravine").controls[
        "lr"
    ].grid(widgets.GRID_POINTS)


def test_static_controls_must_be_named_controls():
    experiment = experiments.make("momentum-ravine")
    with pytest.raises(ValueError, match="static must name one or two of its controls"):
        type(experiment)("x", experiment.controls, experiment.draw, static=("nope",))
    with pytest.raises(ValueError, match="has no static grid"):
        experiments.make("race").controls["names"].grid()


@pytest.mark.parametrize("name", sorted(experiments.REGISTRY))
def test_frames_are_the_experiments_own(pages, book, name):
    """Three grid points (both corners and a seeded one): the page's frame file
    holds exactly the PNG that ``update(**values)`` renders."""
    page, shown = next(
        (page, e) for page, found in pages.items() for e in found if e["name"] == name
    )
    experiment = experiments.make(name)
    grid = experiment.grid()
    sizes = [len(values) for values in grid.values()]
    rng = np.random.default_rng(12)
    points = [[0] * len(sizes), [n - 1 for n in sizes], [int(rng.integers(n)) for n in sizes]]
    html_page = book.html / f"{page}.html"
    for index in points:
        experiment.update()  # as the page: the default first
        values = {key: grid[key][i] for key, i in zip(grid, index, strict=True)}
        experiment.update(**values)
        frame = (html_page.parent / frame_at(shown, index)).resolve()
        assert frame.read_bytes() == experiment.png, (name, values)


@pytest.mark.parametrize("page", experiment_pages())
def test_page_weight(pages, book, page):
    """The page with every image it shows, every frame included, under 5 MB."""
    notebook = nbformat.read(book.executed(page), as_version=4)
    weight = page_weight(book.html, page, notebook)
    assert weight["html"] + weight["images"] < PAGE_WEIGHT_LIMIT, weight


@pytest.fixture(scope="module")
def context(browser, served):  # noqa: F811
    base, _ = served
    off_site = []

    route = offline_route(base, off_site)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    context.route("**/*", route)
    yield base, context, off_site
    context.close()


LATENCIES: dict[str, float] = {}


@pytest.mark.parametrize("page", experiment_pages())
def test_sliders_move_the_figure_in_the_browser(pages, context, page):
    base, browser_context, off_site = context
    tab = browser_context.new_page()
    errors = []
    tab.on("pageerror", lambda error: errors.append(f"script error: {error}"))
    tab.goto(f"{base}{page}.html", wait_until="load")
    found = pages[page]
    handles = sum(len(e["labels"]) for e in found)
    tab.wait_for_function(
        f"() => document.querySelectorAll('.optnotes-static .noUi-handle').length === {handles}"
    )
    slowest = 0.0
    for box, shown in enumerate(found):
        index = list(shown["index"])
        for slider, labels in enumerate(shown["labels"]):
            for target in slider_positions(index[slider], len(labels)):
                key = slider_key(index[slider], target, len(labels))
                index[slider] = target
                moved = move_slider(tab, box, slider, key)
                where = f"{page}: {shown['name']}, slider {slider} at {labels[target]}"
                assert moved["ms"] is not None, f"{where}: the figure did not change"
                assert moved["src"] == frame_at(shown, index), where
                assert moved["readouts"][slider] == labels[target], where
                slowest = max(slowest, moved["ms"])
    tab.close()
    assert errors == []
    assert off_site == []
    LATENCIES[page] = slowest


def test_a_readout_accepts_only_grid_values(pages, context):
    """Typing a value between grid points into a slider's readout (focused as
    by the Tab key) leaves the slider, its readout and the figure where they
    were."""
    base, browser_context, _ = context
    page = "book/momentum"
    shown = pages[page][0]
    tab = browser_context.new_page()
    tab.goto(f"{base}{page}.html", wait_until="load")
    root = tab.locator(".optnotes-static").first
    root.locator(".noUi-handle").first.wait_for()
    readout = root.locator(".widget-readout").first
    before = readout.inner_text()
    readout.evaluate("(element) => element.focus()")
    tab.keyboard.type("0.123")
    tab.keyboard.press("Enter")
    tab.wait_for_timeout(200)
    assert readout.inner_text() == before
    src = tab.evaluate(
        "() => [...document.querySelector('.optnotes-static').querySelectorAll('img')]"
        ".find((img) => img.offsetParent !== null).getAttribute('src')"
    )
    assert src == frame_at(shown, shown["index"])
    tab.close()


def test_report_the_slowest_slider(capsys):
    """Writes the latencies measured above (not a timed assertion)."""
    if not LATENCIES:
        pytest.skip("no slider was moved")
    ARTIFACTS.parent.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS.parent / "static-sliders.json").write_text(json.dumps(LATENCIES, indent=1))
    page, ms = max(LATENCIES.items(), key=lambda item: item[1])
    with capsys.disabled():
        print(f"\nstatic slider latency: slowest {ms:.0f} ms ({page}); goal under 50 ms")


def test_show_in_the_book_build_writes_the_frames(tmp_path, monkeypatch):
    """With OPTNOTES_FRAMES set (as the book build sets it), show() puts the
    line naming the sliders and the fixed controls, then the sliders' widget
    with the default figure as its PNG fallback, and writes one file a frame."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from optnotes.widgets import FRAMES_ENV, SITE_ROOT_ENV

    monkeypatch.setenv(FRAMES_ENV, str(tmp_path / "frames"))
    monkeypatch.setenv(SITE_ROOT_ENV, str(tmp_path))
    InteractiveShell.instance()
    experiment = experiments.make("gd-ravine")
    with capture_output() as captured:
        experiment.show()
    line, sliders = (output.data for output in captured.outputs)
    assert "Sliders on this page: learning rate α" in line["text/html"]
    printed = line["text/plain"]  # the PDF's text: wrapped to the page
    assert "fixed: condition number κ = 20; steps = 40" in " ".join(printed.split())
    assert max(len(row) for row in printed.splitlines()) <= 78 < len(printed)
    assert "application/vnd.jupyter.widget-view+json" in sliders
    experiment.update()
    assert sliders["image/png"] == base64.b64encode(experiment.png).decode()
    assert len(list((tmp_path / "frames").glob("*.png"))) == widgets.GRID_POINTS


def test_only_the_frames_the_pages_show_reach_the_site_and_stale_ones_go(tmp_path):
    """A page that ran again left its old frames in the cache: they are not
    copied, and are removed from the cache and from the site."""
    from optnotes.static_sliders import _copy_frames

    shown, default, stale = (c * 24 + ".png" for c in "abc")
    cache, html = tmp_path / "cache", tmp_path / "html"
    site = html / "_frames"
    for folder in (cache, site, html / "book"):
        folder.mkdir(parents=True)
    for name in (shown, default, stale):
        (cache / name).write_bytes(name.encode())
    (site / stale).write_bytes(b"old")
    # A frame in the widget state (JSON in the page) and a default figure.
    frame = {"model_name": "HTMLModel", "state": {"value": f'<img src="../_frames/{shown}">'}}
    state = {"a": frame}
    (html / "book" / "page.html").write_text(
        f'<script type="application/vnd.jupyter.widget-state+json">{json.dumps(state)}</script>'
        f'<figure><img src="../_frames/{default}"></figure>'
    )
    _copy_frames(cache, site, html)
    assert sorted(f.name for f in site.iterdir()) == sorted([shown, default])
    assert sorted(f.name for f in cache.iterdir()) == sorted([shown, default])
    assert (site / shown).read_bytes() == shown.encode()
