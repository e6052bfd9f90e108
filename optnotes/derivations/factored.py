r"""Adafactor's factored second moment, derived in SymPy (chapter: Memory).

For a non-negative m × n matrix V with row sums :math:`R = V 1` and column sums
:math:`C = 1^\top V`, the rank-one matrix :math:`\hat V = R C^\top / (1^\top R)`

- minimises the I-divergence (generalised Kullback–Leibler)
  :math:`D(V \,\|\, p q^\top) = \sum_{ij} V_{ij}\log\frac{V_{ij}}{p_i q_j}
  - V_{ij} + p_i q_j` over positive p, q (Shazeer & Stern 2018, Section 3): the
  gradient vanishes there, every stationary point gives the same product, and
  :math:`D(V\|pq^\top) = D(V\|\hat V) + D(\hat V\|pq^\top)` for every p, q;
- has the row sums R and the column sums C of V;
- equals V when V is itself of rank one.
"""

from __future__ import annotations

import sympy as sp

from . import Derivation


def _matrix(m: int, n: int, name: str = "V") -> sp.Matrix:
    return sp.Matrix(m, n, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}", positive=True))


def _estimate(V: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """Row sums R (a column), column sums C (a row) and R C / (1^T R)."""
    R = V * sp.ones(V.cols, 1)
    C = sp.ones(1, V.rows) * V
    return R, C, R * C / sum(R)


def factored(m: int = 3, n: int = 2) -> Derivation:
    r"""The factored estimate of a symbolic positive m × n matrix: its sums, the
    I-divergence's stationarity conditions, and the rank-one case.

    Steps (each a difference that simplifies to zero, or the formula):
    ``estimate`` the entry :math:`\hat V_{ij} = R_i C_j / \sum_k R_k`;
    ``row_sums`` and ``col_sums`` :math:`\hat V 1 - R` and :math:`1^\top \hat V - C`;
    ``grad_p`` and ``grad_q`` the gradient of :math:`D(V\|pq^\top)` at
    :math:`p = R`, :math:`q = C / (1^\top R)`; ``scale`` the product :math:`p_i q_j`
    at any stationary point, from :math:`p_i = R_i / \sum q` and
    :math:`q_j = C_j / \sum p`; ``pythagoras`` the identity above (zero);
    ``rank_one`` :math:`\hat V - V` for :math:`V = a b^\top`.
    """
    d = Derivation("the factored second moment")
    V = _matrix(m, n)
    R, C, V_hat = _estimate(V)
    Ri, Cj, S = sp.symbols("R_i C_j S_R", positive=True)
    d.add("estimate", r"\hat V_{ij}", Ri * Cj / S, r"$S_R = \sum_k R_k = \sum_{kl} V_{kl}$")
    d.add("row_sums", r"\hat V 1 - R", _zero(V_hat * sp.ones(n, 1) - R))
    d.add("col_sums", r"1^\top \hat V - C", _zero(sp.ones(1, m) * V_hat - C))

    p = sp.Matrix(sp.symbols(f"p1:{m + 1}", positive=True))
    q = sp.Matrix(sp.symbols(f"q1:{n + 1}", positive=True))
    D = divergence(V, p * q.T)
    d.add(
        "divergence",
        r"D(V \,\|\, p q^\top)",
        sp.Symbol(r"\sum_{ij} V_{ij} \log\frac{V_{ij}}{p_i q_j} - V_{ij} + p_i q_j"),
    )
    at = dict(zip(p, R, strict=True)) | dict(zip(q, C.T / sum(R), strict=True))
    grad_p = sp.Matrix([sp.diff(D, pi) for pi in p]).subs(at)
    grad_q = sp.Matrix([sp.diff(D, qj) for qj in q]).subs(at)
    d.add("grad_p", r"\nabla_p D \big|_{p = R,\ q = C/S_R}", _zero(grad_p))
    d.add("grad_q", r"\nabla_q D \big|_{p = R,\ q = C/S_R}", _zero(grad_q))

    # Any stationary point: dD/dp_i = sum_j q_j - R_i / p_i = 0, so p_i = R_i / Q,
    # and q_j = C_j / P; summing p_i gives P Q = S_R, so p_i q_j = R_i C_j / S_R.
    P, Q = sp.symbols("P Q", positive=True)
    p_i, q_j = Ri / Q, Cj / P
    PQ = sp.solve(sp.Eq(P, S / Q), P)[0] * Q
    d.add("stationary", r"p_i,\ q_j", (p_i, q_j), r"$P = \sum p,\ Q = \sum q$")
    d.add("scale", r"P Q", sp.simplify(PQ), r"summing $p_i$")
    d.add("product", r"p_i q_j", sp.simplify(Ri * Cj / PQ))

    # Pythagoras: D(V || pq^T) = D(V || V_hat) + D(V_hat || pq^T) for every p, q,
    # since log(p_i q_j) and log V_hat are sums of a row and a column term and
    # V_hat has V's row and column sums; D(V_hat || .) >= 0, zero only at V_hat.
    gap = divergence(V, p * q.T) - divergence(V, V_hat) - divergence(V_hat, p * q.T)
    d.add(
        "pythagoras",
        r"D(V\|pq^\top) - D(V\|\hat V) - D(\hat V\|pq^\top)",
        sp.cancel(sp.expand(sp.expand_log(gap, force=True))),
    )

    a = sp.Matrix(sp.symbols(f"a1:{m + 1}", positive=True))
    b = sp.Matrix(sp.symbols(f"b1:{n + 1}", positive=True))
    V1 = a * b.T
    _, _, V1_hat = _estimate(V1)
    d.add("rank_one", r"\hat V - a b^\top", _zero(V1_hat - V1))
    return d


def divergence(A: sp.Matrix, B: sp.Matrix) -> sp.Expr:
    r"""The I-divergence :math:`\sum_{ij} A_{ij}\log(A_{ij}/B_{ij}) - A_{ij} + B_{ij}`."""
    return sum(
        A[i, j] * sp.log(A[i, j] / B[i, j]) - A[i, j] + B[i, j]
        for i in range(A.rows)
        for j in range(A.cols)
    )


def second_derivative_check(m: int = 2, n: int = 2) -> sp.Expr:
    r"""The I-divergence along the ray :math:`p = R s` (q fixed at
    :math:`C / (1^\top R)`), as a function of the scale s: its derivative at
    s = 1 is zero and its second derivative is positive, so the scale is a
    minimum along the ray. Returns the second derivative at s = 1, simplified."""
    V = _matrix(m, n)
    R, C, _ = _estimate(V)
    s = sp.Symbol("s", positive=True)
    total = sum(R)
    D = sum(
        V[i, j] * sp.log(V[i, j] / (s * R[i] * C[j] / total)) - V[i, j] + s * R[i] * C[j] / total
        for i in range(m)
        for j in range(n)
    )
    return sp.simplify(sp.diff(D, s, 2).subs(s, 1))


def _zero(M: sp.Matrix) -> sp.Matrix:
    """Each entry of M put over one denominator and cancelled (zero if it is)."""
    return M.applyfunc(sp.cancel)
