"""Claims of the chapters on the training loop, momentum and Nesterov, attacked.

Every bound is checked against worst cases or a search, from the papers' algorithms
written out here, not by comparing optnotes with itself:

- Su, Boyd & Candès 2016 (JMLR 17(153)), §1 (their Theorem 6 is the analogue, r > 3):
  x_k = y_{k-1} - s f'(y_{k-1}), y_k = x_k + (k-1)/(k+2) (x_k - x_{k-1}), s <= 1/L gives
  f(x_k) - f* <= 2 |x_0 - x*|^2 / (s (k+1)^2). Beck & Teboulle 2009, Theorem 4.4: the same
  bound for FISTA's momentum (t_k - 1)/t_{k+1}.
- Nesterov 2004, §2.2.1, constant-step scheme with gamma_0 = m: alpha = 1/L,
  mu = (sqrt(L) - sqrt(m))/(sqrt(L) + sqrt(m)) gives
  f(x_k) - f* <= (1 - sqrt(m/L))^k (f(x_0) - f* + m/2 |x_0 - x*|^2).
- Lessard, Recht & Packard 2016 (SIAM J. Optim. 26(1)), §4.6: heavy ball with Polyak's
  tuning cycles on a piecewise quadratic with m = 1, L = 25.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import optnotes as on
from optnotes import analysis, experiments, problems
from optnotes import derivations as D

# --- Lessard, Recht & Packard's function, typed from the paper ------------------------


def lessard_f(x):
    if x < 1:
        return 25 * x * x / 2
    if x < 2:
        return x * x / 2 + 24 * x - 12
    return 25 * x * x / 2 - 24 * x + 36


def lessard_df(x):
    if x < 1:
        return 25 * x
    if x < 2:
        return x + 24
    return 25 * x - 24


M_LRP, L_LRP = 1, 25
POLYAK_ALPHA = Fraction(4, (5 + 1) ** 2)  # 4 / (sqrt L + sqrt m)^2
POLYAK_BETA = Fraction(5 - 1, 5 + 1) ** 2  # ((sqrt kappa - 1)/(sqrt kappa + 1))^2


def heavy_ball(x0, steps, alpha, beta, df):
    """Polyak 1964 / Lessard et al. (2.2): x_{k+1} = x_k - a f'(x_k) + b (x_k - x_{k-1})."""
    xs = [x0, x0]  # x_{-1} = x_0: no velocity at the start
    for _ in range(steps):
        x, prev = xs[-1], xs[-2]
        xs.append(x - alpha * df(x) + beta * (x - prev))
    return xs[1:]


def test_the_problem_is_the_papers_function():
    p = problems.HeavyBallCounterexample()
    xs = np.linspace(-4, 5, 901)
    np.testing.assert_allclose(p.value(xs[None]), [lessard_f(x) for x in xs], rtol=1e-14)
    np.testing.assert_allclose(p.grad(xs[None])[0], [lessard_df(x) for x in xs], rtol=1e-14)
    assert p.heavy_ball == pytest.approx({"lr": 1 / 9, "mu": 4 / 9})
    assert p.nesterov == pytest.approx({"lr": 1 / 25, "mu": 2 / 3})
    with pytest.raises(ValueError, match="1 coordinates"):
        p.grad(np.zeros(2))
    with pytest.raises(ValueError, match="1 coordinates"):
        p.value(3.0)


@given(
    st.floats(-10, 10, allow_nan=False),
    st.floats(-10, 10, allow_nan=False),
)
def test_the_function_is_1_strongly_convex_and_25_smooth(x, y):
    # Both inequalities of the class F_{m,L}, on any pair of points (joins included).
    f, df = lessard_f, lessard_df
    gap = f(y) - f(x) - df(x) * (y - x)
    d2 = (y - x) ** 2
    assert M_LRP / 2 * d2 - 1e-9 * (1 + abs(f(y))) <= gap <= L_LRP / 2 * d2 + 1e-9 * (1 + abs(f(y)))
    slope = (df(y) - df(x)) * (y - x)
    assert M_LRP * d2 - 1e-9 * (1 + d2) <= slope <= L_LRP * d2 + 1e-9 * (1 + d2)


def test_the_function_is_c1_at_the_joins_exactly():
    for piece_left, piece_right, at in [
        (lambda x: 25 * x * x / 2, lambda x: x * x / 2 + 24 * x - 12, 1),
        (lambda x: x * x / 2 + 24 * x - 12, lambda x: 25 * x * x / 2 - 24 * x + 36, 2),
    ]:
        a = Fraction(at)
        assert piece_left(a) == piece_right(a)
        h = Fraction(1, 10**12)  # exact difference quotients of quadratics
        left = (piece_left(a + h) - piece_left(a - h)) / (2 * h)
        right = (piece_right(a + h) - piece_right(a - h)) / (2 * h)
        assert left == right


def test_the_derived_cycle_is_a_cycle_of_heavy_ball_exactly():
    d = D.heavy_ball_cycle()
    cycle = [Fraction(int(sp.numer(v)), int(sp.denom(v))) for v in d["cycle"]]
    assert cycle == [Fraction(792, 1225), Fraction(-2208, 1225), Fraction(2592, 1225)]
    # Three exact heavy-ball steps, entering the cycle with x_{-1} = x_3, return to it.
    prev, x = cycle[2], cycle[0]
    seen = []
    for _ in range(6):
        prev, x = x, x - POLYAK_ALPHA * lessard_df(x) + POLYAK_BETA * (x - prev)
        seen.append(x)
    assert seen == cycle[1:] + cycle + cycle[:1]
    assert d["joins"] == (0, 0, 0, 0)
    assert d["curvatures"] == (25, 1, 25)
    assert d["alpha"] == sp.Rational(1, 9) and d["mu"] == sp.Rational(4, 9)
    assert d["cycle_eigenvalues"] == (sp.Rational(-8, 27),)
    # The cycle attracts: the three-step linear part has spectral radius 8/27 < 1.
    M = np.array([[1 + 4 / 9 - 25 / 9, -4 / 9], [1, 0]])
    assert max(abs(np.linalg.eigvals(np.linalg.matrix_power(M, 3)))) == pytest.approx(8 / 27)


@pytest.mark.parametrize("x0", [1.0, 2.8, 3.1, 3.3, 3.46])
def test_heavy_ball_does_not_converge(x0):
    p = problems.HeavyBallCounterexample()
    xs = on.run(on.Momentum(**p.heavy_ball), p.grad, (x0,), 600)[:, 0]
    reference = heavy_ball(x0, 600, 1 / 9, 4 / 9, lessard_df)
    np.testing.assert_allclose(xs, reference, atol=1e-9)
    # It stays away from the minimum 0 and settles on the period-3 cycle.
    assert np.abs(xs[-300:]).min() > 0.6
    cycle = np.array([792, -2208, 2592]) / 1225
    tail = xs[-3:]
    assert min(np.abs(np.roll(cycle, k) - tail).max() for k in range(3)) < 1e-9


def test_heavy_ball_cycles_from_a_set_of_starts_of_positive_measure():
    p = problems.HeavyBallCounterexample()
    starts = np.linspace(3.07, 3.46, 40)
    for s in starts:
        xs = heavy_ball(float(s), 400, 1 / 9, 4 / 9, lessard_df)
        assert min(abs(x) for x in xs[-50:]) > 0.6, s
    assert p.start[0] in [pytest.approx(3.3)]


def test_nesterov_converges_where_heavy_ball_cycles():
    p = problems.HeavyBallCounterexample()
    kappa = L_LRP / M_LRP
    for x0 in np.linspace(-5, 5, 41):
        xs = on.run(on.Nesterov(**p.nesterov), p.grad, (x0,), 200)[:, 0]
        gaps = np.array([lessard_f(x) for x in xs])
        bound = (1 - 1 / np.sqrt(kappa)) ** np.arange(201) * (lessard_f(x0) + M_LRP / 2 * x0**2)
        assert np.all(gaps <= bound * (1 + 1e-12) + 1e-300)
        assert abs(xs[-1]) < 1e-8


# --- Nesterov's bound on smooth strongly convex functions, attacked ---------------


def huberish(y, delta, w):
    """A convex function of y with h'' in [0, 1], minimum 0 at y = 0 (and its slope):
    w Huber_delta(y) + (1 - w) log cosh(y)."""
    a = np.abs(y)
    huber = np.where(a <= delta, y * y / 2, delta * (a - delta / 2))
    dhuber = np.clip(y, -delta, delta)
    logcosh = a + np.log1p(np.exp(-2 * a)) - np.log(2)
    return w * huber + (1 - w) * logcosh, w * dhuber + (1 - w) * np.tanh(y)


def random_function(seed, dim, m, L):
    """f(x) = sum_i m/2 y_i^2 + (L - m) h_i(y_i), y = Q (x - x*): m-strongly convex,
    L-smooth, minimum 0 at x* (m = 0 gives a convex function, not strongly convex)."""
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    x_star = rng.normal(size=dim) * 3
    delta = rng.uniform(0.05, 3, size=dim)
    w = rng.uniform(0, 1, size=dim)

    def value(x):
        y = Q @ (x - x_star)
        h, _ = huberish(y, delta, w)
        return float(np.sum(m / 2 * y * y + (L - m) * h))

    def grad(x):
        y = Q @ (x - x_star)
        _, dh = huberish(y, delta, w)
        return Q.T @ (m * y + (L - m) * dh)

    return value, grad, x_star


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    dim=st.integers(1, 6),
    kappa=st.floats(1.5, 1e4),
    scale=st.floats(0.1, 100),
)
def test_nesterov_strongly_convex_bound(seed, dim, kappa, scale):
    L = 2.0
    m = L / kappa
    value, grad, x_star = random_function(seed, dim, m, L)
    x0 = x_star + scale * np.random.default_rng(seed + 1).normal(size=dim)
    mu = (np.sqrt(L) - np.sqrt(m)) / (np.sqrt(L) + np.sqrt(m))
    xs = on.run(on.Nesterov(lr=1 / L, mu=mu), grad, x0, 300)
    r0 = value(x0) + m / 2 * np.sum((x0 - x_star) ** 2)
    for k, x in enumerate(xs):
        assert value(x) <= (1 - np.sqrt(m / L)) ** k * r0 * (1 + 1e-9) + 1e-12 * r0


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1e4])
def test_nesterov_strongly_convex_bound_on_every_single_curvature(kappa):
    # The tight cases: one direction of curvature lam in [m, L] (random smooth
    # functions leave the bound slack). Written out here, not with optnotes:
    # y = x + mu (x - x_prev), x_next = y - lam y / L.
    L, m = 1.0, 1.0 / kappa
    mu = (np.sqrt(L) - np.sqrt(m)) / (np.sqrt(L) + np.sqrt(m))
    lam = np.concatenate([np.geomspace(m, L, 400), [m, L]])
    x_prev = x = np.ones_like(lam)
    r0 = 0.5 * lam + m / 2
    worst = 0.0
    for k in range(1, int(300 * np.sqrt(kappa))):
        y = x + mu * (x - x_prev)
        x_prev, x = x, y - lam * y / L
        # the ratio gap / bound, in logarithms (the bound underflows)
        with np.errstate(divide="ignore"):
            log_ratio = np.log(0.5 * lam * x**2) - k * np.log1p(-np.sqrt(m / L)) - np.log(r0)
        worst = max(worst, float(np.exp(np.max(log_ratio))))
    assert 0.5 < worst <= 1.0 + 1e-9  # measured 0.64, 0.84, 0.98 at kappa 10, 100, 1e4


# --- Nesterov's O(1/t^2) on convex functions ---------------------------------------


def sbc_schedule(t):
    """mu_t = (t-1)/(t+2) in optnotes' step count (mu_0 multiplies a zero velocity)."""
    return max(0.0, (t - 1) / (t + 2))


def su_boyd_candes(grad, x0, steps, s):
    """Su, Boyd & Candès (1.3)-(1.4), written out: returns x_0, x_1, ..., x_steps."""
    x_prev = np.array(x0, dtype=float)
    y = x_prev.copy()
    xs = [x_prev]
    for k in range(1, steps + 1):
        x = y - s * grad(y)
        y = x + (k - 1) / (k + 2) * (x - x_prev)
        x_prev = x
        xs.append(x)
    return np.array(xs)


def test_the_schedule_is_su_boyd_candes_scheme():
    value, grad, _ = random_function(3, 4, 0.0, 1.0)
    x0 = np.arange(4.0)
    ours = on.run(on.Nesterov(lr=0.7, mu=sbc_schedule), grad, x0, 80)
    np.testing.assert_allclose(ours, su_boyd_candes(grad, x0, 80, 0.7), rtol=1e-12, atol=1e-12)


def check_accelerated_bound(rule, value, grad, x0, x_star, f_star, L, steps):
    xs = on.run(rule, grad, x0, steps)
    r2 = np.sum((np.asarray(x0) - x_star) ** 2)
    t = np.arange(1, steps + 1)
    gaps = np.array([value(x) for x in xs[1:]]) - f_star
    bound = 2 * L * r2 / (t + 1) ** 2
    assert np.all(gaps <= bound * (1 + 1e-9) + 1e-13), np.max(gaps / bound)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    dim=st.integers(1, 8),
    zeros=st.integers(0, 3),
    L=st.floats(0.1, 100),
)
def test_nesterov_schedule_meets_2L_R2_over_t_plus_1_squared_on_convex_quadratics(
    seed, dim, zeros, L
):
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    # Curvatures spread down to 0 (some exactly 0), on a log scale, largest L.
    lam = L * 10.0 ** rng.uniform(-8, 0, size=dim)
    lam[0] = L
    lam[1 : 1 + zeros] = 0.0
    H = Q @ np.diag(lam) @ Q.T
    c = rng.normal(size=dim) * 10
    x0 = rng.normal(size=dim) * 10

    def value(x):
        return 0.5 * (x - c) @ H @ (x - c)

    def grad(x):
        return H @ (x - c)

    # The nearest minimiser: remove from x0 - c its part along the curved directions.
    curved = Q[:, lam > 0]
    x_star = x0 - curved @ (curved.T @ (x0 - c))
    rule = on.Nesterov(lr=1 / L, mu=sbc_schedule)
    check_accelerated_bound(rule, value, grad, x0, x_star, 0.0, L, 400)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dim=st.integers(1, 6), scale=st.floats(0.1, 1000))
def test_nesterov_schedule_meets_the_bound_on_convex_non_quadratic_functions(seed, dim, scale):
    # Huber and log cosh: curvature L near the minimum, tending to 0 far from it.
    L = 1.0
    value, grad, x_star = random_function(seed, dim, 0.0, L)
    x0 = x_star + scale * np.random.default_rng(seed + 7).normal(size=dim)
    rule = on.Nesterov(lr=1 / L, mu=sbc_schedule)
    check_accelerated_bound(rule, value, grad, x0, x_star, 0.0, L, 400)


def fista_schedule(steps):
    """Beck & Teboulle's momentum (t_k - 1)/t_{k+1}, t_1 = 1, in optnotes' step count."""
    tk = [1.0]
    for _ in range(steps + 2):
        tk.append((1 + np.sqrt(1 + 4 * tk[-1] ** 2)) / 2)
    # optnotes' step t >= 1 uses FISTA's y_{t+1} = x_t + (t_t - 1)/t_{t+1} (x_t - x_{t-1}).
    return lambda t: 0.0 if t == 0 else (tk[t - 1] - 1) / tk[t]


def worst_ratio_over_single_curvatures(mu, steps):
    """max over t <= steps and curvatures in (0, L], L = 1, of (t+1)^2 gap / (2 L x0^2).

    A quadratic's gap over |x0 - x*|^2 is a weighted average of these single-direction
    ratios, so this maximum is the worst case over all convex quadratics."""
    lam = np.concatenate([np.geomspace(1e-9, 1, 400), np.linspace(0.5, 1, 100)])
    quadratic = problems.Quadratic(np.diag(lam), start=np.ones(lam.size))
    xs = on.run(on.Nesterov(lr=1.0, mu=mu), quadratic.grad, quadratic.start, steps)
    t = np.arange(steps + 1)[:, None]
    ratio = (t + 1) ** 2 * (0.5 * lam * xs**2) / 2.0
    return ratio[1:].max()


@pytest.mark.parametrize("schedule", [sbc_schedule, fista_schedule(3000)])
def test_the_bound_holds_for_every_single_curvature(schedule):
    assert worst_ratio_over_single_curvatures(schedule, 3000) <= 1.0


@pytest.mark.parametrize("mu", [0.5, 0.9, 0.99])
def test_a_constant_mu_breaks_the_accelerated_bound(mu):
    assert worst_ratio_over_single_curvatures(mu, 3000) > 1.0


def test_mu_0_99_crosses_the_bound_later_on_the_books_quadratic():
    # nesterov.md: on its 60 curvatures, mu = 0.99 is under the bound at t = 10^4 and
    # crosses it later, after about 1.5e4 steps.
    curvatures = np.geomspace(1e-8, 1.0, 60)
    T = 20_000
    x, u = np.ones(60), np.zeros(60)  # Sutskever's NAG written out, per coordinate
    ratio = np.empty(T + 1)
    ratio[0] = 0.0
    for t in range(1, T + 1):
        u = 0.99 * u + curvatures * (x - 0.99 * u)
        x = x - u
        ratio[t] = 0.5 * np.sum(curvatures * x * x) / (2 * 60 / (t + 1) ** 2)
    first = int(np.flatnonzero(ratio > 1)[0])
    assert ratio[:10_001].max() < 1 and 14_000 < first < 17_000


def test_the_stability_regions_against_the_matrices():
    # momentum.md and nesterov.md: for 0 <= mu < 1, heavy ball converges iff
    # 0 < h < 2 + 2 mu, Nesterov iff 0 < h < (2 + 2 mu)/(1 + 2 mu). The (u, x) matrices
    # are written out from the updates, their spectral radii computed by numpy.
    rng = np.random.default_rng(11)
    for mu, h in zip(rng.uniform(0, 0.999, 4000), rng.uniform(-0.5, 4.5, 4000), strict=True):
        heavy = np.array([[mu, h], [-mu, 1 - h]])  # u' = mu u + h x, x' = x - u'
        look = np.array([[mu * (1 - h), h], [-mu * (1 - h), 1 - h]])  # gradient at x - mu u
        for matrix, limit in ((heavy, 2 + 2 * mu), (look, (2 + 2 * mu) / (1 + 2 * mu))):
            if min(abs(h), abs(h - limit)) < 1e-6:
                continue
            assert (max(abs(np.linalg.eigvals(matrix))) < 1) == (0 < h < limit), (mu, h)


def test_the_book_measures_slopes_minus_2_and_minus_1():
    curvatures = np.geomspace(1e-8, 1.0, 60)
    q = problems.Quadratic(np.diag(curvatures), start=np.ones(60))
    T = 10_000
    t = np.arange(T + 1)
    late = t >= 1000

    def slope(rule):
        gap = q.value(on.run(rule, q.grad, q.start, T).T)
        return np.polyfit(np.log(t[late]), np.log(gap[late]), 1)[0]

    assert slope(on.Nesterov(lr=1.0, mu=sbc_schedule)) < -1.8
    for rule in (on.SGD(lr=1.0), on.Nesterov(lr=1.0, mu=0.9), on.Nesterov(lr=1.0, mu=0.99)):
        assert -1.1 < slope(rule) < -0.9


def test_flat_directions_root():
    d = D.flat_directions()
    h, mu = D.h, D.mu
    for key in ("root_momentum", "root_nesterov"):
        assert sp.simplify(d[key] - (1 - h / (1 - mu))) == 0
    # Against the exact largest root for a small h.
    for mv in (0.5, 0.9):
        hv = 1e-6
        assert analysis.momentum_radius(hv, mv) == pytest.approx(1 - hv / (1 - mv), abs=1e-9)
        assert analysis.nesterov_radius(hv, mv) == pytest.approx(1 - hv / (1 - mv), abs=1e-9)


def test_nesterov_swings_die_out_faster_across_the_ravine_at_the_experiments_defaults():
    # The chapter's claim, at lr = 0.6, mu = 0.9 on the ravine with kappa = 20.
    p = problems.ravine(20)
    paths = {
        name: on.run(rule, p.grad, p.start, 80)
        for name, rule in {
            "Momentum": on.Momentum(lr=0.6, mu=0.9),
            "Nesterov": on.Nesterov(lr=0.6, mu=0.9),
        }.items()
    }
    steep = {name: np.abs(xs[20:, 1]).max() for name, xs in paths.items()}
    assert steep["Nesterov"] < 0.01 * steep["Momentum"]
    # Both swing across (complex roots), but Nesterov's swings shrink by 0.6 a step.
    assert analysis.nesterov_radius(0.6, 0.9) == pytest.approx(0.6)
    assert analysis.momentum_radius(0.6, 0.9) == pytest.approx(np.sqrt(0.9))
    controls = experiments.make("nesterov-vs-momentum").controls
    assert controls["lr"].default == 0.6 and controls["mu"].default == 0.9


# --- Momentum on quadratics --------------------------------------------------------


@pytest.mark.parametrize("kappa", [10.0, 100.0])
def test_polyaks_tuning_is_the_best_on_the_range(kappa):
    # A grid search over (alpha, mu) never beats sqrt(mu*) on curvatures in [1/kappa, 1].
    lam = np.linspace(1 / kappa, 1, 400)
    best = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    alphas = np.geomspace(0.05, 10, 300)
    mus = np.linspace(0, 0.995, 300)
    A, MU = np.meshgrid(alphas, mus)
    ends = np.maximum(
        analysis.momentum_radius(A / kappa, MU), analysis.momentum_radius(A * 1.0, MU)
    )
    assert ends.min() >= best * (1 - 1e-9)
    # Polyak's point itself reaches `best`: the spectral radius of the iteration
    # matrix [[1 + mu - alpha lam, -mu], [1, 0]], by numpy, at both ends.
    alpha = (2 / (1 + 1 / np.sqrt(kappa))) ** 2
    mu = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
    for end in (1 / kappa, 1.0):
        matrix = np.array([[1 + mu - alpha * end, -mu], [1.0, 0.0]])
        assert max(abs(np.linalg.eigvals(matrix))) == pytest.approx(best, rel=1e-7)
    # And the rate over the whole range is the slower of its two ends (the map's claim).
    for a, m in [(0.5, 0.3), (3.3, 0.67), (2.0, 0.9), (0.1, 0.0), (3.9, 0.95)]:
        whole = analysis.momentum_radius(a * lam, m).max()
        two = max(analysis.momentum_radius(a / kappa, m), analysis.momentum_radius(a, m))
        assert whole == pytest.approx(two, rel=1e-9)


def test_momentum_noise_floor():
    d = D.momentum_noise_floor()
    alpha, lam, mu, sigma = D.alpha, D.lam, D.mu, D.sigma
    expected = (1 + mu) * alpha * sigma**2 / (2 * (1 - mu) * (2 + 2 * mu - alpha * lam))
    assert sp.simplify(d["floor"] - expected) == 0
    assert sp.simplify(d["small_rate"] - alpha * sigma**2 / (4 * (1 - mu))) == 0
    # Against a simulation of the recursion.
    rng = np.random.default_rng(4)
    a, lv, m, s = 0.1, 1.0, 0.8, 1.0
    x = np.zeros(40_000)
    prev = np.zeros_like(x)
    for _ in range(400):
        x, prev = (1 + m - a * lv) * x - m * prev - a * s * rng.normal(size=x.shape), x
    simulated = np.mean(lv * x**2 / 2)
    assert simulated == pytest.approx(
        float(expected.subs({alpha: a, lam: lv, mu: m, sigma: s})), rel=0.03
    )


def test_momentum_chapters_floors_at_the_same_effective_rate():
    # The chapter: the first two runs (effective rate 0.1) have floors of the same size;
    # ten times the effective rate gives a floor roughly ten times higher, and no faster
    # start on this problem.
    stochastic = problems.LeastSquares()
    f_star = stochastic.value(np.array(stochastic.minima[0]))
    floors, settled = [], []
    for rule in (on.SGD(lr=0.1), on.Momentum(lr=0.01, mu=0.9), on.Momentum(lr=0.1, mu=0.9)):
        oracle = stochastic.minibatch_oracle(batch_size=8, seed=2)
        xs = on.run(rule, oracle, stochastic.start, 600)
        gap = stochastic.value(xs.T) - f_star
        floors.append(np.mean(gap[300:]))
        settled.append(np.flatnonzero(gap >= 0.5)[-1] + 1)
    assert 0.67 < floors[0] / floors[1] < 1.5
    assert 7 < floors[2] / floors[0] < 20  # "roughly ten times higher"
    # "no faster start": the third stays below 0.5 only from a later step.
    assert settled[2] > max(settled[0], settled[1])


def test_sutskever_schedule_identity():
    for t in range(0, 20_000, 37):
        n = t // 250 + 1
        assert 1 - 2 ** (-1 - np.log2(n)) == pytest.approx(1 - 1 / (2 * n), abs=1e-15)


# --- The training loop ----------------------------------------------------------------


def test_minibatch_variance_without_replacement():
    data = problems.LeastSquares()
    w = np.array(data.start)
    per_example = data.features * (data.features @ w - data.targets)[:, None]
    one = per_example.var(axis=0).sum()
    for b in (2, 50):
        oracle = data.minibatch_oracle(batch_size=b, seed=5)
        draws = np.array([oracle(w) for _ in range(20_000)])
        theory = one / b * (data.n - b) / (data.n - 1)
        assert draws.var(axis=0).sum() == pytest.approx(theory, rel=0.05)
        np.testing.assert_allclose(draws.mean(axis=0), data.grad(w), atol=0.05 * np.sqrt(one))


def test_small_batches_leave_a_floor_in_the_batch_size_experiment():
    problem = problems.LeastSquares()
    f_star = problem.value(np.array(problem.minima[0]))
    full = on.run(on.SGD(lr=0.2), problem.grad, problem.start, 100)
    noisy = on.run(
        on.SGD(lr=0.2), problem.minibatch_oracle(batch_size=4, seed=1), problem.start, 100
    )
    gap_full = problem.value(full.T)[-20:] - f_star
    gap_noisy = problem.value(noisy.T)[-20:] - f_star
    assert gap_noisy.mean() > 10 * gap_full.mean()
    assert experiments.make("sgd-batch-size").controls["batch"].default == 4


def test_gd_exercise_steps():
    p = problems.ravine(20)
    xs = on.run(on.SGD(lr=2 / (1 / 20 + 1)), p.grad, p.start, 140)
    ratio = np.linalg.norm(xs, axis=1) / np.linalg.norm(xs[0])
    # (19/21)^t exactly: the first t with ratio <= 1e-6 is 139.
    np.testing.assert_allclose(ratio, (19 / 21) ** np.arange(141), rtol=1e-10)
    assert np.flatnonzero(ratio <= 1e-6)[0] == 139


def test_gd_slows_near_the_saddle_then_escapes():
    # The chapter's saddle experiment at its defaults (lr = 0.1, 100 steps).
    p = problems.Saddle()
    xs = on.run(on.SGD(lr=0.1), p.grad, p.start, 100)
    speed = np.linalg.norm(np.diff(xs, axis=0), axis=1)
    slowest = int(np.argmin(speed[:60]))  # before it settles into the minimum
    assert 0 < slowest < 59 and speed[slowest] < 0.05 * speed[0]
    assert speed[slowest:].max() > 5 * speed[slowest]  # then it speeds up again
    assert np.linalg.norm(xs[slowest] - 0.0) < 0.2  # slowest near the saddle at 0
    assert np.linalg.norm(xs[-1] - np.array([0.0, 1.0])) < 0.05  # escaped to a minimum
    controls = experiments.make("gd-landscapes").controls
    assert controls["lr"].default == 0.1 and controls["steps"].default == 100


def test_adams_adaptive_rate_spreads_widely_in_its_first_steps():
    # schedules.md, linear warm-up: "the adaptive rate 1/sqrt(v_hat) varies
    # wildly from run to run" in the first steps, and far less by step 1000.
    # Recomputed with other seeds; at t = 1, 1/|g| for a standard normal g has
    # percentiles 1/q(0.95) and 1/q(0.55): their ratio is q(0.95)/q(0.55).
    from statistics import NormalDist

    rng = np.random.default_rng(2024)
    beta2, runs = 0.999, 20_000
    v = np.zeros(runs)
    ratio = {}
    for t in range(1, 1001):
        v = beta2 * v + (1 - beta2) * rng.standard_normal(runs) ** 2
        if t in (1, 5, 100, 1000):
            low, high = np.percentile(1 / np.sqrt(v / (1 - beta2**t)), [10, 90])
            ratio[t] = high / low
    exact = NormalDist().inv_cdf(0.95) / NormalDist().inv_cdf(0.55)
    assert ratio[1] == pytest.approx(exact, rel=0.05)  # about 13
    assert ratio[1] > ratio[5] > ratio[100] > ratio[1000]
    assert ratio[1000] < 1.2 < 10 < ratio[1]


def test_averaging_instead_of_decaying():
    # schedules.md: with a constant rate, averaging every iterate does little
    # better than the last iterate and over ten times worse than the last half's
    # average; the start alone (the mean of noiseless gradient descent's path)
    # is about as far off; the last half's average does as well as the best
    # decay, the EMA within a small factor of it.
    # Plain numpy SGD and averages here, on other seeds than the page's.
    problem = on.problems.LeastSquares()
    f_star = float(problem.value(np.array(problem.minima[0])))
    steps, lr = 1000, 0.1
    decays = ("1/t", "cosine", "linear")
    gap = {kind: [] for kind in ("last", "all", "half", "ema", *decays)}
    for seed in range(20, 30):
        for kind, rate in (
            ("constant", lambda t: lr),
            ("1/t", lambda t: lr / (1 + 0.01 * t)),
            ("cosine", lambda t: lr * 0.5 * (1 + math.cos(math.pi * t / steps))),
            ("linear", lambda t: lr * (1 - t / steps)),
        ):
            oracle = problem.minibatch_oracle(4, seed=seed)
            x, xs = np.array(problem.start, dtype=float), []
            for t in range(steps):
                x = x - rate(t) * oracle(x)
                xs.append(x)
            xs = np.array(xs)
            if kind != "constant":
                gap[kind].append(float(problem.value(xs[-1])) - f_star)
                continue
            ema = xs[0]
            for x_t in xs[1:]:
                ema = 0.99 * ema + 0.01 * x_t
            for name, point in (
                ("last", xs[-1]),
                ("all", xs.mean(axis=0)),
                ("half", xs[steps // 2 :].mean(axis=0)),
                ("ema", ema),
            ):
                gap[name].append(float(problem.value(point)) - f_star)
    mean = {kind: np.mean(values) for kind, values in gap.items()}
    # noiseless gradient descent on f(w) = |A w - b|^2 / (2n), from the start
    a, b = problem.features, problem.targets
    x, path = np.array(problem.start, dtype=float), []
    for _ in range(steps):
        x = x - lr * a.T @ (a @ x - b) / len(b)
        path.append(x)
    transient = float(problem.value(np.mean(path, axis=0))) - f_star
    assert 0.4 * mean["last"] < mean["all"] < mean["last"], mean
    assert mean["all"] > 10 * mean["half"], mean
    assert 0.5 < transient / mean["all"] < 2, (transient, mean)
    best = min(mean[kind] for kind in decays)
    assert mean["half"] < 1.2 * best, mean
    assert mean["ema"] < 3 * best, mean
