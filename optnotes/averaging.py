r"""Iterate averaging, around any rule: the rule steps as before, and its state
also keeps an average of its iterates, the point to evaluate.

Averaging is the other way below SGD's noise floor: keep the rate, and
average the noise out of the iterates instead of shrinking the steps::

    rule = PolyakAverage(SGD(lr=0.1))
    x, state = x0, rule.init(x0)
    for _ in range(1000):
        x, state = rule.step(x, grad_fn, state)   # x: SGD's own iterate
    state.average                                  # the average of x_1, ..., x_t
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import _checks
from .rules import Rule, a_rule


class AveragedState(NamedTuple):
    t: int  # steps taken
    inner: NamedTuple  # the wrapped rule's state
    average: np.ndarray  # the average of the iterates x_1, ..., x_t (x_0 at t = 0)


@dataclass(frozen=True)
class _Averaged(Rule):
    """A rule whose state also averages the iterates of the rule it wraps."""

    rule: Rule
    State = AveragedState

    def init(self, x0) -> AveragedState:
        return AveragedState(0, self.rule.init(x0), _checks.parameters("x0", x0).copy())

    @property
    def buffers(self) -> tuple[str, ...]:
        return (*self.rule.buffers, "average")

    def step(self, x, grad_fn, state):
        if not isinstance(state, AveragedState):
            raise TypeError(
                f"{type(self).__name__}.step takes the state made by its init "
                f"(AveragedState), got {type(state).__name__}"
            )
        x, inner = self.rule.step(x, grad_fn, state.inner)
        t = state.t + 1
        return x, AveragedState(t, inner, self.average(state.average, x, t))


@dataclass(frozen=True)
class PolyakAverage(_Averaged):
    r"""Polyak–Ruppert averaging (Polyak & Juditsky 1992; Ruppert 1988).

    $$ \bar x_t = \bar x_{t-1} + \frac{x_t - \bar x_{t-1}}{t - s} $$

    The plain mean of the iterates after step ``start`` s,
    :math:`x_{s+1}, \dots, x_t` (until then :math:`\bar x_t = x_t`). With
    s = 0 it averages them all, the start's transient too; a later start
    (tail averaging) leaves that out. PyTorch's ``swa_utils.AveragedModel``
    (equal weights), updated after every step from step s + 1 on. Stochastic
    weight averaging (Izmailov et al. 2018) is this mean taken once per epoch
    or cycle, from a late start, then batch-norm statistics recomputed.

    Polyak and Juditsky's theorem is for a decaying rate (slower than 1/t);
    with a constant rate the mean converges to the minimum on least squares,
    where the gradient is linear in x, but in general only to within O(α)
    of it (Dieuleveut, Durmus & Bach 2020).
    """

    start: int = 0

    def __post_init__(self):
        self._check(rule=a_rule, start=lambda name, v: _checks.whole(name, v, low=0))

    def average(self, x_bar, x, t):
        s = self.start
        x_bar = x if t <= s + 1 else x_bar + (x - x_bar) / (t - s)
        return x_bar


@dataclass(frozen=True)
class EMAWeights(_Averaged):
    r"""An exponential moving average of the weights.

    $$ \tilde x_t = \beta\, \tilde x_{t-1} + (1 - \beta)\, x_t,
       \qquad \tilde x_1 = x_1 $$

    It forgets the early iterates, with a memory of about :math:`1/(1 - \beta)`
    steps. PyTorch's ``AveragedModel`` with ``get_ema_multi_avg_fn(β)`` and
    Keras's ``use_ema=True, ema_momentum=β``, both updated after every step.
    """

    decay: float = 0.99

    def __post_init__(self):
        self._check(rule=a_rule, decay=_checks.decay)

    def average(self, x_tilde, x, t):
        beta = self.decay
        x_tilde = x if t == 1 else beta * x_tilde + (1 - beta) * x
        return x_tilde
