"""Sphinx extension: every chapter as a live notebook in JupyterLite, in the site.

jupyterlite-sphinx runs ``jupyter lite build`` once the HTML pages are written
and puts the JupyterLite app in ``_build/html/lite/``. This extension gives it
what to serve, staged in ``_build/jupyterlite/`` (in the source tree only
``jupyter lite build``'s task database, while it runs; jupyterlite-sphinx
removes it):

* each chapter (a MyST notebook page) as ``book/<chapter>.ipynb``, converted by
  jupytext, after a note (which defines the book's macros) and a cell that
  installs ``optnotes`` and the libraries it draws with (``%pip`` in the
  Pyodide kernel; both only in the Lite copy);
* ``optnotes`` as a wheel in the app's own package index (``lite/pypi/``), so
  that ``%pip install optnotes`` finds it on the site, not on PyPI.

The theme's launch button for JupyterLite (``launch_buttons.jupyterlite_url``
in ``_config.yml``) links each chapter to its notebook; here it is renamed to
say what it does and put first in the launch menu, before Binder.
jupyterlite-sphinx also links a Google Fonts stylesheet into every page, for a
font only its directives use (the book uses none): a page would fetch it from
the internet, so it is dropped.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from importlib.metadata import version as installed_version
from pathlib import Path

import jupytext
import nbformat

from . import notation

# Pyodide's kernel, as jupyterlite-pyodide-kernel names it (a notebook naming
# another kernel would open on a "select kernel" dialog).
KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
# What optnotes draws with beyond numpy (pyproject's `book` extra): imported
# inside its modules, not by the cells, so installed up front.
# ipywidgets is pinned to the build's version: Pyodide does not ship it, so
# piplite takes it from PyPI, and the app's widget manager (built into the
# site) speaks that version's protocol, not that of a later release.
LITE_PACKAGES = [
    "optnotes",
    f"ipywidgets=={installed_version('ipywidgets')}",
    "matplotlib",
    "sympy",
]
BUTTON_TEXT = "Live in the browser"
BUTTON_TOOLTIP = "Run this chapter in your browser (JupyterLite: no server, no install)"


def _stage(app) -> Path:
    return Path(app.outdir).parent / "jupyterlite"


def _configure(app, config):
    """Stage JupyterLite's input beside this build's output, not in the source tree."""
    stage = _stage(app)
    stage.mkdir(parents=True, exist_ok=True)
    config.jupyterlite_dir = str(stage)
    # jupyterlite-sphinx empties this folder at start-up and passes it to
    # `jupyter lite build` as the root of the notebooks' file system.
    config.jupyterlite_content_dir = str(stage / "contents")


def lite_notebook(source: Path) -> nbformat.NotebookNode | None:
    """A MyST notebook page as the notebook JupyterLite opens (None for a text page)."""
    notebook = jupytext.read(source)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    if not code:
        return None
    packages = LITE_PACKAGES + (["scikit-learn"] if any("digits(" in c for c in code) else [])
    # The book's macros (optnotes.notation), defined for JupyterLab's MathJax
    # in an empty formula before any cell uses them.
    macros = "".join(
        rf"\newcommand{{\{m.name}}}{f'[{m.args}]' if m.args else ''}{{{m.body}}}"
        for m in notation.MACROS
    )
    intro = nbformat.v4.new_markdown_cell(
        "This chapter runs in your browser: Python is Pyodide, fetched when the "
        "kernel starts. Run the next cell first; it installs `optnotes` from this "
        f"site.\n${macros}$"
    )
    install = nbformat.v4.new_code_cell(
        "# In JupyterLite: optnotes comes from this site, the rest from Pyodide.\n"
        f"%pip install -q {' '.join(packages)}"
    )
    notebook.cells[:0] = [intro, install]
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"
    return notebook


def build_wheel(package: Path, pyproject: Path, out: Path) -> Path:
    """A pure-Python wheel of ``optnotes`` from its sources and pyproject.toml.

    Written directly, because ``pip wheel`` would fetch setuptools (which the
    book's environment lacks) and build in the source tree.
    """
    import tomllib  # Python 3.11, which the book's build needs (the package: 3.10)

    project = tomllib.loads(pyproject.read_text())["project"]
    name, version = project["name"], project["version"]
    info = f"{name}-{version}.dist-info"
    metadata = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {project['description']}",
        f"Requires-Python: {project['requires-python']}",
        *(f"Requires-Dist: {requirement}" for requirement in project["dependencies"]),
    ]
    for extra, requirements in project.get("optional-dependencies", {}).items():
        metadata.append(f"Provides-Extra: {extra}")
        metadata += [f'Requires-Dist: {r}; extra == "{extra}"' for r in requirements]
    files = {
        path.relative_to(package.parent).as_posix(): path.read_bytes()
        for path in sorted(package.rglob("*.py"))
    }
    files[f"{info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: optnotes.lite\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return wheel


def _write_contents(app, error):
    """Before jupyterlite-sphinx's build (same event, earlier priority)."""
    if error is not None or app.builder.format != "html":
        return
    stage, root = _stage(app), Path(app.srcdir)
    for docname in sorted(app.env.found_docs):
        source = Path(app.env.doc2path(docname))
        notebook = lite_notebook(source) if source.suffix == ".md" else None
        if notebook is not None:
            target = Path(app.config.jupyterlite_content_dir) / f"{docname}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, target)
    for old in (stage / "pypi").glob("*.whl"):
        old.unlink()
    build_wheel(root / "optnotes", root / "pyproject.toml", stage / "pypi")


def _mend_page(app, pagename, templatename, context, doctree):
    """Rename the theme's JupyterLite launch button and put it first (Binder
    second); drop the Google Fonts link."""
    css = context.get("css_files")
    if css:
        css[:] = [c for c in css if "fonts.googleapis.com" not in str(getattr(c, "filename", c))]
    for group in context.get("header_buttons", []):
        buttons = group.get("buttons", [])
        for button in buttons:
            if button.get("text") == "JupyterLite":
                button.update(text=BUTTON_TEXT, tooltip=BUTTON_TOOLTIP)
        buttons.sort(key=lambda button: button.get("text") != BUTTON_TEXT)  # stable


def setup(app):
    """Sphinx extension entry point (after jupyterlite_sphinx in the extension list)."""
    app.connect("config-inited", _configure, priority=400)  # before jupyterlite_sphinx's
    app.connect("build-finished", _write_contents, priority=400)  # before its Lite build
    app.connect("html-page-context", _mend_page, priority=600)  # after the theme's buttons
    return {"parallel_read_safe": True, "parallel_write_safe": True}
