"""Binder readiness: what Binder reads is in the repository, and it is enough.

Binder installs requirements.txt (with ``-e .`` for the package) on the Python
that runtime.txt names, and opens the MyST chapters through jupytext. The
slow test does the same in a fresh virtual environment, built from
requirements.txt alone, and executes every chapter there.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_book import notebook_pages

ROOT = Path(__file__).resolve().parents[1]


def test_binder_reads_a_complete_pinned_requirements_file():
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "-e ." in lines
    pins = [line for line in lines if line != "-e ."]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", p) for p in pins), pins
    names = {p.split("==")[0].lower() for p in pins}
    for needed in ("jupyter-book", "jupytext", "numpy", "matplotlib", "ipywidgets", "sympy"):
        assert needed in names, needed
    assert next(p for p in pins if p.lower().startswith("jupyter-book==")).split("==")[1][0] == "1"


def test_runtime_names_the_python_the_pins_need():
    assert (ROOT / "runtime.txt").read_text().strip() == "python-3.11"
    assert not (ROOT / "binder").exists()  # repo2docker reads the root or binder/, not both


@pytest.fixture(scope="module")
def binder_python(tmp_path_factory):
    """A fresh environment from requirements.txt alone, as Binder builds it."""
    venv = tmp_path_factory.mktemp("binder") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", "requirements.txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return python


EXECUTE = """
import sys, jupytext, nbclient
from pathlib import Path
for page in sys.argv[1:]:
    path = Path(page + ".md")
    notebook = jupytext.read(path)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    print("executed", page)
"""


def test_every_chapter_runs_in_a_binder_like_environment(binder_python):
    pages = notebook_pages()
    result = subprocess.run(
        [str(binder_python), "-c", EXECUTE, *pages],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert result.stdout.count("executed") == len(pages)


def test_an_install_from_the_source_ships_every_package():
    """pyproject.toml names each package folder of optnotes, so that `pip install .`
    (not only the editable install) carries the subpackages, optnotes.rules too."""
    import tomllib

    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "optnotes").rglob("__init__.py")
    }
    assert set(listed["packages"]) == folders
