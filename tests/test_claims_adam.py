"""The claims of book/adam.md and book/adam-successors.md, computed independently.

Each bound the two chapters show is attacked here: random gradient sequences
(hypothesis), a numerical optimiser and a hill climb over gradient sequences, and
the extremal sequence the derivation names, all run through the ``optnotes`` rules
and held to the bound typed in this file from the paper's algorithm. The other
numbers of the two chapters (the AMSGrad denominator's fall, Nadam's momentum
warm-up, the counterexample's outcomes, the wrong bias correction) are recomputed
here from loops written in this file.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

import optnotes as on
from optnotes import derivations as D
from optnotes import problems, schedules

B1, B2 = D.beta1, D.beta2
T = sp.Symbol("t", integer=True, positive=True)
ALPHA = D.alpha


def same(a, b) -> bool:
    return sp.simplify(a - b) == 0


# --- Adam's largest step: the bound, typed here -----------------------------------------


def adam_bound(t, b1, b2):
    """sup |m̂_t|/√v̂_t over gradient sequences of length t (Cauchy–Schwarz)."""
    g = b1**2 / b2
    weights = t if g == 1 else (1 - g**t) / (1 - g)
    return (1 - b1) / (1 - b1**t) * math.sqrt((1 - b2**t) / (1 - b2)) * math.sqrt(weights)


def adam_sup(b1, b2):
    return (1 - b1) / math.sqrt((1 - b2) * (1 - b1**2 / b2))


def adamax_bound(t, b1, b2):
    r = b1 / b2
    return (1 - b1) / (1 - b1**t) * (1 - r**t) / (1 - r)


def steps_of(rule, gradients) -> np.ndarray:
    """|Δx_t| / α of ``rule`` (lr = 1) fed a gradient that depends on the step alone."""
    it = iter(np.asarray(gradients, dtype=float))
    xs = on.run(rule, lambda x: np.array([next(it)]), [0.0], len(gradients))
    return np.abs(np.diff(xs[:, 0]))


def adam_steps(gradients, b1=0.9, b2=0.999):
    return steps_of(on.Adam(lr=1.0, beta1=b1, beta2=b2, eps=1e-300), gradients)


def adamax_steps(gradients, b1=0.9, b2=0.999):
    return steps_of(on.AdaMax(lr=1.0, beta1=b1, beta2=b2), gradients)


def test_adam_step_bound_derivation_against_closed_forms():
    d = D.adam_step_bound()
    gamma = B1**2 / B2
    typed = (
        (1 - B1)
        / (1 - B1**T)
        * sp.sqrt((1 - B2**T) / (1 - B2))
        * sp.sqrt((1 - gamma**T) / (1 - gamma))
    )
    assert same(d["finite"] ** 2 - typed**2, 0)
    assert same(d["weights"], (1 - gamma**T) / (1 - gamma))
    assert same(d["limit"] ** 2, (1 - B1) ** 2 / ((1 - B2) * (1 - B1**2 / B2)))
    assert d["split_check"] == 0
    assert d["extremal_gap"] == 0
    assert same(d["heuristic"], (1 - B1) / sp.sqrt(1 - B2))
    assert float(d["limit_defaults"]) == pytest.approx(7.2703, abs=1e-4)
    assert float(d["heuristic_defaults"]) == pytest.approx(3.1623, abs=1e-4)
    # adam.md's proof that the limit is the supremum: the gap is a square.
    typed_gap = (1 - B1**T) ** 2 - (1 - B2**T) * (1 - gamma**T)
    assert same(sp.powsimp(sp.expand(d["sup_gap"] - typed_gap), force=True), 0)
    assert d["sup_square"] == 0
    # The SymPy bound, evaluated, against the bound typed here.
    for t, b1, b2 in ((1, 0.9, 0.999), (37, 0.5, 0.9), (3000, 0.9, 0.999)):
        value = float(typed.subs({T: t, B1: b1, B2: b2}))
        assert value == pytest.approx(adam_bound(t, b1, b2), rel=1e-12)


def test_adam_bound_rises_with_t_to_its_limit():
    """The book calls the t → ∞ limit the supremum: the bound must rise with t."""
    t = np.arange(1, 100_001, dtype=float)
    for b1 in np.linspace(0.0, 0.99, 12):
        for b2 in np.linspace(0.05, 0.9999, 12):
            if b1**2 >= b2:
                continue
            g = b1**2 / b2
            bound = (
                (1 - b1)
                / (1 - b1**t)
                * np.sqrt((1 - b2**t) / (1 - b2))
                * np.sqrt((1 - g**t) / (1 - g))
            )
            assert np.all(np.diff(bound) >= -1e-12 * bound[1:]), (b1, b2)
            assert bound.max() <= adam_sup(b1, b2) * (1 + 1e-12), (b1, b2)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(0.0, 0.999),
    st.floats(0.001, 0.9999),
    st.integers(1, 10**6),
)
def test_the_adam_bound_never_exceeds_its_limit(b1, b2, t):
    """adam.md: for β₁² < β₂ the finite-t bound is below the limit at every t
    (the AM–GM step of the proof), so the limit is the supremum."""
    if b1**2 >= b2 * (1 - 1e-9):
        return
    assert adam_bound(t, b1, b2) <= adam_sup(b1, b2) * (1 + 1e-12)


betas = st.tuples(st.floats(0.0, 0.99), st.floats(0.01, 0.9999)).filter(
    lambda b: b[0] ** 2 < b[1] - 1e-3
)
gradient_lists = st.lists(
    st.one_of(
        st.just(0.0),
        st.builds(
            lambda sign, exponent: sign * 10.0**exponent,
            st.sampled_from((-1.0, 1.0)),
            st.floats(-3, 3),
        ),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(betas, gradient_lists)
def test_no_random_gradient_sequence_beats_the_adam_bound(b, gradients):
    b1, b2 = b
    steps = adam_steps(gradients, b1, b2)
    for t, step in enumerate(steps, start=1):
        assert step <= adam_bound(t, b1, b2) * (1 + 1e-9)


@pytest.mark.parametrize("b1, b2", [(0.9, 0.999), (0.9, 0.99), (0.5, 0.9)])
def test_an_optimiser_over_gradient_sequences_reaches_but_does_not_beat_the_bound(b1, b2):
    t = 15
    bound = adam_bound(t, b1, b2)

    def last_step(log_g):  # positive gradients, on a log scale for the optimiser
        return adam_steps(np.exp(np.clip(log_g, -30, 30)), b1, b2)[-1]

    rng = np.random.default_rng(0)
    best = 0.0
    for _ in range(2):
        result = minimize(lambda z: -last_step(z), rng.normal(size=t), method="L-BFGS-B")
        best = max(best, -result.fun)
        assert -result.fun <= bound * (1 + 1e-9)
    assert best >= 0.97 * bound
    # A hill climb from a single spike (the paper's worst case) also climbs past it.
    z = np.full(t, -30.0)
    z[-1] = 0.0
    value = last_step(z)
    for _ in range(600):
        candidate = z + rng.normal(scale=0.3, size=t)
        candidate_value = last_step(candidate)
        assert candidate_value <= bound * (1 + 1e-9)
        if candidate_value > value:
            z, value = candidate, candidate_value
    assert value > (1 - b1) / math.sqrt(1 - b2) * math.sqrt(1 - b2**t) / (1 - b1**t)


@pytest.mark.parametrize(
    "b1, b2", [(0.9, 0.999), (0.9, 0.99), (0.3, 0.5), (0.95, 0.9999), (0.99, 0.95)]
)
def test_gradients_growing_by_beta2_over_beta1_attain_the_bound(b1, b2):
    t = np.arange(1, 301)
    steps = adam_steps((b2 / b1) ** t, b1, b2)
    bounds = np.array([adam_bound(s, b1, b2) for s in t])
    assert np.all(steps <= bounds * (1 + 1e-9))
    assert steps[-1] >= 0.97 * bounds[-1]
    if b1**2 >= b2:  # adam.md: then the bound grows without limit in t
        assert steps[-1] > 10 * steps[29] > 10


def test_adam_book_numbers():
    """adam.md: 7.09α at t = 3000 with growing gradients, sup 7.27α; the spike 3.16α;
    at β₁ = 0.9, β₂ = 0.99 (where the paper says |Δ| ≤ α) the supremum is 2.35α."""
    t = np.arange(1, 3001)
    steps = adam_steps((0.999 / 0.9) ** t)
    assert steps[-1] == pytest.approx(7.0873, abs=1e-4)
    assert adam_sup(0.9, 0.999) == pytest.approx(7.2703, abs=1e-4)
    spike = adam_steps(np.r_[np.zeros(10_000), 5.0])[-1]
    assert spike == pytest.approx(0.1 / math.sqrt(0.001), rel=1e-4)
    assert steps[-1] > 2 * spike
    assert adam_sup(0.9, 0.99) == pytest.approx(2.345, abs=1e-3)
    steps_099 = adam_steps((0.99 / 0.9) ** np.arange(1, 2001), 0.9, 0.99)
    assert steps_099[-1] > 2.3


# --- AdaMax's largest step --------------------------------------------------------------


def test_adamax_step_bound_derivation_against_closed_forms():
    d = D.adamax_step_bound()
    r = B1 / B2
    typed = ALPHA * (1 - B1) / (1 - B1**T) * (1 - r**T) / (1 - r)
    assert same(d["finite"], typed)
    assert same(d["limit"], ALPHA * (1 - B1) / (1 - B1 / B2))
    assert d["extremal_gap"] == 0
    assert d["limit_defaults"] == sp.Rational(111, 110) * ALPHA
    assert float(d["limit_defaults"] / ALPHA) == pytest.approx(1.0091, abs=1e-4)


adamax_betas = st.tuples(st.floats(0.0, 0.99), st.floats(0.01, 0.9999)).filter(
    lambda b: b[0] < b[1] - 1e-3
)


@settings(max_examples=150, deadline=None)
@given(adamax_betas, gradient_lists)
def test_no_random_gradient_sequence_beats_the_adamax_bound(b, gradients):
    b1, b2 = b
    steps = adamax_steps(gradients, b1, b2)
    for t, step in enumerate(steps, start=1):
        assert step <= adamax_bound(t, b1, b2) * (1 + 1e-9)


def test_a_search_reaches_but_does_not_beat_the_adamax_bound():
    # Powell's method over the logarithms of 15 gradient magnitudes, from
    # random starts: it climbs to the bound (within 1%) and never past it.
    t, b1, b2 = 15, 0.9, 0.95
    bound = adamax_bound(t, b1, b2)
    rng = np.random.default_rng(1)
    best = 0.0
    for _ in range(2):
        result = minimize(
            lambda z: -adamax_steps(np.exp(np.clip(z, -30, 30)), b1, b2)[-1],
            rng.normal(size=t),
            method="Powell",
            options={"maxfev": 20000},
        )
        best = max(best, -result.fun)
        assert -result.fun <= bound * (1 + 1e-9)
    assert best >= 0.99 * bound
    extremal = adamax_steps(b2 ** np.arange(1, t + 1), b1, b2)[-1]
    assert extremal == pytest.approx(bound, rel=1e-12)


def test_adamax_bound_rises_to_its_limit():
    """adam-successors.md: for β₁ < β₂ the finite bound stays below its limit
    and rises with t (the latter checked here, not proved in the book)."""
    t = np.arange(1, 100_001, dtype=float)
    for b1 in np.linspace(0.0, 0.99, 12):
        for b2 in np.linspace(0.05, 0.9999, 12):
            if b1 >= b2:
                continue
            r = b1 / b2
            bound = (1 - b1) / (1 - b1**t) * (1 - r**t) / (1 - r)
            assert np.all(np.diff(bound) >= -1e-12 * bound[1:]), (b1, b2)
            assert bound.max() <= (1 - b1) / (1 - r) * (1 + 1e-12), (b1, b2)


def test_adamax_book_numbers():
    """adam-successors.md: the paper's |Δ| ≤ α is exceeded; sup 1.0091α."""
    t = np.arange(1, 5001)
    steps = adamax_steps(0.999**t)
    assert steps.max() > 1.0
    assert steps[-1] == pytest.approx(adamax_bound(5000, 0.9, 0.999), rel=1e-12)
    assert adamax_bound(10**6, 0.9, 0.999) == pytest.approx(111 / 110, rel=1e-9)


# --- Adam is not RMSProp with momentum ----------------------------------------------------


def test_the_unrolled_forms_of_adam_and_rmsprop_with_momentum():
    """adam.md writes both rules as sums over past gradients; check them."""
    b1, b2, eps, alpha = 0.9, 0.99, 1e-8, 0.1
    g = np.random.default_rng(3).normal(size=60) * np.geomspace(0.01, 100, 60)
    rule = on.Adam(lr=alpha, beta1=b1, beta2=b2, eps=eps)
    adam = -np.diff(on.run(rule, _feed(g), [0.0], 60)[:, 0])
    rule = on.RMSPropNesterov(lr=alpha * (1 - b1), rho=b2, mu=b1, eps=eps)
    rms = -np.diff(on.run(rule, _feed(g), [0.0], 60)[:, 0])
    r = np.zeros(61)
    for i in range(1, 61):
        r[i] = b2 * r[i - 1] + (1 - b2) * g[i - 1] ** 2
    for t in range(1, 61):
        k = np.arange(t)
        past = g[t - 1 - k]
        v_hat = r[t] / (1 - b2**t)
        adam_unrolled = alpha / (math.sqrt(v_hat) + eps) * (1 - b1) / (1 - b1**t)
        adam_unrolled *= np.sum(b1**k * past)
        rms_unrolled = alpha * (1 - b1) * np.sum(b1**k * past / (np.sqrt(r[t - k]) + eps))
        assert adam[t - 1] == pytest.approx(adam_unrolled, rel=1e-9)
        assert rms[t - 1] == pytest.approx(rms_unrolled, rel=1e-9)


def _feed(gradients):
    it = iter(gradients)
    return lambda x: np.array([next(it)])


def test_adam_and_rmsprop_momentum_differ_after_a_rise_not_only_by_bias_correction():
    assert 0.999**10_000 < 1e-4  # adam.md: the bias correction is spent
    up = np.r_[np.ones(10_000), np.full(100, 1000.0)]
    down = np.r_[np.ones(10_000), np.full(100, 0.001)]
    results = {}
    for name, gradients in (("up", up), ("down", down)):
        adam = steps_of(on.Adam(lr=1.0), gradients)[10_000:]
        rms = steps_of(on.RMSPropNesterov(lr=0.1, rho=0.999, mu=0.9), gradients)[10_000:]
        results[name] = adam, rms
    adam, rms = results["up"]
    assert rms.max() > 1.3 * adam.max()
    assert adam.max() > 2 * 0.1 / math.sqrt(0.001) > rms.max() / 5  # both exceed 3.16α
    # adam.md: Adam stays below the theorem's 7.27α; RMSProp + momentum goes past.
    assert adam.max() < adam_sup(0.9, 0.999) < rms.max()
    adam, rms = results["down"]
    assert np.max(np.abs(adam - rms) / adam) < 0.03


# --- The wrong bias correction -------------------------------------------------------------


def test_wrong_bias_correction_steps():
    """adam.md: dividing by 1 − β gives steps of about 2α near t = 10 and
    √(1 − β₂)/(1 − β₁) ≈ 0.316α in the long run, for a constant gradient."""

    def wrong_step(t, b1=0.9, b2=0.999):
        return ((1 - b1**t) / (1 - b1)) / math.sqrt((1 - b2**t) / (1 - b2))

    assert wrong_step(1) == pytest.approx(1.0)
    assert wrong_step(10) == pytest.approx(2.064, abs=1e-3)
    assert wrong_step(5000) == pytest.approx(0.317, abs=1e-3)
    assert math.sqrt(0.001) / 0.1 == pytest.approx(0.316, abs=1e-3)


# --- AMSGrad: which denominator falls ------------------------------------------------------


def test_pytorch_amsgrad_denominator_falls_after_one_spike():
    """adam-successors.md: after one gradient of 1 and zeros, the PyTorch form's √v̂
    falls by 30.8× by t = 3000 (1/√(1 − β₂) = 31.6× as t → ∞); the paper's never falls."""
    b2, steps = 0.999, 3000
    v = v_max = 0.0
    pytorch, paper = [], []
    for t in range(1, steps + 1):
        g = 1.0 if t == 1 else 0.0
        v = b2 * v + (1 - b2) * g * g
        v_max = max(v_max, v)
        pytorch.append(math.sqrt(v_max / (1 - b2**t)))
        paper.append(math.sqrt(v_max))
    fall = pytorch[0] / pytorch[-1]
    assert fall == pytest.approx(math.sqrt((1 - b2**steps) / (1 - b2)), rel=1e-12)
    assert round(fall, 1) == 30.8
    assert 1 / math.sqrt(1 - b2) == pytest.approx(31.62, abs=0.01)
    assert paper[0] == paper[-1]
    # optnotes.AMSGrad's steps are α m̂ / (that denominator + ε).
    rule = on.AMSGrad(lr=1.0, eps=1e-8)
    gradients = np.r_[1.0, np.zeros(49)]
    taken = steps_of(rule, gradients)
    m = 0.0
    for t in range(1, 51):
        m = 0.9 * m + 0.1 * gradients[t - 1]
        expected = (m / (1 - 0.9**t)) / (pytorch[t - 1] + 1e-8)
        assert taken[t - 1] == pytest.approx(expected, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=2, max_size=200), st.floats(0.5, 0.9999))
def test_pytorch_amsgrad_keeps_reddis_condition_with_alpha_over_sqrt_t(gradients, b2):
    """Theorem 4 of Reddi et al. needs √v̂_t/α_t never to fall; with α_t = α/√t the
    PyTorch form keeps it, since t/(1 − β₂ᵗ) grows with t."""
    v = v_max = 0.0
    previous = 0.0
    for t, g in enumerate(gradients, start=1):
        v = b2 * v + (1 - b2) * g * g
        v_max = max(v_max, v)
        ratio = math.sqrt(t * v_max / (1 - b2**t))
        assert ratio >= previous * (1 - 1e-12)
        previous = ratio


def test_t_over_bias_correction_grows():
    t = np.arange(1, 200_001, dtype=float)
    for b2 in (0.5, 0.9, 0.99, 0.999, 0.9999):
        assert np.all(np.diff(t / (1 - b2**t)) > 0)


def _amsgrad_end(problem, form, steps=3000):
    b2, x, v, v_max = problem.beta2, 0.0, 0.0, 0.0
    xs = []
    for t in range(1, steps + 1):
        g = problem.gradient(t)
        v = b2 * v + (1 - b2) * g * g
        if form == "optax":
            v_max = max(v_max, v / (1 - b2**t))
            root = math.sqrt(v_max)
        else:
            v_max = max(v_max, v)
            root = math.sqrt(v_max / ((1 - b2**t) if form == "PyTorch" else 1.0))
        x = min(1.0, max(-1.0, x - problem.alpha / math.sqrt(t) * g / root))
        xs.append(x)
    return np.mean(xs[-300:])


@pytest.mark.parametrize("C", [3.0, 10.0])
def test_counterexample_outcomes(C):
    """Reddi et al. Thm 1: Adam ends at +1, every AMSGrad form at −1."""
    problem = problems.AdamCounterexample(C)
    lr = schedules.inverse_sqrt_decay(problem.alpha)
    hyper = dict(lr=lr, beta1=0.0, beta2=problem.beta2, eps=1e-12)
    assert problem.run(on.Adam(**hyper), 3000)[-300:].mean() > 0.95
    assert problem.run(on.AMSGrad(**hyper), 3000)[-300:].mean() < -0.95
    for form in ("paper", "PyTorch", "optax"):
        assert _amsgrad_end(problem, form) < -0.95, form


def test_beta2_close_to_one_forgets_slowly_and_adam_goes_right():
    """adam.md, exercise on β₂: the failure needs the small β₂."""
    problem = problems.AdamCounterexample(3.0)
    lr = schedules.inverse_sqrt_decay(problem.alpha)
    for beta2, side in ((problem.beta2, 1), (0.5, -1), (0.9, -1), (0.99, -1), (0.999, -1)):
        hyper = dict(beta1=0.0, beta2=beta2, eps=1e-12)
        end = problem.run(on.Adam(lr=lr, **hyper), 3000)[-300:].mean()
        assert end * side > 0.95, beta2
        # One late cycle of the unprojected run, by a loop written here.
        v, net = 0.0, 0.0
        for t in range(1, 3001):
            g = problem.gradient(t)
            v = beta2 * v + (1 - beta2) * g * g
            if t > 2997:
                net -= g / (math.sqrt(v / (1 - beta2**t)) + 1e-12)
        assert net * side > 0, beta2


# --- Nadam's momentum warm-up (the framework tests read the frameworks themselves) ---------


def test_nadam_warm_up_numbers():
    beta1 = 0.9
    torch_mu = lambda t: beta1 * (1 - 0.5 * 0.96 ** (t * 0.004))  # noqa: E731
    keras_mu = lambda t: beta1 * (1 - 0.5 * 0.96**t)  # noqa: E731
    assert [round(torch_mu(t), 2) for t in (1, 1000, 10_000)] == [0.45, 0.52, 0.81]
    t = np.arange(1, 300_000)
    first_within = {
        "PyTorch": t[np.argmax(torch_mu(t) > 0.99 * beta1)],
        "Keras": t[np.argmax(keras_mu(t) > 0.99 * beta1)],
    }
    assert 50 < first_within["Keras"] < 150
    assert first_within["PyTorch"] > 20_000
    assert on.Nadam().lr == 2e-3 and on.Nadam().eps == 1e-8


# --- AdamW: the decay's share of one step ----------------------------------------------


def test_decay_share_of_one_step():
    """adam-successors.md: with x held at 1, AdamW's decay takes α λ of every
    coordinate; Adam's L2 term takes α λ/(√v̂ + ε), which falls with the scale.
    The L2 share is checked against m̂ with and without λ, by a loop here."""
    scales = np.geomspace(1e-3, 1e3, 7)
    noise = np.random.default_rng(1).normal(size=(201, scales.size)) * scales
    lam, lr, b1, b2, eps = 1e-2, 1e-3, 0.9, 0.999, 1e-8
    x = np.ones(scales.size)
    m_l2 = m_plain = v = np.zeros(scales.size)
    for t in range(1, 201):
        g = noise[t - 1]
        m_l2 = b1 * m_l2 + (1 - b1) * (g + lam * x)
        m_plain = b1 * m_plain + (1 - b1) * g
        v = b2 * v + (1 - b2) * (g + lam * x) ** 2
    v_hat = v / (1 - b2**200)
    l2_part = (m_l2 - m_plain) / (1 - b1**200)
    np.testing.assert_allclose(l2_part, lam * x, rtol=1e-9)
    l2_share = lr * l2_part / (np.sqrt(v_hat) + eps)
    assert np.all(np.diff(l2_share) < 0)
    assert l2_share[0] > 50 * lr * lam > 1000 * l2_share[-1]
    adamw = on.AdamW(lr=lr, weight_decay=lam)
    state = adamw.init(x)
    for g in noise[:200]:
        _, state = adamw.step(x, lambda z, g=g: g, state)
    g = noise[200]
    share = (
        on.AdamW(lr=lr, weight_decay=0.0).step(x, lambda z: g, state)[0]
        - adamw.step(x, lambda z: g, state)[0]
    )
    np.testing.assert_allclose(share, lr * lam * x, rtol=1e-9)
