"""The generalisation chapter: Wilson et al.'s example rebuilt from the paper,
the protocol checked on a tiny case, and the chapter's claims recomputed.

The recomputation of the chapter's measurement below does not call
``tune_and_test``: it runs the same protocol with its own loop over
``networks.train`` and checks the conditions the chapter's sentences state.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

import optnotes as on
from optnotes import data, networks
from optnotes import generalisation as gen

# --- Wilson et al. (2017, §3), from the paper's formula -------------------------


def paper_features(y):
    """x_ij (1-based j) = y_i for j = 1; 1 for j = 2, 3; 1 for
    j = 4 + 5(i-1), ..., 4 + 5(i-1) + 2(1 - y_i); 0 otherwise."""
    n = len(y)
    X = np.zeros((n, 3 + 5 * n))
    for i in range(1, n + 1):
        yi = int(y[i - 1])
        X[i - 1, 0] = yi
        X[i - 1, 1] = X[i - 1, 2] = 1
        first = 4 + 5 * (i - 1)
        for j in range(first, first + 2 * (1 - yi) + 1):
            X[i - 1, j - 1] = 1
    return X


def error_by_enumeration(w, p):
    """Score a new example of each label: its own features are new columns."""
    wrong = 0.0
    for label, prob in ((1, p), (-1, 1 - p)):
        own = 1 if label > 0 else 5
        x = np.concatenate([[label, 1, 1], np.zeros(w.size - 3), np.ones(own)])
        score = x @ np.concatenate([w, np.zeros(own)])
        wrong += prob * (np.sign(score) != label)
    return wrong


def test_wilson_data_is_the_papers_construction():
    X, y = gen.wilson_data(n=50, p=0.6, seed=0)
    np.testing.assert_array_equal(X, paper_features(y))
    assert np.sum(y > 0) > np.sum(y < 0)
    np.testing.assert_array_equal(X @ np.sign(X.T @ y), 4 * y)  # the lemma's condition


def test_gradient_descent_finds_the_minimum_norm_fit_and_adagrad_the_sign_direction():
    """Own loops, from the update rules (not optnotes.rules)."""
    p = 0.6
    X, y = gen.wilson_data(n=50, p=p, seed=0)
    n, d = X.shape
    w_min = np.linalg.pinv(X) @ y
    w = np.zeros(d)
    for _ in range(1000):
        w -= 0.5 * X.T @ (X @ w - y) / n
    np.testing.assert_allclose(w, w_min, atol=1e-12)
    assert error_by_enumeration(w, p) == 0.0 == gen.wilson_test_error(w, p)

    w, r = np.zeros(d), np.zeros(d)
    s = np.sign(X.T @ y)
    for k in range(1000):  # Duchi et al.'s diagonal Adagrad
        g = X.T @ (X @ w - y) / n
        r += g**2
        w -= 0.1 * g / (np.sqrt(r) + 1e-7)
        if k < 5:  # on the line, up to ε, while the residual is large
            assert w @ s / (np.linalg.norm(w) * np.linalg.norm(s)) > 1 - 1e-9
    # ε and rounding move it off the line a little, not more.
    assert w @ s / (np.linalg.norm(w) * np.linalg.norm(s)) > 1 - 1e-6
    assert np.mean((X @ w - y) ** 2) < 1e-20
    assert error_by_enumeration(w, p) == pytest.approx(1 - p)
    assert gen.wilson_test_error(w, p) == pytest.approx(1 - p)


def test_minimum_norm_fit_errs_only_without_negative_examples():
    """The chapter: w* = X^T (X X^T)^{-1} y classifies every new example
    correctly whenever the training set holds a negative example, and errs
    like the adaptive rules when it holds none.

    By symmetry a_i takes one value, A, on the P positive examples and one, B,
    on the N negative ones; X X^T = D + y y^T + 2 1 1^T with D = diag(1 or 5).
    SymPy solves for w_1 = sum_i a_i y_i and w_2 = w_3 = sum_i a_i, and a new
    negative example, scored 2 w_2 - w_1, is right iff N (8P + 3) > 5P."""
    import sympy as sp

    P, N = sp.symbols("P N", nonnegative=True)
    A, B = sp.symbols("A B")
    w1, w2 = P * A - N * B, P * A + N * B
    sol = sp.solve([A + w1 + 2 * w2 - 1, 5 * B - w1 + 2 * w2 + 1], [A, B], dict=True)[0]
    w1, w2 = sp.simplify(w1.subs(sol)), sp.simplify(w2.subs(sol))
    den = 8 * N * P + 3 * N + 15 * P + 5
    assert sp.simplify(w1 - (8 * N * P + N + 5 * P) / den) == 0
    assert sp.simplify(w2 - (5 * P - N) / den) == 0
    assert sp.simplify((w1 - 2 * w2) - (8 * N * P + 3 * N - 5 * P) / den) == 0
    assert sp.simplify((w1 + 2 * w2) - (8 * N * P - N + 15 * P) / den) == 0
    seen = set()
    for n in (3, 5, 10, 50):
        for p in (0.55, 0.75, 0.99):
            for seed in range(15):
                try:
                    X, y = gen.wilson_data(n=n, p=p, seed=seed)
                except ValueError:
                    continue
                w = X.T @ np.linalg.solve(X @ X.T, y)
                n_pos, n_neg = int(np.sum(y > 0)), int(np.sum(y < 0))
                sub = {P: n_pos, N: n_neg}
                assert w[0] == pytest.approx(float(w1.subs(sub)), rel=1e-9)
                assert w[1] == w[2] == pytest.approx(float(w2.subs(sub)), rel=1e-9)
                expected = 0.0 if n_neg > 0 else 1 - p
                assert error_by_enumeration(w, p) == pytest.approx(expected)
                seen.add(n_neg > 0)
    assert seen == {True, False}  # both cases met


@settings(max_examples=200, deadline=None)
@given(
    w=st.lists(st.floats(-10, 10), min_size=3, max_size=8),
    p=st.floats(0.51, 0.99),
)
def test_wilson_test_error_matches_enumeration(w, p):
    w = np.array(w)
    assert gen.wilson_test_error(w, p) == pytest.approx(error_by_enumeration(w, p))


def test_wilson_bad_input():
    with pytest.raises(ValueError, match="p must lie"):
        gen.wilson_data(n=10, p=0.5)
    with pytest.raises(ValueError, match="n must be at least"):
        gen.wilson_data(n=0)
    with pytest.raises(ValueError, match="more positive"):
        gen.wilson_data(n=20, p=0.6, seed=0)  # this draw has 10 and 10
    with pytest.raises(ValueError, match="at least 3 weights"):
        gen.wilson_test_error([1.0, 2.0], 0.6)
    with pytest.raises(ValueError, match="p must lie"):
        gen.wilson_test_error([1.0, 2.0, 3.0], 1.5)


# --- The protocol on a tiny case -------------------------------------------------


TINY = data.spirals(per_class=30, noise=0.2, seed=1)
TINY_NET = networks.Network((2, 8, 3))


def by_hand(make, rates, epochs, seeds, dataset=TINY, net=TINY_NET, batch=16, extend=2):
    """The protocol, written out: split, tune (with the edge extension), test."""
    X, y, X_test, y_test = dataset
    X_fit, y_fit, X_val, y_val = data.split(X, y, 0.2, 0)
    scores = {}

    def score(lr):
        h = networks.train(make(lr), net, (X_fit, y_fit, X_val, y_val), epochs, batch, seed=0)
        return (np.nan, np.inf) if h.diverged_at else (h.test_accuracy[-1], h.train_loss[-1])

    for lr in rates:
        scores[lr] = score(lr)
    for _ in range(extend + 1):
        grid = sorted(scores)
        # best validation accuracy, then lower loss, then smaller rate
        best = min(
            grid,
            key=lambda lr: (
                -(scores[lr][0] if scores[lr][0] == scores[lr][0] else -1),
                scores[lr][1],
                lr,
            ),
        )
        k = grid.index(best)
        if 0 < k < len(grid) - 1 or len(scores) == len(rates) + extend:
            break
        new = grid[0] ** 2 / grid[1] if k == 0 else grid[-1] ** 2 / grid[-2]
        scores[new] = score(new)
    test, loss = [], []
    for seed in seeds:
        h = networks.train(make(best), net, (X_fit, y_fit, X_test, y_test), epochs, batch, seed)
        test.append(h.test_accuracy[-1])
        loss.append(h.train_loss[-1])
    return np.array(grid), best, np.array(test), np.array(loss)


def test_tune_and_test_on_a_tiny_case():
    rules = {
        "SGD": (lambda lr: on.SGD(lr=lr), [0.03, 0.3, 3.0]),
        "Adam": (lambda lr: on.Adam(lr=lr), [1e-4, 1e-3]),  # best at the top: extended
    }
    out = gen.tune_and_test(rules, TINY_NET, TINY, epochs=3, batch_size=16, seeds=(0, 1))
    for name, (make, rates) in rules.items():
        grid, rate, test, loss = by_hand(make, rates, 3, (0, 1))
        np.testing.assert_allclose(out[name].rates, grid)
        assert out[name].rate == pytest.approx(rate)
        np.testing.assert_array_equal(out[name].test_accuracy, test)
        np.testing.assert_array_equal(out[name].train_loss, loss)
    assert out["Adam"].rates.size > 2  # the edge rule grew the grid
    d = gen.paired_difference(out["SGD"], out["Adam"])
    np.testing.assert_array_equal(d, out["SGD"].test_accuracy - out["Adam"].test_accuracy)


def test_tune_and_test_bad_input():
    ok = {"SGD": (lambda lr: on.SGD(lr=lr), [0.1, 0.3])}
    kw = dict(epochs=1, batch_size=16)
    with pytest.raises(ValueError, match="non-empty"):
        gen.tune_and_test({}, TINY_NET, TINY, **kw)
    with pytest.raises(ValueError, match="seeds must be at least two"):
        gen.tune_and_test(ok, TINY_NET, TINY, seeds=(0,), **kw)
    with pytest.raises(ValueError, match="seeds must be at least two"):
        gen.tune_and_test(ok, TINY_NET, TINY, seeds=(1, 1), **kw)
    with pytest.raises(ValueError, match="increasing"):
        gen.tune_and_test({"SGD": (ok["SGD"][0], [0.3, 0.1])}, TINY_NET, TINY, **kw)
    with pytest.raises(ValueError, match="positive numbers"):
        gen.tune_and_test({"SGD": (ok["SGD"][0], [-0.1, 0.1])}, TINY_NET, TINY, **kw)
    with pytest.raises(ValueError, match=r"\(make, rates\)"):
        gen.tune_and_test({"SGD": on.SGD(lr=0.1)}, TINY_NET, TINY, **kw)
    with pytest.raises(ValueError, match="Network"):
        gen.tune_and_test(ok, "net", TINY, **kw)
    with pytest.raises(ValueError, match="X_train, y_train"):
        gen.tune_and_test(ok, TINY_NET, TINY[:2], **kw)
    with pytest.raises(ValueError, match="test_fraction"):
        gen.tune_and_test(ok, TINY_NET, TINY, val_fraction=1.5, **kw)
    with pytest.raises(ValueError, match="epochs"):
        gen.tune_and_test(ok, TINY_NET, TINY, epochs=0)
    with pytest.raises(ValueError, match="blew up"):
        gen.tune_and_test(
            {"SGD": (ok["SGD"][0], [1e306, 1e307])}, TINY_NET, TINY, epochs=3, extend=0
        )


# --- The chapter's claims, recomputed ----------------------------------------------


def test_the_chapters_claims():
    """The page's configuration, typed again; the sentences' conditions asserted."""

    def grid(lowest):
        return list(lowest * np.sqrt(10.0) ** np.arange(4))

    rules = {
        "SGD": (lambda lr: on.SGD(lr=lr), grid(0.1)),
        "Momentum": (lambda lr: on.Momentum(lr=lr), grid(0.01)),
        "Adam": (lambda lr: on.Adam(lr=lr), grid(1e-3)),
        "AdamW": (lambda lr: on.AdamW(lr=lr, weight_decay=0.1), grid(1e-3)),
    }
    problems = {
        "digits": (data.digits(), networks.Network((64, 32, 10)), 5, 64),
        "spirals": (
            data.spirals(per_class=200, noise=0.2, seed=0),
            networks.Network((2, 32, 32, 3)),
            30,
            32,
        ),
    }
    seeds = (0, 1, 2, 3, 4)
    res = {}
    with threadpool_limits(1):  # the build's kernels use one BLAS thread
        for problem, (ds, net, epochs, batch) in problems.items():
            for name, (make, rates) in rules.items():
                res[problem, name] = by_hand(make, rates, epochs, seeds, ds, net, batch)
    adaptive, plain = ("Adam", "AdamW"), ("SGD", "Momentum")

    def diff(problem, a, b):
        return res[problem, a][2] - res[problem, b][2]

    def mixed(d):
        return np.any(d > 0) and np.any(d < 0)

    # Digits: every adaptive-against-plain pair changes sign across the seeds, and
    # Adam's mean distance from momentum is within one rule's spread of seeds.
    assert all(mixed(diff("digits", a, b)) for a in adaptive for b in plain)
    spread = np.ptp(res["digits", "Adam"][2])  # Adam's own best minus worst seed
    assert abs(diff("digits", "Adam", "Momentum").mean()) < spread
    # Spirals: Adam and AdamW against momentum mixed; SGD behind both on every
    # seed, with a far higher training loss.
    assert mixed(diff("spirals", "Adam", "Momentum"))
    assert mixed(diff("spirals", "AdamW", "Momentum"))
    assert np.all(diff("spirals", "Adam", "SGD") > 0)
    assert np.all(diff("spirals", "AdamW", "SGD") > 0)
    assert res["spirals", "SGD"][3].mean() > 4 * res["spirals", "Adam"][3].mean()
    # No chosen rate at an end of its (extended) grid; only Adam's and AdamW's
    # grids on the spirals grew, from four rates to six.
    for (problem, name), (grid_, rate, _, _) in res.items():
        assert grid_[0] < rate < grid_[-1]
        grew = problem == "spirals" and name in adaptive
        assert len(grid_) == (6 if grew else 4)
    # AdamW's decay: little on the digits, much on the spirals; a higher training
    # loss than Adam's there and no higher mean test accuracy.
    for problem, (ds, _, epochs, batch) in problems.items():
        n_fit = len(ds[1]) - round(0.2 * len(ds[1]))
        factor = (1 - 0.1 * res[problem, "AdamW"][1]) ** (epochs * (n_fit // batch))
        assert factor > 0.5 if problem == "digits" else factor < 0.1
    assert res["spirals", "AdamW"][3].mean() > res["spirals", "Adam"][3].mean()
    assert res["spirals", "AdamW"][2].mean() <= res["spirals", "Adam"][2].mean()
