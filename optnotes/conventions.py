r"""How PyTorch, Keras and optax write the rules, where they differ from ``optnotes``.

The conventions chapter prints what is here, and ``tests/test_frameworks.py``
holds every line of it to the installed frameworks (PyTorch 2.13, Keras 3.15 on
JAX, optax 0.2.8), which the book itself does not need:

- ``DEFAULTS``: the default hyperparameters of each framework's optimizers, under
  the framework's own names. The test reads each one from the framework (the
  signature of the constructor or of the optax function) and fails on any
  difference.
- ``KerasAdagrad`` and ``KerasAdam``: Keras's (and, for Adagrad, optax's) forms
  written as ``optnotes`` rules, so that the book can run them beside the
  ``optnotes`` rules; the test runs them beside Keras and optax.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks
from .rules import AdagradState, AdamFamily, AdamState, Rule, finite, gradient

VERSIONS = {"PyTorch": "2.13", "Keras": "3.15", "optax": "0.2.8"}
"""The versions the test reads (``requirements-frameworks.txt`` pins them)."""

DEFAULTS = {
    "PyTorch": {
        "SGD": {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "nesterov": False},
        "Adagrad": {"lr": 1e-2, "eps": 1e-10, "initial_accumulator_value": 0.0},
        "RMSprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8},
        "Adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6},
        "Adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8},
        "Adamax": {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8},
        "NAdam": {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "momentum_decay": 4e-3},
        "AdamW": {"lr": 1e-3, "eps": 1e-8, "weight_decay": 1e-2},
    },
    "Keras": {
        "SGD": {"learning_rate": 1e-2, "momentum": 0.0},
        "Adagrad": {"learning_rate": 1e-3, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
        "RMSprop": {"learning_rate": 1e-3, "rho": 0.9, "epsilon": 1e-7},
        "Adadelta": {"learning_rate": 1e-3, "rho": 0.95, "epsilon": 1e-7},
        "Adam": {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
        "Adamax": {"learning_rate": 1e-3, "epsilon": 1e-7},
        "Nadam": {"learning_rate": 1e-3, "epsilon": 1e-7},
        "AdamW": {"learning_rate": 1e-3, "epsilon": 1e-7, "weight_decay": 4e-3},
    },
    "optax": {
        "adagrad": {"initial_accumulator_value": 0.1, "eps": 1e-7},
        "rmsprop": {"decay": 0.9, "eps": 1e-8, "eps_in_sqrt": True},
        "adadelta": {"learning_rate": None, "rho": 0.9, "eps": 1e-6},
        "adam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8},
        "adamax": {"eps": 1e-8},
        "nadam": {"eps": 1e-8},
        "adamw": {"eps": 1e-8, "weight_decay": 1e-4},
        "yogi": {"eps": 1e-3},
        "scale_by_yogi": {"initial_accumulator_value": 1e-6},
    },
}
"""Default hyperparameters, as each framework names them (optax's learning rate is
a required argument of every optax optimizer here but ``adadelta``, where it
defaults to None)."""


@dataclass(frozen=True)
class KerasAdagrad(Rule):
    r"""Adagrad as Keras 3 and optax write it: :math:`r` starts at 0.1, ε inside the root.

    $$
    \begin{aligned}
    r &\leftarrow r + g^2 \\
    x &\leftarrow x - \alpha\, \frac{g}{\sqrt{r + \epsilon}}
    \end{aligned}
    $$

    Defaults Keras's: :math:`\alpha = 10^{-3}`, :math:`\epsilon = 10^{-7}`, :math:`r_0 = 0.1`.
    """

    lr: float = 1e-3
    eps: float = 1e-7
    initial_accumulator: float = 0.1
    State = AdagradState

    def __post_init__(self):
        self._check(lr=self._lr, eps=_checks.positive, initial_accumulator=_checks.non_negative)

    @staticmethod
    def _lr(name, value):
        return _checks.rate_or_schedule(name, value, _checks.positive)

    def init(self, x0):
        x0 = _checks.parameters("x0", x0)
        return AdagradState(0, np.full_like(x0, self.initial_accumulator))

    def step(self, x, grad_fn, state):
        t, r = self.unpack(state, x)
        alpha, eps = self.lr_at(t), self.eps
        g = gradient(grad_fn, x, t)
        r = r + g**2
        x = x - alpha * g / np.sqrt(r + eps)
        return finite(x, t), AdagradState(t + 1, r)


@dataclass(frozen=True)
class KerasAdam(AdamFamily):
    r"""Adam as Keras 3 writes it: the bias correction folded into the rate, ε added to √v.

    $$
    \begin{aligned}
    m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
    v &\leftarrow \beta_2 v + (1 - \beta_2)\, g^2 \\
    x &\leftarrow x - \alpha\, \frac{\sqrt{1 - \beta_2^{t+1}}}{1 - \beta_1^{t+1}}\,
        \frac{m}{\sqrt{v} + \hat\epsilon}
    \end{aligned}
    $$

    This is ``Adam`` with :math:`\epsilon = \hat\epsilon / \sqrt{1 - \beta_2^{t+1}}`, an ε
    that shrinks towards :math:`\hat\epsilon` as :math:`t` grows. Defaults Keras's,
    :math:`\hat\epsilon = 10^{-7}`.
    """

    eps: float = 1e-7

    def step(self, x, grad_fn, state):
        t, m, v = self.unpack(state, x)
        alpha, beta1, beta2, eps = self.lr_at(t), self.beta1, self.beta2, self.eps
        g = gradient(grad_fn, x, t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        rate = alpha * np.sqrt(1 - beta2 ** (t + 1)) / (1 - beta1 ** (t + 1))
        x = x - rate * m / (np.sqrt(v) + eps)
        return finite(x, t), AdamState(t + 1, m, v)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _number(value) -> str:
    """1e-07 as 10⁻⁷, 0.004 as 4·10⁻³, 0.9 as 0.9; tuples, booleans and None as Python."""
    if isinstance(value, bool) or value is None:
        return f"`{value}`"
    if isinstance(value, tuple):
        return "(" + ", ".join(_number(v) for v in value) + ")"
    if value == 0 or 0.01 < abs(value) < 100:
        return f"{value:g}"
    mantissa, exponent = f"{value:e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
    return power if mantissa == "1" else f"{mantissa}·{power}"


def defaults_table() -> str:
    """``DEFAULTS`` as a Markdown table: one row per framework and optimizer."""
    rows = ["| framework | optimizer | defaults |", "|---|---|---|"]
    for framework, optimizers in DEFAULTS.items():
        for name, defaults in optimizers.items():
            cells = ", ".join(f"`{k}` {_number(v)}" for k, v in defaults.items())
            rows.append(f"| {framework} {VERSIONS[framework]} | `{name}` | {cells} |")
    return "\n".join(rows)
