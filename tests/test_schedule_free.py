"""Schedule-Free SGD and AdamW (optnotes.rules.schedule_free), checked against
references written here from the paper (Defazio et al. 2024), against optax's
``contrib.schedule_free_*``, and by their structure: Polyak averaging at β = 0,
primal averaging at β = 1, a momentum method in between.

Also the tuning of the chapter's network comparison: the rates the page uses
are the best of the grid, by the same criterion for every method."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optnotes import schedules as sch
from optnotes.averaging import PolyakAverage
from optnotes.rules import SGD
from optnotes.rules.schedule_free import (
    ScheduleFreeAdamW,
    ScheduleFreeAdamWState,
    ScheduleFreeSGD,
    ScheduleFreeState,
)

RTOL = 1e-9
STEPS = 40

# --- Problems: a vector and a matrix, gradients not linear in x ---------------------

_rng = np.random.default_rng(7)
_Q, _ = np.linalg.qr(_rng.normal(size=(4, 4)))
A4 = _Q @ np.diag([0.2, 0.5, 1.0, 2.0]) @ _Q.T
B4 = _rng.normal(size=4)
X0_VECTOR = _rng.normal(size=4)
L3 = np.diag([0.5, 1.0, 1.5])
R2 = np.array([[1.0, 0.3], [0.3, 0.8]])
C32 = _rng.normal(size=(3, 2))
X0_MATRIX = _rng.normal(size=(3, 2))


def grad_vector(x):
    return A4 @ x - B4 + 0.3 * np.tanh(x)


def grad_matrix(x):
    return L3 @ x @ R2 - C32 + 0.3 * np.tanh(x)


PROBLEMS = [(grad_vector, X0_VECTOR), (grad_matrix, X0_MATRIX)]


def ours(rule, grad, x0, steps=STEPS):
    """Every returned x and every state of an optnotes rule."""
    x, state = np.array(x0, dtype=float), rule.init(x0)
    xs, states = [x], [state]
    for _ in range(steps):
        x, state = rule.step(x, grad, state)
        xs.append(x)
        states.append(state)
    return np.array(xs), states


def close(a, b, rtol=RTOL):
    a, b = np.asarray(a), np.asarray(b)
    scale = np.maximum(np.abs(b).max(), 1e-300)
    return np.abs(a - b).max() <= rtol * scale


# --- References from the paper (t counted from 1, the paper's letters) --------------


def paper_sgd(grad, x1, gamma, beta, T, warmup=0, lam=0.0):
    """Schedule-Free SGD as the paper writes it (with the averaging weights
    of Algorithm 1): y_t = (1-β) z_t + β x_t, z_{t+1} = z_t - γ_t (g_t + λ y_t),
    c_{t+1} = γ_t² / Σ_{i≤t} γ_i², x_{t+1} = (1-c_{t+1}) x_t + c_{t+1} z_{t+1}."""
    x = z = np.array(x1, dtype=float)
    squares = 0.0
    xs, zs = [x], [z]
    for t in range(1, T + 1):
        gamma_t = gamma * min(1.0, t / warmup) if warmup else gamma
        y = (1 - beta) * z + beta * x
        g = grad(y)
        z = z - gamma_t * g - gamma_t * lam * y
        squares += gamma_t**2
        c = gamma_t**2 / squares
        x = (1 - c) * x + c * z
        xs.append(x)
        zs.append(z)
    return np.array(xs), np.array(zs)


def paper_adamw(grad, x1, gamma, beta1, beta2, eps, lam, T, warmup=0, where="v"):
    """Schedule-Free AdamW, the paper's Algorithm 1 (``where="rate"``: the bias
    correction √(1-β₂ᵗ) in γ_t, ε added to √v_t), or with v̂_t = v_t/(1-β₂ᵗ) in
    the denominator (``where="v"``, the authors' code since November 2024)."""
    x = z = np.array(x1, dtype=float)
    v = np.zeros_like(x)
    squares = 0.0
    xs = [x]
    for t in range(1, T + 1):
        y = (1 - beta1) * z + beta1 * x
        g = grad(y)
        v = beta2 * v + (1 - beta2) * g**2
        ramp = min(1.0, t / warmup) if warmup else 1.0
        if where == "rate":
            gamma_t = gamma * math.sqrt(1 - beta2**t) * ramp
            denominator = np.sqrt(v) + eps
        else:
            gamma_t = gamma * ramp
            denominator = np.sqrt(v / (1 - beta2**t)) + eps
        z = z - gamma_t * g / denominator - gamma_t * lam * y
        squares += gamma_t**2
        c = gamma_t**2 / squares
        x = (1 - c) * x + c * z
        xs.append(x)
    return np.array(xs)


@pytest.mark.parametrize("grad, x0", PROBLEMS, ids=["vector", "matrix"])
@pytest.mark.parametrize("warmup", [0, 7])
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 1.0])
def test_sgd_against_the_paper(grad, x0, warmup, beta):
    lam = 0.05
    rule = ScheduleFreeSGD(lr=0.2, beta=beta, warmup_steps=warmup, weight_decay=lam)
    xs, states = ours(rule, grad, x0)
    ref_x, ref_z = paper_sgd(grad, x0, 0.2, beta, STEPS, warmup, lam)
    assert close(xs, ref_x)
    assert close([s.z for s in states], ref_z)


@pytest.mark.parametrize("grad, x0", PROBLEMS, ids=["vector", "matrix"])
@pytest.mark.parametrize("where", ["v", "rate"])
@pytest.mark.parametrize("warmup", [0, 5])
@pytest.mark.parametrize("beta1", [0.0, 0.9, 1.0])
def test_adamw_against_the_paper(grad, x0, where, warmup, beta1):
    """Also at both ends of β1, which the authors' eval() and optax cannot
    take at 0 (they recover x from y by dividing by β1); x is returned here."""
    rule = ScheduleFreeAdamW(
        lr=0.05, beta1=beta1, beta2=0.99, eps=1e-3, weight_decay=0.1,
        warmup_steps=warmup, bias_correction=where,
    )  # fmt: skip
    xs, _ = ours(rule, grad, x0)
    ref = paper_adamw(grad, x0, 0.05, beta1, 0.99, 1e-3, 0.1, STEPS, warmup, where)
    assert close(xs, ref)


def test_the_two_bias_corrections_differ():
    """The paper's correction (in the rate, and so in the weights) and the code's
    (in v) are different algorithms, not two ways to write one."""
    a, _ = ours(ScheduleFreeAdamW(lr=0.05), grad_vector, X0_VECTOR)
    b, _ = ours(ScheduleFreeAdamW(lr=0.05, bias_correction="rate"), grad_vector, X0_VECTOR)
    assert np.abs(a - b).max() > 1e-3


def test_paper_weights_keep_growing_after_the_warmup():
    """With the paper's correction in the rate, the weights γ_max² carry the
    factor 1 - β2^t: 0.63 of their limit after 1/(1-β2) = 1000 steps with
    β2 = 0.999, long after a warm-up of 10; with the code's (in v) they are
    constant after the warm-up."""
    lr, warmup, T = 0.01, 10, 1000
    grad = lambda x: x - 1.0  # noqa: E731
    paper = ScheduleFreeAdamW(lr=lr, warmup_steps=warmup, bias_correction="rate")
    code = ScheduleFreeAdamW(lr=lr, warmup_steps=warmup)
    _, paper_states = ours(paper, grad, np.zeros(1), T)
    _, code_states = ours(code, grad, np.zeros(1), T)
    for t in (warmup, 100, T):
        limit = paper_states[t].gamma_max ** 2 / lr**2
        assert math.isclose(limit, 1 - 0.999**t, rel_tol=1e-12)
        assert math.isclose(code_states[t].gamma_max, lr, rel_tol=1e-15)
    assert round(paper_states[T].gamma_max ** 2 / lr**2, 2) == 0.63


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 1.0])
def test_x_weighs_the_gradients_as_a_linear_decay(beta):
    """Equal weights, constant rate: x_T = x_0 - γ Σ_k (T - k + 1)/T g_k for
    every T, whatever β (derivations.schedule_free.gradient_weights derives it).
    Gradients that do not depend on the point: g_k is the k-th unit vector."""
    gamma, T = 0.3, 8
    eye, x0 = np.eye(T), np.linspace(-1.0, 1.0, T)
    rule = ScheduleFreeSGD(lr=gamma, beta=beta)
    x, state = x0.copy(), rule.init(x0)
    for t in range(1, T + 1):
        x, state = rule.step(x, lambda y, k=t - 1: eye[k], state)
        weights = [(t - k + 1) / t if k <= t else 0.0 for k in range(1, T + 1)]
        assert close(x, x0 - gamma * np.array(weights), 1e-12)


def test_x_moves_half_the_rate_under_a_constant_gradient():
    """The momentum form's step γ/(k+1) over one minus its momentum
    (k-1)/(k+1) is γ/2: with a constant gradient G, x moves by -γG/2 every
    step after the first (which moves by -γG)."""
    gamma, G = 0.3, np.array([1.0, -2.0])
    rule = ScheduleFreeSGD(lr=gamma, beta=0.9)
    xs, _ = ours(rule, lambda y: G, np.zeros(2), 20)
    steps = np.diff(xs, axis=0)
    assert close(steps[0], -gamma * G, 1e-14)
    assert close(steps[1:], np.tile(-gamma * G / 2, (19, 1)), 1e-12)


def test_polynomial_weights_as_the_authors_code():
    """r > 0: weights t^r γ_max^p with t from 1 (the authors' code's
    polynomial averaging; optax has no r)."""
    gamma, beta, r, p, T = 0.1, 0.8, 1.5, 2.0, STEPS
    x = z = X0_VECTOR.copy()
    total, xs = 0.0, [x]
    for t in range(1, T + 1):
        y = (1 - beta) * z + beta * x
        z = z - gamma * grad_vector(y)
        w = t**r * gamma**p
        total += w
        x = (1 - w / total) * x + (w / total) * z
        xs.append(x)
    ours_x, _ = ours(ScheduleFreeSGD(lr=gamma, beta=beta, r=r), grad_vector, X0_VECTOR)
    assert close(ours_x, np.array(xs))


# --- Against optax ---------------------------------------------------------------


def optax_run(jax, optax, tx, grad, x0, steps=STEPS):
    """optax's params are y; ``schedule_free_eval_params`` gives x."""
    jnp = jax.numpy
    params = jnp.asarray(x0, dtype=jnp.float64)
    state = tx.init(params)
    xs, zs, ys = [np.asarray(params)], [np.asarray(params)], [np.asarray(params)]
    for _ in range(steps):
        g = jnp.asarray(grad(np.asarray(params)))
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
        ys.append(np.asarray(params))
        xs.append(np.asarray(optax.contrib.schedule_free_eval_params(state, params)))
        zs.append(np.asarray(state.z))
    return np.array(xs), np.array(zs), np.array(ys)


def our_y(rule, xs, states):
    beta = getattr(rule, "beta", getattr(rule, "beta1", None))
    return np.array([(1 - beta) * s.z + beta * x for x, s in zip(xs, states, strict=True)])


@pytest.mark.parametrize("grad, x0", PROBLEMS, ids=["vector", "matrix"])
@pytest.mark.parametrize("beta, lam", [(0.9, 0.0), (0.5, 0.05)])
def test_sgd_against_optax(jax, optax, grad, x0, beta, lam):
    tx = optax.contrib.schedule_free_sgd(learning_rate=0.2, b1=beta, weight_decay=lam)
    rule = ScheduleFreeSGD(lr=0.2, beta=beta, weight_decay=lam)
    xs, states = ours(rule, grad, x0)
    theirs_x, theirs_z, theirs_y = optax_run(jax, optax, tx, grad, x0)
    assert close(xs, theirs_x)
    assert close([s.z for s in states], theirs_z)
    assert close(our_y(rule, xs, states), theirs_y)


@pytest.mark.parametrize("grad, x0", PROBLEMS, ids=["vector", "matrix"])
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_adamw_against_optax(jax, optax, grad, x0, lam):
    tx = optax.contrib.schedule_free_adamw(
        learning_rate=0.05, b1=0.9, b2=0.99, eps=1e-3, weight_decay=lam
    )
    rule = ScheduleFreeAdamW(lr=0.05, beta1=0.9, beta2=0.99, eps=1e-3, weight_decay=lam)
    xs, states = ours(rule, grad, x0)
    theirs_x, theirs_z, theirs_y = optax_run(jax, optax, tx, grad, x0)
    assert close(xs, theirs_x)
    assert close([s.z for s in states], theirs_z)
    assert close(our_y(rule, xs, states), theirs_y)


def test_optax_defaults(optax):
    """The defaults the docstrings call optax's."""
    import inspect

    sgd = inspect.signature(optax.contrib.schedule_free_sgd).parameters
    adamw = inspect.signature(optax.contrib.schedule_free_adamw).parameters
    assert sgd["learning_rate"].default == ScheduleFreeSGD().lr == 1.0
    assert sgd["b1"].default == ScheduleFreeSGD().beta == 0.9
    assert sgd["weight_lr_power"].default == ScheduleFreeSGD().weight_lr_power == 2.0
    rule = ScheduleFreeAdamW()
    assert adamw["learning_rate"].default == rule.lr == 0.0025
    assert (adamw["b1"].default, adamw["b2"].default) == (rule.beta1, rule.beta2)
    assert adamw["eps"].default == rule.eps == 1e-8
    assert adamw["weight_decay"].default == rule.weight_decay == 0.0
    assert adamw["weight_lr_power"].default == rule.weight_lr_power


def test_optax_warmup_is_a_step_behind_in_z(jax, optax):
    """optax's warm-up: its base SGD sees the schedule at count 0 (rate 0), its
    weights at count 1, so its first step leaves z at the start; ours (and the
    authors' code) moves z by γ/T_w on the first step."""
    warmup = 5
    tx = optax.contrib.schedule_free_sgd(learning_rate=0.2, warmup_steps=warmup)
    _, theirs_z, _ = optax_run(jax, optax, tx, grad_vector, X0_VECTOR, steps=3)
    _, states = ours(ScheduleFreeSGD(lr=0.2, warmup_steps=warmup), grad_vector, X0_VECTOR, 3)
    assert np.array_equal(theirs_z[1], X0_VECTOR)
    expected = X0_VECTOR - 0.2 / warmup * grad_vector(X0_VECTOR)
    assert close(states[1].z, expected)
    assert np.abs(theirs_z[3] - states[3].z).max() > 1e-3


# --- Structure: the two ends of β, and the momentum form ---------------------------


@pytest.mark.parametrize("lr", [0.1, sch.cosine_decay(0.3, 25)])
@pytest.mark.parametrize("grad, x0", PROBLEMS, ids=["vector", "matrix"])
def test_beta_zero_is_polyak_averaging_of_sgd(grad, x0, lr):
    """β = 0: the gradient at z, which takes SGD's steps; x is PolyakAverage's
    mean of SGD's iterates x_1, ..., x_t (start not included). The weights are
    uniform for a constant rate and also for a decaying schedule: they follow
    the largest rate so far, the first."""
    sf_x, sf_states = ours(ScheduleFreeSGD(lr=lr, beta=0.0), grad, x0)
    polyak = PolyakAverage(SGD(lr=lr))
    sgd_x, states = ours(polyak, grad, x0)
    assert close([s.z for s in sf_states], sgd_x, 1e-12)
    assert close(sf_x[1:], [s.average for s in states[1:]], 1e-12)


def test_beta_zero_with_warmup_is_not_the_plain_mean():
    """During a warm-up the weights grow as γ², and x is no longer the plain mean."""
    sf_x, _ = ours(ScheduleFreeSGD(lr=0.1, beta=0.0, warmup_steps=10), grad_vector, X0_VECTOR)
    ramp = sch.linear_warmup(0.1, 10)
    _, states = ours(PolyakAverage(SGD(lr=ramp)), grad_vector, X0_VECTOR)
    assert np.abs(sf_x[-1] - states[-1].average).max() > 1e-3


@pytest.mark.parametrize("grad, x0", PROBLEMS, ids=["vector", "matrix"])
def test_beta_one_is_primal_averaging(grad, x0):
    """β = 1: the gradient at the average x itself (primal averaging): z takes
    steps with gradients taken at x, x averages the z's."""
    gamma = 0.2
    x = z = np.array(x0, dtype=float)
    xs = [x]
    for t in range(1, STEPS + 1):
        z = z - gamma * grad(x)
        x = x + (z - x) / t
        xs.append(x)
    sf_x, _ = ours(ScheduleFreeSGD(lr=gamma, beta=1.0), grad, x0)
    assert close(sf_x, np.array(xs))


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.9, 1.0])
def test_momentum_form(beta):
    """Without x's history, Schedule-Free SGD (constant rate, uniform weights) is
    a momentum method: x_{k+1} = x_k + μ_k (x_k - x_{k-1}) - γ/(k+1) g(y_k) with
    μ_k = (k-1)/(k+1) and the look-ahead y_k = x_k + (1-β)(k-1)(x_k - x_{k-1})
    (derivations.schedule_free.momentum_form derives it)."""
    gamma = 0.2
    previous, x = None, X0_VECTOR.copy()
    xs = [x]
    for k in range(STEPS):
        if k == 0:
            new = x - gamma * grad_vector(x)
        else:
            y = x + (1 - beta) * (k - 1) * (x - previous)
            new = x + (k - 1) / (k + 1) * (x - previous) - gamma / (k + 1) * grad_vector(y)
        previous, x = x, new
        xs.append(x)
    sf_x, _ = ours(ScheduleFreeSGD(lr=gamma, beta=beta), grad_vector, X0_VECTOR)
    assert close(sf_x, np.array(xs), 1e-10)


# --- Properties ------------------------------------------------------------------

finite_floats = st.floats(-3.0, 3.0, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    beta=st.floats(0.0, 1.0),
    lr=st.floats(0.01, 1.0),
    warmup=st.integers(0, 8),
    gradients=st.lists(finite_floats, min_size=1, max_size=25),
)
def test_x_is_a_convex_combination_of_the_zs(beta, lr, warmup, gradients):
    """Each x is a weighted mean of z_1, ..., z_t: between their least and largest."""
    feed = iter(gradients)
    rule = ScheduleFreeSGD(lr=lr, beta=beta, warmup_steps=warmup)
    x, state = np.zeros(1), rule.init(np.zeros(1))
    zs = []
    for _ in gradients:
        x, state = rule.step(x, lambda _y: np.array([next(feed)]), state)
        zs.append(state.z[0])
        slack = 1e-12 * (1 + max(abs(v) for v in zs))
        assert min(zs) - slack <= x[0] <= max(zs) + slack


@settings(max_examples=25, deadline=None)
@given(
    shift=st.lists(finite_floats, min_size=4, max_size=4),
    beta=st.floats(0.0, 1.0),
    adam=st.booleans(),
)
def test_translation_equivariance(shift, beta, adam):
    """On f(x - s) from x0 + s, every x is moved by s: the rules use differences
    of points only (weight decay off)."""
    s = np.array(shift)
    if adam:
        rule = ScheduleFreeAdamW(lr=0.05, beta1=beta, warmup_steps=3)
    else:
        rule = ScheduleFreeSGD(lr=0.1, beta=beta, warmup_steps=3)
    base, _ = ours(rule, grad_vector, X0_VECTOR, 15)
    moved, _ = ours(rule, lambda x: grad_vector(x - s), X0_VECTOR + s, 15)
    assert np.allclose(moved - s, base, rtol=0, atol=1e-9 * (1 + np.abs(s).max()))


def test_first_step_lands_on_z():
    """The first weight is the whole sum: after one step x = z (the start is not
    averaged in), for both rules."""
    for rule in (ScheduleFreeSGD(lr=0.3, beta=0.7), ScheduleFreeAdamW(lr=0.1)):
        x, state = rule.step(X0_VECTOR, grad_vector, rule.init(X0_VECTOR))
        assert np.array_equal(x, state.z)


def test_zero_rate_schedule_does_not_divide_by_zero():
    """A schedule at 0 gives weight 0: x stays put (the authors' code's c = 0)."""
    rule = ScheduleFreeSGD(lr=lambda t: 0.0 if t < 2 else 0.1)
    xs, states = ours(rule, grad_vector, X0_VECTOR, 3)
    assert np.array_equal(xs[2], X0_VECTOR)
    assert states[2].weight_sum == 0.0 and np.array_equal(xs[3], states[3].z)


# --- Purity, state ---------------------------------------------------------------


@pytest.mark.parametrize(
    "rule", [ScheduleFreeSGD(lr=0.1, weight_decay=0.1), ScheduleFreeAdamW(weight_decay=0.1)]
)
@pytest.mark.parametrize("x0", [X0_VECTOR, X0_MATRIX], ids=["vector", "matrix"])
def test_pure_and_shaped(rule, x0):
    grad = grad_vector if x0.ndim == 1 else grad_matrix
    state = rule.init(x0)
    assert state.t == 0 and np.array_equal(state.z, x0) and state.z is not x0
    for name in rule.buffers:
        assert getattr(state, name).shape == x0.shape
    x, kept = x0.copy(), [np.copy(a) for a in state[1:]]
    new_x, new_state = rule.step(x, grad, state)
    assert np.array_equal(x, x0)
    for before, after in zip(kept, state[1:], strict=True):
        assert np.array_equal(before, after)
    assert new_x is not x and new_state.z is not state.z
    assert new_state.t == 1


def test_state_types_and_buffers():
    assert isinstance(ScheduleFreeSGD().init(X0_VECTOR), ScheduleFreeState)
    assert isinstance(ScheduleFreeAdamW().init(X0_VECTOR), ScheduleFreeAdamWState)
    assert ScheduleFreeSGD().buffers == ("z",)
    assert ScheduleFreeAdamW().buffers == ("z", "v")


# --- Bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ScheduleFreeSGD(beta=-0.1), r"beta must lie in \[0, 1\]"),
        (lambda: ScheduleFreeSGD(beta=1.5), r"beta must lie in \[0, 1\]"),
        (lambda: ScheduleFreeSGD(lr=0.0), r"lr must lie in \(0, inf\]"),
        (lambda: ScheduleFreeSGD(lr=-1.0), r"lr must lie in \(0, inf\]"),
        (lambda: ScheduleFreeSGD(lr="fast"), "lr must be a number"),
        (lambda: ScheduleFreeSGD(warmup_steps=-1), "warmup_steps must be at least 0"),
        (lambda: ScheduleFreeSGD(warmup_steps=2.5), "warmup_steps must be a whole number"),
        (lambda: ScheduleFreeSGD(weight_lr_power=-1.0), "weight_lr_power must lie in"),
        (lambda: ScheduleFreeSGD(r=-0.5), r"r must lie in \[0, inf\]"),
        (lambda: ScheduleFreeSGD(weight_decay=-0.1), "weight_decay must lie in"),
        (lambda: ScheduleFreeSGD(beta=float("nan")), "beta must be finite"),
        (lambda: ScheduleFreeAdamW(beta1=1.01), r"beta1 must lie in \[0, 1\]"),
        (lambda: ScheduleFreeAdamW(beta2=1.0), r"beta2 must lie in \[0, 1\)"),
        (lambda: ScheduleFreeAdamW(eps=0.0), r"eps must lie in \(0, inf\]"),
        (lambda: ScheduleFreeAdamW(lr=0.0), r"lr must lie in \(0, inf\]"),
        (lambda: ScheduleFreeAdamW(warmup_steps=-3), "warmup_steps must be at least 0"),
        (lambda: ScheduleFreeAdamW(bias_correction="m"), "bias_correction must be 'v' or"),
    ],
)
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_state_and_gradients():
    rule = ScheduleFreeAdamW()
    with pytest.raises(TypeError, match="takes the state made by ScheduleFreeAdamW.init"):
        rule.step(X0_VECTOR, grad_vector, ScheduleFreeSGD().init(X0_VECTOR))
    with pytest.raises(ValueError, match="the state's z has shape"):
        rule.step(X0_VECTOR, grad_vector, rule.init(X0_MATRIX))
    with pytest.raises(ValueError, match="grad_fn returned an array of shape"):
        rule.step(X0_VECTOR, lambda y: np.zeros(2), rule.init(X0_VECTOR))
    with pytest.raises(FloatingPointError, match="gradient at step 0 is not finite"):
        rule.step(X0_VECTOR, lambda y: y * np.nan, rule.init(X0_VECTOR))
    with pytest.raises(ValueError, match="x0 must be finite"):
        rule.init([1.0, np.inf])


def test_bad_schedule_state():
    with pytest.raises(ValueError, match="the lr schedule at step 0"):
        rule = ScheduleFreeSGD(lr=lambda t: -1.0)
        rule.step(X0_VECTOR, grad_vector, rule.init(X0_VECTOR))


# --- The chapter's network comparison: the rates it uses are the grid's best -------


def test_page_rates_are_the_best_of_the_grid():
    from optnotes.large_models import digits
    from optnotes.large_models import schedule_free as page

    for label, make in page.makers().items():
        best, scores = digits.tune(make, page.GRID, page.STEPS, page.SEEDS, every=page.STEPS)
        assert page.RATES[label] == best, (label, scores)
        inner = page.GRID[1:-1]
        assert best in inner, f"{label}: the best rate {best} is at the grid's end"


def test_page_z_strays_further_as_beta_grows():
    """The slider's claim, on its run (seed 0, 200 steps, γ = 0.05, σ = 2):
    z's spread over the last 100 steps grows with β; the reference of the
    paper reproduces the page's helper."""
    from optnotes.large_models import schedule_free as page

    spreads = []
    for beta in (0.0, 0.5, 0.9, 1.0):
        grad = page.noisy(page.RAVINE.grad, page.PATHS_NOISE, seed=0)
        _, zs = paper_sgd(grad, page.RAVINE.start, page.PATHS_LR, beta, page.PATHS_STEPS)
        tail = zs[-100:]
        spread = np.sqrt(np.mean(np.sum((tail - tail.mean(axis=0)) ** 2, axis=1)))
        assert math.isclose(page.z_spread(beta)[0], spread, rel_tol=1e-9)
        spreads.append(spread)
    assert all(a < b for a, b in zip(spreads[:-1], spreads[1:], strict=True))


# --- The derivations (simplify-to-zero) ---------------------------------------------


def test_derivations():
    import sympy as sp

    from optnotes.derivations import schedule_free as d

    zero = lambda e: sp.simplify(e) == 0  # noqa: E731
    polyak = d.polyak_end()
    assert polyak["y"] == sp.Symbol("z") and zero(polyak["z"]) and zero(polyak["x"])
    primal = d.primal_end()
    assert primal["y"] == sp.Symbol("x") and zero(primal["ball"])
    momentum = d.momentum_form()
    assert zero(momentum["gap"]) and zero(momentum["z_gap"]) and zero(momentum["y"])
    weights = d.weights()
    assert all(zero(e) for e in weights["gap"])
    assert weights["warmup"] == tuple(sp.Rational(i * i, 30) for i in range(1, 5))
    assert weights["uniform"] == 1 / sp.Symbol("t")
    update = d.authors_update()
    assert zero(update["gap"])
    linear = d.gradient_weights()
    assert linear["weights"] == tuple(sp.Rational(4 - k, 4) for k in range(4))
    assert all(zero(e) for e in linear["gap"])
    assert zero(linear["constant"] + d.gamma * sp.Symbol("G", real=True) / 2)


def test_derivation_numbers_match_the_rule():
    """The warm-up weights 1/30, 2/15, 3/10, 8/15 of the derivation are the
    rule's: gradients chosen so that z_t is the t-th unit vector (β = 0, the
    gradient at z) make x_4 the vector of the weights."""
    warmup, eye = 4, np.eye(4)
    rule = ScheduleFreeSGD(lr=1.0, beta=0.0, warmup_steps=warmup)
    x, state = np.zeros(4), rule.init(np.zeros(4))
    for t in range(4):
        gamma_t = (t + 1) / warmup
        x, state = rule.step(x, lambda z, t=t, r=gamma_t: (z - eye[t]) / r, state)
    assert np.allclose(x, [1 / 30, 2 / 15, 3 / 10, 8 / 15], rtol=1e-12, atol=0)
