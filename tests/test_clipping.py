"""Gradient clipping around any rule: values by hand, invariants, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optnotes as on
from optnotes.clipping import ClipByNorm, ClipByValue


def one_step(rule, g, x0=(0.0, 0.0)):
    """The step an SGD(lr=1) inside ``rule`` takes for a constant gradient g."""
    x, _ = rule.step(np.array(x0), lambda x: np.array(g, dtype=float), rule.init(x0))
    return -x


def test_values_by_hand():
    sgd = on.SGD(lr=1.0)
    np.testing.assert_allclose(one_step(ClipByNorm(sgd, max_norm=1.0), (3.0, 4.0)), (0.6, 0.8))
    np.testing.assert_allclose(one_step(ClipByNorm(sgd, max_norm=10.0), (3.0, 4.0)), (3.0, 4.0))
    # PyTorch's eps: 5 / (5 + 1e-6) of the way
    np.testing.assert_allclose(
        one_step(ClipByNorm(sgd, 5.0, eps=1e-6), (3.0, 4.0)), np.array([3.0, 4.0]) * 5 / 5.000001
    )
    np.testing.assert_allclose(one_step(ClipByValue(sgd, max_value=1.0), (3.0, -0.5)), (1.0, -0.5))


@settings(max_examples=200, deadline=None)
@given(
    g=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=6).filter(
        lambda g: np.linalg.norm(g) > 1e-9
    ),
    c=st.floats(1e-3, 1e3),
)
def test_clipping_by_norm_keeps_the_direction_and_caps_the_length(g, c):
    step = one_step(ClipByNorm(on.SGD(lr=1.0), max_norm=c), g, x0=[0.0] * len(g))
    g = np.array(g)
    assert np.linalg.norm(step) <= c * (1 + 1e-12)
    assert np.linalg.norm(step - g * min(1, c / np.linalg.norm(g))) <= 1e-12 * np.linalg.norm(g)
    cosine = step @ g / (np.linalg.norm(step) * np.linalg.norm(g))
    assert cosine == pytest.approx(1.0)


@settings(max_examples=200, deadline=None)
@given(g=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=6), c=st.floats(1e-3, 1e3))
def test_clipping_by_value_caps_each_coordinate(g, c):
    step = one_step(ClipByValue(on.SGD(lr=1.0), max_value=c), g, x0=[0.0] * len(g))
    assert np.all(np.abs(step) <= c)
    np.testing.assert_array_equal(step[np.abs(g) <= c], np.array(g)[np.abs(g) <= c])


def test_the_wrapped_rule_sees_the_clipped_gradient_wherever_it_asks():
    """Nesterov asks at its look-ahead point: the same as handing it a grad_fn
    that clips, and different from clipping only at the current point."""
    problem = on.problems.Cliff()
    rule = on.Nesterov(lr=1.0, mu=0.9)

    def clipped(x):
        g = problem.grad(x)
        return g * min(1.0, 1.0 / np.linalg.norm(g))

    wrapped = on.run(ClipByNorm(rule, max_norm=1.0), problem.grad, problem.start, 40)
    np.testing.assert_array_equal(wrapped, on.run(rule, clipped, problem.start, 40))
    assert np.abs(wrapped - on.run(rule, problem.grad, problem.start, 40)).max() > 1


def test_state_and_buffers_are_the_wrapped_rules():
    rule = ClipByNorm(on.Adam(lr=0.1), max_norm=1.0)
    assert rule.buffers == ("m", "v")
    assert type(rule.init((0.0, 0.0))) is on.Adam.State


@pytest.mark.parametrize(
    "make, error, message",
    [
        (
            lambda: ClipByNorm(on.SGD(), max_norm=0.0),
            ValueError,
            r"max_norm must lie in \(0, inf\]",
        ),
        (lambda: ClipByNorm(on.SGD(), 1.0, eps=-1.0), ValueError, r"eps must lie in \[0, inf\]"),
        (lambda: ClipByValue(on.SGD(), max_value=-1), ValueError, r"max_value must lie in"),
        (lambda: ClipByNorm("adam", 1.0), TypeError, "rule must be an optnotes rule"),
        (lambda: ClipByValue(on.SGD, 1.0), TypeError, "rule must be an optnotes rule"),
    ],
)
def test_bad_clipping_arguments_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_a_non_finite_gradient_raises_before_clipping_hides_it():
    rule = ClipByNorm(on.SGD(lr=0.1), max_norm=1.0)
    with pytest.raises(FloatingPointError, match="the gradient at step 0 is not finite"):
        rule.step(np.zeros(2), lambda x: np.array([np.inf, 0.0]), rule.init((0.0, 0.0)))


def test_cliff_problem():
    cliff = on.problems.Cliff()
    np.testing.assert_allclose(cliff.grad(np.array(cliff.minima[0])), 0, atol=1e-15)
    x = np.linspace(-10, 4, 20001)
    slope = np.abs(cliff.grad(np.array([x, 0 * x]))[0]).max()
    assert slope == pytest.approx(cliff.height * cliff.steepness / 4 + 0.1, rel=0.01)
    with pytest.raises(ValueError, match=r"steepness must lie in \(0, inf\]"):
        on.problems.Cliff(steepness=0)


def test_the_cliff_throws_gradient_descent_and_clipping_does_not():
    # clipping.md: at alpha = 1 the step on the cliff is more than ten times
    # longer than any other, lands beyond the minimum; clipped at 1, no step
    # is longer than alpha c = 1. Plain gradient descent, written out here.
    cliff = on.problems.Cliff()
    x, lengths = np.array(cliff.start), []
    for _ in range(60):
        step = -1.0 * cliff.grad(x)
        lengths.append(np.linalg.norm(step))
        x = x + step
    k = int(np.argmax(lengths))
    assert lengths[k] > 10 * max(np.delete(lengths, k))
    clipped = on.run(ClipByNorm(on.SGD(lr=1.0), max_norm=1.0), cliff.grad, cliff.start, 60)
    assert np.linalg.norm(np.diff(clipped, axis=0), axis=1).max() <= 1.0 + 1e-12


def test_a_zero_gradient_passes_through():
    # eps = 0 (optax's clip_by_global_norm): c / 0 must not turn into a NaN step
    for rule in (ClipByNorm(on.SGD(lr=1.0), max_norm=1.0), ClipByValue(on.SGD(), 1.0)):
        x, _ = rule.step(np.ones(2), lambda x: np.zeros(2), rule.init((1.0, 1.0)))
        np.testing.assert_array_equal(x, np.ones(2))


def test_clipping_slows_adam_less_on_the_cliff():
    # clipping.md: Adam (lr 0.3) is not thrown by the cliff, its longest step is
    # its first, sqrt(2) lr, clipped or not; clipped at 1 it comes within 0.05 of
    # the minimum sooner. Adam (PyTorch's form) and the clipping written out here.
    cliff, lr = on.problems.Cliff(), 0.3

    def adam(clip):
        x, m, v, xs = np.array(cliff.start), np.zeros(2), np.zeros(2), []
        xs.append(x)
        for t in range(1, 301):
            g = cliff.grad(x)
            if clip and np.linalg.norm(g) > 1.0:
                g = g / np.linalg.norm(g)
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g**2
            x = x - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
            xs.append(x)
        return np.array(xs)

    first_near = {}
    for clip in (False, True):
        xs = adam(clip)
        np.testing.assert_allclose(
            xs,
            on.run(
                ClipByNorm(on.Adam(lr=lr), max_norm=1.0) if clip else on.Adam(lr=lr),
                cliff.grad,
                cliff.start,
                300,
            ),
            rtol=1e-9,
            atol=1e-12,
        )
        lengths = np.linalg.norm(np.diff(xs, axis=0), axis=1)
        assert np.argmax(lengths) == 0
        assert lengths.max() == pytest.approx(np.sqrt(2) * lr, rel=1e-6)
        near = np.linalg.norm(xs - cliff.minima[0], axis=1) < 0.05
        first_near[clip] = int(np.argmax(near))
    assert first_near[True] < 0.8 * first_near[False], first_near
