"""Test problems (gradients, minima, vectorisation) and the run loop."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import optnotes as on
from optnotes import problems as pb

ALL = [
    pb.ravine(),
    pb.ravine(kappa=50, angle=0.6),
    pb.Rosenbrock(),
    pb.Beale(),
    pb.Saddle(),
    pb.Plateau(),
    pb.LeastSquares(),
]
IDS = [p.name + str(i) for i, p in enumerate(ALL)]


@pytest.mark.parametrize("problem", ALL, ids=IDS)
@given(x=st.tuples(st.floats(-2, 2), st.floats(-2, 2)).map(np.array))
def test_gradient_matches_central_differences(problem, x):
    h = 1e-6
    numeric = [(problem.value(x + h * e) - problem.value(x - h * e)) / (2 * h) for e in np.eye(2)]
    scale = 1 + np.max(np.abs(numeric))
    np.testing.assert_allclose(problem.grad(x), numeric, rtol=0, atol=2e-6 * scale)


@pytest.mark.parametrize("problem", ALL, ids=IDS)
def test_minima_have_zero_gradient_and_the_least_value(problem):
    rng = np.random.default_rng(0)
    (x_lo, x_hi), (y_lo, y_hi) = problem.bounds
    samples = np.array([rng.uniform(x_lo, x_hi, 2000), rng.uniform(y_lo, y_hi, 2000)])
    for minimum in problem.minima:
        np.testing.assert_allclose(problem.grad(np.array(minimum)), 0, atol=1e-12)
        assert problem.value(np.array(minimum)) <= problem.value(samples).min() + 1e-12


@pytest.mark.parametrize("problem", ALL, ids=IDS)
def test_value_and_gradient_take_a_whole_grid(problem):
    (x_lo, x_hi), (y_lo, y_hi) = problem.bounds
    X, Y = np.meshgrid(np.linspace(x_lo, x_hi, 7), np.linspace(y_lo, y_hi, 5))
    Z = problem.value(np.array([X, Y]))
    G = problem.grad(np.array([X, Y]))
    assert Z.shape == (5, 7) and G.shape == (2, 5, 7)
    i, j = 3, 4
    assert Z[i, j] == pytest.approx(problem.value(np.array([X[i, j], Y[i, j]])))
    np.testing.assert_allclose(G[:, i, j], problem.grad(np.array([X[i, j], Y[i, j]])))


def test_known_values():
    assert pb.Rosenbrock().value(np.array([-1.0, 1.0])) == pytest.approx(4.0)
    assert pb.Beale().value(np.array([0.0, 0.0])) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2)
    assert pb.Saddle().value(np.array([0.0, 1.0])) == pytest.approx(-0.25)
    r = pb.ravine(kappa=10)
    assert r.value(np.array([1.0, 1.0])) == pytest.approx(0.5 * (0.1 + 1.0))
    np.testing.assert_allclose(pb.ravine(kappa=10, angle=1.0).eigenvalues, [0.1, 1.0])


def test_ravine_is_steep_vertically_and_shallow_horizontally():
    r = pb.ravine(kappa=25)
    g = r.grad(np.array([1.0, 1.0]))
    assert g[1] == pytest.approx(25 * g[0])


def test_least_squares_minibatches():
    p = pb.LeastSquares(n=100, seed=3)
    w = np.array([0.3, -0.7])
    full = p.minibatch_oracle(batch_size=100, seed=1)(w)
    np.testing.assert_allclose(full, p.grad(w), rtol=1e-12, atol=1e-14)
    # The average of many minibatch gradients is the full gradient.
    oracle = p.minibatch_oracle(batch_size=5, seed=1)
    mean = np.mean([oracle(w) for _ in range(20000)], axis=0)
    np.testing.assert_allclose(mean, p.grad(w), atol=0.02)
    # Seeded: the same draws twice.
    a = [p.minibatch_oracle(5, seed=7)(w) for _ in range(1)]
    b = [p.minibatch_oracle(5, seed=7)(w) for _ in range(1)]
    np.testing.assert_array_equal(a, b)
    # Same data for the same seed, other data for another.
    np.testing.assert_array_equal(
        pb.LeastSquares(seed=3).features, pb.LeastSquares(seed=3).features
    )
    assert not np.allclose(pb.LeastSquares(seed=3).features, pb.LeastSquares(seed=4).features)


def test_bad_problem_input():
    with pytest.raises(
        ValueError, match=r"Rosenbrock takes points with 2 coordinates .* got shape \(3,\)"
    ):
        pb.Rosenbrock().grad(np.zeros(3))
    with pytest.raises(ValueError, match=r"kappa must lie in \[1, inf\]"):
        pb.ravine(kappa=0.5)
    with pytest.raises(ValueError, match="hessian must be symmetric"):
        pb.Quadratic([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="hessian must be positive semi-definite"):
        pb.Quadratic([[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="batch_size must be at most n = 50"):
        pb.LeastSquares(n=50).minibatch_oracle(batch_size=51)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        pb.LeastSquares().minibatch_oracle(batch_size=0)
    with pytest.raises(ValueError, match="scales must be two positive numbers"):
        pb.LeastSquares(scales=(1.0, -1.0))


# --- run ---------------------------------------------------------------------------


def test_run_returns_every_iterate():
    p = pb.ravine()
    xs = on.run(on.SGD(lr=0.5), p.grad, p.start, steps=40)
    assert xs.shape == (41, 2)
    np.testing.assert_array_equal(xs[0], p.start)
    assert on.run(on.SGD(), p.grad, p.start, steps=0).shape == (1, 2)
    assert on.run(on.SGD(), lambda x: x, np.ones((2, 3)), steps=3).shape == (4, 2, 3)


def test_gradient_descent_on_a_quadratic_follows_the_closed_form():
    # x_t = (1 - alpha * lambda)^t x_0 per eigen-direction.
    p = pb.ravine(kappa=10)
    xs = on.run(on.SGD(lr=0.5), p.grad, [2.0, 1.0], steps=30)
    t = np.arange(31)
    np.testing.assert_allclose(xs[:, 0], 2.0 * (1 - 0.05) ** t, rtol=1e-13)
    np.testing.assert_allclose(xs[:, 1], 1.0 * 0.5**t, rtol=1e-13)


def test_divergence_is_reported_with_its_step_and_the_path_so_far():
    # On the ravine, alpha = 2.5 > 2 / lambda_max = 2: |1 - 2.5| = 1.5 per step,
    # from |y| = 2 past 1e10 when 2 * 1.5^k > 1e10, k = 56 (0-based step 55).
    p = pb.ravine()
    with pytest.raises(on.Diverged, match="diverged at step 55") as info:
        on.run(on.SGD(lr=2.5), p.grad, p.start, steps=200)
    assert info.value.step == 55
    assert info.value.path.shape == (56, 2)
    assert np.all(np.isfinite(info.value.path))
    assert isinstance(info.value, FloatingPointError)


def test_no_numpy_warning_while_diverging_to_overflow():
    # pytest turns warnings into errors: overflow must come out as Diverged only.
    with pytest.raises(on.Diverged, match="diverged at step"):
        on.run(on.SGD(lr=1e5), lambda x: x**3, [10.0], steps=50, max_abs=np.inf)


def test_bad_run_arguments():
    with pytest.raises(ValueError, match="steps must be a whole number"):
        on.run(on.SGD(), lambda x: x, [1.0], steps=2.5)
    with pytest.raises(ValueError, match="steps must be at least 0"):
        on.run(on.SGD(), lambda x: x, [1.0], steps=-1)
    with pytest.raises(ValueError, match="x0 must be finite"):
        on.run(on.SGD(), lambda x: x, [np.inf], steps=3)


def test_importing_the_core_imports_no_plotting_or_algebra():
    code = (
        "import sys, optnotes; "
        "print(sorted(m for m in ('sympy', 'matplotlib', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_preconditioned_rule():
    p = pb.ravine(kappa=50, angle=0.7)
    newton = on.Preconditioned(lr=1.0, preconditioner=np.linalg.inv(p.hessian))
    xs = on.run(newton, p.grad, p.start, steps=1)
    np.testing.assert_allclose(xs[1], 0, atol=1e-12)  # Newton: one step on a quadratic
    identity = on.Preconditioned(lr=0.3, preconditioner=np.eye(2))
    np.testing.assert_allclose(
        on.run(identity, p.grad, p.start, 20), on.run(on.SGD(lr=0.3), p.grad, p.start, 20)
    )
    with pytest.raises(
        ValueError, match=r"preconditioner must be a square matrix, got shape \(2,\)"
    ):
        on.Preconditioned(lr=0.1, preconditioner=np.ones(2))


def test_a_rare_feature_is_rare():
    p = pb.LeastSquares(n=2000, density=(1.0, 0.05), seed=1)
    present = np.mean(p.features != 0, axis=0)
    assert present[0] == 1.0
    assert 0.03 < present[1] < 0.07
    with pytest.raises(ValueError, match=r"density must be two fractions in \(0, 1\]"):
        pb.LeastSquares(density=(1.0, 0.0))


@pytest.mark.parametrize("C", [3.0, 10.0])
def test_adam_goes_to_the_worst_point_and_amsgrad_to_the_best(C):
    # Reddi, Kale & Kumar 2018, Theorem 1: the best point is -1.
    problem = pb.AdamCounterexample(C)
    lr = on.schedules.inverse_sqrt_decay(problem.alpha)
    hyper = {"lr": lr, "beta1": 0.0, "beta2": problem.beta2, "eps": 1e-12}
    adam = problem.run(on.Adam(**hyper), 3000)
    amsgrad = problem.run(on.AMSGrad(**hyper), 3000)
    assert adam[-300:].mean() > 0.95
    assert amsgrad[-300:].mean() < -0.95
    assert problem.average_regret(amsgrad)[-1] < problem.average_regret(adam)[-1] / 5
    with pytest.raises(ValueError, match=r"C must lie in \(2, inf\]"):
        pb.AdamCounterexample(2.0)


def test_minibatch_oracles_are_the_seeded_oracles_side_by_side():
    problem = on.problems.LeastSquares(density=(1.0, 0.1))
    seeds = (3, 0, 7)
    together = problem.minibatch_oracles(4, seeds)
    alone = [problem.minibatch_oracle(4, seed) for seed in seeds]
    rng = np.random.default_rng(1)
    for _ in range(5):
        W = rng.normal(size=(2, 3))
        expected = np.stack([oracle(W[:, j]) for j, oracle in enumerate(alone)], axis=1)
        np.testing.assert_array_equal(together(W), expected)
    # a run of the (2, 3) array is three seeded runs, number for number
    xs = on.run(on.Adagrad(lr=0.3), problem.minibatch_oracles(4, seeds), np.ones((2, 3)), 50)
    for j, seed in enumerate(seeds):
        one = on.run(on.Adagrad(lr=0.3), problem.minibatch_oracle(4, seed), np.ones(2), 50)
        np.testing.assert_array_equal(xs[:, :, j], one)
    with pytest.raises(ValueError, match=r"one point per seed, shape \(2, 3\), got \(2,\)"):
        together(np.ones(2))
