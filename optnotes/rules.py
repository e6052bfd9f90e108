r"""The update rules, each a small immutable object with a pure ``init`` and ``step``.

Every rule follows one contract::

    rule = Adam(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)  # checks its hyperparameters
    state = rule.init(x0)                    # the rule's buffers and the step count t = 0
    x1, state1 = rule.step(x0, grad_fn, state)   # calls grad_fn once; changes nothing in place

Notation, the same in the book: :math:`x` the parameters, :math:`g` the gradient,
:math:`\alpha` the learning rate, :math:`u` a velocity, :math:`r, s` running
averages of squares, :math:`m, v` Adam's first and second moments, :math:`t` the
step count (0 on the first step). ``lr`` (and ``mu`` where there is one) may be a
number or a schedule, a callable of ``t``; the rule then uses ``lr(t)``.

Each ``step`` reads line by line like the equation in its docstring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np

from . import _checks


def gradient(grad_fn, x: np.ndarray, t: int) -> np.ndarray:
    """Call ``grad_fn(x)`` once and check what it returns: same shape as x, finite."""
    if not callable(grad_fn):
        raise TypeError(
            "grad_fn must be a function of x that returns the gradient "
            f"(for a problem, pass problem.grad), got {type(grad_fn).__name__}"
        )
    with np.errstate(all="ignore"):
        g = grad_fn(x)
    if g is None:
        raise ValueError(f"grad_fn returned None at step {t}: it must return the gradient")
    g = np.asarray(g, dtype=np.float64)
    if g.shape != x.shape:
        raise ValueError(
            f"grad_fn returned an array of shape {g.shape} at step {t}, "
            f"but the parameters have shape {x.shape}"
        )
    if not np.all(np.isfinite(g)):
        raise FloatingPointError(f"the gradient at step {t} is not finite (inf or NaN)")
    return g


def finite(x: np.ndarray, t: int) -> np.ndarray:
    """Return the new parameters after checking the step did not overflow."""
    if not np.all(np.isfinite(x)):
        raise FloatingPointError(
            f"the update at step {t} is not finite (inf or NaN): the iterates blew up; "
            "try a smaller learning rate"
        )
    return x


@dataclass(frozen=True)
class Rule:
    """What every rule shares: checking hyperparameters, state and schedules."""

    State: ClassVar[type]  # each rule names its own NamedTuple of state

    def _check(self, **checks) -> None:
        _checks.store(self, **checks)  # a frozen dataclass: store the checked values once

    def lr_at(self, t: int) -> float:
        return _checks.scheduled("lr", self.lr, t, _checks.schedule_value)

    def mu_at(self, t: int) -> float:
        return _checks.scheduled("mu", self.mu, t, _checks.decay)

    def init(self, x0) -> NamedTuple:
        """The state before the first step: every buffer zero, t = 0."""
        x0 = _checks.parameters("x0", x0)
        buffers = [np.zeros_like(x0) for _ in self.State._fields[1:]]
        return self.State(0, *buffers)

    def unpack(self, state, x: np.ndarray) -> NamedTuple:
        """Check that ``state`` is this rule's state for parameters shaped like ``x``."""
        if not isinstance(state, self.State):
            name = type(self).__name__
            raise TypeError(
                f"{name}.step takes the state made by {name}.init "
                f"({self.State.__name__}), got {type(state).__name__}"
            )
        for name, buffer in zip(state._fields[1:], state[1:], strict=True):
            if np.shape(buffer) != x.shape:
                raise ValueError(
                    f"the state's {name} has shape {np.shape(buffer)} but the parameters "
                    f"have shape {x.shape}: was the state made for other parameters?"
                )
        return state

    @property
    def buffers(self) -> tuple[str, ...]:
        """Names of the per-parameter buffers the rule keeps (its memory cost)."""
        return self.State._fields[1:]


def _lr(name, value):
    return _checks.rate_or_schedule(name, value, _checks.positive)


def _mu(name, value):
    return _checks.rate_or_schedule(name, value, _checks.decay)


# --- Plain gradient descent ------------------------------------------------------


class SGDState(NamedTuple):
    t: int


@dataclass(frozen=True)
class SGD(Rule):
    r"""Gradient descent (Robbins & Monro 1951 for the stochastic version).

    $$ x \leftarrow x - \alpha\, g(x) $$

    Default :math:`\alpha = 10^{-2}`, as CS231n's ``sgd``.
    """

    lr: float = 1e-2
    State = SGDState

    def __post_init__(self):
        self._check(lr=_lr)

    def step(self, x, grad_fn, state):
        (t,) = self.unpack(state, x)
        alpha = self.lr_at(t)
        g = gradient(grad_fn, x, t)
        x = x - alpha * g
        return finite(x, t), SGDState(t + 1)


@dataclass(frozen=True)
class Preconditioned(Rule):
    r"""Preconditioned gradient descent: a fixed matrix reshapes every step.

    $$ x \leftarrow x - \alpha\, P\, g(x) $$

    With :math:`P = H^{-1}` on a quadratic with Hessian :math:`H` and
    :math:`\alpha = 1` this is Newton's method, which lands on the minimum in one
    step; with :math:`P = \operatorname{diag}(H)^{-1}` it is the diagonal
    rescaling that the adaptive methods approximate from gradients alone. It needs
    a preconditioner, so it has no defaults and is not in ``ALL_RULES``.
    """

    lr: float
    preconditioner: np.ndarray
    State = SGDState

    def __post_init__(self):
        self._check(lr=_lr, preconditioner=_checks.square_matrix)

    def step(self, x, grad_fn, state):
        (t,) = self.unpack(state, x)
        alpha, P = self.lr_at(t), self.preconditioner
        g = gradient(grad_fn, x, t)
        x = x - alpha * P @ g
        return finite(x, t), SGDState(t + 1)


# --- Momentum methods ------------------------------------------------------------


class MomentumState(NamedTuple):
    t: int
    u: np.ndarray


@dataclass(frozen=True)
class Momentum(Rule):
    r"""Heavy-ball momentum (Polyak 1964; Sutskever et al. 2013, eq. 1).

    $$
    \begin{aligned}
    u &\leftarrow \mu u + \alpha\, g(x) \\
    x &\leftarrow x - u
    \end{aligned}
    $$

    Defaults :math:`\alpha = 10^{-2}`, :math:`\mu = 0.9` (Sutskever et al. 2013; CS231n).

    Other ways to write it: CS231n, Goodfellow et al. (Alg. 8.2) and Keras keep
    :math:`v = -u`: :math:`v \leftarrow \mu v - \alpha g,\ x \leftarrow x + v`, the same
    path. PyTorch keeps :math:`b = u/\alpha`: :math:`b \leftarrow \mu b + g,\ x
    \leftarrow x - \alpha b`, the same path at a constant rate but not when
    :math:`\alpha` changes (every past gradient is then rescaled by today's rate).
    """

    lr: float = 1e-2
    mu: float = 0.9
    State = MomentumState

    def __post_init__(self):
        self._check(lr=_lr, mu=_mu)

    def step(self, x, grad_fn, state):
        t, u = self.unpack(state, x)
        alpha, mu = self.lr_at(t), self.mu_at(t)
        g = gradient(grad_fn, x, t)
        u = mu * u + alpha * g
        x = x - u
        return finite(x, t), MomentumState(t + 1, u)


@dataclass(frozen=True)
class Nesterov(Rule):
    r"""Nesterov's accelerated gradient (Nesterov 1983, in Sutskever et al. 2013's form, eq. 3-4).

    The gradient is taken at the look-ahead point :math:`x - \mu u`:

    $$
    \begin{aligned}
    u &\leftarrow \mu u + \alpha\, g(x - \mu u) \\
    x &\leftarrow x - u
    \end{aligned}
    $$

    Defaults :math:`\alpha = 10^{-2}`, :math:`\mu = 0.9`.

    Frameworks (PyTorch, Keras, optax) store the look-ahead point instead of
    :math:`x` and so evaluate the gradient where they stand; the book proves the two
    forms give the same sequence.
    """

    lr: float = 1e-2
    mu: float = 0.9
    State = MomentumState

    def __post_init__(self):
        self._check(lr=_lr, mu=_mu)

    def step(self, x, grad_fn, state):
        t, u = self.unpack(state, x)
        alpha, mu = self.lr_at(t), self.mu_at(t)
        g = gradient(grad_fn, x - mu * u, t)
        u = mu * u + alpha * g
        x = x - u
        return finite(x, t), MomentumState(t + 1, u)


# --- Adaptive learning rates -----------------------------------------------------


class AdagradState(NamedTuple):
    t: int
    r: np.ndarray


@dataclass(frozen=True)
class Adagrad(Rule):
    r"""Adagrad (Duchi, Hazan & Singer 2011), diagonal form.

    $$
    \begin{aligned}
    r &\leftarrow r + g^2 \\
    x &\leftarrow x - \alpha\, \frac{g}{\sqrt{r} + \epsilon}
    \end{aligned}
    $$

    Defaults :math:`\alpha = 10^{-2}` (PyTorch), :math:`\epsilon = 10^{-7}` (Goodfellow
    et al., Alg. 8.4, outside the root as here). PyTorch also puts ε outside
    (default 1e-10); Keras and optax put it inside, :math:`\sqrt{r + \epsilon}`,
    and start :math:`r` at 0.1 rather than 0.
    """

    lr: float = 1e-2
    eps: float = 1e-7
    State = AdagradState

    def __post_init__(self):
        self._check(lr=_lr, eps=_checks.positive)

    def step(self, x, grad_fn, state):
        t, r = self.unpack(state, x)
        alpha, eps = self.lr_at(t), self.eps
        g = gradient(grad_fn, x, t)
        r = r + g**2
        x = x - alpha * g / (np.sqrt(r) + eps)
        return finite(x, t), AdagradState(t + 1, r)


@dataclass(frozen=True)
class RMSProp(Rule):
    r"""RMSProp (Tieleman & Hinton 2012, Lecture 6e).

    $$
    \begin{aligned}
    r &\leftarrow \rho r + (1 - \rho)\, g^2 \\
    x &\leftarrow x - \alpha\, \frac{g}{\sqrt{r} + \epsilon}
    \end{aligned}
    $$

    Defaults :math:`\rho = 0.9` (the lecture), :math:`\alpha = 10^{-3}`,
    :math:`\epsilon = 10^{-8}`. ε sits outside the root as in PyTorch and CS231n's
    assignment (PyTorch's default decay is 0.99); Keras, optax and Goodfellow et al.
    (Alg. 8.5) put it inside, :math:`\sqrt{r + \epsilon}`.
    """

    lr: float = 1e-3
    rho: float = 0.9
    eps: float = 1e-8
    State = AdagradState

    def __post_init__(self):
        self._check(lr=_lr, rho=_checks.decay, eps=_checks.positive)

    def step(self, x, grad_fn, state):
        t, r = self.unpack(state, x)
        alpha, rho, eps = self.lr_at(t), self.rho, self.eps
        g = gradient(grad_fn, x, t)
        r = rho * r + (1 - rho) * g**2
        x = x - alpha * g / (np.sqrt(r) + eps)
        return finite(x, t), AdagradState(t + 1, r)


class RMSPropNesterovState(NamedTuple):
    t: int
    r: np.ndarray
    u: np.ndarray


@dataclass(frozen=True)
class RMSPropNesterov(Rule):
    r"""RMSProp with Nesterov momentum (Goodfellow, Bengio & Courville 2016, Alg. 8.6).

    $$
    \begin{aligned}
    g &= g(x - \mu u) \\
    r &\leftarrow \rho r + (1 - \rho)\, g^2 \\
    u &\leftarrow \mu u + \alpha\, \frac{g}{\sqrt{r} + \epsilon} \\
    x &\leftarrow x - u
    \end{aligned}
    $$

    Defaults :math:`\alpha = 10^{-3}`, :math:`\rho = 0.9`, :math:`\mu = 0.9`,
    :math:`\epsilon = 10^{-8}`. The book's Alg. 8.6 has no ε at all and divides by
    zero while :math:`r = 0`; the ε here keeps the first step finite.
    """

    lr: float = 1e-3
    rho: float = 0.9
    mu: float = 0.9
    eps: float = 1e-8
    State = RMSPropNesterovState

    def __post_init__(self):
        self._check(lr=_lr, rho=_checks.decay, mu=_mu, eps=_checks.positive)

    def step(self, x, grad_fn, state):
        t, r, u = self.unpack(state, x)
        alpha, rho, mu, eps = self.lr_at(t), self.rho, self.mu_at(t), self.eps
        g = gradient(grad_fn, x - mu * u, t)
        r = rho * r + (1 - rho) * g**2
        u = mu * u + alpha * g / (np.sqrt(r) + eps)
        x = x - u
        return finite(x, t), RMSPropNesterovState(t + 1, r, u)


class AdadeltaState(NamedTuple):
    t: int
    r: np.ndarray
    s: np.ndarray


@dataclass(frozen=True)
class Adadelta(Rule):
    r"""Adadelta (Zeiler 2012, Algorithm 1).

    $$
    \begin{aligned}
    r &\leftarrow \rho r + (1 - \rho)\, g^2 \\
    \Delta &= \frac{\sqrt{s + \epsilon}}{\sqrt{r + \epsilon}}\, g \\
    s &\leftarrow \rho s + (1 - \rho)\, \Delta^2 \\
    x &\leftarrow x - \alpha \Delta
    \end{aligned}
    $$

    The paper has no learning rate; ``lr`` defaults to 1 so that it is the paper's
    rule (PyTorch keeps lr = 1.0; Keras defaults to 0.001). Defaults
    :math:`\rho = 0.95`, :math:`\epsilon = 10^{-6}` (Zeiler 2012, Section 4). ε sits
    inside both roots, as in the paper and every framework.
    """

    rho: float = 0.95
    eps: float = 1e-6
    lr: float = 1.0
    State = AdadeltaState

    def __post_init__(self):
        self._check(rho=_checks.decay, eps=_checks.positive, lr=_lr)

    def step(self, x, grad_fn, state):
        t, r, s = self.unpack(state, x)
        alpha, rho, eps = self.lr_at(t), self.rho, self.eps
        g = gradient(grad_fn, x, t)
        r = rho * r + (1 - rho) * g**2
        delta = np.sqrt(s + eps) / np.sqrt(r + eps) * g
        s = rho * s + (1 - rho) * delta**2
        x = x - alpha * delta
        return finite(x, t), AdadeltaState(t + 1, r, s)


# --- Adam and its successors -----------------------------------------------------


class AdamState(NamedTuple):
    t: int
    m: np.ndarray
    v: np.ndarray


@dataclass(frozen=True)
class AdamFamily(Rule):
    """The hyperparameters Adam and its successors share, checked once.

    Each rule below sets its own defaults and writes out its own ``step``.
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    State = AdamState

    def __post_init__(self):
        self._check(lr=_lr, beta1=_checks.decay, beta2=_checks.decay, eps=_checks.positive)


@dataclass(frozen=True)
class Adam(AdamFamily):
    r"""Adam (Kingma & Ba 2015, Algorithm 1).

    $$
    \begin{aligned}
    m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
    v &\leftarrow \beta_2 v + (1 - \beta_2)\, g^2 \\
    \hat m &= m / (1 - \beta_1^{t+1}) \\
    \hat v &= v / (1 - \beta_2^{t+1}) \\
    x &\leftarrow x - \alpha\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}
    \end{aligned}
    $$

    The paper counts steps from 1, so its :math:`\beta^t` is :math:`\beta^{t+1}` here.
    With ``bias_correction=False``, :math:`\hat m = m` and :math:`\hat v = v` (the
    "incomplete" Adam of many notes: its first step is
    :math:`(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.16` times larger).

    Defaults :math:`\alpha = 10^{-3}`, :math:`\beta_1 = 0.9`, :math:`\beta_2 = 0.999`,
    :math:`\epsilon = 10^{-8}` (the paper). ε is added after the bias correction, as
    in the paper, PyTorch and optax; Keras adds it before (its "epsilon hat").
    """

    bias_correction: bool = True

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.bias_correction, bool):
            raise ValueError(f"bias_correction must be True or False, got {self.bias_correction!r}")

    def step(self, x, grad_fn, state):
        t, m, v = self.unpack(state, x)
        alpha, beta1, beta2, eps = self.lr_at(t), self.beta1, self.beta2, self.eps
        g = gradient(grad_fn, x, t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        if self.bias_correction:
            m_hat = m / (1 - beta1 ** (t + 1))
            v_hat = v / (1 - beta2 ** (t + 1))
        else:
            m_hat, v_hat = m, v
        x = x - alpha * m_hat / (np.sqrt(v_hat) + eps)
        return finite(x, t), AdamState(t + 1, m, v)


class AdaMaxState(NamedTuple):
    t: int
    m: np.ndarray
    w: np.ndarray


@dataclass(frozen=True)
class AdaMax(Rule):
    r"""AdaMax, Adam with the infinity norm (Kingma & Ba 2015, Section 7.1, Algorithm 2).

    $$
    \begin{aligned}
    m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
    w &\leftarrow \max(\beta_2 w, |g|) \\
    x &\leftarrow x - \frac{\alpha}{1 - \beta_1^{t+1}}\, \frac{m}{w}
    \end{aligned}
    $$

    The paper's :math:`u` is :math:`w` here. Where :math:`w = 0` every gradient so far
    was 0, so :math:`m = 0` and the step is 0. Defaults :math:`\alpha = 0.002`,
    :math:`\beta_1 = 0.9`, :math:`\beta_2 = 0.999` (the paper). Ruder's overview
    writes the max over :math:`v_{t-1}`; it is over the rule's own :math:`w`.
    """

    lr: float = 2e-3
    beta1: float = 0.9
    beta2: float = 0.999
    State = AdaMaxState

    def __post_init__(self):
        self._check(lr=_lr, beta1=_checks.decay, beta2=_checks.decay)

    def step(self, x, grad_fn, state):
        t, m, w = self.unpack(state, x)
        alpha, beta1, beta2 = self.lr_at(t), self.beta1, self.beta2
        g = gradient(grad_fn, x, t)
        m = beta1 * m + (1 - beta1) * g
        w = np.maximum(beta2 * w, np.abs(g))
        x = x - alpha / (1 - beta1 ** (t + 1)) * _safe_divide(m, w)
        return finite(x, t), AdaMaxState(t + 1, m, w)


def _safe_divide(m: np.ndarray, w: np.ndarray) -> np.ndarray:
    """m / w, taking 0 where w = 0 (there m = 0 too)."""
    return np.divide(m, w, out=np.zeros_like(m), where=w > 0)


@dataclass(frozen=True)
class Nadam(AdamFamily):
    r"""Nadam, Nesterov momentum inside Adam (Dozat 2016, Algorithm 2, constant :math:`\mu`).

    $$
    \begin{aligned}
    m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
    v &\leftarrow \beta_2 v + (1 - \beta_2)\, g^2 \\
    \bar m &= \frac{\beta_1 m}{1 - \beta_1^{t+2}} + \frac{(1 - \beta_1)\, g}{1 - \beta_1^{t+1}} \\
    \hat v &= v / (1 - \beta_2^{t+1}) \\
    x &\leftarrow x - \alpha\, \frac{\bar m}{\sqrt{\hat v} + \epsilon}
    \end{aligned}
    $$

    The momentum term uses the *next* step's bias correction: the look-ahead of
    Nesterov's method applied to :math:`m`. This is Dozat's algorithm with a
    constant :math:`\mu_t = \beta_1` (as optax's ``nadam``); PyTorch and Keras also
    warm the momentum up, :math:`\mu_t = \beta_1(1 - \tfrac12 0.96^{t\psi})`, which
    changes the first few hundred steps. Defaults :math:`\alpha = 0.002`,
    :math:`\beta_1 = 0.9`, :math:`\beta_2 = 0.999`, :math:`\epsilon = 10^{-8}` (Dozat's,
    as Keras's).
    """

    lr: float = 2e-3

    def step(self, x, grad_fn, state):
        t, m, v = self.unpack(state, x)
        alpha, beta1, beta2, eps = self.lr_at(t), self.beta1, self.beta2, self.eps
        g = gradient(grad_fn, x, t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_bar = beta1 * m / (1 - beta1 ** (t + 2)) + (1 - beta1) * g / (1 - beta1 ** (t + 1))
        v_hat = v / (1 - beta2 ** (t + 1))
        x = x - alpha * m_bar / (np.sqrt(v_hat) + eps)
        return finite(x, t), AdamState(t + 1, m, v)


class AMSGradState(NamedTuple):
    t: int
    m: np.ndarray
    v: np.ndarray
    v_max: np.ndarray


@dataclass(frozen=True)
class AMSGrad(AdamFamily):
    r"""AMSGrad (Reddi, Kale & Kumar 2018), with Adam's bias correction kept.

    $$
    \begin{aligned}
    m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
    v &\leftarrow \beta_2 v + (1 - \beta_2)\, g^2 \\
    v_{\max} &\leftarrow \max(v_{\max}, v) \\
    x &\leftarrow x - \alpha\, \frac{m / (1 - \beta_1^{t+1})}
                              {\sqrt{v_{\max} / (1 - \beta_2^{t+1})} + \epsilon}
    \end{aligned}
    $$

    As PyTorch's ``Adam(amsgrad=True)``: the maximum is of the raw :math:`v`, then
    bias-corrected. The paper's Algorithm 2 has no bias correction; optax takes the
    maximum of the corrected :math:`\hat v`. Defaults as Adam's.
    """

    State = AMSGradState

    def step(self, x, grad_fn, state):
        t, m, v, v_max = self.unpack(state, x)
        alpha, beta1, beta2, eps = self.lr_at(t), self.beta1, self.beta2, self.eps
        g = gradient(grad_fn, x, t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = np.maximum(v_max, v)
        m_hat = m / (1 - beta1 ** (t + 1))
        v_hat = v_max / (1 - beta2 ** (t + 1))
        x = x - alpha * m_hat / (np.sqrt(v_hat) + eps)
        return finite(x, t), AMSGradState(t + 1, m, v, v_max)


@dataclass(frozen=True)
class AdamW(AdamFamily):
    r"""AdamW, Adam with decoupled weight decay (Loshchilov & Hutter 2019, Algorithm 2).

    $$
    \begin{aligned}
    m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
    v &\leftarrow \beta_2 v + (1 - \beta_2)\, g^2 \\
    \hat m &= m / (1 - \beta_1^{t+1}), \quad \hat v = v / (1 - \beta_2^{t+1}) \\
    x &\leftarrow x - \alpha \lambda x - \alpha\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}
    \end{aligned}
    $$

    :math:`g` is the gradient of the loss alone, at the old :math:`x`; the decay
    :math:`\lambda` does not pass through :math:`m` and :math:`v`. As PyTorch's
    ``AdamW``, the decay is scaled by the learning rate (the paper scales it by the
    schedule multiplier only). Defaults as Adam's, :math:`\lambda = 10^{-2}`
    (PyTorch).
    """

    weight_decay: float = 1e-2

    def __post_init__(self):
        super().__post_init__()
        self._check(weight_decay=_checks.non_negative)

    def step(self, x, grad_fn, state):
        t, m, v = self.unpack(state, x)
        alpha, beta1, beta2, eps = self.lr_at(t), self.beta1, self.beta2, self.eps
        lam = self.weight_decay
        g = gradient(grad_fn, x, t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1 ** (t + 1))
        v_hat = v / (1 - beta2 ** (t + 1))
        x = x - alpha * lam * x - alpha * m_hat / (np.sqrt(v_hat) + eps)
        return finite(x, t), AdamState(t + 1, m, v)


@dataclass(frozen=True)
class Yogi(AdamFamily):
    r"""Yogi (Zaheer, Reddi, Sachan, Kale & Kumar 2018, Algorithm 2).

    $$
    \begin{aligned}
    m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
    v &\leftarrow v - (1 - \beta_2)\, \operatorname{sign}(v - g^2)\, g^2 \\
    x &\leftarrow x - \alpha\, \frac{m}{\sqrt{v} + \epsilon}
    \end{aligned}
    $$

    Adam's :math:`v` moves by :math:`(1-\beta_2)(g^2 - v)`, a change proportional to
    :math:`v` itself when :math:`g^2 \ll v`; Yogi's moves by at most
    :math:`(1-\beta_2) g^2`, so the effective rate cannot jump. As in the paper there
    is no bias correction. Defaults :math:`\alpha = 10^{-2}`, :math:`\beta_1 = 0.9`,
    :math:`\beta_2 = 0.999`, :math:`\epsilon = 10^{-3}` (the paper's suggestions).
    The paper starts :math:`v` at a small positive value; here it starts at 0, and
    the first step gives :math:`v = (1-\beta_2) g^2`, as Adam's does.
    """

    lr: float = 1e-2
    eps: float = 1e-3

    def step(self, x, grad_fn, state):
        t, m, v = self.unpack(state, x)
        alpha, beta1, beta2, eps = self.lr_at(t), self.beta1, self.beta2, self.eps
        g = gradient(grad_fn, x, t)
        m = beta1 * m + (1 - beta1) * g
        v = v - (1 - beta2) * np.sign(v - g**2) * g**2
        x = x - alpha * m / (np.sqrt(v) + eps)
        return finite(x, t), AdamState(t + 1, m, v)


ALL_RULES = (
    SGD,
    Momentum,
    Nesterov,
    Adagrad,
    RMSProp,
    RMSPropNesterov,
    Adadelta,
    Adam,
    AdaMax,
    Nadam,
    AMSGrad,
    AdamW,
    Yogi,
)
"""Every rule, in the order the book introduces them."""
