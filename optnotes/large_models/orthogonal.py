"""What the chapter "Orthogonalised updates: Muon" computes and shows: the
Newton–Schulz polynomials against the iteration's measured singular values,
Muon against momentum and AdamW on a matrix least-squares problem and on the
digits network, and how far bfloat16 moves the update.

Numpy only; the rule is in ``optnotes.rules.orthogonal``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullLocator

from .. import _checks, plots, problems, rules
from .. import widgets as w
from ..rules.orthogonal import COEFFICIENTS, Muon, newton_schulz
from . import digits

CUBIC = (1.5, -0.5, 0.0)
"""The cubic Newton–Schulz step p(σ) = (3σ − σ³)/2 as coefficients (a, b, c)."""


def polynomial(sigma, coefficients=COEFFICIENTS, steps: int = 1) -> np.ndarray:
    """``steps`` applications of p(σ) = aσ + bσ³ + cσ⁵ to each value of ``sigma``."""
    a, b, c = coefficients
    sigma = np.asarray(sigma, dtype=float)
    for _ in range(_checks.whole("steps", steps)):
        sigma = a * sigma + b * sigma**3 + c * sigma**5
    return sigma


def band(lowest: float, steps: int = 5, coefficients=COEFFICIENTS, points: int = 200_001):
    """(min, max) of p^steps over [lowest, 1], on a grid of ``points`` values:
    where singular values at least ``lowest`` (after the division by the
    Frobenius norm) end."""
    values = polynomial(np.linspace(lowest, 1.0, points), coefficients, steps)
    return float(values.min()), float(values.max())


def ill_conditioned(shape=(24, 16), condition: float = 1e3, seed: int = 0) -> np.ndarray:
    """A random matrix with singular values spread evenly on a log scale from
    1 down to 1/condition, in random bases (seeded)."""
    rng = np.random.default_rng(seed)
    m, n = shape
    k = min(m, n)
    U, _ = np.linalg.qr(rng.normal(size=(m, k)))
    V, _ = np.linalg.qr(rng.normal(size=(n, k)))
    return U @ np.diag(np.geomspace(1.0, 1.0 / condition, k)) @ V.T


def normalised_singular_values(G) -> np.ndarray:
    """The singular values of G / ||G||_F, largest first."""
    s = np.linalg.svd(G, compute_uv=False)
    return s / np.linalg.norm(s)


def singular_values_after(G, steps: int, coefficients=COEFFICIENTS) -> np.ndarray:
    """What ``newton_schulz(G, steps, coefficients)`` made of each singular value
    of G, in G's order: the diagonal of U^T Q V, with G = U S V^T and Q the
    iteration's result (the iteration keeps U and V, so U^T Q V is diagonal)."""
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    return np.diag(U.T @ newton_schulz(G, steps, coefficients) @ Vt.T)


# --- bfloat16 ----------------------------------------------------------------------


def bfloat16(x) -> np.ndarray:
    """Round to bfloat16 (the top 16 bits of a float32, rounded to nearest,
    ties to even), returned as float32: what ``tensor.bfloat16()`` keeps."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32)


def newton_schulz_bfloat16(G, steps: int = 5, coefficients=COEFFICIENTS, eps: float = 1e-7):
    """The iteration in bfloat16, emulated as PyTorch's ``Muon`` computes it:
    every product and sum computed in float32 and rounded to bfloat16. Not
    PyTorch's result bit for bit in general: PyTorch may sum inside a product
    in another order, and the iteration amplifies one differently rounded
    entry (tests/test_orthogonal.py measures both)."""
    a, b, c = coefficients
    G = np.asarray(G, dtype=np.float64)
    tall = G.shape[0] > G.shape[1]
    X = bfloat16(G.T if tall else G)
    X = bfloat16(X / max(float(bfloat16(np.linalg.norm(X))), eps))
    for _ in range(steps):
        A = bfloat16(X @ X.T)
        B = bfloat16(np.float32(b) * A + np.float32(c) * (A @ A))
        X = bfloat16(np.float32(a) * X + B @ X)
    X = X.astype(np.float64)
    return X.T if tall else X


def bfloat16_deviation(G, steps: int = 5) -> float:
    """||NS_bf16(G) - NS(G)||_F / ||NS(G)||_F: how far bfloat16 moves the update."""
    exact = newton_schulz(G, steps)
    return float(np.linalg.norm(newton_schulz_bfloat16(G, steps) - exact) / np.linalg.norm(exact))


# --- Muon on matrix least squares ----------------------------------------------------

LEAST_SQUARES = problems.MatrixLeastSquares((16, 12), condition=(30.0, 30.0), seed=0)
"""The chapter's matrix problem: 16 x 12, each side's condition number 30."""
TARGET = 1e-3
"""Steps until the loss is at most TARGET times its value at the start."""
MAX_STEPS = 1000
GRIDS = {
    "Muon": (0.02, 0.05, 0.1, 0.15, 0.2, 0.3),
    "Momentum": (2e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3),
    "AdamW": (0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
}
"""The rates tests/test_orthogonal.py tries for each rule on LEAST_SQUARES."""
RATES = {"Muon": 0.15, "Momentum": 2e-3, "AdamW": 0.5}
"""The best of GRIDS (fewest steps to the target), as the test finds."""


def least_squares_rule(name: str, lr: float):
    """The rules of the comparison, without weight decay (the minimum is not 0)."""
    return {
        "Muon": lambda: Muon(lr=lr, weight_decay=0.0),
        "Momentum": lambda: rules.Momentum(lr=lr, mu=0.9),
        "AdamW": lambda: rules.AdamW(lr=lr, weight_decay=0.0),
    }[name]()


def least_squares_run(rule, problem=LEAST_SQUARES, steps: int = MAX_STEPS, target=TARGET):
    """The loss relative to the start, per step (index 0 = the start), stopped
    at the target; and the step that reached it (None if none did)."""
    x, state = problem.start, rule.init(problem.start)
    first = problem.value(x)
    losses = [1.0]
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            try:
                x, state = rule.step(x, problem.grad, state)
            except FloatingPointError:
                return np.array(losses), None
            losses.append(problem.value(x) / first)
            if not np.isfinite(losses[-1]) or losses[-1] > 1e6:
                return np.array(losses), None
            if losses[-1] <= target:
                return np.array(losses), t
    return np.array(losses), None


def least_squares_figure(rates=RATES):
    """The relative loss against steps of each rule at its tuned rate; the legend
    gives the steps to the target."""
    fig, (ax,) = plots.new_figure(6.0, 3.4)
    reached = {}
    for i, (name, lr) in enumerate(rates.items()):
        losses, steps = least_squares_run(least_squares_rule(name, lr))
        reached[name] = steps
        ax.plot(losses, label=f"{name} (α = {lr:g}): {steps} steps", **plots.style(name, i))
    ax.axhline(TARGET, color="0.6", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss / loss at the start")
    ax.legend(loc="upper right")
    ax.set_title(f"{LEAST_SQUARES.shape[0]} x {LEAST_SQUARES.shape[1]} least squares")
    return fig, reached


# --- Muon on the digits network --------------------------------------------------------

DIGITS_STEPS = 200
DIGITS_SEEDS = (0, 1)
DIGITS_GRIDS = {
    "Muon": (0.01, 0.02, 0.05),
    "AdamW": (0.01, 0.02, 0.05),
    "Momentum": (0.05, 0.1, 0.2),
}
"""The rates tests/test_orthogonal.py tries on the network (Muon's vectors get
AdamW at AdamW's rate): each chosen rate and its neighbours on a 1-2-5 grid
(a wider sweep, 0.005 to 0.1 for Muon, 0.002 to 0.05 for AdamW, 0.02 to 0.5
for momentum, found the same rates; it costs too long for the tests)."""
DIGITS_RATES = {"Muon": 0.02, "AdamW": 0.02, "Momentum": 0.1}
"""The best of DIGITS_GRIDS (lowest median final loss over DIGITS_SEEDS)."""


def digits_rule(name: str, lr: float, adamw_lr: float = DIGITS_RATES["AdamW"]):
    """(rule on the weight matrices, rule on the biases) of the comparison:
    Muon's biases go to AdamW; each rule otherwise keeps its defaults."""
    return {
        "Muon": lambda: (Muon(lr=lr), rules.AdamW(lr=adamw_lr)),
        "AdamW": lambda: (rules.AdamW(lr=lr), None),
        "Momentum": lambda: (rules.Momentum(lr=lr, mu=0.9), None),
    }[name]()


def digits_curves(rates=DIGITS_RATES, steps=DIGITS_STEPS, seeds=DIGITS_SEEDS, every=40):
    """{label: [Curve per seed]} for digits.figure; the full training loss
    every ``every`` steps (each evaluation costs about as much as ten steps)."""
    curves = {}
    for name, lr in rates.items():
        rule, vectors = digits_rule(name, lr)
        label = f"{name} (α = {lr:g})"
        curves[label] = [digits.curve(rule, steps, seed, vectors, every) for seed in seeds]
    return curves


# --- Experiment: the Newton–Schulz steps -------------------------------------------------


def newton_schulz_experiment():
    """p^k on [0, 1] (log scale) for the cubic and the quintic, and the singular
    values that ``newton_schulz`` actually returns for an ill-conditioned
    24 x 16 matrix, plotted at their normalised input values."""
    G = ill_conditioned()
    before = normalised_singular_values(G)
    sigma = np.geomspace(1e-4, 1.0, 800)
    fig, axes = plots.new_figure(9.0, 3.4, ncols=2, sharey=True)
    drawn = []
    kinds = (("cubic", CUBIC), ("quintic", COEFFICIENTS))
    for ax, (name, coefficients) in zip(axes, kinds, strict=True):
        ax.axhline(1.0, color="0.7", lw=0.8)
        (curve,) = ax.plot(sigma, sigma, color=plots.BLUE, label="p applied k times")
        (dots,) = ax.plot(before, before, "o", ms=4, color=plots.VERMILLION,
                          label="newton_schulz(G, k)")  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlim(1e-4, 1.0)
        ax.set_ylim(0.0, 1.35)
        ax.set_xlabel("singular value of G / ||G||_F")
        ax.set_xticks([1e-4, 1e-3, 1e-2, 1e-1, 1.0], ["1e-4", "0.001", "0.01", "0.1", "1"])
        ax.xaxis.set_minor_locator(NullLocator())  # minor ticks cost half a redraw
        ax.set_yticks([0.0, 0.5, 1.0])
        drawn.append((ax, name, coefficients, curve, dots))
    axes[0].set_ylabel("singular value after k steps")
    axes[0].legend(loc="upper left")

    def draw(steps):
        for ax, name, coefficients, curve, dots in drawn:
            curve.set_ydata(polynomial(sigma, coefficients, steps))
            after = singular_values_after(G, steps, coefficients)
            dots.set_ydata(after)
            ax.set_title(f"{name}, k = {steps}: measured in [{after.min():.2f}, {after.max():.2f}]")
        return fig

    controls = {"steps": w.Int("Newton–Schulz steps k", 5, 1, 8)}
    return w.Experiment("muon-newton-schulz", controls, draw, static=("steps",))


EXPERIMENTS = {"muon-newton-schulz": newton_schulz_experiment}
