"""The optimizer race: every rule on the same problems, each with a tuned learning rate.

Tuning is a small, stated search: for every rule and problem, the learning
rates in ``LEARNING_RATES`` are tried for ``STEPS`` steps from the problem's
start, and the one with the lowest final loss wins (a run that diverges
loses; ties go to the smaller rate). Every other hyperparameter is the rule's
default, AdamW's weight decay 10⁻² included, so AdamW's runs are pulled
towards 0 as well as towards the minimum. Everything is deterministic: the
same call gives the same numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import plots, rules
from .experiments import problem_named
from .plots import Path, trace
from .trajectory import BLOW_UP

PROBLEMS = ("ravine", "Rosenbrock", "Beale", "saddle")
OTHER_STARTS = {  # a second start per problem, for the reader to try the tuned rates elsewhere
    "ravine": (-1.0, 2.4),
    "Rosenbrock": (-1.5, 2.5),
    "Beale": (-2.0, -2.0),
    "saddle": (-2.0, 0.5),
}
LEARNING_RATES = tuple(float(a) for a in np.geomspace(1e-4, 3.0, 16))
STEPS = 300


def final_gap(problem, path: Path) -> float:
    """f(x_T) − f* at the end of a run, or infinity if it diverged."""
    if path.diverged is not None:
        return float("inf")
    return float(problem.value(path.xs[-1]) - plots.lowest_value(problem))


def run_rule(name: str, problem, lr: float, steps: int = STEPS, start=None) -> Path:
    Rule = getattr(rules, name)
    return trace(Rule(lr=lr), problem.grad, problem.start if start is None else start, steps)


@lru_cache(maxsize=8)
def tuned(problem_name: str) -> dict[str, tuple[float, float]]:
    """For every rule: (best learning rate, final f − f*) on the problem."""
    problem = problem_named(problem_name)
    best = {}
    for Rule in rules.ALL_RULES:
        gaps = final_gaps(Rule.__name__, problem)
        gap, lr = min(zip(gaps, LEARNING_RATES, strict=True))
        best[Rule.__name__] = (lr, gap)
    return best


def final_gaps(
    name: str, problem, steps: int = STEPS, rates=LEARNING_RATES, f_star=None
) -> list[float]:
    """f(x_T) − f* for every rate of ``rates`` (infinity where the run
    diverged), as ``final_gap(problem, run_rule(...))`` gives, rate by rate;
    ``f_star`` is the problem's lowest value (found by ``plots.lowest_value``
    if None).

    The runs go side by side, one rate per column along a last axis (the rules
    treat each entry alone), with each column's gradient and loss computed on
    its own, so that every number is the one a run alone gives: a run that
    passes ``BLOW_UP`` is marked diverged and restarted, so that it cannot
    overflow the others. Should a step still overflow, the runs are made one by
    one instead.
    """
    rates = np.array(rates)
    f_star = plots.lowest_value(problem) if f_star is None else f_star
    start = np.array(problem.start, dtype=float)
    x = np.repeat(start[..., None], len(rates), axis=-1)
    rule = getattr(rules, name)(lr=rates)
    state = rule.init(x)
    one_run = tuple(range(start.ndim))

    def grad(x):  # column by column: as a run alone computes it, to the last bit
        return np.stack([problem.grad(x[..., k]) for k in range(len(rates))], axis=-1)

    def gap(x) -> float:
        return float(problem.value(x) - f_star)

    diverged = np.zeros(len(rates), dtype=bool)
    try:
        with np.errstate(all="ignore"):
            for _ in range(steps):
                x, state = rule.step(x, grad, state)
                blew_up = np.abs(x).max(axis=one_run) > BLOW_UP
                if blew_up.any():
                    diverged |= blew_up
                    x, state = _restart(x, state, start, blew_up)
    except FloatingPointError:
        runs = (run_rule(name, problem, lr, steps) for lr in rates)
        return [float("inf") if r.diverged is not None else gap(r.xs[-1]) for r in runs]
    gaps = [gap(x[..., k]) for k in range(len(rates))]
    return [float("inf") if d else g for d, g in zip(diverged, gaps, strict=True)]


def _restart(x, state, start, columns):
    """The runs in ``columns`` back at the start with empty buffers."""
    x = np.where(columns, start[..., None], x)
    buffers = [np.where(columns, 0.0, b) for b in state[1:]]
    return x, type(state)(state.t, *buffers)


def spread(best: dict) -> dict[str, float]:
    """Per rule, its largest tuned rate over the problems divided by its smallest;
    ``best`` maps a problem to the dict ``tuned`` returns."""
    names = next(iter(best.values())).keys()
    rates = {name: [best[p][name][0] for p in best] for name in names}
    return {name: max(r) / min(r) for name, r in rates.items()}


def at_grid_edge(best: dict) -> dict[str, list[str]]:
    """Per rule, the problems on which its tuned rate is the largest in the grid
    (so it might have liked a larger one); rules with none are left out."""
    top = max(LEARNING_RATES)
    names = next(iter(best.values())).keys()
    edge = {name: [p for p in best if best[p][name][0] == top] for name in names}
    return {name: problems for name, problems in edge.items() if problems}


def race(problem_name: str, names, steps: int = STEPS, start=None) -> dict[str, Path]:
    """Paths of the named rules, each at its tuned learning rate (tuned from the
    standard start), from ``start`` (the standard one if None)."""
    known = [Rule.__name__ for Rule in rules.ALL_RULES]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"no rule named {', '.join(map(repr, unknown))}: choose from {', '.join(known)}"
        )
    start = None if start is None else tuple(float(s) for s in start)
    return {name: _tuned_run(problem_name, name, steps, start) for name in names}


@lru_cache(maxsize=512)
def _tuned_run(problem_name: str, name: str, steps: int, start) -> Path:
    lr = tuned(problem_name)[name][0]
    return run_rule(name, problem_named(problem_name), lr, steps, start)


@dataclass(frozen=True)
class Animation:
    """The race as an animation. In a web page or a notebook it is HTML that
    plays with no kernel (matplotlib's JavaScript player, the frames embedded
    as images); where nothing can play (the PDF), it is its last frame."""

    html: str
    last_frame: bytes  # PNG

    def _repr_html_(self) -> str:
        return self.html

    def _repr_png_(self) -> bytes:
        return self.last_frame


def animation(problem_name: str, names, frames: int = 20, steps: int = STEPS) -> Animation:
    """The race of ``names`` on a problem, ``frames`` frames over ``steps`` steps."""
    import matplotlib
    from matplotlib.animation import FuncAnimation

    problem = problem_named(problem_name)
    paths = race(problem_name, names, steps)
    view = plots.PathFigure(with_loss=False, width=9.0, height=4.4)
    view.show_problem(problem)
    view.figure.set_dpi(60)
    lines = {}
    for i, name in enumerate(names):
        (lines[name],) = view.ax.plot([], [], lw=1.6, label=name, **plots.style(name, i))
    view.ax.legend(loc="upper right", fontsize=7)
    shown = np.linspace(1, steps + 1, frames).astype(int)

    def frame(k):
        for name, line in lines.items():
            xs = paths[name].xs[: shown[k]]
            line.set_data(xs[:, 0], xs[:, 1])
        view.ax.set_title(f"{problem.name}: step {shown[k] - 1}")
        return list(lines.values())

    player = FuncAnimation(view.figure, frame, frames=frames, interval=150, blit=False)
    # JPEG frames are a fifth of the size of PNG ones for the shaded background.
    with matplotlib.rc_context({"animation.frame_format": "jpeg"}):
        html = player.to_jshtml(default_mode="once")
    # The player's icons are Font Awesome, which the book's theme and Jupyter's
    # classic notebook both bring: drop matplotlib's link to a CDN copy.
    html = re.sub(r'<link rel="stylesheet"[^>]*font-awesome[^>]*>\s*', "", html)
    frame(frames - 1)
    view.figure.set_dpi(100)
    return Animation(html, plots.png(view.figure))


# --- The rules of large models, on a matrix ------------------------------------------

MATRIX_PROBLEM = {"shape": (12, 8), "condition": (100.0, 100.0), "seed": 0}
"""The matrix race's problem: least squares in a 12 x 8 weight matrix whose
Hessian is a Kronecker product, condition number 10^4 (100 on each side)."""
MATRIX_RATES = tuple(float(a) for a in np.geomspace(1e-5, 3.0, 12))
MATRIX_STEPS = 200


def matrix_rules() -> tuple:
    """Every rule of the book with a learning rate: the classical ones, those of
    large models and those for matrices only."""
    return (*rules.ALL_RULES, *rules.LARGE_MODEL_RULES, *rules.MATRIX_RULES)


def matrix_problem():
    from .problems import MatrixLeastSquares

    return MatrixLeastSquares(**MATRIX_PROBLEM)


def _side_by_side(Rule) -> bool:
    """Whether the rule treats each entry alone, so that several rates can run as
    columns (the layer-wise, factored, matrix and schedule-free rules cannot)."""
    entrywise = (rules.SignSGD, rules.Signum, rules.Lion)
    return Rule in rules.ALL_RULES or Rule in entrywise


@lru_cache(maxsize=1)
def matrix_tuned() -> dict[str, tuple[float, float]]:
    """For every rule of :func:`matrix_rules`: (best learning rate of
    ``MATRIX_RATES``, f(W_T) / f(W_0) after ``MATRIX_STEPS`` steps) on
    :func:`matrix_problem`, whose minimum value is 0. A run that diverges
    scores infinity; ties go to the smaller rate."""
    problem = matrix_problem()
    f0 = problem.value(problem.start)
    best = {}
    for Rule in matrix_rules():
        name = Rule.__name__
        if _side_by_side(Rule):
            gaps = final_gaps(name, problem, MATRIX_STEPS, MATRIX_RATES, f_star=0.0)
        else:
            runs = (run_rule(name, problem, lr, MATRIX_STEPS) for lr in MATRIX_RATES)
            gaps = [
                float("inf") if r.diverged is not None else problem.value(r.xs[-1]) for r in runs
            ]
        gap, lr = min(zip(gaps, MATRIX_RATES, strict=True))
        best[name] = (lr, gap / f0)
    return best
