"""Sphinx extension: the book's execution cache also depends on the package.

Jupyter Book's execution cache (``execute_notebooks: cache``) keys each page
on its code cells alone. The chapters import ``optnotes``, so a change to a
rule would otherwise leave every figure drawn by the old rule in place.

This extension fingerprints what the pages' outputs depend on beyond their
own cells: the source of the ``optnotes`` package and the versions of the
libraries it computes and draws with. When the fingerprint changes,

* Sphinx re-reads every page (the fingerprint is a config value with
  ``rebuild="env"``), and
* the execution cache is emptied before any page is read,

so every page executes again. With nothing changed, a rebuild executes
nothing.

It also executes the pages that need it in parallel, one kernel per core,
before Sphinx reads them (MyST-NB would run them one after another, each in a
kernel started for it); each kernel runs page after page, its namespace
emptied between them (``PageKernel``), which spares every page a kernel's
start and its imports, about a second each. It puts
the results in the cache, where MyST-NB then finds them. A page whose run fails
is left out of the cache: MyST-NB runs it again while reading it and reports
the error, with the page and its traceback, as it always does. Kernels side by
side need two things a single one does not:

* one BLAS thread each. OpenBLAS spins its threads while it waits for work; two
  kernels with two threads each on two cores took the network page from 11 s
  to 36 s (``OPENBLAS_NUM_THREADS`` and its kin, set for the kernels only);
* local sockets, not TCP ports. jupyter_client finds a free port by binding
  one and letting it go, so two kernels started together can pick the same
  one (seen: "ZMQError: Address already in use" in a build).
"""

import hashlib
import os
import shutil
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from queue import Empty, Queue

PACKAGE = Path(__file__).resolve().parent
LIBRARIES = ("numpy", "scipy", "sympy", "matplotlib", "ipywidgets", "scikit-learn")
STAMP = "optnotes-fingerprint"
ONE_BLAS_THREAD = {
    name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
}


def fingerprint(package: Path = PACKAGE) -> str:
    """A hash of the package's Python sources and the libraries' versions."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    for name in LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{name}=={version}".encode())
    return digest.hexdigest()


def _set_fingerprint(app, config):
    config.optnotes_fingerprint = fingerprint()


def _empty_stale_cache(app):
    mystnb_config = getattr(app.env, "mystnb_config", None)
    if mystnb_config is None or mystnb_config.execution_mode != "cache":
        return
    cache = Path(mystnb_config.execution_cache_path)
    stamp = cache / STAMP
    current = app.config.optnotes_fingerprint
    if stamp.exists() and stamp.read_text() == current:
        return
    if cache.exists():
        shutil.rmtree(cache)
        from sphinx.util import logging

        logging.getLogger(__name__).info(
            f"optnotes changed since the last build: emptied the execution cache {cache}"
        )
    cache.mkdir(parents=True)
    stamp.write_text(current)


def _stale_notebooks(env, docnames):
    """The pages among ``docnames`` that are notebooks with no cached run:
    (path, notebook as MyST-NB reads it, its read format)."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import create_nb_reader

    config = env.mystnb_config
    cache = get_cache(config.execution_cache_path)
    stale = []
    for docname in docnames:
        path = Path(env.doc2path(docname))
        content = path.read_text()
        reader = create_nb_reader(str(path), env.myst_config, config, content)
        if reader is None:  # a plain Markdown page
            continue
        notebook = reader.read(content)
        try:
            cache.match_cache_notebook(notebook)
        except KeyError:
            stale.append((path, notebook, reader.read_fmt))
    return cache, stale


def _execute_in_parallel(app, env, docnames):
    config = getattr(env, "mystnb_config", None)
    if config is None or config.execution_mode != "cache" or config.kernel_rgx_aliases:
        return
    from jupyter_cache.base import CacheBundleIn
    from sphinx.util import logging

    cache, stale = _stale_notebooks(env, docnames)
    if len(stale) < 2:
        return  # nothing to gain: MyST-NB runs it while reading
    workers = min(len(stale), os.cpu_count() or 1)
    start = time.perf_counter()
    # Longest pages first (by size), so that no core is left with a long page last.
    stale.sort(key=lambda item: item[0].stat().st_size, reverse=True)
    pages, done = Queue(), Queue()
    for item in stale:
        pages.put(item)

    def work():  # one kernel, page after page, until none is left
        kernel = PageKernel(config.execution_timeout, config.execution_allow_errors)
        try:
            while True:
                try:
                    item = pages.get_nowait()
                except Empty:
                    return
                done.put((item, kernel.run(item[1], str(item[0].parent))))
        finally:
            kernel.stop()

    with _environment(ONE_BLAS_THREAD), ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(work) for _ in range(workers)]:
            future.result()
    while not done.empty():
        (path, notebook, read_fmt), (seconds, error) = done.get()
        if error is not None:
            continue  # MyST-NB runs it again, in a kernel of its own, and reports the error
        record = (
            cache.add_nb_to_project(str(path), read_data=read_fmt)
            if read_fmt
            else cache.add_nb_to_project(str(path))
        )
        bundle = CacheBundleIn(notebook, record.uri, data={"execution_seconds": seconds})
        cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
    logging.getLogger(__name__).info(
        f"optnotes: executed {len(stale)} pages on {workers} cores "
        f"in {time.perf_counter() - start:.1f} s"
    )


class PageKernel:
    """A kernel that executes page after page: its namespace is emptied
    (``%reset -f``) before each page, and the modules the pages import stay
    imported, so that a page pays neither for a kernel's start nor for the
    imports the page before it made. Every page must still run alone, in a
    kernel of its own, as a reader runs it (``tests/test_binder.py`` runs each
    so); if a page fails here, MyST-NB runs it again alone and reports it."""

    def __init__(self, timeout, allow_errors):
        self.timeout, self.allow_errors = timeout, allow_errors
        self.km = None

    def run(self, notebook, cwd: str):
        """Execute ``notebook`` in place; (seconds, the error or None)."""
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        timeout, allow_errors = self.timeout, self.allow_errors
        settings = notebook.metadata.get("execution", {})  # a page's own, as jupyter-cache
        timeout = settings.get("timeout", timeout)
        allow_errors = settings.get("allow_errors", allow_errors)
        start = time.perf_counter()
        try:
            if self.km is not None:
                self._execute(_reset_notebook(notebook), cwd, 60, False)
            start = time.perf_counter()
            self._execute(notebook, cwd, timeout, allow_errors)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            self.stop()  # the next page starts afresh
            return time.perf_counter() - start, error
        return time.perf_counter() - start, None

    def _execute(self, notebook, cwd, timeout, allow_errors):
        from nbclient import NotebookClient

        if self.km is None:
            name = notebook.metadata.get("kernelspec", {}).get("name", "python3")
            self.km = _local_socket_kernel_manager()(kernel_name=name)
        client = NotebookClient(
            notebook,
            km=self.km,  # not the client's: it leaves the kernel running
            timeout=timeout,
            allow_errors=allow_errors,
            resources={"metadata": {"path": cwd}},
            record_timing=False,  # timings in the cells' metadata would change their hash
        )
        try:
            client.execute(cwd=cwd)  # cwd: where the kernel starts, the first time
        finally:
            if client.kc is not None:
                client.kc.stop_channels()

    def stop(self):
        if self.km is None:
            return
        from jupyter_core.utils import run_sync

        km, self.km = self.km, None
        try:
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=True)
        finally:
            run_sync(km.cleanup_resources)()


def _reset_notebook(page):
    """A one-cell notebook that empties the kernel's namespace."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%reset -f")])
    notebook.metadata = page.metadata
    return notebook


@contextmanager
def _environment(values: dict):
    """Set environment variables (which kernels started meanwhile inherit);
    restore them after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _local_socket_kernel_manager():
    """nbclient's kernel manager on local (IPC) sockets, each kernel's under a
    name of its own in the temporary folder (removed when the kernel stops)."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, default

    class LocalSocketKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @default("ip")
        def _unique_socket_prefix(self):
            return os.path.join(tempfile.gettempdir(), f"optnotes-kernel-{uuid.uuid4().hex[:12]}")

    return LocalSocketKernelManager


def _write_outputs_of_cached_page(app, doctree):
    """MyST-NB writes a page's notebook (_build/jupyter_execute/PAGE.ipynb, the
    reader's .ipynb download) without outputs when they came from the cache;
    write it again with them."""
    config = getattr(app.env, "mystnb_config", None)
    if config is None or config.execution_mode != "cache":
        return
    import nbformat
    from jupyter_cache import get_cache

    written = Path(config.output_folder, *f"{app.env.docname}.ipynb".split("/"))
    if not written.exists():  # not a notebook page
        return
    notebook = nbformat.read(written, as_version=4)
    try:
        _, notebook = get_cache(config.execution_cache_path).merge_match_into_notebook(notebook)
    except KeyError:  # not in the cache: MyST-NB executed it and wrote its outputs
        return
    written.write_text(nbformat.writes(notebook), encoding="utf-8")


def setup(app):
    """Sphinx extension entry point (after myst_nb, which sets the cache path)."""
    app.add_config_value("optnotes_fingerprint", "", "env")
    app.connect("config-inited", _set_fingerprint)
    app.connect("builder-inited", _empty_stale_cache, priority=900)
    app.connect("env-before-read-docs", _execute_in_parallel, priority=900)
    app.connect("doctree-read", _write_outputs_of_cached_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
