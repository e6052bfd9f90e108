r"""Kronecker-factored preconditioners: Shampoo and SOAP (chapter: Matrix
preconditioners).

Both treat a weight matrix :math:`G \in \mathbb{R}^{m \times n}` as a matrix:
they keep a left statistic :math:`L` (m × m, from :math:`G G^\top`) and a
right one :math:`R` (n × n, from :math:`G^\top G`), m² + n² numbers where
full-matrix Adagrad would keep (mn)². Shampoo multiplies the gradient by
inverse roots of the two; SOAP runs Adam in their eigenbasis. They update
matrices only; a network's vectors go to another rule through
``ByLayer(Shampoo(), vectors=AdamW())``. Neither PyTorch's ``torch.optim``
nor optax (0.2.8, ``optax.contrib`` included) has Shampoo or SOAP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import _checks
from .base import Rule, _lr, finite, gradient

#: The rules whose step sizes Shampoo can borrow (``graft``).
GRAFTS = (None, "sgd", "adagrad")

#: How SOAP refreshes its eigenbases (``refresh``).
REFRESHES = ("power", "eigh")


def inverse_root(S: np.ndarray, epsilon: float, exponent: float) -> np.ndarray:
    r""":math:`(S + \epsilon I)^{-e}` of a symmetric positive semi-definite S,
    by its eigendecomposition :math:`S = U \operatorname{diag}(w) U^\top`.

    Rounding can make an eigenvalue of S slightly negative; it is clipped at
    0 before :math:`\epsilon` is added, so every eigenvalue of
    :math:`S + \epsilon I` used is at least :math:`\epsilon`.
    """
    w, U = np.linalg.eigh(_finite_statistic(S))
    return (U * (np.maximum(w, 0.0) + epsilon) ** -exponent) @ U.T


def eigenbasis(S: np.ndarray) -> np.ndarray:
    """The eigenvectors of a symmetric S as columns, largest eigenvalue first
    (as the SOAP authors' code orders them)."""
    return np.linalg.eigh(_finite_statistic(S))[1][:, ::-1]


def _finite_statistic(S: np.ndarray) -> np.ndarray:
    """S, if every entry is finite; else the FloatingPointError every rule
    raises when its iterates blow up (``eigh`` would fail with a LinAlgError)."""
    if not np.isfinite(S).all():
        raise FloatingPointError(
            "a preconditioner's statistic is not finite: the gradients blew up;"
            " try a smaller learning rate"
        )
    return S


def _matrix(name, x):
    return _checks.matrix(name, x)


def _graft(name, value):
    if value not in GRAFTS:
        raise ValueError(f"{name} must be None, 'sgd' or 'adagrad', got {value!r}")
    return value


def _beta2(name, value):
    """Shampoo's beta2: 1 sums the statistics (the paper), below 1 averages."""
    return _checks.number(name, value, low=0.0, high=1.0, low_open=True)


def _every(name, value):
    return _checks.whole(name, value, low=1)


def _check_state(rule, state, x, shapes: dict) -> None:
    """The checks of ``Rule.unpack`` for a state whose buffers are not all
    shaped like x: ``shapes`` maps each buffer's name to the shape it must
    have (None: no buffer kept)."""
    name, State = type(rule).__name__, rule.State
    if not isinstance(state, State):
        raise TypeError(
            f"{name}.step takes the state made by {name}.init "
            f"({State.__name__}), got {type(state).__name__}"
        )
    for field, shape in shapes.items():
        got = getattr(state, field)
        got_shape = None if got is None else np.shape(got)
        if got_shape != shape:
            want = "no buffer" if shape is None else f"shape {shape}"
            have = "none" if got is None else f"shape {got_shape}"
            raise ValueError(
                f"the state's {field} has {have}, but for parameters of shape "
                f"{np.shape(x)} {name} keeps {want}: was the state made for "
                f"other parameters or another {name}?"
            )


# --- Shampoo -------------------------------------------------------------


class ShampooState(NamedTuple):
    t: int
    L: np.ndarray  # left statistic, m x m (without the epsilon I)
    R: np.ndarray  # right statistic, n x n
    L_root: np.ndarray  # (L + epsilon I)^(-exponent), as last computed
    R_root: np.ndarray  # (R + epsilon I)^(-exponent)
    r: np.ndarray | None  # the Adagrad graft's sum of squares (else None)


@dataclass(frozen=True)
class Shampoo(Rule):
    r"""Shampoo (Gupta, Koren & Singer 2018, Algorithm 1, the matrix case).

    $$
    \begin{aligned}
    L &\leftarrow \beta_2 L + (1 - \beta_2)\, G G^\top
      \quad (\beta_2 = 1:\ L \leftarrow L + G G^\top) \\
    R &\leftarrow \beta_2 R + (1 - \beta_2)\, G^\top G
      \quad (\text{likewise}) \\
    P_L &= (L + \epsilon I_m)^{-e}, \quad P_R = (R + \epsilon I_n)^{-e}
      \quad (\text{every } k \text{ steps}) \\
    D &= P_L\, G\, P_R \\
    D_g &= G \ \ (\text{SGD graft}), \quad
      r \leftarrow r + G^2,\ D_g = G / (\sqrt r + \epsilon)
      \ \ (\text{Adagrad graft}) \\
    x &\leftarrow x - \alpha\, D
      \qquad (\text{grafted: } x \leftarrow x - \alpha\,
      \frac{\lVert D_g \rVert_F}{\lVert D \rVert_F}\, D)
    \end{aligned}
    $$

    :math:`G` is the gradient of the m × n matrix :math:`x`. With
    :math:`\beta_2 = 1` and :math:`e = 1/4` (the defaults) this is the paper's
    Algorithm 1: its :math:`L_t = \epsilon I + \sum_s G_s G_s^\top` is
    :math:`L + \epsilon I` here (the state keeps the sum, from 0) and its
    step :math:`L_t^{-1/4} G_t R_t^{-1/4}` includes the current gradient.
    Each side's root is a quarter so that the two together play the role of
    full-matrix Adagrad's :math:`-1/2`; ``exponent=0.5`` is the variant the
    SOAP paper (Vyas et al. 2024) relates to Adafactor run in Shampoo's
    eigenbasis. :math:`\beta_2 < 1`
    replaces the sums by exponential moving averages, as large-scale
    implementations do; :math:`\epsilon` is then added to the average when
    the root is taken, not decayed with it. The roots come from symmetric
    eigendecompositions (``numpy.linalg.eigh``), the eigenvalues of L and R
    clipped at 0 against rounding before :math:`\epsilon` is added; they are
    recomputed on the first step and then every :math:`k` steps
    (``update_every``), the stale roots used in between.

    ``graft``: None applies Shampoo's step as it is; ``"sgd"`` or
    ``"adagrad"`` keep its direction :math:`D` but take the step's size from
    the grafted rule's step :math:`D_g`, per matrix (grafting:
    Agarwal, Anil, Hazan, Koren & Zhang 2020, "Disentangling adaptive
    gradient methods from learning rates"):
    :math:`D_g = G` for SGD, :math:`D_g = G / (\sqrt r + \epsilon)` with
    :math:`r \leftarrow r + G^2` for Adagrad, whose :math:`r` the state
    carries. Where :math:`D = 0` the step is 0.

    Defaults: :math:`e = 1/4`, :math:`\beta_2 = 1`, :math:`k = 1`, no graft
    (the paper's Algorithm 1); the paper gives no rate and no
    :math:`\epsilon`: :math:`\alpha = 10^{-2}` and
    :math:`\epsilon = 10^{-12}` are this book's choices (the rate at which
    the first step, :math:`U V^\top` for :math:`G = U \Sigma V^\top`, moves
    each singular direction by 0.01).
    """

    lr: float = 1e-2
    epsilon: float = 1e-12
    exponent: float = 0.25
    beta2: float = 1.0
    update_every: int = 1
    graft: str | None = None
    State = ShampooState

    def __post_init__(self):
        self._check(
            lr=_lr,
            epsilon=_checks.positive,
            exponent=_checks.positive,
            beta2=_beta2,
            update_every=_every,
            graft=_graft,
        )

    def shapes(self, x) -> dict:
        """The shape of each buffer the state keeps for an m x n matrix x."""
        m, n = np.shape(x)
        r = (m, n) if self.graft == "adagrad" else None
        return {"L": (m, m), "R": (n, n), "L_root": (m, m), "R_root": (n, n), "r": r}

    def init(self, x0) -> ShampooState:
        x0 = _matrix("Shampoo", _checks.parameters("x0", x0))
        m, n = x0.shape
        r = np.zeros((m, n)) if self.graft == "adagrad" else None
        return ShampooState(0, np.zeros((m, m)), np.zeros((n, n)), np.eye(m), np.eye(n), r)

    def unpack(self, state, x) -> ShampooState:
        _check_state(self, state, x, self.shapes(_matrix("Shampoo", x)))
        return state

    def step(self, x, grad_fn, state):
        t, L, R, P_L, P_R, r = self.unpack(state, x)
        alpha, eps, e = self.lr_at(t), self.epsilon, self.exponent
        beta2 = self.beta2
        G = gradient(grad_fn, x, t)
        if beta2 == 1.0:  # the paper: sums
            L, R = L + G @ G.T, R + G.T @ G
        else:  # moving averages
            L = beta2 * L + (1 - beta2) * G @ G.T
            R = beta2 * R + (1 - beta2) * G.T @ G
        if t % self.update_every == 0:  # else keep the stale roots
            P_L, P_R = inverse_root(L, eps, e), inverse_root(R, eps, e)
        D = P_L @ G @ P_R
        if self.graft is not None:
            if self.graft == "adagrad":
                r = r + G**2
            D_g = G / (np.sqrt(r) + eps) if self.graft == "adagrad" else G
            D = _graft_norm(D, D_g)
        x = x - alpha * D
        return finite(x, t), ShampooState(t + 1, L, R, P_L, P_R, r)


def _graft_norm(D: np.ndarray, D_g: np.ndarray) -> np.ndarray:
    """D rescaled to the Frobenius norm of D_g (0 where D is 0)."""
    norm = np.linalg.norm(D)
    return D * (np.linalg.norm(D_g) / norm) if norm > 0 else np.zeros_like(D)


# --- SOAP ----------------------------------------------------------------


class SOAPState(NamedTuple):
    t: int
    m: np.ndarray  # Adam's first moment, in the original basis, m x n
    v: np.ndarray  # Adam's second moment, in the eigenbasis, m x n
    L: np.ndarray  # left statistic, m x m
    R: np.ndarray  # right statistic, n x n
    Q_L: np.ndarray  # eigenbasis of L, columns, largest eigenvalue first
    Q_R: np.ndarray  # eigenbasis of R


@dataclass(frozen=True)
class SOAP(Rule):
    r"""SOAP, Adam in Shampoo's eigenbasis (Vyas et al. 2024, Algorithm 3).

    $$
    \begin{aligned}
    G' &= Q_L^\top G\, Q_R \\
    m &\leftarrow \beta_1 m + (1 - \beta_1)\, G, \quad
      m' = Q_L^\top m\, Q_R \\
    v &\leftarrow \beta_2 v + (1 - \beta_2)\, G'^2 \\
    N &= Q_L\, \frac{m'}{\sqrt v + \epsilon}\, Q_R^\top, \quad
      \hat\alpha = \alpha\, \frac{\sqrt{1 - \beta_2^{t}}}{1 - \beta_1^{t}} \\
    x &\leftarrow x - \alpha \lambda x - \hat\alpha N \\
    L &\leftarrow \beta_s L + (1 - \beta_s)\, G G^\top, \quad
      R \leftarrow \beta_s R + (1 - \beta_s)\, G^\top G \\
    Q_L, Q_R &\leftarrow \text{eigenbases of } L, R
      \quad (\text{every } k \text{ steps}) \\
    &\text{(the first step only starts } L, R, Q_L, Q_R
      \text{ from } G \text{ and leaves } x \text{ as it is)}
    \end{aligned}
    $$

    Source: N. Vyas, D. Morwani, R. Zhao, M. Kwun, I. Shapira, D.
    Brandfonbrener, L. Janson, S. Kakade, "SOAP: Improving and stabilizing
    Shampoo using Adam" (2024, arXiv v2), Algorithm 3, and the authors'
    reference implementation (github.com/nikhilvyas/SOAP, ``soap.py``),
    whose details this rule follows. The very first step only starts the
    preconditioner, :math:`L = (1 - \beta_s) G G^\top`,
    :math:`R = (1 - \beta_s) G^\top G`, :math:`Q_L, Q_R` their eigenvectors
    by ``eigh``, and
    leaves :math:`x` unchanged, so that the basis never contains the
    gradient it rotates; :math:`t` in the equations is the number of the
    Adam step being taken, which is the state's t when the step begins (the
    starting step is step 0). :math:`L, R` are updated after the step; the
    bases are refreshed after Adam steps :math:`k, 2k, \dots`
    (``update_every``). :math:`m` is kept in the original basis and rotated
    (the authors' code keeps it rotated and moves it to each new basis, the
    same numbers); :math:`v` stays in the eigenbasis: on a refresh, the old
    columns of :math:`Q_L` are sorted by their Rayleigh quotients
    :math:`\operatorname{diag}(Q_L^\top L Q_L)`, largest first, the rows of
    :math:`v` permuted the same way (the columns with :math:`Q_R`), and the
    new basis is ``refresh="power"``: one power-iteration step and a QR
    decomposition, :math:`Q_L = \operatorname{qr}(L\, Q_L)` (the authors'
    code and the paper's practical form), or ``"eigh"``: exact
    eigenvectors, largest first. The bias correction and :math:`\epsilon`
    are the authors': :math:`\epsilon` is added to :math:`\sqrt v` before the
    correction (Adam's is :math:`\epsilon` on :math:`\sqrt{\hat v}`). The
    decay is decoupled and scaled by :math:`\alpha`, applied to the old
    :math:`x` as ``AdamW`` here; the authors' code applies it after the step,
    to the new :math:`x` (a difference of :math:`\alpha\hat\alpha\lambda N`).
    :math:`\beta_s` is ``shampoo_beta``, :math:`\beta_2` when None. Defaults
    the authors' code's: :math:`\alpha = 3\cdot10^{-3}`,
    :math:`\beta_1 = \beta_2 = 0.95`, :math:`\epsilon = 10^{-8}`,
    :math:`\lambda = 0.01`, :math:`k = 10`. The authors' code has more options
    (merged dimensions, gradient normalisation, vectors); not here.
    """

    lr: float = 3e-3
    beta1: float = 0.95
    beta2: float = 0.95
    epsilon: float = 1e-8
    weight_decay: float = 0.01
    shampoo_beta: float | None = None
    update_every: int = 10
    refresh: str = "power"
    State = SOAPState

    def __post_init__(self):
        self._check(
            lr=_lr,
            beta1=_checks.decay,
            beta2=_checks.decay,
            epsilon=_checks.positive,
            weight_decay=_checks.non_negative,
            update_every=_every,
        )
        if self.shampoo_beta is not None:
            self._check(shampoo_beta=_checks.decay)
        if self.refresh not in REFRESHES:
            raise ValueError(f"refresh must be 'power' or 'eigh', got {self.refresh!r}")

    def shapes(self, x) -> dict:
        """The shape of each buffer the state keeps for an m x n matrix x."""
        m, n = np.shape(x)
        return {"m": (m, n), "v": (m, n), "L": (m, m), "R": (n, n), "Q_L": (m, m), "Q_R": (n, n)}

    def init(self, x0) -> SOAPState:
        x0 = _matrix("SOAP", _checks.parameters("x0", x0))
        m, n = x0.shape
        zeros = np.zeros((m, n))
        return SOAPState(
            0, zeros, zeros.copy(), np.zeros((m, m)), np.zeros((n, n)), np.eye(m), np.eye(n)
        )

    def unpack(self, state, x) -> SOAPState:
        _check_state(self, state, x, self.shapes(_matrix("SOAP", x)))
        return state

    def step(self, x, grad_fn, state):
        t, m, v, L, R, Q_L, Q_R = self.unpack(state, x)
        alpha, beta1, beta2 = self.lr_at(t), self.beta1, self.beta2
        eps, lam, k = self.epsilon, self.weight_decay, self.update_every
        beta_s = beta2 if self.shampoo_beta is None else self.shampoo_beta
        G = gradient(grad_fn, x, t)
        if t == 0:  # start the preconditioner only
            L, R = (1 - beta_s) * G @ G.T, (1 - beta_s) * G.T @ G
            Q_L, Q_R = eigenbasis(L), eigenbasis(R)
            return x.copy(), SOAPState(1, m, v, L, R, Q_L, Q_R)
        G_rot = Q_L.T @ G @ Q_R
        m = beta1 * m + (1 - beta1) * G
        m_rot = Q_L.T @ m @ Q_R
        v = beta2 * v + (1 - beta2) * G_rot**2
        N = Q_L @ (m_rot / (np.sqrt(v) + eps)) @ Q_R.T
        alpha_hat = alpha * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        x = x - alpha * lam * x - alpha_hat * N
        L = beta_s * L + (1 - beta_s) * G @ G.T
        R = beta_s * R + (1 - beta_s) * G.T @ G
        if t % k == 0:
            Q_L, Q_R, v = self._refresh(L, R, Q_L, Q_R, v)
        return finite(x, t), SOAPState(t + 1, m, v, L, R, Q_L, Q_R)

    def _refresh(self, L, R, Q_L, Q_R, v):
        """New eigenbases, v's rows and columns carried to them."""
        left = np.argsort(-np.diag(Q_L.T @ L @ Q_L), kind="stable")
        right = np.argsort(-np.diag(Q_R.T @ R @ Q_R), kind="stable")
        v = v[left][:, right]
        Q_L, Q_R = Q_L[:, left], Q_R[:, right]
        if self.refresh == "power":
            return np.linalg.qr(L @ Q_L)[0], np.linalg.qr(R @ Q_R)[0], v
        return eigenbasis(L), eigenbasis(R), v
