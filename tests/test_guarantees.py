"""The chapter "What SGD can guarantee" (book/guarantees.md): its derivations against
closed forms typed here, its bounds attacked, its measured slopes against theory.

Sources, as the chapter states them (L smoothness, m strong convexity, R = |x_0 - x*|):

- Beck & Teboulle 2009, Theorem 3.1: gradient descent at 1/L, f(x_t) - f* <= L R^2/(2t).
  Drori & Teboulle 2014, Theorem 3.1: the exact worst case L R^2/(4t + 2), reached by a
  Huber function. Nesterov 2004, Corollary 2.1.2: 2 L R^2/(t + 4).
- Nesterov 2004, Theorem 2.1.15: |x_t - x*|^2 <= (1 - 2 h m L/(m + L))^t R^2, 0 < h <= 2/(m+L).
- Nemirovski, Juditsky, Lan & Shapiro 2009, §2.2: averaged projected SGD at a constant rate
  a, E f(x~_T) - f* <= (R^2 + M^2 T a^2)/(2 T a); §2.1: a_j = theta/j, theta > 1/(2m),
  E|x_j - x*|^2 <= max(theta^2 M^2/(2 m theta - 1), |x_1 - x*|^2)/j.
- Bottou, Curtis & Nocedal 2018, Theorem 4.7: a_k = beta/(gamma + k), beta > 1/m,
  a_1 <= 1/L: E f(x_k) - f* <= nu/(gamma + k), nu = max(beta^2 L s^2/(2(beta m - 1)),
  (gamma + 1)(f(x_1) - f*)); Theorems 4.6 and 4.8: the floors a L s^2/(2m) and a L s^2.
- Ghadimi & Lan 2013, Theorem 2.1(a): at a constant rate a < 2/L, the mean over k of
  E|grad f(x_k)|^2 <= L (D_f^2 + s^2 K a^2)/(K (2a - L a^2)), D_f^2 = 2(f(x_1) - f*)/L.
"""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optnotes import analysis
from optnotes import derivations as D

FAST = settings(max_examples=60, deadline=None)


def same(a, b) -> bool:
    return sp.simplify(a - b) == 0


def symbol(expr, name):
    (found,) = [s for s in expr.free_symbols if s.name == name]
    return found


L, m, R, M, T = D.L_s, D.m_s, D.R_s, D.M_s, D.T_s
alpha, sigma, lam, kappa = D.alpha, D.sigma, D.lam, D.kappa


# --- derivations against closed forms --------------------------------------------------


def test_descent_lemma():
    d = D.descent_lemma()
    g2 = symbol(d["change"], r"\|g\|^2")
    assert same(d["change"], -alpha * g2 + L * alpha**2 * g2 / 2)
    a = symbol(d["falls"], "alpha")
    for lip, step, falls in [(2.0, 0.999, True), (2.0, 1.001, False), (2.0, -0.1, False)]:
        assert bool(d["falls"].subs({L: lip, a: step})) is falls
    assert same(d["best_step"], 1 / L)
    assert same(d["best_change"], -g2 / (2 * L))


def test_gd_convex_bounds():
    d = D.gd_convex_bounds()
    t = symbol(d["bound"], "t")
    inner = symbol(d["per_step"], r"\langle g_t, x_t - x^\ast\rangle")
    g2 = symbol(d["per_step"], r"\|g_t\|^2")
    assert same(d["per_step"], inner - g2 / (2 * L))
    assert same(d["bound"], L * R**2 / (2 * t))
    assert same(d["huber_x"], R * (t + 1) / (2 * t + 1))
    assert same(d["huber_gap"], L * R**2 / (4 * t + 2))
    assert same(d["quad_u"], 1 / (2 * t + 1))
    assert same(d["quad_share"], 1 / (2 * sp.E))
    assert d["sharper_than_nesterov"] == sp.Interval.open(sp.Rational(4, 3), sp.oo)


def test_the_per_step_identity_in_five_dimensions():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, s, g = rng.normal(size=(3, 5))
        lip = rng.uniform(0.1, 10)
        lhs = lip / 2 * (np.sum((x - s) ** 2) - np.sum((x - g / lip - s) ** 2))
        assert lhs == pytest.approx(g @ (x - s) - g @ g / (2 * lip), rel=1e-12, abs=1e-12)


def test_gd_strongly_convex():
    d = D.gd_strongly_convex()
    h = symbol(d["factor"], "h")
    assert same(d["factor"], 1 - 2 * h * m * L / (m + L))
    assert same(d["best"], ((L - m) / (L + m)) ** 2)
    assert same(d["best_kappa"], (kappa - 1) / (kappa + 1))
    assert same(d["one_over_L"], (L - m) / (L + m))


def test_sgd_convex_step():
    d = D.sgd_convex_step()
    theta = symbol(d["misjudged"], "theta")
    assert same(d["bound"], (R**2 + M**2 * T * alpha**2) / (2 * T * alpha))
    assert same(d["best_step"], R / (M * sp.sqrt(T)))
    assert same(d["best_bound"], R * M / sp.sqrt(T))
    assert same(d["misjudged"], (theta + 1 / theta) / 2)


def test_sgd_inverse_time():
    d = D.sgd_inverse_time()
    nu, beta = symbol(d["room"], "nu"), symbol(d["nu_min"], "beta")
    kh = symbol(d["room"], r"\hat{k}")
    assert same(d["nu_min"], beta**2 * L * sigma**2 / (2 * (beta * m - 1)))
    assert same(d["room"], nu / (kh**2 * (kh + 1)))
    assert same(d["slack"].subs(nu, d["nu_min"]), 0)
    # the recursion's bound is below nu/(k+1) exactly when the slack is not positive
    recursion = (1 - beta * m / kh) * nu / kh + beta**2 * L * sigma**2 / (2 * kh**2)
    assert same(recursion - nu / (kh + 1), d["slack"] - d["room"])
    assert same(d["best_beta"], 2 / m)
    assert same(d["best_nu"], 2 * L * sigma**2 / m**2)
    a, j = symbol(d["example"], "a"), symbol(d["example"], "j")
    for a_, j_ in ((0.2, 50), (0.7, 13)):
        direct = math.prod(1 - a_ / s for s in range(1, j_))
        assert float(d["example"].subs({a: a_, j: j_})) == pytest.approx(direct, rel=1e-12)


def test_nemirovskis_example_is_still_far_after_a_billion_steps():
    # x_j/x_1 = Gamma(j - a)/(Gamma(j) Gamma(1 - a)), a = 1/5 (f = x^2/10, rate 1/j)
    a = 0.2
    x = math.exp(math.lgamma(1e9 - a) - math.lgamma(1e9) - math.lgamma(1 - a))
    assert x > 1e-2  # Bottou et al. §4.2: "remains greater than 10^-2"
    assert x * 1e9**a * math.gamma(1 - a) == pytest.approx(1, rel=1e-5)  # lgamma's rounding
    # the page: theta = 1/(2m) (a = 1/2) is orders of magnitude closer; theta = 1/m lands
    half = math.exp(math.lgamma(1e9 - 0.5) - math.lgamma(1e9) - math.lgamma(0.5))
    assert 1e-5 < half < 2e-5 and half < x / 100
    assert math.prod(1 - 1.0 / s for s in range(1, 2)) == 0


def test_sgd_nonconvex_step():
    d = D.sgd_nonconvex_step()
    K, gap = symbol(d["bound"], "K"), symbol(d["bound"], "Delta")
    assert same(d["best_step"], sp.sqrt(2 * gap / (K * L * sigma**2)))
    assert same(d["best_bound"], 2 * sigma * sp.sqrt(2 * L * gap / K))
    assert same(d["ghadimi_share"], 1 / (2 - L * alpha))
    # the page: Ghadimi & Lan's bound is Bottou et al.'s times a factor in [1/2, 1]
    # for 0 < a <= 1/L, computed here from the two bounds themselves
    a_ = symbol(d["ghadimi"], "alpha")
    for lip, step in ((7.0, 1e-4), (7.0, 0.07), (7.0, 1 / 7), (0.5, 2.0)):
        vals = {L: lip, a_: step, K: 50, gap: 3.0, sigma: 1.3}
        share = float(d["ghadimi"].subs(vals) / d["bound"].subs(vals))
        assert 0.5 - 1e-12 <= share <= 1 + 1e-12
    assert same(d["loss_share"], 1 / (2 - alpha * lam))
    assert same(d["grad_share"], 1 / (2 - alpha * lam))


# --- gradient descent: the 1/t bound attacked --------------------------------------------


def huber_value_grad(u, delta):
    inside = np.abs(u) <= delta
    return (
        np.where(inside, u * u / 2, delta * (np.abs(u) - delta / 2)),
        np.where(inside, u, delta * np.sign(u)),
    )


@FAST
@given(
    dim=st.sampled_from([1, 2]),
    terms=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(0.01, 100),
)
def test_no_sum_of_huber_functions_beats_drori_and_teboulle(dim, terms, seed, scale):
    """f(x) = sum_k w_k h_{d_k}(a_k . x): convex, minimum 0 at 0, and L-smooth with L the
    largest eigenvalue of sum_k w_k a_k a_k^T (the Hessian at 0, the largest anywhere)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(terms, dim))
    w = rng.uniform(0.1, 2, size=terms)
    widths = scale * rng.uniform(1e-3, 1, size=terms)
    lip = np.linalg.eigvalsh((a.T * w) @ a).max()
    x0 = scale * rng.normal(size=dim)
    r2 = x0 @ x0
    x = x0.copy()
    for t in range(1, 41):
        _, slopes = huber_value_grad(a @ x, widths)
        x = x - (a.T @ (w * slopes)) / lip
        values, _ = huber_value_grad(a @ x, widths)
        gap = w @ values
        assert gap <= lip * r2 / (4 * t + 2) * (1 + 1e-9) + 1e-300
        assert lip * r2 / (4 * t + 2) <= lip * r2 / (2 * t)


@pytest.mark.parametrize("t", [1, 5, 20])
def test_the_huber_worst_case_reaches_the_exact_bound(t):
    deltas = np.geomspace(1e-4, 1, 20_001)
    x = np.ones_like(deltas)
    for _ in range(t):
        x = x - huber_value_grad(x, deltas)[1]
    worst = huber_value_grad(x, deltas)[0].max()
    assert worst <= 1 / (4 * t + 2) * (1 + 1e-12)
    assert worst >= 0.999 / (4 * t + 2)


def test_gd_gap_helpers_against_closed_forms():
    t = np.arange(1, 201)
    np.testing.assert_allclose(analysis.gd_huber_gaps(t, L=2.0, R=3.0), 18 / (4 * t + 2), 1e-12)
    lams = np.array([0.05, 0.5, 2.0])
    gaps = analysis.gd_quadratic_gaps(lams, 50, L=2.0, R=3.0)
    steps = np.arange(51)[:, None]
    np.testing.assert_allclose(gaps, lams * (1 - lams / 2) ** (2 * steps) * 9 / 2, 1e-12)


def test_the_pages_gd_measurement():
    """The page's families: slope -1 within 0.02 over t = 10 .. 1000, never above the bound."""
    t = np.arange(1, 1001)
    hub = np.r_[np.nan, analysis.gd_huber_gaps(t)]
    quad = analysis.gd_quadratic_gaps(np.geomspace(1e-5, 1, 600), 1000).max(axis=1)
    for gap in (hub, quad):
        assert analysis.loglog_slope(gap, 10, 1001) == pytest.approx(-1, abs=0.02)
        assert np.all(gap[1:] <= 1 / (2 * t))
    assert np.max(quad[1:] * 2 * t) == pytest.approx(1 / (2 * math.e), abs=2e-3)


# --- strongly convex gradient descent --------------------------------------------------


@FAST
@given(
    m_=st.floats(0.01, 1),
    ratio=st.floats(1, 1000),
    share=st.floats(0.05, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_nesterovs_linear_rate_holds(m_, ratio, share, seed):
    """f = m/2 |x|^2 + (L - m) sum_i w_i log cosh x_i with w_i in [0, 1]: curvature in
    [m, L]. Every step 0 < h <= 2/(m+L) contracts the squared distance as promised."""
    rng = np.random.default_rng(seed)
    lip = m_ * ratio
    w = rng.uniform(0, 1, size=3)
    h = share * 2 / (m_ + lip)
    factor = 1 - 2 * h * m_ * lip / (m_ + lip)
    x = 5 * rng.normal(size=3)
    d0 = x @ x
    for t in range(1, 60):
        x = x - h * (m_ * x + (lip - m_) * w * np.tanh(x))
        assert x @ x <= factor**t * d0 * (1 + 1e-9) + 1e-26 * d0  # rounding at factor 0


def test_the_pages_strongly_convex_rate_is_the_theorems():
    m_, lip = 0.1, 1.0
    h, x = 2 / (m_ + lip), np.array([3.0, 3.0])
    path = [x]
    for _ in range(120):
        x = x - h * (m_ * x + (lip - m_) * np.tanh(x) * np.array([0.0, 1.0]))
        path.append(x)
    distance = np.linalg.norm(path, axis=1)
    rate = np.exp(np.polyfit(np.arange(60, 121), np.log(distance[60:]), 1)[0])
    assert rate == pytest.approx(9 / 11, abs=1e-4)
    assert np.all(distance <= 3 * math.sqrt(2) * (9 / 11) ** np.arange(121) * (1 + 1e-12))


# --- SGD on a convex problem -----------------------------------------------------------


@FAST
@given(
    dim=st.integers(1, 3),
    steps=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    radius=st.floats(0.1, 10),
    constant=st.booleans(),
)
def test_the_online_gradient_inequality(dim, steps, seed, radius, constant):
    """sum_t a <G_t, x_t - u> <= |x_1 - u|^2/2 + a^2 sum_t |G_t|^2/2 for projected steps,
    any gradients and any u in the box: the inequality behind the averaged bound."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.01, 1)
    grads = rng.normal(size=(steps, dim)) * rng.uniform(0.1, 10)
    if constant:
        grads[:] = grads[0]
    x = rng.uniform(-radius, radius, size=dim)
    u = rng.uniform(-radius, radius, size=dim)
    lhs, start = 0.0, x.copy()
    for g in grads:
        lhs += a * g @ (x - u)
        x = np.clip(x - a * g, -radius, radius)
    rhs = (start - u) @ (start - u) / 2 + a**2 * np.sum(grads**2) / 2
    assert lhs <= rhs * (1 + 1e-9) + 1e-12


def test_the_online_gradient_inequality_is_an_equality_for_constant_gradients():
    a, g, steps = 0.3, np.array([1.5, -2.0]), 25
    x = np.array([4.0, 1.0])
    u = x - a * steps * g  # the last point: no projection
    lhs = sum(a * g @ (x - t * a * g - u) for t in range(steps))
    rhs = (x - u) @ (x - u) / 2 + a**2 * steps * (g @ g) / 2
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_averaged_sgd_on_abs_slope_and_bound():
    """Written out here (not optnotes): projected SGD on |x| over [-1, 1], noise s = 1,
    a = R/(M sqrt(T)); the mean |x~_T| has slope -1/2 within 0.06 and stays below RM/sqrt(T)."""
    rng = np.random.default_rng(7)
    horizons = np.array([30, 100, 300, 1000, 3000])
    big_m = math.sqrt(2)
    gaps = []
    for horizon in horizons:
        x, total = np.ones(600), np.zeros(600)
        a = 1 / (big_m * math.sqrt(horizon))
        for _ in range(horizon):
            total += x
            x = np.clip(x - a * (np.sign(x) + rng.normal(size=x.shape)), -1, 1)
        gaps.append(np.abs(total / horizon).mean())
    gaps = np.array(gaps)
    assert np.polyfit(np.log(horizons), np.log(gaps), 1)[0] == pytest.approx(-0.5, abs=0.06)
    assert np.all(gaps <= big_m / np.sqrt(horizons))
    assert np.all(gaps >= 0.4 * big_m / np.sqrt(horizons))  # "about half of it"


def test_a_tenth_of_the_rate_costs_the_averaged_iterate_a_fixed_factor():
    """Exercise: at a tenth of the best rate the error grows by more than the bound's
    (theta + 1/theta)/2 = 5.05, but stays under the bound."""
    horizon, big_m = 1000, math.sqrt(2)
    best = 1 / (big_m * math.sqrt(horizon))
    gaps = [
        np.abs(
            analysis.projected_sgd_average(
                np.sign, 1.0, [lr], [horizon], radius=1.0, sigma=1.0, runs=1000, seed=3
            )
        ).mean()
        for lr in (best, best / 10)
    ]
    bound = 1 / (2 * best / 10 * horizon) + best / 10 * big_m**2 / 2
    assert 5.05 < gaps[1] / gaps[0] < 10.1
    assert gaps[1] <= bound


# --- SGD with a 1/k rate on a strongly convex problem ----------------------------------


def exact_losses(lams, variances, x0, rates):
    """E f(x_k) for k = 1 .. len(rates)+1 on f = sum lam_i x_i^2/2, noise variances per
    coordinate: V_{k+1} = (1 - a_k lam)^2 V_k + a_k^2 var (the mean of the noise is 0)."""
    v = np.asarray(x0, dtype=float) ** 2 * np.ones_like(lams)
    out = [lams @ v / 2]
    for a in rates:
        v = (1 - a * lams) ** 2 * v + a**2 * variances
        out.append(lams @ v / 2)
    return np.array(out)


@FAST
@given(
    m_=st.floats(0.05, 1),
    ratio=st.floats(1, 20),
    variance=st.floats(0.01, 10),
    beta_m=st.floats(1.01, 6),
    extra=st.floats(0, 20),
    x0=st.floats(-10, 10),
)
def test_bottous_inverse_time_bound_holds(m_, ratio, variance, beta_m, extra, x0):
    lip = m_ * ratio
    lams = np.array([m_, lip])
    beta = beta_m / m_
    gamma = max(beta * lip - 1, 0) + extra + 1e-9  # a_1 = beta/(gamma + 1) <= 1/L
    k = np.arange(1, 2001)
    losses = exact_losses(lams, np.array([variance / 2] * 2), x0, beta / (gamma + k[:-1]))
    nu = max(beta**2 * lip * variance / (2 * (beta * m_ - 1)), (gamma + 1) * losses[0])
    assert np.all(losses <= nu / (gamma + k) * (1 + 1e-9))


@FAST
@given(lam_=st.floats(0.05, 2), theta_m=st.floats(0.3, 5), variance=st.floats(0.01, 10))
def test_one_over_j_needs_theta_above_one_over_two_m(lam_, theta_m, variance):
    """Exact E x_j^2 on lam x^2/2 at a_j = theta/j from x_1 = 1: j E x_j^2 stays bounded
    (grows less than 1.3x from j = 2000 to 20000) when theta lam > 0.55, and grows (more
    than 1.3x) when theta lam < 0.45: Nemirovski et al.'s threshold 1/(2m) is sharp."""
    if 0.45 <= theta_m <= 0.55:
        return
    theta, v, scaled = theta_m / lam_, 1.0, {}
    for j in range(1, 20_001):
        v = (1 - theta / j * lam_) ** 2 * v + (theta / j) ** 2 * variance
        if j + 1 in (2000, 20_000):
            scaled[j + 1] = (j + 1) * v
    growth = scaled[20_000] / scaled[2000]
    assert (growth < 1.3) if theta_m > 0.55 else (growth > 1.3)


@pytest.mark.parametrize("beta_m, theory", [(2.0, -1.0), (0.75, -1.0), (0.25, -0.5)])
def test_inverse_time_slopes(beta_m, theory):
    """The page's cases, exactly (recursion) within 0.05 and sampled (optnotes, 300 runs)
    within 0.1 of the theory's slope, over the last decade of 10^4 steps."""
    m_, lip, steps = 0.1, 1.0, 10_000
    beta = beta_m / m_
    gamma = max(beta * lip - 1, 1.0)
    rates = beta / (gamma + np.arange(1, steps + 1))
    lams = np.array([m_, lip])
    exact = exact_losses(lams, np.array([0.5, 0.5]), 1.0, rates)
    t = np.arange(1000, steps + 1)
    assert np.polyfit(np.log(t), np.log(exact[t]), 1)[0] == pytest.approx(theory, abs=0.05)
    sampled = analysis.sgd_on_quadratic(
        lams, rates[None], sigmas=np.sqrt([0.5, 0.5]), x0=1.0, runs=300, seed=5
    )[0]
    assert analysis.loglog_slope(sampled, 1000, steps + 1) == pytest.approx(theory, abs=0.1)


def test_the_inverse_time_slope_from_the_schedules_derivation():
    inv = D.inverse_time_variance()
    a0 = symbol(inv["slope"], "alpha_0")
    for beta, curvature, expected in ((20.0, 0.1, -1.0), (7.5, 0.1, -1.0), (2.5, 0.1, -0.5)):
        assert float(inv["slope"].subs({a0: beta, lam: curvature})) == pytest.approx(expected)


# --- non-convex --------------------------------------------------------------------------


def wavy_grad(x):
    return x + 3 * np.sin(2 * x)


def test_the_wavy_function_is_seven_smooth_and_not_convex():
    u = np.linspace(-20, 20, 400_001)
    second = 1 + 6 * np.cos(2 * u)
    assert second.max() == pytest.approx(7) and second.min() == pytest.approx(-5)
    slope = wavy_grad(u)
    crossings = u[1:][np.sign(slope[1:]) != np.sign(slope[:-1])]
    assert np.any(np.abs(crossings - 2.6) < 0.1)  # a stationary point near 2.6 (a minimum)


@FAST
@given(
    lams=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=3),
    lip=st.floats(0.5, 10),
    share=st.floats(0.01, 0.99),
    variance=st.floats(0.0, 5),
    steps=st.integers(1, 300),
    x0=st.floats(-5, 5),
)
def test_ghadimi_and_lans_bound_holds_on_quadratics(lams, lip, share, variance, steps, x0):
    """Exact E|grad f(x_k)|^2 on f = sum lam_i x_i^2/2 (lam_i in [0, L]) at a constant rate
    a < 2/L: its mean over k = 1 .. K never exceeds Theorem 2.1(a)'s bound."""
    lams = lip * np.array(lams)
    a = share * 2 / lip
    per = variance / lams.size
    v = np.full(lams.size, x0**2)
    total, f1 = 0.0, lams @ v / 2
    for _ in range(steps):
        total += lams**2 @ v
        v = (1 - a * lams) ** 2 * v + a**2 * per
    bound = lip * (2 * f1 / lip + variance * steps * a**2) / (steps * (2 * a - lip * a**2))
    assert total / steps <= bound * (1 + 1e-9) + 1e-12


def test_the_pages_nonconvex_measurement():
    """Written out here: SGD on the wavy function, noise 1 per coordinate, a = D_f/(s sqrt K):
    the mean of |grad f|^2 falls with slope -1/2 within 0.1 and stays under the bound."""
    rng = np.random.default_rng(11)
    lip, x1, variance = 7.0, np.array([3.0, -2.5]), 2.0
    f1 = np.sum(x1**2 / 2 + 3 * np.sin(x1) ** 2)
    means, bounds, horizons = [], [], np.array([300, 3000])
    for horizon in horizons:
        a = min(1 / lip, math.sqrt(2 * f1 / (lip * variance * horizon)))
        x, total = np.tile(x1, (150, 1)), np.zeros(150)
        for _ in range(horizon):
            g = wavy_grad(x)
            total += np.sum(g**2, axis=1)
            x = x - a * (g + rng.normal(size=x.shape))
        means.append(total.mean() / horizon)
        bounds.append((2 * f1 + horizon * lip * a**2 * variance) / (horizon * a * (2 - lip * a)))
    slope = np.log(means[1] / means[0]) / np.log(horizons[1] / horizons[0])
    assert slope == pytest.approx(-0.5, abs=0.1)
    assert np.all(np.array(means) <= np.array(bounds))


def test_the_floor_exercise():
    """Started at the minimum, the mean of |grad f|^2 at a constant rate is the quadratic's
    floor 2 L a s^2/(2 - a L) within 5%, about half of Bottou et al.'s a L (2 s^2)."""
    rates = np.array([0.02, 0.01])
    measured = analysis.sgd_mean_sq_grad(
        wavy_grad, np.zeros(2), rates, [5000, 5000], sigma=1.0, runs=200, seed=2
    ).mean(axis=1)
    quadratic = 2 * 7 * rates / (2 - 7 * rates)
    np.testing.assert_allclose(measured, quadratic, rtol=0.05)
    assert np.all(measured < 0.6 * rates * 7 * 2)


@FAST
@given(h=st.floats(1e-4, 1.0))
def test_the_theorems_floors_are_within_a_factor_two(h):
    """On lam x^2/2 with a lam = h <= 1: exact loss floor a s^2/(2(2 - h)) against Theorem
    4.6's a L s^2/(2m) = a s^2/2 (L = m = lam)."""
    exact, theorem = h / (2 * (2 - h)), h / 2
    assert 0.5 * theorem <= exact <= theorem * (1 + 1e-12)


# --- bad input ---------------------------------------------------------------------------


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="horizon"):
        analysis.gd_huber_gaps([0, 3])
    with pytest.raises(ValueError, match="horizons"):
        analysis.gd_huber_gaps([1.5])
    with pytest.raises(ValueError, match="delta"):
        analysis.huber(1.0, 0.0)
    with pytest.raises(ValueError, match="curvature"):
        analysis.gd_quadratic_gaps([2.0], 3, L=1.0)
    with pytest.raises(ValueError, match="lrs"):
        analysis.projected_sgd_average(np.sign, 0.0, [0.1], [10, 20], radius=1, sigma=1, runs=2)
    with pytest.raises(ValueError, match="radius"):
        analysis.projected_sgd_average(np.sign, 2.0, [0.1], [10], radius=1, sigma=1, runs=2)
    with pytest.raises(ValueError, match="lrs"):
        analysis.sgd_mean_sq_grad(wavy_grad, 0.0, [-0.1], [10], sigma=1, runs=2)
    with pytest.raises(ValueError, match="rate"):
        analysis.sgd_on_quadratic([1.0], [[0.1, -0.1]], sigmas=[1.0], x0=1.0, runs=2)
