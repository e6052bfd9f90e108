r"""Line searches: how long a step to take along a descent direction d, from the
loss and its slope along d (Nocedal & Wright 2006, ch. 3).

Along d the loss is a function of one variable, φ(t) = f(x + t d), with slope
φ'(t) = ∇f(x + t d)ᵀd; at t = 0 the slope is negative. A search needs φ as well
as φ', so the rules that use one take an *objective*: an object with
``value(x)`` and ``grad(x)``, such as a problem of :mod:`optnotes.problems`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _checks
from .rules import gradient


class Objective(NamedTuple):
    """The loss and its gradient, as two functions of x."""

    value: object
    grad: object


def objective(f, who: str) -> Objective:
    """``f``'s loss and gradient, or a TypeError saying that ``who`` needs both."""
    if callable(getattr(f, "value", None)) and callable(getattr(f, "grad", None)):
        return Objective(f.value, f.grad)
    got = getattr(f, "__qualname__", type(f).__name__)
    raise TypeError(
        f"{who} searches along its direction, so it needs the loss as well as the gradient: "
        "pass an object with value(x) and grad(x), such as a problem from optnotes.problems "
        f"(the problem itself, not problem.grad); got {got}, which gives only one of them"
    )


class Point(NamedTuple):
    """A trial step t along d: φ(t), the gradient there, and the slope φ'(t)."""

    t: float
    f: float
    g: np.ndarray
    slope: float


def along(f: Objective, x: np.ndarray, d: np.ndarray, step: int):
    """φ(t) = f(x + t d) as a function returning the :class:`Point` at t."""

    def phi(t: float) -> Point:
        y = x + t * d
        with np.errstate(all="ignore"):
            value = float(f.value(y))
        g = gradient(f.grad, y, step)
        if not np.isfinite(value):
            raise FloatingPointError(f"the loss is not finite at a trial point of step {step}")
        return Point(t, value, g, float(g @ d))

    return phi


def armijo(
    phi,
    start: Point,
    t: float,
    c1: float = 1e-4,
    shrink: float = 0.5,
    most: int = 50,
):
    r"""Backtracking (Nocedal & Wright 2006, Algorithm 3.1): shrink t until the
    sufficient-decrease (Armijo) condition holds,

    $$ \varphi(t) \le \varphi(0) + c_1\, t\, \varphi'(0). $$

    Returns the accepted :class:`Point` and the number of evaluations of φ.
    """
    for evaluations in range(1, most + 1):
        new = phi(t)
        if new.f <= start.f + c1 * t * start.slope:
            return new, evaluations
        t = shrink * t
    raise FloatingPointError(
        f"the Armijo search found no sufficient decrease in {most} trials: "
        "is d a descent direction, and is the loss smooth here?"
    )


def cubic_minimiser(a: Point, b: Point, low=None, high=None) -> float:
    r"""The minimiser of the cubic through φ(a), φ'(a), φ(b), φ'(b) (Nocedal &
    Wright 2006, eq. 3.59), kept within [low, high] (by default between a and b);
    the middle of that interval when the cubic has no minimum."""
    low = min(a.t, b.t) if low is None else low
    high = max(a.t, b.t) if high is None else high
    d1 = a.slope + b.slope - 3 * (a.f - b.f) / (a.t - b.t)
    d2_squared = d1**2 - a.slope * b.slope
    if d2_squared < 0:
        return (low + high) / 2
    d2 = np.sign(b.t - a.t) * np.sqrt(d2_squared)
    t = b.t - (b.t - a.t) * (b.slope + d2 - d1) / (b.slope - a.slope + 2 * d2)
    return float(min(max(t, low), high))


def strong_wolfe(
    phi,
    start: Point,
    t: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance: float = 1e-9,
    most: int = 25,
    scale: float = 1.0,
):
    r"""A step meeting the strong Wolfe conditions (Nocedal & Wright 2006,
    Algorithms 3.5 and 3.6, with cubic interpolation, eq. 3.59):

    $$
    \varphi(t) \le \varphi(0) + c_1\, t\, \varphi'(0), \qquad
    |\varphi'(t)| \le c_2\, |\varphi'(0)|.
    $$

    First it brackets: it grows t (by interpolation, to at most 10 t) until a
    trial breaks sufficient decrease, rises, or has a slope ≥ 0; then it zooms
    into the bracket. The choices (when to extrapolate, the 10 % safeguard at a
    bracket's ends, the stop when the bracket is shorter than ``tolerance`` /
    ``scale`` with scale = max |d|) are those of minFunc's and PyTorch's
    ``_strong_wolfe``, also where they depart from Algorithm 3.5: a trial that
    rises above the last one ends the growth only from the third trial on
    (3.5 does so from the second), and t grows by cubic extrapolation.
    It evaluates φ at most ``most`` + 1 times and returns the
    best :class:`Point` found and the number of evaluations.
    """
    c1, c2 = _checks.positive("c1", c1), _checks.positive("c2", c2)
    if not c1 < c2 < 1:
        need = "the strong Wolfe conditions need 0 < c1 < c2 < 1"
        raise ValueError(f"{need}, got c1={c1}, c2={c2}")

    def decreases(p: Point) -> bool:
        return p.f <= start.f + c1 * p.t * start.slope

    def flat(p: Point) -> bool:
        return abs(p.slope) <= -c2 * start.slope

    new, previous, trials = phi(t), start, 0
    bracket = None
    while trials < most:
        if not decreases(new) or (trials > 1 and new.f >= previous.f):
            bracket = [previous, new]
            break
        if flat(new):
            return new, trials + 1
        if new.slope >= 0:
            bracket = [previous, new]
            break
        low, high = new.t + 0.01 * (new.t - previous.t), 10 * new.t
        t = cubic_minimiser(previous, new, low, high)
        previous, new, trials = new, phi(t), trials + 1
    if bracket is None:  # out of trials while still growing t
        return min((start, new), key=lambda p: p.f), trials + 1

    low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
    stuck = False  # the last trial fell near an end of the bracket

    def wide(bracket) -> bool:
        return abs(bracket[1].t - bracket[0].t) * scale >= tolerance

    while trials < most and wide(bracket):
        t = cubic_minimiser(bracket[0], bracket[1])
        left, right = sorted((bracket[0].t, bracket[1].t))
        margin = 0.1 * (right - left)
        if min(right - t, t - left) < margin:
            if stuck or t >= right or t <= left:
                near_right = abs(t - right) < abs(t - left)
                t = right - margin if near_right else left + margin
                stuck = False
            else:
                stuck = True
        else:
            stuck = False
        new, trials = phi(t), trials + 1
        if not decreases(new) or new.f >= bracket[low].f:
            bracket[high] = new
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            towards_high = new.slope * (bracket[high].t - bracket[low].t)
            if towards_high >= 0 and not flat(new):
                bracket[high] = bracket[low]
            bracket[low] = new
            if flat(new):
                break
    return bracket[low], trials + 1
