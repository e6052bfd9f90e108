r"""RAdam's rectification, derived with SymPy (Liu et al. 2020, Section 4).

Three derivations, each a :class:`optnotes.derivations.Derivation`:

- :func:`sma_length`: the length :math:`\rho_t` of the simple moving average
  whose centre of mass matches that of Adam's exponential average after
  :math:`t` steps (the paper's Section 4);
- :func:`rate_variance`: the variance of the adaptive rate
  :math:`\psi = 1/\sqrt{\hat v}` when :math:`\psi^2` is scaled inverse
  chi-square with :math:`\rho` degrees of freedom, exactly and to first order
  (the paper's Sections 3 and 4), and the rectification
  :math:`r_t = \sqrt{\operatorname{Var}_\infty / \operatorname{Var}_t}`;
- :func:`rectification_growth`: :math:`r` rises with :math:`\rho`,
  :math:`\rho_t` rises with :math:`t`, and :math:`r_t \to 1`.

Steps are counted from 1, as in the paper.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from . import Derivation

beta2 = sp.Symbol("beta_2", positive=True)
t = sp.Symbol("t", positive=True, integer=True)
j = sp.Symbol("j", integer=True, nonnegative=True)
f = sp.Symbol("f", positive=True)  # the length of the simple average
rho, rho_inf = sp.symbols(r"rho rho_\infty", positive=True)
sigma = sp.Symbol("sigma", positive=True)
u = sp.Symbol("u", positive=True)  # t log(1/beta_2)
x = sp.Symbol("x", positive=True)


def _geometric(expr):
    """SymPy splits a geometric sum into ratio = 1 and the rest: keep the rest."""
    return expr.args[-1][0] if isinstance(expr, sp.Piecewise) else expr


@lru_cache(maxsize=1)
def sma_length() -> Derivation:
    r"""Match the centres of mass of the two averages and solve for the length.

    The exponential average weights :math:`g_i^2` (:math:`i = 1 \dots t`) by
    :math:`(1-\beta_2)\beta_2^{t-i}/(1-\beta_2^t)`; a simple average of the last
    :math:`f` squared gradients weights each by :math:`1/f`. Setting the mean
    index (the centre of mass) of the two equal gives :math:`f = \rho_t`.
    """
    d = Derivation("the length of the simple moving average")
    s0 = _geometric(sp.summation(beta2**j, (j, 0, t - 1)))  # sum of beta^j
    s1 = beta2 * sp.diff(s0, beta2)  # sum of j beta^j
    # index i = t - j carries weight (1 - beta) beta^j / (1 - beta^t)
    ema = d.add(
        "ema_centre",
        r"\frac{1-\beta_2}{1-\beta_2^t}\sum_{i=1}^{t} i\,\beta_2^{t-i}",
        sp.factor(sp.expand_power_exp((1 - beta2) * (t * s0 - s1) / (1 - beta2**t))),
    )
    sma = d.add(
        "sma_centre",
        r"\frac{1}{f}\sum_{i=1}^{f} (t + 1 - i)",
        t + 1 - (f + 1) / 2,  # the mean of t, t-1, ..., t+1-f
    )
    gap = sma - ema  # linear in f: solve a f + b = 0
    a, b = sp.diff(gap, f), gap.subs(f, 0)
    assert sp.diff(a, f) == 0
    length = -b / a
    length = d.add("rho_t", r"\rho_t", sp.factor(length))
    # As t grows, q = beta^t and p = t beta^t tend to 0 (beta < 1); t enters
    # rho_t only through p.
    q, p = sp.symbols("q p", nonnegative=True)
    in_q = sp.expand_power_exp(length).subs(beta2**t, q).subs(t, p / q)
    assert t not in sp.cancel(in_q).free_symbols
    limit = d.add("rho_inf", r"\rho_\infty", sp.factor(sp.cancel(in_q).subs({p: 0, q: 0})))
    d.add(
        "paper_gap",
        r"\rho_t - \Bigl(\rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t}\Bigr)",
        sp.cancel(sp.expand_power_exp(length - limit + 2 * t * beta2**t / (1 - beta2**t))),
    )
    d.add("rho_1", r"\rho_1", sp.cancel(length.subs(t, 1)))
    return d


@lru_cache(maxsize=1)
def rate_variance() -> Derivation:
    r"""Var[ψ] for ψ² = ρ/(σ² X), X chi-square with ρ degrees of freedom.

    :math:`\rho` squared gradients of variance :math:`\sigma^2` (mean 0) sum to
    :math:`\sigma^2 X`; the moments of :math:`X` come from its density. The
    first-order (delta-method) approximation of :math:`\operatorname{Var}[\sqrt Y]`
    is :math:`h'(\mathbb E Y)^2 \operatorname{Var} Y` with :math:`h = \sqrt{\cdot}`.
    """
    d = Derivation("the variance of the adaptive rate")
    k = sp.Symbol("k", real=True)
    density = x ** (rho / 2 - 1) * sp.exp(-x / 2) / (2 ** (rho / 2) * sp.gamma(rho / 2))
    moment = sp.integrate(x**k * density, (x, 0, sp.oo), conds="none")
    d.add("moment", r"\mathbb{E}[X^k]", sp.gammasimp(moment), r"for $k > -\rho/2$")
    scale = rho / sigma**2  # psi^2 = scale / X
    mean2 = d.add(
        "mean_psi2", r"\mathbb{E}[\psi^2]", sp.factor(scale * sp.gammasimp(moment.subs(k, -1)))
    )
    mean4 = sp.factor(scale**2 * sp.gammasimp(moment.subs(k, -2)))
    var2 = d.add("var_psi2", r"\operatorname{Var}[\psi^2]", sp.factor(mean4 - mean2**2))
    mean1 = d.add(
        "mean_psi",
        r"\mathbb{E}[\psi]",
        sp.sqrt(scale) * sp.gammasimp(moment.subs(k, sp.Rational(-1, 2))),
    )
    d.add("exact", r"\operatorname{Var}[\psi]", mean2 - mean1**2, r"exact, $\rho > 2$")
    y = sp.Symbol("y", positive=True)
    slope = sp.diff(sp.sqrt(y), y).subs(y, mean2)
    approx = d.add(
        "approx",
        r"\operatorname{Var}[\psi]",
        sp.factor(slope**2 * var2),
        r"to first order, $\rho > 4$",
        rel=r"\approx",
    )
    ratio = d.add(
        "r_squared",
        r"r^2 = \frac{\operatorname{Var}_{\rho_\infty}}{\operatorname{Var}_\rho}",
        sp.factor(approx.subs(rho, rho_inf) / approx),
    )
    d.add("r", "r", sp.sqrt(ratio))
    return d


@lru_cache(maxsize=1)
def rectification_growth() -> Derivation:
    r"""r grows with ρ (for ρ > 2√2), ρ_t with t, and r_t tends to 1.

    With :math:`u = t \ln(1/\beta_2)`, :math:`2t\beta_2^t/(1-\beta_2^t) =
    (2/\ln(1/\beta_2))\, u/(e^u - 1)`, which falls as :math:`u` grows: the
    numerator of its derivative is 0 at :math:`u = 0` and has a negative
    derivative.
    """
    d = Derivation("the rectification grows to 1")
    r2 = rate_variance()["r_squared"]
    d.add("dr2_drho", r"\frac{\partial r^2}{\partial \rho}", sp.factor(sp.diff(r2, rho)))
    shrink = u / (sp.exp(u) - 1)
    slope = sp.together(sp.diff(shrink, u))
    numerator, denominator = sp.fraction(slope)
    d.add("shrink_slope", r"\frac{d}{du}\frac{u}{e^u - 1}", slope)
    d.add("numerator_at_0", r"n(0)", numerator.subs(u, 0))
    d.add("numerator_slope", r"n'(u)", sp.expand(sp.diff(numerator, u)))
    d.add("r_limit", r"\lim_{\rho\to\rho_\infty} r", sp.sqrt(sp.cancel(r2.subs(rho, rho_inf))))
    d.add("shrink_limit", r"\lim_{u\to\infty}\frac{u}{e^u-1}", sp.limit(shrink, u, sp.oo))
    return d
