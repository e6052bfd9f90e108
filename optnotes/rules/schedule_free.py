r"""Schedule-free training (chapter: Training without a schedule).

Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky (2024), "The Road Less
Scheduled". Three sequences: the base iterate z (plain SGD or Adam steps), the
average x (what a user evaluates), and the point y between them, where the
gradient is taken. The rules here return x, the point to evaluate; the state
holds z, and y is rebuilt from x and z inside ``step``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import _checks
from .base import Rule, _lr, finite, gradient


class ScheduleFreeState(NamedTuple):
    t: int
    z: np.ndarray  # the base sequence, where the steps are taken
    weight_sum: float  # the sum of the averaging weights so far
    gamma_max: float  # the largest rate so far (it sets the weights)


class ScheduleFreeAdamWState(NamedTuple):
    t: int
    z: np.ndarray
    v: np.ndarray  # Adam's second moment of the gradients at y
    weight_sum: float
    gamma_max: float


def _interpolation(name, value):
    """beta of the interpolation y = (1 - beta) z + beta x: any value in [0, 1]."""
    return _checks.number(name, value, low=0.0, high=1.0)


def _steps(name, value):
    return _checks.whole(name, value, low=0)


@dataclass(frozen=True)
class _ScheduleFree(Rule):
    """What both schedule-free rules share: the warm-up, the averaging weights,
    and a state whose z starts at x0 (not at zero) and whose weight sum and
    largest rate are numbers."""

    def _check_shared(self, **more):
        self._check(
            lr=_lr,
            weight_decay=_checks.non_negative,
            warmup_steps=_steps,
            weight_lr_power=_checks.non_negative,
            r=_checks.non_negative,
            **more,
        )

    def warmed(self, t: int) -> float:
        """The rate of step t: the rate (or schedule) times min(1, (t+1)/T)."""
        gamma, warmup = self.lr_at(t), self.warmup_steps
        return gamma * min(1.0, (t + 1) / warmup) if warmup else gamma

    def weight(self, t: int, gamma_max: float) -> float:
        """The averaging weight of step t (counted from 0), as the authors' code."""
        return (t + 1) ** self.r * gamma_max**self.weight_lr_power

    def init(self, x0):
        x0 = _checks.parameters("x0", x0)
        arrays = [x0.copy()] + [np.zeros_like(x0) for _ in self.State._fields[2:-2]]
        return self.State(0, *arrays, 0.0, 0.0)

    def unpack(self, state, x):
        if not isinstance(state, self.State):
            name = type(self).__name__
            raise TypeError(
                f"{name}.step takes the state made by {name}.init "
                f"({self.State.__name__}), got {type(state).__name__}"
            )
        for name in self.buffers:
            buffer = getattr(state, name)
            if np.shape(buffer) != x.shape:
                raise ValueError(
                    f"the state's {name} has shape {np.shape(buffer)} but the "
                    f"parameters have shape {x.shape}: was the state made for "
                    "other parameters?"
                )
        return state

    @property
    def buffers(self) -> tuple[str, ...]:
        return self.State._fields[1:-2]  # the arrays; the two numbers are not


@dataclass(frozen=True)
class ScheduleFreeSGD(_ScheduleFree):
    r"""Schedule-Free SGD (Defazio et al. 2024; the weights of Algorithm 1).

    $$
    \begin{aligned}
    \gamma &= \gamma_0 \min\bigl(1, (t + 1)/T_w\bigr)
      \quad (\gamma_0 \text{ the rate, } T_w \text{ the warm-up}) \\
    y &= (1 - \beta)\, z + \beta\, x \\
    z &\leftarrow z - \gamma\, \bigl(g(y) + \lambda y\bigr) \\
    \gamma_{\max} &\leftarrow \max(\gamma_{\max}, \gamma), \quad
    w = (t + 1)^r \gamma_{\max}^p, \quad W \leftarrow W + w \\
    c &= w / W \\
    x &\leftarrow (1 - c)\, x + c\, z
    \end{aligned}
    $$

    The gradient is taken at y, between the base iterate z and the average x;
    the rule returns x, the point to evaluate. The rate of step t (from 0) is
    :math:`\gamma = \gamma_0 \min(1, (t+1)/T_w)` with ``warmup_steps``
    :math:`T_w` (no warm-up when 0). With ``r`` = 0 and a constant rate every
    weight is equal and :math:`c = 1/(t+1)`: x is the plain mean of
    :math:`z_1, \dots, z_{t+1}`. During a warm-up the weights grow as
    :math:`\gamma^p` (``weight_lr_power`` p = 2: the paper's
    :math:`c_{t+1} = \gamma_t^2 / \sum_i \gamma_i^2`), so the small early
    steps count little. :math:`\beta = 0` is Polyak averaging of SGD (the
    gradient at z), :math:`\beta = 1` primal averaging (the gradient at x).

    Defaults :math:`\gamma_0 = 1`, :math:`\beta = 0.9`, :math:`T_w = 0`,
    p = 2, r = 0, :math:`\lambda = 0`: the authors' ``SGDScheduleFree`` (its
    ``momentum`` is β, which it requires in (0, 1); here [0, 1]) and optax's
    ``contrib.schedule_free_sgd`` (which requires β > 0 and has no r). The
    decay λ is taken at y and scaled by the rate, as both do. The authors'
    code keeps y in the model's parameters and x only implicitly; optax
    returns y as ``params`` and recovers x with ``schedule_free_eval_params``
    (dividing by β). optax's warm-up moves z with the rate of the step before
    (its base SGD counts from 0, its weights from 1), so its first step
    leaves z where it is; without warm-up the two agree.
    """

    lr: float = 1.0
    beta: float = 0.9
    warmup_steps: int = 0
    weight_lr_power: float = 2.0
    r: float = 0.0
    weight_decay: float = 0.0
    State = ScheduleFreeState

    def __post_init__(self):
        self._check_shared(beta=_interpolation)

    def step(self, x, grad_fn, state):
        t, z, weight_sum, gamma_max = self.unpack(state, x)
        beta, lam, gamma = self.beta, self.weight_decay, self.warmed(t)
        y = (1 - beta) * z + beta * x
        g = gradient(grad_fn, y, t)
        z = z - gamma * (g + lam * y)
        gamma_max = max(gamma_max, gamma)
        w = self.weight(t, gamma_max)
        weight_sum = weight_sum + w
        c = w / weight_sum if weight_sum > 0 else 0.0
        x = (1 - c) * x + c * z
        return finite(x, t), ScheduleFreeState(t + 1, z, weight_sum, gamma_max)


def _correction(name, value):
    if value not in ("v", "rate"):
        raise ValueError(f"{name} must be 'v' or 'rate', got {value!r}")
    return value


@dataclass(frozen=True)
class ScheduleFreeAdamW(_ScheduleFree):
    r"""Schedule-Free AdamW (Defazio et al. 2024, Algorithm 1).

    $$
    \begin{aligned}
    \gamma &= \gamma_0 \min\bigl(1, (t + 1)/T_w\bigr)
      \quad (\gamma_0 \text{ the rate, } T_w \text{ the warm-up}) \\
    y &= (1 - \beta_1)\, z + \beta_1\, x \\
    v &\leftarrow \beta_2 v + (1 - \beta_2)\, g(y)^2, \quad
    \hat v = v / (1 - \beta_2^{t+1}) \\
    &\text{(the paper's form: } \hat v = v,\
      \gamma \leftarrow \gamma \sqrt{1 - \beta_2^{t+1}} \text{)} \\
    z &\leftarrow z - \gamma\, \Bigl(\frac{g(y)}{\sqrt{\hat v} + \epsilon}
        + \lambda y\Bigr) \\
    \gamma_{\max} &\leftarrow \max(\gamma_{\max}, \gamma), \quad
    w = (t + 1)^r \gamma_{\max}^p, \quad W \leftarrow W + w \\
    c &= w / W \\
    x &\leftarrow (1 - c)\, x + c\, z
    \end{aligned}
    $$

    Adam without its first moment: z takes Adam's steps with :math:`\beta_1 = 0`,
    and :math:`\beta_1` is the interpolation weight instead. The rate of step t
    is :math:`\gamma = \gamma_0 \min(1, (t+1)/T_w)`, the weights as
    ``ScheduleFreeSGD``'s; the rule returns x.

    The bias correction: with ``bias_correction="v"`` (the default) it divides
    v, as the authors' ``AdamWScheduleFree`` since its "stability improvements"
    of November 2024 and optax's ``contrib.schedule_free_adamw``. The paper's
    Algorithm 1 (and the authors' ``AdamWScheduleFreePaper``) folds it into the
    rate instead, :math:`\gamma = \gamma_0 \sqrt{1-\beta_2^{t+1}}\min(1,
    (t+1)/T_w)` with :math:`\hat v = v`, ``bias_correction="rate"``: ε then
    counts :math:`1/\sqrt{1-\beta_2^{t+1}}` times more early on, and the
    weights :math:`\gamma_{\max}^2` carry the factor :math:`1-\beta_2^{t+1}`,
    so they keep growing for some :math:`1/(1-\beta_2)` steps after the
    warm-up.

    Defaults :math:`\gamma_0 = 0.0025`, :math:`\beta_1 = 0.9`,
    :math:`\beta_2 = 0.999`, :math:`\epsilon = 10^{-8}`, :math:`\lambda = 0`,
    :math:`T_w = 0`, p = 2, r = 0: the authors' and optax's (optax has no
    r). Both need :math:`\beta_1 > 0` to recover x from y, which divides by
    :math:`\beta_1`: optax says so, and the authors' ``eval()`` computes
    :math:`1 - 1/\beta_1`. This rule returns x instead of recovering it from
    y, so any :math:`\beta_1` in [0, 1] runs here. The decay is taken at y and
    scaled by the rate, as both do. optax's warm-up is one step behind in z,
    as for SGD.
    """

    lr: float = 0.0025
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    warmup_steps: int = 0
    weight_lr_power: float = 2.0
    r: float = 0.0
    bias_correction: str = "v"
    State = ScheduleFreeAdamWState

    def __post_init__(self):
        self._check_shared(
            beta1=_interpolation,
            beta2=_checks.decay,
            eps=_checks.positive,
            bias_correction=_correction,
        )

    def step(self, x, grad_fn, state):
        t, z, v, weight_sum, gamma_max = self.unpack(state, x)
        beta1, beta2, eps = self.beta1, self.beta2, self.eps
        lam, gamma = self.weight_decay, self.warmed(t)
        y = (1 - beta1) * z + beta1 * x
        g = gradient(grad_fn, y, t)
        v = beta2 * v + (1 - beta2) * g**2
        if self.bias_correction == "v":  # the authors' code now, and optax
            v_hat = v / (1 - beta2 ** (t + 1))
        else:  # the paper's Algorithm 1: into the rate
            gamma, v_hat = gamma * np.sqrt(1 - beta2 ** (t + 1)), v
        z = z - gamma * (g / (np.sqrt(v_hat) + eps) + lam * y)
        gamma_max = max(gamma_max, gamma)
        w = self.weight(t, gamma_max)
        weight_sum = weight_sum + w
        c = w / weight_sum if weight_sum > 0 else 0.0
        x = (1 - c) * x + c * z
        new = ScheduleFreeAdamWState(t + 1, z, v, weight_sum, gamma_max)
        return finite(x, t), new


__all__ = [
    "ScheduleFreeAdamW",
    "ScheduleFreeAdamWState",
    "ScheduleFreeSGD",
    "ScheduleFreeState",
]
