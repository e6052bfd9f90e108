r"""Adaptive learning rates (chapters: Adagrad, RMSProp, Adadelta)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import _checks
from .base import Rule, _lr, _mu, finite, gradient

# --- Adaptive learning rates -----------------------------------------------------


class AdagradState(NamedTuple):
    t: int
    r: np.ndarray


@dataclass(frozen=True)
class Adagrad(Rule):
    r"""Adagrad (Duchi, Hazan & Singer 2011), diagonal form.

    $$
    \begin{aligned}
    r &\leftarrow r + g^2 \\
    x &\leftarrow x - \alpha\, \frac{g}{\sqrt{r} + \epsilon}
    \end{aligned}
    $$

    Defaults :math:`\alpha = 10^{-2}` (PyTorch), :math:`\epsilon = 10^{-7}` (Goodfellow
    et al., Alg. 8.4, outside the root as here and as Duchi et al.'s δ, added to
    :math:`\operatorname{diag}(s_t)` in their Figure 1). PyTorch also puts ε outside
    (default 1e-10); Keras and optax put it inside, :math:`\sqrt{r + \epsilon}`
    (default 1e-7), and start :math:`r` at 0.1 rather than 0.
    """

    lr: float = 1e-2
    eps: float = 1e-7
    State = AdagradState

    def __post_init__(self):
        self._check(lr=_lr, eps=_checks.positive)

    def step(self, x, grad_fn, state):
        t, r = self.unpack(state, x)
        alpha, eps = self.lr_at(t), self.eps
        g = gradient(grad_fn, x, t)
        r = r + g**2
        x = x - alpha * g / (np.sqrt(r) + eps)
        return finite(x, t), AdagradState(t + 1, r)


@dataclass(frozen=True)
class RMSProp(Rule):
    r"""RMSProp (Tieleman & Hinton 2012, Lecture 6e).

    $$
    \begin{aligned}
    r &\leftarrow \rho r + (1 - \rho)\, g^2 \\
    x &\leftarrow x - \alpha\, \frac{g}{\sqrt{r} + \epsilon}
    \end{aligned}
    $$

    Defaults :math:`\rho = 0.9` (the lecture's), :math:`\alpha = 10^{-3}` (Keras's;
    PyTorch's is 1e-2), :math:`\epsilon = 10^{-8}` (PyTorch's). The lecture has no ε.
    ε sits outside the root as in PyTorch and CS231n's assignment (PyTorch's
    default decay is 0.99); Keras (default 1e-7), optax (by default) and Goodfellow
    et al. (Alg. 8.5) put it inside, :math:`\sqrt{r + \epsilon}`.
    """

    lr: float = 1e-3
    rho: float = 0.9
    eps: float = 1e-8
    State = AdagradState

    def __post_init__(self):
        self._check(lr=_lr, rho=_checks.decay, eps=_checks.positive)

    def step(self, x, grad_fn, state):
        t, r = self.unpack(state, x)
        alpha, rho, eps = self.lr_at(t), self.rho, self.eps
        g = gradient(grad_fn, x, t)
        r = rho * r + (1 - rho) * g**2
        x = x - alpha * g / (np.sqrt(r) + eps)
        return finite(x, t), AdagradState(t + 1, r)


class RMSPropNesterovState(NamedTuple):
    t: int
    r: np.ndarray
    u: np.ndarray


@dataclass(frozen=True)
class RMSPropNesterov(Rule):
    r"""RMSProp with Nesterov momentum (Goodfellow, Bengio & Courville 2016, Alg. 8.6).

    $$
    \begin{aligned}
    g &= g(x - \mu u) \\
    r &\leftarrow \rho r + (1 - \rho)\, g^2 \\
    u &\leftarrow \mu u + \alpha\, \frac{g}{\sqrt{r} + \epsilon} \\
    x &\leftarrow x - u
    \end{aligned}
    $$

    Defaults :math:`\alpha = 10^{-3}`, :math:`\rho = 0.9`, :math:`\mu = 0.9`,
    :math:`\epsilon = 10^{-8}`. The book's Alg. 8.6 has no ε at all: a coordinate
    whose gradients have all been 0 has :math:`r = 0` and the update 0/0; the ε
    here, outside the root as in :class:`RMSProp`, keeps every step finite.
    """

    lr: float = 1e-3
    rho: float = 0.9
    mu: float = 0.9
    eps: float = 1e-8
    State = RMSPropNesterovState

    def __post_init__(self):
        self._check(lr=_lr, rho=_checks.decay, mu=_mu, eps=_checks.positive)

    def step(self, x, grad_fn, state):
        t, r, u = self.unpack(state, x)
        alpha, rho, mu, eps = self.lr_at(t), self.rho, self.mu_at(t), self.eps
        g = gradient(grad_fn, x - mu * u, t)
        r = rho * r + (1 - rho) * g**2
        u = mu * u + alpha * g / (np.sqrt(r) + eps)
        x = x - u
        return finite(x, t), RMSPropNesterovState(t + 1, r, u)


class AdadeltaState(NamedTuple):
    t: int
    r: np.ndarray
    s: np.ndarray


@dataclass(frozen=True)
class Adadelta(Rule):
    r"""Adadelta (Zeiler 2012, Algorithm 1).

    $$
    \begin{aligned}
    r &\leftarrow \rho r + (1 - \rho)\, g^2 \\
    \Delta &= \frac{\sqrt{s + \epsilon}}{\sqrt{r + \epsilon}}\, g \\
    s &\leftarrow \rho s + (1 - \rho)\, \Delta^2 \\
    x &\leftarrow x - \alpha \Delta
    \end{aligned}
    $$

    The paper has no learning rate; ``lr`` multiplies the step only (s accumulates
    Δ², as in PyTorch and Keras) and defaults to 1 so that it is the paper's rule
    (PyTorch's default is 1.0, Keras's 0.001). Defaults :math:`\rho = 0.95`,
    :math:`\epsilon = 10^{-6}` (Zeiler 2012, Section 4; PyTorch: 0.9 and 1e-6,
    Keras: 0.95 and 1e-7). ε sits inside both roots, as in the paper, PyTorch,
    Keras and optax.
    """

    rho: float = 0.95
    eps: float = 1e-6
    lr: float = 1.0
    State = AdadeltaState

    def __post_init__(self):
        self._check(rho=_checks.decay, eps=_checks.positive, lr=_lr)

    def step(self, x, grad_fn, state):
        t, r, s = self.unpack(state, x)
        alpha, rho, eps = self.lr_at(t), self.rho, self.eps
        g = gradient(grad_fn, x, t)
        r = rho * r + (1 - rho) * g**2
        delta = np.sqrt(s + eps) / np.sqrt(r + eps) * g
        s = rho * s + (1 - rho) * delta**2
        x = x - alpha * delta
        return finite(x, t), AdadeltaState(t + 1, r, s)
