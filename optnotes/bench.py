"""Benchmarks (not tests): ``python -m optnotes.bench rules|widgets``.

``rules``: for every rule (the classical ones, the large-model ones, the matrix
rules and 8-bit Adam), the median time of one step on a 2-parameter problem
(µs; a 1 x 2 matrix for the rules that take matrices only) and on 10⁶
parameters held as a 1000 × 1000 matrix (ms; 3 runs of 10 steps), and the bytes of state it keeps
per parameter, measured from the state ``init`` returns for that matrix.

``widgets``: for every experiment in the book, the time of ``update`` (compute
and render the PNG the reader sees) as its controls move one at a time through
their ends and defaults; the median per experiment, and last the line
``widget update latency: median of the slowest experiment N ms (NAME)``.

``sliders``: the static pages' sliders (``optnotes.static_sliders``): for every
chapter, the weight of its page with the images it shows (every frame of its
sliders included) and, in headless Chromium (Playwright driving Debian's
``chromium``, the site served on localhost), the time from a key press on each
slider to the new frame painted; last the line ``static slider latency: slowest
N ms (PAGE)``. It builds the book into a temporary folder, or reads the build
in ``--built PATH`` (a ``--path-output`` folder).

``build``: the wall time of a clean build of the whole book (``jupyter-book
build`` with warnings as errors, every page executed) and of a rebuild with
nothing changed (the execution cache and Sphinx's environment kept), into a
temporary folder, so the book's own ``_build`` is left as it is.
"""

from __future__ import annotations

import argparse
import html
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import problems
from .analysis import state_bytes
from .rules import ALL_RULES, LARGE_MODEL_RULES, MATRIX_RULES, Adam, EightBit


def _median_seconds(rule, grad_fn, x0, repeats: int, steps: int) -> float:
    """Median over ``repeats`` timings of ``steps`` consecutive steps, per step."""
    timings = []
    x, state = x0, rule.init(x0)
    x, state = rule.step(x, grad_fn, state)  # warm up
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            x, state = rule.step(x, grad_fn, state)
        timings.append((time.perf_counter() - start) / steps)
    return statistics.median(timings)


def machine() -> str:
    """What the numbers were measured on."""
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


def every_rule() -> list:
    """Each rule of the book with its defaults, and Adam with 8-bit state."""
    rules = (*ALL_RULES, *LARGE_MODEL_RULES, *MATRIX_RULES)
    return [Rule() for Rule in rules] + [EightBit(Adam())]


def rule_name(rule) -> str:
    """A rule's class name; a wrapper's with the rule it wraps: EightBit(Adam)."""
    inner = getattr(rule, "rule", None)
    name = type(rule).__name__
    return f"{name}({type(inner).__name__})" if inner is not None else name


def bench_rules(
    big: int = 1_000_000,
    repeats: int = 5,
    steps: int = 1000,
    rules=None,
    big_repeats: int = 3,
    big_steps: int = 10,
) -> list[dict]:
    """Times and state of ``rules`` (rule objects; the classical rules with
    their defaults if not given). The 10⁶ parameters are a square matrix, so
    that a rule that factors a matrix (Adafactor) does. On it, each of the
    ``big_repeats`` timings covers ``big_steps`` steps: 10 take in a whole
    period of a rule that refreshes something every 10 steps (SOAP's
    eigenbasis, by default), so its average step includes its share of the
    refresh."""
    rules = [Rule() for Rule in ALL_RULES] if rules is None else rules
    small_problem = problems.ravine()
    small_x0 = np.array(small_problem.start)
    rng = np.random.default_rng(0)
    side = int(round(big**0.5))
    big_x0 = rng.normal(size=(side, side))
    curvature = rng.uniform(0.1, 1.0, size=(side, side))

    def big_grad(x):
        return curvature * x  # a diagonal quadratic: one multiply per parameter

    def small_matrix_grad(x):  # the same 2 parameters, held as a 1 x 2 matrix
        return small_problem.grad(x.ravel()).reshape(x.shape)

    rows = []
    for rule in rules:
        small = (small_problem.grad, small_x0)
        if _matrices_only(rule):
            small = (small_matrix_grad, small_x0.reshape(1, 2))
        rows.append(
            {
                "rule": rule_name(rule),
                "small_us": 1e6 * _median_seconds(rule, *small, repeats, steps),
                "big_ms": 1e3 * _median_seconds(rule, big_grad, big_x0, big_repeats, big_steps),
                "state_bytes": state_bytes(rule, big_x0),
                "bytes_per_parameter": state_bytes(rule, big_x0) / big_x0.size,
                "buffers": len(rule.buffers),
            }
        )
    return rows


def _matrices_only(rule) -> bool:
    """Whether ``rule`` refuses a vector (Shampoo, SOAP, Muon)."""
    try:
        rule.init(np.zeros(2))
    except ValueError:
        return True
    return False


def print_rules(rows, big: int = 1_000_000) -> None:
    print(f"machine: {machine()}")
    print(f"state for {big:,} float64 parameters ({8 * big / 2**20:.1f} MiB each buffer)")
    header = ("rule", "µs/step (2 params)", "ms/step (1e6)", "state MiB", "B/param")
    print(f"{header[0]:<16}{header[1]:>20}{header[2]:>15}{header[3]:>11}{header[4]:>9}")
    for r in rows:
        print(
            f"{r['rule']:<16}{r['small_us']:>20.1f}{r['big_ms']:>15.2f}"
            f"{r['state_bytes'] / 2**20:>11.1f}{r['bytes_per_parameter']:>9.3f}"
        )


def bench_widgets(rounds: int = 3) -> list[dict]:
    from . import experiments

    rows = []
    for name in experiments.REGISTRY:
        experiment = experiments.make(name)
        start = time.perf_counter()
        experiment.update()
        first = time.perf_counter() - start
        timings = []
        for _ in range(rounds):
            for key, control in experiment.controls.items():
                for value in control.extremes():
                    start = time.perf_counter()
                    experiment.update(**{key: value})
                    timings.append(time.perf_counter() - start)
            experiment.update(**{k: c.default for k, c in experiment.controls.items()})
        rows.append(
            {
                "name": name,
                "first_ms": 1e3 * first,
                "median_ms": 1e3 * statistics.median(timings),
                "max_ms": 1e3 * max(timings),
                "updates": len(timings),
            }
        )
    return rows


def print_widgets(rows) -> None:
    print(f"machine: {machine()}")
    header = ("experiment", "first draw ms", "median ms", "max ms", "updates")
    print(f"{header[0]:<24}{header[1]:>15}{header[2]:>11}{header[3]:>9}{header[4]:>9}")
    for r in rows:
        print(
            f"{r['name']:<24}{r['first_ms']:>15.0f}{r['median_ms']:>11.0f}"
            f"{r['max_ms']:>9.0f}{r['updates']:>9d}"
        )
    slowest = max(rows, key=lambda r: r["median_ms"])
    print(
        "widget update latency: median of the slowest experiment "
        f"{slowest['median_ms']:.0f} ms ({slowest['name']})"
    )


def bench_build(book: Path) -> dict:
    """Seconds for a clean build of the book and for a rebuild with nothing changed."""
    book = Path(book).resolve()
    if not (book / "_config.yml").exists():
        raise SystemExit(f"{book} holds no _config.yml: pass the book's folder with --book")
    jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    if jupyter_book is None:
        raise SystemExit("jupyter-book is not installed beside this Python: run `make book` once")
    out = Path(tempfile.mkdtemp(prefix="optnotes-build-"))
    command = [jupyter_book, "build", str(book), "--path-output", str(out), "-W", "-n"]
    command += ["--keep-going"]
    seconds = {}
    try:
        for name in ("clean", "no-change rebuild"):
            start = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True)
            seconds[name] = time.perf_counter() - start
            if result.returncode != 0:
                raise SystemExit(f"the {name} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return seconds


# --- The static pages' sliders --------------------------------------------------

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PAGE_WEIGHT_LIMIT = 5_000_000  # bytes: a chapter page with every image it shows


def static_experiments(notebook) -> list[dict]:
    """The static sliders of an executed page, in page order: each experiment's
    name, its sliders' labels and first index, and its frames' URLs as nested
    lists (indexed by the first slider, then the second)."""
    models = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})

    def model(reference: str) -> dict:
        return models[reference.removeprefix("IPY_MODEL_")]

    def frames(stack: dict):
        if stack["model_name"] == "HTMLModel":  # a frame: <figure><img src="URL" ...
            return html.unescape(re.search(r'<img src="([^"]+)"', stack["state"]["value"])[1])
        return [frames(model(child)) for child in stack["state"]["children"]]

    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None or view["model_id"] not in models:
                continue
            box = models[view["model_id"]]
            if "optnotes-static" not in box["state"].get("_dom_classes", []):
                continue
            *rows, stack = (model(child) for child in box["state"]["children"])
            sliders = [model(row["state"]["children"][1])["state"] for row in rows]
            found.append(
                {
                    "name": output["data"]["text/plain"].split(":")[0],
                    "labels": [slider["_options_labels"] for slider in sliders],
                    "index": [slider["index"] for slider in sliders],
                    "frames": frames(stack),
                }
            )
    return found


def frame_urls(experiment: dict) -> list[str]:
    def flatten(frames):
        return [frames] if isinstance(frames, str) else [u for f in frames for u in flatten(f)]

    return flatten(experiment["frames"])


def page_weight(html: Path, page: str, notebook) -> dict:
    """Bytes of a page's HTML, of the images it shows (every frame of its
    sliders) and of the scripts it loads from the site."""
    path = html / f"{page}.html"
    text = path.read_text()
    images = set(re.findall(r'<img[^>]+src="([^"]+)"', text))
    images |= {url for e in static_experiments(notebook) for url in frame_urls(e)}
    scripts = set(re.findall(r'<script[^>]+src="([^":]+)"', text))

    def size(urls) -> int:
        files = {(path.parent / url).resolve() for url in urls if not url.startswith("data:")}
        return sum(f.stat().st_size for f in files if f.is_file())

    return {"html": len(text.encode()), "images": size(images), "scripts": size(scripts)}


# Armed before a key press on a slider: resolves once the figure shown in the
# experiment's box has changed and is decoded, ready to paint, with the
# milliseconds since the key went down and the figure's URL.
ARM_MOVE = """(box) => {
  const root = document.querySelectorAll('.optnotes-static')[box];
  // The image not hidden by its Stack (it has no size until it has loaded).
  const shown = () => [...root.querySelectorAll('img')].find((img) => img.offsetParent !== null);
  const before = shown().getAttribute('src');
  window.optnotesMove = new Promise((resolve) => {
    setTimeout(() => resolve({ms: null, src: null}), 10000);  // no key press came
    document.addEventListener('keydown', () => {
      const start = performance.now();
      // Polled, not animation frames: headless Chromium stops producing
      // frames while nothing on the page changes.
      const poll = () => {
        const img = shown();
        const src = img ? img.getAttribute('src') : null;
        if (src !== before && img.complete && img.naturalWidth > 0) {
          img.decode().then(() => resolve({ms: performance.now() - start, src}));
        } else if (performance.now() - start > 5000) {
          resolve({ms: null, src});
        } else {
          setTimeout(poll, 1);
        }
      };
      poll();
    }, {capture: true, once: true});
  });
}"""


def slider_positions(first: int, count: int, positions: int = 3) -> list[int]:
    """Indices to move a slider through, each different from the one before:
    one step from ``first``, then the ends."""
    moves = [first + 1 if first + 1 < count else first - 1]
    while len(moves) < positions:
        moves.append(count - 1 if moves[-1] != count - 1 and len(moves) % 2 else 0)
        if moves[-1] == moves[-2]:
            moves[-1] = count - 1 if moves[-1] == 0 else 0
    return moves


def slider_key(current: int, target: int, count: int) -> str:
    """The key that moves a slider from ``current`` to ``target`` at once."""
    if target == current + 1:
        return "ArrowRight"
    if target == current - 1:
        return "ArrowLeft"
    if target in (0, count - 1):
        return "Home" if target == 0 else "End"
    raise ValueError(f"no single key moves a slider from {current} to {target}")


def move_slider(page, box: int, slider: int, key: str) -> dict:
    """Press ``key`` on a slider of the ``box``-th experiment; the time to the
    new figure painted (ms, None if it did not change), its URL, the readouts."""
    page.evaluate(ARM_MOVE, box)
    root = page.locator(".optnotes-static").nth(box)
    root.locator(".noUi-handle").nth(slider).press(key)
    moved = page.evaluate("() => window.optnotesMove")
    moved["readouts"] = root.locator(".widget-readout").all_inner_texts()
    return moved


def bench_sliders(built: Path | None = None) -> dict:
    import nbformat
    from playwright.sync_api import sync_playwright

    temporary = None
    if built is None:
        temporary = built = Path(tempfile.mkdtemp(prefix="optnotes-sliders-"))
        command = [str(Path(sys.executable).parent / "jupyter-book"), "build", "."]
        command += ["--path-output", str(built), "-W", "-n", "--keep-going"]
        subprocess.run(command, check=True, capture_output=True)
    html = built / "_build" / "html"
    executed = built / "_build" / "jupyter_execute"
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"]
        + ["--directory", str(html)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    weights, latencies = {}, {}
    try:
        base = "http://127.0.0.1:{}/".format(re.search(r"port (\d+)", server.stdout.readline())[1])
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu"],
            )
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            context.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort()
            )
            for notebook_path in sorted(executed.rglob("*.ipynb")):
                page_name = notebook_path.relative_to(executed).with_suffix("").as_posix()
                notebook = nbformat.read(notebook_path, as_version=4)
                shown = static_experiments(notebook)
                if not shown or not (html / f"{page_name}.html").exists():
                    continue
                weights[page_name] = page_weight(html, page_name, notebook)
                page = context.new_page()
                page.goto(f"{base}{page_name}.html", wait_until="load")
                handles = sum(len(e["labels"]) for e in shown)
                page.wait_for_function(
                    f"() => document.querySelectorAll('.optnotes-static .noUi-handle').length"
                    f" >= {handles}"
                )
                times = []
                for box, experiment in enumerate(shown):
                    for slider, labels in enumerate(experiment["labels"]):
                        current = experiment["index"][slider]
                        for target in slider_positions(current, len(labels)):
                            key = slider_key(current, target, len(labels))
                            times.append(move_slider(page, box, slider, key)["ms"])
                            current = target
                latencies[page_name] = times
                page.close()
            chromium.close()
    finally:
        server.terminate()
        server.wait()
        server.stdout.close()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    return {"weights": weights, "latencies": latencies}


def print_sliders(result) -> None:
    print(f"machine: {machine()}")
    header = ("page", "HTML kB", "images kB", "page+images MB", "scripts kB", "slowest ms")
    print(f"{header[0]:<24}" + "".join(f"{h:>16}" for h in header[1:]))
    for page, weight in result["weights"].items():
        times = [t for t in result["latencies"][page] if t is not None]
        total = (weight["html"] + weight["images"]) / 1e6
        slowest = f"{max(times):.0f}" if times else "-"
        print(
            f"{page:<24}{weight['html'] / 1e3:>16.0f}{weight['images'] / 1e3:>16.0f}"
            f"{total:>16.2f}{weight['scripts'] / 1e3:>16.0f}{slowest:>16}"
        )
    stuck = [page for page, times in result["latencies"].items() if None in times]
    if stuck:
        print(f"a slider did not change its figure on: {', '.join(stuck)}")
    worst = max(
        (
            (max(t for t in times if t is not None), page)
            for page, times in result["latencies"].items()
        ),
        default=(float("nan"), "-"),
    )
    print(f"static slider latency: slowest {worst[0]:.0f} ms ({worst[1]})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m optnotes.bench", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("rules", help="time per step and state memory of every rule")
    sub.add_parser("widgets", help="update latency of every experiment in the book")
    sliders = sub.add_parser("sliders", help="page weights and static slider latency")
    sliders.add_argument("--built", type=Path, help="a finished --path-output build to read")
    build = sub.add_parser("build", help="clean build and no-change rebuild of the book")
    build.add_argument("--book", default=".", help="the folder holding _config.yml")
    args = parser.parse_args(argv)
    if args.what == "rules":
        print_rules(bench_rules(rules=every_rule()))
    elif args.what == "widgets":
        print_widgets(bench_widgets())
    elif args.what == "sliders":
        print_sliders(bench_sliders(args.built))
    else:
        print(f"machine: {machine()}")
        for name, seconds in bench_build(args.book).items():
            print(f"{name}: {seconds:.1f} s")


if __name__ == "__main__":
    main()
