"""Every experiment in the book, by name.

A chapter shows one with ``experiments.make("momentum-ravine").show()``; the
tests drive each through its controls' extremes and ``python -m optnotes.bench
widgets`` times their updates, from this one registry.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from . import plots, problems, rules
from . import widgets as w
from .analysis import momentum_radius
from .plots import Path, PathFigure, trace

REGISTRY = {}


def experiment(name: str):
    """Register a function that builds an experiment under ``name``."""

    def register(build):
        REGISTRY[name] = build
        return build

    return register


def make(name: str) -> w.Experiment:
    if name not in REGISTRY:
        raise ValueError(f"no experiment named {name!r}; the book has {sorted(REGISTRY)}")
    return REGISTRY[name]()


@lru_cache(maxsize=32)
def problem_named(name: str, kappa: float = 20.0):
    """One instance per problem, so figures can keep their contour backgrounds."""
    if name == "ravine":
        return problems.ravine(kappa)
    return problems.PROBLEMS[name]()


def rule_named(name: str, **hyper):
    """A rule by class name, given only the hyperparameters it takes."""
    Rule = getattr(rules, name)
    fields = {f.name for f in dataclasses.fields(Rule)}
    return Rule(**{k: v for k, v in hyper.items() if k in fields})


# --- Chapter 1: the training loop and gradient descent ---------------------------


@experiment("gd-ravine")
def gd_ravine():
    view = PathFigure()

    def draw(lr, kappa, steps):
        problem = problem_named("ravine", round(kappa, 2))
        view.show_problem(problem)
        view.set_paths({"SGD": trace(rules.SGD(lr=lr), problem.grad, problem.start, steps)})
        return view

    controls = {"lr": w.lr(1.6, 1e-2, 3.0), "kappa": w.kappa(), "steps": w.steps(40)}
    return w.Experiment("gd-ravine", controls, draw)


@experiment("gd-landscapes")
def gd_landscapes():
    view = PathFigure()

    def draw(problem, lr, steps):
        p = problem_named(problem)
        view.show_problem(p)
        view.set_paths({"SGD": trace(rules.SGD(lr=lr), p.grad, p.start, steps)})
        return view

    controls = {"problem": w.problem("saddle"), "lr": w.lr(0.1, 1e-3, 1.0), "steps": w.steps(100)}
    return w.Experiment("gd-landscapes", controls, draw)


@experiment("sgd-batch-size")
def sgd_batch_size():
    view = PathFigure()
    problem = problems.LeastSquares()

    def draw(batch, lr, steps):
        view.show_problem(problem)
        full = trace(rules.SGD(lr=lr), problem.grad, problem.start, steps)
        oracle = problem.minibatch_oracle(batch_size=batch, seed=1)
        noisy = trace(rules.SGD(lr=lr), oracle, problem.start, steps)
        view.set_paths({"full batch": full, f"batch of {batch}": noisy})
        return view

    controls = {
        "batch": w.Int("batch size", 4, 1, problem.n),
        "lr": w.lr(0.2, 1e-3, 1.0),
        "steps": w.steps(100),
    }
    return w.Experiment("sgd-batch-size", controls, draw)


# --- Chapter 2: momentum ---------------------------------------------------------


@experiment("momentum-ravine")
def momentum_ravine():
    view = PathFigure()

    def draw(lr, mu, steps):
        p = problem_named("ravine", 50.0)
        view.show_problem(p)
        view.set_paths(
            {
                "SGD": trace(rules.SGD(lr=lr), p.grad, p.start, steps),
                "Momentum": trace(rules.Momentum(lr=lr, mu=mu), p.grad, p.start, steps),
            }
        )
        return view

    controls = {"lr": w.lr(0.5, 1e-3, 3.0), "mu": w.mu(0.8), "steps": w.steps(60)}
    return w.Experiment("momentum-ravine", controls, draw)


@experiment("momentum-rate-map")
def momentum_rate_map():
    fig, (ax,) = plots.new_figure(6.2, 4.4)
    # The map is an image on a grid uniform in log10(alpha): one raster, redrawn
    # in place (a mesh of 44,000 cells costs more than the 100 ms budget).
    log_alphas = np.linspace(np.log10(0.05), 1.0, 240)
    mus = np.linspace(0, 0.99, 200)
    A, MU = np.meshgrid(10**log_alphas, mus)
    extent = (log_alphas[0], log_alphas[-1], mus[0], mus[-1])
    image = ax.imshow(
        np.ones_like(A),
        extent=extent,
        origin="lower",
        aspect="auto",
        cmap="cividis",
        interpolation="nearest",
    )
    fig.colorbar(image, ax=ax, label="rate per step (white: diverges)")
    (star,) = ax.plot([], [], "*", ms=14, color=plots.VERMILLION, mec="white")
    gd = ax.axvline(0.0, color="0.3", ls=":", lw=1)
    label = ax.text(
        0.02,
        0.96,
        "",
        transform=ax.transAxes,
        va="top",
        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"},
    )
    ticks = [0.1, 0.3, 1, 3, 10]
    ax.set_xticks(np.log10(ticks), [f"{t:g}" for t in ticks])
    ax.set(xlabel="learning rate α (curvatures in [1/κ, 1])", ylabel="momentum μ")

    def draw(kappa):
        lam_min, lam_max = 1.0 / kappa, 1.0
        rate = np.maximum(momentum_radius(A * lam_min, MU), momentum_radius(A * lam_max, MU))
        shown = np.where(rate < 1, rate, np.nan)
        image.set_data(shown)
        image.set_clim(np.nanmin(shown), 1.0)
        a_star = (2 / (np.sqrt(lam_min) + np.sqrt(lam_max))) ** 2
        mu_star = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
        star.set_data([np.log10(a_star)], [mu_star])
        gd.set_xdata([np.log10(2 / (lam_min + lam_max))] * 2)
        label.set_text(f"best: α = {a_star:.3g}, μ = {mu_star:.3g}, rate {np.sqrt(mu_star):.4f}")
        ax.set_title(f"convergence rate of heavy-ball momentum, κ = {kappa:.3g}")
        return fig

    return w.Experiment("momentum-rate-map", {"kappa": w.kappa(100.0, 1.0, 1000.0)}, draw)


# --- Chapter 3: Nesterov ---------------------------------------------------------


@experiment("nesterov-vs-momentum")
def nesterov_vs_momentum():
    view = PathFigure()

    def draw(problem, lr, mu, steps):
        p = problem_named(problem)
        view.show_problem(p)
        paths: dict[str, Path] = {
            name: trace(rule_named(name, lr=lr, mu=mu), p.grad, p.start, steps)
            for name in ("Momentum", "Nesterov")
        }
        view.set_paths(paths)
        return view

    controls = {
        "problem": w.problem("ravine", ("ravine", "Rosenbrock", "Beale")),
        "lr": w.lr(0.6, 1e-4, 3.0),
        "mu": w.mu(0.9),
        "steps": w.steps(80),
    }
    return w.Experiment("nesterov-vs-momentum", controls, draw)
