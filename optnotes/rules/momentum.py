r"""Momentum methods (chapters: momentum, Nesterov)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .base import Rule, _lr, _mu, finite, gradient

# --- Momentum methods ------------------------------------------------------------


class MomentumState(NamedTuple):
    t: int
    u: np.ndarray


@dataclass(frozen=True)
class Momentum(Rule):
    r"""Heavy-ball momentum (Polyak 1964; Sutskever et al. 2013, eq. 1).

    $$
    \begin{aligned}
    u &\leftarrow \mu u + \alpha\, g(x) \\
    x &\leftarrow x - u
    \end{aligned}
    $$

    Defaults :math:`\alpha = 10^{-2}`, :math:`\mu = 0.9`, as CS231n's ``sgd_momentum``.

    Other ways to write it: CS231n, Goodfellow et al. (Alg. 8.2) and Keras 3 keep
    :math:`v = -u`: :math:`v \leftarrow \mu v - \alpha g,\ x \leftarrow x + v`, the same
    path. PyTorch (``torch.optim.SGD``) and optax (``optax.sgd``) keep :math:`b = u/\alpha`:
    :math:`b \leftarrow \mu b + g,\ x \leftarrow x - \alpha b`, the same path at a constant
    rate but not when :math:`\alpha` changes (every past gradient is then rescaled by
    today's rate).

    Polyak's tuning for curvatures in :math:`[m, L]` is optimal on quadratics, but heavy
    ball has no global guarantee beyond them: with that tuning it cycles on a smooth
    strongly convex function (Lessard, Recht & Packard 2016, §4.6;
    ``problems.HeavyBallCounterexample``).
    """

    lr: float = 1e-2
    mu: float = 0.9
    State = MomentumState

    def __post_init__(self):
        self._check(lr=_lr, mu=_mu)

    def step(self, x, grad_fn, state):
        t, u = self.unpack(state, x)
        alpha, mu = self.lr_at(t), self.mu_at(t)
        g = gradient(grad_fn, x, t)
        u = mu * u + alpha * g
        x = x - u
        return finite(x, t), MomentumState(t + 1, u)


@dataclass(frozen=True)
class Nesterov(Rule):
    r"""Nesterov's accelerated gradient (Nesterov 1983, in Sutskever et al. 2013's form, eq. 3-4).

    The gradient is taken at the look-ahead point :math:`x - \mu u`:

    $$
    \begin{aligned}
    u &\leftarrow \mu u + \alpha\, g(x - \mu u) \\
    x &\leftarrow x - u
    \end{aligned}
    $$

    Defaults :math:`\alpha = 10^{-2}`, :math:`\mu = 0.9`, as ``Momentum``.

    With a constant :math:`\mu` this is not Nesterov's :math:`O(1/t^2)` method for convex
    functions: that guarantee needs :math:`\mu_t \to 1`, e.g. the schedule
    :math:`\mu_t = (t-1)/(t+2)` with :math:`\alpha = 1/L`, which gives
    :math:`f(x_t) - f^\ast \le 2L\lVert x_0 - x^\ast\rVert^2/(t+1)^2` (Su, Boyd & Candès
    2016, §1; Beck & Teboulle 2009, Theorem 4.4). On m-strongly convex functions the constant
    :math:`\mu = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)`, :math:`\alpha = 1/L`, is accelerated,
    at the rate :math:`1 - 1/\sqrt\kappa` (Nesterov 2004, §2.2.1).

    Frameworks (PyTorch ``SGD(nesterov=True)``, Keras 3 ``SGD(nesterov=True)``, optax
    ``sgd(nesterov=True)``) store the look-ahead point :math:`x - \mu u` instead of
    :math:`x` and so evaluate the gradient where they stand; the book proves that this
    gives the same sequence at a constant rate.
    """

    lr: float = 1e-2
    mu: float = 0.9
    State = MomentumState

    def __post_init__(self):
        self._check(lr=_lr, mu=_mu)

    def step(self, x, grad_fn, state):
        t, u = self.unpack(state, x)
        alpha, mu = self.lr_at(t), self.mu_at(t)
        g = gradient(grad_fn, x - mu * u, t)
        u = mu * u + alpha * g
        x = x - u
        return finite(x, t), MomentumState(t + 1, u)
