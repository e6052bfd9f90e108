r"""Gradient clipping, around any rule: the rule sees the clipped gradient.

Pascanu, Mikolov & Bengio (2013, §3.2, Algorithm 1) rescale a gradient whose
norm passes a threshold; Goodfellow et al. (2016, §10.11.1) describe clipping
by norm and, elementwise, by value. Here each is a rule that wraps another::

    rule = ClipByNorm(Adam(lr=1e-3), max_norm=1.0)
    state = rule.init(x0)                 # the wrapped rule's state
    x1, state1 = rule.step(x0, grad_fn, state)

Wherever the wrapped rule calls the gradient (Nesterov at its look-ahead
point too), it gets the clipped one: what the frameworks do when the
gradients are clipped between the backward pass and ``optimizer.step()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks
from .rules import Rule, a_rule, gradient


@dataclass(frozen=True)
class _Clipped(Rule):
    """A rule that hands the rule it wraps a clipped gradient."""

    rule: Rule

    def init(self, x0):
        return self.rule.init(x0)

    @property
    def buffers(self) -> tuple[str, ...]:
        return self.rule.buffers

    def step(self, x, grad_fn, state):
        t = getattr(state, "t", 0)
        return self.rule.step(x, lambda y: self.clip(gradient(grad_fn, y, t)), state)


@dataclass(frozen=True)
class ClipByNorm(_Clipped):
    r"""Clipping by norm (Pascanu, Mikolov & Bengio 2013, Algorithm 1).

    $$ \hat g = g\, \min\!\left(1,\ \frac{c}{\|g\| + \epsilon}\right) $$

    A gradient longer than ``max_norm`` c is shortened to about c, its direction
    kept (Algorithm 1 has ε = 0 and clips when ‖g‖ ≥ c: the same). The norm is
    over all the parameters (the global norm). ε = 0 is optax's
    ``clip_by_global_norm`` and Keras's ``global_clipnorm``; PyTorch's
    ``clip_grad_norm_`` adds ε = 10⁻⁶ to the norm. (Keras's ``clipnorm`` clips
    each weight tensor by its own norm instead.) Around gradient descent the
    step is at most α c long; around Adam, whose step is bounded anyway, it
    limits what a large gradient puts into m and v.
    """

    max_norm: float = 1.0
    eps: float = 0.0

    def __post_init__(self):
        self._check(rule=a_rule, max_norm=_checks.positive, eps=_checks.non_negative)

    def clip(self, g: np.ndarray) -> np.ndarray:
        c, eps = self.max_norm, self.eps
        g_hat = g * min(1.0, c / (np.linalg.norm(g) + eps))
        return g_hat


@dataclass(frozen=True)
class ClipByValue(_Clipped):
    r"""Clipping by value (Goodfellow et al. 2016, §10.11.1): each coordinate of
    the gradient cut to [−c, c].

    $$ \hat g_i = \max\bigl(-c,\ \min(c,\ g_i)\bigr) $$

    The direction changes when some coordinates are cut and others are not.
    Mikolov's clipping (Pascanu et al. 2013, §3.1); PyTorch's
    ``clip_grad_value_`` and optax's ``clip``.
    """

    max_value: float = 1.0

    def __post_init__(self):
        self._check(rule=a_rule, max_value=_checks.positive)

    def clip(self, g: np.ndarray) -> np.ndarray:
        c = self.max_value
        g_hat = np.clip(g, -c, c)
        return g_hat
