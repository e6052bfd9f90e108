r"""Quasi-Newton methods: L-BFGS, which builds an inverse-Hessian estimate from
the last m steps and gradient changes (Nocedal & Wright 2006, §7.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import _checks
from .line_search import Point, along, armijo, objective, strong_wolfe
from .rules import Rule, _lr, finite, gradient

LINE_SEARCHES = (None, "armijo", "strong_wolfe")


class LBFGSState(NamedTuple):
    t: int
    x: np.ndarray | None  # the last iterate (None before the first step)
    g: np.ndarray | None  # the gradient there
    S: tuple = ()  # the last m steps s_i = x_{i+1} - x_i, oldest first
    Y: tuple = ()  # the gradient changes y_i = g_{i+1} - g_i
    gamma: float = 1.0  # the initial inverse Hessian, γ I: s·y / y·y of the newest pair
    evaluations: int = 0  # of the loss and gradient so far, line searches included


def two_loop(g: np.ndarray, S: tuple, Y: tuple, gamma: float) -> np.ndarray:
    r"""The two-loop recursion (Nocedal & Wright 2006, Algorithm 7.4): the
    product :math:`H g` of the L-BFGS inverse-Hessian estimate with g, without
    forming H."""
    q, a = g.copy(), []
    for s, y in zip(reversed(S), reversed(Y), strict=True):
        rho = 1 / (y @ s)
        a.append(rho * (s @ q))
        q = q - a[-1] * y
    r = gamma * q
    for (s, y), a_i in zip(zip(S, Y, strict=True), reversed(a), strict=True):
        rho = 1 / (y @ s)
        b = rho * (y @ r)
        r = r + s * (a_i - b)
    return r


def _line_search(name: str, value):
    if value not in LINE_SEARCHES:
        raise ValueError(f"{name} must be None, 'armijo' or 'strong_wolfe', got {value!r}")
    return value


@dataclass(frozen=True)
class LBFGS(Rule):
    r"""L-BFGS (Liu & Nocedal 1989; Nocedal & Wright 2006, Alg. 7.5).

    $$
    \begin{aligned}
    s &= x_t - x_{t-1}, \quad y = g_t - g_{t-1}
         \quad \text{(kept if } s^\top y > 10^{-10}\text{)} \\
    d &= -H_t\, g_t \quad \text{(two-loop recursion over the last } m
          \text{ pairs kept)}, \qquad H^0 = \gamma I \\
    x &\leftarrow x + \tau\, d, \qquad
    \tau = \alpha_t \ \text{(fixed), or found by a line search from } \alpha_t,
    \qquad \alpha_0 = \alpha \min\bigl(1, 1/\|g_0\|_1\bigr),\ \alpha_t = \alpha
    \end{aligned}
    $$

    with γ = sᵀy / yᵀy of the newest pair kept (eq. 7.20), and γ = 1 until a
    pair is kept. The first step, with no pairs yet, is a gradient step of
    length at most α. These are the choices of PyTorch's ``torch.optim.LBFGS``
    with ``max_iter=1`` (one update per ``step``; its ``history_size`` is m,
    100 by default there, 10 here).

    ``line_search=None`` (PyTorch's default) takes the fixed step; Algorithm 7.5
    itself searches. ``"strong_wolfe"`` is PyTorch's ``line_search_fn``:
    Algorithms 3.5–3.6 with c₁ = 10⁻⁴, c₂ = 0.9 and at most 25 more evaluations
    (PyTorch's ``max_eval`` must then be 26); ``"armijo"`` backtracks
    (Algorithm 3.1). With a search, ``step`` takes an objective with ``value``
    and ``grad`` (a problem), and, like PyTorch, leaves x where it is once
    gᵀd > −10⁻⁹ (``tolerance_change``). Without one, every step is taken;
    PyTorch also skips them once max |g| ≤ 10⁻⁷ (``tolerance_grad``).
    """

    lr: float = 1.0
    memory: int = 10
    line_search: str | None = None
    CURVATURE = 1e-10  # a pair is kept only if s·y passes this (PyTorch's test)
    FLAT = 1e-9  # with a search, no step once gᵀd > −FLAT (PyTorch's)

    def __post_init__(self):
        self._check(
            lr=_lr,
            memory=lambda name, v: _checks.whole(name, v, low=1),
            line_search=_line_search,
        )

    def init(self, x0) -> LBFGSState:
        _checks.parameters("x0", x0)
        return LBFGSState(0, None, None)

    @property
    def buffers(self) -> tuple[str, ...]:
        return ("S", "Y") + ("x", "g")  # 2m + 2 vectors at most

    def step(self, x, grad_fn, state):
        if not isinstance(state, LBFGSState):
            made_by, got = "the state made by LBFGS.init", type(state).__name__
            raise TypeError(f"LBFGS.step takes {made_by}, got {got}")
        t, S, Y, gamma = state.t, state.S, state.Y, state.gamma
        if self.line_search is not None:
            f = objective(grad_fn, f"LBFGS(line_search={self.line_search!r})")
            grad_fn = f.grad
        g = gradient(grad_fn, x, t)
        if t > 0:
            s, y = x - state.x, g - state.g
            if s @ y > self.CURVATURE:
                S, Y = (*S, s)[-self.memory :], (*Y, y)[-self.memory :]
                gamma = (s @ y) / (y @ y)
        d = -two_loop(g, S, Y, gamma)
        alpha = self.lr_at(t) * (min(1.0, 1 / np.abs(g).sum()) if t == 0 else 1.0)
        tau, used = alpha, 1
        if self.line_search is not None:
            tau, used = self.search(f, x, g, d, alpha, t)
        evaluations = state.evaluations + used
        state = LBFGSState(t + 1, x, g, S, Y, gamma, evaluations)
        return finite(x + tau * d, t), state

    def search(self, f, x, g, d, alpha, t):
        """The step τ along d from the line search, started at α, and the
        evaluations it took (τ = 0 once gᵀd > −FLAT)."""
        slope = float(g @ d)
        if slope > -self.FLAT:
            return 0.0, 1
        start = Point(0.0, float(f.value(x)), g, slope)
        phi = along(f, x, d, t)
        if self.line_search == "armijo":
            found, trials = armijo(phi, start, alpha)
        else:
            found, trials = strong_wolfe(phi, start, alpha, scale=np.abs(d).max())
        return found.t, 1 + trials
