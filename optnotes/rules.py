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
    if not np.isfinite(g).all():
        raise FloatingPointError(f"the gradient at step {t} is not finite (inf or NaN)")
    return g


def finite(x: np.ndarray, t: int) -> np.ndarray:
    """Return the new parameters after checking the step did not overflow."""
    if not np.isfinite(x).all():
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


def a_rule(name, value):
    """Check that a wrapper was given a rule (for clipping and averaging)."""
    if not isinstance(value, Rule):
        raise TypeError(f"{name} must be an optnotes rule (as Adam(lr=1e-3)), got {value!r}")
    return value


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
    step; with :math:`P = \operatorname{diag}(H)^{-1}` it is a per-parameter
    rescaling, the kind the adaptive methods build from gradients alone, without
    the Hessian. It needs
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

    Defaults :math:`\alpha = 10^{-2}`, :math:`\mu = 0.9`, as CS231n's ``sgd_momentum``.

    Other ways to write it: CS231n, Goodfellow et al. (Alg. 8.2) and Keras 3 keep
    :math:`v = -u`: :math:`v \leftarrow \mu v - \alpha g,\ x \leftarrow x + v`, the same
    path. PyTorch (``torch.optim.SGD``) and optax (``optax.sgd``) keep :math:`b = u/\alpha`:
    :math:`b \leftarrow \mu b + g,\ x \leftarrow x - \alpha b`, the same path at a constant
    rate but not when :math:`\alpha` changes (every past gradient is then rescaled by
    today's rate).

    Polyak's tuning for curvatures in :math:`[m, L]` is optimal on quadratics, but heavy
    ball has no global guarantee beyond them: with that tuning it cycles on a smooth
    strongly convex function (Lessard, Recht & Packard 2016, §4.6;
    ``problems.HeavyBallCounterexample``).
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

    Defaults :math:`\alpha = 10^{-2}`, :math:`\mu = 0.9`, as ``Momentum``.

    With a constant :math:`\mu` this is not Nesterov's :math:`O(1/t^2)` method for convex
    functions: that guarantee needs :math:`\mu_t \to 1`, e.g. the schedule
    :math:`\mu_t = (t-1)/(t+2)` with :math:`\alpha = 1/L`, which gives
    :math:`f(x_t) - f^\ast \le 2L\lVert x_0 - x^\ast\rVert^2/(t+1)^2` (Su, Boyd & Candès
    2016, §1; Beck & Teboulle 2009, Theorem 4.4). On m-strongly convex functions the constant
    :math:`\mu = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)`, :math:`\alpha = 1/L`, is accelerated,
    at the rate :math:`1 - 1/\sqrt\kappa` (Nesterov 2004, §2.2.1).

    Frameworks (PyTorch ``SGD(nesterov=True)``, Keras 3 ``SGD(nesterov=True)``, optax
    ``sgd(nesterov=True)``) store the look-ahead point :math:`x - \mu u` instead of
    :math:`x` and so evaluate the gradient where they stand; the book proves that this
    gives the same sequence at a constant rate.
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
    et al., Alg. 8.4, outside the root as here and as Duchi et al.'s δ, added to
    :math:`\operatorname{diag}(s_t)` in their Figure 1). PyTorch also puts ε outside
    (default 1e-10); Keras and optax put it inside, :math:`\sqrt{r + \epsilon}`
    (default 1e-7), and start :math:`r` at 0.1 rather than 0.
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

    Defaults :math:`\rho = 0.9` (the lecture's), :math:`\alpha = 10^{-3}` (Keras's;
    PyTorch's is 1e-2), :math:`\epsilon = 10^{-8}` (PyTorch's). The lecture has no ε.
    ε sits outside the root as in PyTorch and CS231n's assignment (PyTorch's
    default decay is 0.99); Keras (default 1e-7), optax (by default) and Goodfellow
    et al. (Alg. 8.5) put it inside, :math:`\sqrt{r + \epsilon}`.
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
    :math:`\epsilon = 10^{-8}`. The book's Alg. 8.6 has no ε at all: a coordinate
    whose gradients have all been 0 has :math:`r = 0` and the update 0/0; the ε
    here, outside the root as in :class:`RMSProp`, keeps every step finite.
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

    The paper has no learning rate; ``lr`` multiplies the step only (s accumulates
    Δ², as in PyTorch and Keras) and defaults to 1 so that it is the paper's rule
    (PyTorch's default is 1.0, Keras's 0.001). Defaults :math:`\rho = 0.95`,
    :math:`\epsilon = 10^{-6}` (Zeiler 2012, Section 4; PyTorch: 0.9 and 1e-6,
    Keras: 0.95 and 1e-7). ε sits inside both roots, as in the paper, PyTorch,
    Keras and optax.
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
    "incomplete" Adam of some notes: its first step is
    :math:`(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.16` times larger).

    Defaults :math:`\alpha = 10^{-3}`, :math:`\beta_1 = 0.9`, :math:`\beta_2 = 0.999`,
    :math:`\epsilon = 10^{-8}` (the paper). ε is added after the bias correction, as
    in the paper, PyTorch and optax; Keras adds it before (its "epsilon hat").
    A step is at most :math:`\alpha(1-\beta_1)/\sqrt{(1-\beta_2)(1-\beta_1^2/\beta_2)}
    \approx 7.27\alpha` at the defaults (for :math:`\beta_1^2 < \beta_2`; gradients growing
    by :math:`\beta_2/\beta_1` per step approach it, ``derivations.adam_step_bound``),
    not the :math:`\alpha(1-\beta_1)/\sqrt{1-\beta_2}` of the paper's Section 2.1.
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
    writes the max over :math:`v_{t-1}`; it is over the rule's own :math:`w`. The paper
    says :math:`|\Delta x| \le \alpha`; the supremum is
    :math:`\alpha(1-\beta_1)/(1-\beta_1/\beta_2) \approx 1.0091\alpha` at the defaults,
    approached by gradients shrinking by :math:`\beta_2` per step
    (``derivations.adamax_step_bound``).
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
    constant :math:`\mu_t = \beta_1`, as optax's ``nadam`` writes it (optax's source
    notes that Dozat's Algorithm 2 also multiplies :math:`\hat v` by :math:`\beta_2`,
    which optax, PyTorch, Keras and this rule leave out). It is *not* PyTorch's
    ``NAdam`` or Keras's ``Nadam``: both warm the momentum up, PyTorch with
    :math:`\mu_t = \beta_1(1 - \tfrac12 0.96^{t\psi})`, :math:`\psi = 0.004`
    (:math:`\mu_t \approx 0.45` at :math:`t = 1`, 0.52 at :math:`10^3`, 0.81 at
    :math:`10^4`: tens of thousands of steps), Keras 3 with
    :math:`\mu_t = \beta_1(1 - \tfrac12 0.96^{t})` (about a hundred steps), steps
    counted from 1. Defaults :math:`\alpha = 2\cdot 10^{-3}`, :math:`\beta_1 = 0.9`,
    :math:`\beta_2 = 0.999`, :math:`\epsilon = 10^{-8}`, PyTorch's; Keras 3's are
    :math:`10^{-3}` and :math:`10^{-7}`.
    """

    lr: float = 2e-3

    def step(self, x, grad_fn, state):
        t, m, v = self.unpack(state, x)
        alpha, beta1, beta2, eps = self.lr_at(t), self.beta1, self.beta2, self.eps
        g = gradient(grad_fn, x, t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_bar = (
            beta1 * m / (1 - beta1 ** (t + 2))  # the next step's correction
            + (1 - beta1) * g / (1 - beta1 ** (t + 1))
        )
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
    bias-corrected, so the denominator can fall (by :math:`\sqrt{(1-\beta_2^t)/(1-\beta_2)}`,
    30.8 at :math:`t = 3000`, after one large gradient followed by zeros). The paper's
    Algorithm 2 has no bias correction and its denominator never falls; optax takes
    the maximum of the corrected :math:`\hat v`, which never falls either. Defaults as
    Adam's.
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
    ``AdamW``, the decay is scaled by the learning rate (the paper, Algorithm 2,
    scales it by the schedule multiplier :math:`\eta_t` only); Keras's ``AdamW`` and
    optax's ``adamw`` scale it by the learning rate too. Defaults as Adam's,
    :math:`\lambda = 10^{-2}` (PyTorch's; Keras 3 uses 0.004, optax :math:`10^{-4}`).
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
    :math:`(1-\beta_2) g^2`, so when the gradients shrink the effective rate rises
    only slowly. As in the paper there is no bias correction (optax's ``yogi`` adds
    one). Defaults :math:`\alpha = 10^{-2}`, :math:`\beta_1 = 0.9`,
    :math:`\beta_2 = 0.999`, :math:`\epsilon = 10^{-3}` (the values of the paper's
    experiments). The paper sets :math:`m_0 = 0` and proposes to initialise
    :math:`v` with the squared gradient at the starting point, averaged over a
    large mini-batch; optax starts both :math:`m` and :math:`v` at :math:`10^{-6}`.
    Here both start at 0, and the first step gives :math:`v = (1-\beta_2) g^2`, as
    Adam's does.
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
