"""The built site as a reader sees it, in headless Chromium.

The session's site build (tests/conftest.py) is served on localhost and every
page is opened in Debian's Chromium, driven by Playwright (no browser is
downloaded). MathJax 3 comes from a local npm copy (tests/browser), routed in
place of the CDN, so nothing here needs the internet; any other request off
the site is refused and reported. A full-page screenshot of every page is kept
in _build/test-artifacts/browser/.

Without Chromium or the MathJax copy these tests skip, saying why; in CI
(OPTNOTES_REQUIRE_ALL=1, set by .ci/run after installing them) they fail.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from tests.conftest import ROOT, skip_or_fail
from tests.test_book import chapter_pages, notebook_pages, toc_files

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MATHJAX = ROOT / "tests" / "browser" / "node_modules" / "mathjax"
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/"
ARTIFACTS = ROOT / "_build" / "test-artifacts" / "browser"
# What the probe found Chromium needs here: no sandbox as root, and none of
# its background connections to Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Read in the page once MathJax has finished.
PAGE_REPORT = """() => {
  const visible = (e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const main = document.querySelector('main') || document.body;
  // Text a reader sees outside code, scripts and typeset math.
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT, {acceptNode: (n) =>
    n.parentElement.closest('pre, code, script, style, mjx-container, textarea')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  const texts = [];
  while (walker.nextNode()) texts.push(walker.currentNode.textContent);
  const maths = [...main.querySelectorAll('.math')];
  return {
    title: document.title,
    math: maths.length,
    untypeset: maths.filter((e) => !e.querySelector('mjx-container'))
                    .map((e) => e.textContent.slice(0, 80)),
    merrors: [...document.querySelectorAll('mjx-merror')].map((e) => e.textContent.slice(0, 80)),
    text: texts.join(' '),
    images: [...main.querySelectorAll('img')].map((i) => ({
      src: i.getAttribute('src').slice(0, 80), complete: i.complete,
      natural: i.naturalWidth, shown: visible(i)})),
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    binder: [...document.querySelectorAll('a[href*="mybinder.org"]')].map((a) => a.href),
    download: [...document.querySelectorAll('a[href$=".ipynb"]')].map((a) => a.href),
    player: [...main.querySelectorAll('.anim-buttons button')].map((b) => ({
      title: b.title, icon: [...b.querySelectorAll('svg')].some(visible)})),
  };
}"""

# TeX a reader would see raw if MathJax missed it.
RAW_TEX = re.compile(r"\\[a-zA-Z]{2,}\{|\\\(|\\\[|\$\$|\\begin\{")


@pytest.fixture(scope="module")
def served(book):
    """The site on a free localhost port, served by Python's http.server."""
    assert book.returncode == 0, book.log[-3000:]
    command = [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"]
    command += ["--directory", str(book.html)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first_line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N (...)"
        port = re.search(r"port (\d+)", first_line).group(1)
        yield f"http://127.0.0.1:{port}/", book.html
    finally:
        server.terminate()
        server.wait()
        server.stdout.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        skip_or_fail("Chromium is not installed (Debian: apt-get install chromium)")
    if not (MATHJAX / "es5" / "tex-mml-chtml.js").exists():
        skip_or_fail(
            "MathJax 3 is not installed for the browser test (npm ci --prefix tests/browser)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def offline_route(base: str, off_site: list):
    """A Playwright route handler: the site as served, MathJax from its local
    npm copy in place of the CDN, and every other request refused and recorded
    in ``off_site``."""

    def route(request_route):
        url = request_route.request.url
        if url.startswith(base):
            return request_route.continue_()
        if url.startswith(MATHJAX_CDN):
            local = MATHJAX / urlsplit(url[len(MATHJAX_CDN) :]).path
            if local.is_file():
                return request_route.fulfill(path=str(local))
        off_site.append(url)
        return request_route.abort()

    return route


@pytest.fixture(scope="module")
def reports(browser, served):
    """Open every page once; what the reader sees, and what went wrong."""
    base, _ = served
    off_site = []

    route = offline_route(base, off_site)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", route)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    results = {}
    for page_name in toc_files():
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error, errors=errors: errors.append(f"script error: {error}"))
        page.on(
            "console",
            lambda message, errors=errors: (
                errors.append(f"console {message.text} ({message.location.get('url')})")
                if message.type == "error"
                else None
            ),
        )
        response = page.goto(base + page_name + ".html", wait_until="load")
        # Pages without math load no MathJax; on the others, wait for it to finish.
        page.evaluate("() => (window.MathJax && MathJax.startup) ? MathJax.startup.promise : null")
        page.evaluate("() => document.fonts.ready")
        report = page.evaluate(PAGE_REPORT)
        report["status"] = response.status
        report["errors"] = errors
        page.screenshot(
            path=ARTIFACTS / f"{page_name.replace('/', '_')}.jpg", full_page=True, quality=70
        )
        page.close()
        results[page_name] = report
    context.close()
    return results, off_site


@pytest.mark.parametrize("page", toc_files())
def test_page_loads_without_script_errors(reports, page):
    report = reports[0][page]
    assert report["status"] == 200
    assert report["errors"] == []


@pytest.mark.parametrize("page", toc_files())
def test_every_equation_is_typeset(reports, page):
    report = reports[0][page]
    assert report["untypeset"] == []
    assert report["merrors"] == []
    assert RAW_TEX.findall(report["text"]) == []


def test_pages_with_derivations_have_equations(reports):
    for page in chapter_pages():
        assert reports[0][page]["math"] > 0, page


@pytest.mark.parametrize("page", toc_files())
def test_every_image_loads(reports, page):
    report = reports[0][page]
    broken = [image["src"] for image in report["images"] if image["natural"] == 0]
    assert broken == []
    if page in chapter_pages():
        shown = [image for image in report["images"] if image["shown"]]
        assert shown, f"{page} shows no figure"


def test_no_internal_link_is_broken(reports, served):
    base, html = served
    targets = {link for report in reports[0].values() for link in report["links"]}
    pages = {}
    broken = []
    for link in sorted(targets):
        if not link.startswith(base):
            continue
        url, fragment = urldefrag(link)
        path = html / unquote(urlsplit(url).path[len(urlsplit(base).path) :])
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            broken.append(link)
            continue
        if fragment and path.suffix == ".html":
            if path not in pages:
                pages[path] = set(re.findall(r'\sid="([^"]+)"', path.read_text()))
            if unquote(fragment) not in pages[path]:
                broken.append(link)
    assert broken == []


@pytest.mark.parametrize("page", notebook_pages())
def test_launch_and_download_buttons(reports, page):
    report = reports[0][page]
    assert any(f"urlpath=tree/{page}.md" in link for link in report["binder"]), report["binder"]
    assert any(link.endswith(f"/_sources/{page}.ipynb") for link in report["download"])


def test_nothing_is_fetched_from_the_internet_but_mathjax(reports):
    assert reports[1] == []


def test_race_animation_player_shows_its_buttons(reports):
    player = reports[0]["book/practice"]["player"]
    assert len(player) >= 8
    assert all(button["icon"] for button in player), player
