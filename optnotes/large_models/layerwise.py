r"""What the chapter "Large batches and layer-wise rates" computes and shows.

``layer_norms`` measures each block's weight and gradient norms on a network;
``TwoLayers`` is a two-block least-squares problem whose blocks differ in scale
a hundredfold, cheap enough to run every rule at every batch size; the
experiment ``layerwise-batch`` compares SGD and Adam with LARS and LAMB (through
``ByLayer``) at a fixed budget of samples, every rule's rate scaled linearly
with the batch; ``tuned_finals`` tries a grid of peak rates at one batch size.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import plots, problems, rules, schedules
from .. import widgets as w
from ..layers import ByLayer
from ..rules.layerwise import LAMB, LARS

# --- the norms of a network's layers ----------------------------------------------


def layer_norms(net, w, X, y) -> dict[str, tuple[float, float]]:
    """For each block of ``net`` at ``w``: (‖w‖, ‖g‖), g the gradient of the loss
    on (X, y)."""
    g = net.loss_and_grad(w, X, y)[1]
    weights, grads = net.named(w), net.named(g)
    return {
        k: (float(np.linalg.norm(weights[k])), float(np.linalg.norm(grads[k]))) for k in weights
    }


def norms_figure(norms: dict[str, dict[str, tuple[float, float]]]):
    """Bars of ‖w‖, ‖g‖ and ‖w‖/‖g‖ per block, one colour per moment of training
    (``norms`` maps a label such as "at the start" to ``layer_norms``'s dict)."""
    fig, axes = plots.new_figure(9.0, 3.0, ncols=3)
    titles = ("weight norm ||w||", "gradient norm ||g||", "ratio ||w|| / ||g||")
    for i, (label, blocks) in enumerate(norms.items()):
        names = list(blocks)
        at = np.arange(len(names)) + 0.4 * (i - (len(norms) - 1) / 2)
        values = np.array(list(blocks.values()))
        ratio = np.divide(
            values[:, 0], values[:, 1], out=np.zeros(len(names)), where=values[:, 1] > 0
        )
        for ax, heights in zip(axes, (values[:, 0], values[:, 1], ratio), strict=True):
            ax.bar(
                at,
                np.maximum(heights, 1e-12),
                width=0.4,
                label=label,
                color=plots.EXTRA_COLOURS[i + 1],
            )
            ax.set_xticks(np.arange(len(names)), names)
    for ax, title in zip(axes, titles, strict=True):
        ax.set_yscale("log")
        ax.set_ylim(bottom=1e-3)
        ax.set_title(title, fontsize=10)
        plots.plain_log_ticks(ax.yaxis)
    axes[0].legend(fontsize=8, loc="lower left")
    return fig


# --- two blocks a hundredfold apart --------------------------------------------------


class TwoLayers:
    r"""Two weight matrices, one loss: :math:`f(W_1, W_2) = s\, f_1(W_1) + f_2(W_2)`
    with :math:`f_1, f_2` ``MatrixLeastSquares`` (condition 10 × 10, seeded) and
    :math:`s` = ``scale``. The parameters are a dict of the two blocks, as
    ``ByLayer`` takes them; a minibatch of B samples is modelled by Gaussian
    noise of standard deviation :math:`\sigma/\sqrt B` on every entry of each
    block's gradient (times :math:`s` on the first)."""

    def __init__(self, scale: float = 100.0, noise: float = 4.0, seed: int = 0):
        self.scale, self.noise = scale, noise
        self.blocks = {
            "W1": problems.MatrixLeastSquares((8, 6), seed=seed),
            "W2": problems.MatrixLeastSquares((6, 4), seed=seed + 1),
        }
        rng = np.random.default_rng(seed + 2)
        self.start = {k: rng.normal(size=p.shape) for k, p in self.blocks.items()}

    def weight(self, name: str) -> float:
        return self.scale if name == "W1" else 1.0

    def value(self, params) -> float:
        return sum(self.weight(k) * p.value(params[k]) for k, p in self.blocks.items())

    def grad(self, params) -> dict[str, np.ndarray]:
        return {k: self.weight(k) * p.grad(params[k]) for k, p in self.blocks.items()}

    def oracle(self, batch: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        sd = self.noise / np.sqrt(batch)

        def grad_fn(params):
            return {
                k: self.weight(k) * (p.grad(params[k]) + sd * rng.normal(size=p.shape))
                for k, p in self.blocks.items()
            }

        return grad_fn


BATCHES = (16, 64, 256, 1024)
"""The batch sizes the experiment offers (B0 = 16 is the base)."""
SAMPLES = 4096
"""The budget: every run sees this many samples, in SAMPLES / B steps."""
BASE_RATES = {"SGD": 3.2e-4, "Adam": 0.32, "LARS": 0.32, "LAMB": 0.032}
"""Each rule's rate at B0 = 16 (chosen on a grid at B0; see tests/test_layerwise.py)."""
WARMUP = 0.05
"""The fraction of a run's steps spent warming up."""


def warmup_steps(steps: int) -> int:
    """``WARMUP`` of the steps, rounded down, at least one. A warm-up of one step
    is no warm-up: ``linear_warmup`` then gives the peak rate at the first step."""
    return max(int(WARMUP * steps), 1)


def scaled_rate(name: str, batch: int) -> float:
    """The linear scaling rule: the rule's base rate times B / B0."""
    return BASE_RATES[name] * batch / BATCHES[0]


def rate(name: str, batch: int, steps: int, peak: float | None = None):
    """The peak rate (by default ``scaled_rate``), reached by a linear ramp from
    zero over ``warmup_steps(steps)`` steps, then a linear decay to zero.

    Only the linear scaling is Goyal et al.'s (2017, §2.1); their warm-up
    (§2.2) ramps from the small-batch rate over five epochs and their decay is
    a step schedule. Here, with 16 or 4 steps, the warm-up is a single step
    at the peak rate: none at all."""
    peak = scaled_rate(name, batch) if peak is None else peak
    warm = warmup_steps(steps)
    return schedules.linear_warmup(schedules.polynomial_decay(peak, total=steps - warm), warm)


def make_rule(name: str, lr):
    if name == "SGD":
        return ByLayer(rules.Momentum(lr=lr, mu=0.9))
    if name == "Adam":
        return ByLayer(rules.Adam(lr=lr))
    if name == "LARS":
        return ByLayer(LARS(lr=lr, mu=0.9, trust_coefficient=0.01))
    return ByLayer(LAMB(lr=lr))


def run(
    problem: TwoLayers, name: str, batch: int, seed: int = 0, peak: float | None = None
) -> np.ndarray:
    """f after every step of a run of SAMPLES / batch steps (inf once it blows up,
    which means not finite or above a million times f at the start)."""
    steps = SAMPLES // batch
    rule = make_rule(name, rate(name, batch, steps, peak))
    grad_fn = problem.oracle(batch, seed)
    params, state = dict(problem.start), rule.init(problem.start)
    values = np.full(steps + 1, np.inf)
    values[0] = problem.value(params)
    with np.errstate(all="ignore"):
        for k in range(1, steps + 1):
            try:
                params, state = rule.step(params, grad_fn, state)
            except FloatingPointError:
                break
            values[k] = problem.value(params)
            if not np.isfinite(values[k]) or values[k] > 1e6 * values[0]:
                values[k] = np.inf
                break
    return values


NAMES = ("SGD", "Adam", "LARS", "LAMB")
COLOUR_INDEX = {"LARS": 4, "LAMB": 3}  # blue and green: SGD and Adam keep their own


def _style(name: str) -> dict:
    return plots.style(name, COLOUR_INDEX.get(name, 0))


@lru_cache(maxsize=1)
def all_runs() -> dict[tuple[str, int], np.ndarray]:
    """Every rule at every batch size, once (a few hundred milliseconds)."""
    problem = TwoLayers()
    return {(name, b): run(problem, name, b) for name in NAMES for b in BATCHES}


def final_values() -> dict[str, np.ndarray]:
    """Per rule, f at the end of the budget for each batch size (inf if it blew up)."""
    runs = all_runs()
    return {name: np.array([runs[name, b][-1] for b in BATCHES]) for name in NAMES}


def heavy_ball_limit(problem: TwoLayers, mu: float = 0.9) -> float:
    """The largest rate at which heavy ball (momentum mu) is stable on the
    stiffest block, 2 (1 + mu) / L with L that block's largest curvature."""
    L = max(
        problem.weight(k) * np.linalg.eigvalsh(p.hessian()).max() for k, p in problem.blocks.items()
    )
    return 2 * (1 + mu) / L


TUNING_GRID = np.logspace(-4, 2, 13)
"""Peak rates tried by ``tuned_finals``, as multiples of the scaled rate."""


@lru_cache(maxsize=1)
def tuned_finals(batch: int = BATCHES[-1]) -> dict[str, tuple[float, float]]:
    """Per rule at ``batch``: (best multiple of the scaled rate on TUNING_GRID,
    f after the budget at it). One seed; about a tenth of a second at B = 1024."""
    problem, best = TwoLayers(), {}
    for name in NAMES:
        scaled = scaled_rate(name, batch)
        finals = [run(problem, name, batch, peak=scaled * c)[-1] for c in TUNING_GRID]
        i = int(np.argmin(finals))
        best[name] = (float(TUNING_GRID[i]), float(finals[i]))
    return best


def batch_experiment():
    fig, (curve_ax, end_ax) = plots.new_figure(9.0, 3.4, ncols=2)
    live = plots.LiveFigure(fig)
    curve_ax.set(
        yscale="log", ylim=(1.0, 1e7), xlim=(0, SAMPLES), xlabel="samples seen", ylabel="f"
    )
    end_ax.set(xscale="log", yscale="log", ylim=(1.0, 1e7), xlabel="batch size B")
    end_ax.set_title("f after the budget (x: blew up)", fontsize=10)
    for ax in (curve_ax, end_ax):
        plots.plain_log_ticks(ax.yaxis)
    curves = {n: curve_ax.plot([], [], label=n, **_style(n))[0] for n in NAMES}
    curve_ax.legend(fontsize=8, loc="upper right")
    finals = final_values()
    for n in NAMES:
        ok = np.isfinite(finals[n])
        end_ax.plot(np.array(BATCHES)[ok], finals[n][ok], marker="o", **_style(n))
        end_ax.plot(
            np.array(BATCHES)[~ok], np.full((~ok).sum(), 3e6), "x", color=_style(n)["color"]
        )
    marker = end_ax.axvline(BATCHES[0], color="0.6", lw=1)
    title = curve_ax.set_title("", fontsize=10)
    live.animate(*curves.values(), marker, title)
    runs = all_runs()

    def draw(batch):
        for n in NAMES:
            values = runs[n, batch]
            ok = np.isfinite(values)
            curves[n].set_data(np.arange(len(values))[ok] * batch, values[ok])
        marker.set_xdata([batch, batch])
        title.set_text(f"B = {batch}: {SAMPLES // batch} steps")
        return live

    controls = {"batch": w.Choice("batch size", BATCHES[2], BATCHES)}
    return w.Experiment("layerwise-batch", controls, draw, static=("batch",))


EXPERIMENTS = {"layerwise-batch": batch_experiment}
