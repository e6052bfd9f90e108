"""The chapter "Orthogonalised updates: Muon": its derivations against closed
forms and numbers computed here, the Newton–Schulz polynomials against the
iteration's measured singular values, the steepest-descent claim attacked
numerically, the bfloat16 emulation against torch, and the tuned rates the
page uses against grids run here."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import optnotes as on
from optnotes.derivations import orthogonal as derivations
from optnotes.large_models import digits
from optnotes.large_models import orthogonal as analysis
from optnotes.rules.orthogonal import Muon, adjusted_rate, newton_schulz

A, B, C = 3.4445, -4.7750, 2.0315
s1, s2, sigma = derivations.s1, derivations.s2, derivations.sigma


def zero(expr) -> bool:
    return sp.simplify(expr) == 0


def step(values, a, b, c):
    return a * values + b * values**3 + c * values**5


def matrix_with(singular_values, shape, seed):
    rng = np.random.default_rng(seed)
    m, n = shape
    k = len(singular_values)
    U, _ = np.linalg.qr(rng.normal(size=(m, k)))
    V, _ = np.linalg.qr(rng.normal(size=(n, k)))
    return U @ np.diag(singular_values) @ V.T


def polar(G):
    """U V^T of G by numpy's SVD."""
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    return U @ Vt


# --- Derivations ---------------------------------------------------------------------


def test_cubic():
    d = derivations.cubic()
    p = (3 * sigma - sigma**3) / 2
    e = sp.Symbol("e", real=True)
    assert zero(d["p"] - p)
    assert d["p_at_1"] == 1 and d["dp_at_1"] == 0
    assert zero(d["error"] - e**2 * (3 - e) / 2)
    assert zero(d["growth"] - sigma * (1 - sigma**2) / 2)
    assert zero(d["below_one"] - (1 - sigma) ** 2 * (2 + sigma) / 2)
    assert zero(d["factored"] - p) and d["root"] == 0
    # the signs the text reads off the factored forms, on a grid of (0, sqrt 3)
    grid = np.linspace(1e-3, np.sqrt(3) - 1e-3, 2001)
    values = (3 * grid - grid**3) / 2
    inside = grid < 1
    assert np.all(values[inside] > grid[inside]) and np.all(values < 1 + 1e-15)
    assert np.all(values > 0) and np.all(values[grid > 1] < 1)


@settings(max_examples=50, deadline=None)
@given(start=st.floats(1e-2, np.sqrt(3) - 1e-2))
def test_the_cubic_sends_every_value_below_sqrt3_to_one(start):
    value = start
    for _ in range(60):
        value = 1.5 * value - 0.5 * value**3
    assert abs(value - 1) < 1e-12


def test_the_cubic_leaves_values_beyond_sqrt3():
    assert 1.5 * 1.8 - 0.5 * 1.8**3 < 0


def test_frobenius_bound():
    d = derivations.frobenius_bound()
    assert zero(d["frobenius"] - s1**2 - s2**2) and zero(d["gap"] - s2**2)
    assert zero(d["equal"] - 1 / sp.sqrt(sp.Symbol("r", integer=True, positive=True)))
    G = np.random.default_rng(0).normal(size=(7, 5))
    assert np.linalg.norm(G, 2) <= np.linalg.norm(G) + 1e-15


def test_quintic():
    d = derivations.quintic()
    assert d["dp_at_0"] == sp.Rational("3.4445")
    assert d["p_at_1"] == sp.Rational(701, 1000)
    assert all(r == 0 for r in d["residual"])
    # the positive fixed points: roots of c s^4 + b s^2 + (a - 1), computed by numpy
    roots = np.roots([C, 0, B, 0, A - 1])
    positive = np.sort(roots[(abs(roots.imag) < 1e-12) & (roots.real > 0)].real)
    np.testing.assert_allclose([float(f) for f in d["fixed"]], positive, rtol=1e-5)
    slopes = A + 3 * B * positive**2 + 5 * C * positive**4
    np.testing.assert_allclose([float(s) for s in d["slopes"]], slopes, rtol=1e-5)
    assert np.all(abs(slopes) > 1)  # repelling: no value settles
    grid = np.linspace(0, 1, 1_000_001)
    values = step(grid, A, B, C)
    assert float(d["peak"]) == pytest.approx(values.max(), rel=1e-6)
    assert float(d["peak_at"]) == pytest.approx(grid[values.argmax()], abs=1e-5)


def test_steepest_descent_derivation():
    d = derivations.steepest_descent()
    assert d["orthogonal"] == sp.zeros(2, 2)
    assert zero(d["inner"] - s1 - s2)


def test_shampoo_without_accumulation_derivation():
    d = derivations.shampoo_without_accumulation()
    G = np.array(d["G"], dtype=float)
    assert d["gap"] == sp.zeros(2, 2)
    np.testing.assert_allclose(np.array(d["direction"], dtype=float), polar(G), atol=1e-15)
    np.testing.assert_allclose(np.linalg.svd(G, compute_uv=False), [9, 4], rtol=1e-14)


def test_update_rms_derivation():
    d = derivations.update_rms()
    k, K = sp.symbols("k K", integer=True, positive=True)
    assert zero(d["rms"] - 1 / sp.sqrt(K)) and d["adamw"] == sp.Rational(1, 5)
    assert zero(d["original_tall"] - 1 / sp.sqrt(k)) and zero(d["original_wide"] - 1 / sp.sqrt(K))


@pytest.mark.parametrize("shape", [(64, 32), (32, 64), (10, 10), (3, 17)])
def test_update_rms_numerically(shape):
    O = polar(np.random.default_rng(sum(shape)).normal(size=shape))  # noqa: E741
    rms = np.sqrt(np.mean(O**2))
    assert rms == pytest.approx(1 / np.sqrt(max(shape)), rel=1e-12)
    assert adjusted_rate(1.0, shape, "match_rms_adamw") * rms == pytest.approx(0.2, rel=1e-12)
    assert adjusted_rate(1.0, shape, None) * rms == pytest.approx(1 / np.sqrt(shape[1]), rel=1e-12)


def test_derivations_do_not_depend_on_the_hash_seed():
    code = (
        "import json, sympy as sp\n"
        "from optnotes.derivations import orthogonal as o\n"
        "fs = (o.cubic, o.frobenius_bound, o.quintic, o.steepest_descent,\n"
        "      o.shampoo_without_accumulation, o.update_rms)\n"
        "print(json.dumps([f().latex() for f in fs]))\n"
    )
    outputs = []
    for seed in ("0", "1"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        outputs.append(json.loads(run.stdout))
    assert outputs[0] == outputs[1]


# --- The steepest direction under the spectral norm, attacked -----------------------------


def project_to_spectral_ball(D):
    U, s, Vt = np.linalg.svd(D, full_matrices=False)
    return U @ np.diag(np.minimum(s, 1.0)) @ Vt


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 6), n=st.integers(1, 6))
def test_no_direction_in_the_spectral_ball_beats_uv(seed, m, n):
    rng = np.random.default_rng(seed)
    G = rng.normal(size=(m, n))
    nuclear = np.linalg.svd(G, compute_uv=False).sum()
    assert np.sum(G * polar(G)) == pytest.approx(nuclear, rel=1e-12)
    assert np.linalg.norm(polar(G), 2) == pytest.approx(1.0, rel=1e-12)
    for _ in range(200):  # random directions on the ball's boundary
        D = rng.normal(size=(m, n))
        D /= np.linalg.norm(D, 2)
        assert np.sum(G * D) <= nuclear * (1 + 1e-12)
    D = project_to_spectral_ball(rng.normal(size=(m, n)))
    for _ in range(300):  # projected gradient ascent on <G, D>
        D = project_to_spectral_ball(D + 10 * G / np.linalg.norm(G, 2))
        assert np.sum(G * D) <= nuclear * (1 + 1e-12)
    assert np.sum(G * D) == pytest.approx(nuclear, rel=1e-3)  # ... and it gets close


# --- Shampoo without accumulation, numerically ---------------------------------------------


def inverse_fourth_root(S):
    """S^(-1/4) on the range of a symmetric positive semi-definite S."""
    w, Q = np.linalg.eigh(S)
    keep = w > 1e-12 * w.max()
    return (Q[:, keep] / w[keep] ** 0.25) @ Q[:, keep].T


@pytest.mark.parametrize("shape", [(5, 5), (6, 4), (4, 6)])
def test_shampoo_without_accumulation_is_uv(shape):
    G = np.random.default_rng(7).normal(size=shape)
    direction = inverse_fourth_root(G @ G.T) @ G @ inverse_fourth_root(G.T @ G)
    np.testing.assert_allclose(direction, polar(G), atol=1e-12)


# --- The iteration against the polynomial ---------------------------------------------------


@pytest.mark.parametrize("coefficients", [(1.5, -0.5, 0.0), (A, B, C)])
@pytest.mark.parametrize("steps", range(1, 9))
def test_singular_values_follow_the_polynomial(coefficients, steps):
    """The experiment's matrix: the singular values newton_schulz returns are
    p^k of the normalised ones (sorted, compared as sets)."""
    G = analysis.ill_conditioned()
    s = np.linalg.svd(G, compute_uv=False)
    expected = s / np.sqrt(np.sum(s**2))
    for _ in range(steps):
        expected = step(expected, *coefficients)
    measured = np.linalg.svd(newton_schulz(G, steps, coefficients), compute_uv=False)
    np.testing.assert_allclose(np.sort(measured), np.sort(np.abs(expected)), atol=1e-12)
    # in G's order, as the experiment plots them
    np.testing.assert_allclose(
        analysis.singular_values_after(G, steps, coefficients), expected, atol=1e-12
    )
    np.testing.assert_allclose(analysis.polynomial(s / np.linalg.norm(s), coefficients, steps),
                               expected, rtol=1e-12)  # fmt: skip


def test_the_quintic_band():
    """The framing of tests/test_muon.py: normalised values from 1/(10 sqrt 8)."""
    grid = np.linspace(1 / (10 * np.sqrt(8)), 1.0, 200_001)
    for _ in range(5):
        grid = step(grid, A, B, C)
    low, high = analysis.band(1 / (10 * np.sqrt(8)))
    assert (low, high) == pytest.approx((grid.min(), grid.max()), rel=1e-12)
    assert 0.68 < low < 0.69 and 1.13 < high < 1.14


def test_experiment_draws_every_step_count():
    experiment = analysis.newton_schulz_experiment()
    for k in range(1, 9):
        experiment.update(steps=k)
        assert experiment.png.startswith(b"\x89PNG")
    titles = [ax.get_title() for ax in experiment.draw(steps=5).axes]
    assert "k = 5" in titles[1]


# --- bfloat16 ------------------------------------------------------------------------------


def test_bfloat16_rounding_is_torchs(torch):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=20_000) * 10.0 ** rng.integers(-6, 6, size=20_000)).astype(np.float32)
    # exact ties: the low 16 bits 0x8000, with even and odd kept parts
    ties = (np.arange(1, 2001, dtype=np.uint32) << 16 | 0x8000) + (0x3F80 << 16)
    x = np.concatenate([x, ties.view(np.float32), np.float32([0.0, -0.0, 1.0, -1.5])])
    theirs = torch.tensor(x).bfloat16().float().numpy()
    assert np.array_equal(analysis.bfloat16(x), theirs)


def page_bfloat16_matrices():
    """The matrices of the chapter's bfloat16 cell, built as the page builds them."""
    rng = np.random.default_rng(1)
    matrices = {str(s): rng.normal(size=s) for s in [(64, 64), (64, 32), (32, 10)]}
    problem = on.problems.MatrixLeastSquares((16, 12), condition=(30.0, 30.0), seed=0)
    matrices["least squares"] = problem.grad(problem.start)
    return matrices


def torch_newton_schulz(torch, G):
    from torch.optim._muon import _zeropower_via_newtonschulz

    X = _zeropower_via_newtonschulz(torch.tensor(G, dtype=torch.float32), (A, B, C), 5, 1e-7)
    return X.float().numpy().astype(np.float64)


def test_bfloat16_newton_schulz_against_torchs(torch):
    """What the chapter says of the emulated iteration: on the page's matrices,
    on the shapes below and on another random 64 x 64 matrix, its distance from
    float64 is within 5 % of PyTorch's. Which entries round alike depends on
    the order in which the machine's matrix products add, so it is not
    asserted."""
    page = page_bfloat16_matrices()
    others = {
        str(s): np.random.default_rng(sum(s)).normal(size=s)
        for s in [(16, 12), (12, 16), (32, 10), (64, 32)]
    }
    other = np.random.default_rng(128).normal(size=(64, 64))
    for name, G in {**page, **others, "seed 128": other}.items():
        theirs, ours, exact = (
            torch_newton_schulz(torch, G),
            analysis.newton_schulz_bfloat16(G),
            newton_schulz(G),
        )
        torch_deviation = np.linalg.norm(theirs - exact) / np.linalg.norm(exact)
        assert analysis.bfloat16_deviation(G) == pytest.approx(torch_deviation, rel=0.05), name
        assert 1e-3 < torch_deviation < 5e-2
        assert np.abs(ours - theirs).max() < 0.1  # the same matrix, to bfloat16's grain


# --- The rate adjustment in this package's layout ------------------------------------------


def test_adjustment_factors_of_the_digits_network(torch):
    """The network stores W as inputs x outputs; PyTorch's Linear as outputs x
    inputs. "original" here: sqrt(max(1, d_in/d_out)); in PyTorch's layout
    sqrt(max(1, d_out/d_in)); "match_rms_adamw" the same in both."""
    from torch.optim._muon import _adjust_lr

    net, _ = digits.bench()
    shapes = [shape for _, shape in net.layout if len(shape) == 2]
    assert shapes == [(64, 64), (64, 32), (32, 10)]  # the shapes the page prints
    here = [adjusted_rate(1.0, s, None) for s in shapes]
    pytorch = [_adjust_lr(1.0, None, torch.Size(s[::-1])) for s in shapes]
    np.testing.assert_allclose(here, [np.sqrt(max(1, i / o)) for i, o in shapes], rtol=1e-15)
    np.testing.assert_allclose(here, [1.0, np.sqrt(2), np.sqrt(3.2)], rtol=1e-15)
    np.testing.assert_allclose(pytorch, [1.0, 1.0, 1.0], rtol=1e-15)
    for s in shapes:
        rms = adjusted_rate(1.0, s, "match_rms_adamw")
        assert rms == adjusted_rate(1.0, s[::-1], "match_rms_adamw")
        assert rms == _adjust_lr(1.0, "match_rms_adamw", torch.Size(s[::-1]))
        assert rms == pytest.approx(0.2 * np.sqrt(max(s)), rel=1e-15)


def test_the_exercise_band_answer():
    """The exercise counts quintic steps from 1e-3 into the band the page prints."""
    low, high = analysis.band(1 / (10 * np.sqrt(8)))
    value, k = 1e-3, 0
    while not low <= value <= high:
        value, k = step(value, A, B, C), k + 1
    assert k == 7


# --- Tuned rates ---------------------------------------------------------------------------


def steps_to_target(rule, problem, target, max_steps):
    x, state = problem.start, rule.init(problem.start)
    first = problem.value(x)
    with np.errstate(all="ignore"):
        for t in range(1, max_steps + 1):
            try:
                x, state = rule.step(x, problem.grad, state)
            except FloatingPointError:
                return np.inf
            value = problem.value(x)
            if not np.isfinite(value) or value > 1e6 * first:
                return np.inf
            if value <= target * first:
                return t
    return np.inf


MAKERS = {
    "Muon": lambda lr: Muon(lr=lr, weight_decay=0.0),
    "Momentum": lambda lr: on.Momentum(lr=lr, mu=0.9),
    "AdamW": lambda lr: on.AdamW(lr=lr, weight_decay=0.0),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_least_squares_rates_are_the_grids_best(name):
    grid = analysis.GRIDS[name]
    problem = on.problems.MatrixLeastSquares((16, 12), condition=(30.0, 30.0), seed=0)
    steps = {lr: steps_to_target(MAKERS[name](lr), problem, 1e-3, 1000) for lr in grid}
    best = min(steps, key=steps.get)
    assert analysis.RATES[name] == best
    assert best not in (grid[0], grid[-1]) and np.isfinite(steps[best])


def test_least_squares_figure_says_what_the_runs_do():
    _, reached = analysis.least_squares_figure()
    problem = on.problems.MatrixLeastSquares((16, 12), condition=(30.0, 30.0), seed=0)
    for name, lr in analysis.RATES.items():
        assert reached[name] == steps_to_target(MAKERS[name](lr), problem, 1e-3, 1000)
    # what the chapter says: at a constant rate Muon needs the most steps here
    assert reached["Muon"] > max(reached["Momentum"], reached["AdamW"])


DIGITS_MAKERS = {
    "Muon": (lambda lr: Muon(lr=lr), on.AdamW(lr=0.02)),
    "AdamW": (lambda lr: on.AdamW(lr=lr), None),
    "Momentum": (lambda lr: on.Momentum(lr=lr, mu=0.9), None),
}


def test_digits_rates_are_the_grids_best_and_muon_ends_lowest():
    best_scores = {}
    for name, (make, vectors) in DIGITS_MAKERS.items():
        grid = analysis.DIGITS_GRIDS[name]
        best, scores = digits.tune(make, grid, 200, seeds=(0, 1), vectors=vectors)
        assert analysis.DIGITS_RATES[name] == best and best == grid[1], (name, scores)
        best_scores[name] = scores[best]
    # what the chapter says: at these rates Muon's median final loss is the lowest
    assert best_scores["Muon"] < min(best_scores["AdamW"], best_scores["Momentum"])


# --- Bad input -----------------------------------------------------------------------------


def test_bad_input():
    with pytest.raises(ValueError, match="steps must be"):
        analysis.polynomial(0.5, steps=-1)
    with pytest.raises(KeyError):
        analysis.least_squares_rule("Shampoo", 0.1)
