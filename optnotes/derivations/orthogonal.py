r"""Derivations of the chapter "Orthogonalised updates: Muon", computed with SymPy.

Each function returns a :class:`optnotes.derivations.Derivation`; the chapter
glues its steps, and tests/test_orthogonal.py checks them against closed forms
and against numbers computed with numpy.

A Newton–Schulz step :math:`X \leftarrow aX + b (XX^\top) X + c (XX^\top)^2 X`
keeps the singular vectors of X and maps each singular value :math:`\sigma`
to the odd polynomial :math:`p(\sigma) = a\sigma + b\sigma^3 + c\sigma^5`, so
everything about the iteration is a question about one real polynomial.
"""

from __future__ import annotations

import sympy as sp

from . import Derivation

sigma = sp.Symbol("sigma", positive=True)
s1, s2 = sp.symbols("sigma_1 sigma_2", positive=True)
theta, phi = sp.symbols("theta phi", real=True)
m, n = sp.symbols("m n", integer=True, positive=True)

#: The quintic's coefficients of Jordan et al. 2024 (PyTorch's default), exact.
QUINTIC = tuple(sp.Rational(v) for v in ("3.4445", "-4.7750", "2.0315"))


def polynomial(a, b, c, variable=sigma):
    """What one Newton–Schulz step does to a singular value."""
    return a * variable + b * variable**3 + c * variable**5


def cubic() -> Derivation:
    r"""The cubic :math:`p(\sigma) = (3\sigma - \sigma^3)/2` sends every
    :math:`\sigma \in (0, \sqrt 3)` to 1.

    1 is a fixed point with :math:`p'(1) = 0`, and
    :math:`1 - p(1 - e) = e^2 (3 - e)/2`: the error squares at each step
    (quadratic convergence). On (0, 1), :math:`p(\sigma) - \sigma = \sigma(1 -
    \sigma^2)/2 > 0` and :math:`1 - p(\sigma) = (1 - \sigma)^2 (2 + \sigma)/2 > 0`:
    the value grows and stays below 1, so it increases to the only fixed point
    there, 1. On :math:`(1, \sqrt 3)`, :math:`p(\sigma) = \sigma(3 - \sigma^2)/2 > 0`
    and again :math:`1 - p(\sigma) > 0`: one step lands in (0, 1).
    :math:`p(\sqrt 3) = 0`, and beyond :math:`\sqrt 3` the sign flips.
    """
    d = Derivation("The cubic Newton–Schulz step")
    p = d.add("p", r"p(\sigma)", polynomial(sp.Rational(3, 2), sp.Rational(-1, 2), 0))
    dp = sp.diff(p, sigma)
    d.add("p_at_1", r"p(1)", p.subs(sigma, 1))
    d.add("dp_at_1", r"p'(1)", dp.subs(sigma, 1), "quadratic convergence")
    e = sp.Symbol("e", real=True)
    d.add("error", r"1 - p(1 - e)", sp.factor(1 - p.subs(sigma, 1 - e)))
    d.add("growth", r"p(\sigma) - \sigma", sp.factor(p - sigma), r"$> 0$ on (0, 1)")
    d.add("below_one", r"1 - p(\sigma)", sp.factor(1 - p), r"$> 0$ for $\sigma \ne 1$")
    d.add("factored", r"p(\sigma)", sp.factor(p), r"$> 0$ on $(0, \sqrt 3)$")
    d.add("root", r"p(\sqrt 3)", sp.simplify(p.subs(sigma, sp.sqrt(3))))
    return d


def frobenius_bound() -> Derivation:
    r"""Dividing by the Frobenius norm puts every singular value in (0, 1].

    :math:`\lVert G \rVert_F^2 = \operatorname{tr}(G^\top G) = \sum_i \sigma_i^2
    \ge \sigma_{\max}^2`, shown for two singular values: the gap
    :math:`\lVert G \rVert_F^2 - \sigma_1^2 = \sigma_2^2 \ge 0`. The bound is
    reached only by a matrix of rank one; a matrix of rank r with equal singular
    values ends at :math:`1/\sqrt r`.
    """
    d = Derivation("The normalisation")
    U, V = _rotation(theta), _rotation(phi)
    G = U * sp.diag(s1, s2) * V.T
    frobenius2 = d.add("frobenius", r"\lVert G \rVert_F^2", _pythagoras((G.T * G).trace()))
    d.add("gap", r"\lVert G \rVert_F^2 - \sigma_1^2", sp.simplify(frobenius2 - s1**2))
    r = sp.Symbol("r", integer=True, positive=True)
    d.add("equal", r"\sigma / \sqrt{r \sigma^2}", sp.simplify(sigma / sp.sqrt(r * sigma**2)))
    return d


def quintic(coefficients=QUINTIC) -> Derivation:
    r"""The quintic :math:`p(\sigma) = a\sigma + b\sigma^3 + c\sigma^5` with
    (a, b, c) = (3.4445, −4.7750, 2.0315).

    Its slope at 0 is a: a small singular value is multiplied by about 3.4 per
    step. :math:`p(1) = a + b + c \ne 1`: 1 is not a fixed point. The positive
    fixed points solve :math:`c s^2 + b s + (a - 1) = 0` in :math:`s = \sigma^2`
    (exactly, a quadratic); the slope of p there is larger than 1 in absolute
    value, so no value settles: they move about in a band around 1.
    """
    a, b, c = coefficients
    d = Derivation("The quintic Newton–Schulz step")
    p = d.add("p", r"p(\sigma)", polynomial(a, b, c))
    dp = sp.diff(p, sigma)
    d.add("dp_at_0", r"p'(0)", dp.subs(sigma, 0), "fast growth near 0")
    d.add("p_at_1", r"p(1)", p.subs(sigma, 1), "1 is not a fixed point")
    s = sp.Symbol("s", positive=True)
    roots = sorted(sp.solve(sp.Eq(c * s**2 + b * s + a - 1, 0), s), key=lambda v: float(v))
    fixed = tuple(sp.sqrt(v) for v in roots)
    d.add(
        "fixed",
        r"\sigma^\ast\ (p(\sigma^\ast) = \sigma^\ast > 0)",
        tuple(f.evalf(6) for f in fixed),
    )
    d.add(
        "residual",
        r"p(\sigma^\ast) - \sigma^\ast",
        tuple(sp.simplify(p.subs(sigma, f) - f) for f in fixed),
    )
    d.add(
        "slopes",
        r"p'(\sigma^\ast)",
        tuple(sp.expand(dp.subs(sigma, f)).evalf(6) for f in fixed),
        r"$|p'| > 1$: repelling",
    )
    critical = sorted(sp.solve(sp.Eq(sp.diff(p, sigma), 0), sigma), key=lambda v: float(v))
    peak = critical[0]
    d.add("peak_at", r"\sigma_{\max}\ (p'(\sigma_{\max}) = 0)", peak.evalf(6))
    d.add("peak", r"p(\sigma_{\max})", p.subs(sigma, peak).evalf(6), "the largest value on [0, 1]")
    return d


def steepest_descent() -> Derivation:
    r""":math:`UV^\top` is the steepest direction under the spectral norm.

    For a 2 × 2 matrix :math:`G = U \Sigma V^\top` with rotations U, V (angles
    :math:`\theta`, :math:`\phi`): :math:`UV^\top` is orthogonal (spectral norm 1)
    and :math:`\langle G, UV^\top \rangle = \operatorname{tr}(G^\top UV^\top) =
    \sigma_1 + \sigma_2`, the nuclear norm, which von Neumann's trace inequality
    shows no :math:`\lVert D \rVert_2 \le 1` can exceed (the chapter's proof).
    """
    d = Derivation("The steepest direction")
    U, V = _rotation(theta), _rotation(phi)
    G = U * sp.diag(s1, s2) * V.T
    O = U * V.T  # noqa: E741
    d.add(
        "orthogonal",
        r"(UV^\top)^\top (UV^\top) - I",
        (O.T * O - sp.eye(2)).applyfunc(_pythagoras),
    )
    d.add("inner", r"\langle G, UV^\top \rangle", _pythagoras((G.T * O).trace()))
    return d


def shampoo_without_accumulation() -> Derivation:
    r"""Shampoo's direction without accumulation is :math:`UV^\top`.

    :math:`(GG^\top)^{-1/4}\, G\, (G^\top G)^{-1/4}` for a 2 × 2 matrix with an
    exact (rational) SVD: U and V rotations with sides (3, 4, 5) and
    (5, 12, 13), singular values 4 and 9, so that the fourth roots of
    :math:`GG^\top` (eigenvalues 16 and 81) are rational. The roots are SymPy's
    own matrix powers, not built from the SVD. The identity holds for a square
    invertible G; for a rectangular G one of :math:`GG^\top`, :math:`G^\top G`
    is singular, and the inverse roots are taken on its range (the test file
    does this numerically). Bernstein and Newhouse 2024, Story II, Eqs. 15–16.
    """
    d = Derivation("Shampoo without accumulation")
    U = sp.Matrix([[3, -4], [4, 3]]) / 5
    V = sp.Matrix([[5, -12], [12, 5]]) / 13
    G = d.add("G", "G", U * sp.diag(4, 9) * V.T)
    left = (G * G.T) ** sp.Rational(-1, 4)
    right = (G.T * G) ** sp.Rational(-1, 4)
    left = d.add("left", r"(GG^\top)^{-1/4}", sp.simplify(left))
    right = d.add("right", r"(G^\top G)^{-1/4}", sp.simplify(right))
    d.add("direction", r"(GG^\top)^{-1/4} G (G^\top G)^{-1/4}", sp.simplify(left * G * right))
    d.add("gap", r"\ldots - UV^\top", sp.simplify(left * G * right - U * V.T))
    return d


def update_rms() -> Derivation:
    r"""The root mean square of :math:`UV^\top` and of the adjusted update.

    For a full-rank m × n matrix with :math:`m \le n`, :math:`UV^\top` has m
    singular values equal to 1, so :math:`\lVert UV^\top \rVert_F^2 = m` and its
    RMS over the mn entries is :math:`\sqrt{m/(mn)} = 1/\sqrt n =
    1/\sqrt{\max(m, n)}` (the same with m and n exchanged). "match_rms_adamw"
    multiplies it by :math:`0.2\sqrt{\max(m, n)}`: RMS 0.2 whatever the shape.
    Jordan et al.'s :math:`\sqrt{\max(1, m/n)}` gives :math:`1/\sqrt n`, n the
    number of columns, whichever side is longer.
    """
    d = Derivation("The update's RMS")
    small, large = sp.symbols("k K", integer=True, positive=True)  # min and max side
    rms = d.add(
        "rms",
        r"\sqrt{\lVert UV^\top \rVert_F^2 / (mn)}",
        sp.simplify(sp.sqrt(small / (small * large))),
        r"$k = \min(m, n)$, $K = \max(m, n)$",
    )
    d.add("adamw", r"0.2 \sqrt{K} \cdot \mathrm{RMS}", sp.simplify(sp.sqrt(large) * rms / 5))
    d.add(
        "original_tall",
        r"\sqrt{\max(1, m/n)} \cdot \mathrm{RMS}\ (m = K \ge n = k)",
        sp.simplify(sp.sqrt(large / small) * rms),
    )
    d.add(
        "original_wide",
        r"\sqrt{\max(1, m/n)} \cdot \mathrm{RMS}\ (m = k \le n = K)",
        rms,
        r"$\max(1, k/K) = 1$",
    )
    return d


def _pythagoras(expr):
    """Expand and replace every sin^2 by 1 - cos^2 (faster than trigsimp)."""
    squares = {sp.sin(a) ** 2: 1 - sp.cos(a) ** 2 for a in (theta, phi)}
    return sp.expand(sp.expand(expr).subs(squares))


def _rotation(angle):
    return sp.Matrix([[sp.cos(angle), -sp.sin(angle)], [sp.sin(angle), sp.cos(angle)]])
