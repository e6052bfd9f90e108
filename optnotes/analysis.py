"""Numbers the chapters compare with theory: spectral radii and measured rates."""

from __future__ import annotations

import numpy as np


def radius(b, c):
    """Largest |z| over the roots of z² − b z + c (arrays broadcast)."""
    b, c = np.asarray(b, dtype=float), np.asarray(c, dtype=float)
    root = np.sqrt((b**2 - 4 * c).astype(complex))
    return np.maximum(np.abs((b + root) / 2), np.abs((b - root) / 2))


def momentum_radius(h, mu):
    """Rate of heavy-ball momentum on a direction with h = αλ: z² − (1 + μ − h) z + μ."""
    return radius(1 + np.asarray(mu) - h, mu)


def nesterov_radius(h, mu):
    """Rate of Nesterov's method with h = αλ: z² − (1 + μ)(1 − h) z + μ(1 − h)."""
    mu = np.asarray(mu, dtype=float)
    return radius((1 + mu) * (1 - np.asarray(h)), mu * (1 - np.asarray(h)))


def gd_radius(h):
    """Rate of gradient descent on a direction with h = αλ."""
    return np.abs(1 - np.asarray(h, dtype=float))


def measured_rate(xs, minimum) -> float:
    """The geometric rate of ‖x_t − x*‖, fitted over the second half of a run.

    The slope of log‖x_t − x*‖ fitted by least squares, exponentiated: it
    averages out the oscillation of the momentum methods. Iterates that reached
    the minimum to the last bit (distance below 1e-280) are left out.
    """
    distance = np.linalg.norm(np.asarray(xs) - np.asarray(minimum), axis=-1)
    measurable = np.flatnonzero(distance > 1e-280)
    if measurable.size < 2 or measurable[-1] < 4:
        raise ValueError("measured_rate needs a run with at least 5 iterates away from the minimum")
    end = measurable[-1] + 1
    t = np.arange(end // 2, end)
    slope = np.polyfit(t, np.log(distance[t]), 1)[0]
    return float(np.exp(slope))


def state_bytes(rule, x0) -> int:
    """Bytes of the per-parameter buffers in the state ``rule.init(x0)`` returns."""
    return sum(np.asarray(b).nbytes for b in rule.init(x0)[1:])


def state_multiple(rule, size: int = 1000) -> float:
    """The state a rule keeps, in multiples of the parameters, measured from ``init``."""
    x0 = np.zeros(size)
    return state_bytes(rule, x0) / x0.nbytes


def steps_per_decade(rate):
    """Steps to shrink the error tenfold at a geometric rate: ln 0.1 / ln rate."""
    return np.log(0.1) / np.log(np.asarray(rate, dtype=float))
