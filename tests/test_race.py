"""The optimizer race: tuned fairly, reproducible, and sensible."""

import math

import numpy as np
import pytest

from optnotes import race, rules
from optnotes.experiments import problem_named


def test_race_is_reproducible():
    race.tuned.cache_clear()
    first = race.tuned("Beale")
    race.tuned.cache_clear()
    second = race.tuned("Beale")
    assert first == second
    a = race.race("Beale", ["Adam", "SGD"])
    b = race.race("Beale", ["Adam", "SGD"])
    for name in a:
        np.testing.assert_array_equal(a[name].xs, b[name].xs)


def test_tuning_picks_the_best_rate_of_the_grid():
    best = race.tuned("ravine")
    assert set(best) == {r.__name__ for r in rules.ALL_RULES}
    problem = race.problem_named("ravine")
    for name in ("SGD", "Adam"):
        lr, gap = best[name]
        assert lr in race.LEARNING_RATES
        for other in race.LEARNING_RATES:
            assert race.final_gap(problem, race.run_rule(name, problem, other)) >= gap
    # Gradient descent's best rate on the ravine (curvatures 1/20 and 1) is below
    # the stability limit 2 and near the optimum 2 / (1 + 1/20) = 1.905.
    assert best["SGD"][0] < 2.0
    assert math.isfinite(best["SGD"][1])


def test_animation_plays_without_a_kernel_and_has_a_still_for_print():
    animation = race.animation("ravine", ["SGD", "Adam"], frames=3, steps=20)
    html = animation._repr_html_()
    assert "<script" in html and html.count("data:image/jpeg;base64") == 3
    assert "font-awesome" not in html  # icons come from the page, not a CDN
    assert animation._repr_png_().startswith(b"\x89PNG")


def test_a_misspelt_problem_or_rule_names_the_choices():
    with pytest.raises(ValueError, match="no problem named 'Bael': choose one of ravine, "):
        race.race("Bael", ["SGD"])
    with pytest.raises(ValueError, match="no rule named 'Sgd': choose from SGD, Momentum"):
        race.race("Beale", ["Sgd"])


@pytest.mark.parametrize("name", ["SGD", "Momentum", "Adam", "Adadelta", "RAdam"])
@pytest.mark.parametrize("problem_name", ["Rosenbrock", "saddle"])
def test_rates_side_by_side_are_the_runs_one_by_one(name, problem_name):
    """The race tunes all its rates in one run of a (2, 16) array: the gaps are
    the ones each rate's own run gives, to the last bit, diverged runs included."""
    problem = problem_named(problem_name)
    alone = [
        race.final_gap(problem, race.run_rule(name, problem, lr)) for lr in race.LEARNING_RATES
    ]
    assert race.final_gaps(name, problem) == alone
    if (name, problem_name) == ("SGD", "Rosenbrock"):
        assert any(np.isinf(alone)) and not all(np.isinf(alone))  # blown-up runs too


class _Wall:
    """A quadratic whose gradient is infinite past x = 40: a large rate overflows
    in one step, before its run passes the blow-up limit."""

    start, minima = (3.0, 1.0), ((0.0, 0.0),)

    def value(self, x):
        return 0.5 * float(np.sum(np.asarray(x) ** 2))

    def grad(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(np.abs(x) > 40, np.inf, x)


def test_a_step_that_overflows_falls_back_to_one_run_per_rate():
    wall = _Wall()
    alone = [race.final_gap(wall, race.run_rule("SGD", wall, lr)) for lr in race.LEARNING_RATES]
    assert np.isinf(alone[-1]) and np.isfinite(alone[0])
    assert race.final_gaps("SGD", wall) == alone
