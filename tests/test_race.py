"""The optimizer race: tuned fairly, reproducible, and sensible."""

import math

import numpy as np
import pytest

from optnotes import race, rules


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
