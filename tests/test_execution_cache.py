"""The execution cache: a rebuild with nothing changed executes nothing, and a
change to a rule in optnotes executes the pages that use it again.

A two-page book in a temporary folder imports a copy of the package (put
first on PYTHONPATH for Sphinx and the kernel alike), so the test can change
a rule without touching the real one. The first page prints the rule's first
step and a random token that changes whenever the page is executed. With two
pages to run, the extension executes them in parallel before Sphinx reads
them.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """\
title: cache test
execute:
  execute_notebooks: cache
  raise_on_error: true
sphinx:
  extra_extensions: [optnotes.execution_cache]
"""

# What makes a Markdown page a MyST notebook.
NOTEBOOK_HEADER = """\
---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
"""

PAGE = (
    NOTEBOOK_HEADER
    + """
# A page that uses SGD

```{code-cell} ipython3
import uuid
import numpy as np
from optnotes.rules import SGD

rule = SGD(lr=0.5)
x0 = np.array([1.0])
x, _ = rule.step(x0, lambda x: x, rule.init(x0))
print(f"step {x[0]} run {uuid.uuid4().hex}")
```
"""
)

OTHER_PAGE = (
    NOTEBOOK_HEADER
    + """
# Another page

```{code-cell} ipython3
print(sum(range(10)))
```
"""
)

SGD_LINE = "        x = x - alpha * g\n        return finite(x, t), SGDState(t + 1)"


@pytest.fixture
def small_book(tmp_path):
    shutil.copytree(
        ROOT / "optnotes",
        tmp_path / "pkg" / "optnotes",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    book = tmp_path / "book"
    book.mkdir()
    (book / "_config.yml").write_text(CONFIG)
    toc = "format: jb-book\nroot: page\nchapters:\n- file: other\n"
    (book / "_toc.yml").write_text(toc)
    (book / "page.md").write_text(PAGE)
    (book / "other.md").write_text(OTHER_PAGE)
    return tmp_path


def jupyter_book(tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "pkg")}
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(tmp_path / "book")]
    command += ["--path-output", str(tmp_path / "out"), "-W"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def build(tmp_path) -> tuple[float, str]:
    """Build, and return what the page printed: the step and the run token."""
    result = jupyter_book(tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    notebook = nbformat.read(tmp_path / "out/_build/jupyter_execute/page.ipynb", as_version=4)
    (code,) = [cell for cell in notebook.cells if cell.cell_type == "code"]
    printed = code.outputs[0]["text"]
    step, token = re.fullmatch(r"step (\S+) run (\w+)\n", printed).groups()
    return float(step), token


def test_a_rule_change_executes_the_page_again_and_nothing_else_does(small_book):
    step, first_run = build(small_book)
    assert step == 0.5  # x0 - lr * x0
    other = (small_book / "out/_build/html/other.html").read_text()
    assert "45" in other  # the other page ran too

    # Nothing changed: the page's outputs come from the cache.
    assert build(small_book) == (0.5, first_run)

    # A change to SGD in the package: the page executes again, with the new rule.
    rules = small_book / "pkg" / "optnotes" / "rules" / "sgd.py"
    source = rules.read_text()
    assert source.count(SGD_LINE) == 1, "SGD's update line moved: update SGD_LINE"
    rules.write_text(source.replace(SGD_LINE, SGD_LINE.replace("alpha * g", "2 * alpha * g")))
    step, third_run = build(small_book)
    assert step == 0.0  # x0 - 2 * lr * x0
    assert third_run != first_run


def test_a_failing_page_fails_the_build_with_its_traceback(small_book):
    other = small_book / "book" / "other.md"
    other.write_text(OTHER_PAGE.replace("print(sum(range(10)))", "1 / 0"))
    result = jupyter_book(small_book)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "other.md" in log and "ZeroDivisionError" in log


def _notebook(*sources):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    return notebook


def _printed(notebook) -> str:
    return "".join(o.get("text", "") for c in notebook.cells for o in c.outputs)


def test_a_page_kernel_runs_page_after_page_each_with_an_empty_namespace(tmp_path):
    """The build's kernels run page after page: the second page runs in the same
    process but sees nothing the first defined; a failing page returns its
    error, and the page after it gets a fresh kernel."""
    from nbclient.exceptions import CellExecutionError

    from optnotes.execution_cache import PageKernel

    show = "import os; print(os.getpid(), 'leaked' in dir())"
    pages = [
        _notebook("leaked = 1", show),
        _notebook(show),
        _notebook("1 / 0"),
        _notebook(show),
    ]
    kernel = PageKernel(timeout=60, allow_errors=False)
    try:
        results = [kernel.run(page, str(tmp_path)) for page in pages]
    finally:
        kernel.stop()
    assert [error is None for _, error in results] == [True, True, False, True]
    assert isinstance(results[2][1], CellExecutionError)
    assert "ZeroDivisionError" in str(results[2][1])
    (pid_1, leaked_1), (pid_2, leaked_2), (pid_4, leaked_4) = (
        _printed(pages[k]).split() for k in (0, 1, 3)
    )
    assert (leaked_1, leaked_2, leaked_4) == ("True", "False", "False")
    assert pid_1 == pid_2 != pid_4
    assert kernel.km is None  # stopped
