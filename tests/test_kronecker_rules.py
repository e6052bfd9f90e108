"""Shampoo and SOAP: step for step against references written here from
Gupta, Koren & Singer 2018 (Algorithm 1) and Vyas et al. 2024 (Algorithm 3,
with the details of the authors' code), roots and eigenvectors computed by
SVD and Gram–Schmidt rather than the rules' eigh; grafting's step size;
stale roots; SOAP in a fixed coordinate basis against AdamW; positive
definiteness under random gradients; purity; bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optnotes.problems import MatrixLeastSquares
from optnotes.rules.adam import AdamW
from optnotes.rules.adaptive import Adagrad, AdagradState
from optnotes.rules.kronecker import SOAP, Shampoo, ShampooState, SOAPState
from optnotes.rules.sgd import SGD

RTOL = 1e-9
STEPS = 30


def path(rule, grad_fn, x0, steps):
    x, state = np.array(x0, dtype=np.float64), rule.init(x0)
    xs = []
    for _ in range(steps):
        x, state = rule.step(x, grad_fn, state)
        xs.append(x)
    return xs, state


def svd_power(S, p):
    """S^p of a symmetric positive definite S, from its SVD (U = V there)."""
    U, s, _ = np.linalg.svd(S)
    return U @ np.diag(s**p) @ U.T


# --- Shampoo step for step ------------------------------------------------------


def reference_shampoo(problem, steps, eta, eps, e=0.25, beta2=1.0, k=1, graft=None):
    """Algorithm 1 of Gupta et al. 2018, t from 1: L_0 = eps I, R_0 = eps I,
    L_t = L_{t-1} + G_t G_t^T (or the moving average of the statistics, eps
    added at the root), W_{t+1} = W_t - eta L_t^{-e} G_t R_t^{-e}, roots
    refreshed at t = 1, 1 + k, ...; grafting rescales the step to the norm of
    SGD's or Adagrad's."""
    m, n = problem.shape
    W = problem.start.copy()
    S_L, S_R = np.zeros((m, m)), np.zeros((n, n))  # sums or averages of GG^T
    H = np.zeros((m, n))  # Adagrad's sum of squares
    Ws = []
    for t in range(1, steps + 1):
        G = problem.grad(W)
        if beta2 == 1.0:
            S_L, S_R = S_L + G @ G.T, S_R + G.T @ G
        else:
            S_L = beta2 * S_L + (1 - beta2) * G @ G.T
            S_R = beta2 * S_R + (1 - beta2) * G.T @ G
        L_t, R_t = S_L + eps * np.eye(m), S_R + eps * np.eye(n)
        if (t - 1) % k == 0:
            left, right = svd_power(L_t, -e), svd_power(R_t, -e)
        step = left @ G @ right
        if graft == "sgd":
            step = step * np.sqrt(np.sum(G**2) / np.sum(step**2))
        elif graft == "adagrad":
            H = H + G * G
            A = G / (np.sqrt(H) + eps)
            step = step * np.sqrt(np.sum(A**2) / np.sum(step**2))
        W = W - eta * step
        Ws.append(W.copy())
    return Ws


SHAPES = [(12, 8), (5, 7)]
SHAMPOO_CASES = [
    dict(lr=0.05, epsilon=0.1),
    dict(lr=0.05, epsilon=0.5, exponent=0.5),
    dict(lr=0.05, epsilon=0.1, beta2=0.9, update_every=3),
    dict(lr=0.02, epsilon=0.1, update_every=4, graft="sgd"),
    dict(lr=0.05, epsilon=0.1, beta2=0.95, graft="adagrad"),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("hyper", SHAMPOO_CASES)
def test_shampoo_matches_algorithm_1(shape, hyper):
    """Epsilon well above the rounding error of the small eigenvalues of L
    (about |L| times 1e-16): with a tiny epsilon the inverse roots of a
    rank-deficient L amplify that error, and two correct computations of
    them (eigh here, SVD there) differ by far more than 1e-9."""
    problem = MatrixLeastSquares(shape, condition=(10.0, 10.0), seed=4)
    ours, _ = path(Shampoo(**hyper), problem.grad, problem.start, STEPS)
    theirs = reference_shampoo(
        problem,
        STEPS,
        hyper["lr"],
        hyper["epsilon"],
        hyper.get("exponent", 0.25),
        hyper.get("beta2", 1.0),
        hyper.get("update_every", 1),
        hyper.get("graft"),
    )
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-12)


def test_shampoo_uses_stale_roots_between_refreshes():
    problem = MatrixLeastSquares((6, 4), condition=(10.0, 10.0), seed=5)
    rule = Shampoo(lr=0.05, epsilon=0.1, update_every=3)
    x, state = problem.start, rule.init(problem.start)
    for t in range(7):
        x, new = rule.step(x, problem.grad, state)
        fresh = svd_power(new.L + rule.epsilon * np.eye(6), -0.25)
        if t % 3 == 0:
            np.testing.assert_allclose(new.L_root, fresh, rtol=1e-9, atol=1e-9)
        else:  # the root of an earlier L, the same arrays
            assert new.L_root is state.L_root and new.R_root is state.R_root
            assert not np.allclose(new.L_root, fresh, rtol=1e-3)
        state = new
    stale = Shampoo(lr=0.05, epsilon=0.1, update_every=3)
    fresh_rule = Shampoo(lr=0.05, epsilon=0.1)
    xs_stale, _ = path(stale, problem.grad, problem.start, 5)
    xs_fresh, _ = path(fresh_rule, problem.grad, problem.start, 5)
    np.testing.assert_allclose(xs_stale[0], xs_fresh[0], rtol=1e-12)
    assert not np.allclose(xs_stale[1], xs_fresh[1], rtol=1e-6)


def test_shampoo_first_step_is_the_orthogonal_factor():
    """With L = G G^T, R = G^T G (epsilon tiny), L^{-1/4} G R^{-1/4} = U V^T."""
    G = np.random.default_rng(6).normal(size=(4, 4))
    x = np.zeros((4, 4))
    rule = Shampoo(lr=1.0, epsilon=1e-30)
    x_new, _ = rule.step(x, lambda _: G, rule.init(x))
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    np.testing.assert_allclose(-x_new, U @ Vt, rtol=1e-9, atol=1e-9)


# --- grafting -------------------------------------------------------------------


@pytest.mark.parametrize("graft", ["sgd", "adagrad"])
def test_grafting_takes_the_grafted_rules_norm_and_shampoos_direction(graft):
    rng = np.random.default_rng(7)
    x, G = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    A, B = rng.normal(size=(6, 6)), rng.normal(size=(4, 4))
    L, R = A @ A.T, B @ B.T
    r = rng.normal(size=(6, 4)) ** 2
    lr, eps = 0.1, 1e-8
    grafted = Shampoo(lr=lr, epsilon=eps, graft=graft)
    plain = Shampoo(lr=lr, epsilon=eps)
    state = ShampooState(4, L, R, np.eye(6), np.eye(4), r if graft == "adagrad" else None)
    x_graft, _ = grafted.step(x, lambda _: G, state)
    x_plain, _ = plain.step(x, lambda _: G, state._replace(r=None))
    if graft == "sgd":
        x_rule, _ = SGD(lr=lr).step(x, lambda _: G, SGD(lr=lr).init(x))
    else:
        x_rule, _ = Adagrad(lr=lr, eps=eps).step(x, lambda _: G, AdagradState(4, r))
    step, plain_step = x_graft - x, x_plain - x
    assert np.linalg.norm(step) == pytest.approx(np.linalg.norm(x_rule - x), rel=1e-12)
    cosine = np.sum(step * plain_step) / np.linalg.norm(step) / np.linalg.norm(plain_step)
    assert cosine == pytest.approx(1.0, rel=1e-12)


def test_grafting_a_zero_gradient_steps_zero():
    x = np.ones((3, 2))
    rule = Shampoo(graft="sgd")
    x_new, _ = rule.step(x, np.zeros_like, rule.init(x))
    assert np.array_equal(x_new, x)


# --- positive definiteness ------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(1, 6),
    n=st.integers(1, 6),
    steps=st.integers(1, 8),
    scale=st.floats(1e-3, 1e3),
    beta2=st.sampled_from([1.0, 0.9, 0.5]),
    epsilon=st.sampled_from([1e-12, 1e-6, 1e-2]),
)
def test_shampoo_preconditioners_stay_symmetric_positive_definite(
    seed, m, n, steps, scale, beta2, epsilon
):
    """For any gradients, L + eps I and R + eps I (the paper's L_t, R_t) are
    symmetric with every eigenvalue at least about eps, and so are their
    inverse roots, positive."""
    rng = np.random.default_rng(seed)
    rule = Shampoo(epsilon=epsilon, beta2=beta2, update_every=2)
    x, state = np.zeros((m, n)), rule.init(np.zeros((m, n)))
    for _ in range(steps):
        G = scale * rng.normal(size=(m, n)) * (rng.random((m, n)) < 0.7)
        x, state = rule.step(x, lambda _, G=G: G, state)
        for S, root in ((state.L, state.L_root), (state.R, state.R_root)):
            size = len(S)
            np.testing.assert_allclose(S, S.T, rtol=0, atol=1e-14 * np.abs(S).max())
            tol = 1e-12 * max(1.0, np.abs(S).max())
            assert np.linalg.eigvalsh(S + epsilon * np.eye(size)).min() >= epsilon - tol
            np.testing.assert_allclose(root, root.T, rtol=0, atol=1e-9 * np.abs(root).max())
            assert np.linalg.eigvalsh(root).min() > 0


# --- SOAP step for step ---------------------------------------------------------


def descending_eigenvectors(S):
    """Eigenvectors of a symmetric positive semi-definite S, largest first:
    the left singular vectors of its SVD."""
    return np.linalg.svd(S)[0]


def gram_schmidt(A):
    """The Q of A = QR by modified Gram–Schmidt, column by column."""
    Q = np.array(A, dtype=np.float64)
    for j in range(Q.shape[1]):
        for i in range(j):
            Q[:, j] -= (Q[:, i] @ Q[:, j]) * Q[:, i]
        Q[:, j] /= np.sqrt(Q[:, j] @ Q[:, j])
    return Q


def reference_soap(grad, W, steps, eta, beta1, beta2, eps, lam, shampoo_beta, f, refresh):
    """Algorithm 3 of Vyas et al. 2024 with the authors' code's details: the
    first step only sets L, R and their eigenvectors; then, for t = 1, 2, ...
    Adam on the rotated gradient (first moment M in the original basis, V in
    the rotated one), bias corrections folded into the rate, epsilon added to
    sqrt(V); L, R updated after the step; every f steps the old eigenvectors
    sorted by Rayleigh quotient (V permuted alike) and replaced by QR of one
    power-iteration step, or by the exact eigenvectors."""
    W = W.copy()
    G = grad(W)
    L, R = (1 - shampoo_beta) * G @ G.T, (1 - shampoo_beta) * G.T @ G
    Q_L, Q_R = descending_eigenvectors(L), descending_eigenvectors(R)
    M, V = np.zeros_like(W), np.zeros_like(W)
    Ws = [W.copy()]
    for t in range(1, steps):
        G = grad(W)
        G_prime = Q_L.T @ G @ Q_R
        M = beta1 * M + (1 - beta1) * G
        M_prime = Q_L.T @ M @ Q_R
        V = beta2 * V + (1 - beta2) * G_prime * G_prime
        N_prime = M_prime / (np.sqrt(V) + eps)
        N = Q_L @ N_prime @ Q_R.T
        eta_t = eta * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        W = W - eta * lam * W - eta_t * N
        L = shampoo_beta * L + (1 - shampoo_beta) * G @ G.T
        R = shampoo_beta * R + (1 - shampoo_beta) * G.T @ G
        if t % f == 0:
            order_L = np.argsort(-np.einsum("ij,ik,kj->j", Q_L, L, Q_L), kind="stable")
            order_R = np.argsort(-np.einsum("ij,ik,kj->j", Q_R, R, Q_R), kind="stable")
            V = V[order_L, :][:, order_R]
            if refresh == "power":
                Q_L = gram_schmidt(L @ Q_L[:, order_L])
                Q_R = gram_schmidt(R @ Q_R[:, order_R])
            else:
                Q_L, Q_R = descending_eigenvectors(L), descending_eigenvectors(R)
        Ws.append(W.copy())
    return Ws


SOAP_CASES = [
    dict(lr=0.05, update_every=3),
    dict(lr=0.05, update_every=3, refresh="eigh"),
    dict(lr=0.02, beta1=0.9, beta2=0.99, epsilon=1e-6, weight_decay=0.1, shampoo_beta=0.8),
    dict(lr=0.05, update_every=1, refresh="eigh"),
]


@pytest.mark.parametrize("shape", [(6, 6), (5, 5)])
@pytest.mark.parametrize("hyper", SOAP_CASES)
def test_soap_matches_algorithm_3(shape, hyper):
    """Square problems with noisy gradients: there L and R are of full rank
    from the first step, so their eigenvectors are unique up to sign, which
    SOAP's step does not depend on. (With exact gradients the second step's
    gradient is the first, diagonal in the basis made from it: its other
    entries are rounding errors, of the order of epsilon, and the step
    divides them by their own size, so no two computations agree there.)"""
    problem = MatrixLeastSquares(shape, condition=(10.0, 10.0), seed=8)
    rule = SOAP(**hyper)
    ours, _ = path(rule, problem.oracle(0.5, seed=1), problem.start, STEPS)
    beta_s = rule.beta2 if rule.shampoo_beta is None else rule.shampoo_beta
    theirs = reference_soap(
        problem.oracle(0.5, seed=1),
        problem.start,
        STEPS,
        rule.lr,
        rule.beta1,
        rule.beta2,
        rule.epsilon,
        rule.weight_decay,
        beta_s,
        rule.update_every,
        rule.refresh,
    )
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-12)


def test_soap_first_step_only_starts_the_preconditioner():
    rng = np.random.default_rng(9)
    x, G = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    rule = SOAP(shampoo_beta=0.9)
    x_new, state = rule.step(x, lambda _: G, rule.init(x))
    assert np.array_equal(x_new, x) and x_new is not x
    assert state.t == 1 and not state.m.any() and not state.v.any()
    np.testing.assert_allclose(state.L, 0.1 * G @ G.T, rtol=1e-12)
    np.testing.assert_allclose(state.R, 0.1 * G.T @ G, rtol=1e-12)
    for S, Q in ((state.L, state.Q_L), (state.R, state.Q_R)):
        np.testing.assert_allclose(Q.T @ Q, np.eye(len(S)), atol=1e-12)
        eigenvalues = np.diag(Q.T @ S @ Q)
        assert np.all(np.diff(eigenvalues) <= 1e-12)  # largest first


@pytest.mark.parametrize("shape", [(5, 5), (6, 4), (3, 5)])
@pytest.mark.parametrize("refresh", ["power", "eigh"])
def test_soap_in_the_coordinate_basis_is_adamw(shape, refresh):
    """A loss of the diagonal entries only: every gradient is zero off the
    diagonal, so L and R are diagonal, their eigenvectors are coordinate
    vectors (permuted), and SOAP is AdamW on W, one step late (its first step
    only starts the preconditioner). Epsilon is tiny, where the two ways of
    adding it agree. The QR of the power step gives the coordinate vectors
    only up to rounding, and the rounding errors it rotates into the zero
    entries are then divided by their own size: with "power", the diagonal
    (all the loss depends on) is compared, the rest moves by O(lr)."""
    rng = np.random.default_rng(10)
    k = min(shape)
    c = np.geomspace(1.0, 30.0, k)
    target = rng.normal(size=k)
    index = np.arange(k)

    def grad(W):
        G = np.zeros(shape)
        G[index, index] = c * (W[index, index] - target)
        return G

    x0 = rng.normal(size=shape)
    hyper = dict(lr=0.03, beta1=0.9, beta2=0.95, weight_decay=0.05)
    soap = SOAP(**hyper, epsilon=1e-30, update_every=2, refresh=refresh)
    soap_path, _ = path(soap, grad, x0, STEPS + 1)
    adamw_path, _ = path(AdamW(**hyper, eps=1e-30), grad, x0, STEPS)
    np.testing.assert_array_equal(soap_path[0], x0)
    ours, theirs = np.array(soap_path[1:]), np.array(adamw_path)
    if refresh == "power":
        ours, theirs = ours[:, index, index], theirs[:, index, index]
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-14)


# --- both: a sanity run, purity, state, bad input ------------------------------


@pytest.mark.parametrize(
    "rule",
    [Shampoo(lr=1.0), Shampoo(lr=0.1, graft="adagrad"), SOAP(lr=0.05)],
    ids=["shampoo", "shampoo-adagrad", "soap"],
)
def test_rules_reduce_a_matrix_least_squares_loss(rule):
    problem = MatrixLeastSquares((12, 8), condition=(10.0, 10.0), seed=0)
    xs, _ = path(rule, problem.grad, problem.start, 100)
    assert problem.value(xs[-1]) < 0.01 * problem.value(problem.start)


RULES = [Shampoo(lr=0.05, graft="adagrad", update_every=2), SOAP(lr=0.05, update_every=2)]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.sampled_from([0, 1]), t=st.integers(0, 5))
def test_rules_are_pure(seed, which, t):
    rule = RULES[which]
    rng = np.random.default_rng(seed)
    x, G = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    state = rule.init(x)
    state = state._replace(
        t=t,
        **{
            name: rng.random(np.shape(value))
            for name, value in state._asdict().items()
            if name != "t" and value is not None
        },
    )
    copies = [x.copy(), G.copy()] + [np.copy(b) for b in state[1:]]
    x_new, state_new = rule.step(x, lambda _: G, state)
    for before, after in zip(copies, [x, G, *state[1:]], strict=True):
        assert np.array_equal(before, after)
    assert x_new is not x and state_new.t == t + 1


@pytest.mark.parametrize("shape", [(4, 3), (2, 5)])
def test_state_shapes(shape):
    m, n = shape
    x = np.ones(shape)
    s = Shampoo(graft="adagrad").init(x)
    assert isinstance(s, ShampooState) and s.t == 0
    assert s.L.shape == s.L_root.shape == (m, m) and s.R.shape == s.R_root.shape == (n, n)
    assert s.r.shape == shape and Shampoo().init(x).r is None
    q = SOAP().init(x)
    assert isinstance(q, SOAPState) and q.t == 0
    assert q.m.shape == q.v.shape == shape
    assert q.L.shape == q.Q_L.shape == (m, m) and q.R.shape == q.Q_R.shape == (n, n)


@pytest.mark.parametrize("Rule", [Shampoo, SOAP])
@pytest.mark.parametrize("x", [np.ones(4), np.ones((2, 2, 2)), np.float64(1.0)])
def test_matrix_rules_refuse_what_is_not_a_matrix(Rule, x):
    name = Rule.__name__
    with pytest.raises(ValueError, match=rf"ByLayer\({name}\(\), vectors=AdamW\(\)\)"):
        Rule().init(x)
    with pytest.raises(ValueError, match="updates a weight matrix"):
        Rule().step(x, lambda x: x, Rule().init(np.ones((2, 2))))


@pytest.mark.parametrize("Rule", [Shampoo, SOAP])
def test_matrix_rules_refuse_non_finite_matrices(Rule):
    with pytest.raises(ValueError, match="x0 must be finite"):
        Rule().init(np.array([[1.0, np.nan], [0.0, 1.0]]))
    x = np.ones((3, 2))
    with pytest.raises(FloatingPointError, match="gradient at step 0 is not finite"):
        Rule().step(x, lambda x: np.full_like(x, np.inf), Rule().init(x))


@pytest.mark.parametrize("Rule", [Shampoo, SOAP])
@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(epsilon=0.0), r"epsilon must lie in \(0, inf\]"),
        (dict(epsilon=-1e-8), r"epsilon must lie in \(0, inf\]"),
        (dict(lr=0.0), "lr must lie in"),
        (dict(update_every=0), "update_every must be at least 1"),
        (dict(update_every=2.5), "update_every must be a whole number"),
        (dict(beta2=1.5), "beta2 must lie in"),
    ],
)
def test_bad_hyperparameters_raise(Rule, bad, message):
    with pytest.raises(ValueError, match=message):
        Rule(**bad)


@pytest.mark.parametrize(
    "Rule, bad, message",
    [
        (Shampoo, dict(beta2=0.0), r"beta2 must lie in \(0, 1\]"),
        (Shampoo, dict(exponent=0.0), "exponent must lie in"),
        (Shampoo, dict(graft="adam"), "graft must be None, 'sgd' or 'adagrad'"),
        (SOAP, dict(beta2=1.0), r"beta2 must lie in \[0, 1\)"),
        (SOAP, dict(beta1=1.0), r"beta1 must lie in \[0, 1\)"),
        (SOAP, dict(shampoo_beta=1.0), r"shampoo_beta must lie in \[0, 1\)"),
        (SOAP, dict(weight_decay=-0.1), "weight_decay must lie in"),
        (SOAP, dict(refresh="qr"), "refresh must be 'power' or 'eigh'"),
    ],
)
def test_bad_rule_specific_hyperparameters_raise(Rule, bad, message):
    with pytest.raises(ValueError, match=message):
        Rule(**bad)


@pytest.mark.parametrize("Rule", [Shampoo, SOAP])
def test_a_state_for_other_parameters_is_refused(Rule):
    rule = Rule()
    with pytest.raises(ValueError, match="state's .* has shape"):
        rule.step(np.ones((3, 2)), lambda x: x, rule.init(np.ones((2, 3))))
    with pytest.raises(TypeError, match=f"{Rule.__name__}.step takes the state"):
        rule.step(np.ones((3, 2)), lambda x: x, (0, np.ones((3, 2))))
    if Rule is Shampoo:
        with pytest.raises(ValueError, match="state's r has none"):
            Shampoo(graft="adagrad").step(np.ones((3, 2)), lambda x: x, rule.init(np.ones((3, 2))))


@pytest.mark.parametrize("Rule", [Shampoo, SOAP])
def test_overflowing_statistics_raise_floating_point_error(Rule):
    """Gradients that overflow G G^T make the statistics infinite: the rule
    says so as every rule says a run blew up, not with LAPACK's LinAlgError."""
    x = np.ones((3, 2))
    rule = Rule(lr=0.1)
    state = rule.init(x)
    huge = lambda w: np.full(w.shape, 1e200)  # noqa: E731
    with np.errstate(over="ignore"), pytest.raises(FloatingPointError, match="not finite"):
        for _ in range(3):
            x, state = rule.step(x, huge, state)
