r"""Derivations of the chapter "Sign methods", computed with SymPy.

Each function returns a :class:`optnotes.derivations.Derivation`; the chapter
glues its steps, and tests/test_sign.py checks them against closed forms.
"""

from __future__ import annotations

import sympy as sp

from . import Derivation

alpha = sp.Symbol("alpha", positive=True)
beta1, beta2 = sp.symbols("beta_1 beta_2", nonnegative=True)
eps = sp.Symbol("epsilon", nonnegative=True)
t = sp.Symbol("t", integer=True, nonnegative=True)
g = sp.Symbol("g", real=True, nonzero=True)
c = sp.Symbol("c", positive=True)


def adam_as_sign() -> Derivation:
    r"""Adam with :math:`\beta_1 = \beta_2 = 0` and :math:`\epsilon = 0` is signSGD.

    With no memory the moments are the last gradient and its square, the bias
    corrections are 1, and :math:`\hat m/\sqrt{\hat v} = g/|g| = \operatorname{sign} g`
    for :math:`g \ne 0`. (At :math:`g = 0` Adam divides 0 by 0.)
    """
    d = Derivation("Adam without memory is signSGD")
    zero = {beta1: 0, beta2: 0, eps: 0}
    m = (1 - beta1) * g  # the first step's m (any step's, when beta1 = 0)
    v = (1 - beta2) * g**2
    m_hat = d.add("m_hat", r"\hat m", (m / (1 - beta1 ** (t + 1))).subs(zero))
    v_hat = d.add("v_hat", r"\hat v", (v / (1 - beta2 ** (t + 1))).subs(zero))
    step = alpha * m_hat / (sp.sqrt(v_hat) + eps.subs(zero))
    d.add("step", r"\alpha\, \hat m / \sqrt{\hat v}", sp.simplify(step))
    d.add(
        "gap",
        r"\alpha\, \hat m / \sqrt{\hat v} - \alpha \operatorname{sign} g",
        sp.simplify(step - alpha * sp.sign(g)),
        "for every $g \\ne 0$",
    )
    return d


def sign_norms(d_coordinates: int = 5) -> Derivation:
    r"""The sign's norms do not depend on the gradient's scale.

    For a gradient with ``d_coordinates`` non-zero coordinates,
    :math:`\|\operatorname{sign} g\|_2 = \sqrt d` and :math:`\|\cdot\|_\infty = 1`,
    and :math:`\operatorname{sign}(c g) = \operatorname{sign}(g)` for :math:`c > 0`,
    while gradient descent's step scales with c.
    """
    d = Derivation("The sign's norm")
    gs = sp.symbols(f"g_1:{d_coordinates + 1}", real=True, nonzero=True)
    signs = [sp.sign(gi) for gi in gs]
    d.add(
        "l2",
        rf"\|\operatorname{{sign}} g\|_2\ (d = {d_coordinates})",
        sp.sqrt(sp.simplify(sum(s**2 for s in signs))),
    )
    d.add("linf", r"\|\operatorname{sign} g\|_\infty", sp.Max(*[sp.Abs(s) for s in signs]))
    d.add(
        "scaled",
        r"\operatorname{sign}(c\,g_1) - \operatorname{sign}(g_1)",
        sp.simplify(sp.sign(c * gs[0]) - signs[0]),
        "$c > 0$",
    )
    d.add(
        "gd_scaled",
        r"\|\alpha\, c\, g\|_2 / \|\alpha\, g\|_2",
        sp.simplify(sp.sqrt(sum((c * gi) ** 2 for gi in gs)) / sp.sqrt(sum(gi**2 for gi in gs))),
    )
    return d


def update_rms() -> Derivation:
    r"""The size per coordinate of Adam's update and of Lion's.

    Gradients :math:`g = \mu + \sigma\xi` with independent :math:`\xi` of mean 0 and
    variance 1, in the steady state (:math:`t \to \infty`, no bias left):
    :math:`E m = \mu`, :math:`E m^2 = \mu^2 + \sigma^2 (1-\beta_1)/(1+\beta_1)`
    (the sum of the squared weights :math:`(1-\beta_1)\beta_1^k`),
    :math:`E v = \mu^2 + \sigma^2`. Taking :math:`E m^2 / E v` for the mean square
    of :math:`m/\sqrt v` (an approximation: a ratio of means, not the mean of a
    ratio, good when :math:`\beta_2` is near 1 so that v barely changes from step
    to step; it assumes :math:`\mu` and :math:`\sigma` fixed, which a run whose
    gradient shrinks is not), Adam's update has RMS below 1 unless
    :math:`\sigma = 0` (for :math:`\beta_1 > 0`); Lion's
    :math:`\operatorname{sign}(c)^2 = 1` wherever :math:`c \ne 0`.
    """
    d = Derivation("RMS of the update")
    mu, sigma = sp.symbols("mu sigma", nonnegative=True)
    b = sp.Symbol("beta_1", positive=True)
    r = b**2  # the weights (1 - b) b^k squared: a geometric series of ratio b^2 < 1
    weights = (1 - b) ** 2 / (1 - r)  # sum over k >= 0 of (1 - b)^2 r^k
    weights = d.add("weights", r"\textstyle\sum_k (1-\beta_1)^2 \beta_1^{2k}", sp.simplify(weights))
    m2 = mu**2 + sigma**2 * weights
    v = mu**2 + sigma**2
    ratio2 = d.add("ratio2", r"E m^2 / E v", m2 / v)
    d.add(
        "below_one",
        r"E m^2 / E v - 1",
        sp.factor(sp.simplify(ratio2 - 1)),
        "zero only if $\\sigma = 0$ (as $\\beta_1 > 0$)",
    )
    noise_only = d.add("noise_only", r"E m^2 / E v\ (\mu = 0)", sp.simplify(ratio2.subs(mu, 0)))
    d.add(
        "noise_only_default",
        r"\sqrt{E m^2 / E v}\ (\mu = 0,\ \beta_1 = 0.9)",
        sp.sqrt(noise_only.subs(b, sp.Rational(9, 10))),
    )
    d.add("lion", r"\operatorname{sign}(c)^2\ (c \ne 0)", sp.sign(g) ** 2)
    return d


def decay_per_step() -> Derivation:
    r"""What sets the strength of decoupled weight decay: the product of rate and decay.

    Lion's :math:`x \leftarrow x - \alpha(\operatorname{sign} c + \lambda x)` (Chen et
    al. write the rate :math:`\eta`) multiplies x by :math:`1 - \alpha\lambda` every
    step, as AdamW's decay does; a rate k times smaller with a decay k times larger
    leaves the product unchanged.
    """
    d = Derivation("Decay per step")
    lam, kk = sp.symbols("lambda k", positive=True)
    x, s = sp.symbols("x s", real=True)
    steps = sp.Symbol("T", integer=True, positive=True)
    new_x = x - alpha * (s + lam * x)
    d.add("factor", r"\partial x' / \partial x", sp.diff(new_x, x))
    d.add("after_T", r"x_T\ (\operatorname{sign} c = 0)", x * sp.diff(new_x, x) ** steps)
    d.add(
        "same_product",
        r"(\alpha / k)(k \lambda) - \alpha\lambda",
        sp.simplify((alpha / kk) * (kk * lam) - alpha * lam),
    )
    half = sp.log(2) / -sp.log(1 - alpha * lam)
    d.add("half_life", r"T_{1/2}", half)
    d.add(
        "half_life_small",
        r"T_{1/2}\ (\alpha\lambda \to 0)",
        sp.limit(half * alpha * lam, alpha, 0) / (alpha * lam),
    )
    return d
