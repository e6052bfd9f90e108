"""What the chapter "Training without a schedule" computes and shows: the three
sequences of Schedule-Free SGD on a noisy ravine, and Schedule-Free AdamW
against AdamW under a cosine and a warm-up-stable-decay schedule on the digits
network.

Numpy only; the rules are in ``optnotes.rules.schedule_free``. The rates of
the network comparison (``RATES``) are tuned in tests/test_schedule_free.py,
which asserts that each is the best of ``GRID`` by the same criterion.
"""

from __future__ import annotations

import numpy as np

from .. import rules
from .. import schedules as sch
from .. import widgets as w
from ..plots import Path, PathFigure
from ..rules.schedule_free import ScheduleFreeAdamW, ScheduleFreeSGD
from . import digits
from .sign import RAVINE, noisy

# --- The three sequences ---------------------------------------------------------


def sequences(rule, grad_fn, x0, steps: int):
    """Run a schedule-free ``rule``; return the arrays of x (what it returns,
    the average), z (its base iterate) and y (where it took each gradient),
    each with the start first. y is rebuilt as ``(1 - beta) z + beta x`` from
    the x and z before each step, as the rule does."""
    beta = getattr(rule, "beta", getattr(rule, "beta1", None))
    x = np.asarray(x0, dtype=float)
    state = rule.init(x)
    xs, zs, ys = [x], [state.z], []
    for _ in range(steps):
        ys.append((1 - beta) * state.z + beta * x)
        x, state = rule.step(x, grad_fn, state)
        xs.append(x)
        zs.append(state.z)
    ys.append((1 - beta) * state.z + beta * x)  # where the next gradient would be
    return np.array(xs), np.array(zs), np.array(ys)


PATHS_LR, PATHS_NOISE, PATHS_STEPS = 0.05, 2.0, 200
"""The slider experiment's rate, gradient noise and steps (the ravine's start)."""


def paths_experiment():
    view = PathFigure()
    problem = RAVINE

    def draw(beta, steps):
        view.show_problem(problem)
        rule = ScheduleFreeSGD(lr=PATHS_LR, beta=beta)
        grad = noisy(problem.grad, PATHS_NOISE, seed=0)
        xs, zs, ys = sequences(rule, grad, problem.start, steps)
        view.set_paths(
            {
                "z: the base SGD iterate": Path(zs),
                "y: where the gradient is taken": Path(ys[:-1]),
                "x: the average, evaluated": Path(xs),
            }
        )
        return view

    controls = {
        "beta": w.Float("interpolation β", 0.9, 0.0, 1.0, step=0.1),
        "steps": w.steps(PATHS_STEPS, 1, PATHS_STEPS),
    }
    return w.Experiment("schedule-free-paths", controls, draw, static=("beta",))


def z_spread(beta: float, seed: int = 0, steps: int = PATHS_STEPS, last: int = 100):
    """The slider's run at ``beta``: how far z strays over the last ``last``
    steps (the root mean square distance from its mean there) and the mean
    loss at z over the last 50 steps."""
    rule = ScheduleFreeSGD(lr=PATHS_LR, beta=beta)
    grad = noisy(RAVINE.grad, PATHS_NOISE, seed=seed)
    _, zs, _ = sequences(rule, grad, RAVINE.start, steps)
    tail = zs[-last:]
    spread = float(np.sqrt(np.mean(np.sum((tail - tail.mean(axis=0)) ** 2, axis=1))))
    return spread, float(np.mean(RAVINE.value(zs[-50:].T)))


# --- On the digits network --------------------------------------------------------

STEPS = 120
"""The step budget of every run on the network."""
WARMUP = 12
"""Warm-up steps, the same for all three (a tenth of the budget)."""
SEEDS = (0, 1, 2)
GRID = (1e-2, 2e-2, 5e-2, 1e-1)
"""The rates tried for each method (tests/test_schedule_free.py)."""
RATES = {"ScheduleFreeAdamW": 5e-2, "AdamW, cosine": 2e-2, "AdamW, WSD": 2e-2}
"""The best rate of ``GRID`` for each method: the lowest median (over ``SEEDS``)
final training loss after ``STEPS`` steps, asserted by the tests."""


def makers(steps: int = STEPS, warmup: int = WARMUP):
    """For each method, a function of the peak rate that builds its rule: all
    three warm up over ``warmup`` steps; the cosine decays to 0 at ``steps``;
    warm-up-stable-decay holds the peak and decays linearly to 0 over the last
    fifth of the run."""
    decay = steps // 5

    def schedule_free(lr):
        return ScheduleFreeAdamW(lr=lr, warmup_steps=warmup, weight_decay=0.0)

    def cosine(lr):
        schedule = sch.linear_warmup(sch.cosine_decay(lr, steps - warmup), warmup)
        return rules.AdamW(lr=schedule, weight_decay=0.0)

    def wsd(lr):
        schedule = sch.warmup_stable_decay(lr, warmup, steps - warmup - decay, decay)
        return rules.AdamW(lr=schedule, weight_decay=0.0)

    return {"ScheduleFreeAdamW": schedule_free, "AdamW, cosine": cosine, "AdamW, WSD": wsd}


def comparison(rates=None, steps: int = STEPS, seeds=SEEDS, every: int = 20):
    """Each method at its rate (``RATES``), every seed: {label: [Curve, ...]}."""
    rates = RATES if rates is None else rates
    return {
        label: [digits.curve(make(rates[label]), steps, seed, every=every) for seed in seeds]
        for label, make in makers(steps).items()
    }


def final_losses(curves: dict) -> dict:
    """The median over seeds of each method's final training loss."""
    return {label: float(np.median([c.loss[-1] for c in runs])) for label, runs in curves.items()}


def lowest_at(curves: dict, label: str) -> list[int]:
    """The sampled steps (after the start) at which ``label``'s median loss
    over the seeds is the lowest of all the methods in ``curves``."""
    steps = next(iter(curves.values()))[0].steps
    medians = {name: np.median([c.loss for c in runs], axis=0) for name, runs in curves.items()}
    best = np.argmin(np.array(list(medians.values())), axis=0)
    index = list(medians).index(label)
    return [int(s) for s, b in zip(steps, best, strict=True) if s > 0 and b == index]


EXPERIMENTS = {"schedule-free-paths": paths_experiment}
