r"""What the chapter "Adafactor" shows: the experiment ``adafactor-decay``.

Factored and full-:math:`\hat V` Adafactor, and Adam as a reference, on the
chapter's setting (``MatrixLeastSquares`` 16 × 12, condition 30 × 30, seed 0,
started at a seeded random matrix), with a slider over the decay exponent c of
:math:`\hat\beta_2 = 1 - t^{-c}`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import plots, problems
from .. import widgets as w
from ..rules.adam import Adam
from ..rules.factored import Adafactor

STEPS = 300
"""The chapter's short horizon."""


@lru_cache(maxsize=1)
def setting():
    """The chapter's problem (seed 0) and start."""
    problem = problems.MatrixLeastSquares((16, 12), (30.0, 30.0), seed=0)
    return problem, np.random.default_rng(100).normal(size=problem.shape)


def losses(rule, steps: int = STEPS) -> np.ndarray:
    """f at steps 0 to ``steps`` of ``rule`` from the chapter's start."""
    problem, W = setting()
    state, f = rule.init(W), [problem.value(W)]
    for _ in range(steps):
        W, state = rule.step(W, problem.grad, state)
        f.append(problem.value(W))
    return np.array(f)


@lru_cache(maxsize=32)
def decay_runs(c: float) -> dict[str, np.ndarray]:
    """Factored and full-V Adafactor with decay exponent ``c`` (cached: a grid
    value costs one pair of runs)."""
    return {
        "Adafactor, factored": losses(Adafactor(decay_exponent=c)),
        "Adafactor, full V": losses(Adafactor(decay_exponent=c, factored=False)),
    }


def decay_experiment():
    fig, (ax,) = plots.new_figure(7.0, 3.2)
    live = plots.LiveFigure(fig)
    ax.set(yscale="log", ylim=(100, 2e4), xlim=(0, STEPS), xlabel="step t", ylabel="f(W)")
    plots.plain_log_ticks(ax.yaxis)
    adam = losses(Adam(lr=1e-2))
    ax.plot(adam, label="Adam, lr 1e-2", **plots.style("Adam"))
    dotted = {"linestyle": ":"}
    names = ("Adafactor, factored", "Adafactor, full V")
    curves = {
        n: ax.plot([], [], label=n, **(plots.style(n) | (dotted if "full" in n else {})))[0]
        for n in names
    }
    ax.legend(loc="upper right", fontsize=8)
    title = ax.set_title("")
    live.animate(*curves.values(), title)
    t = np.arange(STEPS + 1)

    def draw(c):
        runs = decay_runs(c)
        for n in names:
            curves[n].set_data(t, runs[n])
        fact, full = (runs[n][-1] for n in names)
        title.set_text(
            f"c = {c:.3g}: f at step {STEPS}, factored {fact:.0f}, full V {full:.0f} "
            f"(Adam {adam[-1]:.0f})"
        )
        return live

    controls = {"c": w.Float("decay exponent c", 0.8, 0.3, 1.0, step=0.01)}
    return w.Experiment("adafactor-decay", controls, draw, static=("c",))


EXPERIMENTS = {"adafactor-decay": decay_experiment}
