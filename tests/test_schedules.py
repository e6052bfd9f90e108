"""Schedules: values worked out by hand, monotonicity, arrays, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optnotes import schedules as sch

T = np.arange(0, 400)


def test_values_by_hand():
    assert sch.constant(0.3)(17) == 0.3
    s = sch.step_decay(0.1, factor=0.5, every=10)
    assert [s(0), s(9), s(10), s(19), s(20), s(35)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]
    )
    assert sch.exponential_decay(2.0, k=0.1)(10) == pytest.approx(2.0 / math.e)
    assert sch.inverse_time_decay(1.0, k=0.5)(6) == pytest.approx(0.25)
    assert sch.inverse_sqrt_decay(0.3)(8) == pytest.approx(0.1)
    assert sch.inverse_sqrt_decay(1.0, k=0.25)(12) == pytest.approx(0.5)
    c = sch.cosine_decay(1.0, total=100, final=0.1)
    assert c(0) == pytest.approx(1.0)
    assert c(50) == pytest.approx(0.55)
    assert c(100) == pytest.approx(0.1) and c(250) == pytest.approx(0.1)
    w = sch.linear_warmup(0.4, steps=4)
    assert [w(0), w(1), w(2), w(3), w(4), w(50)] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.4, 0.4])
    m = sch.momentum_ramp(0.5, 0.99, steps=49)
    assert [m(0), m(49), m(1000)] == pytest.approx([0.5, 0.99, 0.99])


def test_warmup_into_a_schedule_starts_its_count_at_the_end_of_warmup():
    target = sch.step_decay(0.2, factor=0.1, every=5)
    w = sch.linear_warmup(target, steps=2)
    assert [w(0), w(1), w(2), w(6), w(7)] == pytest.approx([0.1, 0.2, 0.2, 0.2, 0.02])


def test_schedules_take_arrays_of_steps():
    for s in [
        sch.constant(0.1),
        sch.step_decay(0.1, 0.5, 3),
        sch.exponential_decay(0.1, 0.01),
        sch.inverse_time_decay(0.1, 0.01),
        sch.inverse_sqrt_decay(0.1),
        sch.cosine_decay(0.1, 50),
        sch.linear_warmup(0.1, 10),
        sch.momentum_ramp(),
    ]:
        values = s(T)
        assert values.shape == T.shape
        np.testing.assert_allclose(values, [s(int(t)) for t in T], rtol=1e-15)
        assert isinstance(s(3), float)


decaying = st.one_of(
    st.builds(sch.constant, st.floats(1e-6, 10)),
    st.builds(sch.step_decay, st.floats(1e-6, 10), st.floats(0.01, 1.0), st.integers(1, 50)),
    st.builds(sch.exponential_decay, st.floats(1e-6, 10), st.floats(0, 1)),
    st.builds(sch.inverse_time_decay, st.floats(1e-6, 10), st.floats(0, 10)),
    st.builds(sch.inverse_sqrt_decay, st.floats(1e-6, 10), st.floats(0, 10)),
    st.builds(sch.cosine_decay, st.floats(1e-3, 10), st.integers(1, 500), st.floats(0, 1e-3)),
)


@given(decaying)
def test_decaying_schedules_never_increase(s):
    values = s(T)
    assert np.all(np.diff(values) <= 1e-12 * values[0])
    assert np.all(values >= 0)


@given(target=decaying, steps=st.integers(1, 100))
def test_warmup_rises_then_follows_its_target(target, steps):
    w = sch.linear_warmup(target, steps=steps)
    ramp = w(np.arange(steps))
    assert np.all(np.diff(ramp) > 0) or steps == 1
    assert ramp[-1] == pytest.approx(target(0))
    np.testing.assert_allclose(w(np.arange(steps, steps + 100)), target(np.arange(100)))


@given(start=st.floats(0, 0.9), end=st.floats(0, 0.999), steps=st.integers(1, 100))
def test_momentum_ramp_stays_a_valid_momentum(start, end, steps):
    values = sch.momentum_ramp(start, end, steps)(T)
    assert np.all((values >= 0) & (values < 1))
    assert values[-1] == pytest.approx(end)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: sch.step_decay(0.1, factor=1.5, every=10), r"factor must lie in \(0, 1\]"),
        (lambda: sch.step_decay(0.1, factor=0.0, every=10), r"factor must lie in \(0, 1\]"),
        (lambda: sch.step_decay(0.1, factor=0.5, every=0), "every must be at least 1"),
        (lambda: sch.step_decay(0.1, factor=0.5, every=2.5), "every must be a whole number"),
        (lambda: sch.step_decay(-0.1, factor=0.5, every=2), r"initial must lie in \(0, inf\]"),
        (lambda: sch.exponential_decay(0.1, k=-1), r"k must lie in \[0, inf\]"),
        (lambda: sch.inverse_time_decay(0.1, k=float("nan")), "k must be finite"),
        (lambda: sch.inverse_sqrt_decay(0.1, k=-2), r"k must lie in \[0, inf\]"),
        (lambda: sch.cosine_decay(0.1, total=0), "total must be at least 1"),
        (lambda: sch.cosine_decay(0.1, total=10, final=0.5), r"final must lie in \[0, 0.1\]"),
        (lambda: sch.linear_warmup(0.1, steps=0), "steps must be at least 1"),
        (lambda: sch.linear_warmup(-0.1, steps=3), r"target must lie in \(0, inf\]"),
        (lambda: sch.momentum_ramp(0.5, 1.0), r"end must lie in \[0, 1\)"),
        (lambda: sch.constant(-1.0), r"value must lie in \[0, inf\]"),
    ],
)
def test_bad_schedule_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("t", [-1, 2.5, np.array([0, -3]), "3"])
def test_bad_steps_are_refused(t):
    with pytest.raises(ValueError, match="a schedule takes step counts t = 0, 1, 2"):
        sch.exponential_decay(0.1, 0.1)(t)
