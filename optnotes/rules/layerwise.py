r"""Layer-wise rates: LARS and LAMB (chapter: large batches and layer-wise rates).

Both rules treat the ``x`` they are given as ONE layer: its norm and its
update's norm set the step's length. A network's layers are handled one by one
with ``optnotes.layers.ByLayer(LARS(...), vectors=Momentum(...),
layout=net.layout)``, which gives the vectors (biases) a rule of their own.
``optax.lars`` applies the decay and the trust ratio to every leaf by default
(``weight_decay_mask=True``, ``trust_ratio_mask=True``); masks can leave the
biases out of them, and the biases then keep the same global rate and momentum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import _checks
from .adam import AdamFamily, AdamState
from .base import Rule, _lr, _mu, finite, gradient


def trust_ratio(numerator: float, norms: float, eps: float = 0.0) -> float:
    """numerator / (norms + eps), or 1 when numerator or norms is 0 (optax's
    convention).

    A layer at zero (biases at their start) or a zero update would otherwise
    give a ratio of 0 or 0/0; optax's ``scale_by_trust_ratio`` takes 1 there, so
    a zero layer moves by a plain step of the global rate.
    """
    if numerator == 0.0 or norms == 0.0:
        return 1.0
    return numerator / (norms + eps)


def _ratio(name, value):
    if value not in ("paper", "update"):
        raise ValueError(f"{name} must be 'paper' or 'update', got {value!r}")
    return value


def _flag(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


class LARSState(NamedTuple):
    t: int
    v: np.ndarray


@dataclass(frozen=True)
class LARS(Rule):
    r"""LARS, layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017, Algorithm 1).

    $$
    \begin{aligned}
    \lambda &= \eta\, \frac{\lVert x \rVert}{\lVert g \rVert + \beta \lVert x \rVert + \epsilon}
      \quad (\text{ratio = update: the denominator }
      \lVert g + \beta x \rVert + \epsilon) \\
    v &\leftarrow \mu v + \gamma\, \lambda\, (g + \beta x) \\
    x &\leftarrow x - v
      \quad (\text{Nesterov: } x \leftarrow x - \mu v - \gamma \lambda (g + \beta x))
    \end{aligned}
    $$

    :math:`x` is one layer (the paper's :math:`w^l`), :math:`\gamma` the global
    rate, :math:`\eta` the trust coefficient, :math:`\beta` the weight decay,
    :math:`\mu` the momentum (the paper's :math:`m`); :math:`\lambda` is the
    local rate of the paper's eq. (6). With :math:`\epsilon = 0` and
    :math:`\beta = 0` the step's length is :math:`\gamma\eta\lVert x\rVert` (no
    momentum), whatever the gradient's scale. :math:`\lambda = 1` when
    :math:`\lVert x \rVert = 0` or the denominator's norms are 0 (optax's
    convention; the paper's formula gives :math:`\lambda = 0` at a zero layer,
    which would never move).

    ``ratio="update"`` takes the norm of the decayed gradient instead,
    :math:`\lambda = \eta\lVert x\rVert/(\lVert g + \beta x\rVert + \epsilon)`, as
    ``optax.lars`` does: ``LARS(ratio="update")`` with the same
    :math:`\gamma, \mu, \eta, \beta, \epsilon` is ``optax.lars`` step for step
    (with ``nesterov=True``, optax's ``trace(nesterov=True)``: the step is
    :math:`\mu v + \gamma\lambda(g + \beta x)`). The two ratios agree when
    :math:`\beta = 0` (or :math:`g` points along :math:`x`). Defaults
    :math:`\mu = 0.9`, :math:`\eta = 10^{-3}`, :math:`\beta = 0`,
    :math:`\epsilon = 0` (optax's); :math:`\gamma = 1` is this package's
    (``optax.lars`` has no default rate). The paper's Algorithm 1 decays
    :math:`\gamma` polynomially, :math:`\gamma_t = \gamma_0 (1 - t/T)^2`
    (``schedules.polynomial_decay(gamma_0, T, power=2)``). With a schedule,
    :math:`\gamma` is ``lr_at(t)``, the rate of the step being taken; with a
    constant rate, the paper's indexing of :math:`\gamma` cannot matter.
    """

    lr: float = 1.0
    mu: float = 0.9
    trust_coefficient: float = 1e-3
    weight_decay: float = 0.0
    eps: float = 0.0
    ratio: str = "paper"
    nesterov: bool = False
    State = LARSState

    def __post_init__(self):
        self._check(
            lr=_lr,
            mu=_mu,
            trust_coefficient=_checks.positive,
            weight_decay=_checks.non_negative,
            eps=_checks.non_negative,
            ratio=_ratio,
            nesterov=_flag,
        )

    def step(self, x, grad_fn, state):
        t, v = self.unpack(state, x)
        gamma, mu, eta = self.lr_at(t), self.mu_at(t), self.trust_coefficient
        beta, eps = self.weight_decay, self.eps
        g = gradient(grad_fn, x, t)
        u = g + beta * x
        if self.ratio == "paper":
            norms = np.linalg.norm(g) + beta * np.linalg.norm(x)
        else:  # optax: the norm of the decayed gradient
            norms = np.linalg.norm(u)
        lam = trust_ratio(eta * np.linalg.norm(x), norms, eps)
        v = mu * v + gamma * lam * u
        x = x - (mu * v + gamma * lam * u if self.nesterov else v)
        return finite(x, t), LARSState(t + 1, v)


@dataclass(frozen=True)
class LAMB(AdamFamily):
    r"""LAMB, layer-wise adaptive moments (You et al. 2020, Algorithm 2).

    $$
    \begin{aligned}
    m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
    v &\leftarrow \beta_2 v + (1 - \beta_2)\, g^2 \\
    \hat m &= m / (1 - \beta_1^{t+1}), \quad \hat v = v / (1 - \beta_2^{t+1}) \\
    r &= \hat m / (\sqrt{\hat v} + \epsilon) \\
    x &\leftarrow x - \eta\, \frac{\lVert x \rVert}{\lVert r + \lambda x \rVert}\,
        (r + \lambda x)
    \end{aligned}
    $$

    :math:`x` is one layer (the paper's :math:`x^{(i)}`); the paper's scaling
    :math:`\phi(\lVert x\rVert)` is the identity here, as in optax. Algorithm 2
    of the paper (ICLR 2020 version) has Adam's bias correction, and so does
    ``optax.lamb`` (its ``scale_by_adam``); some earlier implementations leave
    it out: ``bias_correction=False`` does. The paper counts steps from 1, so
    its :math:`\beta^t` is :math:`\beta^{t+1}` here, and its overwritten
    :math:`m_t \leftarrow m_t/(1-\beta_1^t)` is read, as everywhere, as a
    corrected copy that the next step does not average. The ratio is 1 when
    :math:`\lVert x\rVert = 0` or :math:`\lVert r + \lambda x\rVert = 0`
    (optax's convention): a zero layer takes a step of length :math:`\eta`
    times :math:`\lVert r\rVert`. Every step of a non-zero layer has length
    exactly :math:`\eta\lVert x\rVert`. ``LAMB`` is ``optax.lamb`` step for
    step with the same :math:`\eta, \beta_1, \beta_2, \epsilon, \lambda`.
    Defaults :math:`\beta_1 = 0.9`, :math:`\beta_2 = 0.999`,
    :math:`\epsilon = 10^{-6}`, :math:`\lambda = 0` (optax's);
    :math:`\eta = 10^{-3}` is this package's Adam default (``optax.lamb`` has
    no default rate).
    """

    eps: float = 1e-6
    weight_decay: float = 0.0
    bias_correction: bool = True

    def __post_init__(self):
        super().__post_init__()
        self._check(weight_decay=_checks.non_negative, bias_correction=_flag)

    def step(self, x, grad_fn, state):
        t, m, v = self.unpack(state, x)
        eta, beta1, beta2, eps = self.lr_at(t), self.beta1, self.beta2, self.eps
        lam = self.weight_decay
        g = gradient(grad_fn, x, t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        if self.bias_correction:
            m_hat = m / (1 - beta1 ** (t + 1))
            v_hat = v / (1 - beta2 ** (t + 1))
        else:
            m_hat, v_hat = m, v
        r = m_hat / (np.sqrt(v_hat) + eps)
        u = r + lam * x
        ratio = trust_ratio(np.linalg.norm(x), np.linalg.norm(u))
        x = x - eta * ratio * u
        return finite(x, t), AdamState(t + 1, m, v)
