"""Benchmarks (not tests): ``python -m optnotes.bench rules|widgets``.

``rules``: for every rule, the median time of one step on a 2-parameter
problem (µs) and on 10⁶ parameters (ms), and the bytes of state it keeps for
10⁶ float64 parameters, measured from the state ``init`` returns.

``widgets``: for every experiment in the book, the time of ``update`` (compute
and render the PNG the reader sees) as its controls move one at a time through
their ends and defaults; the median per experiment, and last the line
``widget update latency: median of the slowest experiment N ms (NAME)``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

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


def bench_rules(big: int = 1_000_000) -> list[dict]:
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
                "small_us": 1e6 * _median_seconds(rule, small_problem.grad, small_x0, 7, 2000),
                "big_ms": 1e3 * _median_seconds(rule, big_grad, big_x0, 5, 5),
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m optnotes.bench", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("rules", help="time per step and state memory of every rule")
    sub.add_parser("widgets", help="update latency of every experiment in the book")
    args = parser.parse_args(argv)
    if args.what == "rules":
        print_rules(bench_rules())
    else:
        print_widgets(bench_widgets())


if __name__ == "__main__":
    main()
