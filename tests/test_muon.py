"""Muon and its Newton–Schulz iteration: against references written here from
Jordan et al. 2024 and PyTorch's ``torch.optim.Muon`` (run in float64), the
singular values against the quintic's band, and bad input."""

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optnotes.problems import MatrixLeastSquares
from optnotes.rules.orthogonal import Muon, MuonState, newton_schulz

A, B, C = 3.4445, -4.7750, 2.0315
RTOL = 1e-9
STEPS = 30
SHAPES = [(6, 4), (4, 6)]


def quintic(sigma):
    return A * sigma + B * sigma**3 + C * sigma**5


def reference_newton_schulz(G, steps=5, eps=1e-7):
    """The iteration as the blog writes it, X <- aX + b(XX^T)X + c(XX^T)^2 X,
    expanded into its three terms, on the wide orientation."""
    G = np.array(G, dtype=np.float64)
    transposed = G.shape[0] > G.shape[1]
    X = G.T.copy() if transposed else G.copy()
    X = X / max(np.sqrt(np.sum(X * X)), eps)
    for _ in range(steps):
        XXt = X @ X.T
        X = A * X + B * (XXt @ X) + C * (XXt @ XXt @ X)
    return X.T if transposed else X


def quintic_band(lowest: float, steps: int = 5) -> tuple[float, float]:
    """min and max of p^steps on [lowest, 1], on a fine grid."""
    sigma = np.linspace(lowest, 1.0, 200_001)
    for _ in range(steps):
        sigma = quintic(sigma)
    return float(sigma.min()), float(sigma.max())


# --- Newton–Schulz -----------------------------------------------------------------


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (1, 7), (7, 1)])
@pytest.mark.parametrize("steps", [0, 1, 5, 8])
def test_newton_schulz_matches_the_plain_loop(shape, steps):
    G = np.random.default_rng(sum(shape) + steps).normal(size=shape)
    np.testing.assert_allclose(
        newton_schulz(G, steps=steps), reference_newton_schulz(G, steps), rtol=RTOL, atol=1e-15
    )


def test_newton_schulz_maps_each_singular_value_by_the_quintic():
    G = np.random.default_rng(1).normal(size=(7, 4))
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    sigma = s / np.linalg.norm(s)  # the Frobenius norm is the 2-norm of the s
    for _ in range(5):
        sigma = quintic(sigma)
    np.testing.assert_allclose(newton_schulz(G), U @ np.diag(sigma) @ Vt, rtol=0, atol=1e-12)


def test_newton_schulz_of_zero_is_zero():
    assert np.array_equal(newton_schulz(np.zeros((3, 2))), np.zeros((3, 2)))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(1, 8),
    n=st.integers(1, 8),
    condition=st.floats(1.0, 10.0),
)
def test_newton_schulz_singular_values_lie_in_the_quintic_band(seed, m, n, condition):
    """A matrix with condition number <= 10 and k = min(m, n) <= 8: its
    Frobenius-normalised singular values lie in [1/(10 sqrt 8), 1], so those of
    the result lie in p^5 of that interval, measured here as [0.68, 1.14]."""
    rng = np.random.default_rng(seed)
    k = min(m, n)
    U, _ = np.linalg.qr(rng.normal(size=(m, k)))
    V, _ = np.linalg.qr(rng.normal(size=(n, k)))
    s = np.geomspace(1.0, condition, k)
    G = U @ np.diag(s) @ V.T
    low, high = quintic_band(1 / (10 * np.sqrt(8)))
    assert 0.68 < low < 0.69 and 1.13 < high < 1.14  # measured here, stated in the docstring
    sv = np.linalg.svd(newton_schulz(G), compute_uv=False)
    assert sv.min() >= low - 1e-9 and sv.max() <= high + 1e-9
    assert 0.6 <= sv.min() and sv.max() <= 1.25  # the rough band


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shape=st.sampled_from(SHAPES))
def test_muon_is_pure(seed, shape):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    m = rng.normal(size=shape)
    g = rng.normal(size=shape)
    state = MuonState(3, m)
    copies = x.copy(), m.copy(), g.copy()
    x_new, state_new = Muon(lr=0.05).step(x, lambda _: g, state)
    for before, after in zip(copies, (x, m, g), strict=True):
        assert np.array_equal(before, after)
    assert x_new is not x and state_new.m is not m
    assert state_new.t == 4 and state_new.m.shape == shape and x_new.shape == shape


# --- Muon step for step -------------------------------------------------------------


def reference_muon(problem, steps, lr, weight_decay, momentum, nesterov):
    """Jordan et al. 2024 with PyTorch's averaged momentum, t counted from 1."""
    rows, cols = problem.shape
    x = problem.start.copy()
    buf = np.zeros_like(x)
    path = []
    for _t in range(1, steps + 1):
        g = problem.grad(x)
        buf = momentum * buf + (1 - momentum) * g
        update = (1 - momentum) * g + momentum * buf if nesterov else buf
        O = reference_newton_schulz(update)  # noqa: E741 (the blog's letter)
        x = x * (1 - lr * weight_decay) - lr * np.sqrt(max(1.0, rows / cols)) * O
        path.append(x.copy())
    return path


def muon_path(rule, problem, steps):
    x, state = problem.start, rule.init(problem.start)
    path = []
    for _ in range(steps):
        x, state = rule.step(x, problem.grad, state)
        path.append(x)
    return path


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("nesterov", [True, False])
def test_muon_matches_the_reference(shape, nesterov):
    problem = MatrixLeastSquares(shape, condition=(10.0, 10.0), seed=2)
    rule = Muon(lr=0.05, weight_decay=0.1, momentum=0.9, nesterov=nesterov)
    ours = muon_path(rule, problem, STEPS)
    theirs = reference_muon(problem, STEPS, 0.05, 0.1, 0.9, nesterov)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-13)
    assert problem.value(ours[-1]) < 0.5 * problem.value(problem.start)


def float64_zeropower(torch):
    """torch's ``_zeropower_via_newtonschulz`` step by step, with torch's own ops,
    in float64 instead of bfloat16."""

    def zeropower(grad, ns_coefficients, ns_steps, eps):
        a, b, c = ns_coefficients
        X = grad.to(torch.float64)
        if grad.size(0) > grad.size(1):
            X = X.T
        X = X / X.norm().clamp(min=eps)
        for _ in range(ns_steps):
            gram = X @ X.T
            gram_update = torch.addmm(gram, gram, gram, beta=b, alpha=c)
            X = torch.addmm(X, gram_update, X, beta=a)
        if grad.size(0) > grad.size(1):
            X = X.T
        return X

    return zeropower


def torch_muon_path(torch, problem, steps, **hyper):
    W = torch.nn.Parameter(torch.tensor(problem.start, dtype=torch.float64))
    optimizer = torch.optim.Muon([W], **hyper)
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        W.grad = torch.tensor(problem.grad(W.detach().numpy().copy()), dtype=torch.float64)
        optimizer.step()
        path.append(W.detach().numpy().copy())
    return path


TORCH_CASES = [
    dict(lr=0.05, weight_decay=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.02, weight_decay=0.0, momentum=0.95, nesterov=False),
    dict(lr=0.05, weight_decay=0.1, momentum=0.9, adjust_lr_fn="match_rms_adamw"),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("hyper", TORCH_CASES)
def test_muon_matches_torch_in_float64(torch, monkeypatch, shape, hyper):
    muon_module = importlib.import_module("torch.optim._muon")
    monkeypatch.setattr(muon_module, "_zeropower_via_newtonschulz", float64_zeropower(torch))
    problem = MatrixLeastSquares(shape, condition=(10.0, 10.0), seed=3)
    theirs = torch_muon_path(torch, problem, STEPS, **hyper)
    ours = muon_path(Muon(**hyper), problem, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-13)


def test_muon_defaults_are_torchs(torch):
    import inspect

    torch_defaults = {
        name: p.default
        for name, p in inspect.signature(torch.optim.Muon).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    rule = Muon()
    for name, value in torch_defaults.items():
        assert getattr(rule, name) == value, name


@pytest.mark.parametrize("shape", SHAPES)
def test_torch_bfloat16_moves_the_path_a_little(torch, shape):
    """torch's own Muon computes Newton–Schulz in bfloat16 (8 bits of mantissa):
    after 30 steps its iterate differs from the float64 path by a relative
    amount between 1e-4 and 1e-1 (printed with ``pytest -s``)."""
    problem = MatrixLeastSquares(shape, condition=(10.0, 10.0), seed=3)
    hyper = dict(lr=0.05, weight_decay=0.1, momentum=0.9)
    bfloat16 = torch_muon_path(torch, problem, STEPS, **hyper)[-1]
    exact = muon_path(Muon(**hyper), problem, STEPS)[-1]
    deviation = np.linalg.norm(bfloat16 - exact) / np.linalg.norm(exact - problem.start)
    print(f"bfloat16 Muon vs float64, shape {shape}: relative deviation {deviation:.2e}")
    assert 1e-4 < deviation < 1e-1


# --- Bad input --------------------------------------------------------------------


@pytest.mark.parametrize("x", [np.ones(4), np.ones((2, 2, 2)), np.float64(1.0)])
def test_muon_refuses_what_is_not_a_matrix(x):
    with pytest.raises(ValueError, match=r"ByLayer\(Muon\(\), vectors=AdamW\(\)\)"):
        Muon().init(x)
    with pytest.raises(ValueError, match="ByLayer"):
        Muon().step(x, lambda x: x, MuonState(0, np.zeros_like(x)))


def test_muon_refuses_a_non_finite_gradient():
    x = np.ones((3, 2))
    rule = Muon()
    with pytest.raises(FloatingPointError, match="gradient at step 0 is not finite"):
        rule.step(x, lambda x: np.full_like(x, np.nan), rule.init(x))


def test_muon_refuses_a_state_for_other_parameters():
    rule = Muon()
    with pytest.raises(ValueError, match="state's m has shape"):
        rule.step(np.ones((3, 2)), lambda x: x, rule.init(np.ones((2, 3))))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(eps=0.0), r"eps must lie in \(0, inf\]"),
        (dict(eps=-1e-7), "eps must lie in"),
        (dict(momentum=1.0), r"momentum must lie in \[0, 1\)"),
        (dict(momentum=-0.1), "momentum must lie in"),
        (dict(lr=0.0), "lr must lie in"),
        (dict(weight_decay=-0.1), "weight_decay must lie in"),
        (dict(ns_steps=0), "ns_steps must be at least 1"),
        (dict(ns_steps=2.5), "ns_steps must be a whole number"),
        (dict(nesterov=1), "nesterov must be True or False"),
        (dict(adjust_lr_fn="spectral"), "adjust_lr_fn must be None"),
        (dict(ns_coefficients=(1.0, 2.0)), "coefficients must be three numbers"),
    ],
)
def test_muon_refuses_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Muon(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(G=np.ones(3)), "G must be a matrix"),
        (dict(G=np.array([[1.0, np.nan]])), "G must be finite"),
        (dict(G=np.ones((2, 2)), eps=0.0), "eps must lie in"),
        (dict(G=np.ones((2, 2)), steps=-1), "steps must be at least 0"),
    ],
)
def test_newton_schulz_refuses_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        newton_schulz(**kwargs)
