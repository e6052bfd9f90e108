"""The update rules against independent numbers, properties, and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optnotes as on
from optnotes import schedules
from tests import reference as ref
from tests.test_radam import radam_reference

# A fixed, non-separable quadratic with a cross term and a linear part, so that
# every coordinate's gradient depends on the others.
H = np.array([[3.0, 0.5], [0.5, 0.4]])
c = np.array([0.3, -0.2])


def quad_grad(x):
    return H @ np.asarray(x, dtype=float) - c


X0 = np.array([1.5, -2.0])


# --- CS231n assignment 2 reference vectors ---------------------------------------
# w, dw and the state as in the assignment; the published element [0, 0] and the
# whole array recomputed here from the assignment's formulas.

W = np.linspace(-0.4, 0.6, 20).reshape(4, 5)
DW = np.linspace(-0.6, 0.4, 20).reshape(4, 5)
STATE = np.linspace(0.6, 0.9, 20).reshape(4, 5)


def constant_grad(g):
    return lambda x: g


def test_momentum_matches_cs231n():
    # CS231n: v <- 0.9 v - 1e-3 dw; w <- w + v. Ours keeps u = -v.
    rule = on.Momentum(lr=1e-3, mu=0.9)
    w1, state = rule.step(W, constant_grad(DW), on.rules.MomentumState(0, -STATE))
    v = 0.9 * STATE - 1e-3 * DW
    assert -state.u[0, 0] == pytest.approx(0.5406, abs=1e-12)
    assert w1[0, 0] == pytest.approx(0.1406, abs=1e-12)
    np.testing.assert_allclose(w1, W + v, rtol=0, atol=1e-15)


def test_rmsprop_matches_cs231n():
    rule = on.RMSProp(lr=1e-2, rho=0.99, eps=1e-8)
    w1, state = rule.step(W, constant_grad(DW), on.rules.AdagradState(0, STATE))
    assert state.r[0, 0] == pytest.approx(0.5976, abs=1e-12)
    assert w1[0, 0] == pytest.approx(-0.39223849, abs=5e-9)


def test_adam_matches_cs231n():
    # The assignment's t = 5 is incremented to 6 before use; our count t = 5 uses
    # beta ** (t + 1) = beta ** 6.
    v0 = np.linspace(0.7, 0.5, 20).reshape(4, 5)
    rule = on.Adam(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8)
    w1, state = rule.step(W, constant_grad(DW), on.rules.AdamState(5, STATE, v0))
    assert state.m[0, 0] == pytest.approx(0.48, abs=1e-12)
    assert state.v[0, 0] == pytest.approx(0.69966, abs=1e-12)
    assert w1[0, 0] == pytest.approx(-0.40094747, abs=5e-9)
    assert state.t == 6


# --- First steps worked out by hand ----------------------------------------------

G = np.array([0.5, -4.0, 2e-3])  # a constant gradient of mixed scales
Z = np.array([1.0, -1.0, 0.25])


def first_step(rule, g=G, x=Z):
    x1, _ = rule.step(x, constant_grad(g), rule.init(x))
    return x1


def test_first_steps_closed_form():
    a = 0.01
    s = np.sign(G)
    absg = np.abs(G)
    expected = {
        on.SGD(lr=a): Z - a * G,
        on.Momentum(lr=a, mu=0.9): Z - a * G,  # u starts at 0
        on.Nesterov(lr=a, mu=0.9): Z - a * G,
        on.Adagrad(lr=a, eps=1e-7): Z - a * G / (absg + 1e-7),
        on.RMSProp(lr=a, rho=0.9, eps=1e-8): Z - a * G / (math.sqrt(0.1) * absg + 1e-8),
        on.RMSPropNesterov(lr=a, rho=0.9, mu=0.9, eps=1e-8): Z
        - a * G / (math.sqrt(0.1) * absg + 1e-8),
        on.Adadelta(rho=0.95, eps=1e-6): Z - math.sqrt(1e-6) * G / np.sqrt(0.05 * G**2 + 1e-6),
        on.Adam(lr=a): Z - a * G / (absg + 1e-8),
        on.Adam(lr=a, bias_correction=False): Z - a * 0.1 * G / (math.sqrt(0.001) * absg + 1e-8),
        on.AdaMax(lr=a): Z - a * s,
        # Nadam: m_bar = g * (0.9 * 0.1 / (1 - 0.81) + 1)
        on.Nadam(lr=a): Z - a * G * (0.09 / 0.19 + 1) / (absg + 1e-8),
        on.AMSGrad(lr=a): Z - a * G / (absg + 1e-8),
        on.AdamW(lr=a, weight_decay=0.1): Z - a * 0.1 * Z - a * G / (absg + 1e-8),
        on.Yogi(lr=a, eps=1e-3): Z - a * 0.1 * G / (math.sqrt(0.001) * absg + 1e-3),
        on.RAdam(lr=a): Z - a * G,  # rho_1 = 1: a momentum step with m_hat = g
    }
    assert {type(r) for r in expected} == set(on.ALL_RULES)
    for rule, x1 in expected.items():
        np.testing.assert_allclose(first_step(rule), x1, rtol=1e-13, err_msg=repr(rule))


# --- Many steps against the plain references from the papers ---------------------

STEPS = 25
lr_steps = schedules.step_decay(0.05, factor=0.5, every=7)


def paper_lr(schedule):
    """The papers count from t = 1; optnotes' first step is t = 0."""
    return lambda t: float(schedule(t - 1))


CASES = [
    (on.SGD(lr=0.1), lambda: ref.sgd(X0, quad_grad, STEPS, lambda t: 0.1)),
    (on.SGD(lr=lr_steps), lambda: ref.sgd(X0, quad_grad, STEPS, paper_lr(lr_steps))),
    (
        on.Momentum(lr=0.05, mu=0.8),
        lambda: ref.momentum(X0, quad_grad, STEPS, lambda t: 0.05, 0.8),
    ),
    (
        on.Nesterov(lr=0.05, mu=0.8),
        lambda: ref.nesterov(X0, quad_grad, STEPS, lambda t: 0.05, 0.8),
    ),
    (
        on.Nesterov(lr=lr_steps, mu=0.9),
        lambda: ref.nesterov(X0, quad_grad, STEPS, paper_lr(lr_steps), 0.9),
    ),
    (
        on.Adagrad(lr=0.3, eps=1e-7),
        lambda: ref.adagrad(X0, quad_grad, STEPS, lambda t: 0.3, 1e-7),
    ),
    (
        on.RMSProp(lr=0.02, rho=0.9, eps=1e-8),
        lambda: ref.rmsprop(X0, quad_grad, STEPS, lambda t: 0.02, 0.9, 1e-8),
    ),
    (
        on.RMSPropNesterov(lr=0.01, rho=0.9, mu=0.8, eps=1e-8),
        lambda: ref.rmsprop_nesterov(X0, quad_grad, STEPS, lambda t: 0.01, 0.9, 0.8, 1e-8),
    ),
    (
        on.Adadelta(rho=0.9, eps=1e-4),
        lambda: ref.adadelta(X0, quad_grad, STEPS, 0.9, 1e-4),
    ),
    (
        on.Adam(lr=0.05),
        lambda: ref.adam(X0, quad_grad, STEPS, lambda t: 0.05, 0.9, 0.999, 1e-8),
    ),
    (
        on.Adam(lr=lr_steps, beta1=0.8, beta2=0.99),
        lambda: ref.adam(X0, quad_grad, STEPS, paper_lr(lr_steps), 0.8, 0.99, 1e-8),
    ),
    (
        on.Adam(lr=0.05, bias_correction=False),
        lambda: ref.adam(X0, quad_grad, STEPS, lambda t: 0.05, 0.9, 0.999, 1e-8, correct=False),
    ),
    (
        on.AdaMax(lr=0.05),
        lambda: ref.adamax(X0, quad_grad, STEPS, lambda t: 0.05, 0.9, 0.999),
    ),
    (
        on.Nadam(lr=0.05),
        lambda: ref.nadam(X0, quad_grad, STEPS, lambda t: 0.05, 0.9, 0.999, 1e-8),
    ),
    (
        on.AMSGrad(lr=0.05),
        lambda: ref.amsgrad(X0, quad_grad, STEPS, lambda t: 0.05, 0.9, 0.999, 1e-8),
    ),
    (
        on.AdamW(lr=0.05, weight_decay=0.3),
        lambda: ref.adam(X0, quad_grad, STEPS, lambda t: 0.05, 0.9, 0.999, 1e-8, decoupled=0.3),
    ),
    (
        on.Yogi(lr=0.05),
        lambda: ref.yogi(X0, quad_grad, STEPS, lambda t: 0.05, 0.9, 0.999, 1e-3),
    ),
    (
        on.RAdam(lr=0.05),
        lambda: radam_reference(X0, quad_grad, STEPS, lambda t: 0.05, 0.9, 0.999, 1e-8),
    ),
    (
        on.RAdam(lr=0.05, threshold=4.0, weight_decay=0.3),
        lambda: radam_reference(
            X0, quad_grad, STEPS, lambda t: 0.05, 0.9, 0.999, 1e-8, threshold=4.0, decoupled=0.3
        ),
    ),
]


@pytest.mark.parametrize("rule, reference", CASES, ids=[repr(r) for r, _ in CASES])
def test_rule_matches_paper_reference(rule, reference):
    xs = on.run(rule, quad_grad, X0, steps=STEPS)
    np.testing.assert_allclose(xs, np.array(reference()), rtol=1e-12, atol=1e-14)


def test_every_rule_has_a_reference_case():
    assert {type(r) for r, _ in CASES} == set(on.ALL_RULES)


def test_amsgrad_differs_from_adam_once_v_falls():
    # A large gradient followed by small ones: v falls, v_max does not.
    gs = iter([np.array([10.0]), *[np.array([0.1])] * 5])
    grad = lambda x: next(gs)  # noqa: E731
    adam_gs = iter([np.array([10.0]), *[np.array([0.1])] * 5])
    xa = on.run(on.Adam(lr=0.1), lambda x: next(adam_gs), [0.0], 6)
    xm = on.run(on.AMSGrad(lr=0.1), grad, [0.0], 6)
    step_adam, step_ams = np.diff(xa[:, 0]), np.diff(xm[:, 0])
    assert step_ams[0] == pytest.approx(step_adam[0])
    assert np.all(np.abs(step_ams[1:]) < np.abs(step_adam[1:]))


# --- Properties ------------------------------------------------------------------

rates = st.floats(1e-4, 0.5)
points = st.lists(st.floats(-10, 10), min_size=1, max_size=5).map(np.array)


@given(lr=rates, x0=points)
def test_momentum_and_nesterov_with_mu_zero_are_sgd(lr, x0):
    grad = lambda x: 0.7 * x + np.sin(x)  # noqa: E731
    sgd = on.run(on.SGD(lr=lr), grad, x0, 20)
    np.testing.assert_allclose(on.run(on.Momentum(lr=lr, mu=0.0), grad, x0, 20), sgd, rtol=1e-14)
    np.testing.assert_allclose(on.run(on.Nesterov(lr=lr, mu=0.0), grad, x0, 20), sgd, rtol=1e-14)


magnitudes = st.floats(1e-3, 1e3)
signs = st.sampled_from([-1.0, 1.0])
gradients = st.lists(st.tuples(magnitudes, signs), min_size=1, max_size=6).map(
    lambda pairs: np.array([m * s for m, s in pairs])
)


@given(g=gradients, lr=st.floats(1e-5, 1e-1))
def test_adam_first_step_moves_every_coordinate_by_lr(g, lr):
    x0 = np.zeros_like(g)
    x1 = first_step(on.Adam(lr=lr), g=g, x=x0)
    # |g| / (|g| + eps) with |g| >= 1e-3 and eps = 1e-8: within 1e-5 of 1.
    np.testing.assert_allclose(np.abs(x1 - x0), lr, rtol=1e-5)
    assert np.all(np.sign(x0 - x1) == np.sign(g))


@given(g=gradients, beta1=st.floats(0.5, 0.99), beta2=st.floats(0.9, 0.9999))
def test_uncorrected_adam_first_step_is_larger_by_the_known_factor(g, beta1, beta2):
    x0 = np.zeros_like(g)
    corrected = first_step(on.Adam(beta1=beta1, beta2=beta2), g=g, x=x0)
    plain = first_step(on.Adam(beta1=beta1, beta2=beta2, bias_correction=False), g=g, x=x0)
    factor = (1 - beta1) / math.sqrt(1 - beta2)
    # eps = 1e-8 shifts the ratio by at most eps / (sqrt(1 - beta2) |g|) relative:
    # 1e-8 / (1e-2 * 1e-3) = 1e-3 over the ranges drawn here.
    bound = 1e-8 / (math.sqrt(1 - beta2) * np.min(np.abs(g)))
    np.testing.assert_allclose(plain / corrected, factor, rtol=1.01 * bound)


def test_uncorrected_adam_factor_at_the_defaults():
    x1 = first_step(on.Adam(bias_correction=False), g=np.array([2.0]), x=np.array([0.0]))
    x1c = first_step(on.Adam(), g=np.array([2.0]), x=np.array([0.0]))
    assert x1[0] / x1c[0] == pytest.approx(3.1623, abs=1e-4)


@given(x0=points, lr=st.floats(1e-3, 1.0))
def test_adagrad_accumulator_never_decreases(x0, lr):
    rule = on.Adagrad(lr=lr)
    grad = lambda x: np.cos(3 * x) + 0.1 * x  # noqa: E731
    x, state = x0, rule.init(x0)
    for _ in range(30):
        previous = state.r
        x, state = rule.step(x, grad, state)
        assert np.all(state.r >= previous)


@settings(max_examples=50)
@given(scale=st.floats(1e-3, 1e3), x0=points)
def test_adadelta_path_scales_when_loss_and_x_change_units_together(scale, x0):
    # Measure x in units c times smaller, y = c x, AND the loss in units c^2
    # times smaller (f_c(y) = c^2 f(y / c), gradient c g(y / c)): the one change
    # of units in which Adadelta's two epsilons (in s and in r) carry the same
    # units, so eps converted to c^2 eps makes the path exactly c times the
    # original. Under a change of x's units alone it is not equivariant
    # (book/adadelta.md; tests/test_claims_adaptive.py).
    grad = lambda x: np.tanh(x) + 0.2 * x  # noqa: E731
    grad_c = lambda y: scale * grad(y / scale)  # noqa: E731
    base = on.run(on.Adadelta(eps=1e-6), grad, x0, 30)
    scaled = on.run(on.Adadelta(eps=1e-6 * scale**2), grad_c, scale * x0, 30)
    np.testing.assert_allclose(scaled, scale * base, rtol=1e-9, atol=1e-300)


def test_adagrad_path_scales_only_with_its_rate_converted():
    # The same change of units: Adagrad's step has the units of its rate, so
    # the path scales by c when lr and eps are converted (c lr, c eps), and not
    # when lr is left as it is.
    grad = lambda x: np.tanh(x) + 0.2 * x  # noqa: E731
    grad_c = lambda y: 10 * grad(y / 10)  # noqa: E731
    x0 = np.array([2.0])
    base = on.run(on.Adagrad(lr=0.1, eps=1e-12), grad, x0, 10)
    converted = on.run(on.Adagrad(lr=0.1 * 10, eps=1e-12 * 10), grad_c, 10 * x0, 10)
    np.testing.assert_allclose(converted, 10 * base, rtol=1e-12)
    unconverted = on.run(on.Adagrad(lr=0.1, eps=1e-12 * 10), grad_c, 10 * x0, 10)
    assert not np.allclose(unconverted, 10 * base, rtol=1e-3)


STATE_TABLE = {
    on.SGD: (),
    on.Momentum: ("u",),
    on.Nesterov: ("u",),
    on.Adagrad: ("r",),
    on.RMSProp: ("r",),
    on.RMSPropNesterov: ("r", "u"),
    on.Adadelta: ("r", "s"),
    on.Adam: ("m", "v"),
    on.AdaMax: ("m", "w"),
    on.Nadam: ("m", "v"),
    on.AMSGrad: ("m", "v", "v_max"),
    on.AdamW: ("m", "v"),
    on.Yogi: ("m", "v"),
    on.RAdam: ("m", "v"),
}


@pytest.mark.parametrize("Rule", on.ALL_RULES)
@pytest.mark.parametrize("shape", [(3,), (2, 4), (1,)])
def test_state_holds_exactly_the_tables_buffers(Rule, shape):
    rule = Rule()
    x0 = np.ones(shape)
    state = rule.init(x0)
    assert state.t == 0
    assert state._fields == ("t", *STATE_TABLE[Rule])
    assert rule.buffers == STATE_TABLE[Rule]
    x1, state1 = rule.step(x0, lambda x: 0.3 * x, state)
    assert type(state1) is type(state) and state1.t == 1
    for buffer in state1[1:]:
        assert isinstance(buffer, np.ndarray) and buffer.shape == shape
    assert x1.shape == shape


@pytest.mark.parametrize("Rule", on.ALL_RULES)
@given(x0=points)
def test_step_never_changes_its_inputs(Rule, x0):
    rule = Rule()
    grad = lambda x: np.sin(x) + x  # noqa: E731
    x, state = rule.step(x0, grad, rule.init(x0))  # a state with non-zero buffers
    x_copy, state_copy = x.copy(), [np.copy(b) for b in state]
    x2, state2 = rule.step(x, grad, state)
    np.testing.assert_array_equal(x, x_copy)
    for before, after in zip(state_copy, state, strict=True):
        np.testing.assert_array_equal(after, before)
    assert x2 is not x
    for new, old in zip(state2[1:], state[1:], strict=True):
        assert not np.shares_memory(new, old)


def test_rules_are_immutable():
    rule = on.Adam()
    with pytest.raises(AttributeError):
        rule.lr = 0.1


def test_grad_fn_called_once_per_step():
    calls = []

    def grad(x):
        calls.append(np.copy(x))
        return x

    for Rule in on.ALL_RULES:
        calls.clear()
        on.run(Rule(), grad, [1.0, 2.0], 7)
        assert len(calls) == 7, Rule.__name__


def test_nesterov_takes_the_gradient_at_the_look_ahead_point():
    seen = []

    def grad(x):
        seen.append(np.copy(x))
        return np.array([1.0])

    rule = on.Nesterov(lr=0.1, mu=0.5)
    on.run(rule, grad, [0.0], 3)
    # u1 = 0.1, x1 = -0.1; look-ahead x1 - 0.5 u1 = -0.15
    assert seen[0][0] == 0.0
    assert seen[1][0] == pytest.approx(-0.15)


def test_momentum_uses_a_momentum_schedule():
    mu = schedules.momentum_ramp(0.5, 0.9, steps=4)
    rule = on.Momentum(lr=0.1, mu=mu)
    xs = on.run(rule, lambda x: np.ones(1), [0.0], 3)
    # u: 0.1; 0.6 * 0.1 + 0.1 = 0.16; 0.7 * 0.16 + 0.1 = 0.212
    np.testing.assert_allclose(-np.diff(xs[:, 0]), [0.1, 0.16, 0.212], rtol=1e-14)


# --- Bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: on.SGD(lr=0.0), r"lr must lie in \(0, inf\], got 0"),
        (lambda: on.SGD(lr=-1), r"lr must lie in \(0, inf\]"),
        (lambda: on.SGD(lr=float("inf")), "lr must be finite"),
        (lambda: on.SGD(lr=float("nan")), "lr must be finite"),
        (lambda: on.SGD(lr="0.1"), "lr must be a number, got '0.1'"),
        (lambda: on.Momentum(mu=1.0), r"mu must lie in \[0, 1\), got 1"),
        (lambda: on.Nesterov(mu=-0.1), r"mu must lie in \[0, 1\)"),
        (lambda: on.RMSProp(rho=1.0), r"rho must lie in \[0, 1\)"),
        (lambda: on.Adadelta(rho=1.5), r"rho must lie in \[0, 1\)"),
        (lambda: on.Adam(beta1=1.0), r"beta1 must lie in \[0, 1\)"),
        (lambda: on.Adam(beta2=-0.5), r"beta2 must lie in \[0, 1\)"),
        (lambda: on.Adam(eps=0.0), r"eps must lie in \(0, inf\]"),
        (lambda: on.Adagrad(eps=-1e-8), r"eps must lie in \(0, inf\]"),
        (lambda: on.Adam(bias_correction="yes"), "bias_correction must be True or False"),
        (lambda: on.AdamW(weight_decay=-0.1), r"weight_decay must lie in \[0, inf\]"),
        (lambda: on.AMSGrad(beta2=1.0), r"beta2 must lie in \[0, 1\)"),
        (lambda: on.AdaMax(beta2=1.0), r"beta2 must lie in \[0, 1\)"),
        (lambda: on.Yogi(eps=0), r"eps must lie in \(0, inf\]"),
        (lambda: on.RAdam(threshold=3.0), r"threshold must lie in \[4, inf\]"),
        (lambda: on.Nadam(lr=-2e-3), r"lr must lie in \(0, inf\]"),
        (lambda: on.RMSPropNesterov(mu=1), r"mu must lie in \[0, 1\)"),
    ],
)
def test_bad_hyperparameters_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_schedule_values_are_refused_when_used():
    rule = on.SGD(lr=lambda t: 0.1 - 0.05 * t)
    with pytest.raises(ValueError, match=r"the lr schedule at step 3: lr must lie in \[0, inf\]"):
        on.run(rule, lambda x: x, [1.0], 5)
    rule = on.Momentum(mu=lambda t: 0.5 + 0.25 * t)
    with pytest.raises(ValueError, match=r"the mu schedule at step 2: mu must lie in \[0, 1\)"):
        on.run(rule, lambda x: x, [1.0], 5)


def test_wrong_gradient_shape_is_refused():
    rule = on.Adam()
    with pytest.raises(ValueError, match=r"grad_fn returned an array of shape \(3,\) at step 0"):
        rule.step(np.zeros(2), lambda x: np.zeros(3), rule.init(np.zeros(2)))


def test_a_grad_fn_that_is_not_one_is_refused():
    problem = on.problems.Rosenbrock()
    with pytest.raises(TypeError, match=r"pass problem.grad\), got Rosenbrock"):
        on.run(on.Adam(), problem, problem.start, 5)
    with pytest.raises(ValueError, match="grad_fn returned None at step 0"):
        on.run(on.Adam(), lambda x: None, problem.start, 5)


def test_non_finite_gradient_names_the_step():
    def grad(x):
        return np.array([np.nan]) if abs(x[0]) < 0.5 else x

    with pytest.raises(FloatingPointError, match="diverged at step 7: the gradient at step 7"):
        on.run(on.SGD(lr=0.1), grad, [1.0], 20)
    rule = on.SGD()
    with pytest.raises(FloatingPointError, match="the gradient at step 0 is not finite"):
        rule.step(np.zeros(1), lambda x: np.array([np.inf]), rule.init(np.zeros(1)))


def test_non_finite_step_names_the_step():
    rule = on.SGD(lr=1e300)
    with np.errstate(over="ignore"):
        with pytest.raises(FloatingPointError, match="the update at step 0 is not finite"):
            rule.step(np.array([1e10]), lambda x: x, rule.init(np.zeros(1)))


def test_bad_start_and_state_are_refused():
    rule = on.Adam()
    with pytest.raises(ValueError, match="x0 must be finite"):
        rule.init([1.0, np.nan])
    with pytest.raises(ValueError, match="x0 must be an array of numbers"):
        rule.init(["a", "b"])
    with pytest.raises(
        TypeError, match=r"Adam.step takes the state made by Adam.init \(AdamState\), got SGDState"
    ):
        rule.step(np.zeros(2), lambda x: x, on.SGD().init(np.zeros(2)))
    with pytest.raises(ValueError, match="the state's m has shape \\(3,\\)"):
        rule.step(np.zeros(2), lambda x: x, rule.init(np.zeros(3)))


def test_an_array_of_rates_is_runs_side_by_side():
    rates = np.array([0.01, 0.1, 0.3])
    x0 = np.tile(X0[:, None], (1, 3))

    def grad(x):  # column by column, as each run alone
        return np.stack([quad_grad(column) for column in x.T], axis=1)

    together = on.run(on.Adam(lr=rates), grad, x0, 20)
    for j, lr in enumerate(rates):
        np.testing.assert_array_equal(together[:, :, j], on.run(on.Adam(lr=lr), quad_grad, X0, 20))
    rule = on.SGD(lr=rates)
    assert not rule.lr.flags.writeable
    with pytest.raises(ValueError, match=r"lr must lie in \(0, inf\], got -0.1"):
        on.SGD(lr=np.array([0.1, -0.1]))
