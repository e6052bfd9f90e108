r"""Conjugate gradients: linear CG, which minimises a quadratic in at most n
steps (Hestenes & Stiefel 1952; Nocedal & Wright 2006, Algorithm 5.2), and
nonlinear CG, which runs the same recursion on any loss with a line search
(Fletcher & Reeves 1964; Polak & Ribière 1969; Nocedal & Wright, §5.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import _checks
from .line_search import Point, along, objective, strong_wolfe
from .rules import Rule, _lr, finite, gradient


class LinearCG(NamedTuple):
    """A run of linear CG: the iterates x_k, residuals r_k = A x_k − b, the
    step lengths α_k (``alphas[k]``) and the coefficients β (β_k makes p_k from
    r_k and p_{k−1}; ``betas[k]`` is β_{k+1}, made at step k; p_0 needs none)."""

    xs: np.ndarray
    residuals: np.ndarray
    alphas: np.ndarray
    betas: np.ndarray


def linear_cg(A, b, x0, steps: int | None = None) -> LinearCG:
    r"""Linear conjugate gradients (Nocedal & Wright 2006, Algorithm 5.2) on
    :math:`f(x) = \tfrac12 x^\top A x - b^\top x`, whose gradient is the residual
    r = A x − b. ``steps`` defaults to n; the run stops early once r = 0.

    $$
    \begin{aligned}
    \alpha_k &= \frac{r_k^\top r_k}{p_k^\top A\, p_k}, \qquad
    x_{k+1} = x_k + \alpha_k p_k, \qquad r_{k+1} = r_k + \alpha_k A\, p_k, \\
    \beta_{k+1} &= \frac{r_{k+1}^\top r_{k+1}}{r_k^\top r_k}, \qquad
    p_{k+1} = -r_{k+1} + \beta_{k+1}\, p_k, \qquad p_0 = -r_0
    \end{aligned}
    $$
    """
    A, b = _checks.parameters("A", A), _checks.parameters("b", b)
    x = _checks.parameters("x0", x0)
    n = len(b)
    if A.shape != (n, n) or x.shape != (n,):
        shapes = f"{A.shape}, {b.shape}, {x.shape}"
        raise ValueError(f"A must be n×n and b, x0 of length n; got {shapes}")
    if not np.allclose(A, A.T):
        raise ValueError("A must be symmetric")
    steps = n if steps is None else _checks.whole("steps", steps, low=1)
    r = A @ x - b
    p = -r
    xs, residuals, alphas, betas = [x], [r], [], []
    for k in range(steps):
        if r @ r == 0:
            break
        curvature = p @ A @ p
        if curvature <= 0:
            why = f"p^T A p = {curvature:.3g} at step {k}"
            raise ValueError(f"A must be positive definite: {why}")
        alpha = (r @ r) / curvature
        x = x + alpha * p
        r_new = r + alpha * (A @ p)
        beta = (r_new @ r_new) / (r @ r)
        p = -r_new + beta * p
        r = r_new
        xs.append(x)
        residuals.append(r)
        alphas.append(alpha)
        betas.append(beta)
    arrays = (np.array(v) for v in (xs, residuals, alphas, betas))
    return LinearCG(*arrays)


class NonlinearCGState(NamedTuple):
    t: int
    g: np.ndarray | None  # the last gradient (None before the first step)
    p: np.ndarray | None  # the last direction
    tau: float = 0.0  # the last step length along it
    slope: float = 0.0  # gᵀp there
    evaluations: int = 0  # of the loss and gradient so far, line searches included


BETAS = ("FR", "PR+")


def _beta_name(name: str, value):
    if value not in BETAS:
        names = "'FR' (Fletcher–Reeves) or 'PR+' (Polak–Ribière)"
        raise ValueError(f"{name} must be {names}, got {value!r}")
    return value


def _c2(name: str, value):
    value = _checks.positive(name, value)
    if not 1e-4 < value < 0.5:
        why = "for CG's directions to descend"
        raise ValueError(f"{name} must be in (1e-4, 0.5) {why}, got {value}")
    return value


@dataclass(frozen=True)
class NonlinearCG(Rule):
    r"""Nonlinear conjugate gradients with a strong Wolfe line search
    (Nocedal & Wright 2006, Algorithm 5.4, eqs. 5.41a and 5.45).

    $$
    \begin{aligned}
    \beta_t &= \frac{g_t^\top g_t}{g_{t-1}^\top g_{t-1}}\ \text{(FR)}
    \quad\text{or}\quad
    \max\Bigl(0, \frac{g_t^\top (g_t - g_{t-1})}{g_{t-1}^\top g_{t-1}}\Bigr)
    \ \text{(PR+)} \\
    p_t &= -g_t + \beta_t\, p_{t-1}
    \quad (p_t = -g_t \text{ if } g_t^\top p_t \ge 0), \qquad p_0 = -g_0 \\
    x &\leftarrow x + \tau_t\, p_t, \quad \tau_t \text{ from a strong Wolfe search
    started at } \alpha_t
    \end{aligned}
    $$

    with c₂ = 0.1 (Nocedal & Wright's typical value for CG, §3.1) and the first trial
    α₀ = α min(1, 1/‖g₀‖₁), then α_t = τ_{t−1} g_{t−1}ᵀp_{t−1} / g_tᵀp_t
    (eq. 3.60). ``step`` takes an objective with ``value`` and ``grad``.
    """

    lr: float = 1.0
    beta: str = "PR+"
    c2: float = 0.1
    FLAT = 1e-9  # no step once gᵀp > −FLAT, as L-BFGS

    def __post_init__(self):
        self._check(lr=_lr, beta=_beta_name, c2=_c2)

    def init(self, x0) -> NonlinearCGState:
        _checks.parameters("x0", x0)
        return NonlinearCGState(0, None, None)

    @property
    def buffers(self) -> tuple[str, ...]:
        return ("g", "p")

    def step(self, x, grad_fn, state):
        if not isinstance(state, NonlinearCGState):
            made_by = "the state made by NonlinearCG.init"
            got = type(state).__name__
            raise TypeError(f"NonlinearCG.step takes {made_by}, got {got}")
        f = objective(grad_fn, "NonlinearCG")
        t = state.t
        g = gradient(f.grad, x, t)
        p = -g
        if t > 0:
            g_old = state.g
            if self.beta == "FR":
                beta = (g @ g) / (g_old @ g_old)
            else:
                beta = max(0.0, g @ (g - g_old) / (g_old @ g_old))
            p = -g + beta * state.p
            if g @ p >= 0:
                p = -g
        slope = float(g @ p)
        tau, used = 0.0, 1
        if slope < -self.FLAT:
            alpha = self.first_trial(t, g, state, slope)
            tau, used = self.search(f, x, g, p, alpha, t)
        evaluations = state.evaluations + used
        state = NonlinearCGState(t + 1, g, p, tau, slope, evaluations)
        return finite(x + tau * p, t), state

    def first_trial(self, t, g, state, slope) -> float:
        """α_t: the search's first trial step (eq. 3.60 after the first step)."""
        if t == 0 or state.tau == 0:
            return self.lr_at(t) * min(1.0, 1 / np.abs(g).sum())
        return state.tau * state.slope / slope

    def search(self, f, x, g, p, alpha, t):
        """The step τ along p and the evaluations it took."""
        start = Point(0.0, float(f.value(x)), g, float(g @ p))
        phi = along(f, x, p, t)
        found, trials = strong_wolfe(phi, start, alpha, c2=self.c2, scale=np.abs(p).max())
        return found.t, 1 + trials
