"""Iterate averaging around any rule: against plain averages, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optnotes as on


def averages(rule, steps, problem=None):
    problem = problem or on.problems.ravine(10)
    x, state = np.array(problem.start), rule.init(problem.start)
    xs, kept = [], []
    for _ in range(steps):
        x, state = rule.step(x, problem.grad, state)
        xs.append(x)
        kept.append(state.average)
    return np.array(xs), np.array(kept)


@settings(max_examples=30, deadline=None)
@given(lr=st.floats(0.01, 1.5), steps=st.integers(1, 60))
def test_polyak_average_is_the_mean_of_the_iterates(lr, steps):
    xs, kept = averages(on.PolyakAverage(on.Momentum(lr=lr, mu=0.5)), steps)
    # the wrapped rule's own iterates are untouched
    plain = on.run(
        on.Momentum(lr=lr, mu=0.5), on.problems.ravine(10).grad, on.problems.ravine(10).start, steps
    )[1:]
    np.testing.assert_array_equal(xs, plain)
    means = np.cumsum(xs, axis=0) / np.arange(1, steps + 1)[:, None]
    np.testing.assert_allclose(kept, means, rtol=1e-12, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(decay=st.floats(0.0, 0.999), steps=st.integers(1, 60))
def test_ema_weights_weigh_the_iterates_geometrically(decay, steps):
    xs, kept = averages(on.EMAWeights(on.SGD(lr=0.5), decay=decay), steps)
    # closed form: beta^(t-1) x_1 + sum_{k=2}^t (1 - beta) beta^(t-k) x_k
    t = steps
    weights = np.array(
        [decay ** (t - 1)] + [(1 - decay) * decay ** (t - k) for k in range(2, t + 1)]
    )
    assert weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(kept[-1], weights @ xs, rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(start=st.integers(0, 30), steps=st.integers(1, 60))
def test_tail_average_is_the_mean_of_the_iterates_after_start(start, steps):
    xs, kept = averages(on.PolyakAverage(on.SGD(lr=0.3), start=start), steps)
    for t in range(1, steps + 1):  # t steps taken
        expected = xs[t - 1] if t <= start else xs[start:t].mean(axis=0)
        np.testing.assert_allclose(kept[t - 1], expected, rtol=1e-12, atol=1e-14)


def test_buffers_and_state():
    rule = on.EMAWeights(on.Adam(lr=0.1), decay=0.9)
    assert rule.buffers == ("m", "v", "average")
    state = rule.init((1.0, 2.0))
    assert state.t == 0 and type(state.inner) is on.Adam.State
    with pytest.raises(TypeError, match="takes the state made by its init"):
        rule.step(np.zeros(2), lambda x: x, on.Adam(lr=0.1).init((1.0, 2.0)))


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: on.EMAWeights(on.SGD(), decay=1.0), ValueError, r"decay must lie in \[0, 1\)"),
        (lambda: on.EMAWeights(on.SGD(), decay=-0.1), ValueError, r"decay must lie in \[0, 1\)"),
        (lambda: on.PolyakAverage("SGD"), TypeError, "rule must be an optnotes rule"),
        (lambda: on.PolyakAverage(on.SGD(), start=-1), ValueError, "start must be at least 0"),
        (lambda: on.PolyakAverage(on.SGD(), start=2.5), ValueError, "start must be a whole"),
    ],
)
def test_bad_averaging_arguments_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make()
