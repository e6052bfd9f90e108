r"""Adam and its successors (chapters: Adam, Adam's successors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import _checks
from .base import Rule, _lr, finite, gradient

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


@dataclass(frozen=True)
class RAdam(AdamFamily):
    r"""RAdam, Adam with its adaptive rate rectified (Liu et al. 2020, Algorithm 2).

    $$
    \begin{aligned}
    m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
    v &\leftarrow \beta_2 v + (1 - \beta_2)\, g^2 \\
    \hat m &= m / (1 - \beta_1^{t+1}), \quad \hat v = v / (1 - \beta_2^{t+1}) \\
    \rho_\infty &= \frac{2}{1 - \beta_2} - 1, \quad
    \rho = \rho_\infty - \frac{2 (t+1) \beta_2^{t+1}}{1 - \beta_2^{t+1}} \\
    x &\leftarrow x - \alpha \lambda x -
    \begin{cases}
    \alpha\, r\, \dfrac{\hat m}{\sqrt{\hat v} + \epsilon}, \
    r = \sqrt{\dfrac{(\rho - 4)(\rho - 2)\,\rho_\infty}
                    {(\rho_\infty - 4)(\rho_\infty - 2)\,\rho}}
    & \text{if } \rho > \rho_{\min} \\
    \alpha\, \hat m & \text{otherwise}
    \end{cases}
    \end{aligned}
    $$

    :math:`\rho` is the length of a simple moving average with the same centre of
    mass as the exponential average :math:`v` (the paper's Section 4, steps
    counted from 1 there, so its :math:`t` is :math:`t+1` here); :math:`r` is the
    ratio of the standard deviations of :math:`1/\sqrt{\hat v}` for an average of
    :math:`\rho_\infty` and of :math:`\rho` squared gradients. While
    :math:`\rho \le \rho_{\min}` (``threshold``) that variance is not finite or too
    poorly approximated, and the step is momentum SGD, :math:`\hat m` not divided
    by anything: it scales with the gradient, unlike Adam's.

    The paper's Algorithm 2 switches at :math:`\rho_t > 4`; the default
    :math:`\rho_{\min} = 5` is the authors' released code's ("more conservative",
    it says), PyTorch's ``RAdam`` and optax's ``radam(threshold=5.0)``: with
    :math:`\beta_2 = 0.999` the first five steps are momentum steps, against four
    with 4. Just above 4, :math:`r` is tiny and its approximation is poorest. optax
    and the authors' code switch at :math:`\rho \ge \rho_{\min}`, PyTorch at
    :math:`\rho > \rho_{\min}` (the same steps unless :math:`\rho` equals it). The
    authors' code, by default since July 2021 (``degenerated_to_sgd=False``),
    makes no update at all on those steps instead of a momentum step. The
    paper's algorithm has no ε; here it is added to :math:`\sqrt{\hat v}` as in
    Adam and optax. PyTorch (and the authors' code)
    add it to :math:`\sqrt{v}` before the bias correction, which is ε divided by
    :math:`\sqrt{1 - \beta_2^{t+1}}` here. The weight decay :math:`\lambda` is
    decoupled and scaled by the learning rate, on both branches, as PyTorch's
    ``RAdam(decoupled_weight_decay=True)``; PyTorch's default adds
    :math:`\lambda x` to the gradient instead (L2, as a ``grad_fn`` can).
    Defaults :math:`\alpha = 10^{-3}`, :math:`\beta_1 = 0.9`,
    :math:`\beta_2 = 0.999`, :math:`\epsilon = 10^{-8}`, :math:`\lambda = 0`
    (PyTorch's; optax's ``radam`` has the same :math:`\beta_1, \beta_2, \epsilon`
    and no default rate).
    """

    threshold: float = 5.0
    weight_decay: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        self._check(threshold=_at_least_four, weight_decay=_checks.non_negative)

    def step(self, x, grad_fn, state):
        t, m, v = self.unpack(state, x)
        alpha, beta1, beta2, eps = self.lr_at(t), self.beta1, self.beta2, self.eps
        lam, rho_min = self.weight_decay, self.threshold
        g = gradient(grad_fn, x, t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1 ** (t + 1))
        v_hat = v / (1 - beta2 ** (t + 1))
        rho_inf = 2 / (1 - beta2) - 1
        rho = rho_inf - 2 * (t + 1) * beta2 ** (t + 1) / (1 - beta2 ** (t + 1))
        x = x - alpha * lam * x
        if rho > rho_min:  # enough squared gradients in v: rectified Adam
            ratio = (rho - 4) * (rho - 2) / rho  # inverse variance of the rate
            r = np.sqrt(ratio * rho_inf / ((rho_inf - 4) * (rho_inf - 2)))
            x = x - alpha * r * m_hat / (np.sqrt(v_hat) + eps)
        else:  # too few: momentum SGD on the bias-corrected m
            x = x - alpha * m_hat
        return finite(x, t), AdamState(t + 1, m, v)


def _at_least_four(name, value):
    """RAdam's threshold on rho: r is not real below 4."""
    return _checks.number(name, value, low=4.0)
