"""RAdam (Liu et al. 2020): the rule, its derivation, and the numbers of its section.

The rule is checked step by step against a reference written below from the
paper's Algorithm 2 (plain loops, steps counted from 1, the paper's letters),
against ``torch.optim.RAdam`` and against ``optax.radam``, in float64, on a
vector and on a matrix. The derivation (``optnotes.derivations.radam``) is
checked against closed forms typed here and against Monte-Carlo measurements.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import optnotes as on
from optnotes import problems
from optnotes.derivations import radam as derivation
from optnotes.rules.adam import Adam, AdamState, RAdam
from tests.test_frameworks import RTOL, assert_differ, assert_same

STEPS = 50


# --- The reference: the paper's Algorithm 2, written out ------------------------


def radam_reference(
    x0, grad, steps, lr, b1, b2, eps, threshold=5.0, decoupled=0.0, torch_eps=False
):
    """Liu et al. 2020, Algorithm 2, coordinate by coordinate, t from 1.

    ``lr(t)`` is the rate of step t. The algorithm has no ε; ``eps`` is added to
    the square root of the corrected v (optax) or, with ``torch_eps``, to the
    root of the raw v before the correction (PyTorch). ``decoupled`` is a weight
    decay scaled by the rate, applied first (PyTorch's decoupled_weight_decay).
    Returns every iterate, shape (steps + 1, len(x0)).
    """
    theta = [float(value) for value in x0]
    m = [0.0] * len(theta)
    v = [0.0] * len(theta)
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    path = [list(theta)]
    for t in range(1, steps + 1):
        g = [float(value) for value in grad(theta)]
        alpha = lr(t)
        rho_t = rho_inf - 2.0 * t * b2**t / (1.0 - b2**t)
        new = []
        for i in range(len(theta)):
            m[i] = b1 * m[i] + (1.0 - b1) * g[i]
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i]
            m_hat = m[i] / (1.0 - b1**t)
            th = theta[i] - alpha * decoupled * theta[i]
            if rho_t > threshold:
                if torch_eps:
                    l_t = math.sqrt(1.0 - b2**t) / (math.sqrt(v[i]) + eps)
                else:
                    l_t = 1.0 / (math.sqrt(v[i] / (1.0 - b2**t)) + eps)
                r_t = math.sqrt(
                    (rho_t - 4.0)
                    * (rho_t - 2.0)
                    * rho_inf
                    / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
                )
                th = th - alpha * r_t * m_hat * l_t
            else:
                th = th - alpha * m_hat
            new.append(th)
        theta = new
        path.append(list(theta))
    return np.array(path)


def rho_paper(t, b2):
    """The paper's rho_t (Section 4), t from 1."""
    rho_inf = 2 / (1 - b2) - 1
    return rho_inf - 2 * t * b2**t / (1 - b2**t)


def r_paper(t, b2):
    """Algorithm 2's rectification at step t (t from 1), where rho_t > 4."""
    rho_inf, rho = 2 / (1 - b2) - 1, rho_paper(t, b2)
    return math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))


# --- Problems: a vector and a weight matrix ------------------------------------

_rng = np.random.default_rng(3)
_Q, _ = np.linalg.qr(_rng.normal(size=(5, 5)))
_H = _Q @ np.diag(np.geomspace(0.1, 10.0, 5)) @ _Q.T
_H = (_H + _H.T) / 2
VECTOR_START = _rng.normal(size=5) * 2


def vector_grad(x):
    return _H @ np.asarray(x, dtype=float)


MATRIX = problems.MatrixLeastSquares((4, 3), condition=(10.0, 10.0), seed=1)
MATRIX_START = np.random.default_rng(4).normal(size=(4, 3))


def flat(grad, shape):
    """A gradient of a matrix, for code that works on flat lists."""
    return lambda theta: np.asarray(grad(np.reshape(np.asarray(theta, float), shape))).ravel()


def ours(rule, grad, x0, steps=STEPS):
    """Every iterate of an optnotes rule."""
    return on.run(rule, grad, x0, steps)


def paper_rate(schedule):
    """Papers count from t = 1; optnotes' first step is t = 0."""
    return lambda t: float(schedule(t - 1))


CASES = [
    dict(lr=0.05),
    dict(lr=0.05, threshold=4.0),
    dict(lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1),
    dict(lr=lambda t: 0.05 / math.sqrt(t + 1), beta2=0.95, threshold=6.5),
]


@pytest.mark.parametrize("hyper", CASES, ids=range(len(CASES)))
@pytest.mark.parametrize("kind", ["vector", "matrix"])
def test_matches_algorithm_2(hyper, kind):
    rule = RAdam(**hyper)
    lr = hyper["lr"] if callable(hyper["lr"]) else (lambda t, a=hyper["lr"]: a)
    args = dict(
        b1=rule.beta1,
        b2=rule.beta2,
        eps=rule.eps,
        threshold=rule.threshold,
        decoupled=rule.weight_decay,
    )
    if kind == "vector":
        path = ours(rule, vector_grad, VECTOR_START)
        reference = radam_reference(VECTOR_START, vector_grad, STEPS, paper_rate(lr), **args)
    else:
        path = ours(rule, MATRIX.grad, MATRIX_START).reshape(STEPS + 1, -1)
        reference = radam_reference(
            MATRIX_START.ravel(), flat(MATRIX.grad, MATRIX.shape), STEPS, paper_rate(lr), **args
        )
    assert_same(path, reference, f"RAdam({hyper}) on a {kind}", rtol=1e-12)


def test_thresholds_differ_where_predicted():
    """With beta2 = 0.999, rho_5 lies between 4 and 5: step 5 is the first
    rectified step with the paper's threshold and an SGD step with 5."""
    assert 4 < rho_paper(5, 0.999) < 5 < rho_paper(6, 0.999)
    assert rho_paper(4, 0.999) < 4
    four = ours(RAdam(lr=0.05, threshold=4.0), vector_grad, VECTOR_START)
    five = ours(RAdam(lr=0.05), vector_grad, VECTOR_START)
    assert_same(four[:5], five[:5], "the first four steps")
    assert_differ(four[5:], five[5:], "from step 5 on")


# --- The frameworks -----------------------------------------------------------------


def torch_radam(torch, x0, grad, steps=STEPS, **options):
    p = torch.nn.Parameter(torch.tensor(np.array(x0, dtype=float)))
    opt = torch.optim.RAdam([p], **options)
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        p.grad = torch.from_numpy(np.asarray(grad(p.detach().numpy().copy()), dtype=float))
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


def optax_radam(jax, optax, tx, x0, grad, steps=STEPS):
    params = jax.numpy.asarray(np.array(x0, dtype=float))
    state = tx.init(params)
    path = [np.asarray(params)]
    for _ in range(steps):
        updates, state = tx.update(jax.numpy.asarray(grad(np.asarray(params))), state, params)
        params = optax.apply_updates(params, updates)
        path.append(np.asarray(params))
    return np.array(path)


def small_grad(x):
    """Gradients of about 1e-3, where ε's place matters."""
    return 1e-3 * vector_grad(x)


@pytest.mark.parametrize("kind", ["vector", "matrix"])
def test_torch(torch, kind):
    x0, grad = (VECTOR_START, vector_grad) if kind == "vector" else (MATRIX_START, MATRIX.grad)
    # ε negligible: the rest of the update is PyTorch's
    theirs = torch_radam(torch, x0, grad, lr=0.05, eps=1e-15)
    assert_same(theirs, ours(RAdam(lr=0.05, eps=1e-15), grad, x0), f"torch RAdam on a {kind}", RTOL)
    # decoupled weight decay
    theirs = torch_radam(
        torch, x0, grad, lr=0.05, eps=1e-15, weight_decay=0.1, decoupled_weight_decay=True
    )
    mine = ours(RAdam(lr=0.05, eps=1e-15, weight_decay=0.1), grad, x0)
    assert_same(theirs, mine, f"torch RAdam, decoupled decay, on a {kind}", RTOL)
    # torch's default weight decay is L2: the same as adding lam x to the gradient
    theirs = torch_radam(torch, x0, grad, lr=0.05, eps=1e-15, weight_decay=0.1)
    mine = ours(RAdam(lr=0.05, eps=1e-15), lambda x: grad(x) + 0.1 * x, x0)
    assert_same(theirs, mine, f"torch RAdam, L2 decay, on a {kind}", RTOL)


def test_defaults_are_the_frameworks(torch, optax):
    import inspect

    rule = RAdam()
    torch_defaults = inspect.signature(torch.optim.RAdam).parameters
    assert torch_defaults["lr"].default == rule.lr
    assert torch_defaults["betas"].default == (rule.beta1, rule.beta2)
    assert torch_defaults["eps"].default == rule.eps
    assert torch_defaults["weight_decay"].default == rule.weight_decay
    optax_defaults = inspect.signature(optax.radam).parameters
    assert optax_defaults["learning_rate"].default is inspect.Parameter.empty
    assert (optax_defaults["b1"].default, optax_defaults["b2"].default) == (rule.beta1, rule.beta2)
    assert optax_defaults["eps"].default == rule.eps
    assert optax_defaults["threshold"].default == rule.threshold


def test_torch_eps_is_added_before_the_correction(torch):
    """PyTorch adds ε to sqrt(v), then multiplies by sqrt(1 - beta2^t): the
    reference written that way agrees with it; optnotes (ε after the correction,
    as optax) differs by far more than the tolerance at small gradients."""
    theirs = torch_radam(torch, VECTOR_START, small_grad, lr=0.05, eps=1e-6)
    reference = radam_reference(
        VECTOR_START, small_grad, STEPS, lambda t: 0.05, 0.9, 0.999, 1e-6, torch_eps=True
    )
    assert_same(theirs, reference, "torch RAdam against Algorithm 2 with torch's ε", RTOL)
    assert_differ(theirs, ours(RAdam(lr=0.05, eps=1e-6), small_grad, VECTOR_START), "ε's place")


@pytest.mark.parametrize("threshold", [4.0, 5.0])
@pytest.mark.parametrize("kind", ["vector", "matrix"])
def test_optax(jax, optax, threshold, kind):
    x0, grad = (VECTOR_START, vector_grad) if kind == "vector" else (MATRIX_START, MATRIX.grad)
    tx = optax.radam(0.05, threshold=threshold)
    theirs = optax_radam(jax, optax, tx, x0, grad)
    mine = ours(RAdam(lr=0.05, threshold=threshold), grad, x0)
    assert_same(theirs, mine, f"optax radam(threshold={threshold}) on a {kind}", RTOL)
    # ε where optax puts it: small gradients, the default ε, still the same
    theirs = optax_radam(
        jax, optax, optax.radam(0.05, threshold=threshold), x0, lambda x: 1e-3 * grad(x)
    )
    mine = ours(RAdam(lr=0.05, threshold=threshold), lambda x: 1e-3 * grad(x), x0)
    assert_same(theirs, mine, f"optax radam, small gradients, on a {kind}", RTOL)


# --- Properties ------------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=1, max_size=4), st.floats(1e-4, 1.0), st.floats(0.5, 0.99))
def test_first_step_is_sgd(g, lr, beta1):
    """rho_1 = 1 for every beta2: the first step is x - alpha g."""
    g = np.array(g)
    x0 = np.ones_like(g)
    rule = RAdam(lr=lr, beta1=beta1)
    x1, state = rule.step(x0, lambda x: g, rule.init(x0))
    np.testing.assert_allclose(x1, x0 - lr * g, rtol=1e-13, atol=1e-300)
    assert state.t == 1


@settings(max_examples=40, deadline=None)
@given(st.floats(0.5, 0.9999), st.integers(1, 100_000))
def test_rho_grows_to_rho_inf_and_r_to_one(b2, t):
    rho_inf = 2 / (1 - b2) - 1
    rho, after = rho_paper(t, b2), rho_paper(t + 1, b2)
    assert rho <= after + 1e-9 * rho_inf
    assert rho <= rho_inf * (1 + 1e-12)
    if rho > 4 and after > 4 and rho_inf > 4:
        assert 0 <= r_paper(t, b2) <= r_paper(t + 1, b2) + 1e-9 <= 1 + 2e-9


@settings(max_examples=30, deadline=None)
@given(st.floats(1e-3, 1e3), st.integers(0, 2**31 - 1))
def test_scale(c, seed):
    """SGD steps scale with the gradient; rectified steps do not (ε = 1e-300)."""
    g = np.random.default_rng(seed).normal(size=(10, 3))
    rule = RAdam(lr=0.1, eps=1e-300, threshold=4.0)
    steps = {}
    for scale in (1.0, c):
        x, state, deltas = np.zeros(3), rule.init(np.zeros(3)), []
        for k in range(10):
            new, state = rule.step(x, lambda _, k=k, s=scale: s * g[k], state)
            deltas.append(new - x)
            x = new
        steps[scale] = np.array(deltas)
    sgd, rectified = c * steps[1.0][:4], steps[1.0][4:]
    np.testing.assert_allclose(steps[c][:4], sgd, rtol=1e-10, atol=1e-12 * np.abs(sgd).max())
    atol = 1e-10 * np.abs(rectified).max()  # m can cancel to almost 0
    np.testing.assert_allclose(steps[c][4:], rectified, rtol=1e-8, atol=atol)


def test_pure_and_state_shapes():
    rule = RAdam(lr=0.1)
    x = MATRIX_START.copy()
    state = rule.init(x)
    assert isinstance(state, AdamState) and state.t == 0
    assert state.m.shape == state.v.shape == x.shape
    before_x, before_m = x.copy(), state.m.copy()
    for _ in range(7):
        x_new, new_state = rule.step(x, MATRIX.grad, state)
        assert x_new is not x and new_state.m is not state.m
        np.testing.assert_array_equal(x, before_x)
        np.testing.assert_array_equal(state.m, before_m)
        assert new_state.t == state.t + 1
        x, state = x_new, new_state
        before_x, before_m = x.copy(), state.m.copy()
    assert rule.buffers == ("m", "v")


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: RAdam(threshold=3.9), ValueError, r"threshold must lie in \[4, inf\]"),
        (lambda: RAdam(threshold=float("nan")), ValueError, "threshold must be finite"),
        (lambda: RAdam(threshold="5"), ValueError, "threshold must be a number"),
        (lambda: RAdam(weight_decay=-0.1), ValueError, r"weight_decay must lie in \[0, inf\]"),
        (lambda: RAdam(lr=0), ValueError, r"lr must lie in \(0, inf\]"),
        (lambda: RAdam(beta2=1.0), ValueError, r"beta2 must lie in \[0, 1\)"),
        (lambda: RAdam(eps=0), ValueError, r"eps must lie in \(0, inf\]"),
    ],
)
def test_bad_hyperparameters(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_state_and_gradients():
    rule, x = RAdam(), np.zeros(3)
    with pytest.raises(TypeError, match="RAdam.step takes the state made by RAdam.init"):
        rule.step(x, lambda z: z, (0, x, x))
    with pytest.raises(ValueError, match="the state's m has shape"):
        rule.step(x, lambda z: z, rule.init(np.zeros(4)))
    with pytest.raises(FloatingPointError, match="gradient at step 0 is not finite"):
        rule.step(x, lambda z: z + np.nan, rule.init(x))
    with pytest.raises(ValueError, match="lr schedule at step 0"):
        RAdam(lr=lambda t: -1.0).step(x, lambda z: z, rule.init(x))
    with pytest.raises(TypeError, match="grad_fn must be a function"):
        rule.step(x, None, rule.init(x))


def test_adam_after_warmup():
    """Once r_t = 1 is reached to within rounding, RAdam is Adam: with beta2 = 0.5,
    rho_inf = 3 < 4 and every step is SGD; with beta2 = 0.9 and t large, r ~ 1."""
    assert (
        RAdam(beta2=0.5, lr=0.1).step(np.ones(2), lambda z: z, RAdam(beta2=0.5).init(np.ones(2)))[
            0
        ][0]
        == 0.9
    )
    x = np.ones(2)
    rule, adam = RAdam(lr=0.01, beta2=0.9), Adam(lr=0.01, beta2=0.9)
    state = rule.init(x)
    state = AdamState(2000, state.m + 0.5, state.v + 0.25)
    a, _ = rule.step(x, lambda z: z, state)
    b, _ = adam.step(x, lambda z: z, state)
    np.testing.assert_allclose(a, b, rtol=1e-15)


# --- The derivation -----------------------------------------------------------------

b, t = derivation.beta2, derivation.t
rho, rho_inf, sigma = derivation.rho, derivation.rho_inf, derivation.sigma


def zero(expr):
    return sp.simplify(expr) == 0


def test_sma_length():
    d = derivation.sma_length()
    typed = (2 / (1 - b) - 1) - 2 * t * b**t / (1 - b**t)
    assert zero(d["rho_t"] - typed)
    assert zero(d["rho_inf"] - (1 + b) / (1 - b))
    assert d["paper_gap"] == 0 and d["rho_1"] == 1
    # the centre of mass of the exponential weights, summed numerically
    for beta, steps in ((0.9, 7), (0.999, 40)):
        i = np.arange(1, steps + 1)
        weights = (1 - beta) * beta ** (steps - i) / (1 - beta**steps)
        centre = float(d["ema_centre"].subs({b: beta, t: steps}))
        assert math.isclose(centre, float(np.sum(i * weights)), rel_tol=1e-12)
        # a simple average of the last rho_t values has that centre (rho_t real)
        length = float(d["rho_t"].subs({b: beta, t: steps}))
        assert math.isclose(steps + 1 - (length + 1) / 2, centre, rel_tol=1e-12)
        assert math.isclose(length, rho_paper(steps, beta), rel_tol=1e-12)


def test_rate_variance():
    d = derivation.rate_variance()
    assert zero(d["approx"] - rho / (2 * (rho - 2) * (rho - 4) * sigma**2))
    assert zero(d["mean_psi2"] - rho / ((rho - 2) * sigma**2))
    assert zero(d["var_psi2"] - 2 * rho**2 / ((rho - 2) ** 2 * (rho - 4) * sigma**4))
    algorithm_2 = (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)
    assert zero(d["r_squared"] - algorithm_2)
    assert zero(d["r"] ** 2 - algorithm_2)


def test_rate_variance_monte_carlo():
    """Var[1/sqrt(mean of rho squared normals)], measured, against the exact
    formula (a simple average: exact up to sampling) and, for Adam's exponential
    average at step t, against the first-order formula at rho_t."""
    d = derivation.rate_variance()
    exact = lambda value: float(d["exact"].subs({sigma: 1, rho: value}).evalf())  # noqa: E731
    approx = sp.lambdify(rho, d["approx"].subs(sigma, 1))
    rng = np.random.default_rng(0)
    for n in (6, 10, 40):
        psi = 1 / np.sqrt(np.mean(rng.standard_normal((200_000, n)) ** 2, axis=1))
        assert math.isclose(psi.var(), exact(n), rel_tol=0.03), n
    # the exponential average, beta2 = 0.999: within 10% of first order for t = 50 .. 300
    v, b2 = np.zeros(50_000), 0.999
    for step in range(1, 301):
        v = b2 * v + (1 - b2) * rng.standard_normal(v.size) ** 2
        if step in (50, 100, 300):
            measured = (1 / np.sqrt(v / (1 - b2**step))).var()
            assert math.isclose(measured, approx(rho_paper(step, b2)), rel_tol=0.1), step
    # the section's words: at t = 300 the exponential average is below both
    rho_300 = rho_paper(300, b2)
    assert measured < 0.98 * exact(rho_300) and measured < 0.98 * approx(rho_300)
    # from t = 100 on, first order and exact agree to a few per cent
    for step in (100, 300, 1000):
        assert math.isclose(approx(rho_paper(step, b2)), exact(rho_paper(step, b2)), rel_tol=0.03)
    # and the first-order formula overstates the variance at small rho
    assert approx(6.0) > 2 * exact(6.0)


def test_rectification_growth():
    d = derivation.rectification_growth()
    assert zero(d["dr2_drho"] - rho_inf * (rho**2 - 8) / (rho**2 * (rho_inf - 4) * (rho_inf - 2)))
    u = derivation.u
    assert zero(d["shrink_slope"] - sp.diff(u / (sp.exp(u) - 1), u))
    assert d["numerator_at_0"] == 0
    assert zero(d["numerator_slope"] + u * sp.exp(u))
    assert d["r_limit"] == 1 and d["shrink_limit"] == 0


# --- The numbers of the section (computed here independently) --------------------


def first_step_at_least(level, b2=0.999):
    """The first t (from 1) with r_t >= level, by bisection on the paper's formula."""
    low, high = 5, 10**6  # rho_5 < 5 < rho_6 at b2 = 0.999
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if r_paper(mid, b2) >= level else (mid, high)
    return high


def test_section_numbers():
    assert first_step_at_least(0.5) == 556
    assert first_step_at_least(0.9) == 2737
    # a linear warm-up over 2 / (1 - beta2) = 2000 steps reaches them at 1000, 1800
    assert round(2 / (1 - 0.999)) == 2000
    assert r_paper(2000, 0.999) < 0.9
    assert r_paper(1000, 0.999) > 0.5


@pytest.mark.parametrize("t", [100, 300, 1000])
def test_the_average_is_worth_more_squares_than_rho_t(t):
    """The page: to first order the exponential average's variance is that of
    n = (sum of weights)^2 / (sum of squared weights) squares, more than rho_t."""
    b2 = 0.999
    weights = (1 - b2) * b2 ** np.arange(t)  # the weights of g_t, g_{t-1}, ...
    n = weights.sum() ** 2 / (weights**2).sum()
    assert n == pytest.approx((1 - b2**t) * (1 + b2) / ((1 - b2) * (1 + b2**t)), rel=1e-12)
    rho_inf = 2 / (1 - b2) - 1
    assert n > rho_inf - 2 * t * b2**t / (1 - b2**t)
