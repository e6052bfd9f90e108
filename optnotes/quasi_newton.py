r"""Quasi-Newton methods: L-BFGS, which builds an inverse-Hessian estimate from
the last m steps and gradient changes (Nocedal & Wright 2006, §7.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import _checks
from .rules import Rule, _lr, finite, gradient


class LBFGSState(NamedTuple):
    t: int
    x: np.ndarray | None  # the last iterate (None before the first step)
    g: np.ndarray | None  # the gradient there
    S: tuple = ()  # the last m steps s_i = x_{i+1} - x_i, oldest first
    Y: tuple = ()  # the gradient changes y_i = g_{i+1} - g_i
    gamma: float = 1.0  # the initial inverse Hessian, γ I: s·y / y·y of the newest pair


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


@dataclass(frozen=True)
class LBFGS(Rule):
    r"""L-BFGS, fixed step (Liu & Nocedal 1989; Nocedal & Wright 2006, Alg. 7.5).

    Algorithm 7.5 chooses its step by a line search; here it is fixed.

    $$
    \begin{aligned}
    s &= x_t - x_{t-1}, \quad y = g_t - g_{t-1}
         \quad \text{(kept if } s^\top y > 10^{-10}\text{)} \\
    d &= -H_t\, g_t \quad \text{(two-loop recursion over the last } m
          \text{ pairs kept)}, \qquad H^0 = \gamma I \\
    x &\leftarrow x + \alpha_t\, d, \qquad
    \alpha_0 = \alpha \min\bigl(1, 1/\|g_0\|_1\bigr),\ \alpha_t = \alpha
    \end{aligned}
    $$

    with γ = sᵀy / yᵀy of the newest pair kept (eq. 7.20), and γ = 1 until a
    pair is kept. The first step, with no pairs yet, is a gradient step of
    length at most α. These are the choices of PyTorch's ``torch.optim.LBFGS``
    with ``line_search_fn=None`` (its default) and ``max_iter=1`` (one update
    per ``step``; its ``history_size`` is m, 100 by default there, 10 here).
    PyTorch also skips a step once max |g| ≤ 10⁻⁷ (``tolerance_grad``) or
    gᵀd > −10⁻⁹ (``tolerance_change``): here every step is taken.
    """

    lr: float = 1.0
    memory: int = 10
    CURVATURE = 1e-10  # a pair is kept only if s·y passes this (PyTorch's test)

    def __post_init__(self):
        self._check(lr=_lr, memory=lambda name, v: _checks.whole(name, v, low=1))

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
        g = gradient(grad_fn, x, t)
        if t > 0:
            s, y = x - state.x, g - state.g
            if s @ y > self.CURVATURE:
                S, Y = (*S, s)[-self.memory :], (*Y, y)[-self.memory :]
                gamma = (s @ y) / (y @ y)
        d = -two_loop(g, S, Y, gamma)
        alpha = self.lr_at(t) * (min(1.0, 1 / np.abs(g).sum()) if t == 0 else 1.0)
        x_new = x + alpha * d
        return finite(x_new, t), LBFGSState(t + 1, x, g, S, Y, gamma)
