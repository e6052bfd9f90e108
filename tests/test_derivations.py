"""Every derivation the book displays, checked against closed forms written here.

Each expected expression is typed independently of optnotes.derivations, and
compared by simplify-to-zero (or exact equality); the numbers come from the
sources named in ../shared/reference.md (Distill 2017, D2L).
"""

import numpy as np
import pytest
import sympy as sp

from optnotes import analysis
from optnotes import derivations as D

alpha, lam, mu, sigma = D.alpha, D.lam, D.mu, D.sigma
l1, ln, kappa, h, z, t = D.l1, D.ln, D.kappa, D.h, D.z, D.t


def same(a, b) -> bool:
    return sp.simplify(a - b) == 0


def test_gd_on_quadratic():
    d = D.gd_on_quadratic()
    assert same(d["factor"], 1 - alpha * lam)
    assert d["stable"].as_set() == sp.Interval.open(0, 2)
    assert same(d["alpha_star"], 2 / (l1 + ln))
    assert same(d["rate"], (ln - l1) / (ln + l1))
    assert same(d["rate_kappa"], (kappa - 1) / (kappa + 1))
    # Distill 2017: curvatures 0.01 and 1 give alpha* = 1.9802 and rate 0.9802.
    values = {l1: 0.01, ln: 1.0}
    assert float(d["alpha_star"].subs(values)) == pytest.approx(1.9802, abs=1e-4)
    assert float(d["rate"].subs(values)) == pytest.approx(0.9802, abs=1e-4)


def test_sgd_noise_floor():
    d = D.sgd_noise_floor()
    assert same(d["variance"], alpha * sigma**2 / (lam * (2 - alpha * lam)))
    assert same(d["floor"], alpha * sigma**2 / (2 * (2 - alpha * lam)))
    assert same(d["small_rate"], alpha * sigma**2 / 4)


def test_sgd_noise_floor_against_a_simulation():
    floor = D.sgd_noise_floor()["floor"]
    rng = np.random.default_rng(1)
    a, l_, s = 0.2, 2.0, 0.5
    x = np.zeros(40_000)
    for _ in range(200):
        x = (1 - a * l_) * x - a * s * rng.normal(size=x.shape)
    simulated = np.mean(l_ * x**2 / 2)
    assert simulated == pytest.approx(float(floor.subs({alpha: a, lam: l_, sigma: s})), rel=0.03)


def test_momentum_forms():
    d = D.momentum_forms()
    for key in ("b_minus_a", "c_minus_a", "velocity_b", "velocity_c"):
        assert d[key] == 0, key
    u, a0, a1 = (
        sp.Symbol("u"),
        sp.Symbol("alpha_0", positive=True),
        sp.Symbol("alpha_1", positive=True),
    )
    assert same(d["changed_rate"], mu * u * (a0 - a1) / a0)


def test_momentum_as_average():
    d = D.momentum_as_average()
    assert same(d["weights"], alpha * (1 - mu**t) / (1 - mu))
    assert same(d["horizon"], alpha / (1 - mu))
    assert d["horizon_0.9"] == 10
    # Against the sum itself, for a few t.
    for steps in (1, 2, 7):
        direct = sum(0.01 * 0.9 ** (steps - 1 - k) for k in range(steps))
        assert float(d["weights"].subs({alpha: 0.01, mu: 0.9, t: steps})) == pytest.approx(direct)


def test_momentum_on_quadratic():
    d = D.momentum_on_quadratic()
    assert same(d["charpoly"], z**2 - (1 + mu - h) * z + mu)
    assert same(d["p_at_1"], h)
    assert same(d["region"], 2 + 2 * mu)
    assert same(d["critical"], (1 - sp.sqrt(h)) ** 2)
    assert same(d["product"], mu)
    assert same(d["alpha_star"], (2 / (sp.sqrt(l1) + sp.sqrt(ln))) ** 2)
    assert same(d["mu_star"], ((sp.sqrt(ln) - sp.sqrt(l1)) / (sp.sqrt(ln) + sp.sqrt(l1))) ** 2)
    assert same(d["rate_kappa"], (sp.sqrt(kappa) - 1) / (sp.sqrt(kappa) + 1))
    # Distill 2017: curvatures 0.01 .. 1 give alpha = 3.3058, mu = 0.6694, rate 0.81818.
    values = {l1: 0.01, ln: 1.0}
    assert float(d["alpha_star"].subs(values)) == pytest.approx(3.3058, abs=1e-4)
    assert float(d["mu_star"].subs(values)) == pytest.approx(0.6694, abs=1e-4)
    assert float(d["rate_kappa"].subs(kappa, 100)) == pytest.approx(0.81818, abs=1e-5)


def test_momentum_eigenvalues_match_the_matrix_numerically():
    d = D.momentum_on_quadratic()
    for hv, mv in [(0.3, 0.5), (1.9, 0.9), (0.01, 0.0)]:
        M = np.array(d["matrix"].subs({h: hv, mu: mv}), dtype=float)
        numeric = sorted(np.linalg.eigvals(M), key=lambda c: (c.real, c.imag))
        symbolic = sorted(
            (complex(e.subs({h: hv, mu: mv})) for e in d["eigenvalues"]),
            key=lambda c: (c.real, c.imag),
        )
        np.testing.assert_allclose(numeric, symbolic, atol=1e-12)


def test_nesterov_lookahead():
    d = D.nesterov_lookahead()
    assert d["difference"] == 0
    assert d["torch"] == 0


def test_nesterov_on_quadratic():
    d = D.nesterov_on_quadratic()
    assert same(d["charpoly"], z**2 - (1 + mu) * (1 - h) * z + mu * (1 - h))
    assert same(d["region"], (2 + 2 * mu) / (1 + 2 * mu))
    assert same(d["product"], mu * (1 - h))
    assert d["matrix"].subs(h, 1) == sp.Matrix([[0, 1], [0, 0]])


def test_spectral_radii_against_published_numbers():
    # Distill 2017 (erratum): alpha = 0.5, mu = 0.81, lambda = 1 is in the complex
    # regime with rate sqrt(mu) = 0.9.
    assert analysis.momentum_radius(0.5, 0.81) == pytest.approx(0.9)
    # Critical damping mu = (1 - sqrt(h))^2 gives rate 1 - sqrt(h).
    assert analysis.momentum_radius(0.25, 0.25) == pytest.approx(0.5)
    # D2L: f = 0.1 x1^2 + 2 x2^2 (curvatures 0.2 and 4), eta = 0.6: GD factor
    # |1 - 2.4| = 1.4 diverges; momentum beta = 0.5 gives 0.7071 in both directions.
    assert analysis.gd_radius(0.6 * 4) == pytest.approx(1.4)
    np.testing.assert_allclose(
        analysis.momentum_radius(0.6 * np.array([0.2, 4.0]), 0.5), 0.7071, atol=1e-4
    )
    # Nesterov's region at mu = 0.9 ends at h = 3.8 / 2.8.
    assert (
        analysis.nesterov_radius(3.8 / 2.8 - 1e-6, 0.9)
        < 1
        < analysis.nesterov_radius(3.8 / 2.8 + 1e-3, 0.9)
    )


def test_measured_rate_of_a_geometric_sequence():
    xs = np.array([[0.9**k, -(0.9**k)] for k in range(100)])
    assert analysis.measured_rate(xs, (0, 0)) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="at least 5 iterates away from the minimum"):
        analysis.measured_rate(np.zeros((10, 2)), (0, 0))


def test_derivations_render_as_latex():
    d = D.momentum_on_quadratic()
    latex = d.latex("region", "critical")
    assert latex.startswith(r"\begin{aligned}") and r"h &< 2 \mu + 2" in latex
    assert d._repr_latex_().startswith("$$")


# --- Adaptive methods ------------------------------------------------------------


def test_newton_lands_on_the_minimum():
    d = D.newton_on_quadratic()
    assert d["gradient_after"] == sp.zeros(2, 1)
    a, b, c = sp.symbols("a b c")
    q1, q2 = sp.symbols("q_1 q_2")
    # Cramer's rule, written out: the minimiser of 1/2 x'Hx - q'x.
    det = a * c - b**2
    expected = sp.Matrix([(c * q1 - b * q2) / det, (a * q2 - b * q1) / det])
    step = d["step"].subs({s: sp.Symbol(s.name) for s in d["step"].free_symbols})
    assert (step - expected).applyfunc(sp.simplify) == sp.zeros(2, 1)


def test_diagonal_scaling():
    d = D.diagonal_scaling()
    theta = next(s for s in d["rho"].free_symbols if s.name == "theta")
    assert d["aligned"] == 0
    assert same(d["rho_45"], (l1 - ln) / (l1 + ln))
    assert same(d["kappa_45"], ln / l1)
    # rho against the numerically scaled Hessian of a turned ravine.
    for angle in (0.3, 1.0):
        H = np.array(d["hessian"].subs({l1: 0.05, ln: 1.0, theta: angle}), dtype=float)
        rho = H[0, 1] / np.sqrt(H[0, 0] * H[1, 1])
        assert float(d["rho"].subs({l1: 0.05, ln: 1.0, theta: angle})) == pytest.approx(rho)


def test_adagrad_constant_gradient():
    d = D.adagrad_constant_gradient()
    g = sp.Symbol("g", positive=True)
    assert same(d["r"], t * g**2)
    assert same(d["step"], alpha / sp.sqrt(t))
    assert same(d["effective"], alpha / (g * sp.sqrt(t)))
    assert same(d["distance"], 2 * alpha * (sp.sqrt(t) - 1))


def test_adagrad_constant_gradient_against_a_run():
    import optnotes as on

    xs = on.run(on.Adagrad(lr=0.1, eps=1e-300), lambda x: np.full(1, 3.0), [0.0], 50)
    steps = -np.diff(xs[:, 0])
    np.testing.assert_allclose(steps, 0.1 / np.sqrt(np.arange(1, 51)), rtol=1e-12)


def test_adagrad_axis_aligned():
    d = D.adagrad_axis_aligned()
    s = sp.Symbol("s", integer=True, positive=True)
    x = sp.IndexedBase("x")
    root = sp.sqrt(sp.Sum(x[s] ** 2, (s, 1, t)))
    assert same(d["raw"], -alpha * lam * x[t] / sp.sqrt(sp.Sum(lam**2 * x[s] ** 2, (s, 1, t))))
    assert lam in d["raw"].free_symbols  # displayed before it cancels
    assert same(d["step"], -alpha * x[t] / root)
    assert same(d["effective"], alpha / (lam * root))


def test_adagrad_axis_aligned_against_a_run():
    """The effective rate α/(λ√Σx²) on a run of Adagrad along one coordinate."""
    import optnotes as on

    lr, curvature = 0.7, 0.05
    xs = on.run(on.Adagrad(lr=lr, eps=1e-300), lambda x: curvature * x, [3.0], 20)[:, 0]
    effective = D.adagrad_axis_aligned()["effective"]
    s = sp.Symbol("s", integer=True, positive=True)
    x = sp.IndexedBase("x")
    for n in (1, 5, 20):
        value = effective.subs({alpha: lr, lam: curvature, t: n}).doit()
        value = value.subs({x[i + 1]: xs[i] for i in range(n)})
        step = (xs[n - 1] - xs[n]) / (curvature * xs[n - 1])
        assert float(value) == pytest.approx(step, rel=1e-12), n
        assert s not in value.free_symbols


def test_rmsprop_average():
    d = D.rmsprop_average()
    rho = sp.Symbol("rho", positive=True)
    assert same(d["weights"], 1 - rho**t)
    G = sp.Symbol(r"\mathbb{E}[g^2]", positive=True)
    assert same(d["steady"], G)
    assert same(d["first_step"], 1 / sp.sqrt(1 - rho))
    assert d["first_step_0.9"] == sp.sqrt(10)


def test_adadelta_units():
    d = D.adadelta_units()
    X, F = sp.symbols(r"[x] [f]", positive=True)
    assert same(d["sgd"], F / X)
    assert d["adagrad"] == 1
    assert same(d["adadelta"], X)
    eps, rho = sp.symbols("epsilon rho", positive=True)
    assert same(d["first_large_g"], sp.sqrt(eps) / sp.sqrt(1 - rho))


def test_adadelta_first_step_against_a_run():
    import optnotes as on

    xs = on.run(on.Adadelta(rho=0.95, eps=1e-6), lambda x: np.full(1, 1e3), [0.0], 1)
    assert abs(xs[1, 0]) == pytest.approx(np.sqrt(1e-6 / 0.05), rel=1e-6)


# --- Adam and its successors -------------------------------------------------------

b1, b2, eps = D.beta1, D.beta2, D.eps


def test_adam_bias_correction():
    d = D.adam_bias_correction()
    tt = sp.Symbol("t", integer=True, positive=True)
    G = sp.Symbol(r"\mathbb{E}[g^2]", positive=True)
    Gm = sp.Symbol(r"\mathbb{E}[g]", real=True)
    assert d["unroll_check"] == 0
    assert same(d["summed"], G * (1 - b2**tt))
    assert same(d["corrected"], G)
    assert same(d["m"], Gm * (1 - b1**tt))
    assert same(d["wrong_v"], G * (1 - b2**tt) / (1 - b2))
    # The unrolled sum, evaluated, against the recursion run numerically.
    rng = np.random.default_rng(0)
    g2 = rng.random(6)
    v = 0.0
    for value in g2:
        v = 0.9 * v + 0.1 * value
    unrolled = 0.1 * sum(0.9 ** (6 - i) * g2[i - 1] for i in range(1, 7))
    assert v == pytest.approx(unrolled)


def test_adam_first_step():
    d = D.adam_first_step()
    assert d["corrected_limit"] == alpha
    assert same(d["ratio"], (1 - b1) / sp.sqrt(1 - b2))
    assert d["ratio_defaults"] == sp.sqrt(10)
    assert float(d["ratio_defaults"]) == pytest.approx(3.1623, abs=1e-4)


def test_adamax_limit():
    d = D.adamax_limit()
    assert d["two_terms"] == 3
    assert d["factor"] == 1


def test_yogi_change():
    d = D.yogi_change()
    v = sp.Symbol("v", positive=True)
    assert same(d["adam_small_g"], -(1 - b2) * v)
    assert d["yogi_small_g"] == 0


def test_weight_decay():
    d = D.weight_decay()
    assert d["sgd"] == 0
    x, lam_ = sp.symbols("x lambda", real=True)
    s = sp.Symbol(r"\sqrt{\hat v}", positive=True)
    assert same(d["adaptive"], alpha * lam_ * x * (1 - 1 / s))


def test_robbins_monro():
    d = D.robbins_monro()
    a0, k, gamma = sp.symbols("alpha_0 k gamma", positive=True)
    T = sp.Symbol("T", integer=True, positive=True)
    meets = {}
    for name in ("constant", "inverse_sqrt", "inverse_time", "exponential", "step"):
        meets[name] = d[f"{name}_sum"] == sp.oo and d[f"{name}_squares"] != sp.oo
    assert meets == {
        "constant": False,
        "inverse_sqrt": False,
        "inverse_time": True,
        "exponential": False,
        "step": False,
    }
    assert same(d["inverse_time_squares"], sp.pi**2 * a0**2 / 6)
    assert same(d["exponential_sum"], a0 / (1 - sp.exp(-k)))
    assert same(d["step_sum"], T * a0 / (1 - gamma))
    # Against partial sums, numerically.
    partial = sum(0.3 * np.exp(-0.1 * t) for t in range(2000))
    assert float(d["exponential_sum"].subs({a0: 0.3, k: 0.1})) == pytest.approx(partial)
