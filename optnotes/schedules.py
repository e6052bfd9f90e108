r"""Learning-rate (and momentum) schedules: plain callables of the step count.

A schedule maps the step count :math:`t = 0, 1, 2, \dots` to a value; the rule
calls it as ``lr(t)`` on step ``t``, so the first update sees ``lr(0)`` (as optax
and Keras's schedules do). Every schedule also takes an array of steps, which is
how the book plots :math:`\alpha(t)`::

    lr = step_decay(0.1, factor=0.5, every=10)
    lr(0), lr(10), lr(np.arange(30))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _checks


def _steps(t):
    """Check the step count(s): whole numbers >= 0."""
    array = np.asarray(t)
    if array.dtype.kind not in "iu" or np.any(array < 0):
        raise ValueError(f"a schedule takes step counts t = 0, 1, 2, ..., got {t!r}")
    return array


def _period(name, value):
    return _checks.whole(name, value, low=1)


def _fraction(name, value):
    return _checks.number(name, value, low=0.0, high=1.0, low_open=True)


def _value(result, t):
    """A float for a single step, an array for an array of steps."""
    return float(result) if np.ndim(t) == 0 else np.asarray(result, dtype=np.float64)


@dataclass(frozen=True)
class constant:
    r""":math:`\alpha(t) = \alpha_0`."""

    value: float

    def __post_init__(self):
        _checks.store(self, value=_checks.non_negative)

    def __call__(self, t):
        t = _steps(t)
        return _value(np.full(np.shape(t), self.value), t)


@dataclass(frozen=True)
class step_decay:
    r""":math:`\alpha(t) = \alpha_0\, \gamma^{\lfloor t / T \rfloor}`: multiply by
    ``factor`` every ``every`` steps. PyTorch's ``StepLR(step_size=every, gamma=factor)``
    gives the same value after t calls of ``scheduler.step()``."""

    initial: float
    factor: float
    every: int

    def __post_init__(self):
        _checks.store(self, initial=_checks.positive, factor=_fraction, every=_period)

    def __call__(self, t):
        t = _steps(t)
        return _value(self.initial * self.factor ** (t // self.every), t)


@dataclass(frozen=True)
class _Decay:
    """An initial value and a decay constant k >= 0, checked."""

    initial: float
    k: float

    def __post_init__(self):
        _checks.store(self, initial=_checks.positive, k=_checks.non_negative)


@dataclass(frozen=True)
class exponential_decay(_Decay):
    r""":math:`\alpha(t) = \alpha_0\, e^{-k t}`."""

    def __call__(self, t):
        t = _steps(t)
        return _value(self.initial * np.exp(-self.k * t), t)


@dataclass(frozen=True)
class inverse_time_decay(_Decay):
    r""":math:`\alpha(t) = \alpha_0 / (1 + k t)`."""

    def __call__(self, t):
        t = _steps(t)
        return _value(self.initial / (1 + self.k * t), t)


@dataclass(frozen=True)
class inverse_sqrt_decay(_Decay):
    r""":math:`\alpha(t) = \alpha_0 / \sqrt{1 + k t}`: the decay of SGD's convergence
    theory for convex problems (and Adagrad's own, for a constant gradient)."""

    k: float = 1.0

    def __call__(self, t):
        t = _steps(t)
        return _value(self.initial / np.sqrt(1 + self.k * t), t)


@dataclass(frozen=True)
class cosine_decay:
    r"""Cosine decay from ``initial`` down to ``final`` over ``total`` steps, then flat.

    $$ \alpha(t) = \alpha_T + (\alpha_0 - \alpha_T)\,
       \tfrac12\bigl(1 + \cos(\pi \min(t, T)/T)\bigr) $$
    (Loshchilov & Hutter 2017, one cycle without restarts).
    """

    initial: float
    total: int
    final: float = 0.0

    def __post_init__(self):
        _checks.store(self, initial=_checks.positive, total=_period)
        _checks.store(self, final=self._at_most_initial)

    def _at_most_initial(self, name, value):
        return _checks.number(name, value, low=0.0, high=self.initial)

    def __call__(self, t):
        t = _steps(t)
        progress = np.minimum(t, self.total) / self.total
        return _value(
            self.final + (self.initial - self.final) * 0.5 * (1 + np.cos(math.pi * progress)), t
        )


@dataclass(frozen=True)
class linear_warmup:
    r"""A linear ramp over the first ``steps`` steps into ``target``, a number or a schedule.

    :math:`\alpha(t) = \alpha^\ast(0)\,(t + 1)/T` for :math:`t < T`, then
    :math:`\alpha^\ast(t - T)`: the target schedule starts its own count when the
    warm-up ends. The first step already moves (:math:`\alpha(0) = \alpha^\ast(0)/T`),
    and the last warm-up step reaches the target.
    """

    target: object
    steps: int

    def __post_init__(self):
        if not callable(self.target):
            _checks.store(self, target=lambda name, v: constant(_checks.positive(name, v)))
        _checks.store(self, steps=_period)

    def __call__(self, t):
        t = _steps(t)
        warming = t < self.steps
        ramp = self.target(0) * (t + 1) / self.steps
        after = self.target(np.maximum(t - self.steps, 0))
        return _value(np.where(warming, ramp, after), t)


@dataclass(frozen=True)
class momentum_ramp:
    r"""Momentum annealing: :math:`\mu` rises linearly from ``start`` to ``end`` over
    ``steps`` steps, then stays at ``end``. A simpler stand-in for Sutskever et al.'s
    (2013, eq. 5) schedule, :math:`\mu_t = \min(1 - 2^{-1-\log_2(\lfloor t/250\rfloor+1)},
    \mu_{\max})`, which starts at 0.5 and makes the memory
    :math:`1/(1-\mu_t) = 2(\lfloor t/250\rfloor+1)` two steps longer every 250 steps, up to a
    cap such as 0.99."""

    start: float = 0.5
    end: float = 0.99
    steps: int = 100

    def __post_init__(self):
        _checks.store(self, start=_checks.decay, end=_checks.decay, steps=_period)

    def __call__(self, t):
        t = _steps(t)
        fraction = np.minimum(t, self.steps) / self.steps
        return _value(self.start + (self.end - self.start) * fraction, t)
