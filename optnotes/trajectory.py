"""Running a rule for many steps, and what happens when it diverges."""

from __future__ import annotations

import numpy as np

from . import _checks

BLOW_UP = 1e10
"""An iterate larger than this in any coordinate counts as divergence."""


class Diverged(FloatingPointError):
    """A run left the finite numbers (or passed ``max_abs``) at ``step``.

    ``path`` holds the iterates before that step, all finite, so an experiment
    can draw how far the run got and print ``str(error)`` ("diverged at step 37:
    ...") on the figure.
    """

    def __init__(self, step: int, path: np.ndarray, reason: str):
        super().__init__(f"diverged at step {step}: {reason}")
        self.step = step
        self.path = path
        self.reason = reason


def run(
    rule,
    grad_fn,
    x0,
    steps: int = 100,
    *,
    max_abs: float = BLOW_UP,
) -> np.ndarray:
    """Iterate ``rule`` from ``x0`` and return every iterate.

    Returns an array of shape ``(steps + 1, *x0.shape)`` with ``xs[0] == x0``.
    If an iterate becomes non-finite or exceeds ``max_abs`` in absolute value,
    raises :class:`Diverged` carrying the finite part of the path.
    """
    steps = _checks.whole("steps", steps)
    if max_abs != np.inf:
        max_abs = _checks.positive("max_abs", max_abs)
    x = _checks.parameters("x0", x0)
    state = rule.init(x)
    xs = np.empty((steps + 1, *x.shape))
    xs[0] = x
    # overflow is reported as Diverged, not as a warning
    with np.errstate(all="ignore"):
        for k in range(steps):
            try:
                x, state = rule.step(x, grad_fn, state)
            except FloatingPointError as error:
                raise Diverged(k, xs[: k + 1].copy(), str(error)) from None
            if np.abs(x).max(initial=0.0) > max_abs:
                passed = f"an iterate passed {max_abs:g} in absolute value"
                raise Diverged(k, xs[: k + 1].copy(), passed)
            xs[k + 1] = x
    return xs
