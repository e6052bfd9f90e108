r"""Sign methods: signSGD, Signum and Lion (chapter: Sign methods).

Each step moves every coordinate by the same amount, the rate, in the direction
of a sign; only the signs of the gradients (or of an average of them) matter.
numpy's ``np.sign(0) = 0``: a coordinate whose (averaged) gradient is exactly 0
does not move (apart from the weight decay).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import _checks
from .base import Rule, _lr, finite, gradient
from .sgd import SGDState


class SignState(NamedTuple):
    t: int
    m: np.ndarray


@dataclass(frozen=True)
class SignSGD(Rule):
    r"""signSGD (Bernstein, Wang, Azizzadenesheli & Anandkumar 2018).

    $$ x \leftarrow x - \alpha \lambda x - \alpha\, \operatorname{sign}(g) $$

    Every coordinate moves by the rate, in the direction of its gradient's sign;
    the step keeps no state. The paper writes the rate :math:`\delta`. Its
    algorithm has no weight decay; :math:`\lambda` here is decoupled decay scaled
    by the rate, as Lion applies it; default :math:`\lambda = 0`.
    :math:`\operatorname{sign}(0) = 0` (numpy's): a coordinate whose gradient is
    exactly 0 does not move. Default :math:`\alpha = 10^{-2}` (MXNet's ``Signum``).
    optax's ``sign_sgd(learning_rate)`` is this rule with :math:`\lambda = 0`.
    """

    lr: float = 1e-2
    weight_decay: float = 0.0
    State = SGDState

    def __post_init__(self):
        self._check(lr=_lr, weight_decay=_checks.non_negative)

    def step(self, x, grad_fn, state):
        (t,) = self.unpack(state, x)
        alpha, lam = self.lr_at(t), self.weight_decay
        g = gradient(grad_fn, x, t)
        x = x - alpha * lam * x - alpha * np.sign(g)
        return finite(x, t), SGDState(t + 1)


@dataclass(frozen=True)
class Signum(Rule):
    r"""Signum, sign momentum (Bernstein, Wang, Azizzadenesheli & Anandkumar 2018).

    $$
    \begin{aligned}
    m &\leftarrow \beta m + (1 - \beta)\, g \\
    x &\leftarrow x - \alpha \lambda x - \alpha\, \operatorname{sign}(m)
    \end{aligned}
    $$

    The momentum is an average (the factor :math:`1 - \beta`), not a sum; it needs
    no bias correction, the sign of :math:`m` being that of
    :math:`m/(1-\beta^{t+1})`. With :math:`\beta = 0`, :math:`m = g` and the path is
    signSGD's (:class:`SignSGD`, which keeps no buffer). The paper writes the
    rate :math:`\delta`. Its algorithm has no weight decay; :math:`\lambda` here
    is decoupled decay scaled by the rate, as MXNet's ``Signum`` (its ``wd_lh``)
    and Lion apply it; default :math:`\lambda = 0`. :math:`\operatorname{sign}(0) = 0`
    (numpy's). Defaults :math:`\alpha = 10^{-2}`, :math:`\beta = 0.9` (MXNet's
    ``Signum``). optax's ``signum(learning_rate, beta)`` is this rule with
    :math:`\lambda = 0`.
    """

    lr: float = 1e-2
    beta: float = 0.9
    weight_decay: float = 0.0
    State = SignState

    def __post_init__(self):
        self._check(lr=_lr, beta=_checks.decay, weight_decay=_checks.non_negative)

    def step(self, x, grad_fn, state):
        t, m = self.unpack(state, x)
        alpha, beta, lam = self.lr_at(t), self.beta, self.weight_decay
        g = gradient(grad_fn, x, t)
        m = beta * m + (1 - beta) * g
        x = x - alpha * lam * x - alpha * np.sign(m)
        return finite(x, t), SignState(t + 1, m)


@dataclass(frozen=True)
class Lion(Rule):
    r"""Lion, "evolved sign momentum" (Chen et al. 2023).

    $$
    \begin{aligned}
    c &= \beta_1 m + (1 - \beta_1)\, g \\
    x &\leftarrow x - \alpha \bigl(\operatorname{sign}(c) + \lambda x\bigr) \\
    m &\leftarrow \beta_2 m + (1 - \beta_2)\, g
    \end{aligned}
    $$

    The step's direction is the sign of an interpolation :math:`c` between the
    momentum and the new gradient, with weight :math:`1 - \beta_1` on the gradient;
    the momentum :math:`m`, the only buffer, is then updated with a slower
    :math:`\beta_2`. The paper writes the rate :math:`\eta`. Defaults
    :math:`\beta_1 = 0.9`, :math:`\beta_2 = 0.99` (the paper's, found by the
    search), :math:`\alpha = 10^{-4}` and :math:`\lambda = 0` (the authors'
    PyTorch implementation, ``lion_pytorch.py`` in google/automl). The decay is
    multiplied by the rate, as in the paper: optax's ``lion(learning_rate, b1, b2,
    weight_decay)`` computes the same update (its default ``weight_decay`` is
    :math:`10^{-3}`). :math:`\operatorname{sign}(0) = 0`, as numpy and jax have it.
    """

    lr: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 0.0
    State = SignState

    def __post_init__(self):
        self._check(
            lr=_lr,
            beta1=_checks.decay,
            beta2=_checks.decay,
            weight_decay=_checks.non_negative,
        )

    def step(self, x, grad_fn, state):
        t, m = self.unpack(state, x)
        alpha, beta1, beta2 = self.lr_at(t), self.beta1, self.beta2
        lam = self.weight_decay
        g = gradient(grad_fn, x, t)
        c = beta1 * m + (1 - beta1) * g
        x = x - alpha * (np.sign(c) + lam * x)
        m = beta2 * m + (1 - beta2) * g
        return finite(x, t), SignState(t + 1, m)
