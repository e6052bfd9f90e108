"""What every rule shares: the contract, the gradient and overflow checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np

from .. import _checks


def gradient(grad_fn, x: np.ndarray, t: int) -> np.ndarray:
    """Call ``grad_fn(x)`` once and check what it returns: same shape as x, finite."""
    if isinstance(x, dict):
        raise TypeError(
            "this rule takes the parameters as one array, got a dict of named "
            "arrays: use ByLayer(rule) for named layers, or, for a wrapper that "
            "needs all the parameters at once (global clipping), wrap "
            "ByLayer(rule, layout=net.layout), which works on the flat vector"
        )
    if not callable(grad_fn):
        raise TypeError(
            "grad_fn must be a function of x that returns the gradient "
            f"(for a problem, pass problem.grad), got {type(grad_fn).__name__}"
        )
    with np.errstate(all="ignore"):
        g = grad_fn(x)
    if g is None:
        raise ValueError(f"grad_fn returned None at step {t}: it must return the gradient")
    g = np.asarray(g, dtype=np.float64)
    if g.shape != x.shape:
        raise ValueError(
            f"grad_fn returned an array of shape {g.shape} at step {t}, "
            f"but the parameters have shape {x.shape}"
        )
    if not np.isfinite(g).all():
        raise FloatingPointError(f"the gradient at step {t} is not finite (inf or NaN)")
    return g


def finite(x: np.ndarray, t: int) -> np.ndarray:
    """Return the new parameters after checking the step did not overflow."""
    if not np.isfinite(x).all():
        raise FloatingPointError(
            f"the update at step {t} is not finite (inf or NaN): the iterates blew up; "
            "try a smaller learning rate"
        )
    return x


@dataclass(frozen=True)
class Rule:
    """What every rule shares: checking hyperparameters, state and schedules."""

    State: ClassVar[type]  # each rule names its own NamedTuple of state

    def _check(self, **checks) -> None:
        _checks.store(self, **checks)  # a frozen dataclass: store the checked values once

    def lr_at(self, t: int) -> float:
        return _checks.scheduled("lr", self.lr, t, _checks.schedule_value)

    def mu_at(self, t: int) -> float:
        return _checks.scheduled("mu", self.mu, t, _checks.decay)

    def init(self, x0) -> NamedTuple:
        """The state before the first step: every buffer zero, t = 0."""
        x0 = _checks.parameters("x0", x0)
        buffers = [np.zeros_like(x0) for _ in self.State._fields[1:]]
        return self.State(0, *buffers)

    def unpack(self, state, x: np.ndarray) -> NamedTuple:
        """Check that ``state`` is this rule's state for parameters shaped like ``x``."""
        if not isinstance(state, self.State):
            name = type(self).__name__
            raise TypeError(
                f"{name}.step takes the state made by {name}.init "
                f"({self.State.__name__}), got {type(state).__name__}"
            )
        for name, buffer in zip(state._fields[1:], state[1:], strict=True):
            if np.shape(buffer) != x.shape:
                raise ValueError(
                    f"the state's {name} has shape {np.shape(buffer)} but the parameters "
                    f"have shape {x.shape}: was the state made for other parameters?"
                )
        return state

    @property
    def buffers(self) -> tuple[str, ...]:
        """Names of the per-parameter buffers the rule keeps (its memory cost)."""
        return self.State._fields[1:]


def a_rule(name, value):
    """Check that a wrapper was given a rule (for clipping and averaging)."""
    if not isinstance(value, Rule):
        raise TypeError(f"{name} must be an optnotes rule (as Adam(lr=1e-3)), got {value!r}")
    return value


def _lr(name, value):
    return _checks.rate_or_schedule(name, value, _checks.positive)


def _mu(name, value):
    return _checks.rate_or_schedule(name, value, _checks.decay)
