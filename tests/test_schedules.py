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


def test_new_schedules_by_hand():
    p = sch.polynomial_decay(1.0, total=4, power=2, final=0.2)
    assert [p(0), p(1), p(2), p(4), p(9)] == pytest.approx([1.0, 0.65, 0.4, 0.2, 0.2])
    assert sch.polynomial_decay(0.5, total=10)(3) == pytest.approx(0.35)  # linear to 0
    r = sch.cosine_restarts(1.0, period=4, final=0.2)
    # cos(pi/4) = sqrt(2)/2: 0.2 + 0.8 (1 + 0.7071...)/2
    assert [r(0), r(2), r(4), r(6), r(8)] == pytest.approx([1.0, 0.6, 1.0, 0.6, 1.0])
    assert r(1) == pytest.approx(0.2 + 0.4 * (1 + math.sqrt(0.5)))
    m = sch.cosine_restarts(1.0, period=2, mult=3)  # cycles of 2, 6, 18 from 0, 2, 8
    assert [m(0), m(1), m(2), m(5), m(8), m(17)] == pytest.approx([1, 0.5, 1, 0.5, 1, 0.5])
    o = sch.one_cycle(1.0, warmup=2, total=6, div=4.0, final_div=10.0, anneal="linear")
    assert [o(0), o(1), o(2), o(4), o(6), o(7)] == pytest.approx(
        [0.25, 0.625, 1.0, 0.5125, 0.025, 0.025]
    )
    c = sch.one_cycle(1.0, warmup=2, total=6, div=4.0, final_div=10.0)
    assert c(1) == pytest.approx(0.625) and c(4) == pytest.approx(0.5125)  # cos at the middle
    assert c(3) == pytest.approx(0.025 + 0.975 * 0.5 * (1 + math.cos(math.pi / 4)))
    b = sch.one_cycle(1.0, warmup=2, total=6, div=4.0, final_div=10.0, anneal="linear", back=4)
    assert [b(2), b(3), b(4), b(5), b(6)] == pytest.approx([1.0, 0.625, 0.25, 0.1375, 0.025])
    mu = sch.one_cycle_momentum(o, low=0.8, high=0.9)
    assert [mu(0), mu(1), mu(2), mu(4), mu(6), mu(9)] == pytest.approx(
        [0.9, 0.85, 0.8, 0.85, 0.9, 0.9]
    )
    mu3 = sch.one_cycle_momentum(b, low=0.8, high=0.9)
    assert [mu3(2), mu3(3), mu3(4), mu3(5)] == pytest.approx([0.8, 0.85, 0.9, 0.9])
    w = sch.warmup_stable_decay(1.0, warmup=2, stable=3, decay=4, final=0.2)
    assert [w(0), w(1), w(2), w(4), w(5), w(7), w(9), w(30)] == pytest.approx(
        [0.5, 1.0, 1.0, 1.0, 1.0, 0.6, 0.2, 0.2]
    )
    assert sch.warmup_stable_decay(1.0, 1, 0, 4, shape="1-sqrt")(2) == pytest.approx(0.5)
    assert sch.warmup_stable_decay(1.0, 1, 0, 4, shape="cosine")(3) == pytest.approx(0.5)


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
        sch.polynomial_decay(0.1, 50, power=0.5),
        sch.cosine_restarts(0.1, 7, mult=2, final=0.01),
        sch.one_cycle(0.1, 30, 200, anneal="linear", back=60),
        sch.one_cycle_momentum(sch.one_cycle(0.1, 30, 200)),
        sch.warmup_stable_decay(0.1, 10, 100, 50, shape="1-sqrt"),
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
    st.builds(
        sch.polynomial_decay,
        st.floats(1e-3, 10),
        st.integers(1, 500),
        st.floats(0.1, 5),
        st.floats(0, 1e-3),
    ),
)


@given(
    peak=st.floats(1e-4, 10),
    warmup=st.integers(1, 50),
    rest=st.integers(1, 300),
    div=st.floats(1, 100),
    anneal=st.sampled_from(["cos", "linear"]),
)
def test_one_cycle_rises_to_its_peak_then_falls_and_momentum_mirrors_it(
    peak, warmup, rest, div, anneal
):
    cycle = sch.one_cycle(peak, warmup, warmup + rest, div=div, anneal=anneal)
    values = cycle(np.arange(warmup + rest + 5))
    assert np.all(np.diff(values[: warmup + 1]) >= 0) and np.all(np.diff(values[warmup:]) <= 0)
    assert values.max() == pytest.approx(peak) and values[0] == pytest.approx(peak / div)
    mu = sch.one_cycle_momentum(cycle)(np.arange(warmup + rest + 5))
    # the momentum falls while the rate rises and rises while it falls
    assert np.all(np.sign(np.diff(mu)) * np.sign(np.diff(values)) <= 0)


@given(
    peak=st.floats(1e-4, 10),
    stable=st.integers(0, 100),
    decay=st.integers(1, 100),
    shape=st.sampled_from(["linear", "cosine", "1-sqrt"]),
)
def test_warmup_stable_decay_holds_its_peak_then_never_rises(peak, stable, decay, shape):
    w = sch.warmup_stable_decay(peak, 10, stable, decay, final=peak / 10, shape=shape)
    values = w(np.arange(10 + stable + decay + 20))
    np.testing.assert_allclose(values[9 : 10 + stable + 1], peak)
    assert np.all(np.diff(values[10:]) <= 1e-12 * peak)
    assert values[-1] == pytest.approx(peak / 10)


@given(period=st.integers(1, 20), mult=st.integers(1, 4))
def test_cosine_restarts_restart_at_the_start_of_every_cycle(period, mult):
    r = sch.cosine_restarts(1.0, period, mult=mult, final=0.1)
    values = r(np.arange(2000))
    starts = np.flatnonzero(values == 1.0)
    lengths = np.diff(starts)
    np.testing.assert_array_equal(lengths, period * mult ** np.arange(len(lengths)))
    assert np.all(values > 0.1)  # one step short of the floor at the end of a cycle


def test_cosine_restarts_without_growth_count_cycles_by_remainder():
    # mult = 1 is computed as t mod T0 (fast for any t); the same values as a
    # search over the cycles' starts, typed out here
    t = np.arange(1000)
    for period in (1, 3, 7, 100):
        starts = np.arange(0, 1000 + period, period)
        since = t - starts[np.searchsorted(starts, t, side="right") - 1]
        expected = 0.01 + 0.29 * 0.5 * (1 + np.cos(np.pi * since / period))
        np.testing.assert_allclose(sch.cosine_restarts(0.3, period, final=0.01)(t), expected)
    assert sch.cosine_restarts(0.3, 7)(7 * 10**11) == pytest.approx(0.3)  # at once


def test_decayed_schedules_end_below_the_constant_rates_noise_floor():
    # schedules.md, "A constant rate against a decayed one": every schedule of
    # the experiment that has decayed by the last step ends the run below the
    # noise floor of the constant rate, at the experiment's defaults.
    from optnotes import problems, rules
    from optnotes.experiments import SCHEDULES, schedule_named
    from optnotes.plots import trace

    problem = problems.LeastSquares()
    f_star = float(problem.value(np.array(problem.minima[0])))
    lr, steps = 0.3, 400

    def gaps(name):
        rate = schedule_named(name, lr, steps)
        oracle = problem.minibatch_oracle(4, seed=3)
        xs = trace(rules.SGD(lr=rate), oracle, problem.start, steps).xs
        return problem.value(xs.T) - f_star, rate(steps - 1)

    constant, _ = gaps("constant")
    floor = constant[steps // 2 :].mean()  # the constant rate, settled
    decayed = 0
    for name in SCHEDULES[1:]:
        gap, last_rate = gaps(name)
        if last_rate < lr / 10:
            decayed += 1
            assert gap[-1] < floor / 5, name
    assert decayed >= 7


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
        (lambda: sch.polynomial_decay(0.1, total=10, power=0), r"power must lie in \(0, inf\]"),
        (lambda: sch.polynomial_decay(0.1, total=10, final=1.0), r"final must lie in \[0, 0.1\]"),
        (lambda: sch.cosine_restarts(0.1, period=0), "period must be at least 1"),
        (lambda: sch.cosine_restarts(0.1, period=5, mult=1.5), "mult must be a whole number"),
        (lambda: sch.one_cycle(0.1, warmup=10, total=10), "total must be at least 11"),
        (lambda: sch.one_cycle(0.1, 10, 50, back=8), "back must be at least 11"),
        (lambda: sch.one_cycle(0.1, 10, 50, back=60), "total must be at least 61"),
        (lambda: sch.one_cycle(0.1, 10, 50, div=0.5), r"div must lie in \[1, inf\]"),
        (lambda: sch.one_cycle(0.1, 10, 50, anneal="cosine"), "anneal must be one of"),
        (lambda: sch.one_cycle(0.1, 10, 50, anneal=["cos"]), "anneal must be one of"),
        (lambda: sch.one_cycle(0.1, 10, 50, final_div=0.5), r"final_div must lie in \[1, inf\]"),
        (lambda: sch.cosine_restarts(0.1, 5, final=0.2), r"final must lie in \[0, 0.1\]"),
        (lambda: sch.polynomial_decay(0.1, total=10.0), "total must be a whole number"),
        (lambda: sch.one_cycle_momentum(sch.constant(0.1)), "cycle must be a one_cycle"),
        (
            lambda: sch.one_cycle_momentum(sch.one_cycle(0.1, 10, 50), low=0.95, high=0.9),
            "low must be at most high",
        ),
        (lambda: sch.warmup_stable_decay(0.1, 0, 10, 10), "warmup must be at least 1"),
        (lambda: sch.warmup_stable_decay(0.1, 5, -1, 10), "stable must be at least 0"),
        (lambda: sch.warmup_stable_decay(0.1, 5, 5, 10, shape="exp"), "shape must be one of"),
        (lambda: sch.warmup_stable_decay(0.1, 5, 5, 10, shape=None), "shape must be one of"),
        (lambda: sch.warmup_stable_decay(0.1, 5, 5, 0), "decay must be at least 1"),
        (lambda: sch.warmup_stable_decay(0.1, 5, 5, 5, final=0.2), r"final must lie in \[0, 0.1\]"),
    ],
)
def test_bad_schedule_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("t", [-1, 2.5, np.array([0, -3]), "3"])
def test_bad_steps_are_refused(t):
    with pytest.raises(ValueError, match="a schedule takes step counts t = 0, 1, 2"):
        sch.exponential_decay(0.1, 0.1)(t)


def test_polynomial_powers_above_one_fall_fast_first_and_below_one_last():
    # schedules.md: "Powers above 1 fall fast first and flatten near the end;
    # powers below 1, the other way round" (and 1 is a straight line).
    t = np.arange(101)
    for power, faster in ((2.0, "first"), (0.5, "last"), (1.0, None)):
        drops = -np.diff(sch.polynomial_decay(1.0, total=100, power=power)(t))
        if faster == "first":
            assert drops[0] > 10 * drops[-1]
        elif faster == "last":
            assert drops[-1] > 10 * drops[0]
        else:
            np.testing.assert_allclose(drops, 0.01)
