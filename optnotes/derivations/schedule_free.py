r"""Derivations of the chapter "Training without a schedule", computed with SymPy.

Schedule-Free SGD (Defazio et al. 2024) run symbolically for a few steps on a
generic gradient: ``g`` is an undefined function, so the results hold for any
loss. Each point where a gradient is taken is expanded to a canonical
polynomial first, so that the same point always gives the same ``g(...)`` and
two ways of computing a step can be compared by expanding their difference.
tests/test_schedule_free_derivations in tests/test_schedule_free.py checks them.
"""

from __future__ import annotations

import sympy as sp

from . import Derivation

beta = sp.Symbol("beta", nonnegative=True)
gamma = sp.Symbol("gamma", positive=True)
c = sp.Symbol("c", positive=True)
x0 = sp.Symbol("x_0", real=True)
_g = sp.Function("g")


def g(point):
    """The gradient at ``point``, the point written canonically."""
    return _g(sp.expand(point))


def schedule_free(b, steps: int, weights=None):
    """x_1, ..., x_steps (and the z's) of Schedule-Free SGD with interpolation
    ``b`` from x_0 = z_0 = ``x0``: y = (1-b) z + b x, z <- z - γ g(y),
    x <- (1-c) x + c z with c = w_t / (w_1 + ... + w_t) (equal weights:
    c = 1/t)."""
    weights = [sp.Integer(1)] * steps if weights is None else list(map(sp.sympify, weights))
    x = z = x0
    xs, zs, total = [x], [z], sp.Integer(0)
    for t in range(steps):
        y = (1 - b) * z + b * x
        z = sp.expand(z - gamma * g(y))
        total += weights[t]
        c_t = weights[t] / total
        x = sp.expand((1 - c_t) * x + c_t * z)
        xs.append(x)
        zs.append(z)
    return xs, zs


def polyak_end(steps: int = 4) -> Derivation:
    r"""β = 0 is Polyak averaging of SGD: the gradient is taken at z, which then
    takes plain SGD steps, and x is the mean of SGD's iterates
    :math:`x^{\mathrm{SGD}}_1, \dots, x^{\mathrm{SGD}}_t`."""
    d = Derivation("Polyak averaging at beta = 0")
    d.add(
        "y", r"y\ (\beta = 0)", ((1 - beta) * sp.Symbol("z") + beta * sp.Symbol("x")).subs(beta, 0)
    )
    xs, zs = schedule_free(0, steps)
    sgd = [x0]
    for _ in range(steps):
        sgd.append(sp.expand(sgd[-1] - gamma * g(sgd[-1])))
    d.add(
        "z",
        rf"z_{{{steps}}} - x^{{\mathrm{{SGD}}}}_{{{steps}}}",
        sp.expand(zs[-1] - sgd[-1]),
    )
    mean = sum(sgd[1:]) / steps
    d.add(
        "x",
        rf"x_{{{steps}}} - \tfrac1{{{steps}}}\textstyle\sum_{{i=1}}^{{{steps}}}"
        r" x^{\mathrm{SGD}}_i",
        sp.expand(xs[-1] - mean),
    )
    d.add("x_2", r"x_2", xs[2])
    return d


def primal_end(steps: int = 4) -> Derivation:
    r"""β = 1 is primal averaging, which is a heavy-ball method: the gradient is
    taken at the average x, and
    :math:`x_{k+1} = x_k + \frac{k-1}{k+1}(x_k - x_{k-1}) - \frac{\gamma}{k+1} g(x_k)`
    (k counted from 0, the first step plain gradient descent)."""
    d = Derivation("Primal averaging at beta = 1")
    d.add(
        "y", r"y\ (\beta = 1)", ((1 - beta) * sp.Symbol("z") + beta * sp.Symbol("x")).subs(beta, 1)
    )
    xs, _ = schedule_free(1, steps)
    ball = [x0, sp.expand(x0 - gamma * g(x0))]
    for k in range(1, steps):
        x, previous = ball[-1], ball[-2]
        mu = sp.Rational(k - 1, k + 1)
        ball.append(sp.expand(x + mu * (x - previous) - gamma / (k + 1) * g(x)))
    d.add(
        "ball",
        rf"x_{{{steps}}} - x^{{\mathrm{{ball}}}}_{{{steps}}}",
        sp.expand(xs[-1] - ball[-1]),
    )
    d.add("x_2", r"x_2\ (\beta = 1)", xs[2])
    return d


def momentum_form(steps: int = 4) -> Derivation:
    r"""For any β, equal weights: Schedule-Free SGD is a momentum method whose
    gradient is taken at a look-ahead point,

    $$ x_{k+1} = x_k + \mu_k (x_k - x_{k-1}) - \frac{\gamma}{k+1}\, g(y_k), \quad
       \mu_k = \frac{k-1}{k+1}, \quad y_k = x_k + (1-\beta)(k-1)(x_k - x_{k-1}). $$

    From :math:`x_k = (1 - \tfrac1k) x_{k-1} + \tfrac1k z_k`:
    :math:`z_k - x_k = (k-1)(x_k - x_{k-1})`; substitute in y and in the next x.
    The momentum grows towards 1 as the step shrinks as 1/(k+1), at the same
    pace: the step over one minus the momentum stays γ/2 (see
    ``gradient_weights`` for where the decay is).
    """
    d = Derivation("Schedule-Free SGD as a momentum method")
    xs, zs = schedule_free(beta, steps)
    k = sp.Symbol("k", positive=True, integer=True)
    xk, xk1 = sp.symbols("x_k x_{k-1}", real=True)
    zk = sp.expand(xk1 + k * (xk - xk1))  # z_k recovered from x_k = (1 - 1/k) x_{k-1} + z_k/k
    d.add("z_minus_x", r"z_k - x_k", sp.factor(zk - xk))
    y = sp.expand(xk + (1 - beta) * (zk - xk))
    d.add(
        "y",
        r"y_k - x_k - (1-\beta)(k-1)(x_k - x_{k-1})",
        sp.factor(y - xk - (1 - beta) * (k - 1) * (xk - xk1)),
    )
    form = [x0, xs[1]]
    for j in range(1, steps):
        x, previous = form[-1], form[-2]
        y = x + (1 - beta) * (j - 1) * (x - previous)
        step = sp.Rational(j - 1, j + 1) * (x - previous) - gamma / (j + 1) * g(y)
        form.append(sp.expand(x + step))
    d.add(
        "gap",
        rf"x_{{{steps}}} - x^{{\mathrm{{momentum}}}}_{{{steps}}}",
        sp.expand(xs[-1] - form[-1]),
        "for every $\\beta$",
    )
    d.add(
        "z_gap",
        rf"z_{{{steps}}} - x_{{{steps}}} - {steps - 1}(x_{{{steps}}} - x_{{{steps - 1}}})",
        sp.expand(zs[-1] - xs[-1] - (steps - 1) * (xs[-1] - xs[-2])),
    )
    return d


def gradient_weights(steps: int = 4) -> Derivation:
    r"""Equal weights and a constant rate, any β: x_T is x_0 minus γ times a
    weighted sum of the gradients, the gradient of step k (from 1) with the
    weight :math:`(T - k + 1)/T`, the weights SGD gives its gradients under a
    linear decay to zero at T. With a constant gradient G, x moves by
    :math:`-\gamma G/2` at every step after the first."""
    d = Derivation("How x weighs the gradients")
    xs, zs = schedule_free(beta, steps)
    points = [(1 - beta) * z + beta * x for x, z in zip(xs[:-1], zs[:-1], strict=True)]
    x_t = sp.expand(xs[-1])
    weights = tuple(sp.simplify(-x_t.coeff(g(p)) / gamma) for p in points)
    d.add(
        "weights",
        rf"-\partial x_{{{steps}}} / \partial (\gamma g_k),\ k = 1, \dots, {steps}",
        weights,
        "for every $\\beta$",
    )
    d.add(
        "gap",
        rf"\text{{weight of }} g_k - ({steps} - k + 1)/{steps}",
        tuple(sp.simplify(w - sp.Rational(steps - k, steps)) for k, w in enumerate(weights)),
    )
    big_g, u = sp.Symbol("G", real=True), sp.Symbol("u")
    constant = [x.replace(_g, sp.Lambda(u, big_g)) for x in xs]
    d.add(
        "constant",
        rf"x_{{{steps}}} - x_{{{steps - 1}}}\ (g \equiv G)",
        sp.expand(constant[-1] - constant[-2]),
    )
    return d


def weights(steps: int = 4) -> Derivation:
    r"""The averaging weights: with :math:`c_t = w_t / \sum_{i \le t} w_i` the
    recursion :math:`x_t = (1 - c_t) x_{t-1} + c_t z_t` gives z_i the weight
    :math:`w_i / \sum_j w_j` in :math:`x_t`; with equal weights
    (:math:`c_t = 1/t`) x is the plain mean, and with the weights
    :math:`\gamma_i^2` of a warm-up the early, small steps count little."""
    d = Derivation("The averaging weights")
    w = sp.symbols(f"w_1:{steps + 1}", positive=True)
    z = sp.symbols(f"z_1:{steps + 1}", real=True)
    x, total = z[0], w[0]  # c_1 = 1: x_1 = z_1
    for t in range(1, steps):
        total += w[t]
        c_t = w[t] / total
        x = (1 - c_t) * x + c_t * z[t]
    coefficients = [sp.simplify(sp.diff(x, zi)) for zi in z]
    d.add("coefficient", rf"\partial x_{{{steps}}} / \partial z_1", coefficients[0])
    d.add(
        "gap",
        rf"\partial x_{{{steps}}} / \partial z_i - w_i / \textstyle\sum_j w_j",
        tuple(sp.simplify(ci - wi / sum(w)) for ci, wi in zip(coefficients, w, strict=True)),
    )
    equal = sp.expand(x.subs({wi: 1 for wi in w}))
    d.add("equal", rf"x_{{{steps}}}\ (w_i = 1)", equal)
    d.add("uniform", r"c_t\ (w_i = 1)", sp.Symbol("w") / (sp.Symbol("t") * sp.Symbol("w")))
    ramp = {wi: sp.Integer(i + 1) ** 2 for i, wi in enumerate(w)}  # γ_i ∝ i during warm-up
    d.add(
        "warmup",
        rf"\text{{weights of }} z_1, \dots, z_{{{steps}}}\ (\gamma_i \propto i)",
        tuple(ci.subs(ramp) for ci in coefficients),
    )
    return d


def authors_update() -> Derivation:
    r"""The authors' code keeps y in the model's parameters and updates it in
    place, :math:`y \leftarrow (1-c)\, y + c\, z + \gamma(\beta(1-c) - 1)\, g`
    (with the old z), which is :math:`\beta x' + (1-\beta) z'` of the new x and z."""
    d = Derivation("The code's update of y")
    x, z, gg = sp.symbols("x z g", real=True)
    y = (1 - beta) * z + beta * x
    z_new = z - gamma * gg
    x_new = (1 - c) * x + c * z_new
    in_place = (1 - c) * y + c * z + gamma * (beta * (1 - c) - 1) * gg
    d.add("y_new", r"y'", sp.collect(sp.expand(beta * x_new + (1 - beta) * z_new), [x, z, gg]))
    d.add(
        "gap",
        r"y' - \bigl((1-c)y + cz + \gamma(\beta(1-c) - 1)g\bigr)",
        sp.expand(in_place - (beta * x_new + (1 - beta) * z_new)),
    )
    d.add(
        "x_from_y",
        r"x",
        sp.solve(sp.Eq(sp.Symbol("y"), y), x)[0],
        "optax's eval params, for $\\beta > 0$",
    )
    return d


ALL = {
    "polyak_end": polyak_end,
    "primal_end": primal_end,
    "momentum_form": momentum_form,
    "gradient_weights": gradient_weights,
    "weights": weights,
    "authors_update": authors_update,
}
