r"""The chapters' derivations, computed with SymPy.

Each function builds a :class:`Derivation`: named steps, each a SymPy result
with the left-hand side it is shown under. A chapter displays a derivation (it
renders as aligned LaTeX through ``sympy.latex``) and reads single results with
``d["name"]``; tests/test_derivations.py checks every result against an
independently written closed form, so every formula the book displays was
computed, not typed.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

# Symbols shared by the derivations, named as in the book's notation.
alpha, lam, mu, sigma = sp.symbols(r"alpha lambda mu sigma", positive=True)
l1, ln = sp.symbols(r"lambda_1 lambda_n", positive=True)  # smallest and largest curvature
kappa = sp.Symbol(r"kappa", positive=True)
h = sp.Symbol("h", positive=True)  # alpha * lambda, the step measured in curvatures
z = sp.Symbol("z")
t, k = sp.symbols("t k", integer=True, nonnegative=True)


@dataclass(frozen=True)
class Step:
    lhs: str  # LaTeX of the left-hand side
    expr: object  # the SymPy result
    note: str = ""  # a few words, shown beside the line
    rel: str = "="  # the relation between them


class Derivation:
    """An ordered list of named results, displayed as one aligned block of LaTeX."""

    def __init__(self, title: str):
        self.title = title
        self.steps: dict[str, Step] = {}

    def add(self, key: str, lhs: str, expr, note: str = "", rel: str = "="):
        self.steps[key] = Step(lhs, expr, note, rel)
        return expr

    def __getitem__(self, key: str):
        return self.steps[key].expr

    def latex(self, *keys: str) -> str:
        """The chosen steps (all by default) as a LaTeX ``aligned`` block."""
        lines = []
        for key in keys or self.steps:
            s = self.steps[key]
            note = rf"&&\text{{{s.note}}}" if s.note else ""
            lines.append(rf"{s.lhs} &{s.rel} {_latex(s.expr)} {note}")
        return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"

    def __repr__(self) -> str:
        return f"<Derivation {self.title}: {', '.join(self.steps)}>"


def _general_case(expr):
    """SymPy splits a geometric sum into the case ratio = 1 and the rest; keep the
    rest (the book's decay rates are below 1)."""
    return expr.args[-1][0] if isinstance(expr, sp.Piecewise) else expr


def _latex(expr) -> str:
    if isinstance(expr, str):
        return expr
    if isinstance(expr, tuple):
        return r",\ ".join(_latex(e) for e in expr)
    return sp.latex(expr)


# --- Chapter 1: gradient descent on a quadratic ---------------------------------


def gd_on_quadratic() -> Derivation:
    r"""Gradient descent on :math:`f(x) = \tfrac12 \sum_i \lambda_i x_i^2`.

    Each coordinate is multiplied by :math:`1 - \alpha\lambda_i` per step; the
    step is stable iff :math:`0 < \alpha\lambda < 2`; the best constant rate
    balances the extreme curvatures.
    """
    d = Derivation("gradient descent on a quadratic")
    x = sp.Symbol("x")
    step = x - alpha * sp.diff(lam * x**2 / 2, x)
    d.add("step", r"x_{t+1}", step, "one step on $f = \\lambda x^2 / 2$")
    factor = d.add("factor", r"x_{t+1} / x_t", sp.factor(step / x))
    h_real = sp.Symbol("h", real=True)  # any sign, so the answer states both ends
    stable = sp.solve_univariate_inequality(sp.Abs(factor.subs(alpha * lam, h_real)) < 1, h_real)
    d.add("stable", r"|1 - h| < 1", stable, "with $h = \\alpha\\lambda$", rel=r"\iff")
    a_star = sp.solve(sp.Eq(1 - alpha * l1, -(1 - alpha * ln)), alpha)[0]
    d.add(
        "alpha_star", r"\alpha^\ast", a_star, "from $1 - \\alpha\\lambda_1 = \\alpha\\lambda_n - 1$"
    )
    rate = d.add("rate", r"\text{rate}", sp.factor(sp.simplify(1 - a_star * l1)))
    d.add("rate_kappa", r"\text{rate}", sp.factor(sp.simplify(rate.subs(ln, kappa * l1))))
    return d


def sgd_noise_floor() -> Derivation:
    r"""SGD at a constant rate on :math:`f = \lambda x^2/2` with gradient noise of variance
    :math:`\sigma^2`: :math:`x_{t+1} = (1 - \alpha\lambda) x_t - \alpha\xi_t`.

    The variance settles where it stops changing; the expected loss there is the
    noise floor, proportional to :math:`\alpha` for small rates.
    """
    d = Derivation("the noise floor of SGD")
    V = sp.Symbol("V", positive=True)
    recursion = (1 - alpha * lam) ** 2 * V + alpha**2 * sigma**2
    d.add("recursion", r"\mathbb{E}[x_{t+1}^2]", recursion, "with $V = \\mathbb{E}[x_t^2]$")
    v_inf = sp.solve(sp.Eq(V, recursion), V)[0]
    v_inf = d.add("variance", r"V_\infty", sp.factor(v_inf))
    floor = d.add("floor", r"\mathbb{E}[f(x_\infty)]", sp.factor(lam / 2 * v_inf))
    d.add(
        "small_rate",
        r"\mathbb{E}[f(x_\infty)]",
        sp.series(floor, alpha, 0, 2).removeO(),
        "to first order in $\\alpha$",
    )
    return d


# --- Chapter 2: momentum --------------------------------------------------------


def momentum_forms() -> Derivation:
    r"""The three common ways to write momentum, and when they agree.

    (a) :math:`u' = \mu u + \alpha g,\ x' = x - u'`; (b) :math:`v' = \mu v - \alpha g,\
    x' = x + v'`; (c) PyTorch's :math:`b' = \mu b + g,\ x' = x - \alpha b'`. With
    :math:`v = -u` and :math:`b = u/\alpha`, one step of each gives the same
    :math:`x'` and keeps the correspondence; if the rate changes from
    :math:`\alpha_0` to :math:`\alpha_1`, (c) differs from (a).
    """
    d = Derivation("three forms of momentum")
    x, u, g = sp.symbols("x u g")
    a0, a1 = sp.symbols(r"alpha_0 alpha_1", positive=True)
    u_a = mu * u + alpha * g
    x_a = x - u_a
    v = -u
    v_b = mu * v - alpha * g
    x_b = x + v_b
    b = u / alpha
    b_c = mu * b + g
    x_c = x - alpha * b_c
    d.add("b_minus_a", r"x'_{(b)} - x'_{(a)}", sp.simplify(x_b - x_a))
    d.add("c_minus_a", r"x'_{(c)} - x'_{(a)}", sp.simplify(x_c - x_a))
    d.add("velocity_b", r"v' + u'", sp.simplify(v_b + u_a), "the correspondence is kept")
    d.add("velocity_c", r"\alpha b' - u'", sp.simplify(alpha * b_c - u_a))
    # The rate changes: the buffer b = u / alpha_0 was built with alpha_0.
    x_a_new = x - (mu * u + a1 * g)
    x_c_new = x - a1 * (mu * u / a0 + g)
    d.add(
        "changed_rate",
        r"x'_{(c)} - x'_{(a)}",
        sp.factor(sp.simplify(x_c_new - x_a_new)),
        "after $\\alpha_0 \\to \\alpha_1$",
    )
    return d


def momentum_as_average() -> Derivation:
    r"""Momentum as a sum of past gradients with geometric weights.

    Unrolled from :math:`u_0 = 0`, :math:`u_t = \alpha\sum_{k=0}^{t-1} \mu^{t-1-k} g_k`.
    The weights sum to :math:`\alpha(1-\mu^t)/(1-\mu)`, tending to
    :math:`\alpha/(1-\mu)`: the horizon. For a constant gradient the speed tends to
    :math:`\alpha \lVert g\rVert/(1-\mu)`.
    """
    d = Derivation("momentum as an average")
    total = sp.simplify(sp.summation(alpha * mu ** (t - 1 - k), (k, 0, t - 1)))
    # SymPy keeps the case mu = 1 apart; the book's mu lies in [0, 1).
    total = _general_case(total)
    total = d.add("weights", r"\sum_{k=0}^{t-1} \alpha\mu^{t-1-k}", sp.factor(total))
    # mu = exp(-c) with c > 0 tells SymPy that mu < 1, so mu**t -> 0.
    c = sp.Symbol("c", positive=True)
    horizon = sp.limit(total.subs(mu, sp.exp(-c)), t, sp.oo).subs(c, -sp.log(mu))
    d.add("horizon", r"\lim_{t\to\infty} \sum_k \alpha\mu^{t-1-k}", sp.simplify(horizon))
    d.add(
        "horizon_0.9",
        r"1/(1-\mu)\ \text{at}\ \mu = 0.9",
        (1 / (1 - mu)).subs(mu, sp.Rational(9, 10)),
        "steps",
    )
    return d


def momentum_on_quadratic() -> Derivation:
    r"""Heavy-ball momentum on one eigen-direction of a quadratic, :math:`f = \lambda x^2/2`.

    The state :math:`(u, x)` moves by a 2×2 matrix; its eigenvalues decide
    everything: the region of convergence, critical damping, the rate :math:`\sqrt\mu`
    when they are complex, and the best :math:`\alpha, \mu` for curvatures in
    :math:`[\lambda_1, \lambda_n]`.
    """
    d = Derivation("momentum on a quadratic")
    # u' = mu u + alpha lambda x ; x' = x - u' = -mu u + (1 - alpha lambda) x
    M = sp.Matrix([[mu, h], [-mu, 1 - h]])
    d.add("matrix", r"\begin{pmatrix} u_{t+1} \\ x_{t+1} \end{pmatrix}", M, "times $(u_t, x_t)$")
    p = d.add("charpoly", r"\det(zI - M)", sp.expand(M.charpoly(z).as_expr()))
    d.add("eigenvalues", r"z_{1,2}", tuple(sp.solve(p, z)))
    # Convergence (Jury): p(1) > 0, p(-1) > 0 and |z1 z2| = mu < 1.
    d.add("p_at_1", r"p(1)", sp.factor(p.subs(z, 1)))
    p_minus = d.add("p_at_minus_1", r"p(-1)", sp.expand(p.subs(z, -1)))
    d.add("region", "h", sp.solve(p_minus, h)[0], "and $h > 0$, for convergence", rel="<")
    disc = sp.discriminant(p, z)
    d.add("discriminant", r"\Delta", sp.factor(disc))
    critical = [r for r in sp.solve(disc, mu) if r.subs(h, sp.Rational(1, 4)) < 1]
    root_h = sp.Symbol("s", positive=True)  # sqrt(h), so that SymPy can factor
    critical = sp.factor(critical[0].subs(h, root_h**2)).subs(root_h, sp.sqrt(h))
    d.add("critical", r"\mu_{\text{critical}}", critical, "the root below 1")
    z1, z2 = sp.solve(p, z)
    d.add("product", r"z_1 z_2", sp.simplify(z1 * z2), "so $|z| = \\sqrt{\\mu}$ when complex")
    # Best parameters: both extreme curvatures at critical damping from either side.
    s = sp.Symbol("s", positive=True)  # s = sqrt(alpha)
    s_star = sp.solve(sp.Eq(1 - s * sp.sqrt(l1), s * sp.sqrt(ln) - 1), s)[0]
    a_star = d.add("alpha_star", r"\alpha^\ast", sp.simplify(s_star**2))
    mu_star = d.add("mu_star", r"\mu^\ast", sp.factor(sp.simplify((1 - sp.sqrt(a_star * l1)) ** 2)))
    # With lambda_n = kappa lambda_1 and kappa >= 1, write kappa = q**2, q >= 1.
    q = sp.Symbol("q", positive=True)
    rate = sp.sqrt(mu_star.subs(ln, q**2 * l1))
    rate = sp.simplify(rate).subs(sp.Abs(q - 1), q - 1).subs(q, sp.sqrt(kappa))
    d.add("rate_kappa", r"\sqrt{\mu^\ast}", sp.factor(rate), "for $\\kappa \\ge 1$")
    return d


def momentum_noise_floor() -> Derivation:
    r"""Heavy ball with gradient noise on :math:`f = \lambda x^2/2`:
    :math:`x_{t+1} = (1 + \mu - h) x_t - \mu x_{t-1} - \alpha\xi_t`, noise of variance
    :math:`\sigma^2`.

    The stationary covariance of :math:`(x_t, x_{t-1})` solves :math:`P = APA^\top + Q`;
    the expected loss :math:`\lambda V/2` is, to first order in :math:`\alpha`, the floor of
    SGD at the rate :math:`\alpha/(1-\mu)`.
    """
    d = Derivation("the noise floor of momentum")
    V, C = sp.symbols("V C")
    A = sp.Matrix([[1 + mu - alpha * lam, -mu], [1, 0]])
    P = sp.Matrix([[V, C], [C, V]])  # stationary: x_t and x_{t-1} have the same variance
    Q = sp.Matrix([[alpha**2 * sigma**2, 0], [0, 0]])
    solution = sp.solve(list(A * P * A.T + Q - P), (V, C), dict=True)[0]
    v_inf = d.add("variance", r"V_\infty", sp.factor(solution[V]))
    floor = d.add("floor", r"\mathbb{E}[f(x_\infty)]", sp.factor(lam / 2 * v_inf))
    d.add(
        "small_rate",
        r"\mathbb{E}[f(x_\infty)]",
        sp.factor(sp.series(floor, alpha, 0, 2).removeO()),
        "to first order in $\\alpha$",
    )
    return d


def nesterov_on_quadratic() -> Derivation:
    r"""Nesterov's method on one eigen-direction, :math:`f = \lambda x^2/2`, with
    :math:`h = \alpha\lambda`: the gradient at the look-ahead point changes the matrix,
    and so the region of convergence, from heavy-ball momentum's."""
    d = Derivation("Nesterov on a quadratic")
    u, x = sp.symbols("u x")
    u_new = sp.expand(mu * u + h * (x - mu * u))
    x_new = sp.expand(x - u_new)
    M = sp.Matrix([[u_new.coeff(u), u_new.coeff(x)], [x_new.coeff(u), x_new.coeff(x)]])
    d.add(
        "matrix",
        r"\begin{pmatrix} u_{t+1} \\ x_{t+1} \end{pmatrix}",
        M.applyfunc(sp.factor),
        "times $(u_t, x_t)$",
    )
    p = d.add("charpoly", r"\det(zI - M)", sp.collect(sp.factor(M.charpoly(z).as_expr()), z))
    d.add("p_at_1", "p(1)", sp.simplify(p.subs(z, 1)))
    p_minus = d.add("p_at_minus_1", "p(-1)", sp.expand(p.subs(z, -1)))
    d.add("region", "h", sp.factor(sp.solve(p_minus, h)[0]), "for convergence", rel="<")
    d.add("product", r"z_1 z_2", sp.factor(M.det()))
    return d


def nesterov_lookahead() -> Derivation:
    r"""Nesterov's method in the look-ahead variable the frameworks store.

    Classical: :math:`u' = \mu u + \alpha g(x - \mu u),\ x' = x - u'`. With
    :math:`\varphi = x - \mu u` the same sequence reads
    :math:`u' = \mu u + \alpha g(\varphi),\ \varphi' = \varphi - \mu u' - \alpha g(\varphi)`:
    a gradient at the stored point, as PyTorch's ``nesterov=True``
    (:math:`b' = \mu b + g,\ \varphi' = \varphi - \alpha(g + \mu b')` with
    :math:`b = u/\alpha`).
    """
    d = Derivation("Nesterov in the look-ahead variable")
    x, u = sp.symbols("x u")
    gf = sp.Function("g")
    phi = x - mu * u
    u_new = mu * u + alpha * gf(phi)
    x_new = x - u_new
    phi_new_classical = x_new - mu * u_new
    phi_new_framework = phi - mu * u_new - alpha * gf(phi)
    d.add("phi", r"\varphi", phi)
    d.add("classical", r"\varphi' = x' - \mu u'", sp.expand(phi_new_classical))
    d.add(
        "difference",
        r"\varphi'_{\text{classical}} - \varphi'_{\text{framework}}",
        sp.simplify(phi_new_classical - phi_new_framework),
    )
    b = u / alpha
    b_new = mu * b + gf(phi)
    phi_new_torch = phi - alpha * (gf(phi) + mu * b_new)
    d.add(
        "torch",
        r"\varphi'_{\text{PyTorch}} - \varphi'_{\text{classical}}",
        sp.simplify(phi_new_torch - phi_new_classical),
    )
    return d


def flat_directions() -> Derivation:
    r"""The slow root of heavy ball and of Nesterov's method on a nearly flat direction.

    With a constant :math:`\mu`, both characteristic polynomials have the root 1 at
    :math:`h = 0`; for small :math:`h` it moves to :math:`1 - h/(1-\mu) + O(h^2)`: both
    methods then behave like gradient descent with the rate :math:`\alpha/(1-\mu)`, and
    gain nothing in order over it when curvatures reach down to 0.
    """
    d = Derivation("the slow root on flat directions")
    c = sp.Symbol("c")
    polys = {
        "momentum": z**2 - (1 + mu - h) * z + mu,
        "nesterov": z**2 - (1 + mu) * (1 - h) * z + mu * (1 - h),
    }
    for name, p in polys.items():
        # z = 1 + c h + O(h^2): the coefficient of h in p must vanish.
        first_order = sp.expand(p.subs(z, 1 + c * h)).coeff(h, 1)
        slope = sp.solve(first_order, c)[0]
        d.add(f"root_{name}", rf"z_{{\text{{{name}}}}}", 1 + sp.factor(slope) * h, "up to $O(h^2)$")
    return d


def heavy_ball_cycle() -> Derivation:
    r"""Lessard, Recht & Packard (2016), §4.6: heavy ball cycles on a smooth strongly
    convex function.

    The function has three quadratic pieces (curvatures 25, 1, 25, joined at x = 1 and
    x = 2). Heavy ball :math:`x_{k+1} = x_k - \alpha f'(x_k) + \mu(x_k - x_{k-1})` with
    Polyak's tuning for m = 1, L = 25 has a cycle of period 3 with two points on the left
    piece and one on the right: solving the three affine equations gives it exactly, and
    the three-step map around it is linear with a double eigenvalue
    :math:`(-2/3)^3`, so the cycle attracts the starts near it.
    """
    d = Derivation("heavy ball cycles (Lessard et al. 2016, §4.6)")
    x = sp.Symbol("x")
    m, L = sp.Integer(1), sp.Integer(25)
    pieces = (
        L * x**2 / 2,
        x**2 / 2 + 24 * x - 12,
        L * x**2 / 2 - 24 * x + 36,
    )
    d.add("pieces", r"f(x)", tuple(pieces), "for $x < 1$, $1 \\le x < 2$, $x \\ge 2$")
    d.add(
        "joins",
        r"\Delta f,\ \Delta f' \text{ at } 1, 2",
        (
            sp.simplify((pieces[1] - pieces[0]).subs(x, 1)),
            sp.simplify(sp.diff(pieces[1] - pieces[0], x).subs(x, 1)),
            sp.simplify((pieces[2] - pieces[1]).subs(x, 2)),
            sp.simplify(sp.diff(pieces[2] - pieces[1], x).subs(x, 2)),
        ),
        "so $f$ is $C^1$",
    )
    d.add("curvatures", r"f''", tuple(sp.diff(p, x, 2) for p in pieces), "so $m = 1$, $L = 25$")
    lr = d.add("alpha", r"\alpha", sp.nsimplify(4 / (sp.sqrt(L) + sp.sqrt(m)) ** 2))
    root = sp.sqrt(L / m)
    beta = d.add("mu", r"\mu", sp.nsimplify(((root - 1) / (root + 1)) ** 2))
    a, b, c = sp.symbols("a b c")
    slope = [sp.diff(p, x) for p in pieces]
    left, right = slope[0], slope[2]
    equations = [
        sp.Eq(b, a - lr * left.subs(x, a) + beta * (a - c)),
        sp.Eq(c, b - lr * left.subs(x, b) + beta * (b - a)),
        sp.Eq(a, c - lr * right.subs(x, c) + beta * (c - b)),
    ]
    cycle = sp.solve(equations, (a, b, c), dict=True)[0]
    d.add("cycle", r"(x_1, x_2, x_3)", (cycle[a], cycle[b], cycle[c]), "repeated for ever")
    d.add(
        "pieces_hit",
        r"x_1 < 1,\ x_2 < 1,\ x_3 \ge 2",
        sp.And(cycle[a] < 1, cycle[b] < 1, cycle[c] >= 2),
        "the assumed pieces",
    )
    # On a piece with f'' = 25 one step maps (x_k, x_{k-1}) linearly.
    step = sp.Matrix([[1 + beta - lr * L, -beta], [1, 0]])
    d.add("step_matrix", r"M", step, "one step on a piece with $f'' = 25$")
    d.add("cycle_eigenvalues", r"\operatorname{eig}(M^3)", tuple((step**3).eigenvals()))
    return d


# --- Adaptive methods -----------------------------------------------------------


def newton_on_quadratic() -> Derivation:
    r"""Newton's step on :math:`f(x) = \tfrac12 x^\top H x - q^\top x` lands on the minimum.

    For any symmetric positive definite 2×2 :math:`H`, from any :math:`x`:
    :math:`x - H^{-1}(Hx - q) = H^{-1} q`, where the gradient vanishes.
    """
    d = Derivation("Newton's method on a quadratic")
    a, c = sp.symbols("a c", positive=True)
    b = sp.Symbol("b", real=True)
    x1, x2, q1, q2 = sp.symbols("x_1 x_2 q_1 q_2", real=True)
    H = sp.Matrix([[a, b], [b, c]])
    x, q = sp.Matrix([x1, x2]), sp.Matrix([q1, q2])
    g = H * x - q
    d.add("gradient", r"\nabla f(x)", g)
    newton = (x - H.inv() * g).applyfunc(sp.simplify)
    d.add("step", r"x - H^{-1}\nabla f(x)", newton)
    d.add("gradient_after", r"\nabla f(x_{\text{Newton}})", (H * newton - q).applyfunc(sp.simplify))
    return d


def diagonal_scaling() -> Derivation:
    r"""How much dividing by the diagonal of the Hessian helps, as the ravine turns.

    A quadratic with curvatures :math:`\lambda_1 \le \lambda_2` turned by
    :math:`\theta`; scaling by :math:`D^{-1/2}` with :math:`D = \operatorname{diag}(H)`
    gives a matrix with unit diagonal and off-diagonal :math:`\rho`, whose
    condition number is :math:`(1+|\rho|)/(1-|\rho|)`.
    """
    d = Derivation("diagonal preconditioning")
    theta = sp.Symbol("theta", real=True)
    c, s = sp.cos(theta), sp.sin(theta)
    R = sp.Matrix([[c, -s], [s, c]])
    H = (R * sp.diag(l1, ln) * R.T).applyfunc(sp.simplify)
    d.add("hessian", "H", H)
    rho = sp.simplify(H[0, 1] / sp.sqrt(H[0, 0] * H[1, 1]))
    d.add("rho", r"\rho", rho)
    d.add("aligned", r"\rho\,\big|_{\theta = 0}", sp.simplify(rho.subs(theta, 0)), "κ = 1: perfect")
    at_45 = sp.simplify(rho.subs(theta, sp.pi / 4))
    d.add("rho_45", r"\rho\,\big|_{\theta = \pi/4}", at_45)
    kappa_45 = sp.simplify((1 + sp.Abs(at_45)) / (1 - sp.Abs(at_45)))
    kappa_45 = sp.simplify(kappa_45.subs(sp.Abs(l1 - ln), ln - l1))
    d.add(
        "kappa_45",
        r"\kappa_{\text{scaled}}\,\big|_{\theta = \pi/4}",
        sp.factor(kappa_45),
        "no better than without",
    )
    return d


def adagrad_constant_gradient() -> Derivation:
    r"""Adagrad with a constant gradient :math:`g`: :math:`r_t = t g^2` after t steps,
    every step has length :math:`\alpha/\sqrt t`, and the effective learning rate (step
    over gradient) is :math:`\alpha/(|g|\sqrt t)`: it decays whatever the problem.
    """
    d = Derivation("Adagrad with a constant gradient")
    g = sp.Symbol("g", positive=True)
    n = sp.Symbol("n", integer=True, positive=True)
    r = d.add("r", "r_t", sp.summation(g**2, (k, 1, n)).subs(n, t), "after $t$ steps")
    step = d.add("step", r"|\Delta x_t|", sp.simplify(alpha * g / sp.sqrt(r)), "(ε = 0)")
    d.add("effective", r"|\Delta x_t| / g", sp.simplify(step / g))
    # The distance covered: the sum lies between two integrals of alpha / sqrt(k),
    # so it grows like 2 alpha sqrt(t): without bound, but slowly.
    kk = sp.Symbol("k", positive=True)
    d.add(
        "distance",
        r"\int_1^t \frac{\alpha}{\sqrt{k}}\,dk",
        sp.factor(sp.integrate(alpha / sp.sqrt(kk), (kk, 1, t))),
        "the sum of the steps, within $\\alpha$",
    )
    return d


def adagrad_axis_aligned() -> Derivation:
    r"""Adagrad along one coordinate of a quadratic whose axes are the coordinates
    (ε = 0). The gradient is :math:`g_s = \lambda x_s`, so the curvature cancels
    from the step,

    .. math:: x_{t+1} - x_t = -\frac{\alpha g_t}{\sqrt{\sum_{s \le t} g_s^2}}
              = -\frac{\alpha x_t}{\sqrt{\sum_{s \le t} x_s^2}},

    and each coordinate moves as it would with :math:`\lambda = 1`. Its effective
    learning rate is :math:`1/\lambda`, Newton's, times a number set by α and by
    where that coordinate started.
    """
    d = Derivation("Adagrad on an axis-aligned quadratic")
    s = sp.Symbol("s", integer=True, positive=True)
    x = sp.IndexedBase("x")
    g = lam * x[s]
    step = d.add(
        "raw",
        r"x_{t+1} - x_t",
        -alpha * g.subs(s, t) / sp.sqrt(sp.Sum(g**2, (s, 1, t))),
        r"$g_s = \lambda x_s$, ε = 0",
    )
    step = d.add("step", "", sp.simplify(step), "λ cancels")
    d.add("effective", r"\frac{x_t - x_{t+1}}{g_t}", sp.simplify(-step / g.subs(s, t)))
    return d


def rmsprop_average() -> Derivation:
    r"""RMSProp's running average :math:`r_t = (1-\rho)\sum_{k=1}^t \rho^{t-k} g_k^2`:
    its weights sum to :math:`1-\rho^t`, so for a stationary gradient
    :math:`\mathbb{E}[r_t] = (1-\rho^t)\,\mathbb{E}[g^2] \to \mathbb{E}[g^2]`; its first
    steps are :math:`1/\sqrt{1-\rho^t}` times the steady ones.
    """
    d = Derivation("RMSProp's running average")
    n = sp.Symbol("n", integer=True, positive=True)
    rho = sp.Symbol("rho", positive=True)
    weights = sp.simplify(sp.summation((1 - rho) * rho ** (n - k), (k, 1, n)))
    weights = _general_case(weights)
    weights = d.add("weights", r"\sum_{k=1}^t (1-\rho)\rho^{t-k}", sp.factor(weights.subs(n, t)))
    G = sp.Symbol(r"\mathbb{E}[g^2]", positive=True)
    d.add("expectation", r"\mathbb{E}[r_t]", weights * G)
    c = sp.Symbol("c", positive=True)  # rho = exp(-c), so SymPy knows rho < 1
    d.add(
        "steady",
        r"\lim_{t\to\infty} \mathbb{E}[r_t]",
        sp.limit((weights * G).subs(rho, sp.exp(-c)), t, sp.oo),
    )
    first = d.add(
        "first_step",
        r"|\Delta x_1| / \alpha",
        1 / sp.sqrt(weights.subs(t, 1)),
        "a constant gradient, ε = 0",
    )
    d.add(
        "first_step_0.9",
        r"|\Delta x_1| / \alpha\,\big|_{\rho = 0.9}",
        sp.nsimplify(first.subs(rho, sp.Rational(9, 10))),
    )
    return d


def adadelta_units() -> Derivation:
    r"""The units argument (Zeiler 2012, Section 3.2), with units as symbols.

    Give x the unit [x] and the loss the unit [f]. Then g has [f]/[x]; SGD's
    step has [f]/[x] times the unit of α, Adagrad's (and RMSProp's, Adam's) step
    has the unit of α, and Adadelta's has [x], the unit of the parameters, when ε
    is negligible. The hyperparameters then carry units: SGD's α [x]²/[f],
    Adagrad's α [x] and its ε [f]/[x]; Adadelta's one ε is added both to s, in
    [x]², and to r, in [f]²/[x]², which agree only when [f] = [x]². Its first
    step, with s = 0, is about :math:`\sqrt{\epsilon/(1-\rho)}` whatever g.
    """
    d = Derivation("units of the step")
    X, F = sp.symbols(r"[x] [f]", positive=True)
    g = F / X
    d.add("gradient", r"[g]", g)
    d.add("sgd", r"[\Delta x_{\text{SGD}}] / [\alpha]", g)
    d.add("adagrad", r"[\Delta x_{\text{Adagrad}}] / [\alpha]", sp.simplify(g / sp.sqrt(g**2)))
    d.add(
        "adadelta", r"[\Delta x_{\text{Adadelta}}]", sp.simplify(sp.sqrt(X**2) / sp.sqrt(g**2) * g)
    )
    # What the hyperparameters must carry for those units to hold. Adagrad's
    # alpha carries [x] and its eps (added to sqrt(r)) that of a gradient.
    # Adadelta's one eps is added to s (squared steps) and to r (squared
    # gradients): it cannot carry both units unless [f] = [x]^2.
    unit = sp.Symbol("A", positive=True)  # the unknown unit of alpha
    step_in_x = "so that the step has $[x]$"
    sgd_alpha = sp.solve(sp.Eq(unit * g, X), unit)[0]
    d.add("sgd_alpha", r"[\alpha_{\text{SGD}}]", sgd_alpha, step_in_x)
    adagrad_alpha = sp.solve(sp.Eq(unit * g / sp.sqrt(g**2), X), unit)[0]
    d.add("adagrad_alpha", r"[\alpha_{\text{Adagrad}}]", adagrad_alpha, step_in_x)
    d.add("adagrad_eps", r"[\epsilon_{\text{Adagrad}}]", sp.sqrt(g**2), "added to $\\sqrt{r}$")
    eps_s = d.add("eps_s", r"[\epsilon \text{ in } \sqrt{s + \epsilon}]", d["adadelta"] ** 2)
    eps_r = d.add("eps_r", r"[\epsilon \text{ in } \sqrt{r + \epsilon}]", g**2)
    d.add(
        "eps_ratio",
        r"[\epsilon \text{ in } s] / [\epsilon \text{ in } r]",
        sp.simplify(eps_s / eps_r),
        "1 only if $[f] = [x]^2$",
    )
    eps, rho, gg = sp.symbols("epsilon rho g", positive=True)
    first = sp.sqrt(eps) / sp.sqrt((1 - rho) * gg**2 + eps) * gg
    d.add("first_step", r"|\Delta x_1|", first, "with $s_0 = 0$")
    d.add("first_large_g", r"\lim_{g\to\infty} |\Delta x_1|", sp.limit(first, gg, sp.oo))
    return d


# --- Conjugate gradients and quasi-Newton methods --------------------------------


def cg_as_momentum() -> Derivation:
    r"""Linear CG's step, :math:`x_{k+1} = x_k + \alpha_k p_k` with
    :math:`p_k = -g_k + \beta_k p_{k-1}`, is a momentum step
    :math:`x_{k+1} = x_k - \alpha_k g_k + \mu_k (x_k - x_{k-1})` with
    :math:`\mu_k = \alpha_k \beta_k / \alpha_{k-1}` (the last step was
    :math:`x_k - x_{k-1} = \alpha_{k-1} p_{k-1}`). Every quantity here is one
    coordinate: the identity is linear, so it holds coordinate by coordinate.
    """
    d = Derivation("conjugate gradients as momentum")
    x_k, x_prev, g_k = sp.symbols("x_k x_{k-1} g_k", real=True)
    a_k, a_prev, b_k = sp.symbols(r"alpha_k \alpha_{k-1} beta_k", positive=True)
    p_prev = d.add("p_previous", r"p_{k-1}", (x_k - x_prev) / a_prev, "from the last step")
    p_k = d.add("p", r"p_k", -g_k + b_k * p_prev)
    step = sp.collect(sp.expand(x_k + a_k * p_k), [g_k, x_prev], evaluate=True)
    d.add("step", r"x_{k+1} = x_k + \alpha_k p_k", step)
    d.add("mu", r"\mu_k", sp.simplify(-step.coeff(x_prev)), "the coefficient of $-x_{k-1}$")
    d.add(
        "momentum",
        r"x_{k+1}",
        sp.Symbol("x_k") - a_k * g_k + sp.Symbol(r"\mu_k") * (x_k - x_prev),
        "a momentum step",
    )
    return d


# --- Adam and its successors ----------------------------------------------------

beta1, beta2, eps = sp.symbols("beta_1 beta_2 epsilon", positive=True)


def adam_bias_correction(unrolled_steps: int = 4) -> Derivation:
    r"""Adam's bias correction, the way Kingma & Ba (Section 3) argue it.

    Unroll :math:`v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2` from :math:`v_0 = 0` to
    :math:`v_t = (1-\beta_2)\sum_{i=1}^t \beta_2^{t-i} g_i^2`, take expectations with a
    stationary :math:`\mathbb{E}[g_i^2] = \mathbb{E}[g^2]` (a non-stationary gradient adds
    a term ζ), and sum the geometric series: :math:`\mathbb{E}[v_t] = \mathbb{E}[g^2](1-\beta_2^t)`.
    Dividing by :math:`1-\beta_2^t` removes the bias. The same holds for m with β₁.
    The unrolled form is checked against the recursion for ``unrolled_steps`` steps.
    """
    d = Derivation("Adam's bias correction")
    n = sp.Symbol("t", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    g2 = sp.IndexedBase("g^2")
    # The recursion, run symbolically for a few steps, against the unrolled sum.
    v = sp.Integer(0)
    for step in range(1, unrolled_steps + 1):
        v = beta2 * v + (1 - beta2) * g2[step]
    unrolled = (1 - beta2) * sp.Add(
        *[beta2 ** (unrolled_steps - j) * g2[j] for j in range(1, unrolled_steps + 1)]
    )
    d.add("unroll_check", rf"v_{unrolled_steps} - \text{{unrolled}}", sp.expand(v - unrolled))
    d.add("unrolled", "v_t", (1 - beta2) * sp.Sum(beta2 ** (n - i) * g2[i], (i, 1, n)))
    G = sp.Symbol(r"\mathbb{E}[g^2]", positive=True)
    expectation = (1 - beta2) * G * sp.Sum(beta2 ** (n - i), (i, 1, n))
    d.add("expectation", r"\mathbb{E}[v_t]", expectation, "stationary $g$")
    summed = sp.simplify(expectation.doit())
    summed = _general_case(summed)
    summed = d.add("summed", r"\mathbb{E}[v_t]", sp.factor(summed))
    d.add("corrected", r"\mathbb{E}[v_t] / (1 - \beta_2^t)", sp.simplify(summed / (1 - beta2**n)))
    Gm = sp.Symbol(r"\mathbb{E}[g]", real=True)
    m_sum = sp.simplify(((1 - beta1) * Gm * sp.Sum(beta1 ** (n - i), (i, 1, n))).doit())
    m_sum = _general_case(m_sum)
    d.add("m", r"\mathbb{E}[m_t]", sp.factor(m_sum))
    # The common mistake: dividing by 1 - beta instead of 1 - beta^t.
    d.add(
        "wrong_v",
        r"\mathbb{E}[v_t] / (1 - \beta_2)",
        sp.factor(summed / (1 - beta2)),
        "the mistake: no power $t$",
    )
    return d


def adam_first_step() -> Derivation:
    r"""Adam's first step, with and without bias correction, for a gradient g.

    Corrected: :math:`\alpha g/(|g| + \epsilon) \to \alpha`; uncorrected:
    :math:`\alpha(1-\beta_1)g/(\sqrt{1-\beta_2}|g| + \epsilon) \to
    \alpha(1-\beta_1)/\sqrt{1-\beta_2}`, about 3.16α at the defaults.
    """
    d = Derivation("Adam's first step")
    alpha_ = alpha
    g = sp.Symbol("g", positive=True)
    m1, v1 = (1 - beta1) * g, (1 - beta2) * g**2
    corrected = alpha_ * (m1 / (1 - beta1)) / (sp.sqrt(v1 / (1 - beta2)) + eps)
    plain = alpha_ * m1 / (sp.sqrt(v1) + eps)
    d.add("corrected", r"|\Delta x_1|", sp.simplify(corrected))
    d.add("corrected_limit", r"|\Delta x_1|\ (\epsilon \to 0)", sp.limit(corrected, eps, 0))
    d.add("plain", r"|\Delta x_1|_{\text{uncorrected}}", sp.simplify(plain))
    ratio = d.add(
        "ratio", r"\text{ratio}\ (\epsilon \to 0)", sp.simplify(sp.limit(plain / corrected, eps, 0))
    )
    d.add(
        "ratio_defaults",
        r"\text{at } \beta_1 = 0.9,\ \beta_2 = 0.999",
        sp.nsimplify(ratio.subs({beta1: sp.Rational(9, 10), beta2: sp.Rational(999, 1000)})),
    )
    return d


ADAM_DEFAULTS = {beta1: sp.Rational(9, 10), beta2: sp.Rational(999, 1000)}


def adam_step_bound() -> Derivation:
    r"""The largest step Adam can take, by Cauchy–Schwarz on its two sums.

    Unrolled from zero, :math:`m_t = (1-\beta_1)\sum_{k<t}\beta_1^k g_{t-k}` and
    :math:`v_t = (1-\beta_2)\sum_{k<t}\beta_2^k g_{t-k}^2`. Writing
    :math:`\beta_1^k g = (\beta_1/\sqrt{\beta_2})^k\cdot\beta_2^{k/2} g`, Cauchy–Schwarz
    gives :math:`(\sum_k\beta_1^k g_{t-k})^2 \le \sum_k\gamma^k\,\sum_k\beta_2^k g_{t-k}^2`
    with :math:`\gamma = \beta_1^2/\beta_2`, so for every t and every gradient sequence

    .. math:: \frac{|\hat m_t|}{\sqrt{\hat v_t}} \le \frac{1-\beta_1}{1-\beta_1^t}
       \sqrt{\frac{1-\beta_2^t}{1-\beta_2}}\sqrt{\frac{1-\gamma^t}{1-\gamma}},

    with equality for :math:`g_{t-k} \propto (\beta_1/\beta_2)^k` (gradients growing by
    :math:`\beta_2/\beta_1` per step). For :math:`\gamma < 1` the powers vanish as
    :math:`t\to\infty`: :math:`(1-\beta_1)/\sqrt{(1-\beta_2)(1-\beta_1^2/\beta_2)}`, about
    7.27 at the defaults, against the :math:`(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.16`
    of Kingma & Ba's Section 2.1 (a single spike after zeros). For :math:`\gamma \ge 1` the
    bound grows without limit in t.
    """
    d = Derivation("The largest Adam step")
    n = sp.Symbol("t", integer=True, positive=True)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    g = sp.IndexedBase("g")
    gamma = beta1**2 / beta2
    d.add("m", "m_t", (1 - beta1) * sp.Sum(beta1**k * g[n - k], (k, 0, n - 1)))
    d.add("v", "v_t", (1 - beta2) * sp.Sum(beta2**k * g[n - k] ** 2, (k, 0, n - 1)))
    # Each term of m's sum split into a weight and a term of v's sum.
    weight, term = (beta1 / sp.sqrt(beta2)) ** k, sp.sqrt(beta2) ** k * g[n - k]
    d.add(
        "split_check",
        r"\beta_1^k g_{t-k} - (\beta_1/\sqrt{\beta_2})^k\,\beta_2^{k/2} g_{t-k}",
        sp.simplify(sp.powsimp(weight * term - beta1**k * g[n - k], force=True)),
    )
    d.add(
        "cauchy_schwarz",
        r"\Bigl(\sum_{k=0}^{t-1} \beta_1^k g_{t-k}\Bigr)^2",
        sp.Sum(weight**2, (k, 0, n - 1)) * sp.Sum(term**2, (k, 0, n - 1)),
        "Cauchy–Schwarz",
        rel=r"\le",
    )
    weights = sp.simplify(_general_case(sp.summation(gamma**k, (k, 0, n - 1))))
    d.add("weights", r"\sum_{k=0}^{t-1} (\beta_1^2/\beta_2)^k", weights)
    # The bound with the bias corrections, written with the three powers as symbols
    # P1 = beta1^t, P2 = beta2^t, Pg = gamma^t, so that t -> oo is P -> 0.
    P1, P2, Pg = sp.symbols("P_1 P_2 P_gamma", positive=True)
    bound = (
        (1 - beta1) / (1 - P1) * sp.sqrt((1 - P2) / (1 - beta2)) * sp.sqrt((1 - Pg) / (1 - gamma))
    )
    powers = {P1: beta1**n, P2: beta2**n, Pg: gamma**n}
    finite = d.add(
        "finite",
        r"\frac{|\hat m_t|}{\sqrt{\hat v_t}}",
        bound.subs(powers),
        "every $t$, every $g$",
        rel=r"\le",
    )
    # The extremal sequence g_{t-k} = (beta1/beta2)^k makes both sums the weights' sum.
    extremal = (beta1 / beta2) ** k
    m_sum = sp.simplify(_general_case(sp.summation(beta1**k * extremal, (k, 0, n - 1))))
    v_sum = sp.simplify(_general_case(sp.summation(beta2**k * extremal**2, (k, 0, n - 1))))
    ratio = ((1 - beta1) * m_sum / (1 - beta1**n)) / sp.sqrt((1 - beta2) * v_sum / (1 - beta2**n))
    # Both sides are positive: compare their squares (SymPy cannot split the roots).
    d.add(
        "extremal_gap",
        r"\text{bound}^2 - \frac{\hat m_t^2}{\hat v_t}\Big|_{g_{t-k} = (\beta_1/\beta_2)^k}",
        sp.simplify(finite**2 - ratio**2),
        "attained",
    )
    limit = d.add(
        "limit",
        r"\lim_{t\to\infty} \text{bound}",
        bound.subs({P1: 0, P2: 0, Pg: 0}),
        r"$\beta_1^2 < \beta_2$",
    )
    d.add(
        "limit_defaults", r"\text{at } \beta_1 = 0.9,\ \beta_2 = 0.999", limit.subs(ADAM_DEFAULTS)
    )
    # bound^2 / limit^2 = (1 - P2)(1 - Pg) / (1 - P1)^2 with P1^2 = P2 Pg: the gap
    # below is a square (AM-GM), so the bound never exceeds its limit, at any t.
    sup_gap = d.add(
        "sup_gap",
        r"(1-\beta_1^t)^2 - (1-\beta_2^t)(1-\gamma^t)",
        sp.powsimp(sp.expand((1 - beta1**n) ** 2 - (1 - beta2**n) * (1 - gamma**n)), force=True),
    )
    d.add(
        "sup_square",
        r"\text{that} - \bigl(\beta_2^{t/2} - \gamma^{t/2}\bigr)^2",
        sp.simplify(
            sp.powsimp(sp.expand(sup_gap - (beta2 ** (n / 2) - gamma ** (n / 2)) ** 2), force=True)
        ),
        r"$\beta_1^{2t} = \beta_2^t\gamma^t$",
    )
    heuristic = d.add(
        "heuristic",
        r"\text{Kingma \& Ba, Section 2.1}",
        (1 - beta1) / sp.sqrt(1 - beta2),
        "one spike after zeros",
    )
    d.add(
        "heuristic_defaults",
        r"\text{at } \beta_1 = 0.9,\ \beta_2 = 0.999",
        sp.nsimplify(heuristic.subs(ADAM_DEFAULTS)),
    )
    return d


def adamax_step_bound() -> Derivation:
    r"""The largest step AdaMax can take (Kingma & Ba, Section 7.1, write |Δ| ≤ α).

    :math:`u_t = \max_k \beta_2^k |g_{t-k}|`, so :math:`|g_{t-k}| \le u_t\beta_2^{-k}` and
    :math:`|m_t| \le (1-\beta_1) u_t \sum_{k<t} (\beta_1/\beta_2)^k`. The step
    :math:`\alpha |m_t| / ((1-\beta_1^t) u_t)` is therefore at most
    :math:`\alpha\frac{1-\beta_1}{1-\beta_1^t}\frac{1-(\beta_1/\beta_2)^t}{1-\beta_1/\beta_2}`,
    with equality for :math:`|g_{t-k}| \propto \beta_2^{-k}` (gradients shrinking by
    :math:`\beta_2` per step, all of one sign); as :math:`t\to\infty`,
    :math:`\alpha(1-\beta_1)/(1-\beta_1/\beta_2)`, 1.0091α at the defaults.
    """
    d = Derivation("The largest AdaMax step")
    n = sp.Symbol("t", integer=True, positive=True)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    r = beta1 / beta2
    weights = sp.simplify(_general_case(sp.summation(r**k, (k, 0, n - 1))))
    d.add("weights", r"\sum_{k=0}^{t-1} (\beta_1/\beta_2)^k", weights)
    P1, Pr = sp.symbols("P_1 P_r", positive=True)  # beta1^t and (beta1/beta2)^t
    bound = alpha * (1 - beta1) / (1 - P1) * (1 - Pr) / (1 - r)
    finite = d.add(
        "finite",
        r"|\Delta x_t|",
        bound.subs({P1: beta1**n, Pr: r**n}),
        "every $t$, every $g$",
        rel=r"\le",
    )
    # Extremal: |g_{t-k}| = beta2^(-k) gives u_t = 1 and m_t = (1 - beta1) * weights.
    m_extremal = (1 - beta1) * sp.simplify(
        _general_case(sp.summation(beta1**k * beta2 ** (-k), (k, 0, n - 1)))
    )
    d.add(
        "extremal_gap",
        r"\text{bound} - |\Delta x_t|\big|_{|g_{t-k}| = \beta_2^{-k}}",
        sp.simplify(finite - alpha * m_extremal / (1 - beta1**n)),
        "attained",
    )
    limit = d.add(
        "limit",
        r"\lim_{t\to\infty} \text{bound}",
        bound.subs({P1: 0, Pr: 0}),
        r"$\beta_1 < \beta_2$",
    )
    d.add(
        "limit_defaults",
        r"\text{at } \beta_1 = 0.9,\ \beta_2 = 0.999",
        sp.nsimplify(limit.subs(ADAM_DEFAULTS)),
    )
    return d


def adamax_limit() -> Derivation:
    r"""AdaMax (Kingma & Ba, Section 7.1): the p-norm of the decayed gradients tends to
    their maximum as :math:`p \to \infty`.

    With :math:`v_t = (1-\beta_2^p)\sum_i \beta_2^{p(t-i)}|g_i|^p`, :math:`v_t^{1/p} \to
    \max_i \beta_2^{t-i}|g_i|`, which the recursion :math:`u_t = \max(\beta_2 u_{t-1}, |g_t|)`
    computes. Shown for two gradients a > b > 0 (the sum of two terms) and with the
    factor :math:`(1-\beta_2^p)^{1/p} \to 1`.
    """
    d = Derivation("AdaMax as the infinity norm")
    p = sp.Symbol("p", positive=True)
    a, b = sp.symbols("a b", positive=True)
    d.add(
        "two_terms",
        r"\lim_{p\to\infty} (a^p + b^p)^{1/p}\big|_{a=3,\,b=2}",
        sp.limit((sp.Integer(3) ** p + sp.Integer(2) ** p) ** (1 / p), p, sp.oo),
        "the larger",
    )
    d.add(
        "factor",
        r"\lim_{p\to\infty} (1-\beta_2^p)^{1/p}\big|_{\beta_2 = 0.999}",
        sp.limit((1 - sp.Rational(999, 1000) ** p) ** (1 / p), p, sp.oo),
    )
    d.add(
        "recursion",
        r"u_t",
        sp.Max(beta2 * sp.Symbol("u_{t-1}", positive=True), sp.Symbol("|g_t|", positive=True)),
    )
    return d


def yogi_change() -> Derivation:
    r"""How far one step moves the second moment: Adam against Yogi.

    Adam: :math:`v' - v = (1-\beta_2)(g^2 - v)`, proportional to v when the gradient
    becomes small; Yogi: :math:`v' - v = -(1-\beta_2)\operatorname{sign}(v - g^2) g^2`,
    never more than :math:`(1-\beta_2)g^2`.
    """
    d = Derivation("Adam's and Yogi's second moments")
    v, g = sp.symbols("v g", positive=True)
    adam = d.add("adam", r"v'_{\text{Adam}} - v", sp.factor(beta2 * v + (1 - beta2) * g**2 - v))
    yogi = -(1 - beta2) * sp.sign(v - g**2) * g**2
    d.add("yogi", r"v'_{\text{Yogi}} - v", yogi)
    d.add(
        "adam_small_g",
        r"\lim_{g\to 0}(v'_{\text{Adam}} - v)",
        sp.limit(adam, g, 0),
        "shrinks with $v$",
    )
    d.add(
        "yogi_small_g",
        r"\lim_{g\to 0}(v'_{\text{Yogi}} - v)",
        sp.limit(yogi.subs(sp.sign(v - g**2), 1), g, 0),
        "for $g^2 < v$",
    )
    return d


def weight_decay() -> Derivation:
    r"""L2 regularisation against decoupled weight decay (Loshchilov & Hutter 2019).

    For SGD, adding :math:`\lambda x` to the gradient is the same as shrinking x by
    :math:`\alpha\lambda`; for a rule that divides by :math:`\sqrt{\hat v}`, the L2 term is
    divided too, and the two differ by a term that depends on :math:`\hat v`.
    """
    d = Derivation("L2 against decoupled weight decay")
    x, g, lam_ = sp.symbols("x g lambda", real=True)
    s = sp.Symbol(r"\sqrt{\hat v}", positive=True)
    sgd_l2 = x - alpha * (g + lam_ * x)
    sgd_decoupled = x - alpha * lam_ * x - alpha * g
    d.add(
        "sgd",
        r"x'_{\text{SGD+L2}} - x'_{\text{SGD, decoupled}}",
        sp.simplify(sgd_l2 - sgd_decoupled),
    )
    adaptive_l2 = x - alpha * (g + lam_ * x) / s
    adaptive_decoupled = x - alpha * lam_ * x - alpha * g / s
    d.add(
        "adaptive",
        r"x'_{\text{L2}} - x'_{\text{decoupled}}",
        sp.factor(sp.simplify(adaptive_l2 - adaptive_decoupled)),
        "$\\epsilon = 0$, one step",
    )
    return d


# --- Schedules --------------------------------------------------------------------


def _geometric_total(first, ratio):
    """first · Σ_{j≥0} ratio^j for 0 < ratio < 1: SymPy's convergent branch."""
    q = sp.Symbol("q", positive=True)
    j = sp.Symbol("j", integer=True, nonnegative=True)
    total = sp.summation(q**j, (j, 0, sp.oo))
    if isinstance(total, sp.Piecewise):  # (1/(1 - q), q < 1), (Sum, True)
        total = total.args[0][0]
    return sp.simplify(first * total.subs(q, ratio))


def _positive_series(coefficient, term, m):
    """coefficient · Σ_{m≥1} term(m), or ∞ when SymPy cannot sum it but proves it
    divergent (coefficient and terms are positive, so a divergent sum is +∞)."""
    total = sp.summation(term, (m, 1, sp.oo))
    if isinstance(total, sp.Sum) and sp.Sum(term, (m, 1, sp.oo)).is_convergent() is sp.false:
        return sp.oo
    return coefficient * total


def robbins_monro() -> Derivation:
    r"""Which schedules meet the Robbins–Monro conditions
    :math:`\sum_t \alpha_t = \infty` and :math:`\sum_t \alpha_t^2 < \infty`.

    Each sum is computed by SymPy over t = 0, 1, 2, ... (k > 0, 0 < γ < 1): the
    constant rate, 1/√t decay, 1/t decay, exponential decay and step decay (T steps
    at each level).
    """
    d = Derivation("the Robbins–Monro conditions")
    a0, kk, gamma = sp.symbols(r"alpha_0 k gamma", positive=True)
    T = sp.Symbol("T", integer=True, positive=True)
    m = sp.Symbol("m", integer=True, positive=True)  # m = t + 1
    sums = {
        "constant": (
            sp.summation(a0 + 0 * m, (m, 1, sp.oo)),
            sp.summation(a0**2 + 0 * m, (m, 1, sp.oo)),
        ),
        "inverse_sqrt": (
            _positive_series(a0, 1 / sp.sqrt(m), m),
            sp.summation(a0**2 / m, (m, 1, sp.oo)),
        ),
        "inverse_time": (
            sp.summation(a0 / m, (m, 1, sp.oo)),
            sp.summation(a0**2 / m**2, (m, 1, sp.oo)),
        ),
        "exponential": (
            _geometric_total(a0, sp.exp(-kk)),
            _geometric_total(a0**2, sp.exp(-2 * kk)),
        ),
        "step": (_geometric_total(T * a0, gamma), _geometric_total(T * a0**2, gamma**2)),
    }
    names = {
        "constant": r"\alpha_0",
        "inverse_sqrt": r"\alpha_0/\sqrt{1+t}",
        "inverse_time": r"\alpha_0/(1+t)",
        "exponential": r"\alpha_0 e^{-kt}",
        "step": r"\alpha_0\gamma^{\lfloor t/T \rfloor}",
    }
    for key, (total, squares) in sums.items():
        d.add(f"{key}_sum", rf"\sum_t {names[key]}", total)
        d.add(f"{key}_squares", rf"\sum_t \bigl({names[key]}\bigr)^2", squares)
    return d


def inverse_time_variance() -> Derivation:
    r"""E[x_t²] of SGD on :math:`f = \lambda x^2/2` (gradient noise of variance
    :math:`\sigma^2`) under :math:`\alpha_t = \alpha_0/t`, for large t.

    The recursion :math:`V_{t+1} = (1 - \alpha_t\lambda)^2 V_t + \alpha_t^2\sigma^2`,
    to first order in :math:`\alpha_t`, is :math:`dV/dt = -2\alpha_0\lambda V/t +
    \alpha_0^2\sigma^2/t^2`. Its solution is a forgetting part
    :math:`A\,t^{-2\alpha_0\lambda}` plus a noise part :math:`\propto 1/t`; the
    slower of the two sets the slope, :math:`-\min(1, 2\alpha_0\lambda)`.
    """
    d = Derivation("E[x_t²] under a 1/t rate")
    a0 = sp.Symbol("alpha_0", positive=True)
    s = sp.Symbol("t", positive=True)
    A = sp.Symbol("A")
    V = sp.Function("V")
    rhs = -2 * a0 * lam * V(s) / s + a0**2 * sigma**2 / s**2
    d.add("ode", r"\frac{dV}{dt}", rhs.subs(V(s), sp.Symbol("V")))

    def residual(trial):  # dV/dt minus the right-hand side, for V = trial
        return sp.diff(trial, s) - rhs.subs(V(s), trial)

    # The equation is linear: its solutions are a solution of the equation
    # without noise (a power of t) plus one in balance with the noise (c/t).
    # (sympy's dsolve finds the same, but for some hash seeds takes minutes.)
    p, c = sp.Symbol("p"), sp.Symbol("c")
    (power,) = sp.solve(sp.expand(residual(s**p).subs(sigma, 0) * s ** (1 - p)), p)
    (weight,) = sp.solve(sp.expand(residual(c / s) * s**2), c)
    forget, noise = s**power, sp.factor(weight / s)
    d.add("forgetting", r"V_{\text{forget}}", A * forget, "no noise")
    d.add("noise", r"V_{\text{noise}}", noise, "noise, in balance")
    exponents = [sp.simplify(s * sp.diff(sp.log(part), s)) for part in (forget, noise)]
    d.add(
        "exponents",
        r"\frac{d\log V_{\text{forget}}}{d\log t},\ "
        r"\frac{d\log V_{\text{noise}}}{d\log t}",
        tuple(exponents),
    )
    d.add("slope", r"\frac{d\log V}{d\log t}", sp.Max(*exponents), "as $t\\to\\infty$")
    return d


# --- Batch size -------------------------------------------------------------------


def minibatch_variance() -> Derivation:
    r"""The variance of the mean of B of n numbers drawn without replacement.

    With :math:`I_i` the indicator that example i is drawn, the mean is
    :math:`\bar x = \frac1B \sum_i I_i x_i`; the moments of the indicators are
    counts of subsets, :math:`E[I_i] = \binom{n-1}{B-1}/\binom{n}{B}` and
    :math:`E[I_i I_j] = \binom{n-2}{B-2}/\binom{n}{B}` for :math:`i \ne j`. Written
    with :math:`S_1 = \sum x_i`, :math:`S_2 = \sum x_i^2` and the population
    variance :math:`\sigma^2 = S_2/n - (S_1/n)^2`.
    """
    d = Derivation("the variance of a minibatch mean")
    n, B = sp.symbols("n B", positive=True, integer=True)
    S1, S2 = sp.symbols("S_1 S_2", real=True)
    p1 = d.add(
        "p1", r"E[I_i]", sp.factor(sp.combsimp(sp.binomial(n - 1, B - 1) / sp.binomial(n, B)))
    )
    p2 = d.add(
        "p2",
        r"E[I_i I_j]",
        sp.factor(sp.combsimp(sp.binomial(n - 2, B - 2) / sp.binomial(n, B))),
        "$i \\ne j$",
    )
    # Var(Σ I_i x_i) = Σ_i x_i² Var(I_i) + Σ_{i≠j} x_i x_j Cov(I_i, I_j)
    cross = S1**2 - S2  # Σ_{i≠j} x_i x_j
    variance = (S2 * (p1 - p1**2) + cross * (p2 - p1**2)) / B**2
    pop = S2 / n - (S1 / n) ** 2
    d.add("variance", r"\operatorname{Var}(\bar x)", sp.factor(variance))
    d.add(
        "in_sigma",
        r"\operatorname{Var}(\bar x)",
        sp.factor(sp.cancel(variance / pop)) * sigma**2,
        "with $\\sigma^2 = S_2/n - S_1^2/n^2$",
    )
    return d


def noise_scale_step() -> Derivation:
    r"""McCandlish et al.'s best step for a batch of B (their §2.2): the expected
    loss after a step :math:`\epsilon` along the batch gradient, in the quadratic
    model, :math:`L - \epsilon |G|^2 + \tfrac12 \epsilon^2 (G^\top H G +
    \operatorname{tr}(H\Sigma)/B)` (their eq. 2.5), minimised over
    :math:`\epsilon`; then the steps and examples of the trade-off of their §2.3,
    :math:`S = S_{\min} (1 + B_\text{crit}/B)` and :math:`E = B S`."""
    d = Derivation("the best step of a batch")
    eps, B, g2, gHg, trHS, L = sp.symbols(
        r"epsilon B |G|^2 G^{\top}HG \operatorname{tr}(H\Sigma) L", positive=True
    )
    expected = d.add(
        "expected",
        r"E[L(\theta - \epsilon G_\text{est})]",
        L - eps * g2 + eps**2 / 2 * (gHg + trHS / B),
    )
    (best,) = sp.solve(sp.diff(expected, eps), eps)
    d.add("eps_opt", r"\epsilon_\text{opt}(B)", best)
    e_max = g2 / gHg
    b_noise = trHS / gHg
    d.add("eps_max", r"\epsilon_\text{max}", sp.limit(best, B, sp.oo), "$B \\to \\infty$")
    d.add("ratio", r"\epsilon_\text{opt}/\epsilon_\text{max}", sp.simplify(best / e_max))
    drop = sp.simplify(L - expected.subs(eps, best))
    d.add("drop", r"\Delta L_\text{opt}(B)", drop)
    drop_max = sp.limit(drop, B, sp.oo)
    d.add("drop_max", r"\Delta L_\text{max}", drop_max, "$B \\to \\infty$")
    d.add("drop_ratio", r"\Delta L_\text{opt}/\Delta L_\text{max}", sp.simplify(drop / drop_max))
    d.add("b_noise", r"B_\text{noise}", b_noise, "the ratio's $B$ scale")
    Bn = sp.Symbol(r"B_{\text{noise}}", positive=True)
    d.add(
        "ratio_noise",
        r"\epsilon_\text{opt}/\epsilon_\text{max}",
        sp.simplify((best / e_max).subs(trHS, Bn * gHg)),
        "with $\\operatorname{tr}(H\\Sigma) = B_\\text{noise}\\, G^\\top H G$",
    )
    # the trade-off: S = S_min (1 + B_crit/B), E = B S, E_min = S_min B_crit
    S_min, B_crit = sp.symbols(r"S_{\min} B_{\text{crit}}", positive=True)
    S = S_min * (1 + B_crit / B)
    E = B * S
    E_min = sp.limit(E, B, 0)
    d.add("e_min", r"E_{\min}", E_min, "$B \\to 0$")
    d.add(
        "tradeoff",
        r"\left(\frac{S}{S_{\min}} - 1\right)\left(\frac{E}{E_{\min}} - 1\right)",
        sp.simplify((S / S_min - 1) * (E / E_min - 1)),
    )
    return d


# --- What SGD can guarantee -------------------------------------------------------------
# The letters of book/guarantees.md: L the smoothness (the gradient's Lipschitz constant),
# m the strong convexity, R the distance from the start to a minimiser, sigma^2 the variance
# of a stochastic gradient, M^2 a bound on its second moment. Each function is one piece of
# algebra of a bound's proof; tests/test_guarantees.py checks every result.

L_s, m_s = sp.symbols("L m", positive=True)  # smoothness and strong convexity
R_s, M_s = sp.symbols("R M", positive=True)  # distance to x*, bound on E||G||^2 (its root)
T_s = sp.Symbol("T", positive=True)  # number of steps (a real, for the calculus)


def descent_lemma() -> Derivation:
    r"""One step of gradient descent on the quadratic upper model of an L-smooth f.

    With :math:`g = \nabla f(x)` and the step :math:`y = x - \alpha g`, smoothness gives
    :math:`f(y) \le f(x) - \alpha\|g\|^2 + \tfrac{L}{2}\alpha^2\|g\|^2`; the model falls for
    :math:`0 < \alpha < 2/L` and falls most at :math:`\alpha = 1/L`, by
    :math:`\|g\|^2/(2L)`.
    """
    d = Derivation("the descent lemma")
    f0 = sp.Symbol("f(x)")
    g2 = sp.Symbol(r"\|g\|^2", positive=True)
    a_real = sp.Symbol(r"alpha", real=True)
    model = f0 - alpha * g2 + L_s / 2 * alpha**2 * g2
    d.add("model", r"f(x - \alpha g)", model, "smoothness", rel=r"\le")
    change = d.add("change", r"f(x - \alpha g) - f(x)", sp.factor(model - f0), rel=r"\le")
    falls = sp.solve_univariate_inequality((change / g2).subs(alpha, a_real) < 0, a_real)
    d.add("falls", r"\text{the model falls}", falls, rel=r"\iff")
    best = d.add("best_step", r"\alpha^\ast", sp.solve(sp.diff(model, alpha), alpha)[0])
    d.add(
        "best_change", r"f(x - g/L) - f(x)", sp.simplify(model.subs(alpha, best) - f0), rel=r"\le"
    )
    return d


def gd_convex_bounds() -> Derivation:
    r"""Gradient descent at :math:`1/L` on a convex L-smooth f: the per-step inequality
    behind the :math:`LR^2/(2t)` bound, and the two worst cases it is measured against.

    - The per-step identity :math:`\tfrac L2(\|x_t - x^*\|^2 - \|x_{t+1} - x^*\|^2) =
      \langle g_t, x_t - x^*\rangle - \|g_t\|^2/(2L)`, written with components of a
      vector in three dimensions and read back in inner products.
    - The Huber function :math:`L h_\delta` (quadratic for :math:`|x| \le \delta`,
      linear beyond) with :math:`\delta = R/(2t+1)` from :math:`x_0 = R`: after t steps
      of length :math:`\delta` the gap is :math:`LR^2/(4t+2)` (Drori & Teboulle 2014).
    - The worst quadratic :math:`\lambda x^2/2` with :math:`0 < \lambda \le L`:
      :math:`\lambda = L/(2t+1)`, a gap about :math:`1/(2e)` of the bound.
    - Nesterov's (2004, Corollary 2.1.2) :math:`2LR^2/(t+4)` against :math:`LR^2/(2t)`.
    """
    d = Derivation("gradient descent on a smooth convex function")
    n = 3
    x = sp.Matrix(sp.symbols(f"x1:{n + 1}", real=True))
    xs = sp.Matrix(sp.symbols(f"s1:{n + 1}", real=True))
    g = sp.Matrix(sp.symbols(f"g1:{n + 1}", real=True))
    x_next = x - g / L_s
    drop = sp.expand(L_s / 2 * ((x - xs).dot(x - xs) - (x_next - xs).dot(x_next - xs)))
    inner = sp.Symbol(r"\langle g_t, x_t - x^\ast\rangle")
    g2 = sp.Symbol(r"\|g_t\|^2", positive=True)
    # read the components back: the part linear in x - x* is the inner product, and the
    # rest must be a multiple of ||g||^2 (checked: the ratio holds no component)
    rest = sp.expand(drop - g.dot(x - xs))
    share = sp.simplify(rest / g.dot(g))
    if share.free_symbols & set(x) | share.free_symbols & set(xs) | share.free_symbols & set(g):
        raise ArithmeticError("the step's distance change is not <g, x - x*> + c ||g||^2")
    d.add(
        "per_step",
        r"\tfrac{L}{2}\bigl(\|x_t - x^\ast\|^2 - \|x_{t+1} - x^\ast\|^2\bigr)",
        inner + share * g2,
        "$x_{t+1} = x_t - g_t/L$",
    )
    t_ = sp.Symbol("t", positive=True)
    d.add("bound", r"f(x_t) - f^\ast", L_s * R_s**2 / (2 * t_), "summed over t steps", rel=r"\le")
    delta = R_s / (2 * t_ + 1)
    x_t = R_s - t_ * delta  # every step has length L delta / L = delta while x > delta
    d.add("huber_x", r"x_t", sp.simplify(x_t), "Huber, $\\delta = R/(2t+1)$")
    gap = d.add("huber_gap", r"f(x_t) - f^\ast", sp.factor(L_s * (delta * x_t - delta**2 / 2)))
    d.add("huber_share", r"\frac{LR^2/(4t+2)}{LR^2/(2t)}", sp.simplify(gap / d["bound"]))
    u = sp.Symbol("u", positive=True)  # lambda / L
    quad = L_s * R_s**2 * u * (1 - u) ** (2 * t_) / 2
    u_star = d.add(
        "quad_u", r"\lambda^\ast / L", sp.solve(sp.diff(quad, u), u)[0], "worst quadratic"
    )
    worst = d.add(
        "quad_gap",
        r"f(x_t) - f^\ast",
        L_s * R_s**2 * u_star / 2 * sp.together(1 - u_star) ** (2 * t_),
        "at $\\lambda^\\ast$",
    )
    d.add(
        "quad_share",
        r"\lim_{t\to\infty} \frac{f(x_t) - f^\ast}{LR^2/(2t)}",
        sp.limit(worst / d["bound"], t_, sp.oo),
    )
    t_real = sp.Symbol("t", real=True)
    d.add(
        "sharper_than_nesterov",
        r"\frac{LR^2}{2t} < \frac{2LR^2}{t+4}",
        sp.solve_univariate_inequality(1 / (2 * t_real) < 2 / (t_real + 4), t_real).as_set()
        & sp.Interval.open(0, sp.oo),
        rel=r"\iff t \in",
    )
    return d


def gd_strongly_convex() -> Derivation:
    r"""Nesterov (2004), Theorem 2.1.15: for an m-strongly convex L-smooth f and a step
    :math:`0 < h \le 2/(m + L)`, :math:`\|x_t - x^*\|^2 \le (1 - 2hmL/(m+L))^t R^2`.
    The factor at :math:`h = 2/(m+L)` and at :math:`h = 1/L`, and in :math:`\kappa = L/m`.
    """
    d = Derivation("gradient descent on a smooth strongly convex function")
    hh = sp.Symbol("h", positive=True)
    q = 1 - 2 * hh * m_s * L_s / (m_s + L_s)
    d.add("factor", r"\|x_{t+1} - x^\ast\|^2 / \|x_t - x^\ast\|^2", q, "Theorem 2.1.15", rel=r"\le")
    best = sp.factor(q.subs(hh, 2 / (m_s + L_s)))
    d.add("best", r"\text{factor at } h = \tfrac{2}{m+L}", best)
    excess = sp.Symbol("e", positive=True)  # kappa - 1, so that the root is of a square
    root = sp.factor(sp.sqrt(best.subs(L_s, (1 + excess) * m_s)))
    d.add(
        "best_kappa",
        r"\text{distance rate}",
        sp.factor(root.subs(excess, kappa - 1)),
        "$\\kappa = L/m$",
    )
    d.add("one_over_L", r"\text{factor at } h = \tfrac1L", sp.factor(q.subs(hh, 1 / L_s)))
    return d


def sgd_convex_step() -> Derivation:
    r"""Nemirovski et al. (2009), §2.2: with a constant step :math:`\alpha` for T steps, the
    averaged iterate of projected SGD has :math:`\mathbb E f(\tilde x_T) - f^* \le
    (R^2 + M^2 T\alpha^2)/(2T\alpha)`. The step that minimises the bound, the bound there,
    and what a step off by a factor :math:`\theta` costs.
    """
    d = Derivation("the averaged iterate of SGD on a convex problem")
    bound = R_s**2 / (2 * alpha * T_s) + alpha * M_s**2 / 2
    d.add("bound", r"\mathbb{E} f(\tilde x_T) - f^\ast", bound, "constant step", rel=r"\le")
    best = d.add("best_step", r"\alpha^\ast", sp.solve(sp.diff(bound, alpha), alpha)[0])
    at_best = d.add(
        "best_bound",
        r"\mathbb{E} f(\tilde x_T) - f^\ast",
        sp.simplify(bound.subs(alpha, best)),
        rel=r"\le",
    )
    theta = sp.Symbol("theta", positive=True)
    d.add(
        "misjudged",
        r"\frac{\text{bound at } \theta\alpha^\ast}{\text{bound at } \alpha^\ast}",
        sp.simplify(bound.subs(alpha, theta * best) / at_best),
    )
    return d


def sgd_inverse_time() -> Derivation:
    r"""Bottou, Curtis & Nocedal (2018), Theorem 4.7, with unbiased gradients of variance
    at most :math:`\sigma^2` (their :math:`\mu = 1`, :math:`M = \sigma^2`, :math:`M_V = 0`)
    and strong convexity m (their c): the induction step of the proof, the least
    :math:`\nu` that closes it, the :math:`\beta` that makes it smallest; and
    Nemirovski et al.'s (2009, §2.1) noise-free example, :math:`x_{j+1} = (1 - a/j)x_j`,
    solved by SymPy as a product (for large j it is about :math:`j^{-a}/\Gamma(1 - a)`:
    the page shows that with numbers).

    The induction: with :math:`\hat k = \gamma + k`, if
    :math:`e_k \le \nu/\hat k` and :math:`e_{k+1} \le (1 - \beta m/\hat k) e_k +
    \beta^2 L\sigma^2/(2\hat k^2)`, then :math:`e_{k+1} \le \nu/(\hat k + 1)` exactly when
    the computed remainder is not positive.
    """
    d = Derivation("SGD with a 1/k step on a strongly convex function")
    beta, nu = sp.symbols("beta nu", positive=True)
    kh = sp.Symbol(r"\hat{k}", positive=True)
    step = (1 - beta * m_s / kh) * nu / kh + beta**2 * L_s * sigma**2 / (2 * kh**2)
    d.add(
        "recursion",
        r"\mathbb{E}[f(x_{k+1})] - f^\ast",
        step,
        "if $\\le \\nu/\\hat k$ at k",
        rel=r"\le",
    )
    below = (kh - 1) * nu / kh**2  # nu/(k+1) is above this, by nu/(k^2 (k+1))
    slack = sp.collect(sp.expand((step - below) * 2 * kh**2), nu) / (2 * kh**2)
    d.add(
        "slack",
        r"\text{that} - \tfrac{\hat k - 1}{\hat k^2}\,\nu",
        slack,
        "not positive iff $\\nu \\ge \\nu_{\\min}$",
    )
    d.add(
        "room",
        r"\tfrac{\nu}{\hat k + 1} - \tfrac{\hat k - 1}{\hat k^2}\,\nu",
        sp.factor(nu / (kh + 1) - below),
        "$\\ge 0$",
    )
    nu_min = d.add(
        "nu_min",
        r"\nu_{\min}",
        sp.solve(sp.numer(sp.together(slack)), nu)[0],
        "when $\\beta m > 1$",
    )
    b_best = d.add("best_beta", r"\beta^\ast", sp.solve(sp.diff(nu_min, beta), beta)[0])
    d.add("best_nu", r"\nu_{\min}(\beta^\ast)", sp.factor(nu_min.subs(beta, b_best)))
    a = sp.Symbol("a", positive=True)
    s = sp.Symbol("s", integer=True, positive=True)
    j = sp.Symbol("j", integer=True, positive=True)
    product = sp.product(1 - a / s, (s, 1, j - 1)).rewrite(sp.gamma)
    product = sp.gammasimp(product * sp.gamma(j))
    if isinstance(product, sp.Piecewise):  # (value for a < 1, a < 1), (value otherwise, True)
        if product.args[0][1] != (a < 1):
            raise ArithmeticError(f"unexpected branches: {product}")
        product = product.args[0][0]
    product = product / sp.gamma(j)
    d.add("example", r"x_j / x_1", product, "$0 < a < 1$, no noise")
    return d


def sgd_nonconvex_step() -> Derivation:
    r"""The average of :math:`\mathbb E\|\nabla f(x_k)\|^2` over K steps of SGD at a constant
    step on an L-smooth f (not convex), with :math:`\Delta = f(x_1) - \inf f`:
    Bottou et al.'s (2018, Theorem 4.8) bound :math:`\alpha L\sigma^2 + 2\Delta/(K\alpha)`
    for :math:`\alpha \le 1/L`; the step that minimises it, the bound there
    (:math:`O(1/\sqrt K)`); Ghadimi & Lan's (2013, Theorem 2.1(a)) bound at a constant
    step, against Bottou et al.'s; and both floors of a constant step (Theorems 4.6 and
    4.8) against the exact floors on :math:`\lambda x^2/2` (:func:`sgd_noise_floor`).
    """
    d = Derivation("SGD on a smooth non-convex function")
    K = sp.Symbol("K", positive=True)
    gap = sp.Symbol("Delta", positive=True)
    bottou = alpha * L_s * sigma**2 + 2 * gap / (K * alpha)
    d.add(
        "bound",
        r"\frac1K\sum_{k=1}^K \mathbb{E}\|\nabla f(x_k)\|^2",
        bottou,
        "Theorem 4.8",
        rel=r"\le",
    )
    best = d.add("best_step", r"\alpha^\ast", sp.solve(sp.diff(bottou, alpha), alpha)[0])
    d.add("best_bound", r"\text{bound at } \alpha^\ast", sp.simplify(bottou.subs(alpha, best)))
    d_f2 = 2 * gap / L_s  # Ghadimi & Lan's D_f^2
    ghadimi = L_s * (d_f2 + sigma**2 * K * alpha**2) / (K * (2 * alpha - L_s * alpha**2))
    d.add(
        "ghadimi",
        r"\mathbb{E}\|\nabla f(x_R)\|^2",
        sp.factor(ghadimi),
        "Theorem 2.1(a)",
        rel=r"\le",
    )
    d.add(
        "ghadimi_share",
        r"\frac{\text{Ghadimi \& Lan}}{\text{Bottou et al.}}",
        sp.factor(sp.simplify(ghadimi / bottou)),
    )
    V = sgd_noise_floor()["variance"]  # exact E[x^2] at rest on lambda x^2/2
    loss_floor, grad_floor = lam / 2 * V, lam**2 * V
    d.add(
        "loss_share",
        r"\frac{\text{exact loss floor}}{\alpha L\sigma^2/(2m)}",
        sp.factor(sp.simplify(loss_floor / (alpha * lam * sigma**2 / (2 * lam)))),
        "Theorem 4.6, $L = m = \\lambda$",
    )
    d.add(
        "grad_share",
        r"\frac{\text{exact } \mathbb{E}\|\nabla f\|^2 \text{ floor}}{\alpha L\sigma^2}",
        sp.factor(sp.simplify(grad_floor / (alpha * lam * sigma**2))),
        "Theorem 4.8, $L = \\lambda$",
    )
    return d
