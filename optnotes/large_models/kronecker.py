r"""What the chapter "Matrix preconditioners: Shampoo and SOAP" computes and
shows: Gupta et al.'s Kronecker bound and how close it comes to tight, the
Vyas et al. connection between Shampoo and Adafactor, Shampoo's statistics
against K-FAC's on the digits network, and two experiments.

Numpy only; the rules are in ``optnotes.rules.kronecker``. Vectors are
row-major (``ravel``), so that :math:`(L \otimes R)\operatorname{vec} G =
\operatorname{vec}(L G R^\top)`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import plots, problems, rules
from .. import widgets as w
from ..rules.kronecker import SOAP, Shampoo, inverse_root
from ..rules.orthogonal import Muon
from . import digits


def sym_power(S: np.ndarray, p: float) -> np.ndarray:
    """:math:`S^p` of a symmetric positive semi-definite S (eigenvalues clipped
    at 0): the rule's own matrix power, with no epsilon."""
    return inverse_root(S, 0.0, -p)


# --- Gupta et al.'s bound ------------------------------------------------------


def bound_sides(Gs, eps: float, scale: float | None = None):
    r"""Both sides of Gupta et al.'s bound for the gradients ``Gs`` (m x n each):
    :math:`\epsilon I + s\sum_t g_t g_t^\top` and
    :math:`(\epsilon I + \sum_t G_t G_t^\top)^{1/2} \otimes
    (\epsilon I + \sum_t G_t^\top G_t)^{1/2}`, with :math:`s = 1/r`, r the
    largest rank among the gradients, unless ``scale`` gives s."""
    Gs = [np.asarray(G, dtype=float) for G in Gs]
    m, n = Gs[0].shape
    r = max(np.linalg.matrix_rank(G) for G in Gs)
    s = 1.0 / max(r, 1) if scale is None else scale
    lhs = eps * np.eye(m * n) + s * sum(np.outer(G.ravel(), G.ravel()) for G in Gs)
    left = eps * np.eye(m) + sum(G @ G.T for G in Gs)
    right = eps * np.eye(n) + sum(G.T @ G for G in Gs)
    return lhs, np.kron(sym_power(left, 0.5), sym_power(right, 0.5))


def bound_ratio(Gs, eps: float, scale: float | None = None) -> float:
    r"""The largest generalised eigenvalue :math:`\max_v v^\top(\text{LHS})v /
    v^\top(\text{RHS})v`: the bound holds iff it is at most 1. Needs RHS
    positive definite (:math:`\epsilon > 0`, or gradients that span both sides)."""
    lhs, rhs = bound_sides(Gs, eps, scale)
    w_, U = np.linalg.eigh(rhs)
    half = (U / np.sqrt(w_)) @ U.T  # RHS^(-1/2)
    return float(np.linalg.eigvalsh(half @ lhs @ half).max())


def random_gradients(shape, count: int, rank: int, rng) -> list:
    """``count`` Gaussian m x n matrices of rank ``rank`` (products U V^T)."""
    m, n = shape
    return [rng.normal(size=(m, rank)) @ rng.normal(size=(rank, n)) for _ in range(count)]


def worst_ratio(
    shape=(3, 2),
    count: int = 2,
    rank: int = 1,
    eps: float = 1e-3,
    seed: int = 0,
    iters: int = 300,
    scale: float | None = None,
):
    """Search for gradients (``count`` of rank ``rank``) that make
    :func:`bound_ratio` largest: random restarts, then a random walk that keeps
    every move that raises the ratio, with a shrinking step. Returns (ratio,
    gradients)."""  # fmt: skip
    rng = np.random.default_rng(seed)
    m, n = shape
    best, best_ratio = None, -np.inf
    for _ in range(20):
        factors = [(rng.normal(size=(m, rank)), rng.normal(size=(rank, n))) for _ in range(count)]
        ratio = bound_ratio([U @ V for U, V in factors], eps, scale)
        if ratio > best_ratio:
            best, best_ratio = factors, ratio
    step = 0.5
    for _ in range(iters):
        trial = [(U + step * rng.normal(size=U.shape), V + step * rng.normal(size=V.shape))
                 for U, V in best]  # fmt: skip
        ratio = bound_ratio([U @ V for U, V in trial], eps, scale)
        if ratio > best_ratio:
            best, best_ratio = trial, ratio
        else:
            step *= 0.99
    return best_ratio, [U @ V for U, V in best]


# --- Full-matrix Adagrad and Shampoo on a Kronecker statistic -----------------------


def kronecker_gradients(A: np.ndarray, B: np.ndarray) -> list:
    r"""Gradients whose statistic :math:`\sum g g^\top` is exactly :math:`A \otimes B`:
    :math:`A^{1/2} E_{ij} B^{1/2}` for every unit matrix :math:`E_{ij}`."""
    a, b = sym_power(A, 0.5), sym_power(B, 0.5)
    m, n = len(A), len(B)
    units = np.eye(m * n).reshape(m * n, m, n)
    return [a @ E @ b for E in units]


def full_matrix_step(Gs, G) -> np.ndarray:
    r"""Full-matrix Adagrad's direction :math:`(\sum g g^\top)^{-1/2} g` for the
    gradient G, as an m x n matrix (the statistic must be invertible)."""
    H = sum(np.outer(X.ravel(), X.ravel()) for X in Gs)
    return (sym_power(H, -0.5) @ G.ravel()).reshape(G.shape)


def shampoo_step(Gs, G, exponent: float) -> np.ndarray:
    r""":math:`L^{-e} G R^{-e}` with :math:`L = \sum G G^\top`, :math:`R = \sum G^\top G`."""
    L = sum(X @ X.T for X in Gs)
    R = sum(X.T @ X for X in Gs)
    return sym_power(L, -exponent) @ G @ sym_power(R, -exponent)


def step_ratio(Gs, G, eps: float) -> float:
    r"""The length of Shampoo's step :math:`\bar L^{-1/4} G \bar R^{-1/4}` over
    that of full-matrix Adagrad's :math:`(\epsilon I + \sum g g^\top)^{-1/2} g`,
    at the same rate, with :math:`\bar L = \epsilon I + \sum G G^\top`,
    :math:`\bar R = \epsilon I + \sum G^\top G` (the statistics of ``Gs``)."""
    Gs = [np.asarray(X, dtype=float) for X in Gs]
    m, n = G.shape
    H = eps * np.eye(m * n) + sum(np.outer(X.ravel(), X.ravel()) for X in Gs)
    L = eps * np.eye(m) + sum(X @ X.T for X in Gs)
    R = eps * np.eye(n) + sum(X.T @ X for X in Gs)
    shampoo = sym_power(L, -0.25) @ G @ sym_power(R, -0.25)
    full = sym_power(H, -0.5) @ G.ravel()
    return float(np.linalg.norm(shampoo) / np.linalg.norm(full))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The cosine of the angle between two arrays (as vectors)."""
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


# --- Vyas et al.: Shampoo (exponent 1/2) is Adafactor in Shampoo's eigenbasis -------


def idealised_shampoo(L, R, G) -> np.ndarray:
    r"""Vyas et al.'s idealised Shampoo with exponent 1/2: the preconditioner
    :math:`(L \otimes R / \operatorname{tr} L)^{-1/2}` applied to G, that is
    :math:`\sqrt{\operatorname{tr} L}\, L^{-1/2} G R^{-1/2}`."""
    return np.sqrt(np.trace(L)) * sym_power(L, -0.5) @ G @ sym_power(R, -0.5)


def adafactor_in_basis(V, Q_L, Q_R, G) -> np.ndarray:
    r"""Adafactor's step (no momentum, no clipping, no ε) run in the basis
    :math:`Q_L, Q_R`, with V its second moment held in that basis: row sums a,
    column sums c, :math:`\hat V = a c^\top / \sum a`, the step
    :math:`Q_L (G' / \sqrt{\hat V}) Q_R^\top` with :math:`G' = Q_L^\top G Q_R`."""
    a, c = V.sum(axis=1), V.sum(axis=0)
    V_hat = np.outer(a, c) / a.sum()
    return Q_L @ ((Q_L.T @ G @ Q_R) / np.sqrt(V_hat)) @ Q_R.T


def shampoo_as_adafactor(Gs, G, basis_from=None):
    r"""Both sides of Vyas et al.'s connection on the gradients ``Gs``.

    L, R are sums over ``Gs``; Adafactor's V is the sum of :math:`G'_t \odot
    G'_t` with every :math:`G_t` rotated into the eigenbasis of ``basis_from``
    (gradients, default ``Gs``: the claim's assumption, the basis of the same
    L and R). Returns (Shampoo's step, Adafactor's step) for the gradient G."""
    L = sum(X @ X.T for X in Gs)
    R = sum(X.T @ X for X in Gs)
    source = Gs if basis_from is None else basis_from
    Q_L = np.linalg.eigh(sum(X @ X.T for X in source))[1]
    Q_R = np.linalg.eigh(sum(X.T @ X for X in source))[1]
    V = sum((Q_L.T @ X @ Q_R) ** 2 for X in Gs)
    return idealised_shampoo(L, R, G), adafactor_in_basis(V, Q_L, Q_R, G)


def relative_gap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(a))


# --- K-FAC's factors and Shampoo's on the digits network ---------------------------


def first_layer_factors(batch: int = 32, seed: int = 0):
    r"""Per-example inputs a and back-propagated gradients δ of the digits
    network's first layer at its seeded start, for one minibatch: returns
    (a, δ, G) with a of shape (batch, 64), δ (batch, 64) the gradient of each
    example's loss with respect to the layer's pre-activations, and G the
    minibatch's gradient of the mean loss, :math:`\frac1B \sum_i a_i \delta_i^\top`
    (the weights are inputs x outputs, as the network stores them)."""
    net, (X, y, *_) = digits.bench()
    w_ = net.init(seed)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(y), size=batch, replace=False)
    Xb, yb = X[idx], y[idx]
    h = net.forward(w_, Xb)
    z = h[-1]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = p.copy()
    dz[np.arange(batch), yb] -= 1  # per example, not divided by the batch
    layers = net.layers(w_)
    for k in range(len(layers) - 1, 0, -1):
        dz = (dz @ layers[k][0].T) * (1 - h[k] ** 2)
    a = h[0]
    return a, dz, a.T @ dz / batch


def kfac_against_shampoo(batches: int = 20, batch: int = 32, seed: int = 0) -> dict:
    r"""K-FAC's factors :math:`A = \frac1B\sum a a^\top`, :math:`S = \frac1B\sum \delta\delta^\top`
    (labels from the data: the empirical Fisher) against Shampoo's statistics,
    as the cosine (Frobenius) between them: for one example (1 exactly, up to
    rounding), for one minibatch's gradient :math:`G G^\top`, and summed over
    ``batches`` minibatches at the same weights."""
    a, d, G = first_layer_factors(batch, seed)
    A, S = a.T @ a / batch, d.T @ d / batch
    one = np.outer(a[0], d[0])
    out = {
        "one example, L vs A": cosine(one @ one.T, np.outer(a[0], a[0])),
        "one example, R vs S": cosine(one.T @ one, np.outer(d[0], d[0])),
        "one batch, L vs A": cosine(G @ G.T, A),
        "one batch, R vs S": cosine(G.T @ G, S),
    }
    L, R = np.zeros_like(A), np.zeros_like(S)
    A_all, S_all = np.zeros_like(A), np.zeros_like(S)
    for b in range(batches):
        a, d, G = first_layer_factors(batch, seed + 1000 + b)
        L, R = L + G @ G.T, R + G.T @ G
        A_all, S_all = A_all + a.T @ a, S_all + d.T @ d
    out[f"{batches} batches, L vs A"] = cosine(L, A_all)
    out[f"{batches} batches, R vs S"] = cosine(R, S_all)
    return out


# --- Memory ------------------------------------------------------------------------


def memory_rows(shapes, rules_: dict) -> list:
    """For each shape (m, n), the bytes of state of each rule (``analysis.state_bytes``)."""
    from .. import analysis

    return [
        (
            shape,
            {name: analysis.state_bytes(rule, np.zeros(shape)) for name, rule in rules_.items()},
        )
        for shape in shapes
    ]


# --- Experiment 1: an ill-conditioned matrix least-squares problem -------------------

PROBLEM = problems.MatrixLeastSquares((8, 6), (30.0, 30.0), seed=0)
"""The chapter's problem: 8 x 6, the condition number of each factor
:math:`A^\top A`, :math:`BB^\top` 30 (the Hessian's 900)."""
TARGET = 1e-4
"""Steps are counted until f falls to TARGET times its value at the start."""
CAP = 500
"""At most this many steps."""
SHOWN = 250
"""The figure's steps; the slider's runs stop there."""

#: The rates, each the best of its grid in tests/test_kronecker.py (fewest steps
#: to the target; the grids: 1, 2, 5 times powers of ten).
LSQ_RATES = {
    "SGD": 0.002,
    "Momentum": 0.002,
    "Adam": 0.5,
    "Adagrad": 2.0,
    "Shampoo": 1.0,
    "Shampoo, no graft": 5.0,
    "SOAP": 0.1,
    "Muon": 0.05,
}


def lsq_rule(name: str, lr: float, k: int = 1):
    """The rule ``name`` of the least-squares race at rate ``lr`` (k: Shampoo's
    and SOAP's ``update_every``). No weight decay: the minimum is not at 0."""
    if name == "SGD":
        return rules.SGD(lr=lr)
    if name == "Momentum":
        return rules.Momentum(lr=lr, mu=0.9)
    if name == "Adam":
        return rules.Adam(lr=lr)
    if name == "Adagrad":
        return rules.Adagrad(lr=lr)
    if name == "Shampoo":  # grafted on Adagrad's step sizes
        return Shampoo(lr=lr, epsilon=1e-12, update_every=k, graft="adagrad")
    if name == "Shampoo, no graft":
        return Shampoo(lr=lr, epsilon=1e-12, update_every=k)
    if name == "SOAP":
        return SOAP(lr=lr, weight_decay=0.0, update_every=k)
    if name == "Muon":
        return Muon(lr=lr, weight_decay=0.0)
    raise ValueError(f"no rule {name!r} in the race: {list(LSQ_RATES)}")


FLOOR = 1e-8
"""A run stops once f falls below FLOOR times its start (the rest is NaN)."""


def lsq_losses(rule, problem=PROBLEM, steps: int = CAP) -> np.ndarray:
    """f / f(start) along ``steps`` steps of ``rule``: inf after a blow-up,
    NaN after the run fell below FLOOR (where it stops)."""
    x, state = problem.start, rule.init(problem.start)
    f0 = problem.value(x)
    out = np.full(steps + 1, np.inf)
    out[0] = 1.0
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            try:
                x, state = rule.step(x, problem.grad, state)
            except (FloatingPointError, np.linalg.LinAlgError):
                break  # an eigendecomposition of a blown-up statistic fails
            out[t] = problem.value(x) / f0
            if not np.isfinite(out[t]):
                out[t] = np.inf
                break
            if out[t] < FLOOR:
                out[t + 1 :] = np.nan
                break
    return out


def steps_to_target(losses: np.ndarray, target: float = TARGET) -> float:
    """The first step at which the loss ratio is at most ``target`` (inf if never)."""
    hit = np.flatnonzero(losses <= target)
    return float(hit[0]) if hit.size else np.inf


@lru_cache(maxsize=1)
def _baselines() -> dict:
    return {n: lsq_losses(lsq_rule(n, lr)) for n, lr in LSQ_RATES.items()
            if n not in ("Shampoo", "SOAP")}  # fmt: skip


def lsq_experiment():
    fig, (ax,) = plots.new_figure(7.6, 3.4)
    live = plots.LiveFigure(fig)
    ax.set(yscale="log", ylim=(FLOOR, 10), xlim=(0, SHOWN), xlabel="step",
           ylabel="f / f(start)")  # fmt: skip
    ax.axhline(TARGET, color="0.6", lw=0.8)
    base = _baselines()
    t = np.arange(CAP + 1)
    for i, (name, losses) in enumerate(base.items()):
        style = plots.style(name, i) | ({"lw": 0.8} if "graft" in name else {})
        label = f"{name}{', k = 1' if 'graft' in name else ''} ({steps_to_target(losses):.0f})"
        ax.plot(t, losses, label=label, **style)
    labels = {"Shampoo": "Shampoo, Adagrad graft", "SOAP": "SOAP"}
    lines = {n: ax.plot([], [], label=f"{labels[n]}, every k", lw=2, **plots.style(n))[0]
             for n in labels}  # fmt: skip
    ax.legend(loc="upper right", fontsize=7, ncol=2)
    title = ax.set_title("", fontsize=9)
    live.animate(*lines.values(), title)

    def draw(k):
        counts = []
        for name, line in lines.items():
            losses = lsq_losses(lsq_rule(name, LSQ_RATES[name], k), steps=SHOWN)
            line.set_data(t[: SHOWN + 1], losses)
            blown = np.flatnonzero(np.isinf(losses))
            counts.append(
                f"{name} blew up at step {blown[0]}"
                if blown.size
                else f"{name} {steps_to_target(losses):.0f}"
            )
        title.set_text(
            f"k = {k}: steps to the line, " + ", ".join(counts) + f" (inf: not in {SHOWN})"
        )
        return live

    controls = {"k": w.Int("roots / eigenbases every k steps", 1, 1, 20)}
    return w.Experiment("kronecker-least-squares", controls, draw, static=("k",))


# --- Experiment 2: the digits network ------------------------------------------------

DIGITS_STEPS = 200
DIGITS_SEEDS = (0, 1)
#: The rates, each the best of its grid in tests/test_kronecker.py (final
#: training loss after DIGITS_STEPS steps, seed 0); biases get AdamW(lr=1e-2).
DIGITS_RATES = {"AdamW": 1e-2, "Shampoo": 0.1, "SOAP": 3e-2}
VECTORS_LR = 1e-2


def digits_rule(name: str, lr: float):
    """The rule of the digits comparison: AdamW; Shampoo grafted on Adagrad's
    step sizes, roots every 10 steps; SOAP (eigenbases every 10 steps)."""
    if name == "AdamW":
        return rules.AdamW(lr=lr)
    if name == "Shampoo":
        return Shampoo(lr=lr, epsilon=1e-12, update_every=10, graft="adagrad")
    if name == "SOAP":
        return SOAP(lr=lr)
    raise ValueError(f"no rule {name!r} in the digits comparison: {list(DIGITS_RATES)}")


def digits_curves(steps: int = DIGITS_STEPS, seeds=DIGITS_SEEDS) -> dict:
    """{label: [Curve per seed]} for the three rules at their rates."""
    vectors = rules.AdamW(lr=VECTORS_LR)
    return {
        f"{name} (lr {lr:g})": [
            digits.curve(digits_rule(name, lr), steps, s, vectors=vectors) for s in seeds
        ]
        for name, lr in DIGITS_RATES.items()
    }


EXPERIMENTS = {"kronecker-least-squares": lsq_experiment}
