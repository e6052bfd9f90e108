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


def _at_most(limit):
    """A check that a value lies in [0, limit] (a schedule's floor, at most its start)."""
    return lambda name, value: _checks.number(name, value, low=0.0, high=limit)


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
    r"""Step decay (He et al. 2016, §3.4).

    Multiply by ``factor`` every ``every`` steps.

    $$ \alpha(t) = \alpha_0\, \gamma^{\lfloor t / T \rfloor} $$

    PyTorch's ``StepLR(step_size=every, gamma=factor)`` gives the same value after
    t calls of ``scheduler.step()``."""

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
    r"""Exponential decay.

    $$ \alpha(t) = \alpha_0\, e^{-k t} $$
    """

    def __call__(self, t):
        t = _steps(t)
        return _value(self.initial * np.exp(-self.k * t), t)


@dataclass(frozen=True)
class inverse_time_decay(_Decay):
    r"""1/t decay (the rates of Robbins & Monro 1951).

    $$ \alpha(t) = \frac{\alpha_0}{1 + k t} $$
    """

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
    r"""Cosine decay (Loshchilov & Hutter 2017, eq. 5, one cycle without restarts).

    From ``initial`` down to ``final`` over ``total`` steps, then flat.

    $$ \alpha(t) = \alpha_T + (\alpha_0 - \alpha_T)\,
       \tfrac12\bigl(1 + \cos(\pi \min(t, T)/T)\bigr) $$
    """

    initial: float
    total: int
    final: float = 0.0

    def __post_init__(self):
        _checks.store(self, initial=_checks.positive, total=_period)
        _checks.store(self, final=_at_most(self.initial))

    def __call__(self, t):
        t = _steps(t)
        progress = np.minimum(t, self.total) / self.total
        cosine = 0.5 * (1 + np.cos(math.pi * progress))
        return _value(self.final + (self.initial - self.final) * cosine, t)


@dataclass(frozen=True)
class linear_warmup:
    r"""Linear warm-up (Goyal et al. 2017, §2.2).

    A ramp over the first ``steps`` steps into ``target``, a number or a schedule.

    $$ \alpha(t) = \begin{cases} \alpha^\ast(0)\,(t + 1)/T & t < T \\
       \alpha^\ast(t - T) & t \ge T \end{cases} $$

    The target schedule starts its own count when the warm-up ends. The first
    step already moves (:math:`\alpha(0) = \alpha^\ast(0)/T`), and the last
    warm-up step reaches the target. (Goyal et al.'s ramp started higher, at the
    small-batch rate, 1/k of the target for k times the batch.)
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


@dataclass(frozen=True)
class polynomial_decay:
    r"""Polynomial decay, and linear decay (``power`` = 1).

    From ``initial`` to ``final`` over ``total`` steps, then flat.

    $$ \alpha(t) = \alpha_T + (\alpha_0 - \alpha_T)\,\bigl(1 - \min(t, T)/T\bigr)^p $$

    ``power`` p = 1 is linear decay to ``final`` (to zero by default). The same
    values as optax's ``polynomial_schedule``, Keras's ``PolynomialDecay`` and, for
    ``final`` = 0, PyTorch's ``PolynomialLR(total_iters=T, power=p)``.
    """

    initial: float
    total: int
    power: float = 1.0
    final: float = 0.0

    def __post_init__(self):
        _checks.store(self, initial=_checks.positive, total=_period, power=_checks.positive)
        _checks.store(
            self, final=lambda name, v: _checks.number(name, v, low=0.0, high=self.initial)
        )

    def __call__(self, t):
        t = _steps(t)
        left = (1 - np.minimum(t, self.total) / self.total) ** self.power
        return _value(self.final + (self.initial - self.final) * left, t)


@dataclass(frozen=True)
class cosine_restarts:
    r"""Cosine annealing with warm restarts (SGDR; Loshchilov & Hutter 2017, eq. 5).

    $$ \alpha(t) = \alpha_{\min} + (\alpha_0 - \alpha_{\min})\,
       \tfrac12\bigl(1 + \cos(\pi\, t_{\text{cur}} / T_i)\bigr) $$

    where :math:`t_{\text{cur}}` counts the steps since the last restart and the
    i-th cycle lasts :math:`T_i = T_0\, m^i` steps (``period`` :math:`T_0`,
    ``mult`` m). At a restart the rate jumps back to :math:`\alpha_0`; the last
    step of a cycle is one step short of :math:`\alpha_{\min}`. PyTorch's
    ``CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)`` stepped once per update.
    """

    initial: float
    period: int
    mult: int = 1
    final: float = 0.0

    def __post_init__(self):
        _checks.store(self, initial=_checks.positive, period=_period, mult=_period)
        _checks.store(
            self, final=lambda name, v: _checks.number(name, v, low=0.0, high=self.initial)
        )

    def __call__(self, t):
        t = _steps(t)
        if self.mult == 1:  # cycles of T0 steps each
            since, cycle = t % self.period, self.period
        else:  # cycles start at 0, T0, T0 + T0 m, ... (exact integers)
            starts, length = [0], self.period
            while starts[-1] <= np.max(t):
                starts.append(starts[-1] + length)
                length *= self.mult
            starts = np.array(starts)
            i = np.searchsorted(starts, t, side="right") - 1
            since, cycle = t - starts[i], starts[i + 1] - starts[i]
        cosine = 0.5 * (1 + np.cos(math.pi * since / cycle))
        return _value(self.final + (self.initial - self.final) * cosine, t)


ANNEALS = {
    # from a to b as the fraction f of the phase goes from 0 to 1
    "cos": lambda a, b, f: b + (a - b) * 0.5 * (1 + np.cos(math.pi * f)),
    "linear": lambda a, b, f: a + (b - a) * f,
}


def _anneal(name, value):
    if not isinstance(value, str) or value not in ANNEALS:
        raise ValueError(f"{name} must be one of {sorted(ANNEALS)}, got {value!r}")
    return value


def _phases(t, anneal: str, points: list[tuple[int, float]]):
    """Values at the steps ``t``, annealed between (step, value) points; flat after the last."""
    steps = [s for s, _ in points]
    t_in = np.minimum(t, steps[-1])
    k = np.clip(np.searchsorted(steps, t_in, side="right") - 1, 0, len(points) - 2)
    (s0, v0), (s1, v1) = np.array(points)[k].T, np.array(points)[k + 1].T
    return ANNEALS[anneal](v0, v1, (t_in - s0) / (s1 - s0))


@dataclass(frozen=True)
class one_cycle:
    r"""The one-cycle policy (Smith & Topin 2019).

    Up from :math:`\alpha_{\max}/d` to ``peak`` :math:`\alpha_{\max}` over the
    first ``warmup`` steps W, then down to :math:`\alpha_{\max}/(d\, d_f)` at step
    ``total`` T, and flat after it.

    $$ \alpha(t) = \begin{cases}
       a\bigl(\alpha_{\max}/d,\ \alpha_{\max},\ t/W\bigr) & t \le W \\
       a\bigl(\alpha_{\max},\ \alpha_{\max}/(d\,d_f),\ (t - W)/(T - W)\bigr) & W < t \le T \\
       \alpha_{\max}/(d\,d_f) & t > T
       \end{cases} \qquad a(u, v, f) = v + (u - v)\,\tfrac12(1 + \cos \pi f) $$

    Each phase anneals by ``anneal``: a half cosine (``"cos"``, the :math:`a` above)
    or a straight line (``"linear"``, :math:`a(u, v, f) = u + (v - u) f`).
    With ``back`` (three phases), the rate first returns to :math:`\alpha_{\max}/d`
    at step ``back`` and only then falls to the minimum, as in Smith & Topin's
    cycle followed by a short annihilation phase. Step counts: optax's
    ``cosine_onecycle_schedule(T, α, p)`` is ``warmup = int(p T)``, ``total = T``;
    PyTorch's ``OneCycleLR(total_steps=N, pct_start=p)`` puts the peak at step
    :math:`pN - 1` and the minimum at :math:`N - 1` (``warmup = pN - 1``,
    ``total = N - 1``).
    """

    peak: float
    warmup: int
    total: int
    div: float = 25.0
    final_div: float = 1e4
    anneal: str = "cos"
    back: int | None = None

    def __post_init__(self):
        _checks.store(self, peak=_checks.positive, warmup=_period, anneal=_anneal)
        _checks.store(self, div=self._at_least_one, final_div=self._at_least_one)
        if self.back is not None:
            _checks.store(self, back=lambda n, v: _checks.whole(n, v, low=self.warmup + 1))
        last = self.warmup if self.back is None else self.back
        _checks.store(self, total=lambda n, v: _checks.whole(n, v, low=last + 1))

    @staticmethod
    def _at_least_one(name, value):
        return _checks.number(name, value, low=1.0)

    def points(self, low: float, high: float, end: float) -> list[tuple[int, float]]:
        middle = [] if self.back is None else [(self.back, low)]
        return [(0, low), (self.warmup, high), *middle, (self.total, end)]

    def __call__(self, t):
        t = _steps(t)
        start = self.peak / self.div
        points = self.points(start, self.peak, start / self.final_div)
        return _value(_phases(t, self.anneal, points), t)


@dataclass(frozen=True)
class one_cycle_momentum:
    r"""The momentum of the one-cycle policy (Smith & Topin 2019): down from
    ``high`` to ``low`` while the rate rises, back up while it falls (in three
    phases, up while the rate returns and then flat), the same ``cycle``'s steps
    and anneal. PyTorch's ``OneCycleLR`` with ``cycle_momentum=True``
    (``base_momentum`` = low, ``max_momentum`` = high)."""

    cycle: one_cycle
    low: float = 0.85
    high: float = 0.95

    def __post_init__(self):
        if not isinstance(self.cycle, one_cycle):
            raise ValueError(f"cycle must be a one_cycle schedule, got {self.cycle!r}")
        _checks.store(self, low=_checks.decay, high=_checks.decay)
        if self.low > self.high:
            raise ValueError(f"low must be at most high, got low={self.low}, high={self.high}")

    def __call__(self, t):
        t = _steps(t)
        points = self.cycle.points(self.high, self.low, self.high)
        return _value(_phases(t, self.cycle.anneal, points), t)


WSD_SHAPES = {
    # the fraction of (peak − final) left, as the decay's fraction x goes from 0 to 1
    "linear": lambda x: 1 - x,
    "cosine": lambda x: 0.5 * (1 + np.cos(math.pi * x)),
    "1-sqrt": lambda x: 1 - np.sqrt(x),
}


def _shape(name, value):
    if not isinstance(value, str) or value not in WSD_SHAPES:
        raise ValueError(f"{name} must be one of {sorted(WSD_SHAPES)}, got {value!r}")
    return value


@dataclass(frozen=True)
class warmup_stable_decay:
    r"""Warm-up, stable, decay (Hu et al. 2024, MiniCPM's WSD scheduler).

    A linear warm-up into ``peak`` over ``warmup`` steps (as :class:`linear_warmup`), the
    peak held for ``stable`` steps, then a decay to ``final`` over ``decay`` steps,
    and flat after it.

    $$ \alpha(t) = \begin{cases} \alpha_{\max}\,(t + 1)/W & t < W \\
       \alpha_{\max} & W \le t < W + S \\
       \alpha_T + (\alpha_{\max} - \alpha_T)\,
       s\bigl(\min(1, (t - W - S)/D)\bigr) & t \ge W + S \end{cases} $$

    with the decay's ``shape`` s: ``"linear"`` (1 − x), ``"cosine"`` or
    ``"1-sqrt"`` (1 − √x, Hägele et al. 2024). The decay starts from the peak at
    step W + S and reaches ``final`` at step W + S + D (as :class:`cosine_decay`
    reaches its floor at ``total``). Hu et al.'s decay was exponential, which
    never reaches a floor; these shapes reach ``final`` at a set step.
    """

    peak: float
    warmup: int
    stable: int
    decay: int
    final: float = 0.0
    shape: str = "linear"

    def __post_init__(self):
        _checks.store(self, peak=_checks.positive, warmup=_period, decay=_period)
        _checks.store(self, stable=lambda n, v: _checks.whole(n, v, low=0), shape=_shape)
        _checks.store(self, final=_at_most(self.peak))

    def __call__(self, t):
        t = _steps(t)
        ramp = self.peak * (t + 1) / self.warmup
        x = np.clip((t - self.warmup - self.stable) / self.decay, 0.0, 1.0)
        after = self.final + (self.peak - self.final) * WSD_SHAPES[self.shape](x)
        return _value(np.where(t < self.warmup, ramp, after), t)
