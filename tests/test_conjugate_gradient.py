"""Line searches, linear and nonlinear conjugate gradients, L-BFGS with a search:
each against a reference worked out from Nocedal & Wright (2006), and the
claims of book/quasi-newton.md."""

import itertools

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import optnotes as on
from optnotes import conjugate_gradient as cg
from optnotes import derivations, line_search
from optnotes.quasi_newton import LBFGS


def quadratic(eigenvalues, seed=0):
    rng = np.random.default_rng(seed)
    n = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag(eigenvalues) @ Q.T
    A = (A + A.T) / 2
    x_star = rng.normal(size=n)
    return A, A @ x_star, x_star


# --- Line searches --------------------------------------------------------------------------------


def one_dimensional(coefficients):
    """φ(t) = polynomial with the given coefficients (lowest first) + 0.1 sin 3t,
    as an objective along d = 1 from x = 0 in one dimension."""
    poly = np.polynomial.Polynomial(coefficients)

    class Line:
        def value(self, x):
            return poly(x[0]) + 0.1 * np.sin(3 * x[0])

        def grad(self, x):
            return np.array([poly.deriv()(x[0]) + 0.3 * np.cos(3 * x[0])])

    return Line()


@settings(max_examples=200, deadline=None)
@given(
    slope=st.floats(-5, -0.1),
    quad=st.floats(0.01, 5),
    quart=st.floats(0, 2),
    t0=st.floats(1e-3, 50),
)
def test_strong_wolfe_returns_a_point_meeting_both_conditions(slope, quad, quart, t0):
    # A coercive φ with φ'(0) < 0 (the sine's slope 0.3 is added to `slope - 0.3`).
    f = one_dimensional([0.0, slope - 0.3, quad, 0.0, quart])
    x, d = np.zeros(1), np.ones(1)
    phi = line_search.along(line_search.objective(f, "test"), x, d, step=0)
    start = phi(0.0)
    assert start.slope < 0
    found, evaluations = line_search.strong_wolfe(phi, start, t0, most=60)
    # Checked from the function, not from the returned point's fields:
    value, derivative = f.value(np.array([found.t])), f.grad(np.array([found.t]))[0]
    assert value <= start.f + 1e-4 * found.t * start.slope
    assert abs(derivative) <= 0.9 * abs(start.slope)
    assert 1 <= evaluations <= 61


@settings(max_examples=100, deadline=None)
@given(
    roots=st.lists(st.floats(-3, 3), min_size=2, max_size=2),
    scale=st.floats(0.1, 10),
    a=st.floats(-2, 2),
    width=st.floats(0.1, 3),
)
def test_the_cubic_minimiser_is_the_cubics_local_minimum(roots, scale, a, width):
    # A cubic with critical points at the two roots (a local minimum at the larger
    # when scale > 0); interpolating its values and slopes at a and b must recover it.
    r1, r2 = sorted(roots)
    if r2 - r1 < 0.05:
        return
    derivative = np.polynomial.Polynomial.fromroots([r1, r2]) * scale
    cubic = derivative.integ()
    b = a + width
    point = lambda t: line_search.Point(t, cubic(t), None, derivative(t))  # noqa: E731
    low, high = -10.0, 10.0
    t = line_search.cubic_minimiser(point(a), point(b), low, high)
    assert t == pytest.approx(r2, abs=1e-6)
    t = line_search.cubic_minimiser(point(b), point(a), low, high)  # either order
    assert t == pytest.approx(r2, abs=1e-6)


def wiggly(linear, quad, quart, wiggle):
    """φ(t) = linear t + quad t² + quart t⁴ + wiggle sin 3t along d = 1 from 0,
    with φ'(0) = linear + 3 wiggle."""

    class Line:
        def value(self, x):
            t = x[0]
            return linear * t + quad * t**2 + quart * t**4 + wiggle * np.sin(3 * t)

        def grad(self, x):
            t = x[0]
            slope = linear + 2 * quad * t + 4 * quart * t**3 + 3 * wiggle * np.cos(3 * t)
            return np.array([slope])

    return Line()


def _run_both_searches(phi, t0, most):
    """Our strong_wolfe and PyTorch's _strong_wolfe on the same φ: (t, evaluations) each."""
    torch = pytest.importorskip("torch")
    from torch.optim.lbfgs import _strong_wolfe

    start = phi(0.0)
    found, evaluations = line_search.strong_wolfe(phi, start, t0, most=most)

    def obj_func(x, t, d):
        point = phi(float(t))
        return point.f, torch.tensor(point.g, dtype=torch.float64)

    d = torch.ones(1, dtype=torch.float64)
    g0 = torch.tensor(start.g, dtype=torch.float64)
    zero = torch.zeros(1, dtype=torch.float64)
    _, _, t, theirs = _strong_wolfe(obj_func, zero, t0, d, start.f, g0, g0.dot(d), max_ls=most)
    return (found.t, evaluations), (float(t), theirs)


def _line(pieces):
    """φ from (f, slope) functions of t, the first piece for t <= 5, the second after."""

    def phi(t):
        f, slope = pieces[0](t) if t <= 5 else pieces[1](t)
        return line_search.Point(t, f, np.array([slope]), slope)

    return phi


@pytest.mark.parametrize(
    "pieces, most",
    [
        # Extrapolation to 10 t lands on a cliff as the trials run out: the
        # search returns the better of φ(0) and the last trial, here t = 0.
        (((lambda t: (-t + 1e-3 * t**2, -1 + 2e-3 * t)), (lambda t: (100.0, 1.0))), 1),
        # The second trial rises but still decreases enough and descends
        # steeply: Algorithm 3.5 would bracket (its "i > 1"); PyTorch, and so
        # this search, extrapolates again (a rise counts from the third trial).
        (((lambda t: (-t + 1e-3 * t**2, -1 + 2e-3 * t)), (lambda t: (-0.5 - 1e-4 * t, -1.0))), 4),
    ],
)
def test_strong_wolfe_is_pytorchs_on_hand_made_lines(pieces, most):
    ours, theirs = _run_both_searches(_line(pieces), 1.0, most)
    assert ours[1] == theirs[1]
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)


@settings(max_examples=150, deadline=None)
@given(
    slope=st.floats(-5, -0.1),
    quad=st.floats(0.01, 5),
    quart=st.floats(0, 2),
    wiggle=st.floats(0, 2),
    t0=st.floats(1e-3, 50),
    most=st.integers(1, 25),
)
def test_strong_wolfe_is_pytorchs_search_choice_for_choice(slope, quad, quart, wiggle, t0, most):
    # torch.optim.lbfgs._strong_wolfe run on the same line: the same accepted
    # step and the same number of evaluations, including when the trials run
    # out (small `most`) and on wiggly lines with several local minima.
    f = wiggly(slope - 3 * wiggle, quad, quart, wiggle)
    phi = line_search.along(line_search.objective(f, "test"), np.zeros(1), np.ones(1), step=0)
    ours, theirs = _run_both_searches(phi, t0, most)
    assert ours[1] == theirs[1]
    # 1e-8: where the bracket is hundreds wide (a nearly flat quadratic part),
    # the cubic interpolation's last bits differ between numpy and torch by a
    # few parts in 1e9 (found: 420.716029 against 420.716027).
    assert ours[0] == pytest.approx(theirs[0], rel=1e-8, abs=1e-12)


def test_armijo_takes_the_first_halving_that_decreases_enough():
    # Nocedal & Wright, Algorithm 3.1 with rho = 1/2, worked out by hand here.
    problem = on.problems.Rosenbrock()
    x = np.array(problem.start)
    g = problem.grad(x)
    d = -g
    f0, slope = problem.value(x), g @ d
    expected = 1.0
    while problem.value(x + expected * d) > f0 + 1e-4 * expected * slope:
        expected /= 2
    phi = line_search.along(line_search.objective(problem, "test"), x, d, step=0)
    found, evaluations = line_search.armijo(phi, line_search.Point(0.0, f0, g, slope), 1.0)
    assert found.t == expected
    assert evaluations == round(np.log2(1 / expected)) + 1


def test_armijo_gives_up_with_a_message_along_an_ascent_direction():
    problem = on.problems.Rosenbrock()
    x = np.array(problem.start)
    g = problem.grad(x)
    phi = line_search.along(line_search.objective(problem, "test"), x, g, step=0)
    start = line_search.Point(0.0, problem.value(x), g, g @ g)  # slope > 0: uphill
    with pytest.raises(FloatingPointError, match="no sufficient decrease in 50 trials"):
        line_search.armijo(phi, start, 1.0)


def test_searching_rules_name_what_they_need_when_given_a_gradient_function():
    problem = on.problems.Rosenbrock()
    for rule, who in (
        (LBFGS(line_search="strong_wolfe"), r"LBFGS\(line_search='strong_wolfe'\)"),
        (LBFGS(line_search="armijo"), r"LBFGS\(line_search='armijo'\)"),
        (cg.NonlinearCG(), "NonlinearCG"),
    ):
        with pytest.raises(TypeError, match=who + ".*needs the loss as well as the gradient"):
            rule.step(np.array(problem.start), problem.grad, rule.init(problem.start))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: LBFGS(line_search="wolfe"), "line_search must be None, 'armijo' or"),
        (lambda: cg.NonlinearCG(beta="HS"), "beta must be 'FR'"),
        (lambda: cg.NonlinearCG(c2=0.6), r"c2 must be in \(1e-4, 0.5\)"),
        (lambda: cg.NonlinearCG(lr=-1.0), "lr must"),
    ],
)
def test_bad_search_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_strong_wolfe_refuses_constants_out_of_order():
    phi = lambda t: line_search.Point(t, 0.0, None, -1.0)  # noqa: E731
    with pytest.raises(ValueError, match="0 < c1 < c2 < 1"):
        line_search.strong_wolfe(phi, phi(0.0), 1.0, c1=0.5, c2=0.1)


def test_a_non_finite_loss_at_a_trial_is_reported():
    class Overflow:
        def value(self, x):
            return np.inf if x[0] > 1 else float(x[0] ** 2)

        def grad(self, x):
            return np.array([2 * x[0]])

    phi = line_search.along(line_search.objective(Overflow(), "test"), np.zeros(1), np.ones(1), 3)
    with pytest.raises(FloatingPointError, match="loss is not finite at a trial point of step 3"):
        phi(2.0)


def test_every_armijo_step_of_lbfgs_is_the_first_halving_that_decreases_enough():
    problem = on.problems.Rosenbrock()
    rule = LBFGS(line_search="armijo")
    x, state = np.array(problem.start), rule.init(problem.start)
    for t in range(30):
        new, state_new = rule.step(x, problem, state)
        d = (new - x) / np.linalg.norm(new - x)
        g = problem.grad(x)
        # the direction from the state, independently: -H g by the step itself
        S, Y, gamma = state_new.S, state_new.Y, state_new.gamma
        direction = -on.quasi_newton.two_loop(g, S, Y, gamma)
        np.testing.assert_allclose(d, direction / np.linalg.norm(direction), rtol=1e-9)
        tau = 1.0 * (min(1.0, 1 / np.abs(g).sum()) if t == 0 else 1.0)
        while problem.value(x + tau * direction) > problem.value(x) + 1e-4 * tau * (g @ direction):
            tau /= 2
        np.testing.assert_allclose(new, x + tau * direction, rtol=1e-12)
        x, state = new, state_new


# --- Linear conjugate gradients -------------------------------------------------------------------


def krylov_optimum(A, b, x0, k):
    """The minimiser of ||x - x*||_A over x0 + span{r0, A r0, ..., A^(k-1) r0}
    (Nocedal & Wright, Theorem 5.3 and eq. 5.27), by a small least-squares solve."""
    r0 = A @ x0 - b
    K = np.column_stack([np.linalg.matrix_power(A, i) @ r0 for i in range(k)])
    Q, _ = np.linalg.qr(K)
    # minimise (x0 + Q c)ᵀ A (x0 + Q c)/2 - bᵀ(x0 + Q c): QᵀAQ c = -Qᵀ r0
    c = np.linalg.solve(Q.T @ A @ Q, -Q.T @ r0)
    return x0 + Q @ c


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 8), seed=st.integers(0, 10_000), kappa=st.floats(1.5, 50))
def test_linear_cg_iterates_are_the_krylov_optima(n, seed, kappa):
    A, b, _ = quadratic(np.geomspace(1, kappa, n), seed)
    x0 = np.random.default_rng(seed + 1).normal(size=n)
    run = cg.linear_cg(A, b, x0)
    for k in range(1, len(run.xs)):
        np.testing.assert_allclose(run.xs[k], krylov_optimum(A, b, x0, k), rtol=1e-7, atol=1e-9)


def test_linear_cg_against_scipy():
    from scipy.sparse.linalg import cg as scipy_cg

    A, b, _ = quadratic(np.linspace(1, 30, 12), seed=4)
    iterates = []
    scipy_cg(
        A,
        b,
        x0=np.zeros(12),
        rtol=1e-14,
        maxiter=12,
        callback=lambda xk: iterates.append(xk.copy()),
    )
    run = cg.linear_cg(A, b, np.zeros(12))
    np.testing.assert_allclose(run.xs[1 : len(iterates) + 1], np.array(iterates), rtol=1e-8)


@settings(max_examples=30, deadline=None)
@given(r=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_cg_ends_in_as_many_steps_as_distinct_eigenvalues(r, seed):
    # Nocedal & Wright, Theorem 5.4: r distinct eigenvalues, at most r steps.
    values = np.geomspace(1, 20, r)
    A, b, x_star = quadratic(np.resize(values, 24), seed)
    run = cg.linear_cg(A, b, np.zeros(24), steps=r)
    assert np.linalg.norm(run.xs[r] - x_star) <= 1e-8 * np.linalg.norm(x_star)
    if r > 1:
        assert np.linalg.norm(run.xs[r - 1] - x_star) > 1e-4 * np.linalg.norm(x_star)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 40),
    kappa=st.floats(1.5, 1e3),
    seed=st.integers(0, 10_000),
    chebyshev=st.booleans(),
)
def test_the_cg_bound_holds_on_any_spectrum(n, kappa, seed, chebyshev):
    # Nocedal & Wright eq. 5.36, attacked: random spectra and the Chebyshev
    # nodes on [1, kappa], where the bound is nearly tight.
    if chebyshev:
        nodes = np.cos(np.pi * (np.arange(n) + 0.5) / n)
        values = 1 + (kappa - 1) * (nodes + 1) / 2
    else:
        rng = np.random.default_rng(seed)
        values = np.concatenate([[1.0, kappa], rng.uniform(1, kappa, n - 2)])
    A, b, x_star = quadratic(values, seed)
    run = cg.linear_cg(A, b, np.zeros(n), steps=n)
    e = run.xs - x_star
    a_norm = np.sqrt(np.einsum("ki,ij,kj->k", e, A, e))
    k = np.arange(len(a_norm))
    root = np.sqrt(np.linalg.cond(A))
    bound = 2 * ((root - 1) / (root + 1)) ** k * a_norm[0]
    assert np.all(a_norm <= bound * (1 + 1e-9) + 1e-12 * a_norm[0])


def test_cg_as_momentum_derivation():
    d = derivations.cg_as_momentum()
    x_k, x_prev, g_k = sp.symbols("x_k x_{k-1} g_k", real=True)
    a_k, a_prev, b_k = sp.symbols(r"alpha_k \alpha_{k-1} beta_k", positive=True)
    mu = a_k * b_k / a_prev  # typed from the algebra by hand
    assert sp.simplify(d["mu"] - mu) == 0
    assert sp.simplify(d["step"] - (x_k - a_k * g_k + mu * (x_k - x_prev))) == 0
    # and CG's own form: x_k + alpha_k (-g_k + beta_k p_{k-1})
    p_prev = (x_k - x_prev) / a_prev
    assert sp.simplify(d["step"] - (x_k + a_k * (-g_k + b_k * p_prev))) == 0


def test_cg_runs_as_heavy_ball_with_its_own_coefficients():
    A, b, x_star = quadratic(np.linspace(1, 50, 15), seed=2)
    run = cg.linear_cg(A, b, np.zeros(15))
    x_prev = x = np.zeros(15)
    for k in range(len(run.alphas)):
        mu = run.alphas[k] * run.betas[k - 1] / run.alphas[k - 1] if k else 0.0
        x, x_prev = x - run.alphas[k] * (A @ x - b) + mu * (x - x_prev), x
        np.testing.assert_allclose(x, run.xs[k + 1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(x, x_star, rtol=1e-9)


@pytest.mark.parametrize(
    "A, b, x0, message",
    [
        (np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones(2), np.zeros(2), "A must be symmetric"),
        (np.diag([1.0, -1.0]), np.ones(2), np.zeros(2), "A must be positive definite"),
        (np.eye(2), np.ones(3), np.zeros(2), "A must be n×n and b, x0 of length n"),
    ],
)
def test_bad_linear_cg_input_is_refused(A, b, x0, message):
    with pytest.raises(ValueError, match=message):
        cg.linear_cg(A, b, x0)


# --- Nonlinear conjugate gradients ----------------------------------------------------------------


@pytest.mark.parametrize("beta", ["FR", "PR+"])
def test_nonlinear_cg_with_near_exact_searches_is_linear_cg_on_a_quadratic(beta):
    # Nocedal & Wright, §5.2: with exact line searches on a convex quadratic,
    # FR and PR reduce to linear CG. A strong Wolfe search with c2 = 2e-4
    # interpolates a quadratic's minimum exactly.
    A, _, _ = quadratic(np.linspace(1, 10, 6), seed=5)
    problem = on.problems.Quadratic(A, start=(1.0, -2.0, 0.5, 3.0, -1.0, 2.0))
    path = on.run(cg.NonlinearCG(beta=beta, c2=2e-4), problem, problem.start, 6)
    linear = cg.linear_cg(A, np.zeros(6), np.array(problem.start))
    np.testing.assert_allclose(path, linear.xs, rtol=1e-6, atol=1e-8)


def test_pr_plus_restarts_where_its_beta_would_be_negative():
    # PR+ (eq. 5.45): beta = max(0, ...). Worked out from the path: where the PR
    # value is negative, the direction taken is the negative gradient.
    problem = on.problems.Rosenbrock()
    rule = cg.NonlinearCG()
    x, state = np.array(problem.start), rule.init(problem.start)
    restarts = 0
    for _ in range(25):
        new, new_state = rule.step(x, problem, state)
        if state.g is not None:
            g, g_old = problem.grad(x), state.g
            pr = g @ (g - g_old) / (g_old @ g_old)
            expected = -g + max(pr, 0.0) * state.p
            if g @ expected >= 0:
                expected = -g
            np.testing.assert_allclose(new_state.p, expected, rtol=1e-12)
            restarts += pr < 0
        x, state = new, new_state
    assert restarts > 0  # the branch is taken


def test_nonlinear_cg_state_is_not_changed_in_place():
    problem = on.problems.Rosenbrock()
    rule = cg.NonlinearCG()
    x, state = np.array(problem.start), rule.init(problem.start)
    x, state = rule.step(x, problem, state)
    copies = state.g.copy(), state.p.copy()
    rule.step(x, problem, state)
    np.testing.assert_array_equal(state.g, copies[0])
    np.testing.assert_array_equal(state.p, copies[1])
    with pytest.raises(TypeError, match="takes the state made by NonlinearCG.init"):
        rule.step(x, problem, LBFGS().init(x))


# --- The chapter's claims -------------------------------------------------------------------------


def steps_below(rule, objective, problem, tolerance=1e-8, most=2000):
    x, state = np.array(problem.start), rule.init(problem.start)
    for k in range(most):
        if problem.value(x) < tolerance:
            return k
        x, state = rule.step(x, objective, state)
    return most


def test_fletcher_reeves_is_slower_than_pr_plus_on_the_rosenbrock():
    r = on.problems.Rosenbrock()
    fr = steps_below(cg.NonlinearCG(beta="FR"), r, r)
    pr = steps_below(cg.NonlinearCG(beta="PR+"), r, r)
    assert fr > 2 * pr, (fr, pr)


def test_searching_on_each_steps_batch_ends_further_than_sgd():
    # quasi-newton.md: with a search on each step's own batch of 8 or 32, L-BFGS
    # and nonlinear CG end two to three and a half times further from the
    # minimum than SGD at alpha = 0.1, with a larger loss, at two to four
    # evaluations a step, nearer than a batch's own minimum lies; with the
    # whole data they reach the minimum loss.
    problem = on.problems.LeastSquares()
    x_star = np.array(problem.minima[0])
    f_star = problem.value(x_star)

    def mean_gap(rule, objectives):
        gaps, distances, evaluations = [], [], 0
        for seed in range(5):
            x, state = np.array(problem.start), rule.init(problem.start)
            stream = objectives(seed)
            for _ in range(200):
                x, state = rule.step(x, next(stream), state)
            gaps.append(problem.value(x) - f_star)
            distances.append(np.linalg.norm(x - x_star))
            evaluations += getattr(state, "evaluations", 200)
        return np.mean(gaps), np.mean(distances), evaluations / 1000

    def sgd_stream(batch, seed):
        grad = problem.minibatch_oracle(batch, seed=seed)
        while True:
            yield grad

    for batch in (8, 32):
        sgd, sgd_distance, _ = mean_gap(on.SGD(lr=0.1), lambda seed, b=batch: sgd_stream(b, seed))
        own = [
            np.linalg.norm(
                np.linalg.solve(b.features.T @ b.features, b.features.T @ b.targets) - x_star
            )
            for b in itertools.islice(problem.batches(batch), 200)
        ]
        for rule in (LBFGS(line_search="strong_wolfe"), cg.NonlinearCG()):
            gap, distance, per_step = mean_gap(
                rule, lambda seed, b=batch: problem.batches(b, seed=seed)
            )
            assert gap > 1.5 * sgd, (rule, batch, gap, sgd)
            assert 2 * sgd_distance < distance < 3.5 * sgd_distance, (rule, batch, distance)
            assert distance < np.mean(own), (rule, batch, distance, np.mean(own))
            assert 2 <= per_step < 4, (rule, per_step)
    for rule in (LBFGS(line_search="strong_wolfe"), cg.NonlinearCG()):
        gap, _, _ = mean_gap(rule, lambda seed: problem.batches(problem.n, seed=seed))
        assert abs(gap) < 1e-12


def test_fixed_step_lbfgs_on_minibatches_is_no_better_than_sgd():
    # quasi-newton.md: 10 seeds, 200 steps; on batches of 8 and 32 L-BFGS at
    # alpha = 1 ends no better than SGD at 0.1 and at alpha = 0.1 far worse.
    problem = on.problems.LeastSquares()
    f_star = problem.value(np.array(problem.minima[0]))
    for batch in (8, 32):
        gaps = {}
        for name, rule in (("1", LBFGS(lr=1.0)), ("0.1", LBFGS(lr=0.1)), ("sgd", on.SGD(lr=0.1))):
            gaps[name] = np.mean(
                [
                    problem.value(
                        on.run(
                            rule, problem.minibatch_oracle(batch, seed=seed), problem.start, 200
                        )[-1]
                    )
                    - f_star
                    for seed in range(10)
                ]
            )
        assert gaps["1"] >= gaps["sgd"], (batch, gaps)
        assert gaps["0.1"] > 100 * gaps["sgd"], (batch, gaps)


def test_fletcher_reeves_stalls_with_beta_near_one_and_poor_directions():
    # quasi-newton.md, from the path alone: a stretch of at least 20 steps in
    # which FR's beta stays within 0.15 of 1, PR's beta would be below 0.1 and
    # the step makes an angle with -g whose cosine is below 0.1.
    r = on.problems.Rosenbrock()
    xs = on.run(cg.NonlinearCG(beta="FR"), r, r.start, 49)
    g = np.array([r.grad(x) for x in xs])
    steps = np.diff(xs, axis=0)
    fr = (g[1:-1] ** 2).sum(1) / (g[:-2] ** 2).sum(1)
    pr = np.einsum("ki,ki->k", g[1:-1], g[1:-1] - g[:-2]) / (g[:-2] ** 2).sum(1)
    cos = -np.einsum("ki,ki->k", g[1:-1], steps[1:]) / (
        np.linalg.norm(g[1:-1], axis=1) * np.linalg.norm(steps[1:], axis=1)
    )
    near = np.abs(fr - 1) < 0.15
    longest = run = 0
    for k in range(len(near)):
        run = run + 1 if near[k] else 0
        if run >= 20:
            stretch = slice(k - run + 1, k + 1)
            assert pr[stretch].max() < 0.1 and cos[stretch].max() < 0.1
        longest = max(longest, run)
    assert longest >= 20, longest


def test_lbfgs_memory_fills_and_one_pair_is_enough_on_the_rosenbrock():
    # quasi-newton.md: on the 200-parameter quadratic with eigenvalues 1..1000,
    # 120 steps fill a memory of 100 (state 2m + 2 vectors); on the Rosenbrock,
    # m = 1 needs no more steps than m = 20 with the strong Wolfe search.
    big = on.problems.Quadratic(np.diag(np.geomspace(1, 1000, 200)), start=np.ones(200))
    rule = LBFGS(memory=100)
    x, state = np.array(big.start), rule.init(big.start)
    for _ in range(120):
        x, state = rule.step(x, big.grad, state)
    assert len(state.S) == len(state.Y) == 100
    r = on.problems.Rosenbrock()
    one = steps_below(LBFGS(memory=1, line_search="strong_wolfe"), r, r)
    twenty = steps_below(LBFGS(memory=20, line_search="strong_wolfe"), r, r)
    assert one <= twenty < 2000, (one, twenty)


def test_a_batch_objective_is_the_loss_on_the_batch_the_oracle_draws():
    problem = on.problems.LeastSquares()
    batch = next(problem.batches(16, seed=4))
    w = np.array([0.3, -0.7])
    np.testing.assert_allclose(batch.grad(w), problem.minibatch_oracle(16, seed=4)(w), rtol=1e-12)
    e = 1e-6 * np.eye(2)
    numeric = [(batch.value(w + e[i]) - batch.value(w - e[i])) / 2e-6 for i in range(2)]
    np.testing.assert_allclose(batch.grad(w), numeric, rtol=1e-6)
    with pytest.raises(ValueError, match="batch_size must be at most n = 500"):
        next(problem.batches(501))


def test_pytorch_lbfgs_search_with_its_default_max_eval_never_leaves_the_rosenbrock_start():
    # quasi-newton.md: with max_iter=1, torch.optim.LBFGS's default max_eval is 1,
    # so its strong Wolfe search has one trial; from the Rosenbrock start that
    # trial raises the loss, so every step is 0. With max_eval=26 it moves.
    torch = pytest.importorskip("torch")
    r = on.problems.Rosenbrock()

    def final(**kwargs):
        p = torch.nn.Parameter(torch.tensor(r.start, dtype=torch.float64))
        opt = torch.optim.LBFGS([p], max_iter=1, line_search_fn="strong_wolfe", **kwargs)

        def closure():
            opt.zero_grad()
            x = p.detach().numpy().copy()
            p.grad = torch.from_numpy(r.grad(x))
            return torch.tensor(float(r.value(x)), dtype=torch.float64)

        for _ in range(5):
            opt.step(closure)
        return opt.param_groups[0]["max_eval"], p.detach().numpy()

    max_eval, x = final()
    assert max_eval == 1
    np.testing.assert_array_equal(x, r.start)
    assert np.linalg.norm(final(max_eval=26)[1] - r.start) > 0.1
