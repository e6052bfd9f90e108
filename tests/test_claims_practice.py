"""Claims of the schedules, network, practice and errors chapters, recomputed.

Each test computes the claim independently (plain numpy from the paper's update,
not the code under test compared with itself) and can fail.
"""

import numpy as np
import pytest

import optnotes as on
from optnotes import analysis, race
from optnotes import schedules as sch

# --- schedules.md: the Robbins–Monro conditions are sufficient, not necessary -----------


def _simulate(rate, steps, runs=2000, lam=1.0, sigma=1.0, x0=1.0, seed=12345):
    """E[x_t²] of x ← x − α_t(λx + σξ), written out here (not optnotes.SGD)."""
    rng = np.random.default_rng(seed)
    x = np.full(runs, x0)
    out = np.empty(steps + 1)
    out[0] = x0**2
    for t in range(steps):
        x = x - rate(t) * (lam * x + sigma * rng.normal(size=runs))
        out[t + 1] = np.mean(x**2)
    return out


def _slope(err, start, stop):
    t = np.unique(np.geomspace(start, stop, 40).astype(int))
    return np.polyfit(np.log(t), np.log(err[t]), 1)[0]


def test_inverse_sqrt_rate_keeps_falling_and_constant_rate_plateaus_at_its_floor():
    steps = 5000
    sqrt_err = _simulate(lambda t: 0.5 / np.sqrt(1 + t), steps)
    const_err = _simulate(lambda t: 0.1, steps)
    inv_err = _simulate(lambda t: 1.0 / (1 + t), steps)
    # 1/sqrt(t): slope -1/2 (E x² ≈ α_t σ²/(2λ), Moulines & Bach 2011 Thm 1), still falling.
    assert _slope(sqrt_err, 500, steps) == pytest.approx(-0.5, abs=0.06)
    assert sqrt_err[steps] < 0.5 * sqrt_err[steps // 5]
    # 1/t with 2α₀λ > 1: slope -1.
    assert _slope(inv_err, 500, steps) == pytest.approx(-1.0, abs=0.08)
    # Constant α: the floor V∞ = α σ² / (λ (2 − αλ)) of the noise-floor proposition, typed here.
    floor = 0.1 / (2 - 0.1)
    assert abs(_slope(const_err, 500, steps)) < 0.03
    assert np.mean(const_err[steps // 2 :]) == pytest.approx(floor, rel=0.04)


def test_the_page_numbers_agree_with_the_exact_recursion():
    """analysis.sgd_error_under_schedule (optnotes.SGD) against the exact E[x_t²]."""
    steps = 3000
    for lr in (0.1, sch.inverse_sqrt_decay(0.5), sch.inverse_time_decay(0.2, k=1.0)):
        measured = analysis.sgd_error_under_schedule(lr, steps=steps, runs=4000, seed=1)
        rates = np.array([lr(t) if callable(lr) else lr for t in range(steps)])
        V = [1.0]
        for a in rates:
            V.append((1 - a) ** 2 * V[-1] + a**2)
        np.testing.assert_allclose(
            measured[[10, 300, steps]], np.array(V)[[10, 300, steps]], rtol=0.1
        )
    # 1/t with α₀λ = 0.2 < 1/2 falls only like t^(-0.4) (Nemirovski et al. 2009's warning).
    exact = analysis.variance_recursion(sch.inverse_time_decay(0.2, k=1.0), steps=20000)
    assert analysis.loglog_slope(exact, 2000, 20001) == pytest.approx(-0.4, abs=0.02)
    with pytest.raises(ValueError, match="need 1 <= start < stop"):
        analysis.loglog_slope(exact, 0, 10)


# --- practice.md: the race, its tuned rates, AdamW's decay, the memory ------------------


def _plain_run(name, problem, lr, steps=race.STEPS, weight_decay=0.0):
    """SGD or Adam(W) written out from the papers; inf if the run blows up."""
    x = np.array(problem.start, dtype=float)
    m = v = np.zeros_like(x)
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            g = problem.grad(x)
            if name == "SGD":
                x = x - lr * g
            else:  # Kingma & Ba Algorithm 1, decay as PyTorch's AdamW (lambda times lr)
                m = 0.9 * m + 0.1 * g
                v = 0.999 * v + 0.001 * g**2
                m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
                x = x - lr * weight_decay * x - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
            if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > 1e10:
                return np.inf, x, v_hat if name != "SGD" else None
    f_star = min(float(problem.value(np.array(p))) for p in problem.minima)
    return float(problem.value(x)) - f_star, x, (v_hat if name != "SGD" else None)


def test_tuned_rates_and_the_spread_the_page_prints():
    """The full race runs in the book's build; here SGD and Adam are re-tuned
    independently on every problem and compared with race.tuned."""
    best = {p: race.tuned(p) for p in race.PROBLEMS}
    mine = {}
    for p in race.PROBLEMS:
        problem = race.problem_named(p)
        for name in ("SGD", "Adam"):
            gap, lr = min((_plain_run(name, problem, lr)[0], lr) for lr in race.LEARNING_RATES)
            assert best[p][name][0] == lr, (p, name)
            assert best[p][name][1] == pytest.approx(gap, rel=1e-6, abs=1e-300)
            mine.setdefault(name, []).append(lr)
    spread = race.spread(best)
    for name, rates in mine.items():
        assert spread[name] == pytest.approx(max(rates) / min(rates))
    assert spread["SGD"] > 100 > 10 > spread["Adam"]
    edge = race.at_grid_edge(best)
    assert edge["Adadelta"] == list(race.PROBLEMS)  # the grid stopped it everywhere
    assert "SGD" not in edge and "Adam" not in edge
    top = max(race.LEARNING_RATES)
    for name, problems in edge.items():
        assert all(best[p][name][0] == top for p in problems)


def test_adamw_decay_biases_the_race_and_settles_where_the_pull_balances():
    problem = race.problem_named("Beale")  # minimum at (3, 0.5), not at 0
    lr = race.tuned("Beale")["AdamW"][0]
    gap_decay, x, v_hat = _plain_run("Adam", problem, lr, weight_decay=1e-2)
    gap_none, _, _ = _plain_run("Adam", problem, lr, weight_decay=0.0)
    assert race.tuned("Beale")["AdamW"][1] == pytest.approx(gap_decay, rel=1e-6)
    assert gap_decay > 1e6 * gap_none  # the decay's pull, not the rule, sets AdamW's gap
    # g(x) ≈ −λ(√v̂ + ε)x at the end of the run (within 5% per coordinate).
    pull = -1e-2 * (np.sqrt(v_hat) + 1e-8) * x
    np.testing.assert_allclose(problem.grad(x), pull, rtol=0.05)


def test_memory_multiples_match_the_papers_buffers():
    # Kingma & Ba Algorithm 1 keeps m and v; Reddi et al. add the maximum of v
    # (optnotes keeps v and the maximum, as PyTorch); SGD keeps nothing.
    assert analysis.state_multiple(on.Adam()) == 2
    assert analysis.state_multiple(on.AdamW()) == 2
    assert analysis.state_multiple(on.AMSGrad()) == 3
    assert analysis.state_multiple(on.SGD()) == 0
    assert analysis.state_multiple(on.Momentum()) == 1


def test_another_start_reorders_the_rules_on_rosenbrock():
    problem = race.problem_named("Rosenbrock")
    names = ["SGD", "Momentum", "Nesterov", "RMSProp", "Adam"]
    orders = []
    for start in (None, race.OTHER_STARTS["Rosenbrock"]):
        gaps = {
            n: race.final_gap(problem, p)
            for n, p in race.race("Rosenbrock", names, start=start).items()
        }
        orders.append(sorted(gaps, key=gaps.get))
    assert orders[0] != orders[1]


# network.md's claim that the tuned rules' test accuracies are about the same is
# asserted by a hidden cell of the page itself, at build time.


def test_inverse_time_variance_derivation_against_closed_forms():
    import sympy as sp

    from optnotes import derivations as D

    d = D.inverse_time_variance()
    names = {s.name: s for s in d["noise"].free_symbols | d["forgetting"].free_symbols}
    a0, t, lam, sigma, A = (names[n] for n in ("alpha_0", "t", "lambda", "sigma", "A"))
    assert sp.simplify(d["noise"] - a0**2 * sigma**2 / ((2 * a0 * lam - 1) * t)) == 0
    assert sp.simplify(d["forgetting"] - A * t ** (-2 * a0 * lam)) == 0
    # Both parts solve dV/dt = -2 a0 lam V / t + a0^2 sigma^2 / t^2 (forgetting without noise).
    for part, noise in ((d["noise"], 1), (d["forgetting"], 0)):
        residual = sp.diff(part, t) + 2 * a0 * lam * part / t - noise * a0**2 * sigma**2 / t**2
        assert sp.simplify(residual) == 0
    for value, expected in ((0.1, -0.2), (0.2, -0.4), (0.45, -0.9), (0.8, -1.0), (3.0, -1.0)):
        assert float(d["slope"].subs({a0: value, lam: 1})) == pytest.approx(expected)


@pytest.mark.parametrize("a0", [0.1, 0.2, 0.3, 0.75, 1.0, 2.0])
def test_the_slope_under_a_1_over_t_rate_is_minus_min_1_2a0lam_in_the_exact_recursion(a0):
    """The exact discrete recursion, written out here, for constants on both sides of
    2 a0 lam = 1 and with lam != 1 (a0 lam is what matters, not a0 alone); at 2 a0 lam = 1
    itself the rate is log(t)/t, and near it the two parts differ by a small power of t,
    so a fit over one decade is biased: the constants keep 2 a0 lam <= 0.6 or >= 1.5."""
    for lam in (1.0, 0.15):
        V, out = 1.0, [1.0]
        for t in range(200_000):
            a = a0 / (1 + t)
            V = (1 - a * lam) ** 2 * V + a**2
            out.append(V)
        slope = _slope(np.array(out), 20_000, 200_000)
        assert slope == pytest.approx(-min(1.0, 2 * a0 * lam), abs=0.015), (a0, lam)


# --- practice.md: AdamW's pull fades as v̂ forgets, on a noise-free problem ---------------


def test_adamw_decay_bias_on_beale_shrinks_as_v_hat_forgets():
    problem = race.problem_named("Beale")
    lr = race.tuned("Beale")["AdamW"][0]
    gaps = [_plain_run("Adam", problem, lr, steps=n, weight_decay=1e-2)[0] for n in (300, 3000)]
    assert gaps[1] < gaps[0] / 10
    # and a fixed point with sqrt(v̂) = |g| has |g| = λε|x| / (1 − λ|x|): check the algebra.
    lam, eps, x = 1e-2, 1e-8, np.array([3.0, 0.5])
    g = -lam * eps * x / (1 - lam * np.abs(x))
    np.testing.assert_allclose(g, -lam * (np.abs(g) + eps) * x, rtol=1e-12)


# --- errors.md: each circulating error against the right form ---------------------------


def _adam_steps(gradients, correct, b1=0.9, b2=0.999, eps=1e-8):
    """Adam's steps per unit rate, with the bias correction ÷(1−βᵗ) or the wrong ÷(1−β)."""
    m = v = 0.0
    steps = []
    for t, g in enumerate(gradients, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        c1, c2 = (1 - b1**t, 1 - b2**t) if correct else (1 - b1, 1 - b2)
        steps.append((m / c1) / (np.sqrt(v / c2) + eps))
    return np.array(steps)


def test_bias_correction_without_the_power_t_scales_the_steps_as_the_page_says():
    rng = np.random.default_rng(3)
    gradients = rng.normal(1.0, 0.5, size=3000)  # any sequence: ε is negligible here
    right = _adam_steps(gradients, correct=True)
    wrong = _adam_steps(gradients, correct=False)
    t = np.arange(1, 3001)
    formula = ((1 - 0.9**t) / 0.1) / np.sqrt((1 - 0.999**t) / 0.001)
    np.testing.assert_allclose(wrong / right, formula, rtol=1e-6)
    # optnotes.Adam takes the right steps
    seen = []

    def grad(x):
        g = gradients[len(seen)]
        seen.append(g)
        return np.array([g])

    xs = on.run(on.Adam(lr=1.0), grad, [0.0], 50)
    np.testing.assert_allclose(-np.diff(xs[:, 0]), right[:50], rtol=1e-9)
    assert formula[np.argmax(formula)] == pytest.approx(2.08, abs=0.005)
    assert t[np.argmax(formula)] == 12


def test_incomplete_adam_first_step_and_the_misplaced_bracket():
    rule = on.Adam(lr=1.0)
    x1, _ = rule.step(np.zeros(2), lambda x: np.array([0.5, 0.0]), rule.init(np.zeros(2)))
    m, v = 0.1 * 0.5, 0.001 * 0.25
    assert (m / (np.sqrt(v) + 1e-8)) / -x1[0] == pytest.approx(0.1 / np.sqrt(0.001), rel=1e-6)
    assert x1[1] == 0.0  # the right bracket gives 0 where the gradient is 0, not 0/0


def test_the_literal_adamax_form_parts_exactly_when_the_page_says():
    def paths(g, steps, b1=0.9, b2=0.999):
        u = v = m = 0.0
        parted = None
        for t in range(1, steps + 1):
            literal = max(b2 * v, abs(g))
            u = max(b2 * u, abs(g))
            if parted is None and literal != u:
                parted = t
            v = b2 * v + (1 - b2) * g**2
            m = b1 * m + (1 - b1) * g
        return parted

    def predicted(g, b2=0.999):
        t = np.arange(1, 5001)
        late = np.flatnonzero(b2 * (1 - b2 ** (t - 1)) * g**2 > abs(g))
        return int(t[late[0]]) if late.size else None

    rng = np.random.default_rng(7)
    for g in np.concatenate([rng.uniform(1e-3, 1.0, 20), [1.0, -1.0, 1.0005, 1.5, 2.0, 1e3]]):
        assert paths(g, 5000) == predicted(g), g
    assert predicted(0.999) is None and predicted(1e3) == 3


def test_complex_root_rate_is_sqrt_mu_not_2_sqrt_mu():
    """Heavy ball x' = x − h x + μ(x − x_prev) on random (h, μ) with complex roots."""
    rng = np.random.default_rng(11)
    checked = 0
    while checked < 30:
        h, mu = rng.uniform(0.01, 3.9), rng.uniform(0.26, 0.95)
        if (1 + mu - h) ** 2 >= 4 * mu:
            continue
        x_prev, x, xs = 1.0, 1.0, []
        for _ in range(400):
            x, x_prev = x - h * x + mu * (x - x_prev), x
            xs.append(abs(x))
        # the envelope: the largest |x| in each window of 40 steps shrinks like μ^(t/2)
        peaks = np.array([max(xs[i : i + 40]) for i in range(0, 400, 40)])
        rate = np.exp(np.polyfit(np.arange(10) * 40, np.log(peaks), 1)[0])
        assert rate == pytest.approx(np.sqrt(mu), rel=0.01), (h, mu)
        checked += 1


def test_bad_input_to_the_schedule_measurements_is_named():
    with pytest.raises(ValueError, match=r"SGD diverged at step \d+ .*must stay below 2"):
        analysis.sgd_error_under_schedule(10.0, steps=100, runs=10)
    with pytest.raises(ValueError, match="positive, finite errors; got 0.0"):
        analysis.loglog_slope(np.zeros(10), 1, 10)
    with pytest.raises(ValueError, match="positive, finite errors; got nan"):
        analysis.loglog_slope(np.full(10, np.nan), 1, 10)
    with pytest.raises(ValueError, match="need 1 <= start < stop <= 10, got 5, 3"):
        analysis.loglog_slope(np.ones(10), 5, 3)
