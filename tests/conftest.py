"""One build of the whole book per test session, shared by the site, browser
and PDF tests: the pages are executed once, into a temporary folder."""

import importlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# CI runs hypothesis derandomized, so that a submission's result does not
# depend on the draw; a developer's `make test` explores new examples each run
# (and keeps the failing ones in .hypothesis/).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
JUPYTER_BOOK = str(Path(sys.executable).parent / "jupyter-book")

# .ci/run sets this: there, a test that needs Chromium or TeX Live fails
# instead of skipping, because .ci/run has installed them.
REQUIRE_ALL = os.environ.get("OPTNOTES_REQUIRE_ALL") == "1"


def skip_or_fail(reason: str):
    """Skip locally (the reason shows in pytest's summary); fail in CI."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (OPTNOTES_REQUIRE_ALL=1: .ci/run should have installed it)")
    pytest.skip(reason)


@dataclass
class Build:
    out: Path  # the --path-output folder; the build is in out/_build
    returncode: int
    log: str

    @property
    def html(self) -> Path:
        return self.out / "_build" / "html"

    def executed(self, page: str) -> Path:
        """The notebook of a page as the build executed it."""
        return self.out / "_build" / "jupyter_execute" / f"{page}.ipynb"


def jupyter_book_build(out: Path, *options: str, timeout: int = 900) -> tuple[int, str]:
    command = [JUPYTER_BOOK, "build", str(ROOT), "--path-output", str(out), *options]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> Build:
    """The site, built with warnings as errors, every page executed afresh."""
    out = tmp_path_factory.mktemp("book")
    returncode, log = jupyter_book_build(out, "-W", "-n", "--keep-going")
    return Build(out, returncode, log)


def pytest_terminal_summary(terminalreporter):
    """Say it plainly at the end when the browser, PDF or framework tests did not run."""
    skipped = terminalreporter.stats.get("skipped", [])
    groups = {
        "browser": "test_browser.py",
        "PDF": "test_pdf.py",
        "framework comparison": "test_frameworks.py",
    }
    missed = sorted(
        {name for report in skipped for name, module in groups.items() if module in report.nodeid}
    )
    if missed:
        installers = []
        if {"browser", "PDF"} & set(missed):
            installers.append(
                "`make system-deps` installs what the browser and PDF tests need (Debian or Ubuntu)"
            )
        if "framework comparison" in missed:
            installers.append("`make frameworks` installs PyTorch, JAX, optax and Keras")
        terminalreporter.write_line(
            f"NOTE: the {' and '.join(missed)} tests were SKIPPED (see the reasons in "
            f"the summary); {'; '.join(installers)}.",
            yellow=True,
            bold=True,
        )


# --- The frameworks (test-only: `make frameworks`) ---------------------------------


def _framework(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as error:
        skip_or_fail(
            f"{name} is not installed ({error}); `make frameworks` installs PyTorch, "
            "JAX, optax and Keras for the framework comparison tests"
        )


@pytest.fixture(scope="module")
def torch():
    torch = _framework("torch")
    # Float64 also for the scalars the optimizers keep (NAdam's product of the μ's,
    # the schedulers' rates), which are float32 otherwise.
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(before)


@pytest.fixture(scope="module")
def jax():
    jax = _framework("jax")
    jax.config.update("jax_enable_x64", True)  # float64 arrays, for 1e-9 comparisons
    return jax


@pytest.fixture(scope="module")
def optax(jax):
    return _framework("optax")


@pytest.fixture(scope="module")
def keras(jax):
    os.environ["KERAS_BACKEND"] = "jax"  # read when keras is first imported
    keras = _framework("keras")
    assert keras.backend.backend() == "jax", "keras was imported earlier with another backend"
    keras.config.set_floatx("float64")
    return keras
