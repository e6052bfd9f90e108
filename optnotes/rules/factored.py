r"""Adafactor: a second moment stored as its row and column sums (chapter: Memory)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import _checks
from .base import Rule, _lr, finite, gradient


class AdafactorState(NamedTuple):
    t: int
    R: np.ndarray | None  # a matrix's row sums: shape x.shape[:-1]
    C: np.ndarray | None  # its column sums: x.shape[:-2] + x.shape[-1:]
    v: np.ndarray | None  # a vector's (or an unfactored) second moment
    m: np.ndarray | None  # the first moment, kept only when beta1 > 0


def rms(a: np.ndarray) -> float:
    """Root mean square of all the entries of ``a``."""
    return float(np.sqrt(np.mean(np.square(a)))) if np.size(a) else 0.0


def factored_estimate(R: np.ndarray, C: np.ndarray) -> np.ndarray:
    r"""The matrix :math:`R C^\top / (1^\top R)` from row sums R and column sums C
    (over the last two axes, batched over any before them)."""
    return R[..., :, None] * C[..., None, :] / R.sum(axis=-1)[..., None, None]


def _bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


@dataclass(frozen=True)
class Adafactor(Rule):
    r"""Adafactor (Shazeer & Stern 2018, Algorithms 4 and 5, Section 9).

    $$
    \begin{aligned}
    \hat\beta_2 &= 1 - t^{-c}, \quad
    \rho = \min\bigl(\gamma, 1/\sqrt t\bigr), \quad
    \alpha = \max\bigl(\epsilon_2, \mathrm{RMS}(x)\bigr)\, \rho \\
    R &\leftarrow \hat\beta_2 R + (1 - \hat\beta_2)\,(G^2 + \epsilon_1)\, 1 \\
    C &\leftarrow \hat\beta_2 C + (1 - \hat\beta_2)\, 1^\top (G^2 + \epsilon_1) \\
    \hat V &= R\, C / (1^\top R)
      \qquad (\text{a vector: } \hat V \leftarrow \hat\beta_2 \hat V
      + (1 - \hat\beta_2)(G^2 + \epsilon_1)) \\
    U &= G / \sqrt{\hat V}, \quad
    \hat U = U / \max\bigl(1, \mathrm{RMS}(U)/d\bigr) \\
    m &\leftarrow \beta_1 m + (1 - \beta_1)\, \alpha \hat U
      \qquad (m = \alpha \hat U \text{ when } \beta_1 = 0) \\
    x &\leftarrow x - \gamma\lambda x - m
    \end{aligned}
    $$

    t counts steps from 1, as the paper does (the state's t is one less). For a
    matrix (an array of two or more dimensions, factored over its last two, as
    PyTorch does) the state is the row sums R and column sums C of the moving
    average of :math:`G^2 + \epsilon_1`: m + n numbers for an m × n matrix where
    Adam keeps 2 m n. :math:`\hat V` is the rank-one matrix with those row and
    column sums, the closest to the full average in I-divergence (the paper's
    Section 3; ``derivations.factored``). A vector keeps its full :math:`\hat V`
    (Algorithm 5); ``factored=False`` does so for matrices too.

    Defaults: the paper's proposed hyperparameters (Section 9, with Algorithms 4
    and 5):
    :math:`c = 0.8`, :math:`\gamma = 10^{-2}`
    (the cap of the relative step size :math:`\rho`), :math:`\epsilon_1 = 10^{-30}`
    added to :math:`G^2`, :math:`\epsilon_2 = 10^{-3}`, :math:`d = 1`, no first
    moment (:math:`\beta_1 = 0`: the paper drops momentum, Section 4),
    no weight decay (the paper has none; :math:`\lambda` here is decoupled and
    scaled by :math:`\gamma`, as PyTorch does). With :math:`\beta_1 > 0` the first
    moment averages the scaled, clipped steps :math:`\alpha\hat U`, as optax (and
    Tensor2Tensor) do.

    PyTorch's ``torch.optim.Adafactor`` differs from the paper in its
    :math:`\epsilon_1`: nothing is added to :math:`G^2`; instead :math:`1^\top R`
    is floored at :math:`mn\,\epsilon_1` (it stores row and column *means*, the
    same estimate) and :math:`\hat V` at :math:`\epsilon_1^2`, with
    :math:`\epsilon_1` the machine epsilon by default. It has no first moment.
    ``Adafactor.like_torch(...)`` takes PyTorch's arguments and returns the rule
    that follows it step for step (``eps1_floor=True``). optax's ``adafactor``
    adds :math:`\epsilon_1` to :math:`G^2` as the paper does, but its rate is a
    constant (or a schedule) with no :math:`1/\sqrt t` cap, and its default
    ``learning_rate=None`` applies no rate at all (the step is
    :math:`\max(\epsilon_2, \mathrm{RMS}(x))\,\hat U`); it factors the two
    largest axes and only when both have at least 128 entries
    (``min_dim_size_to_factor``), and its weight decay :math:`\lambda x` is not
    scaled by the rate.
    """

    lr: float = 1e-2
    beta1: float = 0.0
    decay_exponent: float = 0.8
    eps1: float = 1e-30
    eps2: float = 1e-3
    d: float = 1.0
    weight_decay: float = 0.0
    factored: bool = True
    eps1_floor: bool = False
    State = AdafactorState

    def __post_init__(self):
        self._check(
            lr=_lr,
            beta1=_checks.decay,
            decay_exponent=_checks.positive,
            eps1=_checks.positive,
            eps2=_checks.non_negative,
            d=_checks.positive,
            weight_decay=_checks.non_negative,
            factored=_bool,
            eps1_floor=_bool,
        )

    @classmethod
    def like_torch(cls, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0):
        """The rule that follows ``torch.optim.Adafactor`` with these arguments (its
        signature and defaults; ``eps[0] = None`` is float64's machine epsilon)."""
        eps1, eps2 = eps
        return cls(
            lr=lr,
            decay_exponent=-beta2_decay,
            eps1=np.finfo(np.float64).eps if eps1 is None else eps1,
            eps2=eps2,
            d=d,
            weight_decay=weight_decay,
            eps1_floor=True,
        )

    def _factors(self, x) -> bool:
        return self.factored and np.ndim(x) >= 2

    def shapes(self, x) -> dict[str, tuple[int, ...] | None]:
        """The shape of each buffer the state keeps for parameters shaped like x
        (None: not kept)."""
        shape = np.shape(x)
        factors = self._factors(x)
        return {
            "R": shape[:-1] if factors else None,
            "C": shape[:-2] + shape[-1:] if factors else None,
            "v": None if factors else shape,
            "m": shape if self.beta1 > 0 else None,
        }

    def init(self, x0) -> AdafactorState:
        x0 = _checks.parameters("x0", x0)
        buffers = {
            name: None if shape is None else np.zeros(shape)
            for name, shape in self.shapes(x0).items()
        }
        return AdafactorState(0, **buffers)

    def unpack(self, state, x: np.ndarray) -> AdafactorState:
        if not isinstance(state, AdafactorState):
            raise TypeError(
                "Adafactor.step takes the state made by Adafactor.init "
                f"(AdafactorState), got {type(state).__name__}"
            )
        for name, shape in self.shapes(x).items():
            got = getattr(state, name)
            got_shape = None if got is None else np.shape(got)
            if got_shape != shape:
                want = "no buffer" if shape is None else f"shape {shape}"
                have = "none" if got is None else f"shape {got_shape}"
                raise ValueError(
                    f"the state's {name} has {have}, but for parameters of shape "
                    f"{np.shape(x)} Adafactor keeps {want}: was the state made for "
                    "other parameters or another Adafactor?"
                )
        return state

    def step(self, x, grad_fn, state):
        t, R, C, v, m = self.unpack(state, x)
        gamma, lam, d, eps1 = self.lr_at(t), self.weight_decay, self.d, self.eps1
        beta2_hat = 1 - (t + 1) ** -self.decay_exponent
        rho = min(gamma, 1 / np.sqrt(t + 1))
        alpha = max(self.eps2, rms(x)) * rho
        G = gradient(grad_fn, x, t)
        G2 = G**2 if self.eps1_floor else G**2 + eps1
        if self._factors(x):
            R = beta2_hat * R + (1 - beta2_hat) * G2.sum(axis=-1)
            C = beta2_hat * C + (1 - beta2_hat) * G2.sum(axis=-2)
            V_hat = factored_estimate(R, C)
            if self.eps1_floor:  # PyTorch: floors where the paper adds
                V_hat = _torch_floors(R, C, eps1)
        else:
            v = beta2_hat * v + (1 - beta2_hat) * G2
            V_hat = np.maximum(v, eps1**2) if self.eps1_floor else v
        U = G / np.sqrt(V_hat)
        U_hat = U / max(1.0, rms(U) / d)
        if self.beta1 > 0:
            m = self.beta1 * m + (1 - self.beta1) * alpha * U_hat
            x = x - gamma * lam * x - m
        else:
            x = x - gamma * lam * x - alpha * U_hat
        return finite(x, t), AdafactorState(t + 1, R, C, v, m)


def _torch_floors(R: np.ndarray, C: np.ndarray, eps1: float) -> np.ndarray:
    """PyTorch's estimate: the sum of R floored at m n eps1, the result at eps1²."""
    size = R.shape[-1] * C.shape[-1]
    total = np.maximum(R.sum(axis=-1), size * eps1)[..., None, None]
    return np.maximum(R[..., :, None] * C[..., None, :] / total, eps1**2)
