"""The contract every rule keeps, checked for the rules of large models (each
rule's own numbers are in its test file: test_layerwise, test_adafactor,
test_sign, test_radam, test_memory)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import optnotes as on
from optnotes import bench, data, networks, problems

RULES = [Rule() for Rule in on.LARGE_MODEL_RULES] + [on.EightBit(on.Adam())]
IDS = [bench.rule_name(rule) for rule in RULES]


def grad(x):
    return np.sin(x) + x


@pytest.mark.parametrize("rule", RULES, ids=IDS)
@pytest.mark.parametrize("shape", [(3,), (4, 5), (1,)])
def test_a_step_keeps_the_shapes_and_counts(rule, shape):
    x0 = np.linspace(-1.0, 2.0, int(np.prod(shape))).reshape(shape)
    state = rule.init(x0)
    assert state.t == 0 and isinstance(state, rule.State)
    x1, state1 = rule.step(x0, grad, state)
    assert x1.shape == shape and type(state1) is type(state) and state1.t == 1
    assert not np.array_equal(x1, x0)


matrices = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=5), elements=st.floats(-5, 5)
)


@pytest.mark.parametrize("rule", RULES, ids=IDS)
@settings(max_examples=25, deadline=None)
@given(x0=matrices)
def test_a_step_changes_nothing_in_place(rule, x0):
    x, state = rule.step(x0, grad, rule.init(x0))  # a state with non-zero buffers
    x_copy = x.copy()
    state_copy = [np.copy(b) for b in state[1:] if isinstance(b, np.ndarray)]
    x2, _ = rule.step(x, grad, state)
    np.testing.assert_array_equal(x, x_copy)
    buffers = [b for b in state[1:] if isinstance(b, np.ndarray)]
    for before, after in zip(state_copy, buffers, strict=True):
        np.testing.assert_array_equal(after, before)
    assert x2 is not x and not np.shares_memory(x2, x)


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_one_gradient_per_step_and_bad_input_refused(rule):
    calls = []

    def counting(x):
        calls.append(1)
        return grad(x)

    on.run(rule, counting, np.ones((3, 2)), 7)
    assert len(calls) == 7
    with pytest.raises(FloatingPointError, match="gradient at step 0 is not finite"):
        rule.step(np.ones(2), lambda x: x * np.nan, rule.init(np.ones(2)))
    with pytest.raises(ValueError, match="must be finite"):
        rule.init(np.array([1.0, np.inf]))
    with pytest.raises(AttributeError):
        rule.lr = 0.5


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_each_trains_the_deep_network_by_layer(rule):
    """Matrices with the rule, vectors with Adam, one epoch on the digits: the
    loss falls (a smoke test of the rule under ByLayer on real layers)."""
    net = problems.deep_digits_network()
    X, y, X_test, y_test = data.digits()
    small = (X[:320], y[:320], X_test, y_test)
    by_layer = on.ByLayer(rule, vectors=on.Adam(lr=1e-3), layout=net.layout)
    history = networks.train(by_layer, net, small, epochs=2, batch_size=32)
    assert history.diverged_at is None
    assert history.train_loss[-1] < history.train_loss[0]


def test_the_benchmark_covers_every_rule():
    names = [bench.rule_name(rule) for rule in bench.every_rule()]
    expected = [R.__name__ for R in (*on.ALL_RULES, *on.LARGE_MODEL_RULES, *on.MATRIX_RULES)]
    assert names == [*expected, "EightBit(Adam)"]
    (row,) = bench.bench_rules(big=10_000, repeats=1, steps=2, rules=[on.Adafactor()])
    # Adafactor on a 100 x 100 matrix keeps a row and a column: 200 numbers.
    assert row["rule"] == "Adafactor" and row["state_bytes"] == 8 * 200
