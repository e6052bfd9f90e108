"""Parameters as layers: the ByLayer combinator, a network's named layers, and
the problems with layers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import optnotes as on
from optnotes import _checks, analysis, data, layers, networks, problems
from optnotes.layers import ByLayer

NET = problems.deep_digits_network()
X, Y, X_TEST, Y_TEST = data.digits()


def network_grad(net, batch=64):
    """The gradient of the network's loss on a fixed batch, as named layers."""

    def grad_fn(params):
        w = net.flat(params)
        return net.named(net.loss_and_grad(w, X[:batch], Y[:batch])[1])

    return grad_fn


def test_the_deep_network_has_three_weight_matrices():
    matrices = [name for name, shape in NET.layout if len(shape) == 2]
    assert matrices == ["W1", "W2", "W3"]
    assert NET.layout[0] == ("W1", (64, 64)) and NET.layout[-1] == ("b3", (10,))
    assert sum(int(np.prod(s)) for _, s in NET.layout) == NET.n_params


def test_named_layers_are_the_flat_vector_cut_in_order():
    w = NET.init(seed=3)
    named = NET.named(w)
    for (W, b), k in zip(NET.layers(w), (1, 2, 3), strict=True):
        np.testing.assert_array_equal(named[f"W{k}"], W)
        np.testing.assert_array_equal(named[f"b{k}"], b)
    np.testing.assert_array_equal(NET.flat(named), w)
    named["W1"][0, 0] = 99.0  # copies: the flat vector is not changed
    assert w[0] != 99.0


def test_by_layer_matches_the_rule_applied_block_by_block():
    """Adam on the matrices, AdamW on the vectors, each block with its own state,
    written out by hand."""
    matrices, vectors = on.Adam(lr=1e-2), on.AdamW(lr=3e-3, weight_decay=0.1)
    rule = ByLayer(matrices, vectors=vectors)
    grad_fn = network_grad(NET)
    params = NET.named(NET.init(seed=1))
    state = rule.init(params)
    by_hand = dict(params)
    hand_states = {k: (matrices if b.ndim == 2 else vectors).init(b) for k, b in by_hand.items()}
    for _ in range(5):
        params, state = rule.step(params, grad_fn, state)
        g = grad_fn(by_hand)
        for k, block in by_hand.items():
            block_rule = matrices if block.ndim == 2 else vectors
            by_hand[k], hand_states[k] = block_rule.step(
                block, lambda _, k=k, g=g: g[k], hand_states[k]
            )
    assert state.t == 5
    for k in params:
        np.testing.assert_array_equal(params[k], by_hand[k])


@pytest.mark.parametrize("Rule", [on.Adam, on.Nesterov, on.RMSPropNesterov, on.Momentum])
def test_an_elementwise_rule_by_layer_is_the_rule_on_the_whole_vector(Rule):
    """Rules that treat each coordinate alone give the same path either way, also
    the ones that take the gradient at a look-ahead point (Nesterov)."""
    rule = Rule()
    w0 = NET.init(seed=2)
    flat_grad = lambda w: NET.loss_and_grad(w, X[:50], Y[:50])[1]  # noqa: E731
    whole = on.run(rule, flat_grad, w0, 6)
    by_layer = on.run(ByLayer(rule, layout=NET.layout), flat_grad, w0, 6)
    np.testing.assert_allclose(by_layer, whole, rtol=1e-13, atol=1e-15)


def test_nesterov_by_layer_takes_one_gradient_at_the_look_ahead_point():
    seen = []

    def grad_fn(params):
        seen.append({k: v.copy() for k, v in params.items()})
        return {k: np.ones_like(v) for k, v in params.items()}

    rule = ByLayer(on.Nesterov(lr=0.1, mu=0.5))
    params = {"W": np.zeros((2, 3)), "b": np.zeros(3)}
    state = rule.init(params)
    for _ in range(2):
        params, state = rule.step(params, grad_fn, state)
    assert len(seen) == 2
    # u1 = 0.1, x1 = -0.1; the look-ahead x1 - 0.5 u1 = -0.15 in every entry
    np.testing.assert_allclose(seen[1]["W"], -0.15)
    np.testing.assert_allclose(seen[1]["b"], -0.15)


def test_flat_and_named_forms_give_the_same_path():
    rule = on.Adam(lr=1e-2)
    w0 = NET.init(seed=4)
    flat_grad = lambda w: NET.loss_and_grad(w, X[:40], Y[:40])[1]  # noqa: E731
    flat = ByLayer(rule, vectors=on.SGD(lr=0.1), layout=NET.layout)
    named = ByLayer(rule, vectors=on.SGD(lr=0.1))
    w, s1 = w0, flat.init(w0)
    p, s2 = NET.named(w0), named.init(NET.named(w0))
    for _ in range(4):
        w, s1 = flat.step(w, flat_grad, s1)
        p, s2 = named.step(p, lambda q: NET.named(flat_grad(NET.flat(q))), s2)
    np.testing.assert_array_equal(NET.flat(p), w)


def test_networks_train_takes_a_by_layer_rule():
    rule = ByLayer(on.Adam(lr=3e-3), vectors=on.SGD(lr=0.1), layout=NET.layout)
    history = networks.train(rule, NET, data.digits(), epochs=2, batch_size=64)
    assert history.diverged_at is None
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]


def test_grad_fn_is_called_once_per_step():
    calls = []

    def grad_fn(params):
        calls.append(1)
        return {k: 0.1 * v for k, v in params.items()}

    rule = ByLayer(on.Nesterov(), vectors=on.Adam())
    params = {"W": np.ones((3, 2)), "b": np.ones(2), "c": np.ones(4)}
    state = rule.init(params)
    for _ in range(3):
        params, state = rule.step(params, grad_fn, state)
    assert len(calls) == 3


blocks = st.dictionaries(
    st.sampled_from(["W1", "b1", "W2", "gain"]),
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=4),
        elements=st.floats(-10, 10),
    ),
    min_size=1,
)


@settings(max_examples=40, deadline=None)
@given(params=blocks)
def test_a_step_changes_nothing_in_place(params):
    rule = ByLayer(on.Adam(), vectors=on.Momentum())
    grad_fn = lambda p: {k: np.sin(v) + v for k, v in p.items()}  # noqa: E731
    params, state = rule.step(params, grad_fn, rule.init(params))
    before = {k: v.copy() for k, v in params.items()}
    state_before = {k: [np.copy(b) for b in s[1:]] for k, s in state.blocks.items()}
    new, new_state = rule.step(params, grad_fn, state)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
        assert not np.shares_memory(new[k], params[k])
        for b, b0 in zip(state.blocks[k][1:], state_before[k], strict=True):
            np.testing.assert_array_equal(b, b0)
    assert list(new_state.blocks) == list(params) and new_state.t == 2
    for k, s in new_state.blocks.items():
        block_rule = on.Adam() if params[k].ndim == 2 else on.Momentum()
        assert type(s) is block_rule.State


def test_state_bytes_walk_each_blocks_state():
    rule = ByLayer(on.Adam(), vectors=on.SGD())
    params = NET.named(NET.init())
    matrices = sum(b.size for b in params.values() if b.ndim == 2)
    assert analysis.held_bytes(rule.init(params)) == 2 * 8 * matrices
    assert analysis.state_bytes(rule, params) == 2 * 8 * matrices


# --- Bad input ------------------------------------------------------------------------


def test_bad_input_is_refused_with_its_cause():
    params = {"W": np.ones((2, 2)), "b": np.ones(2)}
    rule = ByLayer(on.Adam())
    state = rule.init(params)
    with pytest.raises(TypeError, match="must be an optnotes rule"):
        ByLayer("adam")
    with pytest.raises(TypeError, match="dict of named arrays"):
        rule.init(np.ones(3))
    with pytest.raises(ValueError, match="no blocks"):
        rule.init({})
    with pytest.raises(ValueError, match=r"x0\['W'\] must be finite"):
        rule.init({"W": np.array([[np.nan]])})
    with pytest.raises(ValueError, match=r"blocks \['W'\] but the state was made for \['W', 'b'\]"):
        rule.step({"W": np.ones((2, 2))}, lambda p: p, state)
    with pytest.raises(TypeError, match="state made by ByLayer.init"):
        rule.step(params, lambda p: p, on.Adam().init(np.ones(2)))
    with pytest.raises(ValueError, match=r"each block \['W', 'b'\] at step 0, got \['W'\]"):
        rule.step(params, lambda p: {"W": p["W"]}, state)
    with pytest.raises(ValueError, match="block 'b' has shape \\(3,\\) at step 0"):
        rule.step(params, lambda p: {"W": p["W"], "b": np.ones(3)}, state)
    with pytest.raises(FloatingPointError, match="block 'W' at step 0 is not finite"):
        rule.step(params, lambda p: {"W": p["W"] * np.nan, "b": p["b"]}, state)
    with pytest.raises(TypeError, match="grad_fn must be a function"):
        rule.step(params, None, state)
    with pytest.raises(ValueError, match="layout must be pairs"):
        ByLayer(on.Adam(), layout=5)
    with pytest.raises(ValueError, match="name each block once"):
        ByLayer(on.Adam(), layout=(("W", (2, 2)), ("W", (2,))))
    flat = ByLayer(on.Adam(), layout=NET.layout)
    with pytest.raises(ValueError, match=f"layout holds {NET.n_params} parameters"):
        flat.init(np.ones(7))
    with pytest.raises(ValueError, match="must be finite"):
        flat.init(np.full(NET.n_params, np.inf))


def test_a_rule_that_needs_a_matrix_names_the_shape_and_the_combinator():
    with pytest.raises(ValueError, match=r"a weight matrix, but got parameters of shape \(5,\)"):
        _checks.matrix("Muon", np.ones(5))
    with pytest.raises(ValueError, match=r"ByLayer\(Muon\(\), vectors=AdamW\(\)\)"):
        _checks.matrix("Muon", np.ones((2, 2, 2)))
    assert _checks.matrix("Muon", np.ones((2, 3))).shape == (2, 3)


def test_network_views_refuse_the_wrong_structure():
    with pytest.raises(ValueError, match="takes 6570 parameters, got shape \\(3,\\)"):
        NET.named(np.ones(3))
    params = NET.named(NET.init())
    del params["b3"]
    with pytest.raises(ValueError, match="has layers"):
        NET.flat(params)
    with pytest.raises(ValueError, match="has layers"):
        NET.flat(np.ones(NET.n_params))


# --- The matrix problem ------------------------------------------------------------


def test_matrix_least_squares_gradient_and_hessian():
    p = problems.MatrixLeastSquares(shape=(4, 3), condition=(30.0, 5.0), seed=1)
    W = np.random.default_rng(0).normal(size=(4, 3))
    h = 1e-6
    numeric = np.zeros_like(W)
    for i in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[i] = h
        numeric[i] = (p.value(W + E) - p.value(W - E)) / (2 * h)
    np.testing.assert_allclose(p.grad(W), numeric, rtol=1e-6, atol=1e-8)
    # The Hessian over W's entries (row-major) maps vec(W - W*) to vec(grad).
    np.testing.assert_allclose(
        p.hessian() @ (W - p.w_star).ravel(), p.grad(W).ravel(), rtol=1e-12, atol=1e-12
    )
    eig = np.linalg.eigvalsh(p.hessian())
    assert eig.min() == pytest.approx(1.0) and eig.max() == pytest.approx(150.0)
    assert p.value(p.w_star) == pytest.approx(0.0, abs=1e-20)


def test_matrix_least_squares_is_seeded_and_checks_its_input():
    a, b = problems.MatrixLeastSquares(seed=2), problems.MatrixLeastSquares(seed=2)
    np.testing.assert_array_equal(a.w_star, b.w_star)
    g1, g2 = a.oracle(0.1, seed=5), b.oracle(0.1, seed=5)
    np.testing.assert_array_equal(g1(a.start), g2(b.start))
    assert not np.array_equal(g1(a.start), a.grad(a.start))
    with pytest.raises(ValueError, match=r"takes a matrix of shape \(8, 6\), got \(6, 8\)"):
        a.grad(np.zeros((6, 8)))
    with pytest.raises(ValueError, match="condition must lie in"):
        problems.MatrixLeastSquares(condition=(0.5, 2.0))
    with pytest.raises(ValueError, match="shape must be two whole numbers"):
        problems.MatrixLeastSquares(shape=(3,))
    with pytest.raises(ValueError, match="noise must lie in"):
        a.oracle(-1.0)


def test_the_readme_example_trains_the_deep_network():
    """README, "The package in five lines": LAMB on the matrices, AdamW on the
    vectors, five epochs: test accuracy 0.95."""
    rule = on.ByLayer(on.LAMB(lr=1e-2), vectors=on.AdamW(lr=1e-2), layout=NET.layout)
    history = on.networks.train(rule, NET, on.data.digits(), epochs=5)
    assert round(history.test_accuracy[-1], 2) == 0.95


def test_a_rule_gets_its_block_gradient_once_and_where_it_asked():
    """A rule that asks for a second gradient in a step (extragradient) would get
    the first one again: ByLayer says so instead."""

    class Extragradient(on.SGD):
        def step(self, x, grad_fn, state):
            (t,) = self.unpack(state, x)
            half = x - self.lr * grad_fn(x)
            return x - self.lr * grad_fn(half), on.rules.SGDState(t + 1)

    rule = ByLayer(Extragradient(lr=0.5))
    params = {"b": np.ones(2)}
    with pytest.raises(RuntimeError, match="asked for a second gradient in one step"):
        rule.step(params, lambda p: dict(p), rule.init(params))


def test_wrappers_act_per_block_and_whole_vector_rules_are_refused():
    from optnotes.conjugate_gradient import NonlinearCG
    from optnotes.quasi_newton import LBFGS

    params = {"W": np.full((3, 2), 1.0), "b": np.full(2, 1.0)}
    grad_fn = lambda p: {k: np.full_like(v, 10.0) for k, v in p.items()}  # noqa: E731
    # Inside ByLayer, clipping by norm clips each block by its own norm ...
    per_block = ByLayer(on.ClipByNorm(on.SGD(lr=1.0), max_norm=1.0))
    stepped, _ = per_block.step(params, grad_fn, per_block.init(params))
    np.testing.assert_allclose(1 - stepped["W"], 1 / np.sqrt(6))
    np.testing.assert_allclose(1 - stepped["b"], 1 / np.sqrt(2))
    # ... around it, by the global norm, on the flat vector.
    layout = layers.layout_of(params)
    whole = on.ClipByNorm(ByLayer(on.SGD(lr=1.0), layout=layout), max_norm=1.0)
    x = layers.flatten(params)
    stepped, _ = whole.step(x, lambda x: np.full_like(x, 10.0), whole.init(x))
    np.testing.assert_allclose(1 - stepped, 1 / np.sqrt(8))
    with pytest.raises(TypeError, match="got a dict of named arrays: use ByLayer"):
        on.ClipByNorm(ByLayer(on.SGD())).step(params, grad_fn, ByLayer(on.SGD()).init(params))
    for rule in (LBFGS(), NonlinearCG(), on.ClipByNorm(LBFGS())):
        with pytest.raises(ValueError, match="ByLayer cannot run .*: a quasi-Newton"):
            ByLayer(rule)
    with pytest.raises(TypeError, match="with layout=, ByLayer takes the flat vector"):
        ByLayer(on.SGD(), layout=layout).init(params)


def test_the_callers_gradient_dict_is_left_as_it_is():
    stored = {"W": np.ones((2, 2), dtype=np.float32), "b": [1.0, 1.0]}
    rule = ByLayer(on.SGD(lr=0.1))
    params = {"W": np.zeros((2, 2)), "b": np.zeros(2)}
    rule.step(params, lambda p: stored, rule.init(params))
    assert stored["W"].dtype == np.float32 and stored["b"] == [1.0, 1.0]
