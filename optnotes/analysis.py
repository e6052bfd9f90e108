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


# --- Schedules ------------------------------------------------------------------------


def sgd_error_under_schedule(lr, *, lam=1.0, sigma=1.0, x0=1.0, steps=10_000, runs=4000, seed=0):
    r"""E[x_t²] of SGD on :math:`f = \lambda x^2/2` with gradient noise of variance
    :math:`\sigma^2`, averaged over ``runs`` seeded runs, for t = 0 .. steps.

    Every run is one coordinate of a vector, so ``optnotes.SGD`` with ``lr`` (a number
    or a schedule) steps all of them at once; the noise of step t is drawn from
    ``np.random.default_rng(seed)`` for every run. The minimum is x* = 0.
    """
    from .rules import SGD

    rng = np.random.default_rng(seed)
    rule = SGD(lr=lr)
    x = np.full(int(runs), float(x0))
    state = rule.init(x)
    errors = np.empty(int(steps) + 1)
    errors[0] = np.mean(x**2)

    def grad(x):
        return lam * x + sigma * rng.normal(size=x.shape)

    for t in range(1, int(steps) + 1):
        x, state = rule.step(x, grad, state)
        errors[t] = np.mean(x**2)
        if errors[t] > 1e10 * max(errors[0], 1.0):
            raise ValueError(
                f"SGD diverged at step {t} (E[x²] = {errors[t]:.1e}): the rate times the "
                f"curvature, {rule.lr_at(t - 1) * lam:.3g}, must stay below 2"
            )
    return errors


def variance_recursion(lr, *, lam=1.0, sigma=1.0, x0=1.0, steps=10_000):
    r"""The exact E[x_t²] of the same run: :math:`V_{t+1} = (1 - \alpha_t\lambda)^2 V_t
    + \alpha_t^2\sigma^2`, :math:`V_0 = x_0^2` (no sampling)."""
    rates = np.asarray(lr(np.arange(int(steps))) if callable(lr) else np.full(int(steps), lr))
    V = np.empty(int(steps) + 1)
    V[0] = float(x0) ** 2
    for t, a in enumerate(rates):
        V[t + 1] = (1 - a * lam) ** 2 * V[t] + a**2 * sigma**2
    return V


def loglog_slope(errors, start, stop) -> float:
    """Least-squares slope of log(errors[t]) against log(t) for start <= t < stop."""
    if not 1 <= start < stop <= len(errors) or stop - start < 2:
        raise ValueError(f"need 1 <= start < stop <= {len(errors)}, got {start}, {stop}")
    t = np.unique(np.geomspace(start, stop - 1, 50).astype(int))
    values = np.asarray(errors, dtype=float)[t]
    bad = values[~(np.isfinite(values) & (values > 0))]
    if bad.size:
        raise ValueError(
            "a log-log slope needs positive, finite errors; got "
            f"{float(bad[0])} in steps {start} to {stop - 1}"
        )
    return float(np.polyfit(np.log(t), np.log(values), 1)[0])
