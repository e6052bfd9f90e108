"""Benchmarks (not tests): ``python -m optnotes.bench rules|widgets``.

``rules``: for every rule, the median time of one step on a 2-parameter
problem (µs) and on 10⁶ parameters (ms), and the bytes of state it keeps for
10⁶ float64 parameters, measured from the state ``init`` returns.

``widgets``: for every experiment in the book, the time of ``update`` (compute
and render the PNG the reader sees) as its controls move one at a time through
their ends and defaults; the median per experiment, and last the line
``widget update latency: median of the slowest experiment N ms (NAME)``.

``build``: the wall time of a clean build of the whole book (``jupyter-book
build`` with warnings as errors, every page executed) and of a rebuild with
nothing changed (the execution cache and Sphinx's environment kept), into a
temporary folder, so the book's own ``_build`` is left as it is.
"""

from __future__ import annotations

import argparse
import os
import platform
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
from .rules import ALL_RULES


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


def bench_rules(big: int = 1_000_000, repeats: int = 5, steps: int = 1000) -> list[dict]:
    small_problem = problems.ravine()
    small_x0 = np.array(small_problem.start)
    rng = np.random.default_rng(0)
    big_x0 = rng.normal(size=big)
    curvature = rng.uniform(0.1, 1.0, size=big)

    def big_grad(x):
        return curvature * x  # a diagonal quadratic: one multiply per parameter

    rows = []
    for Rule in ALL_RULES:
        rule = Rule()
        rows.append(
            {
                "rule": Rule.__name__,
                "small_us": 1e6
                * _median_seconds(rule, small_problem.grad, small_x0, repeats, steps),
                "big_ms": 1e3 * _median_seconds(rule, big_grad, big_x0, 3, 3),
                "state_bytes": state_bytes(rule, big_x0),
                "buffers": len(rule.buffers),
            }
        )
    return rows


def print_rules(rows, big: int = 1_000_000) -> None:
    print(f"machine: {machine()}")
    print(f"state for {big:,} float64 parameters ({8 * big / 2**20:.1f} MiB each buffer)")
    header = ("rule", "µs/step (2 params)", "ms/step (1e6)", "state MiB", "×params")
    print(f"{header[0]:<16}{header[1]:>20}{header[2]:>15}{header[3]:>11}{header[4]:>9}")
    for r in rows:
        print(
            f"{r['rule']:<16}{r['small_us']:>20.1f}{r['big_ms']:>15.2f}"
            f"{r['state_bytes'] / 2**20:>11.1f}{r['buffers']:>9d}"
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m optnotes.bench", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("rules", help="time per step and state memory of every rule")
    sub.add_parser("widgets", help="update latency of every experiment in the book")
    build = sub.add_parser("build", help="clean build and no-change rebuild of the book")
    build.add_argument("--book", default=".", help="the folder holding _config.yml")
    args = parser.parse_args(argv)
    if args.what == "rules":
        print_rules(bench_rules())
    elif args.what == "widgets":
        print_widgets(bench_widgets())
    else:
        print(f"machine: {machine()}")
        for name, seconds in bench_build(args.book).items():
            print(f"{name}: {seconds:.1f} s")


if __name__ == "__main__":
    main()
