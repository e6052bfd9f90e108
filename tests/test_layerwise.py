"""LARS and LAMB: against the papers' algorithms written out here, against optax,
their zero-layer conventions, properties, bad input, and the chapter's claims."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import optnotes as on
from optnotes import problems, rules
from optnotes.layers import ByLayer
from optnotes.rules.layerwise import LAMB, LARS, LARSState
from tests.test_frameworks import RTOL, assert_same

STEPS = 40


# --- the papers' algorithms, in their own letters, t counted from 1 -----------------


def paper_lars(w0, grad, steps, gamma, m, eta, beta):
    """You, Gitman & Ginsburg 2017, Algorithm 1 (constant global rate gamma)."""
    w, v = np.array(w0, dtype=float), np.zeros_like(w0, dtype=float)
    path = [w.copy()]
    for _t in range(1, steps + 1):
        g = grad(w)
        local = eta * np.linalg.norm(w) / (np.linalg.norm(g) + beta * np.linalg.norm(w))
        v = m * v + gamma * local * (g + beta * w)
        w = w - v
        path.append(w.copy())
    return np.array(path)


def paper_lamb(x0, grad, steps, eta, beta1, beta2, eps, lam):
    """You et al. 2020, Algorithm 2, phi the identity."""
    x = np.array(x0, dtype=float)
    m, v = np.zeros_like(x), np.zeros_like(x)
    path = [x.copy()]
    for t in range(1, steps + 1):
        g = grad(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_corrected = m / (1 - beta1**t)
        v_corrected = v / (1 - beta2**t)
        r = m_corrected / (np.sqrt(v_corrected) + eps)
        direction = r + lam * x
        x = x - eta * np.linalg.norm(x) / np.linalg.norm(direction) * direction
        path.append(x.copy())
    return np.array(path)


def ours(rule, grad, x0, steps=STEPS):
    """Every iterate of an optnotes rule."""
    return on.run(rule, grad, x0, steps)


def vector_problem():
    """A 5-dimensional quadratic with curvatures 1 to 30 and a non-zero minimum."""
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    A = (Q * np.geomspace(1, 30, 5)) @ Q.T
    b = rng.normal(size=5)
    return (lambda x: A @ x - b), rng.normal(size=5)


def matrix_problem():
    p = problems.MatrixLeastSquares((6, 4), condition=(10.0, 5.0), seed=2)
    return p.grad, np.random.default_rng(4).normal(size=(6, 4))


CASES = {"vector": vector_problem, "matrix": matrix_problem}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("beta", [0.0, 0.05])
def test_lars_is_the_papers_algorithm(case, beta):
    grad, x0 = CASES[case]()
    rule = LARS(lr=2.0, mu=0.9, trust_coefficient=0.02, weight_decay=beta)
    theirs = paper_lars(x0, grad, STEPS, gamma=2.0, m=0.9, eta=0.02, beta=beta)
    assert_same(
        ours(rule, grad, x0).reshape(STEPS + 1, -1),
        theirs.reshape(STEPS + 1, -1),
        f"LARS on a {case}",
    )


@pytest.mark.parametrize("case", CASES)
def test_lamb_is_the_papers_algorithm(case):
    grad, x0 = CASES[case]()
    rule = LAMB(lr=0.02, beta1=0.9, beta2=0.99, eps=1e-6, weight_decay=0.01)
    theirs = paper_lamb(x0, grad, STEPS, eta=0.02, beta1=0.9, beta2=0.99, eps=1e-6, lam=0.01)
    assert_same(
        ours(rule, grad, x0).reshape(STEPS + 1, -1),
        theirs.reshape(STEPS + 1, -1),
        f"LAMB on a {case}",
    )


# --- optax ------------------------------------------------------------------------


def optax_run(jax, optax, tx, grad, x0, steps=STEPS):
    x = jax.numpy.asarray(x0, dtype=jax.numpy.float64)
    state = tx.init(x)
    path = [np.asarray(x)]
    for _ in range(steps):
        updates, state = tx.update(jax.numpy.asarray(grad(np.asarray(x))), state, x)
        x = optax.apply_updates(x, updates)
        path.append(np.asarray(x))
    return np.array(path)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("nesterov", [False, True])
def test_lars_ratio_update_is_optax_lars(jax, optax, case, nesterov):
    grad, x0 = CASES[case]()
    hyper = dict(weight_decay=0.05, trust_coefficient=0.02, eps=1e-4, nesterov=nesterov)
    mine = ours(LARS(lr=2.0, mu=0.8, ratio="update", **hyper), grad, x0)
    theirs = optax_run(jax, optax, optax.lars(2.0, momentum=0.8, **hyper), grad, x0)
    assert_same(mine, theirs, f"LARS(ratio='update') against optax.lars on a {case}", RTOL)


def test_lars_paper_and_optax_ratios_agree_without_decay_only(jax, optax):
    grad, x0 = matrix_problem()
    for beta, same in ((0.0, True), (0.05, False)):
        mine = ours(LARS(lr=2.0, trust_coefficient=0.02, weight_decay=beta), grad, x0)
        theirs = optax_run(
            jax, optax, optax.lars(2.0, weight_decay=beta, trust_coefficient=0.02), grad, x0
        )
        gap = np.abs(mine - theirs).max() / np.abs(theirs).max()
        assert (gap < RTOL) == same, (beta, gap)


@pytest.mark.parametrize("case", CASES)
def test_lamb_is_optax_lamb(jax, optax, case):
    grad, x0 = CASES[case]()
    mine = ours(LAMB(lr=0.02, eps=1e-6, weight_decay=0.01), grad, x0)
    theirs = optax_run(jax, optax, optax.lamb(0.02, eps=1e-6, weight_decay=0.01), grad, x0)
    assert_same(mine, theirs, f"LAMB against optax.lamb on a {case}", RTOL)


@pytest.mark.parametrize("case", CASES)
def test_zero_layers_as_optax(jax, optax, case):
    grad, x0 = CASES[case]()
    zero = np.zeros_like(x0)
    assert_same(
        ours(LAMB(lr=0.02), grad, zero),
        optax_run(jax, optax, optax.lamb(0.02), grad, zero),
        "LAMB from a zero layer",
    )
    assert_same(
        ours(LARS(lr=0.5, ratio="update"), grad, zero),
        optax_run(jax, optax, optax.lars(0.5), grad, zero),
        "LARS from a zero layer",
    )


def test_defaults_as_optax(optax):
    import inspect

    lars = inspect.signature(optax.lars).parameters
    lamb = inspect.signature(optax.lamb).parameters
    assert LARS().trust_coefficient == lars["trust_coefficient"].default
    assert LARS().mu == lars["momentum"].default
    assert LARS().weight_decay == lars["weight_decay"].default
    assert LARS().eps == lars["eps"].default
    assert LAMB().eps == lamb["eps"].default
    assert (LAMB().beta1, LAMB().beta2) == (lamb["b1"].default, lamb["b2"].default)
    assert LAMB().weight_decay == lamb["weight_decay"].default
    assert lamb["learning_rate"].default is inspect.Parameter.empty  # no default rate
    assert lars["learning_rate"].default is inspect.Parameter.empty
    # the chapter: by default optax.lars decays and scales every leaf, biases too
    assert lars["weight_decay_mask"].default is True
    assert lars["trust_ratio_mask"].default is True


# --- the zero-layer convention and other properties --------------------------------


def test_lars_on_a_zero_layer_takes_a_plain_step():
    g = np.array([3.0, -4.0])
    rule = LARS(lr=0.5, trust_coefficient=1e-3, weight_decay=0.1)
    x, state = rule.step(np.zeros(2), lambda x: g, rule.init(np.zeros(2)))
    np.testing.assert_array_equal(x, -0.5 * g)  # ratio 1, not 0
    x, _ = rule.step(np.ones(2), lambda x: np.zeros(2), rule.init(np.ones(2)))
    # zero gradient: the decay alone, at the ratio eta / beta: a step gamma eta x
    np.testing.assert_allclose(x, np.ones(2) * (1 - 0.5 * 1e-3), rtol=1e-14)
    rule = LARS(lr=0.5)  # no decay, zero gradient: nothing to scale, no step
    x, _ = rule.step(np.ones(2), lambda x: np.zeros(2), rule.init(np.ones(2)))
    np.testing.assert_array_equal(x, np.ones(2))


# zeros and numbers whose squares do not underflow
finite_floats = st.one_of(st.just(0.0), st.floats(1e-6, 1e3), st.floats(-1e3, -1e-6))


@settings(max_examples=100, deadline=None)
@given(g=st.lists(finite_floats, min_size=1, max_size=8), eta=st.floats(1e-4, 1.0))
def test_lamb_trust_ratio_on_a_zero_layer_is_one(g, eta):
    """At a zero layer the ratio is 1: the first step is eta times Adam's first
    direction g / (|g| + eps), whatever the decay."""
    g = np.array(g)
    rule = LAMB(lr=eta, weight_decay=0.3)
    x, _ = rule.step(np.zeros_like(g), lambda x: g, rule.init(np.zeros_like(g)))
    np.testing.assert_allclose(x, -eta * g / (np.abs(g) + rule.eps), rtol=1e-12, atol=0)


@settings(max_examples=100, deadline=None)
@given(
    x=st.lists(st.floats(-10, 10), min_size=2, max_size=8).filter(
        lambda x: np.linalg.norm(x) > 1e-3
    ),
    seed=st.integers(0, 1000),
    scale=st.floats(1e-6, 1e6),
)
def test_step_lengths_ignore_the_gradients_scale(x, seed, scale):
    """LARS without decay moves a layer by gamma eta ||x|| on its first step, LAMB by
    eta ||x|| on every step, whatever the gradient's scale."""
    x = np.array(x)
    g = scale * np.random.default_rng(seed).normal(size=x.shape)
    for rule, length in ((LARS(lr=3.0, trust_coefficient=0.01), 0.03), (LAMB(lr=0.05), 0.05)):
        new, _ = rule.step(x, lambda _: g, rule.init(x))
        assert np.linalg.norm(new - x) == pytest.approx(length * np.linalg.norm(x), rel=1e-9)


def test_pure_and_state_shapes():
    grad, x0 = matrix_problem()
    for rule in (LARS(), LAMB(), LARS(nesterov=True, ratio="update")):
        before = x0.copy()
        state = rule.init(x0)
        x, new = rule.step(x0, grad, state)
        np.testing.assert_array_equal(x0, before)
        assert x is not x0 and new.t == 1 and state.t == 0
        assert all(np.shape(b) == x0.shape for b in new[1:])
        assert all(not np.any(b) for b in state[1:])
    assert LARS().buffers == ("v",) and LAMB().buffers == ("m", "v")


def test_by_layer_gives_each_matrix_its_own_ratio():
    """Through ByLayer, each weight matrix of the deep digits network moves by
    gamma eta ||W|| on the first step; the biases (vectors) take plain momentum."""
    net = problems.deep_digits_network()
    w0 = net.init(0) + 0.01  # non-zero biases, so every block moves
    rng = np.random.default_rng(0)
    g = rng.normal(size=w0.shape) * np.geomspace(1e-3, 1e2, w0.size)
    rule = ByLayer(
        LARS(lr=2.0, trust_coefficient=0.01), vectors=rules.Momentum(lr=0.1), layout=net.layout
    )
    w1, state = rule.step(w0, lambda w: g, rule.init(w0))
    before, after, grads = net.named(w0), net.named(w1), net.named(g)
    for name in before:
        moved = np.linalg.norm(after[name] - before[name])
        if name.startswith("W"):
            assert moved == pytest.approx(0.02 * np.linalg.norm(before[name]), rel=1e-12)
        else:
            assert moved == pytest.approx(0.1 * np.linalg.norm(grads[name]), rel=1e-12)
    assert isinstance(state.blocks["W1"], LARSState)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: LARS(lr=0), "lr must lie in"),
        (lambda: LARS(mu=1.0), "mu must lie in"),
        (lambda: LARS(trust_coefficient=0.0), "trust_coefficient must lie in"),
        (lambda: LARS(weight_decay=-1.0), "weight_decay must lie in"),
        (lambda: LARS(eps=-1e-9), "eps must lie in"),
        (lambda: LARS(ratio="optax"), "ratio must be 'paper' or 'update'"),
        (lambda: LARS(nesterov=1), "nesterov must be True or False"),
        (lambda: LAMB(weight_decay=-0.1), "weight_decay must lie in"),
        (lambda: LAMB(bias_correction="yes"), "bias_correction must be True or False"),
        (lambda: LAMB(beta2=1.0), "beta2 must lie in"),
        (lambda: LAMB(eps=0.0), "eps must lie in"),
    ],
)
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_states_and_gradients():
    x = np.ones((3, 2))
    with pytest.raises(TypeError, match="LARS.step takes the state made by LARS.init"):
        LARS().step(x, lambda x: x, LAMB().init(x))
    with pytest.raises(ValueError, match="the state's v has shape"):
        LARS().step(x, lambda x: x, LARS().init(np.ones(3)))
    with pytest.raises(ValueError, match="grad_fn returned an array of shape"):
        LAMB().step(x, lambda x: np.ones(2), LAMB().init(x))
    with pytest.raises(FloatingPointError, match="not finite"):
        LARS().step(x, lambda x: x * np.inf, LARS().init(x))


def test_lamb_without_bias_correction_differs_on_the_first_step():
    g = np.array([1.0, -2.0, 0.5])
    x0 = np.ones(3)
    for corrected in (True, False):
        rule = LAMB(lr=0.1, bias_correction=corrected)
        x, _ = rule.step(x0, lambda x: g, rule.init(x0))
        r = g / (np.abs(g) + 1e-6) if corrected else 0.1 * g / (np.sqrt(0.001) * np.abs(g) + 1e-6)
        np.testing.assert_allclose(x, x0 - 0.1 * np.linalg.norm(x0) / np.linalg.norm(r) * r)


# --- the derivation ----------------------------------------------------------------


def test_lars_step_length_derivation():
    from optnotes.derivations import layerwise as d

    steps = d.lars_step_length()
    gamma, eta, W, G, beta, c = d.gamma, d.eta, d.W, d.G, d.beta, d.c
    # independently: the first step gamma * lambda * (g + beta w) in a 2-D frame
    # where w lies on the first axis and g makes the angle theta with it
    theta = sp.Symbol("theta", real=True)
    w_vec = sp.Matrix([W, 0])
    g_vec = sp.Matrix([G * sp.cos(theta), G * sp.sin(theta)])
    lam = eta * W / (G + beta * W)
    step = gamma * lam * (g_vec + beta * w_vec)
    length = sp.sqrt(sp.simplify(step.dot(step)))
    assert sp.simplify(steps["length"].subs(c, sp.cos(theta)) - length) == 0
    assert sp.simplify(steps["no_decay"] - gamma * eta * W) == 0
    assert sp.simplify(steps["relative"] - gamma * eta) == 0
    assert steps["rescaled"] == 0
    assert sp.simplify(steps["gap"] - 2 * beta * G * W * (1 - c)) == 0
    # the gap is what separates the paper's ratio from optax's
    norm_update = sp.sqrt(G**2 + 2 * beta * G * W * c + beta**2 * W**2)
    assert sp.simplify((G + beta * W) ** 2 - norm_update**2 - steps["gap"]) == 0


# --- the chapter's claims ------------------------------------------------------------


def own_run(problem, name, batch, peak, seed=0):
    """A run written out here: the chapter's rule, rate peak reached by a linear
    ramp over 5% of the steps (at least one), then linear decay; f per step,
    inf from the step it blows up on (not finite, or a million times f0)."""
    from optnotes.large_models import layerwise

    steps = layerwise.SAMPLES // batch
    warm = max(int(0.05 * steps), 1)

    def lr(t):
        if t < warm:
            return peak * (t + 1) / warm
        return peak * (1 - min(t - warm, steps - warm) / (steps - warm))

    rule = layerwise.make_rule(name, lr)
    grad_fn = problem.oracle(batch, seed)
    params, state = dict(problem.start), rule.init(problem.start)
    values = [problem.value(params)]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            try:
                params, state = rule.step(params, grad_fn, state)
            except FloatingPointError:
                break
            values.append(problem.value(params))
            if not values[-1] < 1e6 * values[0]:
                break
    values = np.array(values + [np.inf] * (steps + 1 - len(values)))
    values[values >= 1e6 * values[0]] = np.inf
    return values


def test_the_chapters_batch_claims():
    """With the linearly scaled rates: SGD blows up at every batch above the
    smallest; LARS stays below its start at every step of every batch; LAMB and
    Adam end above their start at the largest batch (Adam further); Adam ends
    lowest at B = 64; no rule keeps its small-batch loss at the largest batch.
    The module's runs are the ones written out here."""
    from optnotes.large_models import layerwise

    problem = layerwise.TwoLayers()
    B0, batches = layerwise.BATCHES[0], layerwise.BATCHES
    runs = {
        (n, b): own_run(problem, n, b, layerwise.BASE_RATES[n] * b / B0)
        for n in layerwise.NAMES
        for b in batches
    }
    for key, values in runs.items():
        np.testing.assert_allclose(layerwise.run(problem, *key), values, rtol=1e-9)
    finals = {n: np.array([runs[n, b][-1] for b in batches]) for n in layerwise.NAMES}
    f0 = problem.value(problem.start)
    assert np.isfinite(finals["SGD"][0]) and np.isinf(finals["SGD"][1:]).all()
    for b in batches:
        lars = runs["LARS", b]
        assert np.isfinite(lars).all() and (lars[1:] < f0).all()
    assert np.isfinite(finals["LAMB"]).all() and np.isfinite(finals["Adam"]).all()
    assert f0 < finals["LAMB"][-1] < finals["Adam"][-1]
    at64 = {n: finals[n][batches.index(64)] for n in layerwise.NAMES}
    assert min(at64, key=at64.get) == "Adam"
    for values in finals.values():
        assert not values[-1] <= values[0]  # worse, or blown up
    # the first step as a fraction of a block's norm at the largest batch:
    # LARS gamma * eta (eta = 0.01) below one, LAMB eta about two
    big = batches[-1]
    assert layerwise.BASE_RATES["LARS"] * big / B0 * 0.01 < 1
    assert 1.9 < layerwise.BASE_RATES["LAMB"] * big / B0 < 2.1
    assert layerwise.make_rule("LARS", 1.0).rule.trust_coefficient == 0.01


def test_warmup_is_one_step_at_the_small_step_counts():
    """The chapter: at B = 256 and 1024 the warm-up is one step at the peak rate."""
    from optnotes.large_models import layerwise

    for b, warm in zip(layerwise.BATCHES, (12, 3, 1, 1), strict=True):
        steps = layerwise.SAMPLES // b
        assert layerwise.warmup_steps(steps) == warm
        schedule = layerwise.rate("SGD", b, steps)
        peak = 3.2e-4 * b / 16
        assert schedule(0) == pytest.approx(peak / warm, rel=1e-12)


def test_sgd_rates_pass_the_heavy_ball_limit_from_b64():
    """The stiff block's largest curvature, from its matrices, gives heavy ball's
    limit 2 (1 + mu) / L; SGD's base rate is below it and every scaled one above."""
    from optnotes.large_models import layerwise

    problem = layerwise.TwoLayers()
    p = problem.blocks["W1"]
    L = problem.scale * np.linalg.eigvalsh(p.left).max() * np.linalg.eigvalsh(p.right).max()
    limit = 2 * 1.9 / L
    assert layerwise.heavy_ball_limit(problem) == pytest.approx(limit, rel=1e-9)
    rates = [layerwise.scaled_rate("SGD", b) for b in layerwise.BATCHES]
    assert rates[0] < limit < rates[1]
    # and the limit is sharp: heavy ball on the noiseless stiff quadratic
    for lr, grows in ((0.99 * limit, False), (1.01 * limit, True)):
        x, v = np.ones(p.shape), np.zeros(p.shape)
        for _ in range(1000):
            v = 0.9 * v + lr * problem.scale * p.grad(x + p.w_star)
            x = x - v
        assert (np.linalg.norm(x) > np.linalg.norm(np.ones(p.shape))) == grows


def test_the_chapters_tuned_comparison():
    """At B = 1024 with the peak rate tuned on the chapter's grid: the four rules
    end within a factor 2 of one another, each more than 100 times above its
    B = 16 value; LARS's and LAMB's best multiples of the scaled rate are closer
    to 1 than SGD's and Adam's."""
    from optnotes.large_models import layerwise

    problem = layerwise.TwoLayers()
    big, grid = layerwise.BATCHES[-1], np.logspace(-4, 2, 13)
    tuned = layerwise.tuned_finals(big)
    best = {}
    for n in layerwise.NAMES:
        scaled = layerwise.BASE_RATES[n] * big / layerwise.BATCHES[0]
        finals = [own_run(problem, n, big, scaled * c)[-1] for c in grid]
        i = int(np.argmin(finals))
        assert tuned[n][0] == pytest.approx(grid[i], rel=1e-12)
        assert tuned[n][1] == pytest.approx(finals[i], rel=1e-9)
        assert 0 < i < len(grid) - 1  # not at an edge of the grid
        best[n] = (grid[i], finals[i])
    values = [v for _, v in best.values()]
    assert max(values) < 2 * min(values)
    small = {n: layerwise.run(problem, n, layerwise.BATCHES[0])[-1] for n in layerwise.NAMES}
    assert all(best[n][1] > 100 * small[n] for n in layerwise.NAMES)
    distance = {n: abs(np.log10(c)) for n, (c, _) in best.items()}
    assert max(distance["LARS"], distance["LAMB"]) < min(distance["SGD"], distance["Adam"])


def test_base_rates_beat_their_neighbours_on_the_grid():
    """Each rule's base rate beats its neighbours on the grid (a factor sqrt 10
    either way) at the smallest batch."""
    from optnotes.large_models import layerwise

    problem = layerwise.TwoLayers()
    for name, base in dict(layerwise.BASE_RATES).items():
        finals = []
        try:
            for lr in (base / 10**0.5, base, base * 10**0.5):
                layerwise.BASE_RATES[name] = lr
                finals.append(layerwise.run(problem, name, layerwise.BATCHES[0])[-1])
        finally:
            layerwise.BASE_RATES[name] = base
        assert finals[1] < min(finals[0], finals[2]), (name, finals)


def test_the_chapters_ratio_spread_is_small():
    """The chapter says the digits network's matrices have ratios ||w|| / ||g||
    within a small factor of each other at the start (Glorot's scaling)."""
    from optnotes import data

    net = problems.deep_digits_network()
    X, y, _, _ = data.digits()
    w = net.init(0)
    g = net.named(net.loss_and_grad(w, X, y)[1])
    ratios = [
        np.linalg.norm(b) / np.linalg.norm(g[k])
        for k, b in net.named(w).items()
        if k.startswith("W")
    ]
    assert max(ratios) / min(ratios) < 2
