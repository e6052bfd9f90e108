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
    """Bytes of the buffers in the state ``rule.init(x0)`` returns, whatever
    their shapes and types (``held_bytes``); the step count is not counted."""
    return held_bytes(rule.init(x0)[1:])


def held_bytes(state) -> int:
    """The bytes a state holds in arrays, found by walking it (tuples, named
    tuples, dicts of states); plain numbers such as a step count are not counted."""
    if isinstance(state, np.ndarray):
        return state.nbytes
    if isinstance(state, dict):
        return sum(held_bytes(v) for v in state.values())
    if isinstance(state, tuple | list):
        return sum(held_bytes(v) for v in state)
    return 0


def state_multiple(rule, size: int = 1000) -> float:
    """The state a rule keeps, in multiples of the parameters, measured from ``init``
    (rules whose state grows as they run, LBFGS and NonlinearCG, show 0 here)."""
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


# --- Batch size -------------------------------------------------------------------


def sampling_factor(n, batch_size):
    r"""The factor :math:`(n - B)/((n - 1) B)` by which drawing ``batch_size`` of ``n``
    examples without replacement divides the covariance of one example's gradient
    (:math:`1/B` with replacement; 0 at :math:`B = n`). Arrays broadcast."""
    n = np.asarray(n, dtype=float)
    batch_size = np.asarray(batch_size, dtype=float)
    if np.any(n < 2) or np.any(batch_size < 1) or np.any(batch_size > n):
        raise ValueError(
            f"need 1 <= batch_size <= n and n >= 2, got n={n}, batch_size={batch_size}"
        )
    return (n - batch_size) / ((n - 1) * batch_size)


def per_example_gradients(problem, w) -> np.ndarray:
    r"""The gradients :math:`g_i = a_i (a_i^\top w - b_i)` of a ``LeastSquares``
    problem's examples at ``w``, one row each (their mean is the gradient)."""
    w = np.asarray(w, dtype=float)
    if w.shape != (2,):
        raise ValueError(f"per_example_gradients takes one point (2,), got shape {w.shape}")
    a = problem.features
    return a * (a @ w - problem.targets)[:, None]


def noise_scales(problem, w) -> tuple[float, float]:
    r"""McCandlish et al.'s gradient noise scale and simple noise scale at ``w``:
    :math:`B_\text{noise} = \operatorname{tr}(H\Sigma)/(G^\top H G)` and
    :math:`B_\text{simple} = \operatorname{tr}(\Sigma)/|G|^2`, with :math:`G` the
    gradient, :math:`H` the Hessian and :math:`\Sigma` the covariance of one
    example's gradient over the data set (divided by n)."""
    g = per_example_gradients(problem, w)
    G = g.mean(axis=0)
    sigma = (g - G).T @ (g - G) / len(g)
    H = problem.hessian
    curvature = G @ H @ G
    # a gradient at the rounding level of its terms is zero: the minimum
    if not np.linalg.norm(G) > 1e-12 * np.linalg.norm(g, axis=1).mean() or not curvature > 0:
        raise ValueError(f"the noise scale needs a non-zero gradient; at {w} it is {G}")
    return float(np.trace(H @ sigma) / curvature), float(np.trace(sigma) / (G @ G))


def _moment_map(problem, batch_size, lr):
    """The affine map of one SGD step on the moments (E[u], E[u uᵀ]) of the error
    u = w − w* of a ``LeastSquares`` iterate, as (A, b) on the state
    (m₁, m₂, U₁₁, U₁₂, U₂₂)."""
    a, n, H = problem.features, problem.n, problem.hessian
    # residuals at the minimum: gᵢ(w) = aᵢ aᵢᵀ u − aᵢ rᵢ, and Σ aᵢ rᵢ = 0
    r = problem.targets - a @ np.asarray(problem.minima[0])
    # (1/n) Σ a aᵀ U a aᵀ, (1/n) Σ r (aᵀm) a aᵀ and (1/n) Σ r² a aᵀ as tensors
    t4 = np.einsum("ij,ik,il,im->jklm", a, a, a, a) / n
    t3 = np.einsum("i,ij,ik,il->jkl", r, a, a, a) / n
    t2 = np.einsum("i,ij,ik->jk", r * r, a, a) / n
    f = sampling_factor(n, batch_size)[..., None, None]
    lr = np.asarray(lr, dtype=float)
    alpha = lr[..., None, None]

    def step(m, U):
        # E[ĝ ĝᵀ] = (1 − f) E[G Gᵀ] + f (1/n) Σ E[gᵢ gᵢᵀ], with G = H u
        mean_outer = H @ U @ H
        example_outer = np.einsum("jklm,...kl->...jm", t4, U)
        example_outer = example_outer - 2 * np.einsum("jkl,...l->...jk", t3, m) + t2
        gg = (1 - f) * mean_outer + f * example_outer
        gu = H @ U  # E[ĝ uᵀ]
        U_next = U - alpha * (gu + np.swapaxes(gu, -1, -2)) + alpha**2 * gg
        return m - lr[..., None] * (m @ H), U_next

    shape = np.broadcast_shapes(np.shape(batch_size), lr.shape)
    images = []
    for state in np.vstack([np.eye(5), np.zeros(5)]):  # the unit states, then zero
        m, U = _moments(np.broadcast_to(state, shape + (5,)))
        images.append(_state(*step(m, U)))
    b = images[5]
    A = np.stack([im - b for im in images[:5]], axis=-1)
    return A, b


def _moments(state):
    """(m, U) from the state (m₁, m₂, U₁₁, U₁₂, U₂₂)."""
    m = state[..., :2]
    U = np.stack([state[..., 2:4], state[..., 3:5]], axis=-2)
    return m, U


def _state(m, U):
    return np.concatenate([m, U[..., 0, :], U[..., 1, 1:]], axis=-1)


def sgd_expected_loss(problem, batch_size, lr, steps: int, start=None) -> np.ndarray:
    r"""The exact expected excess loss :math:`E[f(w_t)] - f(w^\ast)`, t = 0 .. steps,
    of minibatch SGD on a ``LeastSquares`` problem, its minibatches drawn without
    replacement as ``problem.minibatch_oracle`` draws them (each step's batch
    independent of the others': not epochs of a shuffled data set), from ``start`` (the
    problem's own by default). No sampling: the loss is quadratic, so its mean
    needs only the mean and second moment of :math:`u_t = w_t - w^\ast`, and one
    step maps them affinely, through :math:`E[\hat g \hat g^\top] = G G^\top +
    \frac{n - B}{(n - 1) B}\,\Sigma` at each point.

    ``batch_size`` and ``lr`` broadcast; the result has shape ``(steps + 1,) +``
    their broadcast shape. A run whose expected excess loss passes 1e12 times its
    start is marked ``inf`` from there on (it diverged).
    """
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    lr = np.asarray(lr, dtype=float)
    if np.any(~np.isfinite(lr)) or np.any(lr <= 0):
        raise ValueError(f"lr must be positive, got {lr}")
    batch_size = np.asarray(batch_size)
    if np.any(batch_size != np.round(batch_size)):
        raise ValueError(f"batch_size must be whole numbers, got {batch_size}")
    A, b = _moment_map(problem, batch_size, lr)
    u0 = np.asarray(problem.start if start is None else start, dtype=float)
    u0 = u0 - np.asarray(problem.minima[0])
    state = np.broadcast_to(_state(u0, np.outer(u0, u0)), b.shape).copy()
    H = problem.hessian
    read = np.array([0.0, 0.0, H[0, 0] / 2, H[0, 1], H[1, 1] / 2])  # ½ tr(H U)
    losses = np.empty((steps + 1,) + b.shape[:-1])
    losses[0] = state @ read
    limit = 1e12 * max(float(losses[0].max()), 1e-300)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            state = np.einsum("...ij,...j->...i", A, state) + b
            losses[t] = state @ read
    diverged = ~np.isfinite(losses) | (losses > limit)
    losses[np.maximum.accumulate(diverged, axis=0)] = np.inf
    return losses


def steps_to_target(losses, target) -> np.ndarray:
    """The first step t at which ``losses[t] <= target`` (``inf`` where none
    does), along the first axis."""
    losses = np.asarray(losses, dtype=float)
    hit = losses <= target
    return np.where(hit.any(axis=0), hit.argmax(axis=0), np.inf)


def critical_batch(batch_sizes, steps, n=None) -> tuple[float, float]:
    r"""Fit McCandlish et al.'s :math:`S = S_{\min} (1 + B_\text{crit}/B)`, that is
    :math:`S = S_{\min} + E_{\min} / B`, to measured steps by least squares in
    :math:`1/B`; with ``n`` the data set's size, in the without-replacement
    :math:`(n - B)/((n - 1)B)` instead. Returns :math:`(S_{\min}, E_{\min})`;
    :math:`B_\text{crit} = E_{\min}/S_{\min}`."""
    batch_sizes = np.asarray(batch_sizes, dtype=float)
    steps = np.asarray(steps, dtype=float)
    if batch_sizes.shape != steps.shape or batch_sizes.size < 2:
        raise ValueError("critical_batch needs at least two batch sizes and as many steps")
    if not np.all(np.isfinite(steps)):
        raise ValueError(f"every run must reach the target, got steps {steps}")
    x = 1 / batch_sizes if n is None else sampling_factor(n, batch_sizes)
    e_min, s_min = np.polyfit(x, steps, 1)
    return float(s_min), float(e_min)


# --- What SGD can guarantee --------------------------------------------------------------


def _horizons(horizons) -> np.ndarray:
    horizons = np.asarray(horizons)
    if horizons.ndim != 1 or horizons.size == 0 or not np.issubdtype(horizons.dtype, np.integer):
        raise ValueError(f"horizons must be a non-empty list of step counts, got {horizons!r}")
    if np.any(horizons < 1):
        raise ValueError(f"every horizon must be at least 1 step, got {horizons.min()}")
    return horizons


def _rates(lrs, count) -> np.ndarray:
    lrs = np.asarray(lrs, dtype=float)
    if lrs.shape != (count,) or not np.all(np.isfinite(lrs) & (lrs > 0)):
        raise ValueError(f"lrs must hold {count} positive rates, one per horizon, got {lrs!r}")
    return lrs


def huber(x, delta):
    r"""The Huber function :math:`h_\delta` and its derivative, elementwise (arrays
    broadcast): :math:`x^2/2` for :math:`|x| \le \delta`, :math:`\delta(|x| - \delta/2)`
    beyond. Convex, 1-smooth, minimum 0 at 0."""
    x, delta = np.asarray(x, dtype=float), np.asarray(delta, dtype=float)
    if np.any(delta <= 0):
        raise ValueError(f"the Huber threshold delta must be positive, got {delta.min()}")
    inside = np.abs(x) <= delta
    value = np.where(inside, x**2 / 2, delta * (np.abs(x) - delta / 2))
    slope = np.where(inside, x, delta * np.sign(x))
    return value, slope


def gd_huber_gaps(horizons, *, L=1.0, R=1.0) -> np.ndarray:
    r"""For each horizon T, :math:`f(x_T) - f^*` after T steps of gradient descent at
    :math:`1/L` on :math:`f = L h_\delta` with :math:`\delta = R/(2T + 1)`, from
    :math:`x_0 = R`: Drori & Teboulle's (2014) worst case. All horizons run in one array."""
    horizons = _horizons(horizons)
    if not (L > 0 and R > 0):
        raise ValueError(f"L and R must be positive, got L = {L}, R = {R}")
    delta = R / (2 * horizons + 1)
    x = np.full(horizons.shape, float(R))
    for t in range(1, int(horizons.max()) + 1):
        _, slope = huber(x, delta)
        x = np.where(t <= horizons, x - (L * slope) / L, x)
    return L * huber(x, delta)[0]


def gd_quadratic_gaps(lams, steps: int, *, L=1.0, R=1.0) -> np.ndarray:
    r""":math:`f(x_t) - f^*` for t = 0 .. steps of gradient descent at :math:`1/L` on
    :math:`f = \lambda x^2/2` from :math:`x_0 = R`, one column per curvature
    :math:`0 < \lambda \le L`: an array (steps + 1, len(lams))."""
    lams = np.asarray(lams, dtype=float)
    if lams.ndim != 1 or not np.all((lams > 0) & (lams <= L)):
        raise ValueError(f"every curvature must be in (0, L] = (0, {L}], got {lams!r}")
    x = np.full(lams.shape, float(R))
    gaps = np.empty((int(steps) + 1, lams.size))
    gaps[0] = lams * x**2 / 2
    for t in range(1, int(steps) + 1):
        x = x - lams * x / L
        gaps[t] = lams * x**2 / 2
    return gaps


def projected_sgd_average(subgradient, x0, lrs, horizons, *, radius, sigma, runs, seed=0):
    r"""Nemirovski et al.'s (2009, §2.2) robust SA on a scalar problem: for each horizon T,
    T steps of projected SGD at its own constant rate :math:`\alpha_T`,
    :math:`x_{t+1} = \Pi(x_t - \alpha_T (g(x_t) + \sigma\xi_t))` with :math:`\Pi` the
    projection on :math:`[-r, r]` and :math:`\xi_t` standard normal, from
    :math:`x_1 = x_0`; returns the averages :math:`\tilde x_T = (x_1 + \dots + x_T)/T`,
    an array (len(horizons), runs). Every horizon and run is one entry of an array."""
    horizons = _horizons(horizons)
    lrs = _rates(lrs, horizons.size)[:, None]
    if not (radius > 0 and sigma >= 0 and runs >= 1 and abs(x0) <= radius):
        raise ValueError(
            f"need radius > 0, sigma >= 0, runs >= 1 and |x0| <= radius, got radius = "
            f"{radius}, sigma = {sigma}, runs = {runs}, x0 = {x0}"
        )
    rng = np.random.default_rng(seed)
    x = np.full((horizons.size, int(runs)), float(x0))
    total = np.zeros_like(x)
    for t in range(1, int(horizons.max()) + 1):
        total += np.where(t <= horizons[:, None], x, 0.0)
        g = subgradient(x) + sigma * rng.normal(size=x.shape)
        x = np.clip(x - lrs * g, -radius, radius)
    return total / horizons[:, None]


def sgd_on_quadratic(lams, lrs, *, sigmas, x0, runs, seed=0) -> np.ndarray:
    r"""The mean over ``runs`` of :math:`f(x_t) = \sum_i \lambda_i x_{t,i}^2/2` along SGD
    :math:`x_{t+1} = x_t - \alpha_t (\lambda \odot x_t + \sigma \odot \xi_t)` from
    :math:`x_0`, for every schedule at once: ``lrs`` is an array (cases, steps) of rates,
    one row per schedule; returns an array (cases, steps + 1), t = 0 .. steps."""
    lams, sigmas = np.asarray(lams, dtype=float), np.asarray(sigmas, dtype=float)
    lrs = np.atleast_2d(np.asarray(lrs, dtype=float))
    if lams.ndim != 1 or sigmas.shape != lams.shape or np.any(lams <= 0) or np.any(sigmas < 0):
        raise ValueError("lams and sigmas must be 1-d of one length, lams > 0, sigmas >= 0")
    if not np.all(np.isfinite(lrs) & (lrs > 0)):
        raise ValueError("every rate in lrs must be positive and finite")
    rng = np.random.default_rng(seed)
    cases, steps = lrs.shape
    x = np.broadcast_to(np.asarray(x0, dtype=float), lams.shape)
    x = np.array(np.broadcast_to(x, (cases, int(runs), lams.size)))
    losses = np.empty((cases, steps + 1))
    losses[:, 0] = np.mean(x**2 @ lams / 2, axis=1)
    for t in range(steps):
        noise = sigmas * rng.normal(size=x.shape)
        x = x - lrs[:, t, None, None] * (lams * x + noise)
        losses[:, t + 1] = np.mean(x**2 @ lams / 2, axis=1)
    return losses


def sgd_mean_sq_grad(grad, x0, lrs, horizons, *, sigma, runs, seed=0) -> np.ndarray:
    r"""For each horizon K, K steps of SGD at its own constant rate :math:`\alpha_K`,
    :math:`x_{k+1} = x_k - \alpha_K(\nabla f(x_k) + \sigma\xi_k)` with :math:`\xi_k`
    standard normal in every coordinate, from :math:`x_1 = x_0`; returns
    :math:`\frac1K\sum_{k=1}^K \|\nabla f(x_k)\|^2`, an array (len(horizons), runs):
    Ghadimi & Lan's :math:`\|\nabla f(x_R)\|^2` averaged over a uniform R. ``grad`` maps
    an array (..., d) of points to their gradients."""
    horizons = _horizons(horizons)
    lrs = _rates(lrs, horizons.size)[:, None, None]
    if not (sigma >= 0 and runs >= 1):
        raise ValueError(f"need sigma >= 0 and runs >= 1, got {sigma}, {runs}")
    rng = np.random.default_rng(seed)
    x0 = np.atleast_1d(np.asarray(x0, dtype=float))
    x = np.array(np.broadcast_to(x0, (horizons.size, int(runs), x0.size)))
    total = np.zeros(x.shape[:2])
    for k in range(1, int(horizons.max()) + 1):
        g = grad(x)
        total += np.where(k <= horizons[:, None], np.sum(g**2, axis=-1), 0.0)
        x = x - lrs * (g + sigma * rng.normal(size=x.shape))
    return total / horizons[:, None]
