"""The chapter "Matrix preconditioners: Shampoo and SOAP": its derivations, the
numbers it states, and the rates its experiments use (each the best of a grid
run here). The rules themselves are tested in tests/test_kronecker_rules.py."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optnotes import analysis, problems, rules
from optnotes.derivations import kronecker as derivations
from optnotes.large_models import digits
from optnotes.large_models import kronecker as chapter
from optnotes.rules.kronecker import SOAP, Shampoo


def zero(matrix) -> bool:
    return all(sp.simplify(e) == 0 for e in sp.Matrix(matrix))


def root(S, p):
    """S**p for a symmetric positive definite S, by SciPy-free eigh (written here)."""
    w, U = np.linalg.eigh(S)
    return U @ np.diag(w**p) @ U.T


# --- Derivations -----------------------------------------------------------------


def test_kronecker_identity_exact():
    d = derivations.kronecker_identity()
    assert zero(d["row_major"]) and zero(d["column_major"])
    assert sp.simplify(d["wrong_order"]) != 0
    m, n = sp.symbols("m n", positive=True, integer=True)
    assert sp.simplify(d["cost_full"] - m**2 * n**2) == 0


def test_kronecker_identity_matches_the_problems_hessian():
    """MatrixLeastSquares's Hessian kron(A^T A, B B^T) acts on ravel(W) as the
    gradient does: row-major, (L kron R) vec D = vec(L D R^T) with R symmetric."""
    p = problems.MatrixLeastSquares((4, 3), (5.0, 7.0), seed=2)
    W = np.random.default_rng(0).normal(size=(4, 3))
    assert np.allclose(p.hessian() @ (W - p.w_star).ravel(), p.grad(W).ravel(), rtol=1e-12)


@pytest.mark.parametrize("s", [sp.Rational(1, 4), sp.Rational(1, 2)])
def test_kronecker_power_exact(s):
    d = derivations.kronecker_power(s)
    assert zero(d["gap"]) and zero(d["root_check"])
    assert d["eigen_K"] == tuple(sorted(a * b for a in (16, 81) for b in (1, 16, 256)))


def test_kronecker_power_numerically():
    rng = np.random.default_rng(3)
    A, B = rng.normal(size=(3, 3)), rng.normal(size=(4, 4))
    L, R = A @ A.T + np.eye(3), B @ B.T + np.eye(4)
    G = rng.normal(size=(3, 4))
    left = root(np.kron(L, R), -0.25) @ G.ravel()
    right = (root(L, -0.25) @ G @ root(R, -0.25)).ravel()
    assert np.allclose(left, right, rtol=1e-10, atol=1e-12)


def test_single_example_and_rank_one():
    for key in ("left", "right", "fisher", "shampoo"):
        assert zero(derivations.single_example()[key])
    d = derivations.rank_one_tight()
    assert zero(d["left_root_check"]) and zero(d["right_root_check"]) and zero(d["equality"])


def test_rotated_row_sums_exact():
    d = derivations.rotated_row_sums()
    assert zero(d["rows"]) and zero(d["columns"])
    for Q in (derivations.Q2, derivations.Q3):
        assert Q.T * Q == sp.eye(Q.rows)


# --- Gupta et al.'s bound, attacked ---------------------------------------------------


def lhs_rhs(Gs, eps, scale):
    """The two sides written again: eps I + scale sum g g^T and the Kronecker product."""
    m, n = Gs[0].shape
    lhs = eps * np.eye(m * n)
    left, right = eps * np.eye(m), eps * np.eye(n)
    for G in Gs:
        g = G.reshape(-1)
        lhs = lhs + scale * np.outer(g, g)
        left, right = left + G @ G.T, right + G.T @ G
    return lhs, np.kron(root(left, 0.5), root(right, 0.5))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 3), st.integers(1, 4), st.integers(0, 10**6),
    st.sampled_from([1e-6, 1e-3, 1.0]),
)  # fmt: skip
def test_bound_holds_on_random_gradients(rank, count, seed, eps):
    rng = np.random.default_rng(seed)
    Gs = chapter.random_gradients((3, 4), count, rank, rng)
    r = max(np.linalg.matrix_rank(G) for G in Gs)
    lhs, rhs = lhs_rhs(Gs, eps, 1.0 / r)
    assert np.linalg.eigvalsh(rhs - lhs).min() >= -1e-9 * np.abs(rhs).max()
    assert chapter.bound_ratio(Gs, eps) <= 1 + 1e-6  # rounding: RHS has eigenvalues near ε


@pytest.mark.parametrize("rank", [1, 2])
def test_search_comes_close_to_tight_but_not_over(rank):
    ratio, Gs = chapter.worst_ratio((3, 2), count=2, rank=rank, eps=1e-3, seed=0)
    assert 0.999 < ratio <= 1 + 1e-6
    lhs, rhs = lhs_rhs(Gs, 1e-3, 1.0 / rank)
    assert np.linalg.eigvalsh(rhs - lhs).min() >= -1e-9


def test_one_gradient_is_tight_and_dropping_one_over_r_breaks_it():
    """For one gradient of rank r and eps -> 0 the ratio is 1 (tight); without
    the 1/r it is r (the identity matrix: r = 2)."""
    for eps in (1e-4, 1e-8):
        assert chapter.bound_ratio([np.eye(2)], eps) == pytest.approx(1.0, abs=1e-3)
        assert chapter.bound_ratio([np.eye(2)], eps, scale=1.0) == pytest.approx(2.0, abs=1e-3)
    lhs, rhs = lhs_rhs([np.eye(2)], 1e-6, 1.0)
    assert np.linalg.eigvalsh(rhs - lhs).min() < -0.99


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(0, 10**6))
def test_shampoo_is_as_cautious_as_full_matrix_adagrad_at_sqrt_r_the_rate(rank, count, seed):
    """The bound's consequence the page states: Shampoo's preconditioner
    K = Lbar^(1/4) kron Rbar^(1/4) has K^(-1) <= sqrt(r) H^(-1/2), H = eps I +
    sum g g^T: no step of Shampoo is longer, direction by direction, than
    full-matrix Adagrad's at sqrt(r) times the rate."""
    eps = 1e-3
    Gs = chapter.random_gradients((3, 4), count, rank, np.random.default_rng(seed))
    r = max(np.linalg.matrix_rank(G) for G in Gs)
    H = eps * np.eye(12) + sum(np.outer(G.ravel(), G.ravel()) for G in Gs)
    left = eps * np.eye(3) + sum(G @ G.T for G in Gs)
    right = eps * np.eye(4) + sum(G.T @ G for G in Gs)
    K_inv = np.kron(root(left, -0.25), root(right, -0.25))
    quarter = root(H, 0.25)
    worst = np.linalg.eigvalsh(quarter @ K_inv @ quarter).max()
    assert worst <= np.sqrt(r) * (1 + 1e-6)


def test_at_the_same_rate_shampoos_step_is_sqrt_r_longer_for_g_equal_i():
    """G = I (rank 2), eps -> 0: full-matrix Adagrad steps g / |g| (length 1),
    Shampoo I^(-1/4) I I^(-1/4) = I (length sqrt 2)."""
    for eps in (1e-12, 1e-9):
        ratio = chapter.step_ratio([np.eye(2)], np.eye(2), eps)
        assert ratio == pytest.approx(np.sqrt(2), rel=1e-6)
    # one rank-one gradient (r = 1): the two steps have the same length
    u, v = np.array([1.0, 2.0]), np.array([3.0, -1.0, 0.5])
    G = np.outer(u, v)
    assert chapter.step_ratio([G], G, 1e-12) == pytest.approx(1.0, rel=1e-6)


def test_exponent_one_half_is_full_matrix_adagrad_on_a_kronecker_statistic():
    A, B = np.diag([1.0, 4.0, 9.0]), np.array([[2.0, 1.0], [1.0, 3.0]])
    Gs = chapter.kronecker_gradients(A, B)
    H = sum(np.outer(G.ravel(), G.ravel()) for G in Gs)
    assert np.allclose(H, np.kron(A, B), atol=1e-12)
    G = np.random.default_rng(1).normal(size=(3, 2))
    full = chapter.full_matrix_step(Gs, G)
    assert chapter.cosine(full, chapter.shampoo_step(Gs, G, 0.5)) == pytest.approx(1, abs=1e-12)
    assert chapter.cosine(full, chapter.shampoo_step(Gs, G, 0.25)) < 0.99
    # the scalar: L = A tr B, R = B tr A, so L^(-1/2) G R^(-1/2) = full / sqrt(trA trB)
    scaled = chapter.shampoo_step(Gs, G, 0.5) * np.sqrt(np.trace(A) * np.trace(B))
    assert np.allclose(scaled, full, rtol=1e-10)


# --- Vyas et al.'s connection -----------------------------------------------------------


def test_shampoo_is_adafactor_in_its_eigenbasis():
    rng = np.random.default_rng(0)
    Gs = chapter.random_gradients((4, 3), 10, 3, rng)
    shampoo, adafactor = chapter.shampoo_as_adafactor(Gs, Gs[-1])
    assert chapter.relative_gap(shampoo, adafactor) < 1e-12
    # the basis of older statistics breaks it
    shampoo, adafactor = chapter.shampoo_as_adafactor(Gs, Gs[-1], basis_from=Gs[:5])
    assert chapter.relative_gap(shampoo, adafactor) > 0.05


def test_adafactor_side_against_the_rule():
    """Shampoo(exponent=1/2) after the gradients Gs takes the step
    L^(-1/2) G R^(-1/2) (ε tiny): the idealised step divided by sqrt(tr L)."""
    rng = np.random.default_rng(5)
    Gs = chapter.random_gradients((4, 3), 8, 3, rng)
    rule = Shampoo(lr=1.0, epsilon=1e-30, exponent=0.5)
    x, state = np.zeros((4, 3)), rule.init(np.zeros((4, 3)))
    for G in Gs:
        new, state = rule.step(x, lambda _x, G=G: G, state)
        step, x = x - new, new
    L = sum(G @ G.T for G in Gs)
    _, adafactor = chapter.shampoo_as_adafactor(Gs, Gs[-1])
    assert np.allclose(step * np.sqrt(np.trace(L)), adafactor, rtol=1e-8)


# --- K-FAC and memory -----------------------------------------------------------------


def test_kfac_against_shampoo_numbers():
    out = chapter.kfac_against_shampoo()
    assert out["one example, L vs A"] == pytest.approx(1, abs=1e-12)
    assert out["one example, R vs S"] == pytest.approx(1, abs=1e-12)
    assert out["one batch, L vs A"] < 0.95 and out["one batch, R vs S"] < 0.8
    # the per-example deltas from the network's own backward pass
    a, d, G = chapter.first_layer_factors(32, 0)
    net, (X, y, *_) = digits.bench()
    idx = np.random.default_rng(0).choice(len(y), size=32, replace=False)
    grad = net.loss_and_grad(net.init(0), X[idx], y[idx])[1]
    assert np.allclose(G.ravel(), grad[: 64 * 64], rtol=1e-10, atol=1e-14)


def test_memory():
    for m, n in ((64, 64), (64, 32), (32, 10)):
        x = np.zeros((m, n))
        assert analysis.state_bytes(rules.Adam(), x) == 8 * 2 * m * n
        assert analysis.state_bytes(Shampoo(), x) == 8 * 2 * (m * m + n * n)
        assert analysis.state_bytes(Shampoo(graft="adagrad"), x) == 8 * (
            2 * (m * m + n * n) + m * n
        )
        assert analysis.state_bytes(SOAP(), x) == 8 * (2 * m * n + 2 * (m * m + n * n))


# --- The experiments' rates are the best of their grids ---------------------------------

GRID = [c * 10.0**e for e in range(-4, 2) for c in (1, 2, 5)]


def test_least_squares_rates_are_the_grids_best():
    found, steps = {}, {}
    for name in chapter.LSQ_RATES:
        res = {}
        for lr in GRID:
            losses = chapter.lsq_losses(chapter.lsq_rule(name, lr))
            hit = np.flatnonzero(losses <= chapter.TARGET)
            res[lr] = hit[0] if hit.size else np.inf
        found[name] = min(res, key=lambda lr, res=res: (res[lr], lr))
        steps[name] = res[found[name]]
        assert GRID[0] < found[name] < GRID[-1], name  # not at an end of the grid
    assert found == pytest.approx(chapter.LSQ_RATES, rel=1e-12)
    # what the page says: Shampoo fewest (grafted, then not), at least four times
    # fewer than any other rule; SGD most
    others = [v for k, v in steps.items() if not k.startswith("Shampoo")]
    assert min(steps, key=steps.get) == "Shampoo"
    assert steps["Shampoo"] <= steps["Shampoo, no graft"] < min(others) / 4
    assert max(steps, key=steps.get) == "SGD"
    assert steps["Shampoo, no graft"] < 20
    assert 70 < steps["Momentum"] < 90 and 70 < steps["Adam"] < 90
    assert steps["Adagrad"] > 200 and steps["SGD"] > 200
    assert steps["SOAP"] > steps["Adam"]


def test_stale_roots_on_least_squares():
    """The slider's story: ungrafted Shampoo at its rate fails with any stale
    roots (at step 2, its first stale one, f / f(start) passes 1e7 and never
    comes back below it; it overflows for k >= 4); grafted Shampoo slows as k
    grows but reaches the line; SOAP barely moves."""
    grid = chapter.lsq_experiment().controls["k"].grid()
    assert grid[0] == 1 and grid[-1] == 20
    steps = {}
    for k in sorted(set(grid) | {2, 4}):
        ungrafted = chapter.lsq_losses(chapter.lsq_rule("Shampoo, no graft", 5.0, k))
        assert (k == 1) == np.isfinite(chapter.steps_to_target(ungrafted)), k
        assert (k >= 4) == np.isinf(ungrafted).any(), k
        if k > 1:
            seen = ungrafted[2:][~np.isnan(ungrafted[2:])]
            assert seen.min() > 1e7 and np.nanmax(ungrafted) > 1e6, k
        else:
            assert np.nanmax(ungrafted) < 1e6
        if k not in grid:
            continue
        steps[k] = [
            chapter.steps_to_target(chapter.lsq_losses(chapter.lsq_rule(n, r, k), steps=250))
            for n, r in (("Shampoo", chapter.LSQ_RATES["Shampoo"]), ("SOAP", 0.1))
        ]
    assert all(np.isfinite(v).all() for v in steps.values())
    assert steps[1][0] < 20 < steps[20][0] < steps[20][1]
    soap = [v[1] for v in steps.values()]
    assert max(soap) < 1.25 * min(soap)


DIGITS_GRIDS = {
    "AdamW": [3e-3, 1e-2, 3e-2],
    "Shampoo": [3e-2, 0.1, 0.3],
    "SOAP": [1e-2, 3e-2, 0.1],
}


def test_digits_rates_are_the_grids_best():
    vectors = rules.AdamW(lr=chapter.VECTORS_LR)
    for name, rates in DIGITS_GRIDS.items():
        best, _ = digits.tune(
            lambda lr, name=name: chapter.digits_rule(name, lr), rates,
            chapter.DIGITS_STEPS, seeds=(0,), vectors=vectors,
        )  # fmt: skip
        assert best == chapter.DIGITS_RATES[name], name


def test_digits_comparison_as_the_page_says():
    """Both matrix preconditioners end below AdamW, on both seeds."""
    curves = chapter.digits_curves()
    ends = {label.split()[0]: [c.loss[-1] for c in runs] for label, runs in curves.items()}
    for name in ("Shampoo", "SOAP"):
        assert all(a < b for a, b in zip(ends[name], ends["AdamW"], strict=True)), name


def test_ungrafted_shampoo_with_stale_roots_fails_on_digits():
    vectors = rules.AdamW(lr=chapter.VECTORS_LR)
    for lr in (0.03, 0.1, 0.3):
        c = digits.curve(Shampoo(lr=lr, epsilon=1e-12, update_every=10), 200, vectors=vectors)
        assert c.diverged_at is not None or c.loss[-1] > c.loss[0], lr


def test_experiment_builds_and_draws():
    e = chapter.lsq_experiment()
    e.update(k=5)
    assert e.png
    with pytest.raises(ValueError, match="no rule"):
        chapter.lsq_rule("Lion", 0.1)
    with pytest.raises(ValueError, match="no rule"):
        chapter.digits_rule("Lion", 0.1)
