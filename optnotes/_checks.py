"""Checks of user input shared by the rules, schedules, problems and the loop.

Each check raises an error that names the offending argument and the range it
must lie in, so that a reader who types a bad value into a chapter sees the
cause, not a NaN three cells later.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np


def _is_number(value) -> bool:
    return isinstance(value, Real | np.floating | np.integer) and not isinstance(value, bool)


def number(name: str, value, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """Return ``value`` as a float after checking it is a finite number in a range.

    ``low``/``high`` bound the range; ``low_open``/``high_open`` exclude the ends.
    """
    if not _is_number(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must lie in {left}{lo}, {hi}{right}, got {value:g}")
    return value


def positive(name: str, value) -> float:
    return number(name, value, low=0.0, low_open=True)


def non_negative(name: str, value) -> float:
    return number(name, value, low=0.0)


def decay(name: str, value) -> float:
    """A decay rate or momentum coefficient: in [0, 1)."""
    return number(name, value, low=0.0, high=1.0, high_open=True)


def whole(name: str, value, *, low: int = 0) -> int:
    """A whole number (step count, period) of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return int(value)


def rate_or_schedule(name: str, value, check):
    """A hyperparameter that is either a number (checked now) or a schedule.

    A schedule is any callable of the step count; its values are checked when
    the rule uses them (see :func:`scheduled`).
    """
    if callable(value):
        return value
    if isinstance(value, np.ndarray):
        return rates(name, value, check)
    return check(name, value)


def rates(name: str, values: np.ndarray, check) -> np.ndarray:
    """An array of rates, one per run of many run side by side (a rate per
    column of the parameters), each checked as a single rate is; read-only."""
    values = np.array([check(name, v) for v in values.ravel()]).reshape(values.shape)
    values.flags.writeable = False
    return values


def scheduled(name: str, value, t: int, check) -> float:
    """The value of a number-or-schedule hyperparameter at step ``t``, checked."""
    if not callable(value):
        return value
    v = value(t)
    try:
        return check(name, v)
    except ValueError as error:
        raise ValueError(f"the {name} schedule at step {t}: {error}") from None


def schedule_value(name: str, value) -> float:
    """A learning rate produced by a schedule: finite and >= 0.

    Zero is allowed here (a cosine decay ends at 0), unlike a constant rate.
    """
    return non_negative(name, value)


def parameters(name: str, x) -> np.ndarray:
    """Parameters as a float64 array, refusing what is not finite numbers."""
    try:
        array = np.array(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {x!r}") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array}")
    return array


def square_matrix(name: str, value) -> np.ndarray:
    """A finite square matrix, as float64."""
    matrix = parameters(name, value)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {matrix.shape}")
    return matrix


def store(obj, **checks) -> None:
    """Check fields of a frozen dataclass and store the converted values.

    ``store(self, lr=positive, rho=decay)`` replaces ``self.lr`` by
    ``positive("lr", self.lr)`` and so on.
    """
    for name, check in checks.items():
        object.__setattr__(obj, name, check(name, getattr(obj, name)))


def matrix(rule_name: str, x) -> np.ndarray:
    """Check that a rule that updates weight matrices was given one; the error
    points to ``ByLayer``, which gives a network's vectors another rule."""
    if np.ndim(x) != 2:
        raise ValueError(
            f"{rule_name} updates a weight matrix, but got parameters of shape "
            f"{np.shape(x)}: give a network's matrices to {rule_name} and its "
            f"vectors to another rule, with ByLayer({rule_name}(), vectors=AdamW())"
        )
    return x
