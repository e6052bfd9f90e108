r"""Plain gradient descent, and with a fixed preconditioner (chapter: the training loop)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import _checks
from .base import Rule, _lr, finite, gradient

# --- Plain gradient descent ------------------------------------------------------


class SGDState(NamedTuple):
    t: int


@dataclass(frozen=True)
class SGD(Rule):
    r"""Gradient descent (Robbins & Monro 1951 for the stochastic version).

    $$ x \leftarrow x - \alpha\, g(x) $$

    Default :math:`\alpha = 10^{-2}`, as CS231n's ``sgd``.
    """

    lr: float = 1e-2
    State = SGDState

    def __post_init__(self):
        self._check(lr=_lr)

    def step(self, x, grad_fn, state):
        (t,) = self.unpack(state, x)
        alpha = self.lr_at(t)
        g = gradient(grad_fn, x, t)
        x = x - alpha * g
        return finite(x, t), SGDState(t + 1)


@dataclass(frozen=True)
class Preconditioned(Rule):
    r"""Preconditioned gradient descent: a fixed matrix reshapes every step.

    $$ x \leftarrow x - \alpha\, P\, g(x) $$

    With :math:`P = H^{-1}` on a quadratic with Hessian :math:`H` and
    :math:`\alpha = 1` this is Newton's method, which lands on the minimum in one
    step; with :math:`P = \operatorname{diag}(H)^{-1}` it is a per-parameter
    rescaling, the kind the adaptive methods build from gradients alone, without
    the Hessian. It needs
    a preconditioner, so it has no defaults and is not in ``ALL_RULES``.
    """

    lr: float
    preconditioner: np.ndarray
    State = SGDState

    def __post_init__(self):
        self._check(lr=_lr, preconditioner=_checks.square_matrix)

    def step(self, x, grad_fn, state):
        (t,) = self.unpack(state, x)
        alpha, P = self.lr_at(t), self.preconditioner
        g = gradient(grad_fn, x, t)
        x = x - alpha * P @ g
        return finite(x, t), SGDState(t + 1)
