"""What the chapter "Sign methods" computes and shows: the sign step's fixed
length, the size of an update per coordinate, and Lion against AdamW.

Numpy only; the rules are in ``optnotes.rules.sign``.
"""

from __future__ import annotations

import numpy as np

from .. import _checks, problems, rules
from .. import widgets as w
from ..plots import PathFigure, trace
from ..rules.sign import Lion, SignSGD, Signum

RAVINE = problems.ravine(20.0)
"""The chapter's 2-D problem: the ravine of the first chapters (κ = 20)."""


def noisy(grad_fn, noise: float, seed: int = 0, block: int = 256):
    """``grad_fn`` plus independent Gaussian noise of standard deviation ``noise``
    on every coordinate, seeded: each call of the returned function adds the next
    draw (drawn ``block`` at a time, which is faster and gives the same numbers)."""
    noise = _checks.non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    drawn: list = []

    def grad(x):
        if not drawn:
            drawn.extend(rng.normal(size=(block, *np.shape(x)))[::-1])
        return grad_fn(x) + noise * drawn.pop()

    return grad


def update_rms(xs: np.ndarray, lr: float) -> np.ndarray:
    """Per step, the root mean square over the coordinates of the update, in units
    of the rate: ``sqrt(mean((x_{t+1} - x_t)^2)) / lr``."""
    xs = np.asarray(xs, dtype=float)
    steps = np.diff(xs.reshape(len(xs), -1), axis=0)
    return np.sqrt(np.mean(steps**2, axis=1)) / lr


def adam_gradient_scale(rule, grad_fn, x0, steps: int):
    """Run an Adam-family ``rule`` (state ``(t, m, v)``, bias-corrected) for ``steps``
    steps; return the iterates and, per step, the root mean square over the
    coordinates of ``g / sqrt(v_hat)``: the new gradient in units of the scale
    that ``v_hat``, the long average of past squares, still holds."""
    x = np.asarray(x0, dtype=float)
    state = rule.init(x)
    xs, scale = [x], []
    for _ in range(steps):
        g = grad_fn(x)
        x, state = rule.step(x, lambda _x, g=g: g, state)
        v_hat = state.v / (1 - rule.beta2**state.t)
        scale.append(np.sqrt(np.mean(g**2 / v_hat)))
        xs.append(x)
    return np.array(xs), np.array(scale)


def distance_at_the_end(xs: np.ndarray, minimum, last: int = 50) -> float:
    """The largest distance from ``minimum`` over the last ``last`` iterates."""
    xs = np.asarray(xs, dtype=float)
    return float(np.max(np.linalg.norm(xs[-last:] - np.asarray(minimum), axis=1)))


def network_update_rms(rule, network, data, steps: int, batch_size: int = 32, seed: int = 0):
    """Train ``network`` with ``rule`` for ``steps`` minibatch steps from its seeded
    start; return ``update_rms`` of every step (the rate is ``rule.lr``)."""
    X, y, _, _ = data
    grad_fn = network.minibatch_oracle(X, y, batch_size, seed)
    x = network.init(seed)
    state = rule.init(x)
    xs = [x]
    for _ in range(steps):
        x, state = rule.step(x, grad_fn, state)
        xs.append(x)
    return update_rms(np.array(xs), rule.lr)


# --- Experiments -----------------------------------------------------------------


def sign_step_experiment():
    view = PathFigure()
    problem = RAVINE

    def draw(lr, steps):
        view.show_problem(problem)
        runs = {
            "SGD": rules.SGD(lr=lr),
            "signSGD": SignSGD(lr=lr),
            "Signum (β = 0.9)": Signum(lr=lr, beta=0.9),
        }
        view.set_paths(
            {name: trace(r, problem.grad, problem.start, steps) for name, r in runs.items()}
        )
        return view

    controls = {"lr": w.lr(0.1, 0.01, 1.0), "steps": w.steps(120, 1, 300)}
    return w.Experiment("sign-step", controls, draw, static=("lr",))


def lion_adamw_experiment():
    view = PathFigure(with_loss=False)  # the paths, and each run's step in its label
    problem = RAVINE
    lr, decay, k = 0.1, 1e-2, 5

    def draw(noise, steps):
        view.show_problem(problem)
        runs = {
            "AdamW (α, λ": rules.AdamW(lr=lr, weight_decay=decay),
            "Lion (α, λ": Lion(lr=lr, weight_decay=decay),
            # a label of its own: "Lion" alone would take Lion's colour
            f"Lion/{k} (α/{k}, {k}λ": Lion(lr=lr / k, weight_decay=k * decay),
        }
        paths = {}
        for name, rule in runs.items():
            path = trace(rule, noisy(problem.grad, noise), problem.start, steps)
            late = update_rms(path.xs[len(path.xs) // 2 :], lr)  # in AdamW's α
            size = f"{np.mean(late):.2f}α" if len(late) else "-"
            paths[f"{name}; RMS step {size})"] = path
        view.set_paths(paths)
        return view

    controls = {
        "noise": w.Float("gradient noise σ", 1.0, 0.0, 3.0),
        "steps": w.steps(150, 1, 300),
    }
    return w.Experiment("lion-adamw", controls, draw, static=("noise",))


EXPERIMENTS = {"sign-step": sign_step_experiment, "lion-adamw": lion_adamw_experiment}
