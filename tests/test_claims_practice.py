"""Claims of the schedules, network, practice and errors chapters, recomputed.

Each test computes the claim independently (plain numpy from the paper's update,
not the code under test compared with itself) and can fail.
"""

import numpy as np
import pytest

import optnotes as on
from optnotes import analysis, data, networks, race
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
            else:  # Kingma & Ba Algorithm 1, decay as Loshchilov & Hutter (scaled by lr)
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


# --- network.md: tuned, the rules' test accuracies are about the same ------------------


def test_tuned_rules_reach_about_the_same_test_accuracy_on_digits():
    """The page's claim: mean test accuracy over seeds 0-2 of every tuned rule lies
    within 2 percentage points, no wider than one rule's spread over seeds."""
    net = networks.Network((64, 32, 10))
    digits = data.digits()
    names = ["SGD", "Momentum", "Nesterov", "Adagrad", "RMSProp", "Adam", "AdamW"]
    rates = np.geomspace(1e-4, 1.0, 9)
    means, within = [], 0.0
    for name in names:
        losses = []
        for lr in rates:
            h = networks.train(getattr(on, name)(lr=lr), net, digits, epochs=10)
            losses.append(h.train_loss[-1] if h.diverged_at is None else np.inf)
        lr = rates[int(np.argmin(losses))]
        acc = [
            networks.train(getattr(on, name)(lr=lr), net, digits, epochs=30, seed=s).test_accuracy[
                -1
            ]
            for s in (0, 1, 2)
        ]
        assert min(acc) > 0.95, (name, acc)
        means.append(np.mean(acc))
        within = max(within, max(acc) - min(acc))
    between = max(means) - min(means)
    assert between <= 0.02
    assert between <= within
