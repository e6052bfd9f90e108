"""L-BFGS: the two-loop recursion against the dense BFGS update, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optnotes as on
from optnotes.quasi_newton import LBFGS, two_loop


def dense_bfgs(S, Y, gamma):
    """Nocedal & Wright (2006), eq. 6.17 applied pair by pair from H0 = gamma I:
    H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T."""
    n = len(S[0]) if S else 1
    H = gamma * np.eye(n)
    for s, y in zip(S, Y, strict=True):
        rho = 1 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


@settings(max_examples=50, deadline=None)
@given(n=st.integers(2, 6), m=st.integers(0, 6), seed=st.integers(0, 10_000))
def test_two_loop_is_the_dense_bfgs_inverse_hessian(n, m, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    H_true = A @ A.T + n * np.eye(n)  # pairs from a convex quadratic: s.y > 0
    S = tuple(rng.standard_normal(n) for _ in range(m))
    Y = tuple(H_true @ s for s in S)
    g = rng.standard_normal(n)
    gamma = float(S[-1] @ Y[-1] / (Y[-1] @ Y[-1])) if m else 1.0
    expected = dense_bfgs(S, Y, gamma) @ g if m else gamma * g
    np.testing.assert_allclose(two_loop(g, S, Y, gamma), expected, rtol=1e-9, atol=1e-12)


def test_memory_keeps_the_newest_pairs():
    p = on.problems.Quadratic(np.diag([1.0, 2.0, 3.0, 4.0, 5.0]), start=(1.0,) * 5)
    rule = LBFGS(lr=0.5, memory=2)
    x, state = np.array(p.start), rule.init(p.start)
    steps = [x]
    for _ in range(6):
        x, state = rule.step(x, p.grad, state)
        steps.append(x)
    assert len(state.S) == 2
    np.testing.assert_array_equal(state.S[-1], steps[-2] - steps[-3])
    np.testing.assert_array_equal(state.S[0], steps[-3] - steps[-4])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: LBFGS(lr=0.0), r"lr must lie in \(0, inf\]"),
        (lambda: LBFGS(memory=0), "memory must be at least 1"),
        (lambda: LBFGS(memory=2.5), "memory must be a whole number"),
    ],
)
def test_bad_lbfgs_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_lbfgs_refuses_another_rules_state_and_a_non_finite_gradient():
    rule = LBFGS()
    with pytest.raises(TypeError, match="takes the state made by LBFGS.init"):
        rule.step(np.zeros(2), lambda x: x, on.SGD().init((0.0, 0.0)))
    with pytest.raises(FloatingPointError, match="gradient at step 0 is not finite"):
        rule.step(np.zeros(2), lambda x: np.array([np.nan, 0.0]), rule.init((0.0, 0.0)))


def test_lbfgs_stalls_on_minibatch_noise_and_not_on_the_whole_data():
    # quasi-newton.md: with minibatches at alpha = 0.1 the estimate's scale
    # gamma collapses and the steps shrink to nothing; with the whole data it
    # converges. Judged from the path alone.
    problem = on.problems.LeastSquares()
    for grad, stalls in ((problem.minibatch_oracle(8, seed=3), True), (problem.grad, False)):
        xs = on.run(LBFGS(lr=0.1), grad, problem.start, 200)
        s = xs[-1] - xs[-2]
        distance = np.linalg.norm(xs[-1] - problem.minima[0])
        if stalls:
            assert np.linalg.norm(s) < 1e-6 and distance > 0.5
        else:
            assert distance < 1e-6


def test_the_estimate_meets_the_secant_equation_and_gamma_is_the_newest_pair():
    # BFGS's estimate maps the newest y to s (Nocedal & Wright 2006, eq. 6.6
    # in inverse form), and H0 = gamma I with gamma from the newest pair
    # (eq. 7.20), judged from the path and the gradients alone.
    p = on.problems.Quadratic(np.diag([1.0, 2.0, 3.0, 4.0, 5.0]), start=(1.0,) * 5)
    rule = LBFGS(lr=0.5, memory=3)
    xs = on.run(rule, p.grad, p.start, 6)
    x, state = np.array(p.start), rule.init(p.start)
    for _ in range(6):
        x, state = rule.step(x, p.grad, state)
    s, y = xs[-2] - xs[-3], p.grad(xs[-2]) - p.grad(xs[-3])
    assert state.gamma == pytest.approx((s @ y) / (y @ y), rel=1e-12)
    np.testing.assert_allclose(two_loop(y, state.S, state.Y, state.gamma), s, rtol=1e-9)


def _saddle_grad(x):  # f = x1^2 / 2 + cos x2: curvature -cos x2 changes sign
    return np.array([x[0], -np.sin(x[1])])


def test_a_pair_failing_the_curvature_test_is_dropped_and_gamma_kept():
    # From (1, 0.1) at alpha = 1 the second pair has s.y <= 1e-10 and the
    # first passes: computed from the path, not from the rule's state.
    rule = LBFGS(lr=1.0, memory=3)
    xs = on.run(rule, _saddle_grad, (1.0, 0.1), 3)
    s1, s2 = xs[1] - xs[0], xs[2] - xs[1]
    y1 = _saddle_grad(xs[1]) - _saddle_grad(xs[0])
    y2 = _saddle_grad(xs[2]) - _saddle_grad(xs[1])
    assert s1 @ y1 > 1e-10 >= s2 @ y2
    x, state = np.array(xs[0]), rule.init((1.0, 0.1))
    for _ in range(3):
        x, state = rule.step(x, _saddle_grad, state)
    assert len(state.S) == 1
    np.testing.assert_array_equal(state.S[0], s1)
    assert state.gamma == (s1 @ y1) / (y1 @ y1)


def test_the_curvature_test_is_pytorchs():
    # The framework tests never drop a pair; here pairs are dropped and kept.
    torch = pytest.importorskip("torch")
    start, steps = (1.0, 0.1), 9
    param = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    opt = torch.optim.LBFGS([param], lr=1.0, max_iter=1, history_size=3)

    def closure():
        opt.zero_grad()
        param.grad = torch.from_numpy(_saddle_grad(param.detach().numpy().copy()))
        return torch.tensor(0.0, dtype=torch.float64)

    theirs = [param.detach().numpy().copy()]
    for _ in range(steps):
        opt.step(closure)
        theirs.append(param.detach().numpy().copy())
    xs = on.run(LBFGS(lr=1.0, memory=3), _saddle_grad, start, steps)
    kept = [
        (b - a) @ (_saddle_grad(b) - _saddle_grad(a)) > 1e-10
        for a, b in zip(xs[:-2], xs[1:-1], strict=True)
    ]
    assert not all(kept) and sum(kept) >= 3, kept  # both branches taken
    assert np.abs(_saddle_grad(xs[-2])).max() > 1e-7  # PyTorch still stepping
    np.testing.assert_allclose(xs, np.array(theirs), rtol=1e-9, atol=1e-12)
