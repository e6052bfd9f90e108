r"""Derivations of the chapter "Matrix preconditioners: Shampoo and SOAP",
computed with SymPy.

Each function returns a :class:`optnotes.derivations.Derivation`; the chapter
glues its steps, and tests/test_kronecker.py checks them against closed forms
and numbers. The book's vec is row-major, as ``numpy.ravel`` gives it: entry
:math:`(i, j)` of an m x n matrix is coordinate :math:`i n + j`. In that order
:math:`(L \otimes R)\operatorname{vec} G = \operatorname{vec}(L G R^\top)`.
"""

from __future__ import annotations

import sympy as sp

from . import Derivation


def vec(M: sp.Matrix) -> sp.Matrix:
    """The row-major vec of a SymPy matrix, as a column (``numpy.ravel``'s order)."""
    return sp.Matrix([M[i, j] for i in range(M.rows) for j in range(M.cols)])


def vec_columns(M: sp.Matrix) -> sp.Matrix:
    """The column-major vec (the textbooks' ``vec``, Fortran order), as a column."""
    return sp.Matrix([M[i, j] for j in range(M.cols) for i in range(M.rows)])


def _symbols(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True))


def _symmetric(name: str, size: int) -> sp.Matrix:
    def entry(i, j):
        i, j = min(i, j), max(i, j)
        return sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True)

    return sp.Matrix(size, size, entry)


#: Rational orthogonal matrices, so that roots of matrices built on them are exact.
Q2 = sp.Matrix([[3, -4], [4, 3]]) / 5
Q3 = sp.Matrix([[1, 2, 2], [2, 1, -2], [2, -2, 1]]) / 3
#: Their eigenvalues: fourth powers, so that every root the chapter takes is exact.
EIGEN_L = (16, 81)
EIGEN_R = (1, 16, 256)


def spd(Q: sp.Matrix, eigenvalues) -> sp.Matrix:
    """The symmetric positive definite matrix :math:`Q \\operatorname{diag}(\\lambda) Q^\\top`."""
    return Q * sp.diag(*eigenvalues) * Q.T


def spd_power(Q: sp.Matrix, eigenvalues, p) -> sp.Matrix:
    """Its power :math:`Q \\operatorname{diag}(\\lambda^p) Q^\\top` (the principal one)."""
    return Q * sp.diag(*[sp.Integer(v) ** p for v in eigenvalues]) * Q.T


def kronecker_identity(m: int = 2, n: int = 3) -> Derivation:
    r""":math:`(L \otimes R)\operatorname{vec} G = \operatorname{vec}(L G R^\top)` in the
    row-major vec, for symbolic L (m x m), R (n x n) and G (m x n); in the
    column-major vec the factors swap places. Also the cost of the two sides:
    multiplications of a dense product by a vector against the two matrix
    products."""
    d = Derivation("the Kronecker identity")
    L, R, G = _symbols("L", m, m), _symbols("R", n, n), _symbols("G", m, n)
    kron = sp.kronecker_product
    d.add(
        "row_major",
        r"(L \otimes R)\operatorname{vec} G - \operatorname{vec}(L G R^\top)",
        sp.expand(kron(L, R) * vec(G) - vec(L * G * R.T)),
        f"row-major vec, ${m} \\times {n}$, symbolic",
    )
    d.add(
        "column_major",
        r"(R \otimes L)\operatorname{vec}_c G - \operatorname{vec}_c(L G R^\top)",
        sp.expand(kron(R, L) * vec_columns(G) - vec_columns(L * G * R.T)),
        "column-major vec",
    )
    d.add(
        "wrong_order",
        r"\bigl[(L \otimes R)\operatorname{vec}_c G - \operatorname{vec}_c(L G R^\top)\bigr]_1",
        sp.factor(sp.expand((kron(L, R) * vec_columns(G) - vec_columns(L * G * R.T))[0])),
        "not zero: the order matters",
    )
    mm, nn = sp.symbols("m n", positive=True, integer=True)
    d.add(
        "cost_full", r"\text{multiplications, } (L \otimes R)\operatorname{vec} G", (mm * nn) ** 2
    )
    d.add(
        "cost_factored", r"\text{multiplications, } L G R^\top", sp.expand(mm**2 * nn + mm * nn**2)
    )
    return d


QUARTER = sp.Rational(1, 4)


def kronecker_power(s=QUARTER) -> Derivation:
    r""":math:`(L \otimes R)^{-s}\operatorname{vec} G = \operatorname{vec}(L^{-s} G R^{-s})`
    for symmetric positive definite L, R, exactly, on L (2 x 2) and R (3 x 3)
    with rational eigenvectors and eigenvalues that are fourth powers.

    The left side is computed from the 6 x 6 matrix :math:`L \otimes R` alone
    (SymPy diagonalises it); the right side from the factors' roots. The step
    checks too that the root is a root: :math:`(L^{-s} \otimes R^{-s})^{-1/s}
    = L \otimes R`.
    """
    d = Derivation("roots of a Kronecker product")
    L, R = spd(Q2, EIGEN_L), spd(Q3, EIGEN_R)
    G = sp.Matrix([[1, -2, 3], [sp.Rational(1, 2), 0, -1]])
    K = sp.kronecker_product(L, R)
    P, D = K.diagonalize(normalize=True)
    K_root = P * sp.diag(*[v ** (-s) for v in D.diagonal()]) * P.T
    left = K_root * vec(G)
    L_root, R_root = spd_power(Q2, EIGEN_L, -s), spd_power(Q3, EIGEN_R, -s)
    right = vec(L_root * G * R_root)
    d.add("L", "L", L)
    d.add("R", "R", R)
    d.add("eigen_K", r"\operatorname{eig}(L \otimes R)", tuple(sorted(D.diagonal())))
    d.add(
        "gap",
        rf"(L \otimes R)^{{-{sp.latex(s)}}}\operatorname{{vec}} G - "
        rf"\operatorname{{vec}}(L^{{-{sp.latex(s)}}} G R^{{-{sp.latex(s)}}})",
        (left - right).applyfunc(sp.simplify),
        "exact",
    )
    power = sp.Integer(1) / s
    ls = sp.latex(s)
    factors = sp.kronecker_product(L_root, R_root)
    d.add(
        "root_check",
        rf"(L^{{-{ls}}} \otimes R^{{-{ls}}})^{{-{sp.latex(power)}}} - L \otimes R",
        (factors.inv() ** int(power) - K).applyfunc(sp.simplify),
    )
    return d


def single_example() -> Derivation:
    r"""One example's gradient of a linear layer, :math:`G = \delta a^\top`
    (:math:`\delta` the back-propagated gradient at the outputs, a the inputs):
    Shampoo's statistics are K-FAC's factors times scalars, and the Fisher block
    of the example is exactly their Kronecker product."""
    d = Derivation("one example: Shampoo and K-FAC")
    delta = sp.Matrix(sp.symbols("delta_1:4", real=True))
    a = sp.Matrix(sp.symbols("a_1:3", real=True))
    G = delta * a.T
    d.add("G", "G", G)
    d.add(
        "left",
        r"G G^\top - \lVert a \rVert^2 \delta\delta^\top",
        sp.expand(G * G.T - (a.T * a)[0] * delta * delta.T),
    )
    d.add(
        "right",
        r"G^\top G - \lVert \delta \rVert^2 a a^\top",
        sp.expand(G.T * G - (delta.T * delta)[0] * a * a.T),
    )
    d.add(
        "fisher",
        r"\operatorname{vec} G \operatorname{vec} G^\top - \delta\delta^\top \otimes a a^\top",
        sp.expand(vec(G) * vec(G).T - sp.kronecker_product(delta * delta.T, a * a.T)),
        "row-major vec",
    )
    d.add(
        "shampoo",
        r"G G^\top \otimes G^\top G - \lVert a \rVert^2 \lVert \delta \rVert^2"
        r"\, \delta\delta^\top \otimes a a^\top",
        sp.expand(
            sp.kronecker_product(G * G.T, G.T * G)
            - (a.T * a)[0] * (delta.T * delta)[0] * sp.kronecker_product(delta * delta.T, a * a.T)
        ),
    )
    return d


def rank_one_tight() -> Derivation:
    r"""Gupta et al.'s bound is an equality for one rank-one gradient
    :math:`G = u v^\top` at :math:`\epsilon = 0`: :math:`(GG^\top)^{1/2} =
    \lVert v\rVert\, u u^\top / \lVert u\rVert`, likewise on the right, and
    the product of the roots is :math:`g g^\top`."""
    d = Derivation("the bound is tight for one rank-one gradient")
    u = sp.Matrix(sp.symbols("u_1:3", real=True))
    v = sp.Matrix(sp.symbols("v_1:4", real=True))
    nu, nv = sp.sqrt((u.T * u)[0]), sp.sqrt((v.T * v)[0])
    G = u * v.T
    left_root = nv * u * u.T / nu
    right_root = nu * v * v.T / nv
    d.add("left_root_check", r"\bigl(\lVert v\rVert u u^\top/\lVert u\rVert\bigr)^2 - G G^\top",
          sp.simplify(left_root * left_root - G * G.T))  # fmt: skip
    d.add("right_root_check", r"\bigl(\lVert u\rVert v v^\top/\lVert v\rVert\bigr)^2 - G^\top G",
          sp.simplify(right_root * right_root - G.T * G))  # fmt: skip
    d.add(
        "equality",
        r"(GG^\top)^{1/2} \otimes (G^\top G)^{1/2} - g g^\top",
        sp.simplify(sp.kronecker_product(left_root, right_root) - vec(G) * vec(G).T),
        "$r = 1$, $\\epsilon = 0$",
    )
    return d


def rotated_row_sums() -> Derivation:
    r"""Vyas et al.'s connection (§4 of arXiv v2, Claim 1), its key step:
    rotate G into the bases :math:`Q_L, Q_R` (orthogonal),
    :math:`G' = Q_L^\top G Q_R`; the row sums of
    :math:`G' \odot G'` are the diagonal of :math:`Q_L^\top G G^\top Q_L`, whatever
    :math:`Q_R` is, and the column sums that of :math:`Q_R^\top G^\top G Q_R`.
    Summed over the gradients, in the eigenbasis of :math:`L = \sum GG^\top` the row
    sums are L's eigenvalues: what Adafactor keeps in that basis is what
    Shampoo's preconditioner holds."""
    d = Derivation("Adafactor's statistics in Shampoo's eigenbasis")
    G = _symbols("G", 2, 3)
    Gp = Q2.T * G * Q3
    squares = Gp.multiply_elementwise(Gp)
    rows = squares * sp.ones(3, 1)
    cols = (sp.ones(1, 2) * squares).T
    d.add(
        "rows",
        r"(G' \odot G')\mathbf{1} - \operatorname{diag}(Q_L^\top G G^\top Q_L)",
        sp.expand(rows - (Q2.T * G * G.T * Q2).diagonal().T),
    )
    d.add(
        "columns",
        r"(G' \odot G')^\top\mathbf{1} - \operatorname{diag}(Q_R^\top G^\top G Q_R)",
        sp.expand(cols - (Q3.T * G.T * G * Q3).diagonal().T),
    )
    return d


__all__ = [
    "EIGEN_L",
    "EIGEN_R",
    "Q2",
    "Q3",
    "kronecker_identity",
    "kronecker_power",
    "rank_one_tight",
    "rotated_row_sums",
    "single_example",
    "spd",
    "spd_power",
    "vec",
    "vec_columns",
]
