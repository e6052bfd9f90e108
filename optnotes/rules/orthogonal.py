r"""Orthogonalised updates: Muon (chapter: Orthogonalised updates).

Muon makes the update a function of the weight matrix as a matrix: it
replaces the momentum :math:`M` (by default its Nesterov look-ahead), whose
singular value decomposition is :math:`U \Sigma V^\top`, by something
close to :math:`U V^\top`, every singular value pushed towards 1, computed
with a few matrix products (a Newton–Schulz iteration) instead of an SVD.
It updates matrices only; a network's vectors go to another rule through
``ByLayer(Muon(), vectors=AdamW())``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import _checks
from .base import Rule, _lr, finite, gradient

#: The quintic's coefficients (a, b, c) of Jordan et al. 2024, PyTorch's default.
COEFFICIENTS = (3.4445, -4.7750, 2.0315)

#: How Muon scales the rate for an m x n matrix (PyTorch's ``adjust_lr_fn``).
ADJUSTMENTS = ("original", "match_rms_adamw")


def newton_schulz(
    G,
    steps: int = 5,
    coefficients=COEFFICIENTS,
    eps: float = 1e-7,
):
    r"""The quintic Newton–Schulz iteration: nearly :math:`U V^\top` of G.

    $$
    \begin{aligned}
    X &\leftarrow G / \max(\lVert G \rVert_F, \epsilon) \\
    X &\leftarrow a X + (b\, X X^\top + c\, (X X^\top)^2)\, X
      \quad \text{(``steps`` times)}
    \end{aligned}
    $$

    Each step maps every singular value :math:`\sigma` of X to
    :math:`p(\sigma) = a\sigma + b\sigma^3 + c\sigma^5` and keeps the singular
    vectors. Dividing by the Frobenius norm puts every :math:`\sigma` in
    [0, 1]; the coefficients make :math:`p` steep at 0, so small singular
    values grow fast, at the price of not converging to 1: they end in a band
    around 1. A tall matrix (more rows than columns) is transposed first, so
    that :math:`X X^\top` is the smaller Gram matrix, and back at the end, as
    PyTorch does. Computed in float64 (PyTorch's ``Muon`` computes in
    bfloat16).
    """
    G = _checks.parameters("G", G)
    if G.ndim != 2:
        raise ValueError(f"G must be a matrix, got shape {G.shape}")
    steps = _checks.whole("steps", steps)
    a, b, c = _coefficients(coefficients)
    eps = _checks.positive("eps", eps)
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G
    X = X / max(np.linalg.norm(X), eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if tall else X


def _coefficients(value) -> tuple[float, float, float]:
    try:
        a, b, c = value
    except (TypeError, ValueError):
        raise ValueError(f"coefficients must be three numbers (a, b, c), got {value!r}") from None
    return tuple(_checks.number("coefficients", v) for v in (a, b, c))


def adjusted_rate(alpha: float, shape, adjust_lr_fn: str | None) -> float:
    """The rate Muon uses for an m x n matrix: PyTorch's ``_adjust_lr``.

    "original" (``None``) scales by √max(1, m/n), Jordan et al.'s; Liu et al.
    2025's "match_rms_adamw" (their Sec. 2.2, Eq. 4) by 0.2 √max(m, n), which
    gives the update the root mean square of AdamW's. PyTorch's ``Linear``
    stores a weight as outputs x inputs, so there "original" is
    √max(1, d_out/d_in); this package's networks store inputs x outputs
    (``x @ W``), so here it is √max(1, d_in/d_out). "match_rms_adamw" is
    symmetric in m and n and the same in both layouts.
    """
    m, n = shape
    if adjust_lr_fn in (None, "original"):
        return alpha * math.sqrt(max(1, m / n))
    return alpha * 0.2 * math.sqrt(max(m, n))


class MuonState(NamedTuple):
    t: int
    m: np.ndarray


@dataclass(frozen=True)
class Muon(Rule):
    r"""Muon, momentum orthogonalised (Jordan et al. 2024).

    $$
    \begin{aligned}
    m &\leftarrow \mu m + (1 - \mu)\, g \\
    u &= \mu m + (1 - \mu)\, g \quad (\text{Nesterov; else } u = m) \\
    Q &= \operatorname{NS}_k(u) \approx U V^\top,
      \quad u = U \Sigma V^\top \\
    \hat\alpha &= \alpha \sqrt{\max(1, r / c)}
      \quad (\text{RMS-matching: } 0.2\, \alpha \sqrt{\max(r, c)}) \\
    x &\leftarrow x - \alpha \lambda x - \hat\alpha\, Q
    \end{aligned}
    $$

    :math:`\operatorname{NS}_k` is :func:`newton_schulz`, :math:`k` steps of
    the quintic with coefficients (3.4445, −4.7750, 2.0315) on the matrix
    divided by its Frobenius norm (clamped at :math:`\epsilon`); :math:`x` is
    an :math:`r \times c` weight matrix. Source: K. Jordan et al., "Muon: An
    optimizer for hidden layers in neural networks" (blog post, 2024). The
    momentum is an average, written as PyTorch writes it, ``buf.lerp_(g, 1 - μ)``,
    and the Nesterov direction as ``g.lerp(buf, μ)``. A momentum that sums,
    :math:`m \leftarrow \mu m + g` (as some implementations write it), is a
    multiple of this average, which the normalisation turns into the same step
    (but for the clamp at :math:`\epsilon`). The decay is decoupled and scaled
    by the unadjusted rate, applied to the old :math:`x`. ``adjust_lr_fn``:
    ``None`` or ``"original"`` scales the rate by :math:`\sqrt{\max(1, r/c)}`
    as above (Jordan et al.'s), ``"match_rms_adamw"`` by
    :math:`0.2\sqrt{\max(r, c)}` (Liu et al. 2025, "Muon is scalable for LLM
    training", Sec. 2.2, Eq. 4). PyTorch's ``Linear`` weight is outputs x
    inputs, this package's networks' weights inputs x outputs, so
    ``"original"`` scales the same layer differently here (see
    :func:`adjusted_rate`). Defaults those of PyTorch's
    ``torch.optim.Muon``: :math:`\alpha = 10^{-3}`, :math:`\lambda = 0.1`,
    :math:`\mu = 0.95`, Nesterov, :math:`k = 5`, :math:`\epsilon = 10^{-7}`.
    PyTorch runs the iteration in bfloat16; this rule in float64. Muon takes
    a matrix only: give a network's vectors to another rule with ``ByLayer``.
    """

    lr: float = 1e-3
    weight_decay: float = 0.1
    momentum: float = 0.95
    nesterov: bool = True
    ns_steps: int = 5
    eps: float = 1e-7
    adjust_lr_fn: str | None = None
    ns_coefficients: tuple = COEFFICIENTS
    State = MuonState

    def __post_init__(self):
        self._check(
            lr=_lr,
            weight_decay=_checks.non_negative,
            momentum=_checks.decay,
            eps=_checks.positive,
            ns_steps=lambda name, v: _checks.whole(name, v, low=1),
            ns_coefficients=lambda name, v: _coefficients(v),
        )
        if not isinstance(self.nesterov, bool):
            raise ValueError(f"nesterov must be True or False, got {self.nesterov!r}")
        if self.adjust_lr_fn is not None and self.adjust_lr_fn not in ADJUSTMENTS:
            raise ValueError(
                f"adjust_lr_fn must be None, 'original' or 'match_rms_adamw', "
                f"got {self.adjust_lr_fn!r}"
            )

    def init(self, x0):
        return super().init(_checks.matrix("Muon", _checks.parameters("x0", x0)))

    def step(self, x, grad_fn, state):
        t, m = self.unpack(state, _checks.matrix("Muon", x))
        alpha, lam, mu = self.lr_at(t), self.weight_decay, self.momentum
        g = gradient(grad_fn, x, t)
        m = mu * m + (1 - mu) * g
        u = mu * m + (1 - mu) * g if self.nesterov else m
        Q = newton_schulz(u, self.ns_steps, self.ns_coefficients, self.eps)
        alpha_hat = adjusted_rate(alpha, x.shape, self.adjust_lr_fn)
        x = x - alpha * lam * x - alpha_hat * Q
        return finite(x, t), MuonState(t + 1, m)
