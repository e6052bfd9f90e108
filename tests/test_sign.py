"""Sign methods: signSGD, Signum and Lion against their papers and optax, their
properties, their derivations and the numbers of the chapter "Sign methods"."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import optnotes as on
from optnotes.derivations import sign as derivations
from optnotes.large_models import sign as chapter
from optnotes.rules import Adam, AdamW
from optnotes.rules.sign import Lion, SignSGD, SignState, Signum
from tests.test_frameworks import assert_same, optax_path

STEPS = 30
ROSENBROCK = on.problems.Rosenbrock()
MATRIX = on.problems.MatrixLeastSquares(shape=(5, 3), condition=(10.0, 5.0), seed=1)


def path_of(rule, grad_fn, x0, steps=STEPS):
    """Every iterate of an optnotes rule."""
    return on.run(rule, grad_fn, x0, steps)


# --- The papers' algorithms, written out (steps counted from 1) --------------------


def sign_of(u: float) -> float:
    return 1.0 if u > 0 else (-1.0 if u < 0 else 0.0)


def signum_paper(grad_fn, x0, delta, beta, decay=0.0, steps=STEPS):
    """Bernstein et al. 2018, Signum (signSGD when beta = 0), coordinate by
    coordinate; the decay as MXNet's Signum: x <- (1 - delta decay) x - delta sign(m)."""
    x = np.array(x0, dtype=float)
    m = np.zeros_like(x)
    xs = [x.copy()]
    for _k in range(1, steps + 1):
        g = grad_fn(x.copy())
        new = np.empty_like(x)
        for i in np.ndindex(x.shape):
            m[i] = beta * m[i] + (1 - beta) * g[i]
            new[i] = (1 - delta * decay) * x[i] - delta * sign_of(m[i])
        x = new
        xs.append(x.copy())
    return np.array(xs)


def lion_paper(grad_fn, theta0, eta, beta1, beta2, lam, steps=STEPS):
    """Chen et al. 2023, Lion as the paper writes it, coordinate by coordinate."""
    theta = np.array(theta0, dtype=float)
    m = np.zeros_like(theta)
    thetas = [theta.copy()]
    for _t in range(1, steps + 1):
        g = grad_fn(theta.copy())
        new = np.empty_like(theta)
        for i in np.ndindex(theta.shape):
            c = beta1 * m[i] + (1 - beta1) * g[i]
            new[i] = theta[i] - eta * (sign_of(c) + lam * theta[i])
            m[i] = beta2 * m[i] + (1 - beta2) * g[i]
        theta = new
        thetas.append(theta.copy())
    return np.array(thetas)


CASES = [(ROSENBROCK.grad, np.array(ROSENBROCK.start)), (MATRIX.grad, MATRIX.start)]


@pytest.mark.parametrize("grad_fn, x0", CASES, ids=["vector", "matrix"])
@pytest.mark.parametrize(
    "beta, decay", [(0.0, 0.0), (0.9, 0.0), (0.5, 0.1)], ids=["signSGD", "Signum", "decayed"]
)
def test_signsgd_as_the_paper(grad_fn, x0, beta, decay):
    if beta:
        rule = Signum(lr=0.01, beta=beta, weight_decay=decay)
    else:
        rule = SignSGD(lr=0.01, weight_decay=decay)
    ours = path_of(rule, grad_fn, x0)
    assert_same(ours, signum_paper(grad_fn, x0, 0.01, beta, decay), "SignSGD")


@pytest.mark.parametrize("grad_fn, x0", CASES, ids=["vector", "matrix"])
@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_lion_as_the_paper(grad_fn, x0, lam):
    ours = path_of(Lion(lr=0.01, beta1=0.9, beta2=0.99, weight_decay=lam), grad_fn, x0)
    assert_same(ours, lion_paper(grad_fn, x0, 0.01, 0.9, 0.99, lam), "Lion")


def test_defaults():
    lion, sign, signum = Lion(), SignSGD(), Signum()
    assert (lion.lr, lion.beta1, lion.beta2, lion.weight_decay) == (1e-4, 0.9, 0.99, 0.0)
    assert (sign.lr, sign.weight_decay) == (1e-2, 0.0)
    assert (signum.lr, signum.beta, signum.weight_decay) == (1e-2, 0.9, 0.0)
    assert sign.buffers == () and signum.buffers == ("m",)


# --- optax ---------------------------------------------------------------------------


def optax_matrix_path(jax, optax, tx, grad_fn, x0, steps=STEPS):
    params = jax.numpy.asarray(x0, dtype=jax.numpy.float64)
    state = tx.init(params)
    path = [np.asarray(params)]
    for _ in range(steps):
        g = jax.numpy.asarray(grad_fn(np.asarray(params)))
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
        path.append(np.asarray(params))
    return np.array(path)


@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_lion_as_optax(jax, optax, lam):
    """optax.lion(learning_rate, b1, b2, weight_decay): decay multiplied by the rate."""
    tx = optax.lion(learning_rate=0.01, b1=0.9, b2=0.99, weight_decay=lam)
    rule = Lion(lr=0.01, weight_decay=lam)
    theirs, _ = optax_path(jax, optax, tx, ROSENBROCK, STEPS)
    assert_same(theirs, path_of(rule, ROSENBROCK.grad, ROSENBROCK.start), "optax.lion")
    theirs = optax_matrix_path(jax, optax, tx, MATRIX.grad, MATRIX.start)
    assert_same(theirs, path_of(rule, MATRIX.grad, MATRIX.start), "optax.lion (matrix)")


def test_sign_sgd_and_signum_as_optax(jax, optax):
    for tx, rule in [
        (optax.sign_sgd(0.01), SignSGD(lr=0.01)),
        (optax.signum(0.01, beta=0.9), Signum(lr=0.01, beta=0.9)),
    ]:
        theirs, _ = optax_path(jax, optax, tx, ROSENBROCK, STEPS)
        assert_same(theirs, path_of(rule, ROSENBROCK.grad, ROSENBROCK.start), "optax sign")
        theirs = optax_matrix_path(jax, optax, tx, MATRIX.grad, MATRIX.start)
        assert_same(theirs, path_of(rule, MATRIX.grad, MATRIX.start), "optax sign (matrix)")


def test_optax_defaults(optax):
    import inspect

    lion = inspect.signature(optax.lion).parameters
    assert (lion["b1"].default, lion["b2"].default, lion["weight_decay"].default) == (
        0.9,
        0.99,
        1e-3,
    )
    assert inspect.signature(optax.signum).parameters["beta"].default == 0.9


# --- Properties -------------------------------------------------------------------------

shapes = st.sampled_from([(1,), (3,), (2, 3), (4, 1)])
finite = st.floats(-10, 10, allow_nan=False, width=64)


@st.composite
def arrays(draw, shape=None):
    shape = shape or draw(shapes)
    values = draw(st.lists(finite, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return np.array(values).reshape(shape)


def with_zeros(x: np.ndarray, mask) -> np.ndarray:
    return np.where(mask, 0.0, x)


@settings(max_examples=60, deadline=None)
@given(st.data(), st.floats(1e-4, 1.0), st.floats(0.0, 0.99))
def test_fixed_magnitude(data, lr, beta):
    """|Δx| = α in every coordinate with a non-zero sign, 0 elsewhere (λ = 0)."""
    x = data.draw(arrays())
    g = with_zeros(data.draw(arrays(x.shape)), data.draw(arrays(x.shape)) > 5)
    m0 = data.draw(arrays(x.shape))
    for rule, direction in [
        (Signum(lr=lr, beta=beta), beta * m0 + (1 - beta) * g),
        (Lion(lr=lr, beta1=beta), beta * m0 + (1 - beta) * g),
    ]:
        new, _ = rule.step(x, lambda _x, g=g: g, SignState(3, m0))
        moved = np.abs(new - x)
        nonzero = direction != 0
        np.testing.assert_allclose(moved[nonzero], lr, rtol=1e-12, atol=1e-14 * np.abs(x).max())
        assert np.all(moved[~nonzero] == 0)


@settings(max_examples=40, deadline=None)
@given(st.data(), st.floats(1e-3, 1.0), st.floats(0.0, 1.0))
def test_purity_and_state_shapes(data, lr, lam):
    x = data.draw(arrays())
    g = data.draw(arrays(x.shape))
    for rule in (Signum(lr=lr, beta=0.9, weight_decay=lam), Lion(lr=lr, weight_decay=lam)):
        state = rule.init(x)
        assert state.t == 0 and state.m.shape == x.shape and not state.m.any()
        x_copy, g_copy, m_copy = x.copy(), g.copy(), state.m.copy()
        new, new_state = rule.step(x, lambda _x: g, state)
        assert np.array_equal(x, x_copy) and np.array_equal(g, g_copy)
        assert np.array_equal(state.m, m_copy)
        assert new is not x and new_state.m is not state.m
        assert new.shape == x.shape and new_state.m.shape == x.shape and new_state.t == 1
        assert rule.buffers == ("m",)


@settings(max_examples=30, deadline=None)
@given(st.integers(-20, 20), st.floats(0.0, 0.99), st.sampled_from(["sign", "lion"]))
def test_scale_invariance_exact(power, beta, kind):
    """Gradients times c = 2^k: the same path, bit for bit (scaling by 2^k is exact)."""
    c = 2.0**power
    rule = Signum(lr=0.01, beta=beta) if kind == "sign" else Lion(lr=0.01, beta1=beta)
    plain = path_of(rule, MATRIX.grad, MATRIX.start)
    scaled = path_of(rule, lambda W: c * MATRIX.grad(W), MATRIX.start)
    assert np.array_equal(plain, scaled)


@pytest.mark.parametrize("c", [1e-6, 0.37, 3.0, 1e5])
def test_scale_invariance(c):
    for rule in (Signum(lr=0.01, beta=0.9), SignSGD(lr=0.01), Lion(lr=0.01, weight_decay=0.1)):
        plain = path_of(rule, ROSENBROCK.grad, ROSENBROCK.start, 50)
        scaled = path_of(rule, lambda x: c * ROSENBROCK.grad(x), ROSENBROCK.start, 50)
        np.testing.assert_allclose(scaled, plain, rtol=1e-12)
    # gradient descent's path does change
    sgd = path_of(on.SGD(lr=1e-4), ROSENBROCK.grad, ROSENBROCK.start, 5)
    sgd_scaled = path_of(on.SGD(lr=1e-4), lambda x: 3.0 * ROSENBROCK.grad(x), ROSENBROCK.start, 5)
    assert not np.allclose(sgd, sgd_scaled)


def test_sign_of_zero_is_zero():
    x = np.array([1.0, 2.0, 3.0])
    g = np.array([0.0, 5.0, -1e-300])
    for rule in (SignSGD(lr=0.5), Lion(lr=0.5)):
        new, _ = rule.step(x, lambda _x: g, rule.init(x))
        np.testing.assert_array_equal(new, [1.0, 1.5, 3.5])


def test_adam_without_memory_is_signsgd():
    """Adam with beta1 = beta2 = 0 (and an epsilon too small to matter) takes the
    signSGD path."""
    adam = Adam(lr=0.01, beta1=0.0, beta2=0.0, eps=1e-300)
    np.testing.assert_allclose(
        path_of(adam, ROSENBROCK.grad, ROSENBROCK.start, 50),
        path_of(SignSGD(lr=0.01), ROSENBROCK.grad, ROSENBROCK.start, 50),
        rtol=1e-14,
    )


def test_decay_alone_shrinks_by_one_minus_lr_lambda():
    x0 = np.array([1.0, -2.0])
    for rule in (Lion(lr=0.01, weight_decay=0.3), SignSGD(lr=0.01, weight_decay=0.3)):
        xs = path_of(rule, lambda x: np.zeros_like(x), x0, 100)
        np.testing.assert_allclose(xs[-1], x0 * (1 - 0.01 * 0.3) ** 100, rtol=1e-12)


# --- Bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SignSGD(lr=-1.0), r"lr must lie in \(0"),
        (lambda: SignSGD(lr=0.0), r"lr must lie in \(0"),
        (lambda: Signum(beta=1.0), r"beta must lie in \[0, 1\)"),
        (lambda: SignSGD(weight_decay=-0.1), r"weight_decay must lie in \[0"),
        (lambda: SignSGD(lr=float("nan")), "lr must be finite"),
        (lambda: Lion(beta1=-0.1), r"beta1 must lie in \[0, 1\)"),
        (lambda: Lion(beta2=1.5), r"beta2 must lie in \[0, 1\)"),
        (lambda: Lion(weight_decay="big"), "weight_decay must be a number"),
        (lambda: Lion(lr=None), "lr must be a number"),
    ],
)
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("Rule", [Signum, Lion])
def test_bad_steps(Rule):
    rule, x = Rule(), np.zeros((2, 3))
    with pytest.raises(FloatingPointError, match="not finite"):
        rule.step(x, lambda x: np.full_like(x, np.nan), rule.init(x))
    with pytest.raises(ValueError, match=r"state's m has shape \(3,\)"):
        rule.step(x, lambda x: x, rule.init(np.zeros(3)))
    with pytest.raises(TypeError, match="takes the state made by"):
        rule.step(x, lambda x: x, on.rules.AdamState(0, x, x))
    with pytest.raises(ValueError, match=r"shape \(3,\) at step 0"):
        rule.step(x, lambda x: np.zeros(3), rule.init(x))
    with pytest.raises(TypeError, match="grad_fn must be a function"):
        rule.step(x, None, rule.init(x))


def test_schedule_rate():
    rule = Lion(lr=lambda t: 0.1 / (t + 1))
    xs = path_of(rule, lambda x: np.ones_like(x), np.zeros(2), 3)
    np.testing.assert_allclose(xs[-1], -np.array([1, 1]) * (0.1 + 0.05 + 0.1 / 3))
    bad = SignSGD(lr=lambda t: -1.0)
    with pytest.raises(ValueError, match="the lr schedule at step 0"):
        bad.step(np.zeros(2), lambda x: x, bad.init(np.zeros(2)))


# --- Derivations, against closed forms written here ----------------------------------------


def is_zero(expr) -> bool:
    return sp.simplify(expr) == 0


def test_adam_as_sign_derivation():
    d = derivations.adam_as_sign()
    g, alpha = derivations.g, derivations.alpha
    assert is_zero(d["m_hat"] - g) and is_zero(d["v_hat"] - g**2)
    assert is_zero(d["step"] - alpha * sp.sign(g))
    assert d["gap"] == 0
    for value in (-3.5, 2e-7, 10):  # the closed form at numbers
        assert float(d["step"].subs({g: value, alpha: 1})) == np.sign(value)


def test_sign_norms_derivation():
    for dim in (1, 4, 7):
        d = derivations.sign_norms(dim)
        assert is_zero(d["l2"] - sp.sqrt(dim)) and d["linf"] == 1
        assert d["scaled"] == 0 and is_zero(d["gd_scaled"] - derivations.c)
    g = np.array([3.0, -1e-8, 2e5, -7.0, 0.0])
    assert np.linalg.norm(np.sign(g)) == np.sqrt(4) and np.abs(np.sign(g)).max() == 1


def test_update_rms_derivation():
    d = derivations.update_rms()
    b = sp.Symbol("beta_1", positive=True)
    mu, sigma = sp.symbols("mu sigma", nonnegative=True)
    assert is_zero(d["weights"] - (1 - b) / (1 + b))
    closed = 1 - 2 * b * sigma**2 / ((1 + b) * (mu**2 + sigma**2))
    assert is_zero(d["ratio2"] - closed)
    assert is_zero(d["below_one"] + 2 * b * sigma**2 / ((1 + b) * (mu**2 + sigma**2)))
    assert is_zero(d["ratio2"].subs(sigma, 0) - 1)  # RMS 1 with no noise
    # "zero only if sigma = 0" needs beta1 > 0: with beta1 = 0 the ratio is 1 always
    assert is_zero(d["ratio2"].subs(b, 0) - 1)
    assert "beta_1 > 0" in d.latex("below_one") or "beta_1 > 0" in d.latex()
    assert is_zero(d["noise_only_default"] - sp.sqrt(sp.Rational(1, 19)))
    assert d["lion"] == 1


def test_update_rms_measured_on_noise():
    """Adam on pure noise: the RMS of m / sqrt(v) near sqrt((1 - b1) / (1 + b1));
    Lion's exactly 1. (The formula is a ratio of means: near, not equal.)"""
    x0 = np.zeros(2000)
    grad = chapter.noisy(lambda x: np.zeros_like(x), 1.0, seed=3)
    adam = path_of(Adam(lr=1.0, beta2=0.999), grad, x0, 600)
    rms = chapter.update_rms(adam, 1.0)[-100:].mean()
    assert rms == pytest.approx(np.sqrt(0.1 / 1.9), rel=0.1)
    lion = path_of(Lion(lr=1.0), chapter.noisy(lambda x: np.zeros_like(x), 1.0), x0, 50)
    np.testing.assert_allclose(chapter.update_rms(lion, 1.0), 1.0, rtol=1e-12)


def test_constant_gradient_adam_rms_is_one():
    adam = path_of(Adam(lr=0.1, eps=1e-12), lambda x: np.array([2.0, -3.0]), np.zeros(2), 20)
    np.testing.assert_allclose(chapter.update_rms(adam, 0.1), 1.0, rtol=1e-9)


def test_decay_per_step_derivation():
    d = derivations.decay_per_step()
    alpha, lam = sp.symbols("alpha lambda", positive=True)
    assert is_zero(d["factor"] - (1 - alpha * lam))
    assert d["same_product"] == 0
    assert is_zero(d["half_life_small"] - sp.log(2) / (alpha * lam))
    half = float(d["half_life"].subs({alpha: 1e-3, lam: 0.1}))
    assert 0.5 * (1 - 1e-4) ** half == pytest.approx(0.25, rel=1e-9)


# --- The chapter's numbers ------------------------------------------------------------------


def test_update_rms_by_hand():
    xs = np.array([[0.0, 0.0], [0.1, -0.1], [0.1, 0.2]])
    np.testing.assert_allclose(chapter.update_rms(xs, 0.1), [1.0, np.sqrt(4.5)])


def test_noisy_is_seeded_and_adds_the_gradient():
    f, h = chapter.noisy(np.negative, 0.5, seed=2), chapter.noisy(np.negative, 0.5, seed=2)
    a = [f(np.ones(3)) for _ in range(300)]
    b = [h(np.ones(3)) for _ in range(300)]
    assert np.array_equal(a, b)
    draws = np.random.default_rng(2).normal(size=(256, 3))
    np.testing.assert_array_equal(a[1], -1 + 0.5 * draws[1])
    with pytest.raises(ValueError, match="noise must lie"):
        chapter.noisy(np.negative, -1.0)


@pytest.mark.parametrize("lr", [0.01, 0.1])
def test_signsgd_ends_within_lr_of_the_minimum(lr):
    """On the axis-aligned ravine every coordinate of signSGD ends in a cycle within
    α of the minimum, and does not settle."""
    xs = on.run(SignSGD(lr=lr), chapter.RAVINE.grad, chapter.RAVINE.start, 2000)
    assert np.abs(xs[-50:]).max() <= lr * (1 + 1e-9)
    assert np.abs(np.diff(xs[-50:], axis=0)).max() == pytest.approx(lr)
    assert chapter.distance_at_the_end(xs, (0.0, 0.0)) <= np.sqrt(2) * lr * (1 + 1e-9)


def test_network_update_rms():
    net = on.problems.deep_digits_network()
    from optnotes import data as datasets

    data = datasets.digits()
    lion = chapter.network_update_rms(Lion(lr=1e-3), net, data, 60)
    X = data[0]
    # coordinates whose gradient is exactly zero (pixels that are 0 in every image)
    # do not move: the RMS is the square root of the share that do (once every
    # pixel that is ever non-zero has been in a minibatch)
    zero_pixels = np.all(X == 0, axis=0).sum()
    moving = 1 - zero_pixels * 64 / net.n_params
    np.testing.assert_allclose(lion[-10:], np.sqrt(moving), rtol=1e-12)
    assert np.all(lion <= 1)
    adamw = chapter.network_update_rms(AdamW(lr=1e-3, weight_decay=0.0), net, data, 60)
    assert adamw[-10:].mean() < 0.6


def test_experiments_draw():
    for name, build in chapter.EXPERIMENTS.items():
        experiment = build()
        assert experiment.static and len(experiment.static) == 1, name
        for key in experiment.static:
            control = experiment.controls[key]
            for value in (control.low, control.high):
                values = {k: c.default for k, c in experiment.controls.items()}
                values[key] = value
                assert experiment.draw(**values).png()[:4] == b"\x89PNG"


# --- Adam's step length against Lion's (the chapter's section on AdamW) ---------------


def adam_paper(grad_fn, theta0, alpha, steps, beta1=0.9, beta2=0.999, eps=1e-8):
    """Kingma & Ba 2015, Algorithm 1 (t from 1); also returns, per step, the RMS
    over the coordinates of g_t / sqrt(v_hat_t)."""
    theta = np.array(theta0, dtype=float)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    thetas, scale = [theta.copy()], []
    for t in range(1, steps + 1):
        g = grad_fn(theta.copy())
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        theta = theta - alpha * m_hat / (np.sqrt(v_hat) + eps)
        thetas.append(theta.copy())
        with np.errstate(invalid="ignore"):  # 0 / 0 while every gradient is 0
            scale.append(np.sqrt(np.mean(g * g / v_hat)))
    return np.array(thetas), np.array(scale)


def test_adam_step_after_zeros_exceeds_the_rate():
    """A gradient of 1 after 2000 zeros: Adam moves by more than alpha, below the
    (1 - b1)/sqrt(1 - b2) of Kingma & Ba's Section 2.1."""
    calls = iter([0.0] * 2000 + [1.0])
    xs, _ = adam_paper(lambda x: np.full_like(x, next(calls)), np.zeros(1), 1.0, 2001)
    step = abs(xs[-1, 0] - xs[-2, 0])
    m_hat, v_hat = 0.1 / (1 - 0.9**2001), 0.001 / (1 - 0.999**2001)
    assert step == pytest.approx(m_hat / (np.sqrt(v_hat) + 1e-8), rel=1e-12)
    assert 2.9 < step < 0.1 / np.sqrt(0.001)
    ours, _ = Adam(lr=1.0).step(
        np.zeros(1), lambda x: np.ones(1), on.rules.AdamState(2000, np.zeros(1), np.zeros(1))
    )
    assert abs(ours[0]) == pytest.approx(step, rel=1e-12)


def test_matrix_table_adam_memory():
    """The chapter's matrix table: Adam's step is shortest without noise and grows
    with sigma (v_hat remembers the early, larger gradients); Lion's is alpha;
    at sigma = 1 the ratio is within Chen et al.'s 3-10."""
    matrix = on.problems.MatrixLeastSquares(shape=(8, 6), condition=(10.0, 10.0))
    adam_rms, scales = [], []
    for noise in (0.0, 1.0, 3.0):
        xs, scale = adam_paper(matrix.oracle(noise), matrix.start, 0.01, 400)
        steps = np.diff(xs.reshape(401, -1), axis=0)
        adam_rms.append(np.sqrt(np.mean(steps**2, axis=1))[200:].mean() / 0.01)
        scales.append(scale[200:].mean())
        ours, our_scale = chapter.adam_gradient_scale(
            Adam(lr=0.01), matrix.oracle(noise), matrix.start, 400
        )
        np.testing.assert_allclose(ours, xs, rtol=1e-9)
        np.testing.assert_allclose(our_scale, scale, rtol=1e-9)
        if noise == 0.0:
            shrink = np.linalg.norm(matrix.grad(xs[0])) / np.linalg.norm(matrix.grad(xs[200]))
            assert shrink > 5  # the run is far from stationary
            assert adam_rms[0] < 0.2 and scale[200:].mean() < 0.2
    assert adam_rms[0] < adam_rms[1] < adam_rms[2] < 1
    assert scales[0] < scales[1] < scales[2]
    lion = lion_paper(matrix.oracle(1.0), matrix.start, 0.01, 0.9, 0.99, 0.0, steps=400)
    lion_steps = np.diff(lion.reshape(401, -1), axis=0)
    np.testing.assert_allclose(np.abs(lion_steps), 0.01, rtol=1e-9)
    assert 3 < 1.0 / adam_rms[1] < 10


def test_lion_on_the_ravine():
    """Lion ends within sqrt(2) alpha at alpha = 0.01 and 0.1, beyond it at 0.3."""
    for lr, within in ((0.01, True), (0.1, True), (0.3, False)):
        xs = lion_paper(chapter.RAVINE.grad, chapter.RAVINE.start, lr, 0.9, 0.99, 0.0, 1000)
        end = np.linalg.norm(xs[-50:], axis=1).max()
        assert (end <= np.sqrt(2) * lr * (1 + 1e-9)) == within, lr
