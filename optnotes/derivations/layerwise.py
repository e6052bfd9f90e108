r"""The length of a LARS step, computed with SymPy (chapter: large batches and
layer-wise rates).

With :math:`W = \lVert w \rVert`, :math:`G = \lVert g \rVert` and :math:`c` the
cosine of the angle between :math:`g` and :math:`w`, the first step of LARS
(:math:`v = 0`, :math:`\epsilon = 0`) is :math:`\gamma\lambda(g + \beta w)` with
:math:`\lambda = \eta W / (G + \beta W)`, and
:math:`\lVert g + \beta w\rVert^2 = G^2 + 2\beta G W c + \beta^2 W^2`.
"""

from __future__ import annotations

import sympy as sp

from . import Derivation

gamma, eta, W, G, k = sp.symbols("gamma eta W G k", positive=True)
beta = sp.Symbol("beta", nonnegative=True)
c = sp.Symbol("c", real=True)  # cos of the angle between g and w, in [-1, 1]


def lars_step_length() -> Derivation:
    """LARS's step length, its independence of the gradient's scale at β = 0,
    and the bound γη‖w‖ it never exceeds."""
    d = Derivation("the length of a LARS step")
    lam = d.add("ratio", r"\lambda", eta * W / (G + beta * W))
    update = sp.sqrt(G**2 + 2 * beta * G * W * c + beta**2 * W**2)
    length = d.add("length", r"\lVert \Delta w \rVert", gamma * lam * update)
    no_decay = d.add(
        "no_decay", r"\lVert \Delta w \rVert_{\beta = 0}", sp.simplify(length.subs(beta, 0))
    )
    d.add(
        "relative",
        r"\lVert \Delta w \rVert_{\beta = 0} / \lVert w \rVert",
        sp.simplify(no_decay / W),
        "the same fraction of every layer",
    )
    d.add(
        "rescaled",
        r"\lVert \Delta w \rVert(k g, k \beta) - \lVert \Delta w \rVert(g, \beta)",
        sp.simplify(length.subs({G: k * G, beta: k * beta}, simultaneous=True) - length),
        "rescaling g and the decay together",
    )
    d.add(
        "gap",
        r"(G + \beta W)^2 - \lVert g + \beta w \rVert^2",
        sp.factor(sp.expand((G + beta * W) ** 2 - update**2)),
        "never below 0",
    )
    return d
