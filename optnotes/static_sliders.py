"""Sphinx extension: every experiment's sliders work on the static page, no kernel.

When the widget scripts are installed (``make book`` runs ``npm ci --prefix
book/widgets`` when npm is there: ``@jupyter-widgets/html-manager`` and
``requirejs``, pinned in ``book/widgets/package-lock.json``), this extension

* tells the kernels that execute the pages, through the environment variables
  ``OPTNOTES_FRAMES`` and ``OPTNOTES_SITE_ROOT``, to show each experiment as
  sliders over precomputed frames (:meth:`optnotes.widgets.Experiment.show`)
  and where to write the frames: a folder inside the execution cache, emptied
  with it, so a page taken from the cache still has its frames;
* shows widget views on the HTML pages (the PDF keeps the default figure, the
  widget output's PNG fallback) and serves the scripts from the site's
  ``_static/widgets/``, never from a CDN;
* copies the frames the pages show into the site's ``_frames/`` (and
  forgets, there and in the cache, frames no page shows any more: those of an
  earlier run of a page) and the scripts into ``_static/widgets/`` when the
  build ends (and the widgets' fonts where the
  scripts look for them, beside the pages).

Without the scripts, the experiments show their default figure under a line
naming their controls, as in Jupyter without a kernel, and the build says so
in a NOTE line; with ``OPTNOTES_REQUIRE_ALL=1`` (CI) the build fails instead.
"""

import os
import re
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

from .widgets import FRAMES_ENV, FRAMES_URL, SITE_ROOT_ENV

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "book" / "widgets" / "node_modules"
HTML_MANAGER = NODE_MODULES / "@jupyter-widgets" / "html-manager" / "dist"
SCRIPTS = {  # served as _static/widgets/NAME: from where in node_modules
    "require.js": NODE_MODULES / "requirejs" / "require.js",
    "embed-amd.js": HTML_MANAGER / "embed-amd.js",
}
STYLE = ROOT / "book" / "widgets" / "optnotes-sliders.css"  # served beside them
FONTS = ("*.woff2", "*.woff")  # Font Awesome, for the widgets' icons (current browsers)
# The html-manager's scripts (AMD modules named after their npm packages, found
# by requirejs from the page's folder) load their fonts from these folders,
# relative to the page.
FONT_FOLDERS = ("@jupyter-widgets/html-manager/dist", "@jupyter-widgets")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
FRAME_URL = re.compile(rf"{FRAMES_URL}/([0-9a-f]{{24}}\.png)")
HTML_BUILDERS = ("html", "dirhtml", "singlehtml")
FRAMES_FOLDER = "optnotes-frames"  # inside the execution cache


def scripts_installed() -> bool:
    return all(path.is_file() for path in SCRIPTS.values())


def _configure(app, config):
    logger = logging.getLogger(__name__)
    overrides = [o for o in config.nb_mime_priority_overrides if o[1] != WIDGET_VIEW]
    if not scripts_installed():
        if os.environ.get("OPTNOTES_REQUIRE_ALL") == "1":
            raise ExtensionError(
                "the static sliders need the widget scripts: npm ci --prefix book/widgets "
                "(OPTNOTES_REQUIRE_ALL=1: make should have installed them)"
            )
        logger.info(
            "NOTE: the widget scripts are not installed (npm ci --prefix book/widgets, which "
            "`make book` runs when npm is there): the static pages show each experiment's "
            "default figure, without sliders."
        )
        config.nb_mime_priority_overrides = [*overrides, ["*", WIDGET_VIEW, None]]
        config.nb_ipywidgets_js = {}
        return
    # Widget views on the web pages only; elsewhere (the PDF) the PNG fallback.
    config.nb_mime_priority_overrides = [*overrides, ["latex", WIDGET_VIEW, None]]
    # Deferred: 3.6 MB of scripts must not hold up the text (and the default
    # figures, shown until the sliders are drawn); deferred scripts still run
    # in order, once the page is parsed.
    config.nb_ipywidgets_js = {
        "widgets/require.js": {"defer": "defer"},
        # Every widget on the pages is built into the html-manager: it loads
        # nothing more; were it to try, the "CDN" is a folder of the site.
        "widgets/embed-amd.js": {"defer": "defer", "data-jupyter-widgets-cdn": "_static/widgets/"},
    }
    app.add_css_file(f"widgets/{STYLE.name}")
    # Pages executed with sliders differ from those without: cache them apart.
    config.optnotes_fingerprint += ":static-sliders"


def frames_folder(app) -> Path:
    return Path(app.env.mystnb_config.execution_cache_path) / FRAMES_FOLDER


def _tell_kernels(app):
    """Set the environment the page kernels inherit (after the execution cache
    has been emptied if stale, which empties the frames with it)."""
    if not scripts_installed():
        os.environ.pop(FRAMES_ENV, None)
        return
    folder = frames_folder(app)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[FRAMES_ENV] = str(folder)
    os.environ[SITE_ROOT_ENV] = str(app.srcdir)


def _copy_to_site(app, exception):
    if exception is not None or app.builder.name not in HTML_BUILDERS:
        return
    if not scripts_installed():
        return
    static = Path(app.outdir, "_static", "widgets")
    static.mkdir(parents=True, exist_ok=True)
    for name, source in [*SCRIPTS.items(), (STYLE.name, STYLE)]:
        shutil.copyfile(source, static / name)
    page_folders = {Path(app.outdir, docname).parent for docname in app.env.found_docs}
    fonts = [font for pattern in FONTS for font in HTML_MANAGER.glob(pattern)]
    for folder in sorted(page_folders):
        for fonts_folder in FONT_FOLDERS:
            (folder / fonts_folder).mkdir(parents=True, exist_ok=True)
            for font in fonts:
                shutil.copyfile(font, folder / fonts_folder / font.name)
    _copy_frames(frames_folder(app), Path(app.outdir, FRAMES_URL), Path(app.outdir))


def _copy_frames(cache: Path, site: Path, html: Path) -> None:
    """Copy into the site the frames its pages show, and only those; forget
    the others, in the site and in the cache (frames of an earlier run of a
    page, left behind when it ran again)."""
    shown = referenced_frames(html)
    site.mkdir(parents=True, exist_ok=True)
    for folder in (site, cache):
        for frame in folder.glob("*.png") if folder.is_dir() else ():
            if frame.name not in shown:
                frame.unlink()
    for name in sorted(shown):
        if not (site / name).exists() and (cache / name).exists():
            shutil.copyfile(cache / name, site / name)


def referenced_frames(html: Path) -> set[str]:
    """The names of the frames the site's pages show (in their widgets' state
    and their default figures' <img>)."""
    names = set()
    for page in html.rglob("*.html"):
        names.update(FRAME_URL.findall(page.read_text(encoding="utf-8")))
    return names


def setup(app):
    """Sphinx extension entry point (after myst_nb and optnotes.execution_cache)."""
    app.connect("config-inited", _configure, priority=600)
    app.connect("builder-inited", _tell_kernels, priority=950)
    app.connect("build-finished", _copy_to_site)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
